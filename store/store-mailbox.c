/*
 * store-mailbox.c: mailboxes, keywords and subscriptions.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "store-private.h"
#include "xmalloc.h"

/* RFC 3501 5.1: INBOX is case-insensitive, every other name is exact. */
static int
store_mailbox_name_eq(const char *a, const char *b)
{
	if (strcasecmp(a, STORE_INBOX) == 0)
		return strcasecmp(b, STORE_INBOX) == 0;
	return strcmp(a, b) == 0;
}

const char *
store_special_use_name(uint32_t special_use)
{
	switch (special_use) {
	case STORE_SPECIAL_SENT:
		return "\\Sent";
	case STORE_SPECIAL_DRAFTS:
		return "\\Drafts";
	case STORE_SPECIAL_TRASH:
		return "\\Trash";
	case STORE_SPECIAL_ARCHIVE:
		return "\\Archive";
	case STORE_SPECIAL_JUNK:
		return "\\Junk";
	default:
		return NULL;
	}
}

void
store_mailbox_clear(struct store_mailbox *m)
{
	uint32_t	 i;

	free(m->name);
	for (i = 0; i < m->nkeywords; i++)
		free(m->keywords[i]);
	memset(m, 0, sizeof(*m));
}

int
store_mailbox_put(struct store_txn *txn, const struct store_mailbox *m)
{
	struct pack	 pk;
	uint8_t		 key[KEY_MBOX];
	int		 ret;

	store_key_mbox(key, m->account_id, m->id);
	pack_init(&pk);
	store_mailbox_encode(m, &pk);
	ret = store_db_put(txn, DBI_MAILBOXES, key, sizeof(key), pk.buf, pk.len);
	pack_free(&pk);
	return ret;
}

static int
store_mailbox_fetch(struct store_txn *txn, uint64_t account_id, uint32_t id,
    struct store_mailbox *m, int rmw)
{
	uint8_t		 key[KEY_MBOX];
	void		*val;
	size_t		 vlen;
	int		 ret;

	store_key_mbox(key, account_id, id);
	ret = rmw ? store_db_get_rmw(txn, DBI_MAILBOXES, key, sizeof(key), &val,
	    &vlen) : store_db_get(txn, DBI_MAILBOXES, key, sizeof(key), &val,
	    &vlen);
	if (ret != 0) {
		store_mailbox_clear(m);
		return ret;
	}
	ret = store_mailbox_decode(val, vlen, m);
	free(val);
	m->account_id = account_id;
	m->id = id;
	return ret;
}

int
store_mailbox_get(struct store_txn *txn, uint64_t account_id, uint32_t id,
    struct store_mailbox *m)
{
	/*
	 * Mailbox records change with almost every write to the mailbox:
	 * taking the write lock up front avoids read-to-write upgrade
	 * deadlocks between two writers.
	 */
	return store_mailbox_fetch(txn, account_id, id, m, 1);
}

struct store_mailbox_iter_arg {
	int		(*fn)(const struct store_mailbox *, void *);
	void		*arg;
};

static int
store_mailbox_iter_one(const uint8_t *key, size_t klen, const uint8_t *val,
    size_t vlen, void *arg)
{
	struct store_mailbox_iter_arg	*ia = arg;
	struct store_mailbox		 m;
	int				 ret;

	memset(&m, 0, sizeof(m));
	if (klen != KEY_MBOX)
		return STORE_ECORRUPT;
	if ((ret = store_mailbox_decode(val, vlen, &m)) != 0)
		return ret;
	m.account_id = unpack_be64(key);
	m.id = unpack_be32(key + 8);
	ret = ia->fn(&m, ia->arg);
	store_mailbox_clear(&m);
	return ret;
}

int
store_mailbox_iter(struct store_txn *txn, uint64_t account_id,
    int (*fn)(const struct store_mailbox *, void *), void *arg)
{
	struct store_mailbox_iter_arg ia = { fn, arg };
	uint8_t		 prefix[8];

	pack_be64(prefix, account_id);
	return store_db_iter(txn, DBI_MAILBOXES, prefix, sizeof(prefix), NULL, 0,
	    store_mailbox_iter_one, &ia);
}

struct store_mailbox_find_arg {
	const char	*name;
	uint32_t	 special;
	uint32_t	 id;
};

/* Returns 1 (stop) on the match. */
static int
store_mailbox_find_one(const struct store_mailbox *m, void *arg)
{
	struct store_mailbox_find_arg	*fa = arg;

	if (fa->name != NULL ? store_mailbox_name_eq(m->name, fa->name) :
	    (m->special_use & fa->special) != 0) {
		fa->id = m->id;
		return 1;
	}
	return 0;
}

