/*
 * cmd-select.c: SELECT, EXAMINE (RFC 3501 6.3.1-2, RFC 7162 3.1.2, 3.2.5),
 * CLOSE, UNSELECT (RFC 3691) and CHECK.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap-seqset.h"
#include "imapd.h"
#include "xmalloc.h"

/* Its rows' handlers and hooks (imap-commands.c). */
imap_cmd_fn	cmd_select, cmd_close, cmd_unselect;

struct select_req {
	struct imap_session	*s;
	const char		*name;
	int			 readonly;
	uint32_t		 first_unseen;
	/* QRESYNC parameters (RFC 7162 3.2.5). */
	int			 qresync;
	uint32_t		 q_uidvalidity;
	uint64_t		 q_modseq;
	struct imap_seqset	*q_known;
	/* Found by the transaction. */
	uint32_t		*vanished;
	size_t			 nvanished;
	uint32_t		*changed;	/* seqs with flags changed */
	size_t			 nchanged;
	uint32_t		 recent_first, recent_last;
};

static int
select_qresync_change(uint32_t uid, uint64_t modseq, int expunged, void *arg)
{
	struct select_req	*sr = arg;
	uint32_t		 seq;

	if (sr->q_known != NULL && !imap_seqset_contains(sr->q_known, uid))
		return 0;
	if (expunged) {
		sr->vanished = xreallocarray(sr->vanished, sr->nvanished + 1,
		    sizeof(*sr->vanished));
		sr->vanished[sr->nvanished++] = uid;
	} else if ((seq = imap_view_seq(&sr->s->view, uid)) != 0) {
		sr->changed = xreallocarray(sr->changed, sr->nchanged + 1,
		    sizeof(*sr->changed));
		sr->changed[sr->nchanged++] = seq;
	}
	return 0;
}

static int
select_txn(struct store_txn *txn, void *arg)
{
	struct select_req	*sr = arg;
	struct imap_session	*s = sr->s;
	struct store_mailbox	 mb;
	int			 ret;

	memset(&mb, 0, sizeof(mb));
	sr->first_unseen = 0;
	free(sr->vanished);
	free(sr->changed);
	sr->vanished = sr->changed = NULL;
	sr->nvanished = sr->nchanged = 0;
	if ((ret = store_mailbox_find(txn, s->account_id, sr->name, &mb)) != 0)
		return ret;
	ret = imap_view_open(txn, &s->view, s->account_id, mb.id, sr->readonly);
	store_mailbox_clear(&mb);
	if (ret != 0)
		return ret;
	/* RFC 3501 7.3.1: from the view, in memory, past a lowwater mark. */
	sr->first_unseen = imap_view_first_unseen(&s->view);
	/*
	 * RFC 3501 2.3.2, 6.3.2: SELECT claims the messages no session has
	 * seen as \Recent; EXAMINE shows them so but leaves them (Dovecot).
	 */
	if ((ret = store_mailbox_recent(txn, s->account_id, s->view.mailbox_id,
	    !sr->readonly, &sr->recent_first, &sr->recent_last)) != 0)
		return ret;
	if (sr->qresync && sr->q_uidvalidity == s->view.uidvalidity &&
	    (ret = store_changes_iter(txn, s->account_id, s->view.mailbox_id,
	    sr->q_modseq, select_qresync_change, sr)) != 0)
		return ret;
	return 0;
}

static void
select_free(struct select_req *sr)
{
	imap_set_free(&sr->q_known);
	free(sr->vanished);
	free(sr->changed);
}

/* RFC 7162 3.2.5: (QRESYNC (uidvalidity modseq [known-uids [seq-match]])) */
static int
select_parse_params(struct imap_session *s, const struct imap_arg *a,
    struct select_req *sr, const char **whyp)
{
	const struct imap_arg	*list, *q;
	size_t			 n, nq, i;

