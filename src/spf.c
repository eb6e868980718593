/*
 * spf - the SPF check (RFC 7208) of one identity: the question, the
 * answers (fetched and prefetched through dns.c), the limits of 4.6.4,
 * the macro values, the explanation (6.2) and the check's life.  The
 * records are evaluated by spflib.c (libspf2); see spfcheck.h for the
 * line between the two and spf.h for the design.
 */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "cidr.h"
#include "config.h"
#include "dns.h"
#include "iprev.h"
#include "log.h"
#include "spf.h"
#include "spfcheck.h"
#include "spfrec.h"
#include "xmalloc.h"


struct spf_known {
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

static struct event_base *spf_base;
static char *default_exp;               /* default_explanation, as given */


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

static unsigned
khash(const char *s, int type)
{
	unsigned h = 5381u + (unsigned)type;

	for (; *s; s++)
		h = h * 33 + (unsigned char)*s;
	return h;
}

static struct spf_known *
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
	struct spf_known *k;

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

const struct dns_answer *
spf_known_answer(struct spf_check *c, const char *name, int type)
{
	struct spf_known *k = known_find(c, name, type);

	return k != NULL ? k->ans : NULL;
}

void
spf_run_reset(struct spf_run *r)
{
	size_t i;

	for (i = 0; i < r->nconts; i++)
		free(r->conts[i]);
	for (i = 0; i < r->nexps; i++) {
		free(r->exps[i].domain);
		free(r->exps[i].spec);
	}
	for (i = 0; i < r->nnames; i++)
		free(r->names[i]);
	free(r->problem);
	free(r->dns_problem);
	r->nconts = r->nexps = r->nnames = 0;
	r->problem = r->dns_problem = NULL;
	r->errstr = NULL;
	r->misses = r->dns_terms = r->void_lookups = r->expand_used = 0;
	r->dns_trouble = r->txt_seen = r->over_limit = r->in_exp = 0;
	r->expand = NULL;
	r->top_result = r->exp_last = -1;
	r->override_name = NULL;
	r->override_txt = NULL;
}

void
spf_run_free(struct spf_run *r)
{
	spf_run_reset(r);
	free(r->conts);
	free(r->exps);
	free(r->names);
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

/*
 * dns_term_type - the DNS type a term of a record queries (0: A or AAAA
 * by the client's family), with its name in *name (*nlen bytes, no
 * cidr-length); -1 for a term that queries nothing, -2 for one that does
 * but whose name we cannot know here (ptr, macros, a and mx without a
 * domain: the current domain, asked anyway).
 */
int
spf_dns_term_type(const char *t, size_t n, const char **name, size_t *nlen)
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
	dns_canon(name, sizeof(name), name);
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
		    spfrec_next_term(&t, e, &sp); t = sp) {
			type = spf_dns_term_type(t, (size_t)(sp - t), &name, &nlen);
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


/* ----- the answers, the limits, the macros, as the evaluator asks ----- */

/* addr_in - does answer a hold the client's address? */
static int
spf_addr_in(const struct spf_check *c, const struct dns_answer *a)
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
	if ((a = spf_need(c, rev, DNS_T_PTR)) == NULL)
		return NULL;
	if (a->status != DNS_OK)
		return "unknown";
	for (i = 0; i < a->n && i < SPF_MAX_PTR_NAMES; i++) {
		nm = a->rr[i].u.name;
		if (!dns_name_ok(nm))
			continue;
		if ((h = spf_need(c, nm, c->v6 ? DNS_T_AAAA : DNS_T_A)) == NULL) {
			missing = 1;
			continue;
		}
		if (!spf_addr_in(c, h))
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
char *
spf_expand_spec(struct spf_check *c, const char *domain, const char *s,
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

/* spf_dns_trouble - a real temporary DNS failure (not a miss): say which */
void
spf_dns_trouble(struct spf_check *c, const char *name, int type,
    int st)
{
	char buf[320];

	c->run->dns_trouble = 1;
	if (c->run->dns_problem != NULL)
		return;
	snprintf(buf, sizeof(buf), "DNS %s for %.253s/%s", dns_status_str(st),
	    name, dns_type_str(type));
	c->run->dns_problem = xstrdup(buf);
}

/*
 * spf_truncate_left - RFC 7208 7.3: an expanded name longer than 253
 * characters loses labels on the left until it fits.
 */
void
spf_truncate_left(char *name)
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

void
spf_note_problem(struct spf_check *c, const char *what)
{
	if (c->run->problem == NULL)
		c->run->problem = xstrdup(what);
}

/*
 * count_term - RFC 7208 4.6.4 accounting of one lookup libspf2 makes.
 * Terms that query DNS (include, a, mx, ptr, exists, redirect) count to
 * 10; the address lookups of MX and PTR hosts do not (they have their own
 * limit of 10 per mechanism).  The first TXT lookup is the record being
 * checked.  Returns whether the lookup is a counted term.
 */
int
spf_count_term(struct spf_check *c, const char *name, int type)
{
	size_t i;

	if (type == DNS_T_A || type == DNS_T_AAAA) {
		if (c->run->expand != NULL) {
			for (i = 0; i < c->run->expand->n && i < 16; i++) {
				if (!(c->run->expand_used & (1u << i)) &&
				    strcmp(c->run->expand->rr[i].u.name, name) == 0) {
					c->run->expand_used |= 1u << i;
					return 0;
				}
			}
		}
	} else if (type == DNS_T_TXT) {
		if (!c->run->txt_seen) {
			c->run->txt_seen = 1;
			return 0;
		}
	}
	c->run->expand = NULL;
	if (++c->run->dns_terms > SPF_MAX_TERMS) {
		c->run->over_limit = 1;
		spf_note_problem(c, "more than 10 DNS-querying terms");
	}
	return 1;
}

/*
 * spf_need - the answer to (name, type), or NULL after recording a miss.
 */
const struct dns_answer *
spf_need(struct spf_check *c, const char *name, int type)
{
	struct spf_known *k = known_find(c, name, type);

	if (k != NULL && k->ans != NULL)
		return k->ans;
	c->run->misses++;
	known_fetch(c, name, type, 1, c->run->dns_terms);
	return NULL;
}

/*
 * spf_lookup - what this check knows of (name, type), or NULL after
 * recording a miss: "does not exist" lets libspf2 go on, so one run
 * collects every independent miss; a run with a miss is thrown away.
 */
const struct dns_answer *
spf_lookup(struct spf_check *c, const char *name, int type)
{
	/* in the cache already? then this is no miss: no re-run */
	if (known_find(c, name, type) == NULL)
		known_fetch(c, name, type, 0, c->run->dns_terms);
	return spf_need(c, name, type);
}

/*
 * spf_limits - RFC 7208 4.6.4 on an answer: void lookups of counted
 * terms (more than 2), more than 10 MX names.  Nonzero: over the limit,
 * the MX answer is not to be used.
 */
int
spf_limits(struct spf_check *c, const struct dns_answer *a, int type,
    int counted)
{
	if (counted && (a->status == DNS_NXDOMAIN || a->status == DNS_NODATA) &&
	    type != DNS_T_TXT && ++c->run->void_lookups > SPF_MAX_VOID) {
		c->run->over_limit = 1;
		spf_note_problem(c, "more than 2 void lookups");
	}
	if (type == DNS_T_MX && a->status == DNS_OK && a->n > SPF_MAX_MX_NAMES) {
		c->run->over_limit = 1;
		spf_note_problem(c, "more than 10 MX records");
		return 1;
	}
	if ((type == DNS_T_MX || type == DNS_T_PTR) && a->status == DNS_OK) {
		c->run->expand = a;          /* its hosts are no DNS terms */
		c->run->expand_used = 0;
	}
	return 0;
}


/*
 * ----- the explanation (RFC 7208 6.2) -----
 *
 * While a record is evaluated no explanation is fetched: the evaluator
 * only notes which exp= the record that decided has (run->exp_last).
 * Once the result is a fail, explain() fetches that exp= alone, not
 * counted as a DNS term, and expands it with its record's domain as the
 * current one; without one, the default explanation.
 */

/*
 * explain - the explanation of a fail into c->expl: 0 when done, 1 when
 * it waits for DNS (a miss was recorded: run again).
 */
static int
explain(struct spf_check *c)
{
	const struct spf_expref *x = NULL;
	const struct dns_answer *a;
	char *spec, *text = NULL, name[NS_MAXDNAME];
	unsigned misses = c->run->misses;

	free(c->expl);
	c->expl = NULL;
	c->run->in_exp = 1;
	if (c->run->exp_last >= 0) {
		x = &c->run->exps[c->run->exp_last];
		spec = spf_expand_spec(c, x->domain, x->spec, strlen(x->spec),
		    0);
		if (spec != NULL && strlen(spec) < sizeof(name)) {
			dns_canon(name, sizeof(name), spec);
			spf_truncate_left(name);
			/*
			 * RFC 7208 6.2: exactly one TXT record, a valid
			 * macro-string, or it is as if there were no exp=.
			 */
			if (dns_name_ok(name) && (a = spf_need(c, name,
			    DNS_T_TXT)) != NULL && a->status == DNS_OK &&
			    a->n == 1 && a->rr[0].len > 0 &&
			    spfrec_explanation_ok(a->rr[0].u.txt,
			    a->rr[0].len))
				text = spf_expand_spec(c, x->domain,
				    a->rr[0].u.txt, a->rr[0].len, 1);
		}
		free(spec);
	}
	if (text == NULL && c->run->misses == misses && default_exp != NULL)
		text = spf_expand_spec(c, x ? x->domain : c->domain,
		    default_exp, strlen(default_exp), 1);
	c->run->in_exp = 0;
	if (c->run->misses != misses) {
		free(text);
		return 1;
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
	/* a reason given here (the deadline, a bound) wins over a run's */
	if (problem) {
		free(c->problem);
		c->problem = xstrdup(problem);
	} else if (c->problem == NULL) {
		c->problem = c->main.problem;
		c->main.problem = NULL;
	}
	c->out.problem = c->problem;
	c->out.explanation = c->expl;
	c->out.domain = c->domain;
	c->out.identity = c->sender ? "mailfrom" : "helo";
	c->out.runs = c->runs;
	c->out.queries = (unsigned)c->nknown;
	c->out.dns_terms = c->main.dns_terms;
	c->out.void_lookups = c->main.void_lookups;
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
	spf_run_free(&c->main);
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
	struct spf_known *k = arg;
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

/*
 * no_mail - is the top record of c's domain exactly "v=spf1 -all" (in any
 * case, with any spaces between the terms and after them): a domain that
 * sends no mail (reject_only_no_mail).  Read from the answer the
 * evaluation used: no DNS, nothing evaluated again.  Anything more (exp=,
 * redirect=, another mechanism) is not "no mail".
 */
static int
no_mail(struct spf_check *c)
{
	char name[256];
	const struct dns_answer *a;
	const char *rec = NULL, *t, *e, *sp;
	size_t i, len = 0;
	int n = 0;

	dns_canon(name, sizeof(name), c->domain);
	if ((a = spf_known_answer(c, name, DNS_T_TXT)) == NULL ||
	    a->status != DNS_OK)
		return 0;
	for (i = 0; i < a->n; i++) {
		if (!spfrec_is_spf(a->rr[i].u.txt, a->rr[i].len))
			continue;
		if (rec != NULL)
			return 0;       /* two records: permerror anyway */
		rec = a->rr[i].u.txt;
		len = a->rr[i].len;
	}
	if (rec == NULL)
		return 0;
	e = rec + len;
	for (t = rec + 6; spfrec_next_term(&t, e, &sp); t = sp)
		if (++n > 1 || sp - t != 4 || strncasecmp(t, "-all", 4) != 0)
			return 0;
	return n == 1;
}

/* spf_run - one evaluation; fetch what it missed, or finish */
static void
spf_run(struct spf_check *c)
{
	struct spf_run *run = &c->main;
	enum spf_result r;

	for (;;) {
		if (++c->runs > SPF_MAX_RUNS) {
			spf_finish(c, SPF_TEMPERROR, "too many DNS rounds");
			return;
		}
		c->run = run;
		spf_run_reset(run);
		r = spflib_evaluate(c);
		if (run->misses == 0 && (r != SPF_FAIL || explain(c) == 0))
			break;
		if (c->overflow) {
			spf_finish(c, SPF_PERMERROR, "too many DNS lookups");
			return;
		}
		if (c->waiting > 0)
			return;         /* spf_answer() runs us again */
	}
	if (r == SPF_TEMPERROR && run->problem == NULL && run->dns_problem) {
		run->problem = run->dns_problem;
		run->dns_problem = NULL;
	}
	if ((r == SPF_PERMERROR || r == SPF_TEMPERROR) &&
	    run->problem == NULL && run->errstr != NULL)
		run->problem = xstrdup(run->errstr);
	/* its own runs: nothing of c->main changes */
	if (c->want_match && r != SPF_NONE && r != SPF_TEMPERROR)
		c->matched = spflib_find_match(c);
	c->run = run;
	c->out.no_mail = r == SPF_FAIL && no_mail(c);
	spf_finish(c, r, NULL);
}

/* bound what we hand to libspf2 (its macro expander had CVEs) */
int
spf_name_ok(const char *d)
{
	return d != NULL && *d != '\0' && strlen(d) <= 253 && dns_name_ok(d);
}

/* ipv4_str - a in dotted decimal, as inet_ntop() writes it (16 bytes) */
static void
ipv4_str(char *buf, const struct in_addr *a)
{
	const unsigned char *b = (const unsigned char *)&a->s_addr;
	char *p = buf;
	int i;

	for (i = 0; i < 4; i++) {
		if (b[i] >= 100)
			*p++ = (char)('0' + b[i] / 100);
		if (b[i] >= 10)
			*p++ = (char)('0' + b[i] / 10 % 10);
		*p++ = (char)('0' + b[i] % 10);
		*p++ = '.';
	}
	p[-1] = '\0';
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
		ipv4_str(buf, &c->a4);  /* inet_ntop() costs 1,800 instructions */
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
	c->env.r = spflib_receiver();
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
	c->run = &c->main;
	c->main.top_result = c->main.exp_last = -1;
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
	if (!spf_name_ok(c->domain) || !spfrec_domain_ok(c->domain)) {
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
	free(default_exp);
	default_exp = xstrdup(cfg->default_explanation);
	if (!spfrec_explanation_ok(default_exp, strlen(default_exp))) {
		log_warnx("default_explanation: not a valid explanation "
		    "(RFC 7208 6.2: text and %%{x} macros)");
		return -1;
	}
	return spflib_configure();
}

int
spf_init(struct event_base *base, const struct config *cfg)
{
	spf_base = base;
	if (spflib_init() < 0)
		return -1;
	return spf_configure(cfg);
}

void
spf_shutdown(void)
{
	spflib_shutdown();
	free(default_exp);
	default_exp = NULL;
}
