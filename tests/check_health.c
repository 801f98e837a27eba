/*
 * Unit tests for the health-check counter (rise, fall, intervals) and the
 * matcher that judges a server's answer, fed good and hostile answers.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_agent.h"
#include "check_rule.h"
#include "conf.h"
#include "check_spec.h"
#include "conf_health.h"
#include "health.h"

#include "check_main.h"

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


/* A rule of kind m for pattern pat (text, or hex for binary). */
static struct check_rule *
rule(enum check_match m, int negate, long min_recv, const char *pat)
{
	struct check_rule *r;
	char err[256];

	r = calloc(1, sizeof(*r));
	ck_assert_ptr_nonnull(r);
	r->kind = CHECK_RULE_EXPECT;
	r->match = m;
	r->negate = negate;
	r->min_recv = min_recv;
	if (pat != NULL) {
		if (m == CHECK_M_BINARY) {
			unsigned char b[256];
			long n = check_unhex(pat, b, sizeof(b));

			ck_assert_int_ge(n, 0);
			ck_assert_int_eq(check_rule_set_data(r, b, (size_t)n), 0);
		} else {
			ck_assert_int_eq(check_rule_set_data(r, pat, strlen(pat)), 0);
		}
		if (m == CHECK_M_RSTRING || m == CHECK_M_RBINARY)
			ck_assert_int_eq(check_rule_set_regex(r, err, sizeof(err)), 0);
	}
	return r;
}

static void
rule_free(struct check_rule *r)
{
	struct check_spec *c = calloc(1, sizeof(*c));

	c->rules = r;
	check_spec_free(c);
}

/* The answer is copied into a buffer of exactly len bytes, so that ASan
 * sees a matcher reading one byte past what the server sent. */
static enum check_verdict
judge(const struct check_rule *r, const void *buf, size_t len, int last, char *info)
{
	unsigned char *copy = malloc(len);
	enum check_verdict v;

	ck_assert_ptr_nonnull(copy);	/* glibc and ASan give malloc(0) a pointer */
	memcpy(copy, buf, len);
	v = check_expect(r, copy, len, last, info, 160);
	free(copy);
	return v;
}

START_TEST(test_string_waits_for_more_then_decides)
{
	struct check_rule *r = rule(CHECK_M_STRING, 0, -1, "role:master");
	char info[160];

	ck_assert_int_eq(judge(r, "# Replication\r\nrole:mas", 23, 0, info), CHECK_MORE);
	ck_assert_int_eq(judge(r, "# Replication\r\nrole:master\r\n", 28, 0, info), CHECK_PASS);
	ck_assert_int_eq(judge(r, "# Replication\r\nrole:slave\r\n", 27, 1, info), CHECK_FAIL);
	ck_assert_str_eq(info, "did not match content 'role:master'");
	rule_free(r);
	/* Negated: a match fails at once, a mismatch passes once nothing more comes. */
	r = rule(CHECK_M_STRING, 1, -1, "-ERR");
	ck_assert_int_eq(judge(r, "-ERR no", 7, 0, info), CHECK_FAIL);
	ck_assert_str_eq(info, "matched unwanted content '-ERR'");
	ck_assert_int_eq(judge(r, "+OK", 3, 0, info), CHECK_MORE);
	ck_assert_int_eq(judge(r, "+OK", 3, 1, info), CHECK_PASS);
	rule_free(r);
}
END_TEST

START_TEST(test_min_recv_makes_a_mismatch_final)
{
	struct check_rule *r = rule(CHECK_M_RSTRING, 0, 4, "^2[0-9]{2}[- \r]");
	char info[160];

	ck_assert_int_eq(judge(r, "22", 2, 0, info), CHECK_MORE);
	ck_assert_int_eq(judge(r, "22", 2, 1, info), CHECK_FAIL);
	ck_assert_str_eq(info, "answer of 2 bytes, 4 needed");
	ck_assert_int_eq(judge(r, "220 mx ESMTP\r\n", 14, 0, info), CHECK_PASS);
	ck_assert_int_eq(judge(r, "554 go away\r\n", 13, 0, info), CHECK_FAIL);
	rule_free(r);
}
END_TEST

