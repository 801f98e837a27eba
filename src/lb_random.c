/*
 * lb_random: balance random[(N)]. N weighted random draws (2 by default,
 * the "power of two choices"), the least loaded per unit of weight wins.
 * A full server is never drawn.
 */
#include "config.h"

#include <stdint.h>

#include "lb.h"

static uint64_t lb_random_state = 0x9e3779b97f4a7c15ULL;

void
lb_random_seed(unsigned long long seed)
{
	lb_random_state = seed ? seed : 0x9e3779b97f4a7c15ULL;
}

/* xorshift64*: fast, no lock, good enough to spread sessions. */
static uint64_t
lb_random_next(void)
{
	uint64_t x = lb_random_state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	lb_random_state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static struct conf_server *
lb_random_pick(struct conf_proxy *be, struct conf_server **cand, unsigned int n,
    const struct sockaddr *cli)
{
	struct conf_server *best = NULL;
	uint64_t total = 0;

	for (unsigned int i = 0; i < n; i++) {
		if (lb_has_room(cand[i]))
			total += cand[i]->cur_weight;
	}
	if (total == 0)
		return NULL;
	for (unsigned int d = 0; d < be->random_draws; d++) {
		uint64_t point = lb_random_next() % total;

		for (unsigned int i = 0; i < n; i++) {
			struct conf_server *s = cand[i];

			if (!lb_has_room(s))
				continue;
			if (point < s->cur_weight) {
				if (best == NULL || (unsigned long long)s->cur_sess * best->cur_weight <
				    (unsigned long long)best->cur_sess * s->cur_weight)
					best = s;
				break;
			}
			point -= s->cur_weight;
		}
	}
	return best;
}

const struct lb_ops lb_random_ops = { "random", lb_random_pick };
