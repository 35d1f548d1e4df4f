/*
 * conn.c: client connections on libevent bufferevents.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/ssl.h>

#include "conn.h"
#include "xmalloc.h"

/* Bytes the plain bufferevent under a STARTTLS filter may hold. */
#define CONN_UNDER_HIGH		(64 * 1024)

static void	conn_read_cb(struct bufferevent *, void *);
static void	conn_write_cb(struct bufferevent *, void *);
static void	conn_event_cb(struct bufferevent *, short, void *);
static void	conn_closed_cb(evutil_socket_t, short, void *);
static void	conn_flush_cb(evutil_socket_t, short, void *);
static void	conn_end_when_flushed(struct conn *);
static void	conn_linger_cb(evutil_socket_t, short, void *);
static void	conn_apply_timeout(struct conn *);

static void
conn_peer_name(struct conn *c, const struct sockaddr *sa)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;

	switch (sa->sa_family) {
	case AF_INET:
		sin = (const struct sockaddr_in *)(const void *)sa;
		inet_ntop(AF_INET, &sin->sin_addr, c->peer, sizeof(c->peer));
		break;
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)(const void *)sa;
		inet_ntop(AF_INET6, &sin6->sin6_addr, c->peer, sizeof(c->peer));
		break;
	default:
		snprintf(c->peer, sizeof(c->peer), "unix");
		break;
	}
}

static void
conn_setup(struct conn *c)
{
	bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	/* A STARTTLS filter starts with no timeouts of its own. */
	conn_apply_timeout(c);
}

struct conn *
conn_new(struct event_base *base, int fd, const struct sockaddr *sa,
    socklen_t salen, struct tls_server *ts, const struct conn_callbacks *cb,
    void *arg)
{
	struct conn	*c;
	SSL		*ssl;

	c = xcalloc(1, sizeof(*c));
	c->base = base;
	c->fd = fd;
	c->cb = cb;
	c->arg = arg;
	conn_peer_name(c, sa);
	c->close_ev = evtimer_new(base, conn_closed_cb, c);
	c->linger_ev = evtimer_new(base, conn_linger_cb, c);
	if (ts != NULL) {
		if ((ssl = tls_server_ssl(ts)) == NULL)
			goto fail;
		c->bev = bufferevent_openssl_socket_new(base, fd, ssl,
		    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
		if (c->bev == NULL) {
			SSL_free(ssl);
			goto fail;
		}
		c->tls = 1;
	} else if ((c->bev = bufferevent_socket_new(base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL)
		goto fail;
	conn_setup(c);
	return c;
fail:
	log_warnx("%s: cannot set up the connection", c->peer);
	close(fd);
	event_free(c->close_ev);
	event_free(c->linger_ev);
	free(c);
	return NULL;
}

int
conn_starttls(struct conn *c, struct tls_server *ts)
{
	struct bufferevent	*tls;
	SSL			*ssl;

	if (c->tls)
		return -1;
	/* Nothing read in clear may be used after the handshake. */
	evbuffer_drain(bufferevent_get_input(c->bev),
	    evbuffer_get_length(bufferevent_get_input(c->bev)));
	if ((ssl = tls_server_ssl(ts)) == NULL)
		return -1;
	/*
	 * A filter over the plain bufferevent: the reply already queued on
	 * it goes out in clear first, then the handshake follows.
	 */
	tls = bufferevent_openssl_filter_new(c->base, c->bev, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (tls == NULL) {
		SSL_free(ssl);
		return -1;
	}
	/*
	 * Without a high-water mark below, the filter pushes everything it
	 * is given into the plain bufferevent at once: its own output
	 * drains, a long FETCH never pauses and all of it sits in memory.
	 * With one, it waits for the socket (libevent's consider_writing).
	 */
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, CONN_UNDER_HIGH);
	c->bev = tls;
	c->tls = 1;
	c->tls_up = 0;
	conn_setup(c);
	if (c->drain_below != 0)
		bufferevent_setwatermark(c->bev, EV_WRITE, c->drain_below, 0);
	return 0;
}

struct evbuffer *
conn_in(struct conn *c)
{
	return bufferevent_get_input(c->bev);
}

struct evbuffer *
conn_out(struct conn *c)
{
	return bufferevent_get_output(c->bev);
}

void
conn_printf(struct conn *c, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	evbuffer_add_vprintf(bufferevent_get_output(c->bev), fmt, ap);
	va_end(ap);
}

void
conn_write(struct conn *c, const void *data, size_t len)
{
	evbuffer_add(bufferevent_get_output(c->bev), data, len);
}

static void
conn_apply_timeout(struct conn *c)
{
	struct timeval	 tv = { c->timeout, 0 };

	/*
	 * Writing too: a client that stops reading (or stops in the TLS
	 * handshake, which needs both directions) is as idle as one that
	 * stops sending.
	 */
	bufferevent_set_timeouts(c->bev, c->timeout > 0 ? &tv : NULL,
	    c->timeout > 0 ? &tv : NULL);
}

void
conn_set_timeout(struct conn *c, int seconds)
{
	c->timeout = seconds;
	conn_apply_timeout(c);
}

void
conn_pause(struct conn *c, int paused)
{
	if (paused)
		bufferevent_disable(c->bev, EV_READ);
	else
		bufferevent_enable(c->bev, EV_READ);
}

/*
 * After STARTTLS, c->bev is a TLS filter that hands its records to the
 * plain bufferevent below: its output is empty long before the last
 * record (the BYE of LOGOUT) has reached the socket, and freeing it then
 * would drop that record.  Nothing calls us when the plain one drains, so
 * watch the socket for writability until it has.
 */
static void
conn_end_when_flushed(struct conn *c)
{
	struct bufferevent	*under;

	if (evbuffer_get_length(bufferevent_get_output(c->bev)) != 0)
		return;		/* conn_write_cb() comes back */
	under = bufferevent_get_underlying(c->bev);
	if (under != NULL &&
	    evbuffer_get_length(bufferevent_get_output(under)) != 0) {
		if (c->ev_flush == NULL) {
			c->ev_flush = event_new(c->base, c->fd,
			    EV_WRITE | EV_PERSIST, conn_flush_cb, c);
			event_add(c->ev_flush, NULL);
		}
		return;
	}
	c->cb->end(c, CONN_END_EOF, c->arg);
}

static void
conn_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	conn_end_when_flushed(arg);
}

static void
conn_closed_cb(evutil_socket_t fd, short what, void *arg)
{
	conn_end_when_flushed(arg);
}

/*
 * The goodbye did not get out: the client reads nothing, or is stuck in
 * the TLS handshake, so the output never drains.  Without this such a
 * connection would stay for good (tests/resources.test, slowloris).
 */
static void
conn_linger_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;

	c->cb->end(c, CONN_END_TIMEOUT, c->arg);
}

void
conn_close_after_flush(struct conn *c)
{
	struct timeval	 tv = { CONN_LINGER, 0 };

	if (!c->closing)
		evtimer_add(c->linger_ev, &tv);
	c->closing = 1;
	bufferevent_disable(c->bev, EV_READ);
	/*
	 * Never end from inside the owner's own call: it may still be
	 * walking its state.  The end comes from the loop, once written.
	 */
	event_active(c->close_ev, EV_TIMEOUT, 0);
}

void
conn_want_drain(struct conn *c, size_t bytes)
{
	c->drain_below = bytes;
	bufferevent_setwatermark(c->bev, EV_WRITE, bytes, 0);
}

static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;

	if (!c->closing)
		c->cb->input(c, c->arg);
}

