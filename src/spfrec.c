/*
 * spfrec - strict RFC 7208 record syntax.  See spfrec.h.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "spfrec.h"
#include "xmalloc.h"

int
spfrec_is_spf(const char *txt, size_t len)
{
	return len >= 6 && strncasecmp(txt, "v=spf1", 6) == 0 &&
	    (len == 6 || txt[6] == ' ');
}

static int
is_alnum(int c)
{
	return isascii(c) && isalnum(c);
}

static int
is_alpha(int c)
{
	return isascii(c) && isalpha(c);
}

/*
 * in_set - is c one of set?  Not strchr() alone: it finds the NUL that
 * ends set, and a record may hold a NUL byte (fuzz_spf: "%{\0}" passed).
 */
static int
in_set(const char *set, int c)
{
	return c != '\0' && strchr(set, c) != NULL;
}

/*
 * macro_ok - check one macro-expand at s[0] == '%'; returns its length or
 * 0 when invalid.  exp allows the letters c, r, t.
 */
static size_t
macro_ok(const char *s, size_t len, int exp)
{
	size_t i;
	int c;

	if (len < 2)
		return 0;
	if (s[1] == '%' || s[1] == '_' || s[1] == '-')
		return 2;
	if (s[1] != '{' || len < 4)
		return 0;
	c = tolower((unsigned char)s[2]);
	if (!in_set("slodiphv", c) && !(exp && in_set("crt", c)))
		return 0;
	i = 3;
	while (i < len && isdigit((unsigned char)s[i]))
		i++;
	/* RFC 7208 7.1: "If a DIGIT is specified, the value MUST be nonzero" */
	if (i > 3 && strspn(s + 3, "0") >= i - 3)
		return 0;
	if (i < len && tolower((unsigned char)s[i]) == 'r')
		i++;
	while (i < len && in_set(".-+,/_=", s[i]))
		i++;
	if (i >= len || s[i] != '}')
		return 0;
	return i + 1;
}

static int macro_string(const char *s, size_t len, int exp, int bounded);

int
spfrec_macro_string_ok(const char *s, size_t len, int exp)
{
	return macro_string(s, len, exp, 1);
}

int
spfrec_explanation_ok(const char *s, size_t len)
{
	return macro_string(s, len, 1, 0);
}

static int
macro_string(const char *s, size_t len, int exp, int bounded)
{
	size_t i = 0, n, size = 0, run = 0;
	unsigned char c;

	while (i < len) {
		c = (unsigned char)s[i];
		if (c == '%') {
			if ((n = macro_ok(s + i, len - i, exp)) == 0)
				return 0;
			if (s[i + 1] == '{') {
				/* a variable: ends the literal before it */
				if (run)
					size += 8 + run;
				run = 0;
				size += 8;
			} else {
				/* literals: "%%" "%_" one byte, "%-" "%20" */
				run += s[i + 1] == '-' ? 3 : 1;
			}
			i += n;
			continue;
		}
		/* macro-literal = %x21-24 / %x26-7E (exp text: also space) */
		if (!((c >= 0x21 && c <= 0x7e) || (exp && c == ' ')))
			return 0;
		run++;
		i++;
	}
	if (run)
		size += 8 + run;
	/*
	 * libspf2 compiles a macro-string into a fixed buffer on the stack
	 * (SPF_MAX_MOD_LEN, 511 bytes) without checking its end: 43 times
	 * "%{O}S" in an explanation smashes its stack (found by fuzz_spf).
	 * "%{d}" and 157 "%-" (each written "%20") did it too.  Each
	 * variable costs it 4 bytes and each literal run 4 plus its length
	 * rounded up; our estimate is above that, and the bound well below
	 * 511, so what might not fit is refused.
	 */
	return !bounded || size <= SPFREC_MACRO_MAX_COMPILED;
}

