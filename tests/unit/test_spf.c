/*
 * test_spf - src/spf.c (over src/dns.c and libspf2) against scripted DNS
 * answers: dns.c's upstream seam (dns_set_upstream) answers from a world
 * (tests/diff/world.c) in wire format.  No process, no socket.
 *
 * Every expected value comes from RFC 7208 and the scripted data:
 *
 *   results        pass/fail/softfail/neutral/none/permerror/temperror of
 *                  one record each (4.5, 4.6, 4.7, 5, 6)
 *   helo           the HELO identity (2.3): its domain, "a" on it, a
 *                  trailing dot, a name that is no domain (4.3: none)
 *   include        chains, the include result table (5.2), a qualifier
 *   redirect       the target decides (6.1), ignored next to "all" or
 *                  after a match, a target with no record, two redirects
 *   term_limit     10 DNS-querying terms across includes, redirect and a:
 *                  pass; the 11th is permerror and is never asked (4.6.4)
 *   mx_ptr         mx and ptr are one term each, their host lookups none;
 *                  more than 10 MX records is permerror (4.6.4)
 *   void_limit     two void lookups (NXDOMAIN, NODATA) pass, the third is
 *                  permerror (4.6.4); lookups with records are not void
 *   macros         %{i} %{ir} %{s} %{l} %{o} %{d} %{h} %{h2} %{v} %{p}
 *                  in exists:, %{d} in an include and after a redirect,
 *                  %{l} of the HELO identity and of a sender without a
 *                  local part (7.3), IPv6 %{i} as nibbles
 *   exp            exp= after a fail (6.2), expanded; not a DNS term (10
 *                  terms and exp= is still fail); not fetched for pass;
 *                  NXDOMAIN or two TXT records: the default explanation;
 *                  include's exp= is not used, redirect's target's is
 *   long_record    100 ip4 terms (more than libspf2 compiles: 511 bytes)
 *                  then -all, ~all, include: or a: fail for an unlisted
 *                  address, not the neutral of a record cut short
 *   temperror      SERVFAIL, REFUSED and timeouts of the record, of an
 *                  include, of a: and of an MX host; a match before the
 *                  broken lookup is still pass
 *   deadline       a question that never comes back: temperror at the
 *                  check's lookup_time
 *   cache          a second check asks nothing, reports the same and
 *                  evaluates once (a cache hit is no miss)
 *   cname_ttl      an answer behind a CNAME lives as long as the CNAME
 *   ipv6           ip6:, a: with AAAA, IPv4-mapped clients are IPv4
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
#include "log.h"
#include "spf.h"
#include "../diff/world.h"

#define SAFETY_S 10                     /* a hang fails, after this */
#define DEFAULT_EXP "no: %{i} for %{d}" /* our default_explanation */
#define TTL 3600

static struct event_base *base;
static struct config *cfg;
static struct world *world;

/* ----- the upstream: the world, a log of questions, hung names ----- */

#define QLOG_MAX 1024
static struct {
	char name[256];
	int type;
} qlog[QLOG_MAX];
static unsigned long nq;                /* questions the upstream got */

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

/* asked - how often (name, type) went upstream */
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

/* ----- the world, one line at a time ----- */

/*
 * zone - lines "name TYPE value"; TXT values are the rest of the line
 * (cut into 255-byte strings), "!nxdomain", "!nodata", "!servfail",
 * "!refused", "!timeout" (no reply) and "!hang" (never answered) make
 * that outcome for name/TYPE.  TYPE "CNAMEn" is a CNAME with TTL n.
 */
static void
zone(const char *text)
{
	char line[4096], *sp, *sp2, *name, *type, *value;
	const char *p = text, *nl;
	const char *strs[32];
	size_t lens[32], n, i, len;
	unsigned ttl = TTL;
	int t;

	for (; *p; p = *nl ? nl + 1 : nl) {
		nl = strchr(p, '\n');
		if (nl == NULL)
			nl = p + strlen(p);
		len = (size_t)(nl - p);
		if (len == 0)
			continue;
		assert_true(len < sizeof(line));
		memcpy(line, p, len);
		line[len] = '\0';
		sp = strchr(line, ' ');
		assert_non_null(sp);
		sp2 = strchr(sp + 1, ' ');
		assert_non_null(sp2);
		*sp = *sp2 = '\0';
		name = line;
		type = sp + 1;
		value = sp2 + 1;
		ttl = TTL;
		if (strncmp(type, "CNAME", 5) == 0 && type[5] != '\0') {
			ttl = (unsigned)atoi(type + 5);
			type[5] = '\0';
		}
		if (strcmp(value, "!hang") == 0) {
			assert_true(nhang < HANG_MAX);
			snprintf(hang[nhang++], sizeof(hang[0]), "%.255s",
			    name);
			continue;
		}
		t = world_type(type);
		assert_int_not_equal(t, 0);
		if (strcmp(value, "!nxdomain") == 0)
			assert_int_equal(world_add_rcode(world, name, t, 3), 0);
		else if (strcmp(value, "!nodata") == 0)
			assert_int_equal(world_add_rcode(world, name, t, 0), 0);
		else if (strcmp(value, "!servfail") == 0)
			assert_int_equal(world_add_rcode(world, name, t, 2), 0);
		else if (strcmp(value, "!refused") == 0)
			assert_int_equal(world_add_rcode(world, name, t, 5), 0);
		else if (strcmp(value, "!timeout") == 0)
			assert_int_equal(world_add_timeout(world, name, t), 0);
		else if (t == DNS_T_TXT) {
			len = strlen(value);
			for (n = 0, i = 0; i < len || n == 0; i += 255, n++) {
				assert_true(n < 32);
				strs[n] = value + i;
				lens[n] = len - i > 255 ? 255 : len - i;
			}
			assert_int_equal(world_add_txt(world, name, ttl, strs,
			    lens, n), 0);
		} else {
			assert_int_equal(world_add(world, name, type, ttl,
			    value), 0);
		}
	}
}

/*
 * reset - an empty world and cache, no questions yet.  A question held
 * unanswered would be joined by the next check's same question: it ends
 * now, as a timeout, and is forgotten.
 */
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

/* ----- setup ----- */

static void
set(const char *key, const char *value)
{
	char err[256];

	if (config_set(cfg, key, value, err, sizeof(err)) < 0)
		fail_msg("%s", err);
}

static int
setup(void **state)
{
	(void)state;
	log_init(1, 0);
	log_set_debug(getenv("TEST_SPF_DEBUG") != NULL);
	assert_non_null(cfg = config_load(NULL, 0, NULL, NULL));
	set("default_explanation", DEFAULT_EXP);
	assert_non_null(base = event_base_new());
	assert_int_equal(dns_init(base, cfg), 0);
	dns_set_upstream(&upstream);
	assert_int_equal(spf_init(base, cfg), 0);
	world = world_new();
	nq = 0;
	nhang = 0;
	nheld = 0;      /* dns_shutdown() freed what they were */
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	spf_shutdown();
	dns_shutdown();
	event_base_free(base);
	config_unref(cfg);
	world_free(world);
	return 0;
}

