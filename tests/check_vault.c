/*
 * check_vault.c: unit tests of store/vault.h, the at-rest encryption.
 *
 * Every negative test changes exactly one thing against a round trip that
 * is shown to work, so a failure to fail points at that one thing.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <sodium.h>

#include "vault.h"
#include "xmalloc.h"
#include "check-util.h"

/* Argon2id at its cheapest: the tests check the plumbing, not the cost. */
#define TEST_OPSLIMIT	1
#define TEST_MEMLIMIT	(8 * 1024 * 1024)

Suite	*vault_suite(void);

static struct vault_seckey	*sk;		/* account 42's key pair */
static uint8_t			*kek;		/* VAULT_KEYBYTES, secret */

static void
setup(void)
{
	ck_assert_int_eq(vault_init(), 0);
	sk = vault_keypair_new(42);
	kek = xsecret_alloc(VAULT_KEYBYTES);
	randombytes_buf(kek, VAULT_KEYBYTES);
}

static void
teardown(void)
{
	vault_seckey_free(&sk);
	xsecret_free(kek);
	kek = NULL;
}

/* The unwrapped key must be the same key pair, not just "some" key. */
static void
check_same_key(const struct vault_seckey *a, const struct vault_seckey *b)
{
	ck_assert_uint_eq(a->account_id, b->account_id);
	ck_assert_mem_eq(a->pk, b->pk, sizeof(a->pk));
	ck_assert_mem_eq(a->sk, b->sk, crypto_box_SECRETKEYBYTES);
}

/* ---- key pairs ---- */

START_TEST(test_keypair_new)
{
	struct vault_seckey	*other, *dup;
	uint8_t			 pk[crypto_box_PUBLICKEYBYTES];

	ck_assert_uint_eq(sk->account_id, 42);
	/* pk really is the public half of sk. */
	ck_assert_int_eq(crypto_scalarmult_base(pk, sk->sk), 0);
	ck_assert_mem_eq(pk, sk->pk, sizeof(pk));
	other = vault_keypair_new(42);
	ck_assert_mem_ne(other->pk, sk->pk, sizeof(pk));
	dup = vault_seckey_dup(sk);
	ck_assert_ptr_ne(dup->sk, sk->sk);
	check_same_key(dup, sk);
	vault_seckey_free(&dup);
	ck_assert_ptr_null(dup);
	vault_seckey_free(&other);
	vault_seckey_free(&other);	/* NULL is fine */
}
END_TEST

/* ---- wrapping under a token ---- */

START_TEST(test_token_derive)
{
	uint8_t	 token[VAULT_TOKENBYTES], token2[VAULT_TOKENBYTES];
	uint8_t	 id[32], id2[32], *kek2;

	kek2 = xsecret_alloc(VAULT_KEYBYTES);
	vault_token_new(token);
	vault_token_derive(token, id, kek);
	vault_token_derive(token, id2, kek2);
	/* Deterministic: the server finds the account by the id later. */
	ck_assert_mem_eq(id, id2, sizeof(id));
	ck_assert_mem_eq(kek, kek2, VAULT_KEYBYTES);
	/* The id the server keeps must not be the KEK it must not keep. */
	ck_assert_mem_ne(id, kek, VAULT_KEYBYTES);
	ck_assert_mem_ne(id, token, sizeof(id));
	memcpy(token2, token, sizeof(token2));
	token2[31] ^= 1;
	vault_token_derive(token2, id2, kek2);
	ck_assert_mem_ne(id, id2, sizeof(id));
	ck_assert_mem_ne(kek, kek2, VAULT_KEYBYTES);
	xsecret_free(kek2);
}
END_TEST

