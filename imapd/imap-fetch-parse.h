/*
 * imap-fetch-parse.h: the attribute list of FETCH and UID FETCH (RFC 3501
 * 6.4.5, RFC 3516 BINARY, RFC 7162 CHANGEDSINCE and VANISHED) read into a
 * request the handler executes per message.
 *
 *   FETCH seq (FLAGS BODY.PEEK[1.2.HEADER.FIELDS (From To)]<0.100>)
 *         (CHANGEDSINCE 12 VANISHED)
 *
 * Ownership: the request owns everything in it (names, fields, paths)
 * and imap_fetch_request_clear() frees it; it does not point into the
 * argument tree, so it outlives the parser's command.
 */
#ifndef GUESTBOX_IMAP_FETCH_PARSE_H
#define GUESTBOX_IMAP_FETCH_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "imap-arg.h"

/*
 * Part numbers in one section ("1.2.3"): MIME nesting deeper than this
 * is refused at delivery as well (Dovecot's limit).
 */
#define IMAP_FETCH_PART_DEPTH_MAX	100
/* Body items (BODY[...], BINARY[...], RFC822*) in one FETCH. */
#define IMAP_FETCH_PARTS_MAX		1000
/*
 * Field names in one HEADER.FIELDS (.NOT) list.  Clients ask for a
 * dozen or two (NeoMutt about 20); the bound keeps one FETCH of 1000
 * sections from matching each header against millions of names.
 */
#define IMAP_FETCH_FIELDS_MAX		256

/* Attributes without a section: bits of imap_fetch_request.attrs. */
#define IMAP_FETCH_FLAGS		0x0001
#define IMAP_FETCH_INTERNALDATE		0x0002
#define IMAP_FETCH_RFC822_SIZE		0x0004
#define IMAP_FETCH_ENVELOPE		0x0008
#define IMAP_FETCH_BODY			0x0010	/* BODYSTRUCTURE without extensions */
#define IMAP_FETCH_BODYSTRUCTURE	0x0020
#define IMAP_FETCH_UID			0x0040
#define IMAP_FETCH_MODSEQ		0x0080	/* RFC 7162 */

enum imap_fetch_part_kind {
	IMAP_FETCH_PART_BODY = 1,	/* BODY[...], BODY.PEEK[...] */
	IMAP_FETCH_PART_RFC822,		/* BODY[], answered as RFC822 */
	IMAP_FETCH_PART_RFC822_HEADER,	/* BODY.PEEK[HEADER], as RFC822.HEADER */
	IMAP_FETCH_PART_RFC822_TEXT,	/* BODY[TEXT], as RFC822.TEXT */
	IMAP_FETCH_PART_BINARY,		/* RFC 3516 BINARY[...], BINARY.PEEK[...] */
	IMAP_FETCH_PART_BINARY_SIZE,	/* RFC 3516 BINARY.SIZE[...] */
};

enum imap_section_text {
	IMAP_SECTION_ALL = 0,		/* "[]" or "[1.2]": all of it */
	IMAP_SECTION_HEADER,
	IMAP_SECTION_HEADER_FIELDS,
	IMAP_SECTION_HEADER_FIELDS_NOT,
	IMAP_SECTION_TEXT,
	IMAP_SECTION_MIME,		/* only after a part number */
};

struct imap_fetch_part {
	enum imap_fetch_part_kind	 kind;
	int				 peek;	/* does not set \Seen */
	/* Part numbers, each >= 1; depth 0 is the message itself. */
	uint32_t			*path;
	size_t				 depth;
	enum imap_section_text		 text;
	/*
	 * HEADER.FIELDS (.NOT): the field names as sent (RFC 3501 9:
	 * header-fld-name = astring, so any text without NUL); compare them
	 * case-insensitively.
	 */
	char				**fields;
	size_t				 nfields;
	/*
	 * RFC 3501 6.4.5: <offset.length>, each up to 2^32-1, length at
	 * least 1.  offset + length may pass 2^32: add them in 64 bits.
	 */
	int				 partial;
	uint32_t			 offset;
	uint32_t			 length;
	/*
	 * The item's name in the FETCH response, e.g. "BODY[1.HEADER.FIELDS
	 * (FROM TO)]<0>" for BODY.PEEK[1.HEADER.FIELDS (From To)]<0.100>
	 * (RFC 3501 7.4.2: only the origin octet of a partial is given).
	 */
	char				*name;
};

struct imap_fetch_request {
	unsigned int		 attrs;		/* IMAP_FETCH_* */
	struct imap_fetch_part	*parts;
	size_t			 nparts;
	/* Some item sets \Seen (RFC 3501 6.4.5: BODY[...] without PEEK). */
	int			 sets_seen;
	/* RFC 7162 3.1.4: CHANGEDSINCE (0 .. 2^63-1); it implies MODSEQ. */
	int			 changedsince_set;
	uint64_t		 changedsince;
	/* RFC 7162 3.2.6: VANISHED (only UID FETCH, with CHANGEDSINCE). */
	int			 vanished;
	char			*error;		/* owned; see the parse function */
};

/*
 * Parses the arguments after the sequence set: a macro (ALL, FAST,
 * FULL), one attribute or a parenthesised list of them, then optionally
 * a list of modifiers, then the end.  uid says whether this is UID FETCH
 * (which allows VANISHED; adding the UID attribute RFC 3501 6.4.8 asks
 * for is left to the caller).  Returns 0, or -1 with *error_r the text
 * for "TAG BAD ...", valid until the request is cleared.
 */
int	 imap_fetch_parse(const struct imap_arg *args, int uid,
	    struct imap_fetch_request *req, const char **error_r);
void	 imap_fetch_request_clear(struct imap_fetch_request *);

#endif