static int
store_mailbox_lookup(struct store_txn *txn, uint64_t account_id,
    struct store_mailbox_find_arg *fa, struct store_mailbox *m)
{
	int	 ret;

	ret = store_mailbox_iter(txn, account_id, store_mailbox_find_one, fa);
	if (ret == 0) {
		store_mailbox_clear(m);
		return STORE_ENOTFOUND;
	}
	if (ret != 1) {
		store_mailbox_clear(m);
		return ret;
	}
	return store_mailbox_get(txn, account_id, fa->id, m);
}

int
store_mailbox_find(struct store_txn *txn, uint64_t account_id,
    const char *name, struct store_mailbox *m)
{
	struct store_mailbox_find_arg fa = { .name = name };

	return store_mailbox_lookup(txn, account_id, &fa, m);
}

int
store_mailbox_find_special(struct store_txn *txn, uint64_t account_id,
    uint32_t special_use, struct store_mailbox *m)
{
	struct store_mailbox_find_arg fa = { .special = special_use };

	return store_mailbox_lookup(txn, account_id, &fa, m);
}

static int
store_mailbox_name_ok(const char *name)
{
	size_t	 n = strlen(name);

	return n > 0 && n <= STORE_MAILBOX_NAME_MAX;
}

/*
 * Whether name may be given to a mailbox of the account: of a length we
 * keep (STORE_ELIMIT) and no other mailbox's (STORE_EEXIST).
 */
static int
store_mailbox_name_free(struct store_txn *txn, uint64_t account_id,
    const char *name)
{
	struct store_mailbox_find_arg fa = { .name = name };
	int	 ret;

	if (!store_mailbox_name_ok(name))
		return STORE_ELIMIT;
	ret = store_mailbox_iter(txn, account_id, store_mailbox_find_one, &fa);
	return ret == 1 ? STORE_EEXIST : ret;
}

int
store_mailbox_create(struct store_txn *txn, uint64_t account_id,
    const char *name, uint32_t special_use, struct store_mailbox *m)
{
	struct store_account a;
	uint32_t	 uidvalidity;
	int		 ret;

	store_mailbox_clear(m);
	if ((ret = store_mailbox_name_free(txn, account_id, name)) != 0)
		return ret;
	memset(&a, 0, sizeof(a));
	if ((ret = store_account_get(txn, account_id, &a)) != 0)
		return ret;
	/*
	 * RFC 3501 2.3.1.1: a mailbox created anew under an old name must get
	 * a higher UIDVALIDITY; time, kept strictly increasing per account,
	 * gives that even across deletes.
	 */
	uidvalidity = (uint32_t)txn->now;
	if (uidvalidity <= a.last_uidvalidity)
		uidvalidity = a.last_uidvalidity + 1;
	m->account_id = account_id;
	m->id = a.next_mailbox_id == 0 ? 1 : a.next_mailbox_id;
	m->name = xstrdup(name);
	m->special_use = special_use;
	m->created = txn->now;
	m->uidvalidity = uidvalidity;
	m->uidnext = 1;
	m->highestmodseq = 1;
	a.next_mailbox_id = m->id + 1;
	a.last_uidvalidity = uidvalidity;
	ret = store_account_put(txn, &a);
	store_account_clear(&a);
	if (ret == 0)
		ret = store_mailbox_put(txn, m);
	return ret;
}

int
store_mailbox_recent(struct store_txn *txn, uint64_t account_id,
    uint32_t mailbox_id, int claim, uint32_t *firstp, uint32_t *lastp)
{
	struct store_mailbox	 m;
	int			 ret;

	memset(&m, 0, sizeof(m));
	if ((ret = store_mailbox_get(txn, account_id, mailbox_id, &m)) != 0)
		return ret;
	*firstp = m.recent_uid + 1;
	*lastp = m.uidnext - 1;
	if (claim && *lastp >= *firstp) {
		m.recent_uid = *lastp;
		ret = store_mailbox_put(txn, &m);
	}
	store_mailbox_clear(&m);
	return ret;
}

int
store_mailbox_rename(struct store_txn *txn, uint64_t account_id, uint32_t id,
    const char *newname)
{
	struct store_mailbox m;
	int		 ret;

	if ((ret = store_mailbox_name_free(txn, account_id, newname)) != 0)
		return ret;
	memset(&m, 0, sizeof(m));
	if ((ret = store_mailbox_get(txn, account_id, id, &m)) != 0)
		return ret;
	free(m.name);
	m.name = xstrdup(newname);
	ret = store_mailbox_put(txn, &m);
	store_mailbox_clear(&m);
	return ret;
}

