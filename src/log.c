/*
 * log - Postfix-style logging to syslog or stderr.  See log.h.
 *
 * The syslog client is our own rather than syslog(3), for two reasons
 * measured under load (make bench: 22% of the daemon's CPU was syslog(3)):
 *  - syslog(3) sends each line with a blocking send().  The kernel queues
 *    only net.unix.max_dgram_qlen datagrams (10 unless raised) for the
 *    reader, so a syslogd that falls behind would stall the event loop,
 *    and with it every smtpd waiting for an answer.
 *  - it calls getpid() and makes a system call for every line.
 * Here lines are queued and sent together with one sendmmsg(MSG_DONTWAIT)
 * at the end of the event loop's current pass (log_attach()), or as soon
 * as 256 wait, so that syslogd reads them meanwhile.  When the
 * socket is full the queue waits for it to drain; lines that find the
 * queue full are counted, and the count is logged once it drains.  Outside
 * the event loop (start, exit, fatal) lines are sent at once, waiting up
 * to a second for room.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"

#define QLINES          4096            /* datagrams queued at most */
#define QBYTES          (1024 * 1024)   /* and their bytes */
#define SEND_BATCH      256             /* datagrams per sendmmsg(); and
                                           sent at once when this many wait,
                                           so that syslogd reads meanwhile */
#define MSG_MAX         2048            /* text of one line */
#define LINE_MAX_BYTES  (MSG_MAX + 128) /* with header and error text */
#define WAIT_MS         1000            /* outside the loop: wait for room */

static struct {
	int to_stderr;
	int facility;
	int debug;
	long pid;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int fd;                         /* -1: not connected */
	time_t retry_at;                /* connect failed: not before then */
	size_t used;                    /* bytes in qbuf */
	int n;
	unsigned long dropped;          /* lines the full queue refused */
	unsigned long dropped_total;    /* since the start (metrics) */
	struct event_base *base;
	struct event *flush_ev;         /* activated by the first queued line */
	struct event *write_ev;         /* socket full: wait for room */
	int flush_pending, waiting;
	time_t stamp_time;
	char stamp[64];
	int atexit_done;
} L = { .to_stderr = 1, .facility = LOG_MAIL, .fd = -1,
    .path = "/dev/log" };

/* the queue, apart from L so that it stays in .bss: no pages until used */
static char qbuf[QBYTES];               /* datagrams, back to back */
static size_t qoff[QLINES], qlen[QLINES];

static void log_flush_wait(int ms);
static void on_flush(evutil_socket_t, short, void *);

static void
log_disconnect(void)
{
	if (L.write_ev != NULL) {
		event_free(L.write_ev);
		L.write_ev = NULL;
	}
	if (L.fd >= 0)
		close(L.fd);
	L.fd = -1;
	L.waiting = 0;
}

static int
log_connect(void)
{
	struct sockaddr_un sun;
	time_t now;
	int fd;

	if (L.fd >= 0)
		return 0;
	now = time(NULL);
	if (now < L.retry_at)
		return -1;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, L.path, sizeof(sun.sun_path));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		if (fd >= 0)
			close(fd);
		L.retry_at = now + 1;   /* no syslogd: try once a second */
		return -1;
	}
	L.fd = fd;
	if (L.base != NULL)
		L.write_ev = event_new(L.base, fd, EV_WRITE, on_flush, NULL);
	return 0;
}

/* drop the first k queued lines */
static void
log_shift(int k)
{
	size_t base;
	int i;

	if (k <= 0)
		return;
	if (k >= L.n) {
		L.n = 0;
		L.used = 0;
		return;
	}
	base = qoff[k];
	memmove(qbuf, qbuf + base, L.used - base);
	L.used -= base;
	for (i = k; i < L.n; i++) {
		qoff[i - k] = qoff[i] - base;
		qlen[i - k] = qlen[i];
	}
	L.n -= k;
}

/*
 * Send what is queued, without waiting.  0: the queue is empty; -1: the
 * socket is full and the rest stays queued.  Without a syslogd the lines
 * are lost, as with syslog(3).
 */
