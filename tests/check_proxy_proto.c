/*
 * Unit tests for proxy_proto.c: v1 and v2 headers, valid and broken, fed
 * whole and byte by byte, and the builders round-tripped through the
 * parser.
 */
#include "config.h"

#include <check.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy_proto.h"
#include "sockaddr.h"

#include "check_main.h"

struct pp_case {
	const char *name;
	const char *bytes;	/* the header (and maybe payload after it) */
	size_t len;		/* 0: strlen(bytes) */
	ssize_t want;		/* header length, 0 incomplete, -1 invalid */
	const char *src;	/* printed source when valid with addresses */
	const char *err;	/* part of the error when invalid */
};

#define SIG "\r\n\r\n\0\r\nQUIT\n"

static const struct pp_case cases[] = {
	{ "v1 tcp4", "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET", 0, 47,
	  "192.168.0.1:56324", NULL },
	{ "v1 tcp6", "PROXY TCP6 2001:db8::1 2001:db8::2 1 65535\r\n", 0, 44, "[2001:db8::1]:1", NULL },
	{ "v1 unknown", "PROXY UNKNOWN\r\n", 0, 15, NULL, NULL },
	{ "v1 unknown with junk", "PROXY UNKNOWN whatever here\r\n", 0, 29, NULL, NULL },
	{ "v1 incomplete", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r", 0, 0, NULL, NULL },
	{ "v1 no crlf in 107", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	  0, -1, NULL, "no CRLF within 107 bytes" },
	{ "v1 lone lf", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", 0, -1, NULL, "line feed without carriage return" },
	{ "v1 bad ip", "PROXY TCP4 1.2.3.400 5.6.7.8 1 2\r\n", 0, -1, NULL, "invalid TCP4 address '1.2.3.400'" },
	{ "v1 heading zero ip", "PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n", 0, -1, NULL, "invalid TCP4 address" },
	{ "v1 family mismatch", "PROXY TCP4 ::1 5.6.7.8 1 2\r\n", 0, -1, NULL, "invalid TCP4 address '::1'" },
	{ "v1 bad port", "PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n", 0, -1, NULL, "invalid port '65536'" },
	{ "v1 heading zero port", "PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n", 0, -1, NULL, "invalid port '01'" },
	{ "v1 extra spaces", "PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n", 0, -1, NULL, "extra spaces" },
	{ "v1 trailing space", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n", 0, -1, NULL, "extra spaces" },
	{ "v1 missing field", "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", 0, -1, NULL, "has 5 fields" },
	{ "v1 udp", "PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n", 0, -1, NULL, "protocol 'UDP4'" },
	{ "v1 lowercase", "proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n", 0, -1, NULL, "not a PROXY protocol header" },
	{ "not proxy", "GET / HTTP/1.0\r\n", 0, -1, NULL, "not a PROXY protocol header" },
	{ "v2 tcp4", SIG "\x21\x11\x00\x0c" "\x0a\x00\x00\x01" "\x0a\x00\x00\x02" "\x30\x39" "\x01\xbb" "data",
	  32, 28, "10.0.0.1:12345", NULL },
	{ "v2 tcp6", SIG "\x21\x21\x00\x24" "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01"
	  "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x02" "\x00\x50" "\x01\xbb", 52, 52, "[2001:db8::1]:80", NULL },
	{ "v2 local", SIG "\x20\x00\x00\x00", 16, 16, NULL, NULL },
	{ "v2 local skips address bytes", SIG "\x20\x11\x00\x0c" "123456789012", 28, 28, NULL, NULL },
	{ "v2 unspec proxy", SIG "\x21\x00\x00\x00", 16, 16, NULL, NULL },
	{ "v2 unix", SIG "\x21\x31\x00\xd8", 16 + 216, 0, NULL, NULL },	/* filled below */
	{ "v2 tcp4 with tlvs", SIG "\x21\x11\x00\x13" "\x0a\x00\x00\x01" "\x0a\x00\x00\x02" "\x30\x39" "\x01\xbb"
	  "\x04\x00\x01" "x" "\x05\x00\x00", 35, 35, "10.0.0.1:12345", NULL },
	{ "v2 tlv overrun", SIG "\x21\x11\x00\x10" "\x0a\x00\x00\x01" "\x0a\x00\x00\x02" "\x30\x39" "\x01\xbb"
	  "\x04\x00\x09" "x", 32, -1, NULL, "overruns the header" },
	{ "v2 tlv cut", SIG "\x21\x11\x00\x0e" "\x0a\x00\x00\x01" "\x0a\x00\x00\x02" "\x30\x39" "\x01\xbb"
	  "\x04\x00", 30, -1, NULL, "ends inside a TLV" },
	{ "v2 truncated addresses", SIG "\x21\x11\x00\x08" "\x0a\x00\x00\x01" "\x0a\x00\x00\x02", 24, -1, NULL,
	  "too short for its addresses" },
	{ "v2 length beyond data", SIG "\x21\x11\x00\x0c" "\x0a\x00", 18, 0, NULL, NULL },
	{ "v2 bad version", SIG "\x11\x11\x00\x0c", 16, -1, NULL, "version 1 (expected 2)" },
	{ "v2 bad command", SIG "\x22\x11\x00\x0c", 16, -1, NULL, "command 2" },
	{ "v2 bad family", SIG "\x21\x41\x00\x0c", 16, -1, NULL, "invalid family/protocol byte 0x41" },
	{ "v2 udp", SIG "\x21\x12\x00\x0c" "\x0a\x00\x00\x01" "\x0a\x00\x00\x02" "\x30\x39" "\x01\xbb", 28, -1, NULL,
	  "datagram" },
	{ "v2 too long", SIG "\x21\x11\x10\x00", 16, -1, NULL, "longer than the 2048" },
	{ "v2 bad signature", "\r\n\r\n\0\r\nQUIX\n\x21\x11\x00\x0c", 16, -1, NULL, "not a PROXY protocol header" },
};

/* Copy a case into buf; the AF_UNIX case spells only its 16-byte head,
 * its 216 address bytes are zeros. */
static void
fill(const struct pp_case *c, uint8_t *buf, size_t *len)
{
	int unix_case = strcmp(c->name, "v2 unix") == 0;

	*len = c->len ? c->len : strlen(c->bytes);
	memset(buf, 0, 512);
	memcpy(buf, c->bytes, unix_case ? 16 : *len);
}

START_TEST(test_header_whole)
{
	const struct pp_case *c = &cases[_i];
	uint8_t buf[512];
	struct pp_header h;
	char err[256] = "", s[SOCKADDR_STRLEN];
	size_t len;
	ssize_t r;

	fill(c, buf, &len);
	r = pp_parse(buf, len, &h, err, sizeof(err));
	if (strcmp(c->name, "v2 unix") == 0) {
		ck_assert_int_eq(r, 16 + 216);
		ck_assert(!h.has_addr);
		return;
	}
	ck_assert_msg(r == c->want, "%s: got %zd (%s), want %zd", c->name, r, err, c->want);
	if (r < 0)
		ck_assert_msg(strstr(err, c->err) != NULL, "%s: '%s' lacks '%s'", c->name, err, c->err);
	if (r > 0 && c->src != NULL) {
		ck_assert(h.has_addr);
		ck_assert_str_eq(sockaddr_print((struct sockaddr *)&h.src, s, sizeof(s)), c->src);
	} else if (r > 0) {
		ck_assert(!h.has_addr);
	}
}
END_TEST

/* Fed one more byte at a time, the verdict is "incomplete" until the
 * whole answer is known, and never contradicts it. */
START_TEST(test_header_byte_by_byte_agrees)
{
	const struct pp_case *c = &cases[_i];
	uint8_t buf[512];
	struct pp_header h;
	char err[256];
	size_t len;
	ssize_t whole, r = 0;

	fill(c, buf, &len);
	whole = pp_parse(buf, len, &h, err, sizeof(err));
	for (size_t k = 1; k <= len; k++) {
		r = pp_parse(buf, k, &h, err, sizeof(err));
		if (r != 0)
			break;
	}
	ck_assert_msg(r == whole, "%s: split %zd vs whole %zd", c->name, r, whole);
}
END_TEST

START_TEST(test_builders_round_trip)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(40000) };
	struct sockaddr_in b = { .sin_family = AF_INET, .sin_port = htons(443) };
	struct sockaddr_in6 c6 = { .sin6_family = AF_INET6, .sin6_port = htons(1) };
	struct sockaddr_in6 d6 = { .sin6_family = AF_INET6, .sin6_port = htons(2) };
	char line[PP_V1_MAX + 1], s[SOCKADDR_STRLEN], err[128];
	uint8_t bin[64];
	struct pp_header h;
	size_t n;

	inet_pton(AF_INET, "203.0.113.7", &a.sin_addr);
	inet_pton(AF_INET, "198.51.100.1", &b.sin_addr);
	inet_pton(AF_INET6, "2001:db8::7", &c6.sin6_addr);
	inet_pton(AF_INET6, "2001:db8::8", &d6.sin6_addr);

	n = pp_build_v1(line, sizeof(line), (struct sockaddr *)&a, (struct sockaddr *)&b);
	ck_assert_str_eq(line, "PROXY TCP4 203.0.113.7 198.51.100.1 40000 443\r\n");
	ck_assert_int_eq(pp_parse((uint8_t *)line, n, &h, err, sizeof(err)), (ssize_t)n);
	ck_assert_str_eq(sockaddr_print((struct sockaddr *)&h.dst, s, sizeof(s)), "198.51.100.1:443");

	n = pp_build_v1(line, sizeof(line), (struct sockaddr *)&c6, (struct sockaddr *)&d6);
	ck_assert_str_eq(line, "PROXY TCP6 2001:db8::7 2001:db8::8 1 2\r\n");
	n = pp_build_v1(line, sizeof(line), (struct sockaddr *)&a, (struct sockaddr *)&d6);
	ck_assert_str_eq(line, "PROXY UNKNOWN\r\n");

	n = pp_build_v2(bin, sizeof(bin), (struct sockaddr *)&a, (struct sockaddr *)&b);
	ck_assert_uint_eq(n, 28);
	ck_assert_int_eq(pp_parse(bin, n, &h, err, sizeof(err)), 28);
	ck_assert_str_eq(sockaddr_print((struct sockaddr *)&h.src, s, sizeof(s)), "203.0.113.7:40000");
	n = pp_build_v2(bin, sizeof(bin), (struct sockaddr *)&c6, (struct sockaddr *)&d6);
	ck_assert_uint_eq(n, 52);
	ck_assert_int_eq(pp_parse(bin, n, &h, err, sizeof(err)), 52);
	ck_assert_str_eq(sockaddr_print((struct sockaddr *)&h.dst, s, sizeof(s)), "[2001:db8::8]:2");
	n = pp_build_v2(bin, sizeof(bin), (struct sockaddr *)&a, (struct sockaddr *)&d6);
	ck_assert_uint_eq(n, 16);	/* LOCAL */
	ck_assert_int_eq(pp_parse(bin, n, &h, err, sizeof(err)), 16);
	ck_assert(!h.has_addr);
}
END_TEST

/* A non-blocking socketpair: sv[0] is read by pp_read, sv[1] the client. */
static void
pp_pair(int sv[2])
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
}

