/*
 * backend: servers' states and weights, choosing a server for a session,
 * and the queue of sessions that wait for a free slot.
 *
 * A server takes new sessions when it is up and has weight > 0. Backup
 * servers take them only when no primary server does (the first backup,
 * or all with "option allbackups"). When every server that may take
 * traffic is at its maxconn, the session waits in the backend's queue;
 * backend_release() hands the next free slot to the oldest waiter.
 */
#ifndef SPLICER_BACKEND_H
#define SPLICER_BACKEND_H

#include <sys/socket.h>

#include "conf.h"

/* A session waiting for a server slot; embedded in the session. */
struct backend_waiter {
	struct backend_waiter *prev, *next;
	const struct sockaddr *cli;	/* for hashing algorithms */
	int queued;			/* in its backend's queue */
	/* Called once a slot on srv was taken for this waiter (it has left
	 * the queue). Must not end the session synchronously. */
	void (*ready)(struct backend_waiter *w, struct conf_server *srv);
};

/* Set every server's run-time state from the configuration: "disabled"
 * servers start in maintenance, the others up, at their weight. */
void backend_init(struct conf *c);

/* Outcome of backend_assign(). */
enum backend_outcome {
	BACKEND_ASSIGNED,	/* *srv holds a slot on that server */
	BACKEND_FULL,		/* servers are up but all full: queue */
	BACKEND_NO_SERVER,	/* no server may take traffic */
};

/*
 * Choose a server for a client of be and take a slot on it. avoid (may be
 * NULL) is skipped unless it is the only one (redispatch).
 */
enum backend_outcome backend_assign(struct conf_proxy *be, const struct sockaddr *cli,
    const struct conf_server *avoid, struct conf_server **srv);

/* Give back a slot taken on srv; the oldest waiter of be may get it. */
void backend_release(struct conf_proxy *be, struct conf_server *srv);

/* Wait in be's queue; leave it (timeout, abort). */
void backend_enqueue(struct conf_proxy *be, struct backend_waiter *w);
void backend_dequeue(struct conf_proxy *be, struct backend_waiter *w);

/* Change a server's state or weight at run time (admin, health checks);
 * both may let waiters go on. */
void backend_set_state(struct conf_proxy *be, struct conf_server *srv,
    enum conf_server_state state);
void backend_set_weight(struct conf_proxy *be, struct conf_server *srv, unsigned int weight);

/* Name of a server state: "UP", "DOWN", "DRAIN", "MAINT". */
const char *backend_state_name(enum conf_server_state state);

/* Free the scratch memory (exit). */
void backend_cleanup(void);

#endif
