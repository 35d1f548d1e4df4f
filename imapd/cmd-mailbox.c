/*
 * cmd-mailbox.c: mailbox names, and CREATE, DELETE, RENAME, SUBSCRIBE,
 * UNSUBSCRIBE (RFC 3501 6.3.3-6.3.7).
 *
 * Names are stored in UTF-8 with '/' as the hierarchy separator and go
 * over the wire in modified UTF-7 (RFC 3501 5.1.3).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imapd.h"
#include "log.h"
#include "mutf7.h"
#include "xmalloc.h"

/* Its rows' handlers and hooks (imap-commands.c). */
imap_cmd_fn	cmd_create, cmd_delete, cmd_rename, cmd_subscribe,
		cmd_unsubscribe;

#define MAILBOX_DEPTH_MAX	32

char *
imap_mailbox_arg(struct imap_session *s, const char *wire, const char **whyp)
{
	char		*name;
	const char	*p;
	size_t		 len, depth = 0;

	if (strcasecmp(wire, "INBOX") == 0)
		return xstrdup(STORE_INBOX);
	if (mutf7_decode(wire, strlen(wire), &name, whyp) == -1)
		return NULL;
	len = strlen(name);
	/* CREATE "a/b/" names a/b (RFC 3501 6.3.3). */
	if (len > 1 && name[len - 1] == '/')
		name[--len] = '\0';
	*whyp = NULL;
	if (len == 0 || len > STORE_MAILBOX_NAME_MAX)
		*whyp = "Mailbox names have 1 to 1000 bytes";
	else if (name[0] == '/' || strstr(name, "//") != NULL)
		*whyp = "Empty hierarchy level in the mailbox name";
	for (p = name; *whyp == NULL && *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*whyp = "Control characters in the mailbox name";
		else if (*p == '*' || *p == '%')
			*whyp = "Wildcards in a mailbox name";
		else if (*p == '/' && ++depth >= MAILBOX_DEPTH_MAX)
			*whyp = "Mailbox hierarchy too deep";
	}
	if (*whyp != NULL) {
		free(name);
		return NULL;
	}
	/* INBOX/... children keep INBOX's canonical spelling. */
	if (strncasecmp(name, "INBOX/", 6) == 0)
		memcpy(name, STORE_INBOX, 5);
	return name;
}

void
imap_mailbox_refuse(struct imap_session *s, const char *why)
{
	imap_tagged(s, "NO", "[CANNOT] %s", why);
}

void
imap_write_mailbox(struct imap_session *s, const char *utf8)
{
	const char	*why;
	char		*wire;

	/* Names come from the store, valid UTF-8; never write a broken one. */
	if (mutf7_encode(utf8, strlen(utf8), &wire, &why) == -1) {
		imap_write_astring(s, "?");
		return;
	}
	imap_write_astring(s, wire);
	free(wire);
}

/* Names a/b/c gives a, a/b (the superiors CREATE makes, RFC 3501 6.3.3). */
static int
mailbox_create_parents(struct store_txn *txn, uint64_t acct, const char *name)
{
	struct store_mailbox	 mb;
	char			*copy, *p;
	int			 ret = 0;

	memset(&mb, 0, sizeof(mb));
	copy = xstrdup(name);
	for (p = strchr(copy, '/'); p != NULL && ret == 0; p = strchr(p + 1, '/')) {
		*p = '\0';
		ret = store_mailbox_create(txn, acct, copy, 0, &mb);
		if (ret == STORE_EEXIST)
			ret = 0;
		*p = '/';
	}
	store_mailbox_clear(&mb);
	free(copy);
	return ret;
}

struct mailbox_req {
	struct imap_session	*s;
	const char		*name;
	const char		*newname;
	int			 has_children;
	uint32_t		 id;
	int			 over_limit;
};

static int
mailbox_count_one(const struct store_mailbox *m, void *arg)
{
	size_t	*np = arg;

	(void)m;
	(*np)++;
	return 0;
}

/*
 * Whether the account, now holding what txn made, is past max_mailboxes
 * while it held before mailboxes: STORE_ELIMIT if it grew beyond, with
 * *overp set so that the answer is NO [LIMIT] (RFC 5530 3).  A limit
 * lowered below what an account has already is no reason to refuse a
 * command that adds nothing.
 */
