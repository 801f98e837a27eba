/*
 * heartbeat: do the workers' event loops turn? Every second the control
 * thread posts a job to each worker, which stamps the time it ran. A job
 * still waiting after HEARTBEAT_LATE_US means that worker's loop is stuck
 * (a busy loop, a blocking call): /healthz and the systemd watchdog say so.
 */
#ifndef SPLICER_HEARTBEAT_H
#define SPLICER_HEARTBEAT_H

#include <stddef.h>

#include <event2/event.h>

#define HEARTBEAT_EVERY_US 1000000
#define HEARTBEAT_LATE_US  3000000

/* Post the first jobs and arm the timer on base (the control loop). */
int heartbeat_start(struct event_base *base);

/* The process is stopping: workers end one by one, their jobs with them;
 * from now on only the control loop's own turning counts. */
void heartbeat_stopping(void);

/* 1 when every worker ran its last job in time; else 0, with the worker
 * and how late it is in why. */
int heartbeat_ok(char *why, size_t len);

/* heartbeat_ok() without a reason (notify's watchdog). */
int heartbeat_alive(void);

/* Take back the jobs still posted and free the timer, before the workers
 * are freed. */
void heartbeat_stop(void);

#endif