/* toplabel: alphanumerics with at least one letter, or with a dash inside */
static int
toplabel_ok(const char *s, size_t len)
{
	size_t i;
	int alpha = 0;

	if (len == 0 || len > 63)
		return 0;
	if (!is_alnum((unsigned char)s[0]) ||
	    !is_alnum((unsigned char)s[len - 1]))
		return 0;
	for (i = 0; i < len; i++) {
		if (is_alpha((unsigned char)s[i]))
			alpha = 1;
		else if (s[i] == '-')
			alpha = 1;      /* 1*alphanum "-" ... alphanum form */
		else if (!isdigit((unsigned char)s[i]))
			return 0;
	}
	return alpha;
}

int
spfrec_domain_spec_ok(const char *s, size_t len)
{
	const char *end, *dot;
	size_t n;

	if (len == 0 || !spfrec_macro_string_ok(s, len, 0))
		return 0;
	/* domain-end = ( "." toplabel [ "." ] ) / macro-expand */
	end = s + len;
	if (end[-1] == '}') {
		/* ends in a macro-expand: find its "%{" start */
		const char *p = end - 1;

		while (p > s && !(p[0] == '%' && p[1] == '{'))
			p--;
		if (p[0] == '%' && macro_ok(p, (size_t)(end - p), 0) ==
		    (size_t)(end - p))
			return 1;
		return 0;
	}
	if (len >= 2 && end[-1] == '%' ) {
		/* "%%", "%_" or "%-" ending: not a domain-end */
		return 0;
	}
	if (end[-1] == '.')
		end--;
	if (end == s)
		return 0;
	n = (size_t)(end - s);
	dot = NULL;
	{
		const char *p;

		for (p = end - 1; p >= s; p--)
			if (*p == '.') {
				dot = p;
				break;
			}
	}
	if (dot == NULL)
		return 0;       /* a single label has no "." toplabel */
	(void)n;
	return toplabel_ok(dot + 1, (size_t)(end - dot - 1));
}

