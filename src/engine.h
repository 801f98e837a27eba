/*
 * engine: the data-path interface. A session has two flows, one per
 * direction (client -> server "up", server -> client "down"); each flow
 * is driven by an engine through this ops table. session.c only calls
 * engine_*() and never splice() or recv(), so engines can be added
 * without touching the state machine.
 */
#ifndef SPLICER_ENGINE_H
#define SPLICER_ENGINE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "conf.h"

struct pipe_pair;

/* Flow flags. The engine sets the first five and FLOW_F_WANT_TOKENS
 * after each run; FLOW_F_SHUT belongs to the session. */
#define FLOW_F_SRC_EOF    0x01	/* src sent its FIN: read returned 0 */
#define FLOW_F_SRC_ERR    0x02	/* reading src failed (reset): f->err */
#define FLOW_F_DST_ERR    0x04	/* writing dst failed (reset, EPIPE): f->err */
#define FLOW_F_WANT_READ  0x08	/* call again when src is readable */
#define FLOW_F_WANT_WRITE 0x10	/* call again when dst is writable */
#define FLOW_F_SHUT       0x20	/* session: shutdown(dst, SHUT_WR) done */
#define FLOW_F_WANT_TOKENS 0x40	/* would read, but allow is 0: shaping decides when */

struct flow;

struct engine_ops {
	const char *name;
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
};

struct flow {
	const struct engine_ops *ops;
	int src;			/* socket read from */
	int dst;			/* socket written to */
	unsigned int flags;		/* FLOW_F_* */
	int err;			/* errno behind FLOW_F_*_ERR */
	uint64_t in;			/* bytes read from src */
	uint64_t allow;			/* bytes it may still read (shaping); UINT64_MAX = any */
	uint64_t bytes;			/* bytes written to dst */
	struct pipe_pair *pipe;		/* splice: held while bytes flow */
	char *buf;			/* copy: ENGINE_COPY_BUFSZ bytes, or NULL */
	size_t off;			/* copy: first unsent byte in buf */
	size_t len;			/* copy: unsent bytes in buf */
};

/* Fairness budget: a run stops after moving this many bytes so that one
 * busy flow cannot starve the others on the same event loop. */
#define ENGINE_RUN_BUDGET (1024 * 1024)

/* Copy engine buffer, per flow that uses it (bounded session memory). */
#define ENGINE_COPY_BUFSZ (16 * 1024)

extern const struct engine_ops engine_splice_ops;
extern const struct engine_ops engine_copy_ops;

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

/*
 * Bytes written to socket fd that its peer has not acknowledged yet
 * (SIOCOUTQ): 0 once everything sent is in the peer's receive buffer.
 * A reset would throw these away, so a forwarded reset waits for 0.
 */
size_t engine_unacked(int fd);

/* Is this errno of a read or write the peer going away (reset, gone)
 * rather than a failure of our own? */
int engine_peer_gone(int e);

/* Count of flows moved to copy because no pipe could be had. */
unsigned long long engine_fallbacks(void);

#endif
