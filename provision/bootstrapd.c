/*
 * bootstrapd.c: guestbox-bootstrapd's main: the daemon frame, one evhttp
 * per listener, and the dispatch of a request through the route table.
 *
 * evhttp accepts on the sockets the frame bound as root
 * (daemon_bind_external).  A "tls" listener wraps every connection in
 * bufferevent_openssl with the current context of the frame's tls_server,
 * so a SIGHUP reload reaches new connections; a "plain" listener speaks
 * HTTP for a reverse proxy on loopback or a unix socket, which then owns
 * TLS (guestbox-bootstrapd(8)).
 */
#include "config.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sysexits.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include <sodium.h>

#include "bootstrap.h"
#include "log.h"
#include "pgp.h"
#include "pubkeys.h"
#include "pgpmime.h"
#include "workq.h"
#include "xmalloc.h"

struct bs_listener {
	struct bootstrapd	*bd;
	struct evhttp		*http;
	char			*name;
	int			 tls;
	int			 unix_socket;
};

static void	bootstrap_request(struct evhttp_request *, void *);
static void	bootstrap_shutdown(struct daemon *);

static const struct daemon_ops bootstrap_ops = {
	.shutdown = bootstrap_shutdown,
};

/*
 * evhttp_set_bevcb: every new connection, which bootstrap-limits.c
 * counts; a TLS listener's connections start with a handshake.
 */
