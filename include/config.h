/*
 * config - spfpd.conf: "key = value" lines, whole-line "#" comments, a line
 * starting with white space continues the one before (as in Postfix's
 * main.cf), lists separated by commas and/or white space.
 *
 * Every option is a row in one table (type, bounds, default); defaults go
 * through the same parser as the file.  All errors are reported, each as
 * "file:line: message", before anything is used.  A loaded config is
 * reference counted so that a reload (SIGHUP) never frees one that a
 * request in flight still reads.
 */
#ifndef SPFPD_CONFIG_H
#define SPFPD_CONFIG_H

#include <stdio.h>

#include "cidr.h"

#define CONFIG_DEFAULT_PATH "/etc/spfpd/spfpd.conf"

/* dns_servers: for c-ares, "1.2.3.4:53,[::1]:5353"; n == 0: resolv.conf */
struct server_list {
	char *csv;
	size_t n;
};

struct config {
	int refs;
	char *path;                     /* NULL: built-in defaults only */

	/* listeners and process */
	char **listen;
	size_t nlisten;
	unsigned socket_mode;
	char *socket_owner;
	char *socket_group;
	char *user;
	char *group;
	int syslog_facility;
	int debug;

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
	unsigned dns_negative_ttl;
	unsigned dns_max_ttl;

	/* SPF */
	char *default_explanation;

	/* local checks */
	struct cidr_list skip_addresses;
	struct cidr_list whitelist;
};

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

struct config *config_ref(struct config *c);
void config_unref(struct config *c);

/* config_dump - print every option and its value, as "key = value" */
void config_dump(const struct config *c, FILE *fp);

#endif