/* ----- one check, run to its done() ----- */

struct res {
	int done;
	enum spf_result r;
	char identity[16], domain[300];
	int has_expl, has_problem;
	char expl[1024], problem[512];
	unsigned terms, voids, runs, queries;
};

static void
on_done(void *arg, const struct spf_outcome *o)
{
	struct res *r = arg;

	r->done++;
	r->r = o->result;
	snprintf(r->identity, sizeof(r->identity), "%s",
	    o->identity ? o->identity : "(null)");
	snprintf(r->domain, sizeof(r->domain), "%s",
	    o->domain ? o->domain : "(null)");
	if ((r->has_expl = o->explanation != NULL))
		snprintf(r->expl, sizeof(r->expl), "%s", o->explanation);
	if ((r->has_problem = o->problem != NULL))
		snprintf(r->problem, sizeof(r->problem), "%s", o->problem);
	r->terms = o->dns_terms;
	r->voids = o->void_lookups;
	r->runs = o->runs;
	r->queries = o->queries;
}

static void
on_safety(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	*(int *)arg = 1;
}

static struct res
check_ms(const char *ip, const char *helo, const char *sender, unsigned ms)
{
	struct timeval tv = { SAFETY_S, 0 };
	struct spf_check *c;
	struct event *safety;
	struct res r;
	int expired = 0;

	memset(&r, 0, sizeof(r));
	assert_non_null(safety = evtimer_new(base, on_safety, &expired));
	evtimer_add(safety, &tv);
	assert_non_null(c = spf_check_start(ip, helo, sender, ms, on_done,
	    &r));
	assert_int_equal(r.done, 0);    /* never from inside the call */
	while (!r.done && !expired)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(safety);
	if (!r.done) {
		spf_check_cancel(c);
		fail_msg("spf check %s %s %s: no result in %d s", ip, helo,
		    sender ? sender : "(helo)", SAFETY_S);
	}
	event_base_loop(base, EVLOOP_NONBLOCK);
	assert_int_equal(r.done, 1);    /* exactly once */
	/* the contract of the outcome */
	assert_string_equal(r.identity, sender ? "mailfrom" : "helo");
	if (r.r == SPF_FAIL)
		assert_true(r.has_expl);
	if (r.r == SPF_PERMERROR || r.r == SPF_TEMPERROR)
		assert_true(r.has_problem && r.problem[0] != '\0');
	return r;
}

#define IP "192.0.2.1"
#define HELO "mail.example.org"
#define SENDER "alice@example.com"

static struct res
check(const char *ip, const char *helo, const char *sender)
{
	return check_ms(ip, helo, sender, 20000);
}

static struct res
mailfrom(const char *ip)
{
	return check(ip, HELO, SENDER);
}

#define assert_prefix(s, prefix) do { \
	if (strncmp((s), (prefix), strlen(prefix)) != 0) \
		fail_msg("\"%s\" does not start with \"%s\"", (s), (prefix)); \
} while (0)

#define assert_result(res, want) do { \
	if ((res).r != (want)) \
		fail_msg("result %s, want %s (problem: %s)", \
		    spf_result_str((res).r), spf_result_str(want), \
		    (res).has_problem ? (res).problem : "-"); \
} while (0)

/* ----- results of one record ----- */

static const struct {
	const char *zone;
	enum spf_result want;
	unsigned terms, questions;
} results[] = {
	/* 5.6: ip4, with and without a prefix length */
	{ "example.com TXT v=spf1 ip4:192.0.2.1 -all", SPF_PASS, 0, 1 },
	{ "example.com TXT v=spf1 ip4:192.0.2.0/24 -all", SPF_PASS, 0, 1 },
	{ "example.com TXT v=spf1 ip4:192.0.2.2/32 -all", SPF_FAIL, 0, 1 },
	/* 4.6.2: the qualifier of the mechanism that matched */
	{ "example.com TXT v=spf1 ip4:198.51.100.1 -all", SPF_FAIL, 0, 1 },
	{ "example.com TXT v=spf1 ip4:198.51.100.1 ~all", SPF_SOFTFAIL, 0, 1 },
	{ "example.com TXT v=spf1 ip4:198.51.100.1 ?all", SPF_NEUTRAL, 0, 1 },
	{ "example.com TXT v=spf1 -ip4:192.0.2.1 +all", SPF_FAIL, 0, 1 },
	{ "example.com TXT v=spf1 ~ip4:192.0.2.1 +all", SPF_SOFTFAIL, 0, 1 },
	{ "example.com TXT v=spf1 +all", SPF_PASS, 0, 1 },
	/* 4.7: nothing matched, no redirect: neutral */
	{ "example.com TXT v=spf1 ip4:198.51.100.1", SPF_NEUTRAL, 0, 1 },
	{ "example.com TXT v=spf1", SPF_NEUTRAL, 0, 1 },
	/* 4.5: no SPF record: none; other TXT records are not SPF */
	{ "example.com TXT !nxdomain", SPF_NONE, 0, 1 },
	{ "example.com A 192.0.2.1", SPF_NONE, 0, 1 },
	{ "example.com TXT site-verification=abc", SPF_NONE, 0, 1 },
	{ "example.com TXT v=spf10 ip4:192.0.2.1 -all", SPF_NONE, 0, 1 },
	{ "example.com TXT hello\n"
	  "example.com TXT v=spf1 ip4:192.0.2.1 -all", SPF_PASS, 0, 1 },
	/* 4.5: two SPF records */
	{ "example.com TXT v=spf1 ip4:192.0.2.1 -all\n"
	  "example.com TXT v=spf1 -all", SPF_PERMERROR, 0, 1 },
	/* 4.6.1, 6: unknown mechanism permerror, unknown modifier ignored */
	{ "example.com TXT v=spf1 frob:x ip4:192.0.2.1 -all",
	  SPF_PERMERROR, 0, 1 },
	{ "example.com TXT v=spf1 ip4:192.0.2.1 frob=x -all", SPF_PASS, 0, 1 },
	{ "example.com TXT v=spf1 ip4:192.0.2 -all", SPF_PERMERROR, 0, 1 },
	/* 4.4: the record's server fails: temperror */
	{ "example.com TXT !servfail", SPF_TEMPERROR, 0, 1 },
	{ "example.com TXT !refused", SPF_TEMPERROR, 0, 1 },
	{ "example.com TXT !timeout", SPF_TEMPERROR, 0, 1 },
};

