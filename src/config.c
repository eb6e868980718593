/*
 * config - the option table and the spfpd.conf parser.  See config.h.
 */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <sys/un.h>
#include <arpa/inet.h>

#include "config.h"
#include "listener.h"

enum opt_type {
	T_BOOL,
	T_UINT,
	T_DURATION,     /* stored in milliseconds */
	T_SIZE,         /* bytes, k or M; stored as size_t */
	T_OCTAL,
	T_STRING,
	T_SOCKPATH,                     /* absolute, fits a sockaddr_un */
	T_LISTEN,
	T_CIDRS,
	T_FACILITY,
	T_SERVERS,
	T_ENUM,         /* min: index into enums[] */
	T_DOMAINS,
	T_TEMPLATE      /* a string with {placeholders} of REASON_KEYS */
};

/* value names of each T_ENUM, in the order of their C enum */
static const char *const *const enums[] = {
#define E_HELO_REJECT 0
	(const char *const[]){ "fail", "softfail", "not_pass", "null", "no",
	    "no_check", NULL },
#define E_MAIL_FROM_REJECT 1
	(const char *const[]){ "fail", "softfail", "not_pass", "", "no",
	    "no_check", NULL },
#define E_HEADER_TYPE 2
	(const char *const[]){ "received-spf", "authentication-results",
	    "none", NULL },
#define E_PTR_CHECK 3
	(const char *const[]){ "no", "header", "reject", NULL },
#define E_PTR_CODE 4
	(const char *const[]){ "550", "450", NULL },
};

struct option {
	const char *name;
	enum opt_type type;
	size_t off;
	unsigned long min, max;         /* T_UINT, T_DURATION (ms), T_SIZE,
					   T_OCTAL */
	const char *def;
};

#define O(f) offsetof(struct config, f)
#define SEC 1000UL
#define KB 1024UL
#define MB (1024UL * 1024UL)

