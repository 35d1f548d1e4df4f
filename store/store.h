/*
 * store.h: libstore, the storage of guestbox.
 *
 * One Berkeley DB transactional environment in STATE_DIR/db, opened by
 * every daemon and the CLI at once.  All reads and writes happen inside a
 * transaction run by store_txn_run(), which retries deadlocks and reopens
 * the environment with recovery when another process died holding it.
 *
 * Conventions:
 * - Every function returns 0 or a negative enum store_error.
 * - Structures filled by a getter own their strings; release them with the
 *   matching _clear function (which also makes the structure reusable).
 * - Callback functions given to store_txn_run() may run more than once (a
 *   deadlock restarts the transaction): they must only touch the database
 *   and the state they are handed, and must release what a previous run of
 *   theirs left in that state.
 * - Nothing is acknowledged before store_txn_run() returned 0: that is the
 *   commit, flushed to the log on disk.  A transaction run with
 *   store_txn_run_nosync() is acknowledged only after a store_log_flush()
 *   that began after it returned has returned 0 (group commit).
 * - Message content never reaches the database in clear: store_blob_*
 *   seals it with the account's public key (vault.h).  The metadata of an
 *   account's mail (its address, correspondents, outbound queue) is
 *   sealed under the account's erase key, a file outside the database
 *   that a delete unlinks (store-erase.c).
 *
 * Keys are big-endian so that Berkeley DB's btrees sort them numerically;
 * the layout of every database is in store-private.h.
 */
#ifndef GUESTBOX_STORE_H
#define GUESTBOX_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "vault.h"

#define STORE_SCHEMA_VERSION	4

enum store_error {
	STORE_OK = 0,
	STORE_ENOTFOUND = -1,	/* no such record */
	STORE_EEXIST = -2,	/* the record exists already */
	STORE_EDEADLOCK = -3,	/* retried inside store_txn_run() */
	STORE_ERECOVER = -4,	/* the environment must be recovered */
	STORE_ECORRUPT = -5,	/* a record failed to decode or authenticate */
	STORE_ENOSPC = -6,	/* the disk is full */
	STORE_ELIMIT = -7,	/* a limit or quota was reached */
	STORE_EIO = -8,		/* any other database failure (logged) */
	STORE_EDENIED = -9,	/* wrong key, token or password */
	STORE_ESTATE = -10,	/* not allowed in the object's state */
	STORE_EMODIFIED = -11,	/* CONDSTORE: changed since UNCHANGEDSINCE */
	STORE_EVERSION = -12,	/* written by a newer guestbox */
	STORE_ESHREDDED = -13,	/* the account's erase key is gone */
	STORE_EKEYWORDS = -14,	/* a mailbox has STORE_MAX_KEYWORDS already */
	/*
	 * Replication (issue 15): this site is a standby, or the group is
	 * busy (an election, a client catching up), or a commit's
	 * acknowledgements did not come in time: a temporary failure,
	 * never an OK.
	 */
	STORE_EUNAVAIL = -15,
};

const char	*store_strerror(int);

/* ---------------------------------------------------------------- */
/* The environment                                                    */
/* ---------------------------------------------------------------- */

struct store;
struct store_txn;

struct store_options {
	uint64_t	 cache_size;		/* bytes; used when the env is created */
	uint64_t	 checkpoint_interval;	/* seconds between checkpoints */
	int		 log_keep_for_backup;	/* keep logs since the last backup */
	uint64_t	 quota;			/* bytes per account; 0: none */
	/*
	 * Seconds a thread may wait inside Berkeley DB for a process that
	 * died before this one leaves (EX_TEMPFAIL) for a restart to
	 * recover; 0: 5.  An LDA leaves sooner: its MTA tries again.
	 */
	unsigned	 stuck_secs;
	/*
	 * Replication (store-repl.c): with repl_site NULL, none.  The
	 * strings are copied.  repl_process: guestbox-repld, which waits
	 * at open until the site has its role; the others are subordinate
	 * processes (the Berkeley DB manual's words).
	 */
	const char	*repl_site;		/* host:port */
	const char	*repl_peers;		/* blank-separated host:port */
	int		 repl_ack_policy;	/* enum conf_ack */
	unsigned	 repl_priority;
	unsigned	 repl_ack_timeout;	/* seconds */
	int		 repl_group_creator;
	int		 repl_process;
	/*
	 * The replication process's wait at open for its role, in seconds;
	 * 0: for good (guestbox-repld).  `repl add' waits a bounded time.
	 */
	unsigned	 repl_wait_secs;
};

struct conf;
/* Sets the repl_* options of so from the configuration's. */
void		 store_options_repl(struct store_options *, const struct conf *);

enum store_repl_role {
	STORE_REPL_OFF,		/* not configured */
	STORE_REPL_UNKNOWN,	/* no master known yet (an election) */
	STORE_REPL_MASTER,
	STORE_REPL_CLIENT,	/* a standby */
};

#define STORE_REPL_MAX_SITES	33

struct store_repl_site {
	char		 host[256];
	unsigned	 port;
	int		 eid;
	int		 connected;
	int		 master;
	/* Its last applied transaction, as it answered (store-repl.c). */
	int		 applied_known;
	uint32_t	 applied_file, applied_offset;
};

