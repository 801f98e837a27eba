/*
 * check_poll: the health checks' own epoll set, drained on a tick (see
 * check_poll.h).
 */
#include "config.h"

#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <event2/event_struct.h>

#include "check_poll.h"
#include "clock.h"

static int poll_fd = -1;
static struct event poll_tick;
static int poll_tick_set;
static unsigned int poll_watched;	/* sockets in the set */
static uint32_t poll_epoch;		/* drains so far */
static int poll_draining;

struct timeval
check_poll_grid(uint64_t us)
{
	uint64_t now = clock_now_us(), at = (now + us + HEALTH_TICK_US - 1) / HEALTH_TICK_US *
	    HEALTH_TICK_US;
	struct timeval tv = { (time_t)((at - now) / 1000000), (suseconds_t)((at - now) % 1000000) };

	return tv;
}

static void
check_poll_arm(void)
{
	struct timeval tv = check_poll_grid(1);

	evtimer_add(&poll_tick, &tv);
}

static void
check_poll_on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	check_poll_drain();
	if (poll_watched > 0)
		check_poll_arm();
}

void
check_poll_drain(void)
{
	struct epoll_event evs[256];
	int n;

	if (poll_fd == -1 || poll_draining)
		return;
	poll_draining = 1;
	do {
		/* A socket added from now on cannot be one of these events:
		 * an event for its watch is its old socket's. */
		poll_epoch++;
		n = epoll_wait(poll_fd, evs, (int)(sizeof(evs) / sizeof(*evs)), 0);
		for (int i = 0; i < n; i++) {
			struct check_poll_watch *w = evs[i].data.ptr;
			uint32_t e = evs[i].events;
			short what = (short)((e & EPOLLIN ? EV_READ : 0) | (e & EPOLLOUT ? EV_WRITE : 0));

			if (w->fd == -1 || w->epoch == poll_epoch)
				continue;
			if (e & (EPOLLERR | EPOLLHUP))
				what |= EV_READ | EV_WRITE | CHECK_POLL_ERR;
			w->fn(w->arg, what);
		}
	} while (n == (int)(sizeof(evs) / sizeof(*evs)));
	poll_draining = 0;
}

int
check_poll_add(struct event_base *base, struct check_poll_watch *w, int fd, check_poll_fn *fn,
    void *arg)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLET, .data.ptr = w };

	if (poll_fd == -1) {
		if ((poll_fd = epoll_create1(EPOLL_CLOEXEC)) == -1)
			return -1;
		evtimer_assign(&poll_tick, base, check_poll_on_tick, NULL);
		poll_tick_set = 1;
	}
	if (epoll_ctl(poll_fd, EPOLL_CTL_ADD, fd, &ev) == -1)
		return -1;
	w->fn = fn;
	w->arg = arg;
	w->fd = fd;
	w->epoch = poll_epoch;
	if (poll_watched++ == 0)
		check_poll_arm();
	return 0;
}

void
check_poll_close(struct check_poll_watch *w)
{
	if (w->fd == -1)
		return;
	close(w->fd);
	w->fd = -1;
	poll_watched--;
}

void
check_poll_stop(void)
{
	if (poll_tick_set)
		evtimer_del(&poll_tick);
	poll_tick_set = 0;
	if (poll_fd != -1)
		close(poll_fd);
	poll_fd = -1;
	poll_watched = 0;
}
