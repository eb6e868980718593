/*
 * test_policy - the decision as a table, through the real decision.c (no
 * process, no socket, no DNS): what DNS says of the HELO identity, the
 * MAIL FROM identity and the reverse DNS, the options and the SMTP stage
 * -> the verdict, the reply (its start: the header type or the reply
 * code and text), the log line's fields, whole, and what the message's
 * later recipients get.  Which checks run at all (helo_reject = no_check,
 * ptr_check = no, the stage, the null sender, a HELO that is no domain)
 * comes from decision_plan(), as in the daemon.  Every expected value is
 * written out by hand.
 *
 * Then policy.c's contract on a real event loop (no DNS is asked): done()
 * is never called from inside policy_start(), a cancel stops it, and the
 * per-message memory answers a message's later recipients.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/event.h>

#include "codec.h"
#include "config.h"
#include "decision.h"
#include "policy.h"

/* ----- the table ----- */

struct row {
	const char *conf;       /* options, "key=value;key=value" */
	/*
	 * What DNS says, if asked: the HELO identity, the MAIL FROM
	 * identity, the reverse DNS.  SPF: p pass, f fail, x fail with an
	 * exp= text, z fail of a record that is exactly "v=spf1 -all"
	 * (reject_only_no_mail), s softfail, n neutral, 0 none, P permerror, T
	 * temperror; iprev: p pass, f fail, P permerror, T temperror.
	 * NULL: "ppp".
	 */
	const char *dns;
	const char *state;      /* protocol_state; NULL: RCPT */
	const char *sender;     /* NULL: a@example.com */
	const char *helo;       /* NULL: mail.example.com */
	const char *client;     /* NULL: 192.0.2.1 */
	const char *sasl;       /* sasl_username; NULL: "" */
	const char *wl;         /* a DNS whitelist that matched */
	/*
	 * What the second phase finds, if decision_plan2() asks: "mx" the
	 * client is an MX host of the recipient's domain, "dnswl" the
	 * first of dnswl_zones lists it as 127.0.10.2; NULL: nothing
	 */
	const char *trust;
	const char *rcpt;       /* recipient; NULL: u@Example.NET */
	enum verdict v;
	const char *action;     /* the start of the reply */
	const char *fields;     /* the log line's fields, whole */
	char mem;               /* later recipients: 'D' DUNNO, 'A' the
	                           same action, '-' forgotten */
};

#define CLASS VERDICT_CLASS

#define DUNNO VERDICT_DUNNO
#define PREPEND VERDICT_PREPEND
#define REJECT VERDICT_REJECT
#define DEFER VERDICT_DEFER

#define WHY "https://www.open-spf.org/Why?"
#define URL_M WHY "s=mfrom;id=a@example.com;ip=192.0.2.1;r=mx.example.org"
#define URL_H WHY "s=helo;id=mail.example.com;ip=192.0.2.1;r=mx.example.org"
#define REJ(url, why) "550 5.7.23 Message rejected due to: " why \
	". Please see " url
#define FAIL "SPF fail - not authorized"
#define SOFT "SPF softfail - domain owner discourages use of this host"
#define NEUT "SPF neutral - access neither permitted nor denied"
#define PERM(url) "550 5.7.24 Message rejected due to: SPF permanent " \
	"error: bad record. Please see " url
#define TEMP(url) "DEFER_IF_PERMIT 4.7.24 Message deferred due to: SPF " \
	"temporary error: DNS timeout. Please see " url

#define RSPF "PREPEND Received-SPF: "
#define TAIL_M " client-ip=192.0.2.1; envelope-from=\"a@example.com\"; " \
	"helo=mail.example.com; identity=mailfrom; receiver=mx.example.org;"
#define TAIL_H " client-ip=192.0.2.1; envelope-from=\"a@example.com\"; " \
	"helo=mail.example.com; identity=helo; receiver=mx.example.org;"
#define PASS_M RSPF "pass (mx.example.org: domain of a@example.com " \
	"designates 192.0.2.1 as permitted sender)" TAIL_M
#define PASS_H RSPF "pass (mx.example.org: domain of mail.example.com " \
	"designates 192.0.2.1 as permitted sender)" TAIL_H
#define FAIL_M_HDR RSPF "fail (mx.example.org: domain of a@example.com " \
	"does not designate 192.0.2.1 as permitted sender)" TAIL_M
#define AR "PREPEND Authentication-Results: mx.example.org; "
#define AR_PASS_M AR "spf=pass (domain of a@example.com designates " \
	"192.0.2.1 as permitted sender) smtp.mailfrom=example.com"
#define AR_IPREV "; iprev=pass policy.iprev=192.0.2.1 (mail.example.com)"

#define IPOK " iprev=pass iprev_name=mail.example.com"
#define IPFAIL " iprev=fail iprev_name=other.example.net"
#define L(h, m) "spf_helo=" h " spf_mailfrom=" m
#define DOM_M " domain=example.com"
#define DOM_H " domain=mail.example.com"
#define PROB(p) " problem=\"" p "\""

/* the refusals as test_only logs them: 100 bytes, then "..." */
#define WOULD_FAIL_M " test_only=\"550 5.7.23 Message rejected due to: " \
	"SPF fail - not authorized. Please see https://www.open-spf.org/W...\""
#define WOULD_FAIL_H WOULD_FAIL_M
#define WOULD_TEMP_M " test_only=\"DEFER_IF_PERMIT 4.7.24 Message " \
	"deferred due to: SPF temporary error: DNS timeout. Please see " \
	"https:/...\""
#define WOULD_PTR " test_only=\"550 5.7.25 Client host rejected: cannot " \
	"find your reverse hostname, [192.0.2.1]\""

#define PTR_PERM "550 5.7.25 Client host rejected: cannot find your " \
	"reverse hostname, [192.0.2.1]"
#define PTR_FAIL "550 5.7.25 Client host rejected: your reverse hostname " \
	"other.example.net does not resolve to [192.0.2.1]"
#define PTR_TEMP "450 4.7.25 Client host rejected: cannot verify your " \
	"reverse hostname, [192.0.2.1]: temporary DNS failure"

#define REASON "reason_message=SPF {result} for {identity} {domain}: " \
	"{rejectdefer}"

#define MX_M_HDR RSPF "fail (mx.example.org: domain of a@example.com " \
	"does not designate 192.0.2.1 as permitted sender; accepted: client " \
	"is an MX host of example.net)" TAIL_M
#define T_MX " trusted=mx trusted_by=example.net"
#define T_WL " trusted=dnswl trusted_by=list.dnswl.test"
#define WL_ZONE "dnswl_zones=List.DNSWL.test."

