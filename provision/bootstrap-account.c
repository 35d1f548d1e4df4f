/*
 * bootstrap-account.c: the guest's own page (issue 14).
 *
 *	GET  /account		the login form, or the page once logged in
 *	POST /account/login	address and main password
 *	POST /account		notices on/off, lock/unlock, log out
 *	POST /account/mbox	the password again: the mailbox as mbox
 *
 * The password is checked by the daemon's auth workers (daemon/auth.h),
 * as for IMAP: Argon2id off the event loop, the same throttles and
 * delays per client address and per account, the same answer for an
 * unknown address and a wrong password.  The request waits for the
 * answer (r->deferred) in a bs_pending of its own.  The page has a
 * session cookie of its own (SESSION_ACCOUNT_COOKIE), which holds the
 * account id and address, never a key; every form carries a CSRF token
 * of that cookie, and the page is read from the store at each request,
 * so a disabled or deleted mailbox ends the session.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "bootstrap.h"
#include "log.h"
#include "xmalloc.h"

/* A login waiting for its hash; the request is answered from auth's cb. */
struct bs_pending {
	struct bs_req		 r;
	int			 mbox;		/* POST /account/mbox */
	struct auth_req		*auth;
	struct bs_pending	*prev, *next;
};

enum account_change {
	ACCOUNT_NOTICES_ON,
	ACCOUNT_NOTICES_OFF,
	ACCOUNT_LOCK,
	ACCOUNT_UNLOCK,
};

struct account_txn {
	uint64_t		 id;
	enum account_change	 change;
	int			 write;
	struct store_account	 acct;
};

static void	account_login_form(struct bs_req *, enum text_id);
static void	account_page(struct bs_req *, const struct store_account *,
		    enum text_id);
static void	account_login_done(struct auth_result *, void *);
static void	account_pending_free(struct bs_pending *);
static int	account_txn(struct store_txn *, void *);
static int	account_load(struct bs_req *, struct account_txn *);
static void	account_button(struct evbuffer *, struct bs_req *,
		    const char *action, enum text_id label);

static void
account_login_form(struct bs_req *r, enum text_id error)
{
	struct evbuffer	*b;

	b = html_begin(r, T_ACCT_LOGIN_TITLE);
	if (error != T_COUNT) {
		evbuffer_add_printf(b, "<p class=\"error\" id=\"error\" "
		    "role=\"alert\">");
		html_text(b, r, error, NULL, 0);
		evbuffer_add_printf(b, "</p>\n");
	}
	html_para(b, r, T_ACCT_LOGIN_INTRO, NULL);
	evbuffer_add_printf(b, "<form method=\"post\" "
	    "action=\"/account/login\">\n");
	html_csrf(b, r, "account-login");
	evbuffer_add_printf(b, "<p><label for=\"address\">");
	html_text(b, r, T_ACCT_ADDRESS_LABEL, NULL, 0);
	evbuffer_add_printf(b, "</label>\n<input id=\"address\" "
	    "name=\"address\" type=\"email\" autocomplete=\"username\" "
	    "maxlength=\"%d\" required autofocus%s></p>\n", ADDR_MAX,
	    error != T_COUNT ? " aria-describedby=\"error\"" : "");
	evbuffer_add_printf(b, "<p><label for=\"password\">");
	html_text(b, r, T_ACCT_PASSWORD_LABEL, NULL, 0);
	evbuffer_add_printf(b, "</label>\n<input id=\"password\" "
	    "name=\"password\" type=\"password\" "
	    "autocomplete=\"current-password\" maxlength=\"%d\" required>"
	    "</p>\n", BS_MAX_PASSWORD);
	evbuffer_add_printf(b, "<p><button type=\"submit\">");
	html_text(b, r, T_ACCT_LOGIN_SUBMIT, NULL, 0);
	evbuffer_add_printf(b, "</button></p>\n</form>\n");
	html_end(r, b);
	bs_reply(r, 200, "OK", "text/html; charset=utf-8", b);
	evbuffer_free(b);
}

/* One action is one small form: it works without JavaScript. */
static void
account_button(struct evbuffer *b, struct bs_req *r, const char *action,
    enum text_id label)
{
	evbuffer_add_printf(b, "<form method=\"post\" action=\"/account\">\n");
	html_csrf(b, r, "account");
	evbuffer_add_printf(b, "<input type=\"hidden\" name=\"do\" "
	    "value=\"%s\">\n<p><button type=\"submit\" id=\"%s\">", action,
	    action);
	html_text(b, r, label, NULL, 0);
	evbuffer_add_printf(b, "</button></p>\n</form>\n");
}

