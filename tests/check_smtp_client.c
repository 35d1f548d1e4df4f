/*
 * check_smtp_client.c: unit tests of daemon/smtp-client.h: the one rule
 * for the smarthost's host and port, and that every user of the client
 * follows it (issue 12: invitations went to 465, the relay to 25); and
 * the engine's conversation with a scripted smarthost in a thread
 * (STARTTLS and implicit TLS, AUTH PLAIN, PIPELINING, per-recipient
 * results, refusals, dot-stuffing, replies that are not SMTP).
 */
#include "config.h"

#include <sys/socket.h>

#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <event2/event.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "conf.h"
#include "log.h"
#include "smtp-client.h"
#include "tls.h"
#include "xmalloc.h"
#include "check-util.h"

Suite	*smtp_client_suite(void);

static char	 host[256], port[8];

static void
hostport_ok(const char *spec, enum smarthost_tls mode, const char *h,
    const char *p)
{
	ck_assert_msg(smtp_client_smarthost(spec, mode, host, sizeof(host),
	    port, sizeof(port)) == 0, "\"%s\" refused", spec);
	ck_assert_str_eq(host, h);
	ck_assert_str_eq(port, p);
}

static void
hostport_bad(const char *spec)
{
	ck_assert_msg(smtp_client_smarthost(spec, SMARTHOST_STARTTLS, host,
	    sizeof(host), port, sizeof(port)) == -1, "\"%s\" taken", spec);
}

static struct conf *
conf_of(const char *text)
{
	struct conf	*cf;
	char		 err[512];

	cf = conf_parse("test.conf", text, strlen(text), err, sizeof(err));
	ck_assert_msg(cf != NULL, "\"%s\": %s", text, err);
	return cf;
}

/* ---- the port rule ---- */

START_TEST(test_default_ports)
{
	/* RFC 8314 3.3: implicit TLS is 465; STARTTLS between MTAs 25. */
	hostport_ok("mail.example", SMARTHOST_TLS, "mail.example", "465");
	hostport_ok("mail.example", SMARTHOST_STARTTLS, "mail.example", "25");
	hostport_ok("[::1]", SMARTHOST_TLS, "::1", "465");
	hostport_ok("[::1]", SMARTHOST_STARTTLS, "::1", "25");
	hostport_ok("127.0.0.1", SMARTHOST_TLS, "127.0.0.1", "465");
}
END_TEST

START_TEST(test_explicit_ports)
{
	hostport_ok("mail.example:587", SMARTHOST_TLS, "mail.example", "587");
	hostport_ok("mail.example:587", SMARTHOST_STARTTLS, "mail.example",
	    "587");
	hostport_ok("[2001:db8::1]:2525", SMARTHOST_TLS, "2001:db8::1", "2525");
	hostport_ok("mail.example:65535", SMARTHOST_TLS, "mail.example",
	    "65535");
	hostport_ok("mail.example:0025", SMARTHOST_TLS, "mail.example", "25");
}
END_TEST

START_TEST(test_garbled)
{
	char	 small[4], long_host[300];

	hostport_bad(NULL);
	hostport_bad("");
	hostport_bad(":25");
	hostport_bad("mail.example:");
	hostport_bad("mail.example:0");
	hostport_bad("mail.example:65536");
	hostport_bad("mail.example:25x");
	hostport_bad("mail.example:-1");
	hostport_bad("::1");		/* IPv6 needs brackets */
	hostport_bad("2001:db8::1:25");
	hostport_bad("[::1");
	hostport_bad("[::1]25");
	hostport_bad("[]:25");
	/* Too long for the caller's buffer: refused, never cut short. */
	ck_assert_int_eq(smtp_client_smarthost("mail.example", SMARTHOST_TLS,
	    small, sizeof(small), port, sizeof(port)), -1);
	memset(long_host, 'a', sizeof(long_host) - 1);
	long_host[sizeof(long_host) - 1] = '\0';
	hostport_bad(long_host);
}
END_TEST

/* ---- the users follow it ---- */

static void
nop_ready(struct smtp_client *c, void *arg)
{
	(void)c;
	(void)arg;
}

