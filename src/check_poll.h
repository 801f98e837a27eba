/*
 * check_poll: one epoll set for the sockets of every health check, drained
 * on a tick of HEALTH_TICK_US while any check is in flight.
 *
 * At a thousand checks a second the cost of a check is mostly the kernel's,
 * and of what remains the largest part is waking up: one wake-up per answer
 * when each socket is watched by the event loop. Drained on a tick, the
 * answers of every check in flight are taken in one wake-up, on the same
 * grid as the checks' own timers (health.c), so that at most one wake-up in
 * a tick serves both; a check's result is at most one tick late. The set is
 * the checks' own, so a socket leaves it when it is closed, without an
 * epoll_ctl of its own.
 */
#ifndef SPLICER_CHECK_POLL_H
#define SPLICER_CHECK_POLL_H

#include <stdint.h>
#include <sys/time.h>

#include <event2/event.h>

/* The grid timers end on, in us. */
#define HEALTH_TICK_US 10000

/* Flags handed to a socket's callback: EV_READ, EV_WRITE, and this one
 * when the kernel reported an error (EPOLLERR or EPOLLHUP). */
#define CHECK_POLL_ERR 0x1000

typedef void check_poll_fn(void *arg, short what);

/* A watched socket; embedded in its owner. */
struct check_poll_watch {
	check_poll_fn *fn;
	void *arg;
	int fd;			/* -1 while none */
	uint32_t epoch;		/* the drain it was added during */
};

/* The wait from now to the first grid point at least us away. */
struct timeval check_poll_grid(uint64_t us);

/* Watch fd, edge-triggered both ways, until check_poll_close(): fn(arg,
 * what) is called from the tick. Returns 0, or -1 with errno set (fd is
 * the caller's still). */
int check_poll_add(struct event_base *base, struct check_poll_watch *w, int fd,
    check_poll_fn *fn, void *arg);

/* Close w's socket, which leaves the set with it; no callback comes for
 * it after this, even from the drain in progress. */
void check_poll_close(struct check_poll_watch *w);

/* Take every edge that came now, without waiting for the tick (a check's
 * deadline is judged on what did come). */
void check_poll_drain(void);

/* At exit: close the set. */
void check_poll_stop(void);

#endif
