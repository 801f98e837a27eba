/*
 * Unit tests of what content inspection reads: the ClientHello parser
 * (tls_hello.c) on hellos recorded from openssl s_client and Python's
 * ssl module, cut, lengthened and corrupted; the HTTP, RDP and
 * length-value readers (payload.c); and the fetches and ACL matching
 * over them (sample.c, acl.c), waiting while bytes may still come.
 */
#include "config.h"

#include <check.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acl.h"
#include "payload.h"
#include "sample.h"
#include "tls_hello.h"

#include "check_main.h"

/* A seed of tests/fuzz/corpus/inspect into buf; its length. */
static size_t
seed(const char *name, uint8_t *buf, size_t len)
{
	char path[512];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/tests/fuzz/corpus/inspect/%s", TOP_SRCDIR, name);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "%s", path);
	n = fread(buf, 1, len, f);
	fclose(f);
	return n;
}

static int
sni_is(const struct tls_hello *h, const char *want)
{
	return h->sni != NULL && h->sni_len == strlen(want) && memcmp(h->sni, want, h->sni_len) == 0;
}

START_TEST(test_real_hellos_give_sni_alpn_version)
{
	uint8_t buf[4096];
	struct tls_hello h;
	size_t n;

	n = seed("openssl-sni-alpn", buf, sizeof(buf));
	ck_assert_int_eq(tls_hello_parse(buf, n, &h), TLS_HELLO_OK);
	ck_assert(sni_is(&h, "a.example"));
	ck_assert(h.alpn != NULL && h.alpn_len == 2 && memcmp(h.alpn, "h2", 2) == 0);
	ck_assert_uint_eq(h.version, 0x30003);
	ck_assert_uint_eq(h.hs_type, 1);
	ck_assert(h.ec_ext);
	ck_assert_uint_eq(h.len, n);

	n = seed("openssl-tls12-nosni", buf, sizeof(buf));
	ck_assert_int_eq(tls_hello_parse(buf, n, &h), TLS_HELLO_OK);
	ck_assert_ptr_null(h.sni);
	ck_assert_ptr_null(h.alpn);

	n = seed("python-alpn-tls12", buf, sizeof(buf));
	ck_assert_int_eq(tls_hello_parse(buf, n, &h), TLS_HELLO_OK);
	ck_assert(sni_is(&h, "c.example"));
	ck_assert(h.alpn_len == 10 && memcmp(h.alpn, "acme-tls/1", 10) == 0);

	n = seed("python-sni", buf, sizeof(buf));
	ck_assert_int_eq(tls_hello_parse(buf, n, &h), TLS_HELLO_OK);
	ck_assert(sni_is(&h, "b.example"));
}
END_TEST

