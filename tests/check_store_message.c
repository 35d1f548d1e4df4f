/*
 * check_store_message.c: unit tests of libstore (store/store.h):
 * messages: append, flags, changes, copy, expunge, quota.
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

Suite	*store_message_suite(void);

static int
msg_get(uint64_t acct, uint32_t mbox, uint32_t uid, struct store_msg *m)
{
	struct msgop	 o;
	int		 ret;

	memset(&o, 0, sizeof(o));
	o.op = G_GET;
	o.acct = acct;
	o.mbox = mbox;
	o.uid = uid;
	ret = store_txn_run(st, msgop_txn, &o);
	*m = o.msg;
	return ret;
}

static int
msg_store(uint64_t acct, uint32_t mbox, uint32_t uid, uint32_t flags,
    uint64_t keywords, uint64_t unchangedsince, struct store_msg *m)
{
	struct msgop	 o;
	int		 ret;

	memset(&o, 0, sizeof(o));
	o.op = G_STORE;
	o.acct = acct;
	o.mbox = mbox;
	o.uid = uid;
	o.flags = flags;
	o.keywords = keywords;
	o.unchangedsince = unchangedsince;
	ret = store_txn_run(st, msgop_txn, &o);
	if (m != NULL)
		*m = o.msg;
	return ret;
}

/* ================================================================ */
/* Messages                                                           */
/* ================================================================ */

START_TEST(test_append_uids_counters)
{
	struct acct		 ac;
	struct store_mailbox	 m;
	struct store_msg	 msg[5];
	struct msglist		 ml;
	uint64_t		 modseq;
	uint32_t		 uidvalidity;
	char			 text[64];
	size_t			 bytes = 0;
	int			 i;

	acct_create(st, "nina@example.org", &ac);
	mbox_get(ac.id, ac.inbox, &m);
	modseq = m.highestmodseq;
	uidvalidity = m.uidvalidity;
	store_mailbox_clear(&m);
	for (i = 0; i < 5; i++) {
		snprintf(text, sizeof(text), "Subject: %d\r\n\r\n%*s\r\n", i,
		    i * 3, "");
		msg[i] = append_str(&ac, ac.inbox, text,
		    i % 2 == 0 ? 0 : STORE_F_SEEN);
		bytes += strlen(text);
		ck_assert_uint_eq(msg[i].uid, (uint32_t)i + 1);
		ck_assert_uint_eq(msg[i].size, strlen(text));
		ck_assert_uint_gt(msg[i].modseq, modseq);
		modseq = msg[i].modseq;
		ck_assert_int_ne(msg[i].internaldate, 0);
		mbox_get(ac.id, ac.inbox, &m);
		ck_assert_uint_eq(m.uidnext, (uint32_t)i + 2);
		ck_assert_uint_eq(m.highestmodseq, modseq);
		ck_assert_uint_eq(m.messages, (uint32_t)i + 1);
		ck_assert_uint_eq(m.unseen, (uint32_t)(i + 2) / 2);
		ck_assert_uint_eq(m.bytes, bytes);
		ck_assert_uint_eq(m.uidvalidity, uidvalidity);
		store_mailbox_clear(&m);
	}
	ml = msg_list(st, ac.id, ac.inbox);
	ck_assert_uint_eq(ml.n, 5);
	for (i = 0; i < 5; i++) {
		ck_assert_uint_eq(ml.v[i].uid, msg[i].uid);
		ck_assert_uint_eq(ml.v[i].blob_id, msg[i].blob_id);
		ck_assert_uint_eq(ml.v[i].flags, msg[i].flags);
	}
	free(ml.v);
	/* A range. */
	ml = msg_list_range(st, ac.id, ac.inbox, 2, 4);
	ck_assert_uint_eq(ml.n, 3);
	ck_assert_uint_eq(ml.v[0].uid, 2);
	ck_assert_uint_eq(ml.v[2].uid, 4);
	free(ml.v);
	/* UIDs are never reused, even after an expunge of the last. */
	ck_assert_int_eq(msg_expunge(ac.id, ac.inbox, 5), 0);
	msg[0] = append_str(&ac, ac.inbox, "x", 0);
	ck_assert_uint_eq(msg[0].uid, 6);
	/* Into a mailbox that does not exist. */
	ck_assert_int_eq(try_append(st, &ac, 999, "x", 1, 0, 0, NULL),
	    STORE_ENOTFOUND);
	check_clean(st);
	acct_free(&ac);
}
END_TEST

