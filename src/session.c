/*
 * session: THE state machine.
 *
 *   ACCEPTED -> [PROXY_HEADER] -> [QUEUED] -> CONNECTING -> ESTABLISHED
 *        -> HALF_CLOSED -> CLOSED; every state may also go straight to CLOSED.
 *
 * Every transition goes through session_set_state(), which checks it
 * against the table below and traces it; every end goes through
 * session_close(), which takes HAProxy's two-letter termination state
 * and a sentence, logs the session and closes its sockets. A session
 * is only freed by session_settle() once the callback that closed it
 * has finished with it, never under its own feet.
 *
 * A session lives on the worker thread that accepted it and never moves;
 * the only other thread that reaches it is one that frees a server slot
 * for it while it is queued (backend.c), and that one only posts a job
 * (s->dequeued) to the session's worker.
 *
 * Data moves through two flows (engine.h): up = client -> server and
 * down = server -> client. The rules that keep bytes safe:
 *  - a FIN is forwarded (shutdown SHUT_WR) only once its flow has seen
 *    EOF and holds no byte in a pipe or buffer;
 *  - a reset on one side is forwarded as a reset (SO_LINGER 0) to the
 *    other side, after the bytes received before it are delivered;
 *  - a side that is slow only stops the reads of the other side: no
 *    buffer grows (each engine holds at most one pipe or buffer per flow).
 * With engine sockmap or auto, a flow may be handed to the kernel
 * (session_promote); it then reports its FIN, reset and byte counts
 * through the same flow flags, and the same rules hold.
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <event2/event_struct.h>

#include "acl.h"
#include "backend.h"
#include "clock.h"
#include "dial.h"
#include "engine.h"
#include "listener.h"
#include "log.h"
#include "proxy_proto.h"
#include "session.h"
#include "shaper.h"
#include "units.h"
#include "worker.h"

enum session_state {
	SESS_ST_ACCEPTED,	/* client taken, no server chosen yet */
	SESS_ST_PROXY_HEADER,	/* accept-proxy: reading the client's PROXY header */
	SESS_ST_QUEUED,		/* every server is full: waiting for a slot */
	SESS_ST_CONNECTING,	/* dialing a server, or waiting to retry */
	SESS_ST_ESTABLISHED,	/* both sockets connected, both flows open */
	SESS_ST_HALF_CLOSED,	/* one flow finished: its FIN was forwarded */
	SESS_ST_CLOSED,		/* ended and logged; freed by session_settle() */
	SESS_ST_COUNT
};

static const char *const session_state_names[SESS_ST_COUNT] = {
	[SESS_ST_ACCEPTED]    = "accepted",
	[SESS_ST_PROXY_HEADER] = "proxy-header",
	[SESS_ST_QUEUED]      = "queued",
	[SESS_ST_CONNECTING]  = "connecting",
	[SESS_ST_ESTABLISHED] = "established",
	[SESS_ST_HALF_CLOSED] = "half-closed",
	[SESS_ST_CLOSED]      = "closed",
};

/* Legal transitions: session_legal[from] is a mask of 1 << to. */
static const unsigned int session_legal[SESS_ST_COUNT] = {
	[SESS_ST_ACCEPTED]    = 1 << SESS_ST_PROXY_HEADER | 1 << SESS_ST_QUEUED |
	    1 << SESS_ST_CONNECTING | 1 << SESS_ST_CLOSED,
	[SESS_ST_PROXY_HEADER] = 1 << SESS_ST_QUEUED | 1 << SESS_ST_CONNECTING | 1 << SESS_ST_CLOSED,
	[SESS_ST_QUEUED]      = 1 << SESS_ST_CONNECTING | 1 << SESS_ST_CLOSED,
	[SESS_ST_CONNECTING]  = 1 << SESS_ST_ESTABLISHED | 1 << SESS_ST_CLOSED,
	[SESS_ST_ESTABLISHED] = 1 << SESS_ST_HALF_CLOSED | 1 << SESS_ST_CLOSED,
	[SESS_ST_HALF_CLOSED] = 1 << SESS_ST_CLOSED,
	[SESS_ST_CLOSED]      = 0,
};

/* Session flags. */
#define SESS_F_RETRY_WAIT	0x01	/* CONNECTING: waiting out the turn-around */
#define SESS_F_CLI_GONE		0x02	/* the client reset */
#define SESS_F_SRV_GONE		0x04	/* the server reset */
#define SESS_F_FLUSHING		0x08	/* forwarding a reset: waiting for the ACKs first */
#define SESS_F_DST_KNOWN	0x10	/* s->dst holds the address the client reached */
#define SESS_F_PAUSED		0x20	/* stopped from the admin socket: no flow runs */

/* accept-proxy without "timeout client" still waits for the header at
 * most this long: every stall has a timer. */
#define SESS_PROXY_HEADER_MAX_US	10000000

/* While a forwarded reset waits for the peer to acknowledge our last
 * bytes, the timer looks again every 10 ms; the wait is bounded by that
 * side's idle timeout, or by 10 s when it has none. */
#define SESS_FLUSH_POLL_US	10000
#define SESS_FLUSH_MAX_US	10000000

/* "show sess" rates are over this window. */
#define SESS_METER_US	1000000

/* Which events are added (s->evs). */
#define SESS_EV_C_RD	0x01
#define SESS_EV_C_WR	0x02
#define SESS_EV_S_RD	0x04
#define SESS_EV_S_WR	0x08

/* How session_close() closes each socket. */
#define SESS_CLOSE_RST_CLIENT	0x1	/* SO_LINGER 0: the client sees a reset */
#define SESS_CLOSE_RST_SERVER	0x2	/* SO_LINGER 0: the server sees a reset */

struct session {
	unsigned int id;		/* for traces, from 1 */
	enum session_state state;
	unsigned int flags;		/* SESS_F_* */
	struct event_base *base;	/* its worker's */
	struct worker *worker;		/* where it lives */
	struct session_list *list;	/* its worker's sessions */
	struct conf *conf;		/* the configuration it started with (held) */

	struct listener *l;		/* where it was accepted (opaque: listener_release) */
	int accept_proxy;		/* its bind line has accept-proxy */
	struct conf_proxy *fe;		/* its frontend */
	struct conf_proxy *be;		/* its backend */
	struct conf_server *srv;	/* its server (holding a slot), NULL until chosen */
	struct backend_waiter waiter;	/* its place in the backend's queue */
	struct worker_job dequeued;	/* QUEUED: a slot was given, posted to its worker */

	int cfd;			/* client socket, -1 once closed */
	int sfd;			/* server socket, -1 while none */
	struct sockaddr_storage cli;	/* client address (from its PROXY header if any) */
	struct sockaddr_storage dst;	/* address it reached (SESS_F_DST_KNOWN) */
	struct pp_reader pp;		/* accept-proxy: the header coming in (buf NULL
					 * when none is read) */
	size_t pp_in;			/* accept-proxy: the header's length */
	struct dial_header pp_out;	/* send-proxy: the header going out */

	struct flow up;			/* client -> server */
	struct flow down;		/* server -> client */
	struct shaper_flow *shape[2];	/* buckets of up, down (SHAPER_UP/DOWN); NULL: none */
	uint64_t tokens_at[2];		/* monotonic us: a flow short of tokens asks again */
	struct engine_policy policy;	/* when its flows go to the kernel */
	struct {
		uint64_t at, bytes;	/* start of the current second, bytes then */
		uint64_t bps;		/* bits/s over the last full second */
	} meter[2];			/* up, down: for "show sess" */

