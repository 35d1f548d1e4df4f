/*
 * store-msg.c: messages, their sealed content, MODSEQs and the Message-ID
 * index.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "log.h"
#include "store-private.h"
#include "xmalloc.h"

struct store_blob_chunk {
	uint8_t		*ct;
	size_t		 len;
};

struct store_blob {
	uint64_t		 account_id;
	uint64_t		 blob_id;
	struct vault_msgkey	*mk;
	uint8_t			 sealed_key[VAULT_SEALEDKEYBYTES];
	uint8_t			*pending;	/* plaintext not yet sealed */
	size_t			 npending;
	uint64_t		 size;
	struct store_blob_chunk	*chunks;
	uint32_t		 nchunks;
	uint8_t			*aux;		/* sealed */
	size_t			 auxlen;
	int			 finished;
};

/* ---- sealing in memory ---- */

/*
 * The plaintext chunk of each message being stored (APPEND, LMTP): one
 * slot, not a sodium_malloc() and its eight system calls per message.
 */
static struct xsecret_slots	 store_blob_pending_slots =
    XSECRET_SLOTS_INIT(VAULT_CHUNK);

struct store_blob *
store_blob_new(uint64_t account_id, const uint8_t pk[32])
{
	struct store_blob	*b = xcalloc(1, sizeof(*b));

	b->account_id = account_id;
	/* Random ids: no counter to contend on, no order to leak. */
	randombytes_buf(&b->blob_id, sizeof(b->blob_id));
	b->mk = vault_msgkey_new();
	vault_msgkey_seal(b->mk, pk, b->sealed_key);
	b->pending = xsecret_slot_get(&store_blob_pending_slots);
	return b;
}

static void
store_blob_seal_pending(struct store_blob *b, int final)
{
	struct vault_chunk_ad	 ad;
	struct store_blob_chunk	*c;

	b->chunks = xreallocarray(b->chunks, b->nchunks + 1, sizeof(*b->chunks));
	c = &b->chunks[b->nchunks];
	c->len = b->npending + VAULT_CHUNK_OVERHEAD;
	c->ct = xmalloc(c->len);
	ad.account_id = b->account_id;
	ad.blob_id = b->blob_id;
	ad.index = b->nchunks;
	ad.final = (uint8_t)final;
	vault_chunk_encrypt(b->mk, &ad, b->pending, b->npending, c->ct);
	b->nchunks++;
	sodium_memzero(b->pending, b->npending);
	b->npending = 0;
}

void
store_blob_write(struct store_blob *b, const void *data, size_t len)
{
	const uint8_t	*p = data;
	size_t		 n;

	if (b->finished)
		fatalx("store_blob_write after finish");
	while (len > 0) {
		/*
		 * A full chunk is sealed only when more data follows, so the
		 * last chunk is always sealed by finish with its final mark.
		 */
		if (b->npending == VAULT_CHUNK)
			store_blob_seal_pending(b, 0);
		n = VAULT_CHUNK - b->npending;
		if (n > len)
			n = len;
		memcpy(b->pending + b->npending, p, n);
		b->npending += n;
		b->size += n;
		p += n;
		len -= n;
	}
}

void
store_blob_finish(struct store_blob *b, const void *aux, size_t auxlen)
{
	if (b->finished)
		fatalx("store_blob_finish twice");
	store_blob_seal_pending(b, 1);
	if (aux != NULL && auxlen > 0) {
		b->auxlen = auxlen + VAULT_AUX_OVERHEAD;
		b->aux = xmalloc(b->auxlen);
		vault_aux_encrypt(b->mk, b->account_id, b->blob_id, aux, auxlen,
		    b->aux);
	}
	b->finished = 1;
	xsecret_slot_put(&store_blob_pending_slots, b->pending);
	b->pending = NULL;
	vault_msgkey_free(&b->mk);
}

uint64_t
store_blob_size(const struct store_blob *b)
{
	return b->size;
}

void
store_blob_free(struct store_blob **bp)
{
	struct store_blob	*b = *bp;
	uint32_t		 i;

	if (b == NULL)
		return;
	for (i = 0; i < b->nchunks; i++)
		free(b->chunks[i].ct);
	free(b->chunks);
	free(b->aux);
	xsecret_slot_put(&store_blob_pending_slots, b->pending);
	vault_msgkey_free(&b->mk);
	free(b);
	*bp = NULL;
}

struct store_blob *
store_blob_seal(uint64_t account_id, const uint8_t pk[32], const void *data,
    size_t len, const void *aux, size_t auxlen)
{
	struct store_blob	*b = store_blob_new(account_id, pk);

	store_blob_write(b, data, len);
	store_blob_finish(b, aux, auxlen);
	return b;
}