	if (!imap_arg_get_list(a, &list, &n)) {
		*whyp = "SELECT parameters must be a list";
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (imap_arg_atom_equals(&list[i], "CONDSTORE")) {
			s->condstore = 1;
			continue;
		}
		if (!imap_arg_atom_equals(&list[i], "QRESYNC") || i + 1 >= n ||
		    !imap_arg_get_list(&list[i + 1], &q, &nq) || nq < 2 ||
		    nq > 4) {
			*whyp = "Unknown SELECT parameter";
			return -1;
		}
		if (!s->qresync) {
			*whyp = "QRESYNC must be enabled first (ENABLE QRESYNC)";
			return -1;
		}
		if (!imap_arg_get_number(&q[0], &sr->q_uidvalidity) ||
		    sr->q_uidvalidity == 0 ||
		    !imap_arg_get_number64(&q[1], &sr->q_modseq) ||
		    sr->q_modseq == 0) {
			*whyp = "QRESYNC needs a UIDVALIDITY and a MODSEQ";
			return -1;
		}
		if (nq >= 3) {
			const char	*set;

			if (!imap_arg_get_atom(&q[2], &set) ||
			    (sr->q_known = imap_set_parse(set, UINT32_MAX)) == NULL) {
				*whyp = "Invalid known-uids in QRESYNC";
				return -1;
			}
		}
		/* The seq-match data only speeds up servers without tombstones. */
		sr->qresync = 1;
		i++;
	}
	return 0;
}

enum imap_cmd_status
cmd_select(struct imap_session *s, const struct imap_command *cmd)
{
	struct select_req	 sr;
	const char		*wire, *why = NULL;
	char			*name;
	size_t			 i;
	int			 ret, was_selected = s->state == S_SELECTED;

	memset(&sr, 0, sizeof(sr));
	sr.s = s;
	sr.readonly = strcasecmp(cmd->name, "EXAMINE") == 0;
	if (cmd->nargs < 1 || cmd->nargs > 2 ||
	    !imap_arg_get_astring(&cmd->args[0], &wire)) {
		imap_tagged(s, "BAD", "%s takes a mailbox name", cmd->name);
		return CMD_DONE;
	}
	if (cmd->nargs == 2 &&
	    select_parse_params(s, &cmd->args[1], &sr, &why) == -1) {
		imap_tagged(s, "BAD", "%s", why);
		select_free(&sr);
		return CMD_DONE;
	}
	name = imap_mailbox_arg(s, wire, &why);
	/* RFC 3501 6.3.1: a failed SELECT leaves no mailbox selected. */
	if (was_selected) {
		imap_session_enter_state(s, S_AUTH);
		/*
		 * RFC 7162 3.2.11: a server that advertises QRESYNC sends
		 * [CLOSED] whether or not the client enabled it.
		 */
		imap_printf(s, "* OK [CLOSED] Previous mailbox closed\r\n");
	}
	if (name == NULL) {
		imap_mailbox_refuse(s, why);
		select_free(&sr);
		return CMD_DONE;
	}
	sr.name = name;
	ret = imap_txn(s, select_txn, &sr);
	/*
	 * RFC 3501 6.3.1: a mailbox that cannot be modified is selected
	 * READ-ONLY.  A replication standby (issue 15) takes no writes,
	 * not even SELECT's \Recent marks: it serves the mailbox as
	 * EXAMINE would.
	 */
	if (ret == STORE_EUNAVAIL && !sr.readonly) {
		sr.readonly = 1;
		ret = imap_txn(s, select_txn, &sr);
	}
	if (ret != 0) {
		imap_view_clear(&s->view);
		if (ret == STORE_ENOTFOUND)
			imap_tagged(s, "NO", "[NONEXISTENT] No such mailbox");
		else
			imap_tagged_store_error(s, ret);
		free(name);
		select_free(&sr);
		return CMD_DONE;
	}
	s->mailbox_name = name;
	imap_session_recent_add(s, sr.recent_first, sr.recent_last);
	imap_write_mailbox_flags(s);
	imap_printf(s, "* %u EXISTS\r\n", s->view.count);
	imap_session_recent_report(s, 1);
	if (sr.first_unseen != 0)
		imap_printf(s, "* OK [UNSEEN %u] First unseen\r\n",
		    sr.first_unseen);
	imap_printf(s, "* OK [UIDVALIDITY %u] UIDs valid\r\n"
	    "* OK [UIDNEXT %u] Predicted next UID\r\n", s->view.uidvalidity,
	    s->view.uidnext);
	if (s->condstore)
		imap_printf(s, "* OK [HIGHESTMODSEQ %llu] Highest\r\n",
		    (unsigned long long)s->view.highestmodseq);
	if (sr.qresync && sr.q_uidvalidity == s->view.uidvalidity) {
		if (sr.nvanished > 0) {
			imap_printf(s, "* VANISHED (EARLIER) ");
			imap_set_write_list(conn_out(s->conn), sr.vanished,
			    sr.nvanished);
			imap_printf(s, "\r\n");
		}
		for (i = 0; i < sr.nchanged; i++) {
			const struct imap_view_msg *vm =
			    &s->view.msgs[sr.changed[i] - 1];

			imap_printf(s, "* %u FETCH (UID %u MODSEQ (%llu) FLAGS ",
			    sr.changed[i], vm->uid,
			    (unsigned long long)vm->modseq);
			imap_write_flags(s, vm->uid, vm->flags, vm->keywords);
			imap_printf(s, ")\r\n");
		}
	}
	imap_session_enter_state(s, S_SELECTED);
	imap_tagged(s, "OK", "[%s] %s completed", sr.readonly ? "READ-ONLY" :
	    "READ-WRITE", strcasecmp(cmd->name, "EXAMINE") == 0 ? "EXAMINE" :
	    "SELECT");
	select_free(&sr);
	return CMD_DONE;
}

