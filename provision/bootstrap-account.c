/*
 * bootstrap-account.c: the guest's own page (issue 14).
 *
 *	GET  /account		the login form, or the page once logged in
 *	POST /account/login	address and main password
 *	POST /account		notices on/off, lock/unlock, log out
 *	POST /account/mbox	the password again: the mailbox as mbox
 *	POST /account/devices	a name and the password again: a new device
 *				password, shown once
 *	POST /account/logins	the password again: the recent logins
 *	POST /account/phone	the password again: a device password for a
 *				phone and its one-time profile link
 *	POST /phone		the same from the success page (bootstrap-done.c)
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
#include "workq.h"
#include "xmalloc.h"

/* A login waiting for its hash; the request is answered from auth's cb. */
enum pending_kind {
	PENDING_LOGIN,
	PENDING_MBOX,		/* POST /account/mbox */
	PENDING_DEVICE,		/* POST /account/devices */
	PENDING_LOGINS,		/* POST /account/logins */
	PENDING_PHONE,		/* POST /account/phone, POST /phone */
};

/*
 * A new device password: Argon2id of it on the work queue, its wrap of
 * the key, then the record.  The password lives in secret memory and
 * leaves only in the one page that shows it.
 */
struct device_job {
	struct vault_seckey	*key;
	char			*pw;		/* xsecret */
	size_t			 pwlen;
	uint32_t		 id;
	char			 name[STORE_DEVICE_NAME_MAX + 1];
	struct vault_kdf	 kdf;
	uint8_t			 wrapped[VAULT_WRAPPEDBYTES];
	uint8_t			 verifier[VAULT_VERIFIERBYTES];
	int			 worked;	/* the thread ran it */
	int			 phone;		/* for a phone's profile link */
};

struct bs_pending {
	struct bs_req		 r;
	enum pending_kind	 kind;
	struct auth_req		*auth;
	struct device_job	*job;
	struct bs_pending	*prev, *next;
};

enum account_change {
	ACCOUNT_NOTICES_ON,
	ACCOUNT_NOTICES_OFF,
	ACCOUNT_LOCK,
	ACCOUNT_UNLOCK,
	ACCOUNT_REVOKE,
};

struct account_txn {
	uint64_t		 id;
	enum account_change	 change;
	uint32_t		 device_id;	/* ACCOUNT_REVOKE */
	int			 write;
	struct store_account	 acct;
};

static void	account_login_form(struct bs_req *, enum text_id);
static void	account_page(struct bs_req *, const struct store_account *,
		    enum text_id);
static void	account_login_done(struct auth_result *, void *);
static void	device_start(struct bs_pending *, struct vault_seckey **);
static void	logins_show(struct bs_req *, const struct vault_seckey *);
static void	device_work(void *);
static void	device_done(void *);
static int	device_txn(struct store_txn *, void *);
static void	device_shown(struct bs_req *, const struct device_job *);
static void	phone_made(struct bs_req *, struct device_job *);
static void	account_pending_free(struct bs_pending *);
static int	account_txn(struct store_txn *, void *);
static int	account_load(struct bs_req *, struct account_txn *);
static void	account_button(struct evbuffer *, struct bs_req *,
		    const char *action, enum text_id label);
static void	account_devices(struct evbuffer *, struct bs_req *,
		    const struct store_account *);

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
	evbuffer_add_printf(b, "</button></p>\n</form>\n<p><a href=\"/lost\" "
	    "id=\"lost\">");
	html_text(b, r, T_LOST_LINK, NULL, 0);
	evbuffer_add_printf(b, "</a></p>\n");
	html_end(r, b, 200, "OK");
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

