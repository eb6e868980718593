/*
 * codec - the Postfix policy delegation protocol (SMTPD_POLICY_README).
 *
 * A request is "name=value" lines ended by an empty line; the reply is
 * "action=..." and an empty line.  codec_line() takes one line at a time
 * (without its newline) and fills a policy_request.  Attributes we know are
 * kept; unknown ones are counted against the limit and ignored, as Postfix
 * asks.  Anything malformed is an error: the caller logs it and disconnects
 * without replying.
 */
#ifndef SPFPD_CODEC_H
#define SPFPD_CODEC_H

#include <stddef.h>

enum attr {
	ATTR_REQUEST,
	ATTR_PROTOCOL_STATE,
	ATTR_PROTOCOL_NAME,
	ATTR_HELO_NAME,
	ATTR_QUEUE_ID,
	ATTR_SENDER,
	ATTR_RECIPIENT,
	ATTR_RECIPIENT_COUNT,
	ATTR_CLIENT_ADDRESS,
	ATTR_CLIENT_NAME,
	ATTR_REVERSE_CLIENT_NAME,
	ATTR_INSTANCE,
	ATTR_SASL_METHOD,
	ATTR_SASL_USERNAME,
	ATTR_SASL_SENDER,
	ATTR_SIZE,
	ATTR_SERVER_ADDRESS,
	ATTR_SERVER_PORT,
	ATTR_CLIENT_PORT,
	ATTR_POLICY_CONTEXT,    /* Postfix 3.1: check_policy_service
	                           { ..., policy_context=X } */
	ATTR_MAX
};

struct codec_limits {
	size_t max_line;        /* bytes per line, newline excluded */
	unsigned max_attrs;     /* lines per request */
	size_t max_request;     /* bytes per request */
};

struct policy_request {
	char *attr[ATTR_MAX];   /* NULL when absent; owned */
	unsigned nattrs;        /* lines seen, known or not */
	size_t size;            /* bytes seen, newlines included */
};

enum codec_status {
	CODEC_MORE,             /* line taken, request not complete */
	CODEC_DONE,             /* empty line: request complete and valid */
	CODEC_ERROR             /* malformed: *err says why */
};

void codec_request_init(struct policy_request *r);
void codec_request_reset(struct policy_request *r);

/* codec_line - take one line (no newline; may hold NULs, they are errors) */
enum codec_status codec_line(struct policy_request *r, const char *line,
    size_t len, const struct codec_limits *lim, const char **err);

/* codec_get - attribute value, or "" when absent */
const char *codec_get(const struct policy_request *r, enum attr a);

/* codec_attr_name - the protocol name of an attribute */
const char *codec_attr_name(enum attr a);

/* codec_in_progress - has the request begun (some line taken)? */
int codec_in_progress(const struct policy_request *r);

#endif
