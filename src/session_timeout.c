/*
 * session_timeout: the deadlines of a session, each rule stated once,
 * and for each state those that apply. Pure arithmetic over a session
 * and the clock: session.c arms its one timer from session_deadline()
 * and acts on what session_expired() names.
 */
#include "config.h"

#include <stdint.h>

#include "clock.h"
#include "conf.h"
#include "session_int.h"

/* accept-proxy without "timeout client" still waits for the header at
 * most this long: every stall has a timer. */
#define SESS_PROXY_HEADER_MAX_US	10000000

#define SESS_RULES_MAX 4

static const enum session_timeout session_rules[SESS_ST_COUNT][SESS_RULES_MAX] = {
	[SESS_ST_ACCEPTED]     = { SESS_TO_LIFETIME },
	[SESS_ST_PROXY_HEADER] = { SESS_TO_LIFETIME, SESS_TO_HEADER },
	[SESS_ST_INSPECTING]   = { SESS_TO_LIFETIME, SESS_TO_INSPECT },
	[SESS_ST_ROUTING]      = { SESS_TO_LIFETIME },
	[SESS_ST_QUEUED]       = { SESS_TO_LIFETIME, SESS_TO_QUEUE },
	[SESS_ST_CONNECTING]   = { SESS_TO_LIFETIME, SESS_TO_CONNECT },
	[SESS_ST_TURNAROUND]   = { SESS_TO_LIFETIME, SESS_TO_TURNAROUND },
	[SESS_ST_ESTABLISHED]  = { SESS_TO_LIFETIME, SESS_TO_CLIENT_IDLE, SESS_TO_SERVER_IDLE,
	    SESS_TO_FLOWS },
	[SESS_ST_HALF_CLOSED]  = { SESS_TO_LIFETIME, SESS_TO_CLIENT_IDLE, SESS_TO_SERVER_IDLE,
	    SESS_TO_FLOWS },
	/* The reset is forwarded within its own bound (flush_until). */
	[SESS_ST_RESETTING]    = { SESS_TO_FLUSH },
};

/* Idle limits of each side in the current state (us, 0 = none). */
void
session_limits(const struct session *s, uint64_t *lim_c, uint64_t *lim_s)
{
	const struct conf_timeouts *fe = &s->fe->to, *be = &s->be->to;
	uint64_t c = fe->client, v = be->server;

	if (be->tunnel != 0)
		c = v = be->tunnel;
	if (s->state == SESS_ST_HALF_CLOSED) {
		if (fe->client_fin != 0)
			c = fe->client_fin;
		if (be->server_fin != 0)
			v = be->server_fin;
	}
	*lim_c = c;
	*lim_s = v;
}

/* How long accept-proxy waits for the header: timeout client, bounded. */
uint64_t
session_header_timeout(const struct session *s)
{
	return s->fe->to.client ? s->fe->to.client : SESS_PROXY_HEADER_MAX_US;
}

/* timeout queue, or timeout connect when it is not set (as HAProxy). */
uint64_t
session_queue_timeout(const struct session *s)
{
	return s->be->to.queue ? s->be->to.queue : s->be->to.connect;
}

uint64_t
session_lifetime(const struct session *s)
{
	return s->be != NULL && s->be->to.lifetime ? s->be->to.lifetime : s->fe->to.lifetime;
}

/* Earliest of two deadlines where 0 means none. */
static uint64_t
session_min(uint64_t a, uint64_t b)
{
	return a == 0 ? b : b == 0 ? a : a < b ? a : b;
}

/* When an idle side times out: a side's idle timer only runs while we
 * wait on that side, and counts from the later of its last byte and the
 * start of the wait (0: it does not run). */
static uint64_t
session_idle_at(uint64_t last, uint64_t wait, uint64_t lim)
{
	return lim != 0 && wait != 0 ? (last > wait ? last : wait) + lim : 0;
}

/* The instant rule falls due for s, 0 for never. Each rule is stated
 * here only. */
static uint64_t
session_rule_at(const struct session *s, enum session_timeout rule, uint64_t now)
{
	uint64_t lim_c, lim_s, when = 0;

	switch (rule) {
	case SESS_TO_LIFETIME:
		return session_lifetime(s) ? s->t_accept + session_lifetime(s) : 0;
	case SESS_TO_HEADER:
		return s->t_accept + session_header_timeout(s);
	case SESS_TO_INSPECT:
		return s->insp.t_start + s->fe->inspect_delay;
	case SESS_TO_QUEUE:
		return session_queue_timeout(s) ? s->t_queued + session_queue_timeout(s) : 0;
	case SESS_TO_CONNECT:
		return s->be->to.connect ? s->t_try + s->be->to.connect : 0;
	case SESS_TO_TURNAROUND:
		return s->retry_at;
	case SESS_TO_CLIENT_IDLE:
	case SESS_TO_SERVER_IDLE:
		if (s->flags & SESS_F_PAUSED)
			return 0;	/* a paused session times out on nothing */
		session_limits(s, &lim_c, &lim_s);
		return rule == SESS_TO_CLIENT_IDLE ? session_idle_at(s->last_c, s->wait_c, lim_c) :
		    session_idle_at(s->last_s, s->wait_s, lim_s);
	case SESS_TO_FLOWS:
		if (s->flags & SESS_F_PAUSED)
			return 0;
		if (s->up.flags & FLOW_F_WANT_TOKENS)
			when = session_min(when, s->tokens_at[SHAPER_UP]);
		if (s->down.flags & FLOW_F_WANT_TOKENS)
			when = session_min(when, s->tokens_at[SHAPER_DOWN]);
		if (s->up.flags & FLOW_F_WANT_POLL)
			when = session_min(when, now + s->up.poll_us);
		if (s->down.flags & FLOW_F_WANT_POLL)
			when = session_min(when, now + s->down.poll_us);
		return when;
	case SESS_TO_FLUSH:
		return now + SESS_FLUSH_POLL_US;
	default:
		return 0;
	}
}

/* The next instant something must happen in this state, 0 for none. */
uint64_t
session_deadline(const struct session *s, uint64_t now)
{
	uint64_t when = 0;

	for (int i = 0; i < SESS_RULES_MAX && session_rules[s->state][i] != SESS_TO_NONE; i++)
		when = session_min(when, session_rule_at(s, session_rules[s->state][i], now));
	return when;
}

/* The first rule of this state due at now, in the order they win. The
 * poll of a forwarded reset is due whenever the timer fires. */
enum session_timeout
session_expired(const struct session *s, uint64_t now)
{
	for (int i = 0; i < SESS_RULES_MAX && session_rules[s->state][i] != SESS_TO_NONE; i++) {
		enum session_timeout rule = session_rules[s->state][i];
		uint64_t at = session_rule_at(s, rule, now);

		if (rule == SESS_TO_FLUSH || (at != 0 && now >= at))
			return rule;
	}
	return SESS_TO_NONE;
}
