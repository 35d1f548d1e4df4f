/*
 * check-store-util.c: the fixtures and helpers of the store tests
 * (check-store-util.h).
 *
 * Every test gets a fresh state directory under one temporary root that
 * check_store_main() removes at the end, so a failing test leaves nothing
 * behind.  Accounts are made as guestbox-provision makes them
 * (store_account_create): a fresh key pair wrapped under a token KEK; the
 * test keeps the secret key to read messages back.
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


char			 tmproot[] = "/tmp/check_store.XXXXXX";

char			 statedir[PATH_MAX];

struct store		*st;

struct store_options	 opts;


time_t
fixed_now(void)
{
	return FIXED_NOW;
}


struct store *
open_store(const char *dir)
{
	struct store	*s;
	int		 err = 0;

	s = store_open(dir, &opts, &err);
	ck_assert_msg(s != NULL, "store_open %s: %s", dir, store_strerror(err));
	return s;
}


void
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


void
teardown(void)
{
	store_close(&st);
	check_util_rm_rf(statedir);
}


void
check_problem(const char *problem, void *arg)
{
	fprintf(stderr, "store_check: %s\n", problem);
}


void
check_clean(struct store *s)
{
	ck_assert_int_eq(store_check(s, check_problem, NULL), 0);
}


/* ---------------------------------------------------------------- */
/* Accounts                                                           */
/* ---------------------------------------------------------------- */

int
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


int
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
int
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


void
acct_create(struct store *s, const char *address, struct acct *ac)
{
	int	 ret;

	ret = acct_try_create(s, address, ac);
	ck_assert_msg(ret == 0, "creating %s: %s", address, store_strerror(ret));
	ck_assert_uint_ne(ac->id, 0);
	ck_assert_uint_ne(ac->inbox, 0);
}


void
acct_free(struct acct *ac)
{
	vault_seckey_free(&ac->sk);
}


int
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


int
aop_run(struct aop *o)
{
	return store_txn_run(st, aop_txn, o);
}


int
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


int
mop_run(struct mop *o)
{
	int	 ret;

	ret = store_txn_run(st, mop_txn, o);
	if (ret != 0)
		store_mailbox_clear(&o->m);
	return ret;
}


/* The mailbox record by id, or fails the test. */
void
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


uint32_t
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


int
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


int
append_txn(struct store_txn *txn, void *arg)
{
	struct append_arg	*aa = arg;

	return store_msg_append(txn, aa->acct, aa->mbox, aa->blob, aa->flags,
	    aa->keywords, 0, &aa->msg);
}


/* Seals and appends; returns the store error. */
int
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


struct store_msg
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


int
read_txn(struct store_txn *txn, void *arg)
{
	struct read_arg	*ra = arg;

	free(ra->data);
	ra->data = NULL;
	return store_msg_read(txn, ra->sk, ra->blob_id, &ra->data, &ra->len);
}


/* Reads a blob; *datap (caller frees) on 0. */
int
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


void
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


int
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


int
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


int
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


int
msglist_add(const struct store_msg *m, void *arg)
{
	struct msglist	*ml = arg;

	ml->v = xreallocarray(ml->v, ml->n + 1, sizeof(*ml->v));
	ml->v[ml->n++] = *m;
	return 0;
}


int
list_txn(struct store_txn *txn, void *arg)
{
	struct list_arg	*la = arg;

	free(la->ml.v);
	la->ml.v = NULL;
	la->ml.n = 0;
	return store_msg_iter(txn, la->acct, la->mbox, la->first, la->last,
	    msglist_add, &la->ml);
}


struct msglist
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


struct msglist
msg_list(struct store *s, uint64_t acct, uint32_t mbox)
{
	return msg_list_range(s, acct, mbox, 1, UINT32_MAX);
}


/* ---------------------------------------------------------------- */
/* Raw access to the databases (white-box)                            */
/* ---------------------------------------------------------------- */

int
count_one(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
    void *arg)
{
	(*(size_t *)arg)++;
	return 0;
}


int
count_txn(struct store_txn *txn, void *arg)
{
	struct count_arg	*ca = arg;

	ca->n = 0;
	return store_db_iter(txn, ca->dbi, ca->prefix, ca->plen, NULL, 0,
	    count_one, &ca->n);
}


/* Records of account acct in a database (every one is keyed by it). */
size_t
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


int
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


int
mbox_seen_txn(struct store_txn *txn, void *arg)
{
	struct mbox_seen	*ms = arg;

	ms->specials = 0;
	ms->n = ms->inbox = ms->twice = 0;
	return store_mailbox_iter(txn, ms->acct, mbox_seen_one, ms);
}


int
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


/* ---- content ---- */

void
fill_pattern(uint8_t *p, size_t len, uint32_t seed)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)((i * 31 + seed * 7 + (i >> 16)) & 0xff);
}


int
msgid_txn(struct store_txn *txn, void *arg)
{
	struct msgid_arg	*ma = arg;

	if (ma->put)
		return store_msgid_put(txn, ma->acct, ma->hash, ma->mbox,
		    ma->uid);
	return store_msgid_get(txn, ma->acct, ma->hash, &ma->mbox, &ma->uid,
	    &ma->when);
}


struct scan	*scan_state;


int
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
	for (i = 0; i < 4 && sc->bneedle[i] != NULL; i++)
		if (memmem(buf, off, sc->bneedle[i], sc->blen[i]) != NULL) {
			fprintf(stderr, "binary needle %zu found in %s\n", i,
			    path);
			sc->bfound[i]++;
		}
	free(buf);
	return 0;
}


void
scan_dir(const char *dir, struct scan *sc)
{
	scan_state = sc;
	ck_assert_int_eq(nftw(dir, scan_one, 16, FTW_PHYS), 0);
	scan_state = NULL;
}


void
make_marker(char *buf, size_t len)
{
	uint8_t	 r[8];
	char	 hex[17];

	randombytes_buf(r, sizeof(r));
	sodium_bin2hex(hex, sizeof(hex), r, sizeof(r));
	snprintf(buf, len, "GBXMARK%sZQ", hex);
}

TCase *
check_store_tcase(Suite *s, const char *name, int timeout)
{
	TCase	*tc = tcase_create(name);

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, timeout);
	suite_add_tcase(s, tc);
	return tc;
}

int
check_store_main(const char *name, Suite *s)
{
	int	 ret;

	log_init(name, 1, 0);
	if (mkdtemp(tmproot) == NULL) {
		perror("mkdtemp");
		return EXIT_FAILURE;
	}
	ret = check_util_run(s);
	check_util_rm_rf(tmproot);
	return ret;
}

/* Stops the walk (with 42) after three accounts. */
int
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

int
iter_txn(struct store_txn *txn, void *arg)
{
	struct idlist	*il = arg;

	il->n = 0;
	return store_account_iter(txn, iter_collect, il);
}
