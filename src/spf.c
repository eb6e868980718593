/*
 * spf - SPF checks: libspf2 evaluated over the asynchronous DNS layer.
 * See spf.h for the design.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <spf2/spf.h>
#include <spf2/spf_dns.h>

#include "cidr.h"
#include "config.h"
#include "dns.h"
#include "log.h"
#include "spf.h"
#include "spfrec.h"

/* bounds on one check: distinct questions and evaluations */
#define SPF_MAX_KNOWN 400
#define SPF_MAX_RUNS 200
#define SPF_MAX_PTR_NAMES 10
#define SPF_MAX_MX_NAMES 10
#define SPF_MAX_TERMS 10
#define SPF_MAX_VOID 2

/* an unknown mechanism: libspf2 returns permerror for it, at any depth */
#define SPF_REJECTED_RECORD "v=spf1 invalid-record:x"

struct known {
	char *name;
	int type;
	unsigned hash;
	struct dns_answer *ans;         /* NULL while being fetched */
	struct dns_query *q;
	int needed;                     /* a run is waiting for it */
	struct spf_check *c;
};

struct spf_check {
	/* the question */
	int v6;
	struct in_addr a4;
	struct in6_addr a6;
	char *helo;
	char *sender;                   /* NULL: HELO identity */
	char *domain;

	/* answers collected, fetched or being fetched */
	struct known **known;           /* stable addresses: queries hold them */
	size_t nknown, known_cap;
	unsigned waiting;               /* needed answers still in flight */

	/* per run */
	unsigned misses;
	int dns_trouble;                /* a real SERVFAIL/timeout was seen */
	char *dns_problem;              /* the first one, for the report */
	int overflow;                   /* more questions than SPF_MAX_KNOWN */
	unsigned dns_terms, void_lookups;
	int txt_seen;                   /* the first TXT is the top record */
	const struct dns_answer *expand;        /* MX/PTR hosts being looked up */
	unsigned expand_used;           /* bitmap over expand->rr[0..15] */
	int over_limit;                 /* RFC 7208 4.6.4 limit exceeded */
	int top_result;                 /* set when the top record failed */

	unsigned runs;
	struct event *deadline, *kick;
	spf_done_fn *done;
	void *arg;
	struct spf_outcome out;
	char *expl, *problem;
	int finished;

	/* spf_check_want_match(): which term decided */
	int want_match;
	char *matched;
	const char *override_name;      /* serve this TXT for that name */
	char *override_txt;
};

static SPF_server_t *spf_server;
static SPF_dns_server_t spf_layer;
static struct spf_check *cur;          /* the check libspf2 is running */
static struct event_base *spf_base;

const char *
spf_result_str(enum spf_result r)
{
	switch (r) {
	case SPF_NONE: return "none";
	case SPF_NEUTRAL: return "neutral";
	case SPF_PASS: return "pass";
	case SPF_FAIL: return "fail";
	case SPF_SOFTFAIL: return "softfail";
	case SPF_TEMPERROR: return "temperror";
	case SPF_PERMERROR: return "permerror";
	}
	return "?";
}

struct event_base *
spf_event_base(void)
{
	return spf_base;
}

static unsigned
khash(const char *s, int type)
{
	unsigned h = 5381u + (unsigned)type;

	for (; *s; s++)
		h = h * 33 + (unsigned char)*s;
	return h;
}

static void
canon_name(char *dst, size_t dstsz, const char *src)
{
	size_t n, i;

	if (dst != src)         /* src may be dst: no snprintf then */
		snprintf(dst, dstsz, "%s", src);
	for (i = 0; dst[i]; i++)
		dst[i] = (char)tolower((unsigned char)dst[i]);
	n = strlen(dst);
	if (n > 1 && dst[n - 1] == '.')
		dst[n - 1] = '\0';
}

static struct known *
known_find(struct spf_check *c, const char *name, int type)
{
	unsigned h = khash(name, type);
	size_t i;

	for (i = 0; i < c->nknown; i++)
		if (c->known[i]->hash == h && c->known[i]->type == type &&
		    strcmp(c->known[i]->name, name) == 0)
			return c->known[i];
	return NULL;
}

static void spf_answer(void *arg, struct dns_answer *ans);
static void spf_run(struct spf_check *c);

/*
 * known_fetch - make sure (name, type) is known or on its way; needed says
 * whether the next run waits for it (a miss) or not (a prefetch).
 */
