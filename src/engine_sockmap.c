/*
 * engine_sockmap: the kernel moves the bytes. A flow's src socket is put
 * in a BPF sockhash whose stream verdict program (bpf/sockmap.bpf.c)
 * redirects every segment it receives to the egress of dst; user space
 * only looks, on a timer, for src's FIN or reset and at byte counts.
 *
 * What keeps bytes safe:
 *  - A flow enters only when it holds no byte and its last read found
 *    src empty (FLOW_F_CLEAN): the kernel redirects whole segments, so a
 *    segment half read by user space would be sent twice.
 *  - dst enters the redirect table (sm_peers) before src enters the
 *    verdict map (sm_socks): no segment is redirected to a socket that
 *    is not there yet.
 *  - Segments queued before src entered are not redirected until more
 *    arrive; setting SO_RCVLOWAT makes the kernel look at them at once.
 *  - A FIN is final only when every byte before it was redirected:
 *    src's TCP byte count (which counts the FIN as one) must equal what
 *    user space read plus what the program counted. And it is forwarded
 *    only when dst's TCP byte count shows every one of them written
 *    (engine_pending() == 0), since redirected bytes wait in the
 *    kernel's backlog before they reach dst.
 *  - Nothing is ever spliced from a socket of sm_socks, and it is read
 *    (recv) only for bytes the program passed to it, never more.
 *
 * Backpressure. The kernel queues redirected segments for dst without
 * limit and without charging them to either socket: a fast sender and a
 * slow receiver would fill memory. Taking src out of sm_socks would stop
 * that, but the kernel drops a segment it is handling at that instant.
 * So the program bounds it (the queue bound, sockmap.h): once what the
 * flow handed dst and dst's peer has not acknowledged would pass
 * SM_QUEUE_BYTES, it passes what arrives to src's own queue, which is
 * charged to src, so its TCP window stops the sender. Once what was
 * queued for dst has reached it, splicer reads the passed bytes (never
 * more than were passed: src's plain receive queue is the program's) and
 * writes them to dst, SM_COPY_BUFSZ at a time; the program redirects
 * again from the first skb that finds every passed byte written
 * (sm_ctl.written) and dst's queue below the bound, so that nothing
 * redirected overtakes them. (Resuming once they were only read lost or
 * doubled a segment in tests.)
 *
 * The sequence guard (sockmap.h): the kernel sometimes hands the program
 * an skb that starts before bytes it already handled; the program drops
 * the old bytes of a whole one, and passes a partly old one with a skip
 * record, whose old bytes splicer reads and discards (sm_read).
 *
 * An idle flow is parked: the next segment is passed, makes
 * src readable and wakes splicer, which copies it and lets the flow be
 * redirected again.
 */
#define _GNU_SOURCE	/* POLLRDHUP */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <linux/sockios.h>
#include <linux/tcp.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dial.h"
#include "engine.h"
#include "log.h"
#include "sockmap.h"
#include "sockmap.skel.h"

/* tcpi_state values (the kernel's net/tcp_states.h; glibc's copies of
 * the names clash with linux/tcp.h). */
#define SM_TCP_ESTABLISHED 1
#define SM_TCP_CLOSE	7

/* Tries at reading two socket counters with nothing moving in between. */
#define SM_STABLE_TRIES 8

/* Flow states (f->k.state): redirecting (the program passes instead
 * when dst's queue is full); parked while idle (woken by its next bytes,
 * then back); paused from the admin socket (for good). */
enum { SM_RUNNING, SM_PARKED, SM_PAUSED };

/* A flow's reads of passed bytes (the splice engine's pipe size): its buffer is
 * freed when the flow goes back to redirecting. */
#define SM_COPY_BUFSZ	(256 * 1024)

/* A RUNNING flow is looked at every SM_POLL_US, or SM_POLL_FAST_US while
 * it moves fast, bytes pile up or its last ones are on their way after
 * a FIN. */
#define SM_POLL_US	5000
#define SM_POLL_FAST_US	1000
/* A flow that moved nothing either way since its last look (bytes wait
 * for a destination that takes none, a zero window; segments wait in
 * src's queue that the program does not take while the flow is held) is
 * looked at less and less often, up to this: such a flow costs no CPU
 * however long it waits; anything that moves brings the pace back. */
