/*
 * cmd-status.c: STATUS (RFC 3501 6.3.10, RFC 7162 3.1.6, RFC 9208 4.2)
 * and the STATUS items LIST-STATUS returns (RFC 5819).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "imapd.h"

/* Its rows' handlers and hooks (imap-commands.c). */
imap_cmd_fn	cmd_status;

struct status_deleted {
	uint32_t	 messages;
	uint64_t	 bytes;
};

static int	status_deleted_one(const struct store_msg *, void *);
static int	status_deleted_txn(struct store_txn *, void *);

/* Parses a STATUS item list into STATUS_* bits; -1 on an unknown item. */
int
imap_status_items(const struct imap_arg *a, unsigned int *itemsp)
{
	static const struct {
		const char	*name;
		unsigned int	 bit;
	} items[] = {
		{ "MESSAGES", STATUS_MESSAGES },
		{ "RECENT", STATUS_RECENT },
		{ "UIDNEXT", STATUS_UIDNEXT },
		{ "UIDVALIDITY", STATUS_UIDVALIDITY },
		{ "UNSEEN", STATUS_UNSEEN },
		{ "HIGHESTMODSEQ", STATUS_HIGHESTMODSEQ },
		{ "SIZE", STATUS_SIZE },
		{ "DELETED", STATUS_DELETED },
		{ "DELETED-STORAGE", STATUS_DELETED_STORAGE },
	};
	const struct imap_arg	*list;
	size_t			 n, i, j;

	*itemsp = 0;
	if (!imap_arg_get_list(a, &list, &n) || n == 0)
		return -1;
	for (i = 0; i < n; i++) {
		for (j = 0; j < sizeof(items) / sizeof(items[0]); j++)
			if (imap_arg_atom_equals(&list[i], items[j].name))
				break;
		if (j == sizeof(items) / sizeof(items[0]))
			return -1;
		*itemsp |= items[j].bit;
	}
	return 0;
}

static int
status_deleted_one(const struct store_msg *m, void *arg)
{
	struct status_deleted	*sd = arg;

	if (m->flags & STORE_F_DELETED) {
		sd->messages++;
		sd->bytes += m->size;
	}
	return 0;
}

struct status_deleted_req {
	const struct store_mailbox	*mb;
	struct status_deleted		 sd;
};

static int
status_deleted_txn(struct store_txn *txn, void *arg)
{
	struct status_deleted_req	*dr = arg;

	memset(&dr->sd, 0, sizeof(dr->sd));
	return store_msg_iter(txn, dr->mb->account_id, dr->mb->id, 1,
	    UINT32_MAX, status_deleted_one, &dr->sd);
}

static int
status_recent_one(const struct store_msg *m, void *arg)
{
	uint32_t	*np = arg;

	(void)m;
	(*np)++;
	return 0;
}

struct status_recent_req {
	const struct store_mailbox	*mb;
	uint32_t			 n;
};

/* The messages above recent_uid: what no session has claimed. */
static int
status_recent_txn(struct store_txn *txn, void *arg)
{
	struct status_recent_req	*rr = arg;

	rr->n = 0;
	if (rr->mb->recent_uid == UINT32_MAX)
		return 0;
	return store_msg_iter(txn, rr->mb->account_id, rr->mb->id,
	    rr->mb->recent_uid + 1, UINT32_MAX, status_recent_one, &rr->n);
}

