/*
 * session_inspect: content inspection (tcp-request inspect-delay and
 * content rules, HAProxy's tcp_inspect_request). The client's first
 * bytes are peeked, never taken, into a bounded buffer: they stay in
 * the socket, and once a rule decides the session relays them through
 * its engine (splice) like every later byte. The machine (session.c)
 * calls this as bytes arrive and when the delay is over.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "acl.h"
#include "conf.h"
#include "sample.h"
#include "session_int.h"

int
session_inspect_begin(struct session *s)
{
	if ((s->insp.buf = malloc(SESS_INSPECT_MAX)) == NULL)
		return -1;
	s->insp.len = 0;
	s->insp.shut = 0;
	return 0;
}

void
session_inspect_end(struct session *s)
{
	free(s->insp.buf);
	s->insp.buf = NULL;
	s->insp.len = 0;
}

/* -1 with why set when the client's socket holds an error: a reset after
 * bytes leaves them readable, so recv() alone does not tell it from a FIN. */
static int
session_inspect_error(struct session *s, short revents, char *why, size_t len)
{
	int err = 0;
	socklen_t el = sizeof(err);

	if (getsockopt(s->cfd, SOL_SOCKET, SO_ERROR, &err, &el) == -1)
		err = errno;
	if (err == 0 && (revents & POLLERR) == 0)
		return 0;
	snprintf(why, len, "client aborted during content inspection (%s)",
	    strerror(err != 0 ? err : ECONNRESET));
	return -1;
}

/* Peek at the socket: 0, or -1 when the client reset (why set). A FIN
 * with bytes before it leaves the bytes readable: poll tells the FIN,
 * and a reset (POLLERR, SO_ERROR) from it. */
static int
session_inspect_peek(struct session *s, char *why, size_t len)
{
	struct pollfd p = { .fd = s->cfd, .events = POLLIN | POLLRDHUP };
	ssize_t n = recv(s->cfd, s->insp.buf, SESS_INSPECT_MAX, MSG_PEEK | MSG_DONTWAIT);
	int hup;

	if (n == -1) {
		switch (errno) {
		case EAGAIN:
		case EINTR:
			return 0;	/* nothing new: the rules run on what was there */
		default:
			/* ECONNRESET and the like: nothing will be relayed. */
			snprintf(why, len, "client aborted during content inspection (%s)",
			    strerror(errno));
			return -1;
		}
	}
	if ((size_t)n > s->insp.len)
		s->insp.len = (size_t)n;
	hup = poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
	if ((n == 0 || hup) && session_inspect_error(s, p.revents, why, len) == -1)
		return -1;
	if (n == 0 || hup)
		s->insp.shut = 1;
	return 0;
}

void
session_inspect_ctx(const struct session *s, const struct sockaddr *dst,
    struct sample_ctx *ctx)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->cli = (const struct sockaddr *)&s->cli;
	ctx->dst = dst;
	ctx->data = s->insp.buf;
	ctx->len = s->insp.buf != NULL ? s->insp.len : 0;
	ctx->final = 1;
	ctx->fe = s->fe;
	ctx->so_id = s->so_id;
	/* The entries track-sc rules track (tcp-request connection's, and
	 * content's once a run set them): sc0_* fetches read them. */
	memcpy(ctx->track, s->sc.e, sizeof(ctx->track));
}

int
session_inspect_step(struct session *s, const struct sockaddr *dst, int final,
    const struct acl_rule **rule, char *why, size_t len)
{
	struct sample_ctx ctx;
	int v;

	if (session_inspect_peek(s, why, len) == -1)
		return -1;
	session_inspect_ctx(s, dst, &ctx);
	/* Nothing more will come once the buffer is full or the client
	 * shut: as when the delay is over (HAProxy clears SMP_OPT_PARTIAL). */
	ctx.final = final || s->insp.shut || s->insp.len == SESS_INSPECT_MAX;
	v = acl_rules_decide(s->fe->tcp_content_rules, &ctx, rule);
	/* A track-sc rule keeps its entry for the session; run again as
	 * more bytes come, it finds its counter taken and tracks nothing more. */
	memcpy(s->sc.e, ctx.track, sizeof(s->sc.e));
	/* A final run cannot wait: a fetch that would finds no sample. */
	return v == ACL_ACTION_WAIT && ctx.final ? ACL_ACTION_ACCEPT : v;
}