#define SM_POLL_STILL_US 100000
/* Bytes waiting in the kernel for dst that make the pace fast. */
#define SM_BUSY_BYTES	(512 * 1024)
/* Looks in a row that saw nothing move before a flow is parked. */
#define SM_PARK_AFTER	3
/*
 * The send buffer a redirect target gets at insertion (the kernel doubles
 * it). The kernel's worker that sends redirected bytes waits a jiffy
 * whenever dst's send buffer is full, so a redirect moves about one
 * buffer per jiffy: 0.3x splice with default buffers, 0.8-0.9x with 64 MiB
 * (shared/notes). Memory is only used while dst's receiver is slower, and
 * SM_QUEUE_BYTES bounds it.
 * SO_SNDBUFFORCE needs CAP_NET_ADMIN at that moment: splicer has it as
 * root or with the unit's ambient capabilities, and keeps none for it
 * after "user" (CAP_NET_ADMIN would also let it reconfigure the host's
 * network): SO_SNDBUF then gives at most twice net.core.wmem_max.
 */
#define SM_SNDBUF	(8 * 1024 * 1024)
/* What a flow may have handed dst that dst's peer has not acknowledged
 * (the kernel's redirect queue and dst's send queue together) before the
 * program passes instead of redirecting (sockmap.h's queue bound): the
 * large send buffer is headroom for the kernel's worker while dst's
 * receiver keeps up, not a queue for one that does not. */
#define SM_QUEUE_BYTES	(16 * 1024 * 1024)

static struct sockmap *sm_skel;
static int sm_socks = -1, sm_peers = -1, sm_flows = -1, sm_ctl = -1;
static char sm_why[256] = "the BPF program is not loaded";
static struct engine_kernel_stats sm_st;	/* atomic */

static int
sm_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char line[512];
	size_t n;

	if (level == LIBBPF_DEBUG || !log_is_debug())
		return 0;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	if (n > 0 && line[n - 1] == '\n')
		line[n - 1] = '\0';
	log_debug("libbpf: %s", line);
	return 0;
}

static void
sm_fail(const char *step, int e)
{
	snprintf(sm_why, sizeof(sm_why), "%s failed: %s%s", step, strerror(e),
	    e == EPERM || e == EACCES ? " (needs CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN, or root)" :
	    e == EINVAL || e == EOPNOTSUPP ? " (does the kernel have sockmap?)" : "");
}

int
engine_sockmap_load(void)
{
	struct sockmap *skel;
	int err;

	if (sm_skel != NULL)
		return 0;
	libbpf_set_print(sm_libbpf_print);
	if ((skel = sockmap__open()) == NULL) {
		sm_fail("opening the BPF object", errno);
		return -1;
	}
	skel->rodata->sm_queue_limit = SM_QUEUE_BYTES;
	if ((err = sockmap__load(skel)) != 0) {
		sm_fail("loading the BPF program", -err);
		goto out_destroy;
	}
	if (bpf_prog_attach(bpf_program__fd(skel->progs.sm_verdict),
	    bpf_map__fd(skel->maps.sm_socks), BPF_SK_SKB_STREAM_VERDICT, 0) != 0) {
		sm_fail("attaching the stream verdict program", errno);
		goto out_destroy;
	}
	sm_socks = bpf_map__fd(skel->maps.sm_socks);
	sm_peers = bpf_map__fd(skel->maps.sm_peers);
	sm_flows = bpf_map__fd(skel->maps.sm_flows);
	sm_ctl = bpf_map__fd(skel->maps.sm_ctl);
	sm_skel = skel;
	sm_why[0] = '\0';
	return 0;

out_destroy:
	sockmap__destroy(skel);
	return -1;
}

void
engine_sockmap_unload(void)
{
	if (sm_skel == NULL)
		return;
	sockmap__destroy(sm_skel);
	sm_skel = NULL;
	sm_socks = sm_peers = sm_flows = sm_ctl = -1;
	snprintf(sm_why, sizeof(sm_why), "the BPF program was unloaded");
}

int
engine_sockmap_available(void)
{
	return sm_skel != NULL;
}

const char *
engine_sockmap_why(void)
{
	return sm_why;
}

