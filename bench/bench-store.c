/*
 * bench-store: durable appends through libstore directly.
 *
 * Usage: bench-store DIR [N [SIZE]]
 * Appends N messages of SIZE bytes (default 2000 of 10 KiB), one
 * synchronous transaction each, to a fresh state directory DIR, then
 * prints messages per second and bytes on disk per message (database
 * files, and log files separately).  Then queues N outbound entries of
 * SIZE bytes for two recipients (one transaction each, as a submission
 * does), reads each back as the relay does, and looks the account up by
 * address N times: the queue is sealed under the account's erase key and
 * the account record too, so these show what that costs.
 */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "log.h"
#include "store.h"
#include "util.h"
#include "xmalloc.h"

struct bench {
	uint64_t		 id;
	uint32_t		 inbox;
	const struct store_blob	*blob;
	struct vault_seckey	*sk;
};

static int
bench_setup(struct store_txn *txn, void *arg)
{
	struct bench			*b = arg;
	struct store_account		 a;
	struct store_mailbox		 m;
	struct store_mailbox_names	 names = { "Sent", "Drafts", "Trash",
					    "Archive", "Junk" };
	int				 ret;

	memset(&a, 0, sizeof(a));
	memset(&m, 0, sizeof(m));
	a.address = xstrdup("bench@example.org");
	a.state = STORE_ACCT_ACTIVE;
	ret = store_account_create(txn, &a, NULL, &names, &b->sk);
	b->id = a.id;
	store_account_clear(&a);
	if (ret == 0 && (ret = store_mailbox_find(txn, b->id, "INBOX", &m)) == 0)
		b->inbox = m.id;
	store_mailbox_clear(&m);
	return ret;
}

static int
bench_append(struct store_txn *txn, void *arg)
{
	struct bench	*b = arg;

	return store_msg_append(txn, b->id, b->inbox, b->blob, 0, 0, 0, NULL);
}

struct bench_q {
	struct bench	*b;
	const char	*data;
	size_t		 len;
	uint64_t	 id;
};

static int
bench_queue_put(struct store_txn *txn, void *arg)
{
	struct bench_q		*q = arg;
	struct store_queue_entry e;
	int			 ret;

	memset(&e, 0, sizeof(e));
	e.account_id = q->b->id;
	e.mail_from = xstrdup("bench@example.org");
	e.message_id = xstrdup("<bench@example.org>");
	e.last_error = xstrdup("");
	e.rcpts = xcalloc(2, sizeof(*e.rcpts));
	e.nrcpts = 2;
	e.rcpts[0].address = xstrdup("one@home.example");
	e.rcpts[0].reply = xstrdup("");
	e.rcpts[1].address = xstrdup("two@home.example");
	e.rcpts[1].reply = xstrdup("");
	ret = store_queue_put(txn, &e, q->data, q->len);
	q->id = e.id;
	store_queue_entry_clear(&e);
	return ret;
}

static int
bench_queue_read(struct store_txn *txn, void *arg)
{
	struct bench_q		*q = arg;
	struct store_queue_entry e;
	uint8_t			*data;
	size_t			 len;
	int			 ret;

	memset(&e, 0, sizeof(e));
	if ((ret = store_queue_get(txn, q->id, &e)) == 0 &&
	    (ret = store_queue_data(txn, q->id, &data, &len)) == 0)
		free(data);
	store_queue_entry_clear(&e);
	return ret;
}

static int
bench_find(struct store_txn *txn, void *arg)
{
	struct store_account	 a;
	int			 ret;

	memset(&a, 0, sizeof(a));
	ret = store_account_find(txn, "bench@example.org", &a);
	store_account_clear(&a);
	return ret;
}

