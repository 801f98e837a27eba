/*
 * session_info: what the rest of the process sees of a session: the
 * byte counters of "show stat", the rate meter and the lines of "show
 * sess", and the tcplog line it leaves when it ends. Reads a session,
 * never changes its course.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "conf.h"
#include "listener.h"
#include "log.h"
#include "session_int.h"

/* "show sess" rates are over this window. */
#define SESS_METER_US	1000000

const char *const session_state_names[SESS_ST_COUNT] = {
	[SESS_ST_ACCEPTED]     = "accepted",
	[SESS_ST_PROXY_HEADER] = "proxy-header",
	[SESS_ST_INSPECTING]   = "inspecting",
	[SESS_ST_ROUTING]      = "routing",
	[SESS_ST_QUEUED]       = "queued",
	[SESS_ST_CONNECTING]   = "connecting",
	[SESS_ST_TURNAROUND]   = "turnaround",
	[SESS_ST_ESTABLISHED]  = "established",
	[SESS_ST_HALF_CLOSED]  = "half-closed",
	[SESS_ST_RESETTING]    = "resetting",
	[SESS_ST_CLOSED]       = "closed",
};

/* Keep a flow's rate over the last full second (show sess). */
void
session_meter(struct session *s, int d, uint64_t bytes, uint64_t now)
{
	if (s->meter[d].at == 0) {
		s->meter[d].at = now;
	} else if (now - s->meter[d].at >= SESS_METER_US) {
		s->meter[d].bps = (bytes - s->meter[d].bytes) * 8 * 1000000 /
		    (now - s->meter[d].at);
		s->meter[d].at = now;
		s->meter[d].bytes = bytes;
	}
}

/* Bytes delivered, for "show stat" (d: 0 up, 1 down). */
void
session_count_bytes(struct session *s, int d, uint64_t n)
{
	if (n == 0)
		return;
	__atomic_add_fetch(&s->fe->fe_bytes[d], n, __ATOMIC_RELAXED);
	if (s->shape[d] != NULL)
		__atomic_add_fetch(&s->fe->fe_shaped[d], n, __ATOMIC_RELAXED);
	if (s->be != NULL)
		__atomic_add_fetch(&s->be->be_bytes[d], n, __ATOMIC_RELAXED);
	if (s->srv != NULL)
		__atomic_add_fetch(&s->srv->bytes[d], n, __ATOMIC_RELAXED);
}

/* Milliseconds between two monotonic instants, -1 when `to` never came. */
static long long
session_ms(uint64_t from, uint64_t to)
{
	return to == 0 ? -1 : (long long)((to - from) / 1000);
}

/* The engines of its flows: "splice", or "splice/sockmap" when they
 * differ; "-" before it is established. */
static void
session_engine(const struct session *s, char *buf, size_t len)
{
	if (s->t_established == 0)
		snprintf(buf, len, "-");
	else if (s->up.ops == s->down.ops)
		snprintf(buf, len, "%s", s->up.ops->name);
	else
		snprintf(buf, len, "%s/%s", s->up.ops->name, s->down.ops->name);
}

static void
session_note_max(unsigned int *max, unsigned int v)
{
	unsigned int m = __atomic_load_n(max, __ATOMIC_RELAXED);

	while (v > m && !__atomic_compare_exchange_n(max, &m, v, 1, __ATOMIC_RELAXED,
	    __ATOMIC_RELAXED))
		;
}

/* What its end adds to its frontend's and server's figures (show stat,
 * metrics): the termination state, times, aborts and retries. */
void
session_account(struct session *s)
{
	const char *a = strchr(CONF_TERM_FIRST, s->term[0]), *b = strchr(CONF_TERM_SECOND, s->term[1]);
	struct conf_server *v = s->srv;
	uint64_t now = clock_now_us();
	long long tw = s->t_queued ? session_ms(s->t_queued, s->t_dequeued ? s->t_dequeued : now) : 0;
	long long tc = s->t_established ? session_ms(s->t_try, s->t_established) : 0;
	long long tt = session_ms(s->t_accept, now);

	if (s->term[0] != '\0' && s->term[1] != '\0' && a != NULL && b != NULL)
		__atomic_add_fetch(&s->fe->term[(a - CONF_TERM_FIRST) * 8 + (b - CONF_TERM_SECOND)],
		    1, __ATOMIC_RELAXED);
	if (v == NULL)
		return;
	__atomic_add_fetch(&v->ended, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&v->qtime_ms, (uint64_t)tw, __ATOMIC_RELAXED);
	__atomic_add_fetch(&v->ctime_ms, (uint64_t)tc, __ATOMIC_RELAXED);
	__atomic_add_fetch(&v->ttime_ms, (uint64_t)tt, __ATOMIC_RELAXED);
	session_note_max(&v->qtime_max, (unsigned int)tw);
	session_note_max(&v->ctime_max, (unsigned int)tc);
	session_note_max(&v->ttime_max, (unsigned int)tt);
	if (s->tries > 1)
		__atomic_add_fetch(&v->retries, s->tries - 1, __ATOMIC_RELAXED);
	if (s->term[1] == 'D' && s->term[0] == 'C')
		__atomic_add_fetch(&v->cli_abrt, 1, __ATOMIC_RELAXED);
	if (s->term[1] == 'D' && s->term[0] == 'S')
		__atomic_add_fetch(&v->srv_abrt, 1, __ATOMIC_RELAXED);
}

