/*
 * Unit tests for stick tables on a virtual clock: keys, LRU eviction at
 * size, expiry, held entries, rates, filters and the dump format.
 */
#include "config.h"

#include <check.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "conf.h"
#include "sample.h"
#include "stick.h"

#include "check_main.h"

#define T0 1000000ULL
#define SEC 1000000ULL

static struct stick_table *
table(enum stick_type type, unsigned int size, uint64_t expire, const char *store)
{
	struct stick_table *t = stick_table_new("tbl", type, 32, size, expire, 1);
	char buf[256], err[256], *save = NULL;

	ck_assert_ptr_nonnull(t);
	snprintf(buf, sizeof(buf), "%s", store);
	for (char *w = strtok_r(buf, ",", &save); w != NULL; w = strtok_r(NULL, ",", &save))
		ck_assert_msg(stick_store_parse(t, w, err, sizeof(err)) == 0, "%s: %s", w, err);
	return t;
}

static struct stick_key
key(struct stick_table *t, const char *s)
{
	struct stick_key k;
	char err[256];

	ck_assert_msg(stick_key_parse(t, s, &k, err, sizeof(err)) == 0, "%s", err);
	return k;
}

struct lines {
	char buf[8192];
	int n;
};

static void
collect(const char *line, void *arg)
{
	struct lines *l = arg;
	size_t len = strlen(l->buf);

	snprintf(l->buf + len, sizeof(l->buf) - len, "%s\n", line);
	l->n++;
}

START_TEST(test_store_parse)
{
	struct stick_table *t = stick_table_new("t", STICK_IP, 0, 10, 0, 1);
	char err[256];

	ck_assert_int_eq(stick_store_parse(t, "conn_rate(10s)", err, sizeof(err)), 0);
	ck_assert_uint_eq(t->period[STICK_CONN_RATE], 10 * SEC);
	ck_assert_int_eq(stick_store_parse(t, "conn_cur", err, sizeof(err)), 0);
	ck_assert(stick_stores(t, STICK_CONN_CUR));
	ck_assert_int_eq(stick_store_parse(t, "conn_rate", err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "expects a period"));
	ck_assert_int_eq(stick_store_parse(t, "gpc0(1s)", err, sizeof(err)), -1);
	ck_assert_int_eq(stick_store_parse(t, "http_req_rate(1s)", err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "HTTP"));
	ck_assert_int_eq(stick_store_parse(t, "bogus", err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "'bogus'"));
	ck_assert_int_eq(stick_store_parse(t, "conn_rate(xs)", err, sizeof(err)), -1);
	stick_table_free_list(t);
}
END_TEST

START_TEST(test_keys)
{
	struct stick_table *ip = table(STICK_IP, 10, 0, "conn_cnt");
	struct stick_table *v6 = table(STICK_IPV6, 10, 0, "conn_cnt");
	struct stick_table *in = table(STICK_INTEGER, 10, 0, "conn_cnt");
	struct stick_table *st = stick_table_new("s", STICK_STRING, 4, 10, 0, 1);
	struct sockaddr_in a4 = { .sin_family = AF_INET };
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6 };
	struct stick_key k, k2;
	struct stick_entry *e;
	char err[256], buf[64];

	inet_pton(AF_INET, "10.1.2.3", &a4.sin_addr);
	inet_pton(AF_INET6, "::ffff:10.1.2.3", &a6.sin6_addr);
	ck_assert_int_eq(stick_key_addr(ip, (struct sockaddr *)&a4, &k), 0);
	ck_assert_int_eq(stick_key_addr(ip, (struct sockaddr *)&a6, &k2), 0);
	ck_assert_mem_eq(k.b, k2.b, 4);
	inet_pton(AF_INET6, "2001:db8::1", &a6.sin6_addr);
	ck_assert_int_eq(stick_key_addr(ip, (struct sockaddr *)&a6, &k), -1);
	ck_assert_int_eq(stick_key_addr(v6, (struct sockaddr *)&a4, &k), 0);
	k2 = key(v6, "::ffff:10.1.2.3");
	ck_assert_mem_eq(k.b, k2.b, 16);
	ck_assert_int_eq(stick_key_parse(ip, "10.1.2", &k, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "type ip"));
	ck_assert_int_eq(stick_key_parse(in, "-1", &k, err, sizeof(err)), -1);
	ck_assert_int_eq(stick_key_parse(in, "4294967296", &k, err, sizeof(err)), -1);
	k = key(in, "42");
	e = stick_ref(in, &k, T0);
	stick_key_format(in, e, buf, sizeof(buf));
	ck_assert_str_eq(buf, "42");
	stick_unref(in, e, T0);
	k = key(st, "abcdef");	/* truncated to len 4, as HAProxy */
	e = stick_ref(st, &k, T0);
	stick_key_format(st, e, buf, sizeof(buf));
	ck_assert_str_eq(buf, "abcd");
	stick_unref(st, e, T0);
	k = key(st, "ab");
	ck_assert_ptr_ne(stick_ref(st, &k, T0), e);
	ck_assert_uint_eq(stick_used(st, T0), 2);
	stick_table_free_list(ip);
	stick_table_free_list(v6);
	stick_table_free_list(in);
	stick_table_free_list(st);
}
END_TEST

