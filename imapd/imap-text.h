/*
 * imap-text.h: decoded, case-folded text for SEARCH.
 *
 * Every function returns a new NUL-terminated UTF-8 string (NULs inside
 * become blanks), folded so that a folded search string can be found in
 * it with strstr().
 */
#ifndef GUESTBOX_IMAP_TEXT_H
#define GUESTBOX_IMAP_TEXT_H

#include <stddef.h>

struct mime_msg;

char	*imap_text_fold(const char *, size_t);
/* A header block with its encoded words decoded. */
char	*imap_text_header(const void *hdr, size_t len);
/* Does a field called name contain folded (decoded, case-folded)? */
int	 imap_text_header_match(const void *hdr, size_t len, const char *name,
	    const char *folded);
/*
 * RFC 3501 6.4.4 FROM, TO, CC, BCC: do the addresses of the fields called
 * name, as ENVELOPE reads them, contain folded?
 */
int	 imap_text_address_match(const void *hdr, size_t len, const char *name,
	    const char *folded);
/* The text parts of a message, transfer encoding and charset undone. */
char	*imap_text_body(const void *msg, size_t len, const struct mime_msg *);

#endif
