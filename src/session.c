/*
 * session - one policy client connection.  See session.h.
 *
 * Everything that can happen to a session goes through one function,
 * session_dispatch(): input arrived (or EOF), output drained, a check
 * finished, the timer fired, the server stops.  It takes the requests that
 * are buffered, writes what is owed, and then decides, from the state
 * alone, what to wait for next: more input (only while both buffers have
 * room), the socket becoming writable (only while output is owed), and
 * which clock runs.  No callback keeps its own idea of what comes next, so
 * no combination of a slow reader, pipelining and a slow check can leave
 * the session waiting for an event nobody will send.
 *
 * Output has a high-water mark: past it no new request is started (a
 * client that does not read its replies is not fed more, and its input
 * stays bounded too); once the client has read the output down to the
 * low-water mark, the dispatcher takes requests again - OpenSMTPD's
 * IO_LOWAT.
 *
 * Descriptors that epoll cannot watch (a regular file or /dev/null as
 * stdin or stdout: "spfpd --stdio < requests > replies") are always ready:
 * reads are scheduled as active events, writes are done at once.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "codec.h"
#include "config.h"
#include "log.h"
#include "policy.h"
#include "session.h"
#include "xmalloc.h"

enum session_state {
	S_READING,              /* collecting request lines */
	S_CHECKING,             /* a request is in the policy pipeline */
};

enum timer_mode {
	TM_NONE,
	TM_IDLE,                /* nothing buffered, nothing owed */
	TM_REQUEST,             /* a request or a reply is half way */
};

/* what happened; the one argument of session_dispatch() */
enum session_event {
	SE_INPUT,               /* bytes arrived, or EOF (s->eof) */
	SE_OUTPUT,              /* the output can take more */
	SE_CHECKED,             /* a check finished: its reply is queued */
	SE_DRAIN,               /* the server stops */
	SE_TIMEOUT,
};

struct session {
	struct event_base *base;
	struct config *const *cfgp;     /* the server's config in force */
	int rfd, wfd;
	int rfile, wfile;       /* not pollable: always ready */
	struct event *rev, *wev, *timer;
	struct evbuffer *in, *out;
	enum session_state state;
	enum timer_mode tmode;
	int eof;                /* the client closed its side */
	int draining;           /* the server is shutting down */
	int out_full;           /* HIWAT reached, LOWAT not yet */
	unsigned long clock_nreq;       /* nrequests when the clock started */
	struct policy_request req;
	struct policy_check *check;
	struct policy_memory *mem;      /* the message being decided */
	char id[32];
	char peer[64];
	session_gone_fn *gone;
	void *gone_arg;
	unsigned long nrequests;
};

static unsigned long session_counter;

static void session_dispatch(struct session *, enum session_event);
static void session_end(struct session *, const char *, int);

/* read_limit - input bytes we hold before we stop reading the socket */
static size_t
read_limit(const struct config *cfg)
{
	return (size_t)cfg->max_request_size + cfg->max_line_length + 2;
}

/*
 * Output marks: no request is started while SESSION_OUT_HIWAT bytes of
 * replies wait for the client; taking requests resumes once it has read
 * them down to SESSION_OUT_LOWAT.
 */
#define SESSION_OUT_HIWAT 65536
#define SESSION_OUT_LOWAT 16384

/* fd_pollable - can epoll watch fd?  Not a regular file, not /dev/null */
static int
fd_pollable(int fd)
{
	struct epoll_event ev;
	struct stat st;
	int ep, r;

	if (fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode))
		return 1;
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		return 1;       /* cannot tell: let libevent try */
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	r = epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	close(ep);
	return r == 0 || errno != EPERM;
}

