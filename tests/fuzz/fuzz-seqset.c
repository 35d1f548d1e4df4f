/*
 * fuzz-seqset.c: sequence sets (RFC 3501 9): parsed sets are sorted and
 * merged, membership agrees with the ranges, and writing the members
 * back gives a set with the same members.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "imap-seqset.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_seqset	*set, *again;
	struct evbuffer		*out;
	uint32_t		 star, v[64];
	size_t			 i, n = 0;
	char			*in;

	if (size < 4)
		return 0;
	memcpy(&star, data, 4);
	star %= 100000;
	in = malloc(size - 4 + 1);
	memcpy(in, data + 4, size - 4);
	in[size - 4] = '\0';
	if (imap_seqset_parse(in, star, &set) == 0) {
		for (i = 0; i < set->n; i++) {
			if (set->r[i].lo == 0 || set->r[i].lo > set->r[i].hi)
				abort();
			if (i > 0 && set->r[i].lo <= set->r[i - 1].hi + 1ULL)
				abort();
			if (!imap_seqset_contains(set, set->r[i].lo) ||
			    !imap_seqset_contains(set, set->r[i].hi))
				abort();
			if (n < 64)
				v[n++] = set->r[i].lo;
		}
		out = evbuffer_new();
		imap_seqset_write_uids(out, v, n);
		evbuffer_add(out, "", 1);
		if (n > 0) {
			if (imap_seqset_parse((const char *)evbuffer_pullup(out,
			    -1), UINT32_MAX, &again) != 0)
				abort();
			for (i = 0; i < n; i++)
				if (!imap_seqset_contains(again, v[i]))
					abort();
			imap_seqset_free(&again);
		}
		evbuffer_free(out);
		imap_seqset_free(&set);
	}
	free(in);
	return 0;
}
