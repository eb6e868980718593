/*
 * test_cidr - address range parsing and matching, IPv4, IPv6 and
 * IPv4-mapped IPv6.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cidr.h"

static const struct {
	const char *range, *addr;
	int match;
} match_rows[] = {
	{ "192.0.2.0/24", "192.0.2.7", 1 },
	{ "192.0.2.0/24", "192.0.3.7", 0 },
	{ "192.0.2.0/24", "::ffff:192.0.2.7", 1 },
	{ "192.0.2.128/25", "192.0.2.127", 0 },
	{ "192.0.2.128/25", "192.0.2.200", 1 },
	{ "192.0.2.1", "192.0.2.1", 1 },
	{ "192.0.2.1", "192.0.2.2", 0 },
	{ "0.0.0.0/0", "203.0.113.9", 1 },
	{ "0.0.0.0/0", "2001:db8::1", 0 },
	{ "::/0", "2001:db8::1", 1 },
	{ "::/0", "203.0.113.9", 1 },
	{ "127.0.0.0/8", "127.1.2.3", 1 },
	{ "::ffff:127.0.0.0/104", "127.0.0.1", 1 },
	{ "::ffff:127.0.0.0/104", "::ffff:127.9.9.9", 1 },
	{ "::ffff:127.0.0.0/104", "128.0.0.1", 0 },
	{ "::1", "::1", 1 },
	{ "::1", "::2", 0 },
	{ "2001:db8::/32", "2001:db8:ffff::1", 1 },
	{ "2001:db8::/32", "2001:db9::1", 0 },
	{ "2001:db8::/33", "2001:db8:8000::1", 0 },
	{ "2001:db8::/33", "2001:db8:7fff::1", 1 },
	{ "10.0.0.0/7", "11.255.255.255", 1 },
	{ "10.0.0.0/7", "12.0.0.0", 0 },
	{ "192.0.2.0/24", "not-an-address", 0 },
	{ "192.0.2.0/24", "", 0 },
};

static void
test_match(void **state)
{
	struct cidr c;
	unsigned char a[16];
	char err[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(match_rows) / sizeof(match_rows[0]); i++) {
		print_message("%s ~ %s\n", match_rows[i].range,
		    match_rows[i].addr);
		assert_int_equal(cidr_parse(match_rows[i].range, &c, err,
		    sizeof(err)), 0);
		if (cidr_addr_parse(match_rows[i].addr, a) < 0) {
			assert_int_equal(match_rows[i].match, 0);
			continue;
		}
		assert_int_equal(cidr_match(&c, a), match_rows[i].match);
	}
}

static const struct {
	const char *in, *err;
} bad_rows[] = {
	{ "192.0.2.1/24", "non-zero host bits in '192.0.2.1/24' beyond /24" },
	{ "192.0.2.0/33", "bad prefix length in '192.0.2.0/33'" },
	{ "192.0.2.0/", "bad prefix length in '192.0.2.0/'" },
	{ "192.0.2.0/-1", "bad prefix length in '192.0.2.0/-1'" },
	{ "192.0.2.0/2x", "bad prefix length in '192.0.2.0/2x'" },
	{ "2001:db8::/129", "bad prefix length in '2001:db8::/129'" },
	{ "2001:db8::1/64", "non-zero host bits in '2001:db8::1/64' beyond /64" },
	{ "example.com", "bad address 'example.com'" },
	{ "300.1.1.1", "bad address '300.1.1.1'" },
	{ "", "bad address ''" },
};

static void
test_bad(void **state)
{
	struct cidr c;
	char err[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_rows) / sizeof(bad_rows[0]); i++) {
		assert_int_equal(cidr_parse(bad_rows[i].in, &c, err,
		    sizeof(err)), -1);
		assert_string_equal(err, bad_rows[i].err);
	}
}

static void
test_list_and_format(void **state)
{
	static const char *const ranges[] = { "192.0.2.0/24", "2001:db8::/32" };
	struct cidr_list l = { NULL, 0 };
	struct cidr c;
	char err[128], buf[CIDR_STRLEN];
	size_t i;

	(void)state;
	assert_false(cidr_list_match(&l, "192.0.2.1"));
	for (i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		assert_int_equal(cidr_parse(ranges[i], &c, err, sizeof(err)),
		    0);
		assert_string_equal(cidr_format(&c, buf, sizeof(buf)),
		    ranges[i]);
		assert_int_equal(cidr_list_add(&l, &c), 0);
	}
	assert_true(cidr_list_match(&l, "192.0.2.1"));
	assert_true(cidr_list_match(&l, "2001:db8::25"));
	assert_false(cidr_list_match(&l, "198.51.100.1"));
	assert_true(cidr_addr_is_v4(l.v[0].addr));
	assert_false(cidr_addr_is_v4(l.v[1].addr));
	cidr_list_free(&l);
	assert_int_equal(l.n, 0);
}

/* bare addresses: 16 bytes, IPv4 as IPv4-mapped IPv6; bad text is -1 */
static const struct {
	const char *addr;
	int v4;                         /* -1: not an address */
	unsigned char last;             /* its last byte */
} addr_rows[] = {
	{ "192.0.2.1", 1, 1 },
	{ "::ffff:192.0.2.9", 1, 9 },
	{ "2001:db8::25", 0, 0x25 },
	{ "::1", 0, 1 },
	{ "192.0.2.1/32", -1, 0 },
	{ "192.0.2", -1, 0 },
	{ "example.com", -1, 0 },
};

