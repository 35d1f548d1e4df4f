/*
 * submit.c: what happens to a submitted message after DATA.
 *
 * 1. On the loop: the From: header must be the mailbox (issue 4), a
 *    missing Date or Message-ID is added (RFC 6409 8.2, 8.3).
 * 2. On the work queue: the PGP/MIME copies are built with GPGME (one gpg
 *    run per copy; Bcc recipients get their own).
 * 3. On the loop, in one transaction: the message as written is filed to
 *    Gesendet (sealed, \Seen), its Message-ID recorded for the APPEND
 *    de-duplication of guestbox-imapd, and the copies queued.  Only then
 *    the 250: the commit does not wait for the disk, the 250 waits for
 *    the next log flush (group commit, group-commit.h), and the relay is
 *    kicked after it (a round that ends meanwhile may take the entry
 *    sooner: a power loss then costs a second copy, never a lost one).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "log.h"
#include "mime-seal.h"
#include "pgp.h"
#include "pgpmime.h"
#include "rfc5322.h"
#include "submitd.h"
#include "xmalloc.h"

struct submit_job {
	struct smtp_job		 base;		/* first: see smtp_job */
	/* Inputs, the job's own copies. */
	char			*msg;
	size_t			 len;
	struct pgpmime_rcpt	*rcpts;
	char			**addrs;
	char			**fprs;
	size_t			 nrcpts;
	char			*gnupg_home;
	int			 flags;
	/* Outputs */
	struct pgpmime_copy	*copies;
	size_t			 ncopies;
	size_t			 bad;
	char			 why[256];
	int			 ret;
};

/* The session waits in S_BUSY for the log flush through this. */
struct submit_flush_job {
	struct smtp_job		 base;		/* first: see smtp_job */
	struct submitd		*sd;
	uint64_t		 first_id;
};

static void	submit_flushed(int, void *);

static void
submit_job_free(struct submit_job *j)
{
	size_t	 i;

	pgpmime_copies_free(&j->copies, j->ncopies);
	for (i = 0; i < j->nrcpts; i++) {
		free(j->addrs[i]);
		free(j->fprs[i]);
	}
	free(j->addrs);
	free(j->fprs);
	free(j->rcpts);
	if (j->msg != NULL)
		sodium_memzero(j->msg, j->len);
	free(j->msg);
	free(j->gnupg_home);
	free(j);
}

static void
submit_job_work(void *arg)
{
	struct submit_job	*j = arg;
	struct pgpmime_opts	 opts = { j->gnupg_home, j->flags };

	j->ret = pgpmime_build(&opts, j->msg, j->len, j->rcpts, j->nrcpts,
	    &j->copies, &j->ncopies, &j->bad, j->why, sizeof(j->why));
}

struct submit_txn_arg {
	struct smtp_session	*s;
	struct submit_job	*j;
	struct store_delivery	 d;		/* the Gesendet copy */
	char			*msgid;
	uint64_t		 first_id;
};

static int
submit_txn(struct store_txn *txn, void *arg)
{
	struct submit_txn_arg		*ta = arg;
	struct smtp_session		*s = ta->s;
	struct submit_job		*j = ta->j;
	struct store_queue_entry	 e;
	uint8_t				 hash[STORE_MSGID_HASHBYTES];
	size_t				 i, k;
	int				 ret;

	/* issue 19: disabled or deleted while the message was encrypted. */
	if ((ret = auth_login_check(txn, s->account_id, s->key)) != 0)
		return ret;
	/* Replayed: the earlier run's commit took, copies queued and all. */
	if ((ret = store_deliver(txn, &ta->d)) != 0 || ta->d.ap.replayed)
		return ret;
	if (ta->msgid != NULL) {
		store_msgid_hash(ta->msgid, strlen(ta->msgid), hash);
		ret = store_msgid_put(txn, s->account_id, hash,
		    ta->d.ap.mailbox_id, ta->d.ap.msg.uid);
		if (ret != 0)
			return ret;
	}
	for (i = 0; i < j->ncopies; i++) {
		memset(&e, 0, sizeof(e));
		e.account_id = s->account_id;
		e.mail_from = s->address;
		e.message_id = ta->msgid;
		e.nrcpts = (uint32_t)j->copies[i].nrcpts;
		e.rcpts = xcalloc(e.nrcpts, sizeof(*e.rcpts));
		for (k = 0; k < e.nrcpts; k++)
			e.rcpts[k].address = j->addrs[j->copies[i].rcpts[k]];
		ret = store_queue_put(txn, &e, j->copies[i].msg,
		    j->copies[i].len);
		free(e.rcpts);
		if (ret != 0)
			return ret;
		if (i == 0)
			ta->first_id = e.id;
	}
	return 0;
}

