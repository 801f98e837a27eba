/*
 * Unit tests for the data-path engines and the pipe pool, on real
 * loopback TCP sockets. The relay loop below only waits for what the
 * engine's FLOW_F_WANT_* flags ask: if an engine ever reports the wrong
 * wish (the "EAGAIN means pipe full" trap), bytes stay stuck and the
 * bounded poll() fails the test.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "engine.h"
#include "pipe_pool.h"

#include "check_main.h"

/* A connected pair of loopback TCP sockets: fd[0] <-> fd[1]. */
static void
tcp_pair(int fd[2])
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ne(l, -1);
	ck_assert_int_eq(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(l, 1), 0);
	ck_assert_int_eq(getsockname(l, (struct sockaddr *)&a, &len), 0);
	fd[0] = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_eq(connect(fd[0], (struct sockaddr *)&a, sizeof(a)), 0);
	fd[1] = accept(l, NULL, NULL);
	ck_assert_int_ne(fd[1], -1);
	close(l);
}

/* Wait (at most 5 s) until fd has n bytes to read or, with n == 0, its
 * peer's FIN or reset is in. Loopback usually delivers within the
 * sender's system call, but a loaded machine may leave it to ksoftirqd:
 * a fixed sleep would be a guess. */
static void
wait_in(int fd, int n)
{
	for (int i = 0; i < 5000; i++) {
		struct pollfd p = { .fd = fd, .events = POLLIN | POLLRDHUP };
		int q = 0;

		if (n == 0 ? poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) :
		    ioctl(fd, FIONREAD, &q) == 0 && q >= n)
			return;
		usleep(1000);
	}
	ck_abort_msg("fd %d: %d bytes (0: the end) did not arrive in 5 s", fd, n);
}

static void
nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* Byte i of the test stream: a pattern whose offset errors show. */
static unsigned char
pattern(uint64_t i)
{
	return (unsigned char)((i * 2654435761u) >> 13);
}

/*
 * Relay `total` bytes written by the test in `chunk`-sized pieces from
 * client to sink through an engine, with the sink reading `rd` bytes per
 * turn; then SHUT_WR on the client. Returns bytes received intact before
 * EOF (or before a 5 s stall). flags are added to the flow's (FLOW_F_USER:
 * as the session runs a flow that never goes to the kernel).
 */
