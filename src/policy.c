/*
 * policy - the decision pipeline.  See policy.h.
 *
 * A request that passes the local checks starts, all at once, what
 * decision_plan() calls for: the SPF check of the HELO identity, that of
 * the MAIL FROM identity, one SPF check per domain_whitelist domain, the
 * reverse DNS and the A/AAAA lookup of a helo_whitelist name.  The
 * decision waits for all of them (or for lookup_time), is taken by
 * decision_take(), logged, remembered for the message's later
 * recipients, and delivered.  When that decision would refuse for SPF,
 * a second phase first looks up what may lift the refusal
 * (decision_plan2(): the recipient domain's MX hosts, dnswl_zones, the
 * reverse DNS and SPF of trusted_forwarders), all at once and within the
 * same deadline, and the decision is taken on what it found.  All of it
 * under the config of the request's section (config_select()).  An
 * answer known at once is decided and logged at once, and delivered
 * from the loop like the others.
 *
 * The check copies every string of an outcome it keeps: the checks that
 * lend them are freed after their callbacks.  Out of memory is fatal
 * (xmalloc.h).
 */
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <event2/event.h>

#include "cidr.h"
#include "codec.h"
#include "config.h"
#include "decision.h"
#include "dns.h"
#include "iprev.h"
#include "log.h"
#include "metrics.h"
#include "policy.h"
#include "spf.h"
#include "strbuf.h"
#include "xmalloc.h"

struct policy_memory {
	char *key;                      /* instance, sender, client, HELO */
	char *action;                   /* the answer for later recipients */
	char *domain;                   /* an answer that trust_recipient_mx
	                                   looked at: for this recipient
	                                   domain only; NULL: for all */
	int header;                     /* the message has its header */
	unsigned long cfg_id;           /* the config (section) that decided
	                                   it: config.h's id */
};

struct sub {
	struct policy_check *pc;
	int slot;                       /* 0 helo, 1 mail from, 2+ whitelist;
	                                   phase two: the MX host or zone */
};

/* the strings of an SPF outcome, owned; the facts point at them */
struct spf_copy {
	char *domain, *expl, *problem, *matched;
};

struct policy_check {
	struct event_base *base;
	const struct policy_request *req;
	struct config *cfg;
	struct policy_memory **mem;
	char conn_id[32];
	policy_done_fn *done;
	void *arg;
	struct timespec t0;
	struct decision_facts f;        /* points into req and at our copies */
	struct spf_check *chk[2];       /* helo, mail from */
	struct spf_copy own[2];
	struct iprev_check *ipchk;
	char *ip_name, *ip_problem;     /* the iprev outcome's, owned */
	struct spf_check *wl[DECISION_MAX_WL];
	struct sub subs[2 + DECISION_MAX_WL];
	struct dns_query *hq;           /* helo_whitelist address lookup */
	/* phase two: would refuse for SPF, is the client trusted? */
	int phase2;                     /* started */
	struct dns_query *mxq;          /* the recipient domain's MX */
	struct dns_query *mxa[DECISION_MAX_MX]; /* A/AAAA of each host */
	struct sub mxsub[DECISION_MAX_MX];
	struct dns_query *wlq[DECISION_MAX_DNSWL];      /* dnswl_zones */
	struct sub wlsub[DECISION_MAX_DNSWL];
	uint32_t listed[DECISION_MAX_DNSWL];    /* 127.x.y.z, 0: not */
	struct iprev_check *fwd_ipchk;  /* trusted_forwarders' ptr: items */
	char *fwd_name;                 /* the client's confirmed name */
	struct spf_check *fwd[CONFIG_MAX_FORWARDERS];   /* its spf: items */
	struct sub fwdsub[CONFIG_MAX_FORWARDERS];
	unsigned char fwd_pass[CONFIG_MAX_FORWARDERS];
	const struct cidr *fwd_cidr;    /* its address item holding the
	                                   client */
	char fwd_entry[300];            /* the item that matched, as text */
	int mx_trusted;
	char mx_domain[256];
	char wl_ip[16];                 /* the listing's address, as text */
	struct event *ev;               /* the deadline, or the delivery */
	int decided;                    /* ev delivers d */
	unsigned char client[16];
	int pending;
	int header_given;                /* the message has its header: no
	                                   other (memory_recall) */
	struct decision d;              /* last: its buffers are not zeroed */
};

