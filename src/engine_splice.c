/*
 * engine_splice: socket -> pipe -> socket with splice(2), no byte copied
 * through user space.
 *
 * The pipe is taken from the pool when bytes first arrive and given back
 * as soon as it is empty, so an idle session holds no pipe. Every errno
 * of both splice calls is handled by name below.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "engine.h"
#include "pipe_pool.h"

static size_t
engine_splice_pending(const struct flow *f)
{
	return f->pipe != NULL ? f->pipe->data : 0;
}

static void
engine_splice_release(struct flow *f)
{
	/* pipe_pool_put() destroys a pipe that still holds bytes. */
	pipe_pool_put(f->pipe);
	f->pipe = NULL;
}

/*
 * Urgent data: the kernel's splice (tcp_read_sock) stops at the urgent
 * mark and returns EAGAIN there (0 once the peer's FIN is in), even with
 * SO_OOBINLINE, while the socket stays readable: left alone, the flow
 * would be woken again at once, for ever. At the mark, the urgent byte is
 * read with recv() (inline, dial_tune_socket) into the empty pipe, which
 * moves the socket past the mark; splice goes on after it. Returns 1 when
 * a byte was taken, 0 when src is not at a mark.
 */
static int
engine_splice_urgent(struct flow *f)
{
	int at_mark = 0;
	char c;

	if (ioctl(f->src, SIOCATMARK, &at_mark) == -1 || !at_mark ||
	    recv(f->src, &c, 1, MSG_DONTWAIT) != 1)
		return 0;
	if (write(f->pipe->wr, &c, 1) != 1)
		return 0;	/* cannot happen: the pipe is empty */
	f->flags &= ~FLOW_F_CLEAN;
	f->pipe->data++;
	f->in++;
	f->allow--;
	return 1;
}

/*
 * splice(src -> pipe) returned 0: the peer's FIN, or an urgent mark once
 * the FIN is in (splice stops at a mark and returns 0 there instead of
 * EAGAIN). At a mark with bytes still in the pipe, those are drained
 * first: the urgent byte is taken once the pipe is empty. Returns 1 on
 * progress.
 */
static int
engine_splice_fill_zero(struct flow *f, int *maybe_full)
{
	if (f->pipe->data == 0 && engine_splice_urgent(f))
		return 1;
	if (f->pipe->data != 0 && engine_at_mark(f->src)) {
		*maybe_full = 1;
		return 0;
	}
	/* The peer's FIN: everything before it is in the pipe. */
	f->flags |= FLOW_F_SRC_EOF;
	return 0;
}

/*
 * splice(src -> pipe) failed with errno. Returns 1 on progress, 0 when the
 * fill stops for this run, -1 when the flow cannot go on here (errno
 * ENOSR: the copy engine takes it over with no byte lost).
 */
static int
engine_splice_fill_error(struct flow *f, uint64_t in0, int *maybe_full)
{
	if (errno == EAGAIN) {
		/* Ambiguous: the socket is empty, or the pipe is out of slots
		 * long before its byte capacity (16 slots; a slot holds one
		 * segment). An empty pipe cannot be full, so then the socket is
		 * drained (or at an urgent mark); otherwise stop filling and let
		 * the drain make room first. Only a run that read nothing looks
		 * for a mark (it was woken for what splice cannot take): a
		 * drained socket costs no extra call, and a mark met after bytes
		 * is taken at the next wake-up, at once, as the socket stays
		 * readable. engine_promote() checks for a mark itself. */
		if (f->pipe->data != 0)
			*maybe_full = 1;
		else if (f->in == in0 && engine_splice_urgent(f))
			return 1;
		else
			f->flags |= FLOW_F_CLEAN;
		return 0;
	}
	if (errno == EINTR)
		return 1;
	if (engine_peer_gone(errno)) {
		f->flags |= FLOW_F_SRC_ERR;
		f->err = errno;
		return 0;
	}
	if ((errno == ENOMEM || errno == ENOBUFS) && f->pipe->data != 0) {
		/* Short of kernel memory and nothing was taken from the socket:
		 * drain what the pipe holds first. */
		*maybe_full = 1;
		return 0;
	}
	f->err = errno;
	if (errno == ENOMEM || errno == ENOBUFS) {
		/* The pipe is empty, so the copy engine can take the flow over
		 * with no byte lost; the pipe that failed is not given to
		 * another flow. */
		pipe_pool_kill(f->pipe);
		f->pipe = NULL;
		errno = ENOSR;
	}
	/* Otherwise EINVAL and the like: our failure, not the peer's. */
	return -1;
}