static void
known_fetch(struct spf_check *c, const char *name, int type, int needed)
{
	struct known *k;

	if ((k = known_find(c, name, type)) != NULL) {
		if (needed && k->ans == NULL && !k->needed) {
			k->needed = 1;
			c->waiting++;
		}
		return;
	}
	if (c->nknown >= SPF_MAX_KNOWN) {
		c->overflow = 1;
		return;
	}
	if (c->nknown == c->known_cap) {
		size_t ncap = c->known_cap ? c->known_cap * 2 : 16;
		struct known **nk = realloc(c->known, ncap * sizeof(*nk));

		if (nk == NULL)
			fatalx("spf: out of memory");
		c->known = nk;
		c->known_cap = ncap;
	}
	if ((k = calloc(1, sizeof(*k))) == NULL ||
	    (k->name = strdup(name)) == NULL)
		fatalx("spf: out of memory");
	k->type = type;
	k->hash = khash(name, type);
	k->c = c;
	c->known[c->nknown++] = k;
	if ((k->ans = dns_cache_get(name, type)) != NULL)
		return;
	k->needed = needed;
	if (needed)
		c->waiting++;
	if ((k->q = dns_query(name, type, spf_answer, k)) == NULL)
		fatalx("spf: out of memory");
}

/* ----- prefetch: names an answer makes likely to be asked next ----- */

static int
has_macro(const char *s, size_t n)
{
	return memchr(s, '%', n) != NULL;
}

static void
prefetch_term(struct spf_check *c, const char *t, size_t n)
{
	static const struct {
		const char *name;
		size_t len;
		int type;               /* 0: A or AAAA by client family */
	} terms[] = {
		{ "include:", 8, DNS_T_TXT }, { "redirect=", 9, DNS_T_TXT },
		{ "a:", 2, 0 }, { "mx:", 3, DNS_T_MX }, { "exists:", 7, DNS_T_A },
	};
	char name[256];
	size_t i, len;
	const char *p;

	/* skip a qualifier */
	if (n && (*t == '+' || *t == '-' || *t == '~' || *t == '?')) {
		t++;
		n--;
	}
	for (i = 0; i < sizeof(terms) / sizeof(terms[0]); i++) {
		if (n <= terms[i].len ||
		    strncasecmp(t, terms[i].name, terms[i].len) != 0)
			continue;
		p = t + terms[i].len;
		len = n - terms[i].len;
		/* drop a cidr-length */
		if (terms[i].type != DNS_T_TXT && memchr(p, '/', len))
			len = (size_t)((const char *)memchr(p, '/', len) - p);
		if (len == 0 || len >= sizeof(name) || has_macro(p, len))
			return;
		memcpy(name, p, len);
		name[len] = '\0';
		canon_name(name, sizeof(name), name);
		if (!dns_name_ok(name))
			return;
		known_fetch(c, name, terms[i].type ? terms[i].type :
		    (c->v6 ? DNS_T_AAAA : DNS_T_A), 0);
		return;
	}
}

static void
prefetch_record(struct spf_check *c, const struct dns_answer *a)
{
	const char *s, *e, *t;
	size_t i;

	for (i = 0; i < a->n; i++) {
		s = a->rr[i].u.txt;
		if (a->rr[i].len < 6 || strncasecmp(s, "v=spf1", 6) != 0 ||
		    (s[6] != ' ' && s[6] != '\0'))
			continue;
		e = s + a->rr[i].len;
		for (t = s + 6; t < e; ) {
			const char *sp;

			while (t < e && *t == ' ')
				t++;
			if (t >= e)
				break;
			sp = memchr(t, ' ', (size_t)(e - t));
			if (sp == NULL)
				sp = e;
			if (sp > t)
				prefetch_term(c, t, (size_t)(sp - t));
			t = sp;
		}
	}
}

static void
prefetch_hosts(struct spf_check *c, const struct dns_answer *a)
{
	size_t i;

	for (i = 0; i < a->n && i < SPF_MAX_PTR_NAMES; i++)
		if (dns_name_ok(a->rr[i].u.name))
			known_fetch(c, a->rr[i].u.name, c->v6 ? DNS_T_AAAA :
			    DNS_T_A, 0);
}

static void
prefetch(struct spf_check *c, const struct dns_answer *a)
{
	if (a->status != DNS_OK)
		return;
	if (a->type == DNS_T_TXT)
		prefetch_record(c, a);
	else if (a->type == DNS_T_MX || a->type == DNS_T_PTR)
		prefetch_hosts(c, a);
}

/* ----- the libspf2 DNS layer ----- */

static int is_modifier(const char *t, size_t n);

/*
 * compiles_whole - does libspf2 keep every mechanism of this record?  It
 * compiles into a bounded buffer and past it silently drops the rest: a
 * record of 70 ip4: terms and "-all" evaluates to neutral, not fail.
 * RFC 7208 sets no such limit; we cannot evaluate such a record right,
 * so it is a permerror (with its reason) rather than a wrong answer.
 */
