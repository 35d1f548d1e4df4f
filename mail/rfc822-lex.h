/*
 * rfc822-lex.h: RFC 5322 3.2 lexical tokens over bytes (Dovecot's
 * rfc822-parser seam).  The readers append what they read to a struct
 * pack and return 1 if more input follows (the CFWS after the token
 * skipped), 0 at the end, -1 on a syntax error.  The input is borrowed.
 */
#ifndef GUESTBOX_RFC822_LEX_H
#define GUESTBOX_RFC822_LEX_H

#include <stddef.h>
#include <stdint.h>

struct pack;

struct rfc822_lex {
	const uint8_t	*p;
	const uint8_t	*end;
	struct pack	*comment;	/* the last comment seen, or NULL */
	int		 unclosed;	/* a comment, quote or literal was */
};

/*
 * 0: not atext; 1: atext; 2: letter, digit or 8-bit (RFC 6532 lets UTF-8
 * into atoms); 4: atext that is an RFC 2045 tspecial ("/", "=", "?").
 */
int	 rfc822_atext_class(uint8_t);
#define RFC822_IS_ATEXT(c)	(rfc822_atext_class(c) != 0)
#define RFC822_IS_TOKEN(c)	((rfc822_atext_class(c) & 3) != 0)
#define RFC822_IS_LWSP(c)	((c) == ' ' || (c) == '\t')

/*
 * Whether the whole of s is RFC 5322 3.2.3 dot-atom-text (no CFWS), which
 * is also RFC 5321 4.1.2 Dot-string.  utf8: admit 8-bit bytes in atext as
 * RFC 6532 3.2 does for messages; 0 for the ASCII of an SMTP path without
 * SMTPUTF8 (RFC 6531).
 */
int	 rfc822_is_dot_atom_text(const char *s, int utf8);

/* comment: where the text of the last comment skipped goes, or NULL. */
void	 rfc822_lex_init(struct rfc822_lex *, const uint8_t *, size_t,
	    struct pack *comment);
/* The current byte; 0 at the end, where a C parser would see its NUL. */
int	 rfc822_lex_cur(const struct rfc822_lex *);
/* RFC 5322 3.2.2 CFWS; -1 for an unclosed comment. */
int	 rfc822_lex_skip_lwsp(struct rfc822_lex *);
/* RFC 5322 3.2.3 atom. */
int	 rfc822_lex_atom(struct rfc822_lex *, struct pack *);
/* dot-atom, allowing CFWS around the dots as RFC 822 did. */
int	 rfc822_lex_dot_atom(struct rfc822_lex *, struct pack *);
/* RFC 2045 5.1 token (dots allowed: real mail has them); may be empty. */
int	 rfc822_lex_mime_token(struct rfc822_lex *, struct pack *);
/* RFC 5322 3.2.4 quoted-string at '"': quoted-pairs undone, folds cut. */
int	 rfc822_lex_quoted(struct rfc822_lex *, struct pack *);
/* RFC 5322 3.2.5 phrase with obs-phrase; words joined by one space. */
int	 rfc822_lex_phrase(struct rfc822_lex *, struct pack *);
/* "@" domain at '@': dot-atom or domain-literal (with its brackets). */
int	 rfc822_lex_domain(struct rfc822_lex *, struct pack *);

#endif
