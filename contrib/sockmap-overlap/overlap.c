/*
 * overlap: reproduce the sockmap overlap of tcp_read_skb() (see
 * overlap.bpf.c and README.md). One process: an echo server, a relay
 * whose verdict program redirects every skb of each side to the other's
 * egress (nothing passed to user space, nothing read by it), and clients
 * that echo a seeded pattern of 1 byte to -s bytes through the relay,
 * some of them reading slowly, and check every byte that comes back (and
 * that EOF follows the last one).
 *
 *   overlap [-n sessions] [-p parallel] [-s max-size]
 *
 * Prints each skb the program was handed that started before the end of
 * what it had already redirected on that socket, and each session whose
 * echo differed. Exit status 1 if either happened.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "overlap.skel.h"

static struct overlap_bpf *skel;
static int socks_fd, targets_fd, flows_fd;
static int nsessions = 2000, nparallel = 16, maxsize = 4 << 20;
static int next_session, bad_sessions;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct sockaddr_in relay_addr, echo_addr;

struct flow {
	uint64_t peer;
	uint32_t next_seq, known;
};

static void
die(const char *what)
{
	perror(what);
	exit(2);
}

static uint8_t
pattern(uint64_t seed, uint64_t i)
{
	uint64_t z = (seed ^ (i / 8)) + 0x9e3779b97f4a7c15ULL;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return (uint8_t)(z >> (8 * (i % 8)));
}

static int
listen_on(struct sockaddr_in *a)
{
	socklen_t len = sizeof(*a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)a, sizeof(*a)) == -1 || listen(fd, 512) == -1 ||
	    getsockname(fd, (struct sockaddr *)a, &len) == -1)
		die("listen");
	return fd;
}

static void *
echo_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char buf[65536];
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0)
		if (send(fd, buf, (size_t)n, MSG_NOSIGNAL) != n)
			break;
	shutdown(fd, SHUT_WR);
	while (recv(fd, buf, sizeof(buf), 0) > 0)
		;
	close(fd);
	return NULL;
}

static void *
accept_loop(void *arg)
{
	int lfd = (int)(intptr_t)arg, fd;
	pthread_t t;

	while ((fd = accept(lfd, NULL, NULL)) != -1) {
		pthread_create(&t, NULL, echo_conn, (void *)(intptr_t)fd);
		pthread_detach(t);
	}
	return NULL;
}

static uint64_t
cookie(int fd)
{
	uint64_t c = 0;
	socklen_t len = sizeof(c);

	getsockopt(fd, SOL_SOCKET, SO_COOKIE, &c, &len);
	return c;
}

/* Both sockets enter the target map, then the verdict map; bytes queued
 * before are looked at once SO_RCVLOWAT is set. */
static void
relay_pair(int a, int b)
{
	uint64_t ca = cookie(a), cb = cookie(b), v;
	struct flow fa = { .peer = cb }, fb = { .peer = ca };
	int one = 1;

	bpf_map_update_elem(flows_fd, &ca, &fa, BPF_ANY);
	bpf_map_update_elem(flows_fd, &cb, &fb, BPF_ANY);
	v = (uint64_t)a;
	bpf_map_update_elem(targets_fd, &ca, &v, BPF_ANY);
	v = (uint64_t)b;
	bpf_map_update_elem(targets_fd, &cb, &v, BPF_ANY);
	v = (uint64_t)a;
	if (bpf_map_update_elem(socks_fd, &ca, &v, BPF_ANY) != 0)
		fprintf(stderr, "insert: %s\n", strerror(errno));
	v = (uint64_t)b;
	if (bpf_map_update_elem(socks_fd, &cb, &v, BPF_ANY) != 0)
		fprintf(stderr, "insert: %s\n", strerror(errno));
	setsockopt(a, SOL_SOCKET, SO_RCVLOWAT, &one, sizeof(one));
	setsockopt(b, SOL_SOCKET, SO_RCVLOWAT, &one, sizeof(one));
}

/* One relayed session: wait for the client's FIN, pass it on once every
 * redirected byte was echoed (the client closes only then), then for
 * the server's. */
static void *
relay_conn(void *arg)
{
	int c = (int)(intptr_t)arg, s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	struct pollfd p[2];
	uint64_t k;

	if (connect(s, (struct sockaddr *)&echo_addr, sizeof(echo_addr)) == -1)
		die("connect upstream");
	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	relay_pair(c, s);
	for (int done = 0; done != 3;) {
		p[0] = (struct pollfd){ .fd = c, .events = (done & 1) ? 0 : POLLRDHUP };
		p[1] = (struct pollfd){ .fd = s, .events = (done & 2) ? 0 : POLLRDHUP };
		if (poll(p, 2, 1000) <= 0)
			continue;
		if (!(done & 1) && (p[0].revents & (POLLRDHUP | POLLHUP | POLLERR))) {
			shutdown(s, SHUT_WR);
			done |= 1;
		}
		if (!(done & 2) && (p[1].revents & (POLLRDHUP | POLLHUP | POLLERR))) {
			shutdown(c, SHUT_WR);
			done |= 2;
		}
	}
	k = cookie(c);
	bpf_map_delete_elem(flows_fd, &k);
	k = cookie(s);
	bpf_map_delete_elem(flows_fd, &k);
	close(c);
	close(s);
	return NULL;
}

static void *
relay_loop(void *arg)
{
	int lfd = (int)(intptr_t)arg, fd;
	pthread_t t;

	while ((fd = accept(lfd, NULL, NULL)) != -1) {
		pthread_create(&t, NULL, relay_conn, (void *)(intptr_t)fd);
		pthread_detach(t);
	}
	return NULL;
}

