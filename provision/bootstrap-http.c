/*
 * bootstrap-http.c: what every response carries, cookies, and the form
 * of a POST taken from evhttp.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include <sodium.h>

#include "activate.h"
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
	bs_reply_headers(r, content_type);
	evhttp_send_reply(r->req, code, reason, body);
}

void
bs_reply_headers(struct bs_req *r, const char *content_type)
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
		    "HttpOnly; SameSite=Strict", r->cookie_name, r->set_cookie,
		    age);
		evhttp_add_header(h, "Set-Cookie", cookie);
		free(cookie);
	} else if (r->clear_cookie && r->cookie != NULL) {
		xasprintf(&cookie, "%s=; Max-Age=0; Path=/; Secure; HttpOnly; "
		    "SameSite=Strict", r->cookie_name);
		evhttp_add_header(h, "Set-Cookie", cookie);
		free(cookie);
	}
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

/*
 * The form of a POST, parsed from the body in place (bootstrap-form.c
 * does the parsing, without evhttp, so that a fuzz target reaches it).
 */
int
bs_form_parse(struct bs_req *r, char *why, size_t whylen)
{
	struct evbuffer	*in = evhttp_request_get_input_buffer(r->req);
	size_t		 len = evbuffer_get_length(in);
	const char	*body;
	int		 ret;

	/* evhttp caps the body at BS_MAX_BODY_HTTP; a form is smaller. */
	body = len > BS_MAX_FORM ? NULL : (const char *)evbuffer_pullup(in, -1);
	ret = bs_form_parse_body(&r->form, bs_header(r, "Content-Type"),
	    body != NULL ? body : "", len, why, whylen);
	evbuffer_drain(in, len);
	return ret;
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
	html_end(r, b, code, reason);
}

/* A page of a title and two paragraphs, without a form. */
static void
bs_notice(struct bs_req *r, enum text_id title, enum text_id text,
    enum text_id hint)
{
	struct evbuffer	*b;

	b = html_begin(r, title);
	html_para(b, r, text, NULL);
	html_para(b, r, hint, NULL);
	html_end(r, b, 200, "OK");
}

void
bs_invalid(struct bs_req *r)
{
	/* Whatever the browser held is of no use any more. */
	r->clear_cookie = 1;
	/* The same bytes from every URL: the language switch leads to /. */
	r->path = "/";
	free(r->set_cookie);
	r->set_cookie = NULL;
	bs_notice(r, T_INVALID_TITLE, T_INVALID_TEXT, T_INVALID_HINT);
}

void
bs_locked(struct bs_req *r)
{
	/*
	 * Only who holds the link gets here; the cookie stays, so that once
	 * the invitation is unlocked a reload leads on to the PIN form.
	 */
	bs_notice(r, T_LOCKED_TITLE, T_LOCKED_TEXT, T_LOCKED_HINT);
}

void
bs_form_refused(struct bs_req *r, enum text_id error, const char *location)
{
	r->sess->flash = error;
	bs_session_save(r, r->sess);
	bs_redirect(r, location);
}

/* Each state has one page: the link's (/), the password's and /done. */
int
bs_step_applies(struct bs_req *r, enum session_state step)
{
	if (r->sess->state == step)
		return 1;
	switch (r->sess->state) {
	case SESSION_NONE:
	case SESSION_STATE_COUNT:
	case SESSION_ACCOUNT_NEW:	/* the cookie of /account, not of a link */
	case SESSION_ACCOUNT:
		bs_invalid(r);
		break;
	case SESSION_TOKEN:
		bs_redirect(r, "/");
		break;
	case SESSION_PIN_OK:
		bs_redirect(r, "/password");
		break;
	case SESSION_DONE:
		bs_redirect(r, "/done");
		break;
	}
	return 0;
}

int
bs_check_refused(struct bs_req *r, int ar)
{
	switch ((enum activate_result)ar) {
	case ACTIVATE_OK:
		return 0;
	case ACTIVATE_ERROR:
		bs_error(r, 503, "Service Unavailable", T_ERR_BUSY_TITLE,
		    T_ERR_BUSY_TEXT);
		break;
	case ACTIVATE_PIN_LOCKED:
		bs_locked(r);
		break;
	default:
		bs_invalid(r);
		break;
	}
	return 1;
}

enum text_id
bs_flash_take(struct bs_req *r)
{
	enum text_id	 flash = r->sess->flash;

	if (flash != T_COUNT) {
		r->sess->flash = T_COUNT;
		bs_session_save(r, r->sess);
	}
	return flash;
}
