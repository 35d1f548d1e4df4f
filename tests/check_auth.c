/*
 * check_auth.c: unit tests of daemon/auth.h that need no daemon: the
 * throttling key of a client address (issue 19: IPv6 per /64).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "auth.h"
#include "check-util.h"

Suite	*auth_suite(void);

/* Two at a time may be compared: they take turns with two buffers. */
static const char *
key(const char *peer)
{
	static char	 buf[2][64];
	static int	 i;

	i = !i;
	auth_peer_key(peer, buf[i], sizeof(buf[i]));
	return buf[i];
}

START_TEST(test_ipv4_whole)
{
	ck_assert_str_eq(key("203.0.113.5"), "ip:203.0.113.5");
	ck_assert_str_ne(key("203.0.113.5"), key("203.0.113.6"));
}
END_TEST

START_TEST(test_ipv6_per_64)
{
	/* Every address of one /64 is one client. */
	ck_assert_str_eq(key("2001:db8:1:2::1"), "ip6:2001:db8:1:2::/64");
	ck_assert_str_eq(key("2001:db8:1:2:aaaa:bbbb:cccc:dddd"),
	    key("2001:db8:1:2::1"));
	ck_assert_str_ne(key("2001:db8:1:3::1"), key("2001:db8:1:2::1"));
	ck_assert_str_eq(key("::1"), "ip6:::/64");
}
END_TEST

START_TEST(test_other_peers)
{
	/* A v4-mapped address is the IPv4 client, not a /64. */
	ck_assert_str_eq(key("::ffff:192.0.2.1"), "ip:::ffff:192.0.2.1");
	ck_assert_str_eq(key("unix"), "ip:unix");
}
END_TEST

Suite *
auth_suite(void)
{
	Suite	*s = suite_create("auth");
	TCase	*tc = tcase_create("peer key");

	tcase_add_test(tc, test_ipv4_whole);
	tcase_add_test(tc, test_ipv6_per_64);
	tcase_add_test(tc, test_other_peers);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_util_run(auth_suite());
}
