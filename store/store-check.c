/*
 * store-check.c: the consistency check behind `guestbox-provision check`.
 *
 * It runs while daemons write: every account is checked in its own
 * transaction, so no lock is held for long, and what it reads is one
 * consistent state of that account.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store-private.h"
#include "xmalloc.h"

struct check_blobref {
	uint64_t	 blob_id;
	uint32_t	 refs;
};

struct check {
	struct store	*st;
	struct store_txn *txn;		/* of the walk in progress */
	void		(*fn)(const char *, void *);
	void		*arg;
	int		 problems;

	/* Per account. */
	uint64_t	 acct;
	uint32_t	 mbox;
	struct check_blobref *refs;
	size_t		 nrefs;
	uint32_t	 count, unseen, maxuid;
	uint64_t	 bytes, maxmodseq;
	uint64_t	*ids;		/* account ids, first pass */
	size_t		 nids;
};

static void	check_problem(struct check *, const char *, ...)
		    printflike(2, 3);

static void
check_problem(struct check *ck, const char *fmt, ...)
{
	char	 buf[512];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	ck->problems++;
	ck->fn(buf, ck->arg);
}

static void
check_ref_add(struct check *ck, uint64_t blob_id)
{
	size_t	 i;

	for (i = 0; i < ck->nrefs; i++)
		if (ck->refs[i].blob_id == blob_id) {
			ck->refs[i].refs++;
			return;
		}
	ck->refs = xreallocarray(ck->refs, ck->nrefs + 1, sizeof(*ck->refs));
	ck->refs[ck->nrefs].blob_id = blob_id;
	ck->refs[ck->nrefs].refs = 1;
	ck->nrefs++;
}

static int
check_msg(const struct store_msg *m, void *arg)
{
	struct check	*ck = arg;

	ck->count++;
	if (!(m->flags & STORE_F_SEEN))
		ck->unseen++;
	ck->bytes += m->size;
	if (m->uid > ck->maxuid)
		ck->maxuid = m->uid;
	if (m->modseq > ck->maxmodseq)
		ck->maxmodseq = m->modseq;
	check_ref_add(ck, m->blob_id);
	return 0;
}

struct check_change {
	struct check		*ck;
	struct store_txn	*txn;
	uint64_t		 maxmodseq;
};

static int
check_change(uint32_t uid, uint64_t modseq, int expunged, void *arg)
{
	struct check_change	*cc = arg;
	struct store_msg	 m;
	int			 ret;

	if (modseq > cc->maxmodseq)
		cc->maxmodseq = modseq;
	ret = store_msg_get(cc->txn, cc->ck->acct, cc->ck->mbox, uid, &m);
	if (expunged) {
		if (ret == 0)
			check_problem(cc->ck, "account %llu mailbox %u: uid %u "
			    "is both present and expunged",
			    (unsigned long long)cc->ck->acct, cc->ck->mbox, uid);
		return ret == STORE_ENOTFOUND || ret == 0 ? 0 : ret;
	}
	if (ret == STORE_ENOTFOUND || (ret == 0 && m.modseq != modseq))
		check_problem(cc->ck, "account %llu mailbox %u: change record "
		    "at modseq %llu does not match uid %u",
		    (unsigned long long)cc->ck->acct, cc->ck->mbox,
		    (unsigned long long)modseq, uid);
	else if (ret != 0)
		return ret;
	return 0;
}

struct check_mbox_ctx {
	struct check		*ck;
	struct store_txn	*txn;
};

