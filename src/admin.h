/*
 * admin: the admin socket ("stats socket"). One command per
 * connection, as HAProxy's non-interactive mode: the client writes a line
 * (several commands may be separated by ';'), splicer writes the answers
 * and closes. An answer that reports a failure is one line starting with
 * "error: "; commands that change something and succeed print nothing.
 *
 * Everything here runs on the control thread. An answer never waits for
 * a slow reader in unbounded memory: a line holds at most 64 commands,
 * and they run (and "show sess" streams) only while the client's unsent
 * output is small. "show sess" walks each worker's sessions in batches run
 * as jobs on that worker, so the data path never waits for the whole walk;
 * commands that act on sessions find them with the workers parked for one
 * walk (worker_isolate) and post the order to the session's own worker
 * (a job running session.h's verb). Sessions are matched by id or by
 * backend and server name, whatever configuration generation they
 * started with.
 */
#ifndef SPLICER_ADMIN_H
#define SPLICER_ADMIN_H

#include <stddef.h>
#include <stdint.h>

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
struct admin_facts {
	uint64_t started_us;		/* clock_now_us() at start */
	unsigned int reloads, reloads_failed;
	int stopping;
	const char *last_reload;	/* "none", "succeeded" or "failed" */
	unsigned int maxconn_max;	/* the most sessions the fd limit allows */
};
typedef void (*admin_info_fn)(struct admin_facts *f);

/* Accept admin clients on base; "set maxconn global" may go up to
 * maxconn_max (what the fd limit allows). */
int admin_start(struct event_base *base, admin_info_fn info, unsigned int maxconn_max);

/*
 * Run a client's line (commands separated by ';', at most 64) at `level`,
 * appending the answers to out. Needs no socket: with no worker started,
 * commands that look for sessions find none (the fuzzer's entry point).
 * Unlike a client's, this answer is made whole, unbounded by a reader.
 */
void admin_exec(char *line, enum conf_level level, struct evbuffer *out);

/* Close the sockets and their clients, and remove the socket files. */
void admin_stop(void);

#endif
