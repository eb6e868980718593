/*
 * spflib - the evaluator of an SPF check: libspf2, and everything that
 * exists only because of it.  Another evaluator would replace this file;
 * the check itself (spf.c) stays.  See spfcheck.h.
 *
 * libspf2's evaluator is synchronous: its DNS layer (layer_lookup) answers
 * from what the check has fetched, and a question it cannot answer yet is
 * a miss (spf_need): libspf2 sees "does not exist", goes on, and the run
 * is thrown away and done again once the answers are in.
 *
 * What libspf2 gets wrong, and what this file does about it:
 *  - records: every record is checked by spfrec_check() (libspf2 lets
 *    invalid ones through; an invalid record becomes SPF_REJECTED_RECORD,
 *    a permerror at any depth) and rewritten by spfrec_rewrite() (unknown
 *    modifiers, redirect= next to "all", ip4/ip6 "/0", "a/0" and "mx/0");
 *  - macros: libspf2's expander drops characters and escapes in lower
 *    case (and had CVEs): every domain-spec is expanded here first
 *    (expand_term); a value a record cannot carry, or too long to be a
 *    name, goes under a synthetic name (SPF_NAME_SUFFIX) mapped back here,
 *    cut at SPF_NAME_KEEP (an attacker's %{L} can make 12 kB);
 *  - size: libspf2 silently drops what does not fit its compiled buffers
 *    ("-all" lost: neutral); a record it cannot hold whole
 *    (compiled_whole) is cut into continuation records (SPF_CONT_SUFFIX)
 *    chained by redirect= that this layer serves itself;
 *  - exp=: libspf2 would fetch an explanation at every fail inside every
 *    include (counted as DNS terms); it gets a marker (SPF_EXP_SUFFIX)
 *    that only says which exp= it wanted, and spf.c fetches the one
 *    explanation RFC 7208 6.2 asks for;
 *  - the loopback shortcut of SPF_request_query_mailfrom() is skipped
 *    (evaluate), a top-level DNS error that leaves no result is mapped
 *    (map_result), and RFC 7208 4.6.4 is counted by spf.c over the whole
 *    check, not per include as libspf2 does;
 *  - "a/0" and "mx/0" are answered here (synth_lookup);
 *  - its message handlers (stderr, abort()) are replaced.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <spf2/spf.h>
#include <spf2/spf_dns.h>

#include "dns.h"
#include "log.h"
#include "spfcheck.h"
#include "spfrec.h"
#include "xmalloc.h"

/* an unknown mechanism: libspf2 returns permerror for it, at any depth */
#define SPF_REJECTED_RECORD "v=spf1 invalid-record:x"

static SPF_server_t *spf_server;
static SPF_dns_server_t spf_layer;
static struct spf_check *cur;          /* the check libspf2 is running */


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

/* compile - libspf2's compiled form of txt, or NULL */
static SPF_record_t *
compile(const char *txt)
{
	static SPF_request_t *req;
	SPF_response_t *resp;
	SPF_record_t *rec = NULL;
	SPF_errcode_t err;

	if (req == NULL && (req = SPF_request_new(spf_server)) == NULL)
		fatalx("spf: out of memory");
	if ((resp = SPF_response_new(req)) == NULL)
		fatalx("spf: out of memory");
	err = SPF_record_compile(spf_server, resp, &rec, txt);
	SPF_response_free(resp);
	if (err != SPF_E_SUCCESS && rec != NULL) {
		SPF_record_free(rec);
		rec = NULL;
	}
	return rec;
}

/*
 * compiled_whole - does libspf2 keep every term of txt: nmech mechanisms
 * (redirect= is compiled as one) and nmod modifiers?
 */
