/*
 * compose - the text spfpd sends back: Received-SPF (RFC 7208 9.1) and
 * Authentication-Results (RFC 8601) header fields, and the reason text of
 * a reject or defer.
 *
 * Everything here is built by us, from values that came off the network
 * (HELO names, senders, explanations out of DNS): control characters are
 * dropped, values that are not a dot-atom/token are quoted, comments have
 * their parentheses escaped, and every value is cut to a bounded length,
 * so no input can add a header line or break the syntax of the field.
 * The output is one line, without CR or LF, always NUL-terminated and
 * truncated to the buffer.
 */
#ifndef SPFPD_COMPOSE_H
#define SPFPD_COMPOSE_H

#include <stddef.h>

#include "iprev.h"
#include "spf.h"

#define COMPOSE_VALUE_MAX 255   /* bytes of one value in a header */
#define COMPOSE_MAX 2048        /* room for any header or reply we build */
/*
 * A header field is one line (a policy reply cannot fold it): at most 998
 * bytes, RFC 5322 2.1.1.  Comments are cut first, quoted strings and
 * comments are always closed.
 */
#define COMPOSE_HEADER_MAX 998

/* what a header says about one SPF check */
struct compose_spf {
	const struct spf_outcome *o;
	const char *ip;                 /* client address */
	const char *sender;             /* MAIL FROM, "" for <> */
	const char *helo;
	const char *receiver;           /* our host name; NULL: hidden */
};

/*
 * An SPF refusal that was lifted (decision.h, struct decision_override):
 * the note ends the SPF comment ("...; accepted: ..."); with dnswl_zone,
 * Authentication-Results also gets "dnswl=pass dns.zone=Z policy.ip=A"
 * (RFC 8904 4); with forwarder, "policy.forwarder=F" in the SPF part.
 * The comments are cut first, as ever.
 */
struct compose_trust {
	const char *note;
	const char *dnswl_zone;         /* NULL: no dnswl part */
	const char *dnswl_ip;
	const char *forwarder;          /* Authentication-Results: the SPF
	                                   part ends "policy.forwarder=F"
	                                   (RFC 8601 2.3, ptype policy: a
	                                   local policy overrode the result);
	                                   NULL: none */
};

/* Received-SPF: RESULT (COMMENT) client-ip=..; envelope-from=..; ... */
size_t compose_received_spf(char *buf, size_t sz, const struct compose_spf *c);
/* the same, with the note of a lifted refusal (t may be NULL) */
size_t compose_received_spf_trust(char *buf, size_t sz,
    const struct compose_spf *c, const struct compose_trust *t);

/* what a header says about the reverse DNS check */
struct compose_iprev {
	enum iprev_result result;
	const char *ip;                 /* client address */
	const char *name;               /* verified (or first PTR) name */
};

/*
 * Authentication-Results: AUTHSERV-ID; spf=RESULT (COMMENT) smtp.x=..;
 * iprev=RESULT policy.iprev=IP (NAME).  Either part may be NULL; with
 * both NULL the field says "none" (RFC 8601 2.2).
 */
size_t compose_auth_results(char *buf, size_t sz, const char *authserv_id,
    const struct compose_spf *c, const struct compose_iprev *ip);
/* the same, with a lifted refusal's note and dnswl part (t may be NULL) */
size_t compose_auth_results_trust(char *buf, size_t sz,
    const char *authserv_id, const struct compose_spf *c,
    const struct compose_iprev *ip, const struct compose_trust *t);

/*
 * compose_reason - expand a reason_message template; values are, in
 * order, those of REASON_KEYS (config.h).  Unknown placeholders are kept
 * as written (the config parser refuses them).
 */
size_t compose_reason(char *buf, size_t sz, const char *tmpl,
    const char *const values[6]);

/* compose_why_url - the open-spf.org "Why?" link, its values %-encoded */
size_t compose_why_url(char *buf, size_t sz, const char *scope,
    const char *id, const char *ip, const char *receiver);

/* compose_text - s without control characters, cut to max bytes */
size_t compose_text(char *buf, size_t sz, const char *s, size_t max);

#endif
