/*
 * cmd-store.c: STORE and UID STORE (RFC 3501 6.4.6, CONDSTORE RFC 7162
 * 3.1.3).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap-flags.h"
#include "imap-seqset.h"
#include "imapd.h"
#include "xmalloc.h"

/* Its rows' handlers and hooks (imap-commands.c). */
imap_cmd_fn	cmd_store;

enum store_mode {
	STORE_SET,
	STORE_ADD,
	STORE_REMOVE,
};

struct store_req {
	struct imap_session	*s;
	enum store_mode		 mode;
	int			 silent;
	uint64_t		 unchangedsince;
	struct imap_flags	 flags;
	uint32_t		*seqs;		/* the messages to change */
	size_t			 nseqs;
	/* Results, by position in seqs. */
	struct store_msg	*after;
	int			*changed;
	int			*modified;	/* UNCHANGEDSINCE failed */
	int			*gone;
};

static int
store_txn(struct store_txn *txn, void *arg)
{
	struct store_req	*sr = arg;
	struct imap_session	*s = sr->s;
	struct store_mailbox	 mb;
	struct store_msg	 m;
	uint64_t		 kw, newkw;
	uint32_t		 newflags;
	size_t			 i;
	int			 ret;

	memset(&mb, 0, sizeof(mb));
	if ((ret = store_mailbox_get(txn, s->account_id, s->view.mailbox_id,
	    &mb)) != 0)
		return ret;
	/* Keywords added by STORE become permanent ones (\* in PERMANENTFLAGS). */
	if ((ret = imap_flags_keywords(txn, &mb, &sr->flags,
	    sr->mode != STORE_REMOVE, &kw)) != 0)
		goto out;
	imap_view_set_keywords(&s->view, &mb);
	for (i = 0; i < sr->nseqs; i++) {
		uint32_t uid = s->view.msgs[sr->seqs[i] - 1].uid;

		sr->changed[i] = sr->modified[i] = sr->gone[i] = 0;
		ret = store_msg_get(txn, s->account_id, s->view.mailbox_id, uid,
		    &m);
		if (ret == STORE_ENOTFOUND) {
			sr->gone[i] = 1;
			continue;
		}
		if (ret != 0)
			goto out;
		switch (sr->mode) {
		case STORE_SET:
			newflags = sr->flags.sys;
			newkw = kw;
			break;
		case STORE_ADD:
			newflags = m.flags | sr->flags.sys;
			newkw = m.keywords | kw;
			break;
		default:
			newflags = m.flags & ~sr->flags.sys;
			newkw = m.keywords & ~kw;
			break;
		}
		ret = store_msg_store(txn, s->account_id, s->view.mailbox_id,
		    uid, newflags, newkw, sr->unchangedsince, &sr->after[i]);
		if (ret == STORE_EMODIFIED) {
			sr->modified[i] = 1;
			continue;
		}
		if (ret != 0)
			goto out;
		sr->changed[i] = sr->after[i].modseq != m.modseq;
	}
	ret = 0;
out:
	store_mailbox_clear(&mb);
	return ret;
}

static int
store_parse_action(const char *a, struct store_req *sr)
{
	size_t	 n = strlen(a);

	sr->mode = STORE_SET;
	if (*a == '+' || *a == '-') {
		sr->mode = *a == '+' ? STORE_ADD : STORE_REMOVE;
		a++;
		n--;
	}
	if (n == 12 && strcasecmp(a, "FLAGS.SILENT") == 0) {
		sr->silent = 1;
		return 0;
	}
	return n == 5 && strcasecmp(a, "FLAGS") == 0 ? 0 : -1;
}

