/*
 * smtp-send.h: a small blocking SMTP client for the CLI: one message to
 * the configured smarthost, right now, or an error that says why.
 *
 * guestbox-provision sends the invitation with it while it still holds
 * the token in memory: the token is never stored, so it cannot wait in a
 * queue.  TLS is required (STARTTLS or implicit, per smarthost_tls), the
 * certificate is checked per smarthost_verify and smarthost_ca, and AUTH
 * PLAIN is used when smarthost_user is set.
 */
#ifndef GUESTBOX_SMTP_SEND_H
#define GUESTBOX_SMTP_SEND_H

#include <stddef.h>

#include "conf.h"

/* Seconds for the connection and for each reply. */
#define SMTP_SEND_TIMEOUT	60

/*
 * Splits "host:port", "[v6]:port" or "host" into host and port; the
 * default port is 465 for implicit TLS and 25 otherwise.  -1 if garbled.
 */
int	smtp_send_hostport(const char *smarthost, enum smarthost_tls,
	    char *host, size_t hostlen, char *port, size_t portlen);

/*
 * Sends msg (RFC 5322, LF or CRLF line ends; dot-stuffed here) from the
 * envelope sender to rcpt.  Returns 0, or -1 with what went wrong in err;
 * *permanentp (may be NULL) says the server refused for good (5xx).
 */
int	smtp_send(const struct conf *, const char *from, const char *rcpt,
	    const char *msg, size_t len, int *permanentp, char *err,
	    size_t errlen);

#endif
