/*
 * bootstrap-limits.c: how many connections guestbox-bootstrapd holds,
 * from whom and for how long (issue 19: slowloris).
 *
 * evhttp accepts by itself and tells us nothing of a connection until
 * its whole request is in, so a client that trickles bytes kept its
 * connection (and a TLS session, some 50 KiB) for as long as it liked.
 * The hook we have is the bufferevent callback, called for every new
 * connection before evhttp gives it its socket: the bufferevent is
 * looked at once more from the loop, before any of its input is read,
 * and then the connection is known by its socket (descriptor, device
 * and inode, which no later socket shares while it is open).
 *
 * Limits: bootstrap_max_connections_per_ip from one client address (a
 * /64 for IPv6) on a TLS listener, where we see the client; and
 * bootstrap_max_connections in all, where a new connection pushes out
 * the one that has waited longest for its request, so that trickling
 * clients cannot keep a browser out.  Every connection must bring a
 * whole request within bootstrap_request_timeout of connecting or of
 * its previous answer; evhttp's own timeout is only an idle one.  A
 * connection is ended by shutdown(2) of its socket: evhttp sees the end
 * and frees it.
 */
#include "config.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "bootstrap.h"
#include "log.h"
#include "xmalloc.h"

#define BS_SWEEP_INTERVAL	1	/* seconds */
/*
 * libevent accepts until the backlog is empty, and evhttp sets each
 * connection up (a TLS session) before we see it: 3,000 waiting clients
 * were 3,000 descriptors at once.  The listeners pause after this many
 * until we have looked at them.
 */
#define BS_ACCEPT_BATCH		64
#define BS_LISTENERS_MAX	16

struct bs_conn {
	evutil_socket_t	 fd;
	dev_t		 dev;
	ino_t		 ino;
	uint8_t		 addr[16];	/* IPv4 mapped, IPv6 a /64 */
	int		 per_ip;	/* counted against its address */
	int		 ended;		/* shut down, evhttp not done yet */
	time_t		 deadline;	/* monotonic: the request is due */
};

struct bs_fresh {
	struct bufferevent	*bev;
	int			 per_ip;
};

struct bs_limits {
	struct event_base	*base;
	const struct conf	*conf;
	struct bs_conn		*v;
	size_t			 n, cap;	/* live, and ended not closed */
	struct bs_fresh		*fresh;
	size_t			 nfresh, freshcap;
	struct event		*ev_fresh, *ev_sweep;
	struct evconnlistener	*listeners[BS_LISTENERS_MAX];
	size_t			 nlisteners;
	int			 paused;
	/* Counted between sweeps, logged once a sweep. */
	uint64_t		 refused, pushed, late;
};

static void	bs_limits_fresh_cb(evutil_socket_t, short, void *);
static void	bs_limits_sweep_cb(evutil_socket_t, short, void *);

static time_t
bs_limits_now(void)
{
	return (time_t)(time_mono_ms() / 1000);
}

struct bs_limits *
bs_limits_new(struct event_base *base, const struct conf *cf)
{
	struct bs_limits	*bl;
	struct timeval		 tv = { BS_SWEEP_INTERVAL, 0 };

	bl = xcalloc(1, sizeof(*bl));
	bl->base = base;
	bl->conf = cf;
	bl->cap = 2 * cf->bootstrap_max_connections;
	bl->v = xcalloc(bl->cap, sizeof(*bl->v));
	bl->ev_fresh = event_new(base, -1, 0, bs_limits_fresh_cb, bl);
	bl->ev_sweep = event_new(base, -1, EV_PERSIST, bs_limits_sweep_cb, bl);
	if (bl->ev_fresh == NULL || bl->ev_sweep == NULL)
		fatalx("event_new");
	evtimer_add(bl->ev_sweep, &tv);
	return bl;
}

void
bs_limits_free(struct bs_limits **blp)
{
	struct bs_limits	*bl = *blp;
	size_t			 i;

	if (bl == NULL)
		return;
	for (i = 0; i < bl->nfresh; i++)
		bufferevent_decref(bl->fresh[i].bev);
	event_free(bl->ev_fresh);
	event_free(bl->ev_sweep);
	free(bl->fresh);
	free(bl->v);
	free(bl);
	*blp = NULL;
}

