/*
 * session: THE state machine.
 *
 *   ACCEPTED -> [PROXY_HEADER] -> ROUTING -> [QUEUED] -> CONNECTING
 *        <-> [TURNAROUND]; CONNECTING -> ESTABLISHED -> [HALF_CLOSED]
 *        -> [RESETTING] -> CLOSED; every state may also go straight to
 *        CLOSED but RESETTING, which only ends there.
 *
 * Every transition goes through session_set_state(), which checks it
 * against the table below and traces it; every end goes through
 * session_close(), which takes the cause of the end and a sentence,
 * derives HAProxy's two-letter termination state from the cause and the
 * state it ended in, logs the session and closes its sockets. Every
 * libevent callback goes through session_call(), and every other way in
 * (a job, an admin verb, a stop) leaves through session_leave(): both
 * free a session that ended only once its handler has finished with it,
 * never under its own feet.
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
 * (engine_policy_run); it then reports its FIN, reset and byte counts
 * through the same flow flags, and the same rules hold.
 *
 * The file reads in the order a session lives: accept, PROXY header,
 * routing and queue, connect and turn-around, the relay, timers, the
 * end. Its types are in session_int.h; what is not the machine lives
 * beside it, below it: where a session goes and on what terms (backend,
 * server, queue, stickiness, engine, limits: session_route.c), what
 * content rules make of its first bytes (session_inspect.c), the
 * deadline arithmetic (session_timeout.c), the counters, meter and log
 * line (session_info.c) and the per-worker lists (session_list.c). The
 * admin orders (session_admin.c) are the one file of the module above
 * it. tests/check_layers.py checks that calls go that way only.
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
#include "persist.h"
#include "proxy_proto.h"
#include "session_int.h"
#include "shaper.h"
#include "units.h"
#include "worker.h"

/* ---- tables ---- */

/* Legal transitions: session_legal[from] is a mask of 1 << to. */
static const unsigned int session_legal[SESS_ST_COUNT] = {
	[SESS_ST_ACCEPTED]     = 1 << SESS_ST_PROXY_HEADER | 1 << SESS_ST_INSPECTING |
	    1 << SESS_ST_ROUTING | 1 << SESS_ST_CLOSED,
	[SESS_ST_PROXY_HEADER] = 1 << SESS_ST_INSPECTING | 1 << SESS_ST_ROUTING |
	    1 << SESS_ST_CLOSED,
	[SESS_ST_INSPECTING]   = 1 << SESS_ST_ROUTING | 1 << SESS_ST_CLOSED,
	[SESS_ST_ROUTING]      = 1 << SESS_ST_QUEUED | 1 << SESS_ST_CONNECTING |
	    1 << SESS_ST_CLOSED,
	[SESS_ST_QUEUED]       = 1 << SESS_ST_CONNECTING | 1 << SESS_ST_CLOSED,
	[SESS_ST_CONNECTING]   = 1 << SESS_ST_ESTABLISHED | 1 << SESS_ST_TURNAROUND |
	    1 << SESS_ST_CLOSED,
	[SESS_ST_TURNAROUND]   = 1 << SESS_ST_CONNECTING | 1 << SESS_ST_CLOSED,
	[SESS_ST_ESTABLISHED]  = 1 << SESS_ST_HALF_CLOSED | 1 << SESS_ST_RESETTING |
	    1 << SESS_ST_CLOSED,
	[SESS_ST_HALF_CLOSED]  = 1 << SESS_ST_RESETTING | 1 << SESS_ST_CLOSED,
	[SESS_ST_RESETTING]    = 1 << SESS_ST_CLOSED,
	[SESS_ST_CLOSED]       = 0,
};

static const char session_cause_letter[SESS_END_COUNT] = {
	[SESS_END_NORMAL] = '-', [SESS_END_CLI_TIMEOUT] = 'c', [SESS_END_CLI_ABORT] = 'C',
	[SESS_END_SRV_TIMEOUT] = 's', [SESS_END_SRV_ERROR] = 'S', [SESS_END_PROXY] = 'P',
	[SESS_END_RESOURCE] = 'R', [SESS_END_KILLED] = 'K',
};