static void
test_results(void **state)
{
	struct res r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(results) / sizeof(results[0]); i++) {
		reset();
		zone(results[i].zone);
		r = mailfrom(IP);
		if (r.r != results[i].want)
			fail_msg("row %zu (%s): %s, want %s", i,
			    results[i].zone, spf_result_str(r.r),
			    spf_result_str(results[i].want));
		assert_string_equal(r.domain, "example.com");
		assert_int_equal(r.terms, results[i].terms);
		assert_int_equal(r.voids, 0);
		assert_int_equal(nq, results[i].questions);
		assert_int_equal(asked("example.com", DNS_T_TXT), 1);
		assert_int_equal(r.queries, results[i].questions);
		if (r.r == SPF_FAIL)
			/* no exp=: the default explanation, expanded */
			assert_string_equal(r.expl,
			    "no: 192.0.2.1 for example.com");
		else
			assert_false(r.has_expl);
	}
}

/* ----- HELO ----- */

static void
test_helo(void **state)
{
	struct res r;

	(void)state;
	zone("mail.example.org TXT v=spf1 a -all\n"
	    "mail.example.org A 192.0.2.1\n"
	    "example.com TXT v=spf1 -all\n");
	/* 2.3: the HELO name is the domain; "a" is its own A */
	r = check(IP, HELO, NULL);
	assert_result(r, SPF_PASS);
	assert_string_equal(r.identity, "helo");
	assert_string_equal(r.domain, "mail.example.org");
	assert_int_equal(r.terms, 1);
	assert_int_equal(asked("example.com", DNS_T_TXT), 0);
	assert_int_equal(asked("mail.example.org", DNS_T_TXT), 1);
	assert_int_equal(asked("mail.example.org", DNS_T_A), 1);
	assert_int_equal(nq, 2);
	r = check("192.0.2.2", HELO, NULL);
	assert_result(r, SPF_FAIL);
	assert_string_equal(r.expl, "no: 192.0.2.2 for mail.example.org");
	/* the same check of MAIL FROM: its domain's record */
	r = check(IP, HELO, SENDER);
	assert_result(r, SPF_FAIL);
	assert_string_equal(r.identity, "mailfrom");
	assert_string_equal(r.domain, "example.com");
	/* one final dot is the same name */
	r = check(IP, "mail.example.org.", NULL);
	assert_result(r, SPF_PASS);
	assert_string_equal(r.domain, "mail.example.org");
	/* 4.3: not a multi-label domain name: none, nothing asked */
	reset();
	zone("localhost TXT v=spf1 +all\n"
	    "example.com TXT v=spf1 +all\n");
	r = check(IP, "localhost", NULL);
	assert_result(r, SPF_NONE);
	r = check(IP, HELO, "alice@localhost");
	assert_result(r, SPF_NONE);
	r = check(IP, "a..example.com", NULL);
	assert_result(r, SPF_NONE);
	assert_int_equal(nq, 0);
}

/* ----- include ----- */

static void
test_include(void **state)
{
	struct res r;

	(void)state;
	zone("example.com TXT v=spf1 include:a.example.net "
	    "include:b.example.net -all\n"
	    "a.example.net TXT v=spf1 ip4:198.51.100.0/24 -all\n"
	    "b.example.net TXT v=spf1 include:c.example.net -all\n"
	    "c.example.net TXT v=spf1 ip4:192.0.2.0/24 -all\n");
	r = mailfrom(IP);
	assert_result(r, SPF_PASS);
	assert_int_equal(r.terms, 3);
	assert_int_equal(r.voids, 0);
	assert_int_equal(nq, 4);
	assert_int_equal(r.queries, 4);
	assert_int_equal(asked("c.example.net", DNS_T_TXT), 1);
	reset();
	zone("example.com TXT v=spf1 include:a.example.net "
	    "include:b.example.net -all\n"
	    "a.example.net TXT v=spf1 ip4:198.51.100.0/24 -all\n"
	    "b.example.net TXT v=spf1 include:c.example.net -all\n"
	    "c.example.net TXT v=spf1 ip4:192.0.2.0/24 -all\n");
	r = mailfrom("198.51.100.7");
	assert_result(r, SPF_PASS);
	r = mailfrom("203.0.113.1");
	assert_result(r, SPF_FAIL);
	assert_int_equal(r.terms, 3);
	assert_string_equal(r.expl, "no: 203.0.113.1 for example.com");
}

/* 5.2: what an include's result makes of the include: mechanism */
static const struct {
	const char *inner;              /* the record of inc.example.net */
	enum spf_result want;           /* of "v=spf1 ~include:... -all" */
} include_table[] = {
	{ "inc.example.net TXT v=spf1 +all", SPF_SOFTFAIL },    /* match */
	{ "inc.example.net TXT v=spf1 -all", SPF_FAIL },        /* no match */
	{ "inc.example.net TXT v=spf1 ~all", SPF_FAIL },
	{ "inc.example.net TXT v=spf1 ?all", SPF_FAIL },
	{ "inc.example.net TXT v=spf1", SPF_FAIL },
	{ "inc.example.net TXT !servfail", SPF_TEMPERROR },
	{ "inc.example.net TXT !timeout", SPF_TEMPERROR },
	{ "inc.example.net TXT v=spf1 frob:x -all", SPF_PERMERROR },
	{ "inc.example.net TXT !nxdomain", SPF_PERMERROR },     /* none */
	{ "inc.example.net TXT not spf", SPF_PERMERROR },
};

static void
test_include_results(void **state)
{
	struct res r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(include_table) / sizeof(include_table[0]);
	    i++) {
		reset();
		zone("example.com TXT v=spf1 ~include:inc.example.net -all");
		zone(include_table[i].inner);
		r = mailfrom(IP);
		if (r.r != include_table[i].want)
			fail_msg("%s: %s, want %s", include_table[i].inner,
			    spf_result_str(r.r),
			    spf_result_str(include_table[i].want));
		assert_int_equal(r.terms, 1);
		assert_int_equal(nq, 2);
	}
}

/* ----- redirect ----- */

