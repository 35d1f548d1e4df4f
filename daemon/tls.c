/*
 * tls.c: OpenSSL set-up shared by every daemon.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "log.h"
#include "tls.h"
#include "xmalloc.h"

/*
 * TLS 1.2 suites for clients without 1.3: ECDHE only (forward secrecy),
 * AEAD only.  TLS 1.3 suites are OpenSSL's defaults, all AEAD.
 */
#define TLS_CIPHERS_12 \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

struct tls_server {
	SSL_CTX		*ctx;
	char		*cert;
	char		*key;
};

const char *
tls_error(void)
{
	static char	 buf[256];
	unsigned long	 e, last = 0;

	while ((e = ERR_get_error()) != 0)
		last = e;
	if (last == 0)
		return "unknown TLS error";
	ERR_error_string_n(last, buf, sizeof(buf));
	return buf;
}

/*
 * 0 if this process can open the file for reading, else -1 with errno
 * set.  OpenSSL's own words for a file it cannot open ("system
 * library::Permission denied") do not say which file.
 */
static int
tls_file_readable(const char *path)
{
	int	 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	close(fd);
	return 0;
}

/*
 * What a PEM file holds, by its first "-----BEGIN LABEL-----" line
 * (RFC 7468 2): "a certificate", "a private key", ... or NULL.  OpenSSL
 * answers a certificate given as the key with only "PEM lib", which
 * names neither the file nor the mix-up.
 */
static const char *
tls_pem_holds(const char *path)
{
	static const struct {
		const char	*label;
		const char	*what;
	} kinds[] = {
		{ "CERTIFICATE-----", "a certificate" },
		{ "TRUSTED CERTIFICATE-----", "a certificate" },
		{ "PRIVATE KEY-----", "a private key" },
		{ "RSA PRIVATE KEY-----", "a private key" },
		{ "EC PRIVATE KEY-----", "a private key" },
		{ "ENCRYPTED PRIVATE KEY-----", "an encrypted private key" },
		{ "CERTIFICATE REQUEST-----", "a certificate request" },
		{ "PUBLIC KEY-----", "a public key" },
	};
	const char	*what = NULL;
	char		 line[256];
	size_t		 i;
	FILE		*fp;

	if ((fp = fopen(path, "re")) == NULL)
		return NULL;
	while (what == NULL && fgets(line, sizeof(line), fp) != NULL) {
		if (strncmp(line, "-----BEGIN ", 11) != 0)
			continue;
		for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
			if (strncmp(line + 11, kinds[i].label,
			    strlen(kinds[i].label)) == 0)
				what = kinds[i].what;
		if (what == NULL)
			what = "PEM data of another kind";
	}
	fclose(fp);
	return what == NULL ? "no PEM data" : what;
}

static SSL_CTX *
tls_server_ctx(const char *cert, const char *key, char *err, size_t errlen)
{
	SSL_CTX		*ctx;
	const char	*what;

	if (tls_file_readable(cert) == -1) {
		snprintf(err, errlen, "certificate %s: %s", cert,
		    strerror(errno));
		return NULL;
	}
	if (tls_file_readable(key) == -1) {
		snprintf(err, errlen, "key %s: %s", key, strerror(errno));
		return NULL;
	}
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		snprintf(err, errlen, "SSL_CTX_new: %s", tls_error());
		return NULL;
	}
	/* SPEC: TLS 1.2+ only. */
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_set_cipher_list(ctx, TLS_CIPHERS_12) != 1) {
		snprintf(err, errlen, "cipher list: %s", tls_error());
		goto fail;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		what = tls_pem_holds(cert);
		if (what != NULL && strcmp(what, "a certificate") != 0) {
			ERR_clear_error();
			snprintf(err, errlen, "tls_cert %s holds %s, not a "
			    "certificate: tls_cert names the certificate "
			    "(chain), tls_key its private key", cert, what);
		} else
			snprintf(err, errlen, "certificate %s: %s", cert,
			    tls_error());
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		what = tls_pem_holds(key);
		if (what != NULL && strcmp(what, "a private key") != 0) {
			ERR_clear_error();
			snprintf(err, errlen, "tls_key %s holds %s, not a "
			    "private key: tls_key names the private key, "
			    "tls_cert the certificate", key, what);
		} else
			snprintf(err, errlen, "key %s: %s", key, tls_error());
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(err, errlen, "key %s does not match certificate %s",
		    key, cert);
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

struct tls_server *
tls_server_new(const char *cert, const char *key, char *err, size_t errlen)
{
	struct tls_server	*ts;

	if (cert == NULL || key == NULL) {
		snprintf(err, errlen, "tls_cert and tls_key must be set");
		return NULL;
	}
	ts = xcalloc(1, sizeof(*ts));
	ts->cert = xstrdup(cert);
	ts->key = xstrdup(key);
	if ((ts->ctx = tls_server_ctx(cert, key, err, errlen)) == NULL)
		tls_server_free(&ts);
	return ts;
}

int
tls_server_reload(struct tls_server *ts, char *err, size_t errlen)
{
	SSL_CTX	*ctx;

	if ((ctx = tls_server_ctx(ts->cert, ts->key, err, errlen)) == NULL)
		return -1;
	/* Open connections hold their own reference to the old context. */
	SSL_CTX_free(ts->ctx);
	ts->ctx = ctx;
	return 0;
}

const char *
tls_server_unreadable(const struct tls_server *ts, int *errnop)
{
	if (tls_file_readable(ts->cert) == -1) {
		*errnop = errno;
		return ts->cert;
	}
	if (tls_file_readable(ts->key) == -1) {
		*errnop = errno;
		return ts->key;
	}
	return NULL;
}

SSL *
tls_server_ssl(struct tls_server *ts)
{
	SSL	*ssl;

	if ((ssl = SSL_new(ts->ctx)) == NULL)
		log_warnx("SSL_new: %s", tls_error());
	return ssl;
}

void
tls_server_free(struct tls_server **tsp)
{
	struct tls_server	*ts = *tsp;

	if (ts == NULL)
		return;
	SSL_CTX_free(ts->ctx);
	free(ts->cert);
	free(ts->key);
	free(ts);
	*tsp = NULL;
}

SSL_CTX *
tls_client_ctx(int verify, const char *ca_file, char *err, size_t errlen)
{
	SSL_CTX	*ctx;

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		snprintf(err, errlen, "SSL_CTX_new: %s", tls_error());
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (verify) {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
		if ((ca_file != NULL ? SSL_CTX_load_verify_locations(ctx,
		    ca_file, NULL) : SSL_CTX_set_default_verify_paths(ctx)) != 1) {
			snprintf(err, errlen, "CA %s: %s", ca_file != NULL ?
			    ca_file : "system store", tls_error());
			SSL_CTX_free(ctx);
			return NULL;
		}
	}
	return ctx;
}
