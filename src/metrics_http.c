/*
 * metrics_http - GET /metrics over evhttp.  See metrics_http.h.
 *
 * Bounding the connections with libevent 2.1, which has no evhttp
 * max-connections setting (2.2's evhttp_set_max_connections).  What
 * follows is read from libevent 2.1.12's http.c and listener.c:
 *
 *  - The socket is bound by listener.c (a UNIX socket gets the same care
 *    as the policy socket) and handed to an evconnlistener of ours
 *    (backlog 0: no listen() again), given to evhttp with
 *    evhttp_bind_listener(); we keep it to pause and resume accepting.
 *  - evhttp_set_bevcb(): evhttp asks us for the bufferevent of each
 *    connection it accepts, inside its accept callback, before any I/O
 *    (evhttp_get_request_connection()).  That is where a connection is
 *    counted.  We give it a plain socket bufferevent, options 0, exactly
 *    what evhttp makes without a bevcb, so its I/O and close are
 *    unchanged.  (A filter bufferevent, whose free_context would tell the
 *    free, does not work: evhttp takes the filter's output drained into
 *    the socket bufferevent for the reply sent, and frees and shuts the
 *    socket before it is written: a "Connection: close" reply is lost.)
 *  - In the bevcb we also pause the listener and activate a hook event,
 *    which runs once evhttp's accept callback has returned (the
 *    evconnlistener accept loop stops when its callback disabled it, so
 *    exactly one connection is accepted per hook).  The hook finds the
 *    connection evhttp made in the bufferevent's callback argument
 *    (bufferevent_getcb(): evhttp_connection_base_bufferevent_new() sets
 *    it) and gives it a close callback (evhttp_connection_set_closecb()).
 *    We hold a reference on the bufferevent until then: if evhttp freed
 *    the connection meanwhile (its error paths, out of memory), the
 *    bufferevent is still there, its callbacks are NULL
 *    (bufferevent_free()), and the hook uncounts it.
 *  - evhttp calls the close callback wherever it closes an incoming
 *    connection's socket: evhttp_connection_free() (timeout, error, EOF,
 *    a reply with "Connection: close", evhttp_free()) and
 *    evhttp_connection_reset_(), both "if connected and fd != -1", and an
 *    incoming connection is connected from its creation
 *    (EVCON_READING_FIRSTLINE) until one of them closes it.  So each
 *    counted connection is uncounted exactly once, when its descriptor
 *    is closed.  The listener resumes below the bound.
 *  - A client that sends nothing or trickles bytes: evhttp_set_timeout
 *    drops it after METRICS_TIMEOUT seconds without progress, and our
 *    timer frees it (evhttp_connection_free()) after METRICS_LIFETIME
 *    seconds in all, so a slow client holds a slot a bounded time.
 *  - accept() errors (EMFILE...) go to our error callback, which pauses
 *    the listener for a second: a full descriptor table cannot make the
 *    loop spin on a listener that stays readable.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "config.h"
#include "listener.h"
#include "log.h"
#include "metrics.h"
#include "metrics_http.h"
#include "xmalloc.h"

struct mconn {
	struct bufferevent *bev;        /* evhttp's, referenced until hooked */
	struct evhttp_connection *evcon;        /* once hooked */
	struct event *deadline;         /* METRICS_LIFETIME */
	LIST_ENTRY(mconn) entry;
};

static struct {
	struct event_base *base;
	struct listener *l;
	struct evconnlistener *lev;
	struct evhttp *http;
	struct event *retry;            /* after an accept error */
	struct event *hook;             /* runs after evhttp's accept */
	struct mconn *pending;          /* the connection it hooks */
	LIST_HEAD(, mconn) conns;
	unsigned nconns;
	int enabled, starved;
	int full;                       /* at the bound (warned) */
	unsigned warn_full, warn_accept;
} H;

static void
update_accepting(void)
{
	int want = !H.starved && H.pending == NULL &&
	    H.nconns < METRICS_MAX_CONNS;

	if (H.nconns < METRICS_MAX_CONNS) {
		H.full = 0;
	} else if (!H.full) {
		H.full = 1;
		log_warnx_ratelimited(&H.warn_full, "metrics: %u connections "
		    "open: not accepting more until one closes", H.nconns);
	}
	if (H.lev == NULL || want == H.enabled)
		return;
	H.enabled = want;
	if (want)
		evconnlistener_enable(H.lev);
	else
		evconnlistener_disable(H.lev);
}

/* uncount - c is gone: its descriptor is closed */
static void
uncount(struct mconn *c)
{
	if (c->deadline != NULL)
		event_free(c->deadline);
	LIST_REMOVE(c, entry);
	free(c);
	H.nconns--;
	update_accepting();
}

/* the close callback: evhttp closes the connection's socket */
static void
on_close(struct evhttp_connection *evcon, void *arg)
{
	(void)evcon;
	uncount(arg);
}

/* the lifetime is over: free the connection (on_close uncounts it) */
static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct mconn *c = arg;

	(void)fd;
	(void)what;
	if (c->evcon != NULL)
		evhttp_connection_free(c->evcon);
}

