/*
 * vault.h: at-rest encryption of accounts and messages (libsodium).
 *
 * Every account has an X25519 key pair.  A message is encrypted under a
 * fresh random key with XChaCha20-Poly1305 in chunks of VAULT_CHUNK bytes;
 * that key is sealed to the account's public key (crypto_box_seal), so a
 * delivery needs no password.  The associated data of every chunk names the
 * account, the blob, the chunk index and whether it is the last one, so
 * chunks and blobs cannot be swapped, reordered or truncated without the
 * tag failing.  Chunks are independently decryptable, which
 * lets a partial FETCH read only what it returns; the per-message key is
 * never reused, so counter nonces are safe.
 *
 * The account's secret key is stored only wrapped under a key-encryption
 * key (KEK): before activation the KEK is derived from the 256-bit
 * invitation token, afterwards from the password with Argon2id.
 *
 * Secrets are returned in sodium_malloc memory; free them with the
 * matching _free function, which wipes them.
 */
#ifndef GUESTBOX_VAULT_H
#define GUESTBOX_VAULT_H

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#define VAULT_KEYBYTES		32
#define VAULT_TOKENBYTES	32
#define VAULT_SALTBYTES		crypto_pwhash_SALTBYTES			/* 16 */
#define VAULT_WRAPPEDBYTES	(24 + VAULT_KEYBYTES + 16)		/* nonce, key, tag */
#define VAULT_SEALEDKEYBYTES	(crypto_box_SEALBYTES + VAULT_KEYBYTES)	/* 80 */
#define VAULT_CHUNK		(64 * 1024)
#define VAULT_CHUNK_OVERHEAD	crypto_aead_xchacha20poly1305_ietf_ABYTES	/* 16 */
#define VAULT_VERIFIERBYTES	32
#define VAULT_AUX_OVERHEAD	(24 + VAULT_CHUNK_OVERHEAD)		/* nonce, tag */

/* What a wrapped secret key is wrapped with; part of the AD. */
enum vault_kek_kind {
	VAULT_KEK_TOKEN = 1,
	VAULT_KEK_PASSWORD = 2,
};

enum vault_kdf_alg {
	VAULT_KDF_ARGON2ID13 = 1,
};

/* Per-account password KDF parameters, stored so they can be raised. */
struct vault_kdf {
	uint8_t		 alg;			/* enum vault_kdf_alg */
	uint64_t	 opslimit;
	uint64_t	 memlimit;
	uint8_t		 salt[VAULT_SALTBYTES];
};

struct vault_keycache;

/* An account's unwrapped key pair; sk is in sodium_malloc memory. */
struct vault_seckey {
	uint64_t	 account_id;
	/*
	 * Which wrap it came from: 0 the main password, else the device
	 * password of that id (store_device), whose revocation ends the
	 * sessions it opened.
	 */
	uint32_t	 device_id;
	uint8_t		 pk[crypto_box_PUBLICKEYBYTES];
	uint8_t		*sk;
	struct vault_keycache *cache;	/* opened message keys, or NULL */
};

/* A message key; k is in sodium_malloc memory. */
struct vault_msgkey {
	uint8_t		*k;
};

int	 vault_init(void);	/* sodium_init(); -1 if it fails */

struct vault_seckey *vault_keypair_new(uint64_t account_id);
struct vault_seckey *vault_seckey_dup(const struct vault_seckey *);
void	 vault_seckey_free(struct vault_seckey **);
/*
 * Opening a sealed message key is an X25519 operation (about 60 us), paid
 * on every read of a message.  With a cache, vault_msgkey_open() with this
 * key remembers up to about n opened message keys (in secret memory,
 * indexed by the sealed bytes, so a hit returns exactly what opening
 * would) and answers repeated reads -- a SEARCH as the user types, a
 * client that fetches again -- without it.  The cache holds nothing the
 * secret key could not open anyway.  Not shared between threads: only the
 * owner of sk may use it.  vault_seckey_dup() does not copy it.
 */