/* The tcplog line (log.c formats it). */
void
session_log(struct session *s)
{
	uint64_t now = clock_now_us();
	unsigned int beconn = 0;
	char engine[32];
	struct log_tcp t = {
		.cli = (struct sockaddr *)&s->cli, .accept_date = s->accept_date,
		.backend = s->be != NULL ? s->be->name : NULL,
		.server = s->srv != NULL ? s->srv->name : NULL,
		.tw = s->t_queued ? session_ms(s->t_queued, s->t_dequeued ? s->t_dequeued : now) :
		    s->tries > 0 ? 0 : -1,
		.tc = s->t_established ? session_ms(s->t_try, s->t_established) : -1,
		.tt = session_ms(s->t_accept, now),
		.bytes_down = s->down.bytes, .bytes_up = s->up.bytes, .term = s->term,
		.actconn = listener_actconn(),
		.feconn = __atomic_load_n(&s->fe->cur_sess, __ATOMIC_RELAXED),
		.srv_conn = s->srv != NULL ? __atomic_load_n(&s->srv->cur_sess, __ATOMIC_RELAXED) : 0,
		.retries = s->tries > 1 ? s->tries - 1 : 0,
		.srv_queue = s->srv != NULL ? __atomic_load_n(&s->srv->queue_len, __ATOMIC_RELAXED) : 0,
		.queue = s->be != NULL ? __atomic_load_n(&s->be->queue_len, __ATOMIC_RELAXED) : 0,
		.engine = engine, .reason = s->reason,
		.id = s->id, .cfd = s->cfd, .sfd = s->sfd,
		.srv_addr = s->srv != NULL ? (const struct sockaddr *)&s->srv->addr.ss : NULL,
	};

	if (!log_tcplog_wanted(s->fe, s->up.bytes + s->down.bytes, s->t_established != 0))
		return;
	for (struct conf_server *v = s->be != NULL ? s->be->servers : NULL; v != NULL; v = v->next)
		beconn += __atomic_load_n(&v->cur_sess, __ATOMIC_RELAXED);
	t.beconn = beconn;
	session_engine(s, engine, sizeof(engine));
	log_tcplog(s->fe, &t);
}

/* Its state as "show sess" names it: a turn-around is part of
 * connecting, a forwarded reset part of the phase it interrupted. */
static const char *
session_shown_state(const struct session *s)
{
	if (s->flags & SESS_F_PAUSED)
		return "paused";
	if (s->state == SESS_ST_TURNAROUND)
		return session_state_names[SESS_ST_CONNECTING];
	if (s->state == SESS_ST_RESETTING)
		return session_state_names[(s->up.flags | s->down.flags) & FLOW_F_SHUT ?
		    SESS_ST_HALF_CLOSED : SESS_ST_ESTABLISHED];
	return session_state_names[s->state];
}

/* What "show sess" and the orders see of s. */
void
session_info_fill(const struct session *s, uint64_t now, struct session_info *i)
{
	uint64_t last = s->last_c > s->last_s ? s->last_c : s->last_s;

	memset(i, 0, sizeof(*i));
	i->id = s->id;
	i->frontend = s->fe->name;
	i->fe = s->fe;
	i->backend = s->be != NULL ? s->be->name : NULL;
	i->server = s->srv;
	i->cli = &s->cli;
	i->srv_addr = s->srv != NULL ? &s->srv->addr.ss : NULL;
	i->state = session_shown_state(s);
	session_engine(s, i->engine, sizeof(i->engine));
	i->flow_engine[0] = s->t_established != 0 ? (int)s->up.ops->id : -1;
	i->flow_engine[1] = s->t_established != 0 ? (int)s->down.ops->id : -1;
	i->running = session_relays(s);
	i->age_us = now - s->t_accept;
	i->idle_us = now - (last > s->t_accept ? last : s->t_accept);
	i->bytes[0] = s->up.bytes;
	i->bytes[1] = s->down.bytes;
	for (int d = 0; d < 2; d++) {
		const struct flow *f = d == 0 ? &s->up : &s->down;

		/* Idle for over a window: what it moved since. */
		i->bps[d] = s->meter[d].at != 0 && now - s->meter[d].at >= SESS_METER_US ?
		    (f->bytes - s->meter[d].bytes) * 8 * 1000000 / (now - s->meter[d].at) :
		    s->meter[d].bps;
	}
}
