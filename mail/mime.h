/*
 * mime.h: the MIME structure of a message, for IMAP FETCH.
 *
 * mime_parse() reads a whole message (RFC 5322, RFC 2045/2046) once, at
 * delivery or APPEND, and gives the part tree with the byte offsets of
 * each part's header and body, the Content-* fields of each part and the
 * envelope of the message and of each embedded one: what imapd writes as
 * ENVELOPE, BODYSTRUCTURE and BODY (imapd/imap-bodystructure.c).
 * mime_cache_encode() (mime-cache.h) turns that into the aux bytes of the
 * sealed blob; mime_cache_decode() reads them back without the message,
 * so FETCH ENVELOPE never decrypts the content.
 *
 * The stored form of a message has CRLF line ends, but the parser accepts
 * bare LF (sizes and line counts are those of the CRLF form, as RFC 3501
 * counts them), NULs, 8-bit headers and broken MIME.  It never fails:
 * past a limit the rest of a part is opaque body.
 *
 * Ownership: a struct mime_msg owns everything it points to; free it with
 * mime_msg_free().  The message bytes are only borrowed during mime_parse().
 */
#ifndef GUESTBOX_MIME_H
#define GUESTBOX_MIME_H

#include <stddef.h>
#include <stdint.h>

#include "message-envelope.h"
#include "mime-content.h"
#include "mime-header.h"

/* Limits; past each one the rest is opaque body, never an error. */
#define MIME_MAX_DEPTH		100		/* nested multipart/rfc822 */
#define MIME_MAX_PARTS		10000		/* parts in one message */
#define MIME_MAX_HEADER		(1024 * 1024)	/* bytes of one header block */
#define MIME_MAX_BOUNDARY	80		/* RFC 2046 5.1.1 says 70 */

#define MIME_NONE		UINT32_MAX	/* no such part index */

/* mime_part.flags */
#define MIME_PART_MULTIPART	0x0001	/* children are the body parts */
#define MIME_PART_RFC822	0x0002	/* one child: the embedded message */
#define MIME_PART_TEXT		0x0004	/* text/ (line count in BODY) */
#define MIME_PART_DIGEST	0x0008	/* multipart/digest */
#define MIME_PART_IS_MIME	0x0010	/* MIME-Version or Content-Type seen */
#define MIME_PART_HAS_NULS	0x0020	/* NUL bytes in its header or body */
#define MIME_PART_OVERFLOW	0x0040	/* a limit stopped parsing inside */

/* mime_msg.flags: which limits were reached */
#define MIME_MSG_LIMIT_DEPTH	0x0001
#define MIME_MSG_LIMIT_PARTS	0x0002
#define MIME_MSG_LIMIT_HEADER	0x0004

/*
 * One part.  Offsets are into the parsed message; a part's header is
 * followed directly by its body.  The parts of a message are an array in
 * the order they appear (index 0 is the message itself), linked by index.
 */
struct mime_part {
	uint32_t	 parent;	/* MIME_NONE for the root */
	uint32_t	 child;		/* first child or MIME_NONE */
	uint32_t	 next;		/* next sibling or MIME_NONE */
	uint32_t	 flags;		/* MIME_PART_* */
	uint64_t	 hdr_off;
	uint64_t	 hdr_len;	/* header block, with its blank line */
	uint64_t	 body_off;	/* == hdr_off + hdr_len */
	uint64_t	 body_len;
	uint64_t	 hdr_vsize;	/* sizes in the CRLF form */
	uint64_t	 body_vsize;
	uint32_t	 hdr_lines;
	uint32_t	 body_lines;
	/* The Content-* fields; NULL unless MIME_PART_IS_MIME. */
	struct mime_content	*content;
	/* The root's and each embedded message's (parent RFC822); or NULL. */
	struct message_envelope	*envelope;
};

