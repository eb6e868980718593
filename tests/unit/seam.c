/*
 * seam - the unit tests' scripted DNS and checks as scripts.  See seam.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cmocka.h>
#include <event2/event.h>

#include "config.h"
#include "dns.h"
#include "log.h"
#include "spf.h"
#include "../diff/world.h"
#include "seam.h"

struct event_base *seam_base;
struct config *seam_cfg;
struct world *seam_world;

static struct seam_opts opts;           /* settings: only in seam_start() */

/* ----- the upstream: the world, a log of questions, held ones ----- */

#define QLOG_MAX 1024
static struct {
	char name[256];
	int type;
} qlog[QLOG_MAX];
static unsigned long nq;                /* questions the upstream got */

#define NAMES_MAX 8
static char hang[NAMES_MAX][256];       /* held until seam_reset() */
static size_t nhang;
static char unsent[NAMES_MAX][256];     /* DNS_XFER_ERROR */
static size_t nunsent;

static int holding;                     /* hold every question */
static struct {
	char name[256];
	int type;
	struct dns_ask *tok;
} held[QLOG_MAX];
static size_t nheld;

static int
listed(char (*list)[256], size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcasecmp(list[i], name) == 0)
			return 1;
	return 0;
}

static void
answer(const char *name, int type, struct dns_ask *tok)
{
	if (listed(unsent, nunsent, name))
		dns_upstream_reply(tok, DNS_XFER_ERROR, NULL, 0);
	else
		world_answer(seam_world, name, type, tok);
}

static void
ask(void *ctx, const char *name, int type, struct dns_ask *tok)
{
	(void)ctx;
	if (nq < QLOG_MAX) {
		snprintf(qlog[nq].name, sizeof(qlog[nq].name), "%s", name);
		qlog[nq].type = type;
	}
	nq++;
	if (!holding && !listed(hang, nhang, name)) {
		answer(name, type, tok);
		return;
	}
	assert_true(nheld < QLOG_MAX);
	snprintf(held[nheld].name, sizeof(held[nheld].name), "%s", name);
	held[nheld].type = type;
	held[nheld++].tok = tok;
}

static const struct dns_upstream upstream = { ask, NULL };

void
seam_hold(void)
{
	holding = 1;
}

void
seam_release(void)
{
	size_t i;

	holding = 0;
	for (i = 0; i < nheld; i++)
		answer(held[i].name, held[i].type, held[i].tok);
	nheld = 0;
}

unsigned long
seam_questions(void)
{
	return nq;
}

unsigned
seam_asked(const char *name, int type)
{
	unsigned long i;
	unsigned n = 0;

	for (i = 0; i < nq && i < QLOG_MAX; i++)
		if (qlog[i].type == type &&
		    strcasecmp(qlog[i].name, name) == 0)
			n++;
	return n;
}

/* ----- setup ----- */

void
seam_set(const char *key, const char *value)
{
	char err[256];

	if (config_set(seam_cfg, key, value, err, sizeof(err)) < 0)
		fail_msg("%s", err);
}

static void
forget(void)
{
	nq = 0;
	nhang = 0;
	nunsent = 0;
	nheld = 0;
	holding = 0;
}

void
seam_start(const struct seam_opts *o)
{
	const char *const *kv;

	opts = *o;
	opts.settings = NULL;
	log_init(1, 0);
	log_set_debug(o->debug_env != NULL && getenv(o->debug_env) != NULL);
	assert_non_null(seam_cfg = config_load(NULL, 0, NULL, NULL));
	for (kv = o->settings; kv != NULL && kv[0] != NULL; kv += 2)
		seam_set(kv[0], kv[1]);
	assert_non_null(seam_base = event_base_new());
	assert_int_equal(dns_init(seam_base, seam_cfg), 0);
	dns_set_upstream(&upstream);
	if (o->spf)
		assert_int_equal(spf_init(seam_base, seam_cfg), 0);
	seam_world = world_new();
	forget();
}

