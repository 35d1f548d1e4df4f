/*
 * check_sasl.c: unit tests of daemon/sasl.c, the one SASL decoder of
 * IMAP AUTHENTICATE and SMTP AUTH (the protocols' replies to its status
 * are pinned in check_smtp_parser.c and imapd.test).
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "sasl.h"
#include "check-util.h"

Suite	*sasl_suite(void);

START_TEST(test_response)
{
	unsigned char	 out[16];
	size_t		 n;

	ck_assert_int_eq(sasl_response_decode("*", 1, out, sizeof(out), &n),
	    SASL_CANCELLED);
	ck_assert_int_eq(sasl_response_decode("=", 1, out, sizeof(out), &n),
	    SASL_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(sasl_response_decode("AGEAYg==", 8, out, sizeof(out),
	    &n), SASL_OK);
	ck_assert_uint_eq(n, 4);
	ck_assert(memcmp(out, "\0a\0b", 4) == 0);
	/* RFC 4648 4: no white space, padding required, zero trailing bits. */
	ck_assert_int_eq(sasl_response_decode("AGEA Yg=", 8, out, sizeof(out),
	    &n), SASL_BAD_BASE64);
	ck_assert_int_eq(sasl_response_decode("AGEAYg", 6, out, sizeof(out),
	    &n), SASL_BAD_BASE64);
	ck_assert_int_eq(sasl_response_decode("AGEAYh==", 8, out, sizeof(out),
	    &n), SASL_BAD_BASE64);
	ck_assert_int_eq(sasl_response_decode("QUFBQUFBQUFBQUFBQUFBQUFBQUFB",
	    28, out, 6, &n), SASL_TOO_LONG);
}
END_TEST

START_TEST(test_plain)
{
	struct sasl_plain	 sp;
	char			 big[SASL_PASS_MAX + 8];

	ck_assert_int_eq(sasl_plain_split("\0bob@x.test\0pw", 14, &sp),
	    SASL_OK);
	ck_assert_uint_eq(sp.authzid_len, 0);
	ck_assert_uint_eq(sp.authcid_len, 10);
	ck_assert(memcmp(sp.passwd, "pw", 2) == 0 && sp.passwd_len == 2);
	ck_assert_int_eq(sasl_plain_split("z\0u\0p", 5, &sp), SASL_OK);
	ck_assert_uint_eq(sp.authzid_len, 1);
	/* RFC 4616 2: exactly two NULs. */
	ck_assert_int_eq(sasl_plain_split("bob", 3, &sp), SASL_MALFORMED);
	ck_assert_int_eq(sasl_plain_split("\0bob", 4, &sp), SASL_MALFORMED);
	ck_assert_int_eq(sasl_plain_split("\0b\0p\0", 5, &sp), SASL_MALFORMED);
	/* Empty or overlong identities and passwords. */
	ck_assert_int_eq(sasl_plain_split("\0\0pw", 4, &sp), SASL_INVALID);
	ck_assert_int_eq(sasl_plain_split("\0u\0", 3, &sp), SASL_INVALID);
	memset(big, 'p', sizeof(big));
	big[0] = '\0';
	big[1] = 'u';
	big[2] = '\0';
	ck_assert_int_eq(sasl_plain_split(big, 3 + SASL_PASS_MAX, &sp),
	    SASL_OK);
	ck_assert_int_eq(sasl_plain_split(big, 4 + SASL_PASS_MAX, &sp),
	    SASL_INVALID);
}
END_TEST

Suite *
sasl_suite(void)
{
	Suite	*s = suite_create("sasl");
	TCase	*tc;

	tc = tcase_create("decode");
	tcase_add_test(tc, test_response);
	tcase_add_test(tc, test_plain);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_util_run(sasl_suite());
}
