/*
 * test_spf - src/spf.c (over src/dns.c and libspf2) against scripted DNS
 * answers: dns.c's upstream seam (dns_set_upstream) answers from a world
 * (tests/diff/world.c) in wire format, through tests/unit/seam.c.  No
 * process, no socket.
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
 *   memo           a record kept with its answer serves its own address
 *                  family only; records with macros or exp= are made
 *                  again for each check
 *   cname_ttl      an answer behind a CNAME lives as long as the CNAME
 *   ipv6           ip6:, a: with AAAA, IPv4-mapped clients are IPv4
 *
 * Each test is a script (seam.h): zones, checks and what must come of
 * them.  A check is "check [ip [helo [sender]]] [ms=lookup_time] ->
 * expected", by default of 192.0.2.1, mail.example.org,
 * alice@example.com and 20000 ms; sender "-" is the HELO identity.  Its
 * fields are result, identity, domain, expl, problem, terms
 * (DNS-querying terms), voids, runs and queries.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "spf.h"
#include "../diff/world.h"
#include "seam.h"

#define DEFAULT_EXP "no: %{i} for %{d}" /* our default_explanation */
/* what DEFAULT_EXP says of IP and example.com */
#define NO_IP "expl=\"no: 192.0.2.1 for example.com\""

#define IP "192.0.2.1"
#define HELO "mail.example.org"
#define SENDER "alice@example.com"
#define V6 "2001:db8::25"

/* ----- zone generators ----- */

/*
 * "@chain N": example.com includes l1.example.net, l1 includes l2 ...
 * lN passes IP
 */
static void
chain(int n)
{
	char line[256];
	int i;

	seam_zone("example.com TXT v=spf1 include:l1.example.net -all");
	for (i = 1; i < n; i++) {
		snprintf(line, sizeof(line), "l%d.example.net TXT v=spf1 "
		    "include:l%d.example.net -all", i, i + 1);
		seam_zone(line);
	}
	snprintf(line, sizeof(line), "l%d.example.net TXT v=spf1 "
	    "ip4:192.0.2.1 -all", n);
	seam_zone(line);
}

/*
 * "@a N tail": example.com's record of N "a:hK.example.net" terms, each
 * host with an address not the client's, then tail.  "@ip4 N tail": N
 * terms "ip4:198.51.100.K" then tail, longer than libspf2 compiles.
 */
static void
terms(const char *kind, int n, const char *tail)
{
	char rec[4096], line[128];
	size_t o;
	int i;

	o = (size_t)snprintf(rec, sizeof(rec), "example.com TXT v=spf1");
	for (i = 1; i <= n; i++) {
		if (strcmp(kind, "ip4") == 0) {
			o += (size_t)snprintf(rec + o, sizeof(rec) - o,
			    " ip4:198.51.100.%d", i);
			continue;
		}
		o += (size_t)snprintf(rec + o, sizeof(rec) - o,
		    " a:h%d.example.net", i);
		snprintf(line, sizeof(line), "h%d.example.net A 198.51.100.%d",
		    i, i);
		seam_zone(line);
	}
	snprintf(rec + o, sizeof(rec) - o, " %s", tail);
	if (strcmp(kind, "ip4") == 0)
		assert_true(strlen(rec) > 1000);
	seam_zone(rec);
}

/*
 * "@mx N addr": N MX records of mx.example.net, mK.example.net, each
 * with addr ("-": 198.51.100.K)
 */
static void
mx_hosts(int n, const char *addr)
{
	char line[256];
	int i;

	for (i = 1; i <= n; i++) {
		snprintf(line, sizeof(line), "mx.example.net MX %d "
		    "m%d.example.net\nm%d.example.net A ", i, i, i);
		if (strcmp(addr, "-") == 0)
			snprintf(line + strlen(line), sizeof(line) -
			    strlen(line), "198.51.100.%d", i);
		else
			snprintf(line + strlen(line), sizeof(line) -
			    strlen(line), "%s", addr);
		seam_zone(line);
	}
}

static void
gen(const char *line)
{
	char kind[16];
	int n, off = 0;

	if (sscanf(line, "%15s %d %n", kind, &n, &off) < 2 || off == 0)
		fail_msg("no generator \"@%s\"", line);
	if (strcmp(kind, "chain") == 0)
		chain(n);
	else if (strcmp(kind, "a") == 0 || strcmp(kind, "ip4") == 0)
		terms(kind, n, line + off);
	else if (strcmp(kind, "mx") == 0)
		mx_hosts(n, line + off);
	else
		fail_msg("no generator \"@%s\"", line);
}

static const char *const settings[] = {
	"default_explanation", DEFAULT_EXP, NULL
};
static struct seam_opts opts = { "TEST_SPF_DEBUG", 1, gen, settings };

/* ----- one check, run to its done() ----- */