	struct event c_rd;		/* client readable (CONNECTING: edge-triggered watch) */
	struct event c_wr;		/* client writable */
	struct event s_rd;		/* server readable */
	struct event s_wr;		/* server writable (CONNECTING: connect done) */
	struct event timer;		/* the earliest deadline */
	unsigned int evs;		/* SESS_EV_* added */

	struct timeval accept_date;	/* wall clock at accept, for the log */
	uint64_t t_accept;		/* monotonic us: accepted */
	uint64_t t_queued;		/* monotonic us: entered the queue, 0 = never */
	uint64_t t_dequeued;		/* monotonic us: left it with a slot */
	uint64_t t_try;			/* monotonic us: current connect try started */
	uint64_t t_established;		/* monotonic us: connected, 0 before */
	uint64_t retry_at;		/* monotonic us: next try (SESS_F_RETRY_WAIT) */
	uint64_t last_c, last_s;	/* monotonic us: last byte to or from each side */
	uint64_t wait_c, wait_s;	/* monotonic us: since when we wait on each side, 0 = not */
	uint64_t timer_at;		/* monotonic us: when the timer fires, 0 = not armed */
	uint64_t flush_until;		/* monotonic us: SESS_F_FLUSHING gives up then */
	unsigned int tries;		/* connect attempts started */
	int srv_pp_sent;		/* send-proxy header fully written this try */

	char term[3];			/* termination state, "--" when normal */
	char reason[LOG_REASON_MAX];	/* why it ended, in words */

	struct session *prev, *next;	/* all sessions */
};

/*
 * The sessions of one worker, and what they carried. Each worker writes
 * only its own entry; other threads read n and st atomically, and head
 * only while every worker is parked (session_foreach). Aligned so that
 * two workers never write the same cache line.
 */
struct session_list {
	struct session *head;		/* live sessions, newest first */
	unsigned int n;			/* them, atomic */
	struct session_stats st;	/* atomic for readers */
	uint64_t freed;			/* sessions it freed (own thread: session_walk) */
} __attribute__((aligned(64)));

static struct session_list session_lists[WORKER_MAX];
static unsigned int session_next_id;		/* atomic */

static void session_progress(struct session *s);
static void session_schedule(struct session *s);
static void session_connect(struct session *s);
static void session_forward_reset(struct session *s);
static void session_retry(struct session *s, int timed_out);
static void session_run_due(struct session *s, uint64_t now);

static void
session_set_state(struct session *s, enum session_state to)
{
	assert(session_legal[s->state] & (1u << to));
	log_debug("%u: %s -> %s", s->id, session_state_names[s->state],
	    session_state_names[to]);
	s->state = to;
}

/* ---- the end ---- */

/* Milliseconds between two monotonic instants, -1 when `to` never came. */
static long long
session_ms(uint64_t from, uint64_t to)
{
	return to == 0 ? -1 : (long long)((to - from) / 1000);
}

/* The engines of its flows: "splice", or "splice/sockmap" when they
 * differ; "-" before it is established. */
static void
session_engine(const struct session *s, char *buf, size_t len)
{
	if (s->t_established == 0)
		snprintf(buf, len, "-");
	else if (s->up.ops == s->down.ops)
		snprintf(buf, len, "%s", s->up.ops->name);
	else
		snprintf(buf, len, "%s/%s", s->up.ops->name, s->down.ops->name);
}

/* The tcplog line (log.c formats it). */
static void
session_log(struct session *s)
{
	uint64_t now = clock_now_us();
	unsigned int beconn = 0;
	char engine[32];
	struct log_tcp t = {
		.cli = (struct sockaddr *)&s->cli, .accept_date = s->accept_date,
		.backend = s->be != NULL ? s->be->name : NULL,
		.server = s->srv != NULL ? s->srv->name : NULL,
		.tw = s->t_queued ? session_ms(s->t_queued, s->t_dequeued ? s->t_dequeued : now) :
		    s->tries > 0 ? 0 : -1,
		.tc = s->t_established ? session_ms(s->t_try, s->t_established) : -1,
		.tt = session_ms(s->t_accept, now),
		.bytes_down = s->down.bytes, .bytes_up = s->up.bytes, .term = s->term,
		.actconn = listener_actconn(),
		.feconn = __atomic_load_n(&s->fe->cur_sess, __ATOMIC_RELAXED),
		.srv_conn = s->srv != NULL ? __atomic_load_n(&s->srv->cur_sess, __ATOMIC_RELAXED) : 0,
		.retries = s->tries > 1 ? s->tries - 1 : 0,
		.queue = s->be != NULL ? __atomic_load_n(&s->be->queue_len, __ATOMIC_RELAXED) : 0,
		.engine = engine, .reason = s->reason,
	};

	if (!log_tcplog_wanted(s->fe, s->up.bytes + s->down.bytes, s->t_established != 0))
		return;
	for (struct conf_server *v = s->be != NULL ? s->be->servers : NULL; v != NULL; v = v->next)
		beconn += __atomic_load_n(&v->cur_sess, __ATOMIC_RELAXED);
	t.beconn = beconn;
	session_engine(s, engine, sizeof(engine));
	log_tcplog(s->fe, &t);
}

