/*
 * listener.h: sockets from the config's listen lines, bound while the
 * daemon is still root, then handed to libevent after the privilege drop.
 */
#ifndef GUESTBOX_LISTENER_H
#define GUESTBOX_LISTENER_H

#include <sys/socket.h>

#include <event2/listener.h>

#include "conf.h"

struct listener;

typedef void	(*listener_accept_cb)(struct listener *, int fd,
		    const struct sockaddr *, socklen_t, void *arg);

struct listener {
	struct listen_spec	 spec;	/* copy; strings owned */
	char			*name;	/* "127.0.0.1:993", "unix:/path" */
	int			 fd;
	struct evconnlistener	*evl;
	listener_accept_cb	 cb;
	void			*arg;
};

struct listeners {
	struct listener		*v;
	size_t			 n;
	int			 inherited;	/* a worker's: keep socket paths */
};

/*
 * Binds every entry of list; unix socket paths are taken relative to
 * state_dir.  On failure closes what it bound and returns -1 with err.
 */
int	listeners_bind(const struct listen_list *, const char *state_dir,
	    struct listeners *, char *err, size_t errlen);
/* Starts accepting; cb gets each new non-blocking fd (TCP_NODELAY set). */
int	listeners_start(struct event_base *, struct listeners *,
	    listener_accept_cb, void *arg);
/*
 * Stops accepting (graceful shutdown) and closes the sockets; removes
 * the socket files unless inherited is set.
 */
void	listeners_close(struct listeners *);

#endif
