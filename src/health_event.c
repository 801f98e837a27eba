/*
 * health_event: reactions to a server's change of state (health_event.h).
 */
#include "config.h"

#include <stdlib.h>

#include <event2/event_struct.h>

#include "admin_sess.h"
#include "backend.h"
#include "clock.h"
#include "health_event.h"
#include "log.h"

/* A server's weight climbing back after it came up, toward its target:
 * the weight in force when it came up, or what "set server weight" or an
 * agent's percentage set since (a weight the ramp did not set). */
struct health_ramp {
	struct conf_proxy *be;
	struct conf_server *srv;
	uint64_t start;		/* monotonic us */
	unsigned int target;	/* the weight at the end of the ramp */
	unsigned int last;	/* the weight the ramp set last */
	struct event timer;
	struct health_ramp *next;
};

static struct health_ramp *ramps;

void
health_event_down(struct conf_proxy *be, struct conf_server *srv)
{
	unsigned int n;

	if (!srv->on_marked_down)
		return;
	n = admin_sess_kill_server(be->name, srv->name);
	log_notice("server %s/%s is down: %u sessions shut down (on-marked-down)", be->name,
	    srv->name, n);
}

unsigned int
health_event_ramp_weight(unsigned int weight, uint64_t elapsed, uint64_t total)
{
	uint64_t w;

	if (total == 0 || elapsed >= total)
		return weight;
	w = (uint64_t)weight * elapsed / total;
	return weight == 0 ? 0 : w < 1 ? 1 : (unsigned int)w;
}

static void
health_ramp_unlink(struct health_ramp *r)
{
	for (struct health_ramp **p = &ramps; *p != NULL; p = &(*p)->next) {
		if (*p == r) {
			*p = r->next;
			break;
		}
	}
	evtimer_del(&r->timer);
	free(r);
}

/* A step of the ramp: about twenty over the slow start, 100 ms at least. */
static void
health_ramp_tick(evutil_socket_t fd, short what, void *arg)
{
	struct health_ramp *r = arg;
	uint64_t elapsed = clock_now_us() - r->start, step = r->srv->slowstart / 20;
	unsigned int cur;
	struct timeval tv;

	(void)fd;
	(void)what;
	cur = __atomic_load_n(&r->srv->cur_weight, __ATOMIC_RELAXED);
	if (cur != r->last)
		r->target = cur;	/* set by the admin or an agent meanwhile */
	if (elapsed >= r->srv->slowstart || __atomic_load_n(&r->srv->state,
	    __ATOMIC_RELAXED) != CONF_SRV_UP) {
		/* Over, or cut short (down, drained, in maintenance): the target
		 * weight, not a step of the ramp, is what stays. */
		backend_set_weight(r->be, r->srv, r->target);
		if (elapsed >= r->srv->slowstart)
			log_notice("server %s/%s: slow start over, weight %u", r->be->name,
			    r->srv->name, r->target);
		health_ramp_unlink(r);
		return;
	}
	r->last = health_event_ramp_weight(r->target, elapsed, r->srv->slowstart);
	backend_set_weight(r->be, r->srv, r->last);
	if (step < 100000)
		step = 100000;
	tv.tv_sec = (time_t)(step / 1000000);
	tv.tv_usec = (suseconds_t)(step % 1000000);
	evtimer_add(&r->timer, &tv);
}

static void
health_event_slowstart(struct event_base *base, struct conf_proxy *be, struct conf_server *srv)
{
	struct health_ramp *r;

	for (r = ramps; r != NULL; r = r->next) {
		if (r->srv == srv)
			break;
	}
	if (r == NULL) {
		if ((r = calloc(1, sizeof(*r))) == NULL)
			return;
		r->be = be;
		r->srv = srv;
		r->target = r->last = __atomic_load_n(&srv->cur_weight, __ATOMIC_RELAXED);
		r->next = ramps;
		ramps = r;
		evtimer_assign(&r->timer, base, health_ramp_tick, r);
	}
	r->start = clock_now_us();
	health_ramp_tick(-1, 0, r);
}

static struct event_base *health_event_base;	/* the ramps' timers */

/* Out of maintenance straight to UP: a slow start too, as HAProxy does. */
static void
health_event_ready(struct conf_proxy *be, struct conf_server *srv)
{
	if (srv->slowstart > 0 && health_event_base != NULL)
		health_event_slowstart(health_event_base, be, srv);
}

void
health_event_start(struct event_base *base)
{
	health_event_base = base;
	backend_on_ready(health_event_ready);
}

void
health_event_up(struct event_base *base, struct conf_proxy *be, struct conf_server *srv)
{
	unsigned int n;

	if (srv->slowstart > 0)
		health_event_slowstart(base, be, srv);
	if (!srv->on_marked_up || srv->backup)
		return;
	/* One walk for all the backup servers: workers are parked while it
	 * runs, and a walk per backup server would park them that many times. */
	n = admin_sess_kill_server(be->name, NULL);
	if (n > 0)
		log_notice("server %s/%s is up: %u sessions of backup servers shut down "
		    "(on-marked-up)", be->name, srv->name, n);
}

void
health_event_stop(void)
{
	backend_on_ready(NULL);
	health_event_base = NULL;
	while (ramps != NULL)
		health_ramp_unlink(ramps);
}
