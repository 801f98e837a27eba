/*
 * notify: the sd_notify messages (see notify.h). Each one is a datagram;
 * a lost one (systemd busy, socket gone) is not retried: the next STATUS=
 * line says the same again a few seconds later.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "clock.h"
#include "log.h"
#include "notify.h"

#define NOTIFY_STATUS_US 5000000	/* STATUS= refreshed this often */

static struct event *notify_status_ev, *notify_watchdog_ev;

const char *
notify_build(void)
{
#ifdef HAVE_LIBSYSTEMD
	return "systemd notify (libsystemd)";
#else
	return "systemd notify: built without libsystemd";
#endif
}

#ifdef HAVE_LIBSYSTEMD

static unsigned int (*notify_sessions)(void);
static int (*notify_alive)(void);
static char notify_result[256] = "no reload yet";
static int notify_stopping_now;

static int
notify_wanted(void)
{
	const char *s = getenv("NOTIFY_SOCKET");

	return s != NULL && *s != '\0';
}

static void
notify_send(const char *msg)
{
	int rc;

	if (!notify_wanted())
		return;
	if ((rc = sd_notify(0, msg)) < 0)
		log_warning("sd_notify: %s", strerror(-rc));
}

static void
notify_status(void)
{
	char msg[400];

	if (notify_stopping_now)
		return;
	snprintf(msg, sizeof(msg), "STATUS=%u sessions; %s",
	    notify_sessions != NULL ? notify_sessions() : 0, notify_result);
	notify_send(msg);
}

static void
notify_on_status(evutil_socket_t fd, short what, void *arg)
{
	notify_status();
}

static void
notify_on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	if (notify_alive != NULL && !notify_alive()) {
		log_err("watchdog: a worker's event loop has not turned; WATCHDOG=1 withheld");
		return;
	}
	notify_send("WATCHDOG=1");
}

static struct event *
notify_timer(struct event_base *base, uint64_t us, event_callback_fn cb)
{
	struct timeval tv = { (time_t)(us / 1000000), (suseconds_t)(us % 1000000) };
	struct event *ev = event_new(base, -1, EV_PERSIST, cb, NULL);

	if (ev != NULL && event_add(ev, &tv) == -1) {
		event_free(ev);
		ev = NULL;
	}
	return ev;
}

int
notify_ready(struct event_base *base, unsigned int (*sessions)(void), int (*alive)(void))
{
	uint64_t wd = 0;

	notify_sessions = sessions;
	notify_alive = alive;
	if (!notify_wanted())
		return 0;
	notify_send("READY=1");
	notify_status();
	if ((notify_status_ev = notify_timer(base, NOTIFY_STATUS_US, notify_on_status)) == NULL)
		return -1;
	if (sd_watchdog_enabled(0, &wd) > 0 && wd > 0) {
		if ((notify_watchdog_ev = notify_timer(base, wd / 2, notify_on_watchdog)) == NULL)
			return -1;
		notify_send("WATCHDOG=1");
		log_info("systemd watchdog: WATCHDOG=1 every %llu ms",
		    (unsigned long long)(wd / 2000));
	}
	return 0;
}

void
notify_reloading(void)
{
	char msg[80];

	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)clock_now_us());
	notify_send(msg);
}

void
notify_reloaded(const char *result)
{
	snprintf(notify_result, sizeof(notify_result), "%s", result);
	notify_send("READY=1");
	notify_status();
}

void
notify_stopping(const char *why)
{
	char msg[300];

	if (notify_stopping_now)
		return;
	snprintf(msg, sizeof(msg), "STOPPING=1\nSTATUS=stopping: %s", why);
	notify_send(msg);
	notify_stopping_now = 1;
}

int
notify_check_chroot(const char *dir, char *err, size_t errlen)
{
	const char *s = getenv("NOTIFY_SOCKET");

	/* Not chrooted, not asked, or an abstract socket (no path): fine.
	 * sd_notify opens the path as given at each call, which inside the
	 * new root names another file or none. */
	if (dir == NULL || s == NULL || s[0] != '/')
		return 0;
	snprintf(err, errlen, "chroot %s: systemd's notify socket %s is out of reach "
	    "inside it, so READY=1 could never be sent; drop 'chroot' (the unit's "
	    "ProtectSystem= and friends confine splicer already) or run it with Type=simple",
	    dir, s);
	return -1;
}

#else /* !HAVE_LIBSYSTEMD */

int
notify_ready(struct event_base *base, unsigned int (*sessions)(void), int (*alive)(void))
{
	return 0;
}

void notify_reloading(void) { }
void notify_reloaded(const char *result) { (void)result; }
void notify_stopping(const char *why) { (void)why; }

int
notify_check_chroot(const char *dir, char *err, size_t errlen)
{
	return 0;
}

#endif

void
notify_stop(void)
{
	if (notify_status_ev != NULL)
		event_free(notify_status_ev);
	if (notify_watchdog_ev != NULL)
		event_free(notify_watchdog_ev);
	notify_status_ev = notify_watchdog_ev = NULL;
}