static const struct option options[] = {
	{ "listen", T_LISTEN, O(listen), 0, 0, "" },
	{ "socket_mode", T_OCTAL, O(socket_mode), 0, 0777, "0666" },
	{ "socket_owner", T_STRING, O(socket_owner), 0, 0, "" },
	{ "socket_group", T_STRING, O(socket_group), 0, 0, "" },
	{ "user", T_STRING, O(user), 0, 0, "nobody" },
	{ "group", T_STRING, O(group), 0, 0, "" },
	{ "syslog_facility", T_FACILITY, O(syslog_facility), 0, 0, "mail" },
	{ "syslog_socket", T_SOCKPATH, O(syslog_socket), 0, 0, "/dev/log" },
	{ "debug", T_BOOL, O(debug), 0, 0, "no" },

	{ "max_connections", T_UINT, O(max_connections), 1, 100000, "1024" },
	{ "max_line_length", T_UINT, O(max_line_length), 256, 65536, "4096" },
	{ "max_attributes", T_UINT, O(max_attributes), 16, 4096, "128" },
	{ "max_request_size", T_UINT, O(max_request_size), 1024, 1048576,
	    "32768" },
	{ "idle_timeout", T_DURATION, O(idle_timeout), 1 * SEC, 86400 * SEC,
	    "330s" },
	{ "request_timeout", T_DURATION, O(request_timeout), 1 * SEC,
	    3600 * SEC, "30s" },
	{ "shutdown_timeout", T_DURATION, O(shutdown_timeout), 0, 300 * SEC,
	    "10s" },

	{ "dns_servers", T_SERVERS, O(dns_servers), 0, 0, "" },
	{ "dns_timeout", T_DURATION, O(dns_timeout), 100, 60 * SEC, "2s" },
	{ "dns_tries", T_UINT, O(dns_tries), 1, 10, "3" },
	{ "dns_cache_size", T_UINT, O(dns_cache_size), 0, 10000000, "20000" },
	{ "dns_cache_bytes", T_SIZE, O(dns_cache_bytes), 0, 2048 * MB, "8M" },
	{ "dns_negative_ttl", T_DURATION, O(dns_negative_ttl), 0, 86400 * SEC,
	    "5m" },
	{ "dns_max_ttl", T_DURATION, O(dns_max_ttl), 0, 7 * 86400 * SEC,
	    "1d" },
	{ "dns_failure_ttl", T_DURATION, O(dns_failure_ttl), 0, 300 * SEC,
	    "30s" },

	{ "default_explanation", T_STRING, O(default_explanation), 0, 0,
	    "SPF fail - not authorized" },
	{ "helo_reject", T_ENUM, O(helo_reject), E_HELO_REJECT, 0, "fail" },
	{ "mail_from_reject", T_ENUM, O(mail_from_reject), E_MAIL_FROM_REJECT,
	    0, "fail" },
	{ "permerror_reject", T_BOOL, O(permerror_reject), 0, 0, "no" },
	{ "temperror_defer", T_BOOL, O(temperror_defer), 0, 0, "no" },
	{ "reject_not_pass_domains", T_DOMAINS, O(reject_not_pass_domains), 0,
	    0, "" },
	{ "header_type", T_ENUM, O(header_type), E_HEADER_TYPE, 0,
	    "received-spf" },
	{ "authserv_id", T_STRING, O(authserv_id), 0, 0, "" },
	{ "hide_receiver", T_BOOL, O(hide_receiver), 0, 0, "no" },
	{ "test_only", T_BOOL, O(test_only), 0, 0, "no" },
	{ "skip_authenticated", T_BOOL, O(skip_authenticated), 0, 0, "yes" },
	{ "domain_whitelist", T_DOMAINS, O(domain_whitelist), 0, 0, "" },
	{ "helo_whitelist", T_DOMAINS, O(helo_whitelist), 0, 0, "" },
	{ "lookup_time", T_DURATION, O(lookup_time), 1 * SEC, 90 * SEC,
	    "20s" },
	{ "reason_message", T_TEMPLATE, O(reason_message), 0, 0,
	    "Message {rejectdefer} due to: {spf}. Please see {url}" },

	{ "ptr_check", T_ENUM, O(ptr_check), E_PTR_CHECK, 0, "header" },
	{ "ptr_reject_code", T_ENUM, O(ptr_reject_code), E_PTR_CODE, 0, "550" },
	{ "ptr_temperror_defer", T_BOOL, O(ptr_temperror_defer), 0, 0, "yes" },
	{ "ptr_whitelist", T_CIDRS, O(ptr_whitelist), 0, 0, "" },
	{ "ptr_domain_whitelist", T_DOMAINS, O(ptr_domain_whitelist), 0, 0,
	    "" },
	{ "ptr_max_names", T_UINT, O(ptr_max_names), 1, 32, "10" },

	{ "skip_addresses", T_CIDRS, O(skip_addresses), 0, 0,
	    "127.0.0.0/8, ::ffff:127.0.0.0/104, ::1" },
	{ "whitelist", T_CIDRS, O(whitelist), 0, 0, "" },
};

#define NOPTIONS (sizeof(options) / sizeof(options[0]))

