/*
 * loadgen - load generator for Postfix policy delegation servers.
 *
 * Behaves like CONNS Postfix smtpd(8) processes: each holds one
 * persistent connection to the policy server and has exactly one
 * request outstanding at a time (SMTPD_POLICY_README).  Requests are
 * taken round-robin from a corpus file by one global counter, and each
 * gets a unique "instance=" attribute so that the server sees every
 * request as a new message.
 *
 * The run ends after -d seconds (default 10) or once -n requests have
 * been issued, whichever comes first (-d 0: only -n), or on SIGINT or
 * SIGTERM (a second one kills).  Requests still outstanding then get
 * the per-request timeout (-t) to be answered; those that are not
 * count as errors.  A timeout, a connection closed or reset by the
 * server, or a malformed or oversized reply counts as an error, and
 * the connection is then reopened.
 *
 * The result is one line of JSON on stdout:
 *
 *	{"conns":N,"seconds":S,"requests":R,"rps":R/S,"p50_ms":...,
 *	 "p90_ms":...,"p99_ms":...,"max_ms":...,"errors":E,
 *	 "actions":{"DUNNO":...}}
 *
 * where "seconds" runs from the first request to the last reply,
 * "requests" counts good replies and "actions" tallies the first word
 * of each action, upper-cased.  Diagnostics go to stderr.
 * Exit status: 0 if the run happened (even with errors), 1 on a fatal
 * error during the run, 2 on usage or setup errors.
 *
 * Single-threaded, epoll, non-blocking sockets, libc only:
 *
 *	cc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -o loadgen loadgen.c
 */
#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NSEC		1000000000ULL
#define MSEC		1000000ULL

#define REPLY_INIT	256		/* initial reply buffer */
#define REPLY_MAX	(64 * 1024)	/* larger replies are an error */
#define ACTION_MAX	64		/* longest action word tallied */
#define CONNECT_WAIT	(10 * NSEC)	/* initial connect budget */
#define CONNECT_PAUSE	(10 * MSEC)	/* between initial attempts */
#define RETRY_DELAY	(20 * MSEC)	/* reconnect back-off */
#define MAX_EVENTS	256
#define MAX_DIAG	10		/* error messages shown */

/*
 * Why a request failed.  Every failure counts as one error in the
 * JSON; the breakdown goes to stderr.
 */
enum fail {
	FAIL_TIMEOUT,
	FAIL_CLOSED,
	FAIL_IO,
	FAIL_MALFORMED,
	FAIL_TOOBIG,
	FAIL_MAX
};

static const char *fail_names[FAIL_MAX] = {
	[FAIL_TIMEOUT] = "timeout",
	[FAIL_CLOSED] = "closed by server",
	[FAIL_IO] = "I/O error",
	[FAIL_MALFORMED] = "malformed reply",
	[FAIL_TOOBIG] = "reply too large",
};

enum conn_state {
	CONN_DOWN,		/* no socket; maybe waiting to retry */
	CONN_CONNECTING,	/* non-blocking connect in progress */
	CONN_IDLE,		/* connected, nothing outstanding */
	CONN_BUSY		/* request outstanding */
};

struct conn;
TAILQ_HEAD(connq, conn);

/*
 * One simulated smtpd process.  A connection is on at most one timer
 * queue at a time: the wait queue (request or connect deadline) or the
 * retry queue (reconnect time).
 */
struct conn {
	TAILQ_ENTRY(conn) entry;
	struct connq	*queue;		/* our queue, or NULL */
	uint64_t	 deadline;	/* when our timer on it fires */
	int		 fd;
	enum conn_state	 state;
	uint32_t	 events;	/* registered epoll events */
	uint64_t	 sent;		/* when the request went out */
	char		*out;		/* request being written */
	size_t		 outlen;
	size_t		 outoff;
	char		*in;		/* reply being read */
	size_t		 inlen;
	size_t		 insize;
};

/* One corpus request: attribute lines, each ending in a newline. */
struct request {
	char		*text;
	size_t		 len;
};

struct action {
	char		 name[ACTION_MAX + 1];
	uint64_t	 count;
};

/* Where the policy server listens. */
static struct sockaddr_storage	 target;
static socklen_t		 targetlen;
static const char		*target_spec;

