/*
 * cmd-expunge.c: EXPUNGE and UID EXPUNGE (RFC 3501 6.4.3, UIDPLUS
 * RFC 4315 2.1).  The EXPUNGE (or VANISHED) responses come from the view's
 * sync before the tagged OK.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "imap-seqset.h"
#include "imapd.h"
#include "xmalloc.h"

/* Its rows' handlers and hooks (imap-commands.c). */
imap_cmd_fn	cmd_expunge;

struct expunge_req {
	struct imap_session	*s;
	struct imap_seqset	*uids;		/* NULL: every \Deleted */
	uint32_t		*todo;
	size_t			 n;
};

static int
expunge_collect(const struct store_msg *m, void *arg)
{
	struct expunge_req	*er = arg;

	if (!(m->flags & STORE_F_DELETED) ||
	    (er->uids != NULL && !imap_seqset_contains(er->uids, m->uid)))
		return 0;
	er->todo = xreallocarray(er->todo, er->n + 1, sizeof(*er->todo));
	er->todo[er->n++] = m->uid;
	return 0;
}

static int
expunge_txn(struct store_txn *txn, void *arg)
{
	struct expunge_req	*er = arg;
	struct imap_session	*s = er->s;
	size_t			 i;
	int			 ret = 0;

	free(er->todo);
	er->todo = NULL;
	er->n = 0;
	/*
	 * What is \Deleted now, in the store: another session may have set
	 * it.  UID EXPUNGE reads only its set's ranges (issue 18).
	 */
	if (er->uids == NULL)
		ret = store_msg_iter(txn, s->account_id, s->view.mailbox_id, 1,
		    UINT32_MAX, expunge_collect, er);
	for (i = 0; er->uids != NULL && i < er->uids->count; i++)
		if ((ret = store_msg_iter(txn, s->account_id,
		    s->view.mailbox_id, er->uids->ranges[i].lo,
		    er->uids->ranges[i].hi, expunge_collect, er)) != 0)
			break;
	if (ret != 0)
		return ret;
	for (i = 0; i < er->n; i++)
		if ((ret = store_msg_expunge(txn, s->account_id,
		    s->view.mailbox_id, er->todo[i])) != 0 &&
		    ret != STORE_ENOTFOUND)
			return ret;
	return 0;
}

enum imap_cmd_status
cmd_expunge(struct imap_session *s, const struct imap_command *cmd)
{
	struct expunge_req	 er;
	const struct imap_arg	*a = cmd->args;
	int			 uid_mode = s->cmd_uid;
	const char		*setstr;
	int			 ret;

	memset(&er, 0, sizeof(er));
	er.s = s;
	if (uid_mode) {
		if (!imap_arg_get_atom(&a[0], &setstr) ||
		    !imap_arg_is_eol(&a[1]) ||
		    (er.uids = imap_set_parse(setstr, imap_view_max_uid(&s->view))) == NULL) {
			imap_tagged(s, "BAD", "UID EXPUNGE takes a UID set");
			return CMD_DONE;
		}
	} else if (!imap_arg_is_eol(a)) {
		imap_tagged(s, "BAD", "EXPUNGE takes no arguments");
		return CMD_DONE;
	}
	if (s->view.readonly) {
		imap_set_free(&er.uids);
		imap_tagged(s, "NO", "[READ-ONLY] Mailbox is read-only");
		return CMD_DONE;
	}
	ret = imap_txn_nosync(s, expunge_txn, &er);
	imap_set_free(&er.uids);
	free(er.todo);
	if (ret != 0) {
		imap_tagged_store_error(s, ret);
		return CMD_DONE;
	}
	/* Group commit: the EXPUNGEs and the OK wait for the log flush. */
	return imap_tagged_durable(s, "Expunge completed");
}
