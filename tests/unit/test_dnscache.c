/*
 * test_dnscache - dns.c's cache over its upstream seam (dns_set_upstream)
 * and a scripted world (tests/diff/world.c), through tests/unit/seam.c:
 * no socket, no server.
 *
 *   bytes      many names with 15.8 kB TXT answers keep the cache under
 *              dns_cache_bytes, each entry counted at its real size, with
 *              evictions counted; dns_cache_size still bounds entries
 *   failures   SERVFAIL, REFUSED, other RCODEs and timeouts are kept for
 *              dns_failure_ttl with the status of the live answer: N
 *              asks cost one question (N with dns_failure_ttl = 0);
 *              questions in flight still share one; dns_flush() and a
 *              reload forget them; what failed here (nothing sent) is
 *              not kept; negative answers are kept as before
 *   memo       what a user keeps with an answer counts in
 *              dns_cache_bytes while cached and goes with the answer
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <event2/event.h>

#include "dns.h"
#include "../diff/world.h"
#include "seam.h"

struct got {
	int done;
	enum dns_status st;
	size_t n;
};

static void
on_answer(void *arg, struct dns_answer *a)
{
	struct got *g = arg;

	g->done++;
	g->st = a->status;
	g->n = a->n;
}

/* start - dns.c with these cache settings, a fresh world */
static void
start(const char *cache_size, const char *cache_bytes,
    const char *failure_ttl)
{
	const char *const settings[] = {
		"dns_cache_size", cache_size, "dns_cache_bytes", cache_bytes,
		"dns_failure_ttl", failure_ttl, NULL
	};
	const struct seam_opts o = { NULL, 0, NULL, settings };

	seam_start(&o);
}

/* query - ask and run the loop until answered */
static struct got
query(const char *name, int type)
{
	struct got g;

	memset(&g, 0, sizeof(g));
	assert_non_null(dns_query(name, type, on_answer, &g));
	while (!g.done)
		event_base_loop(seam_base, EVLOOP_ONCE);
	return g;
}

/*
 * asks - query name n times, each answered with st (and no records but
 * for DNS_OK): the questions that cost upstream
 */
static unsigned long
asks(const char *name, int type, int n, enum dns_status st)
{
	unsigned long before = seam_questions();
	struct got g;

	while (n-- > 0) {
		g = query(name, type);
		assert_int_equal(g.st, st);
		if (st != DNS_OK)
			assert_int_equal(g.n, 0);
	}
	return seam_questions() - before;
}

static struct dns_stats
stats(void)
{
	struct dns_stats st;

	dns_get_stats(&st);
	return st;
}

/* add_big_txt - one TXT record of 62 strings of 255 bytes (15,810) */
static void
add_big_txt(const char *name)
{
	static char text[255];
	const char *strs[62];
	size_t lens[62], i;

	memset(text, 'x', sizeof(text));
	memcpy(text, "v=spf1 -all ", 12);
	for (i = 0; i < 62; i++) {
		strs[i] = text;
		lens[i] = sizeof(text);
	}
	assert_int_equal(world_add_txt(seam_world, name, SEAM_TTL, strs, lens,
	    62), 0);
}

static void
add_a(const char *name)
{
	assert_int_equal(world_add(seam_world, name, "A", SEAM_TTL,
	    "192.0.2.1"), 0);
}

/*
 * fill - n names (fmt with %d), each added by add() and asked for once;
 * after each the cache holds no more than max_entries and max_bytes
 */
static void
fill(const char *fmt, int n, int type, void (*add)(const char *name),
    size_t max_entries, size_t max_bytes)
{
	struct dns_stats st;
	char name[64];
	int i;

	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), fmt, i);
		add(name);
		assert_int_equal(query(name, type).st, DNS_OK);
		st = stats();
		assert_true(st.entries <= max_entries && st.bytes <= max_bytes);
	}
}

static void
test_bytes_bound(void **state)
{
	struct dns_answer *a;
	struct dns_stats st;

	(void)state;
	start("20000", "256k", "30s");
	fill("d%d.big.test", 300, DNS_T_TXT, add_big_txt, 20000, 256 * 1024);
	st = stats();
	/* 300 answers of 15.8 kB: 4.7 MB without the bound */
	assert_true(st.entries >= 10 && st.entries <= 16);
	assert_true(st.bytes >= st.entries * 15810);
	assert_int_equal(st.evictions, 300 - st.entries);
	/* the newest is kept, the oldest went */
	assert_non_null(a = dns_cache_get("d299.big.test", DNS_T_TXT));
	assert_int_equal(a->n, 1);
	assert_int_equal(a->rr[0].len, 15810);
	dns_answer_unref(a);
	assert_null(dns_cache_get("d0.big.test", DNS_T_TXT));
	/* each answer counted at what it holds: text, records, names */
	assert_true(st.bytes / st.entries > 15810 + 200);
	assert_true(st.bytes / st.entries < 15810 + 600);
	/* a smaller bound at a reload evicts at once */
	seam_set("dns_cache_bytes", "64k");
	dns_reconfigure(seam_cfg);
	st = stats();
	assert_true(st.bytes <= 64 * 1024 && st.entries >= 3);
	/* nothing over the bound is kept */
	seam_set("dns_cache_bytes", "8k");
	dns_reconfigure(seam_cfg);
	assert_int_equal(stats().entries, 0);
	assert_int_equal(stats().bytes, 0);
	assert_int_equal(query("d1.big.test", DNS_T_TXT).st, DNS_OK);
	assert_int_equal(stats().entries, 0);
	assert_int_equal(seam_questions(), 301);
	seam_stop();
}

