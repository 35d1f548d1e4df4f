/*
 * check_workers.c: unit tests of daemon/workers.h's shared tables: counts
 * by key stay exact through many insertions and removals (the backward
 * shift of linear probing), limits hold, records keep or drop as their
 * function says, and the Argon2id cap lets hash_cap in at once.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "check-util.h"
#include "util.h"
#include "workers.h"

Suite	*workers_suite(void);

/* Enough keys that probe runs meet and wrap: a fair part of the table. */
#define NKEYS	20000

static const char *
key(int i)
{
	static char	 buf[32];

	snprintf(buf, sizeof(buf), "10.%d.%d.%d", i >> 16, (i >> 8) & 255,
	    i & 255);
	return buf;
}

START_TEST(test_count_limit)
{
	workers_shared_init(2);
	ck_assert_int_eq(workers_count_take("ip", "192.0.2.1", 2), 1);
	ck_assert_int_eq(workers_count_take("ip", "192.0.2.1", 2), 1);
	ck_assert_int_eq(workers_count_take("ip", "192.0.2.1", 2), 0);
	/* Another kind with the same key is another count. */
	ck_assert_int_eq(workers_count_take("account", "192.0.2.1", 2), 1);
	workers_count_put("ip", "192.0.2.1");
	ck_assert_int_eq(workers_count_take("ip", "192.0.2.1", 2), 1);
	ck_assert_int_eq(workers_count_take("ip", "192.0.2.1", 2), 0);
}
END_TEST

START_TEST(test_count_many)
{
	int	 i;

	workers_shared_init(2);
	for (i = 0; i < NKEYS; i++)
		ck_assert_int_eq(workers_count_take("ip", key(i), 1), 1);
	/* Every other one out, from the top: entries shift back. */
	for (i = NKEYS - 1; i >= 0; i -= 2)
		workers_count_put("ip", key(i));
	for (i = 0; i < NKEYS; i++)
		ck_assert_msg(workers_count_take("ip", key(i), 1) == (i & 1),
		    "key %d", i);
	for (i = 0; i < NKEYS; i++)
		workers_count_put("ip", key(i));
	for (i = 0; i < NKEYS; i++)
		ck_assert_int_eq(workers_count_take("ip", key(i), 1), 1);
}
END_TEST

static int
rec_add(struct workers_rec *r, void *arg)
{
	int	*n = arg;

	r->n++;
	r->expires_ms = time_mono_ms() + 60000;
	*n = (int)r->n;
	return 1;
}

static int
rec_drop(struct workers_rec *r, void *arg)
{
	int	*n = arg;

	*n = (int)r->n;
	return 0;
}

START_TEST(test_records)
{
	int	 i, n;

	workers_shared_init(2);
	for (i = 0; i < NKEYS; i++) {
		ck_assert_int_eq(workers_rec_update("fail", key(i), rec_add,
		    &n), 0);
		ck_assert_int_eq(n, 1);
	}
	for (i = 0; i < NKEYS; i += 3)
		workers_rec_update("fail", key(i), rec_drop, &n);
	for (i = 0; i < NKEYS; i++) {
		workers_rec_update("fail", key(i), rec_add, &n);
		ck_assert_msg(n == (i % 3 == 0 ? 1 : 2), "key %d: %d", i, n);
	}
}
END_TEST

START_TEST(test_records_full)
{
	int	 i, n;

	workers_shared_init(2);
	/* Past three quarters of the table: new ones are forgotten. */
	for (i = 0; i < 30000; i++)
		workers_rec_update("fail", key(i), rec_add, &n);
	workers_rec_update("fail", key(0), rec_add, &n);
	ck_assert_int_eq(n, 2);
	workers_rec_update("fail", key(29999), rec_add, &n);
	ck_assert_int_eq(n, 1);
}
END_TEST

START_TEST(test_no_table)
{
	int	 n;

	/* Without workers_shared_init(): callers keep their own state. */
	ck_assert_int_eq(workers_count_take("ip", "192.0.2.1", 1), -1);
	ck_assert_int_eq(workers_rec_update("fail", "x", rec_add, &n), -1);
	workers_hash_begin();
	workers_hash_end();
}
END_TEST

START_TEST(test_number)
{
	ck_assert_uint_eq(workers_number(1), 1);
	ck_assert_uint_eq(workers_number(3), 3);
	ck_assert_uint_eq(workers_number(1000), WORKERS_MAX);
	ck_assert_uint_ge(workers_number(0), 1);
	ck_assert_uint_le(workers_number(0), WORKERS_MAX);
}
END_TEST

Suite *
workers_suite(void)
{
	Suite	*s = suite_create("workers");
	TCase	*tc = tcase_create("counts");

	tcase_add_test(tc, test_count_limit);
	tcase_add_test(tc, test_count_many);
	suite_add_tcase(s, tc);
	tc = tcase_create("records");
	tcase_add_test(tc, test_records);
	tcase_add_test(tc, test_records_full);
	suite_add_tcase(s, tc);
	tc = tcase_create("other");
	tcase_add_test(tc, test_no_table);
	tcase_add_test(tc, test_number);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_util_run(workers_suite());
}
