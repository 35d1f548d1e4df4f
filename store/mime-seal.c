/*
 * mime-seal.c: a message and its MIME cache, sealed in one blob.
 */
#include "config.h"

#include "mime-cache.h"
#include "mime.h"
#include "mime-seal.h"
#include "pack.h"
#include "store.h"

struct store_blob *
mime_seal(uint64_t account_id, const uint8_t pk[32], const void *msg,
    size_t len)
{
	struct store_blob	*blob;
	struct mime_msg		*mm;
	struct pack		 aux;

	pack_init(&aux);
	if ((mm = mime_parse(msg, len)) != NULL) {
		mime_cache_encode(mm, &aux);
		mime_msg_free(&mm);
	}
	blob = store_blob_seal(account_id, pk, msg, len, aux.buf, aux.len);
	pack_free(&aux);
	return blob;
}
