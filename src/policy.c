/*
 * policy - the decision pipeline.  See policy.h.
 *
 * A request that passes the local checks starts, all at once: the SPF
 * check of the HELO identity, that of the MAIL FROM identity, one SPF
 * check per domain_whitelist domain and the A/AAAA lookup of a
 * helo_whitelist name.  The decision waits for all of them and is taken
 * in pypolicyd-spf's order: a whitelist match wins, then a HELO reject or
 * defer, then the MAIL FROM result; otherwise one header is prepended.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "codec.h"
#include "compose.h"
#include "config.h"
#include "dns.h"
#include "iprev.h"
#include "log.h"
#include "policy.h"
#include "spf.h"

#define MAX_WL 64                       /* domain_whitelist bound */

enum verdict { V_DUNNO, V_PREPEND, V_REJECT, V_DEFER };

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
enum stage { STAGE_MESSAGE, STAGE_END, STAGE_SESSION };

static enum stage
request_stage(const struct policy_request *req)
{
	const char *st = codec_get(req, ATTR_PROTOCOL_STATE);

	if (*st == '\0' || strcasecmp(st, "RCPT") == 0 ||
	    strcasecmp(st, "MAIL") == 0 || strcasecmp(st, "DATA") == 0)
		return STAGE_MESSAGE;
	if (strcasecmp(st, "END-OF-MESSAGE") == 0)
		return STAGE_END;
	return STAGE_SESSION;
}

struct policy_memory {
	char *key;                      /* instance, sender, client */
	char *action;                   /* the answer for later recipients */
};

struct sub {
	struct policy_check *pc;
	int slot;                       /* 0 helo, 1 mail from, 2+ whitelist */
};

struct idres {
	int checked;                    /* a check was started */
	int done;
	struct spf_check *chk;
	enum spf_result result;
	char *domain, *expl, *problem;
	struct spf_outcome o;           /* points at the strings above */
};

struct policy_check {
	const struct policy_request *req;
	struct config *cfg;
	struct policy_memory **mem;
	char conn_id[32];
	policy_done_fn *done;
	void *arg;
	struct timespec t0;
	struct idres id[2];             /* helo, mailfrom */
	struct spf_check *wl[MAX_WL];
	struct sub subs[2 + MAX_WL];
	struct dns_query *hq;           /* helo_whitelist address lookup */
	struct {
		int checked;
		struct iprev_check *chk;
		enum iprev_result result;
		char *name, *problem;
	} ip;                           /* reverse DNS */
	struct event *deadline;
	unsigned char client[16];
	int pending;
	enum stage stage;
	const char *skip;               /* a whitelist matched */
};

static char host_name[256];

const char *
policy_host_name(void)
{
	if (host_name[0] == '\0') {
		if (gethostname(host_name, sizeof(host_name) - 1) < 0 ||
		    host_name[0] == '\0')
			snprintf(host_name, sizeof(host_name), "localhost");
		host_name[sizeof(host_name) - 1] = '\0';
	}
	return host_name;
}

