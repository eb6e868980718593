/*
 * dns - c-ares on the libevent loop, and the answer cache.  See dns.h.
 *
 * c-ares tells us which sockets it wants watched (sock_state_cb); we keep
 * one libevent event per socket and one timer for ares_timeout().  Raw
 * answers are parsed here with libresolv's ns_parse, which gives what
 * c-ares 1.18's parsers do not: TTLs for every type, the SOA minimum for
 * negative caching, and TXT character-strings we join per record.
 *
 * The cache is a hash table of entries keyed by (lower-cased name, type).
 * An entry is either pending (one upstream query, a list of waiters) or
 * holds an answer until it expires.  Waiters are always called from a
 * deferred event, never from inside dns_query() or ares_query(): c-ares
 * may call back synchronously, and callers must not be re-entered.
 *
 * The cache is bounded twice: dns_cache_size entries and dns_cache_bytes
 * bytes, each entry counted at what it holds in memory (entry_cost), so
 * that senders who pick domains with 16 kB TXT records cannot make it
 * grow past the bound.  Server failures and timeouts are kept too, for
 * dns_failure_ttl (RFC 2308 7): while a domain's servers are broken, a
 * burst of its mail costs one wait, not one each.
 */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <ctype.h>
#include <resolv.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include <ares.h>
#include <event2/event.h>

#include "cidr.h"
#include "config.h"
#include "dns.h"
#include "dnsraw.h"
#include "log.h"
#include "metrics.h"
#include "xmalloc.h"

struct dns_query {
	struct entry *e;
	dns_cb *cb;
	void *arg;
	struct dns_query *prev, *next;
};

struct entry {
	char *name;
	int type;
	uint32_t hash;
	struct dns_answer *ans;         /* NULL while pending */
	uint64_t expires;               /* monotonic ms */
	struct dns_query *waiters;
	struct entry *hnext;            /* hash chain */
	TAILQ_ENTRY(entry) lru;         /* LRU (answered entries only) */
	struct entry *rnext;            /* ready list */
	struct ticket *tk;              /* c-ares's question, while pending */
	size_t cost;                    /* bytes counted, while cached */
	int in_lru, ready, cached;
	int no_fail_cache;              /* its failure is not the servers' */
	struct timespec sent;           /* asked upstream at (metrics) */
};

struct sockev {
	ares_socket_t fd;
	struct event *ev;
	struct sockev *next;
};

static struct {
	struct event_base *base;
	ares_channel ch;
	int ch_ok;
	struct event *timer, *ready_ev, *warn_ev;
	struct sockev *socks;
	struct entry **buckets;
	size_t nbuckets;
	TAILQ_HEAD(lru_head, entry) lru;        /* head: most recent */
	struct entry *ready_head, *ready_tail;
	size_t max_entries, max_bytes;
	unsigned neg_ttl_max, ttl_max;  /* seconds */
	unsigned fail_ms;               /* dns_failure_ttl */
	struct dns_stats st;
	const struct dns_upstream *up;  /* c-ares, or a test's script */
	struct sockaddr_storage raw_srv;        /* dnsraw.c asks this one */
	socklen_t raw_srvlen;
	int raw_ok;
	char *servers;                  /* the channel's settings, to compare */
	unsigned timeout, tries;
} dns;

/* bound on what one cached answer may hold; bigger ones are not cached */
#define DNS_CACHE_MAX_ANSWER 16384

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

const char *
dns_status_str(enum dns_status st)
{
	switch (st) {
	case DNS_OK: return "ok";
	case DNS_NXDOMAIN: return "nxdomain";
	case DNS_NODATA: return "nodata";
	case DNS_SERVFAIL: return "servfail";
	case DNS_TIMEOUT: return "timeout";
	case DNS_ERROR: return "error";
	}
	return "?";
}

const char *
dns_type_str(int type)
{
	switch (type) {
	case DNS_T_A: return "A";
	case DNS_T_AAAA: return "AAAA";
	case DNS_T_MX: return "MX";
	case DNS_T_PTR: return "PTR";
	case DNS_T_TXT: return "TXT";
	}
	return "?";
}

int
dns_name_ok(const char *name)
{
	size_t len = strlen(name), label = 0, i;

	if (len == 0 || len > 253)
		return 0;
	for (i = 0; i < len; i++) {
		if (name[i] == '.') {
			if (label == 0 && !(i == len - 1 && len == 1))
				return 0;       /* empty label */
			label = 0;
		} else if (++label > 63) {
			return 0;
		}
	}
	return 1;
}

/*
 * ares_carries - does every c-ares version send name as it is?  Letters,
 * digits and - _ . / * only: c-ares 1.34 refuses any other byte, and older
 * ones read a backslash as an escape.  Other names go through dnsraw.c.
 */
static int
ares_carries(const char *name)
{
	const unsigned char *p;

	for (p = (const unsigned char *)name; *p; p++)
		if (!isalnum(*p) && *p != '-' && *p != '_' && *p != '.' &&
		    *p != '/' && *p != '*')
			return 0;
	return 1;
}

/* ----- answers ----- */

struct dns_answer *
dns_answer_ref(struct dns_answer *a)
{
	a->refs++;
	return a;
}

void
dns_answer_unref(struct dns_answer *a)
{
	size_t i;

	if (a == NULL || --a->refs > 0)
		return;
	for (i = 0; a->memo != NULL && i < DNS_MEMO_SLOTS; i++)
		if (a->memo->v[i] != NULL)
			a->memo->free_fn(a->memo->v[i]);
	free(a->memo);
	if (a->type == DNS_T_MX || a->type == DNS_T_PTR || a->type ==
	    DNS_T_TXT)
		for (i = 0; i < a->n; i++)
			free(a->rr[i].u.txt);
	free(a->rr);
	free(a->name);
	free(a);
}

int
dns_answer_has_addr(const struct dns_answer *a, const unsigned char addr[16])
{
	unsigned char rec[16];
	size_t i;

	if (a->status != DNS_OK ||
	    (a->type != DNS_T_A && a->type != DNS_T_AAAA))
		return 0;
	for (i = 0; i < a->n; i++) {
		if (a->type == DNS_T_A)
			cidr_addr_v4(&a->rr[i].u.a, rec);
		else
			memcpy(rec, &a->rr[i].u.aaaa, 16);
		if (memcmp(rec, addr, 16) == 0)
			return 1;
	}
	return 0;
}