/* copy - a copy of s, or NULL for NULL */
static char *
copy(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

/* ----- the log line ----- */

/* host_name - ours (gethostname): authserv_id's default */
static const char *
host_name(void)
{
	static char name[256];

	if (name[0] == '\0') {
		if (gethostname(name, sizeof(name) - 1) < 0 ||
		    name[0] == '\0')
			snprintf(name, sizeof(name), "localhost");
		name[sizeof(name) - 1] = '\0';
	}
	return name;
}

/* elapsed_us - microseconds since t0 */
static uint64_t
elapsed_us(const struct timespec *t0)
{
	struct timespec t1;
	long long us;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	us = (long long)(t1.tv_sec - t0->tv_sec) * 1000000 +
	    (t1.tv_nsec - t0->tv_nsec + 500) / 1000;
	return us < 0 ? 0 : (uint64_t)us;
}

/* put_elapsed - " elapsed=N.NNNms" for us, without printf's %f */
static void
put_elapsed(struct strbuf *b, uint64_t us)
{
	char num[32], *p = num + sizeof(num);

	*--p = '\0';
	*--p = (char)('0' + us % 10);
	*--p = (char)('0' + us / 10 % 10);
	*--p = (char)('0' + us / 100 % 10);
	*--p = '.';
	us /= 1000;
	do
		*--p = (char)('0' + us % 10);
	while ((us /= 10) > 0);
	strbuf_puts(b, " elapsed=");
	strbuf_puts(b, p);
	strbuf_puts(b, "ms");
}

/* put_field - " name=" and the value escaped, in open and close */
static void
put_field(struct strbuf *b, const char *name, const char *open,
    const char *v, const char *close)
{
	char esc[LOG_ESC_SIZE];

	strbuf_puts(b, name);
	strbuf_puts(b, open);
	strbuf_puts(b, log_escape(esc, sizeof(esc), v, LOG_ESC_MAX));
	strbuf_puts(b, close);
}

/*
 * log_decision - one line per request, Postfix style (built in pieces:
 * vsnprintf() of it all cost more than the rest of the decision); and
 * the decision counted in the metrics, with the same elapsed time
 */
static void
log_decision(const struct policy_check *pc)
{
	const struct policy_request *req = pc->req;
	char line[7 * LOG_ESC_SIZE + DECISION_FIELDS_MAX + 128];
	struct strbuf b;
	uint64_t us = elapsed_us(&pc->t0);

	strbuf_init(&b, line, sizeof(line));
	strbuf_puts(&b, pc->conn_id);
	put_field(&b, " instance=", "", codec_get(req, ATTR_INSTANCE), "");
	put_field(&b, " client=", "", codec_get(req, ATTR_CLIENT_ADDRESS),
	    "");
	put_field(&b, " helo=", "<", codec_get(req, ATTR_HELO_NAME), ">");
	put_field(&b, " sender=", "<", codec_get(req, ATTR_SENDER), ">");
	put_field(&b, " recipient=", "<", codec_get(req, ATTR_RECIPIENT),
	    ">");
	if (pc->cfg->section != NULL)
		put_field(&b, " section=", "\"", pc->cfg->section, "\"");
	strbuf_putc(&b, ' ');
	strbuf_puts(&b, pc->d.fields);
	put_field(&b, " action=", "", pc->d.log_action, "");
	put_elapsed(&b, us);
	log_info("%s", line);
	metrics_decision(&pc->f, &pc->d, us);
}

/* ----- per-connection memory of the message being decided ----- */

void
policy_memory_free(struct policy_memory *m)
{
	if (m == NULL)
		return;
	free(m->key);
	free(m->action);
	free(m->domain);
	free(m);
}

/* memory_key - what ties a message's requests together; NULL: nothing */
static char *
memory_key(const struct policy_request *req)
{
	const char *v[4];
	struct strbuf b;
	size_t i, n = 0;
	char *key;

	v[0] = codec_get(req, ATTR_INSTANCE);
	if (*v[0] == '\0')
		return NULL;    /* not Postfix: no tie between requests */
	v[1] = codec_get(req, ATTR_SENDER);
	v[2] = codec_get(req, ATTR_CLIENT_ADDRESS);
	v[3] = codec_get(req, ATTR_HELO_NAME);
	for (i = 0; i < 4; i++)
		n += strlen(v[i]) + 1;
	key = xmalloc(n);
	strbuf_init(&b, key, n);
	for (i = 0; i < 4; i++) {
		if (i > 0)
			strbuf_putc(&b, '\n');
		strbuf_puts(&b, v[i]);
	}
	return key;
}

static void
memory_store(struct policy_check *pc, const char *action)
{
	struct policy_memory *m = *pc->mem;

	if (m == NULL)
		m = *pc->mem = xcalloc(1, sizeof(*m));
	free(m->key);
	free(m->action);
	free(m->domain);
	m->cfg_id = pc->cfg->id;
	m->key = memory_key(pc->req);
	m->action = m->key ? xstrdup(action) : NULL;
	/*
	 * a refusal that the recipient's MX hosts did not lift stands for
	 * that recipient domain: another one is decided anew (a header,
	 * given once, stands for the message: DUNNO for all)
	 */
	m->domain = NULL;
	m->header = pc->header_given || pc->d.vd.verdict == VERDICT_PREPEND;
	/*
	 * A header that only the recipient's MX hosts allowed is for that
	 * domain too: a recipient of another domain is decided anew (a
	 * customer domain whose MX is the forger's own host must not open
	 * the message to the others), without a second header.
	 */
	if (m->key && pc->f.over.recipient_asked &&
	    (pc->d.vd.verdict != VERDICT_PREPEND ||
	    pc->f.over.by == TRUST_MX))
		m->domain = xstrdup(pc->mx_domain);
}

/* rcpt_domain - the recipient's domain as phase two asks it, or "" */
static void
rcpt_domain(const struct policy_check *pc, char *buf, size_t sz)
{
	const char *r = codec_get(pc->req, ATTR_RECIPIENT), *at;

	*buf = '\0';
	if ((at = strrchr(r, '@')) != NULL)
		dns_canon(buf, sz, at + 1);
}

/*
 * memory_recall - the answer this message already got, or NULL; when it
 * is decided anew for another recipient domain, pc->header_given says
 * whether it has its header already
 */
static const char *
memory_recall(struct policy_check *pc)
{
	const struct policy_memory *m = *pc->mem;
	char *key;
	int same;

	if (pc->f.stage == STAGE_SESSION || m == NULL || m->key == NULL ||
	    (key = memory_key(pc->req)) == NULL)
		return NULL;
	same = strcmp(key, m->key) == 0;
	free(key);
	if (!same)
		return NULL;
	/*
	 * a recipient under another section (or after a reload) is decided
	 * anew under its own: a refusal does not carry over, nor does the
	 * DUNNO that follows a header hide its section's refusal
	 */
	if (m->cfg_id != pc->cfg->id) {
		pc->header_given = m->header;
		return NULL;
	}
	if (m->domain != NULL) {
		char d[256];

		rcpt_domain(pc, d, sizeof(d));
		if (strcmp(d, m->domain) != 0) {
			pc->header_given = m->header;
			return NULL;
		}
	}
	return m->action;
}

/* ----- deciding and delivering ----- */

static void
check_free(struct policy_check *pc)
{
	size_t i;

	for (i = 0; i < 2; i++) {
		spf_check_cancel(pc->chk[i]);
		free(pc->own[i].domain);
		free(pc->own[i].expl);
		free(pc->own[i].problem);
		free(pc->own[i].matched);
	}
	for (i = 0; i < DECISION_MAX_WL; i++)
		spf_check_cancel(pc->wl[i]);
	dns_cancel(pc->hq);
	dns_cancel(pc->mxq);
	for (i = 0; i < DECISION_MAX_MX; i++)
		dns_cancel(pc->mxa[i]);
	for (i = 0; i < DECISION_MAX_DNSWL; i++)
		dns_cancel(pc->wlq[i]);
	for (i = 0; i < CONFIG_MAX_FORWARDERS; i++)
		spf_check_cancel(pc->fwd[i]);
	iprev_cancel(pc->fwd_ipchk);
	free(pc->fwd_name);
	iprev_cancel(pc->ipchk);
	free(pc->ip_name);
	free(pc->ip_problem);
	event_free(pc->ev);
	config_unref(pc->cfg);
	free(pc);
}

/* how often the NAT/proxy warning may repeat, in seconds */
#define NAT_WARN_INTERVAL 600

/*
 * warn_due - may a warning repeated at most every interval seconds go
 * out now?  *last: when it last did (CLOCK_MONOTONIC seconds, -1: never)
 */
static int
warn_due(long long *last, long long interval)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (*last >= 0 && now.tv_sec - *last < interval)
		return 0;
	*last = now.tv_sec;
	return 1;
}

