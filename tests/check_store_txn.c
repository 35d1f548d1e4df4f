/*
 * check_store_txn.c: unit tests of libstore (store/store.h):
 * transactions and delivery.
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

Suite	*store_txn_suite(void);

/* ---- transactions ---- */

struct atomic_arg {
	struct acct		*ac;
	const struct store_blob	*blob;
	int			 runs;
	uint64_t		 blob_id;
};

static int
atomic_txn(struct store_txn *txn, void *arg)
{
	struct atomic_arg	*at = arg;
	struct store_mailbox	 m;
	struct store_msg	 msg;
	struct store_account	 a;
	int			 ret;

	at->runs++;
	memset(&m, 0, sizeof(m));
	memset(&a, 0, sizeof(a));
	if ((ret = store_mailbox_create(txn, at->ac->id, "Temp", 0, &m)) != 0)
		return ret;
	store_mailbox_clear(&m);
	if ((ret = store_msg_append(txn, at->ac->id, at->ac->inbox, at->blob,
	    0, 0, 0, &msg)) != 0)
		return ret;
	at->blob_id = msg.blob_id;
	if ((ret = store_account_get(txn, at->ac->id, &a)) != 0)
		return ret;
	a.state = STORE_ACCT_DISABLED;
	ret = store_account_update(txn, &a);
	store_account_clear(&a);
	if (ret != 0)
		return ret;
	/* Everything written; now the caller changes its mind. */
	return STORE_ESTATE;
}

START_TEST(test_txn_atomic)
{
	struct acct		 ac;
	struct atomic_arg	 at;
	struct store_blob	*b;
	struct store_mailbox	 m;
	struct aop		 o;
	uint32_t		 id;
	uint8_t			*data;
	size_t			 len;

	acct_create(st, "dora@example.org", &ac);
	b = store_blob_seal(ac.id, ac.sk->pk, "never", 5, NULL, 0);
	memset(&at, 0, sizeof(at));
	at.ac = &ac;
	at.blob = b;
	ck_assert_int_eq(store_txn_run(st, atomic_txn, &at), STORE_ESTATE);
	ck_assert_int_eq(at.runs, 1);
	ck_assert_uint_ne(at.blob_id, 0);
	ck_assert_int_eq(mbox_find(ac.id, "Temp", &id), STORE_ENOTFOUND);
	mbox_get(ac.id, ac.inbox, &m);
	ck_assert_uint_eq(m.messages, 0);
	ck_assert_uint_eq(m.uidnext, 1);
	ck_assert_uint_eq(m.highestmodseq, 1);
	ck_assert_uint_eq(m.bytes, 0);
	store_mailbox_clear(&m);
	ck_assert_int_eq(try_read(st, ac.sk, at.blob_id, &data, &len),
	    STORE_ENOTFOUND);
	ck_assert_uint_eq(count_records(st, DBI_BLOBS, ac.id), 0);
	ck_assert_uint_eq(count_records(st, DBI_CHUNKS, ac.id), 0);
	memset(&o, 0, sizeof(o));
	o.op = A_GET;
	o.id = ac.id;
	ck_assert_int_eq(aop_run(&o), 0);
	ck_assert_uint_eq(o.a.state, STORE_ACCT_PENDING);
	ck_assert_uint_eq(o.a.next_mailbox_id, 7);
	store_account_clear(&o.a);
	check_clean(st);
	/* The same blob commits fine afterwards: the abort left no trace. */
	{
		struct append_arg aa;

		memset(&aa, 0, sizeof(aa));
		aa.acct = ac.id;
		aa.mbox = ac.inbox;
		aa.blob = b;
		ck_assert_int_eq(store_txn_run(st, append_txn, &aa), 0);
		ck_assert_uint_eq(aa.msg.uid, 1);
		check_content(st, ac.sk, aa.msg.blob_id, "never", 5);
	}
	store_blob_free(&b);
	check_clean(st);
	acct_free(&ac);
}
END_TEST

/* ---- delivery (store-deliver.c) ---- */

/* How many of the next commits "fail" after they took. */
static int	 commit_faults;

static int
commit_fault(struct store *s)
{
	if (commit_faults == 0)
		return 0;
	commit_faults--;
	/* What the environment says when it panicked under the commit. */
	return STORE_ERECOVER;
}

static void
deliver_init(struct store_delivery *d, const struct acct *ac)
{
	memset(d, 0, sizeof(*d));
	d->account_id = ac->id;
	d->pk = ac->sk->pk;
}

static const char deliver_msg[] = "From: a@home.example\r\n"
    "Message-ID: <1@home.example>\r\n\r\nOnce only.\r\n";

/*
 * Issue 16: the commit took, but store_txn_run() heard a failure and ran
 * the transaction again (or gave up); before, the rerun found its own
 * blob stored ("blob id collision") and the delivery was refused, and the
 * sender's retry stored the message twice.
 */
START_TEST(test_deliver_commit_unsure)
{
	struct acct		 ac;
	struct store_delivery	 d;
	struct store_mailbox	 m;
	int			 faults;

	acct_create(st, "gina@example.org", &ac);
	st->after_commit = commit_fault;
	for (faults = 0; faults <= 2; faults++) {
		/* 2: the run after the recovery "fails" too, and gives up. */
		commit_faults = faults;
		deliver_init(&d, &ac);
		ck_assert_int_eq(store_deliver_message(st, &d, deliver_msg,
		    sizeof(deliver_msg) - 1), 0);
		ck_assert_int_eq(commit_faults, 0);
		ck_assert_int_eq(d.ap.replayed, faults > 0);
		ck_assert_uint_eq(d.ap.msg.uid, (uint32_t)faults + 1);
		ck_assert_uint_eq(d.ap.mailbox_id, ac.inbox);
		check_content(st, ac.sk, d.ap.msg.blob_id, deliver_msg,
		    sizeof(deliver_msg) - 1);
		/* Each delivery is there once (the same text, three times). */
		mbox_get(ac.id, ac.inbox, &m);
		ck_assert_uint_eq(m.messages, (uint32_t)faults + 1);
		ck_assert_uint_eq(m.uidnext, (uint32_t)faults + 2);
		store_mailbox_clear(&m);
	}
	st->after_commit = NULL;
	check_clean(st);
	acct_free(&ac);
}
END_TEST