static int
compiles_whole(const char *txt)
{
	static SPF_request_t *req;
	SPF_response_t *resp;
	SPF_record_t *rec = NULL;
	SPF_errcode_t err;
	const char *t, *sp, *e = txt + strlen(txt);
	unsigned want = 0;
	int ok;

	for (t = txt + 6; t < e; t = sp) {
		while (t < e && *t == ' ')
			t++;
		if (t >= e)
			break;
		if ((sp = strchr(t, ' ')) == NULL)
			sp = e;
		if (!is_modifier(t, (size_t)(sp - t)))
			want++;
	}
	if (want < 40)
		return 1;       /* far below any size that gets cut */
	if (req == NULL && (req = SPF_request_new(spf_server)) == NULL)
		fatalx("spf: out of memory");
	if ((resp = SPF_response_new(req)) == NULL)
		fatalx("spf: out of memory");
	err = SPF_record_compile(spf_server, resp, &rec, txt);
	ok = err == SPF_E_SUCCESS && rec != NULL && rec->num_mech == want;
	if (rec)
		SPF_record_free(rec);
	SPF_response_free(resp);
	return ok;
}

/* dns_trouble - a real temporary DNS failure (not a miss): say which */
static void
dns_trouble(struct spf_check *c, const char *name, int type,
    enum dns_status st)
{
	char buf[320];

	c->dns_trouble = 1;
	if (c->dns_problem != NULL)
		return;
	snprintf(buf, sizeof(buf), "DNS %s for %.253s/%s", dns_status_str(st),
	    name, dns_type_str(type));
	c->dns_problem = strdup(buf);
}

static SPF_dns_rr_t *
rr_status(SPF_dns_server_t *s, const char *domain, ns_type type, int herrno)
{
	SPF_dns_rr_t *rr;

	rr = SPF_dns_rr_new_init(s, domain, type, 0, herrno);
	if (rr == NULL)
		fatalx("spf: out of memory");
	return rr;
}

/*
 * truncate_left - RFC 7208 7.3: an expanded name longer than 253
 * characters loses labels on the left until it fits.
 */
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

static void
note_problem(struct spf_check *c, const char *what)
{
	if (c->problem == NULL)
		c->problem = strdup(what);
}

/*
 * count_term - RFC 7208 4.6.4 accounting of one lookup libspf2 makes.
 * Terms that query DNS (include, a, mx, ptr, exists, redirect) count to
 * 10; the address lookups of MX and PTR hosts do not (they have their own
 * limit of 10 per mechanism).  The first TXT lookup is the record being
 * checked.  Returns whether the lookup is a counted term.
 */
static int
count_term(struct spf_check *c, const char *name, int type)
{
	size_t i;

	if (type == ns_t_a || type == ns_t_aaaa) {
		if (c->expand != NULL) {
			for (i = 0; i < c->expand->n && i < 16; i++) {
				if (!(c->expand_used & (1u << i)) &&
				    strcmp(c->expand->rr[i].u.name, name) == 0) {
					c->expand_used |= 1u << i;
					return 0;
				}
			}
		}
	} else if (type == ns_t_txt) {
		if (!c->txt_seen) {
			c->txt_seen = 1;
			return 0;
		}
	}
	c->expand = NULL;
	if (++c->dns_terms > SPF_MAX_TERMS) {
		c->over_limit = 1;
		note_problem(c, "more than 10 DNS-querying terms");
	}
	return 1;
}

static int
answer_has_spf(const struct dns_answer *a)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		if (spfrec_is_spf(a->rr[i].u.txt, a->rr[i].len))
			return 1;
	return 0;
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
		fatalx("spf: out of memory");
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

/*
 * need - the answer to (name, type), or NULL after recording a miss.
 */
static const struct dns_answer *
need(struct spf_check *c, const char *name, int type)
{
	struct known *k = known_find(c, name, type);

	if (k != NULL && k->ans != NULL)
		return k->ans;
	c->misses++;
	known_fetch(c, name, type, 1);
	return NULL;
}

/*
 * synth_lookup - the reserved names spfrec_rewrite() puts in exists: for
 * "a/0" and "mx/0" (RFC 7208 5.3, 5.4: with a length of 0 any address of
 * the client's family matches).  Answers "exists" with one A record when
 * the name (a) or one of its first 10 MX hosts (mx) has such an address.
 * Returns NULL when name is not one of ours.
 */
