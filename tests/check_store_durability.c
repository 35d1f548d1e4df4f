/*
 * check_store_durability.c: unit tests of libstore (store/store.h):
 * durability: concurrent writers, kills, recovery, backups.
 *
 * The durability tests fork: Berkeley DB handles must not cross fork(),
 * so each process opens its own store, and a store is never open twice
 * in one process (each handle holds its own lock on db/fence).  Child
 * processes report through their exit status, never through Check.
 * The fixtures are in check-store-util.c.
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <db.h>
#include <sodium.h>

#include "log.h"
#include "store.h"
#include "store-private.h"	/* white-box: raw records for tamper tests */
#include "xmalloc.h"
#include "check-store-util.h"
#include "check-util.h"

Suite	*store_durability_suite(void);

/* ================================================================ */
/* Durability                                                         */
/* ================================================================ */

/* The content of message i of writer w: the reader can rebuild it. */
static size_t
durable_text(char *buf, size_t len, const char *who, int i)
{
	return (size_t)snprintf(buf, len, "From: %s\r\nSubject: %d\r\n\r\n"
	    "message %d of %s\r\n", who, i, i, who);
}

/* A child process: append n messages; exit 0 or the failing step. */
static void __attribute__((noreturn))
child_writer(const char *who, const struct acct *ac, int n, int waitfd)
{
	struct store	*s;
	char		 text[256], c;
	size_t		 len;
	int		 err, i, ret;

	/* Both start together, so that they really contend. */
	if (waitfd != -1 && read(waitfd, &c, 1) != 1)
		_exit(10);
	if ((s = store_open(statedir, &opts, &err)) == NULL)
		_exit(11);
	for (i = 0; i < n; i++) {
		len = durable_text(text, sizeof(text), who, i);
		if ((ret = try_append(s, ac, ac->inbox, text, len, 0, 0,
		    NULL)) != 0) {
			fprintf(stderr, "%s: append %d: %s\n", who, i,
			    store_strerror(ret));
			_exit(12);
		}
	}
	store_close(&s);
	_exit(0);
}

static void
wait_ok(pid_t pid)
{
	int	 status;

	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "child %ld: status %#x", (long)pid, status);
}

/* Which writer and number a message's text names; -1 if none. */
static int
durable_parse(const uint8_t *data, size_t len, char *who, size_t wholen)
{
	char	 buf[256], w[64], *body;
	int	 i;

	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, data, len);
	buf[len] = '\0';
	if (sscanf(buf, "From: %63s", w) != 1)
		return -1;
	if ((body = strstr(buf, "\r\n\r\n")) == NULL ||
	    sscanf(body + 4, "message %d of", &i) != 1)
		return -1;
	if (len != durable_text(buf, sizeof(buf), w, i))
		return -1;
	if (memcmp(buf, data, len) != 0)
		return -1;
	snprintf(who, wholen, "%s", w);
	return i;
}

START_TEST(test_concurrent_appends)
{
	struct acct		 ac;
	struct store_mailbox	 m;
	struct msglist		 ml;
	uint8_t			*data, seen[2][200];
	char			 who[64];
	size_t			 len, i;
	pid_t			 pa, pb;
	int			 go[2], n;

	acct_create(st, "busy@example.org", &ac);
	/* Neither child may inherit an open environment. */
	store_close(&st);
	ck_assert_int_eq(pipe(go), 0);
	if ((pa = fork()) == 0) {
		close(go[1]);
		child_writer("a", &ac, 200, go[0]);
	}
	ck_assert_int_ne(pa, -1);
	if ((pb = fork()) == 0) {
		close(go[1]);
		child_writer("b", &ac, 200, go[0]);
	}
	ck_assert_int_ne(pb, -1);
	close(go[0]);
	ck_assert_int_eq(write(go[1], "gg", 2), 2);
	close(go[1]);
	wait_ok(pa);
	wait_ok(pb);

	st = open_store(statedir);
	mbox_get(ac.id, ac.inbox, &m);
	ck_assert_uint_eq(m.messages, 400);
	ck_assert_uint_eq(m.uidnext, 401);
	store_mailbox_clear(&m);
	ml = msg_list(st, ac.id, ac.inbox);
	ck_assert_uint_eq(ml.n, 400);
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < ml.n; i++) {
		/* UIDs 1..400, each once, ascending. */
		ck_assert_uint_eq(ml.v[i].uid, i + 1);
		ck_assert_int_eq(try_read(st, ac.sk, ml.v[i].blob_id, &data,
		    &len), 0);
		n = durable_parse(data, len, who, sizeof(who));
		free(data);
		ck_assert_int_ge(n, 0);
		ck_assert_int_lt(n, 200);
		ck_assert(strcmp(who, "a") == 0 || strcmp(who, "b") == 0);
		ck_assert_msg(!seen[who[0] - 'a'][n], "%s %d twice", who, n);
		seen[who[0] - 'a'][n] = 1;
	}
	free(ml.v);
	for (n = 0; n < 200; n++)
		ck_assert(seen[0][n] && seen[1][n]);
	check_clean(st);
	acct_free(&ac);
}
END_TEST

struct mixed_arg {
	const struct acct	*ac;
	uint32_t		 archive;
	int			 op;
	uint32_t		 uid;
	int			 i;
	const char		*who;
};

