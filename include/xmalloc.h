/*
 * xmalloc - memory or exit: the one out-of-memory policy of spfpd.
 *
 * As in Postfix (mymalloc) and OpenSMTPD (xmalloc): a process that cannot
 * get a few hundred bytes cannot decide mail correctly either, and a
 * half-built answer is worse than none.  These log "fatal: out of memory"
 * (with what was asked) and exit 1; Postfix answers the client with
 * 451 4.3.5 and retries, and a daemon under a service manager restarts.
 * They never return NULL.
 */
#ifndef SPFPD_XMALLOC_H
#define SPFPD_XMALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xreallocarray(void *p, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
int xasprintf(char **out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
