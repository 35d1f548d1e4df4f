/*
 * imap-seqset.c: IMAP sequence sets.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "imap-seqset.h"
#include "xmalloc.h"

static int	seqset_parse_number(const char **, uint32_t, uint32_t *, int *,
		    const char **);
static int	seqset_range_cmp(const void *, const void *);

void
imap_seqset_init(struct imap_seqset *set)
{
	memset(set, 0, sizeof(*set));
}

void
imap_seqset_clear(struct imap_seqset *set)
{
	free(set->ranges);
	memset(set, 0, sizeof(*set));
}

void
imap_seqset_add(struct imap_seqset *set, uint32_t lo, uint32_t hi)
{
	uint32_t	 t;

	if (lo > hi) {
		t = lo;
		lo = hi;
		hi = t;
	}
	if (lo == 0)
		lo = 1;
	if (hi == 0)
		return;
	if (set->count == set->cap) {
		set->cap = set->cap == 0 ? 8 : set->cap * 2;
		set->ranges = xreallocarray(set->ranges, set->cap,
		    sizeof(*set->ranges));
	}
	set->ranges[set->count].lo = lo;
	set->ranges[set->count].hi = hi;
	set->count++;
}

static int
seqset_range_cmp(const void *a, const void *b)
{
	const struct imap_seq_range	*x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	if (x->hi != y->hi)
		return x->hi < y->hi ? -1 : 1;
	return 0;
}

void
imap_seqset_normalize(struct imap_seqset *set)
{
	size_t	 i, out;

	if (set->count < 2)
		return;
	qsort(set->ranges, set->count, sizeof(*set->ranges), seqset_range_cmp);
	out = 0;
	for (i = 1; i < set->count; i++) {
		/* 64-bit: hi + 1 must not wrap at 2^32-1. */
		if ((uint64_t)set->ranges[out].hi + 1 >= set->ranges[i].lo) {
			if (set->ranges[i].hi > set->ranges[out].hi)
				set->ranges[out].hi = set->ranges[i].hi;
		} else
			set->ranges[++out] = set->ranges[i];
	}
	set->count = out + 1;
}

/*
 * RFC 3501 9: seq-number = nz-number / "*".  Reads one from *sp and
 * advances it.
 */
static int
seqset_parse_number(const char **sp, uint32_t star, uint32_t *vp, int *starp,
    const char **error_r)
{
	const char	*s = *sp;
	uint64_t	 v = 0;

	if (*s == '*') {
		*vp = star;
		*starp = 1;
		*sp = s + 1;
		return 0;
	}
	if (*s < '0' || *s > '9') {
		*error_r = "Invalid sequence set: number expected";
		return -1;
	}
	for (; *s >= '0' && *s <= '9'; s++) {
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > UINT32_MAX) {
			*error_r = "Invalid sequence set: number too large";
			return -1;
		}
	}
	if (v == 0) {
		/* RFC 3501 9: nz-number; sequence numbers start at 1. */
		*error_r = "Invalid sequence set: 0 is not a message number";
		return -1;
	}
	*vp = (uint32_t)v;
	*sp = s;
	return 0;
}

int
imap_seqset_parse(struct imap_seqset *set, const char *str, uint32_t star,
    size_t max_ranges, unsigned int flags, const char **error_r)
{
	const char	*s = str;
	uint32_t	 lo, hi;
	size_t		 parts = 0;
	int		 star_seen = 0, star_here;

	imap_seqset_clear(set);
	if (max_ranges == 0)
		max_ranges = IMAP_SEQSET_RANGES_MAX;
	if ((flags & IMAP_SEQSET_F_SAVED) && strcmp(str, "$") == 0) {
		/* RFC 5182 2.1: "$" stands alone. */
		set->saved = 1;
		return 0;
	}
	for (;;) {
		if (++parts > max_ranges) {
			*error_r = "Too many ranges in sequence set";
			goto fail;
		}
		star_here = 0;
		if (seqset_parse_number(&s, star, &lo, &star_here,
		    error_r) == -1)
			goto fail;
		hi = lo;
		if (*s == ':') {
			s++;
			if (seqset_parse_number(&s, star, &hi, &star_here,
			    error_r) == -1)
				goto fail;
		}
		/* In an empty mailbox a range reaching "*" has no last message. */
		if (!star_here || star != 0)
			imap_seqset_add(set, lo, hi);
		star_seen |= star_here;
		if (*s == '\0')
			break;
		if (*s != ',') {
			*error_r = "Invalid sequence set";
			goto fail;
		}
		s++;
	}
	set->star = star_seen;
	imap_seqset_normalize(set);
	return 0;

fail:
	imap_seqset_clear(set);
	return -1;
}

