/*
 * ratelimit: GCRA. An event at `now` conforms when tat - now <= burst;
 * taking it moves tat one interval further (from now if tat is past).
 */
#include "config.h"

#include "ratelimit.h"

void
ratelimit_init(struct ratelimit *r, uint64_t rate, uint64_t burst)
{
	r->interval = rate ? 1000000 / rate : 0;
	if (r->interval == 0)
		r->interval = 1;
	r->burst = (burst > 1 ? burst - 1 : 0) * r->interval;
	r->tat = 0;
}

uint64_t
ratelimit_wait(const struct ratelimit *r, uint64_t now)
{
	if (r->tat <= now + r->burst)
		return 0;
	return r->tat - now - r->burst;
}

void
ratelimit_take(struct ratelimit *r, uint64_t now)
{
	r->tat = (r->tat > now ? r->tat : now) + r->interval;
}
