/*
 * health: check scheduling and the TCP connect probe.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event_struct.h>

#include "backend.h"
#include "clock.h"
#include "dial.h"
#include "health.h"
#include "log.h"

/* One checked server. */
struct health {
	struct conf_proxy *be;
	struct conf_server *srv;
	struct health_counter counter;
	int fd;			/* probe socket, -1 between probes */
	uint64_t started;	/* monotonic us: probe started */
	struct event timer;	/* next probe, or the probe's timeout */
	struct event conn;	/* probe connected or failed */
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

static void
health_arm(struct health *h, uint64_t us)
{
	struct timeval tv = { (time_t)(us / 1000000), (suseconds_t)(us % 1000000) };

	evtimer_add(&h->timer, &tv);
}

/* The probe's time bound: timeout check, else min(timeout connect, inter). */
static uint64_t
health_timeout(const struct health *h)
{
	uint64_t inter = h->srv->check_inter;

	if (h->be->to.check != 0)
		return h->be->to.check;
	if (h->be->to.connect != 0 && h->be->to.connect < inter)
		return h->be->to.connect;
	return inter;
}

/* A probe ended: count it, log a change, schedule the next one. */
static void
health_done(struct health *h, int err)
{
	unsigned int dur = (unsigned int)((clock_now_us() - h->started) / 1000);
	int change;

	if (h->fd != -1) {
		struct linger lg = { 1, 0 };

		/* A reset, not a FIN: checks must not fill the table with
		 * TIME_WAIT sockets. */
		(void)setsockopt(h->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		event_del(&h->conn);
		close(h->fd);
		h->fd = -1;
	}
	evtimer_del(&h->timer);
	change = health_counter_record(&h->counter, err == 0);
	__atomic_store_n(&h->srv->check_health, h->counter.health, __ATOMIC_RELAXED);
	log_debug("health check of %s/%s: %s (%u ms), health %u/%u", h->be->name,
	    h->srv->name, err ? strerror(err) : "succeeded", dur, h->counter.health,
	    h->counter.rise + h->counter.fall - 1);
	if (change < 0) {
		log_warning("Server %s/%s is DOWN, reason: Layer4 %s, info: \"%s\", check "
		    "duration: %ums", h->be->name, h->srv->name,
		    err == ETIMEDOUT ? "timeout" : "connection problem", strerror(err), dur);
		backend_set_check(h->be, h->srv, 0);
	} else if (change > 0) {
		log_warning("Server %s/%s is UP, reason: Layer4 check passed, check duration: %ums",
		    h->be->name, h->srv->name, dur);
		backend_set_check(h->be, h->srv, 1);
	}
	health_arm(h, health_counter_interval(&h->counter, h->srv->check_inter,
	    h->srv->check_fastinter, h->srv->check_downinter));
}

static void
health_on_connect(evutil_socket_t fd, short what, void *arg)
{
	struct health *h = arg;

	health_done(h, dial_result(h->fd));
}

/* The timer either starts a probe or ends one that took too long. */
static void
health_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct health *h = arg;

	if (h->fd != -1) {
		health_done(h, ETIMEDOUT);
		return;
	}
	h->started = clock_now_us();
	if ((h->fd = dial_start((struct sockaddr *)&h->srv->addr.ss, h->srv->addr.len)) == -1) {
		health_done(h, errno);
		return;
	}
	event_assign(&h->conn, event_get_base(&h->timer), h->fd, EV_WRITE, health_on_connect, h);
	event_add(&h->conn, NULL);
	health_arm(h, health_timeout(h));
}

int
health_start(struct event_base *base, struct conf *c)
{
	unsigned int n = 0;

	for (struct conf_proxy *px = c->proxies; px != NULL; px = px->next) {
		for (struct conf_server *s = px->servers; s != NULL; s = s->next) {
			struct health *h;

			if (!s->check)
				continue;
			if ((h = calloc(1, sizeof(*h))) == NULL)
				return -1;
			h->be = px;
			h->srv = s;
			h->fd = -1;
			health_counter_init(&h->counter, s->check_rise, s->check_fall);
			evtimer_assign(&h->timer, base, health_on_timer, h);
			h->next = checks;
			checks = h;
			/* Spread the first probes over one interval, so that many
			 * servers are not all probed in the same millisecond. */
			health_arm(h, (s->check_inter / 16) * (n++ % 16));
		}
	}
	return 0;
}

void
health_stop(void)
{
	while (checks != NULL) {
		struct health *h = checks;

		checks = h->next;
		evtimer_del(&h->timer);
		if (h->fd != -1) {
			event_del(&h->conn);
			close(h->fd);
		}
		free(h);
	}
}
