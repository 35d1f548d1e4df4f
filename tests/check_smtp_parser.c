/*
 * check_smtp_parser.c: the SMTP/LMTP command grammar, the bounded line
 * reader and the AUTH helpers (submitd/smtp-parser.c).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>
#include <event2/buffer.h>

#include "smtp-parser.h"
#include "xmalloc.h"
#include "check-util.h"

Suite	*smtp_parser_suite(void);

static const struct smtp_parse_conf sub_conf = {
	.dialect = SMTP_DIALECT_SUBMISSION,
	.ext = SMTP_EXT_PIPELINING | SMTP_EXT_SIZE | SMTP_EXT_8BITMIME |
	    SMTP_EXT_ENHANCEDSTATUSCODES | SMTP_EXT_AUTH,
	.size_max = 1000000,
};

static const struct smtp_parse_conf lmtp_conf = {
	.dialect = SMTP_DIALECT_LMTP,
	.ext = SMTP_EXT_PIPELINING | SMTP_EXT_SIZE | SMTP_EXT_8BITMIME |
	    SMTP_EXT_ENHANCEDSTATUSCODES,
	.size_max = 0,
};

static const struct smtp_parse_conf gw_conf = {
	.dialect = SMTP_DIALECT_GATEWAY,
	.ext = SMTP_EXT_PIPELINING | SMTP_EXT_SIZE | SMTP_EXT_8BITMIME |
	    SMTP_EXT_ENHANCEDSTATUSCODES | SMTP_EXT_SMTPUTF8,
	.size_max = 0,
};

/* The gateway after a MAIL FROM with SMTPUTF8. */
static const struct smtp_parse_conf gw_utf8_conf = {
	.dialect = SMTP_DIALECT_GATEWAY,
	.ext = SMTP_EXT_PIPELINING | SMTP_EXT_SIZE | SMTP_EXT_8BITMIME |
	    SMTP_EXT_ENHANCEDSTATUSCODES | SMTP_EXT_SMTPUTF8,
	.size_max = 0,
	.smtputf8 = 1,
};

static struct smtp_cmd		 cmd;
static struct smtp_reply	 reply;

/* Parses a C string as a command line; returns smtp_cmd_parse's result. */
static int
parse(const struct smtp_parse_conf *conf, const char *line)
{
	char	 buf[SMTP_LINE_MAX + 1];
	size_t	 n = strlen(line);

	ck_assert_uint_lt(n, sizeof(buf));
	memcpy(buf, line, n + 1);
	return smtp_cmd_parse(buf, n, conf, &cmd, &reply);
}

static void
expect_err(const struct smtp_parse_conf *conf, const char *line, int code,
    const char *enh)
{
	ck_assert_msg(parse(conf, line) == -1, "accepted: %s", line);
	ck_assert_msg(reply.code == code, "%s: got %d %s %s, want %d", line,
	    reply.code, reply.enhanced, reply.text, code);
	ck_assert_str_eq(reply.enhanced, enh);
	ck_assert(reply.text[0] != '\0');
}

static void
expect_ok(const struct smtp_parse_conf *conf, const char *line,
    enum smtp_verb verb)
{
	ck_assert_msg(parse(conf, line) == 0, "%s: refused with %d %s %s",
	    line, reply.code, reply.enhanced, reply.text);
	ck_assert_int_eq(cmd.verb, verb);
	ck_assert_int_eq(reply.code, 0);
}

/* ------------------------------------------------------------------ */
/* The line reader                                                    */
/* ------------------------------------------------------------------ */

/*
 * The line reader's tests share one reader and one input buffer (a
 * checked fixture: each test gets fresh ones).
 */
static struct smtp_line_reader	*lr;
static struct evbuffer		*lin;

static void
line_setup(void)
{
	lr = smtp_line_reader_new();
	lin = evbuffer_new();
}

static void
line_teardown(void)
{
	evbuffer_free(lin);
	smtp_line_reader_free(&lr);
	ck_assert_ptr_null(lr);
}

/* The next line of lin, at most SMTP_LINE_MAX long. */
static enum smtp_line_status
line_next(char **linep, size_t *lenp)
{
	return smtp_line_read(lr, lin, SMTP_LINE_MAX, linep, lenp);
}

START_TEST(line_crlf_and_lf)
{
	char			*line;
	size_t			 len;

	evbuffer_add_printf(lin, "EHLO a\r\nNOOP\nQUIT\r\nPART");
	ck_assert_int_eq(line_next(&line, &len), SMTP_LINE_OK);
	ck_assert_str_eq(line, "EHLO a");
	ck_assert_uint_eq(len, 6);
	ck_assert_int_eq(line_next(&line, &len), SMTP_LINE_OK);
	ck_assert_str_eq(line, "NOOP");
	ck_assert_int_eq(line_next(&line, &len), SMTP_LINE_OK);
	ck_assert_str_eq(line, "QUIT");
	/* A partial line waits, and stays in the buffer. */
	ck_assert_int_eq(line_next(&line, &len), SMTP_LINE_MORE);
	ck_assert_uint_eq(evbuffer_get_length(lin), 4);
	evbuffer_add_printf(lin, "IAL\r\n");
	ck_assert_int_eq(line_next(&line, &len), SMTP_LINE_OK);
	ck_assert_str_eq(line, "PARTIAL");
	ck_assert_int_eq(line_next(&line, &len), SMTP_LINE_MORE);
}
END_TEST

