/*
 * check_store_delete.c: unit tests of libstore (store/store.h):
 * deleting accounts, erase keys, the queue, upgrades.
 * The fixtures are in check-store-util.c.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

Suite	*store_delete_suite(void);

/* ================================================================ */
/* Deleting accounts                                                  */
/* ================================================================ */

static const enum store_dbi per_account_dbis[] = {
	DBI_ACCOUNTS, DBI_CORRESPONDENTS, DBI_MAILBOXES, DBI_SUBSCRIPTIONS,
	DBI_MESSAGES, DBI_CHANGES, DBI_BLOBS, DBI_CHUNKS, DBI_MSGIDS,
};

struct bulk_arg {
	const struct acct	*ac;
	uint32_t		 mbox;
	int			 n;
	const char		*marker;
};

/* Many messages in one transaction: enough records for several batches. */
static int
bulk_txn(struct store_txn *txn, void *arg)
{
	struct bulk_arg		*ba = arg;
	struct store_blob	*b;
	uint8_t			 h[STORE_MSGID_HASHBYTES];
	char			 text[256];
	int			 i, ret = 0;

	for (i = 0; ret == 0 && i < ba->n; i++) {
		snprintf(text, sizeof(text), "Subject: %s %d\r\n\r\n%s\r\n",
		    ba->marker, i, ba->marker);
		b = store_blob_seal(ba->ac->id, ba->ac->sk->pk, text,
		    strlen(text), ba->marker, strlen(ba->marker));
		ret = store_msg_append(txn, ba->ac->id, ba->mbox, b, 0, 0, 0,
		    NULL);
		store_blob_free(&b);
	}
	if (ret == 0) {
		store_msgid_hash(ba->marker, strlen(ba->marker), h);
		ret = store_msgid_put(txn, ba->ac->id, h, ba->mbox, 1);
	}
	if (ret == 0)
		ret = store_corr_put(txn, ba->ac->id, "sender@home.example",
		    "0123456789ABCDEF0123456789ABCDEF01234567",
		    "sender's key data", 17);
	return ret;
}

static void
bulk_append(struct store *s, const struct acct *ac, uint32_t mbox, int n,
    const char *marker)
{
	struct bulk_arg	 ba = { ac, mbox, n, marker };

	ck_assert_int_eq(store_txn_run(s, bulk_txn, &ba), 0);
}

/* The erase key slots, white-box (store-erase.c). */
struct ekop {
	enum { E_GET, E_SET, E_CREATE, E_REMOVE, E_RAW } op;
	uint64_t	 id;
	uint8_t		 key[STORE_ERASE_KEYBYTES];
	uint8_t		 raw[STORE_ERASE_SLOTBYTES];
	u_int32_t	 rawlen;
};

static int
ekop_txn(struct store_txn *txn, void *arg)
{
	struct ekop	*e = arg;
	DB		*db = txn->store->db[DBI_ERASE_KEYS];
	DBT		 k, v;
	db_recno_t	 r = (db_recno_t)e->id;
	uint8_t		*ek;
	int		 ret;

	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	k.data = &r;
	k.size = sizeof(r);
	switch (e->op) {
	case E_GET:
		if ((ret = store_erase_load(txn, e->id, &ek)) != 0)
			return ret;
		memcpy(e->key, ek, sizeof(e->key));
		store_erase_free(txn->store, &ek);
		return 0;
	case E_SET:
		memcpy(e->raw, e->key, sizeof(e->key));
		e->raw[STORE_ERASE_KEYBYTES] = STORE_ERASE_LIVE;
		v.data = e->raw;
		v.size = sizeof(e->raw);
		return db->put(db, txn->tid, &k, &v, 0) == 0 ? 0 : STORE_EIO;
	case E_CREATE:
		return store_erase_create(txn, e->id);
	case E_REMOVE:
		return store_erase_remove(txn, e->id);
	case E_RAW:
		v.data = e->raw;
		v.ulen = sizeof(e->raw);
		v.flags = DB_DBT_USERMEM;
		ret = db->get(db, txn->tid, &k, &v, 0);
		e->rawlen = v.size;
		return ret == 0 ? 0 : ret == DB_NOTFOUND || ret == DB_KEYEMPTY ?
		    STORE_ENOTFOUND : STORE_EIO;
	}
	return STORE_EIO;
}

static int
ekop_run(struct ekop *e)
{
	return store_txn_run(st, ekop_txn, e);
}

static int
erase_key_exists(uint64_t id)
{
	struct ekop	 e;
	int		 ret;

	memset(&e, 0, sizeof(e));
	e.op = E_GET;
	e.id = id;
	ret = ekop_run(&e);
	ck_assert(ret == 0 || ret == STORE_ESHREDDED);
	return ret == 0;
}

/* The key of account id into key; it must exist. */
static void
erase_key_get(uint64_t id, uint8_t key[STORE_ERASE_KEYBYTES])
{
	struct ekop	 e;

	memset(&e, 0, sizeof(e));
	e.op = E_GET;
	e.id = id;
	ck_assert_int_eq(ekop_run(&e), 0);
	memcpy(key, e.key, STORE_ERASE_KEYBYTES);
}

static void
erase_key_op(int op, uint64_t id, const uint8_t *key)
{
	struct ekop	 e;

	memset(&e, 0, sizeof(e));
	e.op = op;
	e.id = id;
	if (key != NULL)
		memcpy(e.key, key, sizeof(e.key));
	ck_assert_int_eq(ekop_run(&e), 0);
}

