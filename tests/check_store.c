/*
 * check_store.c: unit tests of store/store.h, libstore.
 *
 * Every test gets a fresh state directory under one temporary root that
 * main() removes at the end, so a failing test leaves nothing behind.
 * Accounts are made as guestbox-provision makes them (store_account_create):
 * a fresh key pair wrapped under a token KEK; the test keeps the secret
 * key to read messages back.
 *
 * The durability tests fork: Berkeley DB handles must not cross fork(),
 * so each process opens its own store, and a store is never open twice
 * in one process (DB_REGISTER tracks processes, not handles).  Child
 * processes report through their exit status, never through Check.
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

Suite		*store_suite(void);
const char	*__asan_default_options(void);
const char	*__lsan_default_suppressions(void);

/*
 * LeakSanitizer (--enable-sanitizers): Berkeley DB's DB->close and
 * DB_ENV->close return DB_RUNRECOVERY at once on an environment another
 * process recovered, leaving the handles allocated; store_txn_run() then
 * opens new ones.  test_kill_mid_txn does exactly that, so the handles
 * (made by db_env_create, db_create and DB->open) are not our leaks.
 * libdb has no frame pointers: only the slow unwinder sees those names.
 */
const char *
__asan_default_options(void)
{
	return "fast_unwind_on_malloc=0";
}

const char *
__lsan_default_suppressions(void)
{
	return "leak:db_env_create\n"
	    "leak:__db_create_internal\n"
	    "leak:__bam_read_root\n"
	    "leak:__env_init_rec\n";
}

#define FIXED_NOW	1700000000

static const struct store_mailbox_names names = {
	.sent = "Gesendet",
	.drafts = "Entw\xc3\xbcrfe",
	.trash = "Papierkorb",
	.archive = "Archiv",
	.junk = "Spam",
};

static char			 tmproot[] = "/tmp/check_store.XXXXXX";
static char			 statedir[PATH_MAX];
static struct store		*st;
static struct store_options	 opts;

/* An account as the tests know it: with its secret key. */
struct acct {
	uint64_t		 id;
	char			 address[128];
	struct vault_seckey	*sk;
	uint8_t			 token[VAULT_TOKENBYTES];
	uint8_t			 token_id[32];
	uint32_t		 inbox;
};

/* ---------------------------------------------------------------- */
/* Files                                                              */
/* ---------------------------------------------------------------- */

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	if (remove(path) == -1 && errno != ENOENT)
		fprintf(stderr, "remove %s: %s\n", path, strerror(errno));
	return 0;
}

