/*
 * lb_rr: roundrobin, static-rr and first.
 *
 * Round-robin is the smooth weighted kind (nginx's): each pick adds every
 * server's weight to its accumulator, takes the largest and subtracts the
 * total from it. Over any run of total-weight picks each server gets
 * exactly its weight, spread out rather than in bursts, and a weight
 * changed at run time applies from the next pick. static-rr is the same
 * on the configured weights only.
 */
#include "config.h"

#include "lb.h"

static struct conf_server *
lb_rr_pick_weighted(struct conf_server **cand, unsigned int n, int dynamic)
{
	struct conf_server *best = NULL;
	int total = 0;

	for (unsigned int i = 0; i < n; i++) {
		struct conf_server *s = cand[i];
		int w = (int)(dynamic ? s->cur_weight : s->weight);

		if (!lb_has_room(s))
			continue;
		s->rr_current += w;
		total += w;
		if (best == NULL || s->rr_current > best->rr_current)
			best = s;
	}
	if (best != NULL)
		best->rr_current -= total;
	return best;
}

static struct conf_server *
lb_roundrobin_pick(struct conf_proxy *be, struct conf_server **cand, unsigned int n,
    const struct sockaddr *cli)
{
	return lb_rr_pick_weighted(cand, n, 1);
}

static struct conf_server *
lb_static_rr_pick(struct conf_proxy *be, struct conf_server **cand, unsigned int n,
    const struct sockaddr *cli)
{
	return lb_rr_pick_weighted(cand, n, 0);
}

/* The first server in file order that has a free slot: fills servers one
 * after the other, so that the last ones can be turned off when idle. */
static struct conf_server *
lb_first_pick(struct conf_proxy *be, struct conf_server **cand, unsigned int n,
    const struct sockaddr *cli)
{
	for (unsigned int i = 0; i < n; i++) {
		if (lb_has_room(cand[i]))
			return cand[i];
	}
	return NULL;
}

const struct lb_ops lb_roundrobin_ops = { "roundrobin", lb_roundrobin_pick };
const struct lb_ops lb_static_rr_ops = { "static-rr", lb_static_rr_pick };
const struct lb_ops lb_first_ops = { "first", lb_first_pick };