START_TEST(test_wrap_token_roundtrip)
{
	uint8_t			 token[VAULT_TOKENBYTES], id[32];
	uint8_t			 w[VAULT_WRAPPEDBYTES], w2[VAULT_WRAPPEDBYTES];
	struct vault_seckey	*got;

	vault_token_new(token);
	vault_token_derive(token, id, kek);
	vault_wrap(sk, kek, VAULT_KEK_TOKEN, w);
	/* The secret key itself is not in the wrapped bytes. */
	ck_assert_ptr_null(memmem(w, sizeof(w), sk->sk, 16));
	/* A fresh nonce every time. */
	vault_wrap(sk, kek, VAULT_KEK_TOKEN, w2);
	ck_assert_mem_ne(w, w2, sizeof(w));
	got = vault_unwrap(42, sk->pk, kek, VAULT_KEK_TOKEN, w);
	ck_assert_ptr_nonnull(got);
	check_same_key(got, sk);
	vault_seckey_free(&got);
	got = vault_unwrap(42, sk->pk, kek, VAULT_KEK_TOKEN, w2);
	ck_assert_ptr_nonnull(got);
	vault_seckey_free(&got);
}
END_TEST

/* ---- wrapping under a password ---- */

START_TEST(test_wrap_password_roundtrip)
{
	static const char	 pw[] = "correct horse battery staple";
	struct vault_kdf	 kdf;
	struct vault_seckey	*got;
	uint8_t			 w[VAULT_WRAPPEDBYTES], *kek2;
	uint8_t			 ver[VAULT_VERIFIERBYTES], ver2[VAULT_VERIFIERBYTES];

	kek2 = xsecret_alloc(VAULT_KEYBYTES);
	vault_kdf_new(&kdf, TEST_OPSLIMIT, TEST_MEMLIMIT);
	ck_assert_uint_eq(kdf.alg, VAULT_KDF_ARGON2ID13);
	ck_assert_uint_eq(kdf.opslimit, TEST_OPSLIMIT);
	ck_assert_uint_eq(kdf.memlimit, TEST_MEMLIMIT);
	ck_assert_int_eq(vault_kek_from_password(pw, strlen(pw), &kdf, kek,
	    ver), 0);
	vault_wrap(sk, kek, VAULT_KEK_PASSWORD, w);

	/* A later login derives the same KEK and verifier. */
	ck_assert_int_eq(vault_kek_from_password(pw, strlen(pw), &kdf, kek2,
	    ver2), 0);
	ck_assert_mem_eq(kek, kek2, VAULT_KEYBYTES);
	ck_assert_mem_eq(ver, ver2, sizeof(ver));
	/* The verifier the server stores is not the KEK. */
	ck_assert_mem_ne(ver, kek, VAULT_KEYBYTES);
	got = vault_unwrap(42, sk->pk, kek2, VAULT_KEK_PASSWORD, w);
	ck_assert_ptr_nonnull(got);
	check_same_key(got, sk);
	vault_seckey_free(&got);

	/* One wrong character: another KEK, another verifier, no key. */
	ck_assert_int_eq(vault_kek_from_password("correct horse battery stapl",
	    strlen(pw) - 1, &kdf, kek2, ver2), 0);
	ck_assert_mem_ne(kek, kek2, VAULT_KEYBYTES);
	ck_assert_mem_ne(ver, ver2, sizeof(ver));
	ck_assert_ptr_null(vault_unwrap(42, sk->pk, kek2, VAULT_KEK_PASSWORD,
	    w));
	xsecret_free(kek2);
}
END_TEST

START_TEST(test_password_salt)
{
	static const char	 pw[] = "same password";
	struct vault_kdf	 a, b;
	uint8_t			*kek2;
	uint8_t			 ver[VAULT_VERIFIERBYTES], ver2[VAULT_VERIFIERBYTES];

	kek2 = xsecret_alloc(VAULT_KEYBYTES);
	vault_kdf_new(&a, TEST_OPSLIMIT, TEST_MEMLIMIT);
	vault_kdf_new(&b, TEST_OPSLIMIT, TEST_MEMLIMIT);
	ck_assert_mem_ne(a.salt, b.salt, sizeof(a.salt));
	ck_assert_int_eq(vault_kek_from_password(pw, strlen(pw), &a, kek, ver),
	    0);
	ck_assert_int_eq(vault_kek_from_password(pw, strlen(pw), &b, kek2,
	    ver2), 0);
	ck_assert_mem_ne(kek, kek2, VAULT_KEYBYTES);
	ck_assert_mem_ne(ver, ver2, sizeof(ver));
	xsecret_free(kek2);
}
END_TEST

