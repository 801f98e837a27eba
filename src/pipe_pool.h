/*
 * pipe_pool: kernel pipe pairs for the splice engine.
 *
 * Ownership: pipe_pool_get() hands a pipe to one flow, which owns it
 * until it calls pipe_pool_put() (when the pipe is empty) or
 * pipe_pool_kill() (when it is not, or on error). A pipe put back while
 * still holding bytes is destroyed instead of pooled, so that no byte of
 * one session can ever reach another.
 *
 * Each worker thread has its own pool (no lock per pipe); the limits are
 * process-wide: at most `maxpipes` pipes exist at once (one atomic count,
 * touched only when a pipe is created or destroyed). Beyond it, or when
 * the kernel refuses a pipe, pipe_pool_get() fails and the flow uses the
 * copy engine instead.
 */
#ifndef SPLICER_PIPE_POOL_H
#define SPLICER_PIPE_POOL_H

#include <stddef.h>
#include <stdint.h>

struct pipe_pair {
	int rd;			/* read end */
	int wr;			/* write end */
	size_t data;		/* bytes written in and not yet read out */
	size_t size;		/* capacity in bytes (F_GETPIPE_SZ) */
	struct pipe_pair *next;	/* free-list link while pooled */
};

/* Counters of one pool (or their sum). */
struct pipe_pool_stats {
	unsigned int used;	/* pipes held by flows */
	unsigned int free;	/* empty pipes waiting in the pool */
	uint64_t created;	/* pipes ever created */
	uint64_t failed;	/* gets that found no pipe: limit or kernel refusal */
	uint64_t fallbacks;	/* flows moved to the copy engine for want of a pipe */
};

struct pipe_pool {
	struct pipe_pair *free;	/* empty pipes ready for use */
	struct pipe_pool_stats st;
};

/* The process-wide settings, chosen by pipe_pool_plan(). */
struct pipe_pool_plan {
	size_t size;		/* capacity asked of new pipes (F_SETPIPE_SZ), 0 = kernel's */
	unsigned int maxpipes;	/* pipes that may exist at once, 0 = none (copy only) */
	unsigned int keep;	/* empty pipes each pool keeps */
};

/* Most empty pipes one worker's pool keeps (2 fds each). */
#define PIPE_POOL_KEEP 128

/* Default pipe capacity when "tune.pipesize" is not set and the process
 * may size pipes freely (see pipe_pool_plan and README "Benchmarks"). */
#define PIPE_POOL_DEFAULT_SIZE (256 * 1024)

/*
 * Choose size and maxpipes. size and maxpipes are the configured values
 * (0 = not set); maxconn bounds the default maxpipes (maxconn / 2: half
 * the sessions busy in one direction). An unprivileged process (without
 * CAP_SYS_RESOURCE) shares pipe-user-pages-soft pages with every process
 * of its user: past it, the kernel hands out 2-page pipes and refuses
 * F_SETPIPE_SZ. So then maxpipes is lowered to fit 7/8 of that budget at
 * the chosen size, and the default size is the kernel's. user_pages is
 * that limit in pages (0 = none), privileged says whether it applies.
 * The choice is written in words to note for the log.
 */
void pipe_pool_plan(struct pipe_pool_plan *plan, size_t size, unsigned int maxpipes,
    unsigned int maxconn, unsigned long user_pages, int privileged, char *note,
    size_t notelen);

/* Apply a plan (start, reload): new pipes follow it. */
void pipe_pool_configure(const struct pipe_pool_plan *plan);

/* The calling thread's pool: pipe_pool_get/put use it. */
void pipe_pool_use(struct pipe_pool *pp);

/* Create n empty pipes into the calling thread's pool (tune.pipe.prealloc),
 * within maxpipes. Returns how many were made. */
unsigned int pipe_pool_prealloc(unsigned int n);

/* A pipe for one flow, or NULL with errno set (EMFILE, ENFILE, or
 * ENOSR when maxpipes pipes exist). */
struct pipe_pair *pipe_pool_get(void);

/* Give back a pipe; one holding bytes is destroyed. */
void pipe_pool_put(struct pipe_pair *p);

/* Destroy a pipe (error paths). */
void pipe_pool_kill(struct pipe_pair *p);

/* Count a flow that went to copy for want of a pipe. */
void pipe_pool_note_fallback(void);

/* Add the counters of pp to sum (read from any thread: approximate
 * while the owner runs, exact once it stopped). */
void pipe_pool_add_stats(const struct pipe_pool *pp, struct pipe_pool_stats *sum);

/* Pipes that exist in the whole process (exact). */
unsigned int pipe_pool_allocated(void);

/* Destroy every pipe pooled in pp (exit, or fds ran out). */
void pipe_pool_drain(struct pipe_pool *pp);

#endif