static int
cidr_ok(const char *s, size_t len, unsigned max)
{
	unsigned v = 0;
	size_t i;

	if (len == 0 || len > 3)
		return 0;
	if (s[0] == '0' && len > 1)
		return 0;       /* no leading zeros */
	for (i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return 0;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	return v <= max;
}

/* dual-cidr-length = [ ip4-cidr-length ] [ "/" ip6-cidr-length ] */
static int
dual_cidr_ok(const char *s, size_t len)
{
	const char *slash2;

	if (len == 0)
		return 1;
	if (s[0] != '/')
		return 0;
	if (len >= 2 && s[1] == '/')
		return cidr_ok(s + 2, len - 2, 128);
	slash2 = memchr(s + 1, '/', len - 1);
	if (slash2 == NULL)
		return cidr_ok(s + 1, len - 1, 32);
	if (!cidr_ok(s + 1, (size_t)(slash2 - s - 1), 32))
		return 0;
	if ((size_t)(slash2 - s) + 1 >= len || slash2[1] != '/')
		return 0;
	return cidr_ok(slash2 + 2, len - (size_t)(slash2 - s) - 2, 128);
}

/*
 * spec_len - the domain-spec part of "a:domain/24//64": a dual-cidr-length
 * is recognised at the end of the term (as pyspf does), so a domain-spec
 * may itself hold '/' and ':' (RFC 7208 7.1: any visible character).
 */
static size_t
spec_len(const char *s, size_t len)
{
	size_t i = len, d;

	/* optional "//" 1*3DIGIT at the very end */
	d = 0;
	while (i > 0 && d < 4 && isdigit((unsigned char)s[i - 1])) {
		i--;
		d++;
	}
	if (d > 0 && i >= 2 && s[i - 1] == '/' && s[i - 2] == '/') {
		len = i - 2;
		i = len;
		d = 0;
		while (i > 0 && d < 4 && isdigit((unsigned char)s[i - 1])) {
			i--;
			d++;
		}
	}
	if (d > 0 && i >= 1 && s[i - 1] == '/' && (i < 2 || s[i - 2] != '/'))
		return i - 1;
	return len;
}

/*
 * ip_literal_ok - an ip4-network (af AF_INET: exactly four decimal octets,
 * no leading zeros, as inet_pton takes them) or ip6-network of len bytes
 */
static int
ip_literal_ok(int af, const char *s, size_t len)
{
	char buf[INET6_ADDRSTRLEN + 1];
	struct in6_addr a;

	if (len == 0 || len >= (af == AF_INET ? INET_ADDRSTRLEN : sizeof(buf)))
		return 0;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return inet_pton(af, buf, &a) == 1;
}

#define FAIL(...) do { snprintf(err, errsz, __VA_ARGS__); return -1; } \
    while (0)

int
spfrec_next_term(const char **t, const char *e, const char **sp)
{
	while (*t < e && **t == ' ')
		(*t)++;
	if (*t >= e)
		return 0;
	if ((*sp = memchr(*t, ' ', (size_t)(e - *t))) == NULL)
		*sp = e;
	return 1;
}

int
spfrec_is_modifier(const char *t, size_t n)
{
	const char *eq = memchr(t, '=', n), *colon = memchr(t, ':', n);

	return n > 0 && eq != NULL && (colon == NULL || eq < colon) &&
	    is_alpha((unsigned char)*t);
}

/* modifier_ok - name "=" value (RFC 7208 6; eq: the "=" in t) */
static int
modifier_ok(const char *t, size_t len, const char *eq,
    struct spfrec_info *info, char *err, size_t errsz)
{
	size_t nlen = (size_t)(eq - t), alen = len - nlen - 1, i;
	const char *arg = eq + 1;

	for (i = 1; i < nlen; i++)
		if (!is_alnum((unsigned char)t[i]) && !in_set("-_.", t[i]))
			FAIL("bad modifier name '%.*s'", (int)nlen, t);
	if (nlen == 8 && strncasecmp(t, "redirect", 8) == 0) {
		if (info->has_redirect++)
			FAIL("redirect= given twice");
		if (!spfrec_domain_spec_ok(arg, alen))
			FAIL("bad domain in redirect=");
	} else if (nlen == 3 && strncasecmp(t, "exp", 3) == 0) {
		if (info->has_exp++)
			FAIL("exp= given twice");
		if (!spfrec_domain_spec_ok(arg, alen))
			FAIL("bad domain in exp=");
	} else if (!spfrec_macro_string_ok(arg, alen, 0)) {
		FAIL("bad value of modifier '%.*s'", (int)nlen, t);
	}
	return 0;
}

/* ip_ok - "ip4:" / "ip6:" ip4-network / ip6-network [ cidr-length ] */
static int
ip_ok(const char *name, size_t len, const char *arg, size_t alen,
    char *err, size_t errsz)
{
	int v6 = name[2] == '6';
	const char *slash;
	size_t sl;

	if (alen < 2 || *arg != ':')
		FAIL("bad ip%c '%.*s'", name[2], (int)len, name);
	arg++;
	alen--;
	slash = memchr(arg, '/', alen);
	sl = slash ? (size_t)(slash - arg) : alen;
	if (!ip_literal_ok(v6 ? AF_INET6 : AF_INET, arg, sl) || (slash &&
	    !cidr_ok(slash + 1, alen - sl - 1, v6 ? 128 : 32)))
		FAIL("bad ip%c '%.*s'", name[2], (int)len, name);
	return 0;
}

/* mechanism_ok - a mechanism without its qualifier (RFC 7208 5) */
static int
mechanism_ok(const char *name, size_t len, struct spfrec_info *info,
    char *err, size_t errsz)
{
	size_t nlen = 0, alen, sl;
	const char *arg;

	while (nlen < len && name[nlen] != ':' && name[nlen] != '/')
		nlen++;
	arg = name + nlen;
	alen = len - nlen;
	info->nterms++;
#define IS(m) (nlen == sizeof(m) - 1 && strncasecmp(name, m, nlen) == 0)
	if (IS("all")) {
		if (alen)
			FAIL("'all' takes no argument");
		info->has_all = 1;
	} else if (IS("include") || IS("exists")) {
		if (alen < 1 || *arg != ':' || !spfrec_domain_spec_ok(arg + 1,
		    alen - 1))
			FAIL("bad domain in '%.*s'", (int)len, name);
	} else if (IS("a") || IS("mx")) {
		if (alen && *arg == ':') {
			sl = spec_len(arg + 1, alen - 1);
			if (!spfrec_domain_spec_ok(arg + 1, sl))
				FAIL("bad domain in '%.*s'", (int)len, name);
			arg += 1 + sl;
			alen -= 1 + sl;
		}
		if (!dual_cidr_ok(arg, alen))
			FAIL("bad cidr-length in '%.*s'", (int)len, name);
	} else if (IS("ptr")) {
		if (alen && (*arg != ':' || !spfrec_domain_spec_ok(arg + 1,
		    alen - 1)))
			FAIL("bad domain in '%.*s'", (int)len, name);
	} else if (IS("ip4") || IS("ip6")) {
		return ip_ok(name, len, arg, alen, err, errsz);
	} else {
		FAIL("unknown mechanism '%.*s'", (int)(nlen > 40 ? 40 : nlen),
		    name);
	}
#undef IS
	return 0;
}

static int
term_ok(const char *t, size_t len, struct spfrec_info *info, char *err,
    size_t errsz)
{
	/* a modifier: name "=" ... (name starts with a letter) */
	if (spfrec_is_modifier(t, len))
		return modifier_ok(t, len, memchr(t, '=', len), info, err,
		    errsz);
	if (len && in_set("+-~?", *t))
		return mechanism_ok(t + 1, len - 1, info, err, errsz);
	return mechanism_ok(t, len, info, err, errsz);
}

int
spfrec_check(const char *txt, size_t len, struct spfrec_info *info,
    char *err, size_t errsz)
{
	struct spfrec_info dummy;
	const char *p, *end = txt + len, *sp;
	size_t i;

	if (info == NULL)
		info = &dummy;
	memset(info, 0, sizeof(*info));
	if (!spfrec_is_spf(txt, len))
		FAIL("not an SPF record");
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)txt[i];

		if (c < 0x20 || c > 0x7e)
			FAIL("non-ASCII or control character in record");
	}
	for (p = txt + 6; spfrec_next_term(&p, end, &sp); p = sp)
		if (term_ok(p, (size_t)(sp - p), info, err, errsz) < 0)
			return -1;
	return 0;
}

