/*
 * cmd-fetch.c: FETCH and UID FETCH (RFC 3501 6.4.5, 7.4.2; CONDSTORE and
 * QRESYNC, RFC 7162 3.1.4, 3.2.6; BINARY, RFC 3516 4.2).
 *
 * ENVELOPE, BODYSTRUCTURE and BODY are written (imap-bodystructure.c)
 * from the MIME cache sealed with the message (computed at delivery or
 * APPEND, or here the first time it is missing); sections decrypt the
 * message.  A long FETCH writes a batch
 * of messages, then waits for the client to read (CMD_MORE), so a FETCH
 * of a whole mailbox never sits in memory.
 *
 * A large message is streamed (issue 17, point 3): its literals are
 * decrypted a few of the store's 64 KiB chunks at a time, each time the
 * client has read what went before (the output drained below
 * IMAP_OUTPUT_HIGH / 4), so that a 50 MB BODY[] neither sits in memory
 * nor holds the event loop while it is decrypted.  On the loop rather
 * than on a worker thread: a chunk takes some 50 us to decrypt, the
 * slices are short, and the session, its key cache and the store handle
 * stay the loop's alone.  BINARY sections of such a message are decoded
 * from the same chunks with mail/'s mime_decoder, twice: once to count
 * the literal8's length, once to send (struct fetch_stream).  A lease in
 * the store keeps the chunks while another worker expunges the message.
 *
 * The arguments are read by imap-fetch-parse.c (unit-tested and fuzzed);
 * this file only runs the request.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "imap-bodystructure.h"
#include "imap-date.h"
#include "imap-fetch-parse.h"
#include "imap-quote.h"
#include "imap-seqset.h"
#include "imapd.h"
#include "log.h"
#include "mime-cache.h"
#include "mime-decode.h"
#include "mime.h"
#include "pack.h"
#include "xmalloc.h"

/* Its rows' handlers and hooks (imap-commands.c). */
imap_cmd_fn	cmd_fetch;

#define FETCH_BATCH		50
/* Messages this large are streamed (with the MIME cache, if it needs it). */
#define FETCH_STREAM_MIN	(1024 * 1024)
/* Chunks decrypted in one turn of the loop at most. */
#define FETCH_STREAM_TURN	8

/* Items that need the MIME structure (from the cache or a parse). */
#define FETCH_NEEDS_MIME	(IMAP_FETCH_ENVELOPE | IMAP_FETCH_BODY | \
				    IMAP_FETCH_BODYSTRUCTURE)

struct fetch_stream;

/*
 * A FETCH being answered: the request as imap-fetch-parse.c read it,
 * plus what running it needs.
 */
struct fetch_req {
	int				 uid_mode;
	struct imap_fetch_request	 req;
	/* Each part's section path as mime_section_range() takes it. */
	char				**paths;
	struct imap_seqset		*set;
	uint32_t			 next;	/* next sequence number */
	int				 missing; /* some were expunged */
	int				 unknown_cte; /* RFC 3516 4.3 */
	int				 failed;  /* a storage error */
	struct fetch_stream		*stream; /* a message being streamed */
};

struct fetch_bin;

static void	fetch_stream_free(struct fetch_stream **);
static int	fetch_part_is_binary(const struct imap_fetch_part *);
static int	fetch_stream_bin_plan(struct imap_session *,
		    struct fetch_stream *, const char *, struct fetch_bin *);

static void
fetch_req_free(void *arg)
{
	struct fetch_req	*fr = arg;
	size_t			 i;

	if (fr == NULL)
		return;
	/* A client gone mid-stream, or a session closed under it. */
	fetch_stream_free(&fr->stream);
	if (fr->paths != NULL) {
		for (i = 0; i < fr->req.nparts; i++)
			free(fr->paths[i]);
		free(fr->paths);
	}
	imap_fetch_request_clear(&fr->req);
	imap_set_free(&fr->set);
	free(fr);
}

/* "1.2.3" from the part numbers (at most 100 of them, 10 digits each). */
static char *
fetch_path_format(const struct imap_fetch_part *part)
{
	struct pack	 pk;
	char		 num[16];
	size_t		 i;
	int		 n;

	pack_init(&pk);
	for (i = 0; i < part->depth; i++) {
		n = snprintf(num, sizeof(num), "%s%u", i > 0 ? "." : "",
		    part->path[i]);
		pack_raw(&pk, num, (size_t)n);
	}
	pack_u8(&pk, 0);
	return (char *)pk.buf;
}

/* Everything a message needs for one response, read in one txn. */
/*
 * A message's text once a large range of it went to the output by
 * reference (evbuffer_add_reference): no second copy of a 50 MB body.
 * The output and the fetch_msg each hold a reference; the last one to
 * let go wipes and frees it.  The output is the event loop's only.
 */
struct fetch_text {
	uint8_t		*data;
	size_t		 len;
	unsigned	 refs;
};

/* A range this large is lent to the output rather than copied. */
#define FETCH_LEND_MIN	(64 * 1024)

static void
fetch_text_unref(struct fetch_text *ft)
{
	if (--ft->refs > 0)
		return;
	sodium_memzero(ft->data, ft->len);
	free(ft->data);
	free(ft);
}

static void
fetch_text_sent(const void *data, size_t len, void *arg)
{
	(void)data;
	(void)len;
	fetch_text_unref(arg);
}

struct fetch_msg {
	struct imap_session	*s;
	uint32_t		 uid;
	struct store_msg	 m;
	int			 want_mime;
	int			 want_text;
	int			 root_only;	/* the root's split is enough */
	int			 set_seen;
	int			 keep_nuls;	/* BINARY: the bytes as stored */
	uint8_t			*text;
	size_t			 textlen;
	struct fetch_text	*shared;	/* text, lent to the output */
	struct mime_msg		*mime;
	/* Expunged elsewhere, not yet reported: the view's data only. */
	int			 gone;
	/* Its body items may be streamed (BINARY too, decoded in pieces). */
	int			 stream_ok;
	struct store_blob_reader *reader;	/* to be streamed, if set */
};

/*
 * A BINARY section of a streamed message (RFC 3516 4.2), as a list of
 * segments of the message: what is copied as it stands, the header of
 * an encoded part rewritten (fetch_binary_header), the body of an
 * encoded part decoded.  Only offsets: the bytes are read through the
 * blob reader again each time the segment is walked.
 */
enum fetch_seg_kind {
	FETCH_SEG_RAW,
	FETCH_SEG_HEADER,
	FETCH_SEG_DECODE,
};

struct fetch_seg {
	enum fetch_seg_kind	 kind;
	int			 enc;		/* MIME_DECODER_*, FETCH_SEG_DECODE */
	uint64_t		 off, len;
};

struct fetch_bin {
	struct fetch_seg	*segs;
	size_t			 nsegs;
	int			 missing;	/* no such part: NIL, size 0 */
	int			 decoded;	/* a literal8 in any case */
	int			 counted;	/* size and the NUL flags are known */
	uint64_t		 size;		/* the decoded length */
	int			 anynul;	/* a NUL anywhere in it */
	int			 winnul;	/* in the partial's window */
};

/*
 * A stream with BINARY items first counts: RFC 3516 4.2 sends the
 * decoded data as a literal8, whose length goes before it, and the
 * length of decoded base64 or quoted-printable is only known once it
 * is decoded.  So each such item is decoded twice, once to count
 * (sliced on a timer, nothing written) and once to write; holding the
 * decoded part instead is what this stream exists not to do.  The
 * sizes counted are remembered (fetch_size_memo), so BINARY.SIZE then
 * BINARY[], as clients ask, decodes for the count once.
 */
enum fetch_stream_phase {
	FETCH_STREAM_COUNT,
	FETCH_STREAM_WRITE,
};

static const char *const fetch_stream_phase_names[] = {
	[FETCH_STREAM_COUNT] = "count",
	[FETCH_STREAM_WRITE] = "write",
};

/*
 * A large message's response being written: the rest of its body items
 * from part on, and of the literal being written, [pos, end) of the
 * message, or the BINARY item active.  On fetch_streams while it lives
 * (fetch_stream_blob_freed).
 */
struct fetch_stream {
	struct fetch_stream	*prev, *next;
	struct imap_session	*s;
	enum fetch_stream_phase	 phase;
	struct fetch_msg	 fm;		/* its reader and MIME structure */
	uint32_t		 seq;
	int			 flags_changed;
	size_t			 part;		/* the next body item */
	size_t			 nparts;
	const char		*sp;
	uint64_t		 pos, end;
	/* VAULT_CHUNK bytes; NULs replaced unless fm.keep_nuls (BINARY). */
	uint8_t			*chunk;
	size_t			 chunklen;
	uint32_t		 chunkno;	/* the chunk it holds, or UINT32_MAX */
	uint32_t		 want;		/* for fetch_stream_txn */
	uint8_t			*scratch;	/* BODY data with NULs replaced */
	/* nparts of them if a BINARY item is asked for, else NULL. */
	struct fetch_bin	*bin;
	size_t			 counting;	/* the item the count is at */
	/* The BINARY item being counted or written, and where it is. */
	struct fetch_bin	*active;
	size_t			 seg;
	int			 seg_open;	/* seg's bpos (and dec) are set */
	uint64_t		 bpos;		/* in the message */
	struct mime_decoder	 dec;
	int			 dec_open;
	struct pack		 dout;		/* what a piece decoded to */
	uint64_t		 opos;		/* in the decoded data */
	uint64_t		 win_off, win_end; /* of it, written or checked */
	struct event		*ev;		/* a slice without output's next */
	int			 leased;	/* store_blob_lease_take() took */
};

