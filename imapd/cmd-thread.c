/*
 * cmd-thread.c: THREAD and UID THREAD (RFC 5256 BASE.6.4.THREAD), with
 * the ORDEREDSUBJECT and REFERENCES algorithms (RFC 5256 3).
 *
 *   THREAD REFERENCES UTF-8 SINCE 1-Feb-2026
 *
 * The search runs in slices as SEARCH does (imap-search.h); each match's
 * base subject, sent date and IDs come in from the mailbox's key cache or
 * its MIME cache meanwhile (imap-sort.h).  The threading itself is
 * O(n log n): Message IDs are numbered by sorting them, not hashed, and
 * every walk over the tree (loop checks, pruning, writing) uses parent
 * links or a heap stack, so a reply chain of any length cannot overflow
 * the C stack.  It runs in slices too (issue 17: at 100,000 messages
 * the linking, the pruning and the merging by subject each held the loop
 * for 60 ms): every step goes on where the last slice stopped, looking
 * at the clock every THREAD_CHECK items, and every sort (of the IDs, by
 * subject, of siblings and roots by date) is a step-sort.h one unless it
 * is small.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "imap-search-parse.h"
#include "imap-search.h"
#include "imap-sort.h"
#include "imapd.h"
#include "step-sort.h"
#include "xmalloc.h"

/* Its rows' handlers and hooks (imap-commands.c). */
imap_cmd_fn	cmd_thread;

#define THR_NONE	UINT32_MAX

enum thread_algo {
	THREAD_ORDEREDSUBJECT,
	THREAD_REFERENCES,
};

/* The steps of the threading, each in a slice of its own. */
enum thread_phase {
	THREAD_P_START,
	THREAD_P_SORT,		/* messages by subject, or the IDs */
	THREAD_P_LINK,
	THREAD_P_PRUNE,
	THREAD_P_SUBJECTS,
	THREAD_P_ORDER,
	THREAD_P_WRITE,		/* the answer, root by root */
	THREAD_P_DONE,
};

struct thread_tree;

/* A container of RFC 5256 3 (JWZ's): a message, or a dummy for an ID. */
struct thr_node {
	uint32_t	 parent;
	uint32_t	 msg;		/* index in msgs, THR_NONE: dummy */
	/* Children as a slice of thread_tree.kids, once built. */
	uint32_t	 kid0, nkids;
	int		 gone;		/* pruned or merged away */
};

struct thread_tree {
	struct thread_run	*tr;
	struct thr_node		*nodes;
	size_t			 nnodes, cap;
	uint32_t		*kids;
	uint32_t		*roots;
	size_t			 nroots;
};

struct thread_run {
	enum thread_algo	 algo;
	int			 uid_mode;
	struct imap_sort_msgs	 m;		/* the matches, in seq order */
	enum thread_phase	 phase;
	struct thread_tree	 tt;
	/* REFERENCES: every ID of the matches (borrowed), to be sorted. */
	char			**ids;
	size_t			 nids;
	/* The order of m (ORDEREDSUBJECT) or of ids (REFERENCES). */
	struct step_sort	 ord;
	/* Where the step under way goes on: its part, item, work done. */
	int			 sub;
	size_t			 at;
	size_t			 work;
	uint32_t		 top;		/* ORDEREDSUBJECT: the thread's */
	char			**uniq;		/* REFERENCES: each ID once */
	size_t			 nuniq;
	uint32_t		*ptop, *pcount;	/* pruning */
	char			**subj;		/* merging: the roots' subjects */
	size_t			 nsubj;
	uint32_t		*table;
	/* A sort of siblings, roots or subjects under way. */
	struct step_sort	 ord2;
	int			 sorting;
	const uint32_t		*sort_base;
};

/* Items (messages, nodes, compares) between two looks at the clock. */
#define THREAD_CHECK		256
/* Siblings up to this many are sorted at once, more in steps. */
#define THREAD_SORT_SMALL	64

