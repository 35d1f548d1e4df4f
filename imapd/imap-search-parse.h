/*
 * imap-search-parse.h: SEARCH and UID SEARCH programs (RFC 3501 6.4.4,
 * RFC 4731 ESEARCH, RFC 5182 SEARCHRES, RFC 7162 MODSEQ) read into a tree
 * of keys the handler evaluates per message.
 *
 *   SEARCH RETURN (MIN COUNT) CHARSET UTF-8 OR FROM "a" (SUBJECT b NOT SEEN)
 *
 * The tree is normalized while it is built: top-level keys and
 * parenthesised groups become AND nodes (a group of one key is that key),
 * nested ORs of the same kind become one OR with many children, and NOT
 * NOT x is x.  So the long OR chains clients build from address lists
 * ("OR OR OR FROM a FROM b FROM c FROM d") stay flat, and the parser
 * itself holds the OR/NOT operators on a heap stack, never recursing
 * for them.  What remains deep (parentheses, alternating OR and NOT) is
 * bounded by depth_max, so evaluating and freeing the tree recursively
 * is safe: 10,000 nested parentheses are a BAD, never a stack overflow.
 *
 * Ownership: the program owns all of its tree (strings, sets) and does
 * not point into the argument tree; imap_search_program_clear() frees it.
 */
#ifndef GUESTBOX_IMAP_SEARCH_PARSE_H
#define GUESTBOX_IMAP_SEARCH_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "imap-arg.h"
#include "imap-seqset.h"

/* Default depth bound of the normalized tree and of parentheses. */
#define IMAP_SEARCH_DEPTH_MAX	100
/*
 * Default bound on the search keys of one program, each OR, NOT and
 * parenthesised group counted as one: a flat program is not deep, but
 * 20,000 keys still cost 20,000 tests per message.  An OR chain of 3,000
 * addresses fits.  (The command parser's IMAP_PARSER_ARGS_MAX bounds the
 * arguments of a command as well; this holds whatever parser is used.)
 */
#define IMAP_SEARCH_KEYS_MAX	10000

/* Results of imap_search_parse(). */
#define IMAP_SEARCH_OK		0
#define IMAP_SEARCH_EBAD	-1	/* TAG BAD <error> */
/* RFC 3501 6.4.4: TAG NO [BADCHARSET (US-ASCII UTF-8)] <error> */
#define IMAP_SEARCH_EBADCHARSET	-2

/*
 * Charsets accepted, for the BADCHARSET response code: these two always,
 * and with a charset_convert hook every charset it knows (RFC 3501 7.1.
 * lets the list name some of them).
 */
#define IMAP_SEARCH_CHARSETS	"US-ASCII UTF-8"

enum imap_search_key_type {
	IMAP_SEARCH_AND = 1,	/* sub[0 .. nsub-1] all match */
	IMAP_SEARCH_OR,		/* any of sub[] matches (nsub >= 2) */
	IMAP_SEARCH_NOT,	/* sub[0] does not match */
	IMAP_SEARCH_ALL,
	IMAP_SEARCH_SEQSET,	/* seqset: message sequence numbers */
	IMAP_SEARCH_UID,	/* seqset: UIDs */
	IMAP_SEARCH_FLAG,	/* flag is (set 1) or is not (set 0) set */
	IMAP_SEARCH_KEYWORD,	/* str is (set 1) or is not (set 0) set */
	IMAP_SEARCH_BCC,	/* str: substring, case-insensitive */
	IMAP_SEARCH_BODY,
	IMAP_SEARCH_CC,
	IMAP_SEARCH_FROM,
	IMAP_SEARCH_SUBJECT,
	IMAP_SEARCH_TEXT,
	IMAP_SEARCH_TO,
	IMAP_SEARCH_HEADER,	/* field contains str ("" : has the field) */
	IMAP_SEARCH_BEFORE,	/* date: internal date, disregarding time */
	IMAP_SEARCH_ON,
	IMAP_SEARCH_SINCE,
	IMAP_SEARCH_SENTBEFORE,	/* date: the Date: header */
	IMAP_SEARCH_SENTON,
	IMAP_SEARCH_SENTSINCE,
	IMAP_SEARCH_LARGER,	/* number: RFC822.SIZE > number */
	IMAP_SEARCH_SMALLER,	/* number: RFC822.SIZE < number */
	IMAP_SEARCH_MODSEQ,	/* number: MODSEQ >= number */
};

/* System flags of IMAP_SEARCH_FLAG. */
#define IMAP_SEARCH_FLAG_ANSWERED	0x01
#define IMAP_SEARCH_FLAG_DELETED	0x02
#define IMAP_SEARCH_FLAG_DRAFT		0x04
#define IMAP_SEARCH_FLAG_FLAGGED	0x08
#define IMAP_SEARCH_FLAG_SEEN		0x10
#define IMAP_SEARCH_FLAG_RECENT		0x20