START_TEST(test_purge)
{
	struct acct		 a, b;
	struct aop		 o;
	struct mop		 mo;
	struct scan		 sc;
	struct msglist		 ml;
	char			 marker[64];
	uint8_t			 ka[STORE_ERASE_KEYBYTES],
				 kb[STORE_ERASE_KEYBYTES];
	uint64_t		 nmsgs = 0;
	uint32_t		 work;
	size_t			 i;

	make_marker(marker, sizeof(marker));
	acct_create(st, "gone@example.org", &a);
	acct_create(st, "stays@example.org", &b);
	erase_key_get(a.id, ka);
	erase_key_get(b.id, kb);
	work = mbox_create(a.id, "Work");
	(void)mbox_create(b.id, "ScanControlFolder");
	/* 4 records a message: 150 messages are more than one batch. */
	bulk_append(st, &a, a.inbox, 100, marker);
	bulk_append(st, &a, work, 50, marker);
	bulk_append(st, &b, b.inbox, 3, "keep");
	check_clean(st);

	ck_assert_int_eq(store_account_purge(st, a.id, &nmsgs), 0);
	ck_assert_uint_eq(nmsgs, 150);
	memset(&o, 0, sizeof(o));
	o.op = A_GET;
	o.id = a.id;
	ck_assert_int_eq(aop_run(&o), STORE_ENOTFOUND);
	o.op = A_FIND;
	o.address = "gone@example.org";
	ck_assert_int_eq(aop_run(&o), STORE_ENOTFOUND);
	o.op = A_TOKEN;
	o.token_id = a.token_id;
	ck_assert_int_eq(aop_run(&o), STORE_ENOTFOUND);
	for (i = 0; i < sizeof(per_account_dbis) / sizeof(per_account_dbis[0]);
	    i++)
		ck_assert_msg(count_records(st, per_account_dbis[i], a.id) == 0,
		    "%s still holds records of the account",
		    store_db_names[per_account_dbis[i]]);
	memset(&mo, 0, sizeof(mo));
	mo.op = M_SUBGET;
	mo.acct = a.id;
	mo.name = "INBOX";
	ck_assert_int_eq(mop_run(&mo), STORE_ENOTFOUND);
	/* The other account is untouched. */
	ml = msg_list(st, b.id, b.inbox);
	ck_assert_uint_eq(ml.n, 3);
	check_content(st, b.sk, ml.v[2].blob_id, "Subject: keep 2\r\n\r\nkeep\r\n",
	    25);
	free(ml.v);
	check_clean(st);
	/* Purging again, or an id that never was, finds nothing. */
	ck_assert_int_eq(store_account_purge(st, a.id, NULL), STORE_ENOTFOUND);

	ck_assert_int_eq(store_maintain(st, 1), 0);
	/*
	 * A checkpoint alone leaves the erase key's old bytes in the
	 * current log file (the overwrite's before-image)...
	 */
	memset(&sc, 0, sizeof(sc));
	sc.bneedle[0] = ka;
	sc.blen[0] = sizeof(ka);
	scan_dir(statedir, &sc);
	ck_assert_uint_gt(sc.bfound[0], 0);
	/* ... the log-removal step removes them (guestbox(7)). */
	ck_assert_int_eq(store_log_retire(st), 0);
	store_close(&st);
	memset(&sc, 0, sizeof(sc));
	sc.needle[0] = marker;
	/* A control: mailbox names are in clear. */
	sc.needle[1] = "ScanControlFolder";
	/* Sealed under the erase key that went with the account. */
	sc.needle[2] = "gone@example.org";
	sc.needle[3] = "sender@home.example";
	sc.bneedle[0] = ka;
	sc.blen[0] = sizeof(ka);
	/* A control: the other account's key is in its slot. */
	sc.bneedle[1] = kb;
	sc.blen[1] = sizeof(kb);
	scan_dir(statedir, &sc);
	ck_assert_uint_gt(sc.files, 12);
	ck_assert_uint_eq(sc.found[0], 0);
	ck_assert_uint_gt(sc.found[1], 0);
	ck_assert_uint_eq(sc.found[2], 0);
	ck_assert_uint_eq(sc.found[3], 0);
	ck_assert_uint_eq(sc.bfound[0], 0);
	ck_assert_uint_gt(sc.bfound[1], 0);
	st = open_store(statedir);
	ck_assert(!erase_key_exists(a.id));
	ck_assert(erase_key_exists(b.id));
	/* The address is free for a new account. */
	acct_free(&a);
	acct_create(st, "gone@example.org", &a);
	check_clean(st);
	acct_free(&a);
	acct_free(&b);
}
END_TEST

/*
 * With log_keep_for_backup the step keeps the logs that catastrophic
 * recovery from the last backup needs, the erase key's old bytes among
 * them (that backup holds the key anyway); the next backup frees them.
 */
START_TEST(test_purge_kept_for_backup)
{
	struct acct	 a, b;
	struct scan	 sc;
	char		 dir[PATH_MAX];
	uint8_t		 ka[STORE_ERASE_KEYBYTES];

	store_close(&st);
	opts.log_keep_for_backup = 1;
	st = open_store(statedir);
	acct_create(st, "kept@example.org", &a);
	acct_create(st, "other@example.org", &b);
	erase_key_get(a.id, ka);
	ck_assert_int_eq(store_account_purge(st, a.id, NULL), 0);
	ck_assert_int_eq(store_log_retire(st), 0);
	memset(&sc, 0, sizeof(sc));
	sc.bneedle[0] = ka;
	sc.blen[0] = sizeof(ka);
	scan_dir(statedir, &sc);
	ck_assert_uint_gt(sc.bfound[0], 0);
	/* A backup outside the state directory, then the step again. */
	snprintf(dir, sizeof(dir), "%s/backup-kept", tmproot);
	ck_assert_int_eq(store_backup(st, dir), 0);
	ck_assert_int_eq(store_log_retire(st), 0);
	memset(&sc, 0, sizeof(sc));
	sc.bneedle[0] = ka;
	sc.blen[0] = sizeof(ka);
	scan_dir(statedir, &sc);
	ck_assert_uint_eq(sc.bfound[0], 0);
	check_util_rm_rf(dir);
	store_close(&st);
	opts.log_keep_for_backup = 0;
	st = open_store(statedir);
	acct_free(&a);
	acct_free(&b);
}
END_TEST

START_TEST(test_purge_resumes)
{
	struct acct	 a;
	struct aop	 o;
	uint64_t	 nmsgs = 0;

	acct_create(st, "half@example.org", &a);
	bulk_append(st, &a, a.inbox, 10, "x");
	/*
	 * A purge cut short after the shred: what the shred leaves is an
	 * account DELETING, without keys or invitation.
	 */
	memset(&o, 0, sizeof(o));
	o.op = A_GET;
	o.id = a.id;
	ck_assert_int_eq(aop_run(&o), 0);
	o.a.state = STORE_ACCT_DELETING;
	memset(o.a.pk, 0, sizeof(o.a.pk));
	memset(o.a.wrapped_sk, 0, sizeof(o.a.wrapped_sk));
	memset(o.a.token_id, 0, sizeof(o.a.token_id));
	o.a.kek_kind = 0;
	o.op = A_UPDATE;
	ck_assert_int_eq(aop_run(&o), 0);
	store_account_clear(&o.a);
	ck_assert_int_eq(store_account_purge(st, a.id, &nmsgs), 0);
	ck_assert_uint_eq(nmsgs, 10);
	ck_assert_uint_eq(count_records(st, DBI_MAILBOXES, a.id), 0);
	check_clean(st);
	acct_free(&a);
}
END_TEST

struct reset_arg {
	uint64_t		 id;
	uint64_t		 nmsgs;
	struct store_account	 a;
};

static int
reset_txn(struct store_txn *txn, void *arg)
{
	struct reset_arg	*ra = arg;
	int			 ret;

	if ((ret = store_account_get(txn, ra->id, &ra->a)) != 0)
		return ret;
	if ((ret = store_account_reset(txn, &ra->a, &names, &ra->nmsgs)) != 0)
		return ret;
	return store_account_update(txn, &ra->a);
}