START_TEST(test_password_bad_params)
{
	struct vault_kdf	 kdf;
	uint8_t			 ver[VAULT_VERIFIERBYTES];

	vault_kdf_new(&kdf, TEST_OPSLIMIT, TEST_MEMLIMIT);
	kdf.alg = 0;
	ck_assert_int_eq(vault_kek_from_password("x", 1, &kdf, kek, ver), -1);
	vault_kdf_new(&kdf, 0, TEST_MEMLIMIT);
	ck_assert_int_eq(vault_kek_from_password("x", 1, &kdf, kek, ver), -1);
	vault_kdf_new(&kdf, TEST_OPSLIMIT, 1024);
	ck_assert_int_eq(vault_kek_from_password("x", 1, &kdf, kek, ver), -1);
}
END_TEST

/* ---- what unwrapping refuses ---- */

START_TEST(test_unwrap_wrong_kek)
{
	uint8_t	 w[VAULT_WRAPPEDBYTES], *bad;

	bad = xsecret_alloc(VAULT_KEYBYTES);
	vault_wrap(sk, kek, VAULT_KEK_TOKEN, w);
	memcpy(bad, kek, VAULT_KEYBYTES);
	bad[0] ^= 0x80;
	ck_assert_ptr_null(vault_unwrap(42, sk->pk, bad, VAULT_KEK_TOKEN, w));
	xsecret_free(bad);
}
END_TEST

START_TEST(test_unwrap_wrong_kind)
{
	uint8_t			 w[VAULT_WRAPPEDBYTES];
	struct vault_seckey	*got;

	vault_wrap(sk, kek, VAULT_KEK_TOKEN, w);
	ck_assert_ptr_null(vault_unwrap(42, sk->pk, kek, VAULT_KEK_PASSWORD, w));
	vault_wrap(sk, kek, VAULT_KEK_PASSWORD, w);
	ck_assert_ptr_null(vault_unwrap(42, sk->pk, kek, VAULT_KEK_TOKEN, w));
	got = vault_unwrap(42, sk->pk, kek, VAULT_KEK_PASSWORD, w);
	ck_assert_ptr_nonnull(got);
	vault_seckey_free(&got);
}
END_TEST

START_TEST(test_unwrap_wrong_account)
{
	uint8_t	 w[VAULT_WRAPPEDBYTES];

	/* Another account's record cannot be given this key. */
	vault_wrap(sk, kek, VAULT_KEK_TOKEN, w);
	ck_assert_ptr_null(vault_unwrap(43, sk->pk, kek, VAULT_KEK_TOKEN, w));
}
END_TEST

START_TEST(test_unwrap_tampered)
{
	uint8_t			 w[VAULT_WRAPPEDBYTES], t[VAULT_WRAPPEDBYTES];
	struct vault_seckey	*got;
	size_t			 i;

	vault_wrap(sk, kek, VAULT_KEK_TOKEN, w);
	/* Nonce, ciphertext and tag: every byte is authenticated. */
	for (i = 0; i < sizeof(w); i++) {
		memcpy(t, w, sizeof(t));
		t[i] ^= 0x01;
		ck_assert_msg(vault_unwrap(42, sk->pk, kek, VAULT_KEK_TOKEN,
		    t) == NULL, "byte %zu of the wrapped key is not "
		    "authenticated", i);
	}
	got = vault_unwrap(42, sk->pk, kek, VAULT_KEK_TOKEN, w);
	ck_assert_ptr_nonnull(got);
	vault_seckey_free(&got);
}
END_TEST

