/*
 * test_iprev - src/iprev.c (over src/dns.c) against scripted DNS answers:
 * dns.c's upstream seam (dns_set_upstream) answers from a world
 * (tests/diff/world.c) in wire format.  No process, no socket.
 *
 * Expected values come from RFC 8601 3 ("iprev"), RFC 1035 3.5 and RFC
 * 3596 2.5 (the reverse names), iprev.h and the scripted data:
 *
 *   pass         a PTR name whose A record holds the address; the name
 *                that does, among several; the questions asked
 *   fail         PTR names found, none maps back (other addresses,
 *                NXDOMAIN, NODATA); the first PTR name is reported
 *   permerror    no PTR record: NXDOMAIN, NODATA
 *   temperror    PTR SERVFAIL, REFUSED or no reply; a forward lookup
 *                failing when no other name maps back (one that does:
 *                pass); a question cut off at time_ms
 *   max_names    more PTR names than the bound: only that many forward
 *                lookups, the rest never asked
 *   ipv6         nibble names under ip6.arpa, AAAA lookups; an A record
 *                is no match for an IPv6 client
 *   mapped       ::ffff:a.b.c.d is the IPv4 client a.b.c.d
 *   cache        a second check of the same client asks nothing
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cmocka.h>
#include <event2/event.h>

#include "config.h"
#include "dns.h"
#include "iprev.h"
#include "log.h"
#include "../diff/world.h"

#define SAFETY_S 10                     /* a hang fails, after this */
#define TTL 3600

static struct event_base *base;
static struct config *cfg;
static struct world *world;

/* ----- the upstream: the world, a log of questions, hung names ----- */

#define QLOG_MAX 256
static struct {
	char name[256];
	int type;
} qlog[QLOG_MAX];
static unsigned long nq;

#define HANG_MAX 8
static char hang[HANG_MAX][256];        /* never answered ... */
static size_t nhang;
static struct dns_ask *held[QLOG_MAX];  /* ... until reset() */
static size_t nheld;

static void
up_ask(void *ctx, const char *name, int type, struct dns_ask *tok)
{
	static unsigned char buf[65536];
	size_t i;
	int len;

	(void)ctx;
	if (nq < QLOG_MAX) {
		snprintf(qlog[nq].name, sizeof(qlog[nq].name), "%s", name);
		qlog[nq].type = type;
	}
	nq++;
	for (i = 0; i < nhang; i++) {
		if (strcasecmp(hang[i], name) == 0) {
			assert_true(nheld < QLOG_MAX);
			held[nheld++] = tok;
			return;
		}
	}
	len = world_reply(world, name, type, buf, sizeof(buf));
	if (len == 0)
		dns_upstream_reply(tok, DNS_XFER_TIMEOUT, NULL, 0);
	else if (len < 0)
		dns_upstream_reply(tok, DNS_XFER_ERROR, NULL, 0);
	else
		dns_upstream_reply(tok, DNS_XFER_REPLY, buf, len);
}

static const struct dns_upstream upstream = { up_ask, NULL };

static unsigned
asked(const char *name, int type)
{
	unsigned long i;
	unsigned n = 0;

	for (i = 0; i < nq && i < QLOG_MAX; i++)
		if (qlog[i].type == type && strcasecmp(qlog[i].name, name) == 0)
			n++;
	return n;
}

/*
 * rr - one record, or an outcome for (name, type): "!nxdomain",
 * "!nodata", "!servfail", "!refused", "!timeout" (no reply), "!hang"
 * (never answered)
 */
static void
rr(const char *name, const char *type, const char *value)
{
	int t = world_type(type);

	assert_int_not_equal(t, 0);
	if (strcmp(value, "!hang") == 0) {
		assert_true(nhang < HANG_MAX);
		snprintf(hang[nhang++], sizeof(hang[0]), "%s", name);
	} else if (strcmp(value, "!nxdomain") == 0) {
		assert_int_equal(world_add_rcode(world, name, t, 3), 0);
	} else if (strcmp(value, "!nodata") == 0) {
		assert_int_equal(world_add_rcode(world, name, t, 0), 0);
	} else if (strcmp(value, "!servfail") == 0) {
		assert_int_equal(world_add_rcode(world, name, t, 2), 0);
	} else if (strcmp(value, "!refused") == 0) {
		assert_int_equal(world_add_rcode(world, name, t, 5), 0);
	} else if (strcmp(value, "!timeout") == 0) {
		assert_int_equal(world_add_timeout(world, name, t), 0);
	} else {
		assert_int_equal(world_add(world, name, type, TTL, value), 0);
	}
}

