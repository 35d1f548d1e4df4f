/*
 * bootstrap.h: guestbox-bootstrapd, the web page that turns an invitation
 * link into an active mailbox.  Internal to the program: one file per page
 * family (bootstrap-invite.c, -pin.c, -password.c, -done.c, -profile.c,
 * -static.c), the route table (bootstrap-routes.c), HTTP plumbing
 * (bootstrap-http.c), the sealed session cookie (bootstrap-session.c), the
 * per-address throttle (bootstrap-throttle.c), HTML output
 * (bootstrap-html.c) and every text in both languages (bootstrap-text.c).
 */
#ifndef GUESTBOX_BOOTSTRAP_H
#define GUESTBOX_BOOTSTRAP_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "conf.h"
#include "daemon.h"
#include "util.h"

/* Request limits: a form here is a few short fields. */
#define BS_MAX_HEADERS		8192	/* evhttp_set_max_headers_size */
#define BS_MAX_BODY_HTTP	65536	/* evhttp's own cut-off */
#define BS_MAX_FORM		4096	/* what a form may hold */
#define BS_MAX_FIELDS		8
#define BS_MAX_PASSWORD		1024	/* bytes */
#define BS_MAX_COOKIE		2048	/* one cookie value */
#define BS_HTTP_TIMEOUT		30	/* seconds per request */

/* How long a session cookie lives (seconds). */
#define BS_SESSION_INVITE	1800	/* from the link to the password */
#define BS_SESSION_DONE		900	/* success page and profile */
#define BS_SESSION_ACCOUNT	900	/* the guest's page, after login */
#define BS_PHONE_LINKS_MAX	64	/* such links waiting, in all */

/* ---------------------------------------------------------------- */
/* Texts (bootstrap-text.c)                                           */
/* ---------------------------------------------------------------- */

enum bs_lang {
	LANG_EN,
	LANG_DE,
	LANG_COUNT,
};