static const struct row rows[] = {
	/* defaults: helo_reject = fail, mail_from_reject = fail, MAIL FROM */
	{ .dns = "ppp", .v = PREPEND, .action = PASS_M,
	    .fields = L("pass", "pass") DOM_M IPOK " result=pass",
	    .mem = 'D' },
	{ .dns = "pfp", .v = REJECT, .action = REJ(URL_M, FAIL),
	    .fields = L("pass", "fail") DOM_M IPOK " result=fail",
	    .mem = 'A' },
	{ .dns = "pxp", .v = REJECT, .action = REJ(URL_M,
	    "See https://example.com/spf"),
	    .fields = L("pass", "fail") DOM_M IPOK " result=fail",
	    .mem = 'A' },
	{ .dns = "psp", .v = PREPEND, .action = RSPF "softfail "
	    "(mx.example.org: transitioning domain of a@example.com does not "
	    "designate 192.0.2.1 as permitted sender)" TAIL_M,
	    .fields = L("pass", "softfail") DOM_M IPOK " result=softfail",
	    .mem = 'D' },
	{ .dns = "pnp", .v = PREPEND, .action = RSPF "neutral "
	    "(mx.example.org: 192.0.2.1 is neither permitted nor denied by "
	    "domain of a@example.com)" TAIL_M,
	    .fields = L("pass", "neutral") DOM_M IPOK " result=neutral",
	    .mem = 'D' },
	/* "none" for MAIL FROM: the header names the HELO check */
	{ .dns = "p0p", .v = PREPEND, .action = PASS_H,
	    .fields = L("pass", "none") DOM_H IPOK " result=pass",
	    .mem = 'D' },
	{ .dns = "pPp", .v = PREPEND, .action = RSPF "permerror "
	    "(mx.example.org: permanent error in processing domain of "
	    "a@example.com: bad record) client-ip=192.0.2.1; envelope-from="
	    "\"a@example.com\"; helo=mail.example.com; problem=\"bad record\"; "
	    "identity=mailfrom; receiver=mx.example.org;",
	    .fields = L("pass", "permerror") DOM_M PROB("bad record") IPOK
	    " result=permerror", .mem = 'D' },
	{ .dns = "pTp", .v = PREPEND, .action = RSPF "temperror "
	    "(mx.example.org: temporary error in processing domain of "
	    "a@example.com: DNS timeout)",
	    .fields = L("pass", "temperror") DOM_M PROB("DNS timeout") IPOK
	    " result=temperror", .mem = 'D' },
	/* the HELO identity first */
	{ .dns = "fpp", .v = REJECT, .action = REJ(URL_H, FAIL),
	    .fields = L("fail", "pass") DOM_H IPOK " result=fail",
	    .mem = 'A' },
	{ .dns = "f0p", .v = REJECT, .action = REJ(URL_H, FAIL),
	    .fields = L("fail", "none") DOM_H IPOK " result=fail",
	    .mem = 'A' },
	{ .dns = "xpp", .v = REJECT, .action = REJ(URL_H,
	    "See https://example.com/spf"),
	    .fields = L("fail", "pass") DOM_H IPOK " result=fail",
	    .mem = 'A' },
	{ .dns = "spp", .v = PREPEND, .action = PASS_M,
	    .fields = L("softfail", "pass") DOM_M IPOK " result=pass",
	    .mem = 'D' },
	{ .dns = "npp", .v = PREPEND, .action = PASS_M,
	    .fields = L("neutral", "pass") DOM_M IPOK " result=pass",
	    .mem = 'D' },
	{ .dns = "0pp", .v = PREPEND, .action = PASS_M,
	    .fields = L("none", "pass") DOM_M IPOK " result=pass",
	    .mem = 'D' },
	{ .dns = "Ppp", .v = PREPEND, .action = PASS_M,
	    .fields = L("permerror", "pass") DOM_M IPOK " result=pass",
	    .mem = 'D' },
	{ .dns = "Tpp", .v = PREPEND, .action = PASS_M,
	    .fields = L("temperror", "pass") DOM_M IPOK " result=pass",
	    .mem = 'D' },
	{ .dns = "s0p", .v = PREPEND, .action = RSPF "softfail "
	    "(mx.example.org: transitioning domain of mail.example.com does "
	    "not designate 192.0.2.1 as permitted sender)" TAIL_H,
	    .fields = L("softfail", "none") DOM_H IPOK " result=softfail",
	    .mem = 'D' },
	{ .dns = "00p", .v = PREPEND, .action = RSPF "none (mx.example.org: "
	    "domain of a@example.com does not designate permitted sender "
	    "hosts)" TAIL_M,
	    .fields = L("none", "none") DOM_M IPOK " result=none",
	    .mem = 'D' },

	/* mail_from_reject */
	{ .conf = "mail_from_reject=softfail", .dns = "psp", .v = REJECT,
	    .action = REJ(URL_M, SOFT),
	    .fields = L("pass", "softfail") DOM_M IPOK " result=softfail",
	    .mem = 'A' },
	{ .conf = "mail_from_reject=softfail", .dns = "pfp", .v = REJECT,
	    .action = REJ(URL_M, FAIL),
	    .fields = L("pass", "fail") DOM_M IPOK " result=fail",
	    .mem = 'A' },
	{ .conf = "mail_from_reject=softfail", .dns = "pnp", .v = PREPEND,
	    .action = RSPF "neutral ",
	    .fields = L("pass", "neutral") DOM_M IPOK " result=neutral",
	    .mem = 'D' },
	{ .conf = "mail_from_reject=not_pass", .dns = "pnp", .v = REJECT,
	    .action = REJ(URL_M, NEUT),
	    .fields = L("pass", "neutral") DOM_M IPOK " result=neutral",
	    .mem = 'A' },
	{ .conf = "mail_from_reject=not_pass", .dns = "psp", .v = REJECT,
	    .action = REJ(URL_M, SOFT),
	    .fields = L("pass", "softfail") DOM_M IPOK " result=softfail",
	    .mem = 'A' },
	{ .conf = "mail_from_reject=not_pass", .dns = "pPp", .v = REJECT,
	    .action = PERM(URL_M),
	    .fields = L("pass", "permerror") DOM_M PROB("bad record") IPOK
	    " result=permerror", .mem = 'A' },
	{ .conf = "mail_from_reject=not_pass", .dns = "p0p", .v = PREPEND,
	    .action = PASS_H,
	    .fields = L("pass", "none") DOM_H IPOK " result=pass",
	    .mem = 'D' },
	{ .conf = "mail_from_reject=not_pass", .dns = "pTp", .v = PREPEND,
	    .action = RSPF "temperror ",
	    .fields = L("pass", "temperror") DOM_M PROB("DNS timeout") IPOK
	    " result=temperror", .mem = 'D' },
	{ .conf = "mail_from_reject=not_pass", .dns = "ppp", .v = PREPEND,
	    .action = PASS_M,
	    .fields = L("pass", "pass") DOM_M IPOK " result=pass",
	    .mem = 'D' },
	{ .conf = "mail_from_reject=no", .dns = "pfp", .v = PREPEND,
	    .action = FAIL_M_HDR,
	    .fields = L("pass", "fail") DOM_M IPOK " result=fail",
	    .mem = 'D' },
	{ .conf = "mail_from_reject=no;permerror_reject=yes", .dns = "pPp",
	    .v = PREPEND, .action = RSPF "permerror ",
	    .fields = L("pass", "permerror") DOM_M PROB("bad record") IPOK
	    " result=permerror", .mem = 'D' },
	{ .conf = "mail_from_reject=no_check", .dns = "pfp", .v = PREPEND,
	    .action = PASS_H,
	    .fields = L("pass", "-") DOM_H IPOK " result=pass", .mem = 'D' },

	/* helo_reject */
	{ .conf = "helo_reject=softfail", .dns = "spp", .v = REJECT,
	    .action = REJ(URL_H, SOFT),
	    .fields = L("softfail", "pass") DOM_H IPOK " result=softfail",
	    .mem = 'A' },
	{ .conf = "helo_reject=softfail", .dns = "fpp", .v = REJECT,
	    .action = REJ(URL_H, FAIL),
	    .fields = L("fail", "pass") DOM_H IPOK " result=fail",
	    .mem = 'A' },
	{ .conf = "helo_reject=not_pass", .dns = "npp", .v = REJECT,
	    .action = REJ(URL_H, NEUT),
	    .fields = L("neutral", "pass") DOM_H IPOK " result=neutral",
	    .mem = 'A' },
	{ .conf = "helo_reject=not_pass", .dns = "Ppp", .v = REJECT,
	    .action = PERM(URL_H),
	    .fields = L("permerror", "pass") DOM_H PROB("bad record") IPOK
	    " result=permerror", .mem = 'A' },
	{ .conf = "helo_reject=not_pass", .dns = "0pp", .v = PREPEND,
	    .action = PASS_M,
	    .fields = L("none", "pass") DOM_M IPOK " result=pass",
	    .mem = 'D' },
	/* helo_reject = null: a HELO fail refused for <> only */
	{ .conf = "helo_reject=null", .dns = "fpp", .v = PREPEND,
	    .action = PASS_M,
	    .fields = L("fail", "pass") DOM_M IPOK " result=pass",
	    .mem = 'D' },
	{ .conf = "helo_reject=null", .dns = "ffp", .sender = "",
	    .v = REJECT, .action = REJ(URL_H, FAIL),
	    .fields = L("fail", "fail") DOM_H IPOK " result=fail",
	    .mem = 'A' },
	{ .conf = "helo_reject=null;temperror_defer=yes", .dns = "Tpp",
	    .v = DEFER, .action = TEMP(URL_H),
	    .fields = L("temperror", "pass") DOM_H PROB("DNS timeout") IPOK
	    " result=temperror", .mem = 'A' },
	{ .conf = "helo_reject=no", .dns = "fpp", .v = PREPEND,
	    .action = PASS_M,
	    .fields = L("fail", "pass") DOM_M IPOK " result=pass",
	    .mem = 'D' },
	{ .conf = "helo_reject=no", .dns = "f0p", .v = PREPEND,
	    .action = RSPF "fail (mx.example.org: domain of mail.example.com "
	    "does not designate 192.0.2.1 as permitted sender)" TAIL_H,
	    .fields = L("fail", "none") DOM_H IPOK " result=fail",
	    .mem = 'D' },
	{ .conf = "helo_reject=no_check", .dns = "fpp", .v = PREPEND,
	    .action = PASS_M,
	    .fields = L("-", "pass") DOM_M IPOK " result=pass", .mem = 'D' },
	{ .conf = "helo_reject=no_check", .dns = "f0p", .v = PREPEND,
	    .action = RSPF "none (mx.example.org: domain of a@example.com",
	    .fields = L("-", "none") DOM_M IPOK " result=none", .mem = 'D' },
	{ .conf = "helo_reject=no_check;mail_from_reject=no_check",
	    .dns = "ffp", .v = DUNNO, .action = "DUNNO",
	    .fields = L("-", "-") IPOK " result=unchecked", .mem = 'D' },

	/* permerror_reject, temperror_defer */
	{ .conf = "permerror_reject=yes", .dns = "pPp", .v = REJECT,
	    .action = PERM(URL_M),
	    .fields = L("pass", "permerror") DOM_M PROB("bad record") IPOK
	    " result=permerror", .mem = 'A' },
	{ .conf = "permerror_reject=yes", .dns = "Ppp", .v = REJECT,
	    .action = PERM(URL_H),
	    .fields = L("permerror", "pass") DOM_H PROB("bad record") IPOK
	    " result=permerror", .mem = 'A' },
	{ .conf = "permerror_reject=yes", .dns = "pTp", .v = PREPEND,
	    .action = RSPF "temperror ",
	    .fields = L("pass", "temperror") DOM_M PROB("DNS timeout") IPOK
	    " result=temperror", .mem = 'D' },
	{ .conf = "temperror_defer=yes", .dns = "pTp", .v = DEFER,
	    .action = TEMP(URL_M),
	    .fields = L("pass", "temperror") DOM_M PROB("DNS timeout") IPOK
	    " result=temperror", .mem = 'A' },
	{ .conf = "temperror_defer=yes", .dns = "Tpp", .v = DEFER,
	    .action = TEMP(URL_H),
	    .fields = L("temperror", "pass") DOM_H PROB("DNS timeout") IPOK
	    " result=temperror", .mem = 'A' },
	{ .conf = "temperror_defer=yes;mail_from_reject=no", .dns = "pTp",
	    .v = PREPEND, .action = RSPF "temperror ",
	    .fields = L("pass", "temperror") DOM_M PROB("DNS timeout") IPOK
	    " result=temperror", .mem = 'D' },
	{ .conf = "temperror_defer=yes", .dns = "pPp", .v = PREPEND,
	    .action = RSPF "permerror ",
	    .fields = L("pass", "permerror") DOM_M PROB("bad record") IPOK
	    " result=permerror", .mem = 'D' },

	/* reject_not_pass_domains: not_pass for the domains listed */
	{ .conf = "reject_not_pass_domains=example.com", .dns = "pnp",
	    .v = REJECT, .action = REJ(URL_M, NEUT),
	    .fields = L("pass", "neutral") DOM_M IPOK " result=neutral",
	    .mem = 'A' },
	{ .conf = "reject_not_pass_domains=example.com", .dns = "psp",
	    .v = REJECT, .action = REJ(URL_M, SOFT),
	    .fields = L("pass", "softfail") DOM_M IPOK " result=softfail",
	    .mem = 'A' },
	{ .conf = "reject_not_pass_domains=example.com", .dns = "pPp",
	    .v = REJECT, .action = PERM(URL_M),
	    .fields = L("pass", "permerror") DOM_M PROB("bad record") IPOK
	    " result=permerror", .mem = 'A' },
	{ .conf = "reject_not_pass_domains=example.com", .dns = "p0p",
	    .v = PREPEND, .action = PASS_H,
	    .fields = L("pass", "none") DOM_H IPOK " result=pass",
	    .mem = 'D' },
	{ .conf = "reject_not_pass_domains=other.example", .dns = "pnp",
	    .v = PREPEND, .action = RSPF "neutral ",
	    .fields = L("pass", "neutral") DOM_M IPOK " result=neutral",
	    .mem = 'D' },
	{ .conf = "reject_not_pass_domains=example.com", .dns = "pnp",
	    .sender = "a@sub.example.com", .v = REJECT,
	    .action = "550 5.7.23 Message rejected due to: " NEUT ". Please "
	    "see " WHY "s=mfrom;id=a@sub.example.com;ip=192.0.2.1;"
	    "r=mx.example.org",
	    .fields = L("pass", "neutral") " domain=sub.example.com" IPOK
	    " result=neutral", .mem = 'A' },
	{ .conf = "reject_not_pass_domains=example.com", .dns = "npp",
	    .v = REJECT, .action = REJ(URL_H, NEUT),
	    .fields = L("neutral", "pass") DOM_H IPOK " result=neutral",
	    .mem = 'A' },
	{ .conf = "reject_not_pass_domains=example.com;mail_from_reject=no",
	    .dns = "pnp", .v = PREPEND, .action = RSPF "neutral ",
	    .fields = L("pass", "neutral") DOM_M IPOK " result=neutral",
	    .mem = 'D' },

	/* test_only: decide and log, never refuse */
	{ .conf = "test_only=yes", .dns = "pfp", .v = PREPEND,
	    .action = FAIL_M_HDR,
	    .fields = L("pass", "fail") DOM_M IPOK WOULD_FAIL_M
	    " result=fail", .mem = 'D' },
	{ .conf = "test_only=yes;temperror_defer=yes", .dns = "pTp",
	    .v = PREPEND, .action = RSPF "temperror ",
	    .fields = L("pass", "temperror") DOM_M PROB("DNS timeout") IPOK
	    WOULD_TEMP_M " result=temperror", .mem = 'D' },
	{ .conf = "test_only=yes;ptr_check=reject", .dns = "ppP",
	    .v = PREPEND, .action = PASS_M,
	    .fields = L("pass", "pass") DOM_M " iprev=permerror" WOULD_PTR
	    " result=pass", .mem = 'D' },
	{ .conf = "test_only=yes", .dns = "pfp", .state = "END-OF-MESSAGE",
	    .v = DUNNO, .action = "DUNNO",
	    .fields = L("pass", "fail") DOM_M IPOK WOULD_FAIL_M
	    " result=fail", .mem = 'D' },
	{ .conf = "test_only=yes;header_type=none", .dns = "pfp", .v = DUNNO,
	    .action = "DUNNO",
	    .fields = L("pass", "fail") DOM_M IPOK WOULD_FAIL_M
	    " result=fail", .mem = 'D' },
	{ .conf = "test_only=yes", .dns = "fpp", .state = "EHLO",
	    .sender = "", .v = DUNNO, .action = "DUNNO",
	    .fields = L("fail", "-") DOM_H IPOK WOULD_FAIL_H " result=fail",
	    .mem = '-' },
	{ .conf = "test_only=yes;header_type=authentication-results",
	    .dns = "pfp", .v = PREPEND, .action = AR "spf=fail (domain of "
	    "a@example.com does not designate 192.0.2.1 as permitted sender) "
	    "smtp.mailfrom=example.com" AR_IPREV,
	    .fields = L("pass", "fail") DOM_M IPOK WOULD_FAIL_M
	    " result=fail", .mem = 'D' },

	/* header_type */
	{ .conf = "header_type=authentication-results", .dns = "ppp",
	    .v = PREPEND, .action = AR_PASS_M AR_IPREV,
	    .fields = L("pass", "pass") DOM_M IPOK " result=pass",
	    .mem = 'D' },
	{ .conf = "header_type=authentication-results;ptr_check=no",
	    .dns = "ppp", .v = PREPEND, .action = AR_PASS_M,
	    .fields = L("pass", "pass") DOM_M " result=pass", .mem = 'D' },
	{ .conf = "header_type=authentication-results", .dns = "p0p",
	    .v = PREPEND, .action = AR "spf=pass (domain of mail.example.com "
	    "designates 192.0.2.1 as permitted sender) "
	    "smtp.helo=mail.example.com" AR_IPREV,
	    .fields = L("pass", "none") DOM_H IPOK " result=pass",
	    .mem = 'D' },
	{ .conf = "header_type=authentication-results", .dns = "pPp",
	    .v = PREPEND, .action = AR "spf=permerror (permanent error in "
	    "processing domain of a@example.com: bad record) "
	    "smtp.mailfrom=example.com" AR_IPREV,
	    .fields = L("pass", "permerror") DOM_M PROB("bad record") IPOK
	    " result=permerror", .mem = 'D' },
	{ .conf = "header_type=authentication-results", .dns = "ppf",
	    .v = PREPEND, .action = AR_PASS_M "; iprev=fail "
	    "policy.iprev=192.0.2.1 (other.example.net)",
	    .fields = L("pass", "pass") DOM_M IPFAIL " result=pass",
	    .mem = 'D' },
	/* iprev alone: a header without spf= */
	{ .conf = "header_type=authentication-results;helo_reject=no_check;"
	    "mail_from_reject=no_check", .dns = "ppf", .v = PREPEND,
	    .action = AR "iprev=fail policy.iprev=192.0.2.1 "
	    "(other.example.net)",
	    .fields = L("-", "-") IPFAIL " result=unchecked", .mem = 'D' },
	{ .conf = "header_type=authentication-results;helo_reject=no_check;"
	    "mail_from_reject=no_check;ptr_check=no", .dns = "ppf",
	    .v = DUNNO, .action = "DUNNO",
	    .fields = L("-", "-") " result=unchecked", .mem = 'D' },
	{ .conf = "header_type=authentication-results;helo_reject=no_check;"
	    "mail_from_reject=no_check", .dns = "ppf",
	    .state = "END-OF-MESSAGE", .v = DUNNO, .action = "DUNNO",
	    .fields = L("-", "-") IPFAIL " result=unchecked", .mem = 'D' },
	{ .conf = "header_type=authentication-results", .dns = "pfp",
	    .v = REJECT, .action = REJ(URL_M, FAIL),
	    .fields = L("pass", "fail") DOM_M IPOK " result=fail",
	    .mem = 'A' },
	{ .conf = "header_type=authentication-results;ptr_check=reject",
	    .dns = "ppp", .v = PREPEND, .action = AR_PASS_M AR_IPREV,
	    .fields = L("pass", "pass") DOM_M IPOK " result=pass",
	    .mem = 'D' },
	{ .conf = "header_type=none", .dns = "ppp", .v = DUNNO,
	    .action = "DUNNO",
	    .fields = L("pass", "pass") DOM_M IPOK " result=pass",
	    .mem = 'D' },
	{ .conf = "header_type=none", .dns = "pfp", .v = REJECT,
	    .action = REJ(URL_M, FAIL),
	    .fields = L("pass", "fail") DOM_M IPOK " result=fail",
	    .mem = 'A' },
	{ .conf = "header_type=received-spf", .dns = "ppf", .v = PREPEND,
	    .action = PASS_M,
	    .fields = L("pass", "pass") DOM_M IPFAIL " result=pass",
	    .mem = 'D' },

	/* ptr_check and the reverse DNS options */
	{ .conf = "ptr_check=no", .dns = "ppf", .v = PREPEND,
	    .action = PASS_M,
	    .fields = L("pass", "pass") DOM_M " result=pass", .mem = 'D' },
	{ .conf = "ptr_check=header", .dns = "ppP", .v = PREPEND,
	    .action = PASS_M,
	    .fields = L("pass", "pass") DOM_M " iprev=permerror result=pass",
	    .mem = 'D' },
	{ .conf = "ptr_check=reject", .dns = "ppP", .v = REJECT,
	    .action = PTR_PERM,
	    .fields = L("pass", "pass") DOM_M " iprev=permerror result=pass",
	    .mem = 'A' },
	{ .conf = "ptr_check=reject", .dns = "ppf", .v = REJECT,
	    .action = PTR_FAIL,
	    .fields = L("pass", "pass") DOM_M IPFAIL " result=pass",
	    .mem = 'A' },
	{ .conf = "ptr_check=reject", .dns = "ppT", .v = DEFER,
	    .action = PTR_TEMP,
	    .fields = L("pass", "pass") DOM_M " iprev=temperror result=pass",
	    .mem = 'A' },
	{ .conf = "ptr_check=reject;ptr_temperror_defer=no", .dns = "ppT",
	    .v = PREPEND, .action = PASS_M,
	    .fields = L("pass", "pass") DOM_M " iprev=temperror result=pass",
	    .mem = 'D' },
	{ .conf = "ptr_check=reject;ptr_reject_code=450", .dns = "ppf",
	    .v = DEFER, .action = "450 4.7.25 Client host rejected: your "
	    "reverse hostname other.example.net does not resolve to "
	    "[192.0.2.1]",
	    .fields = L("pass", "pass") DOM_M IPFAIL " result=pass",
	    .mem = 'A' },
	{ .conf = "ptr_check=reject;ptr_reject_code=450", .dns = "ppP",
	    .v = DEFER, .action = "450 4.7.25 Client host rejected: cannot "
	    "find your reverse hostname, [192.0.2.1]",
	    .fields = L("pass", "pass") DOM_M " iprev=permerror result=pass",
	    .mem = 'A' },
	{ .conf = "ptr_check=reject", .dns = "ppp", .v = PREPEND,
	    .action = PASS_M,
	    .fields = L("pass", "pass") DOM_M IPOK " result=pass",
	    .mem = 'D' },
	/* a bad reverse DNS comes before an SPF fail */
	{ .conf = "ptr_check=reject", .dns = "pfP", .v = REJECT,
	    .action = PTR_PERM,
	    .fields = L("pass", "fail") DOM_M " iprev=permerror result=fail",
	    .mem = 'A' },
	{ .conf = "ptr_check=reject", .dns = "ppf", .state = "CONNECT",
	    .sender = "", .helo = "", .v = REJECT, .action = PTR_FAIL,
	    .fields = L("-", "-") IPFAIL " result=unchecked", .mem = '-' },
	{ .conf = "ptr_check=reject;ptr_whitelist=192.0.2.0/24",
	    .dns = "ppf", .v = PREPEND, .action = PASS_M,
	    .fields = L("pass", "pass") DOM_M " result=pass", .mem = 'D' },
	{ .conf = "ptr_domain_whitelist=example.com", .dns = "pfp",
	    .v = DUNNO, .action = "DUNNO",
	    .fields = "result=skipped(ptr_domain_whitelist)", .mem = '-' },
	{ .conf = "ptr_domain_whitelist=example.com;ptr_check=no",
	    .dns = "pfp", .v = DUNNO, .action = "DUNNO",
	    .fields = "result=skipped(ptr_domain_whitelist)", .mem = '-' },
	{ .conf = "ptr_domain_whitelist=example.org", .dns = "pfp",
	    .v = REJECT, .action = REJ(URL_M, FAIL),
	    .fields = L("pass", "fail") DOM_M IPOK " result=fail",
	    .mem = 'A' },
	{ .conf = "ptr_domain_whitelist=example.net", .dns = "pff",
	    .v = REJECT, .action = REJ(URL_M, FAIL),
	    .fields = L("pass", "fail") DOM_M IPFAIL " result=fail",
	    .mem = 'A' },

	/* the SMTP stages (see enum decision_stage) */
	{ .dns = "ppp", .state = "END-OF-MESSAGE", .v = DUNNO,
	    .action = "DUNNO",
	    .fields = L("pass", "pass") DOM_M IPOK " result=pass",
	    .mem = 'D' },
	{ .dns = "pfp", .state = "END-OF-MESSAGE", .v = REJECT,
	    .action = REJ(URL_M, FAIL),
	    .fields = L("pass", "fail") DOM_M IPOK " result=fail",
	    .mem = 'A' },
	{ .dns = "ppp", .state = "DATA", .v = PREPEND, .action = PASS_M,
	    .fields = L("pass", "pass") DOM_M IPOK " result=pass",
	    .mem = 'D' },
	{ .dns = "ppp", .state = "MAIL", .v = PREPEND, .action = PASS_M,
	    .fields = L("pass", "pass") DOM_M IPOK " result=pass",
	    .mem = 'D' },
	{ .dns = "pfp", .state = "", .v = REJECT, .action = REJ(URL_M, FAIL),
	    .fields = L("pass", "fail") DOM_M IPOK " result=fail",
	    .mem = 'A' },
	{ .dns = "ppp", .state = "rcpt", .v = PREPEND, .action = PASS_M,
	    .fields = L("pass", "pass") DOM_M IPOK " result=pass",
	    .mem = 'D' },
	{ .dns = "ppp", .state = "EHLO", .sender = "", .v = DUNNO,
	    .action = "DUNNO",
	    .fields = L("pass", "-") DOM_H IPOK " result=pass", .mem = '-' },
	{ .dns = "fpp", .state = "EHLO", .sender = "", .v = REJECT,
	    .action = REJ(URL_H, FAIL),
	    .fields = L("fail", "-") DOM_H IPOK " result=fail", .mem = '-' },
	{ .conf = "helo_reject=softfail", .dns = "spp", .state = "HELO",
	    .sender = "", .v = REJECT, .action = REJ(URL_H, SOFT),
	    .fields = L("softfail", "-") DOM_H IPOK " result=softfail",
	    .mem = '-' },
	{ .dns = "pfp", .state = "VRFY", .v = DUNNO, .action = "DUNNO",
	    .fields = L("pass", "-") DOM_H IPOK " result=pass", .mem = '-' },
	{ .dns = "pfp", .state = "ETRN", .v = DUNNO, .action = "DUNNO",
	    .fields = L("pass", "-") DOM_H IPOK " result=pass", .mem = '-' },
	{ .dns = "pfp", .state = "NEWSTATE", .v = DUNNO, .action = "DUNNO",
	    .fields = L("pass", "-") DOM_H IPOK " result=pass", .mem = '-' },
	{ .dns = "ppp", .state = "CONNECT", .sender = "", .helo = "",
	    .v = DUNNO, .action = "DUNNO",
	    .fields = L("-", "-") IPOK " result=unchecked", .mem = '-' },
	{ .conf = "ptr_check=reject", .dns = "ppT", .state = "EHLO",
	    .sender = "", .v = DEFER, .action = PTR_TEMP,
	    .fields = L("pass", "-") DOM_H " iprev=temperror result=pass",
	    .mem = '-' },
	{ .conf = "header_type=authentication-results", .dns = "ppf",
	    .state = "CONNECT", .sender = "", .helo = "", .v = DUNNO,
	    .action = "DUNNO",
	    .fields = L("-", "-") IPFAIL " result=unchecked", .mem = '-' },
	/* an empty sender before MAIL is not <>: helo_reject = null waits */
	{ .conf = "helo_reject=null", .dns = "fpp", .state = "EHLO",
	    .sender = "", .v = DUNNO, .action = "DUNNO",
	    .fields = L("fail", "-") DOM_H IPOK " result=fail", .mem = '-' },
	{ .conf = "temperror_defer=yes", .dns = "Tpp", .state = "EHLO",
	    .sender = "", .v = DEFER, .action = TEMP(URL_H),
	    .fields = L("temperror", "-") DOM_H PROB("DNS timeout") IPOK
	    " result=temperror", .mem = '-' },

	/* the null sender: MAIL FROM is postmaster@HELO (RFC 7208 2.4) */
	{ .dns = "ppp", .sender = "", .v = PREPEND, .action = RSPF "pass "
	    "(mx.example.org: domain of mail.example.com designates 192.0.2.1 "
	    "as permitted sender) client-ip=192.0.2.1; envelope-from=\"<>\"; "
	    "helo=mail.example.com; identity=helo; receiver=mx.example.org;",
	    .fields = L("pass", "pass") DOM_H IPOK " result=pass",
	    .mem = 'D' },
	{ .dns = "pfp", .sender = "", .v = REJECT, .action = REJ(URL_H, FAIL),
	    .fields = L("pass", "fail") DOM_H IPOK " result=fail",
	    .mem = 'A' },
	{ .conf = "helo_reject=no", .dns = "ffp", .sender = "", .v = REJECT,
	    .action = REJ(URL_H, FAIL),
	    .fields = L("fail", "fail") DOM_H IPOK " result=fail",
	    .mem = 'A' },
	{ .conf = "helo_reject=no_check", .dns = "ppp", .sender = "",
	    .v = PREPEND, .action = RSPF "pass (mx.example.org: domain of "
	    "mail.example.com designates 192.0.2.1 as permitted sender) "
	    "client-ip=192.0.2.1; envelope-from=\"<>\"; "
	    "helo=mail.example.com; identity=mailfrom; "
	    "receiver=mx.example.org;",
	    .fields = L("-", "pass") DOM_H IPOK " result=pass", .mem = 'D' },
	{ .conf = "mail_from_reject=no_check", .dns = "pfp", .sender = "",
	    .v = PREPEND, .action = RSPF "pass (mx.example.org: domain of "
	    "mail.example.com designates",
	    .fields = L("pass", "-") DOM_H IPOK " result=pass", .mem = 'D' },
	/* a HELO that is no domain: "none" without a check, no <> check */
	{ .dns = "ppp", .sender = "", .helo = "localhost", .v = PREPEND,
	    .action = RSPF "none (mx.example.org: domain of localhost does "
	    "not designate permitted sender hosts) client-ip=192.0.2.1; "
	    "envelope-from=\"<>\"; helo=localhost; identity=helo; "
	    "receiver=mx.example.org;",
	    .fields = L("none", "-") IPOK " result=none", .mem = 'D' },
	{ .dns = "ppp", .sender = "", .helo = "[192.0.2.1]", .v = PREPEND,
	    .action = RSPF "none (mx.example.org: domain of [192.0.2.1] does "
	    "not designate permitted sender hosts) client-ip=192.0.2.1; "
	    "envelope-from=\"<>\"; helo=\"[192.0.2.1]\"; identity=helo;",
	    .fields = L("none", "-") IPOK " result=none", .mem = 'D' },
	{ .dns = "ppp", .sender = "", .helo = "", .v = DUNNO,
	    .action = "DUNNO",
	    .fields = L("-", "-") IPOK " result=unchecked", .mem = 'D' },
	{ .dns = "pfp", .helo = "localhost", .v = REJECT,
	    .action = "550 5.7.23 Message rejected due to: " FAIL ". Please "
	    "see " WHY "s=mfrom;id=a@example.com;ip=192.0.2.1;"
	    "r=mx.example.org",
	    .fields = L("none", "fail") DOM_M IPOK " result=fail",
	    .mem = 'A' },
	{ .conf = "helo_reject=no_check", .dns = "ppp", .sender = "",
	    .helo = "localhost", .v = DUNNO, .action = "DUNNO",
	    .fields = L("-", "-") IPOK " result=unchecked", .mem = 'D' },
	/* one final dot is not part of the name */
	{ .dns = "ppp", .sender = "", .helo = "mail.example.com.",
	    .v = PREPEND, .action = RSPF "pass (mx.example.org: domain of "
	    "mail.example.com. designates 192.0.2.1 as permitted sender) "
	    "client-ip=192.0.2.1; envelope-from=\"<>\"; "
	    "helo=\"mail.example.com.\"; identity=helo;",
	    .fields = L("pass", "pass") DOM_H IPOK " result=pass",
	    .mem = 'D' },

	/* the local checks, and the whitelists that need DNS */
	{ .dns = "fff", .client = "127.0.0.1", .v = DUNNO, .action = "DUNNO",
	    .fields = "result=skipped(skip_addresses)", .mem = '-' },
	{ .dns = "fff", .client = "::1", .v = DUNNO, .action = "DUNNO",
	    .fields = "result=skipped(skip_addresses)", .mem = '-' },
	{ .conf = "skip_addresses=", .dns = "pfp", .client = "127.0.0.1",
	    .v = REJECT, .action = "550 5.7.23 Message rejected due to: " FAIL
	    ". Please see " WHY "s=mfrom;id=a@example.com;ip=127.0.0.1;"
	    "r=mx.example.org",
	    .fields = L("pass", "fail") DOM_M IPOK " result=fail",
	    .mem = 'A' },
	{ .conf = "whitelist=192.0.2.0/24", .dns = "fff", .v = DUNNO,
	    .action = "DUNNO", .fields = "result=skipped(whitelist)",
	    .mem = '-' },
	{ .conf = "whitelist=198.51.100.0/24", .dns = "pfp", .v = REJECT,
	    .action = REJ(URL_M, FAIL),
	    .fields = L("pass", "fail") DOM_M IPOK " result=fail",
	    .mem = 'A' },
	{ .dns = "fff", .sasl = "alice", .v = DUNNO, .action = "DUNNO",
	    .fields = "result=skipped(authenticated)", .mem = '-' },
	{ .conf = "skip_authenticated=no", .dns = "pfp", .sasl = "alice",
	    .v = REJECT, .action = REJ(URL_M, FAIL),
	    .fields = L("pass", "fail") DOM_M IPOK " result=fail",
	    .mem = 'A' },
	{ .conf = "domain_whitelist=example.org", .dns = "fff",
	    .wl = "domain_whitelist", .v = DUNNO, .action = "DUNNO",
	    .fields = "result=skipped(domain_whitelist)", .mem = '-' },
	{ .conf = "helo_whitelist=mail.example.com", .dns = "fff",
	    .wl = "helo_whitelist", .v = DUNNO, .action = "DUNNO",
	    .fields = "result=skipped(helo_whitelist)", .mem = '-' },
	{ .dns = "pfp", .client = "2001:db8::1", .v = REJECT,
	    .action = "550 5.7.23 Message rejected due to: " FAIL ". Please "
	    "see " WHY "s=mfrom;id=a@example.com;ip=2001:db8::1;"
	    "r=mx.example.org",
	    .fields = L("pass", "fail") DOM_M IPOK " result=fail",
	    .mem = 'A' },

	/* the text: hide_receiver, authserv_id, reason_message */
	{ .conf = "hide_receiver=yes", .dns = "ppp", .v = PREPEND,
	    .action = RSPF "pass (domain of a@example.com designates "
	    "192.0.2.1 as permitted sender) client-ip=192.0.2.1; "
	    "envelope-from=\"a@example.com\"; helo=mail.example.com; "
	    "identity=mailfrom;",
	    .fields = L("pass", "pass") DOM_M IPOK " result=pass",
	    .mem = 'D' },
	{ .conf = "hide_receiver=yes", .dns = "pfp", .v = REJECT,
	    .action = "550 5.7.23 Message rejected due to: " FAIL ". Please "
	    "see " WHY "s=mfrom;id=a@example.com;ip=192.0.2.1",
	    .fields = L("pass", "fail") DOM_M IPOK " result=fail",
	    .mem = 'A' },
	{ .conf = "authserv_id=auth.example.org", .dns = "ppp", .v = PREPEND,
	    .action = RSPF "pass (auth.example.org: domain of a@example.com "
	    "designates 192.0.2.1 as permitted sender) client-ip=192.0.2.1; "
	    "envelope-from=\"a@example.com\"; helo=mail.example.com; "
	    "identity=mailfrom; receiver=auth.example.org;",
	    .fields = L("pass", "pass") DOM_M IPOK " result=pass",
	    .mem = 'D' },
	{ .conf = "authserv_id=auth.example.org;"
	    "header_type=authentication-results", .dns = "ppp", .v = PREPEND,
	    .action = "PREPEND Authentication-Results: auth.example.org; "
	    "spf=pass (domain of a@example.com designates 192.0.2.1 as "
	    "permitted sender) smtp.mailfrom=example.com" AR_IPREV,
	    .fields = L("pass", "pass") DOM_M IPOK " result=pass",
	    .mem = 'D' },
	{ .conf = "authserv_id=auth.example.org", .dns = "pfp", .v = REJECT,
	    .action = "550 5.7.23 Message rejected due to: " FAIL ". Please "
	    "see " WHY "s=mfrom;id=a@example.com;ip=192.0.2.1;"
	    "r=auth.example.org",
	    .fields = L("pass", "fail") DOM_M IPOK " result=fail",
	    .mem = 'A' },
	{ .conf = REASON, .dns = "pfp", .v = REJECT,
	    .action = "550 5.7.23 SPF fail for mailfrom example.com: rejected",
	    .fields = L("pass", "fail") DOM_M IPOK " result=fail",
	    .mem = 'A' },
	{ .conf = REASON, .dns = "fpp", .v = REJECT,
	    .action = "550 5.7.23 SPF fail for helo mail.example.com: "
	    "rejected",
	    .fields = L("fail", "pass") DOM_H IPOK " result=fail",
	    .mem = 'A' },
	{ .conf = REASON ";temperror_defer=yes", .dns = "pTp", .v = DEFER,
	    .action = "DEFER_IF_PERMIT 4.7.24 SPF temperror for mailfrom "
	    "example.com: deferred",
	    .fields = L("pass", "temperror") DOM_M PROB("DNS timeout") IPOK
	    " result=temperror", .mem = 'A' },
	{ .conf = REASON ";permerror_reject=yes", .dns = "pPp", .v = REJECT,
	    .action = "550 5.7.24 SPF permerror for mailfrom example.com: "
	    "rejected",
	    .fields = L("pass", "permerror") DOM_M PROB("bad record") IPOK
	    " result=permerror", .mem = 'A' },
	/*
	 * pass restriction classes: on an SPF pass, the class instead of the
	 * header; any refusal wins (also one test_only holds back); every
	 * recipient of the message gets the class
	 */
#define MFC "mail_from_pass_restriction=spf_pass"
#define HC "helo_pass_restriction=helo_pass"
	{ .conf = MFC, .dns = "ppp", .v = CLASS, .action = "spf_pass",
	    .fields = L("pass", "pass") DOM_M IPOK " result=pass",
	    .mem = 'A' },
	{ .conf = MFC ";" HC, .dns = "ppp", .v = CLASS, .action = "spf_pass",
	    .fields = L("pass", "pass") DOM_M IPOK " result=pass",
	    .mem = 'A' },
	{ .conf = MFC, .dns = "pfp", .v = REJECT, .action = REJ(URL_M, FAIL),
	    .fields = L("pass", "fail") DOM_M IPOK " result=fail",
	    .mem = 'A' },
	{ .conf = MFC, .dns = "psp", .v = PREPEND, .action = RSPF "softfail ",
	    .fields = L("pass", "softfail") DOM_M IPOK " result=softfail",
	    .mem = 'D' },
	/* the HELO's class when MAIL FROM does not fail or softfail */
	{ .conf = HC, .dns = "pnp", .v = CLASS, .action = "helo_pass",
	    .fields = L("pass", "neutral") DOM_H IPOK " result=pass",
	    .mem = 'A' },
	{ .conf = HC, .dns = "psp", .v = PREPEND, .action = RSPF "softfail ",
	    .fields = L("pass", "softfail") DOM_M IPOK " result=softfail",
	    .mem = 'D' },
	{ .conf = HC ";mail_from_reject=no", .dns = "pfp", .v = PREPEND,
	    .action = FAIL_M_HDR,
	    .fields = L("pass", "fail") DOM_M IPOK " result=fail",
	    .mem = 'D' },
	{ .conf = HC ";mail_from_reject=no_check", .dns = "pfp", .v = CLASS,
	    .action = "helo_pass",
	    .fields = L("pass", "-") DOM_H IPOK " result=pass", .mem = 'A' },
	{ .conf = MFC ";" HC, .dns = "p0p", .v = CLASS, .action = "helo_pass",
	    .fields = L("pass", "none") DOM_H IPOK " result=pass",
	    .mem = 'A' },
	{ .conf = HC, .dns = "ppp", .v = CLASS, .action = "helo_pass",
	    .fields = L("pass", "pass") DOM_H IPOK " result=pass",
	    .mem = 'A' },
	/* a HELO pass does not let a refused MAIL FROM through */
	{ .conf = HC, .dns = "pfp", .v = REJECT, .action = REJ(URL_M, FAIL),
	    .fields = L("pass", "fail") DOM_M IPOK " result=fail",
	    .mem = 'A' },
	{ .conf = MFC, .dns = "fpp", .v = REJECT, .action = REJ(URL_H, FAIL),
	    .fields = L("fail", "pass") DOM_H IPOK " result=fail",
	    .mem = 'A' },
	{ .conf = MFC ";test_only=yes", .dns = "pfp", .v = PREPEND,
	    .action = FAIL_M_HDR,
	    .fields = L("pass", "fail") DOM_M IPOK WOULD_FAIL_M
	    " result=fail", .mem = 'D' },
	{ .conf = MFC ";test_only=yes", .dns = "ppp", .v = CLASS,
	    .action = "spf_pass",
	    .fields = L("pass", "pass") DOM_M IPOK " result=pass",
	    .mem = 'A' },
	{ .conf = MFC ";ptr_check=reject", .dns = "ppP", .v = REJECT,
	    .action = PTR_PERM,
	    .fields = L("pass", "pass") DOM_M " iprev=permerror result=pass",
	    .mem = 'A' },
	{ .conf = MFC ";ptr_check=reject;ptr_temperror_defer=no",
	    .dns = "ppT", .v = CLASS, .action = "spf_pass",
	    .fields = L("pass", "pass") DOM_M " iprev=temperror result=pass",
	    .mem = 'A' },
	{ .conf = MFC ";temperror_defer=yes", .dns = "Tpp", .v = DEFER,
	    .action = TEMP(URL_H),
	    .fields = L("temperror", "pass") DOM_H PROB("DNS timeout") IPOK
	    " result=temperror", .mem = 'A' },
	{ .conf = MFC ";header_type=none", .dns = "ppp", .v = CLASS,
	    .action = "spf_pass",
	    .fields = L("pass", "pass") DOM_M IPOK " result=pass",
	    .mem = 'A' },
	{ .conf = MFC ";whitelist=192.0.2.0/24", .dns = "ppp", .v = DUNNO,
	    .action = "DUNNO", .fields = "result=skipped(whitelist)",
	    .mem = '-' },
	{ .conf = MFC ";domain_whitelist=example.org", .dns = "ppp",
	    .wl = "domain_whitelist", .v = DUNNO, .action = "DUNNO",
	    .fields = "result=skipped(domain_whitelist)", .mem = '-' },
	/* a class is an action at any stage; no header is lost there */
	{ .conf = MFC, .dns = "ppp", .state = "END-OF-MESSAGE", .v = CLASS,
	    .action = "spf_pass",
	    .fields = L("pass", "pass") DOM_M IPOK " result=pass",
	    .mem = 'A' },
	{ .conf = HC, .dns = "ppp", .state = "EHLO", .sender = "",
	    .v = CLASS, .action = "helo_pass",
	    .fields = L("pass", "-") DOM_H IPOK " result=pass", .mem = '-' },
	/* <>: MAIL FROM is postmaster@HELO, and its class applies */
	{ .conf = MFC, .dns = "ppp", .sender = "", .v = CLASS,
	    .action = "spf_pass",
	    .fields = L("pass", "pass") DOM_H IPOK " result=pass",
	    .mem = 'A' },
	{ .conf = MFC ";mail_from_reject=no_check", .dns = "ppp",
	    .v = PREPEND, .action = PASS_H,
	    .fields = L("pass", "-") DOM_H IPOK " result=pass", .mem = 'D' },
	{ .conf = MFC ";mail_from_reject=no", .dns = "pfp", .v = PREPEND,
	    .action = FAIL_M_HDR,
	    .fields = L("pass", "fail") DOM_M IPOK " result=fail",
	    .mem = 'D' },

	/*
	 * reject_only_no_mail: only a fail of "v=spf1 -all" (z) is refused;
	 * every other SPF refusal becomes the header; a temperror's defer
	 * and the reverse DNS refusal stay
	 */
#define NM "reject_only_no_mail=yes"
	{ .conf = NM, .dns = "pzp", .v = REJECT, .action = REJ(URL_M, FAIL),
	    .fields = L("pass", "fail") DOM_M IPOK " result=fail",
	    .mem = 'A' },
	{ .conf = NM, .dns = "pfp", .v = PREPEND, .action = FAIL_M_HDR,
	    .fields = L("pass", "fail") DOM_M IPOK " result=fail",
	    .mem = 'D' },
	{ .conf = NM, .dns = "pxp", .v = PREPEND, .action = FAIL_M_HDR,
	    .fields = L("pass", "fail") DOM_M IPOK " result=fail",
	    .mem = 'D' },
	{ .conf = NM, .dns = "zpp", .v = REJECT, .action = REJ(URL_H, FAIL),
	    .fields = L("fail", "pass") DOM_H IPOK " result=fail",
	    .mem = 'A' },
	{ .conf = NM, .dns = "fpp", .v = PREPEND, .action = PASS_M,
	    .fields = L("fail", "pass") DOM_M IPOK " result=pass",
	    .mem = 'D' },
	{ .conf = NM, .dns = "fzp", .v = REJECT, .action = REJ(URL_M, FAIL),
	    .fields = L("fail", "fail") DOM_M IPOK " result=fail",
	    .mem = 'A' },
	{ .conf = NM ";mail_from_reject=softfail", .dns = "psp",
	    .v = PREPEND, .action = RSPF "softfail ",
	    .fields = L("pass", "softfail") DOM_M IPOK " result=softfail",
	    .mem = 'D' },
	{ .conf = NM ";permerror_reject=yes", .dns = "pPp", .v = PREPEND,
	    .action = RSPF "permerror ",
	    .fields = L("pass", "permerror") DOM_M PROB("bad record") IPOK
	    " result=permerror", .mem = 'D' },
	{ .conf = NM ";temperror_defer=yes", .dns = "pTp", .v = DEFER,
	    .action = TEMP(URL_M),
	    .fields = L("pass", "temperror") DOM_M PROB("DNS timeout") IPOK
	    " result=temperror", .mem = 'A' },
	{ .conf = NM ";ptr_check=reject", .dns = "pfP", .v = REJECT,
	    .action = PTR_PERM,
	    .fields = L("pass", "fail") DOM_M " iprev=permerror result=fail",
	    .mem = 'A' },
	{ .conf = NM ";test_only=yes", .dns = "pzp", .v = PREPEND,
	    .action = FAIL_M_HDR,
	    .fields = L("pass", "fail") DOM_M IPOK WOULD_FAIL_M
	    " result=fail", .mem = 'D' },
	{ .conf = NM, .dns = "pfp", .state = "END-OF-MESSAGE", .v = DUNNO,
	    .action = "DUNNO",
	    .fields = L("pass", "fail") DOM_M IPOK " result=fail",
	    .mem = 'D' },
	{ .dns = "pzp", .v = REJECT, .action = REJ(URL_M, FAIL),
	    .fields = L("pass", "fail") DOM_M IPOK " result=fail",
	    .mem = 'A' },
	/* a fail made a header does not open the way to a pass class */
	{ .conf = NM ";" HC, .dns = "pfp", .v = PREPEND, .action = FAIL_M_HDR,
	    .fields = L("pass", "fail") DOM_M IPOK " result=fail",
	    .mem = 'D' },

	/*
	 * trust_recipient_mx (default yes): an SPF refusal lifted for an MX
	 * host of the recipient's domain; the header says so (policy.c
	 * remembers a refusal for the recipients of the same domain only)
	 */
	{ .dns = "pfp", .trust = "mx", .v = PREPEND, .action = MX_M_HDR,
	    .fields = L("pass", "fail") DOM_M IPOK T_MX " result=fail",
	    .mem = 'D' },
	{ .dns = "pfp", .v = REJECT, .action = REJ(URL_M, FAIL),
	    .fields = L("pass", "fail") DOM_M IPOK " result=fail",
	    .mem = 'A' },
	{ .conf = "trust_recipient_mx=no", .dns = "pfp", .trust = "mx",
	    .v = REJECT, .action = REJ(URL_M, FAIL),
	    .fields = L("pass", "fail") DOM_M IPOK " result=fail",
	    .mem = 'A' },
	/* no recipient, <>, no domain: nothing to look up */
	{ .dns = "pfp", .trust = "mx", .rcpt = "", .v = REJECT,
	    .action = REJ(URL_M, FAIL),
	    .fields = L("pass", "fail") DOM_M IPOK " result=fail",
	    .mem = 'A' },
	{ .dns = "pfp", .trust = "mx", .rcpt = "<>", .v = REJECT,
	    .action = REJ(URL_M, FAIL),
	    .fields = L("pass", "fail") DOM_M IPOK " result=fail",
	    .mem = 'A' },
	{ .dns = "pfp", .trust = "mx", .rcpt = "postmaster", .v = REJECT,
	    .action = REJ(URL_M, FAIL),
	    .fields = L("pass", "fail") DOM_M IPOK " result=fail",
	    .mem = 'A' },
	/* the HELO's fail, a softfail refused, a permerror refused */
	{ .dns = "fpp", .trust = "mx", .v = PREPEND, .action = RSPF "fail "
	    "(mx.example.org: domain of mail.example.com does not designate "
	    "192.0.2.1 as permitted sender; accepted: client is an MX host "
	    "of example.net)" TAIL_H,
	    .fields = L("fail", "pass") DOM_H IPOK T_MX " result=fail",
	    .mem = 'D' },
	{ .conf = "mail_from_reject=softfail", .dns = "psp", .trust = "mx",
	    .v = PREPEND, .action = RSPF "softfail (mx.example.org: "
	    "transitioning domain of a@example.com does not designate "
	    "192.0.2.1 as permitted sender; accepted: client is an MX host "
	    "of example.net)" TAIL_M,
	    .fields = L("pass", "softfail") DOM_M IPOK T_MX
	    " result=softfail", .mem = 'D' },
	{ .conf = "permerror_reject=yes", .dns = "pPp", .trust = "mx",
	    .v = PREPEND, .action = RSPF "permerror (mx.example.org: "
	    "permanent error in processing domain of a@example.com: bad "
	    "record; accepted: client is an MX host of example.net)",
	    .fields = L("pass", "permerror") DOM_M PROB("bad record") IPOK
	    T_MX " result=permerror", .mem = 'D' },
	/* not a temperror's defer, not ptr_check's refusal */
	{ .conf = "temperror_defer=yes", .dns = "pTp", .trust = "mx",
	    .v = DEFER, .action = TEMP(URL_M),
	    .fields = L("pass", "temperror") DOM_M PROB("DNS timeout") IPOK
	    " result=temperror", .mem = 'A' },
	{ .conf = "ptr_check=reject", .dns = "pfP", .trust = "mx",
	    .v = REJECT, .action = PTR_PERM,
	    .fields = L("pass", "fail") DOM_M " iprev=permerror result=fail",
	    .mem = 'A' },
	/* test_only: nothing would be refused; END-OF-MESSAGE: no header */
	{ .conf = "test_only=yes", .dns = "pfp", .trust = "mx", .v = PREPEND,
	    .action = MX_M_HDR,
	    .fields = L("pass", "fail") DOM_M IPOK T_MX " result=fail",
	    .mem = 'D' },
	{ .dns = "pfp", .trust = "mx", .state = "END-OF-MESSAGE",
	    .v = DUNNO, .action = "DUNNO",
	    .fields = L("pass", "fail") DOM_M IPOK T_MX " result=fail",
	    .mem = 'D' },
	/* no pass class for a lifted refusal: the header with its note */
	{ .conf = "mail_from_pass_restriction=spf_pass", .dns = "fpp",
	    .trust = "mx", .v = PREPEND, .action = RSPF "fail ",
	    .fields = L("fail", "pass") DOM_H IPOK T_MX " result=fail",
	    .mem = 'D' },

	/* dnswl_zones (RFC 8904) */
	{ .conf = WL_ZONE, .dns = "pfp", .trust = "dnswl", .rcpt = "",
	    .v = PREPEND, .action = RSPF "fail (mx.example.org: domain of "
	    "a@example.com does not designate 192.0.2.1 as permitted sender; "
	    "accepted: list.dnswl.test lists the client as 127.0.10.2)"
	    TAIL_M,
	    .fields = L("pass", "fail") DOM_M IPOK T_WL " result=fail",
	    .mem = 'D' },
	{ .conf = WL_ZONE ";header_type=authentication-results",
	    .dns = "pfp", .trust = "dnswl", .v = PREPEND,
	    .action = AR "spf=fail (domain of a@example.com does not "
	    "designate 192.0.2.1 as permitted sender; accepted: "
	    "list.dnswl.test lists the client as 127.0.10.2) "
	    "smtp.mailfrom=example.com; dnswl=pass dns.zone=list.dnswl.test "
	    "policy.ip=127.0.10.2" AR_IPREV,
	    .fields = L("pass", "fail") DOM_M IPOK T_WL " result=fail",
	    .mem = 'D' },
	{ .conf = WL_ZONE ";trust_recipient_mx=no", .dns = "pfp",
	    .v = REJECT, .action = REJ(URL_M, FAIL),
	    .fields = L("pass", "fail") DOM_M IPOK " result=fail",
	    .mem = 'A' },
	/* nothing refused: nothing looked up */
	{ .conf = WL_ZONE, .dns = "psp", .trust = "dnswl", .v = PREPEND,
	    .action = RSPF "softfail (mx.example.org: transitioning domain "
	    "of a@example.com does not designate 192.0.2.1 as permitted "
	    "sender)" TAIL_M,
	    .fields = L("pass", "softfail") DOM_M IPOK " result=softfail",
	    .mem = 'D' },
};

