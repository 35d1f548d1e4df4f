/*
 * mime-seal.h: sealing a message for storage together with its MIME
 * cache, so that FETCH ENVELOPE and BODYSTRUCTURE never decrypt the
 * content (computed once, at delivery or APPEND).
 */
#ifndef GUESTBOX_MIME_SEAL_H
#define GUESTBOX_MIME_SEAL_H

#include <stddef.h>
#include <stdint.h>

struct store_blob;

/* The caller frees the blob (store_blob_free). */
struct store_blob *mime_seal(uint64_t account_id, const uint8_t pk[32],
	    const void *msg, size_t len);

#endif
