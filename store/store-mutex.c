/*
 * store-mutex.c: no thread waits without bound on a Berkeley DB mutex
 * that a dead process holds.
 *
 * Berkeley DB 5.3 (as Debian builds it) makes its mutexes of POSIX
 * mutexes, read-write locks and condition variables in the shared
 * regions (__db.001 ...) and waits on them without a timeout.  A
 * process killed while it held one (an LDA in the middle of a commit's
 * log flush, most often) leaves it held for good, and every thread that
 * wants it sleeps on its futex forever: failchk can say that the
 * environment needs recovery, but it wakes nobody.
 *
 * So this program's pthread_mutex_lock, pthread_rwlock_rdlock,
 * pthread_rwlock_wrlock and pthread_cond_wait are these: the definitions
 * in the executable come first in the dynamic linker's lookup order, and
 * libdb's calls reach them.  Uncontended, each is one try.  Contended,
 * the wait on a process-shared object goes in slices of
 * STORE_MUTEX_SLICE_MS, and after each slice a wait on an object inside
 * a region looks at it:
 *   - the thread that holds it (glibc records the owner of a mutex and
 *     the writer of a read-write lock) is gone: it died inside a
 *     critical section of Berkeley DB, nobody will release the object,
 *     and only a recovery helps, which waits until every process has
 *     closed the environment (store-fence.c).  The process leaves
 *     (EX_TEMPFAIL) for its supervisor to restart it, saying so with
 *     the time waited: only this thread's work is lost, and it was not
 *     acknowledged;
 *   - the region was removed: the environment was recovered while a
 *     stale handle of ours still waited in it.  The same.
 * A wait never fails: Berkeley DB 5.3 unwinds badly from a failed
 * mutex (it was seen to crash, and to unlock what it did not hold under
 * the feet of the processes still working in the environment).
 * Process-private objects (libevent's, ours) wait as before.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "store-private.h"

/* One slice of a contended wait (milliseconds). */
#define STORE_MUTEX_SLICE_MS	200
/* A wait still going after this long is logged once (seconds). */
#define STORE_MUTEX_WARN_SECS	5

enum store_mutex_verdict {
	STORE_MUTEX_WAIT,	/* not ours, or it can still end */
	STORE_MUTEX_DEAD,	/* its holder died: leave for a restart */
	STORE_MUTEX_LOST,	/* its region was removed: leave */
};

static int	store_mutex_region(const void *, uint64_t *, int *);
static void	store_mutex_lost(double, const char *) __attribute__((noreturn));
static enum store_mutex_verdict store_mutex_judge(const void *, pid_t);
static void	store_mutex_deadline(struct timespec *);
static double	store_mutex_since(const struct timespec *);
static int	store_mutex_slice(const char *, const void *, pid_t (*)(void *),
		    void *, int (*)(void *, const struct timespec *), int *,
		    const struct timespec *, int *);

/* The status the store makes this process leave with (store.h). */
static atomic_int	store_exit_code = EX_TEMPFAIL;

void
store_set_exit_status(int status)
{
	atomic_store(&store_exit_code, status);
}

int
store_exit_status(void)
{
	return atomic_load(&store_exit_code);
}

int
store_region_maps(const char *db_dir, int (*fn)(const struct store_map *,
    void *), void *arg)
{
	FILE			*fp;
	char			 line[PATH_MAX + 256], *base;
	struct store_map	 m;
	size_t			 dlen = db_dir != NULL ? strlen(db_dir) : 0;
	int			 n, ret = 0;

	if ((fp = fopen("/proc/self/maps", "re")) == NULL)
		return 0;
	while (ret == 0 && fgets(line, sizeof(line), fp) != NULL) {
		/* lo-hi perms offset dev inode path */
		if (sscanf(line, "%lx-%lx %*s %llx %*s %llu %n", &m.lo, &m.hi,
		    &m.off, &m.ino, &n) != 4 || m.hi <= m.lo)
			continue;
		m.path = line + n;
		m.path[strcspn(m.path, "\n")] = '\0';
		if ((base = strrchr(m.path, '/')) == NULL ||
		    strncmp(base + 1, "__db.0", 6) != 0 ||
		    (db_dir != NULL && ((size_t)(base - m.path) != dlen ||
		    strncmp(m.path, db_dir, dlen) != 0)))
			continue;
		m.deleted = strstr(base, " (deleted)") != NULL;
		ret = fn(&m, arg);
	}
	fclose(fp);
	return ret;
}

