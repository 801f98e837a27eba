/*
 * session_route: where a session goes and on what terms. Its backend
 * (use_backend rules, which see the bytes content inspection peeked, then
 * default_backend), its server (stickiness, then the balance algorithm,
 * or a place in a queue), the server's address, the redispatch of a
 * failed try, what a try tells the server's counters, the engine and the
 * bandwidth limits of its flows. The machine (session.c) asks and acts
 * on the answer: nothing here changes a session's state or ends it.
 */
#include "config.h"

#include <string.h>
#include <sys/socket.h>

#include "acl.h"
#include "backend.h"
#include "clock.h"
#include "conf.h"
#include "dial.h"
#include "log.h"
#include "persist.h"
#include "sample.h"
#include "session_int.h"
#include "shaper.h"
#include "sockaddr.h"
#include "worker.h"

const struct sockaddr *
session_route_dst(struct session *s)
{
	socklen_t len = sizeof(s->dst);

	if (!(s->flags & SESS_F_DST_KNOWN) &&
	    getsockname(s->cfd, (struct sockaddr *)&s->dst, &len) == 0)
		s->flags |= SESS_F_DST_KNOWN;
	return (struct sockaddr *)&s->dst;
}

/*
 * A slot was taken for this queued session, on whatever thread freed it
 * and under the backend lock: tell the session's worker, which connects
 * (never from inside backend_release(), never from another thread).
 */
static void
session_route_dequeued(struct backend_waiter *w)
{
	struct session *s = (struct session *)((char *)w - offsetof(struct session, waiter));

	worker_post(s->worker, &s->dequeued);
}

/* "Connect from" of a frontend without option tcplog. */
static void
session_route_trace(struct session *s)
{
	char c[SOCKADDR_STRLEN], d[SOCKADDR_STRLEN];

	if ((s->fe->opts & CONF_OPT_TCPLOG) || !log_traffic_wanted(s->fe))
		return;
	log_traffic(s->fe, LOG_INFO, "Connect from %s to %s (%s/TCP)",
	    sockaddr_print((struct sockaddr *)&s->cli, c, sizeof(c)),
	    sockaddr_print(session_route_dst(s), d, sizeof(d)), s->fe->name);
}

enum session_route
session_route_pick(struct session *s, enum session_cause *cause, char *why, size_t len)
{
	struct sample_ctx ctx;

	session_route_trace(s);
	/* use_backend rules first, then default_backend. */
	session_inspect_ctx(s, session_route_dst(s), &ctx);
	if (s->fe->use_backends != NULL)
		s->be = acl_use_backend_ctx(s->fe->use_backends, &ctx);
	session_inspect_end(s);
	ctx.data = NULL;	/* persistence reads no byte (conf_stick.c) */
	ctx.len = 0;
	if (s->be == NULL)
		s->be = s->fe->backend;
	if (s->be == NULL) {
		*cause = SESS_END_PROXY;
		snprintf(why, len, "no use_backend rule matched and frontend '%s' has no "
		    "default_backend", s->fe->name);
		return SESS_ROUTE_FAILED;
	}
	s->waiter.cli = (struct sockaddr *)&s->cli;
	s->waiter.ready = session_route_dequeued;
	ctx.be = s->be;
	switch (persist_assign(s->be, &ctx, &s->srv, &s->waiter, clock_now_us())) {
	case BACKEND_NO_SERVER:
		*cause = SESS_END_SRV_ERROR;
		snprintf(why, len, "backend '%s' has no server available", s->be->name);
		return SESS_ROUTE_FAILED;
	case BACKEND_QUEUE_FULL:
		*cause = SESS_END_SRV_ERROR;
		snprintf(why, len, "server '%s' of backend '%s' is full and so is its queue "
		    "(maxqueue %u)", s->waiter.full->name, s->be->name, s->waiter.full->maxqueue);
		return SESS_ROUTE_QUEUE_FULL;
	case BACKEND_FULL:
		log_debug("%u: %s%s%s is full; queued", s->id, s->waiter.qsrv ? "server '" :
		    "every server of '", s->waiter.qsrv ? s->waiter.qsrv->name : s->be->name, "'");
		return SESS_ROUTE_QUEUED;
	case BACKEND_ASSIGNED:
	default:
		return SESS_ROUTE_ASSIGNED;
	}
}

int
session_route_redispatch(struct session *s)
{
	struct conf_server *other;

	if (!dial_redispatch_now(s->tries, s->be->retries, s->be->redispatch_every,
	    (s->be->opts & CONF_OPT_REDISPATCH) != 0) ||
	    backend_assign(s->be, (struct sockaddr *)&s->cli, s->srv, &other, NULL) !=
	    BACKEND_ASSIGNED)
		return 0;
	if (other == s->srv) {
		backend_release(s->be, other);	/* the only one: keep our slot */
		return 0;
	}
	log_debug("%u: redispatch from server '%s' to '%s'", s->id, s->srv->name, other->name);
	__atomic_add_fetch(&s->srv->redispatches, 1, __ATOMIC_RELAXED);
	backend_release(s->be, s->srv);
	s->srv = other;
	return 1;
}

socklen_t
session_route_addr(struct session *s, struct sockaddr_storage *to)
{
	int port, rel, off;
	socklen_t len = backend_server_addr(s->srv, to, &rel, &off);	/* resolvers may move it */

	if (!rel || len == 0)
		return len;
	port = (int)sockaddr_port(session_route_dst(s)) + off;
	if (port < 1 || port > 65535)
		return 0;
	sockaddr_set_port(to, (uint16_t)port);
	return len;
}

void
session_route_try_failed(struct session *s)
{
	__atomic_add_fetch(&s->srv->connect_errors, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&s->srv->observed_errors, 1, __ATOMIC_RELAXED);	/* observe layer4 */
}

void
session_route_connected(struct session *s, uint64_t now)
{
	if (s->be->stick_rules != NULL) {	/* stick store-request: the server it got */
		struct sample_ctx ctx;

		session_inspect_ctx(s, session_route_dst(s), &ctx);
		ctx.be = s->be;
		persist_store(s->be, &ctx, s->srv, now);
	}
	if (__atomic_load_n(&s->srv->observed_errors, __ATOMIC_RELAXED) != 0)
		__atomic_store_n(&s->srv->observed_errors, 0, __ATOMIC_RELAXED);
}

enum conf_engine
session_route_engine(const struct session *s)
{
	enum conf_engine engine = s->be->engine != CONF_ENGINE_UNSET ? s->be->engine :
	    s->fe->engine;

	/* "nosplice": the bytes go through user space (sockmap is apart). */
	if (s->conf->global.nosplice && engine != CONF_ENGINE_SOCKMAP)
		engine = CONF_ENGINE_COPY;
	return engine;
}

void
session_route_shape(struct session *s, uint64_t now)
{
	struct flow *flows[2] = { &s->up, &s->down };
	int oom;

	for (int d = SHAPER_UP; d <= SHAPER_DOWN; d++) {
		s->shape[d] = shaper_flow_for(d, s->conf, s->fe, s->be, (struct sockaddr *)&s->cli,
		    now, &oom);
		if (s->shape[d] != NULL)
			flows[d]->allow = 0;
		else if (oom)
			log_warning("%u: out of memory: the session's %s is not shaped", s->id,
			    d == SHAPER_UP ? "upload" : "download");
	}
}
