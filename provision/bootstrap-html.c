/*
 * bootstrap-html.c: the frame of every page, and escaping.
 *
 * Everything that is not a literal of this file goes through
 * html_escape(): texts, addresses, host names, URLs.  Pages are plain
 * HTML that reads in order without the stylesheet; the language switch
 * is a pair of links, so it works without scripts.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "bootstrap.h"
#include "log.h"
#include "xmalloc.h"

void
html_escape(struct evbuffer *b, const char *s)
{
	const char	*p, *run;

	if (s == NULL)
		return;
	for (run = p = s; *p != '\0'; p++) {
		const char	*rep;

		switch (*p) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&#39;";
			break;
		default:
			continue;
		}
		evbuffer_add(b, run, (size_t)(p - run));
		evbuffer_add(b, rep, strlen(rep));
		run = p + 1;
	}
	evbuffer_add(b, run, (size_t)(p - run));
}

/* XML 1.0 2.4: the same five characters; the plist is XML. */
void
xml_escape(struct evbuffer *b, const char *s)
{
	html_escape(b, s);
}

void
html_text(struct evbuffer *b, struct bs_req *r, enum text_id id,
    const char *const *args, size_t nargs)
{
	const char	*t = text_get(r->lang, id), *p, *close;
	char		*piece;
	size_t		 n;

	while ((p = strchr(t, '{')) != NULL) {
		piece = xstrndup(t, (size_t)(p - t));
		html_escape(b, piece);
		free(piece);
		if ((close = strchr(p, '}')) == NULL || close - p != 2 ||
		    p[1] < '1' || p[1] > '9') {
			evbuffer_add(b, "{", 1);
			t = p + 1;
			continue;
		}
		n = (size_t)(p[1] - '1');
		if (n < nargs)
			html_escape(b, args[n]);
		t = close + 1;
	}
	html_escape(b, t);
}

void
html_para(struct evbuffer *b, struct bs_req *r, enum text_id id,
    const char *cls)
{
	if (cls != NULL)
		evbuffer_add_printf(b, "<p class=\"%s\">", cls);
	else
		evbuffer_add_printf(b, "<p>");
	html_text(b, r, id, NULL, 0);
	evbuffer_add_printf(b, "</p>\n");
}

void
html_form_error(struct evbuffer *b, struct bs_req *r, enum text_id error,
    const char *const *args, size_t nargs)
{
	if (error == T_COUNT)
		return;
	evbuffer_add_printf(b, "<p class=\"error\" id=\"error\" "
	    "role=\"alert\">");
	html_text(b, r, error, args, nargs);
	evbuffer_add_printf(b, "</p>\n");
}

void
html_notice(struct evbuffer *b, struct bs_req *r, const char *id,
    enum text_id text)
{
	evbuffer_add_printf(b, "<p class=\"notice\" id=\"%s\" "
	    "role=\"status\">", id);
	html_text(b, r, text, NULL, 0);
	evbuffer_add_printf(b, "</p>\n");
}

void
html_form_submit(struct evbuffer *b, struct bs_req *r, enum text_id label)
{
	evbuffer_add_printf(b, "<p><button type=\"submit\">");
	html_text(b, r, label, NULL, 0);
	evbuffer_add_printf(b, "</button></p>\n</form>\n");
}

void
html_password_form(struct evbuffer *b, struct bs_req *r, const char *address,
    const char *action, const char *form, const char *id, enum text_id submit)
{
	evbuffer_add_printf(b, "<form method=\"post\" action=\"%s\">\n",
	    action);
	html_csrf(b, r, form);
	/* Password managers find the password under this user name. */
	evbuffer_add_printf(b, "<input type=\"hidden\" name=\"username\" "
	    "autocomplete=\"username\" value=\"");
	html_escape(b, address);
	evbuffer_add_printf(b, "\">\n<p><label for=\"%s-password\">", id);
	html_text(b, r, T_ACCT_PASSWORD_LABEL, NULL, 0);
	evbuffer_add_printf(b, "</label>\n<input id=\"%s-password\" "
	    "name=\"password\" type=\"password\" "
	    "autocomplete=\"current-password\" maxlength=\"%d\" required>"
	    "</p>\n<p><button type=\"submit\" id=\"%s\">", id,
	    BS_MAX_PASSWORD, id);
	html_text(b, r, submit, NULL, 0);
	evbuffer_add_printf(b, "</button></p>\n</form>\n");
}

