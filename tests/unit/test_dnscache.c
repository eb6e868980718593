/*
 * test_dnscache - dns.c's cache over its upstream seam (dns_set_upstream)
 * and a scripted world (tests/diff/world.c): no socket, no server.
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

#include "config.h"
#include "dns.h"
#include "log.h"
#include "../diff/world.h"

static struct event_base *base;
static struct config *cfg;
static struct world *world;
static unsigned long asked;             /* questions our upstream got */

/* questions held (in flight) until release() */
static int holding;
static struct {
	char name[256];
	int type;
	struct dns_ask *tok;
} held[8];
static size_t nheld;

static void reply(const char *name, int type, struct dns_ask *tok);

/*
 * The upstream: the world's wire replies, and DNS_XFER_ERROR ("could not
 * be sent") for names under localerr.test; at once, or when released.
 */
static void
ask(void *ctx, const char *name, int type, struct dns_ask *tok)
{
	(void)ctx;
	asked++;
	if (holding) {
		assert_true(nheld < 8);
		snprintf(held[nheld].name, sizeof(held[nheld].name), "%s",
		    name);
		held[nheld].type = type;
		held[nheld++].tok = tok;
		return;
	}
	reply(name, type, tok);
}

static void
release(void)
{
	size_t i;

	holding = 0;
	for (i = 0; i < nheld; i++)
		reply(held[i].name, held[i].type, held[i].tok);
	nheld = 0;
}

static void
reply(const char *name, int type, struct dns_ask *tok)
{
	static unsigned char buf[65536];
	size_t n = strlen(name);
	int len;

	if (n >= 13 && strcmp(name + n - 13, "localerr.test") == 0) {
		dns_upstream_reply(tok, DNS_XFER_ERROR, NULL, 0);
		return;
	}
	len = world_reply(world, name, type, buf, sizeof(buf));
	if (len == 0)
		dns_upstream_reply(tok, DNS_XFER_TIMEOUT, NULL, 0);
	else if (len < 0)
		dns_upstream_reply(tok, DNS_XFER_ERROR, NULL, 0);
	else
		dns_upstream_reply(tok, DNS_XFER_REPLY, buf, len);
}

static const struct dns_upstream upstream = { ask, NULL };

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

static void
set(const char *key, const char *value)
{
	char err[256];

	if (config_set(cfg, key, value, err, sizeof(err)) < 0)
		fail_msg("%s", err);
}

/* start - dns.c with these cache settings, a fresh world */
static void
start(const char *cache_size, const char *cache_bytes,
    const char *failure_ttl)
{
	log_init(1, 0);
	assert_non_null(cfg = config_load(NULL, 0, NULL, NULL));
	set("dns_cache_size", cache_size);
	set("dns_cache_bytes", cache_bytes);
	set("dns_failure_ttl", failure_ttl);
	assert_non_null(base = event_base_new());
	assert_int_equal(dns_init(base, cfg), 0);
	dns_set_upstream(&upstream);
	world = world_new();
	asked = 0;
}

static void
stop(void)
{
	dns_shutdown();
	event_base_free(base);
	config_unref(cfg);
	world_free(world);
}

/* query - ask and run the loop until answered */
static struct got
query(const char *name, int type)
{
	struct got g;

	memset(&g, 0, sizeof(g));
	assert_non_null(dns_query(name, type, on_answer, &g));
	while (!g.done)
		event_base_loop(base, EVLOOP_ONCE);
	return g;
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
	assert_int_equal(world_add_txt(world, name, 3600, strs, lens, 62), 0);
}