/* One step of a writer that does a bit of everything. */
static int
mixed_txn(struct store_txn *txn, void *arg)
{
	struct mixed_arg	*ma = arg;
	struct store_mailbox	 m;
	struct store_blob	*b;
	unsigned		 bit;
	uint32_t		 newuid;
	char			 text[128];
	int			 ret;

	switch (ma->op) {
	case 0:
		snprintf(text, sizeof(text), "Subject: %s %d\r\n\r\nx\r\n",
		    ma->who, ma->i);
		b = store_blob_seal(ma->ac->id, ma->ac->sk->pk, text,
		    strlen(text), text, strlen(text));
		ret = store_msg_append(txn, ma->ac->id, ma->ac->inbox, b, 0, 0,
		    0, NULL);
		store_blob_free(&b);
		return ret;
	case 1:
		return store_msg_store(txn, ma->ac->id, ma->ac->inbox, ma->uid,
		    STORE_F_SEEN | (ma->i & STORE_F_FLAGGED), 1, 0, NULL);
	case 2:
		return store_msg_copy(txn, ma->ac->id, ma->ac->inbox, ma->uid,
		    ma->archive, &newuid);
	case 3:
		return store_msg_expunge(txn, ma->ac->id, ma->ac->inbox, ma->uid);
	default:
		memset(&m, 0, sizeof(m));
		if ((ret = store_mailbox_get(txn, ma->ac->id, ma->ac->inbox,
		    &m)) == 0) {
			snprintf(text, sizeof(text), "%s-%d", ma->who, ma->i % 8);
			ret = store_mailbox_keyword(txn, &m, text, 1, &bit);
		}
		store_mailbox_clear(&m);
		return ret;
	}
}

static void __attribute__((noreturn))
child_mixed(const char *who, const struct acct *ac, uint32_t archive, int n,
    int waitfd)
{
	struct store		*s;
	struct mixed_arg	 ma;
	char			 c;
	int			 err, i, ret;

	if (read(waitfd, &c, 1) != 1)
		_exit(10);
	if ((s = store_open(statedir, &opts, &err)) == NULL)
		_exit(11);
	for (i = 0; i < n; i++) {
		memset(&ma, 0, sizeof(ma));
		ma.ac = ac;
		ma.archive = archive;
		ma.who = who;
		ma.i = i;
		ma.op = i % 5;
		/* Both writers aim at the same, low UIDs. */
		ma.uid = (uint32_t)(i / 2 + 1);
		ret = store_txn_run(s, mixed_txn, &ma);
		if (ret != 0 && ret != STORE_ENOTFOUND) {
			fprintf(stderr, "%s: step %d (op %d): %s\n", who, i,
			    ma.op, store_strerror(ret));
			_exit(12);
		}
	}
	store_close(&s);
	_exit(0);
}

START_TEST(test_concurrent_mixed)
{
	struct acct		 ac;
	struct store_mailbox	 m;
	uint32_t		 archive;
	pid_t			 pa, pb;
	int			 go[2];

	acct_create(st, "mixed@example.org", &ac);
	ck_assert_int_eq(mbox_find(ac.id, "Archiv", &archive), 0);
	store_close(&st);
	ck_assert_int_eq(pipe(go), 0);
	if ((pa = fork()) == 0) {
		close(go[1]);
		child_mixed("a", &ac, archive, 300, go[0]);
	}
	ck_assert_int_ne(pa, -1);
	if ((pb = fork()) == 0) {
		close(go[1]);
		child_mixed("b", &ac, archive, 300, go[0]);
	}
	ck_assert_int_ne(pb, -1);
	close(go[0]);
	ck_assert_int_eq(write(go[1], "gg", 2), 2);
	close(go[1]);
	wait_ok(pa);
	wait_ok(pb);

	/* Counters, MODSEQs, change records and refcounts all agree. */
	st = open_store(statedir);
	check_clean(st);
	mbox_get(ac.id, ac.inbox, &m);
	ck_assert_uint_eq(m.uidnext, 121);
	ck_assert_uint_le(m.nkeywords, 16);
	ck_assert_uint_gt(m.nkeywords, 0);
	store_mailbox_clear(&m);
	acct_free(&ac);
}
END_TEST

struct hang_arg {
	const struct acct	*ac;
	const struct store_blob	*blob;
	int			 fd;
};

/* Appends, tells the parent, and never returns: killed mid-transaction. */
static int
hang_txn(struct store_txn *txn, void *arg)
{
	struct hang_arg	*ha = arg;
	int		 ret;

	ret = store_msg_append(txn, ha->ac->id, ha->ac->inbox, ha->blob, 0, 0,
	    0, NULL);
	if (ret != 0)
		_exit(20);
	if (write(ha->fd, "!", 1) != 1)
		_exit(21);
	for (;;)
		pause();
}

static void __attribute__((noreturn))
child_hang(const struct acct *ac, int ncommitted, int fd)
{
	struct store		*s;
	struct store_blob	*b;
	struct hang_arg		 ha;
	char			 text[256];
	size_t			 len;
	int			 err, i;

	if ((s = store_open(statedir, &opts, &err)) == NULL)
		_exit(11);
	for (i = 0; i < ncommitted; i++) {
		len = durable_text(text, sizeof(text), "child", i);
		if (try_append(s, ac, ac->inbox, text, len, 0, 0, NULL) != 0)
			_exit(12);
	}
	len = durable_text(text, sizeof(text), "aborted", 0);
	b = store_blob_seal(ac->id, ac->sk->pk, text, len, NULL, 0);
	ha.ac = ac;
	ha.blob = b;
	ha.fd = fd;
	store_txn_run(s, hang_txn, &ha);
	_exit(22);
}

