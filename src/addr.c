/*
 * addr - numeric socket addresses as spfpd.conf writes them.  See addr.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

/* split - where the host part of s is, and its port (NULL: none) */
static enum addr_error
split(const char *s, unsigned flags, const char **host, size_t *hl,
    const char **port)
{
	const char *p;

	*port = NULL;
	if (*s == '[') {
		if ((p = strchr(s, ']')) == NULL)
			return ADDR_E_BRACKET;
		if (p[1] == ':')
			*port = p + 2;
		else if (p[1] != '\0' || (flags & ADDR_PORT_REQUIRED))
			return ADDR_E_BRACKET;
		*host = s + 1;
		*hl = (size_t)(p - *host);
		return ADDR_OK;
	}
	*host = s;
	if (flags & ADDR_PORT_REQUIRED) {
		if ((p = strrchr(s, ':')) == NULL)
			return ADDR_E_NO_PORT;
		*port = p + 1;
	} else if ((p = strchr(s, ':')) != NULL && strchr(p + 1, ':') == NULL) {
		*port = p + 1;
	}
	*hl = *port != NULL ? (size_t)(*port - 1 - s) : strlen(s);
	return ADDR_OK;
}

/* port_parse - decimal digits only, 1 to 65535 */
static int
port_parse(const char *s, unsigned *out)
{
	unsigned long n;
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	n = strtoul(s, &end, 10);
	if (*end != '\0' || errno != 0 || n == 0 || n > 65535)
		return -1;
	*out = (unsigned)n;
	return 0;
}

enum addr_error
addr_parse_hostport(const char *s, unsigned flags, unsigned default_port,
    struct hostport *hp)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&hp->ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&hp->ss;
	const char *host, *port;
	enum addr_error e;
	size_t hl;

	memset(hp, 0, sizeof(*hp));
	if ((e = split(s, flags, &host, &hl, &port)) != ADDR_OK)
		return e;
	if (hl >= sizeof(hp->host))
		return ADDR_E_LONG;
	memcpy(hp->host, host, hl);
	hp->host[hl] = '\0';
	hp->port = default_port;
	if (port != NULL && port_parse(port, &hp->port) < 0)
		return ADDR_E_PORT;
	if ((flags & ADDR_LOCALHOST) && strcmp(hp->host, "localhost") == 0)
		strcpy(hp->host, "127.0.0.1");
	if (inet_pton(AF_INET, hp->host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((unsigned short)hp->port);
		hp->sslen = sizeof(*sin);
	} else if (inet_pton(AF_INET6, hp->host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((unsigned short)hp->port);
		hp->sslen = sizeof(*sin6);
	} else {
		return ADDR_E_NUMERIC;
	}
	return ADDR_OK;
}

int
addr_parse_server(const char *s, char *out, size_t outsz)
{
	struct hostport hp;

	if (addr_parse_hostport(s, 0, 53, &hp) != ADDR_OK)
		return -1;
	if (strchr(hp.host, ':') != NULL)
		snprintf(out, outsz, "[%s]:%u", hp.host, hp.port);
	else
		snprintf(out, outsz, "%s:%u", hp.host, hp.port);
	return 0;
}

int
addr_parse_listen(const char *spec, struct listen_addr *la, char *err,
    size_t errsz)
{
	static const char *const hostport_why[] = {
		[ADDR_E_BRACKET] = "expected inet:[IPv6]:port",
		[ADDR_E_NO_PORT] = "missing port",
		[ADDR_E_LONG] = "bad address",
		[ADDR_E_PORT] = "bad port",
		[ADDR_E_NUMERIC] = "address must be numeric",
	};
	struct hostport hp;
	const char *why = NULL;
	enum addr_error e;

	memset(la, 0, sizeof(*la));
	if (strncmp(spec, "unix:", 5) == 0) {
		if (spec[5] != '/') {
			why = "UNIX socket path must be absolute";
		} else if (strlen(spec + 5) >= sizeof(la->path)) {
			why = "path too long";
		} else {
			la->family = AF_UNIX;
			strcpy(la->path, spec + 5);
		}
	} else if (strncmp(spec, "inet:", 5) != 0) {
		why = "expected unix:/path or inet:address:port";
	} else if ((e = addr_parse_hostport(spec + 5, ADDR_PORT_REQUIRED |
	    ADDR_LOCALHOST, 0, &hp)) != ADDR_OK) {
		why = hostport_why[e];
	} else {
		la->family = hp.ss.ss_family;
		la->ss = hp.ss;
		la->sslen = hp.sslen;
	}
	if (why != NULL) {
		snprintf(err, errsz, "listen: '%.100s': %s", spec, why);
		return -1;
	}
	return 0;
}
