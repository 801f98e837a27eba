/*
 * Unit tests for the shaper on a virtual clock: every figure below is
 * exact and the same on every run.
 *
 * sim() plays greedy flows against their buckets the way session.c does:
 * a flow asks for tokens, reads what it is granted at once, and when told
 * to wait, sleeps exactly that long and asks again.
 */
#include "config.h"

#include <check.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shaper.h"

#include "check_main.h"

#define T0 1000000ULL		/* virtual clock start, us */
#define SEC 1000000ULL

static struct sockaddr_in
src4(const char *last)
{
	struct sockaddr_in a = { .sin_family = AF_INET };

	a.sin_addr.s_addr = htonl(0x0a000000u | (uint32_t)atoi(last));
	return a;
}

/* Run n flows from `from` to `until`; bytes[i] gets what flow i read,
 * wakes counts the times a flow asked. Flows may be NULL (idle). */
static void
sim(struct shaper_flow **f, int n, uint64_t from, uint64_t until, uint64_t *bytes,
    uint64_t *wakes)
{
	uint64_t next[16];

	for (int i = 0; i < n; i++)
		next[i] = from;
	for (;;) {
		int k = -1;
		uint64_t wait = 0, g;

		for (int i = 0; i < n; i++)
			if (f[i] != NULL && (k == -1 || next[i] < next[k]))
				k = i;
		if (k == -1 || next[k] >= until)
			return;
		if (wakes != NULL)
			(*wakes)++;
		g = shaper_flow_grant(f[k], next[k], &wait);
		if (g > 0) {
			bytes[k] += g;
		} else {
			ck_assert_uint_gt(wait, 0);
			ck_assert_uint_le(wait, SHAPER_WAIT_MAX);
			next[k] += wait;
		}
	}
}

static double
jain(const uint64_t *x, int n)
{
	double s = 0, q = 0;

	for (int i = 0; i < n; i++) {
		s += (double)x[i];
		q += (double)x[i] * (double)x[i];
	}
	return s * s / (n * q);
}

START_TEST(test_bucket_starts_empty_and_refills_exactly)
{
	struct shaper_limit lim = { .rate = 8000000, .burst = 100000 };	/* 1 MB/s */
	struct shaper_bucket b;
	uint64_t mark;

	shaper_bucket_init(&b, &lim, T0);
	ck_assert_uint_eq(shaper_bucket_avail(&b, T0), 0);
	ck_assert_uint_eq(shaper_bucket_avail(&b, T0 + 1000), 1000);	/* 1 ms = 1000 B */
	ck_assert_uint_eq(shaper_bucket_avail(&b, T0 + 1), 1000);	/* a clock read late changes nothing */
	ck_assert_uint_eq(shaper_bucket_avail(&b, T0 + 10 * SEC), 100000);	/* capped at burst */
	/* Taking past what it holds goes into debt; the wait is exact. */
	mark = shaper_bucket_take(&b, 150000, T0 + 10 * SEC);
	ck_assert_uint_eq(shaper_bucket_wait(&b, mark, T0 + 10 * SEC), 50000);
	ck_assert_uint_eq(shaper_bucket_wait(&b, mark, T0 + 10 * SEC + 49999), 1);
	ck_assert_uint_eq(shaper_bucket_wait(&b, mark, T0 + 10 * SEC + 50000), 0);
	ck_assert_uint_eq(shaper_bucket_avail(&b, T0 + 10 * SEC + 50000), 0);
	/* A refund gives the bytes back, never above the burst. */
	shaper_bucket_refund(&b, 30000, T0 + 10 * SEC + 50000);
	ck_assert_uint_eq(shaper_bucket_avail(&b, T0 + 10 * SEC + 50000), 30000);
	shaper_bucket_refund(&b, 500000, T0 + 10 * SEC + 50000);
	ck_assert_uint_eq(shaper_bucket_avail(&b, T0 + 10 * SEC + 50000), 100000);
}
END_TEST

START_TEST(test_bits_per_second_that_are_not_whole_bytes)
{
	struct shaper_limit lim = { .rate = 1, .burst = 1000 };	/* 1 bit/s */
	struct shaper_bucket b;

	shaper_bucket_init(&b, &lim, T0);
	ck_assert_uint_eq(shaper_bucket_avail(&b, T0 + 7 * SEC), 0);
	ck_assert_uint_eq(shaper_bucket_avail(&b, T0 + 8 * SEC), 1);
	ck_assert_uint_eq(shaper_bucket_avail(&b, T0 + 800 * SEC), 100);
}
END_TEST

