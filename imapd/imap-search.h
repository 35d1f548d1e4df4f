/*
 * imap-search.h: running a SEARCH program over the selected mailbox in
 * slices (cmd-search.c), for SEARCH itself and for the commands that
 * search first and then order what matched (SORT, THREAD: RFC 5256).
 *
 * The messages are tested in slices of a few milliseconds, each its own
 * transaction, with the event loop serving every other session between
 * two (issue 19).  A command with hooks gets each match inside the
 * slice's transaction (to read what it orders by from the same
 * snapshot) and the end of the run, where it answers.
 */
#ifndef GUESTBOX_IMAP_SEARCH_H
#define GUESTBOX_IMAP_SEARCH_H

#include <stddef.h>
#include <stdint.h>

#include "imap-arg.h"
#include "imapd.h"

struct imap_search_program;

/* How long a slice of SEARCH, SORT or THREAD may hold the loop. */
#define IMAP_SEARCH_SLICE_MS	10

struct imap_search_hooks {
	/*
	 * Message seq (its record m) matched, the idx-th match from 0.  A
	 * transaction that is retried calls again with the same idx, so
	 * whatever was kept for idx is replaced.  Returns 0 or a store
	 * error (which ends the command with it).
	 */
	int	(*hit)(struct store_txn *, struct imap_session *, size_t idx,
		    uint32_t seq, const struct store_msg *m, void *arg);
	/*
	 * Optional: once all messages were tested, the ordering of what
	 * matched, in slices: called again in a later slice (the loop
	 * serving others between two) while it returns 1; it stops by
	 * deadline (time_mono_ms()) where it can.  Then done.
	 */
	int	(*more)(struct imap_session *, uint64_t deadline, void *arg);
	/* All messages were tested, n matched: answer, tagged included. */
	void	(*done)(struct imap_session *, size_t n, void *arg);
	/* Frees arg, at the end or when the session goes. */
	void	(*free)(void *arg);
	void	*arg;
};

/*
 * The search program of SORT or THREAD (RFC 5256: "charset keys..."),
 * read with the session's "*" and "$"; 0, or -1 after answering BAD or
 * NO [BADCHARSET] (prog then cleared).
 */
int	 imap_search_parse_sorted(struct imap_session *, const struct imap_arg *,
	    struct imap_search_program *);

/*
 * Runs prog (taken over: cleared and freed with the run) as SEARCH, or
 * with hooks (NULL: SEARCH's own answer).  Returns CMD_DONE when it
 * answered at once, CMD_ASYNC otherwise.
 */
enum imap_cmd_status imap_search_start(struct imap_session *,
	    struct imap_search_program *, int uid_mode,
	    const struct imap_search_hooks *);

#endif
