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
 * stay the loop's alone.
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

static void	fetch_stream_free(struct fetch_stream **);

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
	/* Its body items may be streamed (no BINARY). */
	int			 stream_ok;
	struct store_blob_reader *reader;	/* to be streamed, if set */
};

/*
 * A large message's response being written: the rest of its body items
 * from part on, and of the literal being written, [pos, end) of the
 * message.  On fetch_streams while it lives (fetch_stream_blob_freed).
 */
struct fetch_stream {
	struct fetch_stream	*prev, *next;
	struct fetch_msg	 fm;		/* its reader and MIME structure */
	size_t			 part;		/* the next body item */
	size_t			 nparts;
	const char		*sp;
	uint64_t		 pos, end;
	uint8_t			*chunk;		/* VAULT_CHUNK bytes, NULs replaced */
	size_t			 chunklen;
	uint32_t		 chunkno;	/* the chunk it holds, or UINT32_MAX */
	uint32_t		 want;		/* for fetch_stream_txn */
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
fetch_part_cte(const struct fetch_msg *fm, const struct mime_part *p)
{
	enum fetch_cte	 r = FETCH_CTE_UNKNOWN;
	char		*v, *cte;
	size_t		 len;

	/* RFC 2045 6.4: a multipart or message is never encoded. */
	if (p->flags & (MIME_PART_MULTIPART | MIME_PART_RFC822))
		return FETCH_CTE_NONE;
	if ((v = mime_header_get(fm->text + p->hdr_off, (size_t)p->hdr_len,
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
	struct mime_header_iter	 it;
	struct mime_header	 h;
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
		if ((cte = fetch_part_cte(fm, p)) == FETCH_CTE_UNKNOWN)
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
		if ((cte = fetch_part_cte(fm, q)) == FETCH_CTE_UNKNOWN)
			return -1;
		if (cte == FETCH_CTE_NONE)
			continue;
		pack_raw(out, fm->text + pos, (size_t)(q->hdr_off - pos));
		mime_header_iter_init(&it, fm->text + q->hdr_off,
		    (size_t)q->hdr_len);
		while (mime_header_iter_next(&it, &h))
			if (!mime_header_name_is(&h,
			    "Content-Transfer-Encoding"))
				pack_raw(out, h.line, h.line_len);
		pack_raw(out, "Content-Transfer-Encoding: binary\r\n\r\n",
		    strlen("Content-Transfer-Encoding: binary\r\n\r\n"));
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
		imap_printf(s, "%s", part->partial ? "{0}\r\n" : "NIL");
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

static void
fetch_stream_free(struct fetch_stream **stp)
{
	struct fetch_stream	*st = *stp;

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
	fetch_msg_clear(&st->fm);
	free(st);
	*stp = NULL;
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
		if (store_blob_reader_account(st->fm.reader) != account_id ||
		    store_blob_reader_id(st->fm.reader) != blob_id)
			continue;
		/* A later item may go back to any part of the message. */
		first = st->part < st->nparts ? 0 :
		    (uint32_t)(st->pos / VAULT_CHUNK);
		if ((ret = store_blob_reader_hold(txn, st->fm.reader,
		    first)) != 0)
			return ret;
	}
	return 0;
}

/* Starts the response of fm, whose reader (and structure) it takes. */
static void
fetch_stream_start(struct imap_session *s, struct fetch_req *fr, uint32_t seq,
    struct fetch_msg *fm, int flags_changed)
{
	struct fetch_stream	*st;

	st = xcalloc(1, sizeof(*st));
	st->fm = *fm;
	fm->reader = NULL;
	fm->mime = NULL;
	fm->text = NULL;
	fm->shared = NULL;
	st->nparts = fr->req.nparts;
	st->chunk = xmalloc(VAULT_CHUNK);
	st->chunkno = UINT32_MAX;
	st->next = fetch_streams;
	if (fetch_streams != NULL)
		fetch_streams->prev = st;
	fetch_streams = st;
	store_set_blob_freed(s->imapd->daemon.store, fetch_stream_blob_freed,
	    NULL);
	fr->stream = st;
	st->sp = fetch_write_head(s, fr, seq, &st->fm, flags_changed);
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
 * HEADER.FIELDS and HEADER.FIELDS.NOT: the header is gathered (at most
 * about MIME_MAX_HEADER, mail/mime.c) and filtered, as
 * fetch_write_section does with the whole text.
 */
static int
fetch_stream_fields(struct imap_session *s, struct fetch_stream *st,
    const struct imap_fetch_part *part, const char *path)
{
	struct pack	 hdr, pk;
	uint64_t	 off, len, pos, poff = 0, plen;
	uint64_t	 size = store_blob_reader_size(st->fm.reader);
	size_t		 in, n;

	imap_printf(s, "%s%s ", st->sp, part->name);
	st->sp = " ";
	if (mime_section_range(st->fm.mime, path, strlen(path),
	    MIME_SECTION_HEADER, &off, &len) != 0 || off > size ||
	    len > size - off) {
		imap_printf(s, "{0}\r\n");
		return 0;
	}
	pack_init(&hdr);
	for (pos = off; pos < off + len; pos += n) {
		if (fetch_stream_seek(s, st, pos, &in) == -1) {
			pack_free(&hdr);
			return -1;
		}
		n = st->chunklen - in;
		if (n > off + len - pos)
			n = (size_t)(off + len - pos);
		pack_raw(&hdr, st->chunk + in, n);
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

	for (;;) {
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
			imap_write(s, st->chunk + in, n);
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
	 * What is streamed is ranges of the message as stored; BINARY
	 * decodes from the whole text.
	 */
	fm.stream_ok = req->nparts > 0 && !fm.keep_nuls;
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
			fetch_stream_start(s, fr, seq, &fm, fm.m.flags !=
			    oldflags || fm.m.keywords != oldkw);
			fr->next = seq + 1;
			done++;
			goto next;
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