START_TEST(test_unwrap_pk_mismatch)
{
	struct vault_seckey	*other, *liar;
	uint8_t			 w[VAULT_WRAPPEDBYTES];

	other = vault_keypair_new(42);
	/* The pk is in the AD: a record with another pk does not open. */
	vault_wrap(sk, kek, VAULT_KEK_TOKEN, w);
	ck_assert_ptr_null(vault_unwrap(42, other->pk, kek, VAULT_KEK_TOKEN, w));
	/*
	 * A key wrapped together with a pk that is not its own passes the
	 * tag; the check that pk belongs to sk must refuse it.
	 */
	liar = vault_seckey_dup(sk);
	memcpy(liar->pk, other->pk, sizeof(liar->pk));
	vault_wrap(liar, kek, VAULT_KEK_TOKEN, w);
	ck_assert_ptr_null(vault_unwrap(42, other->pk, kek, VAULT_KEK_TOKEN, w));
	vault_seckey_free(&liar);
	vault_seckey_free(&other);
}
END_TEST

/* ---- message keys ---- */

START_TEST(test_msgkey_seal_open)
{
	struct vault_msgkey	*mk, *got, *mk2;
	struct vault_seckey	*other;
	uint8_t			 sealed[VAULT_SEALEDKEYBYTES];
	uint8_t			 sealed2[VAULT_SEALEDKEYBYTES];

	mk = vault_msgkey_new();
	mk2 = vault_msgkey_new();
	ck_assert_mem_ne(mk->k, mk2->k, VAULT_KEYBYTES);
	vault_msgkey_seal(mk, sk->pk, sealed);
	ck_assert_ptr_null(memmem(sealed, sizeof(sealed), mk->k,
	    VAULT_KEYBYTES));
	/* An ephemeral key per seal: the same key seals differently. */
	vault_msgkey_seal(mk, sk->pk, sealed2);
	ck_assert_mem_ne(sealed, sealed2, sizeof(sealed));
	got = vault_msgkey_open(sk, sealed);
	ck_assert_ptr_nonnull(got);
	ck_assert_mem_eq(got->k, mk->k, VAULT_KEYBYTES);
	vault_msgkey_free(&got);
	ck_assert_ptr_null(got);

	other = vault_keypair_new(42);
	ck_assert_ptr_null(vault_msgkey_open(other, sealed));
	sealed[VAULT_SEALEDKEYBYTES - 1] ^= 1;
	ck_assert_ptr_null(vault_msgkey_open(sk, sealed));
	sealed[VAULT_SEALEDKEYBYTES - 1] ^= 1;
	sealed[0] ^= 1;
	ck_assert_ptr_null(vault_msgkey_open(sk, sealed));
	vault_seckey_free(&other);
	vault_msgkey_free(&mk);
	vault_msgkey_free(&mk2);
}
END_TEST

/*
 * With a cache, opening gives exactly what it gives without: the same key
 * for the same sealed bytes, a failure for altered ones, across evictions
 * and drops.
 */
START_TEST(test_msgkey_cache)
{
	enum { N = 40 };
	struct vault_msgkey	*mk[N], *got;
	struct vault_seckey	*other;
	uint8_t			 sealed[N][VAULT_SEALEDKEYBYTES];
	int			 i, round;

	vault_seckey_cache_enable(sk, 16);	/* smaller than N: evictions */
	for (i = 0; i < N; i++) {
		mk[i] = vault_msgkey_new();
		vault_msgkey_seal(mk[i], sk->pk, sealed[i]);
	}
	for (round = 0; round < 3; round++) {
		if (round == 2)
			vault_seckey_cache_drop(sk);
		for (i = 0; i < N; i++) {
			got = vault_msgkey_open(sk, sealed[i]);
			ck_assert_ptr_nonnull(got);
			ck_assert_mem_eq(got->k, mk[i]->k, VAULT_KEYBYTES);
			vault_msgkey_free(&got);
			/* Twice in a row: the second from the cache. */
			got = vault_msgkey_open(sk, sealed[i]);
			ck_assert_ptr_nonnull(got);
			ck_assert_mem_eq(got->k, mk[i]->k, VAULT_KEYBYTES);
			vault_msgkey_free(&got);
		}
	}
	/* Cached, then altered: the altered bytes are not in the cache. */
	ck_assert_ptr_nonnull(got = vault_msgkey_open(sk, sealed[0]));
	vault_msgkey_free(&got);
	sealed[0][VAULT_SEALEDKEYBYTES - 1] ^= 1;
	ck_assert_ptr_null(vault_msgkey_open(sk, sealed[0]));
	sealed[0][VAULT_SEALEDKEYBYTES - 1] ^= 1;
	/* The cache is the key's own: another key still cannot open. */
	other = vault_keypair_new(42);
	vault_seckey_cache_enable(other, 16);
	ck_assert_ptr_null(vault_msgkey_open(other, sealed[0]));
	vault_seckey_free(&other);
	for (i = 0; i < N; i++)
		vault_msgkey_free(&mk[i]);
}
END_TEST