/* Options. */
static unsigned			 nconns;
static uint64_t			 duration;	/* ns, 0 = none */
static uint64_t			 limit;		/* 0 = none */
static uint64_t			 timeout;	/* ns per request */
static uint64_t			 warmup;	/* requests per connection
						   before the clock starts */
static char			 prefix[64];

/* Corpus. */
static struct request		*corpus;
static size_t			 ncorpus;
static size_t			 maxreq;	/* request buffer size */

/* Run state. */
static int			 ep = -1;
static struct conn		*conns;
static struct connq		 waitq = TAILQ_HEAD_INITIALIZER(waitq);
static struct connq		 retryq = TAILQ_HEAD_INITIALIZER(retryq);
static uint64_t			 t_start, t_last;
static uint64_t			 issued;	/* requests sent */
static uint64_t			 outstanding;
static int			 stopping;	/* no more requests */
static volatile sig_atomic_t	 got_signal;

/* Results. */
static uint64_t			*lat;		/* latencies, ns */
static size_t			 nlat, lat_size;
static uint64_t			 errors;
static uint64_t			 fail_count[FAIL_MAX];
static uint64_t			 connect_failures;
static uint64_t			 reconnects;
static struct action		*actions;
static size_t			 nactions;

static void	usage(void) __attribute__((noreturn));
static void	fatalx(int, const char *, ...)
		    __attribute__((noreturn, format(printf, 2, 3)));
static void	conn_fail(struct conn *, enum fail, const char *);
static void	conn_send(struct conn *);

/*
 * Utilities.
 */

static void
usage(void)
{
	fprintf(stderr,
	    "usage: loadgen -s unix:/path|inet:HOST:PORT -c CONNS -f CORPUS "
	    "[-d SECONDS]\n"
	    "               [-n TOTAL_REQUESTS] [-t TIMEOUT_SECONDS] "
	    "[-p INSTANCE_PREFIX] [-W WARMUP]\n"
	    "  -s  policy server address\n"
	    "  -c  number of connections (simulated smtpd processes)\n"
	    "  -f  corpus: requests without instance=, each ended by an "
	    "empty line\n"
	    "  -d  run time in seconds (default 10; 0 = until -n is reached)\n"
	    "  -n  issue at most this many requests\n"
	    "  -t  per-request timeout in seconds (default 30)\n"
	    "  -p  instance= prefix (default lg<pid>)\n"
	    "  -W  requests per connection before the clock starts (not\n"
	    "      measured: a peer's process start-up is paid there)\n");
	exit(2);
}

static void
fatalx(int status, const char *fmt, ...)
{
	va_list ap;

	fputs("loadgen: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(status);
}

static void *
xrealloc(void *p, size_t n)
{
	if ((p = realloc(p, n)) == NULL)
		fatalx(1, "out of memory");
	return p;
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC + (uint64_t)ts.tv_nsec;
}

static void
pause_ns(uint64_t ns)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(ns / NSEC);
	ts.tv_nsec = (long)(ns % NSEC);
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static void
on_signal(int sig)
{
	(void)sig;
	got_signal = 1;
}

/* Seconds, possibly fractional, to nanoseconds. */
static uint64_t
parse_seconds(const char *s, const char *what)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(s, &end);
	if (errno || end == s || *end != '\0' || !(d >= 0) || d > 1e9)
		fatalx(2, "bad %s '%s'", what, s);
	return (uint64_t)(d * NSEC);
}

static uint64_t
parse_count(const char *s, uint64_t max, const char *what)
{
	unsigned long long v;
	char *end;

	errno = 0;
	if (*s < '0' || *s > '9')
		fatalx(2, "bad %s '%s'", what, s);
	v = strtoull(s, &end, 10);
	if (errno || *end != '\0' || v == 0 || v > max)
		fatalx(2, "bad %s '%s'", what, s);
	return v;
}

/*
 * Server address: unix:/path or inet:HOST:PORT, HOST possibly a
 * bracketed IPv6 address.
 */