static void
rm_rf(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---------------------------------------------------------------- */
/* Fixtures                                                           */
/* ---------------------------------------------------------------- */

static time_t	 clock_value;

static time_t
fixed_now(void)
{
	return FIXED_NOW;
}

static time_t
test_clock(void)
{
	return clock_value;
}

static struct store *
open_store(const char *dir)
{
	struct store	*s;
	int		 err = 0;

	s = store_open(dir, &opts, &err);
	ck_assert_msg(s != NULL, "store_open %s: %s", dir, store_strerror(err));
	return s;
}

static void
setup(void)
{
	ck_assert_int_eq(vault_init(), 0);
	snprintf(statedir, sizeof(statedir), "%s/state.XXXXXX", tmproot);
	ck_assert_ptr_nonnull(mkdtemp(statedir));
	memset(&opts, 0, sizeof(opts));
	opts.cache_size = 1024 * 1024;
	opts.checkpoint_interval = 300;
	opts.log_keep_for_backup = 0;
	opts.quota = 0;
	st = open_store(statedir);
}

static void
teardown(void)
{
	store_close(&st);
	rm_rf(statedir);
}

static void
check_problem(const char *problem, void *arg)
{
	fprintf(stderr, "store_check: %s\n", problem);
}

static void
check_clean(struct store *s)
{
	ck_assert_int_eq(store_check(s, check_problem, NULL), 0);
}

/* ---------------------------------------------------------------- */
/* Accounts                                                           */
/* ---------------------------------------------------------------- */

static int
acct_create_txn(struct store_txn *txn, void *arg)
{
	struct acct		*ac = arg;
	struct store_account	 a;
	int			 ret;

	memset(&a, 0, sizeof(a));
	a.address = xstrdup(ac->address);
	a.inviter = xstrdup("sender@home.example");
	a.state = STORE_ACCT_PENDING;
	ret = store_account_create(txn, &a, ac->token, &names, &ac->sk);
	ac->id = a.id;
	memcpy(ac->token_id, a.token_id, sizeof(ac->token_id));
	store_account_clear(&a);
	return ret;
}

static int
inbox_txn(struct store_txn *txn, void *arg)
{
	struct acct		*ac = arg;
	struct store_mailbox	 m;
	int			 ret;

	memset(&m, 0, sizeof(m));
	if ((ret = store_mailbox_find(txn, ac->id, STORE_INBOX, &m)) == 0)
		ac->inbox = m.id;
	store_mailbox_clear(&m);
	return ret;
}

/* Returns 0 or the store error; ac is ready to use on 0. */
static int
acct_try_create(struct store *s, const char *address, struct acct *ac)
{
	int	 ret;

	memset(ac, 0, sizeof(*ac));
	snprintf(ac->address, sizeof(ac->address), "%s", address);
	vault_token_new(ac->token);
	if ((ret = store_txn_run(s, acct_create_txn, ac)) != 0) {
		vault_seckey_free(&ac->sk);
		return ret;
	}
	return store_txn_run(s, inbox_txn, ac);
}

static void
acct_create(struct store *s, const char *address, struct acct *ac)
{
	int	 ret;

	ret = acct_try_create(s, address, ac);
	ck_assert_msg(ret == 0, "creating %s: %s", address, store_strerror(ret));
	ck_assert_uint_ne(ac->id, 0);
	ck_assert_uint_ne(ac->inbox, 0);
}

static void
acct_free(struct acct *ac)
{
	vault_seckey_free(&ac->sk);
}

struct aop {
	enum { A_GET, A_FIND, A_TOKEN, A_UPDATE, A_TOUCH } op;
	uint64_t		 id;
	const char		*address;
	const uint8_t		*token_id;
	struct store_account	 a;
};

static int
aop_txn(struct store_txn *txn, void *arg)
{
	struct aop	*o = arg;

	switch (o->op) {
	case A_GET:
		return store_account_get(txn, o->id, &o->a);
	case A_FIND:
		return store_account_find(txn, o->address, &o->a);
	case A_TOKEN:
		return store_account_find_token(txn, o->token_id, &o->a);
	case A_UPDATE:
		return store_account_update(txn, &o->a);
	case A_TOUCH:
		return store_account_activity(txn, o->id);
	}
	return STORE_EIO;
}

static int
aop_run(struct aop *o)
{
	return store_txn_run(st, aop_txn, o);
}

/* ---------------------------------------------------------------- */
/* Mailboxes                                                          */
/* ---------------------------------------------------------------- */

struct mop {
	enum { M_GET, M_FIND, M_SPECIAL, M_CREATE, M_RENAME, M_DELETE,
	    M_SUBGET } op;
	uint64_t		 acct;
	uint32_t		 id;
	const char		*name;
	uint32_t		 special;
	struct store_mailbox	 m;
};

static int
mop_txn(struct store_txn *txn, void *arg)
{
	struct mop	*o = arg;

	switch (o->op) {
	case M_GET:
		return store_mailbox_get(txn, o->acct, o->id, &o->m);
	case M_FIND:
		return store_mailbox_find(txn, o->acct, o->name, &o->m);
	case M_SPECIAL:
		return store_mailbox_find_special(txn, o->acct, o->special,
		    &o->m);
	case M_CREATE:
		return store_mailbox_create(txn, o->acct, o->name, o->special,
		    &o->m);
	case M_RENAME:
		return store_mailbox_rename(txn, o->acct, o->id, o->name);
	case M_DELETE:
		return store_mailbox_delete(txn, o->acct, o->id);
	case M_SUBGET:
		return store_sub_get(txn, o->acct, o->name);
	}
	return STORE_EIO;
}

static int
mop_run(struct mop *o)
{
	int	 ret;

	ret = store_txn_run(st, mop_txn, o);
	if (ret != 0)
		store_mailbox_clear(&o->m);
	return ret;
}

/* The mailbox record by id, or fails the test. */
static void
mbox_get(uint64_t acct, uint32_t id, struct store_mailbox *m)
{
	struct mop	 o;

	memset(&o, 0, sizeof(o));
	o.op = M_GET;
	o.acct = acct;
	o.id = id;
	ck_assert_int_eq(mop_run(&o), 0);
	*m = o.m;
}

static uint32_t
mbox_create(uint64_t acct, const char *name)
{
	struct mop	 o;
	uint32_t	 id;

	memset(&o, 0, sizeof(o));
	o.op = M_CREATE;
	o.acct = acct;
	o.name = name;
	ck_assert_int_eq(mop_run(&o), 0);
	id = o.m.id;
	store_mailbox_clear(&o.m);
	return id;
}

static int
mbox_find(uint64_t acct, const char *name, uint32_t *idp)
{
	struct mop	 o;
	int		 ret;

	memset(&o, 0, sizeof(o));
	o.op = M_FIND;
	o.acct = acct;
	o.name = name;
	if ((ret = mop_run(&o)) == 0)
		*idp = o.m.id;
	store_mailbox_clear(&o.m);
	return ret;
}

/* ---------------------------------------------------------------- */
/* Messages                                                           */
/* ---------------------------------------------------------------- */

struct append_arg {
	uint64_t		 acct;
	uint32_t		 mbox;
	const struct store_blob	*blob;
	uint32_t		 flags;
	uint64_t		 keywords;
	struct store_msg	 msg;
};

static int
append_txn(struct store_txn *txn, void *arg)
{
	struct append_arg	*aa = arg;

	return store_msg_append(txn, aa->acct, aa->mbox, aa->blob, aa->flags,
	    aa->keywords, 0, &aa->msg);
}

/* Seals and appends; returns the store error. */
static int
try_append(struct store *s, const struct acct *ac, uint32_t mbox,
    const void *data, size_t len, uint32_t flags, uint64_t keywords,
    struct store_msg *out)
{
	struct append_arg	 aa;
	struct store_blob	*b;
	int			 ret;

	b = store_blob_seal(ac->id, ac->sk->pk, data, len, NULL, 0);
	memset(&aa, 0, sizeof(aa));
	aa.acct = ac->id;
	aa.mbox = mbox;
	aa.blob = b;
	aa.flags = flags;
	aa.keywords = keywords;
	ret = store_txn_run(s, append_txn, &aa);
	store_blob_free(&b);
	if (ret == 0 && out != NULL)
		*out = aa.msg;
	return ret;
}

static struct store_msg
append_str(const struct acct *ac, uint32_t mbox, const char *text,
    uint32_t flags)
{
	struct store_msg	 m;
	int			 ret;

	memset(&m, 0, sizeof(m));
	ret = try_append(st, ac, mbox, text, strlen(text), flags, 0, &m);
	ck_assert_msg(ret == 0, "append: %s", store_strerror(ret));
	return m;
}

struct read_arg {
	const struct vault_seckey *sk;
	uint64_t		 blob_id;
	uint8_t			*data;
	size_t			 len;
};

static int
read_txn(struct store_txn *txn, void *arg)
{
	struct read_arg	*ra = arg;

	free(ra->data);
	ra->data = NULL;
	return store_msg_read(txn, ra->sk, ra->blob_id, &ra->data, &ra->len);
}

/* Reads a blob; *datap (caller frees) on 0. */
static int
try_read(struct store *s, const struct vault_seckey *sk, uint64_t blob_id,
    uint8_t **datap, size_t *lenp)
{
	struct read_arg	 ra = { sk, blob_id, NULL, 0 };
	int		 ret;

	ret = store_txn_run(s, read_txn, &ra);
	*datap = ra.data;
	*lenp = ra.len;
	return ret;
}

static void
check_content(struct store *s, const struct vault_seckey *sk,
    uint64_t blob_id, const void *want, size_t wantlen)
{
	uint8_t	*data;
	size_t	 len;
	int	 ret;

	ret = try_read(s, sk, blob_id, &data, &len);
	ck_assert_msg(ret == 0, "reading blob %016llx: %s",
	    (unsigned long long)blob_id, store_strerror(ret));
	ck_assert_uint_eq(len, wantlen);
	if (wantlen > 0)
		ck_assert_mem_eq(data, want, wantlen);
	free(data);
}

struct msgop {
	enum { G_GET, G_STORE, G_COPY, G_EXPUNGE } op;
	uint64_t		 acct;
	uint32_t		 mbox;
	uint32_t		 uid;
	uint32_t		 flags;
	uint64_t		 keywords;
	uint64_t		 unchangedsince;
	uint32_t		 to;
	uint32_t		 newuid;
	struct store_msg	 msg;
};

static int
msgop_txn(struct store_txn *txn, void *arg)
{
	struct msgop	*o = arg;

	switch (o->op) {
	case G_GET:
		return store_msg_get(txn, o->acct, o->mbox, o->uid, &o->msg);
	case G_STORE:
		return store_msg_store(txn, o->acct, o->mbox, o->uid, o->flags,
		    o->keywords, o->unchangedsince, &o->msg);
	case G_COPY:
		return store_msg_copy(txn, o->acct, o->mbox, o->uid, o->to,
		    &o->newuid);
	case G_EXPUNGE:
		return store_msg_expunge(txn, o->acct, o->mbox, o->uid);
	}
	return STORE_EIO;
}

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

static int
msg_copy(uint64_t acct, uint32_t from, uint32_t uid, uint32_t to,
    uint32_t *newuidp)
{
	struct msgop	 o;
	int		 ret;

	memset(&o, 0, sizeof(o));
	o.op = G_COPY;
	o.acct = acct;
	o.mbox = from;
	o.uid = uid;
	o.to = to;
	ret = store_txn_run(st, msgop_txn, &o);
	*newuidp = o.newuid;
	return ret;
}

static int
msg_expunge(uint64_t acct, uint32_t mbox, uint32_t uid)
{
	struct msgop	 o;

	memset(&o, 0, sizeof(o));
	o.op = G_EXPUNGE;
	o.acct = acct;
	o.mbox = mbox;
	o.uid = uid;
	return store_txn_run(st, msgop_txn, &o);
}

/* All messages of a mailbox, in UID order. */
struct msglist {
	struct store_msg	*v;
	size_t			 n;
};

static int
msglist_add(const struct store_msg *m, void *arg)
{
	struct msglist	*ml = arg;

	ml->v = xreallocarray(ml->v, ml->n + 1, sizeof(*ml->v));
	ml->v[ml->n++] = *m;
	return 0;
}

struct list_arg {
	uint64_t	 acct;
	uint32_t	 mbox;
	uint32_t	 first, last;
	struct msglist	 ml;
};

static int
list_txn(struct store_txn *txn, void *arg)
{
	struct list_arg	*la = arg;

	free(la->ml.v);
	la->ml.v = NULL;
	la->ml.n = 0;
	return store_msg_iter(txn, la->acct, la->mbox, la->first, la->last,
	    msglist_add, &la->ml);
}

static struct msglist
msg_list_range(struct store *s, uint64_t acct, uint32_t mbox, uint32_t first,
    uint32_t last)
{
	struct list_arg	 la;

	memset(&la, 0, sizeof(la));
	la.acct = acct;
	la.mbox = mbox;
	la.first = first;
	la.last = last;
	ck_assert_int_eq(store_txn_run(s, list_txn, &la), 0);
	return la.ml;
}

static struct msglist
msg_list(struct store *s, uint64_t acct, uint32_t mbox)
{
	return msg_list_range(s, acct, mbox, 1, UINT32_MAX);
}

/* ---------------------------------------------------------------- */
/* Raw access to the databases (white-box)                            */
/* ---------------------------------------------------------------- */

static int
count_one(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
    void *arg)
{
	(*(size_t *)arg)++;
	return 0;
}

struct count_arg {
	enum store_dbi	 dbi;
	uint8_t		 prefix[8];
	size_t		 plen;
	size_t		 n;
};

static int
count_txn(struct store_txn *txn, void *arg)
{
	struct count_arg	*ca = arg;

	ca->n = 0;
	return store_db_iter(txn, ca->dbi, ca->prefix, ca->plen, NULL, 0,
	    count_one, &ca->n);
}

/* Records of account acct in a database (every one is keyed by it). */
static size_t
count_records(struct store *s, enum store_dbi dbi, uint64_t acct)
{
	struct count_arg	 ca;

	memset(&ca, 0, sizeof(ca));
	ca.dbi = dbi;
	pack_be64(ca.prefix, acct);
	ca.plen = 8;
	ck_assert_int_eq(store_txn_run(s, count_txn, &ca), 0);
	return ca.n;
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

struct mbox_seen {
	uint64_t	 acct;
	uint32_t	 specials;
	int		 n;
	int		 inbox;
	int		 twice;
};

static int
mbox_seen_one(const struct store_mailbox *m, void *arg)
{
	struct mbox_seen	*ms = arg;

	ms->n++;
	if (m->special_use & ms->specials)
		ms->twice++;
	ms->specials |= m->special_use;
	if (strcmp(m->name, STORE_INBOX) == 0 && m->special_use == 0)
		ms->inbox++;
	return 0;
}

static int
mbox_seen_txn(struct store_txn *txn, void *arg)
{
	struct mbox_seen	*ms = arg;

	ms->specials = 0;
	ms->n = ms->inbox = ms->twice = 0;
	return store_mailbox_iter(txn, ms->acct, mbox_seen_one, ms);
}

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

struct idlist {
	uint64_t	 id[8];
	uint8_t		 state[8];
	size_t		 n;
};

/* Stops the walk (with 42) after three accounts. */
static int
iter_collect(const struct store_account *a, void *arg)
{
	struct idlist	*il = arg;

	if (il->n == 8)
		return STORE_ELIMIT;
	il->id[il->n] = a->id;
	il->state[il->n] = a->state;
	il->n++;
	return il->n == 3 ? 42 : 0;
}

static int
iter_txn(struct store_txn *txn, void *arg)
{
	struct idlist	*il = arg;

	il->n = 0;
	return store_account_iter(txn, iter_collect, il);
}

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

struct corr_arg {
	uint64_t		 acct;
	int			 n;
	struct store_corr	 c;
	int			 op;
};

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
		    "BBBB")) != 0)
			return ret;
		/* A second create for the same sender replaces the key. */
		return store_corr_put(txn, ca->acct, "a@home.example", "AAAA");
	case 1:
		return store_corr_get(txn, ca->acct, "a@home.example", &ca->c);
	case 2:
		ca->n = 0;
		return store_corr_iter(txn, ca->acct, corr_count, ca);
	default:
		return store_corr_put(txn, ca->acct, "x@home.example",
		    "0123456789012345678901234567890123456789X");
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