static SPF_dns_rr_t *
synth_lookup(SPF_dns_server_t *s, struct spf_check *c, const char *domain,
    const char *name, ns_type type)
{
	char base[NS_MAXDNAME];
	const struct dns_answer *a, *h;
	int at = c->v6 ? DNS_T_AAAA : DNS_T_A, mx, missing = 0, match = 0;
	SPF_dns_rr_t *rr;
	size_t i;

	if ((mx = spfrec_synth_name(name, base, sizeof(base))) < 0)
		return NULL;
	if (type != ns_t_a || !dns_name_ok(base))
		return rr_status(s, domain, type, HOST_NOT_FOUND);
	if ((a = need(c, base, mx ? DNS_T_MX : at)) == NULL)
		return rr_status(s, domain, type, HOST_NOT_FOUND);
	switch (a->status) {
	case DNS_OK:
		break;
	case DNS_NXDOMAIN:
	case DNS_NODATA:
		if (++c->void_lookups > SPF_MAX_VOID) {
			c->over_limit = 1;
			note_problem(c, "more than 2 void lookups");
		}
		return rr_status(s, domain, type, HOST_NOT_FOUND);
	default:
		dns_trouble(c, base, mx ? DNS_T_MX : at, a->status);
		return rr_status(s, domain, type, TRY_AGAIN);
	}
	if (!mx) {
		match = a->n > 0;
	} else if (a->n > SPF_MAX_MX_NAMES) {
		c->over_limit = 1;
		note_problem(c, "more than 10 MX records");
		return rr_status(s, domain, type, HOST_NOT_FOUND);
	} else {
		for (i = 0; i < a->n && !match; i++) {
			if (!dns_name_ok(a->rr[i].u.name))
				continue;
			if ((h = need(c, a->rr[i].u.name, at)) == NULL)
				missing = 1;
			else if (h->status == DNS_OK && h->n > 0)
				match = 1;
		}
		if (!match && missing)
			return rr_status(s, domain, type, HOST_NOT_FOUND);
	}
	if (!match)
		return rr_status(s, domain, type, NO_DATA);
	rr = rr_status(s, domain, type, NETDB_SUCCESS);
	if (SPF_dns_rr_buf_realloc(rr, 0, sizeof(struct in_addr)) !=
	    SPF_E_SUCCESS)
		fatalx("spf: out of memory");
	rr->rr[0]->a.s_addr = htonl(0x7f000002);
	rr->num_rr = 1;
	return rr;
}

