/*
 * test_compose - the header fields and reply text spfpd builds: golden
 * strings for each result, and hostile input (HELO names and senders
 * with quotes, parentheses, semicolons, CR, LF, NUL-free control bytes,
 * over-long values) that must not change the structure of the field.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "compose.h"

static struct spf_outcome
outcome(enum spf_result r, const char *identity, const char *domain,
    const char *problem)
{
	struct spf_outcome o;

	memset(&o, 0, sizeof(o));
	o.result = r;
	o.identity = identity;
	o.domain = domain;
	o.problem = problem;
	return o;
}

static void
test_received_spf_results(void **state)
{
	static const struct {
		enum spf_result r;
		const char *want;
	} rows[] = {
		{ SPF_PASS, "Received-SPF: pass (mx.example.org: domain of "
		    "a@example.com designates 192.0.2.1 as permitted sender) "
		    "client-ip=192.0.2.1; envelope-from=\"a@example.com\"; "
		    "helo=mail.example.com; identity=mailfrom; "
		    "receiver=mx.example.org;" },
		{ SPF_FAIL, "Received-SPF: fail (mx.example.org: domain of "
		    "a@example.com does not designate 192.0.2.1 as permitted "
		    "sender) client-ip=192.0.2.1; envelope-from="
		    "\"a@example.com\"; helo=mail.example.com; "
		    "identity=mailfrom; receiver=mx.example.org;" },
		{ SPF_SOFTFAIL, "Received-SPF: softfail (mx.example.org: "
		    "transitioning domain of a@example.com does not designate "
		    "192.0.2.1 as permitted sender) client-ip=192.0.2.1; "
		    "envelope-from=\"a@example.com\"; helo=mail.example.com; "
		    "identity=mailfrom; receiver=mx.example.org;" },
		{ SPF_NEUTRAL, "Received-SPF: neutral (mx.example.org: "
		    "192.0.2.1 is neither permitted nor denied by domain of "
		    "a@example.com) client-ip=192.0.2.1; envelope-from="
		    "\"a@example.com\"; helo=mail.example.com; "
		    "identity=mailfrom; receiver=mx.example.org;" },
		{ SPF_NONE, "Received-SPF: none (mx.example.org: domain of "
		    "a@example.com does not designate permitted sender hosts) "
		    "client-ip=192.0.2.1; envelope-from=\"a@example.com\"; "
		    "helo=mail.example.com; identity=mailfrom; "
		    "receiver=mx.example.org;" },
		{ SPF_PERMERROR, "Received-SPF: permerror (mx.example.org: "
		    "permanent error in processing domain of a@example.com: "
		    "more than 10 DNS-querying terms) client-ip=192.0.2.1; "
		    "envelope-from=\"a@example.com\"; helo=mail.example.com; "
		    "problem=\"more than 10 DNS-querying terms\"; "
		    "identity=mailfrom; receiver=mx.example.org;" },
		{ SPF_TEMPERROR, "Received-SPF: temperror (mx.example.org: "
		    "temporary error in processing domain of a@example.com: "
		    "more than 10 DNS-querying terms) client-ip=192.0.2.1; "
		    "envelope-from=\"a@example.com\"; helo=mail.example.com; "
		    "problem=\"more than 10 DNS-querying terms\"; "
		    "identity=mailfrom; receiver=mx.example.org;" },
	};
	char buf[COMPOSE_MAX];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct spf_outcome o = outcome(rows[i].r, "mailfrom",
		    "example.com", "more than 10 DNS-querying terms");
		struct compose_spf c = { &o, "192.0.2.1", "a@example.com",
		    "mail.example.com", "mx.example.org" };

		compose_received_spf(buf, sizeof(buf), &c);
		assert_string_equal(buf, rows[i].want);
	}
}

static void
test_received_spf_helo_v6_hidden(void **state)
{
	struct spf_outcome o = outcome(SPF_PASS, "helo", "mail.example.com",
	    NULL);
	struct compose_spf c = { &o, "2001:db8::1", "", "mail.example.com",
	    NULL };
	char buf[COMPOSE_MAX];

	(void)state;
	compose_received_spf(buf, sizeof(buf), &c);
	assert_string_equal(buf, "Received-SPF: pass (domain of "
	    "mail.example.com designates 2001:db8::1 as permitted sender) "
	    "client-ip=\"2001:db8::1\"; envelope-from=\"<>\"; "
	    "helo=mail.example.com; identity=helo;");
}

/* nothing a client types may end the field or add a key */
static void
test_received_spf_hostile(void **state)
{
	struct spf_outcome o = outcome(SPF_FAIL, "mailfrom", "x.example",
	    NULL);
	struct compose_spf c = { &o, "192.0.2.1",
	    "a\"b;(c)\\d\r\nX-Evil: 1@x.example",
	    "h; receiver=evil\r\n (x", "mx" };
	char buf[COMPOSE_MAX];

	(void)state;
	compose_received_spf(buf, sizeof(buf), &c);
	assert_null(strchr(buf, '\r'));
	assert_null(strchr(buf, '\n'));
	assert_string_equal(buf, "Received-SPF: fail (mx: domain of "
	    "a\"b;\\(c\\)\\\\dX-Evil: 1@x.example does not designate "
	    "192.0.2.1 as permitted sender) client-ip=192.0.2.1; "
	    "envelope-from=\"a\\\"b\\;\\(c\\)\\\\dX-Evil: 1@x.example\"; "
	    "helo=\"h\\; receiver\\=evil \\(x\"; identity=mailfrom; "
	    "receiver=mx;");
}

