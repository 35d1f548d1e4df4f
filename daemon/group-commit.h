/*
 * group-commit.h: one log flush for many transactions.  A daemon commits
 * its durable writes with store_txn_run_nosync() and then waits here: a
 * thread flushes the log (store_log_flush) while the loop goes on, and
 * every commit made before that flush started is answered when it ends.
 * While one flush runs, the waiters that come meanwhile gather for the
 * next, so a busy loop pays one fdatasync per batch, not per message.
 */
#ifndef GUESTBOX_GROUP_COMMIT_H
#define GUESTBOX_GROUP_COMMIT_H

#include <event2/event.h>

#include "store.h"

struct group_commit;
struct group_commit_waiter;

/* done(ret, arg) on the loop: 0, or the store error of the flush. */
typedef void	(*group_commit_fn)(int ret, void *arg);

struct group_commit *group_commit_new(struct event_base *, struct store *);
/*
 * Calls done(ret, arg) on the loop once a log flush that started after
 * this call has ended.  The waiter returned is valid until done runs;
 * an owner of arg that goes away first cancels it.  done may be NULL:
 * a flush is asked for, and nobody hears of it (a record that answers
 * no client, as the relay's).
 */
struct group_commit_waiter *group_commit_wait(struct group_commit *,
		    group_commit_fn done, void *arg);
/* done will not be called; sets *wp to NULL. */
void		 group_commit_cancel(struct group_commit_waiter **wp);
/* Waits for a running flush; whatever still waits hears STORE_EIO. */
void		 group_commit_free(struct group_commit **);

#endif
