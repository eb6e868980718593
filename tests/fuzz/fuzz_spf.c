/*
 * fuzz_spf - the SPF path: our strict record check and rewrite
 * (spfrec.c), then libspf2 evaluating over an in-memory zone, with every
 * bound spf.c and policy.c put on what reaches libspf2.
 *
 * Input, fields cut at '\n':
 *   1  the SPF record (any bytes; published as the TXT record of the
 *      domain checked)
 *   2  the client IP address
 *   3  the sender (MAIL FROM); empty: the HELO identity is checked
 *   4  the HELO name
 *   5+ zone lines "name TYPE value", TYPE one of A AAAA MX TXT PTR; MX
 *      value "[pref ]host"; value "!nxdomain", "!nodata" or "!servfail"
 *      makes that answer for name/TYPE (at most 64 lines are taken).
 *
 * 1. spfrec_is_spf(), spfrec_check() and, for valid records,
 *    spfrec_rewrite() for both families; a rewritten record must pass
 *    spfrec_check() again, and an invalid one must not be rewritten.
 * 2. When spf_check_start() would go on to libspf2 (the address parses,
 *    the domain is a usable name <= 253, the sender <= 320, its local part
 *    <= 64, the HELO name usable for a HELO check; request text bounded
 *    by the codec's default line length and free of NUL), libspf2 checks
 *    the identity.  Its DNS layer is a copy, in small, of spf.c's
 *    layer_lookup() over libspf2's own zone layer (spf_dns_zone.h): only
 *    A, AAAA, MX, PTR, TXT; names lower-cased, cut on the left to 253,
 *    dropped unless dns_name_ok(); every SPF record through spfrec_check()
 *    and spfrec_rewrite() ("v=spf1 invalid-record:x" when invalid), other
 *    TXT only as an explanation that is one valid macro-string, spaces as
 *    "%_"; the reserved a/0 and mx/0 names of spfrec_rewrite() answered;
 *    more than 10 MX names, 2 void lookups or 10 counted terms stop it.
 *    The evaluation is spf.c's evaluate() (SPF_server_get_record() and
 *    SPF_record_interpret(), no loopback free pass), and the explanation
 *    of a fail is fetched as spf_run() does.
 *
 * The SPF server is made once; the zone, request and response each run.
 * With FUZZ_SPF_DEBUG in the environment each result goes to stderr;
 * FUZZ_SPF_LAX: see check_record().
 */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <ctype.h>
#include <netdb.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <spf2/spf.h>
#include <spf2/spf_dns.h>
#include <spf2/spf_dns_zone.h>

#include "cidr.h"
#include "config.h"
#include "dns.h"
#include "spfrec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* a broken promise of the code under test: say which, then crash */
#define BUG(what) do { fprintf(stderr, "%s:%d: BUG: %s\n", __FILE__, \
	__LINE__, (what)); abort(); } while (0)

/* as in src/spf.c */
#define SPF_REJECTED_RECORD "v=spf1 invalid-record:x"
#define SPF_MAX_KNOWN 400
#define SPF_MAX_PTR_NAMES 10
#define SPF_MAX_MX_NAMES 10
#define SPF_MAX_TERMS 10
#define SPF_MAX_VOID 2

/* the codec's default max_line_length, less "helo_name=" */
#define FIELD_MAX (4096 - 10)
#define ZONE_LINES_MAX 64

static SPF_server_t *server;
static SPF_dns_server_t layer;
static int debug;               /* FUZZ_SPF_DEBUG set: print each result */
static int lax;                 /* FUZZ_SPF_LAX set: see check_record() */

/* one evaluation */
static struct {
	SPF_dns_server_t *zone;
	const char *top_name;           /* the domain checked, canonical */
	const char *top_txt;            /* its record: field 1 */
	size_t top_len;
	int v6;
	unsigned lookups, terms, voids;
	int txt_seen, over_limit;
} run;

/* spf.c's layer_lookup() keeps this on its stack */
static char rewritten[2 * 65536 + 64];

enum zst { Z_OK, Z_NXDOMAIN, Z_NODATA, Z_FAIL };

static SPF_dns_rr_t *
rr_status(SPF_dns_server_t *s, const char *domain, ns_type type, int herrno)
{
	SPF_dns_rr_t *rr = SPF_dns_rr_new_init(s, domain, type, 0, herrno);

	if (rr == NULL)
		abort();
	return rr;
}

static void
rr_free(SPF_dns_rr_t *rr)
{
	if (rr != NULL)
		SPF_dns_rr_free(rr);
}

