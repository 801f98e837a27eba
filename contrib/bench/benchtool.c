/*
 * benchtool: the benchmark's own peers, over TCP or a unix socket alike
 * (iperf3, sockperf and wrk speak TCP only; a local upstream is unix).
 *
 * Servers (ADDR: a port on 127.0.0.1, or a /unix/path):
 *   benchtool sink ADDR        read and discard (bulk uploads)
 *   benchtool echo ADDR        send back what arrives (ping-pong)
 *   benchtool reply ADDR       read a request, answer "ok", close (conn/s)
 *   benchtool hold ADDR        accept and keep, unread, until the client closes
 * Clients (ADDR: HOST:PORT or /unix/path):
 *   benchtool bulk ADDR STREAMS SECONDS   prints "bytes SECONDS"
 *   benchtool ping ADDR SECONDS SIZE      prints "n p50 p90 p99 p999" (round trip, us)
 *   benchtool conn ADDR SECONDS CONC      prints "connections/s errors"
 *
 *   cc -O2 -pthread -o benchtool benchtool.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_storage addr;
static socklen_t addrlen;
static double deadline;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
parse_addr(const char *s, int server)
{
	memset(&addr, 0, sizeof(addr));
	if (s[0] == '/') {
		struct sockaddr_un *sun = (struct sockaddr_un *)&addr;

		sun->sun_family = AF_UNIX;
		snprintf(sun->sun_path, sizeof(sun->sun_path), "%s", s);
		addrlen = sizeof(*sun);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&addr;
		const char *c = strrchr(s, ':');

		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)atoi(c != NULL ? c + 1 : s));
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (c != NULL && !server) {
			char host[64];

			snprintf(host, sizeof(host), "%.*s", (int)(c - s), s);
			inet_pton(AF_INET, host, &sin->sin_addr);
		}
		addrlen = sizeof(*sin);
	}
}

static int
dial(int flags)
{
	int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | flags, 0), one = 1;

	if (fd < 0)
		return -1;
	if (addr.ss_family == AF_INET)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&addr, addrlen) < 0 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

/* ---- servers ---- */

static void *
serve_one(void *arg)
{
	int fd = (int)(long)arg, echo = fd < 0;
	static char buf[1 << 18];	/* sink: shared, never read */
	char ebuf[65536];
	ssize_t n;

	if (echo)
		fd = -fd;
	while ((n = read(fd, echo ? ebuf : buf, echo ? sizeof(ebuf) : sizeof(buf))) > 0)
		if (echo && write(fd, ebuf, (size_t)n) != n)
			break;
	close(fd);
	return NULL;
}

/*
 * One thread, epoll: every connection accepted with the events it waits
 * for (reply: the request, EPOLLIN; hold: its end only, EPOLLRDHUP), then
 * handled once by on_event, which closes it.
 */
static void
serve_epoll(int l, uint32_t events, void (*on_event)(int fd))
{
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = l }, evs[64];

	fcntl(l, F_SETFL, O_NONBLOCK);
	epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev);
	for (;;) {
		int n = epoll_wait(ep, evs, 64, -1);

		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd != l) {
				on_event(fd);
				continue;
			}
			while ((fd = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
				struct epoll_event c = { .events = events, .data.fd = fd };

				epoll_ctl(ep, EPOLL_CTL_ADD, fd, &c);
			}
		}
	}
}

/* reply: read the request, answer, close. */
static void
on_request(int fd)
{
	char buf[1024];

	if (read(fd, buf, sizeof(buf)) < 0 && errno == EAGAIN)
		return;
	if (write(fd, "HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nok\n", 41) < 0)
		(void)0;
	close(fd);	/* also leaves the epoll set */
}

/* hold: the client went (EOF or reset). */
static void
on_gone(int fd)
{
	close(fd);
}

static int
serve(const char *mode, const char *a)
{
	int l, one = 1;

	parse_addr(a, 1);
	if (addr.ss_family == AF_UNIX)
		unlink(a);
	l = socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l, (struct sockaddr *)&addr, addrlen) < 0 || listen(l, 8192) < 0)
		return perror(a), 1;
	if (strcmp(mode, "reply") == 0)
		serve_epoll(l, EPOLLIN, on_request);
	if (strcmp(mode, "hold") == 0)
		serve_epoll(l, EPOLLRDHUP, on_gone);
	for (;;) {
		int fd = accept4(l, NULL, NULL, SOCK_CLOEXEC);
		pthread_t t;

		if (fd < 0)
			continue;
		if (addr.ss_family == AF_INET)
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		pthread_create(&t, NULL, serve_one, (void *)(long)(mode[0] == 'e' ? -fd : fd));
		pthread_detach(t);
	}
}

/* ---- clients ---- */

