/*
 * activate.c: invitation checks and the password set-up.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "activate.h"
#include "log.h"
#include "xmalloc.h"

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

/* Looks up the token and checks the PIN (Argon2id: outside any txn). */
static enum activate_result
activate_prepare(struct store *st, struct activate *ac)
{
	uint8_t		*kek;
	int		 ret;

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
    const char *pin, int *has_pinp, char *address, size_t addrlen)
{
	struct activate		 ac;
	enum activate_result	 r;

	memset(&ac, 0, sizeof(ac));
	ac.conf = cf;
	ac.token = token;
	ac.pin = pin;
	r = activate_prepare(st, &ac);
	if (has_pinp != NULL)
		*has_pinp = ac.has_pin;
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
	store_account_clear(&a);
	if (ret == 0)
		ac->result = ACTIVATE_OK;
	return ret;
}

enum activate_result
activate_password(struct store *st, const struct conf *cf,
    const uint8_t token[32], const char *pin, const char *password,
    char *address, size_t addrlen)
{
	struct activate		 ac;
	enum activate_result	 r;
	int			 ret;

	memset(&ac, 0, sizeof(ac));
	ac.conf = cf;
	ac.token = token;
	ac.pin = pin;
	r = activate_prepare(st, &ac);
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
	ret = store_txn_run(st, activate_password_txn, &ac);
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