START_TEST(test_binary_and_regexes_see_nul_bytes)
{
	static const unsigned char pg[] = { 'R', 0, 0, 0, 8, 0, 0, 0, 0 };
	struct check_rule *r = rule(CHECK_M_BINARY, 0, -1, "00ff00");
	char info[160];

	ck_assert_int_eq(judge(r, "\x01\x00\xff\x00\x02", 5, 0, info), CHECK_PASS);
	ck_assert_int_eq(judge(r, "\x01\x00\xfe\x00\x02", 5, 1, info), CHECK_FAIL);
	ck_assert_str_eq(info, "did not match content '00FF00'");
	rule_free(r);
	r = rule(CHECK_M_RSTRING, 0, -1, "after");
	ck_assert_int_eq(judge(r, "nul\0after", 9, 1, info), CHECK_PASS);
	rule_free(r);
	r = rule(CHECK_M_RBINARY, 0, 9, "^52000000(08|0A|0C)000000(00|02|03|04|05|06|07|09|0A)");
	ck_assert_int_eq(judge(r, pg, sizeof(pg), 0, info), CHECK_PASS);
	ck_assert_int_eq(judge(r, "E\0\0\0\x50SFATAL", 11, 0, info), CHECK_FAIL);
	rule_free(r);
}
END_TEST

/* A huge line or a buffer of garbage is judged, bounded, and fails. */
START_TEST(test_huge_and_garbage_answers_fail_bounded)
{
	unsigned char *big = malloc(CHECK_BUF);
	struct check_rule *r = rule(CHECK_M_STRING, 0, -1, "+PONG");
	char info[160];

	memset(big, 'A', CHECK_BUF);
	ck_assert_int_eq(judge(r, big, CHECK_BUF, 1, info), CHECK_FAIL);
	rule_free(r);
	r = rule(CHECK_M_RSTRING, 0, -1, "^\\+PONG");
	for (size_t i = 0; i < CHECK_BUF; i++)
		big[i] = (unsigned char)(i * 131 + 7);
	ck_assert_int_eq(judge(r, big, CHECK_BUF, 1, info), CHECK_FAIL);
	rule_free(r);
	for (enum check_match m = CHECK_M_MYSQL_HELLO; m <= CHECK_M_LDAP_BIND; m++) {
		r = rule(m, 0, -1, NULL);
		for (size_t n = 0; n <= 64; n++)
			ck_assert_int_ne(judge(r, big, n, 1, info), CHECK_PASS);
		ck_assert_int_eq(judge(r, big, CHECK_BUF, 1, info), CHECK_FAIL);
		memset(big, 0xff, CHECK_BUF);	/* lengths at their largest */
		ck_assert_int_eq(judge(r, big, CHECK_BUF, 1, info), CHECK_FAIL);
		rule_free(r);
		for (size_t i = 0; i < CHECK_BUF; i++)
			big[i] = (unsigned char)(i * 131 + 7);
	}
	free(big);
}
END_TEST

/* A clone whose regex cannot be compiled is no clone: it would have run
 * the original's regex after the original freed it. */
START_TEST(test_clone_fails_whole)
{
	struct check_rule *r = rule(CHECK_M_RSTRING, 0, -1, "ok");
	struct check_spec *c = calloc(1, sizeof(*c)), *n;

	ck_assert_ptr_nonnull(c);
	c->rules = rule(CHECK_M_STRING, 0, -1, "first");
	c->rules->next = r;
	n = check_spec_clone(c);
	ck_assert_ptr_nonnull(n);
	ck_assert_ptr_nonnull(n->rules->next);
	ck_assert_int_eq(n->rules->next->has_re, 1);
	check_spec_free(n);
	/* Its text no longer compiles: the regex (still "ok") cannot be had again. */
	ck_assert_int_eq(check_rule_set_data(r, "(", 1), 0);
	ck_assert_ptr_null(check_spec_clone(c));
	check_spec_free(c);
}
END_TEST

/* A proxy whose defaults' checks could not be copied is told so: it
 * must not run with fewer rules than its defaults say. */