static void
parse_target(const char *spec)
{
	struct sockaddr_un *su = (struct sockaddr_un *)&target;
	struct addrinfo hints, *res;
	char host[256];
	const char *p, *colon;
	size_t hl;
	int e;

	target_spec = spec;
	memset(&target, 0, sizeof(target));
	if (strncmp(spec, "unix:", 5) == 0) {
		p = spec + 5;
		if (*p == '\0' || strlen(p) >= sizeof(su->sun_path))
			fatalx(2, "bad UNIX socket path in '%s'", spec);
		su->sun_family = AF_UNIX;
		strcpy(su->sun_path, p);
		targetlen = sizeof(*su);
		return;
	}
	if (strncmp(spec, "inet:", 5) != 0)
		fatalx(2, "bad server address '%s'", spec);
	p = spec + 5;
	if ((colon = strrchr(p, ':')) == NULL || colon[1] == '\0')
		fatalx(2, "no port in '%s'", spec);
	hl = (size_t)(colon - p);
	if (hl >= 2 && p[0] == '[' && p[hl - 1] == ']') {
		p++;
		hl -= 2;
	}
	if (hl == 0 || hl >= sizeof(host))
		fatalx(2, "bad host in '%s'", spec);
	memcpy(host, p, hl);
	host[hl] = '\0';

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((e = getaddrinfo(host, colon + 1, &hints, &res)) != 0)
		fatalx(2, "%s: %s", spec, gai_strerror(e));
	memcpy(&target, res->ai_addr, res->ai_addrlen);
	targetlen = res->ai_addrlen;
	freeaddrinfo(res);
}

/*
 * Corpus.
 */

static void
corpus_add(const char *text, size_t len)
{
	struct request *r;

	corpus = xrealloc(corpus, (ncorpus + 1) * sizeof(*corpus));
	r = &corpus[ncorpus++];
	r->text = xrealloc(NULL, len ? len : 1);
	memcpy(r->text, text, len);
	r->len = len;
}

/*
 * Load the corpus into memory.  Requests are separated by empty lines;
 * a trailing CR is stripped, and an instance= line is dropped since we
 * supply our own.
 */
static void
corpus_load(const char *path)
{
	FILE *fp;
	char *line = NULL, *buf = NULL;
	size_t linesz = 0, buflen = 0, bufsz = 0, lineno = 0, dropped = 0;
	ssize_t n;

	if ((fp = fopen(path, "r")) == NULL)
		fatalx(2, "%s: %s", path, strerror(errno));
	for (;;) {
		n = getline(&line, &linesz, fp);
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		if (n > 0 && line[n - 1] == '\r')
			line[--n] = '\0';
		lineno++;
		if (n <= 0) {
			/* Empty line or end of file: end of a request. */
			if (buflen > 0)
				corpus_add(buf, buflen);
			buflen = 0;
			if (n < 0)
				break;
			continue;
		}
		if (memchr(line, '=', (size_t)n) == NULL)
			fatalx(2, "%s:%zu: not a name=value line", path,
			    lineno);
		if (strncmp(line, "instance=", 9) == 0) {
			dropped++;
			continue;
		}
		if (buflen + (size_t)n + 1 > bufsz) {
			bufsz = (buflen + (size_t)n + 1) * 2;
			buf = xrealloc(buf, bufsz);
		}
		memcpy(buf + buflen, line, (size_t)n);
		buflen += (size_t)n;
		buf[buflen++] = '\n';
	}
	if (ferror(fp))
		fatalx(2, "%s: read error", path);
	fclose(fp);
	free(line);
	free(buf);
	if (ncorpus == 0)
		fatalx(2, "%s: no requests", path);
	if (dropped)
		fprintf(stderr, "loadgen: %s: ignored %zu instance= lines\n",
		    path, dropped);
}

/* Size of the largest request with its instance= line and end. */
static void
corpus_measure(void)
{
	size_t i;

	for (i = 0; i < ncorpus; i++)
		if (corpus[i].len > maxreq)
			maxreq = corpus[i].len;
	maxreq += sizeof("instance=") + strlen(prefix) + 1 + 20 + 2;
}

/*
 * Sockets.
 */

static int
sock_open(int nonblock)
{
	int fd, on = 1;

	fd = socket(target.ss_family, SOCK_STREAM | SOCK_CLOEXEC |
	    (nonblock ? SOCK_NONBLOCK : 0), 0);
	if (fd == -1)
		return -1;
	/* Requests are written whole; do not let Nagle add latency. */
	if (target.ss_family != AF_UNIX)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	return fd;
}

static void
set_nonblock(int fd)
{
	int fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
		fatalx(2, "fcntl: %s", strerror(errno));
}

static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			fprintf(stderr, "loadgen: setrlimit: %s\n",
			    strerror(errno));
	}
}

