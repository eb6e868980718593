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
#include <time.h>

#include <event2/event.h>
#include <spf2/spf.h>
#include <spf2/spf_dns.h>

#include "cidr.h"
#include "config.h"
#include "dns.h"
#include "iprev.h"
#include "log.h"
#include "spf.h"
#include "spfrec.h"
#include "xmalloc.h"

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
	unsigned base;                  /* DNS terms evaluated before this
	                                   answer can be used, at least */
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

	/*
	 * Per run: the continuation records of records libspf2 cannot hold
	 * whole, and every exp= met, with the domain of its record.  The
	 * explanation is ours to fetch (see explain()).
	 */
	char **conts;
	size_t nconts, conts_cap;
	struct expref {
		char *domain;           /* the record's current domain */
		char *spec;             /* its exp= domain-spec */
	} *exps;
	size_t nexps, exps_cap;
	int exp_last;                   /* libspf2's last exp= asked, or -1 */
	int in_exp;                     /* explaining: lookups are no terms */
	char **names;                   /* expanded names under a marker */
	size_t nnames, names_cap;

	/* the values of the macro letters (RFC 7208 7.2) but d and p */
	struct spfrec_env env;
	char *env_buf[8];

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
static void prefetch(struct spf_check *c, const struct dns_answer *a,
    unsigned base);

/*
 * known_fetch - make sure (name, type) is known or on its way; needed says
 * whether the next run waits for it (a miss) or not (a prefetch).  base:
 * how many DNS terms evaluation must have gone through before it can use
 * this answer (see prefetch_record).
 */
static void
known_fetch(struct spf_check *c, const char *name, int type, int needed,
    unsigned base)
{
	struct known *k;

	if ((k = known_find(c, name, type)) != NULL) {
		if (needed && k->ans == NULL && !k->needed) {
			k->needed = 1;
			c->waiting++;
		}
		if (base < k->base) {
			/* reachable earlier than thought: reach further */
			k->base = base;
			if (k->ans != NULL)
				prefetch(c, k->ans, base);
		}
		return;
	}
	if (c->nknown >= SPF_MAX_KNOWN) {
		c->overflow = 1;
		return;
	}
	if (c->nknown == c->known_cap) {
		size_t ncap = c->known_cap ? c->known_cap * 2 : 16;
		c->known = xreallocarray(c->known, ncap, sizeof(*c->known));
		c->known_cap = ncap;
	}
	k = xcalloc(1, sizeof(*k));
	k->name = xstrdup(name);
	k->type = type;
	k->hash = khash(name, type);
	k->base = base;
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

/*
 * ----- prefetch: names an answer makes likely to be asked next -----
 *
 * Within the limits of RFC 7208 4.6.4, which exist to stop exactly this
 * amplification: a record at base b (b DNS terms are evaluated before it
 * is read) can reach its k-th DNS-querying term (k from 0) only when
 * b + k < 10, and a term reached there is the (b + k + 1)-th.  A record
 * of 300 "a:" terms costs 10 prefetches, not 300; MX and PTR answers
 * have their hosts prefetched up to their own limit of 10.
 */

static int
has_macro(const char *s, size_t n)
{
	return memchr(s, '%', n) != NULL;
}

/* next_term - the next term of a record at or after *t (before e), its
 * end in *sp; 0 when there is none */
static int
next_term(const char **t, const char *e, const char **sp)
{
	while (*t < e && **t == ' ')
		(*t)++;
	if (*t >= e)
		return 0;
	if ((*sp = memchr(*t, ' ', (size_t)(e - *t))) == NULL)
		*sp = e;
	return 1;
}

/*
 * dns_term_type - the DNS type a term of a record queries (0: A or AAAA
 * by the client's family), with its name in *name (*nlen bytes, no
 * cidr-length); -1 for a term that queries nothing, -2 for one that does
 * but whose name we cannot know here (ptr, macros, a and mx without a
 * domain: the current domain, asked anyway).
 */
static int
dns_term_type(const char *t, size_t n, const char **name, size_t *nlen)
{
	static const struct {
		const char *name;
		size_t len;
		int type;               /* 0: A or AAAA by client family */
	} terms[] = {
		{ "include:", 8, DNS_T_TXT }, { "redirect=", 9, DNS_T_TXT },
		{ "a:", 2, 0 }, { "mx:", 3, DNS_T_MX }, { "exists:", 7, DNS_T_A },
	};
	const char *p;
	size_t i, len;

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
		if (len == 0 || has_macro(p, len))
			return -2;
		*name = p;
		*nlen = len;
		return terms[i].type;
	}
	/* a, mx, ptr with no name, or with a cidr-length only */
	if ((n == 1 && strncasecmp(t, "a", 1) == 0) ||
	    (n == 2 && strncasecmp(t, "mx", 2) == 0) ||
	    (n >= 3 && strncasecmp(t, "ptr", 3) == 0 && (n == 3 ||
	    t[3] == ':')) || (n > 1 && strncasecmp(t, "a/", 2) == 0) ||
	    (n > 2 && strncasecmp(t, "mx/", 3) == 0))
		return -2;
	return -1;
}

static void
prefetch_term(struct spf_check *c, int type, const char *p, size_t len,
    unsigned base)
{
	char name[256];

	if (len >= sizeof(name))
		return;
	memcpy(name, p, len);
	name[len] = '\0';
	canon_name(name, sizeof(name), name);
	if (!dns_name_ok(name))
		return;
	known_fetch(c, name, type ? type : (c->v6 ? DNS_T_AAAA : DNS_T_A), 0,
	    base);
}

static void
prefetch_record(struct spf_check *c, const struct dns_answer *a,
    unsigned base)
{
	const char *s, *e, *t, *sp, *name, *redirect = NULL;
	size_t i, nlen, rlen = 0;
	unsigned k;
	int type;

	for (i = 0; i < a->n; i++) {
		s = a->rr[i].u.txt;
		if (!spfrec_is_spf(s, a->rr[i].len))
			continue;
		e = s + a->rr[i].len;
		k = 0;
		for (t = s + 6; base + k < SPF_MAX_TERMS &&
		    next_term(&t, e, &sp); t = sp) {
			type = dns_term_type(t, (size_t)(sp - t), &name, &nlen);
			if (type == -1)
				continue;
			if (type >= 0 && strncasecmp(t, "redirect=", 9) == 0) {
				redirect = name;        /* evaluated last */
				rlen = nlen;
				continue;
			}
			if (type >= 0)
				prefetch_term(c, type, name, nlen,
				    base + k + 1);
			k++;
		}
		if (redirect != NULL && base + k < SPF_MAX_TERMS)
			prefetch_term(c, DNS_T_TXT, redirect, rlen,
			    base + k + 1);
	}
}

