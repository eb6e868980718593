/*
 * compose - header fields and reply text.  See compose.h.
 */
#include <string.h>

#include "compose.h"
#include "config.h"
#include "strbuf.h"

static int
is_ctl(unsigned char ch)
{
	return ch < 0x20 || ch == 0x7f;
}

/* clean - the bytes of s we may show: no controls, at most max bytes */
static size_t
clean(char *out, size_t outsz, const char *s, size_t max)
{
	size_t n = 0;

	if (outsz == 0)
		return 0;
	if (max > outsz - 1)
		max = outsz - 1;
	for (; *s && n < max; s++)
		if (!is_ctl((unsigned char)*s))
			out[n++] = *s;
	/* do not end inside a UTF-8 sequence we cut */
	if (*s && n > 0 && ((unsigned char)out[n - 1] & 0x80)) {
		while (n > 0 && ((unsigned char)out[n - 1] & 0xc0) == 0x80)
			n--;
		if (n > 0 && ((unsigned char)out[n - 1] & 0xc0) == 0xc0)
			n--;
	}
	out[n] = '\0';
	return n;
}

size_t
compose_text(char *buf, size_t sz, const char *s, size_t max)
{
	return clean(buf, sz, s ? s : "", max);
}

/* RFC 5322 atext */
static int
is_atext(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') || (ch != '\0' &&
	    strchr("!#$%&'*+-/=?^_`{|}~", ch) != NULL);
}

static int
is_dot_atom(const char *s)
{
	const char *p;

	if (*s == '\0' || *s == '.')
		return 0;
	for (p = s; *p; p++) {
		if (*p == '.') {
			if (p[1] == '.' || p[1] == '\0')
				return 0;
		} else if (!is_atext((unsigned char)*p)) {
			return 0;
		}
	}
	return 1;
}

/* RFC 2045 token (RFC 8601 "value") */
static int
is_token(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (*p == '\0')
		return 0;
	for (; *p; p++)
		if (*p <= ' ' || *p >= 0x7f || strchr("()<>@,;:\\\"/[]?=", *p))
			return 0;
	return 1;
}

/* utf8_len - bytes of the UTF-8 sequence that starts with ch (1 if none) */
static size_t
utf8_len(unsigned char ch)
{
	if (ch >= 0xf0 && ch <= 0xf7)
		return 4;
	if (ch >= 0xe0)
		return ch <= 0xef ? 3 : 1;
	if (ch >= 0xc0)
		return 2;
	return 1;
}

/*
 * put_escaped - open, the text with c1/c2 (and backslash) escaped, close:
 * at most max bytes in all.  A text that does not fit is cut before a
 * character (never inside an escape pair or a UTF-8 sequence), so the
 * closing character is always there and always ends it.
 */
static void
put_escaped(struct strbuf *b, const char *t, char open, char close,
    const char *esc, size_t max)
{
	size_t n = 2, i, k, w;
	int e;

	if (max < 2)
		return;
	strbuf_putc(b, open);
	for (i = 0; t[i]; i += k) {
		/* a run of ASCII that needs no escape goes in one piece */
		for (k = 0; t[i + k] && (unsigned char)t[i + k] < 0x80 &&
		    strchr(esc, t[i + k]) == NULL; k++)
			;
		if (k > 0) {
			if (k > max - n)
				k = max - n;
			strbuf_putn(b, t + i, k);
			n += k;
			if (k == 0 || n == max)
				break;
			continue;
		}
		for (k = 0; k < utf8_len((unsigned char)t[i]) && t[i + k]; k++)
			;       /* a sequence clean() cut short: as is */
		e = k == 1 && strchr(esc, t[i]) != NULL;
		w = k + (size_t)e;
		if (n + w > max)
			break;
		if (e)
			strbuf_putc(b, '\\');
		for (w = 0; w < k; w++)
			strbuf_putc(b, t[i + w]);
		n += k + (size_t)e;
	}
	strbuf_putc(b, close);
}

