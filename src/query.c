/*
 * query - spfpd -q.  See query.h.
 *
 * The request goes through the same policy pipeline as a Postfix request
 * (local checks, both SPF identities, iprev, the decision), and its
 * action is printed; the SPF and iprev details come from checks of their
 * own run at the same time (they share the DNS cache, so the second ask
 * costs nothing).  Output in a fixed order, once everything is in.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "codec.h"
#include "config.h"
#include "dns.h"
#include "iprev.h"
#include "log.h"
#include "policy.h"
#include "query.h"
#include "spf.h"

struct qstate {
	struct event_base *base;
	int pending;
	char *text[4];          /* helo, mailfrom, iprev, action */
};

static void
q_done(struct qstate *q)
{
	if (--q->pending == 0)
		event_base_loopexit(q->base, NULL);
}

static char *
outcome_text(const struct spf_outcome *o)
{
	char *s = NULL;

	if (asprintf(&s, "spf %s: %s (domain %s; %u DNS terms, %u void "
	    "lookups, %u runs, %u questions)\n%s%s%s%s%s%s%s%s%s",
	    o->identity, spf_result_str(o->result), o->domain, o->dns_terms,
	    o->void_lookups, o->runs, o->queries,
	    o->matched ? "  matched: " : "", o->matched ? o->matched : "",
	    o->matched ? "\n" : "",
	    o->explanation ? "  explanation: " : "",
	    o->explanation ? o->explanation : "", o->explanation ? "\n" : "",
	    o->problem ? "  problem: " : "", o->problem ? o->problem : "",
	    o->problem ? "\n" : "") < 0)
		return NULL;
	return s;
}

struct slot {
	struct qstate *q;
	int i;
};

static void
on_spf(void *arg, const struct spf_outcome *o)
{
	struct slot *sl = arg;

	sl->q->text[sl->i] = outcome_text(o);
	q_done(sl->q);
}

static void
on_iprev(void *arg, const struct iprev_outcome *o)
{
	struct qstate *q = arg;

	if (asprintf(&q->text[2], "iprev: %s%s%s%s; %u PTR names, %u looked "
	    "up\n%s%s%s", iprev_result_str(o->result), o->name ? " (" : "",
	    o->name ? o->name : "", o->name ? ")" : "", o->names, o->checked,
	    o->problem ? "  problem: " : "", o->problem ? o->problem : "",
	    o->problem ? "\n" : "") < 0)
		q->text[2] = NULL;
	q_done(q);
}

static void
on_action(void *arg, const char *action)
{
	struct qstate *q = arg;

	if (asprintf(&q->text[3], "action: %s\n", action) < 0)
		q->text[3] = NULL;
	q_done(q);
}

/* set - one attribute, through the codec as a Postfix line would go */
static int
set(struct policy_request *r, const char *name, const char *value)
{
	struct codec_limits lim = { 65536, 64, 1 << 20 };
	const char *err;
	char *line;
	int ok;

	if (asprintf(&line, "%s=%s", name, value) < 0)
		return -1;
	ok = codec_line(r, line, strlen(line), &lim, &err) != CODEC_ERROR;
	if (!ok)
		fprintf(stderr, "spfpd: %s: %s\n", name, err);
	free(line);
	return ok ? 0 : -1;
}

int
query_run(struct config *cfg, const char *ip, const char *sender,
    const char *helo)
{
	struct qstate q;
	struct slot slots[2];
	struct policy_request req;
	struct policy_memory *mem = NULL;
	struct policy_check *pc;
	struct spf_check *sc;
	int i, rc = 0;

	memset(&q, 0, sizeof(q));
	log_capture_libevent();
	if ((q.base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	if (dns_init(q.base, cfg) < 0 || spf_init(q.base, cfg) < 0)
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
	for (i = 0; i < 2; i++) {
		const char *s = i ? sender : NULL;

		if ((i == 0 && (helo == NULL || *helo == '\0')) ||
		    (i == 1 && (sender == NULL || *sender == '\0')))
			continue;
		slots[i].q = &q;
		slots[i].i = i;
		if ((sc = spf_check_start(ip, helo, s, cfg->lookup_time, on_spf,
		    &slots[i])) != NULL) {
			spf_check_want_match(sc);
			q.pending++;
		}
	}
	if (iprev_start(ip, cfg->ptr_max_names, cfg->lookup_time, on_iprev,
	    &q) != NULL)
		q.pending++;
	q.pending++;
	pc = policy_start(&req, cfg, &mem, "query", on_action, &q);
	(void)pc;               /* finishes by itself; q_done() counts it */
	if (q.pending)
		event_base_dispatch(q.base);
	for (i = 0; i < 4; i++)
		if (q.text[i])
			fputs(q.text[i], stdout);
out:
	for (i = 0; i < 4; i++)
		free(q.text[i]);
	codec_request_reset(&req);
	policy_memory_free(mem);
	spf_shutdown();
	dns_shutdown();
	event_base_free(q.base);
	return rc;
}
