/*
 * strbuf - a bounded string builder.  See strbuf.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "strbuf.h"

void
strbuf_init(struct strbuf *b, char *buf, size_t sz)
{
	b->p = buf;
	b->sz = sz;
	b->len = 0;
	if (sz)
		buf[0] = '\0';
}

void
strbuf_putc(struct strbuf *b, char ch)
{
	if (b->len + 1 < b->sz) {
		b->p[b->len++] = ch;
		b->p[b->len] = '\0';
	}
}

void
strbuf_putn(struct strbuf *b, const char *s, size_t n)
{
	if (b->len + 1 >= b->sz)
		return;
	if (n > b->sz - 1 - b->len)
		n = b->sz - 1 - b->len;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void
strbuf_puts(struct strbuf *b, const char *s)
{
	strbuf_putn(b, s, strlen(s));
}

void
strbuf_printf(struct strbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->len + 1 >= b->sz)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->sz - b->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		b->p[b->len] = '\0';    /* an encoding error: nothing added */
	else if ((size_t)n >= b->sz - b->len)
		b->len = b->sz - 1;     /* cut, as snprintf() cuts */
	else
		b->len += (size_t)n;
}
