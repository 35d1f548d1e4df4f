/*
 * check_imap_sort_cache.c: the cache of SORT and THREAD keys
 * (imap-sort-cache.h): lending, replacing, expunging while lent,
 * sharing and expiry, and the memory bound.  Under --enable-sanitizers a key freed while still
 * lent is a use after free ASan reports.  And step-sort.h, the sliced
 * merge sort SORT orders by: the same order as qsort(), however often
 * it is cut off.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "imap-sort-cache.h"
#include "step-sort.h"
#include "xmalloc.h"
#include "check-util.h"

Suite	*imap_sort_cache_suite(void);

/* A message's keys as imap_sort_msg_read() leaves them (owned). */
static void
keys(struct imap_sort_msg *sm, uint32_t uid, const char *subject,
    int with_ids)
{
	memset(sm, 0, sizeof(*sm));
	sm->uid = uid;
	sm->seq = uid;
	sm->date = 1000 + uid;
	sm->subject = xstrdup(subject);
	sm->from = xstrdup("ALICE");
	sm->to = xstrdup("BOB");
	sm->cc = xstrdup("");
	sm->dfrom = xstrdup("ALICE SMITH");
	sm->dto = xstrdup("BOB@EXAMPLE.ORG");
	if (with_ids) {
		xasprintf(&sm->message_id, "m%u@x", uid);
		sm->refs = xcalloc(2, sizeof(*sm->refs));
		sm->refs[0] = xstrdup("a@x");
		sm->refs[1] = xstrdup("b@x");
		sm->nrefs = 2;
	}
}

/* What imap_sort_msg_clear() does, without linking imap-sort.c. */
static void
drop(struct imap_sort_msg *sm)
{
	if (sm->ent != NULL)
		imap_sort_ent_release(&sm->ent);
	else
		imap_sort_keys_free(sm);
	memset(sm, 0, sizeof(*sm));
}

#define HAVE_CHEAP	(IMAP_SORT_WANT_SUBJECT | IMAP_SORT_WANT_DATE | \
			    IMAP_SORT_WANT_ADDRS)

START_TEST(test_lend)
{
	struct imap_sort_cache	*c;
	struct imap_sort_msg	 a, b;
	size_t			 base = imap_sort_cache_total_bytes();

	c = imap_sort_cache_get(1, 2, 3);
	ck_assert(imap_sort_cache_is(c, 1, 2, 3));
	ck_assert(!imap_sort_cache_is(c, 1, 2, 4));
	ck_assert(!imap_sort_cache_is(c, 1, 5, 3));
	ck_assert(!imap_sort_cache_is(NULL, 1, 2, 3));
	memset(&b, 0, sizeof(b));
	ck_assert(!imap_sort_cache_lend(c, 7, 70, IMAP_SORT_WANT_DATE, &b));

	keys(&a, 7, "HELLO", 0);
	imap_sort_cache_put(c, 70, HAVE_CHEAP, &a);
	ck_assert_ptr_nonnull(a.ent);
	ck_assert_uint_eq(imap_sort_cache_count(c), 1);
	ck_assert(imap_sort_cache_lend(c, 7, 70, IMAP_SORT_WANT_SUBJECT, &b));
	ck_assert_ptr_eq(b.subject, a.subject);
	ck_assert_str_eq(b.subject, "HELLO");
	ck_assert_int_eq(b.date, 1007);
	/* Another blob under the UID, or keys it does not hold: a miss. */
	drop(&b);
	ck_assert(!imap_sort_cache_lend(c, 7, 71, IMAP_SORT_WANT_DATE, &b));
	ck_assert(!imap_sort_cache_lend(c, 7, 70, IMAP_SORT_WANT_IDS, &b));
	ck_assert(!imap_sort_cache_lend(c, 8, 70, IMAP_SORT_WANT_DATE, &b));

	/* Read again with the IDs: the new entry replaces the old one. */
	keys(&b, 7, "HELLO", 1);
	imap_sort_cache_put(c, 70, HAVE_CHEAP | IMAP_SORT_WANT_IDS, &b);
	ck_assert_uint_eq(imap_sort_cache_count(c), 1);
	ck_assert_ptr_ne(a.ent, b.ent);
	/* a still holds the replaced entry: its strings are alive. */
	ck_assert_str_eq(a.subject, "HELLO");
	drop(&a);
	ck_assert(imap_sort_cache_lend(c, 7, 70, IMAP_SORT_WANT_IDS, &a));
	ck_assert_uint_eq(a.nrefs, 2);
	ck_assert_str_eq(a.refs[1], "b@x");
	ck_assert_str_eq(a.message_id, "m7@x");
	drop(&a);
	drop(&b);
	imap_sort_cache_put_back(&c);
	imap_sort_cache_expire(0);
	ck_assert_ptr_null(c);
	ck_assert_uint_eq(imap_sort_cache_total_bytes(), base);
}
END_TEST