START_TEST(test_append_internaldate)
{
	struct acct		 ac;
	struct append_arg	 aa;
	struct store_blob	*b;

	acct_create(st, "olga@example.org", &ac);
	store_set_clock(st, fixed_now);
	b = store_blob_seal(ac.id, ac.sk->pk, "x", 1, NULL, 0);
	memset(&aa, 0, sizeof(aa));
	aa.acct = ac.id;
	aa.mbox = ac.inbox;
	aa.blob = b;
	ck_assert_int_eq(store_txn_run(st, append_txn, &aa), 0);
	ck_assert_int_eq(aa.msg.internaldate, FIXED_NOW);
	ck_assert_int_eq(aa.msg.savedate, FIXED_NOW);
	store_blob_free(&b);
	acct_free(&ac);
}
END_TEST

START_TEST(test_store_flags)
{
	struct acct		 ac;
	struct store_mailbox	 m;
	struct store_msg	 a, b, r;

	acct_create(st, "pat@example.org", &ac);
	a = append_str(&ac, ac.inbox, "one", 0);
	b = append_str(&ac, ac.inbox, "two", 0);
	ck_assert_uint_gt(b.modseq, a.modseq);

	/* \Seen: the unseen count follows. */
	ck_assert_int_eq(msg_store(ac.id, ac.inbox, a.uid, STORE_F_SEEN |
	    STORE_F_FLAGGED, 0x5, 0, &r), 0);
	ck_assert_uint_eq(r.flags, STORE_F_SEEN | STORE_F_FLAGGED);
	ck_assert_uint_eq(r.keywords, 0x5);
	ck_assert_uint_gt(r.modseq, b.modseq);
	mbox_get(ac.id, ac.inbox, &m);
	ck_assert_uint_eq(m.unseen, 1);
	ck_assert_uint_eq(m.highestmodseq, r.modseq);
	store_mailbox_clear(&m);
	ck_assert_int_eq(msg_get(ac.id, ac.inbox, a.uid, &a), 0);
	ck_assert_uint_eq(a.flags, STORE_F_SEEN | STORE_F_FLAGGED);
	ck_assert_uint_eq(a.keywords, 0x5);
	ck_assert_uint_eq(a.modseq, r.modseq);

	/* The same values again: no new MODSEQ. */
	ck_assert_int_eq(msg_store(ac.id, ac.inbox, a.uid, STORE_F_SEEN |
	    STORE_F_FLAGGED, 0x5, 0, &r), 0);
	ck_assert_uint_eq(r.modseq, a.modseq);
	mbox_get(ac.id, ac.inbox, &m);
	ck_assert_uint_eq(m.highestmodseq, a.modseq);
	store_mailbox_clear(&m);

	/* Unknown flag bits are dropped, never stored. */
	ck_assert_int_eq(msg_store(ac.id, ac.inbox, b.uid, 0xff00 |
	    STORE_F_DELETED, 0, 0, &r), 0);
	ck_assert_uint_eq(r.flags, STORE_F_DELETED);

	/* Unsetting \Seen counts it unseen again. */
	ck_assert_int_eq(msg_store(ac.id, ac.inbox, a.uid, 0, 0, 0, &r), 0);
	mbox_get(ac.id, ac.inbox, &m);
	ck_assert_uint_eq(m.unseen, 2);
	store_mailbox_clear(&m);
	ck_assert_int_eq(msg_store(ac.id, ac.inbox, 99, 0, 0, 0, NULL),
	    STORE_ENOTFOUND);
	ck_assert_int_eq(msg_get(ac.id, ac.inbox, 99, &r), STORE_ENOTFOUND);
	check_clean(st);
	acct_free(&ac);
}
END_TEST

