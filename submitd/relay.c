/*
 * relay.c: sends the outbound queue to the one configured smarthost.
 *
 * The queue policy lives here; the SMTP conversation is the engine of
 * daemon/smtp-client.c.  One connection at a time, reused for the next
 * message while it is open (RSET between transactions); idle for
 * RELAY_REUSE seconds, it says QUIT.  Every round ends in a transaction that records, per recipient, sent,
 * failed (5xx: a bounce report goes to the sender's INBOX) or still
 * pending (4xx, connection trouble: tried again with exponential
 * back-off until queue_max_age, then bounced).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "log.h"
#include "smtp-client.h"
#include "submitd.h"
#include "tls.h"
#include "xmalloc.h"

#define RELAY_SCAN_INTERVAL	30	/* seconds between queue scans */
#define RELAY_TIMEOUT		120	/* per reply (RFC 5321 4.5.3.2 is longer) */
#define RELAY_REUSE		10	/* keep an idle connection this long */
#define RELAY_BACKOFF_MAX	(4 * 3600)	/* from queue_retry, doubling */

struct relay {
	struct submitd		*sd;
	struct event		*timer;
	struct event		*reuse;
	SSL_CTX			*ctx;
	/* The connection (smtp-client.c), or NULL; idle: it is ready. */
	struct smtp_client	*sc;
	int			 idle;
	/* The entry being sent. */
	int			 busy;
	struct store_queue_entry entry;
	uint8_t			*data;
	size_t			 len;
	/* Its pending recipients: addresses, their index in entry.rcpts. */
	const char		**pending;
	uint32_t		*pending_idx;
	uint32_t		 npending;
	enum smtp_client_status	*round;
	char			**round_reply;
	char			 error[512];
};

static void	relay_run(struct relay *);
static void	relay_sc_ready(struct smtp_client *, void *);
static void	relay_sc_done(struct smtp_client *,
		    const struct smtp_client_result *, void *);
static void	relay_sc_closed(struct smtp_client *, const char *, void *);

static const struct smtp_client_cb relay_sc_cb = {
	.ready = relay_sc_ready,
	.done = relay_sc_done,
	.closed = relay_sc_closed,
};

/* ---- the queue ---- */

struct relay_pick {
	time_t			 now;
	uint64_t		 id;
	time_t			 next;	/* earliest future attempt */
};

static int
relay_pick_one(const struct store_queue_entry *e, void *arg)
{
	struct relay_pick	*rp = arg;

	if (e->next_attempt <= rp->now) {
		rp->id = e->id;
		return 1;
	}
	if (rp->next == 0 || e->next_attempt < rp->next)
		rp->next = (time_t)e->next_attempt;
	return 0;
}

static int
relay_pick_txn(struct store_txn *txn, void *arg)
{
	struct relay_pick	*rp = arg;
	int			 ret;

	rp->id = 0;
	rp->next = 0;
	ret = store_queue_iter(txn, relay_pick_one, rp);
	return ret == 1 ? 0 : ret;
}

struct relay_load {
	struct relay		*r;
	uint64_t		 id;
};

static int
relay_load_txn(struct store_txn *txn, void *arg)
{
	struct relay_load	*rl = arg;
	struct relay		*r = rl->r;

	free(r->data);
	r->data = NULL;
	if (store_queue_get(txn, rl->id, &r->entry) != 0)
		return STORE_ENOTFOUND;
	return store_queue_data(txn, rl->id, &r->data, &r->len);
}

static void
relay_entry_clear(struct relay *r)
{
	uint32_t	 i;

	for (i = 0; r->round_reply != NULL && i < r->entry.nrcpts; i++)
		free(r->round_reply[i]);
	free(r->round_reply);
	r->round_reply = NULL;
	free(r->round);
	r->round = NULL;
	free(r->pending);
	r->pending = NULL;
	free(r->pending_idx);
	r->pending_idx = NULL;
	r->npending = 0;
	store_queue_entry_clear(&r->entry);
	free(r->data);
	r->data = NULL;
	r->len = 0;
	r->busy = 0;
	r->error[0] = '\0';
}

