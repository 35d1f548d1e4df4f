/*
 * activate.h: the one-time step from invitation to active mailbox, shared
 * by guestbox-bootstrapd (the password form) and the test tools.
 */
#ifndef GUESTBOX_ACTIVATE_H
#define GUESTBOX_ACTIVATE_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "store.h"

enum activate_result {
	ACTIVATE_OK,
	ACTIVATE_INVALID,	/* unknown, used, expired, locked or not pending */
	ACTIVATE_PIN_WRONG,	/* PIN given and wrong (attempt counted) */
	ACTIVATE_PIN_LOCKED,	/* too many wrong PINs */
	ACTIVATE_ERROR,		/* storage or memory trouble: try again */
};

/*
 * Checks a token without using it; with pin non-NULL also the PIN, whose
 * failures are counted (and lock the invitation at pin_attempts).
 * *has_pinp (may be NULL) says whether the invitation has a PIN.
 */
enum activate_result activate_check(struct store *, const struct conf *,
	    const uint8_t token[32], const char *pin, int *has_pinp,
	    char *address, size_t addrlen);

/*
 * Sets the password, in one transaction: unwrap the secret key with the
 * token, wrap it under the Argon2id key of the password, store the
 * verifier, drop the token, set the mailbox active.  A PIN, if the
 * invitation has one, must be given again (the form carries no state the
 * client could forge).  Of two concurrent calls exactly one succeeds.
 * address (addrlen bytes, may be NULL) gets the mailbox's address.
 */
enum activate_result activate_password(struct store *, const struct conf *,
	    const uint8_t token[32], const char *pin, const char *password,
	    char *address, size_t addrlen);

#endif
