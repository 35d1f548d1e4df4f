/*
 * store-account.c: accounts, their indexes, correspondents and deletion.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "log.h"
#include "store-private.h"
#include "xmalloc.h"

/* Records deleted per transaction while purging: bounded lock use. */
#define STORE_PURGE_BATCH	500

static const char *const store_account_states[] = {
	[STORE_ACCT_PENDING] = "pending",
	[STORE_ACCT_ACTIVE] = "active",
	[STORE_ACCT_DISABLED] = "disabled",
	[STORE_ACCT_DELETING] = "deleting",
};

const char *
store_account_state_name(int state)
{
	if (state < STORE_ACCT_PENDING || state > STORE_ACCT_DELETING)
		return "unknown";
	return store_account_states[state];
}

void
store_account_clear(struct store_account *a)
{
	uint32_t	 i;

	free(a->address);
	free(a->inviter);
	free(a->pin_verifier);
	free(a->pin_armored);
	for (i = 0; i < a->ndevices && i < STORE_MAX_DEVICES; i++)
		free(a->devices[i].name);
	sodium_memzero(a, sizeof(*a));
}

int
store_account_has_invite(const struct store_account *a)
{
	static const uint8_t zero[32];

	return sodium_memcmp(a->token_id, zero, sizeof(zero)) != 0;
}

int
store_account_alloc_id(struct store_txn *txn, uint64_t *idp)
{
	uint8_t	 v[8];
	void	*val;
	size_t	 vlen;
	int	 ret;

	ret = store_db_get_rmw(txn, DBI_META, "next-account", 12, &val, &vlen);
	if (ret == STORE_ENOTFOUND)
		*idp = 1;
	else if (ret != 0)
		return ret;
	else {
		if (vlen != 8) {
			free(val);
			return STORE_ECORRUPT;
		}
		*idp = unpack_be64(val);
		free(val);
	}
	pack_be64(v, *idp + 1);
	return store_db_put(txn, DBI_META, "next-account", 12, v, sizeof(v));
}

/* The whole record is sealed: it holds the address and the inviter. */
int
store_account_put(struct store_txn *txn, const struct store_account *a)
{
	struct pack	 pk;
	uint8_t		 key[KEY_ACCT];
	int		 ret;

	pack_be64(key, a->id);
	pack_init(&pk);
	store_account_encode(a, &pk);
	ret = store_seal_put(txn, DBI_ACCOUNTS, key, sizeof(key), a->id, pk.buf,
	    pk.len, 0);
	sodium_memzero(pk.buf, pk.len);
	pack_free(&pk);
	return ret;
}

/* INBOX and the special-use mailboxes of a new account, all subscribed. */
static int
store_account_default_mailboxes(struct store_txn *txn, uint64_t id,
    const struct store_mailbox_names *names)
{
	static const struct {
		size_t		 offset;
		uint32_t	 special;
	} specials[] = {
		{ offsetof(struct store_mailbox_names, sent), STORE_SPECIAL_SENT },
		{ offsetof(struct store_mailbox_names, drafts), STORE_SPECIAL_DRAFTS },
		{ offsetof(struct store_mailbox_names, trash), STORE_SPECIAL_TRASH },
		{ offsetof(struct store_mailbox_names, archive), STORE_SPECIAL_ARCHIVE },
		{ offsetof(struct store_mailbox_names, junk), STORE_SPECIAL_JUNK },
	};
	struct store_mailbox mbox;
	const char	*name;
	size_t		 i;
	int		 ret;

	memset(&mbox, 0, sizeof(mbox));
	ret = store_mailbox_create(txn, id, STORE_INBOX, 0, &mbox);
	if (ret == 0)
		ret = store_sub_set(txn, id, STORE_INBOX, 1);
	for (i = 0; ret == 0 && i < sizeof(specials) / sizeof(specials[0]); i++) {
		name = *(const char *const *)((const char *)names +
		    specials[i].offset);
		if (name == NULL)
			continue;
		ret = store_mailbox_create(txn, id, name, specials[i].special,
		    &mbox);
		if (ret == 0)
			ret = store_sub_set(txn, id, name, 1);
	}
	store_mailbox_clear(&mbox);
	return ret;
}

