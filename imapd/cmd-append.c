/*
 * cmd-append.c: APPEND (RFC 3501 6.3.11, MULTIAPPEND RFC 3502, UIDPLUS
 * RFC 4315, APPENDLIMIT RFC 7889, LITERAL+ RFC 7888).
 *
 * Each message literal is checked before the client sends it (the
 * parser's literal hook: the mailbox must exist, the size must fit), then
 * read into a buffer of the session's, or, past APPEND_MEMORY_MAX, into
 * an encrypted spool file (common/spool.h): a client that announces 50
 * MB and sends it slowly, or stops, holds a file, not memory.  At the end
 * each is parsed once
 * for ENVELOPE/BODYSTRUCTURE and sealed, and all are committed in one
 * transaction (MULTIAPPEND, RFC 3502: several messages, all or none).  A copy of a message
 * the submission server filed to Gesendet moments ago is not stored
 * twice: the client gets the UID of the filed one.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <sodium.h>

#include "imap-date.h"
#include "imap-flags.h"
#include "imapd.h"
#include "log.h"
#include "mime-cache.h"
#include "mime.h"
#include "mime-seal.h"
#include "pack.h"
#include "rfc5322.h"
#include "spool.h"
#include "xmalloc.h"

/* A literal up to this size is read into memory; a larger one is spooled. */
#define APPEND_MEMORY_MAX	(256 * 1024)

/* Its rows' handlers and hooks (imap-commands.c). */
imap_cmd_fn	cmd_append;
imap_cmd_literal_fn cmd_append_literal;

/* One streamed message literal. */
struct append_buf {
	uint8_t		*data;
	size_t		 len;
	size_t		 cap;
	size_t		 expected;
	struct spool	*spool;		/* past APPEND_MEMORY_MAX */
	int		 failed;	/* the spool could not take it */
	int		 done;
};

/* RFC 3502: every message literal of one APPEND, in order. */
struct append_bufs {
	struct append_buf	**v;
	size_t			 n;
	uint64_t		 total;		/* bytes announced so far */
};

static int
append_sink_write(void *ctx, const void *data, size_t len)
{
	struct append_buf	*ab = ctx;

	if (len > ab->expected - ab->len)
		return -1;
	if (ab->spool != NULL) {
		if (spool_write(ab->spool, data, len) == -1) {
			log_warn("APPEND: spooling a message literal");
			ab->failed = 1;
			return -1;
		}
		ab->len += len;
		return 0;
	}
	if (ab->cap < ab->len + len) {
		ab->cap = ab->expected == 0 ? 1 : ab->expected;
		ab->data = xrealloc(ab->data, ab->cap);
	}
	memcpy(ab->data + ab->len, data, len);
	ab->len += len;
	return 0;
}

static void
append_sink_done(void *ctx)
{
	struct append_buf	*ab = ctx;

	ab->done = 1;
}

static void
append_sink_abort(void *ctx)
{
	struct append_buf	*ab = ctx;

	ab->done = 0;
}

static void
append_bufs_free(void *arg)
{
	struct append_bufs	*abs = arg;
	struct append_buf	*ab;
	size_t			 i;

	if (abs == NULL)
		return;
	for (i = 0; i < abs->n; i++) {
		ab = abs->v[i];
		if (ab->data != NULL)
			sodium_memzero(ab->data, ab->len);
		free(ab->data);
		spool_free(&ab->spool);
		free(ab);
	}
	free(abs->v);
	free(abs);
}

struct append_check {
	struct imap_session	*s;
	const char		*name;
	uint64_t		 size;
	uint64_t		 used;
};

static int
append_check_txn(struct store_txn *txn, void *arg)
{
	struct append_check	*ac = arg;
	struct store_mailbox	 mb;
	int			 ret;

	memset(&mb, 0, sizeof(mb));
	if ((ret = store_mailbox_find(txn, ac->s->account_id, ac->name, &mb)) != 0)
		return ret;
	store_mailbox_clear(&mb);
	return store_account_usage(txn, ac->s->account_id, &ac->used);
}

