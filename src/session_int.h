/*
 * The inside of the session module, shared by its files only: the
 * machine (session.c), its routing (session_route.c), content inspection
 * (session_inspect.c), its timeouts (session_timeout.c), what the rest
 * of the process sees of a session (session_info.c: the tcplog line,
 * the "show sess" meter, the byte counters), the per-worker lists
 * (session_list.c) and the admin orders (session_admin.c). Calls go one
 * way: session_admin.c -> session.c -> session_route.c, session_inspect.c,
 * session_timeout.c, session_list.c -> session_info.c; none of those
 * calls back into the machine (tests/check_layers.py).
 * Everything else includes session.h only.
 */
#ifndef SPLICER_SESSION_INT_H
#define SPLICER_SESSION_INT_H

#include <stdint.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <event2/event_struct.h>

#include "backend.h"
#include "dial.h"
#include "engine.h"
#include "log.h"
#include "persist.h"
#include "proxy_proto.h"
#include "session.h"
#include "shaper.h"
#include "worker.h"

enum session_state {
	SESS_ST_ACCEPTED,	/* client taken, nothing read yet */
	SESS_ST_PROXY_HEADER,	/* accept-proxy: reading the client's PROXY header */
	SESS_ST_INSPECTING,	/* tcp-request content rules read the first bytes
				 * (peeked: they stay in the socket) */
	SESS_ST_ROUTING,	/* the client is known, its PROXY header read if any:
				 * choosing a backend and a server */
	SESS_ST_QUEUED,		/* every server is full: waiting for a slot */
	SESS_ST_CONNECTING,	/* dialing a server */
	SESS_ST_TURNAROUND,	/* a try failed: waiting out the turn-around before
				 * the next (HAProxy's SC_ST_TAR) */
	SESS_ST_ESTABLISHED,	/* both sockets connected, both flows open */
	SESS_ST_HALF_CLOSED,	/* one flow finished: its FIN was forwarded */
	SESS_ST_RESETTING,	/* one side reset: its bytes delivered, waiting for the
				 * peer's ACKs before resetting it */
	SESS_ST_CLOSED,		/* ended and logged; freed on the way out */
	SESS_ST_COUNT
};

/* For traces and "show sess" (session_info.c). */
extern const char *const session_state_names[SESS_ST_COUNT];

/*
 * Why a session ended. The first letter of the termination state is the
 * cause's (HAProxy's sess_term_cond), the second the phase it ended in,
 * derived from its state (sess_fin_state): "--" for a normal end.
 */
enum session_cause {
	SESS_END_NORMAL,	/* both sides closed */
	SESS_END_CLI_TIMEOUT,	/* the client stayed silent too long */
	SESS_END_CLI_ABORT,	/* the client closed or reset */
	SESS_END_SRV_TIMEOUT,	/* the server (or the queue) took too long */
	SESS_END_SRV_ERROR,	/* the server refused, reset or failed */
	SESS_END_PROXY,		/* our rules ended it: routing, lifetime, a bad header */
	SESS_END_RESOURCE,	/* out of fds or memory, an engine failed */
	SESS_END_KILLED,	/* stopped from outside: admin, stop */
	SESS_END_COUNT
};

/*
 * The deadlines a state can have, each stated once (session_rule_at),
 * and for each state those that apply, in the order they win when
 * several are due at once.
 */
enum session_timeout {
	SESS_TO_NONE,
	SESS_TO_LIFETIME,	/* timeout lifetime since accept */
	SESS_TO_HEADER,		/* accept-proxy: the header is late */
	SESS_TO_INSPECT,	/* tcp-request inspect-delay is over */
	SESS_TO_QUEUE,		/* timeout queue */
	SESS_TO_CONNECT,	/* timeout connect of this try */
	SESS_TO_TURNAROUND,	/* the next try is due */
	SESS_TO_CLIENT_IDLE,	/* nothing from or to the client for too long */
	SESS_TO_SERVER_IDLE,	/* nothing from or to the server for too long */
	SESS_TO_FLOWS,		/* a flow's tokens are due, or a kernel flow is polled */
	SESS_TO_FLUSH,		/* a forwarded reset looks at the ACKs again */
	SESS_TO_COUNT
};

/* Session flags. */
#define SESS_F_CLI_GONE		0x02	/* the client reset */
#define SESS_F_SRV_GONE		0x04	/* the server reset */
#define SESS_F_DST_KNOWN	0x10	/* s->dst holds the address the client reached */
/* Stopped from the admin socket: no flow runs. A flag, not a state:
 * pausing is an overlay on a running session (ESTABLISHED, HALF_CLOSED,
 * RESETTING), which keeps its phase and goes on from it when resumed. */
#define SESS_F_PAUSED		0x20

/* While a forwarded reset waits for the peer to acknowledge our last
 * bytes, the timer looks again every 10 ms; the wait is bounded by that
 * side's idle timeout, or by 10 s when it has none. */