/* ---- blobs in the database ---- */

static void
store_key_chunk(uint8_t k[KEY_CHUNK], uint64_t acct, uint64_t blob,
    uint32_t idx)
{
	store_key_blob(k, acct, blob);
	pack_be32(k + KEY_BLOB, idx);
}

static int
store_blob_put_rec(struct store_txn *txn, uint64_t acct, uint64_t blob_id,
    const struct store_blob_rec *rec, int insert)
{
	struct pack	 pk;
	uint8_t		 key[KEY_BLOB];
	int		 ret;

	store_key_blob(key, acct, blob_id);
	pack_init(&pk);
	store_blob_rec_encode(rec, &pk);
	ret = insert ? store_db_insert(txn, DBI_BLOBS, key, sizeof(key), pk.buf,
	    pk.len) : store_db_put(txn, DBI_BLOBS, key, sizeof(key), pk.buf,
	    pk.len);
	pack_free(&pk);
	return ret;
}

static int
store_blob_insert(struct store_txn *txn, const struct store_blob *b)
{
	struct store_blob_rec	 rec;
	uint8_t			 key[KEY_CHUNK];
	uint32_t		 i;
	int			 ret;

	memset(&rec, 0, sizeof(rec));
	rec.refcount = 1;
	rec.size = b->size;
	rec.nchunks = b->nchunks;
	memcpy(rec.sealed_key, b->sealed_key, sizeof(rec.sealed_key));
	rec.aux = b->aux;
	rec.auxlen = b->auxlen;
	ret = store_blob_put_rec(txn, b->account_id, b->blob_id, &rec, 1);
	if (ret == STORE_EEXIST) {
		/* 64 random bits collided, or a blob was stored twice. */
		log_warnx("store: blob id collision");
		return STORE_EIO;
	}
	for (i = 0; ret == 0 && i < b->nchunks; i++) {
		store_key_chunk(key, b->account_id, b->blob_id, i);
		ret = store_db_put(txn, DBI_CHUNKS, key, sizeof(key),
		    b->chunks[i].ct, b->chunks[i].len);
	}
	return ret;
}

/* Reads a blob record; *rawp keeps the bytes rec->aux points into. */
static int
store_blob_get_rec(struct store_txn *txn, uint64_t acct, uint64_t blob_id,
    struct store_blob_rec *rec, void **rawp, int rmw)
{
	uint8_t		 key[KEY_BLOB];
	size_t		 vlen;
	int		 ret;

	store_key_blob(key, acct, blob_id);
	ret = rmw ? store_db_get_rmw(txn, DBI_BLOBS, key, sizeof(key), rawp,
	    &vlen) : store_db_get(txn, DBI_BLOBS, key, sizeof(key), rawp, &vlen);
	if (ret != 0)
		return ret;
	if ((ret = store_blob_rec_decode(*rawp, vlen, rec)) != 0) {
		free(*rawp);
		*rawp = NULL;
	}
	return ret;
}

static int
store_blob_ref(struct store_txn *txn, uint64_t acct, uint64_t blob_id)
{
	struct store_blob_rec	 rec;
	void			*raw;
	int			 ret;

	if ((ret = store_blob_get_rec(txn, acct, blob_id, &rec, &raw, 1)) != 0)
		return ret;
	if (rec.refcount == UINT32_MAX)
		ret = STORE_ELIMIT;
	else {
		rec.refcount++;
		ret = store_blob_put_rec(txn, acct, blob_id, &rec, 0);
	}
	free(raw);
	return ret;
}

/* A store_db_iter() callback that deletes every record it is shown. */
static int
store_iter_delete_all(const uint8_t *key, size_t klen, const uint8_t *val,
    size_t vlen, void *arg)
{
	return STORE_ITER_DELETE;
}

int
store_blob_unref(struct store_txn *txn, uint64_t acct, uint64_t blob_id)
{
	struct store_blob_rec	 rec;
	uint8_t			 key[KEY_BLOB];
	void			*raw;
	int			 ret, deferred;

	if ((ret = store_blob_get_rec(txn, acct, blob_id, &rec, &raw, 1)) != 0)
		return ret;
	if (rec.refcount > 1) {
		rec.refcount--;
		ret = store_blob_put_rec(txn, acct, blob_id, &rec, 0);
		free(raw);
		return ret;
	}
	free(raw);
	if (txn->store->blob_freed != NULL && (ret = txn->store->blob_freed(txn,
	    acct, blob_id, txn->store->blob_freed_arg)) != 0)
		return ret;
	store_key_blob(key, acct, blob_id);
	if ((ret = store_db_del(txn, DBI_BLOBS, key, sizeof(key))) != 0)
		return ret;
	/* Another process streams it: its last lease deletes the chunks. */
	if ((ret = store_blob_lease_defer(txn, acct, blob_id,
	    &deferred)) != 0 || deferred)
		return ret;
	return store_db_iter(txn, DBI_CHUNKS, key, sizeof(key), NULL, 0,
	    store_iter_delete_all, NULL);
}