static void
prefetch_hosts(struct spf_check *c, const struct dns_answer *a,
    unsigned base)
{
	size_t i;

	for (i = 0; i < a->n && i < SPF_MAX_PTR_NAMES; i++)
		if (dns_name_ok(a->rr[i].u.name))
			known_fetch(c, a->rr[i].u.name, c->v6 ? DNS_T_AAAA :
			    DNS_T_A, 0, base);
}

static void
prefetch(struct spf_check *c, const struct dns_answer *a, unsigned base)
{
	if (a->status != DNS_OK || base >= SPF_MAX_TERMS + 1)
		return;
	if (a->type == DNS_T_TXT)
		prefetch_record(c, a, base);
	else if (a->type == DNS_T_MX || a->type == DNS_T_PTR)
		prefetch_hosts(c, a, base);
}

/* ----- the libspf2 DNS layer ----- */

static int is_modifier(const char *t, size_t n);

/*
 * ----- records as libspf2 gets them -----
 *
 * libspf2 compiles a record into fixed buffers: past 511 bytes of
 * compiled mechanisms (or modifiers) it drops the rest without a word, so
 * "v=spf1 <20 ip4> <8 include> -all" would evaluate to neutral.  Such a
 * record is cut into pieces that fit, chained by redirect= to
 * continuation records under SPF_CONT_SUFFIX that this layer serves
 * itself (no DNS, no DNS term).  Redirect changes the current domain, so
 * a continuation's terms are pinned to the original one first
 * (spfrec_pin_domain: "a" becomes "a:<domain>"; macros are expanded by
 * then, see expand_term).
 *
 * exp= is replaced by a marker under SPF_EXP_SUFFIX that names the
 * record's domain and domain-spec: libspf2 asks for an explanation at
 * every fail, softfail and neutral, inside include: too, which would cost
 * DNS and (counted as lookups) turn fails into permerrors.  The marker
 * only tells our get_exp hook which exp= libspf2 wanted; the one
 * explanation RFC 7208 6.2 asks for is fetched after the result is known.
 */
#define SPF_CONT_SUFFIX ".cont.spfpd.invalid"
#define SPF_EXP_SUFFIX ".exp.spfpd.invalid"
#define SPF_MECH_BUDGET 440     /* estimated compiled bytes of a piece */

/* marker_index - n for "<n><suffix>", else -1 */
static long
marker_index(const char *name, const char *suffix)
{
	size_t n = strlen(name), sl = strlen(suffix);
	char *end;
	long v;

	if (n <= sl || strcasecmp(name + n - sl, suffix) != 0 ||
	    !isdigit((unsigned char)name[0]))
		return -1;
	v = strtol(name, &end, 10);
	return end == name + n - sl && v >= 0 && v < 100000 ? v : -1;
}

static void *
grow(void *v, size_t *cap, size_t n, size_t elsz)
{
	if (n < *cap)
		return v;
	*cap = *cap ? 2 * *cap : 8;
	return xreallocarray(v, *cap, elsz);
}

static void
run_tables_free(struct spf_check *c)
{
	size_t i;

	for (i = 0; i < c->nconts; i++)
		free(c->conts[i]);
	for (i = 0; i < c->nexps; i++) {
		free(c->exps[i].domain);
		free(c->exps[i].spec);
	}
	for (i = 0; i < c->nnames; i++)
		free(c->names[i]);
	c->nconts = c->nexps = c->nnames = 0;
	c->exp_last = -1;
}

/*
 * compiled_whole - does libspf2 keep every term of txt: nmech mechanisms
 * (redirect= is compiled as one) and nmod modifiers?
 */
static int
compiled_whole(const char *txt, unsigned nmech, unsigned nmod)
{
	static SPF_request_t *req;
	SPF_response_t *resp;
	SPF_record_t *rec = NULL;
	SPF_errcode_t err;
	int ok;

	if (req == NULL && (req = SPF_request_new(spf_server)) == NULL)
		fatalx("spf: out of memory");
	if ((resp = SPF_response_new(req)) == NULL)
		fatalx("spf: out of memory");
	err = SPF_record_compile(spf_server, resp, &rec, txt);
	ok = err == SPF_E_SUCCESS && rec != NULL && rec->num_mech == nmech &&
	    rec->num_mod == nmod;
	if (rec)
		SPF_record_free(rec);
	SPF_response_free(resp);
	return ok;
}

/*
 * an upper bound on what one term costs in libspf2's buffer: an ip4: is
 * 8 bytes, an ip6: 20, all 4 (measured), a name 4 and its text rounded
 * up, per piece of literal text
 */
static size_t
term_cost(const char *t, size_t n)
{
	size_t i, pieces = 1 + n / 255;

	if (n && (*t == '+' || *t == '-' || *t == '~' || *t == '?')) {
		t++;
		n--;
	}
	if (n > 4 && strncasecmp(t, "ip4:", 4) == 0)
		return 12;
	if (n > 4 && strncasecmp(t, "ip6:", 4) == 0)
		return 24;
	if (n == 3 && strncasecmp(t, "all", 3) == 0)
		return 8;

	for (i = 0; i < n; i++)
		if (t[i] == '%')
			pieces++;
	return 8 + n + 8 * pieces;
}

struct strbuf {
	char *s;
	size_t len, cap;
};

