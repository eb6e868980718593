/*
 * decision - what a request calls for.  See decision.h.
 */
#include <string.h>
#include <strings.h>

#include "cidr.h"
#include "compose.h"
#include "config.h"
#include "decision.h"
#include "dns.h"
#include "log.h"
#include "strbuf.h"

/* an SMTP reply line is at most 512 bytes (RFC 5321 4.5.3.1.5) */
#define REASON_MAX 400

/* host - the authserv-id, and the receiver of Received-SPF */
static const char *
host(const struct config *cfg, const struct decision_facts *f)
{
	return *cfg->authserv_id ? cfg->authserv_id : f->hostname;
}

enum decision_stage
decision_stage(const char *st)
{
	if (*st == '\0' || strcasecmp(st, "RCPT") == 0 ||
	    strcasecmp(st, "MAIL") == 0 || strcasecmp(st, "DATA") == 0)
		return STAGE_MESSAGE;
	if (strcasecmp(st, "END-OF-MESSAGE") == 0)
		return STAGE_END;
	return STAGE_SESSION;
}

/* ----- before DNS ----- */

static void
skipped(struct decision *d, const char *why)
{
	char result[64];
	struct strbuf b;

	strbuf_init(&b, result, sizeof(result));
	strbuf_printf(&b, "skipped(%s)", why);
	decision_known(d, "DUNNO", result);
}

int
decision_local(const struct config *cfg, const struct decision_facts *f,
    struct decision *d)
{
	const char *why = NULL;

	if (cidr_list_match(&cfg->skip_addresses, f->client))
		why = "skip_addresses";
	else if (cidr_list_match(&cfg->whitelist, f->client))
		why = "whitelist";
	else if (cfg->skip_authenticated && *f->sasl_username != '\0')
		why = "authenticated";
	if (why == NULL)
		return 0;
	skipped(d, why);
	return 1;
}

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

/* helo_usable - a name SPF can check: not empty, no address literal, FQDN */
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

void
decision_plan(const struct config *cfg, struct decision_facts *f,
    struct decision_plan *p)
{
	int usable;
	struct strbuf b;

	memset(p, 0, sizeof(*p));
	helo_name(p->helo_name, sizeof(p->helo_name), f->helo);
	usable = helo_usable(p->helo_name);
	if (cfg->helo_reject != REJECT_NO_CHECK && usable) {
		p->helo = 1;
	} else if (cfg->helo_reject != REJECT_NO_CHECK && *f->helo != '\0') {
		/*
		 * RFC 7208 4.3: no multi-label domain name, result "none";
		 * the problem is spf.c's word for it (only spfpd -q shows
		 * the problem of a "none")
		 */
		f->spf_helo.checked = 1;
		f->spf_helo.o.result = SPF_NONE;
		f->spf_helo.o.identity = "helo";
		f->spf_helo.o.problem = "malformed domain";
	}
	/*
	 * RFC 7208 2.4: with the null sender, the MAIL FROM identity is
	 * postmaster@<HELO>, and mail_from_reject applies to it whatever
	 * helo_reject says (a forged bounce is refused with helo_reject =
	 * no too).  The evaluation is the HELO check's; with both on, the
	 * DNS is asked once (the checks share the cache).
	 */
	strbuf_init(&b, p->postmaster, sizeof(p->postmaster));
	if (*f->sender == '\0' && usable)
		strbuf_printf(&b, "postmaster@%s", p->helo_name);
	p->mailfrom_id = *f->sender ? f->sender : p->postmaster;
	/* no MAIL FROM before MAIL, nor at VRFY and ETRN (enum stage) */
	p->mailfrom = cfg->mail_from_reject != REJECT_NO_CHECK &&
	    f->stage != STAGE_SESSION && *p->mailfrom_id != '\0';
	p->whitelist = cfg->domain_whitelist.n < DECISION_MAX_WL ?
	    cfg->domain_whitelist.n : DECISION_MAX_WL;
	p->iprev = (cfg->ptr_check != PTR_NO ||
	    cfg->ptr_domain_whitelist.n > 0) &&
	    !cidr_list_match(&cfg->ptr_whitelist, f->client);
	p->helo_whitelist = usable &&
	    helo_listed(&cfg->helo_whitelist, p->helo_name);
}

/* ----- the verdict ----- */