static void
on_done(void *arg, const struct spf_outcome *o)
{
	seam_record(arg, "result=%s identity=%s domain=%s expl=%s problem=%s "
	    "terms=%u voids=%u runs=%u queries=%u", spf_result_str(o->result),
	    o->identity, o->domain, o->explanation, o->problem, o->dns_terms,
	    o->void_lookups, o->runs, o->queries);
}

static void
check(const char *run, struct seam_res *r)
{
	char w[3][256] = { IP, HELO, SENDER }, word[256], what[300];
	const char *sender, *result;
	unsigned ms = 20000;
	struct spf_check *c;
	int off, pos = 0, k = 0;

	while (sscanf(run + pos, "%255s%n", word, &off) == 1) {
		pos += off;
		if (sscanf(word, "ms=%u", &ms) == 1)
			continue;
		assert_true(k < 3);
		snprintf(w[k++], sizeof(w[0]), "%s", word);
	}
	sender = strcmp(w[2], "-") == 0 ? NULL : w[2];
	seam_begin(r);
	assert_non_null(c = spf_check_start(w[0], w[1], sender, ms, on_done,
	    r));
	if (seam_wait(r) < 0) {
		spf_check_cancel(c);
		fail_msg("spf check %s: no result in %d s", run,
		    SEAM_SAFETY_S);
	}
	/* spf.h: the identity; a fail explained, an error's problem */
	snprintf(what, sizeof(what), "spf.h, check %s", run);
	seam_expect(r, sender ? "identity=mailfrom" : "identity=helo", what);
	result = seam_get(r, "result");
	if (strcmp(result, "fail") == 0)
		seam_expect(r, "expl!=\"\"", what);
	if (strcmp(result, "permerror") == 0 ||
	    strcmp(result, "temperror") == 0)
		seam_expect(r, "problem!=\"\"", what);
}

/* ----- results of one record ----- */

/*
 * One question, no DNS term; no exp=: a fail has the default
 * explanation, expanded
 */
static const char results[] =
	"also -> domain=example.com terms=0 voids=0 nq=1 example.com/TXT=1 "
	"queries=1\n"
	/* 5.6: ip4, with and without a prefix length */
	"example.com TXT v=spf1 ip4:192.0.2.1 -all\n"
	"check -> pass !expl\n"
	"example.com TXT v=spf1 ip4:192.0.2.0/24 -all\n"
	"check -> pass !expl\n"
	"example.com TXT v=spf1 ip4:192.0.2.2/32 -all\n"
	"check -> fail " NO_IP "\n"
	/* 4.6.2: the qualifier of the mechanism that matched */
	"example.com TXT v=spf1 ip4:198.51.100.1 -all\n"
	"check -> fail " NO_IP "\n"
	"example.com TXT v=spf1 ip4:198.51.100.1 ~all\n"
	"check -> softfail !expl\n"
	"example.com TXT v=spf1 ip4:198.51.100.1 ?all\n"
	"check -> neutral !expl\n"
	"example.com TXT v=spf1 -ip4:192.0.2.1 +all\n"
	"check -> fail " NO_IP "\n"
	"example.com TXT v=spf1 ~ip4:192.0.2.1 +all\n"
	"check -> softfail !expl\n"
	"example.com TXT v=spf1 +all\n"
	"check -> pass !expl\n"
	/* 4.7: nothing matched, no redirect: neutral */
	"example.com TXT v=spf1 ip4:198.51.100.1\n"
	"check -> neutral !expl\n"
	"example.com TXT v=spf1\n"
	"check -> neutral !expl\n"
	/* 4.5: no SPF record: none; other TXT records are not SPF */
	"example.com TXT !nxdomain\n"
	"check -> none !expl\n"
	"example.com A 192.0.2.1\n"
	"check -> none !expl\n"
	"example.com TXT site-verification=abc\n"
	"check -> none !expl\n"
	"example.com TXT v=spf10 ip4:192.0.2.1 -all\n"
	"check -> none !expl\n"
	"example.com TXT hello\n"
	"example.com TXT v=spf1 ip4:192.0.2.1 -all\n"
	"check -> pass !expl\n"
	/* 4.5: two SPF records */
	"example.com TXT v=spf1 ip4:192.0.2.1 -all\n"
	"example.com TXT v=spf1 -all\n"
	"check -> permerror !expl\n"
	/* 4.6.1, 6: unknown mechanism permerror, unknown modifier ignored */
	"example.com TXT v=spf1 frob:x ip4:192.0.2.1 -all\n"
	"check -> permerror !expl\n"
	"example.com TXT v=spf1 ip4:192.0.2.1 frob=x -all\n"
	"check -> pass !expl\n"
	"example.com TXT v=spf1 ip4:192.0.2 -all\n"
	"check -> permerror !expl\n"
	/* 4.4: the record's server fails: temperror */
	"example.com TXT !servfail\n"
	"check -> temperror !expl\n"
	"example.com TXT !refused\n"
	"check -> temperror !expl\n"
	"example.com TXT !timeout\n"
	"check -> temperror !expl\n";