/* ---- chunks ---- */

static struct vault_msgkey	*cmk;
static uint8_t			 cpt[VAULT_CHUNK];
static uint8_t			 cct[VAULT_CHUNK + VAULT_CHUNK_OVERHEAD];
static uint8_t			 cout[VAULT_CHUNK];

static void
chunk_setup(void)
{
	setup();
	cmk = vault_msgkey_new();
	randombytes_buf(cpt, sizeof(cpt));
}

static void
chunk_teardown(void)
{
	vault_msgkey_free(&cmk);
	teardown();
}

static struct vault_chunk_ad
chunk_ad(uint64_t acct, uint64_t blob, uint32_t idx, int final)
{
	struct vault_chunk_ad	 ad;

	memset(&ad, 0, sizeof(ad));
	ad.account_id = acct;
	ad.blob_id = blob;
	ad.index = idx;
	ad.final = (uint8_t)final;
	return ad;
}

START_TEST(test_chunk_count)
{
	ck_assert_uint_eq(vault_chunk_count(0), 1);
	ck_assert_uint_eq(vault_chunk_count(1), 1);
	ck_assert_uint_eq(vault_chunk_count(VAULT_CHUNK - 1), 1);
	ck_assert_uint_eq(vault_chunk_count(VAULT_CHUNK), 1);
	ck_assert_uint_eq(vault_chunk_count(VAULT_CHUNK + 1), 2);
	ck_assert_uint_eq(vault_chunk_count(3 * VAULT_CHUNK + 5), 4);
}
END_TEST

START_TEST(test_chunk_roundtrip)
{
	static const size_t	 sizes[] = { 0, 1, 100, VAULT_CHUNK - 1,
	    VAULT_CHUNK };
	struct vault_chunk_ad	 ad = chunk_ad(42, 7, 3, 1);
	size_t			 i, n;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		n = sizes[i];
		memset(cout, 0xee, sizeof(cout));
		vault_chunk_encrypt(cmk, &ad, cpt, n, cct);
		if (n >= 16)
			ck_assert_ptr_null(memmem(cct, n + VAULT_CHUNK_OVERHEAD,
			    cpt, 16));
		ck_assert_int_eq(vault_chunk_decrypt(cmk, &ad, cct,
		    n + VAULT_CHUNK_OVERHEAD, cout), 0);
		ck_assert_mem_eq(cout, cpt, n);
	}
}
END_TEST

START_TEST(test_chunk_tampered)
{
	struct vault_chunk_ad	 ad = chunk_ad(42, 7, 0, 1);
	size_t			 len = 1000 + VAULT_CHUNK_OVERHEAD, i;
	static const size_t	 at[] = { 0, 1, 500, 999, 1000, 1015 };

	vault_chunk_encrypt(cmk, &ad, cpt, 1000, cct);
	for (i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		cct[at[i]] ^= 0x40;
		ck_assert_msg(vault_chunk_decrypt(cmk, &ad, cct, len, cout) ==
		    -1, "a flipped bit at %zu went unnoticed", at[i]);
		cct[at[i]] ^= 0x40;
	}
	/* Cut short, or longer than any chunk. */
	ck_assert_int_eq(vault_chunk_decrypt(cmk, &ad, cct, len - 1, cout), -1);
	ck_assert_int_eq(vault_chunk_decrypt(cmk, &ad, cct,
	    VAULT_CHUNK_OVERHEAD - 1, cout), -1);
	ck_assert_int_eq(vault_chunk_decrypt(cmk, &ad, cct,
	    VAULT_CHUNK + VAULT_CHUNK_OVERHEAD + 1, cout), -1);
	ck_assert_int_eq(vault_chunk_decrypt(cmk, &ad, cct, len, cout), 0);
}
END_TEST