/* ---- message records ---- */

static int
store_msg_put(struct store_txn *txn, uint64_t acct, uint32_t mbox,
    const struct store_msg *m)
{
	struct pack	 pk;
	uint8_t		 key[KEY_MSG];
	int		 ret;

	store_key_msg(key, acct, mbox, m->uid);
	pack_init(&pk);
	store_msg_encode(m, &pk);
	ret = store_db_put(txn, DBI_MESSAGES, key, sizeof(key), pk.buf, pk.len);
	pack_free(&pk);
	return ret;
}

static int
store_change_put(struct store_txn *txn, uint64_t acct, uint32_t mbox,
    uint64_t modseq, uint32_t uid, int expunged)
{
	uint8_t	 key[KEY_CHANGE], val[5];

	store_key_mbox(key, acct, mbox);
	pack_be64(key + KEY_MBOX, modseq);
	pack_be32(val, uid);
	val[4] = expunged != 0;
	return store_db_put(txn, DBI_CHANGES, key, sizeof(key), val, sizeof(val));
}

static int
store_change_del(struct store_txn *txn, uint64_t acct, uint32_t mbox,
    uint64_t modseq)
{
	uint8_t	 key[KEY_CHANGE];
	int	 ret;

	store_key_mbox(key, acct, mbox);
	pack_be64(key + KEY_MBOX, modseq);
	ret = store_db_del(txn, DBI_CHANGES, key, sizeof(key));
	return ret == STORE_ENOTFOUND ? STORE_ECORRUPT : ret;
}

static int
store_msg_fetch(struct store_txn *txn, uint64_t acct, uint32_t mbox,
    uint32_t uid, struct store_msg *m, int rmw)
{
	uint8_t		 key[KEY_MSG];
	void		*val;
	size_t		 vlen;
	int		 ret;

	store_key_msg(key, acct, mbox, uid);
	ret = rmw ? store_db_get_rmw(txn, DBI_MESSAGES, key, sizeof(key), &val,
	    &vlen) : store_db_get(txn, DBI_MESSAGES, key, sizeof(key), &val,
	    &vlen);
	if (ret != 0)
		return ret;
	ret = store_msg_decode(val, vlen, m);
	free(val);
	m->uid = uid;
	return ret;
}

int
store_msg_get(struct store_txn *txn, uint64_t acct, uint32_t mbox,
    uint32_t uid, struct store_msg *m)
{
	return store_msg_fetch(txn, acct, mbox, uid, m, 0);
}

int
store_msg_holds_blob(struct store_txn *txn, uint64_t acct, uint32_t mbox,
    uint32_t uid, const struct store_blob *b)
{
	struct store_msg	 m;
	int			 ret;

	if ((ret = store_msg_fetch(txn, acct, mbox, uid, &m, 0)) != 0)
		return ret == STORE_ENOTFOUND ? 0 : ret;
	/* 64 random bits, drawn for this blob: no other message has them. */
	return m.blob_id == b->blob_id;
}

/* Gives a message the mailbox's next MODSEQ and files it in the index. */
static int
store_msg_bump(struct store_txn *txn, struct store_mailbox *mb,
    struct store_msg *m, int had_modseq)
{
	int	 ret;

	if (had_modseq &&
	    (ret = store_change_del(txn, mb->account_id, mb->id, m->modseq)) != 0)
		return ret;
	m->modseq = ++mb->highestmodseq;
	return store_change_put(txn, mb->account_id, mb->id, m->modseq, m->uid, 0);
}

/*
 * Whether a message of size bytes fits into mb: the account's quota and
 * the UID space (RFC 3501 2.3.1.1: UIDs ascend strictly; 2^32-1 is the
 * last).  STORE_ELIMIT if not.
 */
static int
store_msg_room(struct store_txn *txn, const struct store_mailbox *mb,
    uint64_t size)
{
	uint64_t	 used;
	int		 ret;

	if (txn->store->opts.quota != 0) {
		if ((ret = store_account_usage(txn, mb->account_id, &used)) != 0)
			return ret;
		if (used + size > txn->store->opts.quota)
			return STORE_ELIMIT;
	}
	if (mb->uidnext == UINT32_MAX || mb->messages == UINT32_MAX)
		return STORE_ELIMIT;
	return 0;
}

