/*
 * worker: the threads that carry sessions.
 *
 * "nbthread N" starts N workers. Each has its own event_base, its own
 * SO_REUSEPORT listening sockets (listener.c) and its own pipe pool; a
 * session is accepted, relayed and freed on one worker and never moves.
 * The main thread is the control thread: signals, health checks and
 * reloads; it carries no session.
 *
 * Threads meet in three places only, none of them per byte:
 *  - jobs: a thread posts a job to a worker (a queued session got a
 *    server slot) and wakes it through an eventfd;
 *  - flags: "resume your listeners", "stop", "drain", set atomically
 *    with the same wake-up;
 *  - isolation: the control thread parks every worker in its wake
 *    handler, changes shared state (a reload) while no worker runs, and
 *    lets them go.
 */
#ifndef SPLICER_WORKER_H
#define SPLICER_WORKER_H

#include <pthread.h>
#include <stdint.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#include "pipe_pool.h"

/* A worker thread; private to worker.c. */
struct worker;

/* Most worker threads. */
#define WORKER_MAX 64

/* Wake-up flags (worker.flags). */
#define WORKER_F_RESUME	0x1	/* a limit freed up: try the paused listeners */
#define WORKER_F_DRAIN	0x2	/* graceful stop: close listeners, end when idle */
#define WORKER_F_KILL	0x4	/* stop now: close every session */
#define WORKER_F_SYNC	0x8	/* listeners changed (reload): arm and close */

/* A deferred call run on a worker's own thread. */
struct worker_job {
	struct worker_job *next;
	int posted;			/* in an inbox (under the worker's lock) */
	void (*run)(struct worker_job *j);
};

/*
 * What a worker's wake-ups do. The worker is the bottom of the run-time
 * stack: it knows neither listeners nor sessions, and reaches them only
 * through these, set once by main.c in worker_init().
 */
struct worker_hooks {
	void (*sync)(void);		/* WORKER_F_SYNC and thread start: watch its listeners */
	void (*stop_accepting)(void);	/* DRAIN, KILL, loop end: close its listeners */
	void (*resume)(void);		/* WORKER_F_RESUME: resume paused listeners */
	void (*kill)(const char *reason);	/* WORKER_F_KILL, loop end: close its sessions */
	unsigned int (*live)(void);	/* its live sessions: a drain ends at 0 */
};

/* The worker running on this thread, NULL on the control thread. */
struct worker *worker_self(void);

/*
 * The spare socket: each worker holds one unconnected IPv4 TCP socket so
 * that a client it accepted can always get its server socket, even when
 * accept() took the last fd (and no other thread can take that fd in
 * between, as it could if a spare fd were closed to make room).
 * worker_spare_hold() (before accepting) makes sure it is held and
 * returns 0 when no fd is left for it. worker_spare_take(family) (a dial
 * found no fd) hands it over, or for another family closes it and makes
 * a socket of that family in its place; -1 when there is none.
 */
int worker_spare_hold(void);
int worker_spare_take(int family);

/* Threads for "nbthread n": n, or the CPUs online when 0, at most
 * WORKER_MAX. */
unsigned int worker_wanted(unsigned int n);

/*
 * Create n workers (event bases, eventfds, pipe pools); threads are not
 * started yet. hooks is copied. Returns the count, or -1.
 */
int worker_init(unsigned int n, struct event_base *control, const struct worker_hooks *hooks);

unsigned int worker_count(void);
struct worker *worker_get(unsigned int i);

/* What others may know of a worker: its index (0 .. nbthread-1), its
 * event loop and its pipe pool. */
unsigned int worker_id(const struct worker *w);
struct event_base *worker_base(const struct worker *w);
struct pipe_pool *worker_pool(struct worker *w);

/* Listeners of w paused for a limit shared with other workers: counted
 * up and down by listener.c (any thread), read to know whom to wake. */
void worker_note_paused(struct worker *w, int delta);
int worker_has_paused(const struct worker *w);

/* Start the threads; each makes its share of `prealloc` pipes, then runs
 * its loop until stopped. */
int worker_start(unsigned int prealloc);

/* Post a job to w; run soon on w's thread, in posting order. */
void worker_post(struct worker *w, struct worker_job *j);

/* Take back a job not run yet; returns 1 if it was still posted. */
int worker_unpost(struct worker *w, struct worker_job *j);

/* Set flags on w and wake it. */
void worker_signal(struct worker *w, unsigned int flags);

/* Set flags on every worker and wake them all. */
void worker_signal_all(unsigned int flags);

/*
 * Control thread: park every worker (each returns from epoll and waits
 * in its wake handler), so that shared state can change; then let them
 * go. Workers run their WORKER_F_SYNC work before anything else.
 */
void worker_isolate(void);
void worker_release(void);

/* Control thread: cb runs on the control loop each time a worker's loop
 * ended. */
void worker_on_exit(void (*cb)(void));

/* Why WORKER_F_KILL kills sessions (set before signalling). */
void worker_set_kill_reason(const char *reason);

/* Own thread: end this worker's loop once it has no session (drain). */
void worker_idle(void);

/* Wait for every thread and free the workers. */
void worker_join_all(void);
void worker_free_all(void);

/* Sum of every worker's pool statistics. */
void worker_sum_pools(struct pipe_pool_stats *ps);

#endif
