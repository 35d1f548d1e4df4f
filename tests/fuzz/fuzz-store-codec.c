/*
 * fuzz-store-codec.c: the decoders of store records (accounts, mailboxes,
 * messages, correspondents, blobs, queue entries) and the vault's chunk
 * and aux decryption, fed damaged bytes.  The first byte picks the
 * decoder; a record that decodes must encode to the same bytes, or to
 * bytes that encode to themselves (an older version, upgraded).
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

/*
 * Decodes in as record kind and encodes what came out into pk; -1 if it
 * did not decode.
 */
static int
recode(int kind, const uint8_t *in, size_t len, struct pack *pk)
{
	struct store_account	 a;
	struct store_mailbox	 m;
	struct store_msg	 msg;
	struct store_corr	 c;
	struct store_blob_rec	 b;
	struct store_queue_entry q;
	int			 ret = -1;

	memset(&a, 0, sizeof(a));
	memset(&m, 0, sizeof(m));
	memset(&c, 0, sizeof(c));
	memset(&q, 0, sizeof(q));
	switch (kind) {
	case 0:
		if (store_account_decode(in, len, &a) == 0) {
			store_account_encode(&a, pk);
			ret = 0;
		}
		store_account_clear(&a);
		break;
	case 1:
		if (store_mailbox_decode(in, len, &m) == 0) {
			store_mailbox_encode(&m, pk);
			ret = 0;
		}
		store_mailbox_clear(&m);
		break;
	case 2:
		if (store_msg_decode(in, len, &msg) == 0) {
			store_msg_encode(&msg, pk);
			ret = 0;
		}
		break;
	case 3:
		if (store_corr_decode(in, len, &c) == 0) {
			store_corr_encode(&c, pk);
			ret = 0;
		}
		store_corr_clear(&c);
		break;
	case 4:
		if (store_blob_rec_decode(in, len, &b) == 0) {
			store_blob_rec_encode(&b, pk);
			ret = 0;
		}
		break;
	default:
		if (store_queue_decode(in, len, &q) == 0) {
			store_queue_encode(&q, pk);
			ret = 0;
		}
		store_queue_entry_clear(&q);
		break;
	}
	return ret;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vault_msgkey	*mk;
	struct vault_chunk_ad	 ad = { 1, 2, 0, 1 };
	struct pack		 pk, pk2;
	uint8_t			*out;
	int			 kind;

	if (size < 1)
		return 0;
	if (mk == NULL) {
		log_init("fuzz-store-codec", 1, 0);
		if (vault_init() == -1)
			abort();
		mk = vault_msgkey_new();
	}
	pack_init(&pk);
	pack_init(&pk2);
	kind = data[0] % 8;
	switch (kind) {
	case 6:
		/* Forged ciphertext never authenticates. */
		out = malloc(size);
		if (vault_chunk_decrypt(mk, &ad, data + 1, size - 1, out) == 0)
			abort();
		free(out);
		break;
	case 7:
		out = malloc(size);
		if (vault_aux_decrypt(mk, 1, 2, data + 1, size - 1, out) == 0)
			abort();
		free(out);
		break;
	default:
		/*
		 * What decodes encodes to the same bytes, or, read from an
		 * older version (or a form the encoder never writes), to
		 * bytes that then stay the same.
		 */
		if (recode(kind, data + 1, size - 1, &pk) == -1)
			break;
		if (pk.len == size - 1 && memcmp(pk.buf, data + 1, pk.len) == 0)
			break;
		if (recode(kind, pk.buf, pk.len, &pk2) == -1 ||
		    pk2.len != pk.len || memcmp(pk2.buf, pk.buf, pk.len) != 0)
			abort();
		break;
	}
	pack_free(&pk2);
	pack_free(&pk);
	return 0;
}
