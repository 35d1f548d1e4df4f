/*
 * cmd-sort.c: SORT and UID SORT (RFC 5256 BASE.6.4.SORT) with ESORT's
 * RETURN options (RFC 5267 3), the keys of RFC 5957 (DISPLAYFROM,
 * DISPLAYTO) and the one collation i;ascii-casemap.
 *
 *   SORT [RETURN (MIN MAX COUNT ALL)] (REVERSE DATE SUBJECT) UTF-8 keys
 *
 * The search runs as SEARCH does (imap-search.h: in slices, each its own
 * transaction, the loop serving others between two); each match's keys
 * come from the mailbox's key cache or its MIME cache inside the slice
 * (imap-sort.h).  The ordering, a merge sort of O(n log n), is sliced
 * too; RETURN without ALL needs none: MIN and MAX are one pass.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "imap-search-parse.h"
#include "imap-search.h"
#include "imap-sort.h"
#include "imapd.h"
#include "step-sort.h"
#include "xmalloc.h"

/* Its rows' handlers and hooks (imap-commands.c). */
imap_cmd_fn	cmd_sort;

struct sort_run {
	struct imap_sort_criteria	 crit;
	unsigned int			 want;
	int				 uid_mode;
	int				 esort;	/* RETURN given (RFC 5267) */
	unsigned int			 ret;	/* IMAP_SEARCH_RET_* */
	int				 uses_modseq;
	struct imap_sort_msgs		 msgs;	/* the matches */
	/* The order of msgs, when the answer lists it. */
	int				 ordered, ordering;
	struct step_sort		 order;
};

static int	 sort_hit(struct store_txn *, struct imap_session *, size_t,
		    uint32_t, const struct store_msg *, void *);
static int	 sort_more(struct imap_session *, uint64_t, void *);
static void	 sort_done(struct imap_session *, size_t, void *);
static void	 sort_run_free(void *);

static int
sort_cmp(uint32_t a, uint32_t b, void *arg)
{
	struct sort_run	*sr = arg;

	return imap_sort_compare(&sr->crit, &sr->msgs.v[a], &sr->msgs.v[b]);
}

