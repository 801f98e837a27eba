/*
 * statspage: HAProxy's HTTP stats page, for a "mode http" proxy that holds
 * only "stats" and "monitor-uri" lines (conf_statspage.h), served with
 * evhttp on that proxy's bind addresses, on the control thread:
 *   GET PREFIX        an HTML table per proxy of show stat's main figures,
 *                     with <meta http-equiv="refresh"> under "stats refresh"
 *   GET PREFIX;csv    show stat's CSV, as the admin socket writes it
 *   GET MONITOR-URI   200, for liveness probes (no authentication); 503
 *                     while a "monitor fail" condition of the running
 *                     configuration holds
 * "stats auth" asks for HTTP basic authentication (401 with the realm).
 * The addresses and settings are those of the start: a reload keeps them.
 */
#ifndef SPLICER_STATSPAGE_H
#define SPLICER_STATSPAGE_H

#include <stddef.h>

#include <event2/event.h>

#include "conf.h"

/* Copy c's stats pages and open their listening sockets (before
 * privileges drop). Returns 0, or -1 with a sentence in err. */
int statspage_bind(const struct conf *c, char *err, size_t errlen);

/* Serve what statspage_bind opened on base. 0, or -1. */
int statspage_start(struct event_base *base);

/* Do c's stats pages differ from those being served? */
int statspage_changed(const struct conf *c);

void statspage_stop(void);

#endif
