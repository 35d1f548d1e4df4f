/*
 * mime.h: the MIME structure of a message, for IMAP FETCH.
 *
 * mime_parse() reads a whole message (RFC 5322, RFC 2045/2046) once, at
 * delivery or APPEND, and gives the part tree with the byte offsets of
 * each part's header and body, and the ENVELOPE, BODYSTRUCTURE and BODY
 * strings exactly as guestbox-imapd writes them (RFC 3501 7.4.2, with
 * Dovecot's conventions where the RFC leaves a choice).  mime_cache_encode()
 * turns that into the aux bytes of the sealed blob; mime_cache_decode()
 * reads them back without the message, so FETCH ENVELOPE never decrypts
 * the content.
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

struct pack;

/* Limits; past each one the rest is opaque body, never an error. */
#define MIME_MAX_DEPTH		100		/* nested multipart/rfc822 */
#define MIME_MAX_PARTS		10000		/* parts in one message */
#define MIME_MAX_HEADER		(1024 * 1024)	/* bytes of one header block */
#define MIME_MAX_BOUNDARY	80		/* RFC 2046 5.1.1 says 70 */
#define MIME_MAX_ADDRESSES	10000		/* per address header */
#define MIME_MAX_PARAMS		1000		/* per Content-* header */

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
};

struct mime_msg {
	struct mime_part *parts;
	uint32_t	 nparts;
	uint32_t	 flags;		/* MIME_MSG_LIMIT_* */
	uint64_t	 size;		/* bytes of the parsed message */
	/*
	 * The FETCH values, parentheses included, ready to follow
	 * "ENVELOPE ", "BODYSTRUCTURE " and "BODY ".  They may contain IMAP
	 * literals ({n}CRLF and 8-bit bytes) but never a NUL.
	 */
	char		*envelope;
	size_t		 envelope_len;
	char		*bodystructure;
	size_t		 bodystructure_len;
	char		*body;
	size_t		 body_len;
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
 * line counts or FETCH strings.  NULL where mime_header_end() fails.
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

/* ---------------------------------------------------------------- */
/* Headers                                                            */
/* ---------------------------------------------------------------- */

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

/*
 * RFC 5322 2.2.3 unfolding: the value without the CRLF (or LF) of each
 * fold and without trailing blanks.  Returns a new NUL-terminated string
 * (it may hold other NULs; *lenp is the length).
 */
char	*mime_header_unfold(const uint8_t *value, size_t len, size_t *lenp);
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

/* ---------------------------------------------------------------- */
/* Content-* fields                                                   */
/* ---------------------------------------------------------------- */

struct mime_param {
	char	*name;		/* as written; RFC 2231 name*: the '*' kept */
	char	*value;		/* unquoted; RFC 2231 sections joined */
};

/* RFC 2045, 2183, 3282, 2557 fields of one part; NULL when absent. */
struct mime_content {
	char			*type;		/* as written, e.g. "Text" */
	char			*subtype;
	struct mime_param	*params;
	size_t			 nparams;
	char			*encoding;	/* Content-Transfer-Encoding */
	char			*id;
	char			*description;
	char			*md5;
	char			*disposition;
	struct mime_param	*dparams;
	size_t			 ndparams;
	char			**language;	/* Content-Language tags */
	size_t			 nlanguage;
	char			*location;
};

/* Parses the Content-* fields of a header block (first one of each wins). */
void	 mime_content_parse(const void *hdr, size_t len, struct mime_content *);
void	 mime_content_clear(struct mime_content *);

/*
 * The value of a parameter, decoded: RFC 2231 name*= (charset'lang'%XX)
 * is percent-decoded and *charsetp set (a new string, or NULL if none was
 * given); a plain name= is returned as it is.  Returns a new string (it
 * may hold NULs; *lenp), or NULL if there is no such parameter.
 */
char	*mime_param_get(const struct mime_param *, size_t nparams,
	    const char *name, char **charsetp, size_t *lenp);

/* ---------------------------------------------------------------- */
/* The sealed cache (aux data of the blob)                            */
/* ---------------------------------------------------------------- */

#define MIME_CACHE_VERSION	1

/* Appends the parts and the FETCH strings of msg to out. */
void		 mime_cache_encode(const struct mime_msg *, struct pack *out);
/*
 * Reads what mime_cache_encode() wrote.  Every index, offset and length is
 * checked (against msgsize, the size of the message the cache belongs
 * to); returns NULL on any damage, so that the caller parses the message
 * again.
 */
struct mime_msg	*mime_cache_decode(const void *, size_t, uint64_t msgsize);

#endif