START_TEST(test_cut_hellos_wait_and_bogus_ones_are_not_hellos)
{
	uint8_t buf[4096], bad[4096];
	struct tls_hello h;
	size_t n = seed("openssl-sni-alpn", buf, sizeof(buf));

	/* Cut anywhere: wait for more, and the version shows once in. */
	for (size_t k = 0; k < n; k++) {
		ck_assert_int_eq(tls_hello_parse(buf, k, &h), TLS_HELLO_MORE);
		ck_assert_int_eq(h.version_known, k >= 11);
	}
	/* More bytes after it (the next record) change nothing. */
	memcpy(bad, buf, n);
	memset(bad + n, 0x17, 100);
	ck_assert_int_eq(tls_hello_parse(bad, n + 100, &h), TLS_HELLO_OK);
	ck_assert(sni_is(&h, "a.example"));

	/* A record length above 2^14 + 2048, below 4. */
	memcpy(bad, buf, n);
	bad[3] = 0x48, bad[4] = 0x01;
	ck_assert_int_eq(tls_hello_parse(bad, n, &h), TLS_HELLO_NOT);
	bad[3] = 0, bad[4] = 3;
	ck_assert_int_eq(tls_hello_parse(bad, n, &h), TLS_HELLO_NOT);
	/* A handshake longer than its record. */
	memcpy(bad, buf, n);
	bad[8] = (uint8_t)(bad[8] + 1);
	ck_assert_int_eq(tls_hello_parse(bad, n, &h), TLS_HELLO_NOT);
	/* Every one-byte corruption of the lengths inside: no crash, and
	 * either still a hello or none, never a pointer outside. */
	for (size_t i = 9; i < n; i++) {
		memcpy(bad, buf, n);
		bad[i] ^= 0xff;
		if (tls_hello_parse(bad, n, &h) == TLS_HELLO_OK && h.sni != NULL)
			ck_assert(h.sni >= bad && h.sni + h.sni_len <= bad + n);
	}
	/* Not TLS at all. */
	ck_assert_int_eq(tls_hello_parse((const uint8_t *)"SSH-2.0-x\r\n", 11, &h), TLS_HELLO_NOT);
	ck_assert_int_eq(tls_hello_parse((const uint8_t *)"GET / HTTP/1.1", 14, &h), TLS_HELLO_NOT);
	ck_assert_int_eq(tls_hello_parse((const uint8_t *)"\x16\x02", 2, &h), TLS_HELLO_NOT);
	/* SSLv2's CLIENT-HELLO gives a version only. */
	ck_assert_int_eq(tls_hello_parse((const uint8_t *)"\x80\x2e\x01\x03\x01", 5, &h),
	    TLS_HELLO_OK);
	ck_assert_uint_eq(h.version, 0x30001);
	ck_assert(h.sslv2);
}
END_TEST

START_TEST(test_http_heads_rdp_cookies_and_lv_blocks)
{
	static const char *const http[] = {
		"GET / HTTP/1.1\r\nHost: a\r\n\r\n", "POST /x HTTP/1.0\n\n",
	};
	static const char *const not_http[] = {
		"SSH-2.0-OpenSSH\r\n", "GET /\r\n", "GET / HTTP/2.0\r\n\r\n", "GET  / HTTP/1.1\r\n",
		"GET / HTTP/1.1\r\nno colon\r\n\r\n", "\x16\x03\x01", " GET",
	};
	uint8_t buf[256];
	const uint8_t *ver, *v;
	size_t n, vl;

	for (size_t i = 0; i < sizeof(http) / sizeof(*http); i++) {
		size_t len = strlen(http[i]);

		for (size_t k = 0; k < len; k++)
			ck_assert_int_eq(payload_http((const uint8_t *)http[i], k, &ver), PAYLOAD_MORE);
		ck_assert_int_eq(payload_http((const uint8_t *)http[i], len, &ver), PAYLOAD_OK);
		ck_assert(memcmp(ver, i == 0 ? "1.1" : "1.0", 3) == 0);
	}
	for (size_t i = 0; i < sizeof(not_http) / sizeof(*not_http); i++)
		ck_assert_msg(payload_http((const uint8_t *)not_http[i], strlen(not_http[i]), &ver) ==
		    PAYLOAD_NOT, "%s", not_http[i]);

	n = seed("rdp-cookie", buf, sizeof(buf));
	ck_assert_int_eq(payload_rdp_cookie(buf, n, NULL, 0, &v, &vl), PAYLOAD_OK);
	ck_assert(vl == 5 && memcmp(v, "alice", 5) == 0);
	ck_assert_int_eq(payload_rdp_cookie(buf, n, "MSTSHASH", 8, &v, &vl), PAYLOAD_OK);
	ck_assert_int_eq(payload_rdp_cookie(buf, n, "other", 5, &v, &vl), PAYLOAD_NOT);
	ck_assert_int_eq(payload_rdp_cookie(buf, n - 1, NULL, 0, &v, &vl), PAYLOAD_MORE);

	/* A 2-byte length at 1, the block right after it or at 0. */
	memcpy(buf, "\x00\x00\x03" "abcdef", 9);
	ck_assert_int_eq(payload_lv(buf, 9, 1, 2, 0, 1, &v, &vl), PAYLOAD_OK);
	ck_assert(vl == 3 && memcmp(v, "abc", 3) == 0);
	ck_assert_int_eq(payload_lv(buf, 9, 1, 2, 6, 0, &v, &vl), PAYLOAD_OK);
	ck_assert(memcmp(v, "def", 3) == 0);
	ck_assert_int_eq(payload_lv(buf, 5, 1, 2, 0, 1, &v, &vl), PAYLOAD_MORE);
	ck_assert_int_eq(payload_lv(buf, 9, 1, 2, -9, 1, &v, &vl), PAYLOAD_NOT);
	ck_assert_int_eq(payload_lv(buf, 9, 1, 5, 0, 1, &v, &vl), PAYLOAD_NOT);
}
END_TEST

