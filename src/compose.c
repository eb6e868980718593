/*
 * compose - header fields and reply text.  See compose.h.
 */
#include <stdio.h>
#include <string.h>

#include "compose.h"
#include "config.h"

/* a bounded string builder: never overflows, always terminated */
struct sb {
	char *p;
	size_t sz, len;
};

static void
sb_init(struct sb *b, char *buf, size_t sz)
{
	b->p = buf;
	b->sz = sz;
	b->len = 0;
	if (sz)
		buf[0] = '\0';
}

static void
sb_putc(struct sb *b, char ch)
{
	if (b->len + 1 < b->sz) {
		b->p[b->len++] = ch;
		b->p[b->len] = '\0';
	}
}

static void
sb_puts(struct sb *b, const char *s)
{
	while (*s)
		sb_putc(b, *s++);
}

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
put_escaped(struct sb *b, const char *t, char open, char close,
    const char *esc, size_t max)
{
	size_t n = 2, i, k, w;
	int e;

	if (max < 2)
		return;
	sb_putc(b, open);
	for (i = 0; t[i]; i += k) {
		for (k = 0; k < utf8_len((unsigned char)t[i]) && t[i + k]; k++)
			;               /* a sequence clean() cut short: as is */
		e = k == 1 && strchr(esc, t[i]) != NULL;
		w = k + (size_t)e;
		if (n + w > max)
			break;
		if (e)
			sb_putc(b, '\\');
		for (w = 0; w < k; w++)
			sb_putc(b, t[i + w]);
		n += k + (size_t)e;
	}
	sb_putc(b, close);
}

/*
 * put_value - a header value of at most max bytes: bare when the grammar
 * allows it and it fits, else a quoted-string, cut to fit and closed
 */
static void
put_value(struct sb *b, const char *raw, int (*bare_ok)(const char *),
    size_t max)
{
	char v[COMPOSE_VALUE_MAX + 1];

	clean(v, sizeof(v), raw, COMPOSE_VALUE_MAX);
	if (bare_ok(v) && strlen(v) <= max)
		sb_puts(b, v);
	else
		put_escaped(b, v, '"', '"', "\"\\", max);
}

/* a comment of at most max bytes: ( ) and \ escaped (RFC 5322 ctext) */
static void
put_comment(struct sb *b, const char *text, size_t max)
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

size_t
compose_comment(char *buf, size_t sz, const struct compose_spf *c)
{
	char w[COMPOSE_VALUE_MAX + 1], ip[COMPOSE_VALUE_MAX + 1];
	char host[COMPOSE_VALUE_MAX + 1], prob[COMPOSE_VALUE_MAX + 1];
	const char *pre = "", *sep = "";
	int n = 0;

	who(c, w, sizeof(w));
	clean(ip, sizeof(ip), c->ip, COMPOSE_VALUE_MAX);
	clean(prob, sizeof(prob), c->o->problem ? c->o->problem : "",
	    COMPOSE_VALUE_MAX);
	if (c->receiver && *c->receiver) {
		clean(host, sizeof(host), c->receiver, COMPOSE_VALUE_MAX);
		pre = host;
		sep = ": ";
	}
	if (sz == 0)
		return 0;
	switch (c->o->result) {
	case SPF_PASS:
		n = snprintf(buf, sz, "%s%sdomain of %s designates %s as "
		    "permitted sender", pre, sep, w, ip);
		break;
	case SPF_FAIL:
		n = snprintf(buf, sz, "%s%sdomain of %s does not designate %s "
		    "as permitted sender", pre, sep, w, ip);
		break;
	case SPF_SOFTFAIL:
		n = snprintf(buf, sz, "%s%stransitioning domain of %s does not "
		    "designate %s as permitted sender", pre, sep, w, ip);
		break;
	case SPF_NEUTRAL:
		n = snprintf(buf, sz, "%s%s%s is neither permitted nor denied "
		    "by domain of %s", pre, sep, ip, w);
		break;
	case SPF_NONE:
		n = snprintf(buf, sz, "%s%sdomain of %s does not designate "
		    "permitted sender hosts", pre, sep, w);
		break;
	case SPF_PERMERROR:
		n = snprintf(buf, sz, "%s%spermanent error in processing "
		    "domain of %s%s%s", pre, sep, w, *prob ? ": " : "", prob);
		break;
	case SPF_TEMPERROR:
		n = snprintf(buf, sz, "%s%stemporary error in processing "
		    "domain of %s%s%s", pre, sep, w, *prob ? ": " : "", prob);
		break;
	}
	if (n < 0)
		buf[0] = '\0';
	return strlen(buf);
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
	char comment[COMPOSE_MAX], tail[COMPOSE_MAX];
	struct sb b, t;
	size_t head;
	int problem;

	compose_comment(comment, sizeof(comment), c);
	head = strlen("Received-SPF: ") + strlen(spf_result_str(c->o->result));
	/* problem= repeats the comment's end: the first thing to go */
	for (problem = 1; problem >= 0; problem--) {
		sb_init(&t, tail, sizeof(tail));
		sb_puts(&t, " client-ip=");
		put_value(&t, c->ip, is_dot_atom, IP_OUT);
		sb_puts(&t, "; envelope-from=");
		put_value(&t, c->sender && *c->sender ? c->sender : "<>",
		    is_dot_atom, VALUE_OUT);
		if (c->helo && *c->helo) {
			sb_puts(&t, "; helo=");
			put_value(&t, c->helo, is_dot_atom, VALUE_OUT);
		}
		if (problem && c->o->problem && (c->o->result ==
		    SPF_PERMERROR || c->o->result == SPF_TEMPERROR)) {
			sb_puts(&t, "; problem=");
			put_value(&t, c->o->problem, is_dot_atom, VALUE_OUT);
		}
		sb_puts(&t, "; identity=");
		sb_puts(&t, c->o->identity);
		if (c->receiver && *c->receiver) {
			sb_puts(&t, "; receiver=");
			put_value(&t, c->receiver, is_dot_atom, VALUE_OUT);
		}
		sb_putc(&t, ';');
		if (head + t.len + 3 <= COMPOSE_HEADER_MAX)
			break;
	}
	sb_init(&b, buf, sz);
	sb_puts(&b, "Received-SPF: ");
	sb_puts(&b, spf_result_str(c->o->result));
	if (head + t.len + 3 <= COMPOSE_HEADER_MAX) {
		sb_putc(&b, ' ');
		put_comment(&b, comment, COMPOSE_HEADER_MAX - head - t.len - 1);
	}
	sb_puts(&b, tail);
	return b.len;
}

