/*
 * store-env.c: the Berkeley DB environment, transactions and the thin
 * layer that maps Berkeley DB's returns to store errors.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "store-private.h"
#include "util.h"
#include "xmalloc.h"

/* A transaction that deadlocks this often is given up as EIO. */
#define STORE_TXN_RETRIES	50
/*
 * Reopens one transaction may make: another process can die inside
 * Berkeley DB while we recover from the last one.
 */
#define STORE_TXN_REOPENS	3
/*
 * Seconds an open waits for the other processes to close the
 * environment so that it can be recovered (store-fence.c).
 */
#define STORE_OPEN_WAIT_SECS	10
/* Log files of 10 MiB: small enough to be removed soon after checkpoints. */
#define STORE_LOG_FILE_SIZE	(10 * 1024 * 1024)
/*
 * Lock table sizes.  Deleting a large mailbox or account locks a page per
 * record touched; Berkeley DB's defaults (1,000) would end such a
 * transaction with ENOMEM.
 */
#define STORE_MAX_LOCKS		200000
#define STORE_MAX_LOCKERS	20000
#define STORE_MAX_TXNS		2000
/* Processes and threads using the environment at once (failchk's table). */
#define STORE_MAX_THREADS	4096
/*
 * A lock wait longer than this (microseconds) ends in DB_LOCK_NOTGRANTED:
 * store_txn_run() then asks failchk whether a dead process holds it.
 */
#define STORE_LOCK_TIMEOUT	(2 * 1000 * 1000)
/*
 * Seconds a thread may sit inside Berkeley DB while the environment says
 * it needs recovery before the process gives up (store_watchdog).
 */
#define STORE_STUCK_SECS	5
/* The same with replication (store_open). */
#define STORE_REPL_STUCK_SECS	30

const char *const store_db_names[DBI_COUNT] = {
	[DBI_META] = "meta.db",
	[DBI_ACCOUNTS] = "accounts.db",
	[DBI_ACCOUNT_ADDR] = "account-addr.db",
	[DBI_ACCOUNT_TOKEN] = "account-token.db",
	[DBI_CORRESPONDENTS] = "correspondents.db",
	[DBI_MAILBOXES] = "mailboxes.db",
	[DBI_SUBSCRIPTIONS] = "subscriptions.db",
	[DBI_MESSAGES] = "messages.db",
	[DBI_CHANGES] = "changes.db",
	[DBI_BLOBS] = "blobs.db",
	[DBI_CHUNKS] = "chunks.db",
	[DBI_MSGIDS] = "msgids.db",
	[DBI_QUEUE] = "queue.db",
	[DBI_QUEUE_DATA] = "queue-data.db",
	[DBI_ERASE_KEYS] = "erase-keys.db",
	[DBI_PUBKEYS] = "pubkeys.db",
	[DBI_LEASES] = "leases.db",
};

static const char *const store_error_text[] = {
	[0] = "success",
	[-STORE_ENOTFOUND] = "not found",
	[-STORE_EEXIST] = "already exists",
	[-STORE_EDEADLOCK] = "deadlock",
	[-STORE_ERECOVER] = "the database needs recovery",
	[-STORE_ECORRUPT] = "a record is damaged or fails to authenticate",
	[-STORE_ENOSPC] = "the disk is full",
	[-STORE_ELIMIT] = "a limit was reached",
	[-STORE_EIO] = "database error",
	[-STORE_EDENIED] = "wrong key or password",
	[-STORE_ESTATE] = "not allowed in this state",
	[-STORE_EMODIFIED] = "modified since",
	[-STORE_EVERSION] = "the database was written by a newer guestbox",
	[-STORE_ESHREDDED] = "the account's erase key is gone (deleted)",
	[-STORE_EKEYWORDS] = "the mailbox has as many keywords as it can",
	/* Replication: a standby, an election, or too few sites acked. */
	[-STORE_EUNAVAIL] = "this replication site takes no writes now",
};

static int	store_env_open(struct store *);
static int	store_env_recover(struct store *);
static int	store_env_join(struct store *);
static int	store_env_open_fenced(struct store *, int, uint32_t);
static uint64_t store_env_open_wait(const struct store *);
static void	store_env_remove_regions(struct store *);
static int	store_env_reopen(struct store *, unsigned);
static int	store_env_rejoin(struct store *, unsigned);
static int	store_env_reserve(struct store *);
static void	store_env_unmap_stale(struct store *);
static void	store_env_note_stale(struct store *);
static int	store_env_others_leave(struct store *, int);
static int	store_env_reserve_file(const char *, off_t, off_t);
static int	store_env_open_flags(struct store *, u_int32_t);
static void	store_env_close(struct store *);
static void	store_env_abandon(struct store *);
static int	store_checkpoint(struct store *, u_int32_t);
static int	store_schema_check(struct store *);
static int	store_index_check(struct store_txn *);
static time_t	store_clock_real(void);
static void	store_count_read(struct store *);
static int	store_busy_enter(struct store *);
static int	store_txn_run_busy(struct store *, store_txn_fn, void *,
		    u_int32_t, int);
static void	store_watchdog_stuck(struct store *);
static int	store_maintain_busy(struct store *, int);
static void	store_busy_leave(struct store *, int);

/* This thread's slot in busy_since (one numbering for every store). */
static _Thread_local int	store_busy_slot = -1;
static atomic_int		store_busy_next;

const char *
store_strerror(int err)
{
	if (err > 0 || (size_t)-err >= sizeof(store_error_text) /
	    sizeof(store_error_text[0]) || store_error_text[-err] == NULL)
		return "unknown store error";
	return store_error_text[-err];
}

int
store_db_error(const char *what, int dberr)
{
	switch (dberr) {
	case 0:
		return STORE_OK;
	case DB_NOTFOUND:
	case DB_KEYEMPTY:
		return STORE_ENOTFOUND;
	case DB_KEYEXIST:
		return STORE_EEXIST;
	case DB_LOCK_DEADLOCK:
	case DB_LOCK_NOTGRANTED:
		return STORE_EDEADLOCK;
	case DB_RUNRECOVERY:
		log_warnx("store: %s: %s", what, db_strerror(dberr));
		return STORE_ERECOVER;
	case ENOSPC:
	case EDQUOT:
		log_warnx("store: %s: %s", what, db_strerror(dberr));
		return STORE_ENOSPC;
	case EACCES:
		/* A write on a client: "attempt to modify a read-only database". */
		if (!store_repl_enabled())
			break;
		log_debug("store: %s: this site is a standby", what);
		return STORE_EUNAVAIL;
	case DB_REP_HANDLE_DEAD:
		store_repl_mark_dead();
		__attribute__((fallthrough));
	case DB_REP_LOCKOUT:
	case DB_REP_UNAVAIL:
	case DB_REP_LEASE_EXPIRED:
		log_warnx("store: %s: %s", what, db_strerror(dberr));
		return STORE_EUNAVAIL;
	default:
		break;
	}
	log_warnx("store: %s: %s", what, db_strerror(dberr));
	return STORE_EIO;
}

static time_t
store_clock_real(void)
{
	return time(NULL);
}

void
store_set_clock(struct store *st, time_t (*now)(void))
{
	st->now = now == NULL ? store_clock_real : now;
}

static int
store_mkdir(const char *path)
{
	if (mkdir(path, 0700) == -1 && errno != EEXIST) {
		log_warn("store: mkdir %s", path);
		return -1;
	}
	return 0;
}

/*
 * For failchk: is the process that holds a lock still there?  A process
 * killed with SIGKILL inside a transaction leaves its locks behind;
 * without this, every other process would wait for them until some
 * process opened the environment again (DB_REGISTER recovers at open).
 */
static int
store_isalive(DB_ENV *env, pid_t pid, db_threadid_t tid, u_int32_t flags)
{
	return kill(pid, 0) == 0 || errno == EPERM;
}

/* The deadman starts counting; what says where, for its message. */
static void
store_wait_begin(struct store *st, enum store_wait what)
{
	atomic_store(&st->failchk_what, (int)what);
	atomic_store(&st->failchk_since, (int64_t)time(NULL));
}