START_TEST(test_a_shared_bucket_starts_at_its_first_session)
{
	struct shaper_group *g = shaper_group_new(SHAPER_UP, SHAPER_SHARED, 8000000, 0, 0, NULL, 1);
	struct shaper_flow *f = shaper_flow_new(4);
	struct sockaddr_in a = src4("1");
	uint64_t wait = 0;

	/* Created long before: no burst saved up for the first session. */
	ck_assert_int_eq(shaper_flow_add(f, g, NULL, (struct sockaddr *)&a, 100 * SEC), 0);
	ck_assert_uint_eq(shaper_flow_grant(f, 100 * SEC, &wait), 0);
	ck_assert_uint_eq(wait, 20000);		/* a 20 kB quantum at 1 MB/s */
	ck_assert_uint_eq(shaper_flow_grant(f, 100 * SEC + 20000, &wait), 20000);
	shaper_flow_free(f, 0, 100 * SEC + 20000);
	shaper_group_free_list(g);
}
END_TEST

/* Accuracy over 10 s at 1 kbit/s .. 10 Gbit/s: the bytes granted are the
 * rate times the time, less at most one quantum still being waited for. */
START_TEST(test_rate_is_exact_over_ten_seconds)
{
	static const uint64_t rates[] = { 1000, 1000000, 10000000, 100000000, 1000000000,
	    10000000000ULL };

	for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
		struct shaper_group *g = shaper_group_new(SHAPER_DOWN, SHAPER_PER_CONN, rates[i], 0,
		    0, NULL, 1);
		struct shaper_flow *f = shaper_flow_new(4), **fp = &f;
		struct sockaddr_in a = src4("1");
		uint64_t bytes = 0, wakes = 0, want = rates[i] / 8 * 10;
		uint64_t r = rates[i] / 8 / SHAPER_QUANTA_PER_S;
		uint64_t q = r < SHAPER_QUANTUM_MIN ? SHAPER_QUANTUM_MIN :
		    r > SHAPER_QUANTUM_MAX ? SHAPER_QUANTUM_MAX : r;

		ck_assert_int_eq(shaper_flow_add(f, g, NULL, (struct sockaddr *)&a, T0), 0);
		sim(fp, 1, T0, T0 + 10 * SEC, &bytes, &wakes);
		ck_assert_uint_le(bytes, want);
		ck_assert_uint_ge(bytes + q, want);
		/* About two asks per quantum, never a busy loop. */
		ck_assert_uint_le(wakes, 2 * (want / q) + 2 + 10 * SEC / SHAPER_WAIT_MAX);
		shaper_flow_free(f, 0, T0 + 10 * SEC);
		shaper_group_free_list(g);
	}
}
END_TEST

START_TEST(test_idle_saves_at_most_the_burst)
{
	struct shaper_group *g = shaper_group_new(SHAPER_UP, SHAPER_PER_CONN, 8000000, 50000, 0,
	    NULL, 1);
	struct shaper_flow *f = shaper_flow_new(4), **fp = &f;
	struct sockaddr_in a = src4("1");
	uint64_t bytes = 0;

	ck_assert_int_eq(shaper_flow_add(f, g, NULL, (struct sockaddr *)&a, T0), 0);
	/* 60 s idle, then 1 s greedy: the burst plus one second's worth. */
	sim(fp, 1, T0 + 60 * SEC, T0 + 61 * SEC, &bytes, NULL);
	ck_assert_uint_le(bytes, 50000 + 1000000);
	ck_assert_uint_ge(bytes, 50000 + 1000000 - 10000);
	shaper_flow_free(f, 0, T0 + 61 * SEC);
	shaper_group_free_list(g);
}
END_TEST

/* A burst smaller than a quantum does not slow the flow down: quanta are
 * not cut to the burst (timers could not wake that often). */
START_TEST(test_tiny_burst_still_gives_the_rate)
{
	struct shaper_group *g = shaper_group_new(SHAPER_UP, SHAPER_PER_CONN, 8000000, 1000, 0,
	    NULL, 1);
	struct shaper_flow *f = shaper_flow_new(1), **fp = &f;
	struct sockaddr_in a = src4("1");
	uint64_t bytes = 0, wakes = 0;

	ck_assert_int_eq(shaper_flow_add(f, g, NULL, (struct sockaddr *)&a, T0), 0);
	sim(fp, 1, T0, T0 + 10 * SEC, &bytes, &wakes);
	ck_assert_uint_le(bytes, 10000000);
	ck_assert_uint_ge(bytes, 10000000 - 20000);
	ck_assert_uint_le(wakes, 2 * 500 + 2);	/* 20 kB quanta, not 1 kB */
	shaper_flow_free(f, 0, T0 + 10 * SEC);
	shaper_group_free_list(g);
}
END_TEST

