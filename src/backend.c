/*
 * backend: eligibility, assignment and the queue.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "clock.h"
#include "lb.h"
#include "log.h"

static pthread_mutex_t backend_lock = PTHREAD_MUTEX_INITIALIZER;
/* Candidates of one pick; grown to the largest backend; under the lock. */
static struct conf_server **backend_cand;
static unsigned int backend_cand_cap;

void
backend_init(struct conf *c)
{
	lb_random_seed((unsigned long long)time(NULL) ^ ((unsigned long long)getpid() << 32));
	for (struct conf_proxy *px = c->proxies; px != NULL; px = px->next) {
		for (struct conf_server *s = px->servers; s != NULL; s = s->next) {
			s->admin = s->disabled ? CONF_ADM_MAINT : CONF_ADM_READY;
			s->dns_maint = s->dns.no_addr;	/* init-addr none: until resolved */
			s->check_down = 0;	/* checks start fully up */
			s->check_nolb = 0;
			s->agent_down = 0;
			s->agent_admin = CONF_ADM_READY;
			s->check_health = s->check_rise + s->check_fall - 1;
			s->state = s->disabled || s->dns_maint ? CONF_SRV_MAINT : CONF_SRV_UP;
			s->cur_weight = s->weight;
			s->rr_current = 0;
			s->last_change_us = clock_now_us();
			s->down_since_us = s->state == CONF_SRV_MAINT ? s->last_change_us : 0;
		}
	}
}

void
backend_cleanup(void)
{
	free(backend_cand);
	backend_cand = NULL;
	backend_cand_cap = 0;
}

/* May srv take new sessions, full or not? */
static int
backend_usable(const struct conf_server *srv)
{
	return srv->state == CONF_SRV_UP && srv->cur_weight > 0;
}

/* Fill backend_cand with the servers that may take traffic now; returns
 * their count (0: none). */
static unsigned int
backend_candidates(struct conf_proxy *be, const struct conf_server *avoid)
{
	unsigned int n = 0;
	int backups = 1;

	if (be->nservers > backend_cand_cap) {
		struct conf_server **c = realloc(backend_cand, be->nservers * sizeof(*c));

		if (c == NULL)
			return 0;
		backend_cand = c;
		backend_cand_cap = be->nservers;
	}
	for (struct conf_server *s = be->servers; s != NULL; s = s->next) {
		if (!s->backup && backend_usable(s))
			backups = 0;
	}
	for (struct conf_server *s = be->servers; s != NULL; s = s->next) {
		if (!backend_usable(s) || s->backup != backups)
			continue;
		backend_cand[n++] = s;
		if (backups && !(be->opts & CONF_OPT_ALLBACKUPS))
			break;	/* the first backup only, as HAProxy */
	}
	/* Redispatch: leave out the server that just failed, unless alone. */
	if (avoid != NULL && n > 1) {
		for (unsigned int i = 0; i < n; i++) {
			if (backend_cand[i] == avoid) {
				backend_cand[i] = backend_cand[--n];
				break;
			}
		}
	}
	return n;
}

/* A queue: the backend's or one server's (the same fields in both). */
struct backend_queue {
	struct backend_waiter **head, **tail;
	unsigned int *len, *max;
};

static struct backend_queue
backend_queue_of(struct conf_proxy *be, struct conf_server *srv)
{
	if (srv != NULL)
		return (struct backend_queue){ &srv->queue_head, &srv->queue_tail, &srv->queue_len,
		    &srv->queue_max };
	return (struct backend_queue){ &be->queue_head, &be->queue_tail, &be->queue_len,
	    &be->queue_max };
}

/* Order of arrival of every waiter, so that one moved between queues
 * keeps its rank; under the lock. */
static uint64_t backend_seq;

/* Put w in srv's queue (NULL: be's), in the order it first arrived. */
static void
backend_link(struct conf_proxy *be, struct conf_server *srv, struct backend_waiter *w)
{
	struct backend_queue q = backend_queue_of(be, srv);
	struct backend_waiter *after = *q.tail;

	while (after != NULL && after->seq > w->seq)
		after = after->prev;
	w->prev = after;
	w->next = after != NULL ? after->next : *q.head;
	if (w->next != NULL)
		w->next->prev = w;
	else
		*q.tail = w;
	if (after != NULL)
		after->next = w;
	else
		*q.head = w;
	w->qsrv = srv;
	w->queued = 1;
	if (++*q.len > *q.max)
		*q.max = *q.len;
}

