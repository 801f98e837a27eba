/*
 * backend: choosing a server for a new session.
 */
#ifndef SPLICER_BACKEND_H
#define SPLICER_BACKEND_H

#include "conf.h"

/* The next server of be (round-robin), or NULL when it has none. */
struct conf_server *backend_pick(struct conf_proxy *be);

#endif