/* Four flows sharing one bucket get equal shares and together the rate. */
START_TEST(test_shared_bucket_is_fair_and_exact)
{
	struct shaper_group *g = shaper_group_new(SHAPER_DOWN, SHAPER_SHARED, 40000000, 0, 0,
	    NULL, 1);
	struct shaper_flow *fp[4];
	uint64_t bytes[4] = { 0 }, sum = 0;

	for (int i = 0; i < 4; i++) {
		struct sockaddr_in a = src4("1");

		fp[i] = shaper_flow_new(4);
		ck_assert_int_eq(shaper_flow_add(fp[i], g, NULL, (struct sockaddr *)&a, T0), 0);
	}
	sim(fp, 4, T0, T0 + 10 * SEC, bytes, NULL);
	for (int i = 0; i < 4; i++)
		sum += bytes[i];
	ck_assert_uint_le(sum, 50000000);
	ck_assert_uint_ge(sum, 50000000 - 4 * 50000);
	ck_assert(jain(bytes, 4) > 0.999);
	for (int i = 0; i < 4; i++)
		shaper_flow_free(fp[i], 0, T0 + 10 * SEC);
	shaper_group_free_list(g);
}
END_TEST

/* Per-source: two clients are independent, two sessions of one client
 * share; the entry goes when its last session does. */
START_TEST(test_per_source_buckets)
{
	struct shaper_group *g = shaper_group_new(SHAPER_UP, SHAPER_PER_SOURCE, 8000000, 0, 0,
	    NULL, 1);
	struct sockaddr_in a = src4("1"), b = src4("2");
	struct sockaddr_in6 c = { .sin6_family = AF_INET6 };
	struct shaper_flow *fp[4];
	uint64_t bytes[4] = { 0 };

	c.sin6_addr.s6_addr[15] = 1;
	for (int i = 0; i < 4; i++) {
		fp[i] = shaper_flow_new(4);
	}
	ck_assert_int_eq(shaper_flow_add(fp[0], g, NULL, (struct sockaddr *)&a, T0), 0);
	ck_assert_int_eq(shaper_flow_add(fp[1], g, NULL, (struct sockaddr *)&a, T0), 0);
	ck_assert_int_eq(shaper_flow_add(fp[2], g, NULL, (struct sockaddr *)&b, T0), 0);
	ck_assert_int_eq(shaper_flow_add(fp[3], g, NULL, (struct sockaddr *)&c, T0), 0);
	ck_assert_uint_eq(shaper_group_sources(g), 3);
	sim(fp, 4, T0, T0 + 10 * SEC, bytes, NULL);
	/* Source a: 10 MB for its two sessions together, split evenly. */
	ck_assert_uint_le(bytes[0] + bytes[1], 10000000);
	ck_assert_uint_ge(bytes[0] + bytes[1], 10000000 - 40000);
	ck_assert(jain(bytes, 2) > 0.999);
	/* b and the IPv6 client (whose last byte equals a's) each have 10 MB. */
	ck_assert_uint_ge(bytes[2], 10000000 - 20000);
	ck_assert_uint_ge(bytes[3], 10000000 - 20000);
	for (int i = 0; i < 4; i++)
		shaper_flow_free(fp[i], 0, T0 + 10 * SEC);
	ck_assert_uint_eq(shaper_group_sources(g), 0);
	shaper_group_free_list(g);
}
END_TEST

