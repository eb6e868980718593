/*
 * server - the process: event loop, listeners, sessions, signals.
 * See server.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <unistd.h>

#include <event2/event.h>

#include "config.h"
#include "dns.h"
#include "listener.h"
#include "log.h"
#include "metrics.h"
#include "metrics_http.h"
#include "sdnotify.h"
#include "server.h"
#include "session.h"
#include "spf.h"
#include "strbuf.h"
#include "xmalloc.h"

/* one node per live session, so that shutdown can reach them all */
struct conn {
	struct session *s;
	LIST_ENTRY(conn) entry;
};

static struct {
	struct event_base *base;
	struct config *cfg;
	const struct server_opts *opts;
	struct listener **listeners;
	size_t nlisteners;
	LIST_HEAD(, conn) conns;
	unsigned nconns;
	int accepting;          /* listeners enabled now */
	int fd_starved;         /* EMFILE seen: wait for the retry timer */
	int stopping;
	int stdio;
	int activated;          /* the listeners are sockets systemd passed */
	int failed;             /* --stdio: the session ended on an error */
	int fl[2], keep[2];     /* --stdio: flags of 0 and 1, copies of them */
	struct event *sigs[4];
	struct event *retry_timer, *stop_timer;
	unsigned warn_emfile, warn_maxconn;
} srv;

/* server_update_accepting - enable or pause every listener as limits say */
static void
server_update_accepting(void)
{
	int want = !srv.stopping && !srv.fd_starved &&
	    srv.nconns < srv.cfg->max_connections;
	size_t i;

	if (!want && !srv.stopping && !srv.fd_starved &&
	    srv.accepting && srv.nlisteners)
		log_warnx_ratelimited(&srv.warn_maxconn, "max_connections "
		    "(%u) reached: not accepting until a connection closes",
		    srv.cfg->max_connections);
	if (want == srv.accepting)
		return;
	if (!want && !srv.stopping)
		metrics_accept_paused();
	srv.accepting = want;
	for (i = 0; i < srv.nlisteners; i++)
		listener_enable(srv.listeners[i], want);
}

static void
conn_gone(struct session *s, const char *why, int failed, void *arg)
{
	struct conn *c = arg;

	(void)s;
	if (srv.stdio && failed) {
		/* exit 1, and say why: a batch run must not fail silently */
		log_warnx("stdin/stdout: %s", why);
		srv.failed = 1;
	}
	LIST_REMOVE(c, entry);
	free(c);
	srv.nconns--;
	metrics_conn_closed();
	if (srv.stdio || (srv.stopping && srv.nconns == 0)) {
		event_base_loopexit(srv.base, NULL);
		return;
	}
	srv.fd_starved = 0;     /* a descriptor was just freed */
	server_update_accepting();
}

static void
conn_add(int rfd, int wfd, const char *peer)
{
	struct conn *c;

	c = xcalloc(1, sizeof(*c));
	c->s = session_new(srv.base, rfd, wfd, peer, &srv.cfg, conn_gone, c);
	LIST_INSERT_HEAD(&srv.conns, c, entry);
	srv.nconns++;
	metrics_conn_opened();
}

static void
on_accept(int fd, const char *peer, void *arg)
{
	(void)arg;
	conn_add(fd, fd, peer);
	server_update_accepting();
}

static void
retry_accept(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	srv.fd_starved = 0;
	server_update_accepting();
}

static void
on_accept_error(int err, void *arg)
{
	struct timeval tv = { 1, 0 };

	(void)arg;
	if (err == EMFILE || err == ENFILE || err == ENOBUFS ||
	    err == ENOMEM) {
		/* stop accepting for a second or until a session frees */
		log_warnx_ratelimited(&srv.warn_emfile, "accept: %s (%u "
		    "connections open): pausing accept", strerror(err),
		    srv.nconns);
		srv.fd_starved = 1;
		server_update_accepting();
		evtimer_add(srv.retry_timer, &tv);
		return;
	}
	log_warnx("accept: %s", strerror(err));
}

static void
stop_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	log_warnx("shutdown_timeout reached with %u connections busy: "
	    "exiting", srv.nconns);
	event_base_loopexit(srv.base, NULL);
}