void
engine_kernel_stats(struct engine_kernel_stats *st)
{
	st->promoted = __atomic_load_n(&sm_st.promoted, __ATOMIC_RELAXED);
	st->failed = __atomic_load_n(&sm_st.failed, __ATOMIC_RELAXED);
	st->bytes = __atomic_load_n(&sm_st.bytes, __ATOMIC_RELAXED);
	st->doubled = __atomic_load_n(&sm_st.doubled, __ATOMIC_RELAXED);
	st->overlaps = __atomic_load_n(&sm_st.overlaps, __ATOMIC_RELAXED);
	st->old_bytes = __atomic_load_n(&sm_st.old_bytes, __ATOMIC_RELAXED);
}

/* ---- socket figures ---- */

static int
sm_cookie(int fd, uint64_t *c)
{
	socklen_t len = sizeof(*c);

	return getsockopt(fd, SOL_SOCKET, SO_COOKIE, c, &len);
}

static int
sm_tcp_info(int fd, struct tcp_info *ti)
{
	socklen_t len = sizeof(*ti);

	memset(ti, 0, sizeof(*ti));
	return getsockopt(fd, IPPROTO_TCP, TCP_INFO, ti, &len);
}

/*
 * Is src still open for reading, so that its bytes can be handed to the
 * kernel? Fails with ESHUTDOWN once its peer's FIN or reset is in.
 */
static int
sm_readable_open(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLRDHUP };
	struct tcp_info ti;

	if (sm_tcp_info(fd, &ti) == -1 || poll(&p, 1, 0) == -1)
		return -1;
	if (p.revents != 0 || ti.tcpi_state != SM_TCP_ESTABLISHED) {
		errno = ESHUTDOWN;
		return -1;
	}
	return 0;
}

/* Bytes written to fd so far (its acknowledged count plus its send
 * queue). With exact set, the count is read again until no ACK came in
 * between, and a socket no longer established fails with ESHUTDOWN;
 * else the count may fall short, never over. */
static int
sm_written(int fd, uint64_t *tx, int exact, uint64_t *unacked)
{
	struct tcp_info a, b;
	int outq;

	for (int i = 0; i < SM_STABLE_TRIES; i++) {
		if (sm_tcp_info(fd, &a) == -1 || ioctl(fd, SIOCOUTQ, &outq) == -1)
			return -1;
		if (exact && a.tcpi_state != SM_TCP_ESTABLISHED) {
			errno = ESHUTDOWN;
			return -1;
		}
		if (exact && (sm_tcp_info(fd, &b) == -1 ||
		    a.tcpi_bytes_acked != b.tcpi_bytes_acked))
			continue;
		*tx = a.tcpi_bytes_acked + (uint64_t)outq;
		if (unacked != NULL)
			*unacked = (uint64_t)outq;
		return 0;
	}
	errno = EAGAIN;
	return -1;
}

/* Was fd reset (closed while we have not shut it down)? Its error is
 * left for whoever reads it as a source. */
static int
sm_closed(int fd)
{
	struct tcp_info ti;

	return sm_tcp_info(fd, &ti) == 0 && ti.tcpi_state == SM_TCP_CLOSE;
}

/* Segments queued before src entered sm_socks are only looked at when
 * more arrive; changing SO_RCVLOWAT makes the kernel look now. */
static void
sm_kick(int fd)
{
	int one = 1;

	(void)setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &one, sizeof(one));
}

const char *
engine_sockmap_build(void)
{
	return "redirect targets get 2 x 8 MiB send buffers by SO_SNDBUFFORCE while splicer "
	    "holds CAP_NET_ADMIN (root, or the unit's ambient capabilities), else SO_SNDBUF up "
	    "to 2 x net.core.wmem_max (no capability is kept for it after 'user'); per flow the "
	    "kernel holds at most 16 MiB plus one skb that dst's peer has not acknowledged (the "
	    "redirect queue and dst's send queue), then the program passes to the source's own "
	    "queue (TCP's window stops the sender): 2 x (16 MiB + one skb) per session";
}

/* Size dst's send buffer for redirecting (SM_SNDBUF); the first time,
 * say which way it went and what it gave. */