START_TEST(test_expunge_while_lent)
{
	struct imap_sort_cache	*c;
	struct imap_sort_msg	 a, b;
	size_t			 base = imap_sort_cache_total_bytes();

	c = imap_sort_cache_get(1, 2, 3);
	keys(&a, 5, "GONE", 1);
	imap_sort_cache_put(c, 50, HAVE_CHEAP | IMAP_SORT_WANT_IDS, &a);
	imap_sort_cache_expunged(c, 5);
	imap_sort_cache_expunged(c, 6);		/* none: nothing happens */
	imap_sort_cache_expunged(NULL, 5);
	ck_assert_uint_eq(imap_sort_cache_count(c), 0);
	memset(&b, 0, sizeof(b));
	ck_assert(!imap_sort_cache_lend(c, 5, 50, IMAP_SORT_WANT_DATE, &b));
	/* The lender's copy stays until given back, also past the cache. */
	imap_sort_cache_put_back(&c);
	imap_sort_cache_expire(0);
	ck_assert_str_eq(a.subject, "GONE");
	ck_assert_str_eq(a.refs[0], "a@x");
	ck_assert_uint_gt(imap_sort_cache_total_bytes(), base);
	drop(&a);
	ck_assert_uint_eq(imap_sort_cache_total_bytes(), base);
}
END_TEST

START_TEST(test_shared)
{
	struct imap_sort_cache	*a, *b, *c;
	struct imap_sort_msg	 m;
	size_t			 base = imap_sort_cache_ncaches();

	a = imap_sort_cache_get(1, 2, 3);
	b = imap_sort_cache_get(1, 2, 3);
	c = imap_sort_cache_get(1, 9, 3);
	ck_assert_ptr_eq(a, b);
	ck_assert_ptr_ne(a, c);
	ck_assert_uint_eq(imap_sort_cache_ncaches(), base + 2);
	keys(&m, 4, "SHARED", 0);
	imap_sort_cache_put(a, 40, HAVE_CHEAP, &m);
	drop(&m);
	/* A second session finds what the first read. */
	ck_assert(imap_sort_cache_lend(b, 4, 40, IMAP_SORT_WANT_SUBJECT, &m));
	ck_assert_str_eq(m.subject, "SHARED");
	drop(&m);
	imap_sort_cache_put_back(&a);
	ck_assert_ptr_null(a);
	imap_sort_cache_put_back(&b);
	/* Unused, kept until it expires: a next session still finds it. */
	imap_sort_cache_expire(60000);
	a = imap_sort_cache_get(1, 2, 3);
	ck_assert(imap_sort_cache_lend(a, 4, 40, IMAP_SORT_WANT_SUBJECT, &m));
	drop(&m);
	imap_sort_cache_put_back(&a);
	imap_sort_cache_expire(0);
	ck_assert_uint_eq(imap_sort_cache_ncaches(), base + 1);
	a = imap_sort_cache_get(1, 2, 3);
	ck_assert_uint_eq(imap_sort_cache_count(a), 0);
	imap_sort_cache_put_back(&a);
	/* Another UIDVALIDITY: the unused old one goes. */
	b = imap_sort_cache_get(1, 2, 4);
	ck_assert_uint_eq(imap_sort_cache_ncaches(), base + 2);
	ck_assert(!imap_sort_cache_is(b, 1, 2, 3));
	/* Forgotten: unused ones at once, used ones when put back. */
	imap_sort_cache_forget(1);
	ck_assert_uint_eq(imap_sort_cache_ncaches(), base + 2);
	a = imap_sort_cache_get(1, 2, 4);
	ck_assert_ptr_ne(a, b);
	imap_sort_cache_put_back(&b);
	imap_sort_cache_put_back(&c);
	ck_assert_uint_eq(imap_sort_cache_ncaches(), base + 1);
	imap_sort_cache_put_back(&a);
	imap_sort_cache_expire(0);
	ck_assert_uint_eq(imap_sort_cache_ncaches(), base);
}
END_TEST