struct store_mutex_find {
	uintptr_t	 addr;
	uint64_t	 ino;
	int		 deleted;
};

static int
store_mutex_find_map(const struct store_map *m, void *arg)
{
	struct store_mutex_find	*f = arg;

	if (f->addr < m->lo || f->addr >= m->hi)
		return 0;
	f->ino = m->ino;
	f->deleted = m->deleted;
	return 1;
}

/*
 * Whether addr lies in a region file's mapping: its inode, and whether
 * the file is deleted (a recovery removed it).  /proc/self/maps is read
 * only after a slice of waiting, never on the fast path.
 */
static int
store_mutex_region(const void *addr, uint64_t *inop, int *deletedp)
{
	struct store_mutex_find	 f;

	memset(&f, 0, sizeof(f));
	f.addr = (uintptr_t)addr;
	if (store_region_maps(NULL, store_mutex_find_map, &f) != 1)
		return 0;
	*inop = f.ino;
	*deletedp = f.deleted;
	return 1;
}

void
store_mutex_init(void)
{
	static atomic_int	 done;

	if (atomic_exchange(&done, 1) == 0 &&
	    access("/proc/self/maps", R_OK) == -1)
		log_warn("store: /proc/self/maps: a wait on a mutex that a "
		    "dead process held will not end");
}

/*
 * A thread waits in regions that another process's recovery removed:
 * nobody will wake it, and making it fail there is no way out either,
 * as Berkeley DB then unwinds through half-done work (it was seen to
 * crash).  The environment itself is recovered already: leave, for the
 * supervisor to start us again on it (tests/lda-kill.test).
 */
static void
store_mutex_lost(double secs, const char *what)
{
	log_warnx("store: a thread has waited %.1f s for a Berkeley DB %s "
	    "in an environment that another process recovered; exiting so "
	    "that a restart recovers it", secs, what);
	_exit(store_exit_status());
}

static enum store_mutex_verdict
store_mutex_judge(const void *obj, pid_t holder)
{
	uint64_t	 ino;
	int		 deleted;

	if (!store_mutex_region(obj, &ino, &deleted))
		return STORE_MUTEX_WAIT;
	if (deleted)
		return STORE_MUTEX_LOST;
	/* A thread id; kill() finds any thread of any process by it. */
	if (holder > 0 && kill(holder, 0) == -1 && errno == ESRCH)
		return STORE_MUTEX_DEAD;
	return STORE_MUTEX_WAIT;
}

static void
store_mutex_deadline(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_nsec += STORE_MUTEX_SLICE_MS * 1000000L;
	ts->tv_sec += ts->tv_nsec / 1000000000L;
	ts->tv_nsec %= 1000000000L;
}