/*
 * A child appends ncommitted messages, then is killed with SIGKILL inside
 * its next transaction, holding its locks.
 */
static void
kill_in_txn(const struct acct *ac, int ncommitted)
{
	pid_t	 pid;
	int	 fds[2], status;
	char	 c;

	ck_assert_int_eq(pipe(fds), 0);
	if ((pid = fork()) == 0) {
		close(fds[0]);
		child_hang(ac, ncommitted, fds[1]);
	}
	ck_assert_int_ne(pid, -1);
	close(fds[1]);
	ck_assert_int_eq(read(fds[0], &c, 1), 1);
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	close(fds[0]);
}

/* The parent's messages first .. first + n - 1, committed through st. */
static void
append_parent(const struct acct *ac, int first, int n)
{
	char	 text[256];
	size_t	 len;
	int	 i;

	for (i = first; i < first + n; i++) {
		len = durable_text(text, sizeof(text), "parent", i);
		ck_assert_int_eq(try_append(st, ac, ac->inbox, text, len, 0, 0,
		    NULL), 0);
	}
}

/* Runs store_open (which recovers) in another process and closes it. */
static void
recover_elsewhere(void)
{
	struct store	*s;
	pid_t		 pid;
	int		 err;

	if ((pid = fork()) == 0) {
		if ((s = store_open(statedir, &opts, &err)) == NULL)
			_exit(11);
		store_close(&s);
		_exit(0);
	}
	ck_assert_int_ne(pid, -1);
	wait_ok(pid);
}

/*
 * write(2) and pwrite(2) of libdb reach these first, as its
 * pthread_mutex_lock reaches store-mutex.c.  Armed, the first write to a
 * log file runs log_write_hook before it goes through: a commit that
 * has passed every check of Berkeley DB's and is about to put its
 * record on disk.
 */
ssize_t		 write(int, const void *, size_t);
ssize_t		 pwrite(int, const void *, size_t, off_t);
static void	(*log_write_hook)(void);
static atomic_int log_write_armed;

static int
fd_is_log(int fd)
{
	char	 link[64], path[PATH_MAX];
	ssize_t	 n;
	char	*base;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if ((n = readlink(link, path, sizeof(path) - 1)) <= 0)
		return 0;
	path[n] = '\0';
	base = strrchr(path, '/');
	return base != NULL && strncmp(base + 1, "log.", 4) == 0;
}

static void
log_write_check(int fd)
{
	if (atomic_load(&log_write_armed) && fd_is_log(fd) &&
	    atomic_exchange(&log_write_armed, 0))
		log_write_hook();
}

ssize_t
write(int fd, const void *buf, size_t n)
{
	log_write_check(fd);
	return syscall(SYS_write, fd, buf, n);
}

ssize_t
pwrite(int fd, const void *buf, size_t n, off_t off)
{
	log_write_check(fd);
	return syscall(SYS_pwrite64, fd, buf, n, off);
}

/* How many messages of who, number i, the mailbox holds. */
static int
count_text(struct store *s, const struct acct *ac, const char *who, int i)
{
	struct msglist	 ml;
	uint8_t		*data;
	char		 w[64];
	size_t		 len, k;
	int		 n = 0;

	ml = msg_list(s, ac->id, ac->inbox);
	for (k = 0; k < ml.n; k++) {
		ck_assert_int_eq(try_read(s, ac->sk, ml.v[k].blob_id, &data,
		    &len), 0);
		if (durable_parse(data, len, w, sizeof(w)) == i &&
		    strcmp(w, who) == 0)
			n++;
		free(data);
	}
	free(ml.v);
	return n;
}

static int	fence_go = -1, fence_done = -1;

/* Lets the recoverer in, and gives it 2 s to finish first. */
static void
fence_hook(void)
{
	struct pollfd	 pfd = { .fd = fence_done, .events = POLLIN };

	if (syscall(SYS_write, fence_go, "g", 1) != 1)
		abort();
	(void)poll(&pfd, 1, 2000);
}

/*
 * A process that finds the environment in need of recovery (one died
 * inside a transaction) opens it while another is inside a commit, past
 * Berkeley DB's panic checks, about to write its log record.  Recovering
 * then would truncate the log under that record and write its own
 * there; the commit would return 0 all the same (tests/lda-kill.test
 * lost acknowledged LMTP deliveries so).  The recovery must wait until
 * the committing process has closed its handle (store-fence.c): every
 * commit that returned 0, on both sides, is there afterwards, once.
 */
