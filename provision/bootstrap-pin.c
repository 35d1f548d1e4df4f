/*
 * bootstrap-pin.c: the PIN form.
 *
 * activate_check() compares the PIN with its verifier in constant time
 * and counts failures in the store; at pin_attempts the invitation is
 * locked until the admin runs unlock or reinvite.  A correct PIN goes
 * into the sealed session, because activate_password() checks it again
 * with the password: the form itself carries nothing the browser could
 * forge.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "activate.h"
#include "bootstrap.h"
#include "log.h"

static void
pin_form(struct bs_req *r, enum text_id error)
{
	struct evbuffer	*b;

	b = html_begin(r, T_PIN_TITLE);
	if (error != T_COUNT) {
		evbuffer_add_printf(b, "<p class=\"error\" id=\"error\" "
		    "role=\"alert\">");
		html_text(b, r, error, NULL, 0);
		evbuffer_add_printf(b, "</p>\n");
	}
	html_para(b, r, T_PIN_INTRO, NULL);
	html_para(b, r, T_PIN_NONE, NULL);
	evbuffer_add_printf(b, "<form method=\"post\" action=\"/pin\">\n");
	html_csrf(b, r, "pin");
	evbuffer_add_printf(b, "<p><label for=\"pin\">");
	html_text(b, r, T_PIN_LABEL, NULL, 0);
	/* RFC-less but real: one-time-code lets phones offer an SMS code. */
	evbuffer_add_printf(b, "</label>\n<input id=\"pin\" name=\"pin\" "
	    "type=\"text\" inputmode=\"numeric\" pattern=\"[0-9]*\" "
	    "autocomplete=\"one-time-code\" maxlength=\"12\" size=\"12\" "
	    "required autofocus%s></p>\n", error != T_COUNT ?
	    " aria-describedby=\"error\" aria-invalid=\"true\"" : "");
	evbuffer_add_printf(b, "<p><button type=\"submit\">");
	html_text(b, r, T_PIN_SUBMIT, NULL, 0);
	evbuffer_add_printf(b, "</button></p>\n</form>\n");
	html_end(r, b);
	bs_reply(r, 200, "OK", "text/html; charset=utf-8", b);
	evbuffer_free(b);
}

/* Sends the browser on if this is not its step; 1 if the form applies. */
static int
pin_applies(struct bs_req *r)
{
	switch (r->sess->state) {
	case SESSION_TOKEN:
		return 1;
	case SESSION_NONE:
	case SESSION_STATE_COUNT:
		bs_invalid(r);
		return 0;
	case SESSION_PIN_OK:
		bs_redirect(r, "/password");
		return 0;
	case SESSION_DONE:
		bs_redirect(r, "/done");
		return 0;
	}
	return 0;
}

void
pin_get(struct bs_req *r)
{
	enum activate_result	 ar;
	int			 has_pin = 0;

	if (!pin_applies(r))
		return;
	ar = activate_check(r->bd->d.store, r->conf, r->sess->token, NULL,
	    &has_pin, NULL, 0);
	if (ar == ACTIVATE_ERROR)
		bs_error(r, 503, "Service Unavailable", T_ERR_BUSY_TITLE,
		    T_ERR_BUSY_TEXT);
	else if (ar != ACTIVATE_OK)
		bs_invalid(r);
	else if (!has_pin)
		bs_redirect(r, "/");
	else
		pin_form(r, T_COUNT);
}

void
pin_post(struct bs_req *r)
{
	enum activate_result	 ar;
	const char		*pin;
	size_t			 len = 0;
	int			 has_pin = 0;

	if (!pin_applies(r))
		return;
	pin = bs_form_get(&r->form, "pin", &len);
	/* Not a PIN at all: say so, and do not count it as an attempt. */
	if (pin == NULL || len < 4 || len >= sizeof(r->sess->pin) ||
	    strspn(pin, "0123456789") != len) {
		pin_form(r, T_PIN_FORMAT);
		return;
	}
	ar = activate_check(r->bd->d.store, r->conf, r->sess->token, pin,
	    &has_pin, r->sess->address, sizeof(r->sess->address));
	switch (ar) {
	case ACTIVATE_OK:
		memcpy(r->sess->pin, pin, len + 1);
		session_enter_state(r->sess, SESSION_PIN_OK, "PIN right");
		bs_session_save(r, r->sess);
		bs_redirect(r, "/password");
		break;
	case ACTIVATE_PIN_WRONG:
		log_info("%s: wrong PIN for %s", r->peer, r->sess->address);
		pin_form(r, T_PIN_WRONG);
		break;
	case ACTIVATE_PIN_LOCKED:
		log_info("%s: invitation of %s locked after wrong PINs",
		    r->peer, r->sess->address);
		bs_invalid(r);
		break;
	case ACTIVATE_INVALID:
		bs_invalid(r);
		break;
	case ACTIVATE_ERROR:
		bs_error(r, 503, "Service Unavailable", T_ERR_BUSY_TITLE,
		    T_ERR_BUSY_TEXT);
		break;
	}
}
