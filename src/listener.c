/*
 * listener - UNIX and TCP listening sockets.  See listener.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <stddef.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/sockios.h>

#include <event2/event.h>

#include "addr.h"
#include "config.h"
#include "listener.h"
#include "log.h"
#include "xmalloc.h"

/* from <linux/un.h>, which cannot be included with <sys/un.h> */
#ifndef SIOCUNIXFILE
#define SIOCUNIXFILE (SIOCPROTOPRIVATE + 0)
#endif

struct listener {
	char *spec;
	struct listen_addr la;
	int fd;
	int enabled;
	struct event *ev;
	listener_accept_fn *acb;
	listener_error_fn *ecb;
	void *arg;
	int sock_known;                 /* UNIX: the socket file we created */
	dev_t sock_dev;
	ino_t sock_ino;
	int adopted;                    /* passed by systemd: never unlinked */
};

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

/*
 * The UNIX socket file, and why no name is followed as root after bind().
 *
 * spfpd binds as root, usually in a directory someone else can write:
 * Postfix's private/ belongs to postfix.  That user can rename, replace
 * or unlink any name in it at any moment.  spfpd used to chown() and
 * chmod() the socket by name after bind(): a symlink renamed over the
 * socket in between made root give socket_owner and socket_mode to any
 * file it pointed at (issue 12; a racer with inotify and rename() won
 * most starts, tests/sockrace.py).  Now:
 *
 *   - the mode comes from the umask around bind(): the socket file is
 *     born with socket_mode, there is nothing to chmod by name;
 *   - the owner and group are set through a descriptor of the very file
 *     bind() created: SIOCUNIXFILE on the bound socket opens it (O_PATH)
 *     without any name lookup.  It needs CAP_NET_ADMIN; without it (a
 *     container, or spfpd not started as root) or on a kernel without the
 *     ioctl, the name is opened with O_PATH | O_NOFOLLOW, which opens a
 *     symlink itself instead of following it, and that file must be a
 *     socket with our effective uid and one link.  Nobody else can create
 *     a socket owned by root; one hard-linked here from elsewhere would
 *     have two links (and fs.protected_hardlinks forbids that).  What this
 *     cannot tell from ours is another root-owned socket renamed here from
 *     a directory the same user can write on the same filesystem: it would
 *     get socket_owner.  SIOCUNIXFILE excludes even that;
 *   - either way the name must still lead to that file (lstat, which
 *     does not follow a last symlink): if it does not, someone replaced
 *     our socket; the listener fails ("the socket file was replaced after
 *     bind") and spfpd does not start;
 *   - then fchownat(fd, "", AT_EMPTY_PATH) changes that file and no other.
 *     When the directory has a default ACL the kernel masks the mode with
 *     it; the mode is then set through /proc/self/fd, which also leads to
 *     that file and no other, whatever happens to the name meanwhile.
 *
 * Why not create the socket as socket_owner (setfsuid around bind(), as
 * Postfix's master does for its own sockets)?  That would need the
 * directory to be writable by socket_owner, which a socket in a root-owned
 * directory (e.g. /run/spfpd) with socket_owner = postfix is not.
 *
 * The other path operations, and why each is safe as root:
 *   - unix_prepare(): lstat() does not follow a last symlink; connect()
 *     does, but a connect that sends nothing and is closed at once harms
 *     nothing (at worst it finds a live server elsewhere and spfpd
 *     declines to start, a denial the directory's owner can cause anyway
 *     with any file that is not a socket);
 *     unlink() never follows a symlink: it removes a name in a directory
 *     its owner could empty anyway.
 *   - bind() does not follow a last symlink either (EADDRINUSE).
 *   - unix_unlink_ours() (failure and listener_close()): unlink() as
 *     above, and only when lstat() says the name still is our socket, so
 *     that a file someone else put there, or another daemon's socket, is
 *     not removed in the normal case.  The window between the two only
 *     lets the directory's owner have us remove a name they could remove
 *     themselves.
 * The directories above the last component are the administrator's (the
 * configured path), followed as before.
 */

/* unix_ids - socket_owner and socket_group as ids; -1 (logged) if unknown */
static int
unix_ids(const struct config *cfg, uid_t *uid, gid_t *gid)
{
	struct passwd *pw;
	struct group *gr;

	*uid = (uid_t)-1;
	*gid = (gid_t)-1;
	if (*cfg->socket_owner) {
		if ((pw = getpwnam(cfg->socket_owner)) == NULL) {
			log_warnx("socket_owner: unknown user '%s'",
			    cfg->socket_owner);
			return -1;
		}
		*uid = pw->pw_uid;
	}
	if (*cfg->socket_group) {
		if ((gr = getgrnam(cfg->socket_group)) == NULL) {
			log_warnx("socket_group: unknown group '%s'",
			    cfg->socket_group);
			return -1;
		}
		*gid = gr->gr_gid;
	}
	return 0;
}