static struct fetch_stream	*fetch_streams;

static const enum mime_section fetch_section_map[] = {
	[IMAP_SECTION_ALL] = MIME_SECTION_BODY,
	[IMAP_SECTION_HEADER] = MIME_SECTION_HEADER,
	[IMAP_SECTION_HEADER_FIELDS] = MIME_SECTION_HEADER,
	[IMAP_SECTION_HEADER_FIELDS_NOT] = MIME_SECTION_HEADER,
	[IMAP_SECTION_TEXT] = MIME_SECTION_TEXT,
	[IMAP_SECTION_MIME] = MIME_SECTION_MIME,
};

/* fm's MIME structure from the cache sealed with it, if there is one. */
static int
fetch_msg_cached_mime(struct store_txn *txn, struct fetch_msg *fm)
{
	uint8_t	*aux = NULL;
	size_t	 auxlen = 0;
	int	 ret;

	if ((ret = store_blob_aux_get(txn, fm->s->key, fm->m.blob_id, &aux,
	    &auxlen)) != 0)
		return ret;
	if (aux != NULL)
		fm->mime = mime_cache_decode(aux, auxlen, fm->m.size);
	free(aux);
	return 0;
}

/*
 * In fetch_msg_txn, for a large message: its reader, and the MIME
 * structure from the cache if the items need one.  0 when opened; 1 if
 * there is no cache (the whole message is read and parsed, which makes
 * it); else a store error.
 */
static int
fetch_msg_stream_open(struct store_txn *txn, struct fetch_msg *fm)
{
	int	 ret;

	mime_msg_free(&fm->mime);
	store_blob_reader_free(&fm->reader);
	if (fm->want_mime) {
		if ((ret = fetch_msg_cached_mime(txn, fm)) != 0)
			return ret;
		if (fm->mime == NULL)
			return 1;
	}
	if ((ret = store_blob_reader_open(txn, fm->s->key, fm->m.blob_id,
	    &fm->reader)) != 0)
		mime_msg_free(&fm->mime);
	return ret;
}

static int
fetch_msg_txn(struct store_txn *txn, void *arg)
{
	struct fetch_msg	*fm = arg;
	struct imap_session	*s = fm->s;
	struct pack		 pk;
	int			 ret;

	if ((ret = store_msg_get(txn, s->account_id, s->view.mailbox_id,
	    fm->uid, &fm->m)) != 0)
		return ret;
	if (fm->set_seen && !(fm->m.flags & STORE_F_SEEN) &&
	    (ret = store_msg_store(txn, s->account_id, s->view.mailbox_id,
	    fm->uid, fm->m.flags | STORE_F_SEEN, fm->m.keywords, 0,
	    &fm->m)) != 0)
		return ret;
	if (fm->stream_ok && fm->m.size >= FETCH_STREAM_MIN &&
	    (ret = fetch_msg_stream_open(txn, fm)) != 1)
		return ret;
	mime_msg_free(&fm->mime);
	if (fm->root_only) {
		/*
		 * BODY[], BODY[HEADER...], BODY[TEXT], RFC822.HEADER/TEXT:
		 * the root's header and body split from the text itself.
		 * Reading the cached structure would open the message's
		 * sealed key a second time (crypto_box_seal_open, ~60 us).
		 */
		if (fm->text == NULL) {
			if ((ret = store_msg_read(txn, s->key, fm->m.blob_id,
			    &fm->text, &fm->textlen)) != 0)
				return ret;
			if (!fm->keep_nuls)
				mime_nuls_replace(fm->text, fm->textlen);
		}
		fm->mime = mime_parse_root(fm->text, fm->textlen);
	}
	if (fm->want_mime && fm->mime == NULL &&
	    (ret = fetch_msg_cached_mime(txn, fm)) != 0)
		return ret;
	if (fm->text == NULL && (fm->want_text || (fm->want_mime &&
	    fm->mime == NULL))) {
		if ((ret = store_msg_read(txn, s->key, fm->m.blob_id, &fm->text,
		    &fm->textlen)) != 0)
			return ret;
	}
	if (fm->want_mime && fm->mime == NULL) {
		/* No cache yet (or a damaged one): build it and keep it. */
		fm->mime = mime_parse(fm->text, fm->textlen);
		pack_init(&pk);
		mime_cache_encode(fm->mime, &pk);
		ret = store_blob_aux_set(txn, s->key, fm->m.blob_id, pk.buf,
		    pk.len);
		pack_free(&pk);
		if (ret != 0)
			return ret;
	}
	/*
	 * RFC 3501 4.3: no NUL in a literal; 0x80 like Dovecot.  After the
	 * parse: the parser sees what was delivered.
	 */
	if (fm->text != NULL && !fm->keep_nuls)
		mime_nuls_replace(fm->text, fm->textlen);
	return 0;
}

static void
fetch_msg_clear(struct fetch_msg *fm)
{
	if (fm->shared != NULL) {
		/* The output may still hold it: it frees what it holds last. */
		fetch_text_unref(fm->shared);
		fm->shared = NULL;
	} else if (fm->text != NULL) {
		sodium_memzero(fm->text, fm->textlen);
		free(fm->text);
	}
	fm->text = NULL;
	fm->textlen = 0;
	mime_msg_free(&fm->mime);
	store_blob_reader_free(&fm->reader);
}

/* RFC 3501 6.4.5: <origin.octets> of [off, off+len); past the end, empty. */
static void
fetch_partial_clip(const struct imap_fetch_part *part, uint64_t *offp,
    uint64_t *lenp)
{
	if (part == NULL || !part->partial)
		return;
	if (part->offset >= *lenp)
		*lenp = 0;
	else {
		*offp += part->offset;
		*lenp -= part->offset;
		if (*lenp > part->length)
			*lenp = part->length;
	}
}

/*
 * Writes [off, off+len) of data as a literal, cut by a partial.  Data in
 * fm's text (fm may be NULL) is lent to the output when the range is
 * large and holds no NUL (which imap_quote_literal would replace).
 */
static void
fetch_write_range(struct imap_session *s, const struct imap_fetch_part *part,
    struct fetch_msg *fm, const uint8_t *data, uint64_t off, uint64_t len)
{
	struct evbuffer	*out = conn_out(s->conn);

	fetch_partial_clip(part, &off, &len);
	if (fm != NULL && data == fm->text && len >= FETCH_LEND_MIN &&
	    memchr(data + off, '\0', (size_t)len) == NULL) {
		if (fm->shared == NULL) {
			fm->shared = xcalloc(1, sizeof(*fm->shared));
			fm->shared->data = fm->text;
			fm->shared->len = fm->textlen;
			fm->shared->refs = 1;
		}
		evbuffer_add_printf(out, "{%zu}\r\n", (size_t)len);
		fm->shared->refs++;
		if (evbuffer_add_reference(out, data + off, (size_t)len,
		    fetch_text_sent, fm->shared) == 0)
			return;
		/* Not taken: the callback will not run, nor count. */
		fm->shared->refs--;
		evbuffer_add(out, data + off, (size_t)len);
		return;
	}
	imap_quote_literal(out, data + off, (size_t)len);
}

/* BODY[...] and BODY.PEEK[...]: the name, then the section's text. */
static void
fetch_write_section(struct imap_session *s, const struct imap_fetch_part *part,
    const char *path, struct fetch_msg *fm)
{
	struct pack	 pk;
	uint64_t	 off, len;
	int		 ret;

	/* RFC 3501 7.4.2: the name holds "<origin>" of a partial. */
	imap_printf(s, "%s ", part->name);
	ret = fm->mime == NULL ? -1 : mime_section_range(fm->mime, path,
	    strlen(path), fetch_section_map[part->text], &off, &len);
	if (ret == -1 || (ret == 0 && off + len > fm->textlen)) {
		/*
		 * RFC 3501 6.4.5: a part that does not exist is empty;
		 * Dovecot 2.3 says {0}, and so do we.
		 */
		imap_printf(s, "{0}\r\n");
		return;
	}
	if (ret == 1) {
		/* HEADER or TEXT of a part that is no message: empty. */
		imap_printf(s, "{0}\r\n");
		return;
	}
	if (part->text != IMAP_SECTION_HEADER_FIELDS &&
	    part->text != IMAP_SECTION_HEADER_FIELDS_NOT) {
		fetch_write_range(s, part, fm, fm->text, off, len);
		return;
	}
	pack_init(&pk);
	mime_header_fields(fm->text + off, (size_t)len,
	    (const char *const *)part->fields, part->nfields,
	    part->text == IMAP_SECTION_HEADER_FIELDS_NOT, &pk);
	fetch_write_range(s, part, NULL, pk.buf, 0, pk.len);
	pack_free(&pk);
}