/* The device passwords: each with its revoke button, and a new one. */
static void
account_devices(struct evbuffer *b, struct bs_req *r,
    const struct store_account *a)
{
	const struct store_device	*dv;
	char				 date[16];
	struct tm			 tm;
	time_t				 t;
	uint32_t			 i;

	evbuffer_add_printf(b, "<h2>");
	html_text(b, r, T_ACCT_DEV_HEAD, NULL, 0);
	evbuffer_add_printf(b, "</h2>\n");
	html_para(b, r, T_ACCT_DEV_TEXT, NULL);
	if (a->ndevices == 0)
		html_para(b, r, T_ACCT_DEV_NONE, NULL);
	else
		evbuffer_add_printf(b, "<ul id=\"devices\">\n");
	for (i = 0; i < a->ndevices; i++) {
		dv = &a->devices[i];
		t = (time_t)dv->created;
		gmtime_r(&t, &tm);
		strftime(date, sizeof(date), "%Y-%m-%d", &tm);
		evbuffer_add_printf(b, "<li><form method=\"post\" "
		    "action=\"/account\">\n");
		html_csrf(b, r, "account");
		evbuffer_add_printf(b, "<input type=\"hidden\" name=\"do\" "
		    "value=\"revoke\">\n<input type=\"hidden\" "
		    "name=\"device\" value=\"%u\">\n<span class=\"device\">",
		    dv->id);
		html_escape(b, dv->name);
		evbuffer_add_printf(b, "</span> (%s)\n<button type=\"submit\" "
		    "id=\"revoke-%u\" aria-label=\"", date, dv->id);
		html_text(b, r, T_ACCT_DEV_REVOKE, NULL, 0);
		evbuffer_add_printf(b, ": ");
		html_escape(b, dv->name);
		evbuffer_add_printf(b, "\">");
		html_text(b, r, T_ACCT_DEV_REVOKE, NULL, 0);
		evbuffer_add_printf(b, "</button></form></li>\n");
	}
	if (a->ndevices > 0)
		evbuffer_add_printf(b, "</ul>\n");
	if (a->ndevices >= STORE_MAX_DEVICES)
		return;
	evbuffer_add_printf(b, "<form method=\"post\" "
	    "action=\"/account/devices\">\n");
	html_csrf(b, r, "account-devices");
	evbuffer_add_printf(b, "<p><label for=\"device-name\">");
	html_text(b, r, T_ACCT_DEV_NAME_LABEL, NULL, 0);
	evbuffer_add_printf(b, "</label>\n<input id=\"device-name\" "
	    "name=\"name\" type=\"text\" maxlength=\"%d\" required "
	    "autocomplete=\"off\"></p>\n<p><label for=\"device-password\">",
	    STORE_DEVICE_NAME_MAX);
	html_text(b, r, T_ACCT_PASSWORD_LABEL, NULL, 0);
	evbuffer_add_printf(b, "</label>\n<input id=\"device-password\" "
	    "name=\"password\" type=\"password\" "
	    "autocomplete=\"current-password\" maxlength=\"%d\" required>"
	    "</p>\n<p><button type=\"submit\" id=\"device-new\">",
	    BS_MAX_PASSWORD);
	html_text(b, r, T_ACCT_DEV_SUBMIT, NULL, 0);
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
	if (flash == T_ACCT_SAVED)
		html_notice(b, r, "saved", flash);
	else	/* a download refused for a wrong password; T_COUNT: none */
		html_form_error(b, r, flash, NULL, 0);
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

	phone_section(b, r, a->address, "/account/phone", "account-phone");
	account_devices(b, r, a);

	/* The page keeps no key: the download asks for the password. */
	evbuffer_add_printf(b, "<h2>");
	html_text(b, r, T_ACCT_MBOX_HEAD, NULL, 0);
	evbuffer_add_printf(b, "</h2>\n");
	html_para(b, r, T_ACCT_MBOX_TEXT, NULL);
	html_password_form(b, r, a->address, "/account/mbox", "account-mbox",
	    "mbox", T_ACCT_MBOX_SUBMIT);

	evbuffer_add_printf(b, "<h2>");
	html_text(b, r, T_ACCT_LOGINS_HEAD, NULL, 0);
	evbuffer_add_printf(b, "</h2>\n");
	html_para(b, r, T_ACCT_LOGINS_TEXT, NULL);
	html_password_form(b, r, a->address, "/account/logins",
	    "account-logins", "logins", T_ACCT_LOGINS_SUBMIT);

	evbuffer_add_printf(b, "<hr>\n");
	account_button(b, r, "logout", T_ACCT_LOGOUT);
	html_end(r, b, 200, "OK");
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
	case ACCOUNT_REVOKE:
		/* The wrap goes; the notification ends its sessions. */
		if ((ret = store_account_device_remove(a, at->device_id)) != 0)
			return ret == STORE_ENOTFOUND ? 0 : ret;
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
	account_form_session(r);
	account_login_form(r, flash);
}

