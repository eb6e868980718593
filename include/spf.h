/*
 * spf - one SPF check (RFC 7208) of one identity, evaluated by libspf2
 * over our asynchronous DNS layer.
 *
 * libspf2's evaluator is synchronous, so it never talks to the network:
 * its DNS layer answers from the answers this check has collected.  A
 * question it cannot answer is recorded as a miss (libspf2 sees TRY_AGAIN);
 * the check fetches the misses through dns.c and evaluates again from the
 * start with a fresh request.  Evaluation is deterministic given the
 * answers, and SPF's own limits bound the number of runs.  A miss ("not
 * fetched yet") is kept apart from a real temporary DNS failure.
 *
 * While answers come in, the names an SPF record names (include:,
 * redirect=, a:, mx:, exists:, without macros) and the hosts of MX and PTR
 * answers are prefetched in parallel, so a check costs about the depth of
 * its include tree in round trips rather than one per lookup.
 */
#ifndef SPFPD_SPF_H
#define SPFPD_SPF_H

struct config;
struct spf_check;

enum spf_result {
	SPF_NONE,
	SPF_NEUTRAL,
	SPF_PASS,
	SPF_FAIL,
	SPF_SOFTFAIL,
	SPF_TEMPERROR,
	SPF_PERMERROR
};

struct spf_outcome {
	enum spf_result result;
	const char *identity;           /* "helo" or "mailfrom" */
	const char *domain;             /* the domain checked */
	const char *explanation;        /* fail: exp= text or our default */
	const char *problem;            /* permerror/temperror: why */
	unsigned dns_terms;             /* DNS-querying terms evaluated */
	unsigned void_lookups;
	unsigned runs;                  /* evaluations of libspf2 */
	unsigned queries;               /* distinct DNS questions */
	const char *matched;            /* the deciding term of the top
	                                   record (spf_check_want_match) */
	int no_mail;                    /* fail, and the top record is
	                                   exactly "v=spf1 -all": a domain
	                                   that sends no mail */
};

typedef void spf_done_fn(void *arg, const struct spf_outcome *o);

struct event_base;
int spf_init(struct event_base *base, const struct config *cfg);
int spf_configure(const struct config *cfg);
void spf_shutdown(void);

/*
 * spf_check_start - check ip against the SPF policy of sender's domain, or
 * of helo when sender is NULL (the HELO identity, "postmaster@helo").
 * done() is called once from the event loop (never from inside this call)
 * and the check is freed after it returns; spf_check_cancel() before that
 * stops it without a call.
 */
struct spf_check *spf_check_start(const char *ip, const char *helo,
    const char *sender, unsigned lookup_time_ms, spf_done_fn *done,
    void *arg);
void spf_check_cancel(struct spf_check *c);

/* spf_check_want_match - also find which term decided (costs CPU only) */
void spf_check_want_match(struct spf_check *c);

const char *spf_result_str(enum spf_result r);

#endif