static void
sm_size_sndbuf(int fd)
{
	static int told;	/* atomic */
	int want = SM_SNDBUF, got = 0, forced;
	socklen_t len = sizeof(got);

	forced = setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &want, sizeof(want)) == 0;
	if (!forced)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &want, sizeof(want));
	if (__atomic_exchange_n(&told, 1, __ATOMIC_RELAXED))
		return;
	(void)getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &got, &len);
	if (forced)
		log_info("sockmap: redirect targets get %d KiB send buffers (SO_SNDBUFFORCE)",
		    got / 1024);
	else
		log_warning("sockmap: without CAP_NET_ADMIN, redirect targets get %d KiB send "
		    "buffers (SO_SNDBUF, capped by net.core.wmem_max) instead of %d KiB: the "
		    "kernel's redirect is slower with smaller ones (set net.core.wmem_max to %d)",
		    got / 1024, 2 * SM_SNDBUF / 1024, SM_SNDBUF);
}

/* ---- the engine ---- */

static void
sm_poll(struct flow *f, uint64_t us)
{
	f->flags |= FLOW_F_WANT_POLL;
	f->poll_us = us;
}

/* Tell the program what user space wants (pass or redirect) and how
 * many passed bytes it wrote: it redirects again only once every passed
 * byte was written, so that a redirected skb goes out behind them. */
static int
sm_tell(struct flow *f, int hold)
{
	struct sm_ctl c = { .hold = hold != 0, .written = f->k.read - f->len };

	if (bpf_map_update_elem(sm_ctl, &f->k.src, &c, BPF_ANY) != 0)
		return -1;
	f->k.written = c.written;
	return 0;
}

static const char *const sm_state_name[] = {
	[SM_RUNNING] = "redirected", [SM_PARKED] = "parked",
	[SM_PAUSED] = "paused",
};

/* Pass, not redirect, from now on (state SM_PARKED or SM_PAUSED), or
 * redirect again (SM_RUNNING). */
static int
sm_hold(struct flow *f, int state)
{
	if (sm_tell(f, state != SM_RUNNING) == -1)
		return -1;
	log_debug("sockmap: flow of fd %d %s after %" PRIu64 " bytes (%" PRIu64 " waiting)",
	    f->src, sm_state_name[state], f->in, f->in - f->bytes);
	f->k.state = state;
	return 0;
}

static void
engine_sockmap_hold(struct flow *f)
{
	if (f->k.src != 0 && f->k.state != SM_PAUSED && sm_hold(f, SM_PAUSED) == -1)
		log_err("sockmap: cannot hold the flow of fd %d: %s", f->src, strerror(errno));
}

int
engine_sockmap_enter(struct flow *f)
{
	struct sm_flow v = { 0 };
	struct sm_ctl c = { 0 };
	uint64_t src, dst, tx, fd;
	int e;

	if (sm_cookie(f->src, &src) == -1 || sm_cookie(f->dst, &dst) == -1 ||
	    sm_readable_open(f->src) == -1 || sm_written(f->dst, &tx, 1, NULL) == -1)
		goto out_fail;
	v.peer = dst;
	if (bpf_map_update_elem(sm_flows, &src, &v, BPF_NOEXIST) != 0)
		goto out_fail;
	if (bpf_map_update_elem(sm_ctl, &src, &c, BPF_ANY) != 0)
		goto out_flow;
	fd = (uint64_t)f->dst;
	if (bpf_map_update_elem(sm_peers, &dst, &fd, BPF_NOEXIST) != 0)
		goto out_flow;
	fd = (uint64_t)f->src;
	if (bpf_map_update_elem(sm_socks, &src, &fd, BPF_NOEXIST) != 0)
		goto out_peer;
	sm_size_sndbuf(f->dst);
	sm_kick(f->src);

	f->ops->release(f);	/* an empty pipe or buffer */
	f->ops = &engine_sockmap_ops;
	memset(&f->k, 0, sizeof(f->k));
	f->k.src = src;
	f->k.dst = dst;
	f->k.state = SM_RUNNING;
	/* What user space read from src: a socket's TCP count starts at 0
	 * (SIOCINQ would not do: once a socket is in a map, it only counts
	 * the map's own queue). */
	f->k.rx0 = f->pre + f->in;
	f->k.tx0 = tx;
	f->k.in0 = f->k.last_in = f->in;
	f->k.out0 = f->bytes;
	sm_poll(f, SM_POLL_FAST_US);
	__atomic_add_fetch(&sm_st.promoted, 1, __ATOMIC_RELAXED);
	return 0;

out_peer:
	e = errno;
	(void)bpf_map_delete_elem(sm_peers, &dst);
	errno = e;
out_flow:
	e = errno;
	(void)bpf_map_delete_elem(sm_ctl, &src);
	(void)bpf_map_delete_elem(sm_flows, &src);
	errno = e;
out_fail:
	/* EOPNOTSUPP: TCP_INFO of a unix socket (a local server). The
	 * program redirects TCP segments and every count of a flow in the
	 * kernel comes from TCP_INFO, so such a flow is not for the kernel
	 * and stays with its engine; not a failure. */
	if (errno != EAGAIN && errno != ESHUTDOWN && errno != EOPNOTSUPP)
		__atomic_add_fetch(&sm_st.failed, 1, __ATOMIC_RELAXED);
	return -1;
}

