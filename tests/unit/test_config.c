/*
 * test_config - the config parser: golden error messages with line
 * numbers (one or more per option type), values of a good file, defaults,
 * continuation lines, what -p prints reads back the same, a value that
 * fails leaves the option as it was; and the address parser (addr.c)
 * behind listen and dns_servers.  trusted_forwarders, and [KEY = VALUE]
 * sections: their errors, the options a section may set, config_select()
 * (the first section that matches), what -p prints of them.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "addr.h"
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

#define X10(s) s s s s s s s s s s

/* golden: file text -> every error, in order, with "FILE" for the path */
struct bad_row {
	const char *text, *want;
};

static const struct bad_row bad_rows[] = {
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
	{ "dns_cache_bytes = 2049M\n", "FILE:1: dns_cache_bytes: expected a "
	    "size from 0 to 2048M (bytes, or units k, M), not '2049M'\n" },
	{ "dns_cache_bytes = 1G\n", "FILE:1: dns_cache_bytes: expected a "
	    "size from 0 to 2048M (bytes, or units k, M), not '1G'\n" },
	{ "mail_from_reject = null\n", "FILE:1: mail_from_reject: expected "
	    "one of fail, softfail, not_pass, no, no_check; not 'null'\n" },
	{ "ptr_reject_code = 451\n", "FILE:1: ptr_reject_code: expected one "
	    "of 550, 450; not '451'\n" },
	{ "helo_whitelist = example.com a..b\n", "FILE:1: helo_whitelist: "
	    "'a..b' is not a domain name\n" },
	{ "reason_message = {spf} {bad}\n", "FILE:1: reason_message: unknown "
	    "placeholder '{bad}' (known: {rejectdefer}, {spf}, {url}, "
	    "{result}, {identity}, {domain})\n" },
	{ "reason_message = a}\n", "FILE:1: reason_message: unmatched '}'\n" },
	{ "mail_from_pass_restriction = spf pass\n", "FILE:1: "
	    "mail_from_pass_restriction: expected the name of a restriction "
	    "class (a letter, then letters, digits, '_' or '-'; at most 100), "
	    "not 'spf pass'\n" },
	{ "debug = no\n\nhelo_pass_restriction = 9class\n", "FILE:3: "
	    "helo_pass_restriction: expected the name of a restriction "
	    "class (a letter, then letters, digits, '_' or '-'; at most 100), "
	    "not '9class'\n" },
	{ "helo_pass_restriction = class,x\n", "FILE:1: "
	    "helo_pass_restriction: expected the name of a restriction "
	    "class (a letter, then letters, digits, '_' or '-'; at most 100), "
	    "not 'class,x'\n" },
	{ "mail_from_pass_restriction = DUNNO\n", "FILE:1: "
	    "mail_from_pass_restriction: 'DUNNO' is an access(5) action, not "
	    "a restriction class name\n" },
	{ "reject_only_no_mail = maybe\n", "FILE:1: reject_only_no_mail: "
	    "expected yes or no, not 'maybe'\n" },
	{ "dnswl_zones = a..b\n", "FILE:1: dnswl_zones: 'a..b' is not a "
	    "domain name\n" },
	{ "dnswl_zones = " X10(X10("a.")) "a\n", "FILE:1: dnswl_zones: '"
	    X10("a.a.a.a.a.") "' is too long for a DNSWL zone (at most 188 "
	    "bytes)\n" },
	{ "dnswl_zones = z1.example z2.example z3.example z4.example "
	    "z5.example z6.example z7.example z8.example z9.example "
	    "z10.example z11.example z12.example z13.example z14.example "
	    "z15.example z16.example z17.example\n", "FILE:1: dnswl_zones: "
	    "more than 16 zones\n" },
	{ "reason_message = {a\n", "FILE:1: reason_message: unmatched '{'\n" },
	{ "syslog_socket = /" X10(X10("a")) "aaaaaaa\n", "FILE:1: "
	    "syslog_socket: expected an absolute path of at most 107 bytes, "
	    "not '/" X10("aaaaaaaaa") "aaaaaaaaa'\n" },    /* cut at 100 */
	{ "dns_servers = 192.0.2.1, 192.0.2.2:0\n", "FILE:1: dns_servers: "
	    "'192.0.2.2:0': expected address, address:port or [IPv6]:port\n" },
	{ "dns_servers = localhost\n", "FILE:1: dns_servers: 'localhost': "
	    "expected address, address:port or [IPv6]:port\n" },
	{ "listen = inet:[::1]\n", "FILE:1: listen: 'inet:[::1]': expected "
	    "inet:[IPv6]:port\n" },
	{ "listen = inet:192.0.2.1\n", "FILE:1: listen: 'inet:192.0.2.1': "
	    "missing port\n" },
	{ "listen = unix:/" X10(X10("p")) "ppppppp\n", "FILE:1: listen: "
	    "'unix:/" X10("ppppppppp") "pppp': path too long\n" },
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

/* check_rows - each file of rows fails to load with exactly its errors */
static void
check_rows(const struct bad_row *rows, size_t n, const char *what)
{
	struct errs e;
	char want[2048];
	size_t i;

	for (i = 0; i < n; i++) {
		print_message("%s row %zu\n", what, i);
		assert_null(load_text(rows[i].text, &e));
		replace_path(rows[i].want, want, sizeof(want));
		assert_string_equal(e.buf, want);
	}
}

static void
test_errors(void **state)
{
	(void)state;
	check_rows(bad_rows, sizeof(bad_rows) / sizeof(bad_rows[0]),
	    "config");
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
	assert_int_equal(c->listen.n, 3);
	assert_string_equal(c->listen.v[2], "inet:[::1]:10046");
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
	assert_int_equal(c->listen.n, 0);
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

/* dump_text - what spfpd -p prints */
static char *
dump_text(const struct config *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp;

	fp = open_memstream(&buf, &len);
	assert_non_null(fp);
	config_dump(c, fp);
	fclose(fp);
	return buf;
}

static void
test_refcount_and_dump(void **state)
{
	struct config *c;
	struct errs e;
	char *buf;

	(void)state;
	c = config_load(NULL, 0, collect, &e);
	assert_non_null(c);
	config_ref(c);
	config_unref(c);
	assert_int_equal(c->refs, 1);
	buf = dump_text(c);
	assert_non_null(strstr(buf, "idle_timeout = 330s\n"));
	assert_non_null(strstr(buf, "skip_addresses = 127.0.0.0/8, "
	    "127.0.0.0/8, ::1/128\n"));
	assert_non_null(strstr(buf, "socket_mode = 0666\n"));
	free(buf);
	config_unref(c);
}

/* every option away from its default */
static const char every_option[] =
    "listen = unix:/tmp/x.sock, inet:127.0.0.1:10045 inet:[::1]:10046\n"
    "socket_mode = 0600\n"
    "socket_owner = postfix\n"
    "socket_group = postfix\n"
    "user = spfpd\n"
    "group = spfpd\n"
    "syslog_facility = local3\n"
    "syslog_socket = /run/log\n"
    "debug = yes\n"
    "metrics_listen = inet:[::1]:9045\n"
    "max_connections = 50\n"
    "max_line_length = 8192\n"
    "max_attributes = 64\n"
    "max_request_size = 65536\n"
    "idle_timeout = 5m\n"
    "request_timeout = 1500ms\n"
    "shutdown_timeout = 0\n"
    "dns_servers = 192.0.2.53, [2001:db8::53]:5353\n"
    "dns_timeout = 500ms\n"
    "dns_tries = 2\n"
    "dns_cache_size = 0\n"
    "dns_cache_bytes = 1536k\n"
    "dns_negative_ttl = 1h\n"
    "dns_max_ttl = 2d\n"
    "dns_failure_ttl = 0\n"
    "default_explanation = see %{d}\n"
    "helo_reject = null\n"
    "mail_from_reject = not_pass\n"
    "permerror_reject = yes\n"
    "temperror_defer = yes\n"
    "reject_not_pass_domains = Example.COM.\n"
    "header_type = authentication-results\n"
    "authserv_id = mx.example.org\n"
    "hide_receiver = yes\n"
    "test_only = yes\n"
    "skip_authenticated = no\n"
    "domain_whitelist = a.example, b.example\n"
    "helo_whitelist = c.example\n"
    "lookup_time = 90s\n"
    "reason_message = {{{result}}} {spf}\n"
    "helo_pass_restriction = helo-pass_1\n"
    "mail_from_pass_restriction = spf_pass\n"
    "reject_only_no_mail = yes\n"
    "trust_recipient_mx = no\n"
    "dnswl_zones = List.DNSWL.example., wl.example\n"
    "trusted_forwarders = 192.0.2.0/24 ptr:lists.example spf:fwd.example\n"
    "recipient_delimiter = +-\n"
    "ptr_check = reject\n"
    "ptr_reject_code = 450\n"
    "ptr_temperror_defer = no\n"
    "ptr_whitelist = 192.0.2.0/24\n"
    "ptr_domain_whitelist = d.example\n"
    "ptr_max_names = 32\n"
    "skip_addresses = ::1\n"
    "whitelist = 2001:db8::/32\n";

/* what -p prints reads back to the same config, for every option */
static void
test_dump_reads_back(void **state)
{
	struct config *c, *d, *defaults;
	struct errs e;
	char *a, *b, *def, *p, *q;
	size_t n;

	(void)state;
	c = load_text(every_option, &e);
	assert_string_equal(e.buf, "");
	assert_non_null(c);
	assert_int_equal(c->helo_reject, REJECT_NULL);
	assert_int_equal(c->mail_from_reject, REJECT_NOT_PASS);
	assert_int_equal(c->header_type, HEADER_AUTH_RESULTS);
	assert_int_equal(c->ptr_check, PTR_REJECT);
	assert_int_equal(c->ptr_reject_code, PTR_CODE_450);
	assert_int_equal(c->dns_cache_bytes, 1536 * 1024);
	assert_int_equal(c->dns_servers.n, 2);
	assert_string_equal(c->dns_servers.csv,
	    "192.0.2.53:53,[2001:db8::53]:5353");
	assert_int_equal(c->listen.n, 3);
	assert_string_equal(c->listen.v[1], "inet:127.0.0.1:10045");
	assert_string_equal(c->reject_not_pass_domains.v[0], "example.com");
	a = dump_text(c);
	d = load_text(a, &e);
	assert_string_equal(e.buf, "");
	assert_non_null(d);
	b = dump_text(d);
	assert_string_equal(a, b);

	/* each line differs from the default's: every option was read */
	defaults = config_load(NULL, 0, collect, &e);
	def = dump_text(defaults);
	for (p = a, q = def; *p != '\0' && *q != '\0';
	    p = strchr(p, '\n') + 1, q = strchr(q, '\n') + 1) {
		n = strcspn(p, "\n");
		if (n == strcspn(q, "\n") && strncmp(p, q, n) == 0)
			fail_msg("a default: %.*s", (int)n, p);
	}
	free(a);
	free(b);
	free(def);
	config_unref(c);
	config_unref(d);
	config_unref(defaults);
	unlink(path);
}

/* a value that fails leaves the option as it was, whatever its type */
static void
test_set_keeps_value(void **state)
{
	static const char *const bad[][2] = {
		{ "listen", "unix:/tmp/y.sock inet:bogus:1" },
		{ "dns_servers", "192.0.2.1 bogus" },
		{ "whitelist", "192.0.2.0/24 bogus" },
		{ "helo_whitelist", "a.example b..c" },
		{ "debug", "maybe" },
		{ "max_connections", "0" },
		{ "idle_timeout", "5y" },
		{ "dns_cache_bytes", "1G" },
		{ "socket_mode", "0999" },
		{ "syslog_socket", "relative" },
		{ "reason_message", "{x}" },
		{ "helo_reject", "sometimes" },
		{ "syslog_facility", "kern" },
		{ "mail_from_pass_restriction", "a b" },
		{ "trusted_forwarders", "192.0.2.0/24 foo:bar" },
	};
	struct config *c;
	struct errs e;
	char err[512], *before, *after;
	size_t i;

	(void)state;
	c = load_text(every_option, &e);
	assert_non_null(c);
	before = dump_text(c);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_message("config_set %s = %s\n", bad[i][0], bad[i][1]);
		assert_int_equal(config_set(c, bad[i][0], bad[i][1], err,
		    sizeof(err)), -1);
		after = dump_text(c);
		assert_string_equal(before, after);
		free(after);
	}
	assert_int_equal(config_set(c, "nosuch", "1", err, sizeof(err)), -1);
	assert_string_equal(err, "unknown option 'nosuch'");
	free(before);
	config_unref(c);
	unlink(path);
}

static void
test_many_domains(void **state)
{
	char text[2048], want[256];
	struct config *c;
	struct errs e;
	size_t len;
	int i;

	(void)state;
	len = (size_t)snprintf(text, sizeof(text), "helo_whitelist =");
	for (i = 0; i < 64; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len,
		    " d%d.example", i);
	snprintf(text + len, sizeof(text) - len, "\n");
	c = load_text(text, &e);
	assert_non_null(c);
	assert_int_equal(c->helo_whitelist.n, 64);
	config_unref(c);
	snprintf(text + len, sizeof(text) - len, " d64.example\n");
	assert_null(load_text(text, &e));
	replace_path("FILE:1: helo_whitelist: more than 64 domains\n", want,
	    sizeof(want));
	assert_string_equal(e.buf, want);
	unlink(path);
}

/* dns_servers entries into c-ares's form, and entries refused */
static void
test_servers(void **state)
{
	static const char *const bad[] = {
		"192.0.2.1:0", "192.0.2.1:65536", "192.0.2.1:", "192.0.2.1:+5",
		"[::1]x", "[::1]:", "[::1", "localhost", "example.com:53", "",
	};
	char out[ADDR_SERVER_STRLEN];
	struct config *c;
	struct errs e;
	size_t i;

	(void)state;
	/* "::1:25": colons without brackets are an address, with no port */
	c = load_text("dns_servers = 192.0.2.1, 192.0.2.1:5353, "
	    "[192.0.2.1]:54,\n ::1 ::1:25 [::1] [::1]:5353 ::ffff:192.0.2.1\n",
	    &e);
	assert_string_equal(e.buf, "");
	assert_non_null(c);
	assert_int_equal(c->dns_servers.n, 8);
	assert_string_equal(c->dns_servers.csv, "192.0.2.1:53,192.0.2.1:5353,"
	    "192.0.2.1:54,[::1]:53,[::1:25]:53,[::1]:53,[::1]:5353,"
	    "[::ffff:192.0.2.1]:53");
	config_unref(c);
	unlink(path);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_message("server '%s'\n", bad[i]);
		assert_int_equal(addr_parse_server(bad[i], out, sizeof(out)),
		    -1);
	}
}