static double
elapsed_ms(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 +
	    (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* log_decision - one line per request, Postfix style */
static void
log_decision(const struct policy_request *req, const char *conn_id,
    const char *what, const char *action, const struct timespec *t0)
{
	char inst[LOG_ESC_SIZE], addr[LOG_ESC_SIZE], helo[LOG_ESC_SIZE];
	char from[LOG_ESC_SIZE], rcpt[LOG_ESC_SIZE], act[LOG_ESC_SIZE];

	log_info("%s instance=%s client=%s helo=<%s> sender=<%s> "
	    "recipient=<%s> %s action=%s elapsed=%.3fms", conn_id,
	    log_escape(inst, sizeof(inst), codec_get(req, ATTR_INSTANCE),
	    LOG_ESC_MAX),
	    log_escape(addr, sizeof(addr), codec_get(req, ATTR_CLIENT_ADDRESS),
	    LOG_ESC_MAX),
	    log_escape(helo, sizeof(helo), codec_get(req, ATTR_HELO_NAME),
	    LOG_ESC_MAX),
	    log_escape(from, sizeof(from), codec_get(req, ATTR_SENDER),
	    LOG_ESC_MAX),
	    log_escape(rcpt, sizeof(rcpt), codec_get(req, ATTR_RECIPIENT),
	    LOG_ESC_MAX),
	    what, log_escape(act, sizeof(act), action, LOG_ESC_MAX),
	    elapsed_ms(t0));
}

/* ----- per-connection memory of the message being decided ----- */

void
policy_memory_free(struct policy_memory *m)
{
	if (m == NULL)
		return;
	free(m->key);
	free(m->action);
	free(m);
}

static char *
memory_key(const struct policy_request *req)
{
	const char *inst = codec_get(req, ATTR_INSTANCE);
	char *key;

	if (*inst == '\0')
		return NULL;    /* not Postfix: nothing ties requests together */
	if (asprintf(&key, "%s\n%s\n%s\n%s", inst,
	    codec_get(req, ATTR_SENDER), codec_get(req, ATTR_CLIENT_ADDRESS),
	    codec_get(req, ATTR_HELO_NAME)) < 0)
		return NULL;
	return key;
}

static void
memory_store(struct policy_memory **mp, const struct policy_request *req,
    const char *action)
{
	struct policy_memory *m = *mp;

	if (m == NULL && (m = *mp = calloc(1, sizeof(*m))) == NULL)
		return;
	free(m->key);
	free(m->action);
	m->key = memory_key(req);
	m->action = m->key ? strdup(action) : NULL;
	if (m->action == NULL) {
		free(m->key);
		m->key = NULL;
	}
}

/* ----- the decision ----- */

static const char *
spf_text(const struct idres *r)
{
	static char buf[COMPOSE_MAX];

	switch (r->result) {
	case SPF_FAIL:
		return r->expl && *r->expl ? r->expl :
		    "SPF fail - not authorized";
	case SPF_SOFTFAIL:
		return "SPF softfail - domain owner discourages use of this "
		    "host";
	case SPF_NEUTRAL:
		return "SPF neutral - access neither permitted nor denied";
	case SPF_PERMERROR:
		snprintf(buf, sizeof(buf), "SPF permanent error: %s",
		    r->problem ? r->problem : "error in the SPF record");
		return buf;
	case SPF_TEMPERROR:
		snprintf(buf, sizeof(buf), "SPF temporary error: %s",
		    r->problem ? r->problem : "DNS failure");
		return buf;
	default:
		return spf_result_str(r->result);
	}
}

/* judge - what a result calls for under a reject level */
static enum verdict
judge(const struct config *cfg, enum spf_result r, int level, int not_pass,
    int null_sender)
{
	if (level == REJECT_NO || level == REJECT_NO_CHECK)
		return V_PREPEND;
	if (not_pass)
		level = REJECT_NOT_PASS;
	switch (r) {
	case SPF_FAIL:
		if (level == REJECT_NULL && !null_sender)
			return V_PREPEND;
		return V_REJECT;
	case SPF_SOFTFAIL:
		return level == REJECT_SOFTFAIL || level == REJECT_NOT_PASS ?
		    V_REJECT : V_PREPEND;
	case SPF_NEUTRAL:
		return level == REJECT_NOT_PASS ? V_REJECT : V_PREPEND;
	case SPF_PERMERROR:
		return cfg->permerror_reject || level == REJECT_NOT_PASS ?
		    V_REJECT : V_PREPEND;
	case SPF_TEMPERROR:
		return cfg->temperror_defer ? V_DEFER : V_PREPEND;
	default:
		return V_PREPEND;
	}
}

/* the iprev part of a header: with Authentication-Results only */
static int
iprev_in_header(const struct policy_check *pc)
{
	return pc->ip.checked && pc->cfg->ptr_check != PTR_NO &&
	    pc->cfg->header_type == HEADER_AUTH_RESULTS;
}

/* build_header - r may be NULL (no SPF result): iprev alone; 0: none */
static int
build_header(char *buf, size_t sz, const struct policy_check *pc,
    const struct idres *r)
{
	const struct config *cfg = pc->cfg;
	const char *host = *cfg->authserv_id ? cfg->authserv_id :
	    policy_host_name();
	struct compose_spf c;
	struct compose_iprev ip;

	c.o = r ? &r->o : NULL;
	c.ip = codec_get(pc->req, ATTR_CLIENT_ADDRESS);
	c.sender = codec_get(pc->req, ATTR_SENDER);
	c.helo = codec_get(pc->req, ATTR_HELO_NAME);
	c.receiver = cfg->hide_receiver ? NULL : host;
	ip.result = pc->ip.result;
	ip.ip = c.ip;
	ip.name = pc->ip.name;
	if (cfg->header_type == HEADER_AUTH_RESULTS) {
		if (r == NULL && !iprev_in_header(pc))
			return 0;
		compose_auth_results(buf, sz, host, r ? &c : NULL,
		    iprev_in_header(pc) ? &ip : NULL);
		return 1;
	}
	if (cfg->header_type == HEADER_NONE || r == NULL)
		return 0;
	compose_received_spf(buf, sz, &c);
	return 1;
}

/* iprev_refusal - ptr_check = reject: the reply for a bad reverse DNS */
static enum verdict
iprev_refusal(char *buf, size_t sz, const struct policy_check *pc)
{
	const struct config *cfg = pc->cfg;
	const char *code = cfg->ptr_reject_code ? "450 4.7.25" : "550 5.7.25";
	char ip[COMPOSE_VALUE_MAX + 1], name[COMPOSE_VALUE_MAX + 1];

	if (cfg->ptr_check != PTR_REJECT || !pc->ip.checked)
		return V_DUNNO;
	compose_text(ip, sizeof(ip), codec_get(pc->req, ATTR_CLIENT_ADDRESS),
	    64);
	compose_text(name, sizeof(name), pc->ip.name, 255);
	switch (pc->ip.result) {
	case IPREV_PERMERROR:
		snprintf(buf, sz, "%s Client host rejected: cannot find your "
		    "reverse hostname, [%s]", code, ip);
		return cfg->ptr_reject_code ? V_DEFER : V_REJECT;
	case IPREV_FAIL:
		snprintf(buf, sz, "%s Client host rejected: your reverse "
		    "hostname %s does not resolve to [%s]", code, name, ip);
		return cfg->ptr_reject_code ? V_DEFER : V_REJECT;
	case IPREV_TEMPERROR:
		if (!cfg->ptr_temperror_defer)
			return V_DUNNO;
		snprintf(buf, sz, "450 4.7.25 Client host rejected: cannot "
		    "verify your reverse hostname, [%s]: temporary DNS "
		    "failure", ip);
		return V_DEFER;
	default:
		return V_DUNNO;
	}
}

static void
build_refusal(char *buf, size_t sz, const struct policy_check *pc,
    const struct idres *r, enum verdict v)
{
	const struct config *cfg = pc->cfg;
	const char *host = *cfg->authserv_id ? cfg->authserv_id :
	    policy_host_name();
	const char *sender = codec_get(pc->req, ATTR_SENDER);
	const char *helo = codec_get(pc->req, ATTR_HELO_NAME);
	int is_helo = r == &pc->id[0];
	char url[COMPOSE_MAX], reason[COMPOSE_MAX];
	const char *vals[6];

	compose_why_url(url, sizeof(url), is_helo || *sender == '\0' ?
	    "helo" : "mfrom", is_helo || *sender == '\0' ? helo : sender,
	    codec_get(pc->req, ATTR_CLIENT_ADDRESS),
	    cfg->hide_receiver ? NULL : host);
	vals[0] = v == V_DEFER ? "deferred" : "rejected";
	vals[1] = spf_text(r);
	vals[2] = url;
	vals[3] = spf_result_str(r->result);
	vals[4] = is_helo ? "helo" : "mailfrom";
	vals[5] = r->domain;
	compose_reason(reason, sizeof(reason), cfg->reason_message, vals);
	/* an SMTP reply line is at most 512 bytes (RFC 5321 4.5.3.1.5) */
	if (strlen(reason) > 400)
		reason[400] = '\0';
	if (v == V_DEFER)
		snprintf(buf, sz, "DEFER_IF_PERMIT 4.7.24 %s", reason);
	else
		snprintf(buf, sz, "550 %s %s", r->result == SPF_PERMERROR ?
		    "5.7.24" : "5.7.23", reason);
}

static void
check_free(struct policy_check *pc)
{
	size_t i;

	for (i = 0; i < 2; i++) {
		spf_check_cancel(pc->id[i].chk);
		free(pc->id[i].domain);
		free(pc->id[i].expl);
		free(pc->id[i].problem);
	}
	for (i = 0; i < MAX_WL; i++)
		spf_check_cancel(pc->wl[i]);
	dns_cancel(pc->hq);
	iprev_cancel(pc->ip.chk);
	free(pc->ip.name);
	free(pc->ip.problem);
	if (pc->deadline)
		event_free(pc->deadline);
	config_unref(pc->cfg);
	free(pc);
}

static void
decide(struct policy_check *pc)
{
	const struct config *cfg = pc->cfg;
	const char *sender = codec_get(pc->req, ATTR_SENDER);
	const char *helo = codec_get(pc->req, ATTR_HELO_NAME);
	struct idres *h = &pc->id[0], *m = &pc->id[1], *chosen = NULL;
	enum verdict v = V_DUNNO, vh, vm, vi;
	char action[COMPOSE_MAX + 64], would[COMPOSE_MAX + 64];
	char what[5 * LOG_ESC_SIZE + 160], prob[LOG_ESC_SIZE];
	const char *act, *logact = NULL;
	int null_sender = *sender == '\0' && pc->stage != STAGE_SESSION;

	would[0] = '\0';
	if (pc->skip == NULL && pc->ip.checked &&
	    pc->ip.result == IPREV_PASS && pc->ip.name &&
	    domain_list_match(&cfg->ptr_domain_whitelist, pc->ip.name))
		pc->skip = "ptr_domain_whitelist";
	if (pc->skip) {
		snprintf(what, sizeof(what), "result=skipped(%s)", pc->skip);
		act = "DUNNO";
		goto out;
	}
	if (h->checked) {
		vh = judge(cfg, h->result, cfg->helo_reject,
		    domain_list_match(&cfg->reject_not_pass_domains,
		    h->domain ? h->domain : helo), null_sender);
		if (vh == V_REJECT || vh == V_DEFER) {
			chosen = h;
			v = vh;
		}
	}
	if (chosen == NULL && m->checked) {
		/* with the null sender, m is postmaster@<HELO> (RFC 7208 2.4) */
		vm = judge(cfg, m->result, cfg->mail_from_reject,
		    domain_list_match(&cfg->reject_not_pass_domains,
		    m->domain ? m->domain : ""), null_sender);
		v = vm;
		chosen = m;
		/*
		 * "none" for MAIL FROM says less than a HELO result does; for
		 * the null sender the header names the HELO check, as
		 * pypolicyd-spf's does (the same evaluation).
		 */
		if (vm == V_PREPEND && h->checked && h->result != SPF_NONE &&
		    (m->result == SPF_NONE || null_sender))
			chosen = h;
	}
	if (chosen == NULL && h->checked) {
		chosen = h;
		v = V_PREPEND;
	}
	/* a bad reverse DNS refused (ptr_check = reject) comes first */
	if ((vi = iprev_refusal(action, sizeof(action), pc)) != V_DUNNO)
		v = vi;
	else if (chosen && (v == V_REJECT || v == V_DEFER))
		build_refusal(action, sizeof(action), pc, chosen, v);
	if (v == V_REJECT || v == V_DEFER) {
		if (cfg->test_only) {
			snprintf(would, sizeof(would), "%s", action);
			v = V_PREPEND;
		}
	}
	/* no header where Postfix cannot take one (see enum stage) */
	if (pc->stage != STAGE_MESSAGE && v == V_PREPEND)
		v = V_DUNNO;
	else if (v == V_PREPEND || (v == V_DUNNO && iprev_in_header(pc) &&
	    pc->stage == STAGE_MESSAGE)) {
		memcpy(action, "PREPEND ", 8);
		v = build_header(action + 8, sizeof(action) - 8, pc, chosen) ?
		    V_PREPEND : V_DUNNO;
	}
	if (v == V_DUNNO)
		snprintf(action, sizeof(action), "DUNNO");
	act = action;
	/* the log names the header; the whole field is in the mail */
	if (v == V_PREPEND)
		logact = cfg->header_type == HEADER_AUTH_RESULTS ?
		    "PREPEND Authentication-Results" : "PREPEND Received-SPF";
	snprintf(what, sizeof(what), "spf_helo=%s spf_mailfrom=%s",
	    h->checked ? spf_result_str(h->result) : "-",
	    m->checked ? spf_result_str(m->result) : "-");
	/* result=: the SPF result the action rests on */
	if (chosen && chosen->domain) {
		size_t n = strlen(what);

		snprintf(what + n, sizeof(what) - n, " domain=%s",
		    log_escape(prob, sizeof(prob), chosen->domain,
		    LOG_ESC_MAX));
	}
	if (chosen && chosen->problem && (chosen->result == SPF_PERMERROR ||
	    chosen->result == SPF_TEMPERROR)) {
		size_t n = strlen(what);

		snprintf(what + n, sizeof(what) - n, " problem=\"%s\"",
		    log_escape(prob, sizeof(prob), chosen->problem,
		    LOG_ESC_MAX));
	}
	if (pc->ip.checked) {
		size_t n = strlen(what);

		snprintf(what + n, sizeof(what) - n, " iprev=%s",
		    iprev_result_str(pc->ip.result));
		n = strlen(what);
		if (pc->ip.name)
			snprintf(what + n, sizeof(what) - n, " iprev_name=%s",
			    log_escape(prob, sizeof(prob), pc->ip.name,
			    LOG_ESC_MAX));
	}
	if (*would) {
		size_t n = strlen(what);

		snprintf(what + n, sizeof(what) - n, " test_only=\"%s\"",
		    log_escape(prob, sizeof(prob), would, LOG_ESC_MAX));
	}
	{
		size_t n = strlen(what);

		snprintf(what + n, sizeof(what) - n, " result=%s", chosen ?
		    spf_result_str(chosen->result) : "unchecked");
	}
	/* later recipients: the same refusal; after a header, no other */
	if (pc->stage != STAGE_SESSION)
		memory_store(pc->mem, pc->req, v == V_PREPEND ? "DUNNO" :
		    action);
out:
	log_decision(pc->req, pc->conn_id, what, logact ? logact : act,
	    &pc->t0);
	pc->done(pc->arg, act);
}

static void
finish_if_done(struct policy_check *pc)
{
	if (--pc->pending > 0)
		return;
	decide(pc);
	check_free(pc);
}

static void
on_spf(void *arg, const struct spf_outcome *o)
{
	struct sub *s = arg;
	struct policy_check *pc = s->pc;

	if (s->slot >= 2) {
		pc->wl[s->slot - 2] = NULL;
		if (o->result == SPF_PASS && pc->skip == NULL)
			pc->skip = "domain_whitelist";
	} else {
		struct idres *r = &pc->id[s->slot];

		r->chk = NULL;
		r->done = 1;
		r->result = o->result;
		r->domain = o->domain ? strdup(o->domain) : NULL;
		r->expl = o->explanation ? strdup(o->explanation) : NULL;
		r->problem = o->problem ? strdup(o->problem) : NULL;
		r->o = *o;
		r->o.domain = r->domain ? r->domain : "";
		r->o.explanation = r->expl;
		r->o.problem = r->problem;
	}
	finish_if_done(pc);
}

static void
on_iprev(void *arg, const struct iprev_outcome *o)
{
	struct policy_check *pc = arg;

	pc->ip.chk = NULL;
	pc->ip.result = o->result;
	pc->ip.name = o->name ? strdup(o->name) : NULL;
	pc->ip.problem = o->problem ? strdup(o->problem) : NULL;
	finish_if_done(pc);
}

static void
on_helo_addr(void *arg, struct dns_answer *ans)
{
	struct policy_check *pc = arg;
	unsigned char a[16];
	size_t i;

	pc->hq = NULL;
	for (i = 0; ans->status == DNS_OK && i < ans->n; i++) {
		if (ans->type == DNS_T_A) {
			memset(a, 0, 10);
			a[10] = a[11] = 0xff;
			memcpy(a + 12, &ans->rr[i].u.a, 4);
		} else if (ans->type == DNS_T_AAAA) {
			memcpy(a, &ans->rr[i].u.aaaa, 16);
		} else {
			continue;
		}
		if (memcmp(a, pc->client, 16) == 0 && pc->skip == NULL)
			pc->skip = "helo_whitelist";
	}
	finish_if_done(pc);
}

/* the safety net: sub-checks have their own limits, this bounds them all */
static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct policy_check *pc = arg;
	size_t i;

	(void)fd;
	(void)what;
	log_warnx("%s policy checks exceeded lookup_time: deciding now",
	    pc->conn_id);
	for (i = 0; i < 2; i++) {
		if (pc->id[i].chk == NULL)
			continue;
		spf_check_cancel(pc->id[i].chk);
		pc->id[i].chk = NULL;
		pc->id[i].result = SPF_TEMPERROR;
		pc->id[i].problem = strdup("lookup_time exceeded");
		pc->id[i].o.result = SPF_TEMPERROR;
		pc->id[i].o.identity = i ? "mailfrom" : "helo";
		pc->id[i].o.domain = "";
		pc->id[i].o.problem = pc->id[i].problem;
	}
	if (pc->ip.chk) {
		iprev_cancel(pc->ip.chk);
		pc->ip.chk = NULL;
		pc->ip.result = IPREV_TEMPERROR;
	}
	decide(pc);
	check_free(pc);
}

/* helo_usable - a name SPF can check: not empty, no address literal, FQDN */
/*
 * helo_name - the HELO name as a domain: without one final dot
 * ("mail.example.com." is "mail.example.com"); "" when it cannot be one.
 */
static void
helo_name(char *buf, size_t sz, const char *helo)
{
	size_t n = strlen(helo);

	if (n >= sz) {
		*buf = '\0';
		return;
	}
	memcpy(buf, helo, n + 1);
	if (n > 1 && buf[n - 1] == '.')
		buf[n - 1] = '\0';
}

static int
helo_usable(const char *helo)
{
	size_t n = strlen(helo);

	return n > 0 && n <= 253 && helo[0] != '[' && strchr(helo, '.') &&
	    helo[n - 1] != '.' && dns_name_ok(helo);
}

static int
helo_listed(const struct domain_list *l, const char *helo)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcasecmp(l->v[i], helo) == 0)
			return 1;
	return 0;
}

