/*
 * store-pubkeys.c: which public keys the store needs, so that the GnuPG
 * home can be a cache of the environment (daemon/pubkeys.c).
 *
 * A correspondent's key is kept in its correspondent record, sealed
 * under the account's erase key (store-account.c): it names an address,
 * and it goes with the account.  Several accounts may have the same
 * correspondent, so pubkeys.db counts the records that name each key,
 * under a hash of the fingerprint keyed with the index key:
 *	'R', 32-byte hash	be32 count
 * and when the count falls to zero, the record goes and the key may
 * leave the GnuPG home.  Keys an admin added (guestbox-provision
 * add-key, gateway_keyring) belong to no account and are kept:
 *	'P', 32-byte hash	u8 1, u8 n, n bytes of fingerprint, key data
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store-private.h"
#include "xmalloc.h"

#define PUBKEY_KEYLEN	(1 + STORE_INDEX_HASHBYTES)
#define PUBKEY_PIN_V1	1

static void	store_pubkey_key(const struct store *, char, const char *,
		    uint8_t[PUBKEY_KEYLEN]);

/* Fingerprints compare case-insensitively: hashed in upper case. */
static void
store_pubkey_key(const struct store *st, char kind, const char *fpr,
    uint8_t key[PUBKEY_KEYLEN])
{
	char	 up[80];
	size_t	 i;

	for (i = 0; i < sizeof(up) - 1 && fpr[i] != '\0'; i++)
		up[i] = (char)toupper((unsigned char)fpr[i]);
	up[i] = '\0';
	key[0] = (uint8_t)kind;
	store_index_hash(st, up, key + 1);
}

int
store_pubkey_ref(struct store_txn *txn, const char *fpr, int delta)
{
	uint8_t		 key[PUBKEY_KEYLEN], v[4];
	void		*val;
	size_t		 vlen;
	uint32_t	 n = 0;
	int		 ret;

	store_pubkey_key(txn->store, 'R', fpr, key);
	ret = store_db_get_rmw(txn, DBI_PUBKEYS, key, sizeof(key), &val, &vlen);
	if (ret == 0) {
		if (vlen == 4)
			n = unpack_be32(val);
		free(val);
		if (vlen != 4)
			return STORE_ECORRUPT;
	} else if (ret != STORE_ENOTFOUND)
		return ret;
	if (delta < 0 && n <= (uint32_t)-delta) {
		if (n < (uint32_t)-delta)
			log_warnx("store: key %s was counted %u times, fewer "
			    "than its correspondents", fpr, n);
		return n == 0 ? 0 : store_db_del(txn, DBI_PUBKEYS, key,
		    sizeof(key));
	}
	pack_be32(v, n + (uint32_t)delta);
	return store_db_put(txn, DBI_PUBKEYS, key, sizeof(key), v, sizeof(v));
}

int
store_pubkey_refs(struct store_txn *txn, const char *fpr, uint32_t *refsp,
    int *pinnedp)
{
	uint8_t		 key[PUBKEY_KEYLEN];
	void		*val;
	size_t		 vlen;
	int		 ret;

	*refsp = 0;
	*pinnedp = 0;
	store_pubkey_key(txn->store, 'R', fpr, key);
	ret = store_db_get(txn, DBI_PUBKEYS, key, sizeof(key), &val, &vlen);
	if (ret == 0) {
		if (vlen == 4)
			*refsp = unpack_be32(val);
		free(val);
	} else if (ret != STORE_ENOTFOUND)
		return ret;
	store_pubkey_key(txn->store, 'P', fpr, key);
	ret = store_db_get(txn, DBI_PUBKEYS, key, sizeof(key), &val, &vlen);
	if (ret == 0) {
		*pinnedp = 1;
		free(val);
	} else if (ret != STORE_ENOTFOUND)
		return ret;
	return 0;
}

int
store_pubkey_pin(struct store_txn *txn, const char *fpr, const void *data,
    size_t len)
{
	struct pack	 pk;
	uint8_t		 key[PUBKEY_KEYLEN];
	size_t		 flen = strlen(fpr);
	int		 ret;

	if (flen > UINT8_MAX)
		return STORE_ELIMIT;
	store_pubkey_key(txn->store, 'P', fpr, key);
	pack_init(&pk);
	pack_u8(&pk, PUBKEY_PIN_V1);
	pack_u8(&pk, (uint8_t)flen);
	pack_raw(&pk, fpr, flen);
	pack_raw(&pk, data, len);
	ret = store_db_put(txn, DBI_PUBKEYS, key, sizeof(key), pk.buf, pk.len);
	pack_free(&pk);
	return ret;
}

struct store_pin_iter {
	int	(*fn)(const char *, const void *, size_t, void *);
	void	*arg;
};

static int
store_pubkey_pinned_one(const uint8_t *key, size_t klen, const uint8_t *val,
    size_t vlen, void *arg)
{
	struct store_pin_iter	*pi = arg;
	char			 fpr[UINT8_MAX + 1];

	if (klen != PUBKEY_KEYLEN || vlen < 2 || val[0] != PUBKEY_PIN_V1 ||
	    vlen < 2 + (size_t)val[1])
		return STORE_ECORRUPT;
	memcpy(fpr, val + 2, val[1]);
	fpr[val[1]] = '\0';
	return pi->fn(fpr, val + 2 + val[1], vlen - 2 - val[1], pi->arg);
}

int
store_pubkey_pinned_iter(struct store_txn *txn,
    int (*fn)(const char *, const void *, size_t, void *), void *arg)
{
	struct store_pin_iter	 pi = { fn, arg };

	return store_db_iter(txn, DBI_PUBKEYS, "P", 1, NULL, 0,
	    store_pubkey_pinned_one, &pi);
}

int
store_pubkey_migrated(struct store_txn *txn, int *wasp)
{
	void	*val;
	size_t	 vlen;
	int	 ret;

	ret = store_db_get_rmw(txn, DBI_META, "pubkeys-home", 12, &val, &vlen);
	if (ret == 0) {
		free(val);
		*wasp = 1;
		return 0;
	}
	if (ret != STORE_ENOTFOUND)
		return ret;
	*wasp = 0;
	return store_db_put(txn, DBI_META, "pubkeys-home", 12, "\1", 1);
}