/* bounded_num - decimal digits in [s, lim), at most 3 (cidr lengths) */
static unsigned long
bounded_num(const char *s, const char *lim, const char **end)
{
	unsigned long n = 0;
	int digits = 0;

	while (s < lim && digits < 3 && isdigit((unsigned char)*s)) {
		n = n * 10 + (unsigned long)(*s++ - '0');
		digits++;
	}
	*end = s;
	return n;
}

static int
strip_suffix(const char *name, const char *suffix, char *base, size_t basesz)
{
	size_t n = strlen(name), l = strlen(suffix);

	if (n <= l || strcmp(name + n - l, suffix) != 0 || n - l >= basesz)
		return 0;
	memcpy(base, name, n - l);
	base[n - l] = '\0';
	return 1;
}

int
spfrec_synth_name(const char *name, char *base, size_t basesz)
{
	if (strip_suffix(name, SPFREC_ANY_A, base, basesz))
		return 0;
	if (strip_suffix(name, SPFREC_ANY_MX, base, basesz))
		return 1;
	return -1;
}

/*
 * rewrite_amx - "a" and "mx" terms: keep only the cidr-length of the
 * client's family (libspf2 refuses a length of 0 and applies both); a
 * length of 0 means "the name has any address" and becomes an exists: on
 * a reserved name that spf.c resolves (SPFREC_ANY_A / SPFREC_ANY_MX).
 */