static SPF_dns_rr_t *
layer_lookup(SPF_dns_server_t *s, const char *domain, ns_type type,
    int should_cache)
{
	struct spf_check *c = cur;
	char name[NS_MAXDNAME];
	struct dns_answer *a;
	struct known *k;
	SPF_dns_rr_t *rr;
	int counted;
	const char *txt = NULL;
	char why[128], rewritten[2 * 65536 + 64];
	size_t i, n;

	(void)should_cache;
	if (c == NULL)
		return rr_status(s, domain, type, TRY_AGAIN);
	if (type != ns_t_a && type != ns_t_aaaa && type != ns_t_mx &&
	    type != ns_t_ptr && type != ns_t_txt)
		return rr_status(s, domain, type, NO_DATA);    /* no type 99 */
	canon_name(name, sizeof(name), domain);
	if (strlen(domain) >= sizeof(name))
		return rr_status(s, domain, type, HOST_NOT_FOUND);
	truncate_left(name);
	/*
	 * A name no DNS query can carry (empty or over-long label, usually
	 * from a macro expansion) does not exist (RFC 7208 4.3, 5/10).
	 */
	if (!dns_name_ok(name))
		return rr_status(s, domain, type, HOST_NOT_FOUND);
	/* past a limit the result is permerror: ask nothing more */
	if (c->over_limit)
		return rr_status(s, domain, type, HOST_NOT_FOUND);
	counted = count_term(c, name, (int)type);
	if (c->over_limit)
		return rr_status(s, domain, type, HOST_NOT_FOUND);
	if ((rr = synth_lookup(s, c, domain, name, type)) != NULL)
		return rr;
	if (c->override_name && type == ns_t_txt &&
	    strcmp(name, c->override_name) == 0) {
		n = strlen(c->override_txt) + 1;
		rr = rr_status(s, domain, type, NETDB_SUCCESS);
		if (SPF_dns_rr_buf_realloc(rr, 0, n) != SPF_E_SUCCESS)
			fatalx("spf: out of memory");
		memcpy(rr->rr[0]->txt, c->override_txt, n);
		rr->num_rr = 1;
		return rr;
	}
	k = known_find(c, name, (int)type);
	if (k == NULL) {
		/* in the cache already? then this is no miss: no re-run */
		known_fetch(c, name, (int)type, 0);
		k = known_find(c, name, (int)type);
	}
	if (k == NULL || k->ans == NULL) {
		/*
		 * Not fetched yet: ask for it.  "Does not exist" lets libspf2
		 * go on, so one run collects every independent miss; the
		 * result of a run with a miss is thrown away.
		 */
		c->misses++;
		known_fetch(c, name, (int)type, 1);
		return rr_status(s, domain, type, HOST_NOT_FOUND);
	}
	a = k->ans;
	if (counted && (a->status == DNS_NXDOMAIN || a->status == DNS_NODATA) &&
	    type != ns_t_txt && ++c->void_lookups > SPF_MAX_VOID) {
		c->over_limit = 1;
		note_problem(c, "more than 2 void lookups");
	}
	if (type == ns_t_mx && a->status == DNS_OK && a->n > SPF_MAX_MX_NAMES) {
		/* RFC 7208 4.6.4: more than 10 MX names is a permerror */
		c->over_limit = 1;
		note_problem(c, "more than 10 MX records");
		return rr_status(s, domain, type, HOST_NOT_FOUND);
	}
	if ((type == ns_t_mx || type == ns_t_ptr) && a->status == DNS_OK) {
		c->expand = a;
		c->expand_used = 0;
	}
	switch (a->status) {
	case DNS_OK:
		break;
	case DNS_NXDOMAIN:
		return rr_status(s, domain, type, HOST_NOT_FOUND);
	case DNS_NODATA:
		return rr_status(s, domain, type, NO_DATA);
	default:
		dns_trouble(c, a->name, a->type, a->status);
		return rr_status(s, domain, type, TRY_AGAIN);
	}
	if (type == ns_t_txt && !answer_has_spf(a)) {
		/*
		 * No SPF record here, so this is an explanation (or a domain
		 * without SPF, where NO_DATA means the same: none).  RFC 7208
		 * 6.2: one record, 7-bit, valid macro-string, else the default
		 * explanation.  libspf2 expands it as a macro-string, in which
		 * a space must be written "%_".
		 */
		if (a->n != 1 || !spfrec_macro_string_ok(a->rr[0].u.txt,
		    a->rr[0].len, 1))
			return rr_status(s, domain, type, NO_DATA);
		return exp_rr(s, domain, a->rr[0].u.txt, a->rr[0].len);
	}
	rr = rr_status(s, domain, type, NETDB_SUCCESS);
	n = a->n;
	if (type == ns_t_ptr && n > SPF_MAX_PTR_NAMES)
		n = SPF_MAX_PTR_NAMES;  /* RFC 7208 4.6.4: ignore the rest */
	for (i = 0; i < n; i++) {
		size_t len;

		switch (type) {
		case ns_t_a: len = sizeof(struct in_addr); break;
		case ns_t_aaaa: len = sizeof(struct in6_addr); break;
		case ns_t_txt:
			txt = a->rr[i].u.txt;
			len = a->rr[i].len + 1;
			/*
			 * An SPF record RFC 7208 calls invalid is a permerror
			 * even where libspf2 would accept it: hand libspf2 a
			 * record it certainly rejects instead.
			 */
			if (spfrec_is_spf(txt, a->rr[i].len)) {
				if (spfrec_check(txt, a->rr[i].len, NULL, why,
				    sizeof(why)) < 0) {
					if (c->problem == NULL && (c->problem =
					    malloc(strlen(why) + strlen(name) +
					    32)))
						sprintf(c->problem, "invalid "
						    "record at %s: %s", name,
						    why);
					txt = SPF_REJECTED_RECORD;
				} else if (spfrec_rewrite(txt, a->rr[i].len,
				    c->v6, rewritten, sizeof(rewritten)) == 0) {
					txt = rewritten;
					if (!compiles_whole(txt)) {
						if (c->problem == NULL &&
						    (c->problem = malloc(
						    strlen(name) + 64)))
							sprintf(c->problem,
							    "record at %s too "
							    "large to evaluate",
							    name);
						txt = SPF_REJECTED_RECORD;
					}
				} else {
					txt = SPF_REJECTED_RECORD;
				}
				len = strlen(txt) + 1;
			}
			break;
		default: len = strlen(a->rr[i].u.name) + 1; break;
		}
		if (SPF_dns_rr_buf_realloc(rr, (int)i, len) != SPF_E_SUCCESS)
			fatalx("spf: out of memory");
		switch (type) {
		case ns_t_a:
			rr->rr[i]->a = a->rr[i].u.a;
			break;
		case ns_t_aaaa:
			rr->rr[i]->aaaa = a->rr[i].u.aaaa;
			break;
		case ns_t_txt:
			memcpy(rr->rr[i]->txt, txt, len);
			break;
		case ns_t_mx:
			memcpy(rr->rr[i]->mx, a->rr[i].u.name, len);
			break;
		default:
			memcpy(rr->rr[i]->ptr, a->rr[i].u.name, len);
			break;
		}
		rr->num_rr++;
	}
	return rr;
}

/* ----- a check's life ----- */

static void
spf_finish(struct spf_check *c, enum spf_result r, const char *problem)
{
	c->finished = 1;
	c->out.result = r;
	if (problem && c->problem == NULL)
		c->problem = strdup(problem);
	c->out.problem = c->problem;
	c->out.explanation = c->expl;
	c->out.domain = c->domain;
	c->out.identity = c->sender ? "mailfrom" : "helo";
	c->out.runs = c->runs;
	c->out.queries = (unsigned)c->nknown;
	c->out.dns_terms = c->dns_terms;
	c->out.void_lookups = c->void_lookups;
	c->out.matched = c->matched;
	/* from the loop, never from the caller's own stack */
	event_active(c->kick, EV_TIMEOUT, 0);
}

static void
check_free(struct spf_check *c)
{
	size_t i;

	for (i = 0; i < c->nknown; i++) {
		if (c->known[i]->q)
			dns_cancel(c->known[i]->q);
		dns_answer_unref(c->known[i]->ans);
		free(c->known[i]->name);
		free(c->known[i]);
	}
	free(c->known);
	if (c->deadline)
		event_free(c->deadline);
	if (c->kick)
		event_free(c->kick);
	free(c->helo);
	free(c->sender);
	free(c->domain);
	free(c->expl);
	free(c->problem);
	free(c->dns_problem);
	free(c->matched);
	free(c);
}