SEAM_TEST(test_results, results, check)

/* ----- HELO ----- */

static const char helo[] =
	/* 2.3: the HELO name is the domain; "a" is its own A */
	"mail.example.org TXT v=spf1 a -all\n"
	"mail.example.org A 192.0.2.1\n"
	"example.com TXT v=spf1 -all\n"
	"check " IP " " HELO " - -> pass identity=helo domain=mail.example.org "
	"terms=1 nq=2 example.com/TXT=0 mail.example.org/TXT=1 "
	"mail.example.org/A=1\n"
	"check 192.0.2.2 " HELO " - -> fail expl=\"no: 192.0.2.2 for "
	"mail.example.org\"\n"
	/* the same check of MAIL FROM: its domain's record */
	"check -> fail identity=mailfrom domain=example.com\n"
	/* one final dot is the same name */
	"check " IP " mail.example.org. - -> pass domain=mail.example.org\n"
	/* 4.3: not a multi-label domain name: none, nothing asked */
	"localhost TXT v=spf1 +all\n"
	"example.com TXT v=spf1 +all\n"
	"check " IP " localhost - -> none\n"
	"check " IP " " HELO " alice@localhost -> none\n"
	"check " IP " a..example.com - -> none nq=0\n";
SEAM_TEST(test_helo, helo, check)

/* ----- include ----- */

#define INCLUDES \
	"example.com TXT v=spf1 include:a.example.net " \
	"include:b.example.net -all\n" \
	"a.example.net TXT v=spf1 ip4:198.51.100.0/24 -all\n" \
	"b.example.net TXT v=spf1 include:c.example.net -all\n" \
	"c.example.net TXT v=spf1 ip4:192.0.2.0/24 -all"

static const char include[] =
	INCLUDES "\n"
	"check -> pass terms=3 voids=0 nq=4 queries=4 c.example.net/TXT=1\n"
	INCLUDES "\n"
	"check 198.51.100.7 -> pass\n"
	"check 203.0.113.1 -> fail terms=3 expl=\"no: 203.0.113.1 for "
	"example.com\"\n";
SEAM_TEST(test_include, include, check)

/* 5.2: what an include's result makes of "v=spf1 ~include:... -all" */
#define INC "example.com TXT v=spf1 ~include:inc.example.net -all\n"

static const char include_results[] =
	"also -> terms=1 nq=2\n"
	/* a match */
	INC "inc.example.net TXT v=spf1 +all\n"
	"check -> softfail\n"
	/* no match */
	INC "inc.example.net TXT v=spf1 -all\n"
	"check -> fail\n"
	INC "inc.example.net TXT v=spf1 ~all\n"
	"check -> fail\n"
	INC "inc.example.net TXT v=spf1 ?all\n"
	"check -> fail\n"
	INC "inc.example.net TXT v=spf1\n"
	"check -> fail\n"
	INC "inc.example.net TXT !servfail\n"
	"check -> temperror\n"
	INC "inc.example.net TXT !timeout\n"
	"check -> temperror\n"
	INC "inc.example.net TXT v=spf1 frob:x -all\n"
	"check -> permerror\n"
	/* none */
	INC "inc.example.net TXT !nxdomain\n"
	"check -> permerror\n"
	INC "inc.example.net TXT not spf\n"
	"check -> permerror\n";
SEAM_TEST(test_include_results, include_results, check)

/* ----- redirect ----- */

static const char redirect[] =
	"example.com TXT v=spf1 redirect=_spf.example.net\n"
	"_spf.example.net TXT v=spf1 ip4:192.0.2.1 -all\n"
	"check -> pass terms=1 nq=2\n"
	/*
	 * The default explanation.  Its %{d} is left open here: spf.c
	 * expands it with the sender's domain when no exp= was met, but
	 * with the target's when the target's exp= finds no TXT record; RFC
	 * 7208 7.3 makes d the current domain, the target (6.1).  The
	 * domain checked is still the sender's.
	 */
	"check 192.0.2.9 -> fail terms=1 domain=example.com "
	"expl^=\"no: 192.0.2.9 for \"\n"
	/* 6.1: ignored when "all" is there, and when something matched */
	"example.com TXT v=spf1 -all redirect=_spf.example.net\n"
	"_spf.example.net TXT v=spf1 +all\n"
	"check -> fail terms=0\n"
	"example.com TXT v=spf1 ip4:192.0.2.1 "
	"redirect=_spf.example.net\n"
	"_spf.example.net TXT v=spf1 -all\n"
	"check -> pass terms=0\n"
	/* 6.1: a target with no SPF record is permerror */
	"example.com TXT v=spf1 redirect=_spf.example.net\n"
	"_spf.example.net A 192.0.2.1\n"
	"check -> permerror terms=1\n"
	/* 6: redirect= twice is a syntax error */
	"example.com TXT v=spf1 redirect=a.example.net "
	"redirect=b.example.net\n"
	"a.example.net TXT v=spf1 +all\n"
	"b.example.net TXT v=spf1 +all\n"
	"check -> permerror\n"
	/* the target's server fails: temperror */
	"example.com TXT v=spf1 redirect=_spf.example.net\n"
	"_spf.example.net TXT !servfail\n"
	"check -> temperror\n";