static double
store_mutex_since(const struct timespec *t0)
{
	struct timespec	 now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) +
	    (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

/*
 * One slice of a contended wait: wait() until the deadline; on a
 * timeout, judge.  Returns 1 when the wait is over with *retp its
 * result, 0 to wait another slice.
 */
static int
store_mutex_slice(const char *what, const void *obj, pid_t (*holder)(void *),
    void *arg, int (*wait)(void *, const struct timespec *), int *warned,
    const struct timespec *t0, int *retp)
{
	struct timespec	 ts;
	pid_t		 who;
	int		 ret;

	store_mutex_deadline(&ts);
	if ((ret = wait(arg, &ts)) != ETIMEDOUT) {
		*retp = ret;
		return 1;
	}
	who = holder != NULL ? holder(arg) : 0;
	switch (store_mutex_judge(obj, who)) {
	case STORE_MUTEX_DEAD:
		/*
		 * Nobody will ever release it, and giving up here is not
		 * safe either: Berkeley DB would unwind through code that
		 * unlocks what it never locked.  Only a recovery helps,
		 * and it waits until every process has closed the
		 * environment (store-fence.c): leave, and the supervisor
		 * (or the MTA, for an LDA) starts us again on it.
		 */
		log_warnx("store: waited %.1f s for a Berkeley DB %s held by "
		    "thread %ld, which died inside a critical section of the "
		    "environment; exiting so that a restart recovers it",
		    store_mutex_since(t0), what, (long)who);
		store_fence_mark();
		_exit(store_exit_status());
	case STORE_MUTEX_LOST:
		store_mutex_lost(store_mutex_since(t0), what);
		/* NOTREACHED */
	case STORE_MUTEX_WAIT:
		break;
	}
	if (!*warned && store_mutex_since(t0) >= STORE_MUTEX_WARN_SECS) {
		*warned = 1;
		log_warnx("store: waiting %.0f s for a Berkeley DB %s (held by "
		    "thread %ld)", store_mutex_since(t0), what, (long)who);
	}
	return 0;
}

/* glibc's records of who holds what (<bits/struct_mutex.h>, ...). */
static pid_t
store_mutex_owner(void *arg)
{
	return (pid_t)((pthread_mutex_t *)arg)->__data.__owner;
}

static pid_t
store_rwlock_writer(void *arg)
{
	return (pid_t)((pthread_rwlock_t *)arg)->__data.__cur_writer;
}

static int
store_mutex_timed(void *arg, const struct timespec *ts)
{
	return pthread_mutex_timedlock(arg, ts);
}

static int
store_rwlock_timed_wr(void *arg, const struct timespec *ts)
{
	return pthread_rwlock_timedwrlock(arg, ts);
}

static int
store_rwlock_timed_rd(void *arg, const struct timespec *ts)
{
	return pthread_rwlock_timedrdlock(arg, ts);
}

/*
 * A process-private object (libevent's, ours) cannot be held by another
 * process: it waits as before, in slices too long to cost anything.
 */
static int
store_mutex_private_wait(void *arg, int (*wait)(void *,
    const struct timespec *))
{
	struct timespec	 ts;
	int		 ret;

	do {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 3600;
	} while ((ret = wait(arg, &ts)) == ETIMEDOUT);
	return ret;
}

/* glibc marks a process-shared object (PTHREAD_MUTEX_PSHARED_BIT ...). */
int
pthread_mutex_lock(pthread_mutex_t *m)
{
	struct timespec	 t0;
	int		 ret, warned = 0;

	if ((ret = pthread_mutex_trylock(m)) != EBUSY)
		return ret;
	if ((m->__data.__kind & 128) == 0)
		return store_mutex_private_wait(m, store_mutex_timed);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!store_mutex_slice("mutex", m, store_mutex_owner, m,
	    store_mutex_timed, &warned, &t0, &ret))
		;
	return ret;
}

int
pthread_rwlock_wrlock(pthread_rwlock_t *rw)
{
	struct timespec	 t0;
	int		 ret, warned = 0;

	if ((ret = pthread_rwlock_trywrlock(rw)) != EBUSY)
		return ret;
	if (rw->__data.__shared == 0)
		return store_mutex_private_wait(rw, store_rwlock_timed_wr);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!store_mutex_slice("latch", rw, store_rwlock_writer, rw,
	    store_rwlock_timed_wr, &warned, &t0, &ret))
		;
	return ret;
}

int
pthread_rwlock_rdlock(pthread_rwlock_t *rw)
{
	struct timespec	 t0;
	int		 ret, warned = 0;

	if ((ret = pthread_rwlock_tryrdlock(rw)) != EBUSY)
		return ret;
	if (rw->__data.__shared == 0)
		return store_mutex_private_wait(rw, store_rwlock_timed_rd);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!store_mutex_slice("latch", rw, store_rwlock_writer, rw,
	    store_rwlock_timed_rd, &warned, &t0, &ret))
		;
	return ret;
}

/*
 * A condition wait may wake without cause (POSIX): its caller checks
 * its condition again, so a slice that ends in a timeout returns 0 with
 * the mutex held again, as the caller expects.
 */
int
pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
	struct timespec	 ts;
	uint64_t	 ino;
	int		 ret, deleted;

	/* Bit 0 of __wrefs: a process-shared condition variable. */
	if ((c->__data.__wrefs & 1) == 0) {
		do {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 3600;
		} while ((ret = pthread_cond_timedwait(c, m, &ts)) ==
		    ETIMEDOUT);
		return ret;
	}
	store_mutex_deadline(&ts);
	if ((ret = pthread_cond_timedwait(c, m, &ts)) != ETIMEDOUT)
		return ret;
	if (store_mutex_region(c, &ino, &deleted) && deleted)
		store_mutex_lost(STORE_MUTEX_SLICE_MS / 1000.0, "wait");
	return 0;
}
