/*
 * query - spfpd -q.  See query.h.
 *
 * The request goes through the same policy pipeline as a Postfix request
 * (local checks, the SPF identities, iprev, the decision), and what the
 * pipeline decided is printed from its result: each identity it checked
 * (none that the configuration turns off), the reverse DNS if it looked
 * it up, and the action.  The one extra is the search for the deciding
 * term of each record (policy_want_match()), which asks no DNS.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "codec.h"
#include "config.h"
#include "decision.h"
#include "dns.h"
#include "iprev.h"
#include "log.h"
#include "policy.h"
#include "query.h"
#include "spf.h"
#include "strbuf.h"
#include "xmalloc.h"

static void
print_spf(const struct decision_spf *r)
{
	const struct spf_outcome *o = &r->o;

	if (!r->checked)
		return;
	printf("spf %s: %s (domain %s; %u DNS terms, %u void lookups, "
	    "%u runs, %u questions)\n", o->identity,
	    spf_result_str(o->result), o->domain ? o->domain : "-",
	    o->dns_terms, o->void_lookups, o->runs, o->queries);
	if (o->matched)
		printf("  matched: %s\n", o->matched);
	if (o->explanation)
		printf("  explanation: %s\n", o->explanation);
	if (o->problem)
		printf("  problem: %s\n", o->problem);
}

static void
print_iprev(const struct decision_iprev *r)
{
	const struct iprev_outcome *o = &r->o;

	if (!r->checked)
		return;
	printf("iprev: %s%s%s%s; %u PTR names, %u looked up\n",
	    iprev_result_str(o->result), o->name ? " (" : "",
	    o->name ? o->name : "", o->name ? ")" : "", o->names, o->checked);
	if (o->problem)
		printf("  problem: %s\n", o->problem);
}

/* on_result - what the daemon would decide, in a fixed order */
static void
on_result(void *arg, const struct policy_result *r)
{
	struct event_base *base = arg;

	print_spf(&r->facts->spf_helo);
	print_spf(&r->facts->spf_mailfrom);
	print_iprev(&r->facts->iprev);
	printf("action: %s\n", r->action);
	event_base_loopexit(base, NULL);
}

/* set - one attribute, through the codec as a Postfix line would go */
static int
set(struct policy_request *r, const char *name, const char *value)
{
	struct codec_limits lim = { 65536, 64, 1 << 20 };
	size_t n = strlen(name) + strlen(value) + 2;
	struct strbuf b;
	const char *err;
	char *line = xmalloc(n);
	int ok;

	strbuf_init(&b, line, n);
	strbuf_printf(&b, "%s=%s", name, value);
	ok = codec_line(r, line, b.len, &lim, &err) != CODEC_ERROR;
	if (!ok)
		fprintf(stderr, "spfpd: %s: %s\n", name, err);
	free(line);
	return ok ? 0 : -1;
}

int
query_run(struct config *cfg, const char *ip, const char *sender,
    const char *helo)
{
	struct event_base *base;
	struct policy_request req;
	struct policy_memory *mem = NULL;
	int rc = 0;

	log_capture_libevent();
	if ((base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	if (dns_init(base, cfg) < 0 || spf_init(base, cfg) < 0)
		return 1;
	codec_request_init(&req);
	if (set(&req, "request", "smtpd_access_policy") < 0 ||
	    set(&req, "protocol_state", "RCPT") < 0 ||
	    set(&req, "client_address", ip) < 0 ||
	    set(&req, "client_name", "unknown") < 0 ||
	    set(&req, "helo_name", helo ? helo : "") < 0 ||
	    set(&req, "sender", sender ? sender : "") < 0 ||
	    set(&req, "recipient", "postmaster") < 0 ||
	    set(&req, "instance", "query") < 0) {
		rc = 2;
		goto out;
	}
	policy_want_match(policy_start(base, &req, cfg, &mem, "query",
	    on_result, base));
	event_base_dispatch(base);
out:
	codec_request_reset(&req);
	policy_memory_free(mem);
	spf_shutdown();
	dns_shutdown();
	event_base_free(base);
	return rc;
}
