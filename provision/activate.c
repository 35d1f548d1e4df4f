/*
 * activate.c: invitation checks and the password set-up.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "activate.h"
#include "log.h"
#include "mime-seal.h"
#include "rfc5322.h"
#include "util.h"
#include "xmalloc.h"

struct activate;

static int	activate_corr_txn(struct store_txn *, void *);
static int	activate_welcome_txn(struct store_txn *,
		    const struct activate *, uint64_t);

struct activate {
	const struct conf	*conf;
	uint8_t			 token_id[32];
	const uint8_t		*token;
	const char		*pin;
	int			 pin_ok;	/* verified outside the txn */
	int			 has_pin;
	int			 count_failure;
	struct store_account	 acct;
	/* For the password step, computed before the transaction. */
	struct vault_kdf	 kdf;
	uint8_t			*pw_kek;
	uint8_t			 verifier[VAULT_VERIFIERBYTES];
	/* The welcome message, sealed before the transaction. */
	struct store_blob	*welcome;
	enum activate_result	 result;
};

/* Usable: pending, not expired, not locked. */
static int
activate_usable(const struct activate *ac, time_t now)
{
	const struct store_account *a = &ac->acct;

	return a->state == STORE_ACCT_PENDING && store_account_has_invite(a) &&
	    a->kek_kind == VAULT_KEK_TOKEN && now < a->invite_expires;
}

static int
activate_locked(const struct activate *ac)
{
	return ac->acct.pin_verifier[0] != '\0' &&
	    ac->acct.pin_failures >= ac->conf->pin_attempts;
}

static int
activate_lookup_txn(struct store_txn *txn, void *arg)
{
	struct activate	*ac = arg;

	return store_account_find_token(txn, ac->token_id, &ac->acct);
}

/* Counts a wrong PIN; the record is re-read so counts never get lost. */
static int
activate_count_txn(struct store_txn *txn, void *arg)
{
	struct activate		*ac = arg;
	struct store_account	 a;
	int			 ret;

	memset(&a, 0, sizeof(a));
	if ((ret = store_account_find_token(txn, ac->token_id, &a)) != 0)
		return ret;
	if (a.pin_failures < UINT32_MAX)
		a.pin_failures++;
	ret = store_account_update(txn, &a);
	store_account_clear(&a);
	return ret;
}

/*
 * Fills *ac for the token, looks it up and checks the PIN (Argon2id:
 * outside any txn); pin NULL checks the token alone.
 */
static enum activate_result
activate_prepare(struct store *st, const struct conf *cf,
    const uint8_t token[32], const char *pin, struct activate *ac)
{
	uint8_t		*kek;
	int		 ret;

	memset(ac, 0, sizeof(*ac));
	ac->conf = cf;
	ac->token = token;
	ac->pin = pin;
	kek = xsecret_alloc(VAULT_KEYBYTES);
	vault_token_derive(ac->token, ac->token_id, kek);
	xsecret_free(kek);
	ret = store_txn_run(st, activate_lookup_txn, ac);
	if (ret == STORE_ENOTFOUND)
		return ACTIVATE_INVALID;
	if (ret != 0)
		return ACTIVATE_ERROR;
	if (!activate_usable(ac, time(NULL)))
		return ACTIVATE_INVALID;
	ac->has_pin = ac->acct.pin_verifier[0] != '\0';
	if (!ac->has_pin)
		return ACTIVATE_OK;
	if (activate_locked(ac))
		return ACTIVATE_PIN_LOCKED;
	if (ac->pin == NULL)
		return ACTIVATE_OK;
	/* crypto_pwhash_str_verify compares in constant time. */
	if (crypto_pwhash_str_verify(ac->acct.pin_verifier, ac->pin,
	    strlen(ac->pin)) == 0) {
		ac->pin_ok = 1;
		return ACTIVATE_OK;
	}
	if (store_txn_run(st, activate_count_txn, ac) != 0)
		return ACTIVATE_ERROR;
	return ac->acct.pin_failures + 1 >= ac->conf->pin_attempts ?
	    ACTIVATE_PIN_LOCKED : ACTIVATE_PIN_WRONG;
}