/* judge - what a result calls for under a reject level */
static enum verdict
judge(const struct config *cfg, enum spf_result r, enum reject_level level,
    int not_pass, int null_sender)
{
	if (level == REJECT_NO || level == REJECT_NO_CHECK)
		return VERDICT_PREPEND;
	if (not_pass)
		level = REJECT_NOT_PASS;
	switch (r) {
	case SPF_FAIL:
		if (level == REJECT_NULL && !null_sender)
			return VERDICT_PREPEND;
		return VERDICT_REJECT;
	case SPF_SOFTFAIL:
		return level == REJECT_SOFTFAIL || level == REJECT_NOT_PASS ?
		    VERDICT_REJECT : VERDICT_PREPEND;
	case SPF_NEUTRAL:
		return level == REJECT_NOT_PASS ? VERDICT_REJECT :
		    VERDICT_PREPEND;
	case SPF_PERMERROR:
		return cfg->permerror_reject || level == REJECT_NOT_PASS ?
		    VERDICT_REJECT : VERDICT_PREPEND;
	case SPF_TEMPERROR:
		return cfg->temperror_defer ? VERDICT_DEFER : VERDICT_PREPEND;
	default:
		return VERDICT_PREPEND;
	}
}

/*
 * no_mail_only - reject_only_no_mail: an SPF refusal stands only for a
 * fail from a record that is exactly "v=spf1 -all"; any other becomes a
 * header (a temperror's defer is no judgment on the record: it stays)
 */
static enum verdict
no_mail_only(const struct config *cfg, const struct spf_outcome *o,
    enum verdict v)
{
	if (cfg->reject_only_no_mail && v == VERDICT_REJECT &&
	    !(o->result == SPF_FAIL && o->no_mail))
		return VERDICT_PREPEND;
	return v;
}

/* spf_verdict - the verdict of SPF, and the result it rests on */
static enum verdict
spf_verdict(const struct config *cfg, const struct decision_facts *f,
    const struct decision_spf **chosen)
{
	const struct decision_spf *h = &f->spf_helo, *m = &f->spf_mailfrom;
	const struct domain_list *np = &cfg->reject_not_pass_domains;
	int null_sender = *f->sender == '\0' && f->stage != STAGE_SESSION;
	enum verdict v;

	*chosen = NULL;
	if (h->checked) {
		v = judge(cfg, h->o.result, cfg->helo_reject,
		    domain_list_match(np, h->o.domain ? h->o.domain : f->helo),
		    null_sender);
		v = no_mail_only(cfg, &h->o, v);
		if (v == VERDICT_REJECT || v == VERDICT_DEFER) {
			*chosen = h;
			return v;
		}
	}
	if (m->checked) {
		/* for the null sender: postmaster@<HELO> (RFC 7208 2.4) */
		v = judge(cfg, m->o.result, cfg->mail_from_reject,
		    domain_list_match(np, m->o.domain ? m->o.domain : ""),
		    null_sender);
		v = no_mail_only(cfg, &m->o, v);
		*chosen = m;
		/*
		 * "none" for MAIL FROM says less than a HELO result does; for
		 * the null sender the header names the HELO check, as
		 * pypolicyd-spf's does (the same evaluation).
		 */
		if (v == VERDICT_PREPEND && h->checked &&
		    h->o.result != SPF_NONE &&
		    (m->o.result == SPF_NONE || null_sender))
			*chosen = h;
		return v;
	}
	if (h->checked) {
		*chosen = h;
		return VERDICT_PREPEND;
	}
	return VERDICT_DUNNO;
}

/* iprev_verdict - ptr_check = reject: what a bad reverse DNS calls for */
static enum verdict
iprev_verdict(const struct config *cfg, const struct decision_iprev *ip)
{
	if (cfg->ptr_check != PTR_REJECT || !ip->checked)
		return VERDICT_DUNNO;
	switch (ip->o.result) {
	case IPREV_PERMERROR:
	case IPREV_FAIL:
		return cfg->ptr_reject_code == PTR_CODE_450 ? VERDICT_DEFER :
		    VERDICT_REJECT;
	case IPREV_TEMPERROR:
		return cfg->ptr_temperror_defer ? VERDICT_DEFER : VERDICT_DUNNO;
	default:
		return VERDICT_DUNNO;
	}
}