#define NROWS (sizeof(rows) / sizeof(rows[0]))

/* conf - the defaults, then the row's options */
static struct config *
conf(const char *opts)
{
	struct config *cfg = config_load(NULL, 0, NULL, NULL);
	char buf[512], err[256], *kv, *val, *next;

	assert_non_null(cfg);
	snprintf(buf, sizeof(buf), "%s", opts ? opts : "");
	for (kv = buf; kv != NULL && *kv != '\0'; kv = next) {
		if ((next = strchr(kv, ';')) != NULL)
			*next++ = '\0';
		val = strchr(kv, '=');
		assert_non_null(val);
		*val++ = '\0';
		if (config_set(cfg, kv, val, err, sizeof(err)) < 0)
			fail_msg("%s=%s: %s", kv, val, err);
	}
	return cfg;
}

/* spf_said - what the SPF check of an identity would report */
static struct spf_outcome
spf_said(char c, const char *identity, const char *domain)
{
	struct spf_outcome o;

	memset(&o, 0, sizeof(o));
	o.identity = identity;
	o.domain = domain;
	switch (c) {
	case 'p': o.result = SPF_PASS; break;
	case 'f':
		o.result = SPF_FAIL;
		o.explanation = "SPF fail - not authorized";
		break;
	case 'x':
		o.result = SPF_FAIL;
		o.explanation = "See https://example.com/spf";
		break;
	case 'z':
		o.result = SPF_FAIL;
		o.explanation = "SPF fail - not authorized";
		o.no_mail = 1;
		break;
	case 's': o.result = SPF_SOFTFAIL; break;
	case 'n': o.result = SPF_NEUTRAL; break;
	case '0': o.result = SPF_NONE; break;
	case 'P':
		o.result = SPF_PERMERROR;
		o.problem = "bad record";
		break;
	case 'T':
		o.result = SPF_TEMPERROR;
		o.problem = "DNS timeout";
		break;
	default: fail_msg("bad SPF letter %c", c);
	}
	return o;
}