/*
 * Files a new message m (its blob referenced already) into mb: the next
 * UID and MODSEQ, the counters, both records and the notification.
 */
static int
store_msg_file(struct store_txn *txn, struct store_mailbox *mb,
    struct store_msg *m)
{
	int	 ret;

	m->uid = mb->uidnext++;
	m->savedate = txn->now;
	if ((ret = store_msg_bump(txn, mb, m, 0)) != 0)
		return ret;
	mb->messages++;
	if ((m->flags & STORE_F_SEEN) == 0)
		mb->unseen++;
	mb->bytes += m->size;
	if ((ret = store_msg_put(txn, mb->account_id, mb->id, m)) != 0 ||
	    (ret = store_mailbox_put(txn, mb)) != 0)
		return ret;
	store_txn_notify(txn, mb->account_id, mb->id, mb->highestmodseq);
	return 0;
}

int
store_msg_append(struct store_txn *txn, uint64_t acct, uint32_t mbox_id,
    const struct store_blob *b, uint32_t flags, uint64_t keywords,
    int64_t internaldate, struct store_msg *out)
{
	struct store_mailbox	 mb;
	struct store_msg	 m;
	int			 ret;

	if (!b->finished || b->account_id != acct)
		fatalx("store_msg_append: blob not finished or not this account's");
	memset(&mb, 0, sizeof(mb));
	if ((ret = store_mailbox_get(txn, acct, mbox_id, &mb)) != 0)
		return ret;
	if ((ret = store_msg_room(txn, &mb, b->size)) != 0)
		goto out;
	if ((ret = store_blob_insert(txn, b)) != 0)
		goto out;
	memset(&m, 0, sizeof(m));
	m.flags = flags & STORE_F_ALL;
	m.keywords = keywords;
	m.internaldate = internaldate != 0 ? internaldate : txn->now;
	m.size = b->size;
	m.blob_id = b->blob_id;
	if ((ret = store_msg_file(txn, &mb, &m)) != 0)
		goto out;
	if (out != NULL)
		*out = m;
out:
	store_mailbox_clear(&mb);
	return ret;
}

struct store_msg_iter_arg {
	int		(*fn)(const struct store_msg *, void *);
	void		*arg;
	uint32_t	 last;
};

static int
store_msg_iter_one(const uint8_t *key, size_t klen, const uint8_t *val,
    size_t vlen, void *arg)
{
	struct store_msg_iter_arg	*ia = arg;
	struct store_msg		 m;
	int				 ret;

	if (klen != KEY_MSG)
		return STORE_ECORRUPT;
	if ((ret = store_msg_decode(val, vlen, &m)) != 0)
		return ret;
	m.uid = unpack_be32(key + KEY_MBOX);
	if (m.uid > ia->last)
		return 1;
	return ia->fn(&m, ia->arg);
}

int
store_msg_iter(struct store_txn *txn, uint64_t acct, uint32_t mbox,
    uint32_t first, uint32_t last, int (*fn)(const struct store_msg *, void *),
    void *arg)
{
	struct store_msg_iter_arg ia = { fn, arg, last };
	uint8_t		 prefix[KEY_MBOX], start[KEY_MSG];
	int		 ret;

	store_key_mbox(prefix, acct, mbox);
	store_key_msg(start, acct, mbox, first);
	ret = store_db_iter(txn, DBI_MESSAGES, prefix, sizeof(prefix), start,
	    sizeof(start), store_msg_iter_one, &ia);
	return ret == 1 ? 0 : ret;
}

static void
store_mailbox_count_flags(struct store_mailbox *mb, uint32_t oldflags,
    uint32_t newflags)
{
	if ((oldflags & STORE_F_SEEN) && !(newflags & STORE_F_SEEN))
		mb->unseen++;
	else if (!(oldflags & STORE_F_SEEN) && (newflags & STORE_F_SEEN) &&
	    mb->unseen > 0)
		mb->unseen--;
}

int
store_msg_store(struct store_txn *txn, uint64_t acct, uint32_t mbox,
    uint32_t uid, uint32_t flags, uint64_t keywords, uint64_t unchangedsince,
    struct store_msg *out)
{
	struct store_mailbox	 mb;
	struct store_msg	 m;
	int			 ret;

