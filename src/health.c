/*
 * health: check scheduling and counting; the checks themselves are check_run.c's.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event_struct.h>

#include "backend.h"
#include "check_agent.h"
#include "check_poll.h"
#include "check_rule.h"
#include "check_spec.h"
#include "clock.h"
#include "conf_health.h"
#include "health.h"
#include "health_event.h"
#include "log.h"

/* One checked server. */
struct health {
	struct conf_proxy *be;
	struct conf_server *srv;
	struct health_counter counter;
	struct check_target target;	/* where its checks go and their rules */
	struct sockaddr_storage addr;	/* "addr" and "port", else the server's */
	struct check_run run;		/* the check in progress, if any */
	int running;
	int agent;		/* the server's agent check, not its health check */
	struct check_spec *own;	/* an agent's rules: agent-send, then a line */
	unsigned int spread;	/* spread-checks, percent */
	uint64_t started;	/* monotonic us: check started */
	struct event timer;	/* next check, or the check's deadline */
	struct health *next;
};

static struct health *checks;

void
health_counter_init(struct health_counter *h, unsigned int rise, unsigned int fall)
{
	h->rise = rise;
	h->fall = fall;
	h->health = rise + fall - 1;
}

int
health_counter_is_up(const struct health_counter *h)
{
	return h->health >= h->rise;
}

int
health_counter_record(struct health_counter *h, int ok)
{
	unsigned int max = h->rise + h->fall - 1;

	if (ok) {
		if (h->health >= max)
			return 0;
		h->health++;
		return h->health == h->rise ? 1 : 0;
	}
	if (h->health == 0)
		return 0;
	/* Going down from full health takes `fall` failures; a server that
	 * was not fully up yet drops at once to 0, as HAProxy does. */
	if (h->health < h->rise) {
		h->health = 0;
		return 0;
	}
	h->health--;
	if (h->health < h->rise) {
		h->health = 0;
		return -1;
	}
	return 0;
}

uint64_t
health_counter_interval(const struct health_counter *h, uint64_t inter, uint64_t fastinter,
    uint64_t downinter)
{
	if (h->health == 0)
		return downinter ? downinter : inter;
	if (h->health < h->rise + h->fall - 1)
		return fastinter ? fastinter : inter;
	return inter;
}

/* Timers end on the grid of check_poll, so that the checks of many
 * servers due about together start in one wake-up of the control thread
 * instead of one each (at 1,000 servers every 2 s, 100 wake-ups a second
 * instead of 500), the same wake-up that takes the answers of the checks
 * in flight, for at most a tick of lateness. */
static void
health_arm(struct health *h, uint64_t us)
{
	struct timeval tv = check_poll_grid(us);

	evtimer_add(&h->timer, &tv);
}

/* The probe's time bound: timeout check, else min(timeout connect, inter). */
static uint64_t
health_timeout(const struct health *h)
{
	uint64_t inter = h->agent ? h->srv->agent_inter : h->srv->check_inter;

	if (h->be->to.check != 0)
		return h->be->to.check;
	if (h->be->to.connect != 0 && h->be->to.connect < inter)
		return h->be->to.connect;
	return inter;
}

/* The wait before the next check, spread by +/- spread-checks percent so
 * that checks of many servers do not stay in step. */
static uint64_t
health_next(const struct health *h)
{
	uint64_t us = h->agent ? h->srv->agent_inter : health_counter_interval(&h->counter,
	    h->srv->check_inter, h->srv->check_fastinter, h->srv->check_downinter);
	return health_spread(us, h->spread, random());
}

uint64_t
health_spread(uint64_t us, unsigned int pct, long rnd)
{
	long d;

	if (pct == 0)
		return us;
	d = (long)((unsigned long)rnd % (2 * pct + 1)) - (long)pct;	/* -pct .. +pct */
	return us * (uint64_t)(100 + d) / 100;
}