struct store_repl_status {
	enum store_repl_role role;
	int		 startup_done;	/* a client has caught up once */
	uint32_t	 nsites;	/* the group's size, as elections see it */
	uint32_t	 gen;		/* the master's generation */
	/* The end of this site's log, and the next record a client awaits. */
	uint32_t	 log_file, log_offset;
	uint32_t	 waiting_file, waiting_offset;	/* 0: none */
	uint64_t	 log_queued;	/* records received out of order */
	/* The last transaction applied (a client) or committed: 0/0, none. */
	uint32_t	 perm_file, perm_offset;
	size_t		 nsites_list;	/* the other sites */
	struct store_repl_site sites[STORE_REPL_MAX_SITES];
};

/* This site's role now, or STORE_REPL_OFF. */
enum store_repl_role store_repl_role(struct store *);
/* Role, positions and the other sites, for guestbox-provision repl. */
int		 store_repl_status(struct store *, struct store_repl_status *);
const char	*store_repl_role_name(enum store_repl_role);
/*
 * Removes the site at "host:port" from the group's membership (the
 * master does it, asked by this process; the site may be down).
 * STORE_ENOTFOUND: not a member; STORE_ESTATE: it is this site or the
 * master; STORE_EUNAVAIL: no master, or too few sites acknowledged.
 */
int		 store_repl_remove(struct store *, const char *hostport);
/*
 * The log position of the last transaction this site applied (a client)
 * or committed: it moves when a standby has applied new log.
 */
int		 store_repl_applied(struct store *, uint32_t *file,
		    uint32_t *offset);
/*
 * 1 when this site is a client that finished its sync-up with its
 * master (the verify step, and so any rollback of this site's log, is
 * behind it), with *changes the number of times it changed masters;
 * 0 otherwise.  guestbox-repld says "reopen" once per such change.
 */
int		 store_repl_synced(struct store *, uint64_t *changes);
/*
 * Opens the environment's handles anew, without recovery, as after
 * DB_REP_HANDLE_DEAD: this site's log was rolled back (or may have
 * been) under them.  A daemon does it on the "reopen" notice.
 */
int		 store_rejoin(struct store *);

/*
 * Opens (creating if needed) the environment under state_dir: db/ for
 * Berkeley DB, notify/ for change notification.  state_dir must exist.
 * Recovery runs if a previous user of the environment died.  Returns NULL
 * with *errp set (and the reason logged) on failure.
 */
struct store	*store_open(const char *state_dir, const struct store_options *,
		    int *errp);
/*
 * The exit status of this process when the store makes it leave (a
 * thread waits for a process that died inside Berkeley DB, and only a
 * restart helps): EX_TEMPFAIL, unless set otherwise.  An LDA sets EX_OK
 * once its delivery has committed, so that its MTA does not send the
 * message again.
 */
void		 store_set_exit_status(int);
void		 store_close(struct store **);

typedef int	(*store_txn_fn)(struct store_txn *, void *arg);

/*
 * Runs fn in a transaction and commits it when fn returns 0; any other
 * return aborts it and is passed back.  Deadlocks restart fn; a
 * DB_RUNRECOVERY reopens the environment with recovery and restarts fn
 * (up to 3 times), except one from the commit itself, whose record may
 * be on disk: that returns STORE_ERECOVER after the reopen.
 */
int		 store_txn_run(struct store *, store_txn_fn, void *arg);
/*
 * store_txn_run() whose commit writes the log to the file but does not
 * wait for the disk (DB_TXN_WRITE_NOSYNC): a process killed after it
 * loses nothing, a machine that loses power may.  Nothing it did may be
 * acknowledged before a store_log_flush() that started after it returned
 * has returned 0; one flush covers every such commit before it.
 */
int		 store_txn_run_nosync(struct store *, store_txn_fn, void *arg);
/*
 * Flushes the log to the disk, up to its end.  Safe from a thread other
 * than the one running transactions (a reopen waits for it); returns 0
 * or a store error (the flush failed: what waited for it is not durable).
 */
int		 store_log_flush(struct store *);
/*
 * After store_log_flush() said STORE_ERECOVER (another process died and
 * the environment panicked): on the thread that runs transactions,
 * reopens it with recovery if need be and flushes again.  0 means the
 * commits before the failed flush are on disk after all (issue 16: a
 * stored message must not be refused).
 */
int		 store_log_flush_recover(struct store *);
struct store	*store_txn_store(struct store_txn *);
/* The time of the transaction: one value for all of it. */
time_t		 store_txn_now(struct store_txn *);

/*
 * Checkpoints if checkpoint_interval has passed (or force), then removes
 * log files that neither recovery nor the last backup still needs.
 * Daemons call this from a timer; the CLI before it exits.
 */
int		 store_maintain(struct store *, int force);
/*
 * The log-removal step that completes a delete's crypto-shredding
 * (guestbox(7), CRYPTO-SHREDDING): ends the current log file (a filler
 * record of up to one log file, 10 MiB), scrubs the log buffer in the
 * region, checkpoints and removes every log file that recovery no
 * longer needs, as store_maintain() does.  After it no file of the
 * environment holds an erase key that a delete overwrote, unless
 * log_keep_for_backup keeps old logs for the next backup.
 */
int		 store_log_retire(struct store *);

/*
 * A consistent hot backup of the environment into dir (created; must be
 * empty or absent), which must be COPY/db: index.key and the erase keys
 * go into COPY (after the databases, so every account of the copy has
 * its key).  COPY opens with store_open() after recovery.
 */
int		 store_backup(struct store *, const char *dir);

/*
 * Records this process has read from the databases since store_open()
 * (each get, each step of a cursor).  A debug count, cheap enough to be
 * always on: the tests hold a command's cost to it (issue 18, a command
 * on a few messages reads O(log n) records, not O(n)).
 */
uint64_t	 store_reads(const struct store *);

