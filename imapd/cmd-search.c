/*
 * cmd-search.c: SEARCH and UID SEARCH (RFC 3501 6.4.4), ESEARCH return
 * options (RFC 4731), SEARCHRES (RFC 5182) and MODSEQ (RFC 7162 3.1.5).
 *
 * imap-search-parse.c (unit-tested and fuzzed) reads the program into a
 * tree bounded in depth and size; this file tests each message of the
 * view against it.  Keys on headers and text decrypt
 * the message; strings match case-insensitively as substrings of the
 * decoded text (encoded words, transfer encodings and charsets undone;
 * see imap-text.c).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <sodium.h>

#include "imap-flags.h"
#include "imap-search-parse.h"
#include "imap-search.h"
#include "imap-seqset.h"
#include "imap-text.h"
#include "imapd.h"
#include "log.h"
#include "mime-cache.h"
#include "mime-decode.h"
#include "mime.h"
#include "pack.h"
#include "rfc5322.h"
#include "xmalloc.h"

/* Its rows' handlers and hooks (imap-commands.c). */
imap_cmd_fn	cmd_search;

struct search_msg;
struct search_run;

static void	search_prepare(struct search_run *, struct imap_search_key *);
static int	search_match(const struct imap_search_key *,
		    struct search_msg *);
static int	search_match_partial(const struct imap_search_key *,
		    struct search_msg *);

/* ---- evaluation ---- */

/*
 * What a key returns when the message's part it tests has not been read
 * yet (a large message read in pieces, or none yet): AND, OR and NOT
 * pass it on unless the other keys decide.
 */
#define SEARCH_UNKNOWN		(-1)

struct search_msg {
	uint32_t		 seq;
	int			 recent;	/* \Recent in this session */
	const struct store_msg	*m;
	struct imap_view	*view;
	const uint8_t		*text;		/* NULL: keys need no text */
	size_t			 textlen;
	/*
	 * The message is read in pieces (or not yet): text is its header
	 * alone, or NULL while that is unread; the BODY and TEXT keys ask
	 * scan, and are unknown until it has found their needle or ended.
	 */
	int			 partial;
	const struct search_run	*run;
	const struct search_scan *scan;
	struct mime_msg		*mime;		/* lazily: BODY and TEXT only */
	int			 hdr_known;
	size_t			 hdr_len;	/* top-level header, lazily */
	char			*body;		/* folded decoded text, lazily */
	char			*header;	/* folded decoded header */
};

/*
 * The MIME structure, parsed on first use.  Only BODY and TEXT need it:
 * a full parse also builds ENVELOPE and BODYSTRUCTURE and costs far more
 * than the decryption (bench/bench-imap: SEARCH SUBJECT over 200 messages
 * spent most of its time there).
 */
static const struct mime_msg *
search_msg_mime(struct search_msg *sm)
{
	if (sm->mime == NULL && sm->text != NULL)
		sm->mime = mime_parse(sm->text, sm->textlen);
	return sm->mime;
}

/* The length of the top-level header, with its blank line. */
static int
search_msg_header_len(struct search_msg *sm, size_t *lenp)
{
	uint64_t	 end;

	if (sm->text == NULL)
		return -1;
	if (!sm->hdr_known) {
		if (sm->mime == NULL &&
		    mime_header_end(sm->text, sm->textlen, &end) == 0)
			sm->hdr_len = (size_t)end;
		else if (search_msg_mime(sm) != NULL)
			sm->hdr_len = (size_t)sm->mime->parts[0].hdr_len;
		else
			return -1;
		sm->hdr_known = 1;
	}
	*lenp = sm->hdr_len;
	return 0;
}

static time_t
search_day(time_t t)
{
	return t - (t % 86400 + 86400) % 86400;
}

/*
 * RFC 3501 6.4.4: SENT* compare the date of the Date: header
 * "disregarding time and timezone", that is the date as written, in the
 * header's own zone (as Dovecot does): *tp is that wall-clock time read
 * as UTC.
 */
static int
search_sent_date(struct search_msg *sm, time_t *tp)
{
	char	*v;
	size_t	 len, hlen;
	int	 ret, zone;

	if (search_msg_header_len(sm, &hlen) == -1)
		return -1;
	v = mime_header_get(sm->text, hlen, "Date", &len);
	if (v == NULL)
		return -1;
	ret = rfc5322_date_parse_zone(v, tp, &zone);
	free(v);
	if (ret == 0)
		*tp += zone;
	return ret;
}

/* Midnight UTC of a SEARCH date (RFC 3501 6.4.4 disregards time). */
static time_t
search_key_day(const struct imap_search_key *key)
{
	return (time_t)(imap_search_date_days(&key->date) * 86400);
}

/* A flag of the key as the store's bit; 0 for \Recent, the session's. */
static uint32_t
search_flag_bit(unsigned int flag)
{
	switch (flag) {
	case IMAP_SEARCH_FLAG_ANSWERED:
		return STORE_F_ANSWERED;
	case IMAP_SEARCH_FLAG_DELETED:
		return STORE_F_DELETED;
	case IMAP_SEARCH_FLAG_DRAFT:
		return STORE_F_DRAFT;
	case IMAP_SEARCH_FLAG_FLAGGED:
		return STORE_F_FLAGGED;
	case IMAP_SEARCH_FLAG_SEEN:
		return STORE_F_SEEN;
	default:
		return 0;
	}
}

