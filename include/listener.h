/*
 * listener - UNIX and TCP listening sockets.
 *
 * "unix:/path" or "inet:host:port" ("inet:[::1]:10045" for IPv6), parsed
 * by addr_parse_listen (addr.h), as the config checks them.  A stale
 * UNIX socket file (nobody accepts on it) is replaced; one with a live
 * server behind it, or a file that is not a socket, is an error.  The
 * socket file is created with socket_mode and given socket_owner and
 * socket_group without following its name as root after bind() (see
 * listener.c): a socket file replaced meanwhile is an error too.  The
 * listener accepts in a loop and hands each new descriptor to its owner;
 * accept errors such as EMFILE go to the owner too, who decides when to
 * pause and resume (listener_enable).
 *
 * A socket systemd passed (socket activation, sdnotify.h) is adopted as
 * it is: systemd created it, with the owner and mode of its socket unit;
 * spfpd only makes it non-blocking, and on close never removes its file.
 */
#ifndef SPFPD_LISTENER_H
#define SPFPD_LISTENER_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

struct event_base;
struct config;
struct listener;

typedef void listener_accept_fn(int fd, const char *peer, void *arg);
typedef void listener_error_fn(int err, void *arg);

/*
 * listener_open - bind and listen; NULL on error (logged).  With acb
 * NULL the listener only binds and listens: the caller accepts on
 * listener_fd() itself (the metrics endpoint hands it to libevent's
 * evconnlistener); listener_enable() does nothing then, listener_close()
 * still closes the socket and removes its file.
 */
struct listener *listener_open(struct event_base *base, const char *spec,
    const struct config *cfg, listener_accept_fn *acb, listener_error_fn *ecb,
    void *arg);

/*
 * listener_adopt - a listener on fd, a listening stream socket systemd
 * passed (checked by the caller), named name (FileDescriptorName=);
 * NULL on error (logged)
 */
struct listener *listener_adopt(struct event_base *base, int fd,
    const char *name, listener_accept_fn *acb, listener_error_fn *ecb,
    void *arg);

void listener_enable(struct listener *l, int on);
const char *listener_spec(const struct listener *l);
int listener_fd(const struct listener *l);

/*
 * listener_close - stop, close and (UNIX) remove the socket file, if its
 * name still leads to the file this listener created (never a socket
 * systemd passed)
 */
void listener_close(struct listener *l);

#endif
