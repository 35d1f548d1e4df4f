/*
 * fuzz-mime.c: libFuzzer target for the MIME parser.  Parses the input,
 * checks the part tree and the IMAP syntax of ENVELOPE/BODYSTRUCTURE/BODY
 * as imapd writes them, goes through the cache and back (the same
 * strings), and walks the section API.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap-bodystructure.h"
#include "mime-cache.h"
#include "mime.h"
#include "pack.h"
#include "xmalloc.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void	 check_imap(const char *, size_t);
static void	 check_tree(const struct mime_msg *, size_t);

/* The string is one IMAP list: balanced, literals of the right length. */
static void
check_imap(const char *s, size_t len)
{
	size_t		 i = 0, n;
	int		 depth = 0;
	char		*end;

	while (i < len) {
		switch (s[i]) {
		case '(':
			depth++;
			i++;
			break;
		case ')':
			if (--depth < 0)
				abort();
			i++;
			break;
		case '"':
			for (i++; i < len && s[i] != '"'; i++) {
				if ((uint8_t)s[i] >= 0x80 || s[i] == '\r' ||
				    s[i] == '\n')
					abort();
				if (s[i] == '\\')
					i++;
			}
			if (i >= len)
				abort();
			i++;
			break;
		case '{':
			n = strtoul(s + i + 1, &end, 10);
			if (*end != '}' || end[1] != '\r' || end[2] != '\n')
				abort();
			i = end + 3 - s;
			if (n > len - i)
				abort();
			i += n;
			break;
		case '\0':
			abort();
		default:
			i++;
			break;
		}
		if (depth == 0 && i < len)
			abort();
	}
	if (depth != 0)
		abort();
}

static void
check_tree(const struct mime_msg *m, size_t size)
{
	const struct mime_part	*p;
	uint32_t		 i;

	if (m->nparts == 0 || m->nparts > MIME_MAX_PARTS)
		abort();
	for (i = 0; i < m->nparts; i++) {
		p = &m->parts[i];
		if (p->body_off != p->hdr_off + p->hdr_len ||
		    p->body_off + p->body_len > size ||
		    p->hdr_vsize < p->hdr_len || p->body_vsize < p->body_len)
			abort();
		if (i > 0 && p->parent >= i)
			abort();
	}
	if (m->parts[0].body_off + m->parts[0].body_len != size)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char	*paths[] = { "1", "2", "1.1", "2.1", "1.2.3",
	    "3.1.1", "1.1.1.1" };
	static const char	*names[] = { "From", "Subject", "Content-Type" };
	struct mime_msg		*m, *d;
	struct mime_content	 c;
	struct pack		 pk;
	uint64_t		 off, len;
	size_t			 i, wlen;
	int			 s;
	enum imap_bs_item	 item;
	char			*w1[IMAP_BS_BODY + 1], *w2;

	m = mime_parse(data, size);
	check_tree(m, size);
	for (item = IMAP_BS_ENVELOPE; item <= IMAP_BS_BODY; item++) {
		w1[item] = imap_bodystructure_string(m, item, &wlen);
		check_imap(w1[item], wlen);
	}

	/* Through the cache: the same numbers, the same FETCH strings. */
	pack_init(&pk);
	mime_cache_encode(m, &pk);
	if ((d = mime_cache_decode(pk.buf, pk.len, size)) == NULL ||
	    d->nparts != m->nparts)
		abort();
	for (i = 0; i < m->nparts; i++)
		if (memcmp(&d->parts[i], &m->parts[i],
		    offsetof(struct mime_part, content)) != 0)
			abort();
	for (item = IMAP_BS_ENVELOPE; item <= IMAP_BS_BODY; item++) {
		w2 = imap_bodystructure_string(d, item, NULL);
		if (strcmp(w1[item], w2) != 0)
			abort();
		free(w2);
		free(w1[item]);
	}
	mime_msg_free(&d);
	pack_free(&pk);

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		for (s = MIME_SECTION_BODY; s <= MIME_SECTION_MIME; s++) {
			if (mime_section_range(m, paths[i], strlen(paths[i]),
			    s, &off, &len) == 0 && off + len > size)
				abort();
		}
	}
	for (i = 0; i < m->nparts && i < 50; i++) {
		mime_content_parse(data + m->parts[i].hdr_off,
		    m->parts[i].hdr_len, &c);
		free(mime_param_get(c.params, c.nparams, "name", NULL, NULL));
		mime_content_clear(&c);
	}
	pack_init(&pk);
	mime_header_fields(data, m->parts[0].hdr_len, names, 3, 0, &pk);
	mime_header_fields(data, m->parts[0].hdr_len, names, 3, 1, &pk);
	pack_free(&pk);
	mime_msg_free(&m);
	return 0;
}