struct deliver_abort {
	struct store_delivery	 d;
	int			 runs;
};

/* The first run reaches its commit point, then aborts after all. */
static int
deliver_abort_txn(struct store_txn *txn, void *arg)
{
	struct deliver_abort	*da = arg;
	int			 ret;

	if ((ret = store_deliver(txn, &da->d)) != 0)
		return ret;
	return da->runs++ == 0 ? STORE_EDEADLOCK : 0;
}

/* A run that got as far as the commit but aborted is not a replay. */
START_TEST(test_deliver_rerun_aborted)
{
	struct acct		 ac;
	struct deliver_abort	 da;
	struct store_blob	*b;
	struct store_mailbox	 m;

	acct_create(st, "hugo@example.org", &ac);
	memset(&da, 0, sizeof(da));
	deliver_init(&da.d, &ac);
	b = store_blob_seal(ac.id, ac.sk->pk, "twice?", 6, NULL, 0);
	da.d.ap.blob = b;
	ck_assert_int_eq(store_append_run(st, &da.d.ap, deliver_abort_txn,
	    &da), 0);
	ck_assert_int_eq(da.runs, 2);
	ck_assert_int_eq(da.d.ap.replayed, 0);
	ck_assert_uint_eq(da.d.ap.msg.uid, 1);
	mbox_get(ac.id, ac.inbox, &m);
	ck_assert_uint_eq(m.messages, 1);
	store_mailbox_clear(&m);
	store_blob_free(&b);
	check_clean(st);
	acct_free(&ac);
}
END_TEST

/* The errors LMTP and the local delivery agent answer from. */
START_TEST(test_deliver_refusals)
{
	struct acct		 ac;
	struct store_delivery	 d;
	struct vault_seckey	*other;
	struct aop		 o;

	acct_create(st, "ida@example.org", &ac);
	deliver_init(&d, &ac);
	d.account_id = 999;
	ck_assert_int_eq(store_deliver_message(st, &d, "x", 1),
	    STORE_ENOTFOUND);
	/* Sealed to a key the account no longer has (a reinvite). */
	other = vault_keypair_new(ac.id);
	deliver_init(&d, &ac);
	d.pk = other->pk;
	ck_assert_int_eq(store_deliver_message(st, &d, "x", 1), STORE_ESTATE);
	ck_assert_uint_eq(d.state, STORE_ACCT_PENDING);
	vault_seckey_free(&other);
	memset(&o, 0, sizeof(o));
	o.op = A_GET;
	o.id = ac.id;
	ck_assert_int_eq(aop_run(&o), 0);
	o.a.state = STORE_ACCT_DISABLED;
	o.op = A_UPDATE;
	ck_assert_int_eq(aop_run(&o), 0);
	store_account_clear(&o.a);
	deliver_init(&d, &ac);
	ck_assert_int_eq(store_deliver_message(st, &d, "x", 1), STORE_ESTATE);
	ck_assert_uint_eq(d.state, STORE_ACCT_DISABLED);
	check_clean(st);
	acct_free(&ac);
}
END_TEST

/* The Gesendet copy: its mailbox comes back if the user deleted it. */
START_TEST(test_deliver_special_created)
{
	struct acct		 ac;
	struct store_delivery	 d;
	struct store_mailbox	 m;
	struct mop		 o;
	uint32_t		 sent;

	acct_create(st, "jana@example.org", &ac);
	ck_assert_int_eq(mbox_find(ac.id, "Gesendet", &sent), 0);
	memset(&o, 0, sizeof(o));
	o.op = M_DELETE;
	o.acct = ac.id;
	o.id = sent;
	ck_assert_int_eq(mop_run(&o), 0);
	deliver_init(&d, &ac);
	d.special_use = STORE_SPECIAL_SENT;
	ck_assert_int_eq(store_deliver_message(st, &d, "x", 1),
	    STORE_ENOTFOUND);
	d.create_name = "Gesendet";
	d.ap.flags = STORE_F_SEEN;
	ck_assert_int_eq(store_deliver_message(st, &d, "x", 1), 0);
	ck_assert_int_eq(mbox_find(ac.id, "Gesendet", &sent), 0);
	ck_assert_uint_eq(d.ap.mailbox_id, sent);
	mbox_get(ac.id, sent, &m);
	ck_assert_uint_eq(m.special_use, STORE_SPECIAL_SENT);
	ck_assert_uint_eq(m.messages, 1);
	ck_assert_uint_eq(m.unseen, 0);
	store_mailbox_clear(&m);
	check_clean(st);
	acct_free(&ac);
}
END_TEST

Suite *
store_txn_suite(void)
{
	Suite	*s = suite_create("store_txn");
	TCase	*tc;

	tc = check_store_tcase(s, "transaction", 60);
	tcase_add_test(tc, test_txn_atomic);

	tc = check_store_tcase(s, "deliver", 60);
	tcase_add_test(tc, test_deliver_commit_unsure);
	tcase_add_test(tc, test_deliver_rerun_aborted);
	tcase_add_test(tc, test_deliver_refusals);
	tcase_add_test(tc, test_deliver_special_created);

	return s;
}

int
main(void)
{
	return check_store_main("check_store_txn", store_txn_suite());
}