/* The field a string key looks in (RFC 3501 6.4.4). */
static const char *
search_key_field(const struct imap_search_key *key)
{
	switch (key->type) {
	case IMAP_SEARCH_BCC:
		return "Bcc";
	case IMAP_SEARCH_CC:
		return "Cc";
	case IMAP_SEARCH_FROM:
		return "From";
	case IMAP_SEARCH_SUBJECT:
		return "Subject";
	case IMAP_SEARCH_TO:
		return "To";
	default:
		return key->field;
	}
}

/*
 * 1 or 0; SEARCH_UNKNOWN only for a partial message, where what decides
 * is not read yet.  Recursion bounded by the parser's depth limit
 * (IMAP_SEARCH_DEPTH_MAX).
 */
static int
search_match(const struct imap_search_key *key, struct search_msg *sm)
{
	const struct store_msg	*m = sm->m;
	time_t			 t, day;
	uint32_t		 bit;
	unsigned int		 kw;
	size_t			 i, hlen;
	int			 r, v;

	switch (key->type) {
	case IMAP_SEARCH_ALL:
		return 1;
	case IMAP_SEARCH_AND:
		for (r = 1, i = 0; i < key->nsub; i++)
			if ((v = search_match(&key->sub[i], sm)) == 0)
				return 0;
			else if (v == SEARCH_UNKNOWN)
				r = v;
		return r;
	case IMAP_SEARCH_OR:
		for (r = 0, i = 0; i < key->nsub; i++)
			if ((v = search_match(&key->sub[i], sm)) == 1)
				return 1;
			else if (v == SEARCH_UNKNOWN)
				r = v;
		return r;
	case IMAP_SEARCH_NOT:
		v = search_match(&key->sub[0], sm);
		return v == SEARCH_UNKNOWN ? v : !v;
	case IMAP_SEARCH_FLAG:
		if ((bit = search_flag_bit(key->flag)) == 0)
			return sm->recent == (key->set != 0);
		return ((m->flags & bit) != 0) == (key->set != 0);
	case IMAP_SEARCH_KEYWORD:
		for (kw = 0; kw < sm->view->nkeywords; kw++)
			if (strcasecmp(sm->view->keywords[kw], key->str) == 0)
				break;
		/* A keyword never used is set on no message. */
		if (kw == sm->view->nkeywords || kw >= 64)
			return !key->set;
		return (int)((m->keywords >> kw) & 1) == (key->set != 0);
	case IMAP_SEARCH_BEFORE:
		return search_day((time_t)m->internaldate) < search_key_day(key);
	case IMAP_SEARCH_ON:
		return search_day((time_t)m->internaldate) == search_key_day(key);
	case IMAP_SEARCH_SINCE:
		return search_day((time_t)m->internaldate) >= search_key_day(key);
	case IMAP_SEARCH_SENTBEFORE:
	case IMAP_SEARCH_SENTON:
	case IMAP_SEARCH_SENTSINCE:
		if (sm->partial && sm->text == NULL)
			return SEARCH_UNKNOWN;
		/* RFC 3501 6.4.4: no usable Date: header falls back to INTERNALDATE. */
		if (search_sent_date(sm, &t) == -1)
			t = (time_t)m->internaldate;
		t = search_day(t);
		day = search_key_day(key);
		return key->type == IMAP_SEARCH_SENTBEFORE ? t < day :
		    key->type == IMAP_SEARCH_SENTON ? t == day : t >= day;
	case IMAP_SEARCH_LARGER:
		return m->size > key->number;
	case IMAP_SEARCH_SMALLER:
		return m->size < key->number;
	case IMAP_SEARCH_SEQSET:
		return imap_seqset_contains(&key->seqset, sm->seq);
	case IMAP_SEARCH_UID:
		return imap_seqset_contains(&key->seqset, m->uid);
	case IMAP_SEARCH_MODSEQ:
		/* One mod-sequence per message: the entry does not matter. */
		return m->modseq >= key->number;
	case IMAP_SEARCH_BCC:
	case IMAP_SEARCH_CC:
	case IMAP_SEARCH_FROM:
	case IMAP_SEARCH_TO:
		if (sm->partial && sm->text == NULL)
			return SEARCH_UNKNOWN;
		return search_msg_header_len(sm, &hlen) == 0 &&
		    imap_text_address_match(sm->text, hlen,
		    search_key_field(key), key->str);
	case IMAP_SEARCH_SUBJECT:
	case IMAP_SEARCH_HEADER:
		if (sm->partial && sm->text == NULL)
			return SEARCH_UNKNOWN;
		return search_msg_header_len(sm, &hlen) == 0 &&
		    imap_text_header_match(sm->text, hlen,
		    search_key_field(key), key->str);
	case IMAP_SEARCH_BODY:
	case IMAP_SEARCH_TEXT:
		if (sm->partial)
			return search_match_partial(key, sm);
		if (search_msg_mime(sm) == NULL)
			return 0;
		if (sm->body == NULL)
			sm->body = imap_text_body(sm->text, sm->textlen, sm->mime);
		if (strstr(sm->body, key->str) != NULL)
			return 1;
		if (key->type == IMAP_SEARCH_BODY)
			return 0;
		if (sm->header == NULL)
			sm->header = imap_text_header(sm->text,
			    (size_t)sm->mime->parts[0].hdr_len);
		return strstr(sm->header, key->str) != NULL;
	}
	return 0;
}