static void
test_bytes_bound(void **state)
{
	struct dns_answer *a;
	struct dns_stats st;
	struct got g;
	char name[64];
	int i;

	(void)state;
	start("20000", "256k", "30s");
	for (i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "d%d.big.test", i);
		add_big_txt(name);
	}
	for (i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "d%d.big.test", i);
		g = query(name, DNS_T_TXT);
		assert_int_equal(g.st, DNS_OK);
		st = stats();
		assert_true(st.bytes <= 256 * 1024);
	}
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
	set("dns_cache_bytes", "64k");
	dns_reconfigure(cfg);
	st = stats();
	assert_true(st.bytes <= 64 * 1024 && st.entries >= 3);
	/* nothing over the bound is kept */
	set("dns_cache_bytes", "8k");
	dns_reconfigure(cfg);
	assert_int_equal(stats().entries, 0);
	assert_int_equal(stats().bytes, 0);
	g = query("d1.big.test", DNS_T_TXT);
	assert_int_equal(g.st, DNS_OK);
	assert_int_equal(stats().entries, 0);
	assert_int_equal(asked, 301);
	stop();
}

static void
test_entry_bound_and_cost(void **state)
{
	struct dns_stats st;
	char name[64];
	int i;

	(void)state;
	start("10", "8M", "30s");
	for (i = 0; i < 50; i++) {
		snprintf(name, sizeof(name), "h%d.example.test", i);
		assert_int_equal(world_add(world, name, "A", 3600,
		    "192.0.2.1"), 0);
		assert_int_equal(query(name, DNS_T_A).st, DNS_OK);
		assert_true(stats().entries <= 10);
	}
	st = stats();
	assert_int_equal(st.entries, 10);
	assert_int_equal(st.evictions, 40);
	/* an A answer takes about 300 bytes, as spfpd.conf(5) says */
	assert_true(st.bytes / 10 >= 250 && st.bytes / 10 <= 350);
	dns_flush();
	st = stats();
	assert_int_equal(st.entries, 0);
	assert_int_equal(st.bytes, 0);
	stop();
}

/* RCODEs that are failures of the servers: SERVFAIL, REFUSED, NOTIMP */
static const struct {
	const char *name;
	int rcode;                      /* -1: no reply */
	enum dns_status st;
} failing[] = {
	{ "servfail.test", 2, DNS_SERVFAIL },
	{ "refused.test", 5, DNS_SERVFAIL },
	{ "notimp.test", 4, DNS_ERROR },
	{ "formerr.test", 1, DNS_ERROR },
	{ "silent.test", -1, DNS_TIMEOUT },
};
#define NFAILING (sizeof(failing) / sizeof(failing[0]))

static void
add_failing(void)
{
	size_t i;

	for (i = 0; i < NFAILING; i++) {
		if (failing[i].rcode < 0)
			assert_int_equal(world_add_timeout(world,
			    failing[i].name, WORLD_ANY_TYPE), 0);
		else
			assert_int_equal(world_add_rcode(world,
			    failing[i].name, WORLD_ANY_TYPE, failing[i].rcode),
			    0);
	}
}

static void
test_failures_kept(void **state)
{
	struct dns_answer *a;
	unsigned long before;
	struct got g;
	size_t i;
	int k;

	(void)state;
	start("20000", "8M", "30s");
	add_failing();
	for (i = 0; i < NFAILING; i++) {
		before = asked;
		for (k = 0; k < 10; k++) {
			g = query(failing[i].name, DNS_T_TXT);
			assert_int_equal(g.st, failing[i].st);
			assert_int_equal(g.n, 0);
		}
		/* ten messages, one question */
		assert_int_equal(asked - before, 1);
		a = dns_cache_get(failing[i].name, DNS_T_TXT);
		assert_non_null(a);
		assert_int_equal(a->status, failing[i].st);
		dns_answer_unref(a);
		/* per type: another type is another question */
		g = query(failing[i].name, DNS_T_A);
		assert_int_equal(g.st, failing[i].st);
		assert_int_equal(asked - before, 2);
	}
	assert_int_equal(stats().entries, 2 * NFAILING);
	/* what could not be sent is not the servers' failure: not kept */
	before = asked;
	assert_int_equal(query("x.localerr.test", DNS_T_TXT).st, DNS_ERROR);
	assert_int_equal(query("x.localerr.test", DNS_T_TXT).st, DNS_ERROR);
	assert_int_equal(asked - before, 2);
	/* dns_flush() forgets them */
	dns_flush();
	before = asked;
	assert_int_equal(query("servfail.test", DNS_T_TXT).st, DNS_SERVFAIL);
	assert_int_equal(asked - before, 1);
	/* so does a reload, and it keeps the answers */
	assert_int_equal(world_add(world, "ok.test", "A", 3600, "192.0.2.1"),
	    0);
	assert_int_equal(query("ok.test", DNS_T_A).st, DNS_OK);
	dns_reconfigure(cfg);
	before = asked;
	assert_int_equal(query("servfail.test", DNS_T_TXT).st, DNS_SERVFAIL);
	assert_int_equal(query("ok.test", DNS_T_A).st, DNS_OK);
	assert_int_equal(asked - before, 1);
	stop();
}

