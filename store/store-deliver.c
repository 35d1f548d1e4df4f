/*
 * store-deliver.c: one delivery operation, for every way a message comes
 * into a mailbox: LMTP and the local delivery agent, bounces, the
 * Gesendet copy of a submission, and (its sealed append) APPEND.
 *
 * Nothing is acknowledged before the commit (store.h): the callers answer
 * after store_deliver_message() or store_append_run() returned.
 */
#include "config.h"

#include <string.h>

#include "log.h"

#include "mime-seal.h"
#include "store-private.h"

static int	store_deliver_txn(struct store_txn *, void *);
static int	store_deliver_mailbox(struct store_txn *,
		    const struct store_delivery *, uint32_t *);

int
store_append_once(struct store_txn *txn, uint64_t account_id,
    uint32_t mailbox_id, struct store_append *ap)
{
	int	 ret;

	ap->replayed = 0;
	/*
	 * The earlier run got as far as its commit: if the message it
	 * filed is there with our blob, that commit took (its failure came
	 * after the log record was on disk) and ap still holds its record.
	 */
	if (ap->tried) {
		ret = store_msg_holds_blob(txn, account_id, ap->mailbox_id,
		    ap->msg.uid, ap->blob);
		if (ret < 0)
			return ret;
		if (ret == 1) {
			ap->replayed = 1;
			return 0;
		}
	}
	ret = store_msg_append(txn, account_id, mailbox_id, ap->blob,
	    ap->flags, ap->keywords, ap->internaldate, &ap->msg);
	if (ret == 0) {
		ap->mailbox_id = mailbox_id;
		ap->tried = 1;
	}
	return ret;
}

int
store_append_run(struct store *st, struct store_append *ap, store_txn_fn fn,
    void *arg)
{
	int	 (*run)(struct store *, store_txn_fn, void *);
	int	 ret;

	run = ap->nosync ? store_txn_run_nosync : store_txn_run;
	ap->tried = 0;
	ret = run(st, fn, arg);
	/*
	 * store_txn_run() gives up when the run after a recovery fails too;
	 * if a run reached its commit, whether that commit took is unknown
	 * until one more run looks (issue 16: never refuse what is stored).
	 * Not after STORE_EUNAVAIL: that commit took here but too few
	 * replication sites have it, and a look, which writes nothing,
	 * would need no acknowledgement and say 0 (issue 15).
	 */
	if (ret != 0 && ret != STORE_EUNAVAIL && ap->tried)
		ret = run(st, fn, arg);
	return ret;
}

/* The INBOX, or the special-use mailbox, made again if it is gone. */
static int
store_deliver_mailbox(struct store_txn *txn, const struct store_delivery *d,
    uint32_t *idp)
{
	struct store_mailbox	 mb;
	int			 ret;

	memset(&mb, 0, sizeof(mb));
	if (d->special_use == 0)
		ret = store_mailbox_find(txn, d->account_id, STORE_INBOX, &mb);
	else {
		ret = store_mailbox_find_special(txn, d->account_id,
		    d->special_use, &mb);
		/* The user deleted Gesendet: it comes back when needed. */
		if (ret == STORE_ENOTFOUND && d->create_name != NULL)
			ret = store_mailbox_create(txn, d->account_id,
			    d->create_name, d->special_use, &mb);
	}
	*idp = mb.id;
	store_mailbox_clear(&mb);
	return ret;
}

int
store_deliver(struct store_txn *txn, struct store_delivery *d)
{
	struct store_account	 a;
	uint32_t		 mbox;
	int			 ret, ok;

	memset(&a, 0, sizeof(a));
	if ((ret = store_account_get(txn, d->account_id, &a)) != 0)
		return ret;
	d->state = a.state;
	/* The key may have changed (reinvite) since the message was sealed. */
	ok = (a.state == STORE_ACCT_PENDING || a.state == STORE_ACCT_ACTIVE) &&
	    memcmp(a.pk, d->pk, sizeof(a.pk)) == 0;
	store_account_clear(&a);
	if (!ok)
		return STORE_ESTATE;
	if ((ret = store_deliver_mailbox(txn, d, &mbox)) != 0 ||
	    (ret = store_append_once(txn, d->account_id, mbox, &d->ap)) != 0 ||
	    d->ap.replayed)
		return ret;
	if ((ret = store_account_activity(txn, d->account_id)) != 0)
		return ret;
	return d->filed != NULL ? d->filed(txn, d, d->filed_arg) : 0;
}

static int
store_deliver_txn(struct store_txn *txn, void *arg)
{
	return store_deliver(txn, arg);
}

int
store_deliver_message(struct store *st, struct store_delivery *d,
    const void *msg, size_t len)
{
	struct store_blob	*blob;
	int			 ret;

	/* Sealed once: a rerun neither repeats the crypto nor changes blob. */
	blob = mime_seal(d->account_id, d->pk, msg, len);
	d->ap.blob = blob;
	ret = store_append_run(st, &d->ap, store_deliver_txn, d);
	if (ret == STORE_EUNAVAIL && store_append_unacked() && d->ap.tried &&
	    !d->ap.replayed)
		(void)store_unfile(st, d->account_id, d->ap.mailbox_id,
		    &d->ap.msg.uid, 1);
	d->ap.blob = NULL;
	store_blob_free(&blob);
	return ret;
}

int
store_append_unacked(void)
{
	return store_repl_commit_failed();
}

struct store_unfile {
	uint64_t	 account_id;
	uint32_t	 mailbox_id;
	const uint32_t	*uids;
	size_t		 n;
};

static int
store_unfile_txn(struct store_txn *txn, void *arg)
{
	const struct store_unfile *u = arg;
	size_t		 i;
	int		 ret;

	for (i = 0; i < u->n; i++) {
		ret = store_msg_expunge(txn, u->account_id, u->mailbox_id,
		    u->uids[i]);
		/* Expunged meanwhile (a session saw it): nothing to undo. */
		if (ret != 0 && ret != STORE_ENOTFOUND)
			return ret;
	}
	return 0;
}

int
store_unfile(struct store *st, uint64_t account_id, uint32_t mailbox_id,
    const uint32_t *uids, size_t n)
{
	struct store_unfile	 u = { account_id, mailbox_id, uids, n };
	int			 ret;

	ret = store_txn_run_compensate(st, store_unfile_txn, &u);
	/*
	 * Unacknowledged too, most likely: but it is in the log after
	 * what it undoes, and reaches every site in that order.
	 */
	if (ret == STORE_EUNAVAIL && store_repl_commit_failed())
		ret = 0;
	if (ret != 0)
		log_warnx("store: taking out %zu unacknowledged message%s: %s; "
		    "a retry may file %s twice", n, n == 1 ? "" : "s",
		    store_strerror(ret), n == 1 ? "it" : "them");
	else
		log_info("store: took out %zu unacknowledged message%s", n,
		    n == 1 ? "" : "s");
	return ret;
}