uint64_t
health_first_delay(uint64_t mininter, unsigned int n, unsigned int pos)
{
	return n == 0 ? 0 : mininter / n * pos;
}

/* "status: 2/3 UP": HAProxy's counter as option log-health-checks shows it. */
static void
health_status(const struct health *h, char *buf, size_t len)
{
	const struct health_counter *c = &h->counter;

	if (health_counter_is_up(c))
		snprintf(buf, len, "%u/%u UP", c->health - c->rise + 1, c->fall);
	else
		snprintf(buf, len, "%u/%u DOWN", c->health, c->rise);
}

/* Count a result, log it and what it changed, set the server's state. */
static void
health_record(struct health *h, const struct check_result *res, unsigned int dur)
{
	char code[24] = "", st[32];
	unsigned int before = h->counter.health, full = h->counter.rise + h->counter.fall - 1;
	int change = health_counter_record(&h->counter, res->ok);

	__atomic_store_n(&h->srv->check_health, h->counter.health, __ATOMIC_RELAXED);
	if (!res->ok && before >= h->counter.rise)	/* HAProxy's chkfail: while up */
		__atomic_add_fetch(&h->srv->chkfail, 1, __ATOMIC_RELAXED);
	if (res->code != 0)
		snprintf(code, sizeof(code), ", code: %d", res->code);
	health_status(h, st, sizeof(st));
	log_debug("health check of %s/%s: %s%s%s (%u ms), status %s", h->be->name, h->srv->name,
	    res->reason, res->info[0] ? ": " : "", res->info, dur, st);
	/* option log-health-checks, as HAProxy: each result that moves the
	 * counter (a failure above 0, a success below full health). */
	if ((h->be->opts & CONF_OPT_LOG_HEALTH) && (res->ok ? before != full : before != 0))
		log_warning("Health check for server %s/%s %s, reason: %s%s, info: \"%s\", check "
		    "duration: %ums, status: %s.", h->be->name, h->srv->name, res->ok ? "succeeded" :
		    "failed", res->reason, code, res->info, dur, st);
	if (change < 0) {
		log_warning("Server %s/%s is DOWN, reason: %s%s, info: \"%s\", check duration: %ums",
		    h->be->name, h->srv->name, res->reason, code, res->info, dur);
		backend_set_check(h->be, h->srv, 0);
		health_event_down(h->be, h->srv);
	} else if (change > 0) {
		log_warning("Server %s/%s is UP, reason: %s%s, check duration: %ums",
		    h->be->name, h->srv->name, res->reason, code, dur);
		backend_set_check(h->be, h->srv, 1);
		health_event_up(event_get_base(&h->timer), h->be, h->srv);
	}
	if (res->ok && res->nolb != h->srv->check_nolb) {
		log_warning("Server %s/%s is %s, reason: %s%s, check duration: %ums", h->be->name,
		    h->srv->name, res->nolb ? "stopping (NOLB)" : "UP", res->reason, code, dur);
		backend_set_nolb(h->be, h->srv, res->nolb);
	}
}

/* A check ended: count it, schedule the next one. */
static void
health_done(struct check_run *run, const struct check_result *res, void *arg)
{
	struct health *h = arg;
	unsigned int dur = (unsigned int)((clock_now_us() - h->started) / 1000);

	(void)run;
	h->running = 0;
	evtimer_del(&h->timer);
	if (h->agent)
		check_agent_apply(h->be, h->srv, res);
	else
		health_record(h, res, dur);
	health_arm(h, health_next(h));
}

/* observe layer4: error-limit connect errors in a row of real traffic
 * act as on-error says, then checks go on at fastinter. */