static void
nop_done(struct smtp_client *c, const struct smtp_client_result *r, void *arg)
{
	(void)c;
	(void)r;
	(void)arg;
}

static void
nop_closed(struct smtp_client *c, const char *why, void *arg)
{
	(void)c;
	(void)why;
	(void)arg;
}

static const struct smtp_client_cb nop_cb = {
	.ready = nop_ready,
	.done = nop_done,
	.closed = nop_closed,
};

START_TEST(test_new_refuses_garbled)
{
	struct event_base	*base = event_base_new();
	struct conf		*cf = conf_of("smarthost = mail.example:x\n");
	struct smtp_client	*c;
	char			 err[256];

	c = smtp_client_new(base, cf, NULL, 5, &nop_cb, NULL, err, sizeof(err));
	ck_assert_ptr_null(c);
	ck_assert_str_eq(err, "smarthost \"mail.example:x\" is not HOST:PORT");
	conf_free(&cf);
	event_base_free(base);
}
END_TEST

/*
 * The blocking wrapper of the invitation and expiry mails goes where the
 * rule says: with implicit TLS and no port, to 465 (nothing listens
 * there, or not for us: the error names the peer either way).
 */
START_TEST(test_wait_uses_the_rule)
{
	struct conf	*cf = conf_of("smarthost = 127.0.0.1\n"
	    "smarthost_tls = tls\n");
	char		 err[512];
	const char	*msg = "Subject: x\r\n\r\nbody\r\n";

	ck_assert_int_eq(smtp_client_send_wait(cf, "a@example.org",
	    "b@example.org", msg, strlen(msg), err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "127.0.0.1:465") != NULL, "error: %s", err);
	conf_free(&cf);
}
END_TEST

/* ---- the engine against a scripted smarthost ---- */

/*
 * The smarthost: one connection, answers chosen per test, everything
 * the client sent in transcript (lines) and body (the raw DATA).
 */
struct fake {
	SSL_CTX		*ctx;
	int		 lfd;
	int		 fd;
	SSL		*ssl;
	int		 port;
	int		 implicit_tls;
	pthread_t	 thread;
	const char	*greeting;
	const char	*ehlo_plain;
	const char	*ehlo_tls;
	const char	*mail_reply;
	const char	*rcpt_reply[4];
	const char	*data_reply;
	const char	*eom_reply;
	int		 nrcpt;
	char		 transcript[8192];
	char		 body[8192];
};

/* The client's outcome. */
struct outcome {
	struct event_base	*base;
	struct smtp_client_msg	 msg;
	int			 started;
	int			 ndone;
	size_t			 nsent;
	enum smtp_client_status	 status[4];
	char			 reply[4][128];
	char			 error[256];
	char			 refused[32];
	int			 closed;
	char			 why[256];
};

static SSL_CTX *
fake_ctx(void)
{
	SSL_CTX		*ctx = SSL_CTX_new(TLS_server_method());
	EVP_PKEY	*pkey = EVP_EC_gen("P-256");
	X509		*x = X509_new();
	X509_NAME	*name;

	ck_assert_ptr_nonnull(ctx);
	ck_assert_ptr_nonnull(pkey);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, pkey);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"fake.test", -1, -1, 0);
	X509_set_issuer_name(x, name);
	ck_assert_int_ne(X509_sign(x, pkey, EVP_sha256()), 0);
	ck_assert_int_eq(SSL_CTX_use_certificate(ctx, x), 1);
	ck_assert_int_eq(SSL_CTX_use_PrivateKey(ctx, pkey), 1);
	X509_free(x);
	EVP_PKEY_free(pkey);
	return ctx;
}

static int
fake_getc(struct fake *f)
{
	unsigned char	 ch;
	int		 n;

	n = f->ssl != NULL ? SSL_read(f->ssl, &ch, 1) : (int)read(f->fd, &ch, 1);
	return n == 1 ? ch : -1;
}

static void
fake_put(struct fake *f, const char *s)
{
	char	 line[1024];
	int	 n;

	/* A reply without CRLF gets one; a multi-line one has its own. */
	n = snprintf(line, sizeof(line), "%s%s", s, strstr(s, "\r\n") != NULL ?
	    "" : "\r\n");
	if (f->ssl != NULL)
		(void)SSL_write(f->ssl, line, n);
	else if (write(f->fd, line, (size_t)n) != n)
		return;		/* the client went: its test says so */
}