static void
test_redirect(void **state)
{
	struct res r;

	(void)state;
	zone("example.com TXT v=spf1 redirect=_spf.example.net\n"
	    "_spf.example.net TXT v=spf1 ip4:192.0.2.1 -all\n");
	r = mailfrom(IP);
	assert_result(r, SPF_PASS);
	assert_int_equal(r.terms, 1);
	assert_int_equal(nq, 2);
	r = mailfrom("192.0.2.9");
	assert_result(r, SPF_FAIL);
	assert_int_equal(r.terms, 1);
	/*
	 * The default explanation.  Its %{d} is left open here: spf.c
	 * expands it with the sender's domain when no exp= was met, but
	 * with the target's when the target's exp= finds no TXT record;
	 * RFC 7208 7.3 makes d the current domain, the target (6.1).
	 */
	assert_prefix(r.expl, "no: 192.0.2.9 for ");
	/* the domain checked is still the sender's */
	assert_string_equal(r.domain, "example.com");

	/* 6.1: ignored when "all" is there, and when something matched */
	reset();
	zone("example.com TXT v=spf1 -all redirect=_spf.example.net\n"
	    "_spf.example.net TXT v=spf1 +all\n");
	r = mailfrom(IP);
	assert_result(r, SPF_FAIL);
	assert_int_equal(r.terms, 0);
	reset();
	zone("example.com TXT v=spf1 ip4:192.0.2.1 "
	    "redirect=_spf.example.net\n"
	    "_spf.example.net TXT v=spf1 -all\n");
	r = mailfrom(IP);
	assert_result(r, SPF_PASS);
	assert_int_equal(r.terms, 0);

	/* 6.1: a target with no SPF record is permerror */
	reset();
	zone("example.com TXT v=spf1 redirect=_spf.example.net\n"
	    "_spf.example.net A 192.0.2.1\n");
	r = mailfrom(IP);
	assert_result(r, SPF_PERMERROR);
	assert_int_equal(r.terms, 1);
	/* 6: redirect= twice is a syntax error */
	reset();
	zone("example.com TXT v=spf1 redirect=a.example.net "
	    "redirect=b.example.net\n"
	    "a.example.net TXT v=spf1 +all\n"
	    "b.example.net TXT v=spf1 +all\n");
	r = mailfrom(IP);
	assert_result(r, SPF_PERMERROR);
	/* the target's server fails: temperror */
	reset();
	zone("example.com TXT v=spf1 redirect=_spf.example.net\n"
	    "_spf.example.net TXT !servfail\n");
	r = mailfrom(IP);
	assert_result(r, SPF_TEMPERROR);
}

/* ----- 4.6.4: ten DNS-querying terms ----- */

/* chain - example.com includes l1, l1 includes l2 ... ln passes IP */
static void
chain(int n)
{
	char line[256];
	int i;

	zone("example.com TXT v=spf1 include:l1.example.net -all");
	for (i = 1; i < n; i++) {
		snprintf(line, sizeof(line), "l%d.example.net TXT v=spf1 "
		    "include:l%d.example.net -all", i, i + 1);
		zone(line);
	}
	snprintf(line, sizeof(line), "l%d.example.net TXT v=spf1 "
	    "ip4:192.0.2.1 -all", n);
	zone(line);
}

/* a_terms - a record of n "a:hK" terms (each with an address not the
 * client's), then tail */
static void
a_terms(int n, const char *tail)
{
	char rec[2048], line[128];
	size_t o;
	int i;

	o = (size_t)snprintf(rec, sizeof(rec), "example.com TXT v=spf1");
	for (i = 1; i <= n; i++) {
		o += (size_t)snprintf(rec + o, sizeof(rec) - o,
		    " a:h%d.example.net", i);
		snprintf(line, sizeof(line), "h%d.example.net A 198.51.100.%d",
		    i, i);
		zone(line);
	}
	snprintf(rec + o, sizeof(rec) - o, " %s", tail);
	zone(rec);
}

static void
test_term_limit(void **state)
{
	struct res r;

	(void)state;
	/* ten includes deep: pass */
	chain(10);
	r = mailfrom(IP);
	assert_result(r, SPF_PASS);
	assert_int_equal(r.terms, 10);
	assert_int_equal(nq, 11);
	/* eleven: permerror, and the 11th is never looked up */
	reset();
	chain(11);
	r = mailfrom(IP);
	assert_result(r, SPF_PERMERROR);
	assert_int_equal(r.terms, 11);
	assert_int_equal(asked("l10.example.net", DNS_T_TXT), 1);
	assert_int_equal(asked("l11.example.net", DNS_T_TXT), 0);
	assert_int_equal(nq, 11);

	/* nine a: and a redirect: ten terms */
	reset();
	a_terms(9, "redirect=r.example.net");
	zone("r.example.net TXT v=spf1 ip4:192.0.2.1 -all");
	r = mailfrom(IP);
	assert_result(r, SPF_PASS);
	assert_int_equal(r.terms, 10);
	assert_int_equal(r.voids, 0);
	assert_int_equal(nq, 11);
	/* ten a: and a redirect: the redirect is the 11th */
	reset();
	a_terms(10, "redirect=r.example.net");
	zone("r.example.net TXT v=spf1 ip4:192.0.2.1 -all");
	r = mailfrom(IP);
	assert_result(r, SPF_PERMERROR);
	assert_int_equal(r.terms, 11);
	assert_int_equal(asked("r.example.net", DNS_T_TXT), 0);
	/* eleven a: terms, the match after them: permerror */
	reset();
	a_terms(11, "ip4:192.0.2.1 -all");
	r = mailfrom(IP);
	assert_result(r, SPF_PERMERROR);
	assert_int_equal(asked("h10.example.net", DNS_T_A), 1);
	assert_int_equal(asked("h11.example.net", DNS_T_A), 0);
	assert_int_equal(nq, 11);
	/* ten: fail, since nothing matched */
	reset();
	a_terms(10, "-all");
	r = mailfrom(IP);
	assert_result(r, SPF_FAIL);
	assert_int_equal(r.terms, 10);
	/* ip4 and all are no DNS terms: a match before the 11th counts */
	reset();
	a_terms(11, "-all");
	zone("h3.example.net A 192.0.2.1");
	r = mailfrom(IP);
	assert_result(r, SPF_PASS);
	assert_int_equal(r.terms, 3);
}

