/*
 * splice_loop: the physical reference of the benchmark. The least a relay
 * can do: accept, connect, and per direction one thread that splices
 * socket -> pipe -> socket with blocking calls until EOF. No event loop,
 * no limits, no logs: what a proxy cannot beat.
 *
 *   cc -O2 -pthread -o splice_loop splice_loop.c
 *   splice_loop LISTEN_PORT HOST:PORT|/unix/path [PIPESIZE]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static struct sockaddr_storage up;
static socklen_t uplen;
static int pipesize = 262144;

struct sess;
struct dir { int src, dst; struct sess *s; };
struct sess { struct dir d[2]; int left; };

static void *
pump(void *arg)
{
	struct dir *d = arg;
	struct sess *s = d->s;
	int p[2];
	ssize_t n;

	if (pipe2(p, O_CLOEXEC) == 0) {
		(void)fcntl(p[0], F_SETPIPE_SZ, pipesize);
		while ((n = splice(d->src, NULL, p[1], NULL, (size_t)pipesize, SPLICE_F_MOVE)) > 0)
			while (n > 0) {
				ssize_t w = splice(p[0], NULL, d->dst, NULL, (size_t)n, SPLICE_F_MOVE);

				if (w <= 0)
					goto out;
				n -= w;
			}
out:
		close(p[0]);
		close(p[1]);
	}
	shutdown(d->dst, SHUT_WR);
	if (__atomic_sub_fetch(&s->left, 1, __ATOMIC_ACQ_REL) == 0) {
		close(s->d[0].src);	/* both directions done: the session ends */
		close(s->d[0].dst);
		free(s);
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int l, one = 1;

	if (argc < 3)
		return fprintf(stderr, "usage: splice_loop PORT HOST:PORT|/path [PIPESIZE]\n"), 2;
	if (argc > 3)
		pipesize = atoi(argv[3]);
	signal(SIGPIPE, SIG_IGN);	/* a peer gone is an EPIPE of its direction */
	memset(&up, 0, sizeof(up));
	if (argv[2][0] == '/') {
		struct sockaddr_un *sun = (struct sockaddr_un *)&up;

		sun->sun_family = AF_UNIX;
		snprintf(sun->sun_path, sizeof(sun->sun_path), "%s", argv[2]);
		uplen = sizeof(*sun);
	} else {
		struct sockaddr_in *u = (struct sockaddr_in *)&up;
		char *c = strrchr(argv[2], ':');

		*c = '\0';
		u->sin_family = AF_INET;
		u->sin_port = htons((uint16_t)atoi(c + 1));
		inet_pton(AF_INET, argv[2], &u->sin_addr);
		uplen = sizeof(*u);
	}
	sin.sin_port = htons((uint16_t)atoi(argv[1]));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l, (struct sockaddr *)&sin, sizeof(sin)) || listen(l, 4096))
		return perror("listen"), 1;
	for (;;) {
		int c = accept4(l, NULL, NULL, SOCK_CLOEXEC), s;
		struct sess *x;
		pthread_t t;

		if (c < 0)
			continue;
		s = socket(up.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (s < 0 || connect(s, (struct sockaddr *)&up, uplen) < 0) {
			close(c);
			if (s >= 0)
				close(s);
			continue;
		}
		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (up.ss_family != AF_UNIX)
			setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		x = calloc(1, sizeof(*x));
		x->left = 2;
		x->d[0] = (struct dir){ c, s, x };
		x->d[1] = (struct dir){ s, c, x };
		for (int i = 0; i < 2; i++) {
			pthread_create(&t, NULL, pump, &x->d[i]);
			pthread_detach(t);
		}
	}
}
