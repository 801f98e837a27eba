/*
 * dial: upstream connects.
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dial.h"

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

	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
	if (fd == -1)
		return -1;
	return dial_start_with(fd, sa, len);
}

int
dial_start_with(int fd, const struct sockaddr *sa, socklen_t len)
{
	int e;

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
