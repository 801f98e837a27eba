/*
 * listener: listening sockets, the accept loop, and the limits that
 * pause it. Exhaustion pauses, never spins: above maxconn, or when
 * accept() reports EMFILE/ENFILE/ENOBUFS/ENOMEM, the listener stops
 * watching its socket and the kernel backlog holds new clients until a
 * session ends (maxconn) or a 100 ms timer fires (out of fds or memory).
 */
#ifndef SPLICER_LISTENER_H
#define SPLICER_LISTENER_H

#include <sys/socket.h>

#include <event2/event.h>

#include "conf.h"
#include "sample.h"

/* One listening socket of one bind address on one worker thread;
 * private to listener.c. */
struct listener;

/*
 * A client just accepted on l, handed to the layer above through the
 * on_client hook of listener_bind_all(), as HAProxy's bind_conf->accept.
 * The callee owns fd from here on, whatever happens, and gives the slot
 * back with listener_release(l, fe) when the client's session ends.
 */
struct listener_client {
	struct listener *l;		/* where it was accepted (opaque) */
	struct conf_proxy *fe;		/* its frontend */
	const struct conf_bind *bind;	/* its bind line (accept-proxy...) */
	struct event_base *base;	/* the accepting worker's loop */
	int fd;				/* the client socket, non-blocking */
	struct sockaddr_storage addr;	/* the client's address */
	socklen_t len;			/* of addr */
	void *track[SMP_TRACK_MAX];			/* stick-table entries its tcp-request connection
					 * rules track (sample_ctx.track): the session's now */
};

/* Called for each accepted client, on the accepting worker's thread. */
typedef void (*listener_on_client)(const struct listener_client *c);

/*
 * Create, bind and listen every bind of every frontend, nthreads sockets
 * per address. Returns 0, or -1 with a sentence naming the address in
 * err; nothing is left open then. Done before the threads exist (and
 * before daemonizing) so that a bind failure is reported to the terminal.
 * Every client accepted from then on, also on listeners a reload opens,
 * goes to on_client.
 */
int listener_bind_all(struct conf *c, unsigned int maxconn, unsigned int nthreads,
    listener_on_client on_client, char *err, size_t errlen);

/* Own worker thread: watch the listeners given to it (at start and
 * after a reload), close those a reload dropped, and resume. */
void listener_sync(void);

/* Own worker thread: resume paused listeners that have room again. */
void listener_resume_own(void);

/* Own worker thread: close its listening sockets (stop). Idempotent. */
void listener_close_own(void);

/* Free the listeners once every worker is gone (exit). */
void listener_free_all(void);

/* A session accepted on l for frontend fe ended (fe is the session's own:
 * after a reload, l may serve a newer one): count it and resume
 * listeners that have room, on every worker. Own worker thread. */
void listener_release(struct listener *l, struct conf_proxy *fe);

/*
 * Reload, in two steps: make the listeners match the binds of c. A
 * listener whose address is still configured keeps its sockets (no client
 * is refused) and serves its new frontend. listener_reload_prepare(), with
 * the workers running, binds every new address (and checks that no other
 * process owns it, which reads /proc): if one fails nothing changes and -1
 * is returned with err set. listener_reload_commit(), with every worker
 * parked (worker_isolate) and right after a successful prepare, switches:
 * listeners whose address is gone are closed by their workers and freed
 * once their sessions end; it cannot fail. The caller then signals
 * WORKER_F_SYNC. The counts of addresses opened, kept and closed come back
 * through the pointers.
 */
int listener_reload_prepare(struct conf *c, unsigned int *opened, char *err, size_t errlen);
void listener_reload_commit(unsigned int maxconn, unsigned int *kept, unsigned int *closed);

/* Admin, any thread: stop or restart accepting clients of frontend fe
 * (its sockets stay open: clients wait in the kernel's backlog); set the
 * most sessions at once of fe, or of the process when fe is NULL (0: no
 * limit for a frontend). Every worker looks again at once. */
void listener_set_stopped(struct conf_proxy *fe, int stopped);
void listener_set_maxconn(struct conf_proxy *fe, unsigned int n);
unsigned int listener_maxconn(void);

/* Sessions in progress in the whole process. */
unsigned int listener_actconn(void);

#endif
