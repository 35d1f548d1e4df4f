/*
 * check_store_account.c: unit tests of libstore (store/store.h):
 * accounts, correspondents and mailboxes.
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

Suite	*store_account_suite(void);

/* ---------------------------------------------------------------- */
/* Fixtures                                                           */
/* ---------------------------------------------------------------- */

static time_t	 clock_value;

static time_t
test_clock(void)
{
	return clock_value;
}

/* ================================================================ */
/* Accounts                                                           */
/* ================================================================ */

START_TEST(test_account_insert_find)
{
	struct acct		 ac;
	struct aop		 o;
	struct vault_seckey	*got;
	uint8_t			*kek, id[32];

	acct_create(st, "alice@example.org", &ac);
	memset(&o, 0, sizeof(o));
	o.op = A_GET;
	o.id = ac.id;
	ck_assert_int_eq(aop_run(&o), 0);
	ck_assert_uint_eq(o.a.id, ac.id);
	ck_assert_str_eq(o.a.address, "alice@example.org");
	ck_assert_str_eq(o.a.inviter, "sender@home.example");
	ck_assert_uint_eq(o.a.state, STORE_ACCT_PENDING);
	ck_assert_int_ne(o.a.created, 0);
	ck_assert_int_eq(o.a.last_activity, o.a.created);
	ck_assert_mem_eq(o.a.pk, ac.sk->pk, 32);
	ck_assert_int_eq(store_account_has_invite(&o.a), 1);
	ck_assert_uint_eq(o.a.next_mailbox_id, 7);	/* six made */
	ck_assert_uint_ne(o.a.last_uidvalidity, 0);
	store_account_clear(&o.a);

	memset(&o, 0, sizeof(o));
	o.op = A_FIND;
	o.address = "alice@example.org";
	ck_assert_int_eq(aop_run(&o), 0);
	ck_assert_uint_eq(o.a.id, ac.id);
	store_account_clear(&o.a);
	o.address = "bob@example.org";
	ck_assert_int_eq(aop_run(&o), STORE_ENOTFOUND);
	o.address = "Alice@example.org";	/* addresses are normalized */
	ck_assert_int_eq(aop_run(&o), STORE_ENOTFOUND);

	/* What the bootstrap does with the link: token -> account -> key. */
	kek = xsecret_alloc(VAULT_KEYBYTES);
	vault_token_derive(ac.token, id, kek);
	memset(&o, 0, sizeof(o));
	o.op = A_TOKEN;
	o.token_id = id;
	ck_assert_int_eq(aop_run(&o), 0);
	ck_assert_uint_eq(o.a.id, ac.id);
	ck_assert_uint_eq(o.a.kek_kind, VAULT_KEK_TOKEN);
	got = vault_unwrap(o.a.id, o.a.pk, kek, o.a.kek_kind, o.a.wrapped_sk);
	ck_assert_ptr_nonnull(got);
	ck_assert_mem_eq(got->sk, ac.sk->sk, crypto_box_SECRETKEYBYTES);
	vault_seckey_free(&got);
	store_account_clear(&o.a);
	xsecret_free(kek);
	/* The all-zero id means "no invitation" and finds nothing. */
	memset(id, 0, sizeof(id));
	ck_assert_int_eq(aop_run(&o), STORE_ENOTFOUND);
	id[0] = 1;
	ck_assert_int_eq(aop_run(&o), STORE_ENOTFOUND);
	check_clean(st);
	acct_free(&ac);
}
END_TEST

START_TEST(test_account_duplicate)
{
	struct acct	 a, b;
	struct aop	 o;

	acct_create(st, "dup@example.org", &a);
	ck_assert_int_eq(acct_try_create(st, "dup@example.org", &b),
	    STORE_EEXIST);
	/* The failed insert left nothing: not even its id or mailboxes. */
	memset(&o, 0, sizeof(o));
	o.op = A_GET;
	o.id = a.id + 1;
	ck_assert_int_eq(aop_run(&o), STORE_ENOTFOUND);
	ck_assert_uint_eq(count_records(st, DBI_MAILBOXES, a.id + 1), 0);
	acct_create(st, "other@example.org", &b);
	ck_assert_uint_eq(b.id, a.id + 1);
	check_clean(st);
	acct_free(&a);
	acct_free(&b);
}
END_TEST