/* mx and ptr: one term each; their address lookups are none */
static void
test_mx_ptr(void **state)
{
	char line[128];
	struct res r;
	int i;

	(void)state;
	zone("example.com TXT v=spf1 mx -all\n"
	    "example.com MX 10 mx1.example.com\n"
	    "example.com MX 20 mx2.example.com\n"
	    "example.com MX 30 mx3.example.com\n"
	    "mx1.example.com A 198.51.100.1\n"
	    "mx2.example.com A 198.51.100.2\n"
	    "mx3.example.com A 192.0.2.1\n");
	r = mailfrom(IP);
	assert_result(r, SPF_PASS);
	assert_int_equal(r.terms, 1);
	assert_int_equal(nq, 5);
	assert_int_equal(asked("example.com", DNS_T_MX), 1);
	r = mailfrom("192.0.2.99");
	assert_result(r, SPF_FAIL);
	assert_int_equal(r.terms, 1);
	/* 4.6.4: more than 10 MX records: permerror */
	reset();
	zone("example.com TXT v=spf1 mx:mx.example.net -all");
	for (i = 1; i <= 11; i++) {
		snprintf(line, sizeof(line), "mx.example.net MX %d "
		    "m%d.example.net\nm%d.example.net A 192.0.2.1", i, i, i);
		zone(line);
	}
	r = mailfrom(IP);
	assert_result(r, SPF_PERMERROR);
	/* ten MX records: fine */
	reset();
	zone("example.com TXT v=spf1 mx:mx.example.net -all");
	for (i = 1; i <= 10; i++) {
		snprintf(line, sizeof(line), "mx.example.net MX %d "
		    "m%d.example.net\nm%d.example.net A 198.51.100.%d", i, i,
		    i, i);
		zone(line);
	}
	zone("m10.example.net A 192.0.2.1");
	r = mailfrom(IP);
	assert_result(r, SPF_PASS);
	assert_int_equal(r.terms, 1);

	/* 5.5: ptr, the validated name under the domain; one term */
	reset();
	zone("example.com TXT v=spf1 ptr -all\n"
	    "1.2.0.192.in-addr.arpa PTR other.example.org\n"
	    "1.2.0.192.in-addr.arpa PTR mail.example.com\n"
	    "other.example.org A 192.0.2.1\n"
	    "mail.example.com A 192.0.2.1\n");
	r = mailfrom(IP);
	assert_result(r, SPF_PASS);
	assert_int_equal(r.terms, 1);
	assert_int_equal(asked("1.2.0.192.in-addr.arpa", DNS_T_PTR), 1);
	/* the name under example.com does not map back: fail */
	reset();
	zone("example.com TXT v=spf1 ptr:example.com -all\n"
	    "1.2.0.192.in-addr.arpa PTR other.example.org\n"
	    "1.2.0.192.in-addr.arpa PTR mail.example.com\n"
	    "other.example.org A 192.0.2.1\n"
	    "mail.example.com A 198.51.100.1\n");
	r = mailfrom(IP);
	assert_result(r, SPF_FAIL);
	assert_int_equal(r.terms, 1);
}

/* ----- 4.6.4: two void lookups ----- */

static void
test_void_limit(void **state)
{
	struct res r;

	(void)state;
	/* NXDOMAIN and NODATA: two voids, then a match */
	zone("example.com TXT v=spf1 a:nx.example.net a:nodata.example.net "
	    "ip4:192.0.2.1 -all\n"
	    "nodata.example.net TXT hello\n");
	r = mailfrom(IP);
	assert_result(r, SPF_PASS);
	assert_int_equal(r.voids, 2);
	assert_int_equal(r.terms, 2);
	/* a third (exists: this time): permerror */
	reset();
	zone("example.com TXT v=spf1 a:nx.example.net a:nodata.example.net "
	    "exists:nx2.example.net ip4:192.0.2.1 -all\n"
	    "nodata.example.net TXT hello\n");
	r = mailfrom(IP);
	assert_result(r, SPF_PERMERROR);
	assert_int_equal(r.voids, 3);
	assert_int_equal(r.terms, 3);
	/* voids count across includes */
	reset();
	zone("example.com TXT v=spf1 a:nx.example.net include:i.example.net "
	    "ip4:192.0.2.1 -all\n"
	    "i.example.net TXT v=spf1 mx:nx2.example.net a:nx3.example.net "
	    "-all\n");
	r = mailfrom(IP);
	assert_result(r, SPF_PERMERROR);
	assert_int_equal(r.voids, 3);
	/* lookups that find records are not void, matched or not */
	reset();
	zone("example.com TXT v=spf1 a:h1.example.net a:h2.example.net "
	    "a:h3.example.net -all\n"
	    "h1.example.net A 198.51.100.1\n"
	    "h2.example.net A 198.51.100.2\n"
	    "h3.example.net A 198.51.100.3\n");
	r = mailfrom(IP);
	assert_result(r, SPF_FAIL);
	assert_int_equal(r.voids, 0);
	assert_int_equal(r.terms, 3);
}

/* ----- 7: macros ----- */

#define V6 "2001:db8::25"
#define V6_NIBBLES "2.0.0.1.0.d.b.8.0.0.0.0.0.0.0.0." \
	"0.0.0.0.0.0.0.0.0.0.0.0.0.0.2.5"

static const struct {
	const char *ip, *helo, *sender;
	const char *record;             /* at the sender's (HELO's) domain */
	const char *expands_to;         /* the exists: name it must ask */
} macros[] = {
	{ IP, HELO, SENDER, "exists:%{i}.m.example.net",
	  "192.0.2.1.m.example.net" },
	{ IP, HELO, SENDER, "exists:%{ir}.m.example.net",
	  "1.2.0.192.m.example.net" },
	{ IP, HELO, SENDER, "exists:%{ir}.%{v}.arpa.m.example.net",
	  "1.2.0.192.in-addr.arpa.m.example.net" },
	{ IP, HELO, SENDER, "exists:%{s}.m.example.net",
	  "alice@example.com.m.example.net" },
	{ IP, HELO, SENDER, "exists:%{l}.m.example.net",
	  "alice.m.example.net" },
	{ IP, HELO, "first.last@example.com", "exists:%{l1r}.m.example.net",
	  "first.m.example.net" },
	{ IP, HELO, SENDER, "exists:%{o}.m.example.net",
	  "example.com.m.example.net" },
	{ IP, HELO, SENDER, "exists:%{d}.m.example.net",
	  "example.com.m.example.net" },
	{ IP, HELO, SENDER, "exists:%{h}.m.example.net",
	  "mail.example.org.m.example.net" },
	{ IP, HELO, SENDER, "exists:%{h2}.m.example.net",
	  "example.org.m.example.net" },
	{ IP, HELO, SENDER, "exists:%{d1r}.m.example.net",
	  "example.m.example.net" },
	{ IP, HELO, SENDER, "exists:%{lr-}.m.example.net",
	  "alice.m.example.net" },
	{ IP, HELO, "a-b@example.com", "exists:%{lr-}.m.example.net",
	  "b.a.m.example.net" },
	/* 4.3: no local part: postmaster */
	{ IP, HELO, "example.com", "exists:%{l}.m.example.net",
	  "postmaster.m.example.net" },
	/* 2.3: the HELO identity is postmaster@<HELO name> */
	{ IP, HELO, NULL, "exists:%{l}.%{o}.m.example.net",
	  "postmaster.mail.example.org.m.example.net" },
	{ IP, HELO, NULL, "exists:%{s}.m.example.net",
	  "postmaster@mail.example.org.m.example.net" },
	{ IP, HELO, NULL, "exists:%{d}.m.example.net",
	  "mail.example.org.m.example.net" },
	/* 7.3: IPv6 addresses as nibbles; v is "ip6" */
	{ V6, HELO, SENDER, "exists:%{i}.m.example.net",
	  V6_NIBBLES ".m.example.net" },
	{ V6, HELO, SENDER, "exists:%{v}.m.example.net",
	  "ip6.m.example.net" },
	/* an IPv4-mapped client is IPv4 */
	{ "::ffff:192.0.2.1", HELO, SENDER, "exists:%{i}.%{v}.m.example.net",
	  "192.0.2.1.in-addr.m.example.net" },
	/* literal %% %_ %- */
	{ IP, HELO, SENDER, "exists:a%_b.m.example.net",
	  "a b.m.example.net" },
	{ IP, HELO, SENDER, "exists:a%-b.m.example.net",
	  "a%20b.m.example.net" },
};