static void
session_close_fd(int fd, int reset)
{
	if (fd == -1)
		return;
	if (reset) {
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };

		(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	close(fd);
}

/*
 * The only way out. term is HAProxy's two-letter state ("--", "CD",
 * "sC"...), reason a sentence for the log; how says which side must see
 * a reset (SESS_CLOSE_*). A side not named gets a plain close(): the
 * callers only do that once its input was read to EOF, or when the
 * session is being aborted anyway (timeouts, stop), where the kernel's
 * reset for unread input is the intended outcome.
 */
static void
session_close(struct session *s, const char *term, unsigned int how,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
session_close(struct session *s, const char *term, unsigned int how,
    const char *fmt, ...)
{
	va_list ap;

	if (s->state == SESS_ST_CLOSED)
		return;
	memcpy(s->term, term, 2);
	s->term[2] = '\0';
	va_start(ap, fmt);
	vsnprintf(s->reason, sizeof(s->reason), fmt, ap);
	va_end(ap);
	if (s->state == SESS_ST_QUEUED) {
		/* A slot given meanwhile is ours to release (session_settle). */
		s->srv = backend_dequeue(s->be, &s->waiter);
		if (s->srv != NULL)
			worker_unpost(s->worker, &s->dequeued);
	}
	session_set_state(s, SESS_ST_CLOSED);

	if (s->evs & SESS_EV_C_RD)
		event_del(&s->c_rd);
	if (s->evs & SESS_EV_C_WR)
		event_del(&s->c_wr);
	if (s->evs & SESS_EV_S_RD)
		event_del(&s->s_rd);
	if (s->evs & SESS_EV_S_WR)
		event_del(&s->s_wr);
	s->evs = 0;
	event_del(&s->timer);

	session_log(s);
	free(s->pp.buf);
	s->pp.buf = NULL;
	dial_header_free(&s->pp_out);
	engine_release(&s->up);
	engine_release(&s->down);
	/* Tokens granted and not used go back to shared buckets. */
	shaper_flow_free(s->shape[SHAPER_UP], s->up.allow, clock_now_us());
	shaper_flow_free(s->shape[SHAPER_DOWN], s->down.allow, clock_now_us());
	s->shape[SHAPER_UP] = s->shape[SHAPER_DOWN] = NULL;
	session_close_fd(s->cfd, how & SESS_CLOSE_RST_CLIENT);
	session_close_fd(s->sfd, how & SESS_CLOSE_RST_SERVER);
	s->cfd = -1;
	s->sfd = -1;
}

/* Free a closed session; called at the end of every callback. */
static void
session_settle(struct session *s)
{
	struct session_list *list;

	if (s->state != SESS_ST_CLOSED)
		return;
	if (s->srv != NULL)
		backend_release(s->be, s->srv);	/* may start a queued session */
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		s->list->head = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	list = s->list;
	__atomic_store_n(&list->n, list->n - 1, __ATOMIC_RELAXED);
	__atomic_store_n(&list->st.bytes_up, list->st.bytes_up + s->up.bytes, __ATOMIC_RELAXED);
	__atomic_store_n(&list->st.bytes_down, list->st.bytes_down + s->down.bytes,
	    __ATOMIC_RELAXED);
	if (s->t_established != 0) {
		uint64_t *e = &list->st.by_engine[s->up.ops->id > s->down.ops->id ?
		    s->up.ops->id : s->down.ops->id];

		__atomic_store_n(e, *e + 1, __ATOMIC_RELAXED);
	}
	listener_release(s->l, s->fe);
	conf_release(s->conf);
	free(s);
	list->freed++;
	if (list->n == 0)
		worker_idle();
}

/* ---- timers ---- */

/* Idle limits of each side in the current state (us, 0 = none). */
static void
session_limits(const struct session *s, uint64_t *lim_c, uint64_t *lim_s)
{
	const struct conf_timeouts *fe = &s->fe->to, *be = &s->be->to;
	uint64_t c = fe->client, v = be->server;

	if (be->tunnel != 0)
		c = v = be->tunnel;
	if (s->state == SESS_ST_HALF_CLOSED) {
		if (fe->client_fin != 0)
			c = fe->client_fin;
		if (be->server_fin != 0)
			v = be->server_fin;
	}
	*lim_c = c;
	*lim_s = v;
}

/* How long accept-proxy waits for the header: timeout client, bounded. */
static uint64_t
session_header_timeout(const struct session *s)
{
	return s->fe->to.client ? s->fe->to.client : SESS_PROXY_HEADER_MAX_US;
}

/* timeout queue, or timeout connect when it is not set (as HAProxy). */
static uint64_t
session_queue_timeout(const struct session *s)
{
	return s->be->to.queue ? s->be->to.queue : s->be->to.connect;
}

static uint64_t
session_lifetime(const struct session *s)
{
	return s->be != NULL && s->be->to.lifetime ? s->be->to.lifetime : s->fe->to.lifetime;
}

/* Earliest of two deadlines where 0 means none. */
static uint64_t
session_min(uint64_t a, uint64_t b)
{
	return a == 0 ? b : b == 0 ? a : a < b ? a : b;
}

/*
 * The next instant something must happen, 0 for none. A side's idle
 * timer only runs while we wait on that side, and counts from the later
 * of its last byte and the start of the wait.
 */
static uint64_t
session_deadline(const struct session *s)
{
	uint64_t when = 0, lim_c, lim_s, life = session_lifetime(s);

	if (life != 0)
		when = s->t_accept + life;
	if (s->flags & SESS_F_FLUSHING)
		return session_min(when, clock_now_us() + SESS_FLUSH_POLL_US);
	if (s->state == SESS_ST_PROXY_HEADER)
		return session_min(when, s->t_accept + session_header_timeout(s));
	if (s->state == SESS_ST_QUEUED)
		return session_min(when, session_queue_timeout(s) ?
		    s->t_queued + session_queue_timeout(s) : 0);
	if (s->state == SESS_ST_CONNECTING) {
		if (s->flags & SESS_F_RETRY_WAIT)
			return session_min(when, s->retry_at);
		if (s->be->to.connect != 0)
			when = session_min(when, s->t_try + s->be->to.connect);
		return when;
	}
	if ((s->state != SESS_ST_ESTABLISHED && s->state != SESS_ST_HALF_CLOSED) ||
	    (s->flags & SESS_F_PAUSED))
		return when;
	if (s->up.flags & FLOW_F_WANT_TOKENS)
		when = session_min(when, s->tokens_at[SHAPER_UP]);
	if (s->down.flags & FLOW_F_WANT_TOKENS)
		when = session_min(when, s->tokens_at[SHAPER_DOWN]);
	if (s->up.flags & FLOW_F_WANT_POLL)
		when = session_min(when, clock_now_us() + s->up.poll_us);
	if (s->down.flags & FLOW_F_WANT_POLL)
		when = session_min(when, clock_now_us() + s->down.poll_us);
	session_limits(s, &lim_c, &lim_s);
	if (lim_c != 0 && s->wait_c != 0)
		when = session_min(when, (s->last_c > s->wait_c ? s->last_c : s->wait_c) + lim_c);
	if (lim_s != 0 && s->wait_s != 0)
		when = session_min(when, (s->last_s > s->wait_s ? s->last_s : s->wait_s) + lim_s);
	return when;
}

/* Arm the timer if the next deadline is earlier than the armed one.
 * Activity only pushes deadlines later, so a timer armed too early just
 * fires, finds nothing due and re-arms (no event_add per byte). */
static void
session_schedule(struct session *s)
{
	uint64_t when = session_deadline(s), now;
	struct timeval tv;

	if (when == 0 || (s->timer_at != 0 && s->timer_at <= when))
		return;
	now = clock_now_us();
	when = when > now ? when - now : 0;
	tv.tv_sec = (time_t)(when / 1000000);
	tv.tv_usec = (suseconds_t)(when % 1000000);
	evtimer_add(&s->timer, &tv);
	s->timer_at = now + when;
}

static void
session_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	uint64_t now = clock_now_us(), life = session_lifetime(s), lim_c, lim_s;
	char t[32];

	s->timer_at = 0;
	if (s->flags & SESS_F_FLUSHING) {
		session_forward_reset(s);
	} else if (life != 0 && now >= s->t_accept + life) {
		session_close(s, s->state == SESS_ST_CONNECTING ? "PC" :
		    s->state == SESS_ST_QUEUED ? "PQ" : "PD", 0,
		    "timeout lifetime (%s) reached", units_print_time(life, t, sizeof(t)));
	} else if (s->state == SESS_ST_PROXY_HEADER) {
		if (now >= s->t_accept + session_header_timeout(s))
			session_close(s, "cR", 0, "timeout waiting for the PROXY header (%s), "
			    "%zu bytes received", units_print_time(session_header_timeout(s), t,
			    sizeof(t)), s->pp.len);
	} else if (s->state == SESS_ST_QUEUED) {
		if (session_queue_timeout(s) && now >= s->t_queued + session_queue_timeout(s))
			session_close(s, "sQ", 0, "timeout queue (%s): every server of "
			    "backend '%s' stayed full", units_print_time(session_queue_timeout(s),
			    t, sizeof(t)), s->be->name);
	} else if (s->state == SESS_ST_CONNECTING) {
		if (s->flags & SESS_F_RETRY_WAIT) {
			if (now >= s->retry_at) {
				s->flags &= ~SESS_F_RETRY_WAIT;
				session_connect(s);
			}
		} else if (s->be->to.connect != 0 && now >= s->t_try + s->be->to.connect) {
			/* A timed-out try is retried at once: it already waited. */
			if (s->evs & SESS_EV_S_WR) {
				event_del(&s->s_wr);
				s->evs &= ~SESS_EV_S_WR;
			}
			close(s->sfd);
			s->sfd = -1;
			if (s->tries <= s->be->retries)
				session_retry(s, 1);
			else
				session_close(s, "sC", 0, "timeout connect (%s) to server '%s' "
				    "after %u tries", units_print_time(s->be->to.connect, t, sizeof(t)),
				    s->srv->name, s->tries);
		}
	} else if (s->state == SESS_ST_ESTABLISHED || s->state == SESS_ST_HALF_CLOSED) {
		/* Flows due first: tokens came, or the kernel moved bytes
		 * (which also tells whether a side was really idle). */
		session_run_due(s, now);
		session_limits(s, &lim_c, &lim_s);
		if (s->state != SESS_ST_CLOSED && lim_c != 0 && s->wait_c != 0 &&
		    now >= (s->last_c > s->wait_c ? s->last_c : s->wait_c) + lim_c)
			session_close(s, "cD", 0, "client idle for %s",
			    units_print_time(lim_c, t, sizeof(t)));
		else if (s->state != SESS_ST_CLOSED && lim_s != 0 && s->wait_s != 0 &&
		    now >= (s->last_s > s->wait_s ? s->last_s : s->wait_s) + lim_s)
			session_close(s, "sD", 0, "server idle for %s",
			    units_print_time(lim_s, t, sizeof(t)));
	}
	if (s->state != SESS_ST_CLOSED)
		session_schedule(s);
	session_settle(s);
}

/* ---- events ---- */

static void
session_want(struct session *s, struct event *ev, unsigned int bit, int want)
{
	if (want && !(s->evs & bit)) {
		event_add(ev, NULL);
		s->evs |= bit;
	} else if (!want && (s->evs & bit)) {
		event_del(ev);
		s->evs &= ~bit;
	}
}

/* Watch what the flows wait for, and note since when we wait on each side. */
static void
session_update_events(struct session *s)
{
	int cli_gone = s->flags & SESS_F_CLI_GONE, srv_gone = s->flags & SESS_F_SRV_GONE;
	int paused = s->flags & SESS_F_PAUSED;
	/* After a reset only the flow away from the reset side still runs;
	 * a paused session waits for nothing (and times out on nothing). */
	int up = !srv_gone && !paused, down = !cli_gone && !paused;
	int c_rd = up && (s->up.flags & FLOW_F_WANT_READ);
	int s_wr = up && (s->up.flags & FLOW_F_WANT_WRITE);
	int s_rd = down && (s->down.flags & FLOW_F_WANT_READ);
	int c_wr = down && (s->down.flags & FLOW_F_WANT_WRITE);
	/* A flow in the kernel waiting for its dst waits on that side too. */
	int c_wait = c_rd || c_wr || (down && (s->down.flags & FLOW_F_WAIT_DST));
	int s_wait = s_rd || s_wr || (up && (s->up.flags & FLOW_F_WAIT_DST));
	uint64_t now = 0;

	session_want(s, &s->c_rd, SESS_EV_C_RD, c_rd);
	session_want(s, &s->c_wr, SESS_EV_C_WR, c_wr);
	session_want(s, &s->s_rd, SESS_EV_S_RD, s_rd);
	session_want(s, &s->s_wr, SESS_EV_S_WR, s_wr);

	if (c_wait != (s->wait_c != 0))
		s->wait_c = c_wait ? (now = clock_now_us()) : 0;
	if (s_wait != (s->wait_s != 0))
		s->wait_s = s_wait ? (now ? now : clock_now_us()) : 0;
	session_schedule(s);
}

/* Keep a flow's rate over the last full second (show sess). */
static void
session_meter(struct session *s, int d, uint64_t bytes, uint64_t now)
{
	if (s->meter[d].at == 0) {
		s->meter[d].at = now;
	} else if (now - s->meter[d].at >= SESS_METER_US) {
		s->meter[d].bps = (bytes - s->meter[d].bytes) * 8 * 1000000 /
		    (now - s->meter[d].at);
		s->meter[d].at = now;
		s->meter[d].bytes = bytes;
	}
}

/* Bytes delivered, for "show stat" (d: 0 up, 1 down). */
static void
session_count_bytes(struct session *s, int d, uint64_t n)
{
	if (n == 0)
		return;
	__atomic_add_fetch(&s->fe->fe_bytes[d], n, __ATOMIC_RELAXED);
	if (s->shape[d] != NULL)
		__atomic_add_fetch(&s->fe->fe_shaped[d], n, __ATOMIC_RELAXED);
	if (s->be != NULL)
		__atomic_add_fetch(&s->be->be_bytes[d], n, __ATOMIC_RELAXED);
	if (s->srv != NULL)
		__atomic_add_fetch(&s->srv->bytes[d], n, __ATOMIC_RELAXED);
}

/* Run one flow and note which sides showed activity. */
static void
session_run(struct session *s, struct flow *f)
{
	uint64_t in = f->in, out = f->bytes, now;
	int client_src = f == &s->up, d = client_src ? SHAPER_UP : SHAPER_DOWN;

	if (s->flags & SESS_F_PAUSED)
		return;
	if (engine_run_shaped(f, s->shape[d], &s->tokens_at[d]) == -1) {
		session_close(s, "RD", SESS_CLOSE_RST_CLIENT | SESS_CLOSE_RST_SERVER,
		    "%s engine failed: %s", f->ops->name, strerror(f->err));
		return;
	}
	if (f->in == in && f->bytes == out)
		return;
	now = clock_now_us();
	session_meter(s, client_src ? 0 : 1, f->bytes, now);
	session_count_bytes(s, client_src ? 0 : 1, f->bytes - out);
	if (f->in != in) {
		if (client_src)
			s->last_c = now;
		else
			s->last_s = now;
	}
	if (f->bytes != out) {
		if (client_src)
			s->last_s = now;
		else
			s->last_c = now;
	}
}

/* Is the flow to run from the timer: its tokens are due, or it is in the
 * kernel (its counts and FIN are read, not signalled)? */
static int
session_due(const struct session *s, const struct flow *f, int d, uint64_t now)
{
	if (f->flags & FLOW_F_WANT_TOKENS)
		return now >= s->tokens_at[d];
	return engine_in_kernel(f);
}

/* From the timer: the flows that are due run again. */
static void
session_run_due(struct session *s, uint64_t now)
{
	int ran = 0;

	if (session_due(s, &s->up, SHAPER_UP, now)) {
		session_run(s, &s->up);
		ran = 1;
	}
	if (session_due(s, &s->down, SHAPER_DOWN, now) && s->state != SESS_ST_CLOSED) {
		session_run(s, &s->down);
		ran = 1;
	}
	if (ran)
		session_progress(s);
}

/* A flow finished reading and holds nothing: forward its FIN. */
static void
session_forward_fin(struct session *s, struct flow *f)
{
	if (!(f->flags & FLOW_F_SRC_EOF) || (f->flags & (FLOW_F_SHUT | FLOW_F_DST_ERR)))
		return;
	if (engine_pending(f) != 0) {
		log_debug("%u: FIN held back %s: %zu bytes still pending", s->id,
		    f == &s->up ? "from the server" : "from the client", engine_pending(f));
		return;
	}
	/* ENOTCONN: the peer is already gone; the reset path reports it. */
	(void)shutdown(f->dst, SHUT_WR);
	f->flags |= FLOW_F_SHUT;
	engine_release(f);
	log_debug("%u: FIN forwarded %s after %" PRIu64 " bytes", s->id,
	    f == &s->up ? "to the server" : "to the client", f->bytes);
	if (s->state == SESS_ST_ESTABLISHED)
		session_set_state(s, SESS_ST_HALF_CLOSED);
}

/* Hand the flows to the kernel when the engine's policy says so; only
 * while both run (a paused session stays in user space). */
static void
session_promote(struct session *s)
{
	if (s->state == SESS_ST_ESTABLISHED && !(s->flags & SESS_F_PAUSED))
		engine_policy_run(&s->policy, &s->up, &s->down, clock_now_us(), s->id);
}

/*
 * After any flow ran: propagate resets, forward FINs, end the session
 * when both directions are done, and watch what is needed next.
 */
static void
session_progress(struct session *s)
{
	struct flow *up = &s->up, *down = &s->down;

	if (s->state == SESS_ST_CLOSED)
		return;
	if ((up->flags & FLOW_F_SRC_ERR) || (down->flags & FLOW_F_DST_ERR))
		s->flags |= SESS_F_CLI_GONE;
	if ((down->flags & FLOW_F_SRC_ERR) || (up->flags & FLOW_F_DST_ERR))
		s->flags |= SESS_F_SRV_GONE;

	if ((s->flags & SESS_F_CLI_GONE) && (s->flags & SESS_F_SRV_GONE)) {
		session_close(s, "CD", 0, "both sides reset");
		return;
	}
	if (s->flags & SESS_F_SRV_GONE) {
		/* Deliver what the server sent before its reset, then reset the
		 * client: reading a reset socket returns its queued bytes first. */
		if ((down->flags & (FLOW_F_SRC_EOF | FLOW_F_SRC_ERR)) && engine_pending(down) == 0) {
			session_forward_reset(s);
			return;
		}
	} else if (s->flags & SESS_F_CLI_GONE) {
		if ((up->flags & (FLOW_F_SRC_EOF | FLOW_F_SRC_ERR)) && engine_pending(up) == 0) {
			session_forward_reset(s);
			return;
		}
	} else {
		session_forward_fin(s, up);
		session_forward_fin(s, down);
		if ((up->flags & FLOW_F_SHUT) && (down->flags & FLOW_F_SHUT)) {
			session_close(s, "--", 0, "both sides closed");
			return;
		}
	}
	session_promote(s);
	session_update_events(s);
}

/*
 * One side reset and every byte it sent before has been written to the
 * other side: reset that side too, but only once its peer acknowledged
 * those bytes. SO_LINGER 0 discards our unacknowledged send queue, while
 * bytes already in the peer's receive buffer stay readable before its
 * ECONNRESET; so waiting for SIOCOUTQ == 0 is what makes "delivered"
 * true. Polled from the timer: a rare path, bounded in time.
 */
static void
session_forward_reset(struct session *s)
{
	int to_client = (s->flags & SESS_F_SRV_GONE) != 0;
	int fd = to_client ? s->cfd : s->sfd;
	const struct flow *f = to_client ? &s->down : &s->up;
	uint64_t lim_c, lim_s, now = clock_now_us();

	if (!(s->flags & SESS_F_FLUSHING)) {
		session_limits(s, &lim_c, &lim_s);
		s->flags |= SESS_F_FLUSHING;
		s->flush_until = now + ((to_client ? lim_c : lim_s) ? (to_client ? lim_c : lim_s) :
		    SESS_FLUSH_MAX_US);
		session_want(s, &s->c_rd, SESS_EV_C_RD, 0);
		session_want(s, &s->c_wr, SESS_EV_C_WR, 0);
		session_want(s, &s->s_rd, SESS_EV_S_RD, 0);
		session_want(s, &s->s_wr, SESS_EV_S_WR, 0);
	}
	if (engine_unacked(fd) != 0 && now < s->flush_until) {
		session_schedule(s);
		return;
	}
	session_close(s, to_client ? "SD" : "CD",
	    to_client ? SESS_CLOSE_RST_CLIENT : SESS_CLOSE_RST_SERVER,
	    "%s reset the connection (%s)%s", to_client ? "server" : "client",
	    strerror(f->err ? f->err : (to_client ? s->up.err : s->down.err)),
	    engine_unacked(fd) != 0 ? "; reset forwarded before the last bytes were "
	    "acknowledged" : "");
}

static void
session_on_client_read(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	session_run(s, &s->up);
	session_progress(s);
	session_settle(s);
}

static void
session_on_server_write(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	session_run(s, &s->up);
	session_progress(s);
	session_settle(s);
}

static void
session_on_server_read(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	session_run(s, &s->down);
	session_progress(s);
	session_settle(s);
}

static void
session_on_client_write(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	session_run(s, &s->down);
	session_progress(s);
	session_settle(s);
}

/* ---- connecting ---- */

/* The bandwidth limits that apply to the session : a shaped flow
 * starts with nothing to read until its buckets grant it bytes. */
static void
session_shape(struct session *s)
{
	struct flow *flows[2] = { &s->up, &s->down };
	uint64_t now = clock_now_us();
	int oom;

	for (int d = SHAPER_UP; d <= SHAPER_DOWN; d++) {
		s->shape[d] = shaper_flow_for(d, s->conf, s->fe, s->be, (struct sockaddr *)&s->cli,
		    now, &oom);
		if (s->shape[d] != NULL)
			flows[d]->allow = 0;
		else if (oom)
			log_warning("%u: out of memory: the session's %s is not shaped", s->id,
			    d == SHAPER_UP ? "upload" : "download");
	}
}

static void
session_established(struct session *s)
{
	enum conf_engine engine = s->be->engine != CONF_ENGINE_UNSET ? s->be->engine :
	    s->fe->engine;
	unsigned int opts = s->be->opts | s->fe->opts;

	s->t_established = s->last_c = s->last_s = clock_now_us();
	/* Drop the connect-phase watchers and arm the relay ones. */
	if (s->evs & SESS_EV_C_RD)
		event_del(&s->c_rd);
	if (s->evs & SESS_EV_S_WR)
		event_del(&s->s_wr);
	s->evs = 0;
	event_assign(&s->c_rd, s->base, s->cfd, EV_READ | EV_PERSIST, session_on_client_read, s);
	event_assign(&s->c_wr, s->base, s->cfd, EV_WRITE | EV_PERSIST, session_on_client_write, s);
	event_assign(&s->s_rd, s->base, s->sfd, EV_READ | EV_PERSIST, session_on_server_read, s);
	event_assign(&s->s_wr, s->base, s->sfd, EV_WRITE | EV_PERSIST, session_on_server_write, s);
	engine_flow_init(&s->up, s->cfd, s->sfd, engine, opts, 1);
	engine_flow_init(&s->down, s->sfd, s->cfd, engine, opts, 0);
	s->up.flags |= FLOW_F_WANT_READ;
	s->down.flags |= FLOW_F_WANT_READ;
	s->up.pre = s->pp_in;
	if (s->accept_proxy)
		s->up.flags &= ~FLOW_F_CLEAN;	/* its header may have ended mid-segment */
	session_shape(s);
	/* Which flows may go to the kernel, and when. A shaped one may not:
	 * user space cannot delay a kernel redirect. */
	engine_policy_init(&s->policy, engine, &s->conf->global,
	    s->shape[SHAPER_UP] != NULL || s->shape[SHAPER_DOWN] != NULL, s->t_established);
	session_set_state(s, SESS_ST_ESTABLISHED);
	if (__atomic_load_n(&s->srv->observed_errors, __ATOMIC_RELAXED) != 0)
		__atomic_store_n(&s->srv->observed_errors, 0, __ATOMIC_RELAXED);
	log_debug("%u: connected to server '%s' after %u tries", s->id, s->srv->name, s->tries);
	session_promote(s);
	session_update_events(s);
}

/*
 * Schedule the next try after a failed one: on another server when it is
 * time to redispatch (at once: that server has not failed), else on the
 * same one after the turn-around.
 */
static void
session_retry(struct session *s, int timed_out)
{
	uint64_t wait = dial_turnaround(timed_out, s->be->to.connect);
	struct conf_server *other;

	if (dial_redispatch_now(s->tries, s->be->retries, s->be->redispatch_every,
	    (s->be->opts & CONF_OPT_REDISPATCH) != 0) &&
	    backend_assign(s->be, (struct sockaddr *)&s->cli, s->srv, &other, NULL) ==
	    BACKEND_ASSIGNED) {
		if (other != s->srv) {
			log_debug("%u: redispatch from server '%s' to '%s'", s->id, s->srv->name,
			    other->name);
			backend_release(s->be, s->srv);
			s->srv = other;
			wait = 0;
		} else {
			backend_release(s->be, other);	/* the only one: keep our slot */
		}
	}
	if (wait == 0) {
		session_connect(s);
		return;
	}
	s->flags |= SESS_F_RETRY_WAIT;
	s->retry_at = clock_now_us() + wait;
	session_schedule(s);
}

/* A try failed with errno e: retry, or give up after the last one. */
static void
session_connect_failed(struct session *s, int e)
{
	char addr[SOCKADDR_STRLEN];

	if (s->sfd != -1) {
		close(s->sfd);
		s->sfd = -1;
	}
	if (s->evs & SESS_EV_S_WR) {
		event_del(&s->s_wr);
		s->evs &= ~SESS_EV_S_WR;
	}
	__atomic_add_fetch(&s->srv->connect_errors, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&s->srv->observed_errors, 1, __ATOMIC_RELAXED);	/* observe layer4 */
	sockaddr_print((struct sockaddr *)&s->srv->addr.ss, addr, sizeof(addr));
	if (s->tries > s->be->retries) {
		session_close(s, (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) ?
		    "RC" : "SC", 0, "connect to server '%s' (%s) failed after %u tries: %s",
		    s->srv->name, addr, s->tries, strerror(e));
		return;
	}
	log_debug("%u: connect to %s failed (%s)", s->id, addr, strerror(e));
	session_retry(s, 0);
}

/* The address the client connected to, for send-proxy. */
static const struct sockaddr *
session_dst(struct session *s)
{
	socklen_t len = sizeof(s->dst);

	if (!(s->flags & SESS_F_DST_KNOWN) &&
	    getsockname(s->cfd, (struct sockaddr *)&s->dst, &len) == 0)
		s->flags |= SESS_F_DST_KNOWN;
	return (struct sockaddr *)&s->dst;
}

/* send-proxy(-v2): the header goes first, before any client byte.
 * Returns 1 when sent, 0 to wait, -1 when the server went away. */
static int
session_send_proxy(struct session *s)
{
	int r;

	if (s->pp_out.buf == NULL && dial_header_build(&s->pp_out, s->srv->send_proxy,
	    (struct sockaddr *)&s->cli, session_dst(s)) == -1)
		return -1;
	if ((r = dial_send_header(s->sfd, &s->pp_out)) == 1)
		s->srv_pp_sent = 1;
	return r;
}

static void
session_on_connect(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	int e;

	s->evs &= ~SESS_EV_S_WR;	/* one-shot event */
	if ((e = dial_result(s->sfd)) != 0) {
		session_connect_failed(s, e);
	} else if (s->srv->send_proxy && !s->srv_pp_sent) {
		switch (session_send_proxy(s)) {
		case 1:
			session_established(s);
			break;
		case 0:
			event_add(&s->s_wr, NULL);
			s->evs |= SESS_EV_S_WR;
			break;
		default:
			session_close(s, "SC", 0, "sending the PROXY header to server '%s' "
			    "failed: %s", s->srv->name, strerror(errno));
			break;
		}
	} else {
		session_established(s);
	}
	session_settle(s);
}

/*
 * Something happened on the client while we dial: data, a FIN or a
 * reset. Only a reset ends the session now; data and a FIN (a complete
 * request: HAProxy without abortonclose) are relayed once connected.
 * The watcher is edge-triggered: libevent reports a reset (EPOLLHUP|
 * EPOLLERR) as EV_READ, never as EV_CLOSED, and a level-triggered
 * EV_READ would spin on a request that waits in the socket.
 */
static void
session_on_client_event(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	int e = dial_result(s->cfd);

	if (e != 0)
		session_close(s, s->state == SESS_ST_QUEUED ? "CQ" : "CC", 0,
		    "client aborted while %s (%s)", s->state == SESS_ST_QUEUED ?
		    "waiting in the queue" : "connecting", strerror(e));
	session_settle(s);
}

/* One connect try to s->srv. */
static void
session_connect(struct session *s)
{
	int fd;

	s->tries++;
	s->t_try = clock_now_us();
	s->srv_pp_sent = 0;
	dial_header_free(&s->pp_out);	/* a header half sent to a failed server */
	fd = dial_start((struct sockaddr *)&s->srv->addr.ss, s->srv->addr.len);
	if (fd == -1 && (errno == EMFILE || errno == ENFILE) &&
	    (fd = worker_spare_take(s->srv->addr.ss.ss_family)) != -1)
		fd = dial_start_with(fd, (struct sockaddr *)&s->srv->addr.ss, s->srv->addr.len);
	if (fd == -1) {
		session_connect_failed(s, errno);
		return;
	}
	s->sfd = fd;
	event_assign(&s->s_wr, s->base, fd, EV_WRITE, session_on_connect, s);
	event_add(&s->s_wr, NULL);
	s->evs |= SESS_EV_S_WR;
	session_schedule(s);
}

/* On the session's worker: the slot given to it while queued. */
static void
session_run_dequeued(struct worker_job *j)
{
	struct session *s = (struct session *)((char *)j - offsetof(struct session, dequeued));

	if (s->state != SESS_ST_QUEUED)
		return;
	s->srv = backend_dequeue(s->be, &s->waiter);
	if (s->srv == NULL)
		return;
	s->t_dequeued = clock_now_us();
	session_set_state(s, SESS_ST_CONNECTING);
	session_connect(s);
	session_settle(s);
}

/*
 * A slot was taken for this queued session, on whatever thread freed it
 * and under the backend lock: tell the session's worker, which connects
 * (never from inside backend_release(), never from another thread).
 */
static void
session_on_dequeued(struct backend_waiter *w)
{
	struct session *s = (struct session *)((char *)w - offsetof(struct session, waiter));

	worker_post(s->worker, &s->dequeued);
}

/*
 * The client is known (its PROXY header read, if any): pick the backend
 * and a server, then connect or queue.
 */
static void
session_start(struct session *s)
{
	struct sockaddr *cli = (struct sockaddr *)&s->cli;

	if (!(s->fe->opts & CONF_OPT_TCPLOG) && log_traffic_wanted(s->fe)) {
		char c[SOCKADDR_STRLEN], d[SOCKADDR_STRLEN];

		log_traffic(s->fe, LOG_INFO, "Connect from %s to %s (%s/TCP)",
		    sockaddr_print(cli, c, sizeof(c)), sockaddr_print(session_dst(s), d, sizeof(d)),
		    s->fe->name);
	}
	/* use_backend rules first, then default_backend. */
	if ((s->be = acl_use_backend(s->fe->use_backends, cli)) == NULL)
		s->be = s->fe->backend;
	if (s->be == NULL) {
		session_close(s, "PC", 0, "no use_backend rule matched and frontend '%s' "
		    "has no default_backend", s->fe->name);
		return;
	}
	s->waiter.cli = cli;
	s->waiter.ready = session_on_dequeued;
	s->dequeued.run = session_run_dequeued;
	switch (backend_assign(s->be, cli, NULL, &s->srv, &s->waiter)) {
	case BACKEND_NO_SERVER:
		session_close(s, "SC", 0, "backend '%s' has no server available", s->be->name);
		return;
	case BACKEND_FULL:
		/* Queued. Another thread may give it a slot at once: that news
		 * is a job for this thread, run after this returns. */
		s->t_queued = clock_now_us();
		session_set_state(s, SESS_ST_QUEUED);
		log_debug("%u: every server of '%s' is full; queued", s->id, s->be->name);
		break;
	case BACKEND_ASSIGNED:
		session_set_state(s, SESS_ST_CONNECTING);
		break;
	}
	if (s->evs & SESS_EV_C_RD)
		event_del(&s->c_rd);
	event_assign(&s->c_rd, s->base, s->cfd, EV_READ | EV_CLOSED | EV_ET | EV_PERSIST,
	    session_on_client_event, s);
	event_add(&s->c_rd, NULL);
	s->evs |= SESS_EV_C_RD;
	if (s->state == SESS_ST_CONNECTING)
		session_connect(s);
	else
		session_schedule(s);
}

/* accept-proxy: the header arrives (pp_read takes no byte past it). */
static void
session_on_proxy_header(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	struct pp_header h;
	char err[256], a[SOCKADDR_STRLEN];

	switch (pp_read(s->cfd, &s->pp, &h, err, sizeof(err))) {
	case 0:
		return;
	case PP_READ_GONE:
		session_close(s, "CR", 0, "%s", err);
		session_settle(s);
		return;
	case PP_READ_BAD:
		session_close(s, "PR", 0, "bad PROXY header from %s: %s",
		    sockaddr_print((struct sockaddr *)&s->cli, a, sizeof(a)), err);
		session_settle(s);
		return;
	}
	log_debug("%u: PROXY v%d header of %zu bytes: client %s", s->id, h.version, s->pp.len,
	    h.has_addr ? sockaddr_print((struct sockaddr *)&h.src, a, sizeof(a)) : "(local)");
	if (h.has_addr) {
		s->cli = h.src;
		s->dst = h.dst;
		s->flags |= SESS_F_DST_KNOWN;
	}
	free(s->pp.buf);
	s->pp.buf = NULL;
	s->pp_in = s->pp.len;
	s->pp.len = 0;
	session_start(s);
	session_settle(s);
}

/* ---- start ---- */

void
session_accept(const struct listener_client *c)
{
	struct event_base *base = c->base;
	int fd = c->fd;
	struct session *s;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		/* Nothing to relay with: the client sees a reset, not a hang. */
		session_close_fd(fd, 1);
		listener_release(c->l, c->fe);
		log_err("out of memory for a new session");
		return;
	}
	s->id = __atomic_add_fetch(&session_next_id, 1, __ATOMIC_RELAXED);
	s->state = SESS_ST_ACCEPTED;
	s->base = base;
	s->worker = worker_self();
	s->l = c->l;
	s->fe = c->fe;
	s->accept_proxy = c->bind->accept_proxy;
	s->conf = conf_current();
	conf_hold(s->conf);
	s->cfd = fd;
	s->sfd = -1;
	memcpy(&s->cli, &c->addr, c->len < sizeof(s->cli) ? c->len : sizeof(s->cli));
	gettimeofday(&s->accept_date, NULL);
	s->t_accept = clock_now_us();
	s->up.ops = s->down.ops = &engine_splice_ops;	/* nothing to release yet */
	engine_policy_stop(&s->policy);
	evtimer_assign(&s->timer, base, session_on_timer, s);
	s->list = &session_lists[worker_id(s->worker)];
	s->next = s->list->head;
	if (s->next != NULL)
		s->next->prev = s;
	s->list->head = s;
	__atomic_store_n(&s->list->n, s->list->n + 1, __ATOMIC_RELAXED);
	__atomic_store_n(&s->list->st.sessions, s->list->st.sessions + 1, __ATOMIC_RELAXED);
	log_debug("%u: accepted on thread %u", s->id, worker_id(s->worker));

	if (s->accept_proxy) {
		/* Level-triggered is safe here: every byte seen is consumed. */
		if ((s->pp.buf = malloc(PP_MAX)) == NULL) {
			session_close(s, "RR", 0, "out of memory for the PROXY header");
			session_settle(s);
			return;
		}
		session_set_state(s, SESS_ST_PROXY_HEADER);
		event_assign(&s->c_rd, base, fd, EV_READ | EV_PERSIST, session_on_proxy_header, s);
		event_add(&s->c_rd, NULL);
		s->evs |= SESS_EV_C_RD;
		session_schedule(s);
		return;
	}
	session_start(s);
	session_settle(s);
}

