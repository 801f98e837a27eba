/*
 * health: active health checks. Every checked server is checked every
 * `inter` (`fastinter` while its state is changing, `downinter` while
 * down) by its backend's rules (check_rule.h; a bare connect by default);
 * `fall` failures in a row take it down and `rise` successes bring it
 * back, through backend_set_check(). The counting is a pure
 * function of the results so that it is tested without sockets.
 */
#ifndef SPLICER_HEALTH_H
#define SPLICER_HEALTH_H

#include <stdint.h>

#include <event2/event.h>

#include "conf.h"

/* HAProxy's counter: 0 .. rise+fall-1; the server is up while >= rise. */
struct health_counter {
	unsigned int health;
	unsigned int rise;
	unsigned int fall;
};

/* A new counter starts fully up (HAProxy's default init-state): a server
 * goes down only after `fall` failed checks, even at start-up. */
void health_counter_init(struct health_counter *h, unsigned int rise, unsigned int fall);

/* Record a check result; returns +1 when it made the server go up, -1
 * down, 0 otherwise. */
int health_counter_record(struct health_counter *h, int ok);

int health_counter_is_up(const struct health_counter *h);

/* The wait before the next check (us). */
uint64_t health_counter_interval(const struct health_counter *h, uint64_t inter,
    uint64_t fastinter, uint64_t downinter);

/* An interval varied by spread-checks: us times (100 + d)%, d from -pct
 * to +pct chosen by rnd (any non-negative number). */
uint64_t health_spread(uint64_t us, unsigned int pct, long rnd);

/* HAProxy's spread of the first checks: the pos-th of n checked servers
 * (from 0) starts pos/n of the smallest interval after start-up. */
uint64_t health_first_delay(uint64_t mininter, unsigned int n, unsigned int pos);

/* Start checking every server with "check" (after privileges are set). */
int health_start(struct event_base *base, struct conf *c);

/* Stop every check and free them (exit). */
void health_stop(void);

#endif