	memset(&mb, 0, sizeof(mb));
	if ((ret = store_mailbox_get(txn, acct, mbox, &mb)) != 0)
		return ret;
	if ((ret = store_msg_fetch(txn, acct, mbox, uid, &m, 1)) != 0)
		goto out;
	/* RFC 7162 3.1.3: UNCHANGEDSINCE fails if the MODSEQ is higher. */
	if (unchangedsince != 0 && m.modseq > unchangedsince) {
		ret = STORE_EMODIFIED;
		goto out;
	}
	flags &= STORE_F_ALL;
	if (m.flags == flags && m.keywords == keywords)
		goto done;
	store_mailbox_count_flags(&mb, m.flags, flags);
	m.flags = flags;
	m.keywords = keywords;
	if ((ret = store_msg_bump(txn, &mb, &m, 1)) != 0 ||
	    (ret = store_msg_put(txn, acct, mbox, &m)) != 0 ||
	    (ret = store_mailbox_put(txn, &mb)) != 0)
		goto out;
	store_txn_notify(txn, acct, mbox, mb.highestmodseq);
done:
	if (out != NULL)
		*out = m;
out:
	store_mailbox_clear(&mb);
	return ret;
}

/* Maps keyword bits of one mailbox onto another's, adding names there. */
static int
store_keywords_remap(struct store_txn *txn, const struct store_mailbox *from,
    struct store_mailbox *to, uint64_t kw, uint64_t *outp)
{
	unsigned	 i, bit;
	int		 ret;

	*outp = 0;
	for (i = 0; i < from->nkeywords && i < 64; i++) {
		if ((kw & (1ULL << i)) == 0)
			continue;
		ret = store_mailbox_keyword(txn, to, from->keywords[i], 1, &bit);
		if (ret == STORE_EKEYWORDS)
			continue;	/* the copy loses what does not fit */
		if (ret != 0)
			return ret;
		*outp |= 1ULL << bit;
	}
	return 0;
}

int
store_msg_copy(struct store_txn *txn, uint64_t acct, uint32_t from_id,
    uint32_t uid, uint32_t to_id, uint32_t *newuidp)
{
	struct store_mailbox	 from, to;
	struct store_msg	 m;
	int			 ret;

	memset(&from, 0, sizeof(from));
	memset(&to, 0, sizeof(to));
	if ((ret = store_msg_fetch(txn, acct, from_id, uid, &m, 0)) != 0)
		return ret;
	if ((ret = store_mailbox_get(txn, acct, to_id, &to)) != 0)
		goto out;
	if (from_id != to_id) {
		if ((ret = store_mailbox_get(txn, acct, from_id, &from)) != 0 ||
		    (ret = store_keywords_remap(txn, &from, &to, m.keywords,
		    &m.keywords)) != 0)
			goto out;
	}
	if ((ret = store_msg_room(txn, &to, m.size)) != 0 ||
	    (ret = store_blob_ref(txn, acct, m.blob_id)) != 0 ||
	    (ret = store_msg_file(txn, &to, &m)) != 0)
		goto out;
	if (newuidp != NULL)
		*newuidp = m.uid;
out:
	store_mailbox_clear(&from);
	store_mailbox_clear(&to);
	return ret;
}

int
store_msg_expunge(struct store_txn *txn, uint64_t acct, uint32_t mbox,
    uint32_t uid)
{
	struct store_mailbox	 mb;
	struct store_msg	 m;
	uint8_t			 key[KEY_MSG];
	int			 ret;

	memset(&mb, 0, sizeof(mb));
	if ((ret = store_mailbox_get(txn, acct, mbox, &mb)) != 0)
		return ret;
	if ((ret = store_msg_fetch(txn, acct, mbox, uid, &m, 1)) != 0)
		goto out;
	store_key_msg(key, acct, mbox, uid);
	if ((ret = store_db_del(txn, DBI_MESSAGES, key, sizeof(key))) != 0 ||
	    (ret = store_change_del(txn, acct, mbox, m.modseq)) != 0)
		goto out;
	/* RFC 7162 3.2.10: VANISHED needs the expunge's own MODSEQ. */
	if ((ret = store_change_put(txn, acct, mbox, ++mb.highestmodseq, uid,
	    1)) != 0)
		goto out;
	if (mb.messages > 0)
		mb.messages--;
	if ((m.flags & STORE_F_SEEN) == 0 && mb.unseen > 0)
		mb.unseen--;
	mb.bytes = mb.bytes >= m.size ? mb.bytes - m.size : 0;
	if ((ret = store_mailbox_put(txn, &mb)) != 0 ||
	    (ret = store_blob_unref(txn, acct, m.blob_id)) != 0)
		goto out;
	store_txn_notify(txn, acct, mbox, mb.highestmodseq);
out:
	store_mailbox_clear(&mb);
	return ret;
}

struct store_delete_all {
	uint64_t	*blobs;
	size_t		 n;
};

