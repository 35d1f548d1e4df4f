/*
 * check_group_commit.c: daemon/group-commit.c on a real store: no
 * waiter is answered before a log flush that began after its commit has
 * ended, one flush answers many, and a failed flush is what they hear
 * (LMTP then answers 451 4.3.0, not 250: submitd/lmtp.c).
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <pthread.h>
#include <ftw.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <event2/event.h>

#include "group-commit.h"
#include "log.h"
#include "store.h"
#include "store-private.h"	/* white-box: the flush hook */

#define NWAITERS	8

static char			 tmproot[] = "/tmp/check_group_commit.XXXXXX";
static char			 statedir[PATH_MAX];
static struct store		*st;
static struct event_base	*base;
static struct group_commit	*gc;

/* Flushes begun and ended (the flusher thread's). */
static atomic_int		 flush_started, flush_ended;
static int			 flush_result;

struct waiter {
	int	 started_at_wait;	/* flushes begun when it waited */
	int	 answered;
	int	 ret;
	int	 covered;		/* a flush begun after it had ended */
};

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	if (remove(path) == -1 && errno != ENOENT)
		fprintf(stderr, "remove %s: %s\n", path, strerror(errno));
	return 0;
}

/* In the flusher thread, in place of DB_ENV->log_flush. */
static int
flush_hook(struct store *s)
{
	int	 ret;

	atomic_fetch_add(&flush_started, 1);
	/* Long enough for the loop to take more waiters meanwhile. */
	usleep(20000);
	ret = flush_result;
	if (ret == 0)
		ret = store_db_error("log_flush", s->env->log_flush(s->env,
		    NULL));
	atomic_fetch_add(&flush_ended, 1);
	return ret;
}

static void
setup(void)
{
	struct store_options	 opts;
	int			 err = 0;

	snprintf(statedir, sizeof(statedir), "%s/state.XXXXXX", tmproot);
	ck_assert_ptr_nonnull(mkdtemp(statedir));
	memset(&opts, 0, sizeof(opts));
	opts.cache_size = 1024 * 1024;
	opts.checkpoint_interval = 300;
	st = store_open(statedir, &opts, &err);
	ck_assert_msg(st != NULL, "store_open: %s", store_strerror(err));
	st->log_flush_hook = flush_hook;
	atomic_store(&flush_started, 0);
	atomic_store(&flush_ended, 0);
	flush_result = 0;
	base = event_base_new();
	gc = group_commit_new(base, st);
}