SEAM_TEST(test_redirect, redirect, check)

/* ----- 4.6.4: ten DNS-querying terms ----- */

static const char term_limit[] =
	/* ten includes deep: pass */
	"@chain 10\n"
	"check -> pass terms=10 nq=11\n"
	/* eleven: permerror, and the 11th is never looked up */
	"@chain 11\n"
	"check -> permerror terms=11 nq=11 l10.example.net/TXT=1 "
	"l11.example.net/TXT=0\n"
	/* nine a: and a redirect: ten terms */
	"@a 9 redirect=r.example.net\n"
	"r.example.net TXT v=spf1 ip4:192.0.2.1 -all\n"
	"check -> pass terms=10 voids=0 nq=11\n"
	/* ten a: and a redirect: the redirect is the 11th */
	"@a 10 redirect=r.example.net\n"
	"r.example.net TXT v=spf1 ip4:192.0.2.1 -all\n"
	"check -> permerror terms=11 r.example.net/TXT=0\n"
	/* eleven a: terms, the match after them: permerror */
	"@a 11 ip4:192.0.2.1 -all\n"
	"check -> permerror nq=11 h10.example.net/A=1 h11.example.net/A=0\n"
	/* ten: fail, since nothing matched */
	"@a 10 -all\n"
	"check -> fail terms=10\n"
	/* ip4 and all are no DNS terms: a match before the 11th counts */
	"@a 11 -all\n"
	"h3.example.net A 192.0.2.1\n"
	"check -> pass terms=3\n";
SEAM_TEST(test_term_limit, term_limit, check)

/* mx and ptr: one term each; their address lookups are none */
static const char mx_ptr[] =
	"example.com TXT v=spf1 mx -all\n"
	"example.com MX 10 mx1.example.com\n"
	"example.com MX 20 mx2.example.com\n"
	"example.com MX 30 mx3.example.com\n"
	"mx1.example.com A 198.51.100.1\n"
	"mx2.example.com A 198.51.100.2\n"
	"mx3.example.com A 192.0.2.1\n"
	"check -> pass terms=1 nq=5 example.com/MX=1\n"
	"check 192.0.2.99 -> fail terms=1\n"
	/* 4.6.4: more than 10 MX records: permerror */
	"example.com TXT v=spf1 mx:mx.example.net -all\n"
	"@mx 11 192.0.2.1\n"
	"check -> permerror\n"
	/* ten MX records: fine */
	"example.com TXT v=spf1 mx:mx.example.net -all\n"
	"@mx 10 -\n"
	"m10.example.net A 192.0.2.1\n"
	"check -> pass terms=1\n"
	/* 5.5: ptr, the validated name under the domain; one term */
	"example.com TXT v=spf1 ptr -all\n"
	"1.2.0.192.in-addr.arpa PTR other.example.org\n"
	"1.2.0.192.in-addr.arpa PTR mail.example.com\n"
	"other.example.org A 192.0.2.1\n"
	"mail.example.com A 192.0.2.1\n"
	"check -> pass terms=1 1.2.0.192.in-addr.arpa/PTR=1\n"
	/* the name under example.com does not map back: fail */
	"example.com TXT v=spf1 ptr:example.com -all\n"
	"1.2.0.192.in-addr.arpa PTR other.example.org\n"
	"1.2.0.192.in-addr.arpa PTR mail.example.com\n"
	"other.example.org A 192.0.2.1\n"
	"mail.example.com A 198.51.100.1\n"
	"check -> fail terms=1\n";
SEAM_TEST(test_mx_ptr, mx_ptr, check)

/* ----- 4.6.4: two void lookups ----- */

static const char void_limit[] =
	/* NXDOMAIN and NODATA: two voids, then a match */
	"example.com TXT v=spf1 a:nx.example.net "
	"a:nodata.example.net ip4:192.0.2.1 -all\n"
	"nodata.example.net TXT hello\n"
	"check -> pass voids=2 terms=2\n"
	/* a third (exists: this time): permerror */
	"example.com TXT v=spf1 a:nx.example.net "
	"a:nodata.example.net exists:nx2.example.net "
	"ip4:192.0.2.1 -all\n"
	"nodata.example.net TXT hello\n"
	"check -> permerror voids=3 terms=3\n"
	/* voids count across includes */
	"example.com TXT v=spf1 a:nx.example.net "
	"include:i.example.net ip4:192.0.2.1 -all\n"
	"i.example.net TXT v=spf1 mx:nx2.example.net "
	"a:nx3.example.net -all\n"
	"check -> permerror voids=3\n"
	/* lookups that find records are not void, matched or not */
	"example.com TXT v=spf1 a:h1.example.net a:h2.example.net "
	"a:h3.example.net -all\n"
	"h1.example.net A 198.51.100.1\n"
	"h2.example.net A 198.51.100.2\n"
	"h3.example.net A 198.51.100.3\n"
	"check -> fail voids=0 terms=3\n";