/* store_mailbox_create() advanced the account's counters: take them. */
static int
store_account_reload_counters(struct store_txn *txn, struct store_account *a)
{
	struct store_account	 cur;
	int			 ret;

	memset(&cur, 0, sizeof(cur));
	if ((ret = store_account_get(txn, a->id, &cur)) != 0)
		return ret;
	a->next_mailbox_id = cur.next_mailbox_id;
	a->last_uidvalidity = cur.last_uidvalidity;
	store_account_clear(&cur);
	return 0;
}

int
store_account_insert(struct store_txn *txn, struct store_account *a,
    const struct store_mailbox_names *names)
{
	uint8_t		 key[KEY_ACCT], ahash[STORE_INDEX_HASHBYTES];
	int		 ret;

	pack_be64(key, a->id);
	if (a->next_mailbox_id == 0)
		a->next_mailbox_id = 1;
	if (a->created == 0)
		a->created = txn->now;
	if (a->last_activity == 0)
		a->last_activity = txn->now;
	store_index_hash(txn->store, a->address, ahash);
	ret = store_db_insert(txn, DBI_ACCOUNT_ADDR, ahash, sizeof(ahash), key,
	    sizeof(key));
	if (ret != 0)
		return ret;
	/* The erase key commits with the account, or neither does. */
	if ((ret = store_erase_create(txn, a->id)) != 0)
		return ret;
	if (store_account_has_invite(a) &&
	    (ret = store_db_insert(txn, DBI_ACCOUNT_TOKEN, a->token_id,
	    sizeof(a->token_id), key, sizeof(key))) != 0)
		return ret == STORE_EEXIST ? STORE_EIO : ret;
	if ((ret = store_account_put(txn, a)) != 0 ||
	    (ret = store_account_default_mailboxes(txn, a->id, names)) != 0)
		return ret;
	return store_account_reload_counters(txn, a);
}

void
store_account_rekey(struct store_account *a,
    const uint8_t token[VAULT_TOKENBYTES], struct vault_seckey **skp)
{
	struct vault_seckey	*sk;
	uint8_t			*kek;

	/*
	 * A new key pair every time: the old secret key is wrapped under a
	 * password or token we do not have.
	 */
	sk = vault_keypair_new(a->id);
	memcpy(a->pk, sk->pk, sizeof(a->pk));
	a->kek_kind = 0;
	memset(a->wrapped_sk, 0, sizeof(a->wrapped_sk));
	if (token != NULL) {
		kek = xsecret_alloc(VAULT_KEYBYTES);
		vault_token_derive(token, a->token_id, kek);
		vault_wrap(sk, kek, VAULT_KEK_TOKEN, a->wrapped_sk);
		a->kek_kind = VAULT_KEK_TOKEN;
		xsecret_free(kek);
	}
	memset(&a->kdf, 0, sizeof(a->kdf));
	memset(a->pw_verifier, 0, sizeof(a->pw_verifier));
	/* The device passwords wrapped the old key: they go with it. */
	while (a->ndevices > 0)
		(void)store_account_device_remove(a, a->devices[0].id);
	if (skp != NULL) {
		vault_seckey_free(skp);
		*skp = sk;
	} else
		vault_seckey_free(&sk);
}

int
store_account_create(struct store_txn *txn, struct store_account *a,
    const uint8_t token[VAULT_TOKENBYTES],
    const struct store_mailbox_names *names, struct vault_seckey **skp)
{
	int	 ret;

	if ((ret = store_account_alloc_id(txn, &a->id)) != 0)
		return ret;
	/* The key pair names the id: a rerun (a new id) needs a new one. */
	store_account_rekey(a, token, skp);
	return store_account_insert(txn, a, names);
}

struct store_reset {
	uint32_t	*ids;
	size_t		 n;
	uint64_t	 msgs;
};

static int
store_reset_collect(const struct store_mailbox *m, void *arg)
{
	struct store_reset	*rs = arg;

	rs->ids = xreallocarray(rs->ids, rs->n + 1, sizeof(*rs->ids));
	rs->ids[rs->n++] = m->id;
	rs->msgs += m->messages;
	return 0;
}

