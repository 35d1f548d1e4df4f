/*
 * vault.c: libsodium primitives put together for guestbox (see vault.h).
 */
#include "config.h"

#include <string.h>

#include <sodium.h>

#include "pack.h"
#include "vault.h"
#include "xmalloc.h"

/* Domain separation: each use of a key gets its own label in the AD. */
#define VAULT_AD_WRAP	"guestbox wrap v1"
#define VAULT_AD_CHUNK	"guestbox chunk v1"
#define VAULT_AD_AUX	"guestbox aux v1"
#define VAULT_KDF_CTX	"gbtoken_"	/* crypto_kdf context, 8 bytes */

/*
 * Message keys are opened for every message read (each FETCH of a body
 * or header, each message a SEARCH looks into): a sodium_malloc() each
 * costs an mmap, mprotects and an mlock, and as many calls again to free
 * -- about 26 us, nearly half of opening the sealed key itself, and under
 * bench/bench-imap's mixed workload a quarter of guestbox-imapd's CPU.
 * An account's secret key lives as long as an IMAP session: in its own
 * sodium_malloc() it takes two resident pages and four memory mappings,
 * 8 kB of each idle connection, and 10,000 sessions come close to the
 * kernel's 65,530 mappings (vm.max_map_count), past which sodium_malloc()
 * fails and the daemon with it.  So both take 32-byte slots of slabs of
 * guarded, locked memory (sodium_malloc, one page each), wiped when freed
 * and kept for the next key (xsecret_slot_get): there are as many slabs
 * as keys were open at once at worst.
 */
#define VAULT_SLOT		32
_Static_assert(VAULT_KEYBYTES == VAULT_SLOT, "message key slot size");
_Static_assert(crypto_box_SECRETKEYBYTES == VAULT_SLOT, "secret key slot size");

/* The message key cache: sets of VAULT_CACHE_WAYS, replaced in turn. */
#define VAULT_CACHE_WAYS	4

struct vault_keycache_entry {
	uint8_t		 sealed[VAULT_SEALEDKEYBYTES];	/* public */
	uint8_t		*k;				/* a slot, or NULL */
};

struct vault_keycache {
	size_t				 nsets;		/* a power of two */
	struct vault_keycache_entry	*e;		/* lazily */
	unsigned int			 victim;
};

static struct xsecret_slots	 vault_slots = XSECRET_SLOTS_INIT(VAULT_SLOT);

int
vault_init(void)
{
	return sodium_init() < 0 ? -1 : 0;
}

static uint8_t *
vault_slot_get(void)
{
	return xsecret_slot_get(&vault_slots);
}

static void
vault_slot_put(uint8_t *k)
{
	xsecret_slot_put(&vault_slots, k);
}

static struct vault_seckey *
vault_seckey_alloc(uint64_t account_id)
{
	struct vault_seckey	*sk = xcalloc(1, sizeof(*sk));

	sk->account_id = account_id;
	sk->sk = vault_slot_get();
	return sk;
}

struct vault_seckey *
vault_keypair_new(uint64_t account_id)
{
	struct vault_seckey	*sk = vault_seckey_alloc(account_id);

	crypto_box_keypair(sk->pk, sk->sk);
	return sk;
}

struct vault_seckey *
vault_seckey_dup(const struct vault_seckey *src)
{
	struct vault_seckey	*sk = vault_seckey_alloc(src->account_id);

	memcpy(sk->pk, src->pk, sizeof(sk->pk));
	memcpy(sk->sk, src->sk, crypto_box_SECRETKEYBYTES);
	sk->device_id = src->device_id;
	return sk;
}

void
vault_seckey_free(struct vault_seckey **skp)
{
	if (*skp == NULL)
		return;
	if ((*skp)->cache != NULL) {
		vault_seckey_cache_drop(*skp);
		free((*skp)->cache);
	}
	vault_slot_put((*skp)->sk);
	free(*skp);
	*skp = NULL;
}

void
vault_seckey_cache_enable(struct vault_seckey *sk, size_t n)
{
	size_t	 nsets = 1;

	if (sk->cache != NULL)
		return;
	while (nsets * VAULT_CACHE_WAYS < n)
		nsets *= 2;
	sk->cache = xcalloc(1, sizeof(*sk->cache));
	sk->cache->nsets = nsets;
}

