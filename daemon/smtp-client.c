/*
 * smtp-client.c: the SMTP client engine (RFC 5321; RFC 3207 STARTTLS,
 * RFC 8314 implicit TLS, RFC 4954 and RFC 4616 AUTH PLAIN, RFC 2920
 * PIPELINING, RFC 1870 SIZE, RFC 6152 8BITMIME) and its blocking
 * wrapper for the CLI.
 *
 * The shape is OpenSMTPD's mta_session.c: smtp_client_enter_state()
 * does the new state's work (sends its command); smtp_client_reply()
 * reads a reply and only picks the next state.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sodium.h>

#include "log.h"
#include "smtp-client.h"
#include "tls.h"
#include "util.h"
#include "xmalloc.h"

/* RFC 5321 4.5.3.1.5: a reply line is at most 512 octets; be lenient. */
#define SMTP_CLIENT_LINE_MAX	2048
/* Lines of one multi-line reply (an EHLO lists a dozen). */
#define SMTP_CLIENT_REPLY_LINES	100
/* guestbox.conf(5): smarthost_password_file holds one short line. */
#define SMTP_CLIENT_PASSWORD_MAX 4096

enum smtp_client_state {
	SC_INIT,	/* not connected yet */
	SC_CONNECT,	/* TCP to the next address */
	SC_TLS,		/* the handshake: implicit, or after STARTTLS */
	SC_GREETING,
	SC_EHLO,
	SC_STARTTLS,
	SC_AUTH,
	SC_READY,	/* no transaction */
	SC_MAIL,
	SC_RCPT,
	SC_DATA,
	SC_BODY,
	SC_RSET,
	SC_QUIT,
	SC_CLOSED,
};

static const char *const smtp_client_state_names[] = {
	[SC_INIT] = "init",
	[SC_CONNECT] = "connect",
	[SC_TLS] = "tls",
	[SC_GREETING] = "greeting",
	[SC_EHLO] = "ehlo",
	[SC_STARTTLS] = "starttls",
	[SC_AUTH] = "auth",
	[SC_READY] = "ready",
	[SC_MAIL] = "mail",
	[SC_RCPT] = "rcpt",
	[SC_DATA] = "data",
	[SC_BODY] = "body",
	[SC_RSET] = "rset",
	[SC_QUIT] = "quit",
	[SC_CLOSED] = "closed",
};

/* A recipient during the transaction. */
enum smtp_client_rcpt_state {
	RCPT_NONE,	/* not answered yet */
	RCPT_ACCEPTED,	/* RCPT 2xx, the message not yet taken */
	RCPT_SENT,
	RCPT_TEMP,
	RCPT_PERM,
};

struct smtp_client_rcpt {
	enum smtp_client_rcpt_state	 state;
	char				*reply;
};

struct smtp_client {
	struct event_base		*base;
	const struct conf		*cf;
	SSL_CTX				*ctx;
	struct timeval			 timeout;
	const struct smtp_client_cb	*cb;
	void				*arg;
	enum smtp_client_state		 state;
	/* The gateway's re-injection: plain SMTP, no TLS, no AUTH. */
	int				 plain;
	char				 host[256];
	char				 port[8];
	char				 peer[270];	/* host:port, for logs */
	struct addrinfo			*ai;
	struct addrinfo			*ai_next;
	char				 connect_why[384];
	struct bufferevent		*bev;
	int				 in_tls;
	int				 greeted;
	size_t				 nlines;	/* of the reply being read */
	/* RFC 5321 4.1.1.1: only what the last EHLO offered is used. */
	int				 ext_starttls;
	int				 ext_auth_plain;
	int				 ext_pipelining;
	int				 ext_size;
	int				 ext_8bitmime;
	int				 ext_smtputf8;
	/* The transaction. */
	int				 in_txn;
	struct smtp_client_msg		 msg;
	struct smtp_client_rcpt		*rcpt;
	size_t				 rcpt_sent;
	size_t				 rcpt_answered;
	char				 error[512];
	const char			*refused;
	/* Why the connection ended, for the closed callback. */
	struct event			*closed_ev;
	char				 why[512];
	int				 why_set;
};

static void	smtp_client_enter_state(struct smtp_client *,
		    enum smtp_client_state);
static void	smtp_client_fail(struct smtp_client *, const char *);
static void	smtp_client_failf(struct smtp_client *, const char *, ...)
		    printflike(2, 3);
static void	smtp_client_close(struct smtp_client *, const char *);
static void	smtp_client_printf(struct smtp_client *, const char *, ...)
		    printflike(2, 3);
static void	smtp_client_read(struct bufferevent *, void *);
static void	smtp_client_event(struct bufferevent *, short, void *);
static void	smtp_client_closed(evutil_socket_t, short, void *);