static void
test_macros(void **state)
{
	const char *dom, *at;
	char line[512];
	struct res r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(macros) / sizeof(macros[0]); i++) {
		reset();
		at = macros[i].sender ? strrchr(macros[i].sender, '@') : NULL;
		dom = macros[i].sender ? (at ? at + 1 : macros[i].sender) :
		    macros[i].helo;
		snprintf(line, sizeof(line), "%s TXT v=spf1 %s -all", dom,
		    macros[i].record);
		zone(line);
		/* exists: asks for A whatever the client's family (5.7) */
		assert_int_equal(world_add(world, macros[i].expands_to, "A",
		    TTL, "127.0.0.2"), 0);
		r = check(macros[i].ip, macros[i].helo, macros[i].sender);
		if (r.r != SPF_PASS)
			fail_msg("%s: %s, want pass: %s not asked (%u)",
			    macros[i].record, spf_result_str(r.r),
			    macros[i].expands_to, asked(macros[i].expands_to,
			    DNS_T_A));
		assert_int_equal(asked(macros[i].expands_to, DNS_T_A), 1);
		assert_int_equal(r.terms, 1);
		assert_int_equal(nq, 2);
	}
}

/* %{d} in an include and after a redirect; %{p} */
static void
test_macros_domain_p(void **state)
{
	struct res r;

	(void)state;
	/* 5.2: inside an include, d is the included domain */
	zone("example.com TXT v=spf1 include:inc.example.net -all\n"
	    "inc.example.net TXT v=spf1 exists:%{d}.%{o}.m.example.net -all\n"
	    "inc.example.net.example.com.m.example.net A 127.0.0.2\n");
	r = mailfrom(IP);
	assert_result(r, SPF_PASS);
	assert_int_equal(r.terms, 2);
	/* 6.1: after a redirect, d is the target */
	reset();
	zone("example.com TXT v=spf1 redirect=red.example.net\n"
	    "red.example.net TXT v=spf1 exists:%{d}.m.example.net -all\n"
	    "red.example.net.m.example.net A 127.0.0.2\n");
	r = mailfrom(IP);
	assert_result(r, SPF_PASS);
	assert_int_equal(r.terms, 2);

	/* 7.3: p, a validated name of the client (the one under d first) */
	reset();
	zone("example.com TXT v=spf1 exists:%{p}.m.example.net -all\n"
	    "1.2.0.192.in-addr.arpa PTR mail.example.com\n"
	    "mail.example.com A 192.0.2.1\n"
	    "mail.example.com.m.example.net A 127.0.0.2\n");
	r = mailfrom(IP);
	assert_result(r, SPF_PASS);
	assert_int_equal(asked("1.2.0.192.in-addr.arpa", DNS_T_PTR), 1);
	assert_int_equal(asked("mail.example.com.m.example.net", DNS_T_A), 1);
	/* a name that does not map back is not validated: "unknown" */
	reset();
	zone("example.com TXT v=spf1 exists:%{p}.m.example.net -all\n"
	    "1.2.0.192.in-addr.arpa PTR mail.example.com\n"
	    "mail.example.com A 198.51.100.1\n"
	    "mail.example.com.m.example.net A 127.0.0.2\n"
	    "unknown.m.example.net A 127.0.0.3\n");
	r = mailfrom(IP);
	assert_result(r, SPF_PASS);
	assert_int_equal(asked("unknown.m.example.net", DNS_T_A), 1);
	assert_int_equal(asked("mail.example.com.m.example.net", DNS_T_A), 0);
	/* no PTR at all: "unknown" too */
	reset();
	zone("example.com TXT v=spf1 exists:%{p}.m.example.net -all\n"
	    "unknown.m.example.net A 127.0.0.3\n");
	r = mailfrom(IP);
	assert_result(r, SPF_PASS);
	assert_int_equal(asked("unknown.m.example.net", DNS_T_A), 1);
}

/* ----- 6.2: exp= ----- */

static void
test_exp(void **state)
{
	struct res r;

	(void)state;
	zone("example.com TXT v=spf1 ip4:198.51.100.1 -all "
	    "exp=why.example.com\n"
	    "why.example.com TXT %{s} may not send from %{i} "
	    "(%{d}, HELO %{h})\n");
	r = mailfrom(IP);
	assert_result(r, SPF_FAIL);
	assert_string_equal(r.expl, "alice@example.com may not send from "
	    "192.0.2.1 (example.com, HELO mail.example.org)");
	assert_int_equal(r.terms, 0);
	assert_int_equal(r.voids, 0);
	assert_int_equal(asked("why.example.com", DNS_T_TXT), 1);
	assert_int_equal(nq, 2);
	/* no fail, no explanation: not even asked for */
	reset();
	zone("example.com TXT v=spf1 ip4:192.0.2.1 ~all "
	    "exp=why.example.com\n"
	    "why.example.com TXT go away\n");
	r = mailfrom(IP);
	assert_result(r, SPF_PASS);
	assert_false(r.has_expl);
	r = mailfrom("192.0.2.2");
	assert_result(r, SPF_SOFTFAIL);
	assert_false(r.has_expl);
	assert_int_equal(asked("why.example.com", DNS_T_TXT), 0);

	/* 4.6.4: exp= is no DNS term: ten terms, then a fail explained */
	reset();
	a_terms(10, "-all exp=why.example.com");
	zone("why.example.com TXT not from %{i}");
	r = mailfrom(IP);
	assert_result(r, SPF_FAIL);
	assert_int_equal(r.terms, 10);
	assert_string_equal(r.expl, "not from 192.0.2.1");

	/* 6.2: no TXT, or more than one: as if there were no exp= */
	reset();
	zone("example.com TXT v=spf1 -all exp=why.example.com");
	r = mailfrom(IP);
	assert_result(r, SPF_FAIL);
	assert_string_equal(r.expl, "no: 192.0.2.1 for example.com");
	assert_int_equal(asked("why.example.com", DNS_T_TXT), 1);
	reset();
	zone("example.com TXT v=spf1 -all exp=why.example.com\n"
	    "why.example.com TXT one\n"
	    "why.example.com TXT two\n");
	r = mailfrom(IP);
	assert_result(r, SPF_FAIL);
	assert_string_equal(r.expl, "no: 192.0.2.1 for example.com");
	/* a failing server: the same, and the fail stays a fail */
	reset();
	zone("example.com TXT v=spf1 -all exp=why.example.com\n"
	    "why.example.com TXT !servfail\n");
	r = mailfrom(IP);
	assert_result(r, SPF_FAIL);
	assert_string_equal(r.expl, "no: 192.0.2.1 for example.com");

	/* 6.2: an include's exp= is not used ... */
	reset();
	zone("example.com TXT v=spf1 include:inc.example.net -all "
	    "exp=top.example.com\n"
	    "inc.example.net TXT v=spf1 -all exp=inner.example.net\n"
	    "top.example.com TXT top says no\n"
	    "inner.example.net TXT inner says no\n");
	r = mailfrom(IP);
	assert_result(r, SPF_FAIL);
	assert_string_equal(r.expl, "top says no");
	assert_int_equal(asked("inner.example.net", DNS_T_TXT), 0);
	/* ... a redirect's target's is, the redirecting record's is not */
	reset();
	zone("example.com TXT v=spf1 redirect=red.example.net "
	    "exp=top.example.com\n"
	    "red.example.net TXT v=spf1 -all exp=red-exp.example.net\n"
	    "top.example.com TXT top says no\n"
	    "red-exp.example.net TXT %{d} says no\n");
	r = mailfrom(IP);
	assert_result(r, SPF_FAIL);
	assert_string_equal(r.expl, "red.example.net says no");
	assert_int_equal(asked("top.example.com", DNS_T_TXT), 0);
	reset();
	zone("example.com TXT v=spf1 redirect=red.example.net "
	    "exp=top.example.com\n"
	    "red.example.net TXT v=spf1 -all\n"
	    "top.example.com TXT top says no\n");
	r = mailfrom(IP);
	assert_result(r, SPF_FAIL);
	/* the default one, not "top says no" (%{d}: see test_redirect) */
	assert_prefix(r.expl, "no: 192.0.2.1 for ");
	assert_int_equal(asked("top.example.com", DNS_T_TXT), 0);
}