static void
submit_job_done(void *arg)
{
	struct submit_job	*j = arg;
	struct smtp_session	*s = j->base.session;
	struct submit_flush_job	*fj;
	struct submit_txn_arg	 ta;
	struct store_blob	*blob;
	struct rfc5322_header	*hdr = NULL;
	const char		*why, *v;
	int			 ret;

	if (s == NULL) {
		submit_job_free(j);
		return;
	}
	s->job = NULL;
	if (j->ret != 0) {
		log_warnx("%s: %s: encryption failed: %s", s->conn->peer,
		    s->address, j->why);
		if (j->bad < j->nrcpts)
			smtp_reply(s, 550, "5.7.1", "<%s>: %s; nothing was sent",
			    j->addrs[j->bad], j->why);
		else
			smtp_reply(s, 451, "4.3.0", "Encryption failed; try "
			    "again later");
		goto out;
	}
	memset(&ta, 0, sizeof(ta));
	ta.s = s;
	ta.j = j;
	/* SPEC 7: sending is activity (store_deliver records it). */
	ta.d.account_id = s->account_id;
	ta.d.pk = s->key->pk;
	ta.d.special_use = STORE_SPECIAL_SENT;
	ta.d.create_name = s->sd->daemon.conf->mailbox_sent;
	ta.d.ap.flags = STORE_F_SEEN;
	if (rfc5322_header_parse(j->msg, j->len, &hdr, &why) == 0 &&
	    (v = rfc5322_header_value(hdr, "Message-ID")) != NULL)
		ta.msgid = rfc5322_msgid_parse(v);
	rfc5322_header_free(&hdr);
	blob = mime_seal(s->account_id, s->key->pk, j->msg, j->len);
	ta.d.ap.blob = blob;
	ta.d.ap.nosync = 1;
	ret = store_append_run(s->sd->daemon.store, &ta.d.ap, submit_txn, &ta);
	store_blob_free(&blob);
	if (ret != 0) {
		log_warnx("%s: %s: filing and queueing: %s", s->conn->peer,
		    s->address, store_strerror(ret));
		if (ret == STORE_ELIMIT)
			smtp_reply(s, 552, "5.2.2", "Your mailbox is full: "
			    "delete mail from Gesendet to send more");
		else if (ret == STORE_ESTATE)
			smtp_reply(s, 554, "5.7.0", "This mailbox was "
			    "disabled, deleted or invited again; not sent");
		else if (ret == STORE_ENOSPC)
			smtp_reply(s, 452, "4.3.1", "Insufficient system "
			    "storage; try again later");
		else if (ret == STORE_EUNAVAIL)
			smtp_reply(s, 451, "4.3.0", "This server takes no "
			    "mail now (a replication standby); try again later");
		else
			smtp_reply(s, 451, "4.3.0", "Temporary storage problem; "
			    "try again");
	} else {
		log_info("%s: %s: queued %zu encrypted cop%s as %llu, "
		    "filed to %s", s->conn->peer, s->address, j->ncopies,
		    j->ncopies == 1 ? "y" : "ies",
		    (unsigned long long)ta.first_id, ta.d.create_name);
		/* No 250 before the flush that covers the commit has ended. */
		fj = xcalloc(1, sizeof(*fj));
		fj->base.session = s;
		fj->sd = s->sd;
		fj->first_id = ta.first_id;
		free(ta.msgid);
		submit_job_free(j);
		s->job = &fj->base;
		(void)group_commit_wait(s->sd->commit, submit_flushed, fj);
		return;
	}
	free(ta.msgid);
out:
	submit_job_free(j);
	smtp_session_reset(s);
	smtp_session_enter_state(s, S_READY);
	smtp_session_resume(s);
}

static void
submit_flushed(int ret, void *arg)
{
	struct submit_flush_job	*fj = arg;
	struct smtp_session	*s = fj->base.session;
	struct submitd		*sd = fj->sd;
	uint64_t		 id = fj->first_id;

	free(fj);
	/* On disk: the relay may send it, whether or not the client waits. */
	if (ret == 0)
		relay_kick(sd->relay);
	if (s == NULL)
		return;
	s->job = NULL;
	if (ret != 0) {
		/*
		 * The commit may not be on disk: a 250 would be a lie.  The
		 * client sends again; a copy queued twice beats a loss.
		 */
		log_warnx("%s: %s: flushing the log: %s; submission refused",
		    s->conn->peer, s->address, store_strerror(ret));
		smtp_reply(s, 451, "4.3.0", "Temporary storage problem; try "
		    "again");
	} else
		smtp_reply(s, 250, "2.0.0", "Ok: queued encrypted as %llu",
		    (unsigned long long)id);
	smtp_session_reset(s);
	smtp_session_enter_state(s, S_READY);
	smtp_session_resume(s);
}