unsigned int
session_count(void)
{
	return session_lists[worker_id(worker_self())].n;
}

unsigned int
session_live(unsigned int wid)
{
	return __atomic_load_n(&session_lists[wid].n, __ATOMIC_RELAXED);
}

unsigned int
session_live_all(void)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < worker_count(); i++)
		n += session_live(i);
	return n;
}

void
session_stats_of(unsigned int wid, struct session_stats *st)
{
	const struct session_stats *w = &session_lists[wid].st;

	st->sessions = __atomic_load_n(&w->sessions, __ATOMIC_RELAXED);
	st->bytes_up = __atomic_load_n(&w->bytes_up, __ATOMIC_RELAXED);
	st->bytes_down = __atomic_load_n(&w->bytes_down, __ATOMIC_RELAXED);
	for (int e = 0; e < ENGINE_COUNT; e++)
		st->by_engine[e] = __atomic_load_n(&w->by_engine[e], __ATOMIC_RELAXED);
}

void
session_sum_stats(struct session_stats *st)
{
	memset(st, 0, sizeof(*st));
	for (unsigned int i = 0; i < worker_count(); i++) {
		struct session_stats w;

		session_stats_of(i, &w);
		st->sessions += w.sessions;
		st->bytes_up += w.bytes_up;
		st->bytes_down += w.bytes_down;
		for (int e = 0; e < ENGINE_COUNT; e++)
			st->by_engine[e] += w.by_engine[e];
	}
}

