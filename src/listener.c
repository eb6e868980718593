/*
 * listener - UNIX and TCP listening sockets.  See listener.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "config.h"
#include "listener.h"
#include "log.h"

struct listener {
	char *spec;
	struct listen_addr la;
	int fd;
	int enabled;
	struct event *ev;
	listener_accept_fn *acb;
	listener_error_fn *ecb;
	void *arg;
};

int
listener_parse(const char *spec, struct listen_addr *la, char *err,
    size_t errsz)
{
	char host[256];
	const char *p, *colon;
	unsigned long port;
	char *end;
	struct sockaddr_in *sin = (struct sockaddr_in *)&la->ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&la->ss;
	size_t hl;

	memset(la, 0, sizeof(*la));
	if (strncmp(spec, "unix:", 5) == 0) {
		p = spec + 5;
		if (*p != '/') {
			snprintf(err, errsz, "listen: '%.100s': UNIX socket "
			    "path must be absolute", spec);
			return -1;
		}
		if (strlen(p) >= sizeof(la->path)) {
			snprintf(err, errsz, "listen: '%.100s': path too long",
			    spec);
			return -1;
		}
		la->family = AF_UNIX;
		strcpy(la->path, p);
		return 0;
	}
	if (strncmp(spec, "inet:", 5) != 0) {
		snprintf(err, errsz, "listen: '%.100s': expected "
		    "unix:/path or inet:address:port", spec);
		return -1;
	}
	p = spec + 5;
	if (*p == '[') {
		const char *rb = strchr(p, ']');

		if (rb == NULL || rb[1] != ':') {
			snprintf(err, errsz, "listen: '%.100s': expected "
			    "inet:[IPv6]:port", spec);
			return -1;
		}
		hl = (size_t)(rb - p - 1);
		p++;
		colon = rb + 1;
	} else {
		colon = strrchr(p, ':');
		if (colon == NULL) {
			snprintf(err, errsz, "listen: '%.100s': missing port",
			    spec);
			return -1;
		}
		hl = (size_t)(colon - p);
	}
	if (hl >= sizeof(host)) {
		snprintf(err, errsz, "listen: '%.100s': bad address", spec);
		return -1;
	}
	memcpy(host, p, hl);
	host[hl] = '\0';
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (colon[1] < '0' || colon[1] > '9' || *end != '\0' || errno ||
	    port == 0 || port > 65535) {
		snprintf(err, errsz, "listen: '%.100s': bad port", spec);
		return -1;
	}
	if (strcmp(host, "localhost") == 0)
		strcpy(host, "127.0.0.1");
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		la->family = AF_INET;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((unsigned short)port);
		la->sslen = sizeof(*sin);
	} else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		la->family = AF_INET6;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((unsigned short)port);
		la->sslen = sizeof(*sin6);
	} else {
		/* numeric only: resolving names here would block and lie */
		snprintf(err, errsz, "listen: '%.100s': address must be "
		    "numeric", spec);
		return -1;
	}
	return 0;
}

static void
peer_name(const struct sockaddr_storage *ss, char *buf, size_t bufsz)
{
	char a[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)ss;
		inet_ntop(AF_INET, &s->sin_addr, a, sizeof(a));
		snprintf(buf, bufsz, "%s:%u", a, ntohs(s->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)ss;
		inet_ntop(AF_INET6, &s->sin6_addr, a, sizeof(a));
		snprintf(buf, bufsz, "[%s]:%u", a, ntohs(s->sin6_port));
	} else {
		snprintf(buf, bufsz, "unix");
	}
}

static void
listener_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct listener *l = arg;
	struct sockaddr_storage ss;
	socklen_t sl;
	char peer[INET6_ADDRSTRLEN + 16];
	int fd, n;

	(void)lfd;
	(void)what;
	/* a bounded batch per wakeup keeps one busy listener fair */
	for (n = 0; n < 64 && l->enabled; n++) {
		sl = sizeof(ss);
		fd = accept4(l->fd, (struct sockaddr *)&ss, &sl,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				l->ecb(errno, l->arg);
			return;
		}
		peer_name(&ss, peer, sizeof(peer));
		l->acb(fd, peer, l->arg);
	}
}