static struct bufferevent *
bootstrap_bevcb(struct event_base *base, void *arg)
{
	struct bs_listener	*bl = arg;
	struct bufferevent	*bev;
	SSL			*ssl;

	if (bl->tls) {
		/* tls_server_ssl() uses the context of the last (re)load. */
		if ((ssl = tls_server_ssl(bl->bd->d.tls)) == NULL)
			return NULL;
		bev = bufferevent_openssl_socket_new(base, -1, ssl,
		    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	} else
		bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	/* Behind a proxy every connection is the proxy's: no cap per IP. */
	if (bev != NULL)
		bs_limits_track(bl->bd->limits, bev, bl->tls);
	return bev;
}

static void
bootstrap_listen(struct bootstrapd *bd, size_t set)
{
	struct listeners	*ls = &bd->d.lsets[set];
	struct bs_listener		*bl;
	struct evhttp_bound_socket	*bound;
	size_t				 i;

	bd->listeners = xcalloc(ls->n, sizeof(*bd->listeners));
	for (i = 0; i < ls->n; i++) {
		bl = &bd->listeners[i];
		bl->bd = bd;
		bl->name = xstrdup(ls->v[i].name);
		bl->tls = ls->v[i].spec.security == LISTEN_TLS;
		bl->unix_socket = ls->v[i].spec.host == NULL;
		if ((bl->http = evhttp_new(bd->d.base)) == NULL)
			fatalx("evhttp_new");
		evhttp_set_timeout(bl->http, BS_HTTP_TIMEOUT);
		evhttp_set_max_headers_size(bl->http, BS_MAX_HEADERS);
		evhttp_set_max_body_size(bl->http, BS_MAX_BODY_HTTP);
		/* Every method reaches us, so a 405 carries our headers too. */
		evhttp_set_allowed_methods(bl->http, EVHTTP_REQ_GET |
		    EVHTTP_REQ_POST | EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT |
		    EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
		    EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
		evhttp_set_gencb(bl->http, bootstrap_request, bl);
		evhttp_set_bevcb(bl->http, bootstrap_bevcb, bl);
		if ((bound = evhttp_accept_socket_with_handle(bl->http,
		    ls->v[i].fd)) == NULL)
			fatalx("%s: evhttp cannot accept", bl->name);
		bs_limits_listener(bd->limits,
		    evhttp_bound_socket_get_listener(bound));
		ls->v[i].fd = -1;	/* evhttp owns it now */
		log_info("listening on %s (%s)", bl->name, bl->tls ? "tls" :
		    "plain HTTP for a reverse proxy");
		bd->nlisteners = i + 1;
	}
}

static void
bootstrap_shutdown(struct daemon *d)
{
	struct bootstrapd	*bd = (struct bootstrapd *)d;
	size_t			 i;

	/*
	 * Requests are answered synchronously but for logins to /account
	 * that wait for a hash: those are answered now, then the servers
	 * and their connections can go.
	 */
	account_shutdown(bd);
	/* The store is still open: unused links' passwords are revoked. */
	phone_links_free(bd);
	for (i = 0; i < bd->nlisteners; i++) {
		evhttp_free(bd->listeners[i].http);
		bd->listeners[i].http = NULL;
	}
	bs_limits_free(&bd->limits);
}

/*
 * The client's address for throttling.  Behind a reverse proxy (a plain
 * listener) every request comes from the proxy: then X-Real-IP, which the
 * proxy sets (guestbox-bootstrapd(8)), names the client.
 */
static void
bootstrap_peer(struct bs_req *r, struct bs_listener *bl)
{
	struct evhttp_connection	*evcon;
	const struct sockaddr		*sa;
	const struct sockaddr_in6	*sin6;
	const char			*real;
	char				 buf[INET6_ADDRSTRLEN];
	struct in6_addr			 a6;

	snprintf(r->peer, sizeof(r->peer), "unknown");
	if (!bl->tls && (real = bs_header(r, "X-Real-IP")) != NULL &&
	    strlen(real) < sizeof(r->peer)) {
		snprintf(r->peer, sizeof(r->peer), "%s", real);
		return;
	}
	if ((evcon = evhttp_request_get_connection(r->req)) == NULL ||
	    (sa = evhttp_connection_get_addr(evcon)) == NULL)
		return;
	if (sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
		    buf, sizeof(buf));
		snprintf(r->peer, sizeof(r->peer), "%s", buf);
	} else if (sa->sa_family == AF_INET6) {
		/* One IPv6 client usually holds a whole /64. */
		sin6 = (const struct sockaddr_in6 *)sa;
		memcpy(&a6, &sin6->sin6_addr, sizeof(a6));
		memset(&a6.s6_addr[8], 0, 8);
		inet_ntop(AF_INET6, &a6, buf, sizeof(buf));
		snprintf(r->peer, sizeof(r->peer), "%s/64", buf);
	}
}

/* SPEC: Nagle against delayed ACK costs 44 ms; evhttp does not set it. */
static void
bootstrap_nodelay(struct evhttp_request *req)
{
	struct evhttp_connection	*evcon;
	struct bufferevent		*bev;
	evutil_socket_t			 fd;
	int				 on = 1;

	if ((evcon = evhttp_request_get_connection(req)) == NULL ||
	    (bev = evhttp_connection_get_bufferevent(evcon)) == NULL ||
	    (fd = bufferevent_getfd(bev)) == -1)
		return;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
}

static const struct route *
bootstrap_route(const char *path, enum evhttp_cmd_type method, int *path_known)
{
	const struct route	*rt;
	size_t			 i, n;

	*path_known = 0;
	for (i = 0; i < bs_nroutes; i++) {
		rt = &bs_routes[i];
		n = strlen(rt->path);
		if ((rt->flags & ROUTE_PREFIX) ? strncmp(path, rt->path, n) != 0 :
		    strcmp(path, rt->path) != 0)
			continue;
		*path_known = 1;
		if (rt->method == method ||
		    (rt->method == EVHTTP_REQ_GET && method == EVHTTP_REQ_HEAD))
			return rt;
	}
	return NULL;
}

/* ?lang=de picks a language and keeps it in a cookie. */
static void
bootstrap_lang(struct bs_req *r, const struct evhttp_uri *uri)
{
	struct evkeyvalq	 q;
	const char		*query, *v;
	char			*c;
	int			 l;

	r->lang = text_negotiate(bs_header(r, "Accept-Language"));
	if ((c = bs_cookie_get(bs_header(r, "Cookie"),
	    SESSION_LANG_COOKIE)) != NULL) {
		if ((l = text_lang_parse(c)) != -1)
			r->lang = (enum bs_lang)l;
		free(c);
	}
	if ((query = evhttp_uri_get_query(uri)) == NULL)
		return;
	TAILQ_INIT(&q);
	if (evhttp_parse_query_str(query, &q) == 0 &&
	    (v = evhttp_find_header(&q, "lang")) != NULL &&
	    (l = text_lang_parse(v)) != -1) {
		r->lang = (enum bs_lang)l;
		/* RFC 6265 4.1.2.5-7: __Host- cookies need Secure and Path=/. */
		evhttp_add_header(evhttp_request_get_output_headers(r->req),
		    "Set-Cookie", l == LANG_DE ?
		    SESSION_LANG_COOKIE "=de; Max-Age=31536000; Path=/; Secure; "
		    "SameSite=Strict" : SESSION_LANG_COOKIE "=en; "
		    "Max-Age=31536000; Path=/; Secure; SameSite=Strict");
	}
	evhttp_clear_headers(&q);
}

static void
bootstrap_request(struct evhttp_request *req, void *arg)
{
	struct bs_listener	*bl = arg;
	struct bootstrapd	*bd = bl->bd;
	struct bs_req		 r;
	const struct evhttp_uri	*uri;
	const struct route	*rt;
	enum evhttp_cmd_type	 method;
	struct timeval		 tv;
	unsigned		 wait;
	char			 why[128], hdr[32];
	int			 known;

	bootstrap_nodelay(req);
	bs_limits_answered(bd->limits, req);
	memset(&r, 0, sizeof(r));
	r.cookie_name = SESSION_COOKIE;
	r.bd = bd;
	r.conf = bd->d.conf;
	r.req = req;
	r.tls = bl->tls;
	method = evhttp_request_get_command(req);
	r.head = method == EVHTTP_REQ_HEAD;
	uri = evhttp_request_get_evhttp_uri(req);
	r.path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	if (r.path == NULL || r.path[0] == '\0')
		r.path = "/";
	bootstrap_peer(&r, bl);
	if (uri != NULL)
		bootstrap_lang(&r, uri);
	else
		r.lang = text_negotiate(bs_header(&r, "Accept-Language"));

	if ((rt = bootstrap_route(r.path, method, &known)) == NULL) {
		if (known) {
			evhttp_add_header(evhttp_request_get_output_headers(req),
			    "Allow", "GET, HEAD, POST");
			bs_error(&r, 405, "Method Not Allowed",
			    T_ERR_METHOD_TITLE, T_ERR_METHOD_TEXT);
		} else
			bs_error(&r, 404, "Not Found", T_ERR_NOTFOUND_TITLE,
			    T_ERR_NOTFOUND_TEXT);
		goto out;
	}
	if (rt->flags & ROUTE_THROTTLED) {
		gettimeofday(&tv, NULL);
		wait = throttle_take(bd->throttle, r.peer,
		    (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000);
		if (wait > 0) {
			log_info("%s: throttled for %u s", r.peer, wait);
			snprintf(hdr, sizeof(hdr), "%u", wait);
			/* RFC 6585 4: 429 with Retry-After. */
			evhttp_add_header(evhttp_request_get_output_headers(req),
			    "Retry-After", hdr);
			bs_error(&r, 429, "Too Many Requests",
			    T_ERR_THROTTLE_TITLE, T_ERR_THROTTLE_TEXT);
			goto out;
		}
	}
	/* The guest's page has a cookie of its own (a login, not a link). */
	r.cookie_name = (rt->flags & ROUTE_ACCOUNT) ? SESSION_ACCOUNT_COOKIE :
	    SESSION_COOKIE;
	r.cookie = bs_cookie_get(bs_header(&r, "Cookie"), r.cookie_name);
	r.sess = session_new();
	if (r.cookie == NULL || session_open(r.cookie, time(NULL), r.sess) == -1)
		r.sess->state = SESSION_NONE;
	if (rt->flags & ROUTE_FORM) {
		if (bs_form_parse(&r, why, sizeof(why)) == -1) {
			log_info("%s: %s %s: %s", r.peer, "POST", r.path, why);
			if (strcmp(why, "too large") == 0)
				bs_error(&r, 413, "Content Too Large",
				    T_ERR_TOOBIG_TITLE, T_ERR_TOOBIG_TEXT);
			else
				bs_error(&r, 400, "Bad Request",
				    T_ERR_BADFORM_TITLE, T_ERR_BADFORM_TEXT);
			goto out;
		}
		if (r.sess->state == SESSION_NONE) {
			bs_error(&r, 403, "Forbidden", T_ERR_SESSION_TITLE,
			    T_ERR_SESSION_TEXT);
			goto out;
		}
		/* Double protection with SameSite=Strict: a token per form. */
		if (!session_csrf_check(r.cookie, rt->form,
		    bs_form_get(&r.form, "csrf", NULL))) {
			log_info("%s: POST %s: CSRF token missing or wrong",
			    r.peer, r.path);
			bs_error(&r, 403, "Forbidden", T_ERR_CSRF_TITLE,
			    T_ERR_CSRF_TEXT);
			goto out;
		}
	}
	rt->handler(&r);
	if (r.deferred)
		return;
out:
	bs_form_clear(&r.form);
	session_free(&r.sess);
	free(r.cookie);
	free(r.set_cookie);
}

int
main(int argc, char *argv[])
{
	struct bootstrapd	 bd;
	size_t			 set;
	int			 ret;

	memset(&bd, 0, sizeof(bd));
	if ((ret = daemon_init(&bd.d, "guestbox-bootstrapd", &bootstrap_ops,
	    argc, argv)) != 0)
		return ret > 255 ? ret - 256 : ret;
	if (bd.d.conf->bootstrap_listen.n == 0) {
		log_warnx("no bootstrap_listen in %s: nothing to serve",
		    bd.d.conf->path != NULL ? bd.d.conf->path : "the config");
		daemon_abandon(&bd.d);
		return EX_CONFIG;
	}
	for (set = 0; set < bd.d.conf->bootstrap_listen.n; set++)
		if (bd.d.conf->bootstrap_listen.v[set].security ==
		    LISTEN_STARTTLS) {
			/* HTTP has no STARTTLS (RFC 2817 is not used by browsers). */
			log_warnx("bootstrap_listen: HTTP has no starttls; use "
			    "tls, or plain behind a reverse proxy");
			daemon_abandon(&bd.d);
			return EX_CONFIG;
		}
	bd.https_public = strncasecmp(bd.d.conf->public_url, "https://", 8) == 0;
	set = daemon_bind_external(&bd.d, &bd.d.conf->bootstrap_listen);
	/* The auth workers: /account checks passwords like IMAP does. */
	daemon_start(&bd.d, 1);
	auth_set_login_proto(bd.d.auth, STORE_LOGIN_PAGE);
	/*
	 * The lost-password mails are encrypted here (bootstrap-lost.c);
	 * without GnuPG the page still answers, and the log says why none
	 * goes.
	 */
	if (pgp_init(bd.d.conf->state_dir) == -1)
		log_warnx("cannot use GnuPG in %s/gnupg: no lost-password "
		    "mails", bd.d.conf->state_dir);
	else {
		char	 why[512];

		bd.pgp_ok = 1;
		/* The GnuPG home is a cache of the store's keys: complete it. */
		if (pubkeys_restore(bd.d.store, NULL, why, sizeof(why)) == -1)
			log_warnx("rebuilding the GnuPG home: %s", why);
	}
	session_init();
	bd.throttle = throttle_new(bd.d.conf->bootstrap_rate);
	bd.limits = bs_limits_new(bd.d.base, bd.d.conf);
	/*
	 * One job at a time (a new device password's hash, a lost
	 * password's mails); a few may wait.
	 */
	bd.workq = workq_new(bd.d.base, 1, 8);
	bootstrap_listen(&bd, set);
	ret = daemon_run(&bd.d);
	/* The servers went in bootstrap_shutdown(), before the event base. */
	throttle_free(&bd.throttle);
	for (set = 0; set < bd.nlisteners; set++)
		free(bd.listeners[set].name);
	free(bd.listeners);
	return ret;
}