/*
 * SRS and VERP senders: "=", ";", "(" and ")" in a quoted value are
 * quoted-pairs, so that OpenDMARC's key=value parser (which restarts the
 * value at each "=" even inside quotes) reads the whole address
 */
static void
test_received_spf_srs_sender(void **state)
{
	struct spf_outcome o = outcome(SPF_PASS, "mailfrom", "example.org",
	    NULL);
	struct compose_spf c = { &o, "192.0.2.1",
	    "SRS0=Hx4e=T2=forwarded-from.example.com=al@example.org",
	    "mail.example.org", "mx.example.net" };
	struct compose_spf v = { &o, "192.0.2.1",
	    "bounce+a/b=example.com@example.org", "h=1.example", NULL };
	char buf[COMPOSE_MAX];

	(void)state;
	compose_received_spf(buf, sizeof(buf), &c);
	assert_string_equal(buf, "Received-SPF: pass (mx.example.net: domain "
	    "of SRS0=Hx4e=T2=forwarded-from.example.com=al@example.org "
	    "designates 192.0.2.1 as permitted sender) client-ip=192.0.2.1; "
	    "envelope-from=\"SRS0\\=Hx4e\\=T2\\=forwarded-from.example.com"
	    "\\=al@example.org\"; helo=mail.example.org; identity=mailfrom; "
	    "receiver=mx.example.net;");
	/* a dot-atom with "=" stays bare (RFC 7208 9.1 allows it) */
	compose_received_spf(buf, sizeof(buf), &v);
	assert_non_null(strstr(buf, " envelope-from=\"bounce+a/b\\="
	    "example.com@example.org\"; helo=h=1.example; identity="));
}

static void
test_long_values_bounded(void **state)
{
	char sender[3000], buf[COMPOSE_MAX], small[64];
	struct spf_outcome o = outcome(SPF_PASS, "mailfrom", "x.example",
	    NULL);
	struct compose_spf c = { &o, "192.0.2.1", sender, "h.example", "mx" };

	(void)state;
	memset(sender, 'a', sizeof(sender) - 1);
	sender[sizeof(sender) - 1] = '\0';
	compose_received_spf(buf, sizeof(buf), &c);
	assert_true(strlen(buf) < 2 * COMPOSE_VALUE_MAX + 300);
	/* a small buffer is filled and terminated, never overrun */
	compose_received_spf(small, sizeof(small), &c);
	assert_int_equal(strlen(small), sizeof(small) - 1);
}

/*
 * well_formed - no quoted-string or comment left open, no escape
 * dangling at the end: what a header parser needs to find the fields
 */
static int
well_formed(const char *s)
{
	int quote = 0, depth = 0;

	for (; *s; s++) {
		if ((quote || depth) && *s == '\\') {
			if (*++s == '\0')
				return 0;
			continue;
		}
		if (quote) {
			quote = *s != '"';
		} else if (*s == '"' && depth == 0) {
			quote = 1;
		} else if (*s == '(') {
			depth++;
		} else if (*s == ')') {
			if (depth-- == 0)
				return 0;
		}
	}
	return !quote && depth == 0;
}