/* The clock; tests and `expire --now` move it. */
void		 store_set_clock(struct store *, time_t (*now)(void));

/* ---------------------------------------------------------------- */
/* Accounts                                                           */
/* ---------------------------------------------------------------- */

enum store_account_state {
	STORE_ACCT_PENDING = 1,		/* invited, no password yet */
	STORE_ACCT_ACTIVE = 2,
	STORE_ACCT_DISABLED = 3,
	STORE_ACCT_DELETING = 4,	/* key material destroyed, purge running */
};

const char	*store_account_state_name(int);

/*
 * A device password (issue 14): its own Argon2id-derived KEK wraps the
 * same secret key as the main password.  Revoking one removes its wrap.
 */
#define STORE_MAX_DEVICES	16
#define STORE_DEVICE_NAME_MAX	64
struct store_device {
	uint32_t	 id;			/* 1, 2, ...; never reused */
	char		*name;			/* the guest's, UTF-8 */
	int64_t		 created;
	struct vault_kdf kdf;
	uint8_t		 wrapped_sk[VAULT_WRAPPEDBYTES];
	uint8_t		 verifier[VAULT_VERIFIERBYTES];
};

struct store_account {
	uint64_t	 id;
	char		*address;		/* normalized (addr_normalize) */
	uint8_t		 state;			/* enum store_account_state */
	int64_t		 created;
	int64_t		 activated;
	int64_t		 last_activity;		/* login, delivery, submission */
	int64_t		 warned;		/* expiry notice sent at */
	char		*inviter;		/* who created the invitation */

	/* Keys: the public key, and the secret key wrapped under a KEK. */
	uint8_t		 pk[32];
	uint8_t		 kek_kind;		/* enum vault_kek_kind, 0: none */
	uint8_t		 wrapped_sk[VAULT_WRAPPEDBYTES];
	struct vault_kdf kdf;			/* for VAULT_KEK_PASSWORD */
	uint8_t		 pw_verifier[VAULT_VERIFIERBYTES];

	/* The invitation; token_id all zero when there is none. */
	uint8_t		 token_id[32];
	int64_t		 invite_created;
	int64_t		 invite_expires;
	uint32_t	 pin_failures;
	char		*pin_verifier;		/* crypto_pwhash_str, "" if no PIN */
	char		*pin_armored;		/* PIN encrypted to the inviter */
	/*
	 * The gateway made this invitation and has not yet sent it (and the
	 * PIN notice): a retry makes a new one, as the token was only in
	 * the memory of the run that crashed.
	 */
	uint8_t		 invite_unsent;

	uint32_t	 next_mailbox_id;
	uint32_t	 last_uidvalidity;

	/* The new-mail notice (daemon/doorbell.h). */
	int64_t		 client_seen;		/* a client was logged in */
	int64_t		 notice_sent;		/* the last notice was queued */
	uint8_t		 notices_off;		/* the guest said no */
	/*
	 * The guest locked the mailbox on their page: no IMAP or
	 * submission login, open sessions end; delivery goes on.
	 */
	uint8_t		 locked;
	/*
	 * The last "lost password" mail to the correspondents was queued
	 * (provision/bootstrap-lost.c, lost_password_interval).
	 */
	int64_t		 lost_sent;

	/* Device passwords, in id order. */
	uint32_t	 next_device_id;
	uint32_t	 ndevices;
	struct store_device devices[STORE_MAX_DEVICES];
};

void	 store_account_clear(struct store_account *);
int	 store_account_has_invite(const struct store_account *);

/* Allocates the next account id (ids are never reused). */
int	 store_account_alloc_id(struct store_txn *, uint64_t *idp);

/* Names of the mailboxes every account gets. */
struct store_mailbox_names {
	const char	*sent;
	const char	*drafts;
	const char	*trash;
	const char	*archive;
	const char	*junk;
};

/*
 * Inserts a new account (id from store_account_alloc_id, address
 * normalized) with INBOX and the five special-use mailboxes, all
 * subscribed.  STORE_EEXIST if the address has an account.
 */
int	 store_account_insert(struct store_txn *, struct store_account *,
	    const struct store_mailbox_names *);
/*
 * A new key pair for account a (a->id set): the public key into a, the
 * secret key wrapped under the KEK of the invitation token (token_id
 * set too), or under none if token is NULL; no password.  *skp (may be
 * NULL) gets the secret key, which the caller frees.
 */
void	 store_account_rekey(struct store_account *,
	    const uint8_t token[VAULT_TOKENBYTES], struct vault_seckey **skp);
/*
 * How every account is made (guestbox-provision, the tests, the
 * benchmarks): an id, store_account_rekey(), store_account_insert().
 * a holds the rest (address, inviter, state, invitation, PIN).
 */
int	 store_account_create(struct store_txn *, struct store_account *,
	    const uint8_t token[VAULT_TOKENBYTES],
	    const struct store_mailbox_names *, struct vault_seckey **skp);
/*
 * Deletes every mailbox of the account with its mail and creates the
 * default ones anew (new UIDVALIDITY); a's counters are refreshed, the
 * caller writes a afterwards.  *nmsgsp gets the number of messages gone.
 */
int	 store_account_reset(struct store_txn *, struct store_account *,
	    const struct store_mailbox_names *, uint64_t *nmsgsp);
/* Rewrites an account record and its address and token indexes. */
int	 store_account_update(struct store_txn *, const struct store_account *);
int	 store_account_get(struct store_txn *, uint64_t id, struct store_account *);
int	 store_account_find(struct store_txn *, const char *address,
	    struct store_account *);