static struct iprev_outcome
iprev_said(char c)
{
	struct iprev_outcome o;

	memset(&o, 0, sizeof(o));
	switch (c) {
	case 'p':
		o.result = IPREV_PASS;
		o.name = "mail.example.com";
		break;
	case 'f':
		o.result = IPREV_FAIL;
		o.name = "other.example.net";
		o.problem = "no address of the name is the client's";
		break;
	case 'P':
		o.result = IPREV_PERMERROR;
		o.problem = "no PTR record";
		break;
	case 'T':
		o.result = IPREV_TEMPERROR;
		o.problem = "DNS timeout";
		break;
	default: fail_msg("bad iprev letter %c", c);
	}
	return o;
}

static int
starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* decide - the row through decision.c, as policy.c drives it */
static void
decide(const struct row *r, const struct config *cfg, struct decision *d)
{
	const char *dns = r->dns ? r->dns : "ppp";
	struct decision_facts f;
	struct decision_plan p;
	struct decision_plan2 p2;

	memset(&f, 0, sizeof(f));
	f.stage = decision_stage(r->state ? r->state : "RCPT");
	f.client = r->client ? r->client : "192.0.2.1";
	f.helo = r->helo ? r->helo : "mail.example.com";
	f.sender = r->sender ? r->sender : "a@example.com";
	f.sasl_username = r->sasl ? r->sasl : "";
	f.hostname = "mx.example.org";
	if (decision_local(cfg, &f, d))
		return;
	decision_plan(cfg, &f, &p);
	if (p.helo) {
		f.spf_helo.checked = 1;
		f.spf_helo.o = spf_said(dns[0], "helo", p.helo_name);
	}
	if (p.mailfrom) {
		f.spf_mailfrom.checked = 1;
		f.spf_mailfrom.o = spf_said(dns[1], "mailfrom",
		    strrchr(p.mailfrom_id, '@') + 1);
	}
	if (p.iprev) {
		f.iprev.checked = 1;
		f.iprev.o = iprev_said(dns[2]);
	}
	if (p.whitelist > 0 || p.helo_whitelist)
		f.skip = r->wl;
	if (decision_plan2(cfg, &f, r->rcpt ? r->rcpt : "u@Example.NET",
	    &p2)) {
		f.over.recipient_asked = *p2.mx_domain != '\0';
		if (r->trust && strcmp(r->trust, "mx") == 0 &&
		    *p2.mx_domain) {
			f.over.by = TRUST_MX;
			f.over.name = p2.mx_domain;
		} else if (r->trust && strcmp(r->trust, "dnswl") == 0 &&
		    p2.dnswl > 0) {
			f.over.by = TRUST_DNSWL;
			f.over.name = cfg->dnswl_zones.v[0];
			f.over.value = "127.0.10.2";
		}
	}
	decision_take(cfg, &f, d);
}