SEAM_TEST(test_void_limit, void_limit, check)

/* ----- 7: macros ----- */

/*
 * A record of one exists: term and a check: the name the term must ask
 * for (an A record there makes the check pass)
 */
static const struct {
	const char *record, *run, *expands_to;
} macros[] = {
	{ "example.com TXT v=spf1 exists:%{i}.m.example.net -all", "",
	  "192.0.2.1.m.example.net" },
	{ "example.com TXT v=spf1 exists:%{ir}.m.example.net -all", "",
	  "1.2.0.192.m.example.net" },
	{ "example.com TXT v=spf1 exists:%{ir}.%{v}.arpa.m.example.net -all",
	  "", "1.2.0.192.in-addr.arpa.m.example.net" },
	{ "example.com TXT v=spf1 exists:%{s}.m.example.net -all", "",
	  "alice@example.com.m.example.net" },
	{ "example.com TXT v=spf1 exists:%{l}.m.example.net -all", "",
	  "alice.m.example.net" },
	{ "example.com TXT v=spf1 exists:%{l1r}.m.example.net -all",
	  "192.0.2.1 mail.example.org first.last@example.com",
	  "first.m.example.net" },
	{ "example.com TXT v=spf1 exists:%{o}.m.example.net -all", "",
	  "example.com.m.example.net" },
	{ "example.com TXT v=spf1 exists:%{d}.m.example.net -all", "",
	  "example.com.m.example.net" },
	{ "example.com TXT v=spf1 exists:%{h}.m.example.net -all", "",
	  "mail.example.org.m.example.net" },
	{ "example.com TXT v=spf1 exists:%{h2}.m.example.net -all", "",
	  "example.org.m.example.net" },
	{ "example.com TXT v=spf1 exists:%{d1r}.m.example.net -all", "",
	  "example.m.example.net" },
	{ "example.com TXT v=spf1 exists:%{lr-}.m.example.net -all", "",
	  "alice.m.example.net" },
	{ "example.com TXT v=spf1 exists:%{lr-}.m.example.net -all",
	  "192.0.2.1 mail.example.org a-b@example.com",
	  "b.a.m.example.net" },
	/* 4.3: no local part: postmaster */
	{ "example.com TXT v=spf1 exists:%{l}.m.example.net -all",
	  "192.0.2.1 mail.example.org example.com",
	  "postmaster.m.example.net" },
	/* 2.3: the HELO identity is postmaster@<HELO name> */
	{ "mail.example.org TXT v=spf1 exists:%{l}.%{o}.m.example.net -all",
	  "192.0.2.1 mail.example.org -",
	  "postmaster.mail.example.org.m.example.net" },
	{ "mail.example.org TXT v=spf1 exists:%{s}.m.example.net -all",
	  "192.0.2.1 mail.example.org -",
	  "postmaster@mail.example.org.m.example.net" },
	{ "mail.example.org TXT v=spf1 exists:%{d}.m.example.net -all",
	  "192.0.2.1 mail.example.org -",
	  "mail.example.org.m.example.net" },
	/* 7.3: IPv6 addresses as nibbles; v is "ip6" */
	{ "example.com TXT v=spf1 exists:%{i}.m.example.net -all",
	  "2001:db8::25", "2.0.0.1.0.d.b.8.0.0.0.0.0.0.0.0."
	  "0.0.0.0.0.0.0.0.0.0.0.0.0.0.2.5.m.example.net" },
	{ "example.com TXT v=spf1 exists:%{v}.m.example.net -all",
	  "2001:db8::25", "ip6.m.example.net" },
	/* an IPv4-mapped client is IPv4 */
	{ "example.com TXT v=spf1 exists:%{i}.%{v}.m.example.net -all",
	  "::ffff:192.0.2.1", "192.0.2.1.in-addr.m.example.net" },
	/* literal %% %_ %- */
	{ "example.com TXT v=spf1 exists:a%_b.m.example.net -all", "",
	  "a b.m.example.net" },
	{ "example.com TXT v=spf1 exists:a%-b.m.example.net -all", "",
	  "a%20b.m.example.net" },
};

static void
test_macros(void **state)
{
	char want[512], what[512];
	struct seam_res r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(macros) / sizeof(macros[0]); i++) {
		seam_reset();
		seam_zone(macros[i].record);
		/* exists: asks for A whatever the client's family (5.7) */
		assert_int_equal(world_add(seam_world, macros[i].expands_to,
		    "A", SEAM_TTL, "127.0.0.2"), 0);
		check(macros[i].run, &r);
		snprintf(want, sizeof(want), "pass \"%s/A=1\" terms=1 nq=2",
		    macros[i].expands_to);
		snprintf(what, sizeof(what), "macros[%zu] (%s | %s)", i,
		    macros[i].record, macros[i].run);
		seam_expect(&r, want, what);
	}
}