START_TEST(test_recover_waits_for_commit)
{
	struct acct	 ac;
	char		 text[256], c;
	size_t		 len;
	pid_t		 rpid;
	int		 go[2], done[2], err, ret;
	struct store	*s;

	acct_create(st, "fence@example.org", &ac);
	len = durable_text(text, sizeof(text), "parent", 0);
	ck_assert_int_eq(try_append(st, &ac, ac.inbox, text, len, 0, 0, NULL),
	    0);
	kill_in_txn(&ac, 0);

	ck_assert_int_eq(pipe(go), 0);
	ck_assert_int_eq(pipe(done), 0);
	if ((rpid = fork()) == 0) {
		close(go[1]);
		close(done[0]);
		if (read(go[0], &c, 1) != 1)
			_exit(10);
		if ((s = store_open(statedir, &opts, &err)) == NULL)
			_exit(11);
		len = durable_text(text, sizeof(text), "child", 0);
		if (try_append(s, &ac, ac.inbox, text, len, 0, 0, NULL) != 0)
			_exit(12);
		if (write(done[1], "d", 1) != 1)
			_exit(13);
		store_close(&s);
		_exit(0);
	}
	ck_assert_int_ne(rpid, -1);
	close(go[0]);
	close(done[1]);
	fence_go = go[1];
	fence_done = done[0];
	log_write_hook = fence_hook;
	atomic_store(&log_write_armed, 1);
	len = durable_text(text, sizeof(text), "parent", 1);
	ret = try_append(st, &ac, ac.inbox, text, len, 0, 0, NULL);
	atomic_store(&log_write_armed, 0);
	/* The recoverer cannot finish while our handle is open. */
	store_close(&st);
	wait_ok(rpid);
	close(go[1]);
	close(done[0]);

	st = open_store(statedir);
	ck_assert_int_eq(count_text(st, &ac, "parent", 0), 1);
	ck_assert_int_eq(count_text(st, &ac, "child", 0), 1);
	if (ret == 0)
		ck_assert_int_eq(count_text(st, &ac, "parent", 1), 1);
	else
		ck_assert_int_le(count_text(st, &ac, "parent", 1), 1);
	check_clean(st);
	acct_free(&ac);
}
END_TEST

/* Every message is one we committed, readable, each once. */
static void
check_survivors(struct store *s, const struct acct *ac, int nparent,
    int nchild)
{
	struct msglist	 ml;
	uint8_t		*data;
	char		 who[64];
	int		 seenp[16], seenc[16], n;
	size_t		 len, i;

	memset(seenp, 0, sizeof(seenp));
	memset(seenc, 0, sizeof(seenc));
	ml = msg_list(s, ac->id, ac->inbox);
	ck_assert_uint_eq(ml.n, (size_t)(nparent + nchild));
	for (i = 0; i < ml.n; i++) {
		ck_assert_int_eq(try_read(s, ac->sk, ml.v[i].blob_id, &data,
		    &len), 0);
		n = durable_parse(data, len, who, sizeof(who));
		free(data);
		ck_assert_int_ge(n, 0);
		ck_assert_int_lt(n, 16);
		if (strcmp(who, "parent") == 0)
			seenp[n]++;
		else if (strcmp(who, "child") == 0)
			seenc[n]++;
		else
			ck_abort_msg("message of \"%s\" survived", who);
	}
	free(ml.v);
	for (n = 0; n < nparent; n++)
		ck_assert_int_eq(seenp[n], 1);
	for (n = 0; n < nchild; n++)
		ck_assert_int_eq(seenc[n], 1);
}

START_TEST(test_kill_mid_txn)
{
	struct acct	 ac;
	struct store_msg m;
	char		 text[256];
	size_t		 len;

	acct_create(st, "crash@example.org", &ac);
	/* st stays open through all of it: the still-open store. */
	append_parent(&ac, 0, 5);
	kill_in_txn(&ac, 3);

	/*
	 * Another process opens the environment: DB_REGISTER sees the dead
	 * one and recovers.  The parent's handle is stale now and must
	 * reopen by itself in store_txn_run.
	 */
	recover_elsewhere();
	check_survivors(st, &ac, 5, 3);
	/* UIDs: the dead transaction's UID was never committed. */
	len = durable_text(text, sizeof(text), "parent", 5);
	ck_assert_int_eq(try_append(st, &ac, ac.inbox, text, len, 0, 0, &m),
	    0);
	ck_assert_uint_eq(m.uid, 9);
	check_clean(st);
	store_close(&st);

	/* And the parent re-opening sees the same. */
	st = open_store(statedir);
	check_survivors(st, &ac, 6, 3);
	check_clean(st);
	acct_free(&ac);
}
END_TEST

/*
 * The locks of a process killed inside a transaction must not block a
 * process that has the environment open already, even when nobody opens
 * it again (the store's watchdog runs failchk).
 */
START_TEST(test_kill_locks_released)
{
	struct acct	 ac;
	struct store_msg m;
	char		 text[256];
	size_t		 len;

	acct_create(st, "locks@example.org", &ac);
	kill_in_txn(&ac, 0);
	/* The same mailbox the dead transaction had locked: no reopen. */
	len = durable_text(text, sizeof(text), "parent", 0);
	ck_assert_int_eq(try_append(st, &ac, ac.inbox, text, len, 0, 0, &m),
	    0);
	ck_assert_uint_eq(m.uid, 1);
	check_survivors(st, &ac, 1, 0);
	acct_free(&ac);
}
END_TEST

/*
 * failchk runs one at a time in the environment (store-env.c,
 * store_env_failchk_begin): two that cleaned up after the same dead
 * process at once freed its locks twice and corrupted the lock region,
 * and a lock detector then crashed.  While one process has the turn
 * another does not get it, not even by waiting for it; a holder killed
 * in the middle gives it back.
 */
