/*
 * mime-cache.h: the MIME structure as the aux bytes of a sealed blob.
 *
 * Version 2 (written since the wire forms moved to imapd) keeps the part
 * tree with each part's Content-* fields and the envelopes, parsed;
 * imapd writes ENVELOPE, BODYSTRUCTURE and BODY from them at FETCH time.
 * Version 1 kept the FETCH strings themselves; messages stored with it
 * are still read (mime_msg.v1_*), so they FETCH as they always did.
 */
#ifndef GUESTBOX_MIME_CACHE_H
#define GUESTBOX_MIME_CACHE_H

#include <stddef.h>
#include <stdint.h>

struct mime_msg;
struct pack;

#define MIME_CACHE_VERSION		2
#define MIME_CACHE_VERSION_STRINGS	1	/* read, no longer written */

/* Appends the parts and fields of msg to out (version 2). */
void		 mime_cache_encode(const struct mime_msg *, struct pack *out);
/*
 * Reads what mime_cache_encode() wrote, or a version 1 cache.  Every
 * index, offset, length and count is checked (against msgsize, the size
 * of the message the cache belongs to); returns NULL on any damage, so
 * that the caller parses the message again.
 */
struct mime_msg	*mime_cache_decode(const void *, size_t, uint64_t msgsize);

#endif
