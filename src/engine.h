/*
 * engine: the data-path interface. A session has two flows, one per
 * direction (client -> server "up", server -> client "down"); each flow
 * is driven by an engine through this ops table. session.c only calls
 * engine_*() and never splice() or recv(), so engines can be added
 * without touching the state machine.
 */
#ifndef SPLICER_ENGINE_H
#define SPLICER_ENGINE_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "conf.h"

struct pipe_pair;

/* Flow flags. The engine sets all but FLOW_F_SHUT (the session's) after
 * each run. */
#define FLOW_F_SRC_EOF    0x01	/* src sent its FIN: read returned 0 */
#define FLOW_F_SRC_ERR    0x02	/* reading src failed (reset): f->err */
#define FLOW_F_DST_ERR    0x04	/* writing dst failed (reset, EPIPE): f->err */
#define FLOW_F_WANT_READ  0x08	/* call again when src is readable */
#define FLOW_F_WANT_WRITE 0x10	/* call again when dst is writable */
#define FLOW_F_SHUT       0x20	/* session: shutdown(dst, SHUT_WR) done */
#define FLOW_F_WANT_TOKENS 0x40	/* would read, but allow is 0: shaping decides when */
#define FLOW_F_WANT_POLL  0x80	/* sockmap: run again after poll_us (bytes move unseen) */
#define FLOW_F_CLEAN      0x100	/* the last read found src empty: no segment is half
				 * read, so the flow may enter the kernel (sockmap) */
#define FLOW_F_WAIT_DST   0x200	/* sockmap: bytes wait for dst, which the engine looks
				 * after itself (for idle timeouts: as WANT_WRITE) */
/* The session's, like FLOW_F_SHUT: */
#define FLOW_F_USER       0x400	/* stays in user space (no promotion): a read that
				 * returns less than asked ends the fill of this run,
				 * which needs not go on to EAGAIN to learn that src is
				 * empty (FLOW_F_CLEAN); level-triggered polling
				 * reports whatever is left */
#define FLOW_F_SRC_HUP    0x800	/* src's FIN is in (EPOLLRDHUP): fill on to EOF, so
				 * the FIN is forwarded in this run, not a wake-up late */

struct flow;

enum engine_id {
	ENGINE_SPLICE,
	ENGINE_COPY,
	ENGINE_SOCKMAP,
	ENGINE_COUNT
};

/* "splice", "copy", "sockmap". */
const char *engine_name(enum engine_id id);

/* What an engine's flows are (engine_ops.caps). */
#define ENGINE_CAP_KERNEL 0x1	/* the kernel moves the bytes, unseen: the flow is run
				 * from the timer to read its counts and FIN, and can
				 * be neither shaped nor paused (only held) */

struct engine_ops {
	const char *name;
	enum engine_id id;
	unsigned int caps;		/* ENGINE_CAP_* */
	/*
	 * Move bytes from f->src to f->dst until neither side can make
	 * progress or a fairness budget is spent. Returns the bytes written
	 * to dst (>= 0), or -1 with errno for a failure that is neither the
	 * src nor the dst peer going away (ENOMEM...). Recomputes
	 * FLOW_F_WANT_* on every return.
	 */
	ssize_t (*run)(struct flow *f);
	/* Bytes taken from src and not yet written to dst. */
	size_t (*pending)(const struct flow *f);
	/* Give back the engine's resources (pipe, buffer); the flow can be
	 * run again afterwards. */
	void (*release)(struct flow *f);
	/* ENGINE_CAP_KERNEL: stop moving bytes unseen; what arrives from
	 * now on is passed to user space and copied. NULL for the others. */
	void (*hold)(struct flow *f);
};