START_TEST(test_failchk_turn)
{
	struct store	*s;
	pid_t		 pid;
	int		 up[2], err, status;
	char		 c;

	ck_assert_int_eq(pipe(up), 0);
	if ((pid = fork()) == 0) {
		close(up[0]);
		if ((s = store_open(statedir, &opts, &err)) == NULL)
			_exit(11);
		if (!store_env_failchk_begin(s, 5000))
			_exit(12);
		if (write(up[1], "t", 1) != 1)
			_exit(13);
		pause();
		_exit(14);
	}
	ck_assert_int_ne(pid, -1);
	close(up[1]);
	ck_assert_int_eq(read(up[0], &c, 1), 1);
	ck_assert_int_eq(store_env_failchk_begin(st, 0), 0);
	ck_assert_int_eq(store_env_failchk_begin(st, 300), 0);
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	ck_assert_int_eq(store_env_failchk_begin(st, 5000), 1);
	store_env_failchk_end(st);
	close(up[0]);
}
END_TEST

/*
 * Several processes join at once after a kill inside a transaction:
 * each runs failchk at its open, so all of them see the same dead
 * process.  Each then runs the lock detector, which crashed on the lock
 * region that two failchk at once left; all must exit 0, and the store
 * must still work and be clean.
 */
#define FAILCHK_JOINERS	4
#define FAILCHK_ROUNDS	5

START_TEST(test_failchk_joiners)
{
	struct acct	 ac;
	struct store	*s;
	pid_t		 pids[FAILCHK_JOINERS];
	int		 go[2], err, i, round;
	char		 c;

	acct_create(st, "joiners@example.org", &ac);
	for (round = 0; round < FAILCHK_ROUNDS; round++) {
		append_parent(&ac, round, 1);
		kill_in_txn(&ac, 0);
		ck_assert_int_eq(pipe(go), 0);
		for (i = 0; i < FAILCHK_JOINERS; i++) {
			if ((pids[i] = fork()) == 0) {
				close(go[1]);
				if (read(go[0], &c, 1) != 0)
					_exit(10);
				if ((s = store_open(statedir, &opts, &err)) ==
				    NULL)
					_exit(11);
				if (s->env->lock_detect(s->env, 0,
				    DB_LOCK_DEFAULT, NULL) != 0)
					_exit(12);
				store_close(&s);
				_exit(0);
			}
			ck_assert_int_ne(pids[i], -1);
		}
		/* All at once: closing the pipe wakes every one. */
		close(go[0]);
		close(go[1]);
		for (i = 0; i < FAILCHK_JOINERS; i++)
			wait_ok(pids[i]);
	}
	append_parent(&ac, FAILCHK_ROUNDS, 1);
	check_survivors(st, &ac, FAILCHK_ROUNDS + 1, 0);
	check_clean(st);
	acct_free(&ac);
}
END_TEST

/* A daemon's maintenance timer may be the first to meet a stale handle. */
START_TEST(test_maintain_after_recovery)
{
	struct acct	 ac;
	char		 dir[PATH_MAX + 8], db[PATH_MAX + 16];

	acct_create(st, "timer@example.org", &ac);
	append_parent(&ac, 0, 1);
	kill_in_txn(&ac, 1);
	recover_elsewhere();
	ck_assert_int_eq(store_maintain(st, 1), 0);
	check_survivors(st, &ac, 1, 1);

	/* The same for a backup. */
	kill_in_txn(&ac, 0);
	recover_elsewhere();
	snprintf(dir, sizeof(dir), "%s.after", statedir);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	snprintf(db, sizeof(db), "%s/db", dir);
	ck_assert_int_eq(store_backup(st, db), 0);
	check_util_rm_rf(dir);
	check_survivors(st, &ac, 1, 1);
	check_clean(st);
	acct_free(&ac);
}
END_TEST

/*
 * The recovering process stays: it keeps the environment open and writes
 * while the parent's stale handle reopens and joins it.
 */
START_TEST(test_kill_recoverer_stays)
{
	struct acct	 ac;
	struct store	*s;
	char		 text[256], c;
	size_t		 len;
	pid_t		 rpid;
	int		 up[2], down[2], err;

	acct_create(st, "crash3@example.org", &ac);
	append_parent(&ac, 0, 3);
	kill_in_txn(&ac, 2);

	ck_assert_int_eq(pipe(up), 0);
	ck_assert_int_eq(pipe(down), 0);
	if ((rpid = fork()) == 0) {
		close(up[0]);
		close(down[1]);
		if ((s = store_open(statedir, &opts, &err)) == NULL)
			_exit(11);
		/* Recovered and open: let the parent in, then write. */
		if (write(up[1], "r", 1) != 1 || read(down[0], &c, 1) != 1)
			_exit(13);
		len = durable_text(text, sizeof(text), "child", 2);
		if (try_append(s, &ac, ac.inbox, text, len, 0, 0, NULL) != 0)
			_exit(12);
		store_close(&s);
		_exit(0);
	}
	ck_assert_int_ne(rpid, -1);
	close(up[1]);
	close(down[0]);
	ck_assert_int_eq(read(up[0], &c, 1), 1);
	/* The stale handle reopens next to the live recoverer. */
	check_survivors(st, &ac, 3, 2);
	len = durable_text(text, sizeof(text), "parent", 3);
	ck_assert_int_eq(try_append(st, &ac, ac.inbox, text, len, 0, 0, NULL),
	    0);
	ck_assert_int_eq(write(down[1], "g", 1), 1);
	close(up[0]);
	close(down[1]);
	wait_ok(rpid);
	check_survivors(st, &ac, 4, 3);
	check_clean(st);
	acct_free(&ac);
}
END_TEST

