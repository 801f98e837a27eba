/*
 * dial: non-blocking connects to upstream servers and the retry policy
 * around them. The session owns the events and timers; dial only makes
 * sockets and decisions.
 */
#ifndef SPLICER_DIAL_H
#define SPLICER_DIAL_H

#include <stdint.h>
#include <sys/socket.h>

/*
 * Start a non-blocking connect to sa. Returns the socket (connect in
 * progress or done; the caller waits for writability either way), or -1
 * with errno set (EMFILE, ENETUNREACH, ECONNREFUSED...).
 */
int dial_start(const struct sockaddr *sa, socklen_t len);

/* The same with a socket made beforehand (fd of sa's family, unconnected);
 * fd is closed on failure. */
int dial_start_with(int fd, const struct sockaddr *sa, socklen_t len);

/* After the socket became writable: 0 when connected, else the errno of
 * the failed connect. */
int dial_result(int fd);

/*
 * How long to wait before the next try after a failed one (us). As
 * HAProxy: a refused connect waits min(timeout connect, 1s) so that a
 * restarting server is not hammered; a connect that timed out is retried
 * at once, having already waited.
 */
uint64_t dial_turnaround(int timed_out, uint64_t connect_timeout_us);

/* Set the per-socket options every relayed socket gets (TCP_NODELAY). */
void dial_tune_socket(int fd);

#endif