/* reset - an empty world and cache; held questions end as timeouts */
static void
reset(void)
{
	size_t i;

	for (i = 0; i < nheld; i++)
		dns_upstream_reply(held[i], DNS_XFER_TIMEOUT, NULL, 0);
	nheld = 0;
	event_base_loop(base, EVLOOP_NONBLOCK);
	world_clear(world);
	dns_flush();
	nq = 0;
	nhang = 0;
}

static int
setup(void **state)
{
	(void)state;
	log_init(1, 0);
	log_set_debug(getenv("TEST_IPREV_DEBUG") != NULL);
	assert_non_null(cfg = config_load(NULL, 0, NULL, NULL));
	assert_non_null(base = event_base_new());
	assert_int_equal(dns_init(base, cfg), 0);
	dns_set_upstream(&upstream);
	world = world_new();
	nq = 0;
	nhang = 0;
	nheld = 0;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	dns_shutdown();
	event_base_free(base);
	config_unref(cfg);
	world_free(world);
	return 0;
}

/* ----- one check ----- */

struct res {
	int done;
	enum iprev_result r;
	int has_name, has_problem;
	char name[256], problem[256];
	unsigned names, checked;
};

static void
on_done(void *arg, const struct iprev_outcome *o)
{
	struct res *r = arg;

	r->done++;
	r->r = o->result;
	if ((r->has_name = o->name != NULL))
		snprintf(r->name, sizeof(r->name), "%s", o->name);
	if ((r->has_problem = o->problem != NULL))
		snprintf(r->problem, sizeof(r->problem), "%s", o->problem);
	r->names = o->names;
	r->checked = o->checked;
}

static void
on_safety(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	*(int *)arg = 1;
}

static struct res
check_ms(const char *ip, unsigned max_names, unsigned ms)
{
	struct timeval tv = { SAFETY_S, 0 };
	struct iprev_check *c;
	struct event *safety;
	struct res r;
	int expired = 0;

	memset(&r, 0, sizeof(r));
	assert_non_null(safety = evtimer_new(base, on_safety, &expired));
	evtimer_add(safety, &tv);
	assert_non_null(c = iprev_start(ip, max_names, ms, on_done, &r));
	assert_int_equal(r.done, 0);    /* never from inside the call */
	while (!r.done && !expired)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(safety);
	if (!r.done) {
		iprev_cancel(c);
		fail_msg("iprev %s: no result in %d s", ip, SAFETY_S);
	}
	event_base_loop(base, EVLOOP_NONBLOCK);
	assert_int_equal(r.done, 1);    /* exactly once */
	/* iprev.h: a problem for everything but pass */
	if (r.r == IPREV_PASS)
		assert_true(r.has_name);
	else
		assert_true(r.has_problem && r.problem[0] != '\0');
	return r;
}

static struct res
check(const char *ip, unsigned max_names)
{
	return check_ms(ip, max_names, 10000);
}

#define assert_result(res, want) do { \
	if ((res).r != (want)) \
		fail_msg("result %s, want %s (problem: %s)", \
		    iprev_result_str((res).r), iprev_result_str(want), \
		    (res).has_problem ? (res).problem : "-"); \
} while (0)

#define IP "192.0.2.1"
#define REV "1.2.0.192.in-addr.arpa"            /* RFC 1035 3.5 */
#define V6 "2001:db8::25"
#define REV6 "5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0." \
	"0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"  /* RFC 3596 2.5 */

/* ----- pass and fail ----- */

