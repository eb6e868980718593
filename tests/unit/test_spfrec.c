/*
 * test_spfrec - strict RFC 7208 record syntax and the rewrite for
 * libspf2: a table of records, valid or not (with the reason), and of
 * rewrites.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "spfrec.h"

static const struct {
	const char *rec, *err;          /* err NULL: valid */
} rows[] = {
	{ "v=spf1", NULL },
	{ "v=spf1 -all", NULL },
	{ "V=SPF1 ~ALL", NULL },
	{ "v=spf1  ip4:192.0.2.0/24   -all ", NULL },
	{ "v=spf1 ip4:192.0.2.1 ip6:2001:db8::/32 a mx ptr -all", NULL },
	{ "v=spf1 a:mail.example.com/24//64 mx:example.com//0 ?all", NULL },
	{ "v=spf1 include:_spf.example.com exists:%{ir}.%{l1r+-}.%{d} -all",
	    NULL },
	{ "v=spf1 redirect=_spf.example.com", NULL },
	{ "v=spf1 exp=explain.%{d} -all", NULL },
	{ "v=spf1 moo.cow-far_out=man:dog/cat ip4:1.2.3.4 -all", NULL },
	{ "v=spf1 a:foo:bar/baz.example.com", NULL },
	{ "v=spf1 a:macro%%percent%_%_space%-url-space.example.com -all",
	    NULL },
	{ "v=spf1 include:example.com.", NULL },
	{ "v=spf1 ip4:1.1.1.1/0 -all", NULL },
	{ "v=spf10 -all", "not an SPF record" },
	{ "v=spf1 -all\x01", "non-ASCII or control character in record" },
	{ "v=spf1 -all \xc3\xa9", "non-ASCII or control character in record" },
	{ "v=spf1 foo:bar", "unknown mechanism 'foo'" },
	{ "v=spf1 -all:x", "'all' takes no argument" },
	{ "v=spf1 ip4:1.2.3.4/33", "bad ip4 'ip4:1.2.3.4/33'" },
	{ "v=spf1 ip4:1.2.3.4/032", "bad ip4 'ip4:1.2.3.4/032'" },
	{ "v=spf1 ip4:1.2.3", "bad ip4 'ip4:1.2.3'" },
	{ "v=spf1 ip4", "bad ip4 'ip4'" },
	{ "v=spf1 ip6:::1/129", "bad ip6 'ip6:::1/129'" },
	{ "v=spf1 ip6:1.2.3.4", "bad ip6 'ip6:1.2.3.4'" },
	{ "v=spf1 a:example.-com", "bad domain in 'a:example.-com'" },
	{ "v=spf1 a:example.123", "bad domain in 'a:example.123'" },
	{ "v=spf1 a:example", "bad domain in 'a:example'" },
	{ "v=spf1 a:", "bad domain in 'a:'" },
	{ "v=spf1 include:", "bad domain in 'include:'" },
	{ "v=spf1 exists:%{x}.example.com", "bad domain in "
	    "'exists:%{x}.example.com'" },
	{ "v=spf1 exists:%{c}.example.com", "bad domain in "
	    "'exists:%{c}.example.com'" },
	{ "v=spf1 a:%{i", "bad domain in 'a:%{i'" },
	{ "v=spf1 redirect=a.example.com redirect=b.example.com",
	    "redirect= given twice" },
	{ "v=spf1 exp=a.example.com exp=b.example.com", "exp= given twice" },
	{ "v=spf1 redirect=", "bad domain in redirect=" },
	{ "v=spf1 =foo", "unknown mechanism '=foo'" },
	{ "v=spf1 -redirect=x.example.com", "unknown mechanism "
	    "'redirect=x.example.com'" },
	{ "v=spf1 a/33", "bad cidr-length in 'a/33'" },
	{ "v=spf1 mx//129", "bad cidr-length in 'mx//129'" },
	{ "v=spf1 unknown=%{q}", "bad value of modifier 'unknown'" },
};

static void
test_check(void **state)
{
	struct spfrec_info info;
	char err[128];
	size_t i;
	int r;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		print_message("record: %s\n", rows[i].rec);
		err[0] = '\0';
		r = spfrec_check(rows[i].rec, strlen(rows[i].rec), &info, err,
		    sizeof(err));
		if (rows[i].err == NULL) {
			assert_int_equal(r, 0);
		} else {
			assert_int_equal(r, -1);
			assert_string_equal(err, rows[i].err);
		}
	}
}