START_TEST(test_inherit_fails_loudly)
{
	struct conf_proxy from = { 0 }, px = { 0 }, px2 = { 0 };
	struct check_spec *c = calloc(1, sizeof(*c));

	ck_assert_ptr_nonnull(c);
	c->rules = rule(CHECK_M_RSTRING, 0, -1, "role:master");
	from.check_opt = CONF_HEALTH_TCP_CHECK;
	from.check_rules = c;
	ck_assert_int_eq(conf_health_inherit(&px, &from), 0);
	ck_assert_ptr_nonnull(px.check_rules);
	ck_assert_ptr_nonnull(px.check_rules->rules);
	conf_health_free(&px);
	/* The copy fails (its regex no longer compiles): an error, not a
	 * proxy left checking with no rules. */
	ck_assert_int_eq(check_rule_set_data(c->rules, "(", 1), 0);
	ck_assert_int_eq(conf_health_inherit(&px2, &from), -1);
	conf_health_free(&px2);
	conf_health_free(&from);
}
END_TEST

START_TEST(test_mysql_packets)
{
	static const unsigned char hello[] = "\x0b\x00\x00\x00\x0a" "10.11.6\x00\x01\x02";
	static const unsigned char error[] = "\x17\x00\x00\x00\xff\x6a\x04" "Host not allowed....";
	static const unsigned char ok[] = "\x07\x00\x00\x02\x00\x00\x00\x02\x00\x00\x00";
	struct check_rule *r = rule(CHECK_M_MYSQL_HELLO, 0, -1, NULL);
	char info[160];

	ck_assert_int_eq(judge(r, hello, 8, 0, info), CHECK_MORE);	/* truncated */
	ck_assert_int_eq(judge(r, hello, 8, 1, info), CHECK_FAIL);
	ck_assert_int_eq(judge(r, hello, 15, 0, info), CHECK_PASS);
	ck_assert_str_eq(info, "MySQL version 10.11.6");
	ck_assert_int_eq(judge(r, error, 27, 0, info), CHECK_FAIL);
	ck_assert_str_eq(info, "MySQL error 1130: Host not allowed....");
	/* Error packets too short for their 2-byte code. */
	ck_assert_int_eq(judge(r, "\x01\x00\x00\x00\xff", 5, 0, info), CHECK_FAIL);
	ck_assert_str_eq(info, "short MySQL error packet");
	ck_assert_int_eq(judge(r, "\x02\x00\x00\x00\xff\x6a", 6, 0, info), CHECK_FAIL);
	ck_assert_str_eq(info, "short MySQL error packet");
	ck_assert_int_eq(judge(r, "\x03\x00\x00\x00\xff\x6a\x04", 7, 0, info), CHECK_FAIL);
	ck_assert_str_eq(info, "MySQL error 1130: ");
	rule_free(r);
	r = rule(CHECK_M_MYSQL_OK, 0, -1, NULL);
	ck_assert_int_eq(judge(r, ok, 11, 0, info), CHECK_PASS);
	ck_assert_int_eq(judge(r, hello, 15, 0, info), CHECK_FAIL);
	rule_free(r);
}
END_TEST

START_TEST(test_ldap_bind_response)
{
	static const unsigned char ok[] = { 0x30, 0x0c, 0x02, 0x01, 0x01, 0x61, 0x07, 0x0a,
		0x01, 0x00, 0x04, 0x00, 0x04, 0x00 };
	static const unsigned char longform[] = { 0x30, 0x84, 0x00, 0x00, 0x00, 0x0c, 0x02,
		0x01, 0x01, 0x61, 0x07, 0x0a, 0x01, 0x31, 0x04, 0x00, 0x04, 0x00 };
	struct check_rule *r = rule(CHECK_M_LDAP_BIND, 0, -1, NULL);
	char info[160];

	ck_assert_int_eq(judge(r, ok, sizeof(ok), 0, info), CHECK_PASS);
	ck_assert_int_eq(judge(r, ok, 8, 0, info), CHECK_MORE);
	ck_assert_int_eq(judge(r, ok, 8, 1, info), CHECK_FAIL);
	ck_assert_int_eq(judge(r, longform, sizeof(longform), 0, info), CHECK_FAIL);
	ck_assert_str_eq(info, "not an LDAPv3 bind response");	/* 4-byte lengths refused */
	rule_free(r);
}
END_TEST