static int
mailbox_limit_check(struct store_txn *txn, struct imap_session *s,
    size_t before, int *overp)
{
	size_t	 n = 0;
	int	 ret;

	if ((ret = store_mailbox_iter(txn, s->account_id, mailbox_count_one,
	    &n)) != 0)
		return ret;
	if (n > before && n > s->imapd->daemon.conf->max_mailboxes) {
		*overp = 1;
		return STORE_ELIMIT;
	}
	return 0;
}

static int
create_txn(struct store_txn *txn, void *arg)
{
	struct mailbox_req	*mr = arg;
	struct store_mailbox	 mb;
	int			 ret;

	memset(&mb, 0, sizeof(mb));
	mr->over_limit = 0;
	if ((ret = mailbox_create_parents(txn, mr->s->account_id, mr->name)) != 0)
		return ret;
	ret = store_mailbox_create(txn, mr->s->account_id, mr->name, 0, &mb);
	store_mailbox_clear(&mb);
	if (ret == 0)
		ret = mailbox_limit_check(txn, mr->s, 0, &mr->over_limit);
	return ret;
}

/* Parses the one mailbox argument; answers itself and returns NULL. */
static char *
mailbox_cmd_arg(struct imap_session *s, const struct imap_command *cmd,
    size_t nargs)
{
	const char	*wire, *why = "Invalid mailbox name";
	char		*name;

	if (cmd->nargs != nargs || !imap_arg_get_astring(&cmd->args[0], &wire)) {
		imap_tagged(s, "BAD", "%s takes %s", cmd->name, nargs == 1 ?
		    "a mailbox name" : "two mailbox names");
		return NULL;
	}
	if ((name = imap_mailbox_arg(s, wire, &why)) == NULL)
		imap_mailbox_refuse(s, why);
	return name;
}

enum imap_cmd_status
cmd_create(struct imap_session *s, const struct imap_command *cmd)
{
	struct mailbox_req	 mr = { s, NULL, NULL, 0, 0, 0 };
	char			*name;
	int			 ret;

	if ((name = mailbox_cmd_arg(s, cmd, 1)) == NULL)
		return CMD_DONE;
	if (strcmp(name, STORE_INBOX) == 0) {
		imap_tagged(s, "NO", "[ALREADYEXISTS] INBOX exists always");
		free(name);
		return CMD_DONE;
	}
	mr.name = name;
	ret = imap_txn(s, create_txn, &mr);
	if (ret == STORE_EEXIST)
		imap_tagged(s, "NO", "[ALREADYEXISTS] Mailbox exists");
	else if (mr.over_limit)
		imap_tagged(s, "NO", "[LIMIT] Too many mailboxes");
	else if (ret != 0)
		imap_tagged_store_error(s, ret);
	else
		imap_tagged(s, "OK", "Create completed");
	free(name);
	return CMD_DONE;
}

static int
mailbox_child_check(const struct store_mailbox *m, void *arg)
{
	struct mailbox_req	*mr = arg;
	size_t			 n = strlen(mr->name);

	if (strncmp(m->name, mr->name, n) == 0 && m->name[n] == '/')
		mr->has_children = 1;
	if (strcmp(m->name, mr->name) == 0)
		mr->id = m->id;
	return 0;
}

static int
delete_txn(struct store_txn *txn, void *arg)
{
	struct mailbox_req	*mr = arg;
	int			 ret;

	mr->has_children = 0;
	mr->id = 0;
	if ((ret = store_mailbox_iter(txn, mr->s->account_id,
	    mailbox_child_check, mr)) != 0)
		return ret;
	if (mr->id == 0)
		return STORE_ENOTFOUND;
	/*
	 * RFC 3501 6.3.4 would keep it as \Noselect; like Dovecot, we ask
	 * for the children to go first instead.
	 */
	if (mr->has_children)
		return STORE_ESTATE;
	return store_mailbox_delete(txn, mr->s->account_id, mr->id);
}

