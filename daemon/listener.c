/*
 * listener.c: binding and accepting.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "listener.h"
#include "log.h"
#include "xmalloc.h"

/*
 * Room for a burst of connections while the loop is busy (a phone
 * reconnecting all its folders, a flood: tests/resources.test opens
 * 2,000 at once).  A full accept queue makes the kernel drop the
 * client's final ACK, and that client waits for SYN-ACK retransmissions,
 * up to a minute.  Linux caps it at net.core.somaxconn (4096 on Debian 12).
 */
#define LISTENER_BACKLOG	4096
/* Binds of an address in use, 100 ms apart, before giving up. */
#define LISTENER_BIND_TRIES	50

static int
listener_bind_tcp(struct listener *l, char *err, size_t errlen)
{
	struct addrinfo	 hints, *res;
	struct timespec	 pause = { 0, 100 * 1000 * 1000 };
	int		 fd, on = 1, gai, tries;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((gai = getaddrinfo(l->spec.host, l->spec.port, &hints, &res)) != 0) {
		snprintf(err, errlen, "%s: %s", l->name, gai_strerror(gai));
		return -1;
	}
	fd = socket(res->ai_family, res->ai_socktype | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, res->ai_protocol);
	if (fd == -1)
		goto fail;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1)
		goto fail;
	/* An IPv6 line means IPv6 only; IPv4 gets its own line. */
	if (res->ai_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) == -1)
		goto fail;
	/*
	 * A daemon killed just now (SIGKILL to its process group, as systemd
	 * does) may have workers still on their way out with the socket
	 * open (guestbox-imapd(8), imap_workers): wait for them a little.
	 */
	for (tries = 0; bind(fd, res->ai_addr, res->ai_addrlen) == -1; tries++) {
		if (errno != EADDRINUSE || tries >= LISTENER_BIND_TRIES)
			goto fail;
		if (tries == 0)
			log_info("%s: address in use; waiting for it", l->name);
		nanosleep(&pause, NULL);
	}
	if (listen(fd, LISTENER_BACKLOG) == -1)
		goto fail;
	freeaddrinfo(res);
	l->fd = fd;
	return 0;
fail:
	snprintf(err, errlen, "%s: %s", l->name, strerror(errno));
	if (fd != -1)
		close(fd);
	freeaddrinfo(res);
	return -1;
}

static int
listener_bind_unix(struct listener *l, char *err, size_t errlen)
{
	struct sockaddr_un	 sun;
	const char		*path = l->spec.port;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "%s: path too long for a socket", l->name);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	/* A socket left by a previous run; nothing else may live there. */
	if (unlink(path) == -1 && errno != ENOENT) {
		snprintf(err, errlen, "%s: %s", l->name, strerror(errno));
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    listen(fd, LISTENER_BACKLOG) == -1) {
		snprintf(err, errlen, "%s: %s", l->name, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	/*
	 * The MTA runs as another user; who may connect is decided by the
	 * directory the socket is in (guestbox.conf(5), lmtp_listen).
	 */
	if (chmod(path, 0666) == -1)
		log_warn("chmod %s", path);
	l->fd = fd;
	return 0;
}

int
listeners_bind(const struct listen_list *list, const char *state_dir,
    struct listeners *ls, char *err, size_t errlen)
{
	struct listener	*l;
	size_t		 i;
	int		 v6;

	memset(ls, 0, sizeof(*ls));
	if (list->n == 0)
		return 0;
	ls->v = xcalloc(list->n, sizeof(*ls->v));
	for (i = 0; i < list->n; i++) {
		l = &ls->v[i];
		l->fd = -1;
		l->spec.security = list->v[i].security;
		if (list->v[i].host == NULL) {
			if (list->v[i].port[0] == '/')
				l->spec.port = xstrdup(list->v[i].port);
			else
				xasprintf(&l->spec.port, "%s/%s", state_dir,
				    list->v[i].port);
			xasprintf(&l->name, "unix:%s", l->spec.port);
		} else {
			l->spec.host = xstrdup(list->v[i].host);
			l->spec.port = xstrdup(list->v[i].port);
			v6 = strchr(l->spec.host, ':') != NULL;
			xasprintf(&l->name, "%s%s%s:%s", v6 ? "[" : "",
			    l->spec.host, v6 ? "]" : "", l->spec.port);
		}
		ls->n = i + 1;
		if ((l->spec.host == NULL ? listener_bind_unix(l, err, errlen) :
		    listener_bind_tcp(l, err, errlen)) == -1) {
			listeners_close(ls);
			return -1;
		}
	}
	return 0;
}

static void
listener_accept(struct evconnlistener *evl, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct listener	*l = arg;
	int		 on = 1;

	/* SPEC: without it, Nagle and delayed ACK cost 44 ms per greeting. */
	if (sa->sa_family != AF_UNIX)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	l->cb(l, fd, sa, (socklen_t)salen, l->arg);
}

static void
listener_error(struct evconnlistener *evl, void *arg)
{
	struct listener	*l = arg;
	int		 e = EVUTIL_SOCKET_ERROR();

	/* EMFILE and friends: stop for a moment rather than spin. */
	log_warnx("%s: accept: %s", l->name, evutil_socket_error_to_string(e));
}

int
listeners_start(struct event_base *base, struct listeners *ls,
    listener_accept_cb cb, void *arg)
{
	size_t	 i;

	for (i = 0; i < ls->n; i++) {
		ls->v[i].cb = cb;
		ls->v[i].arg = arg;
		/*
		 * Backlog 0: listen() was called at bind time.  A negative
		 * one would make libevent call listen(fd, 128) again.
		 */
		ls->v[i].evl = evconnlistener_new(base, listener_accept,
		    &ls->v[i], LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0,
		    ls->v[i].fd);
		if (ls->v[i].evl == NULL) {
			log_warnx("%s: cannot listen", ls->v[i].name);
			return -1;
		}
		ls->v[i].fd = -1;	/* the evconnlistener owns it now */
		evconnlistener_set_error_cb(ls->v[i].evl, listener_error);
		log_info("listening on %s (%s)", ls->v[i].name,
		    ls->v[i].spec.security == LISTEN_TLS ? "tls" :
		    ls->v[i].spec.security == LISTEN_STARTTLS ? "starttls" :
		    "plain");
	}
	return 0;
}

void
listeners_close(struct listeners *ls)
{
	size_t	 i;

	for (i = 0; i < ls->n; i++) {
		if (ls->v[i].evl != NULL)
			evconnlistener_free(ls->v[i].evl);
		if (ls->v[i].fd != -1)
			close(ls->v[i].fd);
		if (ls->v[i].spec.host == NULL && ls->v[i].spec.port != NULL &&
		    !ls->inherited)
			unlink(ls->v[i].spec.port);
		free(ls->v[i].spec.host);
		free(ls->v[i].spec.port);
		free(ls->v[i].name);
	}
	free(ls->v);
	memset(ls, 0, sizeof(*ls));
}