size_t
compose_auth_results(char *buf, size_t sz, const char *authserv_id,
    const struct compose_spf *c, const struct compose_iprev *ip)
{
	char comment[COMPOSE_MAX], v[COMPOSE_VALUE_MAX + 1];
	char head[COMPOSE_MAX], spf[COMPOSE_MAX], spfv[COMPOSE_MAX];
	char ipr[COMPOSE_MAX];
	struct sb b, t;
	size_t room, name_room = 0, spf_room = 0;
	int helo = c != NULL && strcmp(c->o->identity, "helo") == 0;

	/* the structured parts first, each value bounded */
	sb_init(&t, head, sizeof(head));
	sb_puts(&t, "Authentication-Results: ");
	put_value(&t, authserv_id, is_token, VALUE_OUT);
	sb_init(&t, spf, sizeof(spf));
	sb_init(&b, spfv, sizeof(spfv));
	if (c != NULL) {
		struct compose_spf nc = *c;

		nc.receiver = NULL;     /* the authserv-id already names us */
		compose_comment(comment, sizeof(comment), &nc);
		sb_puts(&t, "; spf=");
		sb_puts(&t, spf_result_str(c->o->result));
		sb_puts(&b, helo ? " smtp.helo=" : " smtp.mailfrom=");
		put_value(&b, helo ? c->helo : c->o->domain, is_token,
		    VALUE_OUT);
	}
	sb_init(&t, ipr, sizeof(ipr));
	v[0] = '\0';
	if (ip != NULL) {
		sb_puts(&t, "; iprev=");
		sb_puts(&t, iprev_result_str(ip->result));
		sb_puts(&t, " policy.iprev=");
		put_value(&t, ip->ip, is_token, IP_OUT);
		if (ip->name && *ip->name)
			clean(v, sizeof(v), ip->name, COMPOSE_VALUE_MAX);
	}
	/*
	 * What is left of the line goes to the comments: the PTR name
	 * first (data), then the SPF sentence; each is cut to fit.
	 */
	room = COMPOSE_HEADER_MAX - strlen(head) - strlen(spf) -
	    strlen(spfv) - strlen(ipr) - (c == NULL && ip == NULL ? 6 : 0);
	if (*v && room >= 4) {
		name_room = room - 1 < VALUE_OUT * 2 ? room - 1 : VALUE_OUT * 2;
		room -= name_room + 1;
	}
	if (c != NULL && room >= 4)
		spf_room = room - 1;
	sb_init(&b, buf, sz);
	sb_puts(&b, head);
	if (c != NULL) {
		sb_puts(&b, spf);
		if (spf_room) {
			sb_putc(&b, ' ');
			put_comment(&b, comment, spf_room);
		}
		sb_puts(&b, spfv);
	}
	if (ip != NULL) {
		sb_puts(&b, ipr);
		if (name_room) {
			sb_putc(&b, ' ');
			put_comment(&b, v, name_room);
		}
	}
	if (c == NULL && ip == NULL)
		sb_puts(&b, "; none");
	return b.len;
}

size_t
compose_reason(char *buf, size_t sz, const char *tmpl,
    const char *const values[6])
{
	static const char *const keys[] = REASON_KEYS;
	const char *e;
	struct sb b;
	size_t i, n;

	sb_init(&b, buf, sz);
	for (; *tmpl; tmpl++) {
		if ((tmpl[0] == '{' && tmpl[1] == '{') ||
		    (tmpl[0] == '}' && tmpl[1] == '}')) {
			sb_putc(&b, *tmpl++);
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
				sb_puts(&b, v);
				tmpl = e;
				continue;
			}
		}
		if (!is_ctl((unsigned char)*tmpl))
			sb_putc(&b, *tmpl);
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
	struct sb b;
	size_t i;

	vals[0] = scope;
	vals[1] = id;
	vals[2] = ip;
	vals[3] = receiver;
	sb_init(&b, buf, sz);
	sb_puts(&b, "https://www.open-spf.org/Why?");
	for (i = 0; i < 4; i++) {
		if (vals[i] == NULL)
			continue;
		if (i)
			sb_putc(&b, ';');
		sb_puts(&b, names[i]);
		sb_putc(&b, '=');
		for (p = (const unsigned char *)vals[i];
		    *p && p - (const unsigned char *)vals[i] <
		    COMPOSE_VALUE_MAX; p++) {
			if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' &&
			    *p <= 'Z') || (*p >= '0' && *p <= '9') ||
			    strchr("-._~@:", *p)) {
				sb_putc(&b, (char)*p);
			} else {
				sb_putc(&b, '%');
				sb_putc(&b, hex[*p >> 4]);
				sb_putc(&b, hex[*p & 15]);
			}
		}
	}
	return b.len;
}
