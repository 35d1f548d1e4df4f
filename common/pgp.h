/*
 * pgp.h: the GnuPG home in the state directory, through GPGME.
 *
 * It holds the public keys of correspondents: senders who created or
 * wrote to a mailbox, and keys an admin added.  Every operation starts a
 * gpg process (about 10 ms), so daemons keep these calls off their
 * event loops.
 */
#ifndef GUESTBOX_PGP_H
#define GUESTBOX_PGP_H

#include <stddef.h>

#define PGP_FPR_MAX	65	/* 40 hex digits (v4), 64 (v5) */

/*
 * Points GPGME at STATE_DIR/gnupg (created 0700), as the default of every
 * context made after; -1 on failure.  Call it before worker threads start.
 */
const char *pgp_home_dir(void);
int	pgp_init(const char *state_dir);

/*
 * Points a context at the GnuPG home home, unless that is the default
 * already (GPGME runs "gpg --version" whenever a context's home is set).
 * Returns 0, or -1 with a reason in why.
 */
struct gpgme_context;
int	pgp_ctx_set_home(struct gpgme_context *, const char *home, char *why,
	    size_t whylen);

/*
 * Encrypts in to out for the NULL-terminated keys (gpgme_op_encrypt's
 * arguments), driving GPGME from our own poll loop so that a gpg which
 * dies, or moves no byte for PGP_IDLE_SECONDS, ends the operation with
 * an error instead of blocking the calling thread; output without the
 * armor's tail is an error too (GPG_ERR_TRUNCATED), never a success.
 * The context must have armor on.  Returns GPGME's error code (0 on
 * success); the result is then in the context.
 */
#define PGP_IDLE_SECONDS	60
struct gpgme_data;
struct _gpgme_key;
unsigned int pgp_encrypt(struct gpgme_context *, struct _gpgme_key *keys[],
	    unsigned int flags, struct gpgme_data *in, struct gpgme_data *out);

/*
 * Imports the keys in file.  If address is not NULL, the import must hold
 * a key with a user ID of that address that can encrypt; its fingerprint
 * goes to fpr.  Returns 0, or -1 with a reason in why.
 */
int	pgp_import_file(const char *file, const char *address,
	    char fpr[PGP_FPR_MAX], char *why, size_t whylen);
/*
 * Imports every key of buf (file names it in messages); their
 * fingerprints into a malloc'd array of malloc'd strings (*np of them).
 * Returns 0, or -1 with a reason.
 */
int	pgp_import_fprs(const char *file, const char *buf, size_t len,
	    char ***fprsp, size_t *np, char *why, size_t whylen);
/* The same for keys already read (file names them in messages). */
int	pgp_import_mem(const char *file, const char *buf, size_t len,
	    const char *address, char fpr[PGP_FPR_MAX], char *why,
	    size_t whylen);

#define PGP_KEYFILE_MAX	(16 * 1024 * 1024)

/*
 * The fingerprint of a key in the home with a user ID of address that can
 * encrypt now.  Returns 1 found, 0 none (why says if one exists but is
 * unusable), -1 when GnuPG failed.  Safe from worker threads.  Answered
 * from the process's snapshot of the keyring, which gpg lists again when
 * the home's files change (see pgp.c).
 */
int	pgp_lookup(const char *address, char fpr[PGP_FPR_MAX], char *why,
	    size_t whylen);

/*
 * The keys of the GnuPG home home whose primary fingerprints are fprs[0..n)
 * (GPGME's gpgme_key_t), from the same snapshot: keys[i] is a reference
 * the caller releases with gpgme_key_unref, or NULL if there is no such
 * key.  Whether a key can encrypt is the caller's to judge.  Returns 0,
 * or -1 with a reason in why when GnuPG failed.  Safe from worker threads.
 */
struct _gpgme_key;
int	pgp_keys_find(const char *home, const char *const *fprs, size_t n,
	    struct _gpgme_key **keys, char *why, size_t whylen);

/*
 * The GnuPG home is a cache of the keys in the store (daemon/pubkeys.c):
 * these rebuild and prune it.  pgp_export_key() gives the minimal
 * binary export of the key fpr in a malloc'd buffer (*datap); returns
 * 0, 1 if there is no such key, -1 with a reason.  pgp_delete_key()
 * removes the public key fpr (0, or -1 with a reason; a key that is not
 * there is 0).  pgp_list_fprs() gives the primary fingerprints of every
 * key of the home (a malloc'd array of malloc'd strings, *np of them)
 * from the snapshot; 0 or -1 with a reason.  pgp_home_scrub() removes
 * gpg's backups (pubring.kbx~, pubring.gpg~), which keep deleted keys.
 */
int	pgp_export_key(const char *fpr, char **datap, size_t *lenp, char *why,
	    size_t whylen);
int	pgp_delete_key(const char *fpr, char *why, size_t whylen);
int	pgp_list_fprs(char ***fprsp, size_t *np, char *why, size_t whylen);
void	pgp_home_scrub(void);
/*
 * Writes the keyring anew with the keys it has: gpg's delete only marks
 * a key's blob empty in pubring.kbx, the key (and its addresses) stays
 * in the file.  0, or -1 with a reason.
 */
int	pgp_home_compact(char *why, size_t whylen);

/* ASCII-armoured encryption of data to one key (always trust). */
int	pgp_encrypt_armor(const char *fpr, const void *data, size_t len,
	    char **outp, char *why, size_t whylen);

/*
 * Copies every public key into the GnuPG home of another state directory
 * (a backup), and writes them armoured to dir/keys.asc as well.
 */
int	pgp_backup(const char *dir, char *why, size_t whylen);

#endif
