/*
 * check_run: one health check on a non-blocking socket, rule after rule.
 * A connect waits for writability, a send writes what the socket takes
 * and waits for the rest, an expect reads into the bounded buffer until
 * its matcher decides. Nothing here blocks or waits without an event; the
 * deadline is the caller's.
 *
 * At thousands of checks a second the system calls per check are the
 * cost: each socket is watched once, edge-triggered both ways, from its
 * connect to its close, in the checks' own set (check_poll.h: one
 * epoll_ctl, and the answers of a tick taken in one wake-up); reads and
 * writes go on until the socket says EAGAIN, then the next edge resumes
 * (a read is tried only once a readable edge came since the last EAGAIN);
 * a writable edge without an error proves the connect ended well without
 * asking SO_ERROR; and answer buffers are reused, a bare connect check
 * having none.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check_poll.h"
#include "check_rule.h"
#include "dial.h"
#include "proxy_proto.h"

static void check_run_step(struct check_run *run);

/* Answer buffers of ended checks, for the next ones: a check allocates
 * nothing once as many have run at once as will. A few are kept; more
 * checks in flight than that allocate. */
#define CHECK_RUN_SPARE 64

static void *check_run_spare[CHECK_RUN_SPARE];
static unsigned int check_run_nspare;

static void *
check_run_buf_get(void)
{
	return check_run_nspare > 0 ? check_run_spare[--check_run_nspare] : malloc(CHECK_BUF);
}

static void
check_run_buf_put(struct check_run *run)
{
	if (run->buf != NULL && check_run_nspare < CHECK_RUN_SPARE)
		check_run_spare[check_run_nspare++] = run->buf;
	else
		free(run->buf);
	run->buf = NULL;
}

void
check_run_free_buffers(void)
{
	while (check_run_nspare > 0)
		free(check_run_spare[--check_run_nspare]);
}

