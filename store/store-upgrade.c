/*
 * store-upgrade.c: the schema upgrades store_open() runs (store-env.c,
 * store_schema_txn), each in the one transaction that raises "schema".
 *
 * 1 -> 2: what held plaintext metadata of an account's mail is sealed
 * under a new erase key per account (store-erase.c): the account record,
 * the correspondents (keyed by a hash of the address under that key), the
 * queue entries and their data; the Message-ID index is keyed under it
 * too, and the address index by a hash under index.key.  Plaintext that
 * version 1 left in freed pages and old log files is not reached by this;
 * the log files go with the next checkpoints, freed pages when reused.
 *
 * 2 -> 3: mailbox records (version 2 of the record) carry recent_uid,
 * the \Recent mark of RFC 3501 2.3.2; the messages already there count
 * as seen by a session, so none becomes \Recent by the upgrade.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store-private.h"
#include "xmalloc.h"

struct upg_rec {
	uint8_t		*key;
	size_t		 klen;
	uint8_t		*val;
	size_t		 vlen;
};

struct upg_list {
	struct upg_rec	*r;
	size_t		 n;
};

static int	upg_collect(const uint8_t *, size_t, const uint8_t *, size_t,
		    void *);
static void	upg_list_free(struct upg_list *);
static int	upg_list_all(struct store_txn *, enum store_dbi,
		    struct upg_list *, int);

static int
upg_collect(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
    void *arg)
{
	struct upg_list	*l = arg;
	struct upg_rec	*r;

	l->r = xreallocarray(l->r, l->n + 1, sizeof(*l->r));
	r = &l->r[l->n++];
	r->key = xmalloc(klen + 1);
	memcpy(r->key, key, klen);
	r->key[klen] = '\0';
	r->klen = klen;
	r->val = xmalloc(vlen + 1);
	memcpy(r->val, val, vlen);
	r->vlen = vlen;
	return 0;
}

static void
upg_list_free(struct upg_list *l)
{
	size_t	 i;

	for (i = 0; i < l->n; i++) {
		sodium_memzero(l->r[i].key, l->r[i].klen);
		sodium_memzero(l->r[i].val, l->r[i].vlen);
		free(l->r[i].key);
		free(l->r[i].val);
	}
	free(l->r);
	l->r = NULL;
	l->n = 0;
}

/* Every record of a database, deleted from it if del is set. */
static int
upg_list_all(struct store_txn *txn, enum store_dbi dbi, struct upg_list *l,
    int del)
{
	size_t	 i;
	int	 ret;

	upg_list_free(l);
	if ((ret = store_db_iter(txn, dbi, "", 0, NULL, 0, upg_collect, l)) != 0)
		return ret;
	for (i = 0; del && i < l->n; i++)
		if ((ret = store_db_del(txn, dbi, l->r[i].key,
		    l->r[i].klen)) != 0)
			return ret;
	return 0;
}

static int
upg_accounts(struct store_txn *txn)
{
	struct upg_list		 accts = { NULL, 0 }, idx = { NULL, 0 };
	struct store_account	 a;
	uint8_t			 ahash[STORE_INDEX_HASHBYTES];
	size_t			 i;
	int			 ret;

	memset(&a, 0, sizeof(a));
	if ((ret = upg_list_all(txn, DBI_ACCOUNTS, &accts, 0)) != 0 ||
	    (ret = upg_list_all(txn, DBI_ACCOUNT_ADDR, &idx, 1)) != 0)
		goto out;
	for (i = 0; i < accts.n; i++) {
		if ((ret = store_account_decode(accts.r[i].val,
		    accts.r[i].vlen, &a)) != 0)
			goto out;
		if (accts.r[i].klen != KEY_ACCT ||
		    a.id != unpack_be64(accts.r[i].key)) {
			ret = STORE_ECORRUPT;
			goto out;
		}
		if ((ret = store_erase_create(txn, a.id)) != 0 ||
		    (ret = store_account_put(txn, &a)) != 0)
			goto out;
		store_index_hash(txn->store, a.address, ahash);
		if ((ret = store_db_put(txn, DBI_ACCOUNT_ADDR, ahash,
		    sizeof(ahash), accts.r[i].key, KEY_ACCT)) != 0)
			goto out;
		store_account_clear(&a);
	}
out:
	if (ret != 0)
		log_warnx("store: upgrade to schema 2: accounts: %s",
		    store_strerror(ret));
	store_account_clear(&a);
	upg_list_free(&accts);
	upg_list_free(&idx);
	return ret;
}