static void
backend_enqueue(struct conf_proxy *be, struct conf_server *srv, struct backend_waiter *w)
{
	w->srv = NULL;
	w->seq = ++backend_seq;
	backend_link(be, srv, w);
}

static void
backend_unlink(struct conf_proxy *be, struct backend_waiter *w)
{
	struct backend_queue q = backend_queue_of(be, w->qsrv);

	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		*q.head = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	else
		*q.tail = w->prev;
	w->prev = w->next = NULL;
	w->queued = 0;
	w->qsrv = NULL;
	(*q.len)--;
}

/* Has srv a slot free for the head of its own queue? */
static int
backend_slot_free(const struct conf_server *srv)
{
	return srv->maxconn == 0 || srv->cur_sess < srv->maxconn;
}

/* Take a slot on s for a session. */
static void
backend_take(struct conf_server *s)
{
	if (__atomic_add_fetch(&s->cur_sess, 1, __ATOMIC_RELAXED) > s->max_sess)
		__atomic_store_n(&s->max_sess, s->cur_sess, __ATOMIC_RELAXED);
	s->total_sess++;
}

/* Is s full, and its own queue at maxqueue? */
static int
backend_queue_full(const struct conf_server *s)
{
	return !lb_has_room(s) && s->maxqueue > 0 && s->queue_len >= s->maxqueue;
}

/* The server chosen for a session: a slot taken on it when it has one,
 * else its queue to join (BACKEND_FULL) unless that is at maxqueue. */
static enum backend_outcome
backend_take_or_queue(struct conf_server *s, struct conf_server **srv)
{
	*srv = s;
	if (backend_queue_full(s))
		return BACKEND_QUEUE_FULL;
	if (!lb_has_room(s))
		return BACKEND_FULL;
	backend_take(s);
	return BACKEND_ASSIGNED;
}

/*
 * The algorithm's choice for a client, its slot taken when the server has
 * one. A full server it chose is BACKEND_FULL with *srv set (queue there),
 * or BACKEND_QUEUE_FULL when that queue is at maxqueue; NULL: the
 * backend's queue.
 */
static enum backend_outcome
backend_pick(struct conf_proxy *be, struct conf_server *want, int force,
    const struct sockaddr *cli, const struct conf_server *avoid, struct conf_server **srv)
{
	unsigned int n;
	struct conf_server *s;

	*srv = NULL;
	/* A server persistence named (its state read again under the lock):
	 * as HAProxy's direct sessions, a full one queues its client in its
	 * own queue; that queue at maxqueue, the client is balanced under
	 * option redispatch, else refused. */
	if (want != NULL && want != avoid && (force || want->state == CONF_SRV_UP) &&
	    (!backend_queue_full(want) || !(be->opts & CONF_OPT_REDISPATCH)))
		return backend_take_or_queue(want, srv);
	if ((n = backend_candidates(be, avoid)) == 0)
		return BACKEND_NO_SERVER;
	if ((s = lb_for(be->balance)->pick(be, backend_cand, n, cli)) == NULL)
		return BACKEND_FULL;
	return backend_take_or_queue(s, srv);
}

enum backend_outcome
backend_assign(struct conf_proxy *be, const struct sockaddr *cli,
    const struct conf_server *avoid, struct conf_server **srv, struct backend_waiter *w)
{
	return backend_assign_to(be, NULL, 0, cli, avoid, srv, w);
}

enum backend_outcome
backend_assign_to(struct conf_proxy *be, struct conf_server *want, int force,
    const struct sockaddr *cli, const struct conf_server *avoid, struct conf_server **srv,
    struct backend_waiter *w)
{
	enum backend_outcome o;
	struct conf_server *s;

	pthread_mutex_lock(&backend_lock);
	o = backend_pick(be, want, force, cli, avoid, &s);
	if (o == BACKEND_FULL && w != NULL)
		backend_enqueue(be, s, w);
	if (o == BACKEND_QUEUE_FULL && w != NULL)
		w->full = s;
	pthread_mutex_unlock(&backend_lock);
	*srv = o == BACKEND_ASSIGNED ? s : NULL;
	return o;
}

/* Hand w the slot taken for it on s. */
static void
backend_give(struct conf_proxy *be, struct backend_waiter *w, struct conf_server *s)
{
	backend_unlink(be, w);
	w->srv = s;
	w->ready(w);
}