/* The round starts: every pending recipient is tried. */
static void
relay_entry_start(struct relay *r)
{
	uint32_t	 i;

	r->busy = 1;
	r->round = xcalloc(r->entry.nrcpts, sizeof(*r->round));
	r->round_reply = xcalloc(r->entry.nrcpts, sizeof(*r->round_reply));
	r->pending = xcalloc(r->entry.nrcpts, sizeof(*r->pending));
	r->pending_idx = xcalloc(r->entry.nrcpts, sizeof(*r->pending_idx));
	for (i = 0; i < r->entry.nrcpts; i++) {
		r->round[i] = SMTP_CLIENT_TEMPFAIL;
		if (r->entry.rcpts[i].status != STORE_RCPT_PENDING)
			continue;
		r->pending[r->npending] = r->entry.rcpts[i].address;
		r->pending_idx[r->npending++] = i;
	}
}

static time_t
relay_backoff(const struct conf *cf, uint32_t attempts)
{
	time_t	 d = (time_t)cf->queue_retry;

	while (attempts-- > 1 && d < RELAY_BACKOFF_MAX)
		d *= 2;
	return d > RELAY_BACKOFF_MAX ? RELAY_BACKOFF_MAX : d;
}

struct relay_finish {
	struct relay		*r;
	const struct conf	*conf;
	int			 remove;
	/* Recipients that failed for good in this round, for the bounce. */
	char			**failed;
	char			**failed_reply;
	size_t			 nfailed;
};

static void
relay_finish_clear(struct relay_finish *rf)
{
	size_t	 i;

	for (i = 0; i < rf->nfailed; i++) {
		free(rf->failed[i]);
		free(rf->failed_reply[i]);
	}
	free(rf->failed);
	free(rf->failed_reply);
	rf->failed = rf->failed_reply = NULL;
	rf->nfailed = 0;
}

/*
 * Applies the round to the entry as stored (a rerun after a deadlock
 * starts from the stored state again, so nothing counts twice).
 */
static int
relay_finish_txn(struct store_txn *txn, void *arg)
{
	struct relay_finish	*rf = arg;
	struct relay		*r = rf->r;
	struct store_queue_entry cur;
	uint32_t		 i, pending = 0;
	time_t			 now = store_txn_now(txn);
	const char		*reply;
	int			 ret, gave_up;

	relay_finish_clear(rf);
	memset(&cur, 0, sizeof(cur));
	if ((ret = store_queue_get(txn, r->entry.id, &cur)) != 0)
		return ret;
	if (cur.nrcpts != r->entry.nrcpts) {
		store_queue_entry_clear(&cur);
		return STORE_ECORRUPT;
	}
	gave_up = now - cur.created >= (int64_t)rf->conf->queue_max_age;
	for (i = 0; i < cur.nrcpts; i++) {
		struct store_queue_rcpt *q = &cur.rcpts[i];

		if (q->status != STORE_RCPT_PENDING)
			continue;
		reply = r->round_reply[i];
		if (r->round[i] == SMTP_CLIENT_SENT)
			q->status = STORE_RCPT_SENT;
		else if (r->round[i] == SMTP_CLIENT_PERMFAIL || gave_up) {
			/* issue 4: 5xx, or queue_max_age over: a bounce. */
			q->status = STORE_RCPT_FAILED;
			rf->failed = xreallocarray(rf->failed, rf->nfailed + 1,
			    sizeof(*rf->failed));
			rf->failed_reply = xreallocarray(rf->failed_reply,
			    rf->nfailed + 1, sizeof(*rf->failed_reply));
			rf->failed[rf->nfailed] = xstrdup(q->address);
			if (r->round[i] == SMTP_CLIENT_PERMFAIL && reply != NULL)
				rf->failed_reply[rf->nfailed] = xstrdup(reply);
			else
				xasprintf(&rf->failed_reply[rf->nfailed],
				    "gave up after %llu days: %s",
				    (unsigned long long)(rf->conf->queue_max_age /
				    86400), r->error[0] != '\0' ? r->error :
				    "the smarthost did not take it");
			rf->nfailed++;
		}
		if (reply != NULL) {
			free(q->reply);
			q->reply = xstrdup(reply);
		}
		if (q->status == STORE_RCPT_PENDING)
			pending++;
	}
	cur.attempts++;
	free(cur.last_error);
	cur.last_error = xstrdup(r->error);
	cur.next_attempt = now + relay_backoff(rf->conf, cur.attempts);
	rf->remove = pending == 0;
	ret = rf->remove ? store_queue_del(txn, cur.id) :
	    store_queue_update(txn, &cur);
	store_queue_entry_clear(&cur);
	return ret;
}

