/*
 * check_imap_quote.c: strings written into responses.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <event2/buffer.h>

#include "imap-outbuf.h"
#include "imap-quote.h"
#include "xmalloc.h"
#include "check-util.h"

Suite	*imap_quote_suite(void);

enum how { STRING, ASTRING, NSTRING, NOLF, HUMANS };

static char *
quote(enum how how, const char *s, size_t len, unsigned int flags)
{
	struct evbuffer	*b = evbuffer_new();
	size_t		 n;
	char		*out;

	switch (how) {
	case STRING:
		imap_quote_string(b, s, len, flags);
		break;
	case ASTRING:
		imap_quote_astring(b, s, len, flags);
		break;
	case NSTRING:
		imap_quote_nstring(b, s, len, flags);
		break;
	case NOLF:
		imap_quote_nstring_nolf(b, s, len, flags);
		break;
	case HUMANS:
		imap_quote_humans(b, s, len);
		break;
	}
	n = evbuffer_get_length(b);
	out = xmalloc(n + 1);
	evbuffer_remove(b, out, n);
	out[n] = '\0';
	evbuffer_free(b);
	return out;
}

static void
check_quote(enum how how, const char *s, size_t len, unsigned int flags,
    const char *want)
{
	char	*got = quote(how, s, len, flags);

	if (strcmp(got, want) != 0)
		ck_abort_msg("want [%s], got [%s]", want, got);
	free(got);
}

START_TEST(test_quote)
{
	check_quote(STRING, "abc", 3, 0, "\"abc\"");
	check_quote(STRING, "", 0, 0, "\"\"");
	check_quote(STRING, "a\"b\\c", 5, 0, "\"a\\\"b\\\\c\"");
	check_quote(STRING, "a\r\nb", 4, 0, "{4}\r\na\r\nb");
	check_quote(STRING, "gr\xc3\xbc\xc3\x9f", 6, 0, "{6}\r\ngr\xc3\xbc\xc3\x9f");
	check_quote(STRING, "gr\xc3\xbc\xc3\x9f", 6, IMAP_QUOTE_F_UTF8,
	    "\"gr\xc3\xbc\xc3\x9f\"");
	check_quote(STRING, "gr\xfc", 3, IMAP_QUOTE_F_UTF8, "{3}\r\ngr\xfc");
	/* NUL never goes out, not even in a literal (RFC 3501 CHAR8). */
	check_quote(STRING, "a\0b\0", 4, 0, "{4}\r\na\x80" "b\x80");
	check_quote(ASTRING, "INBOX", 5, 0, "INBOX");
	check_quote(ASTRING, "a b", 3, 0, "\"a b\"");
	check_quote(ASTRING, "", 0, 0, "\"\"");
	check_quote(ASTRING, "NIL", 3, 0, "\"NIL\"");
	check_quote(ASTRING, "nil", 3, 0, "\"nil\"");
	check_quote(ASTRING, "Entw&APw-rfe", 12, 0, "Entw&APw-rfe");
	check_quote(ASTRING, "a]", 2, 0, "\"a]\"");
	check_quote(ASTRING, "a%", 2, 0, "\"a%\"");
	check_quote(ASTRING, "a{1}", 4, 0, "\"a{1}\"");
	check_quote(NSTRING, NULL, 0, 0, "NIL");
	check_quote(NSTRING, "x", 1, 0, "\"x\"");
	ck_assert(imap_quote_is_atom("FROM", 4));
	ck_assert(!imap_quote_is_atom("", 0));
	ck_assert(!imap_quote_is_atom("a(", 2));
}
END_TEST

START_TEST(test_long)
{
	char	*s, *got;
	size_t	 n = IMAP_QUOTE_QUOTED_MAX;

	s = xmalloc(n + 2);
	memset(s, 'a', n + 1);
	s[n + 1] = '\0';
	got = quote(STRING, s, n, 0);
	ck_assert_uint_eq(strlen(got), n + 2);
	ck_assert(got[0] == '"');
	free(got);
	got = quote(STRING, s, n + 1, 0);
	ck_assert(strncmp(got, "{1025}\r\n", 8) == 0);
	free(got);
	free(s);
}
END_TEST

START_TEST(test_mailbox)
{
	struct evbuffer	*b = evbuffer_new();
	char		 out[64];
	size_t		 n;

	ck_assert_int_eq(imap_quote_mailbox(b, "Entw\xc3\xbc" "rfe"), 0);
	evbuffer_add(b, " ", 1);
	ck_assert_int_eq(imap_quote_mailbox(b, "inbox"), 0);
	evbuffer_add(b, " ", 1);
	ck_assert_int_eq(imap_quote_mailbox(b, "Gesendet Mails"), 0);
	evbuffer_add(b, " ", 1);
	ck_assert_int_eq(imap_quote_mailbox(b, "\xff"), -1);
	n = evbuffer_remove(b, out, sizeof(out) - 1);
	out[n] = '\0';
	ck_assert_str_eq(out, "Entw&APw-rfe INBOX \"Gesendet Mails\" ");
	evbuffer_free(b);
}
END_TEST