/* addr_parse_listen: a listen spec -> family and port, or why not */
static const struct {
	const char *in, *why;
	int family;
	unsigned port;
} listen_rows[] = {
	{ "unix:/run/spfpd.sock", NULL, AF_UNIX, 0 },
	{ "inet:127.0.0.1:10045", NULL, AF_INET, 10045 },
	{ "inet:localhost:25", NULL, AF_INET, 25 },
	{ "inet:[::1]:10046", NULL, AF_INET6, 10046 },
	{ "inet:::1:25", NULL, AF_INET6, 25 },  /* the last colon: the port */
	{ "unix:run/spfpd.sock", "UNIX socket path must be absolute", 0, 0 },
	{ "tcp:127.0.0.1:25", "expected unix:/path or inet:address:port", 0,
	    0 },
	{ "inet:[::1]", "expected inet:[IPv6]:port", 0, 0 },
	{ "inet:[::1]x:25", "expected inet:[IPv6]:port", 0, 0 },
	{ "inet:127.0.0.1", "missing port", 0, 0 },
	{ "inet:127.0.0.1:0", "bad port", 0, 0 },
	{ "inet:127.0.0.1:65536", "bad port", 0, 0 },
	{ "inet:127.0.0.1:x", "bad port", 0, 0 },
	{ "inet:example.com:25", "address must be numeric", 0, 0 },
	{ "inet::25", "address must be numeric", 0, 0 },
};