void
seam_stop(void)
{
	if (opts.spf)
		spf_shutdown();
	dns_shutdown();         /* frees what held questions were */
	event_base_free(seam_base);
	config_unref(seam_cfg);
	world_free(seam_world);
	forget();
}

int
seam_setup(void **state)
{
	seam_start(*state);
	return 0;
}

int
seam_teardown(void **state)
{
	(void)state;
	seam_stop();
	return 0;
}

void
seam_reset(void)
{
	size_t i;

	for (i = 0; i < nheld; i++)
		dns_upstream_reply(held[i].tok, DNS_XFER_TIMEOUT, NULL, 0);
	nheld = 0;
	event_base_loop(seam_base, EVLOOP_NONBLOCK);
	world_clear(seam_world);
	dns_flush();
	forget();
}

/* ----- zones ----- */

static const struct {
	const char *word;
	int rcode;                      /* -1: no reply */
} outcomes[] = {
	{ "!nxdomain", 3 }, { "!nodata", 0 }, { "!servfail", 2 },
	{ "!refused", 5 }, { "!notimp", 4 }, { "!formerr", 1 },
	{ "!timeout", -1 },
};

static void
add_name(char (*list)[256], size_t *n, const char *name)
{
	assert_true(*n < NAMES_MAX);
	snprintf(list[(*n)++], sizeof(list[0]), "%.255s", name);
}

static void
add_txt(const char *name, unsigned ttl, const char *value)
{
	const char *strs[32];
	size_t lens[32], n, i, len = strlen(value);

	for (n = 0, i = 0; i < len || n == 0; i += 255, n++) {
		assert_true(n < 32);
		strs[n] = value + i;
		lens[n] = len - i > 255 ? 255 : len - i;
	}
	assert_int_equal(world_add_txt(seam_world, name, ttl, strs, lens, n),
	    0);
}

/* add_outcome - an outcome word for (name, t); 0 if value is none */
static int
add_outcome(const char *name, int t, const char *value)
{
	size_t i;

	for (i = 0; i < sizeof(outcomes) / sizeof(outcomes[0]); i++) {
		if (strcmp(value, outcomes[i].word) != 0)
			continue;
		if (outcomes[i].rcode < 0)
			assert_int_equal(world_add_timeout(seam_world, name, t),
			    0);
		else
			assert_int_equal(world_add_rcode(seam_world, name, t,
			    outcomes[i].rcode), 0);
		return 1;
	}
	return 0;
}

static void
zone_line(char *line)
{
	char *type, *value;
	unsigned ttl = SEAM_TTL;
	int t;

	if (line[0] == '@') {
		if (opts.gen == NULL)
			fail_msg("zone line \"%s\": no generator", line);
		opts.gen(line + 1);
		return;
	}
	type = strchr(line, ' ');
	if (type == NULL || (value = strchr(type + 1, ' ')) == NULL)
		fail_msg("zone line \"%s\": not \"name TYPE value\"", line);
	*type++ = '\0';
	*value++ = '\0';
	if (strcmp(value, "!hang") == 0) {
		add_name(hang, &nhang, line);
		return;
	}
	if (strcmp(value, "!unsent") == 0) {
		add_name(unsent, &nunsent, line);
		return;
	}
	if (strncmp(type, "CNAME", 5) == 0 && type[5] != '\0') {
		ttl = (unsigned)atoi(type + 5);
		type[5] = '\0';
	}
	t = strcmp(type, "*") == 0 ? WORLD_ANY_TYPE : world_type(type);
	if (add_outcome(line, t, value))
		return;
	if (t == 0)
		fail_msg("zone line \"%s %s\": no such type", line, type);
	if (t == DNS_T_TXT)
		add_txt(line, ttl, value);
	else if (world_add(seam_world, line, type, ttl, value) < 0)
		fail_msg("zone line \"%s %s %s\": no record", line, type,
		    value);
}