/* Words of one line, split at spaces, into argv (buf holds them). */
static int
words(char *buf, char **argv, int max)
{
	char *save = NULL;
	int argc = 0;

	for (char *w = strtok_r(buf, " ", &save); w != NULL && argc < max;
	    w = strtok_r(NULL, " ", &save))
		argv[argc++] = w;
	return argc;
}

/* "if ..." evaluated over bytes (n of them), final or not. */
static int
eval(struct acl **list, const char *text, const void *data, size_t n, int final)
{
	char buf[512], *argv[32], err[256];
	struct sockaddr_in cli = { .sin_family = AF_INET, .sin_port = htons(40000) };
	struct sample_ctx ctx = { .cli = (struct sockaddr *)&cli, .data = data, .len = n,
	    .final = final };
	struct acl_cond *c;
	int argc, r;

	cli.sin_addr.s_addr = htonl(0x7f000001);
	snprintf(buf, sizeof(buf), "%s", text);
	argc = words(buf, argv, 32);
	c = acl_parse_cond(list, argc, argv, err, sizeof(err));
	ck_assert_msg(c != NULL, "%s: %s", text, err);
	r = acl_cond_eval(c, &ctx);
	acl_free_cond(c);
	return r;
}

START_TEST(test_fetches_wait_for_bytes_then_decide)
{
	uint8_t hello[4096];
	size_t n = seed("openssl-sni-alpn", hello, sizeof(hello));
	struct acl *l = NULL;

	ck_assert_int_eq(eval(&l, "if { req.ssl_sni -i A.example }", hello, n, 0), ACL_PASS);
	ck_assert_int_eq(eval(&l, "if { req.ssl_sni -m end .example }", hello, n, 0), ACL_PASS);
	ck_assert_int_eq(eval(&l, "if { req.ssl_sni b.example }", hello, n, 0), ACL_FAIL);
	ck_assert_int_eq(eval(&l, "if { req.ssl_sni a.example }", hello, 40, 0), ACL_MISS);
	ck_assert_int_eq(eval(&l, "if { req.ssl_sni a.example }", hello, 40, 1), ACL_FAIL);
	ck_assert_int_eq(eval(&l, "if !{ req.ssl_sni a.example }", hello, 40, 0), ACL_MISS);
	ck_assert_int_eq(eval(&l, "if { req.ssl_hello_type 1 }", hello, n, 0), ACL_PASS);
	ck_assert_int_eq(eval(&l, "if { req.ssl_ver 3.3 }", hello, 20, 0), ACL_PASS);
	ck_assert_int_eq(eval(&l, "if { req.ssl_ver ge 3.4 }", hello, n, 0), ACL_FAIL);
	ck_assert_int_eq(eval(&l, "if { req.ssl_alpn h2 }", hello, n, 0), ACL_PASS);
	ck_assert_int_eq(eval(&l, "if { req.ssl_ec_ext }", hello, n, 0), ACL_PASS);
	ck_assert_int_eq(eval(&l, "if { req.payload(0,3) 160301 }", hello, n, 0), ACL_PASS);
	ck_assert_int_eq(eval(&l, "if { req.payload(0,3) 160301 }", hello, 2, 0), ACL_MISS);
	ck_assert_int_eq(eval(&l, "if { req.payload_lv(3,2) -m len 328 }", hello, n, 0),
	    ACL_PASS);
	/* req.len: a fail may still turn into a pass while bytes come. */
	ck_assert_int_eq(eval(&l, "if REQ_CONTENT", "", 0, 0), ACL_MISS);
	ck_assert_int_eq(eval(&l, "if REQ_CONTENT", "", 0, 1), ACL_FAIL);
	ck_assert_int_eq(eval(&l, "if { req.len ge 3 }", "abc", 3, 0), ACL_PASS);
	ck_assert_int_eq(eval(&l, "if WAIT_END", "", 0, 0), ACL_MISS);
	ck_assert_int_eq(eval(&l, "if WAIT_END", "", 0, 1), ACL_PASS);
	ck_assert_int_eq(eval(&l, "if HTTP", "GET / HTTP/1.1\r\n", 16, 0), ACL_MISS);
	ck_assert_int_eq(eval(&l, "if HTTP HTTP_1.1", "GET / HTTP/1.1\r\n\r\n", 18, 0),
	    ACL_PASS);
	ck_assert_int_eq(eval(&l, "if HTTP_1.0", "GET / HTTP/1.1\r\n\r\n", 18, 0), ACL_FAIL);
	ck_assert_int_eq(eval(&l, "if !HTTP", "SSH-2.0-x\r\n", 11, 0), ACL_PASS);
	ck_assert_int_eq(eval(&l, "if { req.payload(0,4) -m bin 5353482d }", "SSH-2.0", 7, 0),
	    ACL_PASS);
	ck_assert_int_eq(eval(&l, "if { req.payload(0,0) -m sub OpenSSH }", "SSH-2.0-OpenSSH",
	    15, 0), ACL_PASS);
	ck_assert_int_eq(eval(&l, "if { req.payload(0,0) -m reg ^SSH-[0-9.]+- }", "SSH-2.0-x",
	    9, 0), ACL_PASS);
	/* Layer 4, and predefined constants. */
	ck_assert_int_eq(eval(&l, "if LOCALHOST { src_port 40000 } TRUE", "", 0, 0), ACL_PASS);
	ck_assert_int_eq(eval(&l, "if FALSE or { src -m ip 127.0.0.0/8 }", "", 0, 0), ACL_PASS);
	ck_assert_int_eq(eval(&l, "if { src -m str 127.0.0.1 }", "", 0, 0), ACL_PASS);
	ck_assert_int_eq(eval(&l, "if { src_port -m beg 400 }", "", 0, 0), ACL_PASS);
	ck_assert_int_eq(eval(&l, "if { dst_port 1 }", "", 0, 0), ACL_FAIL);
	ck_assert_int_eq(eval(&l, "if { dst -m found }", "", 0, 0), ACL_FAIL);
	/* A fail decides an AND group even while another term waits. */
	ck_assert_int_eq(eval(&l, "if FALSE WAIT_END", "", 0, 0), ACL_FAIL);
	ck_assert_int_eq(eval(&l, "if WAIT_END or TRUE", "", 0, 0), ACL_PASS);
	acl_free_list(l);
}
END_TEST

