/*
 * spfcheck - what the two halves of an SPF check share; for spf.c and
 * spflib.c only (the rest of spfpd sees spf.h).
 *
 *  - spf.c is the check as RFC 7208 defines it, whatever evaluates the
 *    records: the question, the answers fetched (and prefetched) through
 *    dns.c, the limits of 4.6.4, the macro values, the explanation (6.2),
 *    a check's life from start to done().
 *  - spflib.c is the evaluator: libspf2, and everything that exists only
 *    because of it (see the top of that file).  It evaluates one run over
 *    what the check knows and asks spf.c for every answer.
 *
 * An evaluation is a run: libspf2 is synchronous, so a run that meets a
 * question whose answer has not arrived records a miss, and the check
 * runs again once the answers are in.  Everything a run counts or
 * collects is in struct spf_run, reset at its start, so that a second
 * evaluation (spfpd -q's search for the deciding term) uses its own.
 */
#ifndef SPFPD_SPFCHECK_H
#define SPFPD_SPFCHECK_H

#include <netinet/in.h>
#include <stddef.h>

#include "spf.h"
#include "spfrec.h"

struct dns_answer;
struct event;

/* bounds on one check: distinct questions and evaluations */
#define SPF_MAX_KNOWN 400
#define SPF_MAX_RUNS 200
/* RFC 7208 4.6.4 */
#define SPF_MAX_PTR_NAMES 10
#define SPF_MAX_MX_NAMES 10
#define SPF_MAX_TERMS 10
#define SPF_MAX_VOID 2
#define SPF_EXP_MAX 512         /* an explanation goes into a reply line */

/* one evaluation (see above) */
struct spf_run {
	unsigned misses;                /* answers it needed, not yet here */
	int dns_trouble;                /* a real SERVFAIL/timeout was seen */
	char *dns_problem;              /* the first one, for the report */
	char *problem;                  /* why a permerror/temperror */
	const char *errstr;             /* the evaluator's word for it */
	unsigned dns_terms, void_lookups;
	int txt_seen;                   /* the first TXT is the top record */
	const struct dns_answer *expand;        /* MX/PTR hosts being looked up */
	unsigned expand_used;           /* bitmap over expand->rr[0..15] */
	int over_limit;                 /* RFC 7208 4.6.4 limit exceeded */
	int top_result;                 /* set when the top record failed */
	int in_exp;                     /* explaining: lookups are no terms */

	/*
	 * Every exp= met, with the domain of its record (filled by the
	 * evaluator), and the one of the record that decided (-1: none).
	 */
	struct spf_expref {
		char *domain;           /* the record's current domain */
		char *spec;             /* its exp= domain-spec */
	} *exps;
	size_t nexps, exps_cap;
	int exp_last;

	/* the evaluator's own tables (spflib.c) */
	char **conts;                   /* continuation records */
	size_t nconts, conts_cap;
	char **names;                   /* expanded names under a marker */
	size_t nnames, names_cap;
	const char *override_name;      /* serve this TXT for that name */
	char *override_txt;
	void *served;                   /* the kept record served last */
};

struct spf_known;

struct spf_check {
	/* the question */
	int v6;
	struct in_addr a4;
	struct in6_addr a6;
	char *helo;
	char *sender;                   /* NULL: HELO identity */
	char *domain;

	/* answers collected, fetched or being fetched */
	struct spf_known **known;       /* stable addresses: queries hold them */
	size_t nknown, known_cap;
	unsigned waiting;               /* needed answers still in flight */
	int overflow;                   /* more questions than SPF_MAX_KNOWN */

	struct spf_run main;            /* the check's own evaluation */
	struct spf_run *run;            /* the one running: main, or a probe */
	unsigned runs;

	struct event *deadline, *kick;
	spf_done_fn *done;
	void *arg;
	struct spf_outcome out;
	char *expl, *problem;
	int finished;

	/* the values of the macro letters (RFC 7208 7.2) but d and p */
	struct spfrec_env env;
	char *env_buf[8];

	/* spf_check_want_match(): which term decided */
	int want_match;
	char *matched;
};

/* ----- spf.c, for the evaluator ----- */

/* spf_run_reset - a run's counters and tables, for a new evaluation */
void spf_run_reset(struct spf_run *r);
void spf_run_free(struct spf_run *r);

/* spf_truncate_left - RFC 7208 7.3: labels off the left until 253 fit */
void spf_truncate_left(char *name);
/* spf_name_ok - a name we let reach the evaluator (bounded, a DNS name) */
int spf_name_ok(const char *d);

/* spf_known_answer - the answer this check has for (name, type), or NULL */
const struct dns_answer *spf_known_answer(struct spf_check *c,
    const char *name, int type);
/* spf_need - the answer, or NULL after recording a miss (it is fetched) */
const struct dns_answer *spf_need(struct spf_check *c, const char *name,
    int type);
/*
 * spf_lookup - what a DNS-querying term asks: like spf_need, but an answer
 * already in dns.c's cache is taken without a miss
 */
const struct dns_answer *spf_lookup(struct spf_check *c, const char *name,
    int type);

/*
 * RFC 7208 4.6.4.  spf_count_term - a lookup of (name, type): whether it
 * is a DNS-querying term (counted); spf_limits - on its answer: void
 * lookups, more than 10 MX names (nonzero: not to be used).
 */
int spf_count_term(struct spf_check *c, const char *name, int type);
int spf_limits(struct spf_check *c, const struct dns_answer *a, int type,
    int counted);
void spf_note_problem(struct spf_check *c, const char *what);
void spf_dns_trouble(struct spf_check *c, const char *name, int type,
    int status);

/*
 * spf_expand_spec - a domain-spec or explanation (exp) expanded with
 * domain as %{d} (RFC 7208 7.3); malloc'd, NULL if it does not fit
 */
char *spf_expand_spec(struct spf_check *c, const char *domain,
    const char *s, size_t n, int exp);

/*
 * spf_dns_term_type - the DNS type a term of a record queries (0: A or
 * AAAA by the client's family), its name in *name (*nlen bytes); -1 for a
 * term that queries nothing
 */
int spf_dns_term_type(const char *t, size_t n, const char **name,
    size_t *nlen);

/* ----- spflib.c, the evaluator ----- */

int spflib_init(void);
/* spflib_configure - at start and reload; -1 with a warning logged */
int spflib_configure(void);
void spflib_shutdown(void);
/* spflib_receiver - %{r}: the receiving host's name */
const char *spflib_receiver(void);
/*
 * spflib_evaluate - one evaluation of c's identity in c->run (reset by
 * the caller).  The result means something when c->run->misses is 0;
 * c->run->exp_last then says which exp= the deciding record has, and
 * c->run->problem (or c->run->errstr) why a permerror or temperror.
 */
enum spf_result spflib_evaluate(struct spf_check *c);
/*
 * spflib_find_match - the term of the top record that decided (spfpd -q),
 * malloc'd, or NULL; evaluates in runs of its own, c->main is untouched
 */
char *spflib_find_match(struct spf_check *c);

#endif