static int
start_spf(struct policy_check *pc, int slot, const char *ip, const char *helo,
    const char *sender, struct spf_check **out)
{
	pc->subs[slot].pc = pc;
	pc->subs[slot].slot = slot;
	*out = spf_check_start(ip, helo, sender, pc->cfg->lookup_time, on_spf,
	    &pc->subs[slot]);
	if (*out == NULL)
		return -1;
	pc->pending++;
	return 0;
}

struct policy_check *
policy_start(const struct policy_request *req, struct config *cfg,
    struct policy_memory **mem, const char *conn_id, policy_done_fn *done,
    void *arg)
{
	const char *addr = codec_get(req, ATTR_CLIENT_ADDRESS);
	const char *helo_given = codec_get(req, ATTR_HELO_NAME);
	const char *sender = codec_get(req, ATTR_SENDER);
	char helo[256], postmaster[300];
	const char *result = NULL;
	struct policy_check *pc;
	struct timespec t0;
	struct timeval tv;
	enum stage stage = request_stage(req);
	char *key;
	size_t i;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	helo_name(helo, sizeof(helo), helo_given);
	if (cidr_list_match(&cfg->skip_addresses, addr))
		result = "result=skipped(skip_addresses)";
	else if (cidr_list_match(&cfg->whitelist, addr))
		result = "result=skipped(whitelist)";
	else if (cfg->skip_authenticated &&
	    *codec_get(req, ATTR_SASL_USERNAME) != '\0')
		result = "result=skipped(authenticated)";
	if (result) {
		log_decision(req, conn_id, result, "DUNNO", &t0);
		done(arg, "DUNNO");
		return NULL;
	}
	/* a later recipient of the message we just decided */
	if (stage != STAGE_SESSION && *mem && (*mem)->key &&
	    (key = memory_key(req)) != NULL) {
		int same = strcmp(key, (*mem)->key) == 0;

		free(key);
		if (same) {
			char act[COMPOSE_MAX + 64];

			snprintf(act, sizeof(act), "%s", (*mem)->action);
			log_decision(req, conn_id, "result=repeat", act, &t0);
			done(arg, act);
			return NULL;
		}
	}
	if ((pc = calloc(1, sizeof(*pc))) == NULL ||
	    cidr_addr_parse(addr, pc->client) < 0) {
		free(pc);
		log_decision(req, conn_id, result = (pc ?
		    "result=error(bad client_address)" :
		    "result=error(out of memory)"), "DUNNO", &t0);
		done(arg, "DUNNO");
		return NULL;
	}
	pc->req = req;
	pc->cfg = config_ref(cfg);
	pc->mem = mem;
	snprintf(pc->conn_id, sizeof(pc->conn_id), "%s", conn_id);
	pc->done = done;
	pc->arg = arg;
	pc->t0 = t0;
	pc->pending = 1;        /* held until everything is started */
	pc->stage = stage;

	if (cfg->helo_reject != REJECT_NO_CHECK && helo_usable(helo)) {
		pc->id[0].checked = 1;
		if (start_spf(pc, 0, addr, helo, NULL, &pc->id[0].chk) < 0)
			pc->id[0].checked = 0;
	} else if (cfg->helo_reject != REJECT_NO_CHECK && *helo_given != '\0') {
		/* RFC 7208 4.3: no multi-label domain name, result "none" */
		pc->id[0].checked = pc->id[0].done = 1;
		pc->id[0].result = SPF_NONE;
		pc->id[0].o.result = SPF_NONE;
		pc->id[0].o.identity = "helo";
		pc->id[0].o.domain = "";
	}
	/*
	 * RFC 7208 2.4: with the null sender, the MAIL FROM identity is
	 * postmaster@<HELO>, and mail_from_reject applies to it whatever
	 * helo_reject says (a forged bounce is refused with helo_reject =
	 * no too).  The evaluation is the HELO check's; with both on, the
	 * DNS is asked once (the checks share the cache).
	 */
	if (*sender == '\0' && helo_usable(helo))
		snprintf(postmaster, sizeof(postmaster), "postmaster@%s", helo);
	else
		*postmaster = '\0';
	/* no MAIL FROM before MAIL, nor at VRFY and ETRN (enum stage) */
	if (cfg->mail_from_reject != REJECT_NO_CHECK &&
	    stage != STAGE_SESSION &&
	    (*sender != '\0' || *postmaster != '\0')) {
		pc->id[1].checked = 1;
		if (start_spf(pc, 1, addr, helo, *sender ? sender : postmaster,
		    &pc->id[1].chk) < 0)
			pc->id[1].checked = 0;
	}
	for (i = 0; i < cfg->domain_whitelist.n && i < MAX_WL; i++)
		(void)start_spf(pc, 2 + (int)i, addr,
		    cfg->domain_whitelist.v[i], cfg->domain_whitelist.v[i],
		    &pc->wl[i]);
	if ((cfg->ptr_check != PTR_NO || cfg->ptr_domain_whitelist.n > 0) &&
	    !cidr_list_match(&cfg->ptr_whitelist, addr)) {
		pc->ip.chk = iprev_start(addr, cfg->ptr_max_names,
		    cfg->lookup_time, on_iprev, pc);
		if (pc->ip.chk != NULL) {
			pc->ip.checked = 1;
			pc->pending++;
		}
	}
	if (helo_usable(helo) && helo_listed(&cfg->helo_whitelist, helo)) {
		pc->hq = dns_query(helo, cidr_addr_is_v4(pc->client) ?
		    DNS_T_A : DNS_T_AAAA, on_helo_addr, pc);
		if (pc->hq)
			pc->pending++;
	}
	if ((pc->deadline = evtimer_new(spf_event_base(), on_deadline, pc))
	    != NULL) {
		tv.tv_sec = cfg->lookup_time / 1000 + 1;
		tv.tv_usec = (cfg->lookup_time % 1000) * 1000;
		evtimer_add(pc->deadline, &tv);
	}
	/*
	 * Every sub-check answers from the loop, never from inside its
	 * start, so nothing has finished yet; with nothing started, decide
	 * now (done() from inside policy_start() is allowed).
	 */
	if (--pc->pending == 0) {
		decide(pc);
		check_free(pc);
		return NULL;
	}
	return pc;
}

void
policy_cancel(struct policy_check *pc)
{
	if (pc != NULL)
		check_free(pc);
}