START_TEST(test_account_default_mailboxes)
{
	static const struct {
		const char	*name;
		uint32_t	 special;
	} want[] = {
		{ "INBOX", 0 },
		{ "Gesendet", STORE_SPECIAL_SENT },
		{ "Entw\xc3\xbcrfe", STORE_SPECIAL_DRAFTS },
		{ "Papierkorb", STORE_SPECIAL_TRASH },
		{ "Archiv", STORE_SPECIAL_ARCHIVE },
		{ "Spam", STORE_SPECIAL_JUNK },
	};
	struct mbox_seen	 sa;
	struct acct		 ac;
	struct mop		 o;
	size_t			 i;

	acct_create(st, "carol@example.org", &ac);
	memset(&sa, 0, sizeof(sa));
	sa.acct = ac.id;
	ck_assert_int_eq(store_txn_run(st, mbox_seen_txn, &sa), 0);
	ck_assert_int_eq(sa.n, 6);
	ck_assert_int_eq(sa.inbox, 1);
	ck_assert_int_eq(sa.twice, 0);
	ck_assert_uint_eq(sa.specials, STORE_SPECIAL_SENT |
	    STORE_SPECIAL_DRAFTS | STORE_SPECIAL_TRASH | STORE_SPECIAL_ARCHIVE |
	    STORE_SPECIAL_JUNK);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		memset(&o, 0, sizeof(o));
		o.op = M_FIND;
		o.acct = ac.id;
		o.name = want[i].name;
		ck_assert_int_eq(mop_run(&o), 0);
		ck_assert_uint_eq(o.m.special_use, want[i].special);
		ck_assert_uint_eq(o.m.messages, 0);
		ck_assert_uint_eq(o.m.uidnext, 1);
		ck_assert_uint_ne(o.m.uidvalidity, 0);
		store_mailbox_clear(&o.m);
		if (want[i].special != 0) {
			o.op = M_SPECIAL;
			o.special = want[i].special;
			ck_assert_int_eq(mop_run(&o), 0);
			ck_assert_str_eq(o.m.name, want[i].name);
			store_mailbox_clear(&o.m);
		}
		/* Clients that ignore SPECIAL-USE see them subscribed. */
		o.op = M_SUBGET;
		ck_assert_msg(mop_run(&o) == 0, "%s is not subscribed",
		    want[i].name);
	}
	o.op = M_SUBGET;
	o.name = "inbox";
	ck_assert_int_eq(mop_run(&o), 0);
	o.name = "Nonexistent";
	ck_assert_int_eq(mop_run(&o), STORE_ENOTFOUND);
	acct_free(&ac);
}
END_TEST

