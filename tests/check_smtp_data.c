/*
 * check_smtp_data.c: the streaming DATA reader (submitd/smtp-data.c):
 * dot-unstuffing, the end of data, bare LF/CR and smuggling, size limit,
 * NULs, and a 50 MiB message in pieces.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <event2/buffer.h>

#include "smtp-data.h"
#include "xmalloc.h"
#include "check-util.h"

Suite	*smtp_data_suite(void);

struct sink {
	char	*buf;
	size_t	 len;
	size_t	 cap;
	size_t	 calls;
	size_t	 biggest;
	int	 fail_after;	/* fail from this call on; 0: never */
	int	 keep;		/* 0: only count */
	uint64_t size;		/* smtp_data_size() at the end (run()) */
};

static int
sink_fn(void *arg, const void *data, size_t len)
{
	struct sink	*s = arg;

	s->calls++;
	if (s->fail_after != 0 && s->calls >= (size_t)s->fail_after)
		return -1;
	if (len > s->biggest)
		s->biggest = len;
	if (s->keep) {
		if (s->cap - s->len < len + 1) {
			s->cap = (s->len + len + 1) * 2;
			s->buf = xrealloc(s->buf, s->cap);
		}
		memcpy(s->buf + s->len, data, len);
		s->buf[s->len + len] = '\0';
	}
	s->len += len;
	return 0;
}

/*
 * Feeds in (len bytes) in pieces of step octets; returns the status, the
 * reply, the output and how much input was consumed.
 */
static enum smtp_data_status
run(const char *in, size_t len, size_t step, uint64_t max, struct sink *s,
    struct smtp_reply *reply, size_t *consumedp)
{
	struct smtp_data	*d;
	enum smtp_data_status	 st = SMTP_DATA_MORE;
	size_t			 off = 0, n, used;

	memset(s, 0, sizeof(*s));
	s->keep = 1;
	d = smtp_data_new(max, sink_fn, s);
	while (off < len) {
		n = len - off < step ? len - off : step;
		st = smtp_data_feed(d, in + off, n, &used, reply);
		off += used;
		if (st == SMTP_DATA_DONE)
			break;
		ck_assert_uint_eq(used, n);
	}
	*consumedp = off;
	s->size = smtp_data_size(d);
	smtp_data_free(&d);
	ck_assert_ptr_null(d);
	return st;
}

/* The same input gives the same result in every chunking. */
static void
check_all_steps(const char *in, size_t len, uint64_t max,
    enum smtp_data_status want_st, int want_code, const char *want_out,
    size_t want_used)
{
	struct sink		 s;
	struct smtp_reply	 reply;
	size_t			 step, used;

	for (step = 1; step <= len + 1; step++) {
		ck_assert_int_eq(run(in, len, step, max, &s, &reply, &used),
		    want_st);
		if (want_st == SMTP_DATA_DONE) {
			ck_assert_msg(reply.code == want_code,
			    "step %zu: reply %d %s", step, reply.code,
			    reply.text);
			ck_assert_uint_eq(used, want_used);
		}
		if (want_out != NULL) {
			ck_assert_uint_eq(s.len, strlen(want_out));
			ck_assert_str_eq(s.buf != NULL ? s.buf : "", want_out);
		}
		free(s.buf);
	}
}

#define CHECK(in, st, code, out, used) \
	check_all_steps(in, sizeof(in) - 1, 0, st, code, out, used)

START_TEST(data_basic)
{
	CHECK("Subject: x\r\n\r\nhello\r\n.\r\n", SMTP_DATA_DONE, 0,
	    "Subject: x\r\n\r\nhello\r\n", 24);
	/* An empty message. */
	CHECK(".\r\n", SMTP_DATA_DONE, 0, "", 3);
	/* Pipelined commands after the end stay unread. */
	CHECK("a\r\n.\r\nQUIT\r\n", SMTP_DATA_DONE, 0, "a\r\n", 6);
	/* Not the end yet. */
	CHECK("a\r\n.", SMTP_DATA_MORE, 0, "a\r\n", 0);
	CHECK("a\r\n.\r", SMTP_DATA_MORE, 0, "a\r\n", 0);
	CHECK("a\r\n.x\r\n", SMTP_DATA_MORE, 0, "a\r\nx\r\n", 0);
}
END_TEST