static const struct {
	const char *in;
	int v6;
	const char *out;
} rewrites[] = {
	{ "v=spf1 -all", 0, "v=spf1 -all" },
	{ "v=spf1 redirect=r.example.com ip4:192.0.2.1", 0,
	    "v=spf1 ip4:192.0.2.1 redirect=r.example.com" },
	{ "v=spf1 redirect=r.example.com ~all", 0, "v=spf1 ~all" },
	{ "v=spf1 foo=bar -all", 0, "v=spf1 -all" },
	{ "v=spf1 -ip4:1.2.3.4/0 ip6:::/0", 0, "v=spf1 -ip4:0.0.0.0/1 "
	    "-ip4:128.0.0.0/1 ip6:::/1 ip6:8000::/1" },
	{ "v=spf1 a/0 -all", 0, "v=spf1 exists:%{d}" SPFREC_ANY_A " -all" },
	{ "v=spf1 a/0 -all", 1, "v=spf1 a//128 -all" },
	{ "v=spf1 ~mx:e.example.com/24//0", 1, "v=spf1 ~exists:e.example.com"
	    SPFREC_ANY_MX },
	{ "v=spf1 ~mx:e.example.com/24//0", 0,
	    "v=spf1 ~mx:e.example.com/24" },
	{ "v=spf1 a mx:m.example.com", 0, "v=spf1 a/32 mx:m.example.com/32" },
	/* a trailing dot leaves no empty label before the reserved suffix */
	{ "v=spf1 a:example.com./0 -all", 0, "v=spf1 exists:example.com"
	    SPFREC_ANY_A " -all" },
};

static void
test_rewrite(void **state)
{
	char out[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rewrites) / sizeof(rewrites[0]); i++) {
		print_message("rewrite: %s\n", rewrites[i].in);
		assert_int_equal(spfrec_rewrite(rewrites[i].in,
		    strlen(rewrites[i].in), rewrites[i].v6, out, sizeof(out)),
		    0);
		assert_string_equal(out, rewrites[i].out);
	}
	/* out too small is an error, never a cut record */
	assert_int_equal(spfrec_rewrite("v=spf1 ip4:192.0.2.1 -all", 25, 0,
	    out, 10), -1);
}

static void
test_is_spf(void **state)
{
	(void)state;
	assert_true(spfrec_is_spf("v=spf1", 6));
	assert_true(spfrec_is_spf("v=spf1 a", 8));
	assert_false(spfrec_is_spf("v=spf1a", 7));
	assert_false(spfrec_is_spf("v=spf", 5));
	assert_false(spfrec_is_spf(" v=spf1", 7));
}

/* what libspf2 compiles into its fixed 511-byte buffer must fit */
/* the reserved names of spfrec_rewrite() are recognised, others are not */
static void
test_synth_name(void **state)
{
	char base[64];

	(void)state;
	assert_int_equal(spfrec_synth_name("example.com" SPFREC_ANY_A, base,
	    sizeof(base)), 0);
	assert_string_equal(base, "example.com");
	assert_int_equal(spfrec_synth_name("mx.example" SPFREC_ANY_MX, base,
	    sizeof(base)), 1);
	assert_string_equal(base, "mx.example");
	assert_int_equal(spfrec_synth_name("example.com", base, sizeof(base)),
	    -1);
	assert_int_equal(spfrec_synth_name(SPFREC_ANY_A, base, sizeof(base)),
	    -1);
	assert_int_equal(spfrec_synth_name("example.com" SPFREC_ANY_A, base,
	    11), -1);
}

static void
test_macro_string_bounded(void **state)
{
	char buf[1024];
	size_t i;

	(void)state;
	buf[0] = '\0';
	for (i = 0; i < 15; i++)
		strcat(buf, "%{O}S");
	assert_true(spfrec_macro_string_ok(buf, strlen(buf), 1));
	for (; i < 43; i++)
		strcat(buf, "%{O}S");
	assert_false(spfrec_macro_string_ok(buf, strlen(buf), 1));
	memset(buf, 'x', 300);
	assert_true(spfrec_macro_string_ok(buf, 300, 1));
	/* "%-" is written "%20": 120 of them do not fit */
	buf[0] = '\0';
	for (i = 0; i < 120; i++)
		strcat(buf, "%-");
	assert_false(spfrec_macro_string_ok(buf, strlen(buf), 1));
	memset(buf, 'x', 600);
	assert_false(spfrec_macro_string_ok(buf, 600, 1));
	/* a NUL is no macro letter (strchr() would find the set's end) */
	assert_false(spfrec_macro_string_ok("%{\0}", 4, 0));
	assert_true(spfrec_check("v=spf1 exists:%{\0}.x -all", 25, NULL,
	    buf, sizeof(buf)) < 0);
}

