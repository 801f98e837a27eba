/*
 * Unit tests for backend.c and the balancing algorithms: distributions
 * with weights, backups, maxconn and the queue, redispatch avoidance.
 * Servers come from real configuration text, as the daemon sees them.
 */
#include "config.h"

#include <check.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "conf.h"
#include "conf_check.h"
#include "conf_parse.h"
#include "lb.h"

#include "check_main.h"

static struct conf *
backend_conf(const char *balance, const char *servers)
{
	struct conf_msgs errs = { 0 }, warns = { 0 };
	struct conf *c = conf_new();
	char text[4096];

	snprintf(text, sizeof(text), "listen app\n  bind 127.0.0.1:1\n  balance %s\n%s",
	    balance, servers);
	conf_parse_buffer(c, "t.cfg", text, strlen(text), &errs, &warns);
	if (errs.n == 0)
		conf_check(c, 0, &errs, &warns);
	ck_assert_msg(errs.n == 0, "%s", errs.n ? errs.msg[0] : "");
	conf_msgs_free(&errs);
	conf_msgs_free(&warns);
	backend_init(c);
	lb_random_seed(42);
	return c;
}

static struct conf_server *
server(struct conf *c, const char *name)
{
	for (struct conf_server *s = c->proxies->servers; s != NULL; s = s->next) {
		if (strcmp(s->name, name) == 0)
			return s;
	}
	ck_abort_msg("no server %s", name);
	return NULL;
}

static struct sockaddr_in
client(unsigned int n)
{
	struct sockaddr_in a = { .sin_family = AF_INET };

	a.sin_addr.s_addr = htonl(0x0a000000u + n);	/* 10.0.0.0 + n */
	return a;
}

/* Assign and release at once `rounds` times; count per server name. */
static void
spread(struct conf *c, unsigned int rounds, unsigned int *count, int distinct_clients)
{
	struct conf_proxy *be = c->proxies;

	for (unsigned int i = 0; i < rounds; i++) {
		struct sockaddr_in a = client(distinct_clients ? i : 7);
		struct conf_server *s;
		unsigned int k = 0;

		ck_assert_int_eq(backend_assign(be, (struct sockaddr *)&a, NULL, &s, NULL), BACKEND_ASSIGNED);
		for (struct conf_server *t = be->servers; t != s; t = t->next)
			k++;
		count[k]++;
		backend_release(be, s);
	}
}

#define THREE "  server a 127.0.0.1:1 weight 1\n  server b 127.0.0.1:2 weight 2\n" \
	"  server c 127.0.0.1:3 weight 3\n"

START_TEST(test_roundrobin_gives_each_server_exactly_its_weight)
{
	struct conf *c = backend_conf("roundrobin", THREE);
	unsigned int n[3] = { 0 };

	spread(c, 600, n, 0);
	ck_assert_uint_eq(n[0], 100);
	ck_assert_uint_eq(n[1], 200);
	ck_assert_uint_eq(n[2], 300);
	conf_free(c);
}
END_TEST

START_TEST(test_roundrobin_is_smooth_not_bursty)
{
	struct conf *c = backend_conf("roundrobin", THREE);
	struct conf_proxy *be = c->proxies;
	struct conf_server *s, *prev = NULL;
	int run = 0, maxrun = 0;

	/* The heaviest server (3 of 6) never gets more than 2 in a row. */
	for (int i = 0; i < 60; i++) {
		ck_assert_int_eq(backend_assign(be, NULL, NULL, &s, NULL), BACKEND_ASSIGNED);
		run = s == prev ? run + 1 : 1;
		maxrun = run > maxrun ? run : maxrun;
		prev = s;
		backend_release(be, s);
	}
	ck_assert_int_le(maxrun, 2);
	conf_free(c);
}
END_TEST

START_TEST(test_roundrobin_follows_weight_changes_but_static_rr_does_not)
{
	struct conf *c = backend_conf("roundrobin", THREE), *d = backend_conf("static-rr", THREE);
	unsigned int n[3] = { 0 }, m[3] = { 0 };

	backend_set_weight(c->proxies, server(c, "a"), 3);
	backend_set_weight(d->proxies, server(d, "a"), 3);
	spread(c, 800, n, 0);
	spread(d, 600, m, 0);
	ck_assert_uint_eq(n[0], 300);
	ck_assert_uint_eq(n[1], 200);
	ck_assert_uint_eq(m[0], 100);	/* static-rr keeps the configured weight */
	conf_free(c);
	conf_free(d);
}
END_TEST