static void
activate_address(const struct activate *ac, char *address, size_t addrlen)
{
	if (address != NULL && addrlen > 0)
		snprintf(address, addrlen, "%s", ac->acct.address != NULL ?
		    ac->acct.address : "");
}

enum activate_result
activate_check(struct store *st, const struct conf *cf, const uint8_t token[32],
    const char *pin, int *has_pinp, unsigned *attempts_leftp, char *address,
    size_t addrlen)
{
	struct activate		 ac;
	enum activate_result	 r;
	uint64_t		 used;

	r = activate_prepare(st, cf, token, pin, &ac);
	if (has_pinp != NULL)
		*has_pinp = ac.has_pin;
	if (attempts_leftp != NULL) {
		/* The count read before a wrong PIN was added to it. */
		used = (uint64_t)ac.acct.pin_failures +
		    (r == ACTIVATE_PIN_WRONG || r == ACTIVATE_PIN_LOCKED ?
		    pin != NULL : 0);
		*attempts_leftp = used >= cf->pin_attempts ? 0 :
		    (unsigned)(cf->pin_attempts - used);
	}
	activate_address(&ac, address, addrlen);
	store_account_clear(&ac.acct);
	sodium_memzero(&ac, sizeof(ac));
	return r;
}

static int
activate_password_txn(struct store_txn *txn, void *arg)
{
	struct activate		*ac = arg;
	struct store_account	 a;
	struct vault_seckey	*sk;
	uint8_t			*kek;
	int			 ret;

	memset(&a, 0, sizeof(a));
	ac->result = ACTIVATE_INVALID;
	/* The other submit may have won: then the token is gone. */
	ret = store_account_find_token(txn, ac->token_id, &a);
	if (ret == STORE_ENOTFOUND)
		return STORE_ESTATE;
	if (ret != 0)
		return ret;
	if (a.id != ac->acct.id || a.state != STORE_ACCT_PENDING ||
	    a.kek_kind != VAULT_KEK_TOKEN || store_txn_now(txn) >= a.invite_expires ||
	    (a.pin_verifier[0] != '\0' && a.pin_failures >= ac->conf->pin_attempts)) {
		store_account_clear(&a);
		return STORE_ESTATE;
	}
	kek = xsecret_alloc(VAULT_KEYBYTES);
	vault_token_derive(ac->token, ac->token_id, kek);
	sk = vault_unwrap(a.id, a.pk, kek, VAULT_KEK_TOKEN, a.wrapped_sk);
	xsecret_free(kek);
	if (sk == NULL) {
		log_warnx("activate: %s: the token does not open the key",
		    a.address);
		store_account_clear(&a);
		return STORE_EDENIED;
	}
	vault_wrap(sk, ac->pw_kek, VAULT_KEK_PASSWORD, a.wrapped_sk);
	vault_seckey_free(&sk);
	a.kek_kind = VAULT_KEK_PASSWORD;
	a.kdf = ac->kdf;
	memcpy(a.pw_verifier, ac->verifier, sizeof(a.pw_verifier));
	/* The invitation is used up: token, PIN and its copies go. */
	sodium_memzero(a.token_id, sizeof(a.token_id));
	free(a.pin_verifier);
	free(a.pin_armored);
	a.pin_verifier = xstrdup("");
	a.pin_armored = xstrdup("");
	a.pin_failures = 0;
	a.state = STORE_ACCT_ACTIVE;
	a.activated = store_txn_now(txn);
	a.last_activity = a.activated;
	ret = store_account_update(txn, &a);
	if (ret == 0)
		ret = activate_welcome_txn(txn, ac, a.id);
	store_account_clear(&a);
	if (ret == 0)
		ac->result = ACTIVATE_OK;
	return ret;
}

/*
 * The welcome message goes in with the activation, in its transaction:
 * once, and never without it.  A full mailbox (mail delivered while the
 * invitation was open) keeps the activation and goes without.
 */