void	 vault_seckey_cache_enable(struct vault_seckey *, size_t n);
/* Wipes and frees what the cache holds; it stays enabled. */
void	 vault_seckey_cache_drop(struct vault_seckey *);

/*
 * Invitation tokens.  The server stores only the token id; the KEK never
 * leaves memory.  kek must point to VAULT_KEYBYTES of secret memory.
 */
void	 vault_token_new(uint8_t token[VAULT_TOKENBYTES]);
void	 vault_token_derive(const uint8_t token[VAULT_TOKENBYTES],
	    uint8_t id[32], uint8_t *kek);

/* Fills kdf with the given cost and a fresh salt. */
void	 vault_kdf_new(struct vault_kdf *, uint64_t opslimit, uint64_t memlimit);
/*
 * Argon2id of the password: kek (VAULT_KEYBYTES of secret memory) and a
 * verifier the server may store.  Returns -1 if the KDF could not run
 * (out of memory, bad parameters).  Takes about 0.1 s and memlimit bytes.
 */
int	 vault_kek_from_password(const char *pw, size_t pwlen,
	    const struct vault_kdf *, uint8_t *kek,
	    uint8_t verifier[VAULT_VERIFIERBYTES]);

void	 vault_wrap(const struct vault_seckey *, const uint8_t *kek,
	    enum vault_kek_kind, uint8_t out[VAULT_WRAPPEDBYTES]);
/* NULL if the KEK is wrong, the blob was altered, or pk does not match. */
struct vault_seckey *vault_unwrap(uint64_t account_id,
	    const uint8_t pk[crypto_box_PUBLICKEYBYTES], const uint8_t *kek,
	    enum vault_kek_kind, const uint8_t in[VAULT_WRAPPEDBYTES]);

/* Message keys. */
struct vault_msgkey *vault_msgkey_new(void);
void	 vault_msgkey_free(struct vault_msgkey **);
void	 vault_msgkey_seal(const struct vault_msgkey *,
	    const uint8_t pk[crypto_box_PUBLICKEYBYTES],
	    uint8_t out[VAULT_SEALEDKEYBYTES]);
struct vault_msgkey *vault_msgkey_open(const struct vault_seckey *,
	    const uint8_t in[VAULT_SEALEDKEYBYTES]);

/*
 * Where a chunk belongs; all of it is authenticated.  final marks the last
 * chunk, so a blob cut short fails even though chunks are written as they
 * fill (an APPEND or DATA streams before its length is known).
 */
struct vault_chunk_ad {
	uint64_t	 account_id;
	uint64_t	 blob_id;
	uint32_t	 index;
	uint8_t		 final;
};

/* Number of chunks for a plaintext of len bytes (at least one). */
uint32_t vault_chunk_count(uint64_t len);
/* ct gets ptlen + VAULT_CHUNK_OVERHEAD bytes. */
void	 vault_chunk_encrypt(const struct vault_msgkey *,
	    const struct vault_chunk_ad *, const void *pt, size_t ptlen,
	    uint8_t *ct);
/* pt gets ctlen - VAULT_CHUNK_OVERHEAD bytes; -1 on a bad tag or size. */
int	 vault_chunk_decrypt(const struct vault_msgkey *,
	    const struct vault_chunk_ad *, const uint8_t *ct, size_t ctlen,
	    uint8_t *pt);

/*
 * Small side data of a blob (the ENVELOPE/BODYSTRUCTURE cache), under the
 * message key with a random nonce.  out gets len + VAULT_AUX_OVERHEAD.
 */
void	 vault_aux_encrypt(const struct vault_msgkey *, uint64_t account_id,
	    uint64_t blob_id, const void *pt, size_t len, uint8_t *out);
int	 vault_aux_decrypt(const struct vault_msgkey *, uint64_t account_id,
	    uint64_t blob_id, const uint8_t *ct, size_t ctlen, uint8_t *pt);

#endif