/*
 * Timer queues.  All entries on one queue have the same delay, so
 * appending keeps each queue sorted by deadline and the next deadline
 * is always at the head.
 */

static void
q_del(struct conn *c)
{
	if (c->queue != NULL) {
		TAILQ_REMOVE(c->queue, c, entry);
		c->queue = NULL;
	}
}

static void
q_put(struct connq *q, struct conn *c, uint64_t deadline)
{
	q_del(c);
	c->deadline = deadline;
	c->queue = q;
	TAILQ_INSERT_TAIL(q, c, entry);
}

/*
 * Results.
 */

static void
record_latency(uint64_t ns)
{
	if (nlat == lat_size) {
		lat_size = lat_size ? lat_size * 2 : 65536;
		lat = xrealloc(lat, lat_size * sizeof(*lat));
	}
	lat[nlat++] = ns;
}

/*
 * Tally the first word of the action, upper-cased.  Returns -1 if the
 * action is empty.
 */
static int
tally_action(const char *p, size_t len)
{
	char word[ACTION_MAX + 1];
	size_t i, n;

	for (n = 0; n < len && n < ACTION_MAX; n++) {
		if (p[n] == ' ' || p[n] == '\t' || p[n] == '\n')
			break;
		word[n] = (char)toupper((unsigned char)p[n]);
	}
	if (n == 0)
		return -1;
	word[n] = '\0';
	for (i = 0; i < nactions; i++)
		if (strcmp(actions[i].name, word) == 0)
			break;
	if (i == nactions) {
		actions = xrealloc(actions, (nactions + 1) * sizeof(*actions));
		memcpy(actions[i].name, word, n + 1);
		actions[i].count = 0;
		nactions++;
	}
	actions[i].count++;
	return 0;
}

static void
diag(const char *fmt, ...)
{
	static unsigned shown;
	va_list ap;

	if (shown++ >= MAX_DIAG) {
		if (shown == MAX_DIAG + 2)
			fputs("loadgen: further errors not shown\n", stderr);
		return;
	}
	fputs("loadgen: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/*
 * Connections.
 */

static int
may_issue(void)
{
	return !stopping && (limit == 0 || issued < limit);
}

static void
conn_events(struct conn *c, uint32_t events)
{
	struct epoll_event ev;

	if (c->events == events)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.ptr = c;
	if (epoll_ctl(ep, c->events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd,
	    &ev) == -1)
		fatalx(1, "epoll_ctl: %s", strerror(errno));
	c->events = events;
}

static void
conn_close(struct conn *c)
{
	q_del(c);
	if (c->fd != -1)
		close(c->fd);	/* also drops it from the epoll set */
	c->fd = -1;
	c->events = 0;
	c->state = CONN_DOWN;
	c->inlen = 0;
	c->outlen = c->outoff = 0;
}

/*
 * Start a non-blocking connect.  Completion (or failure) is reported
 * by epoll as writability; a connect that cannot even start is retried
 * after a short pause.
 */
static void
conn_connect(struct conn *c)
{
	int fd;

	if ((fd = sock_open(1)) == -1) {
		diag("socket: %s", strerror(errno));
		goto retry;
	}
	if (connect(fd, (struct sockaddr *)&target, targetlen) == -1 &&
	    errno != EINPROGRESS) {
		if (errno != EAGAIN && errno != ECONNREFUSED)
			diag("connect %s: %s", target_spec, strerror(errno));
		close(fd);
		goto retry;
	}
	c->fd = fd;
	c->state = CONN_CONNECTING;
	conn_events(c, EPOLLOUT);
	q_put(&waitq, c, now_ns() + timeout);
	return;

 retry:
	connect_failures++;
	q_put(&retryq, c, now_ns() + RETRY_DELAY);
}

/* Writable while connecting: the connect finished one way or another. */
static void
conn_connected(struct conn *c)
{
	socklen_t len = sizeof(int);
	int err = 0;

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err != 0) {
		if (err != ECONNREFUSED)
			diag("connect %s: %s", target_spec, strerror(err));
		conn_close(c);
		connect_failures++;
		q_put(&retryq, c, now_ns() + RETRY_DELAY);
		return;
	}
	q_del(c);
	c->state = CONN_IDLE;
	conn_events(c, EPOLLIN);
	if (may_issue())
		conn_send(c);
}

/*
 * Drop a connection after a failure and reconnect, like smtpd does on
 * its next request.  An outstanding request counts as an error.
 */
static void
conn_fail(struct conn *c, enum fail why, const char *detail)
{
	if (c->state == CONN_BUSY) {
		errors++;
		fail_count[why]++;
		outstanding--;
		diag("request failed: %s%s%s", fail_names[why],
		    detail ? ": " : "", detail ? detail : "");
	}
	conn_close(c);
	if (may_issue()) {
		reconnects++;
		conn_connect(c);
	}
}

/* Write what is left of the request. */
static void
conn_write(struct conn *c)
{
	ssize_t n;

	while (c->outoff < c->outlen) {
		n = write(c->fd, c->out + c->outoff, c->outlen - c->outoff);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				conn_events(c, EPOLLIN | EPOLLOUT);
				return;
			}
			conn_fail(c, errno == EPIPE || errno == ECONNRESET ?
			    FAIL_CLOSED : FAIL_IO, strerror(errno));
			return;
		}
		c->outoff += (size_t)n;
	}
	conn_events(c, EPOLLIN);
}