/* %{d} in an include and after a redirect; %{p} */
static const char macros_domain_p[] =
	/* 5.2: inside an include, d is the included domain */
	"example.com TXT v=spf1 include:inc.example.net -all\n"
	"inc.example.net TXT v=spf1 "
	"exists:%{d}.%{o}.m.example.net -all\n"
	"inc.example.net.example.com.m.example.net A 127.0.0.2\n"
	"check -> pass terms=2\n"
	/* 6.1: after a redirect, d is the target */
	"example.com TXT v=spf1 redirect=red.example.net\n"
	"red.example.net TXT v=spf1 exists:%{d}.m.example.net -all\n"
	"red.example.net.m.example.net A 127.0.0.2\n"
	"check -> pass terms=2\n"
	/* 7.3: p, a validated name of the client (the one under d first) */
	"example.com TXT v=spf1 exists:%{p}.m.example.net -all\n"
	"1.2.0.192.in-addr.arpa PTR mail.example.com\n"
	"mail.example.com A 192.0.2.1\n"
	"mail.example.com.m.example.net A 127.0.0.2\n"
	"check -> pass 1.2.0.192.in-addr.arpa/PTR=1 "
	"mail.example.com.m.example.net/A=1\n"
	/* a name that does not map back is not validated: "unknown" */
	"example.com TXT v=spf1 exists:%{p}.m.example.net -all\n"
	"1.2.0.192.in-addr.arpa PTR mail.example.com\n"
	"mail.example.com A 198.51.100.1\n"
	"mail.example.com.m.example.net A 127.0.0.2\n"
	"unknown.m.example.net A 127.0.0.3\n"
	"check -> pass unknown.m.example.net/A=1 "
	"mail.example.com.m.example.net/A=0\n"
	/* no PTR at all: "unknown" too */
	"example.com TXT v=spf1 exists:%{p}.m.example.net -all\n"
	"unknown.m.example.net A 127.0.0.3\n"
	"check -> pass unknown.m.example.net/A=1\n";
SEAM_TEST(test_macros_domain_p, macros_domain_p, check)

/* ----- 6.2: exp= ----- */

static const char explanation[] =
	"example.com TXT v=spf1 ip4:198.51.100.1 -all "
	"exp=why.example.com\n"
	"why.example.com TXT %{s} may not send from %{i} "
	"(%{d}, HELO %{h})\n"
	"check -> fail terms=0 voids=0 nq=2 why.example.com/TXT=1 "
	"expl=\"alice@example.com may not send from 192.0.2.1 (example.com, "
	"HELO mail.example.org)\"\n"
	/* no fail, no explanation: not even asked for */
	"example.com TXT v=spf1 ip4:192.0.2.1 ~all "
	"exp=why.example.com\n"
	"why.example.com TXT go away\n"
	"check -> pass !expl\n"
	"check 192.0.2.2 -> softfail !expl why.example.com/TXT=0\n"
	/* 4.6.4: exp= is no DNS term: ten terms, then a fail explained */
	"@a 10 -all exp=why.example.com\n"
	"why.example.com TXT not from %{i}\n"
	"check -> fail terms=10 expl=\"not from 192.0.2.1\"\n"
	/* 6.2: no TXT, or more than one: as if there were no exp= */
	"example.com TXT v=spf1 -all exp=why.example.com\n"
	"check -> fail why.example.com/TXT=1 " NO_IP "\n"
	"example.com TXT v=spf1 -all exp=why.example.com\n"
	"why.example.com TXT one\n"
	"why.example.com TXT two\n"
	"check -> fail " NO_IP "\n"
	/* a failing server: the same, and the fail stays a fail */
	"example.com TXT v=spf1 -all exp=why.example.com\n"
	"why.example.com TXT !servfail\n"
	"check -> fail " NO_IP "\n"
	/* 6.2: an include's exp= is not used ... */
	"example.com TXT v=spf1 include:inc.example.net -all "
	"exp=top.example.com\n"
	"inc.example.net TXT v=spf1 -all exp=inner.example.net\n"
	"top.example.com TXT top says no\n"
	"inner.example.net TXT inner says no\n"
	"check -> fail expl=\"top says no\" inner.example.net/TXT=0\n"
	/* ... a redirect's target's is, the redirecting record's is not */
	"example.com TXT v=spf1 redirect=red.example.net "
	"exp=top.example.com\n"
	"red.example.net TXT v=spf1 -all exp=red-exp.example.net\n"
	"top.example.com TXT top says no\n"
	"red-exp.example.net TXT %{d} says no\n"
	"check -> fail expl=\"red.example.net says no\" "
	"top.example.com/TXT=0\n"
	/* the default one, not "top says no" (%{d}: see test_redirect) */
	"example.com TXT v=spf1 redirect=red.example.net "
	"exp=top.example.com\n"
	"red.example.net TXT v=spf1 -all\n"
	"top.example.com TXT top says no\n"
	"check -> fail expl^=\"no: 192.0.2.1 for \" top.example.com/TXT=0\n";
