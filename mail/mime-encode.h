/*
 * mime-encode.h: header text for sending.  The other direction of
 * mime-decode.h, and strict: what is written here leaves the system.
 */
#ifndef GUESTBOX_MIME_ENCODE_H
#define GUESTBOX_MIME_ENCODE_H

struct pack;

/* Whether s can stand in a header unencoded: printable ASCII and blanks. */
int	 mime_text_is_plain(const char *s);

/*
 * Appends s (UTF-8) as RFC 2047 encoded-words (B, UTF-8), folded with
 * CRLF and a blank between words so that lines stay short (RFC 5322
 * 2.1.1); a UTF-8 sequence is never split across two words (RFC 2047 5).
 */
void	 mime_encode_words(struct pack *, const char *s);

#endif
