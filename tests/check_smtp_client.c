/*
 * check_smtp_client.c: unit tests of daemon/smtp-client.h: the one rule
 * for the smarthost's host and port, and that every user of the client
 * follows it (issue 12: invitations went to 465, the relay to 25).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <event2/event.h>

#include "conf.h"
#include "log.h"
#include "smtp-client.h"

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

	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	log_init("check_smtp_client", 1, 0);
	sr = srunner_create(smtp_client_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
