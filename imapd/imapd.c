/*
 * imapd.c: guestbox-imapd's main: the daemon frame, capabilities, and
 * routing of store notifications to sessions.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "imapd.h"
#include "log.h"
#include "xmalloc.h"

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

	for (s = im->sessions; s != NULL; s = next) {
		next = s->next;		/* a sync may end the session */
		if (s->account_id == 0 ||
		    (ev->account_id != 0 && ev->account_id != s->account_id))
			continue;
		/* issue 19: disabled, deleted, re-invited: out at once. */
		if (ev->mailbox_id == 0 && s->key != NULL &&
		    auth_login_revoked(d->store, s->account_id, s->key->pk))
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
	daemon_start(&im.daemon, 1);
	im.commit = group_commit_new(im.daemon.base, im.daemon.store);
	ret = daemon_run_loop(&im.daemon);
	group_commit_free(&im.commit);
	daemon_cleanup(&im.daemon);
	free(im.capa_preauth);
	free(im.capa_preauth_tls);
	free(im.capa_auth);
	return ret;
}