void
vault_seckey_cache_drop(struct vault_seckey *sk)
{
	struct vault_keycache	*c = sk->cache;
	size_t			 i;

	if (c == NULL || c->e == NULL)
		return;
	for (i = 0; i < c->nsets * VAULT_CACHE_WAYS; i++)
		if (c->e[i].k != NULL)
			vault_slot_put(c->e[i].k);
	free(c->e);
	c->e = NULL;
}

/* The set of a sealed key: its first bytes are a fresh X25519 public key. */
static struct vault_keycache_entry *
vault_keycache_set(struct vault_keycache *c, const uint8_t *sealed)
{
	uint32_t	 h;

	h = (uint32_t)sealed[0] | (uint32_t)sealed[1] << 8 |
	    (uint32_t)sealed[2] << 16 | (uint32_t)sealed[3] << 24;
	return &c->e[(h & (c->nsets - 1)) * VAULT_CACHE_WAYS];
}

static const uint8_t *
vault_keycache_find(struct vault_keycache *c, const uint8_t *sealed)
{
	struct vault_keycache_entry	*set;
	size_t				 i;

	if (c->e == NULL)
		return NULL;
	set = vault_keycache_set(c, sealed);
	for (i = 0; i < VAULT_CACHE_WAYS; i++)
		if (set[i].k != NULL &&
		    memcmp(set[i].sealed, sealed, VAULT_SEALEDKEYBYTES) == 0)
			return set[i].k;
	return NULL;
}

static void
vault_keycache_add(struct vault_keycache *c, const uint8_t *sealed,
    const uint8_t *k)
{
	struct vault_keycache_entry	*set, *e = NULL;
	size_t				 i;

	if (c->e == NULL)
		c->e = xcalloc(c->nsets * VAULT_CACHE_WAYS, sizeof(*c->e));
	set = vault_keycache_set(c, sealed);
	for (i = 0; i < VAULT_CACHE_WAYS && e == NULL; i++)
		if (set[i].k == NULL)
			e = &set[i];
	if (e == NULL)
		e = &set[c->victim++ % VAULT_CACHE_WAYS];
	if (e->k == NULL)
		e->k = vault_slot_get();
	memcpy(e->sealed, sealed, VAULT_SEALEDKEYBYTES);
	memcpy(e->k, k, VAULT_KEYBYTES);
}

void
vault_token_new(uint8_t token[VAULT_TOKENBYTES])
{
	randombytes_buf(token, VAULT_TOKENBYTES);
}

/*
 * The token has 256 bits of entropy, so a fast KDF is enough: subkey 1 is
 * the id the server keeps for lookup, subkey 2 the KEK it never keeps.
 */
void
vault_token_derive(const uint8_t token[VAULT_TOKENBYTES], uint8_t id[32],
    uint8_t *kek)
{
	crypto_kdf_derive_from_key(id, 32, 1, VAULT_KDF_CTX, token);
	crypto_kdf_derive_from_key(kek, VAULT_KEYBYTES, 2, VAULT_KDF_CTX, token);
}

void
vault_kdf_new(struct vault_kdf *kdf, uint64_t opslimit, uint64_t memlimit)
{
	kdf->alg = VAULT_KDF_ARGON2ID13;
	kdf->opslimit = opslimit;
	kdf->memlimit = memlimit;
	randombytes_buf(kdf->salt, sizeof(kdf->salt));
}

int
vault_kek_from_password(const char *pw, size_t pwlen,
    const struct vault_kdf *kdf, uint8_t *kek,
    uint8_t verifier[VAULT_VERIFIERBYTES])
{
	uint8_t	*out;
	int	 ret = -1;

	if (kdf->alg != VAULT_KDF_ARGON2ID13 ||
	    kdf->opslimit < crypto_pwhash_OPSLIMIT_MIN ||
	    kdf->opslimit > crypto_pwhash_OPSLIMIT_MAX ||
	    kdf->memlimit < crypto_pwhash_MEMLIMIT_MIN ||
	    kdf->memlimit > (uint64_t)SIZE_MAX)
		return -1;
	/* One Argon2id run gives both halves: KEK, and a verifier seed. */
	out = xsecret_alloc(2 * VAULT_KEYBYTES);
	if (crypto_pwhash(out, 2 * VAULT_KEYBYTES, pw, pwlen, kdf->salt,
	    kdf->opslimit, (size_t)kdf->memlimit,
	    crypto_pwhash_ALG_ARGON2ID13) == 0) {
		memcpy(kek, out, VAULT_KEYBYTES);
		crypto_generichash(verifier, VAULT_VERIFIERBYTES,
		    out + VAULT_KEYBYTES, VAULT_KEYBYTES, NULL, 0);
		ret = 0;
	}
	xsecret_free(out);
	return ret;
}