static void
test_listen_addr(void **state)
{
	struct listen_addr la;
	char err[256], want[256];
	unsigned port;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(listen_rows) / sizeof(listen_rows[0]); i++) {
		print_message("listen '%s'\n", listen_rows[i].in);
		if (listen_rows[i].why != NULL) {
			assert_int_equal(addr_parse_listen(listen_rows[i].in,
			    &la, err, sizeof(err)), -1);
			snprintf(want, sizeof(want), "listen: '%s': %s",
			    listen_rows[i].in, listen_rows[i].why);
			assert_string_equal(err, want);
			continue;
		}
		assert_int_equal(addr_parse_listen(listen_rows[i].in, &la,
		    err, sizeof(err)), 0);
		assert_int_equal(la.family, listen_rows[i].family);
		if (la.family == AF_UNIX) {
			assert_string_equal(la.path, listen_rows[i].in + 5);
			continue;
		}
		assert_int_equal(la.ss.ss_family, la.family);
		port = ntohs(la.family == AF_INET ?
		    ((struct sockaddr_in *)&la.ss)->sin_port :
		    ((struct sockaddr_in6 *)&la.ss)->sin6_port);
		assert_int_equal(port, listen_rows[i].port);
		assert_int_equal(la.sslen, la.family == AF_INET ?
		    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
	}
}

/* ----- trusted_forwarders and sections (issue 15 items 2 and 6) ----- */

/* load_error_prefix - text fails to load with one error starting so */
static void
load_error_prefix(const char *text, const char *prefix)
{
	struct errs e;
	char want[256];

	print_message("config '%s'\n", text);
	assert_null(load_text(text, &e));
	replace_path(prefix, want, sizeof(want));
	if (strncmp(e.buf, want, strlen(want)) != 0)
		fail_msg("error '%s', expected it to start with '%s'", e.buf,
		    want);
	/* one error, one line */
	assert_non_null(strchr(e.buf, '\n'));
	assert_string_equal(strchr(e.buf, '\n'), "\n");
}