/* A flow obeys every bucket: the strictest one sets its pace. */
START_TEST(test_every_bucket_applies)
{
	struct shaper_group *conn = shaper_group_new(SHAPER_UP, SHAPER_PER_CONN, 80000000, 0, 0,
	    NULL, 1);
	struct shaper_group *shared = shaper_group_new(SHAPER_UP, SHAPER_SHARED, 16000000, 0, 0,
	    NULL, 2);
	struct shaper_group *total = shaper_group_new(SHAPER_UP, SHAPER_SHARED, 800000000, 0, 0,
	    NULL, 3);
	struct shaper_flow *fp[2];
	struct sockaddr_in a = src4("1");
	uint64_t bytes[2] = { 0 };

	for (int i = 0; i < 2; i++) {
		fp[i] = shaper_flow_new(4);
		ck_assert_int_eq(shaper_flow_add(fp[i], conn, NULL, (struct sockaddr *)&a, T0), 0);
		ck_assert_int_eq(shaper_flow_add(fp[i], shared, NULL, (struct sockaddr *)&a, T0), 0);
		ck_assert_int_eq(shaper_flow_add(fp[i], total, NULL, (struct sockaddr *)&a, T0), 0);
	}
	sim(fp, 2, T0, T0 + 10 * SEC, bytes, NULL);
	/* 10 MB/s each alone, but 2 MB/s shared: 1 MB/s each. */
	ck_assert_uint_le(bytes[0] + bytes[1], 20000000);
	ck_assert_uint_ge(bytes[0] + bytes[1], 20000000 - 2 * 20000);
	ck_assert(jain(bytes, 2) > 0.999);
	for (int i = 0; i < 2; i++)
		shaper_flow_free(fp[i], 0, T0 + 10 * SEC);
	shaper_group_free_list(conn);
	shaper_group_free_list(shared);
	shaper_group_free_list(total);
}
END_TEST

/* A rate changed at run time reaches a flow that sleeps on the old one
 * within SHAPER_WAIT_MAX, both ways. */
START_TEST(test_rate_change_applies_within_a_second)
{
	struct shaper_group *g = shaper_group_new(SHAPER_DOWN, SHAPER_PER_CONN, 8000, 0, 0,
	    NULL, 1);	/* 1 kB/s */
	struct shaper_flow *f = shaper_flow_new(4), **fp = &f;
	struct sockaddr_in a = src4("1");
	uint64_t bytes = 0, before;

	ck_assert_int_eq(shaper_flow_add(f, g, NULL, (struct sockaddr *)&a, T0), 0);
	sim(fp, 1, T0, T0 + 5 * SEC, &bytes, NULL);
	ck_assert_uint_le(bytes, 5000);
	/* Raised to 1 MB/s: from 1 s after the change on, full speed. */
	shaper_group_set(g, 8000000, 0);
	before = bytes;
	sim(fp, 1, T0 + 5 * SEC, T0 + 6 * SEC, &bytes, NULL);
	bytes = 0;
	sim(fp, 1, T0 + 6 * SEC, T0 + 8 * SEC, &bytes, NULL);
	ck_assert_uint_ge(bytes, 2000000 - 2 * 10000);
	ck_assert_uint_le(bytes, 2000000 + 10000);
	ck_assert_uint_gt(before, 0);
	/* Lowered to 8 kbit/s again: the next seconds carry 1 kB each. */
	shaper_group_set(g, 8000, 0);
	sim(fp, 1, T0 + 8 * SEC, T0 + 9 * SEC, &bytes, NULL);
	bytes = 0;
	sim(fp, 1, T0 + 9 * SEC, T0 + 19 * SEC, &bytes, NULL);
	ck_assert_uint_le(bytes, 10000 + 1024);
	ck_assert_uint_ge(bytes, 10000 - 1024);
	shaper_flow_free(f, 0, T0 + 19 * SEC);
	shaper_group_free_list(g);
}
END_TEST

/* A session's own limit (shaper_flow_set) is added to, or replaces, what
 * its configuration gave it. */
START_TEST(test_flow_limit_of_its_own)
{
	struct shaper_flow *f = shaper_flow_new(4), **fp = &f;
	uint64_t bytes = 0;

	ck_assert_int_eq(shaper_flow_set(f, 8000000, 0, T0), 0);
	sim(fp, 1, T0, T0 + 2 * SEC, &bytes, NULL);
	ck_assert_uint_le(bytes, 2000000);
	ck_assert_uint_ge(bytes, 2000000 - 20000);
	ck_assert_int_eq(shaper_flow_set(f, 800000, 0, T0 + 2 * SEC), 0);
	ck_assert_uint_eq(f->n, 1);
	sim(fp, 1, T0 + 2 * SEC, T0 + 3 * SEC, &bytes, NULL);
	bytes = 0;
	sim(fp, 1, T0 + 3 * SEC, T0 + 13 * SEC, &bytes, NULL);
	ck_assert_uint_le(bytes, 1000000 + 1000);
	ck_assert_uint_ge(bytes, 1000000 - 2000);
	shaper_flow_free(f, 0, T0 + 13 * SEC);
}
END_TEST

/* A session that ends gives its unused reservation back: many short
 * sessions of one source do not starve it with reservations they never
 * used. */