static void *
bulk_one(void *arg)
{
	static char buf[1 << 17];
	unsigned long long *sent = arg;
	int fd = dial(0);
	ssize_t n;

	while (fd >= 0 && now() < deadline && (n = write(fd, buf, sizeof(buf))) > 0)
		*sent += (unsigned long long)n;
	if (fd >= 0)
		close(fd);
	return NULL;
}

static int
bulk(int streams, double secs)
{
	pthread_t t[64];
	unsigned long long sent[64] = { 0 }, total = 0;
	double t0 = now();

	deadline = t0 + secs;
	for (int i = 0; i < streams && i < 64; i++)
		pthread_create(&t[i], NULL, bulk_one, &sent[i]);
	for (int i = 0; i < streams && i < 64; i++) {
		pthread_join(t[i], NULL);
		total += sent[i];
	}
	printf("%llu %.3f\n", total, now() - t0);
	return total == 0;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static int
ping(double secs, size_t size)
{
	size_t cap = 1 << 20, n = 0;
	double *lat = malloc(cap * sizeof(*lat));
	char buf[65536];
	int fd = dial(0);

	if (fd < 0 || size > sizeof(buf))
		return perror("connect"), 1;
	memset(buf, 'p', size);
	usleep(100000);	/* the relay has set the session up */
	deadline = now() + secs;
	while (now() < deadline && n < cap) {
		double t0 = now();
		size_t got = 0;

		if (write(fd, buf, size) != (ssize_t)size)
			return perror("write"), 1;
		while (got < size) {
			ssize_t r = read(fd, buf + got, size - got);

			if (r <= 0)
				return perror("read"), 1;
			got += (size_t)r;
		}
		lat[n++] = (now() - t0) * 1e6;
	}
	qsort(lat, n, sizeof(*lat), cmp_double);
	printf("%zu %.2f %.2f %.2f %.2f\n", n, lat[n / 2], lat[n * 90 / 100], lat[n * 99 / 100],
	    lat[n * 999 / 1000]);
	return 0;
}

/* CONC connections at a time: connect, ask, read the answer to EOF, close. */
static int
conn(double secs, int conc)
{
	int ep = epoll_create1(0);
	struct epoll_event ev, evs[256];
	unsigned long long done = 0, errs = 0;
	static const char req[] = "GET / HTTP/1.0\r\nConnection: close\r\n\r\n";
	char buf[4096];
	double t0 = now();

	deadline = t0 + secs;
	for (int i = 0; i < conc; i++) {
		ev.events = EPOLLOUT;
		ev.data.u64 = (uint64_t)dial(SOCK_NONBLOCK) << 1;
		epoll_ctl(ep, EPOLL_CTL_ADD, (int)(ev.data.u64 >> 1), &ev);
	}
	while (now() < deadline) {
		int n = epoll_wait(ep, evs, 256, 100);

		for (int i = 0; i < n; i++) {
			int fd = (int)(evs[i].data.u64 >> 1), sent = evs[i].data.u64 & 1;
			ssize_t r = -1;

			if (!sent) {
				if ((evs[i].events & (EPOLLERR | EPOLLHUP)) ||
				    write(fd, req, sizeof(req) - 1) < 0)
					goto next;
				ev.events = EPOLLIN;
				ev.data.u64 = ((uint64_t)fd << 1) | 1;
				epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
				continue;
			}
			while ((r = read(fd, buf, sizeof(buf))) > 0)
				;
			if (r < 0 && errno == EAGAIN)
				continue;
			if (r == 0)
				done++;
next:
			if (r < 0)
				errs++;
			close(fd);
			if ((fd = dial(SOCK_NONBLOCK)) < 0) {
				errs++;
				continue;
			}
			ev.events = EPOLLOUT;
			ev.data.u64 = (uint64_t)fd << 1;
			epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
		}
	}
	printf("%.1f %llu\n", done / (now() - t0), errs);
	return 0;
}

int
main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc == 3 && strchr("sehr", argv[1][0]) != NULL)
		return serve(argv[1], argv[2]);
	if (argc == 5) {
		parse_addr(argv[2], 0);
		if (strcmp(argv[1], "bulk") == 0)
			return bulk(atoi(argv[3]), atof(argv[4]));
		if (strcmp(argv[1], "ping") == 0)
			return ping(atof(argv[3]), (size_t)atoi(argv[4]));
		if (strcmp(argv[1], "conn") == 0)
			return conn(atof(argv[3]), atoi(argv[4]));
	}
	fprintf(stderr, "usage: benchtool sink|echo|reply|hold ADDR\n"
	    "       benchtool bulk ADDR STREAMS SECONDS | ping ADDR SECONDS SIZE | "
	    "conn ADDR SECONDS CONC\n");
	return 2;
}
