/*
 * cidr - IPv4/IPv6 address ranges.  See cidr.h.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cidr.h"
#include "xmalloc.h"

static const unsigned char v4mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

int
cidr_addr_is_v4(const unsigned char a[16])
{
	return memcmp(a, v4mapped, sizeof(v4mapped)) == 0;
}

void
cidr_addr_v4(const struct in_addr *v4, unsigned char out[16])
{
	memcpy(out, v4mapped, sizeof(v4mapped));
	memcpy(out + 12, v4, 4);
}

int
cidr_addr_parse(const char *s, unsigned char out[16])
{
	struct in_addr v4;

	if (s == NULL || *s == '\0')
		return -1;
	if (inet_pton(AF_INET, s, &v4) == 1) {
		cidr_addr_v4(&v4, out);
		return 0;
	}
	if (inet_pton(AF_INET6, s, out) == 1)
		return 0;
	return -1;
}

int
cidr_parse(const char *s, struct cidr *out, char *err, size_t errsz)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash;
	char *end;
	unsigned long len;
	unsigned maxbits, i;
	int v4;

	slash = strchr(s, '/');
	if ((slash ? (size_t)(slash - s) : strlen(s)) >= sizeof(buf)) {
		snprintf(err, errsz, "bad address range '%.100s'", s);
		return -1;
	}
	snprintf(buf, sizeof(buf), "%.*s",
	    (int)(slash ? (size_t)(slash - s) : strlen(s)), s);
	v4 = strchr(buf, ':') == NULL;
	if (cidr_addr_parse(buf, out->addr) < 0) {
		snprintf(err, errsz, "bad address '%.100s'", buf);
		return -1;
	}
	maxbits = v4 ? 32 : 128;
	if (slash == NULL) {
		len = maxbits;
	} else {
		if (slash[1] < '0' || slash[1] > '9') {
			snprintf(err, errsz, "bad prefix length in '%.100s'", s);
			return -1;
		}
		len = strtoul(slash + 1, &end, 10);
		if (*end != '\0' || len > maxbits) {
			snprintf(err, errsz, "bad prefix length in '%.100s'", s);
			return -1;
		}
	}
	out->bits = (unsigned)len + (v4 ? 96 : 0);
	for (i = out->bits; i < 128; i++) {
		if (out->addr[i / 8] & (0x80 >> (i % 8))) {
			snprintf(err, errsz,
			    "non-zero host bits in '%.100s' beyond /%lu", s, len);
			return -1;
		}
	}
	return 0;
}

const char *
cidr_format(const struct cidr *c, char *buf, size_t bufsz)
{
	char a[INET6_ADDRSTRLEN];

	if (cidr_addr_is_v4(c->addr) && c->bits >= 96) {
		inet_ntop(AF_INET, c->addr + 12, a, sizeof(a));
		snprintf(buf, bufsz, "%s/%u", a, c->bits - 96);
	} else {
		inet_ntop(AF_INET6, c->addr, a, sizeof(a));
		snprintf(buf, bufsz, "%s/%u", a, c->bits);
	}
	return buf;
}

const char *
cidr_format_short(const struct cidr *c, char *buf, size_t bufsz)
{
	cidr_format(c, buf, bufsz);
	if (c->bits == 128)
		buf[strcspn(buf, "/")] = '\0';
	return buf;
}

int
cidr_match(const struct cidr *c, const unsigned char a[16])
{
	unsigned full = c->bits / 8, rest = c->bits % 8;

	if (memcmp(c->addr, a, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((c->addr[full] ^ a[full]) & (0xff << (8 - rest))) == 0;
}

int
cidr_list_add(struct cidr_list *l, const struct cidr *c)
{
	l->v = xreallocarray(l->v, l->n + 1, sizeof(*l->v));
	l->v[l->n++] = *c;
	return 0;
}

void
cidr_list_free(struct cidr_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

int
cidr_list_match_addr(const struct cidr_list *l, const unsigned char a[16])
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (cidr_match(&l->v[i], a))
			return 1;
	return 0;
}

int
cidr_list_match(const struct cidr_list *l, const char *addr)
{
	unsigned char a[16];

	if (cidr_addr_parse(addr, a) < 0)
		return 0;
	return cidr_list_match_addr(l, a);
}

const char *
cidr_addr_local(const unsigned char a[16])
{
	static const struct {
		const char *range, *kind;
	} local[] = {
		{ "10.0.0.0/8", "private (RFC 1918)" },
		{ "172.16.0.0/12", "private (RFC 1918)" },  /* Docker's too */
		{ "192.168.0.0/16", "private (RFC 1918)" },
		{ "127.0.0.0/8", "loopback" },
		{ "::1", "loopback" },
		{ "100.64.0.0/10", "shared CGNAT (RFC 6598)" },
		{ "169.254.0.0/16", "link-local" },
		{ "fe80::/10", "link-local" },
		{ "fc00::/7", "unique local (RFC 4193)" },
	};
	struct cidr c;
	char err[128];
	size_t i;

	for (i = 0; i < sizeof(local) / sizeof(local[0]); i++)
		if (cidr_parse(local[i].range, &c, err, sizeof(err)) == 0 &&
		    cidr_match(&c, a))
			return local[i].kind;
	return NULL;
}
