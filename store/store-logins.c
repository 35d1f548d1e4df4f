/*
 * store-logins.c: the guest's recent logins (issue 14): time, protocol,
 * masked client address and device name of the last STORE_LOGINS_MAX,
 * each sealed to the account's public key (crypto_box_seal), so a login
 * can be written without the password and read only with it.  One
 * record per account in the meta database ("logins" and the id), the
 * newest first; the purge removes it, and the key it was sealed to is
 * shredded before that anyway.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "store-private.h"
#include "xmalloc.h"

#define LOGINS_KEY	"logins"
#define LOGINS_KEYLEN	(sizeof(LOGINS_KEY) - 1 + 8)
/* when, proto, device id, peer, device name: the sealed plaintext. */
#define LOGIN_PLAIN	(8 + 1 + 4 + 64 + STORE_DEVICE_NAME_MAX + 1)
#define LOGIN_SEALED	(crypto_box_SEALBYTES + LOGIN_PLAIN)

static void
store_logins_key(uint8_t key[LOGINS_KEYLEN], uint64_t id)
{
	memcpy(key, LOGINS_KEY, sizeof(LOGINS_KEY) - 1);
	pack_be64(key + sizeof(LOGINS_KEY) - 1, id);
}

int
store_login_add(struct store_txn *txn, uint64_t account_id,
    const struct store_login *l)
{
	struct store_account	 a;
	const struct store_device *dv;
	uint8_t			 key[LOGINS_KEYLEN], plain[LOGIN_PLAIN];
	uint8_t			*val = NULL, *out;
	size_t			 vlen = 0, keep, n;
	int			 ret;

	memset(&a, 0, sizeof(a));
	if ((ret = store_account_get(txn, account_id, &a)) != 0)
		return ret;
	memset(plain, 0, sizeof(plain));
	pack_be64(plain, (uint64_t)l->when);
	plain[8] = l->proto;
	pack_be32(plain + 9, l->device_id);
	memcpy(plain + 13, l->peer, strnlen(l->peer, 63));
	/* The name as it is now: a revoked device keeps it in the log. */
	if (l->device_id != 0 &&
	    (dv = store_account_device(&a, l->device_id)) != NULL)
		memcpy(plain + 13 + 64, dv->name,
		    strnlen(dv->name, STORE_DEVICE_NAME_MAX));
	store_logins_key(key, account_id);
	ret = store_db_get_rmw(txn, DBI_META, key, sizeof(key),
	    (void **)&val, &vlen);
	if (ret == STORE_ENOTFOUND) {
		val = NULL;
		vlen = 0;
	} else if (ret != 0 || vlen % LOGIN_SEALED != 0) {
		free(val);
		store_account_clear(&a);
		sodium_memzero(plain, sizeof(plain));
		return ret != 0 ? ret : STORE_ECORRUPT;
	}
	n = vlen / LOGIN_SEALED;
	keep = n < STORE_LOGINS_MAX ? n : STORE_LOGINS_MAX - 1;
	out = xmalloc((keep + 1) * LOGIN_SEALED);
	crypto_box_seal(out, plain, sizeof(plain), a.pk);
	if (keep > 0)
		memcpy(out + LOGIN_SEALED, val, keep * LOGIN_SEALED);
	ret = store_db_put(txn, DBI_META, key, sizeof(key), out,
	    (keep + 1) * LOGIN_SEALED);
	free(out);
	free(val);
	store_account_clear(&a);
	sodium_memzero(plain, sizeof(plain));
	return ret;
}

int
store_login_list(struct store_txn *txn, const struct vault_seckey *sk,
    struct store_login *out, size_t max, size_t *np)
{
	uint8_t		 key[LOGINS_KEYLEN], plain[LOGIN_PLAIN], *val;
	size_t		 vlen, i;
	int		 ret;

	*np = 0;
	store_logins_key(key, sk->account_id);
	ret = store_db_get(txn, DBI_META, key, sizeof(key), (void **)&val,
	    &vlen);
	if (ret == STORE_ENOTFOUND)
		return 0;
	if (ret != 0)
		return ret;
	for (i = 0; i < vlen / LOGIN_SEALED && *np < max; i++) {
		/* One that does not open (sealed to an older key) is skipped. */
		if (crypto_box_seal_open(plain, val + i * LOGIN_SEALED,
		    LOGIN_SEALED, sk->pk, sk->sk) != 0)
			continue;
		memset(&out[*np], 0, sizeof(out[0]));
		out[*np].when = (int64_t)unpack_be64(plain);
		out[*np].proto = plain[8];
		out[*np].device_id = unpack_be32(plain + 9);
		memcpy(out[*np].peer, plain + 13, 63);
		memcpy(out[*np].device, plain + 13 + 64, STORE_DEVICE_NAME_MAX);
		(*np)++;
	}
	sodium_memzero(plain, sizeof(plain));
	free(val);
	return 0;
}

int
store_login_drop(struct store_txn *txn, uint64_t account_id)
{
	uint8_t	 key[LOGINS_KEYLEN];
	int	 ret;

	store_logins_key(key, account_id);
	ret = store_db_del(txn, DBI_META, key, sizeof(key));
	return ret == STORE_ENOTFOUND ? 0 : ret;
}