static void
account_page(struct bs_req *r, const struct store_account *a,
    enum text_id flash)
{
	struct evbuffer	*b;
	const char	*args[2];
	char		 date[16];
	struct tm	 tm;
	time_t		 gone;

	gone = (time_t)a->last_activity + (time_t)r->conf->expire_days * 86400;
	gmtime_r(&gone, &tm);
	strftime(date, sizeof(date), "%Y-%m-%d", &tm);
	b = html_begin(r, T_ACCT_TITLE);
	if (flash == T_ACCT_SAVED) {
		evbuffer_add_printf(b, "<p class=\"notice\" id=\"saved\" "
		    "role=\"status\">");
		html_text(b, r, flash, NULL, 0);
		evbuffer_add_printf(b, "</p>\n");
	} else if (flash != T_COUNT) {
		/* A download refused for a wrong password. */
		evbuffer_add_printf(b, "<p class=\"error\" id=\"error\" "
		    "role=\"alert\">");
		html_text(b, r, flash, NULL, 0);
		evbuffer_add_printf(b, "</p>\n");
	}
	args[0] = a->address;
	evbuffer_add_printf(b, "<p id=\"address\">");
	html_text(b, r, T_ACCT_INTRO, args, 1);
	evbuffer_add_printf(b, "</p>\n<p id=\"expires\">");
	args[0] = date;
	html_text(b, r, T_ACCT_EXPIRES, args, 1);
	evbuffer_add_printf(b, "</p>\n");

	evbuffer_add_printf(b, "<h2>");
	html_text(b, r, T_ACCT_NOTICES_HEAD, NULL, 0);
	evbuffer_add_printf(b, "</h2>\n<p id=\"notices-state\">");
	html_text(b, r, a->notices_off ? T_ACCT_NOTICES_OFF : T_ACCT_NOTICES_ON,
	    NULL, 0);
	evbuffer_add_printf(b, "</p>\n");
	if (a->notices_off)
		account_button(b, r, "notices-on", T_ACCT_NOTICES_ENABLE);
	else
		account_button(b, r, "notices-off", T_ACCT_NOTICES_DISABLE);

	evbuffer_add_printf(b, "<h2>");
	html_text(b, r, T_ACCT_LOCK_HEAD, NULL, 0);
	evbuffer_add_printf(b, "</h2>\n<p id=\"lock-state\">");
	html_text(b, r, a->locked ? T_ACCT_LOCKED : T_ACCT_UNLOCKED, NULL, 0);
	evbuffer_add_printf(b, "</p>\n");
	if (a->locked)
		account_button(b, r, "unlock", T_ACCT_UNLOCK);
	else
		account_button(b, r, "lock", T_ACCT_LOCK);

	/* The page keeps no key: the download asks for the password. */
	evbuffer_add_printf(b, "<h2>");
	html_text(b, r, T_ACCT_MBOX_HEAD, NULL, 0);
	evbuffer_add_printf(b, "</h2>\n");
	html_para(b, r, T_ACCT_MBOX_TEXT, NULL);
	evbuffer_add_printf(b, "<form method=\"post\" "
	    "action=\"/account/mbox\">\n");
	html_csrf(b, r, "account-mbox");
	evbuffer_add_printf(b, "<input type=\"hidden\" name=\"username\" "
	    "autocomplete=\"username\" value=\"");
	html_escape(b, a->address);
	evbuffer_add_printf(b, "\">\n<p><label for=\"mbox-password\">");
	html_text(b, r, T_ACCT_PASSWORD_LABEL, NULL, 0);
	evbuffer_add_printf(b, "</label>\n<input id=\"mbox-password\" "
	    "name=\"password\" type=\"password\" "
	    "autocomplete=\"current-password\" maxlength=\"%d\" required>"
	    "</p>\n<p><button type=\"submit\" id=\"mbox\">",
	    BS_MAX_PASSWORD);
	html_text(b, r, T_ACCT_MBOX_SUBMIT, NULL, 0);
	evbuffer_add_printf(b, "</button></p>\n</form>\n");

	evbuffer_add_printf(b, "<hr>\n");
	account_button(b, r, "logout", T_ACCT_LOGOUT);
	html_end(r, b);
	bs_reply(r, 200, "OK", "text/html; charset=utf-8", b);
	evbuffer_free(b);
}