static void
test_entry_bound_and_cost(void **state)
{
	struct dns_stats st;

	(void)state;
	start("10", "8M", "30s");
	fill("h%d.example.test", 50, DNS_T_A, add_a, 10, 8 << 20);
	st = stats();
	assert_int_equal(st.entries, 10);
	assert_int_equal(st.evictions, 40);
	/* an A answer takes about 300 bytes, as spfpd.conf(5) says */
	assert_true(st.bytes / 10 >= 250 && st.bytes / 10 <= 350);
	dns_flush();
	st = stats();
	assert_int_equal(st.entries, 0);
	assert_int_equal(st.bytes, 0);
	seam_stop();
}

/*
 * RCODEs that are failures of the servers (SERVFAIL, REFUSED, NOTIMP,
 * FORMERR), and no reply, for every type; what dns.c makes of them
 */
static const struct {
	const char *name;
	enum dns_status st;
} failing[] = {
	{ "servfail.test", DNS_SERVFAIL },
	{ "refused.test", DNS_SERVFAIL },
	{ "notimp.test", DNS_ERROR },
	{ "formerr.test", DNS_ERROR },
	{ "silent.test", DNS_TIMEOUT },
};
#define NFAILING (sizeof(failing) / sizeof(failing[0]))
#define FAILING "servfail.test * !servfail\n" \
	"refused.test * !refused\n" \
	"notimp.test * !notimp\n" \
	"formerr.test * !formerr\n" \
	"silent.test * !timeout"

/* failures - dns.c with this dns_failure_ttl, the failing names */
static void
failures(const char *failure_ttl)
{
	start("20000", "8M", failure_ttl);
	seam_zone(FAILING);
}

/*
 * ten_asks - each failing name asked ten times for TXT costs questions
 * (1: the failure is kept, with the status of the live answer)
 */
static void
ten_asks(unsigned long questions)
{
	struct dns_answer *a;
	size_t i;

	for (i = 0; i < NFAILING; i++) {
		assert_int_equal(asks(failing[i].name, DNS_T_TXT, 10,
		    failing[i].st), questions);
		a = dns_cache_get(failing[i].name, DNS_T_TXT);
		if (questions > 1) {
			assert_null(a);
			continue;
		}
		assert_non_null(a);
		assert_int_equal(a->status, failing[i].st);
		dns_answer_unref(a);
	}
}

static void
test_failures_kept(void **state)
{
	size_t i;

	(void)state;
	failures("30s");
	ten_asks(1);
	/* per type: another type is another question */
	for (i = 0; i < NFAILING; i++)
		assert_int_equal(asks(failing[i].name, DNS_T_A, 1,
		    failing[i].st), 1);
	assert_int_equal(stats().entries, 2 * NFAILING);
	/* what could not be sent is not the servers' failure: not kept */
	seam_zone("x.localerr.test TXT !unsent");
	assert_int_equal(asks("x.localerr.test", DNS_T_TXT, 2, DNS_ERROR), 2);
	/* dns_flush() forgets them */
	dns_flush();
	assert_int_equal(asks("servfail.test", DNS_T_TXT, 1, DNS_SERVFAIL), 1);
	/* so does a reload, and it keeps the answers */
	seam_zone("ok.test A 192.0.2.1");
	assert_int_equal(query("ok.test", DNS_T_A).st, DNS_OK);
	dns_reconfigure(seam_cfg);
	assert_int_equal(asks("servfail.test", DNS_T_TXT, 1, DNS_SERVFAIL) +
	    asks("ok.test", DNS_T_A, 1, DNS_OK), 1);
	seam_stop();
}

static void
test_failures_not_kept(void **state)
{
	(void)state;
	failures("0");
	ten_asks(10);
	assert_int_equal(stats().entries, 0);
	seam_stop();
}

static void
test_failures_expire(void **state)
{
	struct timespec ts = { 0, 300 * 1000000L };

	(void)state;
	failures("200ms");
	assert_int_equal(asks("silent.test", DNS_T_TXT, 2, DNS_TIMEOUT), 1);
	nanosleep(&ts, NULL);
	assert_null(dns_cache_get("silent.test", DNS_T_TXT));
	assert_int_equal(asks("silent.test", DNS_T_TXT, 1, DNS_TIMEOUT), 1);
	/* never longer than dns_max_ttl (0: nothing kept) */
	seam_set("dns_max_ttl", "0");
	dns_reconfigure(seam_cfg);
	assert_int_equal(asks("refused.test", DNS_T_TXT, 2, DNS_SERVFAIL), 2);
	seam_stop();
}

/*
 * Questions in flight share one upstream question whatever comes of it,
 * with or without the failure cache.
 */