static void
spf_kick(evutil_socket_t fd, short what, void *arg)
{
	struct spf_check *c = arg;

	(void)fd;
	(void)what;
	if (!c->finished) {
		spf_run(c);
		return;
	}
	c->done(c->arg, &c->out);
	check_free(c);
}

static void
spf_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct spf_check *c = arg;

	(void)fd;
	(void)what;
	if (!c->finished)
		spf_finish(c, SPF_TEMPERROR, "DNS lookup time exceeded");
}

static void
spf_answer(void *arg, struct dns_answer *ans)
{
	struct known *k = arg;
	struct spf_check *c = k->c;

	k->q = NULL;
	k->ans = dns_answer_ref(ans);
	if (c->finished)
		return;
	prefetch(c, ans);
	if (k->needed) {
		k->needed = 0;
		if (--c->waiting == 0)
			spf_run(c);
	}
}

static enum spf_result
map_result(struct spf_check *c, SPF_response_t *resp)
{
	switch (SPF_response_result(resp)) {
	case SPF_RESULT_PASS: return SPF_PASS;
	case SPF_RESULT_FAIL: return SPF_FAIL;
	case SPF_RESULT_SOFTFAIL: return SPF_SOFTFAIL;
	case SPF_RESULT_NEUTRAL: return SPF_NEUTRAL;
	case SPF_RESULT_NONE: return SPF_NONE;
	case SPF_RESULT_TEMPERROR: return SPF_TEMPERROR;
	case SPF_RESULT_PERMERROR: return SPF_PERMERROR;
	default:
		/* a top-level DNS error leaves INVALID (REFERENCE.md) */
		return c->dns_trouble || SPF_response_errcode(resp) ==
		    SPF_E_DNS_ERROR ? SPF_TEMPERROR : SPF_PERMERROR;
	}
}

/*
 * evaluate - what SPF_request_query_mailfrom() does, minus its shortcut
 * that passes every loopback client: fetch the record, interpret it.
 * A failure to get the record is mapped here (libspf2 leaves the result
 * unset for it at the top level).
 */
static SPF_response_t *
evaluate(struct spf_check *c, SPF_request_t *req)
{
	SPF_response_t *resp;
	SPF_record_t *rec = NULL;
	SPF_errcode_t err;

	if ((resp = SPF_response_new(req)) == NULL)
		fatalx("spf: out of memory");
	req->cur_dom = req->use_helo ? req->helo_dom : req->env_from_dp;
	if (req->cur_dom == NULL) {
		c->top_result = SPF_NONE;
		return resp;
	}
	err = SPF_server_get_record(spf_server, req, resp, &rec);
	if (err != SPF_E_SUCCESS) {
		if (rec)
			SPF_record_free(rec);
		if (SPF_response_result(resp) == SPF_RESULT_NONE)
			c->top_result = SPF_NONE;
		else if (err == SPF_E_DNS_ERROR)
			c->top_result = SPF_TEMPERROR;
		else
			c->top_result = SPF_PERMERROR;
		if (c->top_result == SPF_PERMERROR && c->problem == NULL)
			c->problem = strdup(SPF_strerror(err));
		return resp;
	}
	resp->spf_record_exp = rec;
	SPF_record_interpret(rec, req, resp, 0);
	resp->spf_record_exp = NULL;
	SPF_record_free(rec);
	return resp;
}

static int name_ok(const char *d);

static SPF_request_t *
make_request(struct spf_check *c)
{
	SPF_request_t *req;

	c->misses = 0;
	c->dns_trouble = 0;
	c->dns_terms = c->void_lookups = 0;
	c->txt_seen = 0;
	c->expand = NULL;
	c->expand_used = 0;
	c->over_limit = 0;
	c->top_result = -1;
	if ((req = SPF_request_new(spf_server)) == NULL)
		fatalx("spf: out of memory");
	if (c->v6)
		SPF_request_set_ipv6(req, c->a6);
	else
		SPF_request_set_ipv4(req, c->a4);
	/* %{h}: only a name we have bounded reaches libspf2 */
	if (c->helo && *c->helo && name_ok(c->helo))
		SPF_request_set_helo_dom(req, c->helo);
	if (c->sender) {
		SPF_request_set_env_from(req, c->sender);
	} else {
		req->use_helo = 1;
		SPF_request_set_env_from(req, "");
	}
	return req;
}

/*
 * eval_with - the result when the record of name were txt (a prefix of
 * the real one, see find_match); -1 when that needs an answer not known.
 */
