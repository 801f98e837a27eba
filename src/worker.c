/*
 * worker: threads, wake-ups, jobs and isolation.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include "log.h"
#include "worker.h"

struct worker {
	unsigned int id;		/* 0 .. nbthread-1 */
	pthread_t thread;
	struct event_base *base;
	int wake_fd;			/* eventfd */
	int spare_fd;			/* spare IPv4 TCP socket for a dial, -1 when spent */
	struct event wake_ev;
	unsigned int flags;		/* WORKER_F_*, atomic */
	unsigned int limit_paused;	/* listeners paused for a shared limit, atomic */
	int stopping;			/* own thread: draining */
	struct pipe_pool pool;
	pthread_mutex_t lock;		/* the inbox */
	struct worker_job *inbox, *inbox_tail;
};

static struct worker *workers[WORKER_MAX];
static unsigned int nworkers;
static __thread struct worker *self;

/* Isolation: the control thread waits until every running worker is
 * parked, and workers wait until it is over. */
static pthread_mutex_t iso_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t iso_cond = PTHREAD_COND_INITIALIZER;
static int iso_on;
static unsigned int iso_parked;
static unsigned int nrunning;		/* workers inside their loop (iso_lock) */

/* Control thread: a worker's loop ended. */
static int exit_fd = -1;
static struct event *exit_ev;
static void (*exit_cb)(void);

static struct worker_hooks hooks;	/* set by worker_init() */
static const char *kill_reason = "process stopping";
static unsigned int prealloc_each;	/* tune.pipe.prealloc / workers, rounded up */

struct worker *
worker_self(void)
{
	return self;
}

unsigned int
worker_count(void)
{
	return nworkers;
}

struct worker *
worker_get(unsigned int i)
{
	return i < nworkers ? workers[i] : NULL;
}

unsigned int
worker_id(const struct worker *w)
{
	return w->id;
}

struct event_base *
worker_base(const struct worker *w)
{
	return w->base;
}

struct pipe_pool *
worker_pool(struct worker *w)
{
	return &w->pool;
}

void
worker_note_paused(struct worker *w, int delta)
{
	__atomic_add_fetch(&w->limit_paused, (unsigned int)delta, __ATOMIC_RELAXED);
}

int
worker_has_paused(const struct worker *w)
{
	return __atomic_load_n(&w->limit_paused, __ATOMIC_RELAXED) != 0;
}

static void
worker_wake(struct worker *w)
{
	uint64_t one = 1;

	(void)!write(w->wake_fd, &one, sizeof(one));
}

void
worker_signal(struct worker *w, unsigned int flags)
{
	__atomic_or_fetch(&w->flags, flags, __ATOMIC_RELEASE);
	worker_wake(w);
}

void
worker_signal_all(unsigned int flags)
{
	for (unsigned int i = 0; i < nworkers; i++)
		worker_signal(workers[i], flags);
}

void
worker_post(struct worker *w, struct worker_job *j)
{
	pthread_mutex_lock(&w->lock);
	j->next = NULL;
	j->posted = 1;
	if (w->inbox_tail != NULL)
		w->inbox_tail->next = j;
	else
		w->inbox = j;
	w->inbox_tail = j;
	pthread_mutex_unlock(&w->lock);
	worker_wake(w);
}

int
worker_unpost(struct worker *w, struct worker_job *j)
{
	struct worker_job **p, *prev = NULL;
	int found = 0;

	pthread_mutex_lock(&w->lock);
	if (j->posted) {
		for (p = &w->inbox; *p != NULL; prev = *p, p = &(*p)->next) {
			if (*p == j) {
				*p = j->next;
				if (w->inbox_tail == j)
					w->inbox_tail = prev;
				break;
			}
		}
		j->posted = 0;
		found = 1;
	}
	pthread_mutex_unlock(&w->lock);
	return found;
}

/* One job at a time, so that a job may unpost any other. */
static struct worker_job *
worker_next_job(struct worker *w)
{
	struct worker_job *j;

	pthread_mutex_lock(&w->lock);
	if ((j = w->inbox) != NULL) {
		w->inbox = j->next;
		if (w->inbox == NULL)
			w->inbox_tail = NULL;
		j->posted = 0;
	}
	pthread_mutex_unlock(&w->lock);
	return j;
}

static void
worker_park(void)
{
	pthread_mutex_lock(&iso_lock);
	if (iso_on) {
		iso_parked++;
		pthread_cond_broadcast(&iso_cond);
		while (iso_on)
			pthread_cond_wait(&iso_cond, &iso_lock);
		iso_parked--;
	}
	pthread_mutex_unlock(&iso_lock);
}

void
worker_idle(void)
{
	if (self != NULL && self->stopping && hooks.live() == 0)
		event_base_loopexit(self->base, NULL);
}

static void
worker_on_wake(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	struct worker_job *j;
	unsigned int flags;
	uint64_t n;

	(void)!read(fd, &n, sizeof(n));
	worker_park();
	flags = __atomic_exchange_n(&w->flags, 0, __ATOMIC_ACQUIRE);
	if (flags & WORKER_F_SYNC)
		hooks.sync();
	if (flags & WORKER_F_KILL) {
		hooks.stop_accepting();
		w->stopping = 1;
		hooks.kill(__atomic_load_n(&kill_reason, __ATOMIC_ACQUIRE));
	} else if (flags & WORKER_F_DRAIN) {
		hooks.stop_accepting();
		w->stopping = 1;
	}
	if (flags & WORKER_F_RESUME)
		hooks.resume();
	while ((j = worker_next_job(w)) != NULL)
		j->run(j);
	worker_idle();
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	uint64_t one = 1;

	self = w;
	pipe_pool_use(&w->pool);
	if (prealloc_each > 0 && pipe_pool_prealloc(prealloc_each) < prealloc_each)
		log_warning("thread %u: made %u of %u preallocated pipes (maxpipes or the fd "
		    "limit)", w->id, w->pool.st.free, prealloc_each);
	hooks.sync();
	event_base_dispatch(w->base);
	hooks.kill(kill_reason);	/* none left after a drain */
	hooks.stop_accepting();
	pipe_pool_drain(&w->pool);
	pthread_mutex_lock(&iso_lock);
	nrunning--;
	pthread_cond_broadcast(&iso_cond);
	pthread_mutex_unlock(&iso_lock);
	(void)!write(exit_fd, &one, sizeof(one));
	return NULL;
}