/* A client's string key (SNI, payload) must not end the admin answer
 * nor forge a field: escaped as HAProxy's dump_text(). */
START_TEST(test_string_key_escaped)
{
	struct stick_table *t = table(STICK_STRING, 10, 0, "conn_cnt");
	struct stick_key k = key(t, "e v\n\n0x1: key=fake\\\t\r\x1b\x7f\xc3");
	struct stick_entry *e = stick_ref(t, &k, T0);
	struct lines l = { .n = 0 };

	stick_unref(t, e, T0);
	stick_dump(t, NULL, T0, collect, &l);
	ck_assert_int_eq(l.n, 1);
	ck_assert_ptr_nonnull(strstr(l.buf,
	    ": key=e\\ v\\n\\n0x1:\\ key\\=fake\\\\\\t\\r\\e\\x7f\\xc3 use=0 exp=0 conn_cnt=0\n"));
	ck_assert_ptr_eq(strchr(l.buf, '\n'), l.buf + strlen(l.buf) - 1);
	stick_table_free_list(t);
}
END_TEST

START_TEST(test_lru_eviction_at_size)
{
	struct stick_table *t = table(STICK_INTEGER, 3, 0, "server_id");
	struct stick_key k1 = key(t, "1"), k2 = key(t, "2"), k3 = key(t, "3"), k4 = key(t, "4");

	ck_assert_int_eq(stick_store_server(t, &k1, 1, T0), 0);
	ck_assert_int_eq(stick_store_server(t, &k2, 2, T0 + 1), 0);
	ck_assert_int_eq(stick_store_server(t, &k3, 3, T0 + 2), 0);
	/* 1 is used again: 2 is now the least recently used. */
	ck_assert_uint_eq(stick_lookup_server(t, &k1, T0 + 3), 1);
	ck_assert_int_eq(stick_store_server(t, &k4, 4, T0 + 4), 0);
	ck_assert_uint_eq(stick_used(t, T0 + 4), 3);
	ck_assert_uint_eq(stick_lookup_server(t, &k2, T0 + 5), 0);
	ck_assert_uint_eq(stick_lookup_server(t, &k1, T0 + 5), 1);
	ck_assert_uint_eq(stick_lookup_server(t, &k3, T0 + 5), 3);
	ck_assert_uint_eq(stick_lookup_server(t, &k4, T0 + 5), 4);
	stick_table_free_list(t);
}
END_TEST

