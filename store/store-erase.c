/*
 * store-erase.c: per-account erase keys, kept in fixed slots of the
 * environment that a delete overwrites in place, and the records sealed
 * with them.
 *
 * Berkeley DB does not scrub what it deletes: freed pages, the log files
 * and the region files keep old record images for a long time, and no
 * setting makes that reliable.  So every record that would hold plaintext
 * metadata of an account's mail (the account with its address, its
 * correspondents with their keys, its outbound queue) is sealed
 * (XChaCha20-Poly1305) under a random key of that account, and only that
 * small key needs to be destroyed for good (crypto-shredding).
 *
 * Where the key lives.  Schema 3 kept it in a file of its own,
 * STATE_DIR/erase/<id>, unlinked at delete; files are not part of the
 * environment, so replication would not carry them.  Now it is in
 * erase-keys.db, a Queue database: fixed-length records at fixed offsets
 * of their pages, record number = account id.  A Queue, not a Btree or a
 * Recno: a Btree delete or update may move the record, split or free the
 * page and leave the old bytes in a free page for ever, and a Queue
 * delete only clears a flag on the record; a Queue put over an existing
 * record writes the same bytes of the same page.  So a delete OVERWRITES
 * the slot with zeros (never DB->del), in the transaction that deletes
 * the account: once the page is flushed (the next checkpoint) the
 * database file holds no old key.  The old bytes then survive only in
 * the log: the record that wrote the key and the before-image of the
 * overwrite (for undo).  The log-removal step (store_log_retire: what
 * `guestbox-provision delete` and `expire` run after a delete) ends the
 * current log file, scrubs the log buffer of the region, checkpoints and
 * removes every log file that recovery no longer needs; every site of a
 * replication group applies the same log records, the filler included,
 * so the same step on each site leaves no copy there either.
 *
 * A sealed record is
 *	u8 STORE_SEALED_V1, be64 account, 24-byte nonce, ciphertext + tag
 * and its associated data names the database and the record's key, so a
 * record cannot be moved to another key or database, nor to another
 * account, without the tag failing.
 *
 * The address index cannot use a key of the account (a login looks the
 * account up by its address), so its key is a keyed hash under a secret
 * of the whole store, the meta record "index-key", made once; it is
 * never deleted, so it needs no slot.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "store-private.h"
#include "xmalloc.h"

#define STORE_SEALED_V1		0xe1
#define STORE_SEALED_NONCE	crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define STORE_SEALED_HDR	(1 + 8 + STORE_SEALED_NONCE)
#define STORE_SEALED_TAG	crypto_aead_xchacha20poly1305_ietf_ABYTES
/* Keys in the pool: a slot each, room for the whole record. */
#define STORE_ERASE_POOL	64
#define STORE_ERASE_STRIDE	64

static int	store_file_sync_dir(const char *);
static int	store_file_read_into(const char *, uint8_t *);
static int	store_file_shred(const char *);
static int	store_erase_recno(uint64_t, db_recno_t *);
static int	store_erase_read(struct store_txn *, uint64_t, uint8_t *,
		    u_int32_t);
static int	store_erase_write(struct store_txn *, uint64_t,
		    const uint8_t *);
static void	store_seal_ad(struct pack *, enum store_dbi, const void *,
		    size_t, const uint8_t *);

static int
store_file_sync_dir(const char *dir)
{
	int	 fd, ret = 0;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		log_warn("store: open %s", dir);
		return STORE_EIO;
	}
	if (fsync(fd) == -1) {
		log_warn("store: fsync %s", dir);
		ret = STORE_EIO;
	}
	close(fd);
	return ret;
}

/* A key file of schema 3: exactly STORE_ERASE_KEYBYTES into k. */
static int
store_file_read_into(const char *path, uint8_t *k)
{
	struct stat	 sb;
	ssize_t		 n;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		if (errno == ENOENT)
			return STORE_ESHREDDED;
		log_warn("store: open %s", path);
		return STORE_EIO;
	}
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) ||
	    sb.st_size != STORE_ERASE_KEYBYTES) {
		log_warnx("store: %s is not a key file", path);
		close(fd);
		return STORE_ECORRUPT;
	}
	n = read(fd, k, STORE_ERASE_KEYBYTES);
	close(fd);
	if (n != STORE_ERASE_KEYBYTES) {
		log_warnx("store: short read of %s", path);
		sodium_memzero(k, STORE_ERASE_KEYBYTES);
		return STORE_EIO;
	}
	return 0;
}