struct kw_arg {
	uint64_t	 acct;
	uint32_t	 mbox;
	const char	*name;
	int		 create;
	unsigned	 bit;
	int		 fill;
};

static int
kw_txn(struct store_txn *txn, void *arg)
{
	struct kw_arg		*ka = arg;
	struct store_mailbox	 m;
	char			 name[32];
	unsigned		 bit;
	int			 i, ret;

	memset(&m, 0, sizeof(m));
	if ((ret = store_mailbox_get(txn, ka->acct, ka->mbox, &m)) != 0)
		return ret;
	for (i = 0; i < ka->fill; i++) {
		snprintf(name, sizeof(name), "kw%d", i);
		if ((ret = store_mailbox_keyword(txn, &m, name, 1, &bit)) != 0)
			goto out;
	}
	ret = store_mailbox_keyword(txn, &m, ka->name, ka->create, &ka->bit);
out:
	store_mailbox_clear(&m);
	return ret;
}

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
	ck_assert_int_eq(store_txn_run(st, kw_txn, &ka), STORE_ELIMIT);
	mbox_get(ac.id, ac.inbox, &m);
	ck_assert_uint_eq(m.nkeywords, STORE_MAX_KEYWORDS);
	store_mailbox_clear(&m);
	acct_free(&ac);
}
END_TEST

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

/* ---- content ---- */

static void
fill_pattern(uint8_t *p, size_t len, uint32_t seed)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)((i * 31 + seed * 7 + (i >> 16)) & 0xff);
}

START_TEST(test_read_sizes)
{
	static const size_t	 sizes[] = { 0, 1, 65535, 65536, 65537,
	    3 * 65536 + 5 };
	struct acct		 ac;
	struct store_msg	 m;
	struct store_blob	*b;
	struct append_arg	 aa;
	uint8_t			*data;
	size_t			 i, off, n;
	int			 ret;

	acct_create(st, "uma@example.org", &ac);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		data = xmalloc(sizes[i] + 1);
		fill_pattern(data, sizes[i], (uint32_t)i);
		ret = try_append(st, &ac, ac.inbox, data, sizes[i], 0, 0, &m);
		ck_assert_int_eq(ret, 0);
		ck_assert_uint_eq(m.size, sizes[i]);
		check_content(st, ac.sk, m.blob_id, data, sizes[i]);

		/* Written in odd pieces, the blob reads the same. */
		b = store_blob_new(ac.id, ac.sk->pk);
		for (off = 0; off < sizes[i]; off += n) {
			n = sizes[i] - off < 1000 ? sizes[i] - off : 1000;
			store_blob_write(b, data + off, n);
		}
		store_blob_finish(b, NULL, 0);
		ck_assert_uint_eq(store_blob_size(b), sizes[i]);
		memset(&aa, 0, sizeof(aa));
		aa.acct = ac.id;
		aa.mbox = ac.inbox;
		aa.blob = b;
		ck_assert_int_eq(store_txn_run(st, append_txn, &aa), 0);
		store_blob_free(&b);
		check_content(st, ac.sk, aa.msg.blob_id, data, sizes[i]);
		free(data);
	}
	check_clean(st);
	acct_free(&ac);
}
END_TEST

struct chunks_arg {
	uint64_t	 acct;
	uint64_t	 blob;
	size_t		 n;
};

static int
chunks_txn(struct store_txn *txn, void *arg)
{
	struct chunks_arg	*ca = arg;
	uint8_t			 prefix[KEY_BLOB];

	ca->n = 0;
	store_key_blob(prefix, ca->acct, ca->blob);
	return store_db_iter(txn, DBI_CHUNKS, prefix, sizeof(prefix), NULL, 0,
	    count_one, &ca->n);
}

START_TEST(test_chunk_layout)
{
	static const struct {
		size_t		 size;
		size_t		 chunks;
	} want[] = {
		{ 0, 1 }, { 65535, 1 }, { 65536, 1 }, { 65537, 2 },
		{ 3 * 65536 + 5, 4 },
	};
	struct acct		 ac;
	struct store_msg	 m;
	struct chunks_arg	 ca;
	uint8_t			*data;
	size_t			 i;

	acct_create(st, "vera@example.org", &ac);
	data = xcalloc(1, 3 * 65536 + 5);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		ck_assert_int_eq(try_append(st, &ac, ac.inbox, data,
		    want[i].size, 0, 0, &m), 0);
		ca.acct = ac.id;
		ca.blob = m.blob_id;
		ck_assert_int_eq(store_txn_run(st, chunks_txn, &ca), 0);
		ck_assert_uint_eq(ca.n, want[i].chunks);
	}
	free(data);
	acct_free(&ac);
}
END_TEST