/*
 * nat_warning - an SPF fail for a client address that no mail client on
 * the Internet has: most likely Postfix sees a NAT gateway, a container
 * bridge or a proxy instead of the client (at most one warning every
 * NAT_WARN_INTERVAL seconds, for the whole process)
 */
static void
nat_warning(const struct policy_check *pc)
{
	static long long warned = -1;
	const struct decision_facts *f = &pc->f;
	const char *kind;
	char esc[LOG_ESC_SIZE];

	if (!(f->spf_helo.checked && f->spf_helo.o.result == SPF_FAIL) &&
	    !(f->spf_mailfrom.checked && f->spf_mailfrom.o.result == SPF_FAIL))
		return;
	if ((kind = cidr_addr_local(pc->client)) == NULL)
		return;
	if (!warn_due(&warned, NAT_WARN_INTERVAL))
		return;
	log_warnx("client_address=%s is a %s address and SPF failed: if "
	    "Postfix runs behind NAT or a container network, or behind a "
	    "proxy without XCLIENT or the PROXY protocol, spfpd sees the "
	    "proxy, not the client, and refuses legitimate mail (this "
	    "warning is repeated at most every %d minutes)",
	    log_escape(esc, sizeof(esc), f->client, LOG_ESC_MAX), kind,
	    NAT_WARN_INTERVAL / 60);
}