void
html_csrf(struct evbuffer *b, struct bs_req *r, const char *form)
{
	char	*tok;

	/* The cookie the browser will send with the form: a new one if set. */
	tok = session_csrf(r->set_cookie != NULL ? r->set_cookie : r->cookie,
	    form);
	evbuffer_add_printf(b, "<input type=\"hidden\" name=\"csrf\" "
	    "value=\"%s\">\n", tok);
	free(tok);
}

static void
html_switch(struct evbuffer *b, struct bs_req *r)
{
	const char	*path = r->path;
	int		 l;

	/* The link's own path never goes back into a URL with a token. */
	if (strncmp(path, "/i/", 3) == 0)
		path = "/";
	evbuffer_add_printf(b, "<nav class=\"lang\" aria-label=\"");
	html_text(b, r, T_SWITCH_LABEL, NULL, 0);
	evbuffer_add_printf(b, "\"><ul>\n");
	for (l = 0; l < LANG_COUNT; l++) {
		evbuffer_add_printf(b, "<li><a href=\"");
		html_escape(b, path);
		evbuffer_add_printf(b, "?lang=%s\" lang=\"%s\" hreflang=\"%s\"%s>",
		    text_get((enum bs_lang)l, T_LANG_CODE),
		    text_get((enum bs_lang)l, T_LANG_CODE),
		    text_get((enum bs_lang)l, T_LANG_CODE),
		    (enum bs_lang)l == r->lang ? " aria-current=\"true\"" : "");
		html_escape(b, text_get((enum bs_lang)l, T_LANG_NAME));
		evbuffer_add_printf(b, "</a></li>\n");
	}
	evbuffer_add_printf(b, "</ul></nav>\n");
}

struct evbuffer *
html_begin(struct bs_req *r, enum text_id title)
{
	struct evbuffer	*b;

	if ((b = evbuffer_new()) == NULL)
		fatalx("evbuffer_new");
	evbuffer_add_printf(b, "<!DOCTYPE html>\n<html lang=\"%s\">\n<head>\n"
	    "<meta charset=\"utf-8\">\n"
	    "<meta name=\"viewport\" content=\"width=device-width, "
	    "initial-scale=1\">\n"
	    "<meta name=\"referrer\" content=\"no-referrer\">\n<title>",
	    text_get(r->lang, T_LANG_CODE));
	html_text(b, r, title, NULL, 0);
	evbuffer_add_printf(b, " \xe2\x80\x93 ");
	html_text(b, r, T_SITE, NULL, 0);
	evbuffer_add_printf(b, "</title>\n"
	    "<link rel=\"stylesheet\" href=\"/style.css\">\n</head>\n<body>\n"
	    "<a class=\"skip\" href=\"#main\">");
	html_text(b, r, T_SKIP, NULL, 0);
	evbuffer_add_printf(b, "</a>\n<header>\n<p class=\"site\">");
	html_text(b, r, T_SITE, NULL, 0);
	evbuffer_add_printf(b, "</p>\n");
	html_switch(b, r);
	evbuffer_add_printf(b, "</header>\n<main id=\"main\">\n<h1>");
	html_text(b, r, title, NULL, 0);
	evbuffer_add_printf(b, "</h1>\n");
	return b;
}

/* Ends the page, sends it and frees b. */
void
html_end(struct bs_req *r, struct evbuffer *b, int code, const char *reason)
{
	evbuffer_add_printf(b, "</main>\n</body>\n</html>\n");
	bs_reply(r, code, reason, "text/html; charset=utf-8", b);
	evbuffer_free(b);
}