void
session_kill_all(const char *reason)
{
	struct session_list *list = &session_lists[worker_id(worker_self())];

	while (list->head != NULL) {
		struct session *s = list->head;

		session_close(s, s->state == SESS_ST_CONNECTING ? "KC" :
		    s->state == SESS_ST_QUEUED ? "KQ" :
		    s->state == SESS_ST_PROXY_HEADER ? "KR" : "KD", 0, "%s", reason);
		session_settle(s);
	}
}

/* ---- what the admin socket sees and asks (admin.c) ---- */

/* What "show sess" and the orders see of s. */
static void
session_info_fill(const struct session *s, uint64_t now, struct session_info *i)
{
	uint64_t last = s->last_c > s->last_s ? s->last_c : s->last_s;

	memset(i, 0, sizeof(*i));
	i->id = s->id;
	i->frontend = s->fe->name;
	i->fe = s->fe;
	i->backend = s->be != NULL ? s->be->name : NULL;
	i->server = s->srv;
	i->cli = &s->cli;
	i->srv_addr = s->srv != NULL ? &s->srv->addr.ss : NULL;
	i->state = s->flags & SESS_F_PAUSED ? "paused" : session_state_names[s->state];
	session_engine(s, i->engine, sizeof(i->engine));
	i->flow_engine[0] = s->t_established != 0 ? (int)s->up.ops->id : -1;
	i->flow_engine[1] = s->t_established != 0 ? (int)s->down.ops->id : -1;
	i->running = s->state == SESS_ST_ESTABLISHED || s->state == SESS_ST_HALF_CLOSED;
	i->age_us = now - s->t_accept;
	i->idle_us = now - (last > s->t_accept ? last : s->t_accept);
	i->bytes[0] = s->up.bytes;
	i->bytes[1] = s->down.bytes;
	for (int d = 0; d < 2; d++) {
		const struct flow *f = d == 0 ? &s->up : &s->down;

		/* Idle for over a window: what it moved since. */
		i->bps[d] = s->meter[d].at != 0 && now - s->meter[d].at >= SESS_METER_US ?
		    (f->bytes - s->meter[d].bytes) * 8 * 1000000 / (now - s->meter[d].at) :
		    s->meter[d].bps;
	}
}