START_TEST(test_weight_zero_and_maint_get_nothing)
{
	struct conf *c = backend_conf("roundrobin",
	    "  server a 127.0.0.1:1 weight 0\n  server b 127.0.0.1:2\n  server c 127.0.0.1:3 disabled\n");
	unsigned int n[3] = { 0 };

	spread(c, 50, n, 0);
	ck_assert_uint_eq(n[0], 0);
	ck_assert_uint_eq(n[1], 50);
	ck_assert_uint_eq(n[2], 0);
	ck_assert_int_eq(server(c, "c")->state, CONF_SRV_MAINT);
	conf_free(c);
}
END_TEST

START_TEST(test_leastconn_balances_open_sessions_by_weight)
{
	struct conf *c = backend_conf("leastconn",
	    "  server a 127.0.0.1:1 weight 1\n  server b 127.0.0.1:2 weight 2\n");
	struct conf_server *s;

	for (int i = 0; i < 30; i++)
		ck_assert_int_eq(backend_assign(c->proxies, NULL, NULL, &s, NULL), BACKEND_ASSIGNED);
	ck_assert_uint_eq(server(c, "a")->cur_sess, 10);
	ck_assert_uint_eq(server(c, "b")->cur_sess, 20);
	/* Free five on b: the next five go to b. */
	for (int i = 0; i < 5; i++)
		backend_release(c->proxies, server(c, "b"));
	for (int i = 0; i < 5; i++) {
		ck_assert_int_eq(backend_assign(c->proxies, NULL, NULL, &s, NULL), BACKEND_ASSIGNED);
		ck_assert_str_eq(s->name, "b");
	}
	conf_free(c);
}
END_TEST

START_TEST(test_first_fills_servers_in_order)
{
	struct conf *c = backend_conf("first",
	    "  server a 127.0.0.1:1 maxconn 2\n  server b 127.0.0.1:2 maxconn 2\n");
	struct conf_server *s;
	const char *want[] = { "a", "a", "b", "b" };

	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(backend_assign(c->proxies, NULL, NULL, &s, NULL), BACKEND_ASSIGNED);
		ck_assert_str_eq(s->name, want[i]);
	}
	ck_assert_int_eq(backend_assign(c->proxies, NULL, NULL, &s, NULL), BACKEND_FULL);
	conf_free(c);
}
END_TEST

START_TEST(test_source_is_sticky_and_spreads_by_weight)
{
	struct conf *c = backend_conf("source", THREE);
	struct sockaddr_in a = client(12345);
	struct conf_server *s, *first;
	unsigned int n[3] = { 0 };

	ck_assert_int_eq(backend_assign(c->proxies, (struct sockaddr *)&a, NULL, &first, NULL), BACKEND_ASSIGNED);
	for (int i = 0; i < 20; i++) {
		ck_assert_int_eq(backend_assign(c->proxies, (struct sockaddr *)&a, NULL, &s, NULL), BACKEND_ASSIGNED);
		ck_assert_ptr_eq(s, first);
	}
	spread(c, 6000, n, 1);
	/* Expected 1000/2000/3000 for 6000 distinct clients; within 10%. */
	ck_assert_msg(n[0] > 900 && n[0] < 1100 && n[1] > 1800 && n[1] < 2200 &&
	    n[2] > 2700 && n[2] < 3300, "spread %u/%u/%u", n[0], n[1], n[2]);
	conf_free(c);
}
END_TEST

START_TEST(test_random_follows_weights)
{
	struct conf *c = backend_conf("random(1)", THREE);
	unsigned int n[3] = { 0 };

	spread(c, 6000, n, 0);
	ck_assert_msg(n[0] > 850 && n[0] < 1150 && n[1] > 1800 && n[1] < 2200 &&
	    n[2] > 2700 && n[2] < 3300, "spread %u/%u/%u", n[0], n[1], n[2]);
	conf_free(c);
}
END_TEST