int
store_account_reset(struct store_txn *txn, struct store_account *a,
    const struct store_mailbox_names *names, uint64_t *nmsgsp)
{
	struct store_reset	 rs = { NULL, 0, 0 };
	size_t			 i;
	int			 ret;

	*nmsgsp = 0;
	ret = store_mailbox_iter(txn, a->id, store_reset_collect, &rs);
	for (i = 0; ret == 0 && i < rs.n; i++)
		ret = store_mailbox_delete(txn, a->id, rs.ids[i]);
	free(rs.ids);
	if (ret == 0)
		ret = store_account_default_mailboxes(txn, a->id, names);
	if (ret == 0)
		ret = store_account_reload_counters(txn, a);
	if (ret == 0)
		*nmsgsp = rs.msgs;
	return ret;
}

static int
store_account_fetch(struct store_txn *txn, uint64_t id, struct store_account *a,
    int rmw)
{
	uint8_t		 key[KEY_ACCT], *pt;
	uint64_t	 owner;
	size_t		 ptlen;
	int		 ret;

	pack_be64(key, id);
	ret = store_seal_get(txn, DBI_ACCOUNTS, key, sizeof(key), rmw, &owner,
	    &pt, &ptlen);
	if (ret != 0) {
		store_account_clear(a);
		return ret;
	}
	ret = store_account_decode(pt, ptlen, a);
	store_unseal_free(&pt, ptlen);
	if (ret == 0 && (a->id != id || owner != id)) {
		store_account_clear(a);
		ret = STORE_ECORRUPT;
	}
	return ret;
}

int
store_account_get(struct store_txn *txn, uint64_t id, struct store_account *a)
{
	return store_account_fetch(txn, id, a, 0);
}

static int
store_account_by_index(struct store_txn *txn, enum store_dbi dbi,
    const void *key, size_t klen, struct store_account *a)
{
	void		*val;
	size_t		 vlen;
	uint64_t	 id;
	int		 ret;

	if ((ret = store_db_get(txn, dbi, key, klen, &val, &vlen)) != 0) {
		store_account_clear(a);
		return ret;
	}
	if (vlen != 8) {
		free(val);
		store_account_clear(a);
		return STORE_ECORRUPT;
	}
	id = unpack_be64(val);
	free(val);
	return store_account_get(txn, id, a);
}

int
store_account_find(struct store_txn *txn, const char *address,
    struct store_account *a)
{
	uint8_t	 ahash[STORE_INDEX_HASHBYTES];

	store_index_hash(txn->store, address, ahash);
	return store_account_by_index(txn, DBI_ACCOUNT_ADDR, ahash,
	    sizeof(ahash), a);
}

struct store_account_load_arg {
	uint64_t		 id;
	const char		*address;	/* NULL: by id */
	struct store_account	*a;
};

static int
store_account_load_txn(struct store_txn *txn, void *arg)
{
	struct store_account_load_arg	*la = arg;

	/* A retried transaction must not leak the first attempt's record. */
	store_account_clear(la->a);
	return la->address != NULL ?
	    store_account_find(txn, la->address, la->a) :
	    store_account_get(txn, la->id, la->a);
}

int
store_account_load(struct store *st, uint64_t id, struct store_account *a)
{
	struct store_account_load_arg	 la = { id, NULL, a };

	return store_txn_run(st, store_account_load_txn, &la);
}

int
store_account_lookup(struct store *st, const char *address,
    struct store_account *a)
{
	struct store_account_load_arg	 la = { 0, address, a };

	return store_txn_run(st, store_account_load_txn, &la);
}

int
store_account_find_token(struct store_txn *txn, const uint8_t id[32],
    struct store_account *a)
{
	static const uint8_t zero[32];

	if (sodium_memcmp(id, zero, sizeof(zero)) == 0) {
		store_account_clear(a);
		return STORE_ENOTFOUND;
	}
	return store_account_by_index(txn, DBI_ACCOUNT_TOKEN, id, 32, a);
}