START_TEST(test_account_update)
{
	struct acct	 ac;
	struct aop	 o, f;
	uint8_t		 newid[32];

	acct_create(st, "dave@example.org", &ac);
	memset(&o, 0, sizeof(o));
	o.op = A_GET;
	o.id = ac.id;
	ck_assert_int_eq(aop_run(&o), 0);
	/* Activation: a new token index entry, the old one goes. */
	randombytes_buf(newid, sizeof(newid));
	memcpy(o.a.token_id, newid, sizeof(newid));
	o.a.state = STORE_ACCT_ACTIVE;
	o.a.activated = 12345;
	o.op = A_UPDATE;
	ck_assert_int_eq(aop_run(&o), 0);
	memset(&f, 0, sizeof(f));
	f.op = A_TOKEN;
	f.token_id = ac.token_id;
	ck_assert_int_eq(aop_run(&f), STORE_ENOTFOUND);
	f.token_id = newid;
	ck_assert_int_eq(aop_run(&f), 0);
	ck_assert_uint_eq(f.a.id, ac.id);
	ck_assert_uint_eq(f.a.state, STORE_ACCT_ACTIVE);
	ck_assert_int_eq(f.a.activated, 12345);
	store_account_clear(&f.a);
	check_clean(st);

	/* No token at all: the index entry goes. */
	memset(o.a.token_id, 0, sizeof(o.a.token_id));
	ck_assert_int_eq(aop_run(&o), 0);
	ck_assert_int_eq(aop_run(&f), STORE_ENOTFOUND);
	check_clean(st);

	/* The address never changes. */
	free(o.a.address);
	o.a.address = xstrdup("eve@example.org");
	ck_assert_int_eq(aop_run(&o), STORE_ESTATE);
	store_account_clear(&o.a);
	/* Nor can an account that does not exist be updated. */
	o.a.id = 999;
	o.a.address = xstrdup("dave@example.org");
	o.a.state = STORE_ACCT_ACTIVE;
	ck_assert_int_eq(aop_run(&o), STORE_ENOTFOUND);
	store_account_clear(&o.a);
	acct_free(&ac);
}
END_TEST

struct logins_arg {
	uint64_t			 id;
	const struct vault_seckey	*sk;
	int				 add;
	struct store_login		 v[STORE_LOGINS_MAX + 5];
	size_t				 n;
};

static int
logins_txn(struct store_txn *txn, void *arg)
{
	struct logins_arg	*la = arg;
	struct store_login	 l;

	if (la->add) {
		memset(&l, 0, sizeof(l));
		l.when = 1000 + la->add;
		l.proto = STORE_LOGIN_IMAP;
		snprintf(l.peer, sizeof(l.peer), "192.0.2.0/24");
		return store_login_add(txn, la->id, &l);
	}
	return store_login_list(txn, la->sk, la->v, STORE_LOGINS_MAX + 5,
	    &la->n);
}

/* issue 14: the last 50 logins, newest first, sealed to the account. */
START_TEST(test_logins)
{
	struct acct		 ac, other;
	struct logins_arg	 la;
	struct vault_seckey	*wrong;
	int			 i;

	acct_create(st, "logins@example.org", &ac);
	acct_create(st, "other-logins@example.org", &other);
	memset(&la, 0, sizeof(la));
	la.id = ac.id;
	la.sk = ac.sk;
	ck_assert_int_eq(store_txn_run(st, logins_txn, &la), 0);
	ck_assert_uint_eq(la.n, 0);
	for (i = 1; i <= STORE_LOGINS_MAX + 10; i++) {
		la.add = i;
		ck_assert_int_eq(store_txn_run(st, logins_txn, &la), 0);
	}
	la.add = 0;
	ck_assert_int_eq(store_txn_run(st, logins_txn, &la), 0);
	ck_assert_uint_eq(la.n, STORE_LOGINS_MAX);
	ck_assert_int_eq(la.v[0].when, 1000 + STORE_LOGINS_MAX + 10);
	ck_assert_int_eq(la.v[STORE_LOGINS_MAX - 1].when, 1000 + 11);
	ck_assert_str_eq(la.v[0].peer, "192.0.2.0/24");
	ck_assert_uint_eq(la.v[0].proto, STORE_LOGIN_IMAP);
	/* Another account's key opens none of them. */
	wrong = vault_seckey_dup(other.sk);
	wrong->account_id = ac.id;
	la.sk = wrong;
	ck_assert_int_eq(store_txn_run(st, logins_txn, &la), 0);
	ck_assert_uint_eq(la.n, 0);
	vault_seckey_free(&wrong);
	acct_free(&ac);
	acct_free(&other);
}
END_TEST