/* New bytes the program took from src (old ones left out). */
static uint64_t
sm_counted(const struct sm_flow *v)
{
	return v->bytes + v->dropped + v->passed - v->skipped;
}

/*
 * Did the kernel hand the program bytes twice that its sequence guard
 * let through (sockmap.h)? The guard drops or skips the old bytes of the
 * skbs tcp_read_skb() hands again; this is the check behind it. The
 * program's counts are then more than src's TCP ever received (counted
 * after them, so a later figure), and the stream cannot be mended: the
 * flow fails, so the session is reset rather than given bytes its sender
 * never sent.
 */
static int
sm_doubled(const struct flow *f, const struct sm_flow *v)
{
	uint64_t counted = f->k.rx0 + sm_counted(v);
	struct tcp_info ti;

	if (sm_tcp_info(f->src, &ti) == -1 || counted <= ti.tcpi_bytes_received)
		return 0;
	log_err("sockmap: the kernel handled a segment twice on fd %d (%" PRIu64
	    " bytes counted, %llu received): the session is reset", f->src, counted,
	    (unsigned long long)ti.tcpi_bytes_received);
	__atomic_add_fetch(&sm_st.doubled, 1, __ATOMIC_RELAXED);
	errno = EPROTO;
	return 1;
}

/*
 * Bring f->in and f->bytes up to date from the program's counts, what
 * user space copied and dst's TCP count. The counts are read twice and
 * "passed" taken from the first read: a segment is only passed after the
 * ones before it were counted as redirected, so the second read's
 * "bytes" holds every redirect older than the passed bytes we may copy
 * (one read may see a later field's update and miss an earlier one's).
 * With check, counts the kernel doubled fail (sm_doubled).
 */
static int
sm_update(struct flow *f, struct sm_flow *v, int check)
{
	struct sm_flow first;
	uint64_t tx;

	if (bpf_map_lookup_elem(sm_flows, &f->k.src, &first) != 0 ||
	    bpf_map_lookup_elem(sm_flows, &f->k.src, v) != 0)
		return -1;
	v->passed = first.passed;
	if (check && sm_doubled(f, v))
		return -1;
	f->in = f->k.in0 + v->bytes + v->dropped + f->k.read - f->k.skipped;
	if (sm_written(f->dst, &tx, 0, &f->k.unacked) == 0 && tx > f->k.tx0) {
		uint64_t out = f->k.out0 + (tx - f->k.tx0);

		/* A count read while an ACK came in may fall short: never
		 * go back. */
		if (out > f->in)
			out = f->in;
		if (out > f->bytes)
			f->bytes = out;
	}
	return 0;
}

/* Bytes the kernel holds for dst: taken from src, not in our buffer,
 * not yet in dst's socket. User space writes to dst only when it is 0. */
static uint64_t
sm_backlog(const struct flow *f)
{
	return f->in - f->bytes - f->len;
}

/* Leave the maps for good: src stops being redirected, dst stops being
 * a target. The other flow's entries (dst as src, src as target) stay. */
