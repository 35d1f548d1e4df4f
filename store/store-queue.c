/*
 * store-queue.c: the durable outbound queue.  A submission commits its
 * queue entries in the same transaction that files the message to
 * Gesendet, so an accepted message is never lost and never half-filed.
 *
 * The data is OpenPGP-encrypted already, but its outer headers (From,
 * To, Cc, Date, Message-ID, References) and the entry's envelope are not:
 * both are sealed under the sender's erase key (store-erase.c), so what
 * Berkeley DB keeps of them after the account is deleted is unreadable.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "store-private.h"
#include "xmalloc.h"

void
store_queue_entry_clear(struct store_queue_entry *e)
{
	uint32_t	 i;

	for (i = 0; i < e->nrcpts; i++) {
		free(e->rcpts[i].address);
		free(e->rcpts[i].reply);
	}
	free(e->rcpts);
	free(e->mail_from);
	free(e->message_id);
	free(e->last_error);
	memset(e, 0, sizeof(*e));
}

static int
store_queue_write(struct store_txn *txn, const struct store_queue_entry *e)
{
	struct pack	 pk;
	uint8_t		 key[8];
	int		 ret;

	pack_be64(key, e->id);
	pack_init(&pk);
	store_queue_encode(e, &pk);
	ret = store_seal_put(txn, DBI_QUEUE, key, sizeof(key), e->account_id,
	    pk.buf, pk.len, 0);
	sodium_memzero(pk.buf, pk.len);
	pack_free(&pk);
	if (ret == 0)
		store_txn_notify(txn, e->account_id, STORE_QUEUE_EVENT, e->id);
	return ret;
}

int
store_queue_put(struct store_txn *txn, struct store_queue_entry *e,
    const void *data, size_t len)
{
	uint8_t		 key[8], v[8];
	void		*val;
	size_t		 vlen;
	int		 ret;

	if (e->nrcpts == 0 || e->nrcpts > STORE_QUEUE_MAX_RCPTS)
		return STORE_ELIMIT;
	ret = store_db_get_rmw(txn, DBI_META, "next-queue", 10, &val, &vlen);
	if (ret == STORE_ENOTFOUND)
		e->id = 1;
	else if (ret != 0)
		return ret;
	else {
		if (vlen != 8) {
			free(val);
			return STORE_ECORRUPT;
		}
		e->id = unpack_be64(val);
		free(val);
	}
	pack_be64(v, e->id + 1);
	if ((ret = store_db_put(txn, DBI_META, "next-queue", 10, v, sizeof(v))) != 0)
		return ret;
	if (e->created == 0)
		e->created = txn->now;
	if (e->next_attempt == 0)
		e->next_attempt = txn->now;
	e->size = len;
	pack_be64(key, e->id);
	if ((ret = store_seal_put(txn, DBI_QUEUE_DATA, key, sizeof(key),
	    e->account_id, data, len, 1)) != 0)
		return ret;
	return store_queue_write(txn, e);
}

int
store_queue_get(struct store_txn *txn, uint64_t id, struct store_queue_entry *e)
{
	uint8_t		 key[8], *pt;
	uint64_t	 owner;
	size_t		 ptlen;
	int		 ret;

	pack_be64(key, id);
	store_queue_entry_clear(e);
	if ((ret = store_seal_get(txn, DBI_QUEUE, key, sizeof(key), 1, &owner,
	    &pt, &ptlen)) != 0)
		return ret;
	ret = store_queue_decode(pt, ptlen, e);
	store_unseal_free(&pt, ptlen);
	if (ret == 0 && e->account_id != owner) {
		store_queue_entry_clear(e);
		ret = STORE_ECORRUPT;
	}
	e->id = id;
	return ret;
}

int
store_queue_update(struct store_txn *txn, const struct store_queue_entry *e)
{
	return store_queue_write(txn, e);
}

int
store_queue_data(struct store_txn *txn, uint64_t id, uint8_t **datap,
    size_t *lenp)
{
	uint8_t		 key[8];

	pack_be64(key, id);
	return store_seal_get(txn, DBI_QUEUE_DATA, key, sizeof(key), 0, NULL,
	    datap, lenp);
}

int
store_queue_del(struct store_txn *txn, uint64_t id)
{
	uint8_t		 key[8];
	int		 ret;

	pack_be64(key, id);
	ret = store_db_del(txn, DBI_QUEUE_DATA, key, sizeof(key));
	if (ret != 0 && ret != STORE_ENOTFOUND)
		return ret;
	return store_db_del(txn, DBI_QUEUE, key, sizeof(key));
}

struct store_queue_iter_arg {
	int		(*fn)(const struct store_queue_entry *, void *);
	void		*arg;
};

static int
store_queue_iter_one(const uint8_t *key, size_t klen, uint64_t owner,
    const uint8_t *pt, size_t ptlen, void *arg)
{
	struct store_queue_iter_arg	*ia = arg;
	struct store_queue_entry	 e;
	int				 ret;

	if (klen != 8)
		return STORE_ECORRUPT;
	if (pt == NULL) {
		/*
		 * Left by a submission that raced its account's delete: it
		 * can never be sent.  store_queue_sweep() removes it.
		 */
		return 0;
	}
	memset(&e, 0, sizeof(e));
	ret = store_queue_decode(pt, ptlen, &e);
	if (ret == 0 && e.account_id != owner)
		ret = STORE_ECORRUPT;
	if (ret != 0) {
		store_queue_entry_clear(&e);
		return ret;
	}
	e.id = unpack_be64(key);
	ret = ia->fn(&e, ia->arg);
	store_queue_entry_clear(&e);
	return ret;
}