static int
activate_welcome_txn(struct store_txn *txn, const struct activate *ac,
    uint64_t account_id)
{
	struct store_mailbox	 inbox;
	int			 ret;

	if (ac->welcome == NULL)
		return 0;
	memset(&inbox, 0, sizeof(inbox));
	if ((ret = store_mailbox_find(txn, account_id, STORE_INBOX,
	    &inbox)) != 0)
		return ret;
	/* Dated like the account, so that it sorts first by date. */
	ret = store_msg_append(txn, account_id, inbox.id, ac->welcome, 0, 0,
	    ac->acct.created, NULL);
	store_mailbox_clear(&inbox);
	if (ret == STORE_ELIMIT) {
		log_info("activate: %s: no welcome message, the mailbox is "
		    "full", ac->acct.address);
		ret = 0;
	}
	return ret;
}

/* Enough for the addresses a guest is shown; more are left out. */
#define ACTIVATE_CORR_MAX	4096

struct activate_corr {
	uint64_t	 id;
	const char	*address;	/* or NULL: id is known */
	char		*buf;
};

static int
activate_corr_txn(struct store_txn *txn, void *arg)
{
	struct activate_corr	*ca = arg;
	struct store_account	 a;
	int			 ret;

	if (ca->address != NULL) {
		memset(&a, 0, sizeof(a));
		if ((ret = store_account_find(txn, ca->address, &a)) != 0)
			return ret;
		ca->id = a.id;
		store_account_clear(&a);
	}
	return store_corr_list(txn, ca->id, ca->buf, ACTIVATE_CORR_MAX, NULL);
}

/* The correspondents of account id (address NULL) or of address. */
static char *
activate_corr_list(struct store *st, uint64_t id, const char *address)
{
	struct activate_corr	 ca;

	memset(&ca, 0, sizeof(ca));
	ca.id = id;
	ca.address = address;
	ca.buf = xmalloc(ACTIVATE_CORR_MAX);
	if (store_txn_run(st, activate_corr_txn, &ca) != 0) {
		free(ca.buf);
		return NULL;
	}
	return ca.buf;
}

char *
activate_correspondents(struct store *st, const char *address)
{
	return activate_corr_list(st, 0, address);
}