static const char session_phase_letter[SESS_ST_COUNT] = {
	[SESS_ST_ACCEPTED] = 'R', [SESS_ST_PROXY_HEADER] = 'R', [SESS_ST_INSPECTING] = 'R',
	[SESS_ST_ROUTING] = 'C',
	[SESS_ST_QUEUED] = 'Q', [SESS_ST_CONNECTING] = 'C', [SESS_ST_TURNAROUND] = 'C',
	[SESS_ST_ESTABLISHED] = 'D', [SESS_ST_HALF_CLOSED] = 'D', [SESS_ST_RESETTING] = 'D',
};

static unsigned int session_next_id;		/* atomic */

/* Called from above their definitions, in the order a session lives. */
static void session_start(struct session *s);
static void session_connect(struct session *s);
static void session_established(struct session *s);
static void session_promote(struct session *s);
static void session_schedule(struct session *s);
static void session_on_timer(struct session *s, struct session_ev *e);
static void session_run_dequeued(struct worker_job *j);
static void session_close_fd(int fd, int reset);
static void session_call(evutil_socket_t fd, short what, void *arg);

static void
session_set_state(struct session *s, enum session_state to)
{
	assert(session_legal[s->state] & (1u << to));
	log_debug("%u: %s -> %s", s->id, session_state_names[s->state],
	    session_state_names[to]);
	s->state = to;
}

/* Point e at fd for events, running fn (through session_call). */
static void
session_assign(struct session *s, struct session_ev *e, int fd, short events,
    void (*fn)(struct session *s, struct session_ev *e))
{
	e->s = s;
	e->fn = fn;
	event_assign(&e->ev, s->base, fd, events, session_call, e);
}

/* Watch e's event, noted as bit of s->evs. libevent allocates when it
 * first sees an fd, and that may fail: then s ends, reset both ways (it
 * could never learn what it waits for), and -1 says so. */
static int
session_watch(struct session *s, struct event *ev, unsigned int bit)
{
	if (event_add(ev, NULL) == 0) {
		s->evs |= bit;
		return 0;
	}
	session_close(s, SESS_END_RESOURCE, SESS_CLOSE_RST_CLIENT | SESS_CLOSE_RST_SERVER,
	    "out of memory watching a socket");
	return -1;
}

/* ---- accept ---- */

static void session_on_proxy_header(struct session *s, struct session_ev *e);

/* A session for the client c hands over, in ACCEPTED; NULL when out of
 * memory. */
static struct session *
session_new(const struct listener_client *c)
{
	struct session *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->id = __atomic_add_fetch(&session_next_id, 1, __ATOMIC_RELAXED);
	s->state = SESS_ST_ACCEPTED;
	s->base = c->base;
	s->worker = worker_self();
	s->l = c->l;
	s->fe = c->fe;
	s->accept_proxy = c->bind->accept_proxy;
	s->so_id = conf_bind_id(c->fe, c->bind);
	s->conf = conf_current();
	conf_hold(s->conf);
	s->cfd = c->fd;
	s->sfd = -1;
	if (s->fe->opts & CONF_OPT_CLITCPKA)
		dial_keepalive(c->fd, s->fe->tcpka[0].idle, s->fe->tcpka[0].intvl,
		    s->fe->tcpka[0].cnt);
	memcpy(s->sc.e, c->track, sizeof(s->sc.e));	/* tcp-request connection track-sc */
	memcpy(&s->cli, &c->addr, c->len < sizeof(s->cli) ? c->len : sizeof(s->cli));
	gettimeofday(&s->accept_date, NULL);
	s->t_accept = clock_now_us();
	s->up.ops = s->down.ops = &engine_splice_ops;	/* nothing to release yet */
	engine_policy_stop(&s->policy);
	session_assign(s, &s->timer, -1, 0, session_on_timer);
	s->dequeued.run = session_run_dequeued;
	return s;
}