/* RFC 7162 3.1.5: entry-type-req of the MODSEQ key. */
enum imap_search_modseq_type {
	IMAP_SEARCH_MODSEQ_ANY = 0,	/* no entry given */
	IMAP_SEARCH_MODSEQ_PRIV,
	IMAP_SEARCH_MODSEQ_SHARED,
	IMAP_SEARCH_MODSEQ_ALL,
};

/*
 * RFC 3501 9: date, d-Mon-yyyy.  The grammar allows any day 1 .. 31 in
 * any month; "30-Feb-2024" is the day after 29-Feb-2024, as Dovecot and
 * timegm() read it (imap_search_date_days() counts on).
 */
struct imap_date {
	uint16_t	 year;		/* 1 .. 9999 */
	uint8_t		 month;		/* 1 .. 12 */
	uint8_t		 day;		/* 1 .. 31 */
};

struct imap_search_key {
	enum imap_search_key_type	 type;
	/* Levels in this subtree, 1 for a leaf. */
	unsigned int			 depth;
	/* AND, OR, NOT. */
	struct imap_search_key		*sub;
	size_t				 nsub;
	/* String keys, KEYWORD, HEADER (the value), MODSEQ (the entry). */
	char				*str;
	char				*field;		/* HEADER */
	struct imap_seqset		 seqset;	/* SEQSET, UID */
	struct imap_date		 date;
	uint64_t			 number;	/* LARGER, SMALLER, MODSEQ */
	unsigned int			 flag;		/* FLAG */
	int				 set;		/* FLAG, KEYWORD */
	enum imap_search_modseq_type	 modseq_type;
};

/* RFC 4731 3.1 and RFC 5182: RETURN options. */
#define IMAP_SEARCH_RET_MIN	0x01
#define IMAP_SEARCH_RET_MAX	0x02
#define IMAP_SEARCH_RET_ALL	0x04
#define IMAP_SEARCH_RET_COUNT	0x08
#define IMAP_SEARCH_RET_SAVE	0x10

struct imap_search_program {
	struct imap_search_key	 root;
	/* RETURN (...) was given: answer with ESEARCH (RFC 4731 3.1). */
	int			 esearch;
	unsigned int		 ret;		/* "RETURN ()" means ALL */
	/* "$" appears: the caller substitutes the saved result. */
	int			 uses_saved;
	/* RFC 7162 3.1.5: a MODSEQ key asks for "(MODSEQ n)" in the answer. */
	int			 uses_modseq;
	char			*error;		/* owned */
};

struct imap_search_context {
	uint32_t	 max_seq;	/* "*" of sequence sets: EXISTS */
	uint32_t	 max_uid;	/* "*" of UID sets: the highest UID */
	unsigned int	 depth_max;	/* 0: IMAP_SEARCH_DEPTH_MAX */
	size_t		 keys_max;	/* 0: IMAP_SEARCH_KEYS_MAX */
	int		 allow_saved;	/* SEARCHRES advertised: "$" */
	/*
	 * SORT and THREAD (RFC 5256 BASE.6.4.SORT): the program is
	 * "charset search-key...", the charset never left out and without
	 * the word CHARSET, and no RETURN (ESORT's comes before the sort
	 * criteria: imap_search_parse_return()).
	 */
	int		 charset_first;
	/*
	 * A charset other than US-ASCII and UTF-8 (RFC 3501 6.4.4): turns
	 * in, a string argument, into UTF-8 in *out (the caller frees it);
	 * in NULL asks only whether charset is known.  Returns 0, -1 for
	 * an unknown charset, -2 for a string that is not in it.  NULL:
	 * no other charset is known.  The grammar knows no charsets
	 * itself, so that it needs nothing of mail/.
	 */
	int		(*charset_convert)(const char *charset, const char *in,
			    char **out);
};

/*
 * Parses the arguments after SEARCH (or UID SEARCH).  Returns
 * IMAP_SEARCH_OK, or IMAP_SEARCH_EBAD / IMAP_SEARCH_EBADCHARSET with
 * *error_r a text valid until the program is cleared.
 */
int	 imap_search_parse(const struct imap_arg *args,
	    const struct imap_search_context *,
	    struct imap_search_program *, const char **error_r);
void	 imap_search_program_clear(struct imap_search_program *);
/*
 * The list after RETURN (RFC 4731 3.1, RFC 5267 3.1) alone, into an
 * empty prog's esearch and ret; IMAP_SEARCH_OK or IMAP_SEARCH_EBAD with
 * *error_r valid until prog is cleared.
 */
int	 imap_search_parse_return(const struct imap_arg *,
	    const struct imap_search_context *,
	    struct imap_search_program *, const char **error_r);

/* RFC 3501 9: date-text, quoted or not; 0 or -1. */
int	 imap_search_date_parse(const char *, struct imap_date *);
/* Days since 1970-01-01 (negative before), for comparisons. */
int64_t	 imap_search_date_days(const struct imap_date *);

#endif