enum imap_literal_action
cmd_append_literal(struct imap_session *s, const struct imap_literal_info *li,
    struct imap_literal_sink *sink, const char **textp)
{
	const struct conf	*cf = s->imapd->daemon.conf;
	struct append_check	 ac;
	struct append_bufs	*abs;
	struct append_buf	*ab;
	const char		*wire, *why;
	char			*name;
	size_t			 i;
	int			 ret;

	/*
	 * Only the messages: top-level literals after the name (a flag
	 * list's are inside a list, the date is a quoted string).
	 */
	if (li->depth != 0 || li->index == 0 ||
	    !imap_arg_get_astring(&li->args[0], &wire))
		return IMAP_LITERAL_MEMORY;
	/* A later message of this command (RFC 3502) adds to its buffers. */
	abs = NULL;
	for (i = 1; i < li->nargs; i++)
		if (li->args[i].type == IMAP_ARG_LITERAL &&
		    s->cmd_state_free == append_bufs_free)
			abs = s->cmd_state;
	if (li->size > cf->max_message_size) {
		*textp = "[TOOBIG] Message larger than APPENDLIMIT";
		return IMAP_LITERAL_REFUSE;
	}
	/*
	 * RFC 3502 MULTIAPPEND holds every message until the last one is
	 * in (all or none are stored): what one command holds is bounded
	 * by APPENDLIMIT as a whole, not per message.
	 */
	if (abs != NULL && li->size > cf->max_message_size - abs->total) {
		*textp = "[TOOBIG] Messages of one MULTIAPPEND larger than "
		    "APPENDLIMIT together";
		return IMAP_LITERAL_REFUSE;
	}
	if ((name = imap_mailbox_arg(s, wire, &why)) == NULL) {
		*textp = "[CANNOT] Invalid mailbox name";
		return IMAP_LITERAL_REFUSE;
	}
	memset(&ac, 0, sizeof(ac));
	ac.s = s;
	ac.name = name;
	ret = imap_txn(s, append_check_txn, &ac);
	free(name);
	if (ret == STORE_ENOTFOUND) {
		/* RFC 3501 6.3.11: the client may CREATE and try again. */
		*textp = "[TRYCREATE] No such mailbox";
		return IMAP_LITERAL_REFUSE;
	}
	if (ret != 0) {
		*textp = "[UNAVAILABLE] Temporary storage problem";
		return IMAP_LITERAL_REFUSE;
	}
	if (cf->mailbox_quota != 0 && ac.used + (abs != NULL ? abs->total :
	    0) + li->size > cf->mailbox_quota) {
		*textp = "[OVERQUOTA] Mailbox full";
		return IMAP_LITERAL_REFUSE;
	}
	if (abs == NULL) {
		/* The first message: whatever an earlier command left goes. */
		if (s->cmd_state_free != NULL && s->cmd_state != NULL)
			s->cmd_state_free(s->cmd_state);
		abs = xcalloc(1, sizeof(*abs));
		s->cmd_state = abs;
		s->cmd_state_free = append_bufs_free;
	}
	ab = xcalloc(1, sizeof(*ab));
	ab->expected = (size_t)li->size;
	if (li->size > APPEND_MEMORY_MAX && (ab->spool =
	    spool_new(cf->state_dir)) == NULL) {
		log_warn("APPEND: a spool file in %s", cf->state_dir);
		free(ab);
		*textp = "[UNAVAILABLE] Temporary storage problem";
		return IMAP_LITERAL_REFUSE;
	}
	abs->v = xreallocarray(abs->v, abs->n + 1, sizeof(*abs->v));
	abs->v[abs->n++] = ab;
	abs->total += li->size;
	sink->write = append_sink_write;
	sink->done = append_sink_done;
	sink->abort = append_sink_abort;
	sink->ctx = ab;
	return IMAP_LITERAL_STREAM;
}

/* One message of the command. */
struct append_one {
	struct imap_flags	 flags;
	time_t			 date;
	const uint8_t		*data;
	size_t			 len;
	char			*norm;		/* CRLF-normalized copy */
	int			 binary;	/* RFC 3516 literal8 */
	struct store_blob	*blob;
	struct store_append	 ap;		/* the blob in, the record out */
	uint8_t			 msgid[STORE_MSGID_HASHBYTES];
	int			 has_msgid;
	uint32_t		 uid;
	int			 duplicate;
};

