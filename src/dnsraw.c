/*
 * dnsraw - a DNS question c-ares will not carry, asked over UDP by hand.
 * See dnsraw.h.
 */
#include <sys/types.h>
#include <sys/random.h>
#include <sys/socket.h>

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "dnsraw.h"
#include "log.h"
#include "xmalloc.h"

#define DNSRAW_QMAX 512                 /* header, name <= 255, type, class */
#define DNSRAW_RMAX 65536

/*
 * At most this many questions have a socket at once; the others wait in
 * line (their askers' deadlines still run): an attacker who makes many
 * such questions costs spfpd no more descriptors than this.
 */
#define DNSRAW_MAX_INFLIGHT 32

struct dnsraw {
	int fd;
	struct event *rd, *timer;
	struct event_base *base;
	struct sockaddr_storage srv;
	socklen_t srvlen;
	unsigned char q[DNSRAW_QMAX];
	int qlen;
	unsigned timeout_ms, tries, sent;
	int started;                    /* has a socket (counted in flight) */
	dnsraw_cb *cb;
	void *arg;
	struct dnsraw *prev, *next;     /* the line, while waiting */
};

static struct {
	unsigned inflight;
	struct dnsraw *head, *tail;
} line;

static int start(struct dnsraw *q);

int
dnsraw_query(unsigned char *buf, size_t bufsz, unsigned id, const char *name,
    int type)
{
	size_t o = 12, lab = 0;
	const unsigned char *p = (const unsigned char *)name;
	unsigned v;

	if (bufsz < 12 + 256 + 4)
		return -1;
	memset(buf, 0, 12);
	buf[0] = (unsigned char)(id >> 8);
	buf[1] = (unsigned char)id;
	buf[2] = 0x01;                          /* RD */
	buf[5] = 1;                             /* QDCOUNT */
	/*
	 * The name in the text form dns.c keeps (ns_name_uncompress's):
	 * "\DDD" and "\c" are escapes, an unescaped "." ends a label.
	 */
	lab = o++;
	for (; *p; p++) {
		if (*p == '.') {
			if (o - lab - 1 == 0 || o - lab - 1 > 63)
				return -1;
			buf[lab] = (unsigned char)(o - lab - 1);
			if (p[1] == '\0')
				break;          /* a final dot */
			lab = o++;
			continue;
		}
		v = *p;
		if (*p == '\\' && p[1] != '\0') {
			if (isdigit(p[1]) && isdigit(p[2]) && isdigit(p[3])) {
				v = (unsigned)(p[1] - '0') * 100 +
				    (unsigned)(p[2] - '0') * 10 +
				    (unsigned)(p[3] - '0');
				if (v > 255)
					return -1;
				p += 3;
			} else {
				v = *++p;
			}
		}
		if (o + 1 > 12 + 255)
			return -1;
		buf[o++] = (unsigned char)v;
	}
	if (*p == '\0') {                      /* the last label */
		if (o - lab - 1 == 0 || o - lab - 1 > 63)
			return -1;
		buf[lab] = (unsigned char)(o - lab - 1);
	}
	if (o + 5 > 12 + 255 + 5)
		return -1;
	buf[o++] = 0;
	buf[o++] = (unsigned char)(type >> 8);
	buf[o++] = (unsigned char)type;
	buf[o++] = 0;
	buf[o++] = 1;                           /* IN */
	return (int)o;
}

int
dnsraw_matches(const unsigned char *query, int qlen,
    const unsigned char *reply, int alen)
{
	int i;

	if (alen < qlen || qlen < 12 || reply[0] != query[0] ||
	    reply[1] != query[1] || !(reply[2] & 0x80) || reply[4] != 0 ||
	    reply[5] != 1)
		return 0;
	/* the same question; names compare without regard to case */
	for (i = 12; i < qlen; i++)
		if (tolower(reply[i]) != tolower(query[i]))
			return 0;
	return 1;
}

static void
raw_finish(struct dnsraw *q, enum dns_xfer x, const unsigned char *abuf,
    int alen)
{
	dnsraw_cb *cb = q->cb;
	void *arg = q->arg;

	dnsraw_cancel(q);
	cb(arg, x, abuf, alen);
}

static int
send_query(struct dnsraw *q)
{
	q->sent++;
	return send(q->fd, q->q, (size_t)q->qlen, 0) == q->qlen ? 0 : -1;
}