/* ---- the command ---- */

/*
 * issue 19: SEARCH TEXT over a 50 MB mailbox held the event loop (and
 * every other client) for seconds.  The messages are tested in slices of
 * at most SEARCH_SLICE_MS (and SEARCH_SLICE_MSGS), each its own
 * transaction; between two the loop serves everyone else.  The view does
 * not change meanwhile (a busy session is not synced); a message
 * expunged by another session is skipped, as within one transaction.
 */
#define SEARCH_SLICE_MS		IMAP_SEARCH_SLICE_MS
#define SEARCH_SLICE_MSGS	256

struct search_run {
	struct imap_session	*s;
	struct imap_search_program prog;
	int			 needs_text;
	int			 uid_mode;
	uint32_t		*hits;		/* seqs or UIDs */
	size_t			 nhits, hitcap;
	uint64_t		 maxmodseq;
	uint64_t		 firstmodseq, lastmodseq;	/* MIN's, MAX's */
	/* Where the slice starts, and what the slices before found. */
	uint32_t		 seq;
	/*
	 * A set every hit must be in (a UID or sequence set key at the top
	 * of the program), or NULL: only its messages are tested, so
	 * "UID SEARCH UID n" reads one record, not the mailbox (issue 18).
	 */
	const struct imap_seqset *cand;
	int			 cand_uid;
	size_t			 slice_nhits;
	uint64_t		 slice_maxmodseq, slice_lastmodseq;
	int			 ordering;	/* every message tested */
	struct event		*ev;		/* the next slice */
	/* SORT, THREAD: their hooks; hooks.hit NULL for SEARCH. */
	struct imap_search_hooks hooks;
	/* The BODY and TEXT keys, and their folded strings. */
	const struct imap_search_key **textkeys;
	const char		**needles;
	size_t			 ntextkeys;
	struct search_scan	*scan;		/* a large message, begun */
	int			 scan_err;	/* the store error that ended it */
};

static void	search_run_free(void *);
static void	search_candidates(struct search_run *);
static void	search_slice_cb(evutil_socket_t, short, void *);
static enum imap_cmd_status search_run_start(struct imap_session *,
		    struct search_run *);

/*
 * Readies a parsed program for matching: string keys folded the way
 * imap-text.c folds the messages, "$" replaced by the saved result
 * (RFC 5182 2.1), whether any key needs the message text, and the BODY
 * and TEXT keys listed (a large message is read for them in pieces).
 * Recursion is bounded by the parser's depth limit.
 */
static void
search_prepare(struct search_run *sr, struct imap_search_key *key)
{
	struct imap_session	*s = sr->s;
	struct imap_seqset	*saved;
	char			*folded;
	size_t			 i;

	for (i = 0; i < key->nsub; i++)
		search_prepare(sr, &key->sub[i]);
	switch (key->type) {
	case IMAP_SEARCH_BCC:
	case IMAP_SEARCH_BODY:
	case IMAP_SEARCH_CC:
	case IMAP_SEARCH_FROM:
	case IMAP_SEARCH_SUBJECT:
	case IMAP_SEARCH_TEXT:
	case IMAP_SEARCH_TO:
	case IMAP_SEARCH_HEADER:
		folded = imap_text_fold(key->str, strlen(key->str));
		free(key->str);
		key->str = folded;
		sr->needs_text = 1;
		if (key->type == IMAP_SEARCH_BODY ||
		    key->type == IMAP_SEARCH_TEXT) {
			sr->textkeys = xreallocarray(sr->textkeys,
			    sr->ntextkeys + 1, sizeof(*sr->textkeys));
			sr->needles = xreallocarray(sr->needles,
			    sr->ntextkeys + 1, sizeof(*sr->needles));
			sr->textkeys[sr->ntextkeys] = key;
			sr->needles[sr->ntextkeys++] = key->str;
		}
		break;
	case IMAP_SEARCH_SENTBEFORE:
	case IMAP_SEARCH_SENTON:
	case IMAP_SEARCH_SENTSINCE:
		sr->needs_text = 1;
		break;
	case IMAP_SEARCH_SEQSET:
	case IMAP_SEARCH_UID:
		if (!key->seqset.saved)
			break;
		saved = imap_saved_set(s, key->type == IMAP_SEARCH_UID);
		imap_seqset_clear(&key->seqset);
		key->seqset = *saved;
		free(saved);
		break;
	default:
		break;
	}
}

/*
 * issue 17: SEARCH BODY over three 50 MB messages held the loop for 3 s,
 * each message decrypted and decoded whole.  A message of at least
 * SEARCH_STREAM_MIN whose program the flags and sizes do not decide is
 * read in pieces: its top-level header first (the header keys and TEXT),
 * then its text parts through imap_text_scan, one sealed chunk at a time
 * and SEARCH_SLICE_MS of them per slice, until the program is decided.
 * It holds one chunk, the header and the scan's state, never the
 * message.  The structure comes from the cache sealed with the blob; a
 * message without one is read whole as before.
 *
 * Each chunk is read in its own transaction that first looks the message
 * up: one expunged by another session meanwhile (its blob may be gone)
 * is not matched, as one expunged before its slice is skipped.  A
 * session that goes mid-message frees the scan with the run.
 */