START_TEST(test_account_touch)
{
	struct acct	 ac;
	struct aop	 o;
	time_t		 created;

	acct_create(st, "frank@example.org", &ac);
	memset(&o, 0, sizeof(o));
	o.op = A_GET;
	o.id = ac.id;
	ck_assert_int_eq(aop_run(&o), 0);
	created = o.a.last_activity;
	store_account_clear(&o.a);
	ck_assert_int_ne(created, 0);
	/* Within the hour nothing is written... */
	clock_value = created + STORE_ACTIVITY_INTERVAL - 1;
	store_set_clock(st, test_clock);
	o.op = A_TOUCH;
	ck_assert_int_eq(aop_run(&o), 0);
	o.op = A_GET;
	ck_assert_int_eq(aop_run(&o), 0);
	ck_assert_int_eq(o.a.last_activity, created);
	store_account_clear(&o.a);
	/* ...and an hour on, the time of this activity. */
	clock_value = created + STORE_ACTIVITY_INTERVAL + 100;
	o.op = A_TOUCH;
	ck_assert_int_eq(aop_run(&o), 0);
	o.op = A_GET;
	ck_assert_int_eq(aop_run(&o), 0);
	ck_assert_int_eq(o.a.last_activity, created + STORE_ACTIVITY_INTERVAL +
	    100);
	store_account_clear(&o.a);
	o.op = A_TOUCH;
	o.id = 999;
	ck_assert_int_eq(aop_run(&o), STORE_ENOTFOUND);
	acct_free(&ac);
}
END_TEST

/* The one-transaction readers: by id and by address. */
START_TEST(test_account_load)
{
	struct acct		 ac;
	struct store_account	 a;

	acct_create(st, "loaded@example.org", &ac);
	memset(&a, 0, sizeof(a));
	ck_assert_int_eq(store_account_load(st, ac.id, &a), 0);
	ck_assert_str_eq(a.address, "loaded@example.org");
	ck_assert_int_eq(store_account_lookup(st, "loaded@example.org", &a), 0);
	ck_assert_uint_eq(a.id, ac.id);
	store_account_clear(&a);
	ck_assert_int_eq(store_account_lookup(st, "nobody@example.org", &a),
	    STORE_ENOTFOUND);
	ck_assert_int_eq(store_account_load(st, ac.id + 1000, &a),
	    STORE_ENOTFOUND);
	store_account_clear(&a);
	acct_free(&ac);
}
END_TEST

START_TEST(test_account_iter)
{
	struct acct	 ac[4];
	struct idlist	 il;
	char		 addr[64];
	int		 i;

	for (i = 0; i < 4; i++) {
		snprintf(addr, sizeof(addr), "user%d@example.org", 3 - i);
		acct_create(st, addr, &ac[i]);
	}
	memset(&il, 0, sizeof(il));
	/* In id order (not address order); a non-zero return stops it. */
	ck_assert_int_eq(store_txn_run(st, iter_txn, &il), 42);
	ck_assert_uint_eq(il.n, 3);
	for (i = 0; i < 3; i++) {
		ck_assert_uint_eq(il.id[i], ac[i].id);
		ck_assert_uint_eq(il.state[i], STORE_ACCT_PENDING);
	}
	ck_assert_uint_lt(ac[0].id, ac[1].id);
	for (i = 0; i < 4; i++)
		acct_free(&ac[i]);
}
END_TEST

static int
corr_count(const struct store_corr *c, void *arg)
{
	struct corr_arg	*ca = arg;

	ca->n++;
	return strcmp(c->address, "a@home.example") == 0 &&
	    strcmp(c->fingerprint, "AAAA") == 0 ? 0 : 1;
}

