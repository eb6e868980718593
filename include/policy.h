/*
 * policy - the decision pipeline for one request: local checks
 * (skip_addresses, whitelist), then the DNS checks, then the action
 * composer; logs one line per decision.
 *
 * policy_start() may finish before it returns (done() already called,
 * NULL returned); otherwise it returns a handle that the caller must
 * either wait on or policy_cancel() - after a cancel done() is never called.
 */
#ifndef SPFPD_POLICY_H
#define SPFPD_POLICY_H

struct config;
struct policy_request;
struct policy_check;

typedef void policy_done_fn(void *arg, const char *action);

struct policy_check *policy_start(const struct policy_request *req,
    struct config *cfg, const char *conn_id, policy_done_fn *done, void *arg);
void policy_cancel(struct policy_check *pc);

#endif
