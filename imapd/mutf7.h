/*
 * mutf7.h: modified UTF-7, the form of mailbox names on the wire
 * (RFC 3501 5.1.3): "Entwürfe" is "Entw&APw-rfe".
 *
 * guestbox keeps names in UTF-8 and converts at the protocol edge.  The
 * decoder is strict, because a name must have exactly one wire form
 * (otherwise two spellings reach one mailbox, or one slips past a
 * check): it refuses bytes outside printable US-ASCII, an unterminated
 * shift, a "&" not written "&-", base64 outside the modified alphabet,
 * printable ASCII written in base64, adjacent shifts ("&AOQ-&APY-" is
 * "&AOQA9g-"), padding bits that are not zero or a spare base64 digit,
 * lone or reversed UTF-16 surrogates, and U+0000.
 *
 * Both return a new NUL-terminated string the caller frees, or -1 with
 * *error_r a static text suitable for "BAD ..." or "NO ...".
 */
#ifndef GUESTBOX_MUTF7_H
#define GUESTBOX_MUTF7_H

#include <stddef.h>

/* UTF-8 to modified UTF-7; invalid UTF-8 and NUL are refused. */
int	 mutf7_encode(const char *utf8, size_t len, char **out_r,
	    const char **error_r);
/* Modified UTF-7 to UTF-8, refusing every non-canonical form. */
int	 mutf7_decode(const char *mutf7, size_t len, char **out_r,
	    const char **error_r);
/* True if mutf7_decode() would accept it. */
int	 mutf7_is_valid(const char *mutf7, size_t len);


#endif