/*
 * failchk runs one at a time in the whole environment: st->failchk_lock
 * among our threads, byte 2 of the fence (store-fence.c) among the
 * processes.
 *
 * Berkeley DB 5.3's failchk is not safe against another failchk.
 * __lock_failchk lets go of the lockers' mutex before it releases a dead
 * process's read locks and frees its locker, and __txn_failchk of the
 * transaction region's before it aborts a dead process's transaction:
 * two failchk that see the same dead process at once free that locker,
 * or abort that transaction (its locks, its locker, its detail), twice.
 * The lock region is corrupt from then on (its count of lockers below
 * the length of their list, free lists that loop), and the next
 * lock_detect, in whichever process, writes past the matrix it sized by
 * that count or follows a freed lock: the bystander's SIGSEGV after a
 * kill (issue 13).  Every process notices a death at about the same
 * moment (each watchdog looks once a second, and every thread that
 * waited for the dead process's locks times out after STORE_LOCK_TIMEOUT
 * and asks failchk), so each process more made it likelier: two imapd
 * workers joining at once were seen freeing one dead process's lockers
 * by turns, and one of them died of it.
 *
 * Waits up to wait_ms (0: one try) for the failchk another thread or
 * process runs; 1 when it is our turn (store_env_failchk_end() after),
 * 0 when the other one still runs: it does the cleaning up.  The wait
 * is not one on a dead process: the deadman's count, if running, starts
 * again once we have the turn.
 */