void
session_foreach(struct worker *w, void (*cb)(const struct session_info *i, void *arg),
    void *arg)
{
	uint64_t now = clock_now_us();
	struct session_info i;

	for (const struct session *s = session_lists[worker_id(w)].head; s != NULL; s = s->next) {
		if (s->state == SESS_ST_CLOSED)
			continue;
		session_info_fill(s, now, &i);
		cb(&i, arg);
	}
}

/*
 * A batch of a walk on the calling worker's list. New sessions go to the
 * head, so ids fall along the list: the walk goes on after the last id it
 * saw, and never sees a session younger than the walk. The session kept in
 * c->next is still alive when this worker freed none since (the common
 * case, an idle crowd); otherwise the place is found again by id.
 */
unsigned int
session_walk(struct session_cursor *c, unsigned int max,
    void (*cb)(const struct session_info *i, void *arg), void *arg)
{
	struct session_list *list = &session_lists[worker_id(worker_self())];
	const struct session *s = list->head;
	uint64_t now = clock_now_us();
	struct session_info i;
	unsigned int n = 0;

	if (c->last_id != 0 && c->freed == list->freed)
		s = c->next;
	else if (c->last_id != 0)
		while (s != NULL && s->id >= c->last_id)
			s = s->next;
	for (; s != NULL && n < max; s = s->next) {
		if (s->state == SESS_ST_CLOSED)
			continue;
		session_info_fill(s, now, &i);
		cb(&i, arg);
		c->last_id = s->id;
		n++;
	}
	c->next = s;
	c->freed = list->freed;
	c->done = s == NULL;
	return n;
}

