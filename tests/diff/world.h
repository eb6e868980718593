/*
 * world - a scripted DNS world behind dns.c's upstream seam (dns.h), for
 * the differential fuzzer (spfdiff), the SPF fuzz target and unit tests.
 *
 * A world is a list of records, RCODE overrides and unanswered questions.
 * world_install() makes it dns.c's upstream: every question dns.c sends
 * gets a real wire-format reply built from the world (header, question,
 * CNAME chain, records, an SOA for negative answers), so dns.c's parser,
 * RCODE handling and TTLs run exactly as against a server.  Semantics in
 * tests/diff/FORMAT.
 */
#ifndef SPFPD_WORLD_H
#define SPFPD_WORLD_H

#include <stddef.h>
#include <stdio.h>

#define WORLD_T_CNAME 5
#define WORLD_ANY_TYPE 0                /* rcode/timeout: every type */

struct world;

struct world *world_new(void);
void world_free(struct world *w);
void world_clear(struct world *w);

/*
 * world_add - one record; type by name ("A", "AAAA", "MX", "PTR", "CNAME",
 * "TXT") and its data as text: A/AAAA an address, MX "pref host", PTR and
 * CNAME a host.  TXT data are given with world_add_txt().  -1 when the
 * name or data do not make a record.
 */
int world_add(struct world *w, const char *name, const char *type,
    unsigned ttl, const char *data);

/* world_add_txt - a TXT record of n character-strings (each <= 255) */
int world_add_txt(struct world *w, const char *name, unsigned ttl,
    const char *const *strs, const size_t *lens, size_t n);

/* world_add_rcode - answer (name, type or WORLD_ANY_TYPE) with rcode */
int world_add_rcode(struct world *w, const char *name, int type, int rcode);

/* world_add_timeout - never answer (name, type or WORLD_ANY_TYPE) */
int world_add_timeout(struct world *w, const char *name, int type);

/* world_type - the type number of a type name (0 if unknown, "*" too) */
int world_type(const char *type);

/*
 * world_reply - the reply to (qname, qtype) in buf: its length, 0 when
 * the question goes unanswered (timeout), -1 when buf is too small.
 */
int world_reply(const struct world *w, const char *qname, int qtype,
    unsigned char *buf, size_t bufsz);

/*
 * world_answer - answer tok, a question to dns.c's upstream, from w: its
 * reply, no reply (DNS_XFER_TIMEOUT) when w leaves it unanswered, or
 * DNS_XFER_ERROR when the reply does not fit.  For upstreams of one's own
 * (the unit tests' seam); world_install() answers every question so.
 */
struct dns_ask;
void world_answer(const struct world *w, const char *name, int type,
    struct dns_ask *tok);

/* world_install - make w dns.c's upstream (NULL: c-ares again) */
void world_install(struct world *w);

/* world_questions - questions the world was asked since installed */
unsigned long world_questions(const struct world *w);

/*
 * world_parse_line - one line of tests/diff/FORMAT that describes the
 * world (rr, rcode, timeout); 1 if it was one, 0 if not, -1 if bad.
 */
int world_parse_line(struct world *w, char *line);

/* hex_decode - decode hex in place ("-" is empty); length, -1 if bad */
long hex_decode(char *s);

#endif
