/*
 * gb-fill: fills a mailbox with many messages fast, through libstore,
 * for tests and benchmarks of large mailboxes (issue 18).
 *
 * Usage: gb-fill CONFIG ADDRESS MAILBOX N UNSEEN FILE...
 * Appends N messages to MAILBOX of the account ADDRESS (the mailbox is
 * created if it is missing): the FILEs sealed one each (a delivery's
 * cost, with the MIME cache), then copies of them, which share the
 * sealed content as COPY does, in transactions of FILL_BATCH.  All but
 * the last UNSEEN messages are \Seen.  Prints "ok N" (the messages the
 * mailbox holds afterwards).
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "gb-open.h"
#include "log.h"
#include "mime-seal.h"
#include "store.h"
#include "xmalloc.h"

#define FILL_BATCH	1000

struct fill {
	const char		*address;
	const char		*mailbox;
	uint64_t		 account_id;
	uint8_t			 pk[32];
	uint32_t		 mailbox_id;
	/* Sealed before the transaction (store.h: retries repeat no crypto). */
	struct store_blob	*blob;
	uint32_t		 flags;
	/* Copies: of src_uid, n of them. */
	uint32_t		 src_uid;
	uint32_t		 n;
	uint32_t		 messages;
};

static int
fill_find(struct store_txn *txn, void *arg)
{
	struct fill		*f = arg;
	struct store_account	 a;
	struct store_mailbox	 mb;
	int			 ret;

	memset(&a, 0, sizeof(a));
	memset(&mb, 0, sizeof(mb));
	if ((ret = store_account_find(txn, f->address, &a)) != 0)
		return ret;
	f->account_id = a.id;
	memcpy(f->pk, a.pk, sizeof(f->pk));
	store_account_clear(&a);
	ret = store_mailbox_find(txn, f->account_id, f->mailbox, &mb);
	if (ret == STORE_ENOTFOUND)
		ret = store_mailbox_create(txn, f->account_id, f->mailbox, 0, &mb);
	f->mailbox_id = mb.id;
	f->messages = mb.messages;
	store_mailbox_clear(&mb);
	return ret;
}

static int
fill_append(struct store_txn *txn, void *arg)
{
	struct fill		*f = arg;
	struct store_msg	 m;
	int			 ret;

	if ((ret = store_msg_append(txn, f->account_id, f->mailbox_id, f->blob,
	    f->flags, 0, 0, &m)) == 0)
		f->src_uid = m.uid;
	return ret;
}

static int
fill_copy(struct store_txn *txn, void *arg)
{
	struct fill	*f = arg;
	uint32_t	 i, uid;
	int		 ret;

	for (i = 0; i < f->n; i++)
		if ((ret = store_msg_copy(txn, f->account_id, f->mailbox_id,
		    f->src_uid, f->mailbox_id, &uid)) != 0)
			return ret;
	return 0;
}

static int
fill_number(const char *s, uint32_t min, uint32_t max, uint32_t *vp)
{
	unsigned long	 v;
	char		*end;

	v = strtoul(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v < min || v > max)
		return -1;
	*vp = (uint32_t)v;
	return 0;
}

static uint8_t *
fill_read(const char *path, size_t *lenp)
{
	uint8_t	*buf = NULL;
	size_t	 len = 0;
	ssize_t	 n;
	int	 fd;

	if ((fd = open(path, O_RDONLY)) == -1)
		return NULL;
	buf = xmalloc(1 << 20);
	while (len < (1 << 20) && (n = read(fd, buf + len, (1 << 20) - len)) > 0)
		len += (size_t)n;
	close(fd);
	*lenp = len;
	return buf;
}

/* One file sealed and appended; then n - 1 copies of it. */
static int
fill_one(struct store *st, struct fill *f, const char *path, uint32_t n,
    uint32_t flags)
{
	uint8_t		*data;
	size_t		 len;
	uint32_t	 left;
	int		 ret;

	if ((data = fill_read(path, &len)) == NULL) {
		fprintf(stderr, "gb-fill: cannot read %s\n", path);
		return STORE_EIO;
	}
	f->blob = mime_seal(f->account_id, f->pk, data, len);
	free(data);
	f->flags = flags;
	ret = store_txn_run(st, fill_append, f);
	store_blob_free(&f->blob);
	for (left = n - 1; ret == 0 && left > 0; left -= f->n) {
		f->n = left < FILL_BATCH ? left : FILL_BATCH;
		ret = store_txn_run(st, fill_copy, f);
	}
	return ret;
}

int
main(int argc, char *argv[])
{
	struct conf		*cf;
	struct store		*st;
	struct fill		 f;
	uint32_t		 n, unseen, seen, i, nfiles, share;
	int			 ret;

	if (argc < 7) {
		fprintf(stderr, "usage: gb-fill CONFIG ADDRESS MAILBOX N UNSEEN "
		    "FILE...\n");
		return EX_USAGE;
	}
	log_init("gb-fill", 1, 0);
	if (fill_number(argv[4], 1, 10000000, &n) == -1 ||
	    fill_number(argv[5], 0, n, &unseen) == -1) {
		fprintf(stderr, "gb-fill: N or UNSEEN out of range\n");
		return EX_USAGE;
	}
	if ((st = gb_open("gb-fill", argv[1], &cf, &ret)) == NULL)
		return ret;
	memset(&f, 0, sizeof(f));
	f.address = argv[2];
	f.mailbox = argv[3];
	if ((ret = store_txn_run(st, fill_find, &f)) != 0)
		goto out;
	/* The seen ones over the files in turn, then the unseen likewise. */
	nfiles = (uint32_t)(argc - 6);
	seen = n - unseen;
	for (i = 0; ret == 0 && i < nfiles && i < seen; i++) {
		share = seen / nfiles + (i < seen % nfiles);
		if (share > 0)
			ret = fill_one(st, &f, argv[6 + i], share, STORE_F_SEEN);
	}
	for (i = 0; ret == 0 && i < nfiles && i < unseen; i++) {
		share = unseen / nfiles + (i < unseen % nfiles);
		if (share > 0)
			ret = fill_one(st, &f, argv[6 + i], share, 0);
	}
	if (ret == 0)
		ret = store_txn_run(st, fill_find, &f);
out:
	if (ret != 0)
		fprintf(stderr, "gb-fill: %s\n", store_strerror(ret));
	else
		printf("ok %u\n", f.messages);
	store_close(&st);
	conf_free(&cf);
	return ret == 0 ? EX_OK : EX_TEMPFAIL;
}
