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
#include "mime.h"
#include "rfc5322.h"
#include "xmalloc.h"

/* Its rows' handlers and hooks (imap-commands.c). */
imap_cmd_fn	cmd_search;

struct search_msg;

static void	search_prepare(struct imap_session *, struct imap_search_key *,
		    int *needs_text);
static int	search_match(const struct imap_search_key *,
		    struct search_msg *);

/*
 * Readies a parsed program for matching: string keys folded the way
 * imap-text.c folds the messages, "$" replaced by the saved result
 * (RFC 5182 2.1), and whether any key needs the message text.
 * Recursion is bounded by the parser's depth limit.
 */
static void
search_prepare(struct imap_session *s, struct imap_search_key *key,
    int *needs_text)
{
	struct imap_seqset	*saved;
	char			*folded;
	size_t			 i;

	for (i = 0; i < key->nsub; i++)
		search_prepare(s, &key->sub[i], needs_text);
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
		*needs_text = 1;
		break;
	case IMAP_SEARCH_SENTBEFORE:
	case IMAP_SEARCH_SENTON:
	case IMAP_SEARCH_SENTSINCE:
		*needs_text = 1;
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

/* ---- evaluation ---- */

struct search_msg {
	uint32_t		 seq;
	int			 recent;	/* \Recent in this session */
	const struct store_msg	*m;
	struct imap_view	*view;
	const uint8_t		*text;		/* NULL: keys need no text */
	size_t			 textlen;
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

/* Recursion bounded by the parser's depth limit (IMAP_SEARCH_DEPTH_MAX). */
static int
search_match(const struct imap_search_key *key, struct search_msg *sm)
{
	const struct store_msg	*m = sm->m;
	time_t			 t, day;
	uint32_t		 bit;
	unsigned int		 kw;
	size_t			 i, hlen;

	switch (key->type) {
	case IMAP_SEARCH_ALL:
		return 1;
	case IMAP_SEARCH_AND:
		for (i = 0; i < key->nsub; i++)
			if (!search_match(&key->sub[i], sm))
				return 0;
		return 1;
	case IMAP_SEARCH_OR:
		for (i = 0; i < key->nsub; i++)
			if (search_match(&key->sub[i], sm))
				return 1;
		return 0;
	case IMAP_SEARCH_NOT:
		return !search_match(&key->sub[0], sm);
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
		return search_msg_header_len(sm, &hlen) == 0 &&
		    imap_text_address_match(sm->text, hlen,
		    search_key_field(key), key->str);
	case IMAP_SEARCH_SUBJECT:
	case IMAP_SEARCH_HEADER:
		return search_msg_header_len(sm, &hlen) == 0 &&
		    imap_text_header_match(sm->text, hlen,
		    search_key_field(key), key->str);
	case IMAP_SEARCH_BODY:
	case IMAP_SEARCH_TEXT:
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
};

static void	search_run_free(void *);
static void	search_candidates(struct search_run *);
static void	search_slice_cb(evutil_socket_t, short, void *);
static enum imap_cmd_status search_run_start(struct imap_session *,
		    struct search_run *);

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
		text = NULL;
		len = 0;
		if (sr->needs_text) {
			if ((ret = store_msg_read(txn, s->key, m.blob_id, &text,
			    &len)) != 0)
				return ret;
			sm.text = text;
			sm.textlen = len;
		}
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
		if (sr->hooks.hit != NULL && (ret = sr->hooks.hit(txn, s,
		    sr->nhits, seq, &m, sr->hooks.arg)) != 0)
			return ret;
		if (sr->nhits == sr->hitcap) {
			sr->hitcap = sr->hitcap == 0 ? 64 : sr->hitcap * 2;
			sr->hits = xreallocarray(sr->hits, sr->hitcap,
			    sizeof(*sr->hits));
		}
		if (sr->nhits == 0)
			sr->firstmodseq = m.modseq;
		sr->hits[sr->nhits++] = sr->uid_mode ? m.uid : seq;
		sr->lastmodseq = m.modseq;
		if (m.modseq > sr->maxmodseq)
			sr->maxmodseq = m.modseq;
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
	size_t		 i;

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
		for (i = 0; i < sr->nhits; i++)
			imap_printf(s, " %u", sr->hits[i]);
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
	int		 ret;

	/* Past the last message only the hooks' ordering is left. */
	if (!sr->ordering) {
		if ((ret = imap_txn(s, search_txn, sr)) != 0) {
			imap_tagged_store_error(s, ret);
			return 0;
		}
		sr->slice_nhits = sr->nhits;
		sr->slice_maxmodseq = sr->maxmodseq;
		sr->slice_lastmodseq = sr->lastmodseq;
		if (sr->seq <= s->view.count)
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
	free(sr->hits);
	imap_search_program_clear(&sr->prog);
	if (sr->hooks.free != NULL)
		sr->hooks.free(sr->hooks.arg);
	free(sr);
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
	search_prepare(s, &sr->prog.root, &sr->needs_text);
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
