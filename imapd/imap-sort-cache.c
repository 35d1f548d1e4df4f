/*
 * imap-sort-cache.c: a mailbox's decoded SORT and THREAD keys
 * (imap-sort-cache.h): per mailbox a hash table from UID to a counted
 * entry, the mailboxes' caches in one list of the process.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "imap-sort-cache.h"
#include "rfc5322.h"
#include "util.h"
#include "xmalloc.h"

struct imap_sort_ent {
	struct imap_sort_ent	*next;		/* in its bucket */
	uint32_t		 uid;
	uint64_t		 blob_id;
	unsigned int		 have;		/* IMAP_SORT_WANT_* */
	/* The cache's link (while in it) and each message it is lent to. */
	unsigned int		 refs;
	size_t			 bytes;
	/* Owned: the strings and References of the message. */
	struct imap_sort_msg	 keys;
};

struct imap_sort_cache {
	uint64_t		 account_id;
	uint32_t		 mailbox_id;
	uint32_t		 uidvalidity;
	/* Its place in sort_cachev; the sessions holding it. */
	size_t			 at;
	unsigned int		 users;
	uint64_t		 unused_since;	/* time_mono_ms(), users 0 */
	int			 forgotten;	/* free when put back */
	struct imap_sort_ent	**buckets;
	size_t			 nbuckets;	/* a power of two */
	size_t			 n;
	size_t			 bytes;		/* entries and buckets */
};

/* What every cache holds now (IMAP_SORT_CACHE_TOTAL_MAX). */
static size_t	 sort_cache_total;
/* The process's caches, in no order. */
static struct imap_sort_cache **sort_cachev;
static size_t	 sort_ncaches, sort_cachecap;

static size_t	 sort_cache_hash(const struct imap_sort_cache *, uint32_t);
static void	 sort_cache_free(struct imap_sort_cache *);
static int	 sort_cache_evict(void);
static void	 sort_cache_grow(struct imap_sort_cache *);
static struct imap_sort_ent **sort_cache_find(struct imap_sort_cache *,
		    uint32_t uid);
static void	 sort_cache_unlink(struct imap_sort_cache *,
		    struct imap_sort_ent **);
static size_t	 sort_str_bytes(const char *);
static void	 sort_str_wipe(char *);
static void	 sort_ent_lend(struct imap_sort_ent *, struct imap_sort_msg *);

static size_t
sort_cache_hash(const struct imap_sort_cache *c, uint32_t uid)
{
	/* UIDs are given out in a row (RFC 3501 2.3.1.1): they spread. */
	return (size_t)uid & (c->nbuckets - 1);
}

struct imap_sort_cache *
imap_sort_cache_get(uint64_t account_id, uint32_t mailbox_id,
    uint32_t uidvalidity)
{
	struct imap_sort_cache	*c;
	size_t			 i;

	/* A freed one's place gets another: i then stays. */
	for (i = 0; i < sort_ncaches; ) {
		c = sort_cachev[i];
		if (c->account_id == account_id &&
		    c->mailbox_id == mailbox_id && !c->forgotten) {
			if (c->uidvalidity == uidvalidity) {
				c->users++;
				return c;
			}
			/* RFC 3501 2.3.1.1: another UIDVALIDITY, other mail. */
			if (c->users == 0) {
				sort_cache_free(c);
				continue;
			}
		}
		i++;
	}
	if (sort_ncaches == sort_cachecap) {
		sort_cachecap = sort_cachecap == 0 ? 16 : sort_cachecap * 2;
		sort_cachev = xreallocarray(sort_cachev, sort_cachecap,
		    sizeof(*sort_cachev));
	}
	c = xcalloc(1, sizeof(*c));
	c->users = 1;
	c->at = sort_ncaches;
	sort_cachev[sort_ncaches++] = c;
	c->account_id = account_id;
	c->mailbox_id = mailbox_id;
	c->uidvalidity = uidvalidity;
	c->nbuckets = 64;
	c->buckets = xcalloc(c->nbuckets, sizeof(*c->buckets));
	c->bytes = sizeof(*c) + c->nbuckets * sizeof(*c->buckets);
	sort_cache_total += c->bytes;
	return c;
}

int
imap_sort_cache_is(const struct imap_sort_cache *c, uint64_t account_id,
    uint32_t mailbox_id, uint32_t uidvalidity)
{
	/* A forgotten one is not to be used again, even by its holders. */
	return c != NULL && !c->forgotten && c->account_id == account_id &&
	    c->mailbox_id == mailbox_id && c->uidvalidity == uidvalidity;
}

