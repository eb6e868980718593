/*
 * fuzz_codec - the policy protocol codec fed a byte stream the way
 * session_process() (src/session.c) feeds it: lines cut at '\n' (the
 * newline dropped, a CR left for the codec), a partial line longer than
 * max_line + 1 is an error, an error ends the connection, CODEC_DONE
 * hands the request on (here: checks it, logs it escaped) and resets it.
 *
 * The first byte chooses the limits: below 0x80 the defaults of
 * spfpd.conf, else one of a few small or extreme ones.  The rest is the
 * stream, as if it had arrived in one read.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* a broken promise of the code under test: say which, then crash */
#define BUG(what) do { fprintf(stderr, "%s:%d: BUG: %s\n", __FILE__, \
	__LINE__, (what)); abort(); } while (0)

static const struct codec_limits limits[] = {
	{ 4096, 128, 32768 },           /* spfpd.conf defaults */
	{ 256, 16, 1024 },              /* the smallest the config allows */
	{ 64, 8, 256 },                 /* tests/unit/test_codec.c */
	{ 65536, 4096, 1048576 },       /* the largest the config allows */
	{ 16, 2, 40 },
	{ 1, 1, 2 },
	{ 0, 0, 0 },
	{ 30, 128, 32768 },
};

/* what the rest of spfpd may rely on once a request is complete */
static void
check_done(const struct policy_request *r, const struct codec_limits *lim)
{
	char esc[LOG_ESC_SIZE];
	unsigned i;

	if (r->attr[ATTR_REQUEST] == NULL ||
	    strcmp(r->attr[ATTR_REQUEST], "smtpd_access_policy") != 0 ||
	    r->nattrs == 0 || r->nattrs > lim->max_attrs ||
	    r->size > lim->max_request)
		BUG("a complete request breaks a limit or lacks request=");
	for (i = 0; i < ATTR_MAX; i++) {
		const char *v = codec_get(r, (enum attr)i);

		if (strlen(v) > lim->max_line || strchr(v, '\n') != NULL ||
		    codec_attr_name((enum attr)i)[0] == '?')
			BUG("an attribute value longer than a line");
		/* policy.c logs client text through log_escape() */
		log_escape(esc, sizeof(esc), v, LOG_ESC_MAX);
		if (strlen(esc) >= sizeof(esc))
			BUG("log_escape() overflowed");
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct codec_limits *lim;
	struct policy_request req;
	enum codec_status st;
	const char *p, *end, *nl, *err;

	if (size == 0)
		return 0;
	lim = data[0] < 0x80 ? &limits[0] :
	    &limits[data[0] % (sizeof(limits) / sizeof(limits[0]))];
	p = (const char *)data + 1;
	end = (const char *)data + size;
	codec_request_init(&req);
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			break;  /* a partial line: no codec call (session.c) */
		err = NULL;
		st = codec_line(&req, p, (size_t)(nl - p), lim, &err);
		p = nl + 1;
		if (st == CODEC_ERROR) {
			if (err == NULL || *err == '\0')
				BUG("CODEC_ERROR without a reason");
			break;          /* the session disconnects */
		}
		if (st == CODEC_DONE) {
			check_done(&req, lim);
			codec_request_reset(&req);
			if (codec_in_progress(&req))
				BUG("a reset request is in progress");
		} else if (!codec_in_progress(&req)) {
			BUG("a line was taken, nothing in progress");
		}
	}
	codec_request_reset(&req);
	return 0;
}