/* Version 1: key be64 account + address, value the corr record. */
static int
upg_corrs(struct store_txn *txn)
{
	struct upg_list		 l = { NULL, 0 };
	struct store_corr	 c;
	struct pack		 pk;
	uint8_t			 key[KEY_CORR], *ek = NULL;
	uint64_t		 acct;
	size_t			 i;
	int			 ret;

	memset(&c, 0, sizeof(c));
	if ((ret = upg_list_all(txn, DBI_CORRESPONDENTS, &l, 1)) != 0)
		return ret;
	for (i = 0; ret == 0 && i < l.n; i++) {
		if (l.r[i].klen <= 8 || memchr(l.r[i].key + 8, '\0',
		    l.r[i].klen - 8) != NULL ||
		    store_corr_decode(l.r[i].val, l.r[i].vlen, &c) != 0) {
			ret = STORE_ECORRUPT;
			break;
		}
		acct = unpack_be64(l.r[i].key);
		if ((ret = store_erase_load(txn, acct, &ek)) != 0) {
			/* Of an account that is gone: dropped. */
			if (ret == STORE_ESHREDDED)
				ret = 0;
			continue;
		}
		c.address = xstrdup((const char *)l.r[i].key + 8);
		pack_be64(key, acct);
		crypto_generichash(key + 8, STORE_ERASE_HASHBYTES,
		    (const uint8_t *)c.address, strlen(c.address), ek,
		    STORE_ERASE_KEYBYTES);
		pack_init(&pk);
		pack_str(&pk, c.address);
		store_corr_encode(&c, &pk);
		store_erase_free(txn->store, &ek);
		store_corr_clear(&c);
		ret = store_seal_put(txn, DBI_CORRESPONDENTS, key, sizeof(key),
		    acct, pk.buf, pk.len, 0);
		sodium_memzero(pk.buf, pk.len);
		pack_free(&pk);
	}
	store_erase_free(txn->store, &ek);
	store_corr_clear(&c);
	upg_list_free(&l);
	return ret;
}

/* Version 1: key be64 account + the plain 16-byte hash. */
static int
upg_msgids(struct store_txn *txn)
{
	struct upg_list	 l = { NULL, 0 };
	uint8_t		 key[KEY_MSGID];
	uint64_t	 acct;
	size_t		 i;
	int		 ret;

	if ((ret = upg_list_all(txn, DBI_MSGIDS, &l, 1)) != 0)
		return ret;
	for (i = 0; ret == 0 && i < l.n; i++) {
		if (l.r[i].klen != 8 + STORE_MSGID_HASHBYTES) {
			ret = STORE_ECORRUPT;
			break;
		}
		acct = unpack_be64(l.r[i].key);
		pack_be64(key, acct);
		ret = store_erase_hash(txn, acct, l.r[i].key + 8,
		    STORE_MSGID_HASHBYTES, key + 8);
		if (ret == STORE_ESHREDDED) {
			ret = 0;
			continue;
		}
		if (ret == 0)
			ret = store_db_put(txn, DBI_MSGIDS, key, sizeof(key),
			    l.r[i].val, l.r[i].vlen);
	}
	upg_list_free(&l);
	return ret;
}