/* decide - take the decision on what is known, log it, remember it */
static void
decide(struct policy_check *pc)
{
	decision_take(pc->cfg, &pc->f, &pc->d);
	if (pc->header_given && pc->d.vd.verdict == VERDICT_PREPEND) {
		struct strbuf b;

		/* one header per message: memory_recall() */
		strbuf_init(&b, pc->d.action, sizeof(pc->d.action));
		strbuf_puts(&b, "DUNNO");
		pc->d.vd.verdict = VERDICT_DUNNO;
		pc->d.log_action = pc->d.action;
		pc->d.remember = "DUNNO";
	}
	if (pc->d.remember)
		memory_store(pc, pc->d.remember);
	nat_warning(pc);
	log_decision(pc);
}

/* deliver - the one call of done(), from the loop; frees pc */
static void
deliver(struct policy_check *pc)
{
	struct policy_result r;

	r.action = pc->d.action;
	r.result = pc->d.result;
	r.facts = &pc->f;
	pc->done(pc->arg, &r);
	check_free(pc);
}

/* deliver_later - pc->d is decided: deliver it from the loop */
static void
deliver_later(struct policy_check *pc)
{
	pc->decided = 1;
	event_active(pc->ev, EV_TIMEOUT, 0);
}

/* answer_now - an answer known without a check: result says why */
static void
answer_now(struct policy_check *pc, const char *action, const char *result)
{
	decision_known(&pc->d, action, result);
	log_decision(pc);
	deliver_later(pc);
}

static int phase_two(struct policy_check *);

static void
finish_if_done(struct policy_check *pc)
{
	if (--pc->pending > 0)
		return;
	if (phase_two(pc))
		return;
	decide(pc);
	deliver(pc);
}

/* ----- the checks' answers ----- */

static struct decision_spf *
slot_spf(struct policy_check *pc, int slot)
{
	return slot == 0 ? &pc->f.spf_helo : &pc->f.spf_mailfrom;
}

/* spf_keep - o into the facts, with copies of its strings */
static void
spf_keep(struct policy_check *pc, int slot, const struct spf_outcome *o)
{
	struct decision_spf *r = slot_spf(pc, slot);
	struct spf_copy *c = &pc->own[slot];

	r->o = *o;
	r->o.identity = slot == 0 ? "helo" : "mailfrom";
	r->o.domain = c->domain = copy(o->domain);
	r->o.explanation = c->expl = copy(o->explanation);
	r->o.problem = c->problem = copy(o->problem);
	r->o.matched = c->matched = copy(o->matched);
}

static void
on_spf(void *arg, const struct spf_outcome *o)
{
	struct sub *s = arg;
	struct policy_check *pc = s->pc;

	if (s->slot >= 2) {
		pc->wl[s->slot - 2] = NULL;
		if (o->result == SPF_PASS && pc->f.skip == NULL)
			pc->f.skip = "domain_whitelist";
	} else {
		pc->chk[s->slot] = NULL;
		spf_keep(pc, s->slot, o);
	}
	finish_if_done(pc);
}

static void
on_iprev(void *arg, const struct iprev_outcome *o)
{
	struct policy_check *pc = arg;

	pc->ipchk = NULL;
	pc->f.iprev.o = *o;
	pc->f.iprev.o.name = pc->ip_name = copy(o->name);
	pc->f.iprev.o.problem = pc->ip_problem = copy(o->problem);
	finish_if_done(pc);
}

static void
on_helo_addr(void *arg, struct dns_answer *ans)
{
	struct policy_check *pc = arg;

	pc->hq = NULL;
	if (dns_answer_has_addr(ans, pc->client) && pc->f.skip == NULL)
		pc->f.skip = "helo_whitelist";
	finish_if_done(pc);
}

/* ----- phase two: an SPF refusal lifted for a trusted client ----- */

/* how often the "DNSWL refused our query" warning may repeat, seconds */
#define DNSWL_WARN_INTERVAL 600

static void
on_mx_addr(void *arg, struct dns_answer *ans)
{
	struct sub *s = arg;
	struct policy_check *pc = s->pc;

	pc->mxa[s->slot] = NULL;
	if (dns_answer_has_addr(ans, pc->client))
		pc->mx_trusted = 1;
	finish_if_done(pc);
}

/*
 * on_mx - the recipient domain's MX hosts: the addresses of the first
 * DECISION_MAX_MX, in the client's family, at once.  A failure, a null
 * MX (RFC 7505) or no MX: not trusted (no implicit MX: a domain without
 * MX has no backup MX to trust).
 */
