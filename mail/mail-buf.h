/*
 * mail-buf.h: the growing byte buffers of the mail/ parsers (struct pack
 * used as a string builder).  Private to mail/.
 */
#ifndef GUESTBOX_MAIL_BUF_H
#define GUESTBOX_MAIL_BUF_H

#include <stdint.h>
#include <string.h>

#include "pack.h"
#include "xmalloc.h"

static inline void
mail_buf_add(struct pack *pk, const void *p, size_t n)
{
	pack_raw(pk, p, n);
}

static inline void
mail_buf_adds(struct pack *pk, const char *s)
{
	pack_raw(pk, s, strlen(s));
}

static inline void
mail_buf_addc(struct pack *pk, int c)
{
	pack_u8(pk, (uint8_t)c);
}

/* A C string of the buffer: like Dovecot's, it ends at the first NUL. */
static inline char *
mail_buf_cstr(const struct pack *pk)
{
	return xstrndup(pk->len == 0 ? "" : (const char *)pk->buf, pk->len);
}

/* Hands over the buffer as a NUL-terminated string; *lenp: its length. */
static inline char *
mail_buf_take(struct pack *pk, size_t *lenp)
{
	if (lenp != NULL)
		*lenp = pk->len;
	pack_u8(pk, '\0');
	return (char *)pk->buf;
}

/* A hex digit's value, or -1. */
static inline int
mail_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

#endif
