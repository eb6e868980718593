/*
 * policy - the decision pipeline for one request: the local checks
 * (skip_addresses, whitelist, skip_authenticated), then the DNS checks
 * (SPF of the HELO and MAIL FROM identities, the reverse DNS and the
 * whitelists that need DNS, all started at once), then the decision
 * (decision.h); logs one line per request.
 *
 * Postfix sends one request per recipient of a message, with the same
 * "instance".  The connection's policy_memory remembers the last message:
 * its later recipients get the first answer again when it refused the
 * message, and DUNNO when it prepended a header (one header per message).
 * A refusal that trust_recipient_mx looked at holds only for the later
 * recipients of the same domain; one of another domain is decided anew.
 * Each request is decided under its section of spfpd.conf (config_select)
 * and a recipient under another section than the one that decided the
 * message is decided anew too - without a second header.
 * Only one message is remembered per connection: smtpd handles one at a
 * time, so memory stays bounded.
 *
 * done() is called once, from the event loop of base, never from inside
 * policy_start() - also when the answer is known at once (a skipped or
 * repeated request).  policy_cancel() before that frees the check and
 * done() is never called.  The request must stay unchanged until done()
 * is called.  Out of memory is fatal.
 */
#ifndef SPFPD_POLICY_H
#define SPFPD_POLICY_H

#include "decision.h"

struct config;
struct event_base;
struct policy_request;
struct policy_check;
struct policy_memory;

/* what was decided, and on what; valid during done() only */
struct policy_result {
	const char *action;             /* the reply, after "action=" */
	const char *result;             /* the log's result=: the SPF result
	                                   the action rests on, "unchecked",
	                                   "repeat", "skipped(NAME)",
	                                   "error(bad client_address)" */
	const struct decision_facts *facts;     /* what was checked, with
	                                   which results: checked == 0 for
	                                   what the config or the stage
	                                   left out */
};

typedef void policy_done_fn(void *arg, const struct policy_result *r);

struct policy_check *policy_start(struct event_base *base,
    const struct policy_request *req, struct config *cfg,
    struct policy_memory **mem, const char *conn_id, policy_done_fn *done,
    void *arg);
void policy_cancel(struct policy_check *pc);

/* policy_want_match - also find the deciding SPF terms (spfpd -q) */
void policy_want_match(struct policy_check *pc);

void policy_memory_free(struct policy_memory *m);

#endif
