/*
 * bootstrap-lost.c: the "forgot my password" page (issue 14).
 *
 *	GET  /lost	why a password never comes back; the address form
 *	POST /lost	the guest asks for a new invitation
 *
 * The password wraps the mailbox's secret key and is stored nowhere, so
 * nothing can recover or change it: that is the promise the page
 * explains.  What it can do is tell the mailbox's correspondents (the
 * sender who made it is one of them), each in a mail encrypted to their
 * own key, that its guest lost the password and that the admin's
 * `guestbox-provision reinvite --force` makes a new invitation.  The
 * mail holds none of the guest's mail and nothing secret.
 *
 * No account enumeration: every POST gets the same redirect to the same
 * notice, whether the address is unknown, pending, disabled, throttled
 * or told, and after the same store work (one account lookup, one walk
 * of its correspondents, none for an unknown one).  The encryption (gpg,
 * tens of milliseconds) runs afterwards on the work queue, so the answer
 * does not wait for it.  The log names an account only when it exists;
 * an unknown address, which whoever posts chose, is not written.
 *
 * Throttled per client address (ROUTE_THROTTLED: bootstrap_rate) and per
 * mailbox: at most one mail per lost_password_interval, the time kept in
 * the account record (lost_sent) and set in the transaction that queues
 * the mails, so a restart forgets nothing and a crash sends none twice.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "bootstrap.h"
#include "doorbell.h"
#include "log.h"
#include "pgp.h"
#include "pgpmime.h"
#include "rfc5322.h"
#include "workq.h"
#include "xmalloc.h"

/* Correspondents told at most (the admin's keys, senders). */
#define LOST_MAX_CORR	64

enum lost_outcome {
	LOST_UNKNOWN,		/* no such mailbox */
	LOST_NOT_ACTIVE,	/* pending, disabled, being deleted */
	LOST_THROTTLED,		/* a mail went within the interval */
	LOST_OFF,		/* lost_password_interval 0, or no smarthost */
	LOST_SEND,
};

static const char *const lost_outcome_names[] = {
	[LOST_UNKNOWN] = "unknown address",
	[LOST_NOT_ACTIVE] = "not active, nothing sent",
	[LOST_THROTTLED] = "throttled, one mail per lost_password_interval",
	[LOST_OFF] = "lost-password mails are off",
	[LOST_SEND] = "mail to the correspondents",
};

struct lost_corr {
	char		*address;
	char		 fpr[PGP_FPR_MAX];
	char		*msg;		/* encrypted, for the queue; or NULL */
	size_t		 len;
	char		 msgid[96];
};

/* What the POST read, and then the job of the work queue. */
struct lost_job {
	struct store		*st;
	const struct conf	*cf;
	int			 pgp_ok;
	const char		*address;	/* normalized; borrowed in txn */
	enum lost_outcome	 outcome;
	uint64_t		 id;
	char			*acct_address;
	struct lost_corr	 corr[LOST_MAX_CORR];
	size_t			 ncorr;
	/* The job's results. */
	int			 worked;
	size_t			 nqueued, nkeyless, nfailed;
	int			 stale;		/* someone was faster */
	int			 store_err;
};

static void	lost_form(struct bs_req *, enum text_id);
static void	lost_job_reset(struct lost_job *);
static void	lost_job_free(struct lost_job **);
static int	lost_corr_add(const struct store_corr *, void *);
static int	lost_read_txn(struct store_txn *, void *);
static void	lost_build(struct lost_job *, struct lost_corr *);
static int	lost_queue_txn(struct store_txn *, void *);
static void	lost_work(void *);
static void	lost_done(void *);

