/*
 * fuzz-mime-cache.c: libFuzzer target for the cache decoder, which reads
 * bytes from the database.  The first 4 bytes give the message size;
 * whatever decodes (version 1, 2 or 3) must be safe to use and to write
 * as FETCH items, and a version 3 cache must encode to the same bytes.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap-bodystructure.h"
#include "mime-cache.h"
#include "mime.h"
#include "pack.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char	*paths[] = { "", "1", "2", "1.1", "2.1.3" };
	struct mime_msg		*m;
	struct pack		 pk;
	uint64_t		 msgsize, off, len;
	uint32_t		 i, seen;
	size_t			 k;
	int			 s;
	enum imap_bs_item	 item;

	if (size < 4)
		return 0;
	msgsize = unpack_be32(data);
	if ((m = mime_cache_decode(data + 4, size - 4, msgsize)) == NULL)
		return 0;

	/* Walking the tree ends and stays inside the message. */
	for (i = 0, seen = 0; i < m->nparts; i++) {
		const struct mime_part *p = &m->parts[i];

		if (p->body_off + p->body_len > msgsize)
			abort();
		if (p->child != MIME_NONE && p->child >= m->nparts)
			abort();
		if (p->next != MIME_NONE && p->next >= m->nparts)
			abort();
		seen++;
	}
	for (k = 0; k < sizeof(paths) / sizeof(paths[0]); k++) {
		for (s = MIME_SECTION_BODY; s <= MIME_SECTION_MIME; s++) {
			if (mime_section_range(m, paths[k], strlen(paths[k]),
			    s, &off, &len) == 0 && (off > msgsize ||
			    len > msgsize - off))
				abort();
		}
	}
	/* What decodes can be written out as FETCH items. */
	for (item = IMAP_BS_ENVELOPE; item <= IMAP_BS_BODY; item++)
		free(imap_bodystructure_string(m, item, NULL));
	/* Version 3 has one encoding: the same bytes come out again. */
	if (data[4] == MIME_CACHE_VERSION) {
		pack_init(&pk);
		mime_cache_encode(m, &pk);
		if (pk.len != size - 4 || memcmp(pk.buf, data + 4, pk.len) != 0)
			abort();
		pack_free(&pk);
	}
	mime_msg_free(&m);
	(void)seen;
	return 0;
}
