/*
 * store-private.h: what the files of libstore share, and the layout of
 * every database.
 *
 * Database		key						value
 * meta			ASCII name					per name
 * accounts		be64 account					sealed account record
 * account_addr		32-byte index hash of the address		be64 account
 * account_token	32-byte token id				be64 account
 * correspondents	be64 account, 16-byte erase hash of address	sealed address, corr record
 * mailboxes		be64 account, be32 mailbox			mailbox record
 * subscriptions	be64 account, name bytes			(empty)
 * messages		be64 account, be32 mailbox, be32 uid		message record
 * changes		be64 account, be32 mailbox, be64 modseq		be32 uid, u8 expunged
 * blobs		be64 account, be64 blob				blob record
 * chunks		be64 account, be64 blob, be32 index		ciphertext
 * msgids		be64 account, 16-byte erase hash of the hash	be32 mailbox, be32 uid, i64 when
 * queue		be64 queue id					sealed queue entry record
 * queue_data		be64 queue id					sealed message bytes
 * erase_keys (Queue)	record number = account id			32-byte key, u8 1 (live); zeros when shredded
 * pubkeys		'R'/'P', 32-byte index hash of the fingerprint	be32 count / u8 1, key data (store-pubkeys.c)
 *
 * "Sealed" is store-erase.c's envelope under the account's erase key,
 * the account's slot of erase_keys; the index hash is keyed with the meta
 * record "index-key" (schema version 4; versions 2 and 3 kept both as
 * files, STATE_DIR/erase/<id> and STATE_DIR/index.key, version 1 kept all
 * of it in clear).
 *
 * Every record starts with a u8 format version.  An upgrade from schema
 * version N to N+1 is a function in store-env.c that rewrites what
 * changed, run by store_open() in a transaction, and then the "schema"
 * meta record is raised (see guestbox(7), UPGRADES).
 */
#ifndef GUESTBOX_STORE_PRIVATE_H
#define GUESTBOX_STORE_PRIVATE_H

#include <db.h>
#include <pthread.h>
#include <stdatomic.h>

#include "pack.h"
#include "store.h"

enum store_dbi {
	DBI_META,
	DBI_ACCOUNTS,
	DBI_ACCOUNT_ADDR,
	DBI_ACCOUNT_TOKEN,
	DBI_CORRESPONDENTS,
	DBI_MAILBOXES,
	DBI_SUBSCRIPTIONS,
	DBI_MESSAGES,
	DBI_CHANGES,
	DBI_BLOBS,
	DBI_CHUNKS,
	DBI_MSGIDS,
	DBI_QUEUE,
	DBI_QUEUE_DATA,
	DBI_ERASE_KEYS,
	DBI_PUBKEYS,
	DBI_LEASES,		/* blobs being read (store-lease.c) */
	DBI_COUNT
};

extern const char *const store_db_names[DBI_COUNT];

#define STORE_NOTIFY_MAX_PENDING	64
/* Threads whose time inside Berkeley DB the watchdog watches. */
#define STORE_BUSY_SLOTS		16
/* Region mappings of one environment handle (__db.001 ...). */
#define STORE_STALE_MAPS		32

/* Where the deadman watches a wait (store-env.c, store_deadman). */
enum store_wait {
	STORE_WAIT_JOIN = 1,	/* joining the environment, and its failchk */
	STORE_WAIT_OPEN_DBS,	/* opening the databases after joining */
	STORE_WAIT_FAILCHK,	/* the watchdog's failchk */
	STORE_WAIT_LOCK_DETECT,	/* the watchdog's lock_detect after it */
};

