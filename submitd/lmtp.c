/*
 * lmtp.c: LMTP delivery (RFC 2033): the message goes into the INBOX of
 * each recipient's mailbox, sealed to that mailbox's key, and each
 * recipient gets its own reply, sent only after its commit is on disk.
 *
 * Group commit: each delivery commits without waiting for the disk
 * (store_txn_run_nosync); the replies wait for the next log flush
 * (group-commit.h), which covers every session's deliveries at once.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "doorbell.h"
#include "log.h"
#include "rfc5322.h"
#include "submitd.h"
#include "xmalloc.h"

/* The session waits in S_BUSY for the flush through this (smtp_job). */
struct lmtp_flush_job {
	struct smtp_job		 base;		/* first: see smtp_job */
};

static void	lmtp_flushed(int, void *);
static void	lmtp_replies(struct smtp_session *);

/* RFC 5321 4.4 trace fields, and Delivered-To for loops (RFC 9228). */
static char *
lmtp_headers(struct smtp_session *s, const char *rcpt, size_t *lenp)
{
	return rfc5322_trace_final(s->mail_from, rcpt, s->helo, s->conn->peer,
	    s->sd->daemon.conf->hostname, "guestbox", "LMTP", lenp);
}

/* RFC 2033 4.2: the reply for one recipient after DATA. */
static void
lmtp_reply(struct smtp_session *s, const struct smtp_rcpt *r, int ret)
{
	switch (ret) {
	case 0:
		log_info("%s: delivered to %s, %zu bytes", s->conn->peer,
		    r->addr, s->msglen);
		smtp_reply(s, 250, "2.0.0", "<%s> delivered", r->addr);
		break;
	case STORE_ELIMIT:
		smtp_reply(s, 552, "5.2.2", "<%s> mailbox full", r->addr);
		break;
	case STORE_ENOSPC:
		/* RFC 5321 4.2.3, RFC 3463 X.3.1: mail system full. */
		smtp_reply(s, 452, "4.3.1", "<%s> insufficient system "
		    "storage; try again later", r->addr);
		break;
	case STORE_EUNAVAIL:
		/*
		 * RFC 3463 X.3.0: a standby of a replication group, or a
		 * master without enough sites to acknowledge: the MTA keeps
		 * the message and tries again (the master, after a failover).
		 */
		smtp_reply(s, 451, "4.3.0", "<%s> this server takes no mail "
		    "now (a replication standby, or too few sites); try again "
		    "later", r->addr);
		break;
	case STORE_ESTATE:
	case STORE_ENOTFOUND:
		smtp_reply(s, 450, "4.2.1", "<%s> mailbox is changing; "
		    "try again", r->addr);
		break;
	default:
		smtp_reply(s, 451, "4.3.0", "<%s> temporary storage "
		    "problem; try again", r->addr);
		break;
	}
}

void
lmtp_deliver(struct smtp_session *s)
{
	struct store		*st = s->sd->daemon.store;
	struct store_delivery	 d;
	struct lmtp_flush_job	*j;
	char			*hdr, *full;
	size_t			 hlen, i;
	int			 ret, stored = 0;

	for (i = 0; i < s->nrcpts; i++) {
		if (s->rcpts[i].dup_of != 0) {
			/* Delivered once; answered like its first RCPT. */
			s->rcpts[i].result =
			    s->rcpts[s->rcpts[i].dup_of - 1].result;
			continue;
		}
		hdr = lmtp_headers(s, s->rcpts[i].addr, &hlen);
		full = xmalloc(hlen + s->msglen);
		memcpy(full, hdr, hlen);
		memcpy(full + hlen, s->msg, s->msglen);
		free(hdr);
		memset(&d, 0, sizeof(d));
		d.account_id = s->rcpts[i].account_id;
		d.pk = s->rcpts[i].pk;
		d.filed = doorbell_filed;
		d.filed_arg = s->sd->daemon.conf;
		d.ap.nosync = 1;
		ret = store_deliver_message(st, &d, full, hlen + s->msglen);
		sodium_memzero(full, hlen + s->msglen);
		free(full);
		s->rcpts[i].result = ret;
		stored |= ret == 0;
	}
	if (!stored) {
		lmtp_replies(s);
		return;
	}
	/* No 250 before the flush that covers these commits has ended. */
	j = xcalloc(1, sizeof(*j));
	j->base.session = s;
	s->job = &j->base;
	conn_pause(s->conn, 1);
	(void)group_commit_wait(s->sd->commit, lmtp_flushed, j);
}

static void
lmtp_flushed(int ret, void *arg)
{
	struct lmtp_flush_job	*j = arg;
	struct smtp_session	*s = j->base.session;
	size_t			 i;

	free(j);
	if (s == NULL)
		return;
	s->job = NULL;
	if (ret != 0) {
		/*
		 * The commits may not be on disk: a 250 would be a lie.  The
		 * sender tries again (a duplicate beats a loss).
		 */
		log_warnx("%s: flushing the log: %s; deliveries refused",
		    s->conn->peer, store_strerror(ret));
		for (i = 0; i < s->nrcpts; i++)
			if (s->rcpts[i].result == 0)
				s->rcpts[i].result = STORE_EIO;
	}
	lmtp_replies(s);
}

/* RFC 2033 4.2: one reply per recipient, in RCPT order. */
static void
lmtp_replies(struct smtp_session *s)
{
	size_t	 i;

	for (i = 0; i < s->nrcpts; i++)
		lmtp_reply(s, &s->rcpts[i], s->rcpts[i].result);
	smtp_session_reset(s);
	smtp_session_enter_state(s, S_READY);
	smtp_session_resume(s);
}