/* Entries still lent to a message are freed when it gives them back. */
static void
sort_cache_free(struct imap_sort_cache *c)
{
	size_t	 i;

	for (i = 0; i < c->nbuckets; i++)
		while (c->buckets[i] != NULL)
			sort_cache_unlink(c, &c->buckets[i]);
	sort_cache_total -= sizeof(*c) + c->nbuckets * sizeof(*c->buckets);
	/* The last one takes its place. */
	sort_cachev[c->at] = sort_cachev[--sort_ncaches];
	sort_cachev[c->at]->at = c->at;
	free(c->buckets);
	free(c);
}

void
imap_sort_cache_put_back(struct imap_sort_cache **cp)
{
	struct imap_sort_cache	*c = *cp;

	*cp = NULL;
	if (c == NULL || --c->users > 0)
		return;
	if (c->forgotten)
		sort_cache_free(c);
	else
		c->unused_since = time_mono_ms();
}

void
imap_sort_cache_expire(uint64_t ttl_ms)
{
	uint64_t	 now = time_mono_ms();
	size_t		 i;

	for (i = 0; i < sort_ncaches; ) {
		if (sort_cachev[i]->users == 0 &&
		    now - sort_cachev[i]->unused_since >= ttl_ms)
			sort_cache_free(sort_cachev[i]);
		else
			i++;
	}
}

void
imap_sort_cache_forget(uint64_t account_id)
{
	size_t	 i;

	for (i = 0; i < sort_ncaches; ) {
		if (account_id != 0 && sort_cachev[i]->account_id !=
		    account_id) {
			i++;
			continue;
		}
		if (sort_cachev[i]->users == 0) {
			sort_cache_free(sort_cachev[i]);
			continue;
		}
		sort_cachev[i]->forgotten = 1;
		i++;
	}
}

/* The cache unused longest goes, for room; 0 if none is unused. */
static int
sort_cache_evict(void)
{
	struct imap_sort_cache	*c, *old = NULL;
	size_t			 i;

	for (i = 0; i < sort_ncaches; i++) {
		c = sort_cachev[i];
		if (c->users == 0 && (old == NULL ||
		    c->unused_since < old->unused_since))
			old = c;
	}
	if (old == NULL)
		return 0;
	sort_cache_free(old);
	return 1;
}

/* Twice the buckets once there are more entries than buckets: O(1) mean. */
static void
sort_cache_grow(struct imap_sort_cache *c)
{
	struct imap_sort_ent	**old = c->buckets, *e, *next;
	size_t			 i, nold = c->nbuckets, h;

	c->nbuckets *= 2;
	c->buckets = xcalloc(c->nbuckets, sizeof(*c->buckets));
	for (i = 0; i < nold; i++)
		for (e = old[i]; e != NULL; e = next) {
			next = e->next;
			h = sort_cache_hash(c, e->uid);
			e->next = c->buckets[h];
			c->buckets[h] = e;
		}
	free(old);
	c->bytes += nold * sizeof(*c->buckets);
	sort_cache_total += nold * sizeof(*c->buckets);
}

static struct imap_sort_ent **
sort_cache_find(struct imap_sort_cache *c, uint32_t uid)
{
	struct imap_sort_ent	**ep;

	for (ep = &c->buckets[sort_cache_hash(c, uid)]; *ep != NULL;
	    ep = &(*ep)->next)
		if ((*ep)->uid == uid)
			return ep;
	return NULL;
}

/* Out of the table; freed unless a message still borrows it. */
static void
sort_cache_unlink(struct imap_sort_cache *c, struct imap_sort_ent **ep)
{
	struct imap_sort_ent	*e = *ep;

	*ep = e->next;
	e->next = NULL;
	c->n--;
	c->bytes -= e->bytes;
	imap_sort_ent_release(&e);
}

static size_t
sort_str_bytes(const char *s)
{
	return s != NULL ? strlen(s) + 1 : 0;
}

/* Decrypted mail is wiped before the memory goes back. */
static void
sort_str_wipe(char *s)
{
	if (s != NULL)
		sodium_memzero(s, strlen(s));
}

