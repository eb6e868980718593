/*
 * test_metrics - how a decision is counted (its labels, by a table of
 * decisions as decision.c makes them) and the text of the histograms.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/buffer.h>

#include "decision.h"
#include "metrics.h"

/* the text of the metrics now, NUL-terminated (the caller frees) */
static char *
render(void)
{
	struct evbuffer *b = evbuffer_new();
	size_t n;
	char *s;

	metrics_render(b);
	n = evbuffer_get_length(b);
	s = malloc(n + 1);
	evbuffer_remove(b, s, n);
	s[n] = '\0';
	evbuffer_free(b);
	return s;
}

/* has - the text holds this line */
static int
has(const char *text, const char *line)
{
	size_t n = strlen(line);
	const char *p;

	for (p = text; (p = strstr(p, line)) != NULL; p += n)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return 1;
	return 0;
}

struct row {
	const char *name;
	int spf;                        /* 0 none, 1 helo, 2 mailfrom */
	enum spf_result result;
	const char *result_text;        /* d->result */
	const char *action;
	int test_only;
	const char *want;               /* the decisions line, less " 1" */
	const char *also;               /* another line that must be there */
};

#define DEC "spfpd_decisions_total"
static const struct row rows[] = {
	{ "fail rejected", 2, SPF_FAIL, "fail", "550 5.7.23 Message rejected",
	    0, DEC "{identity=\"mailfrom\",result=\"fail\",action=\"reject\"}",
	    NULL },
	{ "helo softfail header", 1, SPF_SOFTFAIL, "softfail",
	    "PREPEND Received-SPF: softfail", 0,
	    DEC "{identity=\"helo\",result=\"softfail\",action=\"prepend\"}",
	    NULL },
	{ "temperror deferred", 2, SPF_TEMPERROR, "temperror",
	    "DEFER_IF_PERMIT 4.7.24 SPF temporary error", 0,
	    DEC "{identity=\"mailfrom\",result=\"temperror\","
	    "action=\"defer\"}", NULL },
	{ "test_only", 2, SPF_FAIL, "fail", "PREPEND Received-SPF: fail", 1,
	    DEC "{identity=\"mailfrom\",result=\"fail\",action=\"prepend\"}",
	    "spfpd_test_only_would_reject_total 1" },
	{ "iprev 450", 0, SPF_NONE, "unchecked", "450 4.7.25 Client host "
	    "rejected", 0,
	    DEC "{identity=\"none\",result=\"unchecked\",action=\"defer\"}",
	    NULL },
	{ "repeat of a refusal", 0, SPF_NONE, "repeat", "550 5.7.23 x", 0,
	    DEC "{identity=\"none\",result=\"repeat\",action=\"reject\"}",
	    NULL },
	{ "skipped by name", 0, SPF_NONE, "skipped(helo_whitelist)", "DUNNO",
	    0, DEC "{identity=\"none\",result=\"skipped\",action=\"dunno\"}",
	    "spfpd_skips_total{reason=\"helo_whitelist\"} 1" },
	{ "skipped, unknown name", 0, SPF_NONE, "skipped(new_thing)",
	    "DUNNO", 0,
	    DEC "{identity=\"none\",result=\"skipped\",action=\"dunno\"}",
	    "spfpd_skips_total{reason=\"other\"} 1" },
	{ "an error", 0, SPF_NONE, "error(bad client_address)", "DUNNO", 0,
	    DEC "{identity=\"none\",result=\"other\",action=\"dunno\"}",
	    NULL },
	{ "a restriction class named like an action", 2, SPF_PASS, "pass",
	    "reject_greylisting", 0,
	    DEC "{identity=\"mailfrom\",result=\"pass\",action=\"other\"}",
	    NULL },
	{ "an action we do not know", 0, SPF_NONE, "unchecked", "OK", 0,
	    DEC "{identity=\"none\",result=\"unchecked\",action=\"other\"}",
	    NULL },
};

