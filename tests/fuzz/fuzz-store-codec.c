/*
 * fuzz-store-codec.c: the decoders of store records (accounts, mailboxes,
 * messages, correspondents, blobs, queue entries) and the vault's chunk
 * and aux decryption, fed damaged bytes.  The first byte picks the
 * decoder; a record that decodes must encode to the same bytes.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pack.h"
#include "store-private.h"
#include "vault.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
same(const struct pack *pk, const uint8_t *data, size_t size)
{
	if (pk->len != size || memcmp(pk->buf, data, size) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vault_msgkey	*mk;
	struct store_account	 a;
	struct store_mailbox	 m;
	struct store_msg	 msg;
	struct store_corr	 c;
	struct store_blob_rec	 b;
	struct store_queue_entry q;
	struct vault_chunk_ad	 ad = { 1, 2, 0, 1 };
	struct pack		 pk;
	uint8_t			*out;

	if (size < 1)
		return 0;
	if (mk == NULL) {
		log_init("fuzz-store-codec", 1, 0);
		if (vault_init() == -1)
			abort();
		mk = vault_msgkey_new();
	}
	pack_init(&pk);
	memset(&a, 0, sizeof(a));
	memset(&m, 0, sizeof(m));
	memset(&c, 0, sizeof(c));
	memset(&q, 0, sizeof(q));
	switch (data[0] % 8) {
	case 0:
		if (store_account_decode(data + 1, size - 1, &a) == 0) {
			store_account_encode(&a, &pk);
			same(&pk, data + 1, size - 1);
		}
		store_account_clear(&a);
		break;
	case 1:
		if (store_mailbox_decode(data + 1, size - 1, &m) == 0) {
			store_mailbox_encode(&m, &pk);
			same(&pk, data + 1, size - 1);
		}
		store_mailbox_clear(&m);
		break;
	case 2:
		if (store_msg_decode(data + 1, size - 1, &msg) == 0) {
			store_msg_encode(&msg, &pk);
			same(&pk, data + 1, size - 1);
		}
		break;
	case 3:
		if (store_corr_decode(data + 1, size - 1, &c) == 0) {
			store_corr_encode(&c, &pk);
			same(&pk, data + 1, size - 1);
		}
		store_corr_clear(&c);
		break;
	case 4:
		if (store_blob_rec_decode(data + 1, size - 1, &b) == 0) {
			store_blob_rec_encode(&b, &pk);
			same(&pk, data + 1, size - 1);
		}
		break;
	case 5:
		if (store_queue_decode(data + 1, size - 1, &q) == 0) {
			store_queue_encode(&q, &pk);
			same(&pk, data + 1, size - 1);
		}
		store_queue_entry_clear(&q);
		break;
	case 6:
		/* Forged ciphertext never authenticates. */
		out = malloc(size);
		if (vault_chunk_decrypt(mk, &ad, data + 1, size - 1, out) == 0)
			abort();
		free(out);
		break;
	default:
		out = malloc(size);
		if (vault_aux_decrypt(mk, 1, 2, data + 1, size - 1, out) == 0)
			abort();
		free(out);
		break;
	}
	pack_free(&pk);
	return 0;
}