START_TEST(test_random_two_draws_prefers_the_less_loaded)
{
	struct conf *c = backend_conf("random",
	    "  server a 127.0.0.1:1\n  server b 127.0.0.1:2\n");
	struct conf_server *s;

	ck_assert_uint_eq(c->proxies->random_draws, 2);
	/* Keep sessions open: with two draws the loads never drift apart by
	 * more than a few, where one draw would wander. */
	for (int i = 0; i < 1000; i++)
		ck_assert_int_eq(backend_assign(c->proxies, NULL, NULL, &s, NULL), BACKEND_ASSIGNED);
	ck_assert_int_le(abs((int)server(c, "a")->cur_sess - (int)server(c, "b")->cur_sess), 20);
	conf_free(c);
}
END_TEST

/* The admin socket's show stat and the readiness probe both judge a backend
 * by this: a server in state UP, nothing less (DRAIN and MAINT take no new
 * sessions). */
START_TEST(test_any_up_needs_a_server_in_state_up)
{
	struct conf *c = backend_conf("roundrobin",
	    "  server p1 127.0.0.1:1\n  server p2 127.0.0.1:2\n");
	struct conf_proxy *be = c->proxies;

	ck_assert_int_eq(backend_any_up(be), 1);
	backend_set_check(be, server(c, "p1"), 0);
	ck_assert_int_eq(backend_any_up(be), 1);
	backend_set_admin(be, server(c, "p2"), CONF_ADM_DRAIN);
	ck_assert_int_eq(backend_any_up(be), 0);
	backend_set_admin(be, server(c, "p2"), CONF_ADM_MAINT);
	ck_assert_int_eq(backend_any_up(be), 0);
	backend_set_admin(be, server(c, "p2"), CONF_ADM_READY);
	ck_assert_int_eq(backend_any_up(be), 1);
	conf_free(c);
}
END_TEST

START_TEST(test_backup_only_when_no_primary_is_up)
{
	struct conf *c = backend_conf("roundrobin",
	    "  server p1 127.0.0.1:1 maxconn 1\n  server p2 127.0.0.1:2\n"
	    "  server b1 127.0.0.1:3 backup\n  server b2 127.0.0.1:4 backup\n");
	struct conf_proxy *be = c->proxies;
	struct conf_server *s;
	unsigned int n[4] = { 0 };

	spread(c, 40, n, 0);
	ck_assert_uint_eq(n[2] + n[3], 0);
	backend_set_check(be, server(c, "p1"), 0);
	backend_set_admin(be, server(c, "p2"), CONF_ADM_MAINT);
	memset(n, 0, sizeof(n));
	spread(c, 40, n, 0);
	/* The first backup only, unless "option allbackups". */
	ck_assert_uint_eq(n[2], 40);
	ck_assert_uint_eq(n[3], 0);
	be->opts |= CONF_OPT_ALLBACKUPS;
	memset(n, 0, sizeof(n));
	spread(c, 40, n, 0);
	ck_assert_uint_eq(n[2], 20);
	ck_assert_uint_eq(n[3], 20);
	/* A primary back up takes over again. */
	backend_set_admin(be, server(c, "p2"), CONF_ADM_READY);
	ck_assert_int_eq(backend_assign(be, NULL, NULL, &s, NULL), BACKEND_ASSIGNED);
	ck_assert_str_eq(s->name, "p2");
	conf_free(c);
}
END_TEST

START_TEST(test_full_primaries_queue_rather_than_use_backups)
{
	struct conf *c = backend_conf("roundrobin",
	    "  server p 127.0.0.1:1 maxconn 1\n  server b 127.0.0.1:3 backup\n");
	struct conf_server *s;

	ck_assert_int_eq(backend_assign(c->proxies, NULL, NULL, &s, NULL), BACKEND_ASSIGNED);
	ck_assert_int_eq(backend_assign(c->proxies, NULL, NULL, &s, NULL), BACKEND_FULL);
	conf_free(c);
}
END_TEST

static struct conf_server *woken[8];
static int nwoken;

static void
on_ready(struct backend_waiter *w)
{
	woken[nwoken++] = w->srv;
}

