/*
 * log - Postfix-style logging to syslog (facility mail) or stderr.
 *
 * log_warn() appends strerror(errno); log_warnx() does not.  Warnings are
 * prefixed "warning: ", fatal messages "fatal: " as Postfix does, so an
 * administrator's existing maillog greps keep working.  Text that comes from
 * the network must go through log_escape() before it is logged.
 *
 * Syslog is written by our own non-blocking client (see log.c): the event
 * loop never waits for a syslogd; lines that find the queue full are
 * counted and the count is logged when the socket drains.
 */
#ifndef SPFPD_LOG_H
#define SPFPD_LOG_H

#include <stddef.h>

#define LOG_PRINTF(a, b) __attribute__((format(printf, a, b)))

struct event_base;

void log_init(int to_stderr, int facility);
/* syslog socket (NULL or "": /dev/log) and facility; at start and reload */
int log_set_syslog(const char *path, int facility);
/* batch lines per pass of this loop / send at once again (before freeing it) */
void log_attach(struct event_base *base);
void log_detach(void);
void log_set_debug(int on);
/* libevent's warnings and fatal errors go to our log, never to stderr */
void log_capture_libevent(void);

void log_warn(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_warnx(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_info(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_debug(const char *fmt, ...) LOG_PRINTF(1, 2);
void fatal(const char *fmt, ...) LOG_PRINTF(1, 2) __attribute__((noreturn));
void fatalx(const char *fmt, ...) LOG_PRINTF(1, 2) __attribute__((noreturn));

/* log_lost_total - lines lost to a full syslog socket since the start */
unsigned long log_lost_total(void);

/* warnings that may repeat in a tight loop (EMFILE, max_connections) */
void log_warnx_ratelimited(unsigned *last, const char *fmt, ...) LOG_PRINTF(2, 3);

/*
 * log_escape - copy untrusted text into out (size outsz) for logging:
 * at most maxchars input bytes, non-printable bytes and backslash as \xHH,
 * "..." appended when cut.  Returns out.  A NULL input gives "".
 */
char *log_escape(char *out, size_t outsz, const char *in, size_t maxchars);

#define LOG_ESC_MAX 100                      /* input bytes, like %.100s */
#define LOG_ESC_SIZE (LOG_ESC_MAX * 4 + 4)   /* worst case output */

#endif
