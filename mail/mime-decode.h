/*
 * mime-decode.h: content decoding to UTF-8 (transfer encodings, RFC 2047
 * encoded words, charsets), lenient: for searching, never for sending.
 * Each appends to out.
 */
#ifndef GUESTBOX_MIME_DECODE_H
#define GUESTBOX_MIME_DECODE_H

#include <stddef.h>
#include <stdint.h>

struct mime_content;
struct mime_part;
struct pack;

/* Converts from charset to UTF-8; unknown charsets pass bytes through. */
void	 mime_decode_charset(struct pack *, const char *charset,
	    const uint8_t *, size_t);
/* RFC 2045 6.7 quoted-printable (q: RFC 2047 4.2 "_" is a space). */
void	 mime_decode_qp(struct pack *, const uint8_t *, size_t, int q);
/* RFC 2045 6.8, lenient: anything outside the alphabet is skipped. */
void	 mime_decode_base64(struct pack *, const uint8_t *, size_t);
/* RFC 2047 encoded words of a header value, to UTF-8. */
void	 mime_decode_words(struct pack *, const uint8_t *, size_t);
/*
 * The body of a (leaf) part of msg, its transfer encoding and charset (c,
 * its Content-* fields) undone.
 */
void	 mime_decode_part_text(struct pack *, const uint8_t *msg,
	    const struct mime_part *, const struct mime_content *);

#endif