static int
corr_txn(struct store_txn *txn, void *arg)
{
	struct corr_arg	*ca = arg;
	int		 ret;

	switch (ca->op) {
	case 0:
		if ((ret = store_corr_put(txn, ca->acct, "a@home.example",
		    "BBBB", "key-b", 5)) != 0)
			return ret;
		/* A second create for the same sender replaces the key. */
		return store_corr_put(txn, ca->acct, "a@home.example", "AAAA",
		    "key-a", 5);
	case 1:
		return store_corr_get(txn, ca->acct, "a@home.example", &ca->c);
	case 2:
		ca->n = 0;
		return store_corr_iter(txn, ca->acct, corr_count, ca);
	default:
		return store_corr_put(txn, ca->acct, "x@home.example",
		    "0123456789012345678901234567890123456789X", NULL, 0);
	}
}

START_TEST(test_correspondents)
{
	struct acct	 ac, other;
	struct corr_arg	 ca;

	acct_create(st, "grace@example.org", &ac);
	acct_create(st, "heidi@example.org", &other);
	memset(&ca, 0, sizeof(ca));
	ca.acct = ac.id;
	ck_assert_int_eq(store_txn_run(st, corr_txn, &ca), 0);
	ca.op = 1;
	ck_assert_int_eq(store_txn_run(st, corr_txn, &ca), 0);
	ck_assert_str_eq(ca.c.address, "a@home.example");
	ck_assert_str_eq(ca.c.fingerprint, "AAAA");
	store_corr_clear(&ca.c);
	ca.op = 2;
	ck_assert_int_eq(store_txn_run(st, corr_txn, &ca), 0);
	ck_assert_int_eq(ca.n, 1);
	/* Correspondents belong to one account. */
	ca.acct = other.id;
	ck_assert_int_eq(store_txn_run(st, corr_txn, &ca), 0);
	ck_assert_int_eq(ca.n, 0);
	ca.op = 1;
	ck_assert_int_eq(store_txn_run(st, corr_txn, &ca), STORE_ENOTFOUND);
	/* A fingerprint longer than v4's 40 digits does not fit. */
	ca.op = 3;
	ck_assert_int_eq(store_txn_run(st, corr_txn, &ca), STORE_ELIMIT);
	acct_free(&ac);
	acct_free(&other);
}
END_TEST

/* ================================================================ */
/* Mailboxes                                                          */
/* ================================================================ */

START_TEST(test_mailbox_create_find)
{
	struct acct	 ac, other;
	struct mop	 o;
	uint32_t	 work, sub, id;

	acct_create(st, "ivan@example.org", &ac);
	acct_create(st, "judy@example.org", &other);
	work = mbox_create(ac.id, "Work");
	sub = mbox_create(ac.id, "Work/Sub");
	ck_assert_uint_ne(work, sub);
	ck_assert_int_eq(mbox_find(ac.id, "Work", &id), 0);
	ck_assert_uint_eq(id, work);
	ck_assert_int_eq(mbox_find(ac.id, "Work/Sub", &id), 0);
	ck_assert_uint_eq(id, sub);
	/* RFC 3501 5.1: only INBOX is case-insensitive. */
	ck_assert_int_eq(mbox_find(ac.id, "work", &id), STORE_ENOTFOUND);
	ck_assert_int_eq(mbox_find(ac.id, "iNbOx", &id), 0);
	ck_assert_uint_eq(id, ac.inbox);
	ck_assert_int_eq(mbox_find(ac.id, "inbox", &id), 0);
	ck_assert_uint_eq(id, ac.inbox);
	/* Mailboxes belong to one account. */
	ck_assert_int_eq(mbox_find(other.id, "Work", &id), STORE_ENOTFOUND);

	memset(&o, 0, sizeof(o));
	o.op = M_CREATE;
	o.acct = ac.id;
	o.name = "Work";
	ck_assert_int_eq(mop_run(&o), STORE_EEXIST);
	o.name = "inbox";
	ck_assert_int_eq(mop_run(&o), STORE_EEXIST);
	o.name = "";
	ck_assert_int_eq(mop_run(&o), STORE_ELIMIT);
	/* Another case is another mailbox, except for INBOX. */
	o.name = "WORK";
	ck_assert_int_eq(mop_run(&o), 0);
	ck_assert_uint_ne(o.m.id, work);
	ck_assert_str_eq(o.m.name, "WORK");
	ck_assert_uint_eq(o.m.uidnext, 1);
	ck_assert_uint_eq(o.m.highestmodseq, 1);
	store_mailbox_clear(&o.m);

	memset(&o, 0, sizeof(o));
	o.op = M_GET;
	o.acct = ac.id;
	o.id = 999;
	ck_assert_int_eq(mop_run(&o), STORE_ENOTFOUND);
	o.op = M_SPECIAL;
	o.special = 0x100;
	ck_assert_int_eq(mop_run(&o), STORE_ENOTFOUND);
	check_clean(st);
	acct_free(&ac);
	acct_free(&other);
}
END_TEST