#define SEARCH_STREAM_MIN	(1024 * 1024)

struct search_scan {
	uint32_t		 seq;
	struct store_msg	 m;		/* as the slice that began it read it */
	int			 recent;
	struct mime_msg		*mime;		/* from the cache */
	struct store_blob_reader *reader;
	uint8_t			*chunk;		/* VAULT_CHUNK bytes */
	size_t			 chunklen;
	uint32_t		 chunkno;	/* the chunk it holds, or UINT32_MAX */
	uint32_t		 want;		/* for search_chunk_txn */
	int			 gone;		/* expunged meanwhile */
	struct pack		 hdr;		/* the top-level header */
	int			 hdr_done;
	uint8_t			*hdr_hit;	/* TEXT key i in the header */
	struct imap_text_scan	*text;		/* the body text, once begun */
	int			 text_done;
};

static void
search_scan_free(struct search_scan **scp)
{
	struct search_scan	*sc = *scp;

	if (sc == NULL)
		return;
	imap_text_scan_free(&sc->text);
	store_blob_reader_free(&sc->reader);
	mime_msg_free(&sc->mime);
	if (sc->chunk != NULL) {
		sodium_memzero(sc->chunk, VAULT_CHUNK);
		free(sc->chunk);
	}
	if (sc->hdr.buf != NULL)
		sodium_memzero(sc->hdr.buf, sc->hdr.cap);
	pack_free(&sc->hdr);
	free(sc->hdr_hit);
	free(sc);
	*scp = NULL;
}

/*
 * In search_txn: begins reading message seq (its record m) in pieces.
 * 0 when begun (sr->scan), 1 if it has no usable cached structure (it is
 * read whole), else a store error.
 */
static int
search_scan_open(struct store_txn *txn, struct search_run *sr, uint32_t seq,
    const struct store_msg *m, int recent)
{
	struct search_scan	*sc;
	struct mime_msg		*mime = NULL;
	uint8_t			*aux = NULL;
	size_t			 auxlen = 0;
	int			 ret;

	if ((ret = store_blob_aux_get(txn, sr->s->key, m->blob_id, &aux,
	    &auxlen)) != 0)
		return ret;
	if (aux != NULL)
		mime = mime_cache_decode(aux, auxlen, m->size);
	free(aux);
	/* A version 1 cache kept no part tree: the old way then. */
	if (mime == NULL || mime->nparts == 0 ||
	    mime->v1_bodystructure != NULL) {
		mime_msg_free(&mime);
		return 1;
	}
	sc = xcalloc(1, sizeof(*sc));
	sc->mime = mime;
	if ((ret = store_blob_reader_open(txn, sr->s->key, m->blob_id,
	    &sc->reader)) != 0) {
		search_scan_free(&sc);
		return ret;
	}
	sc->seq = seq;
	sc->m = *m;
	sc->recent = recent;
	sc->chunk = xmalloc(VAULT_CHUNK);
	sc->chunkno = UINT32_MAX;
	pack_init(&sc->hdr);
	sc->hdr_hit = xcalloc(sr->ntextkeys + 1, 1);
	sr->scan = sc;
	return 0;
}

static int
search_chunk_txn(struct store_txn *txn, void *arg)
{
	struct search_run	*sr = arg;
	struct search_scan	*sc = sr->scan;
	struct imap_session	*s = sr->s;
	struct store_msg	 m;
	int			 ret;

	sc->chunkno = UINT32_MAX;
	ret = store_msg_get(txn, s->account_id, s->view.mailbox_id, sc->m.uid,
	    &m);
	if (ret == STORE_ENOTFOUND) {
		sc->gone = 1;
		return 0;
	}
	if (ret != 0)
		return ret;
	if ((ret = store_blob_reader_chunk(txn, sc->reader, sc->want,
	    sc->chunk, &sc->chunklen)) != 0)
		return ret;
	sc->chunkno = sc->want;
	return 0;
}

/*
 * The bytes of the message from pos on that the chunk holding pos has:
 * 0 with *pp, *np; 1 if the message is gone or pos is past its end; -1
 * after a store error (sr->scan_err).  *readp counts chunks read.
 */
static int
search_scan_bytes(struct search_run *sr, uint64_t pos, const uint8_t **pp,
    size_t *np, unsigned int *readp)
{
	struct search_scan	*sc = sr->scan;
	size_t			 in;
	int			 ret;

	if (pos / VAULT_CHUNK != sc->chunkno) {
		sc->want = (uint32_t)(pos / VAULT_CHUNK);
		if ((ret = imap_txn(sr->s, search_chunk_txn, sr)) != 0) {
			sr->scan_err = ret;
			return -1;
		}
		(*readp)++;
		if (sc->gone)
			return 1;
	}
	in = (size_t)(pos - (uint64_t)sc->chunkno * VAULT_CHUNK);
	if (in >= sc->chunklen)
		return 1;
	*pp = sc->chunk + in;
	*np = sc->chunklen - in;
	return 0;
}

