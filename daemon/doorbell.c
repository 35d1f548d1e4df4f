/*
 * doorbell.c: the new-mail notice; doorbell.h says when it goes.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "doorbell.h"
#include "xmalloc.h"

static int	doorbell_due(const struct conf *, const struct store_account *,
		    time_t);
static int	doorbell_queue(struct store_txn *, const struct conf *,
		    const struct store_account *, uint32_t, time_t);

int
doorbell_interval_due(int64_t last, uint64_t interval, time_t now)
{
	return interval != 0 && (last == 0 || now - last >= (int64_t)interval);
}

int
doorbell_notice_queue(struct store_txn *txn, const struct conf *cf,
    uint64_t account_id, const char *to, const char *msgid, const void *msg,
    size_t len)
{
	struct store_queue_entry	 e;
	struct store_queue_rcpt		 rcpt;
	char				 none[1] = "";
	char				*rcpt_addr, *from, *id;
	int				 ret;

	/* The entry's strings are not const; the queue only copies them. */
	rcpt_addr = xstrdup(to);
	from = xstrdup(cf->invite_from);
	id = xstrdup(msgid);
	memset(&e, 0, sizeof(e));
	memset(&rcpt, 0, sizeof(rcpt));
	rcpt.address = rcpt_addr;
	rcpt.status = STORE_RCPT_PENDING;
	rcpt.reply = none;
	e.account_id = account_id;
	e.created = store_txn_now(txn);
	e.next_attempt = e.created;
	e.mail_from = from;
	e.message_id = id;
	e.last_error = none;
	e.size = (uint64_t)len;
	e.rcpts = &rcpt;
	e.nrcpts = 1;
	e.flags = STORE_QUEUE_F_NOTICE;
	ret = store_queue_put(txn, &e, msg, len);
	free(rcpt_addr);
	free(from);
	free(id);
	return ret;
}

unsigned
doorbell_heartbeat(const struct conf *cf)
{
	uint64_t	 h = cf->notice_idle / 3;

	/* Within a third of notice_idle, and never more often than 1/s. */
	return h < 1 ? 1 : h > 300 ? 300 : (unsigned)h;
}

static int
doorbell_due(const struct conf *cf, const struct store_account *a,
    time_t now)
{
	if (cf->smarthost == NULL || a->state != STORE_ACCT_ACTIVE ||
	    a->notices_off)
		return 0;
	/* A client is there (or was, lately): it shows the mail itself. */
	if (a->client_seen != 0 &&
	    now - a->client_seen < (int64_t)cf->notice_idle)
		return 0;
	return doorbell_interval_due(a->notice_sent, cf->notice_interval, now);
}

/* The notice, and its queue entry: no bounce when it fails. */
static int
doorbell_queue(struct store_txn *txn, const struct conf *cf,
    const struct store_account *a, uint32_t unseen, time_t now)
{
	char				*msg, date[64], id[33], msgid[128];
	uint8_t				 rnd[16];
	struct tm			 tm;
	int				 len, ret;

	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(id, sizeof(id), rnd, sizeof(rnd));
	snprintf(msgid, sizeof(msgid), "<%s@%s>", id, cf->hostname);
	/*
	 * Content-free: no sender, no subject, only the count.  RFC 3834 5:
	 * Auto-Submitted marks it, so that no autoresponder answers.
	 */
	len = xasprintf(&msg, "From: guestbox <%s>\r\nTo: <%s>\r\n"
	    "Subject: New encrypted mail / =?utf-8?Q?Neue_verschl=C3=BCsselte"
	    "_Post?=\r\nDate: %s\r\nMessage-ID: %s\r\n"
	    "Auto-Submitted: auto-generated\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: 8bit\r\n\r\n"
	    "You have new encrypted mail in your temporary mailbox\r\n"
	    "%s on %s: %u unread message(s) in the inbox.\r\n"
	    "Your mail client shows them as usual.\r\n\r\n"
	    "This notice names neither sender nor content.  To switch these\r\n"
	    "notices off, log in with your address and password at\r\n"
	    "%s/account\r\n\r\n"
	    "Sie haben neue verschl\xc3\xbcsselte Post in Ihrem "
	    "tempor\xc3\xa4ren Postfach\r\n%s auf %s: %u ungelesene "
	    "Nachricht(en) im Posteingang.\r\nIhr Mailprogramm zeigt sie wie "
	    "gewohnt.\r\n\r\nDieser Hinweis nennt weder Absender noch "
	    "Inhalt.  Abschalten k\xc3\xb6nnen Sie\r\nihn nach der Anmeldung "
	    "mit Adresse und Passwort unter\r\n%s/account\r\n",
	    cf->invite_from, a->address, date, msgid, a->address, cf->hostname,
	    unseen, cf->public_url, a->address, cf->hostname, unseen,
	    cf->public_url);
	ret = doorbell_notice_queue(txn, cf, a->id, a->address, msgid, msg,
	    (size_t)len);
	sodium_memzero(msg, (size_t)len);
	free(msg);
	return ret;
}

int
doorbell_filed(struct store_txn *txn, const struct store_delivery *d,
    const void *arg)
{
	const struct conf	*cf = arg;
	struct store_account	 a;
	struct store_mailbox	 mb;
	time_t			 now = store_txn_now(txn);
	int			 ret;

	if (d->special_use != 0)
		return 0;
	memset(&a, 0, sizeof(a));
	if ((ret = store_account_get(txn, d->account_id, &a)) != 0)
		return ret;
	if (!doorbell_due(cf, &a, now)) {
		store_account_clear(&a);
		return 0;
	}
	memset(&mb, 0, sizeof(mb));
	if ((ret = store_mailbox_get(txn, d->account_id, d->ap.mailbox_id,
	    &mb)) == 0 &&
	    (ret = doorbell_queue(txn, cf, &a, mb.unseen, now)) == 0) {
		a.notice_sent = now;
		ret = store_account_update(txn, &a);
	}
	store_mailbox_clear(&mb);
	store_account_clear(&a);
	return ret;
}
