/*
 * metrics - spfpd's counters and their Prometheus text.  See metrics.h.
 *
 * Each labelled counter is an array indexed by the position of its label
 * value in a fixed table; a value not in the table counts as "other".
 * Histograms keep one count per bucket (not cumulative: one increment)
 * and are made cumulative when rendered; times are kept in whole
 * microseconds, so counting needs no floating point.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "decision.h"
#include "dns.h"
#include "iprev.h"
#include "log.h"
#include "metrics.h"
#include "spf.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char *const states[] = {
	"CONNECT", "EHLO", "HELO", "MAIL", "RCPT", "DATA", "END-OF-MESSAGE",
	"VRFY", "ETRN", "other", "none"
};
#define STATE_OTHER 9
#define STATE_NONE 10

static const char *const identities[] = { "mailfrom", "helo", "none" };
#define ID_NONE 2

/* the log's result= words, reduced to a fixed set */
static const char *const results[] = {
	"pass", "fail", "softfail", "neutral", "none", "permerror",
	"temperror", "skipped", "repeat", "unchecked", "other"
};
/* results[] by enum spf_result */
static const unsigned char spf_index[] = {
	[SPF_PASS] = 0, [SPF_FAIL] = 1, [SPF_SOFTFAIL] = 2, [SPF_NEUTRAL] = 3,
	[SPF_NONE] = 4, [SPF_PERMERROR] = 5, [SPF_TEMPERROR] = 6
};
#define RES_SKIPPED 7
#define RES_REPEAT 8
#define RES_OTHER 10

static const char *const actions[] = {
	"dunno", "prepend", "reject", "defer", "other"
};
#define ACT_DUNNO 0
#define ACT_PREPEND 1
#define ACT_REJECT 2
#define ACT_DEFER 3
#define ACT_OTHER 4

static const char *const iprevs[] = {
	"pass", "fail", "permerror", "temperror"
};

/* the names in result=skipped(NAME) (decision.c) */
static const char *const skips[] = {
	"skip_addresses", "whitelist", "authenticated", "domain_whitelist",
	"helo_whitelist", "ptr_domain_whitelist", "other"
};

/* what lifted an SPF refusal (decision.h, enum decision_trust - 1) */
static const char *const overrides[] = { "mx", "dnswl", "forwarder" };

/* histogram buckets, microseconds and as the le label */
static const uint64_t le_us[] = {
	500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
	1000000, 2500000, 5000000, 10000000
};
static const char *const le_str[] = {
	"0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05",
	"0.1", "0.25", "0.5", "1", "2.5", "5", "10"
};
#define NBUCKETS (sizeof(le_us) / sizeof(le_us[0]))

struct histogram {
	uint64_t bucket[NBUCKETS + 1];  /* the last: above every le */
	uint64_t sum_us;
	uint64_t count;
};

static struct {
	uint64_t requests[N(states)];
	uint64_t decisions[N(identities)][N(results)][N(actions)];
	uint64_t iprev[N(iprevs)];
	uint64_t skips[N(skips)];
	uint64_t would_reject;
	uint64_t overrides[N(overrides)];
	struct histogram decision_time, dns_time;
	uint64_t conns_open, conns_total, accept_paused;
	uint64_t reloads_ok, reloads_failed;
} M;

void
metrics_reset(void)
{
	memset(&M, 0, sizeof(M));
}

static void
observe(struct histogram *h, uint64_t us)
{
	size_t i = 0;

	while (i < NBUCKETS && us > le_us[i])
		i++;
	h->bucket[i]++;
	h->sum_us += us;
	h->count++;
}

/* find - the index of s in names (case-insensitive), or dflt */
static size_t
find(const char *const *names, size_t n, const char *s, size_t len,
    size_t dflt)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strlen(names[i]) == len && strncasecmp(names[i], s, len) == 0)
			return i;
	return dflt;
}

void
metrics_request(const char *st)
{
	size_t i = *st == '\0' ? STATE_NONE :
	    find(states, STATE_OTHER, st, strlen(st), STATE_OTHER);

	M.requests[i]++;
}

/* is_word - does a start with the word w (then a space, or its end)? */
static int
is_word(const char *a, const char *w)
{
	size_t n = strlen(w);

	return strncasecmp(a, w, n) == 0 && (a[n] == '\0' || a[n] == ' ');
}

/*
 * action_of - the answer's kind, from its text (decision.c writes it); a
 * restriction class (a name such as "reject_greylisting") is "other"
 */
static size_t
action_of(const char *a)
{
	if (is_word(a, "DUNNO"))
		return ACT_DUNNO;
	if (is_word(a, "PREPEND"))
		return ACT_PREPEND;
	if (is_word(a, "DEFER") || is_word(a, "DEFER_IF_PERMIT") ||
	    a[0] == '4')
		return ACT_DEFER;
	if (is_word(a, "REJECT") || a[0] == '5')
		return ACT_REJECT;
	return ACT_OTHER;
}