struct append_req {
	struct imap_session	*s;
	const char		*name;
	struct append_one	*msgs;
	size_t			 n;
	uint32_t		 uidvalidity;
	uint32_t		 mbox_id;
};

static int
append_dup_check(struct store_txn *txn, struct append_req *ar,
    struct append_one *ao, const struct store_mailbox *mb)
{
	const struct conf	*cf = ar->s->imapd->daemon.conf;
	struct store_msg	 m;
	uint32_t		 mbox, uid;
	int64_t			 when;
	int			 ret;

	if (!ao->has_msgid || !(mb->special_use & STORE_SPECIAL_SENT) ||
	    cf->sent_dedup_window == 0)
		return 0;
	ret = store_msgid_get(txn, ar->s->account_id, ao->msgid, &mbox, &uid,
	    &when);
	if (ret == STORE_ENOTFOUND)
		return 0;
	if (ret != 0)
		return ret;
	/* Only what the submission server filed here, recently, still there. */
	if (mbox != mb->id || store_txn_now(txn) - when >
	    (int64_t)cf->sent_dedup_window)
		return 0;
	ret = store_msg_get(txn, ar->s->account_id, mbox, uid, &m);
	if (ret == STORE_ENOTFOUND)
		return 0;
	if (ret != 0)
		return ret;
	ao->duplicate = 1;
	ao->uid = uid;
	return 0;
}

/* RFC 3502 6: every message in one transaction, so all or none. */
static int
append_txn(struct store_txn *txn, void *arg)
{
	struct append_req	*ar = arg;
	struct append_one	*ao;
	struct store_mailbox	 mb;
	size_t			 i;
	int			 ret = 0;

	memset(&mb, 0, sizeof(mb));
	if ((ret = store_mailbox_find(txn, ar->s->account_id, ar->name, &mb)) != 0)
		return ret;
	ar->uidvalidity = mb.uidvalidity;
	ar->mbox_id = mb.id;
	for (i = 0; i < ar->n && ret == 0; i++) {
		ao = &ar->msgs[i];
		ao->duplicate = 0;
		/*
		 * Afresh for each: the append before bumped UIDNEXT, and a
		 * keyword added to a stale record would write it back.
		 */
		if (i > 0) {
			store_mailbox_clear(&mb);
			if ((ret = store_mailbox_get(txn, ar->s->account_id,
			    ar->mbox_id, &mb)) != 0)
				break;
		}
		if ((ret = append_dup_check(txn, ar, ao, &mb)) != 0 ||
		    ao->duplicate)
			continue;
		ret = imap_flags_keywords(txn, &mb, &ao->flags, 1,
		    &ao->ap.keywords);
		ao->ap.flags = ao->flags.sys;
		ao->ap.internaldate = ao->date;
		if (ret == 0)
			ret = store_append_once(txn, ar->s->account_id, mb.id,
			    &ao->ap);
		if (ret == 0)
			ao->uid = ao->ap.msg.uid;
	}
	store_mailbox_clear(&mb);
	return ret;
}

/*
 * The commit took here but the other sites did not acknowledge it: the
 * messages it filed go out again before the NO, so that the client's
 * retry files them once (issue 15).  Duplicates were filed before.
 */
static void
append_unfile(struct append_req *ar)
{
	uint32_t	*uids;
	size_t		 i, n = 0;

	uids = xreallocarray(NULL, ar->n, sizeof(*uids));
	for (i = 0; i < ar->n; i++)
		if (!ar->msgs[i].duplicate)
			uids[n++] = ar->msgs[i].uid;
	if (n > 0)
		(void)store_unfile(ar->s->imapd->daemon.store,
		    ar->s->account_id, ar->mbox_id, uids, n);
	free(uids);
}

