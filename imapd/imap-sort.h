/*
 * imap-sort.h: what SORT and THREAD order messages by (RFC 5256 3,
 * RFC 5957), read from the MIME cache sealed with each message, so the
 * message itself is decrypted only where the cache is missing or older
 * than the References field in it (version 2).
 *
 * Strings are compared with i;ascii-casemap (RFC 4790 9.2), the one
 * collation we announce: they are kept with a-z made A-Z, and compared
 * octet by octet.
 */
#ifndef GUESTBOX_IMAP_SORT_H
#define GUESTBOX_IMAP_SORT_H

#include <stddef.h>
#include <stdint.h>

#include "imap-arg.h"
#include "store.h"

struct imap_session;
struct imap_sort_ent;
struct store_txn;

/* RFC 5256 BASE.6.4.SORT sort-key, RFC 5957 DISPLAYFROM/DISPLAYTO. */
enum imap_sort_key {
	IMAP_SORT_ARRIVAL = 1,
	IMAP_SORT_CC,
	IMAP_SORT_DATE,
	IMAP_SORT_FROM,
	IMAP_SORT_SIZE,
	IMAP_SORT_SUBJECT,
	IMAP_SORT_TO,
	IMAP_SORT_DISPLAYFROM,
	IMAP_SORT_DISPLAYTO,
};

/* Sort criteria are few; more than this is BAD. */
#define IMAP_SORT_CRITERIA_MAX	16

struct imap_sort_criteria {
	struct {
		enum imap_sort_key	 key;
		int			 reverse;
	}		 v[IMAP_SORT_CRITERIA_MAX];
	size_t		 n;
};

/* What imap_sort_msg_read() fills in (the rest stays zero). */
#define IMAP_SORT_WANT_SUBJECT	0x01	/* subject, refwd */
#define IMAP_SORT_WANT_DATE	0x02	/* date */
#define IMAP_SORT_WANT_ADDRS	0x04	/* from, to, cc, dfrom, dto */
#define IMAP_SORT_WANT_IDS	0x08	/* message_id, refs (THREAD) */

struct imap_sort_msg {
	uint32_t	 seq;
	uint32_t	 uid;
	int64_t		 arrival;	/* INTERNALDATE */
	uint64_t	 size;		/* RFC822.SIZE */
	uint64_t	 modseq;	/* RFC 7162 3.1.5: for "(MODSEQ n)" */
	/* RFC 5256 2.2: the Date field, else INTERNALDATE, in UTC. */
	int64_t		 date;
	char		*subject;	/* the base subject (RFC 5256 2.1) */
	int		 refwd;		/* its extraction saw Re:/Fwd: */
	/* addr-mailbox of the first address, "" if none (RFC 5256 3). */
	char		*from, *to, *cc;
	/* RFC 5957: the display name, else the addr-spec. */
	char		*dfrom, *dto;
	/* RFC 5256 3 (REFERENCES, step 1): the Message-ID, NULL if none. */
	char		*message_id;
	/* The References, else the first of In-Reply-To; oldest first. */
	char		**refs;
	size_t		 nrefs;
	/*
	 * Non-NULL: the strings above are borrowed from this entry of the
	 * mailbox's key cache (imap-sort-cache.h), held until cleared.
	 */
	struct imap_sort_ent *ent;
};

/*
 * Reads the keys of m (sequence number seq) that want asks for, in the
 * caller's transaction; out is overwritten (cleared first).  0 or a
 * store error.
 */
int	 imap_sort_msg_read(struct store_txn *, struct imap_session *,
	    const struct store_msg *, uint32_t seq, unsigned int want,
	    struct imap_sort_msg *out);
void	 imap_sort_msg_clear(struct imap_sort_msg *);

/* The matches of a SORT or THREAD, in the order the search found them. */
struct imap_sort_msgs {
	struct imap_sort_msg	*v;
	size_t			 n, cap;
};

/*
 * imap_sort_msg_read() into the idx-th entry: a search hit hook's work
 * (imap-search.h), so a retried slice, which starts again at its first
 * match, first drops what it read before.  The keys come from the
 * cache of the session's mailbox (imap-sort-cache.h) when they are
 * there, else they are read (all but the IDs, and those too if wanted)
 * and kept in it.
 */
int	 imap_sort_msgs_read(struct store_txn *, struct imap_session *,
	    struct imap_sort_msgs *, size_t idx, uint32_t seq,
	    const struct store_msg *, unsigned int want);
void	 imap_sort_msgs_clear(struct imap_sort_msgs *);

/*
 * The sort criteria list (RFC 5256 BASE.6.4.SORT); 0, or -1 with *whyp.
 * *wantp gets the IMAP_SORT_WANT_* they need.
 */
int	 imap_sort_criteria_parse(const struct imap_arg *,
	    struct imap_sort_criteria *, unsigned int *wantp,
	    const char **whyp);
/* qsort-style order of two messages; the sequence number breaks ties. */
int	 imap_sort_compare(const struct imap_sort_criteria *,
	    const struct imap_sort_msg *, const struct imap_sort_msg *);

#endif