enum imap_cmd_status
cmd_delete(struct imap_session *s, const struct imap_command *cmd)
{
	struct mailbox_req	 mr = { s, NULL, NULL, 0, 0, 0 };
	char			*name;
	int			 ret;

	if ((name = mailbox_cmd_arg(s, cmd, 1)) == NULL)
		return CMD_DONE;
	if (strcmp(name, STORE_INBOX) == 0) {
		imap_tagged(s, "NO", "[CANNOT] INBOX cannot be deleted");
		free(name);
		return CMD_DONE;
	}
	mr.name = name;
	ret = imap_txn(s, delete_txn, &mr);
	if (ret == STORE_ESTATE)
		imap_tagged(s, "NO", "[INUSE] Mailbox has children; delete "
		    "them first");
	else if (ret == STORE_ENOTFOUND)
		imap_tagged(s, "NO", "[NONEXISTENT] No such mailbox");
	else if (ret != 0)
		imap_tagged_store_error(s, ret);
	else {
		if (s->state == S_SELECTED && mr.id == s->view.mailbox_id) {
			/* RFC 7162 3.2.11: say that no mailbox is selected now. */
			imap_session_enter_state(s, S_AUTH);
			imap_printf(s, "* OK [CLOSED] Selected mailbox deleted\r\n");
		}
		imap_tagged(s, "OK", "Delete completed");
	}
	free(name);
	return CMD_DONE;
}

struct rename_item {
	uint32_t	 id;
	char		*newname;
};

struct rename_req {
	struct imap_session	*s;
	const char		*from;
	const char		*to;
	struct rename_item	*items;
	size_t			 n;
	int			 target_taken;
	uint32_t		*uids;		/* INBOX rename */
	size_t			 nuids;
	size_t			 total;		/* mailboxes before */
	int			 over_limit;
};

static int
rename_collect(const struct store_mailbox *m, void *arg)
{
	struct rename_req	*rr = arg;
	size_t			 n = strlen(rr->from), t = strlen(rr->to);
	char			*newname;

	rr->total++;
	if (strcmp(m->name, rr->to) == 0 || (strncmp(m->name, rr->to, t) == 0 &&
	    m->name[t] == '/'))
		rr->target_taken = 1;
	if (strcmp(m->name, rr->from) != 0 && (strncmp(m->name, rr->from, n) != 0 ||
	    m->name[n] != '/'))
		return 0;
	/* RFC 3501 6.3.5: inferiors are renamed too. */
	xasprintf(&newname, "%s%s", rr->to, m->name + n);
	rr->items = xreallocarray(rr->items, rr->n + 1, sizeof(*rr->items));
	rr->items[rr->n].id = m->id;
	rr->items[rr->n].newname = newname;
	rr->n++;
	return 0;
}

static void
rename_clear(struct rename_req *rr)
{
	size_t	 i;

	for (i = 0; i < rr->n; i++)
		free(rr->items[i].newname);
	free(rr->items);
	rr->items = NULL;
	rr->n = 0;
	free(rr->uids);
	rr->uids = NULL;
	rr->nuids = 0;
}

static int
rename_inbox_uid(const struct store_msg *m, void *arg)
{
	struct rename_req	*rr = arg;

	rr->uids = xreallocarray(rr->uids, rr->nuids + 1, sizeof(*rr->uids));
	rr->uids[rr->nuids++] = m->uid;
	return 0;
}

static int
rename_txn(struct store_txn *txn, void *arg)
{
	struct rename_req	*rr = arg;
	struct store_mailbox	 inbox, dst;
	uint64_t		 acct = rr->s->account_id;
	size_t			 i;
	int			 ret;

	rename_clear(rr);
	rr->target_taken = 0;
	rr->total = 0;
	rr->over_limit = 0;
	if ((ret = store_mailbox_iter(txn, acct, rename_collect, rr)) != 0)
		return ret;
	if (rr->target_taken)
		return STORE_EEXIST;
	if (rr->n == 0)
		return STORE_ENOTFOUND;
	if ((ret = mailbox_create_parents(txn, acct, rr->to)) != 0)
		return ret;
	if (strcmp(rr->from, STORE_INBOX) != 0) {
		for (i = 0; i < rr->n; i++)
			if ((ret = store_mailbox_rename(txn, acct,
			    rr->items[i].id, rr->items[i].newname)) != 0)
				return ret;
		return mailbox_limit_check(txn, rr->s, rr->total,
		    &rr->over_limit);
	}
	/*
	 * RFC 3501 6.3.5: renaming INBOX moves its messages to a new
	 * mailbox and leaves INBOX empty; its inferiors stay.
	 */
	memset(&inbox, 0, sizeof(inbox));
	memset(&dst, 0, sizeof(dst));
	if ((ret = store_mailbox_find(txn, acct, STORE_INBOX, &inbox)) != 0)
		return ret;
	ret = store_mailbox_create(txn, acct, rr->to, 0, &dst);
	if (ret == 0)
		ret = store_msg_iter(txn, acct, inbox.id, 1, UINT32_MAX,
		    rename_inbox_uid, rr);
	for (i = 0; ret == 0 && i < rr->nuids; i++) {
		ret = store_msg_copy(txn, acct, inbox.id, rr->uids[i], dst.id,
		    NULL);
		if (ret == 0)
			ret = store_msg_expunge(txn, acct, inbox.id, rr->uids[i]);
	}
	store_mailbox_clear(&inbox);
	store_mailbox_clear(&dst);
	if (ret == 0)
		ret = mailbox_limit_check(txn, rr->s, rr->total,
		    &rr->over_limit);
	return ret;
}

