/*
 * daemon.h: what every guestbox daemon does around its protocol: options,
 * config, binding, dropping privileges, the store, signals, maintenance.
 *
 *	daemon_init()	parse -c -d -v, read the config, harden the process
 *	daemon_bind()	bind a listen list (still root)
 *	daemon_start()	drop privileges, check the state directory, open the
 *			store, TLS, auth; start accepting
 *	daemon_run()	the event loop until SIGTERM and the last session
 */
#ifndef GUESTBOX_DAEMON_H
#define GUESTBOX_DAEMON_H

#include <sys/socket.h>

#include <event2/event.h>

#include "auth.h"
#include "conf.h"
#include "listener.h"
#include "store.h"
#include "tls.h"

struct daemon;

struct daemon_ops {
	/* A new connection on one of the daemon's listeners. */
	void	(*accept)(struct daemon *, struct listener *, int fd,
		    const struct sockaddr *, socklen_t);
	/* A commit changed a mailbox or an account (store_event). */
	void	(*notify)(struct daemon *, const struct store_event *);
	/* SIGTERM: finish what is in flight, say goodbye, close. */
	void	(*shutdown)(struct daemon *);
};

struct daemon {
	const char		*name;
	const struct daemon_ops	*ops;
	void			*arg;		/* the protocol's own state */
	struct conf		*conf;
	const char		*conf_path;	/* read again on SIGHUP */
	int			 debug;		/* -d: foreground, stderr */
	/* guestbox-repld: the site's replication process (store-repl.c) */
	int			 repl_process;
	struct event_base	*base;
	struct store		*store;
	struct tls_server	*tls;		/* NULL if no listener needs it */
	struct auth		*auth;		/* NULL unless requested */
	struct listeners	*lsets;		/* one set per daemon_bind() */
	size_t			 nlsets;
	int			*lsets_external; /* daemon_bind_external() sets */
	int			 stopping;
	size_t			 sessions;	/* open connections */
	size_t			 workers;	/* processes wanted (workers.h) */
	int			 worker;	/* 0: no supervisor, else 1 + slot */
	struct event		*ev_hup, *ev_term, *ev_int, *ev_maint;
	struct event		*ev_notify, *ev_force;
};

/* Returns an exit code > 0 to exit with, or 0 to go on. */
int	daemon_init(struct daemon *, const char *name,
	    const struct daemon_ops *, int argc, char **argv);
/* Gives up after daemon_init() (a configuration the daemon refuses). */
void	daemon_abandon(struct daemon *);
/* Binds a listen list; exits with a message on failure. */
void	daemon_bind(struct daemon *, const struct listen_list *);
/*
 * Binds a listen list whose sockets another owner accepts on (evhttp in
 * guestbox-bootstrapd): daemon_start() reads the TLS key for it and drops
 * privileges as usual but starts no evconnlistener.  Returns the index of
 * the set in d->lsets; the owner takes each fd and sets it to -1.
 */
size_t	daemon_bind_external(struct daemon *, const struct listen_list *);
/* with_auth: start the authentication workers.  Exits on failure. */
void	daemon_start(struct daemon *, int with_auth);
/* Runs until shut down, then cleans up; returns the exit code. */
int	daemon_run(struct daemon *);
/* The same in two steps, for a daemon with more to free in between. */
int	daemon_run_loop(struct daemon *);
void	daemon_cleanup(struct daemon *);
/*
 * Sessions register so that a shutdown ends the loop when the last one
 * closed (or after the grace period).
 */
void	daemon_session_opened(struct daemon *);
void	daemon_session_closed(struct daemon *);
/* The listener a connection came from uses implicit TLS. */
int	daemon_listener_tls(const struct listener *);

#endif