struct flow {
	const struct engine_ops *ops;
	int src;			/* socket read from */
	int dst;			/* socket written to */
	unsigned int flags;		/* FLOW_F_* */
	int err;			/* errno behind FLOW_F_*_ERR */
	uint64_t pre;			/* bytes read from src before the flow (a PROXY header) */
	uint64_t in;			/* bytes read from src */
	uint64_t allow;			/* bytes it may still read (shaping); UINT64_MAX = any */
	uint64_t bytes;			/* bytes written to dst */
	struct pipe_pair *pipe;		/* splice: held while bytes flow */
	char *buf;			/* copy: ENGINE_COPY_BUFSZ bytes, or NULL */
	size_t off;			/* copy: first unsent byte in buf */
	size_t len;			/* copy: unsent bytes in buf */
	uint64_t poll_us;		/* FLOW_F_WANT_POLL: after how long */
	struct {			/* sockmap: where the kernel took over */
		uint64_t src, dst;	/* socket cookies; src = 0 once out of the maps */
		uint64_t rx0;		/* src's bytes read by user space before (TCP count) */
		uint64_t tx0;		/* dst's bytes written before (TCP count) */
		uint64_t in0, out0;	/* in and bytes then */
		uint64_t read;		/* passed bytes user space read from src */
		uint64_t skipped;	/* ... of which old ones it discarded (skip records) */
		uint64_t skips;		/* skip records it has read past */
		uint64_t written;	/* passed bytes written or skipped, as told to the program */
		uint64_t unacked;	/* dst's send queue at the last look (SIOCOUTQ) */
		uint64_t last_in;	/* in at the previous run */
		unsigned int idle;	/* runs in a row that saw nothing move */
		int state;		/* engine_sockmap.c: SM_RUNNING... */
	} k;
};

/* Fairness budget: a run stops after moving this many bytes so that one
 * busy flow cannot starve the others on the same event loop. */
#define ENGINE_RUN_BUDGET (1024 * 1024)

/* Copy engine buffer, per flow that uses it (bounded session memory). */
#define ENGINE_COPY_BUFSZ (16 * 1024)

extern const struct engine_ops engine_splice_ops;
extern const struct engine_ops engine_copy_ops;
extern const struct engine_ops engine_sockmap_ops;

/* Set up a flow between two sockets with the engine a proxy asks for;
 * up != 0 for client -> server. */
void engine_flow_init(struct flow *f, int src, int dst, enum conf_engine engine,
    unsigned int proxy_opts, int up);

/*
 * Run the flow's engine. When the splice engine cannot get a pipe
 * (pipe limit, EMFILE) while it holds no byte, the flow moves to the copy
 * engine for good and runs again: running out of pipes never fails a
 * session. Same return as engine_ops.run.
 */
ssize_t engine_run(struct flow *f);

/* Is this errno of a read or write the peer going away (reset, gone)
 * rather than a failure of our own? */
int engine_peer_gone(int e);

static inline size_t
engine_pending(const struct flow *f)
{
	return f->ops->pending(f);
}

static inline void
engine_release(struct flow *f)
{
	f->ops->release(f);
}

/* Does the kernel carry this flow (bytes move unseen)? */
static inline int
engine_in_kernel(const struct flow *f)
{
	return (f->ops->caps & ENGINE_CAP_KERNEL) != 0;
}

/* A flow the kernel carries goes back to user space from now on (a
 * session paused from the admin socket); any other is left as it is. */
static inline void
engine_hold(struct flow *f)
{
	if (f->ops->hold != NULL)
		f->ops->hold(f);
}

struct shaper_flow;

/*
 * Run a flow whose reads shaper flow sf meters (NULL: none): when the
 * engine stops for want of tokens, ask sf for more and run again, a few
 * times at most so that one burst cannot keep the loop. When it must
 * wait, *tokens_at is when to ask again (the caller's timer brings it
 * back; it watches nothing meanwhile). Same return as engine_run().
 */
ssize_t engine_run_shaped(struct flow *f, struct shaper_flow *sf, uint64_t *tokens_at);

/*
 * The write side of a run, the same for every engine that writes: n is
 * what write(2), send(2) or splice(2) to dst just returned, with errno.
 * Counts the bytes written into f->bytes and *moved. Returns 1 for
 * progress (bytes, or EINTR: try again), 0 for none (EAGAIN or 0: dst's
 * send buffer is full; or dst went away: FLOW_F_DST_ERR and f->err set),
 * -1 for a failure of our own (f->err set): the run returns -1.
 */
static inline int
engine_note_write(struct flow *f, ssize_t n, size_t *moved)
{
	if (n > 0) {
		f->bytes += (uint64_t)n;
		*moved += (size_t)n;
		return 1;
	}
	if (n == -1 && errno == EINTR)
		return 1;
	if (n == -1 && engine_peer_gone(errno)) {
		f->flags |= FLOW_F_DST_ERR;
		f->err = errno;
	} else if (n == -1 && errno != EAGAIN) {
		f->err = errno;
		return -1;
	}
	return 0;
}

/*
 * Bytes written to socket fd that its peer has not acknowledged yet
 * (SIOCOUTQ): 0 once everything sent is in the peer's receive buffer.
 * A reset would throw these away, so a forwarded reset waits for 0.
 */
size_t engine_unacked(int fd);


