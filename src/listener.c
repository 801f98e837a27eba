/*
 * listener: bind, accept, pause and resume.
 *
 * Threads: the list of listeners changes only before the workers start
 * or while they are parked (reload); otherwise each worker reads it and
 * touches only its own listeners. What workers share is counted with
 * atomics (actconn, the frontend's and the bind line's sessions) or
 * under rate_lock (rate-limit sessions); none of it is per byte.
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "acl.h"
#include "clock.h"
#include "dial.h"
#include "listener.h"
#include "portown.h"
#include "log.h"
#include "persist.h"
#include "ratelimit.h"
#include "worker.h"

#include <event2/event_struct.h>

/* What the per-thread sockets of one address share. */
struct listener_shared {
	unsigned int cur_sess;		/* sessions of this bind line, atomic */
	unsigned int refs;		/* listeners pointing here */
};

/* One listening socket of one bind address on one worker thread. With
 * nbthread N, every address has N sockets (SO_REUSEPORT): the kernel
 * spreads new clients over them and each worker accepts its own. */
struct listener {
	int fd;				/* listening socket, -1 once closed */
	unsigned int wid;		/* the worker that owns it */
	struct conf_bind *bind;		/* its bind line */
	struct conf_proxy *fe;		/* its frontend (or listen) */
	struct listener_shared *shared;	/* counters of its address */
	struct event ev;		/* readable: clients wait in the backlog */
	int ev_set;			/* ev was assigned (by its worker) */
	int active;			/* ev is added */
	int room_paused;		/* paused for a limit shared with other workers */
	unsigned int cur_sess;		/* sessions accepted here and not yet ended */
	struct ratelimit *rate;		/* the frontend's rate-limit sessions, or NULL */
	struct event rate_timer;	/* resumes accepting when the rate allows */
	int retired;			/* dropped by a reload: freed when cur_sess is 0 */
	int matched;			/* reload scratch: kept for the new configuration */
	struct conf_bind *new_bind;	/* reload scratch: its bind line there */
	struct conf_proxy *new_fe;	/* reload scratch: its frontend there */
	struct listener *next;
};

/* tcp-request connection rules on a client just accepted: what they may
 * fetch is known here (no byte is read yet). */
static int
listener_verdict(const struct listener *l, int fd, const struct sockaddr_storage *cli,
    void *track[SMP_TRACK_MAX])
{
	struct sockaddr_storage dst;
	socklen_t len = sizeof(dst);
	struct sample_ctx ctx = { .cli = (const struct sockaddr *)cli, .final = 1, .fe = l->fe,
	    .so_id = conf_bind_id(l->fe, l->bind) };
	int v;

	if (getsockname(fd, (struct sockaddr *)&dst, &len) == 0)
		ctx.dst = (const struct sockaddr *)&dst;
	v = acl_rules_verdict(l->fe->tcp_conn_rules, &ctx);
	memcpy(track, ctx.track, sizeof(ctx.track));
	return v;
}

/* Clients accepted per readiness callback: enough to drain a burst,
 * few enough that one busy listener does not starve the sessions. */
#define LISTENER_ACCEPT_BURST 64
/* Default listen(2) backlog: the kernel caps it at net.core.somaxconn. */
#define LISTENER_BACKLOG_DEFAULT 65535
/* Pause after accept() ran out of fds or memory (retrying at once would spin: the error lasts until an fd or memory is freed). */
#define LISTENER_PAUSE_US 100000

static struct listener *listeners;
static listener_on_client on_client;	/* who takes accepted clients */
static unsigned int nthreads = 1;	/* sockets per address */
/* Closed by a reload, sessions still running: one list per worker. */
static struct listener *retired[WORKER_MAX];
/* One rate limiter per frontend with "rate-limit sessions", shared by its
 * listeners on every worker. */