START_TEST(test_protocol_rules_send_what_haproxy_sends)
{
	struct check_spec c = { 0 };
	struct check_rule *r;

	ck_assert_int_eq(check_spec_proto(&c, CHECK_PROTO_PGSQL, "app", 0), 0);
	r = c.rules;
	ck_assert_int_eq(r->kind, CHECK_RULE_SEND);
	ck_assert_uint_eq(r->len, 18);
	ck_assert_int_eq(memcmp(r->data, "\0\0\0\x12\0\3\0\0user\0app\0\0", 18), 0);
	while (c.rules != NULL) {
		r = c.rules;
		c.rules = r->next;
		r->next = NULL;
		rule_free(r);
	}
	ck_assert_int_eq(check_spec_proto(&c, CHECK_PROTO_MYSQL, "haproxy", 1), 0);
	r = c.rules->next;	/* after the handshake: login (4.1) and quit */
	ck_assert_uint_eq(r->len, 4 + 7 + 34 + 5);
	ck_assert_int_eq(memcmp(r->data, "\x29\0\0\x01\x00\x82\0\0", 8), 0);
	ck_assert_int_eq(memcmp(r->data + r->len - 5, "\x01\0\0\0\x01", 5), 0);
	while (c.rules != NULL) {
		r = c.rules;
		c.rules = r->next;
		r->next = NULL;
		rule_free(r);
	}
	ck_assert_int_eq(check_unhex("0g", (unsigned char[4]){ 0 }, 4), -1);
	ck_assert_int_eq(check_unhex("abc", (unsigned char[4]){ 0 }, 4), -1);
	ck_assert_int_eq(check_unhex("aabbccddee", (unsigned char[4]){ 0 }, 4), -1);
}
END_TEST