static int
sort_u32_cmp(const void *a, const void *b)
{
	uint32_t	 x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int
sort_hit(struct store_txn *txn, struct imap_session *s, size_t idx,
    uint32_t seq, const struct store_msg *m, void *arg)
{
	struct sort_run	*sr = arg;

	return imap_sort_msgs_read(txn, s, &sr->msgs, idx, seq, m, sr->want);
}

/* The ordering, by slices (imap-search.h), when the answer lists it. */
static int
sort_more(struct imap_session *s, uint64_t deadline, void *arg)
{
	struct sort_run	*sr = arg;

	(void)s;
	if (!sr->ordered)
		return 0;
	if (!sr->ordering) {
		step_sort_init(&sr->order, sr->msgs.n);
		sr->ordering = 1;
	}
	return step_sort_step(&sr->order, sort_cmp, sr, deadline);
}

static void
sort_done(struct imap_session *s, size_t nhits, void *arg)
{
	struct sort_run	*sr = arg;
	const struct imap_sort_msg *m;
	uint32_t	*ids, *save, id, minid = 0, maxid = 0;
	uint64_t	 maxmodseq = 0;
	size_t		 i, n = sr->msgs.n, nsave, lo = 0, hi = 0;

	(void)nhits;
	/* RFC 5267 3.2: MIN and MAX are the first and last sorted. */
	if (!sr->ordered)
		for (i = 1; i < n; i++) {
			if (imap_sort_compare(&sr->crit, &sr->msgs.v[i],
			    &sr->msgs.v[lo]) < 0)
				lo = i;
			if (imap_sort_compare(&sr->crit, &sr->msgs.v[i],
			    &sr->msgs.v[hi]) > 0)
				hi = i;
		}
	ids = xreallocarray(NULL, n + 1, sizeof(*ids));
	for (i = 0; i < n; i++) {
		m = &sr->msgs.v[sr->ordered ? sr->order.v[i] : i];
		id = sr->uid_mode ? m->uid : m->seq;
		ids[i] = id;
		if (sr->ordered ? i == 0 : i == lo)
			minid = id;
		if (sr->ordered ? i == n - 1 : i == hi)
			maxid = id;
		if (m->modseq > maxmodseq)
			maxmodseq = m->modseq;
	}
	if (sr->ret & IMAP_SEARCH_RET_SAVE) {
		/* RFC 5182 2.4: with MIN/MAX alone, only those are saved. */
		save = xreallocarray(NULL, n + 1, sizeof(*save));
		nsave = 0;
		if (!(sr->ret & (IMAP_SEARCH_RET_ALL | IMAP_SEARCH_RET_COUNT)) &&
		    (sr->ret & (IMAP_SEARCH_RET_MIN | IMAP_SEARCH_RET_MAX))) {
			if ((sr->ret & IMAP_SEARCH_RET_MIN) && n > 0)
				save[nsave++] = minid;
			if ((sr->ret & IMAP_SEARCH_RET_MAX) && n > 0 &&
			    (nsave == 0 || n > 1))
				save[nsave++] = maxid;
		} else {
			memcpy(save, ids, n * sizeof(*ids));
			nsave = n;
		}
		qsort(save, nsave, sizeof(*save), sort_u32_cmp);
		imap_save_result(s, save, nsave, sr->uid_mode);
		free(save);
	}
	if (!sr->esort) {
		imap_printf(s, "* SORT");
		imap_write_numbers(conn_out(s->conn), ids, n);
		/* RFC 7162 3.1.5: SORT answers MODSEQ as SEARCH does. */
		if (sr->uses_modseq && n > 0)
			imap_printf(s, " (MODSEQ %llu)",
			    (unsigned long long)maxmodseq);
		imap_printf(s, "\r\n");
	} else if (sr->ret != IMAP_SEARCH_RET_SAVE) {
		/* RFC 5267 3.2: MIN and MAX are the first and last sorted. */
		imap_printf(s, "* ESEARCH (TAG ");
		imap_write_string(s, s->tag, strlen(s->tag));
		imap_printf(s, ")%s", sr->uid_mode ? " UID" : "");
		if ((sr->ret & IMAP_SEARCH_RET_MIN) && n > 0)
			imap_printf(s, " MIN %u", minid);
		if ((sr->ret & IMAP_SEARCH_RET_MAX) && n > 0)
			imap_printf(s, " MAX %u", maxid);
		if ((sr->ret & IMAP_SEARCH_RET_ALL) && n > 0) {
			imap_printf(s, " ALL ");
			/* RFC 5267 3.2: a set in the sorted order. */
			imap_write_ordered_list(conn_out(s->conn), ids, n);
		}
		if (sr->ret & IMAP_SEARCH_RET_COUNT)
			imap_printf(s, " COUNT %zu", n);
		if (sr->uses_modseq && n > 0)
			imap_printf(s, " MODSEQ %llu",
			    (unsigned long long)maxmodseq);
		imap_printf(s, "\r\n");
	}
	free(ids);
	imap_tagged(s, "OK", "Sort completed");
}

static void
sort_run_free(void *arg)
{
	struct sort_run	*sr = arg;

	step_sort_clear(&sr->order);
	imap_sort_msgs_clear(&sr->msgs);
	free(sr);
}

enum imap_cmd_status
cmd_sort(struct imap_session *s, const struct imap_command *cmd)
{
	struct imap_search_context	 ctx;
	struct imap_search_program	 prog, retprog;
	struct imap_search_hooks	 hooks;
	struct sort_run			*sr;
	const struct imap_arg		*a = cmd->args;
	const char			*why;

	memset(&ctx, 0, sizeof(ctx));
	ctx.allow_saved = 1;
	sr = xcalloc(1, sizeof(*sr));
	sr->uid_mode = s->cmd_uid;
	/* RFC 5267 3: SORT RETURN (options) (criteria) charset keys. */
	if (imap_arg_atom_equals(a, "RETURN")) {
		if (imap_search_parse_return(&a[1], &ctx, &retprog,
		    &why) != IMAP_SEARCH_OK) {
			imap_tagged(s, "BAD", "%s", why);
			imap_search_program_clear(&retprog);
			sort_run_free(sr);
			return CMD_DONE;
		}
		sr->esort = 1;
		sr->ret = retprog.ret;
		imap_search_program_clear(&retprog);
		a += 2;
	}
	if (imap_sort_criteria_parse(a, &sr->crit, &sr->want, &why) == -1) {
		imap_tagged(s, "BAD", "%s", why);
		sort_run_free(sr);
		return CMD_DONE;
	}
	if (imap_search_parse_sorted(s, a + 1, &prog) == -1) {
		sort_run_free(sr);
		return CMD_DONE;
	}
	sr->uses_modseq = prog.uses_modseq;
	sr->ordered = !sr->esort || (sr->ret & IMAP_SEARCH_RET_ALL);
	memset(&hooks, 0, sizeof(hooks));
	hooks.hit = sort_hit;
	hooks.more = sort_more;
	hooks.done = sort_done;
	hooks.free = sort_run_free;
	hooks.arg = sr;
	return imap_search_start(s, &prog, sr->uid_mode, &hooks);
}