/* Echo size bytes of pattern seed through the relay; 0 if all came back
 * in order, then EOF. */
static int
client_session(uint64_t seed, size_t size, int slow)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), bad = 0;
	size_t sent = 0, got = 0;
	uint8_t out[65536], in[65536];
	struct pollfd p;

	if (connect(fd, (struct sockaddr *)&relay_addr, sizeof(relay_addr)) == -1)
		die("connect relay");
	while (got < size) {
		p = (struct pollfd){ .fd = fd, .events = POLLIN | (sent < size ? POLLOUT : 0) };
		if (poll(&p, 1, 10000) <= 0) {
			fprintf(stderr, "seed %llu: stalled at %zu of %zu\n",
			    (unsigned long long)seed, got, size);
			bad = 1;
			break;
		}
		if ((p.revents & POLLOUT) && sent < size) {
			size_t n = size - sent < sizeof(out) ? size - sent : sizeof(out);
			ssize_t w;

			for (size_t i = 0; i < n; i++)
				out[i] = pattern(seed, sent + i);
			if ((w = send(fd, out, n, MSG_DONTWAIT | MSG_NOSIGNAL)) > 0)
				sent += (size_t)w;
		}
		if (p.revents & POLLIN) {
			ssize_t r = recv(fd, in, slow ? 4096 : sizeof(in), MSG_DONTWAIT);

			if (r <= 0) {
				fprintf(stderr, "seed %llu: EOF at %zu of %zu\n",
				    (unsigned long long)seed, got, size);
				bad = 1;
				break;
			}
			for (ssize_t i = 0; i < r && !bad; i++) {
				if (got + (size_t)i >= size || in[i] != pattern(seed, got + i)) {
					fprintf(stderr, "seed %llu: byte %zu of %zu differs\n",
					    (unsigned long long)seed, got + (size_t)i, size);
					bad = 1;
				}
			}
			got += (size_t)r;
			if (slow)
				usleep(200);
		}
	}
	/* The FIN only now: a socket whose peer's FIN is in cannot enter a
	 * sockmap (EOPNOTSUPP). */
	shutdown(fd, SHUT_WR);
	if (!bad && recv(fd, in, 1, 0) != 0) {
		fprintf(stderr, "seed %llu: bytes after the last one\n", (unsigned long long)seed);
		bad = 1;
	}
	close(fd);
	return bad;
}

static void *
client_loop(void *arg)
{
	(void)arg;
	for (;;) {
		int i;

		pthread_mutex_lock(&lock);
		i = next_session++;
		pthread_mutex_unlock(&lock);
		if (i >= nsessions)
			return NULL;
		srand48(i);
		if (client_session((uint64_t)i, 1 + (size_t)(drand48() * maxsize),
		    drand48() < 0.3)) {
			pthread_mutex_lock(&lock);
			bad_sessions++;
			pthread_mutex_unlock(&lock);
		}
	}
}

static unsigned long long
report(void)
{
	unsigned long long n = skel->bss->nevents;

	for (uint32_t i = 0; i < n && i < 64; i++) {
		struct { uint64_t cookie; uint32_t seq, len, next_seq, copied_seq, rcv_nxt, pad; } o;

		if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.events), &i, &o) != 0)
			continue;
		printf("overlap: socket %llu handed skb seq %u len %u, %u bytes before the end "
		    "of what was already redirected (next %u; copied_seq %u, rcv_nxt %u)\n",
		    (unsigned long long)o.cookie, o.seq, o.len, o.next_seq - o.seq, o.next_seq,
		    o.copied_seq, o.rcv_nxt);
	}
	return n;
}

int
main(int argc, char **argv)
{
	pthread_t t[256], echo_t, relay_t;
	int opt, efd, rfd;
	unsigned long long n;

	while ((opt = getopt(argc, argv, "n:p:s:")) != -1) {
		if (opt == 'n')
			nsessions = atoi(optarg);
		else if (opt == 'p')
			nparallel = atoi(optarg) > 256 ? 256 : atoi(optarg);
		else if (opt == 's')
			maxsize = atoi(optarg);
		else
			return fprintf(stderr, "usage: overlap [-n sessions] [-p parallel] "
			    "[-s max-size]\n"), 2;
	}
	if ((skel = overlap_bpf__open_and_load()) == NULL)
		die("loading overlap.bpf.o (run as root)");
	socks_fd = bpf_map__fd(skel->maps.socks);
	targets_fd = bpf_map__fd(skel->maps.targets);
	flows_fd = bpf_map__fd(skel->maps.flows);
	if (bpf_prog_attach(bpf_program__fd(skel->progs.verdict), socks_fd,
	    BPF_SK_SKB_STREAM_VERDICT, 0) != 0)
		die("attaching the verdict program");
	efd = listen_on(&echo_addr);
	rfd = listen_on(&relay_addr);
	pthread_create(&echo_t, NULL, accept_loop, (void *)(intptr_t)efd);
	pthread_create(&relay_t, NULL, relay_loop, (void *)(intptr_t)rfd);
	for (int i = 0; i < nparallel; i++)
		pthread_create(&t[i], NULL, client_loop, NULL);
	for (int i = 0; i < nparallel; i++)
		pthread_join(t[i], NULL);
	n = report();
	printf("%d sessions (1 B to %d B, %d at once): %d with a wrong echo; %llu overlapping "
	    "skbs; %llu bytes redirected\n", nsessions, maxsize, nparallel, bad_sessions, n,
	    (unsigned long long)skel->bss->redirected);
	return bad_sessions != 0 || n != 0;
}