/* RFC 5321 4.5.2 */
START_TEST(data_dot_unstuffing)
{
	CHECK("..\r\n.\r\n", SMTP_DATA_DONE, 0, ".\r\n", 7);
	CHECK("...\r\n.\r\n", SMTP_DATA_DONE, 0, "..\r\n", 8);
	CHECK("..hidden\r\n.\r\n", SMTP_DATA_DONE, 0, ".hidden\r\n", 13);
	CHECK("a.\r\n.b\r\n. c\r\n.\r\n", SMTP_DATA_DONE, 0,
	    "a.\r\nb\r\n c\r\n", 16);
	/* A dot not at the start of a line stays. */
	CHECK("x. .\r\n.\r\n", SMTP_DATA_DONE, 0, "x. .\r\n", 9);
}
END_TEST

/*
 * SMTP smuggling: "\n.\n", "\n.\r\n", "\r\n.\n", "\r.\r" are never the
 * end of a message we accept.
 */
START_TEST(data_smuggling)
{
	static const char *const lax[] = {
		"a\n.\nMAIL FROM:<evil@x.test>\r\n",
		"a\r\n.\nMAIL FROM:<evil@x.test>\r\n",
		"a\n.\r\nMAIL FROM:<evil@x.test>\r\n",
		"a\r.\rMAIL FROM:<evil@x.test>\r\n",
		"a\r\n.\rMAIL FROM:<evil@x.test>\r\n",
		"a\r.\r\nMAIL FROM:<evil@x.test>\r\n",
		"\n.\nMAIL FROM:<evil@x.test>\r\n",
	};
	struct sink		 s;
	struct smtp_reply	 reply;
	size_t			 i, step, used;
	uint64_t		 size = 0;

	for (i = 0; i < sizeof(lax) / sizeof(lax[0]); i++)
		for (step = 1; step <= strlen(lax[i]); step++) {
			ck_assert_int_eq(run(lax[i], strlen(lax[i]), step, 0,
			    &s, &reply, &used), SMTP_DATA_DONE);
			/* Found by fuzzing: the size may not depend on it. */
			if (step == 1)
				size = s.size;
			ck_assert_uint_eq(s.size, size);
			ck_assert_msg(reply.code == 554 && reply.close == 1,
			    "%zu: %d", i, reply.code);
			ck_assert_str_eq(reply.enhanced, "5.6.0");
			/* Nothing after the dot line was read. */
			ck_assert(strncmp(lax[i] + used, "MAIL", 4) == 0 ||
			    strncmp(lax[i] + used, "\nMAIL", 5) == 0);
			free(s.buf);
		}
}
END_TEST

/* RFC 5321 2.3.8: bare LF and bare CR refused after the proper end. */
START_TEST(data_bare_lf_cr)
{
	struct sink		 s;
	struct smtp_reply	 reply;
	size_t			 used;
	const char		*m;

	m = "line one\nline two\r\n.\r\nQUIT\r\n";
	ck_assert_int_eq(run(m, strlen(m), 1000, 0, &s, &reply, &used),
	    SMTP_DATA_DONE);
	ck_assert_int_eq(reply.code, 550);
	ck_assert_str_eq(reply.enhanced, "5.6.0");
	ck_assert_int_eq(reply.close, 0);
	ck_assert_str_eq(m + used, "QUIT\r\n");
	/* The sink heard nothing after the bare LF. */
	ck_assert_uint_le(s.len, strlen("line one"));
	free(s.buf);

	m = "cr\ralone\r\n.\r\n";
	ck_assert_int_eq(run(m, strlen(m), 3, 0, &s, &reply, &used),
	    SMTP_DATA_DONE);
	ck_assert_int_eq(reply.code, 550);
	ck_assert_ptr_nonnull(strstr(reply.text, "CR"));
	free(s.buf);

	m = "end\r\r\n.\r\n";
	ck_assert_int_eq(run(m, strlen(m), 1, 0, &s, &reply, &used),
	    SMTP_DATA_DONE);
	ck_assert_int_eq(reply.code, 550);
	free(s.buf);

	/* After a bare LF, ".x" is text, not an end. */
	CHECK("a\n.x\r\n", SMTP_DATA_MORE, 0, NULL, 0);
}
END_TEST