static void
test_pass(void **state)
{
	struct res r;

	(void)state;
	rr(REV, "PTR", "mail.example.com");
	rr("mail.example.com", "A", "192.0.2.1");
	r = check(IP, 10);
	assert_result(r, IPREV_PASS);
	assert_string_equal(r.name, "mail.example.com");
	assert_int_equal(r.names, 1);
	assert_int_equal(r.checked, 1);
	assert_int_equal(asked(REV, DNS_T_PTR), 1);
	assert_int_equal(asked("mail.example.com", DNS_T_A), 1);
	assert_int_equal(asked("mail.example.com", DNS_T_AAAA), 0);
	assert_int_equal(nq, 2);
	/* among several A records, and several names: the one that maps */
	reset();
	rr(REV, "PTR", "other.example.org");
	rr(REV, "PTR", "mail.example.com");
	rr(REV, "PTR", "third.example.net");
	rr("other.example.org", "A", "198.51.100.1");
	rr("mail.example.com", "A", "198.51.100.2");
	rr("mail.example.com", "A", "192.0.2.1");
	rr("third.example.net", "A", "!nxdomain");
	r = check(IP, 10);
	assert_result(r, IPREV_PASS);
	assert_string_equal(r.name, "mail.example.com");
	assert_int_equal(r.names, 3);
	/* the forward name through a CNAME */
	reset();
	rr(REV, "PTR", "alias.example.com");
	rr("alias.example.com", "CNAME", "mail.example.com");
	rr("mail.example.com", "A", "192.0.2.1");
	r = check(IP, 10);
	assert_result(r, IPREV_PASS);
	assert_string_equal(r.name, "alias.example.com");
}

static void
test_fail(void **state)
{
	static const char *const forward[] = {
		"198.51.100.1", "!nxdomain", "!nodata"
	};
	struct res r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(forward) / sizeof(forward[0]); i++) {
		reset();
		rr(REV, "PTR", "mail.example.com");
		rr("mail.example.com", "A", forward[i]);
		if (strcmp(forward[i], "!nodata") == 0)
			rr("mail.example.com", "AAAA", "2001:db8::1");
		r = check(IP, 10);
		if (r.r != IPREV_FAIL)
			fail_msg("forward %s: %s, want fail", forward[i],
			    iprev_result_str(r.r));
		/* iprev.h: the first PTR name */
		assert_true(r.has_name);
		assert_string_equal(r.name, "mail.example.com");
		assert_int_equal(r.names, 1);
		assert_int_equal(r.checked, 1);
		assert_int_equal(nq, 2);
	}
	/* several names, none maps back: the first is named */
	reset();
	rr(REV, "PTR", "a.example.com");
	rr(REV, "PTR", "b.example.com");
	rr("a.example.com", "A", "198.51.100.1");
	rr("b.example.com", "A", "192.0.2.2");
	r = check(IP, 10);
	assert_result(r, IPREV_FAIL);
	assert_string_equal(r.name, "a.example.com");
	assert_int_equal(r.names, 2);
	assert_int_equal(r.checked, 2);
}

/* ----- no PTR: permerror ----- */

static void
test_permerror(void **state)
{
	struct res r;

	(void)state;
	rr(REV, "PTR", "!nxdomain");
	r = check(IP, 10);
	assert_result(r, IPREV_PERMERROR);
	assert_false(r.has_name);
	assert_int_equal(r.names, 0);
	assert_int_equal(r.checked, 0);
	assert_int_equal(nq, 1);
	/* the name exists, without PTR: NODATA */
	reset();
	rr(REV, "A", "127.0.0.1");
	r = check(IP, 10);
	assert_result(r, IPREV_PERMERROR);
	assert_false(r.has_name);
	assert_int_equal(nq, 1);
	/* an empty world: NXDOMAIN */
	reset();
	r = check(IP, 10);
	assert_result(r, IPREV_PERMERROR);
}

/* ----- temperror ----- */

