/*
 * submitd.c: guestbox-submitd's main: submission, LMTP and gateway
 * listeners, the work queue for GPGME, the relay.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "log.h"
#include "pgp.h"
#include "pubkeys.h"
#include "pgpmime.h"
#include "submitd.h"

/* The listener sets are bound in the order of enum smtp_dialect. */
static enum smtp_dialect
submitd_dialect(struct submitd *sd, struct listener *l)
{
	size_t	 i, j;

	for (i = 0; i < sd->daemon.nlsets; i++)
		for (j = 0; j < sd->daemon.lsets[i].n; j++)
			if (&sd->daemon.lsets[i].v[j] == l)
				return (enum smtp_dialect)i;
	fatalx("a connection on no listener of ours");
}

static void
submitd_accept(struct daemon *d, struct listener *l, int fd,
    const struct sockaddr *sa, socklen_t salen)
{
	struct submitd	*sd = d->arg;

	smtp_session_accept(sd, l, fd, sa, salen, submitd_dialect(sd, l));
}

static void
submitd_notify(struct daemon *d, const struct store_event *ev)
{
	struct submitd		*sd = d->arg;
	struct smtp_session	*s, *next;

	if (ev->mailbox_id == STORE_QUEUE_EVENT || ev->account_id == 0)
		relay_kick(sd->relay);
	if (ev->mailbox_id != 0)
		return;
	/* issue 19: disabled, deleted, re-invited: no more sending. */
	for (s = sd->sessions; s != NULL; s = next) {
		next = s->next;
		if (s->key != NULL && (ev->account_id == 0 ||
		    ev->account_id == s->account_id) &&
		    auth_login_revoked(d->store, s->account_id, s->key))
			smtp_session_revoke(s);
	}
}

static void
submitd_shutdown(struct daemon *d)
{
	struct submitd		*sd = d->arg;
	struct smtp_session	*s, *next;

	for (s = sd->sessions; s != NULL; s = next) {
		next = s->next;
		smtp_session_shutdown(s);
	}
}

static const struct daemon_ops submitd_ops = {
	.accept = submitd_accept,
	.notify = submitd_notify,
	.shutdown = submitd_shutdown,
};

int
main(int argc, char *argv[])
{
	static struct submitd	 sd;
	const struct conf	*cf;
	char			 why[256];
	int			 ret;

	if ((ret = daemon_init(&sd.daemon, "guestbox-submitd", &submitd_ops,
	    argc, argv)) != 0)
		return ret > 255 ? 0 : ret;
	sd.daemon.arg = &sd;
	cf = sd.daemon.conf;
	if (cf->submission_listen.n == 0 && cf->lmtp_listen.n == 0 &&
	    cf->gateway_listen.n == 0) {
		log_warnx("none of submission_listen, lmtp_listen and "
		    "gateway_listen in %s",
		    cf->path != NULL ? cf->path : "the configuration");
		daemon_abandon(&sd.daemon);
		return EX_CONFIG;
	}
	if (cf->gateway_listen.n > 0 && gateway_check(cf, why,
	    sizeof(why)) == -1) {
		log_warnx("%s: %s", cf->path != NULL ? cf->path :
		    "the configuration", why);
		daemon_abandon(&sd.daemon);
		return EX_CONFIG;
	}
	/* In the order of enum smtp_dialect: see submitd_dialect(). */
	daemon_bind(&sd.daemon, &cf->submission_listen);
	daemon_bind(&sd.daemon, &cf->lmtp_listen);
	daemon_bind(&sd.daemon, &cf->gateway_listen);
	daemon_start(&sd.daemon, 1);
	auth_set_login_proto(sd.daemon.auth, STORE_LOGIN_SUBMISSION);
	/* GPGME's set-up and gpg's check, for pgpmime.c too. */
	if (pgp_init(cf->state_dir) == -1)
		fatalx("cannot use GnuPG in %s/gnupg", cf->state_dir);
	/* The home users' keys, before the first message can need them. */
	if (cf->gateway_listen.n > 0 && gateway_init(cf, sd.daemon.store, why,
	    sizeof(why)) == -1)
		fatalx("gateway_keyring: %s", why);
	/* The GnuPG home is a cache of the store's keys: complete it. */
	if (pubkeys_restore(sd.daemon.store, NULL, why, sizeof(why)) == -1)
		log_warnx("rebuilding the GnuPG home: %s", why);
	sd.work = workq_new(sd.daemon.base, SMTP_WORKERS, SMTP_WORK_QUEUE);
	sd.commit = group_commit_new(sd.daemon.base, sd.daemon.store);
	sd.relay = relay_new(&sd);
	/* Whatever waited while we were down goes now. */
	relay_kick(sd.relay);
	ret = daemon_run_loop(&sd.daemon);
	relay_free(&sd.relay);
	workq_free(&sd.work);
	group_commit_free(&sd.commit);
	daemon_cleanup(&sd.daemon);
	return ret;
}
