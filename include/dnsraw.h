/*
 * dnsraw - a DNS question c-ares will not carry, asked over UDP by hand.
 *
 * DNS labels may hold any byte (RFC 2181 11), and SPF macros put client-
 * chosen text into names ("a:foo:bar.example.com", %{l}).  c-ares 1.18
 * sends such names; c-ares 1.34 refuses every byte outside letters,
 * digits and - _ . / * (ARES_EBADNAME) and rejects replies it calls
 * malformed that 1.18 passed on (ARES_EBADRESP: a TXT record of no
 * strings).  dns.c asks those here instead, so spfpd answers the same on
 * every c-ares version and its own parser judges every reply.
 *
 * One connected UDP socket per question (a fresh source port), a random
 * 16-bit ID, a reply accepted only with that ID and the same question,
 * sent again every timeout, tries times; a truncated reply is an error
 * (no TCP: such questions are rare and their answers small).  At most 32
 * questions have a socket at once; the others wait in line.  The name is
 * in dns.c's text form ("\DDD" and "\c" escapes).  The callback runs
 * once, from the event loop, unless cancelled first.
 */
#ifndef SPFPD_DNSRAW_H
#define SPFPD_DNSRAW_H

#include <sys/socket.h>

#include "dns.h"

struct event_base;
struct dnsraw;

typedef void dnsraw_cb(void *arg, enum dns_xfer x, const unsigned char *abuf,
    int alen);

/* dnsraw_ask - NULL when the question cannot be sent at all */
struct dnsraw *dnsraw_ask(struct event_base *base, const struct sockaddr *srv,
    socklen_t srvlen, const char *name, int type, unsigned timeout_ms,
    unsigned tries, dnsraw_cb *cb, void *arg);
void dnsraw_cancel(struct dnsraw *q);

/* dnsraw_query - the wire form of the question (for tests): its length */
int dnsraw_query(unsigned char *buf, size_t bufsz, unsigned id,
    const char *name, int type);

/* dnsraw_matches - is reply (alen bytes) the answer to query (qlen)? */
int dnsraw_matches(const unsigned char *query, int qlen,
    const unsigned char *reply, int alen);

#endif
