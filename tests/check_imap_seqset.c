/*
 * check_imap_seqset.c: sequence sets.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "imap-seqset.h"
#include "xmalloc.h"
#include "check-util.h"

Suite	*imap_seqset_suite(void);

/* Parses str with star and returns the normalized set as text. */
static char *
norm(const char *str, uint32_t star, unsigned int flags)
{
	struct imap_seqset	 set;
	const char		*error;
	char			*s;

	imap_seqset_init(&set);
	if (imap_seqset_parse(&set, str, star, 0, flags, &error) == -1)
		return xstrdup("ERR");
	s = imap_seqset_format(&set);
	imap_seqset_clear(&set);
	return s;
}

static void
check_norm(const char *str, uint32_t star, const char *want)
{
	char	*got = norm(str, star, IMAP_SEQSET_F_SAVED);

	if (strcmp(got, want) != 0)
		ck_abort_msg("%s (* = %u): want %s, got %s", str, star, want,
		    got);
	free(got);
}

START_TEST(test_parse)
{
	check_norm("1", 10, "1");
	check_norm("1,3:5,7:*", 10, "1,3:5,7:10");
	check_norm("*", 10, "10");
	check_norm("*:1", 3, "1:3");
	check_norm("5:2", 10, "2:5");
	check_norm("3,1,2", 10, "1:3");
	check_norm("1:3,2:6,8,9,10:12,20", 100, "1:6,8:12,20");
	check_norm("1,1,1,1", 10, "1");
	check_norm("007", 10, "7");
	check_norm("4294967295", 10, "4294967295");
	check_norm("1:4294967295", 10, "1:4294967295");
	check_norm("4294967294,4294967295,1", 10, "1,4294967294:4294967295");
	/* RFC 3501 6.4.8: 559:* holds the last UID even below 559. */
	check_norm("559:*", 100, "100:559");
	/* An empty mailbox: "*" matches nothing. */
	check_norm("*", 0, "");
	check_norm("1:*", 0, "");
	check_norm("1:*,4", 0, "4");
}
END_TEST

START_TEST(test_reject)
{
	static const char *const bad[] = {
		"", "0", "00", "0:5", "5:0", "1,0", "4294967296",
		"99999999999999999999", "-1", "1:", ":1", "1,", ",1", "1,,2",
		"1::2", "1:2:3", "a", "1a", " 1", "1 ", "**", "*1", "1*",
		"$", "$,1", "1,$", "1:$", "+1",
	};
	size_t	 i;
	char	*got;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		got = norm(bad[i], 10, 0);
		if (strcmp(got, "ERR") != 0)
			ck_abort_msg("\"%s\" accepted as %s", bad[i], got);
		free(got);
	}
}
END_TEST

START_TEST(test_saved)
{
	struct imap_seqset	 set;
	const char		*error;

	imap_seqset_init(&set);
	ck_assert_int_eq(imap_seqset_parse(&set, "$", 10, 0,
	    IMAP_SEQSET_F_SAVED, &error), 0);
	ck_assert(set.saved);
	ck_assert_uint_eq(set.count, 0);
	ck_assert_int_eq(imap_seqset_parse(&set, "$", 10, 0, 0, &error), -1);
	ck_assert_int_eq(imap_seqset_parse(&set, "$:3", 10, 0,
	    IMAP_SEQSET_F_SAVED, &error), -1);
	ck_assert_int_eq(imap_seqset_parse(&set, "1:*", 10, 0, 0, &error), 0);
	ck_assert(set.star);
	ck_assert(!set.saved);
	ck_assert(imap_seqset_is_syntax("1:*,5", 0));
	ck_assert(!imap_seqset_is_syntax("1:*,0", 0));
	ck_assert(imap_seqset_is_syntax("$", IMAP_SEQSET_F_SAVED));
	imap_seqset_clear(&set);
}
END_TEST

