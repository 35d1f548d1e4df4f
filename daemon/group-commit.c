/*
 * group-commit.c: a flusher thread (the work queue's, one thread) and
 * the batches of commits it covers.
 *
 * A flush of the whole log covers every commit whose record was written
 * before the flush began (DB_ENV->log_flush with a NULL LSN), so a waiter
 * joins the batch of the next flush to start, never the running one.
 */
#include "config.h"

#include <stdlib.h>

#include "group-commit.h"
#include "log.h"
#include "workq.h"
#include "xmalloc.h"

struct group_commit_waiter {
	group_commit_fn			 done;
	void				*arg;
	struct group_commit_waiter	*next;
};

struct group_commit_batch {
	struct group_commit		*gc;
	struct group_commit_waiter	*head;
	int				 ret;
};

struct group_commit {
	struct store			*store;
	struct workq			*flusher;
	int				 flushing;	/* a batch is out */
	struct group_commit_waiter	*head, **tail;	/* the next batch */
};

static void	group_commit_start(struct group_commit *);
static void	group_commit_flush(void *);
static void	group_commit_flushed(void *);
static void	group_commit_answer(struct group_commit_waiter *, int);

struct group_commit *
group_commit_new(struct event_base *base, struct store *st)
{
	struct group_commit	*gc = xcalloc(1, sizeof(*gc));

	gc->store = st;
	/* One flush at a time; a batch is queued only when none runs. */
	gc->flusher = workq_new(base, 1, 2);
	gc->tail = &gc->head;
	return gc;
}

struct group_commit_waiter *
group_commit_wait(struct group_commit *gc, group_commit_fn done, void *arg)
{
	struct group_commit_waiter	*w = xcalloc(1, sizeof(*w));

	w->done = done;
	w->arg = arg;
	*gc->tail = w;
	gc->tail = &w->next;
	/*
	 * Shutting down (a waiter answered in group_commit_free() started
	 * another write): no flush any more, the last answer covers it.
	 */
	if (!gc->flushing && gc->flusher != NULL)
		group_commit_start(gc);
	return w;
}

void
group_commit_cancel(struct group_commit_waiter **wp)
{
	/* Its batch frees it; only the call goes. */
	if (*wp != NULL)
		(*wp)->done = NULL;
	*wp = NULL;
}

static void
group_commit_start(struct group_commit *gc)
{
	struct group_commit_batch	*b = xcalloc(1, sizeof(*b));

	b->gc = gc;
	b->head = gc->head;
	b->ret = STORE_EIO;	/* if the flush never runs */
	gc->head = NULL;
	gc->tail = &gc->head;
	if (workq_submit(gc->flusher, group_commit_flush,
	    group_commit_flushed, b) == -1)
		fatalx("group commit: a second flush was queued");
	gc->flushing = 1;
}

/* In the flusher thread: touches only the batch and the store. */
static void
group_commit_flush(void *arg)
{
	struct group_commit_batch	*b = arg;

	b->ret = store_log_flush(b->gc->store);
}

static void
group_commit_flushed(void *arg)
{
	struct group_commit_batch	*b = arg;
	struct group_commit		*gc = b->gc;

	gc->flushing = 0;
	/*
	 * The environment panicked under the flush: recover and flush here
	 * (on the loop, which owns the reopen) rather than refuse messages
	 * that are in the log file and that recovery keeps.
	 */
	if (b->ret == STORE_ERECOVER)
		b->ret = store_log_flush_recover(gc->store);
	/* The next batch goes out first: its flush overlaps our replies. */
	if (gc->head != NULL && gc->flusher != NULL)
		group_commit_start(gc);
	group_commit_answer(b->head, b->ret);
	free(b);
}

static void
group_commit_answer(struct group_commit_waiter *w, int ret)
{
	struct group_commit_waiter	*next;

	for (; w != NULL; w = next) {
		next = w->next;
		if (w->done != NULL)
			w->done(ret, w->arg);
		free(w);
	}
}

void
group_commit_free(struct group_commit **gcp)
{
	struct group_commit	*gc = *gcp;
	struct workq		*wq;

	if (gc == NULL)
		return;
	/* NULL first: the batch that ends now starts no other. */
	wq = gc->flusher;
	gc->flusher = NULL;
	workq_free(&wq);
	group_commit_answer(gc->head, STORE_EIO);
	free(gc);
	*gcp = NULL;
}