START_TEST(test_read_wrong_key)
{
	struct acct		 a, b;
	struct store_msg	 m;
	struct vault_seckey	*wrong;
	uint8_t			*data;
	size_t			 len;

	acct_create(st, "walt@example.org", &a);
	acct_create(st, "xena@example.org", &b);
	m = append_str(&a, a.inbox, "for walt only", 0);
	check_content(st, a.sk, m.blob_id, "for walt only", 13);
	/* Another account's key, presented for this account. */
	wrong = vault_seckey_dup(b.sk);
	wrong->account_id = a.id;
	ck_assert_int_eq(try_read(st, wrong, m.blob_id, &data, &len),
	    STORE_ECORRUPT);
	ck_assert_ptr_null(data);
	vault_seckey_free(&wrong);
	/* Under its own id it does not even find the blob. */
	ck_assert_int_ne(try_read(st, b.sk, m.blob_id, &data, &len), 0);
	ck_assert_ptr_null(data);
	/* A key of the right account that is not its key. */
	wrong = vault_keypair_new(a.id);
	ck_assert_int_eq(try_read(st, wrong, m.blob_id, &data, &len),
	    STORE_ECORRUPT);
	vault_seckey_free(&wrong);
	acct_free(&a);
	acct_free(&b);
}
END_TEST

/* Raw surgery on records, as an attacker with file access would do it. */
struct surgery {
	enum { S_FLIP, S_SWAP, S_TRUNCATE } op;
	uint64_t	 acct;
	uint64_t	 blob, blob2;
	uint32_t	 index;
};

static int
surgery_txn(struct store_txn *txn, void *arg)
{
	struct surgery		*sg = arg;
	struct store_blob_rec	 rec;
	struct pack		 pk;
	uint8_t			 k[KEY_CHUNK], k2[KEY_CHUNK], bk[KEY_BLOB];
	void			*v, *v2;
	size_t			 vlen, vlen2;
	int			 ret;

	store_key_blob(k, sg->acct, sg->blob);
	pack_be32(k + KEY_BLOB, sg->index);
	if ((ret = store_db_get(txn, DBI_CHUNKS, k, sizeof(k), &v, &vlen)) != 0)
		return ret;
	switch (sg->op) {
	case S_FLIP:
		((uint8_t *)v)[vlen / 2] ^= 0x01;
		ret = store_db_put(txn, DBI_CHUNKS, k, sizeof(k), v, vlen);
		break;
	case S_SWAP:
		store_key_blob(k2, sg->acct, sg->blob2);
		pack_be32(k2 + KEY_BLOB, sg->index);
		if ((ret = store_db_get(txn, DBI_CHUNKS, k2, sizeof(k2), &v2,
		    &vlen2)) != 0)
			break;
		if ((ret = store_db_put(txn, DBI_CHUNKS, k, sizeof(k), v2,
		    vlen2)) == 0)
			ret = store_db_put(txn, DBI_CHUNKS, k2, sizeof(k2), v,
			    vlen);
		free(v2);
		break;
	case S_TRUNCATE:
		/* Drop the last chunk and make the record agree. */
		if ((ret = store_db_del(txn, DBI_CHUNKS, k, sizeof(k))) != 0)
			break;
		free(v);
		store_key_blob(bk, sg->acct, sg->blob);
		if ((ret = store_db_get(txn, DBI_BLOBS, bk, sizeof(bk), &v,
		    &vlen)) != 0)
			return ret;
		if ((ret = store_blob_rec_decode(v, vlen, &rec)) != 0)
			break;
		rec.nchunks = sg->index;
		rec.size = (uint64_t)sg->index * VAULT_CHUNK;
		pack_init(&pk);
		store_blob_rec_encode(&rec, &pk);
		ret = store_db_put(txn, DBI_BLOBS, bk, sizeof(bk), pk.buf,
		    pk.len);
		pack_free(&pk);
		break;
	}
	free(v);
	return ret;
}

START_TEST(test_tampered_content)
{
	struct acct		 ac;
	struct store_msg	 x, y, z;
	struct surgery		 sg;
	uint8_t			*data, *buf;
	size_t			 len, size = 3 * 65536 + 5;

	acct_create(st, "yann@example.org", &ac);
	buf = xmalloc(size);
	fill_pattern(buf, size, 1);
	ck_assert_int_eq(try_append(st, &ac, ac.inbox, buf, size, 0, 0, &x),
	    0);
	fill_pattern(buf, size, 2);
	ck_assert_int_eq(try_append(st, &ac, ac.inbox, buf, size, 0, 0, &y),
	    0);
	ck_assert_int_eq(try_append(st, &ac, ac.inbox, buf, size, 0, 0, &z),
	    0);
	check_content(st, ac.sk, y.blob_id, buf, size);

	/* One bit of one chunk. */
	memset(&sg, 0, sizeof(sg));
	sg.op = S_FLIP;
	sg.acct = ac.id;
	sg.blob = x.blob_id;
	sg.index = 1;
	ck_assert_int_eq(store_txn_run(st, surgery_txn, &sg), 0);
	ck_assert_int_eq(try_read(st, ac.sk, x.blob_id, &data, &len),
	    STORE_ECORRUPT);
	ck_assert_ptr_null(data);
	/* Chunk 2 of two blobs swapped: both fail. */
	sg.op = S_SWAP;
	sg.blob = y.blob_id;
	sg.blob2 = z.blob_id;
	sg.index = 2;
	ck_assert_int_eq(store_txn_run(st, surgery_txn, &sg), 0);
	ck_assert_int_eq(try_read(st, ac.sk, y.blob_id, &data, &len),
	    STORE_ECORRUPT);
	ck_assert_int_eq(try_read(st, ac.sk, z.blob_id, &data, &len),
	    STORE_ECORRUPT);
	/* Swapped back, they read again: the test changed only that. */
	ck_assert_int_eq(store_txn_run(st, surgery_txn, &sg), 0);
	check_content(st, ac.sk, z.blob_id, buf, size);
	/* Cut after chunk 2 (chunks 0-2 are whole): the final mark is gone. */
	sg.op = S_TRUNCATE;
	sg.blob = z.blob_id;
	sg.index = 3;
	ck_assert_int_eq(store_txn_run(st, surgery_txn, &sg), 0);
	ck_assert_int_eq(try_read(st, ac.sk, z.blob_id, &data, &len),
	    STORE_ECORRUPT);
	ck_assert_ptr_null(data);
	free(buf);
	acct_free(&ac);
}
END_TEST

/* ---- aux data ---- */

struct aux_arg {
	const struct vault_seckey *sk;
	uint64_t	 blob;
	const char	*set;
	uint8_t		*data;
	size_t		 len;
};

static int
aux_txn(struct store_txn *txn, void *arg)
{
	struct aux_arg	*xa = arg;

	free(xa->data);
	xa->data = NULL;
	if (xa->set != NULL)
		return store_blob_aux_set(txn, xa->sk, xa->blob, xa->set,
		    strlen(xa->set));
	return store_blob_aux_get(txn, xa->sk, xa->blob, &xa->data, &xa->len);
}