int
store_mailbox_delete(struct store_txn *txn, uint64_t account_id, uint32_t id)
{
	uint8_t		 key[KEY_MBOX];
	int		 ret;

	if ((ret = store_msg_delete_all(txn, account_id, id)) != 0)
		return ret;
	store_key_mbox(key, account_id, id);
	if ((ret = store_db_del(txn, DBI_MAILBOXES, key, sizeof(key))) != 0)
		return ret;
	store_txn_notify(txn, account_id, id, 0);
	return 0;
}

int
store_mailbox_keyword(struct store_txn *txn, struct store_mailbox *m,
    const char *name, int create, unsigned *bitp)
{
	uint32_t	 i;

	/* RFC 3501 9: flag keywords are atoms, compared case-insensitively. */
	for (i = 0; i < m->nkeywords; i++)
		if (strcasecmp(m->keywords[i], name) == 0) {
			*bitp = i;
			return 0;
		}
	if (!create)
		return STORE_ENOTFOUND;
	if (m->nkeywords >= STORE_MAX_KEYWORDS)
		return STORE_EKEYWORDS;
	m->keywords[m->nkeywords] = xstrdup(name);
	*bitp = m->nkeywords++;
	return store_mailbox_put(txn, m);
}

static int
store_account_usage_one(const struct store_mailbox *m, void *arg)
{
	*(uint64_t *)arg += m->bytes;
	return 0;
}

int
store_account_usage(struct store_txn *txn, uint64_t account_id,
    uint64_t *bytesp)
{
	*bytesp = 0;
	return store_mailbox_iter(txn, account_id, store_account_usage_one,
	    bytesp);
}

/* ---- subscriptions ---- */

static size_t
store_sub_key(uint8_t **keyp, uint64_t account_id, const char *name)
{
	size_t	 n = strlen(name);

	*keyp = xmalloc(8 + n);
	pack_be64(*keyp, account_id);
	memcpy(*keyp + 8, name, n);
	return 8 + n;
}

int
store_sub_set(struct store_txn *txn, uint64_t account_id, const char *name,
    int subscribed)
{
	uint8_t		*key;
	size_t		 klen;
	int		 ret;

	if (!store_mailbox_name_ok(name))
		return STORE_ELIMIT;
	/* INBOX is stored under its canonical spelling. */
	if (strcasecmp(name, STORE_INBOX) == 0)
		name = STORE_INBOX;
	klen = store_sub_key(&key, account_id, name);
	if (subscribed)
		ret = store_db_put(txn, DBI_SUBSCRIPTIONS, key, klen, "", 0);
	else {
		ret = store_db_del(txn, DBI_SUBSCRIPTIONS, key, klen);
		if (ret == STORE_ENOTFOUND)
			ret = 0;
	}
	free(key);
	return ret;
}

int
store_sub_get(struct store_txn *txn, uint64_t account_id, const char *name)
{
	uint8_t		*key;
	void		*val;
	size_t		 klen, vlen;
	int		 ret;

	if (strcasecmp(name, STORE_INBOX) == 0)
		name = STORE_INBOX;
	klen = store_sub_key(&key, account_id, name);
	ret = store_db_get(txn, DBI_SUBSCRIPTIONS, key, klen, &val, &vlen);
	free(key);
	free(val);
	return ret;
}

struct store_sub_iter_arg {
	int		(*fn)(const char *, void *);
	void		*arg;
};

static int
store_sub_iter_one(const uint8_t *key, size_t klen, const uint8_t *val,
    size_t vlen, void *arg)
{
	struct store_sub_iter_arg	*ia = arg;
	char				*name;
	int				 ret;

	if (klen <= 8 || memchr(key + 8, '\0', klen - 8) != NULL)
		return STORE_ECORRUPT;
	name = xstrndup((const char *)key + 8, klen - 8);
	ret = ia->fn(name, ia->arg);
	free(name);
	return ret;
}

int
store_sub_iter(struct store_txn *txn, uint64_t account_id,
    int (*fn)(const char *, void *), void *arg)
{
	struct store_sub_iter_arg ia = { fn, arg };
	uint8_t		 prefix[8];

	pack_be64(prefix, account_id);
	return store_db_iter(txn, DBI_SUBSCRIPTIONS, prefix, sizeof(prefix),
	    NULL, 0, store_sub_iter_one, &ia);
}
