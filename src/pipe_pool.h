/*
 * pipe_pool: kernel pipe pairs for the splice engine.
 *
 * Ownership: pipe_pool_get() hands a pipe to one flow, which owns it
 * until it calls pipe_pool_put() (when the pipe is empty) or
 * pipe_pool_kill() (when it is not, or on error). A pipe put back while
 * still holding bytes is destroyed instead of pooled, so that no byte of
 * one session can ever reach another. Single-threaded: one pool per
 * event loop.
 */
#ifndef SPLICER_PIPE_POOL_H
#define SPLICER_PIPE_POOL_H

#include <stddef.h>

struct pipe_pair {
	int rd;			/* read end */
	int wr;			/* write end */
	size_t data;		/* bytes written in and not yet read out */
	size_t size;		/* capacity in bytes (F_GETPIPE_SZ) */
	struct pipe_pair *next;	/* free-list link while pooled */
};

struct pipe_pool_stats {
	unsigned int allocated;	/* pipes that exist (in use + free) */
	unsigned int used;	/* pipes held by flows */
	unsigned int free;	/* pipes waiting in the pool */
	unsigned long long failed; /* gets that found no pipe (pipe2 failed) */
};

/*
 * Set the capacity asked of new pipes (0: kernel default) and how many
 * empty pipes the pool keeps. A failed F_SETPIPE_SZ is logged once and
 * pipes keep the size the kernel gave.
 */
void pipe_pool_init(size_t size, unsigned int keep);

/* A pipe for one flow, or NULL with errno set (EMFILE, ENFILE...). */
struct pipe_pair *pipe_pool_get(void);

/* Give back a pipe; one holding bytes is destroyed. */
void pipe_pool_put(struct pipe_pair *p);

/* Destroy a pipe (error paths). */
void pipe_pool_kill(struct pipe_pair *p);

void pipe_pool_get_stats(struct pipe_pool_stats *st);

/* Destroy every pooled pipe (exit). */
void pipe_pool_destroy(void);

#endif
