/*
 * iprev - the reverse DNS check of a client address (RFC 8601 3, "iprev"),
 * on the asynchronous DNS layer and its cache.
 *
 * The PTR names of the address (IPv4: in-addr.arpa, IPv6: nibbles under
 * ip6.arpa, IPv4-mapped IPv6 as IPv4) are looked up, then the A (or AAAA)
 * records of at most max_names of them, all at once:
 *   pass       some name maps back to the address (that name is kept);
 *   fail       names were found, none maps back (their forward lookups
 *              gave other addresses, NXDOMAIN or NODATA);
 *   permerror  no PTR record: NXDOMAIN or NODATA;
 *   temperror  the PTR lookup failed (timeout, SERVFAIL), or no name
 *              mapped back and a forward lookup failed that way.
 */
#ifndef SPFPD_IPREV_H
#define SPFPD_IPREV_H

struct event_base;

enum iprev_result {
	IPREV_PASS,
	IPREV_FAIL,
	IPREV_PERMERROR,
	IPREV_TEMPERROR
};

struct iprev_outcome {
	enum iprev_result result;
	const char *name;       /* pass: the verified name; else the first
	                           PTR name, or NULL */
	const char *problem;    /* why, for everything but pass */
	unsigned names;         /* PTR names found */
	unsigned checked;       /* PTR names looked up forward */
};

struct iprev_check;

typedef void iprev_done_fn(void *arg, const struct iprev_outcome *o);

/*
 * iprev_start - done() is called once, from base's loop (never inside
 * this call), after at most time_ms.  Never NULL.
 */
struct iprev_check *iprev_start(struct event_base *base, const char *ip,
    unsigned max_names, unsigned time_ms, iprev_done_fn *done, void *arg);
void iprev_cancel(struct iprev_check *c);

const char *iprev_result_str(enum iprev_result r);

/* iprev_reverse_name - "4.3.2.1.in-addr.arpa" etc.; -1 for a bad address */
int iprev_reverse_name(const char *ip, char *buf, size_t sz);

#endif
