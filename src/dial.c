/*
 * dial: upstream connects, the retry rules and the PROXY header sent
 * before the first byte.
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dial.h"
#include "proxy_proto.h"

/* The turn-around delay after a refused connect, as HAProxy (us). */
#define DIAL_TURNAROUND_MAX_US 1000000ULL

void
dial_tune_socket(int fd)
{
	int one = 1;

	/* A relay adds its own latency to every small write if Nagle holds
	 * the segment back waiting for an ACK; the peers chose their write
	 * sizes, so forward at once. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* Urgent data (MSG_OOB) is an ordinary byte of the stream for a
	 * relay: inline, every engine reads it in its place (without this,
	 * recv() skips it and the byte is lost). The urgent mark itself is
	 * not forwarded (README, "Urgent data"). */
	(void)setsockopt(fd, SOL_SOCKET, SO_OOBINLINE, &one, sizeof(one));
}

int
dial_start(const struct sockaddr *sa, socklen_t len)
{
	int fd;

	/* Protocol 0: TCP for AF_INET(6), the only one for AF_UNIX. */
	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	return dial_start_with(fd, sa, len);
}

int
dial_start_with(int fd, const struct sockaddr *sa, socklen_t len)
{
	int e;

	if (sa->sa_family != AF_UNIX)	/* a unix socket has neither Nagle nor urgent data */
		dial_tune_socket(fd);
	if (connect(fd, sa, len) == -1 && errno != EINPROGRESS) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int
dial_result(int fd)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		return errno;
	return err;
}

uint64_t
dial_turnaround(int timed_out, uint64_t connect_timeout_us)
{
	if (timed_out)
		return 0;
	if (connect_timeout_us != 0 && connect_timeout_us < DIAL_TURNAROUND_MAX_US)
		return connect_timeout_us;
	return DIAL_TURNAROUND_MAX_US;
}

int
dial_redispatch_now(unsigned int tries, unsigned int retries, int every, int enabled)
{
	int retry = (int)tries;	/* 1 = first retry */

	if (!enabled)
		return 0;
	if (every > 0)
		return retry % every == 0;
	return retry == (int)retries + 1 + every;
}

int
dial_header_build(struct dial_header *h, int version, const struct sockaddr *src,
    const struct sockaddr *dst)
{
	if ((h->buf = malloc(PP_MAX)) == NULL)
		return -1;
	h->len = version == 2 ? pp_build_v2(h->buf, PP_MAX, src, dst) :
	    pp_build_v1((char *)h->buf, PP_MAX, src, dst);
	return 0;
}

int
dial_send_header(int fd, struct dial_header *h)
{
	ssize_t n = send(fd, h->buf, h->len, MSG_NOSIGNAL | MSG_DONTWAIT);

	if (n == -1 && errno == EAGAIN)
		return 0;
	if (n == -1)
		return -1;
	memmove(h->buf, h->buf + n, h->len - (size_t)n);
	h->len -= (size_t)n;
	if (h->len != 0)
		return 0;
	dial_header_free(h);
	return 1;
}

void
dial_header_free(struct dial_header *h)
{
	free(h->buf);
	h->buf = NULL;
	h->len = 0;
}

void
dial_keepalive(int fd, unsigned int idle, unsigned int intvl, unsigned int cnt)
{
	int one = 1, v;

	/* Best effort, as HAProxy: a socket that refuses keeps working. */
	(void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	if ((v = (int)idle) != 0)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &v, sizeof(v));
	if ((v = (int)intvl) != 0)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &v, sizeof(v));
	if ((v = (int)cnt) != 0)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &v, sizeof(v));
}
