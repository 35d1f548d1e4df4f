/*
 * invite.c: what create and reinvite share: a token, a PIN, a fresh key
 * pair wrapped under the token.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "pgp.h"
#include "provision.h"
#include "util.h"
#include "xmalloc.h"

/* What --pin DIGITS takes; pin_length in guestbox.conf(5) has the same range. */
#define INVITE_PIN_MIN	4
#define INVITE_PIN_MAX	12

int
invite_prepare(struct provision *pv, const char *pinmode,
    const char *inviter_fpr, struct invite *inv)
{
	const struct conf	*cf = pv->conf;
	char			*tok, why[512];
	size_t			 i, n;

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
			provision_errx(pv, "--pin takes auto, none, or 4 to 12 "
			    "digits");
			return EX_USAGE;
		}
		memcpy(inv->pin, pinmode, n + 1);
	}
	if (inv->pin[0] != '\0') {
		/* The verifier resists offline guessing as far as 6 digits can. */
		inv->pin_verifier = xmalloc(crypto_pwhash_STRBYTES);
		if (crypto_pwhash_str(inv->pin_verifier, inv->pin,
		    strlen(inv->pin), cf->kdf_opslimit,
		    (size_t)cf->kdf_memlimit) != 0) {
			provision_errx(pv, "hashing the PIN failed (out of "
			    "memory?)");
			invite_clear(inv);
			return EX_OSERR;
		}
		/* The sender may ask for it later: only they can read it. */
		if (pgp_encrypt_armor(inviter_fpr, inv->pin, strlen(inv->pin),
		    &inv->pin_armored, why, sizeof(why)) == -1) {
			provision_errx(pv, "%s", why);
			invite_clear(inv);
			return EX_DATAERR;
		}
	} else {
		inv->pin_verifier = xstrdup("");
		inv->pin_armored = xstrdup("");
	}
	vault_token_new(inv->token);
	tok = b64url_encode(inv->token, sizeof(inv->token));
	xasprintf(&inv->link, "%s/i/%s", cf->public_url, tok);
	sodium_memzero(tok, strlen(tok));
	free(tok);
	return EX_OK;
}

void
invite_apply(struct provision *pv, const struct invite *inv,
    struct store_account *a, time_t now)
{
	a->invite_created = now;
	a->invite_expires = now + (time_t)pv->conf->invite_days * 86400;
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

void
invite_print(struct provision *pv, const struct store_account *a,
    const struct invite *inv, long long removed)
{
	char	 buf[32];

	if (pv->json) {
		printf("{");
		json_key_str(stdout, "address", a->address, 1);
		json_key_str(stdout, "link", inv->link, 1);
		json_key_str(stdout, "pin", inv->pin, 1);
		if (removed >= 0)
			json_key_num(stdout, "messages_removed", removed, 1);
		json_key_time(stdout, "expires", a->invite_expires, 0);
		printf("}\n");
		return;
	}
	printf("address: %s\nlink:    %s\npin:     %s\nexpires: %s\n",
	    a->address, inv->link, inv->pin[0] != '\0' ? inv->pin : "(none)",
	    time_iso8601(a->invite_expires, buf, sizeof(buf)));
}