char *
activate_welcome(const struct conf *cf, const char *address,
    const char *corr, int64_t created, uint64_t account_id, size_t *lenp)
{
	char		 date[RFC5322_DATE_MAX], *buf = NULL;
	FILE		*fp;

	rfc5322_date_format((time_t)created, 1, date, sizeof(date));
	if ((fp = open_memstream(&buf, lenp)) == NULL)
		fatal("open_memstream");
	/* RFC 5322 headers; RFC 2047 for the Subject's umlaut. */
	fprintf(fp, "From: guestbox <%s>\r\n"
	    "To: <%s>\r\n"
	    "Subject: =?UTF-8?Q?=C3=9Cber_dieses_Postfach_/_About_this_mailbox?=\r\n"
	    "Date: %s\r\n"
	    "Message-ID: <welcome.%016llx@%s>\r\n"
	    "Auto-Submitted: auto-generated\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: 8bit\r\n"
	    "Content-Language: de, en\r\n"
	    "\r\n", cf->invite_from, address, date,
	    (unsigned long long)account_id, cf->hostname);
	fprintf(fp,
	    "(English below)\r\n"
	    "\r\n"
	    "Willkommen in Ihrem Postfach %s.\r\n"
	    "\r\n"
	    "Sie k\xc3\xb6nnen an diese Adressen schreiben: %s.\r\n"
	    "Jede Antwort an sie verschl\xc3\xbcsselt guestbox mit OpenPGP, bevor sie\r\n"
	    "diesen Server verl\xc3\xa4sst; nur der Empf\xc3\xa4nger kann sie lesen. Ihr\r\n"
	    "E-Mail-Programm muss daf\xc3\xbcr nichts tun: Dass es \"Verschl\xc3\xbcsseln\"\r\n"
	    "nicht anbietet (ausgegraut), ist richtig so. An andere Adressen\r\n"
	    "sendet dieses Postfach nicht.\r\n"
	    "\r\n"
	    "Die Nachrichten hier sind verschl\xc3\xbcsselt gespeichert; nur Ihr Passwort\r\n"
	    "\xc3\xb6" "ffnet sie. Das Passwort kann nicht ge\xc3\xa4ndert oder zur\xc3\xbc" "ckgesetzt\r\n"
	    "werden. Wird das Postfach %llu Tage lang nicht benutzt, wird es mit\r\n"
	    "allem Inhalt gel\xc3\xb6scht.\r\n"
	    "\r\n"
	    "Diese Nachricht enth\xc3\xa4lt nur diese Hinweise; Sie k\xc3\xb6nnen sie l\xc3\xb6schen.\r\n"
	    "\r\n"
	    "------------------------------------------------------------------------\r\n"
	    "\r\n"
	    "Welcome to your mailbox %s.\r\n"
	    "\r\n"
	    "You can write to these addresses: %s.\r\n"
	    "guestbox encrypts every reply to them with OpenPGP before it leaves\r\n"
	    "this server; only the recipient can read it. Your mail program need\r\n"
	    "not do anything for it: that it offers no \"Encrypt\" (greyed out) is\r\n"
	    "as it should be. This mailbox sends to no other addresses.\r\n"
	    "\r\n"
	    "The messages here are stored encrypted; only your password opens\r\n"
	    "them. The password cannot be changed or reset. If the mailbox is not\r\n"
	    "used for %llu days, it is deleted with everything in it.\r\n"
	    "\r\n"
	    "This message holds nothing but these notes; you may delete it.\r\n",
	    address, corr, (unsigned long long)cf->expire_days,
	    address, corr, (unsigned long long)cf->expire_days);
	if (fclose(fp) != 0)
		fatal("open_memstream");
	return buf;
}

enum activate_result
activate_password(struct store *st, const struct conf *cf,
    const uint8_t token[32], const char *pin, const char *password,
    unsigned flags, char *address, size_t addrlen)
{
	struct activate		 ac;
	enum activate_result	 r;
	char			*corr, *msg;
	size_t			 msglen;
	int			 ret;

	r = activate_prepare(st, cf, token, pin, &ac);
	activate_address(&ac, address, addrlen);
	if (r == ACTIVATE_OK && ac.has_pin && !ac.pin_ok)
		r = ACTIVATE_PIN_WRONG;
	if (r != ACTIVATE_OK)
		goto out;
	vault_kdf_new(&ac.kdf, cf->kdf_opslimit, cf->kdf_memlimit);
	ac.pw_kek = xsecret_alloc(VAULT_KEYBYTES);
	if (vault_kek_from_password(password, strlen(password), &ac.kdf,
	    ac.pw_kek, ac.verifier) == -1) {
		r = ACTIVATE_ERROR;
		goto out;
	}
	if ((flags & ACTIVATE_WELCOME) &&
	    (corr = activate_corr_list(st, ac.acct.id, NULL)) != NULL) {
		msg = activate_welcome(cf, ac.acct.address, corr,
		    ac.acct.created, ac.acct.id, &msglen);
		/* Sealed like any delivery: a retry must not redo the crypto. */
		ac.welcome = mime_seal(ac.acct.id, ac.acct.pk, msg, msglen);
		free(msg);
		free(corr);
	}
	ret = store_txn_run(st, activate_password_txn, &ac);
	store_blob_free(&ac.welcome);
	if (ret == STORE_ESTATE)
		r = ACTIVATE_INVALID;
	else if (ret != 0)
		r = ACTIVATE_ERROR;
	else
		r = ac.result;
out:
	xsecret_free(ac.pw_kek);
	store_account_clear(&ac.acct);
	sodium_memzero(&ac, sizeof(ac));
	return r;
}
