/*
 * mime-decode.h: content decoding to UTF-8 (transfer encodings, RFC 2047
 * encoded words, charsets), lenient: for searching, and the transfer
 * encodings alone for FETCH BINARY.  Each appends to out.
 */
#ifndef GUESTBOX_MIME_DECODE_H
#define GUESTBOX_MIME_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include <iconv.h>

#include "pack.h"

struct mime_content;
struct mime_part;

/* Converts from charset to UTF-8; unknown charsets pass bytes through. */
void	 mime_decode_charset(struct pack *, const char *charset,
	    const uint8_t *, size_t);
/*
 * The strict conversion, for what a client sends (SEARCH CHARSET): 0,
 * MIME_CHARSET_UNKNOWN if iconv does not know charset, or
 * MIME_CHARSET_INVALID if the input is not text in it.  With in NULL
 * only whether charset is known is told.  out gets no NUL.
 */
#define MIME_CHARSET_UNKNOWN	-1
#define MIME_CHARSET_INVALID	-2
int	 mime_charset_to_utf8(struct pack *out, const char *charset,
	    const uint8_t *in, size_t);
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

/*
 * The same decoding in pieces, for a body too large to hold (SEARCH
 * BODY over a 50 MB message, issue 17): the body fed in any split gives
 * exactly the output mime_decode_part_text() gives for the whole (the
 * functions above are this run over one piece).  What a piece ends
 * inside (an "=XX" or a soft line break, a multibyte character of the
 * charset) waits for the next; finish flushes it as the end of the body.
 */
struct mime_decoder {
	int		 enc;		/* MIME_DECODER_* */
	/* base64: the bits not yet a byte; an "=" ends the body. */
	uint32_t	 bits;
	int		 nbits;
	int		 b64_end;
	/* The charset: (iconv_t)-1 passes bytes through. */
	iconv_t		 cd;
	struct pack	 qp_wait;	/* an "=" and what followed, <= 2 */
	struct pack	 cs_wait;	/* an incomplete character */
	struct pack	 tmp, cs_tmp, raw;	/* scratch */
};

#define MIME_DECODER_RAW	0
#define MIME_DECODER_QP		1
#define MIME_DECODER_BASE64	2

/* c: a leaf's Content-* fields (its transfer encoding and charset). */
void	 mime_decoder_init(struct mime_decoder *, const struct mime_content *);
/*
 * The transfer encoding (MIME_DECODER_*) undone and nothing else: the
 * bytes as they were before encoding, for FETCH BINARY (RFC 3516 4.2),
 * which sends them on (the lenient decoding above is Dovecot's there too).
 */
void	 mime_decoder_init_transfer(struct mime_decoder *, int enc);
void	 mime_decoder_feed(struct mime_decoder *, struct pack *out,
	    const uint8_t *, size_t);
/* The end of the body: what waited is decoded as the whole would be. */
void	 mime_decoder_finish(struct mime_decoder *, struct pack *out);
void	 mime_decoder_clear(struct mime_decoder *);

#endif