static int
upg_queue(struct store_txn *txn)
{
	struct upg_list		 l = { NULL, 0 };
	struct store_queue_entry e;
	struct pack		 pk;
	uint8_t			*ek = NULL;
	void			*data;
	size_t			 i, len;
	uint64_t		 dropped = 0;
	int			 ret;

	memset(&e, 0, sizeof(e));
	if ((ret = upg_list_all(txn, DBI_QUEUE, &l, 0)) != 0)
		return ret;
	for (i = 0; ret == 0 && i < l.n; i++) {
		if (l.r[i].klen != 8 ||
		    store_queue_decode(l.r[i].val, l.r[i].vlen, &e) != 0) {
			ret = STORE_ECORRUPT;
			break;
		}
		if ((ret = store_erase_load(txn, e.account_id,
		    &ek)) == STORE_ESHREDDED) {
			/*
			 * Its account is gone; version 2 drops such entries
			 * with the account (store_account_purge).
			 */
			ret = store_queue_del(txn, unpack_be64(l.r[i].key));
			dropped++;
			store_queue_entry_clear(&e);
			continue;
		}
		if (ret != 0)
			break;
		pack_init(&pk);
		store_queue_encode(&e, &pk);
		ret = store_seal_put(txn, DBI_QUEUE, l.r[i].key, 8,
		    e.account_id, pk.buf, pk.len, 0);
		sodium_memzero(pk.buf, pk.len);
		pack_free(&pk);
		if (ret == 0 && (ret = store_db_get(txn, DBI_QUEUE_DATA,
		    l.r[i].key, 8, &data, &len)) == 0) {
			pack_init(&pk);
			store_seal(ek, DBI_QUEUE_DATA, l.r[i].key, 8,
			    e.account_id, data, len, &pk);
			free(data);
			ret = store_db_put(txn, DBI_QUEUE_DATA, l.r[i].key, 8,
			    pk.buf, pk.len);
			pack_free(&pk);
		}
		store_erase_free(txn->store, &ek);
		store_queue_entry_clear(&e);
	}
	store_erase_free(txn->store, &ek);
	store_queue_entry_clear(&e);
	upg_list_free(&l);
	if (ret == 0 && dropped > 0)
		log_warnx("store: upgrade to schema 2: dropped %llu queue "
		    "entries of deleted accounts", (unsigned long long)dropped);
	return ret;
}

int
store_upgrade_v2(struct store_txn *txn)
{
	void	*val;
	size_t	 vlen;
	int	 ret;

	/* Keeps store_erase_sweep() from looking at the new keys meanwhile. */
	ret = store_db_get_rmw(txn, DBI_META, "next-account", 12, &val, &vlen);
	if (ret == 0)
		free(val);
	else if (ret != STORE_ENOTFOUND)
		return ret;
	if ((ret = upg_accounts(txn)) != 0 || (ret = upg_corrs(txn)) != 0 ||
	    (ret = upg_msgids(txn)) != 0 || (ret = upg_queue(txn)) != 0)
		return ret;
	return 0;
}

int
store_upgrade_v3(struct store_txn *txn)
{
	struct upg_list		 l = { NULL, 0 };
	struct store_mailbox	 m;
	struct pack		 pk;
	size_t			 i;
	int			 ret;

	memset(&m, 0, sizeof(m));
	if ((ret = upg_list_all(txn, DBI_MAILBOXES, &l, 0)) != 0)
		goto out;
	for (i = 0; i < l.n; i++) {
		/* A version 1 record reads with recent_uid = uidnext - 1. */
		if ((ret = store_mailbox_decode(l.r[i].val, l.r[i].vlen,
		    &m)) != 0)
			goto out;
		pack_init(&pk);
		store_mailbox_encode(&m, &pk);
		ret = store_db_put(txn, DBI_MAILBOXES, l.r[i].key, l.r[i].klen,
		    pk.buf, pk.len);
		pack_free(&pk);
		store_mailbox_clear(&m);
		if (ret != 0)
			goto out;
	}
out:
	store_mailbox_clear(&m);
	upg_list_free(&l);
	return ret;
}