START_TEST(test_account_reset)
{
	struct acct		 ac, other;
	struct reset_arg	 ra;
	struct store_mailbox	 m;
	struct msglist		 ml;
	struct mbox_seen	 sa;
	uint32_t		 work, archive, oldinbox, id, olduv;
	struct store_msg	 msg;

	acct_create(st, "reset@example.org", &ac);
	acct_create(st, "bystander@example.org", &other);
	work = mbox_create(ac.id, "Work");
	ck_assert_int_eq(mbox_find(ac.id, "Archiv", &archive), 0);
	bulk_append(st, &ac, ac.inbox, 3, "a");
	bulk_append(st, &ac, work, 2, "b");
	msg = append_str(&ac, archive, "c", 0);
	ck_assert_int_eq(msg_copy(ac.id, archive, msg.uid, ac.inbox, &id), 0);
	append_str(&other, other.inbox, "untouched", 0);
	mbox_get(ac.id, ac.inbox, &m);
	olduv = m.uidvalidity;
	oldinbox = m.id;
	store_mailbox_clear(&m);

	memset(&ra, 0, sizeof(ra));
	ra.id = ac.id;
	ck_assert_int_eq(store_txn_run(st, reset_txn, &ra), 0);
	ck_assert_uint_eq(ra.nmsgs, 7);
	store_account_clear(&ra.a);
	ck_assert_int_eq(mbox_find(ac.id, "Work", &id), STORE_ENOTFOUND);
	memset(&sa, 0, sizeof(sa));
	sa.acct = ac.id;
	ck_assert_int_eq(store_txn_run(st, mbox_seen_txn, &sa), 0);
	ck_assert_int_eq(sa.n, 6);
	ck_assert_int_eq(sa.inbox, 1);
	ck_assert_int_eq(sa.twice, 0);
	ck_assert_int_eq(mbox_find(ac.id, "INBOX", &id), 0);
	ck_assert_uint_ne(id, oldinbox);
	mbox_get(ac.id, id, &m);
	/* RFC 3501 2.3.1.1: a new mailbox under an old name. */
	ck_assert_uint_gt(m.uidvalidity, olduv);
	ck_assert_uint_eq(m.messages, 0);
	ck_assert_uint_eq(m.uidnext, 1);
	store_mailbox_clear(&m);
	ck_assert_uint_eq(count_records(st, DBI_MESSAGES, ac.id), 0);
	ck_assert_uint_eq(count_records(st, DBI_BLOBS, ac.id), 0);
	ck_assert_uint_eq(count_records(st, DBI_CHUNKS, ac.id), 0);
	ck_assert_uint_eq(count_records(st, DBI_CHANGES, ac.id), 0);
	/* The account can be used as before. */
	ac.inbox = id;
	msg = append_str(&ac, ac.inbox, "fresh", 0);
	ck_assert_uint_eq(msg.uid, 1);
	ml = msg_list(st, other.id, other.inbox);
	ck_assert_uint_eq(ml.n, 1);
	free(ml.v);
	check_clean(st);
	acct_free(&ac);
	acct_free(&other);
}
END_TEST

/* ================================================================ */
/* Erase keys: what Berkeley DB keeps of an account is sealed         */
/* ================================================================ */

/* A schema 3 key file. */
static void
erase_key_path(char *buf, size_t len, uint64_t id)
{
	snprintf(buf, len, "%s/erase/%016llx", statedir, (unsigned long long)id);
}

struct qop {
	enum { Q_PUT, Q_GET, Q_DATA, Q_COUNT } op;
	struct store_queue_entry e;
	uint64_t	 id;
	const char	*data;
	uint8_t		*out;
	size_t		 outlen;
	size_t		 n;
};

static int
qop_count(const struct store_queue_entry *e, void *arg)
{
	size_t	*n = arg;

	(*n)++;
	return 0;
}

static int
qop_txn(struct store_txn *txn, void *arg)
{
	struct qop	*q = arg;

	switch (q->op) {
	case Q_PUT:
		return store_queue_put(txn, &q->e, q->data, strlen(q->data));
	case Q_GET:
		return store_queue_get(txn, q->id, &q->e);
	case Q_DATA:
		free(q->out);
		q->out = NULL;
		return store_queue_data(txn, q->id, &q->out, &q->outlen);
	case Q_COUNT:
		q->n = 0;
		return store_queue_iter(txn, qop_count, &q->n);
	}
	return STORE_EIO;
}

static int
qop_run(struct qop *q)
{
	return store_txn_run(st, qop_txn, q);
}

static void
queue_entry_fill(struct store_queue_entry *e, uint64_t acct,
    const char *marker)
{
	memset(e, 0, sizeof(*e));
	e->account_id = acct;
	xasprintf(&e->mail_from, "from-%s@example.org", marker);
	xasprintf(&e->message_id, "<%s@example.org>", marker);
	e->last_error = xstrdup("");
	e->nrcpts = 2;
	e->rcpts = xcalloc(2, sizeof(*e->rcpts));
	xasprintf(&e->rcpts[0].address, "rcpt-%s@home.example", marker);
	e->rcpts[0].reply = xstrdup("");
	xasprintf(&e->rcpts[1].address, "cc-%s@home.example", marker);
	xasprintf(&e->rcpts[1].reply, "250 2.0.0 %s queued", marker);
	e->rcpts[1].status = STORE_RCPT_SENT;
}

START_TEST(test_erase_key_life)
{
	static const uint8_t zero[STORE_ERASE_SLOTBYTES];
	struct acct	 a, b;
	struct ekop	 e;
	struct stat	 sb;
	char		 path[PATH_MAX + 64];
	uint8_t		 k1[STORE_ERASE_KEYBYTES], k2[STORE_ERASE_KEYBYTES];

	acct_create(st, "life@example.org", &a);
	acct_create(st, "other@example.org", &b);
	erase_key_get(a.id, k1);
	erase_key_get(b.id, k2);
	ck_assert(memcmp(k1, k2, sizeof(k1)) != 0);
	/* In the environment: no file of its own. */
	snprintf(path, sizeof(path), "%s/erase", statedir);
	ck_assert_int_eq(stat(path, &sb), -1);
	snprintf(path, sizeof(path), "%s/index.key", statedir);
	ck_assert_int_eq(stat(path, &sb), -1);
	snprintf(path, sizeof(path), "%s/db/erase-keys.db", statedir);
	ck_assert_int_eq(stat(path, &sb), 0);
	memset(&e, 0, sizeof(e));
	e.op = E_RAW;
	e.id = a.id;
	ck_assert_int_eq(ekop_run(&e), 0);
	ck_assert_uint_eq(e.rawlen, STORE_ERASE_SLOTBYTES);
	ck_assert(memcmp(e.raw, k1, sizeof(k1)) == 0);
	ck_assert_uint_eq(e.raw[STORE_ERASE_KEYBYTES], STORE_ERASE_LIVE);
	ck_assert_int_eq(store_account_purge(st, a.id, NULL), 0);
	ck_assert(!erase_key_exists(a.id));
	/* Overwritten in place, not deleted: the slot is there, all zeros. */
	memset(&e, 0, sizeof(e));
	e.op = E_RAW;
	e.id = a.id;
	memset(e.raw, 0xff, sizeof(e.raw));
	ck_assert_int_eq(ekop_run(&e), 0);
	ck_assert_uint_eq(e.rawlen, STORE_ERASE_SLOTBYTES);
	ck_assert(memcmp(e.raw, zero, sizeof(zero)) == 0);
	/* The page holds it after a checkpoint: zeros, no old key. */
	ck_assert_int_eq(store_maintain(st, 1), 0);
	{
		struct scan	 sc;

		memset(&sc, 0, sizeof(sc));
		sc.bneedle[0] = k1;
		sc.blen[0] = sizeof(k1);
		sc.bneedle[1] = k2;
		sc.blen[1] = sizeof(k2);
		scan_dir(path, &sc);
		ck_assert_uint_eq(sc.bfound[0], 0);
		ck_assert_uint_eq(sc.bfound[1], 1);
	}
	/* The other account is untouched. */
	erase_key_get(b.id, k1);
	ck_assert(memcmp(k1, k2, sizeof(k1)) == 0);
	check_clean(st);
	acct_free(&a);
	acct_free(&b);
}
END_TEST

