/*
 * workq.h: a small pool of threads for work that blocks (GPGME starts a
 * gpg process per operation, about 10 ms) so that the event loop never
 * waits for it.  The work function runs in a thread and must touch only
 * its own argument; the done function runs afterwards on the event loop.
 */
#ifndef GUESTBOX_WORKQ_H
#define GUESTBOX_WORKQ_H

#include <stddef.h>

#include <event2/event.h>

struct workq;

struct workq	*workq_new(struct event_base *, size_t nthreads, size_t max_queued);
/*
 * Queues work(arg) and then done(arg) on the loop.  Returns -1 when
 * max_queued jobs wait already (the caller answers "try again later").
 */
int		 workq_submit(struct workq *, void (*work)(void *),
		    void (*done)(void *), void *arg);
size_t		 workq_pending(const struct workq *);
/* Waits for running jobs; jobs still queued get only their done call. */
void		 workq_free(struct workq **);

#endif