START_TEST(test_aux)
{
	static const char	 env[] = "(NIL \"subject\" NIL)";
	struct acct		 ac;
	struct append_arg	 aa;
	struct store_blob	*b;
	struct aux_arg		 xa;
	struct store_msg	 plain;
	struct vault_seckey	*wrong;

	acct_create(st, "zoe@example.org", &ac);
	b = store_blob_seal(ac.id, ac.sk->pk, "body", 4, env, strlen(env));
	memset(&aa, 0, sizeof(aa));
	aa.acct = ac.id;
	aa.mbox = ac.inbox;
	aa.blob = b;
	ck_assert_int_eq(store_txn_run(st, append_txn, &aa), 0);
	store_blob_free(&b);

	memset(&xa, 0, sizeof(xa));
	xa.sk = ac.sk;
	xa.blob = aa.msg.blob_id;
	ck_assert_int_eq(store_txn_run(st, aux_txn, &xa), 0);
	ck_assert_uint_eq(xa.len, strlen(env));
	ck_assert_mem_eq(xa.data, env, xa.len);
	/* A cache built later replaces it. */
	xa.set = "(rebuilt)";
	ck_assert_int_eq(store_txn_run(st, aux_txn, &xa), 0);
	xa.set = NULL;
	ck_assert_int_eq(store_txn_run(st, aux_txn, &xa), 0);
	ck_assert_uint_eq(xa.len, 9);
	ck_assert_mem_eq(xa.data, "(rebuilt)", 9);
	free(xa.data);
	xa.data = NULL;
	/* The content is untouched by it. */
	check_content(st, ac.sk, aa.msg.blob_id, "body", 4);
	/* Another key gets nothing. */
	wrong = vault_keypair_new(ac.id);
	xa.sk = wrong;
	ck_assert_int_eq(store_txn_run(st, aux_txn, &xa), STORE_ECORRUPT);
	ck_assert_ptr_null(xa.data);
	xa.set = "(forged)";
	ck_assert_int_eq(store_txn_run(st, aux_txn, &xa), STORE_ECORRUPT);
	vault_seckey_free(&wrong);
	/* A message without aux data. */
	plain = append_str(&ac, ac.inbox, "no aux", 0);
	xa.sk = ac.sk;
	xa.set = NULL;
	xa.blob = plain.blob_id;
	xa.len = 99;
	ck_assert_int_eq(store_txn_run(st, aux_txn, &xa), 0);
	ck_assert_ptr_null(xa.data);
	ck_assert_uint_eq(xa.len, 0);
	/* A blob that does not exist. */
	xa.blob = plain.blob_id ^ 1;
	ck_assert_int_eq(store_txn_run(st, aux_txn, &xa), STORE_ENOTFOUND);
	check_clean(st);
	acct_free(&ac);
}
END_TEST

/* ---- Message-ID index ---- */

struct msgid_arg {
	uint64_t	 acct;
	uint8_t		 hash[STORE_MSGID_HASHBYTES];
	int		 put;
	uint32_t	 mbox, uid;
	int64_t		 when;
};

static int
msgid_txn(struct store_txn *txn, void *arg)
{
	struct msgid_arg	*ma = arg;

	if (ma->put)
		return store_msgid_put(txn, ma->acct, ma->hash, ma->mbox,
		    ma->uid);
	return store_msgid_get(txn, ma->acct, ma->hash, &ma->mbox, &ma->uid,
	    &ma->when);
}

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
		    "0123456789ABCDEF0123456789ABCDEF01234567");
	return ret;
}

static void
bulk_append(struct store *s, const struct acct *ac, uint32_t mbox, int n,
    const char *marker)
{
	struct bulk_arg	 ba = { ac, mbox, n, marker };

	ck_assert_int_eq(store_txn_run(s, bulk_txn, &ba), 0);
}

/* Scans every file under dir for needles (see test_raw_marker). */
struct scan {
	const char	*needle[6];
	size_t		 found[6];
	size_t		 files;
	size_t		 bytes;
};

static struct scan	*scan_state;

static int
scan_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	struct scan	*sc = scan_state;
	uint8_t		*buf;
	ssize_t		 n;
	size_t		 off = 0, i;
	int		 fd;

	if (flag != FTW_F || !S_ISREG(sb->st_mode))
		return 0;
	if ((fd = open(path, O_RDONLY)) == -1)
		return -1;
	buf = xmalloc((size_t)sb->st_size + 1);
	while (off < (size_t)sb->st_size &&
	    (n = read(fd, buf + off, (size_t)sb->st_size - off)) > 0)
		off += (size_t)n;
	close(fd);
	sc->files++;
	sc->bytes += off;
	for (i = 0; i < 6 && sc->needle[i] != NULL; i++)
		if (memmem(buf, off, sc->needle[i], strlen(sc->needle[i])) !=
		    NULL) {
			fprintf(stderr, "\"%s\" found in %s\n", sc->needle[i],
			    path);
			sc->found[i]++;
		}
	free(buf);
	return 0;
}

static void
scan_dir(const char *dir, struct scan *sc)
{
	scan_state = sc;
	ck_assert_int_eq(nftw(dir, scan_one, 16, FTW_PHYS), 0);
	scan_state = NULL;
}

static int
erase_key_exists(uint64_t id)
{
	char		 path[PATH_MAX + 64];
	struct stat	 sb;

	snprintf(path, sizeof(path), "%s/erase/%016llx", statedir,
	    (unsigned long long)id);
	return stat(path, &sb) == 0;
}

static void
make_marker(char *buf, size_t len)
{
	uint8_t	 r[8];
	char	 hex[17];

	randombytes_buf(r, sizeof(r));
	sodium_bin2hex(hex, sizeof(hex), r, sizeof(r));
	snprintf(buf, len, "GBXMARK%sZQ", hex);
}

START_TEST(test_purge)
{
	struct acct		 a, b;
	struct aop		 o;
	struct mop		 mo;
	struct scan		 sc;
	struct msglist		 ml;
	char			 marker[64];
	uint64_t		 nmsgs = 0;
	uint32_t		 work;
	size_t			 i;

	make_marker(marker, sizeof(marker));
	acct_create(st, "gone@example.org", &a);
	acct_create(st, "stays@example.org", &b);
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
	store_close(&st);
	memset(&sc, 0, sizeof(sc));
	sc.needle[0] = marker;
	/* A control: mailbox names are in clear. */
	sc.needle[1] = "ScanControlFolder";
	/* Sealed under the erase key that went with the account. */
	sc.needle[2] = "gone@example.org";
	sc.needle[3] = "sender@home.example";
	scan_dir(statedir, &sc);
	ck_assert_uint_gt(sc.files, 12);
	ck_assert_uint_eq(sc.found[0], 0);
	ck_assert_uint_gt(sc.found[1], 0);
	ck_assert_uint_eq(sc.found[2], 0);
	ck_assert_uint_eq(sc.found[3], 0);
	ck_assert(!erase_key_exists(a.id));
	ck_assert(erase_key_exists(b.id));
	st = open_store(statedir);
	/* The address is free for a new account. */
	acct_free(&a);
	acct_create(st, "gone@example.org", &a);
	check_clean(st);
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
	char		 text[256], c;
	size_t		 len;
	pid_t		 pid;
	int		 fds[2], status, i;

	acct_create(st, "crash@example.org", &ac);
	/* st stays open through all of it: the still-open store. */
	for (i = 0; i < 5; i++) {
		len = durable_text(text, sizeof(text), "parent", i);
		ck_assert_int_eq(try_append(st, &ac, ac.inbox, text, len, 0, 0,
		    NULL), 0);
	}
	ck_assert_int_eq(pipe(fds), 0);
	if ((pid = fork()) == 0) {
		close(fds[0]);
		child_hang(&ac, 3, fds[1]);
	}
	ck_assert_int_ne(pid, -1);
	close(fds[1]);
	/* The child is inside its transaction, holding its locks. */
	ck_assert_int_eq(read(fds[0], &c, 1), 1);
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	close(fds[0]);

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
	char		 text[256], c;
	size_t		 len;
	pid_t		 pid;
	int		 fds[2], status;

	acct_create(st, "locks@example.org", &ac);
	ck_assert_int_eq(pipe(fds), 0);
	if ((pid = fork()) == 0) {
		close(fds[0]);
		child_hang(&ac, 0, fds[1]);
	}
	ck_assert_int_ne(pid, -1);
	close(fds[1]);
	ck_assert_int_eq(read(fds[0], &c, 1), 1);
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	close(fds[0]);
	/* The same mailbox the dead transaction had locked: no reopen. */
	len = durable_text(text, sizeof(text), "parent", 0);
	ck_assert_int_eq(try_append(st, &ac, ac.inbox, text, len, 0, 0, &m),
	    0);
	ck_assert_uint_eq(m.uid, 1);
	check_survivors(st, &ac, 1, 0);
	acct_free(&ac);
}
END_TEST