enum imap_cmd_status
cmd_store(struct imap_session *s, const struct imap_command *cmd)
{
	struct store_req	 sr;
	struct imap_seqset	*set = NULL;
	const struct imap_arg	*a = cmd->args;
	int			 uid_mode = s->cmd_uid;
	const struct imap_arg	*mods;
	const char		*setstr, *action, *why;
	uint32_t		 seq, *failed = NULL;
	size_t			 i, nmods, nfailed = 0;
	int			 ret;
	enum imap_cmd_status	 st = CMD_DONE;

	memset(&sr, 0, sizeof(sr));
	sr.s = s;
	if (!imap_arg_get_atom(&a[0], &setstr)) {
		imap_tagged(s, "BAD", "STORE takes a set, [modifiers], an action "
		    "and flags");
		return CMD_DONE;
	}
	a++;
	if (a->type == IMAP_ARG_LIST) {
		/* RFC 7162 3.1.3: (UNCHANGEDSINCE modseq) */
		(void)imap_arg_get_list(a, &mods, &nmods);
		if (nmods != 2 || !imap_arg_atom_equals(&mods[0], "UNCHANGEDSINCE") ||
		    !imap_arg_get_number64(&mods[1], &sr.unchangedsince)) {
			imap_tagged(s, "BAD", "Unknown STORE modifier");
			return CMD_DONE;
		}
		imap_session_condstore(s);
		/* 0 means "not since anything": every message fails. */
		a++;
	}
	if (!imap_arg_get_atom(&a[0], &action) ||
	    store_parse_action(action, &sr) == -1 || imap_arg_is_eol(&a[1])) {
		imap_tagged(s, "BAD", "STORE takes FLAGS, +FLAGS or -FLAGS "
		    "(.SILENT) and flags");
		return CMD_DONE;
	}
	if (imap_flags_parse_args(&a[1], &sr.flags, &why) == -1) {
		imap_tagged(s, "BAD", "%s", why);
		return CMD_DONE;
	}
	if (s->view.readonly) {
		imap_tagged(s, "NO", "[READ-ONLY] Mailbox is read-only");
		return CMD_DONE;
	}
	if ((set = imap_set_arg(s, setstr, uid_mode)) == NULL) {
		imap_tagged(s, "BAD", "Invalid sequence set");
		return CMD_DONE;
	}
	for (seq = 1; (seq = imap_view_next_in_set(&s->view, set, uid_mode,
	    seq)) != 0; seq++) {
		if (s->view.msgs[seq - 1].expunged)
			continue;
		sr.seqs = xreallocarray(sr.seqs, sr.nseqs + 1, sizeof(*sr.seqs));
		sr.seqs[sr.nseqs++] = seq;
	}
	imap_set_free(&set);
	if (sr.nseqs > 0) {
		sr.after = xcalloc(sr.nseqs, sizeof(*sr.after));
		sr.changed = xcalloc(sr.nseqs, sizeof(int));
		sr.modified = xcalloc(sr.nseqs, sizeof(int));
		sr.gone = xcalloc(sr.nseqs, sizeof(int));
	}
	ret = sr.nseqs > 0 ? imap_txn_nosync(s, store_txn, &sr) : 0;
	if (ret != 0) {
		imap_tagged_store_error(s, ret);
		goto out;
	}
	/* New keywords: the client learns them before the FETCHes using them. */
	if (s->view.keywords_changed) {
		s->view.keywords_changed = 0;
		imap_write_mailbox_flags(s);
	}
	for (i = 0; i < sr.nseqs; i++) {
		seq = sr.seqs[i];
		if (sr.gone[i])
			continue;
		if (sr.modified[i]) {
			failed = xreallocarray(failed, nfailed + 1,
			    sizeof(*failed));
			failed[nfailed++] = uid_mode ?
			    s->view.msgs[seq - 1].uid : seq;
			continue;
		}
		imap_view_update(&s->view, seq, &sr.after[i]);
		/*
		 * RFC 3501 6.4.6: the new flags, unless .SILENT; RFC 7162
		 * 3.1.3: with CONDSTORE, MODSEQ goes out even when silent.
		 */
		if (sr.silent && !(s->condstore && sr.changed[i]))
			continue;
		imap_printf(s, "* %u FETCH (", seq);
		if (uid_mode)
			imap_printf(s, "UID %u ", sr.after[i].uid);
		if (s->condstore)
			imap_printf(s, "MODSEQ (%llu)%s",
			    (unsigned long long)sr.after[i].modseq,
			    sr.silent ? "" : " ");
		if (!sr.silent) {
			imap_printf(s, "FLAGS ");
			imap_write_flags(s, sr.after[i].uid, sr.after[i].flags,
			    sr.after[i].keywords);
		}
		imap_printf(s, ")\r\n");
	}
	if (nfailed > 0) {
		struct evbuffer	*tmp = evbuffer_new();

		/* RFC 7162 3.1.3: the messages UNCHANGEDSINCE kept as they were. */
		imap_set_write_list(tmp, failed, nfailed);
		evbuffer_add(tmp, "", 1);
		/* Group commit: the OK waits for the log flush. */
		st = imap_tagged_durable(s, "[MODIFIED %s] Conditional STORE "
		    "failed for some messages",
		    (const char *)evbuffer_pullup(tmp, -1));
		evbuffer_free(tmp);
	} else if (sr.nseqs > 0)
		st = imap_tagged_durable(s, "Store completed");
	else
		imap_tagged(s, "OK", "Store completed");
out:
	free(failed);
	free(sr.seqs);
	free(sr.after);
	free(sr.changed);
	free(sr.modified);
	free(sr.gone);
	return st;
}