enum text_id {
	T_LANG_CODE,
	T_LANG_NAME,
	T_SWITCH_LABEL,
	T_SITE,
	T_SKIP,
	/* neutral page */
	T_INVALID_TITLE,
	T_INVALID_TEXT,
	T_INVALID_HINT,
	/* PIN */
	T_PIN_TITLE,
	T_PIN_INTRO,
	T_PIN_NONE,
	T_PIN_LABEL,
	T_PIN_SUBMIT,
	T_PIN_WRONG,
	T_PIN_FORMAT,
	T_PIN_SHORT,
	T_PIN_LONG,
	T_PIN_LEFT_ONE,
	T_PIN_LEFT_MANY,
	/* a locked invitation */
	T_LOCKED_TITLE,
	T_LOCKED_TEXT,
	T_LOCKED_HINT,
	/* password */
	T_PW_TITLE,
	T_PW_INTRO,
	T_PW_WARNING_HEAD,
	T_PW_WARNING,
	T_PW_USER_LABEL,
	T_PW_LABEL,
	T_PW_LABEL2,
	T_PW_HINT,
	T_PW_SUBMIT,
	T_PW_MISMATCH,
	T_PW_SHORT,
	T_PW_LONG,
	T_PW_COMMON,
	T_PW_FEW_CHARS,
	T_PW_ADDRESS,
	T_PW_BAD_CHARS,
	/* success */
	T_DONE_TITLE,
	T_DONE_INTRO,
	T_DONE_ENCRYPTED,
	T_DONE_CORR_UNKNOWN,
	T_DONE_SETTINGS,
	T_DONE_INCOMING,
	T_DONE_OUTGOING,
	T_DONE_SERVER,
	T_DONE_PORT,
	T_DONE_SECURITY,
	T_DONE_USER,
	T_DONE_AUTH,
	T_DONE_AUTH_NORMAL,
	T_DONE_SEC_TLS,
	T_DONE_SEC_STARTTLS,
	T_DONE_PASSWORD_NOTE,
	T_DONE_TB_HEAD,
	T_DONE_TB_1,
	T_DONE_TB_2,
	T_DONE_TB_3,
	T_DONE_TB_4,
	T_DONE_APPLE_HEAD,
	T_DONE_APPLE_1,
	T_DONE_APPLE_2,
	T_DONE_APPLE_3,
	T_DONE_APPLE_LINK,
	T_DONE_APPLE_LATER,
	T_DONE_K9_HEAD,
	T_DONE_K9_1,
	T_DONE_K9_2,
	T_DONE_K9_3,
	T_DONE_FAIR_HEAD,
	T_DONE_FAIR_1,
	T_DONE_FAIR_2,
	T_DONE_FAIR_3,
	T_DONE_OTHER,
	T_DONE_FOLDERS,
	/* errors */
	T_ERR_CSRF_TITLE,
	T_ERR_CSRF_TEXT,
	T_ERR_SESSION_TITLE,
	T_ERR_SESSION_TEXT,
	T_ERR_THROTTLE_TITLE,
	T_ERR_THROTTLE_TEXT,
	T_ERR_BUSY_TITLE,
	T_ERR_BUSY_TEXT,
	T_ERR_NOTFOUND_TITLE,
	T_ERR_NOTFOUND_TEXT,
	T_ERR_METHOD_TITLE,
	T_ERR_METHOD_TEXT,
	T_ERR_TOOBIG_TITLE,
	T_ERR_TOOBIG_TEXT,
	T_ERR_BADFORM_TITLE,
	T_ERR_BADFORM_TEXT,
	T_START_AGAIN,
	/* the Apple profile */
	T_PROFILE_NAME,
	T_PROFILE_DESC,
	T_PROFILE_DESC_DEVICE,
	/* a phone's profile through a one-time link (bootstrap-phone.c) */
	T_PHONE_HEAD,
	T_PHONE_TEXT,
	T_PHONE_SUBMIT,
	T_PHONE_DEVICE_NAME,
	T_PHONE_TITLE,
	T_PHONE_SCAN,
	T_PHONE_ONCE,
	T_PHONE_QR_LABEL,
	T_PHONE_BACK,
	T_PHONE_GONE_TITLE,
	T_PHONE_GONE_TEXT,
	/* the guest's page (bootstrap-account.c) */
	T_ACCT_LOGIN_TITLE,
	T_ACCT_LOGIN_INTRO,
	T_ACCT_ADDRESS_LABEL,
	T_ACCT_PASSWORD_LABEL,
	T_ACCT_LOGIN_SUBMIT,
	T_ACCT_WRONG,
	T_ACCT_TITLE,
	T_ACCT_INTRO,
	T_ACCT_EXPIRES,
	T_ACCT_NOTICES_HEAD,
	T_ACCT_NOTICES_ON,
	T_ACCT_NOTICES_OFF,
	T_ACCT_NOTICES_DISABLE,
	T_ACCT_NOTICES_ENABLE,
	T_ACCT_LOCK_HEAD,
	T_ACCT_UNLOCKED,
	T_ACCT_LOCKED,
	T_ACCT_LOCK,
	T_ACCT_UNLOCK,
	T_ACCT_LOGOUT,
	T_ACCT_SAVED,
	T_ACCT_DEV_HEAD,
	T_ACCT_DEV_TEXT,
	T_ACCT_DEV_NONE,
	T_ACCT_DEV_REVOKE,
	T_ACCT_DEV_NAME_LABEL,
	T_ACCT_DEV_SUBMIT,
	T_ACCT_DEV_NAME,
	T_ACCT_DEV_FULL,
	T_ACCT_DEV_NEW_TITLE,
	T_ACCT_DEV_NEW_TEXT,
	T_ACCT_DEV_NEW_ONCE,
	T_ACCT_DEV_BACK,
	T_ACCT_LOGINS_HEAD,
	T_ACCT_LOGINS_TEXT,
	T_ACCT_LOGINS_SUBMIT,
	T_ACCT_LOGINS_CAPTION,
	T_ACCT_LOGINS_WHEN,
	T_ACCT_LOGINS_PROTO,
	T_ACCT_LOGINS_FROM,
	T_ACCT_LOGINS_DEVICE,
	T_ACCT_LOGINS_IMAP,
	T_ACCT_LOGINS_SMTP,
	T_ACCT_LOGINS_PAGE,
	T_ACCT_LOGINS_MAIN,
	T_ACCT_MBOX_HEAD,
	T_ACCT_MBOX_TEXT,
	T_ACCT_MBOX_SUBMIT,
	/* a lost password (bootstrap-lost.c) */
	T_LOST_LINK,
	T_LOST_TITLE,
	T_LOST_PROMISE,
	T_LOST_GONE,
	T_LOST_HOW,
	T_LOST_SUBMIT,
	T_LOST_ASKED,
	T_LOST_DIRECT,
	T_LOST_BACK,
	T_DONE_LOST,
	T_COUNT,
};

const char	*text_get(enum bs_lang, enum text_id);
/* The best language for an Accept-Language header (RFC 9110 12.5.4). */
enum bs_lang	 text_negotiate(const char *accept_language);
/* "de" or "en" to a language; -1 if neither. */
int		 text_lang_parse(const char *);

