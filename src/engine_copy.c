/*
 * engine_copy: recv()/send() through a fixed per-flow buffer. The
 * portable baseline, and where a flow goes when no pipe can be had.
 * The buffer is allocated when bytes first arrive and freed when the
 * flow is released, so memory per flow is bounded by ENGINE_COPY_BUFSZ.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "engine.h"

static size_t
engine_copy_pending(const struct flow *f)
{
	return f->len;
}

static void
engine_copy_release(struct flow *f)
{
	free(f->buf);
	f->buf = NULL;
	f->off = 0;
	f->len = 0;
}

static ssize_t
engine_copy_run(struct flow *f)
{
	size_t moved = 0;
	ssize_t n;
	int w, drained = 0;	/* a recv came back short (FLOW_F_USER): no second */

	f->flags &= ~(FLOW_F_WANT_READ | FLOW_F_WANT_WRITE | FLOW_F_WANT_TOKENS);
	while (moved < ENGINE_RUN_BUDGET) {
		int progress = 0;

		if (f->len == 0)
			f->off = 0;
		/* Fill the tail of the buffer. */
		if (!(f->flags & (FLOW_F_SRC_EOF | FLOW_F_SRC_ERR | FLOW_F_DST_ERR)) &&
		    f->off + f->len < ENGINE_COPY_BUFSZ && f->allow > 0 && !drained) {
			size_t room = ENGINE_COPY_BUFSZ - f->off - f->len;
			size_t want = room < f->allow ? room : (size_t)f->allow;

			if (f->buf == NULL && (f->buf = malloc(ENGINE_COPY_BUFSZ)) == NULL) {
				f->err = errno;
				return -1;
			}
			n = recv(f->src, f->buf + f->off + f->len, want, 0);
			if (n > 0) {
				/* Short: src was emptied (or stopped at an urgent
				 * byte, which the next wake-up reads). */
				if ((size_t)n < want && (f->flags & (FLOW_F_USER |
				    FLOW_F_SRC_HUP)) == FLOW_F_USER)
					drained = 1;
				f->flags &= ~FLOW_F_CLEAN;
				f->len += (size_t)n;
				f->in += (uint64_t)n;
				f->allow -= (uint64_t)n;
				progress = 1;
			} else if (n == 0) {
				f->flags |= FLOW_F_SRC_EOF;
			} else if (errno == EINTR) {
				progress = 1;
			} else if (engine_peer_gone(errno)) {
				f->flags |= FLOW_F_SRC_ERR;
				f->err = errno;
			} else if (errno != EAGAIN) {
				f->err = errno;
				return -1;
			} else {
				/* Nothing to read; unambiguous here. */
				f->flags |= FLOW_F_CLEAN;
			}
		}
		/* Send what the buffer holds. */
		if (f->len > 0 && !(f->flags & FLOW_F_DST_ERR)) {
			n = send(f->dst, f->buf + f->off, f->len, MSG_NOSIGNAL);
			if (n > 0) {
				f->off += (size_t)n;
				f->len -= (size_t)n;
			}
			if ((w = engine_note_write(f, n, &moved)) == -1)
				return -1;
			progress |= w;
		}
		if (!progress)
			break;
	}
	if (f->len == 0)
		f->off = 0;
	if (f->flags & FLOW_F_DST_ERR)
		return (ssize_t)moved;
	if (f->len > 0)
		f->flags |= FLOW_F_WANT_WRITE;
	if (!(f->flags & (FLOW_F_SRC_EOF | FLOW_F_SRC_ERR)) &&
	    f->off + f->len < ENGINE_COPY_BUFSZ)
		f->flags |= f->allow > 0 ? FLOW_F_WANT_READ : FLOW_F_WANT_TOKENS;
	return (ssize_t)moved;
}

const struct engine_ops engine_copy_ops = {
	.name = "copy",
	.id = ENGINE_COPY,
	.run = engine_copy_run,
	.pending = engine_copy_pending,
	.release = engine_copy_release,
};
