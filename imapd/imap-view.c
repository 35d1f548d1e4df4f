/*
 * imap-view.c: keeping a client's picture of a mailbox in step with the
 * store.
 *
 * guestbox-imapd is one process with one event loop: the views and the
 * snapshot cache below are touched by that loop only.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "imap-view.h"
#include "xmalloc.h"

/*
 * The snapshot cache: views left by their sessions, kept for the next
 * SELECT of the same mailbox.  Bounded in entries and in room for
 * messages (32 bytes each: 2^20 is 32 MiB at most; an array grows by
 * doubling, so room is what counts); the least recently used goes
 * first.  A client that logs in again (a phone polling every few
 * minutes) finds its mailbox there; an account that is disabled or
 * deleted is forgotten (imap_view_cache_forget).  What a snapshot holds,
 * UIDs, flags and MODSEQs, is what the message records hold in the
 * database, unsealed there too.
 */
#define IMAP_VIEW_CACHE_SLOTS	16
#define IMAP_VIEW_CACHE_MSGS	(1U << 20)

struct imap_view_snap {
	uint64_t		 account_id;	/* 0: the slot is free */
	uint32_t		 mailbox_id;
	uint32_t		 uidvalidity;
	uint64_t		 highestmodseq;
	struct imap_view_msg	*msgs;
	uint32_t		 count;
	uint32_t		 cap;
	uint32_t		 seen_below;
	uint64_t		 used;		/* LRU tick */
};

static struct imap_view_snap	 imap_view_cache[IMAP_VIEW_CACHE_SLOTS];
static uint64_t			 imap_view_cache_tick;
static struct imap_view		*imap_view_live;
static uint64_t			 imap_view_nsteps;

static void	imap_view_push(struct imap_view *, const struct store_msg *);
static int	imap_view_load_one(const struct store_msg *, void *);
static void	imap_view_set_flags(struct imap_view *, uint32_t seq,
		    uint32_t flags);
static void	imap_view_mark_dirty(struct imap_view *, uint32_t seq);
static void	imap_view_mark_gone(struct imap_view *, uint32_t seq);
static void	imap_view_uids_add(uint32_t **, size_t *, size_t *,
		    uint32_t);
static void	imap_view_compact(struct imap_view *,
		    const struct imap_view_callbacks *, void *);
static int	imap_view_take_snapshot(struct imap_view *,
		    const struct store_mailbox *);
static void	imap_view_snap_free(struct imap_view_snap *);
static int	imap_view_change(uint32_t, uint64_t, int, void *);
static int	imap_view_apply(struct store_txn *, struct imap_view *,
		    uint64_t since);
static int	imap_view_reload(struct store_txn *, struct imap_view *);
static int	imap_uid_cmp(const void *, const void *);

uint64_t
imap_view_steps(void)
{
	return imap_view_nsteps;
}

static void
imap_view_push(struct imap_view *v, const struct store_msg *m)
{
	struct imap_view_msg	*vm;

	if (v->count == v->cap) {
		v->cap = v->cap == 0 ? 64 : v->cap * 2;
		v->msgs = xreallocarray(v->msgs, v->cap, sizeof(*v->msgs));
	}
	vm = &v->msgs[v->count++];
	memset(vm, 0, sizeof(*vm));
	vm->uid = m->uid;
	vm->flags = m->flags;
	vm->keywords = m->keywords;
	vm->modseq = m->modseq;
	imap_view_nsteps++;
}

static int
imap_view_load_one(const struct store_msg *m, void *arg)
{
	imap_view_push(arg, m);
	return 0;
}

/* A message's flags change: the first-unseen lowwater may have to drop. */
static void
imap_view_set_flags(struct imap_view *v, uint32_t seq, uint32_t flags)
{
	if (!(flags & STORE_F_SEEN) && seq - 1 < v->seen_below)
		v->seen_below = seq - 1;
	v->msgs[seq - 1].flags = flags;
}

static void
imap_view_uids_add(uint32_t **listp, size_t *np, size_t *capp, uint32_t uid)
{
	if (*np == *capp) {
		*capp = *capp == 0 ? 16 : *capp * 2;
		*listp = xreallocarray(*listp, *capp, sizeof(**listp));
	}
	(*listp)[(*np)++] = uid;
}