START_TEST(test_store_unchangedsince)
{
	struct acct		 ac;
	struct store_mailbox	 m;
	struct store_msg	 a, r;
	uint64_t		 hms;

	acct_create(st, "quinn@example.org", &ac);
	a = append_str(&ac, ac.inbox, "one", 0);
	/* RFC 7162 3.1.3: fails when the MODSEQ is higher. */
	ck_assert_int_eq(msg_store(ac.id, ac.inbox, a.uid, STORE_F_SEEN, 0,
	    a.modseq - 1, &r), STORE_EMODIFIED);
	ck_assert_int_eq(msg_get(ac.id, ac.inbox, a.uid, &r), 0);
	ck_assert_uint_eq(r.flags, 0);
	ck_assert_uint_eq(r.modseq, a.modseq);
	mbox_get(ac.id, ac.inbox, &m);
	hms = m.highestmodseq;
	ck_assert_uint_eq(m.unseen, 1);
	store_mailbox_clear(&m);
	/* Equal is unchanged: it succeeds. */
	ck_assert_int_eq(msg_store(ac.id, ac.inbox, a.uid, STORE_F_SEEN, 0,
	    a.modseq, &r), 0);
	ck_assert_uint_eq(r.flags, STORE_F_SEEN);
	ck_assert_uint_eq(r.modseq, hms + 1);
	/* And now the old MODSEQ is stale. */
	ck_assert_int_eq(msg_store(ac.id, ac.inbox, a.uid, 0, 0, a.modseq,
	    NULL), STORE_EMODIFIED);
	ck_assert_int_eq(msg_store(ac.id, ac.inbox, a.uid, 0, 0, r.modseq,
	    NULL), 0);
	check_clean(st);
	acct_free(&ac);
}
END_TEST

struct change {
	uint32_t	 uid;
	uint64_t	 modseq;
	int		 expunged;
};

struct changes_arg {
	uint64_t	 acct;
	uint32_t	 mbox;
	uint64_t	 since;
	struct change	 v[32];
	size_t		 n;
};

static int
changes_one(uint32_t uid, uint64_t modseq, int expunged, void *arg)
{
	struct changes_arg	*ca = arg;

	if (ca->n == 32)
		return STORE_ELIMIT;
	ca->v[ca->n].uid = uid;
	ca->v[ca->n].modseq = modseq;
	ca->v[ca->n].expunged = expunged;
	ca->n++;
	return 0;
}

static int
changes_txn(struct store_txn *txn, void *arg)
{
	struct changes_arg	*ca = arg;

	ca->n = 0;
	return store_changes_iter(txn, ca->acct, ca->mbox, ca->since,
	    changes_one, ca);
}

