/*
 * mime-cache.h: the MIME structure as the aux bytes of a sealed blob.
 *
 * Version 3 (written since THREAD=REFERENCES) keeps the part tree with
 * each part's Content-* fields and the envelopes, parsed, with their
 * References field; imapd writes ENVELOPE, BODYSTRUCTURE and BODY from
 * them at FETCH time and threads by them.  Version 2, the same without
 * References, is still read (mime_msg.references_unknown set).
 * Version 1 kept the FETCH strings themselves; messages stored with it
 * are still read (mime_msg.v1_*), so they FETCH as they always did.
 */
#ifndef GUESTBOX_MIME_CACHE_H
#define GUESTBOX_MIME_CACHE_H

#include <stddef.h>
#include <stdint.h>

struct mime_msg;
struct pack;

#define MIME_CACHE_VERSION		3
#define MIME_CACHE_VERSION_NOREFS	2	/* read: no References kept */
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