static void
imap_view_mark_dirty(struct imap_view *v, uint32_t seq)
{
	struct imap_view_msg	*vm = &v->msgs[seq - 1];

	if (vm->dirty)
		return;
	vm->dirty = 1;
	imap_view_uids_add(&v->dirty, &v->ndirty, &v->dirtycap, vm->uid);
}

static void
imap_view_mark_gone(struct imap_view *v, uint32_t seq)
{
	struct imap_view_msg	*vm = &v->msgs[seq - 1];

	if (vm->expunged)
		return;
	vm->expunged = 1;
	imap_view_uids_add(&v->gone, &v->ngone, &v->gonecap, vm->uid);
}

void
imap_view_set_keywords(struct imap_view *v, const struct store_mailbox *mb)
{
	uint32_t	 i;

	if (mb->nkeywords == v->nkeywords)
		return;
	for (i = v->nkeywords; i < mb->nkeywords; i++)
		v->keywords[i] = xstrdup(mb->keywords[i]);
	v->nkeywords = mb->nkeywords;
	v->keywords_changed = 1;
}

static void
imap_view_snap_free(struct imap_view_snap *sn)
{
	free(sn->msgs);
	memset(sn, 0, sizeof(*sn));
}

/*
 * Starts v (its header set from mb) from a snapshot of the mailbox: the
 * cache's (moved, no copy) or another open view's (copied).  Returns 1
 * with v->msgs filled and v->highestmodseq the snapshot's, or 0.  A
 * snapshot at MODSEQ m holds every message that existed at m, with its
 * state at m or later: the store's changes since m bring it up to date.
 */
static int
imap_view_take_snapshot(struct imap_view *v, const struct store_mailbox *mb)
{
	struct imap_view_snap	*sn;
	struct imap_view	*o;
	size_t			 i;

	for (i = 0; i < IMAP_VIEW_CACHE_SLOTS; i++) {
		sn = &imap_view_cache[i];
		if (sn->account_id != v->account_id ||
		    sn->mailbox_id != v->mailbox_id)
			continue;
		if (sn->uidvalidity != mb->uidvalidity ||
		    sn->highestmodseq > mb->highestmodseq) {
			imap_view_snap_free(sn);
			continue;
		}
		v->msgs = sn->msgs;
		v->count = sn->count;
		v->cap = sn->cap;
		v->seen_below = sn->seen_below;
		v->highestmodseq = sn->highestmodseq;
		sn->msgs = NULL;
		imap_view_snap_free(sn);
		return 1;
	}
	for (o = imap_view_live; o != NULL; o = o->live_next) {
		if (o == v || o->stale || o->account_id != v->account_id ||
		    o->mailbox_id != v->mailbox_id ||
		    o->uidvalidity != mb->uidvalidity ||
		    o->highestmodseq > mb->highestmodseq)
			continue;
		v->cap = v->count = o->count;
		v->msgs = xreallocarray(NULL, v->cap > 0 ? v->cap : 1,
		    sizeof(*v->msgs));
		if (o->count > 0)
			memcpy(v->msgs, o->msgs,
			    (size_t)o->count * sizeof(*v->msgs));
		v->seen_below = o->seen_below;
		v->highestmodseq = o->highestmodseq;
		/* Its dirty marks are its client's business, not ours. */
		for (i = 0; i < o->ndirty; i++) {
			uint32_t seq = imap_view_seq(v, o->dirty[i]);

			if (seq != 0)
				v->msgs[seq - 1].dirty = 0;
		}
		/* Its expunged ones are gone here too. */
		for (i = 0; i < o->ngone; i++)
			imap_view_uids_add(&v->gone, &v->ngone, &v->gonecap,
			    o->gone[i]);
		return 1;
	}
	return 0;
}