static void
test_failures_not_kept(void **state)
{
	unsigned long before;
	size_t i;
	int k;

	(void)state;
	start("20000", "8M", "0");
	add_failing();
	for (i = 0; i < NFAILING; i++) {
		before = asked;
		for (k = 0; k < 10; k++)
			assert_int_equal(query(failing[i].name,
			    DNS_T_TXT).st, failing[i].st);
		assert_int_equal(asked - before, 10);
		assert_null(dns_cache_get(failing[i].name, DNS_T_TXT));
	}
	assert_int_equal(stats().entries, 0);
	stop();
}

static void
test_failures_expire(void **state)
{
	struct timespec ts = { 0, 300 * 1000000L };
	unsigned long before;

	(void)state;
	start("20000", "8M", "200ms");
	add_failing();
	before = asked;
	assert_int_equal(query("silent.test", DNS_T_TXT).st, DNS_TIMEOUT);
	assert_int_equal(query("silent.test", DNS_T_TXT).st, DNS_TIMEOUT);
	assert_int_equal(asked - before, 1);
	nanosleep(&ts, NULL);
	assert_null(dns_cache_get("silent.test", DNS_T_TXT));
	assert_int_equal(query("silent.test", DNS_T_TXT).st, DNS_TIMEOUT);
	assert_int_equal(asked - before, 2);
	/* never longer than dns_max_ttl (0: nothing kept) */
	set("dns_max_ttl", "0");
	dns_reconfigure(cfg);
	before = asked;
	assert_int_equal(query("refused.test", DNS_T_TXT).st, DNS_SERVFAIL);
	assert_int_equal(query("refused.test", DNS_T_TXT).st, DNS_SERVFAIL);
	assert_int_equal(asked - before, 2);
	stop();
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

	start("20000", "8M", failure_ttl);
	add_failing();
	memset(g, 0, sizeof(g));
	holding = 1;
	for (i = 0; i < 5; i++)
		assert_non_null(dns_query("silent.test", DNS_T_MX, on_answer,
		    &g[i]));
	assert_int_equal(asked, 1);
	assert_int_equal(stats().coalesced, 4);
	event_base_loop(base, EVLOOP_NONBLOCK);
	assert_int_equal(g[0].done, 0);
	release();
	while (g[4].done == 0)
		event_base_loop(base, EVLOOP_ONCE);
	for (i = 0; i < 5; i++) {
		assert_int_equal(g[i].done, 1);
		assert_int_equal(g[i].st, DNS_TIMEOUT);
	}
	/* and the next asks again only without the failure cache */
	assert_int_equal(query("silent.test", DNS_T_MX).st, DNS_TIMEOUT);
	assert_int_equal(asked, strcmp(failure_ttl, "0") ? 1 : 2);
	stop();
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
	assert_int_equal(world_add(world, "exists.test", "A", 3600,
	    "192.0.2.1"), 0);
	assert_int_equal(query("nx.test", DNS_T_TXT).st, DNS_NXDOMAIN);
	assert_int_equal(query("nx.test", DNS_T_TXT).st, DNS_NXDOMAIN);
	assert_int_equal(query("exists.test", DNS_T_TXT).st, DNS_NODATA);
	assert_int_equal(query("exists.test", DNS_T_TXT).st, DNS_NODATA);
	assert_int_equal(asked, 2);
	stop();
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