static void
test_temperror(void **state)
{
	static const char *const ptr_fails[] = {
		"!servfail", "!refused", "!timeout"
	};
	struct res r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ptr_fails) / sizeof(ptr_fails[0]); i++) {
		reset();
		rr(REV, "PTR", ptr_fails[i]);
		rr("mail.example.com", "A", "192.0.2.1");
		r = check(IP, 10);
		if (r.r != IPREV_TEMPERROR)
			fail_msg("PTR %s: %s, want temperror", ptr_fails[i],
			    iprev_result_str(r.r));
		assert_false(r.has_name);
		assert_int_equal(r.checked, 0);
		assert_int_equal(nq, 1);
	}
	/* the forward lookup fails and no other name maps back */
	reset();
	rr(REV, "PTR", "a.example.com");
	rr(REV, "PTR", "b.example.com");
	rr("a.example.com", "A", "198.51.100.1");
	rr("b.example.com", "A", "!servfail");
	r = check(IP, 10);
	assert_result(r, IPREV_TEMPERROR);
	assert_string_equal(r.name, "a.example.com");
	assert_int_equal(r.names, 2);
	assert_int_equal(r.checked, 2);
	reset();
	rr(REV, "PTR", "a.example.com");
	rr("a.example.com", "A", "!timeout");
	r = check(IP, 10);
	assert_result(r, IPREV_TEMPERROR);
	/* ... but another name that maps back is a pass */
	reset();
	rr(REV, "PTR", "a.example.com");
	rr(REV, "PTR", "b.example.com");
	rr("a.example.com", "A", "!servfail");
	rr("b.example.com", "A", "192.0.2.1");
	r = check(IP, 10);
	assert_result(r, IPREV_PASS);
	assert_string_equal(r.name, "b.example.com");
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* a question that never comes back: temperror at time_ms */
static void
test_deadline(void **state)
{
	struct res r;
	double t0, dt;

	(void)state;
	rr(REV, "PTR", "!hang");
	t0 = now_s();
	r = check_ms(IP, 10, 300);
	dt = now_s() - t0;
	assert_result(r, IPREV_TEMPERROR);
	assert_true(dt >= 0.29 && dt < 3);
	assert_false(r.has_name);
	/* the forward lookup hangs */
	reset();
	rr(REV, "PTR", "mail.example.com");
	rr("mail.example.com", "A", "!hang");
	t0 = now_s();
	r = check_ms(IP, 10, 300);
	dt = now_s() - t0;
	assert_result(r, IPREV_TEMPERROR);
	assert_true(dt >= 0.29 && dt < 3);
	assert_int_equal(r.names, 1);
	/* one name hangs, another maps back: pass, without waiting */
	reset();
	rr(REV, "PTR", "slow.example.com");
	rr(REV, "PTR", "mail.example.com");
	rr("slow.example.com", "A", "!hang");
	rr("mail.example.com", "A", "192.0.2.1");
	t0 = now_s();
	r = check_ms(IP, 10, 2000);
	assert_result(r, IPREV_PASS);
	assert_string_equal(r.name, "mail.example.com");
	assert_true(now_s() - t0 < 1);
}

/* ----- max_names (ptr_max_names) ----- */

static void
ptr_names(int n, int match)
{
	char name[64], addr[32];
	int i;

	for (i = 1; i <= n; i++) {
		snprintf(name, sizeof(name), "n%d.example.com", i);
		rr(REV, "PTR", name);
		snprintf(addr, sizeof(addr), "198.51.100.%d", i);
		rr(name, "A", i == match ? IP : addr);
	}
}

static void
test_max_names(void **state)
{
	char name[64];
	struct res r;
	int i;

	(void)state;
	/* five names, the 4th maps back, a bound of 2: fail */
	ptr_names(5, 4);
	r = check(IP, 2);
	assert_result(r, IPREV_FAIL);
	assert_int_equal(r.names, 5);
	assert_int_equal(r.checked, 2);
	assert_int_equal(nq, 3);
	assert_int_equal(asked("n1.example.com", DNS_T_A), 1);
	assert_int_equal(asked("n2.example.com", DNS_T_A), 1);
	for (i = 3; i <= 5; i++) {
		snprintf(name, sizeof(name), "n%d.example.com", i);
		assert_int_equal(asked(name, DNS_T_A), 0);
	}
	/* a bound of 4 reaches it */
	reset();
	ptr_names(5, 4);
	r = check(IP, 4);
	assert_result(r, IPREV_PASS);
	assert_string_equal(r.name, "n4.example.com");
	assert_int_equal(r.names, 5);
	assert_int_equal(r.checked, 4);
	assert_int_equal(nq, 5);
	assert_int_equal(asked("n5.example.com", DNS_T_A), 0);
	/* 32 names (the largest ptr_max_names), a bound of 10 */
	reset();
	ptr_names(32, 32);
	r = check(IP, 10);
	assert_result(r, IPREV_FAIL);
	assert_int_equal(r.names, 32);
	assert_int_equal(r.checked, 10);
	assert_int_equal(nq, 11);
	r = check(IP, 32);
	assert_result(r, IPREV_PASS);
	assert_string_equal(r.name, "n32.example.com");
	assert_int_equal(r.checked, 32);
	/* the first 10 were cached: 22 new questions */
	assert_int_equal(nq, 11 + 22);
}

