/*
 * bounce.c: delivery status notifications (RFC 3464, RFC 6522) for the
 * replies the smarthost refused for good.  They go, sealed like every
 * message, into the sender's INBOX, where their mail client shows them.
 *
 * The report names the recipients, the smarthost's answers and the
 * Message-ID; it cannot quote the message itself (the server holds it
 * only sealed to the mailbox's key, or encrypted to the recipients).
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "rfc5322.h"
#include "submitd.h"
#include "xmalloc.h"

/* "5.1.1" from "550 5.1.1 text", else the class from the code. */
static void
bounce_status(const char *reply, char *out, size_t len)
{
	const char	*p = reply;

	if (strlen(p) > 4 && isdigit((unsigned char)p[4]) && p[5] == '.') {
		size_t	 n = strcspn(p + 4, " ");

		if (n < len) {
			memcpy(out, p + 4, n);
			out[n] = '\0';
			return;
		}
	}
	/*
	 * No SMTP reply at all: the queue gave up on a recipient that only
	 * ever failed temporarily (RFC 3463 4.4.7, delivery time expired).
	 */
	if (!isdigit((unsigned char)p[0])) {
		snprintf(out, len, "4.4.7");
		return;
	}
	snprintf(out, len, "%c.0.0", p[0] == '4' ? '4' : '5');
}

/* Reply text without CR, LF or other controls (it goes into a header). */
static void
bounce_clean(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = ' ';
}

int
bounce_deliver(struct store *st, const struct conf *cf, uint64_t account_id,
    const char *message_id, const char *const *addrs,
    const char *const *replies, size_t n)
{
	struct store_account	 acct;
	struct store_delivery	 d;
	FILE			*fp;
	char			*msg = NULL, date[RFC5322_DATE_MAX], bnd[33], id[33];
	char			 status[32];
	char			*reply;
	size_t			 len = 0, i;
	int			 ret;

	memset(&acct, 0, sizeof(acct));
	if ((ret = store_account_load(st, account_id, &acct)) != 0) {
		store_account_clear(&acct);
		return ret;
	}
	rfc5322_date_format(time(NULL), 0, date, sizeof(date));
	rfc5322_random_id(bnd, sizeof(bnd));
	rfc5322_random_id(id, sizeof(id));
	if ((fp = open_memstream(&msg, &len)) == NULL)
		fatal("open_memstream");
	fprintf(fp, "From: Mail Delivery System <MAILER-DAEMON@%s>\r\n"
	    "To: <%s>\r\n"
	    "Subject: Undelivered Mail Returned to Sender\r\n"
	    "Date: %s\r\n"
	    "Message-ID: <%s@%s>\r\n"
	    "Auto-Submitted: auto-replied\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: multipart/report; report-type=delivery-status;\r\n"
	    "\tboundary=\"%s\"\r\n\r\n", cf->hostname, acct.address, date,
	    id, cf->hostname, bnd);
	fprintf(fp, "--%s\r\nContent-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: 8bit\r\n\r\n"
	    "Your message %s could not be delivered to:\r\n\r\n",
	    bnd, message_id != NULL ? message_id : "(without a Message-ID)");
	for (i = 0; i < n; i++) {
		reply = xstrdup(replies[i] != NULL ? replies[i] : "");
		bounce_clean(reply);
		fprintf(fp, "  <%s>: %s\r\n", addrs[i], reply);
		free(reply);
	}
	fprintf(fp, "\r\nIhre Nachricht %s konnte nicht zugestellt werden "
	    "(Gr\xc3\xbcnde oben).\r\n\r\n",
	    message_id != NULL ? message_id : "(ohne Message-ID)");
	/* RFC 3464 2.2, 2.3: per-message, then per-recipient fields. */
	fprintf(fp, "--%s\r\nContent-Type: message/delivery-status\r\n\r\n"
	    "Reporting-MTA: dns; %s\r\nArrival-Date: %s\r\n", bnd,
	    cf->hostname, date);
	for (i = 0; i < n; i++) {
		reply = xstrdup(replies[i] != NULL ? replies[i] : "5");
		bounce_clean(reply);
		bounce_status(reply, status, sizeof(status));
		fprintf(fp, "\r\nFinal-Recipient: rfc822; %s\r\nAction: failed\r\n"
		    "Status: %s\r\nRemote-MTA: dns; %s\r\n"
		    "Diagnostic-Code: smtp; %s\r\n", addrs[i], status,
		    cf->smarthost != NULL ? cf->smarthost : "localhost", reply);
		free(reply);
	}
	fprintf(fp, "\r\n--%s\r\nContent-Type: text/rfc822-headers\r\n\r\n"
	    "From: <%s>\r\n", bnd, acct.address);
	if (message_id != NULL)
		fprintf(fp, "Message-ID: %s\r\n", message_id);
	fprintf(fp, "\r\n--%s--\r\n", bnd);
	fclose(fp);
	memset(&d, 0, sizeof(d));
	d.account_id = account_id;
	d.pk = acct.pk;
	ret = store_deliver_message(st, &d, msg, len);
	free(msg);
	store_account_clear(&acct);
	return ret;
}
