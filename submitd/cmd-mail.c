/*
 * cmd-mail.c: MAIL and RCPT (RFC 5321 4.1.1.2-3) for submission, where
 * the sender is the authenticated mailbox and every recipient needs an
 * OpenPGP key, for LMTP (RFC 2033), where recipients are mailboxes, and
 * for the gateway, which takes the home MTA's envelope as it is.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pgp.h"
#include "submitd.h"
#include "xmalloc.h"

void
cmd_mail_submission(struct smtp_session *s, struct smtp_cmd *cmd)
{
	if (s->account_id == 0) {
		smtp_reply(s, 530, "5.7.0", "Authentication required");
		return;
	}
	/* issue 4: the envelope sender is the mailbox itself. */
	if (strcmp(cmd->addr, s->address) != 0) {
		smtp_reply(s, 553, "5.7.1", "Sender address rejected: "
		    "you can send only as <%s>", s->address);
		return;
	}
	cmd_mail(s, cmd);
}

void
cmd_mail(struct smtp_session *s, struct smtp_cmd *cmd)
{
	smtp_session_reset(s);
	snprintf(s->mail_from, sizeof(s->mail_from), "%s", cmd->addr);
	snprintf(s->mail_path, sizeof(s->mail_path), "%s", cmd->path);
	s->mail_smtputf8 = cmd->smtputf8;
	smtp_session_enter_state(s, S_MAIL);
	smtp_reply(s, 250, "2.1.0", "Ok");
}

/*
 * 1 + the index of the first RCPT of the same mailbox, or 0: the same
 * normalized address, or for one without that form the same bytes.
 */
static size_t
cmd_rcpt_dup(const struct smtp_session *s, const struct smtp_cmd *cmd)
{
	const struct smtp_rcpt	*r;
	size_t			 i;

	for (i = 0; i < s->nrcpts; i++) {
		r = &s->rcpts[i];
		if (r->dup_of == 0 && strcmp(r->addr, cmd->addr) == 0 &&
		    (cmd->addr[0] != '\0' || strcmp(r->path, cmd->path) == 0))
			return i + 1;
	}
	return 0;
}

static struct smtp_rcpt *
cmd_rcpt_add(struct smtp_session *s, const char *addr, const char *path)
{
	struct smtp_rcpt	*r;

	s->rcpts = xreallocarray(s->rcpts, s->nrcpts + 1, sizeof(*s->rcpts));
	r = &s->rcpts[s->nrcpts++];
	memset(r, 0, sizeof(*r));
	snprintf(r->addr, sizeof(r->addr), "%s", addr);
	snprintf(r->path, sizeof(r->path), "%s", path);
	return r;
}

/* What RCPT checks in both protocols; -1: refused (answered). */
static int
cmd_rcpt_check(struct smtp_session *s, struct smtp_cmd *cmd)
{
	size_t	 first;

	if (s->nrcpts >= s->sd->daemon.conf->max_recipients ||
	    s->nrcpts >= STORE_QUEUE_MAX_RCPTS) {
		/* RFC 5321 4.5.3.1.10: the client sends the rest later. */
		smtp_reply(s, 452, "4.5.3", "Too many recipients");
		return -1;
	}
	if (cmd->path[0] == '\0') {
		smtp_reply(s, 501, "5.1.3", "A recipient is needed");
		return -1;
	}
	if ((first = cmd_rcpt_dup(s, cmd)) != 0) {
		/*
		 * RFC 2033 4.2: after DATA, LMTP answers once per accepted
		 * RCPT, so the repeat gets its place in the list and, then,
		 * its first one's reply; it is delivered once.
		 */
		if (s->proto->reply_per_rcpt)
			cmd_rcpt_add(s, cmd->addr, cmd->path)->dup_of = first;
		smtp_reply(s, 250, "2.1.5", "Ok (duplicate)");
		return -1;
	}
	return 0;
}

/* ---- the gateway: the home MTA's envelope, as it is ---- */

