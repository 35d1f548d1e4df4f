/*
 * store-queue.c: the durable outbound queue.  A submission commits its
 * queue entries in the same transaction that files the message to
 * Gesendet, so an accepted message is never lost and never half-filed.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

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
	ret = store_db_put(txn, DBI_QUEUE, key, sizeof(key), pk.buf, pk.len);
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
	if ((ret = store_db_insert(txn, DBI_QUEUE_DATA, key, sizeof(key), data,
	    len)) != 0)
		return ret;
	return store_queue_write(txn, e);
}

int
store_queue_get(struct store_txn *txn, uint64_t id, struct store_queue_entry *e)
{
	uint8_t		 key[8];
	void		*val;
	size_t		 vlen;
	int		 ret;

	pack_be64(key, id);
	if ((ret = store_db_get_rmw(txn, DBI_QUEUE, key, sizeof(key), &val,
	    &vlen)) != 0) {
		store_queue_entry_clear(e);
		return ret;
	}
	ret = store_queue_decode(val, vlen, e);
	free(val);
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
	void		*val;
	int		 ret;

	pack_be64(key, id);
	ret = store_db_get(txn, DBI_QUEUE_DATA, key, sizeof(key), &val, lenp);
	*datap = ret == 0 ? val : NULL;
	return ret;
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
	int	(*fn)(const struct store_queue_entry *, void *);
	void	*arg;
};

static int
store_queue_iter_one(const uint8_t *key, size_t klen, const uint8_t *val,
    size_t vlen, void *arg)
{
	struct store_queue_iter_arg	*ia = arg;
	struct store_queue_entry	 e;
	int				 ret;

	memset(&e, 0, sizeof(e));
	if (klen != 8)
		return STORE_ECORRUPT;
	if ((ret = store_queue_decode(val, vlen, &e)) != 0)
		return ret;
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

	return store_db_iter(txn, DBI_QUEUE, "", 0, NULL, 0,
	    store_queue_iter_one, &ia);
}
