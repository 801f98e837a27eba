/*
 * session_admin: the orders the admin socket gives a session (admin_sess.c
 * posts each to the session's own worker) and the stop that ends every
 * session of a worker. Each drives the machine through session.c and
 * leaves through session_leave(), which frees a session it ended.
 */
#include "config.h"

#include <inttypes.h>
#include <stdint.h>

#include "clock.h"
#include "session_int.h"

void
session_kill_all(const char *reason)
{
	struct session *s;

	while ((s = session_list_head()) != NULL) {
		session_close(s, SESS_END_KILLED, 0, "%s", reason);
		session_leave(s, 0);
	}
}

void
session_shutdown(struct session *s, const char *why)
{
	session_close(s, SESS_END_KILLED, SESS_CLOSE_RST_CLIENT | SESS_CLOSE_RST_SERVER, "%s",
	    why);
	session_leave(s, 0);
}

/* Stop every byte both ways: the flows watch nothing until resumed. The
 * kernel cannot be paused: its flows are held (copied from now on) and
 * what it already took still arrives. */
static int
session_pause_now(struct session *s)
{
	if (!session_relays(s))
		return -1;	/* admin_sess.c checked; it moved on since */
	engine_hold(&s->up);
	engine_hold(&s->down);
	s->flags |= SESS_F_PAUSED;
	log_notice("%u: paused from the admin socket", s->id);
	session_update_events(s);
	return 0;
}

static int
session_resume_now(struct session *s)
{
	if (!(s->flags & SESS_F_PAUSED))
		return -1;
	s->flags &= ~SESS_F_PAUSED;
	log_notice("%u: resumed from the admin socket", s->id);
	if (session_relays(s)) {
		session_run(s, &s->up);
		if (s->state != SESS_ST_CLOSED)
			session_run(s, &s->down);
		session_progress(s);
	} else {
		session_update_events(s);
	}
	return 0;
}

int
session_pause(struct session *s, int paused)
{
	return session_leave(s, paused ? session_pause_now(s) : session_resume_now(s));
}

/* Shape one direction of s at rate from now on (its own bucket, on top of
 * any configured limit). A flow the kernel carries cannot be shaped. */
static int
session_shape_now(struct session *s, int d, uint64_t rate)
{
	struct flow *f = d == SHAPER_UP ? &s->up : &s->down;
	uint64_t now = clock_now_us();

	if (engine_in_kernel(f)) {
		log_warning("%u: bandwidth-limit not set: the flow is in the kernel (sockmap)", s->id);
		return -1;
	}
	if (s->shape[d] == NULL) {
		if ((s->shape[d] = shaper_flow_new(1)) == NULL) {
			log_err("%u: out of memory for a bandwidth-limit", s->id);
			return -1;
		}
		f->allow = 0;
	}
	if (shaper_flow_set(s->shape[d], rate, 0, now) == -1) {
		log_err("%u: cannot set its bandwidth-limit (out of memory)", s->id);
		return -1;
	}
	engine_policy_stop(&s->policy);	/* shaped: stays in user space */
	log_notice("%u: %s limited to %" PRIu64 " bits/s (admin socket)", s->id,
	    d == SHAPER_UP ? "upload" : "download", rate);
	return 0;
}

int
session_set_rate(struct session *s, int dir, uint64_t bps)
{
	int rc = session_shape_now(s, dir, bps);

	if (session_relays(s)) {
		session_run(s, dir == SHAPER_UP ? &s->up : &s->down);
		session_progress(s);
	}
	return session_leave(s, rc);
}
