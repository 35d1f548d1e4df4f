/*
 * mime-dump: prints what guestbox-imapd would answer to a FETCH of one
 * message, for the differential test against Dovecot.
 *
 *	mime-dump [-c | -l] file [item ...]
 *
 * The message is first brought to the stored form (CRLF), parsed, and
 * its cache encoded and decoded again, so the output comes from the cache
 * as it does in the server.  Items are ENVELOPE, BODYSTRUCTURE, BODY and
 * BODY[section] with HEADER, TEXT, MIME, HEADER.FIELDS (...) and
 * HEADER.FIELDS.NOT (...); the default is the first three.  The answer is
 * one "* 1 FETCH (...)" line as a server writes it.  -l lists the section
 * paths of the message instead, one a line, with "R" after those of
 * message/rfc822 parts.  -c writes the message size (4 bytes, big-endian)
 * and the cache bytes instead: seeds for tests/fuzz/fuzz-mime-cache.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "log.h"
#include "imap-bodystructure.h"
#include "mime-cache.h"
#include "mime.h"
#include "pack.h"
#include "util.h"
#include "xmalloc.h"

#define DUMP_MAX_MESSAGE	(64 * 1024 * 1024)

static void	 dump_list(const struct mime_msg *, uint32_t, const char *);
static void	 dump_literal(struct pack *, const uint8_t *, size_t);
static int	 dump_section(struct pack *, const struct mime_msg *,
		    const uint8_t *, const char *);
static void	 usage(void);

static void
usage(void)
{
	fprintf(stderr, "usage: mime-dump [-c | -l] file [item ...]\n");
	exit(2);
}

static void
dump_literal(struct pack *out, const uint8_t *p, size_t n)
{
	char	 num[32];
	size_t	 at;

	snprintf(num, sizeof(num), "{%zu}\r\n", n);
	pack_raw(out, num, strlen(num));
	at = out->len;
	pack_raw(out, p, n);
	mime_nuls_replace(out->buf + at, n);
}

static void
dump_list(const struct mime_msg *m, uint32_t idx, const char *path)
{
	const struct mime_part	*p = &m->parts[idx], *y;
	uint32_t		 ch, k;
	char			*sub;

	printf("%s %s\n", path, (p->flags & MIME_PART_RFC822) ? "R" : "-");
	if ((p->flags & MIME_PART_RFC822) && p->child != MIME_NONE) {
		y = &m->parts[p->child];
		if (!(y->flags & MIME_PART_MULTIPART)) {
			xasprintf(&sub, "%s.1", path);
			dump_list(m, p->child, sub);
			free(sub);
			return;
		}
		p = y;
	}
	if (!(p->flags & MIME_PART_MULTIPART))
		return;
	for (k = 1, ch = p->child; ch != MIME_NONE;
	    ch = m->parts[ch].next, k++) {
		xasprintf(&sub, "%s.%u", path, k);
		dump_list(m, ch, sub);
		free(sub);
	}
}

/* One BODY[...] item; -1 if the section is not understood. */
static int
dump_section(struct pack *out, const struct mime_msg *m, const uint8_t *d,
    const char *item)
{
	const char	*sec, *close, *kw, *names[64];
	char		*list = NULL, *tok, *save;
	size_t		 pathlen, nnames = 0;
	uint64_t	 off, len;
	enum mime_section kind = MIME_SECTION_BODY;
	int		 fields = 0, exclude = 0, ret;
	struct pack	 pk;

	sec = item + 5;
	if ((close = strrchr(sec, ']')) == NULL)
		return -1;
	/* The path is digits and dots up to the first keyword. */
	for (pathlen = 0; sec + pathlen < close &&
	    (isdigit((unsigned char)sec[pathlen]) || sec[pathlen] == '.');
	    pathlen++)
		;
	kw = sec + pathlen;
	if (kw < close && pathlen > 0) {
		if (sec[pathlen - 1] != '.')
			return -1;
		pathlen--;
	}
	if (kw == close)
		kind = MIME_SECTION_BODY;
	else if (strncasecmp(kw, "HEADER.FIELDS.NOT ", 18) == 0) {
		kind = MIME_SECTION_HEADER;
		fields = exclude = 1;
		list = xstrndup(kw + 18, close - kw - 18);
	} else if (strncasecmp(kw, "HEADER.FIELDS ", 14) == 0) {
		kind = MIME_SECTION_HEADER;
		fields = 1;
		list = xstrndup(kw + 14, close - kw - 14);
	} else if (close - kw == 6 && strncasecmp(kw, "HEADER", 6) == 0)
		kind = MIME_SECTION_HEADER;
	else if (close - kw == 4 && strncasecmp(kw, "TEXT", 4) == 0)
		kind = MIME_SECTION_TEXT;
	else if (close - kw == 4 && strncasecmp(kw, "MIME", 4) == 0)
		kind = MIME_SECTION_MIME;
	else
		return -1;
	if (list != NULL) {
		for (tok = strtok_r(list, "() ", &save); tok != NULL &&
		    nnames < 64; tok = strtok_r(NULL, "() ", &save))
			names[nnames++] = tok;
	}

	pack_raw(out, item, close + 1 - item);
	pack_u8(out, ' ');
	ret = mime_section_range(m, sec, pathlen, kind, &off, &len);
	if (ret < 0)
		pack_raw(out, "NIL", 3);
	else if (ret > 0)
		dump_literal(out, d, 0);
	else if (fields) {
		pack_init(&pk);
		mime_header_fields(d + off, len, names, nnames, exclude, &pk);
		dump_literal(out, pk.buf, pk.len);
		pack_free(&pk);
	} else
		dump_literal(out, d + off, len);
	free(list);
	return 0;
}

