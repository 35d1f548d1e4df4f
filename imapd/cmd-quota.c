/*
 * cmd-quota.c: GETQUOTAROOT, GETQUOTA and SETQUOTA (RFC 9208 4.1, the
 * commands of RFC 2087 that its QUOTA capability names).  The one quota
 * is guestbox.conf's mailbox_quota, the bytes of the whole account: its
 * root is "" and holds every mailbox, and its one resource is STORAGE
 * (RFC 9208 5.1) in units of 1024 octets, as the store counts it for
 * APPEND's [OVERQUOTA].
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "imapd.h"

/* The name of the account's quota root. */
#define QUOTA_ROOT	""

struct quota_req {
	struct imap_session	*s;
	const char		*mailbox;	/* UTF-8; NULL: none to check */
	uint64_t		 used;
};

static int
quota_txn(struct store_txn *txn, void *arg)
{
	struct quota_req	*qr = arg;
	struct store_mailbox	 mb;
	int			 ret;

	if (qr->mailbox != NULL) {
		memset(&mb, 0, sizeof(mb));
		if ((ret = store_mailbox_find(txn, qr->s->account_id,
		    qr->mailbox, &mb)) != 0)
			return ret;
		store_mailbox_clear(&mb);
	}
	return store_account_usage(txn, qr->s->account_id, &qr->used);
}

/* RFC 9208 4.2.1: the QUOTA response of the account's root. */
static void
quota_write(struct imap_session *s, uint64_t used)
{
	imap_printf(s, "* QUOTA ");
	imap_write_astring(s, QUOTA_ROOT);
	imap_printf(s, " (STORAGE %llu %llu)\r\n",
	    (unsigned long long)(used / 1024), (unsigned long long)
	    (s->imapd->daemon.conf->mailbox_quota / 1024));
}

enum imap_cmd_status
cmd_getquotaroot(struct imap_session *s, const struct imap_command *cmd)
{
	struct quota_req	 qr;
	const char		*wire, *why;
	char			*name;
	int			 ret;

	if (cmd->nargs != 1 || !imap_arg_get_astring(&cmd->args[0], &wire)) {
		imap_tagged(s, "BAD", "GETQUOTAROOT takes a mailbox name");
		return CMD_DONE;
	}
	if ((name = imap_mailbox_arg(s, wire, &why)) == NULL) {
		imap_tagged(s, "BAD", "%s", why);
		return CMD_DONE;
	}
	memset(&qr, 0, sizeof(qr));
	qr.s = s;
	qr.mailbox = name;
	if ((ret = imap_txn(s, quota_txn, &qr)) != 0) {
		free(name);
		imap_tagged_store_error(s, ret);
		return CMD_DONE;
	}
	/* RFC 9208 4.2.2: the roots of the mailbox; none without a quota. */
	imap_printf(s, "* QUOTAROOT ");
	imap_write_mailbox(s, name);
	if (s->imapd->daemon.conf->mailbox_quota != 0) {
		imap_printf(s, " ");
		imap_write_astring(s, QUOTA_ROOT);
		imap_printf(s, "\r\n");
		quota_write(s, qr.used);
	} else
		imap_printf(s, "\r\n");
	free(name);
	imap_tagged(s, "OK", "Getquotaroot completed");
	return CMD_DONE;
}

enum imap_cmd_status
cmd_getquota(struct imap_session *s, const struct imap_command *cmd)
{
	struct quota_req	 qr;
	const char		*root;
	int			 ret;

	if (cmd->nargs != 1 || !imap_arg_get_astring(&cmd->args[0], &root)) {
		imap_tagged(s, "BAD", "GETQUOTA takes a quota root");
		return CMD_DONE;
	}
	if (strcmp(root, QUOTA_ROOT) != 0 ||
	    s->imapd->daemon.conf->mailbox_quota == 0) {
		imap_tagged(s, "NO", "[NONEXISTENT] No such quota root");
		return CMD_DONE;
	}
	memset(&qr, 0, sizeof(qr));
	qr.s = s;
	if ((ret = imap_txn(s, quota_txn, &qr)) != 0) {
		imap_tagged_store_error(s, ret);
		return CMD_DONE;
	}
	quota_write(s, qr.used);
	imap_tagged(s, "OK", "Getquota completed");
	return CMD_DONE;
}

enum imap_cmd_status
cmd_setquota(struct imap_session *s, const struct imap_command *cmd)
{
	const struct imap_arg	*list;
	const char		*root;
	size_t			 n;

	if (cmd->nargs != 2 || !imap_arg_get_astring(&cmd->args[0], &root) ||
	    !imap_arg_get_list(&cmd->args[1], &list, &n)) {
		imap_tagged(s, "BAD", "SETQUOTA takes a quota root and a list "
		    "of limits");
		return CMD_DONE;
	}
	/* RFC 9208 4.1.3: no QUOTASET; the administrator sets the quota. */
	imap_tagged(s, "NO", "[NOPERM] The quota is set by the administrator "
	    "(mailbox_quota in guestbox.conf)");
	return CMD_DONE;
}
