/*
 * pack.c: record encoding; the decoder is fed database bytes that may be
 * damaged, so every read is bounds-checked.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "pack.h"
#include "xmalloc.h"

/* A record larger than this is a damaged length field, not data. */
#define PACK_MAX_FIELD	(256U * 1024 * 1024)

void
pack_init(struct pack *pk)
{
	memset(pk, 0, sizeof(*pk));
}

void
pack_free(struct pack *pk)
{
	free(pk->buf);
	memset(pk, 0, sizeof(*pk));
}

static uint8_t *
pack_reserve(struct pack *pk, size_t n)
{
	size_t	 want;

	if (n > PACK_MAX_FIELD || pk->len > PACK_MAX_FIELD)
		fatalx("pack_reserve: %zu bytes is beyond any record", n);
	want = pk->len + n;
	if (want > pk->cap) {
		pk->cap = pk->cap == 0 ? 64 : pk->cap;
		while (pk->cap < want)
			pk->cap *= 2;
		pk->buf = xrealloc(pk->buf, pk->cap);
	}
	pk->len += n;
	return pk->buf + pk->len - n;
}

void
pack_be32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

void
pack_be64(uint8_t *p, uint64_t v)
{
	pack_be32(p, v >> 32);
	pack_be32(p + 4, (uint32_t)v);
}

uint32_t
unpack_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

uint64_t
unpack_be64(const uint8_t *p)
{
	return (uint64_t)unpack_be32(p) << 32 | unpack_be32(p + 4);
}

void
pack_u8(struct pack *pk, uint8_t v)
{
	*pack_reserve(pk, 1) = v;
}

void
pack_u16(struct pack *pk, uint16_t v)
{
	uint8_t	*p = pack_reserve(pk, 2);

	p[0] = v >> 8;
	p[1] = v;
}

void
pack_u32(struct pack *pk, uint32_t v)
{
	pack_be32(pack_reserve(pk, 4), v);
}

void
pack_u64(struct pack *pk, uint64_t v)
{
	pack_be64(pack_reserve(pk, 8), v);
}

void
pack_i64(struct pack *pk, int64_t v)
{
	pack_u64(pk, (uint64_t)v);
}

void
pack_raw(struct pack *pk, const void *src, size_t n)
{
	if (n != 0)
		memcpy(pack_reserve(pk, n), src, n);
}

const uint8_t *
pack_join(struct pack *wait, struct pack *tmp, const uint8_t *p, size_t *np)
{
	if (wait->len == 0)
		return p;
	tmp->len = 0;
	pack_raw(tmp, wait->buf, wait->len);
	pack_raw(tmp, p, *np);
	wait->len = 0;
	*np = tmp->len;
	return tmp->buf;
}

void
pack_blob(struct pack *pk, const void *src, size_t n)
{
	if (n > PACK_MAX_FIELD)
		fatalx("pack_blob: %zu bytes", n);
	pack_u32(pk, (uint32_t)n);
	pack_raw(pk, src, n);
}

void
pack_str(struct pack *pk, const char *s)
{
	if (s == NULL)
		s = "";
	pack_blob(pk, s, strlen(s));
}

void
unpack_init(struct unpack *up, const void *src, size_t n)
{
	up->p = src;
	up->left = n;
	up->error = 0;
}

/* Returns NULL (and marks the reader failed) when n bytes are not there. */
static const uint8_t *
unpack_take(struct unpack *up, size_t n)
{
	const uint8_t	*p;

	if (up->error || n > up->left) {
		up->error = 1;
		return NULL;
	}
	p = up->p;
	up->p += n;
	up->left -= n;
	return p;
}

uint8_t
unpack_u8(struct unpack *up)
{
	const uint8_t	*p = unpack_take(up, 1);

	return p == NULL ? 0 : p[0];
}

uint16_t
unpack_u16(struct unpack *up)
{
	const uint8_t	*p = unpack_take(up, 2);

	return p == NULL ? 0 : (uint16_t)(p[0] << 8 | p[1]);
}

uint32_t
unpack_u32(struct unpack *up)
{
	const uint8_t	*p = unpack_take(up, 4);

	return p == NULL ? 0 : unpack_be32(p);
}

uint64_t
unpack_u64(struct unpack *up)
{
	const uint8_t	*p = unpack_take(up, 8);

	return p == NULL ? 0 : unpack_be64(p);
}

int64_t
unpack_i64(struct unpack *up)
{
	return (int64_t)unpack_u64(up);
}

void
unpack_raw(struct unpack *up, void *dst, size_t n)
{
	const uint8_t	*p = unpack_take(up, n);

	if (p == NULL)
		memset(dst, 0, n);
	else if (n != 0)
		memcpy(dst, p, n);
}

const void *
unpack_blob(struct unpack *up, size_t *lenp)
{
	uint32_t	 n = unpack_u32(up);
	const uint8_t	*p = unpack_take(up, n);

	*lenp = p == NULL ? 0 : n;
	return p == NULL ? "" : (const void *)p;
}

char *
unpack_str(struct unpack *up)
{
	size_t		 n;
	const char	*p = unpack_blob(up, &n);

	if (!up->error && memchr(p, '\0', n) != NULL)
		up->error = 1;
	return up->error ? xstrdup("") : xstrndup(p, n);
}

int
unpack_done(const struct unpack *up)
{
	return !up->error && up->left == 0;
}