static void
on_mx(void *arg, struct dns_answer *ans)
{
	struct policy_check *pc = arg;
	size_t i;
	int k = 0;

	pc->mxq = NULL;
	for (i = 0; ans->status == DNS_OK && i < ans->n &&
	    k < DECISION_MAX_MX; i++) {
		const char *host = ans->rr[i].u.name;

		if (host == NULL || *host == '\0' || strcmp(host, ".") == 0 ||
		    !dns_name_ok(host))
			continue;
		pc->mxsub[k].pc = pc;
		pc->mxsub[k].slot = k;
		pc->pending++;
		pc->mxa[k] = dns_query(host, cidr_addr_is_v4(pc->client) ?
		    DNS_T_A : DNS_T_AAAA, on_mx_addr, &pc->mxsub[k]);
		k++;
	}
	finish_if_done(pc);
}

/* on_fwd_iprev - the reverse DNS for ptr: items: a confirmed name only */
static void
on_fwd_iprev(void *arg, const struct iprev_outcome *o)
{
	struct policy_check *pc = arg;

	pc->fwd_ipchk = NULL;
	if (o->result == IPREV_PASS && o->name != NULL)
		pc->fwd_name = xstrdup(o->name);
	finish_if_done(pc);
}

/* on_fwd_spf - an spf: item: does the client pass its record? */
static void
on_fwd_spf(void *arg, const struct spf_outcome *o)
{
	struct sub *s = arg;
	struct policy_check *pc = s->pc;

	pc->fwd[s->slot] = NULL;
	pc->fwd_pass[s->slot] = o->result == SPF_PASS;
	finish_if_done(pc);
}

/* dnswl_refused - a list said 127.0.0.255: it refuses our resolver */
static void
dnswl_refused(const struct policy_check *pc, const char *zone)
{
	static long long warned = -1;
	char esc[LOG_ESC_SIZE];

	if (!warn_due(&warned, DNSWL_WARN_INTERVAL))
		return;
	log_warnx("%s dnswl_zones: %s answered 127.0.0.255 (query refused, "
	    "RFC 8904): it refuses the queries of this resolver (a public "
	    "resolver, or too many queries); its listings are not used "
	    "(this warning is repeated at most every %d minutes)",
	    pc->conn_id, log_escape(esc, sizeof(esc), zone, LOG_ESC_MAX),
	    DNSWL_WARN_INTERVAL / 60);
}

/*
 * on_dnswl - a DNSWL's answer (RFC 8904): 127.0.0.255 refuses the
 * query; any other address in 127.0.0.0/8 is a listing (127.0.X.Y: Y
 * the trustworthiness); an address outside 127/8 is a broken or
 * poisoned list, ignored; NXDOMAIN and failures: not listed
 */
static void
on_dnswl(void *arg, struct dns_answer *ans)
{
	struct sub *s = arg;
	struct policy_check *pc = s->pc;
	uint32_t v;
	size_t i;

	pc->wlq[s->slot] = NULL;
	for (i = 0; ans->status == DNS_OK && ans->type == DNS_T_A &&
	    i < ans->n; i++) {
		v = ntohl(ans->rr[i].u.a.s_addr);
		if (v == 0x7f0000ffu) {
			dnswl_refused(pc, pc->cfg->dnswl_zones.v[s->slot]);
			pc->listed[s->slot] = 0;
			break;
		}
		if ((v >> 24) == 127 && pc->listed[s->slot] == 0)
			pc->listed[s->slot] = v;
	}
	finish_if_done(pc);
}

/* dnswl_name - the question for zone: reversed octets or nibbles */
static void
dnswl_name(const struct policy_check *pc, const char *zone, char *buf,
    size_t sz)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *a = pc->client;
	struct strbuf b;
	int i;

	strbuf_init(&b, buf, sz);
	if (cidr_addr_is_v4(a)) {
		strbuf_printf(&b, "%u.%u.%u.%u.", a[15], a[14], a[13], a[12]);
	} else {
		for (i = 15; i >= 0; i--) {
			strbuf_putc(&b, hex[a[i] & 15]);
			strbuf_putc(&b, '.');
			strbuf_putc(&b, hex[a[i] >> 4]);
			strbuf_putc(&b, '.');
		}
	}
	strbuf_puts(&b, zone);
}

/*
 * forwarders_start - the lookups of trusted_forwarders' ptr: items (the
 * reverse DNS, unless the first phase has it) and spf: items
 */
