/*
 * dns - asynchronous DNS over c-ares on the libevent loop, with a
 * process-wide answer cache.
 *
 * dns_query() never answers before it returns: the callback runs from the
 * event loop, exactly once, unless the query is cancelled first.  Identical
 * questions in flight share one upstream query; answers are cached for
 * their TTL (negative answers for the SOA minimum, bounded by
 * dns_negative_ttl), failures of the servers (SERVFAIL, REFUSED, other
 * RCODEs, no reply) for dns_failure_ttl; at most dns_cache_size entries
 * and dns_cache_bytes bytes, least recently used evicted first.  A cached
 * failure is the same answer, with the same status, as the live one.
 * Answers are immutable and reference counted.
 *
 * Outcomes are told apart because SPF and iprev map them differently:
 * NXDOMAIN, NODATA, SERVFAIL (and REFUSED), timeout, and other errors.
 */
#ifndef SPFPD_DNS_H
#define SPFPD_DNS_H

#include <netinet/in.h>
#include <stddef.h>

struct event_base;
struct config;

enum dns_status {
	DNS_OK,
	DNS_NXDOMAIN,
	DNS_NODATA,
	DNS_SERVFAIL,           /* SERVFAIL or REFUSED from the server */
	DNS_TIMEOUT,
	DNS_ERROR               /* malformed reply, bad name, no memory */
};

/* DNS types we ask for (values from RFC 1035 / 3596) */
enum {
	DNS_T_A = 1,
	DNS_T_PTR = 12,
	DNS_T_MX = 15,
	DNS_T_TXT = 16,
	DNS_T_AAAA = 28
};

struct dns_rr {
	unsigned short pref;            /* MX */
	size_t len;                     /* TXT: bytes in txt */
	union {
		struct in_addr a;
		struct in6_addr aaaa;
		char *name;             /* MX exchange, PTR target */
		char *txt;              /* TXT: strings of one record joined */
	} u;
};

#define DNS_MEMO_SLOTS 2

struct dns_answer {
	int refs;
	int type;
	enum dns_status status;
	unsigned ttl;                   /* seconds, as cached */
	size_t n;
	struct dns_rr *rr;
	char *name;                     /* the question, lower case */

	struct dns_memo *memo;          /* TXT: see dns_answer_set_memo() */
	void *cached_in;                /* dns.c's entry, while cached */
};

struct dns_memo {
	void *v[DNS_MEMO_SLOTS];
	void (*free_fn)(void *);
};

struct dns_query;

typedef void dns_cb(void *arg, struct dns_answer *ans);

/* dns_init - set up the resolver from the config; -1 with a logged error */
int dns_init(struct event_base *base, const struct config *cfg);

/*
 * dns_reconfigure - new servers/timeouts/cache bounds after a reload; it
 * forgets cached failures.
 */
void dns_reconfigure(const struct config *cfg);
void dns_shutdown(void);


/*
 * dns_query - ask for name/type.  The callback gets a borrowed answer (take
 * a reference with dns_answer_ref to keep it).  Returns a handle for
 * dns_cancel(), never NULL (out of memory is fatal: xmalloc.h).
 */
struct dns_query *dns_query(const char *name, int type, dns_cb *cb,
    void *arg);
void dns_cancel(struct dns_query *q);

/* dns_cache_get - a cached, unexpired answer (a new reference) or NULL */
struct dns_answer *dns_cache_get(const char *name, int type);

struct dns_answer *dns_answer_ref(struct dns_answer *a);

/*
 * dns_answer_has_addr - is addr (cidr.h's 16-byte form, IPv4-mapped for
 * A) one of the records of a, a successful A or AAAA answer?
 */
int dns_answer_has_addr(const struct dns_answer *a,
    const unsigned char addr[16]);
void dns_answer_unref(struct dns_answer *a);

/*
 * dns_answer_set_memo - keep memo (bytes in memory) with answer a in
 * slot: a value its user derived from a and nothing else (spflib.c: an
 * SPF record as libspf2 gets it), so that it lives exactly as long as the
 * data it came from, and is freed with a by free_fn (the same for every
 * slot).  Only TXT answers take memos (others free memo at once).  A
 * slot keeps its first memo (a later one is freed at once).
 * While a is cached, memo's bytes count in dns_cache_bytes.  The
 * memo is not part of the answer's value: a const answer takes one.
 */
void dns_answer_set_memo(const struct dns_answer *a, int slot, void *memo,
    size_t bytes, void (*free_fn)(void *));

/*
 * dns_canon - src in our canonical form, in dst (which may be src): lower
 * case (ASCII), without one final dot, cut to dstsz - 1 bytes
 */
void dns_canon(char *dst, size_t dstsz, const char *src);

/* dns_name_ok - is name one we ask (length, labels, letters, digits, -_./ and *)? */
int dns_name_ok(const char *name);

const char *dns_status_str(enum dns_status st);
const char *dns_type_str(int type);

struct dns_stats {
	unsigned long queries;          /* dns_query() calls */
	unsigned long upstream;         /* questions sent to c-ares */
	unsigned long hits;             /* answered from the cache */
	unsigned long coalesced;        /* joined a question in flight */
	unsigned long evictions;
	size_t entries;
	size_t bytes;                   /* the entries' memory (entry_cost) */
	/* upstream questions by type: DNS_STATS_TYPES, in that order */
	unsigned long upstream_type[5];
	unsigned long timeouts;         /* upstream: no reply in time */
	unsigned long servfails;        /* upstream: SERVFAIL or REFUSED */
};
#define DNS_STATS_TYPES { "A", "AAAA", "MX", "PTR", "TXT" }
void dns_get_stats(struct dns_stats *st);

/*
 * The upstream: where a question goes when the cache cannot answer it.
 * c-ares by default; a test or fuzz binary installs its own, which
 * answers from a scripted world with no socket (the DNS seam).  ask()
 * must lead to exactly one dns_upstream_reply(tok, ...), from inside
 * ask() or later from the loop; dns.c defers its callbacks either way.
 * With DNS_XFER_REPLY, abuf is the raw reply: its header's RCODE decides
 * the status (only NOERROR and NXDOMAIN are answers).
 */
struct dns_ask;
enum dns_xfer {
	DNS_XFER_REPLY,                 /* a reply came: abuf, alen */
	DNS_XFER_TIMEOUT,               /* none came */
	DNS_XFER_SERVFAIL,              /* servers refused or failed */
	DNS_XFER_ERROR                  /* the question could not be sent */
};
struct dns_upstream {
	void (*ask)(void *ctx, const char *name, int type,
	    struct dns_ask *tok);
	void *ctx;
};
void dns_upstream_reply(struct dns_ask *tok, enum dns_xfer x,
    const unsigned char *abuf, int alen);

/* dns_set_upstream - use u from now on (NULL: c-ares again) */
void dns_set_upstream(const struct dns_upstream *u);

/* dns_flush - forget every cached answer (failures too) nobody waits for */
void dns_flush(void);

/*
 * For tests and fuzzing: the answer entry_answer() would make of the raw
 * reply abuf (alen bytes) to the question (name, type), status from its
 * header; not cached.  Never NULL; the caller unrefs.
 */
struct dns_answer *dns_parse_for_test(const unsigned char *abuf, int alen,
    const char *name, int type);

#endif