int
imap_seqset_is_syntax(const char *str, unsigned int flags)
{
	struct imap_seqset	 set;
	const char		*error;
	int			 ok;

	/* Syntax only: "*" as 1 never makes a valid set fail. */
	imap_seqset_init(&set);
	ok = imap_seqset_parse(&set, str, 1, 0, flags, &error) == 0;
	imap_seqset_clear(&set);
	return ok;
}

int
imap_seqset_contains(const struct imap_seqset *set, uint32_t v)
{
	size_t	 lo = 0, hi = set->count, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (v < set->ranges[mid].lo)
			hi = mid;
		else if (v > set->ranges[mid].hi)
			lo = mid + 1;
		else
			return 1;
	}
	return 0;
}

uint32_t
imap_seqset_next(const struct imap_seqset *set, uint32_t v)
{
	size_t	 lo = 0, hi = set->count, mid;

	if (v == 0)
		v = 1;
	/* The first range that ends at or above v. */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (set->ranges[mid].hi < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == set->count)
		return 0;
	return v < set->ranges[lo].lo ? set->ranges[lo].lo : v;
}

uint64_t
imap_seqset_count(const struct imap_seqset *set)
{
	uint64_t	 n = 0;
	size_t		 i;

	for (i = 0; i < set->count; i++)
		n += (uint64_t)set->ranges[i].hi - set->ranges[i].lo + 1;
	return n;
}

uint32_t
imap_seqset_min(const struct imap_seqset *set)
{
	return set->count == 0 ? 0 : set->ranges[0].lo;
}

uint32_t
imap_seqset_max(const struct imap_seqset *set)
{
	return set->count == 0 ? 0 : set->ranges[set->count - 1].hi;
}

void
imap_seqset_iter_init(struct imap_seqset_iter *it, const struct imap_seqset *set)
{
	it->set = set;
	it->range = 0;
	it->next = set->count > 0 ? set->ranges[0].lo : 0;
}

int
imap_seqset_iter_next(struct imap_seqset_iter *it, uint32_t *vp)
{
	const struct imap_seqset	*set = it->set;

	if (it->range >= set->count)
		return 0;
	*vp = (uint32_t)it->next;
	/* 64-bit so that 2^32-1 ends the range instead of wrapping. */
	if (it->next < set->ranges[it->range].hi)
		it->next++;
	else if (++it->range < set->count)
		it->next = set->ranges[it->range].lo;
	return 1;
}

void
imap_seqset_write(const struct imap_seqset *set, struct evbuffer *out)
{
	size_t	 i;

	for (i = 0; i < set->count; i++) {
		if (set->ranges[i].lo == set->ranges[i].hi)
			evbuffer_add_printf(out, "%s%u", i > 0 ? "," : "",
			    set->ranges[i].lo);
		else
			evbuffer_add_printf(out, "%s%u:%u", i > 0 ? "," : "",
			    set->ranges[i].lo, set->ranges[i].hi);
	}
}

char *
imap_seqset_format(const struct imap_seqset *set)
{
	struct evbuffer	*b;
	size_t		 len;
	char		*s;

	if ((b = evbuffer_new()) == NULL)
		fatalx("evbuffer_new");
	imap_seqset_write(set, b);
	len = evbuffer_get_length(b);
	s = xmalloc(len + 1);
	evbuffer_remove(b, s, len);
	s[len] = '\0';
	evbuffer_free(b);
	return s;
}
