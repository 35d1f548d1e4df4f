/*
 * tls.h: OpenSSL contexts for the daemons (servers) and the relay
 * (client to the smarthost).
 *
 * Servers speak TLS 1.2 and 1.3 only, with forward-secret AEAD ciphers;
 * SSL_MODE_RELEASE_BUFFERS keeps an idle connection near 15 kB.  A
 * tls_server survives certificate reloads (SIGHUP): connections made
 * before keep the old context (reference counted by OpenSSL).
 */
#ifndef GUESTBOX_TLS_H
#define GUESTBOX_TLS_H

#include <stddef.h>

#include <openssl/ssl.h>

struct tls_server;

/* NULL with a reason in err if the certificate or key is unusable. */
struct tls_server *tls_server_new(const char *cert, const char *key,
	    char *err, size_t errlen);
/* Re-reads the files; on failure keeps the old context and returns -1. */
int		 tls_server_reload(struct tls_server *, char *err, size_t errlen);
/*
 * The certificate or key file this process cannot open now (a reload
 * would fail), with the reason in *errnop; NULL if it can open both.
 * The name is borrowed from the tls_server.
 */
const char	*tls_server_unreadable(const struct tls_server *, int *errnop);
/* A new SSL for one accepted connection (server mode). */
SSL		*tls_server_ssl(struct tls_server *);
void		 tls_server_free(struct tls_server **);

/*
 * A client context for the smarthost: verify (a bool) checks the chain
 * against ca_file (NULL: the system store) and the host name.
 */
SSL_CTX		*tls_client_ctx(int verify, const char *ca_file, char *err,
		    size_t errlen);

/* The OpenSSL error queue as one line, for logs; clears the queue. */
const char	*tls_error(void);

#endif
