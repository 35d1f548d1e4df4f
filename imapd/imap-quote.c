/*
 * imap-quote.c: strings into IMAP responses.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "imap-quote.h"
#include "mutf7.h"
#include "util.h"
#include "xmalloc.h"

static int	quote_can_quote(const char *, size_t, unsigned int);

int
imap_quote_is_atom(const char *s, size_t len)
{
	size_t	 i;

	if (len == 0)
		return 0;
	/* RFC 3501 9: atom-specials, plus "]" (resp-specials). */
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c >= 0x7f ||
		    strchr("(){%*\"\\]", c) != NULL)
			return 0;
	}
	/* "NIL" as an atom would read as nothing at all. */
	return !(len == 3 && strncasecmp(s, "NIL", 3) == 0);
}

/* RFC 3501 9: quoted holds TEXT-CHARs: any CHAR but CR and LF. */
static int
quote_can_quote(const char *s, size_t len, unsigned int flags)
{
	size_t	 i, esc = 0;
	int	 eight = 0;

	if (len > IMAP_QUOTE_QUOTED_MAX && !(flags & IMAP_QUOTE_F_MESSAGE))
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\0' || c == '\r' || c == '\n')
			return 0;
		if ((c == '"' || c == '\\') && (flags & IMAP_QUOTE_F_MESSAGE) &&
		    ++esc > 4)
			return 0;
		if (c >= 0x80) {
			if (!(flags & IMAP_QUOTE_F_UTF8))
				return 0;
			eight = 1;
		}
	}
	/* RFC 6855 3: 8-bit in a quoted string must be UTF-8. */
	return !eight || utf8_is_valid(s, len);
}

void
imap_quote_literal(struct evbuffer *out, const void *data, size_t len)
{
	const char	*s = data, *nul;
	size_t		 n;

	evbuffer_add_printf(out, "{%zu}\r\n", len);
	while (len > 0) {
		if ((nul = memchr(s, '\0', len)) == NULL) {
			evbuffer_add(out, s, len);
			break;
		}
		n = (size_t)(nul - s);
		evbuffer_add(out, s, n);
		evbuffer_add(out, "\x80", 1);
		s += n + 1;
		len -= n + 1;
	}
}

void
imap_quote_string(struct evbuffer *out, const char *s, size_t len,
    unsigned int flags)
{
	size_t	 i, start;

	if (!quote_can_quote(s, len, flags)) {
		imap_quote_literal(out, s, len);
		return;
	}
	evbuffer_add(out, "\"", 1);
	for (i = start = 0; i < len; i++) {
		if (s[i] == '"' || s[i] == '\\') {
			evbuffer_add(out, s + start, i - start);
			evbuffer_add(out, "\\", 1);
			start = i;
		}
	}
	evbuffer_add(out, s + start, len - start);
	evbuffer_add(out, "\"", 1);
}

void
imap_quote_astring(struct evbuffer *out, const char *s, size_t len,
    unsigned int flags)
{
	if (imap_quote_is_atom(s, len))
		evbuffer_add(out, s, len);
	else
		imap_quote_string(out, s, len, flags);
}

void
imap_quote_nstring(struct evbuffer *out, const char *s, size_t len,
    unsigned int flags)
{
	if (s == NULL)
		evbuffer_add(out, "NIL", 3);
	else
		imap_quote_string(out, s, len, flags);
}

void
imap_quote_nstring_nolf(struct evbuffer *out, const char *s, size_t len,
    unsigned int flags)
{
	char	*t;
	size_t	 i, n = 0;
	int	 c;

	if (s == NULL || (memchr(s, '\r', len) == NULL &&
	    memchr(s, '\n', len) == NULL)) {
		imap_quote_nstring(out, s, len, flags);
		return;
	}
	t = xmalloc(len + 1);
	for (i = 0; i < len; i++) {
		if (s[i] != '\r' && s[i] != '\n') {
			t[n++] = s[i];
			continue;
		}
		c = i + 1 < len ? s[i + 1] : '\0';
		if (c != ' ' && c != '\t' && c != '\r' && c != '\n' &&
		    c != '\0')
			t[n++] = ' ';
	}
	imap_quote_string(out, t, n, flags);
	free(t);
}

void
imap_quote_humans(struct evbuffer *out, const char *s, size_t len)
{
	char	*t;
	size_t	 i, n = 0;
	int	 last_lwsp = 1, modify = 0;

	/* One pass: the cleaned copy, and whether anything had to change. */
	t = xmalloc(len + 1);
	for (i = 0; i < len; i++) {
		switch ((unsigned char)s[i]) {
		case '\r':
		case '\n':
		case '\t':
		case ' ':
			/* Anything but a single space is changed. */
			if (s[i] != ' ' || last_lwsp)
				modify = 1;
			if (!last_lwsp)
				t[n++] = ' ';
			last_lwsp = 1;
			break;
		case '"':
		case '\\':
			modify = 1;
			last_lwsp = 0;
			t[n++] = s[i];
			break;
		default:
			if ((unsigned char)s[i] >= 0x80)
				modify = 1;
			last_lwsp = 0;
			t[n++] = s[i];
			break;
		}
	}
	if (last_lwsp && n > 0) {
		/* A trailing blank goes. */
		modify = 1;
		n--;
	}
	if (!modify) {
		evbuffer_add(out, "\"", 1);
		evbuffer_add(out, s, len);
		evbuffer_add(out, "\"", 1);
	} else if (n == 0)
		evbuffer_add(out, "\"\"", 2);
	else
		imap_quote_literal(out, t, n);
	free(t);
}

int
imap_quote_mailbox(struct evbuffer *out, const char *name)
{
	char		*enc;
	const char	*error;

	/* RFC 3501 5.1: INBOX is case-insensitive; say it one way. */
	if (strcasecmp(name, "INBOX") == 0) {
		evbuffer_add(out, "INBOX", 5);
		return 0;
	}
	if (mutf7_encode(name, strlen(name), &enc, &error) == -1)
		return -1;
	imap_quote_astring(out, enc, strlen(enc), 0);
	free(enc);
	return 0;
}
