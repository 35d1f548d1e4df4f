/*
 * pubkeys.h: the GnuPG home as a cache of the public keys in the store.
 *
 * The store holds every key a mailbox needs (a correspondent's key in
 * its sealed record, an admin's key in pubkeys.db: store.h); the GnuPG
 * home holds copies for gpg.  pubkeys_restore() imports what the home
 * lacks (after it was removed, or on another site of a replication
 * group) and gives old correspondent records their key; pubkeys_prune()
 * removes keys that no account and no admin needs any more, with gpg's
 * backup pubring.kbx~ that still holds them.  Both run gpg; call them
 * off event loops, after pgp_init().
 */
#ifndef GUESTBOX_PUBKEYS_H
#define GUESTBOX_PUBKEYS_H

#include <stddef.h>

struct store;

/* 0, or -1 with a reason; *importedp (may be NULL) keys imported. */
int	pubkeys_restore(struct store *, size_t *importedp, char *why,
	    size_t whylen);
/* 0, or -1 with a reason; *removedp (may be NULL) keys removed. */
int	pubkeys_prune(struct store *, size_t *removedp, char *why,
	    size_t whylen);
/*
 * Imports the keys of buf into the home and records them as an admin's
 * in the store (kept until the store is removed); their number in *np,
 * the first fingerprint in fpr.  0, or -1 with a reason.
 */
int	pubkeys_pin(struct store *, const char *file, const char *buf,
	    size_t len, char *fpr, size_t fprlen, size_t *np, char *why,
	    size_t whylen);

#endif