/*
 * pass_class - the restriction class an SPF pass calls for, or NULL: that
 * of MAIL FROM (postmaster@HELO for <>), then that of the HELO identity,
 * as pypolicyd-spf's Mail_From_pass_restriction and HELO_pass_restriction;
 * *r: the result it rests on.  Unlike pypolicyd-spf, a HELO pass names
 * no class for a MAIL FROM that fails or softfails, refused or not: a
 * forger can pass the HELO of his own host.
 */
static const char *
pass_class(const struct config *cfg, const struct decision_facts *f,
    const struct decision_spf **r)
{
	const struct decision_spf *m = &f->spf_mailfrom;

	if (*cfg->mail_from_pass_restriction && m->checked &&
	    m->o.result == SPF_PASS) {
		*r = m;
		return cfg->mail_from_pass_restriction;
	}
	if (m->checked && (m->o.result == SPF_FAIL ||
	    m->o.result == SPF_SOFTFAIL))
		return NULL;
	if (*cfg->helo_pass_restriction && f->spf_helo.checked &&
	    f->spf_helo.o.result == SPF_PASS) {
		*r = &f->spf_helo;
		return cfg->helo_pass_restriction;
	}
	return NULL;
}

/* the iprev part of a header: with Authentication-Results only */
static int
iprev_in_header(const struct config *cfg, const struct decision_facts *f)
{
	return f->iprev.checked && cfg->ptr_check != PTR_NO &&
	    cfg->header_type == HEADER_AUTH_RESULTS;
}

/* has_header - is there a header to prepend, with r (maybe NULL)? */
static int
has_header(const struct config *cfg, const struct decision_facts *f,
    const struct decision_spf *r)
{
	if (cfg->header_type == HEADER_AUTH_RESULTS)
		return r != NULL || iprev_in_header(cfg, f);
	return cfg->header_type != HEADER_NONE && r != NULL;
}

struct decision_verdict
decision_verdict(const struct config *cfg, const struct decision_facts *f)
{
	struct decision_verdict vd;
	enum verdict v, vi;

	memset(&vd, 0, sizeof(vd));
	vd.skip = f->skip;
	if (vd.skip == NULL && f->iprev.checked &&
	    f->iprev.o.result == IPREV_PASS && f->iprev.o.name &&
	    domain_list_find_host(&cfg->ptr_domain_whitelist,
	    f->iprev.o.name) >= 0)
		vd.skip = "ptr_domain_whitelist";
	if (vd.skip)
		return vd;
	v = spf_verdict(cfg, f, &vd.spf);
	/* a bad reverse DNS refused (ptr_check = reject) comes first */
	if ((vi = iprev_verdict(cfg, &f->iprev)) != VERDICT_DUNNO) {
		v = vi;
		vd.by_iprev = 1;
	}
	/*
	 * an SPF reject lifted by the second phase (an MX host of the
	 * recipient's domain, a DNSWL listing): the header, with a note.
	 * Not a temperror's defer (no judgment on the client), not
	 * ptr_check's refusal (not SPF's).
	 */
	if (v == VERDICT_REJECT && !vd.by_iprev && f->over.by != TRUST_NONE) {
		v = VERDICT_PREPEND;
		vd.trusted = f->over.by;
	}
	if (v == VERDICT_REJECT || v == VERDICT_DEFER) {
		vd.refusal = v;
		if (cfg->test_only) {
			vd.test_only = 1;
			v = VERDICT_PREPEND;
		}
	}
	/*
	 * nothing refused, not even under test_only: an SPF pass may name a
	 * restriction class instead of the header.  Postfix takes it at any
	 * stage (access(5): a class is allowed wherever an action is).
	 */
	if (vd.refusal == VERDICT_DUNNO && vd.trusted == TRUST_NONE &&
	    (vd.pass_class = pass_class(cfg, f, &vd.spf)) != NULL) {
		vd.verdict = VERDICT_CLASS;
		return vd;
	}
	/* no header where Postfix cannot take one (see enum stage) */
	if (f->stage != STAGE_MESSAGE && v == VERDICT_PREPEND)
		v = VERDICT_DUNNO;
	else if (v == VERDICT_PREPEND || (v == VERDICT_DUNNO &&
	    iprev_in_header(cfg, f) && f->stage == STAGE_MESSAGE))
		v = has_header(cfg, f, vd.spf) ? VERDICT_PREPEND :
		    VERDICT_DUNNO;
	vd.verdict = v;
	return vd;
}