/* The round is over: record it, bounce what failed for good. */
static void
relay_finish(struct relay *r)
{
	struct relay_finish	 rf;
	struct store		*st = r->sd->daemon.store;
	uint32_t		 i, sent = 0;
	int			 ret;

	if (!r->busy)
		return;
	memset(&rf, 0, sizeof(rf));
	rf.r = r;
	rf.conf = r->sd->daemon.conf;
	for (i = 0; i < r->entry.nrcpts; i++)
		if (r->round[i] == SMTP_CLIENT_SENT)
			sent++;
	/*
	 * Group commit: nobody waits for this record, so it does not wait
	 * for the disk either; a flush is asked for at once.  Lost with
	 * the power before it, the entry goes again (at least once), as
	 * it does when we die between the smarthost's 250 and here.
	 */
	ret = store_txn_run_nosync(st, relay_finish_txn, &rf);
	if (ret == 0)
		(void)group_commit_wait(r->sd->commit, NULL, NULL);
	if (ret != 0) {
		/* Sent but not recorded: it goes again (at least once). */
		log_warnx("relay: recording queue entry %llu: %s",
		    (unsigned long long)r->entry.id, store_strerror(ret));
		relay_finish_clear(&rf);
		relay_entry_clear(r);
		return;
	}
	log_info("relay: queue entry %llu: %u sent, %zu failed, %s",
	    (unsigned long long)r->entry.id, sent, rf.nfailed, rf.remove ?
	    "done" : r->error[0] != '\0' ? r->error : "the rest later");
	/* A notice of our own (doorbell.h) that failed is only logged. */
	if (rf.nfailed > 0 && !(r->entry.flags & STORE_QUEUE_F_NOTICE) &&
	    (ret = bounce_deliver(st, rf.conf,
	    r->entry.account_id, r->entry.message_id,
	    (const char *const *)rf.failed, (const char *const *)rf.failed_reply,
	    rf.nfailed)) != 0)
		log_warnx("relay: bounce for entry %llu: %s",
		    (unsigned long long)r->entry.id, store_strerror(ret));
	relay_finish_clear(&rf);
	relay_entry_clear(r);
}

/* The round ended before the transaction: everybody later again. */
static void
relay_fail_round(struct relay *r, const char *why)
{
	if (!r->busy)
		return;
	snprintf(r->error, sizeof(r->error), "%s", why);
	relay_finish(r);
}

/* ---- the connection: smtp-client.c's callbacks ---- */

static void
relay_connect(struct relay *r)
{
	char	 err[512];

	if ((r->sc = smtp_client_new(r->sd->daemon.base, r->sd->daemon.conf,
	    r->ctx, RELAY_TIMEOUT, &relay_sc_cb, r, err, sizeof(err))) == NULL) {
		relay_fail_round(r, err);
		return;
	}
	r->idle = 0;
	smtp_client_connect(r->sc);
}

/* The entry taken goes out on the ready connection. */
static void
relay_begin(struct relay *r)
{
	struct smtp_client_msg	 m;

	memset(&m, 0, sizeof(m));
	m.from = r->entry.mail_from;
	m.rcpts = r->pending;
	m.nrcpts = r->npending;
	m.data = r->data;
	m.len = r->len;
	r->idle = 0;
	if (smtp_client_send(r->sc, &m) == -1)
		relay_fail_round(r, "the connection to the smarthost is not ready");
}

static void
relay_sc_ready(struct smtp_client *sc, void *arg)
{
	struct relay	*r = arg;

	(void)sc;
	r->idle = 1;
	relay_run(r);
}