static struct dns_answer *
answer_new(const char *name, int type, enum dns_status st)
{
	struct dns_answer *a;

	a = xcalloc(1, sizeof(*a));
	a->name = xstrdup(name);
	a->refs = 1;
	a->type = type;
	a->status = st;
	if (type == DNS_T_TXT)
		a->memo = xcalloc(1, sizeof(*a->memo));
	return a;
}

static void
answer_add(struct dns_answer *a, const struct dns_rr *rr)
{
	a->rr = xreallocarray(a->rr, a->n + 1, sizeof(*a->rr));
	a->rr[a->n++] = *rr;
}

/* lower - a DNS name in our canonical form: lower case, no final dot */
static void
lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

void
dns_canon(char *dst, size_t dstsz, const char *src)
{
	size_t n, i;

	if (dstsz == 0)
		return;
	n = strnlen(src, dstsz - 1);
	for (i = 0; i < n; i++)         /* dst may be src */
		dst[i] = src[i] >= 'A' && src[i] <= 'Z' ? (char)(src[i] + 32) :
		    src[i];
	dst[n] = '\0';
	if (n > 1 && dst[n - 1] == '.')
		dst[n - 1] = '\0';
}

/*
 * txt_join - the character-strings of a TXT record joined (RFC 7208 3.3),
 * into exactly what they hold: the cache counts it (entry_cost).
 * 0, -1 (malformed), -2 (no memory).
 */
static int
txt_join(const unsigned char *rd, int rdlen, struct dns_rr *r)
{
	int p = 0;
	size_t o = 0;

	while (p < rdlen) {
		int sl = rd[p++];

		if (p + sl > rdlen)
			return -1;
		o += (size_t)sl;
		p += sl;
	}
	r->u.txt = xmalloc(o + 1);
	for (p = 0, o = 0; p < rdlen; p += rd[p] + 1) {
		memcpy(r->u.txt + o, rd + p + 1, (size_t)rd[p]);
		o += rd[p];
	}
	r->u.txt[o] = '\0';
	r->len = o;
	return 0;
}

/* rr_name - a host name of rdata at p, uncompressed, lower case */
static int
rr_name(ns_msg *msg, const unsigned char *p, struct dns_rr *r)
{
	char host[NS_MAXDNAME];

	if (ns_name_uncompress(ns_msg_base(*msg), ns_msg_end(*msg), p, host,
	    sizeof(host)) < 0)
		return -1;
	lower(host);
	r->u.name = xstrdup(host);
	return 0;
}

/*
 * rr_decode - one answer record of the asked type into r: 1, 0 (another
 * type or class: skip), -1 (malformed).  *bytes grows by
 * what its data holds.
 */
static int
rr_decode(ns_msg *msg, ns_rr *rr, int type, struct dns_rr *r, size_t *bytes)
{
	const unsigned char *rd = ns_rr_rdata(*rr);
	int rdlen = ns_rr_rdlen(*rr), e;

	if ((int)ns_rr_type(*rr) != type || ns_rr_class(*rr) != ns_c_in)
		return 0;
	memset(r, 0, sizeof(*r));
	switch (type) {
	case DNS_T_A:
		if (rdlen != 4)
			return -1;
		memcpy(&r->u.a, rd, 4);
		return 1;
	case DNS_T_AAAA:
		if (rdlen != 16)
			return -1;
		memcpy(&r->u.aaaa, rd, 16);
		return 1;
	case DNS_T_MX:
		if (rdlen < 3)
			return -1;
		r->pref = (unsigned short)((rd[0] << 8) | rd[1]);
		e = rr_name(msg, rd + 2, r);
		break;
	case DNS_T_PTR:
		e = rr_name(msg, rd, r);
		break;
	case DNS_T_TXT:
		if ((e = txt_join(rd, rdlen, r)) == 0)
			*bytes += r->len + 1;
		return e == 0 ? 1 : e;
	default:
		return 0;
	}
	if (e == 0)
		*bytes += strlen(r->u.name) + 1;
	return e == 0 ? 1 : e;
}

/* chain_ttl - the smallest TTL of the CNAMEs in the answer section */
static unsigned
chain_ttl(ns_msg *msg)
{
	unsigned ttl = UINT32_MAX;
	ns_rr rr;
	int i, count = ns_msg_count(*msg, ns_s_an);

	for (i = 0; i < count; i++) {
		if (ns_parserr(msg, ns_s_an, i, &rr) < 0)
			break;
		if (ns_rr_type(rr) == ns_t_cname && ns_rr_class(rr) == ns_c_in &&
		    ns_rr_ttl(rr) < ttl)
			ttl = ns_rr_ttl(rr);
	}
	return ttl;
}

/* neg_ttl - a negative answer's TTL: RFC 2308, min of SOA TTL and MINIMUM */
static unsigned
neg_ttl(ns_msg *msg)
{
	ns_rr rr;
	int i, count = ns_msg_count(*msg, ns_s_ns);

	for (i = 0; i < count; i++) {
		if (ns_parserr(msg, ns_s_ns, i, &rr) < 0)
			break;
		if (ns_rr_type(rr) == ns_t_soa) {
			const unsigned char *rd = ns_rr_rdata(rr);
			int rdlen = ns_rr_rdlen(rr);
			unsigned minimum;

			if (rdlen < 4)
				break;
			rd += rdlen - 4;
			minimum = ((unsigned)rd[0] << 24) |
			    ((unsigned)rd[1] << 16) | ((unsigned)rd[2] << 8) |
			    rd[3];
			return ns_rr_ttl(rr) < minimum ? ns_rr_ttl(rr) :
			    minimum;
		}
	}
	return 0;
}

/*
 * parse_records - the answer section's records of a's type into a; the
 * smallest of their TTLs.
 */
static void
parse_records(ns_msg *msg, struct dns_answer *a, size_t *bytes,
    unsigned *ttl)
{
	struct dns_rr r;
	ns_rr rr;
	int i, e, count = ns_msg_count(*msg, ns_s_an);

	for (i = 0; i < count; i++) {
		if (ns_parserr(msg, ns_s_an, i, &rr) < 0 ||
		    (e = rr_decode(msg, &rr, a->type, &r, bytes)) == -1) {
			a->status = DNS_ERROR;
			break;
		}
		if (e == 0)
			continue;
		answer_add(a, &r);
		*bytes += sizeof(r);
		if (ns_rr_ttl(rr) < *ttl)
			*ttl = ns_rr_ttl(rr);
	}
	if (a->status == DNS_OK && a->n == 0)
		a->status = DNS_NODATA;
}