/* ----- IPv6 and IPv4-mapped clients ----- */

static void
test_ipv6(void **state)
{
	struct res r;

	(void)state;
	rr(REV6, "PTR", "host6.example.com");
	rr("host6.example.com", "AAAA", "2001:db8::25");
	rr("host6.example.com", "A", "192.0.2.1");
	r = check(V6, 10);
	assert_result(r, IPREV_PASS);
	assert_string_equal(r.name, "host6.example.com");
	assert_int_equal(asked(REV6, DNS_T_PTR), 1);
	assert_int_equal(asked("host6.example.com", DNS_T_AAAA), 1);
	assert_int_equal(asked("host6.example.com", DNS_T_A), 0);
	assert_int_equal(nq, 2);
	/* the same name, spelt in full */
	r = check("2001:0db8:0000:0000:0000:0000:0000:0025", 10);
	assert_result(r, IPREV_PASS);
	assert_int_equal(nq, 2);
	/* an A record is no match for an IPv6 client */
	reset();
	rr(REV6, "PTR", "host6.example.com");
	rr("host6.example.com", "A", "192.0.2.1");
	r = check(V6, 10);
	assert_result(r, IPREV_FAIL);
	assert_string_equal(r.name, "host6.example.com");
	/* another address in the same /64: no match */
	reset();
	rr(REV6, "PTR", "host6.example.com");
	rr("host6.example.com", "AAAA", "2001:db8::26");
	r = check(V6, 10);
	assert_result(r, IPREV_FAIL);
	/* no PTR under ip6.arpa */
	reset();
	rr(REV6, "PTR", "!nxdomain");
	r = check(V6, 10);
	assert_result(r, IPREV_PERMERROR);
}

static void
test_mapped(void **state)
{
	struct res r;

	(void)state;
	/* ::ffff:192.0.2.1 is 192.0.2.1: in-addr.arpa, A */
	rr(REV, "PTR", "mail.example.com");
	rr("mail.example.com", "A", "192.0.2.1");
	rr("mail.example.com", "AAAA", "::ffff:192.0.2.1");
	r = check("::ffff:192.0.2.1", 10);
	assert_result(r, IPREV_PASS);
	assert_string_equal(r.name, "mail.example.com");
	assert_int_equal(asked(REV, DNS_T_PTR), 1);
	assert_int_equal(asked("mail.example.com", DNS_T_A), 1);
	assert_int_equal(asked("mail.example.com", DNS_T_AAAA), 0);
	assert_int_equal(nq, 2);
	/* the plain IPv4 client is the same: all from the cache */
	r = check(IP, 10);
	assert_result(r, IPREV_PASS);
	assert_int_equal(nq, 2);
	/* another mapped address: not this name's */
	r = check("::ffff:192.0.2.2", 10);
	assert_int_equal(asked("2.2.0.192.in-addr.arpa", DNS_T_PTR), 1);
	assert_result(r, IPREV_PERMERROR);
}

/* ----- the cache ----- */

static void
test_cache(void **state)
{
	struct res r;

	(void)state;
	rr(REV, "PTR", "a.example.com");
	rr(REV, "PTR", "b.example.com");
	rr("a.example.com", "A", "198.51.100.1");
	rr("b.example.com", "A", "192.0.2.1");
	r = check(IP, 10);
	assert_result(r, IPREV_PASS);
	assert_int_equal(nq, 3);
	r = check(IP, 10);
	assert_result(r, IPREV_PASS);
	assert_string_equal(r.name, "b.example.com");
	assert_int_equal(r.names, 2);
	assert_int_equal(nq, 3);
	/* negative answers and failures too */
	reset();
	rr(REV, "PTR", "!nxdomain");
	r = check(IP, 10);
	r = check(IP, 10);
	assert_result(r, IPREV_PERMERROR);
	assert_int_equal(nq, 1);
	reset();
	rr(REV, "PTR", "!servfail");
	r = check(IP, 10);
	r = check(IP, 10);
	assert_result(r, IPREV_TEMPERROR);
	assert_int_equal(nq, 1);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_pass),
		T(test_fail),
		T(test_permerror),
		T(test_temperror),
		T(test_deadline),
		T(test_max_names),
		T(test_ipv6),
		T(test_mapped),
		T(test_cache),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