int
decision_plan2(const struct config *cfg, const struct decision_facts *f,
    const char *recipient, struct decision_plan2 *p)
{
	const struct forwarder_list *fw = &cfg->trusted_forwarders;
	struct decision_facts g = *f;
	struct decision_verdict vd;
	unsigned char a[16];
	const char *at;
	size_t i;

	memset(p, 0, sizeof(*p));
	memset(&g.over, 0, sizeof(g.over));
	vd = decision_verdict(cfg, &g);
	if (vd.skip || vd.refusal != VERDICT_REJECT || vd.by_iprev)
		return 0;
	/* "u@Example.NET" -> example.net; none for <> or a bare name */
	if (cfg->trust_recipient_mx && recipient != NULL &&
	    (at = strrchr(recipient, '@')) != NULL && at[1] != '\0') {
		dns_canon(p->mx_domain, sizeof(p->mx_domain), at + 1);
		if (!strchr(p->mx_domain, '.') || !dns_name_ok(p->mx_domain))
			p->mx_domain[0] = '\0';
	}
	p->dnswl = cfg->dnswl_zones.n < DECISION_MAX_DNSWL ?
	    cfg->dnswl_zones.n : DECISION_MAX_DNSWL;
	/* a forwarder by address: no lookup needed, and none is made */
	if (cidr_addr_parse(f->client, a) == 0) {
		for (i = 0; i < fw->cidrs.n; i++) {
			if (!cidr_match(&fw->cidrs.v[i], a))
				continue;
			p->forwarder = &fw->cidrs.v[i];
			p->mx_domain[0] = '\0';
			p->dnswl = 0;
			return 1;
		}
	}
	p->fwd_ptr = fw->ptr.n > 0;
	p->fwd_spf = fw->spf.n;
	return *p->mx_domain != '\0' || p->dnswl > 0 || p->fwd_ptr ||
	    p->fwd_spf > 0;
}

/* ----- the text ----- */

/* spf_text - the "why" of a reply */
static void
spf_text(struct strbuf *b, const struct spf_outcome *o)
{
	switch (o->result) {
	case SPF_FAIL:
		strbuf_puts(b, o->explanation && *o->explanation ?
		    o->explanation : "SPF fail - not authorized");
		break;
	case SPF_SOFTFAIL:
		strbuf_puts(b, "SPF softfail - domain owner discourages use of "
		    "this host");
		break;
	case SPF_NEUTRAL:
		strbuf_puts(b, "SPF neutral - access neither permitted nor "
		    "denied");
		break;
	case SPF_PERMERROR:
		strbuf_printf(b, "SPF permanent error: %s", o->problem ?
		    o->problem : "error in the SPF record");
		break;
	case SPF_TEMPERROR:
		strbuf_printf(b, "SPF temporary error: %s", o->problem ?
		    o->problem : "DNS failure");
		break;
	default:
		strbuf_puts(b, spf_result_str(o->result));
	}
}

/* spf_refusal - the reply refusing the message for SPF result r */
static void
spf_refusal(struct strbuf *b, const struct config *cfg,
    const struct decision_facts *f, const struct decision_spf *r,
    enum verdict v)
{
	int is_helo = r == &f->spf_helo;
	int by_helo = is_helo || *f->sender == '\0';
	char url[COMPOSE_MAX], why[COMPOSE_MAX], reason[REASON_MAX + 1];
	const char *vals[6];
	struct strbuf t;

	compose_why_url(url, sizeof(url), by_helo ? "helo" : "mfrom",
	    by_helo ? f->helo : f->sender, f->client,
	    cfg->hide_receiver ? NULL : host(cfg, f));
	strbuf_init(&t, why, sizeof(why));
	spf_text(&t, &r->o);
	vals[0] = v == VERDICT_DEFER ? "deferred" : "rejected";
	vals[1] = why;
	vals[2] = url;
	vals[3] = spf_result_str(r->o.result);
	vals[4] = is_helo ? "helo" : "mailfrom";
	vals[5] = r->o.domain;
	compose_reason(reason, sizeof(reason), cfg->reason_message, vals);
	if (v == VERDICT_DEFER)
		strbuf_printf(b, "DEFER_IF_PERMIT 4.7.24 %s", reason);
	else
		strbuf_printf(b, "550 %s %s", r->o.result == SPF_PERMERROR ?
		    "5.7.24" : "5.7.23", reason);
}

