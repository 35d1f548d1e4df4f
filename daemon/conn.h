/*
 * conn.h: one client connection of a daemon: a socket, its bufferevent,
 * and TLS (implicit, or started later by STARTTLS).
 *
 * The owner (an IMAP or SMTP session) gets three callbacks: input arrived,
 * the output buffer drained below its low-water mark (to stream large
 * responses without buffering them whole), and the connection ended (EOF,
 * error, timeout).  conn_free() is the only way to close.
 */
#ifndef GUESTBOX_CONN_H
#define GUESTBOX_CONN_H

#include <stdarg.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "log.h"
#include "tls.h"

/* Why a connection ended; passed to the owner's close callback. */
enum conn_end {
	CONN_END_EOF,
	CONN_END_ERROR,
	CONN_END_TIMEOUT,
	CONN_END_TLS,		/* handshake or record error */
};

/* Seconds a goodbye may take to reach a client before we hang up. */
#define CONN_LINGER		10

struct conn;
struct conn_zlib;

struct conn_callbacks {
	void	(*input)(struct conn *, void *arg);
	void	(*drained)(struct conn *, void *arg);	/* may be NULL */
	void	(*end)(struct conn *, enum conn_end, void *arg);
};

struct conn {
	struct event_base	*base;
	struct bufferevent	*bev;
	int			 fd;
	int			 tls;		/* 1 once TLS is set up */
	int			 tls_up;	/* its handshake is done */
	int			 closing;	/* end after the output drains */
	char			 peer[64];	/* "203.0.113.5", "unix" */
	const struct conn_callbacks *cb;
	void			*arg;
	size_t			 drain_below;	/* low-water mark for drained */
	struct event		*close_ev;	/* conn_close_after_flush */
	struct event		*ev_flush;	/* closing: STARTTLS output left */
	struct event		*linger_ev;	/* closing: the flush took too long */
	int			 timeout;	/* seconds, 0 none */
	struct conn_zlib	*zlib;		/* COMPRESS=DEFLATE, or NULL */
};

/*
 * Wraps an accepted fd.  With ts set, TLS starts at once (implicit TLS);
 * NULL on failure (the fd is closed).
 */
struct conn	*conn_new(struct event_base *, int fd, const struct sockaddr *,
		    socklen_t, struct tls_server *ts,
		    const struct conn_callbacks *, void *arg);
/*
 * Switches to TLS after a STARTTLS reply was queued: that reply still goes
 * out in clear, everything after is encrypted.  Anything the client sent
 * before the handshake is discarded (the caller has refused STARTTLS if
 * there was any).  Returns -1 if TLS cannot start.
 */
int		 conn_starttls(struct conn *, struct tls_server *);
/*
 * Starts DEFLATE compression both ways (RFC 4978) once the reply that
 * agreed to it was queued: that reply still goes out as it is,
 * everything after is compressed, and everything read from here on is
 * inflated.  The caller has refused COMPRESS if input was pipelined
 * behind it.  -1 if it cannot start; it can start only once.
 */
int		 conn_compress(struct conn *);
struct evbuffer	*conn_in(struct conn *);
struct evbuffer	*conn_out(struct conn *);
void		 conn_printf(struct conn *, const char *, ...)
		    printflike(2, 3);
void		 conn_write(struct conn *, const void *, size_t);
/*
 * Idle timeout in seconds (0: none): for reading, and for writing while
 * output waits; it carries over to the TLS of STARTTLS.
 */
void		 conn_set_timeout(struct conn *, int seconds);
/* Stop or resume reading (while a command runs, or awaiting a worker). */
void		 conn_pause(struct conn *, int paused);
/*
 * Ends the connection once the output is written (LOGOUT, QUIT), or after
 * CONN_LINGER seconds if the client does not take it.
 */
void		 conn_close_after_flush(struct conn *);
/* Ask for the drained callback when output falls below bytes. */
void		 conn_want_drain(struct conn *, size_t bytes);
void		 conn_free(struct conn **);

#endif
