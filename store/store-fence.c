/*
 * store-fence.c: recovery never runs while another process has the
 * environment open.
 *
 * Berkeley DB's recovery removes the regions and rebuilds them from
 * the log, and DB_REGISTER runs it in whichever process opens next after
 * a user died, while the others still work in the old regions.  Berkeley
 * DB says so itself (env/env_register.c: "there can still be processes
 * running in the environment when we recover it"): a process that has
 * passed its panic check goes on writing its log buffer and its dirty
 * pages into the files that the recovery has just truncated and started
 * anew.  tests/lda-kill.test saw exactly that: acknowledged LMTP
 * deliveries of guestbox-submitd gone, and messages.db with LSNs past the
 * end of the log.
 *
 * So every handle holds a shared lock on byte 0 of db/fence for as long
 * as it is open, and recovery runs only under the exclusive lock, when
 * no other handle is open anywhere.  Byte 1 is a turnstile: a process
 * that waits to recover holds it exclusively, and openers pass it shared
 * before they take byte 0, so that a stream of short-lived LDAs cannot
 * starve the recovery.  Byte 2 is failchk's: whoever runs failchk holds
 * it exclusively, so that only one runs at a time in the environment
 * (store-env.c, store_env_failchk_begin).  The locks are open file description
 * locks (F_OFD_SETLK): one per handle, not per process, and a process
 * that dies drops them with its descriptors.
 *
 * Waits are polled against a deadline, never unbounded: a process that
 * cannot get a lock in time says so and fails with STORE_ERECOVER.
 */
#include "config.h"

#include <errno.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "pack.h"
#include "store-private.h"
#include "util.h"
#include "xmalloc.h"

/* Between two tries of a lock someone else holds (microseconds). */
#define STORE_FENCE_POLL_US	5000

static int	store_fence_lock(int, short, off_t, uint64_t);
static void	store_fence_note(struct store *);

/*
 * The fence of the handle opened last, and its recovery count: where
 * store_fence_mark() says that this environment needs recovery.
 */
static atomic_int	store_fence_mark_fd = -1;
static atomic_uint	store_fence_mark_gen;

int
store_fence_open(struct store *st)
{
	char	*path;

	if (st->fence_fd != -1)
		return 0;
	xasprintf(&path, "%s/fence", st->db_dir);
	st->fence_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (st->fence_fd == -1) {
		log_warn("store: %s", path);
		free(path);
		return STORE_EIO;
	}
	free(path);
	return 0;
}

void
store_fence_close(struct store *st)
{
	if (st->fence_fd != -1 && atomic_load(&store_fence_mark_fd) ==
	    st->fence_fd)
		atomic_store(&store_fence_mark_fd, -1);
	if (st->fence_fd != -1)
		close(st->fence_fd);
	st->fence_fd = -1;
	st->fence_held = STORE_FENCE_NONE;
}

/*
 * type (F_RDLCK, F_WRLCK, F_UNLCK) on byte pos, trying until deadline
 * (time_mono_ms(); 0: once).  Returns 0, or -1 with errno (EAGAIN: held
 * by another until the deadline).
 */
static int
store_fence_lock(int fd, short type, off_t pos, uint64_t deadline)
{
	struct flock	 fl;

	for (;;) {
		memset(&fl, 0, sizeof(fl));
		fl.l_type = type;
		fl.l_whence = SEEK_SET;
		fl.l_start = pos;
		fl.l_len = 1;
		if (fcntl(fd, F_OFD_SETLK, &fl) == 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EACCES)
			return -1;
		if (time_mono_ms() >= deadline) {
			errno = EAGAIN;
			return -1;
		}
		usleep(STORE_FENCE_POLL_US);
	}
}

int
store_fence_alone(struct store *st)
{
	if (store_fence_lock(st->fence_fd, F_WRLCK, 1, 0) == -1)
		return 0;
	if (store_fence_lock(st->fence_fd, F_WRLCK, 0, 0) == -1) {
		(void)store_fence_lock(st->fence_fd, F_UNLCK, 1, 0);
		return 0;
	}
	st->fence_held = STORE_FENCE_EXCLUSIVE;
	return 1;
}

int
store_fence_shared(struct store *st, uint64_t deadline)
{
	int	 ret = 0;

	/* Through the turnstile: nobody is waiting to recover. */
	if (store_fence_lock(st->fence_fd, F_RDLCK, 1, deadline) == -1) {
		log_warnx("store: the environment is being recovered; gave up "
		    "waiting");
		return STORE_ERECOVER;
	}
	/* Nobody holds byte 0 exclusively without byte 1: no wait here. */
	if (store_fence_lock(st->fence_fd, F_RDLCK, 0, deadline) == -1) {
		log_warn("store: fence");
		ret = STORE_ERECOVER;
	} else {
		st->fence_held = STORE_FENCE_SHARED;
		store_fence_note(st);
	}
	(void)store_fence_lock(st->fence_fd, F_UNLCK, 1, 0);
	return ret;
}

/*
 * The number of recoveries so far, in the file's first four bytes: read
 * under one of the locks, so that it cannot change meanwhile.
 */