struct mime_msg {
	struct mime_part *parts;
	uint32_t	 nparts;
	uint32_t	 flags;		/* MIME_MSG_LIMIT_* */
	uint64_t	 size;		/* bytes of the parsed message */
	/*
	 * From a version 2 cache, which did not keep References: the
	 * envelopes' references are NULL whether or not the field is there.
	 */
	int		 references_unknown;
	/*
	 * Only from a version 1 cache, which kept the FETCH values
	 * themselves (parentheses included, ready to follow "ENVELOPE ",
	 * "BODYSTRUCTURE " and "BODY "; IMAP literals but never a NUL) and
	 * no content or envelope fields: imapd writes these as they are.
	 */
	char		*v1_envelope;
	size_t		 v1_envelope_len;
	char		*v1_bodystructure;
	size_t		 v1_bodystructure_len;
	char		*v1_body;
	size_t		 v1_body_len;
};

struct mime_msg	*mime_parse(const void *data, size_t len);
void		 mime_msg_free(struct mime_msg **);

/*
 * Where the top-level header ends, its blank line included: exactly
 * mime_parse()'s parts[0].hdr_len, found without parsing the message
 * (RFC 5322 2.1: the first empty line).  -1 when only mime_parse() can
 * tell: a header with no empty line within MIME_MAX_HEADER, or a last
 * line without a newline.
 */
int		 mime_header_end(const void *data, size_t len, uint64_t *endp);
/*
 * A mime_msg of the root part alone, header and body split as
 * mime_parse() splits them: enough for BODY[], BODY[HEADER...],
 * BODY[TEXT] and RFC822.HEADER/TEXT without the cached structure.  Only
 * parts[0]'s offsets and lengths and size are set: no children, flags,
 * line counts or fields.  NULL where mime_header_end() fails.
 */
struct mime_msg	*mime_parse_root(const void *data, size_t len);

/* ---------------------------------------------------------------- */
/* Sections (RFC 3501 6.4.5 BODY[section])                            */
/* ---------------------------------------------------------------- */

/*
 * The part a section-part ("1", "2.1.3") names: numbers count the
 * children of a multipart; 1 names the body of a non-multipart part; a
 * number after a message/rfc822 part continues in its embedded message.
 * len 0 names the root.  NULL if there is no such part or the syntax is
 * wrong (a leading zero, an empty number, anything but digits and dots).
 */
const struct mime_part *mime_part_find(const struct mime_msg *,
		    const char *path, size_t len);

enum mime_section {
	MIME_SECTION_BODY,	/* BODY[1]: the part's body; [] the message */
	MIME_SECTION_HEADER,	/* BODY[HEADER], BODY[1.HEADER] */
	MIME_SECTION_TEXT,	/* BODY[TEXT], BODY[1.TEXT] */
	MIME_SECTION_MIME,	/* BODY[1.MIME]: the part's own header */
};

/*
 * The bytes [*offp, *offp + *lenp) of the message a section names.
 * HEADER and TEXT of a message/rfc822 part are those of its embedded
 * message.  BODY of the root (empty path) is the whole message.
 * HEADER.FIELDS is HEADER filtered with mime_header_fields().
 * Returns 0 with the range; 1 when the section is empty by definition:
 * HEADER, TEXT (and so HEADER.FIELDS) of a part that is not
 * message/rfc822 (RFC 3501 6.4.5 defines them only for messages; send ""
 * as Dovecot does, without the blank line); -1 if the part does not exist
 * or MIME was asked of the root.
 */
int		 mime_section_range(const struct mime_msg *, const char *path,
		    size_t pathlen, enum mime_section,
		    uint64_t *offp, uint64_t *lenp);

/*
 * RFC 3501 4.3: a literal carries no NUL.  Like Dovecot, a section sent
 * as a literal has each NUL replaced by 0x80 (BINARY, RFC 3516, could
 * send them in a literal8).  Works in place.
 */
void		 mime_nuls_replace(void *, size_t);

#endif