static void
worker_on_exit_fd(evutil_socket_t fd, short what, void *arg)
{
	uint64_t n = 0;

	(void)!read(fd, &n, sizeof(n));
	while (n-- > 0 && exit_cb != NULL)
		exit_cb();
}

void
worker_on_exit(void (*cb)(void))
{
	exit_cb = cb;
}

void
worker_set_kill_reason(const char *reason)
{
	__atomic_store_n(&kill_reason, reason, __ATOMIC_RELEASE);
}

static void
worker_free(struct worker *w)
{
	if (w->base != NULL) {
		event_del(&w->wake_ev);
		event_base_free(w->base);
	}
	if (w->wake_fd != -1)
		close(w->wake_fd);
	if (w->spare_fd != -1)
		close(w->spare_fd);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

static int
worker_spare_new(void)
{
	return socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
}

int
worker_spare_hold(void)
{
	struct worker *w = worker_self();

	if (w->spare_fd == -1)
		w->spare_fd = worker_spare_new();
	return w->spare_fd != -1;
}

int
worker_spare_take(int family)
{
	struct worker *w = worker_self();
	int fd;

	if (w == NULL || (fd = w->spare_fd) == -1)
		return -1;
	w->spare_fd = -1;
	if (family == AF_INET)
		return fd;
	close(fd);
	return socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);	/* TCP, or AF_UNIX's */
}

unsigned int
worker_wanted(unsigned int n)
{
	if (n == 0) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);

		n = cpus > 0 ? (unsigned int)cpus : 1;
	}
	return n > WORKER_MAX ? WORKER_MAX : n;
}

int
worker_init(unsigned int n, struct event_base *control, const struct worker_hooks *h)
{
	hooks = *h;
	if ((exit_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1 ||
	    (exit_ev = event_new(control, exit_fd, EV_READ | EV_PERSIST, worker_on_exit_fd,
	    NULL)) == NULL || event_add(exit_ev, NULL) == -1)
		return -1;
	for (nworkers = 0; nworkers < n; nworkers++) {
		struct worker *w = calloc(1, sizeof(*w));

		if (w == NULL)
			return -1;
		w->id = nworkers;
		pthread_mutex_init(&w->lock, NULL);
		w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		w->spare_fd = worker_spare_new();
		w->base = w->wake_fd == -1 || w->spare_fd == -1 ? NULL : event_base_new();
		if (w->base == NULL) {
			worker_free(w);
			return -1;
		}
		event_assign(&w->wake_ev, w->base, w->wake_fd, EV_READ | EV_PERSIST,
		    worker_on_wake, w);
		event_add(&w->wake_ev, NULL);
		workers[nworkers] = w;
	}
	return (int)nworkers;
}

int
worker_start(unsigned int prealloc)
{
	sigset_t all, old;
	int rc = 0;

	prealloc_each = nworkers > 0 ? (prealloc + nworkers - 1) / nworkers : 0;
	/* Signals belong to the control thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (unsigned int i = 0; i < nworkers; i++) {
		pthread_mutex_lock(&iso_lock);
		nrunning++;
		pthread_mutex_unlock(&iso_lock);
		if ((errno = pthread_create(&workers[i]->thread, NULL, worker_main,
		    workers[i])) != 0) {
			log_alert("cannot start worker thread %u: %s", i, strerror(errno));
			pthread_mutex_lock(&iso_lock);
			nrunning--;
			pthread_mutex_unlock(&iso_lock);
			nworkers = i;
			rc = -1;
			break;
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

void
worker_isolate(void)
{
	pthread_mutex_lock(&iso_lock);
	iso_on = 1;
	pthread_mutex_unlock(&iso_lock);
	for (unsigned int i = 0; i < nworkers; i++)
		worker_wake(workers[i]);
	pthread_mutex_lock(&iso_lock);
	while (iso_parked < nrunning)
		pthread_cond_wait(&iso_cond, &iso_lock);
	pthread_mutex_unlock(&iso_lock);
}

void
worker_release(void)
{
	pthread_mutex_lock(&iso_lock);
	iso_on = 0;
	pthread_cond_broadcast(&iso_cond);
	pthread_mutex_unlock(&iso_lock);
}

void
worker_join_all(void)
{
	for (unsigned int i = 0; i < nworkers; i++)
		pthread_join(workers[i]->thread, NULL);
}

void
worker_free_all(void)
{
	for (unsigned int i = 0; i < nworkers; i++)
		worker_free(workers[i]);
	nworkers = 0;
	if (exit_ev != NULL)
		event_free(exit_ev);
	exit_ev = NULL;
	if (exit_fd != -1)
		close(exit_fd);
	exit_fd = -1;
}

void
worker_sum_pools(struct pipe_pool_stats *ps)
{
	memset(ps, 0, sizeof(*ps));
	for (unsigned int i = 0; i < nworkers; i++)
		pipe_pool_add_stats(&workers[i]->pool, ps);
}
