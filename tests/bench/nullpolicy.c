/*
 * nullpolicy - the benchmark's ceiling: a Postfix policy delegation
 * server that does nothing.  It answers every request with
 * "action=DUNNO" at once, without looking at it: no parsing beyond
 * finding the empty line that ends a request, no DNS, no logging.  What
 * spfpd does per request costs whatever it loses against this on the
 * same machine, load generator and socket (tests/bench/run.py, the
 * "null-policy" rows).
 *
 *   nullpolicy PATH   listens on the UNIX socket PATH (replaced if it
 *                     exists); on SIGTERM or SIGINT removes it, prints
 *                     "nullpolicy: C connections, R requests" to stderr
 *                     and exits 0.
 *
 * A request is attribute lines, each ended by a newline, ended by an
 * empty line (SMTPD_POLICY_README); requests may be pipelined and split
 * anywhere across reads.  Every reply is the same 14 bytes, so what a
 * connection still has to write is a count of replies owed and how much
 * of the first one went out already: partial writes need no buffer, and
 * a client that sends without reading costs a counter, not memory.  A
 * connection with replies owed is not read until they are written.  A
 * client that sends more than 64 KiB without an empty line is dropped.
 *
 * Single-threaded, epoll (level-triggered), non-blocking sockets, libc
 * only:
 *
 *	cc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -o nullpolicy nullpolicy.c
 */
#include <sys/epoll.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REQUEST_MAX	(64 * 1024)	/* bytes without an empty line */
#define READ_SIZE	(64 * 1024)
#define MAX_EVENTS	256
#define ACCEPT_BATCH	64		/* accepts per listener event */

#define REPLY		"action=DUNNO\n\n"
#define REPLY_LEN	(sizeof(REPLY) - 1)
#define REPLIES		4096		/* in one write at most */

struct conn {
	LIST_ENTRY(conn) entry;
	int		 fd;
	uint32_t	 events;	/* registered epoll events */
	int		 bol;		/* at the beginning of a line */
	int		 eof;		/* the client sent EOF */
	size_t		 reqlen;	/* bytes since the last request */
	uint64_t	 owed;		/* replies not (fully) written */
	size_t		 off;		/* bytes of the first one written */
};

static LIST_HEAD(, conn)	 conns = LIST_HEAD_INITIALIZER(conns);
static int			 ep = -1;
static int			 spare = -1;	/* for accept() at EMFILE */
static char			 rbuf[READ_SIZE];
static char			 replies[REPLIES * REPLY_LEN];
static uint64_t			 naccepted, nrequests;

/* epoll tags of the two descriptors that are not connections */
static struct conn		 listen_tag, signal_tag;

static void
conn_close(struct conn *c)
{
	LIST_REMOVE(c, entry);
	close(c->fd);		/* also leaves the epoll set */
	free(c);
}

static int
conn_want(struct conn *c, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };

	if (c->events == events)
		return 0;
	if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0) {
		perror("nullpolicy: epoll_ctl");
		return -1;
	}
	c->events = events;
	return 0;
}

/*
 * Write what is owed.  Returns -1 if the connection is gone (closed
 * here), else 0, having asked for EPOLLOUT if replies are still owed,
 * EPOLLIN otherwise.
 */
static int
conn_flush(struct conn *c)
{
	while (c->owed > 0) {
		uint64_t n = c->owed < REPLIES ? c->owed : REPLIES;
		size_t len = n * REPLY_LEN - c->off;
		ssize_t w;

		w = send(c->fd, replies + c->off, len, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			conn_close(c);	/* EPIPE, ECONNRESET: gone */
			return -1;
		}
		c->owed -= (c->off + (size_t)w) / REPLY_LEN;
		c->off = (c->off + (size_t)w) % REPLY_LEN;
	}
	if (c->owed == 0 && c->eof) {
		conn_close(c);
		return -1;
	}
	if (conn_want(c, c->owed > 0 ? EPOLLOUT : EPOLLIN) < 0) {
		conn_close(c);
		return -1;
	}
	return 0;
}

/*
 * Count the requests that end in buf[0..len): an empty line is a
 * newline at the beginning of a line.  Returns -1 if the client went
 * over REQUEST_MAX without one.
 */
static int
conn_scan(struct conn *c, const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len, *nl;

	while (p < end) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL) {
			c->reqlen += (size_t)(end - p);
			c->bol = 0;
			break;
		}
		if (nl == p && c->bol) {
			c->owed++;
			nrequests++;
			c->reqlen = 0;
		} else {
			c->reqlen += (size_t)(nl - p) + 1;
			c->bol = 1;
		}
		if (c->reqlen > REQUEST_MAX)
			break;
		p = nl + 1;
	}
	return c->reqlen > REQUEST_MAX ? -1 : 0;
}

