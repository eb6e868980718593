/*
 * session - one policy client connection (or stdin/stdout in spawn mode).
 *
 * One struct, an explicit state, one way out: session_free().  Bytes are
 * read into a bounded buffer and cut into lines; a complete request goes to
 * the policy pipeline; replies go out in request order (one request is
 * evaluated at a time per connection, later pipelined ones wait in the
 * buffer; no new request is started while 64 KiB of replies wait for
 * the client to read them).  Timeouts: idle_timeout between requests,
 * request_timeout from the first byte of a request to its end and for a
 * reply the client does not read.  stdin and stdout may be regular files
 * (batch use of --stdio).
 */
#ifndef SPFPD_SESSION_H
#define SPFPD_SESSION_H

struct config;
struct event_base;
struct session;

/* why: for the log; failed: on an error (not EOF, idle, shutdown) */
typedef void session_gone_fn(struct session *s, const char *why, int failed,
    void *arg);

/*
 * session_new - take over rfd and wfd (may be equal).
 * *cfgp is read at each use: the config in force (a reload replaces it).
 */
struct session *session_new(struct event_base *base, int rfd, int wfd,
    const char *peer, struct config *const *cfgp, session_gone_fn *gone,
    void *arg);

/* session_drain - the server stops: close now if idle, else after reply */
void session_drain(struct session *s);

void session_free(struct session *s, const char *reason);

#endif
