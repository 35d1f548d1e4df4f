/*
 * imap-view.h: a session's view of its selected mailbox.
 *
 * The store holds the truth; the view is what this client has been told:
 * the UID of every sequence number, each message's flags and MODSEQ as
 * last reported, the mailbox's keywords and HIGHESTMODSEQ.  Syncing reads
 * the store's changes since the view's MODSEQ and turns them into the
 * untagged responses that bring the client up to date (RFC 3501 7.3.1,
 * 7.4.1, 7.4.2; RFC 7162 3.1.4, 3.2.10).
 *
 * RFC 3501 7.4.1: EXPUNGE may not be sent while a command that refers to
 * messages by sequence number runs (FETCH, STORE, SEARCH); the view then
 * keeps the expunged messages (marked) so sequence numbers stay stable,
 * and reports them at the next command that allows it.
 */
#ifndef GUESTBOX_IMAP_VIEW_H
#define GUESTBOX_IMAP_VIEW_H

#include <stddef.h>
#include <stdint.h>

#include "imap-seqset.h"
#include "store.h"

struct imap_view_msg {
	uint32_t	 uid;
	uint32_t	 flags;		/* STORE_F_* as last reported */
	uint64_t	 keywords;
	uint64_t	 modseq;
	int		 expunged;	/* gone from the store, not yet reported */
	int		 dirty;		/* flags changed, not yet reported */
};

struct imap_view {
	uint64_t		 account_id;
	uint32_t		 mailbox_id;
	uint32_t		 uidvalidity;
	uint32_t		 uidnext;	/* as last reported */
	uint64_t		 highestmodseq;	/* changes up to here are known */
	int			 readonly;	/* EXAMINE */
	struct imap_view_msg	*msgs;		/* index = sequence number - 1 */
	uint32_t		 count;
	uint32_t		 cap;
	char			*keywords[STORE_MAX_KEYWORDS];
	uint32_t		 nkeywords;
	int			 keywords_changed;
	uint32_t		 new_count;	/* EXISTS not yet reported */
	/* UIDs of the messages marked expunged, not yet removed. */
	uint32_t		*gone;
	size_t			 ngone;
	size_t			 gonecap;
	/* UIDs of the messages marked dirty, in no order (dups possible). */
	uint32_t		*dirty;
	size_t			 ndirty;
	size_t			 dirtycap;
	/*
	 * The site rolled back (or may have): the next refresh reloads the
	 * view in full, as MODSEQs may have gone back or been given twice.
	 */
	int			 stale;
	/*
	 * The reload found messages at or below the highest UID this client
	 * knows that the view does not hold (a rolled-back expunge, or a
	 * UID given twice): they cannot be shown in UID order.
	 */
	int			 unplaceable;
	/* msgs[0 .. seen_below-1] are all \Seen (first-unseen lowwater). */
	uint32_t		 seen_below;
	/* Views open in this process (imap_view_open .. imap_view_clear). */
	struct imap_view	*live_prev, *live_next;
	int			 live;
};

/* What a sync found; the session turns it into untagged responses. */
struct imap_view_callbacks {
	/* A message left (seq as the client knows it now; report in order). */
	void	(*expunge)(uint32_t seq, uint32_t uid, void *arg);
	/* The count grew (EXISTS). */
	void	(*exists)(uint32_t count, void *arg);
	/* Flags of a message changed (untagged FETCH). */
	void	(*flags)(uint32_t seq, const struct imap_view_msg *, void *arg);
	/* The keyword list changed (untagged FLAGS / PERMANENTFLAGS). */
	void	(*keywords)(void *arg);
};

/*
 * Loads the mailbox into the view (cleared first): from a snapshot of
 * the cache or of another open view when there is one, else from every
 * message record.
 */
int	 imap_view_open(struct store_txn *, struct imap_view *,
	    uint64_t account_id, uint32_t mailbox_id, int readonly);
/* Frees the view and leaves it empty (reusable). */
void	 imap_view_clear(struct imap_view *);
/* Leaving the mailbox: the view goes to the snapshot cache, then clear. */
void	 imap_view_release(struct imap_view *);
/*
 * Drops the cached snapshots of an account (disabled or deleted), or of
 * every account with 0 (the site rolled back), and with 0 marks every
 * open view stale.
 */
void	 imap_view_cache_forget(uint64_t account_id);
/*
 * RFC 3501 7.3.1 [UNSEEN n]: the sequence number of the first message
 * without \Seen, or 0.  Scans from a lowwater mark, not from 1.
 */
uint32_t imap_view_first_unseen(struct imap_view *);
/*
 * The smallest sequence number >= seq whose message is in set (its UID
 * with uid_mode, RFC 3501 6.4.8, else its sequence number), or 0: a
 * binary search, not a walk over the mailbox.  Expunged (not yet
 * reported) messages are included; the caller decides.
 */
uint32_t imap_view_next_in_set(const struct imap_view *,
	    const struct imap_seqset *, int uid_mode, uint32_t seq);
/* Steps taken over messages by the view (a debug count, like store_reads). */
uint64_t imap_view_steps(void);

/*
 * Reads the store's changes since the view's HIGHESTMODSEQ into the view:
 * new messages are appended, flag changes marked dirty, expunges marked.
 * A stale view, or one whose mailbox went back (HIGHESTMODSEQ or UIDNEXT
 * lower than the view's), is compared with every message record
 * instead.  Nothing is reported yet.
 */
int	 imap_view_refresh(struct store_txn *, struct imap_view *);
/*
 * Reports what refresh found.  With allow_expunge, expunged messages are
 * removed and reported (highest sequence first is not required: each
 * report is the sequence number at the moment it is sent, RFC 3501
 * 7.4.1); otherwise they stay until the next call that allows it.
 */
void	 imap_view_report(struct imap_view *, int allow_expunge,
	    const struct imap_view_callbacks *, void *arg);

/* Takes new keywords of the mailbox (marks keywords_changed). */
void	 imap_view_set_keywords(struct imap_view *, const struct store_mailbox *);
/* The index of the first message with a UID >= uid (count if none). */
uint32_t imap_view_lower_bound(const struct imap_view *, uint32_t uid);
/* 1-based sequence number of uid, or 0. */
uint32_t imap_view_seq(const struct imap_view *, uint32_t uid);
/* Records our own change so it is not reported back as someone else's. */
void	 imap_view_update(struct imap_view *, uint32_t seq,
	    const struct store_msg *);
/* The highest UID in the view (0 when empty). */
uint32_t imap_view_max_uid(const struct imap_view *);

#endif