int	 store_account_find_token(struct store_txn *, const uint8_t id[32],
	    struct store_account *);
/*
 * store_account_get() and store_account_find() in a read transaction of
 * their own, for a caller that only needs the record.  *a is overwritten
 * (zero it first); clear it with store_account_clear() in every case.
 */
int	 store_account_load(struct store *, uint64_t id, struct store_account *);
int	 store_account_lookup(struct store *, const char *address,
	    struct store_account *);
/* Calls fn for each account in id order; a non-zero return stops it. */
int	 store_account_iter(struct store_txn *,
	    int (*fn)(const struct store_account *, void *), void *arg);
/*
 * SPEC 7: a login, a delivery or a submission is activity, and expiry
 * counts from the last one.  Written at most once an hour (the only place
 * that rule lives): expiry counts in days, and a write per message would
 * double what a delivery costs.
 */
#define STORE_ACTIVITY_INTERVAL	3600
int	 store_account_activity(struct store_txn *, uint64_t id);
/*
 * Removes the device password id (its wrap) from a; the caller writes a
 * (store_account_update: its notification ends the device's sessions).
 * STORE_ENOTFOUND if there is none.
 */
int	 store_account_device_remove(struct store_account *, uint32_t id);
/* The device password id of a, or NULL. */
const struct store_device *store_account_device(const struct store_account *,
	    uint32_t id);
/*
 * The recent logins (store-logins.c): the last STORE_LOGINS_MAX, newest
 * first, each sealed to the account's public key.  peer is what the
 * caller masked; device the name of device_id when it was added.
 */
#define STORE_LOGINS_MAX	50
enum store_login_proto {
	STORE_LOGIN_IMAP = 1,
	STORE_LOGIN_SUBMISSION = 2,
	STORE_LOGIN_PAGE = 3,
};
struct store_login {
	int64_t		 when;
	uint8_t		 proto;		/* enum store_login_proto */
	uint32_t	 device_id;	/* 0: the main password */
	char		 peer[64];
	char		 device[STORE_DEVICE_NAME_MAX + 1];
};
int	 store_login_add(struct store_txn *, uint64_t account_id,
	    const struct store_login *);
/* Opens them with sk; *np gets how many of max went into out. */
int	 store_login_list(struct store_txn *, const struct vault_seckey *,
	    struct store_login *out, size_t max, size_t *np);
int	 store_login_drop(struct store_txn *, uint64_t account_id);
/*
 * A client of the account is logged in (a login, or imapd's heartbeat
 * for the open sessions): activity as above, and client_seen, written
 * when older than min_interval seconds.
 */
int	 store_account_seen(struct store_txn *, uint64_t id,
	    int64_t min_interval);

/*
 * Deletes an account and everything it holds.  First, in one transaction,
 * the key material is destroyed and the state set to DELETING (crypto-
 * shredding: from then on nothing of it can be decrypted); then messages
 * go in batches with the account's unsent queue entries; an interrupted
 * purge is finished by calling it again.  Last, after the commit that
 * removes the account record, its erase key file is overwritten and
 * unlinked: what Berkeley DB keeps of its records (freed pages, logs,
 * regions) is sealed under that key.  *nmsgs (may be NULL) gets the
 * number of messages removed.
 */
int	 store_account_purge(struct store *, uint64_t id, uint64_t *nmsgs);

/*
 * Erase keys: one random 32-byte key per account in a slot of
 * erase-keys.db, written in the transaction that creates the account and
 * overwritten with zeros in the one that deletes it.  The sweep zeroes
 * the slots of accounts that no longer exist (left by older versions)
 * and removes queue entries whose key is gone; *removedp (may be NULL)
 * gets the number of keys removed.
 */
int	 store_erase_sweep(struct store *, uint64_t *removedp);

/* ---------------------------------------------------------------- */
/* Correspondents: who may write to the account and be written to     */
/* ---------------------------------------------------------------- */

struct store_corr {
	char		*address;
	char		 fingerprint[41];	/* hex OpenPGP v4 fingerprint */
	int64_t		 added;
	/*
	 * The public key (gpg's minimal export), or NULL if the record is
	 * older than that: sealed with the rest, so it goes with the
	 * account; the GnuPG home is rebuilt from it (daemon/pubkeys.c).
	 */
	uint8_t		*keydata;
	size_t		 keylen;
};

void	 store_corr_clear(struct store_corr *);
/*
 * Records (or updates) a correspondent of the account with its key.
 * keydata NULL keeps the key data the record has if the fingerprint is
 * the same.  Counts the accounts that use each key (store_pubkey_refs).
 */
int	 store_corr_put(struct store_txn *, uint64_t account_id,
	    const char *address, const char *fingerprint,
	    const void *keydata, size_t keylen);
/*
 * Every correspondent of every account whose erase key exists, with
 * its owner; fn's non-zero return stops the walk.
 */
int	 store_corr_iter_all(struct store_txn *,
	    int (*fn)(uint64_t owner, const struct store_corr *, void *),
	    void *arg);

/*
 * Public keys (store-pubkeys.c).  pubkeys.db counts, by a hash of the
 * fingerprint under the index key, the correspondent records that name
 * a key, and holds the keys an admin added (guestbox-provision add-key,
 * gateway_keyring), which belong to no account.  The GnuPG home is a
 * cache of these and of the correspondents' key data.
 */
/* *refsp: correspondent records naming fpr; *pinnedp: an admin's key. */
int	 store_pubkey_refs(struct store_txn *, const char *fpr,
	    uint32_t *refsp, int *pinnedp);
