/*
 * fuzz_dns - raw DNS replies into dns.c's answer parser, through
 * dns_parse_for_test(): the status c-ares derives from the header, then
 * what on_answer() does (map_status(), parse_answer()).
 *
 * The first byte picks the question type (A, AAAA, MX, TXT, PTR); the
 * rest is the reply.  The answer is then read the way spf.c and iprev.c
 * read answers, so a record that lies about its length shows up here.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "spfrec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* a broken promise of the code under test: say which, then crash */
#define BUG(what) do { fprintf(stderr, "%s:%d: BUG: %s\n", __FILE__, \
	__LINE__, (what)); abort(); } while (0)

static const int types[] = {
	DNS_T_A, DNS_T_AAAA, DNS_T_MX, DNS_T_TXT, DNS_T_PTR
};

static volatile unsigned sink;

static void
touch(const void *p, size_t n)
{
	const unsigned char *b = p;
	unsigned s = 0;
	size_t i;

	for (i = 0; i < n; i++)
		s += b[i];
	sink += s;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_answer *a;
	const char *name = "Example.COM.";
	int type;
	size_t i;

	if (size == 0 || size - 1 > 65535)
		return 0;
	type = types[data[0] % (sizeof(types) / sizeof(types[0]))];
	a = dns_parse_for_test(data + 1, (int)(size - 1), name, type);
	if (a == NULL)
		BUG("no answer");
	if (a->refs != 1 || a->type != type || strcmp(a->name, "example.com"))
		BUG("answer for another question");
	switch (a->status) {
	case DNS_OK:
		if (a->n == 0)
			BUG("DNS_OK without records");
		break;
	case DNS_NXDOMAIN:
	case DNS_NODATA:
	case DNS_SERVFAIL:
	case DNS_ERROR:
		break;
	default:
		BUG("a status a reply cannot give");
	}
	if (a->n > 0 && a->rr == NULL)
		BUG("records missing");
	for (i = 0; i < a->n; i++) {
		const struct dns_rr *r = &a->rr[i];

		switch (type) {
		case DNS_T_A:
			touch(&r->u.a, sizeof(r->u.a));
			break;
		case DNS_T_AAAA:
			touch(&r->u.aaaa, sizeof(r->u.aaaa));
			break;
		case DNS_T_TXT:
			/* len bytes and a NUL; may hold NULs (spf.c copes) */
			if (r->u.txt[r->len] != '\0')
				BUG("TXT not terminated at its length");
			touch(r->u.txt, r->len + 1);
			(void)spfrec_is_spf(r->u.txt, r->len);
			break;
		default:        /* MX, PTR: a lower-case host name */
			if (strlen(r->u.name) >= 1025)
				BUG("host name longer than NS_MAXDNAME");
			touch(r->u.name, strlen(r->u.name) + 1);
			(void)dns_name_ok(r->u.name);
			break;
		}
	}
	dns_answer_ref(a);
	dns_answer_unref(a);
	dns_answer_unref(a);
	return 0;
}