static void
test_forwarders(void **state)
{
	static const char *const bad[] = {
		"trusted_forwarders = foo:bar\n",
		"trusted_forwarders = 192.0.2.0/24 ptr:a..b\n",
		"trusted_forwarders = spf:\n",
		"trusted_forwarders = ptr:\n",
		"trusted_forwarders = spf:-x..example\n",
		"trusted_forwarders = 192.0.2.0/33\n",
		"trusted_forwarders = 10.0.0.1/8\n",
		"trusted_forwarders = bogus\n",
		"trusted_forwarders = example.com\n",
		"trusted_forwarders = ptr:a.example, spf:b.example\n"
		    "  mx:c.example\n",
	};
	char text[1024];
	struct config *c;
	struct errs e;
	size_t len, i;
	char *buf;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		load_error_prefix(bad[i], "FILE:1: trusted_forwarders: ");

	c = load_text("debug = no\n"
	    "trusted_forwarders = spf:Fwd.Example., 192.0.2.0/24\n"
	    "  ptr:Lists.Example 2001:db8::/32, ptr:b.example\n", &e);
	assert_string_equal(e.buf, "");
	assert_non_null(c);
	assert_int_equal(c->trusted_forwarders.cidrs.n, 2);
	assert_true(cidr_list_match(&c->trusted_forwarders.cidrs,
	    "192.0.2.77"));
	assert_true(cidr_list_match(&c->trusted_forwarders.cidrs,
	    "2001:db8:1::1"));
	assert_false(cidr_list_match(&c->trusted_forwarders.cidrs,
	    "198.51.100.1"));
	assert_int_equal(c->trusted_forwarders.ptr.n, 2);
	assert_string_equal(c->trusted_forwarders.ptr.v[0], "lists.example");
	assert_string_equal(c->trusted_forwarders.ptr.v[1], "b.example");
	assert_int_equal(c->trusted_forwarders.spf.n, 1);
	assert_string_equal(c->trusted_forwarders.spf.v[0], "fwd.example");
	/* label boundary, as for every domain list */
	assert_true(domain_list_match(&c->trusted_forwarders.ptr,
	    "a.lists.example"));
	assert_false(domain_list_match(&c->trusted_forwarders.ptr,
	    "evillists.example"));
	/* -p: addresses, then ptr:, then spf: */
	buf = dump_text(c);
	assert_non_null(strstr(buf, "\ntrusted_forwarders = 192.0.2.0/24, "
	    "2001:db8::/32, ptr:lists.example, ptr:b.example, "
	    "spf:fwd.example\n"));
	free(buf);
	config_unref(c);

	/* the default: empty */
	c = config_load(NULL, 0, collect, &e);
	assert_int_equal(c->trusted_forwarders.cidrs.n, 0);
	assert_int_equal(c->trusted_forwarders.ptr.n, 0);
	assert_int_equal(c->trusted_forwarders.spf.n, 0);
	buf = dump_text(c);
	assert_non_null(strstr(buf, "\ntrusted_forwarders =\n"));
	free(buf);
	config_unref(c);

	/* at most 16 ptr: and spf: items together; addresses apart */
	len = (size_t)snprintf(text, sizeof(text), "trusted_forwarders = "
	    "192.0.2.1 192.0.2.2 192.0.2.3");
	for (i = 0; i < 16; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len,
		    " %s:f%zu.example", i % 2 ? "ptr" : "spf", i);
	snprintf(text + len, sizeof(text) - len, "\n");
	c = load_text(text, &e);
	assert_string_equal(e.buf, "");
	assert_non_null(c);
	assert_int_equal(c->trusted_forwarders.cidrs.n, 3);
	assert_int_equal(c->trusted_forwarders.ptr.n +
	    c->trusted_forwarders.spf.n, 16);
	config_unref(c);
	snprintf(text + len, sizeof(text) - len, " ptr:f16.example\n");
	load_error_prefix(text, "FILE:1: trusted_forwarders: ");
	snprintf(text + len, sizeof(text) - len, " spf:f16.example\n");
	load_error_prefix(text, "FILE:1: trusted_forwarders: ");
	unlink(path);
}

#define KEYS_MSG "(recipient, policy_context, server_address, server_port)"

/* golden: section errors, with their line numbers */
static const struct bad_row section_rows[] = {
	{ "[foo = bar]\n", "FILE:1: unknown section key 'foo' " KEYS_MSG
	    "\n" },
	{ "debug = no\n\n[rcpt = example.com]\n", "FILE:3: unknown "
	    "section key 'rcpt' " KEYS_MSG "\n" },
	{ "debug = no\n[recipient = example.com\n", "FILE:2: missing ']'\n" },
	{ "[recipient = ]\n", "FILE:1: section without a value\n" },
	/* sections that could never apply */
	{ "[recipient = example.com]\n[recipient = Boss@Example.com]\n",
	    "FILE:2: recipient: boss@example.com never gets this section: "
	    "the section at line 1 comes first\n" },
	{ "[recipient = example.com]\n\n[recipient = a.b.example.com, "
	    "example.org]\n[recipient = example.org]\n",
	    "FILE:3: recipient: a.b.example.com never gets this section: "
	    "the section at line 1 comes first\n"
	    "FILE:4: recipient: example.org never gets this section: "
	    "the section at line 3 comes first\n" },
	{ "[recipient = postmaster]\n", "FILE:1: recipient: 'postmaster' "
	    "is no domain (no dot) and no address\n" },
	/* indented: it would continue the line before */
	{ "default_explanation = x\n  [recipient = example.com]\n",
	    "FILE:2: a section line must start in the first column\n" },
	{ "[recipient =]\n", "FILE:1: section without a value\n" },
	{ "[policy_context = ]\n", "FILE:1: section without a value\n" },
	{ "[recipient]\n", "FILE:1: 'recipient' section without '='\n" },
	{ "[server_port]\n", "FILE:1: 'server_port' section without '='\n" },
	{ "[recipient = a..b]\n", "FILE:1: recipient: bad domain 'a..b'\n" },
	{ "[recipient = example.com, a..b]\n", "FILE:1: recipient: bad "
	    "domain 'a..b'\n" },
	{ "[server_port = 0]\n", "FILE:1: server_port: bad port '0'\n" },
	{ "[server_port = 65536]\n", "FILE:1: server_port: bad port "
	    "'65536'\n" },
	{ "[server_port = 25x]\n", "FILE:1: server_port: bad port '25x'\n" },
	{ "[server_port = 25, smtp]\n", "FILE:1: server_port: bad port "
	    "'smtp'\n" },
	{ "[server_port = -25]\n", "FILE:1: server_port: bad port '-25'\n" },
	{ "[recipient = example.com]\nlisten = unix:/tmp/x.sock\n",
	    "FILE:2: listen cannot be set in a section\n" },
	{ "[recipient = example.com]\n\n# no\nlookup_time = 5s\n",
	    "FILE:4: lookup_time cannot be set in a section\n" },
	{ "[server_port = 587]\nptr_max_names = 5\n", "FILE:2: "
	    "ptr_max_names cannot be set in a section\n" },
	{ "[server_port = 587]\ndns_servers = 192.0.2.53\n", "FILE:2: "
	    "dns_servers cannot be set in a section\n" },
	{ "test_only = yes\n[recipient = example.com]\ntest_only = no\n"
	    "mail_from_reject = no\n\ntest_only = yes\n", "FILE:6: test_only: "
	    "already set at line 3\n" },
	{ "[recipient = example.com]\nmail_from_reject = sometimes\n",
	    "FILE:2: mail_from_reject: expected one of fail, softfail, "
	    "not_pass, no, no_check; not 'sometimes'\n" },
	/* every error of the file, each at its line */
	{ "debug = no\n"
	  "[recipient = example.com]\n"
	  "lookup_time = 5s\n"
	  "test_only = yes\n"
	  "test_only = no\n"
	  "[server_port = 0]\n"
	  "[recipient = example.net]\n"
	  "test_only = no\n"
	  "user = nobody\n"
	  "[nope = 1]\n",
	  "FILE:3: lookup_time cannot be set in a section\n"
	  "FILE:5: test_only: already set at line 4\n"
	  "FILE:6: server_port: bad port '0'\n"
	  "FILE:9: user cannot be set in a section\n"
	  "FILE:10: unknown section key 'nope' " KEYS_MSG "\n" },
};