/*
 * The Message-ID of the header, hashed as the store indexes it.  The id
 * is read by rfc5322_msgid_parse(), as submission reads it for the copy
 * it files into Gesendet: the duplicate check needs both to agree.
 */
static int
append_msgid(const uint8_t *data, size_t len, uint8_t out[STORE_MSGID_HASHBYTES])
{
	struct mime_msg	*mm;
	char		*v, *id;
	size_t		 vlen;

	if ((mm = mime_parse(data, len)) == NULL)
		return 0;
	v = mime_header_get(data, (size_t)mm->parts[0].hdr_len, "Message-ID",
	    &vlen);
	mime_msg_free(&mm);
	if (v == NULL)
		return 0;
	id = rfc5322_msgid_parse(v);
	free(v);
	if (id == NULL)
		return 0;
	store_msgid_hash(id, strlen(id), out);
	free(id);
	return 1;
}

static void
append_req_clear(struct append_req *ar)
{
	size_t	 i;

	for (i = 0; i < ar->n; i++) {
		if (ar->msgs[i].norm != NULL) {
			sodium_memzero(ar->msgs[i].norm, ar->msgs[i].len);
			free(ar->msgs[i].norm);
		}
		store_blob_free(&ar->msgs[i].blob);
	}
	free(ar->msgs);
	ar->msgs = NULL;
	ar->n = 0;
}

#define APPEND_USAGE	"APPEND takes a mailbox, then [flags] [date] and a " \
	"message literal, once or more (MULTIAPPEND)"

/*
 * The messages after the mailbox name: (RFC 3502 2) each its optional
 * flags and date and its literal, the k-th streamed literal in the k-th
 * buffer the literal hook made.  NULL on BAD (*whyp) or NO (*nop).
 */
static int
append_parse(struct imap_session *s, const struct imap_arg *a,
    struct append_req *ar, const char **whyp, int *nop)
{
	struct append_bufs	*abs = s->cmd_state_free == append_bufs_free ?
				    s->cmd_state : NULL;
	struct append_one	*ao;
	struct append_buf	*ab;
	const char		*date;
	size_t			 nstreamed = 0;

	*nop = 0;
	if (a->type == IMAP_ARG_EOL) {
		*whyp = APPEND_USAGE;
		return -1;
	}
	while (a->type != IMAP_ARG_EOL) {
		ar->msgs = xreallocarray(ar->msgs, ar->n + 1,
		    sizeof(*ar->msgs));
		ao = &ar->msgs[ar->n++];
		memset(ao, 0, sizeof(*ao));
		if (a->type == IMAP_ARG_LIST) {
			if (imap_flags_parse(a, &ao->flags, whyp) == -1)
				return -1;
			a++;
		}
		if (a->type == IMAP_ARG_STRING) {
			if (!imap_arg_get_string(a, &date) ||
			    imap_datetime_parse(date, &ao->date) == -1) {
				*whyp = "Invalid date-time";
				return -1;
			}
			a++;
		}
		if (a->type != IMAP_ARG_LITERAL) {
			*whyp = APPEND_USAGE;
			return -1;
		}
		if (a->flags & IMAP_ARG_F_STREAMED) {
			ab = abs != NULL && nstreamed < abs->n ?
			    abs->v[nstreamed] : NULL;
			nstreamed++;
			if (ab != NULL && ab->failed) {
				*nop = 1;
				*whyp = "[UNAVAILABLE] Temporary storage "
				    "problem";
				return -1;
			}
			if (ab == NULL || !ab->done || ab->len != ab->expected) {
				*nop = 1;
				*whyp = "[UNAVAILABLE] Message not received "
				    "completely";
				return -1;
			}
			/* Back from the spool: one message whole, now. */
			if (ab->spool != NULL && (spool_read_all(ab->spool,
			    &ab->data, &ab->len) == -1 || ab->len !=
			    ab->expected)) {
				log_warn("APPEND: reading a spooled literal");
				spool_free(&ab->spool);
				*nop = 1;
				*whyp = "[UNAVAILABLE] Temporary storage "
				    "problem";
				return -1;
			}
			spool_free(&ab->spool);
			ao->data = ab->data;
			ao->len = ab->len;
		} else {
			ao->data = (const uint8_t *)a->str;
			ao->len = a->len;
		}
		ao->binary = (a->flags & IMAP_ARG_F_LITERAL8) != 0;
		if (ao->len == 0) {
			*nop = 1;
			*whyp = "Empty message";
			return -1;
		}
		a++;
	}
	return 0;
}

