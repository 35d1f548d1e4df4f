/*
 * smtp-send.c: one message to the smarthost (RFC 5321, RFC 3207 STARTTLS,
 * RFC 8314 implicit TLS, RFC 4954 and RFC 4616 AUTH PLAIN).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sodium.h>

#include "log.h"
#include "smtp-send.h"
#include "tls.h"
#include "util.h"
#include "xmalloc.h"

/* RFC 5321 4.5.3.1.5: a reply line is at most 512 octets; be lenient. */
#define SMTP_LINE_MAX	2048
/* Lines of one multi-line reply (an EHLO lists a dozen). */
#define SMTP_REPLY_MAX	100

struct smtp {
	int		 fd;
	SSL		*ssl;
	SSL_CTX		*ctx;
	char		 host[256];
	char		 in[4096];
	size_t		 inlen;
	/* The last reply. */
	int		 code;
	char		 text[SMTP_LINE_MAX];	/* its first line */
	/* EHLO keywords we care about. */
	int		 starttls;
	int		 auth_plain;
	int		 permanent;
	char		*err;
	size_t		 errlen;
};

static void	smtp_err(struct smtp *, const char *, ...) printflike(2, 3);

static void
smtp_err(struct smtp *s, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(s->err, s->errlen, fmt, ap);
	va_end(ap);
}

int
smtp_send_hostport(const char *sh, enum smarthost_tls mode, char *host,
    size_t hostlen, char *port, size_t portlen)
{
	const char	*colon, *end;
	uint64_t	 p;

	if (sh == NULL || *sh == '\0')
		return -1;
	if (sh[0] == '[') {
		if ((end = strchr(sh, ']')) == NULL)
			return -1;
		snprintf(host, hostlen, "%.*s", (int)(end - sh - 1), sh + 1);
		colon = end[1] == ':' ? end + 1 : NULL;
		if (colon == NULL && end[1] != '\0')
			return -1;
	} else {
		colon = strrchr(sh, ':');
		if (colon != NULL && strchr(sh, ':') != colon)
			return -1;	/* bare IPv6: needs brackets */
		snprintf(host, hostlen, "%.*s", colon != NULL ?
		    (int)(colon - sh) : (int)strlen(sh), sh);
	}
	if (host[0] == '\0')
		return -1;
	if (colon == NULL) {
		/* RFC 8314 3.3 for implicit TLS; port 25 between MTAs. */
		snprintf(port, portlen, "%s", mode == SMARTHOST_TLS ? "465" :
		    "25");
		return 0;
	}
	if (parse_u64(colon + 1, 65535, &p) == -1 || p == 0)
		return -1;
	snprintf(port, portlen, "%llu", (unsigned long long)p);
	return 0;
}

static int
smtp_connect(struct smtp *s, const char *port)
{
	struct addrinfo	 hints, *res, *ai;
	struct timeval	 tv = { SMTP_SEND_TIMEOUT, 0 };
	struct pollfd	 pfd;
	socklen_t	 sl;
	int		 fd = -1, gai, soerr = 0, flags;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((gai = getaddrinfo(s->host, port, &hints, &res)) != 0) {
		smtp_err(s, "smarthost %s: %s", s->host, gai_strerror(gai));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol)) == -1)
			continue;
		/* A connect with a timeout: non-blocking, then poll. */
		flags = fcntl(fd, F_GETFL);
		fcntl(fd, F_SETFL, flags | O_NONBLOCK);
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ||
		    errno == EINPROGRESS) {
			pfd.fd = fd;
			pfd.events = POLLOUT;
			sl = sizeof(soerr);
			if (poll(&pfd, 1, SMTP_SEND_TIMEOUT * 1000) == 1 &&
			    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr,
			    &sl) == 0 && soerr == 0) {
				fcntl(fd, F_SETFL, flags);
				break;
			}
			errno = soerr != 0 ? soerr : ETIMEDOUT;
		}
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1) {
		smtp_err(s, "cannot connect to the smarthost %s port %s: %s",
		    s->host, port, strerror(errno));
		return -1;
	}
	/* Every read and write after this has the same time limit. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	s->fd = fd;
	return 0;
}

static int
smtp_starttls(struct smtp *s, const struct conf *cf)
{
	char	 why[256];

	if ((s->ctx = tls_client_ctx(cf->smarthost_verify, cf->smarthost_ca,
	    why, sizeof(why))) == NULL) {
		smtp_err(s, "TLS: %s", why);
		return -1;
	}
	if ((s->ssl = SSL_new(s->ctx)) == NULL ||
	    SSL_set_fd(s->ssl, s->fd) != 1) {
		smtp_err(s, "TLS: %s", tls_error());
		return -1;
	}
	/* RFC 6066 3: SNI, and RFC 6125 host name checking. */
	SSL_set_tlsext_host_name(s->ssl, s->host);
	if (cf->smarthost_verify) {
		SSL_set_hostflags(s->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (SSL_set1_host(s->ssl, s->host) != 1) {
			smtp_err(s, "TLS: %s", tls_error());
			return -1;
		}
	}
	if (SSL_connect(s->ssl) != 1) {
		long	 v = SSL_get_verify_result(s->ssl);

		if (v != X509_V_OK)
			smtp_err(s, "TLS with the smarthost %s failed: "
			    "certificate: %s", s->host,
			    X509_verify_cert_error_string(v));
		else
			smtp_err(s, "TLS with the smarthost %s failed: %s",
			    s->host, tls_error());
		return -1;
	}
	/* Nothing read before the handshake may be used (RFC 3207 6). */
	s->inlen = 0;
	return 0;
}