static void
sm_leave(struct flow *f)
{
	struct sm_flow v;

	if (f->k.src == 0)
		return;
	if (sm_update(f, &v, 0) == 0) {
		__atomic_add_fetch(&sm_st.bytes, v.bytes, __ATOMIC_RELAXED);
		__atomic_add_fetch(&sm_st.overlaps, v.dup_skbs, __ATOMIC_RELAXED);
		__atomic_add_fetch(&sm_st.old_bytes, v.dup + v.skipped, __ATOMIC_RELAXED);
		if (v.dup_skbs != 0)
			log_info("sockmap: the kernel handed fd %d's flow %" PRIu64 " skbs starting "
			    "before bytes already handled: %" PRIu64 " old bytes dropped, %" PRIu64
			    " skipped (tcp_read_skb, see contrib/sockmap-overlap)", f->src,
			    (uint64_t)v.dup_skbs, (uint64_t)v.dup, (uint64_t)v.skipped);
		log_debug("sockmap: flow of fd %d leaves the maps: %" PRIu64 " bytes redirected, "
		    "%" PRIu64 " copied", f->src, (uint64_t)v.bytes, f->k.read);
	}
	/* ENOENT: the kernel already took out a socket that closed. */
	(void)bpf_map_delete_elem(sm_socks, &f->k.src);
	(void)bpf_map_delete_elem(sm_peers, &f->k.dst);
	(void)bpf_map_delete_elem(sm_flows, &f->k.src);
	(void)bpf_map_delete_elem(sm_ctl, &f->k.src);
	f->k.src = 0;
}

/*
 * src's FIN is in: is every byte before it redirected or passed? Its
 * TCP count has the FIN as one more byte.
 */
static int
sm_all_taken(const struct flow *f, const struct sm_flow *v)
{
	struct tcp_info ti;

	if (sm_tcp_info(f->src, &ti) == -1)
		return 1;	/* gone: nothing more will come */
	return ti.tcpi_bytes_received <= f->k.rx0 + sm_counted(v) + 1;
}

/*
 * How many passed bytes the next read may take (at most want), and
 * whether they are old ones to discard (*skip): a skip record (sockmap.h)
 * marks where a passed skb starts with bytes already sent. Fails with
 * EPROTO when records were overwritten before user space read past them.
 */
static int
sm_next_read(struct flow *f, const struct sm_flow *v, size_t want, size_t *n, int *skip)
{
	uint64_t at, end;

	*n = want;
	*skip = 0;
	if (f->k.skips == v->nskips)
		return 0;
	/* SM_SKIPS outstanding is already too many: the program writes record
	 * n into slot n % SM_SKIPS before it counts it, so the slot this read
	 * needs may be the one being overwritten by the next record. */
	if (v->nskips - f->k.skips >= SM_SKIPS) {
		log_err("sockmap: %d or more overlapping skbs on fd %d before they were read: "
		    "the session is reset", SM_SKIPS, f->src);
		__atomic_add_fetch(&sm_st.doubled, 1, __ATOMIC_RELAXED);
		errno = EPROTO;
		return -1;
	}
	at = v->skip_at[f->k.skips % SM_SKIPS];
	end = at + v->skip_len[f->k.skips % SM_SKIPS];
	if (f->k.read < at) {
		if (at - f->k.read < *n)
			*n = (size_t)(at - f->k.read);
	} else {
		*skip = 1;
		if (end - f->k.read < *n)
			*n = (size_t)(end - f->k.read);
	}
	return 0;
}

/* Read passed bytes into f->buf, dropping old ones. Returns as recv(). */
static ssize_t
sm_read(struct flow *f, const struct sm_flow *v)
{
	size_t want = v->passed - f->k.read, n;
	ssize_t got;
	int skip;

	if (want > SM_COPY_BUFSZ)
		want = SM_COPY_BUFSZ;
	if (sm_next_read(f, v, want, &n, &skip) == -1)
		return -1;
	if ((got = recv(f->src, f->buf, n, MSG_DONTWAIT)) <= 0)
		return got;
	f->k.read += (uint64_t)got;
	if (skip) {
		f->k.skipped += (uint64_t)got;
		if (f->k.read == v->skip_at[f->k.skips % SM_SKIPS] +
		    v->skip_len[f->k.skips % SM_SKIPS])
			f->k.skips++;
		log_debug("sockmap: %zd old bytes skipped on fd %d", got, f->src);
		return got;
	}
	f->off = 0;
	f->len = (size_t)got;
	return got;
}

/* Write what f->buf holds. Returns 1 for bytes written, 0 when dst is
 * full (*want_write) or gone (FLOW_F_DST_ERR), -1 for our own failure. */
static int
sm_write(struct flow *f, int *want_write)
{
	ssize_t n = send(f->dst, f->buf + f->off, f->len, MSG_NOSIGNAL | MSG_DONTWAIT);

	if (n > 0) {
		f->off += (size_t)n;
		f->len -= (size_t)n;
		return 1;
	}
	if (n == -1 && errno == EINTR)
		return 1;
	if (n == -1 && errno == EAGAIN) {
		*want_write = 1;
	} else if (n == -1 && engine_peer_gone(errno)) {
		f->flags |= FLOW_F_DST_ERR;
		f->err = errno;
	} else {
		f->err = errno;
		return -1;
	}
	return 0;
}

