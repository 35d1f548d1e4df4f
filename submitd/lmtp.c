/*
 * lmtp.c: LMTP delivery (RFC 2033): the message goes into the INBOX of
 * each recipient's mailbox, sealed to that mailbox's key, and each
 * recipient gets its own reply, sent only after its commit.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "log.h"
#include "submitd.h"
#include "xmalloc.h"

/* RFC 5321 4.4 trace fields, and Delivered-To for loops (RFC 9228). */
static char *
lmtp_headers(struct smtp_session *s, const char *rcpt, size_t *lenp)
{
	char		 date[64], id[17];
	uint8_t		 rnd[8];
	struct tm	 tm;
	time_t		 now = time(NULL);
	char		*h;
	int		 n;

	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(id, sizeof(id), rnd, sizeof(rnd));
	n = xasprintf(&h, "Return-Path: <%s>\r\nDelivered-To: %s\r\n"
	    "Received: from %s (%s)\r\n\tby %s (guestbox) with LMTP id %s\r\n"
	    "\tfor <%s>; %s\r\n", s->mail_from, rcpt,
	    s->helo[0] != '\0' ? s->helo : "unknown", s->conn->peer,
	    s->sd->daemon.conf->hostname, id, rcpt, date);
	*lenp = (size_t)n;
	return h;
}

void
lmtp_deliver(struct smtp_session *s)
{
	struct store		*st = s->sd->daemon.store;
	struct store_delivery	 d;
	char			*hdr, *full;
	size_t			 hlen, i;
	int			 ret;

	for (i = 0; i < s->nrcpts; i++) {
		hdr = lmtp_headers(s, s->rcpts[i].addr, &hlen);
		full = xmalloc(hlen + s->msglen);
		memcpy(full, hdr, hlen);
		memcpy(full + hlen, s->msg, s->msglen);
		free(hdr);
		memset(&d, 0, sizeof(d));
		d.account_id = s->rcpts[i].account_id;
		d.pk = s->rcpts[i].pk;
		ret = store_deliver_message(st, &d, full, hlen + s->msglen);
		sodium_memzero(full, hlen + s->msglen);
		free(full);
		/* RFC 2033 4.2: one reply per recipient, in RCPT order. */
		switch (ret) {
		case 0:
			log_info("%s: delivered to %s, %zu bytes", s->conn->peer,
			    s->rcpts[i].addr, s->msglen);
			smtp_reply(s, 250, "2.0.0", "<%s> delivered",
			    s->rcpts[i].addr);
			break;
		case STORE_ELIMIT:
			smtp_reply(s, 552, "5.2.2", "<%s> mailbox full",
			    s->rcpts[i].addr);
			break;
		case STORE_ENOSPC:
			/* RFC 5321 4.2.3, RFC 3463 X.3.1: mail system full. */
			smtp_reply(s, 452, "4.3.1", "<%s> insufficient system "
			    "storage; try again later", s->rcpts[i].addr);
			break;
		case STORE_ESTATE:
		case STORE_ENOTFOUND:
			smtp_reply(s, 450, "4.2.1", "<%s> mailbox is changing; "
			    "try again", s->rcpts[i].addr);
			break;
		default:
			smtp_reply(s, 451, "4.3.0", "<%s> temporary storage "
			    "problem; try again", s->rcpts[i].addr);
			break;
		}
	}
	smtp_session_reset(s);
	smtp_session_enter_state(s, S_READY);
	smtp_session_resume(s);
}
