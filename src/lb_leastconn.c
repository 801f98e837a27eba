/*
 * lb_leastconn: the server with the fewest sessions (served and queued on
 * it) per unit of weight. Ties rotate, so that equal servers share new
 * sessions evenly. As HAProxy's, a full server whose maxqueue is set takes
 * sessions into its own queue while served + queued < maxconn + maxqueue.
 */
#include "config.h"

#include "lb.h"

/* May s take one more session, now or from its own queue? */
static int
lb_leastconn_open(const struct conf_server *s)
{
	return lb_has_room(s) || (s->maxqueue > 0 &&
	    (unsigned long long)s->cur_sess + s->queue_len <
	    (unsigned long long)s->maxconn + s->maxqueue);
}

static struct conf_server *
lb_leastconn_pick(struct conf_proxy *be, struct conf_server **cand, unsigned int n,
    const struct sockaddr *cli)
{
	struct conf_server *best = NULL;
	unsigned int start = be->rr_next++ % n;

	for (unsigned int k = 0; k < n; k++) {
		struct conf_server *s = cand[(start + k) % n];

		if (!lb_leastconn_open(s))
			continue;
		/* load(s)/w(s) < load(best)/w(best), without division. */
		if (best == NULL || ((unsigned long long)s->cur_sess + s->queue_len) *
		    best->cur_weight < ((unsigned long long)best->cur_sess + best->queue_len) *
		    s->cur_weight)
			best = s;
	}
	return best;
}

const struct lb_ops lb_leastconn_ops = { "leastconn", lb_leastconn_pick };
