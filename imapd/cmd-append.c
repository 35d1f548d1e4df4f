/*
 * cmd-append.c: APPEND (RFC 3501 6.3.11, UIDPLUS RFC 4315, APPENDLIMIT
 * RFC 7889, LITERAL+ RFC 7888).
 *
 * The message literal is checked before the client sends it (the
 * parser's literal hook: the mailbox must exist, the size must fit), then
 * read into the session's append buffer; at the end it is parsed once
 * for ENVELOPE/BODYSTRUCTURE, sealed and committed.  A copy of a message
 * the submission server filed to Gesendet moments ago is not stored
 * twice: the client gets the UID of the filed one.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
#include "xmalloc.h"

/* Its rows' handlers and hooks (imap-commands.c). */
imap_cmd_fn	cmd_append;
imap_cmd_literal_fn cmd_append_literal;

struct append_buf {
	uint8_t		*data;
	size_t		 len;
	size_t		 cap;
	size_t		 expected;
	int		 done;
};

static int
append_sink_write(void *ctx, const void *data, size_t len)
{
	struct append_buf	*ab = ctx;

	if (len > ab->expected - ab->len)
		return -1;
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
append_buf_free(void *arg)
{
	struct append_buf	*ab = arg;

	if (ab == NULL)
		return;
	if (ab->data != NULL)
		sodium_memzero(ab->data, ab->len);
	free(ab->data);
	free(ab);
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
	struct append_buf	*ab;
	const char		*wire, *why;
	char			*name;
	int			 ret;

	/* Only the message: the last top-level argument after the name. */
	if (li->depth != 0 || li->index == 0 ||
	    !imap_arg_get_astring(&li->args[0], &wire))
		return IMAP_LITERAL_MEMORY;
	if (li->size > cf->max_message_size) {
		*textp = "[TOOBIG] Message larger than APPENDLIMIT";
		return IMAP_LITERAL_REFUSE;
	}
	if ((name = imap_mailbox_arg(s, wire, &why)) == NULL) {
		*textp = "Invalid mailbox name";
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
	if (cf->mailbox_quota != 0 && ac.used + li->size > cf->mailbox_quota) {
		*textp = "[OVERQUOTA] Mailbox full";
		return IMAP_LITERAL_REFUSE;
	}
	if (s->cmd_state_free != NULL && s->cmd_state != NULL)
		s->cmd_state_free(s->cmd_state);
	ab = xcalloc(1, sizeof(*ab));
	ab->expected = (size_t)li->size;
	s->cmd_state = ab;
	s->cmd_state_free = append_buf_free;
	sink->write = append_sink_write;
	sink->done = append_sink_done;
	sink->abort = append_sink_abort;
	sink->ctx = ab;
	return IMAP_LITERAL_STREAM;
}

struct append_req {
	struct imap_session	*s;
	const char		*name;
	struct imap_flags	 flags;
	time_t			 date;
	struct store_append	 ap;		/* the blob in, the record out */
	uint8_t			 msgid[STORE_MSGID_HASHBYTES];
	int			 has_msgid;
	uint32_t		 uidvalidity;
	uint32_t		 uid;
	int			 duplicate;
};

static int
append_dup_check(struct store_txn *txn, struct append_req *ar,
    const struct store_mailbox *mb)
{
	const struct conf	*cf = ar->s->imapd->daemon.conf;
	struct store_msg	 m;
	uint32_t		 mbox, uid;
	int64_t			 when;
	int			 ret;

	if (!ar->has_msgid || !(mb->special_use & STORE_SPECIAL_SENT) ||
	    cf->sent_dedup_window == 0)
		return 0;
	ret = store_msgid_get(txn, ar->s->account_id, ar->msgid, &mbox, &uid,
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
	ar->duplicate = 1;
	ar->uid = uid;
	return 0;
}

static int
append_txn(struct store_txn *txn, void *arg)
{
	struct append_req	*ar = arg;
	struct store_mailbox	 mb;
	int			 ret;

	memset(&mb, 0, sizeof(mb));
	ar->duplicate = 0;
	if ((ret = store_mailbox_find(txn, ar->s->account_id, ar->name, &mb)) != 0)
		return ret;
	ar->uidvalidity = mb.uidvalidity;
	if ((ret = append_dup_check(txn, ar, &mb)) != 0 || ar->duplicate) {
		store_mailbox_clear(&mb);
		return ret;
	}
	ret = imap_flags_keywords(txn, &mb, &ar->flags, 1, &ar->ap.keywords);
	ar->ap.flags = ar->flags.sys;
	ar->ap.internaldate = ar->date;
	if (ret == 0)
		ret = store_append_once(txn, ar->s->account_id, mb.id, &ar->ap);
	if (ret == 0)
		ar->uid = ar->ap.msg.uid;
	store_mailbox_clear(&mb);
	return ret;
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

enum imap_cmd_status
cmd_append(struct imap_session *s, const struct imap_command *cmd)
{
	struct append_req	 ar;
	struct append_buf	*ab = s->cmd_state;
	const struct imap_arg	*a = cmd->args, *msg;
	const uint8_t		*data;
	struct store_blob	*blob;
	const char		*wire, *why, *date;
	char			*name, *norm = NULL;
	size_t			 len;
	int			 ret;
	enum imap_cmd_status	 st = CMD_DONE;

	memset(&ar, 0, sizeof(ar));
	ar.s = s;
	if (!imap_arg_get_astring(&a[0], &wire)) {
		imap_tagged(s, "BAD", "APPEND takes a mailbox, [flags], [date] "
		    "and a message");
		return CMD_DONE;
	}
	a++;
	if (a->type == IMAP_ARG_LIST) {
		if (imap_flags_parse(a, &ar.flags, &why) == -1) {
			imap_tagged(s, "BAD", "%s", why);
			return CMD_DONE;
		}
		a++;
	}
	if (a->type == IMAP_ARG_STRING) {
		if (!imap_arg_get_string(a, &date) ||
		    imap_datetime_parse(date, &ar.date) == -1) {
			imap_tagged(s, "BAD", "Invalid date-time");
			return CMD_DONE;
		}
		a++;
	}
	msg = a;
	if (msg->type != IMAP_ARG_LITERAL || !imap_arg_is_eol(&a[1])) {
		imap_tagged(s, "BAD", "APPEND takes a mailbox, [flags], [date] "
		    "and a message literal (no MULTIAPPEND)");
		return CMD_DONE;
	}
	if (msg->flags & IMAP_ARG_F_STREAMED) {
		if (ab == NULL || !ab->done || ab->len != ab->expected) {
			imap_tagged(s, "NO", "[UNAVAILABLE] Message not "
			    "received completely");
			return CMD_DONE;
		}
		data = ab->data;
		len = ab->len;
	} else {
		data = (const uint8_t *)msg->str;
		len = msg->len;
	}
	if (len == 0) {
		imap_tagged(s, "NO", "Empty message");
		return CMD_DONE;
	}
	if ((name = imap_mailbox_arg(s, wire, &why)) == NULL) {
		imap_tagged(s, "BAD", "%s", why);
		return CMD_DONE;
	}
	/* Stored with CRLF line ends, as FETCH serves and counts them. */
	if (!crlf_is_normal((const char *)data, len)) {
		norm = crlf_normalize((const char *)data, len, &len);
		data = (const uint8_t *)norm;
	}
	if (len > s->imapd->daemon.conf->max_message_size) {
		imap_tagged(s, "NO", "[TOOBIG] Message larger than APPENDLIMIT");
		goto out;
	}
	ar.has_msgid = append_msgid(data, len, ar.msgid);
	blob = mime_seal(s->account_id, s->key->pk, data, len);
	ar.name = name;
	ar.ap.blob = blob;
	/* Group commit: the OK waits for the flush (imap_tagged_durable). */
	ar.ap.nosync = 1;
	ret = imap_txn_result(s, store_append_run(s->imapd->daemon.store,
	    &ar.ap, append_txn, &ar));
	store_blob_free(&blob);
	if (ret == STORE_ENOTFOUND)
		imap_tagged(s, "NO", "[TRYCREATE] No such mailbox");
	else if (ret != 0)
		imap_tagged_store_error(s, ret);
	else {
		if (ar.duplicate)
			log_debug("%s: APPEND of a message already filed to "
			    "%s: uid %u", s->address, name, ar.uid);
		st = imap_tagged_durable(s, "[APPENDUID %u %u] Append "
		    "completed", ar.uidvalidity, ar.uid);
	}
out:
	if (norm != NULL) {
		sodium_memzero(norm, len);
		free(norm);
	}
	free(name);
	return st;
}
