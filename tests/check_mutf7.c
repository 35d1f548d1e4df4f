/*
 * check_mutf7.c: modified UTF-7 mailbox names.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "mutf7.h"
#include "util.h"
#include "check-util.h"

Suite	*mutf7_suite(void);

static const struct {
	const char	*utf8;
	const char	*mutf7;
} pairs[] = {
	{ "INBOX", "INBOX" },
	{ "", "" },
	{ "Entw\xc3\xbc" "rfe", "Entw&APw-rfe" },
	{ "Gesendet", "Gesendet" },
	{ "&", "&-" },
	{ "A&B", "A&-B" },
	{ "&&", "&-&-" },
	{ "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
	  "~peter/mail/&U,BTFw-/&ZeVnLIqe-" },
	{ "\xc3\xa4\xc3\xb6\xc3\xbc", "&AOQA9gD8-" },
	{ "\xc3\xa4" "&", "&AOQ-&-" },
	{ "&\xc3\xa4", "&-&AOQ-" },
	/* Outside the BMP: a surrogate pair (U+1F600). */
	{ "\xf0\x9f\x98\x80", "&2D3eAA-" },
	{ "a\xf0\x9f\x98\x80" "b", "a&2D3eAA-b" },
	/* Control characters are not printable: base64. */
	{ "a\tb", "a&AAk-b" },
	{ "\x7f", "&AH8-" },
	/* Boundaries of the base64 groups: 1, 2 and 3 UTF-16 units. */
	{ "\xc3\xa9", "&AOk-" },
	{ "\xc3\xa9\xc3\xa9", "&AOkA6Q-" },
	{ "\xc3\xa9\xc3\xa9\xc3\xa9", "&AOkA6QDp-" },
	{ "\xef\xbf\xbd", "&,,0-" },
};

START_TEST(test_pairs)
{
	size_t		 i;
	char		*out;
	const char	*error;

	for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		ck_assert_int_eq(mutf7_encode(pairs[i].utf8,
		    strlen(pairs[i].utf8), &out, &error), 0);
		if (strcmp(out, pairs[i].mutf7) != 0)
			ck_abort_msg("encode %zu: want %s, got %s", i,
			    pairs[i].mutf7, out);
		free(out);
		ck_assert_int_eq(mutf7_decode(pairs[i].mutf7,
		    strlen(pairs[i].mutf7), &out, &error), 0);
		if (strcmp(out, pairs[i].utf8) != 0)
			ck_abort_msg("decode %zu: %s", i, pairs[i].mutf7);
		free(out);
		ck_assert(mutf7_is_valid(pairs[i].mutf7,
		    strlen(pairs[i].mutf7)));
	}
}
END_TEST

START_TEST(test_decode_invalid)
{
	static const struct {
		const char	*in;
		const char	*why;
	} bad[] = {
		{ "Entw\xc3\xbcrfe", "8-bit character" },
		{ "a\tb", "Control character" },
		{ "&", "unterminated shift" },
		{ "a&APw", "unterminated shift" },
		{ "&APw", "unterminated shift" },
		{ "&AP/-", "bad base64" },		/* "/" is ","  here */
		{ "&AP=-", "bad base64" },
		{ "&AP w-", "bad base64" },
		{ "&AGE-", "encoded ASCII" },		/* "a" */
		{ "&ACY-", "encoded ASCII" },		/* "&" must be "&-" */
		{ "&ACA-", "encoded ASCII" },		/* space */
		{ "&AAA-", "NUL" },
		{ "&AOQ-&APY-", "adjacent shifts" },
		{ "&AOR-", "bad base64 padding" },	/* nonzero spare bits */
		{ "&AOQA-", "bad base64 padding" },	/* a spare digit */
		{ "&A-", "bad base64 padding" },
		{ "&AO-", "bad base64 padding" },
		{ "&2D0-", "lone surrogate" },		/* high, then end */
		{ "&2D0AYQ-", "lone surrogate" },	/* high, then not low */
		{ "&3gA-", "lone surrogate" },		/* low alone */
		{ "&3gDYPQ-", "lone surrogate" },	/* reversed pair */
		{ "&2D3YPQ-", "lone surrogate" },	/* high, high */
	};
	size_t		 i;
	char		*out;
	const char	*error;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (mutf7_decode(bad[i].in, strlen(bad[i].in), &out,
		    &error) == 0)
			ck_abort_msg("accepted %s as %s", bad[i].in, out);
		if (strstr(error, bad[i].why) == NULL)
			ck_abort_msg("%s: want \"%s\", got \"%s\"", bad[i].in,
			    bad[i].why, error);
		ck_assert(!mutf7_is_valid(bad[i].in, strlen(bad[i].in)));
	}
	/* A NUL in the middle is not taken for the end. */
	ck_assert_int_eq(mutf7_decode("a\0b", 3, &out, &error), -1);
}
END_TEST

