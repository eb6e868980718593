/*
 * query - spfpd -q: evaluate one client/sender/HELO through the same
 * checks the daemon runs (real DNS) and print what was found.
 */
#ifndef SPFPD_QUERY_H
#define SPFPD_QUERY_H

struct config;

int query_run(struct config *cfg, const char *ip, const char *sender,
    const char *helo);

#endif