/* RFC 6409 8.2, 8.3: the submission server may add Date and Message-ID. */
static void
submit_complete_header(struct smtp_session *s, const struct rfc5322_header *hdr)
{
	char		 add[512], date[RFC5322_DATE_MAX], id[33];
	size_t		 n = 0;

	add[0] = '\0';
	if (rfc5322_header_value(hdr, "Date") == NULL) {
		rfc5322_date_format(time(NULL), 0, date, sizeof(date));
		n += (size_t)snprintf(add + n, sizeof(add) - n, "Date: %s\r\n",
		    date);
	}
	if (rfc5322_header_value(hdr, "Message-ID") == NULL) {
		rfc5322_random_id(id, sizeof(id));
		n += (size_t)snprintf(add + n, sizeof(add) - n,
		    "Message-ID: <%s@%s>\r\n", id, s->sd->daemon.conf->hostname);
	}
	if (n == 0 || n >= sizeof(add))
		return;
	if (s->msgcap < s->msglen + n)
		s->msg = xrealloc(s->msg, s->msgcap = s->msglen + n);
	memmove(s->msg + n, s->msg, s->msglen);
	memcpy(s->msg, add, n);
	s->msglen += n;
}

void
submit_message(struct smtp_session *s)
{
	struct rfc5322_header	*hdr = NULL;
	struct rfc5322_addrlist	 from;
	struct submit_job	*j;
	const char		*why;
	size_t			 i;

	memset(&from, 0, sizeof(from));
	if (rfc5322_header_parse((const char *)s->msg, s->msglen, &hdr, &why) == -1) {
		smtp_reply(s, 554, "5.6.0", "Message header: %s", why);
		goto done;
	}
	/* issue 4: the From: header names the mailbox, and only it. */
	if (rfc5322_header_addrs(hdr, "From", 16, &from, &why) == -1 ||
	    from.naddrs != 1 || from.addrs[0].norm == NULL ||
	    strcmp(from.addrs[0].norm, s->address) != 0) {
		smtp_reply(s, 553, "5.7.1", "The From: header must be your own "
		    "address <%s>", s->address);
		goto done;
	}
	submit_complete_header(s, hdr);
	rfc5322_header_free(&hdr);
	j = xcalloc(1, sizeof(*j));
	j->base.session = s;
	j->nrcpts = s->nrcpts;
	j->rcpts = xcalloc(s->nrcpts, sizeof(*j->rcpts));
	j->addrs = xcalloc(s->nrcpts, sizeof(*j->addrs));
	j->fprs = xcalloc(s->nrcpts, sizeof(*j->fprs));
	for (i = 0; i < s->nrcpts; i++) {
		j->addrs[i] = xstrdup(s->rcpts[i].addr);
		j->fprs[i] = xstrdup(s->rcpts[i].fpr);
		j->rcpts[i].addr = j->addrs[i];
		j->rcpts[i].fpr = j->fprs[i];
	}
	/* The message moves into the job: the session no longer holds it. */
	j->msg = (char *)s->msg;
	j->len = s->msglen;
	s->msg = NULL;
	s->msglen = s->msgcap = 0;
	if (rfc5322_header_parse(j->msg, j->len, &hdr, &why) == 0 &&
	    pgpmime_classify(hdr, j->rcpts, j->nrcpts, &why) == -1) {
		rfc5322_header_free(&hdr);
		rfc5322_addrlist_clear(&from);
		smtp_reply(s, 554, "5.6.0", "Message header: %s", why);
		submit_job_free(j);
		goto done_noclear;
	}
	rfc5322_header_free(&hdr);
	rfc5322_addrlist_clear(&from);
	j->gnupg_home = xstrdup(pgp_home_dir());
	j->flags = s->sd->daemon.conf->protect_subject ? PGPMIME_PROTECT_SUBJECT : 0;
	if (workq_submit(s->sd->work, submit_job_work, submit_job_done, j) == -1) {
		submit_job_free(j);
		smtp_reply(s, 451, "4.3.2", "Server busy; try again");
		goto done_noclear;
	}
	s->job = &j->base;
	conn_pause(s->conn, 1);
	return;
done:
	rfc5322_header_free(&hdr);
	rfc5322_addrlist_clear(&from);
done_noclear:
	smtp_session_reset(s);
	smtp_session_enter_state(s, S_READY);
	smtp_session_resume(s);
}