START_TEST(test_changes_since)
{
	struct acct		 ac;
	struct store_msg	 m[4], r;
	struct store_mailbox	 mb;
	struct changes_arg	 ca;
	uint32_t		 newuid;
	size_t			 i;

	acct_create(st, "rita@example.org", &ac);
	for (i = 0; i < 4; i++)
		m[i] = append_str(&ac, ac.inbox, "msg", 0);
	memset(&ca, 0, sizeof(ca));
	ca.acct = ac.id;
	ca.mbox = ac.inbox;
	/* Since 0: every message once, in MODSEQ order. */
	ck_assert_int_eq(store_txn_run(st, changes_txn, &ca), 0);
	ck_assert_uint_eq(ca.n, 4);
	for (i = 0; i < 4; i++) {
		ck_assert_uint_eq(ca.v[i].uid, m[i].uid);
		ck_assert_uint_eq(ca.v[i].modseq, m[i].modseq);
		ck_assert_int_eq(ca.v[i].expunged, 0);
	}
	mbox_get(ac.id, ac.inbox, &mb);
	ca.since = mb.highestmodseq;
	store_mailbox_clear(&mb);
	ck_assert_int_eq(store_txn_run(st, changes_txn, &ca), 0);
	ck_assert_uint_eq(ca.n, 0);

	/* Flags on uid 2, expunge of uid 3, a copy into the same mailbox. */
	ck_assert_int_eq(msg_store(ac.id, ac.inbox, m[1].uid, STORE_F_SEEN, 0,
	    0, &r), 0);
	ck_assert_int_eq(msg_expunge(ac.id, ac.inbox, m[2].uid), 0);
	ck_assert_int_eq(msg_copy(ac.id, ac.inbox, m[0].uid, ac.inbox,
	    &newuid), 0);
	ck_assert_uint_eq(newuid, 5);
	ck_assert_int_eq(store_txn_run(st, changes_txn, &ca), 0);
	ck_assert_uint_eq(ca.n, 3);
	ck_assert_uint_eq(ca.v[0].uid, m[1].uid);
	ck_assert_uint_eq(ca.v[0].modseq, r.modseq);
	ck_assert_int_eq(ca.v[0].expunged, 0);
	ck_assert_uint_eq(ca.v[1].uid, m[2].uid);
	ck_assert_int_eq(ca.v[1].expunged, 1);
	ck_assert_uint_gt(ca.v[1].modseq, ca.v[0].modseq);
	ck_assert_uint_eq(ca.v[2].uid, newuid);
	ck_assert_int_eq(ca.v[2].expunged, 0);
	ck_assert_uint_gt(ca.v[2].modseq, ca.v[1].modseq);
	mbox_get(ac.id, ac.inbox, &mb);
	ck_assert_uint_eq(mb.highestmodseq, ca.v[2].modseq);
	store_mailbox_clear(&mb);

	/* A changed message is reported once, at its latest MODSEQ. */
	ck_assert_int_eq(msg_store(ac.id, ac.inbox, m[1].uid, 0, 0, 0, &r),
	    0);
	ck_assert_int_eq(store_txn_run(st, changes_txn, &ca), 0);
	ck_assert_uint_eq(ca.n, 3);
	ck_assert_uint_eq(ca.v[0].uid, m[2].uid);
	ck_assert_uint_eq(ca.v[2].uid, m[1].uid);
	ck_assert_uint_eq(ca.v[2].modseq, r.modseq);
	/* The far end. */
	ca.since = UINT64_MAX;
	ck_assert_int_eq(store_txn_run(st, changes_txn, &ca), 0);
	ck_assert_uint_eq(ca.n, 0);
	check_clean(st);
	acct_free(&ac);
}
END_TEST

