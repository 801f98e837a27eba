/*
 * session_list: the sessions of each worker, what they carried, and the
 * ways to look at them: counts, counters, a walk in batches, find by
 * id. Each worker writes only its own list; see struct session_list.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "clock.h"
#include "session_int.h"

struct session_list session_lists[WORKER_MAX];

/* Count s in its worker's list (newest first). */
void
session_list_add(struct session *s, struct session_list *list)
{
	s->list = list;
	s->next = list->head;
	if (s->next != NULL)
		s->next->prev = s;
	list->head = s;
	__atomic_store_n(&list->n, list->n + 1, __ATOMIC_RELAXED);
	__atomic_store_n(&list->st.sessions, list->st.sessions + 1, __ATOMIC_RELAXED);
}

/* Take an ended session out of its list; what it carried is added to
 * the list's counters. Returns the sessions left. */
unsigned int
session_list_remove(struct session *s)
{
	struct session_list *list = s->list;

	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		list->head = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	__atomic_store_n(&list->n, list->n - 1, __ATOMIC_RELAXED);
	__atomic_store_n(&list->st.bytes_up, list->st.bytes_up + s->up.bytes, __ATOMIC_RELAXED);
	__atomic_store_n(&list->st.bytes_down, list->st.bytes_down + s->down.bytes,
	    __ATOMIC_RELAXED);
	if (s->t_established != 0) {
		uint64_t *e = &list->st.by_engine[s->up.ops->id > s->down.ops->id ?
		    s->up.ops->id : s->down.ops->id];

		__atomic_store_n(e, *e + 1, __ATOMIC_RELAXED);
	}
	list->freed++;
	return list->n;
}

struct session *
session_list_head(void)
{
	return session_lists[worker_id(worker_self())].head;
}

unsigned int
session_count(void)
{
	return session_lists[worker_id(worker_self())].n;
}

unsigned int
session_live(unsigned int wid)
{
	return __atomic_load_n(&session_lists[wid].n, __ATOMIC_RELAXED);
}

unsigned int
session_live_all(void)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < worker_count(); i++)
		n += session_live(i);
	return n;
}

void
session_stats_of(unsigned int wid, struct session_stats *st)
{
	const struct session_stats *w = &session_lists[wid].st;

	st->sessions = __atomic_load_n(&w->sessions, __ATOMIC_RELAXED);
	st->bytes_up = __atomic_load_n(&w->bytes_up, __ATOMIC_RELAXED);
	st->bytes_down = __atomic_load_n(&w->bytes_down, __ATOMIC_RELAXED);
	for (int e = 0; e < ENGINE_COUNT; e++)
		st->by_engine[e] = __atomic_load_n(&w->by_engine[e], __ATOMIC_RELAXED);
}

void
session_sum_stats(struct session_stats *st)
{
	memset(st, 0, sizeof(*st));
	for (unsigned int i = 0; i < worker_count(); i++) {
		struct session_stats w;

		session_stats_of(i, &w);
		st->sessions += w.sessions;
		st->bytes_up += w.bytes_up;
		st->bytes_down += w.bytes_down;
		for (int e = 0; e < ENGINE_COUNT; e++)
			st->by_engine[e] += w.by_engine[e];
	}
}

void
session_foreach(struct worker *w, void (*cb)(const struct session_info *i, void *arg),
    void *arg)
{
	uint64_t now = clock_now_us();
	struct session_info i;

	for (const struct session *s = session_lists[worker_id(w)].head; s != NULL; s = s->next) {
		if (s->state == SESS_ST_CLOSED)
			continue;
		session_info_fill(s, now, &i);
		cb(&i, arg);
	}
}

/*
 * A batch of a walk on the calling worker's list. New sessions go to the
 * head, so ids fall along the list: the walk goes on after the last id it
 * saw, and never sees a session younger than the walk. The session kept in
 * c->next is still alive when this worker freed none since (the common
 * case, an idle crowd); otherwise the place is found again by id.
 */
unsigned int
session_walk(struct session_cursor *c, unsigned int max,
    void (*cb)(const struct session_info *i, void *arg), void *arg)
{
	struct session_list *list = &session_lists[worker_id(worker_self())];
	const struct session *s = list->head;
	uint64_t now = clock_now_us();
	struct session_info i;
	unsigned int n = 0;

	if (c->last_id != 0 && c->freed == list->freed)
		s = c->next;
	else if (c->last_id != 0)
		while (s != NULL && s->id >= c->last_id)
			s = s->next;
	for (; s != NULL && n < max; s = s->next) {
		if (s->state == SESS_ST_CLOSED)
			continue;
		session_info_fill(s, now, &i);
		cb(&i, arg);
		c->last_id = s->id;
		n++;
	}
	c->next = s;
	c->freed = list->freed;
	c->done = s == NULL;
	return n;
}

struct session *
session_find(unsigned int id)
{
	struct session *s;

	for (s = session_lists[worker_id(worker_self())].head; s != NULL && s->id != id;
	    s = s->next)
		;
	return s == NULL || s->state == SESS_ST_CLOSED ? NULL : s;
}
