/*
 * Unit tests for dial.c: which retry goes to another server ("option
 * redispatch"), the turn-around after a failed try, and the send-proxy
 * header written whole even when the socket takes it in pieces.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "dial.h"
#include "proxy_proto.h"
#include "sockaddr.h"

#include "check_main.h"

struct redispatch_case {
	unsigned int tries;	/* attempts started; 1 = the first retry is next */
	unsigned int retries;
	int every;		/* "option redispatch N" */
	int enabled;
	int want;
};

static const struct redispatch_case redispatch_cases[] = {
	/* The default (-1): only the last retry of 3 moves. */
	{ 1, 3, -1, 1, 0 }, { 2, 3, -1, 1, 0 }, { 3, 3, -1, 1, 1 },
	/* -2: the retry before the last. */
	{ 2, 3, -2, 1, 1 }, { 3, 3, -2, 1, 0 },
	/* 2: every second retry. */
	{ 1, 5, 2, 1, 0 }, { 2, 5, 2, 1, 1 }, { 3, 5, 2, 1, 0 }, { 4, 5, 2, 1, 1 },
	/* 1: every retry. */
	{ 1, 3, 1, 1, 1 }, { 2, 3, 1, 1, 1 },
	/* Without "option redispatch", never. */
	{ 3, 3, -1, 0, 0 }, { 2, 3, 1, 0, 0 },
	/* No retries: the first "retry" never comes, -1 names try 0. */
	{ 1, 0, -1, 1, 0 },
};

START_TEST(test_redispatch_goes_to_another_server_on_the_chosen_retry)
{
	const struct redispatch_case *c = &redispatch_cases[_i];

	ck_assert_msg(dial_redispatch_now(c->tries, c->retries, c->every, c->enabled) ==
	    c->want, "tries %u retries %u every %d enabled %d: want %d", c->tries, c->retries,
	    c->every, c->enabled, c->want);
}
END_TEST

START_TEST(test_turnaround_waits_at_most_a_second_and_not_after_a_timeout)
{
	ck_assert_uint_eq(dial_turnaround(0, 0), 1000000);
	ck_assert_uint_eq(dial_turnaround(0, 200000), 200000);
	ck_assert_uint_eq(dial_turnaround(0, 5000000), 1000000);
	ck_assert_uint_eq(dial_turnaround(1, 200000), 0);
}
END_TEST

/* The server's socket is full: the header goes in pieces as it drains,
 * and what the server reads after the filler is the header, whole. */