START_TEST(test_limit)
{
	struct imap_seqset	 set;
	const char		*error;
	char			*s;
	size_t			 i, n = 1000;

	/* "1,3,5,...": n parts. */
	s = xmalloc(n * 12 + 1);
	s[0] = '\0';
	for (i = 0; i < n; i++) {
		char	 num[16];

		snprintf(num, sizeof(num), "%s%zu", i > 0 ? "," : "",
		    2 * i + 1);
		strcat(s, num);
	}
	imap_seqset_init(&set);
	ck_assert_int_eq(imap_seqset_parse(&set, s, 10, n, 0, &error), 0);
	ck_assert_uint_eq(set.count, n);
	ck_assert_int_eq(imap_seqset_parse(&set, s, 10, n - 1, 0, &error), -1);
	ck_assert_str_eq(error, "Too many ranges in sequence set");
	ck_assert_uint_eq(set.count, 0);
	imap_seqset_clear(&set);
	free(s);
}
END_TEST

START_TEST(test_members)
{
	struct imap_seqset	 set;
	struct imap_seqset_iter	 it;
	const char		*error;
	uint32_t		 v, want[] = { 2, 3, 4, 9, 4294967294, 4294967295 };
	size_t			 i;

	imap_seqset_init(&set);
	ck_assert_int_eq(imap_seqset_parse(&set, "9,2:4,4294967294:*", 4294967295u,
	    0, 0, &error), 0);
	ck_assert_uint_eq(imap_seqset_count(&set), 6);
	ck_assert_uint_eq(imap_seqset_min(&set), 2);
	ck_assert_uint_eq(imap_seqset_max(&set), 4294967295u);
	ck_assert(!imap_seqset_contains(&set, 1));
	ck_assert(imap_seqset_contains(&set, 2));
	ck_assert(imap_seqset_contains(&set, 4));
	ck_assert(!imap_seqset_contains(&set, 5));
	ck_assert(imap_seqset_contains(&set, 9));
	ck_assert(!imap_seqset_contains(&set, 10));
	ck_assert(imap_seqset_contains(&set, 4294967295u));
	ck_assert(!imap_seqset_contains(&set, 0));
	/* The next member at or above a value. */
	ck_assert_uint_eq(imap_seqset_next(&set, 0), 2);
	ck_assert_uint_eq(imap_seqset_next(&set, 3), 3);
	ck_assert_uint_eq(imap_seqset_next(&set, 5), 9);
	ck_assert_uint_eq(imap_seqset_next(&set, 10), 4294967294u);
	ck_assert_uint_eq(imap_seqset_next(&set, 4294967295u), 4294967295u);
	/* Iteration ends at 2^32-1 instead of wrapping to 0. */
	imap_seqset_iter_init(&it, &set);
	for (i = 0; imap_seqset_iter_next(&it, &v); i++) {
		ck_assert_uint_lt(i, 6);
		ck_assert_uint_eq(v, want[i]);
	}
	ck_assert_uint_eq(i, 6);
	imap_seqset_clear(&set);

	/* The whole 32-bit range: counted in 64 bits. */
	ck_assert_int_eq(imap_seqset_parse(&set, "1:*", 4294967295u, 0, 0,
	    &error), 0);
	ck_assert_uint_eq(imap_seqset_count(&set), 4294967295ull);
	imap_seqset_clear(&set);

	/* Building a set for a response (COPYUID). */
	imap_seqset_add(&set, 7, 5);
	imap_seqset_add(&set, 1, 1);
	imap_seqset_add(&set, 0, 0);
	imap_seqset_add(&set, 2, 2);
	imap_seqset_add(&set, 8, 8);
	imap_seqset_normalize(&set);
	{
		char	*s = imap_seqset_format(&set);

		ck_assert_str_eq(s, "1:2,5:8");
		free(s);
	}
	imap_seqset_iter_init(&it, &set);
	imap_seqset_clear(&set);
	imap_seqset_iter_init(&it, &set);
	ck_assert(!imap_seqset_iter_next(&it, &v));
	ck_assert_uint_eq(imap_seqset_min(&set), 0);
	ck_assert_uint_eq(imap_seqset_next(&set, 1), 0);
	ck_assert_uint_eq(imap_seqset_count(&set), 0);
}
END_TEST

Suite *
imap_seqset_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("imap_seqset");
	tc = tcase_create("parse");
	tcase_add_test(tc, test_parse);
	tcase_add_test(tc, test_reject);
	tcase_add_test(tc, test_saved);
	tcase_add_test(tc, test_limit);
	suite_add_tcase(s, tc);
	tc = tcase_create("members");
	tcase_add_test(tc, test_members);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_util_run(imap_seqset_suite());
}