static void
lost_form(struct bs_req *r, enum text_id flash)
{
	struct evbuffer	*b;

	b = html_begin(r, T_LOST_TITLE);
	if (flash == T_LOST_ASKED)
		html_notice(b, r, "asked", flash);
	html_para(b, r, T_LOST_PROMISE, NULL);
	html_para(b, r, T_LOST_GONE, NULL);
	html_para(b, r, T_LOST_HOW, NULL);
	evbuffer_add_printf(b, "<form method=\"post\" action=\"/lost\">\n");
	html_csrf(b, r, "lost");
	evbuffer_add_printf(b, "<p><label for=\"address\">");
	html_text(b, r, T_ACCT_ADDRESS_LABEL, NULL, 0);
	evbuffer_add_printf(b, "</label>\n<input id=\"address\" "
	    "name=\"address\" type=\"email\" autocomplete=\"username\" "
	    "maxlength=\"%d\" required></p>\n<p><button type=\"submit\" "
	    "id=\"lost-submit\">", ADDR_MAX);
	html_text(b, r, T_LOST_SUBMIT, NULL, 0);
	evbuffer_add_printf(b, "</button></p>\n</form>\n");
	html_para(b, r, T_LOST_DIRECT, "hint");
	evbuffer_add_printf(b, "<p><a href=\"/account\" id=\"back\">");
	html_text(b, r, T_LOST_BACK, NULL, 0);
	evbuffer_add_printf(b, "</a></p>\n");
	html_end(r, b, 200, "OK");
}

void
lost_get(struct bs_req *r)
{
	enum text_id	 flash = bs_flash_take(r);

	account_form_session(r);
	lost_form(r, flash);
}

static void
lost_job_reset(struct lost_job *j)
{
	size_t	 i;

	for (i = 0; i < j->ncorr; i++) {
		free(j->corr[i].address);
		if (j->corr[i].msg != NULL)
			sodium_memzero(j->corr[i].msg, j->corr[i].len);
		free(j->corr[i].msg);
	}
	memset(j->corr, 0, sizeof(j->corr));
	j->ncorr = 0;
	free(j->acct_address);
	j->acct_address = NULL;
	j->id = 0;
	j->outcome = LOST_UNKNOWN;
}

static void
lost_job_free(struct lost_job **jp)
{
	if (*jp == NULL)
		return;
	lost_job_reset(*jp);
	free(*jp);
	*jp = NULL;
}

static int
lost_corr_add(const struct store_corr *c, void *arg)
{
	struct lost_job		*j = arg;
	struct lost_corr	*lc;

	if (j->ncorr >= LOST_MAX_CORR)
		return 1;
	lc = &j->corr[j->ncorr++];
	lc->address = xstrdup(c->address);
	snprintf(lc->fpr, sizeof(lc->fpr), "%s", c->fingerprint);
	return 0;
}

/* The same reads for every address; the outcome is decided after. */
static int
lost_read_txn(struct store_txn *txn, void *arg)
{
	struct lost_job		*j = arg;
	struct store_account	 a;
	time_t			 now = store_txn_now(txn);
	int			 ret, found;

	lost_job_reset(j);
	memset(&a, 0, sizeof(a));
	ret = store_account_find(txn, j->address, &a);
	if (ret != 0 && ret != STORE_ENOTFOUND) {
		store_account_clear(&a);
		return ret;
	}
	found = ret == 0;
	/* Account ids start at 1: an unknown one walks an empty range. */
	ret = store_corr_iter(txn, found ? a.id : 0, lost_corr_add, j);
	if (ret < 0 || !found) {
		store_account_clear(&a);
		return ret < 0 ? ret : 0;
	}
	j->id = a.id;
	j->acct_address = xstrdup(a.address);
	if (a.state != STORE_ACCT_ACTIVE)
		j->outcome = LOST_NOT_ACTIVE;
	else if (j->cf->lost_password_interval == 0 ||
	    j->cf->smarthost == NULL)
		j->outcome = LOST_OFF;
	else if (!doorbell_interval_due(a.lost_sent,
	    j->cf->lost_password_interval, now))
		j->outcome = LOST_THROTTLED;
	else
		j->outcome = LOST_SEND;
	store_account_clear(&a);
	return 0;
}

