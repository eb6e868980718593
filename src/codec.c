/*
 * codec - the Postfix policy delegation protocol.  See codec.h.
 */
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "xmalloc.h"

static const char *const attr_names[ATTR_MAX] = {
	[ATTR_REQUEST] = "request",
	[ATTR_PROTOCOL_STATE] = "protocol_state",
	[ATTR_PROTOCOL_NAME] = "protocol_name",
	[ATTR_HELO_NAME] = "helo_name",
	[ATTR_QUEUE_ID] = "queue_id",
	[ATTR_SENDER] = "sender",
	[ATTR_RECIPIENT] = "recipient",
	[ATTR_RECIPIENT_COUNT] = "recipient_count",
	[ATTR_CLIENT_ADDRESS] = "client_address",
	[ATTR_CLIENT_NAME] = "client_name",
	[ATTR_REVERSE_CLIENT_NAME] = "reverse_client_name",
	[ATTR_INSTANCE] = "instance",
	[ATTR_SASL_METHOD] = "sasl_method",
	[ATTR_SASL_USERNAME] = "sasl_username",
	[ATTR_SASL_SENDER] = "sasl_sender",
	[ATTR_SIZE] = "size",
	[ATTR_SERVER_ADDRESS] = "server_address",
	[ATTR_SERVER_PORT] = "server_port",
	[ATTR_CLIENT_PORT] = "client_port",
	[ATTR_POLICY_CONTEXT] = "policy_context",
};

const char *
codec_attr_name(enum attr a)
{
	return (unsigned)a < ATTR_MAX ? attr_names[a] : "?";
}

void
codec_request_init(struct policy_request *r)
{
	memset(r, 0, sizeof(*r));
}

void
codec_request_reset(struct policy_request *r)
{
	unsigned i;

	for (i = 0; i < ATTR_MAX; i++)
		free(r->attr[i]);
	codec_request_init(r);
}

int
codec_in_progress(const struct policy_request *r)
{
	return r->nattrs > 0;
}

const char *
codec_get(const struct policy_request *r, enum attr a)
{
	return r->attr[a] ? r->attr[a] : "";
}

static enum attr
attr_lookup(const char *name, size_t len)
{
	unsigned i;

	for (i = 0; i < ATTR_MAX; i++)
		if (strlen(attr_names[i]) == len &&
		    memcmp(attr_names[i], name, len) == 0)
			return (enum attr)i;
	return ATTR_MAX;
}

enum codec_status
codec_line(struct policy_request *r, const char *line, size_t len,
    const struct codec_limits *lim, const char **err)
{
	const char *eq;
	enum attr a;
	char *v;

	/* a CR before the newline: tolerated, for people typing at nc/telnet */
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len > lim->max_line) {
		*err = "line too long";
		return CODEC_ERROR;
	}
	r->size += len + 1;
	if (r->size > lim->max_request) {
		*err = "request too large";
		return CODEC_ERROR;
	}
	if (len == 0) {
		if (r->nattrs == 0) {
			*err = "empty request";
			return CODEC_ERROR;
		}
		if (r->attr[ATTR_REQUEST] == NULL) {
			*err = "missing request attribute";
			return CODEC_ERROR;
		}
		if (strcmp(r->attr[ATTR_REQUEST], "smtpd_access_policy") != 0) {
			*err = "unrecognized request type";
			return CODEC_ERROR;
		}
		return CODEC_DONE;
	}
	if (++r->nattrs > lim->max_attrs) {
		*err = "too many attributes";
		return CODEC_ERROR;
	}
	if (memchr(line, '\0', len) != NULL) {
		*err = "NUL byte in request";
		return CODEC_ERROR;
	}
	eq = memchr(line, '=', len);
	if (eq == NULL) {
		*err = "line without '='";
		return CODEC_ERROR;
	}
	if (eq == line) {
		*err = "empty attribute name";
		return CODEC_ERROR;
	}
	a = attr_lookup(line, (size_t)(eq - line));
	if (a == ATTR_MAX)
		return CODEC_MORE;      /* unknown: ignored */
	v = xstrndup(eq + 1, len - (size_t)(eq + 1 - line));
	free(r->attr[a]);               /* a repeated attribute: last wins */
	r->attr[a] = v;
	return CODEC_MORE;
}