/* unix_prepare - remove a stale socket file; -1 when one is alive */
static int
unix_prepare(const char *path)
{
	struct sockaddr_un sun;
	struct stat st;
	int fd, r;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : (log_warn("stat %s", path), -1);
	if (!S_ISSOCK(st.st_mode)) {
		log_warnx("%s exists and is not a socket", path);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		log_warn("socket");
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	r = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	close(fd);
	if (r == 0) {
		log_warnx("%s: another server is listening on this socket",
		    path);
		return -1;
	}
	if (unlink(path) < 0 && errno != ENOENT) {
		log_warn("unlink stale socket %s", path);
		return -1;
	}
	log_info("removed stale socket %s", path);
	return 0;
}

static int
unix_set_owner(const char *path, const struct config *cfg)
{
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;
	struct passwd *pw;
	struct group *gr;

	if (*cfg->socket_owner) {
		if ((pw = getpwnam(cfg->socket_owner)) == NULL) {
			log_warnx("socket_owner: unknown user '%s'",
			    cfg->socket_owner);
			return -1;
		}
		uid = pw->pw_uid;
	}
	if (*cfg->socket_group) {
		if ((gr = getgrnam(cfg->socket_group)) == NULL) {
			log_warnx("socket_group: unknown group '%s'",
			    cfg->socket_group);
			return -1;
		}
		gid = gr->gr_gid;
	}
	if ((uid != (uid_t)-1 || gid != (gid_t)-1) &&
	    chown(path, uid, gid) < 0) {
		log_warn("chown %s", path);
		return -1;
	}
	if (chmod(path, (mode_t)cfg->socket_mode) < 0) {
		log_warn("chmod %s", path);
		return -1;
	}
	return 0;
}

struct listener *
listener_open(struct event_base *base, const char *spec,
    const struct config *cfg, listener_accept_fn *acb, listener_error_fn *ecb,
    void *arg)
{
	struct listener *l;
	char err[256];
	int one = 1;

	if ((l = calloc(1, sizeof(*l))) == NULL ||
	    (l->spec = strdup(spec)) == NULL) {
		log_warnx("out of memory");
		free(l);
		return NULL;
	}
	l->fd = -1;
	l->acb = acb;
	l->ecb = ecb;
	l->arg = arg;
	if (listener_parse(spec, &l->la, err, sizeof(err)) < 0) {
		log_warnx("%s", err);
		goto fail;
	}
	if (l->la.family == AF_UNIX) {
		struct sockaddr_un *sun = (struct sockaddr_un *)&l->la.ss;

		if (unix_prepare(l->la.path) < 0)
			goto fail;
		sun->sun_family = AF_UNIX;
		strcpy(sun->sun_path, l->la.path);
		l->la.sslen = sizeof(*sun);
	}
	l->fd = socket(l->la.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (l->fd < 0) {
		log_warn("%s: socket", spec);
		goto fail;
	}
	if (l->la.family != AF_UNIX)
		setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (l->la.family == AF_INET6)
		setsockopt(l->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(l->fd, (struct sockaddr *)&l->la.ss, l->la.sslen) < 0) {
		log_warn("%s: bind", spec);
		goto fail;
	}
	if (l->la.family == AF_UNIX && unix_set_owner(l->la.path, cfg) < 0) {
		unlink(l->la.path);
		goto fail;
	}
	if (listen(l->fd, SOMAXCONN) < 0) {
		log_warn("%s: listen", spec);
		goto fail_unlink;
	}
	l->ev = event_new(base, l->fd, EV_READ | EV_PERSIST, listener_accept,
	    l);
	if (l->ev == NULL) {
		log_warnx("%s: event_new failed", spec);
		goto fail_unlink;
	}
	listener_enable(l, 1);
	return l;
fail_unlink:
	if (l->la.family == AF_UNIX)
		unlink(l->la.path);
fail:
	if (l->fd >= 0)
		close(l->fd);
	free(l->spec);
	free(l);
	return NULL;
}

void
listener_enable(struct listener *l, int on)
{
	if (on == l->enabled)
		return;
	l->enabled = on;
	if (on)
		event_add(l->ev, NULL);
	else
		event_del(l->ev);
}

const char *
listener_spec(const struct listener *l)
{
	return l->spec;
}

void
listener_close(struct listener *l)
{
	if (l == NULL)
		return;
	listener_enable(l, 0);
	event_free(l->ev);
	close(l->fd);
	if (l->la.family == AF_UNIX)
		unlink(l->la.path);
	free(l->spec);
	free(l);
}
