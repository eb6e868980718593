/*
 * world - a scripted DNS world behind dns.c's upstream seam.  See world.h.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dns.h"
#include "world.h"

struct wrr {
	char *name;
	int type;
	unsigned ttl;
	unsigned char *rdata;
	size_t rdlen;
};

struct wover {
	char *name;
	int type;                       /* WORLD_ANY_TYPE: all */
	int rcode;                      /* -1: timeout */
};

struct world {
	struct wrr *rr;
	size_t nrr, caprr;
	struct wover *ov;
	size_t nov, capov;
	unsigned long questions;
};

#define WORLD_MAX_CHAIN 8
#define WORLD_NEG_TTL 300

static void *
xrealloc(void *p, size_t n)
{
	if ((p = realloc(p, n)) == NULL) {
		fprintf(stderr, "world: out of memory\n");
		abort();
	}
	return p;
}

static char *
lowdup(const char *s)
{
	size_t n = strlen(s), i;
	char *d = xrealloc(NULL, n + 1);

	for (i = 0; i <= n; i++)
		d[i] = (char)tolower((unsigned char)s[i]);
	if (n > 1 && d[n - 1] == '.')
		d[n - 1] = '\0';
	return d;
}

struct world *
world_new(void)
{
	struct world *w = xrealloc(NULL, sizeof(*w));

	memset(w, 0, sizeof(*w));
	return w;
}

void
world_clear(struct world *w)
{
	size_t i;

	for (i = 0; i < w->nrr; i++) {
		free(w->rr[i].name);
		free(w->rr[i].rdata);
	}
	for (i = 0; i < w->nov; i++)
		free(w->ov[i].name);
	w->nrr = w->nov = 0;
}

void
world_free(struct world *w)
{
	if (w == NULL)
		return;
	world_clear(w);
	free(w->rr);
	free(w->ov);
	free(w);
}

int
world_type(const char *t)
{
	static const struct { const char *n; int t; } types[] = {
		{ "A", 1 }, { "AAAA", 28 }, { "MX", 15 }, { "PTR", 12 },
		{ "CNAME", 5 }, { "TXT", 16 }, { "SOA", 6 }, { "NS", 2 },
		{ "SPF", 99 },
	};
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcasecmp(t, types[i].n) == 0)
			return types[i].t;
	return 0;
}

/* name_wire - a name in wire form (uncompressed); length, -1 if bad */
static int
name_wire(const char *name, unsigned char *out, size_t outsz)
{
	size_t o = 0, n;
	const char *p = name, *dot;

	if (strcmp(name, ".") == 0 || *name == '\0') {
		if (outsz < 1)
			return -1;
		out[0] = 0;
		return 1;
	}
	for (;;) {
		dot = strchr(p, '.');
		n = dot ? (size_t)(dot - p) : strlen(p);
		if (n == 0 && dot == NULL)
			break;          /* a final dot */
		if (n == 0 || n > 63 || o + n + 2 > outsz || o + n + 2 > 255)
			return -1;
		out[o++] = (unsigned char)n;
		memcpy(out + o, p, n);
		o += n;
		if (dot == NULL)
			break;
		p = dot + 1;
	}
	out[o++] = 0;
	return (int)o;
}

static int
add_rdata(struct world *w, const char *name, int type, unsigned ttl,
    const unsigned char *rd, size_t rdlen)
{
	unsigned char tmp[256];
	struct wrr *r;

	if (name_wire(name, tmp, sizeof(tmp)) < 0 || rdlen > 65535)
		return -1;
	if (w->nrr == w->caprr) {
		w->caprr = w->caprr ? 2 * w->caprr : 16;
		w->rr = xrealloc(w->rr, w->caprr * sizeof(*w->rr));
	}
	r = &w->rr[w->nrr++];
	r->name = lowdup(name);
	r->type = type;
	r->ttl = ttl;
	r->rdata = xrealloc(NULL, rdlen ? rdlen : 1);
	memcpy(r->rdata, rd, rdlen);
	r->rdlen = rdlen;
	return 0;
}

