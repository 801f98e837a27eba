/*
 * Unit tests for acl.c: networks, conditions and rule verdicts.
 */
#include "config.h"

#include <check.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"

#include "check_main.h"

static struct sockaddr_storage
addr(const char *ip)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(ip, ':') != NULL) {
		ss.ss_family = AF_INET6;
		ck_assert_int_eq(inet_pton(AF_INET6, ip, &((struct sockaddr_in6 *)&ss)->sin6_addr), 1);
	} else {
		ss.ss_family = AF_INET;
		ck_assert_int_eq(inet_pton(AF_INET, ip, &((struct sockaddr_in *)&ss)->sin_addr), 1);
	}
	return ss;
}

/* Declare ACLs from lines like "acl net src 10.0.0.0/8". */
static struct acl *
decl(const char *const *lines)
{
	struct acl *list = NULL;
	char err[256];

	for (; *lines != NULL; lines++) {
		char buf[256], *argv[16], *save = NULL;
		int argc = 0;

		strcpy(buf, *lines);
		for (char *w = strtok_r(buf, " ", &save); w != NULL; w = strtok_r(NULL, " ", &save))
			argv[argc++] = w;
		ck_assert_msg(acl_parse_decl(&list, argc, argv, err, sizeof(err)) == 0, "%s: %s",
		    *lines, err);
	}
	return list;
}

/* Evaluate "if|unless ..." for an address. */
static int
cond(struct acl **list, const char *text, const char *ip)
{
	char buf[256], *argv[32], *save = NULL, err[256];
	struct sockaddr_storage ss = addr(ip);
	struct acl_cond *c;
	int argc = 0, r;

	strcpy(buf, text);
	for (char *w = strtok_r(buf, " ", &save); w != NULL; w = strtok_r(NULL, " ", &save))
		argv[argc++] = w;
	c = acl_parse_cond(list, argc, argv, err, sizeof(err));
	ck_assert_msg(c != NULL, "%s: %s", text, err);
	r = acl_cond_match(c, (struct sockaddr *)&ss);
	free(c->terms);
	free(c);
	return r;
}

START_TEST(test_networks_match_by_prefix)
{
	static const char *const lines[] = {
		"acl office src 10.1.0.0/16 192.168.5.7",
		"acl v6 src 2001:db8::/32",
		"acl odd src 172.16.0.0/12",
		"acl office src 10.9.9.0/24",		/* repeated name: OR'ed */
		NULL
	};
	struct acl *l = decl(lines);

	ck_assert(cond(&l, "if office", "10.1.200.3"));
	ck_assert(cond(&l, "if office", "192.168.5.7"));
	ck_assert(!cond(&l, "if office", "192.168.5.8"));
	ck_assert(cond(&l, "if office", "10.9.9.77"));
	ck_assert(!cond(&l, "if office", "10.2.0.1"));
	ck_assert(cond(&l, "if odd", "172.31.255.255"));
	ck_assert(!cond(&l, "if odd", "172.32.0.0"));
	ck_assert(cond(&l, "if v6", "2001:db8:ffff::1"));
	ck_assert(!cond(&l, "if v6", "2001:db9::1"));
	ck_assert(!cond(&l, "if v6", "10.1.0.1"));
	/* An IPv4 client on a dual-stack bind arrives v4-mapped. */
	ck_assert(cond(&l, "if office", "::ffff:10.1.2.3"));
	acl_free_list(l);
}
END_TEST

