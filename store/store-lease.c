/*
 * store-lease.c: leases on blobs being read across transactions.
 *
 * A large FETCH reads a blob a chunk at a time over many transactions
 * (store_blob_reader, issue 17).  When the last message holding the
 * blob goes (an EXPUNGE, a DELETE), store_blob_unref() deletes its
 * chunks.  The store_blob_freed_fn hook can have a reader of the same
 * process copy the sealed chunks it still needs first (all of a 50 MB
 * message, in memory); another process (another imapd worker,
 * imap_workers > 1) is not told, and its reader would find its next
 * chunk gone after the literal's length went out.  So a reader in any
 * process takes a lease first, and its chunks stay where they are:
 *
 *   leases.db  account (8) | blob (8) | pid (4, big-endian) -> count (4)
 *              account (8) | blob (8) | 0                   -> "" (freed)
 *
 * store_blob_unref() deletes the blob record as before, but leaves the
 * chunks and writes the "freed" marker (pid 0) when a live process (its
 * own too) holds a lease; the last lease dropped then deletes the
 * chunks and the marker.  A lease of a process that is gone (kill
 * says ESRCH: a worker killed mid-stream) counts as none and is
 * deleted wherever it is met; store_blob_lease_sweep(), when a process
 * starts, deletes those and its own stale ones (a pid used again) and
 * frees what only they kept.  A pid reused by an unrelated process only
 * keeps chunks a little longer, never frees them early.
 *
 * The chunks are never reused under a reader either way: blob ids are
 * not given out twice (store_blob_id_next), and a chunk's key names
 * its blob.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "pack.h"
#include "store-private.h"
#include "store.h"
#include "xmalloc.h"

#define KEY_LEASE	(KEY_BLOB + 4)

static void	lease_key(uint8_t k[KEY_LEASE], uint64_t acct, uint64_t blob,
		    uint32_t pid);
static int	lease_pid_alive(uint32_t pid);

static void
lease_key(uint8_t k[KEY_LEASE], uint64_t acct, uint64_t blob, uint32_t pid)
{
	store_key_blob(k, acct, blob);
	pack_be32(k + KEY_BLOB, pid);
}

static int
lease_pid_alive(uint32_t pid)
{
	return kill((pid_t)pid, 0) == 0 || errno != ESRCH;
}

/* What the leases of one blob say (lease_scan). */
struct lease_scan {
	uint32_t	 self;
	int		 look_only;	/* a check: delete nothing */
	int		 live;		/* a lease of a live process is left */
	int		 marked;	/* the blob is freed, its chunks wait */
};

static int
lease_scan_one(const uint8_t *key, size_t klen, const uint8_t *val,
    size_t vlen, void *arg)
{
	struct lease_scan	*ls = arg;
	uint32_t		 pid;

	(void)val;
	(void)vlen;
	if (klen != KEY_LEASE)
		return 0;
	pid = unpack_be32(key + KEY_BLOB);
	if (pid == 0) {
		ls->marked = 1;
		return 0;
	}
	if (pid != ls->self && !lease_pid_alive(pid))
		return ls->look_only ? 0 : STORE_ITER_DELETE;
	ls->live = 1;
	return 0;
}

/* Deletes every record it is shown (the chunks of a freed blob). */
static int
lease_delete_all(const uint8_t *key, size_t klen, const uint8_t *val,
    size_t vlen, void *arg)
{
	(void)key;
	(void)klen;
	(void)val;
	(void)vlen;
	(void)arg;
	return STORE_ITER_DELETE;
}

/* The chunks of a freed blob and its marker, once nobody reads it. */
static int
lease_free_chunks(struct store_txn *txn, uint64_t acct, uint64_t blob)
{
	uint8_t	 key[KEY_LEASE];
	int	 ret;

	lease_key(key, acct, blob, 0);
	if ((ret = store_db_del(txn, DBI_LEASES, key, sizeof(key))) != 0 &&
	    ret != STORE_ENOTFOUND)
		return ret;
	return store_db_iter(txn, DBI_CHUNKS, key, KEY_BLOB, NULL, 0,
	    lease_delete_all, NULL);
}

int
store_blob_lease_take(struct store_txn *txn, uint64_t acct, uint64_t blob)
{
	uint8_t		 key[KEY_LEASE], v[4];
	void		*val;
	size_t		 vlen;
	uint32_t	 n = 0;
	int		 ret;

	/*
	 * Freed since the reader opened it: its chunks are there only if
	 * another reader's lease keeps them (the freed marker).
	 */
	lease_key(key, acct, blob, 0);
	ret = store_db_get(txn, DBI_BLOBS, key, KEY_BLOB, &val, &vlen);
	if (ret == STORE_ENOTFOUND)
		ret = store_db_get(txn, DBI_LEASES, key, sizeof(key), &val,
		    &vlen);
	if (ret != 0)
		return ret;
	free(val);
	lease_key(key, acct, blob, (uint32_t)getpid());
	ret = store_db_get_rmw(txn, DBI_LEASES, key, sizeof(key), &val, &vlen);
	if (ret == 0) {
		if (vlen == 4)
			n = unpack_be32(val);
		free(val);
	} else if (ret != STORE_ENOTFOUND)
		return ret;
	pack_be32(v, n + 1);
	return store_db_put(txn, DBI_LEASES, key, sizeof(key), v, sizeof(v));
}