static void
test_section_errors(void **state)
{
	(void)state;
	check_rows(section_rows, sizeof(section_rows) /
	    sizeof(section_rows[0]), "section");
	/* a bad address: an error of its own line, named by the key */
	load_error_prefix("[server_address = bogus]\n",
	    "FILE:1: server_address: ");
	load_error_prefix("[server_address = 192.0.2.0/24, 10.0.0.1/8]\n",
	    "FILE:1: server_address: ");
	unlink(path);
}

/* the options a section may set (SPEC.md), and only those */
static const char *const section_options[] = {
	"helo_reject", "mail_from_reject", "permerror_reject",
	"temperror_defer", "reject_not_pass_domains", "reject_only_no_mail",
	"test_only", "header_type", "authserv_id", "hide_receiver",
	"reason_message", "default_explanation", "skip_authenticated",
	"skip_addresses", "whitelist", "domain_whitelist", "helo_whitelist",
	"ptr_check", "ptr_reject_code", "ptr_temperror_defer", "ptr_whitelist",
	"ptr_domain_whitelist", "helo_pass_restriction",
	"mail_from_pass_restriction", "trust_recipient_mx", "dnswl_zones",
	"trusted_forwarders",
};

static int
section_option(const char *name, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof(section_options) / sizeof(section_options[0]);
	    i++)
		if (strlen(section_options[i]) == n &&
		    strncmp(section_options[i], name, n) == 0)
			return 1;
	return 0;
}

/* each option, at its default value, in a section: allowed or refused */
static void
test_section_options(void **state)
{
	struct config *defaults, *c;
	char text[4096], want[512], *def, *p, *eq;
	size_t n, allowed = 0, refused = 0;
	struct errs e;

	(void)state;
	defaults = config_load(NULL, 0, collect, &e);
	def = dump_text(defaults);
	for (p = def; *p != '\0' && *p != '['; p = strchr(p, '\n') + 1) {
		n = strcspn(p, "\n");
		eq = strstr(p, " =");
		assert_non_null(eq);
		snprintf(text, sizeof(text), "debug = no\n[recipient = "
		    "example.com]\n%.*s\n", (int)n, p);
		print_message("%s", text);
		if (section_option(p, (size_t)(eq - p))) {
			c = load_text(text, &e);
			assert_string_equal(e.buf, "");
			assert_non_null(c);
			config_unref(c);
			allowed++;
		} else {
			assert_null(load_text(text, &e));
			snprintf(text, sizeof(text), "FILE:3: %.*s cannot be "
			    "set in a section\n", (int)(eq - p), p);
			replace_path(text, want, sizeof(want));
			assert_string_equal(e.buf, want);
			refused++;
		}
	}
	/* every option of the list is one -p prints */
	assert_int_equal(allowed, sizeof(section_options) /
	    sizeof(section_options[0]));
	assert_true(refused >= 20);
	free(def);
	config_unref(defaults);
	unlink(path);
}

static const char sections_text[] =
    "# global\n"
    "authserv_id = mx.example\n"
    "lookup_time = 5s\n"
    "mail_from_reject = softfail\n"
    "test_only = no\n"
    "\n"
    "[recipient = example.com, example.net]\n"
    "test_only = yes\n"
    "# the same as the global settings: not printed by -p\n"
    "mail_from_reject = softfail\n"
    "[ recipient=boss@example.org ]\n"
    "header_type = authentication-results\n"
    "whitelist = 192.0.2.0/24\n"
    "[recipient = example.org]\n"
    "[policy_context = submission]\n"
    "mail_from_reject = no\n"
    "[server_address = 192.0.2.0/24, 2001:db8::/32]\n"
    "hide_receiver = yes\n"
    "[server_port = 587,465]\n"
    "permerror_reject = yes\n"
    "[recipient = sub.example.info]\n"
    "test_only = no\n"
    "[recipient = fwd.example]\n"
    "trusted_forwarders = 198.51.100.0/24 ptr:Lists.Example. "
    "spf:fwd.example\n"
    "test_only = yes\n";

/* sel - config_select() of these keys ("" and NULL: none) */
static struct config *
sel(struct config *c, const char *rcpt, const char *context,
    const char *addr, const char *port)
{
	struct config_keys k;

	memset(&k, 0, sizeof(k));
	k.recipient = rcpt;
	k.policy_context = context;
	k.server_address = addr;
	k.server_port = port;
	return config_select(c, &k);
}

static void
assert_section(struct config *s, const char *want)
{
	if (want == NULL) {
		if (s->section != NULL)
			fail_msg("section '%s', expected the global settings",
			    s->section);
		return;
	}
	if (s->section == NULL)
		fail_msg("the global settings, expected section '%s'", want);
	assert_string_equal(s->section, want);
}

/*
 * domain_list_find: which entry a name is at or below, on a label
 * boundary; the _host variant refuses a name with an escaped byte, which
 * a trusted PTR name must never be ("a\\.lists.example.org" is under
 * example.org, not lists.example.org)
 */
static void
test_domain_list_find(void **state)
{
	char *v[] = { "example.com", "lists.example.org" };
	struct domain_list l = { v, 2 };

	(void)state;
	assert_int_equal(domain_list_find(&l, "example.com"), 0);
	assert_int_equal(domain_list_find(&l, "A.Example.COM."), 0);
	assert_int_equal(domain_list_find(&l, "x.lists.example.org"), 1);
	assert_int_equal(domain_list_find(&l, "evillists.example.org"), -1);
	assert_int_equal(domain_list_find(&l, "example.org"), -1);
	assert_int_equal(domain_list_match(&l, "b.example.com"), 1);
	assert_int_equal(domain_list_match(&l, "bexample.com"), 0);
	assert_int_equal(domain_list_find_host(&l, "x.lists.example.org"), 1);
	assert_int_equal(domain_list_find(&l, "a\\.lists.example.org"), 1);
	assert_int_equal(domain_list_find_host(&l, "a\\.lists.example.org"),
	    -1);
	assert_int_equal(domain_list_find_host(&l, "x\\046y.example.com"), -1);
}

/*
 * A migrated Per_User file: thousands of sections, found through the
 * hash tables (grown many times over), the first that lists a name
 * winning, a section of another key before them still first
 */