START_TEST(test_release_refunds_shared_buckets)
{
	struct shaper_group *g = shaper_group_new(SHAPER_UP, SHAPER_SHARED, 8000000, 0, 0, NULL, 1);
	struct sockaddr_in a = src4("1");
	uint64_t now = T0, wait;

	for (int i = 0; i < 1000; i++) {
		struct shaper_flow *f = shaper_flow_new(4);

		ck_assert_int_eq(shaper_flow_add(f, g, NULL, (struct sockaddr *)&a, now), 0);
		(void)shaper_flow_grant(f, now, &wait);	/* reserves 10 kB */
		shaper_flow_free(f, 0, now);
	}
	/* 1000 reservations of 10 kB given back: the bucket is not 10 MB in
	 * debt; 10 ms later a quantum is there. */
	ck_assert_uint_eq(shaper_bucket_avail(&g->shared, now + 10000), 10000);
	shaper_group_free_list(g);
}
END_TEST

/* A flow holds at most the buckets it was made for; a group added twice
 * (two rules enabling one filter) is one bucket, the last limit winning. */
START_TEST(test_flow_room_and_repeated_groups)
{
	struct shaper_group *g = shaper_group_new(SHAPER_UP, SHAPER_PER_CONN, 8000, 0, 0, NULL, 1);
	struct shaper_group *h = shaper_group_new(SHAPER_UP, SHAPER_PER_CONN, 8000, 0, 0, NULL, 2);
	struct shaper_group *k = shaper_group_new(SHAPER_UP, SHAPER_SHARED, 8000, 0, 0, NULL, 3);
	struct shaper_limit fast = { .rate = 80000000, .burst = 1000000 };
	struct sockaddr_in a = src4("1");
	struct shaper_flow *f = shaper_flow_new(2), *fp[1] = { f };
	uint64_t bytes = 0;

	ck_assert_int_eq(shaper_flow_add(f, g, NULL, (struct sockaddr *)&a, T0), 0);
	ck_assert_int_eq(shaper_flow_add(f, g, &fast, (struct sockaddr *)&a, T0), 0);
	ck_assert_uint_eq(f->n, 1);
	ck_assert_int_eq(shaper_flow_add(f, h, &fast, (struct sockaddr *)&a, T0), 0);
	ck_assert_int_eq(shaper_flow_add(f, k, NULL, (struct sockaddr *)&a, T0), -1);
	ck_assert_int_eq(shaper_flow_set(f, 8000, 0, T0), -1);
	/* Both buckets at 10 MB/s now: 1 s gives 10 MB, not 1 kB. */
	sim(fp, 1, T0, T0 + SEC, &bytes, NULL);
	ck_assert_uint_ge(bytes, 10000000 - 2 * SHAPER_QUANTUM_MAX);
	ck_assert_uint_le(bytes, 10000000);
	shaper_flow_free(f, 0, T0 + SEC);
	shaper_group_free_list(g);
	shaper_group_free_list(h);
	shaper_group_free_list(k);
}
END_TEST

START_TEST(test_default_burst)
{
	ck_assert_uint_eq(shaper_default_burst(1000000), 64 * 1024);
	ck_assert_uint_eq(shaper_default_burst(800000000), 10000000);
	ck_assert_uint_eq(shaper_default_burst(UINT64_MAX), SHAPER_BURST_MAX);
}
END_TEST

static Suite *
shaper_suite(void)
{
	Suite *s = suite_create("shaper");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_bucket_starts_empty_and_refills_exactly);
	tcase_add_test(tc, test_bits_per_second_that_are_not_whole_bytes);
	tcase_add_test(tc, test_a_shared_bucket_starts_at_its_first_session);
	tcase_add_test(tc, test_rate_is_exact_over_ten_seconds);
	tcase_add_test(tc, test_idle_saves_at_most_the_burst);
	tcase_add_test(tc, test_tiny_burst_still_gives_the_rate);
	tcase_add_test(tc, test_shared_bucket_is_fair_and_exact);
	tcase_add_test(tc, test_per_source_buckets);
	tcase_add_test(tc, test_every_bucket_applies);
	tcase_add_test(tc, test_rate_change_applies_within_a_second);
	tcase_add_test(tc, test_flow_limit_of_its_own);
	tcase_add_test(tc, test_release_refunds_shared_buckets);
	tcase_add_test(tc, test_flow_room_and_repeated_groups);
	tcase_add_test(tc, test_default_burst);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(shaper_suite)