void
imap_status_write(struct imap_session *s, const struct store_mailbox *mb,
    unsigned int items)
{
	struct status_deleted_req dr;
	struct status_recent_req rr = { mb, 0 };
	const char	*sep = "";

	/*
	 * The mailbox record counts no \Deleted messages: the two items a
	 * QUOTA client asks for walk the mailbox's flags (no content is
	 * opened), and only when asked.
	 */
	memset(&dr, 0, sizeof(dr));
	dr.mb = mb;
	if ((items & (STATUS_DELETED | STATUS_DELETED_STORAGE)) &&
	    imap_txn(s, status_deleted_txn, &dr) != 0)
		items &= ~(STATUS_DELETED | STATUS_DELETED_STORAGE);
	/*
	 * RFC 3501 6.3.10: RECENT is what the next SELECT would claim; of
	 * the mailbox selected here, what this session holds (Dovecot).
	 */
	if (items & STATUS_RECENT) {
		if (s->state == S_SELECTED && s->view.mailbox_id == mb->id)
			rr.n = imap_session_recent_count(s);
		else if (imap_txn(s, status_recent_txn, &rr) != 0)
			items &= ~STATUS_RECENT;
	}

	imap_printf(s, "* STATUS ");
	imap_write_mailbox(s, mb->name);
	imap_printf(s, " (");
	if (items & STATUS_MESSAGES) {
		imap_printf(s, "%sMESSAGES %u", sep, mb->messages);
		sep = " ";
	}
	if (items & STATUS_RECENT) {
		imap_printf(s, "%sRECENT %u", sep, rr.n);
		sep = " ";
	}
	if (items & STATUS_UIDNEXT) {
		imap_printf(s, "%sUIDNEXT %u", sep, mb->uidnext);
		sep = " ";
	}
	if (items & STATUS_UIDVALIDITY) {
		imap_printf(s, "%sUIDVALIDITY %u", sep, mb->uidvalidity);
		sep = " ";
	}
	if (items & STATUS_UNSEEN) {
		imap_printf(s, "%sUNSEEN %u", sep, mb->unseen);
		sep = " ";
	}
	if (items & STATUS_HIGHESTMODSEQ) {
		imap_printf(s, "%sHIGHESTMODSEQ %llu", sep,
		    (unsigned long long)mb->highestmodseq);
		sep = " ";
	}
	if (items & STATUS_SIZE) {
		imap_printf(s, "%sSIZE %llu", sep, (unsigned long long)mb->bytes);
		sep = " ";
	}
	if (items & STATUS_DELETED) {
		imap_printf(s, "%sDELETED %u", sep, dr.sd.messages);
		sep = " ";
	}
	/* RFC 9208 4.2.2: in units of 1024 octets, as STORAGE. */
	if (items & STATUS_DELETED_STORAGE)
		imap_printf(s, "%sDELETED-STORAGE %llu", sep,
		    (unsigned long long)((dr.sd.bytes + 1023) / 1024));
	imap_printf(s, ")\r\n");
}

struct status_req {
	struct imap_session	*s;
	const char		*name;
	struct store_mailbox	 mb;
};

static int
status_txn(struct store_txn *txn, void *arg)
{
	struct status_req	*sr = arg;

	return store_mailbox_find(txn, sr->s->account_id, sr->name, &sr->mb);
}

enum imap_cmd_status
cmd_status(struct imap_session *s, const struct imap_command *cmd)
{
	struct status_req	 sr;
	const char		*wire, *why;
	unsigned int		 items;
	char			*name;
	int			 ret;

	if (cmd->nargs != 2 || !imap_arg_get_astring(&cmd->args[0], &wire) ||
	    imap_status_items(&cmd->args[1], &items) == -1) {
		imap_tagged(s, "BAD", "STATUS takes a mailbox and a list of "
		    "MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN HIGHESTMODSEQ SIZE "
		    "DELETED DELETED-STORAGE");
		return CMD_DONE;
	}
	if ((name = imap_mailbox_arg(s, wire, &why)) == NULL) {
		imap_mailbox_refuse(s, why);
		return CMD_DONE;
	}
	memset(&sr, 0, sizeof(sr));
	sr.s = s;
	sr.name = name;
	ret = imap_txn(s, status_txn, &sr);
	if (ret == STORE_ENOTFOUND)
		imap_tagged(s, "NO", "[NONEXISTENT] No such mailbox");
	else if (ret != 0)
		imap_tagged_store_error(s, ret);
	else {
		/* RFC 7162 3.1.6: asking for HIGHESTMODSEQ enables CONDSTORE. */
		if (items & STATUS_HIGHESTMODSEQ)
			imap_session_condstore(s);
		imap_status_write(s, &sr.mb, items);
		imap_tagged(s, "OK", "Status completed");
	}
	store_mailbox_clear(&sr.mb);
	free(name);
	return CMD_DONE;
}