void
metrics_decision(const struct decision_facts *f, const struct decision *d,
    uint64_t us)
{
	const char *r = d->result;
	size_t id = ID_NONE, res;

	if (d->vd.spf != NULL && d->vd.spf == &f->spf_mailfrom)
		id = 0;
	else if (d->vd.spf != NULL && d->vd.spf == &f->spf_helo)
		id = 1;
	if (strncmp(r, "skipped(", 8) == 0) {
		const char *name = r + 8, *end = strchr(name, ')');

		res = RES_SKIPPED;
		M.skips[find(skips, N(skips) - 1, name,
		    end ? (size_t)(end - name) : strlen(name), N(skips) - 1)]++;
	} else if (d->vd.spf != NULL &&
	    (size_t)d->vd.spf->o.result < N(spf_index)) {
		res = spf_index[d->vd.spf->o.result];   /* no string to read */
	} else if (strcmp(r, "repeat") == 0) {
		res = RES_REPEAT;
	} else {
		res = find(results, RES_OTHER, r, strlen(r), RES_OTHER);
	}
	M.decisions[id][res][action_of(d->action)]++;
	if (f->iprev.checked && (size_t)f->iprev.o.result < N(iprevs))
		M.iprev[f->iprev.o.result]++;
	if (d->vd.test_only)
		M.would_reject++;
	if (d->vd.trusted != TRUST_NONE &&
	    (size_t)d->vd.trusted - 1 < N(overrides))
		M.overrides[d->vd.trusted - 1]++;
	observe(&M.decision_time, us);
}

void
metrics_dns_upstream(uint64_t us)
{
	observe(&M.dns_time, us);
}

void
metrics_conn_opened(void)
{
	M.conns_open++;
	M.conns_total++;
}

void
metrics_conn_closed(void)
{
	if (M.conns_open > 0)
		M.conns_open--;
}

void
metrics_accept_paused(void)
{
	M.accept_paused++;
}

void
metrics_reload(int ok)
{
	if (ok)
		M.reloads_ok++;
	else
		M.reloads_failed++;
}

/* ----- the text ----- */

static void
head(struct evbuffer *b, const char *name, const char *type,
    const char *help)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help,
	    name, type);
}

static void
one(struct evbuffer *b, const char *name, const char *type,
    const char *help, uint64_t v)
{
	head(b, name, type, help);
	evbuffer_add_printf(b, "%s %llu\n", name, (unsigned long long)v);
}

/* labelled - one series per label value, zeros too */
static void
labelled(struct evbuffer *b, const char *name, const char *help,
    const char *label, const char *const *names, const uint64_t *v,
    size_t n)
{
	size_t i;

	head(b, name, "counter", help);
	for (i = 0; i < n; i++)
		evbuffer_add_printf(b, "%s{%s=\"%s\"} %llu\n", name, label,
		    names[i], (unsigned long long)v[i]);
}

static void
seconds(struct evbuffer *b, uint64_t us)
{
	evbuffer_add_printf(b, "%llu.%06llu", (unsigned long long)(us /
	    1000000), (unsigned long long)(us % 1000000));
}

static void
histogram(struct evbuffer *b, const char *name, const char *help,
    const struct histogram *h)
{
	uint64_t cum = 0;
	size_t i;

	head(b, name, "histogram", help);
	for (i = 0; i < NBUCKETS; i++) {
		cum += h->bucket[i];
		evbuffer_add_printf(b, "%s_bucket{le=\"%s\"} %llu\n", name,
		    le_str[i], (unsigned long long)cum);
	}
	evbuffer_add_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n", name,
	    (unsigned long long)h->count);
	evbuffer_add_printf(b, "%s_sum ", name);
	seconds(b, h->sum_us);
	evbuffer_add_printf(b, "\n%s_count %llu\n", name,
	    (unsigned long long)h->count);
}

static void
decisions(struct evbuffer *b)
{
	size_t i, r, a;
	uint64_t v;

	head(b, "spfpd_decisions_total", "counter", "Policy requests "
	    "answered, by the SPF identity and result the answer rests on "
	    "and the kind of answer (series appear when first counted).");
	for (i = 0; i < N(identities); i++)
		for (r = 0; r < N(results); r++)
			for (a = 0; a < N(actions); a++) {
				v = M.decisions[i][r][a];
				/* the common answers always, others once seen */
				if (v == 0 && !(i == ID_NONE && a == ACT_DUNNO &&
				    (r == RES_SKIPPED || r == RES_REPEAT)))
					continue;
				evbuffer_add_printf(b, "spfpd_decisions_total"
				    "{identity=\"%s\",result=\"%s\","
				    "action=\"%s\"} %llu\n", identities[i],
				    results[r], actions[a],
				    (unsigned long long)v);
			}
}