int
store_queue_iter(struct store_txn *txn,
    int (*fn)(const struct store_queue_entry *, void *), void *arg)
{
	struct store_queue_iter_arg ia = { fn, arg };

	return store_seal_iter(txn, DBI_QUEUE, "", 0, store_queue_iter_one,
	    &ia);
}

struct store_queue_drop {
	uint64_t	 account_id;	/* 0: every entry without an erase key */
	uint64_t	*ids;
	size_t		 n;
};

static int
store_queue_drop_one(const uint8_t *key, size_t klen, const uint8_t *val,
    size_t vlen, void *arg)
{
	struct store_queue_drop	*qd = arg;
	uint64_t		 owner;

	if (klen != 8 || store_sealed_account(val, vlen, &owner) != 0)
		return 0;	/* `check` says what is wrong with it */
	if (qd->account_id != 0 && owner != qd->account_id)
		return 0;
	qd->ids = xreallocarray(qd->ids, qd->n + 1, sizeof(*qd->ids));
	qd->ids[qd->n++] = unpack_be64(key);
	return 0;
}

/*
 * Removes the entries of an account (account_id) or, with account_id 0,
 * those whose account has no erase key any more; *np gets how many.
 */
int
store_queue_drop(struct store_txn *txn, uint64_t account_id, uint64_t *np)
{
	struct store_queue_drop	 qd = { account_id, NULL, 0 };
	uint8_t			 key[8], *ek;
	void			*val;
	size_t			 i, vlen;
	uint64_t		 owner;
	int			 ret;

	*np = 0;
	ret = store_db_iter(txn, DBI_QUEUE, "", 0, NULL, 0,
	    store_queue_drop_one, &qd);
	for (i = 0; ret == 0 && i < qd.n; i++) {
		if (account_id == 0) {
			pack_be64(key, qd.ids[i]);
			if ((ret = store_db_get(txn, DBI_QUEUE, key, sizeof(key),
			    &val, &vlen)) != 0)
				break;
			ret = store_sealed_account(val, vlen, &owner);
			free(val);
			if (ret != 0)
				break;
			ret = store_erase_load(txn, owner, &ek);
			store_erase_free(txn->store, &ek);
			if (ret == 0)
				continue;
			if (ret != STORE_ESHREDDED)
				break;
		}
		if ((ret = store_queue_del(txn, qd.ids[i])) == 0)
			(*np)++;
	}
	free(qd.ids);
	return ret;
}