START_TEST(data_nul_8bit_long)
{
	struct smtp_data	*d;
	struct sink		 s;
	struct smtp_reply	 reply;
	static const char	 m[] = "a\0b\r\n\xc3\xa4\r\n.\r\n";
	char			*line;
	size_t			 used;

	memset(&s, 0, sizeof(s));
	s.keep = 1;
	d = smtp_data_new(0, sink_fn, &s);
	ck_assert_int_eq(smtp_data_feed(d, m, sizeof(m) - 1, &used, &reply),
	    SMTP_DATA_DONE);
	ck_assert_int_eq(reply.code, 0);
	/* NULs pass through, noted. */
	ck_assert_uint_eq(s.len, 9);
	ck_assert(memcmp(s.buf, "a\0b\r\n\xc3\xa4\r\n", 9) == 0);
	ck_assert(smtp_data_flags(d) & SMTP_DATA_NUL);
	ck_assert(smtp_data_flags(d) & SMTP_DATA_8BIT);
	ck_assert(!(smtp_data_flags(d) & SMTP_DATA_LONGLINE));
	ck_assert_uint_eq(smtp_data_size(d), 9);
	/* DONE stays DONE. */
	ck_assert_int_eq(smtp_data_feed(d, "x", 1, &used, &reply),
	    SMTP_DATA_DONE);
	ck_assert_uint_eq(used, 0);
	smtp_data_free(&d);
	free(s.buf);

	/* RFC 5321 4.5.3.1.6 lines over 1000 octets: noted, accepted. */
	line = xmalloc(5000);
	memset(line, 'h', 4994);
	memcpy(line + 4994, "\r\n.\r\n", 6);
	memset(&s, 0, sizeof(s));
	d = smtp_data_new(0, sink_fn, &s);
	ck_assert_int_eq(smtp_data_feed(d, line, 4999, &used, &reply),
	    SMTP_DATA_DONE);
	ck_assert_int_eq(reply.code, 0);
	ck_assert(smtp_data_flags(d) & SMTP_DATA_LONGLINE);
	ck_assert_uint_eq(s.len, 4996);
	smtp_data_free(&d);
	free(line);

	/* Exactly 998 octets and CRLF is not long. */
	line = xmalloc(1010);
	memset(line, 'h', 998);
	memcpy(line + 998, "\r\n.\r\n", 6);
	d = smtp_data_new(0, NULL, NULL);
	ck_assert_int_eq(smtp_data_feed(d, line, 1003, &used, &reply),
	    SMTP_DATA_DONE);
	ck_assert(!(smtp_data_flags(d) & SMTP_DATA_LONGLINE));
	ck_assert_uint_eq(smtp_data_size(d), 1000);
	smtp_data_free(&d);
	free(line);
}
END_TEST

/* RFC 1870: over the limit, read to the end, then 552 5.3.4. */
START_TEST(data_size_limit)
{
	struct sink		 s;
	struct smtp_reply	 reply;
	char			*m;
	size_t			 used, i;

	m = xmalloc(10000);
	for (i = 0; i < 9990; i += 10)
		memcpy(m + i, "123456789\n", 10);
	for (i = 0; i < 9990; i += 10)
		m[i + 8] = '\r';
	memcpy(m + 9990, ".\r\nRSET\r\n", 9);
	ck_assert_int_eq(run(m, 9999, 333, 1000, &s, &reply, &used),
	    SMTP_DATA_DONE);
	ck_assert_int_eq(reply.code, 552);
	ck_assert_str_eq(reply.enhanced, "5.3.4");
	ck_assert_uint_eq(used, 9993);
	ck_assert_uint_le(s.len, 1000);
	free(s.buf);

	/* Exactly at the limit is fine. */
	ck_assert_int_eq(run("12345678\r\n.\r\n", 13, 4, 10, &s, &reply,
	    &used), SMTP_DATA_DONE);
	ck_assert_int_eq(reply.code, 0);
	free(s.buf);
	ck_assert_int_eq(run("123456789\r\n.\r\n", 14, 4, 10, &s, &reply,
	    &used), SMTP_DATA_DONE);
	ck_assert_int_eq(reply.code, 552);
	free(s.buf);
	free(m);
}
END_TEST