/*
 * parse_answer - turn a raw reply into an answer for (name, type).
 * Records of the asked type are taken from the answer section whatever
 * their owner (a CNAME chain ends in them).  Negative answers get the TTL
 * of the authority section's SOA (RFC 2308: min of its TTL and MINIMUM).
 * No answer outlives a CNAME that led to it: the TTL is the minimum over
 * the whole chain (RFC 2181 10.1.2 / 2308 5).
 */
static struct dns_answer *
parse_answer(const char *name, int type, enum dns_status st,
    const unsigned char *buf, int len, size_t *bytes)
{
	struct dns_answer *a;
	ns_msg msg;
	unsigned ttl = UINT32_MAX, cttl;

	*bytes = 0;
	a = answer_new(name, type, st);
	if (buf == NULL || len <= 0 || ns_initparse(buf, len, &msg) < 0) {
		if (st == DNS_OK)
			a->status = DNS_ERROR;
		a->ttl = 0;
		return a;
	}
	cttl = chain_ttl(&msg);
	if (st == DNS_OK)
		parse_records(&msg, a, bytes, &ttl);
	if (a->status == DNS_NXDOMAIN || a->status == DNS_NODATA) {
		ttl = neg_ttl(&msg);
		if (ttl > dns.neg_ttl_max)
			ttl = dns.neg_ttl_max;
	}
	if (a->status == DNS_ERROR || ttl == UINT32_MAX)
		ttl = 0;
	if (ttl > cttl)
		ttl = cttl;
	if (ttl > dns.ttl_max)
		ttl = dns.ttl_max;
	a->ttl = ttl;
	return a;
}

/* ----- the cache ----- */

static uint32_t
hash(const char *name, int type)
{
	uint32_t h = 2166136261u ^ (uint32_t)type;

	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 16777619u;
	return h;
}

static struct entry *
entry_find(const char *name, int type, uint32_t h)
{
	struct entry *e;

	for (e = dns.buckets[h & (dns.nbuckets - 1)]; e; e = e->hnext)
		if (e->hash == h && e->type == type && !strcmp(e->name, name))
			return e;
	return NULL;
}

static void
lru_unlink(struct entry *e)
{
	if (!e->in_lru)
		return;
	TAILQ_REMOVE(&dns.lru, e, lru);
	e->in_lru = 0;
}

static void
lru_push(struct entry *e)
{
	lru_unlink(e);
	TAILQ_INSERT_HEAD(&dns.lru, e, lru);
	e->in_lru = 1;
}

static void ticket_drop(struct ticket *tk);

static void
entry_free(struct entry *e)
{
	struct entry **pp;

	for (pp = &dns.buckets[e->hash & (dns.nbuckets - 1)]; *pp;
	    pp = &(*pp)->hnext) {
		if (*pp == e) {
			*pp = e->hnext;
			break;
		}
	}
	lru_unlink(e);
	if (e->tk)
		ticket_drop(e->tk);     /* only at shutdown: pending entries */
	if (e->cached) {
		dns.st.entries--;
		dns.st.bytes -= e->cost;
		e->ans->cached_in = NULL;
	}
	dns_answer_unref(e->ans);
	free(e->name);
	free(e);
}

/* entry_idle - no waiters, not queued: may be dropped */
static int
entry_idle(const struct entry *e)
{
	return e->ans != NULL && e->waiters == NULL && !e->ready;
}

/*
 * chunk - what the allocator takes for a request of n bytes: glibc's
 * 64-bit chunks (an 8-byte header, 16-byte steps, 32 bytes at least),
 * close enough for other allocators.
 */
static size_t
chunk(size_t n)
{
	n = (n + 8 + 15) & ~(size_t)15;
	return n < 32 ? 32 : n;
}

/*
 * entry_cost - the memory a cached entry holds: the entry and its key,
 * the answer, its name, its records and their names or texts.  A cached
 * A record is about 300 bytes; a TXT answer costs its text plus as much.
 */
static size_t
entry_cost(const struct entry *e)
{
	const struct dns_answer *a = e->ans;
	size_t b, i;

	b = chunk(sizeof(*e)) + chunk(strlen(e->name) + 1);
	if (a == NULL)
		return b;
	b += chunk(sizeof(*a)) + chunk(strlen(a->name) + 1);
	if (a->memo != NULL)
		b += chunk(sizeof(*a->memo));
	if (a->n > 0)
		b += chunk(a->n * sizeof(*a->rr));
	for (i = 0; i < a->n; i++) {
		if (a->type == DNS_T_TXT)
			b += chunk(a->rr[i].len + 1);
		else if (a->type == DNS_T_MX || a->type == DNS_T_PTR)
			b += chunk(strlen(a->rr[i].u.name) + 1);
	}
	return b;
}

static int
cache_full(void)
{
	return dns.st.entries > dns.max_entries ||
	    dns.st.bytes > dns.max_bytes;
}

static void
cache_evict(void)
{
	struct entry *e, *prev;

	for (e = TAILQ_LAST(&dns.lru, lru_head); e && cache_full(); e = prev) {
		prev = TAILQ_PREV(e, lru_head, lru);
		if (entry_idle(e)) {
			entry_free(e);
			dns.st.evictions++;
		}
	}
}

void
dns_answer_set_memo(const struct dns_answer *a, int slot, void *memo,
    size_t bytes, void (*free_fn)(void *))
{
	struct entry *e = a->cached_in;

	/* the first one stays */
	if (a->memo == NULL || a->memo->v[slot] != NULL) {
		free_fn(memo);
		return;
	}
	a->memo->v[slot] = memo;
	a->memo->free_fn = free_fn;
	if (e != NULL) {
		e->cost += bytes;
		dns.st.bytes += bytes;
		cache_evict();
	}
}

static struct entry *
entry_new(const char *name, int type, uint32_t h)
{
	struct entry *e;
	size_t idx = h & (dns.nbuckets - 1);

	e = xcalloc(1, sizeof(*e));
	e->name = xstrdup(name);
	e->type = type;
	e->hash = h;
	e->hnext = dns.buckets[idx];
	dns.buckets[idx] = e;
	return e;
}

struct dns_answer *
dns_cache_get(const char *qname, int type)
{
	char name[NS_MAXDNAME];
	struct entry *e;

	dns_canon(name, sizeof(name), qname);
	e = entry_find(name, type, hash(name, type));
	if (e == NULL || e->ans == NULL || !e->cached)
		return NULL;
	if (e->expires <= now_ms()) {
		if (entry_idle(e))
			entry_free(e);
		return NULL;
	}
	lru_push(e);
	dns.st.hits++;
	return dns_answer_ref(e->ans);
}

/* ----- dispatch ----- */