int
main(int argc, char *argv[])
{
	struct mime_msg	*parsed, *m;
	struct pack	 cache, out;
	char		*raw, *d, *bs1, *bs2, *wire;
	size_t		 rawlen, len, wlen;
	int		 ch, list = 0, cacheout = 0, i;
	uint8_t		 be[4];
	const char	*defaults[] = { "ENVELOPE", "BODYSTRUCTURE", "BODY" };
	const char	*item;

	log_init("mime-dump", 1, 0);
	while ((ch = getopt(argc, argv, "cl")) != -1) {
		switch (ch) {
		case 'c':
			cacheout = 1;
			break;
		case 'l':
			list = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	if (file_read_all(argv[0], DUMP_MAX_MESSAGE, &raw, &rawlen) == -1)
		fatal("%s", argv[0]);
	d = crlf_normalize(raw, rawlen, &len);
	free(raw);

	parsed = mime_parse(d, len);
	pack_init(&cache);
	mime_cache_encode(parsed, &cache);
	if ((m = mime_cache_decode(cache.buf, cache.len, len)) == NULL)
		fatalx("%s: the cache does not decode", argv[0]);
	if (cacheout) {
		pack_be32(be, (uint32_t)len);
		fwrite(be, 1, 4, stdout);
		fwrite(cache.buf, 1, cache.len, stdout);
	}
	bs1 = imap_bodystructure_string(parsed, IMAP_BS_BODYSTRUCTURE, NULL);
	bs2 = imap_bodystructure_string(m, IMAP_BS_BODYSTRUCTURE, NULL);
	if (strcmp(bs1, bs2) != 0)
		fatalx("%s: the cache changed BODYSTRUCTURE", argv[0]);
	free(bs1);
	free(bs2);
	pack_free(&cache);
	mime_msg_free(&parsed);
	if (cacheout) {
		mime_msg_free(&m);
		free(d);
		return 0;
	}

	if (list) {
		if (m->parts[0].flags & MIME_PART_MULTIPART) {
			uint32_t	 c, k;
			char		 num[16];

			for (k = 1, c = m->parts[0].child; c != MIME_NONE;
			    c = m->parts[c].next, k++) {
				snprintf(num, sizeof(num), "%u", k);
				dump_list(m, c, num);
			}
		} else
			dump_list(m, 0, "1");
		mime_msg_free(&m);
		free(d);
		return 0;
	}

	pack_init(&out);
	pack_raw(&out, "* 1 FETCH (", 11);
	for (i = 0; i < (argc > 1 ? argc - 1 : 3); i++) {
		item = argc > 1 ? argv[i + 1] : defaults[i];
		if (i > 0)
			pack_u8(&out, ' ');
		if (strcasecmp(item, "ENVELOPE") == 0) {
			pack_raw(&out, "ENVELOPE ", 9);
			wire = imap_bodystructure_string(m, IMAP_BS_ENVELOPE, &wlen);
			pack_raw(&out, wire, wlen);
			free(wire);
		} else if (strcasecmp(item, "BODYSTRUCTURE") == 0) {
			pack_raw(&out, "BODYSTRUCTURE ", 14);
			wire = imap_bodystructure_string(m, IMAP_BS_BODYSTRUCTURE, &wlen);
			pack_raw(&out, wire, wlen);
			free(wire);
		} else if (strcasecmp(item, "BODY") == 0) {
			pack_raw(&out, "BODY ", 5);
			wire = imap_bodystructure_string(m, IMAP_BS_BODY, &wlen);
			pack_raw(&out, wire, wlen);
			free(wire);
		} else if (strncasecmp(item, "BODY[", 5) != 0 ||
		    dump_section(&out, m, (const uint8_t *)d, item) < 0)
			fatalx("unknown item %s", item);
	}
	pack_raw(&out, ")\r\n", 3);
	fwrite(out.buf, 1, out.len, stdout);
	pack_free(&out);
	mime_msg_free(&m);
	free(d);
	return 0;
}