static const char *const vname[] = { "DUNNO", "PREPEND", "REJECT",
	"DEFER", "CLASS" };

/* check_row - the number of things the row gets wrong, each printed */
static int
check_row(size_t i, const struct row *r)
{
	struct config *cfg = conf(r->conf);
	struct decision *d = calloc(1, sizeof(*d));
	const char *want_log, *want_mem;
	char id[768];
	int bad = 0;

	assert_non_null(d);
	snprintf(id, sizeof(id), "%zu [%s] dns=%s state=%s sender=%s helo=%s",
	    i, r->conf ? r->conf : "", r->dns ? r->dns : "ppp",
	    r->state ? r->state : "RCPT", r->sender ? r->sender : "-",
	    r->helo ? r->helo : "-");
	assert_true(r->action && *r->action && r->fields && *r->fields);
	decide(r, cfg, d);
	if (d->vd.verdict != r->v) {
		printf("row %s: verdict %s, want %s\n", id,
		    vname[d->vd.verdict], vname[r->v]);
		bad++;
	}
	if (!starts(d->action, r->action)) {
		printf("row %s: action\n  got  %s\n  want %s\n", id,
		    d->action, r->action);
		bad++;
	}
	if (strcmp(d->fields, r->fields) != 0) {
		printf("row %s: log fields\n  got  %s\n  want %s\n", id,
		    d->fields, r->fields);
		bad++;
	}
	/* the log names a header, and shows any other action whole */
	want_log = starts(r->action, "PREPEND Authentication-Results: ") ?
	    "PREPEND Authentication-Results" :
	    starts(r->action, RSPF) ? "PREPEND Received-SPF" : d->action;
	if (strcmp(d->log_action, want_log) != 0) {
		printf("row %s: log action %s, want %s\n", id,
		    d->log_action, want_log);
		bad++;
	}
	assert_true(r->mem == 'D' || r->mem == 'A' || r->mem == '-');
	want_mem = r->mem == 'D' ? "DUNNO" : r->mem == 'A' ? d->action : NULL;
	if (want_mem == NULL ? d->remember != NULL : d->remember == NULL ||
	    strcmp(d->remember, want_mem) != 0) {
		printf("row %s: remembered %s, want %s\n", id,
		    d->remember ? d->remember : "nothing",
		    want_mem ? want_mem : "nothing");
		bad++;
	}
	free(d);
	config_unref(cfg);
	return bad;
}