START_TEST(line_exact_limit)
{
	char			*big, *line;
	size_t			 len;

	/* max counts the CRLF: max - 2 octets of text fit, max - 1 do not. */
	big = xmalloc(SMTP_LINE_MAX);
	memset(big, 'a', SMTP_LINE_MAX);
	evbuffer_add(lin, big, SMTP_LINE_MAX - 2);
	evbuffer_add(lin, "\r\n", 2);
	ck_assert_int_eq(line_next(&line, &len), SMTP_LINE_OK);
	ck_assert_uint_eq(len, SMTP_LINE_MAX - 2);
	evbuffer_add(lin, big, SMTP_LINE_MAX - 1);
	evbuffer_add(lin, "\r\nNOOP\r\n", 8);
	ck_assert_int_eq(line_next(&line, &len), SMTP_LINE_TOOLONG);
	ck_assert_int_eq(line_next(&line, &len), SMTP_LINE_OK);
	ck_assert_str_eq(line, "NOOP");
	free(big);
}
END_TEST

/* Issue 4's bad input: a 1 MiB command line, in one piece and dripped. */
START_TEST(line_one_mib)
{
	char			*big, *line;
	size_t			 len, i, chunk = 4096;

	big = xmalloc(1024 * 1024);
	memset(big, 'x', 1024 * 1024);
	memcpy(big, "MAIL FROM:<", 11);

	/* In one piece: dropped at once, the next command is fine. */
	evbuffer_add(lin, big, 1024 * 1024);
	evbuffer_add(lin, "\r\nRSET\r\n", 8);
	ck_assert_int_eq(line_next(&line, &len), SMTP_LINE_TOOLONG);
	ck_assert_uint_eq(evbuffer_get_length(lin), 6);
	ck_assert_int_eq(line_next(&line, &len), SMTP_LINE_OK);
	ck_assert_str_eq(line, "RSET");

	/* In pieces: the reader never keeps more than max buffered. */
	for (i = 0; i < 1024 * 1024; i += chunk) {
		evbuffer_add(lin, big + i, chunk);
		ck_assert_int_eq(line_next(&line, &len),
		    SMTP_LINE_MORE);
		ck_assert_uint_lt(evbuffer_get_length(lin), SMTP_LINE_MAX);
	}
	evbuffer_add(lin, "\r\nQUIT\r\n", 8);
	ck_assert_int_eq(line_next(&line, &len), SMTP_LINE_TOOLONG);
	ck_assert_int_eq(line_next(&line, &len), SMTP_LINE_OK);
	ck_assert_str_eq(line, "QUIT");
	free(big);
}
END_TEST

/* A line arriving an octet at a time is not searched from its start. */
START_TEST(line_trickle)
{
	char			*line;
	size_t			 len, i;

	for (i = 0; i < SMTP_LINE_MAX - 2; i++) {
		evbuffer_add(lin, i < 4 ? &"NOOP"[i] : "x", 1);
		ck_assert_int_eq(line_next(&line, &len),
		    SMTP_LINE_MORE);
	}
	evbuffer_add(lin, "\r", 1);
	ck_assert_int_eq(line_next(&line, &len), SMTP_LINE_MORE);
	evbuffer_add(lin, "\n", 1);
	ck_assert_int_eq(line_next(&line, &len), SMTP_LINE_OK);
	ck_assert_uint_eq(len, SMTP_LINE_MAX - 2);
	ck_assert(strncmp(line, "NOOPxx", 6) == 0);

	/* After a reset, a refilled buffer is searched from its start. */
	evbuffer_add(lin, "abcdef", 6);
	ck_assert_int_eq(line_next(&line, &len), SMTP_LINE_MORE);
	evbuffer_drain(lin, 6);
	smtp_line_reader_reset(lr);
	evbuffer_add(lin, "a\nbcdefgh", 10);
	ck_assert_int_eq(line_next(&line, &len), SMTP_LINE_OK);
	ck_assert_str_eq(line, "a");
}
END_TEST

START_TEST(line_reset_after_starttls)
{
	char			*big, *line;
	size_t			 len;

	big = xmalloc(SMTP_LINE_MAX * 2);
	memset(big, 'y', SMTP_LINE_MAX * 2);
	evbuffer_add(lin, big, SMTP_LINE_MAX * 2);
	ck_assert_int_eq(line_next(&line, &len), SMTP_LINE_MORE);
	smtp_line_reader_reset(lr);
	evbuffer_add_printf(lin, "EHLO again\r\n");
	ck_assert_int_eq(line_next(&line, &len), SMTP_LINE_OK);
	ck_assert_str_eq(line, "EHLO again");
	free(big);
}
END_TEST

/* NULs reach the parser with the line length, which refuses them. */
START_TEST(line_nul)
{
	char			*line;
	size_t			 len;

	evbuffer_add(lin, "RCPT TO:<a@b.test>\0RSET\r\n", 25);
	ck_assert_int_eq(line_next(&line, &len), SMTP_LINE_OK);
	ck_assert_uint_eq(len, 23);
	ck_assert_int_eq(smtp_cmd_parse(line, len, &sub_conf, &cmd, &reply),
	    -1);
	ck_assert_int_eq(reply.code, 500);
	ck_assert_str_eq(reply.enhanced, "5.5.2");
}
END_TEST

/* ------------------------------------------------------------------ */
/* Verbs                                                              */
/* ------------------------------------------------------------------ */

