/*
 * cidr - IPv4/IPv6 address ranges and lists of them.
 *
 * Every address is held as 16 bytes: IPv4 as IPv4-mapped IPv6
 * (::ffff:a.b.c.d, prefix + 96), so "192.0.2.0/24" matches both the client
 * "192.0.2.7" and "::ffff:192.0.2.7", and "::ffff:127.0.0.0/104" matches
 * "127.0.0.1".
 */
#ifndef SPFPD_CIDR_H
#define SPFPD_CIDR_H

#include <netinet/in.h>
#include <stddef.h>

struct cidr {
	unsigned char addr[16];
	unsigned bits;          /* 0..128, over the 16-byte form */
};

struct cidr_list {
	struct cidr *v;
	size_t n;
};

/* cidr_addr_parse - parse a bare address into 16-byte form; 0 ok, -1 bad */
int cidr_addr_parse(const char *s, unsigned char out[16]);

/* cidr_addr_v4 - an IPv4 address in 16-byte form (IPv4-mapped) */
void cidr_addr_v4(const struct in_addr *v4, unsigned char out[16]);

/* cidr_addr_is_v4 - is the 16-byte address IPv4-mapped? */
int cidr_addr_is_v4(const unsigned char a[16]);

/*
 * cidr_parse - parse "addr" or "addr/len".  On error returns -1 and puts a
 * message into err (for config errors: no host bits beyond the prefix).
 */
int cidr_parse(const char *s, struct cidr *out, char *err, size_t errsz);

#define CIDR_STRLEN 64

/* cidr_format - "192.0.2.0/24" or "2001:db8::/32" back from the 16-byte form */
const char *cidr_format(const struct cidr *c, char *buf, size_t bufsz);
/* cidr_format_short - the same, but one address without "/32" or "/128" */
const char *cidr_format_short(const struct cidr *c, char *buf,
    size_t bufsz);

int cidr_match(const struct cidr *c, const unsigned char a[16]);

/*
 * cidr_addr_local - what kind of address a is when it is no public one a
 * mail client can have, for a warning: "private (RFC 1918)", "loopback",
 * "shared CGNAT (RFC 6598)", "link-local", "unique local (RFC 4193)";
 * NULL otherwise
 */
const char *cidr_addr_local(const unsigned char a[16]);

/* cidr_list_add - append; 0 (out of memory is fatal: xmalloc.h) */
int cidr_list_add(struct cidr_list *l, const struct cidr *c);
void cidr_list_free(struct cidr_list *l);

/* cidr_list_match - does any range contain the address text?  0 on bad text */
int cidr_list_match(const struct cidr_list *l, const char *addr);
int cidr_list_match_addr(const struct cidr_list *l, const unsigned char a[16]);

#endif