void
bs_limits_listener(struct bs_limits *bl, struct evconnlistener *lev)
{
	if (lev != NULL && bl->nlisteners < BS_LISTENERS_MAX)
		bl->listeners[bl->nlisteners++] = lev;
}

void
bs_limits_track(struct bs_limits *bl, struct bufferevent *bev, int per_ip)
{
	size_t	 i;

	/* Held until we looked at it: evhttp may free it meanwhile. */
	bufferevent_incref(bev);
	if (bl->nfresh == bl->freshcap) {
		bl->freshcap = bl->freshcap == 0 ? 16 : bl->freshcap * 2;
		bl->fresh = xreallocarray(bl->fresh, bl->freshcap,
		    sizeof(*bl->fresh));
	}
	bl->fresh[bl->nfresh].bev = bev;
	bl->fresh[bl->nfresh].per_ip = per_ip;
	bl->nfresh++;
	event_active(bl->ev_fresh, EV_TIMEOUT, 0);
	/* The listener's accept loop stops when its listener is disabled. */
	if (bl->nfresh >= BS_ACCEPT_BATCH && !bl->paused) {
		for (i = 0; i < bl->nlisteners; i++)
			evconnlistener_disable(bl->listeners[i]);
		bl->paused = 1;
	}
}

/* Still the socket we took it for: not closed, not a reused number. */
static int
bs_conn_alive(const struct bs_conn *c)
{
	struct stat	 st;

	return fstat(c->fd, &st) == 0 && st.st_dev == c->dev &&
	    st.st_ino == c->ino;
}

static void
bs_conn_end(struct bs_limits *bl, struct bs_conn *c)
{
	if (c->ended)
		return;
	(void)shutdown(c->fd, SHUT_RDWR);
	c->ended = 1;
}

/* Forgets the connections evhttp has closed. */
static void
bs_limits_reap(struct bs_limits *bl)
{
	size_t	 i, j;

	for (i = j = 0; i < bl->n; i++)
		if (bs_conn_alive(&bl->v[i]))
			bl->v[j++] = bl->v[i];
	bl->n = j;
}

/* The client's address: IPv4 as mapped, IPv6 cut to its /64. */
static int
bs_limits_addr(evutil_socket_t fd, uint8_t addr[16])
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);

	memset(addr, 0, 16);
	/* Zeroed: the analyzer cannot see getpeername() fill it. */
	memset(&ss, 0, sizeof(ss));
	if (getpeername(fd, (struct sockaddr *)&ss, &len) == -1)
		return -1;
	if (ss.ss_family == AF_INET) {
		addr[10] = addr[11] = 0xff;
		memcpy(addr + 12, &((struct sockaddr_in *)&ss)->sin_addr, 4);
		return 0;
	}
	if (ss.ss_family == AF_INET6) {
		/* One IPv6 client usually holds a whole /64. */
		memcpy(addr, &((struct sockaddr_in6 *)&ss)->sin6_addr, 8);
		return 0;
	}
	return -1;
}

/*
 * Live connections (not ended), those of addr, and the index of the one
 * that has waited longest for its request (or -1).
 */
static size_t
bs_limits_count(const struct bs_limits *bl, const uint8_t *addr,
    size_t *naddrp, ssize_t *oldestp)
{
	const struct bs_conn	*c;
	size_t			 i, live = 0;

	*naddrp = 0;
	*oldestp = -1;
	for (i = 0; i < bl->n; i++) {
		c = &bl->v[i];
		if (c->ended)
			continue;
		live++;
		if (addr != NULL && c->per_ip && memcmp(c->addr, addr, 16) == 0)
			(*naddrp)++;
		if (*oldestp == -1 || c->deadline < bl->v[*oldestp].deadline)
			*oldestp = (ssize_t)i;
	}
	return live;
}