/* An admin's key: kept until unpinned; data may be NULL (a file has it). */
int	 store_pubkey_pin(struct store_txn *, const char *fpr,
	    const void *data, size_t len);
/*
 * Marks that the keys of the GnuPG home of an older version were taken
 * over (pubkeys_restore); *wasp says whether that had happened before.
 */
int	 store_pubkey_migrated(struct store_txn *, int *wasp);
/* The admin's keys with their data (len 0 if none); fn as above. */
int	 store_pubkey_pinned_iter(struct store_txn *,
	    int (*fn)(const char *fpr, const void *data, size_t len, void *),
	    void *arg);
int	 store_corr_get(struct store_txn *, uint64_t account_id,
	    const char *address, struct store_corr *);
int	 store_corr_iter(struct store_txn *, uint64_t account_id,
	    int (*fn)(const struct store_corr *, void *), void *arg);
/*
 * The correspondents' addresses joined by ", " into buf, as many whole
 * addresses as fit; their number in *np (may be NULL).  What a mailbox
 * can write to, for the guest's eyes (SMTP replies, the welcome).
 */
int	 store_corr_list(struct store_txn *, uint64_t account_id, char *buf,
	    size_t buflen, size_t *np);

/* ---------------------------------------------------------------- */
/* Mailboxes                                                          */
/* ---------------------------------------------------------------- */

/* RFC 6154 special-use attributes. */
#define STORE_SPECIAL_SENT	0x01
#define STORE_SPECIAL_DRAFTS	0x02
#define STORE_SPECIAL_TRASH	0x04
#define STORE_SPECIAL_ARCHIVE	0x08
#define STORE_SPECIAL_JUNK	0x10
/* The RFC 6154 attribute ("\\Sent") of a special_use value, or NULL. */
const char	*store_special_use_name(uint32_t special_use);

#define STORE_MAX_KEYWORDS	64	/* per mailbox; one bit each */
#define STORE_MAILBOX_NAME_MAX	1000	/* bytes of UTF-8 */
#define STORE_INBOX		"INBOX"

struct store_mailbox {
	uint64_t	 account_id;
	uint32_t	 id;
	char		*name;		/* UTF-8, hierarchy separator '/' */
	uint32_t	 special_use;
	int64_t		 created;
	uint32_t	 uidvalidity;
	uint32_t	 uidnext;
	uint64_t	 highestmodseq;
	uint32_t	 messages;
	uint32_t	 unseen;
	uint64_t	 bytes;
	uint32_t	 nkeywords;
	char		*keywords[STORE_MAX_KEYWORDS];
	/*
	 * RFC 3501 2.3.2: the messages up to this UID have been claimed as
	 * \Recent by a session (SELECT); those above are recent for the
	 * next session that sees them.
	 */
	uint32_t	 recent_uid;
};

void	 store_mailbox_clear(struct store_mailbox *);
/* STORE_EEXIST if the name is taken (INBOX in any case). */
int	 store_mailbox_create(struct store_txn *, uint64_t account_id,
	    const char *name, uint32_t special_use, struct store_mailbox *);
int	 store_mailbox_get(struct store_txn *, uint64_t account_id, uint32_t id,
	    struct store_mailbox *);
int	 store_mailbox_find(struct store_txn *, uint64_t account_id,
	    const char *name, struct store_mailbox *);
int	 store_mailbox_find_special(struct store_txn *, uint64_t account_id,
	    uint32_t special_use, struct store_mailbox *);
int	 store_mailbox_iter(struct store_txn *, uint64_t account_id,
	    int (*fn)(const struct store_mailbox *, void *), void *arg);
int	 store_mailbox_rename(struct store_txn *, uint64_t account_id,
	    uint32_t id, const char *newname);
/* Deletes the mailbox and its messages. */
int	 store_mailbox_delete(struct store_txn *, uint64_t account_id,
	    uint32_t id);
/*
 * The bit of keyword name in the mailbox, adding it if create is set
 * (STORE_EKEYWORDS past STORE_MAX_KEYWORDS).  Updates *mbox.
 */
int	 store_mailbox_keyword(struct store_txn *, struct store_mailbox *,
	    const char *name, int create, unsigned *bitp);
/*
 * RFC 3501 2.3.2: the messages above the mailbox's recent_uid, in *firstp
 * .. *lastp (first > last: none).  With claim, they become this caller's:
 * recent_uid moves up to the last UID, in the caller's transaction.
 */
int	 store_mailbox_recent(struct store_txn *, uint64_t account_id,
	    uint32_t mailbox_id, int claim, uint32_t *firstp, uint32_t *lastp);
/* Sum of bytes over the account's mailboxes. */
int	 store_account_usage(struct store_txn *, uint64_t account_id,
	    uint64_t *bytesp);

/* Subscriptions are by name: RFC 3501 6.3.6 lets one outlive its mailbox. */
int	 store_sub_set(struct store_txn *, uint64_t account_id, const char *name,
	    int subscribed);
int	 store_sub_get(struct store_txn *, uint64_t account_id, const char *name);
int	 store_sub_iter(struct store_txn *, uint64_t account_id,
	    int (*fn)(const char *name, void *), void *arg);

/* ---------------------------------------------------------------- */
/* Sealed content                                                     */
/* ---------------------------------------------------------------- */

/*
 * A message sealed in memory, ready to be stored: built before the
 * transaction so that retries do not repeat the crypto.  Content is
 * written in any pieces; store_blob_finish() seals the last chunk.
 */
struct store_blob;