/* A daemon's maintenance timer may be the first to meet a stale handle. */
START_TEST(test_maintain_after_recovery)
{
	struct acct	 ac;
	char		 text[256], c, dir[PATH_MAX + 8], db[PATH_MAX + 16];
	size_t		 len;
	pid_t		 pid;
	int		 fds[2], status;

	acct_create(st, "timer@example.org", &ac);
	len = durable_text(text, sizeof(text), "parent", 0);
	ck_assert_int_eq(try_append(st, &ac, ac.inbox, text, len, 0, 0, NULL),
	    0);
	ck_assert_int_eq(pipe(fds), 0);
	if ((pid = fork()) == 0) {
		close(fds[0]);
		child_hang(&ac, 1, fds[1]);
	}
	ck_assert_int_ne(pid, -1);
	close(fds[1]);
	ck_assert_int_eq(read(fds[0], &c, 1), 1);
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	close(fds[0]);
	recover_elsewhere();
	ck_assert_int_eq(store_maintain(st, 1), 0);
	check_survivors(st, &ac, 1, 1);

	/* The same for a backup. */
	ck_assert_int_eq(pipe(fds), 0);
	if ((pid = fork()) == 0) {
		close(fds[0]);
		child_hang(&ac, 0, fds[1]);
	}
	ck_assert_int_ne(pid, -1);
	close(fds[1]);
	ck_assert_int_eq(read(fds[0], &c, 1), 1);
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	close(fds[0]);
	recover_elsewhere();
	snprintf(dir, sizeof(dir), "%s.after", statedir);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	snprintf(db, sizeof(db), "%s/db", dir);
	ck_assert_int_eq(store_backup(st, db), 0);
	rm_rf(dir);
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
	pid_t		 pid, rpid;
	int		 fds[2], up[2], down[2], status, err, i;

	acct_create(st, "crash3@example.org", &ac);
	for (i = 0; i < 3; i++) {
		len = durable_text(text, sizeof(text), "parent", i);
		ck_assert_int_eq(try_append(st, &ac, ac.inbox, text, len, 0, 0,
		    NULL), 0);
	}
	ck_assert_int_eq(pipe(fds), 0);
	if ((pid = fork()) == 0) {
		close(fds[0]);
		child_hang(&ac, 2, fds[1]);
	}
	ck_assert_int_ne(pid, -1);
	close(fds[1]);
	ck_assert_int_eq(read(fds[0], &c, 1), 1);
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	close(fds[0]);

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

START_TEST(test_kill_reopen)
{
	struct acct	 ac;
	char		 text[256], c;
	size_t		 len;
	pid_t		 pid;
	int		 fds[2], status, i;

	acct_create(st, "crash2@example.org", &ac);
	for (i = 0; i < 2; i++) {
		len = durable_text(text, sizeof(text), "parent", i);
		ck_assert_int_eq(try_append(st, &ac, ac.inbox, text, len, 0, 0,
		    NULL), 0);
	}
	/* Here nobody has the environment open when the child dies. */
	store_close(&st);
	ck_assert_int_eq(pipe(fds), 0);
	if ((pid = fork()) == 0) {
		close(fds[0]);
		child_hang(&ac, 4, fds[1]);
	}
	ck_assert_int_ne(pid, -1);
	close(fds[1]);
	ck_assert_int_eq(read(fds[0], &c, 1), 1);
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	close(fds[0]);
	st = open_store(statedir);
	check_survivors(st, &ac, 2, 4);
	check_clean(st);
	acct_free(&ac);
}
END_TEST

/* ================================================================ */
/* Nothing in clear on disk                                           */
/* ================================================================ */

START_TEST(test_raw_marker)
{
	struct acct		 ac;
	struct append_arg	 aa;
	struct store_blob	*b;
	struct scan		 sc;
	struct aux_arg		 xa;
	struct msgid_arg	 ma;
	char			 marker[64], b64[128], msgid[128], *msg, aux[256];
	size_t			 b64len;
	uint32_t		 sent;
	int			 i;

	make_marker(marker, sizeof(marker));
	sodium_bin2base64(b64, sizeof(b64), (const uint8_t *)marker,
	    strlen(marker), sodium_base64_VARIANT_ORIGINAL);
	/* Without padding: what a longer attachment would hold. */
	b64len = strlen(b64);
	while (b64len > 0 && b64[b64len - 1] == '=')
		b64[--b64len] = '\0';
	b64[b64len - b64len % 4] = '\0';
	snprintf(msgid, sizeof(msgid), "<%s@home.example>", marker);
	if (asprintf(&msg,
	    "From: \"%s\" <sender@home.example>\r\n"
	    "To: marker@example.org\r\n"
	    "Subject: Re: %s\r\n"
	    "Message-ID: %s\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
	    "\r\n"
	    "--b1\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "\r\n"
	    "The body says %s.\r\n"
	    "--b1\r\n"
	    "Content-Type: application/octet-stream; name=\"%s.pdf\"\r\n"
	    "Content-Disposition: attachment; filename=\"%s.pdf\"\r\n"
	    "Content-Transfer-Encoding: base64\r\n"
	    "\r\n"
	    "%s\r\n"
	    "--b1--\r\n", marker, marker, msgid, marker, marker, marker,
	    b64) == -1)
		ck_abort_msg("asprintf");
	snprintf(aux, sizeof(aux), "(\"date\" \"Re: %s\" ((\"%s\" NIL "
	    "\"sender\" \"home.example\")))", marker, marker);

	acct_create(st, "marker@example.org", &ac);
	(void)mbox_create(ac.id, "ScanControlFolder");
	ck_assert_int_eq(mbox_find(ac.id, "Gesendet", &sent), 0);
	for (i = 0; i < 3; i++) {
		/* As deliver does it: sealed first, appended in a txn. */
		b = store_blob_seal(ac.id, ac.sk->pk, msg, strlen(msg), aux,
		    strlen(aux));
		memset(&aa, 0, sizeof(aa));
		aa.acct = ac.id;
		aa.mbox = i == 2 ? sent : ac.inbox;
		aa.blob = b;
		ck_assert_int_eq(store_txn_run(st, append_txn, &aa), 0);
		store_blob_free(&b);
	}
	check_content(st, ac.sk, aa.msg.blob_id, msg, strlen(msg));
	/* A cache rebuilt later, and the Sent de-duplication index. */
	memset(&xa, 0, sizeof(xa));
	xa.sk = ac.sk;
	xa.blob = aa.msg.blob_id;
	xa.set = aux;
	ck_assert_int_eq(store_txn_run(st, aux_txn, &xa), 0);
	memset(&ma, 0, sizeof(ma));
	ma.acct = ac.id;
	ma.put = 1;
	ma.mbox = sent;
	ma.uid = aa.msg.uid;
	store_msgid_hash(msgid, strlen(msgid), ma.hash);
	ck_assert_int_eq(store_txn_run(st, msgid_txn, &ma), 0);
	ck_assert_int_eq(store_maintain(st, 1), 0);
	store_close(&st);

	memset(&sc, 0, sizeof(sc));
	sc.needle[0] = marker;
	sc.needle[1] = b64;
	sc.needle[2] = "ScanControlFolder";	/* control: the scan works */
	sc.needle[3] = "marker@example.org";	/* sealed (erase key) */
	scan_dir(statedir, &sc);
	/* The databases, their regions and the log all were read. */
	ck_assert_uint_gt(sc.files, 12);
	ck_assert_uint_gt(sc.bytes, 3 * strlen(msg));
	ck_assert_msg(sc.found[0] == 0, "the marker is on disk in clear");
	ck_assert_msg(sc.found[1] == 0, "the marker's base64 is on disk");
	ck_assert_uint_gt(sc.found[2], 0);
	ck_assert_uint_eq(sc.found[3], 0);
	free(msg);
	st = open_store(statedir);
	acct_free(&ac);
}
END_TEST

/* ================================================================ */
/* Erase keys: what Berkeley DB keeps of an account is sealed         */
/* ================================================================ */

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
	struct acct	 a;
	struct stat	 sb;
	char		 path[PATH_MAX + 64];

	acct_create(st, "life@example.org", &a);
	erase_key_path(path, sizeof(path), a.id);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_int_eq(sb.st_size, 32);
	ck_assert_int_eq(sb.st_mode & 0777, 0600);
	snprintf(path, sizeof(path), "%s/erase", statedir);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0700);
	snprintf(path, sizeof(path), "%s/index.key", statedir);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0600);
	ck_assert_int_eq(store_account_purge(st, a.id, NULL), 0);
	ck_assert(!erase_key_exists(a.id));
	check_clean(st);
	acct_free(&a);
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
	char		 marker[64], data[256], path[PATH_MAX + 64],
			 hidden[PATH_MAX + 80];
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
	erase_key_path(path, sizeof(path), a.id);
	snprintf(hidden, sizeof(hidden), "%s.hidden", path);
	ck_assert_int_eq(rename(path, hidden), 0);
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
	ck_assert_int_eq(rename(hidden, path), 0);
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
	char		 path[PATH_MAX + 64], hidden[PATH_MAX + 80];
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
	erase_key_path(path, sizeof(path), b.id);
	snprintf(hidden, sizeof(hidden), "%s.hidden", path);
	ck_assert_int_eq(rename(path, hidden), 0);
	q.op = Q_COUNT;
	ck_assert_int_eq(qop_run(&q), 0);
	ck_assert_uint_eq(q.n, 0);
	ck_assert_int_eq(store_erase_sweep(st, &removed), 0);
	ck_assert_uint_eq(removed, 0);
	ck_assert_int_eq(rename(hidden, path), 0);
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
	char		 path[PATH_MAX + 64];
	uint8_t		 k[32];
	uint64_t	 removed = 0;

	acct_create(st, "orphan@example.org", &a);
	acct_create(st, "owner@example.org", &b);
	ck_assert_int_eq(store_account_purge(st, a.id, NULL), 0);
	/* A crash between the delete's commit and the unlink. */
	memset(k, 7, sizeof(k));
	erase_key_path(path, sizeof(path), a.id);
	write_file(path, k, sizeof(k));
	snprintf(path, sizeof(path), "%s/erase/.tmp.1.deadbeef", statedir);
	write_file(path, k, sizeof(k));
	ck_assert_int_eq(store_erase_sweep(st, &removed), 0);
	ck_assert_uint_eq(removed, 1);
	ck_assert(!erase_key_exists(a.id));
	ck_assert_int_eq(access(path, F_OK), -1);
	ck_assert(erase_key_exists(b.id));
	/* check removes them too, and says nothing. */
	erase_key_path(path, sizeof(path), 4242);
	write_file(path, k, sizeof(k));
	check_clean(st);
	ck_assert(!erase_key_exists(4242));
	/* An account without its key is a problem, and unreadable. */
	erase_key_path(path, sizeof(path), b.id);
	ck_assert_int_eq(unlink(path), 0);
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
	char		 path[PATH_MAX + 64];
	uint32_t	 ver = 0;

	acct_create(st, "old@example.org", &a);
	memset(&va, 0, sizeof(va));
	va.id = a.id;
	store_msgid_hash("<m@x>", 5, va.hash);
	ck_assert_int_eq(store_txn_run(st, v1_txn, &va), 0);
	store_close(&st);
	erase_key_path(path, sizeof(path), a.id);
	ck_assert_int_eq(unlink(path), 0);

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
	/* A state directory restored without its index.key is refused. */
	store_close(&st);
	snprintf(path, sizeof(path), "%s/index.key", statedir);
	ck_assert_int_eq(unlink(path), 0);
	{
		int	 err = 0;

		ck_assert_ptr_null(store_open(statedir, &opts, &err));
		ck_assert_int_eq(err, STORE_ECORRUPT);
	}
	acct_free(&a);
	rm_rf(statedir);
	ck_assert_int_eq(mkdir(statedir, 0700), 0);
	st = open_store(statedir);
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
	ck_assert_uint_eq(ver, 3);
	ck_assert_int_eq(store_txn_run(st, v3_check_txn, &a), 0);
	check_clean(st);
	acct_free(&a);
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
	rm_rf(dir);
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
		rm_rf(dir[i]);
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
	rm_rf(dir);
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

