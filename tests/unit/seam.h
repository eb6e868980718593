/*
 * seam - the unit tests' scripted DNS: dns.c's upstream seam
 * (dns_set_upstream) answered from a world (tests/diff/world.c) in wire
 * format, with a log of the questions, questions held unanswered, a loop
 * run until a check's done() (with a safety timer), and checks written as
 * scripts of zones, checks and what must come of them (seam_script()).
 * Used by test_dnscache, test_spf and test_iprev.  No process, no socket.
 *
 * A zone is text, one record or outcome a line, "name TYPE value":
 *
 *   example.com TXT v=spf1 -all        TXT: the rest of the line, cut into
 *                                      255-byte strings
 *   example.com MX 10 mx.example.com   A, AAAA, MX, PTR, CNAME as world_add()
 *   example.com CNAME60 x.example.net  a CNAME with a TTL of 60 (else 3600)
 *   example.com TXT !nxdomain          an outcome for (name, TYPE); TYPE
 *                                      "*": every type.  !nxdomain
 *                                      !nodata !servfail !refused !notimp
 *                                      !formerr, !timeout (no reply)
 *   slow.example.net TXT !hang         every question for the name is held
 *                                      unanswered until seam_reset()
 *   x.example.net TXT !unsent          every question for the name fails
 *                                      to be sent (DNS_XFER_ERROR)
 *   @word args                         the test's own generator (gen)
 *
 * A check's outcome is a record of fields (seam_record()), and what must
 * come of it an expectation, words separated by spaces:
 *
 *   pass                   a bare word: result=pass
 *   terms=1 name=a.b       equal (as text)
 *   runs>1 elapsed<3       compared as numbers: < <= > >= too; != as text
 *   expl^="no: 192.0.2.9"  starts with; ~= contains; "..." holds spaces
 *   !expl                  the field is absent (a NULL string)
 *   nq=2                   questions upstream since seam_reset()
 *   example.com/TXT=1      questions for (name, type) since seam_reset()
 *   elapsed<1              seconds from seam_begin() to done()
 *
 * A field the check did not record fails the test (no typo passes).
 */
#ifndef SPFPD_TEST_SEAM_H
#define SPFPD_TEST_SEAM_H

#include <stddef.h>

struct event_base;
struct config;
struct world;

#define SEAM_TTL 3600                   /* of records in a zone */
#define SEAM_SAFETY_S 10                /* a check that hangs fails */

extern struct event_base *seam_base;
extern struct config *seam_cfg;
extern struct world *seam_world;

struct seam_opts {
	const char *debug_env;          /* debug logging when set (or NULL) */
	int spf;                        /* spf_init() too */
	void (*gen)(const char *line);  /* a zone's "@word args" lines (word
	                                   args): the test's generators */
	const char *const *settings;    /* config: key, value, ..., NULL */
};

/*
 * seam_start - the default config with o's settings, an event base, dns.c
 * over the seam, an empty world.  seam_stop() frees it all.
 */
void seam_start(const struct seam_opts *o);
void seam_stop(void);

/* the same as a cmocka setup and teardown; *state is a struct seam_opts */
int seam_setup(void **state);
int seam_teardown(void **state);

/* SEAM_UNIT - a cmocka test f over the seam started with opts */
#define SEAM_UNIT(f, opts) \
	cmocka_unit_test_prestate_setup_teardown(f, seam_setup, \
	    seam_teardown, (opts))

/* seam_set - one config setting ("key", "value"); a bad one fails */
void seam_set(const char *key, const char *value);

/* seam_zone - add the lines of text to the world (see above) */
void seam_zone(const char *text);

/*
 * seam_reset - an empty world and cache, no questions yet.  Held questions
 * would be joined by a later check's same question: they end now, as
 * timeouts, and are forgotten.
 */
void seam_reset(void);

/* seam_hold - from now on hold every question, until seam_release() */
void seam_hold(void);
/* seam_release - answer the held questions from the world; hold no more */
void seam_release(void);

/* seam_questions - questions upstream since seam_reset() (or start) */
unsigned long seam_questions(void);
/* seam_asked - of those, the questions for (name, type) */
unsigned seam_asked(const char *name, int type);

/* ----- one check, run to its done() ----- */

#define SEAM_FIELDS 16
#define SEAM_VALUE 1024

struct seam_res {
	int done;                       /* done() calls */
	double t0;
	size_t n;
	struct {
		char key[16];
		int set;                /* 0: absent */
		char val[SEAM_VALUE];
	} f[SEAM_FIELDS];
};

/* seam_begin - an empty record, its clock started: before the check */
void seam_begin(struct seam_res *r);

/*
 * seam_record - done(): count the call, record fields by a format of
 * "key=%s" (a NULL string: absent) and "key=%u" words
 */
void seam_record(struct seam_res *r, const char *fmt, ...);

/* seam_get - a field's value, NULL when absent; one never recorded fails */
const char *seam_get(const struct seam_res *r, const char *key);

/*
 * seam_wait - run the loop until r's done(), which must not have come
 * from inside the call that started the check; then run what is ready
 * and require exactly one done().  Records "elapsed".  -1 when no done()
 * came in SEAM_SAFETY_S: the caller cancels the check and fails.
 */
int seam_wait(struct seam_res *r);

/* seam_expect - every word of expect holds of r, or the test fails */
void seam_expect(const struct seam_res *r, const char *expect,
    const char *what);

/* ----- checks as scripts ----- */

/* seam_run_fn - run one check, given in the test's own words, into r */
typedef void seam_run_fn(const char *words, struct seam_res *r);

/*
 * seam_script - run a script, one line at a time:
 *
 *   a zone line            add to the world (see above); the first after
 *                          a check begins a fresh world and cache
 *   check WORDS -> EXPECT  run(WORDS): EXPECT must hold of it (and the
 *                          words of "also")
 *   also -> EXPECT         every later check expects EXPECT as well
 *   reset                  a fresh world and cache (seam_reset())
 *   flush                  the cache forgets (dns_flush())
 *   sleep MS               wait MS milliseconds
 *
 * A failure names the script and the check's line.
 */
void seam_script(const char *name, const char *script, seam_run_fn *run);

/* SEAM_TEST - f, a cmocka test that runs the script s with run */
#define SEAM_TEST(f, s, run) \
	static void \
	f(void **state) \
	{ \
		(void)state; \
		seam_script(#s, (s), (run)); \
	}

#endif