static int
fake_line(struct fake *f, char *buf, size_t len)
{
	size_t	 n = 0;
	int	 ch;

	while ((ch = fake_getc(f)) != -1 && ch != '\n')
		if (n + 1 < len)
			buf[n++] = (char)ch;
	if (ch == -1)
		return -1;
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	return 0;
}

static int
fake_tls(struct fake *f)
{
	f->ssl = SSL_new(f->ctx);
	SSL_set_fd(f->ssl, f->fd);
	return SSL_accept(f->ssl) == 1 ? 0 : -1;
}

static void *
fake_run(void *arg)
{
	struct fake	*f = arg;
	char		 line[1024];
	size_t		 n;
	int		 ch;

	if ((f->fd = accept(f->lfd, NULL, NULL)) == -1)
		return NULL;
	if (f->implicit_tls && fake_tls(f) == -1)
		goto out;
	fake_put(f, f->greeting != NULL ? f->greeting : "220 fake.test ESMTP");
	while (fake_line(f, line, sizeof(line)) == 0) {
		strncat(f->transcript, line, sizeof(f->transcript) -
		    strlen(f->transcript) - 2);
		strcat(f->transcript, "\n");
		if (strncmp(line, "EHLO ", 5) == 0)
			fake_put(f, f->ssl != NULL ? f->ehlo_tls : f->ehlo_plain);
		else if (strcmp(line, "STARTTLS") == 0) {
			fake_put(f, "220 2.0.0 go ahead");
			if (fake_tls(f) == -1)
				break;
		} else if (strncmp(line, "AUTH ", 5) == 0)
			fake_put(f, "235 2.7.0 ok");
		else if (strncmp(line, "MAIL ", 5) == 0)
			fake_put(f, f->mail_reply != NULL ? f->mail_reply :
			    "250 2.1.0 ok");
		else if (strncmp(line, "RCPT ", 5) == 0) {
			fake_put(f, f->nrcpt < 4 && f->rcpt_reply[f->nrcpt] !=
			    NULL ? f->rcpt_reply[f->nrcpt] : "250 2.1.5 ok");
			f->nrcpt++;
		} else if (strcmp(line, "DATA") == 0) {
			fake_put(f, f->data_reply != NULL ? f->data_reply :
			    "354 go ahead");
			if (f->data_reply != NULL && f->data_reply[0] != '3')
				continue;
			/* The raw data, up to and with the final dot. */
			for (n = 0; n + 1 < sizeof(f->body) &&
			    (ch = fake_getc(f)) != -1; ) {
				f->body[n++] = (char)ch;
				f->body[n] = '\0';
				if (strcmp(f->body, ".\r\n") == 0 || (n >= 5 &&
				    strcmp(f->body + n - 5, "\r\n.\r\n") == 0))
					break;
			}
			fake_put(f, f->eom_reply != NULL ? f->eom_reply :
			    "250 2.0.0 queued as 42");
		} else if (strcmp(line, "RSET") == 0)
			fake_put(f, "250 2.0.0 ok");
		else if (strcmp(line, "QUIT") == 0) {
			fake_put(f, "221 2.0.0 bye");
			break;
		} else
			fake_put(f, "502 5.5.2 what?");
	}
out:
	if (f->ssl != NULL) {
		SSL_shutdown(f->ssl);
		SSL_free(f->ssl);
	}
	close(f->fd);
	return NULL;
}