static int
eval_with(struct spf_check *c, const char *name, const char *txt)
{
	char rewritten[4096];
	SPF_request_t *req;
	SPF_response_t *resp;
	int r;

	if (spfrec_rewrite(txt, strlen(txt), c->v6, rewritten,
	    sizeof(rewritten)) < 0)
		return -1;
	c->override_name = name;
	c->override_txt = rewritten;
	req = make_request(c);
	cur = c;
	resp = evaluate(c, req);
	cur = NULL;
	if (c->misses)
		r = -1;
	else if (c->over_limit)
		r = SPF_PERMERROR;
	else if (c->top_result >= 0)
		r = c->top_result;
	else
		r = (int)map_result(c, resp);
	SPF_response_free(resp);
	SPF_request_free(req);
	c->override_name = NULL;
	c->override_txt = NULL;
	return r;
}

static int
is_modifier(const char *t, size_t n)
{
	size_t i;

	if (n == 0 || !isalpha((unsigned char)t[0]))
		return 0;
	for (i = 1; i < n && (isalnum((unsigned char)t[i]) || t[i] == '-' ||
	    t[i] == '_' || t[i] == '.'); i++)
		;
	return i < n && t[i] == '=';
}

/*
 * find_match - the term of the top record that decided, for spfpd -q:
 * libspf2 does not say, so ask it about prefixes of the record.  With
 * "-all" and then "+all" after the first k mechanisms, the two results
 * agree exactly when one of those k matched; the first such k names it.
 * Every answer is known by now (evaluation stops at the first match), so
 * this costs no DNS.
 */
static char *
find_match(struct spf_check *c)
{
	char name[256], prefix[4096], *out = NULL, *redirect = NULL;
	const char *rec = NULL, *t, *e, *sp;
	struct known *k;
	size_t i, len = 0, plen;
	int r1, r2, nmech = 0;

	canon_name(name, sizeof(name), c->domain);
	if ((k = known_find(c, name, DNS_T_TXT)) == NULL || k->ans == NULL ||
	    k->ans->status != DNS_OK)
		return NULL;
	for (i = 0; i < k->ans->n; i++) {
		if (spfrec_is_spf(k->ans->rr[i].u.txt, k->ans->rr[i].len)) {
			rec = k->ans->rr[i].u.txt;
			len = k->ans->rr[i].len;
			break;
		}
	}
	if (rec == NULL || len >= sizeof(prefix) - 16 ||
	    spfrec_check(rec, len, NULL, prefix, sizeof(prefix)) < 0)
		return NULL;
	memcpy(prefix, "v=spf1", 6);
	plen = 6;
	e = rec + len;
	for (t = rec + 6; t < e && nmech < 40; t = sp) {
		while (t < e && *t == ' ')
			t++;
		if (t >= e)
			break;
		if ((sp = memchr(t, ' ', (size_t)(e - t))) == NULL)
			sp = e;
		if (is_modifier(t, (size_t)(sp - t))) {
			if (strncasecmp(t, "redirect=", 9) == 0 && !redirect)
				redirect = strndup(t, (size_t)(sp - t));
			continue;
		}
		nmech++;
		prefix[plen++] = ' ';
		memcpy(prefix + plen, t, (size_t)(sp - t));
		plen += (size_t)(sp - t);
		memcpy(prefix + plen, " -all", 6);
		r1 = eval_with(c, name, prefix);
		memcpy(prefix + plen, " +all", 6);
		r2 = eval_with(c, name, prefix);
		prefix[plen] = '\0';
		if (r1 < 0 || r2 < 0)
			break;
		if (r1 == r2) {
			out = strndup(t, (size_t)(sp - t));
			break;
		}
	}
	if (out == NULL && redirect != NULL && t >= e)
		out = redirect;
	else
		free(redirect);
	return out;
}

/* spf_run - one evaluation; fetch what it missed, or finish */
static void
spf_run(struct spf_check *c)
{
	SPF_request_t *req;
	SPF_response_t *resp = NULL;
	enum spf_result r;
	const char *e;

	for (;;) {
		if (++c->runs > SPF_MAX_RUNS) {
			spf_finish(c, SPF_TEMPERROR, "too many DNS rounds");
			return;
		}
		req = make_request(c);
		cur = c;
		resp = evaluate(c, req);
		cur = NULL;
		if (c->misses == 0)
			break;
		SPF_response_free(resp);
		SPF_request_free(req);
		resp = NULL;
		if (c->overflow) {
			spf_finish(c, SPF_PERMERROR, "too many DNS lookups");
			return;
		}
		if (c->waiting > 0)
			return;         /* spf_answer() runs us again */
	}
	if (c->over_limit)
		r = SPF_PERMERROR;
	else if (c->top_result >= 0)
		r = (enum spf_result)c->top_result;
	else
		r = map_result(c, resp);
	if (r == SPF_FAIL && (e = SPF_response_get_explanation(resp)) != NULL)
		c->expl = strndup(e, 512);
	if (r == SPF_TEMPERROR && c->problem == NULL && c->dns_problem) {
		c->problem = c->dns_problem;
		c->dns_problem = NULL;
	}
	if ((r == SPF_PERMERROR || r == SPF_TEMPERROR) && c->problem == NULL)
		c->problem = strdup(SPF_strerror(SPF_response_errcode(resp)));
	SPF_response_free(resp);
	SPF_request_free(req);
	if (c->want_match && r != SPF_NONE && r != SPF_TEMPERROR) {
		/* the searches must not change what this check reports */
		unsigned terms = c->dns_terms, voids = c->void_lookups;
		char *problem = c->problem, *dproblem = c->dns_problem;

		c->problem = c->dns_problem = (char *)"";
		c->matched = find_match(c);
		c->problem = problem;
		c->dns_problem = dproblem;
		c->dns_terms = terms;
		c->void_lookups = voids;
	}
	spf_finish(c, r, NULL);
}