START_TEST(test_pattern_files_and_bad_declarations)
{
	static const struct { const char *line, *err; } bad[] = {
		{ "acl x req.sni foo", "unknown fetch 'req.sni'" },
		{ "acl x req.payload(0) 00", "'req.payload' expects 2 arguments" },
		{ "acl x req.payload(0,x) 00", "argument 2: 'x' is not an integer" },
		{ "acl x req.len,nosuch 1", "unknown converter 'nosuch'" },
		{ "acl x req.len,sha2(256) 1", "converter 'sha2' is not supported: splicer links" },
		{ "acl x req.len,set-var(txn.a) 1", "it reads variables" },
		{ "acl x req.len,table_http_req_cnt(t) 1", "store no such data type" },
		{ "acl x req.payload(0,1),add(1) 1", "'add' takes an integer and gets a binary" },
		{ "acl x req.ssl_sni,lower( a", "'(' without a matching ')'" },
		{ "acl x req.ssl_sni,regsub('a,b) a", "a quote without its closing '" },
		{ "acl x req.ssl_sni,field(1,,2) a", "'field': an empty list of delimiters" },
		{ "acl x req.ssl_sni,lower,,upper a", "an empty converter" },
		{ "acl x req.ssl_sni,bytes(1,2,3) a", "'bytes' takes at most 2 arguments" },
		{ "acl x src,ipmask(255.0.0.0,129) a", "'129' is not an IPv6 mask" },
		{ "acl x req.len,add(1)x 1", "unexpected 'x' after converter 'add'" },
		{ "acl x req.ssl_sni -m dom a", "unknown matching method '-m dom'" },
		{ "acl x req.ssl_sni -u 1 a", "ACL flag '-u' is not supported" },
		{ "acl x req.ssl_sni", "needs at least one pattern" },
		{ "acl x req.ssl_ver 3.x", "'3.x' is not a version" },
		{ "acl x req.len gt", "operator 'gt' expects a value" },
		{ "acl x req.payload(0,1) zz", "'zz' is not hex digits" },
		{ "acl x req.ssl_sni -m reg a(", "bad regular expression 'a('" },
		{ "acl x src 10.0.0.300", "is not an IPv4 or IPv6 address" },
		{ "acl x req.ssl_sni -f /nonexistent/list", "cannot open pattern file" },
		{ "acl x req.ssl_sni -f /dev/zero", "'/dev/zero' is not a regular file" },
		{ "acl x src", "needs at least one pattern" },
		{ "acl x", "expects NAME FETCH" },
	};
	char path[] = "/tmp/check_inspect_XXXXXX", buf[512], *argv[16], err[256];
	struct acl *l = NULL;
	int fd = mkstemp(path), argc;
	FILE *f = fdopen(fd, "w");
	uint8_t hello[4096];
	size_t n = seed("python-sni", hello, sizeof(hello));

	fputs("# allowed names\n  a.example  \n\nB.EXAMPLE\n", f);
	fclose(f);
	snprintf(buf, sizeof(buf), "acl ok req.ssl_sni -i -f %s", path);
	argc = words(buf, argv, 16);
	ck_assert_msg(acl_parse_decl(&l, argc, argv, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(eval(&l, "if ok", hello, n, 0), ACL_PASS);
	unlink(path);
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		snprintf(buf, sizeof(buf), "%s", bad[i].line);
		argc = words(buf, argv, 16);
		err[0] = '\0';
		ck_assert_msg(acl_parse_decl(&l, argc, argv, err, sizeof(err)) == -1, "%s",
		    bad[i].line);
		ck_assert_msg(strstr(err, bad[i].err) != NULL, "%s: %s", bad[i].line, err);
	}
	/* The lines naming an ACL that failed add no error of their own. */
	snprintf(buf, sizeof(buf), "if x");
	argc = words(buf, argv, 16);
	ck_assert_ptr_null(acl_parse_cond(&l, argc, argv, err, sizeof(err)));
	ck_assert_str_eq(err, "");
	acl_free_list(l);
}
END_TEST

START_TEST(test_content_rules_wait_accept_reject)
{
	struct acl *l = NULL;
	struct acl_rule r2 = { .act = acl_action_find("reject", ACL_RULE_CONTENT) };
	struct acl_rule r1 = { .act = acl_action_find("accept", ACL_RULE_CONTENT), .next = &r2 };
	char buf[128], *argv[8], err[256];
	uint8_t hello[4096];
	size_t n = seed("openssl-sni-alpn", hello, sizeof(hello));
	struct sample_ctx ctx = { .data = hello, .len = 20 };
	int argc;

	ck_assert_ptr_nonnull(r1.act);
	ck_assert_ptr_null(acl_action_find("no-such-action", ACL_RULE_CONTENT));
	snprintf(buf, sizeof(buf), "if { req.ssl_hello_type 1 }");
	argc = words(buf, argv, 8);
	ck_assert_ptr_nonnull(r1.cond = acl_parse_cond(&l, argc, argv, err, sizeof(err)));
	ck_assert_int_eq(acl_rules_verdict(&r1, &ctx), ACL_ACTION_WAIT);
	ctx.len = n;
	ck_assert_int_eq(acl_rules_verdict(&r1, &ctx), ACL_ACTION_ACCEPT);
	ctx.len = 20;
	ctx.final = 1;
	ck_assert_int_eq(acl_rules_verdict(&r1, &ctx), ACL_ACTION_REJECT);
	acl_free_cond(r1.cond);
	acl_free_list(l);
}
END_TEST

/* What expr gives for the client 127.0.0.1:40000 that sent data: its
 * text (integers in decimal, addresses printed), or NULL for none. */
static const char *
conv(const char *expr, const char *data)
{
	static char out[SMP_CHUNK_MAX + 1];
	struct sockaddr_in cli = { .sin_family = AF_INET, .sin_port = htons(40000) };
	struct sample_ctx ctx = { .cli = (struct sockaddr *)&cli, .data = (const uint8_t *)data,
	    .len = strlen(data), .final = 1 };
	struct sample_expr e;
	struct sample smp;
	char err[256];
	int unknown, r;

	inet_pton(AF_INET, "127.0.0.1", &cli.sin_addr);
	ck_assert_msg(sample_parse(expr, &e, &unknown, err, sizeof(err)) == 0, "%s: %s", expr,
	    err);
	r = sample_fetch(&e, &ctx, &smp);
	if (r != SMP_FOUND) {
		sample_free(&e);
		return NULL;
	}
	ck_assert_int_eq(sample_cast(&smp, SMP_T_STR), 0);
	ck_assert_uint_le(smp.len, SMP_CHUNK_MAX);
	memcpy(out, smp.ptr, smp.len);	/* it may point into e's arguments */
	out[smp.len] = '\0';
	sample_free(&e);
	return out;
}

#define conv_is(expr, data, want) do {							\
	const char *got_ = conv(expr, data);						\
	ck_assert_msg(got_ != NULL && strcmp(got_, want) == 0, "%s on '%s': '%s', not '%s'", \
	    expr, data, got_ != NULL ? got_ : "(none)", want);				\
} while (0)

