/*
 * log - Postfix-style logging to syslog or stderr.  See log.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static int log_stderr = 1;
static int log_debug_on;

void
log_init(int to_stderr, int facility)
{
	log_stderr = to_stderr;
	if (!to_stderr)
		openlog("spfpd", LOG_PID | LOG_NDELAY, facility);
}

void
log_set_debug(int on)
{
	log_debug_on = on;
}

int
log_get_debug(void)
{
	return log_debug_on;
}

static void
log_emit(int prio, const char *prefix, const char *fmt, va_list ap, int err)
{
	char msg[2048];
	int n;

	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		return;
	if (err && (size_t)n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - (size_t)n, ": %s", strerror(err));
	if (log_stderr)
		fprintf(stderr, "spfpd[%ld]: %s%s\n", (long)getpid(), prefix, msg);
	else
		syslog(prio, "%s%s", prefix, msg);
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

	if (!log_debug_on)
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
