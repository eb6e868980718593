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

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "stdio", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct server_opts opts;
	struct config *cfg;
	int ch, check = 0, print = 0, query = 0, rc;
	const char *q_ip = NULL, *q_sender = NULL, *q_helo = NULL;

	memset(&opts, 0, sizeof(opts));
	opts.config_path = CONFIG_DEFAULT_PATH;
	if ((opts.listen = calloc((size_t)argc, sizeof(char *))) == NULL)
		return 1;
	while ((ch = getopt_long(argc, argv, "c:dhH:i:l:npqs:V", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'c':
			opts.config_path = optarg;
			opts.config_must_exist = 1;
			break;
		case 'd':
			opts.foreground_stderr = 1;
			break;
		case 'l':
			opts.listen[opts.nlisten++] = optarg;
			break;
		case 'n':
			check = 1;
			break;
		case 'p':
			print = 1;
			break;
		case 'q':
			query = 1;
			break;
		case 'i':
			q_ip = optarg;
			break;
		case 's':
			q_sender = optarg;
			break;
		case 'H':
			q_helo = optarg;
			break;
		case 'S':
			opts.stdio = 1;
			break;
		case 'V':
			printf("spfpd %s\n", SPFPD_VERSION);
			rc = 0;
			goto out;
		case 'h':
			usage(stdout);
			rc = 0;
			goto out;
		default:
			usage(stderr);
			rc = 2;
			goto out;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "spfpd: unexpected argument '%s'\n",
		    argv[optind]);
		usage(stderr);
		rc = 2;
		goto out;
	}
	if (opts.stdio && opts.nlisten) {
		fprintf(stderr, "spfpd: --stdio and -l exclude each other\n");
		rc = 2;
		goto out;
	}

	if (check || print) {
		cfg = config_load(opts.config_path, opts.config_must_exist,
		    print_error, NULL);
		if (cfg == NULL) {
			rc = 1;
			goto out;
		}
		if (print)
			config_dump(cfg, stdout);
		else
			printf("configuration OK\n");
		config_unref(cfg);
		rc = 0;
		goto out;
	}

	if (query) {
		if (q_ip == NULL) {
			fprintf(stderr, "spfpd: -q needs -i address\n");
			rc = 2;
			goto out;
		}
		log_init(1, LOG_MAIL);
		cfg = config_load(opts.config_path, opts.config_must_exist,
		    print_error, NULL);
		if (cfg == NULL) {
			rc = 1;
			goto out;
		}
		log_set_debug(opts.foreground_stderr);
		rc = query_run(cfg, q_ip, q_sender, q_helo);
		config_unref(cfg);
		goto out;
	}

	/*
	 * Spawn mode: spawn(8) connects stderr to the policy client too, so
	 * a line there would be read by Postfix as part of a reply.  Nothing
	 * of ours writes there (the log is syslog), and nothing of a library
	 * or of the C runtime may either: fd 2 becomes /dev/null.  -d asks
	 * for the log on stderr: a person at a terminal.
	 */
	if (opts.stdio && !opts.foreground_stderr)
		null_stderr();

	/*
	 * Config errors: to stderr when a person is watching (a terminal), to
	 * the log otherwise (the log is stderr too with -d).
	 */
	log_init(opts.foreground_stderr, LOG_MAIL);
	cfg = config_load(opts.config_path, opts.config_must_exist,
	    !opts.foreground_stderr && isatty(2) ? print_error : log_error,
	    NULL);
	if (cfg == NULL)
		fatalx("errors in %s", opts.config_path);
	if (log_set_syslog(cfg->syslog_socket, cfg->syslog_facility) < 0)
		fatalx("syslog_socket %s: path too long", cfg->syslog_socket);
	log_set_debug(cfg->debug);
	rc = server_run(cfg, &opts);
out:
	/* the -l array: freed so that LeakSanitizer builds exit cleanly */
	free(opts.listen);
	return rc;
}