/* ----- records longer than libspf2 can hold ----- */

static void
long_record(int n, const char *tail)
{
	char rec[4096];
	size_t o;
	int i;

	o = (size_t)snprintf(rec, sizeof(rec), "example.com TXT v=spf1");
	for (i = 1; i <= n; i++)
		o += (size_t)snprintf(rec + o, sizeof(rec) - o,
		    " ip4:198.51.100.%d", i);
	snprintf(rec + o, sizeof(rec) - o, " %s", tail);
	assert_true(strlen(rec) > 1000);
	zone(rec);
}

static void
test_long_record(void **state)
{
	struct res r;

	(void)state;
	long_record(100, "-all");
	r = mailfrom(IP);
	assert_result(r, SPF_FAIL);
	assert_int_equal(r.terms, 0);
	assert_string_equal(r.expl, "no: 192.0.2.1 for example.com");
	r = mailfrom("198.51.100.100");         /* the last one */
	assert_result(r, SPF_PASS);
	r = mailfrom("198.51.100.1");
	assert_result(r, SPF_PASS);
	/* ~all at the very end still decides */
	reset();
	long_record(100, "~all");
	r = mailfrom(IP);
	assert_result(r, SPF_SOFTFAIL);
	/* include: after the long part: evaluated, one term */
	reset();
	long_record(100, "include:inc.example.net -all");
	zone("inc.example.net TXT v=spf1 ip4:192.0.2.1 -all");
	r = mailfrom(IP);
	assert_result(r, SPF_PASS);
	assert_int_equal(r.terms, 1);
	r = mailfrom("203.0.113.1");
	assert_result(r, SPF_FAIL);
	assert_int_equal(r.terms, 1);
	/* a: after the long part is still of the record's own domain */
	reset();
	long_record(100, "a -all");
	zone("example.com A 192.0.2.1");
	r = mailfrom(IP);
	assert_result(r, SPF_PASS);
	assert_int_equal(r.terms, 1);
	assert_int_equal(asked("example.com", DNS_T_A), 1);
}

/* ----- 2.6.6: temperror ----- */

static void
test_temperror(void **state)
{
	static const char *const broken[] = {
		/* a: */
		"example.com TXT v=spf1 a:h.example.net -all\n"
		"h.example.net A !servfail\n",
		"example.com TXT v=spf1 a:h.example.net -all\n"
		"h.example.net A !timeout\n",
		"example.com TXT v=spf1 a:h.example.net -all\n"
		"h.example.net A !refused\n",
		/* exists: */
		"example.com TXT v=spf1 exists:h.example.net -all\n"
		"h.example.net A !servfail\n",
		/* mx: the MX lookup, then a host's address */
		"example.com TXT v=spf1 mx -all\n"
		"example.com MX !servfail\n",
		"example.com TXT v=spf1 mx -all\n"
		"example.com MX 10 mx.example.com\n"
		"mx.example.com A !servfail\n",
		/* include: */
		"example.com TXT v=spf1 include:i.example.net -all\n"
		"i.example.net TXT !timeout\n",
		"example.com TXT v=spf1 include:i.example.net -all\n"
		"i.example.net TXT v=spf1 a:h.example.net -all\n"
		"h.example.net A !servfail\n",
	};
	struct res r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
		reset();
		zone(broken[i]);
		r = mailfrom(IP);
		if (r.r != SPF_TEMPERROR)
			fail_msg("%s: %s, want temperror", broken[i],
			    spf_result_str(r.r));
	}
	/* the record itself: the problem names it */
	reset();
	zone("example.com TXT !servfail");
	r = mailfrom(IP);
	assert_result(r, SPF_TEMPERROR);
	assert_non_null(strstr(r.problem, "example.com"));
	/* a match before the broken term: pass (evaluation stops there) */
	reset();
	zone("example.com TXT v=spf1 ip4:192.0.2.1 a:h.example.net -all\n"
	    "h.example.net A !servfail\n");
	r = mailfrom(IP);
	assert_result(r, SPF_PASS);
	/* a match in the include before the broken one */
	reset();
	zone("example.com TXT v=spf1 include:ok.example.net "
	    "include:i.example.net -all\n"
	    "ok.example.net TXT v=spf1 ip4:192.0.2.1 -all\n"
	    "i.example.net TXT !servfail\n");
	r = mailfrom(IP);
	assert_result(r, SPF_PASS);
	assert_int_equal(r.terms, 1);
	r = mailfrom("192.0.2.2");
	assert_result(r, SPF_TEMPERROR);
}