#define SESS_FLUSH_POLL_US	10000
#define SESS_FLUSH_MAX_US	10000000

/* Which events are added (s->evs). */
#define SESS_EV_C_RD	0x01
#define SESS_EV_C_WR	0x02
#define SESS_EV_S_RD	0x04
#define SESS_EV_S_WR	0x08

/* How session_close() closes each socket. */
#define SESS_CLOSE_RST_CLIENT	0x1	/* SO_LINGER 0: the client sees a reset */
#define SESS_CLOSE_RST_SERVER	0x2	/* SO_LINGER 0: the server sees a reset */

/* The request's first bytes as content rules see them: a copy of what
 * waits in the client socket (MSG_PEEK), bounded as HAProxy's buffer. */
#define SESS_INSPECT_MAX 16384

struct session_inspect {
	uint8_t *buf;			/* SESS_INSPECT_MAX bytes, NULL when not inspecting */
	size_t len;			/* bytes peeked */
	int shut;			/* the client shut its side (or reset) */
	uint64_t t_start;		/* monotonic us: inspection began */
};

struct session;

/* One of the session's events and what it runs, through session_call(). */
struct session_ev {
	struct event ev;
	struct session *s;
	void (*fn)(struct session *s, struct session_ev *e);
	struct flow *flow;		/* the relay's I/O events: the flow it drives */
	short what;			/* EV_* of the call in progress (session_call) */
};

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
	unsigned int so_id;		/* its bind line's id (so_id) */
	struct conf_proxy *fe;		/* its frontend */
	struct conf_proxy *be;		/* its backend */
	struct conf_server *srv;	/* its server (holding a slot), NULL until chosen */
	struct backend_waiter waiter;	/* its place in the backend's queue */
	struct persist_sc sc;		/* the stick-table entries it tracks */
	struct worker_job dequeued;	/* QUEUED: a slot was given, posted to its worker */

	int cfd;			/* client socket, -1 once closed */
	int sfd;			/* server socket, -1 while none */
	struct sockaddr_storage cli;	/* client address (from its PROXY header if any) */
	struct sockaddr_storage dst;	/* address it reached (SESS_F_DST_KNOWN) */
	struct pp_reader pp;		/* accept-proxy: the header coming in (buf NULL
					 * when none is read) */
	size_t pp_in;			/* accept-proxy: the header's length */
	struct dial_header pp_out;	/* send-proxy: the header going out */
	struct session_inspect insp;	/* tcp-request content: the bytes peeked */

	struct flow up;			/* client -> server */
	struct flow down;		/* server -> client */
	struct shaper_flow *shape[2];	/* buckets of up, down (SHAPER_UP/DOWN); NULL: none */
	uint64_t tokens_at[2];		/* monotonic us: a flow short of tokens asks again */
	struct engine_policy policy;	/* when its flows go to the kernel */
	struct {
		uint64_t at, bytes;	/* start of the current second, bytes then */
		uint64_t bps;		/* bits/s over the last full second */
	} meter[2];			/* up, down: for "show sess" */

	struct session_ev c_rd;		/* client readable (dialing: edge-triggered watch) */
	struct session_ev c_wr;		/* client writable */
	struct session_ev s_rd;		/* server readable */
	struct session_ev s_wr;		/* server writable (CONNECTING: connect done) */
	struct session_ev timer;	/* the earliest deadline */
	unsigned int evs;		/* SESS_EV_* added */

	struct timeval accept_date;	/* wall clock at accept, for the log */
	uint64_t t_accept;		/* monotonic us: accepted */
	uint64_t t_queued;		/* monotonic us: entered the queue, 0 = never */
	uint64_t t_dequeued;		/* monotonic us: left it with a slot */
	uint64_t t_try;			/* monotonic us: current connect try started */
	uint64_t t_established;		/* monotonic us: connected, 0 before */
	uint64_t retry_at;		/* monotonic us: TURNAROUND ends then */
	uint64_t last_c, last_s;	/* monotonic us: last byte to or from each side */
	uint64_t wait_c, wait_s;	/* monotonic us: since when we wait on each side, 0 = not */
	uint64_t timer_at;		/* monotonic us: when the timer fires, 0 = not armed */
	uint64_t flush_until;		/* monotonic us: RESETTING gives up waiting then */
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

/* Every worker's sessions (session_list.c), indexed by worker id. */
extern struct session_list session_lists[WORKER_MAX];

/* ---- session_inspect.c: content inspection, for the machine ---- */

/* Room for the bytes; 0, or -1 when out of memory. */
int session_inspect_begin(struct session *s);

/*
 * Peek at what arrived and run the frontend's content rules (dst: the
 * address the client reached): final when inspect-delay is over (or
 * there is none). Returns ACL_ACTION_ACCEPT,
 * ACL_ACTION_REJECT (*rule the one that rejected) or ACL_ACTION_WAIT, or
 * -1 when the client reset (why says so).
 */
