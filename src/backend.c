/*
 * backend: eligibility, assignment and the queue.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
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
			s->check_down = 0;	/* checks start fully up */
			s->check_nolb = 0;
			s->agent_down = 0;
			s->agent_admin = CONF_ADM_READY;
			s->check_health = s->check_rise + s->check_fall - 1;
			s->state = s->disabled ? CONF_SRV_MAINT : CONF_SRV_UP;
			s->cur_weight = s->weight;
			s->rr_current = 0;
			s->last_change_us = clock_now_us();
			s->down_since_us = s->disabled ? s->last_change_us : 0;
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

static void backend_enqueue(struct conf_proxy *be, struct backend_waiter *w);
static void backend_unlink(struct conf_proxy *be, struct backend_waiter *w);

static enum backend_outcome
backend_pick(struct conf_proxy *be, struct conf_server *want, int force,
    const struct sockaddr *cli, const struct conf_server *avoid, struct conf_server **srv)
{
	unsigned int n;
	struct conf_server *s;

	*srv = NULL;
	/* A server persistence named: its state is read again under the lock. */
	if (want != NULL && want != avoid && lb_has_room(want) &&
	    (force || want->state == CONF_SRV_UP)) {
		s = want;
		goto take;
	}
	if ((n = backend_candidates(be, avoid)) == 0)
		return BACKEND_NO_SERVER;
	if ((s = lb_for(be->balance)->pick(be, backend_cand, n, cli)) == NULL)
		return BACKEND_FULL;
take:
	if (__atomic_add_fetch(&s->cur_sess, 1, __ATOMIC_RELAXED) > s->max_sess)
		__atomic_store_n(&s->max_sess, s->cur_sess, __ATOMIC_RELAXED);
	s->total_sess++;
	*srv = s;
	return BACKEND_ASSIGNED;
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

	pthread_mutex_lock(&backend_lock);
	o = backend_pick(be, want, force, cli, avoid, srv);
	if (o == BACKEND_FULL && w != NULL)
		backend_enqueue(be, w);
	pthread_mutex_unlock(&backend_lock);
	return o;
}

/* Give free slots to waiters, oldest first, while there are some. */
static void
backend_wake(struct conf_proxy *be)
{
	while (be->queue_head != NULL) {
		struct backend_waiter *w = be->queue_head;
		struct conf_server *s;

		if (backend_pick(be, NULL, 0, w->cli, NULL, &s) != BACKEND_ASSIGNED)
			return;
		backend_unlink(be, w);
		w->srv = s;
		w->ready(w);
	}
}

void
backend_release(struct conf_proxy *be, struct conf_server *srv)
{
	pthread_mutex_lock(&backend_lock);
	__atomic_sub_fetch(&srv->cur_sess, 1, __ATOMIC_RELAXED);
	backend_wake(be);
	pthread_mutex_unlock(&backend_lock);
}

static void
backend_enqueue(struct conf_proxy *be, struct backend_waiter *w)
{
	w->next = NULL;
	w->srv = NULL;
	w->prev = be->queue_tail;
	if (be->queue_tail != NULL)
		be->queue_tail->next = w;
	else
		be->queue_head = w;
	be->queue_tail = w;
	w->queued = 1;
	if (++be->queue_len > be->queue_max)
		be->queue_max = be->queue_len;
}

static void
backend_unlink(struct conf_proxy *be, struct backend_waiter *w)
{
	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		be->queue_head = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	else
		be->queue_tail = w->prev;
	w->prev = w->next = NULL;
	w->queued = 0;
	be->queue_len--;
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
	if (srv->admin == CONF_ADM_MAINT || srv->agent_admin == CONF_ADM_MAINT)
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
	if (was != srv->state) {
		backend_account(srv, was);
		backend_wake(be);
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
backend_set_maxconn(struct conf_proxy *be, struct conf_server *srv, unsigned int maxconn)
{
	pthread_mutex_lock(&backend_lock);
	srv->maxconn = maxconn;
	backend_wake(be);
	pthread_mutex_unlock(&backend_lock);
}

void
backend_status_text(const struct conf_server *srv, char *buf, size_t len)
{
	enum conf_server_state st = __atomic_load_n(&srv->state, __ATOMIC_RELAXED);
	unsigned int h = __atomic_load_n(&srv->check_health, __ATOMIC_RELAXED);
	int by_agent = 0;	/* the agent alone holds it so */

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
	backend_wake(be);
	pthread_mutex_unlock(&backend_lock);
}