START_TEST(test_http_answers)
{
	static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nall ok!";
	static const char sick[] = "HTTP/1.0 503 Service Unavailable\r\n\r\n";
	static const char chunked[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "2\r\nok\r\n0\r\n\r\n";
	struct check_rule *r = rule(CHECK_M_HTTP_STATUS, 0, -1, "200,300-399");
	unsigned char *big = malloc(CHECK_BUF);
	char info[160];

	ck_assert_int_eq(judge(r, ok, 20, 0, info), CHECK_MORE);	/* headers not all in */
	ck_assert_int_eq(judge(r, ok, strlen(ok), 0, info), CHECK_PASS);
	ck_assert_int_eq(judge(r, sick, strlen(sick), 0, info), CHECK_FAIL_STATUS);
	ck_assert_str_eq(info, "HTTP status check returned code <503>");
	ck_assert_int_eq(check_http_status((const unsigned char *)sick, strlen(sick)), 503);
	r->on404 = 1;
	ck_assert_int_eq(judge(r, "HTTP/1.1 404 No\r\n\r\n", 19, 0, info), CHECK_PASS_NOLB);
	rule_free(r);
	r = rule(CHECK_M_HTTP_STRING, 0, -1, "ok!");
	r->match = CHECK_M_HTTP_STRING;
	ck_assert_int_eq(judge(r, ok, strlen(ok) - 1, 0, info), CHECK_MORE);	/* body short */
	ck_assert_int_eq(judge(r, ok, strlen(ok), 0, info), CHECK_PASS);
	ck_assert_int_eq(judge(r, chunked, strlen(chunked), 0, info), CHECK_FAIL);
	/* An empty Content-Length is no length: reading it stops at its line
	 * (ASan sees a read past the 7 otherwise). */
	ck_assert_int_eq(judge(r, "HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n7", 37, 0, info),
	    CHECK_MORE);
	ck_assert_int_eq(judge(r, "HTTP/1.1 200 OK\r\nContent-Length: 3x\r\n\r\nok!", 42, 0, info),
	    CHECK_PASS);
	rule_free(r);
	r = rule(CHECK_M_HTTP_DEFAULT, 0, -1, NULL);
	memset(big, 'x', CHECK_BUF);
	memcpy(big, "HTTP/1.1 200 OK\r\nX: ", 20);
	ck_assert_int_eq(judge(r, big, CHECK_BUF, 1, info), CHECK_FAIL);
	ck_assert_str_eq(info, "HTTP headers longer than 16384 bytes");
	ck_assert_int_eq(judge(r, "SSH-2.0-OpenSSH\r\n", 17, 0, info), CHECK_FAIL);
	ck_assert_int_eq(judge(r, "HTTP/1.1 301 Moved\r\n\r\n", 22, 0, info), CHECK_PASS);
	ck_assert_int_eq(check_http_valid_list("200,300-399"), 1);
	ck_assert_int_eq(check_http_valid_list("2xx"), 0);
	ck_assert_int_eq(check_http_valid_list("399-300"), 0);
	rule_free(r);
	free(big);
}
END_TEST

/* An expect hdr|fhdr rule: name by nm, value (or NULL) by vm. */
static struct check_rule *
hdr_rule(int full, const char *name, enum check_hdr_meth nm, const char *value,
    enum check_hdr_meth vm)
{
	struct check_rule *r = rule(CHECK_M_HTTP_HDR, 0, -1, NULL);
	char err[256];

	r->full = full;
	r->hname_m = nm;
	r->hval_m = vm;
	r->re_icase = 1;
	ck_assert_int_eq(check_rule_set_data(r, name, strlen(name)), 0);
	if (nm == CHECK_HM_REG)
		ck_assert_int_eq(check_rule_set_regex(r, err, sizeof(err)), 0);
	if (value != NULL)
		ck_assert_int_eq(check_rule_set_hval(r, value, err, sizeof(err)), 0);
	return r;
}

/* HAProxy's expect hdr: names without case, by -m; hdr values element by
 * element of a comma list, fhdr the whole value; "!" negates. */
START_TEST(test_http_header_expect)
{
	static const char a[] = "HTTP/1.1 200 OK\r\nX-Role: replica\r\n"
	    "set-cookie: a=1,  sessid=42 \r\nContent-Length: 0\r\n\r\n";
	static const char none[] = "HTTP/1.1 200 OK\r\n\r\n";
	struct check_rule *r = hdr_rule(0, "Set-Cookie", CHECK_HM_STR, "sessid=", CHECK_HM_BEG);
	char info[160];

	ck_assert_int_eq(judge(r, a, 30, 0, info), CHECK_MORE);	/* headers not all in */
	ck_assert_int_eq(judge(r, a, strlen(a), 0, info), CHECK_PASS);
	ck_assert_int_eq(judge(r, none, strlen(none), 0, info), CHECK_FAIL);
	ck_assert_str_eq(info, "HTTP header (name 'Set-Cookie', value 'sessid=') not found");
	r->full = 1;	/* fhdr: "a=1,  sessid=42" does not start so */
	ck_assert_int_eq(judge(r, a, strlen(a), 0, info), CHECK_FAIL);
	rule_free(r);
	r = hdr_rule(1, "set-cookie", CHECK_HM_STR, "a=1,  sessid=42", CHECK_HM_STR);
	ck_assert_int_eq(judge(r, a, strlen(a), 0, info), CHECK_PASS);
	rule_free(r);
	r = hdr_rule(0, "^x-r", CHECK_HM_REG, "^rep.*a$", CHECK_HM_REG);
	ck_assert_int_eq(judge(r, a, strlen(a), 0, info), CHECK_PASS);
	r->negate = 1;	/* ! hdr: a replica fails */
	ck_assert_int_eq(judge(r, a, strlen(a), 0, info), CHECK_FAIL);
	ck_assert_int_eq(judge(r, none, strlen(none), 0, info), CHECK_PASS);
	rule_free(r);
	r = hdr_rule(0, "role", CHECK_HM_END, NULL, CHECK_HM_STR);	/* the name alone */
	ck_assert_int_eq(judge(r, a, strlen(a), 0, info), CHECK_PASS);
	ck_assert_int_eq(judge(r, "HTTP/1.1 200 OK\r\nrole\r\n\r\n", 25, 0, info), CHECK_FAIL);
	rule_free(r);
	r = hdr_rule(0, "x-role", CHECK_HM_SUB, "ica", CHECK_HM_SUB);
	ck_assert_int_eq(judge(r, a, strlen(a), 0, info), CHECK_PASS);
	ck_assert_int_eq(judge(r, a, strlen(a) - 2, 1, info), CHECK_FAIL);	/* truncated */
	rule_free(r);
}
END_TEST

/* The agent's line alone in a buffer of exactly its length. */
static int
agent_exact(const char *line, struct check_agent_reply *r, char *bad)
{
	size_t n = strlen(line);
	char *copy = malloc(n);
	int rc;

	ck_assert_ptr_nonnull(copy);
	memcpy(copy, line, n);
	rc = check_agent_parse(copy, n, r, bad, 48);
	free(copy);
	return rc;
}

START_TEST(test_agent_answers)
{
	struct check_agent_reply r;
	char bad[48];

	ck_assert_int_eq(check_agent_parse("up 75%\r\n", 8, &r, bad, sizeof(bad)), 2);
	ck_assert_int_eq(r.down, 0);
	ck_assert_int_eq(r.weight_pct, 75);
	ck_assert_int_eq(r.admin, -1);
	ck_assert_int_eq(check_agent_parse("stopped,drain maxconn:30 # upgrade 2.1\n", 39, &r, bad,
	    sizeof(bad)), 3);
	ck_assert_int_eq(r.down, 1);
	ck_assert_str_eq(r.word, "stopped");
	ck_assert_int_eq(r.admin, CONF_ADM_DRAIN);
	ck_assert_int_eq(r.maxconn, 30);
	ck_assert_str_eq(r.desc, "upgrade 2.1");
	ck_assert_int_eq(check_agent_parse("READY\tmaint", 11, &r, bad, sizeof(bad)), 2);
	ck_assert_int_eq(r.admin, CONF_ADM_MAINT);	/* the last word wins */
	/* Garbage: words skipped and reported, the line bounded by its length. */
	ck_assert_int_eq(check_agent_parse("\x01\xff 50% -3% maxconn:x", 20, &r, bad, sizeof(bad)), -1);
	ck_assert_int_eq(r.weight_pct, 50);
	ck_assert_int_eq(r.maxconn, -1);
	ck_assert_int_eq(check_agent_parse("up", 1, &r, bad, sizeof(bad)), -1);
	ck_assert_int_eq(check_agent_parse("", 0, &r, bad, sizeof(bad)), 0);
	/* A number that ends the answer is read within it (ASan saw strtol
	 * read past "maxconn:-" at the end of a buffer); a huge maxconn is
	 * the largest there is, a huge percentage no percentage. */
	ck_assert_int_eq(agent_exact("maxconn:-", &r, bad), -1);
	ck_assert_int_eq(agent_exact("maxconn:30", &r, bad), 1);
	ck_assert_int_eq(r.maxconn, 30);
	ck_assert_int_eq(agent_exact("maxconn:99999999999999999999", &r, bad), 1);
	ck_assert_int_eq(r.maxconn, CONF_MAXCONN_MAX);
	ck_assert_int_eq(agent_exact("25601%", &r, bad), -1);
	ck_assert_int_eq(agent_exact("99999999999999999999%", &r, bad), -1);
	ck_assert_int_eq(agent_exact("+5%", &r, bad), -1);
	ck_assert_int_eq(agent_exact("25600%", &r, bad), 1);
	ck_assert_int_eq(r.weight_pct, 25600);
}
END_TEST

/* Every server check option is found (its table is searched in order),
 * takes its value, and leaves other words to the caller. */
START_TEST(test_server_check_options)
{
	static const char *const opts[][2] = {
		{ "addr", "127.0.0.2" }, { "agent-addr", "127.0.0.3" }, { "agent-check", NULL },
		{ "agent-inter", "2s" }, { "agent-port", "8080" }, { "agent-send", "hi\n" },
		{ "error-limit", "5" }, { "no-agent-check", NULL }, { "observe", "layer4" },
		{ "on-error", "mark-down" }, { "on-marked-down", "shutdown-sessions" },
		{ "on-marked-up", "shutdown-backup-sessions" }, { "port", "9000" },
		{ "slowstart", "3s" },
	};
	struct conf_server *s = calloc(1, sizeof(*s));
	char err[256];

	ck_assert_ptr_nonnull(s);
	for (size_t k = 0; k < sizeof(opts) / sizeof(*opts); k++) {
		char *argv[] = { "server", (char *)opts[k][0], (char *)opts[k][1], NULL };
		int i = 1, argc = opts[k][1] != NULL ? 3 : 2;

		ck_assert_msg(conf_health_server_opt(s, argc, argv, &i, err, sizeof(err)) == 1,
		    "%s: %s", opts[k][0], err);
		ck_assert_int_eq(i, argc - 1);
	}
	ck_assert_int_eq(s->check_port, 9000);
	ck_assert_int_eq(s->agent_port, 8080);
	ck_assert_int_eq(s->error_limit, 5);
	ck_assert_int_eq(s->on_error, CONF_ONERR_MARK_DOWN);
	ck_assert_int_eq(s->agent_check, 0);
	ck_assert_uint_eq(s->slowstart, 3000000);
	ck_assert(s->on_marked_down && s->on_marked_up && s->observe);
	{
		char *argv[] = { "server", "backup", NULL };
		char *bad[] = { "server", "agent-inter", "0", NULL };
		int i = 1;

		ck_assert_int_eq(conf_health_server_opt(s, 2, argv, &i, err, sizeof(err)), 0);
		ck_assert_int_eq(conf_health_server_opt(s, 3, bad, &i, err, sizeof(err)), -1);
		ck_assert_str_eq(err, "'server agent-inter' expects a time of at least 1ms: 0");
	}
	free(s);
}
END_TEST

START_TEST(test_spread_of_checks)
{
	uint64_t lo = UINT64_MAX, hi = 0;

	ck_assert_uint_eq(health_spread(2000000, 0, 12345), 2000000);
	for (long r = 0; r < 200; r++) {
		uint64_t v = health_spread(2000000, 5, r * 7919);

		lo = v < lo ? v : lo;
		hi = v > hi ? v : hi;
	}
	ck_assert_uint_eq(lo, 1900000);		/* -5% */
	ck_assert_uint_eq(hi, 2100000);		/* +5% */
	/* 1,000 servers over 2 s: one every 2 ms, the last just before 2 s. */
	ck_assert_uint_eq(health_first_delay(2000000, 1000, 0), 0);
	ck_assert_uint_eq(health_first_delay(2000000, 1000, 1), 2000);
	ck_assert_uint_eq(health_first_delay(2000000, 1000, 999), 1998000);
	ck_assert_uint_eq(health_first_delay(2000000, 0, 0), 0);
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
	tcase_add_test(tc, test_spread_of_checks);
	suite_add_tcase(s, tc);
	tc = tcase_create("matcher");
	tcase_add_test(tc, test_string_waits_for_more_then_decides);
	tcase_add_test(tc, test_min_recv_makes_a_mismatch_final);
	tcase_add_test(tc, test_binary_and_regexes_see_nul_bytes);
	tcase_add_test(tc, test_huge_and_garbage_answers_fail_bounded);
	tcase_add_test(tc, test_mysql_packets);
	tcase_add_test(tc, test_clone_fails_whole);
	tcase_add_test(tc, test_inherit_fails_loudly);
	tcase_add_test(tc, test_server_check_options);
	tcase_add_test(tc, test_ldap_bind_response);
	tcase_add_test(tc, test_protocol_rules_send_what_haproxy_sends);
	tcase_add_test(tc, test_http_answers);
	tcase_add_test(tc, test_http_header_expect);
	tcase_add_test(tc, test_agent_answers);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(health_suite)