static void
canon_name(char *dst, size_t dstsz, const char *src)
{
	size_t n, i;

	if (dst != src)
		snprintf(dst, dstsz, "%s", src);
	for (i = 0; dst[i]; i++)
		dst[i] = (char)tolower((unsigned char)dst[i]);
	n = strlen(dst);
	if (n > 1 && dst[n - 1] == '.')
		dst[n - 1] = '\0';
}

static void
truncate_left(char *name)
{
	size_t n = strlen(name);
	char *p = name;

	while (n > 253 && (p = strchr(p, '.')) != NULL) {
		p++;
		n = strlen(p);
	}
	if (p != NULL && p != name)
		memmove(name, p, n + 1);
}

/* zone_get - the zone's answer (a copy, or NULL) and what it means */
static SPF_dns_rr_t *
zone_get(const char *name, ns_type type, enum zst *st)
{
	SPF_dns_rr_t *zr = SPF_dns_lookup(run.zone, name, type, 0);

	if (zr == NULL)
		abort();
	switch (zr->herrno) {
	case NETDB_SUCCESS:
		*st = zr->num_rr > 0 ? Z_OK : Z_NODATA;
		break;
	case HOST_NOT_FOUND:
		*st = Z_NXDOMAIN;
		break;
	case NO_DATA:
		*st = Z_NODATA;
		break;
	default:
		*st = Z_FAIL;
		break;
	}
	return zr;
}

static void
void_lookup(void)
{
	if (++run.voids > SPF_MAX_VOID)
		run.over_limit = 1;
}

/* synth_lookup - spf.c's answers for the reserved a/0 and mx/0 names */
static SPF_dns_rr_t *
synth_lookup(SPF_dns_server_t *s, const char *domain, const char *name,
    ns_type type)
{
	char base[NS_MAXDNAME];
	ns_type at = run.v6 ? ns_t_aaaa : ns_t_a;
	SPF_dns_rr_t *zr, *hr, *rr;
	enum zst st, hst;
	int mx, match = 0, i;

	if ((mx = spfrec_synth_name(name, base, sizeof(base))) < 0)
		return NULL;
	if (type != ns_t_a || !dns_name_ok(base))
		return rr_status(s, domain, type, HOST_NOT_FOUND);
	zr = zone_get(base, mx ? ns_t_mx : at, &st);
	switch (st) {
	case Z_OK:
		break;
	case Z_NXDOMAIN:
	case Z_NODATA:
		rr_free(zr);
		void_lookup();
		return rr_status(s, domain, type, HOST_NOT_FOUND);
	default:
		rr_free(zr);
		return rr_status(s, domain, type, TRY_AGAIN);
	}
	if (!mx) {
		match = 1;
	} else if (zr->num_rr > SPF_MAX_MX_NAMES) {
		rr_free(zr);
		run.over_limit = 1;
		return rr_status(s, domain, type, HOST_NOT_FOUND);
	} else {
		for (i = 0; i < zr->num_rr && !match; i++) {
			char host[NS_MAXDNAME];

			canon_name(host, sizeof(host), zr->rr[i]->mx);
			if (!dns_name_ok(host))
				continue;
			hr = zone_get(host, at, &hst);
			match = hst == Z_OK;
			rr_free(hr);
		}
	}
	rr_free(zr);
	if (!match)
		return rr_status(s, domain, type, NO_DATA);
	rr = rr_status(s, domain, type, NETDB_SUCCESS);
	if (SPF_dns_rr_buf_realloc(rr, 0, sizeof(struct in_addr)) !=
	    SPF_E_SUCCESS)
		abort();
	rr->rr[0]->a.s_addr = htonl(0x7f000002);
	rr->num_rr = 1;
	return rr;
}

/* exp_rr - an explanation TXT answer, spaces written as "%_" */
static SPF_dns_rr_t *
exp_rr(SPF_dns_server_t *s, const char *domain, const char *txt, size_t len)
{
	SPF_dns_rr_t *rr;
	size_t i, o = 0;
	char *out;

	rr = rr_status(s, domain, ns_t_txt, NETDB_SUCCESS);
	if (SPF_dns_rr_buf_realloc(rr, 0, 2 * len + 1) != SPF_E_SUCCESS)
		abort();
	out = rr->rr[0]->txt;
	for (i = 0; i < len; i++) {
		if (txt[i] == ' ') {
			out[o++] = '%';
			out[o++] = '_';
		} else {
			out[o++] = txt[i];
		}
	}
	out[o] = '\0';
	rr->num_rr = 1;
	return rr;
}