int
smtp_client_smarthost(const char *sh, enum smarthost_tls mode, char *host,
    size_t hostlen, char *port, size_t portlen)
{
	const char	*colon, *end, *h;
	size_t		 n;
	uint64_t	 p;
	int		 w;

	if (sh == NULL || *sh == '\0' || hostlen == 0)
		return -1;
	if (sh[0] == '[') {
		if ((end = strchr(sh, ']')) == NULL)
			return -1;
		h = sh + 1;
		n = (size_t)(end - h);
		if (end[1] != '\0' && end[1] != ':')
			return -1;
		colon = end[1] == ':' ? end + 1 : NULL;
	} else {
		colon = strrchr(sh, ':');
		if (colon != NULL && strchr(sh, ':') != colon)
			return -1;	/* a bare IPv6 address needs brackets */
		h = sh;
		n = colon != NULL ? (size_t)(colon - sh) : strlen(sh);
	}
	if (n == 0 || n >= hostlen)
		return -1;
	memcpy(host, h, n);
	host[n] = '\0';
	if (colon == NULL)
		/* RFC 8314 3.3 for implicit TLS; port 25 between MTAs. */
		p = mode == SMARTHOST_TLS ? 465 : 25;
	else if (parse_u64(colon + 1, 65535, &p) == -1 || p == 0)
		return -1;
	w = snprintf(port, portlen, "%llu", (unsigned long long)p);
	return w < 0 || (size_t)w >= portlen ? -1 : 0;
}

/* ---- the connection ---- */

static void
smtp_client_printf(struct smtp_client *c, const char *fmt, ...)
{
	struct evbuffer	*out = bufferevent_get_output(c->bev);
	va_list		 ap;

	va_start(ap, fmt);
	evbuffer_add_vprintf(out, fmt, ap);
	va_end(ap);
	evbuffer_add(out, "\r\n", 2);
}