void
cmd_rcpt_gateway(struct smtp_session *s, struct smtp_cmd *cmd)
{
	if (cmd_rcpt_check(s, cmd) == -1)
		return;
	(void)cmd_rcpt_add(s, cmd->addr, cmd->path);
	smtp_session_enter_state(s, S_RCPT);
	smtp_reply(s, 250, "2.1.5", "Ok");
}

/* ---- LMTP ---- */

void
cmd_rcpt_lmtp(struct smtp_session *s, struct smtp_cmd *cmd)
{
	struct store_account	 acct;
	struct smtp_rcpt	*r;
	int			 ret;

	if (cmd_rcpt_check(s, cmd) == -1)
		return;
	memset(&acct, 0, sizeof(acct));
	ret = store_account_lookup(s->sd->daemon.store, cmd->addr, &acct);
	if (ret == STORE_ENOTFOUND || (ret == 0 &&
	    acct.state == STORE_ACCT_DELETING))
		smtp_reply(s, 550, "5.1.1", "<%s>: no such mailbox", cmd->addr);
	else if (ret != 0)
		smtp_reply(s, 451, "4.3.0", "<%s>: temporary storage problem",
		    cmd->addr);
	else if (acct.state == STORE_ACCT_DISABLED)
		smtp_reply(s, 550, "5.2.1", "<%s>: mailbox disabled", cmd->addr);
	else {
		/* Pending mailboxes take mail too: it waits for the password. */
		r = cmd_rcpt_add(s, cmd->addr, cmd->path);
		r->account_id = acct.id;
		memcpy(r->pk, acct.pk, sizeof(r->pk));
		smtp_session_enter_state(s, S_RCPT);
		smtp_reply(s, 250, "2.1.5", "Ok");
	}
	store_account_clear(&acct);
}

/* ---- submission: the key check runs on the work queue ---- */

struct rcpt_job {
	struct smtp_job		 base;		/* first: see smtp_job */
	struct store		*store;
	uint64_t		 account_id;
	char			 addr[ADDR_MAX + 1];
	char			 fpr[PGP_FPR_MAX];
	char			 why[256];
	int			 found;
};

struct rcpt_key_arg {
	uint64_t		 id;
	const char		*addr;
	struct store_corr	 c;
};

static int
rcpt_key_txn(struct store_txn *txn, void *arg)
{
	struct rcpt_key_arg	*ka = arg;

	return store_corr_get(txn, ka->id, ka->addr, &ka->c);
}

static void
rcpt_job_work(void *arg)
{
	struct rcpt_job		*j = arg;
	struct rcpt_key_arg	 ka;
	char			 fpr[PGP_FPR_MAX], why[256];

	j->found = pgp_lookup(j->addr, j->fpr, j->why, sizeof(j->why));
	if (j->found != 0)
		return;
	/*
	 * The GnuPG home is a cache of the store's keys (daemon/pubkeys.c):
	 * a correspondent's key missing from it (the home was removed, or
	 * the key came by replication) is imported on use.
	 */
	memset(&ka, 0, sizeof(ka));
	ka.id = j->account_id;
	ka.addr = j->addr;
	if (store_txn_run(j->store, rcpt_key_txn, &ka) == 0 &&
	    ka.c.keylen > 0) {
		if (pgp_import_mem("the correspondent's key",
		    (const char *)ka.c.keydata, ka.c.keylen, NULL, fpr, why,
		    sizeof(why)) == -1)
			log_warnx("importing the key of %s: %s", j->addr, why);
		else
			j->found = pgp_lookup(j->addr, j->fpr, j->why,
			    sizeof(j->why));
	}
	store_corr_clear(&ka.c);
}

struct rcpt_corr_arg {
	uint64_t		 id;
	char			 buf[512];
	size_t			 n;
};

static int
rcpt_corr_txn(struct store_txn *txn, void *arg)
{
	struct rcpt_corr_arg	*ca = arg;

	return store_corr_list(txn, ca->id, ca->buf, sizeof(ca->buf), &ca->n);
}