/* Send the next corpus request with a fresh instance= line. */
static void
conn_send(struct conn *c)
{
	const struct request *r;
	uint64_t seq;
	int n;

	seq = ++issued;
	r = &corpus[(seq - 1) % ncorpus];
	memcpy(c->out, r->text, r->len);
	n = snprintf(c->out + r->len, maxreq - r->len, "instance=%s.%llu\n\n",
	    prefix, (unsigned long long)seq);
	c->outlen = r->len + (size_t)n;
	c->outoff = 0;
	c->inlen = 0;
	c->state = CONN_BUSY;
	outstanding++;
	c->sent = now_ns();
	q_put(&waitq, c, c->sent + timeout);
	conn_write(c);
}

/* A complete reply of len bytes is in the input buffer. */
static void
conn_reply(struct conn *c, size_t len)
{
	uint64_t t = now_ns();

	if (c->outoff < c->outlen) {
		conn_fail(c, FAIL_MALFORMED, "reply before request was sent");
		return;
	}
	if (len != c->inlen) {
		conn_fail(c, FAIL_MALFORMED, "data after reply");
		return;
	}
	if (len < 7 || memcmp(c->in, "action=", 7) != 0) {
		conn_fail(c, FAIL_MALFORMED, "no action=");
		return;
	}
	if (tally_action(c->in + 7, len - 7) == -1) {
		conn_fail(c, FAIL_MALFORMED, "empty action");
		return;
	}
	record_latency(t - c->sent);
	t_last = t;
	outstanding--;
	q_del(c);
	c->state = CONN_IDLE;
	c->inlen = 0;
	if (may_issue())
		conn_send(c);
}

/*
 * Find the end of a reply: the empty line.  Scanning resumes just
 * before the new data so a "\n\n" split across reads is found.
 */
static size_t
reply_end(const char *buf, size_t len, size_t from)
{
	const char *p;

	if (len > 0 && buf[0] == '\n')
		return 1;
	if (from > 0)
		from--;
	if ((p = memmem(buf + from, len - from, "\n\n", 2)) == NULL)
		return 0;
	return (size_t)(p - buf) + 2;
}

/* Readable: collect reply bytes, bounded by REPLY_MAX. */
static void
conn_read(struct conn *c)
{
	size_t old, end;
	ssize_t n;

	if (c->inlen == c->insize) {
		c->insize = c->insize ? c->insize * 2 : REPLY_INIT;
		if (c->insize > REPLY_MAX)
			c->insize = REPLY_MAX;
		c->in = xrealloc(c->in, c->insize);
	}
	n = read(c->fd, c->in + c->inlen, c->insize - c->inlen);
	if (n == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		conn_fail(c, errno == ECONNRESET ? FAIL_CLOSED : FAIL_IO,
		    strerror(errno));
		return;
	}
	if (n == 0) {
		conn_fail(c, FAIL_CLOSED, NULL);
		return;
	}
	if (c->state != CONN_BUSY) {
		diag("unsolicited data from server");
		conn_fail(c, FAIL_MALFORMED, NULL);
		return;
	}
	old = c->inlen;
	c->inlen += (size_t)n;
	if ((end = reply_end(c->in, c->inlen, old)) > 0)
		conn_reply(c, end);
	else if (c->inlen == REPLY_MAX)
		conn_fail(c, FAIL_TOOBIG, NULL);
}

