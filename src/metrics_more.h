/*
 * metrics_more: the families of the Prometheus endpoint beyond the
 * basic ones (metrics.c): servers' states and checks, the time sessions
 * spent, aborts, retries, terminations, build info and the standard
 * process_* families. metrics.c lends its writers.
 */
#ifndef SPLICER_METRICS_MORE_H
#define SPLICER_METRICS_MORE_H

#include <stdint.h>

#include <event2/buffer.h>

#include "conf.h"

void metrics_family(struct evbuffer *b, const char *name, const char *type, const char *help);
void metrics_sample(struct evbuffer *b, const char *name, const char *k1, const char *v1,
    const char *k2, const char *v2, const char *k3, const char *v3, uint64_t value);

/* The families of metrics_more.c; started_us: clock_now_us() at start. */
void metrics_more(struct evbuffer *b, const struct conf *c, uint64_t started_us);

#endif