/* ================================================================ */
/* Record codecs: bytes from disk may be anything                     */
/* ================================================================ */

enum rec_kind { REC_ACCOUNT, REC_MAILBOX, REC_MSG, REC_BLOB, REC_CORR };

static int
rec_decode(enum rec_kind kind, const uint8_t *buf, size_t len)
{
	struct store_account	 a;
	struct store_mailbox	 m;
	struct store_msg	 msg;
	struct store_blob_rec	 b;
	struct store_corr	 c;
	int			 ret = STORE_EIO;

	memset(&a, 0, sizeof(a));
	memset(&m, 0, sizeof(m));
	memset(&c, 0, sizeof(c));
	switch (kind) {
	case REC_ACCOUNT:
		ret = store_account_decode(buf, len, &a);
		store_account_clear(&a);
		break;
	case REC_MAILBOX:
		ret = store_mailbox_decode(buf, len, &m);
		store_mailbox_clear(&m);
		break;
	case REC_MSG:
		ret = store_msg_decode(buf, len, &msg);
		break;
	case REC_BLOB:
		ret = store_blob_rec_decode(buf, len, &b);
		break;
	case REC_CORR:
		ret = store_corr_decode(buf, len, &c);
		store_corr_clear(&c);
		break;
	}
	return ret;
}

/*
 * A valid record decodes; every shorter prefix, a longer record and
 * another version do not; any flipped byte may decode or not but must
 * not crash or leak (the sanitizers watch).
 */
static void
check_codec(enum rec_kind kind, const struct pack *pk)
{
	uint8_t	*buf;
	size_t	 i;
	int	 bit;

	ck_assert_int_eq(rec_decode(kind, pk->buf, pk->len), 0);
	buf = xmalloc(pk->len + 1);
	for (i = 0; i < pk->len; i++) {
		memcpy(buf, pk->buf, i);
		ck_assert_msg(rec_decode(kind, buf, i) == STORE_ECORRUPT,
		    "kind %d: a prefix of %zu of %zu bytes decoded", kind, i,
		    pk->len);
	}
	memcpy(buf, pk->buf, pk->len);
	buf[pk->len] = 0;
	ck_assert_int_eq(rec_decode(kind, buf, pk->len + 1), STORE_ECORRUPT);
	buf[0] = 0xff;	/* no record has this version */
	ck_assert_int_eq(rec_decode(kind, buf, pk->len), STORE_ECORRUPT);
	for (i = 0; i < pk->len; i++)
		for (bit = 0; bit < 8; bit += 7) {
			memcpy(buf, pk->buf, pk->len);
			buf[i] ^= (uint8_t)(1 << bit);
			(void)rec_decode(kind, buf, pk->len);
		}
	free(buf);
}