START_TEST(test_chunk_wrong_key)
{
	struct vault_chunk_ad	 ad = chunk_ad(42, 7, 0, 1);
	struct vault_msgkey	*other = vault_msgkey_new();

	vault_chunk_encrypt(cmk, &ad, cpt, 1000, cct);
	ck_assert_int_eq(vault_chunk_decrypt(other, &ad, cct,
	    1000 + VAULT_CHUNK_OVERHEAD, cout), -1);
	vault_msgkey_free(&other);
}
END_TEST

START_TEST(test_chunk_swapped)
{
	struct vault_chunk_ad	 ad = chunk_ad(42, 7, 2, 0), bad;
	size_t			 len = 1000 + VAULT_CHUNK_OVERHEAD;

	vault_chunk_encrypt(cmk, &ad, cpt, 1000, cct);
	ck_assert_int_eq(vault_chunk_decrypt(cmk, &ad, cct, len, cout), 0);
	/* Moved to another place in the same blob. */
	bad = chunk_ad(42, 7, 1, 0);
	ck_assert_int_eq(vault_chunk_decrypt(cmk, &bad, cct, len, cout), -1);
	bad = chunk_ad(42, 7, 3, 0);
	ck_assert_int_eq(vault_chunk_decrypt(cmk, &bad, cct, len, cout), -1);
	/* Into another blob, even one under the same key. */
	bad = chunk_ad(42, 8, 2, 0);
	ck_assert_int_eq(vault_chunk_decrypt(cmk, &bad, cct, len, cout), -1);
	/* Into another account. */
	bad = chunk_ad(43, 7, 2, 0);
	ck_assert_int_eq(vault_chunk_decrypt(cmk, &bad, cct, len, cout), -1);
}
END_TEST

START_TEST(test_chunk_truncation)
{
	uint8_t			 ct0[100 + VAULT_CHUNK_OVERHEAD];
	uint8_t			 ct1[100 + VAULT_CHUNK_OVERHEAD];
	struct vault_chunk_ad	 a0 = chunk_ad(42, 7, 0, 0);
	struct vault_chunk_ad	 a1 = chunk_ad(42, 7, 1, 1);

	/* A blob of two chunks, the second marked final. */
	vault_chunk_encrypt(cmk, &a0, cpt, 100, ct0);
	vault_chunk_encrypt(cmk, &a1, cpt + 100, 100, ct1);
	ck_assert_int_eq(vault_chunk_decrypt(cmk, &a0, ct0, sizeof(ct0),
	    cout), 0);
	ck_assert_int_eq(vault_chunk_decrypt(cmk, &a1, ct1, sizeof(ct1),
	    cout), 0);
	/* Cut after chunk 0: read as the last chunk, it must not pass. */
	a0.final = 1;
	ck_assert_int_eq(vault_chunk_decrypt(cmk, &a0, ct0, sizeof(ct0),
	    cout), -1);
	/* Nor may the final chunk pass for a middle one (extension). */
	a1.final = 0;
	ck_assert_int_eq(vault_chunk_decrypt(cmk, &a1, ct1, sizeof(ct1),
	    cout), -1);
}
END_TEST

/* ---- aux data ---- */

