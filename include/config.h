/*
 * config - spfpd.conf: "key = value" lines, whole-line "#" comments, a line
 * starting with white space continues the one before (as in Postfix's
 * main.cf), lists separated by commas and/or white space.  A line
 * "[KEY = v1, v2]" starts a section: until the next one or the end of the
 * file, its lines override the global settings for the requests it
 * matches (config_select()).
 *
 * Every option is a row in one table (type, bounds, default); each type
 * has its own parse, free and print operations, and defaults go through
 * the same parser as the file.  All errors are reported, each as
 * "file:line: message", before anything is used.  A loaded config is
 * reference counted so that a reload (SIGHUP) never frees one that a
 * request in flight still reads.
 */
#ifndef SPFPD_CONFIG_H
#define SPFPD_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#include "cidr.h"

#define CONFIG_DEFAULT_PATH "/etc/spfpd/spfpd.conf"
#define CONFIG_MAX_OPTIONS 96           /* rows of config.c's options[] */

/*
 * a list of strings: the domain options hold names in lower case, without
 * the final dot; listen holds its specs
 */
struct domain_list {
	char **v;
	size_t n;
};

/* helo_reject, mail_from_reject: which SPF results are refused */
enum reject_level {
	REJECT_FAIL,            /* fail */
	REJECT_SOFTFAIL,        /* fail, softfail */
	REJECT_NOT_PASS,        /* fail, softfail, neutral, permerror */
	REJECT_NULL,            /* helo only: fail, when the sender is <> */
	REJECT_NO,              /* check and label, never refuse */
	REJECT_NO_CHECK         /* do not check this identity */
};

/* ptr_check: what a reverse DNS fail or permerror does */
enum ptr_check {
	PTR_NO,                 /* no lookup */
	PTR_HEADER,             /* into the header and the log */
	PTR_REJECT              /* refused with X.7.25 */
};

enum header_type {
	HEADER_RECEIVED_SPF,
	HEADER_AUTH_RESULTS,
	HEADER_NONE
};

/* ptr_reject_code: the reply to a bad reverse DNS */
enum ptr_reject_code {
	PTR_CODE_550,           /* 550 5.7.25 */
	PTR_CODE_450            /* 450 4.7.25 */
};

/*
 * trusted_forwarders: addresses and CIDR blocks; "ptr:" domains (the
 * client's forward-confirmed reverse DNS name is one or below one);
 * "spf:" domains (the client passes their SPF record)
 */
struct forwarder_list {
	struct cidr_list cidrs;
	struct domain_list ptr;
	struct domain_list spf;
};

#define CONFIG_MAX_FORWARDERS 16        /* ptr: and spf: items together */

/* dns_servers: for c-ares, "1.2.3.4:53,[::1]:5353"; n == 0: resolv.conf */
struct server_list {
	char *csv;
	size_t n;
};

struct config {
	int refs;
	char *path;                     /* NULL: built-in defaults only */

	/* listeners and process */
	struct domain_list listen;      /* "unix:/path", "inet:host:port" */
	unsigned socket_mode;
	char *socket_owner;
	char *socket_group;
	char *user;
	char *group;
	int syslog_facility;
	char *syslog_socket;
	int debug;
	char *metrics_listen;           /* Prometheus endpoint, "": none */

	/* bounds */
	unsigned max_connections;
	unsigned max_line_length;
	unsigned max_attributes;
	unsigned max_request_size;
	unsigned idle_timeout;          /* milliseconds, all durations */
	unsigned request_timeout;
	unsigned shutdown_timeout;

	/* DNS */
	struct server_list dns_servers;
	unsigned dns_timeout;
	unsigned dns_tries;
	unsigned dns_cache_size;
	size_t dns_cache_bytes;         /* bytes */
	unsigned dns_negative_ttl;
	unsigned dns_max_ttl;
	unsigned dns_failure_ttl;