START_TEST(test_held_entries_stay)
{
	struct stick_table *t = table(STICK_INTEGER, 2, 10 * SEC, "conn_cur");
	struct stick_key k1 = key(t, "1"), k2 = key(t, "2"), k3 = key(t, "3");
	struct stick_entry *e1 = stick_ref(t, &k1, T0), *e2 = stick_ref(t, &k2, T0);

	ck_assert_ptr_nonnull(e1);
	ck_assert_ptr_nonnull(e2);
	/* Full of held entries: nothing can be made, nothing expires. */
	ck_assert_ptr_null(stick_ref(t, &k3, T0 + 1));
	ck_assert_uint_eq(stick_used(t, T0 + 60 * SEC), 2);
	ck_assert_uint_eq(stick_clear(t, NULL, T0 + 60 * SEC), 0);
	/* Released, 1 expires 10 s after its release. */
	stick_unref(t, e1, T0 + 60 * SEC);
	ck_assert_uint_eq(stick_used(t, T0 + 69 * SEC), 2);
	ck_assert_uint_eq(stick_used(t, T0 + 70 * SEC), 1);
	ck_assert_ptr_eq(stick_ref(t, &k2, T0 + 70 * SEC), e2);
	stick_unref(t, e2, T0 + 70 * SEC);
	stick_unref(t, e2, T0 + 70 * SEC);
	ck_assert_uint_eq(stick_clear(t, NULL, T0 + 71 * SEC), 1);
	ck_assert_uint_eq(stick_used(t, T0 + 71 * SEC), 0);
	stick_table_free_list(t);
}
END_TEST

START_TEST(test_expiry)
{
	struct stick_table *t = table(STICK_IP, 100, 30 * SEC, "server_id");
	struct stick_key a = key(t, "10.0.0.1"), b = key(t, "10.0.0.2");

	stick_store_server(t, &a, 1, T0);
	stick_store_server(t, &b, 2, T0 + 10 * SEC);
	ck_assert_uint_eq(stick_lookup_server(t, &a, T0 + 29 * SEC), 1);	/* touched */
	ck_assert_uint_eq(stick_used(t, T0 + 39 * SEC), 2);
	ck_assert_uint_eq(stick_used(t, T0 + 40 * SEC), 1);			/* b went */
	ck_assert_uint_eq(stick_lookup_server(t, &b, T0 + 41 * SEC), 0);
	ck_assert_uint_eq(stick_lookup_server(t, &a, T0 + 58 * SEC), 1);
	ck_assert_uint_eq(stick_lookup_server(t, &a, T0 + 89 * SEC), 0);
	stick_table_free_list(t);
}
END_TEST

/* A thread that read its clock before another stamped the entry passes a
 * now older than touched: the entry is fresh, not expired long ago. */
START_TEST(test_now_older_than_touched)
{
	struct stick_table *t = table(STICK_IP, 100, 30 * SEC, "conn_rate(10s)");
	struct stick_key a = key(t, "10.0.0.1");
	struct stick_entry *e = stick_ref(t, &a, T0 + 10 * SEC);
	struct lines l = { .n = 0 };

	stick_conn_start(t, e, T0 + 10 * SEC);
	stick_unref(t, e, T0 + 10 * SEC);
	ck_assert_uint_eq(stick_used(t, T0), 1);
	ck_assert_uint_eq(stick_get(t, e, STICK_CONN_RATE, T0), 1);
	stick_dump(t, NULL, T0, collect, &l);
	ck_assert_int_eq(l.n, 1);
	ck_assert_ptr_nonnull(strstr(l.buf, " use=0 exp=30000 conn_rate(10000)=1\n"));
	ck_assert_uint_eq(stick_used(t, T0 + 39 * SEC), 1);
	ck_assert_uint_eq(stick_used(t, T0 + 40 * SEC), 0);
	stick_table_free_list(t);
}
END_TEST