void
seam_zone(const char *text)
{
	const char *p, *nl;
	char *line;
	size_t len;

	for (p = text; *p; p = *nl ? nl + 1 : nl) {
		nl = strchr(p, '\n');
		if (nl == NULL)
			nl = p + strlen(p);
		len = (size_t)(nl - p);
		if (len == 0)
			continue;
		assert_non_null(line = malloc(len + 1));
		memcpy(line, p, len);
		line[len] = '\0';
		zone_line(line);
		free(line);
	}
}

/* ----- one check ----- */

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
put(struct seam_res *r, const char *key, size_t klen, const char *val)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (strlen(r->f[i].key) == klen &&
		    strncmp(r->f[i].key, key, klen) == 0)
			break;
	if (i == r->n) {
		assert_true(r->n < SEAM_FIELDS && klen < sizeof(r->f[0].key));
		memcpy(r->f[i].key, key, klen);
		r->f[i].key[klen] = '\0';
		r->n++;
	}
	r->f[i].set = val != NULL;
	snprintf(r->f[i].val, sizeof(r->f[i].val), "%s", val ? val : "");
}

void
seam_begin(struct seam_res *r)
{
	memset(r, 0, sizeof(*r));
	r->t0 = now_s();
}

void
seam_record(struct seam_res *r, const char *fmt, ...)
{
	const char *p = fmt, *eq;
	char num[32];
	va_list ap;

	r->done++;
	va_start(ap, fmt);
	while (*p != '\0') {
		if (*p == ' ') {
			p++;
			continue;
		}
		eq = strchr(p, '=');
		assert_true(eq != NULL && eq[1] == '%');
		if (eq[2] == 's') {
			put(r, p, (size_t)(eq - p), va_arg(ap, const char *));
		} else {
			assert_int_equal(eq[2], 'u');
			snprintf(num, sizeof(num), "%u", va_arg(ap, unsigned));
			put(r, p, (size_t)(eq - p), num);
		}
		p = eq + 3;
	}
	va_end(ap);
}

const char *
seam_get(const struct seam_res *r, const char *key)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (strcmp(r->f[i].key, key) == 0)
			return r->f[i].set ? r->f[i].val : NULL;
	fail_msg("no field \"%s\"", key);
	return NULL;
}

static void
on_safety(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	*(int *)arg = 1;
}

int
seam_wait(struct seam_res *r)
{
	struct timeval tv = { SEAM_SAFETY_S, 0 };
	struct event *safety;
	char num[32];
	int expired = 0;

	assert_int_equal(r->done, 0);   /* never from inside the call */
	assert_non_null(safety = evtimer_new(seam_base, on_safety, &expired));
	evtimer_add(safety, &tv);
	while (!r->done && !expired)
		event_base_loop(seam_base, EVLOOP_ONCE);
	event_free(safety);
	if (!r->done)
		return -1;
	snprintf(num, sizeof(num), "%.3f", now_s() - r->t0);
	put(r, "elapsed", 7, num);
	event_base_loop(seam_base, EVLOOP_NONBLOCK);
	assert_int_equal(r->done, 1);   /* exactly once */
	return 0;
}

/* ----- expectations ----- */

static const char *const ops[] = {
	"!=", "^=", "~=", "<=", ">=", "=", "<", ">",
};

/* word - the next word of *p into buf ("..." may hold spaces) */
static int
word(const char **p, char *buf, size_t sz)
{
	size_t o = 0;
	int quoted = 0;

	while (**p == ' ')
		(*p)++;
	if (**p == '\0')
		return 0;
	for (; **p != '\0' && (quoted || **p != ' '); (*p)++) {
		if (**p == '"')
			quoted = !quoted;
		else if (o + 1 < sz)
			buf[o++] = **p;
	}
	buf[o] = '\0';
	return 1;
}