struct store {
	/*
	 * The watchdog thread runs failchk and expires lock timeouts once
	 * a second; env_lock keeps it off the environment while the main
	 * thread reopens or closes it.
	 */
	pthread_t	 watchdog;
	int		 watchdog_on;
	int		 watchdog_stop;
	pthread_mutex_t	 env_lock;
	pthread_cond_t	 watchdog_cond;
	/*
	 * Log flushes running in other threads (store_log_flush), under
	 * env_lock; a reopen waits on flush_cond until none runs.  They
	 * flush without env_lock: a flush stuck on a mutex of a process
	 * that died must leave the watchdog free to see it.
	 */
	int		 flushing;
	pthread_cond_t	 flush_cond;
	/*
	 * When each thread (a slot per thread) entered Berkeley DB, 0 when
	 * outside: a thread that waits on a mutex a dead process held never
	 * comes back (store-env.c, store_watchdog).
	 */
	_Atomic int64_t	 busy_since[STORE_BUSY_SLOTS];
	/*
	 * Counts the reopens: a thread that met DB_RUNRECOVERY reopens only
	 * the handle it used, not one another thread opened since.
	 */
	atomic_uint	 env_gen;
	/* A thread replaces the handle: the others keep out (store_busy_enter). */
	atomic_int	 reopening;
	/*
	 * Since when the watchdog is inside failchk, 0 when not: failchk
	 * itself may wait for good on a dead process; the deadman thread
	 * then makes us leave (store-env.c, store_deadman).
	 */
	_Atomic int64_t	 failchk_since;
	/* What it waits in then, for the deadman's message. */
	atomic_int	 failchk_what;	/* enum store_wait */
	/*
	 * Held by the thread of ours that runs failchk; the fence's byte 2
	 * keeps the other processes out meanwhile (store_env_failchk_begin).
	 */
	pthread_mutex_t	 failchk_lock;
	/*
	 * The regions the handle being replaced maps (store_env_reopen):
	 * only these are unmapped after, never the new handle's.
	 */
	struct {
		unsigned long		 lo, hi;
		unsigned long long	 ino;
	}		 stale[STORE_STALE_MAPS];
	int		 nstale;
	/*
	 * db/fence (store-fence.c): a shared lock while the handle is
	 * open, the exclusive one to recover.  fence_held is the lock held,
	 * fence_gen the recoveries counted when it was taken.
	 */
	int		 fence_fd;
	enum {
		STORE_FENCE_NONE,
		STORE_FENCE_SHARED,
		STORE_FENCE_EXCLUSIVE,
	}		 fence_held;
	uint32_t	 fence_gen;
	pthread_t	 deadman;
	int		 deadman_on;
	int		 deadman_stop;
	pthread_mutex_t	 deadman_lock;
	pthread_cond_t	 deadman_cond;
	char		*state_dir;
	char		*db_dir;
	char		*notify_dir;
	char		*erase_dir;		/* schema 3's key files */
	char		*index_path;		/* schema 3's index.key */
	uint8_t		*index_key;		/* sodium_malloc'd */
	/*
	 * Erase keys are read into slots of one sodium_malloc'd pool:
	 * sodium_malloc() costs ten times what reading a key does.
	 */
	pthread_mutex_t	 erase_lock;
	uint8_t		*erase_pool;
	uint64_t	 erase_used;		/* bit i: slot i is taken */
	struct store_options opts;
	DB_ENV		*env;
	DB		*db[DBI_COUNT];
	time_t		(*now)(void);
	time_t		 last_checkpoint;
	int		 notify_fd;		/* our socket, or -1 */
	char		*notify_path;
	int		 send_fd;		/* unbound socket for sending */
	/*
	 * Tests only (check_store): runs after each commit that took, and a
	 * non-zero return is what store_txn_run() sees instead, as when the
	 * environment panics after the commit record reached the disk.
	 */
	int		(*after_commit)(struct store *);
	/* Records read (store_reads): relaxed, a debug count only. */
	_Atomic uint64_t reads;
	/*
	 * Tests only: runs in place of the log flush of store_log_flush()
	 * when set; its non-zero return is the flush's (as fdatasync
	 * failing with EIO).  Called from the flushing thread.
	 */
	int		(*log_flush_hook)(struct store *);
	/* A reopen only rejoins, without recovery (DB_REP_HANDLE_DEAD). */
	int		 reopen_join;
	/* store_set_blob_freed(): told before a blob's last chunk goes. */
	store_blob_freed_fn *blob_freed;
	void		*blob_freed_arg;
};

/*
 * Says if waits on Berkeley DB's mutexes cannot be bounded here (no
 * /proc); calling it also makes the linker take store-mutex.c.
 */
void	store_mutex_init(void);
/* What store_set_exit_status() set: EX_TEMPFAIL unless told. */
int	store_exit_status(void);

/*
 * The fence (store-fence.c).  Deadlines are time_mono_ms() values.
 * store_fence_alone() takes the exclusive lock if nobody else holds
 * any (1) or nothing (0); store_fence_shared() the shared lock, 0 or
 * STORE_ERECOVER; store_fence_exclusive() waits for the exclusive one
 * (0), or returns 1 with the shared one when another process has
 * recovered since the count seen, or STORE_ERECOVER.
 */