static void
ready_push(struct entry *e)
{
	if (e->ready)
		return;
	e->ready = 1;
	e->rnext = NULL;
	if (dns.ready_tail)
		dns.ready_tail->rnext = e;
	else
		dns.ready_head = e;
	dns.ready_tail = e;
	event_active(dns.ready_ev, EV_TIMEOUT, 0);
}

static void
ready_run(evutil_socket_t fd, short what, void *arg)
{
	struct entry *e;
	struct dns_query *q;

	(void)fd;
	(void)what;
	(void)arg;
	while ((e = dns.ready_head) != NULL) {
		dns.ready_head = e->rnext;
		if (dns.ready_head == NULL)
			dns.ready_tail = NULL;
		/*
		 * Pop one waiter at a time: a callback may cancel other
		 * waiters of this entry or start new queries.  The entry stays
		 * marked ready (not evictable) until its list is empty.
		 */
		while ((q = e->waiters) != NULL) {
			e->waiters = q->next;
			if (e->waiters)
				e->waiters->prev = NULL;
			q->cb(q->arg, e->ans);
			free(q);
		}
		e->ready = 0;
		if (!e->cached)
			entry_free(e);
	}
	cache_evict();
}

static void
waiter_add(struct entry *e, struct dns_query *q)
{
	q->e = e;
	q->prev = NULL;
	q->next = e->waiters;
	if (e->waiters)
		e->waiters->prev = q;
	e->waiters = q;
}

void
dns_cancel(struct dns_query *q)
{
	struct entry *e;

	if (q == NULL)
		return;
	e = q->e;
	if (q->prev)
		q->prev->next = q->next;
	else
		e->waiters = q->next;
	if (q->next)
		q->next->prev = q->prev;
	free(q);
	/* a pending entry keeps its upstream query: the answer is cached */
}

/* ----- c-ares ----- */

static void
reschedule(void)
{
	struct timeval tv, *tvp;

	if (!dns.ch_ok)
		return;
	tvp = ares_timeout(dns.ch, NULL, &tv);
	if (tvp)
		evtimer_add(dns.timer, tvp);
	else
		evtimer_del(dns.timer);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	ares_process_fd(dns.ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	reschedule();
}

static void
on_sock(evutil_socket_t fd, short what, void *arg)
{
	(void)arg;
	ares_process_fd(dns.ch, (what & EV_READ) ? fd : ARES_SOCKET_BAD,
	    (what & EV_WRITE) ? fd : ARES_SOCKET_BAD);
	reschedule();
}

static void
sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct sockev **pp, *s;

	(void)data;
	for (pp = &dns.socks; *pp && (*pp)->fd != fd; pp = &(*pp)->next)
		;
	s = *pp;
	if (s) {
		event_free(s->ev);
		s->ev = NULL;
	}
	if (!readable && !writable) {
		if (s) {
			*pp = s->next;
			free(s);
		}
		return;
	}
	if (s == NULL) {
		s = xcalloc(1, sizeof(*s));
		s->fd = fd;
		s->next = dns.socks;
		dns.socks = s;
	}
	s->ev = event_new(dns.base, fd, EV_PERSIST | (readable ? EV_READ : 0) |
	    (writable ? EV_WRITE : 0), on_sock, NULL);
	if (s->ev)
		event_add(s->ev, NULL);
}

static enum dns_status
map_status(int status)
{
	switch (status) {
	case ARES_SUCCESS: return DNS_OK;
	case ARES_ENOTFOUND: return DNS_NXDOMAIN;
	case ARES_ENODATA: return DNS_NODATA;
	case ARES_ESERVFAIL:
	case ARES_EREFUSED:
	case ARES_ECONNREFUSED: return DNS_SERVFAIL;
	case ARES_ETIMEOUT: return DNS_TIMEOUT;
	default: return DNS_ERROR;
	}
}

/* is_answer - did the servers answer (yes, no such name, no such data)? */
static int
is_answer(enum dns_status st)
{
	return st == DNS_OK || st == DNS_NXDOMAIN || st == DNS_NODATA;
}

/*
 * reply_status - what a reply says, from its header: RFC 1035 4.1.1.
 * Only NOERROR and NXDOMAIN are answers; SERVFAIL and REFUSED are server
 * failures, and every other RCODE (FORMERR, NOTIMP, YXDOMAIN, NOTAUTH,
 * NOTZONE, unassigned ones...) is an error: never "no data", never
 * cached as a negative answer.
 */
static enum dns_status
reply_status(const unsigned char *abuf, int alen)
{
	if (abuf == NULL || alen < NS_HFIXEDSZ)
		return DNS_ERROR;
	switch (abuf[3] & 0x0f) {
	case ns_r_noerror:
		return ((abuf[6] << 8) | abuf[7]) > 0 ? DNS_OK : DNS_NODATA;
	case ns_r_nxdomain:
		return DNS_NXDOMAIN;
	case ns_r_servfail:
	case ns_r_refused:
		return DNS_SERVFAIL;
	default:
		return DNS_ERROR;
	}
}

/*
 * cache_ms - how long entry e's new answer a is kept, in ms (0: not at
 * all).  Answers for their TTL when they are no bigger than
 * DNS_CACHE_MAX_ANSWER; failures of the servers (SERVFAIL, REFUSED, other
 * RCODEs, replies we cannot read, no reply in time) for dns_failure_ttl,
 * and never for longer than dns_max_ttl: a cached failure is the same
 * answer as the live one, a temperror for SPF and iprev.  Not kept: what
 * went wrong here, not there (nothing sent, the channel replaced by a
 * reload).
 */
static uint64_t
cache_ms(const struct entry *e, const struct dns_answer *a, enum dns_xfer x,
    size_t bytes)
{
	uint64_t ms;

	if (is_answer(a->status))
		return bytes > DNS_CACHE_MAX_ANSWER ? 0 :
		    (uint64_t)a->ttl * 1000;
	if (x == DNS_XFER_ERROR || e->no_fail_cache)
		return 0;
	ms = dns.fail_ms;
	if (ms > (uint64_t)dns.ttl_max * 1000)
		ms = (uint64_t)dns.ttl_max * 1000;
	return ms;
}

/* upstream_type - the index of type in dns_stats.upstream_type */
static int
upstream_type(int type)
{
	switch (type) {
	case DNS_T_A: return 0;
	case DNS_T_AAAA: return 1;
	case DNS_T_MX: return 2;
	case DNS_T_PTR: return 3;
	case DNS_T_TXT: return 4;
	default: return -1;
	}
}