int
imap_view_open(struct store_txn *txn, struct imap_view *v, uint64_t account_id,
    uint32_t mailbox_id, int readonly)
{
	struct store_mailbox	 mb;
	size_t			 i;
	int			 ret;

	imap_view_clear(v);
	memset(&mb, 0, sizeof(mb));
	if ((ret = store_mailbox_get(txn, account_id, mailbox_id, &mb)) != 0)
		return ret;
	v->account_id = account_id;
	v->mailbox_id = mailbox_id;
	v->uidvalidity = mb.uidvalidity;
	v->uidnext = mb.uidnext;
	v->readonly = readonly;
	imap_view_set_keywords(v, &mb);
	v->keywords_changed = 0;
	if (imap_view_take_snapshot(v, &mb)) {
		/*
		 * What the snapshot's owner was told is nothing to this
		 * client: expunges are dropped, changes taken silently.
		 */
		if ((ret = imap_view_apply(txn, v, v->highestmodseq)) != 0)
			goto fail;
		imap_view_compact(v, NULL, NULL);
		for (i = 0; i < v->ndirty; i++) {
			uint32_t seq = imap_view_seq(v, v->dirty[i]);

			if (seq != 0)
				v->msgs[seq - 1].dirty = 0;
		}
		v->ndirty = 0;
		v->new_count = 0;
	} else if ((ret = store_msg_iter(txn, account_id, mailbox_id, 1,
	    UINT32_MAX, imap_view_load_one, v)) != 0)
		/* Read in the same transaction: the count matches HIGHESTMODSEQ. */
		goto fail;
	v->highestmodseq = mb.highestmodseq;
	v->uidnext = mb.uidnext;
	store_mailbox_clear(&mb);
	v->live = 1;
	v->live_prev = NULL;
	v->live_next = imap_view_live;
	if (imap_view_live != NULL)
		imap_view_live->live_prev = v;
	imap_view_live = v;
	return 0;
fail:
	store_mailbox_clear(&mb);
	imap_view_clear(v);
	return ret;
}

void
imap_view_clear(struct imap_view *v)
{
	uint32_t	 i;

	if (v->live) {
		if (v->live_prev != NULL)
			v->live_prev->live_next = v->live_next;
		else
			imap_view_live = v->live_next;
		if (v->live_next != NULL)
			v->live_next->live_prev = v->live_prev;
	}
	for (i = 0; i < v->nkeywords; i++)
		free(v->keywords[i]);
	free(v->msgs);
	free(v->dirty);
	free(v->gone);
	memset(v, 0, sizeof(*v));
}

void
imap_view_release(struct imap_view *v)
{
	struct imap_view_snap	*sn, *victim = NULL;
	uint64_t		 total = 0;
	size_t			 i;

	/* Counted by what the arrays hold room for: that is the memory. */
	if (!v->live || v->cap > IMAP_VIEW_CACHE_MSGS) {
		imap_view_clear(v);
		return;
	}
	for (i = 0; i < IMAP_VIEW_CACHE_SLOTS; i++) {
		sn = &imap_view_cache[i];
		/* One snapshot per mailbox: the newer one stays. */
		if (sn->account_id == v->account_id &&
		    sn->mailbox_id == v->mailbox_id)
			imap_view_snap_free(sn);
		total += sn->cap;
	}
	/* Least recently used first, until the new one fits. */
	for (;;) {
		victim = NULL;
		for (i = 0; i < IMAP_VIEW_CACHE_SLOTS; i++) {
			sn = &imap_view_cache[i];
			if (sn->account_id == 0) {
				if (total + v->cap <= IMAP_VIEW_CACHE_MSGS)
					goto found;
				continue;
			}
			if (victim == NULL || sn->used < victim->used)
				victim = sn;
		}
		if (victim == NULL)
			break;
		total -= victim->cap;
		imap_view_snap_free(victim);
	}
	imap_view_clear(v);
	return;
found:
	/* Its client's marks go with it: the next client starts clean. */
	for (i = 0; i < v->ndirty; i++) {
		uint32_t seq = imap_view_seq(v, v->dirty[i]);

		if (seq != 0)
			v->msgs[seq - 1].dirty = 0;
	}
	imap_view_compact(v, NULL, NULL);
	sn->account_id = v->account_id;
	sn->mailbox_id = v->mailbox_id;
	sn->uidvalidity = v->uidvalidity;
	sn->highestmodseq = v->highestmodseq;
	sn->msgs = v->msgs;
	sn->count = v->count;
	sn->cap = v->cap;
	sn->seen_below = v->seen_below;
	sn->used = ++imap_view_cache_tick;
	v->msgs = NULL;
	imap_view_clear(v);
}

