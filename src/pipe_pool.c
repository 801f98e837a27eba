/*
 * pipe_pool: a free list of empty pipe pairs.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "pipe_pool.h"

static struct pipe_pair *pool_free;	/* empty pipes ready for use */
static size_t pool_size;		/* capacity asked of new pipes, 0 = default */
static unsigned int pool_keep;		/* most empty pipes kept */
static struct pipe_pool_stats pool_st;
static int pool_size_warned;		/* F_SETPIPE_SZ failure logged once */

void
pipe_pool_init(size_t size, unsigned int keep)
{
	pool_size = size;
	pool_keep = keep;
}

struct pipe_pair *
pipe_pool_get(void)
{
	struct pipe_pair *p;
	int fd[2], sz;

	if ((p = pool_free) != NULL) {
		pool_free = p->next;
		p->next = NULL;
		pool_st.free--;
		pool_st.used++;
		return p;
	}
	if ((p = malloc(sizeof(*p))) == NULL)
		return NULL;
	if (pipe2(fd, O_NONBLOCK | O_CLOEXEC) == -1) {
		int e = errno;

		free(p);
		pool_st.failed++;
		errno = e;
		return NULL;
	}
	/* Unprivileged processes are capped by pipe-user-pages-soft; past
	 * it the kernel refuses to grow pipes. The pipe still works at its
	 * default size, so only say so once. */
	if (pool_size != 0 && fcntl(fd[0], F_SETPIPE_SZ, (int)pool_size) == -1 &&
	    !pool_size_warned) {
		pool_size_warned = 1;
		log_warning("tune.pipesize %zu: F_SETPIPE_SZ failed (%s); pipes keep the "
		    "kernel's size", pool_size, strerror(errno));
	}
	sz = fcntl(fd[0], F_GETPIPE_SZ);
	p->rd = fd[0];
	p->wr = fd[1];
	p->data = 0;
	p->size = sz > 0 ? (size_t)sz : 65536;
	p->next = NULL;
	pool_st.allocated++;
	pool_st.used++;
	return p;
}

void
pipe_pool_kill(struct pipe_pair *p)
{
	if (p == NULL)
		return;
	close(p->rd);
	close(p->wr);
	free(p);
	pool_st.allocated--;
	pool_st.used--;
}

void
pipe_pool_put(struct pipe_pair *p)
{
	if (p == NULL)
		return;
	if (p->data != 0 || pool_st.free >= pool_keep) {
		pipe_pool_kill(p);
		return;
	}
	p->next = pool_free;
	pool_free = p;
	pool_st.used--;
	pool_st.free++;
}

void
pipe_pool_get_stats(struct pipe_pool_stats *st)
{
	*st = pool_st;
}

void
pipe_pool_destroy(void)
{
	while (pool_free != NULL) {
		struct pipe_pair *p = pool_free;

		pool_free = p->next;
		close(p->rd);
		close(p->wr);
		free(p);
		pool_st.allocated--;
		pool_st.free--;
	}
}
