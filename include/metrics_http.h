/*
 * metrics_http - the Prometheus endpoint: GET /metrics on metrics_listen,
 * served by libevent's evhttp on spfpd's one event loop.
 *
 * Its clients are bounded so that they can never slow the policy path:
 * at most METRICS_MAX_CONNS connections at once (the listener pauses at
 * the bound and resumes when one closes; clients beyond it wait in the
 * kernel's backlog), METRICS_TIMEOUT seconds of silence and
 * METRICS_LIFETIME seconds in all per connection, 8 KiB of headers, no
 * body to speak of, GET and HEAD only.  See metrics_http.c for how the
 * close of every connection is known with libevent 2.1.
 */
#ifndef SPFPD_METRICS_HTTP_H
#define SPFPD_METRICS_HTTP_H

struct event_base;
struct config;

#define METRICS_MAX_CONNS 16
#define METRICS_TIMEOUT 5               /* seconds without progress */
#define METRICS_LIFETIME 10             /* seconds, whatever happens */
#define METRICS_MAX_HEADERS 8192
#define METRICS_MAX_BODY 1024

/*
 * metrics_http_start - listen on cfg->metrics_listen (nothing when it is
 * ""); -1 on error (logged).  Before privileges are dropped: a UNIX
 * socket file gets socket_mode, socket_owner and socket_group, as the
 * policy socket does.
 */
int metrics_http_start(struct event_base *base, const struct config *cfg);

/* metrics_http_stop - close the listener and every connection */
void metrics_http_stop(void);

/* for the log: "unix:/path" or "inet:..." being served, or NULL */
const char *metrics_http_spec(void);

#endif