struct store_blob *store_blob_new(uint64_t account_id, const uint8_t pk[32]);
void	 store_blob_write(struct store_blob *, const void *, size_t);
/* aux (may be NULL) is the ENVELOPE/BODYSTRUCTURE cache or other side data. */
void	 store_blob_finish(struct store_blob *, const void *aux, size_t auxlen);
uint64_t store_blob_size(const struct store_blob *);
void	 store_blob_free(struct store_blob **);
/* All of it at once. */
struct store_blob *store_blob_seal(uint64_t account_id, const uint8_t pk[32],
	    const void *data, size_t len, const void *aux, size_t auxlen);

/* ---------------------------------------------------------------- */
/* Messages                                                           */
/* ---------------------------------------------------------------- */

/* RFC 3501 2.3.2 system flags. */
#define STORE_F_SEEN		0x01
#define STORE_F_ANSWERED	0x02
#define STORE_F_FLAGGED		0x04
#define STORE_F_DELETED		0x08
#define STORE_F_DRAFT		0x10
#define STORE_F_ALL		0x1f

struct store_msg {
	uint32_t	 uid;
	uint32_t	 flags;		/* STORE_F_* */
	uint64_t	 keywords;	/* bit i: the mailbox's keyword i */
	uint64_t	 modseq;
	int64_t		 internaldate;
	int64_t		 savedate;
	uint64_t	 size;		/* RFC822.SIZE */
	uint64_t	 blob_id;
};

/*
 * Appends a sealed message: allocates the UID, stores the content, bumps
 * UIDNEXT and HIGHESTMODSEQ, updates the counters, in the caller's
 * transaction.  internaldate 0 means now.  out (may be NULL) gets the
 * record.  STORE_ELIMIT if the account's quota would be exceeded.
 */
int	 store_msg_append(struct store_txn *, uint64_t account_id,
	    uint32_t mailbox_id, const struct store_blob *, uint32_t flags,
	    uint64_t keywords, int64_t internaldate, struct store_msg *out);
int	 store_msg_get(struct store_txn *, uint64_t account_id,
	    uint32_t mailbox_id, uint32_t uid, struct store_msg *);
/* Messages with first <= uid <= last, in UID order. */
int	 store_msg_iter(struct store_txn *, uint64_t account_id,
	    uint32_t mailbox_id, uint32_t first, uint32_t last,
	    int (*fn)(const struct store_msg *, void *), void *arg);
/*
 * Sets the flags and keywords of a message to these values and gives it a
 * new MODSEQ, unless nothing changes.  unchangedsince (0: none) is
 * RFC 7162's UNCHANGEDSINCE: STORE_EMODIFIED if the message's MODSEQ is
 * higher.  out (may be NULL) gets the record after the change.
 */
int	 store_msg_store(struct store_txn *, uint64_t account_id,
	    uint32_t mailbox_id, uint32_t uid, uint32_t flags, uint64_t keywords,
	    uint64_t unchangedsince, struct store_msg *out);
/* Copies a message (sharing its sealed content); *newuidp gets its UID. */
int	 store_msg_copy(struct store_txn *, uint64_t account_id,
	    uint32_t from_mailbox, uint32_t uid, uint32_t to_mailbox,
	    uint32_t *newuidp);
/* Removes a message and remembers its UID as expunged at a new MODSEQ. */
int	 store_msg_expunge(struct store_txn *, uint64_t account_id,
	    uint32_t mailbox_id, uint32_t uid);

/* ---------------------------------------------------------------- */
/* Delivery: one message into a mailbox (store-deliver.c)             */
/* ---------------------------------------------------------------- */

/*
 * The sealed append at the core of every delivery and of APPEND.  A
 * commit can fail after its record reached the log on disk (another
 * process died and a third one's recovery panicked the environment under
 * it): store_txn_run() then runs the transaction again, and a message
 * answered as refused although stored comes twice when the sender tries
 * again (issue 16).  A run that finds the blob it sealed already filed
 * where an earlier run put it knows that run committed: it writes
 * nothing and answers with the earlier record.
 */
struct store_append {
	const struct store_blob	*blob;		/* sealed before the transaction */
	uint32_t		 flags;		/* STORE_F_* */
	uint64_t		 keywords;
	int64_t			 internaldate;	/* 0: now */
	/* Out, kept across the runs of one transaction. */
	uint32_t		 mailbox_id;
	struct store_msg	 msg;
	int			 replayed;	/* an earlier run committed it */
	int			 tried;		/* a run got as far as its commit */
	/* In: commit with store_txn_run_nosync() (the caller flushes). */
	int			 nosync;
};

/* In the caller's transaction; on ap->replayed the caller writes nothing. */
int	 store_append_once(struct store_txn *, uint64_t account_id,
	    uint32_t mailbox_id, struct store_append *);
/*
 * store_txn_run(fn, arg) for a transaction that calls store_append_once
 * (or store_deliver) on ap: when it fails after a run reached its commit,
 * one more run on the recovered environment says whether that commit took.
 * With ap->nosync the runs are store_txn_run_nosync()'s.
 */
int	 store_append_run(struct store *, struct store_append *, store_txn_fn,
	    void *arg);
/*
 * After a store_append_run() (or store_deliver_message()) that said
 * STORE_EUNAVAIL: whether its commit is in this site's log all the same,
 * unacknowledged by the other sites of a replication group (issue 15).
 * If it is, store_unfile() takes those n messages out of the mailbox
 * again in a compensating transaction, whose record follows theirs to
 * every site that ever gets them: a 451 or NO means "not stored", and
 * the retry that follows does not store them twice (guestbox(7)).
 */
