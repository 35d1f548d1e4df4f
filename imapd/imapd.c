/*
 * imapd.c: guestbox-imapd's main: the daemon frame, capabilities, and
 * routing of store notifications to sessions.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "doorbell.h"
#include "imap-sort-cache.h"
#include "imapd.h"
#include "log.h"
#include "workers.h"
#include "xmalloc.h"

static int	imapd_id_cmp(const void *, const void *);
static int	imapd_seen_txn(struct store_txn *, void *);
static void	imapd_heartbeat(evutil_socket_t, short, void *);
static void	imapd_sort_sweep(evutil_socket_t, short, void *);

/* How often unused SORT keys are looked at (imap-sort-cache.h). */
#define IMAPD_SORT_SWEEP_S	10

static void
imapd_accept(struct daemon *d, struct listener *l, int fd,
    const struct sockaddr *sa, socklen_t salen)
{
	imap_session_accept(d->arg, l, fd, sa, salen);
}

static void
imapd_notify(struct daemon *d, const struct store_event *ev)
{
	struct imapd		*im = d->arg;
	struct imap_session	*s, *next;

	/*
	 * The site rolled back (daemon.c has reopened the store): what the
	 * caches hold may name messages that are gone, and UIDs and MODSEQs
	 * given again to others.  Every open view reloads in full at its
	 * next sync (IDLE ones at once, below).
	 */
	if (ev->account_id == 0 && ev->mailbox_id == STORE_REOPEN_EVENT) {
		log_info("the site rolled back or changed masters: every "
		    "view reloads");
		imap_view_cache_forget(0);
		imap_sort_cache_forget(0);
	}
	for (s = im->sessions; s != NULL; s = next) {
		next = s->next;		/* a sync may end the session */
		if (s->account_id == 0 ||
		    (ev->account_id != 0 && ev->account_id != s->account_id))
			continue;
		/* issue 19: disabled, deleted, re-invited: out at once. */
		if (ev->mailbox_id == 0 && s->key != NULL &&
		    auth_login_revoked(d->store, s->account_id, s->key))
			imap_session_revoke(s);
		else
			imap_session_notify(s, ev);
	}
}

static void
imapd_shutdown(struct daemon *d)
{
	struct imapd		*im = d->arg;
	struct imap_session	*s, *next;

	for (s = im->sessions; s != NULL; s = next) {
		next = s->next;
		imap_session_shutdown(s);
	}
}

static int
imapd_id_cmp(const void *a, const void *b)
{
	uint64_t	 x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

struct imapd_seen {
	uint64_t	 id;
	int64_t		 interval;
};

static int
imapd_seen_txn(struct store_txn *txn, void *arg)
{
	const struct imapd_seen	*is = arg;

	return store_account_seen(txn, is->id, is->interval);
}

/*
 * The doorbell (doorbell.h) rings only when no client has been there for
 * notice_idle: a client that stays logged in (IDLE for days) is there, so
 * its account's client_seen is kept fresh, once per account and beat.
 */
static void
imapd_heartbeat(evutil_socket_t fd, short what, void *arg)
{
	struct imapd		*im = arg;
	struct imap_session	*s;
	struct imapd_seen	 is;
	uint64_t		*ids;
	size_t			 i, n = 0;
	int			 ret;

	(void)fd;
	(void)what;
	if (im->nsessions == 0)
		return;
	ids = xreallocarray(NULL, im->nsessions, sizeof(*ids));
	for (s = im->sessions; s != NULL && n < im->nsessions; s = s->next)
		if (s->account_id != 0 && s->key != NULL)
			ids[n++] = s->account_id;
	qsort(ids, n, sizeof(*ids), imapd_id_cmp);
	is.interval = doorbell_heartbeat(im->daemon.conf) / 2;
	for (i = 0; i < n; i++) {
		if (i > 0 && ids[i] == ids[i - 1])
			continue;
		is.id = ids[i];
		if ((ret = store_txn_run(im->daemon.store, imapd_seen_txn,
		    &is)) != 0 && ret != STORE_ENOTFOUND)
			log_warnx("heartbeat: account %llu: %s",
			    (unsigned long long)is.id, store_strerror(ret));
	}
	free(ids);
}

/*
 * Decrypted SORT keys that no session uses stay no longer than the
 * account's unwrapped key may (auth_cache_time, daemon/auth.c).
 */
static void
imapd_sort_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct imapd	*im = arg;

	(void)fd;
	(void)what;
	imap_sort_cache_expire(im->daemon.conf->auth_cache_time * 1000);
}

static const struct daemon_ops imapd_ops = {
	.accept = imapd_accept,
	.notify = imapd_notify,
	.shutdown = imapd_shutdown,
};

const char *
imap_capabilities(const struct imap_session *s)
{
	const struct imapd	*im = s->imapd;

	if (s->state != S_NOTAUTH)
		return im->capa_auth;
	/* RFC 8314: no password before TLS; LOGINDISABLED says so. */
	if (!s->conn->tls)
		return im->capa_preauth;
	return im->capa_preauth_tls;
}

int
main(int argc, char *argv[])
{
	static struct imapd	 im;
	struct event		*beat, *sweep;
	struct timeval		 tv;
	int			 ret;

	if ((ret = daemon_init(&im.daemon, "guestbox-imapd", &imapd_ops, argc,
	    argv)) != 0)
		return ret > 255 ? 0 : ret;
	im.daemon.arg = &im;
	if (im.daemon.conf->imap_listen.n == 0) {
		log_warnx("no imap_listen in %s", im.daemon.conf->path != NULL ?
		    im.daemon.conf->path : "the configuration");
		daemon_abandon(&im.daemon);
		return EX_CONFIG;
	}
	/* From the command table: before and after login, with and without TLS. */
	im.capa_preauth = imap_commands_capability(CAPA_PLAIN,
	    im.daemon.conf->max_message_size);
	im.capa_preauth_tls = imap_commands_capability(CAPA_TLS,
	    im.daemon.conf->max_message_size);
	im.capa_auth = imap_commands_capability(CAPA_LOGGEDIN,
	    im.daemon.conf->max_message_size);
	daemon_bind(&im.daemon, &im.daemon.conf->imap_listen);
	im.daemon.workers = workers_number(im.daemon.conf->imap_workers);
	daemon_start(&im.daemon, 1);
	/* What a worker killed mid-FETCH kept (store-lease.c) goes now. */
	if ((ret = store_blob_lease_sweep(im.daemon.store)) != 0)
		log_debug("store: leases not swept: %s", store_strerror(ret));
	auth_set_login_proto(im.daemon.auth, STORE_LOGIN_IMAP);
	im.commit = group_commit_new(im.daemon.base, im.daemon.store);
	tv.tv_sec = doorbell_heartbeat(im.daemon.conf);
	tv.tv_usec = 0;
	beat = event_new(im.daemon.base, -1, EV_PERSIST, imapd_heartbeat, &im);
	evtimer_add(beat, &tv);
	tv.tv_sec = IMAPD_SORT_SWEEP_S;
	sweep = event_new(im.daemon.base, -1, EV_PERSIST, imapd_sort_sweep,
	    &im);
	evtimer_add(sweep, &tv);
	ret = daemon_run_loop(&im.daemon);
	event_free(sweep);
	event_free(beat);
	imap_sort_cache_expire(0);
	group_commit_free(&im.commit);
	daemon_cleanup(&im.daemon);
	free(im.capa_preauth);
	free(im.capa_preauth_tls);
	free(im.capa_auth);
	return ret;
}
