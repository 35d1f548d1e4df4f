/*
 * workers.c: the supervisor, its workers, and the counts they share.
 *
 * Why an inherited socket, not SO_REUSEPORT: a worker started again
 * after a crash runs unprivileged and could not bind port 993 itself,
 * and a SO_REUSEPORT socket that closes takes the connections waiting
 * in its own accept queue with it.  One queue that every worker accepts
 * from loses nothing when a worker dies; the worker that is free first
 * takes the next connection.
 *
 * Why the fork comes after the TLS context but before the store: the key
 * may be readable by root only, and an SSL_CTX holds no thread and no
 * descriptor (OpenSSL reseeds its random generator in a forked child),
 * so it is made once, as root; every worker then shares the session
 * ticket keys and a client resumes on any of them.  Berkeley DB handles,
 * the store's threads and the event base do not survive a fork: each
 * worker makes its own.
 *
 * The shared table is guarded by one robust, process-shared mutex: a
 * worker killed while it holds the mutex leaves it to the next locker
 * (EOWNERDEAD), and the supervisor then rebuilds the table without the
 * dead worker's entries.  Entries are (key, worker, count), in one open
 * addressing table by key, so the total for a key is the sum along its
 * probe run.
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "daemon.h"
#include "log.h"
#include "util.h"
#include "workers.h"
#include "xmalloc.h"

/* Entries in the count table: per address and per account, per worker. */
#define WORKERS_SLOTS		65536
/* Shared records (workers_rec_update): a table of their own. */
#define WORKERS_RECS		32768
/* A worker that lived this long is started again at once. */
#define WORKERS_STABLE_MS	30000
#define WORKERS_BACKOFF_MIN_MS	1000
#define WORKERS_BACKOFF_MAX_MS	60000
/* After SIGTERM: the workers' own grace and store close, and a margin. */
#define WORKERS_STOP_MS		20000

/* A count (by key and worker) or a record (by key): one shape, two tables. */
struct workers_entry {
	uint64_t		 key;		/* 0: free */
	uint32_t		 worker;
	uint32_t		 count;
	struct workers_rec	 rec;
};

/* One open addressing table (linear probing) in the shared mapping. */
struct workers_table {
	struct workers_entry	*v;
	size_t			 size;
	size_t			*used;
};

struct workers_shared {
	pthread_mutex_t		 lock;
	pthread_cond_t		 hash_cond;
	uint32_t		 hash_cap;
	uint32_t		 hashing;
	uint32_t		 hash_held[WORKERS_MAX];
	int			 ready[WORKERS_MAX];
	size_t			 used;
	uint8_t			 hash_key[crypto_shorthash_KEYBYTES];
	struct workers_entry	 e[WORKERS_SLOTS];
	size_t			 nrecs;
	uint64_t		 rec_sweep_ms;	/* no sweep before */
	struct workers_entry	 r[WORKERS_RECS];
};

struct workers_child {
	pid_t		 pid;		/* 0: not running */
	uint64_t	 started_ms;
	uint64_t	 start_at_ms;	/* not running: when to start it */
	uint64_t	 backoff_ms;
};

static struct workers_shared	*workers_sh;
static uint32_t			 workers_self;	/* our slot */

static void	workers_lock(void);
static void	workers_unlock(void);
static uint64_t	workers_key(const char *, const char *);
static struct workers_table workers_counts(void);
static struct workers_table workers_recs(void);
static void	workers_table_remove(struct workers_table, size_t);
static void	workers_table_keep(struct workers_table,
		    int (*)(const struct workers_entry *, uint64_t), uint64_t);
static int	workers_entry_add(uint64_t, uint32_t, uint32_t);
static void	workers_release(uint32_t);
static void	workers_child_start(struct daemon *, struct workers_child *,
		    size_t, const sigset_t *);
static void	workers_supervise(struct daemon *, size_t);

size_t
workers_number(uint64_t configured)
{
	long	 n;

	if (configured != 0)
		return configured > WORKERS_MAX ? WORKERS_MAX :
		    (size_t)configured;
	if ((n = sysconf(_SC_NPROCESSORS_ONLN)) < 1)
		n = 1;
	return n > WORKERS_MAX ? WORKERS_MAX : (size_t)n;
}