/*
 * ENVELOPE and BODYSTRUCTURE strings follow Dovecot's rules (clients
 * compare; tests/mime-dovecot.test checks whole messages).
 */
START_TEST(test_message_data)
{
	char	 big[2001], *got;

	/* Past four escapes a literal is shorter; four are still quoted. */
	check_quote(STRING, "\"\"\"\"", 4, IMAP_QUOTE_F_MESSAGE,
	    "\"\\\"\\\"\\\"\\\"\"");
	check_quote(STRING, "\"\"\"\"\"", 5, IMAP_QUOTE_F_MESSAGE,
	    "{5}\r\n\"\"\"\"\"");
	check_quote(STRING, "\"\"\"\"\"", 5, 0, "\"\\\"\\\"\\\"\\\"\\\"\"");
	/* Any length is quoted. */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	got = quote(STRING, big, 2000, IMAP_QUOTE_F_MESSAGE);
	ck_assert_uint_eq(got[0], '"');
	free(got);
	check_quote(STRING, "\xc3\xa4", 2, IMAP_QUOTE_F_MESSAGE,
	    "{2}\r\n\xc3\xa4");

	/* Folds kept as LF become one space, none before a blank. */
	check_quote(NOLF, NULL, 0, IMAP_QUOTE_F_MESSAGE, "NIL");
	check_quote(NOLF, "<a@b>", 5, IMAP_QUOTE_F_MESSAGE, "\"<a@b>\"");
	check_quote(NOLF, "Mon,\n 1 Jan", 11, IMAP_QUOTE_F_MESSAGE,
	    "\"Mon, 1 Jan\"");
	check_quote(NOLF, "a\nb", 3, IMAP_QUOTE_F_MESSAGE, "\"a b\"");

	/* For humans: blanks squeezed, anything changed a literal. */
	check_quote(HUMANS, "plain words", 11, 0, "\"plain words\"");
	check_quote(HUMANS, "", 0, 0, "\"\"");
	check_quote(HUMANS, "  \t ", 4, 0, "\"\"");
	check_quote(HUMANS, " two  spaces\n\tfold ", 19, 0,
	    "{15}\r\ntwo spaces fold");
	check_quote(HUMANS, "say \"hi\"", 8, 0, "{8}\r\nsay \"hi\"");
	check_quote(HUMANS, "\xc3\xa4", 2, 0, "{2}\r\n\xc3\xa4");
}
END_TEST

/*
 * imap_write_numbers() and imap_outbuf against printf, across the
 * staging buffer's edge (10,000 numbers of every length, 0 and the
 * largest included).
 */
START_TEST(test_numbers)
{
	struct evbuffer		*got, *want;
	struct imap_outbuf	 ob;
	uint32_t		*v;
	size_t			 i, n = 10000;

	v = xreallocarray(NULL, n, sizeof(*v));
	for (i = 0; i < n; i++)
		v[i] = i == 0 ? 0 : i == 1 ? UINT32_MAX :
		    (uint32_t)(i * 2654435761u) >> (i % 32);
	got = evbuffer_new();
	want = evbuffer_new();
	imap_write_numbers(got, v, n);
	for (i = 0; i < n; i++)
		evbuffer_add_printf(want, " %u", v[i]);
	ck_assert_uint_eq(evbuffer_get_length(got), evbuffer_get_length(want));
	ck_assert(memcmp(evbuffer_pullup(got, -1), evbuffer_pullup(want, -1),
	    evbuffer_get_length(want)) == 0);
	evbuffer_drain(got, evbuffer_get_length(got));
	evbuffer_drain(want, evbuffer_get_length(want));
	imap_outbuf_init(&ob, got);
	for (i = 0; i < n; i++) {
		imap_outbuf_char(&ob, '(');
		imap_outbuf_u32(&ob, v[i]);
		imap_outbuf_char(&ob, ')');
		evbuffer_add_printf(want, "(%u)", v[i]);
	}
	imap_outbuf_flush(&ob);
	ck_assert_uint_eq(evbuffer_get_length(got), evbuffer_get_length(want));
	ck_assert(memcmp(evbuffer_pullup(got, -1), evbuffer_pullup(want, -1),
	    evbuffer_get_length(want)) == 0);
	/* Nothing to write is nothing written. */
	evbuffer_drain(got, evbuffer_get_length(got));
	imap_write_numbers(got, v, 0);
	ck_assert_uint_eq(evbuffer_get_length(got), 0);
	evbuffer_free(got);
	evbuffer_free(want);
	free(v);
}
END_TEST

Suite *
imap_quote_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("imap_quote");
	tc = tcase_create("quote");
	tcase_add_test(tc, test_quote);
	tcase_add_test(tc, test_long);
	tcase_add_test(tc, test_mailbox);
	tcase_add_test(tc, test_message_data);
	tcase_add_test(tc, test_numbers);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_util_run(imap_quote_suite());
}