struct acl_rule;
int session_inspect_step(struct session *s, const struct sockaddr *dst, int final,
    const struct acl_rule **rule, char *why, size_t len);

/* What fetches see of s (ctx's dst from dst), peeked bytes included. */
struct sample_ctx;
void session_inspect_ctx(const struct session *s, const struct sockaddr *dst,
    struct sample_ctx *ctx);

/* The bytes are no longer needed. */
void session_inspect_end(struct session *s);

/* ---- session_route.c: where it goes, on what terms ---- */

/* What routing decided. */
enum session_route {
	SESS_ROUTE_ASSIGNED,	/* s->srv holds a slot: connect */
	SESS_ROUTE_QUEUED,	/* s->waiter waits for one in a queue */
	SESS_ROUTE_QUEUE_FULL,	/* its server is full and so is that server's
				 * queue: HAProxy's SQ (why, cause set) */
	SESS_ROUTE_FAILED,	/* no backend, no server (why, cause set) */
};

/* The address the client reached (from its PROXY header, or the socket's). */
const struct sockaddr *session_route_dst(struct session *s);

/* Choose s->be and s->srv, or queue s (s->dequeued is posted to its
 * worker once a slot is given). */
enum session_route session_route_pick(struct session *s, enum session_cause *cause,
    char *why, size_t len);

/* After a failed try: 1 when s moved to another server (try it at once),
 * 0 to stay on s->srv. */
int session_route_redispatch(struct session *s);

/* Where s->srv is, in to: a server without a port, or with "+N" or "-N",
 * takes the client's destination port (plus N), as in HAProxy. Returns
 * the address's length, 0 when that port is out of range. */
socklen_t session_route_addr(struct session *s, struct sockaddr_storage *to);

/* What a try tells s->srv's counters: it failed (observe layer4), or it
 * connected (and stick store-request remembers the server). */
void session_route_try_failed(struct session *s);
void session_route_connected(struct session *s, uint64_t now);

/* The engine of its flows; the bandwidth limits that apply to them (a
 * shaped flow starts with nothing to read until its buckets grant it). */
enum conf_engine session_route_engine(const struct session *s);
void session_route_shape(struct session *s, uint64_t now);

/* ---- session.c: the machine, for the admin orders ---- */

/* Is it relaying: both sockets connected, its flows set up? */
static inline int
session_relays(const struct session *s)
{
	return s->state == SESS_ST_ESTABLISHED || s->state == SESS_ST_HALF_CLOSED ||
	    s->state == SESS_ST_RESETTING;
}

/* Run one flow, then what follows from it (FINs, resets, the end, the
 * events to watch); session_update_events() alone re-reads what the
 * flows wait for. */
void session_run(struct session *s, struct flow *f);
void session_progress(struct session *s);
void session_update_events(struct session *s);

/* The only way out (see session.c); how: SESS_CLOSE_*. */
void session_close(struct session *s, enum session_cause cause, unsigned int how,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Every way into a session but its own events leaves through here: it
 * frees s if it ended, and passes rc through. */
int session_leave(struct session *s, int rc);

/* ---- session_timeout.c: the deadlines, each stated once ---- */

/* Idle limits of each side in the current state (us, 0 = none). */
void session_limits(const struct session *s, uint64_t *lim_c, uint64_t *lim_s);

/* How long accept-proxy waits for the header; timeout queue as it
 * applies; timeout lifetime as it applies (us). */
uint64_t session_header_timeout(const struct session *s);
uint64_t session_queue_timeout(const struct session *s);
uint64_t session_lifetime(const struct session *s);

/* The next instant something must happen in s's state, 0 for none; the
 * first rule of its state due at now, in the order they win. */
uint64_t session_deadline(const struct session *s, uint64_t now);
enum session_timeout session_expired(const struct session *s, uint64_t now);

/* ---- session_info.c: what the rest of the process sees ---- */

/* Keep flow d's rate over the last full second (show sess); count n
 * bytes delivered by flow d for "show stat" (d: 0 up, 1 down). */
void session_meter(struct session *s, int d, uint64_t bytes, uint64_t now);
void session_count_bytes(struct session *s, int d, uint64_t n);

/* The tcplog line of an ended session (log.c formats it). */
void session_log(struct session *s);
void session_account(struct session *s);

/* What "show sess" and the orders see of s. */
void session_info_fill(const struct session *s, uint64_t now, struct session_info *i);

/* ---- session_list.c: the per-worker lists ---- */

/* Count s in list (newest first); take an ended s out of its list,
 * adding what it carried to the list's counters. Returns the sessions
 * left in the list. */
void session_list_add(struct session *s, struct session_list *list);
unsigned int session_list_remove(struct session *s);

/* The calling worker's newest session, NULL when it has none. */
struct session *session_list_head(void);

#endif
