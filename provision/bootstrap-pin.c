/*
 * bootstrap-pin.c: the PIN form.
 *
 * activate_check() compares the PIN with its verifier in constant time
 * and counts failures in the store; at pin_attempts the invitation is
 * locked until the admin runs unlock or reinvite, and the page says that
 * an unlock is all it takes.  Errors go through the session and a
 * redirect (POST/redirect/GET), so that Back and reload never resend the
 * form.  A correct PIN goes into the sealed session, because
 * activate_password() checks it again with the password: the form itself
 * carries nothing the browser could forge.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "activate.h"
#include "bootstrap.h"
#include "log.h"

/* A PIN has 4 to 12 digits (guestbox-provision(8) --pin, pin_length). */
#define PIN_MIN_DIGITS	4
#define PIN_MAX_DIGITS	12

static void	pin_form(struct bs_req *, enum text_id, unsigned);
static enum text_id pin_normalize(const char *, size_t, char *, size_t);

static void
pin_form(struct bs_req *r, enum text_id error, unsigned left)
{
	struct evbuffer	*b;
	char		 n[16];
	const char	*args[1] = { n };

	snprintf(n, sizeof(n), "%u", left);
	b = html_begin(r, T_PIN_TITLE);
	html_form_error(b, r, error, NULL, 0);
	html_para(b, r, T_PIN_INTRO, NULL);
	html_para(b, r, T_PIN_NONE, NULL);
	evbuffer_add_printf(b, "<form method=\"post\" action=\"/pin\">\n");
	html_csrf(b, r, "pin");
	evbuffer_add_printf(b, "<p><label for=\"pin\">");
	html_text(b, r, T_PIN_LABEL, NULL, 0);
	/*
	 * No pattern attribute: the browser's own words for it ("match the
	 * requested format") say less than ours, and would refuse a PIN
	 * typed in groups ("123 456"), which we take.  one-time-code lets
	 * phones offer an SMS code.
	 */
	evbuffer_add_printf(b, "</label>\n<input id=\"pin\" name=\"pin\" "
	    "type=\"text\" inputmode=\"numeric\" "
	    "autocomplete=\"one-time-code\" maxlength=\"32\" size=\"12\" "
	    "required autofocus aria-describedby=\"%sattempts\"%s></p>\n",
	    error != T_COUNT ? "error " : "", error != T_COUNT ?
	    " aria-invalid=\"true\"" : "");
	evbuffer_add_printf(b, "<p class=\"hint\" id=\"attempts\">");
	html_text(b, r, left == 1 ? T_PIN_LEFT_ONE : T_PIN_LEFT_MANY, args, 1);
	evbuffer_add_printf(b, "</p>\n");
	html_form_submit(b, r, T_PIN_SUBMIT);
	html_end(r, b, 200, "OK");
}

/*
 * The PIN as typed, without the blanks people put into a long number
 * ("123 456"), into out; T_COUNT if it is a PIN, else what is wrong.
 */
static enum text_id
pin_normalize(const char *in, size_t len, char *out, size_t outlen)
{
	size_t	 i, n = 0;

	for (i = 0; i < len; i++) {
		if (in[i] == ' ' || in[i] == '\t')
			continue;
		if (in[i] < '0' || in[i] > '9')
			return T_PIN_FORMAT;
		if (n + 1 < outlen)
			out[n] = in[i];
		n++;
	}
	if (n < PIN_MIN_DIGITS)
		return T_PIN_SHORT;
	if (n > PIN_MAX_DIGITS || n + 1 > outlen)
		return T_PIN_LONG;
	out[n] = '\0';
	return T_COUNT;
}

void
pin_get(struct bs_req *r)
{
	enum activate_result	 ar;
	unsigned		 left = 0;
	int			 has_pin = 0;

	if (!bs_step_applies(r, SESSION_TOKEN))
		return;
	ar = activate_check(r->bd->d.store, r->conf, r->sess->token, NULL,
	    &has_pin, &left, NULL, 0);
	if (bs_check_refused(r, ar))
		return;
	if (!has_pin)
		bs_redirect(r, "/");
	else
		pin_form(r, bs_flash_take(r), left);
}

void
pin_post(struct bs_req *r)
{
	enum activate_result	 ar;
	enum text_id		 why;
	const char		*given;
	char			 pin[sizeof(r->sess->pin)];
	size_t			 len = 0;
	int			 has_pin = 0;

	if (!bs_step_applies(r, SESSION_TOKEN))
		return;
	given = bs_form_get(&r->form, "pin", &len);
	/* Not a PIN at all: say why, and do not count it as an attempt. */
	if (given == NULL)
		why = T_PIN_SHORT;
	else
		why = pin_normalize(given, len, pin, sizeof(pin));
	if (why != T_COUNT) {
		bs_form_refused(r, why, "/pin");
		return;
	}
	ar = activate_check(r->bd->d.store, r->conf, r->sess->token, pin,
	    &has_pin, NULL, r->sess->address, sizeof(r->sess->address));
	switch (ar) {
	case ACTIVATE_OK:
		memcpy(r->sess->pin, pin, strlen(pin) + 1);
		session_enter_state(r->sess, SESSION_PIN_OK, "PIN right");
		bs_session_save(r, r->sess);
		bs_redirect(r, "/password");
		break;
	case ACTIVATE_PIN_WRONG:
		log_info("%s: wrong PIN for %s", r->peer, r->sess->address);
		bs_form_refused(r, T_PIN_WRONG, "/pin");
		break;
	case ACTIVATE_PIN_LOCKED:
		log_info("%s: invitation of %s locked after wrong PINs",
		    r->peer, r->sess->address);
		/* GET /pin shows the locked page; a reload there resends nothing. */
		bs_redirect(r, "/pin");
		break;
	case ACTIVATE_INVALID:
		bs_invalid(r);
		break;
	case ACTIVATE_ERROR:
		bs_error(r, 503, "Service Unavailable", T_ERR_BUSY_TITLE,
		    T_ERR_BUSY_TEXT);
		break;
	}
	sodium_memzero(pin, sizeof(pin));
}