int	store_fence_open(struct store *);
void	store_fence_close(struct store *);
int	store_fence_alone(struct store *);
int	store_fence_shared(struct store *, uint64_t deadline);
int	store_fence_exclusive(struct store *, uint64_t deadline, uint32_t seen);
void	store_fence_downgrade(struct store *);
void	store_fence_release(struct store *);
uint32_t store_fence_gen(struct store *);
void	store_fence_bump(struct store *);
/* Byte 2: one failchk at a time (store-env.c, store_env_failchk_begin). */
int	store_fence_failchk_lock(struct store *, uint64_t deadline);
void	store_fence_failchk_unlock(struct store *);
/*
 * This thread's turn to run failchk in the environment, waiting up to
 * wait_ms (0: one try) for the one running: 1, and
 * store_env_failchk_end() after; 0 if that one still runs.
 */
int	store_env_failchk_begin(struct store *, uint64_t wait_ms);
void	store_env_failchk_end(struct store *);
/*
 * store_fence_mark(): this process's environment cannot be joined any
 * more, only recovered (a mutex that a dead process holds);
 * store_fence_marked(): whether st's has been so marked.
 */
void	store_fence_mark(void);
int	store_fence_marked(struct store *);

/*
 * Replication (store-repl.c).  configure before DB_ENV->open, start
 * after it and before the databases open.  commit_begin/_failed bracket
 * a commit: failed says that its acknowledgements did not come.
 * mark_dead/take_dead: a client's rollback made the handles useless
 * (DB_REP_HANDLE_DEAD); the next transaction rejoins.  enabled: some
 * store of this process replicates (EACCES means a standby).
 */
int	store_repl_configure(struct store *, DB_ENV *);
int	store_repl_start(struct store *);
void	store_repl_commit_begin(void);
int	store_repl_commit_failed(void);
void	store_repl_mark_dead(void);
int	store_repl_take_dead(void);
int	store_repl_enabled(void);
/*
 * A commit that went unacknowledged leaves the site's quorum in doubt
 * (doubt_set); while it is, a transaction that writes first commits a
 * probe of its own, and is refused without a record in the log unless
 * the probe is acknowledged (probe: 0, or STORE_EUNAVAIL).
 */
void	store_repl_doubt_set(struct store *);
int	store_repl_doubt(struct store *);
int	store_repl_probe(struct store *);
/* store_txn_run() without that gate, for a compensating transaction. */
int	store_txn_run_compensate(struct store *, store_txn_fn, void *);

/* A mapping of a region file (__db.0*) in /proc/self/maps. */
struct store_map {
	unsigned long		 lo, hi;
	unsigned long long	 off, ino;
	char			*path;		/* with " (deleted)", if so */
	int			 deleted;
};
/*
 * Calls fn for each region mapping (of db_dir's, or of any directory if
 * db_dir is NULL) until it returns non-zero; returns that, or 0.
 */
int	store_region_maps(const char *db_dir,
	    int (*fn)(const struct store_map *, void *), void *arg);

struct store_txn {
	struct store	*store;
	DB_TXN		*tid;
	time_t		 now;
	size_t		 nevents;
	struct store_event events[STORE_NOTIFY_MAX_PENDING];
	int		 events_overflow;
	int		 wrote;		/* a put or a delete: needs an ack */
};

/*
 * Leases (store-lease.c).  store_blob_lease_defer(), in the transaction
 * that frees a blob: *deferredp 1 (and the blob marked freed) if a live
 * process (this one too) reads it, whose last lease then deletes the
 * chunks.
 * store_blob_lease_waiting(): 1 if the blob's chunks wait so on a live
 * process (a check: nothing is changed).
 */
int	 store_blob_lease_defer(struct store_txn *, uint64_t acct,
	    uint64_t blob_id, int *deferredp);
int	 store_blob_lease_waiting(struct store_txn *, uint64_t acct,
	    uint64_t blob_id);

/* Erase keys and the hashes keyed with them (store-erase.c). */
#define STORE_ERASE_KEYBYTES	32
/* A slot of erase-keys.db: the key, then STORE_ERASE_LIVE. */
#define STORE_ERASE_SLOTBYTES	(STORE_ERASE_KEYBYTES + 1)
#define STORE_ERASE_LIVE	0x01
#define STORE_ERASE_HASHBYTES	16
#define STORE_INDEX_HASHBYTES	32

/* Key sizes. */
#define KEY_ACCT	8
#define KEY_MBOX	(8 + 4)
#define KEY_MSG		(8 + 4 + 4)
#define KEY_CHANGE	(8 + 4 + 8)
#define KEY_BLOB	(8 + 8)
#define KEY_CHUNK	(8 + 8 + 4)
#define KEY_CORR	(8 + STORE_ERASE_HASHBYTES)
#define KEY_MSGID	(8 + STORE_ERASE_HASHBYTES)