START_TEST(test_converters_of_text)
{
	const char *req = "GET /Foo/Bar HTTP/1.1\r\nHost: a.example\r\n";

	conv_is("req.payload(0,12),lower", req, "get /foo/bar");
	conv_is("req.payload(0,3),upper,hex", "abc", "414243");
	conv_is("req.payload(0,0),bytes(4,4)", req, "/Foo");
	conv_is("req.payload(0,0),bytes(40)", req, "");
	conv_is("req.payload(0,0),field(2,/)", req, "Foo");
	conv_is("req.payload(0,0),field(2,/,2)", req, "Foo/Bar HTTP");
	conv_is("req.payload(0,0),field(-1,:),cut_crlf", req, " a.example");
	conv_is("req.payload(0,0),field(9, )", req, "");
	conv_is("req.payload(0,9),field(3,/,0)", "a/b/c/d/e", "c/d/e");
	conv_is("req.payload(0,0),word(2, /)", "  GET  /x//y ", "x");
	conv_is("req.payload(0,0),word(-1,/)", "/x//y/", "y");
	conv_is("req.payload(0,0),word(2,/,2)", "/a//b//c/", "b//c");
	conv_is("req.payload(0,0),length", req, "40");
	conv_is("req.payload(0,0),regsub(o,0,g)", "foo boo", "f00 b00");
	conv_is("req.payload(0,0),regsub('([a-z]+)@([a-z]+)','\\2 at \\1')", "x me@here y",
	    "x here at me y");
	conv_is("req.payload(0,0),regsub(X,y,i)", "axbx", "aybx");
	conv_is("req.payload(0,0),regsub(x*,-,g)", "", "-");
	conv_is("req.payload(0,0),regsub(x*,-,g)", "abc", "-a-b-c-");
	conv_is("req.payload(0,0),ltrim(' x'),rtrim(x)", "  xxhixx", "hi");
	conv_is("req.payload(0,0),base64", "hello", "aGVsbG8=");
	conv_is("req.payload(0,0),base64,b64dec", "any\xff bytes", "any\xff bytes");
	conv_is("req.payload(0,0),ub64enc", "\xfb\xff", "-_8");
	conv_is("req.payload(0,0),ub64dec", "-_8", "\xfb\xff");
	ck_assert_ptr_null(conv("req.payload(0,0),b64dec", "abc"));
	conv_is("req.payload(0,0),hex2i", "ff", "255");
	/* Hashes, as HAProxy 2.6 gives them (and the check values of CRC-32
	 * and CRC-32C). */
	conv_is("req.payload(0,0),crc32", "123456789", "3421780262");
	conv_is("req.payload(0,0),crc32c", "123456789", "3808858755");
	conv_is("req.payload(0,0),djb2", "", "5381");
	conv_is("req.payload(0,0),djb2", "a", "177670");
	conv_is("req.payload(0,0),sdbm", "a", "97");
	conv_is("req.payload(0,0),wt6", "hello world", "1866899626");
	conv_is("req.payload(0,0),wt6(1)", "hello", "140457739");
	conv_is("req.payload(0,0),djb2(1)", "abc", "2235766107");
	conv_is("req.payload(0,0),field(-2,:,2)", "ab:cd:ef", "ab:cd");
	conv_is("req.payload(0,0),regsub(^a,b,g)", "aaa", "baa");
	conv_is("req.payload(0,0),regsub(\"a\\\"\",'b,c')", "xa\"", "xb,c");
	/* A fetch that waits still waits with converters after it. */
	ck_assert_ptr_null(conv("req.payload(0,99),lower", "short"));
}
END_TEST