static void
test_addr_parse(void **state)
{
	struct cidr_list l = { NULL, 0 };
	unsigned char a[16];
	struct cidr c;
	char err[128];
	size_t i;

	(void)state;
	assert_int_equal(cidr_parse("::/0", &c, err, sizeof(err)), 0);
	assert_int_equal(cidr_list_add(&l, &c), 0);
	for (i = 0; i < sizeof(addr_rows) / sizeof(addr_rows[0]); i++) {
		print_message("%s\n", addr_rows[i].addr);
		if (addr_rows[i].v4 < 0) {
			assert_int_equal(cidr_addr_parse(addr_rows[i].addr, a),
			    -1);
			continue;
		}
		assert_int_equal(cidr_addr_parse(addr_rows[i].addr, a), 0);
		assert_int_equal(cidr_addr_is_v4(a), addr_rows[i].v4);
		assert_int_equal(a[15], addr_rows[i].last);
		assert_true(cidr_list_match_addr(&l, a));
	}
	cidr_list_free(&l);
}

/* the addresses the NAT/proxy warning names (policy.c) */
static void
test_addr_local(void **state)
{
	static const struct {
		const char *addr, *kind;
	} t[] = {
		{ "10.1.2.3", "private (RFC 1918)" },
		{ "172.17.0.1", "private (RFC 1918)" },
		{ "172.31.255.255", "private (RFC 1918)" },
		{ "172.32.0.1", NULL },
		{ "192.168.1.1", "private (RFC 1918)" },
		{ "::ffff:192.168.1.1", "private (RFC 1918)" },
		{ "127.0.0.1", "loopback" },
		{ "::1", "loopback" },
		{ "100.64.0.1", "shared CGNAT (RFC 6598)" },
		{ "100.127.255.254", "shared CGNAT (RFC 6598)" },
		{ "100.128.0.1", NULL },
		{ "169.254.1.1", "link-local" },
		{ "fe80::1", "link-local" },
		{ "fd00::1", "unique local (RFC 4193)" },
		{ "fc00::1", "unique local (RFC 4193)" },
		{ "192.0.2.1", NULL },
		{ "2001:db8::1", NULL },
		{ "8.8.8.8", NULL },
	};
	unsigned char a[16];
	const char *k;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_int_equal(cidr_addr_parse(t[i].addr, a), 0);
		k = cidr_addr_local(a);
		if (t[i].kind == NULL ? k != NULL : k == NULL ||
		    strcmp(k, t[i].kind) != 0)
			fail_msg("%s: %s, want %s", t[i].addr, k ? k : "NULL",
			    t[i].kind ? t[i].kind : "NULL");
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_list_and_format),
		cmocka_unit_test(test_addr_parse),
		cmocka_unit_test(test_addr_local),
	};

	return cmocka_run_group_tests_name("cidr", tests, NULL, NULL);
}