/* One correspondent's mail, encrypted to their key alone. */
static void
lost_build(struct lost_job *j, struct lost_corr *lc)
{
	struct pgpmime_opts	 opts = { pgp_home_dir(), PGPMIME_PROTECT_SUBJECT };
	struct pgpmime_rcpt	 rcpt = { lc->address, lc->fpr, 0 };
	struct pgpmime_copy	*copies = NULL;
	size_t			 ncopies = 0, bad = 0;
	char			*msg, date[RFC5322_DATE_MAX], id[33];
	char			 why[256];
	const char		*addr = j->acct_address, *host = j->cf->hostname;
	int			 n;

	rfc5322_date_format(time(NULL), 1, date, sizeof(date));
	rfc5322_random_id(id, sizeof(id));
	snprintf(lc->msgid, sizeof(lc->msgid), "<%s.lost@%s>", id, host);
	/* RFC 3834 5: Auto-Submitted, so that no autoresponder answers. */
	n = xasprintf(&msg, "From: guestbox <%s>\r\nTo: <%s>\r\n"
	    "Subject: Lost password: %s\r\nDate: %s\r\nMessage-ID: %s\r\n"
	    "Auto-Submitted: auto-generated\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: 8bit\r\n\r\n"
	    "The guest of the temporary mailbox %s on %s\r\n"
	    "reports a lost password (on the page %s/lost).\r\n\r\n"
	    "The password cannot be recovered or changed, and the mail in\r\n"
	    "that mailbox cannot be recovered without it.  If you want to\r\n"
	    "keep writing to this person, ask the administrator of %s\r\n"
	    "for a new invitation; it deletes the old mail and sends a new\r\n"
	    "link to the guest:\r\n\r\n"
	    "    guestbox-provision reinvite --force %s\r\n\r\n"
	    "Anybody who knows the address can send this request; if you\r\n"
	    "doubt it came from your correspondent, ask them.  You get at\r\n"
	    "most one such mail per mailbox in a while.\r\n\r\n"
	    "Der Gast des tempor\xc3\xa4ren Postfachs %s auf %s\r\n"
	    "meldet ein verlorenes Passwort.  Das Passwort l\xc3\xa4sst sich\r\n"
	    "weder wiederherstellen noch \xc3\xa4ndern, und die Post in dem\r\n"
	    "Postfach ist ohne es verloren.  Eine neue Einladung (die alte\r\n"
	    "Post wird dabei gel\xc3\xb6scht) stellt der Administrator aus:\r\n"
	    "\r\n    guestbox-provision reinvite --force %s\r\n\r\n"
	    "Die Anfrage kann jeder stellen, der die Adresse kennt; fragen\r\n"
	    "Sie im Zweifel nach.\r\n",
	    j->cf->invite_from, lc->address, addr, date, lc->msgid, addr,
	    host, j->cf->public_url, host, addr, addr, host, addr);
	if (pgpmime_build(&opts, msg, (size_t)n, &rcpt, 1, &copies, &ncopies,
	    &bad, why, sizeof(why)) == -1 || ncopies != 1) {
		/* A missing or unusable key is the correspondent's: none. */
		if (bad == 0)
			j->nkeyless++;
		else
			j->nfailed++;
		log_warnx("lost password of %s: nothing to <%s>: %s", addr,
		    lc->address, why);
		pgpmime_copies_free(&copies, ncopies);
	} else {
		lc->msg = copies[0].msg;
		lc->len = copies[0].len;
		copies[0].msg = NULL;
		pgpmime_copies_free(&copies, ncopies);
	}
	free(msg);
}

/* The mails and the time, together or not at all. */
static int
lost_queue_txn(struct store_txn *txn, void *arg)
{
	struct lost_job		*j = arg;
	struct store_account	 a;
	size_t			 i;
	int			 ret;

	j->nqueued = 0;
	j->stale = 0;
	memset(&a, 0, sizeof(a));
	if ((ret = store_account_get(txn, j->id, &a)) != 0) {
		store_account_clear(&a);
		return ret;
	}
	/* A request just before, a reinvite or a disable meanwhile. */
	if (a.state != STORE_ACCT_ACTIVE ||
	    strcmp(a.address, j->acct_address) != 0 ||
	    !doorbell_interval_due(a.lost_sent, j->cf->lost_password_interval,
	    store_txn_now(txn))) {
		j->stale = 1;
		store_account_clear(&a);
		return 0;
	}
	for (i = 0; i < j->ncorr; i++) {
		if (j->corr[i].msg == NULL)
			continue;
		if ((ret = doorbell_notice_queue(txn, j->cf, j->id,
		    j->corr[i].address, j->corr[i].msgid, j->corr[i].msg,
		    j->corr[i].len)) != 0) {
			store_account_clear(&a);
			return ret;
		}
		j->nqueued++;
	}
	/* gpg trouble and nothing sent: the guest may ask again. */
	if (j->nqueued > 0 || j->nfailed == 0) {
		a.lost_sent = store_txn_now(txn);
		ret = store_account_update(txn, &a);
	}
	store_account_clear(&a);
	return ret;
}