int
store_account_update(struct store_txn *txn, const struct store_account *a)
{
	struct store_account old;
	uint8_t		 key[KEY_ACCT];
	int		 ret;

	memset(&old, 0, sizeof(old));
	if ((ret = store_account_fetch(txn, a->id, &old, 1)) != 0)
		return ret;
	pack_be64(key, a->id);
	/* The address never changes; the token index follows the record. */
	if (strcmp(old.address, a->address) != 0) {
		store_account_clear(&old);
		return STORE_ESTATE;
	}
	if (sodium_memcmp(old.token_id, a->token_id, 32) != 0) {
		if (store_account_has_invite(&old) &&
		    (ret = store_db_del(txn, DBI_ACCOUNT_TOKEN, old.token_id,
		    32)) != 0 && ret != STORE_ENOTFOUND)
			goto out;
		if (store_account_has_invite(a) &&
		    (ret = store_db_insert(txn, DBI_ACCOUNT_TOKEN, a->token_id,
		    32, key, sizeof(key))) != 0)
			goto out;
	}
	ret = store_account_put(txn, a);
	/* Mailbox 0: the account itself changed (daemons drop cached keys). */
	if (ret == 0)
		store_txn_notify(txn, a->id, 0, 0);
out:
	store_account_clear(&old);
	return ret;
}

struct store_account_iter_arg {
	int		(*fn)(const struct store_account *, void *);
	void		*arg;
};

static int
store_account_iter_one(const uint8_t *key, size_t klen, uint64_t owner,
    const uint8_t *pt, size_t ptlen, void *arg)
{
	struct store_account_iter_arg	*ia = arg;
	struct store_account		 a;
	int				 ret;

	if (pt == NULL) {
		/* Unreadable for good; `check` reports it. */
		log_warnx("store: account %llu has no erase key",
		    (unsigned long long)owner);
		return 0;
	}
	memset(&a, 0, sizeof(a));
	ret = store_account_decode(pt, ptlen, &a);
	if (ret == 0 && (klen != KEY_ACCT || a.id != unpack_be64(key) ||
	    a.id != owner))
		ret = STORE_ECORRUPT;
	if (ret != 0) {
		store_account_clear(&a);
		return ret;
	}
	ret = ia->fn(&a, ia->arg);
	store_account_clear(&a);
	return ret;
}

int
store_account_iter(struct store_txn *txn,
    int (*fn)(const struct store_account *, void *), void *arg)
{
	struct store_account_iter_arg ia = { fn, arg };

	return store_seal_iter(txn, DBI_ACCOUNTS, "", 0,
	    store_account_iter_one, &ia);
}

int
store_account_activity(struct store_txn *txn, uint64_t id)
{
	struct store_account a;
	int		 ret;

	memset(&a, 0, sizeof(a));
	if ((ret = store_account_get(txn, id, &a)) != 0)
		return ret;
	if (txn->now - a.last_activity >= STORE_ACTIVITY_INTERVAL) {
		a.last_activity = txn->now;
		ret = store_account_put(txn, &a);
	}
	store_account_clear(&a);
	return ret;
}

int
store_account_device_remove(struct store_account *a, uint32_t id)
{
	uint32_t	 i;

	for (i = 0; i < a->ndevices; i++)
		if (a->devices[i].id == id)
			break;
	if (i == a->ndevices)
		return STORE_ENOTFOUND;
	free(a->devices[i].name);
	memmove(&a->devices[i], &a->devices[i + 1],
	    (a->ndevices - i - 1) * sizeof(a->devices[0]));
	a->ndevices--;
	/* Crypto-shredding: no copy of the wrap stays in the record. */
	sodium_memzero(&a->devices[a->ndevices], sizeof(a->devices[0]));
	return 0;
}

const struct store_device *
store_account_device(const struct store_account *a, uint32_t id)
{
	uint32_t	 i;

	for (i = 0; i < a->ndevices; i++)
		if (a->devices[i].id == id)
			return &a->devices[i];
	return NULL;
}

