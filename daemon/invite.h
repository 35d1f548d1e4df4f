/*
 * invite.h: an invitation to a temporary mailbox, shared by
 * guestbox-provision (create, reinvite) and the gateway of
 * guestbox-submitd: the token and its link, the PIN, and the invitation
 * mail built from the templates.
 *
 * The link is the token: it is never written anywhere but into the
 * invitation mail, so that mail is sent at once, or a new invitation
 * (a new token and key pair) replaces it.
 */
#ifndef GUESTBOX_INVITE_H
#define GUESTBOX_INVITE_H

#include <stddef.h>
#include <time.h>

#include "conf.h"
#include "store.h"

/* What --pin DIGITS takes; pin_length in guestbox.conf(5) has the same range. */
#define INVITE_PIN_MIN	4
#define INVITE_PIN_MAX	12

/* A new invitation for an account: token, link, PIN. */
struct invite {
	char		*link;			/* PUBLIC_URL/i/TOKEN */
	char		 pin[16];		/* "" when none */
	char		*pin_verifier;
	char		*pin_armored;
	uint8_t		 token[VAULT_TOKENBYTES];
};

/* Why invite_prepare() failed. */
enum invite_error {
	INVITE_OK,
	INVITE_EPINMODE,	/* pinmode is not auto, none or 4-12 digits */
	INVITE_ENOMEM,		/* hashing the PIN failed */
	INVITE_EKEY,		/* encrypting the PIN to the inviter failed */
};

/*
 * pinmode: "auto" (pin_length random digits), "none" or digits.  The PIN
 * is hashed for the bootstrap page and encrypted to inviter_fpr (the
 * sender may ask for it later: only they can read it).  Returns
 * INVITE_OK, or an error with a reason in why and inv cleared.  Runs gpg
 * once when there is a PIN: keep it off event loops.
 */
enum invite_error invite_prepare(const struct conf *, const char *pinmode,
	    const char *inviter_fpr, struct invite *, char *why, size_t whylen);
/*
 * The PIN part of invite_prepare() alone (guestbox-provision pin --new):
 * inv gets the PIN, its verifier and its armored copy; no token, no link.
 */
enum invite_error invite_pin_prepare(const struct conf *, const char *pinmode,
	    const char *inviter_fpr, struct invite *, char *why, size_t whylen);
/*
 * Puts the invitation's times and PIN into a; the keys wrapped under its
 * token are store_account_rekey's (store_account_create's for a new one).
 */
void	 invite_apply(const struct conf *, const struct invite *,
	    struct store_account *, time_t now);
void	 invite_clear(struct invite *);

/*
 * The invitation mail (invite-mail.c): templates loaded before anything
 * is created, so a missing file changes nothing.
 */
enum invite_mail_file {
	INVITE_MAIL_SUBJECT,
	INVITE_MAIL_TEXT,
	INVITE_MAIL_HTML,
	INVITE_MAIL_NFILES,
};
struct invite_mail {
	char		*tpl[INVITE_MAIL_NFILES];
};
/* Returns 0, or -1 with why (a missing templates_dir, a bad template). */
int	 invite_mail_load(const struct conf *, struct invite_mail *, char *why,
	    size_t whylen);
void	 invite_mail_clear(struct invite_mail *);
/* The whole RFC 5322 message, CRLF line ends; caller frees *msgp. */
void	 invite_mail_build(const struct conf *, const struct invite_mail *,
	    const struct store_account *, const struct invite *,
	    const char *sender, const char *sender_name, char **msgp,
	    size_t *lenp);

#endif
