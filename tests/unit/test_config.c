/*
 * test_config - the config parser: golden error messages with line
 * numbers (one or more per option type), values of a good file, defaults,
 * continuation lines, what -p prints reads back the same, a value that
 * fails leaves the option as it was; and the address parser (addr.c)
 * behind listen and dns_servers.
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
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
