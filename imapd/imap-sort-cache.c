/*
 * imap-sort-cache.c: a session's decoded SORT and THREAD keys
 * (imap-sort-cache.h), a hash table from UID to a counted entry.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "imap-sort-cache.h"
#include "rfc5322.h"
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
	struct imap_sort_ent	**buckets;
	size_t			 nbuckets;	/* a power of two */
	size_t			 n;
	size_t			 bytes;		/* entries and buckets */
};

/* What every session's entries hold now (IMAP_SORT_CACHE_TOTAL_MAX). */
static size_t	 sort_cache_total;

static size_t	 sort_cache_hash(const struct imap_sort_cache *, uint32_t);
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
imap_sort_cache_new(uint64_t account_id, uint32_t mailbox_id,
    uint32_t uidvalidity)
{
	struct imap_sort_cache	*c;

	c = xcalloc(1, sizeof(*c));
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
	return c != NULL && c->account_id == account_id &&
	    c->mailbox_id == mailbox_id && c->uidvalidity == uidvalidity;
}

void
imap_sort_cache_free(struct imap_sort_cache **cp)
{
	struct imap_sort_cache	*c = *cp;
	size_t			 i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nbuckets; i++)
		while (c->buckets[i] != NULL)
			sort_cache_unlink(c, &c->buckets[i]);
	sort_cache_total -= sizeof(*c) + c->nbuckets * sizeof(*c->buckets);
	free(c->buckets);
	free(c);
	*cp = NULL;
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
	struct imap_sort_msg	*k;
	size_t			 i;

	*ep = NULL;
	if (e == NULL || --e->refs > 0)
		return;
	k = &e->keys;
	sort_str_wipe(k->subject);
	sort_str_wipe(k->from);
	sort_str_wipe(k->to);
	sort_str_wipe(k->cc);
	sort_str_wipe(k->dfrom);
	sort_str_wipe(k->dto);
	sort_str_wipe(k->message_id);
	for (i = 0; i < k->nrefs; i++)
		sort_str_wipe(k->refs[i]);
	sort_cache_total -= e->bytes;
	free(k->subject);
	free(k->from);
	free(k->to);
	free(k->cc);
	free(k->dfrom);
	free(k->dto);
	free(k->message_id);
	if (k->refs != NULL)
		rfc5322_msgids_free(&k->refs, k->nrefs);
	free(e);
}

/* The entry's keys into sm, which holds the entry until cleared. */
static void
sort_ent_lend(struct imap_sort_ent *e, struct imap_sort_msg *sm)
{
	sm->date = e->keys.date;
	sm->subject = e->keys.subject;
	sm->refwd = e->keys.refwd;
	sm->from = e->keys.from;
	sm->to = e->keys.to;
	sm->cc = e->keys.cc;
	sm->dfrom = e->keys.dfrom;
	sm->dto = e->keys.dto;
	sm->message_id = e->keys.message_id;
	sm->refs = e->keys.refs;
	sm->nrefs = e->keys.nrefs;
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
	if (c->bytes + bytes > IMAP_SORT_CACHE_SESSION_MAX ||
	    sort_cache_total + bytes > IMAP_SORT_CACHE_TOTAL_MAX)
		return;
	e = xcalloc(1, sizeof(*e));
	e->uid = sm->uid;
	e->blob_id = blob_id;
	e->have = have;
	e->refs = 1;
	e->bytes = bytes;
	/* The strings move to the entry; what varies stays zero there. */
	e->keys.uid = sm->uid;
	e->keys.date = sm->date;
	e->keys.subject = sm->subject;
	e->keys.refwd = sm->refwd;
	e->keys.from = sm->from;
	e->keys.to = sm->to;
	e->keys.cc = sm->cc;
	e->keys.dfrom = sm->dfrom;
	e->keys.dto = sm->dto;
	e->keys.message_id = sm->message_id;
	e->keys.refs = sm->refs;
	e->keys.nrefs = sm->nrefs;
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
