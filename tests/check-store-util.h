/*
 * check-store-util.h: what the unit tests of store/ share (the
 * check_store_*.c programs): a fresh state directory and open store per
 * test (setup/teardown, a checked fixture), accounts made as
 * guestbox-provision makes them, with the secret key kept to read
 * messages back, and small wrappers that run one store call in a
 * transaction and fail the test on an error.
 */
#ifndef CHECK_STORE_UTIL_H
#define CHECK_STORE_UTIL_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/stat.h>
#include <ftw.h>

#include <check.h>

#include "store.h"
#include "store-private.h"

#include "check-util.h"

#define FIXED_NOW	1700000000

static const struct store_mailbox_names names = {
	.sent = "Gesendet",
	.drafts = "Entw\xc3\xbcrfe",
	.trash = "Papierkorb",
	.archive = "Archiv",
	.junk = "Spam",
};

/* An account as the tests know it: with its secret key. */
struct acct {
	uint64_t		 id;
	char			 address[128];
	struct vault_seckey	*sk;
	uint8_t			 token[VAULT_TOKENBYTES];
	uint8_t			 token_id[32];
	uint32_t		 inbox;
};

struct aop {
	enum { A_GET, A_FIND, A_TOKEN, A_UPDATE, A_TOUCH } op;
	uint64_t		 id;
	const char		*address;
	const uint8_t		*token_id;
	struct store_account	 a;
};

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

struct read_arg {
	const struct vault_seckey *sk;
	uint64_t		 blob_id;
	uint8_t			*data;
	size_t			 len;
};

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

/* All messages of a mailbox, in UID order. */
struct msglist {
	struct store_msg	*v;
	size_t			 n;
};

struct list_arg {
	uint64_t	 acct;
	uint32_t	 mbox;
	uint32_t	 first, last;
	struct msglist	 ml;
};

struct count_arg {
	enum store_dbi	 dbi;
	uint8_t		 prefix[8];
	size_t		 plen;
	size_t		 n;
};

struct mbox_seen {
	uint64_t	 acct;
	uint32_t	 specials;
	int		 n;
	int		 inbox;
	int		 twice;
};

struct corr_arg {
	uint64_t		 acct;
	int			 n;
	struct store_corr	 c;
	int			 op;
};

struct kw_arg {
	uint64_t	 acct;
	uint32_t	 mbox;
	const char	*name;
	int		 create;
	unsigned	 bit;
	int		 fill;
};

/* ---- Message-ID index ---- */

struct msgid_arg {
	uint64_t	 acct;
	uint8_t		 hash[STORE_MSGID_HASHBYTES];
	int		 put;
	uint32_t	 mbox, uid;
	int64_t		 when;
};

/* Scans every file under dir for needles (see test_raw_marker). */
struct scan {
	const char	*needle[6];
	size_t		 found[6];
	/* Binary needles (keys): bneedle[i] of blen[i] bytes. */
	const uint8_t	*bneedle[4];
	size_t		 blen[4];
	size_t		 bfound[4];
	size_t		 files;
	size_t		 bytes;
};

extern char			 tmproot[];
extern char			 statedir[];
extern struct store		*st;
extern struct store_options	 opts;
extern struct scan	*scan_state;

time_t	fixed_now(void);
/* A walk over the accounts (iter_txn), stopped after three. */
struct idlist {
	uint64_t	 id[8];
	uint8_t		 state[8];
	size_t		 n;
};

struct store	*open_store(const char *dir);
void	setup(void);
void	teardown(void);
void	check_problem(const char *problem, void *arg);
void	check_clean(struct store *s);
int	acct_create_txn(struct store_txn *txn, void *arg);
int	inbox_txn(struct store_txn *txn, void *arg);
int	iter_collect(const struct store_account *a, void *arg);
int	iter_txn(struct store_txn *txn, void *arg);
int	acct_try_create(struct store *s, const char *address, struct acct *ac);
void	acct_create(struct store *s, const char *address, struct acct *ac);
void	acct_free(struct acct *ac);
int	aop_txn(struct store_txn *txn, void *arg);
int	aop_run(struct aop *o);
int	mop_txn(struct store_txn *txn, void *arg);
int	mop_run(struct mop *o);
void	mbox_get(uint64_t acct, uint32_t id, struct store_mailbox *m);
uint32_t	mbox_create(uint64_t acct, const char *name);
int	mbox_find(uint64_t acct, const char *name, uint32_t *idp);
int	append_txn(struct store_txn *txn, void *arg);
int	try_append(struct store *s, const struct acct *ac, uint32_t mbox,
    const void *data, size_t len, uint32_t flags, uint64_t keywords,
    struct store_msg *out);
struct store_msg	append_str(const struct acct *ac, uint32_t mbox,
    const char *text, uint32_t flags);
int	read_txn(struct store_txn *txn, void *arg);
int	try_read(struct store *s, const struct vault_seckey *sk,
    uint64_t blob_id, uint8_t **datap, size_t *lenp);
void	check_content(struct store *s, const struct vault_seckey *sk,
    uint64_t blob_id, const void *want, size_t wantlen);
int	msgop_txn(struct store_txn *txn, void *arg);
int	msg_copy(uint64_t acct, uint32_t from, uint32_t uid, uint32_t to,
    uint32_t *newuidp);
int	msg_expunge(uint64_t acct, uint32_t mbox, uint32_t uid);
int	msglist_add(const struct store_msg *m, void *arg);
int	list_txn(struct store_txn *txn, void *arg);
struct msglist	msg_list_range(struct store *s, uint64_t acct, uint32_t mbox,
    uint32_t first, uint32_t last);
struct msglist	msg_list(struct store *s, uint64_t acct, uint32_t mbox);
int	count_one(const uint8_t *key, size_t klen, const uint8_t *val,
    size_t vlen, void *arg);
int	count_txn(struct store_txn *txn, void *arg);
size_t	count_records(struct store *s, enum store_dbi dbi, uint64_t acct);
int	mbox_seen_one(const struct store_mailbox *m, void *arg);
int	mbox_seen_txn(struct store_txn *txn, void *arg);
int	kw_txn(struct store_txn *txn, void *arg);
void	fill_pattern(uint8_t *p, size_t len, uint32_t seed);
int	msgid_txn(struct store_txn *txn, void *arg);
int	scan_one(const char *path, const struct stat *sb, int flag,
    struct FTW *ftw);
void	scan_dir(const char *dir, struct scan *sc);
void	make_marker(char *buf, size_t len);

/*
 * A test case of s with the setup/teardown fixture (a fresh state
 * directory and open store per test) and a timeout in seconds.
 */
TCase	*check_store_tcase(Suite *s, const char *name, int timeout);

/* main() of a check_store_* program: runs suite in a temporary root. */
int	check_store_main(const char *, Suite *);

#endif