/* Free slots of srv go to its own queue, oldest first. */
static void
backend_serve(struct conf_proxy *be, struct conf_server *srv)
{
	while (srv->queue_head != NULL && backend_slot_free(srv)) {
		backend_take(srv);
		backend_give(be, srv->queue_head, srv);
	}
}

/* Give free slots to waiters: each server's own queue first (srv's only,
 * when not NULL), then the backend's, oldest first, while there are some.
 * A backend waiter the algorithm now sends to a full server moves to that
 * server's queue. */
static void
backend_wake(struct conf_proxy *be, struct conf_server *srv)
{
	if (srv != NULL) {
		backend_serve(be, srv);
	} else {
		for (struct conf_server *s = be->servers; s != NULL; s = s->next)
			backend_serve(be, s);
	}
	while (be->queue_head != NULL) {
		struct backend_waiter *w = be->queue_head;
		struct conf_server *s;
		enum backend_outcome o = backend_pick(be, NULL, 0, w->cli, NULL, &s);

		if (o == BACKEND_ASSIGNED) {
			backend_give(be, w, s);
		} else if (o == BACKEND_FULL && s != NULL) {
			backend_unlink(be, w);
			backend_link(be, s, w);
		} else {
			return;
		}
	}
}

void
backend_release(struct conf_proxy *be, struct conf_server *srv)
{
	pthread_mutex_lock(&backend_lock);
	__atomic_sub_fetch(&srv->cur_sess, 1, __ATOMIC_RELAXED);
	backend_wake(be, srv);
	pthread_mutex_unlock(&backend_lock);
}

struct conf_server *
backend_dequeue(struct conf_proxy *be, struct backend_waiter *w)
{
	struct conf_server *given;

	pthread_mutex_lock(&backend_lock);
	if (w->queued)
		backend_unlink(be, w);
	given = w->srv;
	w->srv = NULL;
	pthread_mutex_unlock(&backend_lock);
	return given;
}

static int
backend_stopped(enum conf_server_state st)
{
	return st == CONF_SRV_DOWN || st == CONF_SRV_MAINT;
}

/* srv went down or into maintenance: with option redispatch its queue
 * moves to the backend's, as HAProxy's pendconn_redistribute(); without,
 * it waits for srv (or for timeout queue). */
static void
backend_redistribute(struct conf_proxy *be, struct conf_server *srv)
{
	struct backend_waiter *a = be->queue_head, *b = srv->queue_head, *head = NULL, *prev = NULL;
	struct backend_waiter **tail = &head;

	if (!(be->opts & CONF_OPT_REDISPATCH) || b == NULL)
		return;
	/* Both queues are in order of arrival: merged, in one pass however
	 * long they are (this runs under the lock). */
	while (a != NULL || b != NULL) {
		struct backend_waiter **from = b == NULL || (a != NULL && a->seq < b->seq) ? &a : &b;
		struct backend_waiter *w = *from;

		*from = w->next;
		w->prev = prev;
		w->qsrv = NULL;
		*tail = w;
		tail = &w->next;
		prev = w;
	}
	*tail = NULL;
	be->queue_head = head;
	be->queue_tail = prev;
	be->queue_len += srv->queue_len;
	if (be->queue_len > be->queue_max)
		be->queue_max = be->queue_len;
	srv->queue_head = srv->queue_tail = NULL;
	srv->queue_len = 0;
}

int
backend_any_up(const struct conf_proxy *be)
{
	for (const struct conf_server *s = be->servers; s != NULL; s = s->next) {
		if (__atomic_load_n(&s->state, __ATOMIC_RELAXED) == CONF_SRV_UP)
			return 1;
	}
	return 0;
}

const char *
backend_state_name(enum conf_server_state state)
{
	switch (state) {
	case CONF_SRV_UP:	return "UP";
	case CONF_SRV_DOWN:	return "DOWN";
	case CONF_SRV_DRAIN:	return "DRAIN";
	case CONF_SRV_MAINT:	return "MAINT";
	}
	return "?";
}

/* The state in force, from its holders. */
static enum conf_server_state
backend_derive(const struct conf_server *srv)
{
	if (srv->admin == CONF_ADM_MAINT || srv->agent_admin == CONF_ADM_MAINT || srv->dns_maint)
		return CONF_SRV_MAINT;
	if (srv->check_down || srv->agent_down)
		return CONF_SRV_DOWN;
	if (srv->admin == CONF_ADM_DRAIN || srv->agent_admin == CONF_ADM_DRAIN || srv->check_nolb)
		return CONF_SRV_DRAIN;
	return CONF_SRV_UP;
}