START_TEST(verb_table)
{
	expect_ok(&sub_conf, "quit", SMTP_CMD_QUIT);
	expect_ok(&sub_conf, "QuIt", SMTP_CMD_QUIT);
	expect_ok(&sub_conf, "RSET", SMTP_CMD_RSET);
	expect_ok(&sub_conf, "DATA", SMTP_CMD_DATA);
	expect_ok(&sub_conf, "DATA ", SMTP_CMD_DATA);
	expect_ok(&sub_conf, "STARTTLS", SMTP_CMD_STARTTLS);
	expect_ok(&sub_conf, "NOOP", SMTP_CMD_NOOP);
	ck_assert_ptr_null(cmd.arg);
	expect_ok(&sub_conf, "NOOP hello there", SMTP_CMD_NOOP);
	ck_assert_str_eq(cmd.arg, "hello there");
	expect_ok(&sub_conf, "HELP", SMTP_CMD_HELP);
	expect_ok(&sub_conf, "HELP MAIL", SMTP_CMD_HELP);
	ck_assert_str_eq(cmd.arg, "MAIL");
	expect_ok(&sub_conf, "VRFY bob", SMTP_CMD_VRFY);
	ck_assert_str_eq(cmd.arg, "bob");
	ck_assert_str_eq(cmd.name, "VRFY");

	/* Exact matches only, never prefixes. */
	expect_err(&sub_conf, "QUI", 500, "5.5.2");
	expect_err(&sub_conf, "QUITX", 500, "5.5.2");
	expect_err(&sub_conf, "DAT", 500, "5.5.2");
	expect_err(&sub_conf, "MAILFROM:<a@b.test>", 500, "5.5.2");
	expect_err(&sub_conf, "", 500, "5.5.2");
	expect_err(&sub_conf, " QUIT", 500, "5.5.2");
	expect_err(&sub_conf, "TURN", 500, "5.5.2");

	/* Arguments where none belong. */
	expect_err(&sub_conf, "DATA now", 501, "5.5.4");
	expect_err(&sub_conf, "RSET x", 501, "5.5.4");
	expect_err(&sub_conf, "QUIT x", 501, "5.5.4");
	expect_err(&sub_conf, "STARTTLS x", 501, "5.5.4");
	expect_err(&sub_conf, "VRFY", 501, "5.5.4");
	expect_err(&sub_conf, "EXPN list", 502, "5.5.1");

	/* A bare CR inside a command. */
	expect_err(&sub_conf, "NOOP a\rb", 500, "5.5.2");
}
END_TEST

START_TEST(verb_http)
{
	expect_err(&sub_conf, "GET / HTTP/1.1", 500, "5.5.2");
	ck_assert_int_eq(reply.close, 1);
	expect_err(&lmtp_conf, "POST /form HTTP/1.0", 500, "5.5.2");
	ck_assert_int_eq(reply.close, 1);
	expect_err(&sub_conf, "CONNECT a:25 HTTP/1.1", 500, "5.5.2");
	ck_assert_int_eq(reply.close, 1);
	/* An unknown verb does not close. */
	expect_err(&sub_conf, "FOO", 500, "5.5.2");
	ck_assert_int_eq(reply.close, 0);
}
END_TEST

START_TEST(verb_flags)
{
	ck_assert(smtp_verb_flags(SMTP_CMD_STARTTLS) & SMTP_VF_BARRIER);
	ck_assert(smtp_verb_flags(SMTP_CMD_DATA) & SMTP_VF_ENDS_GROUP);
	ck_assert(smtp_verb_flags(SMTP_CMD_EHLO) & SMTP_VF_ENDS_GROUP);
	ck_assert(smtp_verb_flags(SMTP_CMD_QUIT) & SMTP_VF_ENDS_GROUP);
	ck_assert_uint_eq(smtp_verb_flags(SMTP_CMD_MAIL), 0);
	ck_assert_uint_eq(smtp_verb_flags(SMTP_CMD_RCPT), 0);
	ck_assert_uint_eq(smtp_verb_flags(SMTP_CMD_NONE), 0);
	ck_assert_str_eq(smtp_verb_name(SMTP_CMD_LHLO), "LHLO");
	ck_assert_str_eq(smtp_verb_name(SMTP_CMD_NONE), "?");
}
END_TEST

START_TEST(hello_dialects)
{
	expect_ok(&sub_conf, "EHLO client.example.org", SMTP_CMD_EHLO);
	ck_assert_str_eq(cmd.arg, "client.example.org");
	expect_ok(&sub_conf, "ehlo [192.0.2.1]", SMTP_CMD_EHLO);
	ck_assert_str_eq(cmd.arg, "[192.0.2.1]");
	expect_ok(&sub_conf, "HELO DESKTOP-AB_1", SMTP_CMD_HELO);
	expect_err(&sub_conf, "EHLO", 501, "5.5.4");
	expect_err(&sub_conf, "EHLO two words", 501, "5.5.4");
	expect_err(&sub_conf, "EHLO h\xc3\xa4st", 501, "5.5.4");
	/* RFC 2033 4.1: LMTP has LHLO, and no HELO or EHLO. */
	expect_err(&sub_conf, "LHLO mta", 500, "5.5.2");
	expect_ok(&lmtp_conf, "LHLO mta.example.org", SMTP_CMD_LHLO);
	expect_err(&lmtp_conf, "EHLO mta", 500, "5.5.1");
	expect_err(&lmtp_conf, "HELO mta", 500, "5.5.1");
}
END_TEST