/*
 * Waits on Berkeley DB's mutexes (store-mutex.c): a process-shared mutex
 * in a file named like a region, mapped shared, as Berkeley DB's are.
 */
static pthread_mutex_t *
region_mutex(char *path, size_t size)
{
	pthread_mutexattr_t	 attr;
	pthread_mutex_t		*m;
	int			 fd;

	ck_assert_int_lt(snprintf(path, size, "%s/__db.099", statedir),
	    (int)size);
	ck_assert_int_ne(fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600), -1);
	ck_assert_int_eq(ftruncate(fd, 4096), 0);
	m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ck_assert_ptr_ne(m, MAP_FAILED);
	close(fd);
	ck_assert_int_eq(pthread_mutexattr_init(&attr), 0);
	ck_assert_int_eq(pthread_mutexattr_setpshared(&attr,
	    PTHREAD_PROCESS_SHARED), 0);
	ck_assert_int_eq(pthread_mutex_init(m, &attr), 0);
	pthread_mutexattr_destroy(&attr);
	return m;
}

/* A child that takes m, says so and waits to be killed. */
static pid_t
mutex_holder(pthread_mutex_t *m)
{
	pid_t	 pid;
	char	 c;
	int	 fds[2];

	ck_assert_int_eq(pipe(fds), 0);
	if ((pid = fork()) == 0) {
		if (pthread_mutex_lock(m) != 0 || write(fds[1], "x", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	ck_assert_int_ne(pid, -1);
	close(fds[1]);
	ck_assert_int_eq(read(fds[0], &c, 1), 1);
	close(fds[0]);
	return pid;
}

static double
secs_since(const struct timespec *t0)
{
	struct timespec	 t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) +
	    (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/*
 * The holder died: nobody will release the mutex, and the recovery waits
 * for this process to close the environment (store-fence.c), so the
 * waiter leaves (EX_TEMPFAIL) for a restart after one slice of waiting
 * rather than hang for good; a region removed under a waiter the same.
 */
START_TEST(test_mutex_dead_holder)
{
	struct timespec	 t0;
	pthread_mutex_t	*m;
	char		 path[PATH_MAX];
	pid_t		 pid, waiter;
	int		 status, removed;

	for (removed = 0; removed < 2; removed++) {
		m = region_mutex(path, sizeof(path));
		pid = mutex_holder(m);
		if (removed)
			ck_assert_int_eq(unlink(path), 0);
		else {
			ck_assert_int_eq(kill(pid, SIGKILL), 0);
			ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		}
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if ((waiter = fork()) == 0) {
			(void)pthread_mutex_lock(m);
			_exit(0);
		}
		ck_assert_int_ne(waiter, -1);
		while (waitpid(waiter, &status, WNOHANG) == 0 &&
		    secs_since(&t0) < 5.0)
			usleep(50 * 1000);
		ck_assert_double_lt(secs_since(&t0), 2.0);
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 75);
		if (removed) {
			ck_assert_int_eq(kill(pid, SIGKILL), 0);
			ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		}
		munmap(m, 4096);
	}
}
END_TEST

/* A live holder is waited for, however long: the lock is then ours. */
START_TEST(test_mutex_live_holder)
{
	pthread_mutex_t	*m;
	char		 path[PATH_MAX];
	pid_t		 pid;
	int		 fds[2], status;
	char		 c;

	m = region_mutex(path, sizeof(path));
	ck_assert_int_eq(pipe(fds), 0);
	if ((pid = fork()) == 0) {
		if (pthread_mutex_lock(m) != 0 || write(fds[1], "x", 1) != 1)
			_exit(1);
		usleep(1500 * 1000);	/* three slices */
		pthread_mutex_unlock(m);
		_exit(0);
	}
	ck_assert_int_ne(pid, -1);
	close(fds[1]);
	ck_assert_int_eq(read(fds[0], &c, 1), 1);
	close(fds[0]);
	ck_assert_int_eq(pthread_mutex_lock(m), 0);
	ck_assert_int_eq(pthread_mutex_unlock(m), 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	munmap(m, 4096);
	unlink(path);
}
END_TEST

START_TEST(test_kill_reopen)
{
	struct acct	 ac;

	acct_create(st, "crash2@example.org", &ac);
	append_parent(&ac, 0, 2);
	/* Here nobody has the environment open when the child dies. */
	store_close(&st);
	kill_in_txn(&ac, 4);
	st = open_store(statedir);
	check_survivors(st, &ac, 2, 4);
	check_clean(st);
	acct_free(&ac);
}
END_TEST

/* ================================================================ */
/* Backup                                                             */
/* ================================================================ */

START_TEST(test_backup)
{
	struct acct		 ac;
	struct store		*bk;
	struct store_msg	 m[3], late;
	struct msglist		 ml;
	char			 dir[PATH_MAX + 8], db[PATH_MAX + 16];
	uint8_t			*data;
	size_t			 len;

	acct_create(st, "safe@example.org", &ac);
	m[0] = append_str(&ac, ac.inbox, "first", 0);
	m[1] = append_str(&ac, ac.inbox, "second", STORE_F_SEEN);
	m[2] = append_str(&ac, ac.inbox, "third", 0);
	ck_assert_int_eq(msg_expunge(ac.id, ac.inbox, m[1].uid), 0);

	/* As `guestbox-provision backup DIR` does it: DIR/db. */
	snprintf(dir, sizeof(dir), "%s.backup", statedir);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	snprintf(db, sizeof(db), "%s/db", dir);
	ck_assert_int_eq(store_backup(st, db), 0);
	/* A second backup into the same place is refused. */
	ck_assert_int_ne(store_backup(st, db), 0);
	/* What happens after the backup is not in it. */
	late = append_str(&ac, ac.inbox, "late", 0);
	ck_assert_uint_eq(late.uid, 4);

	/* The copy is a state directory of its own. */
	bk = open_store(dir);
	ml = msg_list(bk, ac.id, ac.inbox);
	ck_assert_uint_eq(ml.n, 2);
	ck_assert_uint_eq(ml.v[0].uid, m[0].uid);
	ck_assert_uint_eq(ml.v[1].uid, m[2].uid);
	free(ml.v);
	check_content(bk, ac.sk, m[0].blob_id, "first", 5);
	check_content(bk, ac.sk, m[2].blob_id, "third", 5);
	ck_assert_int_eq(try_read(bk, ac.sk, late.blob_id, &data, &len),
	    STORE_ENOTFOUND);
	ck_assert_int_eq(store_check(bk, check_problem, NULL), 0);
	store_close(&bk);
	/* The source goes on. */
	check_content(st, ac.sk, late.blob_id, "late", 4);
	check_clean(st);
	check_util_rm_rf(dir);
	acct_free(&ac);
}
END_TEST

static int
log_exists(uint32_t n)
{
	char		 path[PATH_MAX + 32];
	struct stat	 sb;

	snprintf(path, sizeof(path), "%s/db/log.%010u", statedir, n);
	return stat(path, &sb) == 0;
}

/* Appends n messages of 64 KiB, content numbered from first. */
static void
append_big(const struct acct *ac, int first, int n)
{
	uint8_t	*buf;
	int	 i;

	buf = xmalloc(VAULT_CHUNK);
	for (i = first; i < first + n; i++) {
		fill_pattern(buf, VAULT_CHUNK, (uint32_t)i);
		ck_assert_int_eq(try_append(st, ac, ac->inbox, buf, VAULT_CHUNK,
		    0, 0, NULL), 0);
	}
	free(buf);
}

/* Every message of the INBOX is message uid - 1 of append_big. */
static void
check_big(struct store *s, const struct acct *ac, size_t want)
{
	struct msglist	 ml;
	uint8_t		*buf;
	size_t		 i;

	buf = xmalloc(VAULT_CHUNK);
	ml = msg_list(s, ac->id, ac->inbox);
	ck_assert_uint_eq(ml.n, want);
	for (i = 0; i < ml.n; i++) {
		fill_pattern(buf, VAULT_CHUNK, ml.v[i].uid - 1);
		check_content(s, ac->sk, ml.v[i].blob_id, buf, VAULT_CHUNK);
	}
	free(ml.v);
	free(buf);
}

START_TEST(test_backup_log_floor)
{
	struct acct	 ac;
	struct store	*bk;
	char		 dir[2][PATH_MAX + 8], db[2 * PATH_MAX + 32];
	int		 i;

	store_close(&st);
	opts.log_keep_for_backup = 1;
	st = open_store(statedir);
	acct_create(st, "floor@example.org", &ac);
	/* Past the first 10 MiB log file. */
	append_big(&ac, 0, 200);
	ck_assert(log_exists(2));
	/* No backup yet: catastrophic recovery needs every log. */
	ck_assert_int_eq(store_maintain(st, 1), 0);
	ck_assert(log_exists(1));
	for (i = 0; i < 2; i++) {
		snprintf(dir[i], sizeof(dir[i]), "%s.b%d", statedir, i);
		ck_assert_int_eq(mkdir(dir[i], 0700), 0);
		snprintf(db, sizeof(db), "%s/db", dir[i]);
		ck_assert_int_eq(store_backup(st, db), 0);
		/* What the backup holds may go now. */
		ck_assert_int_eq(store_maintain(st, 1), 0);
		ck_assert(!log_exists(1));
		append_big(&ac, 200 + 200 * i, 200);
	}
	/* A backup made after logs were removed opens as well. */
	for (i = 0; i < 2; i++) {
		bk = open_store(dir[i]);
		check_big(bk, &ac, 200 + 200 * (size_t)i);
		ck_assert_int_eq(store_check(bk, check_problem, NULL), 0);
		store_close(&bk);
		check_util_rm_rf(dir[i]);
	}
	check_big(st, &ac, 600);
	acct_free(&ac);
}
END_TEST

/*
 * An environment whose regions an older guestbox made (without the
 * thread table failchk needs) opens all the same: they are rebuilt.
 */
START_TEST(test_old_regions)
{
	DB_ENV		*env;
	char		 dir[PATH_MAX + 8], db[PATH_MAX + 16];
	struct store	*s;
	int		 err;

	store_close(&st);
	snprintf(dir, sizeof(dir), "%s.old", statedir);
	snprintf(db, sizeof(db), "%s/db", dir);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	ck_assert_int_eq(mkdir(db, 0700), 0);
	ck_assert_int_eq(db_env_create(&env, 0), 0);
	ck_assert_int_eq(env->open(env, db, DB_CREATE | DB_INIT_TXN |
	    DB_INIT_LOCK | DB_INIT_LOG | DB_INIT_MPOOL | DB_THREAD, 0600), 0);
	ck_assert_int_eq(env->close(env, 0), 0);
	s = store_open(dir, &opts, &err);
	ck_assert_ptr_nonnull(s);
	store_close(&s);
	st = open_store(statedir);
}
END_TEST

START_TEST(test_maintain_no_backup)
{
	struct acct	 ac;

	/* Without log_keep_for_backup, logs go once a checkpoint passed. */
	acct_create(st, "nolog@example.org", &ac);
	append_big(&ac, 0, 200);
	ck_assert(log_exists(1));
	ck_assert(log_exists(2));
	ck_assert_int_eq(store_maintain(st, 1), 0);
	ck_assert(!log_exists(1));
	ck_assert(log_exists(2));
	check_big(st, &ac, 200);
	/* Reopened without the first log: recovery needs none of it. */
	store_close(&st);
	st = open_store(statedir);
	check_big(st, &ac, 200);
	check_clean(st);
	acct_free(&ac);
}
END_TEST

/* Writes n messages of 8 KiB; tells fd after the first 20. */
static void __attribute__((noreturn))
child_big_writer(const struct acct *ac, int n, int fd)
{
	struct store	*s;
	uint8_t		 buf[8192];
	int		 err, i;

	if ((s = store_open(statedir, &opts, &err)) == NULL)
		_exit(11);
	for (i = 0; i < n; i++) {
		fill_pattern(buf, sizeof(buf), (uint32_t)i);
		if (try_append(s, ac, ac->inbox, buf, sizeof(buf), 0, 0,
		    NULL) != 0)
			_exit(12);
		if (i == 20 && write(fd, "!", 1) != 1)
			_exit(13);
	}
	store_close(&s);
	_exit(0);
}

START_TEST(test_backup_hot)
{
	struct acct	 ac;
	struct store	*bk;
	struct msglist	 ml;
	char		 dir[PATH_MAX + 8], db[PATH_MAX + 16], c;
	uint8_t		 buf[8192];
	size_t		 i;
	pid_t		 pid;
	int		 fds[2];

	acct_create(st, "hot@example.org", &ac);
	store_close(&st);
	ck_assert_int_eq(pipe(fds), 0);
	if ((pid = fork()) == 0) {
		close(fds[0]);
		child_big_writer(&ac, 400, fds[1]);
	}
	ck_assert_int_ne(pid, -1);
	close(fds[1]);
	st = open_store(statedir);
	ck_assert_int_eq(read(fds[0], &c, 1), 1);
	close(fds[0]);
	/* While the writer goes on. */
	snprintf(dir, sizeof(dir), "%s.hot", statedir);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	snprintf(db, sizeof(db), "%s/db", dir);
	ck_assert_int_eq(store_backup(st, db), 0);
	wait_ok(pid);

	/* Whatever it caught, it caught whole. */
	bk = open_store(dir);
	ml = msg_list(bk, ac.id, ac.inbox);
	ck_assert_uint_ge(ml.n, 21);
	ck_assert_uint_le(ml.n, 400);
	for (i = 0; i < ml.n; i++) {
		ck_assert_uint_eq(ml.v[i].uid, i + 1);
		fill_pattern(buf, sizeof(buf), (uint32_t)i);
		check_content(bk, ac.sk, ml.v[i].blob_id, buf, sizeof(buf));
	}
	free(ml.v);
	ck_assert_int_eq(store_check(bk, check_problem, NULL), 0);
	store_close(&bk);
	check_util_rm_rf(dir);
	check_clean(st);
	acct_free(&ac);
}
END_TEST

START_TEST(test_maintain)
{
	struct acct	 ac;
	int		 i;

	acct_create(st, "logs@example.org", &ac);
	for (i = 0; i < 20; i++)
		append_str(&ac, ac.inbox, "x", 0);
	ck_assert_int_eq(store_maintain(st, 0), 0);
	ck_assert_int_eq(store_maintain(st, 1), 0);
	append_str(&ac, ac.inbox, "after", 0);
	check_clean(st);
	acct_free(&ac);
}
END_TEST

Suite *
store_durability_suite(void)
{
	Suite	*s = suite_create("store_durability");
	TCase	*tc;

	tc = check_store_tcase(s, "durability", 300);
	tcase_add_test(tc, test_concurrent_appends);
	tcase_add_test(tc, test_concurrent_mixed);
	tcase_add_test(tc, test_kill_mid_txn);
	tcase_add_test(tc, test_kill_locks_released);
	tcase_add_test(tc, test_failchk_turn);
	tcase_add_test(tc, test_failchk_joiners);
	tcase_add_test(tc, test_kill_reopen);
	tcase_add_test(tc, test_kill_recoverer_stays);
	tcase_add_test(tc, test_recover_waits_for_commit);
	tcase_add_test(tc, test_mutex_dead_holder);
	tcase_add_test(tc, test_mutex_live_holder);
	tcase_add_test(tc, test_maintain_after_recovery);
	tcase_add_test(tc, test_maintain);
	tcase_add_test(tc, test_backup);
	tcase_add_test(tc, test_backup_log_floor);
	tcase_add_test(tc, test_maintain_no_backup);
	tcase_add_test(tc, test_old_regions);
	tcase_add_test(tc, test_backup_hot);

	return s;
}

int
main(void)
{
	return check_store_main("check_store_durability", store_durability_suite());
}