static void
test_decision_table(void **state)
{
	size_t i;
	int bad = 0;

	(void)state;
	for (i = 0; i < NROWS; i++)
		bad += check_row(i, &rows[i]);
	printf("decision table: %zu rows, %d wrong\n", NROWS, bad);
	assert_int_equal(bad, 0);
}

/* the verdict alone: a pure function, callable on hand-made facts */
static void
test_verdict(void **state)
{
	struct config *cfg = conf("helo_reject=no;test_only=yes");
	struct decision_facts f;
	struct decision_verdict vd;

	(void)state;
	memset(&f, 0, sizeof(f));
	f.client = "192.0.2.1";
	f.helo = "mail.example.com";
	f.sender = "";
	f.hostname = "mx.example.org";
	f.spf_helo.checked = 1;
	f.spf_helo.o = spf_said('f', "helo", "mail.example.com");
	f.spf_mailfrom.checked = 1;
	f.spf_mailfrom.o = spf_said('f', "mailfrom", "mail.example.com");
	vd = decision_verdict(cfg, &f);
	assert_int_equal(vd.verdict, VERDICT_PREPEND);
	assert_int_equal(vd.refusal, VERDICT_REJECT);
	assert_true(vd.test_only);
	assert_false(vd.by_iprev);
	assert_ptr_equal(vd.spf, &f.spf_mailfrom);
	assert_null(vd.skip);
	f.iprev.checked = 1;
	f.iprev.o = iprev_said('p');
	f.skip = "helo_whitelist";
	vd = decision_verdict(cfg, &f);
	assert_int_equal(vd.verdict, VERDICT_DUNNO);
	assert_string_equal(vd.skip, "helo_whitelist");
	config_unref(cfg);
}