static void
bs_limits_admit(struct bs_limits *bl, evutil_socket_t fd, int per_ip)
{
	const struct conf	*cf = bl->conf;
	struct bs_conn		*c;
	struct stat		 st;
	uint8_t			 addr[16];
	size_t			 live, naddr;
	ssize_t			 oldest;

	if (fd == -1 || fstat(fd, &st) == -1)
		return;		/* already gone */
	if (per_ip && bs_limits_addr(fd, addr) == -1)
		per_ip = 0;
	live = bs_limits_count(bl, per_ip ? addr : NULL, &naddr, &oldest);
	if (live >= cf->bootstrap_max_connections ||
	    (per_ip && naddr >= cf->bootstrap_max_connections_per_ip)) {
		/* Closed ones are forgotten only at a sweep: look again. */
		bs_limits_reap(bl);
		live = bs_limits_count(bl, per_ip ? addr : NULL, &naddr,
		    &oldest);
	}
	if (per_ip && naddr >= cf->bootstrap_max_connections_per_ip) {
		bl->refused++;
		(void)shutdown(fd, SHUT_RDWR);
		return;
	}
	if (live >= cf->bootstrap_max_connections && oldest != -1) {
		/* Full: the longest wait for a request makes room. */
		bl->pushed++;
		bs_conn_end(bl, &bl->v[oldest]);
	}
	if (bl->n == bl->cap)
		bs_limits_reap(bl);
	if (bl->n == bl->cap) {
		/* Ended, but evhttp has not closed them yet. */
		bl->refused++;
		(void)shutdown(fd, SHUT_RDWR);
		return;
	}
	c = &bl->v[bl->n++];
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	c->per_ip = per_ip;
	if (per_ip)
		memcpy(c->addr, addr, 16);
	c->deadline = bs_limits_now() + (time_t)cf->bootstrap_request_timeout;
}

static void
bs_limits_fresh_cb(evutil_socket_t unused, short what, void *arg)
{
	struct bs_limits	*bl = arg;
	size_t			 i;

	for (i = 0; i < bl->nfresh; i++) {
		bs_limits_admit(bl, bufferevent_getfd(bl->fresh[i].bev),
		    bl->fresh[i].per_ip);
		bufferevent_decref(bl->fresh[i].bev);
	}
	bl->nfresh = 0;
	if (bl->paused) {
		for (i = 0; i < bl->nlisteners; i++)
			evconnlistener_enable(bl->listeners[i]);
		bl->paused = 0;
	}
}

void
bs_limits_answered(struct bs_limits *bl, struct evhttp_request *req)
{
	struct evhttp_connection	*evcon;
	struct bufferevent		*bev;
	evutil_socket_t			 fd;
	size_t				 i;

	if ((evcon = evhttp_request_get_connection(req)) == NULL ||
	    (bev = evhttp_connection_get_bufferevent(evcon)) == NULL ||
	    (fd = bufferevent_getfd(bev)) == -1)
		return;
	for (i = 0; i < bl->n; i++)
		if (bl->v[i].fd == fd && !bl->v[i].ended &&
		    bs_conn_alive(&bl->v[i])) {
			/* The next request of a kept-alive connection. */
			bl->v[i].deadline = bs_limits_now() +
			    (time_t)bl->conf->bootstrap_request_timeout;
			return;
		}
}

static void
bs_limits_sweep_cb(evutil_socket_t unused, short what, void *arg)
{
	struct bs_limits	*bl = arg;
	time_t			 now = bs_limits_now();
	size_t			 i;

	bs_limits_reap(bl);
	for (i = 0; i < bl->n; i++)
		if (!bl->v[i].ended && bl->v[i].deadline <= now) {
			bl->late++;
			bs_conn_end(bl, &bl->v[i]);
		}
	if (bl->refused + bl->pushed + bl->late > 0)
		log_info("connections: %llu refused (too many from one "
		    "address or in all), %llu pushed out by newer ones, %llu "
		    "too slow with their request; %zu open",
		    (unsigned long long)bl->refused,
		    (unsigned long long)bl->pushed,
		    (unsigned long long)bl->late, bl->n);
	bl->refused = bl->pushed = bl->late = 0;
}