/*
 * The passed bytes, through user space: read them (no more than were
 * passed) once nothing waits in the kernel for dst, and write them.
 * Returns -1 for our own failure, else sets *want_write when dst is full,
 * and *unready when bytes were passed but src has none to read yet: the
 * kernel delivers passed segments to the socket's queue from its own work
 * queue, which waits while the receive buffer is full, and meanwhile src
 * polls readable for the segments behind them (watching it would spin).
 * The program learns what was written (sm_tell) before the run returns.
 */
static int
sm_copy(struct flow *f, struct sm_flow *v, int *want_write, int *unready)
{
	uint64_t start = f->k.read;
	ssize_t n;
	int r;

	while (f->k.read - start < ENGINE_RUN_BUDGET && sm_backlog(f) == 0) {
		if (f->len > 0) {
			if ((r = sm_write(f, want_write)) <= 0) {
				if (r == -1)
					return -1;
				break;
			}
		} else if (v->passed > f->k.read && !(f->flags & FLOW_F_SRC_ERR)) {
			if (f->buf == NULL && (f->buf = malloc(SM_COPY_BUFSZ)) == NULL) {
				f->err = errno;
				return -1;
			}
			n = sm_read(f, v);
			if (n == -1 && engine_peer_gone(errno)) {
				f->flags |= FLOW_F_SRC_ERR;
				f->err = errno;
				break;
			} else if (n == -1 && errno == EAGAIN) {
				*unready = 1;
				break;
			} else if (n == 0) {
				break;
			} else if (n == -1 && errno != EINTR) {
				f->err = errno;
				return -1;
			}
		} else {
			break;
		}
		if (sm_update(f, v, 1) == -1) {
			f->err = errno;
			return -1;
		}
	}
	if (f->k.read - f->len != f->k.written && sm_tell(f, f->k.state != SM_RUNNING) == -1) {
		f->err = errno;
		return -1;
	}
	return 0;
}

/* Is src done (FIN or reset), and are its last bytes still on their way
 * (*fin)? */
static void
sm_watch_src(struct flow *f, const struct sm_flow *v, int *fin)
{
	struct pollfd p = { .fd = f->src, .events = POLLIN | POLLRDHUP };
	int e;

	if ((f->flags & (FLOW_F_SRC_EOF | FLOW_F_SRC_ERR)) || poll(&p, 1, 0) != 1)
		return;
	if (p.revents & (POLLERR | POLLHUP | POLLRDHUP)) {
		if ((e = dial_result(f->src)) != 0) {
			f->flags |= FLOW_F_SRC_ERR;
			f->err = e;
		} else if (v->passed == f->k.read && sm_all_taken(f, v)) {
			f->flags |= FLOW_F_SRC_EOF;
		} else {
			*fin = 1;	/* its last bytes are on their way */
		}
	} else if ((p.revents & POLLIN) && v->passed == f->k.read) {
		/* Segments the program has not seen (queued before src
		 * entered): have it look, and look again soon (no spin). */
		sm_kick(f->src);
		*fin = 1;
	}
}

/* The next look's delay: us, or twice the last one (at most
 * SM_POLL_STILL_US) while nothing moved either way. Only a flow that waits
 * (bytes for dst, or passed bytes src cannot hand over yet) backs off: an
 * idle running flow keeps the plain pace until it is parked, so that a FIN
 * or reset that comes meanwhile is seen within SM_POLL_US. */
static uint64_t
sm_pace(const struct flow *f, uint64_t us, int still)
{
	uint64_t slow = f->poll_us * 2;

	if (!still || slow <= us)
		return us;
	return slow < SM_POLL_STILL_US ? slow : SM_POLL_STILL_US;
}

/*
 * Park or resume. A running flow is parked when idle, and gives back its
 * buffer once the bytes the program passed (dst's queue was full) were
 * written; a parked one resumes once its next bytes were (the program
 * then redirects again from the first skb that finds every passed byte
 * written: sockmap.h).
 */