static void
fake_start(struct fake *f)
{
	struct sockaddr_in	 sin;
	socklen_t		 sl = sizeof(sin);

	f->ctx = fake_ctx();
	f->lfd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ne(f->lfd, -1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(f->lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(f->lfd, 1), 0);
	ck_assert_int_eq(getsockname(f->lfd, (struct sockaddr *)&sin, &sl), 0);
	f->port = ntohs(sin.sin_port);
	ck_assert_int_eq(pthread_create(&f->thread, NULL, fake_run, f), 0);
}

static void
fake_stop(struct fake *f)
{
	pthread_join(f->thread, NULL);
	close(f->lfd);
	SSL_CTX_free(f->ctx);
}

static void
outcome_ready(struct smtp_client *c, void *arg)
{
	struct outcome	*o = arg;

	if (!o->started) {
		o->started = 1;
		ck_assert_int_eq(smtp_client_send(c, &o->msg), 0);
	} else
		smtp_client_quit(c);
}

static void
outcome_done(struct smtp_client *c, const struct smtp_client_result *r,
    void *arg)
{
	struct outcome	*o = arg;
	size_t		 i;

	(void)c;
	o->ndone++;
	o->nsent = r->nsent;
	ck_assert_uint_eq(r->nrcpts, o->msg.nrcpts);
	for (i = 0; i < r->nrcpts && i < 4; i++) {
		o->status[i] = r->rcpts[i].status;
		snprintf(o->reply[i], sizeof(o->reply[i]), "%s",
		    r->rcpts[i].reply != NULL ? r->rcpts[i].reply : "(none)");
	}
	snprintf(o->error, sizeof(o->error), "%s", r->error != NULL ?
	    r->error : "(none)");
	snprintf(o->refused, sizeof(o->refused), "%s", r->refused != NULL ?
	    r->refused : "(none)");
}

static void
outcome_closed(struct smtp_client *c, const char *why, void *arg)
{
	struct outcome	*o = arg;

	(void)c;
	o->closed = 1;
	snprintf(o->why, sizeof(o->why), "%s", why != NULL ? why : "(none)");
	event_base_loopbreak(o->base);
}

static const struct smtp_client_cb outcome_cb = {
	.ready = outcome_ready,
	.done = outcome_done,
	.closed = outcome_closed,
};

static const char *const rcpts3[] = {
	"a@example.org", "b@example.org", "c@example.org",
};

/* Runs the engine against f with extra configuration lines. */
static void
converse(struct fake *f, struct outcome *o, const char *extra,
    const char *data, size_t nrcpts)
{
	struct smtp_client	*c;
	struct conf		*cf;
	SSL_CTX			*ctx;
	char			*text, err[256];

	fake_start(f);
	(void)xasprintf(&text, "hostname = client.test\n"
	    "smarthost = 127.0.0.1:%d\nsmarthost_verify = no\n%s", f->port,
	    extra != NULL ? extra : "");
	cf = conf_of(text);
	free(text);
	ctx = tls_client_ctx(0, NULL, err, sizeof(err));
	ck_assert_ptr_nonnull(ctx);
	memset(o, 0, sizeof(*o));
	o->base = event_base_new();
	o->msg.from = "from@example.org";
	o->msg.rcpts = rcpts3;
	o->msg.nrcpts = nrcpts;
	o->msg.data = data;
	o->msg.len = strlen(data);
	c = smtp_client_new(o->base, cf, ctx, 10, &outcome_cb, o, err,
	    sizeof(err));
	ck_assert_ptr_nonnull(c);
	smtp_client_connect(c);
	event_base_dispatch(o->base);
	ck_assert_int_eq(o->closed, 1);
	smtp_client_free(&c);
	/* The socket closes with the base: a server waiting reads EOF. */
	event_base_free(o->base);
	fake_stop(f);
	SSL_CTX_free(ctx);
	conf_free(&cf);
}

#define EHLO_STARTTLS	"250-fake.test\r\n250-SIZE 100000\r\n250 STARTTLS\r\n"
#define EHLO_FULL	"250-fake.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n" \
			"250-SIZE 100000\r\n250 AUTH LOGIN PLAIN\r\n"
#define EHLO_BARE	"250-fake.test\r\n250 ENHANCEDSTATUSCODES\r\n"

START_TEST(test_per_recipient)
{
	struct fake	 f = { .ehlo_plain = EHLO_STARTTLS,
	    .ehlo_tls = EHLO_FULL,
	    .rcpt_reply = { NULL, "550 5.1.1 no such user",
	    "451 4.3.0 try later" } };
	struct outcome	 o;

	converse(&f, &o, NULL, "Subject: x\r\n\r\nbody\r\n", 3);
	ck_assert_int_eq(o.ndone, 1);
	ck_assert_uint_eq(o.nsent, 1);
	ck_assert_int_eq(o.status[0], SMTP_CLIENT_SENT);
	ck_assert_str_eq(o.reply[0], "250 2.0.0 queued as 42");
	ck_assert_int_eq(o.status[1], SMTP_CLIENT_PERMFAIL);
	ck_assert_str_eq(o.reply[1], "550 5.1.1 no such user");
	ck_assert_int_eq(o.status[2], SMTP_CLIENT_TEMPFAIL);
	ck_assert_str_eq(o.reply[2], "451 4.3.0 try later");
	ck_assert_str_eq(o.refused, "the recipient");
	ck_assert_str_eq(o.error, "451 4.3.0 try later");
	ck_assert_str_eq(o.why, "(none)");	/* QUIT, 221 */
	/* EHLO again after STARTTLS (RFC 3207 4.2); parameters offered. */
	ck_assert_str_eq(f.transcript, "EHLO client.test\nSTARTTLS\n"
	    "EHLO client.test\n"
	    "MAIL FROM:<from@example.org> BODY=8BITMIME SIZE=20\n"
	    "RCPT TO:<a@example.org>\nRCPT TO:<b@example.org>\n"
	    "RCPT TO:<c@example.org>\nDATA\nQUIT\n");
}
END_TEST

START_TEST(test_dot_stuffing)
{
	struct fake	 f = { .ehlo_plain = EHLO_STARTTLS, .ehlo_tls = EHLO_BARE };
	struct outcome	 o;

	/* RFC 5321 4.5.2 and 2.3.8: dots doubled, bare LF and CR made CRLF. */
	converse(&f, &o, NULL, ".one\n..two\r\nthree\rfour\r\n.\nlast", 1);
	ck_assert_uint_eq(o.nsent, 1);
	ck_assert_str_eq(f.body, "..one\r\n...two\r\nthree\r\nfour\r\n..\r\n"
	    "last\r\n.\r\n");
	/* Without those extensions: no MAIL parameters, no pipelining. */
	ck_assert_str_eq(f.transcript, "EHLO client.test\nSTARTTLS\n"
	    "EHLO client.test\nMAIL FROM:<from@example.org>\n"
	    "RCPT TO:<a@example.org>\nDATA\nQUIT\n");
}
END_TEST

START_TEST(test_empty_message)
{
	struct fake	 f = { .ehlo_plain = EHLO_STARTTLS, .ehlo_tls = EHLO_BARE };
	struct outcome	 o;

	converse(&f, &o, NULL, "", 1);
	ck_assert_uint_eq(o.nsent, 1);
	ck_assert_str_eq(f.body, ".\r\n");
}
END_TEST

START_TEST(test_mail_refused)
{
	struct fake	 f = { .ehlo_plain = EHLO_STARTTLS, .ehlo_tls = EHLO_BARE,
	    .mail_reply = "451 4.7.1 greylisted" };
	struct outcome	 o;

	converse(&f, &o, NULL, "x\r\n", 2);
	ck_assert_int_eq(o.ndone, 1);
	ck_assert_uint_eq(o.nsent, 0);
	ck_assert_int_eq(o.status[0], SMTP_CLIENT_TEMPFAIL);
	ck_assert_int_eq(o.status[1], SMTP_CLIENT_TEMPFAIL);
	ck_assert_str_eq(o.reply[1], "451 4.7.1 greylisted");
	ck_assert_str_eq(o.refused, "the sender");
	/* One command at a time: no RCPT after a refused MAIL. */
	ck_assert_str_eq(f.transcript, "EHLO client.test\nSTARTTLS\n"
	    "EHLO client.test\nMAIL FROM:<from@example.org>\nRSET\nQUIT\n");
}
END_TEST

START_TEST(test_nobody_accepted)
{
	struct fake	 f = { .ehlo_plain = EHLO_STARTTLS, .ehlo_tls = EHLO_BARE,
	    .rcpt_reply = { "550 5.1.1 no" } };
	struct outcome	 o;

	converse(&f, &o, NULL, "x\r\n", 1);
	ck_assert_int_eq(o.status[0], SMTP_CLIENT_PERMFAIL);
	/* RFC 5321 3.3: no DATA without a recipient. */
	ck_assert_ptr_null(strstr(f.transcript, "DATA"));
	ck_assert_ptr_nonnull(strstr(f.transcript, "RSET\nQUIT\n"));
}
END_TEST

START_TEST(test_data_refused)
{
	struct fake	 f = { .ehlo_plain = EHLO_STARTTLS, .ehlo_tls = EHLO_FULL,
	    .data_reply = "554 5.7.1 DATA refused by policy" };
	struct outcome	 o;

	converse(&f, &o, NULL, "x\r\n", 2);
	ck_assert_uint_eq(o.nsent, 0);
	ck_assert_int_eq(o.status[0], SMTP_CLIENT_PERMFAIL);
	ck_assert_int_eq(o.status[1], SMTP_CLIENT_PERMFAIL);
	ck_assert_str_eq(o.reply[0], "554 5.7.1 DATA refused by policy");
	ck_assert_str_eq(o.refused, "DATA");
}
END_TEST

START_TEST(test_eom_refused)
{
	struct fake	 f = { .ehlo_plain = EHLO_STARTTLS, .ehlo_tls = EHLO_BARE,
	    .eom_reply = "452 4.3.1 full" };
	struct outcome	 o;

	converse(&f, &o, NULL, "x\r\n", 1);
	ck_assert_int_eq(o.status[0], SMTP_CLIENT_TEMPFAIL);
	ck_assert_str_eq(o.reply[0], "452 4.3.1 full");
	ck_assert_str_eq(o.refused, "the message");
}
END_TEST

START_TEST(test_no_starttls)
{
	struct fake	 f = { .ehlo_plain = EHLO_BARE };
	struct outcome	 o;

	/* Never in clear: no STARTTLS, no mail. */
	converse(&f, &o, NULL, "x\r\n", 1);
	ck_assert_int_eq(o.ndone, 0);
	ck_assert_str_eq(o.why, "the smarthost does not offer STARTTLS");
	ck_assert_str_eq(f.transcript, "EHLO client.test\n");
}
END_TEST

START_TEST(test_not_smtp)
{
	struct fake	 f = { .greeting = "HTTP/1.1 400 Bad Request" };
	struct outcome	 o;

	converse(&f, &o, NULL, "x\r\n", 1);
	ck_assert_str_eq(o.why, "the smarthost's reply is not SMTP");
}
END_TEST

START_TEST(test_greeting_refused)
{
	struct fake	 f = { .greeting = "554 5.3.2 go away" };
	struct outcome	 o;

	converse(&f, &o, NULL, "x\r\n", 1);
	ck_assert_str_eq(o.why, "the smarthost refused the connection: "
	    "554 5.3.2 go away");
}
END_TEST

START_TEST(test_implicit_tls_auth)
{
	struct fake	 f = { .implicit_tls = 1, .ehlo_tls = EHLO_FULL };
	struct outcome	 o;
	char		 pwfile[] = "/tmp/check_smtp_client.XXXXXX", *extra;
	char		 want[128], b64[64];
	int		 fd;

	fd = mkstemp(pwfile);
	ck_assert_int_ne(fd, -1);
	/* guestbox.conf(5): the first line is the password. */
	ck_assert_int_eq(write(fd, "s3cret\nnot this\n", 16), 16);
	close(fd);
	(void)xasprintf(&extra, "smarthost_tls = tls\nsmarthost_user = relay\n"
	    "smarthost_password_file = %s\n", pwfile);
	converse(&f, &o, extra, "x\r\n", 1);
	free(extra);
	unlink(pwfile);
	ck_assert_uint_eq(o.nsent, 1);
	sodium_bin2base64(b64, sizeof(b64), (const unsigned char *)
	    "\0relay\0s3cret", 13, sodium_base64_VARIANT_ORIGINAL);
	snprintf(want, sizeof(want), "EHLO client.test\nAUTH PLAIN %s\n", b64);
	ck_assert_msg(strncmp(f.transcript, want, strlen(want)) == 0,
	    "transcript: %s", f.transcript);
}
END_TEST

START_TEST(test_auth_plain_missing)
{
	struct fake	 f = { .implicit_tls = 1,
	    .ehlo_tls = "250-fake.test\r\n250 AUTH LOGIN XPLAIN\r\n" };
	struct outcome	 o;

	converse(&f, &o, "smarthost_tls = tls\nsmarthost_user = relay\n"
	    "smarthost_password_file = /nonexistent\n", "x\r\n", 1);
	ck_assert_str_eq(o.why, "the smarthost does not offer AUTH PLAIN");
}
END_TEST

START_TEST(test_wait_sends)
{
	struct fake	 f = { .ehlo_plain = EHLO_STARTTLS, .ehlo_tls = EHLO_FULL };
	struct conf	*cf;
	char		*text, err[256];

	fake_start(&f);
	(void)xasprintf(&text, "hostname = client.test\n"
	    "smarthost = 127.0.0.1:%d\nsmarthost_verify = no\n", f.port);
	cf = conf_of(text);
	free(text);
	ck_assert_int_eq(smtp_client_send_wait(cf, "from@example.org",
	    "to@example.org", "Subject: x\n\nhello\n", 18, err, sizeof(err)),
	    0);
	fake_stop(&f);
	ck_assert_str_eq(f.body, "Subject: x\r\n\r\nhello\r\n.\r\n");
	ck_assert_ptr_nonnull(strstr(f.transcript, "RCPT TO:<to@example.org>\n"
	    "DATA\nQUIT\n"));
	conf_free(&cf);
}
END_TEST

START_TEST(test_wait_refused)
{
	struct fake	 f = { .ehlo_plain = EHLO_STARTTLS, .ehlo_tls = EHLO_FULL,
	    .rcpt_reply = { "550 5.1.1 unknown" } };
	struct conf	*cf;
	char		*text, err[256], want[256];

	fake_start(&f);
	(void)xasprintf(&text, "hostname = client.test\n"
	    "smarthost = 127.0.0.1:%d\nsmarthost_verify = no\n", f.port);
	cf = conf_of(text);
	free(text);
	ck_assert_int_eq(smtp_client_send_wait(cf, "from@example.org",
	    "to@example.org", "x\n", 2, err, sizeof(err)), -1);
	fake_stop(&f);
	snprintf(want, sizeof(want), "the smarthost 127.0.0.1:%d refused the "
	    "recipient: 550 5.1.1 unknown", f.port);
	ck_assert_str_eq(err, want);
	conf_free(&cf);
}
END_TEST

Suite *
smtp_client_suite(void)
{
	Suite	*s = suite_create("smtp_client");
	TCase	*tc;

	tc = tcase_create("smarthost");
	tcase_add_test(tc, test_default_ports);
	tcase_add_test(tc, test_explicit_ports);
	tcase_add_test(tc, test_garbled);
	suite_add_tcase(s, tc);

	tc = tcase_create("users");
	tcase_add_test(tc, test_new_refuses_garbled);
	tcase_add_test(tc, test_wait_uses_the_rule);
	suite_add_tcase(s, tc);

	tc = tcase_create("conversation");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_per_recipient);
	tcase_add_test(tc, test_dot_stuffing);
	tcase_add_test(tc, test_empty_message);
	tcase_add_test(tc, test_mail_refused);
	tcase_add_test(tc, test_nobody_accepted);
	tcase_add_test(tc, test_data_refused);
	tcase_add_test(tc, test_eom_refused);
	tcase_add_test(tc, test_no_starttls);
	tcase_add_test(tc, test_not_smtp);
	tcase_add_test(tc, test_greeting_refused);
	tcase_add_test(tc, test_implicit_tls_auth);
	tcase_add_test(tc, test_auth_plain_missing);
	tcase_add_test(tc, test_wait_sends);
	tcase_add_test(tc, test_wait_refused);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	log_init("check_smtp_client", 1, 0);
	if (sodium_init() == -1)
		return EXIT_FAILURE;
	/* The scripted smarthost writes to a client that may have gone. */
	signal(SIGPIPE, SIG_IGN);
	return check_util_run(smtp_client_suite());
}
