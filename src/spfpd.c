/*
 * spfpd - Postfix policy daemon: SPF (RFC 7208) and iprev (RFC 8601).
 *
 * The command line: see usage() and spfpd(8).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "query.h"
#include "server.h"
#include "xmalloc.h"

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: spfpd [-d] [-c file] [-l unix:/path | -l inet:addr:port]...\n"
	    "       spfpd --stdio [-d] [-c file]\n"
	    "       spfpd -n [-c file]\n"
	    "       spfpd -p [-c file]\n"
	    "       spfpd -q -i address [-s sender] [-H helo] [-c file]\n"
	    "       spfpd -V | -h\n"
	    "\n"
	    "  -c file    configuration file (default " CONFIG_DEFAULT_PATH ")\n"
	    "  -d         log to stderr instead of syslog\n"
	    "  -l addr    listen on addr (repeatable; overrides listen =)\n"
	    "  -n         check the configuration and exit\n"
	    "  -p         print every option's value in force and exit\n"
	    "  --stdio    serve one client on stdin/stdout (Postfix spawn)\n"
	    "  -V         print the version\n"
	    "  -h         this help\n");
}

static void
print_error(void *arg, const char *msg)
{
	(void)arg;
	fprintf(stderr, "%s\n", msg);
}

static void
log_error(void *arg, const char *msg)
{
	(void)arg;
	log_warnx("%s", msg);
}

static void
null_stderr(void)
{
	int fd;

	/* not close(2): the next descriptor opened would become stderr */
	if ((fd = open("/dev/null", O_WRONLY)) < 0 || dup2(fd, 2) < 0)
		fatal("--stdio: /dev/null as stderr");
	if (fd != 2)
		close(fd);
}

/* what the command line asks for */
struct cmdline {
	struct server_opts opts;
	int check, print, query;
	const char *q_ip, *q_sender, *q_helo;
};

/* parse_args - fill cl; -1 to go on, or the exit status */
static int
parse_args(int argc, char **argv, struct cmdline *cl)
{
	static const struct option longopts[] = {
		{ "stdio", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct server_opts *o = &cl->opts;
	int ch;

	while ((ch = getopt_long(argc, argv, "c:dhH:i:l:npqs:V", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			o->config_path = optarg;
			o->config_must_exist = 1;
			break;
		case 'd': o->foreground_stderr = 1; break;
		case 'l': o->listen[o->nlisten++] = optarg; break;
		case 'n': cl->check = 1; break;
		case 'p': cl->print = 1; break;
		case 'q': cl->query = 1; break;
		case 'i': cl->q_ip = optarg; break;
		case 's': cl->q_sender = optarg; break;
		case 'H': cl->q_helo = optarg; break;
		case 'S': o->stdio = 1; break;
		case 'V':
			printf("spfpd %s\n", SPFPD_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "spfpd: unexpected argument '%s'\n",
		    argv[optind]);
		usage(stderr);
		return 2;
	}
	if (o->stdio && o->nlisten) {
		fprintf(stderr, "spfpd: --stdio and -l exclude each other\n");
		return 2;
	}
	if (cl->query && !cl->check && !cl->print && cl->q_ip == NULL) {
		fprintf(stderr, "spfpd: -q needs -i address\n");
		return 2;
	}
	return -1;
}

/* -n and -p */
static int
check_or_print(const struct cmdline *cl)
{
	struct config *cfg;

	cfg = config_load(cl->opts.config_path, cl->opts.config_must_exist,
	    print_error, NULL);
	if (cfg == NULL)
		return 1;
	if (cl->print)
		config_dump(cfg, stdout);
	else
		printf("configuration OK\n");
	config_unref(cfg);
	return 0;
}

/* -q */
static int
query(const struct cmdline *cl)
{
	struct config *cfg;
	int rc;

	log_init(1, LOG_MAIL);
	cfg = config_load(cl->opts.config_path, cl->opts.config_must_exist,
	    print_error, NULL);
	if (cfg == NULL)
		return 1;
	log_set_debug(cl->opts.foreground_stderr);
	rc = query_run(cfg, cl->q_ip, cl->q_sender, cl->q_helo);
	config_unref(cfg);
	return rc;
}

/* the daemon, or --stdio */
static int
serve(const struct cmdline *cl)
{
	const struct server_opts *o = &cl->opts;
	struct config *cfg;

	/*
	 * Spawn mode: spawn(8) connects stderr to the policy client too, so
	 * a line there would be read by Postfix as part of a reply.  Nothing
	 * of ours writes there (the log is syslog), and nothing of a library
	 * or of the C runtime may either: fd 2 becomes /dev/null.  -d asks
	 * for the log on stderr: a person at a terminal.
	 */
	if (o->stdio && !o->foreground_stderr)
		null_stderr();
	/*
	 * Config errors: to stderr when a person is watching (a terminal), to
	 * the log otherwise (the log is stderr too with -d).
	 */
	log_init(o->foreground_stderr, LOG_MAIL);
	cfg = config_load(o->config_path, o->config_must_exist,
	    !o->foreground_stderr && isatty(2) ? print_error : log_error,
	    NULL);
	if (cfg == NULL)
		fatalx("errors in %s", o->config_path);
	if (log_set_syslog(cfg->syslog_socket, cfg->syslog_facility) < 0)
		fatalx("syslog_socket %s: path too long", cfg->syslog_socket);
	log_set_debug(cfg->debug);
	return server_run(cfg, o);
}

int
main(int argc, char **argv)
{
	struct cmdline cl;
	int rc;

	memset(&cl, 0, sizeof(cl));
	cl.opts.config_path = CONFIG_DEFAULT_PATH;
	cl.opts.listen = xcalloc((size_t)argc, sizeof(char *));
	if ((rc = parse_args(argc, argv, &cl)) < 0) {
		if (cl.check || cl.print)
			rc = check_or_print(&cl);
		else if (cl.query)
			rc = query(&cl);
		else
			rc = serve(&cl);
	}
	/* the -l array: freed so that LeakSanitizer builds exit cleanly */
	free(cl.opts.listen);
	return rc;
}
