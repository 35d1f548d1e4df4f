/*
 * imap-sort-cache.h: the decoded SORT and THREAD keys (imap-sort.h) of
 * a session's selected mailbox, kept in memory once read, so only the
 * first SORT or THREAD of a message decrypts its sealed MIME cache.
 *
 * A key never goes stale: what it is made of (the header) is fixed for
 * a UID of a mailbox and UIDVALIDITY (RFC 3501 2.3.1.1), and each entry
 * also checks the message's blob.  What does change (sequence number,
 * MODSEQ) is read from the record at every command.  An entry goes when
 * the session is told its message was expunged; the whole cache when
 * the session leaves the mailbox or ends.  It is the session's only:
 * decrypted mail does not outlive the session that may read it, and it
 * is wiped when freed.
 *
 * Bounded: IMAP_SORT_CACHE_SESSION_MAX bytes per session and
 * IMAP_SORT_CACHE_TOTAL_MAX in the process; past either, keys are still
 * read (answers stay right), only not kept.
 */
#ifndef GUESTBOX_IMAP_SORT_CACHE_H
#define GUESTBOX_IMAP_SORT_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "imap-sort.h"

#define IMAP_SORT_CACHE_SESSION_MAX	(32UL * 1024 * 1024)
#define IMAP_SORT_CACHE_TOTAL_MAX	(256UL * 1024 * 1024)

struct imap_sort_cache;
struct imap_sort_ent;

/* A new, empty cache of the keys of one mailbox (its UIDVALIDITY). */
struct imap_sort_cache *imap_sort_cache_new(uint64_t account_id,
	    uint32_t mailbox_id, uint32_t uidvalidity);
/* Whether c holds keys of that mailbox. */
int	 imap_sort_cache_is(const struct imap_sort_cache *,
	    uint64_t account_id, uint32_t mailbox_id, uint32_t uidvalidity);
/*
 * Frees the cache (*cp becomes NULL); entries still lent to a message
 * (imap_sort_cache_lend) are freed when it gives them back.
 */
void	 imap_sort_cache_free(struct imap_sort_cache **);

/*
 * The keys of uid (on blob blob_id) if they hold at least want
 * (IMAP_SORT_WANT_*): lent into *sm (its strings borrowed, the entry
 * held until imap_sort_msg_clear(sm)); 1, else 0 with *sm untouched.
 */
int	 imap_sort_cache_lend(struct imap_sort_cache *, uint32_t uid,
	    uint64_t blob_id, unsigned int want, struct imap_sort_msg *sm);
/*
 * Keeps the keys of *sm (which hold have), read for blob blob_id: they
 * become the cache's and *sm borrows them, as lent.  Over the limits
 * nothing changes (*sm keeps its own strings).
 */
void	 imap_sort_cache_put(struct imap_sort_cache *, uint64_t blob_id,
	    unsigned int have, struct imap_sort_msg *sm);
/* The message uid was expunged (reported to the session): its keys go. */
void	 imap_sort_cache_expunged(struct imap_sort_cache *, uint32_t uid);
/* imap_sort_msg_clear() of a message with borrowed keys. */
void	 imap_sort_ent_release(struct imap_sort_ent **);

/* Entries and bytes held: a session's, and the process's. */
size_t	 imap_sort_cache_count(const struct imap_sort_cache *);
size_t	 imap_sort_cache_bytes(const struct imap_sort_cache *);
size_t	 imap_sort_cache_total_bytes(void);

#endif