static int
check_mailbox(const struct store_mailbox *mb, void *arg)
{
	struct check_mbox_ctx	*mc = arg;
	struct check		*ck = mc->ck;
	struct check_change	 cc = { ck, mc->txn, 0 };
	int			 ret;

	ck->mbox = mb->id;
	ck->count = ck->unseen = ck->maxuid = 0;
	ck->bytes = ck->maxmodseq = 0;
	if ((ret = store_msg_iter(mc->txn, ck->acct, mb->id, 1, UINT32_MAX,
	    check_msg, ck)) != 0)
		return ret;
	if (ck->count != mb->messages || ck->unseen != mb->unseen ||
	    ck->bytes != mb->bytes)
		check_problem(ck, "account %llu mailbox \"%s\": counters say "
		    "%u messages, %u unseen, %llu bytes; found %u, %u, %llu",
		    (unsigned long long)ck->acct, mb->name, mb->messages,
		    mb->unseen, (unsigned long long)mb->bytes, ck->count,
		    ck->unseen, (unsigned long long)ck->bytes);
	if (ck->count > 0 && ck->maxuid >= mb->uidnext)
		check_problem(ck, "account %llu mailbox \"%s\": uid %u is not "
		    "below UIDNEXT %u", (unsigned long long)ck->acct, mb->name,
		    ck->maxuid, mb->uidnext);
	if ((ret = store_changes_iter(mc->txn, ck->acct, mb->id, 0,
	    check_change, &cc)) != 0)
		return ret;
	if (cc.maxmodseq > mb->highestmodseq || ck->maxmodseq > mb->highestmodseq)
		check_problem(ck, "account %llu mailbox \"%s\": a MODSEQ is "
		    "above HIGHESTMODSEQ %llu", (unsigned long long)ck->acct,
		    mb->name, (unsigned long long)mb->highestmodseq);
	return 0;
}

struct check_blob_ctx {
	struct check		*ck;
	struct store_txn	*txn;
};

static int
check_count_chunk(const uint8_t *key, size_t klen, const uint8_t *val,
    size_t vlen, void *arg)
{
	(*(uint32_t *)arg)++;
	return 0;
}

static int
check_blob(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
    void *arg)
{
	struct check_blob_ctx	*bc = arg;
	struct check		*ck = bc->ck;
	struct store_blob_rec	 rec;
	uint64_t		 blob_id;
	uint32_t		 refs = 0, chunks = 0;
	size_t			 i;
	int			 ret;

	if (klen != KEY_BLOB) {
		check_problem(ck, "account %llu: blob key of %zu bytes",
		    (unsigned long long)ck->acct, klen);
		return 0;
	}
	blob_id = unpack_be64(key + 8);
	if (store_blob_rec_decode(val, vlen, &rec) != 0) {
		check_problem(ck, "account %llu: blob %016llx is damaged",
		    (unsigned long long)ck->acct, (unsigned long long)blob_id);
		return 0;
	}
	for (i = 0; i < ck->nrefs; i++)
		if (ck->refs[i].blob_id == blob_id) {
			refs = ck->refs[i].refs;
			ck->refs[i].refs = UINT32_MAX;	/* seen */
			break;
		}
	if (refs != rec.refcount)
		check_problem(ck, "account %llu: blob %016llx has refcount %u "
		    "but %u messages", (unsigned long long)ck->acct,
		    (unsigned long long)blob_id, rec.refcount, refs);
	if ((ret = store_db_iter(bc->txn, DBI_CHUNKS, key, KEY_BLOB, NULL, 0,
	    check_count_chunk, &chunks)) != 0)
		return ret;
	if (chunks != rec.nchunks)
		check_problem(ck, "account %llu: blob %016llx has %u of %u "
		    "chunks", (unsigned long long)ck->acct,
		    (unsigned long long)blob_id, chunks, rec.nchunks);
	return 0;
}

/*
 * Chunks whose blob record is gone: what a free left behind, unless
 * the blob is marked freed while a live process still reads it
 * (store-lease.c); those of a reader that died go when guestbox-imapd
 * starts, and are reported until then.  Chunks come in blob order: each blob is looked at
 * once.
 */
struct check_chunk_ctx {
	struct check		*ck;
	struct store_txn	*txn;
	uint64_t		 last;
	int			 seen;
};

