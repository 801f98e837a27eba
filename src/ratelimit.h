/*
 * ratelimit: events per second with a burst, as a GCRA (the "virtual
 * scheduling" form of a token bucket): one timestamp of state, exact,
 * and the clock is a parameter so tests drive it.
 */
#ifndef SPLICER_RATELIMIT_H
#define SPLICER_RATELIMIT_H

#include <stdint.h>

struct ratelimit {
	uint64_t interval;	/* us between events at the steady rate (1e6 / rate) */
	uint64_t burst;		/* us of credit: (burst events - 1) * interval */
	uint64_t tat;		/* theoretical arrival time of the next event, us */
};

/* rate events per second, up to `burst` of them at once (>= 1). */
void ratelimit_init(struct ratelimit *r, uint64_t rate, uint64_t burst);

/* 0 when an event may happen at `now` (us), else the us to wait. Takes
 * nothing. */
uint64_t ratelimit_wait(const struct ratelimit *r, uint64_t now);

/* Record one event at `now` (call after ratelimit_wait() said 0). */
void ratelimit_take(struct ratelimit *r, uint64_t now);

#endif
