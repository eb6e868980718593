/*
 * sdnotify - systemd integration, through libsystemd: readiness
 * notification (sd_notify) and socket activation (sd_listen_fds).
 *
 * The notifications do nothing without NOTIFY_SOCKET (not started by
 * systemd with Type=notify).  Each is one datagram to systemd: nothing
 * here waits on the event loop's behalf.  NOTIFY_SOCKET stays in the
 * environment, so that every later notification reaches systemd too
 * (spfpd starts no other program).
 *
 * Socket activation: the sockets systemd passes (LISTEN_FDS, LISTEN_PID,
 * from descriptor 3 on) must all be listening UNIX or TCP stream sockets,
 * as ListenStream= of a socket unit with Accept=no creates them; anything
 * else is refused with a fatal error that names the descriptor.
 */
#ifndef SPFPD_SDNOTIFY_H
#define SPFPD_SDNOTIFY_H

#include "log.h"

/* READY=1 and STATUS=<fmt>: at start once listening, after a reload */
void sdnotify_ready(const char *fmt, ...) LOG_PRINTF(1, 2);
/* RELOADING=1, MONOTONIC_USEC=<now> and STATUS=<fmt>: a reload begins */
void sdnotify_reloading(const char *fmt, ...) LOG_PRINTF(1, 2);
/* STOPPING=1 and STATUS=<fmt>: shutdown begins */
void sdnotify_stopping(const char *fmt, ...) LOG_PRINTF(1, 2);

/*
 * sdnotify_listen_fds - the number of sockets systemd passed us (0: none,
 * or not for this process), descriptors SDNOTIFY_FDS_START on, every one
 * checked (fatal when one is not a listening UNIX or TCP stream socket);
 * *names gets their names (FileDescriptorName=, "unknown" when not
 * given), to be freed with sdnotify_free_names(), or NULL when there are
 * none.
 */
#define SDNOTIFY_FDS_START 3
int sdnotify_listen_fds(char ***names);
void sdnotify_free_names(char **names);

#endif