static int
account_txn(struct store_txn *txn, void *arg)
{
	struct account_txn	*at = arg;
	struct store_account	*a = &at->acct;
	int			 ret;

	store_account_clear(a);
	if ((ret = store_account_get(txn, at->id, a)) != 0)
		return ret;
	/* As auth lets in: a password-protected, active mailbox. */
	if (a->state != STORE_ACCT_ACTIVE || a->kek_kind != VAULT_KEK_PASSWORD)
		return STORE_ESTATE;
	if (!at->write)
		return 0;
	switch (at->change) {
	case ACCOUNT_NOTICES_ON:
		a->notices_off = 0;
		break;
	case ACCOUNT_NOTICES_OFF:
		a->notices_off = 1;
		break;
	case ACCOUNT_LOCK:
		a->locked = 1;
		break;
	case ACCOUNT_UNLOCK:
		a->locked = 0;
		break;
	}
	/* Its notification ends the open IMAP and submission sessions. */
	return store_account_update(txn, a);
}

/*
 * The account of a logged-in session, or an answer sent: the login form
 * when the session is not one, 503 on storage trouble.  Returns 0 with
 * at->acct filled (the caller clears it), -1 when answered.
 */
static int
account_load(struct bs_req *r, struct account_txn *at)
{
	int	 ret;

	if (r->sess->state != SESSION_ACCOUNT) {
		bs_redirect(r, "/account");
		return -1;
	}
	at->id = r->sess->account_id;
	ret = store_txn_run(r->bd->d.store, account_txn, at);
	if (ret == STORE_ENOTFOUND || ret == STORE_ESTATE) {
		/* Disabled, deleted, re-invited: the session is over. */
		store_account_clear(&at->acct);
		r->sess->state = SESSION_NONE;
		bs_session_save(r, r->sess);
		bs_redirect(r, "/account");
		return -1;
	}
	if (ret != 0) {
		store_account_clear(&at->acct);
		bs_error(r, 503, "Service Unavailable", T_ERR_BUSY_TITLE,
		    T_ERR_BUSY_TEXT);
		return -1;
	}
	return 0;
}

void
account_get(struct bs_req *r)
{
	struct account_txn	 at;
	enum text_id		 flash = r->sess->flash;

	if (flash != T_COUNT) {
		/* Shown once: a reload does not show it again. */
		r->sess->flash = T_COUNT;
		bs_session_save(r, r->sess);
	}
	if (r->sess->state == SESSION_ACCOUNT) {
		memset(&at, 0, sizeof(at));
		if (account_load(r, &at) == -1)
			return;
		account_page(r, &at.acct, flash);
		store_account_clear(&at.acct);
		return;
	}
	if (r->sess->state != SESSION_ACCOUNT_NEW) {
		/* A cookie for the form's CSRF token; nothing else in it. */
		sodium_memzero(r->sess, sizeof(*r->sess));
		r->sess->flash = T_COUNT;
		r->sess->expires = (int64_t)time(NULL) + BS_SESSION_INVITE;
		session_enter_state(r->sess, SESSION_ACCOUNT_NEW, "login form");
		bs_session_save(r, r->sess);
	}
	account_login_form(r, flash);
}

static void
account_pending_free(struct bs_pending *p)
{
	struct bootstrapd	*bd = p->r.bd;

	if (p->prev != NULL)
		p->prev->next = p->next;
	else if (bd->pending == p)
		bd->pending = p->next;
	if (p->next != NULL)
		p->next->prev = p->prev;
	bs_form_clear(&p->r.form);
	session_free(&p->r.sess);
	free(p->r.cookie);
	free(p->r.set_cookie);
	free(p);
}

static void
account_login_done(struct auth_result *res, void *arg)
{
	struct bs_pending	*p = arg;
	struct bs_req		*r = &p->r;

	p->auth = NULL;		/* auth frees it after this callback */
	if (p->mbox && res->status == AUTH_OK &&
	    res->account_id == r->sess->account_id) {
		/* The stream takes the key and the request. */
		mbox_stream_start(r, &res->key);
		account_pending_free(p);
		return;
	}
	if (p->mbox && res->status != AUTH_UNAVAILABLE) {
		log_info("%s: a download of %s refused", r->peer,
		    r->sess->address);
		bs_form_refused(r, T_ACCT_WRONG, "/account");
		account_pending_free(p);
		return;
	}
	switch (res->status) {
	case AUTH_OK:
		log_info("%s: %s logged in to the guest's page", r->peer,
		    res->address);
		sodium_memzero(r->sess, sizeof(*r->sess));
		r->sess->flash = T_COUNT;
		r->sess->account_id = res->account_id;
		snprintf(r->sess->address, sizeof(r->sess->address), "%s",
		    res->address);
		r->sess->expires = (int64_t)time(NULL) + BS_SESSION_ACCOUNT;
		session_enter_state(r->sess, SESSION_ACCOUNT, "password right");
		bs_session_save(r, r->sess);
		bs_redirect(r, "/account");
		break;
	case AUTH_FAILED:
		log_info("%s: a login to the guest's page failed", r->peer);
		bs_form_refused(r, T_ACCT_WRONG, "/account");
		break;
	case AUTH_UNAVAILABLE:
		bs_error(r, 503, "Service Unavailable", T_ERR_BUSY_TITLE,
		    T_ERR_BUSY_TEXT);
		break;
	}
	/* The key is not needed here: auth frees what the cb did not take. */
	account_pending_free(p);
}