static void
session_arm_timer(struct session *s)
{
	const struct config *cfg = *s->cfgp;
	enum timer_mode m;
	struct timeval tv;
	unsigned ms;

	if (s->state == S_CHECKING)
		m = TM_NONE;    /* a check bounds its own time */
	else if (codec_in_progress(&s->req) || evbuffer_get_length(s->in) ||
	    evbuffer_get_length(s->out))
		m = TM_REQUEST;
	else
		m = TM_IDLE;
	/*
	 * A running request clock is not restarted by more bytes: a request
	 * must be complete, or a reply read, within request_timeout.  A
	 * reply sent since the clock started is progress: a client that
	 * pipelines and reads keeps its connection.
	 */
	if (m == s->tmode && m != TM_IDLE && (m == TM_NONE ||
	    s->clock_nreq == s->nrequests))
		return;
	s->tmode = m;
	s->clock_nreq = s->nrequests;
	if (m == TM_NONE) {
		evtimer_del(s->timer);
		return;
	}
	ms = m == TM_IDLE ? cfg->idle_timeout : cfg->request_timeout;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(s->timer, &tv);
}

/*
 * session_want - wait for ev, or not; an always-ready descriptor (file)
 * is simply made active
 */
static void
session_want(struct event *ev, int file, int want, short what)
{
	if (file && want)
		event_active(ev, what, 0);
	else if (!file && want)
		event_add(ev, NULL);
	else if (!file)
		event_del(ev);
}

/* session_wait - what to wait for next, from the state alone */
static void
session_wait(struct session *s)
{
	const struct config *cfg = *s->cfgp;
	size_t out = evbuffer_get_length(s->out);
	int want_read, want_write;

	/*
	 * Read while there is room: the input buffer is bounded by one
	 * request plus one line, and nothing is read while the client owes
	 * us a read of its replies.  While a check runs we keep reading (up
	 * to the bound) so that EOF and pipelined requests are seen.
	 */
	want_read = !s->eof && evbuffer_get_length(s->in) < read_limit(cfg) &&
	    !s->out_full;
	want_write = out > 0;
	session_want(s->rev, s->rfile, want_read, EV_READ);
	session_want(s->wev, s->wfile, want_write, EV_WRITE);
	session_arm_timer(s);
}

/* session_write_out - write what the descriptor takes now; -1: freed */
static int
session_write_out(struct session *s)
{
	int n;

	while (evbuffer_get_length(s->out) > 0) {
		n = evbuffer_write(s->out, s->wfd);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR)
				return 0;
			session_end(s, strerror(errno), 1);
			return -1;
		}
		if (n == 0)
			return 0;
	}
	return 0;
}

static void
session_check_done(void *arg, const struct policy_result *r)
{
	struct session *s = arg;

	s->check = NULL;
	evbuffer_add_printf(s->out, "action=%s\n\n", r->action);
	codec_request_reset(&s->req);
	s->state = S_READING;
	s->nrequests++;
	session_dispatch(s, SE_CHECKED);
}

static void
session_malformed(struct session *s, const char *why)
{
	char msg[128];

	snprintf(msg, sizeof(msg), "malformed request: %s", why);
	log_warnx("%s %s: %s, disconnecting", s->id, s->peer, msg);
	/* replies to the good requests before it are still owed: try once */
	if (evbuffer_get_length(s->out) > 0)
		(void)evbuffer_write(s->out, s->wfd);
	session_end(s, msg, 1);
}

/* why session_take() stopped */
enum take_stop {
	TAKE_FREED = -1,        /* malformed input: the session is gone */
	TAKE_BUSY,              /* a check is running */
	TAKE_NEED_INPUT,        /* no complete line buffered */
	TAKE_OUTPUT_FULL,       /* replies owed reached the high-water mark */
};