/* fill - n bytes of pattern, repeated (a whole UTF-8 pattern each time) */
static void
fill(char *buf, size_t n, const char *pat)
{
	size_t k = strlen(pat), i;

	for (i = 0; i + k <= n; i += k)
		memcpy(buf + i, pat, k);
	buf[i] = '\0';
}

/*
 * The worst a client and the DNS can send: every value at its 255-byte
 * bound, each byte one that must be escaped (or a UTF-8 character), for
 * every result, both identities and both header types.  A field must fit
 * one line (998 bytes) and stay well formed; the structured part stays.
 */
static void
test_header_worst_case(void **state)
{
	static const char *const pats[] = { "\"", "\\", "(", ")", "\xc3\xa9",
	    "a", "\xe2\x82\xac(" };
	static const enum spf_result res[] = { SPF_PASS, SPF_FAIL,
	    SPF_SOFTFAIL, SPF_NEUTRAL, SPF_NONE, SPF_PERMERROR,
	    SPF_TEMPERROR };
	char v[300], buf[COMPOSE_MAX];
	size_t p, r, id, longest = 0;

	(void)state;
	for (p = 0; p < sizeof(pats) / sizeof(pats[0]); p++) {
		fill(v, 299, pats[p]);
		for (r = 0; r < sizeof(res) / sizeof(res[0]); r++) {
			for (id = 0; id < 2; id++) {
				struct spf_outcome o = outcome(res[r],
				    id ? "helo" : "mailfrom", v, v);
				struct compose_spf c = { &o,
				    "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255",
				    v, v, v };
				struct compose_iprev ip = { IPREV_PASS,
				    "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255",
				    v };

				compose_received_spf(buf, sizeof(buf), &c);
				if (strlen(buf) > longest)
					longest = strlen(buf);
				assert_true(strlen(buf) <= COMPOSE_HEADER_MAX);
				assert_true(well_formed(buf));
				assert_non_null(strstr(buf, "; identity="));
				assert_non_null(strstr(buf, "; envelope-from="));
				assert_int_equal(buf[strlen(buf) - 1], ';');

				compose_auth_results(buf, sizeof(buf), v, &c,
				    &ip);
				if (strlen(buf) > longest)
					longest = strlen(buf);
				assert_true(strlen(buf) <= COMPOSE_HEADER_MAX);
				assert_true(well_formed(buf));
				assert_non_null(strstr(buf, id ? " smtp.helo=" :
				    " smtp.mailfrom="));
				assert_non_null(strstr(buf, "; iprev=pass "
				    "policy.iprev="));
			}
		}
	}
	/* the bound is reached, not avoided by saying nothing */
	assert_true(longest > COMPOSE_HEADER_MAX - 40);
}

/* ----- Authentication-Results: an SPF outcome, an iprev result ----- */

static const struct spf_outcome mailfrom_pass = {
	.result = SPF_PASS, .identity = "mailfrom", .domain = "example.com"
};
static const struct compose_spf spf_pass = {
	&mailfrom_pass, "192.0.2.1", "a@example.com", "mail.example.com",
	"mx.example.org"
};
static const struct spf_outcome helo_fail = {
	.result = SPF_FAIL, .identity = "helo", .domain = "bad host"
};
static const struct compose_spf spf_helo_fail = {
	&helo_fail, "2001:db8::1", "", "bad host(1)", NULL
};
static const struct compose_iprev ip4 = {
	IPREV_PASS, "192.0.2.1", "mail.example.com"
};
static const struct compose_iprev ip6 = {
	IPREV_PERMERROR, "2001:db8::1", NULL
};
static const struct compose_iprev evil = {
	IPREV_FAIL, "192.0.2.1", "x) (y\r\nz"
};

struct auth_row {
	const char *receiver;
	const struct compose_spf *spf;          /* NULL: none */
	const struct compose_iprev *iprev;      /* NULL: none */
	const char *want;
};

static void
auth_rows(const struct auth_row *rows, size_t n)
{
	char buf[COMPOSE_MAX];
	size_t i;

	for (i = 0; i < n; i++) {
		compose_auth_results(buf, sizeof(buf), rows[i].receiver,
		    rows[i].spf, rows[i].iprev);
		assert_string_equal(buf, rows[i].want);
	}
}

