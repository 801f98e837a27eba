/*
 * heartbeat: one job per worker (see heartbeat.h). The job is never
 * posted twice: while it waits, posted_us keeps the time it was posted,
 * so that the lateness grows until the worker runs it.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>

#include "clock.h"
#include "heartbeat.h"
#include "worker.h"

struct heartbeat_slot {
	struct worker_job job;		/* first: the job is the slot */
	struct worker *w;
	uint64_t posted_us;		/* control thread */
	unsigned int pending;		/* posted, not run yet: atomic */
};

static struct heartbeat_slot heartbeat_slots[WORKER_MAX];
static unsigned int heartbeat_n;
static struct event *heartbeat_ev;
static int heartbeat_stopped;

/* On the worker's thread. */
static void
heartbeat_run(struct worker_job *j)
{
	struct heartbeat_slot *h = (struct heartbeat_slot *)j;

	__atomic_store_n(&h->pending, 0, __ATOMIC_RELEASE);
}

static void
heartbeat_post(void)
{
	for (unsigned int i = 0; i < heartbeat_n; i++) {
		struct heartbeat_slot *h = &heartbeat_slots[i];

		if (__atomic_load_n(&h->pending, __ATOMIC_ACQUIRE))
			continue;
		h->posted_us = clock_now_us();
		__atomic_store_n(&h->pending, 1, __ATOMIC_RELEASE);
		worker_post(h->w, &h->job);
	}
}

static void
heartbeat_on_timer(evutil_socket_t fd, short what, void *arg)
{
	if (!heartbeat_stopped)
		heartbeat_post();
}

int
heartbeat_start(struct event_base *base)
{
	struct timeval tv = { HEARTBEAT_EVERY_US / 1000000, HEARTBEAT_EVERY_US % 1000000 };

	heartbeat_n = worker_count();
	for (unsigned int i = 0; i < heartbeat_n; i++) {
		heartbeat_slots[i].w = worker_get(i);
		heartbeat_slots[i].job.run = heartbeat_run;
	}
	if ((heartbeat_ev = event_new(base, -1, EV_PERSIST, heartbeat_on_timer, NULL)) == NULL ||
	    event_add(heartbeat_ev, &tv) == -1)
		return -1;
	heartbeat_post();
	return 0;
}

void
heartbeat_stopping(void)
{
	heartbeat_stopped = 1;
}

int
heartbeat_ok(char *why, size_t len)
{
	uint64_t now = clock_now_us();

	if (heartbeat_stopped)
		return 1;
	for (unsigned int i = 0; i < heartbeat_n; i++) {
		const struct heartbeat_slot *h = &heartbeat_slots[i];
		uint64_t late = now - h->posted_us;

		if (__atomic_load_n(&h->pending, __ATOMIC_ACQUIRE) && late > HEARTBEAT_LATE_US) {
			snprintf(why, len, "worker thread %u has not run its event loop for %.1f s",
			    worker_id(h->w), (double)late / 1e6);
			return 0;
		}
	}
	return 1;
}

int
heartbeat_alive(void)
{
	char why[128];

	return heartbeat_ok(why, sizeof(why));
}

void
heartbeat_stop(void)
{
	if (heartbeat_ev != NULL)
		event_free(heartbeat_ev);
	heartbeat_ev = NULL;
	for (unsigned int i = 0; i < heartbeat_n; i++) {
		if (__atomic_load_n(&heartbeat_slots[i].pending, __ATOMIC_ACQUIRE))
			(void)worker_unpost(heartbeat_slots[i].w, &heartbeat_slots[i].job);
	}
	heartbeat_n = 0;
}