int
store_env_failchk_begin(struct store *st, uint64_t wait_ms)
{
	struct timespec	 ts;
	uint64_t	 deadline = 0;
	int64_t		 since;
	int		 ret;

	since = atomic_exchange(&st->failchk_since, 0);
	if (wait_ms == 0)
		ret = pthread_mutex_trylock(&st->failchk_lock);
	else {
		deadline = time_mono_ms() + wait_ms;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += (time_t)(wait_ms / 1000);
		ts.tv_nsec += (long)(wait_ms % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		ret = pthread_mutex_timedlock(&st->failchk_lock, &ts);
	}
	if (ret == 0 && store_fence_failchk_lock(st, deadline) == -1) {
		pthread_mutex_unlock(&st->failchk_lock);
		ret = -1;
	}
	if (since != 0)
		atomic_store(&st->failchk_since, (int64_t)time(NULL));
	return ret == 0;
}

void
store_env_failchk_end(struct store *st)
{
	store_fence_failchk_unlock(st);
	pthread_mutex_unlock(&st->failchk_lock);
}

static const char *
store_wait_name(int what)
{
	switch (what) {
	case STORE_WAIT_JOIN:
		return "joining the environment";
	case STORE_WAIT_OPEN_DBS:
		return "opening the databases";
	case STORE_WAIT_FAILCHK:
		return "failchk";
	case STORE_WAIT_LOCK_DETECT:
		return "lock_detect after failchk";
	default:
		return "a wait";
	}
}

static void
store_env_errcall(const DB_ENV *env, const char *prefix, const char *msg)
{
	/* failchk reports each mutex it cannot reclaim: routine after a kill. */
	if (strstr(msg, "BDB2027") != NULL) {
		log_debug("store: berkeley db: %s", msg);
		return;
	}
	/*
	 * A site that becomes master, or initialises a client, reads every
	 * file of db/ as a database: our fence (store-fence.c) is none.
	 */
	if (strstr(msg, "BDB0004") != NULL && strstr(msg, "/fence:") != NULL) {
		log_debug("store: berkeley db: %s", msg);
		return;
	}
	log_warnx("store: berkeley db: %s", msg);
}

/* Informational messages (failchk says what it freed). */
static void
store_env_msgcall(const DB_ENV *env, const char *msg)
{
	log_debug("store: berkeley db: %s", msg);
}

/*
 * The regions (__db.001 ...) are files that every process maps shared.
 * Berkeley DB maps each at its largest size but makes the file grow
 * (ftruncate, sparse) as the region fills: on a full disk the first
 * touch of a page without a block behind it is SIGBUS, not an error, and
 * the daemon dies (tests/diskfull.test).  Give every mapped page its
 * block now, past the end of the file too (FALLOC_FL_KEEP_SIZE), so that
 * a region can no longer run out of disk.  fallocate(2), not
 * posix_fallocate(): glibc's fallback writes into files other processes
 * use.  A file system without fallocate keeps the old risk.
 */
static int
store_env_reserve_file(const char *path, off_t off, off_t len)
{
	int	 fd, ret = 0;

	/* Gone: another process's recovery replaced it just now. */
	if ((fd = open(path, O_RDWR | O_CLOEXEC)) == -1)
		return 0;
	/* Only a full disk stops the open; anything else keeps the risk. */
	if (len > 0 && fallocate(fd, FALLOC_FL_KEEP_SIZE, off, len) == -1 &&
	    errno != EOPNOTSUPP && errno != ENOSYS) {
		if (errno == ENOSPC || errno == EDQUOT)
			ret = STORE_ENOSPC;
		log_warn("store: reserving %lld bytes for %s", (long long)len,
		    path);
	}
	close(fd);
	return ret;
}

static int
store_env_reserve_map(const struct store_map *m, void *arg)
{
	/*
	 * A region that recovery removed while it was mapped (its mapping
	 * can outlive the handle of a panicked environment) is no business
	 * of ours.
	 */
	if (m->deleted)
		return 0;
	return store_env_reserve_file(m->path, (off_t)m->off,
	    (off_t)(m->hi - m->lo));
}

static int
store_env_reserve(struct store *st)
{
	/* No procfs: nothing we can do. */
	return store_region_maps(st->db_dir, store_env_reserve_map, NULL);
}

/*
 * Removes the region files (__db.001 ...) under the exclusive fence:
 * nobody else has them open, and a recovery that attached to them first
 * would wait for good on a mutex that a dead process left held.
 */
static void
store_env_remove_regions(struct store *st)
{
	DIR		*dir;
	struct dirent	*de;
	char		*path;

	if ((dir = opendir(st->db_dir)) == NULL)
		return;
	while ((de = readdir(dir)) != NULL) {
		if (strncmp(de->d_name, "__db.0", 6) != 0)
			continue;
		xasprintf(&path, "%s/%s", st->db_dir, de->d_name);
		if (unlink(path) == -1 && errno != ENOENT)
			log_warn("store: removing %s", path);
		free(path);
	}
	closedir(dir);
}

/* Under the exclusive fence: recovery, then the shared lock. */
static int
store_env_recover(struct store *st)
{
	struct timespec	 t0, t1;
	int		 ret;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	store_env_remove_regions(st);
	if ((ret = store_env_open_flags(st, DB_CREATE | DB_RECOVER)) != 0) {
		store_fence_release(st);
		return ret;
	}
	store_fence_bump(st);
	store_fence_downgrade(st);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	log_debug("store: environment recovered in %.2f s",
	    (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	return 0;
}

/*
 * Joins the environment that the others have open (under the shared
 * fence), cleaning up after the processes that died in it (failchk
 * releases their locks and aborts their transactions, in
 * store_env_open_flags); STORE_ERECOVER when only recovery can.
 */
static int
store_env_join(struct store *st)
{
	return store_env_open_flags(st, 0);
}

/* How long an open may wait for the fence (milliseconds). */
static uint64_t
store_env_open_wait(const struct store *st)
{
	return (uint64_t)(st->opts.stuck_secs > 0 ? st->opts.stuck_secs :
	    STORE_OPEN_WAIT_SECS) * 1000;
}

/*
 * Opens the environment under the fence (store-fence.c): alone, it is
 * recovered first (its last users may all have died, the machine too);
 * otherwise joined, and recovered only once every other process has
 * closed it.  seen is the recovery count of a handle that needs it.
 */
static int
store_env_open_fenced(struct store *st, int need, uint32_t seen)
{
	uint64_t	 deadline = time_mono_ms() + store_env_open_wait(st);
	int		 ret;

	if ((ret = store_fence_open(st)) != 0)
		return ret;
	if (!need) {
		if (store_fence_alone(st))
			return store_env_recover(st);
		if ((ret = store_fence_shared(st, deadline)) != 0)
			return ret;
		seen = st->fence_gen;
		/* Joining would wait on the dead process's mutex. */
		if (store_fence_marked(st))
			log_warnx("store: a process died inside a critical "
			    "section of the environment");
		else if ((ret = store_env_join(st)) != STORE_ERECOVER) {
			if (ret != 0)
				store_fence_release(st);
			return ret;
		}
	}
	log_warnx("store: the environment needs recovery: waiting for the "
	    "other processes to close it");
	if ((ret = store_fence_exclusive(st, deadline, seen)) < 0)
		return ret;
	if (ret == 1) {
		/* Another process recovered it meanwhile. */
		if ((ret = store_env_join(st)) != 0)
			store_fence_release(st);
		return ret;
	}
	log_warnx("store: recovering the environment");
	return store_env_recover(st);
}

static int
store_env_open(struct store *st)
{
	int	 ret;

	ret = store_env_open_fenced(st, 0, 0);
	if (ret == 0 && (ret = store_env_reserve(st)) != 0) {
		store_env_close(st);
		store_fence_release(st);
	}
	return ret;
}

static int
store_env_open_flags(struct store *st, u_int32_t extra)
{
	DB_ENV		*env;
	DB		*db;
	u_int32_t	 flags;
	int		 ret, i, opened = 0;

	if ((ret = db_env_create(&env, 0)) != 0)
		return store_db_error("db_env_create", ret);
	st->env = env;
	env->set_errcall(env, store_env_errcall);
	env->set_msgcall(env, store_env_msgcall);
	/* Only used when the environment is created; later openers join it. */
	if ((ret = env->set_cachesize(env, (u_int32_t)(st->opts.cache_size >> 30),
	    (u_int32_t)(st->opts.cache_size & ((1U << 30) - 1)), 1)) != 0 ||
	    (ret = env->set_lg_max(env, STORE_LOG_FILE_SIZE)) != 0 ||
	    (ret = env->set_lk_detect(env, DB_LOCK_DEFAULT)) != 0 ||
	    (ret = env->set_lk_max_locks(env, STORE_MAX_LOCKS)) != 0 ||
	    (ret = env->set_lk_max_objects(env, STORE_MAX_LOCKS)) != 0 ||
	    (ret = env->set_lk_max_lockers(env, STORE_MAX_LOCKERS)) != 0 ||
	    (ret = env->set_tx_max(env, STORE_MAX_TXNS)) != 0 ||
	    (ret = env->set_thread_count(env, STORE_MAX_THREADS)) != 0 ||
	    (ret = env->set_isalive(env, store_isalive)) != 0 ||
	    (ret = env->set_app_dispatch(env, store_log_dispatch)) != 0 ||
	    (ret = env->set_timeout(env, STORE_LOCK_TIMEOUT, DB_SET_LOCK_TIMEOUT)) != 0)
		goto fail;
	if (st->opts.repl_site != NULL && (ret = store_repl_configure(st,
	    env)) != 0)
		goto fail;
	/*
	 * extra: DB_CREATE | DB_RECOVER under the exclusive fence, nothing
	 * to join (store_env_open_fenced).  Not DB_REGISTER: it recovers
	 * in whichever process opens next after any user died, under the
	 * feet of the others (store-fence.c); failchk cleans up instead
	 * where it can.
	 */
	flags = DB_INIT_TXN | DB_INIT_LOCK | DB_INIT_LOG | DB_INIT_MPOOL |
	    DB_THREAD | extra;
	if (st->opts.repl_site != NULL)
		flags |= DB_INIT_REP;
	/*
	 * Joining attaches to regions in which a dead process may hold a
	 * lock without an owner on record (a read latch), where no wait is
	 * bounded: the deadman watches (not recovering: the regions are
	 * new then).
	 */
	if (!(extra & DB_RECOVER))
		store_wait_begin(st, STORE_WAIT_JOIN);
	ret = env->open(env, st->db_dir, flags, 0600);
	if (ret != 0)
		goto fail;
	opened = 1;
	/*
	 * Joining: failchk before the databases are opened, as opening
	 * one waits for the handle locks that a dead process may hold.
	 * DB_RUNRECOVERY: only recovery can clean up after it (it died
	 * inside Berkeley DB).  Not panicked then: every other process
	 * learns the same from its own failchk within a second and comes
	 * out, and a panic would leave the threads that wait for a lock of
	 * the dead process waiting for good (lock_detect no longer runs in
	 * a panicked environment).  EBUSY: a dead process's handle mutex
	 * stays allocated until the next recovery; its locks are released.
	 */
	if (!(extra & DB_RECOVER)) {
		if (store_env_failchk_begin(st, store_env_open_wait(st))) {
			ret = env->failchk(env, 0);
			store_env_failchk_end(st);
			if (ret != 0 && ret != EBUSY)
				goto fail;
		} else
			log_warnx("store: another process's failchk has run "
			    "for %llu ms; joining without one",
			    (unsigned long long)store_env_open_wait(st));
	}
	/* Waiting for the group is not waiting on a dead process. */
	atomic_store(&st->failchk_since, 0);
	if (st->opts.repl_site != NULL && (ret = store_repl_start(st)) != 0) {
		store_env_close(st);
		return ret;
	}
	if (!(extra & DB_RECOVER))
		store_wait_begin(st, STORE_WAIT_OPEN_DBS);
	for (i = 0; i < DBI_COUNT; i++) {
		if ((ret = db_create(&db, env, 0)) != 0)
			goto fail;
		st->db[i] = db;
		/*
		 * The erase keys: fixed slots of a Queue, overwritten in
		 * place (store-erase.c).  Padding with zeros, not spaces.
		 */
		if (i == DBI_ERASE_KEYS &&
		    ((ret = db->set_re_len(db, STORE_ERASE_SLOTBYTES)) != 0 ||
		    (ret = db->set_re_pad(db, 0)) != 0))
			goto fail;
		if ((ret = db->open(db, NULL, store_db_names[i], NULL,
		    i == DBI_ERASE_KEYS ? DB_QUEUE : DB_BTREE,
		    DB_CREATE | DB_AUTO_COMMIT | DB_THREAD, 0600)) != 0)
			goto fail;
	}
	atomic_store(&st->failchk_since, 0);
	return STORE_OK;
fail:
	atomic_store(&st->failchk_since, 0);
	/*
	 * Joining: EINVAL, the regions were made with other settings (the
	 * thread table of set_thread_count is missing: an older guestbox);
	 * EAGAIN, their creator did not finish them; ENOENT, there are
	 * none.  Recovery builds them anew.
	 */
	if (!opened && !(extra & DB_RECOVER) && (ret == EINVAL ||
	    ret == EAGAIN || ret == ENOENT)) {
		log_warnx("store: the environment's regions are unusable (%s)",
		    db_strerror(ret));
		store_env_close(st);
		return STORE_ERECOVER;
	}
	ret = store_db_error("opening the environment", ret);
	store_env_close(st);
	return ret == STORE_ENOTFOUND ? STORE_EIO : ret;
}

/*
 * A handle of an environment in which a dead process holds a mutex
 * (store_fence_marked): closing it would wait on that mutex.  It is
 * left as it is, never used again; the recovery makes a new one.
 */
static void
store_env_abandon(struct store *st)
{
	int	 i;

	log_warnx("store: leaving the old handle unclosed: a dead process "
	    "holds one of its mutexes");
	for (i = 0; i < DBI_COUNT; i++)
		st->db[i] = NULL;
	st->env = NULL;
}

static void
store_env_close(struct store *st)
{
	int	 i;

	for (i = 0; i < DBI_COUNT; i++) {
		/*
		 * DB_NOSYNC: the log already holds every commit; flushing
		 * each file at close made every CLI run cost a dozen syncs.
		 */
		if (st->db[i] != NULL)
			st->db[i]->close(st->db[i], DB_NOSYNC);
		st->db[i] = NULL;
	}
	if (st->env != NULL)
		st->env->close(st->env, 0);
	st->env = NULL;
}

/*
 * Reopens after DB_RUNRECOVERY, in place: the recovery runs once every
 * process has closed the old handle (store_env_open_fenced).
 * gen is the generation of the handle that failed: if another thread
 * has reopened since, its handle is the one to use, and nothing is done.
 */
static int
store_env_reopen(struct store *st, unsigned gen)
{
	struct timespec	 t0, t1;
	int64_t		 busy = 0;
	int		 ret = 0;

	/* Waiting for the lock is not being inside Berkeley DB. */
	if (store_busy_slot >= 0 && store_busy_slot < STORE_BUSY_SLOTS)
		busy = atomic_exchange(&st->busy_since[store_busy_slot], 0);
	pthread_mutex_lock(&st->env_lock);
	if (atomic_load(&st->env_gen) != gen && st->env != NULL)
		goto out;	/* another thread has reopened it */
	/*
	 * The replication process cannot reopen in place: the handle it
	 * would abandon keeps repl_site's listening socket, and the new
	 * one could not start the Replication Manager.  A restart (its
	 * unit has Restart=always) recovers and rejoins.
	 */
	if (st->opts.repl_process && !st->reopen_join) {
		log_warnx("store: the environment needs recovery: the "
		    "replication process leaves so that a restart recovers it");
		_exit(store_exit_status());
	}
	/* Rejoining (a client's rollback): the handles only, no recovery. */
	log_warnx("store: reopening the environment%s", st->reopen_join ?
	    "" : " with recovery");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	atomic_store(&st->reopening, 1);
	/*
	 * Our other threads out of the old handle first, or it would be
	 * freed under them: they meet DB_RUNRECOVERY at their next call,
	 * and a wait in its regions ends when they are removed
	 * (store-mutex.c).  One that does not come out keeps the handle
	 * open for now; the watchdog leaves if it never does.
	 */
	if (st->env != NULL && !store_env_others_leave(st, 300)) {
		log_warnx("store: a thread is still inside Berkeley DB; not "
		    "reopening yet");
		ret = STORE_ERECOVER;
		goto out;
	}
	/*
	 * A flush in the flusher thread uses the handle we close.  The
	 * wait releases env_lock: if that flush waits for a dead process,
	 * the watchdog sees it (failchk) and ends us.
	 */
	while (st->flushing > 0)
		pthread_cond_wait(&st->flush_cond, &st->env_lock);
	store_env_note_stale(st);
	if (store_fence_marked(st))
		store_env_abandon(st);
	else
		store_env_close(st);
	ret = store_env_open_fenced(st, !st->reopen_join, st->fence_gen);
	if (ret == 0 && (ret = store_env_reserve(st)) != 0) {
		store_env_close(st);
		store_fence_release(st);
	}
	if (ret == 0) {
		atomic_fetch_add(&st->env_gen, 1);
		store_env_unmap_stale(st);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		log_info("store: environment reopened in %.2f s",
		    (double)(t1.tv_sec - t0.tv_sec) +
		    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	}
out:
	atomic_store(&st->reopening, 0);
	pthread_mutex_unlock(&st->env_lock);
	if (busy != 0)
		atomic_store(&st->busy_since[store_busy_slot], busy);
	return ret;
}

/* store_env_reopen() without recovery, unless we are alone. */
static int
store_env_rejoin(struct store *st, unsigned gen)
{
	int	 ret;

	st->reopen_join = 1;
	ret = store_env_reopen(st, gen);
	st->reopen_join = 0;
	return ret;
}

int
store_rejoin(struct store *st)
{
	/* Its handle keeps the Replication Manager (store_env_reopen). */
	if (st->opts.repl_process)
		return STORE_OK;
	log_info("store: this site rolled back or changed masters; "
	    "reopening its handles");
	return store_env_rejoin(st, atomic_load(&st->env_gen));
}

/*
 * Waits up to tries * 10 ms for our other threads to leave Berkeley DB.
 * One may wait for a lock of the dead process: expiring lock timeouts
 * (the watchdog's work, and the watchdog may be the thread waiting here)
 * sends it out with DB_LOCK_NOTGRANTED.
 */
static int
store_env_others_leave(struct store *st, int tries)
{
	int	 i, busy = 1, n = 0;

	for (; busy && tries > 0; tries--) {
		busy = 0;
		for (i = 0; i < STORE_BUSY_SLOTS; i++)
			if (i != store_busy_slot &&
			    atomic_load(&st->busy_since[i]) != 0)
				busy = 1;
		if (busy && st->env != NULL && n++ % 10 == 0)
			(void)st->env->lock_detect(st->env, 0, DB_LOCK_EXPIRE,
			    NULL);
		if (busy)
			usleep(10000);
	}
	return !busy;
}

/*
 * Closing an environment that panicked leaves its regions mapped: the
 * recovery that another process ran has removed their files, but every
 * block of them (all reserved, store_env_reserve) stays taken as long as
 * the mapping does, a few hundred megabytes per recovery for as long as
 * this process lives.  Unmap them, once no other thread of ours is
 * inside Berkeley DB (one that is may still be on the old regions);
 * otherwise leave them for this time.
 */
static int
store_env_unmap_map(const struct store_map *m, void *arg)
{
	struct store	*st = arg;
	int		 i;

	if (!m->deleted)
		return 0;
	/*
	 * The new handle's regions may be deleted by now too (another
	 * recovery): they are still ours to use.
	 */
	for (i = 0; i < st->nstale; i++)
		if (st->stale[i].lo == m->lo && st->stale[i].hi == m->hi &&
		    st->stale[i].ino == m->ino)
			break;
	if (i < st->nstale && munmap((void *)m->lo, m->hi - m->lo) == -1)
		log_warn("store: munmap %s", m->path);
	return 0;
}

static void
store_env_unmap_stale(struct store *st)
{
	if (!store_env_others_leave(st, 200))
		log_warnx("store: the old regions stay mapped: a thread is "
		    "busy in them");
	else
		(void)store_region_maps(st->db_dir, store_env_unmap_map, st);
	st->nstale = 0;
}

static int
store_env_note_map(const struct store_map *m, void *arg)
{
	struct store	*st = arg;

	if (st->nstale == STORE_STALE_MAPS)
		return 1;
	st->stale[st->nstale].lo = m->lo;
	st->stale[st->nstale].hi = m->hi;
	st->stale[st->nstale].ino = m->ino;
	st->nstale++;
	return 0;
}

/* Notes the region mappings of the handle about to be replaced. */
static void
store_env_note_stale(struct store *st)
{
	st->nstale = 0;
	(void)store_region_maps(st->db_dir, store_env_note_map, st);
}

/*
 * A process killed while it held one of Berkeley DB's mutexes (the log
 * flush mutex during a commit's fsync, most often) leaves it held for
 * good: failchk can then only say that the environment needs recovery,
 * and Berkeley DB 5.3 wakes no thread that waits on that mutex.  Such a
 * thread never comes back, and the process can neither serve nor reopen
 * the environment.  Leave: the supervisor (systemd's Restart=on-failure)
 * starts us again, the new process recovers the environment, and nothing
 * acknowledged is lost, since every acknowledgement follows a commit.
 */
static void
store_watchdog_stuck(struct store *st)
{
	int64_t	 since, now = (int64_t)time(NULL);
	int	 i;

	for (i = 0; i < STORE_BUSY_SLOTS; i++) {
		since = atomic_load(&st->busy_since[i]);
		if (since != 0 && now - since >= (int64_t)(st->opts.stuck_secs >
		    0 ? st->opts.stuck_secs : STORE_STUCK_SECS)) {
			log_warnx("store: a thread has waited %lld s inside "
			    "Berkeley DB for a process that died; the "
			    "environment needs recovery: exiting so that a "
			    "restart recovers it", (long long)(now - since));
			_exit(store_exit_status());
		}
	}
}

static int
store_busy_enter(struct store *st)
{
	if (store_busy_slot == -1)
		store_busy_slot = atomic_fetch_add(&store_busy_next, 1);
	if (store_busy_slot >= STORE_BUSY_SLOTS ||
	    atomic_load(&st->busy_since[store_busy_slot]) != 0)
		return 0;	/* untracked, or a call inside a call */
	atomic_store(&st->busy_since[store_busy_slot], (int64_t)time(NULL));
	/*
	 * Another thread is replacing the handle: it has seen this slot
	 * empty, or it waits for it to empty.  Either way, not in until it
	 * is done (its env_lock), or we would use the handle it closes.
	 */
	while (atomic_load(&st->reopening)) {
		atomic_store(&st->busy_since[store_busy_slot], 0);
		pthread_mutex_lock(&st->env_lock);
		pthread_mutex_unlock(&st->env_lock);
		atomic_store(&st->busy_since[store_busy_slot],
		    (int64_t)time(NULL));
	}
	return 1;
}

static void
store_busy_leave(struct store *st, int entered)
{
	if (entered)
		atomic_store(&st->busy_since[store_busy_slot], 0);
}

/*
 * Lock waits are not woken by time alone: Berkeley DB looks at lock
 * timeouts and dead lockers only when asked.  This thread asks once a
 * second, so a process killed inside a transaction (its locks stay) or
 * a stuck one (the timeout expires) never blocks the others for long.
 */
static void *
store_watchdog(void *arg)
{
	struct store	*st = arg;
	struct timespec	 ts;
	unsigned	 gen;
	int		 ret;
	sigset_t	 ss;

	/* Signals are the event loop's: never let one land here. */
	sigfillset(&ss);
	pthread_sigmask(SIG_BLOCK, &ss, NULL);

	pthread_mutex_lock(&st->env_lock);
	while (!st->watchdog_stop) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&st->watchdog_cond, &st->env_lock, &ts);
		if (st->watchdog_stop || st->env == NULL)
			continue;
		/* failchk would wait on the dead process's mutex. */
		if (store_fence_marked(st)) {
			gen = atomic_load(&st->env_gen);
			pthread_mutex_unlock(&st->env_lock);
			if (store_env_reopen(st, gen) != 0)
				store_watchdog_stuck(st);
			pthread_mutex_lock(&st->env_lock);
			continue;
		}
		/*
		 * Another thread or process runs failchk: it cleans up, and
		 * this look waits for the next tick (store_env_failchk_begin).
		 * The lock timeouts are expired under the same turn.
		 */
		if (!store_env_failchk_begin(st, 0))
			continue;
		/*
		 * EBUSY: a dead process's handle mutex cannot be destroyed
		 * (it stays allocated until the next recovery); its locks
		 * and transactions are released all the same.
		 */
		store_wait_begin(st, STORE_WAIT_FAILCHK);
		gen = atomic_load(&st->env_gen);
		if ((ret = st->env->failchk(st->env, 0)) == DB_RUNRECOVERY) {
			store_env_failchk_end(st);
			atomic_store(&st->failchk_since, 0);
			/*
			 * A process died inside Berkeley DB, or another one
			 * said so: reopen now, even if no thread of ours is
			 * busy, as the recovery waits for every handle
			 * (store-fence.c).
			 */
			pthread_mutex_unlock(&st->env_lock);
			if (store_env_reopen(st, gen) != 0)
				store_watchdog_stuck(st);
			pthread_mutex_lock(&st->env_lock);
			continue;
		}
		if (ret != 0 && ret != EBUSY)
			log_warnx("store: failchk: %s", db_strerror(ret));
		/* The same wait, counted from failchk on. */
		atomic_store(&st->failchk_what, STORE_WAIT_LOCK_DETECT);
		(void)st->env->lock_detect(st->env, 0, DB_LOCK_EXPIRE, NULL);
		store_env_failchk_end(st);
		atomic_store(&st->failchk_since, 0);
	}
	pthread_mutex_unlock(&st->env_lock);
	return NULL;
}

/*
 * Who watches the watchdog: failchk waits on Berkeley DB's mutexes too,
 * and one that a dead process held (or that a thread of ours left held
 * when a panic cut its work short) keeps it there for good, with
 * env_lock, so that no thread can reopen the environment and nothing
 * notices.  This thread touches neither; it makes us leave for a
 * restart.
 */
static void *
store_deadman(void *arg)
{
	struct store	*st = arg;
	struct timespec	 ts;
	int64_t		 since, now;
	unsigned	 limit;
	sigset_t	 ss;

	sigfillset(&ss);
	pthread_sigmask(SIG_BLOCK, &ss, NULL);
	limit = st->opts.stuck_secs > 0 ? st->opts.stuck_secs :
	    STORE_STUCK_SECS;
	pthread_mutex_lock(&st->deadman_lock);
	while (!st->deadman_stop) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&st->deadman_cond, &st->deadman_lock,
		    &ts);
		since = atomic_load(&st->failchk_since);
		now = (int64_t)time(NULL);
		if (since != 0 && now - since >= (int64_t)limit) {
			log_warnx("store: %s has waited %lld s inside "
			    "Berkeley DB for a process that died; exiting so "
			    "that a restart recovers it",
			    store_wait_name(atomic_load(&st->failchk_what)),
			    (long long)(now - since));
			/* The next opener would wait the same way. */
			store_fence_mark();
			_exit(store_exit_status());
		}
	}
	pthread_mutex_unlock(&st->deadman_lock);
	return NULL;
}

