/*
 * lb: balancing algorithms behind one ops table. backend.c hands an
 * algorithm the servers that may take traffic now (up, weight > 0,
 * primaries or else backups), in file order; the algorithm picks one
 * that has a free slot, or NULL when every one of them is full. As
 * HAProxy's, an algorithm that must keep a client on its server (source)
 * returns that server even when full, and leastconn returns a full server
 * whose queue is below its maxqueue (when set) if it is the least loaded:
 * the session then waits in that server's own queue.
 */
#ifndef SPLICER_LB_H
#define SPLICER_LB_H

#include <sys/socket.h>

#include "conf.h"

struct lb_ops {
	const char *name;
	/*
	 * Pick among cand[0..n) (n >= 1). cli is the client address (for
	 * hashing). Returns a server with a free slot, a full one to wait
	 * for in its own queue, or NULL to wait in the backend's queue.
	 */
	struct conf_server *(*pick)(struct conf_proxy *be, struct conf_server **cand,
	    unsigned int n, const struct sockaddr *cli);
};

extern const struct lb_ops lb_roundrobin_ops;
extern const struct lb_ops lb_static_rr_ops;
extern const struct lb_ops lb_first_ops;
extern const struct lb_ops lb_leastconn_ops;
extern const struct lb_ops lb_source_ops;
extern const struct lb_ops lb_random_ops;

const struct lb_ops *lb_for(enum conf_balance algo);

/* Has srv room for one more session (maxconn)? A server with sessions in
 * its own queue has none for newcomers: they would pass them (HAProxy). */
static inline int
lb_has_room(const struct conf_server *srv)
{
	return srv->maxconn == 0 || (srv->queue_len == 0 && srv->cur_sess < srv->maxconn);
}

/* Seed the random algorithm (tests pass a fixed seed). */
void lb_random_seed(unsigned long long seed);

#endif