SEAM_TEST(test_exp, explanation, check)

/* ----- records longer than libspf2 can hold ----- */

static const char long_record[] =
	"@ip4 100 -all\n"
	"check -> fail terms=0 " NO_IP "\n"
	"check 198.51.100.100 -> pass\n"		/* the last one */
	"check 198.51.100.1 -> pass\n"
	/* ~all at the very end still decides */
	"@ip4 100 ~all\n"
	"check -> softfail\n"
	/* include: after the long part: evaluated, one term */
	"@ip4 100 include:inc.example.net -all\n"
	"inc.example.net TXT v=spf1 ip4:192.0.2.1 -all\n"
	"check -> pass terms=1\n"
	"check 203.0.113.1 -> fail terms=1\n"
	/* a: after the long part is still of the record's own domain */
	"@ip4 100 a -all\n"
	"example.com A 192.0.2.1\n"
	"check -> pass terms=1 example.com/A=1\n";
SEAM_TEST(test_long_record, long_record, check)

/* ----- 2.6.6: temperror ----- */

static const char temperror[] =
	/* a: */
	"example.com TXT v=spf1 a:h.example.net -all\n"
	"h.example.net A !servfail\n"
	"check -> temperror\n"
	"example.com TXT v=spf1 a:h.example.net -all\n"
	"h.example.net A !timeout\n"
	"check -> temperror\n"
	"example.com TXT v=spf1 a:h.example.net -all\n"
	"h.example.net A !refused\n"
	"check -> temperror\n"
	/* exists: */
	"example.com TXT v=spf1 exists:h.example.net -all\n"
	"h.example.net A !servfail\n"
	"check -> temperror\n"
	/* mx: the MX lookup, then a host's address */
	"example.com TXT v=spf1 mx -all\n"
	"example.com MX !servfail\n"
	"check -> temperror\n"
	"example.com TXT v=spf1 mx -all\n"
	"example.com MX 10 mx.example.com\n"
	"mx.example.com A !servfail\n"
	"check -> temperror\n"
	/* include: */
	"example.com TXT v=spf1 include:i.example.net -all\n"
	"i.example.net TXT !timeout\n"
	"check -> temperror\n"
	"example.com TXT v=spf1 include:i.example.net -all\n"
	"i.example.net TXT v=spf1 a:h.example.net -all\n"
	"h.example.net A !servfail\n"
	"check -> temperror\n"
	/* the record itself: the problem names it */
	"example.com TXT !servfail\n"
	"check -> temperror problem~=example.com\n"
	/* a match before the broken term: pass (evaluation stops there) */
	"example.com TXT v=spf1 ip4:192.0.2.1 a:h.example.net -all\n"
	"h.example.net A !servfail\n"
	"check -> pass\n"
	/* a match in the include before the broken one */
	"example.com TXT v=spf1 include:ok.example.net "
	"include:i.example.net -all\n"
	"ok.example.net TXT v=spf1 ip4:192.0.2.1 -all\n"
	"i.example.net TXT !servfail\n"
	"check -> pass terms=1\n"
	"check 192.0.2.2 -> temperror\n";
SEAM_TEST(test_temperror, temperror, check)

/* ----- lookup_time ----- */

static const char deadline[] =
	/* an include that never comes back */
	"example.com TXT v=spf1 include:slow.example.net -all\n"
	"slow.example.net TXT !hang\n"
	"check ms=300 -> temperror elapsed>=0.29 elapsed<3 "
	"slow.example.net/TXT=1\n"
	/* the record itself */
	"example.com TXT !hang\n"
	"check ms=200 -> temperror\n"
	/* a slow lookup the result does not need does not hold it up */
	"example.com TXT v=spf1 ip4:192.0.2.1 a:slow.example.net "
	"-all\n"
	"slow.example.net A !hang\n"
	"check ms=2000 -> pass elapsed<1\n";
SEAM_TEST(test_deadline, deadline, check)

/* ----- the cache ----- */

static const char cache[] =
	"example.com TXT v=spf1 include:a.example.net mx -all\n"
	"a.example.net TXT v=spf1 ip4:198.51.100.0/24 -all\n"
	"example.com MX 10 mx.example.com\n"
	"mx.example.com A 192.0.2.1\n"
	"check -> pass terms=2 voids=0 queries=4 nq=4 runs>1\n"
	/*
	 * The second check: every answer from the cache, the same outcome.
	 * spf.h: only a miss costs another evaluation; a hit is none.
	 */
	"check -> pass terms=2 voids=0 queries=4 nq=4 runs=1\n"
	/* another client, the same names: nothing asked either */
	"check 203.0.113.1 -> fail nq=4\n"
	/* negative answers and failures are kept too */
	"example.com TXT v=spf1 a:nx.example.net include:i.example.net "
	"-all\n"
	"i.example.net TXT !servfail\n"
	"check -> temperror voids=1 nq=3\n"
	"check -> temperror voids=1 nq=3\n"
	/* dns_flush(): asked again */
	"flush\n"
	"check -> temperror nq=6\n";