void
workers_shared_init(uint64_t hash_cap)
{
	pthread_mutexattr_t	 ma;
	pthread_condattr_t	 ca;
	void			*p;

	if (workers_sh != NULL)
		return;
	p = mmap(NULL, sizeof(*workers_sh), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		fatal("workers: mmap");
	workers_sh = p;		/* zeroed by the kernel */
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
	if (pthread_mutex_init(&workers_sh->lock, &ma) != 0)
		fatalx("workers: mutex");
	pthread_mutexattr_destroy(&ma);
	pthread_condattr_init(&ca);
	pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (pthread_cond_init(&workers_sh->hash_cond, &ca) != 0)
		fatalx("workers: condition");
	pthread_condattr_destroy(&ca);
	workers_sh->hash_cap = hash_cap < 1 ? 1 : (uint32_t)hash_cap;
	randombytes_buf(workers_sh->hash_key, sizeof(workers_sh->hash_key));
}

static void
workers_lock(void)
{
	int	 ret;

	ret = pthread_mutex_lock(&workers_sh->lock);
	/* A worker died holding it: what it did is half done at worst. */
	if (ret == EOWNERDEAD)
		ret = pthread_mutex_consistent(&workers_sh->lock);
	if (ret != 0)
		fatalx("workers: lock: %s", strerror(ret));
}

static void
workers_unlock(void)
{
	pthread_mutex_unlock(&workers_sh->lock);
}

static uint64_t
workers_key(const char *kind, const char *key)
{
	uint8_t			 h[crypto_shorthash_BYTES];
	uint64_t		 k;
	char			*s;
	size_t			 n;

	n = strlen(kind) + 1 + strlen(key);
	s = xmalloc(n + 1);
	memcpy(s, kind, strlen(kind) + 1);
	memcpy(s + strlen(kind) + 1, key, strlen(key) + 1);
	crypto_shorthash(h, (const uint8_t *)s, n, workers_sh->hash_key);
	free(s);
	memcpy(&k, h, sizeof(k));
	return k == 0 ? 1 : k;
}

static struct workers_table
workers_counts(void)
{
	struct workers_table	 t = { workers_sh->e, WORKERS_SLOTS,
				    &workers_sh->used };

	return t;
}

static struct workers_table
workers_recs(void)
{
	struct workers_table	 t = { workers_sh->r, WORKERS_RECS,
				    &workers_sh->nrecs };

	return t;
}

/* Linear probing's backward-shift deletion: no tombstones. */
static void
workers_table_remove(struct workers_table t, size_t i)
{
	struct workers_entry	*e = t.v;
	size_t			 j, home;

	for (j = (i + 1) % t.size; e[j].key != 0; j = (j + 1) % t.size) {
		home = e[j].key % t.size;
		/* e[j] stays if its home lies cyclically in (i, j]. */
		if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
			continue;
		e[i] = e[j];
		i = j;
	}
	memset(&e[i], 0, sizeof(e[i]));
	(*t.used)--;
}

/* Builds the table again from the entries keep() says to keep. */
static void
workers_table_keep(struct workers_table t,
    int (*keep)(const struct workers_entry *, uint64_t), uint64_t arg)
{
	struct workers_entry	*v, *e = t.v;
	size_t			 i, j, n = 0;

	v = xreallocarray(NULL, *t.used + 1, sizeof(*v));
	for (i = 0; i < t.size; i++)
		if (e[i].key != 0 && n < *t.used && keep(&e[i], arg))
			v[n++] = e[i];
	memset(e, 0, t.size * sizeof(*e));
	for (i = 0; i < n; i++) {
		for (j = v[i].key % t.size; e[j].key != 0; j = (j + 1) % t.size)
			;
		e[j] = v[i];
	}
	*t.used = n;
	free(v);
}

static int
workers_keep_other(const struct workers_entry *e, uint64_t worker)
{
	return e->worker != worker;
}

static int
workers_keep_unexpired(const struct workers_entry *e, uint64_t now)
{
	return e->rec.expires_ms > now;
}

/* Adds n to (key, worker); -1 if the table is full.  Locked. */
static int
workers_entry_add(uint64_t key, uint32_t worker, uint32_t n)
{
	struct workers_entry	*e = workers_sh->e;
	size_t			 i;

	for (i = key % WORKERS_SLOTS; e[i].key != 0; i = (i + 1) % WORKERS_SLOTS)
		if (e[i].key == key && e[i].worker == worker) {
			e[i].count += n;
			return 0;
		}
	/* Keep a quarter free: the probe runs stay short. */
	if (workers_sh->used >= WORKERS_SLOTS / 4 * 3)
		return -1;
	e[i].key = key;
	e[i].worker = worker;
	e[i].count = n;
	workers_sh->used++;
	return 0;
}

int
workers_count_take(const char *kind, const char *key, uint64_t limit)
{
	struct workers_entry	*e;
	uint64_t		 k, total = 0;
	size_t			 i;
	int			 ret;

	if (workers_sh == NULL)
		return -1;
	k = workers_key(kind, key);
	workers_lock();
	e = workers_sh->e;
	for (i = k % WORKERS_SLOTS; e[i].key != 0; i = (i + 1) % WORKERS_SLOTS)
		if (e[i].key == k)
			total += e[i].count;
	if (total >= limit)
		ret = 0;
	else
		ret = workers_entry_add(k, workers_self, 1) == 0 ? 1 : -1;
	workers_unlock();
	if (ret == -1)
		log_warnx("workers: count table full; %s %s not counted", kind,
		    key);
	return ret;
}

void
workers_count_put(const char *kind, const char *key)
{
	struct workers_entry	*e;
	uint64_t		 k;
	size_t			 i;

	if (workers_sh == NULL)
		return;
	k = workers_key(kind, key);
	workers_lock();
	e = workers_sh->e;
	for (i = k % WORKERS_SLOTS; e[i].key != 0; i = (i + 1) % WORKERS_SLOTS)
		if (e[i].key == k && e[i].worker == workers_self) {
			if (e[i].count > 0)
				e[i].count--;
			if (e[i].count == 0)
				workers_table_remove(workers_counts(), i);
			break;
		}
	workers_unlock();
}

int
workers_rec_update(const char *kind, const char *key,
    int (*fn)(struct workers_rec *, void *), void *arg)
{
	struct workers_entry	*r;
	struct workers_rec	 tmp;
	uint64_t		 k, now;
	size_t			 i;

	if (workers_sh == NULL)
		return -1;
	k = workers_key(kind, key);
	workers_lock();
	r = workers_sh->r;
	for (i = k % WORKERS_RECS; r[i].key != 0 && r[i].key != k;
	    i = (i + 1) % WORKERS_RECS)
		;
	if (r[i].key == k) {
		if (!fn(&r[i].rec, arg))
			workers_table_remove(workers_recs(), i);
		workers_unlock();
		return 0;
	}
	memset(&tmp, 0, sizeof(tmp));
	if (fn(&tmp, arg)) {
		/*
		 * Full: a sweep, unless the last one said that nothing
		 * expires before rec_sweep_ms (a flood of new keys would
		 * otherwise sweep for each).
		 */
		now = time_mono_ms();
		if (workers_sh->nrecs >= WORKERS_RECS / 4 * 3 &&
		    now >= workers_sh->rec_sweep_ms) {
			workers_table_keep(workers_recs(),
			    workers_keep_unexpired, now);
			workers_sh->rec_sweep_ms = UINT64_MAX;
			for (i = 0; i < WORKERS_RECS; i++)
				if (r[i].key != 0 && r[i].rec.expires_ms <
				    workers_sh->rec_sweep_ms)
					workers_sh->rec_sweep_ms =
					    r[i].rec.expires_ms;
			for (i = k % WORKERS_RECS; r[i].key != 0;
			    i = (i + 1) % WORKERS_RECS)
				;
		}
		/* Still full: forgotten, as the single process did. */
		if (workers_sh->nrecs < WORKERS_RECS / 4 * 3) {
			r[i].key = k;
			r[i].rec = tmp;
			workers_sh->nrecs++;
		}
	}
	workers_unlock();
	return 0;
}

void
workers_hash_begin(void)
{
	struct timespec	 ts;
	int		 ret;

	if (workers_sh == NULL)
		return;
	workers_lock();
	while (workers_sh->hashing >= workers_sh->hash_cap) {
		/*
		 * Timed: a worker killed while it waited here may have
		 * swallowed a signal meant for another.
		 */
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += 100 * 1000 * 1000;
		if (ts.tv_nsec >= 1000 * 1000 * 1000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000 * 1000 * 1000;
		}
		ret = pthread_cond_timedwait(&workers_sh->hash_cond,
		    &workers_sh->lock, &ts);
		if (ret == EOWNERDEAD)
			pthread_mutex_consistent(&workers_sh->lock);
	}
	workers_sh->hashing++;
	workers_sh->hash_held[workers_self]++;
	workers_unlock();
}

void
workers_hash_end(void)
{
	if (workers_sh == NULL)
		return;
	workers_lock();
	if (workers_sh->hashing > 0)
		workers_sh->hashing--;
	if (workers_sh->hash_held[workers_self] > 0)
		workers_sh->hash_held[workers_self]--;
	pthread_cond_signal(&workers_sh->hash_cond);
	workers_unlock();
}

void
workers_ready(void)
{
	if (workers_sh == NULL)
		return;
	workers_lock();
	workers_sh->ready[workers_self] = 1;
	workers_unlock();
}

/* The supervisor, after worker w died: what it held is free again. */
static void
workers_release(uint32_t w)
{
	workers_lock();
	workers_table_keep(workers_counts(), workers_keep_other, w);
	workers_sh->hashing -= workers_sh->hash_held[w] < workers_sh->hashing ?
	    workers_sh->hash_held[w] : workers_sh->hashing;
	workers_sh->hash_held[w] = 0;
	workers_sh->ready[w] = 0;
	pthread_cond_broadcast(&workers_sh->hash_cond);
	workers_unlock();
}

static void
workers_child_start(struct daemon *d, struct workers_child *c, size_t slot,
    const sigset_t *old)
{
	pid_t	 parent = getpid(), pid;
	size_t	 i;

	if ((pid = fork()) == -1) {
		log_warn("workers: fork");
		c->start_at_ms = time_mono_ms() + WORKERS_BACKOFF_MIN_MS;
		return;
	}
	if (pid != 0) {
		c->pid = pid;
		c->started_ms = time_mono_ms();
		log_debug("worker %zu started (pid %ld)", slot, (long)pid);
		return;
	}
	/*
	 * The worker.  A supervisor that is gone (SIGKILL, say) takes its
	 * workers along, as a kill of the single process did: the restart
	 * that follows must be able to bind the ports.
	 */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() != parent)
		_exit(EX_OSERR);
	workers_self = (uint32_t)slot;
	sigprocmask(SIG_SETMASK, old, NULL);
	/* The supervisor's base never ran: make ours (libevent and fork). */
	event_base_free(d->base);
	if ((d->base = event_base_new()) == NULL)
		fatalx("event_base_new");
	/* The socket paths are the supervisor's to remove. */
	for (i = 0; i < d->nlsets; i++)
		d->lsets[i].inherited = 1;
	d->worker = (int)slot + 1;
}

