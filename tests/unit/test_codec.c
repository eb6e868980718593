/*
 * test_codec - the policy protocol codec: a table of inputs, each split
 * into lines as the session does, and the attributes or error expected.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "codec.h"

static const struct codec_limits lim = { 64, 8, 256 };

struct row {
	const char *name;
	const char *in;
	size_t inlen;                   /* 0: strlen(in) */
	enum codec_status want;
	const char *err;                /* expected error, CODEC_ERROR */
	const char *sender;             /* expected sender, CODEC_DONE */
	const char *client;             /* expected client_address */
};

static const struct row rows[] = {
	{ "minimal", "request=smtpd_access_policy\n\n", 0, CODEC_DONE, NULL,
	    "", "" },
	{ "typical", "request=smtpd_access_policy\nprotocol_state=RCPT\n"
	    "client_address=192.0.2.1\nsender=a@example.com\n\n", 0,
	    CODEC_DONE, NULL, "a@example.com", "192.0.2.1" },
	{ "crlf tolerated", "request=smtpd_access_policy\r\nsender=x@y\r\n\r\n",
	    0, CODEC_DONE, NULL, "x@y", "" },
	{ "unknown attribute ignored", "request=smtpd_access_policy\n"
	    "future_thing=1\nsender=s@d\n\n", 0, CODEC_DONE, NULL, "s@d", "" },
	{ "empty value", "request=smtpd_access_policy\nsender=\n\n", 0,
	    CODEC_DONE, NULL, "", "" },
	{ "value with =", "request=smtpd_access_policy\nsender=a=b@c\n\n", 0,
	    CODEC_DONE, NULL, "a=b@c", "" },
	{ "repeated: last wins", "request=smtpd_access_policy\nsender=a@b\n"
	    "sender=c@d\n\n", 0, CODEC_DONE, NULL, "c@d", "" },
	{ "incomplete", "request=smtpd_access_policy\nsender=a@b\n", 0,
	    CODEC_MORE, NULL, NULL, NULL },
	{ "empty request", "\n", 0, CODEC_ERROR, "empty request", NULL, NULL },
	{ "request missing", "sender=a@b\n\n", 0, CODEC_ERROR,
	    "missing request attribute", NULL, NULL },
	{ "request wrong", "request=junk\n\n", 0, CODEC_ERROR,
	    "unrecognized request type", NULL, NULL },
	{ "no =", "request=smtpd_access_policy\ngarbage\n\n", 0, CODEC_ERROR,
	    "line without '='", NULL, NULL },
	{ "empty name", "request=smtpd_access_policy\n=x\n\n", 0, CODEC_ERROR,
	    "empty attribute name", NULL, NULL },
	{ "NUL byte", "request=smtpd_access_policy\nsender=a\0b\n\n", 43,
	    CODEC_ERROR, "NUL byte in request", NULL, NULL },
	{ "line too long", "request=smtpd_access_policy\nsender="
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
	    "\n", 0, CODEC_ERROR, "line too long", NULL, NULL },
	{ "line at the limit", "request=smtpd_access_policy\nsender="
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n\n", 0,
	    CODEC_DONE, NULL,
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "" },
	{ "too many attributes", "request=smtpd_access_policy\na=1\nb=2\n"
	    "c=3\nd=4\ne=5\nf=6\ng=7\nh=8\n\n", 0, CODEC_ERROR,
	    "too many attributes", NULL, NULL },
	{ "attributes at the limit", "request=smtpd_access_policy\na=1\nb=2\n"
	    "c=3\nd=4\ne=5\nf=6\ng=7\n\n", 0, CODEC_DONE, NULL, "", "" },
	{ "request too large", "request=smtpd_access_policy\n"
	    "a=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
	    "b=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
	    "c=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
	    "d=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n\n",
	    0, CODEC_ERROR, "request too large", NULL, NULL },
};

/* feed - split in at '\n' and give each line to the codec */
static enum codec_status
feed(struct policy_request *r, const char *in, size_t len, const char **err)
{
	enum codec_status st = CODEC_MORE;
	const char *p = in, *end = in + len, *nl;

	while (p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		st = codec_line(r, p, (size_t)(nl - p), &lim, err);
		if (st != CODEC_MORE)
			return st;
		p = nl + 1;
	}
	return st;
}

static void
test_table(void **state)
{
	struct policy_request r;
	const char *err;
	enum codec_status st;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *t = &rows[i];

		print_message("codec row: %s\n", t->name);
		codec_request_init(&r);
		err = NULL;
		st = feed(&r, t->in, t->inlen ? t->inlen : strlen(t->in), &err);
		assert_int_equal(st, t->want);
		if (t->want == CODEC_ERROR)
			assert_string_equal(err, t->err);
		if (t->want == CODEC_DONE) {
			assert_string_equal(codec_get(&r, ATTR_SENDER),
			    t->sender);
			assert_string_equal(codec_get(&r, ATTR_CLIENT_ADDRESS),
			    t->client);
			assert_string_equal(codec_get(&r, ATTR_REQUEST),
			    "smtpd_access_policy");
		}
		codec_request_reset(&r);
	}
}

static void
test_reuse_after_reset(void **state)
{
	static const char two[] = "request=smtpd_access_policy\nsender=a@b\n\n"
	    "request=smtpd_access_policy\n\n";
	struct policy_request r;
	const char *err;

	(void)state;
	codec_request_init(&r);
	assert_int_equal(feed(&r, two, 40, &err), CODEC_DONE);
	assert_string_equal(codec_get(&r, ATTR_SENDER), "a@b");
	codec_request_reset(&r);
	assert_false(codec_in_progress(&r));
	assert_int_equal(feed(&r, two + 40, sizeof(two) - 1 - 40, &err),
	    CODEC_DONE);
	assert_string_equal(codec_get(&r, ATTR_SENDER), "");
	codec_request_reset(&r);
}

static void
test_attr_names(void **state)
{
	(void)state;
	assert_string_equal(codec_attr_name(ATTR_CLIENT_ADDRESS),
	    "client_address");
	assert_string_equal(codec_attr_name(ATTR_INSTANCE), "instance");
	assert_string_equal(codec_attr_name(ATTR_MAX), "?");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_reuse_after_reset),
		cmocka_unit_test(test_attr_names),
	};

	return cmocka_run_group_tests_name("codec", tests, NULL, NULL);
}