START_TEST(test_encode_invalid)
{
	static const char *const bad[] = {
		"\xc3",			/* truncated */
		"\xc3\x28",		/* bad continuation */
		"\xc0\xaf",		/* overlong "/" */
		"\xe0\x80\xaf",		/* overlong */
		"\xed\xa0\x80",		/* UTF-16 surrogate in UTF-8 */
		"\xf4\x90\x80\x80",	/* above U+10FFFF */
		"\xf8\x88\x80\x80\x80",	/* five bytes */
		"\x80",			/* lone continuation */
		"\xff",
	};
	size_t		 i;
	char		*out;
	const char	*error;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(mutf7_encode(bad[i], strlen(bad[i]), &out,
		    &error), -1);
		ck_assert(!utf8_is_valid(bad[i], strlen(bad[i])));
	}
	ck_assert_int_eq(mutf7_encode("a\0b", 3, &out, &error), -1);
	ck_assert_str_eq(error, "NUL in mailbox name");
	ck_assert(utf8_is_valid("\xf4\x8f\xbf\xbf", 4));
	ck_assert(utf8_is_valid("", 0));
}
END_TEST

START_TEST(test_roundtrip)
{
	char		 in[64], *enc, *dec;
	const char	*error;
	unsigned int	 cp, i;
	size_t		 n;

	/* Every BMP code point but surrogates and NUL, in a few contexts. */
	for (cp = 1; cp < 0x110000; cp += (cp < 0x800 ? 1 : 97)) {
		if (cp >= 0xd800 && cp <= 0xdfff)
			continue;
		n = 0;
		in[n++] = 'x';
		for (i = 0; i < 2; i++) {
			if (cp < 0x80)
				in[n++] = (char)cp;
			else if (cp < 0x800) {
				in[n++] = (char)(0xc0 | (cp >> 6));
				in[n++] = (char)(0x80 | (cp & 0x3f));
			} else if (cp < 0x10000) {
				in[n++] = (char)(0xe0 | (cp >> 12));
				in[n++] = (char)(0x80 | ((cp >> 6) & 0x3f));
				in[n++] = (char)(0x80 | (cp & 0x3f));
			} else {
				in[n++] = (char)(0xf0 | (cp >> 18));
				in[n++] = (char)(0x80 | ((cp >> 12) & 0x3f));
				in[n++] = (char)(0x80 | ((cp >> 6) & 0x3f));
				in[n++] = (char)(0x80 | (cp & 0x3f));
			}
		}
		in[n] = '\0';
		ck_assert_int_eq(mutf7_encode(in, n, &enc, &error), 0);
		if (mutf7_decode(enc, strlen(enc), &dec, &error) != 0)
			ck_abort_msg("U+%04X: %s: %s", cp, enc, error);
		ck_assert_str_eq(dec, in);
		free(enc);
		free(dec);
	}
}
END_TEST

Suite *
mutf7_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("mutf7");
	tc = tcase_create("convert");
	tcase_add_test(tc, test_pairs);
	tcase_add_test(tc, test_roundtrip);
	suite_add_tcase(s, tc);
	tc = tcase_create("invalid");
	tcase_add_test(tc, test_decode_invalid);
	tcase_add_test(tc, test_encode_invalid);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_util_run(mutf7_suite());
}