/*
 * The address index is keyed with index.key: a state directory restored
 * without it (or with another one) would find no account by address.
 */
static int
store_index_check(struct store_txn *txn)
{
	uint8_t		 want[16];
	void		*val;
	size_t		 vlen;
	int		 ret;

	store_index_check_value(txn->store, want);
	ret = store_db_get(txn, DBI_META, "index-check", 11, &val, &vlen);
	if (ret == STORE_ENOTFOUND)
		return store_db_put(txn, DBI_META, "index-check", 11, want,
		    sizeof(want));
	if (ret != 0)
		return ret;
	ret = vlen == sizeof(want) && sodium_memcmp(val, want,
	    sizeof(want)) == 0 ? 0 : STORE_ECORRUPT;
	free(val);
	if (ret != 0)
		log_warnx("store: the index key in meta.db does not match the "
		    "address index: the state directory is damaged");
	return ret;
}

static int
store_schema_txn(struct store_txn *txn, void *arg)
{
	uint32_t	*found = arg;
	uint8_t		 v[4];
	void		*val;
	size_t		 vlen;
	int		 ret, iret;

	ret = store_db_get_rmw(txn, DBI_META, "schema", 6, &val, &vlen);
	if (ret != 0 && ret != STORE_ENOTFOUND)
		return ret;
	/* Every open: the address index's key, from meta.db. */
	if ((iret = store_index_load(txn)) != 0) {
		free(val);
		return iret;
	}
	if (ret == STORE_ENOTFOUND) {
		/* A new environment. */
		pack_be32(v, STORE_SCHEMA_VERSION);
		*found = STORE_SCHEMA_VERSION;
		if ((ret = store_db_put(txn, DBI_META, "schema", 6, v,
		    sizeof(v))) != 0)
			return ret;
		return store_index_check(txn);
	}
	if (ret != 0)
		return ret;
	if (vlen != 4) {
		free(val);
		return STORE_ECORRUPT;
	}
	*found = unpack_be32(val);
	free(val);
	if (*found > STORE_SCHEMA_VERSION)
		return STORE_EVERSION;
	/*
	 * Upgrades go here: while (*found < STORE_SCHEMA_VERSION) run the
	 * step for *found, then store *found + 1.  Version 1 is the first.
	 */
	if (*found < 2) {
		if ((ret = store_upgrade_v2(txn)) != 0)
			return ret;
		log_info("store: upgraded from schema version %u to 2: erase "
		    "keys", *found);
	}
	if (*found < 3) {
		if ((ret = store_upgrade_v3(txn)) != 0)
			return ret;
		log_info("store: upgraded from schema version %u to 3: "
		    "\\Recent marks", *found < 2 ? 2 : *found);
	}
	if (*found < 4) {
		if ((ret = store_upgrade_v4(txn)) != 0)
			return ret;
		log_info("store: upgraded from schema version %u to 4: erase "
		    "keys in %s", *found < 3 ? 3 : *found,
		    store_db_names[DBI_ERASE_KEYS]);
	}
	if (*found < STORE_SCHEMA_VERSION) {
		pack_be32(v, STORE_SCHEMA_VERSION);
		if ((ret = store_db_put(txn, DBI_META, "schema", 6, v,
		    sizeof(v))) != 0)
			return ret;
	}
	return store_index_check(txn);
}