enum imap_cmd_status
cmd_rename(struct imap_session *s, const struct imap_command *cmd)
{
	struct rename_req	 rr;
	const char		*wire, *why;
	char			*from, *to;
	int			 ret;

	if (cmd->nargs != 2 || !imap_arg_get_astring(&cmd->args[1], &wire)) {
		imap_tagged(s, "BAD", "RENAME takes two mailbox names");
		return CMD_DONE;
	}
	if ((from = mailbox_cmd_arg(s, cmd, 2)) == NULL)
		return CMD_DONE;
	if ((to = imap_mailbox_arg(s, wire, &why)) == NULL) {
		imap_mailbox_refuse(s, why);
		free(from);
		return CMD_DONE;
	}
	memset(&rr, 0, sizeof(rr));
	rr.s = s;
	rr.from = from;
	rr.to = to;
	if (strcmp(to, STORE_INBOX) == 0 || (strncmp(to, from, strlen(from)) == 0 &&
	    to[strlen(from)] == '/'))
		ret = STORE_ESTATE;
	else
		ret = imap_txn(s, rename_txn, &rr);
	if (rr.over_limit)
		imap_tagged(s, "NO", "[LIMIT] Too many mailboxes");
	else if (ret == STORE_EEXIST)
		imap_tagged(s, "NO", "[ALREADYEXISTS] The new name is taken");
	else if (ret == STORE_ENOTFOUND)
		imap_tagged(s, "NO", "[NONEXISTENT] No such mailbox");
	else if (ret == STORE_ESTATE)
		imap_tagged(s, "NO", "[CANNOT] Cannot rename to that name");
	else if (ret != 0)
		imap_tagged_store_error(s, ret);
	else {
		if (s->state == S_SELECTED && s->mailbox_name != NULL &&
		    strcmp(s->mailbox_name, from) == 0) {
			free(s->mailbox_name);
			s->mailbox_name = xstrdup(to);
		}
		imap_tagged(s, "OK", "Rename completed");
	}
	rename_clear(&rr);
	free(from);
	free(to);
	return CMD_DONE;
}

static int
subscribe_txn(struct store_txn *txn, void *arg)
{
	struct mailbox_req	*mr = arg;

	return store_sub_set(txn, mr->s->account_id, mr->name, mr->id);
}

static enum imap_cmd_status
cmd_subscription(struct imap_session *s, const struct imap_command *cmd,
    int on)
{
	struct mailbox_req	 mr = { s, NULL, NULL, 0, (uint32_t)on };
	char			*name;
	int			 ret;

	if ((name = mailbox_cmd_arg(s, cmd, 1)) == NULL)
		return CMD_DONE;
	mr.name = name;
	if ((ret = imap_txn(s, subscribe_txn, &mr)) != 0)
		imap_tagged_store_error(s, ret);
	else
		imap_tagged(s, "OK", "%s completed", on ? "Subscribe" :
		    "Unsubscribe");
	free(name);
	return CMD_DONE;
}

enum imap_cmd_status
cmd_subscribe(struct imap_session *s, const struct imap_command *cmd)
{
	return cmd_subscription(s, cmd, 1);
}

enum imap_cmd_status
cmd_unsubscribe(struct imap_session *s, const struct imap_command *cmd)
{
	return cmd_subscription(s, cmd, 0);
}
