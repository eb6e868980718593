/*
 * addr - numeric socket addresses as spfpd.conf writes them: one
 * host:port parser for the two options that take addresses, listen and
 * dns_servers.  Depends on the C library only, so that both the config
 * (which checks values) and the listener (which binds them) can use it.
 *
 *   "a.b.c.d", "a.b.c.d:port", "[IPv6]", "[IPv6]:port", bare IPv6
 *
 * Addresses are numeric: resolving a name here would block and lie.
 * Without brackets, the colons of an IPv6 address are told from the
 * port's this way: when a port is required (listen), the last colon
 * starts it ("::1:25" is ::1 port 25); when it may be left out
 * (dns_servers), only a lone colon does ("::1" is an address alone).
 */
#ifndef SPFPD_ADDR_H
#define SPFPD_ADDR_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

/* addr_parse_hostport flags */
#define ADDR_PORT_REQUIRED 0x01 /* no default port */
#define ADDR_LOCALHOST     0x02 /* "localhost" means 127.0.0.1 */

/* what addr_parse_hostport found wrong, in the order it looks */
enum addr_error {
	ADDR_OK,
	ADDR_E_BRACKET,         /* "[" without "]", or junk after "]" */
	ADDR_E_NO_PORT,         /* ADDR_PORT_REQUIRED and no colon */
	ADDR_E_LONG,            /* the host part is too long */
	ADDR_E_PORT,            /* the port is not 1 to 65535 */
	ADDR_E_NUMERIC          /* the host is not a numeric address */
};

#define ADDR_HOST_MAX 256

struct hostport {
	char host[ADDR_HOST_MAX];       /* as written, without brackets */
	unsigned port;
	struct sockaddr_storage ss;     /* AF_INET or AF_INET6, with port */
	socklen_t sslen;
};

/*
 * addr_parse_hostport - parse s, with default_port when it has none
 * (unless ADDR_PORT_REQUIRED).  On error hp is undefined.
 */
enum addr_error addr_parse_hostport(const char *s, unsigned flags,
    unsigned default_port, struct hostport *hp);

/*
 * addr_parse_server - a dns_servers entry in c-ares's form,
 * "a.b.c.d:port" or "[IPv6]:port", port 53 by default; 0 ok, -1 bad
 */
int addr_parse_server(const char *s, char *out, size_t outsz);

#define ADDR_SERVER_STRLEN 64   /* room for what addr_parse_server writes */

/* a listen address: "unix:/path" or "inet:host:port" */
struct listen_addr {
	int family;                     /* AF_UNIX, AF_INET, AF_INET6 */
	struct sockaddr_storage ss;     /* AF_INET*: the address and port */
	socklen_t sslen;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

/*
 * addr_parse_listen - parse a listen spec; -1 with the message for
 * spfpd.conf ("listen: 'spec': why") in err
 */
int addr_parse_listen(const char *spec, struct listen_addr *la, char *err,
    size_t errsz);

#endif
