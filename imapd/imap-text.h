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
#include <stdint.h>

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

/*
 * The same body text read piece by piece, for a message too large to
 * hold (SEARCH BODY and TEXT over a 50 MB message, issue 17), and
 * searched for needles (folded strings) instead of returned: a needle
 * split across two pieces is found.  The scan says which range of the
 * message it reads next and is fed that range in any split; it holds a
 * part's header at most (mail/mime.c bounds it by MIME_MAX_HEADER), the
 * decoders' state and the longest needle's length of text.  mm (the
 * message's structure, from its cache) and needles are borrowed for its
 * life.  imap_text_body() is this scan fed the whole message at once.
 */
struct imap_text_scan;

struct imap_text_scan *imap_text_scan_new(const struct mime_msg *mm,
	    uint64_t size, const char *const *needles, size_t nneedles);
/* 1 with the range [*offp, *offp + *lenp) read next; 0 once done. */
int	 imap_text_scan_next(struct imap_text_scan *, uint64_t *offp,
	    uint64_t *lenp);
/* n bytes from the start of that range on (n <= *lenp); then _next. */
void	 imap_text_scan_feed(struct imap_text_scan *, const uint8_t *,
	    size_t n);
/* Does the text read so far contain needle i? */
int	 imap_text_scan_found(const struct imap_text_scan *, size_t i);
void	 imap_text_scan_free(struct imap_text_scan **);

#endif