START_TEST(test_copy_expunge_blob)
{
	struct acct		 ac;
	struct store_msg	 a, c;
	struct store_mailbox	 arch;
	struct kw_arg		 ka;
	uint32_t		 archive, newuid;
	uint8_t			*data;
	size_t			 len;
	static const char	 text[] = "Subject: shared\r\n\r\none blob\r\n";

	acct_create(st, "sam@example.org", &ac);
	ck_assert_int_eq(mbox_find(ac.id, "Archiv", &archive), 0);
	/* Keyword bit 0 in INBOX is "$Important", in Archiv "Other". */
	memset(&ka, 0, sizeof(ka));
	ka.acct = ac.id;
	ka.create = 1;
	ka.mbox = ac.inbox;
	ka.name = "$Important";
	ck_assert_int_eq(store_txn_run(st, kw_txn, &ka), 0);
	ck_assert_uint_eq(ka.bit, 0);
	ka.mbox = archive;
	ka.name = "Other";
	ck_assert_int_eq(store_txn_run(st, kw_txn, &ka), 0);
	ck_assert_uint_eq(ka.bit, 0);

	a = append_str(&ac, ac.inbox, text, STORE_F_FLAGGED);
	ck_assert_int_eq(msg_store(ac.id, ac.inbox, a.uid, STORE_F_FLAGGED,
	    0x1, 0, &a), 0);
	ck_assert_int_eq(msg_copy(ac.id, ac.inbox, a.uid, archive, &newuid),
	    0);
	ck_assert_uint_eq(newuid, 1);
	ck_assert_int_eq(msg_get(ac.id, archive, newuid, &c), 0);
	/* The same sealed content, not a second copy of it. */
	ck_assert_uint_eq(c.blob_id, a.blob_id);
	ck_assert_uint_eq(count_records(st, DBI_BLOBS, ac.id), 1);
	ck_assert_uint_eq(c.size, a.size);
	ck_assert_uint_eq(c.flags, STORE_F_FLAGGED);
	/* The keyword went by name: bit 1 in Archiv. */
	ck_assert_uint_eq(c.keywords, 0x2);
	mbox_get(ac.id, archive, &arch);
	ck_assert_uint_eq(arch.messages, 1);
	ck_assert_uint_eq(arch.unseen, 1);
	ck_assert_uint_eq(arch.bytes, a.size);
	ck_assert_uint_eq(arch.uidnext, 2);
	ck_assert_uint_eq(arch.nkeywords, 2);
	ck_assert_str_eq(arch.keywords[1], "$Important");
	store_mailbox_clear(&arch);
	check_clean(st);

	/* Expunging one copy keeps the other readable. */
	ck_assert_int_eq(msg_expunge(ac.id, ac.inbox, a.uid), 0);
	ck_assert_int_eq(msg_get(ac.id, ac.inbox, a.uid, &c), STORE_ENOTFOUND);
	ck_assert_int_eq(msg_expunge(ac.id, ac.inbox, a.uid), STORE_ENOTFOUND);
	check_content(st, ac.sk, a.blob_id, text, strlen(text));
	check_clean(st);
	/* Expunging both removes the blob and its chunks. */
	ck_assert_int_eq(msg_expunge(ac.id, archive, newuid), 0);
	ck_assert_int_eq(try_read(st, ac.sk, a.blob_id, &data, &len),
	    STORE_ENOTFOUND);
	ck_assert_ptr_null(data);
	ck_assert_uint_eq(count_records(st, DBI_BLOBS, ac.id), 0);
	ck_assert_uint_eq(count_records(st, DBI_CHUNKS, ac.id), 0);
	ck_assert_uint_eq(count_records(st, DBI_MESSAGES, ac.id), 0);
	mbox_get(ac.id, archive, &arch);
	ck_assert_uint_eq(arch.messages, 0);
	ck_assert_uint_eq(arch.unseen, 0);
	ck_assert_uint_eq(arch.bytes, 0);
	store_mailbox_clear(&arch);
	check_clean(st);
	/* Copy of what is not there. */
	ck_assert_int_eq(msg_copy(ac.id, ac.inbox, a.uid, archive, &newuid),
	    STORE_ENOTFOUND);
	acct_free(&ac);
}
END_TEST

/* A lease record of pid (count 1, or deleted with count 0). */
struct lease_arg {
	uint64_t	 acct, blob;
	uint32_t	 pid, count;
	enum { L_RAW, L_TAKE, L_DROP } op;
};

static int
lease_txn(struct store_txn *txn, void *arg)
{
	struct lease_arg	*la = arg;
	uint8_t			 key[KEY_BLOB + 4], v[4];

	if (la->op == L_TAKE)
		return store_blob_lease_take(txn, la->acct, la->blob);
	if (la->op == L_DROP)
		return store_blob_lease_drop(txn, la->acct, la->blob);
	store_key_blob(key, la->acct, la->blob);
	pack_be32(key + KEY_BLOB, la->pid);
	if (la->count == 0)
		return store_db_del(txn, DBI_LEASES, key, sizeof(key));
	pack_be32(v, la->count);
	return store_db_put(txn, DBI_LEASES, key, sizeof(key), v, sizeof(v));
}

static int
lease(uint64_t acct, uint64_t blob, int op, uint32_t pid, uint32_t count)
{
	struct lease_arg	 la = { acct, blob, pid, count, op };

	return store_txn_run(st, lease_txn, &la);
}