void
imap_view_cache_forget(uint64_t account_id)
{
	struct imap_view	*o;
	size_t			 i;

	for (i = 0; i < IMAP_VIEW_CACHE_SLOTS; i++)
		if (account_id == 0 || imap_view_cache[i].account_id ==
		    account_id)
			imap_view_snap_free(&imap_view_cache[i]);
	if (account_id != 0)
		return;
	/* Nor may a SELECT copy an open view before it reloaded. */
	for (o = imap_view_live; o != NULL; o = o->live_next)
		o->stale = 1;
}

uint32_t
imap_view_lower_bound(const struct imap_view *v, uint32_t uid)
{
	uint32_t	 lo = 0, hi = v->count, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (v->msgs[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Binary search: UIDs ascend with the sequence numbers. */
uint32_t
imap_view_seq(const struct imap_view *v, uint32_t uid)
{
	uint32_t	 i = imap_view_lower_bound(v, uid);

	return i < v->count && v->msgs[i].uid == uid ? i + 1 : 0;
}

uint32_t
imap_view_max_uid(const struct imap_view *v)
{
	return v->count == 0 ? 0 : v->msgs[v->count - 1].uid;
}

uint32_t
imap_view_next_in_set(const struct imap_view *v, const struct imap_seqset *set,
    int uid_mode, uint32_t seq)
{
	uint32_t	 uid, want;

	if (seq == 0)
		seq = 1;
	while (seq <= v->count) {
		imap_view_nsteps++;
		if (!uid_mode) {
			want = imap_seqset_next(set, seq);
			return want <= v->count ? want : 0;
		}
		uid = v->msgs[seq - 1].uid;
		if ((want = imap_seqset_next(set, uid)) == 0)
			return 0;
		if (want == uid)
			return seq;
		/* The next message at or above the set's next UID. */
		seq = imap_view_lower_bound(v, want) + 1;
	}
	return 0;
}

uint32_t
imap_view_first_unseen(struct imap_view *v)
{
	uint32_t	 i;

	for (i = v->seen_below; i < v->count; i++) {
		imap_view_nsteps++;
		if (!(v->msgs[i].flags & STORE_F_SEEN) && !v->msgs[i].expunged)
			break;
	}
	v->seen_below = i;
	return i < v->count ? i + 1 : 0;
}

struct imap_view_refresh {
	struct store_txn	*txn;
	struct imap_view	*v;
	uint32_t		 max_uid;	/* the view's, when it began */
	uint32_t		*newuids;
	size_t			 nnew;
};

static int
imap_view_change(uint32_t uid, uint64_t modseq, int expunged, void *arg)
{
	struct imap_view_refresh	*rf = arg;
	struct imap_view		*v = rf->v;
	struct imap_view_msg		*vm;
	struct store_msg		 m;
	uint32_t			 seq;
	int				 ret;

	imap_view_nsteps++;
	seq = imap_view_seq(v, uid);
	if (expunged) {
		if (seq != 0)
			imap_view_mark_gone(v, seq);
		return 0;
	}
	if (seq == 0) {
		/*
		 * New to this view if above its highest UID; anything else
		 * was expunged before we saw it.  Changes come in MODSEQ
		 * order, not UID order (a message flagged after a later one
		 * arrived comes after it), so the new ones are sorted first.
		 */
		if (uid > rf->max_uid) {
			rf->newuids = xreallocarray(rf->newuids, rf->nnew + 1,
			    sizeof(*rf->newuids));
			rf->newuids[rf->nnew++] = uid;
		}
		return 0;
	}
	vm = &v->msgs[seq - 1];
	if (vm->expunged)
		return 0;
	if ((ret = store_msg_get(rf->txn, v->account_id, v->mailbox_id, uid,
	    &m)) != 0)
		return ret == STORE_ENOTFOUND ? 0 : ret;
	if (vm->flags != m.flags || vm->keywords != m.keywords)
		imap_view_mark_dirty(v, seq);
	imap_view_set_flags(v, seq, m.flags);
	vm->keywords = m.keywords;
	vm->modseq = m.modseq;
	return 0;
}

static int
imap_uid_cmp(const void *a, const void *b)
{
	uint32_t	 x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Takes the store's changes after since into v (nothing reported). */
static int
imap_view_apply(struct store_txn *txn, struct imap_view *v, uint64_t since)
{
	struct imap_view_refresh rf;
	struct store_msg	 m;
	size_t			 i;
	int			 ret;

	memset(&rf, 0, sizeof(rf));
	rf.txn = txn;
	rf.v = v;
	rf.max_uid = imap_view_max_uid(v);
	if ((ret = store_changes_iter(txn, v->account_id, v->mailbox_id,
	    since, imap_view_change, &rf)) != 0)
		goto out;
	/* newuids is NULL when there are none: qsort() wants a pointer. */
	if (rf.nnew > 1)
		qsort(rf.newuids, rf.nnew, sizeof(*rf.newuids), imap_uid_cmp);
	for (i = 0; i < rf.nnew; i++) {
		if (i > 0 && rf.newuids[i] == rf.newuids[i - 1])
			continue;
		if ((ret = store_msg_get(txn, v->account_id, v->mailbox_id,
		    rf.newuids[i], &m)) == STORE_ENOTFOUND)
			continue;
		if (ret != 0)
			goto out;
		imap_view_push(v, &m);
		v->new_count++;
	}
	ret = 0;
out:
	free(rf.newuids);
	return ret;
}

/*
 * After a rollback the changes since a MODSEQ say nothing: the records
 * the view was built from may be gone and their MODSEQs given again to
 * others.  So the view is compared with the mailbox as it is, message by
 * message (both in UID order): gone ones are marked expunged, changed
 * flags dirty, and those above the view's highest UID appended (EXISTS,
 * RFC 3501 7.4.1 and 7.3.1).
 */
static int
imap_view_reload(struct store_txn *txn, struct imap_view *v)
{
	struct imap_view	 now;
	struct imap_view_msg	*vm, *nm;
	uint32_t		 i = 0, j = 0, max_uid = imap_view_max_uid(v);
	uint32_t		 n = v->count;	/* the appended are not compared */
	int			 ret;

	memset(&now, 0, sizeof(now));
	if ((ret = store_msg_iter(txn, v->account_id, v->mailbox_id, 1,
	    UINT32_MAX, imap_view_load_one, &now)) != 0) {
		imap_view_clear(&now);
		return ret;
	}
	while (i < n || j < now.count) {
		vm = i < n ? &v->msgs[i] : NULL;
		nm = j < now.count ? &now.msgs[j] : NULL;
		imap_view_nsteps++;
		if (nm == NULL || (vm != NULL && vm->uid < nm->uid)) {
			imap_view_mark_gone(v, i + 1);
			i++;
		} else if (vm == NULL || nm->uid < vm->uid) {
			if (nm->uid > max_uid) {
				if (v->count == v->cap) {
					v->cap = v->cap == 0 ? 64 : v->cap * 2;
					v->msgs = xreallocarray(v->msgs, v->cap,
					    sizeof(*v->msgs));
				}
				v->msgs[v->count++] = *nm;
				v->new_count++;
			} else
				v->unplaceable = 1;
			j++;
		} else {
			if (!vm->expunged && (vm->flags != nm->flags ||
			    vm->keywords != nm->keywords))
				imap_view_mark_dirty(v, i + 1);
			imap_view_set_flags(v, i + 1, nm->flags);
			vm->keywords = nm->keywords;
			vm->modseq = nm->modseq;
			i++;
			j++;
		}
	}
	imap_view_clear(&now);
	v->stale = 0;
	return 0;
}

int
imap_view_refresh(struct store_txn *txn, struct imap_view *v)
{
	struct store_mailbox	 mb;
	int			 ret;

	memset(&mb, 0, sizeof(mb));
	if ((ret = store_mailbox_get(txn, v->account_id, v->mailbox_id, &mb)) != 0)
		return ret;
	/* Gone back: the site rolled back and no notice reached us. */
	if (mb.highestmodseq < v->highestmodseq || mb.uidnext < v->uidnext)
		v->stale = 1;
	if (v->stale) {
		imap_view_set_keywords(v, &mb);
		ret = imap_view_reload(txn, v);
		if (ret == 0) {
			v->highestmodseq = mb.highestmodseq;
			v->uidnext = mb.uidnext;
		}
		store_mailbox_clear(&mb);
		return ret;
	}
	if (mb.highestmodseq == v->highestmodseq) {
		store_mailbox_clear(&mb);
		return 0;
	}
	imap_view_set_keywords(v, &mb);
	if ((ret = imap_view_apply(txn, v, v->highestmodseq)) != 0) {
		store_mailbox_clear(&mb);
		return ret;
	}
	v->highestmodseq = mb.highestmodseq;
	v->uidnext = mb.uidnext;
	store_mailbox_clear(&mb);
	return 0;
}

/*
 * Removes the expunged messages (the gone list), reporting each through
 * cb when given.  Each EXPUNGE names the sequence number as it is at that
 * moment: the t-th removal (in UID order) of the message at index i is
 * sequence number i - t + 1.  The runs between them move down with one
 * memmove each: k expunges cost k binary searches, not a walk.
 */
static void
imap_view_compact(struct imap_view *v, const struct imap_view_callbacks *cb,
    void *arg)
{
	uint32_t	 i, end, seq, t, k = 0, sb = v->seen_below;
	size_t		 g;

	if (v->ngone == 0)
		return;
	/* The indexes of the removals, ascending, in place of their UIDs. */
	qsort(v->gone, v->ngone, sizeof(*v->gone), imap_uid_cmp);
	for (g = 0; g < v->ngone; g++) {
		imap_view_nsteps++;
		if ((seq = imap_view_seq(v, v->gone[g])) != 0 &&
		    v->msgs[seq - 1].expunged && (k == 0 ||
		    v->gone[k - 1] != seq - 1))
			v->gone[k++] = seq - 1;
	}
	for (t = 0; t < k; t++) {
		i = v->gone[t];
		/* What was \Seen below the mark still is, one place lower. */
		if (i < sb)
			v->seen_below--;
		if (cb != NULL)
			cb->expunge(i - t + 1, v->msgs[i].uid, arg);
		/* The run up to the next removal moves down by t + 1. */
		end = t + 1 < k ? v->gone[t + 1] : v->count;
		memmove(&v->msgs[i - t], &v->msgs[i + 1],
		    (size_t)(end - i - 1) * sizeof(*v->msgs));
	}
	v->count -= k;
	v->ngone = 0;
}

void
imap_view_report(struct imap_view *v, int allow_expunge,
    const struct imap_view_callbacks *cb, void *arg)
{
	struct imap_view_msg	*vm;
	uint32_t		 seq;
	size_t			 i;

	if (v->keywords_changed) {
		v->keywords_changed = 0;
		cb->keywords(arg);
	}
	if (allow_expunge)
		imap_view_compact(v, cb, arg);
	if (v->new_count > 0) {
		v->new_count = 0;
		cb->exists(v->count, arg);
	}
	if (v->ndirty == 0)
		return;
	/* In the order of the sequence numbers, as a walk would give. */
	qsort(v->dirty, v->ndirty, sizeof(*v->dirty), imap_uid_cmp);
	for (i = 0; i < v->ndirty; i++) {
		if ((seq = imap_view_seq(v, v->dirty[i])) == 0)
			continue;
		vm = &v->msgs[seq - 1];
		if (vm->dirty && !vm->expunged) {
			vm->dirty = 0;
			cb->flags(seq, vm, arg);
		}
	}
	v->ndirty = 0;
}

void
imap_view_update(struct imap_view *v, uint32_t seq, const struct store_msg *m)
{
	struct imap_view_msg	*vm;

	if (seq == 0 || seq > v->count)
		return;
	vm = &v->msgs[seq - 1];
	imap_view_set_flags(v, seq, m->flags);
	vm->keywords = m->keywords;
	vm->modseq = m->modseq;
	vm->dirty = 0;
}