static void
server_stop(void)
{
	struct conn *c, *next;
	struct timeval tv;
	size_t i;

	if (srv.stopping)
		return;
	srv.stopping = 1;
	log_info("stopping: %u connections open", srv.nconns);
	if (!srv.stdio)
		sdnotify_stopping("stopping: %u connections open", srv.nconns);
	for (i = 0; i < srv.nlisteners; i++)
		listener_close(srv.listeners[i]);
	srv.nlisteners = 0;
	if (srv.nconns == 0) {
		event_base_loopexit(srv.base, NULL);
		return;
	}
	tv.tv_sec = srv.cfg->shutdown_timeout / 1000;
	tv.tv_usec = (srv.cfg->shutdown_timeout % 1000) * 1000;
	evtimer_add(srv.stop_timer, &tv);
	for (c = LIST_FIRST(&srv.conns); c != NULL; c = next) {
		next = LIST_NEXT(c, entry);
		session_drain(c->s);    /* may free c */
	}
}

static void
apply_cli_listen(struct config *cfg)
{
	char err[256], *joined;
	size_t len = 1;
	int i;

	if (srv.opts->nlisten == 0)
		return;
	for (i = 0; i < srv.opts->nlisten; i++)
		len += strlen(srv.opts->listen[i]) + 1;
	joined = xcalloc(1, len);
	for (i = 0; i < srv.opts->nlisten; i++) {
		strcat(joined, srv.opts->listen[i]);
		strcat(joined, " ");
	}
	if (config_set(cfg, "listen", joined, err, sizeof(err)) < 0)
		fatalx("-l: %s", err);
	free(joined);
}

static void raise_nofile(unsigned want);

static void
reload_error(void *arg, const char *msg)
{
	(void)arg;
	log_warnx("%s", msg);
}

static int
same_listen(const struct config *a, const struct config *b)
{
	size_t i;

	if (a->listen.n != b->listen.n)
		return 0;
	for (i = 0; i < a->listen.n; i++)
		if (strcmp(a->listen.v[i], b->listen.v[i]) != 0)
			return 0;
	return 1;
}

/* server_reload - the config file again; -1 when it has errors (kept) */
static int
server_reload(void)
{
	struct config *nc;
	char *keep;

	nc = config_load(srv.opts->config_path, srv.opts->config_must_exist,
	    reload_error, NULL);
	if (nc == NULL) {
		log_warnx("reload: errors in %s: keeping the running "
		    "configuration", srv.opts->config_path ?
		    srv.opts->config_path : "(defaults)");
		metrics_reload(0);
		return -1;
	}
	apply_cli_listen(nc);
	/* with sockets from systemd, listen is not used at all */
	if (!srv.stdio && !srv.activated && !same_listen(nc, srv.cfg))
		log_warnx("reload: listen changed: the new addresses take "
		    "effect at the next start");
	if (!srv.stdio && strcmp(nc->metrics_listen, srv.cfg->metrics_listen))
		log_warnx("reload: metrics_listen changed: the new address "
		    "takes effect at the next start");
	if (log_set_syslog(nc->syslog_socket, nc->syslog_facility) < 0)
		log_warnx("reload: syslog_socket %s: path too long",
		    nc->syslog_socket);
	log_set_debug(nc->debug);
	if (!srv.stdio)
		raise_nofile(nc->max_connections + 64);
	dns_reconfigure(nc);
	if (spf_configure(nc) < 0) {
		log_warnx("reload: default_explanation refused: keeping the "
		    "running one");
		(void)spf_configure(srv.cfg);
	}
	/* the endpoint serves what it was started with (a restart) */
	keep = xstrdup(srv.cfg->metrics_listen);
	free(nc->metrics_listen);
	nc->metrics_listen = keep;
	config_unref(srv.cfg);
	srv.cfg = nc;
	log_info("reloaded configuration from %s", srv.opts->config_path ?
	    srv.opts->config_path : "(defaults)");
	metrics_reload(1);
	server_update_accepting();
	return 0;
}

/*
 * on_hup - reload, between RELOADING=1 and READY=1 to systemd: READY=1
 * after a failed reload too, since the running configuration stays and
 * spfpd still serves (the STATUS says the reload failed)
 */