int
store_account_seen(struct store_txn *txn, uint64_t id, int64_t min_interval)
{
	struct store_account a;
	int		 ret;

	memset(&a, 0, sizeof(a));
	if ((ret = store_account_get(txn, id, &a)) != 0)
		return ret;
	if (txn->now - a.last_activity >= STORE_ACTIVITY_INTERVAL ||
	    txn->now - a.client_seen >= min_interval) {
		if (txn->now - a.last_activity >= STORE_ACTIVITY_INTERVAL)
			a.last_activity = txn->now;
		a.client_seen = txn->now;
		/* No notification: nothing a session acts on changed. */
		ret = store_account_put(txn, &a);
	}
	store_account_clear(&a);
	return ret;
}

/* ---- correspondents ---- */

void
store_corr_clear(struct store_corr *c)
{
	free(c->address);
	free(c->keydata);
	memset(c, 0, sizeof(*c));
}

/*
 * The key is a hash of the address under the account's erase key, and the
 * record with the address is sealed: after the delete, neither says whom
 * the account wrote to.
 */
static int
store_corr_key(struct store_txn *txn, uint8_t key[KEY_CORR],
    uint64_t account_id, const char *address)
{
	pack_be64(key, account_id);
	return store_erase_hash(txn, account_id, address,
	    strlen(address), key + 8);
}

/* Sealed: the address, then the corr record. */
void
store_corr_encode_sealed(const char *address, const struct store_corr *c,
    struct pack *pk)
{
	pack_str(pk, address);
	store_corr_encode(c, pk);
}

int
store_corr_decode_sealed(const uint8_t *pt, size_t len, struct store_corr *c)
{
	struct unpack	 up;
	char		*address;
	int		 ret;

	unpack_init(&up, pt, len);
	address = unpack_str(&up);
	if (up.error) {
		free(address);
		return STORE_ECORRUPT;
	}
	if ((ret = store_corr_decode(up.p, up.left, c)) != 0) {
		free(address);
		return ret;
	}
	c->address = address;
	return 0;
}

int
store_corr_put(struct store_txn *txn, uint64_t account_id,
    const char *address, const char *fingerprint, const void *keydata,
    size_t keylen)
{
	struct store_corr c, old;
	struct pack	 pk;
	uint8_t		 key[KEY_CORR];
	int		 ret, had;

	memset(&c, 0, sizeof(c));
	memset(&old, 0, sizeof(old));
	if (strlen(fingerprint) >= sizeof(c.fingerprint))
		return STORE_ELIMIT;
	memcpy(c.fingerprint, fingerprint, strlen(fingerprint) + 1);
	c.added = txn->now;
	if ((ret = store_corr_key(txn, key, account_id, address)) != 0)
		return ret;
	ret = store_corr_get(txn, account_id, address, &old);
	if (ret != 0 && ret != STORE_ENOTFOUND)
		return ret;
	had = ret == 0;
	if (keydata == NULL && had &&
	    strcasecmp(old.fingerprint, fingerprint) == 0) {
		keydata = old.keydata;
		keylen = old.keylen;
	}
	/*
	 * A record counts in pubkeys.db when it holds its key; records
	 * older than that (no key data) are counted once they get it
	 * (pubkeys_restore).
	 */
	if (keydata != NULL && keylen > 0 && (!had || old.keylen == 0 ||
	    strcasecmp(old.fingerprint, fingerprint) != 0) &&
	    (ret = store_pubkey_ref(txn, fingerprint, 1)) != 0) {
		store_corr_clear(&old);
		return ret;
	}
	if (had && old.keylen > 0 && (keydata == NULL || keylen == 0 ||
	    strcasecmp(old.fingerprint, fingerprint) != 0) &&
	    (ret = store_pubkey_ref(txn, old.fingerprint, -1)) != 0) {
		store_corr_clear(&old);
		return ret;
	}
	c.keydata = (uint8_t *)(uintptr_t)keydata;
	c.keylen = keydata != NULL ? keylen : 0;
	pack_init(&pk);
	store_corr_encode_sealed(address, &c, &pk);
	ret = store_seal_put(txn, DBI_CORRESPONDENTS, key, sizeof(key),
	    account_id, pk.buf, pk.len, 0);
	sodium_memzero(pk.buf, pk.len);
	pack_free(&pk);
	store_corr_clear(&old);
	return ret;
}

