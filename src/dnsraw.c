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

#define DNSRAW_QMAX 512                 /* header, name <= 255, type, class */
#define DNSRAW_RMAX 65536

struct dnsraw {
	int fd;
	struct event *rd, *timer;
	unsigned char q[DNSRAW_QMAX];
	int qlen;
	unsigned timeout_ms, tries, sent;
	dnsraw_cb *cb;
	void *arg;
};

int
dnsraw_query(unsigned char *buf, size_t bufsz, unsigned id, const char *name,
    int type)
{
	size_t o = 12, n;
	const char *p = name, *dot;

	if (bufsz < 12 + 256 + 4)
		return -1;
	memset(buf, 0, 12);
	buf[0] = (unsigned char)(id >> 8);
	buf[1] = (unsigned char)id;
	buf[2] = 0x01;                          /* RD */
	buf[5] = 1;                             /* QDCOUNT */
	while (*p != '\0') {
		dot = strchr(p, '.');
		n = dot ? (size_t)(dot - p) : strlen(p);
		if (n == 0 || n > 63 || o + n + 1 > 12 + 255)
			return -1;
		buf[o++] = (unsigned char)n;
		memcpy(buf + o, p, n);
		o += n;
		if (dot == NULL)
			break;
		p = dot + 1;
	}
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
finish(struct dnsraw *q, enum dns_xfer x, const unsigned char *abuf,
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
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct dnsraw *q = arg;
	struct timeval tv;

	(void)fd;
	(void)what;
	if (q->sent >= q->tries) {
		finish(q, DNS_XFER_TIMEOUT, NULL, 0);
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
			finish(q, DNS_XFER_SERVFAIL, NULL, 0);
			return;
		}
		if (!dnsraw_matches(q->q, q->qlen, buf, (int)n))
			continue;       /* not ours: keep waiting */
		if (buf[2] & 0x02) {
			finish(q, DNS_XFER_ERROR, NULL, 0);     /* TC */
			return;
		}
		finish(q, DNS_XFER_REPLY, buf, (int)n);
		return;
	}
}

struct dnsraw *
dnsraw_ask(struct event_base *base, const struct sockaddr *srv,
    socklen_t srvlen, const char *name, int type, unsigned timeout_ms,
    unsigned tries, dnsraw_cb *cb, void *arg)
{
	struct dnsraw *q;
	unsigned short id;
	struct timeval tv;

	if ((q = calloc(1, sizeof(*q))) == NULL)
		return NULL;
	q->fd = -1;
	q->cb = cb;
	q->arg = arg;
	q->timeout_ms = timeout_ms ? timeout_ms : 1000;
	q->tries = tries ? tries : 1;
	if (getrandom(&id, sizeof(id), GRND_NONBLOCK) != sizeof(id))
		id = (unsigned short)arc4random();
	if ((q->qlen = dnsraw_query(q->q, sizeof(q->q), id, name, type)) < 0)
		goto fail;
	q->fd = socket(srv->sa_family, SOCK_DGRAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (q->fd < 0 || connect(q->fd, srv, srvlen) < 0)
		goto fail;
	q->rd = event_new(base, q->fd, EV_READ | EV_PERSIST, on_read, q);
	q->timer = evtimer_new(base, on_timer, q);
	if (q->rd == NULL || q->timer == NULL || event_add(q->rd, NULL) < 0 ||
	    send_query(q) < 0)
		goto fail;
	tv.tv_sec = q->timeout_ms / 1000;
	tv.tv_usec = (q->timeout_ms % 1000) * 1000;
	evtimer_add(q->timer, &tv);
	return q;
fail:
	dnsraw_cancel(q);
	return NULL;
}

void
dnsraw_cancel(struct dnsraw *q)
{
	if (q == NULL)
		return;
	if (q->rd)
		event_free(q->rd);
	if (q->timer)
		event_free(q->timer);
	if (q->fd >= 0)
		close(q->fd);
	free(q);
}