static int
log_send(void)
{
	struct mmsghdr mm[SEND_BATCH];
	struct iovec iov[SEND_BATCH];
	int sent = 0, i, k, r, reconnected = 0;

	while (sent < L.n) {
		if (L.fd < 0 && log_connect() < 0) {
			sent = L.n;
			break;
		}
		k = L.n - sent < SEND_BATCH ? L.n - sent : SEND_BATCH;
		memset(mm, 0, sizeof(mm[0]) * (size_t)k);
		for (i = 0; i < k; i++) {
			iov[i].iov_base = qbuf + qoff[sent + i];
			iov[i].iov_len = qlen[sent + i];
			mm[i].msg_hdr.msg_iov = &iov[i];
			mm[i].msg_hdr.msg_iovlen = 1;
		}
		r = sendmmsg(L.fd, mm, (unsigned)k, MSG_DONTWAIT);
		if (r > 0) {
			sent += r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			log_shift(sent);
			return -1;
		}
		if (r < 0 && !reconnected && (errno == ECONNREFUSED ||
		    errno == ENOTCONN || errno == ECONNRESET || errno == EPIPE)) {
			/* the syslogd restarted: a new socket at the path */
			log_disconnect();
			L.retry_at = 0;
			reconnected = 1;
			continue;
		}
		sent++;                 /* a line the socket refuses */
	}
	log_shift(sent);
	return 0;
}

unsigned long
log_lost_total(void)
{
	return L.dropped_total;
}

/* the queue is empty again: say what was lost meanwhile */
static void
log_drained(void)
{
	unsigned long d = L.dropped;

	if (d == 0)
		return;
	L.dropped = 0;
	log_warnx("%lu log messages lost: the syslog socket %s was full", d,
	    L.path);
}

static void
on_flush(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	L.flush_pending = 0;
	L.waiting = 0;
	if (log_send() < 0) {
		if (L.write_ev != NULL) {
			L.waiting = 1;
			event_add(L.write_ev, NULL);
		}
		return;
	}
	log_drained();
}

/* outside the event loop: send, waiting up to ms for room */
static void
log_flush_wait(int ms)
{
	struct pollfd pfd;
	struct timespec t0, t;
	int left;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (log_send() < 0) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		left = ms - (int)((t.tv_sec - t0.tv_sec) * 1000 +
		    (t.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0)
			return;
		pfd.fd = L.fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, left) < 0 && errno != EINTR)
			return;
	}
	log_drained();
}

static void
log_at_exit(void)
{
	if (!L.to_stderr && L.n > 0)
		log_flush_wait(WAIT_MS);
}

