/*
 * rfc822-lex.c: the RFC 5322 3.2 lexical tokens (CFWS, atoms, dot-atoms,
 * quoted strings, phrases, domains) and the RFC 2045 5.1 token, over a
 * byte range that may hold NULs and 8-bit bytes.
 *
 * Every reader returns 1 when more input follows (CFWS after the token
 * already skipped), 0 at the end and -1 on a syntax error, as Dovecot's
 * rfc822-parser.c does; the MIME and address parsers build on that.
 */
#include "config.h"

#include <string.h>

#include "mail-buf.h"
#include "rfc822-lex.h"

static int	 rfc822_lex_unclosed(struct rfc822_lex *);
static int	 rfc822_lex_skip_comment(struct rfc822_lex *);
static int	 rfc822_lex_atom_or_dot(struct rfc822_lex *, struct pack *);
static int	 rfc822_lex_domain_literal(struct rfc822_lex *, struct pack *);


/*
 * 0: not atext; 1: atext; 2: letter, digit or 8-bit (RFC 6532 lets UTF-8
 * into atoms); 4: atext that is an RFC 2045 tspecial ("/", "=", "?").
 */
int
rfc822_atext_class(uint8_t c)
{
	if (c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
	    (c >= 'a' && c <= 'z'))
		return 2;
	if (c == '/' || c == '=' || c == '?')
		return 4;
	if (c != 0 && strchr("!#$%&'*+-^_`{|}~", c) != NULL)
		return 1;
	return 0;
}

int
rfc822_is_dot_atom_text(const char *s, int utf8)
{
	const char	*p;
	uint8_t		 c;

	if (*s == '\0' || *s == '.')
		return 0;
	for (p = s; *p != '\0'; p++) {
		c = (uint8_t)*p;
		if (c == '.') {
			if (p[1] == '.' || p[1] == '\0')
				return 0;
		} else if (!RFC822_IS_ATEXT(c) || (c >= 0x80 && !utf8))
			return 0;
	}
	return 1;
}


/* The current byte; 0 at the end, where a C parser would see its NUL. */
int
rfc822_lex_cur(const struct rfc822_lex *lx)
{
	return lx->p < lx->end ? *lx->p : 0;
}

void
rfc822_lex_init(struct rfc822_lex *lx, const uint8_t *p, size_t n,
    struct pack *comment)
{
	lx->p = p;
	lx->end = p + n;
	lx->comment = comment;
	lx->unclosed = 0;
}

/* A comment, quoted string or domain literal ran to the end. */
static int
rfc822_lex_unclosed(struct rfc822_lex *lx)
{
	lx->unclosed = 1;
	return -1;
}

/* RFC 5322 3.2.2 comment, nested; 1: more follows, 0: end, -1: unclosed. */
static int
rfc822_lex_skip_comment(struct rfc822_lex *lx)
{
	const uint8_t	*start;
	int		 level = 1;

	if (lx->comment != NULL)
		lx->comment->len = 0;
	start = ++lx->p;
	for (; lx->p < lx->end; lx->p++) {
		switch (*lx->p) {
		case '(':
			level++;
			break;
		case ')':
			if (--level == 0) {
				if (lx->comment != NULL)
					mail_buf_add(lx->comment, start,
					    lx->p - start);
				lx->p++;
				return lx->p < lx->end;
			}
			break;
		case '\\':
			if (lx->comment != NULL)
				mail_buf_add(lx->comment, start, lx->p - start);
			start = lx->p + 1;
			lx->p++;
			if (lx->p == lx->end)
				return rfc822_lex_unclosed(lx);
			break;
		}
	}
	return rfc822_lex_unclosed(lx);
}

/* CFWS; 1: more follows, 0: end, -1: an unclosed comment. */
int
rfc822_lex_skip_lwsp(struct rfc822_lex *lx)
{
	while (lx->p < lx->end) {
		if (*lx->p == ' ' || *lx->p == '\t' || *lx->p == '\r' ||
		    *lx->p == '\n') {
			lx->p++;
			continue;
		}
		if (*lx->p != '(')
			break;
		if (rfc822_lex_skip_comment(lx) < 0)
			return -1;
	}
	return lx->p < lx->end;
}

int
rfc822_lex_atom(struct rfc822_lex *lx, struct pack *out)
{
	const uint8_t	*start;

	if (lx->p == lx->end || !RFC822_IS_ATEXT(*lx->p))
		return -1;
	for (start = lx->p++; lx->p < lx->end && RFC822_IS_ATEXT(*lx->p); lx->p++)
		;
	mail_buf_add(out, start, lx->p - start);
	return lx->p < lx->end ? rfc822_lex_skip_lwsp(lx) : 0;
}