void
session_accept(const struct listener_client *c)
{
	struct session *s;

	if ((s = session_new(c)) == NULL) {
		void *track[PERSIST_SC_MAX];

		/* Nothing to relay with: the client sees a reset, not a hang. */
		memcpy(track, c->track, sizeof(track));
		persist_untrack(track, 0, 0, clock_now_us());
		session_close_fd(c->fd, 1);
		listener_release(c->l, c->fe);
		log_err("out of memory for a new session");
		return;
	}
	session_list_add(s, &session_lists[worker_id(s->worker)]);
	log_debug("%u: accepted on thread %u", s->id, worker_id(s->worker));
	if (!s->accept_proxy) {
		session_start(s);
	} else if ((s->pp.buf = malloc(PP_MAX)) == NULL) {
		session_close(s, SESS_END_RESOURCE, 0, "out of memory for the PROXY header");
	} else {
		/* Level-triggered is safe here: every byte seen is consumed. */
		session_set_state(s, SESS_ST_PROXY_HEADER);
		session_assign(s, &s->c_rd, c->fd, EV_READ | EV_PERSIST, session_on_proxy_header);
		if (session_watch(s, &s->c_rd.ev, SESS_EV_C_RD) == 0)
			session_schedule(s);
	}
	session_leave(s, 0);
}

/* ---- the PROXY header (accept-proxy) ---- */

