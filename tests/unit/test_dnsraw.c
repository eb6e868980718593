/*
 * test_dnsraw - the question dnsraw.c sends for names c-ares will not
 * carry, and which replies it takes as the answer: the same ID, QR set,
 * the same question (names compared without regard to case).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dnsraw.h"

static void
test_query(void **state)
{
	unsigned char q[600];
	static const unsigned char want[] = {
		0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
		7, 'f', 'o', 'o', ':', 'b', 'a', 'r', 3, 'c', 'o', 'm', 0,
		0, 16, 0, 1,
	};
	char label64[80];

	(void)state;
	assert_int_equal(dnsraw_query(q, sizeof(q), 0x1234, "foo:bar.com", 16),
	    (int)sizeof(want));
	assert_memory_equal(q, want, sizeof(want));
	/* a final dot is the root, not an empty label */
	assert_int_equal(dnsraw_query(q, sizeof(q), 1, "foo:bar.com.", 16),
	    (int)sizeof(want));
	/* empty or over-long labels are not sent */
	assert_int_equal(dnsraw_query(q, sizeof(q), 1, "a..com", 1), -1);
	memset(label64, 'x', 64);
	strcpy(label64 + 64, ".com");
	assert_int_equal(dnsraw_query(q, sizeof(q), 1, label64, 1), -1);
	assert_int_equal(dnsraw_query(q, 10, 1, "a.com", 1), -1);
	/* dns.c's text form: "\\DDD" and "\\c" escapes, "\\." in a label */
	assert_int_equal(dnsraw_query(q, sizeof(q), 1, "h\\032x\\.y.com", 1),
	    12 + 1 + 5 + 1 + 3 + 1 + 4);
	assert_memory_equal(q + 12, "\005h x.y\003com", 11);
}

static void
test_matches(void **state)
{
	unsigned char q[600], r[600];
	int n;

	(void)state;
	n = dnsraw_query(q, sizeof(q), 0xbeef, "A b%.example", 1);
	assert_true(n > 12);
	memcpy(r, q, (size_t)n);
	r[2] |= 0x80;                                   /* QR */
	assert_true(dnsraw_matches(q, n, r, n));
	r[13] = 'a';                                    /* case */
	assert_true(dnsraw_matches(q, n, r, n));
	r[14] = 'X';                                    /* another name */
	assert_false(dnsraw_matches(q, n, r, n));
	r[14] = ' ';
	r[1] ^= 1;                                      /* another ID */
	assert_false(dnsraw_matches(q, n, r, n));
	r[1] ^= 1;
	r[2] &= 0x7f;                                   /* a query, no reply */
	assert_false(dnsraw_matches(q, n, r, n));
	r[2] |= 0x80;
	r[n - 1] = 3;                                   /* class CH */
	assert_false(dnsraw_matches(q, n, r, n));
	assert_false(dnsraw_matches(q, n, r, n - 1));   /* short */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_query),
		cmocka_unit_test(test_matches),
	};

	return cmocka_run_group_tests_name("dnsraw", tests, NULL, NULL);
}