/*
 * What a quoted-string escapes (RFC 5322 3.2.4: a quoted-pair is "\"
 * and any VCHAR).  QS_ESC is what must be; RSPF_ESC is what a
 * Received-SPF value escapes besides: the bytes that a key=value parser
 * takes for structure even inside quotes.  OpenDMARC's (1.4,
 * dmarcf_parse_received_spf()) starts the value again at every "=", ends
 * the pair at ";" and counts "(" ")" as comments, but reads "\x" as x:
 * envelope-from="SRS0=H=T=forwarded-from.example=al@example.org" was
 * read as "al@example.org.example" (the last piece written over the
 * longer one before it): not the envelope's domain, so OpenDMARC took
 * the pass for neutral and DMARC failed.  "SRS0\=H\=T\=...\=al@..."
 * is the same address to an RFC 5322 parser, and OpenDMARC reads it
 * right (tests/interoptest.py).
 */
#define QS_ESC "\"\\"
#define RSPF_ESC "\"\\=;()"

/*
 * put_value - a header value of at most max bytes: bare when the grammar
 * allows it and it fits, else a quoted-string with the bytes of esc
 * escaped, cut to fit and closed
 */
static void
put_value(struct strbuf *b, const char *raw, int (*bare_ok)(const char *),
    const char *esc, size_t max)
{
	char v[COMPOSE_VALUE_MAX + 1];

	clean(v, sizeof(v), raw, COMPOSE_VALUE_MAX);
	if (bare_ok(v) && strlen(v) <= max)
		strbuf_puts(b, v);
	else
		put_escaped(b, v, '"', '"', esc, max);
}

/* a comment of at most max bytes: ( ) and \ escaped (RFC 5322 ctext) */
static void
put_comment(struct strbuf *b, const char *text, size_t max)
{
	put_escaped(b, text, '(', ')', "()\\", max);
}

/* VALUE_OUT - the most a value takes once quoted: one line must hold all */
#define VALUE_OUT (COMPOSE_VALUE_MAX + 2)
/* an IP address, quoted if need be (IPv6 is not a dot-atom) */
#define IP_OUT 64

static const char *
who(const struct compose_spf *c, char *buf, size_t sz)
{
	if (strcmp(c->o->identity, "helo") == 0)
		clean(buf, sz, c->helo, COMPOSE_VALUE_MAX);
	else if (c->sender && *c->sender)
		clean(buf, sz, c->sender, COMPOSE_VALUE_MAX);
	else
		clean(buf, sz, c->o->domain, COMPOSE_VALUE_MAX);
	return buf;
}

/*
 * The sentence of each result, as in pypolicyd-spf's comments: %w is the
 * identity (HELO name or sender), %i the client address, %p ": problem"
 * when there is one.
 */
static const char *const sentences[] = {
	[SPF_NONE] = "domain of %w does not designate permitted sender hosts",
	[SPF_NEUTRAL] = "%i is neither permitted nor denied by domain of %w",
	[SPF_PASS] = "domain of %w designates %i as permitted sender",
	[SPF_FAIL] = "domain of %w does not designate %i as permitted sender",
	[SPF_SOFTFAIL] = ("transitioning domain of %w does not designate %i "
	    "as permitted sender"),
	[SPF_TEMPERROR] = "temporary error in processing domain of %w%p",
	[SPF_PERMERROR] = "permanent error in processing domain of %w%p",
};

