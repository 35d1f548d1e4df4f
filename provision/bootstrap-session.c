/*
 * bootstrap-session.c: the session cookie and the CSRF tokens.
 *
 * The session lives in the cookie itself, sealed (XSalsa20-Poly1305) with
 * a key made when the process starts: the browser holds the invitation
 * token and the PIN it typed, but cannot read or change them, and the
 * server keeps no table that a flood of requests could fill.  A restart
 * ends every session; the link from the mail opens a new one, because
 * opening it changes nothing.
 *
 * A CSRF token is an HMAC of the form's name and the cookie, under a
 * second per-process key (OWASP's "HMAC based token" pattern), on top of
 * SameSite=Strict.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "bootstrap.h"
#include "log.h"
#include "xmalloc.h"

#define SESSION_VERSION	3
/*
 * version, state, expires, token, PIN, address, flash (2 bytes, 0 for
 * none): fixed, so lengths leak nothing.
 */
#define SESSION_FLASH_OFF	(58 + ADDR_MAX + 1)
#define SESSION_ACCT_OFF	(SESSION_FLASH_OFF + 2)
#define SESSION_PLAIN	(SESSION_ACCT_OFF + 8)
#define SESSION_SEALED	(crypto_secretbox_NONCEBYTES + \
			 crypto_secretbox_MACBYTES + SESSION_PLAIN)

static uint8_t	*session_seal_key;
static uint8_t	*session_csrf_key;

static const char *const session_state_names[SESSION_STATE_COUNT] = {
	[SESSION_NONE] = "none",
	[SESSION_TOKEN] = "token",
	[SESSION_PIN_OK] = "pin-ok",
	[SESSION_DONE] = "done",
	[SESSION_ACCOUNT_NEW] = "account-login",
	[SESSION_ACCOUNT] = "account",
};

void
session_init(void)
{
	session_seal_key = xsecret_alloc(crypto_secretbox_KEYBYTES);
	session_csrf_key = xsecret_alloc(crypto_auth_hmacsha256_KEYBYTES);
	randombytes_buf(session_seal_key, crypto_secretbox_KEYBYTES);
	randombytes_buf(session_csrf_key, crypto_auth_hmacsha256_KEYBYTES);
}

struct session *
session_new(void)
{
	struct session	*s;

	s = xsecret_alloc(sizeof(*s));
	sodium_memzero(s, sizeof(*s));
	s->flash = T_COUNT;
	return s;
}

void
session_free(struct session **sp)
{
	if (*sp == NULL)
		return;
	xsecret_free(*sp);
	*sp = NULL;
}

const char *
session_state_name(enum session_state st)
{
	if ((unsigned)st >= SESSION_STATE_COUNT)
		return "?";
	return session_state_names[st];
}

void
session_enter_state(struct session *s, enum session_state st, const char *why)
{
	log_debug("session %s -> %s (%s)", session_state_name(s->state),
	    session_state_name(st), why);
	s->state = st;
}

char *
session_seal(const struct session *s)
{
	uint8_t		*plain, sealed[SESSION_SEALED];
	uint64_t	 e = (uint64_t)s->expires;
	size_t		 alen;
	char		*out;
	int		 i;

	plain = xsecret_alloc(SESSION_PLAIN);
	sodium_memzero(plain, SESSION_PLAIN);
	plain[0] = SESSION_VERSION;
	plain[1] = (uint8_t)s->state;
	for (i = 0; i < 8; i++)
		plain[2 + i] = (uint8_t)(e >> (56 - 8 * i));
	memcpy(plain + 10, s->token, 32);
	memcpy(plain + 42, s->pin, 16);
	alen = strnlen(s->address, ADDR_MAX);
	memcpy(plain + 58, s->address, alen);
	if (s->flash < T_COUNT) {
		plain[SESSION_FLASH_OFF] = (uint8_t)((s->flash + 1) >> 8);
		plain[SESSION_FLASH_OFF + 1] = (uint8_t)(s->flash + 1);
	}
	for (i = 0; i < 8; i++)
		plain[SESSION_ACCT_OFF + i] = (uint8_t)(s->account_id >>
		    (56 - 8 * i));
	randombytes_buf(sealed, crypto_secretbox_NONCEBYTES);
	crypto_secretbox_easy(sealed + crypto_secretbox_NONCEBYTES, plain,
	    SESSION_PLAIN, sealed, session_seal_key);
	xsecret_free(plain);
	out = b64url_encode(sealed, sizeof(sealed));
	return out;
}

