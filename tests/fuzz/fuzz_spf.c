/*
 * fuzz_spf - the SPF path: our strict record check and rewrite
 * (spfrec.c), then spfpd's real SPF check (src/spf.c over src/dns.c and
 * libspf2) against a scripted DNS world behind dns.c's upstream seam
 * (tests/diff/world.c): the same code the daemon runs, no copy of it.
 *
 * Input, fields cut at '\n':
 *   1  the SPF record (any bytes; published as the TXT record of the
 *      domain checked)
 *   2  the client IP address
 *   3  the sender (MAIL FROM); empty: the HELO identity is checked
 *   4  the HELO name
 *   5+ zone lines "name TYPE value", TYPE one of A AAAA MX TXT PTR CNAME;
 *      MX value "pref host"; value "!nxdomain", "!nodata", "!servfail" or
 *      "!timeout" makes that answer for name/TYPE (at most 64 lines).
 *
 * 1. spfrec_is_spf(), spfrec_check() and, for valid records,
 *    spfrec_rewrite() for both families; a rewritten record must pass
 *    spfrec_check() again, and an invalid one must not be rewritten.
 * 2. spf_check_start() with the request fields the codec lets through
 *    (bounded by its default line length, free of NUL), run on the event
 *    loop to its single done() call.  Each result must be one of the
 *    seven, a fail must carry an explanation, and nothing may leak.
 *
 * With FUZZ_SPF_DEBUG in the environment each result goes to stderr;
 * FUZZ_SPF_LAX: see check_record().
 */
#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>

#include "config.h"
#include "dns.h"
#include "log.h"
#include "spf.h"
#include "spfrec.h"
#include "world.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* a broken promise of the code under test: say which, then crash */
#define BUG(what) do { fprintf(stderr, "%s:%d: BUG: %s\n", __FILE__, \
	__LINE__, (what)); abort(); } while (0)

/* the codec's default max_line_length, less "helo_name=" */
#define FIELD_MAX (4096 - 10)
#define ZONE_LINES_MAX 64

static struct event_base *base;
static struct world *world;
static struct config *cfg;
static int debug;               /* FUZZ_SPF_DEBUG set: print each result */
static int lax;                 /* FUZZ_SPF_LAX set: see check_record() */

/* spf.c's layer_lookup() keeps this on its stack */
static char rewritten[2 * 65536 + 64];

static void
cfg_err(void *arg, const char *msg)
{
	(void)arg;
	fprintf(stderr, "fuzz_spf: config: %s\n", msg);
}

static void
setup(void)
{
	debug = getenv("FUZZ_SPF_DEBUG") != NULL;
	lax = getenv("FUZZ_SPF_LAX") != NULL;
	log_init(1, 0);
	if ((cfg = config_load(NULL, 0, cfg_err, NULL)) == NULL ||
	    (base = event_base_new()) == NULL || dns_init(base, cfg) < 0 ||
	    spf_init(base, cfg) < 0)
		abort();
	world = world_new();
	world_install(world);
}

/* field - a request attribute: what the codec lets through, as a string */
static char *
field(const char *s, size_t len)
{
	if (len > FIELD_MAX || memchr(s, '\0', len) != NULL)
		return NULL;
	return strndup(s, len);
}

/* add_txt - a TXT record of any length, cut into 255-byte strings */
static void
add_txt(const char *name, const char *txt, size_t len)
{
	const char *strs[300];
	size_t lens[300], n = 0, i;

	for (i = 0; (i < len || n == 0) && n < 300; i += 255) {
		strs[n] = txt + i;
		lens[n++] = len - i > 255 ? 255 : len - i;
	}
	(void)world_add_txt(world, name, 300, strs, lens, n);
}

static void
zone_line(const char *s, size_t len)
{
	char *line, *sp, *sp2, *value;
	int type;

	if ((line = strndup(s, len)) == NULL)
		abort();
	if ((sp = strchr(line, ' ')) == NULL ||
	    (sp2 = strchr(sp + 1, ' ')) == NULL)
		goto out;
	*sp = *sp2 = '\0';
	value = sp2 + 1;
	if ((type = world_type(sp + 1)) == 0)
		goto out;
	if (strcmp(value, "!nxdomain") == 0)
		(void)world_add_rcode(world, line, type, 3);
	else if (strcmp(value, "!nodata") == 0)
		(void)world_add_rcode(world, line, type, 0);
	else if (strcmp(value, "!servfail") == 0)
		(void)world_add_rcode(world, line, type, 2);
	else if (strcmp(value, "!timeout") == 0)
		(void)world_add_timeout(world, line, type);
	else if (type == 16)
		add_txt(line, value, strlen(value));
	else
		(void)world_add(world, line, sp + 1, 300, value);
out:
	free(line);
}

/* only_bytes - are all of s[0..len) in [lo, hi] (or a space, if sp)? */
static int
only_bytes(const char *s, size_t len, int lo, int hi, int sp)
{
	size_t i;

	for (i = 0; i < len; i++) {
		int c = (unsigned char)s[i];

		if ((c < lo || c > hi) && !(sp && c == ' '))
			return 0;
	}
	return 1;
}