/* ---- the admin socket's verbs (admin_sess.c posts them to the session's worker) ---- */

struct session *
session_find(unsigned int id)
{
	struct session *s;

	for (s = session_lists[worker_id(worker_self())].head; s != NULL && s->id != id;
	    s = s->next)
		;
	return s == NULL || s->state == SESS_ST_CLOSED ? NULL : s;
}

void
session_shutdown(struct session *s, const char *why)
{
	session_close(s, s->state == SESS_ST_CONNECTING ? "KC" :
	    s->state == SESS_ST_QUEUED ? "KQ" :
	    s->state == SESS_ST_PROXY_HEADER ? "KR" : "KD",
	    SESS_CLOSE_RST_CLIENT | SESS_CLOSE_RST_SERVER, "%s", why);
	session_settle(s);
}

/* Stop every byte both ways: the flows watch nothing until resumed. The
 * kernel cannot be paused: its flows are held (copied from now on) and
 * what it already took still arrives. */
static int
session_pause_now(struct session *s)
{
	if (s->state != SESS_ST_ESTABLISHED && s->state != SESS_ST_HALF_CLOSED)
		return -1;	/* admin_sess.c checked; it moved on since */
	engine_hold(&s->up);
	engine_hold(&s->down);
	s->flags |= SESS_F_PAUSED;
	log_notice("%u: paused from the admin socket", s->id);
	session_update_events(s);
	return 0;
}