static void
test_section_many(void **state)
{
	enum { N = 3000 };
	char *text, name[64], want[512];
	struct config *c;
	struct errs e;
	size_t len = 0, cap = N * 80 + 256, i;

	(void)state;
	text = malloc(cap);
	assert_non_null(text);
	len += (size_t)snprintf(text + len, cap - len,
	    "[server_port = 2525]\ntest_only = yes\n");
	for (i = 0; i < N; i++)
		len += (size_t)snprintf(text + len, cap - len,
		    "[recipient = u%zu@big.example, d%zu.example]\n", i, i);
	c = load_text(text, &e);
	assert_string_equal(e.buf, "");
	assert_non_null(c);
	/* listed again, later: it would never apply, an error */
	snprintf(text + len, cap - len, "[recipient = u7@big.example]\n"
	    "[recipient = x.d9.example]\n");
	assert_null(load_text(text, &e));
	free(text);
	replace_path("FILE:3003: recipient: u7@big.example never gets this "
	    "section: the section at line 10 comes first\n"
	    "FILE:3004: recipient: x.d9.example never gets this section: the "
	    "section at line 12 comes first\n", want, sizeof(want));
	assert_string_equal(e.buf, want);
	for (i = 0; i < N; i += 97) {
		snprintf(want, sizeof(want), "recipient = u%zu@big.example, "
		    "d%zu.example", i, i);
		snprintf(name, sizeof(name), "U%zu+ext@Big.Example.", i);
		assert_section(sel(c, name, NULL, NULL, NULL), want);
		snprintf(name, sizeof(name), "x@a.b.d%zu.example", i);
		assert_section(sel(c, name, NULL, NULL, NULL), want);
	}
	assert_section(sel(c, "u7@big.example", NULL, NULL, NULL),
	    "recipient = u7@big.example, d7.example");
	assert_section(sel(c, "x@d9.example", NULL, NULL, NULL),
	    "recipient = u9@big.example, d9.example");
	assert_section(sel(c, "u5@big.example", NULL, NULL, "2525"),
	    "server_port = 2525");
	assert_section(sel(c, "u3000@big.example", NULL, NULL, NULL), NULL);
	assert_section(sel(c, "x@xd9.example", NULL, NULL, NULL), NULL);
	config_unref(c);
	unlink(path);
}

/*
 * SMTPUTF8: Postfix looks a UTF-8 domain up in its ASCII form (IDNA2008,
 * case and NFC folded), so sections do too, on both sides
 */
#define BUCHER "recipient = b\xc3\xbc" "cher.example"

static void
test_section_idn(void **state)
{
	static const struct {
		const char *rcpt, *want;
	} rows[] = {
		{ "x@b\xc3\xbc" "cher.example", BUCHER },
		/* BÜCHER: upper case, folded */
		{ "x@B\xc3\x9c" "CHER.Example", BUCHER },
		{ "x@XN--bcher-kva.example", BUCHER },
		{ "x@sub.b\xc3\xbc" "cher.example", BUCHER },
		/* u + combining diaeresis: NFC makes it ü */
		{ "x@bu\xcc\x88" "cher.example", BUCHER },
		{ "j@m\xc3\xbcller.example",
		    "recipient = j@xn--mller-kva.example" },
		{ "j+x%M\xc3\xbcller.example@localhost",
		    "recipient = j@xn--mller-kva.example" },
		{ "x@bucher.example", NULL },
		/* not a valid name: compared as it is, matches nothing */
		{ "x@b\xc3\xbc..example", NULL },
		{ "x@\xff\xfe.example", NULL },
	};
	struct config *c;
	struct errs e;
	size_t i;

	(void)state;
	c = load_text("[recipient = B\xc3\xbc" "cher.Example]\n"
	    "[recipient = J@xn--MLLER-kva.example]\n", &e);
	assert_string_equal(e.buf, "");
	assert_non_null(c);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		print_message("idn row %zu\n", i);
		assert_section(sel(c, rows[i].rcpt, NULL, NULL, NULL),
		    rows[i].want);
	}
	config_unref(c);
	/* the same domain twice, written two ways: a dead section */
	assert_null(load_text("[recipient = b\xc3\xbc" "cher.example]\n"
	    "[recipient = xn--bcher-kva.example]\n", &e));
	assert_non_null(strstr(e.buf, ":2: recipient: xn--bcher-kva.example "
	    "never gets this section: the section at line 1 comes first"));
	unlink(path);
}