/*
 * RFC822, RFC822.HEADER, RFC822.TEXT (RFC 3501 6.4.5): the whole
 * message, the root's header, the root's body; left out if the message
 * could not be read.  Returns whether something was written.
 */
static int
fetch_write_rfc822(struct imap_session *s, const struct imap_fetch_part *part,
    struct fetch_msg *fm, const char *sp)
{
	const struct mime_part	*root;

	root = fm->mime != NULL ? &fm->mime->parts[0] : NULL;
	switch (part->kind) {
	case IMAP_FETCH_PART_RFC822:
		if (fm->text == NULL)
			return 0;
		imap_printf(s, "%s%s ", sp, part->name);
		fetch_write_range(s, NULL, fm, fm->text, 0, fm->textlen);
		return 1;
	case IMAP_FETCH_PART_RFC822_HEADER:
		if (root == NULL)
			return 0;
		imap_printf(s, "%s%s ", sp, part->name);
		fetch_write_range(s, NULL, fm, fm->text, root->hdr_off,
		    root->hdr_len);
		return 1;
	case IMAP_FETCH_PART_RFC822_TEXT:
		if (root == NULL)
			return 0;
		imap_printf(s, "%s%s ", sp, part->name);
		fetch_write_range(s, NULL, fm, fm->text, root->body_off,
		    root->body_len);
		return 1;
	default:
		return 0;
	}
}

/* What a part's Content-Transfer-Encoding asks of BINARY. */
enum fetch_cte {
	FETCH_CTE_NONE,		/* 7bit, 8bit, binary, none: as it is */
	FETCH_CTE_BASE64,
	FETCH_CTE_QP,
	FETCH_CTE_UNKNOWN,	/* RFC 3516 4.3: NO [UNKNOWN-CTE] */
};

/*
 * The field as it stands in the part's header, as Dovecot's decoder
 * reads it: also without MIME-Version, and the whole value ("7bit
 * garbage" is no encoding we know).
 */
static enum fetch_cte
fetch_part_cte(const uint8_t *hdr, const struct mime_part *p)
{
	enum fetch_cte	 r = FETCH_CTE_UNKNOWN;
	char		*v, *cte;
	size_t		 len;

	/* RFC 2045 6.4: a multipart or message is never encoded. */
	if (p->flags & (MIME_PART_MULTIPART | MIME_PART_RFC822))
		return FETCH_CTE_NONE;
	if ((v = mime_header_get(hdr, (size_t)p->hdr_len,
	    "Content-Transfer-Encoding", &len)) == NULL)
		return FETCH_CTE_NONE;
	for (cte = v; *cte == ' ' || *cte == '\t'; cte++)
		;
	if (*cte == '\0' || strcasecmp(cte, "7bit") == 0 ||
	    strcasecmp(cte, "8bit") == 0 || strcasecmp(cte, "binary") == 0)
		r = FETCH_CTE_NONE;
	else if (strcasecmp(cte, "base64") == 0)
		r = FETCH_CTE_BASE64;
	else if (strcasecmp(cte, "quoted-printable") == 0)
		r = FETCH_CTE_QP;
	free(v);
	return r;
}

static void
fetch_part_decode(const struct fetch_msg *fm, const struct mime_part *p,
    enum fetch_cte cte, struct pack *out)
{
	const uint8_t	*body = fm->text + p->body_off;

	if (cte == FETCH_CTE_BASE64)
		mime_decode_base64(out, body, (size_t)p->body_len);
	else if (cte == FETCH_CTE_QP)
		mime_decode_qp(out, body, (size_t)p->body_len, 0);
	else
		pack_raw(out, body, (size_t)p->body_len);
}

/*
 * The header of an encoded part inside a BINARY section, as Dovecot
 * writes it: its Content-Transfer-Encoding field dropped and
 * "Content-Transfer-Encoding: binary" ending it instead.
 */
static void
fetch_binary_header(const uint8_t *hdr, size_t len, struct pack *out)
{
	static const char	 binary[] =
	    "Content-Transfer-Encoding: binary\r\n\r\n";
	struct mime_header_iter	 it;
	struct mime_header	 h;

	mime_header_iter_init(&it, hdr, len);
	while (mime_header_iter_next(&it, &h))
		if (!mime_header_name_is(&h, "Content-Transfer-Encoding"))
			pack_raw(out, h.line, h.line_len);
	pack_raw(out, binary, sizeof(binary) - 1);
}

/*
 * RFC 3516 4.2: a section with its Content-Transfer-Encoding undone,
 * into out.  A leaf part is its decoded body.  The message (no part
 * number), a multipart or a message/rfc822 part is written whole with
 * every encoded leaf inside decoded and its header saying so, as
 * Dovecot does: its Content-Transfer-Encoding field is dropped and
 * "Content-Transfer-Encoding: binary" ends the header instead.
 * 0, *decodedp set if anything was decoded; 1 for a part that does not
 * exist; -1 for an encoding we cannot undo.
 */
static int
fetch_binary_decode(const struct fetch_msg *fm, const char *path,
    struct pack *out, int *decodedp)
{
	const struct mime_part	*p, *q;
	enum fetch_cte		 cte;
	uint64_t		 start, end, pos;
	uint32_t		 i, first;

	*decodedp = 0;
	if (fm->mime == NULL || fm->text == NULL ||
	    (p = mime_part_find(fm->mime, path, strlen(path))) == NULL ||
	    p->body_off + p->body_len > fm->textlen)
		return 1;
	if (path[0] != '\0' && !(p->flags &
	    (MIME_PART_MULTIPART | MIME_PART_RFC822))) {
		if ((cte = fetch_part_cte(fm->text + p->hdr_off, p)) ==
		    FETCH_CTE_UNKNOWN)
			return -1;
		/* Like Dovecot: a literal8 for a part with NULs in it. */
		*decodedp = cte != FETCH_CTE_NONE ||
		    (p->flags & MIME_PART_HAS_NULS);
		fetch_part_decode(fm, p, cte, out);
		return 0;
	}
	/* The whole of the section, walking the parts inside it in order. */
	first = (uint32_t)(p - fm->mime->parts);
	start = path[0] == '\0' ? 0 : p->body_off;
	end = p->body_off + p->body_len;
	pos = start;
	for (i = first; i < fm->mime->nparts; i++) {
		q = &fm->mime->parts[i];
		if (q->hdr_off < start || q->body_off + q->body_len > end ||
		    q->hdr_off < pos || (i == first && path[0] != '\0'))
			continue;
		if ((cte = fetch_part_cte(fm->text + q->hdr_off, q)) ==
		    FETCH_CTE_UNKNOWN)
			return -1;
		if (cte == FETCH_CTE_NONE)
			continue;
		pack_raw(out, fm->text + pos, (size_t)(q->hdr_off - pos));
		fetch_binary_header(fm->text + q->hdr_off, (size_t)q->hdr_len,
		    out);
		fetch_part_decode(fm, q, cte, out);
		pos = q->body_off + q->body_len;
		*decodedp = 1;
	}
	pack_raw(out, fm->text + pos, (size_t)(end - pos));
	return 0;
}

/*
 * BINARY[...] and BINARY.SIZE[...]: decoded data as a literal8 when it
 * holds a NUL (RFC 3516 4.2 allows NUL only there) or was decoded, else
 * a literal.
 */
static void
fetch_write_binary(struct imap_session *s, const struct imap_fetch_part *part,
    const struct pack *data, int missing, int decoded)
{
	uint64_t	 off = 0, len = missing ? 0 : data->len;

	imap_printf(s, "%s ", part->name);
	if (part->kind == IMAP_FETCH_PART_BINARY_SIZE) {
		imap_printf(s, "%llu", (unsigned long long)len);
		return;
	}
	if (missing) {
		/* As BODY[] of a part that is not there; Dovecot says {0}. */
		imap_printf(s, "{0}\r\n");
		return;
	}
	fetch_partial_clip(part, &off, &len);
	/* Like Dovecot, decoded content goes as a literal8 in any case. */
	/* An empty part has no buffer at all: no memchr() of NULL. */
	imap_printf(s, "%s{%llu}\r\n", decoded || (len > 0 &&
	    memchr(data->buf + off, '\0', (size_t)len) != NULL) ? "~" : "",
	    (unsigned long long)len);
	if (len > 0)
		imap_write(s, data->buf + off, (size_t)len);
}

/*
 * "* n FETCH (" and the items before the body items; returns the
 * separator the next item needs.
 */