START_TEST(test_send_header_survives_a_full_socket)
{
	struct sockaddr_spec src, dst;
	struct dial_header h = { 0 };
	char want[PP_V1_MAX + 1], got[PP_V1_MAX + 1], junk[4096];
	size_t wlen, glen = 0;
	int sv[2], sz = 4096, r = 0;
	ssize_t n;

	ck_assert_int_eq(sockaddr_parse("192.0.2.1:4000", 0, &src, NULL, 0), 0);
	ck_assert_int_eq(sockaddr_parse("192.0.2.2:80", 0, &dst, NULL, 0), 0);
	wlen = pp_build_v1(want, sizeof(want), (struct sockaddr *)&src.ss, (struct sockaddr *)&dst.ss);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	(void)setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	memset(junk, 'x', sizeof(junk));
	while (send(sv[0], junk, sizeof(junk), MSG_DONTWAIT) > 0)
		;
	ck_assert_int_eq(dial_header_build(&h, 1, (struct sockaddr *)&src.ss,
	    (struct sockaddr *)&dst.ss), 0);
	ck_assert_int_eq(dial_send_header(sv[0], &h), 0);
	for (int i = 0; i < 10000 && r != 1; i++) {
		while ((n = recv(sv[1], junk, sizeof(junk), 0)) > 0) {
			/* Keep the tail: the header comes after every filler byte. */
			for (ssize_t k = 0; k < n; k++) {
				if (junk[k] != 'x' || glen > 0)
					got[glen++] = junk[k];
				ck_assert_uint_le(glen, wlen);
			}
		}
		ck_assert_int_ne(r = dial_send_header(sv[0], &h), -1);
	}
	ck_assert_int_eq(r, 1);
	ck_assert_ptr_null(h.buf);
	while ((n = recv(sv[1], got + glen, sizeof(got) - glen, 0)) > 0)
		glen += (size_t)n;
	ck_assert_uint_eq(glen, wlen);
	ck_assert(memcmp(got, want, wlen) == 0);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(test_send_header_to_a_gone_server_fails)
{
	struct sockaddr_spec src, dst;
	struct dial_header h = { 0 };
	int sv[2];

	ck_assert_int_eq(sockaddr_parse("[2001:db8::1]:4000", 0, &src, NULL, 0), 0);
	ck_assert_int_eq(sockaddr_parse("[2001:db8::2]:80", 0, &dst, NULL, 0), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	close(sv[1]);
	ck_assert_int_eq(dial_header_build(&h, 2, (struct sockaddr *)&src.ss,
	    (struct sockaddr *)&dst.ss), 0);
	ck_assert_int_eq(dial_send_header(sv[0], &h), -1);
	ck_assert_int_eq(errno, EPIPE);
	dial_header_free(&h);
	ck_assert_ptr_null(h.buf);
	close(sv[0]);
}
END_TEST

/* A server's unix forms: the AF_UNIX address HAProxy would dial, printed
 * as the log shows it; other forms are left to the HOST:PORT parser. */
START_TEST(test_unix_server_addresses_parse_and_print)
{
	struct sockaddr_spec spec;
	struct sockaddr_un *sun = (struct sockaddr_un *)&spec.ss;
	char err[256], buf[SOCKADDR_STRLEN];
	static const char zeros[sizeof(sun->sun_path)];

	ck_assert_int_eq(sockaddr_parse("unix@/run/app.sock", SOCKADDR_F_UNIX, &spec, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(sun->sun_family, AF_UNIX);
	ck_assert_str_eq(sun->sun_path, "/run/app.sock");
	ck_assert_uint_eq(spec.len, sizeof(*sun));
	ck_assert_str_eq(sockaddr_print((struct sockaddr *)&spec.ss, buf, sizeof(buf)),
	    "unix@/run/app.sock");
	ck_assert_int_eq(sockaddr_parse("/run/app.sock", SOCKADDR_F_UNIX, &spec, err,
	    sizeof(err)), 0);
	ck_assert_str_eq(sun->sun_path, "/run/app.sock");
	/* abns@: sun_path[0] NUL, the name, zeros to the end (HAProxy's). */
	ck_assert_int_eq(sockaddr_parse("abns@app", SOCKADDR_F_UNIX, &spec, err, sizeof(err)), 0);
	ck_assert(sun->sun_path[0] == '\0' && memcmp(sun->sun_path + 1, "app", 3) == 0);
	ck_assert(memcmp(sun->sun_path + 4, zeros, sizeof(sun->sun_path) - 4) == 0);
	ck_assert_str_eq(sockaddr_print((struct sockaddr *)&spec.ss, buf, sizeof(buf)),
	    "abns@app");
	ck_assert_int_eq(sockaddr_parse("unix@", SOCKADDR_F_UNIX, &spec, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "empty path"));
	/* Without the flag (bind, log), a path is no address. */
	ck_assert_int_eq(sockaddr_parse("/run/app.sock", 0, &spec, err, sizeof(err)), -1);
	ck_assert_int_eq(sockaddr_parse("127.0.0.1:80", SOCKADDR_F_UNIX, &spec, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(spec.ss.ss_family, AF_INET);
}
END_TEST

static Suite *
dial_suite(void)
{
	Suite *s = suite_create("dial");
	TCase *tc = tcase_create("rules");

	tcase_add_loop_test(tc, test_redispatch_goes_to_another_server_on_the_chosen_retry, 0,
	    (int)(sizeof(redispatch_cases) / sizeof(*redispatch_cases)));
	tcase_add_test(tc, test_turnaround_waits_at_most_a_second_and_not_after_a_timeout);
	tcase_add_test(tc, test_send_header_survives_a_full_socket);
	tcase_add_test(tc, test_send_header_to_a_gone_server_fails);
	tcase_add_test(tc, test_unix_server_addresses_parse_and_print);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(dial_suite)
