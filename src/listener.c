/*
 * listener: bind, accept, pause and resume.
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
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
#include "log.h"
#include "session.h"

/* Clients accepted per readiness callback: enough to drain a burst,
 * few enough that one busy listener does not starve the sessions. */
#define LISTENER_ACCEPT_BURST 64
/* Default listen(2) backlog: the kernel caps it at net.core.somaxconn. */
#define LISTENER_BACKLOG_DEFAULT 65535
/* Pause after accept() ran out of fds or memory (REFERENCE rule 5). */
#define LISTENER_PAUSE_US 100000

static struct listener *listeners;
static struct listener *retired;	/* closed by a reload, sessions still running */
/* One rate limiter per frontend with "rate-limit sessions", shared by its
 * listeners. */
struct listener_rate {
	struct conf_proxy *fe;
	struct ratelimit rl;
	struct listener_rate *next;
};
static struct listener_rate *rates;
static unsigned int actconn;		/* sessions in progress */
static unsigned int global_maxconn;	/* process-wide limit */
static struct event *resume_timer;	/* fires after an EMFILE pause */
static time_t last_exhaust_log;		/* rate limit of the EMFILE line */
static unsigned long long exhaust_count;

static int
listener_bind_one(struct conf_bind *b, unsigned int backlog, char *err, size_t errlen)
{
	char addr[SOCKADDR_STRLEN];
	int fd, one = 1, v6only = b->v6only;

	sockaddr_print((struct sockaddr *)&b->addr.ss, addr, sizeof(addr));
	fd = socket(b->addr.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
	if (fd == -1) {
		snprintf(err, errlen, "cannot bind %s: socket: %s", addr, strerror(errno));
		return -1;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (b->addr.ss.ss_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only));
	if (bind(fd, (struct sockaddr *)&b->addr.ss, b->addr.len) == -1) {
		snprintf(err, errlen, "cannot bind %s: %s", addr, strerror(errno));
		close(fd);
		return -1;
	}
	if (listen(fd, (int)backlog) == -1) {
		snprintf(err, errlen, "cannot listen on %s: %s", addr, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int
listener_bind_all(struct conf *c, unsigned int maxconn, char *err, size_t errlen)
{
	struct listener **tail = &listeners;

	global_maxconn = maxconn;
	for (struct conf_proxy *px = c->proxies; px != NULL; px = px->next) {
		for (struct conf_bind *b = px->binds; b != NULL; b = b->next) {
			struct listener *l;
			/* The backlog is where clients wait while accepting is paused
			 * at maxconn, so by default it is as long as the kernel allows
			 * (listen() caps it at net.core.somaxconn), not maxconn as in
			 * HAProxy: once the accept queue overflows, Linux drops SYNs
			 * and handshake ACKs, and a client whose first bytes and FIN
			 * were sent meanwhile can be accepted with its bytes lost
			 * (seen on 6.18 with a plain server and listen(5)). */
			unsigned int backlog = b->backlog ? (unsigned int)b->backlog :
			    LISTENER_BACKLOG_DEFAULT;
			if ((l = calloc(1, sizeof(*l))) == NULL) {
				snprintf(err, errlen, "out of memory");
				goto fail;
			}
			if ((l->fd = listener_bind_one(b, backlog, err, errlen)) == -1) {
				free(l);
				goto fail;
			}
			l->bind = b;
			l->fe = px;
			*tail = l;
			tail = &l->next;
		}
	}
	return 0;
fail:
	listener_close_all();
	listener_free_all();
	return -1;
}

/* Has l room for one more session under every limit that applies? */
static int
listener_has_room(const struct listener *l)
{
	if (global_maxconn != 0 && actconn >= global_maxconn)
		return 0;
	if (l->fe->maxconn != 0 && l->fe->cur_sess >= l->fe->maxconn)
		return 0;
	if (l->bind->maxconn != 0 && l->cur_sess >= l->bind->maxconn)
		return 0;
	return 1;
}

static void
listener_pause(struct listener *l)
{
	if (l->active) {
		event_del(&l->ev);
		l->active = 0;
	}
}

static void
listener_resume(struct listener *l)
{
	if (l->rate != NULL && ratelimit_wait(l->rate, clock_now_us()) != 0)
		return;	/* its rate timer resumes it */
	if (!l->active && l->ev_set && l->fd != -1 && listener_has_room(l)) {
		event_add(&l->ev, NULL);
		l->active = 1;
	}
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

/* Above "rate-limit sessions": stop until the next session is allowed. */
static int
listener_rate_limited(struct listener *l)
{
	uint64_t wait;
	struct timeval tv;

	if (l->rate == NULL || (wait = ratelimit_wait(l->rate, clock_now_us())) == 0)
		return 0;
	listener_pause(l);
	tv.tv_sec = (time_t)(wait / 1000000);
	tv.tv_usec = (suseconds_t)(wait % 1000000);
	evtimer_add(&l->rate_timer, &tv);
	return 1;
}

static void
listener_on_resume_timer(evutil_socket_t fd, short what, void *arg)
{
	for (struct listener *l = listeners; l != NULL; l = l->next)
		listener_resume(l);
}

/* accept() found no fd or no memory: stop every listener for a while. */
static void
listener_exhausted(int e)
{
	struct timeval tv = { 0, LISTENER_PAUSE_US };
	time_t now = time(NULL);

	exhaust_count++;
	if (now != last_exhaust_log) {
		last_exhaust_log = now;
		log_warning("accept: %s; pausing accepts for %d ms (%u sessions, "
		    "%llu pauses so far)", strerror(e), LISTENER_PAUSE_US / 1000, actconn,
		    exhaust_count);
	}
	for (struct listener *l = listeners; l != NULL; l = l->next)
		listener_pause(l);
	evtimer_add(resume_timer, &tv);
}

static void
listener_on_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct listener *l = arg;

	for (int i = 0; i < LISTENER_ACCEPT_BURST; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int fd;

		if (!listener_has_room(l)) {
			/* The backlog holds the next clients until a session ends. */
			listener_pause(l);
			return;
		}
		if (listener_rate_limited(l))
			return;
		fd = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			switch (errno) {
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
				listener_exhausted(errno);
				return;
			default:
				log_err("accept on %s:%u: %s", l->bind->addr.host, l->bind->addr.port,
				    strerror(errno));
				listener_exhausted(errno);
				return;
			}
		}
		/* tcp-request connection: decided before the connection costs
		 * anything; like HAProxy, a rejected one is not logged. */
		if (l->fe->tcp_conn_rules != NULL &&
		    acl_connection_verdict(l->fe->tcp_conn_rules, (struct sockaddr *)&ss) ==
		    ACL_ACTION_REJECT) {
			close(fd);
			continue;
		}
		if (l->rate != NULL)
			ratelimit_take(l->rate, clock_now_us());
		dial_tune_socket(fd);
		actconn++;
		l->cur_sess++;
		l->fe->cur_sess++;
		l->fe->total_sess++;
		session_accept(event_get_base(&l->ev), l, fd, (struct sockaddr *)&ss, len);
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

/* Assign l's events on base (once per listener). */
static void
listener_arm(struct listener *l, struct event_base *base)
{
	evtimer_assign(&l->rate_timer, base, listener_on_rate_timer, l);
	event_assign(&l->ev, base, l->fd, EV_READ | EV_PERSIST, listener_on_accept, l);
	l->ev_set = 1;
}

int
listener_start(struct event_base *base)
{
	if ((resume_timer = evtimer_new(base, listener_on_resume_timer, NULL)) == NULL)
		return -1;
	for (struct listener *l = listeners; l != NULL; l = l->next) {
		if (listener_attach_rate(l) == -1)
			return -1;
		listener_arm(l, base);
		listener_resume(l);
	}
	return 0;
}

/* Close a listener for good; it is freed once its sessions are gone. */
static void
listener_retire(struct listener *l)
{
	listener_pause(l);
	if (l->ev_set)
		evtimer_del(&l->rate_timer);
	if (l->fd != -1)
		close(l->fd);
	l->fd = -1;
	l->rate = NULL;
	if (l->cur_sess == 0) {
		free(l);
		return;
	}
	l->retired = 1;
	l->next = retired;
	retired = l;
}

static int
listener_same_addr(const struct conf_bind *a, const struct conf_bind *b)
{
	return a->addr.len == b->addr.len && a->v6only == b->v6only &&
	    memcmp(&a->addr.ss, &b->addr.ss, a->addr.len) == 0;
}

int
listener_reload(struct conf *c, unsigned int maxconn, struct event_base *base,
    unsigned int *kept, unsigned int *opened, unsigned int *closed, char *err, size_t errlen)
{
	struct listener *fresh = NULL, **tail = &fresh, *l, *next;

	*kept = *opened = *closed = 0;
	for (l = listeners; l != NULL; l = l->next)
		l->matched = 0;
	/* 1: find or bind every address; nothing is changed yet. */
	for (struct conf_proxy *px = c->proxies; px != NULL; px = px->next) {
		for (struct conf_bind *b = px->binds; b != NULL; b = b->next) {
			struct listener *n;

			for (l = listeners; l != NULL; l = l->next) {
				if (!l->matched && listener_same_addr(l->bind, b))
					break;
			}
			if ((n = calloc(1, sizeof(*n))) == NULL) {
				snprintf(err, errlen, "out of memory");
				goto fail;
			}
			n->bind = b;
			n->fe = px;
			if (l != NULL) {
				l->matched = 1;
				n->fd = -1;
				n->next = l;	/* scratch: the listener it takes over */
			} else if ((n->fd = listener_bind_one(b, b->backlog ? (unsigned int)b->backlog :
			    LISTENER_BACKLOG_DEFAULT, err, errlen)) == -1) {
				free(n);
				goto fail;
			}
			*tail = n;
			tail = &n->matched_next;
		}
	}
	/* 2: commit. Kept listeners take their new frontend; new ones start. */
	global_maxconn = maxconn;
	listener_free_rates();
	for (l = listeners; l != NULL; l = next) {
		next = l->next;
		if (!l->matched) {
			listener_retire(l);
			(*closed)++;
		}
	}
	listeners = NULL;
	tail = &listeners;
	for (struct listener *n = fresh; n != NULL; n = next) {
		next = n->matched_next;
		if (n->fd == -1) {
			l = n->next;
			l->bind = n->bind;
			l->fe = n->fe;
			/* listen() again applies a changed backlog to the socket. */
			(void)listen(l->fd, n->bind->backlog ? n->bind->backlog :
			    LISTENER_BACKLOG_DEFAULT);
			free(n);
			(*kept)++;
		} else {
			l = n;
			l->matched_next = NULL;
			listener_arm(l, base);
			(*opened)++;
		}
		l->next = NULL;
		l->matched = 0;
		*tail = l;
		tail = &l->next;
		/* Past the commit nothing may fail: the old configuration is
		 * about to go. Without memory for its limiter, a frontend runs
		 * unlimited and says so. */
		if (listener_attach_rate(l) == -1)
			log_err("reload: out of memory for the rate limit of frontend '%s'; "
			    "it runs unlimited", l->fe->name);
	}
	for (l = listeners; l != NULL; l = l->next)
		listener_resume(l);
	return 0;
fail:
	for (struct listener *n = fresh; n != NULL; n = next) {
		next = n->matched_next;
		if (n->fd != -1)
			close(n->fd);
		free(n);
	}
	for (l = listeners; l != NULL; l = l->next)
		l->matched = 0;
	return -1;
}

void
listener_release(struct listener *l, struct conf_proxy *fe)
{
	actconn--;
	l->cur_sess--;
	fe->cur_sess--;
	if (l->retired && l->cur_sess == 0) {
		struct listener **p;

		for (p = &retired; *p != l; p = &(*p)->next)
			;
		*p = l->next;
		free(l);
	}
	/* A slot opened: any listener paused for a limit may go on. */
	for (struct listener *m = listeners; m != NULL; m = m->next)
		listener_resume(m);
}

void
listener_close_all(void)
{
	for (struct listener *l = listeners; l != NULL; l = l->next) {
		listener_pause(l);
		if (l->ev_set)
			evtimer_del(&l->rate_timer);
		if (l->fd != -1) {
			close(l->fd);
			l->fd = -1;
		}
	}
	if (resume_timer != NULL)
		evtimer_del(resume_timer);
}

void
listener_free_all(void)
{
	while (listeners != NULL) {
		struct listener *l = listeners;

		listeners = l->next;
		if (l->ev_set) {
			event_del(&l->ev);
			evtimer_del(&l->rate_timer);
		}
		if (l->fd != -1)
			close(l->fd);
		free(l);
	}
	if (resume_timer != NULL) {
		event_free(resume_timer);
		resume_timer = NULL;
	}
	listener_free_rates();
	while (retired != NULL) {
		struct listener *l = retired;

		retired = l->next;
		free(l);
	}
}

unsigned int
listener_actconn(void)
{
	return actconn;
}