START_TEST(test_counters_and_rates)
{
	struct stick_table *t = table(STICK_IP, 10, 0,
	    "conn_cnt,conn_cur,conn_rate(10s),gpc0,gpc0_rate(1s),bytes_in_rate(1s)");
	struct stick_key k = key(t, "10.0.0.1");
	struct stick_entry *e = stick_ref(t, &k, T0);

	for (int i = 0; i < 4; i++)
		stick_conn_start(t, e, T0 + (uint64_t)i * SEC);
	stick_conn_end(t, e, T0 + 4 * SEC);
	ck_assert_uint_eq(stick_get(t, e, STICK_CONN_CNT, T0 + 4 * SEC), 4);
	ck_assert_uint_eq(stick_get(t, e, STICK_CONN_CUR, T0 + 4 * SEC), 3);
	ck_assert_uint_eq(stick_get(t, e, STICK_CONN_RATE, T0 + 4 * SEC), 4);
	/* The next period: the previous one counts for what is left of it. */
	ck_assert_uint_eq(stick_get(t, e, STICK_CONN_RATE, T0 + 15 * SEC), 2);
	ck_assert_uint_eq(stick_get(t, e, STICK_CONN_RATE, T0 + 20 * SEC), 0);
	ck_assert_uint_eq(stick_get(t, e, STICK_CONN_RATE, T0 + 100 * SEC), 0);
	stick_add(t, e, STICK_GPC0, 2, T0);
	stick_add(t, e, STICK_GPC0_RATE, 5, T0);
	stick_add(t, e, STICK_BWLIM_IN_RATE, 5, T0);	/* not stored: nothing */
	ck_assert_uint_eq(stick_get(t, e, STICK_GPC0, T0), 2);
	ck_assert_uint_eq(stick_get(t, e, STICK_BWLIM_IN_RATE, T0), 0);
	stick_add_bytes(t, e, 0, 1000, T0 + 100 * SEC);
	ck_assert_uint_eq(stick_get(t, e, STICK_BYTES_IN_RATE, T0 + 100 * SEC), 1000);
	stick_unref(t, e, T0);
	stick_table_free_list(t);
}
END_TEST

/* expr for the client ip, resolved in c: its integer, or -1 for none. */
static int64_t
conv_on(const struct conf *c, const char *expr, const char *ip)
{
	struct sockaddr_in cli = { .sin_family = AF_INET };
	struct sample_ctx ctx = { .cli = (struct sockaddr *)&cli, .final = 1 };
	struct sample_expr e;
	struct sample smp;
	char err[256];
	int unknown;
	int64_t v = -1;

	ck_assert_int_eq(inet_pton(AF_INET, ip, &cli.sin_addr), 1);
	ck_assert_msg(sample_parse(expr, &e, &unknown, err, sizeof(err)) == 0, "%s", err);
	ck_assert_msg(sample_resolve(&e, c, NULL, err, sizeof(err)) == 0, "%s", err);
	if (sample_fetch(&e, &ctx, &smp) == SMP_FOUND)
		v = smp.sint;
	sample_free(&e);
	return v;
}

START_TEST(test_table_converters)
{
	struct stick_table *t = table(STICK_IP, 10, 0, "conn_cnt,conn_cur,gpc0");
	struct stick_key k = key(t, "127.0.0.1");
	uint64_t now = clock_now_us();
	struct stick_entry *e = stick_ref(t, &k, now);
	struct conf c;
	struct conf_proxy px;
	struct sample_expr ex;
	char err[256];
	int unknown;

	memset(&c, 0, sizeof(c));
	memset(&px, 0, sizeof(px));
	px.name = "tbl";
	px.table = t;
	c.proxies = &px;
	stick_conn_start(t, e, now);
	stick_add(t, e, STICK_GPC0, 3, now);
	ck_assert_int_eq(conv_on(&c, "src,table_conn_cur(tbl)", "127.0.0.1"), 1);
	ck_assert_int_eq(conv_on(&c, "src,table_conn_cnt(tbl)", "127.0.0.1"), 1);
	ck_assert_int_eq(conv_on(&c, "src,table_gpc0(tbl),mul(2)", "127.0.0.1"), 6);
	ck_assert_int_eq(conv_on(&c, "src,table_gpc0(tbl)", "127.0.0.2"), 0);
	ck_assert_int_eq(conv_on(&c, "src,in_table(tbl)", "127.0.0.1"), 1);
	ck_assert_int_eq(conv_on(&c, "src,in_table(tbl)", "127.0.0.2"), 0);
	/* The table does not store it: no sample, as HAProxy. */
	ck_assert_int_eq(conv_on(&c, "src,table_sess_cnt(tbl)", "127.0.0.1"), -1);
	ck_assert_int_eq(sample_parse("src,table_gpc0(nosuch)", &ex, &unknown, err, sizeof(err)),
	    0);
	ck_assert_int_eq(sample_resolve(&ex, &c, NULL, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "'table_gpc0': no section named 'nosuch' declares a "
	    "stick-table") != NULL, "%s", err);
	sample_free(&ex);
	stick_conn_end(t, e, now);
	stick_unref(t, e, now);
	stick_table_free_list(t);
}
END_TEST