static void
conn_event(struct conn *c, uint32_t ev)
{
	if (c->state == CONN_CONNECTING) {
		conn_connected(c);
		return;
	}
	if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
		conn_read(c);
		if (c->state != CONN_BUSY)
			return;
	}
	if ((ev & EPOLLOUT) && c->state == CONN_BUSY &&
	    c->outoff < c->outlen)
		conn_write(c);
}

/*
 * Fire expired timers: request and connect timeouts, then reconnects.
 */
static void
run_timers(uint64_t now)
{
	struct conn *c;

	while ((c = TAILQ_FIRST(&waitq)) != NULL && c->deadline <= now) {
		if (c->state == CONN_CONNECTING) {
			diag("connect %s: timed out", target_spec);
			connect_failures++;
			conn_close(c);
			if (may_issue())
				q_put(&retryq, c, now + RETRY_DELAY);
		} else
			conn_fail(c, FAIL_TIMEOUT, NULL);
	}
	while ((c = TAILQ_FIRST(&retryq)) != NULL && c->deadline <= now) {
		q_del(c);
		if (may_issue())
			conn_connect(c);
	}
}

/* Milliseconds until the next timer, rounded up; -1 for none. */
static int
next_timeout(uint64_t now)
{
	uint64_t next = UINT64_MAX;
	struct conn *c;

	if (!stopping && duration)
		next = t_start + duration;
	if ((c = TAILQ_FIRST(&waitq)) != NULL && c->deadline < next)
		next = c->deadline;
	if ((c = TAILQ_FIRST(&retryq)) != NULL && c->deadline < next)
		next = c->deadline;
	if (next == UINT64_MAX)
		return -1;
	if (next <= now)
		return 0;
	next = (next - now + MSEC - 1) / MSEC;
	return next > 60000 ? 60000 : (int)next;
}

/*
 * Connect every connection up front with blocking connects, retrying
 * while the listener's backlog is full or it is not listening yet.
 */
static void
connect_all(void)
{
	uint64_t deadline = now_ns() + CONNECT_WAIT;
	struct conn *c;
	unsigned i;
	int fd;

	conns = xrealloc(NULL, nconns * sizeof(*conns));
	memset(conns, 0, nconns * sizeof(*conns));
	for (i = 0; i < nconns; i++) {
		c = &conns[i];
		for (;;) {
			if ((fd = sock_open(0)) == -1)
				fatalx(2, "socket (connection %u of %u): %s",
				    i + 1, nconns, strerror(errno));
			if (connect(fd, (struct sockaddr *)&target,
			    targetlen) == 0)
				break;
			if ((errno != EAGAIN && errno != ECONNREFUSED &&
			    errno != EINTR) || now_ns() >= deadline)
				fatalx(2, "connect %s (connection %u of %u): "
				    "%s", target_spec, i + 1, nconns,
				    strerror(errno));
			close(fd);
			pause_ns(CONNECT_PAUSE);
		}
		set_nonblock(fd);
		c->fd = fd;
		c->state = CONN_IDLE;
		c->out = xrealloc(NULL, maxreq);
		conn_events(c, EPOLLIN);
	}
}

/*
 * The event loop: issue requests until the run ends, then wait for
 * the outstanding ones (their timeouts still apply).
 */
static void
run(void)
{
	struct epoll_event evs[MAX_EVENTS];
	uint64_t now;
	unsigned i;
	int n;

	t_start = t_last = now_ns();
	for (i = 0; i < nconns && may_issue(); i++)
		conn_send(&conns[i]);

	for (;;) {
		now = now_ns();
		if (!stopping && (got_signal ||
		    (duration && now >= t_start + duration)))
			stopping = 1;
		if (outstanding == 0 && !may_issue())
			break;
		n = epoll_wait(ep, evs, MAX_EVENTS, next_timeout(now));
		if (n == -1) {
			if (errno == EINTR)
				continue;
			fatalx(1, "epoll_wait: %s", strerror(errno));
		}
		for (i = 0; i < (unsigned)n; i++)
			conn_event(evs[i].data.ptr, evs[i].events);
		run_timers(now_ns());
	}
	if (nlat == 0)
		t_last = now_ns();
}

/*
 * Forget what the warm-up measured: peers that start a process per
 * connection pay their start-up there, as they would once per smtpd.
 */