/*
 * Overwrites a key file, then unlinks it: 1 if it was there, 0 if not.
 * The overwrite is for file systems that keep an unlinked file's blocks
 * readable for a while; on flash or a copy-on-write file system it may
 * not reach the old blocks.
 */
static int
store_file_shred(const char *path)
{
	static const uint8_t zero[STORE_ERASE_KEYBYTES];
	int		 fd;

	if ((fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		if (errno == ENOENT)
			return 0;
		log_warn("store: open %s", path);
		return STORE_EIO;
	}
	if (write(fd, zero, sizeof(zero)) != (ssize_t)sizeof(zero) ||
	    fdatasync(fd) == -1)
		log_warn("store: overwriting %s", path);
	close(fd);
	if (unlink(path) == -1 && errno != ENOENT) {
		log_warn("store: unlink %s", path);
		return STORE_EIO;
	}
	return 1;
}

/* ---- the store-wide index secret ---- */

int
store_index_load(struct store_txn *txn)
{
	struct store	*st = txn->store;
	void		*val;
	size_t		 vlen;
	int		 ret;

	if (st->index_key == NULL &&
	    (st->index_key = sodium_malloc(STORE_ERASE_KEYBYTES)) == NULL)
		fatalx("sodium_malloc");
	ret = store_db_get(txn, DBI_META, "index-key", 9, &val, &vlen);
	if (ret == 0) {
		if (vlen == STORE_ERASE_KEYBYTES)
			memcpy(st->index_key, val, STORE_ERASE_KEYBYTES);
		else
			ret = STORE_ECORRUPT;
		sodium_memzero(val, vlen);
		free(val);
		return ret;
	}
	if (ret != STORE_ENOTFOUND)
		return ret;
	/* Schema 2 and 3 kept it in STATE_DIR/index.key: taken over. */
	ret = store_file_read_into(st->index_path, st->index_key);
	if (ret == STORE_ESHREDDED)
		randombytes_buf(st->index_key, STORE_ERASE_KEYBYTES);
	else if (ret != 0)
		return ret;
	ret = store_db_insert(txn, DBI_META, "index-key", 9, st->index_key,
	    STORE_ERASE_KEYBYTES);
	/* Another process made it meanwhile: run again and read it. */
	return ret == STORE_EEXIST ? STORE_EDEADLOCK : ret;
}

void
store_index_hash(const struct store *st, const char *address,
    uint8_t out[STORE_INDEX_HASHBYTES])
{
	crypto_generichash(out, STORE_INDEX_HASHBYTES, (const uint8_t *)address,
	    strlen(address), st->index_key, STORE_ERASE_KEYBYTES);
}

/* What the meta record "index-check" holds: which secret the index uses. */
void
store_index_check_value(const struct store *st, uint8_t out[16])
{
	static const uint8_t label[] = "guestbox index.key check v1";

	crypto_generichash(out, 16, label, sizeof(label) - 1, st->index_key,
	    STORE_ERASE_KEYBYTES);
}

/* ---- erase keys ---- */

/* Queue record numbers are 32 bits, and 0 is none. */
static int
store_erase_recno(uint64_t id, db_recno_t *r)
{
	if (id == 0 || id > UINT32_MAX)
		return STORE_ELIMIT;
	*r = (db_recno_t)id;
	return 0;
}

/*
 * The account's slot into buf (STORE_ERASE_SLOTBYTES), straight into
 * the caller's sodium memory (DB_DBT_USERMEM): no copy of the key in
 * ordinary heap.
 */
static int
store_erase_read(struct store_txn *txn, uint64_t id, uint8_t *buf,
    u_int32_t flags)
{
	DB		*db = txn->store->db[DBI_ERASE_KEYS];
	DBT		 k, v;
	db_recno_t	 r;
	int		 ret;

	if (store_erase_recno(id, &r) != 0)
		return STORE_ESHREDDED;
	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	k.data = &r;
	k.size = sizeof(r);
	v.data = buf;
	v.ulen = STORE_ERASE_SLOTBYTES;
	v.flags = DB_DBT_USERMEM;
	ret = db->get(db, txn->tid, &k, &v, flags);
	if (ret == DB_NOTFOUND || ret == DB_KEYEMPTY)
		return STORE_ESHREDDED;
	if (ret != 0)
		return store_db_error(store_db_names[DBI_ERASE_KEYS], ret);
	if (v.size != STORE_ERASE_SLOTBYTES) {
		sodium_memzero(buf, STORE_ERASE_SLOTBYTES);
		return STORE_ECORRUPT;
	}
	if (buf[STORE_ERASE_KEYBYTES] != STORE_ERASE_LIVE) {
		sodium_memzero(buf, STORE_ERASE_SLOTBYTES);
		return STORE_ESHREDDED;
	}
	return 0;
}

/* Writes the whole slot: a put over the record, in place. */
static int
store_erase_write(struct store_txn *txn, uint64_t id, const uint8_t *slot)
{
	DB		*db = txn->store->db[DBI_ERASE_KEYS];
	DBT		 k, v;
	db_recno_t	 r;
	int		 ret;

	if ((ret = store_erase_recno(id, &r)) != 0) {
		log_warnx("store: account id %" PRIu64 " has no erase key slot",
		    id);
		return ret;
	}
	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	k.data = &r;
	k.size = sizeof(r);
	v.data = (void *)(uintptr_t)slot;
	v.size = STORE_ERASE_SLOTBYTES;
	txn->wrote = 1;
	return store_db_error(store_db_names[DBI_ERASE_KEYS],
	    db->put(db, txn->tid, &k, &v, 0));
}

int
store_erase_create(struct store_txn *txn, uint64_t id)
{
	uint8_t	*slot;
	int	 ret;

	if ((slot = sodium_malloc(STORE_ERASE_SLOTBYTES)) == NULL)
		fatalx("sodium_malloc");
	randombytes_buf(slot, STORE_ERASE_KEYBYTES);
	slot[STORE_ERASE_KEYBYTES] = STORE_ERASE_LIVE;
	ret = store_erase_write(txn, id, slot);
	sodium_free(slot);
	return ret;
}

int
store_erase_remove(struct store_txn *txn, uint64_t id)
{
	static const uint8_t zero[STORE_ERASE_SLOTBYTES];
	uint8_t		*slot;
	int		 ret;

	if ((slot = sodium_malloc(STORE_ERASE_SLOTBYTES)) == NULL)
		fatalx("sodium_malloc");
	/* Never written, or zeros already: nothing to overwrite. */
	ret = store_erase_read(txn, id, slot, DB_RMW);
	sodium_free(slot);
	if (ret == STORE_ESHREDDED)
		return 0;
	if (ret != 0)
		return ret;
	return store_erase_write(txn, id, zero);
}

void
store_erase_pool_init(struct store *st)
{
	pthread_mutex_init(&st->erase_lock, NULL);
	if ((st->erase_pool = sodium_malloc(STORE_ERASE_POOL *
	    STORE_ERASE_STRIDE)) == NULL)
		fatalx("sodium_malloc");
	st->erase_used = 0;
}

void
store_erase_pool_fini(struct store *st)
{
	if (st->erase_pool == NULL)
		return;
	sodium_free(st->erase_pool);
	st->erase_pool = NULL;
	pthread_mutex_destroy(&st->erase_lock);
}

/* A free slot of the pool, or NULL when all are taken. */
static uint8_t *
store_erase_slot_get(struct store *st)
{
	uint8_t	*k = NULL;
	int	 i;

	pthread_mutex_lock(&st->erase_lock);
	for (i = 0; i < STORE_ERASE_POOL; i++)
		if (!(st->erase_used & ((uint64_t)1 << i))) {
			st->erase_used |= (uint64_t)1 << i;
			k = st->erase_pool + (size_t)i * STORE_ERASE_STRIDE;
			break;
		}
	pthread_mutex_unlock(&st->erase_lock);
	return k;
}

int
store_erase_load(struct store_txn *txn, uint64_t id, uint8_t **keyp)
{
	struct store	*st = txn->store;
	uint8_t		*k;
	int		 ret;

	if ((k = store_erase_slot_get(st)) == NULL &&
	    (k = sodium_malloc(STORE_ERASE_SLOTBYTES)) == NULL)
		fatalx("sodium_malloc");
	if ((ret = store_erase_read(txn, id, k, 0)) != 0) {
		store_erase_free(st, &k);
		*keyp = NULL;
		return ret;
	}
	*keyp = k;
	return 0;
}

void
store_erase_free(struct store *st, uint8_t **keyp)
{
	uint8_t		*k = *keyp;
	size_t		 i;

	if (k == NULL)
		return;
	*keyp = NULL;
	if (st->erase_pool != NULL && k >= st->erase_pool &&
	    k < st->erase_pool + STORE_ERASE_POOL * STORE_ERASE_STRIDE) {
		i = (size_t)(k - st->erase_pool) / STORE_ERASE_STRIDE;
		sodium_memzero(k, STORE_ERASE_STRIDE);
		pthread_mutex_lock(&st->erase_lock);
		st->erase_used &= ~((uint64_t)1 << i);
		pthread_mutex_unlock(&st->erase_lock);
	} else
		sodium_free(k);
}

int
store_erase_hash(struct store_txn *txn, uint64_t id, const void *in,
    size_t len, uint8_t out[STORE_ERASE_HASHBYTES])
{
	uint8_t	*k;
	int	 ret;

	if ((ret = store_erase_load(txn, id, &k)) != 0)
		return ret;
	crypto_generichash(out, STORE_ERASE_HASHBYTES, in, len, k,
	    STORE_ERASE_KEYBYTES);
	store_erase_free(txn->store, &k);
	return 0;
}

/* ---- the log-removal step ---- */

int
store_log_dispatch(DB_ENV *env, DBT *rec, DB_LSN *lsn, db_recops op)
{
	/* The filler of store_log_retire changes nothing to redo or undo. */
	return 0;
}

/* ---- schema 3's key files ---- */

/* "0000000000000abc" -> 0xabc; 0 for anything else. */
static uint64_t
store_erase_file_id(const char *name)
{
	char		*end;
	uint64_t	 id;

	if (strlen(name) != 16 || name[0] == '.')
		return 0;
	errno = 0;
	id = strtoull(name, &end, 16);
	if (*end != '\0' || errno != 0)
		return 0;
	return id;
}

/*
 * Schema 3 -> 4, in the upgrade's transaction: the key of every account
 * that exists goes into its slot.  The files stay until the transaction
 * has committed (store_erase_retire_files): a crash before leaves schema
 * 3 with every file, the upgrade runs again at the next open.
 */
int
store_upgrade_v4(struct store_txn *txn)
{
	struct store	*st = txn->store;
	struct dirent	*de;
	DIR		*dir;
	char		 path[PATH_MAX];
	uint8_t		 key[KEY_ACCT], *slot;
	void		*val;
	size_t		 vlen;
	uint64_t	 id, n = 0;
	int		 ret = 0;

	if ((dir = opendir(st->erase_dir)) == NULL) {
		if (errno == ENOENT)
			return 0;
		log_warn("store: opendir %s", st->erase_dir);
		return STORE_EIO;
	}
	if ((slot = sodium_malloc(STORE_ERASE_SLOTBYTES)) == NULL)
		fatalx("sodium_malloc");
	while (ret == 0 && (de = readdir(dir)) != NULL) {
		if ((id = store_erase_file_id(de->d_name)) == 0)
			continue;
		pack_be64(key, id);
		ret = store_db_get(txn, DBI_ACCOUNTS, key, sizeof(key), &val,
		    &vlen);
		if (ret == STORE_ENOTFOUND) {
			ret = 0;	/* an orphan: goes with the files */
			continue;
		}
		if (ret != 0)
			break;
		free(val);
		snprintf(path, sizeof(path), "%s/%s", st->erase_dir,
		    de->d_name);
		if ((ret = store_file_read_into(path, slot)) != 0)
			break;
		slot[STORE_ERASE_KEYBYTES] = STORE_ERASE_LIVE;
		ret = store_erase_write(txn, id, slot);
		sodium_memzero(slot, STORE_ERASE_SLOTBYTES);
		n++;
	}
	closedir(dir);
	sodium_free(slot);
	if (ret == 0 && n > 0)
		log_info("store: %" PRIu64 " erase keys moved from %s into %s",
		    n, st->erase_dir, store_db_names[DBI_ERASE_KEYS]);
	return ret;
}

struct store_retire {
	uint64_t	*ids;
	size_t		 n;
	uint64_t	*keep;		/* a file the slot does not match */
	size_t		 nkeep;
};

/* Which files may go: those whose slot is live, or whose account is gone. */
static int
store_erase_retire_txn(struct store_txn *txn, void *arg)
{
	struct store_retire	*rt = arg;
	uint8_t			 key[KEY_ACCT], *k;
	void			*val;
	size_t			 i, vlen;
	int			 ret;

	rt->nkeep = 0;
	for (i = 0; i < rt->n; i++) {
		if ((ret = store_erase_load(txn, rt->ids[i], &k)) == 0) {
			store_erase_free(txn->store, &k);
			continue;
		}
		if (ret != STORE_ESHREDDED)
			return ret;
		pack_be64(key, rt->ids[i]);
		ret = store_db_get(txn, DBI_ACCOUNTS, key, sizeof(key), &val,
		    &vlen);
		if (ret == STORE_ENOTFOUND)
			continue;
		if (ret != 0)
			return ret;
		free(val);
		rt->keep[rt->nkeep++] = rt->ids[i];
	}
	return 0;
}

int
store_erase_retire_files(struct store *st)
{
	struct store_retire	 rt = { NULL, 0, NULL, 0 };
	struct dirent		*de;
	DIR			*dir;
	char			 path[PATH_MAX];
	uint64_t		 id;
	size_t			 i, k;
	int			 ret = 0, removed = 0;

	if ((dir = opendir(st->erase_dir)) != NULL) {
		while ((de = readdir(dir)) != NULL) {
			if (strncmp(de->d_name, ".tmp.", 5) == 0) {
				snprintf(path, sizeof(path), "%s/%s",
				    st->erase_dir, de->d_name);
				(void)unlink(path);
			}
			if ((id = store_erase_file_id(de->d_name)) == 0)
				continue;
			rt.ids = xreallocarray(rt.ids, rt.n + 1,
			    sizeof(*rt.ids));
			rt.ids[rt.n++] = id;
		}
		closedir(dir);
		rt.keep = xreallocarray(NULL, rt.n + 1, sizeof(*rt.keep));
		ret = store_txn_run(st, store_erase_retire_txn, &rt);
		for (i = 0; ret == 0 && i < rt.n; i++) {
			for (k = 0; k < rt.nkeep; k++)
				if (rt.keep[k] == rt.ids[i])
					break;
			if (k < rt.nkeep) {
				log_warnx("store: %s/%016" PRIx64 " kept: its "
				    "account has no erase key in %s",
				    st->erase_dir, rt.ids[i],
				    store_db_names[DBI_ERASE_KEYS]);
				continue;
			}
			snprintf(path, sizeof(path), "%s/%016" PRIx64,
			    st->erase_dir, rt.ids[i]);
			if ((ret = store_file_shred(path)) == 1) {
				removed++;
				ret = 0;
			}
		}
		if (ret == 0 && rmdir(st->erase_dir) == -1 &&
		    errno != ENOENT && errno != ENOTEMPTY)
			log_warn("store: rmdir %s", st->erase_dir);
		free(rt.ids);
		free(rt.keep);
		if (ret != 0)
			return ret;
		if (removed > 0)
			log_info("store: removed %d erase key files", removed);
	}
	/* meta.db holds it: the schema transaction that read it committed. */
	if ((ret = store_file_shred(st->index_path)) < 0)
		return ret;
	return ret == 1 || removed > 0 ? store_file_sync_dir(st->state_dir) : 0;
}

/* ---- orphans ---- */

struct store_sweep {
	uint64_t	*ids;
	size_t		 n;
	uint64_t	 removed;
};

static int
store_erase_sweep_txn(struct store_txn *txn, void *arg)
{
	struct store_sweep	*sw = arg;
	DB			*db = txn->store->db[DBI_ERASE_KEYS];
	DBC			*cur;
	DBT			 k, v;
	db_recno_t		 r;
	uint8_t			 key[KEY_ACCT], slot[STORE_ERASE_SLOTBYTES];
	void			*val;
	size_t			 i, vlen;
	int			 ret, cret;

	memset(slot, 0, sizeof(slot));
	sw->n = 0;
	sw->removed = 0;
	if ((ret = db->cursor(db, txn->tid, &cur, 0)) != 0)
		return store_db_error("cursor", ret);
	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	k.data = &r;
	k.ulen = sizeof(r);
	k.flags = DB_DBT_USERMEM;
	/* The live flag alone: no key leaves the page. */
	v.data = slot;
	v.ulen = 1;
	v.dlen = 1;
	v.doff = STORE_ERASE_KEYBYTES;
	v.flags = DB_DBT_USERMEM | DB_DBT_PARTIAL;
	while ((ret = cur->get(cur, &k, &v, DB_NEXT)) == 0) {
		if (v.size != 1 || slot[0] != STORE_ERASE_LIVE)
			continue;
		pack_be64(key, (uint64_t)r);
		ret = store_db_get(txn, DBI_ACCOUNTS, key, sizeof(key), &val,
		    &vlen);
		if (ret == 0) {
			free(val);
			continue;
		}
		if (ret != STORE_ENOTFOUND)
			break;
		sw->ids = xreallocarray(sw->ids, sw->n + 1, sizeof(*sw->ids));
		sw->ids[sw->n++] = (uint64_t)r;
	}
	if (ret == DB_NOTFOUND)
		ret = 0;
	else if (ret > 0)
		ret = store_db_error(store_db_names[DBI_ERASE_KEYS], ret);
	if ((cret = cur->close(cur)) != 0 && ret == 0)
		ret = store_db_error("cursor close", cret);
	for (i = 0; ret == 0 && i < sw->n; i++) {
		if ((ret = store_erase_remove(txn, sw->ids[i])) == 0) {
			log_info("store: removed the erase key of deleted "
			    "account %" PRIu64, sw->ids[i]);
			sw->removed++;
		}
	}
	return ret;
}

static int
store_erase_sweep_queue_txn(struct store_txn *txn, void *arg)
{
	uint64_t	*n = arg;

	return store_queue_drop(txn, 0, n);
}

int
store_erase_sweep(struct store *st, uint64_t *removedp)
{
	struct store_sweep	 sw = { NULL, 0, 0 };
	uint64_t		 nq = 0;
	int			 ret;

	ret = store_txn_run(st, store_erase_sweep_txn, &sw);
	free(sw.ids);
	if (removedp != NULL)
		*removedp = ret == 0 ? sw.removed : 0;
	if (ret == 0)
		ret = store_txn_run(st, store_erase_sweep_queue_txn, &nq);
	if (ret == 0 && nq > 0)
		log_info("store: removed %llu queue entries of deleted accounts",
		    (unsigned long long)nq);
	return ret;
}

/* ---- sealed records ---- */

static void
store_seal_ad(struct pack *ad, enum store_dbi dbi, const void *key,
    size_t klen, const uint8_t *hdr)
{
	pack_init(ad);
	pack_str(ad, store_db_names[dbi]);
	pack_blob(ad, key, klen);
	pack_raw(ad, hdr, 1 + 8);
}

void
store_seal(const uint8_t *ek, enum store_dbi dbi, const void *key,
    size_t klen, uint64_t account_id, const void *pt, size_t len,
    struct pack *out)
{
	struct pack	 ad;
	uint8_t		 hdr[STORE_SEALED_HDR], *ct;

	hdr[0] = STORE_SEALED_V1;
	pack_be64(hdr + 1, account_id);
	randombytes_buf(hdr + 9, STORE_SEALED_NONCE);
	store_seal_ad(&ad, dbi, key, klen, hdr);
	ct = xmalloc(len + STORE_SEALED_TAG);
	crypto_aead_xchacha20poly1305_ietf_encrypt(ct, NULL, pt, len, ad.buf,
	    ad.len, NULL, hdr + 9, ek);
	pack_raw(out, hdr, sizeof(hdr));
	pack_raw(out, ct, len + STORE_SEALED_TAG);
	free(ct);
	pack_free(&ad);
}

int
store_sealed_account(const void *val, size_t vlen, uint64_t *idp)
{
	const uint8_t	*v = val;

	if (vlen < STORE_SEALED_HDR + STORE_SEALED_TAG || v[0] != STORE_SEALED_V1)
		return STORE_ECORRUPT;
	*idp = unpack_be64(v + 1);
	return 0;
}

int
store_unseal(const uint8_t *ek, enum store_dbi dbi, const void *key,
    size_t klen, const void *val, size_t vlen, uint8_t **ptp, size_t *lenp)
{
	const uint8_t	*v = val;
	struct pack	 ad;
	uint8_t		*pt;
	size_t		 n;
	int		 ret;

	*ptp = NULL;
	*lenp = 0;
	if (vlen < STORE_SEALED_HDR + STORE_SEALED_TAG || v[0] != STORE_SEALED_V1)
		return STORE_ECORRUPT;
	n = vlen - STORE_SEALED_HDR - STORE_SEALED_TAG;
	pt = xmalloc(n + 1);
	store_seal_ad(&ad, dbi, key, klen, v);
	ret = crypto_aead_xchacha20poly1305_ietf_decrypt(pt, NULL, NULL,
	    v + STORE_SEALED_HDR, vlen - STORE_SEALED_HDR, ad.buf, ad.len,
	    v + 9, ek);
	pack_free(&ad);
	if (ret != 0) {
		free(pt);
		return STORE_ECORRUPT;
	}
	*ptp = pt;
	*lenp = n;
	return 0;
}

void
store_unseal_free(uint8_t **ptp, size_t len)
{
	if (*ptp != NULL) {
		sodium_memzero(*ptp, len);
		free(*ptp);
	}
	*ptp = NULL;
}

int
store_seal_open(struct store_txn *txn, enum store_dbi dbi, const void *key,
    size_t klen, const void *val, size_t vlen, uint64_t *acctp,
    uint8_t **ptp, size_t *lenp)
{
	uint8_t		*ek;
	uint64_t	 id;
	int		 ret;

	*ptp = NULL;
	*lenp = 0;
	if ((ret = store_sealed_account(val, vlen, &id)) != 0)
		return ret;
	if (acctp != NULL)
		*acctp = id;
	if ((ret = store_erase_load(txn, id, &ek)) != 0)
		return ret;
	ret = store_unseal(ek, dbi, key, klen, val, vlen, ptp, lenp);
	store_erase_free(txn->store, &ek);
	return ret;
}

int
store_seal_get(struct store_txn *txn, enum store_dbi dbi, const void *key,
    size_t klen, int rmw, uint64_t *acctp, uint8_t **ptp, size_t *lenp)
{
	void	*val;
	size_t	 vlen;
	int	 ret;

	*ptp = NULL;
	*lenp = 0;
	ret = rmw ? store_db_get_rmw(txn, dbi, key, klen, &val, &vlen) :
	    store_db_get(txn, dbi, key, klen, &val, &vlen);
	if (ret != 0)
		return ret;
	ret = store_seal_open(txn, dbi, key, klen, val, vlen, acctp,
	    ptp, lenp);
	free(val);
	return ret;
}

struct store_seal_iter_arg {
	struct store_txn *txn;
	enum store_dbi	 dbi;
	int		(*fn)(const uint8_t *, size_t, uint64_t,
			    const uint8_t *, size_t, void *);
	void		*arg;
};

static int
store_seal_iter_one(const uint8_t *key, size_t klen, const uint8_t *val,
    size_t vlen, void *arg)
{
	struct store_seal_iter_arg	*ia = arg;
	uint8_t				*pt;
	uint64_t			 owner = 0;
	size_t				 ptlen;
	int				 ret;

	ret = store_seal_open(ia->txn, ia->dbi, key, klen, val, vlen, &owner,
	    &pt, &ptlen);
	if (ret != 0 && ret != STORE_ESHREDDED)
		return ret;
	ret = ia->fn(key, klen, owner, pt, ptlen, ia->arg);
	store_unseal_free(&pt, ptlen);
	return ret;
}

int
store_seal_iter(struct store_txn *txn, enum store_dbi dbi, const void *prefix,
    size_t plen, int (*fn)(const uint8_t *, size_t, uint64_t,
    const uint8_t *, size_t, void *), void *arg)
{
	struct store_seal_iter_arg	 ia = { txn, dbi, fn, arg };

	return store_db_iter(txn, dbi, prefix, plen, NULL, 0,
	    store_seal_iter_one, &ia);
}

int
store_seal_put(struct store_txn *txn, enum store_dbi dbi, const void *key,
    size_t klen, uint64_t account_id, const void *pt, size_t len, int insert)
{
	struct pack	 pk;
	uint8_t		*ek;
	int		 ret;

	if ((ret = store_erase_load(txn, account_id, &ek)) != 0)
		return ret;
	pack_init(&pk);
	store_seal(ek, dbi, key, klen, account_id, pt, len, &pk);
	store_erase_free(txn->store, &ek);
	ret = insert ? store_db_insert(txn, dbi, key, klen, pk.buf, pk.len) :
	    store_db_put(txn, dbi, key, klen, pk.buf, pk.len);
	pack_free(&pk);
	return ret;
}