/* The program over what was read of the scan's message. */
static int
search_scan_match(struct search_run *sr)
{
	struct search_scan	*sc = sr->scan;
	struct search_msg	 sm;
	int			 hit;

	memset(&sm, 0, sizeof(sm));
	sm.seq = sc->seq;
	sm.recent = sc->recent;
	sm.m = &sc->m;
	sm.view = &sr->s->view;
	sm.partial = 1;
	sm.run = sr;
	sm.scan = sc;
	if (sc->hdr_done) {
		sm.text = sc->hdr.len > 0 ? sc->hdr.buf : (const uint8_t *)"";
		sm.textlen = sc->hdr.len;
		sm.hdr_known = 1;
		sm.hdr_len = sc->hdr.len;
	}
	hit = search_match(&sr->prog.root, &sm);
	mime_msg_free(&sm.mime);
	free(sm.body);
	free(sm.header);
	return hit;
}

/* The header read whole: the TEXT keys' header halves decided. */
static void
search_scan_header_done(struct search_run *sr)
{
	struct search_scan	*sc = sr->scan;
	char			*header;
	size_t			 i;

	sc->hdr_done = 1;
	header = imap_text_header(sc->hdr.len > 0 ? sc->hdr.buf :
	    (const uint8_t *)"", sc->hdr.len);
	for (i = 0; i < sr->ntextkeys; i++)
		sc->hdr_hit[i] = strstr(header, sr->needles[i]) != NULL;
	sodium_memzero(header, strlen(header));
	free(header);
	sc->text = imap_text_scan_new(sc->mime, sc->m.size, sr->needles,
	    sr->ntextkeys);
}

/* search_scan_run() after a store error (sr->scan_err). */
#define SEARCH_SCAN_ERROR	(-2)

/*
 * Reads on in the scan's message until deadline: SEARCH_UNKNOWN if more
 * is left, 1 or 0 once decided (or 0 if the message went), or
 * SEARCH_SCAN_ERROR.  At least one chunk a call, so it always gets on.
 */
static int
search_scan_run(struct search_run *sr, uint64_t deadline)
{
	struct search_scan	*sc = sr->scan;
	const uint8_t		*p;
	uint64_t		 off, len, hlen = sc->mime->parts[0].hdr_len;
	size_t			 n;
	unsigned int		 nread = 0;
	int			 ret, hit;

	if (hlen > sc->m.size)
		hlen = sc->m.size;
	for (;;) {
		if (nread > 0 && time_mono_ms() >= deadline)
			return SEARCH_UNKNOWN;
		if (!sc->hdr_done && sc->hdr.len < hlen) {
			off = sc->hdr.len;
			len = hlen - off;
		} else if (!sc->hdr_done) {
			search_scan_header_done(sr);
			if ((hit = search_scan_match(sr)) != SEARCH_UNKNOWN)
				return hit;
			continue;
		} else if (!imap_text_scan_next(sc->text, &off, &len)) {
			sc->text_done = 1;
			hit = search_scan_match(sr);
			return hit == 1;
		}
		if ((ret = search_scan_bytes(sr, off, &p, &n, &nread)) == -1)
			return SEARCH_SCAN_ERROR;
		if (ret == 1)
			return 0;
		if (n > len)
			n = (size_t)len;
		if (!sc->hdr_done) {
			pack_raw(&sc->hdr, p, n);
			continue;
		}
		imap_text_scan_feed(sc->text, p, n);
		/* A needle found may decide it before the end. */
		if (off + n == ((uint64_t)sc->chunkno * VAULT_CHUNK +
		    sc->chunklen) && (hit = search_scan_match(sr)) !=
		    SEARCH_UNKNOWN)
			return hit;
	}
}

/* A BODY or TEXT key of a message read in pieces (search_scan). */
static int
search_match_partial(const struct imap_search_key *key, struct search_msg *sm)
{
	const struct search_scan	*sc = sm->scan;
	const struct search_run		*sr = sm->run;
	size_t				 i;
	int				 body;

	for (i = 0; i < sr->ntextkeys && sr->textkeys[i] != key; i++)
		continue;
	if (sc == NULL || i == sr->ntextkeys)
		return SEARCH_UNKNOWN;
	if (sc->text != NULL && imap_text_scan_found(sc->text, i))
		body = 1;
	else
		body = sc->text_done ? 0 : SEARCH_UNKNOWN;
	/* RFC 3501 6.4.4: TEXT is the header or the body. */
	if (key->type == IMAP_SEARCH_BODY || body == 1)
		return body;
	if (!sc->hdr_done)
		return SEARCH_UNKNOWN;
	return sc->hdr_hit[i] ? 1 : body;
}

/* Message seq (its record m) matched: kept, and given to the hooks. */
static int
search_record(struct store_txn *txn, struct search_run *sr, uint32_t seq,
    const struct store_msg *m)
{
	int	 ret;

	if (sr->hooks.hit != NULL && (ret = sr->hooks.hit(txn, sr->s,
	    sr->nhits, seq, m, sr->hooks.arg)) != 0)
		return ret;
	if (sr->nhits == sr->hitcap) {
		sr->hitcap = sr->hitcap == 0 ? 64 : sr->hitcap * 2;
		sr->hits = xreallocarray(sr->hits, sr->hitcap,
		    sizeof(*sr->hits));
	}
	if (sr->nhits == 0)
		sr->firstmodseq = m->modseq;
	sr->hits[sr->nhits++] = sr->uid_mode ? m->uid : seq;
	sr->lastmodseq = m->modseq;
	if (m->modseq > sr->maxmodseq)
		sr->maxmodseq = m->modseq;
	return 0;
}

