/*
 * server - the process: event loop, listeners, sessions, signals.
 *
 * SIGTERM/SIGINT: stop accepting, let requests in flight finish (at most
 * shutdown_timeout), exit 0.  SIGHUP: reload the config; a broken file is
 * logged and the running config kept; connections stay up.  Accepting
 * pauses at max_connections and, for a second, when out of descriptors.
 */
#ifndef SPFPD_SERVER_H
#define SPFPD_SERVER_H

struct config;

struct server_opts {
	const char *config_path;        /* NULL: built-in defaults */
	int config_must_exist;
	char **listen;                  /* from -l, overrides the config */
	int nlisten;
	int stdio;                      /* --stdio: serve stdin/stdout */
	int foreground_stderr;          /* -d */
};

int server_run(struct config *cfg, const struct server_opts *opts);

#endif
