/*
 * spfrec - strict RFC 7208 syntax of an SPF record (section 12 ABNF).
 *
 * libspf2 lets through records RFC 7208 calls invalid (bad modifiers,
 * duplicate redirect=/exp=, bad macro characters, bad top labels, ...).
 * Every record goes through spfrec_check() before libspf2 sees it; a
 * record that fails is a permerror, whatever libspf2 would have said.
 * Macros are expanded here too (spfrec_expand), never by libspf2.
 */
#ifndef SPFPD_SPFREC_H
#define SPFPD_SPFREC_H

#include <stddef.h>

struct spfrec_info {
	int has_all;                    /* an "all" mechanism */
	int has_redirect;
	int has_exp;
	unsigned nterms;
};

/*
 * spfrec_is_spf - does this TXT string select as an SPF record
 * ("v=spf1" alone or followed by a space, case-insensitive; RFC 7208 4.5)?
 */
int spfrec_is_spf(const char *txt, size_t len);

/*
 * spfrec_next_term - the next term of a record at or after *t (before e),
 * its end in *sp; 0 when there is none.  The one tokenizer of spfpd.
 */
int spfrec_next_term(const char **t, const char *e, const char **sp);

/*
 * spfrec_is_modifier - is the term t (n bytes) a modifier: a letter first,
 * and "=" before any ":" (RFC 7208 12: name "=" macro-string)?  A valid
 * record's terms are modifiers or mechanisms by this test.
 */
int spfrec_is_modifier(const char *t, size_t n);

/* spfrec_check - 0 when valid; -1 with a reason in err */
int spfrec_check(const char *txt, size_t len, struct spfrec_info *info,
    char *err, size_t errsz);

/*
 * spfrec_domain_spec_ok - is s (len bytes) a valid domain-spec?  exp says
 * whether the explanation-only macro letters c, r, t are allowed.
 */
int spfrec_domain_spec_ok(const char *s, size_t len);

/*
 * spfrec_macro_string_ok - a valid macro-string (exp= TXT: exp_text) that
 * libspf2 can also compile safely: its compiled form must fit in its
 * fixed buffer (see SPFREC_MACRO_MAX_COMPILED).
 */
#define SPFREC_MACRO_MAX_COMPILED 320
int spfrec_macro_string_ok(const char *s, size_t len, int exp);

/*
 * spfrec_explanation_ok - a valid explanation text (RFC 7208 6.2: an
 * explain-string), of any length: spfpd expands it itself, libspf2 never
 * compiles it.
 */
int spfrec_explanation_ok(const char *s, size_t len);

/*
 * spfrec_rewrite - a valid record in the form libspf2 gets right, for a
 * client of the given family.  "a/0" and "mx/0" become exists: on names
 * under these reserved suffixes, which spf.c answers itself.
 */
#define SPFREC_ANY_A ".any-a.spfpd.invalid"
#define SPFREC_ANY_MX ".any-mx.spfpd.invalid"
int spfrec_rewrite(const char *txt, size_t len, int v6, char *out,
    size_t outsz);

/*
 * spfrec_synth_name - whether name is one of those reserved names: 0 for
 * SPFREC_ANY_A, 1 for SPFREC_ANY_MX, the name before the suffix in base;
 * -1 when it is not (or base, of basesz bytes, cannot hold it).
 */
int spfrec_synth_name(const char *name, char *base, size_t basesz);

/*
 * spfrec_pin_domain - term (n bytes, valid, its macros expanded already)
 * as it reads inside a record whose current domain is dom, written so
 * that it means the same in a record with another current domain: "a",
 * "mx", "ptr" without a domain-spec get ":dom".  -1 when dom is not a
 * plain name (letters, digits, "-", "_", dots), the term still holds a
 * macro, or out (outsz bytes) is too small.
 */
int spfrec_pin_domain(const char *term, size_t n, const char *dom,
    char *out, size_t outsz);

/*
 * The values of the macro letters of RFC 7208 7.2 for one check: s, l,
 * o, d, i (IPv6 as dotted nibbles), p (NULL: "unknown"), v, h, and for
 * explanations c, r, t.
 */
struct spfrec_env {
	const char *s, *l, *o, *d, *i, *p, *v, *h, *c, *r, *t;
};

/*
 * spfrec_domain_ok - a domain to check (no final dot): multi-label, its
 * last label a toplabel (RFC 7208 7.1: letters and digits with at least
 * one letter, or a dash inside), so "[192.0.2.1]" or "example.123" are
 * malformed (4.3: result "none").
 */
int spfrec_domain_ok(const char *d);

/*
 * spfrec_term_spec - where the domain-spec of a valid term is (after
 * "include:", "a:", "redirect=", ..., before a cidr-length): 1 with
 * *off and *slen set, 0 when the term has none.
 */
int spfrec_term_spec(const char *t, size_t len, size_t *off, size_t *slen);

/*
 * spfrec_expand - the macro-string s (len bytes, valid: see
 * spfrec_macro_string_ok) with every macro expanded (RFC 7208 7.3:
 * transformers, delimiters, URL escaping of upper-case letters with
 * upper-case hex), into out (NUL-terminated, any bytes): its length, -1
 * when out (outsz bytes) is too small and not partial.  libspf2's own
 * expander drops a character when a transformer asks for more parts than
 * there are ("%{l2}" of "postmaster" gave "ostmaster") and escapes in
 * lower case.
 */
long spfrec_expand(const char *s, size_t len, const struct spfrec_env *env,
    char *out, size_t outsz, int partial);

/*
 * spfrec_expand_size - a buffer size in which spfrec_expand() of s
 * certainly fits (every value URL-escaped); with partial, spfrec_expand()
 * instead keeps what fits of the text's left part (an explanation).
 * Linear in the size of s and of the values.
 */
size_t spfrec_expand_size(const char *s, size_t len,
    const struct spfrec_env *env);

#endif