/* field - the value of key in r, into buf: NULL when absent */
static const char *
field(const struct seam_res *r, const char *key, char *buf, size_t sz)
{
	const char *slash = strchr(key, '/');
	char name[256];

	if (strcmp(key, "nq") == 0) {
		snprintf(buf, sz, "%lu", nq);
		return buf;
	}
	if (slash != NULL) {
		snprintf(name, sizeof(name), "%.*s", (int)(slash - key), key);
		if (world_type(slash + 1) == 0)
			fail_msg("\"%s\": no such type", key);
		snprintf(buf, sz, "%u", seam_asked(name, world_type(slash +
		    1)));
		return buf;
	}
	return seam_get(r, key);
}

/* holds - got op want */
static int
holds(const char *got, const char *op, const char *want)
{
	double g = strtod(got, NULL), w = strtod(want, NULL);

	switch (op[0]) {
	case '=': return strcmp(got, want) == 0;
	case '!': return strcmp(got, want) != 0;
	case '^': return strncmp(got, want, strlen(want)) == 0;
	case '~': return strstr(got, want) != NULL;
	case '<': return op[1] == '=' ? g <= w : g < w;
	default: return op[1] == '=' ? g >= w : g > w;
	}
}

static void
expect_word(const struct seam_res *r, const char *w, const char *what)
{
	char key[300], buf[32];
	const char *op = "=", *want = w, *got, *at = NULL, *s;
	size_t i;

	if (w[0] == '!' && w[1] != '=') {
		if ((got = field(r, w + 1, buf, sizeof(buf))) != NULL)
			fail_msg("%s: %s is \"%s\", want none", what, w + 1,
			    got);
		return;
	}
	/* the first operator; of two at one place, the longer */
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if ((s = strstr(w, ops[i])) != NULL && (at == NULL || s < at))
			at = s, op = ops[i];
	if (at == NULL) {
		snprintf(key, sizeof(key), "result");     /* a bare word */
	} else {
		snprintf(key, sizeof(key), "%.*s", (int)(at - w), w);
		want = at + strlen(op);
	}
	got = field(r, key, buf, sizeof(buf));
	if (got == NULL || !holds(got, op, want))
		fail_msg("%s: %s is %s%s%s, want %s \"%s\"", what, key,
		    got ? "\"" : "", got ? got : "none", got ? "\"" : "", op,
		    want);
}

void
seam_expect(const struct seam_res *r, const char *expect, const char *what)
{
	const char *p = expect;
	char w[SEAM_VALUE + 300];

	while (word(&p, w, sizeof(w)))
		expect_word(r, w, what);
}

void
seam_script(const char *name, const char *script, seam_run_fn *run)
{
	char also[SEAM_VALUE] = "", what[SEAM_VALUE], *copy, *line, *next;
	char *arrow;
	struct timespec ts;
	struct seam_res r;
	int checked = 0;
	unsigned ms;

	assert_non_null(copy = strdup(script));
	for (line = copy; line != NULL; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (*line == '\0')
			continue;
		arrow = strstr(line, "->");
		if (strncmp(line, "check ", 6) == 0 && arrow != NULL) {
			snprintf(what, sizeof(what), "%s: \"%s\"", name, line);
			*arrow = '\0';
			run(line + 6, &r);
			seam_expect(&r, arrow + 2, what);
			seam_expect(&r, also, what);
			checked = 1;
		} else if (strncmp(line, "also ->", 7) == 0) {
			snprintf(also, sizeof(also), "%s", line + 7);
		} else if (strcmp(line, "reset") == 0) {
			seam_reset();
			checked = 0;
		} else if (strcmp(line, "flush") == 0) {
			dns_flush();
		} else if (sscanf(line, "sleep %u", &ms) == 1) {
			ts.tv_sec = ms / 1000;
			ts.tv_nsec = (long)(ms % 1000) * 1000000L;
			nanosleep(&ts, NULL);
		} else {
			if (checked)
				seam_reset();
			checked = 0;
			zone_line(line);
		}
	}
	free(copy);
}