static void
health_observe(struct health *h)
{
	struct check_result res = { .ok = 0, .reason = "Layer4 connection problem" };
	unsigned int n = __atomic_load_n(&h->srv->observed_errors, __ATOMIC_RELAXED);

	if (n < h->srv->error_limit)
		return;
	/* Take the count and zero it in one step: a failure a worker counts
	 * between a load and a store would be lost. A success may have reset
	 * it meanwhile: what was counted since then is given back. */
	n = __atomic_exchange_n(&h->srv->observed_errors, 0, __ATOMIC_RELAXED);
	if (n < h->srv->error_limit) {
		__atomic_add_fetch(&h->srv->observed_errors, n, __ATOMIC_RELAXED);
		return;
	}
	snprintf(res.info, sizeof(res.info), "%u connect errors in a row of traffic (observe "
	    "layer4)", n);
	if (h->srv->on_error == CONF_ONERR_SUDDEN_DEATH && h->counter.health > h->counter.rise)
		h->counter.health = h->counter.rise;	/* one failure from down */
	if (h->srv->on_error == CONF_ONERR_MARK_DOWN && health_counter_is_up(&h->counter))
		h->counter.health = h->counter.rise;
	if (h->srv->on_error == CONF_ONERR_MARK_DOWN || h->srv->on_error == CONF_ONERR_FAIL_CHECK)
		health_record(h, &res, 0);
	if (!h->running)
		health_arm(h, h->srv->check_fastinter ? h->srv->check_fastinter : h->srv->check_inter);
}

static struct event health_observe_timer;
static int health_observing;

static void
health_on_observe(evutil_socket_t fd, short what, void *arg)
{
	struct timeval tv = { 0, 100000 };

	(void)fd;
	(void)what;
	(void)arg;
	for (struct health *h = checks; h != NULL; h = h->next) {
		if (!h->agent && h->srv->observe)
			health_observe(h);
	}
	evtimer_add(&health_observe_timer, &tv);
}

/* A server whose resolution moves it (resolvers.c): its checks go where
 * it is now, and none while it has no address. 0: check, -1: not now. */
static int
health_follow(struct health *h)
{
	const struct conf_server *s = h->srv;
	struct sockaddr_storage ss;
	int rel, off;
	socklen_t len;

	if (s->dns.rs == NULL)
		return 0;
	if (__atomic_load_n(&s->dns_maint, __ATOMIC_RELAXED) ||
	    (len = backend_server_addr(s, &ss, &rel, &off)) == 0)
		return -1;
	if (h->agent ? s->agent_addr_set : s->check_addr_set)
		return 0;	/* a fixed address of its own */
	memcpy(&h->addr, &ss, len);
	h->target.addrlen = len;
	if (h->agent || s->check_port != 0)
		sockaddr_set_port(&h->addr, h->agent ? s->agent_port : s->check_port);
	return 0;
}

/* The timer either starts a check or ends one that took too long. */
static void
health_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct health *h = arg;

	(void)fd;
	(void)what;
	if (h->running) {
		/* Answers that came before the deadline count. */
		check_poll_drain();
		if (h->running)
			check_run_abort(&h->run, 0);
		return;
	}
	if (health_follow(h) == -1) {
		health_arm(h, health_next(h));
		return;
	}
	h->started = clock_now_us();
	h->running = 1;
	/* The deadline first: the check may end at once, and rearm. */
	health_arm(h, health_timeout(h));
	check_run_start(&h->run, event_get_base(&h->timer), &h->target, health_done, h);
}

/* Where h's checks go: "addr" and "port" over the server's address. */
static void
health_target(struct health *h, const struct conf_proxy *px, const struct conf_server *s)
{
	char warn[256];

	h->target.addrlen = s->addr.len;
	memcpy(&h->addr, &s->addr.ss, s->addr.len);
	if (s->check_addr_set) {
		uint16_t port = sockaddr_port((const struct sockaddr *)&s->addr.ss);

		memcpy(&h->addr, &s->check_addr.ss, s->check_addr.len);
		h->target.addrlen = s->check_addr.len;
		sockaddr_set_port(&h->addr, port);
	}
	if (s->check_port != 0)
		sockaddr_set_port(&h->addr, s->check_port);
	h->target.addr = &h->addr;
	h->target.spec = conf_health_spec(px, warn, sizeof(warn));
}