/* bound what we hand to libspf2 (its macro expander had CVEs) */
static int
name_ok(const char *d)
{
	return d != NULL && *d != '\0' && strlen(d) <= 253 && dns_name_ok(d);
}

struct spf_check *
spf_check_start(const char *ip, const char *helo, const char *sender,
    unsigned lookup_time_ms, spf_done_fn *done, void *arg)
{
	struct spf_check *c;
	unsigned char a[16];
	struct timeval tv;
	const char *at, *dom;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->done = done;
	c->arg = arg;
	c->kick = event_new(spf_base, -1, 0, spf_kick, c);
	c->deadline = evtimer_new(spf_base, spf_deadline, c);
	if (c->kick == NULL || c->deadline == NULL) {
		check_free(c);
		return NULL;
	}
	c->helo = strdup(helo ? helo : "");
	c->sender = sender ? strdup(sender) : NULL;
	if (c->helo == NULL || (sender && c->sender == NULL)) {
		check_free(c);
		return NULL;
	}
	at = sender ? strrchr(sender, '@') : NULL;
	dom = sender ? (at ? at + 1 : sender) : c->helo;
	c->domain = strdup(dom);
	if (c->domain == NULL) {
		check_free(c);
		return NULL;
	}
	/* "example." is "example": not multi-label, so "none" below */
	if (*c->domain && c->domain[strlen(c->domain) - 1] == '.')
		c->domain[strlen(c->domain) - 1] = '\0';
	if (cidr_addr_parse(ip, a) < 0) {
		spf_finish(c, SPF_PERMERROR, "bad client address");
		return c;
	}
	/* IPv4-mapped IPv6 is IPv4: libspf2 mishandles the mapped form */
	if (cidr_addr_is_v4(a)) {
		memcpy(&c->a4, a + 12, 4);
	} else {
		c->v6 = 1;
		memcpy(&c->a6, a, 16);
	}
	/* RFC 7208 4.3: a malformed domain gives "none" */
	if (!name_ok(c->domain) || strchr(c->domain, '.') == NULL ||
	    (sender && at && (size_t)(at - sender) > 64) ||
	    (sender && strlen(sender) > 320)) {
		spf_finish(c, SPF_NONE, "malformed domain");
		return c;
	}
	tv.tv_sec = lookup_time_ms / 1000;
	tv.tv_usec = (lookup_time_ms % 1000) * 1000;
	evtimer_add(c->deadline, &tv);
	/* first run from the loop, so done() never runs inside this call */
	event_active(c->kick, EV_TIMEOUT, 0);
	return c;
}

void
spf_check_want_match(struct spf_check *c)
{
	c->want_match = 1;
}

void
spf_check_cancel(struct spf_check *c)
{
	if (c != NULL)
		check_free(c);
}

/* spf_configure - settings that a reload may change */
int
spf_configure(const struct config *cfg)
{
	SPF_response_t *resp = NULL;
	SPF_errcode_t err;
	const char *p;
	char *text, *o;

	/* a macro-string for libspf2: spaces as "%_" (it mangles them) */
	if ((text = malloc(2 * strlen(cfg->default_explanation) + 1)) == NULL)
		return -1;
	for (p = cfg->default_explanation, o = text; *p; p++) {
		if (*p == ' ') {
			*o++ = '%';
			*o++ = '_';
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
	err = SPF_server_set_explanation(spf_server, text, &resp);
	SPF_response_free(resp);
	free(text);
	if (err != SPF_E_SUCCESS) {
		log_warnx("default_explanation: %s", SPF_strerror(err));
		return -1;
	}
	return 0;
}

int
spf_init(struct event_base *base, const struct config *cfg)
{
	spf_base = base;
	memset(&spf_layer, 0, sizeof(spf_layer));
	spf_layer.lookup = layer_lookup;
	spf_layer.name = "spfpd";
	spf_layer.destroy = NULL;       /* static: not freed by libspf2 */
	spf_server = SPF_server_new_dns(&spf_layer, 0);
	if (spf_server == NULL) {
		log_warnx("spf: SPF_server_new_dns failed");
		return -1;
	}
	return spf_configure(cfg);
}

void
spf_shutdown(void)
{
	if (spf_server)
		SPF_server_free(spf_server);
	spf_server = NULL;
}