int	 store_append_unacked(void);
int	 store_unfile(struct store *, uint64_t account_id, uint32_t mailbox_id,
	    const uint32_t *uids, size_t n);

/*
 * A delivery (LMTP, the local delivery agent, bounces, the Gesendet copy
 * of a submission): the account must be pending or active and still have
 * the key the message was sealed to (a reinvite makes a new one); then the
 * INBOX, or the special_use mailbox (created as create_name if it is gone
 * and create_name is set), the sealed append, and activity.
 *
 * Errors: STORE_ENOTFOUND, no such account (or its INBOX is gone);
 * STORE_ESTATE, not pending or active (d->state says which) or the key
 * changed; STORE_ELIMIT, the quota; STORE_ENOSPC, the disk is full; any
 * other is trouble with storage, worth a later try.
 */
struct store_delivery {
	uint64_t		 account_id;
	const uint8_t		*pk;		/* 32 bytes: the key sealed to */
	uint32_t		 special_use;	/* 0: INBOX */
	const char		*create_name;
	struct store_append	 ap;		/* blob, flags; the results */
	uint8_t			 state;		/* out: the account's */
	/*
	 * May be NULL: called in the same transaction once the message is
	 * filed (not when a replay finds it filed already), so what it
	 * writes (the new-mail notice, doorbell.h) commits with it or not
	 * at all.  A non-zero return fails the delivery.
	 */
	int			(*filed)(struct store_txn *,
				    const struct store_delivery *, const void *);
	const void		*filed_arg;
};

/* In the caller's transaction, d->ap.blob sealed with mime_seal. */
int	 store_deliver(struct store_txn *, struct store_delivery *);
/* Seals msg (mime_seal) and delivers it in a transaction of its own. */
int	 store_deliver_message(struct store *, struct store_delivery *,
	    const void *msg, size_t len);

/*
 * Changes since a MODSEQ (RFC 7162): fn gets each message changed or
 * expunged after since, in MODSEQ order.
 */
int	 store_changes_iter(struct store_txn *, uint64_t account_id,
	    uint32_t mailbox_id, uint64_t since,
	    int (*fn)(uint32_t uid, uint64_t modseq, int expunged, void *),
	    void *arg);

/*
 * Decrypts a message's content into a new malloc'd buffer (*datap, *lenp;
 * caller frees).  STORE_ECORRUPT if any chunk fails to authenticate.
 */
int	 store_msg_read(struct store_txn *, const struct vault_seckey *,
	    uint64_t blob_id, uint8_t **datap, size_t *lenp);
/*
 * A blob read a chunk at a time, so that a large FETCH decrypts only what
 * the client is ready to read (issue 17): opened in one transaction, each
 * chunk read in any later one.  Chunk i holds the plaintext bytes
 * [i * VAULT_CHUNK, (i + 1) * VAULT_CHUNK).  The reader keeps the message
 * key (secret memory) until freed; it belongs to the thread that opened it.
 */
struct store_blob_reader;

int	 store_blob_reader_open(struct store_txn *, const struct vault_seckey *,
	    uint64_t blob_id, struct store_blob_reader **rp);
uint64_t store_blob_reader_size(const struct store_blob_reader *);
uint64_t store_blob_reader_id(const struct store_blob_reader *);
uint64_t store_blob_reader_account(const struct store_blob_reader *);
/*
 * Decrypts chunk i into out (VAULT_CHUNK bytes of room); *lenp gets its
 * length.  A chunk held (store_blob_reader_hold) needs no txn (may be
 * NULL then).  STORE_ECORRUPT if it fails to authenticate or is gone.
 */
int	 store_blob_reader_chunk(struct store_txn *, struct store_blob_reader *,
	    uint32_t i, uint8_t *out, size_t *lenp);
/*
 * Copies the sealed chunks from first on into the reader's memory, so it
 * can go on once the blob is deleted: what a store_blob_freed_fn does for
 * a blob still being read.  Ciphertext only: nothing readable is kept.
 */
int	 store_blob_reader_hold(struct store_txn *, struct store_blob_reader *,
	    uint32_t first);
void	 store_blob_reader_free(struct store_blob_reader **);
/*
 * Called in the transaction that drops the last reference to a blob,
 * before its chunks are deleted (an EXPUNGE, a DELETE of the mailbox), in
 * the thread running it; a non-zero return fails the transaction.  The
 * transaction may still abort after: what fn does must be harmless then.
 * Only this process's transactions call it: a blob another process
 * deletes (an account purged by guestbox-provision) is just gone.
 */
typedef int	 store_blob_freed_fn(struct store_txn *, uint64_t account_id,
	    uint64_t blob_id, void *arg);
void	 store_set_blob_freed(struct store *, store_blob_freed_fn *, void *);

/*
 * A lease on a blob for a reader that outlives its transaction: while
 * any live process holds one, freeing the blob (in any process) leaves
 * its chunks, and the last lease dropped deletes them (store-lease.c).
 * Leases count per process; a process that dies leaves its own, which
 * count as none.  store_blob_lease_sweep() (a transaction of its own,
 * when a reading process starts) deletes the stale ones and frees the
 * chunks that waited only on them.  store_blob_lease_take():
 * STORE_ENOTFOUND if the blob was freed and its chunks are gone.
 */
int	 store_blob_lease_take(struct store_txn *, uint64_t account_id,
	    uint64_t blob_id);
int	 store_blob_lease_drop(struct store_txn *, uint64_t account_id,
	    uint64_t blob_id);