/* The scan's message matched: recorded from its record now, if it is. */
static int
search_scan_hit_txn(struct store_txn *txn, void *arg)
{
	struct search_run	*sr = arg;
	struct imap_session	*s = sr->s;
	struct store_msg	 m;
	int			 ret;

	sr->nhits = sr->slice_nhits;
	sr->maxmodseq = sr->slice_maxmodseq;
	sr->lastmodseq = sr->slice_lastmodseq;
	ret = store_msg_get(txn, s->account_id, s->view.mailbox_id,
	    sr->scan->m.uid, &m);
	if (ret == STORE_ENOTFOUND)
		return 0;
	if (ret != 0)
		return ret;
	return search_record(txn, sr, sr->scan->seq, &m);
}

static int
search_txn(struct store_txn *txn, void *arg)
{
	struct search_run	*sr = arg;
	struct imap_session	*s = sr->s;
	struct search_msg	 sm;
	struct store_msg	 m;
	uint8_t			*text;
	size_t			 len, n = 0;
	uint64_t		 deadline = time_mono_ms() + SEARCH_SLICE_MS;
	uint32_t		 seq;
	int			 ret, hit;

	/* A retried transaction starts its slice again. */
	sr->nhits = sr->slice_nhits;
	sr->maxmodseq = sr->slice_maxmodseq;
	sr->lastmodseq = sr->slice_lastmodseq;
	search_scan_free(&sr->scan);
	for (seq = sr->seq; seq <= s->view.count; seq++) {
		if (sr->cand != NULL && (seq = imap_view_next_in_set(&s->view,
		    sr->cand, sr->cand_uid, seq)) == 0) {
			seq = s->view.count + 1;
			break;
		}
		if (n > 0 && (n >= SEARCH_SLICE_MSGS ||
		    ((sr->needs_text || sr->hooks.hit != NULL) &&
		    time_mono_ms() >= deadline)))
			break;
		if (s->view.msgs[seq - 1].expunged)
			continue;
		ret = store_msg_get(txn, s->account_id, s->view.mailbox_id,
		    s->view.msgs[seq - 1].uid, &m);
		if (ret == STORE_ENOTFOUND)
			continue;
		if (ret != 0)
			return ret;
		n++;
		memset(&sm, 0, sizeof(sm));
		sm.seq = seq;
		sm.recent = imap_session_recent(s, m.uid);
		sm.m = &m;
		sm.view = &s->view;
		sm.run = sr;
		hit = SEARCH_UNKNOWN;
		if (sr->needs_text) {
			/* What flags, dates and sizes decide needs no text. */
			sm.partial = 1;
			hit = search_match(&sr->prog.root, &sm);
			sm.partial = 0;
		}
		if (sr->needs_text && hit == SEARCH_UNKNOWN &&
		    m.size >= SEARCH_STREAM_MIN &&
		    (ret = search_scan_open(txn, sr, seq, &m, sm.recent)) != 1) {
			if (ret != 0)
				return ret;
			/* Read on in later slices (search_scan_run). */
			break;
		}
		text = NULL;
		len = 0;
		if (hit == SEARCH_UNKNOWN && sr->needs_text) {
			if ((ret = store_msg_read(txn, s->key, m.blob_id, &text,
			    &len)) != 0)
				return ret;
			sm.text = text;
			sm.textlen = len;
		}
		if (hit == SEARCH_UNKNOWN)
			hit = search_match(&sr->prog.root, &sm);
		mime_msg_free(&sm.mime);
		free(sm.body);
		free(sm.header);
		if (text != NULL) {
			sodium_memzero(text, len);
			free(text);
		}
		if (!hit)
			continue;
		if ((ret = search_record(txn, sr, seq, &m)) != 0)
			return ret;
	}
	sr->seq = seq;
	return 0;
}

/*
 * RFC 7162 3.1.5 with RFC 4731: the highest MODSEQ of the messages the
 * ESEARCH returns, so with MIN and/or MAX alone that of those.
 */
static uint64_t
search_answer_modseq(const struct search_run *sr)
{
	unsigned int	 r = sr->prog.ret & ~IMAP_SEARCH_RET_SAVE;
	uint64_t	 m = 0;

	if (r == 0 || (r & ~(IMAP_SEARCH_RET_MIN | IMAP_SEARCH_RET_MAX)))
		return sr->maxmodseq;
	if (r & IMAP_SEARCH_RET_MIN)
		m = sr->firstmodseq;
	if ((r & IMAP_SEARCH_RET_MAX) && sr->lastmodseq > m)
		m = sr->lastmodseq;
	return m;
}

/* The candidate set of a program: a set key the whole program ANDs. */
static void
search_candidates(struct search_run *sr)
{
	const struct imap_search_key	*root = &sr->prog.root, *k;
	size_t				 i, n = 1;

	if (root->type == IMAP_SEARCH_AND)
		n = root->nsub;
	for (i = 0; i < n; i++) {
		k = root->type == IMAP_SEARCH_AND ? &root->sub[i] : root;
		if (k->type == IMAP_SEARCH_SEQSET || k->type == IMAP_SEARCH_UID) {
			sr->cand = &k->seqset;
			sr->cand_uid = k->type == IMAP_SEARCH_UID;
			return;
		}
	}
}