static const char *
fetch_write_head(struct imap_session *s, const struct fetch_req *fr,
    uint32_t seq, const struct fetch_msg *fm, int flags_changed)
{
	const struct imap_fetch_request	*req = &fr->req;
	char				 date[IMAP_DATETIME_LEN + 1];
	const char			*sp = "";

	imap_printf(s, "* %u FETCH (", seq);
	if ((req->attrs & IMAP_FETCH_UID) || fr->uid_mode) {
		imap_printf(s, "UID %u", fm->m.uid);
		sp = " ";
	}
	if ((req->attrs & IMAP_FETCH_FLAGS) || flags_changed) {
		imap_printf(s, "%sFLAGS ", sp);
		imap_write_flags(s, fm->m.uid, fm->m.flags, fm->m.keywords);
		sp = " ";
	}
	if ((req->attrs & IMAP_FETCH_MODSEQ) || (s->condstore && flags_changed)) {
		imap_printf(s, "%sMODSEQ (%llu)", sp,
		    (unsigned long long)fm->m.modseq);
		sp = " ";
	}
	if ((req->attrs & IMAP_FETCH_INTERNALDATE) && !fm->gone) {
		imap_printf(s, "%sINTERNALDATE \"%s\"", sp, imap_datetime_format(
		    (time_t)fm->m.internaldate, date, sizeof(date)));
		sp = " ";
	}
	if ((req->attrs & IMAP_FETCH_RFC822_SIZE) && !fm->gone) {
		imap_printf(s, "%sRFC822.SIZE %llu", sp,
		    (unsigned long long)fm->m.size);
		sp = " ";
	}
	if ((req->attrs & IMAP_FETCH_ENVELOPE) && fm->mime != NULL) {
		imap_printf(s, "%sENVELOPE ", sp);
		imap_bodystructure_write_envelope(conn_out(s->conn), fm->mime);
		sp = " ";
	}
	if ((req->attrs & IMAP_FETCH_BODYSTRUCTURE) && fm->mime != NULL) {
		imap_printf(s, "%sBODYSTRUCTURE ", sp);
		imap_bodystructure_write(conn_out(s->conn), fm->mime, 1);
		sp = " ";
	}
	if ((req->attrs & IMAP_FETCH_BODY) && fm->mime != NULL) {
		imap_printf(s, "%sBODY ", sp);
		imap_bodystructure_write(conn_out(s->conn), fm->mime, 0);
		sp = " ";
	}
	return sp;
}

static void
fetch_write_msg(struct imap_session *s, struct fetch_req *fr, uint32_t seq,
    struct fetch_msg *fm, int flags_changed)
{
	const struct imap_fetch_request	*req = &fr->req;
	const struct imap_fetch_part	*part;
	const char			*sp;
	struct pack			*bin = NULL;
	int				*binmiss = NULL, *bindec = NULL;
	size_t				 i;

	/*
	 * BINARY sections are decoded before anything of the response is
	 * written: one we cannot decode leaves the message out (RFC 3516
	 * 4.3) rather than half a FETCH response.
	 */
	for (i = 0; i < req->nparts && !fm->gone; i++) {
		part = &req->parts[i];
		if (part->kind != IMAP_FETCH_PART_BINARY &&
		    part->kind != IMAP_FETCH_PART_BINARY_SIZE)
			continue;
		if (bin == NULL) {
			bin = xcalloc(req->nparts, sizeof(*bin));
			binmiss = xcalloc(req->nparts, sizeof(*binmiss));
			bindec = xcalloc(req->nparts, sizeof(*bindec));
		}
		pack_init(&bin[i]);
		if ((binmiss[i] = fetch_binary_decode(fm, fr->paths[i],
		    &bin[i], &bindec[i])) == -1) {
			fr->unknown_cte = 1;
			goto out;
		}
	}
	sp = fetch_write_head(s, fr, seq, fm, flags_changed);
	/* Body items in the order asked for. */
	for (i = 0; i < req->nparts; i++) {
		part = &req->parts[i];
		if (fm->gone) {
			/* What Dovecot answers for content it no longer has. */
			imap_printf(s, "%s%s NIL", sp, part->name);
			sp = " ";
			continue;
		}
		/* bin is set when a BINARY item is (the loop above). */
		if (bin != NULL && (part->kind == IMAP_FETCH_PART_BINARY ||
		    part->kind == IMAP_FETCH_PART_BINARY_SIZE)) {
			imap_printf(s, "%s", sp);
			fetch_write_binary(s, part, &bin[i], binmiss[i],
			    bindec[i]);
			sp = " ";
			continue;
		}
		if (part->kind != IMAP_FETCH_PART_BODY) {
			if (fetch_write_rfc822(s, part, fm, sp))
				sp = " ";
			continue;
		}
		imap_printf(s, "%s", sp);
		fetch_write_section(s, part, fr->paths[i], fm);
		sp = " ";
	}
	imap_printf(s, ")\r\n");
out:
	if (bin != NULL) {
		for (i = 0; i < req->nparts; i++)
			if (bin[i].buf != NULL) {
				sodium_memzero(bin[i].buf, bin[i].len);
				pack_free(&bin[i]);
			}
		free(bin);
		free(binmiss);
		free(bindec);
	}
}

/*
 * RFC 3501 7.4.1: a message another session expunged keeps its sequence
 * number here until this session is sent the EXPUNGE, and FETCH answers
 * for it with what the view knows (UID, FLAGS, MODSEQ), NIL for content
 * that is gone, and OK [EXPUNGEISSUED] (RFC 5530), as Dovecot does; a
 * NO would make clients give up on the whole set.
 */
static void
fetch_write_gone(struct imap_session *s, struct fetch_req *fr, uint32_t seq,
    const struct imap_view_msg *vm)
{
	struct fetch_msg	 fm;

	memset(&fm, 0, sizeof(fm));
	fm.s = s;
	fm.gone = 1;
	fm.m.uid = vm->uid;
	fm.m.flags = vm->flags;
	fm.m.keywords = vm->keywords;
	fm.m.modseq = vm->modseq;
	fetch_write_msg(s, fr, seq, &fm, 0);
	if (fr->req.nparts > 0 || (fr->req.attrs & (IMAP_FETCH_INTERNALDATE |
	    IMAP_FETCH_RFC822_SIZE | FETCH_NEEDS_MIME)))
		fr->missing = 1;
}

/* ---- streaming a large message ---- */

/*
 * Another worker's EXPUNGE does not call our fetch_stream_blob_freed:
 * a lease in the store (store-lease.c) keeps the chunks for us until
 * the stream is over, whichever process frees the message, and none
 * is copied into our memory.  Taken in a transaction of its own, after
 * the one that opened the reader, so a standby (which cannot write)
 * still streams, only without it (the hook then holds the chunks of a
 * free in this process); a free by another process between the two
 * makes the message one that is gone (store_blob_lease_take() sees
 * it), answered as such before anything of it is written.  Without a
 * sync: a
 * lease is lost only with its process, and a lost drop is a dead
 * process's lease, swept at the next start.
 */
static int
fetch_stream_lease_take(struct store_txn *txn, void *arg)
{
	struct fetch_stream	*st = arg;

	return store_blob_lease_take(txn, store_blob_reader_account(
	    st->fm.reader), store_blob_reader_id(st->fm.reader));
}

static int
fetch_stream_lease_drop(struct store_txn *txn, void *arg)
{
	struct fetch_stream	*st = arg;

	return store_blob_lease_drop(txn, store_blob_reader_account(
	    st->fm.reader), store_blob_reader_id(st->fm.reader));
}

static void
fetch_stream_free(struct fetch_stream **stp)
{
	struct fetch_stream	*st = *stp;
	size_t			 i;
	int			 ret;

	if (st == NULL)
		return;
	if (st->prev != NULL)
		st->prev->next = st->next;
	else
		fetch_streams = st->next;
	if (st->next != NULL)
		st->next->prev = st->prev;
	sodium_memzero(st->chunk, VAULT_CHUNK);
	free(st->chunk);
	if (st->scratch != NULL) {
		sodium_memzero(st->scratch, VAULT_CHUNK);
		free(st->scratch);
	}
	if (st->bin != NULL) {
		for (i = 0; i < st->nparts; i++)
			free(st->bin[i].segs);
		free(st->bin);
	}
	if (st->dec_open)
		mime_decoder_clear(&st->dec);
	if (st->dout.buf != NULL)
		sodium_memzero(st->dout.buf, st->dout.len);
	pack_free(&st->dout);
	if (st->ev != NULL)
		event_free(st->ev);
	if (st->leased && (ret = store_txn_run_nosync(
	    st->s->imapd->daemon.store, fetch_stream_lease_drop, st)) != 0)
		log_warnx("%s: dropping the lease on a message read: %s "
		    "(its chunks wait for the next start)", st->s->conn->peer,
		    store_strerror(ret));
	fetch_msg_clear(&st->fm);
	free(st);
	*stp = NULL;
}