static void
vault_wrap_ad(uint8_t ad[sizeof(VAULT_AD_WRAP) + 8 + 1 + 32],
    uint64_t account_id, enum vault_kek_kind kind, const uint8_t *pk)
{
	memcpy(ad, VAULT_AD_WRAP, sizeof(VAULT_AD_WRAP));
	pack_be64(ad + sizeof(VAULT_AD_WRAP), account_id);
	ad[sizeof(VAULT_AD_WRAP) + 8] = (uint8_t)kind;
	memcpy(ad + sizeof(VAULT_AD_WRAP) + 9, pk, 32);
}

void
vault_wrap(const struct vault_seckey *sk, const uint8_t *kek,
    enum vault_kek_kind kind, uint8_t out[VAULT_WRAPPEDBYTES])
{
	uint8_t	 ad[sizeof(VAULT_AD_WRAP) + 8 + 1 + 32];

	vault_wrap_ad(ad, sk->account_id, kind, sk->pk);
	randombytes_buf(out, 24);
	crypto_aead_xchacha20poly1305_ietf_encrypt(out + 24, NULL, sk->sk,
	    VAULT_KEYBYTES, ad, sizeof(ad), NULL, out, kek);
}

struct vault_seckey *
vault_unwrap(uint64_t account_id, const uint8_t pk[crypto_box_PUBLICKEYBYTES],
    const uint8_t *kek, enum vault_kek_kind kind,
    const uint8_t in[VAULT_WRAPPEDBYTES])
{
	struct vault_seckey	*sk;
	uint8_t			 ad[sizeof(VAULT_AD_WRAP) + 8 + 1 + 32];
	uint8_t			 check[crypto_box_PUBLICKEYBYTES];

	sk = vault_seckey_alloc(account_id);
	memcpy(sk->pk, pk, sizeof(sk->pk));
	vault_wrap_ad(ad, account_id, kind, pk);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(sk->sk, NULL, NULL,
	    in + 24, VAULT_WRAPPEDBYTES - 24, ad, sizeof(ad), in, kek) != 0)
		goto fail;
	/* The stored public key must belong to the unwrapped secret key. */
	if (crypto_scalarmult_base(check, sk->sk) != 0 ||
	    sodium_memcmp(check, pk, sizeof(check)) != 0)
		goto fail;
	return sk;
fail:
	vault_seckey_free(&sk);
	return NULL;
}

struct vault_msgkey *
vault_msgkey_new(void)
{
	struct vault_msgkey	*mk = xcalloc(1, sizeof(*mk));

	mk->k = vault_slot_get();
	crypto_aead_xchacha20poly1305_ietf_keygen(mk->k);
	return mk;
}

void
vault_msgkey_free(struct vault_msgkey **mkp)
{
	if (*mkp == NULL)
		return;
	vault_slot_put((*mkp)->k);
	free(*mkp);
	*mkp = NULL;
}

void
vault_msgkey_seal(const struct vault_msgkey *mk,
    const uint8_t pk[crypto_box_PUBLICKEYBYTES],
    uint8_t out[VAULT_SEALEDKEYBYTES])
{
	if (crypto_box_seal(out, mk->k, VAULT_KEYBYTES, pk) != 0)
		fatalx("crypto_box_seal failed");
}

struct vault_msgkey *
vault_msgkey_open(const struct vault_seckey *sk,
    const uint8_t in[VAULT_SEALEDKEYBYTES])
{
	struct vault_msgkey	*mk = xcalloc(1, sizeof(*mk));
	const uint8_t		*k;

	mk->k = vault_slot_get();
	if (sk->cache != NULL && (k = vault_keycache_find(sk->cache, in)) !=
	    NULL) {
		memcpy(mk->k, k, VAULT_KEYBYTES);
		return mk;
	}
	if (crypto_box_seal_open(mk->k, in, VAULT_SEALEDKEYBYTES, sk->pk,
	    sk->sk) != 0) {
		vault_msgkey_free(&mk);
		return NULL;
	}
	if (sk->cache != NULL)
		vault_keycache_add(sk->cache, in, mk->k);
	return mk;
}

