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
#include <zlib.h>

#include "conn.h"
#include "xmalloc.h"

/* Bytes the bufferevent under a STARTTLS or COMPRESS filter may hold. */
#define CONN_UNDER_HIGH		(64 * 1024)

/*
 * COMPRESS=DEFLATE (RFC 4978): raw deflate both ways.  Our side
 * compresses with a 4 KiB window, level 1 and memLevel 5 (about 32 kB of
 * state; Dovecot's defaults take 256 kB) since the CPU and memory are
 * shared by every session; inflating must take the client's window, up
 * to the 32 KiB RFC 1951 allows.  The inflated input one read may add is
 * capped, so a small compressed burst cannot fill memory.
 */
#define CONN_Z_LEVEL		1
#define CONN_Z_WINDOW		12
#define CONN_Z_MEMLEVEL		5
#define CONN_Z_CHUNK		(16 * 1024)
#define CONN_Z_INPUT_HIGH	(256 * 1024)

struct conn_zlib {
	z_stream		 in;
	z_stream		 out;
	int			 out_pending;	/* deflated, not yet flushed */
	int			 failed;	/* corrupt input, or zlib failed */
	/*
	 * From the loop, once per turn: the flush of what was deflated, or
	 * the end of a connection whose stream broke (libevent does not
	 * act on a filter's BEV_ERROR).
	 */
	struct event		*ev;
	struct bufferevent	*bev;		/* the filter */
	struct conn		*conn;
};

static void	conn_read_cb(struct bufferevent *, void *);
static void	conn_write_cb(struct bufferevent *, void *);
static void	conn_event_cb(struct bufferevent *, short, void *);
static void	conn_closed_cb(evutil_socket_t, short, void *);
static void	conn_flush_cb(evutil_socket_t, short, void *);
static void	conn_end_when_flushed(struct conn *);
static void	conn_linger_cb(evutil_socket_t, short, void *);
static void	conn_apply_timeout(struct conn *);
static enum bufferevent_filter_result conn_inflate(struct evbuffer *,
		    struct evbuffer *, ev_ssize_t, enum bufferevent_flush_mode,
		    void *);
static enum bufferevent_filter_result conn_deflate(struct evbuffer *,
		    struct evbuffer *, ev_ssize_t, enum bufferevent_flush_mode,
		    void *);
static void	conn_zlib_cb(evutil_socket_t, short, void *);
static enum bufferevent_filter_result conn_zlib_fail(struct conn_zlib *);
static void	conn_zlib_free(void *);
static SSL	*conn_ssl(const struct conn *);

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

	if (c->tls || c->zlib != NULL)
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

/* The input filter: inflates what the client sent. */
static enum bufferevent_filter_result
conn_inflate(struct evbuffer *src, struct evbuffer *dst, ev_ssize_t limit,
    enum bufferevent_flush_mode mode, void *arg)
{
	struct conn_zlib	*z = arg;
	struct evbuffer_iovec	 v;
	size_t			 inlen, room, made = 0;
	int			 r;

	(void)mode;
	while ((inlen = evbuffer_get_length(src)) > 0 &&
	    (limit < 0 || made < (size_t)limit)) {
		if (inlen > CONN_Z_CHUNK)
			inlen = CONN_Z_CHUNK;
		z->in.next_in = evbuffer_pullup(src, (ev_ssize_t)inlen);
		z->in.avail_in = (uInt)inlen;
		room = CONN_Z_CHUNK;
		if (evbuffer_reserve_space(dst, (ev_ssize_t)room, &v, 1) < 1)
			return conn_zlib_fail(z);
		z->in.next_out = v.iov_base;
		z->in.avail_out = (uInt)(v.iov_len < room ? v.iov_len : room);
		room = z->in.avail_out;
		r = inflate(&z->in, Z_SYNC_FLUSH);
		/* The stream has no end in IMAP: Z_STREAM_END is an error too. */
		if (r != Z_OK && r != Z_BUF_ERROR) {
			evbuffer_commit_space(dst, &v, 0);
			return conn_zlib_fail(z);
		}
		v.iov_len = room - z->in.avail_out;
		evbuffer_commit_space(dst, &v, 1);
		evbuffer_drain(src, inlen - z->in.avail_in);
		made += v.iov_len;
		if (v.iov_len == 0 && z->in.avail_in == inlen)
			break;		/* needs more input than there is */
	}
	return made > 0 ? BEV_OK : BEV_NEED_MORE;
}

/*
 * The output filter: deflates what the session wrote.  A normal write
 * only compresses; one flush per turn of the loop (conn_zflush_cb) ends
 * the block, so the many small writes of one response share it.
 */
static enum bufferevent_filter_result
conn_deflate(struct evbuffer *src, struct evbuffer *dst, ev_ssize_t limit,
    enum bufferevent_flush_mode mode, void *arg)
{
	struct conn_zlib	*z = arg;
	struct evbuffer_iovec	 v;
	size_t			 inlen, room, made = 0;
	int			 flush, r;