static int
session_resume_now(struct session *s)
{
	if (!(s->flags & SESS_F_PAUSED))
		return -1;
	s->flags &= ~SESS_F_PAUSED;
	log_notice("%u: resumed from the admin socket", s->id);
	if (s->state == SESS_ST_ESTABLISHED || s->state == SESS_ST_HALF_CLOSED) {
		session_run(s, &s->up);
		if (s->state != SESS_ST_CLOSED)
			session_run(s, &s->down);
		session_progress(s);
	} else {
		session_update_events(s);
	}
	return 0;
}

int
session_pause(struct session *s, int paused)
{
	int rc = paused ? session_pause_now(s) : session_resume_now(s);

	session_settle(s);
	return rc;
}

/* Shape one direction of s at rate from now on (its own bucket, on top of
 * any configured limit). A flow the kernel carries cannot be shaped. */
static int
session_shape_now(struct session *s, int d, uint64_t rate)
{
	struct flow *f = d == SHAPER_UP ? &s->up : &s->down;
	uint64_t now = clock_now_us();

	if (engine_in_kernel(f)) {
		log_warning("%u: bandwidth-limit not set: the flow is in the kernel (sockmap)", s->id);
		return -1;
	}
	if (s->shape[d] == NULL) {
		if ((s->shape[d] = shaper_flow_new(1)) == NULL) {
			log_err("%u: out of memory for a bandwidth-limit", s->id);
			return -1;
		}
		f->allow = 0;
	}
	if (shaper_flow_set(s->shape[d], rate, 0, now) == -1) {
		log_err("%u: cannot set its bandwidth-limit (out of memory)", s->id);
		return -1;
	}
	engine_policy_stop(&s->policy);	/* shaped: stays in user space */
	log_notice("%u: %s limited to %" PRIu64 " bits/s (admin socket)", s->id,
	    d == SHAPER_UP ? "upload" : "download", rate);
	return 0;
}

int
session_set_rate(struct session *s, int dir, uint64_t bps)
{
	int rc = session_shape_now(s, dir, bps);

	if (s->state == SESS_ST_ESTABLISHED || s->state == SESS_ST_HALF_CLOSED) {
		session_run(s, dir == SHAPER_UP ? &s->up : &s->down);
		session_progress(s);
	}
	session_settle(s);
	return rc;
}