uint32_t
vault_chunk_count(uint64_t len)
{
	return len == 0 ? 1 : (uint32_t)((len + VAULT_CHUNK - 1) / VAULT_CHUNK);
}

#define VAULT_CHUNK_ADLEN	(sizeof(VAULT_AD_CHUNK) + 8 + 8 + 4 + 1)

static void
vault_chunk_adbytes(const struct vault_chunk_ad *a, uint8_t ad[VAULT_CHUNK_ADLEN],
    uint8_t nonce[24])
{
	uint8_t	*p = ad;

	memcpy(p, VAULT_AD_CHUNK, sizeof(VAULT_AD_CHUNK));
	p += sizeof(VAULT_AD_CHUNK);
	pack_be64(p, a->account_id);
	pack_be64(p + 8, a->blob_id);
	pack_be32(p + 16, a->index);
	p[20] = a->final != 0;
	/* The key is fresh per message: the chunk index is a unique nonce. */
	memset(nonce, 0, 24);
	pack_be32(nonce, a->index);
}

void
vault_chunk_encrypt(const struct vault_msgkey *mk,
    const struct vault_chunk_ad *a, const void *pt, size_t ptlen, uint8_t *ct)
{
	uint8_t	 ad[VAULT_CHUNK_ADLEN], nonce[24];

	vault_chunk_adbytes(a, ad, nonce);
	crypto_aead_xchacha20poly1305_ietf_encrypt(ct, NULL, pt, ptlen, ad,
	    sizeof(ad), NULL, nonce, mk->k);
}

int
vault_chunk_decrypt(const struct vault_msgkey *mk,
    const struct vault_chunk_ad *a, const uint8_t *ct, size_t ctlen,
    uint8_t *pt)
{
	uint8_t	 ad[VAULT_CHUNK_ADLEN], nonce[24];

	if (ctlen < VAULT_CHUNK_OVERHEAD ||
	    ctlen - VAULT_CHUNK_OVERHEAD > VAULT_CHUNK)
		return -1;
	vault_chunk_adbytes(a, ad, nonce);
	return crypto_aead_xchacha20poly1305_ietf_decrypt(pt, NULL, NULL, ct,
	    ctlen, ad, sizeof(ad), nonce, mk->k) == 0 ? 0 : -1;
}

#define VAULT_AUX_ADLEN	(sizeof(VAULT_AD_AUX) + 8 + 8)

static void
vault_aux_adbytes(uint64_t account_id, uint64_t blob_id,
    uint8_t ad[VAULT_AUX_ADLEN])
{
	memcpy(ad, VAULT_AD_AUX, sizeof(VAULT_AD_AUX));
	pack_be64(ad + sizeof(VAULT_AD_AUX), account_id);
	pack_be64(ad + sizeof(VAULT_AD_AUX) + 8, blob_id);
}

void
vault_aux_encrypt(const struct vault_msgkey *mk, uint64_t account_id,
    uint64_t blob_id, const void *pt, size_t len, uint8_t *out)
{
	uint8_t	 ad[VAULT_AUX_ADLEN];

	vault_aux_adbytes(account_id, blob_id, ad);
	/*
	 * The aux data may be rewritten under the same key (a cache built
	 * later), so its nonce is random, never a counter.
	 */
	randombytes_buf(out, 24);
	crypto_aead_xchacha20poly1305_ietf_encrypt(out + 24, NULL, pt, len, ad,
	    sizeof(ad), NULL, out, mk->k);
}

int
vault_aux_decrypt(const struct vault_msgkey *mk, uint64_t account_id,
    uint64_t blob_id, const uint8_t *ct, size_t ctlen, uint8_t *pt)
{
	uint8_t	 ad[VAULT_AUX_ADLEN];

	if (ctlen < 24 + VAULT_CHUNK_OVERHEAD)
		return -1;
	/* The nonce is stored in front (no random draw to decrypt). */
	vault_aux_adbytes(account_id, blob_id, ad);
	return crypto_aead_xchacha20poly1305_ietf_decrypt(pt, NULL, NULL,
	    ct + 24, ctlen - 24, ad, sizeof(ad), ct, mk->k) == 0 ? 0 : -1;
}