	flush = mode == BEV_NORMAL ? Z_NO_FLUSH : Z_SYNC_FLUSH;
	for (;;) {
		inlen = evbuffer_get_length(src);
		if (inlen > CONN_Z_CHUNK)
			inlen = CONN_Z_CHUNK;
		if (inlen == 0 && (flush == Z_NO_FLUSH || !z->out_pending))
			break;
		if (flush == Z_NO_FLUSH && limit >= 0 && made >= (size_t)limit)
			break;
		z->out.next_in = inlen > 0 ?
		    evbuffer_pullup(src, (ev_ssize_t)inlen) : NULL;
		z->out.avail_in = (uInt)inlen;
		room = CONN_Z_CHUNK + 64;
		if (evbuffer_reserve_space(dst, (ev_ssize_t)room, &v, 1) < 1)
			return conn_zlib_fail(z);
		z->out.next_out = v.iov_base;
		z->out.avail_out = (uInt)(v.iov_len < room ? v.iov_len : room);
		room = z->out.avail_out;
		/* All of this chunk's input goes in; Z_SYNC_FLUSH at its end. */
		r = deflate(&z->out, inlen == evbuffer_get_length(src) ?
		    flush : Z_NO_FLUSH);
		if (r != Z_OK && r != Z_BUF_ERROR) {
			evbuffer_commit_space(dst, &v, 0);
			return conn_zlib_fail(z);
		}
		v.iov_len = room - z->out.avail_out;
		evbuffer_commit_space(dst, &v, 1);
		evbuffer_drain(src, inlen - z->out.avail_in);
		made += v.iov_len;
		if (inlen > 0)
			z->out_pending = 1;
		/* A flush is done when deflate had room to spare. */
		if (flush != Z_NO_FLUSH && evbuffer_get_length(src) == 0 &&
		    z->out.avail_out > 0)
			z->out_pending = 0;
	}
	if (z->out_pending)
		event_active(z->ev, EV_TIMEOUT, 0);
	return BEV_OK;
}

static enum bufferevent_filter_result
conn_zlib_fail(struct conn_zlib *z)
{
	if (!z->failed)
		log_warnx("%s: COMPRESS: %s", z->conn->peer,
		    z->in.msg != NULL ? z->in.msg : "corrupt deflate stream");
	z->failed = 1;
	event_active(z->ev, EV_TIMEOUT, 0);
	return BEV_ERROR;
}

static void
conn_zlib_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn_zlib	*z = arg;
	struct conn		*c = z->conn;

	if (z->failed)
		c->cb->end(c, CONN_END_ERROR, c->arg);
	else if (z->out_pending)
		bufferevent_flush(z->bev, EV_WRITE, BEV_FLUSH);
}

static void
conn_zlib_free(void *arg)
{
	struct conn_zlib	*z = arg;

	inflateEnd(&z->in);
	deflateEnd(&z->out);
	event_free(z->ev);
	free(z);
}

int
conn_compress(struct conn *c)
{
	struct conn_zlib	*z;
	struct bufferevent	*f;

	if (c->zlib != NULL)
		return -1;
	z = xcalloc(1, sizeof(*z));
	if (inflateInit2(&z->in, -MAX_WBITS) != Z_OK) {
		free(z);
		return -1;
	}
	if (deflateInit2(&z->out, CONN_Z_LEVEL, Z_DEFLATED, -CONN_Z_WINDOW,
	    CONN_Z_MEMLEVEL, Z_DEFAULT_STRATEGY) != Z_OK) {
		inflateEnd(&z->in);
		free(z);
		return -1;
	}
	z->conn = c;
	z->ev = event_new(c->base, -1, 0, conn_zlib_cb, z);
	/* What is queued below (the OK that agreed to COMPRESS) goes as is. */
	f = bufferevent_filter_new(c->bev, conn_inflate, conn_deflate,
	    BEV_OPT_CLOSE_ON_FREE, conn_zlib_free, z);
	if (f == NULL) {
		conn_zlib_free(z);
		return -1;
	}
	z->bev = f;
	/* Flow control as under a STARTTLS filter (conn_starttls). */
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, CONN_UNDER_HIGH);
	bufferevent_setwatermark(f, EV_READ, 0, CONN_Z_INPUT_HIGH);
	c->bev = f;
	c->zlib = z;
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
	else {
		bufferevent_enable(c->bev, EV_READ);
		/*
		 * A paused filter leaves what arrived compressed below it;
		 * inflate that now, for the commands the owner reads next.
		 */
		if (c->zlib != NULL)
			bufferevent_flush(c->bev, EV_READ, BEV_NORMAL);
	}
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

	/* The last deflate block, before anything can drain. */
	if (c->zlib != NULL && c->zlib->out_pending)
		bufferevent_flush(c->bev, EV_WRITE, BEV_FLUSH);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) != 0)
		return;		/* conn_write_cb() comes back */
	/* Any filter below (TLS, plain under STARTTLS) must drain too. */
	for (under = bufferevent_get_underlying(c->bev); under != NULL;
	    under = bufferevent_get_underlying(under)) {
		if (evbuffer_get_length(bufferevent_get_output(under)) == 0)
			continue;
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

/* The TLS of the connection, under a COMPRESS filter if there is one. */
static SSL *
conn_ssl(const struct conn *c)
{
	struct bufferevent	*b;
	SSL			*ssl;

	if (!c->tls)
		return NULL;
	for (b = c->bev; b != NULL; b = bufferevent_get_underlying(b))
		if ((ssl = bufferevent_openssl_get_ssl(b)) != NULL)
			return ssl;
	return NULL;
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
	if ((ssl = conn_ssl(c)) != NULL)
		SSL_set_shutdown(ssl, SSL_RECEIVED_SHUTDOWN);
	/*
	 * CLOSE_ON_FREE: frees the filters (COMPRESS, then TLS), any plain
	 * bufferevent below, the SSL and the fd.
	 */
	bufferevent_free(c->bev);
	event_free(c->close_ev);
	event_free(c->linger_ev);
	free(c);
	*cp = NULL;
}
