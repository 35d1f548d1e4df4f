/*
 * store-erase.c: per-account erase keys, kept outside Berkeley DB, and
 * the records sealed with them.
 *
 * Berkeley DB does not scrub what it deletes: freed pages, the log files
 * and the region files keep old record images for a long time, and no
 * setting makes that reliable.  So every record that would hold plaintext
 * metadata of an account's mail (the account with its address, its
 * correspondents, its outbound queue) is sealed (XChaCha20-Poly1305)
 * under a random key of that account kept in STATE_DIR/erase/<id>, a file
 * of its own.  Deleting the account unlinks that file after the commit:
 * what Berkeley DB keeps is ciphertext whose key is gone (crypto-
 * shredding), however long it stays on the disk.
 *
 * A sealed record is
 *	u8 STORE_SEALED_V1, be64 account, 24-byte nonce, ciphertext + tag
 * and its associated data names the database and the record's key, so a
 * record cannot be moved to another key or database, nor to another
 * account, without the tag failing.
 *
 * The address index cannot use a key of the account (a login looks the
 * account up by its address), so its key is a keyed hash under a secret
 * of the whole store, STATE_DIR/index.key, made once.
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

static int	store_file_sync_dir(const char *);
static int	store_file_write(const char *, const char *, const void *,
		    size_t, int);
static int	store_file_read_key(const char *, uint8_t **);
static int	store_file_read_into(const char *, uint8_t *);
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

/*
 * Writes a small file durably: a temporary file, fsync, then rename over
 * path (replace) or link to path (not replace: 1 if path exists), then
 * fsync of the directory.
 */
static int
store_file_write(const char *dir, const char *path, const void *buf,
    size_t len, int replace)
{
	char		*tmp;
	ssize_t		 n;
	int		 fd, ret = STORE_EIO;

	xasprintf(&tmp, "%s/.tmp.%ld.%08" PRIx32, dir, (long)getpid(),
	    randombytes_random());
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (fd == -1) {
		ret = errno == ENOSPC || errno == EDQUOT ? STORE_ENOSPC :
		    STORE_EIO;
		log_warn("store: creating %s", tmp);
		free(tmp);
		return ret;
	}
	n = write(fd, buf, len);
	if (n != (ssize_t)len || fsync(fd) == -1) {
		if (n >= 0 && n != (ssize_t)len)
			errno = ENOSPC;		/* a short write: the disk is full */
		ret = errno == ENOSPC || errno == EDQUOT ? STORE_ENOSPC :
		    STORE_EIO;
		log_warn("store: writing %s", tmp);
		close(fd);
		goto fail;
	}
	if (close(fd) == -1) {
		log_warn("store: closing %s", tmp);
		goto fail;
	}
	if (replace) {
		if (rename(tmp, path) == -1) {
			log_warn("store: rename %s to %s", tmp, path);
			goto fail;
		}
	} else {
		if (link(tmp, path) == -1) {
			ret = errno == EEXIST ? 1 : STORE_EIO;
			if (ret != 1)
				log_warn("store: link %s to %s", tmp, path);
			goto fail;
		}
		(void)unlink(tmp);
	}
	free(tmp);
	return store_file_sync_dir(dir);
fail:
	(void)unlink(tmp);
	free(tmp);
	return ret;
}

/* A key file: exactly STORE_ERASE_KEYBYTES into k. */
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

/* The same into new sodium_malloc memory. */
static int
store_file_read_key(const char *path, uint8_t **keyp)
{
	uint8_t	*k;
	int	 ret;

	if ((k = sodium_malloc(STORE_ERASE_KEYBYTES)) == NULL)
		fatalx("sodium_malloc");
	if ((ret = store_file_read_into(path, k)) != 0) {
		sodium_free(k);
		k = NULL;
	}
	*keyp = k;
	return ret;
}

/* ---- the store-wide index secret ---- */