static int
compiled_whole(const char *txt, unsigned nmech, unsigned nmod)
{
	SPF_record_t *rec = compile(txt);
	int ok;

	ok = rec != NULL && rec->num_mech == nmech && rec->num_mod == nmod;
	if (rec)
		SPF_record_free(rec);
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

/* a record being assembled: terms joined by spaces, grown as needed */
struct recbuf {
	char *s;
	size_t len, cap;
};

static void
rb_add(struct recbuf *b, const char *s, size_t n)
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
			spf_truncate_left(base);
			/* never longer than before: fits in v */
			sprintf(v, "%s%s", base, sfx[i]);
			free(base);
			return;
		}
	}
	spf_truncate_left(v);
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
	if ((v = memchr(t + off, '%', sl) ? spf_expand_spec(c, domain, t + off,
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
		c->run->names = grow(c->run->names, &c->run->names_cap, c->run->nnames,
		    sizeof(*c->run->names));
		c->run->names[c->run->nnames] = xstrdup(v);
		snprintf(marker, sizeof(marker), "%zu%s", c->run->nnames++,
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
	struct recbuf piece = { 0 };
	char pinned[2048], link[64];
	size_t i = 0, k, n, cost, nconts0 = c->run->nconts;
	unsigned nmech;

	for (k = 0; k == 0 || i < nm; k++) {
		piece.len = 0;
		rb_add(&piece, "v=spf1", 6);
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
			rb_add(&piece, pinned, n);
		}
		if (exp != NULL)
			rb_add(&piece, exp, strlen(exp));
		if (i < nm) {
			snprintf(link, sizeof(link), "redirect=%zu%s",
			    nconts0 + k, SPF_CONT_SUFFIX);
			rb_add(&piece, link, strlen(link));
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
			rb_add(&piece, pinned, strlen(pinned));
			nmech++;
		}
		if (!compiled_whole(piece.s, nmech, exp != NULL))
			goto fail;
		c->run->conts = grow(c->run->conts, &c->run->conts_cap, c->run->nconts,
		    sizeof(*c->run->conts));
		c->run->conts[c->run->nconts++] = xstrdup(piece.s);
	}
	free(piece.s);
	/* piece 0 is the answer, not a continuation: take it back out */
	piece.s = c->run->conts[nconts0];
	memmove(c->run->conts + nconts0, c->run->conts + nconts0 + 1,
	    (c->run->nconts - nconts0 - 1) * sizeof(*c->run->conts));
	c->run->nconts--;
	return piece.s;
fail:
	free(piece.s);
	while (c->run->nconts > nconts0)
		free(c->run->conts[--c->run->nconts]);
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
	struct spf_expref *x;

	c->run->exps = grow(c->run->exps, &c->run->exps_cap, c->run->nexps, sizeof(*c->run->exps));
	x = &c->run->exps[c->run->nexps];
	x->domain = xstrdup(domain);
	x->spec = xstrndup(t + 4, n - 4);
	snprintf(r->marker, sizeof(r->marker), "exp=%zu%s", c->run->nexps++,
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

	for (t = rw + 6; spfrec_next_term(&t, e, &sp); t = sp) {
		if (spfrec_is_modifier(t, (size_t)(sp - t))) {
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
		if (spf_dns_term_type(t, (size_t)(sp - t), &dn, &dnl) != -1 &&
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
	struct recbuf whole = { 0 };
	const char *t;
	size_t i;

	rb_add(&whole, "v=spf1", 6);
	for (i = 0; i < r->n; i++)
		rb_add(&whole, r->m[i], r->ml[i]);
	if (r->exp)
		rb_add(&whole, r->exp, strlen(r->exp));
	if (r->redirect)
		rb_add(&whole, r->redirect, r->rlen);
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

	if (c->run->problem == NULL && why)
		xasprintf(&c->run->problem, "invalid record at %s: %s", name, why);
	else if (c->run->problem == NULL)
		xasprintf(&c->run->problem, "record at %s too large to evaluate",
		    name);
	out = xstrdup(SPF_REJECTED_RECORD);
	return out;
}

/*
 * libspf2_record - what libspf2 gets for the SPF record txt (len bytes)
 * of domain (as libspf2 asked for it, which is its current domain):
 * checked (an invalid record becomes SPF_REJECTED_RECORD, a permerror at
 * any depth), rewritten (spfrec_rewrite), exp= as a marker, cut into
 * pieces if libspf2 could not hold it.  Malloc'd.  *pure: it depends on
 * nothing but txt and the client's address family (no macro, no exp=, no
 * continuation, no problem noted), so it can be kept (record_for).
 */
static char *
libspf2_record(struct spf_check *c, const char *domain, const char *name,
    const char *txt, size_t len, int *pure)
{
	struct rec_terms r;
	char why[128], *rw, *out = NULL;
	size_t rwsz = 4 * len + 256, nconts = c->run->nconts;

	*pure = 0;
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
	*pure = out != NULL && r.exp == NULL && r.nstore == 0 &&
	    c->run->nconts == nconts;
	rec_terms_free(&r);
	free(rw);
	return out ? out : rec_rejected(c, name, NULL);
}

/*
 * ----- records kept with their answers -----
 *
 * Checking, rewriting and fitting a record into libspf2 costs more than
 * libspf2's whole evaluation of it, and for most records the outcome
 * depends only on the record: that outcome is kept with the cached answer
 * (dns_answer_set_memo), one per address family, and goes when the
 * answer does, at the end of its TTL.  A record with a macro, an exp=
 * or continuations is made again for each check: those depend on the
 * request or on the check's own tables.
 */
struct rec_memo {
	size_t i;                       /* which record of the answer */
	SPF_record_t *compiled;         /* txt, compiled (layer_get_spf) */
	char txt[];                     /* what libspf2 gets */
};

static void
rec_memo_free(void *v)
{
	struct rec_memo *m = v;

	SPF_record_free(m->compiled);
	free(m);
}

/*
 * record_for - libspf2_record() of record i of a; *owned: free it after.
 * A kept record is noted in the run (served) for layer_get_spf.
 */
static const char *
record_for(struct spf_check *c, const char *domain, const char *name,
    const struct dns_answer *a, size_t i, char **owned)
{
	struct rec_memo *m = a->memo ? a->memo->v[c->v6 != 0] : NULL;
	SPF_record_t *rec;
	size_t n;
	char *out;
	int pure;

	*owned = NULL;
	if (m != NULL && m->i == i) {
		c->run->served = m;
		return m->txt;
	}
	out = libspf2_record(c, domain, name, a->rr[i].u.txt, a->rr[i].len,
	    &pure);
	if (!pure || m != NULL || a->memo == NULL ||
	    (rec = compile(out)) == NULL)
		return *owned = out;
	n = strlen(out) + 1;
	m = xmalloc(sizeof(*m) + n);
	m->i = i;
	m->compiled = rec;
	memcpy(m->txt, out, n);
	free(out);
	dns_answer_set_memo(a, c->v6 != 0, m, 32 + sizeof(*m) + n + 3 * 32 +
	    sizeof(*rec) + rec->mech_len + rec->mod_len, rec_memo_free);
	c->run->served = m;
	return m->txt;
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
	if ((a = spf_need(c, base, mx ? DNS_T_MX : at)) == NULL)
		return rr_status(s, domain, type, HOST_NOT_FOUND);
	switch (a->status) {
	case DNS_OK:
		break;
	case DNS_NXDOMAIN:
	case DNS_NODATA:
		if (++c->run->void_lookups > SPF_MAX_VOID) {
			c->run->over_limit = 1;
			spf_note_problem(c, "more than 2 void lookups");
		}
		return rr_status(s, domain, type, HOST_NOT_FOUND);
	default:
		spf_dns_trouble(c, base, mx ? DNS_T_MX : at, a->status);
		return rr_status(s, domain, type, TRY_AGAIN);
	}
	if (!mx) {
		match = a->n > 0;
	} else if (a->n > SPF_MAX_MX_NAMES) {
		c->run->over_limit = 1;
		spf_note_problem(c, "more than 10 MX records");
		return rr_status(s, domain, type, HOST_NOT_FOUND);
	} else {
		for (i = 0; i < a->n && !match; i++) {
			if (!dns_name_ok(a->rr[i].u.name))
				continue;
			if ((h = spf_need(c, a->rr[i].u.name, at)) == NULL)
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
	    (size_t)idx < c->run->nnames)
		*domain = c->run->names[idx];
	dns_canon(name, sz, *domain);
	if (strlen(*domain) >= sz)
		return -1;
	*bad = 0;
	if (spfrec_synth_name(name, why, sizeof(why)) < 0) {
		spf_truncate_left(name);
		*bad = !dns_name_ok(name);
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
		txt = record_for(c, domain, name, a, i, &spf_txt);
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
		spf_dns_trouble(c, a->name, a->type, a->status);
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
		return type == ns_t_txt && (size_t)idx < c->run->nconts ?
		    rr_text(s, domain, c->run->conts[idx]) :
		    rr_status(s, domain, type, HOST_NOT_FOUND);
	/* past a limit the result is permerror: ask nothing more */
	if (c->run->over_limit && !c->run->in_exp)
		return rr_status(s, domain, type, HOST_NOT_FOUND);
	counted = c->run->in_exp ? 0 : spf_count_term(c, name, (int)type);
	/* asked or not, the term counts (4.6.4); no query, no void lookup */
	if (c->run->over_limit || bad)
		return rr_status(s, domain, type, HOST_NOT_FOUND);
	if ((rr = synth_lookup(s, c, domain, name, type)) != NULL)
		return rr;
	if (c->run->override_name && type == ns_t_txt &&
	    strcmp(name, c->run->override_name) == 0)
		return rr_text(s, domain, c->run->override_txt);
	if ((a = spf_lookup(c, name, (int)type)) == NULL ||
	    spf_limits(c, a, (int)type, counted))
		return rr_status(s, domain, type, HOST_NOT_FOUND);
	return layer_rr(s, c, domain, name, a, type);
}

/* record_copy - a copy of a compiled record, for libspf2 to free */
static SPF_record_t *
record_copy(const SPF_record_t *r)
{
	SPF_record_t *c;

	if ((c = SPF_record_new(spf_server, NULL)) == NULL)
		fatalx("spf: out of memory");
	c->version = r->version;
	c->num_mech = r->num_mech;
	c->num_mod = r->num_mod;
	c->num_dns_mech = r->num_dns_mech;
	c->mech_first = xmalloc(r->mech_len ? r->mech_len : 1);
	if (r->mech_len > 0)            /* a record without any: NULL */
		memcpy(c->mech_first, r->mech_first, r->mech_len);
	c->mech_size = c->mech_len = r->mech_len;
	c->mod_first = xmalloc(r->mod_len ? r->mod_len : 1);
	if (r->mod_len > 0)
		memcpy(c->mod_first, r->mod_first, r->mod_len);
	c->mod_size = c->mod_len = r->mod_len;
	return c;
}

/*
 * no_record - what SPF_server_get_record() does when there is no record
 * to compile: result (none when it leaves it unset: SPF_RESULT_INVALID)
 * and the error err
 */
static SPF_errcode_t
no_record(SPF_dns_rr_t *rr, SPF_response_t *resp, SPF_result_t result,
    SPF_errcode_t err, const char *why, const char *domain)
{
	SPF_dns_rr_free(rr);
	if (result != SPF_RESULT_INVALID) {
		resp->result = result;
		resp->reason = SPF_REASON_FAILURE;
	}
	return SPF_response_add_error(resp, err, "%s '%s'", why, domain);
}

/*
 * layer_get_spf - SPF_server_get_record() of libspf2 1.2.10, outcome for
 * outcome (it asks type 99 first, which this layer never has, then TXT),
 * except that a kept record (record_for) comes compiled already: a copy
 * costs a tenth of compiling it again for every check.
 */
static SPF_errcode_t
layer_get_spf(SPF_server_t *srv, SPF_request_t *req, SPF_response_t *resp,
    SPF_record_t **recp)
{
	const char *domain = req->cur_dom, *t;
	const struct rec_memo *m;
	SPF_dns_rr_t *rr;
	SPF_errcode_t err;
	int i, found = 0, idx = 0;

	*recp = NULL;
	if (cur != NULL)
		cur->run->served = NULL;
	rr = layer_lookup(&spf_layer, domain, ns_t_txt, 1);
	m = cur != NULL ? cur->run->served : NULL;
	switch (rr->herrno) {
	case NETDB_SUCCESS:
		if (rr->num_rr == 0)
			return no_record(rr, resp, SPF_RESULT_INVALID,
			    SPF_E_NOT_SPF, "No TXT records for", domain);
		break;
	case HOST_NOT_FOUND:
	case NO_DATA:
		return no_record(rr, resp, SPF_RESULT_NONE, SPF_E_NOT_SPF,
		    "No DNS data for", domain);
	case TRY_AGAIN:
		return no_record(rr, resp, SPF_RESULT_TEMPERROR,
		    SPF_E_DNS_ERROR, "Temporary DNS failure for", domain);
	default:                        /* never made by this layer */
		return no_record(rr, resp, SPF_RESULT_INVALID,
		    SPF_E_DNS_ERROR, "Unknown DNS failure for", domain);
	}
	for (i = 0; i < rr->num_rr; i++) {
		t = rr->rr[i]->txt;
		if (strncasecmp(t, "v=spf1", 6) == 0 &&
		    (t[6] == ' ' || t[6] == '\0')) {
			found++;
			idx = i;
		}
	}
	if (found != 1)
		return found ? no_record(rr, resp, SPF_RESULT_PERMERROR,
		    SPF_E_MULTIPLE_RECORDS, "Multiple SPF records for", domain) :
		    no_record(rr, resp, SPF_RESULT_NONE, SPF_E_NOT_SPF,
		    "No SPF records for", domain);
	if (m != NULL && m->i == (size_t)idx) {
		SPF_dns_rr_free(rr);
		*recp = record_copy(m->compiled);
		return SPF_E_SUCCESS;
	}
	err = SPF_record_compile(srv, resp, recp, rr->rr[idx]->txt);
	SPF_dns_rr_free(rr);
	if (err != SPF_E_SUCCESS)
		return SPF_response_add_error(resp, SPF_E_NOT_SPF,
		    "Failed to compile SPF record for '%s'", domain);
	return SPF_E_SUCCESS;
}

/*
 * layer_get_exp - libspf2 asks for every exp= it meets (a marker, see
 * libspf2_record) and gets nothing: no explanation is fetched while
 * evaluating.  The last one it asked for is that of the record that
 * decided, when that record has one (libspf2's own explanation is then
 * NULL; without exp= it writes its default, see spflib_evaluate).
 */
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
	    (size_t)idx < c->run->nexps)
		c->run->exp_last = (int)idx;
	return SPF_E_NOT_SPF;           /* no text: explain() fetches it */
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
		return c->run->dns_trouble || SPF_response_errcode(resp) ==
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
		c->run->top_result = SPF_NONE;
		return resp;
	}
	err = SPF_server_get_record(spf_server, req, resp, &rec);
	if (err != SPF_E_SUCCESS) {
		if (rec)
			SPF_record_free(rec);
		if (SPF_response_result(resp) == SPF_RESULT_NONE)
			c->run->top_result = SPF_NONE;
		else if (err == SPF_E_DNS_ERROR)
			c->run->top_result = SPF_TEMPERROR;
		else
			c->run->top_result = SPF_PERMERROR;
		if (c->run->top_result == SPF_PERMERROR && c->run->problem == NULL)
			c->run->problem = xstrdup(SPF_strerror(err));
		return resp;
	}
	resp->spf_record_exp = rec;
	SPF_record_interpret(rec, req, resp, 0);
	resp->spf_record_exp = NULL;
	SPF_record_free(rec);
	return resp;
}

static SPF_request_t *
make_request(struct spf_check *c)
{
	SPF_request_t *req;

	if ((req = SPF_request_new(spf_server)) == NULL)
		fatalx("spf: out of memory");
	if (c->v6)
		SPF_request_set_ipv6(req, c->a6);
	else
		SPF_request_set_ipv4(req, c->a4);
	/* %{h}: only a name we have bounded reaches libspf2 */
	if (c->helo && *c->helo && spf_name_ok(c->helo))
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
	int r;

	if (spfrec_rewrite(txt, strlen(txt), c->v6, rewritten,
	    sizeof(rewritten)) < 0)
		return -1;
	spf_run_reset(c->run);
	c->run->override_name = name;
	c->run->override_txt = rewritten;
	r = (int)spflib_evaluate(c);
	c->run->override_name = NULL;
	c->run->override_txt = NULL;
	return c->run->misses ? -1 : r;
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
	const struct dns_answer *a;
	size_t i, len = 0, plen;
	int r1, r2, nmech = 0;

	dns_canon(name, sizeof(name), c->domain);
	if ((a = spf_known_answer(c, name, DNS_T_TXT)) == NULL ||
	    a->status != DNS_OK)
		return NULL;
	for (i = 0; i < a->n; i++) {
		if (spfrec_is_spf(a->rr[i].u.txt, a->rr[i].len)) {
			rec = a->rr[i].u.txt;
			len = a->rr[i].len;
			break;
		}
	}
	if (rec == NULL || len >= sizeof(prefix) - 16 ||
	    spfrec_check(rec, len, NULL, prefix, sizeof(prefix)) < 0)
		return NULL;
	memcpy(prefix, "v=spf1", 6);
	plen = 6;
	e = rec + len;
	for (t = rec + 6; nmech < 40 && spfrec_next_term(&t, e, &sp); t = sp) {
		if (spfrec_is_modifier(t, (size_t)(sp - t))) {
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

enum spf_result
spflib_evaluate(struct spf_check *c)
{
	SPF_request_t *req = make_request(c);
	SPF_response_t *resp;
	enum spf_result r;

	cur = c;
	resp = evaluate(c, req);
	cur = NULL;
	if (c->run->over_limit)
		r = SPF_PERMERROR;
	else if (c->run->top_result >= 0)
		r = (enum spf_result)c->run->top_result;
	else
		r = map_result(c, resp);
	/* libspf2 wrote its default: the record that decided has no exp= */
	if (SPF_response_get_explanation(resp) != NULL)
		c->run->exp_last = -1;
	c->run->errstr = SPF_strerror(SPF_response_errcode(resp));
	SPF_response_free(resp);
	SPF_request_free(req);
	return r;
}

char *
spflib_find_match(struct spf_check *c)
{
	struct spf_run probe;
	char *m;

	memset(&probe, 0, sizeof(probe));
	c->run = &probe;
	m = find_match(c);
	c->run = &c->main;
	spf_run_free(&probe);
	return m;
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
spflib_init(void)
{
	SPF_error_handler = spf_lib_error;
	SPF_warning_handler = spf_lib_warning;
	SPF_info_handler = spf_lib_debug;
	SPF_debug_handler = spf_lib_debug;
	memset(&spf_layer, 0, sizeof(spf_layer));
	spf_layer.lookup = layer_lookup;
	spf_layer.get_exp = layer_get_exp;
	spf_layer.get_spf = layer_get_spf;
	spf_layer.name = "spfpd";
	spf_layer.destroy = NULL;       /* static: not freed by libspf2 */
	spf_server = SPF_server_new_dns(&spf_layer, 0);
	if (spf_server == NULL) {
		log_warnx("spf: SPF_server_new_dns failed");
		return -1;
	}
	/*
	 * RFC 7208 4.6.4's limits are counted by spf.c (spf_count_term),
	 * over the whole check; libspf2's own count restarts in every
	 * include: and would count our continuation redirects.
	 */
	SPF_server_set_max_dns_mech(spf_server, 1000);
	return 0;
}

/*
 * spflib_configure - spfpd expands the default explanation itself
 * (spf.c); libspf2 gets a fixed text without macros, only so that its
 * explanation is not empty when no exp= decided (spflib_evaluate tells
 * by that).  Its macro compiler never sees the administrator's text.
 */
int
spflib_configure(void)
{
	SPF_response_t *resp = NULL;
	SPF_errcode_t err;
	char *text = xstrdup("spfpd");

	err = SPF_server_set_explanation(spf_server, text, &resp);
	SPF_response_free(resp);
	free(text);
	if (err != SPF_E_SUCCESS) {
		log_warnx("spf: libspf2's explanation: %s", SPF_strerror(err));
		return -1;
	}
	return 0;
}

void
spflib_shutdown(void)
{
	if (spf_server)
		SPF_server_free(spf_server);
	spf_server = NULL;
}

const char *
spflib_receiver(void)
{
	return spf_server->rec_dom ? spf_server->rec_dom : "unknown";
}