START_TEST(data_sink_failure)
{
	struct smtp_data	*d;
	struct sink		 s;
	struct smtp_reply	 reply;
	size_t			 used;

	memset(&s, 0, sizeof(s));
	s.fail_after = 1;
	d = smtp_data_new(0, sink_fn, &s);
	ck_assert_int_eq(smtp_data_feed(d, "a\r\n", 3, &used, &reply),
	    SMTP_DATA_MORE);
	ck_assert_int_eq(smtp_data_feed(d, "b\r\n.\r\n", 6, &used, &reply),
	    SMTP_DATA_DONE);
	ck_assert_int_eq(reply.code, 451);
	ck_assert_str_eq(reply.enhanced, "4.3.0");
	ck_assert_uint_eq(s.calls, 1);
	smtp_data_free(&d);
}
END_TEST

/* 50 MiB through an evbuffer in 64 KiB reads: only pieces, ever. */
START_TEST(data_fifty_mib)
{
	struct smtp_data	*d;
	struct evbuffer		*in = evbuffer_new();
	struct sink		 s;
	struct smtp_reply	 reply;
	enum smtp_data_status	 st = SMTP_DATA_MORE;
	char			*chunk;
	size_t			 i, total = 50 * 1024 * 1024, step = 65536;

	chunk = xmalloc(step);
	for (i = 0; i < step; i += 64) {
		memset(chunk + i, 'm', 62);
		chunk[i] = '.';		/* every line needs unstuffing */
		memcpy(chunk + i + 62, "\r\n", 2);
	}
	memset(&s, 0, sizeof(s));
	d = smtp_data_new(total, sink_fn, &s);
	for (i = 0; i < total; i += step) {
		evbuffer_add(in, chunk, step);
		st = smtp_data_read(d, in, &reply);
		ck_assert_int_eq(st, SMTP_DATA_MORE);
		ck_assert_uint_eq(evbuffer_get_length(in), 0);
	}
	evbuffer_add(in, ".\r\nQUIT\r\n", 9);
	st = smtp_data_read(d, in, &reply);
	ck_assert_int_eq(st, SMTP_DATA_DONE);
	ck_assert_int_eq(reply.code, 0);
	ck_assert_uint_eq(evbuffer_get_length(in), 6);
	/* One dot fewer per 64-octet line. */
	ck_assert_uint_eq(s.len, total - total / 64);
	ck_assert_uint_eq(smtp_data_size(d), total - total / 64);
	ck_assert_uint_le(s.biggest, step);
	ck_assert_uint_gt(s.calls, total / step);
	smtp_data_free(&d);
	evbuffer_free(in);
	free(chunk);
}
END_TEST

Suite *
smtp_data_suite(void)
{
	Suite	*s = suite_create("smtp_data");
	TCase	*tc;

	tc = tcase_create("framing");
	tcase_add_test(tc, data_basic);
	tcase_add_test(tc, data_dot_unstuffing);
	suite_add_tcase(s, tc);

	tc = tcase_create("refusals");
	tcase_add_test(tc, data_smuggling);
	tcase_add_test(tc, data_bare_lf_cr);
	tcase_add_test(tc, data_size_limit);
	tcase_add_test(tc, data_sink_failure);
	suite_add_tcase(s, tc);

	tc = tcase_create("content");
	tcase_add_test(tc, data_nul_8bit_long);
	tcase_add_test(tc, data_fifty_mib);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_util_run(smtp_data_suite());
}
