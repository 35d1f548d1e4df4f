/*
 * fuzz-seqset.c: libFuzzer target for sequence sets.
 *
 * The first four bytes are "*"; the rest is the set.  A parsed set must
 * be normalized, its count must match its iteration, and its written
 * form must parse back to the same set.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap-seqset.h"
#include "xmalloc.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_seqset	 set, again;
	struct imap_seqset_iter	 it;
	const char		*error;
	char			*str, *out;
	uint32_t		 star, v, prev = 0;
	uint64_t		 n = 0;
	size_t			 i;

	if (size < 4)
		return 0;
	memcpy(&star, data, 4);
	str = xmalloc(size - 4 + 1);
	memcpy(str, data + 4, size - 4);
	str[size - 4] = '\0';

	imap_seqset_init(&set);
	if (imap_seqset_parse(&set, str, star, 0, IMAP_SEQSET_F_SAVED,
	    &error) == -1) {
		if (set.count != 0 || error == NULL)
			abort();
		free(str);
		return 0;
	}
	for (i = 0; i < set.count; i++) {
		if (set.ranges[i].lo == 0 || set.ranges[i].lo > set.ranges[i].hi)
			abort();
		if (i > 0 && (uint64_t)set.ranges[i - 1].hi + 1 >=
		    set.ranges[i].lo)
			abort();
		if (!imap_seqset_contains(&set, set.ranges[i].lo) ||
		    !imap_seqset_contains(&set, set.ranges[i].hi))
			abort();
		if (set.ranges[i].lo > 1 &&
		    imap_seqset_contains(&set, set.ranges[i].lo - 1))
			abort();
		if (set.ranges[i].hi < UINT32_MAX &&
		    imap_seqset_contains(&set, set.ranges[i].hi + 1))
			abort();
	}
	if (imap_seqset_count(&set) <= 100000) {
		imap_seqset_iter_init(&it, &set);
		while (imap_seqset_iter_next(&it, &v)) {
			if (n > 0 && v <= prev)
				abort();
			prev = v;
			n++;
		}
		if (n != imap_seqset_count(&set))
			abort();
	}
	out = imap_seqset_format(&set);
	imap_seqset_init(&again);
	if (set.count > 0) {
		if (imap_seqset_parse(&again, out, 0, 0, 0, &error) == -1)
			abort();
		if (again.count != set.count || memcmp(again.ranges, set.ranges,
		    set.count * sizeof(set.ranges[0])) != 0)
			abort();
	}
	imap_seqset_clear(&again);
	imap_seqset_clear(&set);
	free(out);
	free(str);
	return 0;
}