static const char *
log_stamp(void)
{
	static const char mon[12][4] = { "Jan", "Feb", "Mar", "Apr", "May",
	    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t now = time(NULL);
	struct tm tm;

	if (now != L.stamp_time || L.stamp[0] == '\0') {
		if (localtime_r(&now, &tm) == NULL)
			memset(&tm, 0, sizeof(tm));
		snprintf(L.stamp, sizeof(L.stamp), "%s %2d %02d:%02d:%02d",
		    mon[(unsigned)tm.tm_mon % 12], tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec);
		L.stamp_time = now;
	}
	return L.stamp;
}

void
log_init(int to_stderr, int facility)
{
	L.to_stderr = to_stderr;
	L.facility = facility;
	L.pid = (long)getpid();
	if (!to_stderr) {
		if (!L.atexit_done) {
			atexit(log_at_exit);
			L.atexit_done = 1;
		}
		L.retry_at = 0;
		(void)log_connect();    /* now, before privileges are dropped */
	}
}

int
log_set_syslog(const char *path, int facility)
{
	L.facility = facility;
	if (path == NULL || *path == '\0')
		path = "/dev/log";
	if (strlen(path) >= sizeof(L.path))
		return -1;
	if (strcmp(path, L.path) == 0)
		return 0;
	if (L.n > 0)
		(void)log_send();
	log_disconnect();
	snprintf(L.path, sizeof(L.path), "%s", path);
	L.retry_at = 0;
	if (!L.to_stderr)
		(void)log_connect();
	return 0;
}

void
log_attach(struct event_base *base)
{
	log_detach();
	L.base = base;
	L.flush_ev = event_new(base, -1, 0, on_flush, NULL);
	if (L.fd >= 0)
		L.write_ev = event_new(base, L.fd, EV_WRITE, on_flush, NULL);
}

void
log_detach(void)
{
	if (L.base == NULL)
		return;
	if (L.flush_ev != NULL)
		event_free(L.flush_ev);
	if (L.write_ev != NULL)
		event_free(L.write_ev);
	L.flush_ev = L.write_ev = NULL;
	L.flush_pending = L.waiting = 0;
	L.base = NULL;
	if (!L.to_stderr && L.n > 0)
		log_flush_wait(WAIT_MS);
}

void
log_set_debug(int on)
{
	L.debug = on;
}

static void
log_emit(int prio, const char *prefix, const char *fmt, va_list ap, int err)
{
	char *p;
	size_t room, n;
	int h, m;

	if (L.to_stderr) {
		char msg[MSG_MAX];

		m = vsnprintf(msg, sizeof(msg), fmt, ap);
		if (m < 0)
			return;
		if (err)
			fprintf(stderr, "spfpd[%ld]: %s%s: %s\n", L.pid, prefix,
			    msg, strerror(err));
		else
			fprintf(stderr, "spfpd[%ld]: %s%s\n", L.pid, prefix,
			    msg);
		return;
	}
	if (L.n == QLINES || QBYTES - L.used < LINE_MAX_BYTES) {
		/* full: make room if the socket takes it, else count */
		if (L.waiting || log_send() < 0) {
			if (L.base != NULL && L.write_ev != NULL &&
			    !L.waiting) {
				L.waiting = 1;
				event_add(L.write_ev, NULL);
			}
			L.dropped++;
			L.dropped_total++;
			return;
		}
	}
	p = qbuf + L.used;
	room = LINE_MAX_BYTES;
	h = snprintf(p, room, "<%d>%s spfpd[%ld]: %s", L.facility | prio,
	    log_stamp(), L.pid, prefix);
	if (h < 0 || (size_t)h >= room)
		return;
	n = (size_t)h;
	m = vsnprintf(p + n, MSG_MAX, fmt, ap);
	if (m < 0)
		return;
	n += (size_t)m < MSG_MAX ? (size_t)m : MSG_MAX - 1;
	if (err) {
		m = snprintf(p + n, room - n, ": %s", strerror(err));
		if (m > 0)
			n += (size_t)m < room - n ? (size_t)m : room - n - 1;
	}
	qoff[L.n] = L.used;
	qlen[L.n] = n;
	L.n++;
	L.used += n;
	if (L.base == NULL)
		log_flush_wait(WAIT_MS);
	else if (L.n >= SEND_BATCH && !L.waiting) {
		/* a long pass of the loop: do not let them pile up */
		if (log_send() < 0 && L.write_ev != NULL) {
			L.waiting = 1;
			event_add(L.write_ev, NULL);
		}
	} else if (!L.flush_pending && !L.waiting) {
		L.flush_pending = 1;
		event_active(L.flush_ev, EV_TIMEOUT, 1);
	}
}

#define LOG_FN(name, prio, prefix, witherr)			\
void								\
name(const char *fmt, ...)					\
{								\
	int saved = errno;					\
	va_list ap;						\
	va_start(ap, fmt);					\
	log_emit(prio, prefix, fmt, ap, witherr ? saved : 0);	\
	va_end(ap);						\
	errno = saved;						\
}

LOG_FN(log_warn, LOG_WARNING, "warning: ", 1)
LOG_FN(log_warnx, LOG_WARNING, "warning: ", 0)
LOG_FN(log_info, LOG_INFO, "", 0)

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!L.debug)
		return;
	va_start(ap, fmt);
	log_emit(LOG_DEBUG, "", fmt, ap, 0);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_CRIT, "fatal: ", fmt, ap, saved);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_CRIT, "fatal: ", fmt, ap, 0);
	va_end(ap);
	exit(1);
}

/*
 * Library messages.  Nothing a library prints may reach stderr: in spawn
 * mode stderr is the policy client's socket (spawn(8) connects stdin,
 * stdout and stderr to it), and a line there would be read by Postfix as
 * part of a reply.
 */
static void
libevent_log(int severity, const char *msg)
{
	if (severity == EVENT_LOG_DEBUG || severity == EVENT_LOG_MSG)
		log_debug("libevent: %s", msg);
	else
		log_warnx("libevent: %s", msg);
}

/* libevent's internal assertions: logged, then exit(1), never abort() */
static void
libevent_fatal(int err)
{
	fatalx("libevent: internal error %d", err);
}

void
log_capture_libevent(void)
{
	event_set_log_callback(libevent_log);
	event_set_fatal_callback(libevent_fatal);
}

void
log_warnx_ratelimited(unsigned *last, const char *fmt, ...)
{
	struct timespec now;
	va_list ap;

	/* at most one such warning every 10 seconds per call site */
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (*last != 0 && (unsigned)now.tv_sec - *last < 10)
		return;
	*last = (unsigned)now.tv_sec ? (unsigned)now.tv_sec : 1;
	va_start(ap, fmt);
	log_emit(LOG_WARNING, "warning: ", fmt, ap, 0);
	va_end(ap);
}

char *
log_escape(char *out, size_t outsz, const char *in, size_t maxchars)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, i;

	if (outsz == 0)
		return out;
	if (in == NULL)
		in = "";
	for (i = 0; in[i] != '\0' && i < maxchars; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c >= 0x20 && c < 0x7f && c != '\\') {
			if (o + 1 >= outsz)
				break;
			out[o++] = (char)c;
		} else {
			if (o + 4 >= outsz)
				break;
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	if (in[i] != '\0' && o + 3 < outsz) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}