/* ----- lookup_time ----- */

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
test_deadline(void **state)
{
	struct res r;
	double t0, dt;

	(void)state;
	/* an include that never comes back */
	zone("example.com TXT v=spf1 include:slow.example.net -all\n"
	    "slow.example.net TXT !hang\n");
	t0 = now_s();
	r = check_ms(IP, HELO, SENDER, 300);
	dt = now_s() - t0;
	assert_result(r, SPF_TEMPERROR);
	assert_true(dt >= 0.29);
	assert_true(dt < 3);
	assert_int_equal(asked("slow.example.net", DNS_T_TXT), 1);
	/* the record itself */
	reset();
	zone("example.com TXT !hang");
	r = check_ms(IP, HELO, SENDER, 200);
	assert_result(r, SPF_TEMPERROR);
	/* a slow lookup the result does not need does not hold it up */
	reset();
	zone("example.com TXT v=spf1 ip4:192.0.2.1 a:slow.example.net -all\n"
	    "slow.example.net A !hang\n");
	t0 = now_s();
	r = check_ms(IP, HELO, SENDER, 2000);
	assert_result(r, SPF_PASS);
	assert_true(now_s() - t0 < 1);
}

/* ----- the cache ----- */

static void
test_cache(void **state)
{
	struct res r1, r2;

	(void)state;
	zone("example.com TXT v=spf1 include:a.example.net mx -all\n"
	    "a.example.net TXT v=spf1 ip4:198.51.100.0/24 -all\n"
	    "example.com MX 10 mx.example.com\n"
	    "mx.example.com A 192.0.2.1\n");
	r1 = mailfrom(IP);
	assert_result(r1, SPF_PASS);
	assert_int_equal(r1.terms, 2);
	assert_int_equal(nq, 4);
	/* the second check: every answer from the cache */
	r2 = mailfrom(IP);
	assert_int_equal(nq, 4);
	assert_int_equal(r2.r, r1.r);
	assert_int_equal(r2.terms, r1.terms);
	assert_int_equal(r2.voids, r1.voids);
	assert_int_equal(r2.queries, r1.queries);
	assert_int_equal(r2.queries, 4);
	/* spf.h: only a miss costs another evaluation; a hit is none */
	assert_int_equal(r2.runs, 1);
	assert_true(r1.runs > 1);
	/* another client, the same names: nothing asked either */
	r2 = mailfrom("203.0.113.1");
	assert_result(r2, SPF_FAIL);
	assert_int_equal(nq, 4);
	/* negative answers and failures are kept too */
	reset();
	zone("example.com TXT v=spf1 a:nx.example.net include:i.example.net "
	    "-all\n"
	    "i.example.net TXT !servfail\n");
	r1 = mailfrom(IP);
	assert_result(r1, SPF_TEMPERROR);
	assert_int_equal(nq, 3);
	r2 = mailfrom(IP);
	assert_result(r2, SPF_TEMPERROR);
	assert_int_equal(r2.voids, r1.voids);
	assert_int_equal(r2.voids, 1);
	assert_int_equal(nq, 3);
	/* dns_flush(): asked again */
	dns_flush();
	r2 = mailfrom(IP);
	assert_result(r2, SPF_TEMPERROR);
	assert_int_equal(nq, 6);
}

/* ----- CNAMEs: an answer lives no longer than the CNAME to it ----- */

static void
test_cname_ttl(void **state)
{
	struct timespec ts = { 1, 200 * 1000000L };
	struct res r;

	(void)state;
	zone("example.com CNAME1 spf.example.net\n"
	    "spf.example.net TXT v=spf1 ip4:192.0.2.1 -all\n"
	    "example.org CNAME3600 spf.example.org\n"
	    "spf.example.org TXT v=spf1 ip4:192.0.2.1 -all\n");
	r = check(IP, HELO, "a@example.com");
	assert_result(r, SPF_PASS);
	assert_int_equal(r.terms, 0);
	r = check(IP, HELO, "a@example.org");
	assert_result(r, SPF_PASS);
	assert_int_equal(nq, 2);                /* one reply each */
	assert_int_equal(asked("spf.example.net", DNS_T_TXT), 0);
	/* at once: both cached */
	r = check(IP, HELO, "a@example.com");
	assert_result(r, SPF_PASS);
	r = check(IP, HELO, "a@example.org");
	assert_int_equal(nq, 2);
	/* 1.2 s on: the 1 s CNAME is gone, the 3600 s one is not */
	nanosleep(&ts, NULL);
	r = check(IP, HELO, "a@example.com");
	assert_result(r, SPF_PASS);
	assert_int_equal(asked("example.com", DNS_T_TXT), 2);
	r = check(IP, HELO, "a@example.org");
	assert_result(r, SPF_PASS);
	assert_int_equal(asked("example.org", DNS_T_TXT), 1);
	assert_int_equal(nq, 3);
	/* a CNAME to a name with no record: none */
	reset();
	zone("example.com CNAME3600 nothing.example.net\n");
	r = mailfrom(IP);
	assert_result(r, SPF_NONE);
}

/* ----- IPv6 ----- */

static void
test_ipv6(void **state)
{
	struct res r;

	(void)state;
	zone("example.com TXT v=spf1 ip6:2001:db8::/32 -all");
	r = mailfrom(V6);
	assert_result(r, SPF_PASS);
	r = mailfrom("2001:db9::1");
	assert_result(r, SPF_FAIL);
	assert_string_equal(r.expl, "no: 2.0.0.1.0.d.b.9.0.0.0.0.0.0.0.0."
	    "0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1 for example.com");
	/* an IPv4 client never matches ip6: */
	r = mailfrom(IP);
	assert_result(r, SPF_FAIL);
	/* a: asks AAAA for IPv6 clients, A for IPv4 ones */
	reset();
	zone("example.com TXT v=spf1 a:h.example.net -all\n"
	    "h.example.net AAAA 2001:db8::25\n"
	    "h.example.net A 192.0.2.1\n");
	r = mailfrom(V6);
	assert_result(r, SPF_PASS);
	assert_int_equal(asked("h.example.net", DNS_T_AAAA), 1);
	assert_int_equal(asked("h.example.net", DNS_T_A), 0);
	r = mailfrom(IP);
	assert_result(r, SPF_PASS);
	assert_int_equal(asked("h.example.net", DNS_T_A), 1);
	r = mailfrom("2001:db8::26");
	assert_result(r, SPF_FAIL);
	/* an IPv4-mapped client is IPv4: ip4 matches, A is asked */
	r = mailfrom("::ffff:192.0.2.1");
	assert_result(r, SPF_PASS);
	reset();
	zone("example.com TXT v=spf1 ip4:192.0.2.1 -all");
	r = mailfrom("::ffff:192.0.2.1");
	assert_result(r, SPF_PASS);
	r = mailfrom("::ffff:192.0.2.2");
	assert_result(r, SPF_FAIL);
	assert_string_equal(r.expl, "no: 192.0.2.2 for example.com");
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_results),
		T(test_helo),
		T(test_include),
		T(test_include_results),
		T(test_redirect),
		T(test_term_limit),
		T(test_mx_ptr),
		T(test_void_limit),
		T(test_macros),
		T(test_macros_domain_p),
		T(test_exp),
		T(test_long_record),
		T(test_temperror),
		T(test_deadline),
		T(test_cache),
		T(test_cname_ttl),
		T(test_ipv6),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
