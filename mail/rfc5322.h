/*
 * rfc5322.h: the header of a submitted message (RFC 5322), as much as
 * submission needs: the fields as sent (to copy them into the outbound
 * PGP/MIME message), unfolded values, the address lists of From, To, Cc
 * and Bcc, message identifiers and the date.
 *
 * Pure and bounded: a header section of at most RFC5322_HEADER_MAX octets
 * and RFC5322_FIELDS_MAX fields, address lists of at most a caller's
 * maximum (RFC5322_ADDRS_MAX by default).  Nothing here calls fatal() on
 * input; every refusal comes with a reason (a static string) the engine
 * can put after "554 5.6.0".
 */
#ifndef GUESTBOX_RFC5322_H
#define GUESTBOX_RFC5322_H

#include <stddef.h>
#include <time.h>

/* Postfix's header_size_limit is 100 KiB; long DKIM and References fit. */
#define RFC5322_HEADER_MAX	(256 * 1024)
#define RFC5322_FIELDS_MAX	1000
#define RFC5322_ADDRS_MAX	1000
#define RFC5322_MSGIDS_MAX	1000

struct rfc5322_field {
	const char	*raw;		/* name, colon, folded body, line end */
	size_t		 raw_len;	/* (borrowed from the message) */
	char		*name;		/* as sent, without blanks before ':' */
	char		*value;		/* unfolded (RFC 5322 2.2.3), trimmed */
};

struct rfc5322_header {
	struct rfc5322_field	*fields;
	size_t			 nfields;
	size_t			 header_len;	/* with the empty line */
	const char		*body;		/* borrowed from the message */
	size_t			 body_len;
};

/*
 * Splits msg (CRLF or LF line ends) into header fields and body.  The
 * header ends at the first empty line, or at the end of msg.  The result
 * borrows from msg, which must outlive it; free it with
 * rfc5322_header_free().  Returns 0, or -1 with a reason in *whyp: a
 * header over the size or field limits, a NUL in it, a line that is
 * neither a field nor a continuation (RFC 5322 2.2), a bad field name.
 */
int	rfc5322_header_parse(const char *msg, size_t len,
	    struct rfc5322_header **hp, const char **whyp);
void	rfc5322_header_free(struct rfc5322_header **);

/*
 * The next field called name (case-insensitive) after prev, or the first
 * when prev is NULL; NULL when there is none.
 */
const struct rfc5322_field *rfc5322_header_find(const struct rfc5322_header *,
	    const char *name, const struct rfc5322_field *prev);
/* The unfolded value of the first such field, or NULL. */
const char *rfc5322_header_value(const struct rfc5322_header *,
	    const char *name);
size_t	rfc5322_header_count(const struct rfc5322_header *, const char *name);

/* Unfolds a field body (RFC 5322 2.2.3) and trims it; a new string. */
char	*rfc5322_unfold(const char *, size_t);

/* One mailbox of an address list (RFC 5322 3.4). */
struct rfc5322_addr {
	/*
	 * The display name: quoted strings unquoted, words joined by one
	 * space, encoded words (RFC 2047) left as they are.  NULL if none.
	 */
	char	*display;
	/*
	 * The addr-spec without comments or blanks.  A quoted local part
	 * keeps its quotes unless it is a plain dot-atom ("bob"@x is bob@x).
	 */
	char	*addr;
	/* The addr_normalize() form of addr, or NULL if it has none. */
	char	*norm;
	/* The display name of the group it was in, or NULL. */
	char	*group;
};

struct rfc5322_addrlist {
	struct rfc5322_addr	*addrs;
	size_t			 naddrs;
	size_t			 ngroups;	/* groups, empty ones too */
};

/*
 * Parses an address-list (RFC 5322 3.4, with the obsolete forms of 4.4
 * that clients still send: empty list elements, dots in display names,
 * routes in angle brackets) from an unfolded value with the parser of
 * ENVELOPE (message-address.c), refusing whatever that had to repair,
 * and appends its mailboxes to list, which must be zeroed or hold an
 * earlier result (To and Cc can be collected in one list).  Groups such as
 * "undisclosed-recipients:;" add no mailbox.  At most max mailboxes in
 * the list in all.  Returns 0, or -1 with a reason in *whyp; on error the
 * list keeps what it had before the call.
 */
int	rfc5322_addrlist_parse(const char *value, size_t max,
	    struct rfc5322_addrlist *, const char **whyp);
/* The same for every field called name in the header. */
int	rfc5322_header_addrs(const struct rfc5322_header *, const char *name,
	    size_t max, struct rfc5322_addrlist *, const char **whyp);
/* Whether the list holds an address whose normalized form is norm. */
int	rfc5322_addrlist_has(const struct rfc5322_addrlist *, const char *norm);
void	rfc5322_addrlist_clear(struct rfc5322_addrlist *);

/*
 * RFC 5322 3.6.4: one msg-id ("<left@right>", with the brackets) from a
 * Message-ID value.  Lenient as IMAP clients need it to be: any printable
 * text without blanks or brackets between '<' and '>'.  Returns a new
 * string, or NULL.
 */
char	*rfc5322_msgid_parse(const char *value);
/*
 * In-Reply-To and References: every msg-id in the value, in order (words
 * of the obsolete phrase form between them are skipped).  At most max;
 * returns 0 with a new array of new strings in *idsp (free with
 * rfc5322_msgids_free), or -1 if there are more.
 */
int	rfc5322_msgids_parse(const char *value, size_t max, char ***idsp,
	    size_t *np);
void	rfc5322_msgids_free(char ***idsp, size_t n);

/*
 * RFC 5322 3.3 date-time, with the obsolete forms of 4.3 (two-digit
 * years, named zones, comments, no seconds).  Returns 0 with the time in
 * *tp, or -1.
 */
int	rfc5322_date_parse(const char *value, time_t *tp);
/* The same, with the date's own zone in *zonep (seconds east of UTC). */
int	rfc5322_date_parse_zone(const char *value, time_t *tp, int *zonep);
/*
 * The RFC 5322 3.3 date-time of t for a Date or Received header: local
 * time with its offset, or (utc) UTC as "+0000".  buf should hold
 * RFC5322_DATE_MAX bytes.
 */
#define RFC5322_DATE_MAX	64
void	rfc5322_date_format(time_t t, int utc, char *buf, size_t len);
/*
 * A unique id-left for an RFC 5322 3.6.4 msg-id we make (or a MIME
 * boundary): (len - 1) / 2 random bytes as hex, NUL-terminated.
 */
void	rfc5322_random_id(char *buf, size_t len);
/*
 * The trace fields we put above a message we deliver finally to rcpt
 * (RFC 5321 4.4, RFC 5322 3.6.7): Return-Path with the reverse path,
 * Delivered-To (RFC 9228, against loops) and Received from helo (NULL or
 * "": "unknown") at peer, by host with the comment; with proto non-NULL
 * also "with PROTO id" and a new random id.  A new string; its length
 * in *lenp.
 */
char	*rfc5322_trace_final(const char *from, const char *rcpt,
	    const char *helo, const char *peer, const char *host,
	    const char *comment, const char *proto, size_t *lenp);

#endif