START_TEST(test_released_slot_goes_to_the_oldest_waiter)
{
	struct conf *c = backend_conf("roundrobin", "  server a 127.0.0.1:1 maxconn 1\n");
	struct conf_proxy *be = c->proxies;
	struct backend_waiter w[3];
	struct conf_server *s;

	nwoken = 0;
	memset(w, 0, sizeof(w));
	ck_assert_int_eq(backend_assign(be, NULL, NULL, &s, NULL), BACKEND_ASSIGNED);
	for (int i = 0; i < 3; i++) {
		w[i].ready = on_ready;
		ck_assert_int_eq(backend_assign(be, NULL, NULL, &s, &w[i]), BACKEND_FULL);
	}
	ck_assert_uint_eq(be->queue_len, 3);
	ck_assert_ptr_null(backend_dequeue(be, &w[1]));	/* one gives up */
	backend_release(be, server(c, "a"));
	ck_assert_int_eq(nwoken, 1);
	ck_assert(!w[0].queued && w[2].queued);
	ck_assert_uint_eq(server(c, "a")->cur_sess, 1);	/* the slot went to w[0] */
	backend_release(be, server(c, "a"));
	ck_assert_int_eq(nwoken, 2);
	/* A waiter that gives up after it was given a slot gets it back to
	 * release. */
	ck_assert_ptr_eq(backend_dequeue(be, &w[2]), server(c, "a"));
	ck_assert_ptr_null(backend_dequeue(be, &w[2]));
	ck_assert_uint_eq(be->queue_len, 0);
	ck_assert_uint_eq(be->queue_max, 3);
	conf_free(c);
}
END_TEST

/* balance source: a full server's own queue, bounded by maxqueue; a
 * waiter that gives up leaves it, a freed slot goes to its head. */
START_TEST(test_server_queue_and_maxqueue)
{
	struct conf *c = backend_conf("source", "  server a 127.0.0.1:1 maxconn 1 maxqueue 2\n");
	struct conf_proxy *be = c->proxies;
	struct conf_server *a = server(c, "a"), *s;
	struct backend_waiter w[3];

	nwoken = 0;
	memset(w, 0, sizeof(w));
	ck_assert_int_eq(backend_assign(be, NULL, NULL, &s, NULL), BACKEND_ASSIGNED);
	/* Without a waiter, nothing queues. */
	ck_assert_int_eq(backend_assign(be, NULL, NULL, &s, NULL), BACKEND_FULL);
	ck_assert_ptr_null(s);
	for (int i = 0; i < 2; i++) {
		w[i].ready = on_ready;
		ck_assert_int_eq(backend_assign(be, NULL, NULL, &s, &w[i]), BACKEND_FULL);
		ck_assert_ptr_eq(w[i].qsrv, a);
	}
	ck_assert_uint_eq(a->queue_len, 2);
	ck_assert_uint_eq(be->queue_len, 0);
	w[2].ready = on_ready;
	ck_assert_int_eq(backend_assign(be, NULL, NULL, &s, &w[2]), BACKEND_QUEUE_FULL);
	ck_assert_ptr_null(s);
	ck_assert_ptr_eq(w[2].full, a);
	ck_assert(!w[2].queued);
	ck_assert_ptr_null(backend_dequeue(be, &w[0]));	/* one gives up */
	ck_assert_uint_eq(a->queue_len, 1);
	backend_release(be, a);
	ck_assert_int_eq(nwoken, 1);
	ck_assert_ptr_eq(woken[0], a);
	ck_assert(!w[1].queued);
	ck_assert_uint_eq(a->cur_sess, 1);
	ck_assert_uint_eq(a->queue_len, 0);
	ck_assert_uint_eq(a->queue_max, 2);
	ck_assert_ptr_eq(backend_dequeue(be, &w[1]), a);
	conf_free(c);
}
END_TEST

/* Persistence (backend_assign_to), as HAProxy's direct sessions: a full
 * named server queues its client; its queue at maxqueue, the client is
 * balanced with option redispatch, refused without. */