/* a TXT answer as spf.c serves it: SPF records checked and rewritten */
static SPF_dns_rr_t *
txt_answer(SPF_dns_server_t *s, const char *domain, const char **txt,
    const size_t *len, int n)
{
	SPF_dns_rr_t *rr;
	const char *t;
	size_t l;
	int i, spf = 0;

	for (i = 0; i < n; i++)
		if (spfrec_is_spf(txt[i], len[i]))
			spf = 1;
	if (!spf) {
		if (n != 1 || !spfrec_macro_string_ok(txt[0], len[0], 1))
			return rr_status(s, domain, ns_t_txt, NO_DATA);
		return exp_rr(s, domain, txt[0], len[0]);
	}
	rr = rr_status(s, domain, ns_t_txt, NETDB_SUCCESS);
	for (i = 0; i < n; i++) {
		t = txt[i];
		l = len[i] + 1;
		if (spfrec_is_spf(t, len[i])) {
			char why[128];

			if (spfrec_check(t, len[i], NULL, why, sizeof(why)) < 0)
				t = SPF_REJECTED_RECORD;
			else if (spfrec_rewrite(t, len[i], run.v6, rewritten,
			    sizeof(rewritten)) == 0)
				t = rewritten;
			else
				t = SPF_REJECTED_RECORD;
			l = strlen(t) + 1;
		}
		/* a TXT string with a NUL: libspf2 reads up to it, as in spf.c */
		if (SPF_dns_rr_buf_realloc(rr, i, l) != SPF_E_SUCCESS)
			abort();
		memcpy(rr->rr[i]->txt, t, l - 1);
		rr->rr[i]->txt[l - 1] = '\0';
		rr->num_rr++;
	}
	return rr;
}

static SPF_dns_rr_t *
layer_lookup(SPF_dns_server_t *s, const char *domain, ns_type type,
    int should_cache)
{
	char name[NS_MAXDNAME];
	SPF_dns_rr_t *zr, *rr;
	enum zst st;
	int counted = 1, top, i, n;

	(void)should_cache;
	if (run.zone == NULL || run.top_name == NULL)
		return rr_status(s, domain, type, TRY_AGAIN);
	if (type != ns_t_a && type != ns_t_aaaa && type != ns_t_mx &&
	    type != ns_t_ptr && type != ns_t_txt)
		return rr_status(s, domain, type, NO_DATA);
	canon_name(name, sizeof(name), domain);
	if (strlen(domain) >= sizeof(name))
		return rr_status(s, domain, type, HOST_NOT_FOUND);
	truncate_left(name);
	if (!dns_name_ok(name) || run.over_limit)
		return rr_status(s, domain, type, HOST_NOT_FOUND);
	if (++run.lookups > SPF_MAX_KNOWN) {
		run.over_limit = 1;
		return rr_status(s, domain, type, HOST_NOT_FOUND);
	}
	/*
	 * RFC 7208 4.6.4, in short: address lookups are left to libspf2's
	 * own limit of 10 (spf.c tells the hosts of MX/PTR answers apart),
	 * the first TXT is the record checked.
	 */
	if (type == ns_t_a || type == ns_t_aaaa)
		counted = 0;
	else if (type == ns_t_txt && !run.txt_seen) {
		run.txt_seen = 1;
		counted = 0;
	}
	if (counted && ++run.terms > SPF_MAX_TERMS)
		run.over_limit = 1;
	if (run.over_limit)
		return rr_status(s, domain, type, HOST_NOT_FOUND);
	if ((rr = synth_lookup(s, domain, name, type)) != NULL)
		return rr;

	zr = zone_get(name, type, &st);
	/* the record of field 1 is one more TXT string of the domain */
	top = type == ns_t_txt && strcmp(name, run.top_name) == 0;
	if (top && st != Z_OK) {
		rr_free(zr);
		zr = NULL;
		st = Z_OK;
	}
	if (counted && (st == Z_NXDOMAIN || st == Z_NODATA) &&
	    type != ns_t_txt)
		void_lookup();
	switch (st) {
	case Z_OK:
		break;
	case Z_NXDOMAIN:
		rr_free(zr);
		return rr_status(s, domain, type, HOST_NOT_FOUND);
	case Z_NODATA:
		rr_free(zr);
		return rr_status(s, domain, type, NO_DATA);
	default:
		rr_free(zr);
		return rr_status(s, domain, type, TRY_AGAIN);
	}
	n = zr ? zr->num_rr : 0;
	if (type == ns_t_mx && n > SPF_MAX_MX_NAMES) {
		rr_free(zr);
		run.over_limit = 1;
		return rr_status(s, domain, type, HOST_NOT_FOUND);
	}
	if (type == ns_t_txt) {
		const char *txt[ZONE_LINES_MAX + 1];
		size_t len[ZONE_LINES_MAX + 1];
		int k = 0;

		if (top) {
			txt[k] = run.top_txt;
			len[k++] = run.top_len;
		}
		for (i = 0; i < n && k < ZONE_LINES_MAX + 1; i++) {
			txt[k] = zr->rr[i]->txt;
			len[k++] = strlen(zr->rr[i]->txt);
		}
		rr = txt_answer(s, domain, txt, len, k);
		rr_free(zr);
		return rr;
	}
	rr = rr_status(s, domain, type, NETDB_SUCCESS);
	if (type == ns_t_ptr && n > SPF_MAX_PTR_NAMES)
		n = SPF_MAX_PTR_NAMES;
	for (i = 0; i < n; i++) {
		size_t l;

		switch (type) {
		case ns_t_a: l = sizeof(struct in_addr); break;
		case ns_t_aaaa: l = sizeof(struct in6_addr); break;
		default: l = strlen(zr->rr[i]->ptr) + 1; break;
		}
		if (SPF_dns_rr_buf_realloc(rr, i, l) != SPF_E_SUCCESS)
			abort();
		switch (type) {
		case ns_t_a: rr->rr[i]->a = zr->rr[i]->a; break;
		case ns_t_aaaa: rr->rr[i]->aaaa = zr->rr[i]->aaaa; break;
		default: memcpy(rr->rr[i]->ptr, zr->rr[i]->ptr, l); break;
		}
		rr->num_rr++;
	}
	rr_free(zr);
	return rr;
}