static void
test_section_select(void **state)
{
	static const struct {
		const char *rcpt, *context, *addr, *port, *want;
	} rows[] = {
		{ "u@example.com", NULL, NULL, NULL,
		    "recipient = example.com, example.net" },
		{ "U@EXAMPLE.NET", NULL, NULL, NULL,
		    "recipient = example.com, example.net" },
		/* below example.com */
		{ "u@a.Sub.Example.com", NULL, NULL, NULL,
		    "recipient = example.com, example.net" },
		{ "u@badexample.com", NULL, NULL, NULL, NULL },
		{ "u@example.com.evil.example", NULL, NULL, NULL, NULL },
		{ "Boss@Example.ORG", NULL, NULL, NULL,
		    "recipient = boss@example.org" },
		{ "boss@sub.example.org", NULL, NULL, NULL,
		    "recipient = example.org" },
		{ "xboss@example.org", NULL, NULL, NULL,
		    "recipient = example.org" },
		{ "other@example.org", NULL, NULL, NULL,
		    "recipient = example.org" },
		{ "u@fwd.example", NULL, NULL, NULL,
		    "recipient = fwd.example" },
		{ NULL, "submission", NULL, NULL,
		    "policy_context = submission" },
		{ "", "submission", "", "", "policy_context = submission" },
		{ NULL, "Submission", NULL, NULL, NULL },
		{ NULL, "submission2", NULL, NULL, NULL },
		{ NULL, NULL, "192.0.2.9", NULL,
		    "server_address = 192.0.2.0/24, 2001:db8::/32" },
		{ NULL, NULL, "2001:db8:1::1", NULL,
		    "server_address = 192.0.2.0/24, 2001:db8::/32" },
		{ NULL, NULL, "198.51.100.1", NULL, NULL },
		{ NULL, NULL, "bogus", NULL, NULL },
		{ NULL, NULL, NULL, "465", "server_port = 587, 465" },
		{ NULL, NULL, NULL, "587", "server_port = 587, 465" },
		{ NULL, NULL, NULL, "4650", NULL },
		{ NULL, NULL, NULL, "25", NULL },
		/* first match in file order, whatever the key */
		{ "u@example.com", "submission", "192.0.2.9", "587",
		    "recipient = example.com, example.net" },
		{ "u@dest.example", "submission", "192.0.2.9", "587",
		    "policy_context = submission" },
		{ "u@dest.example", "other", "192.0.2.9", "587",
		    "server_address = 192.0.2.0/24, 2001:db8::/32" },
		{ "u@dest.example", "other", "198.51.100.1", "587",
		    "server_port = 587, 465" },
		{ NULL, NULL, NULL, NULL, NULL },
		{ "", "", "", "", NULL },
	};
	struct config *c, *s;
	struct errs e;
	size_t i;

	(void)state;
	c = load_text(sections_text, &e);
	assert_string_equal(e.buf, "");
	assert_non_null(c);
	assert_null(c->section);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		print_message("select row %zu\n", i);
		s = sel(c, rows[i].rcpt, rows[i].context, rows[i].addr,
		    rows[i].port);
		assert_non_null(s);
		assert_section(s, rows[i].want);
		if (rows[i].want == NULL)
			assert_ptr_equal(s, c);
	}

	/* a section: the global settings, with its own on top */
	s = sel(c, "u@example.com", NULL, NULL, NULL);
	assert_ptr_not_equal(s, c);
	assert_int_equal(s->test_only, 1);
	assert_int_equal(s->mail_from_reject, REJECT_SOFTFAIL);
	assert_string_equal(s->authserv_id, "mx.example");
	assert_int_equal(s->lookup_time, 5000);
	assert_int_equal(s->header_type, HEADER_RECEIVED_SPF);
	assert_int_equal(c->test_only, 0);
	s = sel(c, "boss@example.org", NULL, NULL, NULL);
	assert_int_equal(s->header_type, HEADER_AUTH_RESULTS);
	assert_true(cidr_list_match(&s->whitelist, "192.0.2.1"));
	assert_false(cidr_list_match(&c->whitelist, "192.0.2.1"));
	assert_int_equal(s->test_only, 0);
	assert_int_equal(s->mail_from_reject, REJECT_SOFTFAIL);
	/* the empty section: the global settings */
	s = sel(c, "x@example.org", NULL, NULL, NULL);
	assert_int_equal(s->test_only, 0);
	assert_int_equal(s->header_type, HEADER_RECEIVED_SPF);
	assert_int_equal(s->mail_from_reject, REJECT_SOFTFAIL);
	assert_string_equal(s->authserv_id, "mx.example");
	s = sel(c, NULL, "submission", NULL, NULL);
	assert_int_equal(s->mail_from_reject, REJECT_NO);
	s = sel(c, NULL, NULL, "192.0.2.1", NULL);
	assert_int_equal(s->hide_receiver, 1);
	assert_int_equal(c->hide_receiver, 0);
	s = sel(c, NULL, NULL, NULL, "465");
	assert_int_equal(s->permerror_reject, 1);
	assert_int_equal(c->permerror_reject, 0);
	s = sel(c, "u@fwd.example", NULL, NULL, NULL);
	assert_int_equal(s->test_only, 1);
	assert_int_equal(s->trusted_forwarders.cidrs.n, 1);
	assert_true(cidr_list_match(&s->trusted_forwarders.cidrs,
	    "198.51.100.7"));
	assert_int_equal(s->trusted_forwarders.ptr.n, 1);
	assert_string_equal(s->trusted_forwarders.ptr.v[0], "lists.example");
	assert_int_equal(s->trusted_forwarders.spf.n, 1);
	assert_string_equal(s->trusted_forwarders.spf.v[0], "fwd.example");
	assert_int_equal(c->trusted_forwarders.cidrs.n +
	    c->trusted_forwarders.ptr.n + c->trusted_forwarders.spf.n, 0);
	config_unref(c);

	/* no section: config_select() is the config itself */
	c = load_text("test_only = yes\n", &e);
	assert_non_null(c);
	assert_ptr_equal(sel(c, "u@example.com", "submission", "192.0.2.1",
	    "587"), c);
	config_unref(c);
	unlink(path);
}

/*
 * an address value of a [recipient] section also matches the recipient
 * with an extension (recipient_delimiter, Postfix's), a quoted local
 * part and a final dot; recipient_delimiter = (empty): no extension
 */
static void
test_section_recipient_forms(void **state)
{
	static const struct {
		const char *delim;      /* recipient_delimiter; NULL: default */
		const char *rcpt, *want;
	} rows[] = {
		{ NULL, "boss@example.com", "recipient = boss@example.com" },
		{ NULL, "boss+x@example.com", "recipient = boss@example.com" },
		{ NULL, "Boss+List@EXAMPLE.com", "recipient = boss@example.com" },
		{ NULL, "boss@example.com.", "recipient = boss@example.com" },
		{ NULL, "\"boss\"@example.com", "recipient = boss@example.com" },
		{ NULL, "\"Boss\"@Example.Com.", "recipient = boss@example.com" },
		{ NULL, "boss-x@example.com", NULL },
		{ NULL, "bossx@example.com", NULL },
		{ NULL, "x+boss@example.com", NULL },
		{ NULL, "boss@sub.example.com", NULL },
		{ NULL, "u@example.net.", "recipient = example.net" },
		{ NULL, "u+x@Sub.Example.NET.", "recipient = example.net" },
		{ "+-", "boss-x@example.com", "recipient = boss@example.com" },
		{ "+-", "boss+x@example.com", "recipient = boss@example.com" },
		{ "+-", "bossx@example.com", NULL },
		{ "", "boss+x@example.com", NULL },
		{ "", "boss@example.com", "recipient = boss@example.com" },
		{ "", "\"boss\"@example.com.", "recipient = boss@example.com" },
		/* an extension of the section's own address: exact match */
		{ NULL, "list+news@example.com", "recipient = list+news@example.com" },
		{ NULL, "list+other@example.com", NULL },
		/*
		 * routed through a domain Postfix may take as its own: it
		 * strips it and delivers to the rest (quoted "@", the
		 * rightmost "%", a "!" path), extension and all
		 */
		{ NULL, "\"boss@example.com\"@localhost",
		    "recipient = boss@example.com" },
		{ NULL, "boss%example.com@localhost",
		    "recipient = boss@example.com" },
		{ NULL, "Boss+x%Example.COM@[192.0.2.1]",
		    "recipient = boss@example.com" },
		{ NULL, "example.com!boss@localhost",
		    "recipient = boss@example.com" },
		{ NULL, "u%v%example.net@localhost", "recipient = example.net" },
		{ NULL, "example.net!u@localhost", "recipient = example.net" },
		/* u%boss at example.com: not boss's */
		{ NULL, "\"u%boss@example.com\"@localhost", NULL },
		/* two hops: "a@b"@c and a%b@c */
		{ NULL, "\"boss%example.com@localhost\"@localhost",
		    "recipient = boss@example.com" },
		{ NULL, "boss%example.org@localhost", NULL },
		{ NULL, "example.org!boss@localhost", NULL },
		/* the first section that any form matches */
		{ NULL, "boss%example.com@example.net",
		    "recipient = boss@example.com" },
		{ NULL, "list+news%example.net@localhost",
		    "recipient = example.net" },
		{ NULL, "\"\"@example.com", NULL },
	};
	char text[512];
	struct config *c;
	struct errs e;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		print_message("delimiter '%s', recipient '%s'\n",
		    rows[i].delim ? rows[i].delim : "(default)", rows[i].rcpt);
		snprintf(text, sizeof(text), "%s%s%s"
		    "[recipient = boss@example.com]\ntest_only = yes\n"
		    "[recipient = list+news@example.com]\ntest_only = yes\n"
		    "[recipient = example.net]\ntest_only = yes\n",
		    rows[i].delim ? "recipient_delimiter = " : "",
		    rows[i].delim ? rows[i].delim : "",
		    rows[i].delim ? "\n" : "");
		c = load_text(text, &e);
		assert_string_equal(e.buf, "");
		assert_non_null(c);
		assert_section(sel(c, rows[i].rcpt, NULL, NULL, NULL),
		    rows[i].want);
		config_unref(c);
	}
	/* a global option only */
	assert_null(load_text("[recipient = example.com]\n"
	    "recipient_delimiter = -\n", &e));
	replace_path("FILE:2: recipient_delimiter cannot be set in a "
	    "section\n", text, sizeof(text));
	assert_string_equal(e.buf, text);
	unlink(path);
}