START_TEST(test_codec_robust)
{
	struct store_account	 a;
	struct store_mailbox	 m, m2;
	struct store_msg	 msg;
	struct store_blob_rec	 b;
	struct store_corr	 c;
	struct pack		 pk;
	uint8_t			 aux[VAULT_AUX_OVERHEAD + 3];

	memset(&a, 0, sizeof(a));
	a.id = 7;
	a.address = xstrdup("codec@example.org");
	a.inviter = xstrdup("x@home.example");
	a.state = STORE_ACCT_ACTIVE;
	a.pin_verifier = xstrdup("$argon2id$...");
	a.pin_armored = xstrdup("-----BEGIN PGP MESSAGE-----");
	pack_init(&pk);
	store_account_encode(&a, &pk);
	check_codec(REC_ACCOUNT, &pk);
	pack_free(&pk);
	/*
	 * issue 11: the gateway's unsent invitation survives a round trip
	 * (a version 2 record), no shorter prefix of it decodes, and a
	 * flag byte other than 1 is corrupt.
	 */
	a.invite_unsent = 1;
	pack_init(&pk);
	store_account_encode(&a, &pk);
	ck_assert_int_eq(pk.buf[0], 2);
	{
		struct store_account	 a2;
		uint8_t			*buf = xmalloc(pk.len);
		size_t			 i;

		memset(&a2, 0, sizeof(a2));
		ck_assert_int_eq(store_account_decode(pk.buf, pk.len, &a2), 0);
		ck_assert_int_eq(a2.invite_unsent, 1);
		ck_assert_str_eq(a2.address, "codec@example.org");
		for (i = 0; i < pk.len; i++)
			ck_assert_int_eq(store_account_decode(pk.buf, i, &a2),
			    STORE_ECORRUPT);
		memcpy(buf, pk.buf, pk.len);
		buf[pk.len - 1] = 2;
		ck_assert_int_eq(store_account_decode(buf, pk.len, &a2),
		    STORE_ECORRUPT);
		store_account_clear(&a2);
		free(buf);
	}
	pack_free(&pk);
	store_account_clear(&a);

	memset(&m, 0, sizeof(m));
	m.name = xstrdup("Work/Sub");
	m.uidvalidity = 3;
	m.uidnext = 9;
	m.highestmodseq = 12;
	m.nkeywords = 2;
	m.keywords[0] = xstrdup("$Label1");
	m.keywords[1] = xstrdup("Work");
	pack_init(&pk);
	store_mailbox_encode(&m, &pk);
	check_codec(REC_MAILBOX, &pk);
	memset(&m2, 0, sizeof(m2));
	ck_assert_int_eq(store_mailbox_decode(pk.buf, pk.len, &m2), 0);
	ck_assert_str_eq(m2.name, "Work/Sub");
	ck_assert_uint_eq(m2.uidnext, 9);
	ck_assert_uint_eq(m2.nkeywords, 2);
	ck_assert_str_eq(m2.keywords[1], "Work");
	store_mailbox_clear(&m2);
	pack_free(&pk);
	store_mailbox_clear(&m);

	memset(&msg, 0, sizeof(msg));
	msg.flags = STORE_F_SEEN;
	msg.size = 100;
	msg.blob_id = 0x1122334455667788ULL;
	pack_init(&pk);
	store_msg_encode(&msg, &pk);
	check_codec(REC_MSG, &pk);
	pack_free(&pk);

	memset(&b, 0, sizeof(b));
	memset(aux, 0xa5, sizeof(aux));
	b.refcount = 2;
	b.size = 70000;
	b.nchunks = 2;
	b.aux = aux;
	b.auxlen = sizeof(aux);
	pack_init(&pk);
	store_blob_rec_encode(&b, &pk);
	check_codec(REC_BLOB, &pk);
	pack_free(&pk);

	memset(&c, 0, sizeof(c));
	memcpy(c.fingerprint, "0123456789ABCDEF0123456789ABCDEF01234567", 41);
	pack_init(&pk);
	store_corr_encode(&c, &pk);
	check_codec(REC_CORR, &pk);
	pack_free(&pk);
}
END_TEST

Suite *
store_suite(void)
{
	Suite	*s = suite_create("store");
	TCase	*tc;

	tc = tcase_create("account");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_account_insert_find);
	tcase_add_test(tc, test_account_duplicate);
	tcase_add_test(tc, test_account_default_mailboxes);
	tcase_add_test(tc, test_account_update);
	tcase_add_test(tc, test_account_touch);
	tcase_add_test(tc, test_account_iter);
	tcase_add_test(tc, test_account_load);
	tcase_add_test(tc, test_correspondents);
	suite_add_tcase(s, tc);

	tc = tcase_create("mailbox");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_mailbox_create_find);
	tcase_add_test(tc, test_mailbox_rename_delete);
	tcase_add_test(tc, test_uidvalidity_realclock);
	tcase_add_test(tc, test_uidvalidity_stopped_clock);
	tcase_add_test(tc, test_mailbox_keywords);
	suite_add_tcase(s, tc);

	tc = tcase_create("message");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_append_uids_counters);
	tcase_add_test(tc, test_append_internaldate);
	tcase_add_test(tc, test_store_flags);
	tcase_add_test(tc, test_store_unchangedsince);
	tcase_add_test(tc, test_changes_since);
	tcase_add_test(tc, test_copy_expunge_blob);
	tcase_add_test(tc, test_expunge_counters);
	tcase_add_test(tc, test_msgid);
	tcase_add_test(tc, test_quota);
	tcase_add_test(tc, test_notify);
	suite_add_tcase(s, tc);

	tc = tcase_create("content");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_read_sizes);
	tcase_add_test(tc, test_chunk_layout);
	tcase_add_test(tc, test_read_wrong_key);
	tcase_add_test(tc, test_tampered_content);
	tcase_add_test(tc, test_aux);
	suite_add_tcase(s, tc);

	tc = tcase_create("codec");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_codec_robust);
	suite_add_tcase(s, tc);

	tc = tcase_create("transaction");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_txn_atomic);
	suite_add_tcase(s, tc);

	tc = tcase_create("deliver");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_deliver_commit_unsure);
	tcase_add_test(tc, test_deliver_rerun_aborted);
	tcase_add_test(tc, test_deliver_refusals);
	tcase_add_test(tc, test_deliver_special_created);
	suite_add_tcase(s, tc);

	tc = tcase_create("delete");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_purge);
	tcase_add_test(tc, test_purge_resumes);
	tcase_add_test(tc, test_account_reset);
	suite_add_tcase(s, tc);

	tc = tcase_create("durability");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_concurrent_appends);
	tcase_add_test(tc, test_concurrent_mixed);
	tcase_add_test(tc, test_kill_mid_txn);
	tcase_add_test(tc, test_kill_locks_released);
	tcase_add_test(tc, test_kill_reopen);
	tcase_add_test(tc, test_kill_recoverer_stays);
	tcase_add_test(tc, test_maintain_after_recovery);
	tcase_add_test(tc, test_maintain);
	tcase_add_test(tc, test_backup);
	tcase_add_test(tc, test_backup_log_floor);
	tcase_add_test(tc, test_maintain_no_backup);
	tcase_add_test(tc, test_old_regions);
	tcase_add_test(tc, test_backup_hot);
	suite_add_tcase(s, tc);

	tc = tcase_create("erase");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_erase_key_life);
	tcase_add_test(tc, test_queue_sealed);
	tcase_add_test(tc, test_queue_dropped_with_account);
	tcase_add_test(tc, test_erase_orphans);
	tcase_add_test(tc, test_upgrade_v1);
	tcase_add_test(tc, test_upgrade_v2);
	suite_add_tcase(s, tc);

	tc = tcase_create("at_rest");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_raw_marker);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	log_init("check_store", 1, 0);
	if (mkdtemp(tmproot) == NULL) {
		perror("mkdtemp");
		return EXIT_FAILURE;
	}
	sr = srunner_create(store_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	rm_rf(tmproot);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
