/*
 * config - the option table and the spfpd.conf parser.  See config.h.
 *
 * An option is a row of options[]: its name (that of its field in struct
 * config, but for listen), its type, bounds and default.  A type is a row of
 * types[]: how a value is parsed into the field, what the field holds
 * that must be freed, and how it prints back (spfpd -p).  Adding a type
 * adds a row there, not a case in three switches.  The list types share
 * one parser, parse_list, and differ only in how they add an item.
 */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <sys/un.h>

#include <idn2.h>

#include "addr.h"
#include "config.h"
#include "xmalloc.h"

enum opt_type {
	T_BOOL,
	T_UINT,
	T_DURATION,     /* stored in milliseconds */
	T_SIZE,         /* bytes, k or M; stored as size_t */
	T_OCTAL,
	T_STRING,
	T_SOCKPATH,     /* absolute, fits a sockaddr_un */
	T_TEMPLATE,     /* a string with {placeholders} of REASON_KEYS */
	T_CLASS,        /* a Postfix restriction class name, or "": none */
	T_ENUM,         /* one of the option's names[] */
	T_FACILITY,
	T_ADDR,         /* one listen address, or "": none */
	T_LISTEN,       /* the list types */
	T_SERVERS,
	T_DOMAINS,
	T_CIDRS,
	T_FORWARDERS,
	T_NTYPES
};

struct option {
	const char *name;
	enum opt_type type;
	size_t off;                     /* of the field in struct config */
	unsigned long min, max;         /* T_UINT, T_DURATION (ms), T_SIZE,
					   T_OCTAL */
	const char *const *names;       /* T_ENUM: by value, NULL ends;
					   "": a value this option lacks */
	const char *def;
};

/* the operations of a type; the field is unchanged when parse fails */
struct type_ops {
	int (*parse)(const struct option *o, void *field, const char *value,
	    char *err, size_t errsz);
	void (*release)(void *field);   /* NULL: the field owns no memory */
	/* print - " value" or nothing, read back as the same value */
	void (*print)(const struct option *o, const void *field, FILE *fp);
	/* list types: add one item to a list of list_size bytes */
	int (*add)(const struct option *o, void *list, const char *item,
	    char *err, size_t errsz);
	size_t list_size;
};

static const struct type_ops types[T_NTYPES];

/* T_ENUM values, indexed by the C enum; stored as an unsigned (assert) */
static const char *const reject_levels[] = {
	[REJECT_FAIL] = "fail", [REJECT_SOFTFAIL] = "softfail",
	[REJECT_NOT_PASS] = "not_pass", [REJECT_NULL] = "null",
	[REJECT_NO] = "no", [REJECT_NO_CHECK] = "no_check", NULL
};
static const char *const mail_from_levels[] = {
	[REJECT_FAIL] = "fail", [REJECT_SOFTFAIL] = "softfail",
	[REJECT_NOT_PASS] = "not_pass", [REJECT_NULL] = "",
	[REJECT_NO] = "no", [REJECT_NO_CHECK] = "no_check", NULL
};
static const char *const header_types[] = {
	[HEADER_RECEIVED_SPF] = "received-spf",
	[HEADER_AUTH_RESULTS] = "authentication-results",
	[HEADER_NONE] = "none", NULL
};
static const char *const ptr_checks[] = {
	[PTR_NO] = "no", [PTR_HEADER] = "header", [PTR_REJECT] = "reject", NULL
};
static const char *const ptr_codes[] = {
	[PTR_CODE_550] = "550", [PTR_CODE_450] = "450", NULL
};

_Static_assert(sizeof(enum reject_level) == sizeof(unsigned) &&
    sizeof(enum header_type) == sizeof(unsigned) &&
    sizeof(enum ptr_check) == sizeof(unsigned) &&
    sizeof(enum ptr_reject_code) == sizeof(unsigned),
    "T_ENUM stores an unsigned");

/* FIELD - where field f is, and a compile error unless it is a T */
#define FIELD(f, T) _Generic(((struct config *)0)->f, \
	T: offsetof(struct config, f))
#define OPT(name, t, f, T, min, max, names, def) \
	{ name, t, FIELD(f, T), min, max, names, def }