struct close_req {
	struct imap_session	*s;
	uint32_t		*uids;
	size_t			 n;
};

static int
close_collect(const struct store_msg *m, void *arg)
{
	struct close_req	*cr = arg;

	if (m->flags & STORE_F_DELETED) {
		cr->uids = xreallocarray(cr->uids, cr->n + 1, sizeof(*cr->uids));
		cr->uids[cr->n++] = m->uid;
	}
	return 0;
}

static int
close_txn(struct store_txn *txn, void *arg)
{
	struct close_req	*cr = arg;
	struct imap_session	*s = cr->s;
	size_t			 i;
	int			 ret;

	free(cr->uids);
	cr->uids = NULL;
	cr->n = 0;
	if ((ret = store_msg_iter(txn, s->account_id, s->view.mailbox_id, 1,
	    UINT32_MAX, close_collect, cr)) != 0)
		return ret;
	for (i = 0; i < cr->n; i++)
		if ((ret = store_msg_expunge(txn, s->account_id,
		    s->view.mailbox_id, cr->uids[i])) != 0 &&
		    ret != STORE_ENOTFOUND)
			return ret;
	return 0;
}

enum imap_cmd_status
cmd_close(struct imap_session *s, const struct imap_command *cmd)
{
	struct close_req	 cr = { s, NULL, 0 };
	int			 ret = 0, wrote = !s->view.readonly;

	if (!imap_arg_is_eol(cmd->args)) {
		imap_tagged(s, "BAD", "CLOSE takes no arguments");
		return CMD_DONE;
	}
	/* RFC 3501 6.4.2: expunge silently, unless read-only. */
	if (wrote)
		ret = imap_txn_nosync(s, close_txn, &cr);
	free(cr.uids);
	imap_session_enter_state(s, S_AUTH);
	if (ret != 0) {
		imap_tagged_store_error(s, ret);
		return CMD_DONE;
	}
	/* Group commit: the OK waits for the log flush of the expunges. */
	if (wrote)
		return imap_tagged_durable(s, "Close completed");
	imap_tagged(s, "OK", "Close completed");
	return CMD_DONE;
}

enum imap_cmd_status
cmd_unselect(struct imap_session *s, const struct imap_command *cmd)
{
	if (!imap_arg_is_eol(cmd->args)) {
		imap_tagged(s, "BAD", "UNSELECT takes no arguments");
		return CMD_DONE;
	}
	imap_session_enter_state(s, S_AUTH);
	imap_tagged(s, "OK", "Unselect completed");
	return CMD_DONE;
}