static void
forwarders_start(struct policy_check *pc, const struct decision_plan2 *p)
{
	const struct iprev_outcome *ip = &pc->f.iprev.o;
	size_t i;

	if (p->fwd_ptr && pc->f.iprev.checked) {
		if (ip->result == IPREV_PASS && ip->name != NULL)
			pc->fwd_name = xstrdup(ip->name);
	} else if (p->fwd_ptr) {
		pc->pending++;
		pc->fwd_ipchk = iprev_start(pc->base, pc->f.client,
		    pc->cfg->ptr_max_names, pc->cfg->lookup_time,
		    on_fwd_iprev, pc);
	}
	for (i = 0; i < p->fwd_spf && i < CONFIG_MAX_FORWARDERS; i++) {
		const char *d = pc->cfg->trusted_forwarders.spf.v[i];

		pc->fwdsub[i].pc = pc;
		pc->fwdsub[i].slot = (int)i;
		pc->pending++;
		pc->fwd[i] = spf_check_start(pc->f.client, d, d,
		    pc->cfg->lookup_time, on_fwd_spf, &pc->fwdsub[i]);
	}
}

/* forwarder_found - trusted_forwarders' item kind+v holds the client */
static void
forwarder_found(struct policy_check *pc, const char *kind, const char *v)
{
	struct strbuf b;

	if (v != pc->fwd_entry) {
		strbuf_init(&b, pc->fwd_entry, sizeof(pc->fwd_entry));
		strbuf_puts(&b, kind);
		strbuf_puts(&b, v);
	}
	pc->f.over.by = TRUST_FORWARDER;
	pc->f.over.name = pc->fwd_entry;
	pc->f.over.value = v;
}

/*
 * trust_found - what phase two found, into the facts: a forwarder's
 * address, the MX host, a forwarder's name or SPF, a DNSWL listing
 */
static void
trust_found(struct policy_check *pc)
{
	const struct forwarder_list *fw = &pc->cfg->trusted_forwarders;
	struct decision_override *o = &pc->f.over;
	size_t i;
	long k;

	if (pc->fwd_cidr != NULL) {
		/* "192.0.2.7", not "192.0.2.7/32": a token in the header */
		cidr_format_short(pc->fwd_cidr, pc->fwd_entry,
		    sizeof(pc->fwd_entry));
		forwarder_found(pc, "", pc->fwd_entry);
		return;
	}
	if (pc->mx_trusted) {
		o->by = TRUST_MX;
		o->name = pc->mx_domain;
		return;
	}
	if (pc->fwd_name != NULL &&
	    (k = domain_list_find_host(&fw->ptr, pc->fwd_name)) >= 0) {
		forwarder_found(pc, "ptr:", fw->ptr.v[k]);
		return;
	}
	for (i = 0; i < fw->spf.n && i < CONFIG_MAX_FORWARDERS; i++) {
		if (pc->fwd_pass[i]) {
			forwarder_found(pc, "spf:", fw->spf.v[i]);
			return;
		}
	}
	for (i = 0; i < DECISION_MAX_DNSWL; i++) {
		if (pc->listed[i] == 0)
			continue;
		snprintf(pc->wl_ip, sizeof(pc->wl_ip), "%u.%u.%u.%u",
		    pc->listed[i] >> 24, pc->listed[i] >> 16 & 255,
		    pc->listed[i] >> 8 & 255, pc->listed[i] & 255);
		o->by = TRUST_DNSWL;
		o->name = pc->cfg->dnswl_zones.v[i];
		o->value = pc->wl_ip;
		return;
	}
}

/*
 * phase_two - the checks are done: when the verdict would refuse for
 * SPF, start the lookups that may lift it (all at once, within the
 * request's deadline, which still runs) and return 1; decide() follows
 * when they are done.  The second time, what they found goes into the
 * facts and 0 is returned.
 */
static int
phase_two(struct policy_check *pc)
{
	struct decision_plan2 p;
	char name[512];
	size_t i;

	if (pc->phase2) {
		trust_found(pc);
		return 0;
	}
	pc->phase2 = 1;
	if (!decision_plan2(pc->cfg, &pc->f, codec_get(pc->req,
	    ATTR_RECIPIENT), &p))
		return 0;
	if (p.forwarder != NULL) {      /* by address: nothing to ask */
		pc->fwd_cidr = p.forwarder;
		trust_found(pc);
		return 0;
	}
	pc->pending = 1;        /* held until everything is started */
	if (*p.mx_domain) {
		memcpy(pc->mx_domain, p.mx_domain, sizeof(pc->mx_domain));
		pc->f.over.recipient_asked = 1;
		pc->pending++;
		pc->mxq = dns_query(pc->mx_domain, DNS_T_MX, on_mx, pc);
	}
	for (i = 0; i < p.dnswl; i++) {
		dnswl_name(pc, pc->cfg->dnswl_zones.v[i], name, sizeof(name));
		pc->wlsub[i].pc = pc;
		pc->wlsub[i].slot = (int)i;
		pc->pending++;
		pc->wlq[i] = dns_query(name, DNS_T_A, on_dnswl, &pc->wlsub[i]);
	}
	forwarders_start(pc, &p);
	/* answers come from the loop, never from inside their starts */
	--pc->pending;
	return 1;
}