void
metrics_render(struct evbuffer *b)
{
	static const char *const types[] = DNS_STATS_TYPES;
	struct dns_stats st;
	size_t i;

	dns_get_stats(&st);
	head(b, "spfpd_build_info", "gauge", "spfpd's version, as a label; "
	    "the value is 1.");
	evbuffer_add_printf(b, "spfpd_build_info{version=\"%s\"} 1\n",
	    SPFPD_VERSION);
	labelled(b, "spfpd_requests_total", "Policy requests received, by "
	    "the protocol_state they name (none: not sent).",
	    "protocol_state", states, M.requests, N(states));
	decisions(b);
	labelled(b, "spfpd_iprev_total", "Reverse DNS (iprev) results, for "
	    "the requests that checked it.", "result", iprevs, M.iprev,
	    N(iprevs));
	labelled(b, "spfpd_skips_total", "Requests answered DUNNO by a "
	    "whitelist or skip option, by its name.", "reason", skips,
	    M.skips, N(skips));
	one(b, "spfpd_test_only_would_reject_total", "counter", "Refusals "
	    "test_only = yes turned into a header or DUNNO.", M.would_reject);
	labelled(b, "spfpd_overrides_total", "SPF refusals lifted for a "
	    "trusted client: an MX host of the recipient's domain "
	    "(trust_recipient_mx), a DNSWL listing (dnswl_zones), a "
	    "trusted forwarder (trusted_forwarders).", "by",
	    overrides, M.overrides, N(overrides));
	histogram(b, "spfpd_decision_duration_seconds", "From a request "
	    "complete to its answer ready (the log's elapsed=).",
	    &M.decision_time);

	one(b, "spfpd_dns_questions_total", "counter", "DNS lookups the "
	    "checks started on the resolver layer (a record found by a "
	    "direct cache read counts as a cache hit only).", st.queries);
	one(b, "spfpd_dns_cache_hits_total", "counter", "DNS questions "
	    "answered from spfpd's cache (lookups and direct reads).",
	    st.hits);
	one(b, "spfpd_dns_coalesced_total", "counter", "DNS questions that "
	    "joined the same question in flight.", st.coalesced);
	head(b, "spfpd_dns_upstream_queries_total", "counter", "DNS "
	    "questions sent to the resolver, by type.");
	for (i = 0; i < N(st.upstream_type); i++)
		evbuffer_add_printf(b, "spfpd_dns_upstream_queries_total"
		    "{type=\"%s\"} %lu\n", types[i], st.upstream_type[i]);
	one(b, "spfpd_dns_timeouts_total", "counter", "Upstream DNS "
	    "questions that got no reply within dns_timeout and dns_tries.",
	    st.timeouts);
	one(b, "spfpd_dns_servfails_total", "counter", "Upstream DNS "
	    "questions answered SERVFAIL or REFUSED.", st.servfails);
	histogram(b, "spfpd_dns_upstream_duration_seconds", "From a question "
	    "sent to the resolver to its answer or timeout.", &M.dns_time);
	one(b, "spfpd_dns_cache_entries", "gauge", "Answers in the DNS "
	    "cache (dns_cache_size bounds it).", st.entries);
	one(b, "spfpd_dns_cache_bytes", "gauge", "Memory held by the DNS "
	    "cache (dns_cache_bytes bounds it).", st.bytes);
	one(b, "spfpd_dns_cache_evictions_total", "counter", "Answers "
	    "evicted from the full DNS cache before they expired.",
	    st.evictions);

	one(b, "spfpd_log_lines_lost_total", "counter", "Log lines lost "
	    "because the syslog socket was full.", log_lost_total());
	one(b, "spfpd_connections_open", "gauge", "Policy client "
	    "connections open now.", M.conns_open);
	one(b, "spfpd_connections_total", "counter", "Policy client "
	    "connections accepted.", M.conns_total);
	one(b, "spfpd_accept_paused_total", "counter", "Times spfpd paused "
	    "accepting policy connections (max_connections reached, or out "
	    "of file descriptors).", M.accept_paused);
	head(b, "spfpd_config_reloads_total", "counter", "Configuration "
	    "reloads (SIGHUP), by outcome (failed: the file had errors and "
	    "the running configuration was kept).");
	evbuffer_add_printf(b, "spfpd_config_reloads_total{result=\"ok\"} "
	    "%llu\nspfpd_config_reloads_total{result=\"failed\"} %llu\n",
	    (unsigned long long)M.reloads_ok,
	    (unsigned long long)M.reloads_failed);
}
