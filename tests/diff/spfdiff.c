/*
 * spfdiff - spfpd's real SPF path over a scripted DNS world: the C side
 * of the differential fuzzer (tests/diff/spfdiff.py compares with pyspf).
 *
 * Reads cases in tests/diff/FORMAT on stdin; for each, installs its world
 * as dns.c's upstream, runs spf_check_start() (src/spf.c, src/dns.c,
 * libspf2) to the end on a libevent loop, and prints
 *     <id> <result> <explanation in hex for fail, else ->
 * The DNS cache is flushed between cases.  -v adds the problem and the
 * number of upstream questions as a fourth and fifth field.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "config.h"
#include "dns.h"
#include "log.h"
#include "spf.h"
#include "world.h"

#define LINE_MAX_BYTES (1 << 20)

struct result {
	int done;
	enum spf_result r;
	char *expl, *problem;
};

static struct event_base *base;

static void
on_done(void *arg, const struct spf_outcome *o)
{
	struct result *res = arg;

	res->done = 1;
	res->r = o->result;
	res->expl = o->explanation ? strdup(o->explanation) : NULL;
	res->problem = o->problem ? strdup(o->problem) : NULL;
	event_base_loopexit(base, NULL);
}

static void
print_hex(const char *s)
{
	if (s == NULL || *s == '\0') {
		fputs("-", stdout);
		return;
	}
	for (; *s; s++)
		printf("%02x", (unsigned char)*s);
}

static void
run_case(struct world *w, const char *id, const char *ip, const char *helo,
    const char *sender, int verbose)
{
	struct result res;
	struct spf_check *c;
	unsigned long q0 = world_questions(w);

	memset(&res, 0, sizeof(res));
	dns_flush();
	c = spf_check_start(ip, helo, sender, 60000, on_done, &res);
	if (c == NULL) {
		printf("%s error -\n", id);
		return;
	}
	while (!res.done)
		event_base_loop(base, EVLOOP_ONCE);
	printf("%s %s ", id, spf_result_str(res.r));
	if (res.r == SPF_FAIL)
		print_hex(res.expl);
	else
		fputs("-", stdout);
	if (verbose) {
		fputs(" ", stdout);
		print_hex(res.problem);
		printf(" %lu", world_questions(w) - q0);
	}
	fputs("\n", stdout);
	free(res.expl);
	free(res.problem);
}

static void
cfg_err(void *arg, const char *msg)
{
	(void)arg;
	fprintf(stderr, "spfdiff: %s\n", msg);
}

int
main(int argc, char **argv)
{
	char *line, id[256] = "", ip[128] = "", *helo = NULL, *sender = NULL;
	char errbuf[256];
	struct config *cfg;
	struct world *w;
	int verbose = 0, in_case = 0, bad = 0, ch;
	unsigned long lineno = 0;

	while ((ch = getopt(argc, argv, "v")) != -1) {
		if (ch == 'v')
			verbose = 1;
		else {
			fprintf(stderr, "usage: spfdiff [-v] < cases\n");
			return 2;
		}
	}
	log_init(1, 0);
	if ((cfg = config_load(NULL, 0, cfg_err, NULL)) == NULL ||
	    config_set(cfg, "default_explanation", "spfdiff-default", errbuf,
	    sizeof(errbuf)) < 0) {
		fprintf(stderr, "spfdiff: config\n");
		return 2;
	}
	if ((base = event_base_new()) == NULL || dns_init(base, cfg) < 0 ||
	    spf_init(base, cfg) < 0) {
		fprintf(stderr, "spfdiff: init\n");
		return 2;
	}
	w = world_new();
	world_install(w);
	if ((line = malloc(LINE_MAX_BYTES)) == NULL)
		return 2;
	while (fgets(line, LINE_MAX_BYTES, stdin) != NULL) {
		size_t n = strlen(line);
		int r;

		lineno++;
		while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (strncmp(line, "case ", 5) == 0) {
			snprintf(id, sizeof(id), "%s", line + 5);
			world_clear(w);
			free(helo);
			free(sender);
			helo = strdup("");
			sender = NULL;
			ip[0] = '\0';
			in_case = 1;
			bad = 0;
		} else if (!in_case) {
			continue;
		} else if (strncmp(line, "ip ", 3) == 0) {
			snprintf(ip, sizeof(ip), "%s", line + 3);
		} else if (strncmp(line, "helo ", 5) == 0) {
			free(helo);
			helo = strdup(line + 5);
			if (hex_decode(helo) < 0)
				bad = 1;
		} else if (strncmp(line, "sender ", 7) == 0) {
			free(sender);
			sender = NULL;
			if (strcmp(line + 7, "-") != 0) {
				sender = strdup(line + 7);
				if (hex_decode(sender) < 0)
					bad = 1;
			}
		} else if (strcmp(line, "end") == 0) {
			if (bad)
				printf("%s badcase -\n", id);
			else
				run_case(w, id, ip, helo, sender, verbose);
			fflush(stdout);
			in_case = 0;
		} else if ((r = world_parse_line(w, line)) <= 0) {
			fprintf(stderr, "spfdiff: line %lu: bad line\n",
			    lineno);
			bad = 1;
		}
	}
	free(line);
	free(helo);
	free(sender);
	world_install(NULL);
	world_free(w);
	spf_shutdown();
	dns_shutdown();
	event_base_free(base);
	config_unref(cfg);
	return 0;
}