static void
teardown(void)
{
	group_commit_free(&gc);
	event_base_free(base);
	store_close(&st);
	nftw(statedir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int
put_txn(struct store_txn *txn, void *arg)
{
	int	*i = arg;
	char	 key[32];

	snprintf(key, sizeof(key), "group-commit-%d", *i);
	return store_db_put(txn, DBI_META, key, strlen(key), "x", 1);
}

static void
waiter_done(int ret, void *arg)
{
	struct waiter	*w = arg;

	w->answered++;
	w->ret = ret;
	/* The flush numbered started_at_wait + 1 began after the wait. */
	w->covered = atomic_load(&flush_ended) >= w->started_at_wait + 1;
}

static struct group_commit_waiter *
waiter_add(struct waiter *w, int i)
{
	ck_assert_int_eq(store_txn_run_nosync(st, put_txn, &i), 0);
	w->started_at_wait = atomic_load(&flush_started);
	return group_commit_wait(gc, waiter_done, w);
}

static int
all_answered(const struct waiter *w, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (w[i].answered == 0)
			return 0;
	return 1;
}

static void
loop_until_answered(const struct waiter *w, size_t n)
{
	int	 turns;

	for (turns = 0; turns < 1000 && !all_answered(w, n); turns++)
		event_base_loop(base, EVLOOP_ONCE);
	ck_assert(all_answered(w, n));
}

START_TEST(test_answer_after_flush)
{
	struct waiter	 w[NWAITERS];
	size_t		 i;

	memset(w, 0, sizeof(w));
	for (i = 0; i < NWAITERS; i++) {
		(void)waiter_add(&w[i], (int)i);
		/* Nothing answers on the spot, before any flush ended. */
		ck_assert_int_eq(w[i].answered, 0);
		/* The loop turns meanwhile: some waiters come mid-flush. */
		if (i % 3 == 2)
			event_base_loop(base, EVLOOP_NONBLOCK);
	}
	loop_until_answered(w, NWAITERS);
	for (i = 0; i < NWAITERS; i++) {
		ck_assert_int_eq(w[i].answered, 1);
		ck_assert_int_eq(w[i].ret, 0);
		ck_assert_msg(w[i].covered, "waiter %zu answered before a "
		    "flush that began after its commit had ended", i);
	}
	/* Grouped: fewer flushes than commits. */
	ck_assert_int_lt(atomic_load(&flush_ended), NWAITERS);
	ck_assert_int_ge(atomic_load(&flush_ended), 1);
}
END_TEST

START_TEST(test_flush_fails)
{
	struct waiter	 w[3];
	size_t		 i;

	memset(w, 0, sizeof(w));
	flush_result = STORE_EIO;
	for (i = 0; i < 3; i++)
		(void)waiter_add(&w[i], (int)i);
	loop_until_answered(w, 3);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(w[i].ret, STORE_EIO);
	/* The next flush works again, and its waiters hear so. */
	flush_result = 0;
	memset(w, 0, sizeof(w));
	(void)waiter_add(&w[0], 10);
	loop_until_answered(w, 1);
	ck_assert_int_eq(w[0].ret, 0);
	ck_assert(w[0].covered);
}
END_TEST

/*
 * A flush that meets a panicked environment (another process died) is
 * retried on the loop after recovery: commits in the log file are kept
 * by recovery, so they are answered with success, not refused.
 */
START_TEST(test_flush_recover)
{
	struct waiter	 w;

	memset(&w, 0, sizeof(w));
	flush_result = STORE_ERECOVER;
	(void)waiter_add(&w, 0);
	loop_until_answered(&w, 1);
	ck_assert_int_eq(w.ret, 0);
}
END_TEST

/* Without the hook: the real DB_ENV->log_flush, and a real delivery. */
START_TEST(test_real_flush)
{
	struct waiter	 w;
	int		 i = 1;

	st->log_flush_hook = NULL;
	memset(&w, 0, sizeof(w));
	ck_assert_int_eq(store_txn_run_nosync(st, put_txn, &i), 0);
	group_commit_wait(gc, waiter_done, &w);
	loop_until_answered(&w, 1);
	ck_assert_int_eq(w.ret, 0);
	ck_assert_int_eq(store_log_flush(st), 0);
}
END_TEST

/* In place of a flush stuck on a mutex that a dead process holds. */
static atomic_int	 stuck_release;

static int
stuck_hook(struct store *s)
{
	(void)s;
	atomic_fetch_add(&flush_started, 1);
	while (!atomic_load(&stuck_release))
		usleep(1000);
	atomic_fetch_add(&flush_ended, 1);
	return 0;
}

/* w waits for a flush that is now running, stuck until stuck_release. */
static void
stuck_flush_begin(struct waiter *w)
{
	int	 i;

	memset(w, 0, sizeof(*w));
	atomic_store(&stuck_release, 0);
	st->log_flush_hook = stuck_hook;
	(void)waiter_add(w, 0);
	for (i = 0; i < 2000 && atomic_load(&flush_started) == 0; i++)
		usleep(1000);
	ck_assert_int_eq(atomic_load(&flush_started), 1);
}

/*
 * A flush that never comes back must leave env_lock free: the watchdog
 * takes it to run failchk, which is how a daemon finds out that a dead
 * process holds the log's flush mutex and leaves to be restarted.
 */
START_TEST(test_stuck_flush_frees_env_lock)
{
	struct waiter	 w;
	struct timespec	 ts;
	int		 ret;

	stuck_flush_begin(&w);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 2;
	ret = pthread_mutex_timedlock(&st->env_lock, &ts);
	ck_assert_msg(ret == 0, "env_lock is held during the flush");
	pthread_mutex_unlock(&st->env_lock);
	ck_assert_int_eq(w.answered, 0);
	atomic_store(&stuck_release, 1);
	loop_until_answered(&w, 1);
	ck_assert_int_eq(w.ret, 0);
}
END_TEST

static atomic_int	 reopen_done;

/* Once: the environment "panicked" after this commit; reopen it. */
static int
panic_once(struct store *s)
{
	s->after_commit = NULL;
	return STORE_ERECOVER;
}

static void *
reopen_thread(void *arg)
{
	int	 i = 99;

	*(int *)arg = store_txn_run(st, put_txn, &i);
	atomic_store(&reopen_done, 1);
	return NULL;
}

/*
 * A reopen on the loop never closes the handle a flush is using: it
 * waits for the flush, or (a thread still inside Berkeley DB after
 * store_env_others_leave's wait) gives up with STORE_ERECOVER and
 * leaves the handle as it is, for the watchdog to retry.
 */
START_TEST(test_reopen_waits_for_flush)
{
	struct waiter	 w;
	pthread_t	 t;
	unsigned	 gen = atomic_load(&st->env_gen);
	int		 i, ret = -1;

	atomic_store(&reopen_done, 0);
	stuck_flush_begin(&w);
	st->after_commit = panic_once;
	ck_assert_int_eq(pthread_create(&t, NULL, reopen_thread, &ret), 0);
	/* Longer than a reopen waits for busy threads (unmap_stale). */
	for (i = 0; i < 300 && !atomic_load(&reopen_done); i++) {
		ck_assert_msg(atomic_load(&st->env_gen) == gen, "the "
		    "environment was reopened under a running flush");
		usleep(10000);
	}
	ck_assert_msg(atomic_load(&st->env_gen) == gen, "the environment "
	    "was reopened under a running flush");
	atomic_store(&stuck_release, 1);
	pthread_join(t, NULL);
	ck_assert_msg(ret == 0 || ret == STORE_ERECOVER, "commit: %d", ret);
	loop_until_answered(&w, 1);
	ck_assert_int_eq(w.ret, 0);
}
END_TEST

/* A cancelled waiter (its session went away) is never called. */
START_TEST(test_cancel)
{
	struct waiter			 w[3];
	struct group_commit_waiter	*gw;

	memset(w, 0, sizeof(w));
	(void)waiter_add(&w[0], 0);
	gw = waiter_add(&w[1], 1);
	(void)waiter_add(&w[2], 2);
	group_commit_cancel(&gw);
	ck_assert_ptr_null(gw);
	loop_until_answered(&w[2], 1);
	loop_until_answered(&w[0], 1);
	ck_assert_int_eq(w[1].answered, 0);
	ck_assert_int_eq(w[2].ret, 0);
}
END_TEST

static struct waiter	 late;

/* An answer that writes again at once (a pipelined command). */
static void
waiter_again(int ret, void *arg)
{
	waiter_done(ret, arg);
	(void)group_commit_wait(gc, waiter_done, &late);
}

/* A wait that comes while group_commit_free() answers hears an error. */
START_TEST(test_wait_during_free)
{
	struct waiter	 w;

	memset(&w, 0, sizeof(w));
	memset(&late, 0, sizeof(late));
	ck_assert_int_eq(store_txn_run_nosync(st, put_txn, &(int){ 5 }), 0);
	(void)group_commit_wait(gc, waiter_again, &w);
	group_commit_free(&gc);
	ck_assert_int_eq(w.answered, 1);
	ck_assert_int_eq(late.answered, 1);
	ck_assert_int_eq(late.ret, STORE_EIO);
}
END_TEST

/* Shutting down with waiters: they hear an error, never a success. */
START_TEST(test_free_with_waiters)
{
	struct waiter	 w[2];

	memset(w, 0, sizeof(w));
	(void)waiter_add(&w[0], 0);
	(void)waiter_add(&w[1], 1);
	group_commit_free(&gc);
	ck_assert_int_eq(w[0].answered, 1);
	ck_assert_int_eq(w[1].answered, 1);
	/* w[0]'s flush ran; w[1] waited for the next, which never came. */
	ck_assert_int_eq(w[1].ret, STORE_EIO);
}
END_TEST

static Suite *
group_commit_suite(void)
{
	Suite	*s = suite_create("group_commit");
	TCase	*tc = tcase_create("flush");

	tcase_add_checked_fixture(tc, setup, teardown);
	/* A loaded machine; one test waits 3 s on purpose. */
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_answer_after_flush);
	tcase_add_test(tc, test_flush_fails);
	tcase_add_test(tc, test_flush_recover);
	tcase_add_test(tc, test_real_flush);
	tcase_add_test(tc, test_cancel);
	tcase_add_test(tc, test_free_with_waiters);
	tcase_add_test(tc, test_wait_during_free);
	tcase_add_test(tc, test_stuck_flush_frees_env_lock);
	tcase_add_test(tc, test_reopen_waits_for_flush);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	log_init("check_group_commit", 1, 0);
	if (mkdtemp(tmproot) == NULL) {
		perror("mkdtemp");
		return EXIT_FAILURE;
	}
	sr = srunner_create(group_commit_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	nftw(tmproot, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