static void
test_auth_results(void **state)
{
	static const struct auth_row rows[] = {
		{ "mx.example.org", &spf_pass, NULL,
		  "Authentication-Results: mx.example.org; spf=pass (domain "
		  "of a@example.com designates 192.0.2.1 as permitted sender) "
		  "smtp.mailfrom=example.com" },
		{ "mx.example.org", &spf_helo_fail, NULL,
		  "Authentication-Results: mx.example.org; spf=fail (domain "
		  "of bad host\\(1\\) does not designate 2001:db8::1 as "
		  "permitted sender) smtp.helo=\"bad host(1)\"" },
	};

	(void)state;
	auth_rows(rows, sizeof(rows) / sizeof(rows[0]));
}

static void
test_auth_results_iprev(void **state)
{
	static const struct auth_row rows[] = {
		{ "mx.example.org", &spf_pass, &ip4,
		  "Authentication-Results: mx.example.org; spf=pass (domain "
		  "of a@example.com designates 192.0.2.1 as permitted sender) "
		  "smtp.mailfrom=example.com; iprev=pass "
		  "policy.iprev=192.0.2.1 (mail.example.com)" },
		{ "mx.example.org", NULL, &ip6,
		  "Authentication-Results: mx.example.org; iprev=permerror "
		  "policy.iprev=\"2001:db8::1\"" },
		{ "mx", NULL, &evil,
		  "Authentication-Results: mx; iprev=fail "
		  "policy.iprev=192.0.2.1 (x\\) \\(yz)" },
		{ "mx", NULL, NULL, "Authentication-Results: mx; none" },
	};

	(void)state;
	auth_rows(rows, sizeof(rows) / sizeof(rows[0]));
}

static void
test_reason_and_url(void **state)
{
	const char *vals[6] = { "rejected", "SPF fail - not authorized",
	    "https://x", "fail", "mailfrom", "example.com" };
	char buf[COMPOSE_MAX];

	(void)state;
	compose_reason(buf, sizeof(buf),
	    "Message {rejectdefer} due to: {spf}. Please see {url}", vals);
	assert_string_equal(buf, "Message rejected due to: SPF fail - not "
	    "authorized. Please see https://x");
	compose_reason(buf, sizeof(buf), "{{{result}}} {identity}/{domain} "
	    "{unknown}", vals);
	assert_string_equal(buf, "{fail} mailfrom/example.com {unknown}");
	vals[1] = "line1\r\nline2";
	compose_reason(buf, sizeof(buf), "{spf}", vals);
	assert_string_equal(buf, "line1line2");

	compose_why_url(buf, sizeof(buf), "mfrom", "~jack&jill=up@x.example",
	    "2001:db8::1", "mx.example.org");
	assert_string_equal(buf, "https://www.open-spf.org/Why?s=mfrom;"
	    "id=~jack%26jill%3Dup@x.example;ip=2001:db8::1;r=mx.example.org");
	compose_why_url(buf, sizeof(buf), "helo", "a b", "192.0.2.1", NULL);
	assert_string_equal(buf, "https://www.open-spf.org/Why?s=helo;"
	    "id=a%20b;ip=192.0.2.1");
}

static void
test_text_utf8_cut(void **state)
{
	char buf[16];

	(void)state;
	/* "e-acute" is two bytes: a cut never leaves half of it */
	compose_text(buf, sizeof(buf), "abcd\xc3\xa9\xc3\xa9", 5);
	assert_string_equal(buf, "abcd");
	compose_text(buf, sizeof(buf), "ab\x01\x7f" "c", 10);
	assert_string_equal(buf, "abc");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_received_spf_results),
		cmocka_unit_test(test_received_spf_helo_v6_hidden),
		cmocka_unit_test(test_received_spf_hostile),
		cmocka_unit_test(test_received_spf_srs_sender),
		cmocka_unit_test(test_long_values_bounded),
		cmocka_unit_test(test_header_worst_case),
		cmocka_unit_test(test_auth_results),
		cmocka_unit_test(test_auth_results_iprev),
		cmocka_unit_test(test_reason_and_url),
		cmocka_unit_test(test_text_utf8_cut),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
