/*
 * workq.c: a bounded thread pool whose results come back to the event
 * loop through a pipe (a pointer is far below PIPE_BUF: writes are atomic).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "log.h"
#include "workq.h"
#include "xmalloc.h"

struct workq_job {
	void		(*work)(void *);
	void		(*done)(void *);
	void		*arg;
	struct workq_job *next;
};

struct workq {
	pthread_t	*threads;
	size_t		 nthreads;
	size_t		 max_queued;
	size_t		 pending;	/* queued or running (loop's count) */
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	struct workq_job *head, *tail;
	int		 stopping;
	int		 pipe[2];
	struct event	*ev;
};

static void *
workq_thread(void *arg)
{
	struct workq		*wq = arg;
	struct workq_job	*job;
	ssize_t			 n;
	sigset_t		 ss;

	/* Signals are the event loop's: never let one land here. */
	sigfillset(&ss);
	pthread_sigmask(SIG_BLOCK, &ss, NULL);

	for (;;) {
		pthread_mutex_lock(&wq->lock);
		while (wq->head == NULL && !wq->stopping)
			pthread_cond_wait(&wq->cond, &wq->lock);
		if (wq->head == NULL) {
			pthread_mutex_unlock(&wq->lock);
			return NULL;
		}
		job = wq->head;
		if ((wq->head = job->next) == NULL)
			wq->tail = NULL;
		pthread_mutex_unlock(&wq->lock);
		job->work(job->arg);
		do
			n = write(wq->pipe[1], &job, sizeof(job));
		while (n == -1 && errno == EINTR);
		if (n != (ssize_t)sizeof(job))
			fatal("workq: result pipe");
	}
}

static void
workq_done(evutil_socket_t fd, short what, void *arg)
{
	struct workq		*wq = arg;
	struct workq_job	*job;

	while (read(fd, &job, sizeof(job)) == (ssize_t)sizeof(job)) {
		wq->pending--;
		job->done(job->arg);
		free(job);
	}
}

struct workq *
workq_new(struct event_base *base, size_t nthreads, size_t max_queued)
{
	struct workq	*wq = xcalloc(1, sizeof(*wq));
	size_t		 i;

	wq->nthreads = nthreads;
	wq->max_queued = max_queued;
	pthread_mutex_init(&wq->lock, NULL);
	pthread_cond_init(&wq->cond, NULL);
	if (pipe2(wq->pipe, O_CLOEXEC | O_NONBLOCK) == -1)
		fatal("workq: pipe");
	wq->ev = event_new(base, wq->pipe[0], EV_READ | EV_PERSIST, workq_done,
	    wq);
	event_add(wq->ev, NULL);
	wq->threads = xcalloc(nthreads, sizeof(*wq->threads));
	for (i = 0; i < nthreads; i++)
		if (pthread_create(&wq->threads[i], NULL, workq_thread, wq) != 0)
			fatalx("workq: cannot start threads");
	return wq;
}

int
workq_submit(struct workq *wq, void (*work)(void *), void (*done)(void *),
    void *arg)
{
	struct workq_job	*job;

	if (wq->pending >= wq->max_queued)
		return -1;
	job = xcalloc(1, sizeof(*job));
	job->work = work;
	job->done = done;
	job->arg = arg;
	wq->pending++;
	pthread_mutex_lock(&wq->lock);
	if (wq->tail != NULL)
		wq->tail->next = job;
	else
		wq->head = job;
	wq->tail = job;
	pthread_cond_signal(&wq->cond);
	pthread_mutex_unlock(&wq->lock);
	return 0;
}

size_t
workq_pending(const struct workq *wq)
{
	return wq->pending;
}

void
workq_free(struct workq **wqp)
{
	struct workq		*wq = *wqp;
	struct workq_job	*job;
	size_t			 i;

	if (wq == NULL)
		return;
	pthread_mutex_lock(&wq->lock);
	wq->stopping = 1;
	/* Queued jobs are not started: their owners only hear "done". */
	while ((job = wq->head) != NULL) {
		wq->head = job->next;
		job->done(job->arg);
		free(job);
	}
	wq->tail = NULL;
	pthread_cond_broadcast(&wq->cond);
	pthread_mutex_unlock(&wq->lock);
	for (i = 0; i < wq->nthreads; i++)
		pthread_join(wq->threads[i], NULL);
	workq_done(wq->pipe[0], EV_READ, wq);
	event_free(wq->ev);
	close(wq->pipe[0]);
	close(wq->pipe[1]);
	pthread_mutex_destroy(&wq->lock);
	pthread_cond_destroy(&wq->cond);
	free(wq->threads);
	free(wq);
	*wqp = NULL;
}
