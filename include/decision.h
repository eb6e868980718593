/*
 * decision - what a policy request calls for, as pure functions of what
 * is known about it and of the configuration: no I/O, no clock, no DNS,
 * no state of their own.  policy.c runs the checks these plan, keeps the
 * per-message memory and logs; tests/unit/test_policy.c drives them by a
 * table.
 *
 * In pypolicyd-spf's order:
 *  1. decision_local(): skip_addresses, whitelist, skip_authenticated
 *     answer DUNNO before any DNS;
 *  2. decision_plan(): the DNS checks to run - the HELO identity, MAIL
 *     FROM (postmaster@HELO for the null sender, RFC 7208 2.4), iprev,
 *     the domain_whitelist and helo_whitelist lookups;
 *  3. decision_take() on their results: a whitelist match wins, then a
 *     HELO reject or defer, then the MAIL FROM result; a reverse DNS
 *     refusal (ptr_check = reject) comes before both; test_only turns a
 *     refusal into a header; with nothing refused (not even under
 *     test_only), an SPF pass of MAIL FROM, then of the HELO, answers
 *     with its pass restriction class (mail_from_pass_restriction,
 *     helo_pass_restriction) if one is set; otherwise one header is
 *     prepended where the SMTP stage can take one.
 *     reject_only_no_mail keeps only the fails of "v=spf1 -all" among
 *     the SPF refusals (not temperror_defer's).
 *  4. when that would refuse for SPF, decision_plan2() names the second
 *     phase's lookups (trust_recipient_mx, dnswl_zones); what they find
 *     (f->over) makes decision_take() give the header, with a note,
 *     instead of the SPF refusal.
 */
#ifndef SPFPD_DECISION_H
#define SPFPD_DECISION_H

#include <stddef.h>

#include "compose.h"
#include "iprev.h"
#include "log.h"
#include "spf.h"

struct cidr;
struct config;

/*
 * The SMTP stage of a request (protocol_state), by what it has:
 *  - STAGE_MESSAGE: MAIL, RCPT, DATA, or no protocol_state (a client
 *    that is not smtpd): a MAIL FROM was given (an empty sender is the
 *    null sender <>), and a header can still be prepended;
 *  - STAGE_END: END-OF-MESSAGE: the same, but too late for a header
 *    (Postfix would drop a PREPEND with a warning);
 *  - STAGE_SESSION: CONNECT, EHLO, HELO, VRFY, ETRN (and a state we do
 *    not know): no message, so no MAIL FROM: an empty sender there is
 *    not <> and is not checked; the HELO is, where there is one.  No
 *    header, and nothing remembered for the message's later requests.
 */
enum decision_stage { STAGE_MESSAGE, STAGE_END, STAGE_SESSION };

enum decision_stage decision_stage(const char *protocol_state);

/* one SPF identity; o.domain is NULL when no domain was looked up */
struct decision_spf {
	int checked;                    /* 0: not checked, o unused */
	struct spf_outcome o;
};

struct decision_iprev {
	int checked;
	struct iprev_outcome o;
};

/*
 * An SPF refusal lifted by what the second phase found (policy.c runs it
 * only when the verdict would refuse for SPF): the client is an MX host
 * of the recipient's domain (trust_recipient_mx), a trusted forwarder
 * (trusted_forwarders), or listed by a DNSWL zone (dnswl_zones, RFC
 * 8904).  The header records the SPF result with a note; the log says
 * trusted=.
 */
enum decision_trust { TRUST_NONE, TRUST_MX, TRUST_DNSWL, TRUST_FORWARDER };

struct decision_override {
	enum decision_trust by;
	const char *name;               /* MX: the recipient's domain;
	                                   DNSWL: the zone; forwarder: the
	                                   item ("ptr:lists.example.org") */
	const char *value;              /* DNSWL: the address it returned;
	                                   forwarder: its domain or CIDR
	                                   block (policy.forwarder=) */
	int recipient_asked;            /* the recipient's MX was looked up:
	                                   a refusal holds for the recipients
	                                   of that domain only (policy.c) */
};

/* what a decision rests on; every string is borrowed */
struct decision_facts {
	enum decision_stage stage;
	const char *client;             /* the request's client_address, */
	const char *helo;               /* helo_name, */
	const char *sender;             /* sender ("" for <>) */
	const char *sasl_username;      /* and sasl_username, as sent */
	const char *hostname;           /* ours: authserv_id's default */
	struct decision_spf spf_helo;
	struct decision_spf spf_mailfrom;
	struct decision_iprev iprev;
	const char *skip;               /* a DNS whitelist that matched */
	struct decision_override over;  /* the second phase's finding */
};

