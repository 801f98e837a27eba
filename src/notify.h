/*
 * notify: telling systemd (Type=notify) what the process is doing, through
 * libsystemd's sd_notify: READY=1 once listeners are bound and privileges
 * are dropped, RELOADING=1 and READY=1 around a reload, STOPPING=1, a
 * STATUS= line with the sessions and the last reload's outcome, and
 * WATCHDOG=1 while the event loops turn when the unit sets WatchdogSec.
 *
 * Outside systemd (no $NOTIFY_SOCKET), or when built without libsystemd,
 * every call does nothing.
 */
#ifndef SPLICER_NOTIFY_H
#define SPLICER_NOTIFY_H

#include <event2/event.h>

/* "systemd notify" or why not, for splicer -V. */
const char *notify_build(void);

/*
 * Can notifications still reach systemd after chroot into dir? A
 * notify socket that is a path outside the new root cannot be reached:
 * returns -1 with the reason in err, so that start-up fails with it
 * instead of systemd waiting for READY=1 until its start timeout.
 */
int notify_check_chroot(const char *dir, char *err, size_t errlen);

/*
 * READY=1, then a STATUS= line every few seconds and WATCHDOG=1 at half
 * the watchdog interval, both from base's loop (the control thread).
 * sessions() gives the sessions in progress; alive(), when not NULL,
 * says whether the workers' loops turn (a WATCHDOG=1 is withheld while
 * it returns 0).
 */
int notify_ready(struct event_base *base, unsigned int (*sessions)(void), int (*alive)(void));

/* RELOADING=1 with the monotonic time, before a reload's work. */
void notify_reloading(void);

/* READY=1 after a reload; result ("reload #3 failed: ...") goes into
 * every STATUS= line from now on. */
void notify_reloaded(const char *result);

/* STOPPING=1 with why in STATUS=. */
void notify_stopping(const char *why);

/* Free the timers. */
void notify_stop(void);

#endif