static int
raw_copy_txn(struct store_txn *txn, void *arg)
{
	uint64_t	*ids = arg;
	uint8_t		 k1[8], k2[8];
	void		*val;
	size_t		 vlen;
	int		 ret;

	pack_be64(k1, ids[0]);
	pack_be64(k2, ids[1]);
	if ((ret = store_db_get(txn, DBI_QUEUE, k1, 8, &val, &vlen)) != 0)
		return ret;
	ret = store_db_put(txn, DBI_QUEUE, k2, 8, val, vlen);
	free(val);
	return ret;
}

START_TEST(test_queue_sealed)
{
	struct acct	 a;
	struct qop	 q;
	struct scan	 sc;
	char		 marker[64], data[256];
	uint8_t		 hidden[STORE_ERASE_KEYBYTES];
	uint64_t	 ids[2], removed = 99;

	make_marker(marker, sizeof(marker));
	acct_create(st, "queue@example.org", &a);
	(void)mbox_create(a.id, "ScanControlFolder");
	snprintf(data, sizeof(data), "From: <queue@example.org>\r\nTo: "
	    "<rcpt-%s@home.example>\r\nSubject: outer %s\r\n\r\n-----BEGIN "
	    "PGP MESSAGE-----\r\n", marker, marker);
	memset(&q, 0, sizeof(q));
	q.op = Q_PUT;
	queue_entry_fill(&q.e, a.id, marker);
	q.data = data;
	ck_assert_int_eq(qop_run(&q), 0);
	ids[0] = q.e.id;
	store_queue_entry_clear(&q.e);

	/* The round trip. */
	q.op = Q_GET;
	q.id = ids[0];
	ck_assert_int_eq(qop_run(&q), 0);
	ck_assert_uint_eq(q.e.account_id, a.id);
	ck_assert_uint_eq(q.e.nrcpts, 2);
	ck_assert(strstr(q.e.mail_from, marker) != NULL);
	ck_assert(strstr(q.e.message_id, marker) != NULL);
	ck_assert(strstr(q.e.rcpts[0].address, marker) != NULL);
	ck_assert(strstr(q.e.rcpts[1].reply, marker) != NULL);
	ck_assert_uint_eq(q.e.rcpts[1].status, STORE_RCPT_SENT);
	ck_assert_uint_eq(q.e.size, strlen(data));
	store_queue_entry_clear(&q.e);
	q.op = Q_DATA;
	ck_assert_int_eq(qop_run(&q), 0);
	ck_assert_uint_eq(q.outlen, strlen(data));
	ck_assert(memcmp(q.out, data, q.outlen) == 0);
	q.op = Q_COUNT;
	ck_assert_int_eq(qop_run(&q), 0);
	ck_assert_uint_eq(q.n, 1);
	check_clean(st);

	/* Nothing of it in clear on the disk: databases, log, regions. */
	ck_assert_int_eq(store_maintain(st, 1), 0);
	store_close(&st);
	memset(&sc, 0, sizeof(sc));
	sc.needle[0] = marker;
	sc.needle[1] = "ScanControlFolder";
	sc.needle[2] = "queue@example.org";
	scan_dir(statedir, &sc);
	ck_assert_uint_eq(sc.found[0], 0);
	ck_assert_uint_gt(sc.found[1], 0);
	ck_assert_uint_eq(sc.found[2], 0);
	st = open_store(statedir);

	/* A record moved to another key does not open. */
	ids[1] = ids[0] + 1000;
	ck_assert_int_eq(store_txn_run(st, raw_copy_txn, ids), 0);
	q.op = Q_GET;
	q.id = ids[1];
	ck_assert_int_eq(qop_run(&q), STORE_ECORRUPT);
	ck_assert_int_gt(store_check(st, check_problem, NULL), 0);

	/* Without the erase key: a clear error, not garbage. */
	erase_key_get(a.id, hidden);
	erase_key_op(E_REMOVE, a.id, NULL);
	q.id = ids[0];
	ck_assert_int_eq(qop_run(&q), STORE_ESHREDDED);
	ck_assert_ptr_null(q.e.mail_from);
	q.op = Q_DATA;
	ck_assert_int_eq(qop_run(&q), STORE_ESHREDDED);
	ck_assert_ptr_null(q.out);
	/* The relay's walk passes over them instead of stopping. */
	q.op = Q_COUNT;
	ck_assert_int_eq(qop_run(&q), 0);
	ck_assert_uint_eq(q.n, 0);
	/* The sweep removes what can never be sent; check says what is wrong. */
	ck_assert_int_eq(store_erase_sweep(st, &removed), 0);
	ck_assert_uint_eq(removed, 0);
	ck_assert_int_eq(store_check(st, check_problem, NULL), 1);
	erase_key_op(E_SET, a.id, hidden);
	q.op = Q_GET;
	ck_assert_int_eq(qop_run(&q), STORE_ENOTFOUND);
	check_clean(st);
	acct_free(&a);
}
END_TEST

