/*
 * sdnotify - systemd readiness notification and socket activation through
 * libsystemd.  See sdnotify.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "log.h"
#include "sdnotify.h"
#include "strbuf.h"

#if SDNOTIFY_FDS_START != SD_LISTEN_FDS_START
#error "SDNOTIFY_FDS_START is not SD_LISTEN_FDS_START"
#endif

/*
 * notify - send "<state>\nSTATUS=<fmt...>" (and extra lines before the
 * status, if any).  A newline in the status text would start a new
 * assignment: it becomes a space.  A failure is logged once: systemd
 * gone, or NOTIFY_SOCKET naming a socket nobody reads.
 */
static void
notify(const char *state, const char *fmt, va_list ap)
{
	static int warned;
	char buf[1024], status[512], *p;
	struct strbuf b;
	int r;

	vsnprintf(status, sizeof(status), fmt, ap);
	for (p = status; (p = strchr(p, '\n')) != NULL; )
		*p = ' ';
	strbuf_init(&b, buf, sizeof(buf));
	strbuf_printf(&b, "%s\nSTATUS=%s", state, status);
	if ((r = sd_notify(0, buf)) < 0 && !warned) {
		warned = 1;
		log_warnx("sd_notify (NOTIFY_SOCKET=%s): %s: systemd will not "
		    "hear from spfpd", getenv("NOTIFY_SOCKET") ?
		    getenv("NOTIFY_SOCKET") : "", strerror(-r));
	}
}

void
sdnotify_ready(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	notify("READY=1", fmt, ap);
	va_end(ap);
}

void
sdnotify_reloading(const char *fmt, ...)
{
	struct timespec ts;
	char state[64];
	va_list ap;

	/* systemd >= 253 (Type=notify-reload) wants the time of the reload */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(state, sizeof(state), "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000ULL);
	va_start(ap, fmt);
	notify(state, fmt, ap);
	va_end(ap);
}

void
sdnotify_stopping(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	notify("STOPPING=1", fmt, ap);
	va_end(ap);
}

/* fd_problem - why fd cannot be a listener, or NULL when it can */
static const char *
fd_problem(int fd)
{
	if (sd_is_socket(fd, AF_UNSPEC, 0, -1) <= 0)
		return "not a socket";
	if (sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, -1) <= 0)
		return "not a stream socket (spfpd needs ListenStream=)";
	if (sd_is_socket_unix(fd, SOCK_STREAM, -1, NULL, 0) <= 0 &&
	    sd_is_socket_inet(fd, AF_UNSPEC, SOCK_STREAM, -1, 0) <= 0)
		return "neither a UNIX nor a TCP socket";
	if (sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) <= 0)
		return "not listening (a connection: Accept=yes is not "
		    "supported, spfpd needs Accept=no)";
	return NULL;
}

int
sdnotify_listen_fds(char ***names)
{
	const char *why;
	int n, i, bad = 0;

	*names = NULL;
	/* LISTEN_* stay in the environment, as NOTIFY_SOCKET does */
	n = sd_listen_fds_with_names(0, names);
	if (n < 0)
		fatalx("sockets passed by systemd (LISTEN_FDS=%s): %s",
		    getenv("LISTEN_FDS") ? getenv("LISTEN_FDS") : "",
		    strerror(-n));
	for (i = 0; i < n; i++) {
		if ((why = fd_problem(SD_LISTEN_FDS_START + i)) == NULL)
			continue;
		log_warnx("socket passed by systemd: descriptor %d (%s): %s",
		    SD_LISTEN_FDS_START + i, *names && (*names)[i] ?
		    (*names)[i] : "unknown", why);
		bad++;
	}
	if (bad)
		fatalx("%d of the %d sockets passed by systemd cannot be "
		    "used: spfpd serves listening UNIX or TCP stream sockets "
		    "only", bad, n);
	if (n == 0) {
		sdnotify_free_names(*names);
		*names = NULL;
	}
	return n;
}

void
sdnotify_free_names(char **names)
{
	char **p;

	if (names == NULL)
		return;
	for (p = names; *p != NULL; p++)
		free(*p);
	free(names);
}