static uint64_t
workers_min(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/*
 * Waits for signals (all blocked: no handler races), reaps, restarts.
 * Exits with the first failure a worker reports while stopping, or with
 * the failure of a worker that never got ready when none ever did.
 */
static void
workers_supervise(struct daemon *d, size_t n)
{
	struct workers_child	*c;
	struct timespec		 ts;
	sigset_t		 ss, old;
	siginfo_t		 si;
	uint64_t		 now, wake, stop_at = 0;
	size_t			 i, j, running;
	pid_t			 pid;
	int			 sig, status, was_ready, rc = EX_OK;
	int			 stopping = 0, ever_ready = 0;

	sigemptyset(&ss);
	sigaddset(&ss, SIGCHLD);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	sigaddset(&ss, SIGHUP);
	sigprocmask(SIG_BLOCK, &ss, &old);
	c = xcalloc(n, sizeof(*c));
	for (i = 0; i < n; i++) {
		workers_child_start(d, &c[i], i, &old);
		if (d->worker != 0) {
			free(c);
			return;
		}
	}
	log_info("%s %s: supervisor of %zu workers", d->name, PACKAGE_VERSION,
	    n);
	for (;;) {
		now = time_mono_ms();
		running = 0;
		wake = now + 60000;
		for (i = 0; i < n; i++) {
			if (c[i].pid != 0)
				running++;
			else if (!stopping) {
				if (c[i].start_at_ms <= now) {
					workers_child_start(d, &c[i], i, &old);
					if (d->worker != 0) {
						free(c);
						return;
					}
					running += c[i].pid != 0;
				} else
					wake = workers_min(wake,
					    c[i].start_at_ms);
			}
		}
		if (stopping && running == 0)
			break;
		if (stopping) {
			if (now >= stop_at) {
				for (i = 0; i < n; i++)
					if (c[i].pid != 0) {
						log_warnx("worker %zu (pid %ld) "
						    "did not stop; killing it",
						    i, (long)c[i].pid);
						kill(c[i].pid, SIGKILL);
					}
				stop_at = now + 60000;
			}
			wake = workers_min(wake, stop_at);
		}
		wake = wake > now ? wake - now : 0;
		ts.tv_sec = (time_t)(wake / 1000);
		ts.tv_nsec = (long)(wake % 1000) * 1000000;
		sig = sigtimedwait(&ss, &si, &ts);
		if (sig == SIGTERM || sig == SIGINT) {
			if (!stopping) {
				log_info("%s: stopping the workers",
				    sig == SIGTERM ? "SIGTERM" : "SIGINT");
				stopping = 1;
				stop_at = time_mono_ms() + WORKERS_STOP_MS;
				/* No new connection waits for nobody. */
				for (i = 0; i < d->nlsets; i++)
					listeners_close(&d->lsets[i]);
			}
			for (i = 0; i < n; i++)
				if (c[i].pid != 0)
					kill(c[i].pid, sig);
		} else if (sig == SIGHUP) {
			for (i = 0; i < n; i++)
				if (c[i].pid != 0)
					kill(c[i].pid, SIGHUP);
		}
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			for (i = 0; i < n && c[i].pid != pid; i++)
				;
			if (i == n)
				continue;
			workers_lock();
			was_ready = workers_sh->ready[i];
			for (j = 0; j < n; j++)
				ever_ready |= workers_sh->ready[j];
			workers_unlock();
			workers_release((uint32_t)i);
			c[i].pid = 0;
			if (WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
			    stopping)
				continue;
			now = time_mono_ms();
			if (!was_ready && !ever_ready && !stopping) {
				log_warnx("worker %zu (pid %ld) failed to start "
				    "(%s %d); stopping", i, (long)pid,
				    WIFEXITED(status) ? "exit" : "signal",
				    WIFEXITED(status) ? WEXITSTATUS(status) :
				    WTERMSIG(status));
				rc = WIFEXITED(status) && WEXITSTATUS(status) ?
				    WEXITSTATUS(status) : EX_SOFTWARE;
				stopping = 1;
				stop_at = now + WORKERS_STOP_MS;
				for (i = 0; i < n; i++)
					if (c[i].pid != 0)
						kill(c[i].pid, SIGTERM);
				continue;
			}
			if (stopping) {
				if (rc == EX_OK)
					rc = WIFEXITED(status) ?
					    WEXITSTATUS(status) : EX_SOFTWARE;
				continue;
			}
			if (now - c[i].started_ms >= WORKERS_STABLE_MS)
				c[i].backoff_ms = 0;
			else
				c[i].backoff_ms = c[i].backoff_ms == 0 ?
				    WORKERS_BACKOFF_MIN_MS : workers_min(
				    2 * c[i].backoff_ms, WORKERS_BACKOFF_MAX_MS);
			c[i].start_at_ms = now + c[i].backoff_ms;
			if (WIFSIGNALED(status))
				log_warnx("worker %zu (pid %ld) killed by signal "
				    "%d; starting another in %llu ms", i,
				    (long)pid, WTERMSIG(status),
				    (unsigned long long)c[i].backoff_ms);
			else
				log_warnx("worker %zu (pid %ld) exited with %d; "
				    "starting another in %llu ms", i, (long)pid,
				    WEXITSTATUS(status),
				    (unsigned long long)c[i].backoff_ms);
		}
	}
	free(c);
	log_info("%s stopping", d->name);
	daemon_cleanup(d);
	exit(rc);
}

void
workers_spawn(struct daemon *d, size_t n)
{
	if (n <= 1)
		return;
	workers_supervise(d, n);
}
