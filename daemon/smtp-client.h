/*
 * smtp-client.h: the one SMTP client, to the configured smarthost.
 *
 * An engine on libevent in OpenSMTPD's shape (smtpd/mta_session.c):
 * entering a state sends that state's command, a reply only picks the
 * next state, and every transition goes through one function that logs
 * "old -> new" (log_debug).  TLS is required: STARTTLS or implicit TLS,
 * per smarthost_tls; the certificate is checked per smarthost_verify
 * and smarthost_ca; AUTH PLAIN is used when smarthost_user is set.
 *
 * The relay of guestbox-submitd keeps one engine per connection and
 * sends message after message on it; guestbox-provision sends one
 * message with smtp_client_send_wait(), which runs the engine on a
 * private event base.
 */
#ifndef GUESTBOX_SMTP_CLIENT_H
#define GUESTBOX_SMTP_CLIENT_H

#include <stddef.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "conf.h"

/* Seconds for the connection and each reply of smtp_client_send_wait(). */
#define SMTP_CLIENT_TIMEOUT	60

/*
 * The smarthost's host and port, the rule for everybody: "host:port",
 * "[v6]:port", "host" or "[v6]"; without a port 465 for implicit TLS
 * (RFC 8314 3.3) and 25 for STARTTLS (RFC 5321 4.5.4.2).  Returns 0, or
 * -1 if the text is garbled or does not fit host (hostlen) and port
 * (portlen, 6 is enough).
 */
int	smtp_client_smarthost(const char *smarthost, enum smarthost_tls,
	    char *host, size_t hostlen, char *port, size_t portlen);

struct smtp_client;

enum smtp_client_status {
	SMTP_CLIENT_SENT,	/* the end of DATA was answered 2xx */
	SMTP_CLIENT_TEMPFAIL,	/* 4xx, or the connection failed */
	SMTP_CLIENT_PERMFAIL,	/* 5xx */
};

/* One recipient's outcome; reply is the server's line, or NULL. */
struct smtp_client_rcpt_result {
	enum smtp_client_status	 status;
	const char		*reply;
};

/*
 * A transaction's outcome, one entry per recipient of the message.
 * error is NULL if every recipient was sent, else the last reply that
 * refused something, or what went wrong with the connection; refused
 * names what that reply answered ("the sender", "the recipient",
 * "DATA", "the message") and is NULL for connection trouble.  All of
 * it is valid only during the done callback.
 */
struct smtp_client_result {
	size_t					 nrcpts;
	const struct smtp_client_rcpt_result	*rcpts;
	size_t					 nsent;
	const char				*error;
	const char				*refused;
};

/*
 * A message: RFC 5322 with CRLF or LF line ends (sent with CRLF,
 * dot-stuffed).  Borrowed: it must stay until the done callback.
 */
struct smtp_client_msg {
	const char		*from;
	const char *const	*rcpts;
	size_t			 nrcpts;
	const void		*data;
	size_t			 len;
	/* RFC 6531: sent with SMTPUTF8; refused where it is not offered. */
	int			 smtputf8;
};

/*
 * ready: connected, greeted, in TLS, logged in, and no transaction:
 * call smtp_client_send() or smtp_client_quit() now or later.
 * done: a transaction is over (also when the connection broke during
 * it); ready or closed follows.
 * closed: the connection is gone; why is NULL after QUIT or when it
 * ended while idle, else what went wrong (in the client: gone with
 * smtp_client_free()).  It comes from the event loop, never from inside
 * another call, and may smtp_client_free().
 * Only closed may free the client.
 */
struct smtp_client_cb {
	void	(*ready)(struct smtp_client *, void *);
	void	(*done)(struct smtp_client *, const struct smtp_client_result *,
		    void *);
	void	(*closed)(struct smtp_client *, const char *why, void *);
};

/*
 * A client for cf's smarthost (cf and ctx are borrowed and must stay),
 * timeout seconds for the connection and each reply.  NULL, with why in
 * err, if the smarthost is not HOST:PORT.  Nothing happens before
 * smtp_client_connect().
 */
struct smtp_client *smtp_client_new(struct event_base *, const struct conf *cf,
	    SSL_CTX *ctx, int timeout, const struct smtp_client_cb *, void *arg,
	    char *err, size_t errlen);
/*
 * The same for a plain SMTP server at plain_to ("host:port"): no TLS, no
 * AUTH; for the gateway's re-injection into the home MTA on loopback
 * (gateway_reinject in guestbox.conf(5)).  NULL plain_to: the smarthost,
 * as smtp_client_new().
 */
struct smtp_client *smtp_client_new_to(struct event_base *,
	    const struct conf *cf, const char *plain_to, SSL_CTX *ctx,
	    int timeout, const struct smtp_client_cb *, void *arg, char *err,
	    size_t errlen);
void	smtp_client_connect(struct smtp_client *);
/* Starts a transaction; only in the ready state (else -1). */
int	smtp_client_send(struct smtp_client *, const struct smtp_client_msg *);
/* Says QUIT if ready (else nothing); closed follows. */
void	smtp_client_quit(struct smtp_client *);
/* "host:port" ("[v6]:port"), for logs; valid as long as the client. */
const char *smtp_client_peer(const struct smtp_client *);
/* Drops the connection without callbacks. */
void	smtp_client_free(struct smtp_client **);

/*
 * Blocking, for the CLI: sends msg (len bytes) from the envelope sender
 * to rcpt through cf's smarthost, right now.  Returns 0, or -1 with what
 * went wrong in err.
 */
int	smtp_client_send_wait(const struct conf *cf, const char *from,
	    const char *rcpt, const char *msg, size_t len, char *err,
	    size_t errlen);

/* What became of one message of smtp_client_send_list_wait(). */
struct smtp_client_outcome {
	/* SENT: every recipient took it; TEMPFAIL if any failed for now. */
	enum smtp_client_status	 status;
	int			 refused;	/* the server said no (not a
						   broken connection) */
	char			 error[512];
};

/*
 * Blocking, on a private event base (also from a worker thread): sends
 * the n messages one after another on one connection, to plain_to (plain
 * SMTP, see smtp_client_new_to) or, if NULL, cf's smarthost.  out[i] says
 * what became of msgs[i].  Returns 0 if every message was sent, else -1.
 */
int	smtp_client_send_list_wait(const struct conf *cf, const char *plain_to,
	    struct smtp_client_msg *msgs, struct smtp_client_outcome *out,
	    size_t n);

#endif