static int
store_schema_check(struct store *st)
{
	uint32_t	 found = 0;
	int		 ret;

	ret = store_txn_run(st, store_schema_txn, &found);
	if (ret == STORE_EVERSION)
		log_warnx("store: schema version %u is newer than this "
		    "guestbox (%u): install the newer version", found,
		    STORE_SCHEMA_VERSION);
	/* After the commit: the files of schema 3 and before go. */
	if (ret == 0)
		ret = store_erase_retire_files(st);
	return ret;
}

struct store *
store_open(const char *state_dir, const struct store_options *opts, int *errp)
{
	struct store	*st;
	int		 ret;

	st = xcalloc(1, sizeof(*st));
	st->state_dir = xstrdup(state_dir);
	xasprintf(&st->db_dir, "%s/db", state_dir);
	xasprintf(&st->notify_dir, "%s/notify", state_dir);
	xasprintf(&st->erase_dir, "%s/erase", state_dir);
	st->opts = *opts;
	/*
	 * An election or a client's sync holds the replication region for
	 * seconds on a loaded machine, and failchk waits for it: that is
	 * no dead process to leave for.
	 */
	if (opts->repl_site != NULL && st->opts.stuck_secs == 0)
		st->opts.stuck_secs = STORE_REPL_STUCK_SECS;
	/* The caller's configuration may go (SIGHUP): our own copies. */
	if (opts->repl_site != NULL)
		st->opts.repl_site = xstrdup(opts->repl_site);
	if (opts->repl_peers != NULL)
		st->opts.repl_peers = xstrdup(opts->repl_peers);
	if (st->opts.cache_size < 1024 * 1024)
		st->opts.cache_size = 1024 * 1024;
	st->now = store_clock_real;
	st->notify_fd = -1;
	st->fence_fd = -1;
	store_mutex_init();
	st->send_fd = -1;
	pthread_mutex_init(&st->env_lock, NULL);
	pthread_cond_init(&st->watchdog_cond, NULL);
	pthread_mutex_init(&st->deadman_lock, NULL);
	pthread_mutex_init(&st->failchk_lock, NULL);
	pthread_cond_init(&st->deadman_cond, NULL);
	pthread_cond_init(&st->flush_cond, NULL);
	if (sodium_init() == -1) {
		log_warnx("store: libsodium does not initialize");
		ret = STORE_EIO;
		goto fail;
	}
	store_erase_pool_init(st);
	xasprintf(&st->index_path, "%s/index.key", state_dir);
	if (store_mkdir(st->db_dir) == -1 || store_mkdir(st->notify_dir) == -1) {
		ret = STORE_EIO;
		goto fail;
	}
	/* First: joining may wait on a dead process too (open_flags). */
	if (pthread_create(&st->deadman, NULL, store_deadman, st) != 0) {
		log_warnx("store: cannot start the deadman thread");
		ret = STORE_EIO;
		goto fail;
	}
	st->deadman_on = 1;
	if ((ret = store_env_open(st)) != 0)
		goto fail;
	if (pthread_create(&st->watchdog, NULL, store_watchdog, st) != 0) {
		log_warnx("store: cannot start the watchdog thread");
		ret = STORE_EIO;
		goto fail;
	}
	st->watchdog_on = 1;
	if ((ret = store_schema_check(st)) != 0)
		goto fail;
	if (store_notify_init(st) == -1) {
		ret = STORE_EIO;
		goto fail;
	}
	st->last_checkpoint = time(NULL);
	*errp = 0;
	return st;
fail:
	*errp = ret;
	store_close(&st);
	return NULL;
}