static int
rewrite_amx(const char *q, const char *m, size_t mn, int v6, char *buf,
    size_t bufsz)
{
	int mx = tolower((unsigned char)m[0]) == 'm';
	size_t nl = mx ? 2 : 1, dl, sl;
	const char *dom = "%{d}", *cidr, *p, *lim, *end;
	unsigned long c4 = 32, c6 = 128;

	p = m + nl;
	sl = mn - nl;
	dl = 4;
	if (sl && *p == ':') {
		dl = spec_len(p + 1, sl - 1);
		dom = p + 1;
		cidr = p + 1 + dl;
		sl -= 1 + dl;
	} else {
		cidr = p;
	}
	/*
	 * cidr: "", "/N", "//N", "/N//M" (checked by spfrec_check), read
	 * within its sl bytes: the record need not be NUL-terminated.
	 */
	lim = cidr + sl;
	if (sl >= 2 && cidr[0] == '/' && cidr[1] == '/') {
		c6 = bounded_num(cidr + 2, lim, &end);
	} else if (sl >= 1 && cidr[0] == '/') {
		c4 = bounded_num(cidr + 1, lim, &end);
		if (lim - end >= 2 && end[0] == '/' && end[1] == '/')
			c6 = bounded_num(end + 2, lim, &end);
	}
	if ((v6 ? c6 : c4) == 0) {
		/* "a:example.com./0": no empty label before our suffix */
		if (dl > 1 && dom[dl - 1] == '.')
			dl--;
		return snprintf(buf, bufsz, "%sexists:%.*s%s", q, (int)dl, dom,
		    mx ? SPFREC_ANY_MX : SPFREC_ANY_A) >= (int)bufsz ? -1 : 0;
	}
	if (v6)
		return snprintf(buf, bufsz, "%s%.*s%s%.*s//%lu", q, (int)nl, m,
		    dom == p + 1 ? ":" : "", dom == p + 1 ? (int)dl : 0, dom,
		    c6) >= (int)bufsz ? -1 : 0;
	return snprintf(buf, bufsz, "%s%.*s%s%.*s/%lu", q, (int)nl, m,
	    dom == p + 1 ? ":" : "", dom == p + 1 ? (int)dl : 0, dom, c4) >=
	    (int)bufsz ? -1 : 0;
}

/* rput - " " and l bytes of str at out + *o; -1 when it does not fit */
static int
rput(char *out, size_t outsz, size_t *o, const char *str, size_t l)
{
	if (*o + 1 + l >= outsz)
		return -1;
	out[(*o)++] = ' ';
	memcpy(out + *o, str, l);
	*o += l;
	return 0;
}

/*
 * rewrite_mech - the mechanism p (n bytes) as libspf2 gets it, in buf:
 * ip4:x/0 and ip6:x/0 as two halves, a and mx by rewrite_amx().  Returns
 * its length, 0 when it stays as written, -1 when it cannot be rewritten.
 */
static long
rewrite_mech(const char *p, size_t n, int v6, char *buf, size_t bufsz)
{
	const char *m = p;
	size_t mn = n;
	char q[2] = { 0, 0 };

	if (in_set("+-~?", *m)) {
		q[0] = *m;
		m++;
		mn--;
	}
	if (mn > 4 && (strncasecmp(m, "ip4:", 4) == 0 ||
	    strncasecmp(m, "ip6:", 4) == 0) && m[mn - 2] == '/' &&
	    m[mn - 1] == '0') {
		int v4 = m[2] == '4';

		return snprintf(buf, bufsz, "%s%s %s%s", q,
		    v4 ? "ip4:0.0.0.0/1" : "ip6:::/1", q,
		    v4 ? "ip4:128.0.0.0/1" : "ip6:8000::/1");
	}
	if ((mn >= 1 && tolower((unsigned char)m[0]) == 'a' &&
	    (mn == 1 || m[1] == ':' || m[1] == '/')) ||
	    (mn >= 2 && strncasecmp(m, "mx", 2) == 0 &&
	    (mn == 2 || m[2] == ':' || m[2] == '/'))) {
		if (n > 500 || rewrite_amx(q, m, mn, v6, buf, bufsz) < 0)
			return -1;
		return (long)strlen(buf);
	}
	return 0;
}

