/*
 * backend: eligibility, assignment and the queue.
 */
#include "config.h"

#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "lb.h"
#include "log.h"

/* Candidates of one pick; grown to the largest backend. One event loop
 * uses it at a time. */
static struct conf_server **backend_cand;
static unsigned int backend_cand_cap;

void
backend_init(struct conf *c)
{
	lb_random_seed((unsigned long long)time(NULL) ^ ((unsigned long long)getpid() << 32));
	for (struct conf_proxy *px = c->proxies; px != NULL; px = px->next) {
		for (struct conf_server *s = px->servers; s != NULL; s = s->next) {
			s->state = s->disabled ? CONF_SRV_MAINT : CONF_SRV_UP;
			s->cur_weight = s->weight;
			s->rr_current = 0;
		}
	}
}

void
backend_cleanup(void)
{
	free(backend_cand);
	backend_cand = NULL;
	backend_cand_cap = 0;
}

/* May srv take new sessions, full or not? */
static int
backend_usable(const struct conf_server *srv)
{
	return srv->state == CONF_SRV_UP && srv->cur_weight > 0;
}

/* Fill backend_cand with the servers that may take traffic now; returns
 * their count (0: none). */
static unsigned int
backend_candidates(struct conf_proxy *be, const struct conf_server *avoid)
{
	unsigned int n = 0;
	int backups = 1;

	if (be->nservers > backend_cand_cap) {
		struct conf_server **c = realloc(backend_cand, be->nservers * sizeof(*c));

		if (c == NULL)
			return 0;
		backend_cand = c;
		backend_cand_cap = be->nservers;
	}
	for (struct conf_server *s = be->servers; s != NULL; s = s->next) {
		if (!s->backup && backend_usable(s))
			backups = 0;
	}
	for (struct conf_server *s = be->servers; s != NULL; s = s->next) {
		if (!backend_usable(s) || s->backup != backups)
			continue;
		backend_cand[n++] = s;
		if (backups && !(be->opts & CONF_OPT_ALLBACKUPS))
			break;	/* the first backup only, as HAProxy */
	}
	/* Redispatch: leave out the server that just failed, unless alone. */
	if (avoid != NULL && n > 1) {
		for (unsigned int i = 0; i < n; i++) {
			if (backend_cand[i] == avoid) {
				backend_cand[i] = backend_cand[--n];
				break;
			}
		}
	}
	return n;
}

enum backend_outcome
backend_assign(struct conf_proxy *be, const struct sockaddr *cli,
    const struct conf_server *avoid, struct conf_server **srv)
{
	unsigned int n = backend_candidates(be, avoid);
	struct conf_server *s;

	*srv = NULL;
	if (n == 0)
		return BACKEND_NO_SERVER;
	if ((s = lb_for(be->balance)->pick(be, backend_cand, n, cli)) == NULL)
		return BACKEND_FULL;
	s->cur_sess++;
	s->total_sess++;
	*srv = s;
	return BACKEND_ASSIGNED;
}

/* Give free slots to waiters, oldest first, while there are some. */
static void
backend_wake(struct conf_proxy *be)
{
	while (be->queue_head != NULL) {
		struct backend_waiter *w = be->queue_head;
		struct conf_server *s;

		if (backend_assign(be, w->cli, NULL, &s) != BACKEND_ASSIGNED)
			return;
		backend_dequeue(be, w);
		w->ready(w, s);
	}
}

void
backend_release(struct conf_proxy *be, struct conf_server *srv)
{
	srv->cur_sess--;
	backend_wake(be);
}

void
backend_enqueue(struct conf_proxy *be, struct backend_waiter *w)
{
	w->next = NULL;
	w->prev = be->queue_tail;
	if (be->queue_tail != NULL)
		be->queue_tail->next = w;
	else
		be->queue_head = w;
	be->queue_tail = w;
	w->queued = 1;
	if (++be->queue_len > be->queue_max)
		be->queue_max = be->queue_len;
}

void
backend_dequeue(struct conf_proxy *be, struct backend_waiter *w)
{
	if (!w->queued)
		return;
	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		be->queue_head = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	else
		be->queue_tail = w->prev;
	w->prev = w->next = NULL;
	w->queued = 0;
	be->queue_len--;
}

const char *
backend_state_name(enum conf_server_state state)
{
	switch (state) {
	case CONF_SRV_UP:	return "UP";
	case CONF_SRV_DOWN:	return "DOWN";
	case CONF_SRV_DRAIN:	return "DRAIN";
	case CONF_SRV_MAINT:	return "MAINT";
	}
	return "?";
}

void
backend_set_state(struct conf_proxy *be, struct conf_server *srv,
    enum conf_server_state state)
{
	if (srv->state == state)
		return;
	log_notice("server %s/%s is %s (was %s), %u sessions active, %u queued", be->name,
	    srv->name, backend_state_name(state), backend_state_name(srv->state),
	    srv->cur_sess, be->queue_len);
	srv->state = state;
	backend_wake(be);
}

void
backend_set_weight(struct conf_proxy *be, struct conf_server *srv, unsigned int weight)
{
	srv->cur_weight = weight;
	backend_wake(be);
}