void
account_form_session(struct bs_req *r)
{
	if (r->sess->state == SESSION_ACCOUNT_NEW ||
	    r->sess->state == SESSION_ACCOUNT)
		return;
	/* A cookie for the form's CSRF token; nothing else in it. */
	sodium_memzero(r->sess, sizeof(*r->sess));
	r->sess->flash = T_COUNT;
	r->sess->expires = (int64_t)time(NULL) + BS_SESSION_INVITE;
	session_enter_state(r->sess, SESSION_ACCOUNT_NEW, "login form");
	bs_session_save(r, r->sess);
}

static void
account_pending_free(struct bs_pending *p)
{
	struct bootstrapd	*bd = p->r.bd;

	/* Every pending request is on the list: no prev, it is the head. */
	if (p->prev != NULL)
		p->prev->next = p->next;
	else
		bd->pending = p->next;
	if (p->next != NULL)
		p->next->prev = p->prev;
	if (p->job != NULL) {
		vault_seckey_free(&p->job->key);
		xsecret_free(p->job->pw);
		sodium_memzero(p->job, sizeof(*p->job));
		free(p->job);
	}
	bs_form_clear(&p->r.form);
	session_free(&p->r.sess);
	free(p->r.cookie);
	free(p->r.set_cookie);
	free(p);
}

/*
 * Where a refused form goes back to: the success page, for a phone link
 * asked for there, or the guest's page.
 */
static const char *
account_back(const struct bs_req *r)
{
	return r->sess->state == SESSION_DONE ? "/done" : "/account";
}

static const char *
account_pending_what(enum pending_kind kind)
{
	switch (kind) {
	case PENDING_LOGIN:
		return "a login";
	case PENDING_MBOX:
		return "a download";
	case PENDING_DEVICE:
		return "a device password";
	case PENDING_LOGINS:
		return "the logins";
	case PENDING_PHONE:
		return "a phone's profile link";
	}
	return "a request";
}

