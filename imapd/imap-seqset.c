/*
 * imap-seqset.c: sequence sets.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "imap-seqset.h"
#include "xmalloc.h"

static int
imap_seqset_cmp(const void *a, const void *b)
{
	const struct imap_seqset_range	*x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* One number or "*"; 0 is refused (nz-number). */
static int
imap_seqset_num(const char **pp, uint32_t star, uint32_t *vp)
{
	const char	*p = *pp;
	uint64_t	 v = 0;

	if (*p == '*') {
		*vp = star;
		*pp = p + 1;
		return 0;
	}
	if (*p < '1' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > UINT32_MAX)
			return -1;
	}
	*vp = (uint32_t)v;
	*pp = p;
	return 0;
}

static void
imap_seqset_normalize(struct imap_seqset *set)
{
	size_t	 i, j;

	if (set->n == 0)
		return;
	qsort(set->r, set->n, sizeof(*set->r), imap_seqset_cmp);
	for (i = 1, j = 0; i < set->n; i++) {
		if (set->r[i].lo <= set->r[j].hi ||
		    (set->r[j].hi != UINT32_MAX && set->r[i].lo == set->r[j].hi + 1)) {
			if (set->r[i].hi > set->r[j].hi)
				set->r[j].hi = set->r[i].hi;
		} else
			set->r[++j] = set->r[i];
	}
	set->n = j + 1;
}

int
imap_seqset_parse(const char *s, uint32_t star, struct imap_seqset **out)
{
	struct imap_seqset	*set;
	const char		*p = s;
	uint32_t		 a, b;
	size_t			 cap = 0;

	*out = NULL;
	set = xcalloc(1, sizeof(*set));
	for (;;) {
		if (imap_seqset_num(&p, star, &a) == -1)
			goto fail;
		b = a;
		if (*p == ':') {
			p++;
			if (imap_seqset_num(&p, star, &b) == -1)
				goto fail;
		}
		/* RFC 3501 9: "4:2" is "2:4". */
		if (a > b) {
			uint32_t t = a;

			a = b;
			b = t;
		}
		/* "*" in an empty mailbox is 0: it names nothing. */
		if (b != 0) {
			if (a == 0)
				a = 1;
			if (set->n == IMAP_SEQSET_MAX_RANGES)
				goto fail;
			if (set->n == cap) {
				cap = cap == 0 ? 8 : cap * 2;
				set->r = xreallocarray(set->r, cap,
				    sizeof(*set->r));
			}
			set->r[set->n].lo = a;
			set->r[set->n].hi = b;
			set->n++;
		}
		if (*p == '\0')
			break;
		if (*p++ != ',')
			goto fail;
	}
	imap_seqset_normalize(set);
	*out = set;
	return 0;
fail:
	imap_seqset_free(&set);
	return -1;
}

int
imap_seqset_contains(const struct imap_seqset *set, uint32_t v)
{
	size_t	 lo = 0, hi = set->n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (v < set->r[mid].lo)
			hi = mid;
		else if (v > set->r[mid].hi)
			lo = mid + 1;
		else
			return 1;
	}
	return 0;
}

void
imap_seqset_free(struct imap_seqset **setp)
{
	if (*setp == NULL)
		return;
	free((*setp)->r);
	free(*setp);
	*setp = NULL;
}

struct imap_seqset *
imap_seqset_from(const uint32_t *v, size_t n)
{
	struct imap_seqset	*set = xcalloc(1, sizeof(*set));
	size_t			 i;

	for (i = 0; i < n; i++) {
		if (set->n > 0 && v[i] <= set->r[set->n - 1].hi + 1 &&
		    v[i] >= set->r[set->n - 1].lo) {
			if (v[i] > set->r[set->n - 1].hi)
				set->r[set->n - 1].hi = v[i];
			continue;
		}
		set->r = xreallocarray(set->r, set->n + 1, sizeof(*set->r));
		set->r[set->n].lo = set->r[set->n].hi = v[i];
		set->n++;
	}
	return set;
}

void
imap_seqset_write_uids(struct evbuffer *out, const uint32_t *v, size_t n)
{
	size_t	 i, j;

	for (i = 0; i < n; i = j + 1) {
		for (j = i; j + 1 < n && v[j + 1] == v[j] + 1; j++)
			;
		if (j == i)
			evbuffer_add_printf(out, "%s%u", i > 0 ? "," : "", v[i]);
		else
			evbuffer_add_printf(out, "%s%u:%u", i > 0 ? "," : "",
			    v[i], v[j]);
	}
}
