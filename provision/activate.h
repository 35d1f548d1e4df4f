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
 * *has_pinp (may be NULL) says whether the invitation has a PIN,
 * *attempts_leftp (may be NULL) how many wrong PINs it still takes
 * before it locks (after this one, if pin was given).
 */
enum activate_result activate_check(struct store *, const struct conf *,
	    const uint8_t token[32], const char *pin, int *has_pinp,
	    unsigned *attempts_leftp, char *address, size_t addrlen);

/* activate_password() also files the welcome message into INBOX. */
#define ACTIVATE_WELCOME	0x01

/*
 * Sets the password, in one transaction: unwrap the secret key with the
 * token, wrap it under the Argon2id key of the password, store the
 * verifier, drop the token, set the mailbox active and, with
 * ACTIVATE_WELCOME, file the welcome message.  A PIN, if the invitation
 * has one, must be given again (the form carries no state the client
 * could forge).  Of two concurrent calls exactly one succeeds.  address
 * (addrlen bytes, may be NULL) gets the mailbox's address.
 */
enum activate_result activate_password(struct store *, const struct conf *,
	    const uint8_t token[32], const char *pin, const char *password,
	    unsigned flags, char *address, size_t addrlen);

/*
 * The addresses the mailbox can write to (its correspondents), joined by
 * ", " (caller frees); NULL if the account is not found or on a storage
 * error.
 */
char	*activate_correspondents(struct store *, const char *address);

/*
 * The "about this mailbox" message that activate_password() files into
 * INBOX, in German and English: content-free (no one's mail, only how
 * the mailbox works), naming correspondents.  For tests; caller frees.
 */
char	*activate_welcome(const struct conf *, const char *address,
	    const char *correspondents, int64_t created, uint64_t account_id,
	    size_t *lenp);

#endif