static void
account_login_done(struct auth_result *res, void *arg)
{
	struct bs_pending	*p = arg;
	struct bs_req		*r = &p->r;

	p->auth = NULL;		/* auth frees it after this callback */
	/*
	 * The success page's session names the address, not the account:
	 * the password was checked for that address, so its account it is.
	 */
	if (p->kind == PENDING_PHONE && r->sess->state == SESSION_DONE &&
	    res->status == AUTH_OK)
		r->sess->account_id = res->account_id;
	if (p->kind != PENDING_LOGIN && res->status == AUTH_OK &&
	    res->account_id == r->sess->account_id) {
		if (p->kind == PENDING_MBOX) {
			/* The stream takes the key and the request. */
			mbox_stream_start(r, &res->key);
			account_pending_free(p);
		} else if (p->kind == PENDING_LOGINS) {
			logins_show(r, res->key);
			account_pending_free(p);
		} else
			device_start(p, &res->key);
		return;
	}
	if (p->kind != PENDING_LOGIN && res->status != AUTH_UNAVAILABLE) {
		log_info("%s: %s for %s refused: wrong password", r->peer,
		    account_pending_what(p->kind), r->sess->address);
		bs_form_refused(r, T_ACCT_WRONG, account_back(r));
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
static struct bs_pending *
account_defer(struct bs_req *r, const char *addr, const char *pw,
    size_t pwlen, enum pending_kind kind)
{
	struct bootstrapd	*bd = r->bd;
	struct bs_pending	*p;

	p = xcalloc(1, sizeof(*p));
	p->r = *r;
	p->kind = kind;
	r->deferred = 1;
	p->next = bd->pending;
	if (bd->pending != NULL)
		bd->pending->prev = p;
	bd->pending = p;
	p->auth = auth_start_flags(bd->d.auth, addr, pw, pwlen, p->r.peer,
	    AUTH_F_PAGE, account_login_done, p);
	return p;
}

struct logins_txn {
	const struct vault_seckey	*key;
	struct store_login		*v;
	size_t				 n;
};

static int
logins_txn(struct store_txn *txn, void *arg)
{
	struct logins_txn	*lt = arg;

	return store_login_list(txn, lt->key, lt->v, STORE_LOGINS_MAX, &lt->n);
}

/* The answer to the POST: opened with the key, shown, not kept. */
static void
logins_show(struct bs_req *r, const struct vault_seckey *key)
{
	static const enum text_id protos[] = {
		[STORE_LOGIN_IMAP] = T_ACCT_LOGINS_IMAP,
		[STORE_LOGIN_SUBMISSION] = T_ACCT_LOGINS_SMTP,
		[STORE_LOGIN_PAGE] = T_ACCT_LOGINS_PAGE,
	};
	struct logins_txn	 lt;
	struct evbuffer		*b;
	char			 when[32];
	struct tm		 tm;
	time_t			 t;
	size_t			 i;

	lt.key = key;
	lt.n = 0;
	lt.v = xcalloc(STORE_LOGINS_MAX, sizeof(*lt.v));
	if (store_txn_run(r->bd->d.store, logins_txn, &lt) != 0) {
		free(lt.v);
		bs_error(r, 503, "Service Unavailable", T_ERR_BUSY_TITLE,
		    T_ERR_BUSY_TEXT);
		return;
	}
	b = html_begin(r, T_ACCT_LOGINS_HEAD);
	evbuffer_add_printf(b, "<table class=\"settings\" id=\"logins\">\n"
	    "<caption>");
	html_text(b, r, T_ACCT_LOGINS_CAPTION, NULL, 0);
	evbuffer_add_printf(b, "</caption>\n<tr><th scope=\"col\">");
	html_text(b, r, T_ACCT_LOGINS_WHEN, NULL, 0);
	evbuffer_add_printf(b, "</th><th scope=\"col\">");
	html_text(b, r, T_ACCT_LOGINS_PROTO, NULL, 0);
	evbuffer_add_printf(b, "</th><th scope=\"col\">");
	html_text(b, r, T_ACCT_LOGINS_FROM, NULL, 0);
	evbuffer_add_printf(b, "</th><th scope=\"col\">");
	html_text(b, r, T_ACCT_LOGINS_DEVICE, NULL, 0);
	evbuffer_add_printf(b, "</th></tr>\n");
	for (i = 0; i < lt.n; i++) {
		t = (time_t)lt.v[i].when;
		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm);
		evbuffer_add_printf(b, "<tr><td>%s</td><td>", when);
		if (lt.v[i].proto >= STORE_LOGIN_IMAP &&
		    lt.v[i].proto <= STORE_LOGIN_PAGE)
			html_text(b, r, protos[lt.v[i].proto], NULL, 0);
		evbuffer_add_printf(b, "</td><td>");
		html_escape(b, lt.v[i].peer);
		evbuffer_add_printf(b, "</td><td>");
		if (lt.v[i].device_id == 0)
			html_text(b, r, T_ACCT_LOGINS_MAIN, NULL, 0);
		else
			html_escape(b, lt.v[i].device);
		evbuffer_add_printf(b, "</td></tr>\n");
	}
	evbuffer_add_printf(b, "</table>\n<p><a href=\"/account\" "
	    "id=\"back\">");
	html_text(b, r, T_ACCT_DEV_BACK, NULL, 0);
	evbuffer_add_printf(b, "</a></p>\n");
	html_end(r, b, 200, "OK");
	sodium_memzero(lt.v, STORE_LOGINS_MAX * sizeof(*lt.v));
	free(lt.v);
}

/*
 * A logged-in post that needs the key (the page keeps none): its
 * password goes to the auth workers, or NULL when answered already.
 */
static struct bs_pending *
account_again(struct bs_req *r, enum pending_kind kind)
{
	struct account_txn	 at;
	const char		*pw;
	size_t			 pwlen = 0;

	memset(&at, 0, sizeof(at));
	if (account_load(r, &at) == -1)
		return NULL;
	store_account_clear(&at.acct);
	pw = bs_form_get(&r->form, "password", &pwlen);
	if (pw == NULL || pwlen > BS_MAX_PASSWORD || r->bd->d.auth == NULL ||
	    r->bd->workq == NULL) {
		bs_form_refused(r, T_ACCT_WRONG, "/account");
		return NULL;
	}
	return account_defer(r, r->sess->address, pw, pwlen, kind);
}

void
account_logins_post(struct bs_req *r)
{
	(void)account_again(r, PENDING_LOGINS);
}

void
account_mbox_post(struct bs_req *r)
{
	(void)account_again(r, PENDING_MBOX);
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
	(void)account_defer(r, addr, pw, pwlen, PENDING_LOGIN);
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
		{ "revoke", ACCOUNT_REVOKE },
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
	if (at.change == ACCOUNT_REVOKE) {
		const char	*dev = bs_form_get(&r->form, "device", &len);
		uint64_t	 v;

		if (dev == NULL || parse_u64(dev, UINT32_MAX, &v) == -1 ||
		    v == 0) {
			bs_error(r, 400, "Bad Request", T_ERR_BADFORM_TITLE,
			    T_ERR_BADFORM_TEXT);
			return;
		}
		at.device_id = (uint32_t)v;
	}
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
	struct bs_pending	*p, *next;

	/* New device passwords: each hears "done" and answers 503. */
	workq_free(&bd->workq);
	/* The rest wait for auth: off the list one by one, answered. */
	next = bd->pending;
	bd->pending = NULL;
	while ((p = next) != NULL) {
		next = p->next;
		p->prev = p->next = NULL;
		auth_cancel(&p->auth);
		bs_error(&p->r, 503, "Service Unavailable", T_ERR_BUSY_TITLE,
		    T_ERR_BUSY_TEXT);
		account_pending_free(p);
	}
}

/* ---- device passwords ---- */

/*
 * "d<id>-" and four groups of five from 32 letters and digits that are
 * hard to confuse: 100 random bits, typed on a phone once.
 */
static char *
device_password(uint32_t id, size_t *lenp)
{
	static const char	 alpha[] = "abcdefghijkmnpqrstuvwxyz23456789";
	char			*pw;
	size_t			 n, i, g;

	pw = xsecret_alloc(48);
	n = (size_t)snprintf(pw, 48, "d%u", id);
	for (g = 0; g < 4; g++) {
		pw[n++] = '-';
		for (i = 0; i < 5; i++)
			pw[n++] = alpha[randombytes_uniform(sizeof(alpha) - 1)];
	}
	pw[n] = '\0';
	*lenp = n;
	return pw;
}

struct device_arg {
	uint64_t		 account_id;
	const uint8_t		*pk;
	struct device_job	*job;
	int			 full;
};

static int
device_txn(struct store_txn *txn, void *arg)
{
	struct device_arg	*da = arg;
	struct device_job	*job = da->job;
	struct store_account	 a;
	struct store_device	*dv;
	int			 ret;

	memset(&a, 0, sizeof(a));
	if ((ret = store_account_get(txn, da->account_id, &a)) != 0)
		return ret;
	if (a.state != STORE_ACCT_ACTIVE || a.kek_kind != VAULT_KEK_PASSWORD ||
	    sodium_memcmp(a.pk, da->pk, sizeof(a.pk)) != 0)
		ret = STORE_ESTATE;
	else if (job->id == 0) {
		/* Before the hash: the id this password will have. */
		da->full = a.ndevices >= STORE_MAX_DEVICES;
		job->id = a.next_device_id == 0 ? 1 : a.next_device_id;
	} else if (a.ndevices >= STORE_MAX_DEVICES ||
	    (a.next_device_id == 0 ? 1 : a.next_device_id) != job->id)
		ret = STORE_ESTATE;	/* another one came meanwhile */
	else {
		dv = &a.devices[a.ndevices++];
		dv->id = job->id;
		dv->name = xstrdup(job->name);
		dv->created = store_txn_now(txn);
		dv->kdf = job->kdf;
		memcpy(dv->wrapped_sk, job->wrapped, sizeof(dv->wrapped_sk));
		memcpy(dv->verifier, job->verifier, sizeof(dv->verifier));
		a.next_device_id = job->id + 1;
		ret = store_account_update(txn, &a);
	}
	store_account_clear(&a);
	return ret;
}

static void
device_start(struct bs_pending *p, struct vault_seckey **keyp)
{
	struct bs_req		*r = &p->r;
	struct device_job	*job = p->job;
	struct device_arg	 da;
	int			 ret;

	job->key = *keyp;
	*keyp = NULL;
	memset(&da, 0, sizeof(da));
	da.account_id = r->sess->account_id;
	da.pk = job->key->pk;
	da.job = job;
	ret = store_txn_run(r->bd->d.store, device_txn, &da);
	if (ret == 0 && da.full) {
		bs_form_refused(r, T_ACCT_DEV_FULL, account_back(r));
		account_pending_free(p);
		return;
	}
	if (ret != 0) {
		bs_error(r, 503, "Service Unavailable", T_ERR_BUSY_TITLE,
		    T_ERR_BUSY_TEXT);
		account_pending_free(p);
		return;
	}
	job->pw = device_password(job->id, &job->pwlen);
	vault_kdf_new(&job->kdf, r->conf->kdf_opslimit, r->conf->kdf_memlimit);
	/* Argon2id off the event loop, as every password check here. */
	if (workq_submit(r->bd->workq, device_work, device_done, p) == -1) {
		bs_error(r, 503, "Service Unavailable", T_ERR_BUSY_TITLE,
		    T_ERR_BUSY_TEXT);
		account_pending_free(p);
	}
}

/* In a work queue thread: touches only the job. */
static void
device_work(void *arg)
{
	struct bs_pending	*p = arg;
	struct device_job	*job = p->job;
	uint8_t			*kek;

	kek = xsecret_alloc(VAULT_KEYBYTES);
	if (vault_kek_from_password(job->pw, job->pwlen, &job->kdf, kek,
	    job->verifier) == 0) {
		vault_wrap(job->key, kek, VAULT_KEK_PASSWORD, job->wrapped);
		job->worked = 1;
	}
	xsecret_free(kek);
}

static void
device_done(void *arg)
{
	struct bs_pending	*p = arg;
	struct bs_req		*r = &p->r;
	struct device_arg	 da;
	int			 ret = STORE_EIO;

	memset(&da, 0, sizeof(da));
	da.account_id = r->sess->account_id;
	da.pk = p->job->key->pk;
	da.job = p->job;
	if (p->job->worked && !r->bd->d.stopping)
		ret = store_txn_run(r->bd->d.store, device_txn, &da);
	if (ret == 0 && p->job->phone)
		phone_made(r, p->job);
	else if (ret == 0) {
		log_info("%s: %s made device password %u", r->peer,
		    r->sess->address, p->job->id);
		device_shown(r, p->job);
	} else
		bs_error(r, 503, "Service Unavailable", T_ERR_BUSY_TITLE,
		    T_ERR_BUSY_TEXT);
	account_pending_free(p);
}

/*
 * The one time the password is shown: this answer to the POST, never
 * stored (no-store, and nothing of it in the cookie).
 */
static void
device_shown(struct bs_req *r, const struct device_job *job)
{
	struct evbuffer	*b;
	const char	*args[2] = { job->name, r->sess->address };

	b = html_begin(r, T_ACCT_DEV_NEW_TITLE);
	evbuffer_add_printf(b, "<p>");
	html_text(b, r, T_ACCT_DEV_NEW_TEXT, args, 2);
	evbuffer_add_printf(b, "</p>\n<p class=\"secret\"><code "
	    "id=\"device-password\">");
	html_escape(b, job->pw);
	evbuffer_add_printf(b, "</code></p>\n");
	html_para(b, r, T_ACCT_DEV_NEW_ONCE, NULL);
	evbuffer_add_printf(b, "<p><a href=\"/account\" id=\"back\">");
	html_text(b, r, T_ACCT_DEV_BACK, NULL, 0);
	evbuffer_add_printf(b, "</a></p>\n");
	html_end(r, b, 200, "OK");
}

/*
 * The phone's password goes into its one-time link, not onto a page:
 * the profile behind the link carries it.
 */
static void
phone_made(struct bs_req *r, struct device_job *job)
{
	char	 path[PHONE_PATH_MAX];

	if (phone_link_add(r->bd, r->sess->account_id, r->sess->address,
	    job->id, &job->pw, job->pwlen, path) == -1) {
		account_device_revoke(r->bd, r->sess->account_id, job->id);
		bs_error(r, 503, "Service Unavailable", T_ERR_BUSY_TITLE,
		    T_ERR_BUSY_TEXT);
		return;
	}
	log_info("%s: %s made device password %u for a phone's profile link",
	    r->peer, r->sess->address, job->id);
	phone_link_shown(r, path, account_back(r));
}

void
account_device_revoke(struct bootstrapd *bd, uint64_t account_id,
    uint32_t device_id)
{
	struct account_txn	 at;
	int			 ret;

	memset(&at, 0, sizeof(at));
	at.id = account_id;
	at.write = 1;
	at.change = ACCOUNT_REVOKE;
	at.device_id = device_id;
	/* Gone, disabled or re-invited meanwhile: nothing left to revoke. */
	ret = store_txn_run(bd->d.store, account_txn, &at);
	if (ret != 0 && ret != STORE_ENOTFOUND && ret != STORE_ESTATE)
		log_warnx("revoking the unused device password %u of account "
		    "%llu: %s", device_id, (unsigned long long)account_id,
		    store_strerror(ret));
	store_account_clear(&at.acct);
}

/* "iPhone profile 2026-12-07 10:30", in the page's language (UTC). */
static void
phone_job_name(struct bs_req *r, struct device_job *job)
{
	char		 when[32];
	struct tm	 tm;
	time_t		 now = time(NULL);

	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M", &tm);
	snprintf(job->name, sizeof(job->name), "%s %s",
	    text_get(r->lang, T_PHONE_DEVICE_NAME), when);
	job->phone = 1;
}

void
account_phone_post(struct bs_req *r)
{
	struct bs_pending	*p;

	if ((p = account_again(r, PENDING_PHONE)) == NULL)
		return;
	p->job = xcalloc(1, sizeof(*p->job));
	phone_job_name(&p->r, p->job);
}

/* From the success page: its session has the address, not yet a key. */
void
done_phone_post(struct bs_req *r)
{
	struct bs_pending	*p;
	const char		*pw;
	size_t			 pwlen = 0;

	if (r->sess->state != SESSION_DONE) {
		bs_redirect(r, "/");
		return;
	}
	pw = bs_form_get(&r->form, "password", &pwlen);
	if (pw == NULL || pwlen > BS_MAX_PASSWORD || r->bd->d.auth == NULL ||
	    r->bd->workq == NULL) {
		bs_form_refused(r, T_ACCT_WRONG, "/done");
		return;
	}
	p = account_defer(r, r->sess->address, pw, pwlen, PENDING_PHONE);
	p->job = xcalloc(1, sizeof(*p->job));
	phone_job_name(&p->r, p->job);
}

/* A name is one line of printable text; what the guest calls the device. */
static int
device_name_ok(const char *s, size_t len)
{
	size_t	 i;

	if (len == 0 || len > STORE_DEVICE_NAME_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

void
account_device_post(struct bs_req *r)
{
	struct bs_pending	*p;
	const char		*name;
	size_t			 nlen = 0;

	name = bs_form_get(&r->form, "name", &nlen);
	if (r->sess->state == SESSION_ACCOUNT &&
	    (name == NULL || !device_name_ok(name, nlen))) {
		bs_form_refused(r, T_ACCT_DEV_NAME, "/account");
		return;
	}
	if ((p = account_again(r, PENDING_DEVICE)) == NULL)
		return;
	p->job = xcalloc(1, sizeof(*p->job));
	memcpy(p->job->name, name, nlen);
	p->job->name[nlen] = '\0';
}