/* time_out - lookup_time is over: what has not answered is temperror */
static void
time_out(struct policy_check *pc)
{
	struct decision_spf *r;
	int i;

	log_warnx("%s policy checks exceeded lookup_time: deciding now",
	    pc->conn_id);
	for (i = 0; i < 2; i++) {
		if (pc->chk[i] == NULL)
			continue;
		spf_check_cancel(pc->chk[i]);
		pc->chk[i] = NULL;
		r = slot_spf(pc, i);
		memset(&r->o, 0, sizeof(r->o));
		r->o.result = SPF_TEMPERROR;
		r->o.identity = i == 0 ? "helo" : "mailfrom";
		r->o.problem = pc->own[i].problem =
		    xstrdup("lookup_time exceeded");
	}
	if (pc->ipchk) {
		iprev_cancel(pc->ipchk);
		pc->ipchk = NULL;
		pc->f.iprev.o.result = IPREV_TEMPERROR;
	}
	/*
	 * phase two unfinished: what answered counts (a trusted MX host
	 * or a listing found), what did not is no trust (fail safe)
	 */
	if (pc->phase2) {
		dns_cancel(pc->mxq);
		pc->mxq = NULL;
		for (i = 0; i < DECISION_MAX_MX; i++) {
			dns_cancel(pc->mxa[i]);
			pc->mxa[i] = NULL;
		}
		for (i = 0; i < DECISION_MAX_DNSWL; i++) {
			dns_cancel(pc->wlq[i]);
			pc->wlq[i] = NULL;
		}
		for (i = 0; i < CONFIG_MAX_FORWARDERS; i++) {
			spf_check_cancel(pc->fwd[i]);
			pc->fwd[i] = NULL;
		}
		iprev_cancel(pc->fwd_ipchk);
		pc->fwd_ipchk = NULL;
		trust_found(pc);
	}
}

/*
 * on_event - the delivery of an answer known at once, or the safety net:
 * the sub-checks have their own limits, this bounds them all
 */
static void
on_event(evutil_socket_t fd, short what, void *arg)
{
	struct policy_check *pc = arg;

	(void)fd;
	(void)what;
	if (!pc->decided) {
		time_out(pc);
		decide(pc);
	}
	deliver(pc);
}

/* ----- starting ----- */

static void
start_spf(struct policy_check *pc, int slot, const char *helo,
    const char *sender, struct spf_check **out)
{
	pc->subs[slot].pc = pc;
	pc->subs[slot].slot = slot;
	*out = spf_check_start(pc->f.client, helo, sender,
	    pc->cfg->lookup_time, on_spf, &pc->subs[slot]);
	pc->pending++;
}

/* start_checks - everything the plan calls for, at once */
static void
start_checks(struct policy_check *pc, const struct decision_plan *p)
{
	const struct config *cfg = pc->cfg;
	size_t i;

	if (p->helo) {
		pc->f.spf_helo.checked = 1;
		start_spf(pc, 0, p->helo_name, NULL, &pc->chk[0]);
	}
	if (p->mailfrom) {
		pc->f.spf_mailfrom.checked = 1;
		start_spf(pc, 1, p->helo_name, p->mailfrom_id, &pc->chk[1]);
	}
	for (i = 0; i < p->whitelist; i++)
		start_spf(pc, 2 + (int)i, cfg->domain_whitelist.v[i],
		    cfg->domain_whitelist.v[i], &pc->wl[i]);
	if (p->iprev) {
		pc->f.iprev.checked = 1;
		pc->ipchk = iprev_start(pc->base, pc->f.client,
		    cfg->ptr_max_names, cfg->lookup_time, on_iprev, pc);
		pc->pending++;
	}
	if (p->helo_whitelist) {
		pc->hq = dns_query(p->helo_name, cidr_addr_is_v4(pc->client) ?
		    DNS_T_A : DNS_T_AAAA, on_helo_addr, pc);
		pc->pending++;
	}
}

static void
run_checks(struct policy_check *pc)
{
	struct decision_plan plan;
	struct timeval tv;

	decision_plan(pc->cfg, &pc->f, &plan);
	pc->pending = 1;        /* held until everything is started */
	start_checks(pc, &plan);
	/*
	 * Every sub-check answers from the loop, never from inside its
	 * start, so nothing has finished yet; with nothing started, decide
	 * now and deliver from the loop.
	 */
	if (--pc->pending == 0) {
		decide(pc);
		deliver_later(pc);
		return;
	}
	tv.tv_sec = pc->cfg->lookup_time / 1000 + 1;
	tv.tv_usec = (pc->cfg->lookup_time % 1000) * 1000;
	evtimer_add(pc->ev, &tv);
}