static int	 thread_hit(struct store_txn *, struct imap_session *, size_t,
		    uint32_t, const struct store_msg *, void *);
static int	 thread_more(struct imap_session *, uint64_t, void *);
static void	 thread_done(struct imap_session *, size_t, void *);
static void	 thread_run_free(void *);

static int
thread_hit(struct store_txn *txn, struct imap_session *s, size_t idx,
    uint32_t seq, const struct store_msg *m, void *arg)
{
	struct thread_run	*tr = arg;

	return imap_sort_msgs_read(txn, s, &tr->m, idx, seq, m,
	    IMAP_SORT_WANT_SUBJECT | IMAP_SORT_WANT_DATE |
	    (tr->algo == THREAD_REFERENCES ? IMAP_SORT_WANT_IDS : 0));
}

static uint32_t
thread_node_new(struct thread_tree *tt, uint32_t msg)
{
	struct thr_node	*n;

	if (tt->nnodes == tt->cap) {
		tt->cap = tt->cap == 0 ? 64 : tt->cap * 2;
		tt->nodes = xreallocarray(tt->nodes, tt->cap,
		    sizeof(*tt->nodes));
	}
	n = &tt->nodes[tt->nnodes];
	memset(n, 0, sizeof(*n));
	n->parent = THR_NONE;
	n->msg = msg;
	return (uint32_t)tt->nnodes++;
}

/* ---- ordering ---- */

/* qsort() takes no argument: the tree being sorted. */
static const struct thread_tree *thread_cur;

/* A node's own message, or NULL for a dummy. */
static const struct imap_sort_msg *
thread_own_msg(const struct thread_tree *tt, uint32_t i)
{
	return tt->nodes[i].msg == THR_NONE ? NULL :
	    &tt->tr->m.v[tt->nodes[i].msg];
}

/* The message that dates a node: itself, or a dummy's first child. */
static const struct imap_sort_msg *
thread_node_msg(const struct thread_tree *tt, uint32_t i)
{
	const struct thr_node	*n = &tt->nodes[i];

	while (n->msg == THR_NONE && n->nkids > 0)
		n = &tt->nodes[tt->kids[n->kid0]];
	return n->msg == THR_NONE ? NULL : &tt->tr->m.v[n->msg];
}

/*
 * RFC 5256 3: by sent date, then by sequence number.  A total order (no
 * two nodes date by one message), so any sort gives the same result.
 */
