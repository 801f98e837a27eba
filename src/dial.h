/*
 * dial: non-blocking connects to upstream servers and the retry policy
 * around them. The session owns the events and timers; dial only makes
 * sockets and decisions.
 */
#ifndef SPLICER_DIAL_H
#define SPLICER_DIAL_H

#include <stddef.h>
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

/* TCP keep-alive on fd ("option clitcpka", "srvtcpka"): SO_KEEPALIVE,
 * and each of idle, intvl (seconds) and cnt that is not 0. */
void dial_keepalive(int fd, unsigned int idle, unsigned int intvl, unsigned int cnt);

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

/*
 * Is the coming retry one that goes to another server? tries counts the
 * connect attempts started so far (1 before the first retry), retries is
 * the backend's "retries", enabled says "option redispatch" is on, and
 * every is its N: N > 0 every Nth retry, N < 0 the Nth retry before the
 * last (-1, the default, is the last one, as HAProxy).
 */
int dial_redispatch_now(unsigned int tries, unsigned int retries, int every, int enabled);

/*
 * send-proxy(-v2): the PROXY header a server gets before any client
 * byte. A new socket's send buffer always has room for it, but a short
 * write is handled anyway: the rest waits in buf for the next writable
 * event.
 */
struct dial_header {
	uint8_t *buf;			/* the bytes not sent yet (PP_MAX), NULL: none */
	size_t len;			/* of them */
};

/* Build the header of version (1 or 2) for a client src that reached
 * dst. 0, or -1 with errno (ENOMEM). */
int dial_header_build(struct dial_header *h, int version, const struct sockaddr *src,
    const struct sockaddr *dst);

/* Write what fd takes of a built header. Returns 1 when all of it is
 * sent (h is emptied), 0 to wait until fd is writable, -1 with errno when
 * the server went away. */
int dial_send_header(int fd, struct dial_header *h);

/* Throw away what is left of h (a try failed, the session ended). */
void dial_header_free(struct dial_header *h);

/* Set the per-socket options every relayed socket gets (TCP_NODELAY). */
void dial_tune_socket(int fd);

#endif