/* compose_comment - the sentence of a result, for the header comment */
static size_t
compose_comment(char *buf, size_t sz, const struct compose_spf *c,
    const struct compose_trust *tr)
{
	char w[COMPOSE_VALUE_MAX + 1], ip[COMPOSE_VALUE_MAX + 1];
	char host[COMPOSE_VALUE_MAX + 1], prob[COMPOSE_VALUE_MAX + 1];
	const char *t = "";
	struct strbuf b;

	who(c, w, sizeof(w));
	clean(ip, sizeof(ip), c->ip, COMPOSE_VALUE_MAX);
	clean(prob, sizeof(prob), c->o->problem ? c->o->problem : "",
	    COMPOSE_VALUE_MAX);
	strbuf_init(&b, buf, sz);
	if (c->receiver && *c->receiver) {
		clean(host, sizeof(host), c->receiver, COMPOSE_VALUE_MAX);
		strbuf_puts(&b, host);
		strbuf_puts(&b, ": ");
	}
	if ((size_t)c->o->result < sizeof(sentences) / sizeof(sentences[0]))
		t = sentences[c->o->result];
	for (; *t; t++) {
		if (*t != '%') {
			strbuf_putc(&b, *t);
			continue;
		}
		if (*++t == 'w') {
			strbuf_puts(&b, w);
		} else if (*t == 'i') {
			strbuf_puts(&b, ip);
		} else if (*prob) {     /* %p */
			strbuf_puts(&b, ": ");
			strbuf_puts(&b, prob);
		}
	}
	if (tr != NULL && tr->note != NULL) {
		clean(prob, sizeof(prob), tr->note, COMPOSE_VALUE_MAX);
		strbuf_puts(&b, "; ");
		strbuf_puts(&b, prob);
	}
	return b.len;
}

/*
 * One header field is one line: RFC 5322 2.1.1 allows 998 bytes, and a
 * policy reply cannot fold it.  The structured part (what OpenDMARC and
 * SpamAssassin parse) is built first with every value bounded; the human
 * comment gets the room that is left, and is cut (closed) to fit.
 */
size_t
compose_received_spf(char *buf, size_t sz, const struct compose_spf *c)
{
	return compose_received_spf_trust(buf, sz, c, NULL);
}

size_t
compose_received_spf_trust(char *buf, size_t sz, const struct compose_spf *c,
    const struct compose_trust *tr)
{
	char comment[COMPOSE_MAX], tail[COMPOSE_MAX];
	struct strbuf b, t;
	size_t head;
	int problem;

	compose_comment(comment, sizeof(comment), c, tr);
	head = strlen("Received-SPF: ") + strlen(spf_result_str(c->o->result));
	/* problem= repeats the comment's end: the first thing to go */
	for (problem = 1; problem >= 0; problem--) {
		strbuf_init(&t, tail, sizeof(tail));
		strbuf_puts(&t, " client-ip=");
		put_value(&t, c->ip, is_dot_atom, RSPF_ESC, IP_OUT);
		strbuf_puts(&t, "; envelope-from=");
		put_value(&t, c->sender && *c->sender ? c->sender : "<>",
		    is_dot_atom, RSPF_ESC, VALUE_OUT);
		if (c->helo && *c->helo) {
			strbuf_puts(&t, "; helo=");
			put_value(&t, c->helo, is_dot_atom, RSPF_ESC,
			    VALUE_OUT);
		}
		if (problem && c->o->problem && (c->o->result ==
		    SPF_PERMERROR || c->o->result == SPF_TEMPERROR)) {
			strbuf_puts(&t, "; problem=");
			put_value(&t, c->o->problem, is_dot_atom,
			    RSPF_ESC, VALUE_OUT);
		}
		strbuf_puts(&t, "; identity=");
		strbuf_puts(&t, c->o->identity);
		if (c->receiver && *c->receiver) {
			strbuf_puts(&t, "; receiver=");
			put_value(&t, c->receiver, is_dot_atom,
			    RSPF_ESC, VALUE_OUT);
		}
		strbuf_putc(&t, ';');
		if (head + t.len + 3 <= COMPOSE_HEADER_MAX)
			break;
	}
	strbuf_init(&b, buf, sz);
	strbuf_puts(&b, "Received-SPF: ");
	strbuf_puts(&b, spf_result_str(c->o->result));
	if (head + t.len + 3 <= COMPOSE_HEADER_MAX) {
		strbuf_putc(&b, ' ');
		put_comment(&b, comment, COMPOSE_HEADER_MAX - head - t.len - 1);
	}
	strbuf_puts(&b, tail);
	return b.len;
}