/*
 * spfrec_rewrite - the record in a form libspf2 evaluates as RFC 7208 says:
 * unknown modifiers dropped (libspf2 rejects some valid names), redirect=
 * dropped when the record has "all" (RFC 7208 6.1), and an ip4/ip6 range
 * of length 0 (which libspf2 refuses) written as its two halves.  The
 * record must have passed spfrec_check().  Returns 0, or -1 when out is
 * too small.
 */
int
spfrec_rewrite(const char *txt, size_t len, int v6, char *out, size_t outsz)
{
	struct spfrec_info info;
	const char *p, *end = txt + len, *sp;
	const char *redirect = NULL;
	size_t o, n, redirect_len = 0;
	char err[128], buf[600];
	long r;

	if (spfrec_check(txt, len, &info, err, sizeof(err)) < 0 || outsz < 7)
		return -1;
	memcpy(out, "v=spf1", 6);
	o = 6;
	for (p = txt + 6; spfrec_next_term(&p, end, &sp); p = sp) {
		n = (size_t)(sp - p);
		if (spfrec_is_modifier(p, n)) {
			size_t nl = (size_t)((const char *)memchr(p, '=', n) -
			    p);

			if (nl == 8 && strncasecmp(p, "redirect", 8) == 0 &&
			    !info.has_all) {
				redirect = p;   /* last: libspf2 takes it */
				redirect_len = n;       /* where it stands */
			} else if (nl == 3 && strncasecmp(p, "exp", 3) == 0 &&
			    rput(out, outsz, &o, p, n) < 0) {
				return -1;
			}
			continue;       /* unknown modifier: no effect */
		}
		if ((r = rewrite_mech(p, n, v6, buf, sizeof(buf))) < 0 ||
		    (r > 0 ? rput(out, outsz, &o, buf, (size_t)r) :
		    rput(out, outsz, &o, p, n)) < 0)
			return -1;
	}
	if (redirect != NULL && rput(out, outsz, &o, redirect,
	    redirect_len) < 0)
		return -1;
	out[o] = '\0';
	return 0;
}

/* ----- a term moved out of its record (spf.c's continuation records) ----- */

static int
plain_domain(const char *d)
{
	size_t i, n = strlen(d);

	if (n > 1 && d[n - 1] == '.')
		n--;                    /* one final dot */
	if (n == 0 || n > 253 || d[0] == '.' || d[n - 1] == '.')
		return 0;
	for (i = 0; i < n; i++) {
		if (!is_alnum((unsigned char)d[i]) && d[i] != '-' &&
		    d[i] != '_' && d[i] != '.')
			return 0;
		if (d[i] == '.' && d[i + 1] == '.')
			return 0;
	}
	return 1;
}

int
spfrec_pin_domain(const char *term, size_t n, const char *dom, char *out,
    size_t outsz)
{
	const char *m = term;
	size_t mn, nl = 0, dl = strlen(dom);

	if (!plain_domain(dom) || memchr(term, '%', n) != NULL)
		return -1;
	/* a, mx, ptr with no domain-spec: the current domain, written out */
	if (n && in_set("+-~?", *m))
		m++;
	mn = n - (size_t)(m - term);
	if (mn >= 3 && strncasecmp(m, "ptr", 3) == 0)
		nl = 3;
	else if (mn >= 2 && strncasecmp(m, "mx", 2) == 0)
		nl = 2;
	else if (mn >= 1 && tolower((unsigned char)m[0]) == 'a')
		nl = 1;
	if (nl == 0 || (mn != nl && m[nl] != '/')) {
		if (n + 1 > outsz)
			return -1;
		memcpy(out, term, n);
		out[n] = '\0';
		return 0;
	}
	nl += (size_t)(m - term);
	if (n + 1 + dl + 1 > outsz)
		return -1;
	memcpy(out, term, nl);
	out[nl] = ':';
	memcpy(out + nl + 1, dom, dl);
	memcpy(out + nl + 1 + dl, term + nl, n - nl);
	out[n + 1 + dl] = '\0';
	return 0;
}

/* ----- macro expansion (RFC 7208 7) ----- */