/* upstream_sent - e's question goes upstream now */
static void
upstream_sent(struct entry *e)
{
	int i = upstream_type(e->type);

	dns.st.upstream++;
	if (i >= 0)
		dns.st.upstream_type[i]++;
	clock_gettime(CLOCK_MONOTONIC, &e->sent);
}

/* upstream_done - e's question has its answer (or gave up): the stats */
static void
upstream_done(const struct entry *e, enum dns_status st)
{
	struct timespec t;
	long long us;

	if (st == DNS_TIMEOUT && !e->no_fail_cache)    /* not a reload's */
		dns.st.timeouts++;
	else if (st == DNS_SERVFAIL)
		dns.st.servfails++;
	clock_gettime(CLOCK_MONOTONIC, &t);
	us = (long long)(t.tv_sec - e->sent.tv_sec) * 1000000 +
	    (t.tv_nsec - e->sent.tv_nsec) / 1000;
	metrics_dns_upstream(us > 0 ? (uint64_t)us : 0);
}

/*
 * entry_answer - the upstream's reply to entry e: parse, cache, wake the
 * waiters.  x says whether a reply came at all.
 */
static void
entry_answer(struct entry *e, enum dns_xfer x, const unsigned char *abuf,
    int alen)
{
	struct dns_answer *a;
	size_t bytes = 0, cost;
	uint64_t ms;

	if (x == DNS_XFER_REPLY)
		a = parse_answer(e->name, e->type, reply_status(abuf, alen),
		    abuf, alen, &bytes);
	else
		a = answer_new(e->name, e->type, x == DNS_XFER_TIMEOUT ?
		    DNS_TIMEOUT : x == DNS_XFER_SERVFAIL ? DNS_SERVFAIL :
		    DNS_ERROR);
	e->ans = a;
	upstream_done(e, a->status);
	if ((ms = cache_ms(e, a, x, bytes)) > 0 && !is_answer(a->status))
		a->ttl = (unsigned)(ms / 1000);         /* as cached */
	log_debug("dns: %s %s: %s, %zu records, ttl %u", dns_type_str(e->type),
	    e->name, dns_status_str(a->status), a->n, a->ttl);
	cost = entry_cost(e);
	if (ms > 0 && dns.max_entries > 0 && cost <= dns.max_bytes) {
		e->cached = 1;
		e->cost = cost;
		e->expires = now_ms() + ms;
		dns.st.entries++;
		dns.st.bytes += cost;
		a->cached_in = e;
		lru_push(e);
	}
	ready_push(e);
}

void
dns_upstream_reply(struct dns_ask *tok, enum dns_xfer x,
    const unsigned char *abuf, int alen)
{
	entry_answer((struct entry *)tok, x, abuf, alen);
}

/*
 * ----- c-ares: one small compatibility layer -----
 *
 * c-ares 1.18 (bookworm) has ares_query() and a raw reply; c-ares 1.28+
 * (trixie: 1.34) deprecates it for ares_query_dnsrec() and a parsed
 * record, which ares_dns_write() turns back into the wire form our
 * parser reads.  Nothing else in spfpd sees the difference.
 *
 * Each question sent is a ticket with spfpd's own deadline (dns_budget):
 * c-ares 1.22+ adapts its retransmission timer to the server's latency,
 * so its own give-up time no longer follows dns_timeout; ours does, on
 * every version.  At the deadline the question is a timeout and the
 * ticket is orphaned: c-ares's late callback only frees it.
 */
struct ticket {
	struct entry *e;                /* NULL: given up (orphaned) */
	struct event *deadline;
	struct dnsraw *raw;             /* asked by hand (dnsraw.c) */
	int in_ares;                    /* c-ares holds it */
};

/* ticket_drop - forget the question (the entry is answered, or freed) */
static void
ticket_drop(struct ticket *tk)
{
	if (tk->e)
		tk->e->tk = NULL;
	tk->e = NULL;
	if (tk->deadline)
		event_free(tk->deadline);
	tk->deadline = NULL;
	if (tk->raw)
		dnsraw_cancel(tk->raw);
	tk->raw = NULL;
	if (!tk->in_ares)
		free(tk);       /* else c-ares's late callback frees it */
}

/* ticket_finish - the entry's answer; the ticket goes when c-ares is done */
static void
ticket_finish(struct ticket *tk, enum dns_xfer x, const unsigned char *abuf,
    int alen)
{
	struct entry *e = tk->e;

	ticket_drop(tk);
	if (e != NULL)
		entry_answer(e, x, abuf, alen);
}

static void
raw_answer(void *arg, enum dns_xfer x, const unsigned char *abuf, int alen)
{
	struct ticket *tk = arg;

	tk->raw = NULL;
	ticket_finish(tk, x, abuf, alen);
}

/* raw_ask - the question through dnsraw.c; 0, or -1 if it cannot go */
static int
raw_ask(struct ticket *tk, const char *name, int type)
{
	if (!dns.raw_ok)
		return -1;
	tk->raw = dnsraw_ask(dns.base, (struct sockaddr *)&dns.raw_srv,
	    dns.raw_srvlen, name, type, dns.timeout, dns.tries, raw_answer,
	    tk);
	return tk->raw ? 0 : -1;
}

static void
ticket_done(struct ticket *tk, int status, const unsigned char *abuf,
    int alen)
{
	enum dns_xfer x;

	tk->in_ares = 0;
	if (tk->e == NULL) {
		free(tk);       /* answered late: spfpd gave up already */
		return;
	}
	/*
	 * A reply c-ares 1.34 calls malformed (a TXT of no strings) that
	 * 1.18 passed on: ask by hand, and let our parser judge it.
	 */
	if (status == ARES_EBADRESP && raw_ask(tk, tk->e->name,
	    tk->e->type) == 0)
		return;
	if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED)
		tk->e->no_fail_cache = 1;       /* a reload, not the servers */
	if (abuf != NULL && alen >= NS_HFIXEDSZ && status != ARES_EDESTRUCTION &&
	    status != ARES_ECANCELLED)
		x = DNS_XFER_REPLY;
	else if (status == ARES_ETIMEOUT || status == ARES_EDESTRUCTION ||
	    status == ARES_ECANCELLED)
		x = DNS_XFER_TIMEOUT;
	else if (map_status(status) == DNS_SERVFAIL)
		x = DNS_XFER_SERVFAIL;
	else
		x = DNS_XFER_ERROR;
	ticket_finish(tk, x, abuf, alen);
}

static void
ticket_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct ticket *tk = arg;

	(void)fd;
	(void)what;
	ticket_finish(tk, DNS_XFER_TIMEOUT, NULL, 0);
}