static void
fetch_stream_enter_phase(struct fetch_stream *st,
    enum fetch_stream_phase phase)
{
	log_debug("%s: fetch stream of uid %u: %s -> %s", st->s->conn->peer,
	    st->fm.m.uid, fetch_stream_phase_names[st->phase],
	    fetch_stream_phase_names[phase]);
	st->phase = phase;
}

/*
 * The store is about to delete a blob (an EXPUNGE or a DELETE in another
 * session): a stream reading it takes the sealed chunks it still needs,
 * so that the literal whose length went out already comes out whole
 * (RFC 3501 7.4.1 lets the data of a message this session has not been
 * told is gone be sent, and Dovecot does).  Only then does this session
 * hold more than a chunk of the message.
 */
static int
fetch_stream_blob_freed(struct store_txn *txn, uint64_t account_id,
    uint64_t blob_id, void *arg)
{
	struct fetch_stream	*st;
	uint32_t		 first;
	int			 ret;

	(void)arg;
	for (st = fetch_streams; st != NULL; st = st->next) {
		/* Its lease keeps the chunks in the store: none copied. */
		if (st->leased)
			continue;
		if (store_blob_reader_account(st->fm.reader) != account_id ||
		    store_blob_reader_id(st->fm.reader) != blob_id)
			continue;
		/*
		 * A later item may go back to any part of the message, and
		 * a BINARY item is walked twice.
		 */
		first = st->part < st->nparts || st->bin != NULL ? 0 :
		    (uint32_t)(st->pos / VAULT_CHUNK);
		if ((ret = store_blob_reader_hold(txn, st->fm.reader,
		    first)) != 0)
			return ret;
	}
	return 0;
}

/* A slice that wrote nothing (a count, a partial's skip) calls again. */
static void
fetch_stream_slice_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fetch_stream	*st = arg;

	(void)fd;
	(void)what;
	imap_session_more(st->s);
}

/*
 * Starts the response of fm, whose reader (and structure) it takes: 0
 * once started; 1 if a BINARY item has an encoding we cannot undo (RFC
 * 3516 4.3: the message is left out, nothing of it written); 2 if
 * another process freed it before its lease was taken (nothing written
 * either); -1 if the message could not be read.  fr->stream is set only
 * on 0.
 */
static int
fetch_stream_start(struct imap_session *s, struct fetch_req *fr, uint32_t seq,
    struct fetch_msg *fm, int flags_changed)
{
	struct fetch_stream	*st;
	size_t			 i;
	int			 ret;

	st = xcalloc(1, sizeof(*st));
	st->s = s;
	st->fm = *fm;
	fm->reader = NULL;
	fm->mime = NULL;
	fm->text = NULL;
	fm->shared = NULL;
	st->seq = seq;
	st->flags_changed = flags_changed;
	st->nparts = fr->req.nparts;
	st->chunk = xmalloc(VAULT_CHUNK);
	st->chunkno = UINT32_MAX;
	pack_init(&st->dout);
	st->next = fetch_streams;
	if (fetch_streams != NULL)
		fetch_streams->prev = st;
	fetch_streams = st;
	store_set_blob_freed(s->imapd->daemon.store, fetch_stream_blob_freed,
	    NULL);
	if ((ret = store_txn_run_nosync(s->imapd->daemon.store,
	    fetch_stream_lease_take, st)) == 0)
		st->leased = 1;
	else if (ret == STORE_ENOTFOUND) {
		/* Another process freed it since: gone, nothing written. */
		fetch_stream_free(&st);
		return 2;
	} else
		log_debug("%s: no lease on uid %u: %s", s->conn->peer,
		    st->fm.m.uid, store_strerror(ret));
	for (i = 0; i < st->nparts; i++) {
		if (!fetch_part_is_binary(&fr->req.parts[i]))
			continue;
		if (st->bin == NULL)
			st->bin = xcalloc(st->nparts, sizeof(*st->bin));
		if ((ret = fetch_stream_bin_plan(s, st, fr->paths[i],
		    &st->bin[i])) < 0) {
			fetch_stream_free(&st);
			if (ret == -1)
				fr->unknown_cte = 1;
			return ret == -1 ? 1 : -1;
		}
		st->bin[i].missing = ret == 1;
	}
	fr->stream = st;
	if ((st->ev = evtimer_new(s->conn->base, fetch_stream_slice_cb,
	    st)) == NULL)
		fatalx("evtimer_new");
	if (st->bin == NULL) {
		st->phase = FETCH_STREAM_WRITE;
		st->sp = fetch_write_head(s, fr, seq, &st->fm, flags_changed);
		return 0;
	}
	st->phase = FETCH_STREAM_COUNT;
	st->scratch = xmalloc(VAULT_CHUNK);
	return 0;
}

/* Where a body item lies in the message, as fetch_write_msg finds it. */
static void
fetch_stream_range(const struct fetch_stream *st,
    const struct imap_fetch_part *part, const char *path, uint64_t *offp,
    uint64_t *lenp)
{
	const struct mime_msg	*mime = st->fm.mime;
	uint64_t		 size = store_blob_reader_size(st->fm.reader);
	uint64_t		 off = 0, len = 0;

	switch (part->kind) {
	case IMAP_FETCH_PART_RFC822:
		len = size;
		break;
	case IMAP_FETCH_PART_RFC822_HEADER:
		off = mime->parts[0].hdr_off;
		len = mime->parts[0].hdr_len;
		break;
	case IMAP_FETCH_PART_RFC822_TEXT:
		off = mime->parts[0].body_off;
		len = mime->parts[0].body_len;
		break;
	default:
		/* RFC 3501 6.4.5: a part that does not exist is empty. */
		if (mime_section_range(mime, path, strlen(path),
		    fetch_section_map[part->text], &off, &len) != 0)
			off = len = 0;
		break;
	}
	if (off > size || len > size - off)
		off = len = 0;
	if (part->kind == IMAP_FETCH_PART_BODY)
		fetch_partial_clip(part, &off, &len);
	*offp = off;
	*lenp = len;
}

static int
fetch_stream_txn(struct store_txn *txn, void *arg)
{
	struct fetch_stream	*st = arg;
	int			 ret;

	st->chunkno = UINT32_MAX;
	if ((ret = store_blob_reader_chunk(txn, st->fm.reader, st->want,
	    st->chunk, &st->chunklen)) != 0)
		return ret;
	/* RFC 3501 4.3: no NUL in a literal; as fetch_msg_txn does. */
	if (!st->fm.keep_nuls)
		mime_nuls_replace(st->chunk, st->chunklen);
	st->chunkno = st->want;
	return 0;
}

/* Makes the chunk holding byte pos of the message st->chunk; -1 if unread. */
static int
fetch_stream_seek(struct imap_session *s, struct fetch_stream *st,
    uint64_t pos, size_t *inp)
{
	if (pos / VAULT_CHUNK != st->chunkno) {
		st->want = (uint32_t)(pos / VAULT_CHUNK);
		if (imap_txn(s, fetch_stream_txn, st) != 0)
			return -1;
	}
	if (pos - (uint64_t)st->chunkno * VAULT_CHUNK >= st->chunklen)
		return -1;
	*inp = (size_t)(pos - (uint64_t)st->chunkno * VAULT_CHUNK);
	return 0;
}

/*
 * [off, off+len) of the message into out (a header: at most about
 * MIME_MAX_HEADER, mail/mime.c); -1 if it could not be read.
 */
static int
fetch_stream_gather(struct imap_session *s, struct fetch_stream *st,
    uint64_t off, uint64_t len, struct pack *out)
{
	uint64_t	 pos;
	size_t		 in, n;

	for (pos = off; pos < off + len; pos += n) {
		if (fetch_stream_seek(s, st, pos, &in) == -1)
			return -1;
		n = st->chunklen - in;
		if (n > off + len - pos)
			n = (size_t)(off + len - pos);
		pack_raw(out, st->chunk + in, n);
	}
	return 0;
}

/*
 * HEADER.FIELDS and HEADER.FIELDS.NOT: the header is gathered and
 * filtered, as fetch_write_section does with the whole text.
 */
static int
fetch_stream_fields(struct imap_session *s, struct fetch_stream *st,
    const struct imap_fetch_part *part, const char *path)
{
	struct pack	 hdr, pk;
	uint64_t	 off, len, poff = 0, plen;
	uint64_t	 size = store_blob_reader_size(st->fm.reader);

	imap_printf(s, "%s%s ", st->sp, part->name);
	st->sp = " ";
	if (mime_section_range(st->fm.mime, path, strlen(path),
	    MIME_SECTION_HEADER, &off, &len) != 0 || off > size ||
	    len > size - off) {
		imap_printf(s, "{0}\r\n");
		return 0;
	}
	pack_init(&hdr);
	if (fetch_stream_gather(s, st, off, len, &hdr) == -1) {
		pack_free(&hdr);
		return -1;
	}
	pack_init(&pk);
	mime_header_fields(hdr.buf != NULL ? hdr.buf : (const uint8_t *)"",
	    hdr.len, (const char *const *)part->fields, part->nfields,
	    part->text == IMAP_SECTION_HEADER_FIELDS_NOT, &pk);
	plen = pk.len;
	fetch_partial_clip(part, &poff, &plen);
	imap_quote_literal(conn_out(s->conn), pk.buf + poff, (size_t)plen);
	pack_free(&pk);
	if (hdr.buf != NULL)
		sodium_memzero(hdr.buf, hdr.len);
	pack_free(&hdr);
	return 0;
}