/* url_escape - RFC 3986 2.1: all but unreserved, upper-case hex */
static size_t
url_escape(const char *s, size_t n, char *out, size_t outsz)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, o = 0;
	unsigned char c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (is_alnum(c) || c == '-' || c == '.' || c == '_' ||
		    c == '~') {
			if (o + 1 >= outsz)
				return (size_t)-1;
			out[o++] = (char)c;
		} else {
			if (o + 3 >= outsz)
				return (size_t)-1;
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	return o;
}

/*
 * transform - value v (vlen bytes) cut at the delimiters, reversed with
 * rev, the rightmost n parts (all when n is 0) joined with "." (RFC 7208
 * 7.3), into out, which has room for vlen bytes: its length.  One pass
 * to find the parts, one to write them: linear in vlen.
 */
static size_t
transform(const char *v, size_t vlen, unsigned long n, int rev,
    const char *delims, size_t ndelims, char *out, size_t *start,
    size_t *plen)
{
	size_t nparts = 0, i, k, first, o = 0, s0 = 0, idx;

	for (i = 0; i <= vlen; i++) {
		if (i == vlen || memchr(delims, v[i], ndelims) != NULL) {
			start[nparts] = s0;
			plen[nparts++] = i - s0;
			s0 = i + 1;
		}
	}
	first = n && n < nparts ? nparts - n : 0;
	for (k = first; k < nparts; k++) {
		idx = rev ? nparts - 1 - k : k;
		if (k > first)
			out[o++] = '.';
		memcpy(out + o, v + start[idx], plen[idx]);
		o += plen[idx];
	}
	return o;
}

/* letter_value - the value of a macro letter, "unknown" for none */
static const char *
letter_value(const struct spfrec_env *env, int c)
{
	const char *v;

	switch (tolower(c)) {
	case 's': v = env->s; break;
	case 'l': v = env->l; break;
	case 'o': v = env->o; break;
	case 'd': v = env->d; break;
	case 'i': v = env->i; break;
	case 'p': v = env->p; break;
	case 'v': v = env->v; break;
	case 'h': v = env->h; break;
	case 'c': v = env->c; break;
	case 'r': v = env->r; break;
	case 't': v = env->t; break;
	default: return NULL;
	}
	return v ? v : "unknown";
}

size_t
spfrec_expand_size(const char *s, size_t len, const struct spfrec_env *env)
{
	size_t i, need = 1;
	const char *v;

	for (i = 0; i < len; i++) {
		if (s[i] == '%' && i + 2 < len && s[i + 1] == '{' &&
		    (v = letter_value(env, (unsigned char)s[i + 2])) != NULL)
			need += 3 * strlen(v);
		else
			need += 3;      /* "%-" is "%20" */
	}
	return need;
}

/* the output of spfrec_expand: full is an error, or with partial the end */
struct xout {
	char *p;
	size_t sz, o;
	int partial;
};

/* xemit - 0, 1 (partial: full, the text ends here), -1 (full) */
static int
xemit(struct xout *x, const char *str, size_t l)
{
	if (x->o + l >= x->sz) {
		if (!x->partial)
			return -1;
		l = x->sz - 1 - x->o;
		memcpy(x->p + x->o, str, l);
		x->o += l;
		return 1;
	}
	memcpy(x->p + x->o, str, l);
	x->o += l;
	return 0;
}

/* room for transform() and url_escape() over a value of up to cap-1 bytes */
struct xscratch {
	char *tmp, *esc;
	size_t *start, *plen, cap;
};

static void
xscratch_free(struct xscratch *x)
{
	free(x->tmp);
	free(x->esc);
	free(x->start);
	free(x->plen);
}

static void
xscratch_fit(struct xscratch *x, size_t vlen)
{
	if (vlen + 1 <= x->cap)
		return;
	xscratch_free(x);
	x->cap = vlen + 1;
	x->tmp = xmalloc(x->cap);
	x->esc = xreallocarray(NULL, x->cap, 3);
	x->start = xreallocarray(NULL, x->cap, sizeof(*x->start));
	x->plen = xreallocarray(NULL, x->cap, sizeof(*x->plen));
}

