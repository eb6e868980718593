/*
 * test_iprev - src/iprev.c (over src/dns.c) against scripted DNS answers:
 * dns.c's upstream seam (dns_set_upstream) answers from a world
 * (tests/diff/world.c) in wire format, through tests/unit/seam.c.  No
 * process, no socket.
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
 *
 * Each test is a script (seam.h): zones, checks and what must come of
 * them.  A check is "check [ip] [max_names] [ms=time_ms] -> expected", by
 * default of 192.0.2.1, 10 names and 10000 ms; its fields are result,
 * name, problem, names (PTR names found) and checked (looked up forward).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "iprev.h"
#include "seam.h"

#define IP "192.0.2.1"
#define REV "1.2.0.192.in-addr.arpa"            /* RFC 1035 3.5 */
#define V6 "2001:db8::25"
#define REV6 "5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0." \
	"0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"  /* RFC 3596 2.5 */

/*
 * "@ptr N M": N PTR names n1.example.com ... nN.example.com of IP, each
 * with an address of its own but nM, which has IP
 */
static void
gen(const char *line)
{
	char rr[256];
	int i, n, match;

	if (sscanf(line, "ptr %d %d", &n, &match) != 2)
		fail_msg("no generator \"@%s\"", line);
	for (i = 1; i <= n; i++) {
		if (i == match)
			snprintf(rr, sizeof(rr), REV " PTR n%d.example.com\n"
			    "n%d.example.com A " IP, i, i);
		else
			snprintf(rr, sizeof(rr), REV " PTR n%d.example.com\n"
			    "n%d.example.com A 198.51.100.%d", i, i, i);
		seam_zone(rr);
	}
}

/* ----- one check ----- */

static void
on_done(void *arg, const struct iprev_outcome *o)
{
	seam_record(arg, "result=%s name=%s problem=%s names=%u checked=%u",
	    iprev_result_str(o->result), o->name, o->problem, o->names,
	    o->checked);
}

static void
check(const char *run, struct seam_res *r)
{
	char ip[64] = IP, w[64], what[300];
	unsigned max_names = 10, ms = 10000;
	struct iprev_check *c;
	int off, pos = 0;

	while (sscanf(run + pos, "%63s%n", w, &off) == 1) {
		pos += off;
		if (sscanf(w, "ms=%u", &ms) == 1)
			continue;
		if (w[strspn(w, "0123456789")] == '\0')
			max_names = (unsigned)atoi(w);
		else
			snprintf(ip, sizeof(ip), "%s", w);
	}
	seam_begin(r);
	assert_non_null(c = iprev_start(seam_base, ip, max_names, ms, on_done,
	    r));
	if (seam_wait(r) < 0) {
		iprev_cancel(c);
		fail_msg("iprev %s: no result in %d s", run, SEAM_SAFETY_S);
	}
	/* iprev.h: a pass names the name, a problem for everything else */
	snprintf(what, sizeof(what), "iprev.h, check %s", run);
	seam_expect(r, strcmp(seam_get(r, "result"), "pass") == 0 ?
	    "name!=\"\"" : "problem!=\"\"", what);
}

/* ----- pass and fail ----- */

static const char pass[] =
	REV " PTR mail.example.com\n"
	"mail.example.com A 192.0.2.1\n"
	"check -> pass name=mail.example.com names=1 checked=1 nq=2 "
	REV "/PTR=1 mail.example.com/A=1 mail.example.com/AAAA=0\n"
	/* among several A records, and several names: the one that maps */
	REV " PTR other.example.org\n"
	REV " PTR mail.example.com\n"
	REV " PTR third.example.net\n"
	"other.example.org A 198.51.100.1\n"
	"mail.example.com A 198.51.100.2\n"
	"mail.example.com A 192.0.2.1\n"
	"third.example.net A !nxdomain\n"
	"check -> pass name=mail.example.com names=3\n"
	/* the forward name through a CNAME */
	REV " PTR alias.example.com\n"
	"alias.example.com CNAME mail.example.com\n"
	"mail.example.com A 192.0.2.1\n"
	"check -> pass name=alias.example.com\n";
SEAM_TEST(test_pass, pass, check)

static const char fail[] =
	/* the forward lookup: another address, NXDOMAIN, NODATA; iprev.h:
	 * the first PTR name */
	REV " PTR mail.example.com\n"
	"mail.example.com A 198.51.100.1\n"
	"check -> fail name=mail.example.com names=1 checked=1 nq=2\n"
	REV " PTR mail.example.com\n"
	"mail.example.com A !nxdomain\n"
	"check -> fail name=mail.example.com names=1 checked=1 nq=2\n"
	REV " PTR mail.example.com\n"
	"mail.example.com A !nodata\n"
	"mail.example.com AAAA 2001:db8::1\n"
	"check -> fail name=mail.example.com names=1 checked=1 nq=2\n"
	/* several names, none maps back: the first is named */
	REV " PTR a.example.com\n"
	REV " PTR b.example.com\n"
	"a.example.com A 198.51.100.1\n"
	"b.example.com A 192.0.2.2\n"
	"check -> fail name=a.example.com names=2 checked=2\n";
SEAM_TEST(test_fail, fail, check)

/* ----- no PTR: permerror ----- */

static const char permerror[] =
	REV " PTR !nxdomain\n"
	"check -> permerror !name names=0 checked=0 nq=1\n"
	/* the name exists, without PTR: NODATA */
	REV " A 127.0.0.1\n"
	"check -> permerror !name nq=1\n"
	/* an empty world: NXDOMAIN */
	"reset\n"
	"check -> permerror\n";
SEAM_TEST(test_permerror, permerror, check)

/* ----- temperror ----- */