/* Maps a Berkeley DB return to enum store_error, logging the unexpected. */
int	 store_db_error(const char *what, int dberr);

/* Get into a malloc'd buffer (*valp; caller frees). */
int	 store_db_get(struct store_txn *, enum store_dbi, const void *key,
	    size_t klen, void **valp, size_t *vlenp);
/* Get with a read-modify-write lock (DB_RMW), for records about to change. */
int	 store_db_get_rmw(struct store_txn *, enum store_dbi, const void *key,
	    size_t klen, void **valp, size_t *vlenp);
int	 store_db_put(struct store_txn *, enum store_dbi, const void *key,
	    size_t klen, const void *val, size_t vlen);
/* STORE_EEXIST if the key exists. */
int	 store_db_insert(struct store_txn *, enum store_dbi, const void *key,
	    size_t klen, const void *val, size_t vlen);
int	 store_db_del(struct store_txn *, enum store_dbi, const void *key,
	    size_t klen);
/*
 * Calls fn for every record whose key starts with prefix (plen bytes) and
 * is >= start (slen bytes; NULL: the prefix), in key order.  A non-zero
 * return of fn stops the walk and is returned.  If del is set, fn's
 * return value 1 deletes the current record and goes on.
 */
#define STORE_ITER_DELETE	0x7fff0001
int	 store_db_iter(struct store_txn *, enum store_dbi, const void *prefix,
	    size_t plen, const void *start, size_t slen,
	    int (*fn)(const uint8_t *key, size_t klen, const uint8_t *val,
	    size_t vlen, void *arg), void *arg);

/* Record codecs (store-codec.c): decoders return 0 or STORE_ECORRUPT. */
void	 store_account_encode(const struct store_account *, struct pack *);
int	 store_account_decode(const void *, size_t, struct store_account *);
void	 store_mailbox_encode(const struct store_mailbox *, struct pack *);
int	 store_mailbox_decode(const void *, size_t, struct store_mailbox *);
void	 store_msg_encode(const struct store_msg *, struct pack *);
int	 store_msg_decode(const void *, size_t, struct store_msg *);
void	 store_corr_encode(const struct store_corr *, struct pack *);
int	 store_corr_decode(const void *, size_t, struct store_corr *);
/* What a correspondent's sealed record holds (store-account.c). */
void	 store_corr_encode_sealed(const char *address,
	    const struct store_corr *, struct pack *);
int	 store_corr_decode_sealed(const uint8_t *, size_t, struct store_corr *);

struct store_blob_rec {
	uint32_t	 refcount;
	uint64_t	 size;
	uint32_t	 nchunks;
	uint8_t		 sealed_key[VAULT_SEALEDKEYBYTES];
	const uint8_t	*aux;		/* borrowed from the decoded bytes */
	size_t		 auxlen;
};
void	 store_blob_rec_encode(const struct store_blob_rec *, struct pack *);
int	 store_blob_rec_decode(const void *, size_t, struct store_blob_rec *);
void	 store_queue_encode(const struct store_queue_entry *, struct pack *);
int	 store_queue_decode(const void *, size_t, struct store_queue_entry *);

/* Key builders. */
void	 store_key_mbox(uint8_t k[KEY_MBOX], uint64_t acct, uint32_t mbox);
void	 store_key_msg(uint8_t k[KEY_MSG], uint64_t acct, uint32_t mbox,
	    uint32_t uid);
void	 store_key_blob(uint8_t k[KEY_BLOB], uint64_t acct, uint64_t blob);

/* Writes a mailbox record back (store-mailbox.c). */
int	 store_mailbox_put(struct store_txn *, const struct store_mailbox *);
/* Releases one reference to a blob, deleting it at zero (store-msg.c). */
int	 store_blob_unref(struct store_txn *, uint64_t account_id,
	    uint64_t blob_id);
/* 1 if message uid of the mailbox holds blob b, else 0 (store-msg.c). */
int	 store_msg_holds_blob(struct store_txn *, uint64_t account_id,
	    uint32_t mailbox_id, uint32_t uid, const struct store_blob *b);
/* Drops every message of a mailbox (store-msg.c). */
int	 store_msg_delete_all(struct store_txn *, uint64_t account_id,
	    uint32_t mailbox_id);