struct listener_rate {
	struct conf_proxy *fe;
	struct ratelimit rl;
	struct listener_rate *next;
};
static struct listener_rate *rates;
static pthread_mutex_t rate_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned int actconn;		/* sessions in progress, atomic */
static unsigned int global_maxconn;	/* process-wide limit */
static struct event *resume_timer[WORKER_MAX];	/* fires after an EMFILE pause */
static time_t last_exhaust_log;		/* rate limit of the EMFILE line, atomic */
static unsigned long long exhaust_count;	/* atomic */

static unsigned int
listener_backlog(const struct conf_bind *b)
{
	/* The backlog is where clients wait while accepting is paused at
	 * maxconn, so by default it is as long as the kernel allows (listen()
	 * caps it at net.core.somaxconn), not maxconn as in HAProxy: once the
	 * accept queue overflows, Linux drops SYNs and handshake ACKs, and a
	 * client whose first bytes and FIN were sent meanwhile can be
	 * accepted with its bytes lost (seen on 6.18 with a plain server and
	 * listen(5)). */
	return b->backlog ? (unsigned int)b->backlog : LISTENER_BACKLOG_DEFAULT;
}

/* A listening socket for b. The first of an address (first != 0) also
 * checks, once bound and before it listens, that no other process
 * listens there with SO_REUSEPORT (portown.h): the kernel would have
 * let the bind share that process's clients. */