int
store_index_init(struct store *st)
{
	uint8_t	*k;
	int	 ret;

	xasprintf(&st->index_path, "%s/index.key", st->state_dir);
	ret = store_file_read_key(st->index_path, &st->index_key);
	if (ret != STORE_ESHREDDED)
		return ret;
	/* The first process makes it; a racing one reads the winner's. */
	if ((k = sodium_malloc(STORE_ERASE_KEYBYTES)) == NULL)
		fatalx("sodium_malloc");
	randombytes_buf(k, STORE_ERASE_KEYBYTES);
	ret = store_file_write(st->state_dir, st->index_path, k,
	    STORE_ERASE_KEYBYTES, 0);
	sodium_free(k);
	if (ret < 0)
		return ret;
	return store_file_read_key(st->index_path, &st->index_key);
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

static void
store_erase_path(const struct store *st, uint64_t id, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%016" PRIx64, st->erase_dir, id);
}

int
store_erase_create(struct store *st, uint64_t id)
{
	char	 path[PATH_MAX];
	uint8_t	*k;
	int	 ret;

	store_erase_path(st, id, path, sizeof(path));
	if ((k = sodium_malloc(STORE_ERASE_KEYBYTES)) == NULL)
		fatalx("sodium_malloc");
	randombytes_buf(k, STORE_ERASE_KEYBYTES);
	ret = store_file_write(st->erase_dir, path, k, STORE_ERASE_KEYBYTES, 1);
	sodium_free(k);
	return ret;
}

void
store_erase_pool_init(struct store *st)
{
	pthread_mutex_init(&st->erase_lock, NULL);
	if ((st->erase_pool = sodium_malloc(64 * STORE_ERASE_KEYBYTES)) == NULL)
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

/* A free slot of the pool, or NULL when all 64 are taken. */
static uint8_t *
store_erase_slot_get(struct store *st)
{
	uint8_t	*k = NULL;
	int	 i;

	pthread_mutex_lock(&st->erase_lock);
	for (i = 0; i < 64; i++)
		if (!(st->erase_used & ((uint64_t)1 << i))) {
			st->erase_used |= (uint64_t)1 << i;
			k = st->erase_pool + (size_t)i * STORE_ERASE_KEYBYTES;
			break;
		}
	pthread_mutex_unlock(&st->erase_lock);
	return k;
}

int
store_erase_load(struct store *st, uint64_t id, uint8_t **keyp)
{
	char	 path[PATH_MAX];
	uint8_t	*k;
	int	 ret;

	store_erase_path(st, id, path, sizeof(path));
	if ((k = store_erase_slot_get(st)) == NULL)
		return store_file_read_key(path, keyp);
	if ((ret = store_file_read_into(path, k)) != 0) {
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
	    k < st->erase_pool + 64 * STORE_ERASE_KEYBYTES) {
		i = (size_t)(k - st->erase_pool) / STORE_ERASE_KEYBYTES;
		sodium_memzero(k, STORE_ERASE_KEYBYTES);
		pthread_mutex_lock(&st->erase_lock);
		st->erase_used &= ~((uint64_t)1 << i);
		pthread_mutex_unlock(&st->erase_lock);
	} else
		sodium_free(k);
}

int
store_erase_exists(struct store *st, uint64_t id)
{
	char		 path[PATH_MAX];
	struct stat	 sb;

	store_erase_path(st, id, path, sizeof(path));
	return lstat(path, &sb) == 0;
}

/*
 * Overwrites the key, then unlinks it.  The overwrite is for file systems
 * that keep an unlinked file's blocks readable for a while; on flash or a
 * copy-on-write file system it may not reach the old blocks, which is why
 * the key is small and the data is elsewhere.
 */
int
store_erase_remove(struct store *st, uint64_t id)
{
	static const uint8_t zero[STORE_ERASE_KEYBYTES];
	char		 path[PATH_MAX];
	int		 fd, ret = 0;

	store_erase_path(st, id, path, sizeof(path));
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
		ret = STORE_EIO;
	}
	if (ret == 0)
		ret = store_file_sync_dir(st->erase_dir);
	return ret;
}

int
store_erase_hash(struct store *st, uint64_t id, const void *in, size_t len,
    uint8_t out[STORE_ERASE_HASHBYTES])
{
	uint8_t	*k;
	int	 ret;

	if ((ret = store_erase_load(st, id, &k)) != 0)
		return ret;
	crypto_generichash(out, STORE_ERASE_HASHBYTES, in, len, k,
	    STORE_ERASE_KEYBYTES);
	store_erase_free(st, &k);
	return 0;
}

/* ---- orphans ---- */

struct store_sweep {
	uint64_t	 removed;
};

/*
 * Holding "next-account" for writing keeps account creation out while we
 * look: a creation writes its key file after allocating its id (which
 * takes that lock) and before it commits, so no key file we see here
 * belongs to a creation still in flight.
 */
static int
store_erase_sweep_txn(struct store_txn *txn, void *arg)
{
	struct store_sweep	*sw = arg;
	struct store		*st = txn->store;
	struct dirent		*de;
	DIR			*dir;
	char			*end, path[PATH_MAX];
	uint8_t			 key[KEY_ACCT];
	void			*val;
	size_t			 vlen;
	uint64_t		 id;
	int			 ret;

	sw->removed = 0;
	ret = store_db_get_rmw(txn, DBI_META, "next-account", 12, &val, &vlen);
	if (ret == 0)
		free(val);
	else if (ret != STORE_ENOTFOUND)
		return ret;
	if ((dir = opendir(st->erase_dir)) == NULL) {
		log_warn("store: opendir %s", st->erase_dir);
		return STORE_EIO;
	}
	ret = 0;
	while (ret == 0 && (de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.') {
			/* A temporary file of a writer that died. */
			if (strncmp(de->d_name, ".tmp.", 5) == 0) {
				snprintf(path, sizeof(path), "%s/%s",
				    st->erase_dir, de->d_name);
				(void)unlink(path);
			}
			continue;
		}
		if (strlen(de->d_name) != 16)
			continue;
		errno = 0;
		id = strtoull(de->d_name, &end, 16);
		if (*end != '\0' || errno != 0)
			continue;
		pack_be64(key, id);
		ret = store_db_get(txn, DBI_ACCOUNTS, key, sizeof(key), &val,
		    &vlen);
		if (ret == 0) {
			free(val);
			continue;
		}
		if (ret != STORE_ENOTFOUND)
			break;
		ret = store_erase_remove(st, id);
		if (ret == 0) {
			log_info("store: removed the erase key of deleted "
			    "account %" PRIu64, id);
			sw->removed++;
		}
	}
	closedir(dir);
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
	struct store_sweep	 sw = { 0 };
	uint64_t		 nq = 0;
	int			 ret;

	ret = store_txn_run(st, store_erase_sweep_txn, &sw);
	if (removedp != NULL)
		*removedp = ret == 0 ? sw.removed : 0;
	if (ret == 0)
		ret = store_txn_run(st, store_erase_sweep_queue_txn, &nq);
	if (ret == 0 && nq > 0)
		log_info("store: removed %llu queue entries of deleted accounts",
		    (unsigned long long)nq);
	return ret;
}

/* ---- backup ---- */

static int
store_erase_copy(const char *from, const char *todir, const char *to)
{
	uint8_t	*k;
	int	 ret;

	if ((ret = store_file_read_key(from, &k)) != 0)
		return ret == STORE_ESHREDDED ? 0 : ret;
	ret = store_file_write(todir, to, k, STORE_ERASE_KEYBYTES, 1);
	sodium_free(k);
	return ret;
}

int
store_erase_backup(struct store *st, const char *dir)
{
	struct dirent	*de;
	DIR		*d;
	char		*edir, *path;
	char		 from[PATH_MAX];
	int		 ret;

	xasprintf(&edir, "%s/erase", dir);
	xasprintf(&path, "%s/index.key", dir);
	if (mkdir(edir, 0700) == -1 && errno != EEXIST) {
		log_warn("store: mkdir %s", edir);
		ret = STORE_EIO;
		goto out;
	}
	if ((ret = store_erase_copy(st->index_path, dir, path)) != 0)
		goto out;
	if ((d = opendir(st->erase_dir)) == NULL) {
		log_warn("store: opendir %s", st->erase_dir);
		ret = STORE_EIO;
		goto out;
	}
	while (ret == 0 && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || strlen(de->d_name) != 16)
			continue;
		snprintf(from, sizeof(from), "%s/%s", st->erase_dir, de->d_name);
		free(path);
		xasprintf(&path, "%s/%s", edir, de->d_name);
		ret = store_erase_copy(from, edir, path);
	}
	closedir(d);
out:
	free(path);
	free(edir);
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
store_seal_open(struct store *st, enum store_dbi dbi, const void *key,
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
	if ((ret = store_erase_load(st, id, &ek)) != 0)
		return ret;
	ret = store_unseal(ek, dbi, key, klen, val, vlen, ptp, lenp);
	store_erase_free(st, &ek);
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
	ret = store_seal_open(txn->store, dbi, key, klen, val, vlen, acctp,
	    ptp, lenp);
	free(val);
	return ret;
}

struct store_seal_iter_arg {
	struct store	*st;
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

	ret = store_seal_open(ia->st, ia->dbi, key, klen, val, vlen, &owner,
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
	struct store_seal_iter_arg	 ia = { txn->store, dbi, fn, arg };

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

	if ((ret = store_erase_load(txn->store, account_id, &ek)) != 0)
		return ret;
	pack_init(&pk);
	store_seal(ek, dbi, key, klen, account_id, pt, len, &pk);
	store_erase_free(txn->store, &ek);
	ret = insert ? store_db_insert(txn, dbi, key, klen, pk.buf, pk.len) :
	    store_db_put(txn, dbi, key, klen, pk.buf, pk.len);
	pack_free(&pk);
	return ret;
}