int
world_add(struct world *w, const char *name, const char *tname,
    unsigned ttl, const char *data)
{
	unsigned char rd[300];
	int type = world_type(tname), n;
	unsigned long pref;
	char *end;

	switch (type) {
	case 1:
		if (inet_pton(AF_INET, data, rd) != 1)
			return -1;
		return add_rdata(w, name, type, ttl, rd, 4);
	case 28:
		if (inet_pton(AF_INET6, data, rd) != 1)
			return -1;
		return add_rdata(w, name, type, ttl, rd, 16);
	case 15:
		pref = strtoul(data, &end, 10);
		if (end == data || *end != ' ' || pref > 65535)
			return -1;
		rd[0] = (unsigned char)(pref >> 8);
		rd[1] = (unsigned char)pref;
		if ((n = name_wire(end + 1, rd + 2, sizeof(rd) - 2)) < 0)
			return -1;
		return add_rdata(w, name, type, ttl, rd, (size_t)n + 2);
	case 12:
	case 5:
		if ((n = name_wire(data, rd, sizeof(rd))) < 0)
			return -1;
		return add_rdata(w, name, type, ttl, rd, (size_t)n);
	default:
		return -1;
	}
}

int
world_add_txt(struct world *w, const char *name, unsigned ttl,
    const char *const *strs, const size_t *lens, size_t n)
{
	unsigned char *rd;
	size_t i, o = 0, total = 0;
	int r;

	for (i = 0; i < n; i++) {
		if (lens[i] > 255)
			return -1;
		total += lens[i] + 1;
	}
	rd = xrealloc(NULL, total ? total : 1);
	for (i = 0; i < n; i++) {
		rd[o++] = (unsigned char)lens[i];
		memcpy(rd + o, strs[i], lens[i]);
		o += lens[i];
	}
	r = add_rdata(w, name, 16, ttl, rd, o);
	free(rd);
	return r;
}

static int
add_over(struct world *w, const char *name, int type, int rcode)
{
	if (w->nov == w->capov) {
		w->capov = w->capov ? 2 * w->capov : 8;
		w->ov = xrealloc(w->ov, w->capov * sizeof(*w->ov));
	}
	w->ov[w->nov].name = lowdup(name);
	w->ov[w->nov].type = type;
	w->ov[w->nov].rcode = rcode;
	w->nov++;
	return 0;
}

int
world_add_rcode(struct world *w, const char *name, int type, int rcode)
{
	if (rcode < 0 || rcode > 15)
		return -1;
	return add_over(w, name, type, rcode);
}

int
world_add_timeout(struct world *w, const char *name, int type)
{
	return add_over(w, name, type, -1);
}

/* ----- replies ----- */

struct out {
	unsigned char *buf;
	size_t sz, len;
	int bad;
};

static void
put(struct out *o, const void *p, size_t n)
{
	if (o->bad || o->len + n > o->sz) {
		o->bad = 1;
		return;
	}
	memcpy(o->buf + o->len, p, n);
	o->len += n;
}

static void
put16(struct out *o, unsigned v)
{
	unsigned char b[2] = { (unsigned char)(v >> 8), (unsigned char)v };

	put(o, b, 2);
}

static void
put32(struct out *o, unsigned long v)
{
	unsigned char b[4] = { (unsigned char)(v >> 24),
	    (unsigned char)(v >> 16), (unsigned char)(v >> 8),
	    (unsigned char)v };

	put(o, b, 4);
}

static void
put_name(struct out *o, const char *name)
{
	unsigned char tmp[256];
	int n = name_wire(name, tmp, sizeof(tmp));

	if (n < 0)
		o->bad = 1;
	else
		put(o, tmp, (size_t)n);
}

static void
put_rr(struct out *o, const char *owner, int type, unsigned ttl,
    const unsigned char *rd, size_t rdlen)
{
	put_name(o, owner);
	put16(o, (unsigned)type);
	put16(o, 1);
	put32(o, ttl);
	put16(o, (unsigned)rdlen);
	put(o, rd, rdlen);
}

/* find_over - the override for (name, type): that type first, then '*' */
static const struct wover *
find_over(const struct world *w, const char *name, int type)
{
	size_t i;
	int pass;

	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < w->nov; i++)
			if (w->ov[i].type == (pass ? WORLD_ANY_TYPE : type) &&
			    strcmp(w->ov[i].name, name) == 0)
				return &w->ov[i];
	return NULL;
}