static double
bench_since(const struct timespec *t0)
{
	struct timespec	 t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) +
	    (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static void
bench_du(const char *dir, unsigned long long *db, unsigned long long *logs)
{
	DIR		*d;
	struct dirent	*de;
	struct stat	 st;
	char		*path;

	*db = *logs = 0;
	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		xasprintf(&path, "%s/%s", dir, de->d_name);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			if (strncmp(de->d_name, "log.", 4) == 0)
				*logs += (unsigned long long)st.st_blocks * 512;
			else if (strncmp(de->d_name, "__db", 4) != 0)
				*db += (unsigned long long)st.st_blocks * 512;
		}
		free(path);
	}
	closedir(d);
}

int
main(int argc, char *argv[])
{
	struct store_options	 so = { 64 << 20, 300, 0, 0 };
	struct store		*st;
	struct bench		 b;
	struct timespec		 t0, t1;
	unsigned long long	 db, logs;
	char			*msg, *dbdir;
	size_t			 n = 2000, size = 10240, i;
	double			 secs;
	int			 ret;

	if (argc < 2) {
		fprintf(stderr, "usage: bench-store DIR [N [SIZE]]\n");
		return 64;
	}
	if (argc > 2)
		n = strtoul(argv[2], NULL, 10);
	if (argc > 3)
		size = strtoul(argv[3], NULL, 10);
	log_init("bench-store", 1, 0);
	if (vault_init() == -1 || mkdir(argv[1], 0700) == -1) {
		perror(argv[1]);
		return 1;
	}
	if ((st = store_open(argv[1], &so, &ret)) == NULL)
		fatalx("store_open: %s", store_strerror(ret));
	memset(&b, 0, sizeof(b));
	if ((ret = store_txn_run(st, bench_setup, &b)) != 0)
		fatalx("setup: %s", store_strerror(ret));
	msg = xmalloc(size);
	for (i = 0; i < size; i++)
		msg[i] = (i % 78 == 77) ? '\n' : (char)('a' + i % 26);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < n; i++) {
		/* Sealing is part of every delivery: measure it too. */
		struct store_blob *blob = store_blob_seal(b.id, b.sk->pk, msg,
		    size, NULL, 0);

		b.blob = blob;
		if ((ret = store_txn_run(st, bench_append, &b)) != 0)
			fatalx("append: %s", store_strerror(ret));
		store_blob_free(&blob);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	{
		struct bench_q	 q = { &b, msg, size, 0 };
		uint64_t	 first = 0;
		double		 qs, rs, fs;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (i = 0; i < n; i++) {
			if ((ret = store_txn_run(st, bench_queue_put, &q)) != 0)
				fatalx("queue put: %s", store_strerror(ret));
			if (i == 0)
				first = q.id;
		}
		qs = bench_since(&t0);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (i = 0; i < n; i++) {
			q.id = first + i;
			if ((ret = store_txn_run(st, bench_queue_read, &q)) != 0)
				fatalx("queue read: %s", store_strerror(ret));
		}
		rs = bench_since(&t0);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (i = 0; i < n; i++)
			if ((ret = store_txn_run(st, bench_find, NULL)) != 0)
				fatalx("find: %s", store_strerror(ret));
		fs = bench_since(&t0);
		printf("queue: %zu durable puts of %zu bytes: %.0f/s; reads "
		    "(entry and data): %.0f/s; account lookups by address: "
		    "%.0f/s\n", n, size, (double)n / qs, (double)n / rs,
		    (double)n / fs);
	}
	store_maintain(st, 1);
	store_close(&st);
	xasprintf(&dbdir, "%s/db", argv[1]);
	bench_du(dbdir, &db, &logs);
	printf("library: %zu durable appends of %zu bytes in %.2f s: %.0f/s\n",
	    n, size, secs, (double)n / secs);
	printf("disk: %.0f bytes of database per message, %.0f bytes of log "
	    "per message (plaintext %zu)\n", (double)db / (double)n,
	    (double)logs / (double)n, size);
	free(dbdir);
	free(msg);
	vault_seckey_free(&b.sk);
	return 0;
}
