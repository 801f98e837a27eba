/*
 * Unit tests for session.c: the machine's own rules, on one event_base.
 *
 * The session is driven as the worker would drive it, with no thread:
 * the client is one end of a socketpair handed over as a struct
 * listener_client, the server a loopback listener of the test, and the
 * worker and the listener (the two layers below the session) are
 * replaced by the small doubles below, which the linker takes instead of
 * worker.o and listener.o. session.c is included so that the tests can
 * reach its transition table, the one thing no client can drive wrong.
 */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "conf_check.h"
#include "conf_parse.h"
#include "pipe_pool.h"

#include "../src/session.c"

#include "check_main.h"

/* ---- the worker and the listener, as this thread and two counters ---- */

static int test_worker_self;			/* its address is "the" worker */
static struct worker_job *test_jobs;		/* posted, not run yet (LIFO is fine:
						 * the tests post one at a time) */
static unsigned int test_released;		/* listener_release() calls */

struct worker *
worker_self(void)
{
	return (struct worker *)&test_worker_self;
}

unsigned int
worker_id(const struct worker *w)
{
	(void)w;
	return 0;
}

unsigned int
worker_count(void)
{
	return 1;
}

void
worker_idle(void)
{
}

int
worker_spare_take(int family)
{
	(void)family;
	return -1;
}

void
worker_post(struct worker *w, struct worker_job *j)
{
	(void)w;
	j->posted = 1;
	j->next = test_jobs;
	test_jobs = j;
}

int
worker_unpost(struct worker *w, struct worker_job *j)
{
	(void)w;
	for (struct worker_job **p = &test_jobs; *p != NULL; p = &(*p)->next) {
		if (*p == j) {
			*p = j->next;
			j->posted = 0;
			return 1;
		}
	}
	return 0;
}

void
listener_release(struct listener *l, struct conf_proxy *fe)
{
	(void)l;
	(void)fe;
	test_released++;
}

unsigned int
listener_actconn(void)
{
	return 0;
}

/* ---- a stage: configuration, loop, server and log ---- */

static struct event_base *test_base;
static struct pipe_pool test_pool;
static struct conf *test_conf;
static int test_srv = -1;			/* the server's listening socket */
static int test_peers[8];			/* the server's accepted sockets */
static int test_npeers;
static int test_log_fd = -1;			/* the tcplog file, read from its start */

/* Configuration lines for section `fe` and `be` under a defaults block
 * with extra (timeouts...); the server listens on test_srv. */