struct store_corr_all_arg {
	int		(*fn)(uint64_t, const struct store_corr *, void *);
	void		*arg;
};

static int
store_corr_all_one(const uint8_t *key, size_t klen, uint64_t owner,
    const uint8_t *pt, size_t ptlen, void *arg)
{
	struct store_corr_all_arg	*aa = arg;
	struct store_corr		 c;
	int				 ret;

	(void)key;
	(void)klen;
	if (pt == NULL)
		return 0;	/* of an account being deleted */
	memset(&c, 0, sizeof(c));
	if ((ret = store_corr_decode_sealed(pt, ptlen, &c)) == 0)
		ret = aa->fn(owner, &c, aa->arg);
	store_corr_clear(&c);
	return ret;
}

int
store_corr_iter_all(struct store_txn *txn,
    int (*fn)(uint64_t, const struct store_corr *, void *), void *arg)
{
	struct store_corr_all_arg aa = { fn, arg };

	return store_seal_iter(txn, DBI_CORRESPONDENTS, "", 0,
	    store_corr_all_one, &aa);
}

int
store_corr_get(struct store_txn *txn, uint64_t account_id,
    const char *address, struct store_corr *c)
{
	uint8_t		 key[KEY_CORR], *pt;
	uint64_t	 owner;
	size_t		 ptlen;
	int		 ret;

	store_corr_clear(c);
	if ((ret = store_corr_key(txn, key, account_id, address)) != 0)
		return ret;
	ret = store_seal_get(txn, DBI_CORRESPONDENTS, key, sizeof(key), 0,
	    &owner, &pt, &ptlen);
	if (ret != 0)
		return ret;
	ret = store_corr_decode_sealed(pt, ptlen, c);
	store_unseal_free(&pt, ptlen);
	if (ret == 0 && (owner != account_id || strcmp(c->address,
	    address) != 0)) {
		store_corr_clear(c);
		ret = STORE_ECORRUPT;
	}
	return ret;
}

struct store_corr_iter_arg {
	uint64_t	 account_id;
	int		(*fn)(const struct store_corr *, void *);
	void		*arg;
};

static int
store_corr_iter_one(const uint8_t *key, size_t klen, uint64_t owner,
    const uint8_t *pt, size_t ptlen, void *arg)
{
	struct store_corr_iter_arg	*ia = arg;
	struct store_corr		 c;
	int				 ret;

	(void)key;
	(void)klen;
	if (pt == NULL)
		return STORE_ESHREDDED;
	memset(&c, 0, sizeof(c));
	ret = store_corr_decode_sealed(pt, ptlen, &c);
	if (ret == 0 && owner != ia->account_id)
		ret = STORE_ECORRUPT;
	if (ret == 0)
		ret = ia->fn(&c, ia->arg);
	store_corr_clear(&c);
	return ret;
}

int
store_corr_iter(struct store_txn *txn, uint64_t account_id,
    int (*fn)(const struct store_corr *, void *), void *arg)
{
	struct store_corr_iter_arg ia = { account_id, fn, arg };
	uint8_t		 prefix[8];

	pack_be64(prefix, account_id);
	return store_seal_iter(txn, DBI_CORRESPONDENTS, prefix, sizeof(prefix),
	    store_corr_iter_one, &ia);
}

struct store_corr_list_arg {
	char		*buf;
	size_t		 buflen;
	size_t		 n;
};

static int
store_corr_list_one(const struct store_corr *c, void *arg)
{
	struct store_corr_list_arg	*la = arg;
	size_t				 len = strlen(la->buf);

	if (len + strlen(c->address) + 3 >= la->buflen)
		return 1;	/* full: stop */
	snprintf(la->buf + len, la->buflen - len, "%s%s",
	    la->n++ > 0 ? ", " : "", c->address);
	return 0;
}

int
store_corr_list(struct store_txn *txn, uint64_t account_id, char *buf,
    size_t buflen, size_t *np)
{
	struct store_corr_list_arg	 la = { buf, buflen, 0 };
	int				 ret;

	if (buflen == 0)
		return STORE_ELIMIT;
	/* From the start: a retried transaction calls again. */
	buf[0] = '\0';
	ret = store_corr_iter(txn, account_id, store_corr_list_one, &la);
	if (np != NULL)
		*np = la.n;
	return ret == 1 ? 0 : ret;
}