START_TEST(test_persistent_client_queues_on_its_server)
{
	const char *srvs = "  server a 127.0.0.1:1 maxconn 1 maxqueue 1\n  server b 127.0.0.1:2\n";
	struct conf *c = backend_conf("roundrobin", srvs);
	struct conf_proxy *be = c->proxies;
	struct conf_server *a = server(c, "a"), *s;
	struct backend_waiter w[2];

	memset(w, 0, sizeof(w));
	w[0].ready = w[1].ready = on_ready;
	ck_assert_int_eq(backend_assign_to(be, a, 0, NULL, NULL, &s, NULL), BACKEND_ASSIGNED);
	ck_assert_ptr_eq(s, a);
	ck_assert_int_eq(backend_assign_to(be, a, 0, NULL, NULL, &s, &w[0]), BACKEND_FULL);
	ck_assert_ptr_eq(w[0].qsrv, a);
	ck_assert_int_eq(backend_assign_to(be, a, 0, NULL, NULL, &s, &w[1]), BACKEND_QUEUE_FULL);
	ck_assert_ptr_eq(w[1].full, a);
	ck_assert_ptr_eq(backend_dequeue(be, &w[0]), NULL);
	conf_free(c);
	c = backend_conf("roundrobin\n  option redispatch", srvs);
	be = c->proxies;
	a = server(c, "a");
	ck_assert_int_eq(backend_assign_to(be, a, 0, NULL, NULL, &s, NULL), BACKEND_ASSIGNED);
	ck_assert_int_eq(backend_assign_to(be, a, 0, NULL, NULL, &s, &w[0]), BACKEND_FULL);
	ck_assert_int_eq(backend_assign_to(be, a, 0, NULL, NULL, &s, &w[1]), BACKEND_ASSIGNED);
	ck_assert_str_eq(s->name, "b");		/* redispatched */
	ck_assert_ptr_eq(backend_dequeue(be, &w[0]), NULL);
	conf_free(c);
}
END_TEST

/* A server that goes away under option redispatch hands its queue to the
 * backend's, merged in order of arrival. */
START_TEST(test_server_queue_merges_into_the_backend_queue)
{
	struct conf *c = backend_conf("source\n  option redispatch",
	    "  server a 127.0.0.1:1 maxconn 1\n");
	struct conf_proxy *be = c->proxies;
	struct conf_server *a = server(c, "a"), *s;
	struct backend_waiter w[3];

	memset(w, 0, sizeof(w));
	ck_assert_int_eq(backend_assign(be, NULL, NULL, &s, NULL), BACKEND_ASSIGNED);
	for (int i = 0; i < 3; i++) {
		w[i].ready = on_ready;
		ck_assert_int_eq(backend_assign(be, NULL, NULL, &s, &w[i]), BACKEND_FULL);
	}
	ck_assert_uint_eq(a->queue_len, 3);
	ck_assert_ptr_null(backend_dequeue(be, &w[1]));
	backend_set_admin(be, a, CONF_ADM_MAINT);
	ck_assert_uint_eq(a->queue_len, 0);
	ck_assert_uint_eq(be->queue_len, 2);
	ck_assert_ptr_eq(be->queue_head, &w[0]);
	ck_assert_ptr_eq(be->queue_tail, &w[2]);
	ck_assert_ptr_eq(w[0].next, &w[2]);
	ck_assert_ptr_eq(w[2].prev, &w[0]);
	ck_assert_ptr_null(w[0].qsrv);
	ck_assert_ptr_null(backend_dequeue(be, &w[0]));
	ck_assert_ptr_null(backend_dequeue(be, &w[2]));
	ck_assert_uint_eq(be->queue_len, 0);
	conf_free(c);
}
END_TEST

START_TEST(test_server_coming_up_wakes_the_queue)
{
	struct conf *c = backend_conf("roundrobin",
	    "  server a 127.0.0.1:1 maxconn 1\n  server b 127.0.0.1:2 disabled\n");
	struct conf_proxy *be = c->proxies;
	struct backend_waiter w = { .ready = on_ready };
	struct conf_server *s;

	nwoken = 0;
	ck_assert_int_eq(backend_assign(be, NULL, NULL, &s, NULL), BACKEND_ASSIGNED);
	ck_assert_int_eq(backend_assign(be, NULL, NULL, &s, &w), BACKEND_FULL);
	backend_set_admin(be, server(c, "b"), CONF_ADM_READY);
	ck_assert_int_eq(nwoken, 1);
	ck_assert_str_eq(woken[0]->name, "b");
	conf_free(c);
}
END_TEST

START_TEST(test_redispatch_avoids_the_failed_server)
{
	struct conf *c = backend_conf("roundrobin", "  server a 127.0.0.1:1\n  server b 127.0.0.1:2\n");
	struct conf_server *s;

	for (int i = 0; i < 10; i++) {
		ck_assert_int_eq(backend_assign(c->proxies, NULL, server(c, "a"), &s, NULL), BACKEND_ASSIGNED);
		ck_assert_str_eq(s->name, "b");
		backend_release(c->proxies, s);
	}
	/* Alone, the avoided server is still chosen. */
	backend_set_admin(c->proxies, server(c, "b"), CONF_ADM_MAINT);
	ck_assert_int_eq(backend_assign(c->proxies, NULL, server(c, "a"), &s, NULL), BACKEND_ASSIGNED);
	ck_assert_str_eq(s->name, "a");
	conf_free(c);
}
END_TEST