START_TEST(test_converters_of_numbers_and_addresses)
{
	conv_is("src_port,add(2)", "", "40002");
	conv_is("src_port,sub(40001)", "", "-1");
	conv_is("src_port,mul(-2),div(4)", "", "-20000");
	conv_is("src_port,div(0)", "", "9223372036854775807");
	conv_is("src_port,mod(7)", "", "2");
	conv_is("src_port,mul(9223372036854775807)", "", "9223372036854775807");
	conv_is("src_port,neg,mul(9223372036854775807)", "", "-9223372036854775808");
	conv_is("src_port,and(255),or(256),xor(1)", "", "321");
	conv_is("src_port,cpl", "", "-40001");
	conv_is("src_port,odd", "", "0");
	conv_is("src_port,even,iif(yes,no)", "", "yes");
	conv_is("src_port,not", "", "0");
	conv_is("src_port,bool", "", "1");
	conv_is("src_port,htonl,hex", "", "00009C40");
	conv_is("src,ipmask(24)", "", "127.0.0.0");
	conv_is("src,ipmask(255.255.0.0)", "", "127.0.0.0");
	conv_is("src,ipmask(8),hex", "", "7F000000");
	conv_is("src,lower", "", "127.0.0.1");
	/* Casts: text to an integer reads its leading digits. */
	conv_is("req.payload(0,0),lower,add(1)", "41abc", "42");
	conv_is("src,add(0)", "", "2130706433");
}
END_TEST

