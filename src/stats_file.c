/*
 * stats_file: the writer, on splicer's control thread. See stats_file.h
 * for the layout and the rules.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "clock.h"
#include "conf.h"
#include "listener.h"
#include "log.h"
#include "session.h"
#include "sockaddr.h"
#include "stats_file.h"
#include "worker.h"

static int sf_fd = -1;
static char *sf_path;
static struct stats_header *sf_hdr;	/* the mapping */
static size_t sf_len;
static struct event *sf_timer;
static unsigned int sf_reloads, sf_ticks;

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

static void
sf_begin(uint32_t *seq)
{
	__atomic_store_n(seq, *seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

static void
sf_end(uint32_t *seq)
{
	__atomic_store_n(seq, *seq + 1, __ATOMIC_RELEASE);
}

static void
sf_name(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src);
}

int
stats_file_open(const struct conf *c, char *err, unsigned long errlen)
{
	if (c->global.stats_file == NULL)
		return 0;
	/* A new file each start: a reader holding the old one's mapping
	 * keeps it, and finds this one when it opens the path again. */
	(void)unlink(c->global.stats_file);
	sf_fd = open(c->global.stats_file, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (sf_fd == -1) {
		snprintf(err, errlen, "stats file %s: %s", c->global.stats_file, strerror(errno));
		return -1;
	}
	sf_path = strdup(c->global.stats_file);
	return 0;
}

/* Proxies and servers of c. */
static void
sf_count(const struct conf *c, uint32_t *npx, uint32_t *nsrv)
{
	*npx = *nsrv = 0;
	for (const struct conf_proxy *px = c->proxies; px != NULL; px = px->next) {
		(*npx)++;
		for (const struct conf_server *s = px->servers; s != NULL; s = s->next)
			(*nsrv)++;
	}
}

/* The tables for c, the workers and the session slots; the file only
 * grows (a reader's mapping never loses its pages). */
static int
sf_layout(const struct conf *c)
{
	uint32_t npx, nsrv, nthr = worker_count();
	size_t off, len;
	struct stats_header *h;

	sf_count(c, &npx, &nsrv);
	off = sizeof(struct stats_header);
	len = off + npx * sizeof(struct stats_proxy) + nsrv * sizeof(struct stats_server) +
	    nthr * sizeof(struct stats_thread) + STATS_SESSIONS_MAX * sizeof(struct stats_session);
	if (len > sf_len) {
		void *m;

		if (ftruncate(sf_fd, (off_t)len) == -1)
			return -1;
		if ((m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, sf_fd, 0)) == MAP_FAILED)
			return -1;
		if (sf_hdr != NULL) {
			memcpy(m, sf_hdr, sizeof(*sf_hdr));	/* the sequence counters go on */
			munmap(sf_hdr, sf_len);
		}
		sf_hdr = m;
		sf_len = len;
	}
	h = sf_hdr;
	sf_begin(&h->layout_seq);
	h->magic = STATS_FILE_MAGIC;
	h->version = STATS_FILE_VERSION;
	h->header_size = sizeof(struct stats_header);
	h->proxy_size = sizeof(struct stats_proxy);
	h->server_size = sizeof(struct stats_server);
	h->thread_size = sizeof(struct stats_thread);
	h->session_size = sizeof(struct stats_session);
	h->nproxies = npx;
	h->nservers = nsrv;
	h->nthreads = nthr;
	h->nsessions = STATS_SESSIONS_MAX;
	h->proxies_off = off;
	h->servers_off = h->proxies_off + npx * sizeof(struct stats_proxy);
	h->threads_off = h->servers_off + nsrv * sizeof(struct stats_server);
	h->sessions_off = h->threads_off + nthr * sizeof(struct stats_thread);
	h->file_size = sf_len;
	h->pid = (int32_t)getpid();
	sf_name(h->version_str, sizeof(h->version_str), PACKAGE_VERSION);
	sf_end(&h->layout_seq);
	return 0;
}

static void
sf_copy_proxies(const struct conf *c)
{
	struct stats_proxy *r = (struct stats_proxy *)((char *)sf_hdr + sf_hdr->proxies_off);
	struct stats_server *v = (struct stats_server *)((char *)sf_hdr + sf_hdr->servers_off);

	for (const struct conf_proxy *px = c->proxies; px != NULL; px = px->next, r++) {
		sf_begin(&r->seq);
		sf_name(r->name, sizeof(r->name), px->name);
		r->flags = (px->cap & CONF_PX_FE ? STATS_PX_FRONTEND : 0) |
		    (px->cap & CONF_PX_BE ? STATS_PX_BACKEND : 0) |
		    (LOAD(px->stopped) ? STATS_PX_STOPPED : 0);
		r->sessions_now = LOAD(px->cur_sess);
		r->sessions_total = LOAD(px->total_sess);
		r->max_sessions = LOAD(px->maxconn);
		for (int d = 0; d < 2; d++) {
			r->bytes[d] = LOAD(px->fe_bytes[d]);
			r->be_bytes[d] = LOAD(px->be_bytes[d]);
		}
		r->queue_now = LOAD(px->queue_len);
		r->queue_max = LOAD(px->queue_max);
		sf_end(&r->seq);
		for (const struct conf_server *s = px->servers; s != NULL; s = s->next, v++) {
			sf_begin(&v->seq);
			sf_name(v->backend, sizeof(v->backend), px->name);
			sf_name(v->name, sizeof(v->name), s->name);
			v->state = (uint32_t)LOAD(s->state);
			v->weight = LOAD(s->cur_weight);
			v->sessions_now = LOAD(s->cur_sess);
			v->sessions_total = LOAD(s->total_sess);
			v->connect_errors = LOAD(s->connect_errors);
			for (int d = 0; d < 2; d++)
				v->bytes[d] = LOAD(s->bytes[d]);
			sf_end(&v->seq);
		}
	}
}

static void
sf_copy_threads(void)
{
	struct stats_thread *t = (struct stats_thread *)((char *)sf_hdr + sf_hdr->threads_off);

	for (unsigned int i = 0; i < sf_hdr->nthreads; i++, t++) {
		struct pipe_pool_stats ps = { 0 };
		struct session_stats st;

		session_stats_of(i, &st);
		pipe_pool_add_stats(worker_pool(worker_get(i)), &ps);
		sf_begin(&t->seq);
		t->id = i;
		t->sessions_now = session_live(i);
		t->sessions_total = st.sessions;
		t->bytes[0] = st.bytes_up;
		t->bytes[1] = st.bytes_down;
		t->pipes_used = ps.used;
		t->pipes_free = ps.free;
		sf_end(&t->seq);
	}
}

/* The busiest sessions, by rate both ways, then by bytes. */
struct sf_top {
	struct session_info best[STATS_SESSIONS_MAX];
	char fe[STATS_SESSIONS_MAX][STATS_NAME_MAX];
	char srv[STATS_SESSIONS_MAX][2 * STATS_NAME_MAX];
	char cli[STATS_SESSIONS_MAX][SOCKADDR_STRLEN];
	unsigned int n;
};

static uint64_t
sf_weight(const struct session_info *i)
{
	return (i->bps[0] + i->bps[1]) * 4 + (i->bytes[0] + i->bytes[1]) / 1024;
}

static void
sf_top_add(const struct session_info *i, void *arg)
{
	struct sf_top *t = arg;
	unsigned int k = t->n;

	if (t->n == STATS_SESSIONS_MAX) {
		k = 0;
		for (unsigned int j = 1; j < t->n; j++) {
			if (sf_weight(&t->best[j]) < sf_weight(&t->best[k]))
				k = j;
		}
		if (sf_weight(&t->best[k]) >= sf_weight(i))
			return;
	} else {
		t->n++;
	}
	t->best[k] = *i;
	/* The info points into the session and its configuration, which
	 * may go once the workers run again: copy the strings now. The
	 * state is a constant. */
	snprintf(t->fe[k], sizeof(t->fe[k]), "%s", i->frontend);
	snprintf(t->srv[k], sizeof(t->srv[k]), "%s/%s", i->backend ? i->backend : "-",
	    i->server != NULL ? i->server->name : "-");
	sockaddr_print((const struct sockaddr *)i->cli, t->cli[k], sizeof(t->cli[k]));
	t->best[k].frontend = t->best[k].backend = NULL;
	t->best[k].server = NULL;
	t->best[k].cli = t->best[k].srv_addr = NULL;
}

static void
sf_copy_sessions(void)
{
	struct stats_session *r = (struct stats_session *)((char *)sf_hdr + sf_hdr->sessions_off);
	static struct sf_top top;	/* 20 KB: not on the stack */

	memset(&top, 0, sizeof(top));
	worker_isolate();
	for (unsigned int w = 0; w < worker_count(); w++)
		session_foreach(worker_get(w), sf_top_add, &top);
	worker_release();
	for (unsigned int k = 0; k < STATS_SESSIONS_MAX; k++, r++) {
		const struct session_info *i = &top.best[k];

		sf_begin(&r->seq);
		r->id = k < top.n ? i->id : 0;
		if (k < top.n) {
			sf_name(r->frontend, sizeof(r->frontend), top.fe[k]);
			sf_name(r->state, sizeof(r->state), i->state);
			sf_name(r->server, sizeof(r->server), top.srv[k]);
			sf_name(r->client, sizeof(r->client), top.cli[k]);
			sf_name(r->engine, sizeof(r->engine), i->engine);
			r->age_ms = i->age_us / 1000;
			r->idle_ms = i->idle_us / 1000;
			for (int d = 0; d < 2; d++) {
				r->bytes[d] = i->bytes[d];
				r->bps[d] = i->bps[d];
			}
		}
		sf_end(&r->seq);
	}
}

static void
sf_on_timer(evutil_socket_t fd, short what, void *arg)
{
	const struct conf *c = conf_current();
	uint32_t npx, nsrv;
	struct session_stats ws;
	struct timespec now;

	(void)fd;
	(void)what;
	(void)arg;
	sf_count(c, &npx, &nsrv);
	if ((npx != sf_hdr->nproxies || nsrv != sf_hdr->nservers) && sf_layout(c) == -1) {
		log_err("stats file %s: cannot lay it out again: %s", sf_path, strerror(errno));
		return;
	}
	sf_copy_proxies(c);
	sf_copy_threads();
	if (sf_ticks++ % (1000 / STATS_FILE_PERIOD_MS) == 0)
		sf_copy_sessions();
	session_sum_stats(&ws);
	clock_gettime(CLOCK_MONOTONIC, &now);
	sf_begin(&sf_hdr->seq);
	sf_hdr->reloads = sf_reloads;
	sf_hdr->updated_ms = (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
	sf_hdr->sessions_now = listener_actconn();
	sf_hdr->sessions_total = ws.sessions;
	sf_hdr->max_sessions = listener_maxconn();
	sf_end(&sf_hdr->seq);
}

int
stats_file_start(struct event_base *base)
{
	struct timeval period = { 0, STATS_FILE_PERIOD_MS * 1000 };

	if (sf_fd == -1)
		return 0;
	if (sf_layout(conf_current()) == -1) {
		log_alert("stats file %s: %s", sf_path, strerror(errno));
		return -1;
	}
	sf_hdr->started_unix = (uint64_t)time(NULL);
	if ((sf_timer = event_new(base, -1, EV_PERSIST, sf_on_timer, NULL)) == NULL ||
	    event_add(sf_timer, &period) == -1)
		return -1;
	sf_on_timer(-1, 0, NULL);
	log_notice("stats file %s: %u proxies, %u servers, %u threads, copied every %d ms",
	    sf_path, sf_hdr->nproxies, sf_hdr->nservers, sf_hdr->nthreads, STATS_FILE_PERIOD_MS);
	return 0;
}

void
stats_file_set_reloads(unsigned int reloads)
{
	sf_reloads = reloads;
}

void
stats_file_stop(void)
{
	if (sf_timer != NULL)
		event_free(sf_timer);
	sf_timer = NULL;
	if (sf_hdr != NULL)
		munmap(sf_hdr, sf_len);
	sf_hdr = NULL;
	sf_len = 0;
	if (sf_fd != -1) {
		close(sf_fd);
		(void)unlink(sf_path);	/* a reader keeps its mapping */
	}
	sf_fd = -1;
	free(sf_path);
	sf_path = NULL;
}

