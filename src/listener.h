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
	int retired;			/* dropped by a reload: freed when cur_sess is 0 */
	int matched;			/* reload scratch: kept for the new configuration */
	struct listener *matched_next;	/* reload scratch: list of the new set */
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

/* A session accepted on l for frontend fe ended (fe is the session's own:
 * after a reload, l may serve a newer one): count it and resume
 * listeners that have room. */
void listener_release(struct listener *l, struct conf_proxy *fe);

/*
 * Reload: make the listeners match the binds of c. A listener whose
 * address is still configured keeps its socket (no client is refused)
 * and serves its new frontend; new addresses are bound first, and if one
 * fails nothing changes and -1 is returned with err set; listeners whose
 * address is gone are closed, and freed once their sessions end.
 * Returns the counts kept/opened/closed through the pointers.
 */
int listener_reload(struct conf *c, unsigned int maxconn, struct event_base *base,
    unsigned int *kept, unsigned int *opened, unsigned int *closed,
    char *err, size_t errlen);

/* Sessions in progress in the whole process. */
unsigned int listener_actconn(void);

#endif
