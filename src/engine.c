/*
 * engine: choice of a flow's data path and fallback between engines.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include <linux/sockios.h>

#include "engine.h"
#include "log.h"
#include "pipe_pool.h"
#include "units.h"

static unsigned long long engine_nfallbacks;	/* process-wide, atomic: for the log */

void
engine_flow_init(struct flow *f, int src, int dst, enum conf_engine engine,
    unsigned int proxy_opts, int up)
{
	memset(f, 0, sizeof(*f));
	f->src = src;
	f->dst = dst;
	f->allow = UINT64_MAX;
	f->flags = FLOW_F_CLEAN;	/* nothing read yet */
	f->ops = &engine_splice_ops;
	if (engine == CONF_ENGINE_COPY) {
		f->ops = &engine_copy_ops;
	} else if ((proxy_opts & (CONF_OPT_SPLICE_REQ | CONF_OPT_SPLICE_RSP)) &&
	    !(proxy_opts & CONF_OPT_SPLICE_AUTO)) {
		/* HAProxy semantics: with only "option splice-request" (or
		 * -response), the other direction is not spliced. */
		unsigned int need = up ? CONF_OPT_SPLICE_REQ : CONF_OPT_SPLICE_RSP;

		if (!(proxy_opts & need))
			f->ops = &engine_copy_ops;
	}
}

ssize_t
engine_run(struct flow *f)
{
	ssize_t n = f->ops->run(f);

	/* ENOSR is what the splice engine reports for "no pipe to be had":
	 * it holds no byte then, so switching engine loses nothing. */
	if (n == -1 && errno == ENOSR && f->ops == &engine_splice_ops) {
		unsigned long long nth = __atomic_add_fetch(&engine_nfallbacks, 1,
		    __ATOMIC_RELAXED);

		pipe_pool_note_fallback();
		if (nth == 1 || log_is_debug())
			log_warning("no pipe available (%s); flow falls back to the copy "
			    "engine (fallbacks so far: %llu)", f->err == ENOSR ?
			    "maxpipes reached" : strerror(f->err), nth);
		f->ops = &engine_copy_ops;
		f->err = 0;
		n = f->ops->run(f);
	}
	return n;
}

int
engine_at_mark(int fd)
{
	int at = 0;

	return ioctl(fd, SIOCATMARK, &at) == 0 && at;
}

int
engine_promote(struct flow *f)
{
	if (f->ops == &engine_sockmap_ops)
		return 0;
	if (!(f->flags & FLOW_F_CLEAN) || engine_pending(f) != 0 ||
	    (f->flags & (FLOW_F_SRC_EOF | FLOW_F_SRC_ERR | FLOW_F_DST_ERR | FLOW_F_SHUT)) ||
	    engine_at_mark(f->src)) {
		errno = EAGAIN;
		return -1;
	}
	if (!engine_sockmap_available()) {
		errno = ENOSYS;
		return -1;
	}
	return engine_sockmap_enter(f);
}

void
engine_rate_init(struct engine_rate *r, uint64_t now)
{
	r->at = now;
	r->bytes = r->prev = 0;
	r->moving = 0;
	r->ok = 0;
	r->last_ok = 1;	/* the first window decides alone */
}

int
engine_rate_slow(struct engine_rate *r, uint64_t moved, uint64_t now, uint64_t max)
{
	const uint64_t fifth = ENGINE_RATE_WINDOW_US / 5;
	uint64_t elapsed;

	if (!r->moving) {
		/* A quiet start is not an average: a bulk transfer that begins
		 * 150 ms after the connection would look slow over its first
		 * window. The first window opens with the first bytes, which
		 * count in it. */
		if (moved == r->bytes)
			return 0;
		r->moving = 1;
		r->at = now;
	}
	elapsed = now - r->at;
	if (elapsed > 2 * ENGINE_RATE_WINDOW_US) {
		r->ok = r->last_ok = 0;
		r->at = now;
		r->bytes = r->prev;
	} else if (elapsed >= ENGINE_RATE_WINDOW_US) {
		r->ok = r->last_ok = units_rate_bps(moved - r->bytes, elapsed) <= max;
		r->at = now;
		r->bytes = r->prev;	/* this call's bytes count in the new window too */
	} else if (elapsed >= fifth) {
		r->ok = r->last_ok && units_rate_bps(moved - r->bytes, elapsed) <= max;
	}
	/* However young the window (just opened above, too), its bytes so
	 * far, taken as if they had needed at least a fifth of a window, must
	 * not be faster than max: a burst (after a pause that closed a
	 * window, or within one) is fast at once, not a fifth later. */
	elapsed = now - r->at;
	if (units_rate_bps(moved - r->bytes, elapsed > fifth ? elapsed : fifth) > max)
		r->ok = 0;
	r->prev = moved;
	return r->ok;
}

unsigned long long
engine_fallbacks(void)
{
	return __atomic_load_n(&engine_nfallbacks, __ATOMIC_RELAXED);
}

size_t
engine_unacked(int fd)
{
	int n = 0;

	if (ioctl(fd, SIOCOUTQ, &n) == -1 || n < 0)
		return 0;
	return (size_t)n;
}

int
engine_peer_gone(int e)
{
	return e == ECONNRESET || e == EPIPE || e == ETIMEDOUT ||
	    e == EHOSTUNREACH || e == ENETUNREACH || e == ENOTCONN || e == ECONNABORTED;
}

const char *
engine_name(enum engine_id id)
{
	static const struct engine_ops *const ops[ENGINE_COUNT] = {
		[ENGINE_SPLICE] = &engine_splice_ops,
		[ENGINE_COPY] = &engine_copy_ops,
		[ENGINE_SOCKMAP] = &engine_sockmap_ops,
	};

	return ops[id]->name;
}