/* ---------------------------------------------------------------- */
/* Sessions (bootstrap-session.c)                                     */
/* ---------------------------------------------------------------- */

/*
 * Where a browser is in the flow.  The state travels in the session
 * cookie, sealed with a key that never leaves this process.
 */
enum session_state {
	SESSION_NONE,		/* no (valid) cookie */
	SESSION_TOKEN,		/* the link was opened; PIN not yet given */
	SESSION_PIN_OK,		/* the PIN was right (or there is none) */
	SESSION_DONE,		/* activated: success page and profile */
	/* The guest's page, in its own cookie (SESSION_ACCOUNT_COOKIE). */
	SESSION_ACCOUNT_NEW,	/* at the login form (its CSRF token) */
	SESSION_ACCOUNT,	/* logged in with the main password */
	SESSION_STATE_COUNT,
};

/* Allocated with xsecret_alloc: it holds the token and the PIN. */
struct session {
	enum session_state	 state;
	int64_t			 expires;
	uint8_t			 token[32];
	char			 pin[16];
	char			 address[ADDR_MAX + 1];
	uint64_t		 account_id;	/* SESSION_ACCOUNT */
	/*
	 * The error of a refused form (T_COUNT: none), shown once by the
	 * GET its POST redirects to (POST/redirect/GET: Back and reload
	 * never resend a form).
	 */
	enum text_id		 flash;
};

#define SESSION_COOKIE		"__Host-guestbox"
#define SESSION_LANG_COOKIE	"__Host-guestbox-lang"
#define SESSION_ACCOUNT_COOKIE	"__Host-guestbox-account"

void		 session_init(void);		/* per-process keys */
struct session	*session_new(void);
void		 session_free(struct session **);
/* Opens a sealed cookie value; -1 if forged, garbled or expired. */
int		 session_open(const char *value, time_t now, struct session *);
/* Seals the session into a new cookie value (caller frees). */
char		*session_seal(const struct session *);
/* The one place a session changes state; logs old -> new. */
void		 session_enter_state(struct session *, enum session_state,
		    const char *why);
const char	*session_state_name(enum session_state);
/* The CSRF token of a form for this cookie value (caller frees). */
char		*session_csrf(const char *cookie_value, const char *form);
int		 session_csrf_check(const char *cookie_value, const char *form,
		    const char *given);

/* ---------------------------------------------------------------- */
/* Throttle (bootstrap-throttle.c)                                    */
/* ---------------------------------------------------------------- */

/*
 * bootstrap-limits.c: connections per client address and in all, and
 * the deadline for each request (bootstrap_max_connections,
 * bootstrap_max_connections_per_ip, bootstrap_request_timeout).
 * bs_limits_track: a new connection's bufferevent, from evhttp's bevcb;
 * per_ip: its peer is the client (not a reverse proxy).
 * bs_limits_answered: a request came whole; the next one is due anew.
 */
struct bs_limits;
struct bufferevent;
struct evconnlistener;
struct evhttp_request;
struct bs_limits *bs_limits_new(struct event_base *, const struct conf *);
void		 bs_limits_free(struct bs_limits **);
/* A listener of evhttp's, paused while new connections wait for a look. */
void		 bs_limits_listener(struct bs_limits *, struct evconnlistener *);
void		 bs_limits_track(struct bs_limits *, struct bufferevent *,
		    int per_ip);
void		 bs_limits_answered(struct bs_limits *, struct evhttp_request *);

struct throttle;

struct throttle	*throttle_new(uint64_t per_minute);
void		 throttle_free(struct throttle **);
/* Takes one attempt for addr; 0, or the seconds until the next one. */
unsigned	 throttle_take(struct throttle *, const char *addr,
		    uint64_t now_ms);

/* ---------------------------------------------------------------- */
/* The daemon and one request                                         */
/* ---------------------------------------------------------------- */

struct bs_listener;

/* A decoded form: names in plain memory, values in secret memory. */
struct bs_form {
	size_t			 nfields;
	char			*fname[BS_MAX_FIELDS];
	char			*fval[BS_MAX_FIELDS];
	size_t			 flen[BS_MAX_FIELDS];
};

struct bs_pending;
struct phone_link;

struct bootstrapd {
	struct daemon		 d;
	struct bs_pending	*pending;	/* requests waiting for auth */
	struct phone_link	*phone_links;	/* bootstrap-phone.c */
	size_t			 nphone_links;
	struct event		*phone_sweep;	/* while links wait */
	struct workq		*workq;		/* device passwords, lost ones */
	int			 pgp_ok;	/* GnuPG usable (pgp_init) */
	struct throttle		*throttle;
	struct bs_limits	*limits;
	struct bs_listener	*listeners;
	size_t			 nlisteners;
	int			 https_public;	/* public_url is https */
};