/* ---- BINARY of a streamed message ---- */

static int
fetch_part_is_binary(const struct imap_fetch_part *part)
{
	return part->kind == IMAP_FETCH_PART_BINARY ||
	    part->kind == IMAP_FETCH_PART_BINARY_SIZE;
}

static void
fetch_bin_add(struct fetch_bin *b, enum fetch_seg_kind kind,
    enum fetch_cte cte, uint64_t off, uint64_t len)
{
	struct fetch_seg	*seg;

	if (len == 0 && kind != FETCH_SEG_HEADER)
		return;
	b->segs = xreallocarray(b->segs, b->nsegs + 1, sizeof(*b->segs));
	seg = &b->segs[b->nsegs++];
	seg->kind = kind;
	seg->enc = cte == FETCH_CTE_BASE64 ? MIME_DECODER_BASE64 :
	    cte == FETCH_CTE_QP ? MIME_DECODER_QP : MIME_DECODER_RAW;
	seg->off = off;
	seg->len = len;
}

/* p's Content-Transfer-Encoding, its header read; -1 if unreadable. */
static int
fetch_stream_cte(struct imap_session *s, struct fetch_stream *st,
    const struct mime_part *p, enum fetch_cte *ctep)
{
	struct pack	 hdr;

	pack_init(&hdr);
	if (fetch_stream_gather(s, st, p->hdr_off, p->hdr_len, &hdr) == -1) {
		pack_free(&hdr);
		return -1;
	}
	*ctep = fetch_part_cte(hdr.buf != NULL ? hdr.buf :
	    (const uint8_t *)"", p);
	pack_free(&hdr);
	return 0;
}

/*
 * The segments of a BINARY section, as fetch_binary_decode() would
 * write it from the whole text: 0 with b's plan; 1 for a part that
 * does not exist; -1 for an encoding we cannot undo; -2 if the message
 * could not be read.
 */
static int
fetch_stream_bin_plan(struct imap_session *s, struct fetch_stream *st,
    const char *path, struct fetch_bin *b)
{
	const struct mime_msg	*mime = st->fm.mime;
	const struct mime_part	*p, *q;
	uint64_t		 size = store_blob_reader_size(st->fm.reader);
	uint64_t		 start, end, pos;
	uint32_t		 i, first;
	enum fetch_cte		 cte;

	if (mime == NULL || (p = mime_part_find(mime, path,
	    strlen(path))) == NULL || p->body_off + p->body_len > size)
		return 1;
	if (path[0] != '\0' && !(p->flags &
	    (MIME_PART_MULTIPART | MIME_PART_RFC822))) {
		if (fetch_stream_cte(s, st, p, &cte) == -1)
			return -2;
		if (cte == FETCH_CTE_UNKNOWN)
			return -1;
		/* Like Dovecot: a literal8 for a part with NULs in it. */
		b->decoded = cte != FETCH_CTE_NONE ||
		    (p->flags & MIME_PART_HAS_NULS);
		fetch_bin_add(b, cte == FETCH_CTE_NONE ? FETCH_SEG_RAW :
		    FETCH_SEG_DECODE, cte, p->body_off, p->body_len);
		return 0;
	}
	first = (uint32_t)(p - mime->parts);
	start = path[0] == '\0' ? 0 : p->body_off;
	end = p->body_off + p->body_len;
	pos = start;
	for (i = first; i < mime->nparts; i++) {
		q = &mime->parts[i];
		if (q->hdr_off < start || q->body_off + q->body_len > end ||
		    q->hdr_off < pos || (i == first && path[0] != '\0'))
			continue;
		if (q->flags & (MIME_PART_MULTIPART | MIME_PART_RFC822))
			continue;	/* never encoded (fetch_part_cte) */
		if (fetch_stream_cte(s, st, q, &cte) == -1)
			return -2;
		if (cte == FETCH_CTE_UNKNOWN)
			return -1;
		if (cte == FETCH_CTE_NONE)
			continue;
		fetch_bin_add(b, FETCH_SEG_RAW, cte, pos, q->hdr_off - pos);
		fetch_bin_add(b, FETCH_SEG_HEADER, cte, q->hdr_off, q->hdr_len);
		fetch_bin_add(b, FETCH_SEG_DECODE, cte, q->body_off,
		    q->body_len);
		pos = q->body_off + q->body_len;
		b->decoded = 1;
	}
	fetch_bin_add(b, FETCH_SEG_RAW, FETCH_CTE_NONE, pos, end - pos);
	return 0;
}

/*
 * Decoded sizes counted, by message and section: a message's content
 * never changes, so an entry is never stale, only pushed out.  Only
 * what tells the literal's form without the window (decoded, or no NUL
 * at all) is kept.
 */
#define FETCH_SIZE_MEMO		16

struct fetch_size_memo {
	uint64_t	 account_id;
	uint64_t	 blob_id;	/* 0: empty */
	char		 path[48];
	uint64_t	 size;
	int		 anynul;
};

static struct fetch_size_memo	fetch_size_memo[FETCH_SIZE_MEMO];
static size_t			fetch_size_memo_next;

static int
fetch_size_memo_get(const struct fetch_stream *st, const char *path,
    struct fetch_bin *b)
{
	const struct fetch_size_memo	*m;
	size_t				 i;

	for (i = 0; i < FETCH_SIZE_MEMO; i++) {
		m = &fetch_size_memo[i];
		if (m->blob_id != 0 && m->blob_id == st->fm.m.blob_id &&
		    m->account_id == st->s->account_id &&
		    strcmp(m->path, path) == 0) {
			b->size = m->size;
			b->anynul = m->anynul;
			b->winnul = 0;
			return 1;
		}
	}
	return 0;
}

static void
fetch_size_memo_put(const struct fetch_stream *st, const char *path,
    const struct fetch_bin *b)
{
	struct fetch_size_memo	*m;

	if (strlen(path) >= sizeof(m->path) || (!b->decoded && b->anynul))
		return;
	m = &fetch_size_memo[fetch_size_memo_next];
	fetch_size_memo_next = (fetch_size_memo_next + 1) % FETCH_SIZE_MEMO;
	m->account_id = st->s->account_id;
	m->blob_id = st->fm.m.blob_id;
	memcpy(m->path, path, strlen(path) + 1);
	m->size = b->size;
	m->anynul = b->anynul;
}

/* The walk of the active item is over, whole or at its window's end. */
static void
fetch_stream_bin_end(struct fetch_stream *st)
{
	if (st->dec_open)
		mime_decoder_clear(&st->dec);
	st->dec_open = 0;
	st->seg_open = 0;
	st->active = NULL;
}

/* The walk of b begins; of what it gives, [win_off, win_end) matters. */
static void
fetch_stream_bin_begin(struct fetch_stream *st, struct fetch_bin *b,
    uint64_t win_off, uint64_t win_end)
{
	fetch_stream_bin_end(st);
	st->active = b;
	st->seg = 0;
	st->seg_open = 0;
	st->opos = 0;
	st->win_off = win_off;
	st->win_end = win_end;
}

/*
 * n bytes of the active item's data: counted, or written where they
 * fall inside the window (a partial, RFC 3516 4.2 with RFC 3501 6.4.5).
 */
static void
fetch_stream_bin_emit(struct imap_session *s, struct fetch_stream *st,
    const uint8_t *p, size_t n)
{
	struct fetch_bin	*b = st->active;
	uint64_t		 from = st->opos, lo, hi;

	if (n == 0)
		return;
	st->opos += n;
	lo = from > st->win_off ? from : st->win_off;
	hi = st->opos < st->win_end ? st->opos : st->win_end;
	if (st->phase == FETCH_STREAM_COUNT) {
		b->size += n;
		if (!b->anynul && memchr(p, '\0', n) != NULL)
			b->anynul = 1;
		if (lo < hi && !b->winnul &&
		    memchr(p + (lo - from), '\0', (size_t)(hi - lo)) != NULL)
			b->winnul = 1;
		return;
	}
	if (lo < hi)
		imap_write(s, p + (lo - from), (size_t)(hi - lo));
}

/* Wipes what a piece decoded to. */
static void
fetch_stream_dout_reset(struct fetch_stream *st)
{
	if (st->dout.buf != NULL)
		sodium_memzero(st->dout.buf, st->dout.len);
	st->dout.len = 0;
}

/*
 * Walks the active item a few chunks on (*turnp counts them): 1 once
 * all of it is counted or written, 0 to go on later, -1 if the message
 * could not be read.  The decoder holds less than a chunk's worth.
 */