#if ARES_VERSION >= 0x011c00
static void
ares_answer(void *arg, ares_status_t status, size_t timeouts,
    const ares_dns_record_t *rec)
{
	unsigned char *buf = NULL;
	size_t len = 0;

	(void)timeouts;
	if (rec != NULL && ares_dns_write(rec, &buf, &len) != ARES_SUCCESS) {
		/*
		 * c-ares 1.34 will not write back a reply holding a name it
		 * refuses (a CNAME to "a b.example"), which 1.18 passed on:
		 * ask by hand, as for a reply it calls malformed.
		 */
		len = 0;
		status = ARES_EBADRESP;
	}
	ticket_done(arg, (int)status, len ? buf : NULL, (int)len);
	ares_free_string(buf);
}

static void
ares_send_question(const char *name, int type, struct ticket *tk)
{
	(void)ares_query_dnsrec(dns.ch, name, ARES_CLASS_IN,
	    (ares_dns_rec_type_t)type, ares_answer, tk, NULL);
}
#else
static void
ares_answer(void *arg, int status, int timeouts, unsigned char *abuf,
    int alen)
{
	(void)timeouts;
	ticket_done(arg, status, abuf, alen);
}

static void
ares_send_question(const char *name, int type, struct ticket *tk)
{
	ares_query(dns.ch, name, ns_c_in, type, ares_answer, tk);
}
#endif

/*
 * dns_budget - how long one question may take, in ms: dns_timeout, then
 * twice that, and so on, dns_tries times (what c-ares 1.18 does with one
 * server), and 60 s at most.
 */
static unsigned
dns_budget(unsigned timeout, unsigned tries)
{
	unsigned long long b = (unsigned long long)timeout *
	    ((1ull << (tries > 20 ? 20 : tries)) - 1);

	return b > 60000 ? 60000 : (unsigned)b;
}

static void
ares_ask(void *ctx, const char *name, int type, struct dns_ask *tok)
{
	struct entry *e = (struct entry *)tok;
	struct ticket *tk;
	struct timeval tv;
	unsigned ms = dns_budget(dns.timeout, dns.tries);

	(void)ctx;
	tk = xcalloc(1, sizeof(*tk));
	if ((tk->deadline = evtimer_new(dns.base, ticket_deadline, tk)) ==
	    NULL)
		fatalx("dns: out of memory (timer)");
	tk->e = e;
	e->tk = tk;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(tk->deadline, &tv);
	if (!ares_carries(name)) {
		if (raw_ask(tk, name, type) < 0)
			ticket_finish(tk, DNS_XFER_ERROR, NULL, 0);
		return;
	}
	tk->in_ares = 1;
	ares_send_question(name, type, tk);
	reschedule();
}

static const struct dns_upstream ares_upstream = { ares_ask, NULL };

void
dns_set_upstream(const struct dns_upstream *u)
{
	dns.up = u ? u : &ares_upstream;
}

/* cache_drop - forget cached entries nobody waits for (or only failures) */
static void
cache_drop(int failures_only)
{
	struct entry *e, *next;
	size_t i;

	for (i = 0; i < dns.nbuckets; i++)
		for (e = dns.buckets[i]; e; e = next) {
			next = e->hnext;
			if (e->cached && entry_idle(e) && (!failures_only ||
			    !is_answer(e->ans->status)))
				entry_free(e);
		}
}

void
dns_flush(void)
{
	cache_drop(0);
}

struct dns_query *
dns_query(const char *qname, int type, dns_cb *cb, void *arg)
{
	char name[NS_MAXDNAME];
	struct dns_query *q;
	struct entry *e;
	uint32_t h;

	q = xcalloc(1, sizeof(*q));
	q->cb = cb;
	q->arg = arg;
	dns.st.queries++;
	dns_canon(name, sizeof(name), qname);
	h = hash(name, type);
	e = entry_find(name, type, h);
	if (e != NULL && e->ans != NULL && e->cached &&
	    e->expires <= now_ms() && entry_idle(e)) {
		entry_free(e);
		e = NULL;
	}
	if (e != NULL && (e->ans == NULL || e->cached || e->ready)) {
		if (e->ans == NULL) {
			dns.st.coalesced++;
		} else {
			dns.st.hits++;
			if (e->cached)
				lru_push(e);
		}
		waiter_add(e, q);
		if (e->ans != NULL)
			ready_push(e);
		return q;
	}
	e = entry_new(name, type, h);
	waiter_add(e, q);
	if (!dns_name_ok(name) || (dns.up == &ares_upstream && !dns.ch_ok)) {
		e->ans = answer_new(name, type, DNS_ERROR);
		ready_push(e);
		return q;
	}
	upstream_sent(e);
	dns.up->ask(dns.up->ctx, name, type, (struct dns_ask *)e);
	return q;
}

void
dns_get_stats(struct dns_stats *st)
{
	*st = dns.st;
}

/* ----- set-up ----- */

#define DNS_RCVBUF (4 << 20)            /* UDP receive buffer, bytes */

#define DNS_UDP_MAX_QUERIES 200

#ifdef ARES_OPT_MAXTIMEOUTMS
/*
 * ares_tries - attempts for c-ares 1.22+ to fill dns_budget(): its first
 * wait may be as short as 250 ms and doubles each round, up to maxms.
 */
static unsigned
ares_tries(unsigned timeout, unsigned tries, unsigned maxms)
{
	unsigned long long total = 0, wait = 250;
	unsigned n = 0, budget = dns_budget(timeout, tries);

	while (total < budget && n < 32) {
		total += wait < maxms ? wait : maxms;
		wait *= 2;
		n++;
	}
	return n > tries ? n : tries;
}
#endif

/* the servers looked at: dnsraw.c's (the first), the warning's */
#define DNS_MAX_SERVERS 16

struct srvaddr {
	struct sockaddr_storage ss;
	socklen_t len;
};

#if ARES_VERSION >= 0x011800
/* server_parse - one server of ares_get_servers_csv(): 0, or -1 */
static int
server_parse(char *p, struct srvaddr *out)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)&out->ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&out->ss;
	char addr[64], *e;
	long port = 53;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (*p == '[' && (e = strchr(p, ']')) != NULL) {
		snprintf(addr, sizeof(addr), "%.*s", (int)(e - p - 1), p + 1);
		if (e[1] == ':')
			port = atol(e + 2);
		if (inet_pton(AF_INET6, addr, &s6->sin6_addr) != 1)
			return -1;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		out->len = sizeof(*s6);
	} else {
		n = strcspn(p, ":%");
		snprintf(addr, sizeof(addr), "%.*s", (int)n, p);
		if (p[n] == ':')
			port = atol(p + n + 1);
		if (inet_pton(AF_INET, addr, &s4->sin_addr) != 1)
			return -1;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		out->len = sizeof(*s4);
	}
	return port > 0 && port <= 65535 ? 0 : -1;
}
#endif