/* unix_prepare - remove a stale socket file; -1 when one is alive */
static int
unix_prepare(const char *path)
{
	struct sockaddr_un sun;
	struct stat st;
	int fd, r;

	/* lstat: a symlink here is "not a socket", never followed */
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
	/* follows a symlink swapped in since lstat: harmless, see above */
	r = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	close(fd);
	if (r == 0) {
		log_warnx("%s: another server is listening on this socket",
		    path);
		return -1;
	}
	/* unlink removes the name, never what a symlink points to */
	if (unlink(path) < 0 && errno != ENOENT) {
		log_warn("unlink stale socket %s", path);
		return -1;
	}
	log_info("removed stale socket %s", path);
	return 0;
}

/*
 * unix_own - give the socket file bound on l->fd its owner, group and
 * mode, through a descriptor of that file (see above); note its identity
 * in l for unix_unlink_ours().  -1 (logged) when the file cannot be known
 * to be ours or cannot be changed.
 */
static int
unix_own(struct listener *l, mode_t mode, uid_t uid, gid_t gid)
{
	const char *path = l->la.path;
	int chown_it = uid != (uid_t)-1 || gid != (gid_t)-1;
	struct stat st, now;
	char proc[32];
	int fd, byname = 0, ours;

	if ((fd = ioctl(l->fd, SIOCUNIXFILE, 0)) < 0) {
		log_debug("unix:%s: SIOCUNIXFILE: %s: opening the socket "
		    "file by name", path, strerror(errno));
		byname = 1;
		fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && errno != ENOENT) {
			log_warn("unix:%s: open", path);
			return -1;
		}
	}
	if (fd < 0 || fstat(fd, &st) < 0) {
		ours = 0;               /* the name is gone since bind() */
	} else {
		/* by name: a socket only we can have made (see above) */
		ours = S_ISSOCK(st.st_mode) && (!byname ||
		    (st.st_uid == geteuid() && st.st_nlink == 1));
		/* and, either way, the one the name leads to now */
		if (ours)
			ours = lstat(path, &now) == 0 &&
			    now.st_dev == st.st_dev && now.st_ino == st.st_ino;
	}
	if (!ours) {
		log_warnx("unix:%s: the socket file was replaced after bind: "
		    "refusing to %s it", path, chown_it ? "chown" : "use");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	l->sock_dev = st.st_dev;
	l->sock_ino = st.st_ino;
	l->sock_known = 1;
	if (chown_it && fchownat(fd, "", uid, gid, AT_EMPTY_PATH) < 0) {
		log_warn("chown %s", path);
		close(fd);
		return -1;
	}
	if ((st.st_mode & 07777) != mode) {
		/* a default ACL of the directory masked what the umask gave */
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		if (chmod(proc, mode) < 0) {
			log_warn("chmod %s (mode %04o, wanted %04o, through %s)",
			    path, (unsigned)(st.st_mode & 07777),
			    (unsigned)mode, proc);
			close(fd);
			return -1;
		}
	}
	close(fd);
	return 0;
}

/* unix_unlink_ours - remove the socket file if the name still is ours */
static void
unix_unlink_ours(const struct listener *l)
{
	struct stat st;

	if (l->sock_known && lstat(l->la.path, &st) == 0 &&
	    st.st_dev == l->sock_dev && st.st_ino == l->sock_ino)
		unlink(l->la.path);
}

/*
 * listener_bind - the socket of l, bound: a UNIX socket's file born with
 * socket_mode and given its owner (see above).  -1 (logged) on failure,
 * *made: a socket file of ours exists.
 */
