/*
 * iprev - reverse DNS, forward-confirmed.  See iprev.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "cidr.h"
#include "dns.h"
#include "iprev.h"
#include "log.h"
#include "xmalloc.h"

struct fwd {
	struct iprev_check *c;
	struct dns_query *q;
	char *name;
};

struct iprev_check {
	unsigned char addr[16];
	int v4;
	unsigned max_names;
	iprev_done_fn *done;
	void *arg;
	struct dns_query *ptrq;
	struct fwd *fwd;
	size_t nfwd, pending;
	unsigned names;
	int temp;                       /* a forward lookup failed for now */
	int finished;
	struct iprev_outcome out;
	char *name, *problem;
	struct event *kick, *deadline;
};

const char *
iprev_result_str(enum iprev_result r)
{
	switch (r) {
	case IPREV_PASS: return "pass";
	case IPREV_FAIL: return "fail";
	case IPREV_PERMERROR: return "permerror";
	case IPREV_TEMPERROR: return "temperror";
	}
	return "?";
}

static void
reverse_of(const unsigned char a[16], int v4, char *buf, size_t sz)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;
	int i;

	if (v4) {
		snprintf(buf, sz, "%u.%u.%u.%u.in-addr.arpa", a[15], a[14],
		    a[13], a[12]);
		return;
	}
	for (i = 15; i >= 0 && n + 4 < sz; i--) {
		buf[n++] = hex[a[i] & 15];
		buf[n++] = '.';
		buf[n++] = hex[a[i] >> 4];
		buf[n++] = '.';
	}
	snprintf(buf + n, sz - n, "ip6.arpa");
}

int
iprev_reverse_name(const char *ip, char *buf, size_t sz)
{
	unsigned char a[16];

	if (cidr_addr_parse(ip, a) < 0)
		return -1;
	reverse_of(a, cidr_addr_is_v4(a), buf, sz);
	return 0;
}

static void
cancel_lookups(struct iprev_check *c)
{
	size_t i;

	dns_cancel(c->ptrq);
	c->ptrq = NULL;
	for (i = 0; i < c->nfwd; i++) {
		dns_cancel(c->fwd[i].q);
		c->fwd[i].q = NULL;
	}
}

static void
iprev_check_free(struct iprev_check *c)
{
	size_t i;

	cancel_lookups(c);
	for (i = 0; i < c->nfwd; i++)
		free(c->fwd[i].name);
	free(c->fwd);
	if (c->kick)
		event_free(c->kick);
	if (c->deadline)
		event_free(c->deadline);
	free(c->name);
	free(c->problem);
	free(c);
}

static void
iprev_finish(struct iprev_check *c, enum iprev_result r, const char *name,
    const char *problem)
{
	if (c->finished)
		return;
	c->finished = 1;
	cancel_lookups(c);
	if (name && c->name == NULL)
		c->name = xstrdup(name);
	if (problem)
		c->problem = xstrdup(problem);
	c->out.result = r;
	c->out.name = c->name;
	c->out.problem = c->problem;
	c->out.names = c->names;
	c->out.checked = (unsigned)c->nfwd;
	event_active(c->kick, EV_TIMEOUT, 0);
}

static void
on_kick(evutil_socket_t fd, short what, void *arg)
{
	struct iprev_check *c = arg;

	(void)fd;
	(void)what;
	c->done(c->arg, &c->out);
	iprev_check_free(c);
}

static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	iprev_finish(arg, IPREV_TEMPERROR, NULL, "lookup time exceeded");
}

static void
on_forward(void *arg, struct dns_answer *ans)
{
	struct fwd *f = arg;
	struct iprev_check *c = f->c;

	f->q = NULL;
	c->pending--;
	if (dns_answer_has_addr(ans, c->addr)) {
		iprev_finish(c, IPREV_PASS, f->name, NULL);
		return;
	}
	/* a name that resolves elsewhere, or not at all: fail; else temp */
	if (ans->status != DNS_OK && ans->status != DNS_NXDOMAIN &&
	    ans->status != DNS_NODATA)
		c->temp = 1;
	if (c->pending == 0)
		iprev_finish(c, c->temp ? IPREV_TEMPERROR : IPREV_FAIL,
		    c->nfwd ? c->fwd[0].name : NULL, c->temp ?
		    "forward lookup failed temporarily" :
		    "no PTR name resolves back to the address");
}

static void
on_ptr(void *arg, struct dns_answer *ans)
{
	struct iprev_check *c = arg;
	char problem[64];
	size_t i;

	c->ptrq = NULL;
	switch (ans->status) {
	case DNS_OK:
		break;
	case DNS_NXDOMAIN:
	case DNS_NODATA:
		iprev_finish(c, IPREV_PERMERROR, NULL, "no PTR record");
		return;
	default:
		snprintf(problem, sizeof(problem), "PTR lookup: %s",
		    dns_status_str(ans->status));
		iprev_finish(c, IPREV_TEMPERROR, NULL, problem);
		return;
	}
	c->names = (unsigned)ans->n;
	c->fwd = xcalloc(ans->n < c->max_names ? ans->n : c->max_names,
	    sizeof(*c->fwd));
	for (i = 0; i < ans->n && c->nfwd < c->max_names; i++) {
		struct fwd *f = &c->fwd[c->nfwd];

		if (!dns_name_ok(ans->rr[i].u.name))
			continue;
		f->name = xstrdup(ans->rr[i].u.name);
		f->c = c;
		c->nfwd++;
	}
	if (c->nfwd == 0) {
		iprev_finish(c, IPREV_PERMERROR, NULL, "no usable PTR name");
		return;
	}
	/* all at once; answers come from the loop, never from dns_query() */
	for (i = 0; i < c->nfwd; i++) {
		c->fwd[i].q = dns_query(c->fwd[i].name, c->v4 ? DNS_T_A :
		    DNS_T_AAAA, on_forward, &c->fwd[i]);
		c->pending++;
	}
}

struct iprev_check *
iprev_start(struct event_base *base, const char *ip, unsigned max_names,
    unsigned time_ms, iprev_done_fn *done, void *arg)
{
	struct iprev_check *c;
	char rev[80];
	struct timeval tv;

	c = xcalloc(1, sizeof(*c));
	c->done = done;
	c->arg = arg;
	c->max_names = max_names ? max_names : 1;
	c->kick = event_new(base, -1, 0, on_kick, c);
	c->deadline = evtimer_new(base, on_deadline, c);
	if (c->kick == NULL || c->deadline == NULL)
		fatalx("iprev: out of memory (events)");
	if (cidr_addr_parse(ip, c->addr) < 0) {
		iprev_finish(c, IPREV_PERMERROR, NULL, "bad client address");
		return c;
	}
	c->v4 = cidr_addr_is_v4(c->addr);
	reverse_of(c->addr, c->v4, rev, sizeof(rev));
	c->ptrq = dns_query(rev, DNS_T_PTR, on_ptr, c);
	tv.tv_sec = time_ms / 1000;
	tv.tv_usec = (time_ms % 1000) * 1000;
	evtimer_add(c->deadline, &tv);
	return c;
}

void
iprev_cancel(struct iprev_check *c)
{
	if (c != NULL)
		iprev_check_free(c);
}