static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;

	if (c->closing) {
		conn_end_when_flushed(c);
		return;
	}
	if (c->cb->drained != NULL && c->drain_below != 0)
		c->cb->drained(c, c->arg);
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn	*c = arg;
	enum conn_end	 why;

	if (what & BEV_EVENT_CONNECTED) {
		c->tls_up = 1;		/* the TLS handshake is done */
		return;
	}
	/*
	 * A client silent in the middle of the TLS handshake cannot be told
	 * anything: a TLS failure, closed at once, not a goodbye to flush.
	 */
	if (what & BEV_EVENT_TIMEOUT)
		why = c->tls && !c->tls_up ? CONN_END_TLS : CONN_END_TIMEOUT;
	else if (what & BEV_EVENT_EOF)
		why = CONN_END_EOF;
	else if (c->tls && bufferevent_get_openssl_error(bev) != 0)
		why = CONN_END_TLS;
	else
		why = CONN_END_ERROR;
	c->cb->end(c, why, c->arg);
}

void
conn_free(struct conn **cp)
{
	struct conn	*c = *cp;
	SSL		*ssl;

	if (c == NULL)
		return;
	if (c->ev_flush != NULL)
		event_free(c->ev_flush);
	if (c->tls && (ssl = bufferevent_openssl_get_ssl(c->bev)) != NULL)
		SSL_set_shutdown(ssl, SSL_RECEIVED_SHUTDOWN);
	/* CLOSE_ON_FREE: frees the SSL, any plain bufferevent below, the fd. */
	bufferevent_free(c->bev);
	event_free(c->close_ev);
	event_free(c->linger_ev);
	free(c);
	*cp = NULL;
}
