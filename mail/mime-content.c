/*
 * mime-content.c: the Content-* fields of one part (RFC 2045, RFC 2183
 * Content-Disposition, RFC 3282 Content-Language, RFC 2557
 * Content-Location), kept as written: clients compare them with what
 * Dovecot shows.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail-buf.h"
#include "mime-content.h"
#include "mime-header.h"
#include "rfc822-lex.h"

static int	 content_lex_type(struct rfc822_lex *, struct pack *);
static void	 content_parse_header(struct mime_content *,
		    const struct mime_header *);

/* RFC 2045 5.1 type "/" subtype into out; -1 if broken (out has a part). */
static int
content_lex_type(struct rfc822_lex *lx, struct pack *out)
{
	size_t	 start = out->len, sub;
	int	 ret;

	if (rfc822_lex_skip_lwsp(lx) <= 0)
		return -1;
	/* "text" alone is kept as a type; anything worse is no type. */
	if (rfc822_lex_mime_token(lx, out) <= 0 || out->len == start)
		return -1;
	if (*lx->p != '/')
		goto bad;
	lx->p++;
	if (rfc822_lex_skip_lwsp(lx) <= 0)
		goto bad;
	mail_buf_addc(out, '/');
	sub = out->len;
	if ((ret = rfc822_lex_mime_token(lx, out)) < 0 || out->len == sub)
		goto bad;
	if (ret > 0 && *lx->p != ';')
		goto bad;
	return ret;
bad:
	out->len = start;
	return -1;
}


void
mime_content_parse_type(struct mime_content *c, const uint8_t *v, size_t n)
{
	struct rfc822_lex	 lx;
	struct pack	 str;
	char		*s, *slash;
	int		 ret;

	rfc822_lex_init(&lx, v, n, NULL);
	rfc822_lex_skip_lwsp(&lx);
	pack_init(&str);
	ret = content_lex_type(&lx, &str);
	s = mail_buf_cstr(&str);
	pack_free(&str);
	if ((slash = strchr(s, '/')) != NULL) {
		c->subtype = xstrdup(slash + 1);
		*slash = '\0';
	}
	c->type = s;
	/* A broken type is kept as far as it goes, but no parameters. */
	if (ret < 0)
		return;
	mime_params_parse(&lx, &c->params, &c->nparams);
}

static void
content_parse_header(struct mime_content *c, const struct mime_header *h)
{
	struct rfc822_lex	 lx;
	struct pack	 str;
	const char	*name;
	char		*v, **langs = NULL;
	size_t		 vlen, n = 0, cap = 0;

	if (h->name_len < 8 || strncasecmp((const char *)h->name,
	    "Content-", 8) != 0)
		return;
	name = (const char *)h->name + 8;
	v = mime_header_value_full(h, &vlen);

#define NAME_IS(s)	(h->name_len - 8 == strlen(s) && \
			    strncasecmp(name, s, strlen(s)) == 0)
	if (NAME_IS("ID")) {
		if (c->id == NULL) {
			c->id = v;
			v = NULL;
		}
	} else if (NAME_IS("MD5")) {
		if (c->md5 == NULL) {
			c->md5 = v;
			v = NULL;
		}
	} else if (NAME_IS("Type")) {
		if (c->type == NULL)
			mime_content_parse_type(c, (uint8_t *)v, vlen);
	} else if (NAME_IS("Transfer-Encoding")) {
		if (c->encoding == NULL) {
			rfc822_lex_init(&lx, (uint8_t *)v, vlen, NULL);
			rfc822_lex_skip_lwsp(&lx);
			pack_init(&str);
			if (rfc822_lex_mime_token(&lx, &str) >= 0 &&
			    rfc822_lex_skip_lwsp(&lx) == 0 && str.len > 0)
				c->encoding = mail_buf_cstr(&str);
			pack_free(&str);
		}
	} else if (NAME_IS("Language")) {
		if (c->language == NULL) {
			/* RFC 3282 2: 1#Language-tag */
			rfc822_lex_init(&lx, (uint8_t *)v, vlen, NULL);
			pack_init(&str);
			rfc822_lex_skip_lwsp(&lx);
			while (rfc822_lex_atom(&lx, &str) >= 0 &&
			    n < MIME_MAX_PARAMS) {
				if (n == cap) {
					cap = cap == 0 ? 4 : cap * 2;
					langs = xreallocarray(langs, cap,
					    sizeof(*langs));
				}
				langs[n++] = mail_buf_cstr(&str);
				str.len = 0;
				if (lx.p == lx.end || *lx.p != ',')
					break;
				lx.p++;
				rfc822_lex_skip_lwsp(&lx);
			}
			pack_free(&str);
			c->language = langs;
			c->nlanguage = n;
		}
	} else if (NAME_IS("Location")) {
		if (c->location == NULL) {
			c->location = v;
			v = NULL;
		}
	} else if (NAME_IS("Description")) {
		if (c->description == NULL) {
			c->description = v;
			v = NULL;
		}
	} else if (NAME_IS("Disposition")) {
		/* Dovecot lets a later one win while none had parameters. */
		if (c->ndparams == 0) {
			rfc822_lex_init(&lx, (uint8_t *)v, vlen, NULL);
			rfc822_lex_skip_lwsp(&lx);
			pack_init(&str);
			if (rfc822_lex_mime_token(&lx, &str) >= 0) {
				free(c->disposition);
				c->disposition = mail_buf_cstr(&str);
				mime_params_parse(&lx, &c->dparams, &c->ndparams);
			}
			pack_free(&str);
		}
	}
#undef NAME_IS
	free(v);
}

void
mime_content_parse(const void *hdr, size_t len, struct mime_content *c)
{
	struct mime_header_iter	 it;
	struct mime_header	 h;

	memset(c, 0, sizeof(*c));
	mime_header_iter_init(&it, hdr, len);
	while (mime_header_iter_next(&it, &h))
		content_parse_header(c, &h);
}

void
mime_content_clear(struct mime_content *c)
{
	size_t	 i;

	free(c->type);
	free(c->subtype);
	mime_params_free(c->params, c->nparams);
	free(c->encoding);
	free(c->id);
	free(c->description);
	free(c->md5);
	free(c->disposition);
	mime_params_free(c->dparams, c->ndparams);
	for (i = 0; i < c->nlanguage; i++)
		free(c->language[i]);
	free(c->language);
	free(c->location);
	memset(c, 0, sizeof(*c));
}

