/*
 * mime-header.c: the fields of a header block (RFC 5322 2.2), as
 * Dovecot's message-header-parser reads them: nothing of a broken header
 * is lost, NULs and 8-bit bytes pass through.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail-buf.h"
#include "mime-header.h"
#include "rfc822-lex.h"


void
mime_header_iter_init(struct mime_header_iter *it, const void *hdr,
    size_t len)
{
	it->p = hdr;
	it->end = it->p + len;
}

int
mime_header_iter_next(struct mime_header_iter *it, struct mime_header *h)
{
	const uint8_t	*p = it->p, *end = it->end, *eol, *colon, *q, *last;
	size_t		 n;

	if (p >= end)
		return 0;
	/* RFC 5322 2.1: the header ends at the first empty line. */
	if (*p == '\n' || (*p == '\r' && p + 1 < end && p[1] == '\n')) {
		it->p = end;
		return 0;
	}
	memset(h, 0, sizeof(*h));
	h->line = p;
	eol = memchr(p, '\n', end - p);
	if (eol == NULL)
		eol = end;
	colon = memchr(p, ':', eol - p);

	/* RFC 5322 2.2.3: a line starting with WSP continues the field. */
	last = p;
	q = eol;
	while (q < end && q + 1 < end && RFC822_IS_LWSP(q[1])) {
		last = q + 1;
		q = memchr(q + 1, '\n', end - (q + 1));
		if (q == NULL)
			q = end;
	}
	it->p = q < end ? q + 1 : end;
	h->line_len = it->p - p;

	/* The value ends before the last newline (and a CR before it). */
	n = q - p;
	if (q < end && n > 0 && p[n - 1] == '\r' && p + n - 1 >= last)
		n--;

	if (colon == NULL) {
		/* Dovecot: a line without a colon is all name. */
		h->name = p;
		h->name_len = eol - p;
		if (eol < end && h->name_len > 0 && p[h->name_len - 1] == '\r')
			h->name_len--;
		h->value = p + h->name_len;
		h->value_len = n - h->name_len;
		return 1;
	}
	h->name = p;
	h->name_len = colon - p;
	while (h->name_len > 0 && RFC822_IS_LWSP(p[h->name_len - 1]))
		h->name_len--;
	/*
	 * Skip the blanks after the colon; a value of blanks only keeps all
	 * but the first (as Dovecot does).
	 */
	q = colon + 1;
	{
		const uint8_t	*lend = eol;

		if (eol < end && eol > colon + 1 && eol[-1] == '\r')
			lend = eol - 1;
		while (q < lend && RFC822_IS_LWSP(*q))
			q++;
		if (q == lend && lend > colon + 1 && RFC822_IS_LWSP(colon[1]))
			q = colon + 2;
	}
	h->value = q;
	h->value_len = p + n > q ? (size_t)(p + n - q) : 0;
	return 1;
}

char *
mime_header_unfold(const uint8_t *value, size_t len, size_t *lenp)
{
	struct pack	 out;
	size_t		 i, n;
	char		*ret;

	pack_init(&out);
	for (i = 0; i < len; i++) {
		if (value[i] == '\n')
			continue;
		if (value[i] == '\r' && i + 1 < len && value[i + 1] == '\n')
			continue;
		mail_buf_addc(&out, value[i]);
	}
	n = out.len;
	while (n > 0 && RFC822_IS_LWSP(out.buf[n - 1]))
		n--;
	out.len = n;
	mail_buf_addc(&out, '\0');
	ret = (char *)out.buf;
	if (lenp != NULL)
		*lenp = n;
	return ret;
}

int
mime_header_name_is(const struct mime_header *h, const char *name)
{
	size_t	 n = strlen(name);

	return h->name_len == n && strncasecmp((const char *)h->name, name,
	    n) == 0 && memchr(h->name, '\0', n) == NULL;
}

char *
mime_header_get(const void *hdr, size_t len, const char *name, size_t *lenp)
{
	struct mime_header_iter	 it;
	struct mime_header	 h;

	mime_header_iter_init(&it, hdr, len);
	while (mime_header_iter_next(&it, &h)) {
		if (mime_header_name_is(&h, name))
			return mime_header_unfold(h.value, h.value_len, lenp);
	}
	return NULL;
}

void
mime_header_fields(const void *hdr, size_t len, const char *const *names,
    size_t nnames, int exclude, struct pack *out)
{
	struct mime_header_iter	 it;
	struct mime_header	 h;
	size_t			 i;
	int			 match;

	mime_header_iter_init(&it, hdr, len);
	while (mime_header_iter_next(&it, &h)) {
		match = 0;
		for (i = 0; i < nnames && !match; i++)
			match = mime_header_name_is(&h, names[i]);
		if (match == exclude)
			continue;
		for (i = 0; i < h.line_len; i++) {
			if (h.line[i] == '\n' && (i == 0 ||
			    h.line[i - 1] != '\r'))
				mail_buf_addc(out, '\r');
			mail_buf_addc(out, h.line[i]);
		}
	}
	mail_buf_adds(out, "\r\n");
}

/*
 * The value as Dovecot's header parser hands it over: folds kept as bare
 * LF (the CR before each dropped), each NUL made U+FFFD.
 */
char *
mime_header_value_full(const struct mime_header *h, size_t *lenp)
{
	struct pack	 out;
	size_t		 i;
	char		*ret;

	pack_init(&out);
	for (i = 0; i < h->value_len; i++) {
		if (h->value[i] == '\0') {
			mail_buf_adds(&out, "\xef\xbf\xbd");
			continue;
		}
		if (h->value[i] == '\r' && i + 1 < h->value_len &&
		    h->value[i + 1] == '\n')
			continue;
		mail_buf_addc(&out, h->value[i]);
	}
	if (lenp != NULL)
		*lenp = out.len;
	mail_buf_addc(&out, '\0');
	ret = (char *)out.buf;
	return ret;
}