void
store_close(struct store **stp)
{
	struct store	*st = *stp;

	if (st == NULL)
		return;
	if (st->watchdog_on) {
		pthread_mutex_lock(&st->env_lock);
		st->watchdog_stop = 1;
		pthread_cond_signal(&st->watchdog_cond);
		pthread_mutex_unlock(&st->env_lock);
		pthread_join(st->watchdog, NULL);
	}
	if (st->deadman_on) {
		pthread_mutex_lock(&st->deadman_lock);
		st->deadman_stop = 1;
		pthread_cond_signal(&st->deadman_cond);
		pthread_mutex_unlock(&st->deadman_lock);
		pthread_join(st->deadman, NULL);
	}
	store_notify_fini(st);
	if (store_fence_marked(st))
		store_env_abandon(st);
	else
		store_env_close(st);
	store_fence_close(st);
	pthread_mutex_destroy(&st->env_lock);
	pthread_cond_destroy(&st->watchdog_cond);
	pthread_mutex_destroy(&st->deadman_lock);
	pthread_mutex_destroy(&st->failchk_lock);
	pthread_cond_destroy(&st->deadman_cond);
	pthread_cond_destroy(&st->flush_cond);
	free(st->state_dir);
	free(st->db_dir);
	free(st->notify_dir);
	free(st->erase_dir);
	free(st->index_path);
	free((char *)(uintptr_t)st->opts.repl_site);
	free((char *)(uintptr_t)st->opts.repl_peers);
	if (st->index_key != NULL)
		sodium_free(st->index_key);
	store_erase_pool_fini(st);
	free(st);
	*stp = NULL;
}

struct store *
store_txn_store(struct store_txn *txn)
{
	return txn->store;
}

time_t
store_txn_now(struct store_txn *txn)
{
	return txn->now;
}

int
store_txn_run(struct store *st, store_txn_fn fn, void *arg)
{
	int	 entered, ret;

	entered = store_busy_enter(st);
	ret = store_txn_run_busy(st, fn, arg, 0, 1);
	store_busy_leave(st, entered);
	return ret;
}

int
store_txn_run_compensate(struct store *st, store_txn_fn fn, void *arg)
{
	int	 entered, ret;

	entered = store_busy_enter(st);
	ret = store_txn_run_busy(st, fn, arg, 0, 0);
	store_busy_leave(st, entered);
	return ret;
}

int
store_txn_run_nosync(struct store *st, store_txn_fn fn, void *arg)
{
	int	 entered, ret;

	entered = store_busy_enter(st);
	/*
	 * WRITE_NOSYNC, not NOSYNC: the record is in the log file (the
	 * kernel's) when the commit returns, so a SIGKILL of this process
	 * loses nothing and a flush by any process of the environment
	 * covers it; only the fdatasync is left to store_log_flush().
	 */
	ret = store_txn_run_busy(st, fn, arg, DB_TXN_WRITE_NOSYNC, 1);
	store_busy_leave(st, entered);
	return ret;
}

int
store_log_flush(struct store *st)
{
	DB_ENV	*env;
	int	 entered, ret;

	/*
	 * The loop's thread may be reopening the environment: take the
	 * handle under env_lock and count ourselves in, so that a reopen
	 * waits for us.  The flush itself runs without the lock, since a
	 * dead process may hold the log's flush mutex for good, and the
	 * watchdog needs env_lock to find that out (store_watchdog).
	 * The busy mark is taken outside the lock: a reopen waits (a
	 * while) for marked threads to leave while it holds it.
	 */
	pthread_mutex_lock(&st->env_lock);
	env = st->env;
	st->flushing++;
	pthread_mutex_unlock(&st->env_lock);
	entered = store_busy_enter(st);
	if (st->log_flush_hook != NULL)
		ret = st->log_flush_hook(st);
	else if (env == NULL)
		ret = STORE_ERECOVER;
	else
		/* NULL: everything written so far, every commit before us. */
		ret = store_db_error("log_flush", env->log_flush(env, NULL));
	store_busy_leave(st, entered);
	pthread_mutex_lock(&st->env_lock);
	if (--st->flushing == 0)
		pthread_cond_broadcast(&st->flush_cond);
	pthread_mutex_unlock(&st->env_lock);
	return ret;
}

int
store_log_flush_recover(struct store *st)
{
	unsigned	 gen;
	int		 entered, ret;

	entered = store_busy_enter(st);
	gen = atomic_load(&st->env_gen);
	if (st->env == NULL)
		ret = STORE_ERECOVER;
	else
		ret = store_db_error("log_flush",
		    st->env->log_flush(st->env, NULL));
	/*
	 * The commits it covers were written to the log file before the
	 * panic: the recovery reads them there, and its checkpoint puts
	 * them on disk; the flush after it confirms.
	 */
	if (ret == STORE_ERECOVER && (ret = store_env_reopen(st, gen)) == 0)
		ret = store_db_error("log_flush",
		    st->env->log_flush(st->env, NULL));
	store_busy_leave(st, entered);
	return ret;
}

/*
 * gated: while the quorum is in doubt (store_repl_doubt), a run that
 * wrote is aborted until a probe is acknowledged; a compensating
 * transaction is not gated, since it must follow the record it undoes
 * into the log whatever the peers do.
 */
