/*
 * cmd-quota.c: GETQUOTA, GETQUOTAROOT and SETQUOTA (RFC 9208).
 *
 * An account has one quota root, named "", over all its mailboxes: the
 * mailbox_quota of guestbox.conf(5), the limit that delivery and APPEND
 * enforce.  Its one resource is STORAGE, in units of 1024 octets of
 * RFC822.SIZE (RFC 9208 5.1), rounded up as Dovecot rounds it.  Only the
 * administrator sets it, so SETQUOTA is refused and QUOTASET is not
 * advertised.  With mailbox_quota = 0 a mailbox has no quota root.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "imapd.h"

/* Its rows' handlers and hooks (imap-commands.c). */
imap_cmd_fn	cmd_getquotaroot, cmd_getquota, cmd_setquota;

/* The name of the account's one quota root. */
#define QUOTA_ROOT	""

struct quota_req {
	struct imap_session	*s;
	uint64_t		 used;
};

static int	quota_usage_txn(struct store_txn *, void *);
static void	quota_answer(struct imap_session *, const char *);

static int
quota_usage_txn(struct store_txn *txn, void *arg)
{
	struct quota_req	*qr = arg;

	return store_account_usage(txn, qr->s->account_id, &qr->used);
}

/* "* QUOTA "" (STORAGE used limit)" and the tagged OK with done. */
static void
quota_answer(struct imap_session *s, const char *done)
{
	struct quota_req	 qr;
	uint64_t		 limit = s->imapd->daemon.conf->mailbox_quota;
	int			 ret;

	memset(&qr, 0, sizeof(qr));
	qr.s = s;
	if ((ret = imap_txn(s, quota_usage_txn, &qr)) != 0) {
		imap_tagged_store_error(s, ret);
		return;
	}
	/* RFC 9208 5.1: units of 1024 octets; a limit is never rounded up. */
	imap_printf(s, "* QUOTA \"%s\" (STORAGE %llu %llu)\r\n", QUOTA_ROOT,
	    (unsigned long long)((qr.used + 1023) / 1024),
	    (unsigned long long)(limit / 1024));
	imap_tagged(s, "OK", "%s", done);
}

/* RFC 9208 4.2: GETQUOTA quota-root */
enum imap_cmd_status
cmd_getquota(struct imap_session *s, const struct imap_command *cmd)
{
	const char	*root;

	if (cmd->nargs != 1 || !imap_arg_get_astring(&cmd->args[0], &root)) {
		imap_tagged(s, "BAD", "GETQUOTA takes a quota root");
		return CMD_DONE;
	}
	if (strcmp(root, QUOTA_ROOT) != 0 ||
	    s->imapd->daemon.conf->mailbox_quota == 0) {
		imap_tagged(s, "NO", "[NONEXISTENT] No such quota root");
		return CMD_DONE;
	}
	quota_answer(s, "Getquota completed");
	return CMD_DONE;
}

/*
 * RFC 9208 4.3: GETQUOTAROOT mailbox.  Every name has the account's
 * root, whether or not the mailbox exists yet, as Dovecot answers: the
 * quota a new mailbox would count against is the same.
 */
enum imap_cmd_status
cmd_getquotaroot(struct imap_session *s, const struct imap_command *cmd)
{
	const char	*wire, *why;
	char		*name;

	if (cmd->nargs != 1 || !imap_arg_get_astring(&cmd->args[0], &wire)) {
		imap_tagged(s, "BAD", "GETQUOTAROOT takes a mailbox name");
		return CMD_DONE;
	}
	if ((name = imap_mailbox_arg(s, wire, &why)) == NULL) {
		imap_mailbox_refuse(s, why);
		return CMD_DONE;
	}
	imap_printf(s, "* QUOTAROOT ");
	imap_write_mailbox(s, name);
	free(name);
	if (s->imapd->daemon.conf->mailbox_quota == 0) {
		imap_printf(s, "\r\n");
		imap_tagged(s, "OK", "Getquotaroot completed");
		return CMD_DONE;
	}
	imap_printf(s, " \"%s\"\r\n", QUOTA_ROOT);
	quota_answer(s, "Getquotaroot completed");
	return CMD_DONE;
}

/* RFC 9208 4.1: SETQUOTA is for servers that advertise QUOTASET. */
enum imap_cmd_status
cmd_setquota(struct imap_session *s, const struct imap_command *cmd)
{
	(void)cmd;
	imap_tagged(s, "NO", "[NOPERM] The quota is set by the administrator "
	    "(mailbox_quota in guestbox.conf)");
	return CMD_DONE;
}
