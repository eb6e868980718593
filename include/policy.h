/*
 * policy - the decision pipeline for one request: local checks
 * (skip_addresses, whitelist, skip_authenticated), then the DNS checks
 * (SPF of the HELO and MAIL FROM identities and the whitelists that need
 * DNS, all started at once), then the action composer; logs one line per
 * decision.
 *
 * Postfix sends one request per recipient of a message, with the same
 * "instance".  The connection's policy_memory remembers the last message:
 * its later recipients get the first answer again when it refused the
 * message, and DUNNO when it prepended a header (one header per message).
 * Only one message is remembered per connection: smtpd handles one at a
 * time, so memory stays bounded.
 *
 * policy_start() may finish before it returns (done() already called,
 * NULL returned); otherwise it returns a handle that the caller must
 * either wait on or policy_cancel() - after a cancel done() is never called.
 * The request must stay unchanged until done() is called.
 */
#ifndef SPFPD_POLICY_H
#define SPFPD_POLICY_H

struct config;
struct policy_request;
struct policy_check;
struct policy_memory;

typedef void policy_done_fn(void *arg, const char *action);

struct policy_check *policy_start(const struct policy_request *req,
    struct config *cfg, struct policy_memory **mem, const char *conn_id,
    policy_done_fn *done, void *arg);
void policy_cancel(struct policy_check *pc);

void policy_memory_free(struct policy_memory *m);

/* policy_host_name - the default authserv_id and receiver (gethostname) */
const char *policy_host_name(void);

#endif
