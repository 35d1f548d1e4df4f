/*
 * check_message_subject.c: RFC 5256 2.1 base subject extraction.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "message-subject.h"

static const struct {
	const char	*in;
	const char	*base;
	int		 refwd;
} subject_cases[] = {
	{ "Hello", "Hello", 0 },
	{ "", "", 0 },
	{ "   ", "", 0 },
	/* (1) tabs and folds are one space. */
	{ "a\t\tb\n c", "a b c", 0 },
	/* (2) trailers. */
	{ "Hello (fwd)", "Hello", 1 },
	{ "Hello (FWD)  (fwd) ", "Hello", 1 },
	{ "Hello(fwd)x", "Hello(fwd)x", 0 },
	/* (3) leaders. */
	{ "Re: Hello", "Hello", 1 },
	{ "RE:Hello", "Hello", 1 },
	{ "re : Hello", "Hello", 1 },
	{ "Fwd: Hello", "Hello", 1 },
	{ "FW: Hello", "Hello", 1 },
	{ "Re: Re: Fwd: Hello", "Hello", 1 },
	{ "Re[2]: Hello", "Hello", 1 },
	{ "Re [2] : Hello", "Hello", 1 },
	{ "[list] Re: Hello", "Hello", 1 },
	{ "Reply: Hello", "Reply: Hello", 0 },
	{ "Re Hello", "Re Hello", 0 },
	/* (4) a leading blob goes if something is left. */
	{ "[list] Hello", "Hello", 0 },
	{ "[list]", "[list]", 0 },
	{ "[a][b] Hello", "Hello", 0 },
	{ "[a [b] Hello", "[a [b] Hello", 0 },
	/* (5) (3) and (4) again. */
	{ "[list] Re: [other] Re: Hello", "Hello", 1 },
	/* (6) [fwd: ...] and back to (2). */
	{ "[fwd: Hello]", "Hello", 1 },
	{ "[Fwd: Re: Hello (fwd)]", "Hello", 1 },
	{ "[fwd: Hello", "[fwd: Hello", 0 },
	/* RFC 2047 words decode first. */
	{ "=?UTF-8?Q?Re=3A_Gr=C3=BC=C3=9Fe?=", "Gr\xc3\xbc\xc3\x9f" "e", 1 },
	{ "Re: =?ISO-8859-1?Q?caf=E9?= (fwd)", "caf\xc3\xa9", 1 },
	/* A NUL from a word is a blank, never a NUL in the result. */
	{ "=?UTF-8?Q?a=00b?=", "a b", 0 },
};

START_TEST(test_base)
{
	const char	*in = subject_cases[_i].in;
	char		*base;
	int		 refwd = -1;

	base = message_subject_base(in, strlen(in), &refwd);
	ck_assert_msg(strcmp(base, subject_cases[_i].base) == 0,
	    "\"%s\": \"%s\", not \"%s\"", in, base, subject_cases[_i].base);
	ck_assert_msg(refwd == subject_cases[_i].refwd, "\"%s\": refwd %d",
	    in, refwd);
	free(base);
}
END_TEST

START_TEST(test_null)
{
	char	*base;
	int	 refwd = -1;

	base = message_subject_base(NULL, 0, &refwd);
	ck_assert_str_eq(base, "");
	ck_assert_int_eq(refwd, 0);
	free(base);
}
END_TEST

/* Linear: a long run of leaders is taken off in one pass each. */
START_TEST(test_long)
{
	size_t	 n = 200000, i;
	char	*in = malloc(n * 4 + 6), *base;

	ck_assert_ptr_nonnull(in);
	for (i = 0; i < n; i++)
		memcpy(in + i * 4, "Re: ", 4);
	memcpy(in + n * 4, "Hello", 6);
	base = message_subject_base(in, strlen(in), NULL);
	ck_assert_str_eq(base, "Hello");
	free(base);
	free(in);
}
END_TEST

static Suite *
message_subject_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("message_subject");
	tc = tcase_create("base");
	tcase_add_loop_test(tc, test_base, 0,
	    (int)(sizeof(subject_cases) / sizeof(subject_cases[0])));
	tcase_add_test(tc, test_null);
	tcase_add_test(tc, test_long);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(message_subject_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