/* Count of flows moved to copy because no pipe could be had. */
unsigned long long engine_fallbacks(void);

/*
 * The sockmap engine (engine_sockmap.c, or engine_sockmap_none.c when
 * built without BPF). engine_sockmap_load() loads and attaches the BPF
 * program once, before privileges are dropped; when it cannot, it says
 * why in engine_sockmap_why() and every flow stays in user space.
 */
int engine_sockmap_load(void);
void engine_sockmap_unload(void);
int engine_sockmap_available(void);
const char *engine_sockmap_why(void);
/* How redirect targets' send buffers are sized, and the kernel's queue
 * bound per flow (splicer -V). */
const char *engine_sockmap_build(void);

/*
 * Hand a flow to the kernel: from now on its src's bytes are redirected
 * to dst by the BPF program and user space only watches. The flow must
 * hold no byte and be FLOW_F_CLEAN (a segment half read by user space
 * would be redirected whole). Returns 0, or -1 with errno and the flow
 * unchanged on its old engine.
 */
int engine_promote(struct flow *f);

/* Is fd at an urgent mark? splice stops there (returning 0 instead of
 * EAGAIN once the FIN is in), possibly inside a segment that the sockmap
 * path would redirect whole (sent twice). */
int engine_at_mark(int fd);

/* Between engine.c and the sockmap engine only: the sockmap half of
 * engine_promote(), once the checks are done. */
int engine_sockmap_enter(struct flow *f);

/*
 * engine auto's rate test (tune.sockmap.promote-max-rate): was a session
 * no faster than max bits/s over its last full window (ENGINE_RATE_
 * WINDOW_US) and over the current one once it is a fifth as old, and
 * over the current one taken as at least a fifth old (so that a burst is
 * fast at once)? The first window opens with the session's first
 * bytes (a bulk transfer after a quiet start would look slow). A window
 * that spans a longer pause tells nothing: it starts anew, and the answer
 * is no until it has measured. Driven by the caller's clock, with moved
 * the session's bytes so far.
 */
#define ENGINE_RATE_WINDOW_US 100000

struct engine_rate {
	uint64_t at, bytes;	/* start of the current window, bytes then */
	uint64_t prev;		/* bytes at the previous call */
	int moving;		/* a byte has moved: the first window is open */
	int ok;			/* the answer */
	int last_ok;		/* the last full window was not faster */
};

void engine_rate_init(struct engine_rate *r, uint64_t now);
int engine_rate_slow(struct engine_rate *r, uint64_t moved, uint64_t now, uint64_t max);

/*
 * When a session's flows go to the kernel (engine sockmap or auto): once
 * the session has moved promote_at bytes, and (engine auto) while it was
 * not faster than promote_rate lately.
 */
struct engine_policy {
	uint64_t promote_at;		/* bytes moved before the flows go to the kernel;
					 * UINT64_MAX = never */
	uint64_t promote_rate;		/* ... if the session is not faster (bits/s) */
	struct engine_rate rate;	/* how fast it was lately */
};

/* Does the policy never hand the flows to the kernel? */
static inline int
engine_policy_never(const struct engine_policy *p)
{
	return p->promote_at == UINT64_MAX;
}

/* The policy of a session just established with engine (its proxies'
 * choice) under global settings g; shaped != 0 when a bandwidth limit
 * applies to it (user space cannot delay a kernel redirect). */
void engine_policy_init(struct engine_policy *p, enum conf_engine engine,
    const struct conf_global *g, int shaped, uint64_t now);

/* Try to hand the flows of an established, running session to the
 * kernel, if it is time (id is the session's, for the traces). */
void engine_policy_run(struct engine_policy *p, struct flow *up, struct flow *down,
    uint64_t now, unsigned int id);

/* Its flows stay in user space from now on (shaped at run time). */
void engine_policy_stop(struct engine_policy *p);

/* Process-wide sockmap figures (atomic counters). */
struct engine_kernel_stats {
	unsigned long long promoted;	/* flows handed to the kernel */
	unsigned long long failed;	/* hand-overs refused (map full, socket state) */
	unsigned long long bytes;	/* bytes the kernel moved for flows that left the maps */
	unsigned long long doubled;	/* flows failed: the kernel handled a segment twice */
	unsigned long long overlaps;	/* skbs the sequence guard caught (dropped or trimmed) */
	unsigned long long old_bytes;	/* ... their old bytes, never sent again */
};
void engine_kernel_stats(struct engine_kernel_stats *st);

#endif