START_TEST(test_mailbox_rename_delete)
{
	struct acct		 ac;
	struct mop		 o;
	struct store_mailbox	 m;
	uint32_t		 work, id;

	acct_create(st, "kim@example.org", &ac);
	work = mbox_create(ac.id, "Work");
	append_str(&ac, work, "Subject: x\r\n\r\nbody\r\n", 0);
	memset(&o, 0, sizeof(o));
	o.op = M_RENAME;
	o.acct = ac.id;
	o.id = work;
	o.name = "Projects";
	ck_assert_int_eq(mop_run(&o), 0);
	ck_assert_int_eq(mbox_find(ac.id, "Work", &id), STORE_ENOTFOUND);
	ck_assert_int_eq(mbox_find(ac.id, "Projects", &id), 0);
	ck_assert_uint_eq(id, work);
	/* The messages and UIDs stay with the mailbox. */
	mbox_get(ac.id, work, &m);
	ck_assert_uint_eq(m.messages, 1);
	ck_assert_uint_eq(m.uidnext, 2);
	store_mailbox_clear(&m);
	o.name = "Spam";
	ck_assert_int_eq(mop_run(&o), STORE_EEXIST);
	o.name = "INBOX";
	ck_assert_int_eq(mop_run(&o), STORE_EEXIST);
	o.name = "Inbox";
	ck_assert_int_eq(mop_run(&o), STORE_EEXIST);
	o.id = 999;
	o.name = "Nothing";
	ck_assert_int_eq(mop_run(&o), STORE_ENOTFOUND);

	o.op = M_DELETE;
	o.id = work;
	ck_assert_int_eq(mop_run(&o), 0);
	ck_assert_int_eq(mbox_find(ac.id, "Projects", &id), STORE_ENOTFOUND);
	ck_assert_int_eq(mop_run(&o), STORE_ENOTFOUND);
	/* Its messages went with it. */
	ck_assert_uint_eq(count_records(st, DBI_BLOBS, ac.id), 0);
	ck_assert_uint_eq(count_records(st, DBI_CHUNKS, ac.id), 0);
	ck_assert_uint_eq(count_records(st, DBI_MESSAGES, ac.id), 0);
	ck_assert_uint_eq(count_records(st, DBI_CHANGES, ac.id), 0);
	check_clean(st);
	acct_free(&ac);
}
END_TEST

static void
check_uidvalidity_grows(void)
{
	struct acct		 ac;
	struct mop		 o;
	struct store_mailbox	 m;
	uint32_t		 id, uv[4];
	int			 i;

	acct_create(st, "leo@example.org", &ac);
	for (i = 0; i < 4; i++) {
		id = mbox_create(ac.id, "Again");
		mbox_get(ac.id, id, &m);
		uv[i] = m.uidvalidity;
		store_mailbox_clear(&m);
		if (i > 0)
			ck_assert_msg(uv[i] > uv[i - 1], "UIDVALIDITY %u after "
			    "%u", uv[i], uv[i - 1]);
		memset(&o, 0, sizeof(o));
		o.op = M_DELETE;
		o.acct = ac.id;
		o.id = id;
		ck_assert_int_eq(mop_run(&o), 0);
	}
	/* Every mailbox of the account got its own value. */
	mbox_get(ac.id, ac.inbox, &m);
	ck_assert_uint_lt(m.uidvalidity, uv[0]);
	store_mailbox_clear(&m);
	acct_free(&ac);
}