struct bs_req {
	struct bootstrapd	*bd;
	const struct conf	*conf;
	struct evhttp_request	*req;
	int			 tls;		/* came over our own TLS */
	int			 head;		/* HEAD: headers only */
	enum bs_lang		 lang;
	const char		*path;
	char			 peer[64];	/* client address, for throttling */
	const char		*cookie_name;	/* SESSION_COOKIE or _ACCOUNT_ */
	char			*cookie;	/* session cookie value or NULL */
	struct session		*sess;		/* opened from cookie */
	char			*set_cookie;	/* new session cookie value */
	int			 clear_cookie;
	struct bs_form		 form;		/* of a POST, decoded */
	/*
	 * The handler answers later (bootstrap-account.c, after Argon2id
	 * on the auth workers): it took everything r owns, and the
	 * dispatcher frees nothing.
	 */
	int			 deferred;
};

enum route_flags {
	ROUTE_THROTTLED = 0x01,	/* costs one attempt of the client address */
	ROUTE_FORM = 0x02,	/* POST with a form body and a CSRF token */
	ROUTE_PREFIX = 0x04,	/* path is a prefix (/i/TOKEN) */
	ROUTE_ACCOUNT = 0x08,	/* the guest's page: SESSION_ACCOUNT_COOKIE */
};

struct route {
	enum evhttp_cmd_type	 method;	/* GET also answers HEAD */
	const char		*path;
	unsigned		 flags;
	const char		*form;		/* CSRF form name */
	void			(*handler)(struct bs_req *);
};

extern const struct route	bs_routes[];
extern const size_t		bs_nroutes;

/* bootstrap-http.c */
void		 bs_reply(struct bs_req *, int code, const char *reason,
		    const char *content_type, struct evbuffer *body);
void		 bs_redirect(struct bs_req *, const char *location);
/* bs_reply's headers alone, for a reply sent in chunks. */
void		 bs_reply_headers(struct bs_req *, const char *content_type);
const char	*bs_header(struct bs_req *, const char *name);
/* Parses the request's body into r->form; -1 with a reason in why. */
int		 bs_form_parse(struct bs_req *, char *why, size_t whylen);
/* The session cookie to send: sealed value, or a deletion. */
void		 bs_session_save(struct bs_req *, const struct session *);
/* An error page of text ids, in the request's language. */
void		 bs_error(struct bs_req *, int code, const char *reason,
		    enum text_id title, enum text_id text);
/* The neutral page: unknown, expired and used links look alike. */
void		 bs_invalid(struct bs_req *);
/* The page of an invitation locked after wrong PINs: only an unlock is
 * needed, no new invitation. */
void		 bs_locked(struct bs_req *);
/* Keeps error for the next GET of the form and redirects there. */
void		 bs_form_refused(struct bs_req *, enum text_id error,
		    const char *location);
/*
 * 1 if the session is at step (the page's own state); else sends the
 * browser to the page of the step it is at, or the neutral page, and 0.
 */
int		 bs_step_applies(struct bs_req *, enum session_state step);
/*
 * The error page for what activate_check() said on a GET (busy, locked,
 * invalid) and 1; 0 for ACTIVATE_OK, nothing sent.  ar is an enum
 * activate_result (activate.h).
 */
int		 bs_check_refused(struct bs_req *, int ar);
/* The error a refused POST left for this GET (T_COUNT: none), once. */
enum text_id	 bs_flash_take(struct bs_req *);

/* bootstrap-form.c: no evhttp, reached by tests/fuzz/fuzz-http.c */
/* The value of cookie name in a Cookie header (caller frees), or NULL. */
char		*bs_cookie_get(const char *header, const char *name);
/* Decodes a form body of content type ct; -1 with a reason in why and
 * the form left empty. */
int		 bs_form_parse_body(struct bs_form *, const char *ct,
		    const char *body, size_t len, char *why, size_t whylen);
/* A field's value (borrowed from the form) and length, or NULL. */
const char	*bs_form_get(const struct bs_form *, const char *name,
		    size_t *lenp);
void		 bs_form_clear(struct bs_form *);

/* bootstrap-html.c */
struct evbuffer	*html_begin(struct bs_req *, enum text_id title);
/* Ends the page, sends it with code and reason, and frees it. */
void		 html_end(struct bs_req *, struct evbuffer *, int code,
		    const char *reason);
