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
	int			 pending_expunges;
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

/* Loads the mailbox into an empty view. */
int	 imap_view_open(struct store_txn *, struct imap_view *,
	    uint64_t account_id, uint32_t mailbox_id, int readonly);
void	 imap_view_clear(struct imap_view *);

/*
 * Reads the store's changes since the view's HIGHESTMODSEQ into the view:
 * new messages are appended, flag changes marked dirty, expunges marked.
 * Nothing is reported yet.
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
/* 1-based sequence number of uid, or 0. */
uint32_t imap_view_seq(const struct imap_view *, uint32_t uid);
/* Records our own change so it is not reported back as someone else's. */
void	 imap_view_update(struct imap_view *, uint32_t seq,
	    const struct store_msg *);
/* The highest UID in the view (0 when empty). */
uint32_t imap_view_max_uid(const struct imap_view *);

#endif