/* The header arrives (pp_read takes no byte past it). */
static void
session_on_proxy_header(struct session *s, struct session_ev *e)
{
	struct pp_header h;
	char err[256], a[SOCKADDR_STRLEN];

	switch (pp_read(s->cfd, &s->pp, &h, err, sizeof(err))) {
	case 0:
		return;
	case PP_READ_GONE:
		session_close(s, SESS_END_CLI_ABORT, 0, "%s", err);
		return;
	case PP_READ_BAD:
		session_close(s, SESS_END_PROXY, 0, "bad PROXY header from %s: %s",
		    sockaddr_print((struct sockaddr *)&s->cli, a, sizeof(a)), err);
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
}

/* ---- routing and the queue ---- */

/*
 * Something happened on the client while we dial: data, a FIN or a
 * reset. Only a reset ends the session now; data and a FIN (a complete
 * request: HAProxy without abortonclose) are relayed once connected.
 * The watcher is edge-triggered: libevent reports a reset (EPOLLHUP|
 * EPOLLERR) as EV_READ, never as EV_CLOSED, and a level-triggered
 * EV_READ would spin on a request that waits in the socket.
 */
static void
session_on_client_event(struct session *s, struct session_ev *e)
{
	int err = dial_result(s->cfd);

	if (err != 0)
		session_close(s, SESS_END_CLI_ABORT, 0, "client aborted while %s (%s)",
		    s->state == SESS_ST_QUEUED ? "waiting in the queue" : "connecting",
		    strerror(err));
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
	session_leave(s, 0);
}

/* ---- content inspection ---- */

static void session_route(struct session *s);

/* The rules ran on what arrived: route, wait for more, or end. */
static void
session_inspect(struct session *s, int final)
{
	const struct acl_rule *rule;
	char why[256];

	switch (session_inspect_step(s, session_route_dst(s), final, &rule, why, sizeof(why))) {
	case ACL_ACTION_WAIT:
		return;
	case ACL_ACTION_REJECT:
		session_close(s, SESS_END_PROXY, 0, "rejected by the tcp-request content rule "
		    "at line %d after %zu bytes", rule->line, s->insp.len);
		return;
	case ACL_ACTION_ACCEPT:
		log_debug("%u: content accepted after %zu bytes", s->id, s->insp.len);
		session_route(s);
		return;
	default:
		session_close(s, SESS_END_CLI_ABORT, 0, "%s", why);
		return;
	}
}

/* Bytes came (edge-triggered: they stay in the socket, so a level
 * watch would fire again at once): the rules run on all of them. */
static void
session_on_inspect(struct session *s, struct session_ev *e)
{
	session_inspect(s, 0);
}

/* The frontend has content rules: run them before routing, on bytes
 * already there, then as more come until inspect-delay is over. */
static void
session_inspect_start(struct session *s)
{
	if (session_inspect_begin(s) == -1) {
		session_close(s, SESS_END_RESOURCE, 0, "out of memory for content inspection");
		return;
	}
	s->insp.t_start = clock_now_us();
	session_set_state(s, SESS_ST_INSPECTING);
	if (s->evs & SESS_EV_C_RD)
		event_del(&s->c_rd.ev);
	session_assign(s, &s->c_rd, s->cfd, EV_READ | EV_ET | EV_PERSIST, session_on_inspect);
	event_add(&s->c_rd.ev, NULL);
	s->evs |= SESS_EV_C_RD;
	session_inspect(s, s->fe->inspect_delay == 0);
	if (s->state == SESS_ST_INSPECTING)
		session_schedule(s);
}

/* The client is known (its PROXY header read, if any). */
static void
session_start(struct session *s)
{
	if (s->fe->tcp_content_rules != NULL)
		session_inspect_start(s);
	else
		session_route(s);
}

/* Choose a backend and a server, then connect or queue (session_route.c
 * decides, the machine acts on it). */
static void
session_route(struct session *s)
{
	enum session_cause cause;
	char why[LOG_REASON_MAX];

	session_set_state(s, SESS_ST_ROUTING);
	switch (session_route_pick(s, &cause, why, sizeof(why))) {
	case SESS_ROUTE_FAILED:
		session_close(s, cause, 0, "%s", why);
		return;
	case SESS_ROUTE_QUEUE_FULL:
		session_set_state(s, SESS_ST_QUEUED);	/* HAProxy's SQ */
		session_close(s, cause, 0, "%s", why);
		return;
	case SESS_ROUTE_QUEUED:
		/* Another thread may give it a slot at once: that news is a
		 * job for this thread, run after this returns. */
		s->t_queued = clock_now_us();
		session_set_state(s, SESS_ST_QUEUED);
		break;
	case SESS_ROUTE_ASSIGNED:
		session_set_state(s, SESS_ST_CONNECTING);
		break;
	}
	if (s->evs & SESS_EV_C_RD)
		event_del(&s->c_rd.ev);
	session_assign(s, &s->c_rd, s->cfd, EV_READ | EV_CLOSED | EV_ET | EV_PERSIST,
	    session_on_client_event);
	if (session_watch(s, &s->c_rd.ev, SESS_EV_C_RD) == 0 && s->state == SESS_ST_CONNECTING)
		session_connect(s);
	else
		session_schedule(s);
}

/* ---- connect and the turn-around ---- */

/*
 * Schedule the next try after a failed one: on another server when it is
 * time to redispatch (at once: that server has not failed), else on the
 * same one after the turn-around.
 */
static void
session_retry(struct session *s, int timed_out)
{
	uint64_t wait = dial_turnaround(timed_out, s->be->to.connect);

	if (session_route_redispatch(s))
		wait = 0;
	if (wait == 0) {
		session_connect(s);
		return;
	}
	session_set_state(s, SESS_ST_TURNAROUND);
	s->retry_at = clock_now_us() + wait;
	session_schedule(s);
}

/* Forget the server socket of a try that failed or timed out. */
static void
session_drop_try(struct session *s)
{
	if (s->evs & SESS_EV_S_WR) {
		event_del(&s->s_wr.ev);
		s->evs &= ~SESS_EV_S_WR;
	}
	if (s->sfd != -1) {
		close(s->sfd);
		s->sfd = -1;
	}
}

/* A try failed with errno err: retry, or give up after the last one. */
static void
session_connect_failed(struct session *s, int err)
{
	char addr[SOCKADDR_STRLEN];
	struct sockaddr_storage ss = { 0 };
	int rel, off;

	session_drop_try(s);
	session_route_try_failed(s);
	backend_server_addr(s->srv, &ss, &rel, &off);
	sockaddr_print((struct sockaddr *)&ss, addr, sizeof(addr));
	if (s->tries > s->be->retries) {
		session_close(s, (err == EMFILE || err == ENFILE || err == ENOBUFS ||
		    err == ENOMEM) ? SESS_END_RESOURCE : SESS_END_SRV_ERROR, 0,
		    "connect to server '%s' (%s) failed after %u tries: %s",
		    s->srv->name, addr, s->tries, strerror(err));
		return;
	}
	log_debug("%u: connect to %s failed (%s)", s->id, addr, strerror(err));
	session_retry(s, 0);
}

/* This try ran out of time: retried at once (it already waited), or the
 * last one ends the session. */
static void
session_connect_timed_out(struct session *s)
{
	char t[32];

	session_drop_try(s);
	if (s->tries <= s->be->retries)
		session_retry(s, 1);
	else
		session_close(s, SESS_END_SRV_TIMEOUT, 0, "timeout connect (%s) to server '%s' "
		    "after %u tries", units_print_time(s->be->to.connect, t, sizeof(t)),
		    s->srv->name, s->tries);
}

/* send-proxy(-v2): the header goes first, before any client byte.
 * Returns 1 when sent, 0 to wait, -1 when the server went away. */
static int
session_send_proxy(struct session *s)
{
	int r;

	if (s->pp_out.buf == NULL && dial_header_build(&s->pp_out, s->srv->send_proxy,
	    (struct sockaddr *)&s->cli, session_route_dst(s)) == -1)
		return -1;
	if ((r = dial_send_header(s->sfd, &s->pp_out)) == 1)
		s->srv_pp_sent = 1;
	return r;
}

/*
 * The try's socket is writable, failed, or has bytes. The watch is for
 * both: libevent reports an error (EPOLLERR, EPOLLHUP) as both, so a
 * socket only writable has connected and needs no getsockopt(SO_ERROR).
 */
static void
session_on_connect(struct session *s, struct session_ev *e)
{
	int err = (e->what & EV_READ) ? dial_result(s->sfd) : 0;

	s->evs &= ~SESS_EV_S_WR;	/* one-shot event */
	if (err != 0) {
		session_connect_failed(s, err);
	} else if (s->srv->send_proxy && !s->srv_pp_sent) {
		switch (session_send_proxy(s)) {
		case 1:
			session_established(s);
			break;
		case 0:
			/* Only writable now: bytes from the server must not
			 * wake us while the header waits for room. */
			session_assign(s, &s->s_wr, s->sfd, EV_WRITE, session_on_connect);
			session_watch(s, &s->s_wr.ev, SESS_EV_S_WR);
			break;
		default:
			session_close(s, SESS_END_SRV_ERROR, 0, "sending the PROXY header to "
			    "server '%s' failed: %s", s->srv->name, strerror(errno));
			break;
		}
	} else {
		session_established(s);
	}
}

/* One connect try to s->srv. */
static void
session_connect(struct session *s)
{
	struct sockaddr_storage to;
	socklen_t tolen;
	int fd;

	s->tries++;
	s->t_try = clock_now_us();
	s->srv_pp_sent = 0;
	dial_header_free(&s->pp_out);	/* a header half sent to a failed server */
	if ((tolen = session_route_addr(s, &to)) == 0) {
		session_connect_failed(s, EADDRNOTAVAIL);
		return;
	}
	fd = dial_start((struct sockaddr *)&to, tolen);
	if (fd == -1 && (errno == EMFILE || errno == ENFILE) &&
	    (fd = worker_spare_take(to.ss_family)) != -1)
		fd = dial_start_with(fd, (struct sockaddr *)&to, tolen);
	if (fd == -1) {
		session_connect_failed(s, errno);
		return;
	}
	s->sfd = fd;
	if (s->be->opts & CONF_OPT_SRVTCPKA)
		dial_keepalive(fd, s->be->tcpka[1].idle, s->be->tcpka[1].intvl, s->be->tcpka[1].cnt);
	session_assign(s, &s->s_wr, fd, EV_READ | EV_WRITE, session_on_connect);
	if (session_watch(s, &s->s_wr.ev, SESS_EV_S_WR) == 0)
		session_schedule(s);
}

/* ---- established: the relay ---- */

static void session_on_io(struct session *s, struct session_ev *e);

static void
session_established(struct session *s)
{
	enum conf_engine engine = session_route_engine(s);
	unsigned int opts = s->be->opts | s->fe->opts;

	s->t_established = s->last_c = s->last_s = clock_now_us();
	/* Drop the connect-phase watchers and arm the relay ones. */
	if (s->evs & SESS_EV_C_RD)
		event_del(&s->c_rd.ev);
	if (s->evs & SESS_EV_S_WR)
		event_del(&s->s_wr.ev);
	s->evs = 0;
	/* EV_CLOSED (EPOLLRDHUP) tells a read that the FIN is in already. */
	session_assign(s, &s->c_rd, s->cfd, EV_READ | EV_CLOSED | EV_PERSIST, session_on_io);
	session_assign(s, &s->c_wr, s->cfd, EV_WRITE | EV_PERSIST, session_on_io);
	session_assign(s, &s->s_rd, s->sfd, EV_READ | EV_CLOSED | EV_PERSIST, session_on_io);
	session_assign(s, &s->s_wr, s->sfd, EV_WRITE | EV_PERSIST, session_on_io);
	/* Reading the client or writing the server moves up; the others down. */
	s->c_rd.flow = s->s_wr.flow = &s->up;
	s->s_rd.flow = s->c_wr.flow = &s->down;
	engine_flow_init(&s->up, s->cfd, s->sfd, engine, opts, 1);
	engine_flow_init(&s->down, s->sfd, s->cfd, engine, opts, 0);
	s->up.flags |= FLOW_F_WANT_READ;
	s->down.flags |= FLOW_F_WANT_READ;
	s->up.pre = s->pp_in;
	if (s->accept_proxy)
		s->up.flags &= ~FLOW_F_CLEAN;	/* its header may have ended mid-segment */
	session_route_shape(s, s->t_established);
	/* Which flows may go to the kernel, and when. A shaped one may not:
	 * user space cannot delay a kernel redirect. */
	engine_policy_init(&s->policy, engine, &s->conf->global,
	    s->shape[SHAPER_UP] != NULL || s->shape[SHAPER_DOWN] != NULL, s->t_established);
	if (engine_policy_never(&s->policy)) {
		s->up.flags |= FLOW_F_USER;
		s->down.flags |= FLOW_F_USER;
	}
	session_set_state(s, SESS_ST_ESTABLISHED);
	session_route_connected(s, s->t_established);
	log_debug("%u: connected to server '%s' after %u tries", s->id, s->srv->name, s->tries);
	session_promote(s);
	session_update_events(s);
}

/* Run one flow and note which sides showed activity. */
void
session_run(struct session *s, struct flow *f)
{
	uint64_t in = f->in, out = f->bytes, now;
	int client_src = f == &s->up, d = client_src ? SHAPER_UP : SHAPER_DOWN;

	if (s->flags & SESS_F_PAUSED)
		return;
	if (engine_run_shaped(f, s->shape[d], &s->tokens_at[d]) == -1) {
		session_close(s, SESS_END_RESOURCE, SESS_CLOSE_RST_CLIENT | SESS_CLOSE_RST_SERVER,
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

/* A readiness event of the relay: run the flow it drives. */
static void
session_on_io(struct session *s, struct session_ev *e)
{
	if (e->what & EV_CLOSED)
		e->flow->flags |= FLOW_F_SRC_HUP;	/* only the read events watch it */
	session_run(s, e->flow);
	session_progress(s);
}

static void
session_want(struct session *s, struct event *ev, unsigned int bit, int want)
{
	if (s->state == SESS_ST_CLOSED)
		return;	/* a watch that failed just now ended it */
	if (want && !(s->evs & bit)) {
		session_watch(s, ev, bit);
	} else if (!want && (s->evs & bit)) {
		event_del(ev);
		s->evs &= ~bit;
	}
}

/* Watch what the flows wait for, and note since when we wait on each side. */
void
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

	session_want(s, &s->c_rd.ev, SESS_EV_C_RD, c_rd);
	session_want(s, &s->c_wr.ev, SESS_EV_C_WR, c_wr);
	session_want(s, &s->s_rd.ev, SESS_EV_S_RD, s_rd);
	session_want(s, &s->s_wr.ev, SESS_EV_S_WR, s_wr);

	if (c_wait != (s->wait_c != 0))
		s->wait_c = c_wait ? (now = clock_now_us()) : 0;
	if (s_wait != (s->wait_s != 0))
		s->wait_s = s_wait ? (now ? now : clock_now_us()) : 0;
	session_schedule(s);
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
 * One side reset and every byte it sent before has been written to the
 * other side: reset that side too, but only once its peer acknowledged
 * those bytes. SO_LINGER 0 discards our unacknowledged send queue, while
 * bytes already in the peer's receive buffer stay readable before its
 * ECONNRESET; so waiting for SIOCOUTQ == 0 is what makes "delivered"
 * true. Polled from the timer (RESETTING): a rare path, bounded in time.
 */
static void
session_forward_reset(struct session *s)
{
	int to_client = (s->flags & SESS_F_SRV_GONE) != 0;
	int fd = to_client ? s->cfd : s->sfd;
	const struct flow *f = to_client ? &s->down : &s->up;
	uint64_t lim_c, lim_s, now = clock_now_us();

	if (s->state != SESS_ST_RESETTING) {
		session_limits(s, &lim_c, &lim_s);	/* of the phase it leaves */
		session_set_state(s, SESS_ST_RESETTING);
		s->flush_until = now + ((to_client ? lim_c : lim_s) ? (to_client ? lim_c : lim_s) :
		    SESS_FLUSH_MAX_US);
		session_want(s, &s->c_rd.ev, SESS_EV_C_RD, 0);
		session_want(s, &s->c_wr.ev, SESS_EV_C_WR, 0);
		session_want(s, &s->s_rd.ev, SESS_EV_S_RD, 0);
		session_want(s, &s->s_wr.ev, SESS_EV_S_WR, 0);
	}
	if (engine_unacked(fd) != 0 && now < s->flush_until) {
		session_schedule(s);
		return;
	}
	session_close(s, to_client ? SESS_END_SRV_ERROR : SESS_END_CLI_ABORT,
	    to_client ? SESS_CLOSE_RST_CLIENT : SESS_CLOSE_RST_SERVER,
	    "%s reset the connection (%s)%s", to_client ? "server" : "client",
	    strerror(f->err ? f->err : (to_client ? s->up.err : s->down.err)),
	    engine_unacked(fd) != 0 ? "; reset forwarded before the last bytes were "
	    "acknowledged" : "");
}

/*
 * After any flow ran: propagate resets, forward FINs, end the session
 * when both directions are done, and watch what is needed next.
 */
void
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
		session_close(s, SESS_END_CLI_ABORT, 0, "both sides reset");
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
			session_close(s, SESS_END_NORMAL, 0, "both sides closed");
			return;
		}
	}
	session_promote(s);
	session_update_events(s);
}

/* ---- timers ---- */

/* Arm the timer if the next deadline is earlier than the armed one.
 * Activity only pushes deadlines later, so a timer armed too early just
 * fires, finds nothing due and re-arms (no event_add per byte). */
static void
session_schedule(struct session *s)
{
	uint64_t now = clock_now_us(), when = session_deadline(s, now);
	struct timeval tv;

	if (s->state == SESS_ST_CLOSED || when == 0 || (s->timer_at != 0 && s->timer_at <= when))
		return;
	when = when > now ? when - now : 0;
	tv.tv_sec = (time_t)(when / 1000000);
	tv.tv_usec = (suseconds_t)(when % 1000000);
	if (evtimer_add(&s->timer.ev, &tv) == -1) {
		/* Its timeouts could never fire: end it rather than let it hang. */
		session_close(s, SESS_END_RESOURCE, SESS_CLOSE_RST_CLIENT | SESS_CLOSE_RST_SERVER,
		    "out of memory arming the session's timer");
		return;
	}
	s->timer_at = now + when;
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

/* What a due rule does. */
static void
session_on_timeout(struct session *s, enum session_timeout why)
{
	uint64_t lim_c, lim_s;
	char t[32];

	switch (why) {
	case SESS_TO_LIFETIME:
		session_close(s, SESS_END_PROXY, 0, "timeout lifetime (%s) reached",
		    units_print_time(session_lifetime(s), t, sizeof(t)));
		break;
	case SESS_TO_HEADER:
		session_close(s, SESS_END_CLI_TIMEOUT, 0, "timeout waiting for the PROXY header "
		    "(%s), %zu bytes received", units_print_time(session_header_timeout(s), t,
		    sizeof(t)), s->pp.len);
		break;
	case SESS_TO_INSPECT:
		session_inspect(s, 1);
		break;
	case SESS_TO_QUEUE:
		session_close(s, SESS_END_SRV_TIMEOUT, 0, "timeout queue (%s): no slot came free "
		    "in backend '%s'", units_print_time(session_queue_timeout(s), t,
		    sizeof(t)), s->be->name);
		break;
	case SESS_TO_CONNECT:
		session_connect_timed_out(s);
		break;
	case SESS_TO_TURNAROUND:
		session_set_state(s, SESS_ST_CONNECTING);
		session_connect(s);
		break;
	case SESS_TO_CLIENT_IDLE:
	case SESS_TO_SERVER_IDLE:
		session_limits(s, &lim_c, &lim_s);
		session_close(s, why == SESS_TO_CLIENT_IDLE ? SESS_END_CLI_TIMEOUT :
		    SESS_END_SRV_TIMEOUT, 0, "%s idle for %s", why == SESS_TO_CLIENT_IDLE ?
		    "client" : "server", units_print_time(why == SESS_TO_CLIENT_IDLE ? lim_c :
		    lim_s, t, sizeof(t)));
		break;
	case SESS_TO_FLUSH:
		session_forward_reset(s);
		break;
	default:
		break;	/* SESS_TO_FLOWS: they ran already */
	}
}

static void
session_on_timer(struct session *s, struct session_ev *e)
{
	uint64_t now = clock_now_us();
	enum session_timeout why = session_expired(s, now);

	s->timer_at = 0;
	if (why != SESS_TO_LIFETIME &&
	    (s->state == SESS_ST_ESTABLISHED || s->state == SESS_ST_HALF_CLOSED)) {
		/* Flows due first: tokens came, or the kernel moved bytes
		 * (which also tells whether a side was really idle). */
		session_run_due(s, now);
		why = s->state == SESS_ST_ESTABLISHED || s->state == SESS_ST_HALF_CLOSED ?
		    session_expired(s, now) : SESS_TO_NONE;
	}
	session_on_timeout(s, why);
	if (s->state != SESS_ST_CLOSED)
		session_schedule(s);
}

/* ---- the end ---- */

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
 * The only way out. cause says why (the termination state's letters are
 * derived from it and from the state it ends in), fmt a sentence for the
 * log; how says which side must see a reset (SESS_CLOSE_*). A side not
 * named gets a plain close(): the callers only do that once its input
 * was read to EOF, or when the session is being aborted anyway
 * (timeouts, stop), where the kernel's reset for unread input is the
 * intended outcome.
 */
void
session_close(struct session *s, enum session_cause cause, unsigned int how,
    const char *fmt, ...)
{
	va_list ap;

	if (s->state == SESS_ST_CLOSED)
		return;
	s->term[0] = session_cause_letter[cause];
	s->term[1] = cause == SESS_END_NORMAL ? '-' : session_phase_letter[s->state];
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
		event_del(&s->c_rd.ev);
	if (s->evs & SESS_EV_C_WR)
		event_del(&s->c_wr.ev);
	if (s->evs & SESS_EV_S_RD)
		event_del(&s->s_rd.ev);
	if (s->evs & SESS_EV_S_WR)
		event_del(&s->s_wr.ev);
	s->evs = 0;
	event_del(&s->timer.ev);

	session_account(s);
	session_log(s);
	persist_untrack(s->sc.e, s->up.bytes, s->down.bytes, clock_now_us());
	free(s->pp.buf);
	s->pp.buf = NULL;
	session_inspect_end(s);
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

/* Free a closed session, once whoever closed it is done with it: only
 * from session_call() and session_leave(). */
static void
session_settle(struct session *s)
{
	unsigned int left;

	if (s->state != SESS_ST_CLOSED)
		return;
	if (s->srv != NULL)
		backend_release(s->be, s->srv);	/* may start a queued session */
	left = session_list_remove(s);
	listener_release(s->l, s->fe);
	conf_release(s->conf);
	free(s);
	if (left == 0)
		worker_idle();
}

/* Every libevent callback of a session: run its handler, then free the
 * session if that ended it (Redis's callHandler()). */
static void
session_call(evutil_socket_t fd, short what, void *arg)
{
	struct session_ev *e = arg;
	struct session *s = e->s;

	e->what = what;
	e->fn(s, e);
	session_settle(s);
}

/* Every other way into a session (a job, a verb, accept, a stop) leaves
 * through here: rc is passed through. */
int
session_leave(struct session *s, int rc)
{
	session_settle(s);
	return rc;
}