/* End the check: close, free the buffer, report. */
static void
check_run_finish(struct check_run *run, int ok, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
check_run_close(struct check_run *run)
{
	if (run->fd != -1) {
		struct linger lg = { 1, 0 };

		/* A reset, not a FIN: checks must not fill the table with
		 * TIME_WAIT sockets. */
		(void)setsockopt(run->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		if (run->watch.fd == run->fd)
			check_poll_close(&run->watch);	/* closes it */
		else
			close(run->fd);
		run->fd = -1;
	}
}

static void
check_run_finish(struct check_run *run, int ok, const char *reason, const char *fmt, ...)
{
	struct check_result res = { .ok = ok, .reason = reason, .code = run->code,
	    .nolb = run->nolb };
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(res.info, sizeof(res.info), fmt, ap);
	va_end(ap);
	if (run->buf != NULL) {
		res.answer_len = run->len < sizeof(res.answer) - 1 ? run->len : sizeof(res.answer) - 1;
		memcpy(res.answer, run->buf, res.answer_len);
	}
	res.answer[res.answer_len] = '\0';
	check_run_close(run);
	check_run_buf_put(run);
	run->rule = NULL;
	run->active = 0;
	run->done(run, &res, run->arg);
}

static void check_run_on_event(void *arg, short what);

/* Where a connect rule goes: its own address and port, else the target's. */
static void
check_run_dest(const struct check_run *run, const struct check_rule *r,
    struct sockaddr_storage *ss, socklen_t *len)
{
	*ss = *run->target.addr;
	*len = run->target.addrlen;
	if (r != NULL && r->addr != NULL) {
		uint16_t port = sockaddr_port((const struct sockaddr *)run->target.addr);

		*ss = r->addr->ss;
		*len = r->addr->len;
		sockaddr_set_port(ss, port);
	}
	if (r != NULL && r->port != 0)
		sockaddr_set_port(ss, r->port);
}

/* Does the check say nothing, or speak first, after the connect r (NULL:
 * the implicit one before run->rule)? A server that speaks first (SMTP's
 * banner) must have the handshake's last ACK at once, to accept. */
static int
check_run_speaks_first(const struct check_run *run, const struct check_rule *r)
{
	const struct check_rule *next = r == NULL ? run->rule : r->next;

	return run->target.spec == NULL || (r != NULL && r->send_proxy) ||
	    (next != NULL && next->kind == CHECK_RULE_SEND);
}

/* A connect rule (r), or the implicit one before a list that does not
 * start with one (r == NULL). */
static void
check_run_connect(struct check_run *run, const struct check_rule *r)
{
	struct sockaddr_storage ss;
	socklen_t len;

	check_run_close(run);
	run->len = 0;
	run->eof = 0;
	check_run_dest(run, r, &ss, &len);
	/* Not dial_start(): a check needs none of the options a relayed
	 * socket gets, and two system calls fewer per check count at
	 * thousands of servers. */
	run->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (run->fd != -1 && ss.ss_family != AF_UNIX && check_run_speaks_first(run, r)) {
		int zero = 0;

		/* With quick ACKs off the kernel holds back the handshake's
		 * last ACK. A bare connect check, as HAProxy's, then resets
		 * before it, so that the server never sees a connection to
		 * accept; a check that sends first carries the ACK on its
		 * first bytes: one packet fewer each way to handle. */
		(void)setsockopt(run->fd, IPPROTO_TCP, TCP_QUICKACK, &zero, sizeof(zero));
	}
	if (run->fd == -1 || (connect(run->fd, (struct sockaddr *)&ss, len) == -1 &&
	    errno != EINPROGRESS)) {
		int e = errno;

		check_run_finish(run, 0, "Layer4 connection problem", "%s", strerror(e));
		return;
	}
	run->connecting = 1;
	run->readable = 0;
	/* Watched from now to its close, in the checks' own set. */
	if (check_poll_add(run->base, &run->watch, run->fd, check_run_on_event, run) == -1)
		check_run_finish(run, 0, "Layer4 connection problem", "%s", strerror(errno));
}

/* Write what is left of run->out; 1 when all of it is written. */
static int
check_run_write(struct check_run *run)
{
	while (run->sent < run->outlen) {
		ssize_t n = send(run->fd, run->out + run->sent, run->outlen - run->sent, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;	/* the next writable edge goes on */
		if (n < 0) {
			check_run_finish(run, 0, "Layer4 connection problem", "%s at step %u",
			    strerror(errno), run->step);
			return -1;
		}
		run->sent += (size_t)n;
	}
	run->out = NULL;
	return 1;
}

/* Read what the server sent; 1 when something changed, 0 to wait for
 * the next readable edge. */
static int
check_run_read(struct check_run *run)
{
	ssize_t n;

	do
		n = recv(run->fd, run->buf + run->len, CHECK_BUF - run->len, 0);
	while (n < 0 && errno == EINTR);

	if (n > 0) {
		run->len += (size_t)n;
		return 1;
	}
	if (n == 0) {
		run->eof = 1;
		return 1;
	}
	if (errno == EAGAIN) {
		run->readable = 0;	/* until the next readable edge */
		return 0;
	}
	check_run_finish(run, 0, "Layer4 connection problem", "%s at step %u", strerror(errno),
	    run->step);
	return -1;
}

/* Judge what came, reading more while the matcher wants it and the
 * socket has it. */
static void
check_run_expect(struct check_run *run)
{
	const struct check_rule *r = run->rule;
	char info[160];
	enum check_verdict v;

	while ((v = check_expect(r, run->buf, run->len, run->eof || run->len == CHECK_BUF, info,
	    sizeof(info))) == CHECK_MORE) {
		if (run->eof || run->len == CHECK_BUF || !run->readable || check_run_read(run) != 1)
			return;	/* wait for the next readable edge (or it ended) */
	}
	run->code = r->has_code ? r->status_code : check_http_status(run->buf, run->len);
	if (v == CHECK_FAIL || v == CHECK_FAIL_STATUS) {
		int st = r->err_st ? r->err_st : v == CHECK_FAIL ? CHECK_ST_L7RSP : CHECK_ST_L7STS;

		/* error-status L7OKC: a conditional pass, the server NOLB. */
		run->nolb |= st == CHECK_ST_L7OKC;
		/* on-error replaces the info, as HAProxy's; a comment follows. */
		if (r->on_error != NULL)
			check_run_finish(run, check_status_ok(st), check_status_reason(st),
			    "%s%s%s%s", r->on_error, r->comment ? " comment: '" : "",
			    r->comment ? r->comment : "", r->comment ? "'" : "");
		else
			check_run_finish(run, check_status_ok(st), check_status_reason(st),
			    "%s%s at step %u%s%s%s", r->match >= CHECK_M_HTTP_DEFAULT ? "" :
			    "TCPCHK ", info, run->step, r->comment ? " comment: '" : "",
			    r->comment ? r->comment : "", r->comment ? "'" : "");
		return;
	}
	run->last_expect = r;
	run->nolb |= v == CHECK_PASS_NOLB;
	run->expects++;
	run->rule = r->next;
	run->step++;
	check_run_step(run);
}

/* Every rule passed. An expect that ended the list sets the status
 * (ok-status), the info (on-success) and the code (status-code). */
static void
check_run_passed(struct check_run *run)
{
	const struct check_rule *e = run->last_expect;
	int st = e != NULL && e->next == NULL ? e->ok_st : CHECK_ST_UNSET;

	if (st == CHECK_ST_L7OKC)
		run->nolb = 1;
	if (st == CHECK_ST_UNSET)
		st = run->nolb ? CHECK_ST_L7OKC : run->expects ? CHECK_ST_L7OK : CHECK_ST_L4OK;
	check_run_finish(run, 1, check_status_reason(st), "%s",
	    e != NULL && e->next == NULL && e->on_success ? e->on_success : "");
}

/* Run rules until one must wait or the list ends. */
static void
check_run_step(struct check_run *run)
{
	while (run->rule != NULL) {
		const struct check_rule *r = run->rule;

		if (r->kind == CHECK_RULE_CONNECT) {
			check_run_connect(run, r);
			return;
		}
		if (r->kind == CHECK_RULE_EXPECT) {
			check_run_expect(run);
			return;
		}
		/* A send starts a new answer, as HAProxy's check buffer. */
		if (run->out == NULL) {
			run->out_rule = 1;
			run->out = r->data;
			run->outlen = r->len;
			run->sent = 0;
			run->len = 0;
			run->eof = 0;
		}
		if (check_run_write(run) != 1)
			return;
		run->rule = r->next;
		run->step++;
	}
	check_run_passed(run);
}

/* The socket of a connect rule became writable: connected or failed. A
 * writable edge without an error is a connect that ended well; only an
 * error (EPOLLERR, EPOLLHUP) makes SO_ERROR worth asking. */
static void
check_run_connected(struct check_run *run, short what)
{
	const struct check_rule *r = run->rule;
	int err = what & CHECK_POLL_ERR ? dial_result(run->fd) : 0;

	run->connecting = 0;
	if (err != 0) {
		check_run_finish(run, 0, "Layer4 connection problem", "%s", strerror(err));
		return;
	}
	if (r != NULL && r->kind == CHECK_RULE_CONNECT) {
		run->rule = r->next;
		run->step++;
		if (r->send_proxy) {
			struct sockaddr_storage src, dst;
			socklen_t sl = sizeof(src), dl = sizeof(dst);

			if (getsockname(run->fd, (struct sockaddr *)&src, &sl) == -1 ||
			    getpeername(run->fd, (struct sockaddr *)&dst, &dl) == -1) {
				check_run_finish(run, 0, "Layer4 connection problem", "%s",
				    strerror(errno));
				return;
			}
			run->outlen = pp_build_v1(run->pp, sizeof(run->pp), (struct sockaddr *)&src,
			    (struct sockaddr *)&dst);
			run->out = (const unsigned char *)run->pp;
			run->out_rule = 0;
			run->sent = 0;
			if (check_run_write(run) != 1)
				return;
		}
	}
	check_run_step(run);
}

/* An edge: what the check waits for may be there. Edges of the other
 * direction are ignored, but a readable one is remembered, so that an
 * expect reads bytes whose edge came during a write (and does not try a
 * read that would only say EAGAIN). */
static void
check_run_on_event(void *arg, short what)
{
	struct check_run *run = arg;

	if (what & EV_READ)
		run->readable = 1;
	if (run->connecting) {
		if (what & EV_WRITE)
			check_run_connected(run, what);
	} else if (run->out != NULL) {
		/* A write in progress: a send rule's, or a PROXY header. */
		int of_rule = run->out_rule;

		if (!(what & EV_WRITE) || check_run_write(run) != 1)
			return;
		if (of_rule) {
			run->rule = run->rule->next;
			run->step++;
		}
		check_run_step(run);
	} else if ((what & EV_READ) && run->rule != NULL && run->rule->kind == CHECK_RULE_EXPECT) {
		check_run_expect(run);
	}
}

void
check_run_start(struct check_run *run, struct event_base *base, const struct check_target *t,
    void (*done)(struct check_run *, const struct check_result *, void *), void *arg)
{
	const struct check_rule *first = t->spec != NULL ? t->spec->rules : NULL;

	run->base = base;
	run->target = *t;
	run->fd = -1;
	run->watch.fd = -1;
	run->connecting = 0;
	run->out = NULL;
	run->expects = 0;
	run->last_expect = NULL;
	run->code = 0;
	run->nolb = 0;
	run->done = done;
	run->arg = arg;
	run->step = 1;
	run->active = 1;
	/* A bare connect reads nothing: no buffer. */
	run->buf = NULL;
	if (t->spec != NULL && (run->buf = check_run_buf_get()) == NULL) {
		run->rule = NULL;
		check_run_finish(run, 0, "Layer4 connection problem", "out of memory");
		return;
	}
	/* A list that does not start with a connect gets one first, to the
	 * server's check address; it is step 1 then, as in HAProxy. */
	run->rule = first;
	check_run_connect(run, first != NULL && first->kind == CHECK_RULE_CONNECT ? first : NULL);
}

void
check_run_abort(struct check_run *run, int quiet)
{
	const struct check_rule *r = run->rule;

	if (!run->active)
		return;
	if (quiet) {
		check_run_close(run);
		check_run_buf_put(run);
		run->active = 0;
		return;
	}
	if (!run->connecting && r != NULL && r->kind == CHECK_RULE_EXPECT) {
		char what[128];

		check_rule_describe(r, what, sizeof(what));
		if (r->has_code)
			run->code = r->status_code;
		check_run_finish(run, 0, r->tout_st ? check_status_reason(r->tout_st) :
		    "Layer7 timeout", "at step %u of tcp-check (%s)%s%s%s",
		    run->step, what, r->comment ? " comment: '" : "", r->comment ? r->comment : "",
		    r->comment ? "'" : "");
	}
	else
		check_run_finish(run, 0, "Layer4 timeout", "%s", strerror(ETIMEDOUT));
}
