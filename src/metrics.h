/*
 * metrics: "stats metrics ADDR:PORT", the Prometheus endpoint.
 * GET /metrics answers the text exposition format (version 0.0.4) with
 * libevent's evhttp, on the control thread: names start with splicer_,
 * counters end in _total, units are in the names (bytes, seconds), and
 * the labels are frontend, backend, server, engine and direction.
 */
#ifndef SPLICER_METRICS_H
#define SPLICER_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "conf.h"

/* Create the listening socket of c's "stats metrics", if any: before
 * privileges drop (a port below 1024). Returns 0, or -1 with a sentence
 * in err. */
int metrics_bind(const struct conf *c, char *err, size_t errlen);

/* What the process tells about itself (main.c). */
struct metrics_process {
	uint64_t started_us;		/* monotonic */
	unsigned int reloads;		/* attempted */
	unsigned int reloads_failed;
};

/* Serve on base; proc is read at each scrape. */
int metrics_start(struct event_base *base, const struct metrics_process *proc);

void metrics_stop(void);

#endif