static int
fetch_stream_bin_run(struct imap_session *s, struct fetch_stream *st,
    unsigned int *turnp)
{
	struct fetch_bin	*b = st->active;
	const struct fetch_seg	*seg;
	struct pack		 hdr;
	size_t			 in, n;

	for (;;) {
		/* What is past the window is not decoded at all. */
		if (st->phase == FETCH_STREAM_WRITE && st->opos >= st->win_end)
			return 1;
		if (st->seg == b->nsegs)
			return 1;
		seg = &b->segs[st->seg];
		if (seg->kind == FETCH_SEG_HEADER) {
			pack_init(&hdr);
			if (fetch_stream_gather(s, st, seg->off, seg->len,
			    &hdr) == -1) {
				pack_free(&hdr);
				return -1;
			}
			fetch_stream_dout_reset(st);
			fetch_binary_header(hdr.buf != NULL ? hdr.buf :
			    (const uint8_t *)"", hdr.len, &st->dout);
			fetch_stream_bin_emit(s, st, st->dout.buf, st->dout.len);
			pack_free(&hdr);
			st->seg++;
			continue;
		}
		if (!st->seg_open) {
			st->bpos = seg->off;
			if (seg->kind == FETCH_SEG_DECODE) {
				mime_decoder_init_transfer(&st->dec, seg->enc);
				st->dec_open = 1;
			}
			st->seg_open = 1;
		}
		if (st->bpos == seg->off + seg->len) {
			if (st->dec_open) {
				fetch_stream_dout_reset(st);
				mime_decoder_finish(&st->dec, &st->dout);
				fetch_stream_bin_emit(s, st, st->dout.buf,
				    st->dout.len);
				mime_decoder_clear(&st->dec);
				st->dec_open = 0;
			}
			st->seg_open = 0;
			st->seg++;
			continue;
		}
		if ((st->phase == FETCH_STREAM_WRITE && imap_output_full(s)) ||
		    *turnp == FETCH_STREAM_TURN)
			return 0;
		if (st->bpos / VAULT_CHUNK != st->chunkno)
			(*turnp)++;
		if (fetch_stream_seek(s, st, st->bpos, &in) == -1)
			return -1;
		n = st->chunklen - in;
		if (n > seg->off + seg->len - st->bpos)
			n = (size_t)(seg->off + seg->len - st->bpos);
		if (st->dec_open) {
			fetch_stream_dout_reset(st);
			mime_decoder_feed(&st->dec, &st->dout, st->chunk + in, n);
			fetch_stream_bin_emit(s, st, st->dout.buf, st->dout.len);
		} else
			fetch_stream_bin_emit(s, st, st->chunk + in, n);
		st->bpos += n;
	}
}

/*
 * The count phase: the size of each BINARY item, a turn's worth of
 * chunks at a time.  1 once all are known, 0 to go on at the next
 * slice, -1 if the message could not be read.
 */
static int
fetch_stream_count(struct imap_session *s, struct fetch_req *fr,
    struct fetch_stream *st)
{
	const struct imap_fetch_part	*part;
	struct fetch_bin		*b;
	unsigned int			 turn = 0;
	int				 ret;

	for (; st->counting < st->nparts; st->counting++) {
		part = &fr->req.parts[st->counting];
		b = &st->bin[st->counting];
		if (!fetch_part_is_binary(part) || b->missing || b->counted)
			continue;
		if (st->active != b) {
			if (fetch_size_memo_get(st, fr->paths[st->counting],
			    b)) {
				b->counted = 1;
				continue;
			}
			/* The window the NUL check needs (fetch_write_binary). */
			fetch_stream_bin_begin(st, b, part->partial ?
			    part->offset : 0, part->partial ?
			    (uint64_t)part->offset + part->length : UINT64_MAX);
		}
		if ((ret = fetch_stream_bin_run(s, st, &turn)) != 1)
			return ret;
		fetch_stream_bin_end(st);
		b->counted = 1;
		fetch_size_memo_put(st, fr->paths[st->counting], b);
	}
	return 1;
}

/* A BINARY or BINARY.SIZE item's name and literal head; its data next. */
static void
fetch_stream_bin_item(struct imap_session *s, struct fetch_stream *st,
    const struct imap_fetch_part *part, struct fetch_bin *b)
{
	uint64_t	 off = 0, len = b->size;

	imap_printf(s, "%s%s ", st->sp, part->name);
	st->sp = " ";
	if (part->kind == IMAP_FETCH_PART_BINARY_SIZE) {
		imap_printf(s, "%llu", (unsigned long long)(b->missing ? 0 :
		    b->size));
		return;
	}
	if (b->missing) {
		/* As fetch_write_binary() says. */
		imap_printf(s, "{0}\r\n");
		return;
	}
	fetch_partial_clip(part, &off, &len);
	/* Like Dovecot, decoded content goes as a literal8 in any case. */
	imap_printf(s, "%s{%llu}\r\n", b->decoded || b->winnul ? "~" : "",
	    (unsigned long long)len);
	if (len > 0)
		fetch_stream_bin_begin(st, b, off, off + len);
}

/*
 * Writes [pos, end) of the current chunk as part of a BODY item; in a
 * stream that keeps NULs for BINARY, with them replaced (RFC 3501 4.3).
 */
static void
fetch_stream_write_body(struct imap_session *s, struct fetch_stream *st,
    const uint8_t *p, size_t n)
{
	if (st->fm.keep_nuls && memchr(p, '\0', n) != NULL) {
		memcpy(st->scratch, p, n);
		mime_nuls_replace(st->scratch, n);
		p = st->scratch;
	}
	imap_write(s, p, n);
}

/*
 * After a turn that stopped (ret 0) with the output below its high
 * mark: what it did wrote too little for the output's draining to call
 * again (a count writes nothing, a partial skips what is before its
 * window), so a timer does.  A timer and not event_active(), as
 * cmd-search.c says: the other sessions' events run first.
 */
static void
fetch_stream_later(struct imap_session *s, struct fetch_stream *st, int ret)
{
	struct timeval	 now = { 0, 0 };

	if (ret == 0 && !imap_output_full(s))
		evtimer_add(st->ev, &now);
}

/*
 * Writes on while the output has room: 1 once the response is whole, 0
 * to be called again when the output drained, -1 if the message could
 * not be read.
 */
static int
fetch_stream_pump(struct imap_session *s, struct fetch_req *fr)
{
	struct fetch_stream		*st = fr->stream;
	const struct imap_fetch_part	*part;
	const char			*path;
	uint64_t			 off, len;
	size_t				 in, n;
	unsigned int			 turn = 0;
	int				 ret;

	if (st->phase == FETCH_STREAM_COUNT) {
		if ((ret = fetch_stream_count(s, fr, st)) != 1) {
			fetch_stream_later(s, st, ret);
			return ret;
		}
		fetch_stream_enter_phase(st, FETCH_STREAM_WRITE);
		st->sp = fetch_write_head(s, fr, st->seq, &st->fm,
		    st->flags_changed);
		turn = 0;
	}
	for (;;) {
		if (st->active != NULL) {
			if ((ret = fetch_stream_bin_run(s, st, &turn)) != 1) {
				fetch_stream_later(s, st, ret);
				return ret;
			}
			fetch_stream_bin_end(st);
			continue;
		}
		if (st->pos < st->end) {
			if (imap_output_full(s) || turn == FETCH_STREAM_TURN)
				return 0;
			if (st->pos / VAULT_CHUNK != st->chunkno)
				turn++;
			if (fetch_stream_seek(s, st, st->pos, &in) == -1)
				return -1;
			n = st->chunklen - in;
			if (n > st->end - st->pos)
				n = (size_t)(st->end - st->pos);
			fetch_stream_write_body(s, st, st->chunk + in, n);
			st->pos += n;
			continue;
		}
		if (st->part == st->nparts) {
			imap_printf(s, ")\r\n");
			return 1;
		}
		part = &fr->req.parts[st->part];
		path = fr->paths[st->part];
		st->part++;
		if (fetch_part_is_binary(part)) {
			fetch_stream_bin_item(s, st, part,
			    &st->bin[st->part - 1]);
			continue;
		}
		if (part->kind == IMAP_FETCH_PART_BODY &&
		    (part->text == IMAP_SECTION_HEADER_FIELDS ||
		    part->text == IMAP_SECTION_HEADER_FIELDS_NOT)) {
			if (fetch_stream_fields(s, st, part, path) == -1)
				return -1;
			continue;
		}
		fetch_stream_range(st, part, path, &off, &len);
		imap_printf(s, "%s%s {%llu}\r\n", st->sp, part->name,
		    (unsigned long long)len);
		st->sp = " ";
		st->pos = off;
		st->end = off + len;
	}
}