static void
reset_results(void)
{
	nlat = 0;
	errors = 0;
	memset(fail_count, 0, sizeof(fail_count));
	connect_failures = 0;
	reconnects = 0;
	nactions = 0;
	stopping = 0;
}

/*
 * Report.
 */

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int
cmp_action(const void *a, const void *b)
{
	const struct action *x = a, *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Nearest-rank percentile of the sorted latencies, in ms. */
static double
percentile(unsigned p)
{
	size_t rank;

	if (nlat == 0)
		return 0;
	rank = (nlat * p + 99) / 100;
	if (rank == 0)
		rank = 1;
	return (double)lat[rank - 1] / MSEC;
}

static void
json_string(const char *s)
{
	const unsigned char *p;

	putchar('"');
	for (p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	putchar('"');
}

static void
report(void)
{
	double secs = (double)(t_last - t_start) / NSEC;
	size_t i;
	int f;

	qsort(lat, nlat, sizeof(*lat), cmp_u64);
	qsort(actions, nactions, sizeof(*actions), cmp_action);

	printf("{\"conns\":%u,\"seconds\":%.3f,\"requests\":%zu,"
	    "\"rps\":%.1f,\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,"
	    "\"max_ms\":%.3f,\"errors\":%llu,\"actions\":{",
	    nconns, secs, nlat, secs > 0 ? (double)nlat / secs : 0.0,
	    percentile(50), percentile(90), percentile(99),
	    nlat ? (double)lat[nlat - 1] / MSEC : 0.0,
	    (unsigned long long)errors);
	for (i = 0; i < nactions; i++) {
		if (i > 0)
			putchar(',');
		json_string(actions[i].name);
		printf(":%llu", (unsigned long long)actions[i].count);
	}
	printf("}}\n");
	fflush(stdout);

	if (errors || connect_failures) {
		fprintf(stderr, "loadgen: %llu errors:",
		    (unsigned long long)errors);
		for (f = 0; f < FAIL_MAX; f++)
			if (fail_count[f])
				fprintf(stderr, " %s %llu", fail_names[f],
				    (unsigned long long)fail_count[f]);
		fprintf(stderr, "; %llu reconnects, %llu failed connects\n",
		    (unsigned long long)reconnects,
		    (unsigned long long)connect_failures);
	}
}

int
main(int argc, char *argv[])
{
	struct sigaction sa;
	const char *corpus_path = NULL, *spec = NULL;
	int ch;

	duration = 10 * NSEC;
	timeout = 30 * NSEC;
	snprintf(prefix, sizeof(prefix), "lg%ld", (long)getpid());

	while ((ch = getopt(argc, argv, "c:d:f:n:p:s:t:W:")) != -1) {
		switch (ch) {
		case 'c':
			nconns = (unsigned)parse_count(optarg, 1000000,
			    "connection count");
			break;
		case 'd':
			duration = parse_seconds(optarg, "duration");
			break;
		case 'f':
			corpus_path = optarg;
			break;
		case 'n':
			limit = parse_count(optarg, UINT64_MAX / 2,
			    "request count");
			break;
		case 'p':
			if (*optarg == '\0' || strlen(optarg) >= sizeof(prefix)
			    || strpbrk(optarg, "\r\n") != NULL)
				fatalx(2, "bad instance prefix");
			strcpy(prefix, optarg);
			break;
		case 's':
			spec = optarg;
			break;
		case 'W':
			warmup = parse_count(optarg, 1000000, "warm-up count");
			break;
		case 't':
			timeout = parse_seconds(optarg, "timeout");
			if (timeout == 0)
				fatalx(2, "timeout must be positive");
			break;
		default:
			usage();
		}
	}
	if (optind != argc || spec == NULL || corpus_path == NULL ||
	    nconns == 0)
		usage();
	if (duration == 0 && limit == 0)
		fatalx(2, "-d 0 needs -n");

	parse_target(spec);
	corpus_load(corpus_path);
	corpus_measure();
	raise_nofile();

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESETHAND;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		fatalx(2, "epoll_create1: %s", strerror(errno));
	connect_all();
	if (warmup) {
		uint64_t keep_limit = limit, keep_duration = duration;

		limit = warmup * nconns;
		duration = 0;
		run();
		reset_results();
		limit = keep_limit ? issued + keep_limit : 0;
		duration = keep_duration;
	}
	run();
	report();
	return 0;
}