/* dot-atom, allowing CFWS around the dots as RFC 822 did. */
int
rfc822_lex_dot_atom(struct rfc822_lex *lx, struct pack *out)
{
	const uint8_t	*start;
	int		 ret;

	if (lx->p == lx->end || !RFC822_IS_ATEXT(*lx->p))
		return -1;
	for (start = lx->p++; lx->p < lx->end; ) {
		if (RFC822_IS_ATEXT(*lx->p)) {
			lx->p++;
			continue;
		}
		mail_buf_add(out, start, lx->p - start);
		if ((ret = rfc822_lex_skip_lwsp(lx)) <= 0)
			return ret;
		if (*lx->p != '.')
			return 1;
		lx->p++;
		mail_buf_addc(out, '.');
		if ((ret = rfc822_lex_skip_lwsp(lx)) <= 0)
			return ret;
		start = lx->p;
	}
	mail_buf_add(out, start, lx->p - start);
	return 0;
}

/* RFC 2045 5.1 token (dots allowed: real mail has them); may be empty. */
int
rfc822_lex_mime_token(struct rfc822_lex *lx, struct pack *out)
{
	const uint8_t	*start;

	for (start = lx->p; lx->p < lx->end; lx->p++) {
		if (!RFC822_IS_TOKEN(*lx->p) && *lx->p != '.')
			break;
	}
	mail_buf_add(out, start, lx->p - start);
	return lx->p < lx->end ? rfc822_lex_skip_lwsp(lx) : 0;
}

/* RFC 5322 3.2.4 quoted-string: quoted-pairs undone, folds removed. */
int
rfc822_lex_quoted(struct rfc822_lex *lx, struct pack *out)
{
	const uint8_t	*start;
	size_t		 n;

	lx->p++;
	for (start = lx->p; lx->p < lx->end; lx->p++) {
		switch (*lx->p) {
		case '"':
			mail_buf_add(out, start, lx->p - start);
			lx->p++;
			return rfc822_lex_skip_lwsp(lx);
		case '\n':
			n = lx->p - start;
			if (n > 0 && start[n - 1] == '\r')
				n--;
			mail_buf_add(out, start, n);
			start = lx->p + 1;
			break;
		case '\\':
			lx->p++;
			if (lx->p == lx->end)
				return rfc822_lex_unclosed(lx);
			mail_buf_add(out, start, lx->p - start - 1);
			start = lx->p;
			break;
		}
	}
	return rfc822_lex_unclosed(lx);
}

static int
rfc822_lex_atom_or_dot(struct rfc822_lex *lx, struct pack *out)
{
	const uint8_t	*start;

	for (start = lx->p; lx->p < lx->end; lx->p++) {
		if (!RFC822_IS_ATEXT(*lx->p) && *lx->p != '.')
			break;
	}
	mail_buf_add(out, start, lx->p - start);
	return lx->p < lx->end ? rfc822_lex_skip_lwsp(lx) : 0;
}

/* RFC 5322 3.2.5 phrase with obs-phrase; words joined by one space. */
int
rfc822_lex_phrase(struct rfc822_lex *lx, struct pack *out)
{
	int	 ret, c;

	if (lx->p == lx->end)
		return 0;
	if (*lx->p == '.')
		return -1;
	for (;;) {
		if (*lx->p == '"')
			ret = rfc822_lex_quoted(lx, out);
		else
			ret = rfc822_lex_atom_or_dot(lx, out);
		if (ret <= 0)
			return ret;
		c = rfc822_lex_cur(lx);
		if (!RFC822_IS_ATEXT(c) && c != '"' && c != '.')
			break;
		mail_buf_addc(out, ' ');
	}
	return rfc822_lex_skip_lwsp(lx);
}

static int
rfc822_lex_domain_literal(struct rfc822_lex *lx, struct pack *out)
{
	const uint8_t	*start;

	for (start = lx->p; lx->p < lx->end; lx->p++) {
		if (*lx->p == '\\') {
			if (++lx->p == lx->end)
				break;
		} else if (*lx->p == ']') {
			lx->p++;
			mail_buf_add(out, start, lx->p - start);
			return rfc822_lex_skip_lwsp(lx);
		}
	}
	return rfc822_lex_unclosed(lx);
}

/* "@" domain: dot-atom or domain-literal. */
int
rfc822_lex_domain(struct rfc822_lex *lx, struct pack *out)
{
	lx->p++;
	if (rfc822_lex_skip_lwsp(lx) <= 0)
		return -1;
	if (*lx->p == '[')
		return rfc822_lex_domain_literal(lx, out);
	return rfc822_lex_dot_atom(lx, out);
}

