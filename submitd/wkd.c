/*
 * wkd.c: the OpenPGP Web Key Directory (draft-koch-openpgp-webkey-
 * service) for the gateway: a recipient's key fetched over HTTPS and
 * imported into the GnuPG home.  Blocking, on a private event base: call
 * it from a worker thread.
 *
 * gateway_wkd = direct asks https://DOMAIN/.well-known/openpgpkey/hu/HASH
 * (the direct method, section 3.1); a base URL asks
 * BASE/.well-known/openpgpkey/DOMAIN/hu/HASH (the advanced method's path,
 * on a host of the admin's choosing).  HASH is the z-base-32 encoded
 * SHA-1 of the local part in lower case; ?l= carries the local part.
 */
#include "config.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "pgp.h"
#include "tls.h"
#include "submitd.h"
#include "xmalloc.h"

#define WKD_TIMEOUT	10		/* seconds for the whole request */
#define WKD_BODY_MAX	(256 * 1024)	/* a key, not a keyring */

/* z-base-32 (the WKD draft, 3.1; RFC 6189 5.1.6). */
static void
wkd_zbase32(const uint8_t *in, size_t len, char *out)
{
	static const char alpha[] = "ybndrfg8ejkmcpqxot1uwisza345h769";
	uint32_t	 acc = 0;
	int		 bits = 0;
	size_t		 i, o = 0;

	for (i = 0; i < len; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 5) {
			out[o++] = alpha[(acc >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	if (bits > 0)
		out[o++] = alpha[(acc << (5 - bits)) & 31];
	out[o] = '\0';
}

struct wkd_fetch {
	struct event_base	*base;
	int			 code;		/* HTTP status, 0: none */
	char			*body;
	size_t			 len;
	int			 toolong;
};

static void
wkd_done(struct evhttp_request *req, void *arg)
{
	struct wkd_fetch	*w = arg;
	struct evbuffer		*b;

	if (req != NULL && (w->code = evhttp_request_get_response_code(req)) ==
	    200) {
		b = evhttp_request_get_input_buffer(req);
		w->len = evbuffer_get_length(b);
		if (w->len > WKD_BODY_MAX)
			w->toolong = 1;
		else {
			w->body = xmalloc(w->len + 1);
			evbuffer_remove(b, w->body, w->len);
			w->body[w->len] = '\0';
		}
	}
	event_base_loopbreak(w->base);
}

int
wkd_lookup(const struct conf *cf, const char *addr, char fpr[PGP_FPR_MAX],
    char *why, size_t whylen)
{
	struct wkd_fetch		 w;
	struct evhttp_uri		*uri = NULL;
	struct evhttp_connection	*conn = NULL;
	struct evhttp_request		*req;
	struct bufferevent		*bev;
	SSL_CTX				*ctx;
	SSL				*ssl;
	const char			*at = strrchr(addr, '@'), *host, *bpath;
	char				 local[ADDR_MAX + 1], hash[40], *path, *base;
	char				 err[256];
	uint8_t				 md[20], ip[16];
	unsigned int			 mdlen = sizeof(md);
	size_t				 i, n;
	long				 verify;
	int				 port, ret = -1;

	if (at == NULL || at == addr) {
		snprintf(why, whylen, "no local part");
		return 0;
	}
	n = (size_t)(at - addr);
	for (i = 0; i < n; i++)
		local[i] = (char)tolower((unsigned char)addr[i]);
	local[n] = '\0';
	if (EVP_Digest(local, n, md, &mdlen, EVP_sha1(), NULL) != 1) {
		snprintf(why, whylen, "SHA-1 failed");
		return -1;
	}
	wkd_zbase32(md, sizeof(md), hash);
	if (strcmp(cf->gateway_wkd, "direct") == 0)
		xasprintf(&base, "https://%s", at + 1);
	else
		base = xstrdup(cf->gateway_wkd);
	if ((uri = evhttp_uri_parse(base)) == NULL ||
	    (host = evhttp_uri_get_host(uri)) == NULL) {
		snprintf(why, whylen, "gateway_wkd %s is not a URL", base);
		free(base);
		if (uri != NULL)
			evhttp_uri_free(uri);
		return -1;
	}
	port = evhttp_uri_get_port(uri) > 0 ? evhttp_uri_get_port(uri) : 443;
	bpath = evhttp_uri_get_path(uri) != NULL ? evhttp_uri_get_path(uri) : "";
	if (strcmp(bpath, "/") == 0)
		bpath = "";
	if (strcmp(cf->gateway_wkd, "direct") == 0)
		xasprintf(&path, "/.well-known/openpgpkey/hu/%s?l=%s", hash,
		    local);
	else
		xasprintf(&path, "%s/.well-known/openpgpkey/%s/hu/%s?l=%s",
		    bpath, at + 1, hash, local);
	if ((ctx = tls_client_ctx(1, cf->gateway_wkd_ca, err,
	    sizeof(err))) == NULL) {
		snprintf(why, whylen, "TLS: %s", err);
		goto out;
	}
	memset(&w, 0, sizeof(w));
	if ((w.base = event_base_new()) == NULL)
		fatalx("wkd: event_base_new failed");
	if ((ssl = SSL_new(ctx)) == NULL)
		fatalx("wkd: SSL_new failed");
	/* RFC 6125 6.4: the host we asked must be in the certificate. */
	if (inet_pton(AF_INET, host, ip) != 1 && inet_pton(AF_INET6, host,
	    ip) != 1)
		/*
		 * SSL_set_tlsext_host_name() as a call: the macro casts the
		 * const away, which clang reports (OpenSSL copies the name).
		 */
		(void)SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME,
		    TLSEXT_NAMETYPE_host_name, (void *)(uintptr_t)host);
	SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	(void)SSL_set1_host(ssl, host);
	bev = bufferevent_openssl_socket_new(w.base, -1, ssl,
	    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE |
	    BEV_OPT_DEFER_CALLBACKS);
	if (bev == NULL)
		fatalx("wkd: bufferevent_openssl_socket_new failed");
	conn = evhttp_connection_base_bufferevent_new(w.base, NULL, bev, host,
	    (unsigned short)port);
	evhttp_connection_set_timeout(conn, WKD_TIMEOUT);
	evhttp_connection_set_retries(conn, 0);
	req = evhttp_request_new(wkd_done, &w);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Host", host);
	if (evhttp_make_request(conn, req, EVHTTP_REQ_GET, path) == 0)
		event_base_dispatch(w.base);
	/* Owned by the connection: read before it goes. */
	verify = SSL_get_verify_result(ssl);
	evhttp_connection_free(conn);
	event_base_free(w.base);
	SSL_CTX_free(ctx);
	if (w.code == 404 || w.code == 410) {
		snprintf(why, whylen, "no key in the web key directory");
		ret = 0;
	} else if (w.code != 200) {
		/* A timeout, a refused connection, a 5xx: ask again later. */
		if (w.code == 0 && verify != X509_V_OK)
			snprintf(why, whylen, "the certificate of the web key "
			    "directory at %s is not trusted: %s", host,
			    X509_verify_cert_error_string(verify));
		else if (w.code == 0)
			snprintf(why, whylen, "the web key directory at %s did "
			    "not answer", host);
		else
			snprintf(why, whylen, "the web key directory at %s "
			    "answered %d", host, w.code);
	} else if (w.toolong || w.len == 0) {
		snprintf(why, whylen, "the web key directory sent no key or "
		    "too much");
		ret = 0;
	} else if (pgp_import_mem("the web key directory", w.body, w.len, addr,
	    fpr, why, whylen) == -1)
		ret = 0;	/* no key for that address in it */
	else
		ret = 1;
	free(w.body);
out:
	free(path);
	free(base);
	evhttp_uri_free(uri);
	return ret;
}