/* ------------------------------------------------------------------ */
/* MAIL and RCPT                                                      */
/* ------------------------------------------------------------------ */

START_TEST(mail_paths)
{
	expect_ok(&sub_conf, "MAIL FROM:<Alice@Example.ORG>", SMTP_CMD_MAIL);
	ck_assert_str_eq(cmd.addr, "alice@example.org");
	expect_ok(&sub_conf, "mail from:<>", SMTP_CMD_MAIL);
	ck_assert_str_eq(cmd.addr, "");
	/* Common client slip: a space after the colon. */
	expect_ok(&sub_conf, "MAIL FROM: <a@b.test>", SMTP_CMD_MAIL);
	ck_assert_str_eq(cmd.addr, "a@b.test");
	/* RFC 5321 appendix C: source routes are ignored. */
	expect_ok(&sub_conf, "MAIL FROM:<@relay.test,@[192.0.2.1]:a@b.test>",
	    SMTP_CMD_MAIL);
	ck_assert_str_eq(cmd.addr, "a@b.test");
	/* A quoted dot-atom is the same mailbox unquoted. */
	expect_ok(&sub_conf, "MAIL FROM:<\"john.doe\"@b.test>", SMTP_CMD_MAIL);
	ck_assert_str_eq(cmd.addr, "john.doe@b.test");
	expect_ok(&sub_conf, "MAIL FROM:<\"j\\ohn\"@b.test>", SMTP_CMD_MAIL);
	ck_assert_str_eq(cmd.addr, "john@b.test");

	expect_err(&sub_conf, "MAIL FROM:a@b.test", 501, "5.5.4");
	expect_err(&sub_conf, "MAIL FROM:<a@b.test", 501, "5.5.4");
	expect_err(&sub_conf, "MAIL TO:<a@b.test>", 501, "5.5.4");
	expect_err(&sub_conf, "MAIL", 501, "5.5.4");
	expect_err(&sub_conf, "MAIL FROM:<a@b.test>x", 501, "5.5.4");
	expect_err(&sub_conf, "MAIL FROM:<@relay.test a@b.test>", 501, "5.5.4");
	expect_err(&sub_conf, "MAIL FROM:<\"john doe\"@b.test>", 553, "5.1.7");
	expect_err(&sub_conf, "MAIL FROM:<\"unterminated@b.test>", 501,
	    "5.5.4");
	expect_err(&sub_conf, "MAIL FROM:<a@[192.0.2.1]>", 553, "5.1.7");
	expect_err(&sub_conf, "MAIL FROM:<postmaster>", 553, "5.1.7");
	expect_err(&sub_conf, "MAIL FROM:<a..b@b.test>", 553, "5.1.7");
	expect_err(&sub_conf, "MAIL FROM:<a@localhost>", 553, "5.1.7");
	expect_err(&sub_conf, "MAIL FROM:<j\xc3\xb6rg@b.test>", 553, "5.6.7");
	expect_err(&sub_conf, "MAIL FROM:<a@b\xc3\xa4.test>", 553, "5.6.7");
	/* RFC 5321 4.5.3.1.1: 64 octets of local part. */
	expect_ok(&sub_conf, "MAIL FROM:<aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaa@b.test>", SMTP_CMD_MAIL);
	expect_err(&sub_conf, "MAIL FROM:<aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaa@b.test>", 553, "5.1.7");
}
END_TEST