/*
 * channel_servers - the channel's servers, at most max, in its order:
 * dns_servers, or what it read from resolv.conf (c-ares 1.24+ tells them
 * as text, older ones as a list).  Returns how many.
 */
static size_t
channel_servers(struct srvaddr *out, size_t max)
{
	size_t n = 0;
#if ARES_VERSION >= 0x011800
	char *csv = ares_get_servers_csv(dns.ch), *p, *next;
	size_t len;

	if (csv == NULL)
		return 0;
	for (p = csv; p != NULL && *p != '\0' && n < max; p = next) {
		len = strcspn(p, ",");
		next = p[len] != '\0' ? p + len + 1 : NULL;
		p[len] = '\0';
		if (server_parse(p, &out[n]) == 0)
			n++;
	}
	ares_free_string(csv);
#else
	struct ares_addr_port_node *list = NULL, *s;
	struct sockaddr_in *s4;
	struct sockaddr_in6 *s6;
	int port;

	if (ares_get_servers_ports(dns.ch, &list) != ARES_SUCCESS)
		return 0;
	for (s = list; s != NULL && n < max; s = s->next) {
		memset(&out[n], 0, sizeof(out[n]));
		s4 = (struct sockaddr_in *)&out[n].ss;
		s6 = (struct sockaddr_in6 *)&out[n].ss;
		port = s->udp_port ? s->udp_port : 53;
		if (port <= 0 || port > 65535)
			continue;
		if (s->family == AF_INET) {
			s4->sin_family = AF_INET;
			s4->sin_addr = s->addr.addr4;
			s4->sin_port = htons((uint16_t)port);
			out[n++].len = sizeof(*s4);
		} else if (s->family == AF_INET6) {
			s6->sin6_family = AF_INET6;
			memcpy(&s6->sin6_addr, &s->addr.addr6,
			    sizeof(s6->sin6_addr));
			s6->sin6_port = htons((uint16_t)port);
			out[n++].len = sizeof(*s6);
		}
	}
	ares_free_data(list);
#endif
	return n;
}

/* raw_server - the first server of the channel, for dnsraw.c */
static void
raw_server(void)
{
	struct srvaddr sa;

	dns.raw_ok = 0;
	if (channel_servers(&sa, 1) == 1) {
		dns.raw_srv = sa.ss;
		dns.raw_srvlen = sa.len;
		dns.raw_ok = 1;
	}
}

/* on_this_host - a loopback address: 127.0.0.0/8, ::1, ::ffff:127.0.0.0/104 */
static int
on_this_host(const struct sockaddr_storage *ss)
{
	const struct in6_addr *a6;

	if (ss->ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr)
		    >> 24) == 127;
	if (ss->ss_family != AF_INET6)
		return 0;
	a6 = &((const struct sockaddr_in6 *)ss)->sin6_addr;
	return IN6_IS_ADDR_LOOPBACK(a6) || (IN6_IS_ADDR_V4MAPPED(a6) &&
	    a6->s6_addr[12] == 127);
}

/*
 * servers_warn - one warning naming the resolvers that are not on this
 * host.  Their answers cross a network, where an off-path attacker can
 * try to forge them: c-ares checks the 16-bit query ID and the source
 * port, and 1.18 keeps one port while it has questions in flight.  Run
 * from the loop after each start and reload, and not at all when a test's
 * upstream replaced c-ares.
 */
static void
servers_warn(evutil_socket_t fd, short what, void *arg)
{
	struct srvaddr sa[DNS_MAX_SERVERS];
	char list[256], addr[INET6_ADDRSTRLEN];
	const void *ap;
	size_t n, i, len = 0, far = 0;

	(void)fd;
	(void)what;
	(void)arg;
	if (dns.up != &ares_upstream || !dns.ch_ok)
		return;
	list[0] = '\0';
	n = channel_servers(sa, DNS_MAX_SERVERS);
	for (i = 0; i < n; i++) {
		if (on_this_host(&sa[i].ss))
			continue;
		ap = sa[i].ss.ss_family == AF_INET ?
		    (const void *)&((struct sockaddr_in *)&sa[i].ss)->sin_addr :
		    (const void *)&((struct sockaddr_in6 *)&sa[i].ss)->sin6_addr;
		if (inet_ntop(sa[i].ss.ss_family, ap, addr, sizeof(addr)) ==
		    NULL)
			continue;
		if (len < sizeof(list))
			len += (size_t)snprintf(list + len, sizeof(list) - len,
			    "%s%s", far ? ", " : "", addr);
		far++;
	}
	if (far == 0)
		return;
	log_warnx("dns: %s %s %s not on this host: answers from %s cross "
	    "the network, where an off-path attacker can try to forge them; "
	    "use a caching resolver on this host (dns_servers, "
	    "spfpd.conf(5))", far > 1 ? "resolvers" : "resolver", list,
	    far > 1 ? "are" : "is", far > 1 ? "them" : "it");
}

/* servers_warn_later - servers_warn() from the loop, once it runs */
static void
servers_warn_later(void)
{
	if (dns.warn_ev != NULL)
		event_active(dns.warn_ev, EV_TIMEOUT, 0);
}

