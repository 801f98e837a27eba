/*
 * engine: choice of a flow's data path and fallback between engines.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/ioctl.h>

#include <linux/sockios.h>

#include "clock.h"
#include "engine.h"
#include "log.h"
#include "pipe_pool.h"
#include "shaper.h"
#include "units.h"

/* Grants of tokens one run may use before the flow yields to others
 * (a large burst would otherwise keep one session running). */
#define ENGINE_GRANTS_PER_RUN	8

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

/*
 * Each grant is asked for at the time it is needed, after the previous
 * run moved what it could: the clock is read here rather than passed,
 * since a run may take a while (up to ENGINE_RUN_BUDGET bytes).
 */
ssize_t
engine_run_shaped(struct flow *f, struct shaper_flow *sf, uint64_t *tokens_at)
{
	for (int grants = 0;; grants++) {
		uint64_t now, wait = 0, n;
		ssize_t r;

		if ((r = engine_run(f)) == -1 || !(f->flags & FLOW_F_WANT_TOKENS))
			return r;
		if (grants == ENGINE_GRANTS_PER_RUN) {
			/* Plenty of tokens (a burst): let the other sessions run. */
			*tokens_at = clock_now_us();
			return r;
		}
		now = clock_now_us();
		if ((n = shaper_flow_grant(sf, now, &wait)) == 0) {
			*tokens_at = now + wait;
			return r;
		}
		f->allow += n;
	}
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
	if (engine_in_kernel(f))
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

void
engine_policy_init(struct engine_policy *p, enum conf_engine engine,
    const struct conf_global *g, int shaped, uint64_t now)
{
	p->promote_at = engine == CONF_ENGINE_SOCKMAP ? 0 :
	    engine == CONF_ENGINE_AUTO || engine == CONF_ENGINE_UNSET ?
	    g->promote_bytes : UINT64_MAX;
	p->promote_rate = engine == CONF_ENGINE_SOCKMAP ? UINT64_MAX : g->promote_max_rate;
	engine_rate_init(&p->rate, now);
	if (g->nosockmap || !engine_sockmap_available() || shaped || p->promote_rate == 0)
		p->promote_at = UINT64_MAX;
}

void
engine_policy_stop(struct engine_policy *p)
{
	p->promote_at = UINT64_MAX;
}

/*
 * engine sockmap and auto: once the session has moved promote_at bytes,
 * hand each flow to the kernel at a moment it allows (engine_promote: it
 * holds no byte and nothing is half read; else EAGAIN, and the next run
 * tries again). A refusal for any other reason (socket state, full map)
 * ends the attempts: what is not in the kernel then stays in user space.
 * engine auto only promotes a session that was not faster than
 * tune.sockmap.promote-max-rate lately (engine_rate_slow): the kernel's
 * redirect saves CPU and latency there, and falls behind splice beyond
 * (README).
 */
void
engine_policy_run(struct engine_policy *p, struct flow *up, struct flow *down,
    uint64_t now, unsigned int id)
{
	struct flow *flows[2] = { up, down };
	uint64_t moved = up->in + down->in;
	int in_kernel = 0, slow;

	if (p->promote_at == UINT64_MAX)
		return;
	slow = p->promote_rate == UINT64_MAX ||
	    engine_rate_slow(&p->rate, moved, now, p->promote_rate);
	if (moved < p->promote_at || !slow)
		return;	/* not yet, or too fast for now: look again later */
	for (int i = 0; i < 2; i++) {
		struct flow *f = flows[i];

		if (engine_in_kernel(f)) {
			in_kernel++;
		} else if (engine_promote(f) == 0) {
			in_kernel++;
			log_debug("%u: %s flow handed to the kernel after %" PRIu64 " bytes",
			    id, f == up ? "client->server" : "server->client", f->in);
		} else if (errno != EAGAIN) {
			log_debug("%u: %s flow stays in user space: %s", id,
			    f == up ? "client->server" : "server->client", strerror(errno));
			p->promote_at = UINT64_MAX;
			return;
		}
	}
	if (in_kernel == 2)
		p->promote_at = UINT64_MAX;
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