START_TEST(mail_params)
{
	expect_ok(&sub_conf, "MAIL FROM:<a@b.test> SIZE=12345 BODY=8BITMIME",
	    SMTP_CMD_MAIL);
	ck_assert_int_eq(cmd.has_size, 1);
	ck_assert_uint_eq(cmd.size, 12345);
	ck_assert_int_eq(cmd.body, SMTP_BODY_8BITMIME);
	expect_ok(&sub_conf, "MAIL FROM:<a@b.test>  body=7bit  size=0 ",
	    SMTP_CMD_MAIL);
	ck_assert_int_eq(cmd.body, SMTP_BODY_7BIT);
	ck_assert_uint_eq(cmd.size, 0);
	expect_ok(&sub_conf, "MAIL FROM:<a@b.test> AUTH=<>", SMTP_CMD_MAIL);
	ck_assert_int_eq(cmd.has_auth, 1);
	ck_assert_str_eq(cmd.auth, "<>");
	expect_ok(&sub_conf, "MAIL FROM:<a@b.test> AUTH=a+2Bb@b.test",
	    SMTP_CMD_MAIL);
	ck_assert_str_eq(cmd.auth, "a+b@b.test");

	/* RFC 1870 6.1: too big for us, said before any data is sent. */
	expect_err(&sub_conf, "MAIL FROM:<a@b.test> SIZE=1000001", 552,
	    "5.3.4");
	expect_ok(&sub_conf, "MAIL FROM:<a@b.test> SIZE=1000000",
	    SMTP_CMD_MAIL);
	expect_err(&sub_conf,
	    "MAIL FROM:<a@b.test> SIZE=99999999999999999999999", 501, "5.5.4");
	expect_err(&sub_conf, "MAIL FROM:<a@b.test> SIZE=-1", 501, "5.5.4");
	expect_err(&sub_conf, "MAIL FROM:<a@b.test> SIZE", 501, "5.5.4");
	expect_err(&sub_conf, "MAIL FROM:<a@b.test> SIZE=1 SIZE=2", 501,
	    "5.5.4");
	expect_err(&sub_conf, "MAIL FROM:<a@b.test> BODY=BINARYMIME", 555,
	    "5.5.4");
	expect_err(&sub_conf, "MAIL FROM:<a@b.test> BODY=9BIT", 501, "5.5.4");
	expect_err(&sub_conf, "MAIL FROM:<a@b.test> AUTH=+4", 501, "5.5.4");
	expect_err(&sub_conf, "MAIL FROM:<a@b.test> AUTH=+0A", 501, "5.5.4");
	expect_err(&sub_conf, "MAIL FROM:<a@b.test> AUTH=a+2b", 501, "5.5.4");

	/* RFC 5321 4.1.1.11: what we do not offer is 555. */
	expect_err(&sub_conf, "MAIL FROM:<a@b.test> SMTPUTF8", 555, "5.5.4");
	expect_err(&sub_conf, "MAIL FROM:<a@b.test> RET=HDRS", 555, "5.5.4");
	expect_err(&sub_conf, "MAIL FROM:<a@b.test> FOO=bar", 555, "5.5.4");
	expect_err(&lmtp_conf, "MAIL FROM:<a@b.test> AUTH=<>", 555, "5.5.4");
	expect_err(&sub_conf, "MAIL FROM:<a@b.test> =x", 501, "5.5.4");
	expect_err(&sub_conf, "MAIL FROM:<a@b.test> SIZE=", 501, "5.5.4");
	expect_err(&sub_conf, "MAIL FROM:<a@b.test> -X", 501, "5.5.4");
	expect_err(&sub_conf, "MAIL FROM:<a@b.test> SIZE=1=2", 501, "5.5.4");
}
END_TEST

START_TEST(rcpt_paths)
{
	expect_ok(&sub_conf, "RCPT TO:<Bob@X.test>", SMTP_CMD_RCPT);
	ck_assert_str_eq(cmd.addr, "bob@x.test");
	expect_ok(&lmtp_conf, "rcpt to: <bob@x.test>", SMTP_CMD_RCPT);
	expect_err(&sub_conf, "RCPT TO:<>", 501, "5.1.3");
	expect_err(&sub_conf, "RCPT TO:<\"a b\"@x.test>", 553, "5.1.3");
	expect_err(&sub_conf, "RCPT TO:<bob>", 553, "5.1.3");
	expect_err(&sub_conf, "RCPT FROM:<bob@x.test>", 501, "5.5.4");
	expect_err(&sub_conf, "RCPT TO:<bob@x.test> NOTIFY=NEVER", 555,
	    "5.5.4");
	expect_err(&sub_conf, "RCPT TO:<bob@x.test> ORCPT=rfc822;a@b.test", 555,
	    "5.5.4");
}
END_TEST

/*
 * The gateway relays for the home MTA to anyone: every Mailbox of RFC
 * 5321 4.1.2 passes, kept byte for byte in path; addr is the plain
 * form, or "" where there is none.
 */
START_TEST(gateway_paths)
{
	expect_ok(&gw_conf, "RCPT TO:<Bob.Smith@X.test>", SMTP_CMD_RCPT);
	ck_assert_str_eq(cmd.addr, "bob.smith@x.test");
	ck_assert_str_eq(cmd.path, "Bob.Smith@X.test");
	expect_ok(&gw_conf, "RCPT TO:<@relay.test:\"a b\"@x.test>",
	    SMTP_CMD_RCPT);
	ck_assert_str_eq(cmd.addr, "");
	ck_assert_str_eq(cmd.path, "\"a b\"@x.test");
	expect_ok(&gw_conf, "RCPT TO:<\"a\\\"b\"@x.test>", SMTP_CMD_RCPT);
	ck_assert_str_eq(cmd.path, "\"a\\\"b\"@x.test");
	expect_ok(&gw_conf, "RCPT TO:<\"john.doe\"@x.test>", SMTP_CMD_RCPT);
	ck_assert_str_eq(cmd.addr, "john.doe@x.test");
	ck_assert_str_eq(cmd.path, "\"john.doe\"@x.test");
	/* RFC 5321 4.1.3 */
	expect_ok(&gw_conf, "RCPT TO:<root@[192.0.2.1]>", SMTP_CMD_RCPT);
	ck_assert_str_eq(cmd.addr, "");
	ck_assert_str_eq(cmd.path, "root@[192.0.2.1]");
	expect_ok(&gw_conf, "RCPT TO:<root@[IPv6:2001:db8::1]>",
	    SMTP_CMD_RCPT);
	ck_assert_str_eq(cmd.path, "root@[IPv6:2001:db8::1]");
	expect_err(&gw_conf, "RCPT TO:<root@[192.0.2.300]>", 553, "5.1.3");
	expect_err(&gw_conf, "RCPT TO:<root@[2001:db8::1]>", 553, "5.1.3");
	expect_err(&gw_conf, "RCPT TO:<root@[x]y>", 501, "5.5.4");
	expect_err(&gw_conf, "RCPT TO:<\"a\tb\"@x.test>", 501, "5.5.4");
	expect_err(&gw_conf, "RCPT TO:<a..b@x.test>", 553, "5.1.3");
	expect_err(&gw_conf, "MAIL FROM:<\"a b\"@[192.0.2.1]> FOO", 555,
	    "5.5.4");
	expect_ok(&gw_conf, "MAIL FROM:<\"a b\"@[192.0.2.1]>", SMTP_CMD_MAIL);
	ck_assert_str_eq(cmd.path, "\"a b\"@[192.0.2.1]");
	expect_ok(&gw_conf, "MAIL FROM:<>", SMTP_CMD_MAIL);
	ck_assert_str_eq(cmd.path, "");
}
END_TEST