/* RFC 7208 7.4's examples, and what libspf2's own expander got wrong */
static void
test_expand(void **state)
{
	static const struct spfrec_env v4 = {
		"strong-bad@email.example.com", "strong-bad",
		"email.example.com", "email.example.com", "192.0.2.3", NULL,
		"in-addr", "mail.example.org", "192.0.2.3", "mx.example.org",
		"1234" };
	static const struct spfrec_env v6 = {
		"strong-bad@email.example.com", "strong-bad",
		"email.example.com", "email.example.com",
		"2.0.0.1.0.d.b.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.c.b.0.1",
		"mail.example.com", "ip6", "mail.example.org", "2001:db8::cb01",
		NULL, NULL };
	static const struct {
		const struct spfrec_env *env;
		const char *in, *out;
	} xrows[] = {
		{ &v4, "%{s}", "strong-bad@email.example.com" },
		{ &v4, "%{o}", "email.example.com" },
		{ &v4, "%{d}", "email.example.com" },
		{ &v4, "%{d4}", "email.example.com" },
		{ &v4, "%{d3}", "email.example.com" },
		{ &v4, "%{d2}", "example.com" },
		{ &v4, "%{d1}", "com" },
		{ &v4, "%{dr}", "com.example.email" },
		{ &v4, "%{d2r}", "example.email" },
		{ &v4, "%{l}", "strong-bad" },
		{ &v4, "%{l-}", "strong.bad" },
		{ &v4, "%{lr}", "strong-bad" },
		{ &v4, "%{lr-}", "bad.strong" },
		{ &v4, "%{l1r-}", "strong" },
		{ &v4, "%{ir}.%{v}._spf.%{d2}",
		    "3.2.0.192.in-addr._spf.example.com" },
		{ &v4, "%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com" },
		{ &v4, "%{lr-}.lp.%{ir}.%{v}._spf.%{d2}",
		    "bad.strong.lp.3.2.0.192.in-addr._spf.example.com" },
		{ &v4, "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}",
		    "3.2.0.192.in-addr.strong.lp._spf.example.com" },
		{ &v4, "%{d2}.trusted-domains.example.net",
		    "example.com.trusted-domains.example.net" },
		{ &v6, "%{ir}.%{v}._spf.%{d2}",
		    "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0."
		    "0.2.ip6._spf.example.com" },
		{ &v4, "%{c} %{r} %{t} %{h}",
		    "192.0.2.3 mx.example.org 1234 mail.example.org" },
		/* libspf2 gave "ostmaster" and "mtp1.example.org" here */
		{ &v4, "%{l2}", "strong-bad" },
		{ &v4, "%{d9}", "email.example.com" },
		/* escapes; upper case: URL-escaped, upper-case hex */
		{ &v4, "a%%b%_c%-d", "a%b c%20d" },
		{ &v4, "%{S}", "strong-bad%40email.example.com" },
		{ &v4, "%{L=}", "strong-bad" },
		{ &v4, "%{p}", "unknown" },
		{ &v6, "%{p}.%{c}", "mail.example.com.2001:db8::cb01" },
	};
	char out[512];
	size_t i;
	long n;

	(void)state;
	for (i = 0; i < sizeof(xrows) / sizeof(xrows[0]); i++) {
		n = spfrec_expand(xrows[i].in, strlen(xrows[i].in), xrows[i].env,
		    out, sizeof(out), 0);
		assert_true(spfrec_expand_size(xrows[i].in,
		    strlen(xrows[i].in), xrows[i].env) > strlen(xrows[i].out));
		if (n < 0 || strcmp(out, xrows[i].out) != 0)
			fail_msg("%s: got \"%s\", want \"%s\"", xrows[i].in,
			    n < 0 ? "(error)" : out, xrows[i].out);
		assert_int_equal(n, (long)strlen(xrows[i].out));
	}
	/* no room: -1, never past the buffer */
	assert_int_equal(spfrec_expand("%{s}", 4, &v4, out, 10, 0), -1);
	/* partial (an explanation): the left part that fits */
	assert_int_equal(spfrec_expand("%{s}", 4, &v4, out, 10, 1), 9);
	assert_string_equal(out, "strong-ba");
	/* linear: a 4 kB local part of 2,000 parts, 40 macros of it */
	{
		static char lp[4001], spec[41 * 5];
		struct spfrec_env e = v4;
		char *big;
		size_t k, sz;

		for (k = 0; k < 4000; k++)
			lp[k] = k % 2 ? '.' : 'a';
		e.l = lp;
		for (k = 0; k < 40; k++)
			memcpy(spec + 5 * k, "%{L}", 5);
		for (k = 0; k < 40; k++)
			spec[5 * k + 4] = '.';
		sz = spfrec_expand_size(spec, 40 * 5, &e);
		assert_non_null(big = malloc(sz));
		assert_true(spfrec_expand(spec, 40 * 5, &e, big, sz, 0) >
		    40 * 4000);
		free(big);
	}
	/* a zero DIGIT is no valid macro (RFC 7208 7.1) */
	assert_false(spfrec_macro_string_ok("%{d0}", 5, 0));
	assert_false(spfrec_macro_string_ok("%{d00r}", 7, 0));
	assert_true(spfrec_macro_string_ok("%{d10}", 6, 0));
	/* an explanation has no size bound: spfpd expands it itself */
	memset(out, 'y', 400);
	assert_false(spfrec_macro_string_ok(out, 400, 1));
	assert_true(spfrec_explanation_ok(out, 400));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_rewrite),
		cmocka_unit_test(test_is_spf),
		cmocka_unit_test(test_synth_name),
		cmocka_unit_test(test_macro_string_bounded),
		cmocka_unit_test(test_expand),
	};

	return cmocka_run_group_tests_name("spfrec", tests, NULL, NULL);
}