static void
setup(void)
{
	SPF_response_t *resp = NULL;
	struct config *cfg;
	const char *p;
	char *text, *o;

	debug = getenv("FUZZ_SPF_DEBUG") != NULL;
	lax = getenv("FUZZ_SPF_LAX") != NULL;
	memset(&layer, 0, sizeof(layer));
	layer.lookup = layer_lookup;
	layer.name = "fuzz";
	if ((server = SPF_server_new_dns(&layer, 0)) == NULL)
		abort();
	/* spf_configure(): the default explanation, spaces as "%_" */
	if ((cfg = config_load(NULL, 0, NULL, NULL)) == NULL ||
	    (text = malloc(2 * strlen(cfg->default_explanation) + 1)) == NULL)
		abort();
	for (p = cfg->default_explanation, o = text; *p; p++) {
		if (*p == ' ') {
			*o++ = '%';
			*o++ = '_';
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
	if (SPF_server_set_explanation(server, text, &resp) != SPF_E_SUCCESS)
		abort();
	SPF_response_free(resp);
	free(text);
	config_unref(cfg);
}

/* field - a request attribute: what the codec lets through, as a string */
static char *
field(const char *s, size_t len)
{
	if (len > FIELD_MAX || memchr(s, '\0', len) != NULL)
		return NULL;
	return strndup(s, len);
}

static void
zone_line(const char *s, size_t len)
{
	static const struct {
		const char *name;
		ns_type type;
	} types[] = {
		{ "A", ns_t_a }, { "AAAA", ns_t_aaaa }, { "MX", ns_t_mx },
		{ "TXT", ns_t_txt }, { "PTR", ns_t_ptr },
	};
	char name[NS_MAXDNAME], *line, *sp, *sp2, *value;
	int herrno = NETDB_SUCCESS;
	size_t i;

	if ((line = strndup(s, len)) == NULL)
		abort();
	if ((sp = strchr(line, ' ')) == NULL ||
	    (sp2 = strchr(sp + 1, ' ')) == NULL)
		goto out;
	*sp = *sp2 = '\0';
	value = sp2 + 1;
	if (strlen(line) >= sizeof(name))
		goto out;
	canon_name(name, sizeof(name), line);
	if (!dns_name_ok(name))
		goto out;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcasecmp(sp + 1, types[i].name) == 0)
			break;
	if (i == sizeof(types) / sizeof(types[0]))
		goto out;
	if (strcmp(value, "!nxdomain") == 0)
		herrno = HOST_NOT_FOUND;
	else if (strcmp(value, "!nodata") == 0)
		herrno = NO_DATA;
	else if (strcmp(value, "!servfail") == 0)
		herrno = TRY_AGAIN;
	if (types[i].type == ns_t_mx || types[i].type == ns_t_ptr) {
		/* host names come out of dns.c in lower case, <= 1024 */
		if (strlen(value) >= NS_MAXDNAME)
			goto out;
		for (sp = value; *sp; sp++)
			*sp = (char)tolower((unsigned char)*sp);
	}
	(void)SPF_dns_zone_add_str(run.zone, name, types[i].type, herrno,
	    herrno == NETDB_SUCCESS ? value : "");
out:
	free(line);
}

/* helo_usable - policy.c: a HELO name SPF can check */
static int
helo_usable(const char *helo)
{
	size_t n = strlen(helo);

	return n > 0 && n <= 253 && helo[0] != '[' && strchr(helo, '.') &&
	    helo[n - 1] != '.' && dns_name_ok(helo);
}

/* evaluate - spf.c's evaluate(); returns the response */
static SPF_response_t *
evaluate(SPF_request_t *req)
{
	SPF_response_t *resp;
	SPF_record_t *rec = NULL;
	SPF_errcode_t err;

	if ((resp = SPF_response_new(req)) == NULL)
		abort();
	req->cur_dom = req->use_helo ? req->helo_dom : req->env_from_dp;
	if (req->cur_dom == NULL)
		return resp;
	err = SPF_server_get_record(server, req, resp, &rec);
	if (err != SPF_E_SUCCESS) {
		if (rec)
			SPF_record_free(rec);
		(void)SPF_strerror(err);
		return resp;
	}
	resp->spf_record_exp = rec;
	SPF_record_interpret(rec, req, resp, 0);
	resp->spf_record_exp = NULL;
	SPF_record_free(rec);
	return resp;
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

static void
check_identity(const char *ip, const char *sender, const char *helo,
    const char *zone, size_t zlen, const char *rec, size_t reclen)
{
	char domain[NS_MAXDNAME];
	unsigned char a[16];
	struct in_addr a4;
	struct in6_addr a6;
	SPF_request_t *req;
	SPF_response_t *resp;
	const char *at, *dom, *p, *end, *nl, *e;
	int lines = 0;

	/* spf_check_start() and policy_start() */
	if (cidr_addr_parse(ip, a) < 0)
		return;
	if (*sender == '\0') {
		if (!helo_usable(helo))
			return;
		at = NULL;
		dom = helo;
	} else {
		at = strrchr(sender, '@');
		dom = at ? at + 1 : sender;
	}
	if (*dom == '\0' || strlen(dom) > 253 || !dns_name_ok(dom) ||
	    strchr(dom, '.') == NULL ||
	    (*sender && at && (size_t)(at - sender) > 64) ||
	    strlen(sender) > 320)
		return;
	memset(&run, 0, sizeof(run));
	if (cidr_addr_is_v4(a)) {
		memcpy(&a4, a + 12, 4);
	} else {
		run.v6 = 1;
		memcpy(&a6, a, 16);
	}
	canon_name(domain, sizeof(domain), dom);
	run.top_name = domain;
	run.top_txt = rec;
	run.top_len = reclen;
	if ((run.zone = SPF_dns_zone_new(NULL, "fuzz-zone", 0)) == NULL)
		abort();
	for (p = zone, end = zone + zlen; p < end && lines < ZONE_LINES_MAX;
	    p = nl + 1, lines++) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		zone_line(p, (size_t)(nl - p));
	}

	/* make_request() */
	if ((req = SPF_request_new(server)) == NULL)
		abort();
	if (run.v6)
		SPF_request_set_ipv6(req, a6);
	else
		SPF_request_set_ipv4(req, a4);
	if (*helo)
		SPF_request_set_helo_dom(req, helo);
	if (*sender) {
		SPF_request_set_env_from(req, sender);
	} else {
		req->use_helo = 1;
		SPF_request_set_env_from(req, "");
	}
	resp = evaluate(req);
	if (debug)
		fprintf(stderr, "fuzz_spf: %s %s: %s (%s)\n", *sender ?
		    "mailfrom" : "helo", *sender ? sender : helo,
		    SPF_strresult(SPF_response_result(resp)),
		    SPF_strerror(SPF_response_errcode(resp)));
	if (SPF_response_result(resp) == SPF_RESULT_FAIL &&
	    (e = SPF_response_get_explanation(resp)) != NULL)
		free(strndup(e, 512));
	SPF_response_free(resp);
	SPF_request_free(req);
	SPF_dns_free(run.zone);
	memset(&run, 0, sizeof(run));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *end = s + size, *f[4], *nl;
	size_t flen[4];
	char *ip = NULL, *sender = NULL, *helo = NULL, *rec;
	int i;

	if (server == NULL)
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