static int
store_msg_delete_one(const uint8_t *key, size_t klen, const uint8_t *val,
    size_t vlen, void *arg)
{
	struct store_delete_all	*da = arg;
	struct store_msg	 m;
	int			 ret;

	if ((ret = store_msg_decode(val, vlen, &m)) != 0)
		return ret;
	da->blobs = xreallocarray(da->blobs, da->n + 1, sizeof(*da->blobs));
	da->blobs[da->n++] = m.blob_id;
	return STORE_ITER_DELETE;
}

int
store_msg_delete_all(struct store_txn *txn, uint64_t acct, uint32_t mbox)
{
	struct store_delete_all	 da = { NULL, 0 };
	uint8_t			 prefix[KEY_MBOX];
	size_t			 i;
	int			 ret;

	store_key_mbox(prefix, acct, mbox);
	ret = store_db_iter(txn, DBI_MESSAGES, prefix, sizeof(prefix), NULL, 0,
	    store_msg_delete_one, &da);
	for (i = 0; ret == 0 && i < da.n; i++)
		ret = store_blob_unref(txn, acct, da.blobs[i]);
	free(da.blobs);
	if (ret == 0)
		ret = store_db_iter(txn, DBI_CHANGES, prefix, sizeof(prefix),
		    NULL, 0, store_iter_delete_all, NULL);
	return ret;
}

struct store_changes_arg {
	int		(*fn)(uint32_t, uint64_t, int, void *);
	void		*arg;
};

static int
store_changes_one(const uint8_t *key, size_t klen, const uint8_t *val,
    size_t vlen, void *arg)
{
	struct store_changes_arg	*ca = arg;

	if (klen != KEY_CHANGE || vlen != 5)
		return STORE_ECORRUPT;
	return ca->fn(unpack_be32(val), unpack_be64(key + KEY_MBOX), val[4],
	    ca->arg);
}

int
store_changes_iter(struct store_txn *txn, uint64_t acct, uint32_t mbox,
    uint64_t since, int (*fn)(uint32_t, uint64_t, int, void *), void *arg)
{
	struct store_changes_arg ca = { fn, arg };
	uint8_t		 prefix[KEY_MBOX], start[KEY_CHANGE];

	if (since == UINT64_MAX)
		return 0;
	store_key_mbox(prefix, acct, mbox);
	memcpy(start, prefix, sizeof(prefix));
	pack_be64(start + KEY_MBOX, since + 1);
	return store_db_iter(txn, DBI_CHANGES, prefix, sizeof(prefix), start,
	    sizeof(start), store_changes_one, &ca);
}

/* ---- reading content ---- */

static int
store_blob_key_open(struct store_txn *txn, const struct vault_seckey *sk,
    uint64_t blob_id, struct store_blob_rec *rec, void **rawp,
    struct vault_msgkey **mkp)
{
	int	 ret;

	*mkp = NULL;
	if ((ret = store_blob_get_rec(txn, sk->account_id, blob_id, rec, rawp,
	    0)) != 0)
		return ret;
	if ((*mkp = vault_msgkey_open(sk, rec->sealed_key)) == NULL) {
		free(*rawp);
		*rawp = NULL;
		return STORE_ECORRUPT;
	}
	return 0;
}

int
store_msg_read(struct store_txn *txn, const struct vault_seckey *sk,
    uint64_t blob_id, uint8_t **datap, size_t *lenp)
{
	struct store_blob_rec	 rec;
	struct vault_chunk_ad	 ad;
	struct vault_msgkey	*mk;
	uint8_t			 key[KEY_CHUNK], *out = NULL;
	void			*raw, *ct;
	size_t			 ctlen, off = 0;
	uint32_t		 i;
	int			 ret;

	*datap = NULL;
	*lenp = 0;
	if ((ret = store_blob_key_open(txn, sk, blob_id, &rec, &raw, &mk)) != 0)
		return ret;
	free(raw);
	out = xmalloc(rec.size == 0 ? 1 : rec.size);
	ad.account_id = sk->account_id;
	ad.blob_id = blob_id;
	for (i = 0; i < rec.nchunks; i++) {
		store_key_chunk(key, sk->account_id, blob_id, i);
		if ((ret = store_db_get(txn, DBI_CHUNKS, key, sizeof(key), &ct,
		    &ctlen)) != 0) {
			if (ret == STORE_ENOTFOUND)
				ret = STORE_ECORRUPT;
			goto fail;
		}
		ad.index = i;
		ad.final = i + 1 == rec.nchunks;
		if (ctlen < VAULT_CHUNK_OVERHEAD ||
		    ctlen - VAULT_CHUNK_OVERHEAD > rec.size - off ||
		    vault_chunk_decrypt(mk, &ad, ct, ctlen, out + off) != 0) {
			free(ct);
			ret = STORE_ECORRUPT;
			goto fail;
		}
		off += ctlen - VAULT_CHUNK_OVERHEAD;
		free(ct);
	}
	if (off != rec.size) {
		ret = STORE_ECORRUPT;
		goto fail;
	}
	vault_msgkey_free(&mk);
	*datap = out;
	*lenp = off;
	return 0;
fail:
	vault_msgkey_free(&mk);
	free(out);
	return ret;
}