/* iprev_refusal - ptr_check = reject: the reply for a bad reverse DNS */
static void
iprev_refusal(struct strbuf *b, const struct config *cfg,
    const struct decision_facts *f)
{
	const char *code = cfg->ptr_reject_code == PTR_CODE_450 ?
	    "450 4.7.25" : "550 5.7.25";
	char ip[COMPOSE_VALUE_MAX + 1], name[COMPOSE_VALUE_MAX + 1];

	compose_text(ip, sizeof(ip), f->client, 64);
	compose_text(name, sizeof(name), f->iprev.o.name, 255);
	switch (f->iprev.o.result) {
	case IPREV_PERMERROR:
		strbuf_printf(b, "%s Client host rejected: cannot find your "
		    "reverse hostname, [%s]", code, ip);
		break;
	case IPREV_FAIL:
		strbuf_printf(b, "%s Client host rejected: your reverse "
		    "hostname %s does not resolve to [%s]", code, name, ip);
		break;
	default:                /* temperror, ptr_temperror_defer */
		strbuf_printf(b, "450 4.7.25 Client host rejected: cannot "
		    "verify your reverse hostname, [%s]: temporary DNS "
		    "failure", ip);
	}
}

static void
refusal(struct strbuf *b, const struct config *cfg,
    const struct decision_facts *f, const struct decision_verdict *vd)
{
	if (vd->by_iprev)
		iprev_refusal(b, cfg, f);
	else
		spf_refusal(b, cfg, f, vd->spf, vd->refusal);
}

/* header - the field prepended, about r (NULL: iprev alone) */
static void
header(struct strbuf *b, const struct config *cfg,
    const struct decision_facts *f, const struct decision_verdict *vd)
{
	const struct decision_spf *r = vd->spf;
	char field[COMPOSE_MAX], note[COMPOSE_MAX];
	struct spf_outcome o;
	struct compose_spf c;
	struct compose_iprev ip;
	struct compose_trust tr, *t = NULL;
	struct strbuf nb;

	if (vd->trusted != TRUST_NONE && r != NULL) {
		memset(&tr, 0, sizeof(tr));
		strbuf_init(&nb, note, sizeof(note));
		if (vd->trusted == TRUST_MX) {
			strbuf_printf(&nb, "accepted: client is an MX host of "
			    "%s", f->over.name);
		} else if (vd->trusted == TRUST_FORWARDER) {
			strbuf_printf(&nb, "accepted: trusted forwarder %s",
			    f->over.name);
			tr.forwarder = f->over.value;
		} else {
			strbuf_printf(&nb, "accepted: %s lists the client as "
			    "%s", f->over.name, f->over.value);
			tr.dnswl_zone = f->over.name;
			tr.dnswl_ip = f->over.value;
		}
		tr.note = note;
		t = &tr;
	}

	if (r != NULL) {
		o = r->o;
		if (o.domain == NULL)
			o.domain = "";
	}
	c.o = r ? &o : NULL;
	c.ip = f->client;
	c.sender = f->sender;
	c.helo = f->helo;
	c.receiver = cfg->hide_receiver ? NULL : host(cfg, f);
	ip.result = f->iprev.o.result;
	ip.ip = f->client;
	ip.name = f->iprev.o.name;
	if (cfg->header_type == HEADER_AUTH_RESULTS)
		compose_auth_results_trust(field, sizeof(field), host(cfg, f),
		    r ? &c : NULL, iprev_in_header(cfg, f) ? &ip : NULL, t);
	else
		compose_received_spf_trust(field, sizeof(field), &c, t);
	strbuf_puts(b, field);
}

static const char *
checked_result(const struct decision_spf *r)
{
	return r->checked ? spf_result_str(r->o.result) : "-";
}

/* the log's trusted= (README, Log lines) */
static const char *const trust_names[] = {
	[TRUST_NONE] = "none", [TRUST_MX] = "mx", [TRUST_DNSWL] = "dnswl",
	[TRUST_FORWARDER] = "forwarder"
};