/*
 * check_record - spfrec.c on its own.  rec is a copy of exactly len bytes,
 * no terminator: the functions take a length, and ASan sees any read past
 * it.  (Every caller in src/ has a NUL after len; FUZZ_SPF_LAX in the
 * environment adds one, to fuzz past such a read.)  What they accept
 * must be within the ABNF's alphabet.
 */
static void
check_record(const char *rec, size_t len)
{
	struct spfrec_info info;
	char err[128];
	int v6, valid, exp;

	/* macro-string: macro-literal is %x21-24 / %x26-7E, exp: and space */
	for (exp = 0; exp <= 1; exp++)
		if (spfrec_macro_string_ok(rec, len, exp) &&
		    !only_bytes(rec, len, 0x21, 0x7e, exp))
			BUG("spfrec_macro_string_ok() took a byte outside "
			    "the macro-string alphabet");
	if (spfrec_domain_spec_ok(rec, len) &&
	    !only_bytes(rec, len, 0x21, 0x7e, 0))
		BUG("spfrec_domain_spec_ok() took a byte outside the "
		    "domain-spec alphabet");
	valid = spfrec_check(rec, len, &info, err, sizeof(err)) == 0;
	if (valid && !spfrec_is_spf(rec, len))
		BUG("spfrec_check() took a record without v=spf1");
	if (!valid && (err[0] == '\0' || strlen(err) >= sizeof(err)))
		BUG("spfrec_check() failed without a reason");
	for (v6 = 0; v6 <= 1; v6++) {
		if (spfrec_rewrite(rec, len, v6, rewritten,
		    sizeof(rewritten)) < 0)
			continue;
		if (!valid)
			BUG("spfrec_rewrite() rewrote an invalid record");
		/* what libspf2 gets must be a valid record itself */
		if (spfrec_check(rewritten, strlen(rewritten), NULL, err,
		    sizeof(err)) < 0) {
			fprintf(stderr, "rewritten: %s: %s\n", err, rewritten);
			BUG("spfrec_rewrite() made an invalid record");
		}
	}
}

struct result {
	int done;
	enum spf_result r;
};

static void
on_done(void *arg, const struct spf_outcome *o)
{
	struct result *res = arg;

	res->done++;
	res->r = o->result;
	if (o->result > SPF_PERMERROR)
		BUG("a result that is none of the seven");
	if (o->result == SPF_FAIL && o->explanation == NULL)
		BUG("a fail without an explanation");
	if ((o->result == SPF_PERMERROR || o->result == SPF_TEMPERROR) &&
	    o->problem == NULL)
		BUG("an error without a reason");
	if (debug)
		fprintf(stderr, "fuzz_spf: %s %s: %s (%s)%s%s\n", o->identity,
		    o->domain, spf_result_str(o->result), o->problem ?
		    o->problem : "", o->explanation ? " exp: " : "",
		    o->explanation ? o->explanation : "");
}

static void
check_identity(const char *ip, const char *sender, const char *helo,
    const char *zone, size_t zlen, const char *rec, size_t reclen)
{
	const char *at, *dom, *p, *end, *nl;
	struct result res;
	struct spf_check *c;
	int lines = 0;

	world_clear(world);
	dns_flush();
	at = *sender ? strrchr(sender, '@') : NULL;
	dom = *sender ? (at ? at + 1 : sender) : helo;
	if (*dom != '\0')
		add_txt(dom, rec, reclen);
	for (p = zone, end = zone + zlen; p < end && lines < ZONE_LINES_MAX;
	    p = nl + 1, lines++) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		zone_line(p, (size_t)(nl - p));
	}
	memset(&res, 0, sizeof(res));
	c = spf_check_start(ip, helo, *sender ? sender : NULL, 60000, on_done,
	    &res);
	if (c == NULL)
		abort();
	while (!res.done)
		event_base_loop(base, EVLOOP_ONCE);
	/* a second loop pass: done() must not come twice */
	event_base_loop(base, EVLOOP_NONBLOCK);
	if (res.done != 1)
		BUG("done() called more than once");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *end = s + size, *f[4], *nl;
	size_t flen[4];
	char *ip = NULL, *sender = NULL, *helo = NULL, *rec;
	int i;

	if (base == NULL)
		setup();
	for (i = 0; i < 4; i++) {
		if (s > end)
			return 0;
		if ((nl = memchr(s, '\n', (size_t)(end - s))) == NULL)
			nl = end;
		f[i] = s;
		flen[i] = (size_t)(nl - s);
		s = nl + 1;
	}
	/* exactly len bytes; lax: and a NUL, as dns.c and spf.c give */
	if ((rec = malloc(flen[0] + (lax ? 1 : 0))) == NULL &&
	    (flen[0] > 0 || lax))
		abort();
	if (flen[0] > 0)
		memcpy(rec, f[0], flen[0]);
	if (lax)
		rec[flen[0]] = '\0';
	check_record(rec, flen[0]);
	free(rec);
	if ((ip = field(f[1], flen[1])) != NULL &&
	    (sender = field(f[2], flen[2])) != NULL &&
	    (helo = field(f[3], flen[3])) != NULL)
		check_identity(ip, sender, helo, s < end ? s : end,
		    s < end ? (size_t)(end - s) : 0, f[0], flen[0]);
	free(ip);
	free(sender);
	free(helo);
	return 0;
}