/* A sealed chunk copied out of the database (store_blob_reader_hold). */
struct store_held_chunk {
	uint8_t		*ct;
	size_t		 len;
};

struct store_blob_reader {
	uint64_t		 account_id;
	uint64_t		 blob_id;
	uint64_t		 size;
	uint32_t		 nchunks;
	struct vault_msgkey	*mk;
	struct store_held_chunk	*held;	/* NULL, or nchunks of them */
};

int
store_blob_reader_open(struct store_txn *txn, const struct vault_seckey *sk,
    uint64_t blob_id, struct store_blob_reader **rp)
{
	struct store_blob_rec		 rec;
	struct store_blob_reader	*r;
	void				*raw;
	int				 ret;

	*rp = NULL;
	r = xcalloc(1, sizeof(*r));
	if ((ret = store_blob_key_open(txn, sk, blob_id, &rec, &raw,
	    &r->mk)) != 0) {
		free(r);
		return ret;
	}
	free(raw);
	r->account_id = sk->account_id;
	r->blob_id = blob_id;
	r->size = rec.size;
	r->nchunks = rec.nchunks;
	/* Every chunk but the last is full (store_blob_write). */
	if (r->nchunks != vault_chunk_count(r->size)) {
		store_blob_reader_free(&r);
		return STORE_ECORRUPT;
	}
	*rp = r;
	return 0;
}

uint64_t
store_blob_reader_size(const struct store_blob_reader *r)
{
	return r->size;
}

uint64_t
store_blob_reader_id(const struct store_blob_reader *r)
{
	return r->blob_id;
}

uint64_t
store_blob_reader_account(const struct store_blob_reader *r)
{
	return r->account_id;
}

int
store_blob_reader_chunk(struct store_txn *txn, struct store_blob_reader *r,
    uint32_t i, uint8_t *out, size_t *lenp)
{
	struct vault_chunk_ad	 ad;
	uint8_t			 key[KEY_CHUNK];
	const uint8_t		*src;
	void			*ct = NULL;
	size_t			 ctlen, want;
	int			 ret = 0;

	*lenp = 0;
	if (i >= r->nchunks)
		return STORE_ECORRUPT;
	want = i + 1 < r->nchunks ? VAULT_CHUNK :
	    (size_t)(r->size - (uint64_t)i * VAULT_CHUNK);
	if (r->held != NULL && r->held[i].ct != NULL) {
		src = r->held[i].ct;
		ctlen = r->held[i].len;
	} else if (txn == NULL)
		return STORE_ECORRUPT;
	else {
		store_key_chunk(key, r->account_id, r->blob_id, i);
		if ((ret = store_db_get(txn, DBI_CHUNKS, key, sizeof(key), &ct,
		    &ctlen)) != 0)
			return ret == STORE_ENOTFOUND ? STORE_ECORRUPT : ret;
		src = ct;
	}
	ad.account_id = r->account_id;
	ad.blob_id = r->blob_id;
	ad.index = i;
	ad.final = i + 1 == r->nchunks;
	if (src == NULL || ctlen != want + VAULT_CHUNK_OVERHEAD ||
	    vault_chunk_decrypt(r->mk, &ad, src, ctlen, out) != 0)
		ret = STORE_ECORRUPT;
	else
		*lenp = want;
	free(ct);
	return ret;
}

int
store_blob_reader_hold(struct store_txn *txn, struct store_blob_reader *r,
    uint32_t first)
{
	uint8_t		 key[KEY_CHUNK];
	void		*ct;
	size_t		 ctlen;
	uint32_t	 i;
	int		 ret;

	if (r->held == NULL)
		r->held = xcalloc(r->nchunks, sizeof(*r->held));
	for (i = first; i < r->nchunks; i++) {
		if (r->held[i].ct != NULL)
			continue;
		store_key_chunk(key, r->account_id, r->blob_id, i);
		if ((ret = store_db_get(txn, DBI_CHUNKS, key, sizeof(key), &ct,
		    &ctlen)) != 0)
			return ret;
		r->held[i].ct = ct;
		r->held[i].len = ctlen;
	}
	return 0;
}

void
store_blob_reader_free(struct store_blob_reader **rp)
{
	struct store_blob_reader	*r = *rp;
	uint32_t			 i;

	if (r == NULL)
		return;
	if (r->held != NULL) {
		for (i = 0; i < r->nchunks; i++)
			free(r->held[i].ct);
		free(r->held);
	}
	vault_msgkey_free(&r->mk);
	free(r);
	*rp = NULL;
}

