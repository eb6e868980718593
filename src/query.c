/*
 * query - spfpd -q.  See query.h.
 */
#include <stdio.h>
#include <stdlib.h>

#include <event2/event.h>

#include "config.h"
#include "dns.h"
#include "iprev.h"
#include "log.h"
#include "query.h"
#include "spf.h"

struct qstate {
	struct event_base *base;
	int pending;
};

static void
print_outcome(const struct spf_outcome *o)
{
	printf("spf %s: %s (domain %s; %u DNS terms, %u void lookups, "
	    "%u runs, %u questions)\n", o->identity, spf_result_str(o->result),
	    o->domain, o->dns_terms, o->void_lookups, o->runs, o->queries);
	if (o->explanation)
		printf("  explanation: %s\n", o->explanation);
	if (o->problem)
		printf("  problem: %s\n", o->problem);
}

static void
on_done(void *arg, const struct spf_outcome *o)
{
	struct qstate *q = arg;

	print_outcome(o);
	if (--q->pending == 0)
		event_base_loopexit(q->base, NULL);
}

static void
on_iprev(void *arg, const struct iprev_outcome *o)
{
	struct qstate *q = arg;

	printf("iprev: %s", iprev_result_str(o->result));
	if (o->name)
		printf(" (%s)", o->name);
	printf("; %u PTR names, %u looked up\n", o->names, o->checked);
	if (o->problem)
		printf("  problem: %s\n", o->problem);
	if (--q->pending == 0)
		event_base_loopexit(q->base, NULL);
}

int
query_run(struct config *cfg, const char *ip, const char *sender,
    const char *helo)
{
	struct qstate q = { NULL, 0 };

	if ((q.base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	if (dns_init(q.base, cfg) < 0 || spf_init(q.base, cfg) < 0)
		return 1;
	if (helo && *helo) {
		q.pending++;
		spf_check_start(ip, helo, NULL, cfg->lookup_time, on_done,
		    &q);
	}
	if (sender) {
		q.pending++;
		spf_check_start(ip, helo, sender, cfg->lookup_time, on_done,
		    &q);
	}
	if (iprev_start(ip, cfg->ptr_max_names, cfg->lookup_time, on_iprev,
	    &q) != NULL)
		q.pending++;
	if (q.pending)
		event_base_dispatch(q.base);
	spf_shutdown();
	dns_shutdown();
	event_base_free(q.base);
	return 0;
}