/* name_exists - records at name or below it (an empty non-terminal) */
static int
name_exists(const struct world *w, const char *name)
{
	size_t i, n = strlen(name), m;

	for (i = 0; i < w->nrr; i++) {
		m = strlen(w->rr[i].name);
		if (strcmp(w->rr[i].name, name) == 0 || (m > n + 1 &&
		    w->rr[i].name[m - n - 1] == '.' &&
		    strcmp(w->rr[i].name + m - n, name) == 0))
			return 1;
	}
	return 0;
}

/* cname_of - the CNAME record at name, or NULL */
static const struct wrr *
cname_of(const struct world *w, const char *name)
{
	size_t i;

	for (i = 0; i < w->nrr; i++)
		if (w->rr[i].type == WORLD_T_CNAME &&
		    strcmp(w->rr[i].name, name) == 0)
			return &w->rr[i];
	return NULL;
}

/* wire_name_text - a wire name (uncompressed) as text */
static void
wire_name_text(const unsigned char *rd, size_t rdlen, char *out, size_t outsz)
{
	size_t p = 0, o = 0;

	while (p < rdlen && rd[p] != 0 && o + rd[p] + 2 < outsz) {
		if (o)
			out[o++] = '.';
		memcpy(out + o, rd + p + 1, rd[p]);
		o += rd[p];
		p += (size_t)rd[p] + 1;
	}
	out[o] = '\0';
}

int
world_reply(const struct world *w, const char *qname, int qtype,
    unsigned char *buf, size_t bufsz)
{
	struct out o = { buf, bufsz, 0, 0 };
	unsigned char soa[2 + 20];
	char cur[300], *lq;
	const struct wover *ov;
	const struct wrr *cn;
	unsigned an = 0, ns = 0, step;
	int rcode = 0, negative = 0;
	size_t i;

	lq = lowdup(qname);
	snprintf(cur, sizeof(cur), "%s", lq);
	free(lq);
	put(&o, "\0\0\x84\0\0\x01\0\0\0\0\0\0", 12);
	put_name(&o, qname);
	put16(&o, (unsigned)qtype);
	put16(&o, 1);
	for (step = 0;; step++) {
		if (step > WORLD_MAX_CHAIN) {
			rcode = 2;      /* a CNAME loop */
			break;
		}
		if ((ov = find_over(w, cur, qtype)) != NULL) {
			if (ov->rcode < 0)
				return 0;
			rcode = ov->rcode;
			break;
		}
		if (qtype != WORLD_T_CNAME && (cn = cname_of(w, cur)) != NULL) {
			put_rr(&o, cur, WORLD_T_CNAME, cn->ttl, cn->rdata,
			    cn->rdlen);
			an++;
			wire_name_text(cn->rdata, cn->rdlen, cur, sizeof(cur));
			continue;
		}
		negative = 1;
		for (i = 0; i < w->nrr; i++) {
			if (w->rr[i].type == qtype &&
			    strcmp(w->rr[i].name, cur) == 0) {
				put_rr(&o, cur, qtype, w->rr[i].ttl,
				    w->rr[i].rdata, w->rr[i].rdlen);
				an++;
				negative = 0;
			}
		}
		if (negative && !name_exists(w, cur))
			rcode = 3;
		break;
	}
	if (negative || rcode != 0) {
		/* an SOA for negative caching: TTL and MINIMUM 300 */
		memset(soa, 0, sizeof(soa));
		for (i = 0; i < 5; i++) {
			unsigned long v = i == 4 ? WORLD_NEG_TTL : 3600;

			soa[2 + 4 * i] = (unsigned char)(v >> 24);
			soa[3 + 4 * i] = (unsigned char)(v >> 16);
			soa[4 + 4 * i] = (unsigned char)(v >> 8);
			soa[5 + 4 * i] = (unsigned char)v;
		}
		if (rcode == 0 || rcode == 3) {
			put_rr(&o, "", 6, WORLD_NEG_TTL, soa, sizeof(soa));
			ns++;
		}
	}
	if (o.bad)
		return -1;
	buf[3] = (unsigned char)rcode;
	buf[6] = (unsigned char)(an >> 8);
	buf[7] = (unsigned char)an;
	buf[8] = (unsigned char)(ns >> 8);
	buf[9] = (unsigned char)ns;
	return (int)o.len;
}

