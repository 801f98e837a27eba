/*
 * Unit tests for units.c and sockaddr.c: the value grammar of the configuration.
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "ratelimit.h"
#include "regexp.h"
#include "sockaddr.h"
#include "units.h"

#include "check_main.h"

struct time_case { const char *in; int ok; uint64_t us; const char *err; };

static const struct time_case time_cases[] = {
	{ "0", 1, 0, NULL },
	{ "5000", 1, 5000000, NULL },		/* bare: milliseconds */
	{ "250us", 1, 250, NULL },
	{ "10ms", 1, 10000, NULL },
	{ "5s", 1, 5000000, NULL },
	{ "2m", 1, 120000000, NULL },
	{ "1h", 1, 3600000000ULL, NULL },
	{ "1d", 1, 86400000000ULL, NULL },
	{ "2147483647", 1, 2147483647000ULL, NULL },
	{ "2147483648", 0, 0, "too large" },
	{ "25d", 0, 0, "too large" },
	{ "18446744073709551616", 0, 0, "too large" },
	{ "-1", 0, 0, "must not be negative" },
	{ "5x", 0, 0, "unknown unit 'x'" },
	{ "5S", 0, 0, "unknown unit 'S'" },
	{ "1.5s", 0, 0, "unknown unit '.5s'" },
	{ "", 0, 0, "must start with a number" },
	{ "s", 0, 0, "must start with a number" },
};

START_TEST(test_time_values_and_errors)
{
	const struct time_case *c = &time_cases[_i];
	char err[256] = "";
	uint64_t us = 12345;
	int rc = units_parse_time(c->in, &us, err, sizeof(err));

	if (c->ok) {
		ck_assert_msg(rc == 0, "'%s' refused: %s", c->in, err);
		ck_assert_uint_eq(us, c->us);
	} else {
		ck_assert_msg(rc == -1, "'%s' accepted", c->in);
		ck_assert_msg(strstr(err, c->err) != NULL, "'%s': got '%s', want '%s'",
		    c->in, err, c->err);
	}
}
END_TEST

struct size_case { const char *in; int ok; uint64_t bytes; };

static const struct size_case size_cases[] = {
	{ "0", 1, 0 }, { "100", 1, 100 }, { "64k", 1, 65536 }, { "64K", 1, 65536 },
	{ "1m", 1, 1048576 }, { "2g", 1, 2147483648ULL },
	{ "17179869184g", 0, 0 }, { "1t", 0, 0 }, { "-5", 0, 0 }, { "k", 0, 0 },
	{ "1kb", 0, 0 },
};

START_TEST(test_size_values_and_errors)
{
	const struct size_case *c = &size_cases[_i];
	char err[256] = "";
	uint64_t v = 0;
	int rc = units_parse_size(c->in, &v, err, sizeof(err));

	ck_assert_msg((rc == 0) == c->ok, "'%s': rc %d (%s)", c->in, rc, err);
	if (c->ok)
		ck_assert_uint_eq(v, c->bytes);
	else
		ck_assert_msg(strstr(err, c->in) != NULL, "error does not name '%s': %s",
		    c->in, err);
}
END_TEST

struct rate_case { const char *in; int ok; uint64_t bps; const char *err; };

static const struct rate_case rate_cases[] = {
	{ "8bps", 1, 8, NULL },
	{ "100kbps", 1, 100000, NULL },
	{ "10mbps", 1, 10000000, NULL },
	{ "10Mbps", 1, 10000000, NULL },
	{ "1gbps", 1, 1000000000, NULL },
	{ "1B", 1, 8, NULL },
	{ "10kB", 1, 80000, NULL },
	{ "10MB", 1, 80000000, NULL },		/* bytes per second, 1000-based */
	{ "2GB", 1, 16000000000ULL, NULL },
	{ "0mbps", 0, 0, "greater than zero" },
	{ "100", 0, 0, "needs a unit" },
	{ "-1mbps", 0, 0, "must not be negative" },
	{ "10kb", 0, 0, "unknown unit 'kb'" },	/* ambiguous: bits or bytes? */
	{ "10mb", 0, 0, "unknown unit 'mb'" },
	{ "3000000000GB", 0, 0, "too large" },
	{ "18446744073709551615gbps", 0, 0, "too large" },
};

START_TEST(test_rate_values_and_errors)
{
	const struct rate_case *c = &rate_cases[_i];
	char err[256] = "";
	uint64_t v = 0;
	int rc = units_parse_rate(c->in, &v, err, sizeof(err));

	if (c->ok) {
		ck_assert_msg(rc == 0, "'%s' refused: %s", c->in, err);
		ck_assert_uint_eq(v, c->bps);
	} else {
		ck_assert_msg(rc == -1, "'%s' accepted", c->in);
		ck_assert_msg(strstr(err, c->err) != NULL, "'%s': got '%s', want '%s'",
		    c->in, err, c->err);
	}
}
END_TEST

