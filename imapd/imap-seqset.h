/*
 * imap-seqset.h: IMAP sequence sets (RFC 3501 9 "sequence-set").
 *
 * A set is parsed with "*" resolved against a value the caller knows (the
 * number of messages, or the highest UID), then normalized: its ranges
 * are sorted, disjoint and never adjacent, so membership is a binary
 * search and the count is a sum.  The same structure builds the sets the
 * server writes (COPYUID, ESEARCH ALL, VANISHED).
 *
 * Ownership: a set owns its ranges; imap_seqset_clear() frees them and
 * leaves an empty set that may be reused.  Values are 1 .. 2^32-1.
 */
#ifndef GUESTBOX_IMAP_SEQSET_H
#define GUESTBOX_IMAP_SEQSET_H

#include <stddef.h>
#include <stdint.h>

struct evbuffer;

/*
 * Default bound on the ranges of a parsed set.  A 64 KiB command line
 * holds at most about 32,000 ("1,3,5,..."), which Thunderbird's COPY and
 * STORE of scattered selections may come near; the bound keeps a set
 * from elsewhere (a config, a literal) just as cheap.
 */
#define IMAP_SEQSET_RANGES_MAX	65536

/* Flags of imap_seqset_parse(). */
#define IMAP_SEQSET_F_SAVED	0x01	/* accept "$" (RFC 5182 SEARCHRES) */

struct imap_seq_range {
	uint32_t	 lo;
	uint32_t	 hi;		/* lo <= hi */
};

struct imap_seqset {
	struct imap_seq_range	*ranges;	/* normalized after parse */
	size_t			 count;
	size_t			 cap;
	/*
	 * RFC 5182: the set was "$", the result saved by an earlier SEARCH
	 * RETURN (SAVE); ranges is empty and the caller substitutes it.
	 */
	int			 saved;
	/*
	 * A "*" appeared.  With star 0 (an empty mailbox) "*" matches no
	 * message; RFC 3501 6.4.8 callers may want to answer such a set
	 * specially (UID FETCH 1:* on an empty mailbox is fine, FETCH * is
	 * not), so they are told.
	 */
	int			 star;
};

void	 imap_seqset_init(struct imap_seqset *);
void	 imap_seqset_clear(struct imap_seqset *);

/*
 * Parses str (the whole of it) into set, which is cleared first.  "*"
 * is star; "n:m" with n > m is m:n (RFC 3501 9: "2:4" and "4:2" are the
 * same set), which is also how "559:*" keeps the last UID when 559 is
 * above it.  At most max_ranges comma-separated parts (0: the default).
 * Returns 0, or -1 with *error_r a static text for "BAD ..." (zero, a
 * number above 2^32-1, an empty part, junk, too many ranges).
 */
int	 imap_seqset_parse(struct imap_seqset *, const char *str, uint32_t star,
	    size_t max_ranges, unsigned int flags, const char **error_r);

/* True if str has the syntax of a sequence set (for SEARCH keys). */
int	 imap_seqset_is_syntax(const char *str, unsigned int flags);

/*
 * Adds a range (lo and hi in any order, 0 is ignored); the set is not
 * normalized until imap_seqset_normalize().
 */
void	 imap_seqset_add(struct imap_seqset *, uint32_t lo, uint32_t hi);
void	 imap_seqset_normalize(struct imap_seqset *);

/* These need a normalized set. */
int	 imap_seqset_contains(const struct imap_seqset *, uint32_t);
uint64_t imap_seqset_count(const struct imap_seqset *);
/*
 * The smallest member >= v, or 0 if there is none: a binary search, so
 * a command on a few messages of a large mailbox need not test each.
 */
uint32_t imap_seqset_next(const struct imap_seqset *, uint32_t v);
/* The smallest and largest members; 0 if the set is empty. */
uint32_t imap_seqset_min(const struct imap_seqset *);
uint32_t imap_seqset_max(const struct imap_seqset *);

/* Iterates over the members in ascending order. */
struct imap_seqset_iter {
	const struct imap_seqset	*set;
	size_t				 range;
	uint64_t			 next;
};

void	 imap_seqset_iter_init(struct imap_seqset_iter *,
	    const struct imap_seqset *);
/* Returns 1 with *vp set, or 0 at the end. */
int	 imap_seqset_iter_next(struct imap_seqset_iter *, uint32_t *vp);

/*
 * Writes the set as "1:3,5" (nothing if it is empty).  imap_seqset_format
 * returns a new string the caller frees.
 */
void	 imap_seqset_write(const struct imap_seqset *, struct evbuffer *);
char	*imap_seqset_format(const struct imap_seqset *);

#endif