/* The answer, once every message was tested. */
static void
search_answer(struct imap_session *s, struct search_run *sr)
{
	unsigned int	 ret_opts = sr->prog.ret;
	int		 uid_mode = sr->uid_mode;

	if ((ret_opts & IMAP_SEARCH_RET_SAVE) &&
	    (ret_opts & (IMAP_SEARCH_RET_MIN | IMAP_SEARCH_RET_MAX)) &&
	    !(ret_opts & (IMAP_SEARCH_RET_ALL | IMAP_SEARCH_RET_COUNT)) &&
	    sr->nhits > 0) {
		uint32_t	 mm[2];
		size_t		 nmm = 0;

		/* RFC 5182 2.4: SAVE with MIN and/or MAX saves just those. */
		if (ret_opts & IMAP_SEARCH_RET_MIN)
			mm[nmm++] = sr->hits[0];
		if ((ret_opts & IMAP_SEARCH_RET_MAX) &&
		    (nmm == 0 || sr->nhits > 1))
			mm[nmm++] = sr->hits[sr->nhits - 1];
		imap_save_result(s, mm, nmm, uid_mode);
	} else if (ret_opts & IMAP_SEARCH_RET_SAVE)
		imap_save_result(s, sr->hits, sr->nhits, uid_mode);
	if (!sr->prog.esearch) {
		imap_printf(s, "* SEARCH");
		imap_write_numbers(conn_out(s->conn), sr->hits, sr->nhits);
		/* RFC 7162 3.1.5: the highest MODSEQ of what was found. */
		if (sr->prog.uses_modseq && sr->nhits > 0)
			imap_printf(s, " (MODSEQ %llu)",
			    (unsigned long long)sr->maxmodseq);
		imap_printf(s, "\r\n");
	} else if (ret_opts != IMAP_SEARCH_RET_SAVE) {
		/* RFC 4731 3.1: SAVE alone answers nothing. */
		imap_printf(s, "* ESEARCH (TAG ");
		imap_write_string(s, s->tag, strlen(s->tag));
		imap_printf(s, ")%s", uid_mode ? " UID" : "");
		if ((ret_opts & IMAP_SEARCH_RET_MIN) && sr->nhits > 0)
			imap_printf(s, " MIN %u", sr->hits[0]);
		if ((ret_opts & IMAP_SEARCH_RET_MAX) && sr->nhits > 0)
			imap_printf(s, " MAX %u", sr->hits[sr->nhits - 1]);
		if ((ret_opts & IMAP_SEARCH_RET_ALL) && sr->nhits > 0) {
			imap_printf(s, " ALL ");
			imap_set_write_list(conn_out(s->conn), sr->hits,
			    sr->nhits);
		}
		if (ret_opts & IMAP_SEARCH_RET_COUNT)
			imap_printf(s, " COUNT %zu", sr->nhits);
		if (sr->prog.uses_modseq && sr->nhits > 0)
			imap_printf(s, " MODSEQ %llu",
			    (unsigned long long)search_answer_modseq(sr));
		imap_printf(s, "\r\n");
	}
	imap_tagged(s, "OK", "Search completed");
}

/*
 * Runs one slice: 1 if more are left, else 0 after the answer (the
 * result or the storage error).
 */
static int
search_slice(struct imap_session *s, struct search_run *sr)
{
	uint64_t	 deadline = time_mono_ms() + SEARCH_SLICE_MS;
	int		 ret, hit;

	/* Past the last message only the hooks' ordering is left. */
	if (!sr->ordering && sr->scan != NULL) {
		if ((hit = search_scan_run(sr, deadline)) == SEARCH_SCAN_ERROR) {
			imap_tagged_store_error(s, sr->scan_err);
			return 0;
		}
		if (hit == SEARCH_UNKNOWN)
			return 1;
		if (hit == 1 && (ret = imap_txn(s, search_scan_hit_txn,
		    sr)) != 0) {
			imap_tagged_store_error(s, ret);
			return 0;
		}
		sr->slice_nhits = sr->nhits;
		sr->slice_maxmodseq = sr->maxmodseq;
		sr->slice_lastmodseq = sr->lastmodseq;
		sr->seq = sr->scan->seq + 1;
		search_scan_free(&sr->scan);
		if (time_mono_ms() >= deadline)
			return 1;
	}
	if (!sr->ordering) {
		if ((ret = imap_txn(s, search_txn, sr)) != 0) {
			imap_tagged_store_error(s, ret);
			return 0;
		}
		sr->slice_nhits = sr->nhits;
		sr->slice_maxmodseq = sr->maxmodseq;
		sr->slice_lastmodseq = sr->lastmodseq;
		if (sr->scan != NULL || sr->seq <= s->view.count)
			return 1;
		sr->ordering = 1;
	}
	if (sr->hooks.more != NULL && sr->hooks.more(s, deadline,
	    sr->hooks.arg))
		return 1;
	if (sr->hooks.done != NULL)
		sr->hooks.done(s, sr->nhits, sr->hooks.arg);
	else
		search_answer(s, sr);
	return 0;
}

/*
 * A timer, not event_active(): an event made active from a callback can
 * run again before the loop polls, and the others would still starve.
 */
static void
search_later(struct search_run *sr)
{
	struct timeval	 tv = { 0, 0 };

	evtimer_add(sr->ev, &tv);
}

static void
search_slice_cb(evutil_socket_t fd, short what, void *arg)
{
	struct search_run	*sr = arg;
	struct imap_session	*s = sr->s;

	if (search_slice(s, sr)) {
		search_later(sr);
		return;
	}
	/* Ends the command and frees sr (cmd_state). */
	imap_session_done(s);
}