/* An agent check of s: agent-addr (else the server's address) and
 * agent-port; its rules send agent-send and read one line. */
static int
health_agent_target(struct health *h, const struct conf_server *s)
{
	const struct sockaddr_spec *a = s->agent_addr_set ? &s->agent_addr : &s->addr;
	struct check_rule *r;

	memcpy(&h->addr, &a->ss, a->len);
	h->target.addrlen = a->len;
	sockaddr_set_port(&h->addr, s->agent_port);
	h->target.addr = &h->addr;
	if ((h->own = calloc(1, sizeof(*h->own))) == NULL)
		return -1;
	if (s->agent_send_len > 0 && ((r = check_spec_add(h->own, CHECK_RULE_SEND)) == NULL ||
	    check_rule_set_data(r, s->agent_send, s->agent_send_len) == -1))
		return -1;
	if ((r = check_spec_add(h->own, CHECK_RULE_EXPECT)) == NULL)
		return -1;
	r->match = CHECK_M_LINE;
	h->target.spec = h->own;
	return 0;
}

/* A check of s (its agent's when agent), first at delay. */
static int
health_add(struct event_base *base, struct conf *c, struct conf_proxy *px, struct conf_server *s,
    int agent, uint64_t delay)
{
	struct health *h = calloc(1, sizeof(*h));

	if (h == NULL)
		return -1;
	h->be = px;
	h->srv = s;
	h->agent = agent;
	h->spread = c->global.spread_checks;
	h->next = checks;
	checks = h;
	evtimer_assign(&h->timer, base, health_on_timer, h);
	if (agent) {
		if (health_agent_target(h, s) == -1)
			return -1;
	} else {
		health_target(h, px, s);
		health_counter_init(&h->counter, s->check_rise, s->check_fall);
	}
	health_arm(h, delay);
	return 0;
}

int
health_start(struct event_base *base, struct conf *c)
{
	unsigned int n = 0, pos = 0;
	uint64_t mininter = UINT64_MAX;

	health_event_start(base);

	for (struct conf_proxy *px = c->proxies; px != NULL; px = px->next) {
		for (struct conf_server *s = px->servers; s != NULL; s = s->next) {
			if (s->check || s->agent_check)
				n++;
			if (s->check && s->check_inter < mininter)
				mininter = s->check_inter;
			if (s->agent_check && s->agent_inter < mininter)
				mininter = s->agent_inter;
		}
	}
	for (struct conf_proxy *px = c->proxies; px != NULL; px = px->next) {
		for (struct conf_server *s = px->servers; s != NULL; s = s->next) {
			/* HAProxy's spread of the first checks: the i-th of n
			 * starts at i/n of the smallest interval. */
			uint64_t delay = health_first_delay(mininter, n, pos);

			if (!s->check && !s->agent_check)
				continue;
			pos++;
			if ((s->check && health_add(base, c, px, s, 0, delay) == -1) ||
			    (s->agent_check && health_add(base, c, px, s, 1, delay) == -1))
				return -1;
			if (s->check && s->observe && !health_observing) {
				/* One timer for every observed server, ten times a second. */
				evtimer_assign(&health_observe_timer, base, health_on_observe, NULL);
				health_observing = 1;
				health_on_observe(-1, 0, NULL);
			}
		}
	}
	return 0;
}

void
health_stop(void)
{
	if (health_observing) {
		evtimer_del(&health_observe_timer);
		health_observing = 0;
	}
	health_event_stop();
	while (checks != NULL) {
		struct health *h = checks;

		checks = h->next;
		evtimer_del(&h->timer);
		if (h->running)
			check_run_abort(&h->run, 1);
		check_spec_free(h->own);
		free(h);
	}
	check_poll_stop();
	check_run_free_buffers();
}
