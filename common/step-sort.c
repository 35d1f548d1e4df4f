/*
 * step-sort.c: a merge sort of indices in steps (step-sort.h).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "step-sort.h"
#include "util.h"
#include "xmalloc.h"

/* Runs first put in order by insertion. */
#define STEP_SORT_RUN0	16
/* Merge steps between two looks at the clock. */
#define STEP_SORT_CHECK	256

void
step_sort_init(struct step_sort *o, size_t n)
{
	size_t	 i;

	memset(o, 0, sizeof(*o));
	o->n = n;
	o->v = xreallocarray(NULL, n + 1, sizeof(*o->v));
	o->tmp = xreallocarray(NULL, n + 1, sizeof(*o->tmp));
	for (i = 0; i < n; i++)
		o->v[i] = (uint32_t)i;
}

int
step_sort_step(struct step_sort *o,
    int (*cmp)(uint32_t, uint32_t, void *), void *arg, uint64_t deadline)
{
	uint32_t	*sw, t;
	size_t		 x, y, end, mid, steps = 0;

	/* Runs of STEP_SORT_RUN0 by insertion, a clock check after each. */
	while (o->width == 0 && o->at < o->n) {
		end = o->n - o->at > STEP_SORT_RUN0 ? o->at + STEP_SORT_RUN0 :
		    o->n;
		for (x = o->at + 1; x < end; x++) {
			t = o->v[x];
			for (y = x; y > o->at &&
			    cmp(o->v[y - 1], t, arg) > 0; y--)
				o->v[y] = o->v[y - 1];
			o->v[y] = t;
		}
		o->at = end;
		if (o->at < o->n && time_mono_ms() >= deadline)
			return 1;
	}
	if (o->width == 0) {
		o->width = STEP_SORT_RUN0;
		o->at = 0;
	}
	/* Bottom-up merges of pairs of runs, v into tmp, then swapped. */
	while (o->width < o->n) {
		while (o->at < o->n) {
			mid = o->n - o->at > o->width ? o->at + o->width : o->n;
			end = o->n - mid > o->width ? mid + o->width : o->n;
			if (!o->inpair) {
				o->i = o->at;
				o->j = mid;
				o->k = o->at;
				o->inpair = 1;
			}
			while (o->k < end) {
				if (o->j >= end || (o->i < mid &&
				    cmp(o->v[o->i], o->v[o->j], arg) <= 0))
					o->tmp[o->k++] = o->v[o->i++];
				else
					o->tmp[o->k++] = o->v[o->j++];
				if (++steps % STEP_SORT_CHECK == 0 &&
				    time_mono_ms() >= deadline)
					return 1;
			}
			o->inpair = 0;
			o->at = end;
		}
		sw = o->v;
		o->v = o->tmp;
		o->tmp = sw;
		o->width = o->width > o->n / 2 ? o->n : o->width * 2;
		o->at = 0;
	}
	return 0;
}

void
step_sort_clear(struct step_sort *o)
{
	free(o->v);
	free(o->tmp);
	memset(o, 0, sizeof(*o));
}