	/* SPF */
	char *default_explanation;
	enum reject_level helo_reject;
	enum reject_level mail_from_reject;
	int permerror_reject;
	int temperror_defer;
	struct domain_list reject_not_pass_domains;
	enum header_type header_type;
	char *authserv_id;              /* "" in the file: the host name */
	int hide_receiver;
	int test_only;
	int skip_authenticated;
	struct domain_list domain_whitelist;
	struct domain_list helo_whitelist;
	unsigned lookup_time;
	char *reason_message;
	char *helo_pass_restriction;    /* a restriction class, "": off */
	char *mail_from_pass_restriction;
	int reject_only_no_mail;        /* refuse only "v=spf1 -all" fails */
	int trust_recipient_mx;         /* no SPF refusal for the recipient
	                                   domain's own MX hosts */
	struct domain_list dnswl_zones; /* RFC 8904 lists: no SPF refusal
	                                   for a listed client */
	struct forwarder_list trusted_forwarders;       /* no SPF refusal
	                                   for a forwarder */
	char *recipient_delimiter;      /* Postfix's: sections match
	                                   u+ext@d as u@d */

	/* reverse DNS (iprev) */
	enum ptr_check ptr_check;
	enum ptr_reject_code ptr_reject_code;
	int ptr_temperror_defer;
	struct cidr_list ptr_whitelist;
	struct domain_list ptr_domain_whitelist;
	unsigned ptr_max_names;

	/* local checks */
	struct cidr_list skip_addresses;
	struct cidr_list whitelist;

	/*
	 * Sections ("[recipient = example.com]" ... to the next section or
	 * the end of the file): each a whole config, the global settings
	 * with the section's lines applied.  A section's config belongs to
	 * the file's (root): its references are the root's.
	 */
	unsigned long id;               /* this config's, unique in the process
	                                   (a section's too): which decided */
	struct config *root;            /* a section's: the file's; else NULL */
	const char *section;            /* a section's: "KEY = v1, v2" (the
	                                   root's copy) */
	struct config_section *sections;        /* the root's, in file order */
	size_t nsections;
	struct section_index *sindex;   /* how config_select() finds them */
	unsigned char borrowed[CONFIG_MAX_OPTIONS];     /* a section's: this
	                                   option's field is the root's */
};

/* what a section is chosen by: the request's attributes ("" or NULL: none) */
struct config_keys {
	const char *recipient;
	const char *policy_context;
	const char *server_address;
	const char *server_port;
};

/*
 * config_select - the config for a request: that of the first section
 * (in file order) that matches k, or the file's when none does
 */
struct config *config_select(struct config *c, const struct config_keys *k);

/* config_recipient_sections - has the file [recipient = ...] sections? */
int config_recipient_sections(const struct config *c);

typedef void config_err_fn(void *arg, const char *msg);

/*
 * config_load - read path (NULL: defaults only).  With must_exist == 0 a
 * missing file means built-in defaults.  Returns NULL after reporting
 * every error through err(); a new config has one reference.
 */
struct config *config_load(const char *path, int must_exist,
    config_err_fn *err, void *arg);

/* config_set - apply one "key = value" (for -l and tests); 0 ok, -1 error */
int config_set(struct config *c, const char *key, const char *value,
    char *errbuf, size_t errsz);

/* domain_list_match - is name (any case) a listed domain or below one? */
int domain_list_match(const struct domain_list *l, const char *name);
/* domain_list_find - the first entry name is or is below, or -1 */
long domain_list_find(const struct domain_list *l, const char *name);
/*
 * domain_list_find_host - the same for a host name from the DNS (a PTR
 * name, to be trusted): one with an escaped byte ("a\\.lists.example.org"
 * is the label "a.lists" under example.org) is no host name and is in
 * no listed domain
 */
long domain_list_find_host(const struct domain_list *l, const char *name);

/* reason_message placeholders, in the order of the arguments of reason() */
#define REASON_KEYS { "rejectdefer", "spf", "url", "result", "identity", \
	"domain" }

/* a section's references are its root's */
struct config *config_ref(struct config *c);
void config_unref(struct config *c);

/*
 * config_dump - print every option and its value, as "key = value"; then
 * each section's line and the options where it differs
 */
void config_dump(const struct config *c, FILE *fp);

#endif