static int
thread_node_cmp(const struct thread_tree *tt, uint32_t a, uint32_t b)
{
	const struct imap_sort_msg *x, *y;

	x = thread_node_msg(tt, a);
	y = thread_node_msg(tt, b);
	if (x == NULL || y == NULL)
		return (x == NULL) - (y == NULL);
	if (x->date != y->date)
		return x->date < y->date ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int
thread_date_cmp(const void *a, const void *b)
{
	return thread_node_cmp(thread_cur, *(const uint32_t *)a,
	    *(const uint32_t *)b);
}

/* step_sort's compare: of the nodes tr->sort_base names. */
static int
thread_base_cmp(uint32_t a, uint32_t b, void *arg)
{
	const struct thread_run	*tr = arg;

	return thread_node_cmp(&tr->tt, tr->sort_base[a], tr->sort_base[b]);
}

/*
 * Whether a step stops for now: w more items done, and the clock looked
 * at every THREAD_CHECK of them.
 */
static int
thread_stop(struct thread_run *tr, size_t w, uint64_t deadline)
{
	tr->work += w;
	if (tr->work < THREAD_CHECK)
		return 0;
	tr->work = 0;
	return time_mono_ms() >= deadline;
}

static int
thread_str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Children slices from the parent links (counting sort: linear). */
static void
thread_build_kids(struct thread_tree *tt)
{
	size_t		 i, at = 0;
	uint32_t	 p;

	for (i = 0; i < tt->nnodes; i++)
		tt->nodes[i].nkids = 0;
	for (i = 0; i < tt->nnodes; i++)
		if (!tt->nodes[i].gone && (p = tt->nodes[i].parent) != THR_NONE)
			tt->nodes[p].nkids++;
	for (i = 0; i < tt->nnodes; i++) {
		tt->nodes[i].kid0 = (uint32_t)at;
		at += tt->nodes[i].nkids;
		tt->nodes[i].nkids = 0;
	}
	free(tt->kids);
	tt->kids = xreallocarray(NULL, at + 1, sizeof(*tt->kids));
	free(tt->roots);
	tt->roots = xreallocarray(NULL, tt->nnodes + 1, sizeof(*tt->roots));
	tt->nroots = 0;
	for (i = 0; i < tt->nnodes; i++) {
		if (tt->nodes[i].gone)
			continue;
		if ((p = tt->nodes[i].parent) == THR_NONE)
			tt->roots[tt->nroots++] = (uint32_t)i;
		else
			tt->kids[tt->nodes[p].kid0 + tt->nodes[p].nkids++] =
			    (uint32_t)i;
	}
}

/*
 * RFC 5256 3 step 6: siblings by sent date, a dummy by its first child's
 * (dummies are roots by then, their children messages: those first),
 * then the roots.  Goes on from node tr->at (tt->nnodes: the roots); 1
 * if stopped by deadline, 0 when sorted.
 */
static int
thread_sort(struct thread_run *tr, uint64_t deadline)
{
	struct thread_tree	*tt = &tr->tt;
	uint32_t		*base, *tmp;
	size_t			 n, i;

	for (; tr->at <= tt->nnodes; tr->at++) {
		if (tr->at < tt->nnodes) {
			base = tt->kids + tt->nodes[tr->at].kid0;
			n = tt->nodes[tr->at].nkids;
		} else {
			base = tt->roots;
			n = tt->nroots;
		}
		if (n < 2)
			continue;
		if (!tr->sorting) {
			if (thread_stop(tr, n, deadline))
				return 1;
			if (n <= THREAD_SORT_SMALL) {
				thread_cur = tt;
				qsort(base, n, sizeof(*base), thread_date_cmp);
				thread_cur = NULL;
				continue;
			}
			step_sort_init(&tr->ord2, n);
			tr->sorting = 1;
		}
		tr->sort_base = base;
		if (step_sort_step(&tr->ord2, thread_base_cmp, tr, deadline))
			return 1;
		tmp = xreallocarray(NULL, n, sizeof(*tmp));
		for (i = 0; i < n; i++)
			tmp[i] = base[tr->ord2.v[i]];
		memcpy(base, tmp, n * sizeof(*base));
		free(tmp);
		step_sort_clear(&tr->ord2);
		tr->sorting = 0;
	}
	return 0;
}

/* ---- ORDEREDSUBJECT (RFC 5256 3) ---- */

static int
thread_subject_cmp(uint32_t a, uint32_t b, void *arg)
{
	const struct thread_run	*tr = arg;
	const struct imap_sort_msg *x = &tr->m.v[a], *y = &tr->m.v[b];
	int			 r;

	if ((r = strcmp(x->subject, y->subject)) != 0)
		return r;
	if (x->date != y->date)
		return x->date < y->date ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/*
 * Sorted by base subject, then sent date (tr->ord); each run of one
 * subject is a thread whose first message is the parent of the others.
 */
static int
thread_orderedsubject(struct thread_run *tr, uint64_t deadline)
{
	struct thread_tree	*tt = &tr->tt;
	const uint32_t		*o = tr->ord.v;
	size_t			 i;
	uint32_t		 node;

	for (; tr->at < tr->m.n; tr->at++) {
		if (thread_stop(tr, 1, deadline))
			return 1;
		i = tr->at;
		node = thread_node_new(tt, o[i]);
		if (i > 0 && strcmp(tr->m.v[o[i]].subject,
		    tr->m.v[o[i - 1]].subject) == 0)
			tt->nodes[node].parent = tr->top;
		else
			tr->top = node;
	}
	return 0;
}

/* ---- REFERENCES (RFC 5256 3, steps 1 to 5) ---- */

/*
 * Whether a is b or one of b's ancestors (walking parent links).  Past
 * THREAD_DEPTH_MAX levels the answer is yes: a chain that deep is not
 * linked deeper, so a crafted mailbox of one long chain costs
 * O(n * THREAD_DEPTH_MAX), not O(n^2).
 */
#define THREAD_DEPTH_MAX	1000

static int
thread_is_ancestor(const struct thread_tree *tt, uint32_t a, uint32_t b)
{
	size_t	 depth = 0;

	for (; b != THR_NONE; b = tt->nodes[b].parent)
		if (b == a || ++depth > THREAD_DEPTH_MAX)
			return 1;
	return 0;
}

static uint32_t
thread_id_node(char **ids, size_t nids, const char *id)
{
	char	**p;

	p = bsearch(&id, ids, nids, sizeof(*ids), thread_str_cmp);
	return p == NULL ? THR_NONE : (uint32_t)(p - ids);
}

/* Every ID of the matches, to be numbered by sorting (tr->ord). */
static void
thread_references_ids(struct thread_run *tr)
{
	size_t			 nids = 0, i, j, k;

	for (i = 0; i < tr->m.n; i++)
		nids += tr->m.v[i].nrefs + (tr->m.v[i].message_id != NULL);
	tr->ids = xreallocarray(NULL, nids + 1, sizeof(*tr->ids));
	for (i = 0, k = 0; i < tr->m.n; i++) {
		if (tr->m.v[i].message_id != NULL)
			tr->ids[k++] = tr->m.v[i].message_id;
		for (j = 0; j < tr->m.v[i].nrefs; j++)
			tr->ids[k++] = tr->m.v[i].refs[j];
	}
	tr->nids = nids;
}

/* step_sort's compare of strings: arg is their array (IDs, subjects). */
static int
thread_strv_cmp(uint32_t a, uint32_t b, void *arg)
{
	char *const	*v = arg;

	return strcmp(v[a], v[b]);
}

/* Message i linked by its Message-ID and References (1A to 1C). */
static void
thread_link_msg(struct thread_run *tr, size_t i)
{
	struct thread_tree	*tt = &tr->tt;
	char			**ids = tr->uniq;
	size_t			 nids = tr->nuniq, j;
	uint32_t		 node, a, b;

	/*
	 * (1A) The message's container; a Message-ID seen already on a
	 * message counts as none (the lower sequence keeps it).
	 */
	node = tr->m.v[i].message_id == NULL ? THR_NONE :
	    thread_id_node(ids, nids, tr->m.v[i].message_id);
	if (node == THR_NONE || tt->nodes[node].msg != THR_NONE)
		node = thread_node_new(tt, THR_NONE);
	tt->nodes[node].msg = (uint32_t)i;
	/*
	 * (1B) Each reference the parent of the next, unless one has a
	 * parent already or it would make a loop.
	 */
	for (j = 0; j + 1 < tr->m.v[i].nrefs; j++) {
		a = thread_id_node(ids, nids, tr->m.v[i].refs[j]);
		b = thread_id_node(ids, nids, tr->m.v[i].refs[j + 1]);
		if (a == b || tt->nodes[b].parent != THR_NONE ||
		    thread_is_ancestor(tt, b, a))
			continue;
		tt->nodes[b].parent = a;
	}
	/*
	 * (1C) The last reference is the parent: the message's own word
	 * beats what other References presumed; none, no parent.  Never a
	 * loop.
	 */
	a = tr->m.v[i].nrefs == 0 ? THR_NONE : thread_id_node(ids, nids,
	    tr->m.v[i].refs[tr->m.v[i].nrefs - 1]);
	if (a != THR_NONE && thread_is_ancestor(tt, node, a))
		a = THR_NONE;
	tt->nodes[node].parent = a;
}

/* Steps 1A to 1C in slices; 1 if stopped by deadline, 0 when done. */
static int
thread_references_link(struct thread_run *tr, uint64_t deadline)
{
	const char	*id;

	switch (tr->sub) {
	case 0:
		/* Every ID, numbered: node i is ID i. */
		if (tr->uniq == NULL)
			tr->uniq = xreallocarray(NULL, tr->nids + 1,
			    sizeof(*tr->uniq));
		for (; tr->at < tr->nids; tr->at++) {
			if (thread_stop(tr, 1, deadline))
				return 1;
			id = tr->ids[tr->ord.v[tr->at]];
			if (tr->nuniq == 0 ||
			    strcmp(tr->uniq[tr->nuniq - 1], id) != 0)
				tr->uniq[tr->nuniq++] = tr->ids[tr->ord.v[tr->at]];
		}
		tr->sub++;
		tr->at = 0;
		__attribute__((fallthrough));
	case 1:
		for (; tr->at < tr->nuniq; tr->at++) {
			if (thread_stop(tr, 1, deadline))
				return 1;
			thread_node_new(&tr->tt, THR_NONE);
		}
		tr->sub++;
		tr->at = 0;
		__attribute__((fallthrough));
	default:
		for (; tr->at < tr->m.n; tr->at++) {
			if (thread_stop(tr, 1, deadline))
				return 1;
			thread_link_msg(tr, tr->at);
		}
	}
	free(tr->uniq);
	tr->uniq = NULL;
	return 0;
}

/*
 * (4) Dummies go: a message's parent becomes its nearest message
 * ancestor.  A message without one sits under a dummy root; that root
 * stays if it holds two or more of them, else they become roots.
 */
static int
thread_prune(struct thread_run *tr, uint64_t deadline)
{
	struct thread_tree	*tt = &tr->tt;
	size_t			 i, nnodes = tt->nnodes;
	uint32_t		*top, *count, p, r;

	if (tr->ptop == NULL) {
		tr->ptop = xreallocarray(NULL, nnodes + 1, sizeof(*tr->ptop));
		tr->pcount = xcalloc(nnodes + 1, sizeof(*tr->pcount));
	}
	top = tr->ptop;
	count = tr->pcount;
	switch (tr->sub) {
	case 0:
		/* top[i]: the nearest message ancestor or, past none, the root. */
		for (; tr->at < nnodes; tr->at++) {
			if (thread_stop(tr, 1, deadline))
				return 1;
			i = tr->at;
			top[i] = THR_NONE;
			if (tt->nodes[i].msg == THR_NONE)
				continue;
			for (p = tt->nodes[i].parent; p != THR_NONE &&
			    tt->nodes[p].msg == THR_NONE && tt->nodes[p].parent !=
			    THR_NONE; p = tt->nodes[p].parent)
				;
			top[i] = p;
		}
		tr->sub++;
		tr->at = 0;
		__attribute__((fallthrough));
	case 1:
		for (; tr->at < nnodes; tr->at++) {
			if (thread_stop(tr, 1, deadline))
				return 1;
			i = tr->at;
			if (tt->nodes[i].msg == THR_NONE)
				continue;
			if ((r = top[i]) != THR_NONE &&
			    tt->nodes[r].msg == THR_NONE)
				count[r]++;
		}
		tr->sub++;
		tr->at = 0;
		__attribute__((fallthrough));
	default:
		for (; tr->at < nnodes; tr->at++) {
			if (thread_stop(tr, 1, deadline))
				return 1;
			i = tr->at;
			if (tt->nodes[i].msg == THR_NONE) {
				/* A dummy root with two or more stays. */
				tt->nodes[i].gone = !(tt->nodes[i].parent ==
				    THR_NONE && count[i] >= 2);
				tt->nodes[i].parent = THR_NONE;
				continue;
			}
			r = top[i];
			if (r != THR_NONE && tt->nodes[r].msg == THR_NONE &&
			    count[r] < 2)
				r = THR_NONE;
			tt->nodes[i].parent = r;
		}
	}
	free(tr->ptop);
	free(tr->pcount);
	tr->ptop = tr->pcount = NULL;
	return 0;
}

/* The subject of a root for (5): its own, or its first child's. */
static const struct imap_sort_msg *
thread_root_msg(const struct thread_tree *tt, uint32_t i)
{
	return thread_node_msg(tt, i);
}

/* A root's base subject as an index into subj, or THR_NONE for none. */
static uint32_t
thread_subject_index(const struct thread_tree *tt, uint32_t r, char **subj,
    size_t nsubj)
{
	const struct imap_sort_msg *m;
	char			**hit;

	if ((m = thread_root_msg(tt, r)) == NULL || m->subject[0] == '\0')
		return THR_NONE;
	hit = bsearch(&m->subject, subj, nsubj, sizeof(*subj), thread_str_cmp);
	return hit == NULL ? THR_NONE : (uint32_t)(hit - subj);
}

/* (5) Roots with one base subject are gathered, in slices. */
static int
thread_subjects(struct thread_run *tr, uint64_t deadline)
{
	struct thread_tree	*tt = &tr->tt;
	const struct imap_sort_msg *m, *rm, *tm;
	char			**sorted;
	uint32_t		 r, t, d, k;
	size_t			 i, j, nroots;

	switch (tr->sub) {
	case 0:
		thread_build_kids(tt);
		tr->sub++;
		tr->at = 0;
		__attribute__((fallthrough));
	case 1:
		if (thread_sort(tr, deadline))
			return 1;
		nroots = tt->nroots;
		tr->subj = xreallocarray(NULL, nroots + 1, sizeof(*tr->subj));
		tr->nsubj = 0;
		for (i = 0; i < nroots; i++)
			if ((m = thread_root_msg(tt, tt->roots[i])) != NULL &&
			    m->subject[0] != '\0')
				tr->subj[tr->nsubj++] = m->subject;
		step_sort_init(&tr->ord2, tr->nsubj);
		tr->sub++;
		tr->at = 0;
		__attribute__((fallthrough));
	case 2:
		if (step_sort_step(&tr->ord2, thread_strv_cmp, tr->subj,
		    deadline))
			return 1;
		sorted = xreallocarray(NULL, tr->nsubj + 1, sizeof(*sorted));
		for (i = 0, j = 0; i < tr->nsubj; i++)
			if (j == 0 || strcmp(sorted[j - 1],
			    tr->subj[tr->ord2.v[i]]) != 0)
				sorted[j++] = tr->subj[tr->ord2.v[i]];
		free(tr->subj);
		tr->subj = sorted;
		tr->nsubj = j;
		step_sort_clear(&tr->ord2);
		tr->table = xreallocarray(NULL, tr->nsubj + 1,
		    sizeof(*tr->table));
		for (i = 0; i < tr->nsubj; i++)
			tr->table[i] = THR_NONE;
		tr->sub++;
		tr->at = 0;
		__attribute__((fallthrough));
	case 3:
		/* (5B) Which root of a subject the others join. */
		for (; tr->at < tt->nroots; tr->at++) {
			if (thread_stop(tr, 1, deadline))
				return 1;
			r = tt->roots[tr->at];
			if ((k = thread_subject_index(tt, r, tr->subj,
			    tr->nsubj)) == THR_NONE)
				continue;
			if ((t = tr->table[k]) == THR_NONE) {
				tr->table[k] = r;
				continue;
			}
			rm = thread_own_msg(tt, r);
			tm = thread_own_msg(tt, t);
			if ((rm == NULL && tm != NULL) || (rm != NULL &&
			    tm != NULL && tm->refwd && !rm->refwd))
				tr->table[k] = r;
		}
		tr->sub++;
		tr->at = 0;
		__attribute__((fallthrough));
	default:
		/* (5C) Merge. */
		for (; tr->at < tt->nroots; tr->at++) {
			if (thread_stop(tr, 1, deadline))
				return 1;
			r = tt->roots[tr->at];
			if ((k = thread_subject_index(tt, r, tr->subj,
			    tr->nsubj)) == THR_NONE)
				continue;
			t = tr->table[k];
			if (t == r)
				continue;
			rm = thread_own_msg(tt, r);
			tm = thread_own_msg(tt, t);
			if (rm == NULL && tm == NULL) {
				/* (1) Both dummies: r's children go to t. */
				tr->work += tt->nodes[r].nkids;
				for (j = 0; j < tt->nodes[r].nkids; j++)
					tt->nodes[tt->kids[tt->nodes[r].kid0 +
					    j]].parent = t;
				tt->nodes[r].gone = 1;
			} else if (tm == NULL) {
				/* (2) t is the dummy: r under it. */
				tt->nodes[r].parent = t;
			} else if (rm != NULL && !tm->refwd && rm->refwd) {
				/* (3) r replies to t's subject: under t. */
				tt->nodes[r].parent = t;
			} else {
				/* (4) A new dummy above both, in t's place. */
				d = thread_node_new(tt, THR_NONE);
				tt->nodes[t].parent = d;
				tt->nodes[r].parent = d;
				tr->table[k] = d;
			}
		}
	}
	free(tr->table);
	free(tr->subj);
	tr->table = NULL;
	tr->subj = NULL;
	return 0;
}

/* Step 6: the tree as it now is, sorted; in slices. */
static int
thread_order(struct thread_run *tr, uint64_t deadline)
{
	if (tr->sub == 0) {
		thread_build_kids(&tr->tt);
		tr->sub++;
		tr->at = 0;
	}
	return thread_sort(tr, deadline);
}

/* ---- the answer ---- */

struct thr_frame {
	uint32_t	 node;
	uint32_t	 next;		/* next child to write */
	int		 wrap;		/* close a parenthesis at the end */
	int		 started;
};

/*
 * RFC 5256 BASE.6.4.THREAD: "(1 2 (3)(4 5))": one child follows its
 * parent, two or more are each parenthesised.  A heap stack, and an only
 * child replaces its parent's frame, so a chain costs one frame.  Returns
 * the nodes written.
 */
static size_t
thread_write(struct imap_session *s, const struct thread_tree *tt,
    uint32_t root)
{
	const struct thr_node	*n;
	struct thr_frame	*st, *f;
	size_t			 depth = 0, cap = 16, nodes = 1;
	uint32_t		 kid;
	struct imap_outbuf	 ob;

	imap_outbuf_init(&ob, conn_out(s->conn));
	st = xreallocarray(NULL, cap, sizeof(*st));
	st[depth++] = (struct thr_frame){ root, 0, 1, 0 };
	imap_outbuf_char(&ob, '(');
	while (depth > 0) {
		f = &st[depth - 1];
		n = &tt->nodes[f->node];
		if (!f->started) {
			f->started = 1;
			if (n->msg != THR_NONE) {
				imap_outbuf_u32(&ob, tt->tr->uid_mode ?
				    tt->tr->m.v[n->msg].uid :
				    tt->tr->m.v[n->msg].seq);
				if (n->nkids > 0)
					imap_outbuf_char(&ob, ' ');
				if (n->nkids == 1) {
					*f = (struct thr_frame){
					    tt->kids[n->kid0], 0, f->wrap, 0 };
					nodes++;
					continue;
				}
			}
		}
		if (f->next < n->nkids) {
			kid = tt->kids[n->kid0 + f->next++];
			imap_outbuf_char(&ob, '(');
			if (depth == cap) {
				cap *= 2;
				st = xreallocarray(st, cap, sizeof(*st));
			}
			st[depth++] = (struct thr_frame){ kid, 0, 1, 0 };
			nodes++;
			continue;
		}
		if (f->wrap)
			imap_outbuf_char(&ob, ')');
		depth--;
	}
	imap_outbuf_flush(&ob);
	free(st);
	return nodes;
}

/*
 * The threading and the answer's threads in slices (imap-search.h): 1
 * while work is left, 0 when done.
 */
static int
thread_more(struct imap_session *s, uint64_t deadline, void *arg)
{
	struct thread_run	*tr = arg;
	struct thread_tree	*tt = &tr->tt;
	int			 refs = tr->algo == THREAD_REFERENCES;

	switch (tr->phase) {
	case THREAD_P_START:
		tt->tr = tr;
		tr->top = THR_NONE;
		if (refs)
			thread_references_ids(tr);
		step_sort_init(&tr->ord, refs ? tr->nids : tr->m.n);
		break;
	case THREAD_P_SORT:
		if (refs ? step_sort_step(&tr->ord, thread_strv_cmp, tr->ids,
		    deadline) : step_sort_step(&tr->ord, thread_subject_cmp, tr,
		    deadline))
			return 1;
		break;
	case THREAD_P_LINK:
		if (refs ? thread_references_link(tr, deadline) :
		    thread_orderedsubject(tr, deadline))
			return 1;
		break;
	case THREAD_P_PRUNE:
		if (refs && thread_prune(tr, deadline))
			return 1;
		break;
	case THREAD_P_SUBJECTS:
		if (refs && thread_subjects(tr, deadline))
			return 1;
		break;
	case THREAD_P_ORDER:
		if (thread_order(tr, deadline))
			return 1;
		break;
	case THREAD_P_WRITE:
		/*
		 * RFC 5256 BASE.6.4.THREAD: "THREAD" [SP 1*thread-list],
		 * written a thread at a time through an imap_outbuf.
		 */
		if (tr->sub == 0) {
			imap_printf(s, "* THREAD%s", tt->nroots > 0 ? " " : "");
			tr->sub = 1;
		}
		for (; tr->at < tt->nroots; tr->at++) {
			if (thread_stop(tr, 1, deadline))
				return 1;
			tr->work += thread_write(s, tt, tt->roots[tr->at]);
		}
		break;
	case THREAD_P_DONE:
		return 0;
	}
	tr->phase++;
	tr->sub = 0;
	tr->at = 0;
	return tr->phase != THREAD_P_DONE;
}

static void
thread_done(struct imap_session *s, size_t nhits, void *arg)
{
	(void)nhits;
	(void)arg;
	/* The threads went out in THREAD_P_WRITE. */
	imap_printf(s, "\r\n");
	imap_tagged(s, "OK", "Thread completed");
}

static void
thread_run_free(void *arg)
{
	struct thread_run	*tr = arg;

	free(tr->tt.nodes);
	free(tr->tt.kids);
	free(tr->tt.roots);
	free(tr->ids);
	free(tr->uniq);
	free(tr->ptop);
	free(tr->pcount);
	free(tr->subj);
	free(tr->table);
	step_sort_clear(&tr->ord);
	step_sort_clear(&tr->ord2);
	imap_sort_msgs_clear(&tr->m);
	free(tr);
}

enum imap_cmd_status
cmd_thread(struct imap_session *s, const struct imap_command *cmd)
{
	struct imap_search_program	 prog;
	struct imap_search_hooks	 hooks;
	struct thread_run		*tr;
	const struct imap_arg		*a = cmd->args;

	tr = xcalloc(1, sizeof(*tr));
	tr->uid_mode = s->cmd_uid;
	if (imap_arg_atom_equals(a, "ORDEREDSUBJECT"))
		tr->algo = THREAD_ORDEREDSUBJECT;
	else if (imap_arg_atom_equals(a, "REFERENCES"))
		tr->algo = THREAD_REFERENCES;
	else {
		imap_tagged(s, "BAD", "Unknown threading algorithm");
		thread_run_free(tr);
		return CMD_DONE;
	}
	if (imap_search_parse_sorted(s, a + 1, &prog) == -1) {
		thread_run_free(tr);
		return CMD_DONE;
	}
	memset(&hooks, 0, sizeof(hooks));
	hooks.hit = thread_hit;
	hooks.more = thread_more;
	hooks.done = thread_done;
	hooks.free = thread_run_free;
	hooks.arg = tr;
	return imap_search_start(s, &prog, tr->uid_mode, &hooks);
}