#define OPT_BOOL(f, def) OPT(#f, T_BOOL, f, int, 0, 0, NULL, def)
#define OPT_UINT(f, min, max, def) \
	OPT(#f, T_UINT, f, unsigned, min, max, NULL, def)
#define OPT_DURATION(f, min, max, def) \
	OPT(#f, T_DURATION, f, unsigned, min, max, NULL, def)
#define OPT_SIZE(f, min, max, def) \
	OPT(#f, T_SIZE, f, size_t, min, max, NULL, def)
#define OPT_OCTAL(f, max, def) OPT(#f, T_OCTAL, f, unsigned, 0, max, NULL, def)
#define OPT_STRING(f, def) OPT(#f, T_STRING, f, char *, 0, 0, NULL, def)
#define OPT_SOCKPATH(f, def) OPT(#f, T_SOCKPATH, f, char *, 0, 0, NULL, def)
#define OPT_ADDR(f, def) OPT(#f, T_ADDR, f, char *, 0, 0, NULL, def)
#define OPT_TEMPLATE(f, def) OPT(#f, T_TEMPLATE, f, char *, 0, 0, NULL, def)
#define OPT_CLASS(f, def) OPT(#f, T_CLASS, f, char *, 0, 0, NULL, def)
#define OPT_ENUM(f, T, names, def) OPT(#f, T_ENUM, f, T, 0, 0, names, def)
#define OPT_FACILITY(f, def) OPT(#f, T_FACILITY, f, int, 0, 0, NULL, def)
#define OPT_SERVERS(f, def) \
	OPT(#f, T_SERVERS, f, struct server_list, 0, 0, NULL, def)
#define OPT_DOMAINS(f, def) \
	OPT(#f, T_DOMAINS, f, struct domain_list, 0, 0, NULL, def)
#define OPT_CIDRS(f, def) \
	OPT(#f, T_CIDRS, f, struct cidr_list, 0, 0, NULL, def)
#define OPT_FORWARDERS(f, def) \
	OPT(#f, T_FORWARDERS, f, struct forwarder_list, 0, 0, NULL, def)

#define SEC 1000UL
#define KB 1024UL
#define MB (1024UL * 1024UL)

static const struct option options[] = {
	OPT("listen", T_LISTEN, listen, struct domain_list, 0, 0, NULL,
	    ""),
	OPT_OCTAL(socket_mode, 0777, "0666"),
	OPT_STRING(socket_owner, ""),
	OPT_STRING(socket_group, ""),
	OPT_STRING(user, "nobody"),
	OPT_STRING(group, ""),
	OPT_FACILITY(syslog_facility, "mail"),
	OPT_SOCKPATH(syslog_socket, "/dev/log"),
	OPT_BOOL(debug, "no"),
	OPT_ADDR(metrics_listen, ""),

	OPT_UINT(max_connections, 1, 100000, "1024"),
	OPT_UINT(max_line_length, 256, 65536, "4096"),
	OPT_UINT(max_attributes, 16, 4096, "128"),
	OPT_UINT(max_request_size, 1024, 1048576, "32768"),
	OPT_DURATION(idle_timeout, 1 * SEC, 86400 * SEC, "330s"),
	OPT_DURATION(request_timeout, 1 * SEC, 3600 * SEC, "30s"),
	OPT_DURATION(shutdown_timeout, 0, 300 * SEC, "10s"),

	OPT_SERVERS(dns_servers, ""),
	OPT_DURATION(dns_timeout, 100, 60 * SEC, "2s"),
	OPT_UINT(dns_tries, 1, 10, "3"),
	OPT_UINT(dns_cache_size, 0, 10000000, "20000"),
	OPT_SIZE(dns_cache_bytes, 0, 2048 * MB, "8M"),
	OPT_DURATION(dns_negative_ttl, 0, 86400 * SEC, "5m"),
	OPT_DURATION(dns_max_ttl, 0, 7 * 86400 * SEC, "1d"),
	OPT_DURATION(dns_failure_ttl, 0, 300 * SEC, "30s"),

	OPT_STRING(default_explanation, "SPF fail - not authorized"),
	OPT_ENUM(helo_reject, enum reject_level, reject_levels, "fail"),
	OPT_ENUM(mail_from_reject, enum reject_level, mail_from_levels,
	    "fail"),
	OPT_BOOL(permerror_reject, "no"),
	OPT_BOOL(temperror_defer, "no"),
	OPT_DOMAINS(reject_not_pass_domains, ""),
	OPT_ENUM(header_type, enum header_type, header_types, "received-spf"),
	OPT_STRING(authserv_id, ""),
	OPT_BOOL(hide_receiver, "no"),
	OPT_BOOL(test_only, "no"),
	OPT_BOOL(skip_authenticated, "yes"),
	OPT_DOMAINS(domain_whitelist, ""),
	OPT_DOMAINS(helo_whitelist, ""),
	OPT_DURATION(lookup_time, 1 * SEC, 90 * SEC, "20s"),
	OPT_TEMPLATE(reason_message,
	    "Message {rejectdefer} due to: {spf}. Please see {url}"),
	OPT_CLASS(helo_pass_restriction, ""),
	OPT_CLASS(mail_from_pass_restriction, ""),
	OPT_BOOL(reject_only_no_mail, "no"),
	OPT_BOOL(trust_recipient_mx, "yes"),
	OPT_DOMAINS(dnswl_zones, ""),
	OPT_FORWARDERS(trusted_forwarders, ""),
	OPT_STRING(recipient_delimiter, "+"),

	OPT_ENUM(ptr_check, enum ptr_check, ptr_checks, "header"),
	OPT_ENUM(ptr_reject_code, enum ptr_reject_code, ptr_codes, "550"),
	OPT_BOOL(ptr_temperror_defer, "yes"),
	OPT_CIDRS(ptr_whitelist, ""),
	OPT_DOMAINS(ptr_domain_whitelist, ""),
	OPT_UINT(ptr_max_names, 1, 32, "10"),

	OPT_CIDRS(skip_addresses, "127.0.0.0/8, ::ffff:127.0.0.0/104, ::1"),
	OPT_CIDRS(whitelist, ""),
};

#define NOPTIONS (sizeof(options) / sizeof(options[0]))

_Static_assert(NOPTIONS <= CONFIG_MAX_OPTIONS, "struct config, borrowed[]");

/*
 * the options a section may set: how a request is judged, not how the
 * process runs, listens, bounds its work or asks the DNS
 */
static const char *const section_options[] = {
	"default_explanation", "helo_reject", "mail_from_reject",
	"permerror_reject", "temperror_defer", "reject_not_pass_domains",
	"header_type", "authserv_id", "hide_receiver", "test_only",
	"skip_authenticated", "domain_whitelist", "helo_whitelist",
	"reason_message", "helo_pass_restriction",
	"mail_from_pass_restriction", "reject_only_no_mail",
	"trust_recipient_mx", "dnswl_zones", "trusted_forwarders",
	"ptr_check", "ptr_reject_code", "ptr_temperror_defer",
	"ptr_whitelist", "ptr_domain_whitelist", "skip_addresses",
	"whitelist",
};

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

#define NFACILITIES (sizeof(facilities) / sizeof(facilities[0]))

static const struct option *
option_find(const char *name)
{
	size_t i;

	for (i = 0; i < NOPTIONS; i++)
		if (strcmp(options[i].name, name) == 0)
			return &options[i];
	return NULL;
}

/* ----- numbers ----- */

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

static int
parse_bool(const struct option *o, void *field, const char *value,
    char *err, size_t errsz)
{
	if (!strcmp(value, "yes") || !strcmp(value, "true") ||
	    !strcmp(value, "on") || !strcmp(value, "1")) {
		*(int *)field = 1;
	} else if (!strcmp(value, "no") || !strcmp(value, "false") ||
	    !strcmp(value, "off") || !strcmp(value, "0")) {
		*(int *)field = 0;
	} else {
		snprintf(err, errsz, "%s: expected yes or no, not '%.100s'",
		    o->name, value);
		return -1;
	}
	return 0;
}

static int
parse_uint(const struct option *o, void *field, const char *value,
    char *err, size_t errsz)
{
	unsigned long n;
	char *end;

	if (parse_ulong(value, &n, &end) < 0 || *end != '\0' ||
	    n < o->min || n > o->max) {
		snprintf(err, errsz, "%s: expected a number from %lu to %lu, "
		    "not '%.100s'", o->name, o->min, o->max, value);
		return -1;
	}
	*(unsigned *)field = (unsigned)n;
	return 0;
}

struct unit {
	const char *suffix;             /* "": a bare number */
	unsigned long mult;
};

/* a number with a unit: its units, and the words of its error */
struct scale {
	const char *what;               /* "expected a <what> from" */
	const char *min_unit;           /* min, in the base unit, so named */
	unsigned long max_div;          /* max, in this unit, */
	const char *max_unit;           /* so named */
	const char *hint;               /* the units there are, for people */
	void (*store)(void *field, unsigned long n);
	struct unit units[7];           /* NULL ends */
};

static void
store_unsigned(void *field, unsigned long n)
{
	*(unsigned *)field = (unsigned)n;
}

static void
store_size(void *field, unsigned long n)
{
	*(size_t *)field = (size_t)n;
}

static const struct scale time_scale = {
	"time", "ms", SEC, "s", "units ms, s, m, h, d", store_unsigned,
	{ { "", SEC }, { "s", SEC }, { "ms", 1 }, { "m", 60 * SEC },
	  { "h", 3600 * SEC }, { "d", 86400 * SEC }, { NULL, 0 } }
};
static const struct scale size_scale = {
	"size", "", MB, "M", "bytes, or units k, M", store_size,
	{ { "", 1 }, { "k", KB }, { "K", KB }, { "M", MB }, { NULL, 0 } }
};

/* scaled - a number and one of sc's units, within o's bounds */
static int
scaled(const struct option *o, const struct scale *sc, const char *value,
    unsigned long *out)
{
	const struct unit *u = sc->units;
	unsigned long n;
	char *end;

	if (parse_ulong(value, &n, &end) < 0)
		return -1;
	while (u->suffix != NULL && strcmp(end, u->suffix) != 0)
		u++;
	if (u->suffix == NULL || n > o->max / u->mult ||
	    n * u->mult < o->min)
		return -1;
	*out = n * u->mult;
	return 0;
}

static int
parse_scaled(const struct option *o, const struct scale *sc, void *field,
    const char *value, char *err, size_t errsz)
{
	unsigned long n;

	if (scaled(o, sc, value, &n) < 0) {
		snprintf(err, errsz, "%s: expected a %s from %lu%s to %lu%s "
		    "(%s), not '%.100s'", o->name, sc->what, o->min,
		    sc->min_unit, o->max / sc->max_div, sc->max_unit, sc->hint,
		    value);
		return -1;
	}
	sc->store(field, n);
	return 0;
}

static int
parse_duration(const struct option *o, void *field, const char *value,
    char *err, size_t errsz)
{
	return parse_scaled(o, &time_scale, field, value, err, errsz);
}

static int
parse_size(const struct option *o, void *field, const char *value,
    char *err, size_t errsz)
{
	return parse_scaled(o, &size_scale, field, value, err, errsz);
}

static int
parse_octal(const struct option *o, void *field, const char *value,
    char *err, size_t errsz)
{
	unsigned long n;
	char *end;

	errno = 0;
	n = strtoul(value, &end, 8);
	if (*value < '0' || *value > '7' || *end != '\0' || errno != 0 ||
	    n > o->max) {
		snprintf(err, errsz, "%s: expected an octal mode such as 0660, "
		    "not '%.100s'", o->name, value);
		return -1;
	}
	*(unsigned *)field = (unsigned)n;
	return 0;
}

static void
print_bool(const struct option *o, const void *field, FILE *fp)
{
	(void)o;
	fprintf(fp, " %s", *(const int *)field ? "yes" : "no");
}

static void
print_uint(const struct option *o, const void *field, FILE *fp)
{
	(void)o;
	fprintf(fp, " %u", *(const unsigned *)field);
}

static void
print_duration(const struct option *o, const void *field, FILE *fp)
{
	unsigned ms = *(const unsigned *)field;

	(void)o;
	if (ms % SEC)
		fprintf(fp, " %ums", ms);
	else
		fprintf(fp, " %us", ms / (unsigned)SEC);
}

/* print_size - in the largest unit that divides it */
static void
print_size(const struct option *o, const void *field, FILE *fp)
{
	size_t n = *(const size_t *)field;

	(void)o;
	if (n != 0 && n % MB == 0)
		fprintf(fp, " %zuM", n / MB);
	else if (n != 0 && n % KB == 0)
		fprintf(fp, " %zuk", n / KB);
	else
		fprintf(fp, " %zu", n);
}

static void
print_octal(const struct option *o, const void *field, FILE *fp)
{
	(void)o;
	fprintf(fp, " %04o", *(const unsigned *)field);
}

/* ----- strings, names ----- */

static int
parse_string(const struct option *o, void *field, const char *value,
    char *err, size_t errsz)
{
	char *copy;

	(void)o;
	(void)err;
	(void)errsz;
	copy = xstrdup(value);
	free(*(char **)field);
	*(char **)field = copy;
	return 0;
}

static int
parse_sockpath(const struct option *o, void *field, const char *value,
    char *err, size_t errsz)
{
	size_t max = sizeof(((struct sockaddr_un *)0)->sun_path) - 1;

	if (value[0] != '/' || strlen(value) > max) {
		snprintf(err, errsz, "%s: expected an absolute path of at most "
		    "%zu bytes, not '%.100s'", o->name, max, value);
		return -1;
	}
	return parse_string(o, field, value, err, errsz);
}

/* parse_addr - a listen address as listen takes one, or "" */
static int
parse_addr(const struct option *o, void *field, const char *value,
    char *err, size_t errsz)
{
	struct listen_addr la;
	char why[256];

	if (*value != '\0' && addr_parse_listen(value, &la, why,
	    sizeof(why)) < 0) {
		/* addr_parse_listen() says "listen: ...": name this option */
		snprintf(err, errsz, "%s%s", o->name, strncmp(why, "listen", 6) ==
		    0 ? why + 6 : why);
		return -1;
	}
	return parse_string(o, field, value, err, errsz);
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

static int
parse_template(const struct option *o, void *field, const char *value,
    char *err, size_t errsz)
{
	if (template_check(value, err, errsz, o->name) < 0)
		return -1;
	return parse_string(o, field, value, err, errsz);
}

/*
 * parse_class - the name of a Postfix restriction class
 * (smtpd_restriction_classes), returned as the whole action: one bare
 * word of letters, digits, '_' and '-', starting with a letter, that is
 * not an access(5) action (Postfix would take "reject" for REJECT)
 */
static int
parse_class(const struct option *o, void *field, const char *value,
    char *err, size_t errsz)
{
	static const char *const actions[] = {
		"ok", "reject", "defer", "defer_if_reject", "defer_if_permit",
		"bcc", "discard", "dunno", "filter", "hold", "prepend",
		"redirect", "info", "warn", NULL
	};
	size_t i, n = strlen(value);

	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)value[i]) && value[i] != '_' &&
		    value[i] != '-')
			break;
	if (n > 0 && (i < n || !isalpha((unsigned char)value[0]) ||
	    n > 100)) {
		snprintf(err, errsz, "%s: expected the name of a restriction "
		    "class (a letter, then letters, digits, '_' or '-'; at "
		    "most 100), not '%.100s'", o->name, value);
		return -1;
	}
	for (i = 0; n > 0 && actions[i] != NULL; i++) {
		if (strcasecmp(actions[i], value) == 0) {
			snprintf(err, errsz, "%s: '%s' is an access(5) "
			    "action, not a restriction class name", o->name,
			    value);
			return -1;
		}
	}
	return parse_string(o, field, value, err, errsz);
}

static void
release_string(void *field)
{
	free(*(char **)field);
}

static void
print_string(const struct option *o, const void *field, FILE *fp)
{
	const char *s = *(char *const *)field;

	(void)o;
	if (*s)
		fprintf(fp, " %s", s);
}

static int
parse_enum(const struct option *o, void *field, const char *value,
    char *err, size_t errsz)
{
	char list[256];
	size_t len = 0;
	unsigned i;

	for (i = 0; o->names[i] != NULL; i++) {
		if (*o->names[i] && strcmp(o->names[i], value) == 0) {
			memcpy(field, &i, sizeof(i));
			return 0;
		}
	}
	list[0] = '\0';
	for (i = 0; o->names[i] != NULL; i++) {
		if (*o->names[i] == '\0')
			continue;
		len += (size_t)snprintf(list + len, sizeof(list) - len,
		    "%s%s", len ? ", " : "", o->names[i]);
		if (len >= sizeof(list))
			break;
	}
	snprintf(err, errsz, "%s: expected one of %s; not '%.100s'", o->name,
	    list, value);
	return -1;
}

static void
print_enum(const struct option *o, const void *field, FILE *fp)
{
	unsigned i;

	memcpy(&i, field, sizeof(i));
	fprintf(fp, " %s", o->names[i]);
}

static int
parse_facility(const struct option *o, void *field, const char *value,
    char *err, size_t errsz)
{
	size_t i;

	for (i = 0; i < NFACILITIES; i++) {
		if (strcmp(facilities[i].name, value) == 0) {
			*(int *)field = facilities[i].value;
			return 0;
		}
	}
	snprintf(err, errsz, "%s: expected mail, daemon, user or local0 to "
	    "local7, not '%.100s'", o->name, value);
	return -1;
}

static void
print_facility(const struct option *o, const void *field, FILE *fp)
{
	size_t i;

	(void)o;
	for (i = 0; i < NFACILITIES; i++)
		if (facilities[i].value == *(const int *)field)
			fprintf(fp, " %s", facilities[i].name);
}

/* ----- lists ----- */

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

/* room for a list of any list type */
union any_list {
	struct server_list servers;
	struct domain_list domains;
	struct cidr_list cidrs;
	struct forwarder_list forwarders;
};

/*
 * parse_list - the parser of every list type: each item goes through the
 * type's add() into a new list, which replaces the field only when all
 * items are good
 */
static int
parse_list(const struct option *o, void *field, const char *value,
    char *err, size_t errsz)
{
	const struct type_ops *t = &types[o->type];
	union any_list fresh;
	char *copy, *cur, *item;
	int r = 0;

	copy = xstrdup(value);
	memset(&fresh, 0, sizeof(fresh));
	cur = copy;
	while (r == 0 && (item = split_list(&cur)) != NULL)
		r = t->add(o, &fresh, item, err, errsz);
	free(copy);
	if (r < 0) {
		t->release(&fresh);
		return -1;
	}
	t->release(field);
	memcpy(field, &fresh, t->list_size);
	return 0;
}

/* strs_add - append a copy of s to a list of strings */
static int
strs_add(struct domain_list *l, const char *s, char *err, size_t errsz)
{
	(void)err;
	(void)errsz;
	l->v = xreallocarray(l->v, l->n + 1, sizeof(*l->v));
	l->v[l->n++] = xstrdup(s);
	return 0;
}

/* release_strs, print_strs - of lists of strings (T_LISTEN, T_DOMAINS) */
static void
release_strs(void *field)
{
	struct domain_list *l = field;
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

static void
print_strs(const struct option *o, const void *field, FILE *fp)
{
	const struct domain_list *l = field;
	size_t i;

	(void)o;
	for (i = 0; i < l->n; i++)
		fprintf(fp, "%s %s", i ? "," : "", l->v[i]);
}

static int
add_listen(const struct option *o, void *list, const char *item,
    char *err, size_t errsz)
{
	struct listen_addr la;

	(void)o;
	if (addr_parse_listen(item, &la, err, errsz) < 0)
		return -1;
	return strs_add(list, item, err, errsz);
}

/* csv_append - item to a comma separated string */
static void
csv_append(char **csv, const char *item)
{
	size_t old = *csv ? strlen(*csv) : 0;
	char *n;

	n = xreallocarray(*csv, old + strlen(item) + 2, 1);
	if (old)
		n[old++] = ',';
	strcpy(n + old, item);
	*csv = n;
}

static int
add_server(const struct option *o, void *list, const char *item,
    char *err, size_t errsz)
{
	struct server_list *l = list;
	char entry[ADDR_SERVER_STRLEN];

	if (addr_parse_server(item, entry, sizeof(entry)) < 0) {
		snprintf(err, errsz, "%s: '%.100s': expected address, "
		    "address:port or [IPv6]:port", o->name, item);
		return -1;
	}
	csv_append(&l->csv, entry);
	l->n++;
	return 0;
}

static void
release_servers(void *field)
{
	free(((struct server_list *)field)->csv);
}

static void
print_servers(const struct option *o, const void *field, FILE *fp)
{
	const struct server_list *l = field;

	(void)o;
	if (l->csv)
		fprintf(fp, " %s", l->csv);
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

long
domain_list_find(const struct domain_list *l, const char *name)
{
	size_t i, n = strlen(name), dn;

	if (n > 0 && name[n - 1] == '.')
		n--;
	for (i = 0; i < l->n; i++) {
		dn = strlen(l->v[i]);
		if (dn > n || strncasecmp(name + n - dn, l->v[i], dn) != 0)
			continue;
		if (dn == n || name[n - dn - 1] == '.')
			return (long)i;
	}
	return -1;
}

int
domain_list_match(const struct domain_list *l, const char *name)
{
	return domain_list_find(l, name) >= 0;
}

long
domain_list_find_host(const struct domain_list *l, const char *name)
{
	return strchr(name, '\\') != NULL ? -1 : domain_list_find(l, name);
}

#define MAX_DOMAINS 64

static int
add_domain(const struct option *o, void *list, const char *item,
    char *err, size_t errsz)
{
	struct domain_list *l = list;
	char name[256];

	if (domain_parse(item, name, sizeof(name)) < 0) {
		snprintf(err, errsz, "%s: '%.100s' is not a domain name",
		    o->name, item);
		return -1;
	}
	if (l->n >= MAX_DOMAINS) {
		snprintf(err, errsz, "%s: more than %d domains", o->name,
		    MAX_DOMAINS);
		return -1;
	}
	/*
	 * dnswl_zones: all are asked at once (DECISION_MAX_DNSWL), and the
	 * IPv6 question is 64 bytes of nibbles, a dot and the zone
	 */
	if (strcmp(o->name, "dnswl_zones") == 0 && l->n >= 16) {
		snprintf(err, errsz, "%s: more than 16 zones", o->name);
		return -1;
	}
	if (strcmp(o->name, "dnswl_zones") == 0 && strlen(name) > 188) {
		snprintf(err, errsz, "%s: '%.100s' is too long for a DNSWL "
		    "zone (at most 188 bytes)", o->name, item);
		return -1;
	}
	return strs_add(l, name, err, errsz);
}

static int
add_cidr(const struct option *o, void *list, const char *item,
    char *err, size_t errsz)
{
	struct cidr cr;
	char msg[256];

	if (cidr_parse(item, &cr, msg, sizeof(msg)) < 0) {
		snprintf(err, errsz, "%s: %s", o->name, msg);
		return -1;
	}
	cidr_list_add(list, &cr);
	return 0;
}

static void
release_cidrs(void *field)
{
	cidr_list_free(field);
}

static void
print_cidrs(const struct option *o, const void *field, FILE *fp)
{
	const struct cidr_list *l = field;
	char a[CIDR_STRLEN];
	size_t i;

	(void)o;
	for (i = 0; i < l->n; i++)
		fprintf(fp, "%s %s", i ? "," : "",
		    cidr_format(&l->v[i], a, sizeof(a)));
}

/*
 * add_forwarder - an address or CIDR block, "ptr:DOMAIN" or "spf:DOMAIN";
 * at most CONFIG_MAX_FORWARDERS of the last two, which cost lookups
 */
static int
add_forwarder(const struct option *o, void *list, const char *item,
    char *err, size_t errsz)
{
	struct forwarder_list *l = list;
	struct domain_list *to;
	char name[256], msg[256];
	struct cidr cr;

	if (strncasecmp(item, "ptr:", 4) == 0)
		to = &l->ptr;
	else if (strncasecmp(item, "spf:", 4) == 0)
		to = &l->spf;
	else if (cidr_parse(item, &cr, msg, sizeof(msg)) == 0) {
		cidr_list_add(&l->cidrs, &cr);
		return 0;
	} else {
		snprintf(err, errsz, "%s: '%.100s': expected an address or "
		    "CIDR block, ptr:DOMAIN or spf:DOMAIN", o->name, item);
		return -1;
	}
	if (domain_parse(item + 4, name, sizeof(name)) < 0 ||
	    strchr(name, '.') == NULL) {
		snprintf(err, errsz, "%s: '%.100s' is not a domain name",
		    o->name, item + 4);
		return -1;
	}
	if (l->ptr.n + l->spf.n >= CONFIG_MAX_FORWARDERS) {
		snprintf(err, errsz, "%s: more than %d ptr: and spf: items",
		    o->name, CONFIG_MAX_FORWARDERS);
		return -1;
	}
	return strs_add(to, name, err, errsz);
}

static void
release_forwarders(void *field)
{
	struct forwarder_list *l = field;

	release_cidrs(&l->cidrs);
	release_strs(&l->ptr);
	release_strs(&l->spf);
}

static void
print_forwarders(const struct option *o, const void *field, FILE *fp)
{
	const struct forwarder_list *l = field;
	const char *sep = "";
	char a[CIDR_STRLEN];
	size_t i;

	(void)o;
	/* one address as "192.0.2.7": as the header and the log write it */
	for (i = 0; i < l->cidrs.n; i++, sep = ",") {
		fprintf(fp, "%s %s", sep, cidr_format_short(&l->cidrs.v[i], a,
		    sizeof(a)));
	}
	for (i = 0; i < l->ptr.n; i++, sep = ",")
		fprintf(fp, "%s ptr:%s", sep, l->ptr.v[i]);
	for (i = 0; i < l->spf.n; i++, sep = ",")
		fprintf(fp, "%s spf:%s", sep, l->spf.v[i]);
}

static const struct type_ops types[T_NTYPES] = {
	[T_BOOL] = { parse_bool, NULL, print_bool, NULL, 0 },
	[T_UINT] = { parse_uint, NULL, print_uint, NULL, 0 },
	[T_DURATION] = { parse_duration, NULL, print_duration, NULL, 0 },
	[T_SIZE] = { parse_size, NULL, print_size, NULL, 0 },
	[T_OCTAL] = { parse_octal, NULL, print_octal, NULL, 0 },
	[T_STRING] = { parse_string, release_string, print_string, NULL, 0 },
	[T_SOCKPATH] = { parse_sockpath, release_string, print_string, NULL,
	    0 },
	[T_TEMPLATE] = { parse_template, release_string, print_string, NULL,
	    0 },
	[T_CLASS] = { parse_class, release_string, print_string, NULL, 0 },
	[T_ENUM] = { parse_enum, NULL, print_enum, NULL, 0 },
	[T_FACILITY] = { parse_facility, NULL, print_facility, NULL, 0 },
	[T_ADDR] = { parse_addr, release_string, print_string, NULL, 0 },
	[T_LISTEN] = { parse_list, release_strs, print_strs, add_listen,
	    sizeof(struct domain_list) },
	[T_SERVERS] = { parse_list, release_servers, print_servers,
	    add_server, sizeof(struct server_list) },
	[T_DOMAINS] = { parse_list, release_strs, print_strs, add_domain,
	    sizeof(struct domain_list) },
	[T_CIDRS] = { parse_list, release_cidrs, print_cidrs, add_cidr,
	    sizeof(struct cidr_list) },
	[T_FORWARDERS] = { parse_list, release_forwarders, print_forwarders,
	    add_forwarder, sizeof(struct forwarder_list) },
};

/* ----- the config ----- */

static int
set_value(struct config *c, const struct option *o, const char *value,
    char *err, size_t errsz)
{
	return types[o->type].parse(o, (char *)c + o->off, value, err,
	    errsz);
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

/* the ids of configs, for telling them apart (config.h) */
static unsigned long config_ids;

static struct config *
config_defaults(void)
{
	struct config *c;
	char err[256];
	size_t i;

	c = xcalloc(1, sizeof(*c));
	c->refs = 1;
	c->id = ++config_ids;
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

/* option_text - the value of o in c as config_dump() prints it: " v" */
static char *
option_text(const struct option *o, const struct config *c)
{
	char *text = NULL;
	size_t len = 0;
	FILE *fp;

	if ((fp = open_memstream(&text, &len)) == NULL) {
		fprintf(stderr, "spfpd: config: out of memory\n");
		exit(1);
	}
	types[o->type].print(o, (const char *)c + o->off, fp);
	if (fclose(fp) != 0 || text == NULL) {
		fprintf(stderr, "spfpd: config: out of memory\n");
		exit(1);
	}
	return text;
}

/*
 * config_share - a section's config: from's values, its fields shared
 * (borrowed, never freed by it) until the section sets one (section_set)
 */
static struct config *
config_share(const struct config *from)
{
	struct config *c = xmalloc(sizeof(*c));

	*c = *from;
	c->refs = 0;
	c->id = ++config_ids;
	c->path = NULL;
	c->root = NULL;
	c->section = NULL;
	c->sections = NULL;
	c->nsections = 0;
	c->sindex = NULL;
	memset(c->borrowed, 1, sizeof(c->borrowed));
	return c;
}

/* section_set - o's value in a section's config: its own from now on */
static int
section_set(struct config *c, const struct option *o, const char *value,
    char *err, size_t errsz)
{
	const struct type_ops *t = &types[o->type];
	size_t idx = (size_t)(o - options);

	if (c->borrowed[idx]) {
		/* the parser frees the old value: not the root's */
		if (t->release != NULL)
			memset((char *)c + o->off, 0, t->list_size ?
			    t->list_size : sizeof(char *));
		c->borrowed[idx] = 0;
	}
	return set_value(c, o, value, err, errsz);
}

/* ----- sections ----- */

enum section_key {
	SK_RECIPIENT, SK_POLICY_CONTEXT, SK_SERVER_ADDRESS, SK_SERVER_PORT,
	SK_N
};

static const char *const section_keys[SK_N] = {
	"recipient", "policy_context", "server_address", "server_port"
};

/* one line of a section, applied once the global settings are complete */
struct section_line {
	unsigned line;
	const struct option *o;
	char *value;
};

struct config_section {
	enum section_key key;
	char *text;                     /* "KEY = v1, v2" */
	struct domain_list strs;        /* recipient: whole addresses (lower
	                                   case, section_start); policy_context:
	                                   values */
	struct domain_list domains;     /* recipient: domains */
	struct cidr_list cidrs;         /* server_address */
	unsigned *ports;                /* server_port */
	size_t nports;
	struct config *cfg;             /* NULL until the file is read */
	unsigned line;                  /* of its section line */
	struct section_line *lines;     /* while the file is read */
	size_t nlines;
};

static int
option_in_section(const struct option *o)
{
	size_t i;

	for (i = 0; i < sizeof(section_options) / sizeof(section_options[0]);
	    i++)
		if (strcmp(section_options[i], o->name) == 0)
			return 1;
	return 0;
}

/*
 * The recipient as the address values of sections see it: lower case, a
 * quoted local part unquoted ("\"u\"@example.com" is u@example.com), no
 * final dot; also without its extension (recipient_delimiter, as in
 * Postfix: u+list@example.com is u's mail too), and the address it routes
 * to: when the domain is one of its own, Postfix strips it and delivers
 * to what the local part names ("u@d"@localhost, u%d@localhost,
 * d!u@localhost are u@d).  Each form is looked up and the first section
 * any of them matches applies: otherwise a client could dodge a
 * stricter section of one address by writing it another way.
 */
#define RCPT_FORMS 8

struct rcpt_forms {
	char *v[RCPT_FORMS];
	size_t n;
};

/*
 * domain_ascii - a UTF-8 domain name (SMTPUTF8) in its ASCII form, the
 * one Postfix looks its domains up in (IDNA2008, UTS #46 mapping: case
 * and NFC folded); NULL: not a valid one.  Free it.
 */
static char *
domain_ascii(const char *d)
{
	char *out = NULL;

	if (idn2_to_ascii_8z(d, &out, IDN2_NFC_INPUT |
	    IDN2_NONTRANSITIONAL) != IDN2_OK) {
		idn2_free(out);
		return NULL;
	}
	return out;
}

/* is_ascii - has s no byte above 127? */
static int
is_ascii(const char *s)
{
	while (*s != '\0')
		if ((unsigned char)*s++ > 127)
			return 0;
	return 1;
}

/*
 * domain_ascii_in - s (malloc'd) with its tail d, a domain, in ASCII
 * form (s itself when it is ASCII already, or not a valid name)
 */
static char *
domain_ascii_in(char *s, const char *d)
{
	size_t head = (size_t)(d - s);
	char *a, *o;

	if (is_ascii(d) || (a = domain_ascii(d)) == NULL)
		return s;
	o = xmalloc(head + strlen(a) + 1);
	memcpy(o, s, head);
	strcpy(o + head, a);
	for (d = o + head; *d != '\0'; d++)
		o[d - o] = (char)tolower((unsigned char)*d);
	idn2_free(a);
	free(s);
	return o;
}

/* rcpt_norm - r as compared, or NULL: no '@', or nothing before it */
static char *
rcpt_norm(const char *r)
{
	const char *at = strrchr(r, '@'), *p, *end;
	size_t i = 0;
	char *o;

	if (at == NULL || at == r)
		return NULL;
	o = xmalloc(strlen(r) + 1);
	end = at;
	p = r;
	if (at - r >= 2 && r[0] == '"' && at[-1] == '"') {
		p = r + 1;
		end = at - 1;
	}
	for (; p < end; p++) {
		if (end != at && *p == '\\' && p + 1 < end)
			p++;
		o[i++] = (char)tolower((unsigned char)*p);
	}
	for (p = at; *p != '\0'; p++)
		o[i++] = (char)tolower((unsigned char)*p);
	if (o[i - 1] == '.')
		i--;
	o[i] = '\0';
	if (o[0] == '@') {              /* "" quoted: nothing */
		free(o);
		return NULL;
	}
	return domain_ascii_in(o, strrchr(o, '@') + 1);
}

/* rcpt_base - a without its extension, or NULL: it has none */
static char *
rcpt_base(const char *a, const char *delims)
{
	const char *at = strrchr(a, '@');
	size_t ext;
	char *o;

	if (*delims == '\0')
		return NULL;
	ext = 1 + strcspn(a + 1, delims);       /* never the first byte */
	if (a + ext >= at)
		return NULL;
	o = xmalloc(ext + strlen(at) + 1);
	memcpy(o, a, ext);
	strcpy(o + ext, at);
	return o;
}

/* rcpt_routed - the address a's local part routes to, or NULL */
static char *
rcpt_routed(const char *a)
{
	size_t n = (size_t)(strrchr(a, '@') - a);
	char *l, *p, *o;

	if (strcspn(a, "@%!") == n)     /* the usual case: not routed */
		return NULL;
	l = xmalloc(n + 2);
	memcpy(l, a, n);
	l[n] = '\0';
	if (strchr(l, '@') != NULL)
		return l;                       /* "u@d"@host */
	if ((p = strrchr(l, '%')) != NULL) {
		*p = '@';                       /* u%d@host */
		return l;
	}
	if ((p = strchr(l, '!')) != NULL) {     /* d!u@host */
		*p = '\0';
		o = xmalloc(n + 2);
		snprintf(o, n + 2, "%s@%s", p + 1, l);
		free(l);
		return o;
	}
	free(l);
	return NULL;
}

static void
rcpt_forms(struct rcpt_forms *rf, const char *r, const char *delims)
{
	char *a, *next;

	rf->n = 0;
	a = rcpt_norm(r);
	while (a != NULL) {
		if (rf->n + 2 > RCPT_FORMS) {   /* routes that long: enough */
			free(a);
			return;
		}
		rf->v[rf->n++] = a;
		if ((next = rcpt_base(a, delims)) != NULL)
			rf->v[rf->n++] = next;
		if ((next = rcpt_routed(a)) == NULL)
			return;
		a = rcpt_norm(next);
		free(next);
	}
}

static void
rcpt_forms_free(struct rcpt_forms *rf)
{
	while (rf->n > 0)
		free(rf->v[--rf->n]);
}

/* section_recipient - an address or domain of a recipient section */
static int
section_recipient(struct config_section *sec, const char *item, char *err,
    size_t errsz)
{
	const char *at;
	char name[256], *norm;

	if ((at = strrchr(item, '@')) == NULL) {
		if (domain_parse(item, name, sizeof(name)) < 0) {
			snprintf(err, errsz, "recipient: bad domain '%.100s'",
			    item);
			return -1;
		}
		if (strchr(name, '.') == NULL) {
			snprintf(err, errsz, "recipient: '%.100s' is no domain "
			    "(no dot) and no address", item);
			return -1;
		}
		return strs_add(&sec->domains, name, err, errsz);
	}
	/* the address in the form the recipient is compared in */
	if (at == item || domain_parse(at + 1, name, sizeof(name)) < 0 ||
	    strlen(item) > 320 || (norm = rcpt_norm(item)) == NULL) {
		snprintf(err, errsz, "recipient: bad address '%.100s'", item);
		return -1;
	}
	strs_add(&sec->strs, norm, err, errsz);
	free(norm);
	return 0;
}

/* section_add - one value of a section line; -1 and err if it is bad */
static int
section_add(struct config_section *sec, const char *item, char *err,
    size_t errsz)
{
	char msg[256], *norm, *end;
	const char *at;
	struct cidr cr;
	unsigned long n;
	int rc;

	switch (sec->key) {
	case SK_RECIPIENT:
		if (is_ascii(item))
			return section_recipient(sec, item, err, errsz);
		/* a UTF-8 domain: as requests are compared, in ASCII form */
		norm = xstrdup(item);
		at = strrchr(norm, '@');
		norm = domain_ascii_in(norm, at ? at + 1 : norm);
		if ((rc = section_recipient(sec, norm, err, errsz)) < 0)
			snprintf(err, errsz, "recipient: bad domain or address "
			    "'%.100s'", item);
		free(norm);
		return rc;
	case SK_POLICY_CONTEXT:
		return strs_add(&sec->strs, item, err, errsz);
	case SK_SERVER_ADDRESS:
		if (cidr_parse(item, &cr, msg, sizeof(msg)) < 0) {
			snprintf(err, errsz, "server_address: %s", msg);
			return -1;
		}
		cidr_list_add(&sec->cidrs, &cr);
		return 0;
	default:
		if (parse_ulong(item, &n, &end) < 0 || *end != '\0' ||
		    n < 1 || n > 65535) {
			snprintf(err, errsz, "server_port: bad port '%.100s'",
			    item);
			return -1;
		}
		sec->ports = xreallocarray(sec->ports, sec->nports + 1,
		    sizeof(*sec->ports));
		sec->ports[sec->nports++] = (unsigned)n;
		return 0;
	}
}

/*
 * The recipient sections' addresses and domains are hashed (name -> the
 * first section that lists it): choosing a section costs a few lookups,
 * not a pass over every section - a migrated Per_User file has one per
 * user.  The sections of the other keys are few and tried in order.
 */
struct name_slot {
	const char *name;               /* a section's; NULL: empty */
	size_t sec;
};

struct name_table {
	struct name_slot *v;
	size_t cap, n;                  /* cap: a power of 2, or 0 */
};

struct section_index {
	struct name_table addrs, domains;
	size_t *others;                 /* the other keys' sections, in order */
	size_t nothers;
};

static size_t
name_hash(const char *s)
{
	size_t h = 2166136261u;

	while (*s != '\0')
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

/* table_find - the first section listing name, or SIZE_MAX */
static size_t
table_find(const struct name_table *t, const char *name)
{
	size_t i;

	if (t->cap == 0)
		return SIZE_MAX;
	for (i = name_hash(name) & (t->cap - 1); t->v[i].name != NULL;
	    i = (i + 1) & (t->cap - 1))
		if (strcmp(t->v[i].name, name) == 0)
			return t->v[i].sec;
	return SIZE_MAX;
}

/* table_add - name listed by section sec (the first one stays) */
static void
table_add(struct name_table *t, const char *name, size_t sec)
{
	struct name_table old = *t;
	size_t i;

	if (table_find(t, name) != SIZE_MAX)
		return;
	if (2 * (t->n + 1) > t->cap) {          /* at most half full */
		t->cap = t->cap ? 2 * t->cap : 16;
		t->v = xcalloc(t->cap, sizeof(*t->v));
		t->n = 0;
		for (i = 0; i < old.cap; i++)
			if (old.v[i].name != NULL)
				table_add(t, old.v[i].name, old.v[i].sec);
		free(old.v);
	}
	for (i = name_hash(name) & (t->cap - 1); t->v[i].name != NULL;
	    i = (i + 1) & (t->cap - 1))
		;
	t->v[i].name = name;
	t->v[i].sec = sec;
	t->n++;
}

static void
index_build(struct config *c)
{
	struct section_index *ix = xcalloc(1, sizeof(*ix));
	struct config_section *sec;
	size_t i, j;

	for (i = 0; i < c->nsections; i++) {
		sec = &c->sections[i];
		if (sec->key != SK_RECIPIENT) {
			ix->others = xreallocarray(ix->others, ix->nothers + 1,
			    sizeof(*ix->others));
			ix->others[ix->nothers++] = i;
			continue;
		}
		for (j = 0; j < sec->strs.n; j++)
			table_add(&ix->addrs, sec->strs.v[j], i);
		for (j = 0; j < sec->domains.n; j++)
			table_add(&ix->domains, sec->domains.v[j], i);
	}
	c->sindex = ix;
}

static void
index_free(struct section_index *ix)
{
	if (ix == NULL)
		return;
	free(ix->addrs.v);
	free(ix->domains.v);
	free(ix->others);
	free(ix);
}

/* min_sec - the earlier of two sections (SIZE_MAX: none) */
static size_t
min_sec(size_t a, size_t b)
{
	return a < b ? a : b;
}

/*
 * rcpt_section - the first recipient section of rf: by each form's
 * address, its domain and each domain above it (at most 253 bytes: no
 * listed domain is longer)
 */
static size_t
rcpt_section(const struct section_index *ix, const struct rcpt_forms *rf)
{
	size_t best = SIZE_MAX, n, i;
	const char *d;

	for (i = 0; i < rf->n; i++) {
		best = min_sec(best, table_find(&ix->addrs, rf->v[i]));
		d = strrchr(rf->v[i], '@') + 1;
		for (n = strlen(d); *d != '\0'; n--, d++)
			if (n <= 253 && (d[-1] == '@' || d[-1] == '.'))
				best = min_sec(best, table_find(&ix->domains,
				    d));
	}
	return best;
}

/* section_match - does the request, by k, belong to sec (not recipient)? */
static int
section_match(const struct config_section *sec, const struct config_keys *k)
{
	const char *v;
	unsigned long port;
	char *end;
	size_t i;

	switch (sec->key) {
	case SK_POLICY_CONTEXT:
		if ((v = k->policy_context) == NULL || *v == '\0')
			return 0;
		for (i = 0; i < sec->strs.n; i++)
			if (strcmp(v, sec->strs.v[i]) == 0)
				return 1;
		return 0;
	case SK_SERVER_ADDRESS:
		return k->server_address != NULL &&
		    cidr_list_match(&sec->cidrs, k->server_address);
	default:
		if (k->server_port == NULL ||
		    parse_ulong(k->server_port, &port, &end) < 0 ||
		    *end != '\0')
			return 0;
		for (i = 0; i < sec->nports; i++)
			if (sec->ports[i] == port)
				return 1;
		return 0;
	}
}

struct config *
config_select(struct config *c, const struct config_keys *k)
{
	const struct section_index *ix;
	struct rcpt_forms rf;
	size_t i, best;

	if (c->root != NULL)
		c = c->root;
	if ((ix = c->sindex) == NULL)
		return c;
	rf.n = 0;
	if (k->recipient != NULL && (ix->addrs.n || ix->domains.n))
		rcpt_forms(&rf, k->recipient, c->recipient_delimiter);
	best = rcpt_section(ix, &rf);
	rcpt_forms_free(&rf);
	for (i = 0; i < ix->nothers && ix->others[i] < best; i++) {
		if (section_match(&c->sections[ix->others[i]], k)) {
			best = ix->others[i];
			break;
		}
	}
	return best == SIZE_MAX ? c : c->sections[best].cfg;
}

int
config_recipient_sections(const struct config *c)
{
	const struct section_index *ix;

	if (c->root != NULL)
		c = c->root;
	ix = c->sindex;
	return ix != NULL && (ix->addrs.n > 0 || ix->domains.n > 0);
}

static void config_free(struct config *);

static void
section_free(struct config_section *sec)
{
	size_t i;

	free(sec->text);
	release_strs(&sec->strs);
	release_strs(&sec->domains);
	cidr_list_free(&sec->cidrs);
	free(sec->ports);
	config_free(sec->cfg);
	for (i = 0; i < sec->nlines; i++)
		free(sec->lines[i].value);
	free(sec->lines);
}

/* ----- references ----- */

static void
config_free(struct config *c)
{
	const struct option *o;
	size_t i;

	if (c == NULL)
		return;
	for (o = options; o < options + NOPTIONS; o++)
		if (types[o->type].release != NULL &&
		    !c->borrowed[o - options])
			types[o->type].release((char *)c + o->off);
	index_free(c->sindex);
	for (i = 0; i < c->nsections; i++)
		section_free(&c->sections[i]);
	free(c->sections);
	free(c->path);
	free(c);
}

struct config *
config_ref(struct config *c)
{
	(c->root != NULL ? c->root : c)->refs++;
	return c;
}

void
config_unref(struct config *c)
{
	if (c == NULL)
		return;
	if (c->root != NULL)
		c = c->root;
	if (--c->refs > 0)
		return;
	config_free(c);
}

void
config_dump(const struct config *c, FILE *fp)
{
	const struct config_section *sec;
	const struct option *o;
	char *mine, *theirs;
	size_t i;

	if (c->root != NULL)
		c = c->root;
	for (o = options; o < options + NOPTIONS; o++) {
		fprintf(fp, "%s =", o->name);
		types[o->type].print(o, (const char *)c + o->off, fp);
		fputc('\n', fp);
	}
	for (i = 0; i < c->nsections; i++) {
		sec = &c->sections[i];
		fprintf(fp, "\n[%s]\n", sec->text);
		for (o = options; sec->cfg != NULL && o < options + NOPTIONS;
		    o++) {
			mine = option_text(o, sec->cfg);
			theirs = option_text(o, c);
			if (strcmp(mine, theirs) != 0)
				fprintf(fp, "%s =%s\n", o->name, mine);
			free(mine);
			free(theirs);
		}
	}
}

/* ----- the file ----- */

/* logical line being assembled from a line and its continuations */
struct logical {
	char *text;
	size_t len;
	unsigned line;
};

/* one file being read */
struct reader {
	struct config *c;
	const char *path;
	config_err_fn *errfn;
	void *arg;
	unsigned lineno;
	int errors;
	struct logical l;               /* the pending "key = value" */
	unsigned char seen[NOPTIONS];   /* set at line seen_line[] */
	unsigned seen_line[NOPTIONS];
	int in_section;                 /* the lines go to the last section */
};

/* report - "file:line: msg", or "file: msg" for line 0 */
static void
report(struct reader *r, unsigned line, const char *msg)
{
	char buf[1024];

	if (line)
		snprintf(buf, sizeof(buf), "%s:%u: %s", r->path, line, msg);
	else
		snprintf(buf, sizeof(buf), "%s: %s", r->path, msg);
	r->errfn(r->arg, buf);
}

static void
line_error(struct reader *r, const char *msg)
{
	report(r, r->lineno, msg);
	r->errors++;
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

/*
 * section_line - a line of the last section: kept until the global
 * settings are complete (sections_build)
 */
static int
section_line(struct reader *r, const struct option *o, const char *value)
{
	struct config_section *sec = &r->c->sections[r->c->nsections - 1];
	char msg[512];
	size_t i;

	if (!option_in_section(o)) {
		snprintf(msg, sizeof(msg), "%s cannot be set in a section",
		    o->name);
		report(r, r->l.line, msg);
		return -1;
	}
	for (i = 0; i < sec->nlines; i++) {
		if (sec->lines[i].o != o)
			continue;
		snprintf(msg, sizeof(msg), "%s: already set at line %u",
		    o->name, sec->lines[i].line);
		report(r, r->l.line, msg);
		return -1;
	}
	sec->lines = xreallocarray(sec->lines, sec->nlines + 1,
	    sizeof(*sec->lines));
	sec->lines[sec->nlines].line = r->l.line;
	sec->lines[sec->nlines].o = o;
	sec->lines[sec->nlines++].value = xstrdup(value);
	return 0;
}

/*
 * section_start - "[KEY = v1, v2]" (s, trimmed) starts a section; a bad
 * one is reported and still collects its lines, which are checked too
 */
static void
section_start(struct reader *r, char *s)
{
	struct config *c = r->c;
	struct config_section *sec;
	char msg[512], *eq, *key, *cur, *item, *text = NULL;
	size_t n = strlen(s), k, values = 0, bad = 0;

	c->sections = xreallocarray(c->sections, c->nsections + 1,
	    sizeof(*c->sections));
	sec = &c->sections[c->nsections++];
	memset(sec, 0, sizeof(*sec));
	sec->line = r->lineno;
	r->in_section = 1;
	if (n < 2 || s[n - 1] != ']') {
		line_error(r, "missing ']'");
		return;
	}
	s[n - 1] = '\0';
	if ((eq = strchr(s + 1, '=')) == NULL) {
		snprintf(msg, sizeof(msg), "'%.100s' section without '='",
		    trim(s + 1));
		line_error(r, msg);
		return;
	}
	*eq = '\0';
	key = trim(s + 1);
	for (k = 0; k < SK_N && strcmp(key, section_keys[k]) != 0; k++)
		;
	if (k == SK_N) {
		snprintf(msg, sizeof(msg), "unknown section key '%.100s' "
		    "(recipient, policy_context, server_address, server_port)",
		    key);
		line_error(r, msg);
		return;
	}
	sec->key = (enum section_key)k;
	csv_append(&text, key);
	cur = eq + 1;
	while ((item = split_list(&cur)) != NULL) {
		if (sec->key == SK_RECIPIENT)   /* any case: one text */
			for (eq = item; *eq; eq++)
				*eq = (char)tolower((unsigned char)*eq);
		if (section_add(sec, item, msg, sizeof(msg)) < 0) {
			line_error(r, msg);
			bad++;
			continue;
		}
		text = xreallocarray(text, strlen(text) + strlen(item) + 4, 1);
		strcat(text, values++ ? ", " : " = ");
		strcat(text, item);
	}
	if (values == 0 && bad == 0)
		line_error(r, "section without a value");
	sec->text = text;
}

/*
 * sections_shadowed - a recipient value that an earlier section already
 * catches (the same name, or its domain or one above) is an error: that
 * section would never apply to it
 */
static void
sections_shadowed(struct reader *r)
{
	const struct config *c = r->c;
	const struct config_section *sec;
	struct rcpt_forms rf;
	char msg[512], probe[1100];
	size_t i, j, first;

	for (i = 0; i < c->nsections; i++) {
		sec = &c->sections[i];
		if (sec->key != SK_RECIPIENT)
			continue;
		for (j = 0; j < sec->strs.n + sec->domains.n; j++) {
			const char *v = j < sec->strs.n ? sec->strs.v[j] :
			    sec->domains.v[j - sec->strs.n];

			/* a domain as the address of someone in it */
			snprintf(probe, sizeof(probe), "%s%s", j < sec->strs.n ?
			    "" : "@", v);
			rf.n = 0;
			rf.v[rf.n++] = probe;
			first = rcpt_section(c->sindex, &rf);
			if (first >= i)
				continue;
			snprintf(msg, sizeof(msg), "recipient: %s never gets "
			    "this section: the section at line %u comes first",
			    v, c->sections[first].line);
			report(r, sec->line, msg);
			r->errors++;
		}
	}
}

/*
 * sections_build - each section's config: the global settings, then its
 * own lines (their errors reported with their lines)
 */
static void
sections_build(struct reader *r)
{
	struct config *c = r->c;
	struct config_section *sec;
	struct section_line *sl;
	char msg[512];
	size_t i, j;

	for (i = 0; i < c->nsections; i++) {
		sec = &c->sections[i];
		sec->cfg = config_share(c);
		sec->cfg->root = c;
		sec->cfg->section = sec->text;
		for (j = 0; j < sec->nlines; j++) {
			sl = &sec->lines[j];
			if (section_set(sec->cfg, sl->o, sl->value, msg,
			    sizeof(msg)) < 0) {
				report(r, sl->line, msg);
				r->errors++;
			}
			free(sl->value);
		}
		free(sec->lines);
		sec->lines = NULL;
		sec->nlines = 0;
	}
	if (c->nsections > 0) {
		index_build(c);
		sections_shadowed(r);
	}
}

/* apply_line - parse the pending logical "key = value" line */
static int
apply_line(struct reader *r)
{
	struct logical *l = &r->l;
	char msg[512], *eq, *key, *value;
	const struct option *o;
	size_t idx;

	if ((eq = strchr(l->text, '=')) == NULL) {
		snprintf(msg, sizeof(msg), "missing '=' in '%.100s'",
		    trim(l->text));
		report(r, l->line, msg);
		return -1;
	}
	*eq = '\0';
	key = trim(l->text);
	value = trim(eq + 1);
	if ((o = option_find(key)) == NULL) {
		snprintf(msg, sizeof(msg), "unknown option '%.100s'", key);
		report(r, l->line, msg);
		return -1;
	}
	if (r->in_section)
		return section_line(r, o, value);
	idx = (size_t)(o - options);
	if (r->seen[idx]) {
		snprintf(msg, sizeof(msg), "%s: already set at line %u",
		    key, r->seen_line[idx]);
		report(r, l->line, msg);
		return -1;
	}
	r->seen[idx] = 1;
	r->seen_line[idx] = l->line;
	if (set_value(r->c, o, value, msg, sizeof(msg)) < 0) {
		report(r, l->line, msg);
		return -1;
	}
	return 0;
}

/* flush - apply the pending logical line, if any */
static void
flush(struct reader *r)
{
	if (r->l.text == NULL)
		return;
	if (apply_line(r) < 0)
		r->errors++;
	free(r->l.text);
	r->l.text = NULL;
	r->l.len = 0;
}

static void
logical_append(struct logical *l, const char *s)
{
	size_t n = strlen(s);
	char *nt;

	nt = xreallocarray(l->text, l->len + n + 2, 1);
	l->text = nt;
	if (l->len)
		nt[l->len++] = ' ';
	memcpy(nt + l->len, s, n + 1);
	l->len += n;
}

#define CONFIG_MAX_LINE 65536

/*
 * read_line - one line of n bytes, without its newline: an empty line
 * ends a logical line, an indented one continues it, "#" starts a
 * comment
 */
static void
read_line(struct reader *r, char *buf, size_t n)
{
	int indented = isspace((unsigned char)buf[0]);
	char *s;

	if (n > CONFIG_MAX_LINE) {
		line_error(r, "line too long");
		return;
	}
	if (memchr(buf, '\0', n) != NULL) {
		line_error(r, "NUL byte in line");
		return;
	}
	s = trim(buf);
	if (*s == '\0' && !indented) {
		flush(r);
		return;
	}
	if (*s == '#' || *s == '\0')
		return;
	if (!indented && *s == '[') {
		flush(r);
		section_start(r, s);
		return;
	}
	if (indented && r->l.text == NULL) {
		line_error(r, "continuation line without a line to continue");
		return;
	}
	/* not "[::1]:53" continuing a list: a section line, indented */
	if (indented && *s == '[' && s[strlen(s) - 1] == ']' &&
	    strchr(s, '=') != NULL) {
		line_error(r, "a section line must start in the first column");
		return;
	}
	if (!indented) {
		flush(r);
		r->l.line = r->lineno;
	}
	logical_append(&r->l, s);
}

/* read_file - every line, then the last logical line */
static void
read_file(struct reader *r, FILE *fp)
{
	char *buf = NULL;
	size_t bufsz = 0, n;
	ssize_t nread;

	while ((nread = getline(&buf, &bufsz, fp)) != -1) {
		n = (size_t)nread;
		if (n > 0 && buf[n - 1] == '\n')
			buf[--n] = '\0';
		r->lineno++;
		read_line(r, buf, n);
	}
	if (ferror(fp)) {
		report(r, r->lineno, strerror(errno));
		r->errors++;
	}
	free(buf);
	flush(r);
}

struct config *
config_load(const char *path, int must_exist, config_err_fn *errfn, void *arg)
{
	struct reader r = { .path = path, .errfn = errfn, .arg = arg };
	FILE *fp;

	r.c = config_defaults();
	if (path == NULL)
		return r.c;
	r.c->path = xstrdup(path);
	if ((fp = fopen(path, "r")) == NULL) {
		if (errno == ENOENT && !must_exist)
			return r.c;
		report(&r, 0, strerror(errno));
		r.errors++;
	} else {
		read_file(&r, fp);
		fclose(fp);
		sections_build(&r);
	}
	free(r.l.text);
	if (r.errors) {
		config_unref(r.c);
		return NULL;
	}
	return r.c;
}