static void
test_decisions(void **state)
{
	struct decision_facts f;
	struct decision *d = calloc(1, sizeof(*d));
	char line[256], *text;
	size_t i;

	(void)state;
	assert_non_null(d);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];

		metrics_reset();
		memset(&f, 0, sizeof(f));
		memset(d, 0, sizeof(*d));
		f.spf_helo.o.result = f.spf_mailfrom.o.result = r->result;
		d->vd.spf = r->spf == 1 ? &f.spf_helo : r->spf == 2 ?
		    &f.spf_mailfrom : NULL;
		d->vd.test_only = r->test_only;
		strcpy(d->result, r->result_text);
		strcpy(d->action, r->action);
		metrics_decision(&f, d, 1200);
		text = render();
		snprintf(line, sizeof(line), "%s 1", r->want);
		if (!has(text, line))
			fail_msg("%s: no line '%s' in:\n%s", r->name, line, text);
		if (r->also && !has(text, r->also))
			fail_msg("%s: no line '%s'", r->name, r->also);
		free(text);
	}
	free(d);
}

/* an SPF refusal lifted: counted by what lifted it, both series shown */
static void
test_overrides(void **state)
{
	struct decision_facts f;
	struct decision *d = calloc(1, sizeof(*d));
	char *text;

	(void)state;
	assert_non_null(d);
	metrics_reset();
	memset(&f, 0, sizeof(f));
	f.spf_mailfrom.o.result = SPF_FAIL;
	d->vd.spf = &f.spf_mailfrom;
	d->vd.trusted = TRUST_MX;
	strcpy(d->result, "fail");
	strcpy(d->action, "PREPEND Received-SPF: fail");
	metrics_decision(&f, d, 1200);
	metrics_decision(&f, d, 1200);
	d->vd.trusted = TRUST_DNSWL;
	metrics_decision(&f, d, 1200);
	text = render();
	if (!has(text, "spfpd_overrides_total{by=\"mx\"} 2") ||
	    !has(text, "spfpd_overrides_total{by=\"dnswl\"} 1"))
		fail_msg("overrides:\n%s", text);
	free(text);
	free(d);
}

static void
test_histogram(void **state)
{
	char *text;

	(void)state;
	metrics_reset();
	metrics_dns_upstream(400);              /* 0.0004 s */
	metrics_dns_upstream(1000);             /* on the 0.001 bound */
	metrics_dns_upstream(3000000);          /* 3 s */
	metrics_dns_upstream(60000000);         /* 60 s: only +Inf */
	text = render();
	assert_true(has(text, "spfpd_dns_upstream_duration_seconds_bucket"
	    "{le=\"0.0005\"} 1"));
	assert_true(has(text, "spfpd_dns_upstream_duration_seconds_bucket"
	    "{le=\"0.001\"} 2"));
	assert_true(has(text, "spfpd_dns_upstream_duration_seconds_bucket"
	    "{le=\"2.5\"} 2"));
	assert_true(has(text, "spfpd_dns_upstream_duration_seconds_bucket"
	    "{le=\"5\"} 3"));
	assert_true(has(text, "spfpd_dns_upstream_duration_seconds_bucket"
	    "{le=\"10\"} 3"));
	assert_true(has(text, "spfpd_dns_upstream_duration_seconds_bucket"
	    "{le=\"+Inf\"} 4"));
	assert_true(has(text, "spfpd_dns_upstream_duration_seconds_sum "
	    "63.001400"));
	assert_true(has(text, "spfpd_dns_upstream_duration_seconds_count 4"));
	free(text);
}

static void
test_requests(void **state)
{
	char *text;

	(void)state;
	metrics_reset();
	metrics_request("rcpt");
	metrics_request("END-OF-MESSAGE");
	metrics_request("");
	metrics_request("SOMETHING\nELSE");
	text = render();
	assert_true(has(text, "spfpd_requests_total{protocol_state=\"RCPT\"} "
	    "1"));
	assert_true(has(text, "spfpd_requests_total{protocol_state="
	    "\"END-OF-MESSAGE\"} 1"));
	assert_true(has(text, "spfpd_requests_total{protocol_state=\"none\"} "
	    "1"));
	assert_true(has(text, "spfpd_requests_total{protocol_state=\"other\"} "
	    "1"));
	assert_null(strstr(text, "SOMETHING"));
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decisions),
		cmocka_unit_test(test_overrides),
		cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_requests),
	};

	return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