enum imap_cmd_status
cmd_append(struct imap_session *s, const struct imap_command *cmd)
{
	struct append_req	 ar;
	struct append_one	*ao;
	const struct imap_arg	*a = cmd->args;
	struct evbuffer		*uids;
	const char		*wire, *why;
	char			*name = NULL;
	uint32_t		*v;
	size_t			 i;
	int			 ret, no;
	enum imap_cmd_status	 st = CMD_DONE;

	memset(&ar, 0, sizeof(ar));
	ar.s = s;
	if (!imap_arg_get_astring(&a[0], &wire)) {
		imap_tagged(s, "BAD", APPEND_USAGE);
		return CMD_DONE;
	}
	if (append_parse(s, a + 1, &ar, &why, &no) == -1) {
		imap_tagged(s, no ? "NO" : "BAD", "%s", why);
		goto out;
	}
	if ((name = imap_mailbox_arg(s, wire, &why)) == NULL) {
		imap_mailbox_refuse(s, why);
		goto out;
	}
	for (i = 0; i < ar.n; i++) {
		ao = &ar.msgs[i];
		/*
		 * Stored with CRLF line ends, as FETCH serves and counts
		 * them; but a literal8 (RFC 3516 4.4) is binary content,
		 * kept byte for byte for BINARY[] to give back.
		 */
		if (!ao->binary &&
		    !crlf_is_normal((const char *)ao->data, ao->len)) {
			ao->norm = crlf_normalize((const char *)ao->data,
			    ao->len, &ao->len);
			ao->data = (const uint8_t *)ao->norm;
		}
		if (ao->len > s->imapd->daemon.conf->max_message_size) {
			imap_tagged(s, "NO", "[TOOBIG] Message larger than "
			    "APPENDLIMIT");
			goto out;
		}
		ao->has_msgid = append_msgid(ao->data, ao->len, ao->msgid);
		ao->blob = mime_seal(s->account_id, s->key->pk, ao->data,
		    ao->len);
		ao->ap.blob = ao->blob;
		/* Group commit: the OK waits for the flush (imap_tagged_durable). */
		ao->ap.nosync = 1;
	}
	ar.name = name;
	/*
	 * One transaction: store_append_run()'s check of a commit that
	 * failed late looks at the first message, and the rest went with it.
	 */
	ret = store_append_run(s->imapd->daemon.store, &ar.msgs[0].ap,
	    append_txn, &ar);
	if (ret == STORE_EUNAVAIL && store_append_unacked())
		append_unfile(&ar);
	ret = imap_txn_result(s, ret);
	if (ret == STORE_ENOTFOUND)
		imap_tagged(s, "NO", "[TRYCREATE] No such mailbox");
	else if (ret != 0)
		imap_tagged_store_error(s, ret);
	else {
		v = xreallocarray(NULL, ar.n, sizeof(*v));
		for (i = 0; i < ar.n; i++) {
			v[i] = ar.msgs[i].uid;
			if (ar.msgs[i].duplicate)
				log_debug("%s: APPEND of a message already "
				    "filed to %s: uid %u", s->address, name,
				    v[i]);
		}
		/* RFC 4315 3: the UIDs in the order of the messages. */
		if ((uids = evbuffer_new()) == NULL)
			fatalx("evbuffer_new");
		imap_write_ordered_list(uids, v, ar.n);
		evbuffer_add(uids, "", 1);
		/* Group commit: the OK waits for the flush. */
		st = imap_tagged_durable(s, "[APPENDUID %u %s] Append "
		    "completed", ar.uidvalidity,
		    (const char *)evbuffer_pullup(uids, -1));
		evbuffer_free(uids);
		free(v);
	}
out:
	append_req_clear(&ar);
	free(name);
	return st;
}