/* ----- the upstream ----- */

void
world_answer(const struct world *w, const char *name, int type,
    struct dns_ask *tok)
{
	static unsigned char buf[65536];
	int n;

	n = world_reply(w, name, type, buf, sizeof(buf));
	if (n == 0)
		dns_upstream_reply(tok, DNS_XFER_TIMEOUT, NULL, 0);
	else if (n < 0)
		dns_upstream_reply(tok, DNS_XFER_ERROR, NULL, 0);
	else
		dns_upstream_reply(tok, DNS_XFER_REPLY, buf, n);
}

static void
world_ask(void *ctx, const char *name, int type, struct dns_ask *tok)
{
	struct world *w = ctx;

	w->questions++;
	world_answer(w, name, type, tok);
}

static struct dns_upstream world_up;

void
world_install(struct world *w)
{
	if (w == NULL) {
		dns_set_upstream(NULL);
		return;
	}
	world_up.ask = world_ask;
	world_up.ctx = w;
	dns_set_upstream(&world_up);
}

unsigned long
world_questions(const struct world *w)
{
	return w->questions;
}

/* ----- tests/diff/FORMAT ----- */

long
hex_decode(char *s)
{
	size_t i, n = strlen(s);
	unsigned v;

	if (strcmp(s, "-") == 0) {
		*s = '\0';
		return 0;
	}
	if (n % 2)
		return -1;
	for (i = 0; i < n / 2; i++) {
		if (sscanf(s + 2 * i, "%2x", &v) != 1 ||
		    !isxdigit((unsigned char)s[2 * i]) ||
		    !isxdigit((unsigned char)s[2 * i + 1]))
			return -1;
		s[i] = (char)v;
	}
	s[n / 2] = '\0';
	return (long)(n / 2);
}

#define WORLD_MAX_STRINGS 256

int
world_parse_line(struct world *w, char *line)
{
	char *tok[WORLD_MAX_STRINGS + 8], *save = NULL, *t;
	const char *strs[WORLD_MAX_STRINGS];
	size_t lens[WORLD_MAX_STRINGS], nt = 0, i;
	char data[300];
	long l;
	int type;

	for (t = strtok_r(line, " ", &save); t && nt < sizeof(tok) /
	    sizeof(tok[0]); t = strtok_r(NULL, " ", &save))
		tok[nt++] = t;
	if (nt == 0)
		return 0;
	if (strcmp(tok[0], "rr") == 0) {
		if (nt < 4)
			return -1;
		if (strcasecmp(tok[2], "TXT") == 0) {
			if (nt - 4 > WORLD_MAX_STRINGS)
				return -1;
			for (i = 4; i < nt; i++) {
				if (tok[i][0] != 'x' ||
				    (l = hex_decode(tok[i] + 1)) < 0)
					return -1;
				strs[i - 4] = tok[i] + 1;
				lens[i - 4] = (size_t)l;
			}
			return world_add_txt(w, tok[1], (unsigned)strtoul(
			    tok[3], NULL, 10), strs, lens, nt - 4) < 0 ? -1 : 1;
		}
		if (nt < 5)
			return -1;
		if (nt == 6)
			snprintf(data, sizeof(data), "%s %s", tok[4], tok[5]);
		else
			snprintf(data, sizeof(data), "%s", tok[4]);
		return world_add(w, tok[1], tok[2], (unsigned)strtoul(tok[3],
		    NULL, 10), data) < 0 ? -1 : 1;
	}
	if (strcmp(tok[0], "rcode") == 0 || strcmp(tok[0], "timeout") == 0) {
		if (nt < 3)
			return -1;
		type = strcmp(tok[2], "*") == 0 ? WORLD_ANY_TYPE :
		    world_type(tok[2]);
		if (type == 0 && strcmp(tok[2], "*") != 0)
			return -1;
		if (tok[0][0] == 't')
			return world_add_timeout(w, tok[1], type) < 0 ? -1 : 1;
		if (nt < 4)
			return -1;
		return world_add_rcode(w, tok[1], type, atoi(tok[3])) < 0 ?
		    -1 : 1;
	}
	return 0;
}