/* the hook: after evhttp's accept callback, the connection it made */
static void
on_hook(evutil_socket_t fd, short what, void *arg)
{
	struct mconn *c = H.pending;
	struct timeval tv = { METRICS_LIFETIME, 0 };
	bufferevent_data_cb rcb;
	void *evcon = NULL;

	(void)fd;
	(void)what;
	(void)arg;
	if (c == NULL)
		return;
	H.pending = NULL;
	bufferevent_getcb(c->bev, &rcb, NULL, NULL, &evcon);
	if (rcb == NULL || evcon == NULL) {
		/* evhttp freed it already: nothing may stay on its socket */
		bufferevent_disable(c->bev, EV_READ | EV_WRITE);
		bufferevent_decref(c->bev);
		uncount(c);
		return;
	}
	c->evcon = evcon;
	evhttp_connection_set_closecb(c->evcon, on_close, c);
	bufferevent_decref(c->bev);
	evtimer_add(c->deadline, &tv);
	update_accepting();
}

/* the bevcb: each connection evhttp accepts, counted */
static struct bufferevent *
make_bev(struct event_base *base, void *arg)
{
	struct mconn *c;

	(void)arg;
	c = xcalloc(1, sizeof(*c));
	if ((c->bev = bufferevent_socket_new(base, -1, 0)) == NULL ||
	    (c->deadline = evtimer_new(base, on_deadline, c)) == NULL)
		fatalx("metrics: out of memory (bufferevent)");
	bufferevent_incref(c->bev);
	LIST_INSERT_HEAD(&H.conns, c, entry);
	H.nconns++;
	H.pending = c;          /* one at a time: the listener pauses */
	event_active(H.hook, EV_TIMEOUT, 0);
	update_accepting();
	return c->bev;
}

static void
on_request(struct evhttp_request *req, void *arg)
{
	const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
	const char *path = u ? evhttp_uri_get_path(u) : NULL;
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *b;

	(void)arg;
	if ((b = evbuffer_new()) == NULL)
		fatalx("metrics: out of memory (evbuffer)");
	if (path == NULL || strcmp(path, "/metrics") != 0) {
		evbuffer_add_printf(b, "not found: try /metrics\n");
		evhttp_add_header(h, "Content-Type",
		    "text/plain; charset=utf-8");
		evhttp_send_reply(req, HTTP_NOTFOUND, "Not Found", b);
	} else {
		metrics_render(b);
		evhttp_add_header(h, "Content-Type",
		    "text/plain; version=0.0.4; charset=utf-8");
		evhttp_send_reply(req, HTTP_OK, "OK", b);
	}
	evbuffer_free(b);
}

static void
retry_accept(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	H.starved = 0;
	update_accepting();
}

/* accept() failed (EMFILE...): pause a second, never spin */
static void
on_accept_error(struct evconnlistener *lev, void *arg)
{
	struct timeval tv = { 1, 0 };
	int err = EVUTIL_SOCKET_ERROR();

	(void)lev;
	(void)arg;
	log_warnx_ratelimited(&H.warn_accept, "metrics: accept: %s: pausing "
	    "accept", strerror(err));
	H.starved = 1;
	update_accepting();
	evtimer_add(H.retry, &tv);
}

int
metrics_http_start(struct event_base *base, const struct config *cfg)
{
	if (*cfg->metrics_listen == '\0')
		return 0;
	memset(&H, 0, sizeof(H));
	LIST_INIT(&H.conns);
	H.base = base;
	if ((H.l = listener_open(base, cfg->metrics_listen, cfg, NULL, NULL,
	    NULL)) == NULL)
		return -1;
	if ((H.http = evhttp_new(base)) == NULL ||
	    (H.retry = evtimer_new(base, retry_accept, NULL)) == NULL ||
	    (H.hook = evtimer_new(base, on_hook, NULL)) == NULL ||
	    (H.lev = evconnlistener_new(base, NULL, NULL,
	    LEV_OPT_CLOSE_ON_EXEC, 0, listener_fd(H.l))) == NULL)
		fatalx("metrics: out of memory (evhttp)");
	evhttp_set_allowed_methods(H.http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_timeout(H.http, METRICS_TIMEOUT);
	evhttp_set_max_headers_size(H.http, METRICS_MAX_HEADERS);
	evhttp_set_max_body_size(H.http, METRICS_MAX_BODY);
	evhttp_set_bevcb(H.http, make_bev, NULL);
	evhttp_set_gencb(H.http, on_request, NULL);
	evconnlistener_set_error_cb(H.lev, on_accept_error);
	if (evhttp_bind_listener(H.http, H.lev) == NULL)
		fatalx("metrics: out of memory (evhttp_bind_listener)");
	H.enabled = 1;
	return 0;
}

void
metrics_http_stop(void)
{
	if (H.http == NULL)
		return;
	on_hook(-1, 0, NULL);   /* a connection not hooked yet */
	H.lev = NULL;           /* evhttp_free() frees it (bound to it) */
	evhttp_free(H.http);    /* closes each: on_close uncounts it */
	H.http = NULL;
	event_free(H.retry);
	event_free(H.hook);
	H.retry = H.hook = NULL;
	listener_close(H.l);
	H.l = NULL;
}

const char *
metrics_http_spec(void)
{
	return H.l != NULL ? listener_spec(H.l) : NULL;
}