/* The request waits for the hash of pw; p owns what r owned. */
static void
account_defer(struct bs_req *r, const char *addr, const char *pw,
    size_t pwlen, int mbox)
{
	struct bootstrapd	*bd = r->bd;
	struct bs_pending	*p;

	p = xcalloc(1, sizeof(*p));
	p->r = *r;
	p->mbox = mbox;
	r->deferred = 1;
	p->next = bd->pending;
	if (bd->pending != NULL)
		bd->pending->prev = p;
	bd->pending = p;
	p->auth = auth_start_flags(bd->d.auth, addr, pw, pwlen, p->r.peer,
	    AUTH_F_PAGE, account_login_done, p);
}

void
account_mbox_post(struct bs_req *r)
{
	struct account_txn	 at;
	const char		*pw;
	size_t			 pwlen = 0;

	memset(&at, 0, sizeof(at));
	if (account_load(r, &at) == -1)
		return;
	store_account_clear(&at.acct);
	pw = bs_form_get(&r->form, "password", &pwlen);
	if (pw == NULL || pwlen > BS_MAX_PASSWORD || r->bd->d.auth == NULL) {
		bs_form_refused(r, T_ACCT_WRONG, "/account");
		return;
	}
	account_defer(r, r->sess->address, pw, pwlen, 1);
}

void
account_login_post(struct bs_req *r)
{
	struct bootstrapd	*bd = r->bd;
	const char		*addr, *pw;
	size_t			 alen = 0, pwlen = 0;

	if (r->sess->state != SESSION_ACCOUNT_NEW &&
	    r->sess->state != SESSION_ACCOUNT) {
		bs_redirect(r, "/account");
		return;
	}
	addr = bs_form_get(&r->form, "address", &alen);
	pw = bs_form_get(&r->form, "password", &pwlen);
	if (addr == NULL || pw == NULL || alen == 0 || alen > ADDR_MAX ||
	    memchr(addr, '\0', alen) != NULL || pwlen > BS_MAX_PASSWORD ||
	    bd->d.auth == NULL) {
		bs_form_refused(r, T_ACCT_WRONG, "/account");
		return;
	}
	account_defer(r, addr, pw, pwlen, 0);
}

void
account_post(struct bs_req *r)
{
	static const struct {
		const char		*name;
		enum account_change	 change;
	} actions[] = {
		{ "notices-on", ACCOUNT_NOTICES_ON },
		{ "notices-off", ACCOUNT_NOTICES_OFF },
		{ "lock", ACCOUNT_LOCK },
		{ "unlock", ACCOUNT_UNLOCK },
	};
	struct account_txn	 at;
	const char		*what;
	size_t			 i, len = 0;

	what = bs_form_get(&r->form, "do", &len);
	if (what != NULL && strcmp(what, "logout") == 0) {
		r->sess->state = SESSION_NONE;
		bs_session_save(r, r->sess);
		bs_redirect(r, "/account");
		return;
	}
	for (i = 0; what != NULL && i < sizeof(actions) / sizeof(actions[0]);
	    i++)
		if (strcmp(what, actions[i].name) == 0)
			break;
	if (what == NULL || i == sizeof(actions) / sizeof(actions[0])) {
		bs_error(r, 400, "Bad Request", T_ERR_BADFORM_TITLE,
		    T_ERR_BADFORM_TEXT);
		return;
	}
	memset(&at, 0, sizeof(at));
	at.write = 1;
	at.change = actions[i].change;
	if (account_load(r, &at) == -1)
		return;
	log_info("%s: %s on the guest's page: %s", r->peer, at.acct.address,
	    actions[i].name);
	store_account_clear(&at.acct);
	bs_form_refused(r, T_ACCT_SAVED, "/account");
}

void
account_shutdown(struct bootstrapd *bd)
{
	struct bs_pending	*p;

	while ((p = bd->pending) != NULL) {
		auth_cancel(&p->auth);
		bs_error(&p->r, 503, "Service Unavailable", T_ERR_BUSY_TITLE,
		    T_ERR_BUSY_TEXT);
		account_pending_free(p);
	}
}