/* A map file holding text, into path (a mkstemp template). */
static void
mapfile(char *path, const char *text)
{
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

START_TEST(test_map_converters)
{
	char str[] = "/tmp/check_inspect_map_XXXXXX", ip[] = "/tmp/check_inspect_map_XXXXXX";
	char num[] = "/tmp/check_inspect_map_XXXXXX", re[] = "/tmp/check_inspect_map_XXXXXX";
	char ints[] = "/tmp/check_inspect_map_XXXXXX", expr[256];

	mapfile(ints, "fo 7\n");
	mapfile(str, "# key value\nexample.com  one word\nfoo  2\nfoo 3\n");
	mapfile(ip, "10.0.0.0/8 net8\n127.0.0.0/8 lo8\n127.0.0.1/32 lo32\n");
	mapfile(num, "1:5 small\n6: big\n");
	mapfile(re, "^a(b+)c$ regm-\\1\n");
	snprintf(expr, sizeof(expr), "req.payload(0,0),map(%s)", str);
	conv_is(expr, "example.com", "one word");
	ck_assert_ptr_null(conv(expr, "example.co"));
	conv_is(expr, "foo", "2");	/* the first line of a key */
	snprintf(expr, sizeof(expr), "req.payload(0,0),map_str(%s,dflt)", str);
	conv_is(expr, "nothing", "dflt");
	snprintf(expr, sizeof(expr), "req.payload(0,0),map_beg(%s)", str);
	conv_is(expr, "foobar", "2");
	snprintf(expr, sizeof(expr), "req.payload(0,0),map_end(%s)", str);
	conv_is(expr, "www.example.com", "one word");
	snprintf(expr, sizeof(expr), "req.payload(0,0),map_dom(%s)", str);
	conv_is(expr, "a.foo.b", "2");
	ck_assert_ptr_null(conv(expr, "afoo.b"));
	snprintf(expr, sizeof(expr), "req.payload(0,0),map_sub(%s)", str);
	conv_is(expr, "xfooy", "2");
	snprintf(expr, sizeof(expr), "req.payload(0,0),map_beg_int(%s,0),add(1)", ints);
	conv_is(expr, "foo", "8");
	conv_is(expr, "bar", "1");
	snprintf(expr, sizeof(expr), "req.payload(0,0),map_regm(%s)", re);
	conv_is(expr, "abbbc", "regm-bbb");
	/* ip: the most specific network, wherever it is in the file. */
	snprintf(expr, sizeof(expr), "src,map_ip(%s)", ip);
	conv_is(expr, "", "lo32");
	snprintf(expr, sizeof(expr), "src,ipmask(24),map_ip(%s)", ip);
	conv_is(expr, "", "lo8");
	snprintf(expr, sizeof(expr), "req.len,map_int(%s,none)", num);
	conv_is(expr, "abc", "small");
	conv_is(expr, "abcdef", "big");
	conv_is(expr, "", "none");
	unlink(str);
	unlink(ip);
	unlink(num);
	unlink(re);
	unlink(ints);
}
END_TEST

START_TEST(test_bad_map_files)
{
	static const struct { const char *conv, *content, *err; } bad[] = {
		{ "src,map_ip", "300.1.1.1 x\n", ":1: '300.1.1.1' is not an address or a network" },
		{ "req.len,map_int", "x y\n", ":1: 'x' is not an integer or a range" },
		{ "req.ver,map_str_int", "a\nb 2\n", ":1: '' is not an integer" },
		{ "req.ver,map_reg", "a( x\n", ":1: bad regular expression 'a('" },
		{ "req.ver,map_reg", "a++++++++++++++++++++++++ x\n", "is too costly to compile" },
		{ "req.ver,map_str_ip", "a 1.2.3\n", "'1.2.3' is not an IPv4 or IPv6 address" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		char path[] = "/tmp/check_inspect_map_XXXXXX", expr[256], err[512];
		int fd = mkstemp(path), unknown;
		FILE *f = fdopen(fd, "w");
		struct sample_expr e;

		fputs(bad[i].content, f);
		fclose(f);
		snprintf(expr, sizeof(expr), "%s(%s)", bad[i].conv, path);
		ck_assert_int_eq(sample_parse(expr, &e, &unknown, err, sizeof(err)), -1);
		ck_assert_msg(strstr(err, bad[i].err) != NULL, "%s: %s", expr, err);
		unlink(path);
	}
}
END_TEST

static Suite *
inspect_suite(void)
{
	TCase *tc;
	Suite *s = check_suite("inspect", &tc);

	tcase_add_test(tc, test_real_hellos_give_sni_alpn_version);
	tcase_add_test(tc, test_cut_hellos_wait_and_bogus_ones_are_not_hellos);
	tcase_add_test(tc, test_http_heads_rdp_cookies_and_lv_blocks);
	tcase_add_test(tc, test_fetches_wait_for_bytes_then_decide);
	tcase_add_test(tc, test_pattern_files_and_bad_declarations);
	tcase_add_test(tc, test_content_rules_wait_accept_reject);
	tcase_add_test(tc, test_converters_of_text);
	tcase_add_test(tc, test_converters_of_numbers_and_addresses);
	tcase_add_test(tc, test_map_converters);
	tcase_add_test(tc, test_bad_map_files);
	return s;
}

CHECK_MAIN(inspect_suite)