void
store_set_blob_freed(struct store *st, store_blob_freed_fn *fn, void *arg)
{
	st->blob_freed = fn;
	st->blob_freed_arg = arg;
}

int
store_blob_aux_get(struct store_txn *txn, const struct vault_seckey *sk,
    uint64_t blob_id, uint8_t **datap, size_t *lenp)
{
	struct store_blob_rec	 rec;
	struct vault_msgkey	*mk;
	void			*raw;
	uint8_t			*out;
	int			 ret;

	*datap = NULL;
	*lenp = 0;
	if ((ret = store_blob_key_open(txn, sk, blob_id, &rec, &raw, &mk)) != 0)
		return ret;
	if (rec.auxlen == 0) {
		ret = 0;
		goto out;
	}
	out = xmalloc(rec.auxlen - VAULT_AUX_OVERHEAD + 1);
	if (vault_aux_decrypt(mk, sk->account_id, blob_id, rec.aux, rec.auxlen,
	    out) != 0) {
		free(out);
		ret = STORE_ECORRUPT;
		goto out;
	}
	*datap = out;
	*lenp = rec.auxlen - VAULT_AUX_OVERHEAD;
out:
	vault_msgkey_free(&mk);
	free(raw);
	return ret;
}

int
store_blob_aux_set(struct store_txn *txn, const struct vault_seckey *sk,
    uint64_t blob_id, const void *data, size_t len)
{
	struct store_blob_rec	 rec;
	struct vault_msgkey	*mk;
	void			*raw;
	uint8_t			*aux;
	int			 ret;

	if ((ret = store_blob_key_open(txn, sk, blob_id, &rec, &raw, &mk)) != 0)
		return ret;
	aux = xmalloc(len + VAULT_AUX_OVERHEAD);
	vault_aux_encrypt(mk, sk->account_id, blob_id, data, len, aux);
	vault_msgkey_free(&mk);
	rec.aux = aux;
	rec.auxlen = len + VAULT_AUX_OVERHEAD;
	ret = store_blob_put_rec(txn, sk->account_id, blob_id, &rec, 0);
	free(aux);
	free(raw);
	return ret;
}

/* ---- Message-ID index ---- */

void
store_msgid_hash(const char *msgid, size_t len,
    uint8_t out[STORE_MSGID_HASHBYTES])
{
	static const uint8_t label[] = "guestbox message-id v1";

	crypto_generichash(out, STORE_MSGID_HASHBYTES, (const uint8_t *)msgid,
	    len, label, sizeof(label) - 1);
}

/*
 * The plain hash of a Message-ID would confirm a guess after the account
 * is gone: the key hashes it again under the account's erase key.
 */
static int
store_msgid_key(struct store_txn *txn, uint64_t acct,
    const uint8_t hash[STORE_MSGID_HASHBYTES], uint8_t key[KEY_MSGID])
{
	pack_be64(key, acct);
	return store_erase_hash(txn, acct, hash, STORE_MSGID_HASHBYTES,
	    key + 8);
}

int
store_msgid_put(struct store_txn *txn, uint64_t acct,
    const uint8_t hash[STORE_MSGID_HASHBYTES], uint32_t mbox, uint32_t uid)
{
	uint8_t	 key[KEY_MSGID], val[16];
	int	 ret;

	if ((ret = store_msgid_key(txn, acct, hash, key)) != 0)
		return ret;
	pack_be32(val, mbox);
	pack_be32(val + 4, uid);
	pack_be64(val + 8, (uint64_t)txn->now);
	return store_db_put(txn, DBI_MSGIDS, key, sizeof(key), val, sizeof(val));
}

int
store_msgid_get(struct store_txn *txn, uint64_t acct,
    const uint8_t hash[STORE_MSGID_HASHBYTES], uint32_t *mboxp, uint32_t *uidp,
    int64_t *whenp)
{
	uint8_t	 key[KEY_MSGID];
	void	*val;
	size_t	 vlen;
	int	 ret;

	if ((ret = store_msgid_key(txn, acct, hash, key)) != 0)
		return ret;
	if ((ret = store_db_get(txn, DBI_MSGIDS, key, sizeof(key), &val,
	    &vlen)) != 0)
		return ret;
	if (vlen != 16) {
		free(val);
		return STORE_ECORRUPT;
	}
	*mboxp = unpack_be32(val);
	*uidp = unpack_be32((uint8_t *)val + 4);
	*whenp = (int64_t)unpack_be64((uint8_t *)val + 8);
	free(val);
	return 0;
}
