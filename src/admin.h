/*
 * admin: the admin socket ("stats socket"). One command per
 * connection, as HAProxy's non-interactive mode: the client writes a line
 * (several commands may be separated by ';'), splicer writes the answers
 * and closes. An answer that reports a failure is one line starting with
 * "error: "; commands that change something and succeed print nothing.
 *
 * Everything here runs on the control thread. Commands that look at
 * sessions park the workers for the time of a walk over their lists
 * (worker_isolate); commands that act on a session post the order to the
 * session's own worker (session_order).
 */
#ifndef SPLICER_ADMIN_H
#define SPLICER_ADMIN_H

#include <stddef.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "conf.h"

/*
 * Create the UNIX sockets of c's "stats socket" lines, with their mode and
 * owner: before privileges drop. A stale socket file left at the path is
 * replaced; any other file is an error. Returns 0, or -1 with a sentence
 * in err (nothing is left open).
 */
int admin_bind(const struct conf *c, char *err, size_t errlen);

/* What the process tells "show info" about itself (main.c). */
typedef void (*admin_info_fn)(struct evbuffer *out);

/* Accept admin clients on base; "set maxconn global" may go up to
 * maxconn_max (what the fd limit allows). */
int admin_start(struct event_base *base, admin_info_fn info, unsigned int maxconn_max);

/*
 * Run a client's line (commands separated by ';') at `level`, appending
 * the answers to out. Needs no socket: with no worker started, commands
 * that look for sessions find none (the fuzzer's entry point).
 */
void admin_exec(char *line, enum conf_level level, struct evbuffer *out);

/* Close the sockets and their clients, and remove the socket files. */
void admin_stop(void);

#endif