static void
pp_send(int fd, const char *bytes)
{
	size_t n = strlen(bytes);

	ck_assert_int_eq(send(fd, bytes, n, 0), (ssize_t)n);
}

/* A header split over two writes is read whole, and the payload after it
 * stays in the socket, untouched. */
START_TEST(test_read_takes_the_header_and_no_byte_past_it)
{
	static const char hdr[] = "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n";
	uint8_t buf[PP_MAX];
	struct pp_reader r = { buf, 0 };
	struct pp_header h;
	char err[256] = "", rest[64] = "", a[SOCKADDR_STRLEN];
	int sv[2];

	pp_pair(sv);
	ck_assert_int_eq(pp_read(sv[0], &r, &h, err, sizeof(err)), 0);	/* nothing yet */
	pp_send(sv[1], "PROXY TCP4 192.168");
	ck_assert_int_eq(pp_read(sv[0], &r, &h, err, sizeof(err)), 0);
	ck_assert_uint_eq(r.len, 18);
	pp_send(sv[1], ".0.1 192.168.0.11 56324 443\r\nGET / HTTP/1.0\r\n");
	ck_assert_int_eq(pp_read(sv[0], &r, &h, err, sizeof(err)), 1);
	ck_assert_uint_eq(r.len, sizeof(hdr) - 1);
	ck_assert(memcmp(buf, hdr, r.len) == 0);
	ck_assert(h.has_addr);
	ck_assert_str_eq(sockaddr_print((struct sockaddr *)&h.src, a, sizeof(a)),
	    "192.168.0.1:56324");
	ck_assert_int_eq(recv(sv[0], rest, sizeof(rest) - 1, 0), 16);
	ck_assert_str_eq(rest, "GET / HTTP/1.0\r\n");
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(test_read_refuses_a_bad_header)
{
	uint8_t buf[PP_MAX];
	struct pp_reader r = { buf, 0 };
	struct pp_header h;
	char err[256] = "";
	int sv[2];

	pp_pair(sv);
	pp_send(sv[1], "GET / HTTP/1.0\r\n");
	ck_assert_int_eq(pp_read(sv[0], &r, &h, err, sizeof(err)), PP_READ_BAD);
	ck_assert_msg(err[0] != '\0', "no reason given");
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* A client that closes inside its header is told apart from a bad one,
 * with the bytes it sent. */
START_TEST(test_read_reports_a_client_gone_mid_header)
{
	uint8_t buf[PP_MAX];
	struct pp_reader r = { buf, 0 };
	struct pp_header h;
	char err[256] = "";
	int sv[2];

	pp_pair(sv);
	pp_send(sv[1], "PROXY TCP4 ");
	ck_assert_int_eq(pp_read(sv[0], &r, &h, err, sizeof(err)), 0);
	close(sv[1]);
	ck_assert_int_eq(pp_read(sv[0], &r, &h, err, sizeof(err)), PP_READ_GONE);
	ck_assert_str_eq(err, "client closed before the end of its PROXY header (11 bytes)");
	close(sv[0]);
}
END_TEST

static Suite *
pp_suite(void)
{
	Suite *s = suite_create("proxy_proto");
	TCase *tc = tcase_create("parse");
	int n = (int)(sizeof(cases) / sizeof(*cases));

	tcase_add_loop_test(tc, test_header_whole, 0, n);
	tcase_add_loop_test(tc, test_header_byte_by_byte_agrees, 0, n);
	tcase_add_test(tc, test_builders_round_trip);
	suite_add_tcase(s, tc);
	tc = tcase_create("read");
	tcase_add_test(tc, test_read_takes_the_header_and_no_byte_past_it);
	tcase_add_test(tc, test_read_refuses_a_bad_header);
	tcase_add_test(tc, test_read_reports_a_client_gone_mid_header);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(pp_suite)