SEAM_TEST(test_cache, cache, check)

/*
 * ----- records kept with their answers (spflib.c) -----
 *
 * What libspf2 gets for a record is kept with the cached answer, one per
 * address family: "a/32//0" is rewritten for IPv6 clients only, so a
 * record kept for one family must never serve the other.  A record with
 * a macro or an exp= is made again for every check.
 */
static const char memo[] =
	"example.com TXT v=spf1 a/32//0 -all\n"
	"example.com A 198.51.100.1\n"
	"example.com AAAA 2001:db8::99\n"
	"check " V6 " -> pass\n"
	"check " IP " -> fail\n"
	"check " V6 " -> pass\n"
	"check " IP " -> fail\n"
	/* kept, reached through an include and through a redirect */
	"example.com TXT v=spf1 include:k.example.net redirect=k.example.net\n"
	"k.example.net TXT v=spf1 ip4:192.0.2.1 -all\n"
	"check -> pass\n"
	"check 192.0.2.2 -> fail\n"
	"check -> pass runs=1\n"
	/* %{l}: made again for each sender */
	"example.com TXT v=spf1 exists:%{l}.ok.example.net -all\n"
	"alice.ok.example.net A 127.0.0.2\n"
	"check -> pass\n"
	"check " IP " " HELO " bob@example.com -> fail\n"
	"check -> pass\n"
	/* exp=: each check's explanation, of its own client */
	"example.com TXT v=spf1 ip4:192.0.2.1 -all exp=e.example.com\n"
	"e.example.com TXT denied %{i}\n"
	"check 192.0.2.7 -> fail expl=\"denied 192.0.2.7\"\n"
	"check 192.0.2.8 -> fail expl=\"denied 192.0.2.8\"\n"
	"check -> pass\n";
SEAM_TEST(test_memo, memo, check)

/* ----- CNAMEs: an answer lives no longer than the CNAME to it ----- */

#define TO_COM "192.0.2.1 mail.example.org a@example.com"
#define TO_ORG "192.0.2.1 mail.example.org a@example.org"

static const char cname_ttl[] =
	"example.com CNAME1 spf.example.net\n"
	"spf.example.net TXT v=spf1 ip4:192.0.2.1 -all\n"
	"example.org CNAME3600 spf.example.org\n"
	"spf.example.org TXT v=spf1 ip4:192.0.2.1 -all\n"
	"check " TO_COM " -> pass terms=0\n"
	/* one reply each */
	"check " TO_ORG " -> pass nq=2 spf.example.net/TXT=0\n"
	/* at once: both cached */
	"check " TO_COM " -> pass\n"
	"check " TO_ORG " -> nq=2\n"
	/* 1.2 s on: the 1 s CNAME is gone, the 3600 s one is not */
	"sleep 1200\n"
	"check " TO_COM " -> pass example.com/TXT=2\n"
	"check " TO_ORG " -> pass example.org/TXT=1 nq=3\n"
	/* a CNAME to a name with no record: none */
	"example.com CNAME3600 nothing.example.net\n"
	"check -> none\n";
SEAM_TEST(test_cname_ttl, cname_ttl, check)

/* ----- IPv6 ----- */

static const char ipv6[] =
	"example.com TXT v=spf1 ip6:2001:db8::/32 -all\n"
	"check " V6 " -> pass\n"
	"check 2001:db9::1 -> fail expl=\"no: "
	"2.0.0.1.0.d.b.9.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1 for "
	"example.com\"\n"
	/* an IPv4 client never matches ip6: */
	"check " IP " -> fail\n"
	/* a: asks AAAA for IPv6 clients, A for IPv4 ones */
	"example.com TXT v=spf1 a:h.example.net -all\n"
	"h.example.net AAAA 2001:db8::25\n"
	"h.example.net A 192.0.2.1\n"
	"check " V6 " -> pass h.example.net/AAAA=1 h.example.net/A=0\n"
	"check " IP " -> pass h.example.net/A=1\n"
	"check 2001:db8::26 -> fail\n"
	/* an IPv4-mapped client is IPv4: ip4 matches, A is asked */
	"check ::ffff:192.0.2.1 -> pass\n"
	"example.com TXT v=spf1 ip4:192.0.2.1 -all\n"
	"check ::ffff:192.0.2.1 -> pass\n"
	"check ::ffff:192.0.2.2 -> fail expl=\"no: 192.0.2.2 for "
	"example.com\"\n";
SEAM_TEST(test_ipv6, ipv6, check)

int
main(void)
{
#define T(f) SEAM_UNIT(f, &opts)
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
		T(test_memo),
		T(test_cname_ttl),
		T(test_ipv6),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