static void
conn_read(struct conn *c)
{
	ssize_t n;

	do
		n = read(c->fd, rbuf, sizeof(rbuf));
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			conn_close(c);
		return;
	}
	if (n == 0) {
		/* the replies to what came before EOF still go out */
		c->eof = 1;
		(void)conn_flush(c);
		return;
	}
	if (conn_scan(c, rbuf, (size_t)n) < 0) {
		fprintf(stderr, "nullpolicy: more than %d bytes without an "
		    "empty line: dropped\n", REQUEST_MAX);
		conn_close(c);
		return;
	}
	(void)conn_flush(c);
}

static void
do_accept(int lfd)
{
	int i, fd;

	for (i = 0; i < ACCEPT_BATCH; i++) {
		struct epoll_event ev;
		struct conn *c;

		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if ((errno == EMFILE || errno == ENFILE) &&
			    spare >= 0) {
				/*
				 * Out of descriptors: refuse this one rather
				 * than have the listener wake us forever.
				 */
				fprintf(stderr, "nullpolicy: accept: %s: "
				    "connection refused\n", strerror(errno));
				close(spare);
				if ((fd = accept(lfd, NULL, NULL)) >= 0)
					close(fd);
				spare = open("/dev/null",
				    O_RDONLY | O_CLOEXEC);
				if (fd < 0)
					return;
				continue;
			}
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				perror("nullpolicy: accept");
			return;
		}
		if ((c = calloc(1, sizeof(*c))) == NULL) {
			perror("nullpolicy: calloc");
			close(fd);
			return;
		}
		c->fd = fd;
		c->bol = 1;
		c->events = EPOLLIN;
		ev.events = EPOLLIN;
		ev.data.ptr = c;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
			perror("nullpolicy: epoll_ctl");
			close(fd);
			free(c);
			continue;
		}
		LIST_INSERT_HEAD(&conns, c, entry);
		naccepted++;
	}
}

int
main(int argc, char **argv)
{
	struct epoll_event evs[MAX_EVENTS];
	struct epoll_event ev;
	struct sockaddr_un sun;
	struct rlimit rl;
	struct conn *c;
	sigset_t sigs;
	size_t i;
	int lfd, sfd, n, k, stop = 0, rc = 0;

	if (argc != 2 || argv[1][0] == '\0' ||
	    strlen(argv[1]) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "usage: nullpolicy PATH\n");
		return 2;
	}
	for (i = 0; i < REPLIES; i++)
		memcpy(replies + i * REPLY_LEN, REPLY, REPLY_LEN);
	/* as many connections as the hard limit allows */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	if (sigprocmask(SIG_BLOCK, &sigs, NULL) < 0 ||
	    (sfd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
		perror("nullpolicy: signalfd");
		return 1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, argv[1], strlen(argv[1]));
	(void)unlink(argv[1]);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    listen(lfd, SOMAXCONN) < 0) {
		perror(argv[1]);
		return 1;
	}
	spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		perror("nullpolicy: epoll_create1");
		(void)unlink(argv[1]);
		return 1;
	}
	ev.events = EPOLLIN;
	ev.data.ptr = &listen_tag;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0) {
		perror("nullpolicy: epoll_ctl");
		(void)unlink(argv[1]);
		return 1;
	}
	ev.data.ptr = &signal_tag;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev) < 0) {
		perror("nullpolicy: epoll_ctl");
		(void)unlink(argv[1]);
		return 1;
	}
	while (!stop) {
		n = epoll_wait(ep, evs, MAX_EVENTS, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("nullpolicy: epoll_wait");
			rc = 1;
			break;
		}
		/*
		 * Only a connection's own event closes (frees) it, and each
		 * descriptor is reported once per epoll_wait(): no event
		 * further down the batch points to a freed connection.
		 */
		for (k = 0; k < n; k++) {
			c = evs[k].data.ptr;
			if (c == &listen_tag) {
				do_accept(lfd);
			} else if (c == &signal_tag) {
				stop = 1;
			} else if (evs[k].events & (EPOLLOUT | EPOLLERR |
			    EPOLLHUP) && c->owed > 0) {
				(void)conn_flush(c);
			} else {
				/* EPOLLIN; EPOLLHUP/EPOLLERR: read says */
				conn_read(c);
			}
		}
	}
	while ((c = LIST_FIRST(&conns)) != NULL)
		conn_close(c);
	close(lfd);
	close(sfd);
	close(ep);
	if (spare >= 0)
		close(spare);
	(void)unlink(argv[1]);
	fprintf(stderr, "nullpolicy: %llu connections, %llu requests\n",
	    (unsigned long long)naccepted, (unsigned long long)nrequests);
	return rc;
}