static int
store_txn_run_busy(struct store *st, store_txn_fn fn, void *arg,
    u_int32_t commit_flags, int gated)
{
	struct store_txn txn;
	unsigned	 gen;
	int		 ret, attempt, recovered = 0;
	DB_TXN		*tid;

	for (attempt = 0; attempt < STORE_TXN_RETRIES; attempt++) {
		memset(&txn, 0, sizeof(txn));
		txn.store = st;
		txn.now = st->now();
		gen = atomic_load(&st->env_gen);
		if (st->env == NULL || store_fence_marked(st))
			ret = STORE_ERECOVER;
		else if ((ret = st->env->txn_begin(st->env, NULL, &tid, 0)) != 0)
			ret = store_db_error("txn_begin", ret);
		else {
			txn.tid = tid;
			ret = fn(&txn, arg);
			/*
			 * The last commit here went unacknowledged: this
			 * one's record would reach the peers, if it ever
			 * does, after its refusal.  So nothing goes in the
			 * log until a probe of the quorum is acknowledged.
			 */
			if (ret == 0 && gated && txn.wrote &&
			    store_repl_doubt(st)) {
				tid->abort(tid);
				if ((ret = store_repl_probe(st)) == 0)
					continue;
			} else if (ret == 0) {
				/*
				 * The commit flushes the log: this is the
				 * ack (WRITE_NOSYNC: the flush after it).
				 */
				store_repl_commit_begin();
				ret = store_db_error("commit",
				    tid->commit(tid, commit_flags));
				/*
				 * Committed here, but the ack policy was not
				 * met in time: a failover may lose it, so it
				 * is not acknowledged (a retry may store it
				 * twice, as after any failed answer).
				 */
				if (ret == 0 && store_repl_commit_failed()) {
					log_warnx("store: too few replication "
					    "sites acknowledged a commit in "
					    "time");
					store_repl_doubt_set(st);
					return STORE_EUNAVAIL;
				}
				/*
				 * Its record may be on disk all the same: a
				 * retry could store it twice.  Reopen, but
				 * let the caller say that it failed.
				 */
				if (ret == STORE_ERECOVER) {
					(void)store_env_reopen(st, gen);
					return ret;
				}
				if (ret == 0 && st->after_commit != NULL)
					ret = st->after_commit(st);
			} else
				tid->abort(tid);
			if (ret == 0) {
				if (txn.nevents > 0 || txn.events_overflow)
					store_notify_send(st, txn.events,
					    txn.nevents, txn.events_overflow);
				return 0;
			}
		}
		if (ret == STORE_EDEADLOCK) {
			/*
			 * A dead process may hold the lock: failchk frees
			 * its locks and aborts its transactions, or says
			 * that only recovery can (it died inside a mutex).
			 * If another one runs, it does that for us.  EBUSY:
			 * as in the watchdog, its locks are released.
			 */
			ret = 0;
			if (st->env != NULL && store_env_failchk_begin(st,
			    store_env_open_wait(st))) {
				ret = st->env->failchk(st->env, 0);
				store_env_failchk_end(st);
			}
			if (ret != 0 && ret != EBUSY) {
				ret = store_db_error("failchk", ret);
				if (ret == STORE_ERECOVER &&
				    recovered++ < STORE_TXN_REOPENS &&
				    store_env_reopen(st, gen) == 0)
					continue;
				return ret;
			}
			/* Back off a little so the winner can finish. */
			usleep((useconds_t)(1000 * (attempt + 1)));
			continue;
		}
		if (ret == STORE_ERECOVER && recovered++ < STORE_TXN_REOPENS &&
		    (ret = store_env_reopen(st, gen)) == 0)
			continue;
		/* A client rolled back under our handles: open them anew. */
		if (ret == STORE_EUNAVAIL && store_repl_take_dead() &&
		    recovered++ < STORE_TXN_REOPENS &&
		    (ret = store_env_rejoin(st, gen)) == 0)
			continue;
		return ret;
	}
	log_warnx("store: transaction gave up after %d deadlocks", attempt);
	return STORE_EIO;
}

static void
store_count_read(struct store *st)
{
	atomic_fetch_add_explicit(&st->reads, 1, memory_order_relaxed);
}

uint64_t
store_reads(const struct store *st)
{
	return atomic_load_explicit(&st->reads, memory_order_relaxed);
}

static int
store_db_get_flags(struct store_txn *txn, enum store_dbi dbi, const void *key,
    size_t klen, void **valp, size_t *vlenp, u_int32_t flags)
{
	DBT	 k, v;
	int	 ret;

	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	k.data = (void *)(uintptr_t)key;
	k.size = (u_int32_t)klen;
	v.flags = DB_DBT_MALLOC;
	*valp = NULL;
	*vlenp = 0;
	store_count_read(txn->store);
	ret = txn->store->db[dbi]->get(txn->store->db[dbi], txn->tid, &k, &v,
	    flags);
	if (ret != 0)
		return store_db_error(store_db_names[dbi], ret);
	*valp = v.data;
	*vlenp = v.size;
	return STORE_OK;
}

int
store_db_get(struct store_txn *txn, enum store_dbi dbi, const void *key,
    size_t klen, void **valp, size_t *vlenp)
{
	return store_db_get_flags(txn, dbi, key, klen, valp, vlenp, 0);
}

int
store_db_get_rmw(struct store_txn *txn, enum store_dbi dbi, const void *key,
    size_t klen, void **valp, size_t *vlenp)
{
	/* DB_RMW takes the write lock now: no upgrade deadlock later. */
	return store_db_get_flags(txn, dbi, key, klen, valp, vlenp, DB_RMW);
}

static int
store_db_put_flags(struct store_txn *txn, enum store_dbi dbi, const void *key,
    size_t klen, const void *val, size_t vlen, u_int32_t flags)
{
	DBT	 k, v;

	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	k.data = (void *)(uintptr_t)key;
	k.size = (u_int32_t)klen;
	v.data = (void *)(uintptr_t)val;
	v.size = (u_int32_t)vlen;
	txn->wrote = 1;
	return store_db_error(store_db_names[dbi],
	    txn->store->db[dbi]->put(txn->store->db[dbi], txn->tid, &k, &v,
	    flags));
}

int
store_db_put(struct store_txn *txn, enum store_dbi dbi, const void *key,
    size_t klen, const void *val, size_t vlen)
{
	return store_db_put_flags(txn, dbi, key, klen, val, vlen, 0);
}

int
store_db_insert(struct store_txn *txn, enum store_dbi dbi, const void *key,
    size_t klen, const void *val, size_t vlen)
{
	return store_db_put_flags(txn, dbi, key, klen, val, vlen,
	    DB_NOOVERWRITE);
}

int
store_db_del(struct store_txn *txn, enum store_dbi dbi, const void *key,
    size_t klen)
{
	DBT	 k;

	memset(&k, 0, sizeof(k));
	k.data = (void *)(uintptr_t)key;
	k.size = (u_int32_t)klen;
	txn->wrote = 1;
	return store_db_error(store_db_names[dbi],
	    txn->store->db[dbi]->del(txn->store->db[dbi], txn->tid, &k, 0));
}

int
store_db_iter(struct store_txn *txn, enum store_dbi dbi, const void *prefix,
    size_t plen, const void *start, size_t slen,
    int (*fn)(const uint8_t *, size_t, const uint8_t *, size_t, void *),
    void *arg)
{
	DB		*db = txn->store->db[dbi];
	DBC		*cur;
	DBT		 k, v;
	u_int32_t	 op;
	int		 ret, cret;

	if ((ret = db->cursor(db, txn->tid, &cur, 0)) != 0)
		return store_db_error("cursor", ret);
	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	k.flags = DB_DBT_REALLOC;
	v.flags = DB_DBT_REALLOC;
	if (start == NULL) {
		start = prefix;
		slen = plen;
	}
	k.data = xmemdup(start, slen);
	k.size = (u_int32_t)slen;
	op = DB_SET_RANGE;
	for (;;) {
		store_count_read(txn->store);
		ret = cur->get(cur, &k, &v, op);
		op = DB_NEXT;
		if (ret == DB_NOTFOUND) {
			ret = 0;
			break;
		}
		if (ret != 0) {
			ret = store_db_error(store_db_names[dbi], ret);
			break;
		}
		if (k.size < plen || memcmp(k.data, prefix, plen) != 0)
			break;
		ret = fn(k.data, k.size, v.data, v.size, arg);
		if (ret == STORE_ITER_DELETE) {
			txn->wrote = 1;
			if ((ret = cur->del(cur, 0)) != 0) {
				ret = store_db_error(store_db_names[dbi], ret);
				break;
			}
			continue;
		}
		if (ret != 0)
			break;
	}
	free(k.data);
	free(v.data);
	if ((cret = cur->close(cur)) != 0 && ret == 0)
		ret = store_db_error("cursor close", cret);
	return ret;
}

