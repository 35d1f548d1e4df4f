/*
 * pgpmime.h: the outbound copies of a submitted message, as PGP/MIME
 * (RFC 3156) encrypted with GPGME to the recipients' keys.  Used by
 * guestbox-submitd (relay, gateway) and by guestbox-bootstrapd (the
 * lost-password mail to the correspondents).
 *
 * guestbox never sends a reply in clear: every failure here (a missing,
 * expired, revoked or unusable key, a gpg error) is an error for the
 * whole message, naming the recipient where one is to blame; there is no
 * plaintext fallback anywhere.
 *
 * Each GPGME operation starts a gpg process (about 10 ms): pgpmime_build
 * takes the recipients' keys from the process's snapshot of the keyring
 * (pgp_keys_find in pgp.h: no gpg run unless the keyring changed) and
 * runs gpg once per copy to encrypt.
 * Call it off the event loop (a worker thread); GPGME contexts are made
 * per call, so concurrent calls are safe once pgp_init() (the daemons)
 * or pgpmime_init() (without a GnuPG home of guestbox's) has run.
 *
 * The shape of a copy (CRLF line ends throughout):
 *
 *   outer header:  From, Sender, Reply-To, To, Cc, Date, Message-ID,
 *                  In-Reply-To, References as submitted (in their order
 *                  and folding), Subject (or "..."), MIME-Version and
 *                  Content-Type: multipart/encrypted;
 *                  protocol="application/pgp-encrypted"
 *   part 1:        application/pgp-encrypted, "Version: 1"
 *   part 2:        application/octet-stream, the ASCII-armoured OpenPGP
 *                  message, which decrypts to the payload:
 *
 *   payload:       the submitted body with its Content-* header fields;
 *                  with PGPMIME_PROTECT_SUBJECT, a multipart/mixed with
 *                  protected-headers="v1" (the convention of Thunderbird,
 *                  Enigmail and K-9) whose own header carries From, To,
 *                  Cc, Reply-To, Subject, Date, Message-ID, In-Reply-To
 *                  and References, wrapping that body part.
 *
 * No other field of the submitted header goes out: not Bcc (nowhere, in
 * no copy), not User-Agent or X-* (they say more than the sender meant).
 */
#ifndef GUESTBOX_PGPMIME_H
#define GUESTBOX_PGPMIME_H

#include <stddef.h>

struct rfc5322_header;

/* Move the Subject into the encrypted part; the outer one says "...". */
#define PGPMIME_PROTECT_SUBJECT	0x01

/* A v4 fingerprint has 40 hex digits, a v5 one 64. */
#define PGPMIME_FPR_MAX		64

struct pgpmime_opts {
	const char	*gnupg_home;	/* e.g. STATE_DIR/gnupg */
	int		 flags;		/* PGPMIME_* */
};

/* An envelope recipient. */
struct pgpmime_rcpt {
	const char	*addr;	/* addr_normalize() form, for messages */
	const char	*fpr;	/* fingerprint of its OpenPGP key */
	int		 bcc;	/* 1: it gets a copy of its own */
};

/* One message to relay, to the recipients listed. */
struct pgpmime_copy {
	char	*msg;		/* RFC 5322 message, CRLF line ends */
	size_t	 len;
	size_t	*rcpts;		/* indexes into the pgpmime_rcpt array */
	size_t	 nrcpts;
};

/*
 * Initialises GPGME (gpgme_check_version) and checks that gpg runs, for a
 * program that does not call pgp_init() (which does both, and sets the
 * GnuPG home).  Call once, before any thread calls pgpmime_build.
 * Returns 0, or -1 with a reason in why.
 */
int	pgpmime_init(char *why, size_t whylen);

/*
 * Marks as Bcc every recipient that is not in the To or Cc fields of the
 * header: clients remove the Bcc field before they submit, so the
 * envelope is the only place Bcc recipients still appear.  Returns 0, or
 * -1 with a reason if To or Cc cannot be parsed.
 */
int	pgpmime_classify(const struct rfc5322_header *, struct pgpmime_rcpt *,
	    size_t n, const char **whyp);

/*
 * Checks that every recipient's key is in the key ring and can encrypt
 * now (one gpg run).  Returns 0, or -1 with *badp set to the index of the
 * first recipient at fault (or n for a failure of gpg itself) and a reason
 * naming that recipient in why.
 */
int	pgpmime_keys_check(const struct pgpmime_opts *,
	    const struct pgpmime_rcpt *, size_t n, size_t *badp, char *why,
	    size_t whylen);

/*
 * Builds the copies of msg (a submitted RFC 5322 message, CRLF or LF line
 * ends): one encrypted to all recipients that are not Bcc, if there are
 * any, then one for each Bcc recipient, encrypted to its key alone.  Keys
 * are used with always-trust (the provisioning system gave them to us).
 * On success returns 0 with a new array in *copiesp (free with
 * pgpmime_copies_free).  On failure returns -1 with *badp and why as for
 * pgpmime_keys_check (*badp is n when no recipient is at fault, e.g. a
 * header that cannot be parsed) and no copies.
 */
int	pgpmime_build(const struct pgpmime_opts *, const char *msg, size_t len,
	    const struct pgpmime_rcpt *, size_t n,
	    struct pgpmime_copy **copiesp, size_t *ncopiesp, size_t *badp,
	    char *why, size_t whylen);
void	pgpmime_copies_free(struct pgpmime_copy **, size_t n);

/*
 * The parts without GPGME, for tests and fuzzing.  The payload is the
 * cleartext MIME entity that gets encrypted; the outer message wraps an
 * armoured OpenPGP message.  Both return a new buffer.  boundary must be
 * a string of bchars (RFC 2046 5.1.1); pgpmime_build makes random ones.
 */
char	*pgpmime_payload(const struct rfc5322_header *, int flags,
	    const char *boundary, size_t *lenp);
char	*pgpmime_outer(const struct rfc5322_header *, int flags,
	    const char *boundary, const char *armor, size_t armorlen,
	    size_t *lenp);

#endif