START_TEST(test_filters_and_dump)
{
	struct stick_table *t = table(STICK_IP, 10, 60 * SEC, "gpc0,conn_rate(30s)");
	struct stick_key a = key(t, "127.0.0.1"), b = key(t, "127.0.0.2");
	struct stick_entry *ea = stick_ref(t, &a, T0), *eb = stick_ref(t, &b, T0);
	struct stick_filter f;
	struct lines l = { .n = 0 };
	char err[256], hdr[256];
	char *gt[] = { "data.gpc0", "gt", "0" }, *bad[] = { "data.conn_cur", "gt", "0" };
	char *k[] = { "key", "127.0.0.2" }, *junk[] = { "data.gpc0", "gt", "x" };

	stick_add(t, eb, STICK_GPC0, 1, T0);
	stick_conn_start(t, eb, T0);
	stick_unref(t, ea, T0);
	stick_unref(t, eb, T0);
	stick_header(t, T0, hdr, sizeof(hdr));
	ck_assert_str_eq(hdr, "# table: tbl, type: ip, size:10, used:2");
	ck_assert_int_eq(stick_filter_parse(t, 3, gt, &f, err, sizeof(err)), 0);
	stick_dump(t, &f, T0 + SEC, collect, &l);
	ck_assert_int_eq(l.n, 1);
	ck_assert_ptr_nonnull(strstr(l.buf, ": key=127.0.0.2 use=0 exp=59000 gpc0=1 "
	    "conn_rate(30000)=1\n"));
	ck_assert_int_eq(stick_filter_parse(t, 3, bad, &f, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "not stored"));
	ck_assert_int_eq(stick_filter_parse(t, 3, junk, &f, err, sizeof(err)), -1);
	ck_assert_int_eq(stick_filter_parse(t, 2, k, &f, err, sizeof(err)), 0);
	ck_assert_uint_eq(stick_clear(t, &f, T0 + SEC), 1);
	l.n = 0;
	l.buf[0] = '\0';
	stick_dump(t, NULL, T0 + SEC, collect, &l);
	ck_assert_int_eq(l.n, 1);
	ck_assert_ptr_nonnull(strstr(l.buf, "key=127.0.0.1 "));
	stick_table_free_list(t);
}
END_TEST

/* Threads share a table: counts add up and the bound holds. */
static struct stick_table *shared_t;

static void *
hammer(void *arg)
{
	unsigned int base = *(unsigned int *)arg;

	for (unsigned int i = 0; i < 20000; i++) {
		char s[16];
		struct stick_key k;
		struct stick_entry *e;

		snprintf(s, sizeof(s), "%u", (base + i) % 300);
		k = key(shared_t, s);
		if ((e = stick_ref(shared_t, &k, T0 + i)) != NULL) {
			stick_conn_start(shared_t, e, T0 + i);
			stick_conn_end(shared_t, e, T0 + i);
			stick_unref(shared_t, e, T0 + i);
		}
	}
	return NULL;
}

START_TEST(test_threads)
{
	pthread_t th[4];
	unsigned int base[4] = { 0, 7, 13, 101 };

	shared_t = table(STICK_INTEGER, 100, 0, "conn_cur,conn_cnt");
	for (int i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, hammer, &base[i]);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	ck_assert_uint_eq(stick_used(shared_t, T0), 100);
	ck_assert_uint_eq(stick_clear(shared_t, NULL, T0), 100);
	stick_table_free_list(shared_t);
}
END_TEST

static Suite *
stick_suite(void)
{
	TCase *tc;
	Suite *s = check_suite("stick", &tc);

	tcase_add_test(tc, test_store_parse);
	tcase_add_test(tc, test_keys);
	tcase_add_test(tc, test_string_key_escaped);
	tcase_add_test(tc, test_lru_eviction_at_size);
	tcase_add_test(tc, test_held_entries_stay);
	tcase_add_test(tc, test_expiry);
	tcase_add_test(tc, test_now_older_than_touched);
	tcase_add_test(tc, test_counters_and_rates);
	tcase_add_test(tc, test_filters_and_dump);
	tcase_add_test(tc, test_table_converters);
	tcase_add_test(tc, test_threads);
	return s;
}

CHECK_MAIN(stick_suite)