static const struct {
	const char *name;
	int value;
} facilities[] = {
	{ "mail", LOG_MAIL }, { "daemon", LOG_DAEMON }, { "user", LOG_USER },
	{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
	{ "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
	{ "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
};

static const struct option *
option_find(const char *name)
{
	size_t i;

	for (i = 0; i < NOPTIONS; i++)
		if (strcmp(options[i].name, name) == 0)
			return &options[i];
	return NULL;
}

/* split_list - next item of a comma/space separated list, or NULL */
static char *
split_list(char **cursor)
{
	char *s = *cursor, *start;

	while (*s == ',' || isspace((unsigned char)*s))
		s++;
	if (*s == '\0') {
		*cursor = s;
		return NULL;
	}
	start = s;
	while (*s != '\0' && *s != ',' && !isspace((unsigned char)*s))
		s++;
	if (*s != '\0')
		*s++ = '\0';
	*cursor = s;
	return start;
}

static int
parse_ulong(const char *v, unsigned long *out, char **endp)
{
	char *end;

	if (!isdigit((unsigned char)*v))
		return -1;
	errno = 0;
	*out = strtoul(v, &end, 10);
	if (errno != 0)
		return -1;
	*endp = end;
	return 0;
}

/* dns_server_parse - "a.b.c.d", "a.b.c.d:port", "v6", "[v6]:port" -> csv */
static int
dns_server_parse(const char *s, char *out, size_t outsz)
{
	char host[INET6_ADDRSTRLEN + 1];
	unsigned char a[16];
	const char *port = NULL, *p;
	unsigned long n;
	char *end;
	size_t hl;

	if (*s == '[') {
		if ((p = strchr(s, ']')) == NULL || (p[1] != '\0' &&
		    p[1] != ':'))
			return -1;
		hl = (size_t)(p - s - 1);
		s++;
		if (p[1] == ':')
			port = p + 2;
	} else if ((p = strchr(s, ':')) != NULL && strchr(p + 1, ':') ==
	    NULL) {
		hl = (size_t)(p - s);
		port = p + 1;
	} else {
		hl = strlen(s);
	}
	if (hl == 0 || hl >= sizeof(host))
		return -1;
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (cidr_addr_parse(host, a) < 0)
		return -1;
	if (port) {
		errno = 0;
		n = strtoul(port, &end, 10);
		if (!isdigit((unsigned char)*port) || *end || errno || n == 0 ||
		    n > 65535)
			return -1;
	} else {
		n = 53;
	}
	if (strchr(host, ':'))
		snprintf(out, outsz, "[%s]:%lu", host, n);
	else
		snprintf(out, outsz, "%s:%lu", host, n);
	return 0;
}

static int
csv_append(char **csv, const char *item)
{
	size_t old = *csv ? strlen(*csv) : 0;
	char *n;

	if ((n = realloc(*csv, old + strlen(item) + 2)) == NULL)
		return -1;
	if (old)
		n[old++] = ',';
	strcpy(n + old, item);
	*csv = n;
	return 0;
}

static void
domain_list_free(struct domain_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* domain_parse - a host name as people write them: LDH labels, dots */
static int
domain_parse(const char *s, char *out, size_t outsz)
{
	size_t n = strlen(s), i, label = 0;

	if (n > 0 && s[n - 1] == '.')
		n--;
	if (n == 0 || n > 253 || n >= outsz)
		return -1;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '.') {
			if (label == 0)
				return -1;
			label = 0;
		} else if (isalnum(ch) || ch == '-' || ch == '_') {
			if (++label > 63)
				return -1;
		} else {
			return -1;
		}
		out[i] = (char)tolower(ch);
	}
	out[n] = '\0';
	return 0;
}

int
domain_list_match(const struct domain_list *l, const char *name)
{
	size_t i, n = strlen(name), dn;

	if (n > 0 && name[n - 1] == '.')
		n--;
	for (i = 0; i < l->n; i++) {
		dn = strlen(l->v[i]);
		if (dn > n || strncasecmp(name + n - dn, l->v[i], dn) != 0)
			continue;
		if (dn == n || name[n - dn - 1] == '.')
			return 1;
	}
	return 0;
}

/* template_check - only known {placeholders}; "{{" and "}}" are braces */
static int
template_check(const char *s, char *err, size_t errsz, const char *name)
{
	static const char *const keys[] = REASON_KEYS;
	const char *e;
	size_t i, n;

	for (; *s; s++) {
		if ((s[0] == '{' && s[1] == '{') || (s[0] == '}' && s[1] == '}')) {
			s++;
			continue;
		}
		if (*s == '}') {
			snprintf(err, errsz, "%s: unmatched '}'", name);
			return -1;
		}
		if (*s != '{')
			continue;
		if ((e = strchr(s, '}')) == NULL) {
			snprintf(err, errsz, "%s: unmatched '{'", name);
			return -1;
		}
		n = (size_t)(e - s - 1);
		for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (strlen(keys[i]) == n && !strncmp(s + 1, keys[i], n))
				break;
		if (i == sizeof(keys) / sizeof(keys[0])) {
			snprintf(err, errsz, "%s: unknown placeholder "
			    "'{%.*s}' (known: {rejectdefer}, {spf}, {url}, "
			    "{result}, {identity}, {domain})", name,
			    (int)(n > 40 ? 40 : n), s + 1);
			return -1;
		}
		s = e;
	}
	return 0;
}

static void
free_listen(struct config *c)
{
	size_t i;

	for (i = 0; i < c->nlisten; i++)
		free(c->listen[i]);
	free(c->listen);
	c->listen = NULL;
	c->nlisten = 0;
}

static int
set_value(struct config *c, const struct option *o, const char *value,
    char *err, size_t errsz)
{
	void *p = (char *)c + o->off;
	unsigned long n, mult;
	char *end, *copy, *cur, *item;
	size_t i;

	switch (o->type) {
	case T_BOOL:
		if (!strcmp(value, "yes") || !strcmp(value, "true") ||
		    !strcmp(value, "on") || !strcmp(value, "1"))
			*(int *)p = 1;
		else if (!strcmp(value, "no") || !strcmp(value, "false") ||
		    !strcmp(value, "off") || !strcmp(value, "0"))
			*(int *)p = 0;
		else {
			snprintf(err, errsz, "%s: expected yes or no, "
			    "not '%.100s'", o->name, value);
			return -1;
		}
		return 0;
	case T_UINT:
		if (parse_ulong(value, &n, &end) < 0 || *end != '\0' ||
		    n < o->min || n > o->max) {
			snprintf(err, errsz, "%s: expected a number from %lu "
			    "to %lu, not '%.100s'", o->name, o->min, o->max,
			    value);
			return -1;
		}
		*(unsigned *)p = (unsigned)n;
		return 0;
	case T_DURATION:
		mult = 0;
		if (parse_ulong(value, &n, &end) == 0) {
			if (!strcmp(end, "") || !strcmp(end, "s"))
				mult = SEC;
			else if (!strcmp(end, "ms"))
				mult = 1;
			else if (!strcmp(end, "m"))
				mult = 60 * SEC;
			else if (!strcmp(end, "h"))
				mult = 3600 * SEC;
			else if (!strcmp(end, "d"))
				mult = 86400 * SEC;
		}
		if (mult == 0 || n > o->max / mult || n * mult < o->min) {
			snprintf(err, errsz, "%s: expected a time from %lums "
			    "to %lus (units ms, s, m, h, d), not '%.100s'",
			    o->name, o->min, o->max / SEC, value);
			return -1;
		}
		*(unsigned *)p = (unsigned)(n * mult);
		return 0;
	case T_SIZE:
		mult = 0;
		if (parse_ulong(value, &n, &end) == 0) {
			if (!strcmp(end, ""))
				mult = 1;
			else if (!strcmp(end, "k") || !strcmp(end, "K"))
				mult = KB;
			else if (!strcmp(end, "M"))
				mult = MB;
		}
		if (mult == 0 || n > o->max / mult || n * mult < o->min) {
			snprintf(err, errsz, "%s: expected a size from %lu to "
			    "%luM (bytes, or units k, M), not '%.100s'",
			    o->name, o->min, o->max / MB, value);
			return -1;
		}
		*(size_t *)p = (size_t)(n * mult);
		return 0;
	case T_OCTAL:
		errno = 0;
		n = strtoul(value, &end, 8);
		if (*value < '0' || *value > '7' || *end != '\0' ||
		    errno != 0 || n > o->max) {
			snprintf(err, errsz, "%s: expected an octal mode such "
			    "as 0660, not '%.100s'", o->name, value);
			return -1;
		}
		*(unsigned *)p = (unsigned)n;
		return 0;
	case T_TEMPLATE:
		if (template_check(value, err, errsz, o->name) < 0)
			return -1;
		/* FALLTHROUGH */
	case T_SOCKPATH:
		if (o->type == T_SOCKPATH && (value[0] != '/' ||
		    strlen(value) >= sizeof(((struct sockaddr_un *)0)->sun_path))) {
			snprintf(err, errsz, "%s: expected an absolute path of "
			    "at most %zu bytes, not '%.100s'", o->name,
			    sizeof(((struct sockaddr_un *)0)->sun_path) - 1, value);
			return -1;
		}
		/* FALLTHROUGH */
	case T_STRING:
		if ((copy = strdup(value)) == NULL)
			goto nomem;
		free(*(char **)p);
		*(char **)p = copy;
		return 0;
	case T_ENUM: {
		const char *const *names = enums[o->min];
		char list[256];
		size_t len = 0;

		for (i = 0; names[i] != NULL; i++) {
			if (*names[i] && strcmp(names[i], value) == 0) {
				*(int *)p = (int)i;
				return 0;
			}
		}
		list[0] = '\0';
		for (i = 0; names[i] != NULL; i++) {
			if (*names[i] == '\0')
				continue;
			len += (size_t)snprintf(list + len, sizeof(list) - len,
			    "%s%s", len ? ", " : "", names[i]);
			if (len >= sizeof(list))
				break;
		}
		snprintf(err, errsz, "%s: expected one of %s; not '%.100s'",
		    o->name, list, value);
		return -1;
	}
	case T_DOMAINS: {
		struct domain_list *l = p, nl = { NULL, 0 };
		char name[256], **nv;

		if ((copy = strdup(value)) == NULL)
			goto nomem;
		cur = copy;
		while ((item = split_list(&cur)) != NULL) {
			if (domain_parse(item, name, sizeof(name)) < 0) {
				snprintf(err, errsz, "%s: '%.100s' is not a "
				    "domain name", o->name, item);
				free(copy);
				domain_list_free(&nl);
				return -1;
			}
			if (nl.n >= 64) {
				snprintf(err, errsz, "%s: more than 64 domains",
				    o->name);
				free(copy);
				domain_list_free(&nl);
				return -1;
			}
			nv = realloc(nl.v, (nl.n + 1) * sizeof(*nv));
			if (nv == NULL || (nv[nl.n] = strdup(name)) == NULL) {
				if (nv != NULL)
					nl.v = nv;
				free(copy);
				domain_list_free(&nl);
				goto nomem;
			}
			nl.v = nv;
			nl.n++;
		}
		free(copy);
		domain_list_free(l);
		*l = nl;
		return 0;
	}
	case T_FACILITY:
		for (i = 0; i < sizeof(facilities) / sizeof(facilities[0]);
		    i++) {
			if (strcmp(facilities[i].name, value) == 0) {
				*(int *)p = facilities[i].value;
				return 0;
			}
		}
		snprintf(err, errsz, "%s: expected mail, daemon, user or "
		    "local0 to local7, not '%.100s'", o->name, value);
		return -1;
	case T_LISTEN: {
		struct listen_addr la;
		char **nv;

		if ((copy = strdup(value)) == NULL)
			goto nomem;
		free_listen(c);
		cur = copy;
		while ((item = split_list(&cur)) != NULL) {
			if (listener_parse(item, &la, err, errsz) < 0) {
				free(copy);
				return -1;
			}
			nv = realloc(c->listen, (c->nlisten + 1) * sizeof(*nv));
			if (nv == NULL || (nv[c->nlisten] = strdup(item)) ==
			    NULL) {
				if (nv != NULL)
					c->listen = nv;
				free(copy);
				goto nomem;
			}
			c->listen = nv;
			c->nlisten++;
		}
		free(copy);
		return 0;
	}
	case T_SERVERS: {
		struct server_list *sl = p, ns = { NULL, 0 };
		char entry[INET6_ADDRSTRLEN + 16];

		if ((copy = strdup(value)) == NULL)
			goto nomem;
		cur = copy;
		while ((item = split_list(&cur)) != NULL) {
			if (dns_server_parse(item, entry, sizeof(entry)) < 0) {
				snprintf(err, errsz, "%s: '%.100s': expected "
				    "address, address:port or [IPv6]:port",
				    o->name, item);
				free(copy);
				free(ns.csv);
				return -1;
			}
			if (csv_append(&ns.csv, entry) < 0) {
				free(copy);
				free(ns.csv);
				goto nomem;
			}
			ns.n++;
		}
		free(copy);
		free(sl->csv);
		*sl = ns;
		return 0;
	}
	case T_CIDRS: {
		struct cidr_list *l = p, nl = { NULL, 0 };
		struct cidr cr;
		char msg[256];

		if ((copy = strdup(value)) == NULL)
			goto nomem;
		cur = copy;
		while ((item = split_list(&cur)) != NULL) {
			if (cidr_parse(item, &cr, msg, sizeof(msg)) < 0) {
				snprintf(err, errsz, "%s: %s", o->name, msg);
				goto cidr_fail;
			}
			if (cidr_list_add(&nl, &cr) < 0) {
				snprintf(err, errsz, "out of memory");
				goto cidr_fail;
			}
		}
		free(copy);
		cidr_list_free(l);
		*l = nl;
		return 0;
cidr_fail:
		free(copy);
		cidr_list_free(&nl);
		return -1;
	}
	}
nomem:
	snprintf(err, errsz, "out of memory");
	return -1;
}

int
config_set(struct config *c, const char *key, const char *value,
    char *err, size_t errsz)
{
	const struct option *o;

	if ((o = option_find(key)) == NULL) {
		snprintf(err, errsz, "unknown option '%.100s'", key);
		return -1;
	}
	return set_value(c, o, value, err, errsz);
}

static struct config *
config_defaults(void)
{
	struct config *c;
	char err[256];
	size_t i;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->refs = 1;
	for (i = 0; i < NOPTIONS; i++) {
		if (set_value(c, &options[i], options[i].def, err,
		    sizeof(err)) < 0) {
			/* a bad row in the table is a programming error */
			fprintf(stderr, "spfpd: built-in default: %s\n", err);
			abort();
		}
	}
	return c;
}

static void
report(config_err_fn *errfn, void *arg, const char *path, unsigned line,
    const char *msg)
{
	char buf[1024];

	if (line)
		snprintf(buf, sizeof(buf), "%s:%u: %s", path, line, msg);
	else
		snprintf(buf, sizeof(buf), "%s: %s", path, msg);
	errfn(arg, buf);
}

static char *
trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* logical line being assembled from a line and its continuations */
struct logical {
	char *text;
	size_t len;
	unsigned line;
};

/* apply_line - parse one logical "key = value" line */
static int
apply_line(struct config *c, struct logical *l, unsigned char *seen,
    unsigned *seen_line, const char *path, config_err_fn *errfn, void *arg)
{
	char msg[512], *eq, *key, *value;
	const struct option *o;
	size_t idx;

	eq = strchr(l->text, '=');
	if (eq == NULL) {
		snprintf(msg, sizeof(msg), "missing '=' in '%.100s'",
		    trim(l->text));
		report(errfn, arg, path, l->line, msg);
		return -1;
	}
	*eq = '\0';
	key = trim(l->text);
	value = trim(eq + 1);
	if ((o = option_find(key)) == NULL) {
		snprintf(msg, sizeof(msg), "unknown option '%.100s'", key);
		report(errfn, arg, path, l->line, msg);
		return -1;
	}
	idx = (size_t)(o - options);
	if (seen[idx]) {
		snprintf(msg, sizeof(msg), "%s: already set at line %u",
		    key, seen_line[idx]);
		report(errfn, arg, path, l->line, msg);
		return -1;
	}
	seen[idx] = 1;
	seen_line[idx] = l->line;
	if (set_value(c, o, value, msg, sizeof(msg)) < 0) {
		report(errfn, arg, path, l->line, msg);
		return -1;
	}
	return 0;
}

static int
logical_append(struct logical *l, const char *s)
{
	size_t n = strlen(s);
	char *nt;

	nt = realloc(l->text, l->len + n + 2);
	if (nt == NULL)
		return -1;
	l->text = nt;
	if (l->len)
		nt[l->len++] = ' ';
	memcpy(nt + l->len, s, n + 1);
	l->len += n;
	return 0;
}

#define CONFIG_MAX_LINE 65536

struct config *
config_load(const char *path, int must_exist, config_err_fn *errfn, void *arg)
{
	unsigned char seen[NOPTIONS] = { 0 };
	unsigned seen_line[NOPTIONS] = { 0 };
	struct logical l = { NULL, 0, 0 };
	char *buf = NULL, *s;
	size_t bufsz = 0;
	ssize_t nread;
	struct config *c;
	unsigned lineno = 0;
	int errors = 0;
	FILE *fp;

	if ((c = config_defaults()) == NULL) {
		errfn(arg, "out of memory");
		return NULL;
	}
	if (path == NULL)
		return c;
	if ((c->path = strdup(path)) == NULL) {
		errfn(arg, "out of memory");
		config_unref(c);
		return NULL;
	}
	if ((fp = fopen(path, "r")) == NULL) {
		if (errno == ENOENT && !must_exist)
			return c;
		report(errfn, arg, path, 0, strerror(errno));
		config_unref(c);
		return NULL;
	}
	while ((nread = getline(&buf, &bufsz, fp)) != -1) {
		size_t n = (size_t)nread;

		lineno++;
		if (n > 0 && buf[n - 1] == '\n')
			buf[--n] = '\0';
		if (n > CONFIG_MAX_LINE) {
			report(errfn, arg, path, lineno, "line too long");
			errors++;
			continue;
		}
		if (memchr(buf, '\0', n) != NULL) {
			report(errfn, arg, path, lineno, "NUL byte in line");
			errors++;
			continue;
		}
		s = trim(buf);
		if (*s == '#' || (*s == '\0' && !isspace((unsigned char)buf[0])))
		{
			if (*s == '\0' && l.text != NULL) {
				errors += apply_line(c, &l, seen, seen_line,
				    path, errfn, arg) < 0;
				free(l.text);
				l.text = NULL;
				l.len = 0;
			}
			continue;
		}
		if (*s == '\0')
			continue;
		if (isspace((unsigned char)buf[0]) && l.text != NULL) {
			if (logical_append(&l, s) < 0)
				goto nomem;
			continue;
		}
		if (isspace((unsigned char)buf[0])) {
			report(errfn, arg, path, lineno,
			    "continuation line without a line to continue");
			errors++;
			continue;
		}
		if (l.text != NULL) {
			errors += apply_line(c, &l, seen, seen_line, path,
			    errfn, arg) < 0;
			free(l.text);
			l.text = NULL;
			l.len = 0;
		}
		l.line = lineno;
		if (logical_append(&l, s) < 0)
			goto nomem;
	}
	if (ferror(fp)) {
		report(errfn, arg, path, lineno, strerror(errno));
		errors++;
	}
	if (l.text != NULL) {
		errors += apply_line(c, &l, seen, seen_line, path, errfn,
		    arg) < 0;
		free(l.text);
	}
	free(buf);
	fclose(fp);
	if (errors) {
		config_unref(c);
		return NULL;
	}
	return c;
nomem:
	fclose(fp);
	free(buf);
	free(l.text);
	errfn(arg, "out of memory");
	config_unref(c);
	return NULL;
}

struct config *
config_ref(struct config *c)
{
	c->refs++;
	return c;
}

void
config_unref(struct config *c)
{
	size_t i;

	if (c == NULL || --c->refs > 0)
		return;
	for (i = 0; i < NOPTIONS; i++) {
		void *p = (char *)c + options[i].off;

		switch (options[i].type) {
		case T_STRING:
		case T_SOCKPATH:
		case T_TEMPLATE:
			free(*(char **)p);
			break;
		case T_DOMAINS:
			domain_list_free(p);
			break;
		case T_CIDRS:
			cidr_list_free(p);
			break;
		case T_LISTEN:
			free_listen(c);
			break;
		case T_SERVERS:
			free(((struct server_list *)p)->csv);
			break;
		default:
			break;
		}
	}
	free(c->path);
	free(c);
}

static void
print_duration(FILE *fp, unsigned ms)
{
	if (ms % SEC)
		fprintf(fp, "%ums", ms);
	else
		fprintf(fp, "%us", ms / (unsigned)SEC);
}

/* print_size - in the largest unit that divides it */
static void
print_size(FILE *fp, size_t n)
{
	if (n != 0 && n % MB == 0)
		fprintf(fp, "%zuM", n / MB);
	else if (n != 0 && n % KB == 0)
		fprintf(fp, "%zuk", n / KB);
	else
		fprintf(fp, "%zu", n);
}

void
config_dump(const struct config *c, FILE *fp)
{
	char a[CIDR_STRLEN];
	size_t i, j;

	for (i = 0; i < NOPTIONS; i++) {
		const void *p = (const char *)c + options[i].off;

		fprintf(fp, "%s =", options[i].name);
		switch (options[i].type) {
		case T_BOOL:
			fprintf(fp, " %s", *(const int *)p ? "yes" : "no");
			break;
		case T_UINT:
			fprintf(fp, " %u", *(const unsigned *)p);
			break;
		case T_DURATION:
			fputc(' ', fp);
			print_duration(fp, *(const unsigned *)p);
			break;
		case T_SIZE:
			fputc(' ', fp);
			print_size(fp, *(const size_t *)p);
			break;
		case T_OCTAL:
			fprintf(fp, " %04o", *(const unsigned *)p);
			break;
		case T_STRING:
		case T_SOCKPATH:
		case T_TEMPLATE:
			if (**(char *const *)p)
				fprintf(fp, " %s", *(char *const *)p);
			break;
		case T_ENUM:
			fprintf(fp, " %s",
			    enums[options[i].min][*(const int *)p]);
			break;
		case T_DOMAINS: {
			const struct domain_list *l = p;

			for (j = 0; j < l->n; j++)
				fprintf(fp, "%s %s", j ? "," : "", l->v[j]);
			break;
		}
		case T_FACILITY:
			for (j = 0; j < sizeof(facilities) /
			    sizeof(facilities[0]); j++)
				if (facilities[j].value == *(const int *)p)
					fprintf(fp, " %s", facilities[j].name);
			break;
		case T_LISTEN:
			for (j = 0; j < c->nlisten; j++)
				fprintf(fp, "%s %s", j ? "," : "",
				    c->listen[j]);
			break;
		case T_SERVERS:
			if (((const struct server_list *)p)->csv)
				fprintf(fp, " %s",
				    ((const struct server_list *)p)->csv);
			break;
		case T_CIDRS: {
			const struct cidr_list *l = p;

			for (j = 0; j < l->n; j++)
				fprintf(fp, "%s %s", j ? "," : "",
				    cidr_format(&l->v[j], a, sizeof(a)));
			break;
		}
		}
		fputc('\n', fp);
	}
}
