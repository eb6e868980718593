/*
 * policy - the decision pipeline.  See policy.h.
 *
 * Today the only checks are local (no DNS): an address in skip_addresses
 * or whitelist gets DUNNO.  Every other request also gets DUNNO: there is
 * no SPF or PTR check yet, and we do not pretend to have one.
 */
#include <stdio.h>
#include <time.h>

#include "codec.h"
#include "config.h"
#include "log.h"
#include "policy.h"

static double
elapsed_ms(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 +
	    (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static void
log_decision(const struct policy_request *req, const char *conn_id,
    const char *result, const char *action, const struct timespec *t0)
{
	char inst[LOG_ESC_SIZE], addr[LOG_ESC_SIZE], helo[LOG_ESC_SIZE];
	char from[LOG_ESC_SIZE], rcpt[LOG_ESC_SIZE];

	log_info("%s instance=%s client=%s helo=<%s> sender=<%s> "
	    "recipient=<%s> result=%s action=%s elapsed=%.3fms", conn_id,
	    log_escape(inst, sizeof(inst), codec_get(req, ATTR_INSTANCE),
	    LOG_ESC_MAX),
	    log_escape(addr, sizeof(addr), codec_get(req, ATTR_CLIENT_ADDRESS),
	    LOG_ESC_MAX),
	    log_escape(helo, sizeof(helo), codec_get(req, ATTR_HELO_NAME),
	    LOG_ESC_MAX),
	    log_escape(from, sizeof(from), codec_get(req, ATTR_SENDER),
	    LOG_ESC_MAX),
	    log_escape(rcpt, sizeof(rcpt), codec_get(req, ATTR_RECIPIENT),
	    LOG_ESC_MAX),
	    result, action, elapsed_ms(t0));
}

struct policy_check *
policy_start(const struct policy_request *req, struct config *cfg,
    const char *conn_id, policy_done_fn *done, void *arg)
{
	const char *addr = codec_get(req, ATTR_CLIENT_ADDRESS);
	const char *result;
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (cidr_list_match(&cfg->skip_addresses, addr))
		result = "skipped(skip_addresses)";
	else if (cidr_list_match(&cfg->whitelist, addr))
		result = "skipped(whitelist)";
	else
		result = "unchecked";
	log_decision(req, conn_id, result, "DUNNO", &t0);
	done(arg, "DUNNO");
	return NULL;
}

void
policy_cancel(struct policy_check *pc)
{
	(void)pc;
}