void
imap_sort_ent_release(struct imap_sort_ent **ep)
{
	struct imap_sort_ent	*e = *ep;

	*ep = NULL;
	if (e == NULL || --e->refs > 0)
		return;
	sort_cache_total -= e->bytes;
	imap_sort_keys_free(&e->keys);
	free(e);
}

void
imap_sort_keys_free(struct imap_sort_msg *k)
{
	char	**strs[] = { &k->subject, &k->from, &k->to, &k->cc,
		    &k->dfrom, &k->dto, &k->message_id };
	size_t	 i;

	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		sort_str_wipe(*strs[i]);
		free(*strs[i]);
		*strs[i] = NULL;
	}
	for (i = 0; i < k->nrefs; i++)
		sort_str_wipe(k->refs[i]);
	if (k->refs != NULL)
		rfc5322_msgids_free(&k->refs, k->nrefs);
	k->nrefs = 0;
}

/* The entry's keys into sm, which holds the entry until cleared. */
static void
sort_ent_lend(struct imap_sort_ent *e, struct imap_sort_msg *sm)
{
	struct imap_sort_msg	 rec = *sm;

	*sm = e->keys;
	/* What the message's record says now, not what the entry kept. */
	sm->seq = rec.seq;
	sm->uid = rec.uid;
	sm->arrival = rec.arrival;
	sm->size = rec.size;
	sm->modseq = rec.modseq;
	sm->ent = e;
	e->refs++;
}

int
imap_sort_cache_lend(struct imap_sort_cache *c, uint32_t uid,
    uint64_t blob_id, unsigned int want, struct imap_sort_msg *sm)
{
	struct imap_sort_ent	**ep;

	if ((ep = sort_cache_find(c, uid)) == NULL ||
	    (*ep)->blob_id != blob_id || ((*ep)->have & want) != want)
		return 0;
	sort_ent_lend(*ep, sm);
	return 1;
}

void
imap_sort_cache_put(struct imap_sort_cache *c, uint64_t blob_id,
    unsigned int have, struct imap_sort_msg *sm)
{
	struct imap_sort_ent	*e, **ep;
	size_t			 bytes, i, h;

	bytes = sizeof(*e) + sort_str_bytes(sm->subject) +
	    sort_str_bytes(sm->from) + sort_str_bytes(sm->to) +
	    sort_str_bytes(sm->cc) + sort_str_bytes(sm->dfrom) +
	    sort_str_bytes(sm->dto) + sort_str_bytes(sm->message_id) +
	    sm->nrefs * sizeof(*sm->refs);
	for (i = 0; i < sm->nrefs; i++)
		bytes += sort_str_bytes(sm->refs[i]);
	/* A replaced entry (fewer keys, another blob) first goes. */
	if ((ep = sort_cache_find(c, sm->uid)) != NULL)
		sort_cache_unlink(c, ep);
	while (sort_cache_total + bytes > IMAP_SORT_CACHE_TOTAL_MAX &&
	    sort_cache_evict())
		;
	if (c->bytes + bytes > IMAP_SORT_CACHE_MAILBOX_MAX ||
	    sort_cache_total + bytes > IMAP_SORT_CACHE_TOTAL_MAX)
		return;
	e = xcalloc(1, sizeof(*e));
	e->uid = sm->uid;
	e->blob_id = blob_id;
	e->have = have;
	e->refs = 1;
	e->bytes = bytes;
	/* The strings move to the entry. */
	e->keys = *sm;
	if (c->n >= c->nbuckets)
		sort_cache_grow(c);
	h = sort_cache_hash(c, e->uid);
	e->next = c->buckets[h];
	c->buckets[h] = e;
	c->n++;
	c->bytes += bytes;
	sort_cache_total += bytes;
	sort_ent_lend(e, sm);
}

void
imap_sort_cache_expunged(struct imap_sort_cache *c, uint32_t uid)
{
	struct imap_sort_ent	**ep;

	if (c != NULL && (ep = sort_cache_find(c, uid)) != NULL)
		sort_cache_unlink(c, ep);
}

size_t
imap_sort_cache_count(const struct imap_sort_cache *c)
{
	return c != NULL ? c->n : 0;
}

size_t
imap_sort_cache_bytes(const struct imap_sort_cache *c)
{
	return c != NULL ? c->bytes : 0;
}

size_t
imap_sort_cache_total_bytes(void)
{
	return sort_cache_total;
}

size_t
imap_sort_cache_ncaches(void)
{
	return sort_ncaches;
}