#define DECISION_MAX_WL 64              /* domain_whitelist checks */
#define DECISION_MAX_MX 10              /* MX hosts looked up (RFC 7208
                                           4.6.4's bound) */
#define DECISION_MAX_DNSWL 16           /* dnswl_zones looked up */

/* the DNS checks a request calls for */
struct decision_plan {
	int helo;                       /* check the HELO identity */
	int mailfrom;                   /* check MAIL FROM: mailfrom_id */
	const char *mailfrom_id;        /* the sender, or p->postmaster */
	int iprev;
	int helo_whitelist;             /* is the HELO name's address the
	                                   client's?  (helo_whitelist) */
	size_t whitelist;               /* domain_whitelist checks */
	char helo_name[256];            /* the HELO name as a domain */
	char postmaster[300];           /* postmaster@HELO, for <> */
};

enum verdict {
	VERDICT_DUNNO,
	VERDICT_PREPEND,
	VERDICT_REJECT,
	VERDICT_DEFER,
	VERDICT_CLASS                   /* a pass restriction class */
};

struct decision_verdict {
	enum verdict verdict;           /* the answer */
	enum verdict refusal;           /* the REJECT or DEFER called for,
	                                   also under test_only; or DUNNO */
	int by_iprev;                   /* that refusal is ptr_check's */
	int test_only;                  /* the refusal is only logged */
	const struct decision_spf *spf; /* the SPF result the action rests
	                                   on (in the facts), or NULL */
	const char *skip;               /* the whitelist that matched */
	const char *pass_class;         /* VERDICT_CLASS: its name (cfg's) */
	enum decision_trust trusted;    /* an SPF refusal lifted: by what */
};

/* the second phase's lookups: when an SPF refusal may be lifted */
struct decision_plan2 {
	char mx_domain[256];            /* the recipient's domain, lower
	                                   case; "": no MX lookup */
	size_t dnswl;                   /* dnswl_zones to look up */
	const struct cidr *forwarder;   /* the trusted_forwarders address
	                                   item the client is in (no lookup
	                                   needed, none made), or NULL */
	int fwd_ptr;                    /* match its ptr: items */
	size_t fwd_spf;                 /* its spf: items to check */
};

#define DECISION_ACTION_MAX (COMPOSE_MAX + 64)
#define DECISION_FIELDS_MAX (5 * LOG_ESC_SIZE + 160)

/* a decision, with its text; the pointers point into it or at constants */
struct decision {
	struct decision_verdict vd;
	char action[DECISION_ACTION_MAX];       /* the reply */
	char would[DECISION_ACTION_MAX];        /* test_only: the refusal */
	char result[64];                /* the log's result=: the SPF result
	                                   the action rests on, "unchecked",
	                                   "skipped(NAME)", "repeat", ... */
	char fields[DECISION_FIELDS_MAX];       /* the log line's checks */
	const char *log_action;         /* the action as logged: a header
	                                   by its name only */
	const char *remember;           /* what the message's later
	                                   recipients get; NULL: forget */
};

/* decision_local - 1 and d filled: answered without DNS; 0: go on */
int decision_local(const struct config *cfg, const struct decision_facts *f,
    struct decision *d);

/*
 * decision_plan - the DNS checks to start; also enters in f what is known
 * without them (a HELO name that is no domain is "none", RFC 7208 4.3).
 * p->mailfrom_id may point into p.
 */
void decision_plan(const struct config *cfg, struct decision_facts *f,
    struct decision_plan *p);

/*
 * decision_plan2 - after the checks: 1 and p filled when the verdict
 * would refuse for SPF (a reject, also under test_only; not a temperror
 * defer, not ptr_check's refusal) and trust_recipient_mx, dnswl_zones or
 * trusted_forwarders have something to look up, or an address item of
 * trusted_forwarders holds the client (p->forwarder, and nothing else
 * is asked); recipient is the request's (may be "").
 */
int decision_plan2(const struct config *cfg, const struct decision_facts *f,
    const char *recipient, struct decision_plan2 *p);

/* decision_verdict - the verdict on the checks' results */
struct decision_verdict decision_verdict(const struct config *cfg,
    const struct decision_facts *f);

/* decision_take - the verdict and its text */
void decision_take(const struct config *cfg, const struct decision_facts *f,
    struct decision *d);

/* decision_known - an answer known without a verdict: result= says why */
void decision_known(struct decision *d, const char *action,
    const char *result);

#endif