static void
relay_sc_done(struct smtp_client *sc, const struct smtp_client_result *res,
    void *arg)
{
	struct relay	*r = arg;
	uint32_t	 k, i;

	(void)sc;
	if (!r->busy || res->nrcpts != r->npending)
		return;
	for (k = 0; k < r->npending; k++) {
		i = r->pending_idx[k];
		r->round[i] = res->rcpts[k].status;
		free(r->round_reply[i]);
		r->round_reply[i] = res->rcpts[k].reply != NULL ?
		    xstrdup(res->rcpts[k].reply) : NULL;
	}
	snprintf(r->error, sizeof(r->error), "%s", res->error != NULL ?
	    res->error : "");
	relay_finish(r);
}

static void
relay_sc_closed(struct smtp_client *sc, const char *why, void *arg)
{
	struct relay	*r = arg;

	r->idle = 0;
	evtimer_del(r->reuse);
	if (why != NULL) {
		log_warnx("relay: %s: %s", smtp_client_peer(sc), why);
		/* why lives in the client: record the round first. */
		relay_fail_round(r, why);
		smtp_client_free(&r->sc);
		return;
	}
	smtp_client_free(&r->sc);
	/* After QUIT: a reply queued meanwhile goes now. */
	relay_run(r);
}

static void
relay_reuse_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct relay	*r = arg;

	(void)fd;
	(void)what;
	if (r->sc != NULL && r->idle && !r->busy) {
		r->idle = 0;
		smtp_client_quit(r->sc);
	}
}

/* Takes the next due entry, if any, and starts sending it. */
static void
relay_run(struct relay *r)
{
	struct relay_pick	 rp;
	struct relay_load	 rl;
	struct timeval		 tv = { RELAY_REUSE, 0 };
	int			 ret;

	/*
	 * The entry taken before connecting goes out once the connection
	 * is ready (after EHLO, STARTTLS and AUTH).
	 */
	if (r->busy) {
		if (r->sc != NULL && r->idle)
			relay_begin(r);
		return;
	}
	if ((r->sc != NULL && !r->idle) || r->sd->daemon.stopping)
		return;
	memset(&rp, 0, sizeof(rp));
	rp.now = time(NULL);
	if ((ret = store_txn_run(r->sd->daemon.store, relay_pick_txn, &rp)) != 0) {
		log_warnx("relay: reading the queue: %s", store_strerror(ret));
		return;
	}
	if (rp.id == 0) {
		if (r->sc != NULL)
			evtimer_add(r->reuse, &tv);
		return;
	}
	evtimer_del(r->reuse);
	rl.r = r;
	rl.id = rp.id;
	if (store_txn_run(r->sd->daemon.store, relay_load_txn, &rl) != 0) {
		relay_entry_clear(r);
		return;
	}
	relay_entry_start(r);
	if (r->sc == NULL)
		relay_connect(r);
	else
		relay_begin(r);
}

static void
relay_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	relay_run(arg);
}

void
relay_kick(struct relay *r)
{
	if (r != NULL)
		relay_run(r);
}

struct relay *
relay_new(struct submitd *sd)
{
	const struct conf	*cf = sd->daemon.conf;
	struct relay		*r;
	struct timeval		 tv = { RELAY_SCAN_INTERVAL, 0 };
	char			 host[256], port[8], err[512];

	if (cf->smarthost == NULL) {
		log_info("relay: no smarthost configured; replies stay queued");
		return NULL;
	}
	if (smtp_client_smarthost(cf->smarthost, cf->smarthost_tls, host,
	    sizeof(host), port, sizeof(port)) == -1)
		fatalx("relay: smarthost \"%s\" is not HOST:PORT", cf->smarthost);
	r = xcalloc(1, sizeof(*r));
	r->sd = sd;
	if ((r->ctx = tls_client_ctx(cf->smarthost_verify, cf->smarthost_ca,
	    err, sizeof(err))) == NULL)
		fatalx("relay: %s", err);
	r->timer = event_new(sd->daemon.base, -1, EV_PERSIST, relay_timer, r);
	evtimer_add(r->timer, &tv);
	r->reuse = evtimer_new(sd->daemon.base, relay_reuse_timeout, r);
	return r;
}

void
relay_free(struct relay **rp)
{
	struct relay	*r = *rp;

	if (r == NULL)
		return;
	smtp_client_free(&r->sc);
	relay_entry_clear(r);
	event_free(r->timer);
	event_free(r->reuse);
	SSL_CTX_free(r->ctx);
	free(r);
	*rp = NULL;
}