int
store_blob_lease_drop(struct store_txn *txn, uint64_t acct, uint64_t blob)
{
	struct lease_scan	 ls;
	uint8_t			 key[KEY_LEASE], v[4];
	void			*val;
	size_t			 vlen;
	uint32_t		 n = 0;
	int			 ret;

	lease_key(key, acct, blob, (uint32_t)getpid());
	ret = store_db_get_rmw(txn, DBI_LEASES, key, sizeof(key), &val, &vlen);
	if (ret == 0) {
		if (vlen == 4)
			n = unpack_be32(val);
		free(val);
		if (n > 1) {
			pack_be32(v, n - 1);
			return store_db_put(txn, DBI_LEASES, key, sizeof(key),
			    v, sizeof(v));
		}
		if ((ret = store_db_del(txn, DBI_LEASES, key,
		    sizeof(key))) != 0)
			return ret;
	} else if (ret != STORE_ENOTFOUND)
		return ret;
	memset(&ls, 0, sizeof(ls));
	ls.self = (uint32_t)getpid();
	if ((ret = store_db_iter(txn, DBI_LEASES, key, KEY_BLOB, NULL, 0,
	    lease_scan_one, &ls)) != 0)
		return ret;
	if (ls.marked && !ls.live)
		return lease_free_chunks(txn, acct, blob);
	return 0;
}

int
store_blob_lease_defer(struct store_txn *txn, uint64_t acct, uint64_t blob,
    int *deferredp)
{
	struct lease_scan	 ls;
	uint8_t			 key[KEY_LEASE];
	int			 ret;

	*deferredp = 0;
	memset(&ls, 0, sizeof(ls));
	ls.self = (uint32_t)getpid();
	lease_key(key, acct, blob, 0);
	if ((ret = store_db_iter(txn, DBI_LEASES, key, KEY_BLOB, NULL, 0,
	    lease_scan_one, &ls)) != 0)
		return ret;
	if (!ls.live)
		return 0;
	*deferredp = 1;
	return store_db_put(txn, DBI_LEASES, key, sizeof(key), "", 0);
}

/* The sweep: stale leases out, freed blobs that waited on them noted. */
struct lease_sweep {
	uint32_t	 self;
	uint8_t		(*marked)[KEY_BLOB];
	size_t		 nmarked;
};

static int
lease_sweep_one(const uint8_t *key, size_t klen, const uint8_t *val,
    size_t vlen, void *arg)
{
	struct lease_sweep	*sw = arg;
	uint32_t		 pid;

	(void)val;
	(void)vlen;
	if (klen != KEY_LEASE)
		return STORE_ITER_DELETE;
	pid = unpack_be32(key + KEY_BLOB);
	if (pid == 0) {
		sw->marked = xreallocarray(sw->marked, sw->nmarked + 1,
		    sizeof(*sw->marked));
		memcpy(sw->marked[sw->nmarked++], key, KEY_BLOB);
		return 0;
	}
	/* Ours are a former process's: this one has read nothing yet. */
	if (pid == sw->self || !lease_pid_alive(pid))
		return STORE_ITER_DELETE;
	return 0;
}

static int
lease_sweep_txn(struct store_txn *txn, void *arg)
{
	struct lease_sweep	*sw = arg;
	struct lease_scan	 ls;
	size_t			 i;
	int			 ret;

	free(sw->marked);
	sw->marked = NULL;
	sw->nmarked = 0;
	/* All of them: the empty prefix (not NULL: it goes to memcmp). */
	if ((ret = store_db_iter(txn, DBI_LEASES, "", 0, NULL, 0,
	    lease_sweep_one, sw)) != 0)
		return ret;
	for (i = 0; i < sw->nmarked; i++) {
		memset(&ls, 0, sizeof(ls));
		ls.self = sw->self;
		if ((ret = store_db_iter(txn, DBI_LEASES, sw->marked[i],
		    KEY_BLOB, NULL, 0, lease_scan_one, &ls)) != 0)
			return ret;
		if (!ls.live && (ret = lease_free_chunks(txn,
		    unpack_be64(sw->marked[i]), unpack_be64(sw->marked[i] +
		    8))) != 0)
			return ret;
	}
	return 0;
}

int
store_blob_lease_sweep(struct store *st)
{
	struct lease_sweep	 sw;
	int			 ret;

	memset(&sw, 0, sizeof(sw));
	sw.self = (uint32_t)getpid();
	ret = store_txn_run(st, lease_sweep_txn, &sw);
	free(sw.marked);
	return ret;
}

int
store_blob_lease_waiting(struct store_txn *txn, uint64_t acct, uint64_t blob)
{
	struct lease_scan	 ls;
	uint8_t			 key[KEY_LEASE];
	int			 ret;

	memset(&ls, 0, sizeof(ls));
	ls.self = (uint32_t)getpid();
	ls.look_only = 1;
	lease_key(key, acct, blob, 0);
	if ((ret = store_db_iter(txn, DBI_LEASES, key, KEY_BLOB, NULL, 0,
	    lease_scan_one, &ls)) != 0)
		return ret;
	return ls.marked && ls.live;
}