static const char temperror[] =
	/* the PTR lookup fails */
	REV " PTR !servfail\n"
	"mail.example.com A 192.0.2.1\n"
	"check -> temperror !name checked=0 nq=1\n"
	REV " PTR !refused\n"
	"mail.example.com A 192.0.2.1\n"
	"check -> temperror !name checked=0 nq=1\n"
	REV " PTR !timeout\n"
	"mail.example.com A 192.0.2.1\n"
	"check -> temperror !name checked=0 nq=1\n"
	/* the forward lookup fails and no other name maps back */
	REV " PTR a.example.com\n"
	REV " PTR b.example.com\n"
	"a.example.com A 198.51.100.1\n"
	"b.example.com A !servfail\n"
	"check -> temperror name=a.example.com names=2 checked=2\n"
	REV " PTR a.example.com\n"
	"a.example.com A !timeout\n"
	"check -> temperror\n"
	/* ... but another name that maps back is a pass */
	REV " PTR a.example.com\n"
	REV " PTR b.example.com\n"
	"a.example.com A !servfail\n"
	"b.example.com A 192.0.2.1\n"
	"check -> pass name=b.example.com\n";
SEAM_TEST(test_temperror, temperror, check)

/* a question that never comes back: temperror at time_ms */
static const char deadline[] =
	REV " PTR !hang\n"
	"check ms=300 -> temperror elapsed>=0.29 elapsed<3 !name\n"
	/* the forward lookup hangs */
	REV " PTR mail.example.com\n"
	"mail.example.com A !hang\n"
	"check ms=300 -> temperror elapsed>=0.29 elapsed<3 names=1\n"
	/* one name hangs, another maps back: pass, without waiting */
	REV " PTR slow.example.com\n"
	REV " PTR mail.example.com\n"
	"slow.example.com A !hang\n"
	"mail.example.com A 192.0.2.1\n"
	"check ms=2000 -> pass name=mail.example.com elapsed<1\n";
SEAM_TEST(test_deadline, deadline, check)

/* ----- max_names (ptr_max_names) ----- */

static const char max_names[] =
	/* five names, the 4th maps back, a bound of 2: fail */
	"@ptr 5 4\n"
	"check " IP " 2 -> fail names=5 checked=2 nq=3 n1.example.com/A=1 "
	"n2.example.com/A=1 n3.example.com/A=0 n4.example.com/A=0 "
	"n5.example.com/A=0\n"
	/* a bound of 4 reaches it */
	"@ptr 5 4\n"
	"check " IP " 4 -> pass name=n4.example.com names=5 checked=4 nq=5 "
	"n5.example.com/A=0\n"
	/* 32 names (the largest ptr_max_names), a bound of 10 */
	"@ptr 32 32\n"
	"check " IP " 10 -> fail names=32 checked=10 nq=11\n"
	/* the first 10 were cached: 22 new questions */
	"check " IP " 32 -> pass name=n32.example.com checked=32 nq=33\n";
SEAM_TEST(test_max_names, max_names, check)

/* ----- IPv6 and IPv4-mapped clients ----- */

static const char ipv6[] =
	REV6 " PTR host6.example.com\n"
	"host6.example.com AAAA 2001:db8::25\n"
	"host6.example.com A 192.0.2.1\n"
	"check " V6 " -> pass name=host6.example.com nq=2 " REV6 "/PTR=1 "
	"host6.example.com/AAAA=1 host6.example.com/A=0\n"
	/* the same name, spelt in full */
	"check 2001:0db8:0000:0000:0000:0000:0000:0025 -> pass nq=2\n"
	/* an A record is no match for an IPv6 client */
	REV6 " PTR host6.example.com\n"
	"host6.example.com A 192.0.2.1\n"
	"check " V6 " -> fail name=host6.example.com\n"
	/* another address in the same /64: no match */
	REV6 " PTR host6.example.com\n"
	"host6.example.com AAAA 2001:db8::26\n"
	"check " V6 " -> fail\n"
	/* no PTR under ip6.arpa */
	REV6 " PTR !nxdomain\n"
	"check " V6 " -> permerror\n";
SEAM_TEST(test_ipv6, ipv6, check)

static const char mapped[] =
	/* ::ffff:192.0.2.1 is 192.0.2.1: in-addr.arpa, A */
	REV " PTR mail.example.com\n"
	"mail.example.com A 192.0.2.1\n"
	"mail.example.com AAAA ::ffff:192.0.2.1\n"
	"check ::ffff:192.0.2.1 -> pass name=mail.example.com nq=2 "
	REV "/PTR=1 mail.example.com/A=1 mail.example.com/AAAA=0\n"
	/* the plain IPv4 client is the same: all from the cache */
	"check " IP " -> pass nq=2\n"
	/* another mapped address: not this name's */
	"check ::ffff:192.0.2.2 -> permerror 2.2.0.192.in-addr.arpa/PTR=1\n";
SEAM_TEST(test_mapped, mapped, check)

/* ----- the cache ----- */

static const char cache[] =
	REV " PTR a.example.com\n"
	REV " PTR b.example.com\n"
	"a.example.com A 198.51.100.1\n"
	"b.example.com A 192.0.2.1\n"
	"check -> pass nq=3\n"
	"check -> pass name=b.example.com names=2 nq=3\n"
	/* negative answers and failures too */
	REV " PTR !nxdomain\n"
	"check -> permerror nq=1\n"
	"check -> permerror nq=1\n"
	REV " PTR !servfail\n"
	"check -> temperror nq=1\n"
	"check -> temperror nq=1\n";
SEAM_TEST(test_cache, cache, check)

static struct seam_opts opts = { "TEST_IPREV_DEBUG", 0, gen, NULL };
#define T(f) SEAM_UNIT(f, &opts)

int
main(void)
{
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