/* ---- deletion ---- */

struct store_purge {
	uint64_t	 id;
	uint64_t	 removed;	/* records, this batch */
	uint64_t	 msgs;		/* messages, this batch */
	int		 counting;	/* walking the messages */
	int		 done;
};

/* Step 1: destroy the key material; nothing is readable afterwards. */
static int
store_purge_shred(struct store_txn *txn, void *arg)
{
	struct store_purge	*pg = arg;
	struct store_account	 a;
	int			 ret;

	memset(&a, 0, sizeof(a));
	if ((ret = store_account_fetch(txn, pg->id, &a, 1)) != 0)
		return ret;
	if (a.state != STORE_ACCT_DELETING) {
		sodium_memzero(a.pk, sizeof(a.pk));
		sodium_memzero(a.wrapped_sk, sizeof(a.wrapped_sk));
		sodium_memzero(a.pw_verifier, sizeof(a.pw_verifier));
		a.kek_kind = 0;
		while (a.ndevices > 0)
			(void)store_account_device_remove(&a, a.devices[0].id);
		free(a.pin_verifier);
		free(a.pin_armored);
		a.pin_verifier = xstrdup("");
		a.pin_armored = xstrdup("");
		if (store_account_has_invite(&a) &&
		    (ret = store_db_del(txn, DBI_ACCOUNT_TOKEN, a.token_id,
		    32)) != 0 && ret != STORE_ENOTFOUND) {
			store_account_clear(&a);
			return ret;
		}
		sodium_memzero(a.token_id, sizeof(a.token_id));
		a.state = STORE_ACCT_DELETING;
		if ((ret = store_login_drop(txn, a.id)) == 0 &&
		    (ret = store_account_put(txn, &a)) == 0)
			store_txn_notify(txn, a.id, 0, 0);
	}
	store_account_clear(&a);
	return ret;
}

static int
store_purge_count(const uint8_t *key, size_t klen, const uint8_t *val,
    size_t vlen, void *arg)
{
	struct store_purge	*pg = arg;

	if (pg->removed >= STORE_PURGE_BATCH)
		return 1;
	pg->removed++;
	if (pg->counting)
		pg->msgs++;
	return STORE_ITER_DELETE;
}

struct store_purge_corr {
	uint8_t		(*keys)[KEY_CORR];
	char		(*fprs)[sizeof(((struct store_corr *)0)->fingerprint)];
	size_t		 n;
};

static int
store_purge_corr_one(const uint8_t *key, size_t klen, uint64_t owner,
    const uint8_t *pt, size_t ptlen, void *arg)
{
	struct store_purge_corr	*pc = arg;
	struct store_corr	 c;

	if (klen != KEY_CORR)
		return 0;
	memset(&c, 0, sizeof(c));
	if (pt != NULL && store_corr_decode_sealed(pt, ptlen, &c) != 0)
		memset(&c, 0, sizeof(c));
	pc->keys = xreallocarray(pc->keys, pc->n + 1, sizeof(*pc->keys));
	pc->fprs = xreallocarray(pc->fprs, pc->n + 1, sizeof(*pc->fprs));
	memcpy(pc->keys[pc->n], key, KEY_CORR);
	/* Only a record with its key was counted (store_corr_put). */
	if (c.keylen > 0)
		memcpy(pc->fprs[pc->n], c.fingerprint, sizeof(c.fingerprint));
	else
		pc->fprs[pc->n][0] = '\0';
	pc->n++;
	store_corr_clear(&c);
	return 0;
}

/*
 * Step 1b: the correspondents, each with its count in pubkeys.db, in
 * one transaction, so that a rerun counts none twice.  A key whose
 * count falls to zero leaves the GnuPG home next (pubkeys_prune).
 */