/* RFC 6531 3.4: UTF-8 in the envelope only after MAIL's SMTPUTF8. */
START_TEST(gateway_smtputf8)
{
	expect_ok(&gw_conf, "MAIL FROM:<j\xc3\xb6rg@b\xc3\xbc" "cher.test> "
	    "SMTPUTF8", SMTP_CMD_MAIL);
	ck_assert_int_eq(cmd.smtputf8, 1);
	ck_assert_int_eq(cmd.utf8, 1);
	ck_assert_str_eq(cmd.addr, "");
	ck_assert_str_eq(cmd.path, "j\xc3\xb6rg@b\xc3\xbc" "cher.test");
	expect_ok(&gw_conf, "MAIL FROM:<a@b.test> smtputf8 BODY=8BITMIME",
	    SMTP_CMD_MAIL);
	ck_assert_int_eq(cmd.smtputf8, 1);
	ck_assert_str_eq(cmd.addr, "a@b.test");
	expect_err(&gw_conf, "MAIL FROM:<j\xc3\xb6rg@b.test>", 553, "5.6.7");
	expect_err(&gw_conf, "MAIL FROM:<a@b.test> SMTPUTF8=yes", 501,
	    "5.5.4");
	expect_err(&gw_conf, "MAIL FROM:<a@b.test> SMTPUTF8 SMTPUTF8", 501,
	    "5.5.4");
	expect_err(&gw_conf, "RCPT TO:<j\xc3\xb6rg@b.test>", 553, "5.6.7");
	expect_ok(&gw_utf8_conf, "RCPT TO:<\"j\xc3\xb6rg m\"@b.test>",
	    SMTP_CMD_RCPT);
	ck_assert_str_eq(cmd.addr, "");
	ck_assert_str_eq(cmd.path, "\"j\xc3\xb6rg m\"@b.test");
	/* Overlong, cut, and surrogate forms are no UTF-8 (RFC 3629 3). */
	expect_err(&gw_utf8_conf, "RCPT TO:<a\xc0\xaf" "b@b.test>", 553,
	    "5.6.7");
	expect_err(&gw_utf8_conf, "RCPT TO:<a\xc3@b.test>", 553, "5.6.7");
	expect_err(&gw_utf8_conf, "RCPT TO:<a\xed\xa0\x80@b.test>", 553,
	    "5.6.7");
	/* Submission and LMTP offer no SMTPUTF8. */
	expect_err(&lmtp_conf, "MAIL FROM:<a@b.test> SMTPUTF8", 555, "5.5.4");
	expect_err(&lmtp_conf, "RCPT TO:<\"a b\"@x.test>", 553, "5.1.3");
	expect_err(&lmtp_conf, "RCPT TO:<a@[192.0.2.1]>", 553, "5.1.3");
}
END_TEST

/*
 * Issue 4's 10,000 RCPTs: the parser is stateless, so each line costs
 * the same; the engine stops counting at SMTP_RCPT_MAX.
 */