/* how often the "no recipient for the sections" warning may repeat */
#define RCPT_WARN_INTERVAL 600

/*
 * no_recipient_warning - a message's request without a recipient (DATA
 * or END-OF-MESSAGE of a message with several: Postfix sends none) while
 * recipient sections exist: they cannot apply, say why (at most one
 * warning every RCPT_WARN_INTERVAL seconds)
 */
static void
no_recipient_warning(const struct config *cfg, const char *st)
{
	static long long warned = -1;
	char esc[LOG_ESC_SIZE];

	if (!config_recipient_sections(cfg) ||
	    !warn_due(&warned, RCPT_WARN_INTERVAL))
		return;
	log_warnx("a request at protocol_state=%s has no recipient (a "
	    "message with several: Postfix sends none after RCPT), so no "
	    "[recipient = ...] section can apply to it and the global "
	    "settings do: ask spfpd in smtpd_recipient_restrictions (this "
	    "warning is repeated at most every %d minutes)",
	    log_escape(esc, sizeof(esc), *st ? st : "(none)", LOG_ESC_MAX),
	    RCPT_WARN_INTERVAL / 60);
}

/*
 * select_config - the config for req: its section's, or the file's.  A
 * recipient counts from the RCPT stage on (Postfix sends none before;
 * another client that does must not choose a section with it).
 */
static struct config *
select_config(struct config *cfg, const struct policy_request *req,
    enum decision_stage stage)
{
	const char *st = codec_get(req, ATTR_PROTOCOL_STATE);
	struct config_keys k;

	k.recipient = codec_get(req, ATTR_RECIPIENT);
	if (stage == STAGE_SESSION || strcasecmp(st, "MAIL") == 0)
		k.recipient = NULL;
	else if (*k.recipient == '\0')
		no_recipient_warning(cfg, st);
	k.policy_context = codec_get(req, ATTR_POLICY_CONTEXT);
	k.server_address = codec_get(req, ATTR_SERVER_ADDRESS);
	k.server_port = codec_get(req, ATTR_SERVER_PORT);
	return config_select(cfg, &k);
}

static struct policy_check *
check_new(struct event_base *base, const struct policy_request *req,
    struct config *cfg)
{
	struct policy_check *pc = xmalloc(sizeof(*pc));

	/* 6 kB of text buffers that decision.c writes before anyone reads */
	memset(pc, 0, offsetof(struct policy_check, d));
	memset(&pc->d.vd, 0, sizeof(pc->d.vd));
	pc->d.action[0] = pc->d.would[0] = pc->d.result[0] = '\0';
	pc->d.fields[0] = '\0';
	pc->d.log_action = pc->d.remember = NULL;
	clock_gettime(CLOCK_MONOTONIC, &pc->t0);
	pc->base = base;
	if ((pc->ev = evtimer_new(base, on_event, pc)) == NULL)
		fatalx("policy: out of memory (event)");
	pc->req = req;
	pc->f.stage = decision_stage(codec_get(req, ATTR_PROTOCOL_STATE));
	pc->cfg = config_ref(select_config(cfg, req, pc->f.stage));
	pc->f.client = codec_get(req, ATTR_CLIENT_ADDRESS);
	pc->f.helo = codec_get(req, ATTR_HELO_NAME);
	pc->f.sender = codec_get(req, ATTR_SENDER);
	pc->f.sasl_username = codec_get(req, ATTR_SASL_USERNAME);
	pc->f.hostname = host_name();
	return pc;
}

struct policy_check *
policy_start(struct event_base *base, const struct policy_request *req,
    struct config *cfg, struct policy_memory **mem, const char *conn_id,
    policy_done_fn *done, void *arg)
{
	struct policy_check *pc = check_new(base, req, cfg);
	const char *again;

	pc->mem = mem;
	snprintf(pc->conn_id, sizeof(pc->conn_id), "%s", conn_id);
	pc->done = done;
	pc->arg = arg;
	metrics_request(codec_get(req, ATTR_PROTOCOL_STATE));
	if (decision_local(pc->cfg, &pc->f, &pc->d)) {
		log_decision(pc);
		deliver_later(pc);
	} else if ((again = memory_recall(pc)) != NULL) {
		/* a later recipient of the message we just decided */
		answer_now(pc, again, "repeat");
	} else if (cidr_addr_parse(pc->f.client, pc->client) < 0) {
		answer_now(pc, "DUNNO", "error(bad client_address)");
	} else {
		run_checks(pc);
	}
	return pc;
}

void
policy_want_match(struct policy_check *pc)
{
	int i;

	for (i = 0; i < 2; i++)
		if (pc->chk[i] != NULL)
			spf_check_want_match(pc->chk[i]);
}

void
policy_cancel(struct policy_check *pc)
{
	if (pc != NULL)
		check_free(pc);
}