/*
 * Fill: src -> pipe, at most the room left in the pipe and what shaping
 * allows. Returns 1 on progress, 0 when the fill stops for this run
 * (*maybe_full set when the pipe may be out of room), -1 on a failure
 * (errno ENOSR: no pipe, the copy engine takes the flow over). *drained
 * is set when a FLOW_F_USER flow read less than it asked: no second fill
 * in this run.
 */
static int
engine_splice_fill(struct flow *f, uint64_t in0, int *maybe_full, int *drained)
{
	size_t room, want;
	ssize_t n;

	if (f->pipe == NULL && (f->pipe = pipe_pool_get()) == NULL) {
		/* No pipe and no byte held: engine_run() moves the flow to the
		 * copy engine. */
		f->err = errno;
		errno = ENOSR;
		return -1;
	}
	if (f->pipe->data >= f->pipe->size) {
		*maybe_full = 1;
		return 0;
	}
	room = f->pipe->size - f->pipe->data;
	want = room < f->allow ? room : (size_t)f->allow;
	n = splice(f->src, NULL, f->pipe->wr, NULL, want, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	if (n > 0) {
		if ((size_t)n < want && (f->flags & (FLOW_F_USER | FLOW_F_SRC_HUP)) == FLOW_F_USER)
			*drained = 1;
		f->flags &= ~FLOW_F_CLEAN;
		f->pipe->data += (size_t)n;
		f->in += (uint64_t)n;
		f->allow -= (uint64_t)n;
		return 1;
	}
	if (n == 0)
		return engine_splice_fill_zero(f, maybe_full);
	return engine_splice_fill_error(f, in0, maybe_full);
}

static ssize_t
engine_splice_run(struct flow *f)
{
	size_t moved = 0;
	int maybe_full = 0;	/* last fill got EAGAIN while the pipe held bytes */
	int drained = 0;	/* a fill came back short (FLOW_F_USER) */
	uint64_t in0 = f->in;
	ssize_t n;
	int w;

	f->flags &= ~(FLOW_F_WANT_READ | FLOW_F_WANT_WRITE | FLOW_F_WANT_TOKENS);
	while (moved < ENGINE_RUN_BUDGET) {
		int progress = 0;

		if (!(f->flags & (FLOW_F_SRC_EOF | FLOW_F_SRC_ERR | FLOW_F_DST_ERR)) &&
		    !maybe_full && !drained && f->allow > 0) {
			progress = engine_splice_fill(f, in0, &maybe_full, &drained);
			if (progress < 0)
				return -1;
		}

		/* Drain: pipe -> dst. */
		if (f->pipe != NULL && f->pipe->data > 0 && !(f->flags & FLOW_F_DST_ERR)) {
			n = splice(f->pipe->rd, NULL, f->dst, NULL, f->pipe->data,
			    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n > 0) {
				f->pipe->data -= (size_t)n;
				maybe_full = 0;
			}
			/* EAGAIN (or 0): dst's send buffer is full; wait for room. */
			if ((w = engine_note_write(f, n, &moved)) == -1)
				return -1;
			progress |= w;
		}
		if (!progress)
			break;
	}

	if (f->pipe != NULL && f->pipe->data == 0) {
		pipe_pool_put(f->pipe);
		f->pipe = NULL;
	}
	if (f->flags & FLOW_F_DST_ERR)
		return (ssize_t)moved;
	if (f->pipe != NULL)
		f->flags |= FLOW_F_WANT_WRITE;
	/* Read again unless src is finished or the pipe may be full; in the
	 * latter case the drain's write event brings us back. */
	if (!(f->flags & (FLOW_F_SRC_EOF | FLOW_F_SRC_ERR)) &&
	    !(f->pipe != NULL && (maybe_full || f->pipe->data >= f->pipe->size)))
		f->flags |= f->allow > 0 ? FLOW_F_WANT_READ : FLOW_F_WANT_TOKENS;
	return (ssize_t)moved;
}

const struct engine_ops engine_splice_ops = {
	.name = "splice",
	.id = ENGINE_SPLICE,
	.run = engine_splice_run,
	.pending = engine_splice_pending,
	.release = engine_splice_release,
};