static void
test_stage(void **state)
{
	static const struct {
		const char *st;
		enum decision_stage want;
	} t[] = {
		{ "", STAGE_MESSAGE }, { "RCPT", STAGE_MESSAGE },
		{ "mail", STAGE_MESSAGE }, { "DATA", STAGE_MESSAGE },
		{ "END-OF-MESSAGE", STAGE_END },
		{ "end-of-message", STAGE_END },
		{ "CONNECT", STAGE_SESSION }, { "EHLO", STAGE_SESSION },
		{ "HELO", STAGE_SESSION }, { "VRFY", STAGE_SESSION },
		{ "ETRN", STAGE_SESSION }, { "RCPTX", STAGE_SESSION },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		assert_int_equal(decision_stage(t[i].st), t[i].want);
}

/* the plan: the names the checks get */
static void
test_plan(void **state)
{
	struct config *cfg = conf("domain_whitelist=a.example,b.example;"
	    "helo_whitelist=MAIL.example.com;ptr_check=no");
	struct decision_facts f;
	struct decision_plan p;

	(void)state;
	memset(&f, 0, sizeof(f));
	f.client = "192.0.2.1";
	f.helo = "mail.example.com.";
	f.sender = "";
	decision_plan(cfg, &f, &p);
	assert_true(p.helo);
	assert_string_equal(p.helo_name, "mail.example.com");
	assert_true(p.mailfrom);
	assert_string_equal(p.mailfrom_id, "postmaster@mail.example.com");
	assert_false(p.iprev);
	assert_int_equal(p.whitelist, 2);
	assert_true(p.helo_whitelist);
	assert_false(f.spf_helo.checked);
	f.sender = "b@example.org";
	decision_plan(cfg, &f, &p);
	assert_string_equal(p.mailfrom_id, "b@example.org");
	assert_string_equal(p.postmaster, "");
	/* a HELO name that is no domain: "none" without DNS, nor <> */
	memset(&f, 0, sizeof(f));
	f.client = "192.0.2.1";
	f.helo = "localhost";
	f.sender = "";
	decision_plan(cfg, &f, &p);
	assert_false(p.helo || p.mailfrom || p.helo_whitelist);
	assert_true(f.spf_helo.checked);
	assert_int_equal(f.spf_helo.o.result, SPF_NONE);
	assert_null(f.spf_helo.o.domain);
	assert_string_equal(f.spf_helo.o.problem, "malformed domain");
	config_unref(cfg);
}

/* ----- policy.c on a real loop: no DNS is asked in these ----- */

struct seen {
	int calls;
	char action[2200];
	char result[64];
	int helo_checked, mailfrom_checked, iprev_checked;
};

static void
on_done(void *arg, const struct policy_result *r)
{
	struct seen *s = arg;

	s->calls++;
	snprintf(s->action, sizeof(s->action), "%s", r->action);
	snprintf(s->result, sizeof(s->result), "%s", r->result);
	s->helo_checked = r->facts->spf_helo.checked;
	s->mailfrom_checked = r->facts->spf_mailfrom.checked;
	s->iprev_checked = r->facts->iprev.checked;
}

static void
request(struct policy_request *req, const char *state, const char *client,
    const char *helo, const char *instance)
{
	struct codec_limits lim = { 4096, 64, 65536 };
	char line[256];
	const char *err, *attrs[][2] = {
		{ "request", "smtpd_access_policy" },
		{ "protocol_state", state }, { "client_address", client },
		{ "helo_name", helo }, { "sender", "a@example.com" },
		{ "recipient", "b@example.org" }, { "instance", instance },
	};
	size_t i;

	codec_request_init(req);
	for (i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
		snprintf(line, sizeof(line), "%s=%s", attrs[i][0], attrs[i][1]);
		assert_int_not_equal(codec_line(req, line, strlen(line), &lim,
		    &err), CODEC_ERROR);
	}
	assert_int_equal(codec_line(req, "", 0, &lim, &err), CODEC_DONE);
}

/* run - one request through policy_start(): done() only from the loop */
static void
run(struct event_base *base, struct config *cfg, struct policy_memory **mem,
    const char *state, const char *client, const char *helo,
    const char *instance, struct seen *s)
{
	struct policy_request req;

	memset(s, 0, sizeof(*s));
	request(&req, state, client, helo, instance);
	assert_non_null(policy_start(base, &req, cfg, mem, "conn=1",
	    on_done, s));
	assert_int_equal(s->calls, 0);          /* never from inside */
	event_base_loop(base, EVLOOP_ONCE);
	assert_int_equal(s->calls, 1);
	codec_request_reset(&req);
}

static void
test_start_never_calls_back(void **state)
{
	struct event_base *base = event_base_new();
	/* nothing to ask DNS: no MAIL FROM check, no reverse DNS */
	struct config *cfg = conf("mail_from_reject=no_check;ptr_check=no");
	struct policy_memory *mem = NULL;
	struct seen s;

	(void)state;
	assert_non_null(base);
	run(base, cfg, &mem, "RCPT", "127.0.0.1", "mail", "i1", &s);
	assert_string_equal(s.action, "DUNNO");
	assert_string_equal(s.result, "skipped(skip_addresses)");
	assert_false(s.helo_checked || s.mailfrom_checked || s.iprev_checked);
	run(base, cfg, &mem, "RCPT", "192.0.2.300", "mail", "i1", &s);
	assert_string_equal(s.result, "error(bad client_address)");
	/* a HELO name that is no domain: "none", no DNS; a header */
	run(base, cfg, &mem, "RCPT", "192.0.2.1", "mail", "i2", &s);
	assert_true(starts(s.action, "PREPEND Received-SPF: none "));
	assert_string_equal(s.result, "none");
	assert_true(s.helo_checked);
	assert_false(s.mailfrom_checked || s.iprev_checked);
	/* the message's next recipient: no second header */
	run(base, cfg, &mem, "RCPT", "192.0.2.1", "mail", "i2", &s);
	assert_string_equal(s.action, "DUNNO");
	assert_string_equal(s.result, "repeat");
	/* another message */
	run(base, cfg, &mem, "RCPT", "192.0.2.1", "mail", "i3", &s);
	assert_true(starts(s.action, "PREPEND Received-SPF: none "));
	/* at EHLO: no header, and nothing remembered */
	run(base, cfg, &mem, "EHLO", "192.0.2.1", "mail", "i4", &s);
	assert_string_equal(s.action, "DUNNO");
	assert_string_equal(s.result, "none");
	run(base, cfg, &mem, "EHLO", "192.0.2.1", "mail", "i4", &s);
	assert_string_equal(s.result, "none");
	policy_memory_free(mem);
	config_unref(cfg);
	event_base_free(base);
}

static void
test_cancel_before_delivery(void **state)
{
	struct event_base *base = event_base_new();
	struct config *cfg = conf(NULL);
	struct policy_memory *mem = NULL;
	struct policy_request req;
	struct seen s;

	(void)state;
	memset(&s, 0, sizeof(s));
	request(&req, "RCPT", "127.0.0.1", "mail.example.com", "i1");
	policy_cancel(policy_start(base, &req, cfg, &mem, "conn=1", on_done,
	    &s));
	event_base_loop(base, EVLOOP_NONBLOCK);
	assert_int_equal(s.calls, 0);
	codec_request_reset(&req);
	config_unref(cfg);
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decision_table),
		cmocka_unit_test(test_verdict),
		cmocka_unit_test(test_stage),
		cmocka_unit_test(test_plan),
		cmocka_unit_test(test_start_never_calls_back),
		cmocka_unit_test(test_cancel_before_delivery),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