/*
 * Erase keys and sealed records (store-erase.c).  Keys are returned in
 * sodium_malloc memory; release them with store_erase_free() soon.
 */
/* The index key from meta.db (made, or taken from index.key, once). */
int	 store_index_load(struct store_txn *);
void	 store_index_hash(const struct store *, const char *address,
	    uint8_t out[STORE_INDEX_HASHBYTES]);
void	 store_index_check_value(const struct store *, uint8_t out[16]);
/* A new random key in the account's slot (replacing a stale one). */
int	 store_erase_create(struct store_txn *, uint64_t account_id);
/* STORE_ESHREDDED if the slot is zeros or was never written. */
int	 store_erase_load(struct store_txn *, uint64_t account_id,
	    uint8_t **keyp);
void	 store_erase_free(struct store *, uint8_t **keyp);
void	 store_erase_pool_init(struct store *);
void	 store_erase_pool_fini(struct store *);
/* Overwrites the slot with zeros in place, in the delete's transaction. */
int	 store_erase_remove(struct store_txn *, uint64_t account_id);
/* Keyed hash under the account's erase key. */
int	 store_erase_hash(struct store_txn *, uint64_t account_id,
	    const void *, size_t, uint8_t out[STORE_ERASE_HASHBYTES]);
/*
 * After the commit of the upgrade to schema 4: removes the key files
 * that erase-keys.db now holds, then index.key (store-erase.c).
 */
int	 store_erase_retire_files(struct store *);
/* What recovery does with guestbox's own log records: nothing. */
int	 store_log_dispatch(DB_ENV *, DBT *, DB_LSN *, db_recops);
#define STORE_LOG_FILLER	(DB_user_BEGIN + 1)
/* Appends the sealed record to out; the AD names dbi and key. */
void	 store_seal(const uint8_t *ek, enum store_dbi, const void *key,
	    size_t klen, uint64_t account_id, const void *pt, size_t len,
	    struct pack *out);
/* The account a sealed record belongs to; STORE_ECORRUPT if not sealed. */
int	 store_sealed_account(const void *val, size_t vlen, uint64_t *idp);
/* Plaintext in a malloc'd buffer; release it with store_unseal_free(). */
int	 store_unseal(const uint8_t *ek, enum store_dbi, const void *key,
	    size_t klen, const void *val, size_t vlen, uint8_t **ptp,
	    size_t *lenp);
void	 store_unseal_free(uint8_t **ptp, size_t len);
/* store_unseal() with the key of the account the record names. */
int	 store_seal_open(struct store_txn *, enum store_dbi, const void *key,
	    size_t klen, const void *val, size_t vlen, uint64_t *acctp,
	    uint8_t **ptp, size_t *lenp);
int	 store_seal_get(struct store_txn *, enum store_dbi, const void *key,
	    size_t klen, int rmw, uint64_t *acctp, uint8_t **ptp, size_t *lenp);
int	 store_seal_put(struct store_txn *, enum store_dbi, const void *key,
	    size_t klen, uint64_t account_id, const void *pt, size_t len,
	    int insert);
/*
 * store_db_iter() over sealed records: fn gets each one's owner and
 * plaintext, which is zeroed and freed when fn returns.  A record whose
 * erase key is gone (its account was deleted) comes with pt NULL, and fn
 * decides whether that is to be skipped, reported or an error.
 */
int	 store_seal_iter(struct store_txn *, enum store_dbi,
	    const void *prefix, size_t plen,
	    int (*fn)(const uint8_t *key, size_t klen, uint64_t owner,
	    const uint8_t *pt, size_t ptlen, void *arg), void *arg);
/*
 * Removes the queue entries of an account, or (account_id 0) those whose
 * erase key is gone (store-queue.c).
 */
int	 store_queue_drop(struct store_txn *, uint64_t account_id,
	    uint64_t *np);
/* Writes an account record (store-account.c). */
int	 store_account_put(struct store_txn *, const struct store_account *);
/* Adds delta to the count of correspondents naming fpr (store-pubkeys.c). */
int	 store_pubkey_ref(struct store_txn *, const char *fpr, int delta);
/* The schema 1 -> 2 upgrade (store-upgrade.c). */
int	 store_upgrade_v2(struct store_txn *);
int	 store_upgrade_v3(struct store_txn *);
int	 store_upgrade_v4(struct store_txn *);

/* Notification (store-notify.c). */
int	 store_notify_init(struct store *);
void	 store_notify_fini(struct store *);
void	 store_notify_send(struct store *, const struct store_event *, size_t n,
	    int overflow);

#endif
