/*
 * test_config - the config parser: golden error messages with line
 * numbers, values of a good file, defaults, continuation lines.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

struct errs {
	char buf[4096];
	size_t len;
};

static void
collect(void *arg, const char *msg)
{
	struct errs *e = arg;
	int n;

	n = snprintf(e->buf + e->len, sizeof(e->buf) - e->len, "%s\n", msg);
	if (n > 0 && (size_t)n < sizeof(e->buf) - e->len)
		e->len += (size_t)n;
}

static char path[64];

static struct config *
load_text(const char *text, struct errs *e)
{
	FILE *fp;

	snprintf(path, sizeof(path), "/tmp/spfpd-test-%ld.conf",
	    (long)getpid());
	fp = fopen(path, "w");
	assert_non_null(fp);
	fwrite(text, 1, strlen(text), fp);
	fclose(fp);
	memset(e, 0, sizeof(*e));
	return config_load(path, 1, collect, e);
}

/* golden: file text -> every error, in order, with "FILE" for the path */
static const struct {
	const char *text, *want;
} bad_rows[] = {
	{ "nosuchoption = 1\n", "FILE:1: unknown option 'nosuchoption'\n" },
	{ "# comment\n\nmax_connections\n",
	    "FILE:3: missing '=' in 'max_connections'\n" },
	{ "max_connections = 0\n", "FILE:1: max_connections: expected a "
	    "number from 1 to 100000, not '0'\n" },
	{ "max_connections = 12x\n", "FILE:1: max_connections: expected a "
	    "number from 1 to 100000, not '12x'\n" },
	{ "max_connections = -1\n", "FILE:1: max_connections: expected a "
	    "number from 1 to 100000, not '-1'\n" },
	{ "max_connections = 99999999999999999999999\n", "FILE:1: "
	    "max_connections: expected a number from 1 to 100000, not "
	    "'99999999999999999999999'\n" },
	{ "debug = maybe\n", "FILE:1: debug: expected yes or no, not "
	    "'maybe'\n" },
	{ "idle_timeout = 5y\n", "FILE:1: idle_timeout: expected a time "
	    "from 1000ms to 86400s (units ms, s, m, h, d), not '5y'\n" },
	{ "idle_timeout = 2d\n", "FILE:1: idle_timeout: expected a time "
	    "from 1000ms to 86400s (units ms, s, m, h, d), not '2d'\n" },
	{ "idle_timeout = 999ms\n", "FILE:1: idle_timeout: expected a time "
	    "from 1000ms to 86400s (units ms, s, m, h, d), not '999ms'\n" },
	{ "socket_mode = 0999\n", "FILE:1: socket_mode: expected an octal "
	    "mode such as 0660, not '0999'\n" },
	{ "syslog_facility = kern\n", "FILE:1: syslog_facility: expected "
	    "mail, daemon, user or local0 to local7, not 'kern'\n" },
	{ "whitelist = 192.0.2.0/24, 10.0.0.1/8\n", "FILE:1: whitelist: "
	    "non-zero host bits in '10.0.0.1/8' beyond /8\n" },
	{ "whitelist = 192.0.2.0/24,\n  bogus\n", "FILE:1: whitelist: bad "
	    "address 'bogus'\n" },
	{ "listen = tcp:1.2.3.4:5\n", "FILE:1: listen: 'tcp:1.2.3.4:5': "
	    "expected unix:/path or inet:address:port\n" },
	{ "listen = unix:relative/path\n", "FILE:1: listen: "
	    "'unix:relative/path': UNIX socket path must be absolute\n" },
	{ "listen = inet:127.0.0.1:70000\n", "FILE:1: listen: "
	    "'inet:127.0.0.1:70000': bad port\n" },
	{ "listen = inet:mail.example.com:25\n", "FILE:1: listen: "
	    "'inet:mail.example.com:25': address must be numeric\n" },
	{ "debug = yes\ndebug = no\n", "FILE:2: debug: already set at line "
	    "1\n" },
	{ "  debug = yes\n", "FILE:1: continuation line without a line to "
	    "continue\n" },
	{ "a = 1\nmax_connections = 0\n\nb\n",
	    "FILE:1: unknown option 'a'\n"
	    "FILE:2: max_connections: expected a number from 1 to 100000, "
	    "not '0'\n"
	    "FILE:4: missing '=' in 'b'\n" },
	{ "debug = yes # comment after a value is part of it\n", "FILE:1: "
	    "debug: expected yes or no, not 'yes # comment after a value is "
	    "part of it'\n" },
};