static void
stage(const char *extra, const char *bind_opts, const char *srv_opts)
{
	struct conf_msgs errs = { 0 }, warns = { 0 };
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct pipe_pool_plan plan = { .size = 0, .maxpipes = 64, .keep = 4 };
	socklen_t len = sizeof(sin);
	char text[2048], err[256], path[64];
	int small = 4096;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_ne(test_srv = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), -1);
	/* Inherited by the server's sockets: a small window, so that the
	 * session, not the kernel, holds what the server has not read. */
	ck_assert_int_eq(setsockopt(test_srv, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
	ck_assert_int_eq(bind(test_srv, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(test_srv, 16), 0);
	ck_assert_int_eq(getsockname(test_srv, (struct sockaddr *)&sin, &len), 0);
	snprintf(path, sizeof(path), "/tmp/check_session.XXXXXX");
	ck_assert_int_ne(test_log_fd = mkstemp(path), -1);
	snprintf(text, sizeof(text),
	    "defaults\n  mode tcp\n  option tcplog\n  log %s local0 info\n"
	    "  timeout connect 2s\n  timeout client 5s\n  timeout server 5s\n%s"
	    "frontend fe\n  bind 127.0.0.1:1 %s\n  default_backend be\n"
	    "backend be\n  server s 127.0.0.1:%u %s\n",
	    path, extra, bind_opts, ntohs(sin.sin_port), srv_opts);
	test_conf = conf_new();
	ck_assert_int_eq(conf_parse_buffer(test_conf, "t.cfg", text, strlen(text), &errs,
	    &warns), 0);
	ck_assert_int_eq(conf_check(test_conf, 0, &errs, &warns), 0);
	conf_msgs_free(&errs);
	conf_msgs_free(&warns);
	log_init(getenv("CHECK_SESSION_DEBUG") != NULL);	/* set: the transitions traced */
	for (struct conf_proxy *px = test_conf->proxies; px != NULL; px = px->next)
		ck_assert_int_eq(log_open(px->logs, err, sizeof(err)), 0);
	unlink(path);	/* both ends hold it open: nothing is left behind */
	backend_init(test_conf);
	conf_set_current(test_conf);
	signal(SIGPIPE, SIG_IGN);	/* as main.c: a reset peer is an errno, not a death */
	pipe_pool_configure(&plan);
	pipe_pool_use(&test_pool);
	ck_assert_ptr_nonnull(test_base = event_base_new());
}

/* A client, as the listener hands it over; returns the test's end. */
static int
stage_client(void)
{
	struct conf_proxy *fe = conf_find_proxy(test_conf, "fe", CONF_PX_FE);
	struct sockaddr_in *sin;
	struct listener_client c = { .fe = fe, .bind = fe->binds, .base = test_base };
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	sin = (struct sockaddr_in *)&c.addr;
	sin->sin_family = AF_INET;
	sin->sin_port = htons(40000);
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c.len = sizeof(*sin);
	c.fd = sv[0];
	session_accept(&c);
	return sv[1];
}

/* Run the loop for a few ms, the jobs posted meanwhile, and take the
 * server's new connections. */
static void
pump(void)
{
	struct timeval tv = { 0, 2000 };
	int fd;

	event_base_loopexit(test_base, &tv);
	event_base_dispatch(test_base);
	while (test_jobs != NULL) {
		struct worker_job *j = test_jobs;

		test_jobs = j->next;
		j->posted = 0;
		j->run(j);
	}
	while (test_npeers < 8 && (fd = accept4(test_srv, NULL, NULL, SOCK_NONBLOCK)) != -1)
		test_peers[test_npeers++] = fd;
}

/* Pump until cond holds; every wait is bounded (5 s). */
#define PUMP_UNTIL(cond) do {							\
	uint64_t t0_ = clock_now_us();						\
									\
	while (!(cond)) {							\
		ck_assert_msg(clock_now_us() - t0_ < 5000000, "waited 5 s for: %s", #cond); \
		pump();								\
	}									\
} while (0)

/* What the tcplog file holds so far. */
static const char *
log_text(void)
{
	static char all[16384];
	ssize_t n = pread(test_log_fd, all, sizeof(all) - 1, 0);

	ck_assert_int_ge(n, 0);
	all[n] = '\0';
	return all;
}

/* Does the tcplog file hold a line with this termination state? */
static int
logged(const char *term)
{
	char want[8];

	snprintf(want, sizeof(want), " %s ", term);
	return strstr(log_text(), want) != NULL;
}

static unsigned int
live(void)
{
	return session_lists[0].n;
}

/* ---- the rules ---- */

/* A FIN from the client reaches the server only after its last byte:
 * the client sends everything and its FIN while the server reads
 * nothing, so the session holds bytes when the FIN comes; the server
 * then reads every byte, in order, before its EOF. */
START_TEST(test_fin_forwarded_only_after_last_byte)
{
	static const char *const engines[] = { "  engine copy\n", "  engine splice\n" };
	/* Fits in the client's socketpair buffer, far more than the server's
	 * small window and send buffer hold. */
	enum { TOTAL = 128 * 1024 };
	char buf[4096];
	size_t sent = 0, got = 0;
	ssize_t n;
	int cli, held = 0, small = 4096;

	stage(engines[_i], "", "");
	cli = stage_client();
	PUMP_UNTIL(test_npeers == 1);
	/* A small send buffer on the session's server socket too. */
	ck_assert_int_eq(setsockopt(session_lists[0].head->sfd, SOL_SOCKET, SO_SNDBUF, &small,
	    sizeof(small)), 0);
	for (uint64_t t0 = clock_now_us(); sent < TOTAL;) {
		ck_assert_msg(clock_now_us() - t0 < 5000000, "the client could not send");
		for (size_t k = 0; k < sizeof(buf); k++)
			buf[k] = (char)((sent + k) % 251);
		n = send(cli, buf, TOTAL - sent < sizeof(buf) ? TOTAL - sent : sizeof(buf),
		    MSG_DONTWAIT);
		if (n > 0)
			sent += (size_t)n;
		if (sent == TOTAL)
			ck_assert_int_eq(shutdown(cli, SHUT_WR), 0);
		else if (n <= 0)
			pump();	/* the session takes what the small window allows */
	}
	/* The FIN is in; the bytes before it are not all out. */
	for (int i = 0; i < 20; i++)
		pump();
	held = engine_pending(&session_lists[0].head->up) != 0 ||
	    !(session_lists[0].head->up.flags & FLOW_F_SHUT);
	ck_assert_msg(held, "the session held nothing: the test proves nothing");
	for (;;) {
		n = recv(test_peers[0], buf, sizeof(buf), 0);
		if (n == 0)
			break;
		if (n < 0) {
			pump();
			continue;
		}
		for (ssize_t k = 0; k < n; k++)
			ck_assert_int_eq((unsigned char)buf[k], (got + (size_t)k) % 251);
		got += (size_t)n;
		ck_assert_uint_le(got, TOTAL);
	}
	ck_assert_uint_eq(got, TOTAL);	/* the FIN came after every byte */
	close(test_peers[0]);		/* the server's FIN: both sides done */
	PUMP_UNTIL(live() == 0);
	ck_assert_msg(logged("--"), "log: %s", log_text());
	ck_assert_uint_eq(test_released, 1);
	ck_assert_int_eq(recv(cli, buf, sizeof(buf), 0), 0);
	close(cli);
}
END_TEST

/* The table refuses an edge it does not list: the process aborts rather
 * than go on in a state nobody designed. */
START_TEST(test_illegal_transition_aborts)
{
	struct session s = { .id = 1, .state = SESS_ST_ACCEPTED };

	session_set_state(&s, SESS_ST_ESTABLISHED);
}
END_TEST

/* Every state may end (and only RESETTING must), and nothing leaves
 * CLOSED. */
START_TEST(test_every_state_can_close_and_closed_is_final)
{
	for (int st = 0; st < SESS_ST_CLOSED; st++)
		ck_assert_msg(session_legal[st] & (1u << SESS_ST_CLOSED), "%s cannot close",
		    session_state_names[st]);
	ck_assert_uint_eq(session_legal[SESS_ST_RESETTING], 1u << SESS_ST_CLOSED);
	ck_assert_uint_eq(session_legal[SESS_ST_CLOSED], 0);
}
END_TEST

/* A stop while one session holds the only slot and another waits: the
 * first ends in data (KD), the queued one in the queue (KQ), and each
 * gives its listener slot back once. */
START_TEST(test_kill_while_queued_logs_KQ)
{
	int a, b;

	stage("", "", "maxconn 1");
	a = stage_client();
	PUMP_UNTIL(test_npeers == 1 && session_lists[0].head->state == SESS_ST_ESTABLISHED);
	b = stage_client();
	PUMP_UNTIL(session_lists[0].head->state == SESS_ST_QUEUED);
	session_kill_all("stopping for the test");
	ck_assert_uint_eq(live(), 0);
	ck_assert(logged("KQ"));
	ck_assert(logged("KD"));
	ck_assert_uint_eq(test_released, 2);
	close(a);
	close(b);
}
END_TEST

/* Each timeout closes with its own termination state. */
struct timeout_case {
	const char *extra;	/* defaults lines */
	const char *bind;	/* bind options */
	const char *srv;	/* server options */
	int queued;		/* the session that times out waits behind another */
	const char *term;
};

static const struct timeout_case timeout_cases[] = {
	{ "  timeout client 100ms\n", "", "", 0, "cD" },
	{ "  timeout server 100ms\n", "", "", 0, "sD" },
	{ "  timeout lifetime 100ms\n", "", "", 0, "PD" },
	{ "  timeout client 100ms\n", "accept-proxy", "", 0, "cR" },
	{ "  timeout lifetime 100ms\n", "accept-proxy", "", 0, "PR" },
	{ "  timeout queue 100ms\n", "", "maxconn 1", 1, "sQ" },
};

START_TEST(test_each_timeout_closes_with_its_code)
{
	const struct timeout_case *c = &timeout_cases[_i];
	int first = -1, cli;

	stage(c->extra, c->bind, c->srv);
	if (c->queued) {
		first = stage_client();
		PUMP_UNTIL(test_npeers == 1);
	}
	cli = stage_client();
	PUMP_UNTIL(live() == (c->queued ? 1u : 0u));
	ck_assert_msg(logged(c->term), "no %s line in: %s", c->term, log_text());
	close(cli);
	if (first != -1)
		close(first);
}
END_TEST

static Suite *
session_suite(void)
{
	TCase *tc;
	Suite *s = check_suite("session", &tc);

	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_fin_forwarded_only_after_last_byte, 0, 2);
	tcase_add_test_raise_signal(tc, test_illegal_transition_aborts, SIGABRT);
	tcase_add_test(tc, test_every_state_can_close_and_closed_is_final);
	tcase_add_test(tc, test_kill_while_queued_logs_KQ);
	tcase_add_loop_test(tc, test_each_timeout_closes_with_its_code, 0,
	    (int)(sizeof(timeout_cases) / sizeof(*timeout_cases)));
	return s;
}

CHECK_MAIN(session_suite)