static int
store_purge_corrs(struct store_txn *txn, void *arg)
{
	struct store_purge	*pg = arg;
	struct store_purge_corr	 pc = { NULL, NULL, 0 };
	uint8_t			 prefix[8];
	size_t			 i;
	int			 ret;

	pack_be64(prefix, pg->id);
	ret = store_seal_iter(txn, DBI_CORRESPONDENTS, prefix, sizeof(prefix),
	    store_purge_corr_one, &pc);
	for (i = 0; ret == 0 && i < pc.n; i++) {
		if (pc.fprs[i][0] != '\0' &&
		    (ret = store_pubkey_ref(txn, pc.fprs[i], -1)) != 0)
			break;
		ret = store_db_del(txn, DBI_CORRESPONDENTS, pc.keys[i],
		    KEY_CORR);
	}
	free(pc.keys);
	free(pc.fprs);
	return ret;
}

/* Step 2: records keyed by account, a batch per transaction. */
static int
store_purge_batch(struct store_txn *txn, void *arg)
{
	static const enum store_dbi dbis[] = {
		DBI_CHUNKS, DBI_BLOBS, DBI_MESSAGES, DBI_CHANGES, DBI_MSGIDS,
		DBI_MAILBOXES, DBI_SUBSCRIPTIONS, DBI_CORRESPONDENTS,
		DBI_LEASES,
	};
	struct store_purge	*pg = arg;
	uint8_t			 prefix[8];
	uint64_t		 n;
	size_t			 i;
	int			 ret;

	pack_be64(prefix, pg->id);
	pg->removed = 0;
	pg->msgs = 0;
	pg->done = 0;
	for (i = 0; i < sizeof(dbis) / sizeof(dbis[0]); i++) {
		pg->counting = dbis[i] == DBI_MESSAGES;
		ret = store_db_iter(txn, dbis[i], prefix, sizeof(prefix), NULL,
		    0, store_purge_count, pg);
		if (ret == 1)
			return 0;	/* batch full: commit, come back */
		if (ret != 0)
			return ret;
	}
	/*
	 * Its unsent mail: sealed under the erase key that goes next, it
	 * could never be read to be sent.
	 */
	if ((ret = store_queue_drop(txn, pg->id, &n)) != 0)
		return ret;
	pg->done = 1;
	return 0;
}

/* Step 3: the account record and its address. */
static int
store_purge_final(struct store_txn *txn, void *arg)
{
	struct store_purge	*pg = arg;
	struct store_account	 a;
	uint8_t			 key[KEY_ACCT], ahash[STORE_INDEX_HASHBYTES];
	int			 ret;

	memset(&a, 0, sizeof(a));
	if ((ret = store_account_fetch(txn, pg->id, &a, 1)) != 0)
		return ret;
	pack_be64(key, pg->id);
	store_index_hash(txn->store, a.address, ahash);
	ret = store_db_del(txn, DBI_ACCOUNT_ADDR, ahash, sizeof(ahash));
	if (ret == 0 || ret == STORE_ENOTFOUND)
		ret = store_db_del(txn, DBI_ACCOUNTS, key, sizeof(key));
	/*
	 * The erase key, overwritten with zeros in the same commit: what
	 * Berkeley DB still holds of the account (freed pages, logs,
	 * regions) is sealed under it.  Its old bytes stay in the log
	 * until store_log_retire() (store-erase.c).
	 */
	if (ret == 0)
		ret = store_erase_remove(txn, pg->id);
	store_account_clear(&a);
	return ret;
}

int
store_account_purge(struct store *st, uint64_t id, uint64_t *nmsgs)
{
	struct store_purge	 pg;
	int			 ret;

	memset(&pg, 0, sizeof(pg));
	pg.id = id;
	if (nmsgs != NULL)
		*nmsgs = 0;
	if ((ret = store_txn_run(st, store_purge_shred, &pg)) != 0 ||
	    (ret = store_txn_run(st, store_purge_corrs, &pg)) != 0)
		return ret;
	do {
		if ((ret = store_txn_run(st, store_purge_batch, &pg)) != 0)
			return ret;
		if (nmsgs != NULL)
			*nmsgs += pg.msgs;
	} while (!pg.done);
	return store_txn_run(st, store_purge_final, &pg);
}
