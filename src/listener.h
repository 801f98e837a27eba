/*
 * listener: listening sockets, the accept loop, and the limits that
 * pause it. Exhaustion pauses, never spins: above maxconn, or when
 * accept() reports EMFILE/ENFILE/ENOBUFS/ENOMEM, the listener stops
 * watching its socket and the kernel backlog holds new clients until a
 * session ends (maxconn) or a 100 ms timer fires (out of fds or memory).
 */
#ifndef SPLICER_LISTENER_H
#define SPLICER_LISTENER_H

#include <event2/event.h>
#include <event2/event_struct.h>

#include "conf.h"
#include "ratelimit.h"

struct listener {
	int fd;				/* listening socket, -1 once closed */
	struct conf_bind *bind;		/* its bind line */
	struct conf_proxy *fe;		/* its frontend (or listen) */
	struct event ev;		/* readable: clients wait in the backlog */
	int ev_set;			/* ev was assigned */
	int active;			/* ev is added */
	unsigned int cur_sess;		/* sessions accepted here and not yet ended */
	struct ratelimit *rate;		/* the frontend's rate-limit sessions, or NULL */
	struct event rate_timer;	/* resumes accepting when the rate allows */
	struct listener *next;
};

/*
 * Create, bind and listen every bind of every frontend. Returns 0, or -1
 * with a sentence naming the address in err; nothing is left open then.
 * Done before the event loop exists (and before daemonizing) so that a
 * bind failure is reported to the terminal.
 */
int listener_bind_all(struct conf *c, unsigned int maxconn, char *err, size_t errlen);

/* Watch every listening socket on base. */
int listener_start(struct event_base *base);

/* Close every listening socket (stop, graceful stop). Idempotent. */
void listener_close_all(void);

/* Free the listeners (exit). */
void listener_free_all(void);

/* A session of l ended: count it and resume listeners that have room. */
void listener_release(struct listener *l);

/* Sessions in progress in the whole process. */
unsigned int listener_actconn(void);

#endif