START_TEST(test_conditions_and_or_not_unless)
{
	static const char *const lines[] = {
		"acl a src 10.0.0.0/8", "acl b src 10.1.0.0/16", "acl c src 192.168.0.0/16", NULL
	};
	struct acl *l = decl(lines);

	ck_assert(cond(&l, "if a b", "10.1.0.1"));		/* AND */
	ck_assert(!cond(&l, "if a b", "10.2.0.1"));
	ck_assert(cond(&l, "if a !b", "10.2.0.1"));		/* NOT */
	ck_assert(cond(&l, "if b or c", "192.168.1.1"));	/* OR */
	ck_assert(cond(&l, "if b || c", "10.1.3.3"));
	ck_assert(!cond(&l, "if b or c", "10.2.0.1"));
	ck_assert(cond(&l, "if a b or c", "192.168.0.9"));	/* (a and b) or c */
	ck_assert(!cond(&l, "if a c or b c", "10.1.0.1"));
	ck_assert(!cond(&l, "unless a", "10.0.0.1"));		/* UNLESS */
	ck_assert(cond(&l, "unless a", "8.8.8.8"));
	acl_free_list(l);
}
END_TEST

START_TEST(test_anonymous_and_predefined_acls)
{
	struct acl *l = NULL;

	ck_assert(cond(&l, "if { src 10.0.0.0/8 203.0.113.9 }", "203.0.113.9"));
	ck_assert(!cond(&l, "if { src 10.0.0.0/8 }", "11.0.0.1"));
	ck_assert(cond(&l, "if !{ src 10.0.0.0/8 }", "11.0.0.1"));
	ck_assert(cond(&l, "if LOCALHOST", "127.0.0.2"));
	ck_assert(cond(&l, "if LOCALHOST", "::1"));
	ck_assert(!cond(&l, "if LOCALHOST", "10.0.0.1"));
	ck_assert(cond(&l, "if TRUE", "10.0.0.1"));
	ck_assert(!cond(&l, "if FALSE", "10.0.0.1"));
	acl_free_list(l);
}
END_TEST

struct bad { const char *line; const char *err; };

START_TEST(test_converters_change_what_is_matched)
{
	static const char *const lines[] = {
		"acl net24 src,ipmask(24) 10.1.2.0",
		"acl net24s src,ipmask(24),lower -m end .2.0",
		"acl low src,ipmask(255.0.0.0) -m str 10.0.0.0",
		"acl v6 src,ipmask(8,32) 2001:db8::",
		"acl even src,add(1),odd -m bool",
		NULL
	};
	struct acl *l = decl(lines);

	ck_assert(cond(&l, "if net24", "10.1.2.77"));
	ck_assert(!cond(&l, "if net24", "10.1.3.77"));
	ck_assert(cond(&l, "if net24s", "10.1.2.9"));
	ck_assert(cond(&l, "if low", "10.200.3.4"));
	ck_assert(cond(&l, "if v6", "2001:db8:1::1"));
	/* IPv6 without mask6: no sample, so no match (HAProxy). */
	ck_assert(!cond(&l, "if net24", "2001:db8::1"));
	/* An address as an integer is its IPv4 value: 10.0.0.2 is even. */
	ck_assert(cond(&l, "if even", "10.0.0.2"));
	ck_assert(!cond(&l, "if even", "10.0.0.3"));
	ck_assert(!cond(&l, "if even", "::1"));
	ck_assert(cond(&l, "if { src,ipmask(16) 10.1.0.0 }", "10.1.9.9"));
	acl_free_list(l);
}
END_TEST