static void
on_hup(void)
{
	const char *path = srv.opts->config_path ? srv.opts->config_path :
	    "(defaults)";

	if (srv.stdio) {
		(void)server_reload();
		return;
	}
	sdnotify_reloading("reloading the configuration from %s", path);
	if (server_reload() < 0)
		sdnotify_ready("reload failed: errors in %s: running the "
		    "previous configuration", path);
	else
		sdnotify_ready("reloaded the configuration from %s", path);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	(void)arg;
	if (sig == SIGHUP) {
		if (!srv.stopping)
			on_hup();
		return;
	}
	server_stop();
}

static void
drop_privileges(const struct config *cfg)
{
	struct passwd *pw;
	struct group *gr;
	gid_t gid;

	if (geteuid() != 0 || *cfg->user == '\0')
		return;
	if ((pw = getpwnam(cfg->user)) == NULL)
		fatalx("user: unknown user '%s'", cfg->user);
	gid = pw->pw_gid;
	if (*cfg->group) {
		if ((gr = getgrnam(cfg->group)) == NULL)
			fatalx("group: unknown group '%s'", cfg->group);
		gid = gr->gr_gid;
	}
	if (setgroups(1, &gid) < 0 || setgid(gid) < 0 ||
	    setuid(pw->pw_uid) < 0)
		fatal("cannot drop privileges to %s", cfg->user);
	if (setuid(0) == 0)
		fatalx("privileges were not dropped");
	log_debug("running as user %s", cfg->user);
}

/* raise_nofile - room for max_connections plus our own descriptors */
static void
raise_nofile(unsigned want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ?
	    want : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur < want)
		log_warnx("open file limit is %lu: fewer than max_connections "
		    "(%u) connections can be served", (unsigned long)rl.rlim_cur,
		    want - 64);
}

