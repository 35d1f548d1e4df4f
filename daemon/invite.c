/*
 * invite.c: what an invitation takes: a token and its link, a PIN (hashed
 * for the bootstrap page, encrypted to the inviter), the account's times.
 * guestbox-provision (create, reinvite) and the gateway share it.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "invite.h"
#include "pgp.h"
#include "util.h"
#include "xmalloc.h"

enum invite_error
invite_prepare(const struct conf *cf, const char *pinmode,
    const char *inviter_fpr, struct invite *inv, char *why, size_t whylen)
{
	enum invite_error	 ie;
	char			*tok;

	if ((ie = invite_pin_prepare(cf, pinmode, inviter_fpr, inv, why,
	    whylen)) != INVITE_OK)
		return ie;
	vault_token_new(inv->token);
	tok = b64url_encode(inv->token, sizeof(inv->token));
	xasprintf(&inv->link, "%s/i/%s", cf->public_url, tok);
	sodium_memzero(tok, strlen(tok));
	free(tok);
	return INVITE_OK;
}

enum invite_error
invite_pin_prepare(const struct conf *cf, const char *pinmode,
    const char *inviter_fpr, struct invite *inv, char *why, size_t whylen)
{
	size_t	 i, n;

	memset(inv, 0, sizeof(*inv));
	if (strcmp(pinmode, "none") == 0)
		inv->pin[0] = '\0';
	else if (strcmp(pinmode, "auto") == 0) {
		for (i = 0; i < cf->pin_length; i++)
			inv->pin[i] = (char)('0' + randombytes_uniform(10));
		inv->pin[i] = '\0';
	} else {
		n = strlen(pinmode);
		if (n < INVITE_PIN_MIN || n > INVITE_PIN_MAX ||
		    strspn(pinmode, "0123456789") != n) {
			snprintf(why, whylen, "--pin takes auto, none, or 4 to "
			    "12 digits");
			return INVITE_EPINMODE;
		}
		memcpy(inv->pin, pinmode, n + 1);
	}
	if (inv->pin[0] != '\0') {
		/* The verifier resists offline guessing as far as 6 digits can. */
		inv->pin_verifier = xmalloc(crypto_pwhash_STRBYTES);
		if (crypto_pwhash_str(inv->pin_verifier, inv->pin,
		    strlen(inv->pin), cf->kdf_opslimit,
		    (size_t)cf->kdf_memlimit) != 0) {
			snprintf(why, whylen, "hashing the PIN failed (out of "
			    "memory?)");
			invite_clear(inv);
			return INVITE_ENOMEM;
		}
		/* The sender may ask for it later: only they can read it. */
		if (pgp_encrypt_armor(inviter_fpr, inv->pin, strlen(inv->pin),
		    &inv->pin_armored, why, whylen) == -1) {
			invite_clear(inv);
			return INVITE_EKEY;
		}
	} else {
		inv->pin_verifier = xstrdup("");
		inv->pin_armored = xstrdup("");
	}
	return INVITE_OK;
}

void
invite_apply(const struct conf *cf, const struct invite *inv,
    struct store_account *a, time_t now)
{
	a->invite_created = now;
	a->invite_expires = now + (time_t)cf->invite_days * 86400;
	a->pin_failures = 0;
	free(a->pin_verifier);
	free(a->pin_armored);
	a->pin_verifier = xstrdup(inv->pin_verifier);
	a->pin_armored = xstrdup(inv->pin_armored);
}

void
invite_clear(struct invite *inv)
{
	free(inv->link);
	free(inv->pin_verifier);
	free(inv->pin_armored);
	sodium_memzero(inv, sizeof(*inv));
}