static int
listener_bind(struct listener *l, const struct config *cfg, int *made)
{
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;
	int one = 1, r, saved, is_unix = l->la.family == AF_UNIX;
	mode_t mask = 0;

	*made = 0;
	if (is_unix) {
		struct sockaddr_un *sun = (struct sockaddr_un *)&l->la.ss;

		/* names to ids before the socket exists: a shorter window */
		if (unix_ids(cfg, &uid, &gid) < 0 ||
		    unix_prepare(l->la.path) < 0)
			return -1;
		sun->sun_family = AF_UNIX;
		strcpy(sun->sun_path, l->la.path);
		l->la.sslen = sizeof(*sun);
	}
	l->fd = socket(l->la.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (l->fd < 0) {
		log_warn("%s: socket", l->spec);
		return -1;
	}
	if (!is_unix)
		setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (l->la.family == AF_INET6)
		setsockopt(l->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	/* born with socket_mode: no chmod by name (see above) */
	if (is_unix)
		mask = umask(~(mode_t)cfg->socket_mode & 0777);
	r = bind(l->fd, (struct sockaddr *)&l->la.ss, l->la.sslen);
	saved = errno;
	if (is_unix)
		umask(mask);
	errno = saved;
	if (r < 0) {
		log_warn("%s: bind", l->spec);
		return -1;
	}
	*made = is_unix;
	return is_unix ? unix_own(l, (mode_t)cfg->socket_mode, uid, gid) : 0;
}

struct listener *
listener_open(struct event_base *base, const char *spec,
    const struct config *cfg, listener_accept_fn *acb, listener_error_fn *ecb,
    void *arg)
{
	struct listener *l;
	char err[256];
	int made = 0;

	l = xcalloc(1, sizeof(*l));
	l->spec = xstrdup(spec);
	l->fd = -1;
	l->acb = acb;
	l->ecb = ecb;
	l->arg = arg;
	if (addr_parse_listen(spec, &l->la, err, sizeof(err)) < 0) {
		log_warnx("%s", err);
		goto fail;
	}
	if (listener_bind(l, cfg, &made) < 0)
		goto fail;
	if (listen(l->fd, SOMAXCONN) < 0) {
		log_warn("%s: listen", spec);
		goto fail;
	}
	if (acb == NULL)
		return l;       /* the caller accepts */
	if ((l->ev = event_new(base, l->fd, EV_READ | EV_PERSIST,
	    listener_accept, l)) == NULL)
		fatalx("%s: out of memory (event)", spec);
	listener_enable(l, 1);
	return l;
fail:
	if (made)
		unix_unlink_ours(l);
	if (l->fd >= 0)
		close(l->fd);
	free(l->spec);
	free(l);
	return NULL;
}

/*
 * adopted_spec - "unix:/path" or "inet:addr:port" of a socket systemd
 * passed, as a listen spec reads (an abstract UNIX name as "unix:@name")
 */
static void
adopted_spec(int fd, char *buf, size_t bufsz)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char a[INET6_ADDRSTRLEN];

	memset(&ss, 0, sizeof(ss));
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
		snprintf(buf, bufsz, "descriptor %d", fd);
	} else if (ss.ss_family == AF_UNIX) {
		const struct sockaddr_un *sun = (const void *)&ss;
		size_t n = sl > offsetof(struct sockaddr_un, sun_path) ?
		    sl - offsetof(struct sockaddr_un, sun_path) : 0;

		if (n == 0)
			snprintf(buf, bufsz, "unix:(unnamed)");
		else if (sun->sun_path[0] == '\0')
			snprintf(buf, bufsz, "unix:@%.*s", (int)(n - 1),
			    sun->sun_path + 1);
		else
			snprintf(buf, bufsz, "unix:%.*s", (int)strnlen(
			    sun->sun_path, n), sun->sun_path);
	} else if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)&ss;
		inet_ntop(AF_INET, &s->sin_addr, a, sizeof(a));
		snprintf(buf, bufsz, "inet:%s:%u", a, ntohs(s->sin_port));
	} else if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)&ss;
		inet_ntop(AF_INET6, &s->sin6_addr, a, sizeof(a));
		snprintf(buf, bufsz, "inet:[%s]:%u", a, ntohs(s->sin6_port));
	} else {
		snprintf(buf, bufsz, "descriptor %d (family %d)", fd,
		    (int)ss.ss_family);
	}
}

struct listener *
listener_adopt(struct event_base *base, int fd, const char *name,
    listener_accept_fn *acb, listener_error_fn *ecb, void *arg)
{
	struct listener *l;
	char spec[sizeof(struct sockaddr_un) + 64], full[sizeof(spec) + 128];
	int fl;

	/* systemd passes them blocking unless NonBlocking=yes */
	if ((fl = fcntl(fd, F_GETFL)) < 0 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
		log_warn("socket passed by systemd: descriptor %d: fcntl", fd);
		return NULL;
	}
	adopted_spec(fd, spec, sizeof(spec));
	snprintf(full, sizeof(full), "%s (from systemd: descriptor %d, "
	    "name %s)", spec, fd, name ? name : "unknown");
	l = xcalloc(1, sizeof(*l));
	l->spec = xstrdup(full);
	l->fd = fd;
	l->acb = acb;
	l->ecb = ecb;
	l->arg = arg;
	l->adopted = 1;
	if ((l->ev = event_new(base, l->fd, EV_READ | EV_PERSIST,
	    listener_accept, l)) == NULL)
		fatalx("%s: out of memory (event)", full);
	listener_enable(l, 1);
	return l;
}

void
listener_enable(struct listener *l, int on)
{
	if (on == l->enabled || l->ev == NULL)
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

int
listener_fd(const struct listener *l)
{
	return l->fd;
}

void
listener_close(struct listener *l)
{
	if (l == NULL)
		return;
	listener_enable(l, 0);
	if (l->ev != NULL)
		event_free(l->ev);
	close(l->fd);
	/* a socket systemd passed is systemd's: its file stays */
	if (l->la.family == AF_UNIX && !l->adopted)
		unix_unlink_ours(l);
	free(l->spec);
	free(l);
}