static int
listener_bind_one(struct conf_bind *b, int first, char *err, size_t errlen)
{
	char addr[SOCKADDR_STRLEN];
	int fd, one = 1, v6only = b->v6only, tfo_qlen = (int)listener_backlog(b);

	sockaddr_print((struct sockaddr *)&b->addr.ss, addr, sizeof(addr));
	fd = socket(b->addr.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
	if (fd == -1) {
		snprintf(err, errlen, "cannot bind %s: socket: %s", addr, strerror(errno));
		return -1;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* One socket per worker: the kernel spreads clients over them. */
	if (nthreads > 1 &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) == -1) {
		snprintf(err, errlen, "cannot bind %s: SO_REUSEPORT: %s", addr, strerror(errno));
		close(fd);
		return -1;
	}
	if (b->addr.ss.ss_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only));
	/* "tfo": Fast Open requests may wait as long as the backlog, as in
	 * HAProxy. */
	if (b->tfo && setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN, &tfo_qlen, sizeof(tfo_qlen)) == -1) {
		snprintf(err, errlen, "cannot bind %s: TCP_FASTOPEN: %s", addr, strerror(errno));
		close(fd);
		return -1;
	}
	/* TCP_NODELAY and SO_OOBINLINE pass from a listening socket to every
	 * socket accept() returns: set once here, not twice per client. */
	dial_tune_socket(fd);
	if (bind(fd, (struct sockaddr *)&b->addr.ss, b->addr.len) == -1) {
		snprintf(err, errlen, "cannot bind %s: %s", addr, strerror(errno));
		close(fd);
		return -1;
	}
	if (first && portown_check(&b->addr.ss, err, errlen) == -1) {
		close(fd);
		return -1;
	}
	if (listen(fd, (int)listener_backlog(b)) == -1) {
		snprintf(err, errlen, "cannot listen on %s: %s", addr, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int listener_attach_rate(struct listener *l);

/* The sockets a reload bound ahead of its commit, and the tail of that
 * list (main thread only, between the two steps). */
static struct listener *reload_fresh, **reload_tail;

static void
listener_put_shared(struct listener_shared *sh)
{
	if (sh != NULL && --sh->refs == 0)
		free(sh);
}

static void
listener_free(struct listener *l)
{
	if (l->fd != -1)
		close(l->fd);
	listener_put_shared(l->shared);
	free(l);
}

/*
 * nthreads listeners for bind b, one per worker, appended through tail.
 * Returns the new tail, or NULL with err set (nothing left open).
 */
static struct listener **
listener_open_address(struct conf_bind *b, struct conf_proxy *px, struct listener **tail,
    char *err, size_t errlen)
{
	struct listener_shared *sh = calloc(1, sizeof(*sh));
	struct listener *first = NULL, **t = tail;

	if (sh == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (unsigned int i = 0; i < nthreads; i++) {
		struct listener *l = calloc(1, sizeof(*l));

		if (l == NULL) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		if ((l->fd = listener_bind_one(b, i == 0, err, errlen)) == -1) {
			free(l);
			goto fail;
		}
		l->wid = i;
		l->bind = b;
		l->fe = px;
		l->shared = sh;
		sh->refs++;
		if (first == NULL)
			first = l;
		*t = l;
		t = &l->next;
	}
	return t;
fail:
	*t = NULL;
	while (first != NULL) {
		struct listener *next = first->next;

		listener_free(first);
		first = next;
	}
	*tail = NULL;
	if (sh->refs == 0)
		free(sh);
	return NULL;
}

int
listener_bind_all(struct conf *c, unsigned int maxconn, unsigned int nthr,
    listener_on_client cb, char *err, size_t errlen)
{
	struct listener **tail = &listeners;

	on_client = cb;
	global_maxconn = maxconn;
	nthreads = nthr > 0 ? nthr : 1;
	for (struct conf_proxy *px = c->proxies; px != NULL; px = px->next) {
		for (struct conf_bind *b = px->binds; b != NULL; b = b->next) {
			if ((tail = listener_open_address(b, px, tail, err, errlen)) == NULL)
				goto fail;
		}
	}
	for (struct listener *l = listeners; l != NULL; l = l->next) {
		if (listener_attach_rate(l) == -1) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	}
	return 0;
fail:
	listener_free_all();
	return -1;
}

/* Count one more session against limit, unless it is reached. */
static int
listener_take_slot(unsigned int *cur, unsigned int limit)
{
	if (__atomic_add_fetch(cur, 1, __ATOMIC_RELAXED) <= limit || limit == 0)
		return 1;
	__atomic_sub_fetch(cur, 1, __ATOMIC_RELAXED);
	return 0;
}

/* The frontend's peak of sessions at once (show stat's smax). */
static void
listener_note_max(struct conf_proxy *fe)
{
	unsigned int cur = __atomic_load_n(&fe->cur_sess, __ATOMIC_RELAXED);
	unsigned int max = __atomic_load_n(&fe->max_sess, __ATOMIC_RELAXED);

	while (cur > max && !__atomic_compare_exchange_n(&fe->max_sess, &max, cur, 1,
	    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

/* Reserve a place under every limit that applies to l: process, frontend,
 * bind line. Returns 0 when one of them is full (nothing reserved). */
static int
listener_reserve(struct listener *l)
{
	if (__atomic_load_n(&l->fe->stopped, __ATOMIC_RELAXED) ||
	    !listener_take_slot(&actconn, __atomic_load_n(&global_maxconn, __ATOMIC_RELAXED)))
		return 0;
	if (!listener_take_slot(&l->fe->cur_sess, __atomic_load_n(&l->fe->maxconn,
	    __ATOMIC_RELAXED))) {
		__atomic_sub_fetch(&actconn, 1, __ATOMIC_RELAXED);
		return 0;
	}
	if (!listener_take_slot(&l->shared->cur_sess, (unsigned int)l->bind->maxconn)) {
		__atomic_sub_fetch(&l->fe->cur_sess, 1, __ATOMIC_RELAXED);
		__atomic_sub_fetch(&actconn, 1, __ATOMIC_RELAXED);
		return 0;
	}
	return 1;
}

static void
listener_unreserve(struct listener *l, struct conf_proxy *fe)
{
	__atomic_sub_fetch(&l->shared->cur_sess, 1, __ATOMIC_RELAXED);
	__atomic_sub_fetch(&fe->cur_sess, 1, __ATOMIC_RELAXED);
	__atomic_sub_fetch(&actconn, 1, __ATOMIC_RELAXED);
}

/* Has l room for one more session under every limit that applies? */
static int
listener_has_room(const struct listener *l)
{
	unsigned int fe_max = __atomic_load_n(&l->fe->maxconn, __ATOMIC_RELAXED);
	unsigned int b_max = (unsigned int)l->bind->maxconn;
	unsigned int g_max = __atomic_load_n(&global_maxconn, __ATOMIC_RELAXED);

	if (__atomic_load_n(&l->fe->stopped, __ATOMIC_RELAXED))
		return 0;
	if (g_max != 0 && __atomic_load_n(&actconn, __ATOMIC_RELAXED) >= g_max)
		return 0;
	if (fe_max != 0 && __atomic_load_n(&l->fe->cur_sess, __ATOMIC_RELAXED) >= fe_max)
		return 0;
	if (b_max != 0 && __atomic_load_n(&l->shared->cur_sess, __ATOMIC_RELAXED) >= b_max)
		return 0;
	return 1;
}

static int
listener_mine(const struct listener *l)
{
	const struct worker *w = worker_self();

	return w != NULL && l->wid == worker_id(w);
}

static void
listener_pause(struct listener *l)
{
	if (l->active) {
		event_del(&l->ev);
		l->active = 0;
	}
}

/* Paused because a limit shared with other workers is reached: their
 * sessions ending must wake this worker (listener_release). */
static void
listener_pause_for_room(struct listener *l)
{
	listener_pause(l);
	if (!l->room_paused) {
		l->room_paused = 1;
		worker_note_paused(worker_get(l->wid), 1);
	}
}

static void listener_exhausted(const char *what, int e);

static void
listener_resume(struct listener *l)
{
	uint64_t wait;

	if (l->fd == -1 || !l->ev_set)
		return;
	if (!listener_has_room(l)) {
		listener_pause_for_room(l);	/* also an active one: a limit was lowered */
		return;
	}
	if (l->active)
		return;
	if (l->room_paused) {
		l->room_paused = 0;
		worker_note_paused(worker_get(l->wid), -1);
	}
	if (l->rate != NULL) {
		pthread_mutex_lock(&rate_lock);
		wait = ratelimit_wait(l->rate, clock_now_us());
		pthread_mutex_unlock(&rate_lock);
		if (wait != 0)
			return;	/* its rate timer resumes it */
	}
	/* libevent allocates for an fd it has not watched before: failing,
	 * the listener would look active and never accept. */
	if (event_add(&l->ev, NULL) == -1) {
		listener_exhausted("watching a listener", ENOMEM);
		return;
	}
	l->active = 1;
}

static int listener_rate_limited(struct listener *l);

/* The timer may fire a little before our clock says the wait is over:
 * then it is armed again, never left idle with the listener paused. */
static void
listener_on_rate_timer(evutil_socket_t fd, short what, void *arg)
{
	struct listener *l = arg;

	if (!listener_rate_limited(l))
		listener_resume(l);
}

/* Above "rate-limit sessions": stop until the next session is allowed;
 * otherwise count this one. Returns 1 when limited. */
static int
listener_rate_limited(struct listener *l)
{
	uint64_t wait, now = clock_now_us();
	struct timeval tv;

	if (l->rate == NULL)
		return 0;
	pthread_mutex_lock(&rate_lock);
	wait = ratelimit_wait(l->rate, now);
	pthread_mutex_unlock(&rate_lock);
	if (wait == 0)
		return 0;
	listener_pause(l);
	tv.tv_sec = (time_t)(wait / 1000000);
	tv.tv_usec = (suseconds_t)(wait % 1000000);
	evtimer_add(&l->rate_timer, &tv);
	return 1;
}

void
listener_resume_own(void)
{
	for (struct listener *l = listeners; l != NULL; l = l->next) {
		if (listener_mine(l))
			listener_resume(l);
	}
}

static void
listener_on_resume_timer(evutil_socket_t fd, short what, void *arg)
{
	listener_resume_own();
}

/* Try this worker's listeners again in LISTENER_PAUSE_US. The timer is
 * made by listener_sync(); made here if that failed (which may fail too). */
static void
listener_resume_later(void)
{
	struct timeval tv = { 0, LISTENER_PAUSE_US };
	struct worker *w = worker_self();
	struct event **t = &resume_timer[worker_id(w)];

	if (*t == NULL)
		*t = evtimer_new(worker_base(w), listener_on_resume_timer, NULL);
	if (*t == NULL || evtimer_add(*t, &tv) == -1)
		log_err("thread %u: out of memory for its accept timer; its listeners wait "
		    "for one of its sessions to end", worker_id(w));
}

/* accept() found no fd or no memory: stop this worker's listeners for a
 * while (the others find out on their own), and give the fds of its
 * pooled pipes back: a client accepted is worth more than a pipe kept. */
static void
listener_exhausted(const char *what, int e)
{
	time_t now = time(NULL);
	unsigned long long n = __atomic_add_fetch(&exhaust_count, 1, __ATOMIC_RELAXED);

	if (__atomic_exchange_n(&last_exhaust_log, now, __ATOMIC_RELAXED) != now)
		log_warning("%s: %s; pausing accepts for %d ms (%u sessions, "
		    "%llu pauses so far)", what, strerror(e), LISTENER_PAUSE_US / 1000,
		    listener_actconn(), n);
	for (struct listener *l = listeners; l != NULL; l = l->next) {
		if (listener_mine(l))
			listener_pause(l);
	}
	pipe_pool_drain(worker_pool(worker_self()));
	listener_resume_later();
}

/* Give the client to the layer above; it owns fd from here on. */
static void
listener_hand_over(struct listener *l, int fd, const struct sockaddr_storage *ss,
    socklen_t len, void *const track[SMP_TRACK_MAX])
{
	struct listener_client c = {
		.l = l, .fe = l->fe, .bind = l->bind, .base = event_get_base(&l->ev),
		.fd = fd, .addr = *ss, .len = len,
	};

	memcpy(c.track, track, sizeof(c.track));
	on_client(&c);
}

static void
listener_on_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct listener *l = arg;

	for (int i = 0; i < LISTENER_ACCEPT_BURST; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		void *track[SMP_TRACK_MAX];
		int fd;

		if (listener_rate_limited(l))
			return;
		if (!worker_spare_hold()) {	/* no fd for this client's server */
			listener_exhausted("accept", EMFILE);
			return;
		}
		if (!listener_reserve(l)) {
			/* The backlog holds the next clients until a session ends. */
			listener_pause_for_room(l);
			return;
		}
		fd = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			int e = errno;

			listener_unreserve(l, l->fe);
			switch (e) {
			case EAGAIN:
				return;
			case EINTR:
			case ECONNABORTED:	/* the client left before we took it */
			case EPROTO:
			case EPERM:		/* a firewall rule refused it */
				continue;
			case EMFILE:
			case ENFILE:
			case ENOBUFS:
			case ENOMEM:
				listener_exhausted("accept", e);
				return;
			default:
				log_err("accept on %s:%u: %s", l->bind->addr.host, l->bind->addr.port,
				    strerror(e));
				listener_exhausted("accept", e);
				return;
			}
		}
		/* tcp-request connection: decided before the connection costs
		 * anything; like HAProxy, a rejected one is not logged. */
		memset(track, 0, sizeof(track));
		if (l->fe->tcp_conn_rules != NULL && listener_verdict(l, fd, &ss, track) ==
		    ACL_ACTION_REJECT) {
			/* A tracked connection counted; it ends here. */
			persist_untrack(track, 0, 0, clock_now_us());
			listener_unreserve(l, l->fe);
			__atomic_add_fetch(&l->fe->denied_conn, 1, __ATOMIC_RELAXED);
			close(fd);
			continue;
		}
		if (l->rate != NULL) {
			pthread_mutex_lock(&rate_lock);
			ratelimit_take(l->rate, clock_now_us());
			pthread_mutex_unlock(&rate_lock);
		}
		l->cur_sess++;
		__atomic_add_fetch(&l->fe->total_sess, 1, __ATOMIC_RELAXED);
		listener_note_max(l->fe);
		listener_hand_over(l, fd, &ss, len, track);
	}
}

/* Give l the rate limiter of its frontend, creating it on first use. */
static int
listener_attach_rate(struct listener *l)
{
	struct listener_rate *r;

	l->rate = NULL;
	if (l->fe->rate_limit == 0)
		return 0;
	for (r = rates; r != NULL && r->fe != l->fe; r = r->next)
		;
	if (r == NULL) {
		if ((r = calloc(1, sizeof(*r))) == NULL)
			return -1;
		r->fe = l->fe;
		/* HAProxy's limit is a per-second count: allow the whole
		 * second's worth at once, then the steady rate. */
		ratelimit_init(&r->rl, l->fe->rate_limit, l->fe->rate_limit);
		r->next = rates;
		rates = r;
	}
	l->rate = &r->rl;
	return 0;
}

static void
listener_free_rates(void)
{
	while (rates != NULL) {
		struct listener_rate *r = rates;

		rates = r->next;
		free(r);
	}
}

/* Own thread: stop watching and close; the struct stays for counting. */
static void
listener_shut(struct listener *l)
{
	listener_pause(l);
	if (l->ev_set)
		evtimer_del(&l->rate_timer);
	if (l->fd != -1)
		close(l->fd);
	l->fd = -1;
	if (l->room_paused) {
		l->room_paused = 0;
		worker_note_paused(worker_get(l->wid), -1);
	}
}

void
listener_sync(void)
{
	struct worker *w = worker_self();
	struct listener **p;

	/* Made now, while memory is plentiful, not when it is short. */
	if (resume_timer[worker_id(w)] == NULL)
		resume_timer[worker_id(w)] = evtimer_new(worker_base(w), listener_on_resume_timer,
		    NULL);
	for (struct listener *l = listeners; l != NULL; l = l->next) {
		if (!listener_mine(l) || l->ev_set || l->fd == -1)
			continue;
		evtimer_assign(&l->rate_timer, worker_base(w), listener_on_rate_timer, l);
		event_assign(&l->ev, worker_base(w), l->fd, EV_READ | EV_PERSIST, listener_on_accept, l);
		l->ev_set = 1;
	}
	/* Listeners a reload dropped: close now, free once their sessions end. */
	for (p = &retired[worker_id(w)]; *p != NULL;) {
		struct listener *l = *p;

		listener_shut(l);
		if (l->cur_sess == 0) {
			*p = l->next;
			listener_free(l);
		} else {
			p = &l->next;
		}
	}
	listener_resume_own();
}

static int
listener_same_addr(const struct conf_bind *a, const struct conf_bind *b)
{
	return a->addr.len == b->addr.len && a->v6only == b->v6only && a->tfo == b->tfo &&
	    memcmp(&a->addr.ss, &b->addr.ss, a->addr.len) == 0;
}

int
listener_reload_prepare(struct conf *c, unsigned int *opened, char *err, size_t errlen)
{
	struct listener **tail, *l, *next;

	reload_fresh = NULL;
	tail = &reload_fresh;
	*opened = 0;
	for (l = listeners; l != NULL; l = l->next)
		l->matched = 0;
	/* 1: find or bind every address; nothing is changed yet. Kept
	 * listeners are marked; new sockets go to fresh. */
	for (struct conf_proxy *px = c->proxies; px != NULL; px = px->next) {
		for (struct conf_bind *b = px->binds; b != NULL; b = b->next) {
			int found = 0;

			for (l = listeners; l != NULL; l = l->next) {
				if (!l->matched && listener_same_addr(l->bind, b)) {
					/* All sockets of that address, one per worker. */
					struct listener_shared *sh = l->shared;

					for (struct listener *m = l; m != NULL; m = m->next) {
						if (m->shared == sh) {
							m->matched = 1;
							m->new_bind = b;
							m->new_fe = px;
						}
					}
					found = 1;
					break;
				}
			}
			if (found)
				continue;
			if ((tail = listener_open_address(b, px, tail, err, errlen)) == NULL)
				goto fail;
			(*opened)++;
		}
	}
	reload_tail = tail;
	return 0;
fail:
	for (l = reload_fresh; l != NULL; l = next) {
		next = l->next;
		listener_free(l);
	}
	reload_fresh = NULL;
	for (l = listeners; l != NULL; l = l->next)
		l->matched = 0;
	return -1;
}

void
listener_reload_commit(unsigned int maxconn, unsigned int *kept, unsigned int *closed)
{
	struct listener **tail, *l;

	*kept = *closed = 0;
	/* 2: commit (workers are parked). Kept listeners take their new bind
	 * and frontend; dropped ones go to their worker's retired list. */
	global_maxconn = maxconn;
	listener_free_rates();
	for (struct listener **p = &listeners; *p != NULL;) {
		l = *p;
		if (l->matched) {
			l->bind = l->new_bind;
			l->fe = l->new_fe;
			l->matched = 0;
			/* listen() again applies a changed backlog to the socket. */
			(void)listen(l->fd, (int)listener_backlog(l->bind));
			if (l->wid == 0)
				(*kept)++;
			p = &l->next;
		} else {
			*p = l->next;
			if (l->wid == 0)
				(*closed)++;
			l->retired = 1;
			l->next = retired[l->wid];
			retired[l->wid] = l;
		}
	}
	*reload_tail = NULL;
	for (tail = &listeners; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = reload_fresh;
	reload_fresh = NULL;
	/* Past the commit nothing may fail: the old configuration is about
	 * to go. Without memory for its limiter, a frontend runs unlimited
	 * and says so. */
	for (l = listeners; l != NULL; l = l->next) {
		if (listener_attach_rate(l) == -1)
			log_err("reload: out of memory for the rate limit of frontend '%s'; "
			    "it runs unlimited", l->fe->name);
	}
}

void
listener_release(struct listener *l, struct conf_proxy *fe)
{
	struct worker *me = worker_self();

	listener_unreserve(l, fe);
	l->cur_sess--;
	if (l->retired && l->cur_sess == 0 && l->fd == -1) {
		struct listener **p;

		for (p = &retired[l->wid]; *p != l; p = &(*p)->next)
			;
		*p = l->next;
		listener_free(l);
	}
	/* A slot opened: paused listeners may go on, here and elsewhere. */
	listener_resume_own();
	for (unsigned int i = 0; i < worker_count(); i++) {
		struct worker *w = worker_get(i);

		if (w != me && worker_has_paused(w))
			worker_signal(w, WORKER_F_RESUME);
	}
}

void
listener_set_stopped(struct conf_proxy *fe, int stopped)
{
	__atomic_store_n(&fe->stopped, stopped ? 1u : 0u, __ATOMIC_RELAXED);
	worker_signal_all(WORKER_F_RESUME);
}

void
listener_set_maxconn(struct conf_proxy *fe, unsigned int n)
{
	__atomic_store_n(fe != NULL ? &fe->maxconn : &global_maxconn, n, __ATOMIC_RELAXED);
	worker_signal_all(WORKER_F_RESUME);
}

unsigned int
listener_maxconn(void)
{
	return __atomic_load_n(&global_maxconn, __ATOMIC_RELAXED);
}

void
listener_close_own(void)
{
	struct worker *w = worker_self();

	for (struct listener *l = listeners; l != NULL; l = l->next) {
		if (listener_mine(l))
			listener_shut(l);
	}
	if (resume_timer[worker_id(w)] != NULL)
		evtimer_del(resume_timer[worker_id(w)]);
}

void
listener_free_all(void)
{
	while (listeners != NULL) {
		struct listener *l = listeners;

		listeners = l->next;
		listener_free(l);
	}
	for (unsigned int i = 0; i < WORKER_MAX; i++) {
		if (resume_timer[i] != NULL) {
			event_free(resume_timer[i]);
			resume_timer[i] = NULL;
		}
		while (retired[i] != NULL) {
			struct listener *l = retired[i];

			retired[i] = l->next;
			listener_free(l);
		}
	}
	listener_free_rates();
}

unsigned int
listener_actconn(void)
{
	return __atomic_load_n(&actconn, __ATOMIC_RELAXED);
}
