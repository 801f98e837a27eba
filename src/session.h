/*
 * session: one client connection and its upstream connection, from
 * accept to the log line. The state machine itself is private to
 * session.c; this is what the rest of the process may ask of it.
 */
#ifndef SPLICER_SESSION_H
#define SPLICER_SESSION_H

#include <event2/event.h>
#include <sys/socket.h>

struct listener;

/*
 * Take over a freshly accepted client socket fd of listener l: choose a
 * server, dial it and relay until both sides are done. The session owns
 * fd from here on, whatever happens.
 */
void session_accept(struct event_base *base, struct listener *l, int fd,
    const struct sockaddr *sa, socklen_t len);

/* Sessions in progress on the calling worker thread. */
unsigned int session_count(void);

/* Close every session of the calling worker at once, logging `reason`
 * (stop, hard-stop-after). */
void session_kill_all(const char *reason);

#endif
