/*
 * bootstrap-form.c: the parsing of what a browser sends the bootstrap
 * page besides the URL: the Cookie header and the
 * application/x-www-form-urlencoded body of a POST.  Bounded, and
 * without evhttp, so that tests/fuzz/fuzz-http.c links these very
 * functions.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bootstrap.h"
#include "xmalloc.h"

static int	bs_hexval(int);
static int	bs_form_decode(const char *, size_t, char *, size_t *);

/* RFC 6265 5.4: "name=value; name=value"; the first of our name counts. */
char *
bs_cookie_get(const char *header, const char *name)
{
	const char	*p, *eq, *end;
	size_t		 nlen = strlen(name);

	if (header == NULL)
		return NULL;
	for (p = header; *p != '\0'; p = *end == '\0' ? end : end + 1) {
		while (*p == ' ' || *p == '\t')
			p++;
		if ((end = strchr(p, ';')) == NULL)
			end = p + strlen(p);
		if ((eq = memchr(p, '=', (size_t)(end - p))) == NULL)
			continue;
		if ((size_t)(eq - p) != nlen || strncmp(p, name, nlen) != 0)
			continue;
		eq++;
		while (end > eq && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		if ((size_t)(end - eq) > BS_MAX_COOKIE)
			return NULL;
		return xstrndup(eq, (size_t)(end - eq));
	}
	return NULL;
}

static int
bs_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * WHATWG URL application/x-www-form-urlencoded parsing of one name or
 * value into out (at least len + 1 bytes).  NUL and other controls are
 * refused: nothing a form here carries needs them.
 */
static int
bs_form_decode(const char *in, size_t len, char *out, size_t *outlenp)
{
	size_t	 i, n = 0;
	int	 hi, lo, c;

	for (i = 0; i < len; i++) {
		c = (unsigned char)in[i];
		if (c == '+')
			c = ' ';
		else if (c == '%') {
			if (i + 2 >= len)
				return -1;
			if ((hi = bs_hexval((unsigned char)in[i + 1])) == -1 ||
			    (lo = bs_hexval((unsigned char)in[i + 2])) == -1)
				return -1;
			c = hi * 16 + lo;
			i += 2;
		}
		if (c < 0x20 || c == 0x7f)
			return -1;
		out[n++] = (char)c;
	}
	out[n] = '\0';
	*outlenp = n;
	return 0;
}

int
bs_form_parse_body(struct bs_form *f, const char *ct, const char *data,
    size_t len, char *why, size_t whylen)
{
	char		*body, *p, *end, *amp, *eq, *name;
	size_t		 nlen, vlen, i;

	if (ct == NULL || strncasecmp(ct, "application/x-www-form-urlencoded",
	    33) != 0 || (ct[33] != '\0' && ct[33] != ';')) {
		snprintf(why, whylen, "not a form");
		return -1;
	}
	if (len > BS_MAX_FORM) {
		snprintf(why, whylen, "too large");
		return -1;
	}
	/* The body holds the password: keep it in guarded memory. */
	body = xsecret_alloc(len + 1);
	memcpy(body, data, len);
	body[len] = '\0';
	for (p = body, end = body + len; p < end; p = amp + 1) {
		if ((amp = memchr(p, '&', (size_t)(end - p))) == NULL)
			amp = end;
		if (amp == p)
			continue;
		if (f->nfields == BS_MAX_FIELDS) {
			snprintf(why, whylen, "too many fields");
			goto fail;
		}
		if ((eq = memchr(p, '=', (size_t)(amp - p))) == NULL)
			eq = amp;
		name = xmalloc((size_t)(eq - p) + 1);
		if (bs_form_decode(p, (size_t)(eq - p), name, &nlen) == -1) {
			free(name);
			snprintf(why, whylen, "bad field name");
			goto fail;
		}
		for (i = 0; i < f->nfields; i++)
			if (strcmp(f->fname[i], name) == 0)
				break;
		if (i < f->nfields) {
			free(name);
			snprintf(why, whylen, "field given twice");
			goto fail;
		}
		vlen = eq < amp ? (size_t)(amp - eq - 1) : 0;
		f->fname[f->nfields] = name;
		f->fval[f->nfields] = xsecret_alloc(vlen + 1);
		f->flen[f->nfields] = 0;
		f->nfields++;
		if (bs_form_decode(eq < amp ? eq + 1 : eq, vlen,
		    f->fval[f->nfields - 1], &f->flen[f->nfields - 1]) == -1) {
			snprintf(why, whylen, "bad encoding in field %s", name);
			goto fail;
		}
	}
	xsecret_free(body);
	return 0;
fail:
	/* No half-decoded field is left to read. */
	bs_form_clear(f);
	xsecret_free(body);
	return -1;
}

const char *
bs_form_get(const struct bs_form *f, const char *name, size_t *lenp)
{
	size_t	 i;

	for (i = 0; i < f->nfields; i++)
		if (strcmp(f->fname[i], name) == 0) {
			if (lenp != NULL)
				*lenp = f->flen[i];
			return f->fval[i];
		}
	return NULL;
}

void
bs_form_clear(struct bs_form *f)
{
	size_t	 i;

	for (i = 0; i < f->nfields; i++) {
		free(f->fname[i]);
		xsecret_free(f->fval[i]);
	}
	f->nfields = 0;
}