START_TEST(test_bad_declarations_and_conditions_say_why)
{
	static const struct bad decls[] = {
		{ "acl x src 10.0.0.0/33", "prefix length must be 0 to 32" },
		{ "acl x src 10.0.0.300", "is not an IPv4 or IPv6 address" },
		{ "acl x src ::1/129", "prefix length must be 0 to 128" },
		{ "acl x dsst 10.0.0.0/8", "unknown fetch 'dsst'" },
		{ "acl x src", "'src' matches with '-m ip' and needs at least one pattern" },
		{ "acl x", "expects NAME FETCH" },
		{ "acl x src -f /nonexistent/list", "cannot open pattern file '/nonexistent/list'" },
		{ "acl b@d src 10.0.0.1", "may only hold letters" },
	};
	static const struct bad conds[] = {
		{ "if nosuch", "no ACL named 'nosuch' is declared before this line" },
		{ "if { src 10.0.0.0/8", "'{' without a matching '}'" },
		{ "if or a", "must stand between two ACLs" },
		{ "if", "expects at least one ACL" },
		{ "if { dsst 1.2.3.4 }", "unknown fetch 'dsst'" },
	};

	for (size_t i = 0; i < sizeof(decls) / sizeof(*decls); i++) {
		char buf[128], *argv[16], *save = NULL, err[256] = "";
		struct acl *l = NULL;
		int argc = 0;

		strcpy(buf, decls[i].line);
		for (char *w = strtok_r(buf, " ", &save); w != NULL; w = strtok_r(NULL, " ", &save))
			argv[argc++] = w;
		ck_assert_int_eq(acl_parse_decl(&l, argc, argv, err, sizeof(err)), -1);
		ck_assert_msg(strstr(err, decls[i].err) != NULL, "%s: %s", decls[i].line, err);
		acl_free_list(l);
	}
	for (size_t i = 0; i < sizeof(conds) / sizeof(*conds); i++) {
		char buf[128], *argv[16], *save = NULL, err[256] = "";
		static const char *const one[] = { "acl a src 10.0.0.0/8", NULL };
		struct acl *l = decl(one);
		int argc = 0;

		strcpy(buf, conds[i].line);
		for (char *w = strtok_r(buf, " ", &save); w != NULL; w = strtok_r(NULL, " ", &save))
			argv[argc++] = w;
		ck_assert_ptr_null(acl_parse_cond(&l, argc, argv, err, sizeof(err)));
		ck_assert_msg(strstr(err, conds[i].err) != NULL, "%s: %s", conds[i].line, err);
		acl_free_list(l);
	}
}
END_TEST

START_TEST(test_first_matching_rule_decides)
{
	static const char *const lines[] = { "acl bad src 10.66.0.0/16", "acl lan src 10.0.0.0/8", NULL };
	struct acl *l = decl(lines);
	struct acl_rule r2 = { .act = acl_action_find("reject", ACL_RULE_CONNECTION) };
	struct acl_rule r1 = { .act = acl_action_find("accept", ACL_RULE_CONNECTION) };
	char buf[64], *argv[4], err[128];
	struct sockaddr_storage in = addr("10.66.1.1"), out = addr("8.8.8.8"), lan = addr("10.1.1.1");

	/* accept if !bad lan; reject (always) */
	strcpy(buf, "if");
	argv[0] = buf;
	argv[1] = "!bad";
	argv[2] = "lan";
	r1.cond = acl_parse_cond(&l, 3, argv, err, sizeof(err));
	r1.next = &r2;
	ck_assert_int_eq(acl_connection_verdict(&r1, (struct sockaddr *)&lan), ACL_ACTION_ACCEPT);
	ck_assert_int_eq(acl_connection_verdict(&r1, (struct sockaddr *)&in), ACL_ACTION_REJECT);
	ck_assert_int_eq(acl_connection_verdict(&r1, (struct sockaddr *)&out), ACL_ACTION_REJECT);
	ck_assert_int_eq(acl_connection_verdict(NULL, (struct sockaddr *)&out), ACL_ACTION_ACCEPT);
	free(r1.cond->terms);
	free(r1.cond);
	acl_free_list(l);
}
END_TEST

static Suite *
acl_suite(void)
{
	Suite *s = suite_create("acl");
	TCase *tc = tcase_create("match");

	tcase_add_test(tc, test_networks_match_by_prefix);
	tcase_add_test(tc, test_conditions_and_or_not_unless);
	tcase_add_test(tc, test_anonymous_and_predefined_acls);
	tcase_add_test(tc, test_converters_change_what_is_matched);
	tcase_add_test(tc, test_bad_declarations_and_conditions_say_why);
	tcase_add_test(tc, test_first_matching_rule_decides);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(acl_suite)