static void
search_run_free(void *arg)
{
	struct search_run	*sr = arg;

	if (sr->ev != NULL)
		event_free(sr->ev);
	search_scan_free(&sr->scan);
	free(sr->textkeys);
	free(sr->needles);
	free(sr->hits);
	imap_search_program_clear(&sr->prog);
	if (sr->hooks.free != NULL)
		sr->hooks.free(sr->hooks.arg);
	free(sr);
}

/*
 * imap_search_context's charset_convert: SEARCH CHARSET ISO-8859-1 and
 * whatever else iconv knows (RFC 3501 6.4.4), as Dovecot takes them.
 */
static int
search_charset_convert(const char *charset, const char *in, char **out)
{
	struct pack	 utf8;
	int		 r;

	pack_init(&utf8);
	r = mime_charset_to_utf8(&utf8, charset, (const uint8_t *)in,
	    in != NULL ? strlen(in) : 0);
	/* A NUL out of a string that had none is no text to search for. */
	if (r == 0 && utf8.len > 0 && memchr(utf8.buf, '\0', utf8.len) != NULL)
		r = MIME_CHARSET_INVALID;
	if (r == 0 && out != NULL)
		*out = utf8.len > 0 ?
		    xstrndup((const char *)utf8.buf, utf8.len) : xstrdup("");
	pack_free(&utf8);
	return r == MIME_CHARSET_UNKNOWN ? -1 : r == 0 ? 0 : -2;
}

enum imap_cmd_status
cmd_search(struct imap_session *s, const struct imap_command *cmd)
{
	struct imap_search_context	 ctx;
	struct search_run		*sr;
	const struct imap_arg		*a = cmd->args;
	const char			*why;
	int				 ret;

	sr = xcalloc(1, sizeof(*sr));
	sr->s = s;
	sr->uid_mode = s->cmd_uid;
	sr->seq = 1;
	memset(&ctx, 0, sizeof(ctx));
	ctx.max_seq = s->view.count;
	ctx.max_uid = imap_view_max_uid(&s->view);
	ctx.allow_saved = 1;		/* SEARCHRES is in our CAPABILITY */
	ctx.charset_convert = search_charset_convert;
	/* The grammar is imap-search-parse.c's, the same the fuzzer runs. */
	ret = imap_search_parse(a, &ctx, &sr->prog, &why);
	if (ret == IMAP_SEARCH_EBADCHARSET) {
		/* RFC 3501 6.4.4: refuse what we cannot convert. */
		imap_tagged(s, "NO", "[BADCHARSET (%s)] %s",
		    IMAP_SEARCH_CHARSETS, why);
		search_run_free(sr);
		return CMD_DONE;
	}
	if (ret != IMAP_SEARCH_OK) {
		imap_tagged(s, "BAD", "%s", why);
		search_run_free(sr);
		return CMD_DONE;
	}
	return search_run_start(s, sr);
}

int
imap_search_parse_sorted(struct imap_session *s, const struct imap_arg *a,
    struct imap_search_program *prog)
{
	struct imap_search_context	 ctx;
	const char			*why;
	int				 ret;

	memset(&ctx, 0, sizeof(ctx));
	ctx.max_seq = s->view.count;
	ctx.max_uid = imap_view_max_uid(&s->view);
	ctx.allow_saved = 1;
	ctx.charset_first = 1;
	ctx.charset_convert = search_charset_convert;
	if ((ret = imap_search_parse(a, &ctx, prog, &why)) == IMAP_SEARCH_OK)
		return 0;
	if (ret == IMAP_SEARCH_EBADCHARSET)
		imap_tagged(s, "NO", "[BADCHARSET (%s)] %s",
		    IMAP_SEARCH_CHARSETS, why);
	else
		imap_tagged(s, "BAD", "%s", why);
	imap_search_program_clear(prog);
	return -1;
}

enum imap_cmd_status
imap_search_start(struct imap_session *s, struct imap_search_program *prog,
    int uid_mode, const struct imap_search_hooks *hooks)
{
	struct search_run	*sr;

	sr = xcalloc(1, sizeof(*sr));
	sr->s = s;
	sr->uid_mode = uid_mode;
	sr->seq = 1;
	sr->prog = *prog;
	memset(prog, 0, sizeof(*prog));
	if (hooks != NULL)
		sr->hooks = *hooks;
	return search_run_start(s, sr);
}

/* Runs a parsed program: at once if it is small or cheap, else sliced. */
static enum imap_cmd_status
search_run_start(struct imap_session *s, struct search_run *sr)
{
	/* RFC 7162 3.1: a MODSEQ key is a CONDSTORE enabling command. */
	if (sr->prog.uses_modseq)
		imap_session_condstore(s);
	search_prepare(sr, &sr->prog.root);
	search_candidates(sr);
	/* A small or cheap search is answered at once. */
	if (!search_slice(s, sr)) {
		search_run_free(sr);
		return CMD_DONE;
	}
	sr->ev = evtimer_new(s->conn->base, search_slice_cb, sr);
	if (sr->ev == NULL)
		fatalx("event_new");
	s->cmd_state = sr;
	s->cmd_state_free = search_run_free;
	search_later(sr);
	return CMD_ASYNC;
}