/* SIZE per TIME in bits/s: exact, rounded down, and saturated. */
START_TEST(test_rate_of_size_per_period)
{
	ck_assert_uint_eq(units_rate_bps(1000, 1000000), 8000);
	ck_assert_uint_eq(units_rate_bps(1, 1000), 8000);
	ck_assert_uint_eq(units_rate_bps(1, 10000000), 0);
	ck_assert_uint_eq(units_rate_bps(UINT64_MAX, 1), UINT64_MAX);
}
END_TEST

START_TEST(test_time_print_round_trips)
{
	static const char *const in[] = { "1500ms", "3s", "2m", "1h", "7d", "250us" };
	char buf[32], err[128];
	uint64_t us, again;

	for (size_t i = 0; i < sizeof(in) / sizeof(*in); i++) {
		ck_assert_int_eq(units_parse_time(in[i], &us, err, sizeof(err)), 0);
		units_print_time(us, buf, sizeof(buf));
		ck_assert_str_eq(buf, in[i]);
		ck_assert_int_eq(units_parse_time(buf, &again, err, sizeof(err)), 0);
		ck_assert_uint_eq(us, again);
	}
}
END_TEST

START_TEST(test_uint_range)
{
	char err[128];
	uint64_t v;

	ck_assert_int_eq(units_parse_uint("42", 1, 100, &v, err, sizeof(err)), 0);
	ck_assert_uint_eq(v, 42);
	ck_assert_int_eq(units_parse_uint("0", 1, 100, &v, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "0 is out of range [1..100]");
	ck_assert_int_eq(units_parse_uint("12a", 1, 100, &v, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "'12a' is not a whole number");
}
END_TEST

struct addr_case { const char *in; int flags; int ok; const char *print; const char *err; };

static const struct addr_case addr_cases[] = {
	{ "127.0.0.1:80", 0, 1, "127.0.0.1:80", NULL },
	{ "[::1]:8443", 0, 1, "[::1]:8443", NULL },
	{ "*:80", SOCKADDR_F_ANY, 1, "0.0.0.0:80", NULL },
	{ ":80", SOCKADDR_F_ANY, 1, "0.0.0.0:80", NULL },
	{ "[::]:80", SOCKADDR_F_ANY, 1, "[::]:80", NULL },
	{ "*:80", 0, 0, NULL, "needs a host" },
	{ "127.0.0.1", 0, 0, NULL, "has no port" },
	{ "127.0.0.1:0", 0, 0, NULL, "invalid port '0'" },
	{ "127.0.0.1:65536", 0, 0, NULL, "invalid port '65536'" },
	{ "127.0.0.1:http", 0, 0, NULL, "invalid port 'http'" },
	/* As HAProxy: without brackets, the last colon starts the port. */
	{ "::1:80", 0, 1, "[::1]:80", NULL },
	{ "[::1:80", 0, 0, NULL, "without ']'" },
	{ "[::1]80", 0, 0, NULL, "needs ':PORT'" },
	{ "127.0.0.1:", 0, 0, NULL, "empty port" },
};

START_TEST(test_addresses)
{
	const struct addr_case *c = &addr_cases[_i];
	struct sockaddr_spec sp;
	char err[256] = "", buf[SOCKADDR_STRLEN];
	int rc = sockaddr_parse(c->in, c->flags, &sp, err, sizeof(err));

	if (c->ok) {
		ck_assert_msg(rc == 0, "'%s' refused: %s", c->in, err);
		ck_assert(!sockaddr_is_unresolved(&sp));
		ck_assert_str_eq(sockaddr_print((struct sockaddr *)&sp.ss, buf, sizeof(buf)), c->print);
	} else {
		ck_assert_msg(rc == -1, "'%s' accepted", c->in);
		ck_assert_msg(strstr(err, c->err) != NULL, "'%s': got '%s'", c->in, err);
	}
}
END_TEST

START_TEST(test_hostname_kept_for_resolution)
{
	struct sockaddr_spec sp;
	char err[256];

	ck_assert_int_eq(sockaddr_parse("localhost:6379", 0, &sp, err, sizeof(err)), 0);
	ck_assert(sockaddr_is_unresolved(&sp));
	ck_assert_str_eq(sp.host, "localhost");
	ck_assert_int_eq(sockaddr_resolve(&sp, err, sizeof(err)), 0);
	ck_assert_uint_eq(sockaddr_port((struct sockaddr *)&sp.ss), 6379);
	ck_assert_int_eq(sockaddr_parse("no-such-host.invalid:1", 0, &sp, err, sizeof(err)), 0);
	ck_assert_int_eq(sockaddr_resolve(&sp, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "cannot resolve 'no-such-host.invalid'") != NULL, "%s", err);
}
END_TEST

START_TEST(test_log_escape_leaves_only_printable_bytes)
{
	char out[64];

	log_escape("a\r\n\x1b[31m\"b\\\x7f\xff", out, sizeof(out));
	ck_assert_str_eq(out, "a\\x0d\\x0a\\x1b[31m\\x22b\\x5c\\x7f\\xff");
	for (const char *p = out; *p != '\0'; p++)
		ck_assert(*p >= 32 && *p <= 126);
	/* Truncation never splits an escape. */
	log_escape("\x01\x02\x03", out, 7);
	ck_assert_str_eq(out, "\\x01");
}
END_TEST

/* rate 10/s, burst 10, on a virtual clock (us). */
START_TEST(test_ratelimit_burst_then_steady_rate)
{
	struct ratelimit r;
	uint64_t now = 5000000, taken = 0;

	ratelimit_init(&r, 10, 10);
	for (int i = 0; i < 10; i++) {
		ck_assert_uint_eq(ratelimit_wait(&r, now), 0);
		ratelimit_take(&r, now);
	}
	/* The 11th waits exactly one interval (100 ms). */
	ck_assert_uint_eq(ratelimit_wait(&r, now), 100000);
	ck_assert_uint_eq(ratelimit_wait(&r, now + 99999), 1);
	ck_assert_uint_eq(ratelimit_wait(&r, now + 100000), 0);
	/* Over 10 s of greedy takers, 10 + 100 events at most. */
	for (uint64_t t = now; t <= now + 10000000; t += 1000) {
		while (ratelimit_wait(&r, t) == 0) {
			ratelimit_take(&r, t);
			taken++;
		}
	}
	ck_assert_uint_eq(taken, 100);
	/* Idle credit is capped at the burst. */
	now += 60000000;
	for (int i = 0; i < 10; i++) {
		ck_assert_uint_eq(ratelimit_wait(&r, now), 0);
		ratelimit_take(&r, now);
	}
	ck_assert_uint_gt(ratelimit_wait(&r, now), 0);
}
END_TEST

/* Patterns whose automaton glibc would expand past the bound are refused
 * before regcomp() runs; real patterns compile and match. */
START_TEST(test_regex_cost_bound)
{
	static const char *costly[] = {
		"^(5+++++++++++++++++++++lts",	/* the fuzzer's 666 MB input */
		"(((a{1,50}){1,50}){1,50}){1,50}",
		"a{1,255}{1,255}",
		"((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((a",
	};
	static const char *fine[] = {
		"^[a-z0-9.-]{1,253}$", "role:master", "^HTTP/1\\.[01] [23]",
		"([0-9]{1,3}\\.){3}[0-9]{1,3}", "[]a]{3}", "[[:alpha:]]+", "a{1,",
	};
	char err[256];
	regex_t re;

	for (size_t i = 0; i < sizeof(costly) / sizeof(*costly); i++) {
		ck_assert_uint_gt(regexp_cost(costly[i]), REGEXP_MAX_NODES);
		ck_assert_int_eq(regexp_compile(&re, costly[i], 0, err, sizeof(err)), -1);
		ck_assert_ptr_nonnull(strstr(err, "too costly"));
	}
	for (size_t i = 0; i < sizeof(fine) / sizeof(*fine); i++)
		ck_assert_uint_le(regexp_cost(fine[i]), 300);
	ck_assert_int_eq(regexp_compile(&re, "^ROLE:(master|slave)$", 1, err, sizeof(err)), 0);
	ck_assert_int_eq(regexec(&re, "role:master", 0, NULL, 0), 0);
	regfree(&re);
	ck_assert_int_eq(regexp_compile(&re, "^(unclosed", 0, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "bad regular expression '^(unclosed'"));
}
END_TEST

static Suite *
units_suite(void)
{
	Suite *s = suite_create("units");
	TCase *tc = tcase_create("values");

	tcase_add_loop_test(tc, test_time_values_and_errors, 0,
	    sizeof(time_cases) / sizeof(*time_cases));
	tcase_add_loop_test(tc, test_size_values_and_errors, 0,
	    sizeof(size_cases) / sizeof(*size_cases));
	tcase_add_loop_test(tc, test_rate_values_and_errors, 0,
	    sizeof(rate_cases) / sizeof(*rate_cases));
	tcase_add_test(tc, test_rate_of_size_per_period);
	tcase_add_test(tc, test_time_print_round_trips);
	tcase_add_test(tc, test_uint_range);
	tcase_add_loop_test(tc, test_addresses, 0, sizeof(addr_cases) / sizeof(*addr_cases));
	tcase_add_test(tc, test_hostname_kept_for_resolution);
	tcase_add_test(tc, test_log_escape_leaves_only_printable_bytes);
	tcase_add_test(tc, test_ratelimit_burst_then_steady_rate);
	tcase_add_test(tc, test_regex_cost_bound);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(units_suite)
