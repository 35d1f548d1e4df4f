/*
 * auth.h: password authentication for every daemon (IMAP, submission).
 *
 * Argon2id takes about 0.1 s and 64 MiB at the default cost, so it never
 * runs on the event loop: a pool of auth_workers threads does it, one hash
 * per thread, with a bounded queue.  A cache (auth_cache_time) lets a
 * client's parallel connections share one hash.  Failures are delayed and
 * throttled per client address and per account, and an unknown or
 * inactive account costs the same time as a wrong password, so neither
 * timing nor text tells which it was.
 */
#ifndef GUESTBOX_AUTH_H
#define GUESTBOX_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "conf.h"
#include "store.h"
#include "util.h"

enum auth_status {
	AUTH_OK,
	AUTH_FAILED,		/* wrong user or password, or not allowed */
	AUTH_UNAVAILABLE,	/* overloaded or storage trouble: try later */
};

struct auth_result {
	enum auth_status	 status;
	uint64_t		 account_id;
	char			 address[ADDR_MAX + 1];
	/* With AUTH_OK: the unwrapped key; the callback may take it (set NULL). */
	struct vault_seckey	*key;
};

typedef void	(*auth_cb)(struct auth_result *, void *arg);

struct auth;
struct auth_req;

struct auth	*auth_new(struct event_base *, struct store *,
		    const struct conf *);
void		 auth_free(struct auth **);

/*
 * Starts checking user and password for a client at peer (its address,
 * for throttling).  cb runs later on the event loop, exactly once, unless
 * auth_cancel() is called first.  The password is copied.
 */
struct auth_req	*auth_start(struct auth *, const char *user, const char *pw,
		    size_t pwlen, const char *peer, auth_cb cb, void *arg);
/*
 * The same with flags: AUTH_F_PAGE for the guest's own page
 * (guestbox-bootstrapd /account), the one login a locked mailbox has.
 */
#define AUTH_F_PAGE	0x01
struct auth_req	*auth_start_flags(struct auth *, const char *user,
		    const char *pw, size_t pwlen, const char *peer,
		    unsigned flags, auth_cb cb, void *arg);
/* The session is going away: cb will not be called. */
void		 auth_cancel(struct auth_req **);
/*
 * issue 14: each login goes into the account's recent logins
 * (store_login_add) as this protocol (enum store_login_proto); 0, the
 * default, logs nothing.
 */
void		 auth_set_login_proto(struct auth *, unsigned proto);
/* Drop cached keys of an account (disabled, deleted, re-invited). */
void		 auth_forget_account(struct auth *, uint64_t account_id);

/*
 * issue 19: a login stands while its account is active with the key it
 * logged in with, and (issue 14) not locked by its owner, nor its
 * device password revoked.  auth_login_check: 0, or STORE_ESTATE once the mailbox
 * was disabled, deleted or re-invited, or a store error; inside a
 * transaction, for a write that must not happen after that.
 * auth_login_revoked: 1 if the session must end now (a store error is
 * not taken as a no).  Sessions ask on each account change notification.
 */
int		 auth_login_check(struct store_txn *, uint64_t account_id,
		    const struct vault_seckey *);
int		 auth_login_revoked(struct store *, uint64_t account_id,
		    const struct vault_seckey *);
/*
 * The id of a device password ("dN-...", as guestbox-bootstrapd makes
 * them), or 0.  A login with one tries that device's wrap, then the main
 * password's; the key says which opened it (vault_seckey.device_id), and
 * the login stands while that device password does.
 */
uint32_t	 auth_device_id(const char *pw, size_t len);

/*
 * The throttling key of a client address: "ip:ADDR" for IPv4, and for
 * IPv6 its /64, "ip6:PREFIX::/64", since one client usually holds a whole
 * /64 (issue 19).
 */
void		 auth_peer_key(const char *peer, char *out, size_t outlen);

/* For tests and logs. */
struct auth_stats {
	uint64_t	 hashes;	/* Argon2id runs */
	uint64_t	 cache_hits;
	uint64_t	 shared;	/* answered by another login's hash */
	uint64_t	 failures;
	uint64_t	 throttled;
	uint64_t	 busy;		/* refused: queue full */
};
void		 auth_get_stats(const struct auth *, struct auth_stats *);

#endif