uint32_t
store_fence_gen(struct store *st)
{
	uint8_t	 b[4];

	if (pread(st->fence_fd, b, sizeof(b), 0) != (ssize_t)sizeof(b))
		return 0;
	return unpack_be32(b);
}

/* Under the exclusive lock, once a recovery is done. */
void
store_fence_bump(struct store *st)
{
	uint8_t	 b[4];

	pack_be32(b, store_fence_gen(st) + 1);
	if (pwrite(st->fence_fd, b, sizeof(b), 0) != (ssize_t)sizeof(b))
		log_warn("store: fence");
	store_fence_note(st);
}

static void
store_fence_note(struct store *st)
{
	st->fence_gen = store_fence_gen(st);
	atomic_store(&store_fence_mark_gen, st->fence_gen);
	atomic_store(&store_fence_mark_fd, st->fence_fd);
}

/*
 * A thread of ours waits on a mutex that a dead process holds: nobody
 * can work in this environment any more, nor close a handle of it, and
 * the next opener must not try to join it (it would wait on the same
 * mutex) but recover.  Says so in bytes 4-7 of the fence (the count of
 * the environment, plus one), before the process leaves.  Async-signal
 * safe.
 */
void
store_fence_mark(void)
{
	uint8_t	 b[4];
	int	 fd = atomic_load(&store_fence_mark_fd);

	if (fd == -1)
		return;
	pack_be32(b, atomic_load(&store_fence_mark_gen) + 1);
	if (pwrite(fd, b, sizeof(b), 4) != (ssize_t)sizeof(b))
		return;	/* the next opener's failchk says it */
}

int
store_fence_marked(struct store *st)
{
	uint8_t	 b[4];

	if (st->fence_fd == -1 || pread(st->fence_fd, b, sizeof(b), 4) !=
	    (ssize_t)sizeof(b))
		return 0;
	return unpack_be32(b) == st->fence_gen + 1;
}

int
store_fence_exclusive(struct store *st, uint64_t deadline, uint32_t seen)
{
	uint64_t	 t0 = time_mono_ms();

	store_fence_release(st);
	if (store_fence_lock(st->fence_fd, F_WRLCK, 1, deadline) == -1) {
		log_warnx("store: another process is recovering the "
		    "environment; gave up waiting");
		return STORE_ERECOVER;
	}
	/*
	 * Another process recovered while we waited for the turnstile:
	 * join what it made (nobody holds byte 0 exclusively now).
	 */
	if (store_fence_gen(st) != seen) {
		if (store_fence_lock(st->fence_fd, F_RDLCK, 0, deadline) == -1) {
			(void)store_fence_lock(st->fence_fd, F_UNLCK, 1, 0);
			log_warn("store: fence");
			return STORE_ERECOVER;
		}
		(void)store_fence_lock(st->fence_fd, F_UNLCK, 1, 0);
		st->fence_held = STORE_FENCE_SHARED;
		store_fence_note(st);
		return 1;
	}
	if (store_fence_lock(st->fence_fd, F_WRLCK, 0, deadline) == -1) {
		(void)store_fence_lock(st->fence_fd, F_UNLCK, 1, 0);
		log_warnx("store: waited %.1f s for the other processes to "
		    "close the environment; not recovering it now",
		    (double)(time_mono_ms() - t0) / 1000);
		return STORE_ERECOVER;
	}
	st->fence_held = STORE_FENCE_EXCLUSIVE;
	if (time_mono_ms() - t0 >= 1000)
		log_info("store: waited %.1f s for the other processes to "
		    "close the environment", (double)(time_mono_ms() - t0) /
		    1000);
	return 0;
}

/* Exclusive to shared, atomically; then through the turnstile again. */
void
store_fence_downgrade(struct store *st)
{
	if (st->fence_held != STORE_FENCE_EXCLUSIVE)
		return;
	if (store_fence_lock(st->fence_fd, F_RDLCK, 0, 0) == -1)
		fatal("store: fence: downgrading a lock");
	(void)store_fence_lock(st->fence_fd, F_UNLCK, 1, 0);
	st->fence_held = STORE_FENCE_SHARED;
}

/*
 * Byte 2, exclusively: this handle's turn to run failchk, polled until
 * deadline (0: one try).  0, or -1 if another handle held it until then.
 * Not a lock among the threads of this handle (store_env_failchk_begin).
 */
int
store_fence_failchk_lock(struct store *st, uint64_t deadline)
{
	if (st->fence_fd == -1)
		return -1;
	return store_fence_lock(st->fence_fd, F_WRLCK, 2, deadline);
}

void
store_fence_failchk_unlock(struct store *st)
{
	if (st->fence_fd != -1)
		(void)store_fence_lock(st->fence_fd, F_UNLCK, 2, 0);
}

/* Both bytes, whatever fence_held says: unlocking is idempotent. */
void
store_fence_release(struct store *st)
{
	if (st->fence_fd == -1)
		return;
	(void)store_fence_lock(st->fence_fd, F_UNLCK, 0, 0);
	(void)store_fence_lock(st->fence_fd, F_UNLCK, 1, 0);
	st->fence_held = STORE_FENCE_NONE;
}
