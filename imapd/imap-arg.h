/*
 * imap-arg.h: the argument tree of a parsed IMAP command, and the small
 * readers every command handler uses on it.
 *
 * The tree is produced by imap_parser_read() (imap-parser.h) and owned by
 * the parser: every pointer in it stays valid until imap_parser_reset()
 * or imap_parser_free().  Each argument array ends with an element of
 * type IMAP_ARG_EOL, so handlers may walk it without the count.
 *
 * Strings are NUL-terminated and, with one exception, hold no NUL: a
 * literal8 (RFC 3516 "~{N}") may, and len then tells the truth.  The
 * typed readers below refuse such a string wherever a C string is meant.
 */
#ifndef GUESTBOX_IMAP_ARG_H
#define GUESTBOX_IMAP_ARG_H

#include <stddef.h>
#include <stdint.h>

enum imap_arg_type {
	IMAP_ARG_EOL = 0,	/* the end of an argument array */
	IMAP_ARG_ATOM,		/* also numbers, flags (\Seen), sequence sets */
	IMAP_ARG_NIL,		/* the atom NIL in any case; str holds it */
	IMAP_ARG_STRING,	/* a quoted string, unescaped */
	IMAP_ARG_LITERAL,	/* {N}, {N+}, ~{N}; see the flags */
	IMAP_ARG_LIST,		/* ( ... ) */
};

/* Flags of struct imap_arg. */
#define IMAP_ARG_F_NONSYNC	0x01	/* RFC 7888 {N+} */
#define IMAP_ARG_F_LITERAL8	0x02	/* RFC 3516 ~{N}: may hold NUL */
#define IMAP_ARG_F_STREAMED	0x04	/* data went to a sink; str is NULL */
#define IMAP_ARG_F_SECTION	0x08	/* an atom with a "[... (list)]" part */

struct imap_arg {
	enum imap_arg_type	 type;
	unsigned int		 flags;		/* IMAP_ARG_F_* */
	/*
	 * ATOM, NIL, STRING, LITERAL: the text, NUL-terminated, and its
	 * length.  A streamed literal has str NULL and len its size.
	 */
	char			*str;
	size_t			 len;
	/*
	 * LIST: the elements.  An ATOM with IMAP_ARG_F_SECTION: the header
	 * list inside its brackets, as in FETCH BODY[HEADER.FIELDS (A B)]
	 * (RFC 3501 6.4.5).  Such an atom is read as one token, like
	 * Dovecot does; its str is the atom with the blanks and the list
	 * left out: "BODY[HEADER.FIELDS]<0.100>".  Always EOL-terminated;
	 * list_count does not count the EOL.
	 */
	struct imap_arg		*list;
	size_t			 list_count;
};

/* The name of a type, for error texts ("atom", "list", ...). */
const char	*imap_arg_type_name(enum imap_arg_type);

int	 imap_arg_is_eol(const struct imap_arg *);
/* An ATOM (not NIL, not an atom with a section list). */
int	 imap_arg_get_atom(const struct imap_arg *, const char **str_r);
/* An ATOM compared case-insensitively, as IMAP keywords are. */
int	 imap_arg_atom_equals(const struct imap_arg *, const char *);
/* A STRING or an in-memory LITERAL without NUL (RFC 3501 "string"). */
int	 imap_arg_get_string(const struct imap_arg *, const char **str_r);
/* RFC 3501 "astring": ATOM, NIL (as the text "NIL"), STRING, LITERAL. */
int	 imap_arg_get_astring(const struct imap_arg *, const char **str_r);
/* RFC 3501 "nstring": NIL gives *str_r NULL, or a string. */
int	 imap_arg_get_nstring(const struct imap_arg *, const char **str_r);
/* A LIST; *args_r is EOL-terminated, count_r may be NULL. */
int	 imap_arg_get_list(const struct imap_arg *, const struct imap_arg **args_r,
	    size_t *count_r);

/*
 * RFC 3501 9: number = 1*DIGIT, an unsigned 32-bit value; nz-number
 * excludes 0.  RFC 7162 7: mod-sequence-value is an unsigned 63-bit
 * value.  Return 0, or -1 for anything else (signs, blanks, overflow,
 * empty).  They never read past the NUL.
 */
int	 imap_number_parse(const char *, uint32_t *);
int	 imap_nz_number_parse(const char *, uint32_t *);
int	 imap_number64_parse(const char *, uint64_t *);

/* An ATOM holding a number as above. */
int	 imap_arg_get_number(const struct imap_arg *, uint32_t *);
int	 imap_arg_get_number64(const struct imap_arg *, uint64_t *);

#endif