/* the parts of an Authentication-Results field, each value bounded */
struct ar_parts {
	char head[COMPOSE_MAX];         /* "Authentication-Results: ID" */
	char spf[COMPOSE_MAX];          /* "; spf=RESULT" */
	char comment[COMPOSE_MAX];      /* its sentence */
	char spfv[COMPOSE_MAX];         /* " smtp.mailfrom=..." and a
	                                   " policy.forwarder=..." */
	char ipr[COMPOSE_MAX];          /* "; iprev=RESULT policy.iprev=IP" */
	char wl[COMPOSE_MAX];           /* "; dnswl=pass dns.zone=Z ..." */
	char name[COMPOSE_VALUE_MAX + 1];       /* the PTR name, or "" */
};

/* a DNSWL zone in the header: bounded so that one line holds it all */
#define ZONE_OUT 128

static void
ar_parts(struct ar_parts *p, const char *authserv_id,
    const struct compose_spf *c, const struct compose_iprev *ip,
    const struct compose_trust *tr)
{
	int helo = c != NULL && strcmp(c->o->identity, "helo") == 0;
	struct strbuf t, v;

	strbuf_init(&t, p->head, sizeof(p->head));
	strbuf_puts(&t, "Authentication-Results: ");
	put_value(&t, authserv_id, is_token, QS_ESC, VALUE_OUT);
	strbuf_init(&t, p->spf, sizeof(p->spf));
	strbuf_init(&v, p->spfv, sizeof(p->spfv));
	if (c != NULL) {
		struct compose_spf nc = *c;

		nc.receiver = NULL;     /* the authserv-id already names us */
		compose_comment(p->comment, sizeof(p->comment), &nc, tr);
		strbuf_puts(&t, "; spf=");
		strbuf_puts(&t, spf_result_str(c->o->result));
		strbuf_puts(&v, helo ? " smtp.helo=" : " smtp.mailfrom=");
		put_value(&v, helo ? c->helo : c->o->domain, is_token,
		    QS_ESC, VALUE_OUT);
		if (tr != NULL && tr->forwarder != NULL) {
			strbuf_puts(&v, " policy.forwarder=");
			put_value(&v, tr->forwarder, is_token, QS_ESC,
			    ZONE_OUT);
		}
	}
	strbuf_init(&t, p->wl, sizeof(p->wl));
	if (c != NULL && tr != NULL && tr->dnswl_zone != NULL) {
		strbuf_puts(&t, "; dnswl=pass dns.zone=");
		put_value(&t, tr->dnswl_zone, is_token, QS_ESC, ZONE_OUT);
		strbuf_puts(&t, " policy.ip=");
		put_value(&t, tr->dnswl_ip ? tr->dnswl_ip : "", is_token,
		    QS_ESC, IP_OUT);
	}
	strbuf_init(&t, p->ipr, sizeof(p->ipr));
	p->name[0] = '\0';
	if (ip != NULL) {
		strbuf_puts(&t, "; iprev=");
		strbuf_puts(&t, iprev_result_str(ip->result));
		strbuf_puts(&t, " policy.iprev=");
		put_value(&t, ip->ip, is_token, QS_ESC, IP_OUT);
		if (ip->name && *ip->name)
			clean(p->name, sizeof(p->name), ip->name,
			    COMPOSE_VALUE_MAX);
	}
}

/* ar_put - a result, its comment in room bytes (0: none), what follows */
static void
ar_put(struct strbuf *b, const char *result, const char *comment,
    size_t room, const char *after)
{
	strbuf_puts(b, result);
	if (room) {
		strbuf_putc(b, ' ');
		put_comment(b, comment, room);
	}
	strbuf_puts(b, after);
}

size_t
compose_auth_results(char *buf, size_t sz, const char *authserv_id,
    const struct compose_spf *c, const struct compose_iprev *ip)
{
	return compose_auth_results_trust(buf, sz, authserv_id, c, ip, NULL);
}