START_TEST(test_queue_dropped_with_account)
{
	struct acct	 a, b;
	struct qop	 q;
	uint8_t		 hidden[STORE_ERASE_KEYBYTES];
	uint64_t	 removed = 99, id;

	acct_create(st, "drop@example.org", &a);
	acct_create(st, "keep@example.org", &b);
	memset(&q, 0, sizeof(q));
	q.op = Q_PUT;
	q.data = "sealed bytes";
	queue_entry_fill(&q.e, a.id, "one");
	ck_assert_int_eq(qop_run(&q), 0);
	store_queue_entry_clear(&q.e);
	queue_entry_fill(&q.e, b.id, "two");
	ck_assert_int_eq(qop_run(&q), 0);
	id = q.e.id;
	store_queue_entry_clear(&q.e);
	queue_entry_fill(&q.e, b.id, "three");
	ck_assert_int_eq(qop_run(&q), 0);
	store_queue_entry_clear(&q.e);
	ck_assert_int_eq(store_account_purge(st, a.id, NULL), 0);
	q.op = Q_COUNT;
	ck_assert_int_eq(qop_run(&q), 0);
	ck_assert_uint_eq(q.n, 2);
	check_clean(st);

	/* An entry whose key is gone (a submission racing the delete). */
	erase_key_get(b.id, hidden);
	erase_key_op(E_REMOVE, b.id, NULL);
	q.op = Q_COUNT;
	ck_assert_int_eq(qop_run(&q), 0);
	ck_assert_uint_eq(q.n, 0);
	ck_assert_int_eq(store_erase_sweep(st, &removed), 0);
	ck_assert_uint_eq(removed, 0);
	erase_key_op(E_SET, b.id, hidden);
	q.op = Q_GET;
	q.id = id;
	ck_assert_int_eq(qop_run(&q), STORE_ENOTFOUND);
	q.op = Q_COUNT;
	ck_assert_int_eq(qop_run(&q), 0);
	ck_assert_uint_eq(q.n, 0);
	check_clean(st);
	acct_free(&a);
	acct_free(&b);
}
END_TEST

