/*
 * mime-header.h: the fields of a header block (RFC 5322 2.2), borrowed
 * from the message bytes: iteration, unfolding, lookup and the
 * HEADER.FIELDS filter of IMAP.
 */
#ifndef GUESTBOX_MIME_HEADER_H
#define GUESTBOX_MIME_HEADER_H

#include <stddef.h>
#include <stdint.h>

struct pack;

/* One header field as it stands in the message. */
struct mime_header {
	const uint8_t	*line;		/* first byte of the field */
	size_t		 line_len;	/* with continuation lines and newline */
	const uint8_t	*name;		/* field name, trailing blanks cut */
	size_t		 name_len;
	const uint8_t	*value;		/* raw value after ':' and blanks */
	size_t		 value_len;	/* up to the end of the last line */
};

struct mime_header_iter {
	const uint8_t	*p;
	const uint8_t	*end;
};

/*
 * Walks the fields of a header block; stops at the blank line or the end.
 * A line without a colon is a field whose name is the whole line (as
 * Dovecot does), so that nothing of a broken header is lost.
 */
void	 mime_header_iter_init(struct mime_header_iter *, const void *hdr,
	    size_t len);
int	 mime_header_iter_next(struct mime_header_iter *, struct mime_header *);

/* Whether the field is called name (case-insensitive, no NUL in it). */
int	 mime_header_name_is(const struct mime_header *, const char *name);
/*
 * RFC 5322 2.2.3 unfolding: the value without the CRLF (or LF) of each
 * fold and without trailing blanks.  Returns a new NUL-terminated string
 * (it may hold other NULs; *lenp is the length).
 */
char	*mime_header_unfold(const uint8_t *value, size_t len, size_t *lenp);
/*
 * The value as Dovecot's header parser hands it over: folds kept as bare
 * LF (the CR before each dropped), each NUL made U+FFFD.  A new string
 * without NULs; *lenp (if not NULL) its length.
 */
char	*mime_header_value_full(const struct mime_header *, size_t *lenp);
/* The unfolded value of the first field called name, or NULL. */
char	*mime_header_get(const void *hdr, size_t len, const char *name,
	    size_t *lenp);
/*
 * BODY[HEADER.FIELDS (names)] and HEADER.FIELDS.NOT: appends the original
 * lines of the fields whose name is (exclude: is not) in names, compared
 * case-insensitively, then the blank line.  Bare LFs become CRLF.
 */
void	 mime_header_fields(const void *hdr, size_t len,
	    const char *const *names, size_t nnames, int exclude,
	    struct pack *out);

#endif