/* session_take - cut buffered lines into requests and start their checks */
static enum take_stop
session_take(struct session *s)
{
	const struct config *cfg = *s->cfgp;
	struct codec_limits lim;
	enum codec_status st;
	struct evbuffer_ptr eol;
	const char *err, *line;
	size_t n;

	lim.max_line = cfg->max_line_length;
	lim.max_attrs = cfg->max_attributes;
	lim.max_request = cfg->max_request_size;
	while (s->state == S_READING) {
		if (s->out_full)
			return TAKE_OUTPUT_FULL;
		if (evbuffer_get_length(s->out) >= SESSION_OUT_HIWAT) {
			s->out_full = 1;
			return TAKE_OUTPUT_FULL;
		}
		eol = evbuffer_search_eol(s->in, NULL, NULL, EVBUFFER_EOL_LF);
		if (eol.pos < 0) {
			/* no newline yet: is the partial line already too long? */
			if (evbuffer_get_length(s->in) > lim.max_line + 1) {
				session_malformed(s, "line too long");
				return TAKE_FREED;
			}
			return TAKE_NEED_INPUT;
		}
		/* the line in place, not a malloc'd copy: 13 a request */
		n = (size_t)eol.pos;
		if ((line = (const char *)evbuffer_pullup(s->in,
		    eol.pos + 1)) == NULL)
			fatalx("session: out of memory");
		st = codec_line(&s->req, line, n, &lim, &err);
		evbuffer_drain(s->in, n + 1);
		if (st == CODEC_ERROR) {
			session_malformed(s, err);
			return TAKE_FREED;
		}
		if (st == CODEC_DONE) {
			/* session_check_done() is called from the loop */
			s->state = S_CHECKING;
			s->check = policy_start(s->base, &s->req, *s->cfgp,
			    &s->mem, s->id, session_check_done, s);
		}
	}
	return TAKE_BUSY;
}

/* session_done - nothing is owed and nothing more will come: why, or NULL */
static const char *
session_done(struct session *s)
{
	int partial = codec_in_progress(&s->req) ||
	    evbuffer_get_length(s->in) > 0;

	if (s->state != S_READING || evbuffer_get_length(s->out) > 0)
		return NULL;
	/* shutting down: answer what was already sent to us, then close */
	if (s->draining && !partial)
		return "server shutdown";
	if (s->eof)
		return partial ? "EOF in the middle of a request" : "EOF";
	return NULL;
}

/*
 * session_dispatch - the one place that moves a session on.  Every event
 * comes from the loop (policy_start() never answers inside the call), so
 * it is never re-entered.
 */
static void
session_dispatch(struct session *s, enum session_event ev)
{
	enum take_stop why;
	const char *done;

	if (ev == SE_TIMEOUT) {
		if (s->tmode == TM_IDLE) {
			session_end(s, "idle timeout", 0);
		} else {
			log_warnx("%s %s: timeout with a request or reply "
			    "half way, disconnecting", s->id, s->peer);
			session_end(s, "request timeout", 1);
		}
		return;
	}
	if (ev == SE_DRAIN)
		s->draining = 1;
	for (;;) {
		if ((why = session_take(s)) == TAKE_FREED)
			return;
		if (session_write_out(s) < 0)
			return;
		/* the client read its replies down: take requests again */
		if (why == TAKE_OUTPUT_FULL &&
		    evbuffer_get_length(s->out) <= SESSION_OUT_LOWAT) {
			s->out_full = 0;
			continue;
		}
		break;
	}
	if ((done = session_done(s)) != NULL) {
		/* EOF with a request half way is the client's fault */
		session_end(s, done, strcmp(done, "EOF") != 0 &&
		    strcmp(done, "server shutdown") != 0);
		return;
	}
	session_wait(s);
}

/*
 * Read up to max bytes (at most READ_CHUNK) into buf with one read(2).
 * Not evbuffer_read(): it first asks the kernel how much is waiting
 * (ioctl FIONREAD), a second system call on every request.  A request
 * that is longer than a chunk comes in over more passes of the loop.
 */
#define READ_CHUNK 4096

