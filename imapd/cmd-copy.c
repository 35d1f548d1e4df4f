/*
 * cmd-copy.c: COPY, MOVE and their UID forms (RFC 3501 6.4.7, MOVE
 * RFC 6851, COPYUID RFC 4315).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "imap-seqset.h"
#include "imapd.h"
#include "xmalloc.h"

/* Its rows' handlers and hooks (imap-commands.c). */
imap_cmd_fn	cmd_copy, cmd_move;

struct copy_req {
	struct imap_session	*s;
	const char		*dest;
	int			 move;
	uint32_t		*uids;		/* source UIDs, ascending */
	uint32_t		*newuids;
	size_t			 n;
	uint32_t		 uidvalidity;
};

static int
copy_txn(struct store_txn *txn, void *arg)
{
	struct copy_req		*cr = arg;
	struct imap_session	*s = cr->s;
	struct store_mailbox	 mb;
	size_t			 i;
	int			 ret;

	memset(&mb, 0, sizeof(mb));
	if ((ret = store_mailbox_find(txn, s->account_id, cr->dest, &mb)) != 0)
		return ret;
	cr->uidvalidity = mb.uidvalidity;
	for (i = 0; i < cr->n; i++) {
		ret = store_msg_copy(txn, s->account_id, s->view.mailbox_id,
		    cr->uids[i], mb.id, &cr->newuids[i]);
		if (ret == 0 && cr->move)
			ret = store_msg_expunge(txn, s->account_id,
			    s->view.mailbox_id, cr->uids[i]);
		if (ret != 0)
			break;
	}
	store_mailbox_clear(&mb);
	return ret;
}

static enum imap_cmd_status
copy_run(struct imap_session *s, const struct imap_command *cmd, int uid_mode,
    int move)
{
	struct copy_req		 cr;
	struct imap_seqset	*set = NULL;
	const struct imap_arg	*a = cmd->args;
	const char		*setstr, *wire, *why;
	struct evbuffer		*tmp;
	char			*dest;
	uint32_t		 seq;
	int			 ret;
	enum imap_cmd_status	 st = CMD_DONE;

	if (!imap_arg_get_atom(&a[0], &setstr) ||
	    !imap_arg_get_astring(&a[1], &wire) || !imap_arg_is_eol(&a[2])) {
		imap_tagged(s, "BAD", "%s takes a sequence set and a mailbox",
		    move ? "MOVE" : "COPY");
		return CMD_DONE;
	}
	if ((dest = imap_mailbox_arg(s, wire, &why)) == NULL) {
		imap_mailbox_refuse(s, why);
		return CMD_DONE;
	}
	if (move && s->view.readonly) {
		imap_tagged(s, "NO", "[READ-ONLY] Mailbox is read-only");
		free(dest);
		return CMD_DONE;
	}
	if ((set = imap_set_arg(s, setstr, uid_mode)) == NULL) {
		imap_tagged(s, "BAD", "Invalid sequence set");
		free(dest);
		return CMD_DONE;
	}
	memset(&cr, 0, sizeof(cr));
	cr.s = s;
	cr.dest = dest;
	cr.move = move;
	for (seq = 1; (seq = imap_view_next_in_set(&s->view, set, uid_mode,
	    seq)) != 0; seq++) {
		const struct imap_view_msg *vm = &s->view.msgs[seq - 1];

		if (vm->expunged)
			continue;
		cr.uids = xreallocarray(cr.uids, cr.n + 1, sizeof(*cr.uids));
		cr.uids[cr.n++] = vm->uid;
	}
	imap_set_free(&set);
	if (cr.n == 0) {
		/* RFC 4315: nothing copied, no COPYUID. */
		imap_tagged(s, "OK", "%s completed (no messages)", move ?
		    "Move" : "Copy");
		free(dest);
		return CMD_DONE;
	}
	cr.newuids = xcalloc(cr.n, sizeof(*cr.newuids));
	ret = imap_txn_nosync(s, copy_txn, &cr);
	if (ret == STORE_ENOTFOUND)
		imap_tagged(s, "NO", "[TRYCREATE] No such mailbox (or a message "
		    "was expunged)");
	else if (ret != 0)
		imap_tagged_store_error(s, ret);
	else {
		tmp = evbuffer_new();
		evbuffer_add_printf(tmp, "COPYUID %u ", cr.uidvalidity);
		imap_set_write_list(tmp, cr.uids, cr.n);
		evbuffer_add(tmp, " ", 1);
		/* New UIDs ascend with the source UIDs: one range list each. */
		imap_set_write_list(tmp, cr.newuids, cr.n);
		evbuffer_add(tmp, "", 1);
		if (move) {
			/* RFC 6851 3.3: COPYUID untagged, then the expunges. */
			imap_printf(s, "* OK [%s] Moved\r\n",
			    (const char *)evbuffer_pullup(tmp, -1));
			/* Group commit: the OK waits for the log flush. */
			st = imap_tagged_durable(s, "Move completed");
		} else
			st = imap_tagged_durable(s, "[%s] Copy completed",
			    (const char *)evbuffer_pullup(tmp, -1));
		evbuffer_free(tmp);
	}
	free(cr.uids);
	free(cr.newuids);
	free(dest);
	return st;
}

enum imap_cmd_status
cmd_copy(struct imap_session *s, const struct imap_command *cmd)
{
	return copy_run(s, cmd, s->cmd_uid, 0);
}

enum imap_cmd_status
cmd_move(struct imap_session *s, const struct imap_command *cmd)
{
	return copy_run(s, cmd, s->cmd_uid, 1);
}
