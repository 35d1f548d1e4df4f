/*
 * imap-sort-cache.h: the decoded SORT and THREAD keys (imap-sort.h) of
 * a mailbox, kept in memory once read and shared by the process's
 * sessions on it, so only the first SORT or THREAD of a message
 * decrypts its sealed MIME cache.
 *
 * A key never goes stale: what it is made of (the header) is fixed for
 * a UID of a mailbox and UIDVALIDITY (RFC 3501 2.3.1.1), and each entry
 * also checks the message's blob.  What does change (sequence number,
 * MODSEQ) is read from the record at every command.  An entry goes when
 * a session is told its message was expunged (a session not told yet
 * skips the message, or reads its keys again).
 *
 * Decrypted mail lives no longer than the account's unwrapped key may
 * (auth_cache_time): a cache that no session uses any more is dropped
 * after that long (imap_sort_cache_expire), at once when the account is
 * disabled or deleted (imap_sort_cache_forget); its strings are wiped.
 *
 * Bounded: IMAP_SORT_CACHE_MAILBOX_MAX bytes per mailbox and
 * IMAP_SORT_CACHE_TOTAL_MAX in the process (unused caches go first,
 * the longest unused first); past either, keys are still read (answers
 * stay right), only not kept.
 */
#ifndef GUESTBOX_IMAP_SORT_CACHE_H
#define GUESTBOX_IMAP_SORT_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "imap-sort.h"

#define IMAP_SORT_CACHE_MAILBOX_MAX	(32UL * 1024 * 1024)
#define IMAP_SORT_CACHE_TOTAL_MAX	(256UL * 1024 * 1024)

struct imap_sort_cache;
struct imap_sort_ent;

/*
 * The cache of the keys of one mailbox (its UIDVALIDITY), the one other
 * sessions use or left, or a new one; held until put back.
 */
struct imap_sort_cache *imap_sort_cache_get(uint64_t account_id,
	    uint32_t mailbox_id, uint32_t uidvalidity);
/* Whether c holds keys of that mailbox. */
int	 imap_sort_cache_is(const struct imap_sort_cache *,
	    uint64_t account_id, uint32_t mailbox_id, uint32_t uidvalidity);
/*
 * Gives back what get returned (*cp becomes NULL; NULL is nothing): the
 * last one leaves it for imap_sort_cache_expire.
 */
void	 imap_sort_cache_put_back(struct imap_sort_cache **);
/*
 * Drops the caches no session used for ttl_ms or more (0: every unused
 * one); the caller's timer (imapd.c) calls it.
 */
void	 imap_sort_cache_expire(uint64_t ttl_ms);
/*
 * The account was disabled or deleted: its caches go (used: once back);
 * 0: every account's (the site rolled back: a UID may name another
 * message now).
 */
void	 imap_sort_cache_forget(uint64_t account_id);

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
/* Wipes and frees the strings a message owns (not borrowed ones). */
void	 imap_sort_keys_free(struct imap_sort_msg *);

/* Entries and bytes held: a mailbox's, and the process's (all caches). */
size_t	 imap_sort_cache_count(const struct imap_sort_cache *);
size_t	 imap_sort_cache_bytes(const struct imap_sort_cache *);
size_t	 imap_sort_cache_total_bytes(void);
size_t	 imap_sort_cache_ncaches(void);

#endif