/* channel_options - c-ares's options for cfg in *op; the mask to use */
static int
channel_options(const struct config *cfg, struct ares_options *op)
{
	struct ares_options o;
	int mask;

	memset(&o, 0, sizeof(o));
	/* SERVFAIL must reach us as such, not as ECONNREFUSED */
	o.flags = ARES_FLAG_NOCHECKRESP | ARES_FLAG_NOSEARCH;
	o.timeout = (int)cfg->dns_timeout;
	o.tries = (int)cfg->dns_tries;
	o.sock_state_cb = sock_state;
	o.sock_state_cb_data = NULL;
	/*
	 * Answers to a burst of checks (many connections starting at once,
	 * each with its include tree) arrive together while the loop is busy;
	 * the default receive buffer (~200 kB, ~200 answers) drops the rest
	 * and each costs a dns_timeout.  The kernel caps this at rmem_max.
	 */
	o.socket_receive_buffer_size = DNS_RCVBUF;
	mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
	    ARES_OPT_SOCK_STATE_CB | ARES_OPT_SOCK_RCVBUF;
#ifdef ARES_OPT_QUERY_CACHE
	/* c-ares 1.23+ caches answers itself: ours is the only cache */
	o.qcache_max_ttl = 0;
	mask |= ARES_OPT_QUERY_CACHE;
#endif
#ifdef ARES_OPT_MAXTIMEOUTMS
	/*
	 * c-ares 1.22+ times each attempt by the server's latency (250 ms
	 * at least), not by dns_timeout: let it try as often as fits into
	 * the budget (dns_budget() ends the question), each wait at most
	 * what the last of dns_tries rounds would wait.
	 */
	o.maxtimeout = (int)(cfg->dns_timeout << (cfg->dns_tries - 1 > 10 ?
	    10 : cfg->dns_tries - 1));
	o.tries = (int)ares_tries(cfg->dns_timeout, cfg->dns_tries,
	    (unsigned)o.maxtimeout);
	mask |= ARES_OPT_MAXTIMEOUTMS;
#endif
#ifdef ARES_OPT_UDP_MAX_QUERIES
	/*
	 * c-ares 1.20+: a new UDP socket (and source port) every
	 * DNS_UDP_MAX_QUERIES questions, so an off-path spoofer must guess
	 * more than the 16-bit ID (1.18 keeps one port for life).
	 */
	o.udp_max_queries = DNS_UDP_MAX_QUERIES;
	mask |= ARES_OPT_UDP_MAX_QUERIES;
#endif
	*op = o;
	return mask;
}

/* channel_open - a c-ares channel for cfg (dns.ch), its servers noted */
static int
channel_open(const struct config *cfg)
{
	struct ares_options o;
	int r, mask = channel_options(cfg, &o);

	if ((r = ares_init_options(&dns.ch, &o, mask)) != ARES_SUCCESS) {
		log_warnx("dns: ares_init_options: %s", ares_strerror(r));
		return -1;
	}
	if (cfg->dns_servers.n > 0) {
		if ((r = ares_set_servers_ports_csv(dns.ch,
		    cfg->dns_servers.csv)) != ARES_SUCCESS) {
			log_warnx("dns: dns_servers: %s", ares_strerror(r));
			ares_destroy(dns.ch);
			return -1;
		}
	}
	dns.ch_ok = 1;
	free(dns.servers);
	dns.servers = cfg->dns_servers.csv ? xstrdup(cfg->dns_servers.csv) :
	    NULL;
	dns.timeout = cfg->dns_timeout;
	dns.tries = cfg->dns_tries;
	raw_server();
	servers_warn_later();
	return 0;
}

static int
same_resolver(const struct config *cfg)
{
	const char *a = dns.servers ? dns.servers : "";
	const char *b = cfg->dns_servers.csv ? cfg->dns_servers.csv : "";

	return dns.ch_ok && strcmp(a, b) == 0 &&
	    dns.timeout == cfg->dns_timeout && dns.tries == cfg->dns_tries;
}

static void
cache_configure(const struct config *cfg)
{
	dns.max_entries = cfg->dns_cache_size;
	dns.max_bytes = cfg->dns_cache_bytes;
	dns.neg_ttl_max = cfg->dns_negative_ttl / 1000;
	dns.ttl_max = cfg->dns_max_ttl / 1000;
	dns.fail_ms = cfg->dns_failure_ttl;
}


int
dns_init(struct event_base *base, const struct config *cfg)
{
	int r;

	memset(&dns, 0, sizeof(dns));
	TAILQ_INIT(&dns.lru);
	if ((r = ares_library_init(ARES_LIB_INIT_ALL)) != ARES_SUCCESS) {
		log_warnx("dns: ares_library_init: %s", ares_strerror(r));
		return -1;
	}
	dns.base = base;
	dns.up = &ares_upstream;
	cache_configure(cfg);
	for (dns.nbuckets = 64; dns.nbuckets < dns.max_entries * 2 &&
	    dns.nbuckets < (1u << 22); dns.nbuckets <<= 1)
		;
	dns.buckets = xcalloc(dns.nbuckets, sizeof(*dns.buckets));
	dns.timer = evtimer_new(base, on_timer, NULL);
	dns.ready_ev = event_new(base, -1, 0, ready_run, NULL);
	dns.warn_ev = event_new(base, -1, 0, servers_warn, NULL);
	if (dns.buckets == NULL || dns.timer == NULL || dns.ready_ev == NULL ||
	    dns.warn_ev == NULL) {
		log_warnx("dns: out of memory");
		return -1;
	}
	return channel_open(cfg);
}

void
dns_reconfigure(const struct config *cfg)
{
	cache_configure(cfg);
	/* an administrator who reloads may have mended what failed */
	cache_drop(1);
	cache_evict();
	if (same_resolver(cfg)) {
		servers_warn_later();
		return;         /* queries in flight carry on */
	}
	/*
	 * A new channel for new servers and timeouts; queries in flight on
	 * the old one end with ARES_EDESTRUCTION (seen as a timeout).
	 */
	if (dns.ch_ok) {
		dns.ch_ok = 0;
		ares_destroy(dns.ch);
	}
	if (channel_open(cfg) < 0)
		log_warnx("dns: resolver not reconfigured: DNS checks will "
		    "temperror until the next reload");
	reschedule();
}

void
dns_shutdown(void)
{
	struct entry *e, *next;
	size_t i;

	if (dns.ch_ok) {
		dns.ch_ok = 0;
		ares_destroy(dns.ch);   /* pending entries get answers */
	}
	if (dns.ready_ev)
		ready_run(-1, 0, NULL);
	for (i = 0; i < dns.nbuckets; i++) {
		for (e = dns.buckets[i]; e; e = next) {
			next = e->hnext;
			while (e->waiters)
				dns_cancel(e->waiters);
			e->ready = 0;
			entry_free(e);
		}
	}
	free(dns.buckets);
	free(dns.servers);
	dns.servers = NULL;
	dns.buckets = NULL;
	if (dns.timer)
		event_free(dns.timer);
	if (dns.ready_ev)
		event_free(dns.ready_ev);
	if (dns.warn_ev)
		event_free(dns.warn_ev);
	ares_library_cleanup();
	memset(&dns, 0, sizeof(dns));
}

/* ----- for tests and fuzzing ----- */

/*
 * dns_parse_for_test - what entry_answer() makes of a reply, without the
 * cache: the status from its header, then parsed.
 */
struct dns_answer *
dns_parse_for_test(const unsigned char *abuf, int alen, const char *qname,
    int type)
{
	char name[NS_MAXDNAME];
	size_t bytes = 0;

	dns_canon(name, sizeof(name), qname);
	return parse_answer(name, type, reply_status(abuf, alen), abuf, alen,
	    &bytes);
}