/* A pid that was a process and is no more. */
static uint32_t
dead_pid(void)
{
	pid_t	 pid;
	int	 status;

	if ((pid = fork()) == 0)
		_exit(0);
	ck_assert_int_gt(pid, 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return (uint32_t)pid;
}

/*
 * Leases (store-lease.c): a blob a live process (another, or this one)
 * reads keeps its chunks when it is freed, until the last lease goes; a
 * dead reader's lease counts as none, and the sweep frees what it kept.
 */
START_TEST(test_blob_lease)
{
	struct acct		 ac;
	struct store_msg	 a, b;
	static const char	 text[] = "Subject: leased\r\n\r\nread on\r\n";

	acct_create(st, "lea@example.org", &ac);
	/* Another live process (pid 1 is always there) reads a. */
	a = append_str(&ac, ac.inbox, text, 0);
	ck_assert_int_eq(lease(ac.id, a.blob_id, L_RAW, 1, 1), 0);
	ck_assert_int_eq(lease(ac.id, a.blob_id, L_TAKE, 0, 0), 0);
	ck_assert_int_eq(msg_expunge(ac.id, ac.inbox, a.uid), 0);
	ck_assert_uint_eq(count_records(st, DBI_BLOBS, ac.id), 0);
	ck_assert_uint_eq(count_records(st, DBI_CHUNKS, ac.id), 1);
	/* Two leases and the freed marker. */
	ck_assert_uint_eq(count_records(st, DBI_LEASES, ac.id), 3);
	check_clean(st);
	/* Ours goes: the other still reads. */
	ck_assert_int_eq(lease(ac.id, a.blob_id, L_DROP, 0, 0), 0);
	ck_assert_uint_eq(count_records(st, DBI_CHUNKS, ac.id), 1);
	/* The other process dies; the sweep at a start frees the chunks. */
	ck_assert_int_eq(lease(ac.id, a.blob_id, L_RAW, 1, 0), 0);
	ck_assert_int_eq(lease(ac.id, a.blob_id, L_RAW, dead_pid(), 1), 0);
	ck_assert_uint_eq(count_records(st, DBI_CHUNKS, ac.id), 1);
	ck_assert_int_eq(store_blob_lease_sweep(st), 0);
	ck_assert_uint_eq(count_records(st, DBI_CHUNKS, ac.id), 0);
	ck_assert_uint_eq(count_records(st, DBI_LEASES, ac.id), 0);
	check_clean(st);

	/* Only our own lease, twice (two sessions): the last one frees. */
	b = append_str(&ac, ac.inbox, text, 0);
	ck_assert_int_eq(lease(ac.id, b.blob_id, L_TAKE, 0, 0), 0);
	ck_assert_int_eq(lease(ac.id, b.blob_id, L_TAKE, 0, 0), 0);
	ck_assert_int_eq(msg_expunge(ac.id, ac.inbox, b.uid), 0);
	ck_assert_uint_eq(count_records(st, DBI_CHUNKS, ac.id), 1);
	ck_assert_int_eq(lease(ac.id, b.blob_id, L_DROP, 0, 0), 0);
	ck_assert_uint_eq(count_records(st, DBI_CHUNKS, ac.id), 1);
	ck_assert_int_eq(lease(ac.id, b.blob_id, L_DROP, 0, 0), 0);
	ck_assert_uint_eq(count_records(st, DBI_CHUNKS, ac.id), 0);
	ck_assert_uint_eq(count_records(st, DBI_LEASES, ac.id), 0);

	/* Freed before a lease could be taken: nothing to lease. */
	ck_assert_int_eq(lease(ac.id, b.blob_id, L_TAKE, 0, 0),
	    STORE_ENOTFOUND);
	ck_assert_uint_eq(count_records(st, DBI_LEASES, ac.id), 0);

	/* A dead reader's lease is none: the last live one frees. */
	b = append_str(&ac, ac.inbox, text, 0);
	ck_assert_int_eq(lease(ac.id, b.blob_id, L_RAW, 1, 1), 0);
	ck_assert_int_eq(lease(ac.id, b.blob_id, L_RAW, dead_pid(), 1), 0);
	ck_assert_int_eq(msg_expunge(ac.id, ac.inbox, b.uid), 0);
	ck_assert_uint_eq(count_records(st, DBI_CHUNKS, ac.id), 1);
	/* Freed, but kept for pid 1: a lease can still be had. */
	ck_assert_int_eq(lease(ac.id, b.blob_id, L_TAKE, 0, 0), 0);
	ck_assert_int_eq(lease(ac.id, b.blob_id, L_DROP, 0, 0), 0);
	ck_assert_uint_eq(count_records(st, DBI_CHUNKS, ac.id), 1);
	ck_assert_int_eq(lease(ac.id, b.blob_id, L_RAW, 1, 0), 0);
	/* What a drop of ours finds: no lease of ours, nobody else alive. */
	ck_assert_int_eq(lease(ac.id, b.blob_id, L_DROP, 0, 0), 0);
	ck_assert_uint_eq(count_records(st, DBI_CHUNKS, ac.id), 0);
	ck_assert_uint_eq(count_records(st, DBI_LEASES, ac.id), 0);
	check_clean(st);
	acct_free(&ac);
}
END_TEST

START_TEST(test_expunge_counters)
{
	struct acct		 ac;
	struct store_mailbox	 m;
	struct store_msg	 a, b;

	acct_create(st, "tara@example.org", &ac);
	a = append_str(&ac, ac.inbox, "seen", STORE_F_SEEN);
	b = append_str(&ac, ac.inbox, "unseen!", 0);
	ck_assert_int_eq(msg_expunge(ac.id, ac.inbox, b.uid), 0);
	mbox_get(ac.id, ac.inbox, &m);
	ck_assert_uint_eq(m.messages, 1);
	ck_assert_uint_eq(m.unseen, 0);
	ck_assert_uint_eq(m.bytes, a.size);
	ck_assert_uint_eq(m.uidnext, 3);
	store_mailbox_clear(&m);
	ck_assert_int_eq(msg_expunge(ac.id, ac.inbox, a.uid), 0);
	mbox_get(ac.id, ac.inbox, &m);
	ck_assert_uint_eq(m.messages, 0);
	ck_assert_uint_eq(m.bytes, 0);
	store_mailbox_clear(&m);
	check_clean(st);
	acct_free(&ac);
}
END_TEST

START_TEST(test_msgid)
{
	static const char	 id1[] = "<abc@home.example>";
	static const char	 id2[] = "<abd@home.example>";
	struct acct		 ac, other;
	struct msgid_arg	 ma;
	uint8_t			 h2[STORE_MSGID_HASHBYTES];
	uint32_t		 sent;

	acct_create(st, "amy@example.org", &ac);
	acct_create(st, "ben@example.org", &other);
	ck_assert_int_eq(mbox_find(ac.id, "Gesendet", &sent), 0);
	store_set_clock(st, fixed_now);
	memset(&ma, 0, sizeof(ma));
	store_msgid_hash(id1, strlen(id1), ma.hash);
	store_msgid_hash(id2, strlen(id2), h2);
	ck_assert_mem_ne(ma.hash, h2, sizeof(h2));
	store_msgid_hash(id2, strlen(id2), h2);
	store_msgid_hash(id1, strlen(id1), h2);
	ck_assert_mem_eq(ma.hash, h2, sizeof(h2));

	ma.acct = ac.id;
	ck_assert_int_eq(store_txn_run(st, msgid_txn, &ma), STORE_ENOTFOUND);
	ma.put = 1;
	ma.mbox = sent;
	ma.uid = 17;
	ck_assert_int_eq(store_txn_run(st, msgid_txn, &ma), 0);
	ma.put = 0;
	ma.mbox = ma.uid = 0;
	ck_assert_int_eq(store_txn_run(st, msgid_txn, &ma), 0);
	ck_assert_uint_eq(ma.mbox, sent);
	ck_assert_uint_eq(ma.uid, 17);
	ck_assert_int_eq(ma.when, FIXED_NOW);
	/* Per account. */
	ma.acct = other.id;
	ck_assert_int_eq(store_txn_run(st, msgid_txn, &ma), STORE_ENOTFOUND);
	acct_free(&ac);
	acct_free(&other);
}
END_TEST

/* ---- quota ---- */

START_TEST(test_quota)
{
	struct acct		 ac;
	struct store_mailbox	 m;
	struct store_msg	 a;
	uint32_t		 archive, newuid;
	char			 big[600];

	store_close(&st);
	opts.quota = 1000;
	st = open_store(statedir);
	acct_create(st, "cleo@example.org", &ac);
	ck_assert_int_eq(mbox_find(ac.id, "Archiv", &archive), 0);
	memset(big, 'q', sizeof(big));
	ck_assert_int_eq(try_append(st, &ac, ac.inbox, big, sizeof(big), 0, 0,
	    &a), 0);
	/* The quota counts the account, over all its mailboxes. */
	ck_assert_int_eq(try_append(st, &ac, archive, big, sizeof(big), 0, 0,
	    NULL), STORE_ELIMIT);
	ck_assert_int_eq(try_append(st, &ac, archive, big, 400, 0, 0, NULL), 0);
	ck_assert_int_eq(try_append(st, &ac, archive, big, 1, 0, 0, NULL),
	    STORE_ELIMIT);
	/* A copy counts as much as the message. */
	ck_assert_int_eq(msg_copy(ac.id, ac.inbox, a.uid, archive, &newuid),
	    STORE_ELIMIT);
	/* Nothing of the refused ones stayed. */
	mbox_get(ac.id, archive, &m);
	ck_assert_uint_eq(m.messages, 1);
	ck_assert_uint_eq(m.bytes, 400);
	ck_assert_uint_eq(m.uidnext, 2);
	store_mailbox_clear(&m);
	ck_assert_uint_eq(count_records(st, DBI_BLOBS, ac.id), 2);
	/* Space freed is space again. */
	ck_assert_int_eq(msg_expunge(ac.id, ac.inbox, a.uid), 0);
	ck_assert_int_eq(try_append(st, &ac, ac.inbox, big, sizeof(big), 0, 0,
	    NULL), 0);
	check_clean(st);
	acct_free(&ac);
}
END_TEST

/* ---- notification ---- */

START_TEST(test_notify)
{
	struct acct		 ac;
	struct store_event	 ev;
	struct store_msg	 m;
	int			 fd;

	acct_create(st, "erin@example.org", &ac);
	fd = store_notify_listen(st);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(store_notify_listen(st), fd);
	ck_assert_int_eq(store_notify_read(st, &ev), 0);
	m = append_str(&ac, ac.inbox, "ping", 0);
	ck_assert_int_eq(store_notify_read(st, &ev), 1);
	ck_assert_uint_eq(ev.account_id, ac.id);
	ck_assert_uint_eq(ev.mailbox_id, ac.inbox);
	ck_assert_uint_eq(ev.modseq, m.modseq);
	ck_assert_int_eq(store_notify_read(st, &ev), 0);
	/* An aborted transaction tells nobody. */
	ck_assert_int_eq(msg_store(ac.id, ac.inbox, m.uid, 0, 0, 1, NULL),
	    STORE_EMODIFIED);
	ck_assert_int_eq(store_notify_read(st, &ev), 0);
	acct_free(&ac);
}
END_TEST

Suite *
store_message_suite(void)
{
	Suite	*s = suite_create("store_message");
	TCase	*tc;

	tc = check_store_tcase(s, "message", 60);
	tcase_add_test(tc, test_append_uids_counters);
	tcase_add_test(tc, test_append_internaldate);
	tcase_add_test(tc, test_store_flags);
	tcase_add_test(tc, test_store_unchangedsince);
	tcase_add_test(tc, test_changes_since);
	tcase_add_test(tc, test_copy_expunge_blob);
	tcase_add_test(tc, test_expunge_counters);
	tcase_add_test(tc, test_blob_lease);
	tcase_add_test(tc, test_msgid);
	tcase_add_test(tc, test_quota);
	tcase_add_test(tc, test_notify);

	return s;
}

int
main(void)
{
	return check_store_main("check_store_message", store_message_suite());
}
