/*
 * doorbell.h: the new-mail notice (issue 14).
 *
 * A guest whose client does not keep IMAP IDLE open (Apple Mail on iOS,
 * for a new server) never learns that mail came.  When a delivery files
 * a message into the INBOX of an active mailbox and no client of the
 * guest has been logged in for notice_idle, a content-free notice goes to
 * the guest's real address through the smarthost: how many unread
 * messages wait, not who wrote or what.  At most one per notice_interval
 * (0: none at all), never to a pending mailbox (its invitation says it
 * all), never when the guest switched notices off.
 *
 * The notice is queued in the delivery's own transaction, with the time
 * it was queued, into the durable outbound queue of guestbox-submitd: it
 * is sent once whatever crashes, and a failure bounces nothing.
 */
#ifndef GUESTBOX_DOORBELL_H
#define GUESTBOX_DOORBELL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "conf.h"
#include "store.h"

/*
 * store_delivery.filed for deliveries to a guest (LMTP, the gateway, the
 * local delivery agent); arg is the const struct conf.
 */
int		 doorbell_filed(struct store_txn *, const struct store_delivery *,
		    const void *conf);
/*
 * Whether a notice last queued at last (0: never) may go again at now:
 * never with interval 0.  The one rule for every notice of the server's
 * own that is kept at most one per interval in the account record (the
 * doorbell's notice_sent, the lost-password mail's lost_sent).
 */
int		 doorbell_interval_due(int64_t last, uint64_t interval,
		    time_t now);
/*
 * Queues msg (what goes on the wire) for one recipient, from
 * invite_from, in txn, into the durable outbound queue of
 * guestbox-submitd, flagged STORE_QUEUE_F_NOTICE: it goes once whatever
 * crashes, and a failure bounces nothing.
 */
int		 doorbell_notice_queue(struct store_txn *, const struct conf *,
		    uint64_t account_id, const char *to, const char *msgid,
		    const void *msg, size_t len);
/*
 * How often a daemon with logged-in sessions records that their clients
 * are there (store_account_seen), in seconds: often enough that a client
 * that stays connected (IDLE) is never taken for gone.
 */
unsigned	 doorbell_heartbeat(const struct conf *);

#endif