static int
read_some(struct evbuffer *buf, int fd, size_t max)
{
	struct evbuffer_iovec v;
	ssize_t n;

	if (max > READ_CHUNK)
		max = READ_CHUNK;
	if (evbuffer_reserve_space(buf, (ev_ssize_t)max, &v, 1) != 1) {
		errno = ENOMEM;
		return -1;
	}
	if (v.iov_len > max)
		v.iov_len = max;
	n = read(fd, v.iov_base, v.iov_len);
	if (n <= 0)
		return (int)n;          /* space reserved, not committed: unused */
	v.iov_len = (size_t)n;
	if (evbuffer_commit_space(buf, &v, 1) < 0) {
		errno = ENOMEM;
		return -1;
	}
	return (int)n;
}

static void
session_read(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	const struct config *cfg = *s->cfgp;
	size_t have = evbuffer_get_length(s->in), lim = read_limit(cfg);
	int n;

	(void)fd;
	(void)what;
	if (have >= lim || s->eof)
		return;
	n = read_some(s->in, s->rfd, lim - have);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		session_end(s, strerror(errno), 1);
		return;
	}
	if (n == 0) {
		/*
		 * EOF may be a half-close (a script piping requests in):
		 * answer what is complete, then close.  A check in flight is
		 * bounded by lookup_time; a peer that is really gone makes
		 * the reply's write fail, which frees the session.
		 */
		s->eof = 1;
	}
	session_dispatch(s, SE_INPUT);
}

static void
session_write(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	session_dispatch(arg, SE_OUTPUT);
}

static void
session_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	session_dispatch(arg, SE_TIMEOUT);
}

struct session *
session_new(struct event_base *base, int rfd, int wfd, const char *peer,
    struct config *const *cfgp, session_gone_fn *gone, void *arg)
{
	struct session *s;

	s = xcalloc(1, sizeof(*s));
	s->base = base;
	s->cfgp = cfgp;
	s->rfd = rfd;
	s->wfd = wfd;
	s->rfile = !fd_pollable(rfd);
	s->wfile = wfd != rfd ? !fd_pollable(wfd) : s->rfile;
	s->gone = gone;
	s->gone_arg = arg;
	snprintf(s->id, sizeof(s->id), "conn=%lu", ++session_counter);
	snprintf(s->peer, sizeof(s->peer), "%s", peer);
	codec_request_init(&s->req);
	s->in = evbuffer_new();
	s->out = evbuffer_new();
	/* an always-ready descriptor gets an event of no descriptor */
	s->rev = event_new(base, s->rfile ? -1 : rfd,
	    s->rfile ? 0 : EV_READ | EV_PERSIST, session_read, s);
	s->wev = event_new(base, s->wfile ? -1 : wfd,
	    s->wfile ? 0 : EV_WRITE | EV_PERSIST, session_write, s);
	s->timer = evtimer_new(base, session_timeout, s);
	if (s->in == NULL || s->out == NULL || s->rev == NULL ||
	    s->wev == NULL || s->timer == NULL)
		fatalx("session: out of memory (buffers, events)");
	log_debug("%s connect from %s", s->id, s->peer);
	session_wait(s);
	return s;
}

void
session_drain(struct session *s)
{
	session_dispatch(s, SE_DRAIN);
}

static void
session_end(struct session *s, const char *reason, int failed)
{
	log_debug("%s disconnect from %s: %s (%lu requests)", s->id, s->peer,
	    reason, s->nrequests);
	if (s->check != NULL)
		policy_cancel(s->check);
	policy_memory_free(s->mem);
	if (s->rev)
		event_free(s->rev);
	if (s->wev)
		event_free(s->wev);
	if (s->timer)
		event_free(s->timer);
	if (s->in)
		evbuffer_free(s->in);
	if (s->out)
		evbuffer_free(s->out);
	codec_request_reset(&s->req);
	if (s->rfd >= 0)
		close(s->rfd);
	if (s->wfd >= 0 && s->wfd != s->rfd)
		close(s->wfd);
	if (s->gone)
		s->gone(s, reason, failed, s->gone_arg);
	free(s);
}

void
session_free(struct session *s, const char *reason)
{
	session_end(s, reason, 0);
}
