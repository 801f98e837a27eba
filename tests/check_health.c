/*
 * Unit tests for the health-check counter: rise, fall, intervals.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>

#include "health.h"

/* Feed a string of results ('+' ok, '-' failed); return the transitions
 * as a string of 'U'/'D'/'.' . */
static void
feed(struct health_counter *h, const char *results, char *out)
{
	for (; *results != '\0'; results++) {
		int c = health_counter_record(h, *results == '+');

		*out++ = c > 0 ? 'U' : c < 0 ? 'D' : '.';
	}
	*out = '\0';
}

START_TEST(test_fall_failures_take_a_fully_up_server_down)
{
	struct health_counter h;
	char t[32];

	health_counter_init(&h, 2, 3);
	ck_assert(health_counter_is_up(&h));
	/* Full health is rise+fall-1 = 4 and up means >= 2: three failures
	 * in a row take it down, and a success wins back one point only. */
	feed(&h, "--+--", t);
	ck_assert_str_eq(t, "....D");
	ck_assert(!health_counter_is_up(&h));
}
END_TEST

START_TEST(test_rise_successes_in_a_row_bring_it_back)
{
	struct health_counter h;
	char t[32];

	health_counter_init(&h, 2, 3);
	feed(&h, "---", t);
	ck_assert_str_eq(t, "..D");
	feed(&h, "+-+-++", t);			/* successes must be consecutive */
	ck_assert_str_eq(t, ".....U");
	ck_assert(health_counter_is_up(&h));
	feed(&h, "++++", t);			/* capped at full health */
	ck_assert_str_eq(t, "....");
	feed(&h, "---", t);
	ck_assert_str_eq(t, "..D");
}
END_TEST

START_TEST(test_rise_one_fall_one)
{
	struct health_counter h;
	char t[32];

	health_counter_init(&h, 1, 1);
	feed(&h, "-+-+", t);
	ck_assert_str_eq(t, "DUDU");
}
END_TEST

START_TEST(test_interval_depends_on_state)
{
	struct health_counter h;
	char t[32];

	health_counter_init(&h, 2, 3);
	ck_assert_uint_eq(health_counter_interval(&h, 2000, 500, 10000), 2000);	/* fully up */
	feed(&h, "-", t);
	ck_assert_uint_eq(health_counter_interval(&h, 2000, 500, 10000), 500);	/* going down */
	feed(&h, "--", t);
	ck_assert_uint_eq(health_counter_interval(&h, 2000, 500, 10000), 10000);	/* down */
	feed(&h, "+", t);
	ck_assert_uint_eq(health_counter_interval(&h, 2000, 500, 10000), 500);	/* coming up */
	ck_assert_uint_eq(health_counter_interval(&h, 2000, 0, 0), 2000);		/* defaults */
}
END_TEST

static Suite *
health_suite(void)
{
	Suite *s = suite_create("health");
	TCase *tc = tcase_create("counter");

	tcase_add_test(tc, test_fall_failures_take_a_fully_up_server_down);
	tcase_add_test(tc, test_rise_successes_in_a_row_bring_it_back);
	tcase_add_test(tc, test_rise_one_fall_one);
	tcase_add_test(tc, test_interval_depends_on_state);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(health_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
