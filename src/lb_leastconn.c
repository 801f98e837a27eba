/*
 * lb_leastconn: the server with the fewest sessions per unit of weight.
 * Ties rotate, so that equal servers share new sessions evenly.
 */
#include "config.h"

#include "lb.h"

static struct conf_server *
lb_leastconn_pick(struct conf_proxy *be, struct conf_server **cand, unsigned int n,
    const struct sockaddr *cli)
{
	struct conf_server *best = NULL;
	unsigned int start = be->rr_next++ % n;

	for (unsigned int k = 0; k < n; k++) {
		struct conf_server *s = cand[(start + k) % n];

		if (!lb_has_room(s))
			continue;
		/* s->cur/s->w < best->cur/best->w, without division. */
		if (best == NULL || (unsigned long long)s->cur_sess * best->cur_weight <
		    (unsigned long long)best->cur_sess * s->cur_weight)
			best = s;
	}
	return best;
}

const struct lb_ops lb_leastconn_ops = { "leastconn", lb_leastconn_pick };
