/*
 * bootstrap-http.c: what every response carries, cookies, and bounded
 * parsing of form bodies.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include <sodium.h>

#include "bootstrap.h"
#include "log.h"
#include "xmalloc.h"

/*
 * No scripts, no frames, no foreign resources: the only thing a page may
 * load is our stylesheet, and forms may only post back to us.
 */
#define BS_CSP	"default-src 'none'; style-src 'self'; form-action 'self'; " \
		"frame-ancestors 'none'; base-uri 'none'"

const char *
bs_header(struct bs_req *r, const char *name)
{
	return evhttp_find_header(evhttp_request_get_input_headers(r->req),
	    name);
}

void
bs_reply(struct bs_req *r, int code, const char *reason,
    const char *content_type, struct evbuffer *body)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(r->req);
	char			*cookie;
	long long		 age;

	evhttp_add_header(h, "Content-Type", content_type);
	/* The pages hold a token, a PIN form or settings: never keep them. */
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
	evhttp_add_header(h, "Content-Security-Policy", BS_CSP);
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "X-Frame-Options", "DENY");
	evhttp_add_header(h, "Cross-Origin-Opener-Policy", "same-origin");
	evhttp_add_header(h, "Cross-Origin-Resource-Policy", "same-origin");
	/*
	 * RFC 6797 7.2: HSTS only over a secure transport; behind a proxy
	 * the browser sees public_url, and ignores it over plain HTTP
	 * anyway (RFC 6797 8.1).
	 */
	if (r->tls || r->bd->https_public)
		evhttp_add_header(h, "Strict-Transport-Security",
		    "max-age=31536000");
	if (r->set_cookie != NULL) {
		age = r->sess != NULL ? (long long)r->sess->expires -
		    (long long)time(NULL) : BS_SESSION_INVITE;
		if (age < 1)
			age = 1;
		/* RFC 6265 4.1.2.5-6 and RFC 6265bis SameSite, __Host- prefix. */
		xasprintf(&cookie, "%s=%s; Max-Age=%lld; Path=/; Secure; "
		    "HttpOnly; SameSite=Strict", SESSION_COOKIE, r->set_cookie,
		    age);
		evhttp_add_header(h, "Set-Cookie", cookie);
		free(cookie);
	} else if (r->clear_cookie && r->cookie != NULL)
		evhttp_add_header(h, "Set-Cookie", SESSION_COOKIE "=; "
		    "Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Strict");
	evhttp_send_reply(r->req, code, reason, body);
}

void
bs_redirect(struct bs_req *r, const char *location)
{
	struct evbuffer	*b;

	if ((b = evbuffer_new()) == NULL)
		fatalx("evbuffer_new");
	evhttp_add_header(evhttp_request_get_output_headers(r->req),
	    "Location", location);
	evbuffer_add_printf(b, "See %s\n", location);
	/* RFC 9110 15.4.4: 303 turns the POST into a GET of the next page. */
	bs_reply(r, 303, "See Other", "text/plain; charset=utf-8", b);
	evbuffer_free(b);
}

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
bs_form_parse(struct bs_req *r, char *why, size_t whylen)
{
	struct evbuffer	*in = evhttp_request_get_input_buffer(r->req);
	const char	*ct = bs_header(r, "Content-Type");
	char		*body, *p, *end, *amp, *eq, *name;
	size_t		 len, nlen, vlen, i;

	if (ct == NULL || strncasecmp(ct, "application/x-www-form-urlencoded",
	    33) != 0 || (ct[33] != '\0' && ct[33] != ';')) {
		snprintf(why, whylen, "not a form");
		return -1;
	}
	if ((len = evbuffer_get_length(in)) > BS_MAX_FORM) {
		snprintf(why, whylen, "too large");
		return -1;
	}
	/* The body holds the password: keep it in guarded memory. */
	body = xsecret_alloc(len + 1);
	evbuffer_remove(in, body, len);
	body[len] = '\0';
	for (p = body, end = body + len; p < end; p = amp + 1) {
		if ((amp = memchr(p, '&', (size_t)(end - p))) == NULL)
			amp = end;
		if (amp == p)
			continue;
		if (r->nfields == BS_MAX_FIELDS) {
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
		for (i = 0; i < r->nfields; i++)
			if (strcmp(r->fname[i], name) == 0)
				break;
		if (i < r->nfields) {
			free(name);
			snprintf(why, whylen, "field given twice");
			goto fail;
		}
		vlen = eq < amp ? (size_t)(amp - eq - 1) : 0;
		r->fname[r->nfields] = name;
		r->fval[r->nfields] = xsecret_alloc(vlen + 1);
		r->flen[r->nfields] = 0;
		r->nfields++;
		if (bs_form_decode(eq < amp ? eq + 1 : eq, vlen,
		    r->fval[r->nfields - 1], &r->flen[r->nfields - 1]) == -1) {
			snprintf(why, whylen, "bad encoding in field %s", name);
			goto fail;
		}
	}
	xsecret_free(body);
	return 0;
fail:
	xsecret_free(body);
	return -1;
}

const char *
bs_form_get(struct bs_req *r, const char *name, size_t *lenp)
{
	size_t	 i;

	for (i = 0; i < r->nfields; i++)
		if (strcmp(r->fname[i], name) == 0) {
			if (lenp != NULL)
				*lenp = r->flen[i];
			return r->fval[i];
		}
	return NULL;
}

void
bs_form_clear(struct bs_req *r)
{
	size_t	 i;

	for (i = 0; i < r->nfields; i++) {
		free(r->fname[i]);
		xsecret_free(r->fval[i]);
	}
	r->nfields = 0;
}

void
bs_session_save(struct bs_req *r, const struct session *s)
{
	free(r->set_cookie);
	r->set_cookie = NULL;
	if (s == NULL || s->state == SESSION_NONE) {
		r->clear_cookie = 1;
		return;
	}
	r->set_cookie = session_seal(s);
}

void
bs_error(struct bs_req *r, int code, const char *reason, enum text_id title,
    enum text_id text)
{
	struct evbuffer	*b;

	b = html_begin(r, title);
	html_para(b, r, text, NULL);
	evbuffer_add_printf(b, "<p><a href=\"/\">");
	html_text(b, r, T_START_AGAIN, NULL, 0);
	evbuffer_add_printf(b, "</a></p>\n");
	html_end(r, b);
	bs_reply(r, code, reason, "text/html; charset=utf-8", b);
	evbuffer_free(b);
}

void
bs_invalid(struct bs_req *r)
{
	struct evbuffer	*b;

	/* Whatever the browser held is of no use any more. */
	r->clear_cookie = 1;
	/* The same bytes from every URL: the language switch leads to /. */
	r->path = "/";
	free(r->set_cookie);
	r->set_cookie = NULL;
	b = html_begin(r, T_INVALID_TITLE);
	html_para(b, r, T_INVALID_TEXT, NULL);
	html_para(b, r, T_INVALID_HINT, NULL);
	html_end(r, b);
	bs_reply(r, 200, "OK", "text/html; charset=utf-8", b);
	evbuffer_free(b);
}
