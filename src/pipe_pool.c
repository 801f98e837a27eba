/*
 * pipe_pool: per-thread free lists of empty pipe pairs under one
 * process-wide limit.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "pipe_pool.h"

static size_t pool_size;		/* capacity asked of new pipes, 0 = default */
static unsigned int pool_max;		/* pipes that may exist at once */
static unsigned int pool_keep;		/* most empty pipes kept per pool */
static unsigned int pool_allocated;	/* pipes that exist, atomic */
static int pool_size_warned;		/* F_SETPIPE_SZ failure logged once, atomic */
static __thread struct pipe_pool *pool_cur;

#define PAGE 4096u

void
pipe_pool_plan(struct pipe_pool_plan *plan, size_t size, unsigned int maxpipes,
    unsigned int maxconn, unsigned long user_pages, int privileged, char *note,
    size_t notelen)
{
	unsigned long pages, fit;
	unsigned int max;

	max = maxpipes != 0 ? maxpipes : (maxconn / 2 > 0 ? maxconn / 2 : 1);
	if (privileged || user_pages == 0) {
		plan->size = size != 0 ? size : PIPE_POOL_DEFAULT_SIZE;
		plan->maxpipes = max;
		snprintf(note, notelen, "pipes: up to %u of %zu KiB%s", plan->maxpipes,
		    plan->size / 1024, maxpipes ? "" : " (maxpipes: maxconn / 2)");
	} else {
		/* 64 KiB is what the kernel gives without F_SETPIPE_SZ. */
		plan->size = size != 0 ? size : 65536;
		pages = (plan->size + PAGE - 1) / PAGE;
		fit = user_pages / 8 * 7 / pages;
		plan->maxpipes = max < fit ? max : (unsigned int)fit;
		snprintf(note, notelen, "pipes: up to %u of %zu KiB: unprivileged, so all pipes of "
		    "this user share pipe-user-pages-soft (%lu pages)%s", plan->maxpipes,
		    plan->size / 1024, user_pages, plan->maxpipes < max ?
		    "; maxpipes lowered to fit 7/8 of it, flows beyond use the copy engine" : "");
	}
	plan->keep = plan->maxpipes < PIPE_POOL_KEEP ? plan->maxpipes : PIPE_POOL_KEEP;
}

void
pipe_pool_configure(const struct pipe_pool_plan *plan)
{
	pool_size = plan->size;
	pool_max = plan->maxpipes;
	pool_keep = plan->keep;
}

void
pipe_pool_use(struct pipe_pool *pp)
{
	pool_cur = pp;
}

/* A new pipe, counted against maxpipes; NULL with errno when none. */
static struct pipe_pair *
pipe_pool_create(void)
{
	struct pipe_pair *p;
	int fd[2], sz, e;

	if (__atomic_add_fetch(&pool_allocated, 1, __ATOMIC_RELAXED) > pool_max) {
		e = ENOSR;
		goto fail;
	}
	if ((p = malloc(sizeof(*p))) == NULL) {
		e = ENOMEM;
		goto fail;
	}
	if (pipe2(fd, O_NONBLOCK | O_CLOEXEC) == -1) {
		e = errno;
		free(p);
		goto fail;
	}
	/* Past pipe-user-pages-soft the kernel refuses to grow pipes. The
	 * pipe still works at the size it got, so only say so once. */
	if (pool_size != 0 && fcntl(fd[0], F_SETPIPE_SZ, (int)pool_size) == -1 &&
	    !__atomic_exchange_n(&pool_size_warned, 1, __ATOMIC_RELAXED))
		log_warning("tune.pipesize %zu: F_SETPIPE_SZ failed (%s); pipes keep the "
		    "kernel's size", pool_size, strerror(errno));
	sz = fcntl(fd[0], F_GETPIPE_SZ);
	p->rd = fd[0];
	p->wr = fd[1];
	p->data = 0;
	p->size = sz > 0 ? (size_t)sz : 65536;
	p->next = NULL;
	pool_cur->st.created++;
	return p;
fail:
	__atomic_sub_fetch(&pool_allocated, 1, __ATOMIC_RELAXED);
	pool_cur->st.failed++;
	errno = e;
	return NULL;
}

static void
pipe_pool_destroy_one(struct pipe_pair *p)
{
	close(p->rd);
	close(p->wr);
	free(p);
	__atomic_sub_fetch(&pool_allocated, 1, __ATOMIC_RELAXED);
}

unsigned int
pipe_pool_prealloc(unsigned int n)
{
	unsigned int made = 0;

	for (; made < n; made++) {
		struct pipe_pair *p = pipe_pool_create();

		if (p == NULL)
			break;
		p->next = pool_cur->free;
		pool_cur->free = p;
		pool_cur->st.free++;
	}
	return made;
}

struct pipe_pair *
pipe_pool_get(void)
{
	struct pipe_pair *p;

	if ((p = pool_cur->free) != NULL) {
		pool_cur->free = p->next;
		p->next = NULL;
		pool_cur->st.free--;
	} else if ((p = pipe_pool_create()) == NULL) {
		return NULL;
	}
	pool_cur->st.used++;
	return p;
}

void
pipe_pool_kill(struct pipe_pair *p)
{
	if (p == NULL)
		return;
	pipe_pool_destroy_one(p);
	pool_cur->st.used--;
}

void
pipe_pool_put(struct pipe_pair *p)
{
	if (p == NULL)
		return;
	if (p->data != 0 || pool_cur->st.free >= pool_keep) {
		pipe_pool_kill(p);
		return;
	}
	p->next = pool_cur->free;
	pool_cur->free = p;
	pool_cur->st.used--;
	pool_cur->st.free++;
}

void
pipe_pool_note_fallback(void)
{
	pool_cur->st.fallbacks++;
}

void
pipe_pool_add_stats(const struct pipe_pool *pp, struct pipe_pool_stats *sum)
{
	sum->used += __atomic_load_n(&pp->st.used, __ATOMIC_RELAXED);
	sum->free += __atomic_load_n(&pp->st.free, __ATOMIC_RELAXED);
	sum->created += __atomic_load_n(&pp->st.created, __ATOMIC_RELAXED);
	sum->failed += __atomic_load_n(&pp->st.failed, __ATOMIC_RELAXED);
	sum->fallbacks += __atomic_load_n(&pp->st.fallbacks, __ATOMIC_RELAXED);
}

unsigned int
pipe_pool_allocated(void)
{
	return __atomic_load_n(&pool_allocated, __ATOMIC_RELAXED);
}

void
pipe_pool_drain(struct pipe_pool *pp)
{
	while (pp->free != NULL) {
		struct pipe_pair *p = pp->free;

		pp->free = p->next;
		pipe_pool_destroy_one(p);
		pp->st.free--;
	}
}