static int
check_chunk_orphan(const uint8_t *key, size_t klen, const uint8_t *val,
    size_t vlen, void *arg)
{
	struct check_chunk_ctx	*cc = arg;
	uint64_t		 blob_id;
	void			*rec;
	size_t			 reclen;
	int			 ret;

	(void)val;
	(void)vlen;
	if (klen < KEY_BLOB)
		return 0;
	blob_id = unpack_be64(key + 8);
	if (cc->seen && blob_id == cc->last)
		return 0;
	cc->seen = 1;
	cc->last = blob_id;
	ret = store_db_get(cc->txn, DBI_BLOBS, key, KEY_BLOB, &rec, &reclen);
	if (ret == 0) {
		free(rec);
		return 0;
	}
	if (ret != STORE_ENOTFOUND)
		return ret;
	if ((ret = store_blob_lease_waiting(cc->txn, cc->ck->acct,
	    blob_id)) < 0)
		return ret;
	if (ret == 0)
		check_problem(cc->ck, "account %llu: chunks of blob %016llx "
		    "without its record (a reader's lease that is gone kept "
		    "them: starting guestbox-imapd frees them)", (unsigned long long)cc->ck->acct,
		    (unsigned long long)blob_id);
	return 0;
}

/* Decrypting is the check: a record that fails stops the walk. */
static int
check_corr(const struct store_corr *c, void *arg)
{
	return 0;
}

static int
check_account_txn(struct store_txn *txn, void *arg)
{
	struct check		*ck = arg;
	struct store_account	 a, b;
	struct check_mbox_ctx	 mc = { ck, txn };
	struct check_blob_ctx	 bc = { ck, txn };
	struct check_chunk_ctx	 cc = { ck, txn, 0, 0 };
	uint8_t			 prefix[8];
	size_t			 i;
	int			 ret;

	/* A rerun after a deadlock starts over. */
	free(ck->refs);
	ck->refs = NULL;
	ck->nrefs = 0;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	if ((ret = store_account_get(txn, ck->acct, &a)) == STORE_ESHREDDED ||
	    ret == STORE_ECORRUPT) {
		check_problem(ck, "account %llu: %s", (unsigned long long)
		    ck->acct, ret == STORE_ESHREDDED ? "its erase key in "
		    "erase-keys.db is missing: nothing of it can be read; "
		    "restore the state directory from a backup" : "the record "
		    "fails to authenticate under its erase key");
		return 0;
	}
	if (ret != 0)
		return ret == STORE_ENOTFOUND ? 0 : ret;	/* deleted since */
	if (store_account_find(txn, a.address, &b) != 0 || b.id != a.id)
		check_problem(ck, "account %llu (%s): address index is wrong",
		    (unsigned long long)a.id, a.address);
	store_account_clear(&b);
	if (store_account_has_invite(&a) &&
	    (store_account_find_token(txn, a.token_id, &b) != 0 ||
	    b.id != a.id))
		check_problem(ck, "account %llu (%s): token index is wrong",
		    (unsigned long long)a.id, a.address);
	store_account_clear(&b);
	store_account_clear(&a);
	if ((ret = store_corr_iter(txn, ck->acct, check_corr, ck)) ==
	    STORE_ECORRUPT)
		check_problem(ck, "account %llu: a correspondent record fails "
		    "to authenticate", (unsigned long long)ck->acct);
	else if (ret != 0)
		return ret;
	if ((ret = store_mailbox_iter(txn, ck->acct, check_mailbox, &mc)) != 0)
		return ret;
	pack_be64(prefix, ck->acct);
	if ((ret = store_db_iter(txn, DBI_BLOBS, prefix, sizeof(prefix), NULL, 0,
	    check_blob, &bc)) != 0)
		return ret;
	if ((ret = store_db_iter(txn, DBI_CHUNKS, prefix, sizeof(prefix), NULL,
	    0, check_chunk_orphan, &cc)) != 0)
		return ret;
	for (i = 0; i < ck->nrefs; i++)
		if (ck->refs[i].refs != UINT32_MAX)
			check_problem(ck, "account %llu: blob %016llx is "
			    "missing", (unsigned long long)ck->acct,
			    (unsigned long long)ck->refs[i].blob_id);
	return 0;
}

