/*
 * step-sort.h: a merge sort of the indices 0 .. n-1 that runs in steps,
 * so that an event loop can serve others between two (SORT and THREAD
 * of a large mailbox, imapd's imap-search.h "more" hook).  O(n log n)
 * in all; each step returns by its deadline (time_mono_ms(), util.h),
 * after a bounded piece of work past it at most.
 */
#ifndef GUESTBOX_STEP_SORT_H
#define GUESTBOX_STEP_SORT_H

#include <stddef.h>
#include <stdint.h>

struct step_sort {
	uint32_t	*v, *tmp;	/* v: the order, once done */
	size_t		 n;
	size_t		 width;		/* runs of this length are in order */
	size_t		 at;		/* where the next pair of runs starts */
	size_t		 i, j, k;	/* the merge of a pair, under way */
	int		 inpair;
};

void	 step_sort_init(struct step_sort *, size_t n);
/*
 * Sorts on with cmp (qsort-style, over two indices, given arg): 1 while
 * work is left, 0 once v holds the order.  Equal ones keep their order.
 */
int	 step_sort_step(struct step_sort *,
	    int (*cmp)(uint32_t, uint32_t, void *), void *arg,
	    uint64_t deadline);
void	 step_sort_clear(struct step_sort *);

#endif