START_TEST(test_uidvalidity_realclock)
{
	check_uidvalidity_grows();
}
END_TEST

START_TEST(test_uidvalidity_stopped_clock)
{
	/* All in one second: time alone would repeat the value. */
	store_set_clock(st, fixed_now);
	check_uidvalidity_grows();
}
END_TEST

START_TEST(test_mailbox_keywords)
{
	struct acct		 ac;
	struct kw_arg		 ka;
	struct store_mailbox	 m;

	acct_create(st, "mia@example.org", &ac);
	memset(&ka, 0, sizeof(ka));
	ka.acct = ac.id;
	ka.mbox = ac.inbox;
	ka.name = "$Label1";
	ka.create = 0;
	ck_assert_int_eq(store_txn_run(st, kw_txn, &ka), STORE_ENOTFOUND);
	ka.create = 1;
	ck_assert_int_eq(store_txn_run(st, kw_txn, &ka), 0);
	ck_assert_uint_eq(ka.bit, 0);
	ka.name = "Work";
	ck_assert_int_eq(store_txn_run(st, kw_txn, &ka), 0);
	ck_assert_uint_eq(ka.bit, 1);
	/* RFC 3501 9: compared case-insensitively. */
	ka.name = "$label1";
	ka.create = 0;
	ck_assert_int_eq(store_txn_run(st, kw_txn, &ka), 0);
	ck_assert_uint_eq(ka.bit, 0);
	mbox_get(ac.id, ac.inbox, &m);
	ck_assert_uint_eq(m.nkeywords, 2);
	ck_assert_str_eq(m.keywords[0], "$Label1");
	ck_assert_str_eq(m.keywords[1], "Work");
	store_mailbox_clear(&m);
	/* 64 per mailbox, one bit each. */
	ka.fill = STORE_MAX_KEYWORDS - 2;
	ka.name = "Work";
	ck_assert_int_eq(store_txn_run(st, kw_txn, &ka), 0);
	ka.fill = 0;
	ka.create = 1;
	ka.name = "one-too-many";
	ck_assert_int_eq(store_txn_run(st, kw_txn, &ka), STORE_EKEYWORDS);
	mbox_get(ac.id, ac.inbox, &m);
	ck_assert_uint_eq(m.nkeywords, STORE_MAX_KEYWORDS);
	store_mailbox_clear(&m);
	acct_free(&ac);
}
END_TEST

Suite *
store_account_suite(void)
{
	Suite	*s = suite_create("store_account");
	TCase	*tc;

	tc = check_store_tcase(s, "account", 60);
	tcase_add_test(tc, test_account_insert_find);
	tcase_add_test(tc, test_account_duplicate);
	tcase_add_test(tc, test_account_default_mailboxes);
	tcase_add_test(tc, test_account_update);
	tcase_add_test(tc, test_account_touch);
	tcase_add_test(tc, test_logins);
	tcase_add_test(tc, test_account_iter);
	tcase_add_test(tc, test_account_load);
	tcase_add_test(tc, test_correspondents);

	tc = check_store_tcase(s, "mailbox", 60);
	tcase_add_test(tc, test_mailbox_create_find);
	tcase_add_test(tc, test_mailbox_rename_delete);
	tcase_add_test(tc, test_uidvalidity_realclock);
	tcase_add_test(tc, test_uidvalidity_stopped_clock);
	tcase_add_test(tc, test_mailbox_keywords);

	return s;
}

int
main(void)
{
	return check_store_main("check_store_account", store_account_suite());
}
