/*
 * session: one client connection and its upstream connection, from
 * accept to the log line. The state machine itself is private to
 * session.c; this is what the rest of the process may ask of it.
 */
#ifndef SPLICER_SESSION_H
#define SPLICER_SESSION_H

#include <stdint.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "engine.h"

struct conf_proxy;
struct conf_server;
struct listener_client;
struct session;
struct worker;

/*
 * Take over a client just accepted (the listener's on_client hook):
 * choose a server, dial it and relay until both sides are done. The
 * session owns c->fd from here on, whatever happens, and gives c->l's
 * slot back when it ends.
 */
void session_accept(const struct listener_client *c);

/* Sessions in progress on the calling worker thread. */
unsigned int session_count(void);

/* Sessions in progress on worker wid, and on every worker (any thread). */
unsigned int session_live(unsigned int wid);
unsigned int session_live_all(void);

/* Per-worker counters: written by their worker only, summed when read. */
struct session_stats {
	uint64_t sessions;		/* sessions accepted */
	uint64_t bytes_up;		/* bytes client -> server of ended sessions */
	uint64_t bytes_down;		/* bytes server -> client of ended sessions */
	uint64_t by_engine[ENGINE_COUNT];	/* ended established sessions by engine: a
					 * flow in the kernel counts as sockmap, else
					 * one that copied as copy */
};

/* The counters of worker wid, and their sum over every worker (any
 * thread). */
void session_stats_of(unsigned int wid, struct session_stats *st);
void session_sum_stats(struct session_stats *st);

/* A session as "show sess" prints it. */
struct session_info {
	unsigned int id;
	const char *frontend;
	const struct conf_proxy *fe;	/* of the configuration the session started with */
	const char *backend;		/* NULL before one is chosen */
	const struct conf_server *server;	/* NULL before one is chosen */
	const struct sockaddr_storage *cli;
	const struct sockaddr_storage *srv_addr;	/* NULL before a server is chosen */
	const char *state;		/* "established", ... */
	char engine[32];		/* "splice", "splice/sockmap", "-" */
	int flow_engine[2];		/* up, down: enum engine_id; -1 before established */
	int running;			/* relaying (established, half-closed or
					 * resetting), paused or not */
	uint64_t age_us, idle_us;
	uint64_t bytes[2];		/* up (client -> server), down */
	uint64_t bps[2];		/* bits/s over the last second */
};

/* Call cb for each live session of w. Only while every worker is parked
 * (worker_isolate): the sessions are w's own. */
void session_foreach(struct worker *w, void (*cb)(const struct session_info *i, void *arg),
    void *arg);

/*
 * A walk over one worker's sessions in batches, each run on that worker
 * (a job), so that no other thread waits for the whole list. Start from
 * a zeroed cursor; session_walk() calls cb for up to max more sessions
 * and sets c->done after the last. Sessions that start during the walk
 * are not seen; one that ends is simply not seen again.
 */
struct session;
struct session_cursor {
	unsigned int last_id;		/* the last session seen, 0 before the first */
	const struct session *next;	/* the next one, if the worker freed none since */
	uint64_t freed;			/* the worker's count of freed sessions then */
	int done;
};

/* On the worker's own thread. Returns the sessions seen. */
unsigned int session_walk(struct session_cursor *c, unsigned int max,
    void (*cb)(const struct session_info *i, void *arg), void *arg);

/*
 * The admin socket's verbs. Each runs on the session's own worker thread
 * (admin_sess.c posts a worker_job there) and may end the session: s must not
 * be used after the call, which frees a session it closed on the way
 * out, never under the caller.
 */

/* The calling worker's live session id, or NULL. */
struct session *session_find(unsigned int id);

/* End it now (termination state K + its phase), both sides reset; why
 * is the reason logged. */
void session_shutdown(struct session *s, const char *why);

/* paused != 0: no byte moves either way until resumed (-1: not
 * established or half-closed); 0: resume (-1: it was not paused). */
int session_pause(struct session *s, int paused);

/* Shape direction dir (SHAPER_UP or SHAPER_DOWN) at bps bits/s from now
 * on. -1 when it could not be (a flow in the kernel, no memory): the
 * reason is logged. */
int session_set_rate(struct session *s, int dir, uint64_t bps);

/* Close every session of the calling worker at once, logging `reason`
 * (stop, hard-stop-after). */
void session_kill_all(const char *reason);

#endif
