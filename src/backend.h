/*
 * backend: servers' states and weights, choosing a server for a session,
 * and the queue of sessions that wait for a free slot.
 *
 * A server takes new sessions when it is up and has weight > 0. Backup
 * servers take them only when no primary server does (the first backup,
 * or all with "option allbackups"). When every server that may take
 * traffic is at its maxconn, the session waits in the backend's queue;
 * backend_release() hands the next free slot to the oldest waiter.
 *
 * As HAProxy's, a session the algorithm sends to one server that is full
 * (balance source; leastconn with maxqueue) waits in that server's own
 * queue instead, at most maxqueue sessions when set: beyond it, the
 * session is refused (BACKEND_QUEUE_FULL). A slot freed on a server goes
 * to its own queue first. When a server goes down or into maintenance and
 * the backend has option redispatch, its queue moves to the backend's.
 */
#ifndef SPLICER_BACKEND_H
#define SPLICER_BACKEND_H

#include <sys/socket.h>

#include "conf.h"

/* A session waiting for a server slot; embedded in the session. */
struct backend_waiter {
	struct backend_waiter *prev, *next;
	const struct sockaddr *cli;	/* for hashing algorithms */
	int queued;			/* in a queue: its server's (qsrv) or its backend's */
	struct conf_server *qsrv;	/* the server whose queue it is in, NULL: the backend's */
	uint64_t seq;			/* when it joined, in the order of every queue */
	struct conf_server *srv;	/* the slot it was given when it left the queue */
	struct conf_server *full;	/* BACKEND_QUEUE_FULL: the server, for messages */
	/* Called, under the backend lock and on whichever thread freed the
	 * slot, once w->srv holds a slot for this waiter (it has left the
	 * queue). Must only hand the news to the waiter's own thread. */
	void (*ready)(struct backend_waiter *w);
};

/* Set every server's run-time state from the configuration: "disabled"
 * servers start in maintenance, the others up, at their weight. */
void backend_init(struct conf *c);

/* Outcome of backend_assign(). */
enum backend_outcome {
	BACKEND_ASSIGNED,	/* *srv holds a slot on that server */
	BACKEND_FULL,		/* servers are up but all full: queued */
	BACKEND_NO_SERVER,	/* no server may take traffic */
	BACKEND_QUEUE_FULL,	/* its server is full and so is its queue (maxqueue) */
};

/*
 * Choose a server for a client of be and take a slot on it. avoid (may be
 * NULL) is skipped unless it is the only one (redispatch). When every
 * server is full and w is not NULL, w joins the queue in the same step,
 * so that no slot freed meanwhile is missed: its server's (w->qsrv) when
 * the algorithm chose a full one, else the backend's. Without w, a full
 * server is BACKEND_FULL and nothing waits.
 *
 * Every function here may be called from any thread: one lock guards the
 * servers' counts, states, weights, balancing state and queues. It is
 * taken a few times per session, never per byte.
 */
enum backend_outcome backend_assign(struct conf_proxy *be, const struct sockaddr *cli,
    const struct conf_server *avoid, struct conf_server **srv, struct backend_waiter *w);

/*
 * The same, trying first the server want (not NULL) that persistence
 * chose: it is taken when it is up, or whatever its state with force
 * (force-persist); else the backend balances. As HAProxy's direct
 * sessions, a full want queues the client in its own queue; with that
 * queue at maxqueue, the client is balanced under option redispatch and
 * refused (BACKEND_QUEUE_FULL) without.
 */
enum backend_outcome backend_assign_to(struct conf_proxy *be, struct conf_server *want,
    int force, const struct sockaddr *cli, const struct conf_server *avoid,
    struct conf_server **srv, struct backend_waiter *w);

/* Give back a slot taken on srv; the oldest waiter of be may get it. */
void backend_release(struct conf_proxy *be, struct conf_server *srv);

/* Leave be's queue (timeout, abort). Returns the server of a slot given
 * to w meanwhile, which the caller now holds and must release, or NULL. */
struct conf_server *backend_dequeue(struct conf_proxy *be, struct backend_waiter *w);

/* cb is called (on the thread that made the change) when a server leaves
 * maintenance straight to UP (health_event: its slow start); NULL: none. */
void backend_on_ready(void (*cb)(struct conf_proxy *be, struct conf_server *srv));

/*
 * A server's state has separate holders: the admin (maintenance, drain:
 * "disabled", the admin socket), its health checks and its agent. Each
 * setter changes its own part only and the state in force is derived: maintenance first,
 * then a failed check (DOWN), then drain, else UP. So leaving maintenance
 * hands the server back to its checks: one that fails them stays DOWN.
 * Each may let waiters go on.
 */
void backend_set_admin(struct conf_proxy *be, struct conf_server *srv,
    enum conf_server_admin admin);
void backend_set_check(struct conf_proxy *be, struct conf_server *srv, int up);
/* An HTTP check's 404 with disable-on-404: up, but no new session (NOLB). */
void backend_set_nolb(struct conf_proxy *be, struct conf_server *srv, int on);
/* What an agent said: down (1, 0, or -1 unsaid), admin (CONF_ADM_*, or -1):
 * only the agent undoes its own. */
void backend_set_agent(struct conf_proxy *be, struct conf_server *srv, int down, int admin);
/* Its resolution (resolvers.c) left it without an address (1) or gave
 * one (0): maintenance, "MAINT (resolution)" in show stat. */
void backend_set_dns(struct conf_proxy *be, struct conf_server *srv, int maint);
/* A new address from its resolution, with the port of an SRV record
 * (0: the server's own); sessions that connected before go on. */
void backend_set_addr(struct conf_server *srv, const struct sockaddr *sa, socklen_t len,
    uint16_t port);
/* Where srv is now, into to (its length, 0 when it has none), with its
 * port rule: any thread, while resolvers.c may change it. */
socklen_t backend_server_addr(const struct conf_server *srv, struct sockaddr_storage *to,
    int *port_rel, int *port_off);
void backend_set_maxconn(struct conf_proxy *be, struct conf_server *srv, unsigned int maxconn);
void backend_set_weight(struct conf_proxy *be, struct conf_server *srv, unsigned int weight);

/* Has be a server that takes new sessions (state UP)? The admin socket's
 * show stat and the readiness probe both ask this. */
int backend_any_up(const struct conf_proxy *be);

/* Name of a server state: "UP", "DOWN", "DRAIN", "MAINT". */
const char *backend_state_name(enum conf_server_state state);

/* The status text of show stat, HAProxy's: "MAINT", "DOWN", "DRAIN", "NOLB", "UP",
 * "DOWN (agent)" and the like when the agent alone holds it so, and while
 * the checks are changing it, "UP 1/3" (failures so far while
 * still up) or "DOWN 1/2" (successes so far while still down). */
void backend_status_text(const struct conf_server *srv, char *buf, size_t len);

/* Free the scratch memory (exit). */
void backend_cleanup(void);

#endif