/* The log file that the last backup ended in: older logs are in it. */
static int
store_backup_floor_txn(struct store_txn *txn, void *arg)
{
	uint32_t	*floor = arg;
	void		*val;
	size_t		 vlen;
	int		 ret;

	*floor = 0;
	ret = store_db_get(txn, DBI_META, "backup-log-floor", 16, &val, &vlen);
	if (ret == STORE_ENOTFOUND)
		return 0;
	if (ret != 0)
		return ret;
	if (vlen == 4)
		*floor = unpack_be32(val);
	free(val);
	return 0;
}

static int
store_backup_floor_set_txn(struct store_txn *txn, void *arg)
{
	uint8_t		 v[4];

	pack_be32(v, *(uint32_t *)arg);
	return store_db_put(txn, DBI_META, "backup-log-floor", 16, v, sizeof(v));
}

/*
 * A checkpoint, reopening first if another process recovered the
 * environment: a daemon's maintenance timer may be the first to use a
 * handle gone stale, and it must not fail from then on (store_txn_run()
 * does the same for transactions).
 */
static int
store_checkpoint(struct store *st, u_int32_t flags)
{
	unsigned	 gen = atomic_load(&st->env_gen);
	int		 ret;

	if ((st->env == NULL || store_fence_marked(st)) &&
	    (ret = store_env_reopen(st, gen)) != 0)
		return ret;
	gen = atomic_load(&st->env_gen);
	ret = st->env->txn_checkpoint(st->env, 0, 0, flags);
	if (ret == DB_RUNRECOVERY) {
		if ((ret = store_env_reopen(st, gen)) != 0)
			return ret;
		ret = st->env->txn_checkpoint(st->env, 0, 0, flags);
	}
	return store_db_error("checkpoint", ret);
}

/* "log.0000000012" -> 12; 0 for anything else. */
static uint32_t
store_log_number(const char *path)
{
	const char	*base = strrchr(path, '/');
	uint64_t	 v;

	base = base == NULL ? path : base + 1;
	if (strncmp(base, "log.", 4) != 0 || parse_u64(base + 4, UINT32_MAX,
	    &v) == -1)
		return 0;
	return (uint32_t)v;
}

int
store_maintain(struct store *st, int force)
{
	int	 entered, ret;

	entered = store_busy_enter(st);
	ret = store_maintain_busy(st, force);
	store_busy_leave(st, entered);
	return ret;
}

static int
store_maintain_busy(struct store *st, int force)
{
	char		**list = NULL, **p;
	uint32_t	 floor = 0;
	time_t		 now = time(NULL);
	int		 ret;

	if (!force && now - st->last_checkpoint <
	    (time_t)st->opts.checkpoint_interval)
		return 0;
	st->last_checkpoint = now;
	if ((ret = store_checkpoint(st, 0)) != 0)
		return ret;
	if (st->opts.log_keep_for_backup &&
	    (ret = store_txn_run(st, store_backup_floor_txn, &floor)) != 0)
		return ret;
	/* DB_ARCH_ABS lists the logs that normal recovery no longer needs. */
	if ((ret = st->env->log_archive(st->env, &list, DB_ARCH_ABS)) != 0)
		return store_db_error("log_archive", ret);
	for (p = list; p != NULL && *p != NULL; p++) {
		/*
		 * Catastrophic recovery from the last backup needs every log
		 * written since; without a backup nothing may go.
		 */
		if (st->opts.log_keep_for_backup &&
		    store_log_number(*p) >= floor)
			continue;
		/*
		 * Every process of the environment maintains it (guestbox-
		 * imapd's workers on the same timer): another one may have
		 * removed it first.
		 */
		if (unlink(*p) == 0)
			log_debug("store: removed %s", *p);
		else if (errno == ENOENT)
			log_debug("store: %s removed by another process", *p);
		else
			log_warn("store: removing %s", *p);
	}
	free(list);
	return 0;
}

/*
 * Ends the current log file: a record of guestbox's own type
 * (STORE_LOG_FILLER, which recovery hands to store_log_dispatch) longer
 * than what is left of the file makes Berkeley DB start the next one
 * and put it there.  Then a record as long as the log buffer, whose
 * bytes are kept in a region file (__db.*) and would otherwise keep the
 * last records written, the overwrite's before-image among them.
 */
static int
store_log_fill(struct store *st)
{
	DB_LOG_STAT	*ls;
	DB_LSN		 lsn;
	DBT		 rec;
	uint8_t		*buf;
	size_t		 left, bsize;
	u_int32_t	 type = STORE_LOG_FILLER;
	int		 ret;
	enum store_repl_role role = store_repl_role(st);

	/*
	 * A standby writes no log of its own: the master's fillers reach
	 * it by replication, and its log files end where the master's do.
	 */
	if (role != STORE_REPL_OFF && role != STORE_REPL_MASTER)
		return 0;
	if ((ret = st->env->log_stat(st->env, &ls, 0)) != 0)
		return store_db_error("log_stat", ret);
	left = ls->st_lg_size > ls->st_cur_offset ?
	    ls->st_lg_size - ls->st_cur_offset : 0;
	bsize = ls->st_lg_bsize;
	free(ls);
	/* The first 4 bytes are the type, the next 4 a transaction id 0. */
	if (left < 8)
		left = 8;
	if (bsize < 8)
		bsize = 8;
	buf = xcalloc(1, left > bsize ? left : bsize);
	memcpy(buf, &type, sizeof(type));
	memset(&rec, 0, sizeof(rec));
	rec.data = buf;
	rec.size = (u_int32_t)left;
	ret = st->env->log_put(st->env, &lsn, &rec, 0);
	if (ret == 0) {
		rec.size = (u_int32_t)bsize;
		ret = st->env->log_put(st->env, &lsn, &rec, DB_FLUSH);
	}
	free(buf);
	return store_db_error("log_put", ret);
}

int
store_log_retire(struct store *st)
{
	int	 entered, ret;

	entered = store_busy_enter(st);
	/* The checkpoint puts the zeroed slots in the database files. */
	if ((ret = store_checkpoint(st, DB_FORCE)) == 0 &&
	    (ret = store_log_fill(st)) == 0)
		ret = store_maintain_busy(st, 1);
	store_busy_leave(st, entered);
	return ret;
}

int
store_backup(struct store *st, const char *dir)
{
	DB_ENV		*benv;
	DB_LOG_STAT	*ls;
	uint32_t	 floor;
	int		 ret;

	if (mkdir(dir, 0700) == -1) {
		log_warn("store: backup: mkdir %s", dir);
		return STORE_EIO;
	}
	if ((ret = store_checkpoint(st, DB_FORCE)) != 0)
		return ret;
	/*
	 * A new log file first: every log before it is in the copy, so the
	 * logs kept for this backup hold nothing written before it, such as
	 * the old bytes of erase keys overwritten since the last backup
	 * (store_log_retire, guestbox(7) CRYPTO-SHREDDING).
	 */
	if ((ret = store_log_fill(st)) != 0)
		return ret;
	if ((ret = st->env->log_stat(st->env, &ls, 0)) != 0)
		return store_db_error("log_stat", ret);
	floor = ls->st_cur_file;
	free(ls);
	if ((ret = st->env->backup(st->env, dir, DB_BACKUP_CLEAN)) != 0)
		return store_db_error("backup", ret);
	/*
	 * A hot copy is fuzzy: catastrophic recovery in the copy replays the
	 * copied logs and makes it consistent (what db_hotbackup does).
	 */
	if ((ret = db_env_create(&benv, 0)) != 0)
		return store_db_error("db_env_create", ret);
	benv->set_errcall(benv, store_env_errcall);
	(void)benv->set_app_dispatch(benv, store_log_dispatch);
	ret = benv->open(benv, dir, DB_CREATE | DB_INIT_TXN | DB_INIT_LOCK |
	    DB_INIT_LOG | DB_INIT_MPOOL | DB_PRIVATE | DB_RECOVER_FATAL, 0600);
	benv->close(benv, 0);
	if (ret != 0)
		return store_db_error("recovering the backup", ret);
	/* The erase keys and index key are in the copy: erase-keys.db, meta. */
	/*
	 * Logs before this one are now in a backup and may go.  A standby
	 * cannot write that down (the master keeps its own floor): its
	 * copy is whole all the same (issue 15).
	 */
	ret = store_txn_run(st, store_backup_floor_set_txn, &floor);
	if (ret == STORE_EUNAVAIL) {
		log_info("store: backup from a replication standby: the log "
		    "floor stays the master's");
		ret = 0;
	}
	return ret;
}