int
session_open(const char *value, time_t now, struct session *s)
{
	uint8_t		 sealed[SESSION_SEALED], *plain;
	uint64_t	 e = 0;
	unsigned	 flash;
	int		 i, ret = -1;

	if (value == NULL || b64url_decode(value, sealed, sizeof(sealed)) == -1)
		return -1;
	plain = xsecret_alloc(SESSION_PLAIN);
	if (crypto_secretbox_open_easy(plain, sealed + crypto_secretbox_NONCEBYTES,
	    sizeof(sealed) - crypto_secretbox_NONCEBYTES, sealed,
	    session_seal_key) != 0)
		goto out;
	if (plain[0] != SESSION_VERSION || plain[1] == SESSION_NONE ||
	    plain[1] >= SESSION_STATE_COUNT)
		goto out;
	for (i = 0; i < 8; i++)
		e = (e << 8) | plain[2 + i];
	if ((int64_t)e <= (int64_t)now)
		goto out;
	s->state = (enum session_state)plain[1];
	s->expires = (int64_t)e;
	memcpy(s->token, plain + 10, 32);
	memcpy(s->pin, plain + 42, 16);
	s->pin[sizeof(s->pin) - 1] = '\0';
	memcpy(s->address, plain + 58, ADDR_MAX);
	s->address[ADDR_MAX] = '\0';
	flash = (unsigned)plain[SESSION_FLASH_OFF] << 8 |
	    plain[SESSION_FLASH_OFF + 1];
	s->flash = flash == 0 || flash > T_COUNT ? T_COUNT :
	    (enum text_id)(flash - 1);
	s->account_id = 0;
	for (i = 0; i < 8; i++)
		s->account_id = (s->account_id << 8) |
		    plain[SESSION_ACCT_OFF + i];
	ret = 0;
out:
	xsecret_free(plain);
	return ret;
}

static void
session_csrf_mac(const char *cookie, const char *form,
    uint8_t mac[crypto_auth_hmacsha256_BYTES])
{
	crypto_auth_hmacsha256_state	 st;

	crypto_auth_hmacsha256_init(&st, session_csrf_key,
	    crypto_auth_hmacsha256_KEYBYTES);
	/* The NUL separates form and cookie: no two pairs give one input. */
	crypto_auth_hmacsha256_update(&st, (const uint8_t *)form,
	    strlen(form) + 1);
	crypto_auth_hmacsha256_update(&st, (const uint8_t *)cookie,
	    strlen(cookie));
	crypto_auth_hmacsha256_final(&st, mac);
}

char *
session_csrf(const char *cookie, const char *form)
{
	uint8_t	 mac[crypto_auth_hmacsha256_BYTES];

	session_csrf_mac(cookie != NULL ? cookie : "", form, mac);
	return b64url_encode(mac, sizeof(mac));
}

int
session_csrf_check(const char *cookie, const char *form, const char *given)
{
	uint8_t	 mac[crypto_auth_hmacsha256_BYTES];
	uint8_t	 got[crypto_auth_hmacsha256_BYTES];

	if (cookie == NULL || given == NULL ||
	    b64url_decode(given, got, sizeof(got)) == -1)
		return 0;
	session_csrf_mac(cookie, form, mac);
	return sodium_memcmp(mac, got, sizeof(mac)) == 0;
}
