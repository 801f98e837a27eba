/*
 * check_floor: the least any prober can spend on a health check, for
 * checks.py --floor. RATE checks a second to the loopback PORTs, in
 * batches on a 10 ms tick: socket, TCP_QUICKACK off, connect; with a
 * REQUEST, watch it, send it and take the answer on the next tick; then
 * SO_LINGER 0 and close. No timers, no parsing, no bookkeeping: what it
 * costs is the kernel's work for both ends of each loopback connection,
 * which a proxy checking the same servers cannot go below.
 *
 * usage: check_floor RATE REQUEST PORT...   (REQUEST "" for a bare connect)
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TICK_NS 10000000L
#define MAX_BATCH 256

static void
tick(struct timespec *next)
{
	next->tv_nsec += TICK_NS;
	if (next->tv_nsec >= 1000000000L) {
		next->tv_sec++;
		next->tv_nsec -= 1000000000L;
	}
	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, next, NULL);
}

static int
open_one(const char *port, const char *req, size_t reqlen, int ep)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port)) };
	int zero = 0, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd == -1)
		return -1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &zero, sizeof(zero));
	(void)connect(fd, (struct sockaddr *)&a, sizeof(a));
	if (reqlen > 0) {
		struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.fd = fd };

		(void)epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
		(void)send(fd, req, reqlen, MSG_NOSIGNAL);	/* loopback: connected already */
	}
	return fd;
}

int
main(int argc, char **argv)
{
	int rate = argc > 3 ? atoi(argv[1]) : 0, per_tick = rate / 100, nports = argc - 3;
	int fds[MAX_BATCH], ep = epoll_create1(EPOLL_CLOEXEC);
	const char *req = argc > 3 ? argv[2] : "";
	size_t reqlen = strlen(req);
	struct timespec next;
	unsigned long k = 0;

	if (per_tick < 1 || per_tick > MAX_BATCH || ep == -1)
		return 2;
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (;;) {
		for (int i = 0; i < per_tick; i++)
			fds[i] = open_one(argv[3 + k++ % (unsigned long)nports], req, reqlen, ep);
		if (reqlen > 0) {
			struct epoll_event evs[MAX_BATCH];

			tick(&next);	/* the answers come meanwhile */
			(void)epoll_wait(ep, evs, MAX_BATCH, 0);
		}
		for (int i = 0; i < per_tick; i++) {
			struct linger lg = { 1, 0 };
			char buf[4096];

			if (fds[i] == -1)
				continue;
			if (reqlen > 0)
				(void)recv(fds[i], buf, sizeof(buf), 0);
			(void)setsockopt(fds[i], SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
			close(fds[i]);
		}
		if (reqlen == 0)
			tick(&next);
	}
}
