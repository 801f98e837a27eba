/*
 * check_main.h: what every check program shares, so that each holds only
 * its tests. A program defines its suite function and ends with
 * CHECK_MAIN(that_suite): the suite runs in check's default mode (each
 * test forked unless CK_FORK=no), and the exit status says whether every
 * test passed.
 */
#ifndef SPLICER_CHECK_MAIN_H
#define SPLICER_CHECK_MAIN_H

#include <check.h>
#include <stdlib.h>

/* Run s and free it; EXIT_SUCCESS when no test failed. */
static inline int
check_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* A suite of one test case, both named name, to which the caller adds
 * its tests through *tc. */
static inline Suite *
check_suite(const char *name, TCase **tc)
{
	Suite *s = suite_create(name);

	*tc = tcase_create(name);
	suite_add_tcase(s, *tc);
	return s;
}

#define CHECK_MAIN(suite_fn)			\
	int					\
	main(void)				\
	{					\
		return check_run(suite_fn());	\
	}

#endif