START_TEST(rcpt_ten_thousand)
{
	struct smtp_line_reader	*r = smtp_line_reader_new();
	struct evbuffer		*in = evbuffer_new();
	struct timespec		 t0, t1;
	char			*line;
	size_t			 len, n = 0, i;
	double			 secs;

	for (i = 0; i < 10000; i++)
		evbuffer_add_printf(in, "RCPT TO:<user%zu@x.test>\r\n", i);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (smtp_line_read(r, in, SMTP_LINE_MAX, &line, &len) ==
	    SMTP_LINE_OK) {
		ck_assert_int_eq(smtp_cmd_parse(line, len, &sub_conf, &cmd,
		    &reply), 0);
		n++;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	ck_assert_uint_eq(n, 10000);
	ck_assert_msg(secs < 1.0, "10,000 RCPT lines took %.3f s", secs);
	ck_assert_int_ge(SMTP_RCPT_MAX, 100);
	evbuffer_free(in);
	smtp_line_reader_free(&r);
}
END_TEST

/* ------------------------------------------------------------------ */
/* BDAT, AUTH                                                         */
/* ------------------------------------------------------------------ */

START_TEST(bdat)
{
	struct smtp_parse_conf	 chunking = sub_conf;

	/* Not offered: refused, and the connection must go. */
	expect_err(&sub_conf, "BDAT 100 LAST", 502, "5.5.1");
	ck_assert_int_eq(reply.close, 1);
	expect_err(&lmtp_conf, "BDAT 100", 502, "5.5.1");
	ck_assert_int_eq(reply.close, 1);

	chunking.ext |= SMTP_EXT_CHUNKING;
	expect_ok(&chunking, "BDAT 100 LAST", SMTP_CMD_BDAT);
	ck_assert_uint_eq(cmd.chunk_size, 100);
	ck_assert_int_eq(cmd.last, 1);
	expect_ok(&chunking, "BDAT 0", SMTP_CMD_BDAT);
	ck_assert_int_eq(cmd.last, 0);
	expect_err(&chunking, "BDAT", 501, "5.5.4");
	expect_err(&chunking, "BDAT x", 501, "5.5.4");
	expect_err(&chunking, "BDAT 1 FIRST", 501, "5.5.4");
}
END_TEST

START_TEST(auth_command)
{
	expect_ok(&sub_conf, "AUTH plain", SMTP_CMD_AUTH);
	ck_assert_str_eq(cmd.mech, "PLAIN");
	ck_assert_ptr_null(cmd.initial);
	expect_ok(&sub_conf, "AUTH PLAIN AGJvYgBwdw==", SMTP_CMD_AUTH);
	ck_assert_str_eq(cmd.initial, "AGJvYgBwdw==");
	expect_ok(&sub_conf, "AUTH LOGIN =", SMTP_CMD_AUTH);
	ck_assert_str_eq(cmd.mech, "LOGIN");
	ck_assert_str_eq(cmd.initial, "=");
	expect_ok(&sub_conf, "AUTH SCRAM-SHA-256", SMTP_CMD_AUTH);
	expect_err(&sub_conf, "AUTH", 501, "5.5.4");
	expect_err(&sub_conf, "AUTH PLAIN a b", 501, "5.5.4");
	expect_err(&sub_conf, "AUTH ABCDEFGHIJKLMNOPQRSTU", 501, "5.5.4");
	expect_err(&sub_conf, "AUTH PL@IN", 501, "5.5.4");
}
END_TEST

START_TEST(b64_strict)
{
	static const struct {
		const char	*in;
		const char	*out;
	} good[] = {
		/* RFC 4648 10 */
		{ "", "" }, { "Zg==", "f" }, { "Zm8=", "fo" },
		{ "Zm9v", "foo" }, { "Zm9vYg==", "foob" },
		{ "Zm9vYmE=", "fooba" }, { "Zm9vYmFy", "foobar" },
		{ "+/+/", "\xfb\xff\xbf" },
	};
	static const char *const bad[] = {
		"Zg", "Zg=", "Zg===", "Zh==", "Zm9=", "=Zg=", "Z===", "Zm=v",
		"Zg==Zg==", "Zm9v\n", " Zm9v", "Zm9v ", "Zm-_", "Zm9vY",
		"Zm9vYg=\n", "\xc3\xa4Zm9",
	};
	unsigned char	 out[16];
	size_t		 i, n;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ck_assert_msg(sasl_b64_decode(good[i].in, strlen(good[i].in),
		    out, sizeof(out), &n) == 0, "refused %s", good[i].in);
		ck_assert_uint_eq(n, strlen(good[i].out));
		ck_assert(memcmp(out, good[i].out, n) == 0);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(sasl_b64_decode(bad[i], strlen(bad[i]), out,
		    sizeof(out), &n) == -1, "accepted %s", bad[i]);
	/* The output limit is exact. */
	ck_assert_int_eq(sasl_b64_decode("Zm9vYmFy", 8, out, 6, &n), 0);
	ck_assert_int_eq(sasl_b64_decode("Zm9vYmFy", 8, out, 5, &n), -1);
	ck_assert_int_eq(sasl_b64_decode("Zm9vYg==", 8, out, 4, &n), 0);
	ck_assert_int_eq(sasl_b64_decode("Zm9vYg==", 8, out, 3, &n), -1);
}
END_TEST

START_TEST(sasl_decode)
{
	unsigned char	 out[64];
	size_t		 n;

	ck_assert_int_eq(smtp_sasl_decode("*", 1, out, sizeof(out), &n,
	    &reply), -1);
	ck_assert_int_eq(reply.code, 501);
	ck_assert_int_eq(smtp_sasl_decode("=", 1, out, sizeof(out), &n,
	    &reply), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(smtp_sasl_decode("", 0, out, sizeof(out), &n,
	    &reply), 0);
	ck_assert_int_eq(smtp_sasl_decode("Ym9i", 4, out, sizeof(out), &n,
	    &reply), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert(memcmp(out, "bob", 3) == 0);
	/* RFC 4954 4: what is not base64 is 501 5.5.2. */
	ck_assert_int_eq(smtp_sasl_decode("Ym9i!", 5, out, sizeof(out), &n,
	    &reply), -1);
	ck_assert_int_eq(reply.code, 501);
	ck_assert_str_eq(reply.enhanced, "5.5.2");
	ck_assert_int_eq(smtp_sasl_decode("not base64 at all", 17, out,
	    sizeof(out), &n, &reply), -1);
	ck_assert_int_eq(reply.code, 501);
	/* Longer than the caller's buffer: 500 5.5.6 (RFC 4954 6). */
	ck_assert_int_eq(smtp_sasl_decode("QUFBQUFBQUFBQUFB", 16, out, 6, &n,
	    &reply), -1);
	ck_assert_int_eq(reply.code, 500);
	ck_assert_str_eq(reply.enhanced, "5.5.6");
}
END_TEST

START_TEST(sasl_plain)
{
	struct sasl_plain	 sp;
	unsigned char		*msg;
	size_t			 i;

	ck_assert_int_eq(smtp_sasl_plain_split("\0bob@x.test\0pw", 14, &sp,
	    &reply), 0);
	ck_assert_uint_eq(sp.authzid_len, 0);
	ck_assert_uint_eq(sp.authcid_len, 10);
	ck_assert(memcmp(sp.authcid, "bob@x.test", 10) == 0);
	ck_assert_uint_eq(sp.passwd_len, 2);
	ck_assert(memcmp(sp.passwd, "pw", 2) == 0);
	ck_assert_int_eq(smtp_sasl_plain_split("z\0u\0p", 5, &sp, &reply), 0);
	ck_assert_uint_eq(sp.authzid_len, 1);

	ck_assert_int_eq(smtp_sasl_plain_split("bob", 3, &sp, &reply), -1);
	ck_assert_int_eq(reply.code, 501);
	ck_assert_int_eq(smtp_sasl_plain_split("\0bob", 4, &sp, &reply), -1);
	ck_assert_int_eq(reply.code, 501);
	ck_assert_int_eq(smtp_sasl_plain_split("\0b\0p\0", 5, &sp, &reply),
	    -1);
	ck_assert_int_eq(reply.code, 501);
	ck_assert_int_eq(smtp_sasl_plain_split("\0\0pw", 4, &sp, &reply), -1);
	ck_assert_int_eq(reply.code, 535);
	ck_assert_str_eq(reply.enhanced, "5.7.8");
	ck_assert_int_eq(smtp_sasl_plain_split("\0bob\0", 5, &sp, &reply), -1);
	ck_assert_int_eq(reply.code, 535);

	/* Issue 4: a 64 KiB user name. */
	msg = xmalloc(65536 + 8);
	msg[0] = '\0';
	for (i = 1; i <= 65536; i++)
		msg[i] = 'u';
	msg[65537] = '\0';
	memcpy(msg + 65538, "pw", 2);
	ck_assert_int_eq(smtp_sasl_plain_split(msg, 65540, &sp, &reply), -1);
	ck_assert_int_eq(reply.code, 535);
	free(msg);
}
END_TEST

/*
 * The 64 KiB user name as the client sends it: in an AUTH PLAIN initial
 * response (too long for a command line) and as an AUTH LOGIN line (too
 * long for an AUTH exchange line).
 */
START_TEST(sasl_long_user_lines)
{
	struct smtp_line_reader	*r = smtp_line_reader_new();
	struct evbuffer		*in = evbuffer_new();
	char			*line;
	size_t			 len, i;

	evbuffer_add_printf(in, "AUTH PLAIN ");
	for (i = 0; i < 65536 / 3 * 4 + 4; i++)
		evbuffer_add(in, "d", 1);
	evbuffer_add_printf(in, "\r\n");
	for (i = 0; i < 65536 / 3 * 4 + 4; i++)
		evbuffer_add(in, "d", 1);
	evbuffer_add_printf(in, "\r\nQUIT\r\n");
	ck_assert_int_eq(smtp_line_read(r, in, SMTP_LINE_MAX, &line, &len),
	    SMTP_LINE_TOOLONG);
	ck_assert_int_eq(smtp_line_read(r, in, SMTP_SASL_LINE_MAX, &line,
	    &len), SMTP_LINE_TOOLONG);
	ck_assert_int_eq(smtp_line_read(r, in, SMTP_LINE_MAX, &line, &len),
	    SMTP_LINE_OK);
	ck_assert_str_eq(line, "QUIT");
	evbuffer_free(in);
	smtp_line_reader_free(&r);
}
END_TEST

START_TEST(reply_set)
{
	char	 big[600];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	smtp_reply_set(&reply, 451, "4.3.0", "%s", big);
	ck_assert_int_eq(reply.code, 451);
	ck_assert_uint_eq(strlen(reply.text), SMTP_REPLY_TEXT_MAX - 1);
}
END_TEST

Suite *
smtp_parser_suite(void)
{
	Suite	*s = suite_create("smtp_parser");
	TCase	*tc;

	tc = tcase_create("line_reader");
	tcase_add_checked_fixture(tc, line_setup, line_teardown);
	tcase_add_test(tc, line_crlf_and_lf);
	tcase_add_test(tc, line_exact_limit);
	tcase_add_test(tc, line_one_mib);
	tcase_add_test(tc, line_trickle);
	tcase_add_test(tc, line_reset_after_starttls);
	tcase_add_test(tc, line_nul);
	suite_add_tcase(s, tc);

	tc = tcase_create("verbs");
	tcase_add_test(tc, verb_table);
	tcase_add_test(tc, verb_http);
	tcase_add_test(tc, verb_flags);
	tcase_add_test(tc, hello_dialects);
	tcase_add_test(tc, reply_set);
	suite_add_tcase(s, tc);

	tc = tcase_create("envelope");
	tcase_add_test(tc, mail_paths);
	tcase_add_test(tc, mail_params);
	tcase_add_test(tc, rcpt_paths);
	tcase_add_test(tc, gateway_paths);
	tcase_add_test(tc, gateway_smtputf8);
	tcase_add_test(tc, rcpt_ten_thousand);
	tcase_set_timeout(tc, 20);
	suite_add_tcase(s, tc);

	tc = tcase_create("bdat_auth");
	tcase_add_test(tc, bdat);
	tcase_add_test(tc, auth_command);
	tcase_add_test(tc, b64_strict);
	tcase_add_test(tc, sasl_decode);
	tcase_add_test(tc, sasl_plain);
	tcase_add_test(tc, sasl_long_user_lines);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_util_run(smtp_parser_suite());
}
