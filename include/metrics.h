/*
 * metrics - the counters behind spfpd's Prometheus endpoint, and their
 * text (the exposition format, version 0.0.4).
 *
 * Counting is an increment into a static table: no allocation, no
 * clock (a duration is measured by the caller, which has the time
 * anyway), no I/O.  Every label value comes from a fixed set chosen
 * here; nothing a client sends becomes a label.  metrics_http.c serves
 * the text; this file knows nothing of HTTP.
 *
 * Single-threaded, like the rest of spfpd.
 */
#ifndef SPFPD_METRICS_H
#define SPFPD_METRICS_H

#include <stdint.h>

struct decision;
struct decision_facts;
struct evbuffer;

/* a policy request reached the decision pipeline (its protocol_state) */
void metrics_request(const char *protocol_state);

/*
 * metrics_decision - one request answered, by whichever path (local,
 * repeat, error, checks), us microseconds after it was complete
 */
void metrics_decision(const struct decision_facts *f,
    const struct decision *d, uint64_t us);

/* a question sent upstream got its answer (or timed out) after us */
void metrics_dns_upstream(uint64_t us);

/* the policy connections */
void metrics_conn_opened(void);
void metrics_conn_closed(void);
void metrics_accept_paused(void);

/* a SIGHUP reload: ok 1, or 0 when the file had errors */
void metrics_reload(int ok);

/* metrics_render - the whole exposition text, appended to out */
void metrics_render(struct evbuffer *out);

/* for tests: every counter back to zero */
void metrics_reset(void);

#endif
