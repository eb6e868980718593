/*
 * strbuf - a bounded string builder over the caller's buffer.
 *
 * It never writes past the buffer and keeps it NUL-terminated; what does
 * not fit is cut, byte by byte, as snprintf() cuts (a text that must not
 * end inside an escape or a UTF-8 sequence is measured by its builder
 * first, see compose.c).  Every text spfpd builds in pieces - header
 * fields, replies, log fields, spfpd -q's report - goes through it.
 *
 *	char buf[64];
 *	struct strbuf b;
 *
 *	strbuf_init(&b, buf, sizeof(buf));
 *	strbuf_puts(&b, "result=");
 *	strbuf_printf(&b, "%s (%u)", name, n);
 *
 * b.len is the length of the text so far (at most sizeof(buf) - 1).
 */
#ifndef SPFPD_STRBUF_H
#define SPFPD_STRBUF_H

#include <stddef.h>

struct strbuf {
	char *p;                /* the caller's buffer */
	size_t sz;              /* its size */
	size_t len;             /* bytes of text, p[len] == '\0' */
};

/* strbuf_init - start an empty text in buf (nothing is written if sz 0) */
void strbuf_init(struct strbuf *b, char *buf, size_t sz);
void strbuf_putc(struct strbuf *b, char ch);
void strbuf_puts(struct strbuf *b, const char *s);
void strbuf_putn(struct strbuf *b, const char *s, size_t n);   /* n bytes */
void strbuf_printf(struct strbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