void		 html_escape(struct evbuffer *, const char *);
/* A text with {1} {2} ... replaced by args (all escaped). */
void		 html_text(struct evbuffer *, struct bs_req *, enum text_id,
		    const char *const *args, size_t nargs);
/* <p class=cls>text</p>, cls may be NULL. */
void		 html_para(struct evbuffer *, struct bs_req *, enum text_id,
		    const char *cls);
void		 html_csrf(struct evbuffer *, struct bs_req *, const char *form);
/*
 * A form's error (nothing for T_COUNT) as the alert the fields'
 * aria-describedby name ("error"), and the submit button ending a form.
 */
void		 html_form_error(struct evbuffer *, struct bs_req *,
		    enum text_id error, const char *const *args, size_t nargs);
/* A notice that a post was done: <p id=id role=status>text</p>. */
void		 html_notice(struct evbuffer *, struct bs_req *, const char *id,
		    enum text_id text);
void		 html_form_submit(struct evbuffer *, struct bs_req *,
		    enum text_id label);
void		 xml_escape(struct evbuffer *, const char *);
/* A form that asks for address's password again, for what needs the key. */
void		 html_password_form(struct evbuffer *, struct bs_req *,
		    const char *address, const char *action, const char *form,
		    const char *id, enum text_id submit);

/* bootstrap-password.c: the policy, also for tests */
enum text_id	 password_check(const char *pw, size_t len, const char *pw2,
		    size_t len2, const char *address, uint64_t min_length);

/* The pages */
void		 invite_get(struct bs_req *);
void		 start_get(struct bs_req *);
void		 pin_get(struct bs_req *);
void		 pin_post(struct bs_req *);
void		 password_get(struct bs_req *);
void		 password_post(struct bs_req *);
void		 done_get(struct bs_req *);
void		 profile_get(struct bs_req *);
void		 static_style_get(struct bs_req *);
void		 account_get(struct bs_req *);
void		 account_login_post(struct bs_req *);
void		 account_post(struct bs_req *);
void		 account_mbox_post(struct bs_req *);
void		 account_device_post(struct bs_req *);
void		 account_logins_post(struct bs_req *);
void		 account_phone_post(struct bs_req *);
void		 done_phone_post(struct bs_req *);
void		 phone_get(struct bs_req *);

/*
 * bootstrap-phone.c: the Apple profile through a one-time link, for a
 * device without the browser's cookie.  phone_link_add takes *pwp (the
 * device password made for it, in secret memory) and writes the link's
 * path ("/p/TOKEN") into path; -1 if too many links wait.
 */
#define PHONE_PATH_MAX	64
int		 phone_link_add(struct bootstrapd *, uint64_t account_id,
		    const char *address, uint32_t device_id, char **pwp,
		    size_t pwlen, char path[PHONE_PATH_MAX]);
/* The page with the link and its QR code; back: where "back" goes. */
void		 phone_link_shown(struct bs_req *, const char *path,
		    const char *back);
/* The section of the success page and the guest's page. */
void		 phone_section(struct evbuffer *, struct bs_req *,
		    const char *address, const char *action, const char *form);
/* SIGTERM, and links past their time: their unused passwords revoked. */
void		 phone_links_free(struct bootstrapd *);
/* bootstrap-account.c: the device password goes (a link unused). */
void		 account_device_revoke(struct bootstrapd *, uint64_t account_id,
		    uint32_t device_id);
/* bootstrap-profile.c: the profile for address; password may be NULL. */
void		 profile_send(struct bs_req *, const char *address,
		    const char *password);
void		 lost_get(struct bs_req *);
void		 lost_post(struct bs_req *);
/*
 * A fresh cookie of the guest's page (SESSION_ACCOUNT_NEW) for a form's
 * CSRF token, unless r has one (at the login form, or logged in).
 */
void		 account_form_session(struct bs_req *);
/*
 * bootstrap-mbox.c: streams the mailbox of r's session as mbox, its
 * messages decrypted with *keyp, which it takes (and wipes at the end).
 */
struct vault_seckey;
void		 mbox_stream_start(struct bs_req *, struct vault_seckey **keyp);
/* SIGTERM: the logins still hashing are answered 503 and dropped. */
void		 account_shutdown(struct bootstrapd *);

/* Settings for a mail client, from the config (bootstrap-done.c). */
struct client_settings {
	const char	*host;
	char		 imap_port[8];
	int		 imap_tls;	/* 1 implicit TLS, 0 STARTTLS */
	char		 smtp_port[8];
	int		 smtp_tls;
};
void		 client_settings_get(const struct conf *,
		    struct client_settings *);

#endif