START_TEST(test_aux_roundtrip)
{
	static const char	 env[] = "(\"Mon, 1 Jan 2024\" \"secret subject\")";
	uint8_t			 a[sizeof(env) + VAULT_AUX_OVERHEAD];
	uint8_t			 b[sizeof(env) + VAULT_AUX_OVERHEAD];
	uint8_t			 out[sizeof(env)];

	vault_aux_encrypt(cmk, 42, 7, env, sizeof(env), a);
	ck_assert_ptr_null(memmem(a, sizeof(a), "secret", 6));
	memset(out, 0, sizeof(out));
	ck_assert_int_eq(vault_aux_decrypt(cmk, 42, 7, a, sizeof(a), out), 0);
	ck_assert_mem_eq(out, env, sizeof(env));
	/* Rewritten under the same key: the nonce must differ. */
	vault_aux_encrypt(cmk, 42, 7, env, sizeof(env), b);
	ck_assert_mem_ne(a, b, 24);
	ck_assert_int_eq(vault_aux_decrypt(cmk, 42, 7, b, sizeof(b), out), 0);
	/* Empty aux data still authenticates. */
	vault_aux_encrypt(cmk, 42, 7, "", 0, a);
	ck_assert_int_eq(vault_aux_decrypt(cmk, 42, 7, a, VAULT_AUX_OVERHEAD,
	    out), 0);
}
END_TEST

START_TEST(test_aux_refused)
{
	static const char	 env[] = "envelope";
	uint8_t			 a[sizeof(env) + VAULT_AUX_OVERHEAD];
	uint8_t			 out[sizeof(env)];
	struct vault_msgkey	*other = vault_msgkey_new();

	vault_aux_encrypt(cmk, 42, 7, env, sizeof(env), a);
	ck_assert_int_eq(vault_aux_decrypt(cmk, 42, 8, a, sizeof(a), out), -1);
	ck_assert_int_eq(vault_aux_decrypt(cmk, 43, 7, a, sizeof(a), out), -1);
	ck_assert_int_eq(vault_aux_decrypt(other, 42, 7, a, sizeof(a), out),
	    -1);
	ck_assert_int_eq(vault_aux_decrypt(cmk, 42, 7, a, sizeof(a) - 1, out),
	    -1);
	ck_assert_int_eq(vault_aux_decrypt(cmk, 42, 7, a,
	    VAULT_AUX_OVERHEAD - 1, out), -1);
	a[3] ^= 1;		/* the nonce */
	ck_assert_int_eq(vault_aux_decrypt(cmk, 42, 7, a, sizeof(a), out), -1);
	a[3] ^= 1;
	a[30] ^= 1;		/* the ciphertext */
	ck_assert_int_eq(vault_aux_decrypt(cmk, 42, 7, a, sizeof(a), out), -1);
	a[30] ^= 1;
	ck_assert_int_eq(vault_aux_decrypt(cmk, 42, 7, a, sizeof(a), out), 0);
	vault_msgkey_free(&other);
}
END_TEST

/*
 * The slots behind every key and every waiting password (xmalloc.h):
 * distinct, in more than one slab when one is full, and wiped when given
 * back, before the next taker sees them.
 */
START_TEST(test_secret_slots)
{
	static struct xsecret_slots	 sl = XSECRET_SLOTS_INIT(256);
	uint8_t				*p[40], zero[256];
	size_t				 i, j;

	memset(zero, 0, sizeof(zero));
	/* 40 slots of 256 bytes: three page-sized slabs. */
	for (i = 0; i < 40; i++) {
		p[i] = xsecret_slot_get(&sl);
		memset(p[i], (int)(i + 1), 256);
	}
	ck_assert_uint_eq(sl.total, 48);
	for (i = 0; i < 40; i++)
		for (j = 0; j < 256; j++)
			ck_assert_uint_eq(p[i][j], i + 1);
	xsecret_slot_put(&sl, p[7]);
	/* Wiped at once, whoever holds a stale pointer. */
	ck_assert_mem_eq(p[7], zero, sizeof(zero));
	/* The next taker gets it back, still wiped; no new slab. */
	ck_assert_ptr_eq(xsecret_slot_get(&sl), p[7]);
	ck_assert_mem_eq(p[7], zero, sizeof(zero));
	ck_assert_uint_eq(sl.total, 48);
	xsecret_slot_put(&sl, NULL);
	for (i = 0; i < 40; i++)
		xsecret_slot_put(&sl, p[i]);
	ck_assert_uint_eq(sl.nfree, 48);
}
END_TEST