static int
backend_is_down(enum conf_server_state st)
{
	return st == CONF_SRV_DOWN || st == CONF_SRV_MAINT;
}

/* The state changed from was (under the lock): the figures of show stat
 * (lastchg, chkdown, downtime). */
static void
backend_account(struct conf_server *srv, enum conf_server_state was)
{
	uint64_t now = clock_now_us();

	__atomic_store_n(&srv->last_change_us, now, __ATOMIC_RELAXED);
	if (backend_is_down(was) == backend_is_down(srv->state))
		return;
	if (backend_is_down(srv->state)) {
		__atomic_add_fetch(&srv->chkdown, 1, __ATOMIC_RELAXED);
		__atomic_store_n(&srv->down_since_us, now, __ATOMIC_RELAXED);
	} else {
		__atomic_add_fetch(&srv->downtime_us, now - srv->down_since_us, __ATOMIC_RELAXED);
		__atomic_store_n(&srv->down_since_us, 0, __ATOMIC_RELAXED);
	}
}

/* A holder changed (under the lock): derive the state again, let waiters
 * go on if it changed; returns the previous state. */
static enum conf_server_state
backend_rederive(struct conf_proxy *be, struct conf_server *srv)
{
	enum conf_server_state was = srv->state;

	__atomic_store_n(&srv->state, backend_derive(srv), __ATOMIC_RELAXED);
	if (backend_stopped(srv->state) && !backend_stopped(was))
		backend_redistribute(be, srv);
	if (was != srv->state) {
		backend_account(srv, was);
		backend_wake(be, NULL);
	}
	return was;
}

/* Which holder of a server's state a change is for. */
enum backend_holder {
	BACKEND_HOLD_ADMIN,
	BACKEND_HOLD_CHECK,
	BACKEND_HOLD_NOLB,
	BACKEND_HOLD_AGENT_DOWN,
	BACKEND_HOLD_AGENT_ADMIN,
	BACKEND_HOLD_DNS,
};

static void (*backend_ready_cb)(struct conf_proxy *be, struct conf_server *srv);

void
backend_on_ready(void (*cb)(struct conf_proxy *be, struct conf_server *srv))
{
	backend_ready_cb = cb;
}

/* Set one holder, derive the state again, log a change. */
static void
backend_hold(struct conf_proxy *be, struct conf_server *srv, enum backend_holder who, int v)
{
	enum conf_server_state was, now;
	unsigned int cur, queued;

	pthread_mutex_lock(&backend_lock);
	if (who == BACKEND_HOLD_ADMIN)
		__atomic_store_n(&srv->admin, (enum conf_server_admin)v, __ATOMIC_RELAXED);
	else if (who == BACKEND_HOLD_CHECK)
		__atomic_store_n(&srv->check_down, v, __ATOMIC_RELAXED);
	else if (who == BACKEND_HOLD_NOLB)
		__atomic_store_n(&srv->check_nolb, v, __ATOMIC_RELAXED);
	else if (who == BACKEND_HOLD_AGENT_DOWN)
		__atomic_store_n(&srv->agent_down, v, __ATOMIC_RELAXED);
	else if (who == BACKEND_HOLD_DNS)
		__atomic_store_n(&srv->dns_maint, v, __ATOMIC_RELAXED);
	else
		__atomic_store_n(&srv->agent_admin, (enum conf_server_admin)v, __ATOMIC_RELAXED);
	was = backend_rederive(be, srv);
	now = srv->state;
	cur = srv->cur_sess;
	queued = be->queue_len;
	pthread_mutex_unlock(&backend_lock);
	if (was != now)
		log_notice("server %s/%s is %s (was %s), %u sessions active, %u queued",
		    be->name, srv->name, backend_state_name(now), backend_state_name(was),
		    cur, queued);
	if (was == CONF_SRV_MAINT && now == CONF_SRV_UP && backend_ready_cb != NULL)
		backend_ready_cb(be, srv);
}

void
backend_set_admin(struct conf_proxy *be, struct conf_server *srv,
    enum conf_server_admin admin)
{
	backend_hold(be, srv, BACKEND_HOLD_ADMIN, (int)admin);
}