static void
replace_path(const char *in, char *out, size_t outsz)
{
	const char *p;
	size_t o = 0;

	while (*in && o + 1 < outsz) {
		if ((p = strstr(in, "FILE")) == in) {
			o += (size_t)snprintf(out + o, outsz - o, "%s", path);
			in += 4;
		} else {
			out[o++] = *in++;
		}
	}
	out[o] = '\0';
}

static void
test_errors(void **state)
{
	struct errs e;
	char want[1024];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_rows) / sizeof(bad_rows[0]); i++) {
		print_message("config row %zu\n", i);
		assert_null(load_text(bad_rows[i].text, &e));
		replace_path(bad_rows[i].want, want, sizeof(want));
		assert_string_equal(e.buf, want);
	}
	unlink(path);
}

static void
test_good(void **state)
{
	struct config *c;
	struct errs e;

	(void)state;
	c = load_text("# spfpd test\n"
	    "listen = unix:/tmp/x.sock, inet:127.0.0.1:10045\n"
	    "   inet:[::1]:10046\n"
	    "max_connections=50\n"
	    "idle_timeout = 5m\n"
	    "request_timeout = 1500ms\n"
	    "shutdown_timeout = 0\n"
	    "whitelist = 192.0.2.0/24 2001:db8::/32,\n"
	    "\t198.51.100.7\n"
	    "\n"
	    "debug = on\n"
	    "socket_mode = 0660\n"
	    "user =\n", &e);
	assert_string_equal(e.buf, "");
	assert_non_null(c);
	assert_int_equal(c->nlisten, 3);
	assert_string_equal(c->listen[2], "inet:[::1]:10046");
	assert_int_equal(c->max_connections, 50);
	assert_int_equal(c->idle_timeout, 300000);
	assert_int_equal(c->request_timeout, 1500);
	assert_int_equal(c->shutdown_timeout, 0);
	assert_int_equal(c->whitelist.n, 3);
	assert_true(cidr_list_match(&c->whitelist, "198.51.100.7"));
	assert_false(cidr_list_match(&c->whitelist, "198.51.100.8"));
	assert_int_equal(c->debug, 1);
	assert_int_equal(c->socket_mode, 0660);
	assert_string_equal(c->user, "");
	config_unref(c);
	unlink(path);
}

static void
test_defaults(void **state)
{
	struct config *c;
	struct errs e;

	(void)state;
	memset(&e, 0, sizeof(e));
	c = config_load(NULL, 0, collect, &e);
	assert_non_null(c);
	assert_int_equal(c->idle_timeout, 330000);      /* > Postfix's 300s */
	assert_int_equal(c->nlisten, 0);
	assert_string_equal(c->user, "nobody");
	assert_true(cidr_list_match(&c->skip_addresses, "127.0.0.1"));
	assert_true(cidr_list_match(&c->skip_addresses, "::ffff:127.0.0.2"));
	assert_true(cidr_list_match(&c->skip_addresses, "::1"));
	assert_false(cidr_list_match(&c->skip_addresses, "192.0.2.1"));
	assert_int_equal(c->whitelist.n, 0);
	config_unref(c);

	/* a missing default file is fine, an explicit one is not */
	c = config_load("/nonexistent/spfpd.conf", 0, collect, &e);
	assert_non_null(c);
	config_unref(c);
	memset(&e, 0, sizeof(e));
	assert_null(config_load("/nonexistent/spfpd.conf", 1, collect, &e));
	assert_string_equal(e.buf, "/nonexistent/spfpd.conf: No such file or "
	    "directory\n");
}

static void
test_refcount_and_dump(void **state)
{
	struct config *c;
	struct errs e;
	char *buf = NULL;
	size_t len = 0;
	FILE *fp;

	(void)state;
	c = config_load(NULL, 0, collect, &e);
	assert_non_null(c);
	config_ref(c);
	config_unref(c);
	assert_int_equal(c->refs, 1);
	fp = open_memstream(&buf, &len);
	config_dump(c, fp);
	fclose(fp);
	assert_non_null(strstr(buf, "idle_timeout = 330s\n"));
	assert_non_null(strstr(buf, "skip_addresses = 127.0.0.0/8, "
	    "127.0.0.0/8, ::1/128\n"));
	assert_non_null(strstr(buf, "socket_mode = 0666\n"));
	free(buf);
	config_unref(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_refcount_and_dump),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