/*
 * Slots of a page or more: each its own allocation, wiped when given
 * back, reused while few are free, and given back beyond the few kept.
 */
START_TEST(test_secret_slots_large)
{
	static struct xsecret_slots	 sl = XSECRET_SLOTS_INIT(65536);
	uint8_t				*p[40];
	size_t				 i;

	for (i = 0; i < 40; i++) {
		p[i] = xsecret_slot_get(&sl);
		memset(p[i], (int)(i + 1), 65536);
	}
	ck_assert_uint_eq(sl.total, 40);
	ck_assert_uint_eq(p[39][65535], 40);
	xsecret_slot_put(&sl, p[3]);
	ck_assert_uint_eq(p[3][0], 0);
	ck_assert_uint_eq(p[3][65535], 0);
	ck_assert_ptr_eq(xsecret_slot_get(&sl), p[3]);
	for (i = 0; i < 40; i++)
		xsecret_slot_put(&sl, p[i]);
	/* Sixteen kept; the other 24 went back to the system. */
	ck_assert_uint_eq(sl.nfree, 16);
	ck_assert_uint_eq(sl.total, 16);
	for (i = 0; i < 16; i++)
		p[i] = xsecret_slot_get(&sl);
	ck_assert_uint_eq(sl.total, 16);
	ck_assert_uint_eq(p[0][100], 0);
	for (i = 0; i < 16; i++)
		xsecret_slot_put(&sl, p[i]);
}
END_TEST

Suite *
vault_suite(void)
{
	Suite	*s = suite_create("vault");
	TCase	*tc;

	tc = tcase_create("keypair");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_keypair_new);
	tcase_add_test(tc, test_secret_slots);
	tcase_add_test(tc, test_secret_slots_large);
	suite_add_tcase(s, tc);

	tc = tcase_create("wrap");
	tcase_add_checked_fixture(tc, setup, teardown);
	/* Argon2id runs here, at its cheapest but still not free. */
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_token_derive);
	tcase_add_test(tc, test_wrap_token_roundtrip);
	tcase_add_test(tc, test_wrap_password_roundtrip);
	tcase_add_test(tc, test_password_salt);
	tcase_add_test(tc, test_password_bad_params);
	suite_add_tcase(s, tc);

	tc = tcase_create("unwrap_refuses");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_unwrap_wrong_kek);
	tcase_add_test(tc, test_unwrap_wrong_kind);
	tcase_add_test(tc, test_unwrap_wrong_account);
	tcase_add_test(tc, test_unwrap_tampered);
	tcase_add_test(tc, test_unwrap_pk_mismatch);
	suite_add_tcase(s, tc);

	tc = tcase_create("msgkey");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_msgkey_seal_open);
	tcase_add_test(tc, test_msgkey_cache);
	suite_add_tcase(s, tc);

	tc = tcase_create("chunk");
	tcase_add_checked_fixture(tc, chunk_setup, chunk_teardown);
	tcase_add_test(tc, test_chunk_count);
	tcase_add_test(tc, test_chunk_roundtrip);
	tcase_add_test(tc, test_chunk_tampered);
	tcase_add_test(tc, test_chunk_wrong_key);
	tcase_add_test(tc, test_chunk_swapped);
	tcase_add_test(tc, test_chunk_truncation);
	suite_add_tcase(s, tc);

	tc = tcase_create("aux");
	tcase_add_checked_fixture(tc, chunk_setup, chunk_teardown);
	tcase_add_test(tc, test_aux_roundtrip);
	tcase_add_test(tc, test_aux_refused);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	return check_util_run(vault_suite());
}