/* On the work queue: gpg for each correspondent, then one transaction. */
static void
lost_work(void *arg)
{
	struct lost_job	*j = arg;
	size_t		 i;

	j->worked = 1;
	if (!j->pgp_ok) {
		j->nfailed = j->ncorr > 0 ? j->ncorr : 1;
		return;
	}
	for (i = 0; i < j->ncorr; i++)
		lost_build(j, &j->corr[i]);
	j->store_err = store_txn_run(j->st, lost_queue_txn, j);
}

static void
lost_done(void *arg)
{
	struct lost_job	*j = arg;

	if (!j->worked)
		log_warnx("lost password of %s: shutting down, nothing sent",
		    j->acct_address);
	else if (!j->pgp_ok)
		log_warnx("lost password of %s: GnuPG is not usable, nothing "
		    "sent", j->acct_address);
	else if (j->store_err != 0)
		log_warnx("lost password of %s: nothing queued: %s",
		    j->acct_address, store_strerror(j->store_err));
	else if (j->stale)
		log_info("lost password of %s: sent meanwhile, nothing more",
		    j->acct_address);
	else
		log_info("lost password of %s: mail to %zu of %zu "
		    "correspondent(s) queued (%zu without a usable key, %zu "
		    "failed)", j->acct_address, j->nqueued, j->ncorr,
		    j->nkeyless, j->nfailed);
	lost_job_free(&j);
}

void
lost_post(struct bs_req *r)
{
	struct lost_job	*j;
	const char	*addr, *why;
	char		 norm[ADDR_MAX + 1];
	size_t		 alen = 0;
	int		 ret;

	if (r->sess->state != SESSION_ACCOUNT_NEW &&
	    r->sess->state != SESSION_ACCOUNT) {
		bs_redirect(r, "/lost");
		return;
	}
	addr = bs_form_get(&r->form, "address", &alen);
	norm[0] = '\0';
	if (addr == NULL || alen == 0 || alen > ADDR_MAX ||
	    memchr(addr, '\0', alen) != NULL ||
	    addr_normalize(addr, norm, &why) == -1)
		norm[0] = '\0';
	j = xcalloc(1, sizeof(*j));
	j->st = r->bd->d.store;
	j->cf = r->conf;
	j->pgp_ok = r->bd->pgp_ok;
	j->address = norm;
	ret = store_txn_run(j->st, lost_read_txn, j);
	j->address = NULL;
	if (ret != 0) {
		log_warnx("%s: lost password: %s", r->peer, store_strerror(ret));
		lost_job_free(&j);
		bs_error(r, 503, "Service Unavailable", T_ERR_BUSY_TITLE,
		    T_ERR_BUSY_TEXT);
		return;
	}
	log_info("%s: lost password for %s: %s", r->peer,
	    j->acct_address != NULL ? j->acct_address : "an unknown address",
	    lost_outcome_names[j->outcome]);
	if (j->outcome != LOST_SEND)
		lost_job_free(&j);
	else if (r->bd->workq == NULL ||
	    workq_submit(r->bd->workq, lost_work, lost_done, j) == -1) {
		/* Nothing was marked: the guest may ask again later. */
		log_warnx("%s: lost password for %s: the work queue is full, "
		    "nothing sent", r->peer, j->acct_address);
		lost_job_free(&j);
	}
	/* POST/redirect/GET, the same for every address. */
	bs_form_refused(r, T_LOST_ASKED, "/lost");
}
