/*
 * session - one policy client connection.  See session.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "codec.h"
#include "config.h"
#include "log.h"
#include "policy.h"
#include "server.h"
#include "session.h"

enum session_state {
	S_READING,              /* collecting request lines */
	S_CHECKING,             /* a request is in the policy pipeline */
};

enum timer_mode {
	TM_NONE,
	TM_IDLE,                /* nothing buffered, nothing owed */
	TM_REQUEST,             /* a request or a reply is half way */
};

struct session {
	struct event_base *base;
	int rfd, wfd;
	struct event *rev, *wev, *timer;
	struct evbuffer *in, *out;
	enum session_state state;
	enum timer_mode tmode;
	int eof;                /* the client closed its side */
	int draining;           /* the server is shutting down */
	int in_start;           /* inside policy_start() */
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

static void session_process(struct session *);

/* read_limit - input bytes we hold before we stop reading the socket */
static size_t
read_limit(const struct config *cfg)
{
	return (size_t)cfg->max_request_size + cfg->max_line_length + 2;
}

/* output limit: a client that does not read its replies is not fed more */
#define SESSION_OUT_MAX 65536

static void
session_arm_timer(struct session *s)
{
	const struct config *cfg = server_config();
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
	if (m == s->tmode && m != TM_IDLE)
		return;         /* a running request clock is not restarted */
	s->tmode = m;
	if (m == TM_NONE) {
		evtimer_del(s->timer);
		return;
	}
	ms = m == TM_IDLE ? cfg->idle_timeout : cfg->request_timeout;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(s->timer, &tv);
}

static void
session_update_events(struct session *s)
{
	const struct config *cfg = server_config();

	/*
	 * Read while there is room: the input buffer is bounded by one
	 * request plus one line, the output by SESSION_OUT_MAX.  While a
	 * check runs we keep reading (up to the bound) so that EOF and
	 * pipelined requests are seen.
	 */
	if (!s->eof && evbuffer_get_length(s->in) < read_limit(cfg) &&
	    evbuffer_get_length(s->out) < SESSION_OUT_MAX)
		event_add(s->rev, NULL);
	else
		event_del(s->rev);
	if (evbuffer_get_length(s->out))
		event_add(s->wev, NULL);
	else
		event_del(s->wev);
	session_arm_timer(s);
}

static void
session_flush(struct session *s)
{
	int n;

	while (evbuffer_get_length(s->out) > 0) {
		n = evbuffer_write(s->out, s->wfd);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR)
				break;
			session_free(s, strerror(errno));
			return;
		}
		if (n == 0)
			break;
	}
	/* shutting down: answer what was already sent to us, then close */
	if (s->draining && s->state == S_READING &&
	    evbuffer_get_length(s->out) == 0 && !codec_in_progress(&s->req) &&
	    evbuffer_get_length(s->in) == 0) {
		session_free(s, "server shutdown");
		return;
	}
	if (s->eof && s->state == S_READING && evbuffer_get_length(s->out) ==
	    0) {
		session_free(s, codec_in_progress(&s->req) ||
		    evbuffer_get_length(s->in) ? "EOF in the middle of a request"
		    : "EOF");
		return;
	}
	session_update_events(s);
}

static void
session_check_done(void *arg, const char *action)
{
	struct session *s = arg;

	s->check = NULL;
	evbuffer_add_printf(s->out, "action=%s\n\n", action);
	codec_request_reset(&s->req);
	s->state = S_READING;
	s->nrequests++;
	if (!s->in_start)
		session_process(s);
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
	session_free(s, msg);
}

/* session_process - take buffered lines, start checks, send replies */
static void
session_process(struct session *s)
{
	const struct config *cfg = server_config();
	struct codec_limits lim;
	enum codec_status st;
	const char *err;
	size_t n;
	char *line;

	lim.max_line = cfg->max_line_length;
	lim.max_attrs = cfg->max_attributes;
	lim.max_request = cfg->max_request_size;
	while (s->state == S_READING) {
		if (evbuffer_get_length(s->out) >= SESSION_OUT_MAX)
			break;
		line = evbuffer_readln(s->in, &n, EVBUFFER_EOL_LF);
		if (line == NULL) {
			/* no newline yet: is the partial line already too long? */
			if (evbuffer_get_length(s->in) > lim.max_line + 1) {
				session_malformed(s, "line too long");
				return;
			}
			break;
		}
		st = codec_line(&s->req, line, n, &lim, &err);
		free(line);
		if (st == CODEC_ERROR) {
			session_malformed(s, err);
			return;
		}
		if (st == CODEC_DONE) {
			s->state = S_CHECKING;
			s->in_start = 1;
			s->check = policy_start(&s->req, server_config(), &s->mem, s->id,
			    session_check_done, s);
			s->in_start = 0;
		}
	}
	session_flush(s);
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
	const struct config *cfg = server_config();
	size_t have = evbuffer_get_length(s->in), lim = read_limit(cfg);
	int n;

	(void)fd;
	(void)what;
	if (have >= lim)
		return;
	n = read_some(s->in, s->rfd, lim - have);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		session_free(s, strerror(errno));
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
	session_process(s);
}

static void
session_write(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	session_flush(arg);
}

static void
session_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	(void)fd;
	(void)what;
	if (s->tmode == TM_IDLE) {
		session_free(s, "idle timeout");
	} else {
		log_warnx("%s %s: timeout with a request or reply half way, "
		    "disconnecting", s->id, s->peer);
		session_free(s, "request timeout");
	}
}

struct session *
session_new(struct event_base *base, int rfd, int wfd, const char *peer,
    session_gone_fn *gone, void *arg)
{
	struct session *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->base = base;
	s->rfd = rfd;
	s->wfd = wfd;
	s->gone = gone;
	s->gone_arg = arg;
	snprintf(s->id, sizeof(s->id), "conn=%lu", ++session_counter);
	snprintf(s->peer, sizeof(s->peer), "%s", peer);
	codec_request_init(&s->req);
	s->in = evbuffer_new();
	s->out = evbuffer_new();
	s->rev = event_new(base, rfd, EV_READ | EV_PERSIST, session_read, s);
	s->wev = event_new(base, wfd, EV_WRITE | EV_PERSIST, session_write, s);
	s->timer = evtimer_new(base, session_timeout, s);
	if (s->in == NULL || s->out == NULL || s->rev == NULL ||
	    s->wev == NULL || s->timer == NULL) {
		/* the caller still owns the descriptors */
		s->rfd = s->wfd = -1;
		s->gone = NULL;
		session_free(s, "out of memory");
		return NULL;
	}
	log_debug("%s connect from %s", s->id, s->peer);
	session_update_events(s);
	return s;
}

void
session_drain(struct session *s)
{
	s->draining = 1;
	if (s->state == S_READING)
		session_flush(s);
}

void
session_free(struct session *s, const char *reason)
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
		s->gone(s, s->gone_arg);
	free(s);
}