/* a section that sets what the global part sets: fine, its own value */
static void
test_section_global_same(void **state)
{
	struct config *c, *s;
	struct errs e;

	(void)state;
	c = load_text("test_only = yes\n"
	    "[recipient = example.com]\n"
	    "test_only = no\n"
	    "[recipient = example.net]\n"
	    "test_only = no\n"
	    "[server_port = 587]\n"
	    "test_only = yes\n", &e);
	assert_string_equal(e.buf, "");
	assert_non_null(c);
	assert_int_equal(c->test_only, 1);
	s = sel(c, "u@example.com", NULL, NULL, NULL);
	assert_int_equal(s->test_only, 0);
	s = sel(c, "u@example.net", NULL, NULL, NULL);
	assert_int_equal(s->test_only, 0);
	s = sel(c, "u@dest.example", NULL, NULL, "587");
	assert_int_equal(s->test_only, 1);
	config_unref(c);
	unlink(path);
}

/*
 * section_body - the dump a has the line header, followed (blank lines
 * left out) by exactly the lines want, up to the next section or the end
 */
static void
section_body(const char *a, const char *header, const char *want)
{
	char got[2048], line[512];
	const char *p, *e;
	size_t len = 0, n;

	snprintf(line, sizeof(line), "\n%s\n", header);
	if ((p = strstr(a, line)) == NULL)
		fail_msg("no line '%s' in:\n%s", header, a);
	got[0] = '\0';
	for (p += strlen(line); *p != '\0' && *p != '['; p = e) {
		e = strchr(p, '\n');
		e = e ? e + 1 : p + strlen(p);
		n = (size_t)(e - p);
		if (n > 1 && len + n < sizeof(got)) {
			memcpy(got + len, p, n);
			got[len += n] = '\0';
		}
	}
	print_message("section %s\n", header);
	assert_string_equal(got, want);
}

/* -p: the global options, then each section and what it changes */
static void
test_section_dump(void **state)
{
	struct config *c, *d;
	struct errs e;
	char *a, *b, *first, *p;

	(void)state;
	c = load_text(sections_text, &e);
	assert_non_null(c);
	a = dump_text(c);
	/* the global options first, as without sections */
	first = strstr(a, "\n[");
	assert_non_null(first);
	p = strstr(a, "\nwhitelist =");
	assert_non_null(p);
	assert_true(p < first);
	assert_non_null(strstr(a, "\nauthserv_id = mx.example\n"));
	assert_non_null(strstr(a, "\nmail_from_reject = softfail\n"));
	/* each section, with the options that differ from the global ones */
	section_body(a, "[recipient = example.com, example.net]",
	    "test_only = yes\n");
	section_body(a, "[recipient = boss@example.org]",
	    "header_type = authentication-results\n"
	    "whitelist = 192.0.2.0/24\n");
	section_body(a, "[recipient = example.org]", "");
	section_body(a, "[policy_context = submission]",
	    "mail_from_reject = no\n");
	section_body(a, "[server_address = 192.0.2.0/24, 2001:db8::/32]",
	    "hide_receiver = yes\n");
	section_body(a, "[server_port = 587, 465]",
	    "permerror_reject = yes\n");
	section_body(a, "[recipient = sub.example.info]", "");
	section_body(a, "[recipient = fwd.example]", "test_only = yes\n"
	    "trusted_forwarders = 198.51.100.0/24, ptr:lists.example, "
	    "spf:fwd.example\n");
	/* in the order of the file: boss@ before example.org */
	assert_true(strstr(a, "[recipient = boss@example.org]") <
	    strstr(a, "[recipient = example.org]"));
	/* and it reads back the same */
	d = load_text(a, &e);
	assert_string_equal(e.buf, "");
	assert_non_null(d);
	b = dump_text(d);
	assert_string_equal(a, b);
	assert_section(sel(d, "U@Example.NET", NULL, NULL, NULL),
	    "recipient = example.com, example.net");
	free(a);
	free(b);
	config_unref(c);
	config_unref(d);
	unlink(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_refcount_and_dump),
		cmocka_unit_test(test_dump_reads_back),
		cmocka_unit_test(test_set_keeps_value),
		cmocka_unit_test(test_many_domains),
		cmocka_unit_test(test_servers),
		cmocka_unit_test(test_listen_addr),
		cmocka_unit_test(test_forwarders),
		cmocka_unit_test(test_section_errors),
		cmocka_unit_test(test_section_options),
		cmocka_unit_test(test_section_select),
		cmocka_unit_test(test_section_many),
		cmocka_unit_test(test_domain_list_find),
		cmocka_unit_test(test_section_idn),
		cmocka_unit_test(test_section_global_same),
		cmocka_unit_test(test_section_recipient_forms),
		cmocka_unit_test(test_section_dump),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