size_t
compose_auth_results_trust(char *buf, size_t sz, const char *authserv_id,
    const struct compose_spf *c, const struct compose_iprev *ip,
    const struct compose_trust *tr)
{
	struct ar_parts p;
	struct strbuf b;
	size_t room, used, name_room = 0, spf_room = 0;

	/* the structured parts first, each value bounded */
	ar_parts(&p, authserv_id, c, ip, tr);
	/*
	 * What is left of the line goes to the comments: the PTR name
	 * first (data), then the SPF sentence; each is cut to fit.  The
	 * bounds keep the structured parts within the line (at most 281 +
	 * 15 + 272 + 94 + 22 + 130 + 11 + 64 bytes).
	 */
	used = strlen(p.head) + strlen(p.spf) + strlen(p.spfv) +
	    strlen(p.wl) + strlen(p.ipr) + (c == NULL && ip == NULL ? 6 : 0);
	room = used < COMPOSE_HEADER_MAX ? COMPOSE_HEADER_MAX - used : 0;
	if (*p.name && room >= 4) {
		name_room = room - 1 < VALUE_OUT * 2 ? room - 1 : VALUE_OUT * 2;
		room -= name_room + 1;
	}
	if (c != NULL && room >= 4)
		spf_room = room - 1;
	strbuf_init(&b, buf, sz);
	strbuf_puts(&b, p.head);
	if (c != NULL)
		ar_put(&b, p.spf, p.comment, spf_room, p.spfv);
	strbuf_puts(&b, p.wl);
	if (ip != NULL)
		ar_put(&b, p.ipr, p.name, name_room, "");
	if (c == NULL && ip == NULL)
		strbuf_puts(&b, "; none");
	return b.len;
}

size_t
compose_reason(char *buf, size_t sz, const char *tmpl,
    const char *const values[6])
{
	static const char *const keys[] = REASON_KEYS;
	const char *e;
	struct strbuf b;
	size_t i, n;

	strbuf_init(&b, buf, sz);
	for (; *tmpl; tmpl++) {
		if ((tmpl[0] == '{' && tmpl[1] == '{') ||
		    (tmpl[0] == '}' && tmpl[1] == '}')) {
			strbuf_putc(&b, *tmpl++);
			continue;
		}
		if (*tmpl == '{' && (e = strchr(tmpl, '}')) != NULL) {
			n = (size_t)(e - tmpl - 1);
			for (i = 0; i < 6; i++) {
				if (strlen(keys[i]) == n &&
				    strncmp(tmpl + 1, keys[i], n) == 0)
					break;
			}
			if (i < 6) {
				char v[COMPOSE_MAX];

				clean(v, sizeof(v), values[i] ? values[i] : "",
				    sizeof(v) - 1);
				strbuf_puts(&b, v);
				tmpl = e;
				continue;
			}
		}
		if (!is_ctl((unsigned char)*tmpl))
			strbuf_putc(&b, *tmpl);
	}
	return b.len;
}

size_t
compose_why_url(char *buf, size_t sz, const char *scope, const char *id,
    const char *ip, const char *receiver)
{
	static const char hex[] = "0123456789ABCDEF";
	const char *vals[4], *names[4] = { "s", "id", "ip", "r" };
	const unsigned char *p;
	struct strbuf b;
	size_t i;

	vals[0] = scope;
	vals[1] = id;
	vals[2] = ip;
	vals[3] = receiver;
	strbuf_init(&b, buf, sz);
	strbuf_puts(&b, "https://www.open-spf.org/Why?");
	for (i = 0; i < 4; i++) {
		if (vals[i] == NULL)
			continue;
		if (i)
			strbuf_putc(&b, ';');
		strbuf_puts(&b, names[i]);
		strbuf_putc(&b, '=');
		for (p = (const unsigned char *)vals[i];
		    *p && p - (const unsigned char *)vals[i] <
		    COMPOSE_VALUE_MAX; p++) {
			if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' &&
			    *p <= 'Z') || (*p >= '0' && *p <= '9') ||
			    strchr("-._~@:", *p)) {
				strbuf_putc(&b, (char)*p);
			} else {
				strbuf_putc(&b, '%');
				strbuf_putc(&b, hex[*p >> 4]);
				strbuf_putc(&b, hex[*p & 15]);
			}
		}
	}
	return b.len;
}