static void
raw_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct dnsraw *q = arg;
	struct timeval tv;

	(void)fd;
	(void)what;
	if (q->sent >= q->tries) {
		raw_finish(q, DNS_XFER_TIMEOUT, NULL, 0);
		return;
	}
	(void)send_query(q);
	tv.tv_sec = q->timeout_ms / 1000;
	tv.tv_usec = (q->timeout_ms % 1000) * 1000;
	evtimer_add(q->timer, &tv);
}

static void
on_read(evutil_socket_t fd, short what, void *arg)
{
	static unsigned char buf[DNSRAW_RMAX];
	struct dnsraw *q = arg;
	ssize_t n;

	(void)what;
	for (;;) {
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR)
				return;
			/* ICMP unreachable on a connected socket: no server */
			raw_finish(q, DNS_XFER_SERVFAIL, NULL, 0);
			return;
		}
		if (!dnsraw_matches(q->q, q->qlen, buf, (int)n))
			continue;       /* not ours: keep waiting */
		if (buf[2] & 0x02) {
			raw_finish(q, DNS_XFER_ERROR, NULL, 0);     /* TC */
			return;
		}
		raw_finish(q, DNS_XFER_REPLY, buf, (int)n);
		return;
	}
}

/* pump - start waiting questions while there is room */
static void
pump(void)
{
	struct dnsraw *q;

	while (line.inflight < DNSRAW_MAX_INFLIGHT && (q = line.head) != NULL) {
		line.head = q->next;
		if (line.head)
			line.head->prev = NULL;
		else
			line.tail = NULL;
		q->next = q->prev = NULL;
		if (start(q) < 0)
			raw_finish(q, DNS_XFER_ERROR, NULL, 0);
	}
}

/* start - the question's socket, its first send and its timer */
static int
start(struct dnsraw *q)
{
	struct timeval tv;

	q->started = 1;
	line.inflight++;
	q->fd = socket(q->srv.ss_family, SOCK_DGRAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (q->fd < 0 || connect(q->fd, (struct sockaddr *)&q->srv,
	    q->srvlen) < 0)
		return -1;
	q->rd = event_new(q->base, q->fd, EV_READ | EV_PERSIST, on_read, q);
	q->timer = evtimer_new(q->base, raw_on_timer, q);
	if (q->rd == NULL || q->timer == NULL || event_add(q->rd, NULL) < 0 ||
	    send_query(q) < 0)
		return -1;
	tv.tv_sec = q->timeout_ms / 1000;
	tv.tv_usec = (q->timeout_ms % 1000) * 1000;
	evtimer_add(q->timer, &tv);
	return 0;
}

struct dnsraw *
dnsraw_ask(struct event_base *base, const struct sockaddr *srv,
    socklen_t srvlen, const char *name, int type, unsigned timeout_ms,
    unsigned tries, dnsraw_cb *cb, void *arg)
{
	struct dnsraw *q;
	unsigned short id;

	if (srvlen > sizeof(q->srv))
		return NULL;
	q = xcalloc(1, sizeof(*q));
	q->fd = -1;
	q->base = base;
	memcpy(&q->srv, srv, srvlen);
	q->srvlen = srvlen;
	q->cb = cb;
	q->arg = arg;
	q->timeout_ms = timeout_ms ? timeout_ms : 1000;
	q->tries = tries ? tries : 1;
	if (getrandom(&id, sizeof(id), GRND_NONBLOCK) != sizeof(id))
		id = (unsigned short)arc4random();
	if ((q->qlen = dnsraw_query(q->q, sizeof(q->q), id, name, type)) < 0) {
		free(q);
		return NULL;
	}
	if (line.inflight >= DNSRAW_MAX_INFLIGHT) {
		q->prev = line.tail;
		if (line.tail)
			line.tail->next = q;
		else
			line.head = q;
		line.tail = q;
		return q;
	}
	if (start(q) < 0) {
		dnsraw_cancel(q);
		return NULL;
	}
	return q;
}

void
dnsraw_cancel(struct dnsraw *q)
{
	if (q == NULL)
		return;
	if (!q->started) {
		if (q->prev)
			q->prev->next = q->next;
		else if (line.head == q)
			line.head = q->next;
		if (q->next)
			q->next->prev = q->prev;
		else if (line.tail == q)
			line.tail = q->prev;
	}
	if (q->rd)
		event_free(q->rd);
	if (q->timer)
		event_free(q->timer);
	if (q->fd >= 0)
		close(q->fd);
	if (q->started)
		line.inflight--;
	free(q);
	pump();
}
