/*
 * health_event: what a server's change of state sets off besides the
 * state itself: "on-marked-down shutdown-sessions", "on-marked-up
 * shutdown-backup-sessions", and the "slowstart" ramp of its weight. All
 * on the control thread.
 */
#ifndef SPLICER_HEALTH_EVENT_H
#define SPLICER_HEALTH_EVENT_H

#include <event2/event.h>

#include "conf.h"

/* srv was just marked down by its checks. */
void health_event_down(struct conf_proxy *be, struct conf_server *srv);

/* srv was just marked up by its checks. */
void health_event_up(struct event_base *base, struct conf_proxy *be, struct conf_server *srv);

/* The weight of a slow start elapsed us out of total: the configured
 * weight times elapsed/total, at least 1, as HAProxy. Pure. */
unsigned int health_event_ramp_weight(unsigned int weight, uint64_t elapsed, uint64_t total);

/* Slow starts out of maintenance too, their timers on base (health_start). */
void health_event_start(struct event_base *base);

/* End every ramp (reload, exit). */
void health_event_stop(void);

#endif
