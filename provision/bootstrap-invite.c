/*
 * bootstrap-invite.c: the link from the mail, and the page that sends a
 * browser to its step.
 *
 * SPEC: a GET of the link changes nothing, because mail scanners open
 * links.  It only moves the token out of the URL (out of the history,
 * the address bar and any Referer) into a sealed cookie and redirects;
 * whether the token is any good is decided on the token-free URL, where
 * unknown, expired and used tokens get one and the same page; a locked
 * one, which only its holder reaches, says that an unlock is enough.
 */
#include "config.h"

#include <string.h>
#include <time.h>

#include "activate.h"
#include "bootstrap.h"
#include "log.h"

void
invite_get(struct bs_req *r)
{
	const char	*tok = r->path + strlen("/i/");

	session_free(&r->sess);
	r->sess = session_new();
	/* 43 characters of base64url: 32 bytes. */
	if (strlen(tok) != 43 || b64url_decode(tok, r->sess->token,
	    sizeof(r->sess->token)) == -1) {
		bs_invalid(r);
		return;
	}
	r->sess->expires = (int64_t)time(NULL) + BS_SESSION_INVITE;
	session_enter_state(r->sess, SESSION_TOKEN, "link opened");
	bs_session_save(r, r->sess);
	bs_redirect(r, "/");
}

void
start_get(struct bs_req *r)
{
	enum activate_result	 ar;
	int			 has_pin = 0;

	switch (r->sess->state) {
	case SESSION_NONE:
	case SESSION_STATE_COUNT:
		bs_invalid(r);
		return;
	case SESSION_DONE:
		bs_redirect(r, "/done");
		return;
	case SESSION_TOKEN:
	case SESSION_PIN_OK:
		break;
	}
	ar = activate_check(r->bd->d.store, r->conf, r->sess->token, NULL,
	    &has_pin, NULL, r->sess->address, sizeof(r->sess->address));
	if (bs_check_refused(r, ar))
		return;
	if (r->sess->state == SESSION_TOKEN && has_pin) {
		bs_redirect(r, "/pin");
		return;
	}
	if (r->sess->state == SESSION_TOKEN) {
		session_enter_state(r->sess, SESSION_PIN_OK, "no PIN");
		bs_session_save(r, r->sess);
	}
	bs_redirect(r, "/password");
}