static enum imap_cmd_status
fetch_run(struct imap_session *s, struct fetch_req *fr)
{
	const struct imap_fetch_request *req = &fr->req;
	struct fetch_msg	 fm;
	struct imap_view_msg	*vm;
	uint32_t		 seq, done = 0, oldflags;
	uint64_t		 oldkw;
	size_t			 i;
	int			 ret;

	memset(&fm, 0, sizeof(fm));
	fm.s = s;
	/* RFC822 alone needs the text only; every other body item a split. */
	fm.want_mime = (req->attrs & FETCH_NEEDS_MIME) != 0;
	fm.want_text = req->nparts > 0;
	for (i = 0; i < req->nparts; i++)
		if (req->parts[i].kind != IMAP_FETCH_PART_RFC822)
			fm.want_mime = 1;
	fm.root_only = fm.want_mime && fm.want_text &&
	    (req->attrs & FETCH_NEEDS_MIME) == 0;
	for (i = 0; i < req->nparts; i++)
		if (req->parts[i].depth > 0)
			fm.root_only = 0;
	fm.set_seen = req->sets_seen && !s->view.readonly;
	/* BINARY[] decodes the parts inside: it needs the whole tree. */
	for (i = 0; i < req->nparts; i++)
		if (req->parts[i].kind == IMAP_FETCH_PART_BINARY ||
		    req->parts[i].kind == IMAP_FETCH_PART_BINARY_SIZE) {
			fm.keep_nuls = 1;
			fm.root_only = 0;
		}
	/*
	 * What is streamed is ranges of the message as stored, and BINARY
	 * sections decoded from them in pieces.
	 */
	fm.stream_ok = req->nparts > 0;
next:
	if (fr->stream != NULL && s->state == S_LOGOUT) {
		/* Revoked (imap_session_revoke): no more of it goes out. */
		fetch_stream_free(&fr->stream);
		return CMD_DONE;
	}
	if (fr->stream != NULL) {
		if ((ret = fetch_stream_pump(s, fr)) == 0)
			return CMD_MORE;
		fetch_stream_free(&fr->stream);
		if (ret == -1) {
			/*
			 * A literal's length went out already: nothing but
			 * closing tells the client its data is not whole.
			 */
			log_warnx("%s: message unreadable in the middle of a "
			    "FETCH: closing", s->conn->peer);
			imap_session_enter_state(s, S_LOGOUT);
			return CMD_DONE;
		}
	}
	/* Only the set's messages, each found by a binary search. */
	for (seq = fr->next; (seq = imap_view_next_in_set(&s->view, fr->set,
	    fr->uid_mode, seq)) != 0; seq++) {
		vm = &s->view.msgs[seq - 1];
		/* RFC 7162 3.1.4.1: only what changed after CHANGEDSINCE. */
		if (req->changedsince_set && vm->modseq <= req->changedsince)
			continue;
		if (vm->expunged) {
			fetch_write_gone(s, fr, seq, vm);
			continue;
		}
		if (done == FETCH_BATCH || imap_output_full(s)) {
			fr->next = seq;
			return CMD_MORE;
		}
		fm.uid = vm->uid;
		oldflags = vm->flags;
		oldkw = vm->keywords;
		ret = imap_txn(s, fetch_msg_txn, &fm);
		if (ret == STORE_ENOTFOUND) {
			fetch_msg_clear(&fm);
			fetch_write_gone(s, fr, seq, vm);
			continue;
		}
		if (ret != 0) {
			fr->failed = ret;
			fetch_msg_clear(&fm);
			break;
		}
		/* Our own \Seen: report it here, not again as an update. */
		imap_view_update(&s->view, seq, &fm.m);
		if (fm.reader != NULL) {
			ret = fetch_stream_start(s, fr, seq, &fm, fm.m.flags !=
			    oldflags || fm.m.keywords != oldkw);
			fr->next = seq + 1;
			done++;
			if (ret == 0)
				goto next;
			if (ret == 2) {
				fetch_write_gone(s, fr, seq, vm);
				continue;
			}
			if (ret == -1) {
				/* Nothing of it went out yet. */
				fr->failed = STORE_ECORRUPT;
				break;
			}
			continue;	/* RFC 3516 4.3: left out */
		}
		fetch_write_msg(s, fr, seq, &fm, fm.m.flags != oldflags ||
		    fm.m.keywords != oldkw);
		fetch_msg_clear(&fm);
		done++;
	}
	fr->next = s->view.count + 1;
	if (fr->failed)
		imap_tagged_store_error(s, fr->failed);
	else if (fr->unknown_cte)
		imap_tagged(s, "NO", "[UNKNOWN-CTE] A part has a "
		    "Content-Transfer-Encoding that cannot be decoded");
	else if (fr->missing)
		imap_tagged(s, "OK", "[EXPUNGEISSUED] Some messages were "
		    "expunged");
	else
		imap_tagged(s, "OK", "Fetch completed");
	return CMD_DONE;
}

struct fetch_vanished {
	struct imap_seqset	*set;
	uint32_t		*uids;
	size_t			 n;
};

static int
fetch_vanished_one(uint32_t uid, uint64_t modseq, int expunged, void *arg)
{
	struct fetch_vanished	*fv = arg;

	if (expunged && imap_seqset_contains(fv->set, uid)) {
		fv->uids = xreallocarray(fv->uids, fv->n + 1, sizeof(*fv->uids));
		fv->uids[fv->n++] = uid;
	}
	return 0;
}

struct fetch_vanished_arg {
	struct imap_session	*s;
	struct fetch_req	*fr;
	struct fetch_vanished	 fv;
};

static int
fetch_vanished_txn(struct store_txn *txn, void *arg)
{
	struct fetch_vanished_arg *va = arg;

	free(va->fv.uids);
	va->fv.uids = NULL;
	va->fv.n = 0;
	va->fv.set = va->fr->set;
	return store_changes_iter(txn, va->s->account_id, va->s->view.mailbox_id,
	    va->fr->req.changedsince, fetch_vanished_one, &va->fv);
}

/* Expunged UIDs the view never saw, sorted by the MODSEQ walk: sort. */
static int
fetch_uid_cmp(const void *a, const void *b)
{
	uint32_t	 x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

enum imap_cmd_status
cmd_fetch(struct imap_session *s, const struct imap_command *cmd)
{
	struct fetch_req	*fr = s->cmd_state;
	const struct imap_arg	*a = cmd->args;
	const char		*set, *why;
	size_t			 i;
	int			 uid_mode = s->cmd_uid;

	if (fr != NULL)
		return fetch_run(s, fr);	/* the output drained */
	if (!imap_arg_get_atom(&a[0], &set) || imap_arg_is_eol(&a[1])) {
		imap_tagged(s, "BAD", "FETCH takes a sequence set and items");
		return CMD_DONE;
	}
	fr = xcalloc(1, sizeof(*fr));
	fr->uid_mode = uid_mode;
	fr->next = 1;
	s->cmd_state = fr;
	s->cmd_state_free = fetch_req_free;
	if ((fr->set = imap_set_arg(s, set, uid_mode)) == NULL) {
		imap_tagged(s, "BAD", "Invalid sequence set");
		return CMD_DONE;
	}
	/* The grammar is imap-fetch-parse.c's, the same the fuzzer runs. */
	if (imap_fetch_parse(&a[1], uid_mode, &fr->req, &why) == -1) {
		imap_tagged(s, "BAD", "%s", why);
		return CMD_DONE;
	}
	/* RFC 7162 3.2.6: VANISHED only once QRESYNC is enabled. */
	if (fr->req.vanished && !s->qresync) {
		imap_tagged(s, "BAD", "VANISHED needs ENABLE QRESYNC");
		return CMD_DONE;
	}
	/*
	 * RFC 7162 3.1: CHANGEDSINCE and the MODSEQ item make FETCH a
	 * CONDSTORE enabling command.
	 */
	if (fr->req.changedsince_set || (fr->req.attrs & IMAP_FETCH_MODSEQ))
		imap_session_condstore(s);
	fr->paths = xcalloc(fr->req.nparts > 0 ? fr->req.nparts : 1,
	    sizeof(*fr->paths));
	for (i = 0; i < fr->req.nparts; i++)
		fr->paths[i] = fetch_path_format(&fr->req.parts[i]);
	if (fr->req.vanished) {
		struct fetch_vanished_arg va;
		int		 ret;

		memset(&va, 0, sizeof(va));
		va.s = s;
		va.fr = fr;
		if ((ret = imap_txn(s, fetch_vanished_txn, &va)) != 0) {
			free(va.fv.uids);
			imap_tagged_store_error(s, ret);
			return CMD_DONE;
		}
		if (va.fv.n > 0) {
			qsort(va.fv.uids, va.fv.n, sizeof(*va.fv.uids),
			    fetch_uid_cmp);
			imap_printf(s, "* VANISHED (EARLIER) ");
			imap_set_write_list(conn_out(s->conn), va.fv.uids,
			    va.fv.n);
			imap_printf(s, "\r\n");
		}
		free(va.fv.uids);
	}
	return fetch_run(s, fr);
}