static void
rcpt_job_done(void *arg)
{
	struct rcpt_job		*j = arg;
	struct smtp_session	*s = j->base.session;
	struct smtp_rcpt	*r;
	struct rcpt_corr_arg	 ca;

	if (s == NULL) {
		free(j);
		return;
	}
	s->job = NULL;
	if (j->found == 1) {
		r = cmd_rcpt_add(s, j->addr, j->addr);
		memcpy(r->fpr, j->fpr, sizeof(r->fpr));
		smtp_session_enter_state(s, S_RCPT);
		smtp_reply(s, 250, "2.1.5", "Ok");
	} else if (j->found == 0) {
		memset(&ca, 0, sizeof(ca));
		ca.id = s->account_id;
		(void)store_txn_run(s->sd->daemon.store, rcpt_corr_txn, &ca);
		log_info("%s: %s: no usable key for %s", s->conn->peer,
		    s->address, j->addr);
		/*
		 * Each refusal cost a gpg run: a client that keeps trying
		 * addresses is cut off like any other erring client.
		 */
		s->errors++;
		/* SPEC 5: never in clear; say why and to whom it can write. */
		smtp_reply(s, 550, "5.7.1", "<%s>: %s; this mailbox sends only "
		    "encrypted mail, to people whose OpenPGP key it has%s%s",
		    j->addr, j->why[0] != '\0' ? j->why : "no OpenPGP key",
		    ca.n > 0 ? ": " : "", ca.buf);
		smtp_session_enter_state(s, s->nrcpts > 0 ? S_RCPT : S_MAIL);
	} else {
		log_warnx("%s: key lookup for %s: %s", s->conn->peer, j->addr,
		    j->why);
		smtp_reply(s, 451, "4.3.0", "<%s>: temporary problem looking up "
		    "the key; try again", j->addr);
		smtp_session_enter_state(s, s->nrcpts > 0 ? S_RCPT : S_MAIL);
	}
	free(j);
	smtp_session_resume(s);
}

void
cmd_rcpt(struct smtp_session *s, struct smtp_cmd *cmd)
{
	struct rcpt_job	*j;

	if (cmd_rcpt_check(s, cmd) == -1)
		return;
	j = xcalloc(1, sizeof(*j));
	j->base.session = s;
	j->store = s->sd->daemon.store;
	j->account_id = s->account_id;
	snprintf(j->addr, sizeof(j->addr), "%s", cmd->addr);
	if (workq_submit(s->sd->work, rcpt_job_work, rcpt_job_done, j) == -1) {
		free(j);
		smtp_reply(s, 451, "4.3.2", "Server busy; try again");
		return;
	}
	s->job = &j->base;
	smtp_session_enter_state(s, S_BUSY);
	conn_pause(s->conn, 1);
}

void
cmd_data(struct smtp_session *s, struct smtp_cmd *cmd)
{
	evbuffer_add_printf(conn_out(s->conn),
	    "354 End data with <CR><LF>.<CR><LF>\r\n");
	smtp_session_start_data(s);
}

void
cmd_rset(struct smtp_session *s, struct smtp_cmd *cmd)
{
	smtp_session_reset(s);
	if (s->state != S_GREETED)
		smtp_session_enter_state(s, S_READY);
	smtp_reply(s, 250, "2.0.0", "Ok");
}

void
cmd_noop(struct smtp_session *s, struct smtp_cmd *cmd)
{
	smtp_reply(s, 250, "2.0.0", "Ok");
}

void
cmd_quit(struct smtp_session *s, struct smtp_cmd *cmd)
{
	smtp_reply(s, 221, "2.0.0", "Bye");
	smtp_session_quit(s);
}

void
cmd_vrfy(struct smtp_session *s, struct smtp_cmd *cmd)
{
	/* RFC 5321 3.5.3: no address harvesting. */
	smtp_reply(s, 252, "2.1.5", "Cannot VRFY; send some mail and see");
}

void
cmd_help(struct smtp_session *s, struct smtp_cmd *cmd)
{
	smtp_reply(s, 214, "2.0.0", "See RFC 5321 and RFC 6409");
}