static ssize_t
smtp_read_some(struct smtp *s, void *buf, size_t len)
{
	int	 n;

	if (s->ssl == NULL)
		return read(s->fd, buf, len);
	n = SSL_read(s->ssl, buf, (int)len);
	return n > 0 ? n : -1;
}

static int
smtp_write(struct smtp *s, const void *buf, size_t len)
{
	const char	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		if (s->ssl != NULL) {
			int	 w = SSL_write(s->ssl, p, (int)(len > 65536 ?
			    65536 : len));

			n = w > 0 ? w : -1;
		} else
			n = write(s->fd, p, len);
		if (n <= 0) {
			smtp_err(s, "writing to the smarthost %s failed: %s",
			    s->host, n == 0 || errno == 0 ? "connection closed" :
			    strerror(errno));
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
smtp_printf(struct smtp *s, const char *fmt, ...) printflike(2, 3);

static int
smtp_printf(struct smtp *s, const char *fmt, ...)
{
	va_list	 ap;
	char	*line;
	int	 n, ret;

	va_start(ap, fmt);
	n = xvasprintf(&line, fmt, ap);
	va_end(ap);
	ret = smtp_write(s, line, (size_t)n);
	sodium_memzero(line, (size_t)n);
	free(line);
	return ret;
}

/* One line without CRLF into line; -1 on EOF, timeout or overflow. */
static int
smtp_readline(struct smtp *s, char *line, size_t linelen)
{
	char	*nl;
	size_t	 n;
	ssize_t	 r;

	for (;;) {
		if ((nl = memchr(s->in, '\n', s->inlen)) != NULL) {
			n = (size_t)(nl - s->in);
			if (n > 0 && s->in[n - 1] == '\r')
				n--;
			if (n >= linelen)
				n = linelen - 1;
			memcpy(line, s->in, n);
			line[n] = '\0';
			n = (size_t)(nl - s->in) + 1;
			memmove(s->in, s->in + n, s->inlen - n);
			s->inlen -= n;
			return 0;
		}
		if (s->inlen == sizeof(s->in)) {
			smtp_err(s, "the smarthost %s sent a line that is too "
			    "long", s->host);
			return -1;
		}
		r = smtp_read_some(s, s->in + s->inlen, sizeof(s->in) - s->inlen);
		if (r <= 0) {
			smtp_err(s, "the smarthost %s %s", s->host, r == 0 ?
			    "closed the connection" : errno == EAGAIN ||
			    errno == EWOULDBLOCK ? "did not answer in time" :
			    "connection failed");
			return -1;
		}
		s->inlen += (size_t)r;
	}
}

/* A whole reply (RFC 5321 4.2.1: "250-" continues, "250 " ends). */
static int
smtp_reply(struct smtp *s, int ehlo)
{
	char	 line[SMTP_LINE_MAX], *kw;
	int	 i;

	for (i = 0; i < SMTP_REPLY_MAX; i++) {
		if (smtp_readline(s, line, sizeof(line)) == -1)
			return -1;
		if (strlen(line) < 3 || line[0] < '2' || line[0] > '5' ||
		    (line[3] != '\0' && line[3] != ' ' && line[3] != '-')) {
			smtp_err(s, "the smarthost %s sent garbage: %.80s",
			    s->host, line);
			return -1;
		}
		if (i == 0) {
			s->code = atoi(line);
			snprintf(s->text, sizeof(s->text), "%s", line);
		}
		if (ehlo && i > 0) {
			kw = line + 4;
			if (strcasecmp(kw, "STARTTLS") == 0)
				s->starttls = 1;
			if (strncasecmp(kw, "AUTH", 4) == 0 &&
			    (kw[4] == ' ' || kw[4] == '=') &&
			    strcasestr(kw, " PLAIN") != NULL)
				s->auth_plain = 1;
		}
		if (line[3] != '-')
			return 0;
	}
	smtp_err(s, "the smarthost %s sent a reply that is too long", s->host);
	return -1;
}

/* Sends a command (or nothing) and expects a reply of class want (2, 3). */
static int
smtp_cmd(struct smtp *s, int want, const char *what, const char *cmd)
{
	if (cmd != NULL && smtp_printf(s, "%s\r\n", cmd) == -1)
		return -1;
	if (smtp_reply(s, 0) == -1)
		return -1;
	if (s->code / 100 != want) {
		s->permanent = s->code / 100 == 5;
		smtp_err(s, "the smarthost %s refused %s: %s", s->host, what,
		    s->text);
		return -1;
	}
	return 0;
}

static int
smtp_ehlo(struct smtp *s, const struct conf *cf)
{
	s->starttls = s->auth_plain = 0;
	if (smtp_printf(s, "EHLO %s\r\n", cf->hostname) == -1 ||
	    smtp_reply(s, 1) == -1)
		return -1;
	if (s->code != 250) {
		s->permanent = s->code / 100 == 5;
		smtp_err(s, "the smarthost %s refused EHLO: %s", s->host, s->text);
		return -1;
	}
	return 0;
}

/* RFC 4616: "\0user\0password", base64. */
static int
smtp_auth(struct smtp *s, const struct conf *cf)
{
	char	*pw = NULL, *raw, *b64;
	size_t	 pwlen = 0, ulen, rawlen, b64len;
	int	 ret;

	if (!s->auth_plain) {
		smtp_err(s, "the smarthost %s does not offer AUTH PLAIN",
		    s->host);
		return -1;
	}
	if (cf->smarthost_password_file == NULL ||
	    file_read_all(cf->smarthost_password_file, 4096, &pw, &pwlen) == -1) {
		smtp_err(s, "cannot read smarthost_password_file %s: %s",
		    cf->smarthost_password_file != NULL ?
		    cf->smarthost_password_file : "(not set)", strerror(errno));
		return -1;
	}
	while (pwlen > 0 && (pw[pwlen - 1] == '\n' || pw[pwlen - 1] == '\r'))
		pwlen--;
	ulen = strlen(cf->smarthost_user);
	rawlen = 1 + ulen + 1 + pwlen;
	raw = xsecret_alloc(rawlen);
	raw[0] = '\0';
	memcpy(raw + 1, cf->smarthost_user, ulen);
	raw[1 + ulen] = '\0';
	memcpy(raw + 2 + ulen, pw, pwlen);
	sodium_memzero(pw, pwlen);
	free(pw);
	b64len = sodium_base64_ENCODED_LEN(rawlen,
	    sodium_base64_VARIANT_ORIGINAL);
	b64 = xsecret_alloc(b64len);
	sodium_bin2base64(b64, b64len, (const unsigned char *)raw, rawlen,
	    sodium_base64_VARIANT_ORIGINAL);
	xsecret_free(raw);
	ret = smtp_printf(s, "AUTH PLAIN %s\r\n", b64);
	xsecret_free(b64);
	if (ret == -1 || smtp_reply(s, 0) == -1)
		return -1;
	if (s->code != 235) {
		s->permanent = s->code / 100 == 5;
		smtp_err(s, "the smarthost %s refused the login of %s: %s",
		    s->host, cf->smarthost_user, s->text);
		return -1;
	}
	return 0;
}

/* RFC 5321 4.5.2: dot-stuffing, and CRLF line ends throughout. */
static int
smtp_data(struct smtp *s, const char *msg, size_t len)
{
	struct evbuf {
		char	*p;
		size_t	 n, cap;
	} b = { NULL, 0, 0 };
	size_t	 i;
	int	 bol = 1, ret;

	b.cap = len + len / 16 + 8;
	b.p = xmalloc(b.cap);
	for (i = 0; i < len; i++) {
		if (b.n + 5 > b.cap) {
			b.cap *= 2;
			b.p = xrealloc(b.p, b.cap);
		}
		if (bol && msg[i] == '.')
			b.p[b.n++] = '.';
		bol = 0;
		if (msg[i] == '\r' && i + 1 < len && msg[i + 1] == '\n')
			continue;	/* the LF adds the CRLF */
		if (msg[i] == '\n' || msg[i] == '\r') {
			b.p[b.n++] = '\r';
			b.p[b.n++] = '\n';
			bol = 1;
			continue;
		}
		b.p[b.n++] = msg[i];
	}
	if (!bol) {
		b.p[b.n++] = '\r';
		b.p[b.n++] = '\n';
	}
	memcpy(b.p + b.n, ".\r\n", 3);
	b.n += 3;
	ret = smtp_write(s, b.p, b.n);
	free(b.p);
	return ret;
}

int
smtp_send(const struct conf *cf, const char *from, const char *rcpt,
    const char *msg, size_t len, int *permanentp, char *err, size_t errlen)
{
	struct smtp	 s;
	struct sigaction sa, osa;
	char		 port[8], cmd[ADDR_MAX + 32];
	int		 ret = -1;

	/* A smarthost that hangs up must give an error, not a SIGPIPE. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, &osa);
	memset(&s, 0, sizeof(s));
	s.fd = -1;
	s.err = err;
	s.errlen = errlen;
	if (permanentp != NULL)
		*permanentp = 0;
	if (smtp_send_hostport(cf->smarthost, cf->smarthost_tls, s.host,
	    sizeof(s.host), port, sizeof(port)) == -1) {
		smtp_err(&s, "smarthost \"%s\" is not HOST:PORT",
		    cf->smarthost != NULL ? cf->smarthost : "");
		goto out;
	}
	if (smtp_connect(&s, port) == -1)
		goto out;
	if (cf->smarthost_tls == SMARTHOST_TLS && smtp_starttls(&s, cf) == -1)
		goto out;
	if (smtp_cmd(&s, 2, "the connection", NULL) == -1 ||
	    smtp_ehlo(&s, cf) == -1)
		goto out;
	if (cf->smarthost_tls == SMARTHOST_STARTTLS) {
		/* Never in clear: no STARTTLS, no mail (guestbox.conf(5)). */
		if (!s.starttls) {
			smtp_err(&s, "the smarthost %s does not offer STARTTLS",
			    s.host);
			goto out;
		}
		if (smtp_cmd(&s, 2, "STARTTLS", "STARTTLS") == -1 ||
		    smtp_starttls(&s, cf) == -1 || smtp_ehlo(&s, cf) == -1)
			goto out;
	}
	if (cf->smarthost_user != NULL && smtp_auth(&s, cf) == -1)
		goto out;
	snprintf(cmd, sizeof(cmd), "MAIL FROM:<%s>", from);
	if (smtp_cmd(&s, 2, "the sender", cmd) == -1)
		goto out;
	snprintf(cmd, sizeof(cmd), "RCPT TO:<%s>", rcpt);
	if (smtp_cmd(&s, 2, "the recipient", cmd) == -1 ||
	    smtp_cmd(&s, 3, "DATA", "DATA") == -1 ||
	    smtp_data(&s, msg, len) == -1 ||
	    smtp_cmd(&s, 2, "the message", NULL) == -1)
		goto out;
	/* The message is accepted; a failing QUIT changes nothing. */
	(void)smtp_printf(&s, "QUIT\r\n");
	ret = 0;
out:
	if (permanentp != NULL)
		*permanentp = s.permanent;
	if (s.ssl != NULL) {
		SSL_shutdown(s.ssl);
		SSL_free(s.ssl);
	}
	SSL_CTX_free(s.ctx);
	if (s.fd != -1)
		close(s.fd);
	sigaction(SIGPIPE, &osa, NULL);
	return ret;
}