static int
sm_switch(struct flow *f, const struct sm_flow *v, uint64_t backlog, uint64_t moved, int busy)
{
	int drained = backlog == 0 && f->len == 0 && v->passed == f->k.read && !busy;

	switch (f->k.state) {
	case SM_RUNNING:
		f->k.idle = moved == 0 && backlog == 0 ? f->k.idle + 1 : 0;
		if (drained && f->buf != NULL) {
			free(f->buf);
			f->buf = NULL;
		}
		if (f->k.idle >= SM_PARK_AFTER && !busy)
			return sm_hold(f, SM_PARKED);
		return 0;
	case SM_PARKED:
		if (!drained || moved == 0)
			return 0;
		free(f->buf);
		f->buf = NULL;
		f->k.idle = 0;
		return sm_hold(f, SM_RUNNING);
	default:
		return 0;
	}
}

static ssize_t
engine_sockmap_run(struct flow *f)
{
	uint64_t before = f->bytes, backlog, moved;
	int want_write = 0, fin = 0, unready = 0;
	struct sm_flow v;

	f->flags &= ~(FLOW_F_WANT_READ | FLOW_F_WANT_WRITE | FLOW_F_WANT_TOKENS |
	    FLOW_F_WANT_POLL | FLOW_F_WAIT_DST);
	if (f->k.src == 0)
		return 0;	/* left the maps: done */
	if (sm_update(f, &v, 1) == -1 || sm_copy(f, &v, &want_write, &unready) == -1) {
		f->err = f->err ? f->err : errno;
		return -1;
	}
	if (!(f->flags & FLOW_F_DST_ERR) && (v.dropped != 0 ||
	    (f->in > f->bytes && sm_closed(f->dst)))) {
		/* The program found no dst to send to, or dst was reset with
		 * bytes still queued for it: it is gone. */
		f->flags |= FLOW_F_DST_ERR;
		f->err = ECONNRESET;
	}
	if (f->flags & FLOW_F_DST_ERR)
		return (ssize_t)(f->bytes - before);
	sm_watch_src(f, &v, &fin);
	backlog = sm_backlog(f);
	if (f->in > f->bytes)
		f->flags |= FLOW_F_WAIT_DST;
	if (f->flags & (FLOW_F_SRC_EOF | FLOW_F_SRC_ERR)) {
		if (want_write)
			f->flags |= FLOW_F_WANT_WRITE;
		else if (f->in > f->bytes)
			sm_poll(f, sm_pace(f, SM_POLL_FAST_US, f->bytes == before));
		return (ssize_t)(f->bytes - before);
	}

	moved = f->in - f->k.last_in;
	f->k.last_in = f->in;
	if (sm_switch(f, &v, backlog, moved, fin || want_write) == -1) {
		f->err = errno;
		return -1;
	}

	/* What to wait for. A RUNNING flow is looked at on its timer only:
	 * the kernel wakes src's watchers for every segment it redirects,
	 * which would cost a wake-up per segment. A held or parked one is
	 * watched for its passed bytes, once nothing waits in the kernel for
	 * dst (those bytes are only read then: watching before would spin),
	 * and looked at on the timer while they are not readable yet. */
	if (want_write)
		f->flags |= FLOW_F_WANT_WRITE;
	else if (backlog == 0 && !fin && !unready &&
	    (f->k.state != SM_RUNNING || v.passed > f->k.written))
		f->flags |= FLOW_F_WANT_READ;
	if (f->k.state == SM_RUNNING || backlog > 0 || fin || (unready && !want_write))
		sm_poll(f, sm_pace(f, fin || backlog > SM_BUSY_BYTES ||
		    moved > SM_BUSY_BYTES ? SM_POLL_FAST_US : SM_POLL_US,
		    moved == 0 && f->bytes == before && (f->in > f->bytes || unready)));
	return (ssize_t)(f->bytes - before);
}

static size_t
engine_sockmap_pending(const struct flow *f)
{
	return (size_t)(f->in - f->bytes);
}

static void
engine_sockmap_release(struct flow *f)
{
	sm_leave(f);
	free(f->buf);
	f->buf = NULL;
	f->off = f->len = 0;
}

const struct engine_ops engine_sockmap_ops = {
	.name = "sockmap",
	.id = ENGINE_SOCKMAP,
	.caps = ENGINE_CAP_KERNEL,
	.run = engine_sockmap_run,
	.pending = engine_sockmap_pending,
	.release = engine_sockmap_release,
	.hold = engine_sockmap_hold,
};
