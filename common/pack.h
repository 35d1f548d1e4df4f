/*
 * pack.h: fixed-layout big-endian encoding of store records.
 *
 * A struct pack grows as it is written; a struct unpack reads from borrowed
 * bytes and remembers the first error, so a decoder reads every field and
 * checks unpack_ok() once at the end.  Big-endian integers keep Berkeley DB
 * keys sorted numerically.
 */
#ifndef GUESTBOX_PACK_H
#define GUESTBOX_PACK_H

#include <stddef.h>
#include <stdint.h>

struct pack {
	uint8_t		*buf;	/* owned; free with pack_free() */
	size_t		 len;
	size_t		 cap;
};

struct unpack {
	const uint8_t	*p;	/* borrowed: valid while the source is */
	size_t		 left;
	int		 error;	/* sticky: set on the first short read */
};

void	 pack_init(struct pack *);
void	 pack_free(struct pack *);
void	 pack_u8(struct pack *, uint8_t);
void	 pack_u16(struct pack *, uint16_t);
void	 pack_u32(struct pack *, uint32_t);
void	 pack_u64(struct pack *, uint64_t);
void	 pack_i64(struct pack *, int64_t);
void	 pack_raw(struct pack *, const void *, size_t);
/*
 * For a decoder fed in pieces: what waited in wait (the end of the last
 * piece, which it could not use yet) followed by p, *np bytes.  Returns
 * them, gathered in tmp unless nothing waited (then p); *np gets their
 * length, and wait is emptied.
 */
const uint8_t *pack_join(struct pack *wait, struct pack *tmp, const uint8_t *p,
	    size_t *np);
void	 pack_blob(struct pack *, const void *, size_t);	/* u32 length + bytes */
void	 pack_str(struct pack *, const char *);		/* NULL packs as "" */

void	 unpack_init(struct unpack *, const void *, size_t);
uint8_t	 unpack_u8(struct unpack *);
uint16_t unpack_u16(struct unpack *);
uint32_t unpack_u32(struct unpack *);
uint64_t unpack_u64(struct unpack *);
int64_t	 unpack_i64(struct unpack *);
void	 unpack_raw(struct unpack *, void *, size_t);
/* Returns a pointer into the source; *lenp gets the length. */
const void *unpack_blob(struct unpack *, size_t *lenp);
/* Returns a new NUL-terminated string (caller frees); refuses inner NULs. */
char	*unpack_str(struct unpack *);
/* True when every read succeeded and all bytes were consumed. */
int	 unpack_done(const struct unpack *);

/* Big-endian helpers for keys built on the stack. */
void	 pack_be32(uint8_t *, uint32_t);
void	 pack_be64(uint8_t *, uint64_t);
uint32_t unpack_be32(const uint8_t *);
uint64_t unpack_be64(const uint8_t *);

#endif