static void
write_file(const char *path, const void *buf, size_t len)
{
	int	 fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

START_TEST(test_erase_orphans)
{
	struct acct	 a, b;
	struct aop	 o;
	struct idlist	 il;
	uint8_t		 k[32];
	uint64_t	 removed = 0;

	acct_create(st, "orphan@example.org", &a);
	acct_create(st, "owner@example.org", &b);
	ck_assert_int_eq(store_account_purge(st, a.id, NULL), 0);
	/* A live key of an account that is gone (an older version's). */
	memset(k, 7, sizeof(k));
	erase_key_op(E_SET, a.id, k);
	ck_assert_int_eq(store_erase_sweep(st, &removed), 0);
	ck_assert_uint_eq(removed, 1);
	ck_assert(!erase_key_exists(a.id));
	ck_assert(erase_key_exists(b.id));
	/* check removes them too, and says nothing. */
	erase_key_op(E_CREATE, 4242, NULL);
	ck_assert(erase_key_exists(4242));
	check_clean(st);
	ck_assert(!erase_key_exists(4242));
	/* An account without its key is a problem, and unreadable. */
	erase_key_op(E_REMOVE, b.id, NULL);
	ck_assert_int_eq(store_check(st, check_problem, NULL), 1);
	memset(&o, 0, sizeof(o));
	o.op = A_GET;
	o.id = b.id;
	ck_assert_int_eq(aop_run(&o), STORE_ESHREDDED);
	/* The walk over the accounts passes over it (with a warning). */
	memset(&il, 0, sizeof(il));
	ck_assert_int_eq(store_txn_run(st, iter_txn, &il), 0);
	ck_assert_uint_eq(il.n, 0);
	o.op = A_FIND;
	o.address = "owner@example.org";
	ck_assert_int_eq(aop_run(&o), STORE_ESHREDDED);
	acct_free(&a);
	acct_free(&b);
}
END_TEST

/* ---- correspondents' keys: counted, sealed, gone with the account ---- */

struct kop {
	enum { K_PUT, K_REFS, K_GET, K_PIN, K_PINS } op;
	uint64_t	 acct;
	const char	*address;
	const char	*fpr;
	const char	*data;		/* NULL: none */
	uint32_t	 refs;
	int		 pinned;
	struct store_corr c;
	char		 pins[256];
};

static int
kop_pin_one(const char *fpr, const void *data, size_t len, void *arg)
{
	struct kop	*k = arg;
	size_t		 n = strlen(k->pins);

	snprintf(k->pins + n, sizeof(k->pins) - n, "%s=%.*s;", fpr, (int)len,
	    (const char *)data);
	return 0;
}

static int
kop_txn(struct store_txn *txn, void *arg)
{
	struct kop	*k = arg;

	switch (k->op) {
	case K_PUT:
		return store_corr_put(txn, k->acct, k->address, k->fpr,
		    k->data, k->data != NULL ? strlen(k->data) : 0);
	case K_REFS:
		return store_pubkey_refs(txn, k->fpr, &k->refs, &k->pinned);
	case K_GET:
		return store_corr_get(txn, k->acct, k->address, &k->c);
	case K_PIN:
		return store_pubkey_pin(txn, k->fpr, k->data, strlen(k->data));
	case K_PINS:
		k->pins[0] = '\0';
		return store_pubkey_pinned_iter(txn, kop_pin_one, k);
	}
	return STORE_EIO;
}

static void
kput(uint64_t acct, const char *address, const char *fpr, const char *data)
{
	struct kop	 k;

	memset(&k, 0, sizeof(k));
	k.op = K_PUT;
	k.acct = acct;
	k.address = address;
	k.fpr = fpr;
	k.data = data;
	ck_assert_int_eq(store_txn_run(st, kop_txn, &k), 0);
}

static uint32_t
krefs(const char *fpr, int *pinnedp)
{
	struct kop	 k;

	memset(&k, 0, sizeof(k));
	k.op = K_REFS;
	k.fpr = fpr;
	ck_assert_int_eq(store_txn_run(st, kop_txn, &k), 0);
	if (pinnedp != NULL)
		*pinnedp = k.pinned;
	return k.refs;
}

#define FPR1	"ABCDEF0123456789ABCDEF0123456789ABCDEF01"
#define FPR2	"2222222222222222222222222222222222222222"
#define FPR3	"3333333333333333333333333333333333333333"
#define FPR4	"4444444444444444444444444444444444444444"

START_TEST(test_pubkey_refs)
{
	struct acct	 a, b;
	struct kop	 k;
	struct scan	 sc;
	char		 marker[64], keydata[128];
	int		 pinned;

	make_marker(marker, sizeof(marker));
	snprintf(keydata, sizeof(keydata), "key of %s", marker);
	acct_create(st, "refs-a@example.org", &a);
	acct_create(st, "refs-b@example.org", &b);
	/* One correspondent of two mailboxes: counted twice. */
	kput(a.id, "both@home.example", FPR1, keydata);
	kput(b.id, "both@home.example", FPR1, keydata);
	ck_assert_uint_eq(krefs(FPR1, &pinned), 2);
	ck_assert_int_eq(pinned, 0);
	/* Case does not matter. */
	ck_assert_uint_eq(krefs("abcdef0123456789abcdef0123456789abcdef01",
	    NULL), 2);
	/* Again, with no key data: kept, not counted again. */
	kput(a.id, "both@home.example", FPR1, NULL);
	ck_assert_uint_eq(krefs(FPR1, NULL), 2);
	memset(&k, 0, sizeof(k));
	k.op = K_GET;
	k.acct = a.id;
	k.address = "both@home.example";
	ck_assert_int_eq(store_txn_run(st, kop_txn, &k), 0);
	ck_assert_uint_eq(k.c.keylen, strlen(keydata));
	ck_assert(memcmp(k.c.keydata, keydata, k.c.keylen) == 0);
	store_corr_clear(&k.c);
	/* A new key for a correspondent moves the count. */
	kput(a.id, "one@home.example", FPR2, "key two");
	ck_assert_uint_eq(krefs(FPR2, NULL), 1);
	kput(a.id, "one@home.example", FPR3, "key three");
	ck_assert_uint_eq(krefs(FPR2, NULL), 0);
	ck_assert_uint_eq(krefs(FPR3, NULL), 1);
	/* A record without key data (an older version's) is not counted. */
	kput(b.id, "old@home.example", FPR4, NULL);
	ck_assert_uint_eq(krefs(FPR4, NULL), 0);
	kput(b.id, "old@home.example", FPR4, "key four");
	ck_assert_uint_eq(krefs(FPR4, NULL), 1);
	/* An admin's key: pinned, with its data. */
	memset(&k, 0, sizeof(k));
	k.op = K_PIN;
	k.fpr = FPR2;
	k.data = "admin";
	ck_assert_int_eq(store_txn_run(st, kop_txn, &k), 0);
	ck_assert_uint_eq(krefs(FPR2, &pinned), 0);
	ck_assert_int_eq(pinned, 1);
	k.op = K_PINS;
	ck_assert_int_eq(store_txn_run(st, kop_txn, &k), 0);
	ck_assert_str_eq(k.pins, FPR2 "=admin;");
	check_clean(st);

	/* The counts follow the deletes. */
	ck_assert_int_eq(store_account_purge(st, a.id, NULL), 0);
	ck_assert_uint_eq(krefs(FPR1, NULL), 1);
	ck_assert_uint_eq(krefs(FPR3, NULL), 0);
	ck_assert_uint_eq(krefs(FPR4, NULL), 1);
	ck_assert_int_eq(store_account_purge(st, b.id, NULL), 0);
	ck_assert_uint_eq(krefs(FPR1, NULL), 0);
	ck_assert_uint_eq(krefs(FPR4, NULL), 0);
	ck_assert_uint_eq(krefs(FPR2, &pinned), 0);
	ck_assert_int_eq(pinned, 1);
	check_clean(st);

	/*
	 * The key data was sealed under the accounts' erase keys: after the
	 * log-removal step no file holds it, nor the fingerprints in clear.
	 */
	ck_assert_int_eq(store_log_retire(st), 0);
	store_close(&st);
	memset(&sc, 0, sizeof(sc));
	sc.needle[0] = marker;
	sc.needle[1] = FPR1;
	sc.needle[2] = "both@home.example";
	sc.needle[3] = "admin";		/* a control: an admin's, in clear */
	scan_dir(statedir, &sc);
	ck_assert_uint_eq(sc.found[0], 0);
	ck_assert_uint_eq(sc.found[1], 0);
	ck_assert_uint_eq(sc.found[2], 0);
	ck_assert_uint_gt(sc.found[3], 0);
	st = open_store(statedir);
	acct_free(&a);
	acct_free(&b);
}
END_TEST

/* ---- the upgrade from schema version 1 ---- */

struct v1_arg {
	uint64_t	 id;
	const char	*address;
	uint8_t		 hash[STORE_MSGID_HASHBYTES];
};

/*
 * Turns the store into what version 1 wrote: plain account record and
 * address index, correspondent keyed by address, plain Message-ID hash,
 * queue entries and data in clear (one of an account that is gone).
 */
static int
v1_txn(struct store_txn *txn, void *arg)
{
	struct v1_arg		*va = arg;
	struct store_account	 a;
	struct store_corr	 c;
	struct store_queue_entry e;
	struct pack		 pk;
	uint8_t			 key[KEY_ACCT], ahash[STORE_INDEX_HASHBYTES],
				 ck[64], v[4], qk[8];
	size_t			 n;
	int			 ret;

	memset(&a, 0, sizeof(a));
	if ((ret = store_account_get(txn, va->id, &a)) != 0)
		return ret;
	pack_be64(key, va->id);
	pack_init(&pk);
	store_account_encode(&a, &pk);
	ret = store_db_put(txn, DBI_ACCOUNTS, key, sizeof(key), pk.buf, pk.len);
	pack_free(&pk);
	store_index_hash(txn->store, a.address, ahash);
	if (ret == 0)
		ret = store_db_del(txn, DBI_ACCOUNT_ADDR, ahash, sizeof(ahash));
	if (ret == 0)
		ret = store_db_put(txn, DBI_ACCOUNT_ADDR, a.address,
		    strlen(a.address), key, sizeof(key));
	store_account_clear(&a);
	if (ret != 0)
		return ret;

	memset(&c, 0, sizeof(c));
	memcpy(c.fingerprint, "0123456789ABCDEF0123456789ABCDEF01234567", 41);
	c.added = 5;
	pack_be64(ck, va->id);
	n = strlen("corr@home.example");
	memcpy(ck + 8, "corr@home.example", n);
	pack_init(&pk);
	store_corr_encode(&c, &pk);
	ret = store_db_put(txn, DBI_CORRESPONDENTS, ck, 8 + n, pk.buf, pk.len);
	pack_free(&pk);
	if (ret != 0)
		return ret;

	pack_be64(ck, va->id);
	memcpy(ck + 8, va->hash, STORE_MSGID_HASHBYTES);
	pack_be32(v, 3);
	memset(qk, 0, sizeof(qk));
	if ((ret = store_db_put(txn, DBI_MSGIDS, ck, 8 + STORE_MSGID_HASHBYTES,
	    "\0\0\0\2\0\0\0\3\0\0\0\0\0\0\0\11", 16)) != 0)
		return ret;

	queue_entry_fill(&e, va->id, "upgrade");
	e.created = e.next_attempt = 77;
	e.size = 4;
	pack_be64(qk, 1);
	pack_init(&pk);
	store_queue_encode(&e, &pk);
	ret = store_db_put(txn, DBI_QUEUE, qk, 8, pk.buf, pk.len);
	pack_free(&pk);
	if (ret == 0)
		ret = store_db_put(txn, DBI_QUEUE_DATA, qk, 8, "data", 4);
	/* One of an account deleted by version 1, which left it. */
	e.account_id = va->id + 100;
	pack_be64(qk, 2);
	pack_init(&pk);
	store_queue_encode(&e, &pk);
	if (ret == 0)
		ret = store_db_put(txn, DBI_QUEUE, qk, 8, pk.buf, pk.len);
	pack_free(&pk);
	if (ret == 0)
		ret = store_db_put(txn, DBI_QUEUE_DATA, qk, 8, "gone", 4);
	pack_be64(qk, 3);
	if (ret == 0)
		ret = store_db_put(txn, DBI_META, "next-queue", 10, qk, 8);
	store_queue_entry_clear(&e);
	pack_be32(v, 1);
	if (ret == 0)
		ret = store_db_put(txn, DBI_META, "schema", 6, v, sizeof(v));
	return ret;
}

static int
corr_get_txn(struct store_txn *txn, void *arg)
{
	struct corr_arg	*ca = arg;

	return store_corr_get(txn, ca->acct, "corr@home.example", &ca->c);
}

static int
index_key_replace_txn(struct store_txn *txn, void *arg)
{
	uint8_t	 k[STORE_ERASE_KEYBYTES];

	randombytes_buf(k, sizeof(k));
	return store_db_put(txn, DBI_META, "index-key", 9, k, sizeof(k));
}

static int
schema_txn(struct store_txn *txn, void *arg)
{
	uint32_t	*ver = arg;
	void		*val;
	size_t		 vlen;
	int		 ret;

	if ((ret = store_db_get(txn, DBI_META, "schema", 6, &val, &vlen)) != 0)
		return ret;
	*ver = vlen == 4 ? unpack_be32(val) : 0;
	free(val);
	return 0;
}

START_TEST(test_upgrade_v1)
{
	struct acct	 a;
	struct v1_arg	 va;
	struct aop	 o;
	struct corr_arg	 ca;
	struct msgid_arg ma;
	struct qop	 q;
	uint32_t	 ver = 0;

	acct_create(st, "old@example.org", &a);
	memset(&va, 0, sizeof(va));
	va.id = a.id;
	store_msgid_hash("<m@x>", 5, va.hash);
	ck_assert_int_eq(store_txn_run(st, v1_txn, &va), 0);
	/* Version 1 had no erase keys. */
	erase_key_op(E_REMOVE, a.id, NULL);
	store_close(&st);

	st = open_store(statedir);
	ck_assert_int_eq(store_txn_run(st, schema_txn, &ver), 0);
	ck_assert_uint_eq(ver, STORE_SCHEMA_VERSION);
	ck_assert(erase_key_exists(a.id));
	memset(&o, 0, sizeof(o));
	o.op = A_FIND;
	o.address = "old@example.org";
	ck_assert_int_eq(aop_run(&o), 0);
	ck_assert_uint_eq(o.a.id, a.id);
	ck_assert_str_eq(o.a.inviter, "sender@home.example");
	store_account_clear(&o.a);
	memset(&ca, 0, sizeof(ca));
	ca.acct = a.id;
	ck_assert_int_eq(store_txn_run(st, corr_get_txn, &ca), 0);
	ck_assert_str_eq(ca.c.fingerprint,
	    "0123456789ABCDEF0123456789ABCDEF01234567");
	ck_assert_str_eq(ca.c.address, "corr@home.example");
	store_corr_clear(&ca.c);
	memset(&ma, 0, sizeof(ma));
	ma.acct = a.id;
	memcpy(ma.hash, va.hash, sizeof(ma.hash));
	ck_assert_int_eq(store_txn_run(st, msgid_txn, &ma), 0);
	ck_assert_uint_eq(ma.mbox, 2);
	ck_assert_uint_eq(ma.uid, 3);
	memset(&q, 0, sizeof(q));
	q.op = Q_GET;
	q.id = 1;
	ck_assert_int_eq(qop_run(&q), 0);
	ck_assert_str_eq(q.e.mail_from, "from-upgrade@example.org");
	ck_assert_int_eq(q.e.created, 77);
	store_queue_entry_clear(&q.e);
	q.op = Q_DATA;
	ck_assert_int_eq(qop_run(&q), 0);
	ck_assert_uint_eq(q.outlen, 4);
	ck_assert(memcmp(q.out, "data", 4) == 0);
	free(q.out);
	q.out = NULL;
	q.op = Q_GET;
	q.id = 2;
	ck_assert_int_eq(qop_run(&q), STORE_ENOTFOUND);
	q.op = Q_COUNT;
	ck_assert_int_eq(qop_run(&q), 0);
	ck_assert_uint_eq(q.n, 1);
	check_clean(st);
	/* Opened again: nothing more to do, and it still works. */
	store_close(&st);
	st = open_store(statedir);
	o.op = A_FIND;
	ck_assert_int_eq(aop_run(&o), 0);
	store_account_clear(&o.a);
	/* An index key that is not the index's is refused. */
	ck_assert_int_eq(store_txn_run(st, index_key_replace_txn, NULL), 0);
	store_close(&st);
	{
		int	 err = 0;

		ck_assert_ptr_null(store_open(statedir, &opts, &err));
		ck_assert_int_eq(err, STORE_ECORRUPT);
	}
	acct_free(&a);
	check_util_rm_rf(statedir);
	ck_assert_int_eq(mkdir(statedir, 0700), 0);
	st = open_store(statedir);
}
END_TEST

/* ---- the upgrade from schema version 3: key files ---- */

/*
 * Turns the store into what schema 3 kept: every erase key in a file
 * STATE_DIR/erase/<id> (ids, 0-terminated) and not in its slot, the
 * index key in STATE_DIR/index.key and not in meta.db.
 */
static int
v3_files_txn(struct store_txn *txn, void *arg)
{
	const uint64_t	*ids = arg;
	char		 path[PATH_MAX + 64];
	uint8_t		*ek, v[4];
	void		*val;
	size_t		 vlen;
	int		 ret;

	for (; *ids != 0; ids++) {
		if ((ret = store_erase_load(txn, *ids, &ek)) != 0)
			return ret;
		erase_key_path(path, sizeof(path), *ids);
		write_file(path, ek, STORE_ERASE_KEYBYTES);
		store_erase_free(txn->store, &ek);
		if ((ret = store_erase_remove(txn, *ids)) != 0)
			return ret;
	}
	if ((ret = store_db_get(txn, DBI_META, "index-key", 9, &val,
	    &vlen)) != 0)
		return ret;
	snprintf(path, sizeof(path), "%s/index.key", statedir);
	write_file(path, val, vlen);
	free(val);
	if ((ret = store_db_del(txn, DBI_META, "index-key", 9)) != 0)
		return ret;
	pack_be32(v, 3);
	return store_db_put(txn, DBI_META, "schema", 6, v, sizeof(v));
}

START_TEST(test_upgrade_v3_files)
{
	struct acct	 a, b;
	struct aop	 o;
	struct stat	 sb;
	char		 pa[PATH_MAX + 64], pb[PATH_MAX + 64],
			 pidx[PATH_MAX + 64], pdir[PATH_MAX + 64];
	uint8_t		 ka[STORE_ERASE_KEYBYTES], kb[STORE_ERASE_KEYBYTES],
			 k[STORE_ERASE_KEYBYTES];
	uint64_t	 ids[3];
	uint32_t	 ver = 0;
	int		 err = 0;

	acct_create(st, "files-a@example.org", &a);
	acct_create(st, "files-b@example.org", &b);
	erase_key_get(a.id, ka);
	erase_key_get(b.id, kb);
	ids[0] = a.id;
	ids[1] = b.id;
	ids[2] = 0;
	snprintf(pdir, sizeof(pdir), "%s/erase", statedir);
	snprintf(pidx, sizeof(pidx), "%s/index.key", statedir);
	erase_key_path(pa, sizeof(pa), a.id);
	erase_key_path(pb, sizeof(pb), b.id);
	ck_assert_int_eq(mkdir(pdir, 0700), 0);
	ck_assert_int_eq(store_txn_run(st, v3_files_txn, ids), 0);
	store_close(&st);

	/*
	 * An upgrade that cannot finish (a damaged file) leaves schema 3
	 * as it was: every file still there and readable.
	 */
	write_file(pa, ka, sizeof(ka) - 1);
	ck_assert_ptr_null(store_open(statedir, &opts, &err));
	ck_assert_int_eq(err, STORE_ECORRUPT);
	ck_assert_int_eq(stat(pb, &sb), 0);
	ck_assert_int_eq(sb.st_size, STORE_ERASE_KEYBYTES);
	ck_assert_int_eq(stat(pidx, &sb), 0);
	write_file(pa, ka, sizeof(ka));

	st = open_store(statedir);
	ck_assert_int_eq(store_txn_run(st, schema_txn, &ver), 0);
	ck_assert_uint_eq(ver, STORE_SCHEMA_VERSION);
	erase_key_get(a.id, k);
	ck_assert(memcmp(k, ka, sizeof(k)) == 0);
	erase_key_get(b.id, k);
	ck_assert(memcmp(k, kb, sizeof(k)) == 0);
	/* The files went after the commit, the directory too. */
	ck_assert_int_eq(stat(pa, &sb), -1);
	ck_assert_int_eq(stat(pb, &sb), -1);
	ck_assert_int_eq(stat(pdir, &sb), -1);
	ck_assert_int_eq(stat(pidx, &sb), -1);
	/* The index key came along: found by address, mail opens. */
	memset(&o, 0, sizeof(o));
	o.op = A_FIND;
	o.address = "files-b@example.org";
	ck_assert_int_eq(aop_run(&o), 0);
	ck_assert_uint_eq(o.a.id, b.id);
	store_account_clear(&o.a);
	check_clean(st);

	/*
	 * A crash after the commit, before the files were removed: the
	 * next open removes them and keeps the keys it has.
	 */
	store_close(&st);
	ck_assert_int_eq(mkdir(pdir, 0700), 0);
	write_file(pb, kb, sizeof(kb));
	write_file(pidx, ka, sizeof(ka));	/* not the index key */
	st = open_store(statedir);
	ck_assert_int_eq(stat(pb, &sb), -1);
	ck_assert_int_eq(stat(pidx, &sb), -1);
	erase_key_get(b.id, k);
	ck_assert(memcmp(k, kb, sizeof(k)) == 0);
	o.op = A_FIND;
	ck_assert_int_eq(aop_run(&o), 0);
	store_account_clear(&o.a);
	check_clean(st);
	acct_free(&a);
	acct_free(&b);
}
END_TEST

/* Version 2: the INBOX as a version 1 mailbox record, uidnext 5. */
static int
v2_txn(struct store_txn *txn, void *arg)
{
	struct acct		*ac = arg;
	struct store_mailbox	 m;
	struct pack		 pk;
	uint8_t			 key[KEY_MBOX], v[4];
	int			 ret;

	memset(&m, 0, sizeof(m));
	if ((ret = store_mailbox_get(txn, ac->id, ac->inbox, &m)) != 0)
		return ret;
	m.uidnext = 5;
	pack_init(&pk);
	store_mailbox_encode(&m, &pk);
	store_mailbox_clear(&m);
	/* Version 1 was version 2 without the trailing recent_uid. */
	pk.buf[0] = 1;
	store_key_mbox(key, ac->id, ac->inbox);
	ret = store_db_put(txn, DBI_MAILBOXES, key, sizeof(key), pk.buf,
	    pk.len - 4);
	pack_free(&pk);
	pack_be32(v, 2);
	if (ret == 0)
		ret = store_db_put(txn, DBI_META, "schema", 6, v, sizeof(v));
	return ret;
}

static int
v3_check_txn(struct store_txn *txn, void *arg)
{
	struct acct		*ac = arg;
	struct store_mailbox	 m;
	uint8_t			 key[KEY_MBOX];
	void			*val;
	size_t			 vlen;
	uint32_t		 first, last;
	int			 ret;

	store_key_mbox(key, ac->id, ac->inbox);
	if ((ret = store_db_get(txn, DBI_MAILBOXES, key, sizeof(key), &val,
	    &vlen)) != 0)
		return ret;
	ck_assert_uint_eq(((uint8_t *)val)[0], 2);
	free(val);
	memset(&m, 0, sizeof(m));
	if ((ret = store_mailbox_get(txn, ac->id, ac->inbox, &m)) != 0)
		return ret;
	ck_assert_uint_eq(m.recent_uid, 4);
	store_mailbox_clear(&m);
	/* Nothing above the mark: a SELECT claims nothing. */
	if ((ret = store_mailbox_recent(txn, ac->id, ac->inbox, 1, &first,
	    &last)) != 0)
		return ret;
	ck_assert_uint_gt(first, last);
	return 0;
}

START_TEST(test_upgrade_v2)
{
	struct acct	 a;
	uint32_t	 ver = 0;

	acct_create(st, "recent@example.org", &a);
	ck_assert_int_eq(store_txn_run(st, v2_txn, &a), 0);
	store_close(&st);
	st = open_store(statedir);
	ck_assert_int_eq(store_txn_run(st, schema_txn, &ver), 0);
	ck_assert_uint_eq(ver, STORE_SCHEMA_VERSION);
	ck_assert_int_eq(store_txn_run(st, v3_check_txn, &a), 0);
	check_clean(st);
	acct_free(&a);
}
END_TEST

Suite *
store_delete_suite(void)
{
	Suite	*s = suite_create("store_delete");
	TCase	*tc;

	tc = check_store_tcase(s, "delete", 120);
	tcase_add_test(tc, test_purge);
	tcase_add_test(tc, test_purge_kept_for_backup);
	tcase_add_test(tc, test_purge_resumes);
	tcase_add_test(tc, test_account_reset);

	tc = check_store_tcase(s, "erase", 120);
	tcase_add_test(tc, test_erase_key_life);
	tcase_add_test(tc, test_queue_sealed);
	tcase_add_test(tc, test_queue_dropped_with_account);
	tcase_add_test(tc, test_erase_orphans);
	tcase_add_test(tc, test_pubkey_refs);
	tcase_add_test(tc, test_upgrade_v1);
	tcase_add_test(tc, test_upgrade_v2);
	tcase_add_test(tc, test_upgrade_v3_files);

	return s;
}

int
main(void)
{
	return check_store_main("check_store_delete", store_delete_suite());
}
