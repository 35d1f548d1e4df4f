/*
 * imap-seqset.h: RFC 3501 9 sequence sets ("1,3:5,7:*").
 */
#ifndef GUESTBOX_IMAP_SEQSET_H
#define GUESTBOX_IMAP_SEQSET_H

#include <stddef.h>
#include <stdint.h>

struct evbuffer;

/* Ranges per set: a client listing single UIDs sends many. */
#define IMAP_SEQSET_MAX_RANGES	100000

struct imap_seqset_range {
	uint32_t	 lo;
	uint32_t	 hi;
};

/* Sorted, merged, non-overlapping ranges. */
struct imap_seqset {
	struct imap_seqset_range *r;
	size_t			 n;
};

/*
 * Parses a set; "*" stands for star (the highest number in use; 0 in an
 * empty mailbox, where "*" then matches nothing).  Returns -1 for bad
 * syntax, 0 and a number or a range of 0 (RFC 3501 9: nz-number).
 */
int	 imap_seqset_parse(const char *, uint32_t star, struct imap_seqset **);
int	 imap_seqset_contains(const struct imap_seqset *, uint32_t);
void	 imap_seqset_free(struct imap_seqset **);
/* A set from a sorted list of numbers (for $ and ESEARCH). */
struct imap_seqset *imap_seqset_from(const uint32_t *, size_t);
/* Writes a sorted list of numbers compactly: "1:3,7,9:10". */
void	 imap_seqset_write_uids(struct evbuffer *, const uint32_t *, size_t);

#endif