static void
sb_add(struct strbuf *b, const char *s, size_t n)
{
	if (b->len + n + 2 > b->cap) {
		b->cap = 2 * (b->len + n + 2) + 64;
		b->s = xreallocarray(b->s, b->cap, 1);
	}
	if (b->len > 0)
		b->s[b->len++] = ' ';
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

/*
 * ----- macros: expanded here, never by libspf2 -----
 *
 * libspf2's expander drops a character when a transformer asks for more
 * parts than a value has ("%{l2}" of "postmaster" is "ostmaster"),
 * escapes in lower case, and had CVEs.  Every domain-spec with a macro is
 * expanded by spfrec_expand() when the record is served, with the
 * record's own domain for %{d}; libspf2 gets a plain name, or, when the
 * value holds bytes a record cannot carry (space, '%', '/', ...), a
 * marker under SPF_NAME_SUFFIX that this layer maps back to it.
 */
#define SPF_NAME_SUFFIX ".name.spfpd.invalid"
#define SPF_EXP_MAX 512         /* an explanation goes into a reply line */
#define SPF_NAME_KEEP (253 + sizeof(SPFREC_ANY_MX))

static const struct dns_answer *need(struct spf_check *c, const char *name,
    int type);
static void truncate_left(char *name);

/* addr_in - does answer a hold the client's address? */
static int
addr_in(const struct spf_check *c, const struct dns_answer *a)
{
	size_t i;

	if (a->status != DNS_OK)
		return 0;
	for (i = 0; i < a->n; i++)
		if (c->v6 ? memcmp(&a->rr[i].u.aaaa, &c->a6, 16) == 0 :
		    a->rr[i].u.a.s_addr == c->a4.s_addr)
			return 1;
	return 0;
}

/*
 * p_value - %{p}: a validated name of the client (RFC 7208 7.3, 5.5):
 * domain itself if validated, else a subdomain of it, else any, else
 * "unknown"; NULL after recording a miss.  Its lookups are no DNS terms.
 */
static const char *
p_value(struct spf_check *c, const char *domain)
{
	char rev[80];
	const struct dns_answer *a, *h;
	const char *first = NULL, *sub = NULL, *exact = NULL, *nm;
	size_t i, dl = strlen(domain), nl;
	int missing = 0;

	if (iprev_reverse_name(c->env.c, rev, sizeof(rev)) < 0)
		return "unknown";
	if ((a = need(c, rev, DNS_T_PTR)) == NULL)
		return NULL;
	if (a->status != DNS_OK)
		return "unknown";
	for (i = 0; i < a->n && i < SPF_MAX_PTR_NAMES; i++) {
		nm = a->rr[i].u.name;
		if (!dns_name_ok(nm))
			continue;
		if ((h = need(c, nm, c->v6 ? DNS_T_AAAA : DNS_T_A)) == NULL) {
			missing = 1;
			continue;
		}
		if (!addr_in(c, h))
			continue;
		nl = strlen(nm);
		if (strcasecmp(nm, domain) == 0)
			exact = nm;
		else if (sub == NULL && nl > dl && nm[nl - dl - 1] == '.' &&
		    strcasecmp(nm + nl - dl, domain) == 0)
			sub = nm;
		else if (first == NULL)
			first = nm;
	}
	if (missing)
		return NULL;
	/* 7.3: the <domain> itself, else a subdomain, else any */
	return exact ? exact : sub ? sub : first ? first : "unknown";
}

/*
 * expand_spec - the domain-spec s (n bytes) of a record of domain,
 * expanded (exp: the letters c, r, t too), cut on the left to 253
 * (RFC 7208 7.3); malloc'd, NULL if it does not fit.  A %{p} not known
 * yet reads "unknown" and records a miss (this run is thrown away).
 */
static char *
expand_spec(struct spf_check *c, const char *domain, const char *s,
    size_t n, int exp)
{
	struct spfrec_env env = c->env;
	char *out, tbuf[32];
	size_t sz;

	env.d = domain;
	env.p = NULL;
	if (memmem(s, n, "%{p", 3) != NULL || memmem(s, n, "%{P", 3) != NULL)
		env.p = p_value(c, domain);
	if (exp) {
		snprintf(tbuf, sizeof(tbuf), "%lld", (long long)time(NULL));
		env.t = tbuf;
	}
	/*
	 * A name is expanded whole (7.3 then cuts it on the left); of an
	 * explanation only the left part is kept (explain() cuts at 512).
	 */
	sz = exp ? SPF_EXP_MAX + 1 : spfrec_expand_size(s, n, &env);
	out = xmalloc(sz);
	if (spfrec_expand(s, n, &env, out, sz, exp) < 0) {
		free(out);
		return NULL;
	}
	return out;
}

/*
 * cut_name - an expanded name over 253 loses labels on the left (7.3);
 * for our a/0 and mx/0 names, the name before the reserved suffix does.
 */
static void
cut_name(char *v)
{
	static const char *const sfx[] = { SPFREC_ANY_A, SPFREC_ANY_MX };
	size_t n = strlen(v), sl, i;
	char *base;

	for (i = 0; i < 2; i++) {
		sl = strlen(sfx[i]);
		if (n > sl && strcasecmp(v + n - sl, sfx[i]) == 0) {
			base = xstrndup(v, n - sl);
			truncate_left(base);
			/* never longer than before: fits in v */
			sprintf(v, "%s%s", base, sfx[i]);
			free(base);
			return;
		}
	}
	truncate_left(v);
}

/* plain_value - can libspf2 read v literally as a domain-spec? */
static int
plain_value(const char *v)
{
	const unsigned char *p = (const unsigned char *)v;

	if (*p == '\0')
		return 0;
	for (; *p; p++)
		if (*p < 0x21 || *p > 0x7e || *p == '%' || *p == '/')
			return 0;
	return 1;
}

/*
 * expand_term - term t (n bytes) as libspf2 gets it in a record of
 * domain: its domain-spec expanded, cut to 253 (7.3) and without a final
 * dot, or a marker for a value a record cannot carry.  Malloc'd; NULL
 * with *unchanged set when t stays as it is, NULL alone when it cannot be
 * expanded.
 */
static char *
expand_term(struct spf_check *c, const char *domain, const char *t, size_t n,
    int *unchanged)
{
	size_t off, sl;
	char *v, *out, marker[64];
	const char *val;

	*unchanged = 0;
	if (!spfrec_term_spec(t, n, &off, &sl) ||
	    (memchr(t + off, '%', sl) == NULL && sl <= 253 &&
	    (sl < 2 || t[off + sl - 1] != '.'))) {
		*unchanged = 1;
		return NULL;
	}
	/* a literal name over 253 is cut as an expanded one (7.3) */
	if ((v = memchr(t + off, '%', sl) ? expand_spec(c, domain, t + off,
	    sl, 0) : xstrndup(t + off, sl)) == NULL)
		return NULL;
	/* "host.example.net." is "host.example.net" (ptr, %{d} after it) */
	if (strlen(v) > 1 && v[strlen(v) - 1] == '.')
		v[strlen(v) - 1] = '\0';
	cut_name(v);
	val = v;
	if (!plain_value(v) || strlen(v) > 253) {
		/*
		 * Longer than a name cut to 253 and one of our a/0, mx/0
		 * suffixes, no query can carry it (layer_lookup: counted,
		 * never asked): the first bytes say as much as the whole,
		 * which an attacker's %{L} can make 12 kB.
		 */
		if (strlen(v) > SPF_NAME_KEEP)
			v[SPF_NAME_KEEP] = '\0';
		c->names = grow(c->names, &c->names_cap, c->nnames,
		    sizeof(*c->names));
		c->names[c->nnames] = xstrdup(v);
		snprintf(marker, sizeof(marker), "%zu%s", c->nnames++,
		    SPF_NAME_SUFFIX);
		val = marker;
	}
	xasprintf(&out, "%.*s%s%.*s", (int)off, t, val,
	    (int)(n - off - sl), t + off + sl);
	free(v);
	return out;
}

/*
 * split_record - the rewritten record's mechanisms m[0..nm), then exp (a
 * marker, or NULL) and redirect (or NULL), in pieces of at most
 * SPF_MECH_BUDGET: the first piece is returned (malloc'd), the others
 * become continuation records, piece k linking to piece k + 1.  NULL when
 * a piece cannot be made whole.
 */
static char *
split_record(struct spf_check *c, const char *domain, const char **m,
    const size_t *ml, size_t nm, const char *exp, const char *redirect,
    size_t redirect_len)
{
	struct strbuf piece = { 0 };
	char pinned[2048], link[64];
	size_t i = 0, k, n, cost, nconts0 = c->nconts;
	unsigned nmech;

	for (k = 0; k == 0 || i < nm; k++) {
		piece.len = 0;
		sb_add(&piece, "v=spf1", 6);
		for (nmech = 0, cost = 0; i < nm; i++, nmech++) {
			/* past the first piece, the domain is another */
			if (k > 0 ? spfrec_pin_domain(m[i], ml[i], domain,
			    pinned, sizeof(pinned)) < 0 : ml[i] >=
			    sizeof(pinned))
				goto fail;
			if (k == 0) {
				memcpy(pinned, m[i], ml[i]);
				pinned[ml[i]] = '\0';
			}
			n = strlen(pinned);
			cost += term_cost(pinned, n);
			if (cost > SPF_MECH_BUDGET && nmech > 0)
				break;
			sb_add(&piece, pinned, n);
		}
		if (exp != NULL)
			sb_add(&piece, exp, strlen(exp));
		if (i < nm) {
			snprintf(link, sizeof(link), "redirect=%zu%s",
			    nconts0 + k, SPF_CONT_SUFFIX);
			sb_add(&piece, link, strlen(link));
			nmech++;
		} else if (redirect != NULL) {
			if (k > 0 ? spfrec_pin_domain(redirect, redirect_len,
			    domain, pinned, sizeof(pinned)) < 0 :
			    redirect_len >= sizeof(pinned))
				goto fail;
			if (k == 0) {
				memcpy(pinned, redirect, redirect_len);
				pinned[redirect_len] = '\0';
			}
			sb_add(&piece, pinned, strlen(pinned));
			nmech++;
		}
		if (!compiled_whole(piece.s, nmech, exp != NULL))
			goto fail;
		c->conts = grow(c->conts, &c->conts_cap, c->nconts,
		    sizeof(*c->conts));
		c->conts[c->nconts++] = xstrdup(piece.s);
	}
	free(piece.s);
	/* piece 0 is the answer, not a continuation: take it back out */
	piece.s = c->conts[nconts0];
	memmove(c->conts + nconts0, c->conts + nconts0 + 1,
	    (c->nconts - nconts0 - 1) * sizeof(*c->conts));
	c->nconts--;
	return piece.s;
fail:
	free(piece.s);
	while (c->nconts > nconts0)
		free(c->conts[--c->nconts]);
	return NULL;
}

/* the terms of one record on its way to libspf2 (libspf2_record) */
struct rec_terms {
	const char **m;                 /* mechanisms, in order */
	size_t *ml, n, cap;
	const char *redirect, *exp;     /* exp: our marker, or NULL */
	size_t rlen;
	char marker[64];
	char **store;                   /* expanded terms, freed at the end */
	size_t nstore, store_cap;
};

static void
rec_terms_free(struct rec_terms *r)
{
	while (r->nstore > 0)
		free(r->store[--r->nstore]);
	free(r->store);
	free(r->m);
	free(r->ml);
}

/* rec_note_exp - remember exp= with its record's domain; r->exp: a marker */
static void
rec_note_exp(struct spf_check *c, struct rec_terms *r, const char *domain,
    const char *t, size_t n)
{
	struct expref *x;

	c->exps = grow(c->exps, &c->exps_cap, c->nexps, sizeof(*c->exps));
	x = &c->exps[c->nexps];
	x->domain = xstrdup(domain);
	x->spec = xstrndup(t + 4, n - 4);
	snprintf(r->marker, sizeof(r->marker), "exp=%zu%s", c->nexps++,
	    SPF_EXP_SUFFIX);
	r->exp = r->marker;
}

/*
 * rec_terms - cut the rewritten record rw into its mechanisms, its
 * redirect= and its exp= (as a marker).  A record's DNS-querying terms
 * past the 11th are never reached: the 11th is a permerror (4.6.4).  They
 * are left out, with redirect=, before anything is expanded: an
 * attacker's record of thousands of macros costs 11.
 */
static void
rec_terms(struct spf_check *c, const char *domain, const char *rw,
    struct rec_terms *r)
{
	const char *t, *sp, *e = rw + strlen(rw), *dn;
	size_t dnl, ndns = 0;
	int redirect_cut = 0;

	for (t = rw + 6; next_term(&t, e, &sp); t = sp) {
		if (is_modifier(t, (size_t)(sp - t))) {
			if (strncasecmp(t, "exp=", 4) == 0 && r->exp == NULL) {
				rec_note_exp(c, r, domain, t, (size_t)(sp - t));
			} else if (strncasecmp(t, "redirect=", 9) == 0) {
				r->redirect = t;
				r->rlen = (size_t)(sp - t);
			}
			continue;
		}
		if (ndns > SPF_MAX_TERMS)
			continue;
		if (dns_term_type(t, (size_t)(sp - t), &dn, &dnl) != -1 &&
		    ++ndns > SPF_MAX_TERMS)
			redirect_cut = 1;
		if (r->n == r->cap) {
			r->cap = r->cap ? 2 * r->cap : 32;
			r->m = xreallocarray(r->m, r->cap, sizeof(*r->m));
			r->ml = xreallocarray(r->ml, r->cap, sizeof(*r->ml));
		}
		r->m[r->n] = t;
		r->ml[r->n++] = (size_t)(sp - t);
	}
	if (redirect_cut)
		r->redirect = NULL;
}

/* rec_expand - every macro expanded here (see expand_term); -1: too long */
static int
rec_expand(struct spf_check *c, const char *domain, struct rec_terms *r)
{
	size_t i;

	for (i = 0; i < r->n + (r->redirect != NULL); i++) {
		const char *tt = i < r->n ? r->m[i] : r->redirect;
		size_t tn = i < r->n ? r->ml[i] : r->rlen;
		char *buf;
		int unchanged;

		if ((buf = expand_term(c, domain, tt, tn, &unchanged)) ==
		    NULL) {
			if (unchanged)
				continue;
			return -1;
		}
		r->store = grow(r->store, &r->store_cap, r->nstore,
		    sizeof(*r->store));
		r->store[r->nstore++] = buf;
		if (i < r->n) {
			r->m[i] = buf;
			r->ml[i] = strlen(buf);
		} else {
			r->redirect = buf;
			r->rlen = strlen(buf);
		}
	}
	return 0;
}

/*
 * rec_assemble - the record whole, if libspf2 can hold it, else cut into
 * pieces (split_record); NULL: too large to evaluate
 */
static char *
rec_assemble(struct spf_check *c, const char *domain, struct rec_terms *r)
{
	struct strbuf whole = { 0 };
	const char *t;
	size_t i;

	sb_add(&whole, "v=spf1", 6);
	for (i = 0; i < r->n; i++)
		sb_add(&whole, r->m[i], r->ml[i]);
	if (r->exp)
		sb_add(&whole, r->exp, strlen(r->exp));
	if (r->redirect)
		sb_add(&whole, r->redirect, r->rlen);
	if (compiled_whole(whole.s, (unsigned)r->n + (r->redirect != NULL),
	    r->exp != NULL))
		return whole.s;
	free(whole.s);
	/* nothing after "all" is ever reached (RFC 7208 5.1) */
	for (i = 0; i < r->n; i++) {
		t = r->m[i];
		if (*t == '+' || *t == '-' || *t == '~' || *t == '?')
			t++;
		if (strncasecmp(t, "all", 3) == 0 && r->m[i] + r->ml[i] ==
		    t + 3) {
			r->n = i + 1;
			break;
		}
	}
	return split_record(c, domain, r->m, r->ml, r->n, r->exp,
	    r->redirect, r->rlen);
}

/*
 * rec_rejected - a record libspf2 must fail with permerror, and why (NULL:
 * too large to evaluate)
 */
static char *
rec_rejected(struct spf_check *c, const char *name, const char *why)
{
	char *out;

	if (c->problem == NULL && why)
		xasprintf(&c->problem, "invalid record at %s: %s", name, why);
	else if (c->problem == NULL)
		xasprintf(&c->problem, "record at %s too large to evaluate",
		    name);
	out = xstrdup(SPF_REJECTED_RECORD);
	return out;
}

/*
 * libspf2_record - what libspf2 gets for the SPF record txt (len bytes)
 * of domain (as libspf2 asked for it, which is its current domain):
 * checked (an invalid record becomes SPF_REJECTED_RECORD, a permerror at
 * any depth), rewritten (spfrec_rewrite), exp= as a marker, cut into
 * pieces if libspf2 could not hold it.  Malloc'd.
 */
static char *
libspf2_record(struct spf_check *c, const char *domain, const char *name,
    const char *txt, size_t len)
{
	struct rec_terms r;
	char why[128], *rw, *out = NULL;
	size_t rwsz = 4 * len + 256;

	if (spfrec_check(txt, len, NULL, why, sizeof(why)) < 0)
		return rec_rejected(c, name, why);
	rw = xmalloc(rwsz);
	if (spfrec_rewrite(txt, len, c->v6, rw, rwsz) < 0) {
		free(rw);
		out = xstrdup(SPF_REJECTED_RECORD);
		return out;
	}
	memset(&r, 0, sizeof(r));
	rec_terms(c, domain, rw, &r);
	if (rec_expand(c, domain, &r) == 0)
		out = rec_assemble(c, domain, &r);
	rec_terms_free(&r);
	free(rw);
	return out ? out : rec_rejected(c, name, NULL);
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
	c->dns_problem = xstrdup(buf);
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
		c->problem = xstrdup(what);
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
	known_fetch(c, name, type, 1, c->dns_terms);
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

/* rr_text - an answer of one TXT record, text */
static SPF_dns_rr_t *
rr_text(SPF_dns_server_t *s, const char *domain, const char *text)
{
	size_t n = strlen(text) + 1;
	SPF_dns_rr_t *rr;

	rr = rr_status(s, domain, ns_t_txt, NETDB_SUCCESS);
	if (SPF_dns_rr_buf_realloc(rr, 0, n) != SPF_E_SUCCESS)
		fatalx("spf: out of memory");
	memcpy(rr->rr[0]->txt, text, n);
	rr->num_rr = 1;
	return rr;
}

/*
 * layer_name - the name libspf2 asks for, as we ask it: a marker of an
 * expanded name gives that name back, canonical (lower case, no final
 * dot), cut on the left to 253 characters (RFC 7208 4.3).  *bad: no DNS
 * query can carry it (an empty or over-long label, usually from a macro),
 * so it does not exist (5/10).  Our a/0 and mx/0 names are not DNS names:
 * their base was cut already.  -1 when it does not even fit.
 */
static int
layer_name(struct spf_check *c, const char **domain, char *name, size_t sz,
    int *bad)
{
	char why[NS_MAXDNAME];
	long idx;

	if ((idx = marker_index(*domain, SPF_NAME_SUFFIX)) >= 0 &&
	    (size_t)idx < c->nnames)
		*domain = c->names[idx];
	canon_name(name, sz, *domain);
	if (strlen(*domain) >= sz)
		return -1;
	*bad = 0;
	if (spfrec_synth_name(name, why, sizeof(why)) < 0) {
		truncate_left(name);
		*bad = !dns_name_ok(name);
	}
	return 0;
}

/*
 * layer_answer - what this check knows of (name, type), or NULL after
 * recording a miss: "does not exist" lets libspf2 go on, so one run
 * collects every independent miss; a run with a miss is thrown away.
 */
static const struct dns_answer *
layer_answer(struct spf_check *c, const char *name, int type)
{
	struct known *k;

	if ((k = known_find(c, name, type)) == NULL) {
		/* in the cache already? then this is no miss: no re-run */
		known_fetch(c, name, type, 0, c->dns_terms);
		k = known_find(c, name, type);
	}
	if (k != NULL && k->ans != NULL)
		return k->ans;
	c->misses++;
	known_fetch(c, name, type, 1, c->dns_terms);
	return NULL;
}

/*
 * layer_limits - RFC 7208 4.6.4 on an answer: void lookups of counted
 * terms (more than 2), more than 10 MX names.  Nonzero: over the limit,
 * the MX answer is not to be used.
 */
static int
layer_limits(struct spf_check *c, const struct dns_answer *a, int type,
    int counted)
{
	if (counted && (a->status == DNS_NXDOMAIN || a->status == DNS_NODATA) &&
	    type != ns_t_txt && ++c->void_lookups > SPF_MAX_VOID) {
		c->over_limit = 1;
		note_problem(c, "more than 2 void lookups");
	}
	if (type == ns_t_mx && a->status == DNS_OK && a->n > SPF_MAX_MX_NAMES) {
		c->over_limit = 1;
		note_problem(c, "more than 10 MX records");
		return 1;
	}
	if ((type == ns_t_mx || type == ns_t_ptr) && a->status == DNS_OK) {
		c->expand = a;          /* its hosts are no DNS terms */
		c->expand_used = 0;
	}
	return 0;
}

/* rr_put - record i of a (type) into rr: a TXT SPF record as libspf2 gets it */
static void
rr_put(SPF_dns_rr_t *rr, size_t i, struct spf_check *c, const char *domain,
    const char *name, const struct dns_answer *a, ns_type type)
{
	char *spf_txt = NULL;
	const char *txt;
	size_t len;

	switch (type) {
	case ns_t_a: len = sizeof(struct in_addr); break;
	case ns_t_aaaa: len = sizeof(struct in6_addr); break;
	case ns_t_txt: len = a->rr[i].len + 1; break;
	default: len = strlen(a->rr[i].u.name) + 1; break;
	}
	txt = a->rr[i].u.txt;
	if (type == ns_t_txt && spfrec_is_spf(txt, a->rr[i].len)) {
		txt = spf_txt = libspf2_record(c, domain, name, txt,
		    a->rr[i].len);
		len = strlen(txt) + 1;
	}
	if (SPF_dns_rr_buf_realloc(rr, (int)i, len) != SPF_E_SUCCESS)
		fatalx("spf: out of memory");
	switch (type) {
	case ns_t_a: rr->rr[i]->a = a->rr[i].u.a; break;
	case ns_t_aaaa: rr->rr[i]->aaaa = a->rr[i].u.aaaa; break;
	case ns_t_txt: memcpy(rr->rr[i]->txt, txt, len); break;
	case ns_t_mx: memcpy(rr->rr[i]->mx, a->rr[i].u.name, len); break;
	default: memcpy(rr->rr[i]->ptr, a->rr[i].u.name, len); break;
	}
	free(spf_txt);
	rr->num_rr++;
}

/* layer_rr - an answer as libspf2 takes it */
static SPF_dns_rr_t *
layer_rr(SPF_dns_server_t *s, struct spf_check *c, const char *domain,
    const char *name, const struct dns_answer *a, ns_type type)
{
	SPF_dns_rr_t *rr;
	size_t i, n;

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
	if (type == ns_t_txt && !answer_has_spf(a))
		return rr_status(s, domain, type, NO_DATA);    /* none */
	rr = rr_status(s, domain, type, NETDB_SUCCESS);
	n = a->n;
	if (type == ns_t_ptr && n > SPF_MAX_PTR_NAMES)
		n = SPF_MAX_PTR_NAMES;  /* RFC 7208 4.6.4: ignore the rest */
	for (i = 0; i < n; i++)
		rr_put(rr, i, c, domain, name, a, type);
	return rr;
}

/*
 * layer_lookup - libspf2's DNS layer: our names first (markers,
 * continuation records, a/0 and mx/0, the override of -q), then the
 * limits of RFC 7208 4.6.4, then what this check has fetched.
 */
static SPF_dns_rr_t *
layer_lookup(SPF_dns_server_t *s, const char *domain, ns_type type,
    int should_cache)
{
	struct spf_check *c = cur;
	char name[NS_MAXDNAME];
	const struct dns_answer *a;
	SPF_dns_rr_t *rr;
	int counted, bad;
	long idx;

	(void)should_cache;
	if (c == NULL)
		return rr_status(s, domain, type, TRY_AGAIN);
	if (type != ns_t_a && type != ns_t_aaaa && type != ns_t_mx &&
	    type != ns_t_ptr && type != ns_t_txt)
		return rr_status(s, domain, type, NO_DATA);    /* no type 99 */
	if (layer_name(c, &domain, name, sizeof(name), &bad) < 0)
		return rr_status(s, domain, type, HOST_NOT_FOUND);
	/* our continuation records: no DNS, no DNS term */
	if (!bad && (idx = marker_index(name, SPF_CONT_SUFFIX)) >= 0)
		return type == ns_t_txt && (size_t)idx < c->nconts ?
		    rr_text(s, domain, c->conts[idx]) :
		    rr_status(s, domain, type, HOST_NOT_FOUND);
	/* past a limit the result is permerror: ask nothing more */
	if (c->over_limit && !c->in_exp)
		return rr_status(s, domain, type, HOST_NOT_FOUND);
	counted = c->in_exp ? 0 : count_term(c, name, (int)type);
	/* asked or not, the term counts (4.6.4); no query, no void lookup */
	if (c->over_limit || bad)
		return rr_status(s, domain, type, HOST_NOT_FOUND);
	if ((rr = synth_lookup(s, c, domain, name, type)) != NULL)
		return rr;
	if (c->override_name && type == ns_t_txt &&
	    strcmp(name, c->override_name) == 0)
		return rr_text(s, domain, c->override_txt);
	if ((a = layer_answer(c, name, (int)type)) == NULL ||
	    layer_limits(c, a, (int)type, counted))
		return rr_status(s, domain, type, HOST_NOT_FOUND);
	return layer_rr(s, c, domain, name, a, type);
}

/*
 * ----- the explanation (RFC 7208 6.2) -----
 *
 * libspf2 asks our get_exp hook for every exp= it meets (as a marker, see
 * libspf2_record) and gets nothing: while evaluating, no explanation is
 * fetched.  The last exp= it asked for is that of the record that
 * decided, when that record has one (its own explanation is then NULL;
 * without exp= libspf2 writes the default explanation itself).  Once the
 * result is a fail, explain() fetches that exp= alone, not counted as a
 * DNS term, and expands it with its record's domain as the current one.
 */
static char *default_exp;               /* default_explanation, as given */

static SPF_errcode_t
layer_get_exp(SPF_server_t *srv, const char *domain, char **buf,
    size_t *buflen)
{
	struct spf_check *c = cur;
	long idx;

	(void)srv;
	(void)buf;
	(void)buflen;
	if (c != NULL && (idx = marker_index(domain, SPF_EXP_SUFFIX)) >= 0 &&
	    (size_t)idx < c->nexps)
		c->exp_last = (int)idx;
	return SPF_E_NOT_SPF;           /* no text: explain() fetches it */
}

/*
 * explain - the explanation of a fail into c->expl: 0 when done, 1 when
 * it waits for DNS (a miss was recorded: run again).
 */
static int
explain(struct spf_check *c, SPF_response_t *resp)
{
	const struct dns_answer *a;
	const struct expref *x;
	const char *e;
	char *spec, *text = NULL, name[NS_MAXDNAME];
	unsigned misses = c->misses;

	free(c->expl);
	c->expl = NULL;
	if (c->exp_last < 0 || (e = SPF_response_get_explanation(resp)) !=
	    NULL) {
		/* no exp= decided: the default explanation */
		x = NULL;
		goto dflt;
	}
	x = &c->exps[c->exp_last];
	cur = c;
	c->in_exp = 1;
	spec = expand_spec(c, x->domain, x->spec, strlen(x->spec), 0);
	if (spec != NULL && strlen(spec) < sizeof(name)) {
		canon_name(name, sizeof(name), spec);
		truncate_left(name);
		/*
		 * RFC 7208 6.2: exactly one TXT record, a valid macro-string,
		 * or it is as if there were no exp=.
		 */
		if (dns_name_ok(name) && (a = need(c, name, DNS_T_TXT)) != NULL &&
		    a->status == DNS_OK && a->n == 1 && a->rr[0].len > 0 &&
		    spfrec_explanation_ok(a->rr[0].u.txt, a->rr[0].len))
			text = expand_spec(c, x->domain, a->rr[0].u.txt,
			    a->rr[0].len, 1);
	}
	free(spec);
	c->in_exp = 0;
	cur = NULL;
	if (c->misses != misses) {
		free(text);
		return 1;
	}
dflt:
	if (text == NULL && default_exp != NULL) {
		cur = c;
		c->in_exp = 1;
		text = expand_spec(c, x ? x->domain : c->domain, default_exp,
		    strlen(default_exp), 1);
		c->in_exp = 0;
		cur = NULL;
		if (c->misses != misses) {
			free(text);
			return 1;
		}
	}
	if (text != NULL && strlen(text) > SPF_EXP_MAX)
		text[SPF_EXP_MAX] = '\0';
	c->expl = text;
	return 0;
}

/* ----- a check's life ----- */

static void
spf_finish(struct spf_check *c, enum spf_result r, const char *problem)
{
	c->finished = 1;
	c->out.result = r;
	if (problem && c->problem == NULL)
		c->problem = xstrdup(problem);
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
spf_check_free(struct spf_check *c)
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
	run_tables_free(c);
	free(c->conts);
	free(c->exps);
	free(c->names);
	for (i = 0; i < sizeof(c->env_buf) / sizeof(c->env_buf[0]); i++)
		free(c->env_buf[i]);
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
	spf_check_free(c);
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
	prefetch(c, ans, k->base);
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
			c->problem = xstrdup(SPF_strerror(err));
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
	c->in_exp = 0;
	run_tables_free(c);
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
	for (t = rec + 6; nmech < 40 && next_term(&t, e, &sp); t = sp) {
		if (is_modifier(t, (size_t)(sp - t))) {
			if (strncasecmp(t, "redirect=", 9) == 0 && !redirect)
				redirect = xstrndup(t, (size_t)(sp - t));
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
			out = xstrndup(t, (size_t)(sp - t));
			break;
		}
	}
	if (out == NULL && redirect != NULL && t >= e)
		out = redirect;
	else
		free(redirect);
	return out;
}

/* run_result - the result of a run with no miss */
static enum spf_result
run_result(struct spf_check *c, SPF_response_t *resp)
{
	if (c->over_limit)
		return SPF_PERMERROR;
	if (c->top_result >= 0)
		return (enum spf_result)c->top_result;
	return map_result(c, resp);
}

/* spf_run - one evaluation; fetch what it missed, or finish */
static void
spf_run(struct spf_check *c)
{
	SPF_request_t *req;
	SPF_response_t *resp = NULL;
	enum spf_result r = SPF_NONE;

	for (;;) {
		if (++c->runs > SPF_MAX_RUNS) {
			spf_finish(c, SPF_TEMPERROR, "too many DNS rounds");
			return;
		}
		req = make_request(c);
		cur = c;
		resp = evaluate(c, req);
		cur = NULL;
		if (c->misses == 0) {
			r = run_result(c, resp);
			if (r != SPF_FAIL || explain(c, resp) == 0)
				break;
		}
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
	if (r == SPF_TEMPERROR && c->problem == NULL && c->dns_problem) {
		c->problem = c->dns_problem;
		c->dns_problem = NULL;
	}
	if ((r == SPF_PERMERROR || r == SPF_TEMPERROR) && c->problem == NULL)
		c->problem = xstrdup(SPF_strerror(SPF_response_errcode(resp)));
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

/*
 * set_env - the macro letters' values for this check (RFC 7208 7.2, 4.3):
 * s the sender as given (postmaster@<HELO> for the HELO identity), l its
 * local part ("postmaster" if it has none), o its domain, h the HELO
 * name, i, v and c from the client address, r this host.
 */
static void
set_env(struct spf_check *c, const char *sender, const char *at)
{
	char buf[128], *p;
	const unsigned char *a = (const unsigned char *)&c->a6;
	int i;

	if (sender == NULL) {
		xasprintf(&c->env_buf[0], "postmaster@%s", c->helo);
		c->env_buf[1] = xstrdup("postmaster");
		c->env_buf[2] = xstrdup(c->helo);
	} else {
		c->env_buf[0] = xstrdup(sender);
		c->env_buf[1] = at && at > sender ? xstrndup(sender,
		    (size_t)(at - sender)) : xstrdup("postmaster");
		c->env_buf[2] = xstrdup(at ? at + 1 : sender);
	}
	if (c->v6) {
		for (i = 0, p = buf; i < 16; i++) {
			*p++ = "0123456789abcdef"[a[i] >> 4];
			*p++ = '.';
			*p++ = "0123456789abcdef"[a[i] & 15];
			*p++ = '.';
		}
		p[-1] = '\0';
		c->env_buf[3] = xstrdup(buf);
		inet_ntop(AF_INET6, &c->a6, buf, sizeof(buf));
	} else {
		inet_ntop(AF_INET, &c->a4, buf, sizeof(buf));
		c->env_buf[3] = xstrdup(buf);
	}
	c->env_buf[4] = xstrdup(buf);
	c->env.s = c->env_buf[0];
	c->env.l = c->env_buf[1];
	c->env.o = c->env_buf[2];
	c->env.i = c->env_buf[3];
	c->env.c = c->env_buf[4];
	c->env.h = c->helo;
	c->env.v = c->v6 ? "ip6" : "in-addr";
	c->env.r = spf_server->rec_dom ? spf_server->rec_dom : "unknown";
}

/*
 * set_identity - the HELO name, the sender (NULL: the HELO identity) and
 * the domain to check.  "mail.example.com." is "mail.example.com" (one
 * final dot), for the HELO name and the sender's domain alike: for the
 * query and for the macros (%{d}, %{o}, %{s}, %{h}).  Returns the sender's
 * "@" (NULL: none).
 */
static const char *
set_identity(struct spf_check *c, const char *helo, const char *sender)
{
	const char *at;
	size_t n;

	c->helo = xstrdup(helo ? helo : "");
	c->sender = sender ? xstrdup(sender) : NULL;
	if ((n = strlen(c->helo)) > 1 && c->helo[n - 1] == '.')
		c->helo[n - 1] = '\0';
	if (c->sender && (n = strlen(c->sender)) > 1 &&
	    c->sender[n - 1] == '.' && c->sender[n - 2] != '@')
		c->sender[n - 1] = '\0';
	at = c->sender ? strrchr(c->sender, '@') : NULL;
	c->domain = xstrdup(c->sender ? (at ? at + 1 : c->sender) : c->helo);
	/* "example." is "example": not multi-label, so "none" */
	if (c->sender && (n = strlen(c->domain)) > 0 &&
	    c->domain[n - 1] == '.')
		c->domain[n - 1] = '\0';
	return at;
}

struct spf_check *
spf_check_start(const char *ip, const char *helo, const char *sender,
    unsigned lookup_time_ms, spf_done_fn *done, void *arg)
{
	struct spf_check *c;
	unsigned char a[16];
	struct timeval tv;
	const char *at;

	c = xcalloc(1, sizeof(*c));
	c->done = done;
	c->arg = arg;
	c->kick = event_new(spf_base, -1, 0, spf_kick, c);
	c->deadline = evtimer_new(spf_base, spf_deadline, c);
	if (c->kick == NULL || c->deadline == NULL)
		fatalx("spf: out of memory (events)");
	at = set_identity(c, helo, sender);
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
	/*
	 * RFC 7208 4.3: a malformed domain gives "none".  Only the domain:
	 * a long local part (VERP, SRS, BATV) is no reason to skip a check,
	 * and a reason an attacker could pick to turn "fail" into "none".
	 */
	if (!name_ok(c->domain) || !spfrec_domain_ok(c->domain)) {
		spf_finish(c, SPF_NONE, "malformed domain");
		return c;
	}
	set_env(c, c->sender, at);
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
		spf_check_free(c);
}

/* spf_configure - settings that a reload may change */
int
spf_configure(const struct config *cfg)
{
	SPF_response_t *resp = NULL;
	SPF_errcode_t err;
	char *text;

	/*
	 * spfpd expands the default explanation itself (explain()); libspf2
	 * gets a fixed text without macros, only so that its explanation is
	 * not empty when no exp= decided (that is how explain() tells).  Its
	 * macro compiler never sees the administrator's text.
	 */
	text = xstrdup("spfpd");
	err = SPF_server_set_explanation(spf_server, text, &resp);
	SPF_response_free(resp);
	free(text);
	free(default_exp);
	default_exp = xstrdup(cfg->default_explanation);
	if (!spfrec_explanation_ok(default_exp, strlen(default_exp))) {
		log_warnx("default_explanation: not a valid explanation "
		    "(RFC 7208 6.2: text and %%{x} macros)");
		return -1;
	}
	if (err != SPF_E_SUCCESS) {
		log_warnx("default_explanation: %s", SPF_strerror(err));
		return -1;
	}
	return 0;
}

/*
 * libspf2's message handlers print to stderr by default, which in spawn
 * mode is the policy client's socket.  Ours log.
 *
 * SPF_error() (SPF_errorx) calls the error handler and then abort(): ours
 * logs and exits instead (fatalx), so nothing of libspf2 can abort us or
 * leave a core.  It cannot be reached from a request either.  Its sites in
 * 1.2.10, read in the source:
 *  - argument checks (SPF_ASSERT_NOTNULL): we pass no NULL;
 *  - SPF_dns_lookup(): "layer returned NULL": layer_lookup() never does
 *    (rr_status() is fatalx on no memory);
 *  - SPF_server_new*(): building its resolver, cache, default
 *    explanation and whitelist: at start only, and we build no resolver;
 *  - spf_compile.c: a mis-aligned buffer (malloc's are aligned), and two
 *    CIDR parameters on one mechanism (the parser writes at most one);
 *  - spf_expand.c and spf_response.c: out of memory, where fatalx is what
 *    we would do ourselves;
 *  - SPF_request_query_rcptto(), the zone and test resolvers: not used.
 */
static void __attribute__((noreturn))
spf_lib_error(const char *file, int line, const char *msg)
{
	fatalx("libspf2: %s:%d: %s", file ? file : "?", line, msg);
}

static void
spf_lib_warning(const char *file, int line, const char *msg)
{
	log_warnx("libspf2: %s:%d: %s", file ? file : "?", line, msg);
}

static void
spf_lib_debug(const char *file, int line, const char *msg)
{
	log_debug("libspf2: %s:%d: %s", file ? file : "?", line, msg);
}

int
spf_init(struct event_base *base, const struct config *cfg)
{
	SPF_error_handler = spf_lib_error;
	SPF_warning_handler = spf_lib_warning;
	SPF_info_handler = spf_lib_debug;
	SPF_debug_handler = spf_lib_debug;
	spf_base = base;
	memset(&spf_layer, 0, sizeof(spf_layer));
	spf_layer.lookup = layer_lookup;
	spf_layer.get_exp = layer_get_exp;
	spf_layer.name = "spfpd";
	spf_layer.destroy = NULL;       /* static: not freed by libspf2 */
	spf_server = SPF_server_new_dns(&spf_layer, 0);
	if (spf_server == NULL) {
		log_warnx("spf: SPF_server_new_dns failed");
		return -1;
	}
	/*
	 * RFC 7208 4.6.4's limits are counted here (count_term), over the
	 * whole check; libspf2's own count restarts in every include: and
	 * would count our continuation redirects.
	 */
	SPF_server_set_max_dns_mech(spf_server, 1000);
	return spf_configure(cfg);
}

void
spf_shutdown(void)
{
	if (spf_server)
		SPF_server_free(spf_server);
	spf_server = NULL;
	free(default_exp);
	default_exp = NULL;
}