static void
smtp_client_setup_bev(struct smtp_client *c)
{
	bufferevent_setcb(c->bev, smtp_client_read, NULL, smtp_client_event, c);
	bufferevent_set_timeouts(c->bev, &c->timeout, &c->timeout);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

/* TCP to the next address; after the last one, give up. */
static void
smtp_client_do_connect(struct smtp_client *c)
{
	struct addrinfo	*ai;

	while ((ai = c->ai_next) != NULL) {
		c->ai_next = ai->ai_next;
		if (c->bev != NULL)
			bufferevent_free(c->bev);
		if ((c->bev = bufferevent_socket_new(c->base, -1,
		    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
			snprintf(c->connect_why, sizeof(c->connect_why),
			    "no connection object");
			break;
		}
		smtp_client_setup_bev(c);
		/* The write timeout bounds the connect. */
		if (bufferevent_socket_connect(c->bev, ai->ai_addr,
		    (int)ai->ai_addrlen) == 0)
			return;		/* CONNECTED or an error follows */
		snprintf(c->connect_why, sizeof(c->connect_why), "%s",
		    strerror(errno));
	}
	smtp_client_failf(c, "cannot connect to the smarthost: %s",
	    c->connect_why);
}

static SSL *
smtp_client_ssl(struct smtp_client *c)
{
	SSL	*ssl;
	uint8_t	 addr[16];

	if ((ssl = SSL_new(c->ctx)) == NULL)
		return NULL;
	/* RFC 6066 3: SNI names a host, never an address literal. */
	if (inet_pton(AF_INET, c->host, addr) != 1 &&
	    inet_pton(AF_INET6, c->host, addr) != 1)
		(void)SSL_set_tlsext_host_name(ssl, c->host);
	/* RFC 6125 6.4: the name we asked for must be in the certificate. */
	if (c->cf->smarthost_verify) {
		SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (SSL_set1_host(ssl, c->host) != 1) {
			SSL_free(ssl);
			return NULL;
		}
	}
	return ssl;
}

/* The handshake over the connection (implicit TLS or after STARTTLS). */
static void
smtp_client_do_tls(struct smtp_client *c)
{
	struct bufferevent	*tls;
	SSL			*ssl;

	if ((ssl = smtp_client_ssl(c)) == NULL) {
		smtp_client_failf(c, "TLS set-up failed: %s", tls_error());
		return;
	}
	if ((tls = bufferevent_openssl_filter_new(c->base, c->bev, ssl,
	    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		SSL_free(ssl);
		smtp_client_fail(c, "TLS set-up failed");
		return;
	}
	/* RFC 3207 4.2: nothing read before the handshake counts. */
	c->bev = tls;
	c->in_tls = 1;
	smtp_client_setup_bev(c);
}

/* RFC 4616: "\0user\0password", base64 (RFC 4954 4). */
static void
smtp_client_do_auth(struct smtp_client *c)
{
	const struct conf	*cf = c->cf;
	char			*pw = NULL, *raw, *b64;
	size_t			 pwlen = 0, ulen, rawlen, b64len;
	int			 saved;

	if (cf->smarthost_password_file == NULL ||
	    file_read_all(cf->smarthost_password_file, SMTP_CLIENT_PASSWORD_MAX,
	    &pw, &pwlen) == -1) {
		saved = cf->smarthost_password_file == NULL ? ENOENT : errno;
		smtp_client_failf(c, "cannot read smarthost_password_file %s: %s",
		    cf->smarthost_password_file != NULL ?
		    cf->smarthost_password_file : "(not set)", strerror(saved));
		return;
	}
	/* guestbox.conf(5): the password is the file's first line. */
	rawlen = strcspn(pw, "\r\n");
	ulen = strlen(cf->smarthost_user);
	raw = xsecret_alloc(1 + ulen + 1 + rawlen);
	raw[0] = '\0';
	memcpy(raw + 1, cf->smarthost_user, ulen);
	raw[1 + ulen] = '\0';
	memcpy(raw + 2 + ulen, pw, rawlen);
	rawlen += 2 + ulen;
	sodium_memzero(pw, pwlen);
	free(pw);
	b64len = sodium_base64_ENCODED_LEN(rawlen,
	    sodium_base64_VARIANT_ORIGINAL);
	b64 = xsecret_alloc(b64len);
	sodium_bin2base64(b64, b64len, (const unsigned char *)raw, rawlen,
	    sodium_base64_VARIANT_ORIGINAL);
	xsecret_free(raw);
	smtp_client_printf(c, "AUTH PLAIN %s", b64);
	xsecret_free(b64);
}

/* ---- the transaction ---- */

static size_t
smtp_client_accepted(const struct smtp_client *c)
{
	size_t	 i, n = 0;

	for (i = 0; i < c->msg.nrcpts; i++)
		if (c->rcpt[i].state == RCPT_ACCEPTED)
			n++;
	return n;
}

static void
smtp_client_rcpt_set(struct smtp_client *c, size_t i,
    enum smtp_client_rcpt_state st, const char *reply)
{
	c->rcpt[i].state = st;
	free(c->rcpt[i].reply);
	c->rcpt[i].reply = reply != NULL ? xstrdup(reply) : NULL;
}

/* What a refusal of code means for a recipient. */
static enum smtp_client_rcpt_state
smtp_client_refusal(int code)
{
	return code / 100 == 5 ? RCPT_PERM : RCPT_TEMP;
}

static void
smtp_client_refused(struct smtp_client *c, const char *what, const char *text)
{
	snprintf(c->error, sizeof(c->error), "%s", text);
	c->refused = what;
}

/* The transaction is over: the outcome to the callback, and clear it. */
static void
smtp_client_finish(struct smtp_client *c)
{
	struct smtp_client_rcpt_result	*res;
	struct smtp_client_result	 r;
	size_t				 i;

	if (!c->in_txn)
		return;
	res = xcalloc(c->msg.nrcpts, sizeof(*res));
	memset(&r, 0, sizeof(r));
	for (i = 0; i < c->msg.nrcpts; i++) {
		res[i].reply = c->rcpt[i].reply;
		switch (c->rcpt[i].state) {
		case RCPT_SENT:
			res[i].status = SMTP_CLIENT_SENT;
			r.nsent++;
			break;
		case RCPT_PERM:
			res[i].status = SMTP_CLIENT_PERMFAIL;
			break;
		default:
			res[i].status = SMTP_CLIENT_TEMPFAIL;
			break;
		}
	}
	r.nrcpts = c->msg.nrcpts;
	r.rcpts = res;
	if (r.nsent < r.nrcpts) {
		r.error = c->error[0] != '\0' ? c->error :
		    "the smarthost did not take it";
		r.refused = c->refused;
	}
	c->in_txn = 0;
	c->cb->done(c, &r, c->arg);
	free(res);
	for (i = 0; i < c->msg.nrcpts; i++)
		free(c->rcpt[i].reply);
	free(c->rcpt);
	c->rcpt = NULL;
	memset(&c->msg, 0, sizeof(c->msg));
}

/*
 * MAIL, and with PIPELINING the RCPTs and DATA in the same packet
 * (RFC 2920 3.1); the replies come in order.
 */
static void
smtp_client_do_mail(struct smtp_client *c)
{
	static const char no_utf8[] =
	    "SMTPUTF8 is needed, and the server does not offer it";
	char	 size[32];
	size_t	 i;

	if (c->msg.smtputf8 && !c->ext_smtputf8) {
		/* RFC 6531 3.2: not to a server that does not offer it. */
		for (i = 0; i < c->msg.nrcpts; i++)
			smtp_client_rcpt_set(c, i, RCPT_PERM, no_utf8);
		smtp_client_refused(c, "the sender", no_utf8);
		smtp_client_finish(c);
		smtp_client_enter_state(c, SC_RSET);
		return;
	}
	snprintf(size, sizeof(size), " SIZE=%zu", c->msg.len);
	/* RFC 5321 4.1.1.11: no parameter the server did not offer. */
	smtp_client_printf(c, "MAIL FROM:<%s>%s%s%s", c->msg.from,
	    c->ext_8bitmime ? " BODY=8BITMIME" : "", c->ext_size ? size : "",
	    c->msg.smtputf8 ? " SMTPUTF8" : "");
	if (!c->ext_pipelining)
		return;
	while (c->rcpt_sent < c->msg.nrcpts)
		smtp_client_printf(c, "RCPT TO:<%s>",
		    c->msg.rcpts[c->rcpt_sent++]);
	smtp_client_printf(c, "DATA");
}

/*
 * The message, dot-stuffed (RFC 5321 4.5.2), every line ending in CRLF
 * (2.3.8: never a bare CR or LF); or, if no recipient was accepted, an
 * empty one to end the DATA that PIPELINING sent ahead.
 */
static void
smtp_client_do_body(struct smtp_client *c)
{
	struct evbuffer	*out = bufferevent_get_output(c->bev);
	const char	*p = c->msg.data, *end = p + c->msg.len, *q;

	if (smtp_client_accepted(c) == 0)
		p = end;
	while (p < end) {
		if (*p == '.')
			evbuffer_add(out, ".", 1);
		for (q = p; q < end && *q != '\r' && *q != '\n'; q++)
			;
		evbuffer_add(out, p, (size_t)(q - p));
		evbuffer_add(out, "\r\n", 2);
		if (q + 1 < end && q[0] == '\r' && q[1] == '\n')
			q++;
		p = q < end ? q + 1 : end;
	}
	evbuffer_add(out, ".\r\n", 3);
}

/* ---- the state machine ---- */

static void
smtp_client_enter_state(struct smtp_client *c, enum smtp_client_state new)
{
	log_debug("smtp-client: %s: %s -> %s", c->peer,
	    smtp_client_state_names[c->state], smtp_client_state_names[new]);
	c->state = new;
	switch (new) {
	case SC_INIT:
	case SC_GREETING:
		break;		/* the server speaks first */
	case SC_CONNECT:
		smtp_client_do_connect(c);
		break;
	case SC_TLS:
		smtp_client_do_tls(c);
		break;
	case SC_EHLO:
		c->ext_starttls = c->ext_auth_plain = c->ext_pipelining = 0;
		c->ext_size = c->ext_8bitmime = c->ext_smtputf8 = 0;
		smtp_client_printf(c, "EHLO %s", c->cf->hostname);
		break;
	case SC_STARTTLS:
		smtp_client_printf(c, "STARTTLS");
		break;
	case SC_AUTH:
		smtp_client_do_auth(c);
		break;
	case SC_READY:
		c->cb->ready(c, c->arg);
		break;
	case SC_MAIL:
		smtp_client_do_mail(c);
		break;
	case SC_RCPT:
		if (!c->ext_pipelining)
			smtp_client_printf(c, "RCPT TO:<%s>",
			    c->msg.rcpts[c->rcpt_sent++]);
		break;
	case SC_DATA:
		if (!c->ext_pipelining)
			smtp_client_printf(c, "DATA");
		break;
	case SC_BODY:
		smtp_client_do_body(c);
		break;
	case SC_RSET:
		smtp_client_printf(c, "RSET");
		break;
	case SC_QUIT:
		smtp_client_printf(c, "QUIT");
		break;
	case SC_CLOSED:
		if (c->bev != NULL)
			bufferevent_free(c->bev);
		c->bev = NULL;
		/* From the loop: the owner may free us there. */
		event_active(c->closed_ev, EV_TIMEOUT, 0);
		break;
	}
}

/* A whole reply (its last line): pick the next state. */
static void
smtp_client_reply(struct smtp_client *c, int code, const char *text)
{
	size_t	 i;

	switch (c->state) {
	case SC_GREETING:
		if (code != 220) {
			smtp_client_failf(c, "the smarthost refused the "
			    "connection: %s", text);
			return;
		}
		c->greeted = 1;
		smtp_client_enter_state(c, SC_EHLO);
		return;
	case SC_EHLO:
		if (code != 250) {
			smtp_client_failf(c, "the smarthost refused EHLO: %s",
			    text);
			return;
		}
		if (c->plain) {
			smtp_client_enter_state(c, SC_READY);
			return;
		}
		if (!c->in_tls) {
			/* Never in clear (guestbox.conf(5)): STARTTLS or nothing. */
			if (!c->ext_starttls)
				smtp_client_fail(c, "the smarthost does not "
				    "offer STARTTLS");
			else
				smtp_client_enter_state(c, SC_STARTTLS);
			return;
		}
		if (c->cf->smarthost_user == NULL)
			smtp_client_enter_state(c, SC_READY);
		else if (!c->ext_auth_plain)
			smtp_client_fail(c, "the smarthost does not offer AUTH "
			    "PLAIN");
		else
			smtp_client_enter_state(c, SC_AUTH);
		return;
	case SC_STARTTLS:
		if (code != 220)
			smtp_client_failf(c, "the smarthost refused STARTTLS: %s",
			    text);
		else
			smtp_client_enter_state(c, SC_TLS);
		return;
	case SC_AUTH:
		if (code != 235)
			smtp_client_failf(c, "the smarthost refused the login of "
			    "%s: %s", c->cf->smarthost_user, text);
		else
			smtp_client_enter_state(c, SC_READY);
		return;
	case SC_MAIL:
		if (code / 100 != 2) {
			for (i = 0; i < c->msg.nrcpts; i++)
				smtp_client_rcpt_set(c, i,
				    smtp_client_refusal(code), text);
			smtp_client_refused(c, "the sender", text);
			if (!c->ext_pipelining) {
				smtp_client_finish(c);
				smtp_client_enter_state(c, SC_RSET);
				return;
			}
			/* The RCPTs and DATA sent along get errors too. */
		}
		smtp_client_enter_state(c, SC_RCPT);
		return;
	case SC_RCPT:
		i = c->rcpt_answered++;
		if (i < c->msg.nrcpts && c->rcpt[i].state == RCPT_NONE) {
			smtp_client_rcpt_set(c, i, code / 100 == 2 ?
			    RCPT_ACCEPTED : smtp_client_refusal(code), text);
			if (code / 100 != 2)
				smtp_client_refused(c, "the recipient", text);
		}
		if (c->rcpt_answered < c->msg.nrcpts)
			smtp_client_enter_state(c, SC_RCPT);
		else if (!c->ext_pipelining && smtp_client_accepted(c) == 0) {
			/* Nobody took it: no DATA (RFC 5321 3.3). */
			smtp_client_finish(c);
			smtp_client_enter_state(c, SC_RSET);
		} else
			smtp_client_enter_state(c, SC_DATA);
		return;
	case SC_DATA:
		if (code == 354) {
			smtp_client_enter_state(c, SC_BODY);
			return;
		}
		/*
		 * DATA refused: the recipients RCPT took have not got the
		 * message; they fail as the reply says.
		 */
		if (smtp_client_accepted(c) > 0) {
			for (i = 0; i < c->msg.nrcpts; i++)
				if (c->rcpt[i].state == RCPT_ACCEPTED)
					smtp_client_rcpt_set(c, i,
					    smtp_client_refusal(code), text);
			smtp_client_refused(c, "DATA", text);
		}
		smtp_client_finish(c);
		smtp_client_enter_state(c, SC_RSET);
		return;
	case SC_BODY:
		/* The answer for every recipient that RCPT accepted. */
		for (i = 0; i < c->msg.nrcpts; i++) {
			if (c->rcpt[i].state != RCPT_ACCEPTED)
				continue;
			smtp_client_rcpt_set(c, i, code / 100 == 2 ? RCPT_SENT :
			    smtp_client_refusal(code), text);
			if (code / 100 != 2)
				smtp_client_refused(c, "the message", text);
		}
		smtp_client_finish(c);
		smtp_client_enter_state(c, SC_READY);
		return;
	case SC_RSET:
		smtp_client_enter_state(c, SC_READY);
		return;
	case SC_QUIT:
		smtp_client_close(c, NULL);
		return;
	default:
		return;		/* e.g. a 421 while idle: the EOF follows */
	}
}

/* EHLO keywords (RFC 5321 4.1.1.1), matched whole. */
static int
smtp_client_word(const char *s, const char *word)
{
	size_t	 n = strlen(word);

	return strncasecmp(s, word, n) == 0 && (s[n] == '\0' || s[n] == ' ');
}

static void
smtp_client_ehlo_line(struct smtp_client *c, const char *kw)
{
	if (smtp_client_word(kw, "STARTTLS"))
		c->ext_starttls = 1;
	else if (smtp_client_word(kw, "PIPELINING"))
		c->ext_pipelining = 1;
	else if (smtp_client_word(kw, "SIZE"))
		c->ext_size = 1;
	else if (smtp_client_word(kw, "8BITMIME"))
		c->ext_8bitmime = 1;
	else if (smtp_client_word(kw, "SMTPUTF8"))
		c->ext_smtputf8 = 1;
	else if (strncasecmp(kw, "AUTH", 4) == 0 &&
	    (kw[4] == ' ' || kw[4] == '=')) {
		/* RFC 4954 3: a list of mechanisms ("AUTH=" is older). */
		for (kw += 5; *kw != '\0'; kw += strcspn(kw, " "),
		    kw += strspn(kw, " "))
			if (smtp_client_word(kw, "PLAIN"))
				c->ext_auth_plain = 1;
	}
}

/* One line of a reply (RFC 5321 4.2.1: "250-" continues, "250 " ends). */
static void
smtp_client_line(struct smtp_client *c, char *line, size_t len)
{
	size_t	 i;

	if (len > SMTP_CLIENT_LINE_MAX) {
		smtp_client_fail(c, "the smarthost's reply line is too long");
		return;
	}
	if (len < 3 || line[0] < '2' || line[0] > '5' ||
	    !isdigit((unsigned char)line[1]) ||
	    !isdigit((unsigned char)line[2]) ||
	    (len > 3 && line[3] != ' ' && line[3] != '-')) {
		smtp_client_fail(c, "the smarthost's reply is not SMTP");
		return;
	}
	/* The text goes to logs and bounce reports. */
	for (i = 0; i < len; i++)
		if (!isprint((unsigned char)line[i]))
			line[i] = '?';
	if (c->state == SC_EHLO && c->nlines > 0 && len > 4)
		smtp_client_ehlo_line(c, line + 4);
	if (len > 3 && line[3] == '-') {
		if (++c->nlines >= SMTP_CLIENT_REPLY_LINES)
			smtp_client_fail(c, "the smarthost's reply is too long");
		return;
	}
	c->nlines = 0;
	smtp_client_reply(c, atoi(line), line);
}

static void
smtp_client_read(struct bufferevent *bev, void *arg)
{
	struct smtp_client	*c = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);
	char			*line;
	size_t			 len;

	/* Each reply may close the connection or wrap it in TLS. */
	while (c->state != SC_CLOSED && bev == c->bev &&
	    (line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF)) != NULL) {
		smtp_client_line(c, line, len);
		free(line);
	}
	if (c->state != SC_CLOSED && bev == c->bev &&
	    evbuffer_get_length(in) > SMTP_CLIENT_LINE_MAX)
		smtp_client_fail(c, "the smarthost's reply line is too long");
}

/*
 * Why the handshake failed.  The bufferevent took the error off
 * OpenSSL's queue already (tls_error() finds it empty); a failed
 * certificate check is best told by the verification result.
 */
static void
smtp_client_tls_why(struct bufferevent *bev, unsigned long err, char *why,
    size_t len)
{
	SSL	*ssl = bufferevent_openssl_get_ssl(bev);
	long	 vr;
	char	 buf[256];

	if (ssl != NULL && (vr = SSL_get_verify_result(ssl)) != X509_V_OK) {
		snprintf(why, len, "TLS with the smarthost failed: certificate "
		    "verify failed: %s", X509_verify_cert_error_string(vr));
		return;
	}
	ERR_error_string_n(err, buf, sizeof(buf));
	snprintf(why, len, "TLS with the smarthost failed: %.200s", buf);
	(void)tls_error();	/* anything else queued goes too */
}

static void
smtp_client_event(struct bufferevent *bev, short what, void *arg)
{
	struct smtp_client	*c = arg;
	char			 why[256];
	unsigned long		 err;
	int			 e = EVUTIL_SOCKET_ERROR();

	if (what & BEV_EVENT_CONNECTED) {
		if (c->state == SC_CONNECT)
			smtp_client_enter_state(c, !c->plain &&
			    c->cf->smarthost_tls == SMARTHOST_TLS ? SC_TLS :
			    SC_GREETING);
		else if (c->state == SC_TLS)
			/* RFC 3207 4.2: after STARTTLS, EHLO again. */
			smtp_client_enter_state(c, c->greeted ? SC_EHLO :
			    SC_GREETING);
		return;
	}
	if (c->state == SC_CONNECT) {
		/* The next address, if there is one. */
		snprintf(c->connect_why, sizeof(c->connect_why), "%s",
		    what & BEV_EVENT_TIMEOUT ? strerror(ETIMEDOUT) :
		    evutil_socket_error_to_string(e));
		smtp_client_enter_state(c, SC_CONNECT);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT)
		snprintf(why, sizeof(why), "timeout talking to the smarthost");
	else if (what & BEV_EVENT_EOF)
		snprintf(why, sizeof(why), "the smarthost closed the connection");
	else if (c->in_tls && (err = bufferevent_get_openssl_error(bev)) != 0 &&
	    ERR_GET_LIB(err) != 0)
		smtp_client_tls_why(bev, err, why, sizeof(why));
	/* (Library 0: libevent's SSL_ERROR_SYSCALL; errno says more.) */
	else if (e == 0)
		/* A TLS connection closed without close_notify. */
		snprintf(why, sizeof(why), "the smarthost closed the connection");
	else
		snprintf(why, sizeof(why), "connection to the smarthost failed: %s",
		    evutil_socket_error_to_string(e));
	/* Idle or saying goodbye: nothing was lost. */
	if (c->state == SC_READY || c->state == SC_QUIT)
		smtp_client_close(c, NULL);
	else
		smtp_client_fail(c, why);
}

static void
smtp_client_close(struct smtp_client *c, const char *why)
{
	if (c->state == SC_CLOSED)
		return;
	c->why_set = why != NULL;
	snprintf(c->why, sizeof(c->why), "%s", why != NULL ? why : "");
	smtp_client_enter_state(c, SC_CLOSED);
}

/* The connection is unusable: what is unanswered failed temporarily. */
static void
smtp_client_fail(struct smtp_client *c, const char *why)
{
	if (c->state == SC_CLOSED)
		return;
	if (c->in_txn) {
		snprintf(c->error, sizeof(c->error), "%s", why);
		c->refused = NULL;
		smtp_client_finish(c);
	}
	smtp_client_close(c, why);
}

static void
smtp_client_failf(struct smtp_client *c, const char *fmt, ...)
{
	char	 why[512];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	smtp_client_fail(c, why);
}

static void
smtp_client_closed(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_client	*c = arg;

	(void)fd;
	(void)what;
	c->cb->closed(c, c->why_set ? c->why : NULL, c->arg);
}

/* ---- the interface ---- */

struct smtp_client *
smtp_client_new(struct event_base *base, const struct conf *cf, SSL_CTX *ctx,
    int timeout, const struct smtp_client_cb *cb, void *arg, char *err,
    size_t errlen)
{
	return smtp_client_new_to(base, cf, NULL, ctx, timeout, cb, arg, err,
	    errlen);
}

struct smtp_client *
smtp_client_new_to(struct event_base *base, const struct conf *cf,
    const char *plain_to, SSL_CTX *ctx, int timeout,
    const struct smtp_client_cb *cb, void *arg, char *err, size_t errlen)
{
	struct smtp_client	*c;
	const char		*to = plain_to != NULL ? plain_to : cf->smarthost;

	c = xcalloc(1, sizeof(*c));
	c->plain = plain_to != NULL;
	if (smtp_client_smarthost(to, c->plain ? SMARTHOST_STARTTLS :
	    cf->smarthost_tls, c->host, sizeof(c->host), c->port,
	    sizeof(c->port)) == -1) {
		snprintf(err, errlen, "%s \"%s\" is not HOST:PORT",
		    c->plain ? "gateway_reinject" : "smarthost",
		    to != NULL ? to : "");
		free(c);
		return NULL;
	}
	snprintf(c->peer, sizeof(c->peer), "%s%s%s:%s",
	    strchr(c->host, ':') != NULL ? "[" : "", c->host,
	    strchr(c->host, ':') != NULL ? "]" : "", c->port);
	c->base = base;
	c->cf = cf;
	c->ctx = ctx;
	c->timeout.tv_sec = timeout;
	c->cb = cb;
	c->arg = arg;
	c->state = SC_INIT;
	if ((c->closed_ev = event_new(base, -1, 0, smtp_client_closed,
	    c)) == NULL)
		fatalx("smtp-client: event_new failed");
	return c;
}

void
smtp_client_connect(struct smtp_client *c)
{
	struct addrinfo	 hints;
	int		 gai;

	if (c->state != SC_INIT)
		return;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	/* Blocking, as it was: one host, looked up once a connection. */
	if ((gai = getaddrinfo(c->host, c->port, &hints, &c->ai)) != 0) {
		snprintf(c->connect_why, sizeof(c->connect_why), "%s: %s",
		    c->host, gai_strerror(gai));
		c->ai = NULL;
	}
	c->ai_next = c->ai;
	smtp_client_enter_state(c, SC_CONNECT);
}

int
smtp_client_send(struct smtp_client *c, const struct smtp_client_msg *m)
{
	if (c->state != SC_READY || m->nrcpts == 0)
		return -1;
	c->msg = *m;
	c->rcpt = xcalloc(m->nrcpts, sizeof(*c->rcpt));
	c->rcpt_sent = c->rcpt_answered = 0;
	c->error[0] = '\0';
	c->refused = NULL;
	c->in_txn = 1;
	smtp_client_enter_state(c, SC_MAIL);
	return 0;
}

void
smtp_client_quit(struct smtp_client *c)
{
	if (c->state == SC_READY)
		smtp_client_enter_state(c, SC_QUIT);
}

const char *
smtp_client_peer(const struct smtp_client *c)
{
	return c->peer;
}

void
smtp_client_free(struct smtp_client **cp)
{
	struct smtp_client	*c = *cp;
	size_t			 i;

	if (c == NULL)
		return;
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	for (i = 0; c->rcpt != NULL && i < c->msg.nrcpts; i++)
		free(c->rcpt[i].reply);
	free(c->rcpt);
	if (c->ai != NULL)
		freeaddrinfo(c->ai);
	event_free(c->closed_ev);
	free(c);
	*cp = NULL;
}

/* ---- the blocking wrapper ---- */

/* Seconds to wait for the reply to QUIT once the message is taken. */
#define SMTP_CLIENT_QUIT_WAIT	5

struct smtp_client_wait {
	struct event_base	*base;
	struct event		*quit_timer;
	struct smtp_client_msg	*msgs;
	struct smtp_client_outcome *out;
	size_t			 nmsgs;
	size_t			 next;		/* the next message to send */
	size_t			 ndone;
	const char		*peer;
	int			 plain;
};

static void
smtp_client_wait_ready(struct smtp_client *c, void *arg)
{
	struct smtp_client_wait	*w = arg;
	struct timeval		 tv = { SMTP_CLIENT_QUIT_WAIT, 0 };

	while (w->next < w->nmsgs) {
		if (smtp_client_send(c, &w->msgs[w->next++]) == 0)
			return;
		/* No recipients: nothing to send, and nothing lost. */
		w->out[w->next - 1].status = SMTP_CLIENT_SENT;
		w->ndone = w->next;
	}
	/* The outcome is known; a lost QUIT changes nothing. */
	smtp_client_quit(c);
	evtimer_add(w->quit_timer, &tv);
}

static void
smtp_client_wait_done(struct smtp_client *c, const struct smtp_client_result *r,
    void *arg)
{
	struct smtp_client_wait		*w = arg;
	struct smtp_client_outcome	*o = &w->out[w->next - 1];
	size_t				 i;

	(void)c;
	w->ndone = w->next;
	o->status = SMTP_CLIENT_SENT;
	if (r->nsent == r->nrcpts)
		return;
	/* Any temporary failure makes the message's; else it is refused. */
	o->status = SMTP_CLIENT_PERMFAIL;
	for (i = 0; i < r->nrcpts; i++)
		if (r->rcpts[i].status == SMTP_CLIENT_TEMPFAIL)
			o->status = SMTP_CLIENT_TEMPFAIL;
	o->refused = r->refused != NULL;
	if (r->refused != NULL)
		snprintf(o->error, sizeof(o->error), "%s refused %s: %s",
		    w->peer, r->refused, r->error);
	else
		snprintf(o->error, sizeof(o->error), "%s: %s", w->peer,
		    r->error);
}

static void
smtp_client_wait_closed(struct smtp_client *c, const char *why, void *arg)
{
	struct smtp_client_wait	*w = arg;
	size_t			 i;

	(void)c;
	/* What was not answered did not go. */
	for (i = w->ndone; i < w->nmsgs; i++) {
		w->out[i].status = SMTP_CLIENT_TEMPFAIL;
		snprintf(w->out[i].error, sizeof(w->out[i].error), "%s: %s",
		    w->peer, why != NULL ? why : w->plain ? "the server closed "
		    "the connection" : "the smarthost closed the connection");
	}
	event_base_loopbreak(w->base);
}

static void
smtp_client_wait_timer(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_client_wait	*w = arg;

	(void)fd;
	(void)what;
	event_base_loopbreak(w->base);
}

static const struct smtp_client_cb smtp_client_wait_cb = {
	.ready = smtp_client_wait_ready,
	.done = smtp_client_wait_done,
	.closed = smtp_client_wait_closed,
};

int
smtp_client_send_list_wait(const struct conf *cf, const char *plain_to,
    struct smtp_client_msg *msgs, struct smtp_client_outcome *out, size_t n)
{
	struct smtp_client_wait	 w;
	struct smtp_client	*c = NULL;
	struct sigaction	 sa, osa;
	SSL_CTX			*ctx = NULL;
	char			 why[256], err[256];
	size_t			 i;
	int			 ret = 0;

	memset(&w, 0, sizeof(w));
	w.msgs = msgs;
	w.out = out;
	w.nmsgs = n;
	w.plain = plain_to != NULL;
	for (i = 0; i < n; i++) {
		out[i].status = SMTP_CLIENT_TEMPFAIL;
		snprintf(out[i].error, sizeof(out[i].error), "not sent");
	}
	if (plain_to == NULL && (ctx = tls_client_ctx(cf->smarthost_verify,
	    cf->smarthost_ca, why, sizeof(why))) == NULL) {
		for (i = 0; i < n; i++)
			snprintf(out[i].error, sizeof(out[i].error), "TLS: %s",
			    why);
		return -1;
	}
	if ((w.base = event_base_new()) == NULL)
		fatalx("smtp-client: event_base_new failed");
	w.quit_timer = evtimer_new(w.base, smtp_client_wait_timer, &w);
	if ((c = smtp_client_new_to(w.base, cf, plain_to, ctx,
	    SMTP_CLIENT_TIMEOUT, &smtp_client_wait_cb, &w, err,
	    sizeof(err))) != NULL) {
		w.peer = c->peer;
		/* A server that hangs up must give an error, not a SIGPIPE. */
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_IGN;
		sigaction(SIGPIPE, &sa, &osa);
		smtp_client_connect(c);
		event_base_dispatch(w.base);
		sigaction(SIGPIPE, &osa, NULL);
		smtp_client_free(&c);
	} else
		for (i = 0; i < n; i++)
			snprintf(out[i].error, sizeof(out[i].error), "%s", err);
	event_free(w.quit_timer);
	event_base_free(w.base);
	if (ctx != NULL)
		SSL_CTX_free(ctx);
	for (i = 0; i < n; i++)
		if (out[i].status != SMTP_CLIENT_SENT)
			ret = -1;
	return ret;
}

int
smtp_client_send_wait(const struct conf *cf, const char *from,
    const char *rcpt, const char *msg, size_t len, char *err, size_t errlen)
{
	struct smtp_client_msg		 m;
	struct smtp_client_outcome	 o;

	memset(&m, 0, sizeof(m));
	m.from = from;
	m.rcpts = &rcpt;
	m.nrcpts = 1;
	m.data = msg;
	m.len = len;
	if (smtp_client_send_list_wait(cf, NULL, &m, &o, 1) == 0)
		return 0;
	if (o.refused)
		snprintf(err, errlen, "the smarthost %s", o.error);
	else
		snprintf(err, errlen, "%s", o.error);
	return -1;
}