/* By key, not by record: an account without its erase key counts too. */
static int
check_collect_id(const uint8_t *key, size_t klen, const uint8_t *val,
    size_t vlen, void *arg)
{
	struct check	*ck = arg;

	if (klen != KEY_ACCT) {
		check_problem(ck, "an account record has a key of %zu bytes",
		    klen);
		return 0;
	}
	ck->ids = xreallocarray(ck->ids, ck->nids + 1, sizeof(*ck->ids));
	ck->ids[ck->nids++] = unpack_be64(key);
	return 0;
}

/* Every queue entry and its data must open under its account's key. */
static int
check_queue_entry(const uint8_t *key, size_t klen, const uint8_t *val,
    size_t vlen, void *arg)
{
	struct check	*ck = arg;
	uint8_t		*pt;
	size_t		 ptlen;
	int		 ret;

	ret = store_seal_open(ck->txn, DBI_QUEUE, key, klen, val, vlen, NULL,
	    &pt, &ptlen);
	store_unseal_free(&pt, ptlen);
	if (ret == STORE_ECORRUPT || ret == STORE_ESHREDDED)
		check_problem(ck, "queue entry %llu: %s", klen == 8 ?
		    (unsigned long long)unpack_be64(key) : 0ULL,
		    store_strerror(ret));
	else if (ret != 0)
		return ret;
	return 0;
}

static int
check_ids_txn(struct store_txn *txn, void *arg)
{
	struct check	*ck = arg;

	free(ck->ids);
	ck->ids = NULL;
	ck->nids = 0;
	return store_db_iter(txn, DBI_ACCOUNTS, "", 0, NULL, 0,
	    check_collect_id, ck);
}

/* Index entries must point at accounts that point back. */
static int
check_index_entry(const uint8_t *key, size_t klen, const uint8_t *val,
    size_t vlen, void *arg)
{
	struct check		*ck = arg;
	size_t			 i;
	uint64_t		 id;

	if (vlen != 8) {
		check_problem(ck, "index entry of %zu bytes", vlen);
		return 0;
	}
	id = unpack_be64(val);
	for (i = 0; i < ck->nids; i++)
		if (ck->ids[i] == id)
			return 0;
	check_problem(ck, "index entry for account %llu, which does not exist",
	    (unsigned long long)id);
	return 0;
}

static int
check_indexes_txn(struct store_txn *txn, void *arg)
{
	struct check	*ck = arg;
	int		 problems = ck->problems, ret;

	ck->txn = txn;
	if ((ret = store_db_iter(txn, DBI_ACCOUNT_ADDR, "", 0, NULL, 0,
	    check_index_entry, ck)) == 0)
		ret = store_db_iter(txn, DBI_ACCOUNT_TOKEN, "", 0, NULL, 0,
		    check_index_entry, ck);
	if (ret == 0)
		ret = store_db_iter(txn, DBI_QUEUE, "", 0, NULL, 0,
		    check_queue_entry, ck);
	if (ret != 0)
		ck->problems = problems;	/* rerun reports again */
	return ret;
}

int
store_check(struct store *st, void (*fn)(const char *, void *), void *arg)
{
	struct check	 ck;
	size_t		 i;
	int		 ret;

	memset(&ck, 0, sizeof(ck));
	ck.st = st;
	ck.fn = fn;
	ck.arg = arg;
	/*
	 * Erase keys of accounts that are gone (a crash after a delete's
	 * commit) go first, with queue entries nobody can read any more.
	 */
	if ((ret = store_erase_sweep(st, NULL)) != 0)
		goto out;
	if ((ret = store_txn_run(st, check_ids_txn, &ck)) != 0)
		goto out;
	for (i = 0; i < ck.nids; i++) {
		ck.acct = ck.ids[i];
		if ((ret = store_txn_run(st, check_account_txn, &ck)) != 0)
			goto out;
	}
	ret = store_txn_run(st, check_indexes_txn, &ck);
out:
	free(ck.refs);
	free(ck.ids);
	return ret != 0 ? ret : ck.problems;
}