/* server_setup - the loop, the resolver, timers and signals */
static void
server_setup(struct config *cfg, const struct server_opts *opts)
{
	int signums[4] = { SIGTERM, SIGINT, SIGHUP, 0 };
	size_t i;

	memset(&srv, 0, sizeof(srv));
	LIST_INIT(&srv.conns);
	srv.cfg = cfg;
	srv.opts = opts;
	srv.stdio = opts->stdio;
	srv.keep[0] = srv.keep[1] = -1;
	apply_cli_listen(cfg);
	signal(SIGPIPE, SIG_IGN);
	log_capture_libevent();
	if ((srv.base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	log_attach(srv.base);
	if (dns_init(srv.base, cfg) < 0 || spf_init(srv.base, cfg) < 0)
		fatalx("cannot set up the DNS resolver");
	srv.retry_timer = evtimer_new(srv.base, retry_accept, NULL);
	srv.stop_timer = evtimer_new(srv.base, stop_timeout, NULL);
	for (i = 0; signums[i]; i++) {
		srv.sigs[i] = evsignal_new(srv.base, signums[i], on_signal,
		    NULL);
		event_add(srv.sigs[i], NULL);
	}
}

/*
 * stdio_start - one session on stdin and stdout, non-blocking.  The flags
 * belong to the open file (a terminal or a pipe may be shared with the
 * shell that started us): copies of 0 and 1 keep it until stdio_end()
 * puts them back, after the session has closed 0 and 1.
 */
static void
stdio_start(const struct config *cfg)
{
	int i;

	for (i = 0; i < 2; i++)
		if ((srv.fl[i] = fcntl(i, F_GETFL)) < 0 ||
		    (srv.keep[i] = fcntl(i, F_DUPFD_CLOEXEC, 3)) < 0 ||
		    fcntl(i, F_SETFL, srv.fl[i] | O_NONBLOCK) < 0)
			fatal("stdin/stdout: fcntl");
	drop_privileges(cfg);
	conn_add(0, 1, "stdio");
}

static void
stdio_end(void)
{
	int i;

	for (i = 0; i < 2; i++) {
		if (srv.keep[i] < 0)
			continue;
		(void)fcntl(srv.keep[i], F_SETFL, srv.fl[i]);
		close(srv.keep[i]);
	}
}

/* bind_listeners - a listener on each listen address of cfg */
static void
bind_listeners(const struct config *cfg)
{
	size_t i, j;

	if (cfg->listen.n == 0)
		fatalx("nothing to listen on: set listen = in %s or use -l "
		    "(or --stdio for Postfix spawn, or a systemd socket unit)",
		    srv.opts->config_path ? srv.opts->config_path :
		    "the config file");
	srv.listeners = xcalloc(cfg->listen.n, sizeof(*srv.listeners));
	for (i = 0; i < cfg->listen.n; i++) {
		srv.listeners[i] = listener_open(srv.base, cfg->listen.v[i],
		    cfg, on_accept, on_accept_error, NULL);
		if (srv.listeners[i] == NULL) {
			for (j = i; j-- > 0; )
				listener_close(srv.listeners[j]);
			fatalx("cannot listen on %s", cfg->listen.v[i]);
		}
		srv.nlisteners++;
	}
}

/*
 * adopt_listeners - a listener on each of the n sockets systemd passed
 * (socket activation): listen = and -l are not used, and the sockets are
 * left as systemd made them (owner, mode, file kept at exit)
 */
static void
adopt_listeners(const struct config *cfg, int n, char **names)
{
	int i;

	if (cfg->listen.n)
		log_info("using the %d socket%s passed by systemd: %s %s%s "
		    "is ignored", n, n == 1 ? "" : "s", srv.opts->nlisten ?
		    "-l" : "listen =", cfg->listen.v[0],
		    cfg->listen.n > 1 ? " ..." : "");
	srv.listeners = xcalloc((size_t)n, sizeof(*srv.listeners));
	for (i = 0; i < n; i++) {
		srv.listeners[i] = listener_adopt(srv.base,
		    SDNOTIFY_FDS_START + i, names ? names[i] : NULL, on_accept,
		    on_accept_error, NULL);
		if (srv.listeners[i] == NULL)
			fatalx("cannot use the socket systemd passed as "
			    "descriptor %d", SDNOTIFY_FDS_START + i);
		srv.nlisteners++;
	}
	srv.activated = 1;
}

/*
 * listen_start - every listener (the sockets systemd passed, else those
 * of listen), then privileges dropped; then ready, and systemd told so
 */
static void
listen_start(const struct config *cfg)
{
	char status[512], **names = NULL;
	struct strbuf b;
	size_t i;
	int n;

	if ((n = sdnotify_listen_fds(&names)) > 0)
		adopt_listeners(cfg, n, names);
	else
		bind_listeners(cfg);
	sdnotify_free_names(names);
	if (metrics_http_start(srv.base, cfg) < 0)
		fatalx("cannot listen on metrics_listen %s",
		    cfg->metrics_listen);
	raise_nofile(cfg->max_connections + 64);
	srv.accepting = 1;
	drop_privileges(cfg);
	strbuf_init(&b, status, sizeof(status));
	for (i = 0; i < srv.nlisteners; i++) {
		log_info("listening on %s", listener_spec(srv.listeners[i]));
		strbuf_printf(&b, "%s%s", i ? ", " : "listening on ",
		    listener_spec(srv.listeners[i]));
	}
	if (metrics_http_spec() != NULL)
		log_info("metrics on %s", metrics_http_spec());
	log_info("started, version %s", SPFPD_VERSION);
	sdnotify_ready("%s", status);
}

/* server_teardown - close everything; the cache statistics */
static void
server_teardown(void)
{
	struct dns_stats st;
	size_t i;

	srv.stopping = 1;
	for (i = 0; i < srv.nlisteners; i++)
		listener_close(srv.listeners[i]);
	srv.nlisteners = 0;
	free(srv.listeners);
	metrics_http_stop();
	while (!LIST_EMPTY(&srv.conns))
		session_free(LIST_FIRST(&srv.conns)->s, "exit");
	for (i = 0; srv.sigs[i]; i++)
		event_free(srv.sigs[i]);
	event_free(srv.retry_timer);
	event_free(srv.stop_timer);
	dns_get_stats(&st);
	spf_shutdown();
	dns_shutdown();
	log_detach();
	event_base_free(srv.base);
	stdio_end();
	/* for sizing dns_cache_size: evictions mean a cache too small */
	if (!srv.stdio)
		log_info("stopped: dns queries=%lu cache_hits=%lu "
		    "coalesced=%lu upstream=%lu evictions=%lu entries=%zu "
		    "bytes=%zu", st.queries, st.hits, st.coalesced,
		    st.upstream, st.evictions, st.entries, st.bytes);
	config_unref(srv.cfg);
}

int
server_run(struct config *cfg, const struct server_opts *opts)
{
	server_setup(cfg, opts);
	if (opts->stdio)
		stdio_start(cfg);
	else
		listen_start(cfg);
	event_base_dispatch(srv.base);
	server_teardown();
	return srv.failed;
}