static uint64_t
relay_with(enum conf_engine engine, unsigned int flags, uint64_t total, size_t chunk,
    size_t rd, int sndbuf)
{
	int a[2], b[2], one = 1;
	struct flow f;
	uint64_t sent = 0, got = 0;
	int shut = 0, eof = 0;
	unsigned long runs = 0, idle = 0;	/* engine runs, and runs that moved nothing */
	unsigned char *buf = malloc(chunk > rd ? chunk : rd);

	tcp_pair(a);	/* a[0] client, a[1] relay's client side */
	tcp_pair(b);	/* b[0] relay's server side, b[1] sink */
	nonblock(a[0]); nonblock(a[1]); nonblock(b[0]); nonblock(b[1]);
	setsockopt(a[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (sndbuf)
		setsockopt(b[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	engine_flow_init(&f, a[1], b[0], engine, 0, 1);
	f.flags |= FLOW_F_WANT_READ | flags;
	if (engine == CONF_ENGINE_SOCKMAP)
		ck_assert_int_eq(engine_promote(&f), 0);

	while (!eof) {
		struct pollfd p[3] = {
			{ .fd = a[1], .events = (f.flags & FLOW_F_WANT_READ) ? POLLIN : 0 },
			{ .fd = b[0], .events = (f.flags & FLOW_F_WANT_WRITE) ? POLLOUT : 0 },
			{ .fd = b[1], .events = POLLIN },
		};
		ssize_t n;

		/* The client writes as fast as the relay takes it. */
		while (sent < total) {
			size_t want = total - sent < chunk ? (size_t)(total - sent) : chunk;

			for (size_t i = 0; i < want; i++)
				buf[i] = pattern(sent + i);
			n = send(a[0], buf, want, MSG_NOSIGNAL);
			if (n <= 0)
				break;
			sent += (uint64_t)n;
		}
		/* The FIN comes only once the sink has every byte, as a client
		 * waiting for its answer would: a tail stuck in the pipe then
		 * stalls for good instead of being flushed by the EOF. */
		if (sent == total && got == total && !shut) {
			shutdown(a[0], SHUT_WR);
			shut = 1;
		}
		/* A flow in the kernel is also looked at when it asks to be. */
		n = poll(p, 3, (f.flags & FLOW_F_WANT_POLL) ? (int)(f.poll_us / 1000) : 5000);
		if (n < 0 || (n == 0 && !(f.flags & FLOW_F_WANT_POLL)))
			break;	/* stalled: the test fails on the count */
		if (p[0].revents || p[1].revents || n == 0) {
			uint64_t in = f.in, out = f.bytes;

			ck_assert_int_ge(engine_run(&f), 0);
			runs++;
			idle += f.in == in && f.bytes == out && n > 0 &&
			    !(f.flags & (FLOW_F_SRC_EOF | FLOW_F_SHUT));
			if ((f.flags & FLOW_F_SRC_EOF) && engine_pending(&f) == 0 &&
			    !(f.flags & FLOW_F_SHUT)) {
				shutdown(b[0], SHUT_WR);
				f.flags |= FLOW_F_SHUT;
			}
		}
		if (p[2].revents) {
			n = recv(b[1], buf, rd, 0);
			if (n == 0) {
				eof = 1;
			} else if (n > 0) {
				ssize_t i = 0;

				/* One assertion per read, not per byte: each costs
				 * check a write to its pipe. */
				while (i < n && buf[i] == pattern(got + (uint64_t)i))
					i++;
				ck_assert_msg(i == n, "byte %llu differs",
				    (unsigned long long)(got + (uint64_t)i));
				got += (uint64_t)n;
			}
		}
	}
	ck_assert_msg(!(f.flags & FLOW_F_SHUT) || engine_pending(&f) == 0,
	    "FIN forwarded while bytes were pending");
	/* An engine that keeps asking for a readable socket while its pipe is
	 * full spins on level-triggered readiness without moving a byte. */
	ck_assert_msg(idle <= runs / 4 + 10, "%lu of %lu engine runs moved nothing",
	    idle, runs);
	engine_release(&f);
	close(a[0]); close(a[1]); close(b[0]); close(b[1]);
	free(buf);
	return eof ? got : (uint64_t)-1 ^ got;
}

static uint64_t
relay(enum conf_engine engine, uint64_t total, size_t chunk, size_t rd, int sndbuf)
{
	return relay_with(engine, 0, total, chunk, rd, sndbuf);
}

START_TEST(test_splice_relays_every_byte_then_eof)
{
	ck_assert_uint_eq(relay(CONF_ENGINE_SPLICE, 8 << 20, 65536, 65536, 0), 8 << 20);
}
END_TEST

START_TEST(test_copy_relays_every_byte_then_eof)
{
	ck_assert_uint_eq(relay(CONF_ENGINE_COPY, 8 << 20, 65536, 65536, 0), 8 << 20);
}
END_TEST

/* Many small segments fill the pipe's 16 slots long before its 64 KiB:
 * splice then says EAGAIN although the socket still holds data. With a
 * slow sink and a small send buffer, an engine that took that EAGAIN for
 * "socket empty" would wait for a readable edge that never comes. */
START_TEST(test_splice_tail_never_stuck_when_pipe_slots_fill)
{
	ck_assert_uint_eq(relay(CONF_ENGINE_SPLICE, 3 << 20, 100, 777, 4096), 3 << 20);
}
END_TEST

START_TEST(test_copy_tail_never_stuck_with_small_writes)
{
	ck_assert_uint_eq(relay(CONF_ENGINE_COPY, 1 << 20, 100, 777, 4096), 1 << 20);
}
END_TEST

/* A flow that stays in user space stops filling after a short read and
 * counts on level-triggered readiness for the rest: no tail is stuck,
 * and the FIN still comes after the last byte. */
START_TEST(test_user_flow_short_reads_lose_no_tail)
{
	ck_assert_uint_eq(relay_with(CONF_ENGINE_SPLICE, FLOW_F_USER, 1 << 20, 100, 777, 4096),
	    1 << 20);
	ck_assert_uint_eq(relay_with(CONF_ENGINE_COPY, FLOW_F_USER, 512 << 10, 100, 777, 4096),
	    512 << 10);
	ck_assert_uint_eq(relay_with(CONF_ENGINE_SPLICE, FLOW_F_USER, 2 << 20, 65536, 65536, 0),
	    2 << 20);
}
END_TEST

START_TEST(test_splice_zero_bytes_then_eof)
{
	ck_assert_uint_eq(relay(CONF_ENGINE_SPLICE, 0, 1, 1, 0), 0);
}
END_TEST

START_TEST(test_splice_eof_with_bytes_pending_keeps_wanting_write)
{
	int a[2], b[2], small = 4096;
	struct flow f;
	char buf[65536];

	tcp_pair(a);
	tcp_pair(b);
	nonblock(a[1]); nonblock(b[0]);
	setsockopt(b[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	setsockopt(b[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	memset(buf, 'x', sizeof(buf));
	/* Client sends more than the sink side can take, then its FIN. */
	ck_assert_int_eq(send(a[0], buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
	shutdown(a[0], SHUT_WR);
	wait_in(a[1], 0);
	engine_flow_init(&f, a[1], b[0], CONF_ENGINE_SPLICE, 0, 1);
	for (int i = 0; i < 20 && !(f.flags & FLOW_F_SRC_EOF); i++) {
		ck_assert_int_ge(engine_run(&f), 0);
		usleep(10000);
	}
	/* EOF seen, bytes still in the pipe: the FIN must wait. */
	ck_assert(f.flags & FLOW_F_SRC_EOF);
	ck_assert_uint_gt(engine_pending(&f), 0);
	ck_assert(f.flags & FLOW_F_WANT_WRITE);
	ck_assert(!(f.flags & FLOW_F_WANT_READ));
	engine_release(&f);
	close(a[0]); close(a[1]); close(b[0]); close(b[1]);
}
END_TEST

START_TEST(test_reset_source_reported_as_src_err)
{
	int a[2], b[2];
	struct linger lg = { 1, 0 };
	struct flow f;

	tcp_pair(a);
	tcp_pair(b);
	nonblock(a[1]); nonblock(b[0]);
	ck_assert_int_eq(send(a[0], "hello", 5, 0), 5);
	setsockopt(a[0], SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(a[0]);
	wait_in(a[1], 0);
	engine_flow_init(&f, a[1], b[0], CONF_ENGINE_SPLICE, 0, 1);
	for (int i = 0; i < 5; i++)
		ck_assert_int_ge(engine_run(&f), 0);
	ck_assert_msg(f.flags & (FLOW_F_SRC_ERR | FLOW_F_SRC_EOF), "flags %#x", f.flags);
	engine_release(&f);
	close(a[1]); close(b[0]); close(b[1]);
}
END_TEST

static struct pipe_pool test_pool;

/* This process's pool: `maxpipes` pipes of `size` bytes, `keep` kept. */
static void
pool_setup(size_t size, unsigned int maxpipes, unsigned int keep)
{
	struct pipe_pool_plan plan = { .size = size, .maxpipes = maxpipes, .keep = keep };

	pipe_pool_drain(&test_pool);
	memset(&test_pool, 0, sizeof(test_pool));
	pipe_pool_configure(&plan);
	pipe_pool_use(&test_pool);
}

static void
pool_default(void)
{
	pool_setup(0, 1000, 8);
}

START_TEST(test_pool_destroys_pipe_that_holds_bytes)
{
	struct pipe_pair *p, *q;

	pool_setup(0, 100, 8);
	p = pipe_pool_get();
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(test_pool.st.used, 1);
	ck_assert_uint_eq(pipe_pool_allocated(), 1);
	ck_assert_int_eq(write(p->wr, "abc", 3), 3);
	p->data = 3;
	pipe_pool_put(p);
	ck_assert_uint_eq(pipe_pool_allocated(), 0);
	ck_assert_uint_eq(test_pool.st.free, 0);
	ck_assert_uint_eq(test_pool.st.used, 0);

	/* An empty pipe is kept and handed out again, empty. */
	p = pipe_pool_get();
	pipe_pool_put(p);
	ck_assert_uint_eq(test_pool.st.free, 1);
	ck_assert_uint_eq(test_pool.st.used, 0);
	q = pipe_pool_get();
	ck_assert_ptr_eq(p, q);
	ck_assert_uint_eq(q->data, 0);
	ck_assert_uint_eq(test_pool.st.created, 2);
	pipe_pool_put(q);
	pipe_pool_drain(&test_pool);
	ck_assert_uint_eq(pipe_pool_allocated(), 0);
	ck_assert_uint_eq(test_pool.st.free, 0);
}
END_TEST

START_TEST(test_pool_keeps_at_most_keep_pipes)
{
	struct pipe_pair *p[5];

	pool_setup(0, 100, 2);
	for (int i = 0; i < 5; i++)
		ck_assert_ptr_nonnull(p[i] = pipe_pool_get());
	ck_assert_uint_eq(pipe_pool_allocated(), 5);
	for (int i = 0; i < 5; i++)
		pipe_pool_put(p[i]);
	ck_assert_uint_eq(test_pool.st.free, 2);
	ck_assert_uint_eq(pipe_pool_allocated(), 2);
	pipe_pool_drain(&test_pool);
}
END_TEST

START_TEST(test_pool_stops_at_maxpipes_and_the_flow_copies)
{
	struct pipe_pair *p[2];
	int a[2], b[2];
	struct flow f;
	char buf[16];

	pool_setup(0, 2, 2);
	ck_assert_ptr_nonnull(p[0] = pipe_pool_get());
	ck_assert_ptr_nonnull(p[1] = pipe_pool_get());
	ck_assert_ptr_null(pipe_pool_get());
	ck_assert_int_eq(errno, ENOSR);
	ck_assert_uint_eq(pipe_pool_allocated(), 2);
	ck_assert_uint_eq(test_pool.st.failed, 1);

	/* A flow that finds the pool exhausted relays through copy. */
	tcp_pair(a);
	tcp_pair(b);
	nonblock(a[1]); nonblock(b[0]);
	engine_flow_init(&f, a[1], b[0], CONF_ENGINE_SPLICE, 0, 1);
	ck_assert_int_eq(send(a[0], "no pipe", 7, 0), 7);
	wait_in(a[1], 7);
	ck_assert_int_eq(engine_run(&f), 7);
	ck_assert_str_eq(f.ops->name, "copy");
	ck_assert_uint_eq(test_pool.st.fallbacks, 1);
	ck_assert_int_eq(recv(b[1], buf, sizeof(buf), 0), 7);
	ck_assert_int_eq(memcmp(buf, "no pipe", 7), 0);
	engine_release(&f);

	/* A pipe given back makes room again. */
	pipe_pool_put(p[0]);
	pipe_pool_kill(p[1]);
	ck_assert_uint_eq(pipe_pool_allocated(), 1);
	ck_assert_ptr_nonnull(p[0] = pipe_pool_get());
	ck_assert_ptr_nonnull(p[1] = pipe_pool_get());
	pipe_pool_kill(p[0]);
	pipe_pool_kill(p[1]);
	ck_assert_uint_eq(pipe_pool_allocated(), 0);
	close(a[0]); close(a[1]); close(b[0]); close(b[1]);
}
END_TEST

START_TEST(test_pool_prealloc_within_maxpipes)
{
	struct pipe_pair *p;

	pool_setup(0, 3, 8);
	ck_assert_uint_eq(pipe_pool_prealloc(5), 3);
	ck_assert_uint_eq(test_pool.st.free, 3);
	ck_assert_uint_eq(test_pool.st.created, 3);
	ck_assert_uint_eq(pipe_pool_allocated(), 3);
	p = pipe_pool_get();				/* from the pool */
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(test_pool.st.created, 3);
	ck_assert_uint_eq(test_pool.st.free, 2);
	pipe_pool_kill(p);
	pipe_pool_drain(&test_pool);
	ck_assert_uint_eq(pipe_pool_allocated(), 0);
}
END_TEST

START_TEST(test_pool_applies_pipesize)
{
	struct pipe_pair *p;

	pool_setup(256 * 1024, 10, 8);
	p = pipe_pool_get();
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(p->size, 256 * 1024);
	ck_assert_int_eq(fcntl(p->rd, F_GETPIPE_SZ), 256 * 1024);
	pipe_pool_kill(p);
}
END_TEST

/* The plan: privileged processes get the default size and maxconn / 2
 * pipes; unprivileged ones fit 7/8 of pipe-user-pages-soft. */
START_TEST(test_pool_plan_fits_user_pages)
{
	struct pipe_pool_plan plan;
	char note[512];

	pipe_pool_plan(&plan, 0, 0, 10000, 16384, 1, note, sizeof(note));
	ck_assert_uint_eq(plan.size, PIPE_POOL_DEFAULT_SIZE);
	ck_assert_uint_eq(plan.maxpipes, 5000);
	ck_assert_uint_eq(plan.keep, PIPE_POOL_KEEP);

	pipe_pool_plan(&plan, 0, 0, 10000, 16384, 0, note, sizeof(note));
	ck_assert_uint_eq(plan.size, 65536);
	ck_assert_uint_eq(plan.maxpipes, 16384 / 8 * 7 / 16);	/* 896 */
	ck_assert_msg(strstr(note, "maxpipes lowered") != NULL, "%s", note);

	pipe_pool_plan(&plan, 1 << 20, 0, 10000, 16384, 0, note, sizeof(note));
	ck_assert_uint_eq(plan.maxpipes, 56);			/* 256 pages each */
	ck_assert_uint_eq(plan.keep, 56);

	/* A maxpipes that fits is kept as given. */
	pipe_pool_plan(&plan, 0, 100, 10000, 16384, 0, note, sizeof(note));
	ck_assert_uint_eq(plan.maxpipes, 100);
	ck_assert_msg(strstr(note, "lowered") == NULL, "%s", note);
}
END_TEST

/* With no fd left for a pipe, the flow moves to copy and still relays. */
START_TEST(test_no_pipe_falls_back_to_copy)
{
	int a[2], b[2];
	struct flow f;
	struct rlimit rl;
	char buf[16];

	tcp_pair(a);
	tcp_pair(b);
	nonblock(a[1]); nonblock(b[0]);
	engine_flow_init(&f, a[1], b[0], CONF_ENGINE_SPLICE, 0, 1);
	ck_assert_int_eq(send(a[0], "pipeless", 8, 0), 8);
	wait_in(a[1], 8);
	/* Leave no room for the two fds of a pipe. */
	rl.rlim_cur = rl.rlim_max = (rlim_t)(b[1] + 1);
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	ck_assert_int_eq(engine_run(&f), 8);
	ck_assert_str_eq(f.ops->name, "copy");
	ck_assert_uint_eq(engine_fallbacks(), 1);
	ck_assert_uint_eq(test_pool.st.fallbacks, 1);
	ck_assert_uint_eq(test_pool.st.failed, 1);
	ck_assert_int_eq(recv(b[1], buf, sizeof(buf), 0), 8);
	ck_assert_int_eq(memcmp(buf, "pipeless", 8), 0);
	engine_release(&f);
}
END_TEST

/* The sockmap engine is tested where it can load: built with BPF, as
 * root. Elsewhere these tests say so and check nothing more. */
static int
sockmap_here(void)
{
	if (engine_sockmap_load() == 0)
		return 1;
#ifdef ENABLE_BPF
	ck_assert_msg(geteuid() != 0, "root, built with BPF, and no sockmap: %s",
	    engine_sockmap_why());
#endif
	fprintf(stderr, "sockmap tests skipped: %s\n", engine_sockmap_why());
	return 0;
}

START_TEST(test_sockmap_relays_every_byte_then_eof)
{
	if (sockmap_here())
		ck_assert_uint_eq(relay(CONF_ENGINE_SOCKMAP, 2 << 20, 65536, 65536, 0), 2 << 20);
}
END_TEST

START_TEST(test_sockmap_slow_sink_small_writes)
{
	if (sockmap_here())
		ck_assert_uint_eq(relay(CONF_ENGINE_SOCKMAP, 256 << 10, 1000, 777, 4096), 256 << 10);
}
END_TEST

START_TEST(test_sockmap_bytes_queued_before_entering_are_sent)
{
	int a[2], b[2];
	struct flow f;
	char buf[16];

	if (!sockmap_here())
		return;
	tcp_pair(a);
	tcp_pair(b);
	ck_assert_int_eq(send(a[0], "early", 5, 0), 5);
	wait_in(a[1], 5);	/* in a[1]'s queue before it enters the map */
	engine_flow_init(&f, a[1], b[0], CONF_ENGINE_SOCKMAP, 0, 1);
	ck_assert_int_eq(engine_promote(&f), 0);
	ck_assert_str_eq(f.ops->name, "sockmap");
	alarm(5);
	ck_assert_int_eq(recv(b[1], buf, sizeof(buf), 0), 5);
	alarm(0);
	ck_assert_int_eq(memcmp(buf, "early", 5), 0);
	ck_assert_int_ge(engine_run(&f), 0);
	ck_assert_uint_eq(f.in, 5);
	ck_assert_uint_eq(f.bytes, 5);
	engine_release(&f);
	close(a[0]); close(a[1]); close(b[0]); close(b[1]);
}
END_TEST

START_TEST(test_promote_refuses_a_flow_holding_or_half_reading_bytes)
{
	int a[2], b[2];
	struct flow f;

	tcp_pair(a);
	tcp_pair(b);
	nonblock(a[1]);
	nonblock(b[0]);
	engine_flow_init(&f, a[1], b[0], CONF_ENGINE_SPLICE, 0, 1);
	f.flags &= ~FLOW_F_CLEAN;	/* as after a read that left bytes */
	ck_assert_int_eq(engine_promote(&f), -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_str_eq(f.ops->name, "splice");
	/* A run that finds the socket empty makes it clean. */
	ck_assert_int_eq(send(a[0], "abc", 3, 0), 3);
	wait_in(a[1], 3);
	ck_assert_int_eq(engine_run(&f), 3);
	ck_assert_int_eq(engine_run(&f), 0);
	ck_assert(f.flags & FLOW_F_CLEAN);
	if (sockmap_here()) {
		ck_assert_int_eq(engine_promote(&f), 0);
		ck_assert_str_eq(f.ops->name, "sockmap");
	}
	engine_release(&f);
	close(a[0]); close(a[1]); close(b[0]); close(b[1]);
}
END_TEST

START_TEST(test_rate_test_lets_slow_sessions_in_and_keeps_bursts_out)
{
	const uint64_t ms = 1000, max = 1000000000;	/* 1 Gbit/s = 125 kB/ms */
	struct engine_rate r;
	uint64_t t = 5000000, moved = 0;

	/* 50 kB/ms (400 Mbit/s) steadily from the start: slow once the first
	 * window is 20 ms old. */
	engine_rate_init(&r, t);
	for (int i = 0; i <= 19; i++)
		ck_assert_int_eq(engine_rate_slow(&r, moved += 50000, t + i * ms, max), 0);
	ck_assert_int_eq(engine_rate_slow(&r, moved += 50000, t + 20 * ms, max), 1);
	/* It speeds up to 500 kB/ms: no, within the window. */
	t += 20 * ms;
	for (int i = 1; i <= 100; i++)
		engine_rate_slow(&r, moved += 500000, t + i * ms, max);
	ck_assert_int_eq(engine_rate_slow(&r, moved += 500000, t + 101 * ms, max), 0);
	/* Slow again: the last full window was fast, so no until a slow
	 * full window has passed. */
	t += 101 * ms;
	for (int i = 1; i <= 30; i++)
		ck_assert_int_eq(engine_rate_slow(&r, moved += 1000, t + i * ms, max), 0);
	for (int i = 31; i <= 250; i++)
		engine_rate_slow(&r, moved += 1000, t + i * ms, max);
	ck_assert_int_eq(engine_rate_slow(&r, moved += 1000, t + 251 * ms, max), 1);
	/* Idle for a second, then a burst: the pause is not an average. */
	t += 1251 * ms;
	ck_assert_int_eq(engine_rate_slow(&r, moved += 1 << 20, t, max), 0);
	ck_assert_int_eq(engine_rate_slow(&r, moved += 4 << 20, t + 25 * ms, max), 0);
}
END_TEST

/* Bytes every 100 us at rate bytes/ms from `from` ms to `to` ms after t
 * (the clock of engine_rate_slow): how many calls answered yes. */
static int
rate_yes(struct engine_rate *r, uint64_t *moved, uint64_t t, int from, int to,
    uint64_t per_ms, uint64_t max)
{
	int yes = 0;

	for (int tick = from * 10; tick < to * 10; tick++) {
		*moved += per_ms / 10;
		yes += engine_rate_slow(r, *moved, t + (uint64_t)tick * 100, max);
	}
	return yes;
}

START_TEST(test_rate_test_is_not_fooled_by_an_idle_start_or_a_burst)
{
	const uint64_t max = 200000000;	/* 200 Mbit/s = 25 kB/ms */
	const int idle_ms[] = { 30, 60, 150, 199, 250 };
	struct engine_rate r;
	uint64_t t = 5000000, moved;

	/* Connected, quiet for a while, then bulk at 10 Gbit/s: the quiet
	 * start is not part of the rate, whatever its length. */
	for (size_t k = 0; k < sizeof(idle_ms) / sizeof(idle_ms[0]); k++) {
		engine_rate_init(&r, t);
		moved = 0;
		ck_assert_int_eq(rate_yes(&r, &moved, t, idle_ms[k], idle_ms[k] + 400, 1250000,
		    max), 0);
	}
	/* The same quiet start, then 5 MB/s: let in once it has moved slowly
	 * for a fifth of a window. */
	engine_rate_init(&r, t);
	moved = 0;
	ck_assert_int_eq(rate_yes(&r, &moved, t, 150, 169, 5000, max), 0);
	ck_assert_int_gt(rate_yes(&r, &moved, t, 171, 172, 5000, max), 0);
	/* Slow until 300 ms, quiet until a burst at 420 ms closes the window
	 * (which was slow): no from the first call by which the burst moved
	 * more than a slow session moves in a fifth of a window (500 kB),
	 * the call that closes the window included. */
	ck_assert_int_eq(rate_yes(&r, &moved, t, 172, 300, 5000, max), 10 * (300 - 172));
	ck_assert_int_eq(engine_rate_slow(&r, moved += 300000, t + 420000, max), 1);
	ck_assert_int_eq(engine_rate_slow(&r, moved += 300000, t + 420100, max), 0);
	ck_assert_int_eq(rate_yes(&r, &moved, t, 421, 800, 1250000, max), 0);
	engine_rate_init(&r, t);
	moved = 0;
	ck_assert_int_gt(rate_yes(&r, &moved, t, 0, 300, 5000, max), 0);
	ck_assert_int_eq(engine_rate_slow(&r, moved += 600000, t + 380000, max), 0);
}
END_TEST

START_TEST(test_only_splice_request_leaves_response_on_copy)
{
	struct flow up, down;

	engine_flow_init(&up, 3, 4, CONF_ENGINE_AUTO, CONF_OPT_SPLICE_REQ, 1);
	engine_flow_init(&down, 4, 3, CONF_ENGINE_AUTO, CONF_OPT_SPLICE_REQ, 0);
	ck_assert_str_eq(up.ops->name, "splice");
	ck_assert_str_eq(down.ops->name, "copy");
	engine_flow_init(&down, 4, 3, CONF_ENGINE_AUTO,
	    CONF_OPT_SPLICE_REQ | CONF_OPT_SPLICE_AUTO, 0);
	ck_assert_str_eq(down.ops->name, "splice");
}
END_TEST

static Suite *
engine_suite(void)
{
	Suite *s = suite_create("engine");
	TCase *tc = tcase_create("flows");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, pool_default, NULL);
	tcase_add_test(tc, test_splice_relays_every_byte_then_eof);
	tcase_add_test(tc, test_copy_relays_every_byte_then_eof);
	tcase_add_test(tc, test_splice_tail_never_stuck_when_pipe_slots_fill);
	tcase_add_test(tc, test_copy_tail_never_stuck_with_small_writes);
	tcase_add_test(tc, test_user_flow_short_reads_lose_no_tail);
	tcase_add_test(tc, test_splice_zero_bytes_then_eof);
	tcase_add_test(tc, test_splice_eof_with_bytes_pending_keeps_wanting_write);
	tcase_add_test(tc, test_reset_source_reported_as_src_err);
	tcase_add_test(tc, test_pool_destroys_pipe_that_holds_bytes);
	tcase_add_test(tc, test_pool_applies_pipesize);
	tcase_add_test(tc, test_pool_keeps_at_most_keep_pipes);
	tcase_add_test(tc, test_pool_stops_at_maxpipes_and_the_flow_copies);
	tcase_add_test(tc, test_pool_prealloc_within_maxpipes);
	tcase_add_test(tc, test_pool_plan_fits_user_pages);
	tcase_add_test(tc, test_no_pipe_falls_back_to_copy);
	tcase_add_test(tc, test_only_splice_request_leaves_response_on_copy);
	tcase_add_test(tc, test_rate_test_lets_slow_sessions_in_and_keeps_bursts_out);
	tcase_add_test(tc, test_rate_test_is_not_fooled_by_an_idle_start_or_a_burst);
	tcase_add_test(tc, test_sockmap_relays_every_byte_then_eof);
	tcase_add_test(tc, test_sockmap_slow_sink_small_writes);
	tcase_add_test(tc, test_sockmap_bytes_queued_before_entering_are_sent);
	tcase_add_test(tc, test_promote_refuses_a_flow_holding_or_half_reading_bytes);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(engine_suite)
