/*
 * imap-quote.h: writing strings into IMAP responses (RFC 3501 4.3, 9).
 *
 * A string goes out as a quoted string when it can (TEXT-CHARs only,
 * not too long) and as a literal "{N}" CRLF data otherwise; an astring
 * as a bare atom when it is one.  Nothing written ever holds NUL: RFC
 * 3501 excludes it even from literals (CHAR8), so a NUL from a broken
 * message is written as 0x80, as Dovecot does.
 */
#ifndef GUESTBOX_IMAP_QUOTE_H
#define GUESTBOX_IMAP_QUOTE_H

#include <stddef.h>

struct evbuffer;

/* Longer strings go out as literals even when they could be quoted. */
#define IMAP_QUOTE_QUOTED_MAX	1024

/* Flags. */
#define IMAP_QUOTE_F_UTF8	0x01	/* RFC 6855 UTF8=ACCEPT: UTF-8 may be quoted */
/*
 * Message data in ENVELOPE and BODYSTRUCTURE, as Dovecot's
 * imap_append_nstring() writes it (clients compare the two): quoted at
 * any length, but a literal when more than four characters need a
 * backslash (the literal is shorter).
 */
#define IMAP_QUOTE_F_MESSAGE	0x02

/*
 * A literal "{N}" CRLF data, each NUL written as 0x80 (RFC 3501 9: CHAR8
 * excludes NUL; Dovecot does the same), so the size stays N.
 */
void	 imap_quote_literal(struct evbuffer *, const void *data, size_t len);
/* True if s can be written as an atom (and is not NIL). */
int	 imap_quote_is_atom(const char *s, size_t len);

/* string: quoted or literal. */
void	 imap_quote_string(struct evbuffer *, const char *s, size_t len,
	    unsigned int flags);
/* astring: atom, quoted or literal. */
void	 imap_quote_astring(struct evbuffer *, const char *s, size_t len,
	    unsigned int flags);
/* nstring: NIL for s NULL, else a string. */
void	 imap_quote_nstring(struct evbuffer *, const char *s, size_t len,
	    unsigned int flags);
/*
 * nstring of a header value whose folds were kept as LF: each fold
 * becomes one space (none before a line that starts with a blank), as
 * Dovecot writes Date, Message-ID and Content-ID.
 */
void	 imap_quote_nstring_nolf(struct evbuffer *, const char *s, size_t len,
	    unsigned int flags);
/*
 * Subjects and display names (Dovecot's imap_append_string_for_humans):
 * runs of blanks and folds become one space, leading and trailing ones
 * go; a string so changed, or with '"', '\\' or 8-bit bytes, is sent as a
 * literal, anything else quoted as it is.
 */
void	 imap_quote_humans(struct evbuffer *, const char *s, size_t len);
/*
 * A mailbox name kept in UTF-8, written in modified UTF-7 (RFC 3501
 * 5.1.3) as an astring; INBOX in any case is written "INBOX".  Returns
 * -1 (and writes nothing) if name is not valid UTF-8.
 */
int	 imap_quote_mailbox(struct evbuffer *, const char *name);

#endif