/* log_fields - what the log line says about the checks */
static void
log_fields(struct decision *d, const struct decision_facts *f)
{
	const struct decision_spf *r = d->vd.spf;
	char esc[LOG_ESC_SIZE];
	struct strbuf b;

	strbuf_init(&b, d->fields, sizeof(d->fields));
	strbuf_printf(&b, "spf_helo=%s spf_mailfrom=%s",
	    checked_result(&f->spf_helo), checked_result(&f->spf_mailfrom));
	if (r && r->o.domain)
		strbuf_printf(&b, " domain=%s", log_escape(esc, sizeof(esc),
		    r->o.domain, LOG_ESC_MAX));
	if (r && r->o.problem && (r->o.result == SPF_PERMERROR ||
	    r->o.result == SPF_TEMPERROR))
		strbuf_printf(&b, " problem=\"%s\"", log_escape(esc,
		    sizeof(esc), r->o.problem, LOG_ESC_MAX));
	if (f->iprev.checked) {
		strbuf_printf(&b, " iprev=%s",
		    iprev_result_str(f->iprev.o.result));
		if (f->iprev.o.name)
			strbuf_printf(&b, " iprev_name=%s", log_escape(esc,
			    sizeof(esc), f->iprev.o.name, LOG_ESC_MAX));
	}
	if (d->vd.test_only)
		strbuf_printf(&b, " test_only=\"%s\"", log_escape(esc,
		    sizeof(esc), d->would, LOG_ESC_MAX));
	/* trusted=: an SPF refusal lifted, and by what (README, Log lines) */
	if (d->vd.trusted != TRUST_NONE) {
		strbuf_printf(&b, " trusted=%s", trust_names[d->vd.trusted]);
		strbuf_printf(&b, " trusted_by=%s", log_escape(esc,
		    sizeof(esc), f->over.name, LOG_ESC_MAX));
	}
	/* result=: the SPF result the action rests on */
	strbuf_printf(&b, " result=%s", d->result);
}

void
decision_known(struct decision *d, const char *action, const char *result)
{
	struct strbuf b;

	memset(&d->vd, 0, sizeof(d->vd));
	strbuf_init(&b, d->action, sizeof(d->action));
	strbuf_puts(&b, action);
	d->would[0] = '\0';
	strbuf_init(&b, d->result, sizeof(d->result));
	strbuf_puts(&b, result);
	strbuf_init(&b, d->fields, sizeof(d->fields));
	strbuf_printf(&b, "result=%s", d->result);
	d->log_action = d->action;
	d->remember = NULL;
}

void
decision_take(const struct config *cfg, const struct decision_facts *f,
    struct decision *d)
{
	const struct decision_verdict *vd = &d->vd;
	struct strbuf b;

	d->vd = decision_verdict(cfg, f);
	if (vd->skip) {
		struct decision_verdict keep = d->vd;

		skipped(d, keep.skip);  /* nothing remembered */
		d->vd = keep;
		return;
	}
	strbuf_init(&b, d->would, sizeof(d->would));
	if (vd->test_only)
		refusal(&b, cfg, f, vd);
	strbuf_init(&b, d->action, sizeof(d->action));
	if (vd->verdict == VERDICT_REJECT || vd->verdict == VERDICT_DEFER) {
		refusal(&b, cfg, f, vd);
	} else if (vd->verdict == VERDICT_PREPEND) {
		strbuf_puts(&b, "PREPEND ");
		header(&b, cfg, f, vd);
	} else if (vd->verdict == VERDICT_CLASS) {
		strbuf_puts(&b, vd->pass_class);
	} else {
		strbuf_puts(&b, "DUNNO");
	}
	strbuf_init(&b, d->result, sizeof(d->result));
	strbuf_puts(&b, vd->spf ? spf_result_str(vd->spf->o.result) :
	    "unchecked");
	log_fields(d, f);
	/* the log names the header; the whole field is in the mail */
	d->log_action = d->action;
	if (vd->verdict == VERDICT_PREPEND)
		d->log_action = cfg->header_type == HEADER_AUTH_RESULTS ?
		    "PREPEND Authentication-Results" : "PREPEND Received-SPF";
	/*
	 * later recipients: the same refusal, or the same restriction class
	 * (Postfix evaluates each recipient's restrictions anew: a class
	 * that lets mail skip greylisting must say so for every one); after
	 * a header, no other
	 */
	d->remember = NULL;
	if (f->stage != STAGE_SESSION)
		d->remember = vd->verdict == VERDICT_PREPEND ? "DUNNO" :
		    d->action;
}