START_TEST(test_many)
{
	struct imap_sort_cache	*c;
	struct imap_sort_msg	 a;
	char			 subj[32];
	uint32_t		 uid;

	c = imap_sort_cache_get(1, 2, 3);
	for (uid = 1; uid <= 20000; uid++) {
		snprintf(subj, sizeof(subj), "S%u", uid);
		keys(&a, uid, subj, 0);
		imap_sort_cache_put(c, uid, HAVE_CHEAP, &a);
		drop(&a);
	}
	ck_assert_uint_eq(imap_sort_cache_count(c), 20000);
	for (uid = 2; uid <= 20000; uid += 2)
		imap_sort_cache_expunged(c, uid);
	ck_assert_uint_eq(imap_sort_cache_count(c), 10000);
	for (uid = 1; uid <= 20000; uid++) {
		memset(&a, 0, sizeof(a));
		ck_assert_int_eq(imap_sort_cache_lend(c, uid, uid,
		    IMAP_SORT_WANT_SUBJECT, &a), uid % 2);
		if (uid % 2) {
			snprintf(subj, sizeof(subj), "S%u", uid);
			ck_assert_str_eq(a.subject, subj);
		}
		drop(&a);
	}
	imap_sort_cache_put_back(&c);
	imap_sort_cache_expire(0);
}
END_TEST

START_TEST(test_bound)
{
	struct imap_sort_cache	*c;
	struct imap_sort_msg	 a;
	char			*big;
	uint32_t		 uid;
	size_t			 kept;

	big = xmalloc(64 * 1024);
	memset(big, 'X', 64 * 1024 - 1);
	big[64 * 1024 - 1] = '\0';
	c = imap_sort_cache_get(1, 2, 3);
	/* 64 KiB a message: the session's bound holds about 512. */
	for (uid = 1; uid <= 1000; uid++) {
		keys(&a, uid, big, 0);
		imap_sort_cache_put(c, uid, HAVE_CHEAP, &a);
		if (uid == 1000) {
			/* Not kept: the keys are still the message's own. */
			ck_assert_ptr_null(a.ent);
			ck_assert_str_eq(a.subject, big);
		}
		drop(&a);
	}
	kept = imap_sort_cache_count(c);
	ck_assert_uint_gt(kept, 400);
	ck_assert_uint_lt(kept, 520);
	ck_assert_uint_le(imap_sort_cache_bytes(c),
	    IMAP_SORT_CACHE_MAILBOX_MAX);
	/* Room again after an expunge. */
	imap_sort_cache_expunged(c, 1);
	keys(&a, 2000, "SMALL", 0);
	imap_sort_cache_put(c, 2000, HAVE_CHEAP, &a);
	ck_assert_ptr_nonnull(a.ent);
	drop(&a);
	ck_assert_uint_eq(imap_sort_cache_count(c), kept);
	imap_sort_cache_put_back(&c);
	imap_sort_cache_expire(0);
	free(big);
}
END_TEST

static uint32_t	*order_keys;

static int
order_cmp(uint32_t a, uint32_t b, void *arg)
{
	const uint32_t	*k = arg;

	if (k[a] != k[b])
		return k[a] < k[b] ? -1 : 1;
	return a < b ? -1 : a > b;
}

static int
order_qsort_cmp(const void *x, const void *y)
{
	return order_cmp(*(const uint32_t *)x, *(const uint32_t *)y,
	    order_keys);
}

START_TEST(test_step_sort)
{
	static const size_t	 sizes[] = { 0, 1, 2, 15, 16, 17, 33, 100,
				    1000, 4097, 20000 };
	struct step_sort	 o;
	uint32_t		*k, *want, x = 12345;
	size_t			 si, i, n, steps;
	int			 cut;

	for (si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++)
		for (cut = 0; cut < 2; cut++) {
			n = sizes[si];
			k = xcalloc(n + 1, sizeof(*k));
			want = xcalloc(n + 1, sizeof(*want));
			for (i = 0; i < n; i++) {
				x = x * 1103515245u + 12345u;
				/* Few distinct keys: ties are many. */
				k[i] = (x >> 16) % (n / 3 + 1);
				want[i] = (uint32_t)i;
			}
			order_keys = k;
			if (n > 0)
				qsort(want, n, sizeof(*want), order_qsort_cmp);
			step_sort_init(&o, n);
			/* A deadline long past: every step is cut short. */
			steps = 0;
			while (step_sort_step(&o, order_cmp, k,
			    cut ? 0 : UINT64_MAX))
				steps++;
			if (n > 0)
				ck_assert_mem_eq(o.v, want, n * sizeof(*want));
			if (!cut)
				ck_assert_uint_eq(steps, 0);
			else if (n > 4096)
				ck_assert_uint_gt(steps, 10);
			step_sort_clear(&o);
			free(k);
			free(want);
		}
}
END_TEST

Suite *
imap_sort_cache_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("imap_sort_cache");
	tc = tcase_create("cache");
	tcase_add_test(tc, test_lend);
	tcase_add_test(tc, test_expunge_while_lent);
	tcase_add_test(tc, test_shared);
	tcase_add_test(tc, test_many);
	tcase_add_test(tc, test_bound);
	suite_add_tcase(s, tc);
	tc = tcase_create("step_sort");
	tcase_add_test(tc, test_step_sort);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_util_run(imap_sort_cache_suite());
}
