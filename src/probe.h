/*
 * probe: "stats health ADDR:PORT", the HTTP endpoint an orchestrator
 * probes (libevent's evhttp, on the control thread):
 *
 *   GET /healthz  200 while the process is alive: the control loop
 *                 answers and every worker's loop turns (heartbeat.h);
 *                 503 naming the stuck worker otherwise.
 *   GET /ready    200 while it should get clients: not stopping, every
 *                 frontend accepting, and each frontend's backend with a
 *                 server up; 503 with the first reason otherwise.
 *
 * The body is one line of text, for a person reading the probe's events.
 */
#ifndef SPLICER_PROBE_H
#define SPLICER_PROBE_H

#include <stddef.h>

#include <event2/event.h>

#include "conf.h"

/* Create the listening socket, if c has "stats health": before
 * privileges drop. Returns 0, or -1 with a sentence in err. */
int probe_bind(const struct conf *c, char *err, size_t errlen);

/* Serve on base. */
int probe_start(struct event_base *base);

/* The process is stopping (why: "SIGTERM"): /ready answers 503 from now. */
void probe_set_stopping(const char *why);

/* Is c ready? 1, or 0 with the reason in why. (/ready, without HTTP.) */
int probe_ready(const struct conf *c, char *why, size_t len);

void probe_stop(void);

#endif