int	 store_blob_lease_sweep(struct store *);

/* The aux data of a blob; *lenp 0 and *datap NULL if there is none. */
int	 store_blob_aux_get(struct store_txn *, const struct vault_seckey *,
	    uint64_t blob_id, uint8_t **datap, size_t *lenp);
int	 store_blob_aux_set(struct store_txn *, const struct vault_seckey *,
	    uint64_t blob_id, const void *data, size_t len);

/*
 * Message-ID index of what the submission server filed (RFC 5322
 * Message-ID, hashed), for de-duplicating a client's APPEND of the same
 * message to Gesendet.
 */
#define STORE_MSGID_HASHBYTES	16
void	 store_msgid_hash(const char *msgid, size_t len,
	    uint8_t out[STORE_MSGID_HASHBYTES]);
int	 store_msgid_put(struct store_txn *, uint64_t account_id,
	    const uint8_t hash[STORE_MSGID_HASHBYTES], uint32_t mailbox_id,
	    uint32_t uid);
int	 store_msgid_get(struct store_txn *, uint64_t account_id,
	    const uint8_t hash[STORE_MSGID_HASHBYTES], uint32_t *mailbox_idp,
	    uint32_t *uidp, int64_t *whenp);

/* ---------------------------------------------------------------- */
/* The outbound queue (guestbox-submitd's relay)                      */
/* ---------------------------------------------------------------- */

/*
 * An entry is one message to send to the smarthost for some recipients.
 * Its data is what goes on the wire: OpenPGP-encrypted copies only, so
 * nothing readable is queued.
 */
enum store_rcpt_status {
	STORE_RCPT_PENDING = 0,
	STORE_RCPT_SENT = 1,
	STORE_RCPT_FAILED = 2,	/* permanently; bounced */
};

struct store_queue_rcpt {
	char		*address;
	uint8_t		 status;	/* enum store_rcpt_status */
	char		*reply;		/* last answer of the smarthost */
};

struct store_queue_entry {
	uint64_t		 id;
	uint64_t		 account_id;	/* who sent it */
	int64_t			 created;
	int64_t			 next_attempt;
	uint32_t		 attempts;
	char			*mail_from;
	char			*message_id;	/* for the bounce report */
	char			*last_error;
	uint64_t		 size;
	struct store_queue_rcpt	*rcpts;
	uint32_t		 nrcpts;
	uint32_t		 flags;		/* STORE_QUEUE_F_* */
};

/* A notice of the server's own (doorbell.h): a failure bounces nothing. */
#define STORE_QUEUE_F_NOTICE	0x01

#define STORE_QUEUE_MAX_RCPTS	10000
/* store_event.mailbox_id of a change to the queue. */
#define STORE_QUEUE_EVENT	UINT32_MAX

void	 store_queue_entry_clear(struct store_queue_entry *);
/* Queues data for e's recipients; e->id gets the new id. */
int	 store_queue_put(struct store_txn *, struct store_queue_entry *e,
	    const void *data, size_t len);
int	 store_queue_get(struct store_txn *, uint64_t id,
	    struct store_queue_entry *);
/* Rewrites attempts, times, errors and recipient states. */
int	 store_queue_update(struct store_txn *, const struct store_queue_entry *);
/* The message bytes (malloc'd; caller frees). */
int	 store_queue_data(struct store_txn *, uint64_t id, uint8_t **datap,
	    size_t *lenp);
int	 store_queue_del(struct store_txn *, uint64_t id);
/* In id order (oldest first); a non-zero return of fn stops. */
int	 store_queue_iter(struct store_txn *,
	    int (*fn)(const struct store_queue_entry *, void *), void *arg);

/* ---------------------------------------------------------------- */
/* Change notification between processes                              */
/* ---------------------------------------------------------------- */

/*
 * After a commit that changed a mailbox, the store sends a datagram to
 * every socket in STATE_DIR/notify.  A process that wants to hear of
 * changes opens its own socket there and reads events from it (the fd is
 * non-blocking; add it to the event loop).
 */
struct store_event {
	uint64_t	 account_id;	/* 0: anything may have changed */
	uint32_t	 mailbox_id;	/* 0: the account record changed */
	uint64_t	 modseq;
};

int	 store_notify_listen(struct store *);	/* returns the fd, or -1 */
/* 1 with *ev filled, 0 when nothing is waiting, -1 on error. */
int	 store_notify_read(struct store *, struct store_event *ev);
/*
 * Sends "anything may have changed" (account 0) to every listener: what
 * the replication process says after a standby applied the master's log,
 * whose commits sent no events here.
 */
void	 store_notify_rescan(struct store *);
/*
 * The site rolled back, or may have (it changed masters and synced
 * again): account 0, mailbox STORE_REOPEN_EVENT.  A process that does
 * not know the mailbox id takes it as a rescan.
 */
#define STORE_REOPEN_EVENT	(UINT32_MAX - 1)
void	 store_notify_reopen(struct store *);
/* Queues an event for the transaction's commit (store ops do this). */
void	 store_txn_notify(struct store_txn *, uint64_t account_id,
	    uint32_t mailbox_id, uint64_t modseq);

/* ---------------------------------------------------------------- */
/* Consistency                                                        */
/* ---------------------------------------------------------------- */

/*
 * Checks every record and cross-reference (indexes, counters, blob
 * reference counts, chunk chains); each problem goes to fn.  Returns the
 * number of problems, or a negative store_error.
 */
int	 store_check(struct store *, void (*fn)(const char *problem, void *),
	    void *arg);

#endif