/*
 * xmacro - the macro "%{...}" at s[i] (s[i + 1] == '{'): its value,
 * transformed (and escaped for an upper-case letter), in *val / *vl;
 * *next: the index after its "}".  -1: not a macro we can expand.
 */
static int
xmacro(const char *s, size_t len, size_t i, const struct spfrec_env *env,
    struct xscratch *x, const char **val, size_t *vl, size_t *next)
{
	size_t m, n, vlen, tl;
	unsigned long num;
	const char *v;
	int rev, c;

	if (i + 3 >= len)
		return -1;
	c = (unsigned char)s[i + 2];
	if ((v = letter_value(env, c)) == NULL)
		return -1;
	for (m = i + 3, num = 0; m < len && isdigit((unsigned char)s[m]); m++)
		num = num * 10 + (unsigned long)(s[m] - '0') > 100000 ?
		    100000 : num * 10 + (unsigned long)(s[m] - '0');
	rev = 0;
	if (m < len && tolower((unsigned char)s[m]) == 'r') {
		rev = 1;
		m++;
	}
	for (n = m; n < len && s[n] != '}'; n++)
		;
	if (n >= len)
		return -1;
	xscratch_fit(x, vlen = strlen(v));
	tl = transform(v, vlen, num, rev, n > m ? s + m : ".",
	    n > m ? n - m : 1, x->tmp, x->start, x->plen);
	*next = n + 1;
	if (!isupper(c)) {
		*val = x->tmp;
		*vl = tl;
		return 0;
	}
	*val = x->esc;
	*vl = url_escape(x->tmp, tl, x->esc, 3 * x->cap);
	return *vl == (size_t)-1 ? -1 : 0;
}

long
spfrec_expand(const char *s, size_t len, const struct spfrec_env *env,
    char *out, size_t outsz, int partial)
{
	struct xout o = { out, outsz, 0, partial };
	struct xscratch x = { NULL, NULL, NULL, NULL, 0 };
	const char *v;
	size_t i = 0, vl, next;
	int r = 0;

	if (outsz == 0)
		return -1;
	while (i < len && r == 0) {
		if (s[i] != '%') {
			r = xemit(&o, s + i++, 1);
		} else if (i + 1 >= len) {
			r = -1;
		} else if (s[i + 1] == '%' || s[i + 1] == '_' ||
		    s[i + 1] == '-') {
			r = xemit(&o, s[i + 1] == '%' ? "%" : s[i + 1] == '_' ?
			    " " : "%20", s[i + 1] == '-' ? 3 : 1);
			i += 2;
		} else if (s[i + 1] != '{' ||
		    xmacro(s, len, i, env, &x, &v, &vl, &next) < 0) {
			r = -1;
		} else {
			r = xemit(&o, v, vl);
			i = next;
		}
	}
	xscratch_free(&x);
	if (r < 0)
		return -1;
	out[o.o] = '\0';
	return (long)o.o;
}

int
spfrec_term_spec(const char *t, size_t len, size_t *off, size_t *slen)
{
	const char *name = t;
	size_t nlen = 0, n = len;

	if (len && in_set("+-~?", *t)) {
		name++;
		n--;
	}
	while (nlen < n && name[nlen] != ':' && name[nlen] != '/' &&
	    name[nlen] != '=')
		nlen++;
	if (nlen == n || (name[nlen] != ':' && name[nlen] != '='))
		return 0;
	*off = (size_t)(name - t) + nlen + 1;
	if ((nlen == 1 && strncasecmp(name, "a", 1) == 0) ||
	    (nlen == 2 && strncasecmp(name, "mx", 2) == 0))
		*slen = spec_len(t + *off, len - *off);
	else
		*slen = len - *off;
	return 1;
}

int
spfrec_domain_ok(const char *d)
{
	const char *dot = strrchr(d, '.');

	return dot != NULL && toplabel_ok(dot + 1, strlen(dot + 1));
}