void
backend_set_check(struct conf_proxy *be, struct conf_server *srv, int up)
{
	backend_hold(be, srv, BACKEND_HOLD_CHECK, !up);
}

void
backend_set_nolb(struct conf_proxy *be, struct conf_server *srv, int on)
{
	backend_hold(be, srv, BACKEND_HOLD_NOLB, on);
}

void
backend_set_agent(struct conf_proxy *be, struct conf_server *srv, int down, int admin)
{
	if (down >= 0)
		backend_hold(be, srv, BACKEND_HOLD_AGENT_DOWN, down);
	if (admin >= 0)
		backend_hold(be, srv, BACKEND_HOLD_AGENT_ADMIN, admin);
}

void
backend_set_dns(struct conf_proxy *be, struct conf_server *srv, int maint)
{
	backend_hold(be, srv, BACKEND_HOLD_DNS, maint);
}

void
backend_set_addr(struct conf_server *srv, const struct sockaddr *sa, socklen_t len,
    uint16_t port)
{
	pthread_mutex_lock(&backend_lock);
	memcpy(&srv->addr.ss, sa, len);
	srv->addr.len = len;
	if (port != 0) {
		srv->addr.port = port;
		srv->addr.port_rel = 0;
		srv->addr.port_off = 0;
	}
	if (!srv->addr.port_rel)
		sockaddr_set_port(&srv->addr.ss, srv->addr.port);
	pthread_mutex_unlock(&backend_lock);
}

socklen_t
backend_server_addr(const struct conf_server *srv, struct sockaddr_storage *to, int *port_rel,
    int *port_off)
{
	socklen_t len;

	if (srv->dns.rs == NULL) {	/* an address that never changes */
		memcpy(to, &srv->addr.ss, srv->addr.len);
		*port_rel = srv->addr.port_rel;
		*port_off = srv->addr.port_off;
		return srv->addr.len;
	}
	pthread_mutex_lock(&backend_lock);
	memcpy(to, &srv->addr.ss, srv->addr.len);
	len = srv->addr.len;
	*port_rel = srv->addr.port_rel;
	*port_off = srv->addr.port_off;
	pthread_mutex_unlock(&backend_lock);
	return len;
}

void
backend_set_maxconn(struct conf_proxy *be, struct conf_server *srv, unsigned int maxconn)
{
	pthread_mutex_lock(&backend_lock);
	srv->maxconn = maxconn;
	backend_wake(be, NULL);
	pthread_mutex_unlock(&backend_lock);
}

void
backend_status_text(const struct conf_server *srv, char *buf, size_t len)
{
	enum conf_server_state st = __atomic_load_n(&srv->state, __ATOMIC_RELAXED);
	unsigned int h = __atomic_load_n(&srv->check_health, __ATOMIC_RELAXED);
	int by_agent = 0;	/* the agent alone holds it so */

	if (st == CONF_SRV_MAINT && srv->admin != CONF_ADM_MAINT &&
	    srv->agent_admin != CONF_ADM_MAINT) {
		snprintf(buf, len, "MAINT (resolution)");	/* HAProxy's words */
		return;
	}
	if (st == CONF_SRV_MAINT)
		by_agent = srv->admin != CONF_ADM_MAINT;
	else if (st == CONF_SRV_DOWN)
		by_agent = !srv->check_down;
	else if (st == CONF_SRV_DRAIN)
		by_agent = srv->admin != CONF_ADM_DRAIN && !srv->check_nolb;
	if (st == CONF_SRV_DOWN && !by_agent && srv->check && h > 0)
		snprintf(buf, len, "DOWN %u/%u", h, srv->check_rise);
	else if (st == CONF_SRV_UP && srv->check && h < srv->check_rise + srv->check_fall - 1)
		snprintf(buf, len, "UP %u/%u", h - srv->check_rise + 1, srv->check_fall);
	else if (st == CONF_SRV_DRAIN && !by_agent && srv->admin != CONF_ADM_DRAIN)
		snprintf(buf, len, "NOLB");
	else
		snprintf(buf, len, "%s%s", backend_state_name(st), by_agent ? " (agent)" : "");
}

void
backend_set_weight(struct conf_proxy *be, struct conf_server *srv, unsigned int weight)
{
	pthread_mutex_lock(&backend_lock);
	srv->cur_weight = weight;
	backend_wake(be, NULL);
	pthread_mutex_unlock(&backend_lock);
}