/* Leaving maintenance hands the server back to its checks: one that
 * failed them meanwhile stays DOWN, and show stat says who holds it. */
START_TEST(test_state_holders_are_separate)
{
	struct conf *c = backend_conf("roundrobin", "  server a 127.0.0.1:1 check rise 2 fall 3\n");
	struct conf_proxy *be = c->proxies;
	struct conf_server *a = server(c, "a");
	char st[24];

	backend_status_text(a, st, sizeof(st));
	ck_assert_str_eq(st, "UP");
	backend_set_admin(be, a, CONF_ADM_MAINT);
	backend_set_check(be, a, 0);
	a->check_health = 0;
	backend_status_text(a, st, sizeof(st));
	ck_assert_str_eq(st, "MAINT");
	backend_set_admin(be, a, CONF_ADM_READY);
	ck_assert_int_eq(a->state, CONF_SRV_DOWN);
	backend_status_text(a, st, sizeof(st));
	ck_assert_str_eq(st, "DOWN");
	a->check_health = 1;	/* one success of rise 2 */
	backend_status_text(a, st, sizeof(st));
	ck_assert_str_eq(st, "DOWN 1/2");
	/* Drain is the admin's too: it does not bring a down server up. */
	backend_set_admin(be, a, CONF_ADM_DRAIN);
	ck_assert_int_eq(a->state, CONF_SRV_DOWN);
	backend_set_check(be, a, 1);
	ck_assert_int_eq(a->state, CONF_SRV_DRAIN);
	backend_set_admin(be, a, CONF_ADM_READY);
	a->check_health = 3;	/* one failure of fall 3 while up */
	backend_status_text(a, st, sizeof(st));
	ck_assert_str_eq(st, "UP 2/3");
	conf_free(c);
}
END_TEST

START_TEST(test_no_server_at_all)
{
	struct conf *c = backend_conf("roundrobin", "  server a 127.0.0.1:1 disabled\n");
	struct conf_server *s;

	ck_assert_int_eq(backend_assign(c->proxies, NULL, NULL, &s, NULL), BACKEND_NO_SERVER);
	conf_free(c);
}
END_TEST

static Suite *
lb_suite(void)
{
	Suite *s = suite_create("lb");
	TCase *tc = tcase_create("balance");

	tcase_add_test(tc, test_roundrobin_gives_each_server_exactly_its_weight);
	tcase_add_test(tc, test_roundrobin_is_smooth_not_bursty);
	tcase_add_test(tc, test_roundrobin_follows_weight_changes_but_static_rr_does_not);
	tcase_add_test(tc, test_weight_zero_and_maint_get_nothing);
	tcase_add_test(tc, test_leastconn_balances_open_sessions_by_weight);
	tcase_add_test(tc, test_first_fills_servers_in_order);
	tcase_add_test(tc, test_source_is_sticky_and_spreads_by_weight);
	tcase_add_test(tc, test_server_queue_and_maxqueue);
	tcase_add_test(tc, test_persistent_client_queues_on_its_server);
	tcase_add_test(tc, test_server_queue_merges_into_the_backend_queue);
	tcase_add_test(tc, test_random_follows_weights);
	tcase_add_test(tc, test_random_two_draws_prefers_the_less_loaded);
	tcase_add_test(tc, test_backup_only_when_no_primary_is_up);
	tcase_add_test(tc, test_full_primaries_queue_rather_than_use_backups);
	tcase_add_test(tc, test_released_slot_goes_to_the_oldest_waiter);
	tcase_add_test(tc, test_server_coming_up_wakes_the_queue);
	tcase_add_test(tc, test_redispatch_avoids_the_failed_server);
	tcase_add_test(tc, test_state_holders_are_separate);
	tcase_add_test(tc, test_no_server_at_all);
	tcase_add_test(tc, test_any_up_needs_a_server_in_state_up);
	suite_add_tcase(s, tc);
	return s;
}

/* backend.c's scratch memory is freed once, after every test. */
int
main(void)
{
	int rc = check_run(lb_suite());

	backend_cleanup();
	return rc;
}