static void
coalesce(const char *failure_ttl)
{
	struct got g[5];
	int i;

	failures(failure_ttl);
	memset(g, 0, sizeof(g));
	seam_hold();
	for (i = 0; i < 5; i++)
		assert_non_null(dns_query("silent.test", DNS_T_MX, on_answer,
		    &g[i]));
	assert_int_equal(seam_questions(), 1);
	assert_int_equal(stats().coalesced, 4);
	event_base_loop(seam_base, EVLOOP_NONBLOCK);
	assert_int_equal(g[0].done, 0);
	seam_release();
	while (g[4].done == 0)
		event_base_loop(seam_base, EVLOOP_ONCE);
	for (i = 0; i < 5; i++) {
		assert_int_equal(g[i].done, 1);
		assert_int_equal(g[i].st, DNS_TIMEOUT);
	}
	/* and the next asks again only without the failure cache */
	assert_int_equal(query("silent.test", DNS_T_MX).st, DNS_TIMEOUT);
	assert_int_equal(seam_questions(), strcmp(failure_ttl, "0") ? 1 : 2);
	seam_stop();
}

static void
test_coalescing(void **state)
{
	(void)state;
	coalesce("30s");
	coalesce("0");
}

/* negative answers: kept for the SOA minimum, as before */
static void
test_negative_unchanged(void **state)
{
	(void)state;
	start("20000", "8M", "0");
	seam_zone("exists.test A 192.0.2.1");
	assert_int_equal(asks("nx.test", DNS_T_TXT, 2, DNS_NXDOMAIN), 1);
	assert_int_equal(asks("exists.test", DNS_T_TXT, 2, DNS_NODATA), 1);
	assert_int_equal(seam_questions(), 2);
	seam_stop();
}

/*
 * memos (dns_answer_set_memo): counted in dns_cache_bytes while their
 * answer is cached, evicting others when over; a slot keeps its first;
 * freed with the answer, not with its entry; only TXT answers take one
 */
static int memo_frees;

static void
memo_free(void *p)
{
	memo_frees++;
	free(p);
}

static void
test_memo(void **state)
{
	struct dns_answer *a, *b;
	struct dns_stats st0;
	size_t cost;

	(void)state;
	memo_frees = 0;
	start("20000", "64k", "30s");
	seam_zone("m.test TXT v=spf1 -all\nn.test TXT v=spf1 -all\n"
	    "host.test A 192.0.2.1");
	assert_int_equal(query("m.test", DNS_T_TXT).st, DNS_OK);
	assert_int_equal(query("n.test", DNS_T_TXT).st, DNS_OK);
	assert_non_null(a = dns_cache_get("m.test", DNS_T_TXT));
	st0 = stats();
	cost = st0.bytes / 2;
	dns_answer_set_memo(a, 0, malloc(8), 1000, memo_free);
	assert_int_equal(stats().bytes, st0.bytes + 1000);
	dns_answer_set_memo(a, 0, malloc(8), 10, memo_free);
	assert_int_equal(memo_frees, 1);
	assert_int_equal(stats().bytes, st0.bytes + 1000);
	dns_answer_set_memo(a, 1, malloc(8), 2000, memo_free);
	assert_int_equal(stats().bytes, st0.bytes + 3000);
	/* over 64k: the least recently used entry (n.test) goes first */
	assert_int_equal(query("n.test", DNS_T_TXT).st, DNS_OK);
	assert_non_null(b = dns_cache_get("m.test", DNS_T_TXT));
	dns_answer_unref(b);
	dns_answer_set_memo(a, 1, malloc(8), 1, memo_free);
	assert_int_equal(memo_frees, 2);
	assert_non_null(b = dns_cache_get("n.test", DNS_T_TXT));
	dns_answer_set_memo(b, 0, malloc(8), 62 * 1024, memo_free);
	dns_answer_unref(b);
	assert_true(stats().bytes <= 64 * 1024);
	assert_int_equal(stats().evictions, 1);
	assert_null(dns_cache_get("m.test", DNS_T_TXT));
	/* m.test's memos live as long as its answer, uncounted now */
	assert_int_equal(memo_frees, 2);
	assert_true(stats().bytes >= cost + 62 * 1024);
	dns_answer_unref(a);
	assert_int_equal(memo_frees, 4);
	/* an A answer takes none */
	assert_int_equal(query("host.test", DNS_T_A).st, DNS_OK);
	assert_non_null(a = dns_cache_get("host.test", DNS_T_A));
	dns_answer_set_memo(a, 0, malloc(8), 100, memo_free);
	assert_int_equal(memo_frees, 5);
	dns_answer_unref(a);
	seam_stop();
	assert_int_equal(memo_frees, 6);        /* n.test's, with the cache */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bytes_bound),
		cmocka_unit_test(test_entry_bound_and_cost),
		cmocka_unit_test(test_failures_kept),
		cmocka_unit_test(test_failures_not_kept),
		cmocka_unit_test(test_failures_expire),
		cmocka_unit_test(test_coalescing),
		cmocka_unit_test(test_negative_unchanged),
		cmocka_unit_test(test_memo),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
