/*
 * imap-view.c: keeping a client's picture of a mailbox in step with the
 * store.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "imap-view.h"
#include "xmalloc.h"

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
}

static int
imap_view_load_one(const struct store_msg *m, void *arg)
{
	imap_view_push(arg, m);
	return 0;
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

int
imap_view_open(struct store_txn *txn, struct imap_view *v, uint64_t account_id,
    uint32_t mailbox_id, int readonly)
{
	struct store_mailbox	 mb;
	int			 ret;

	imap_view_clear(v);
	memset(&mb, 0, sizeof(mb));
	if ((ret = store_mailbox_get(txn, account_id, mailbox_id, &mb)) != 0)
		return ret;
	v->account_id = account_id;
	v->mailbox_id = mailbox_id;
	v->uidvalidity = mb.uidvalidity;
	v->uidnext = mb.uidnext;
	v->highestmodseq = mb.highestmodseq;
	v->readonly = readonly;
	imap_view_set_keywords(v, &mb);
	v->keywords_changed = 0;
	store_mailbox_clear(&mb);
	/* Read in the same transaction: the count matches HIGHESTMODSEQ. */
	if ((ret = store_msg_iter(txn, account_id, mailbox_id, 1, UINT32_MAX,
	    imap_view_load_one, v)) != 0) {
		imap_view_clear(v);
		return ret;
	}
	return 0;
}

void
imap_view_clear(struct imap_view *v)
{
	uint32_t	 i;

	for (i = 0; i < v->nkeywords; i++)
		free(v->keywords[i]);
	free(v->msgs);
	memset(v, 0, sizeof(*v));
}

/* Binary search: UIDs ascend with the sequence numbers. */
uint32_t
imap_view_seq(const struct imap_view *v, uint32_t uid)
{
	uint32_t	 lo = 0, hi = v->count, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (v->msgs[mid].uid == uid)
			return mid + 1;
		if (v->msgs[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

uint32_t
imap_view_max_uid(const struct imap_view *v)
{
	return v->count == 0 ? 0 : v->msgs[v->count - 1].uid;
}

struct imap_view_refresh {
	struct store_txn	*txn;
	struct imap_view	*v;
	uint64_t		 max_modseq;
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

	if (modseq > rf->max_modseq)
		rf->max_modseq = modseq;
	seq = imap_view_seq(v, uid);
	if (expunged) {
		if (seq != 0 && !v->msgs[seq - 1].expunged) {
			v->msgs[seq - 1].expunged = 1;
			v->pending_expunges = 1;
		}
		return 0;
	}
	if ((ret = store_msg_get(rf->txn, v->account_id, v->mailbox_id, uid,
	    &m)) != 0)
		return ret == STORE_ENOTFOUND ? 0 : ret;
	if (seq == 0) {
		/*
		 * New to this view.  Changes come in MODSEQ order, not UID
		 * order, so only UIDs above the view's highest are appended;
		 * anything else was expunged before we saw it.
		 */
		if (uid > imap_view_max_uid(v)) {
			imap_view_push(v, &m);
			v->new_count++;
		}
		return 0;
	}
	vm = &v->msgs[seq - 1];
	if (vm->expunged)
		return 0;
	if (vm->flags != m.flags || vm->keywords != m.keywords ||
	    vm->modseq != m.modseq) {
		if (vm->flags != m.flags || vm->keywords != m.keywords)
			vm->dirty = 1;
		vm->flags = m.flags;
		vm->keywords = m.keywords;
		vm->modseq = m.modseq;
	}
	return 0;
}

int
imap_view_refresh(struct store_txn *txn, struct imap_view *v)
{
	struct imap_view_refresh rf = { txn, v, v->highestmodseq };
	struct store_mailbox	 mb;
	int			 ret;

	memset(&mb, 0, sizeof(mb));
	if ((ret = store_mailbox_get(txn, v->account_id, v->mailbox_id, &mb)) != 0)
		return ret;
	if (mb.highestmodseq == v->highestmodseq) {
		store_mailbox_clear(&mb);
		return 0;
	}
	imap_view_set_keywords(v, &mb);
	if ((ret = store_changes_iter(txn, v->account_id, v->mailbox_id,
	    v->highestmodseq, imap_view_change, &rf)) != 0) {
		store_mailbox_clear(&mb);
		return ret;
	}
	v->highestmodseq = mb.highestmodseq;
	v->uidnext = mb.uidnext;
	store_mailbox_clear(&mb);
	return 0;
}

void
imap_view_report(struct imap_view *v, int allow_expunge,
    const struct imap_view_callbacks *cb, void *arg)
{
	uint32_t	 i, j;

	if (v->keywords_changed) {
		v->keywords_changed = 0;
		cb->keywords(arg);
	}
	if (allow_expunge && v->pending_expunges) {
		/*
		 * Each EXPUNGE names the sequence number as it is at that
		 * moment; walking forward and compacting gives exactly that.
		 */
		for (i = 0, j = 0; i < v->count; i++) {
			if (v->msgs[i].expunged) {
				cb->expunge(j + 1, v->msgs[i].uid, arg);
				continue;
			}
			v->msgs[j++] = v->msgs[i];
		}
		v->count = j;
		v->pending_expunges = 0;
	}
	if (v->new_count > 0) {
		v->new_count = 0;
		cb->exists(v->count, arg);
	}
	for (i = 0; i < v->count; i++)
		if (v->msgs[i].dirty && !v->msgs[i].expunged) {
			v->msgs[i].dirty = 0;
			cb->flags(i + 1, &v->msgs[i], arg);
		}
}

void
imap_view_update(struct imap_view *v, uint32_t seq, const struct store_msg *m)
{
	struct imap_view_msg	*vm;

	if (seq == 0 || seq > v->count)
		return;
	vm = &v->msgs[seq - 1];
	vm->flags = m->flags;
	vm->keywords = m->keywords;
	vm->modseq = m->modseq;
	vm->dirty = 0;
}
