/*
 * admin_sess: the admin commands about sessions. "show sess" answers its
 * head here and its lines come from the workers (admin.c streams them);
 * the orders find their sessions with the workers parked for one walk
 * and post the order to each session's own worker, where a job runs
 * session.h's verb for it.
 * Sessions are matched by id, or by backend and server name: a session
 * keeps the configuration it started with, so after a reload its structs
 * are not the current configuration's.
 */
#include "config.h"

#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "admin_sess.h"
#include "engine.h"
#include "log.h"
#include "shaper.h"
#include "sockaddr.h"
#include "units.h"
#include "worker.h"

void
admin_sess_line(const struct session_info *i, void *arg)
{
	char cli[SOCKADDR_STRLEN], srv[SOCKADDR_STRLEN];

	evbuffer_add_printf(arg, "%u %s %s/%s %s %s %s %s %.3f %.3f %" PRIu64 " %" PRIu64
	    " %" PRIu64 " %" PRIu64 "\n", i->id, i->frontend,
	    i->backend != NULL ? i->backend : "-", i->server != NULL ? i->server->name : "-",
	    sockaddr_print((const struct sockaddr *)i->cli, cli, sizeof(cli)),
	    i->srv_addr != NULL ? sockaddr_print((const struct sockaddr *)i->srv_addr, srv,
	    sizeof(srv)) : "-", i->state, i->engine, i->age_us / 1e6, i->idle_us / 1e6,
	    i->bytes[0], i->bytes[1], i->bps[0], i->bps[1]);
}

/* The head; the lines follow from the workers (admin_walk_start). */
void
admin_sess_show(char **argv, struct evbuffer *out)
{
	(void)argv;
	evbuffer_add_printf(out, "# id frontend backend/server client server state engine "
	    "age_s idle_s bytes_up bytes_down bps_up bps_down\n");
}

/* What an order does to a session (session.h's verbs). */
enum admin_verb {
	ADMIN_SHUTDOWN,		/* end it now, both sides reset */
	ADMIN_PAUSE,		/* no byte moves either way until resumed */
	ADMIN_RESUME,
	ADMIN_SET_RATE,		/* shape direction dir at rate bits/s */
};

/* One order for one session, run on the session's worker. */
struct admin_sess_job {
	struct worker_job job;
	unsigned int id;		/* the session */
	enum admin_verb verb;
	int dir;			/* ADMIN_SET_RATE: SHAPER_UP or SHAPER_DOWN */
	uint64_t rate;			/* bits/s */
};

/* On the session's worker: the session may have ended since it was
 * found; the verb frees it if it ends it. */
static void
admin_sess_run_job(struct worker_job *j)
{
	struct admin_sess_job *a = (struct admin_sess_job *)j;
	struct session *s = session_find(a->id);

	if (s != NULL) {
		switch (a->verb) {
		case ADMIN_SHUTDOWN:
			session_shutdown(s, "shut down from the admin socket");
			break;
		case ADMIN_PAUSE:
		case ADMIN_RESUME:
			(void)session_pause(s, a->verb == ADMIN_PAUSE);	/* -1: it moved on */
			break;
		case ADMIN_SET_RATE:
			(void)session_set_rate(s, a->dir, a->rate);	/* -1 is logged */
			break;
		}
	}
	free(a);
}

/* Have w carry out verb on its session id, on its own thread and soon.
 * -1: out of memory. */
static int
admin_sess_post(struct worker *w, unsigned int id, enum admin_verb verb, int dir,
    uint64_t rate)
{
	struct admin_sess_job *a;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return -1;
	a->job.run = admin_sess_run_job;
	a->id = id;
	a->verb = verb;
	a->dir = dir;
	a->rate = rate;
	worker_post(w, &a->job);
	return 0;
}

/* Orders for the sessions that match; how many were found. */
struct admin_sess_order {
	unsigned int id;		/* one session, or 0 */
	/* Or those of a server, by name: a session keeps the configuration
	 * it started with, so after a reload its server is another struct
	 * than the current configuration's, under the same names. */
	const char *be_name, *srv_name;
	int backups;			/* with be_name alone: those of its backup servers */
	enum admin_verb order;
	int dir;			/* ADMIN_SET_RATE */
	uint64_t rate;
	int in_kernel;			/* a match has a flow in the kernel */
	const char *not_running;	/* a match is not established yet: its state */
	unsigned int found;
	struct {
		struct worker *w;
		unsigned int id;
	} *hits;
	size_t nhits, cap;
	struct worker *w;		/* the worker being walked */
};

static void
admin_sess_match(const struct session_info *i, void *arg)
{
	struct admin_sess_order *o = arg;

	if (o->id != 0 && i->id != o->id)
		return;
	if (o->srv_name != NULL && (i->server == NULL || strcmp(i->backend, o->be_name) != 0 ||
	    strcmp(i->server->name, o->srv_name) != 0))
		return;
	if (o->backups && (i->server == NULL || !i->server->backup ||
	    strcmp(i->backend, o->be_name) != 0))
		return;
	if (i->flow_engine[0] == ENGINE_SOCKMAP || i->flow_engine[1] == ENGINE_SOCKMAP)
		o->in_kernel = 1;
	if (!i->running)
		o->not_running = i->state;
	if (o->nhits == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 16;
		void *p = realloc(o->hits, cap * sizeof(*o->hits));

		if (p == NULL)
			return;
		o->hits = p;
		o->cap = cap;
	}
	o->hits[o->nhits].w = o->w;
	o->hits[o->nhits++].id = i->id;
}

/* Find the sessions (workers parked), then order them (workers running). */
static void
admin_sess_order(struct admin_sess_order *o, struct evbuffer *out)
{
	worker_isolate();
	for (unsigned int w = 0; w < worker_count(); w++) {
		o->w = worker_get(w);
		session_foreach(o->w, admin_sess_match, o);
	}
	worker_release();
	if (o->order == ADMIN_SET_RATE && o->in_kernel) {
		admin_error(out, "session %u is carried by the kernel (sockmap): a kernel redirect "
		    "cannot be shaped", o->id);
		o->nhits = 0;
		o->id = 0;
	} else if (o->order == ADMIN_PAUSE && o->not_running != NULL) {
		admin_error(out, "session %u is %s: only an established session can be paused",
		    o->id, o->not_running);
		o->nhits = 0;
		o->id = 0;
	}
	for (size_t i = 0; i < o->nhits; i++) {
		if (admin_sess_post(o->hits[i].w, o->hits[i].id, o->order, o->dir, o->rate) == -1) {
			admin_error(out, "out of memory");
			break;
		}
	}
	free(o->hits);
}

/* An order for the session whose id is `id`. */
static void
admin_sess_order_one(const char *id, struct admin_sess_order *o, struct evbuffer *out)
{
	unsigned long long v;

	if (admin_number(id, "session id", 1, UINT_MAX, &v, out) == -1)
		return;
	o->id = (unsigned int)v;
	admin_sess_order(o, out);
	if (o->nhits == 0 && o->id != 0)
		admin_error(out, "no session %llu", v);
}

void
admin_sess_shutdown(char **argv, struct evbuffer *out)
{
	admin_sess_order_one(argv[0], &(struct admin_sess_order){ .order = ADMIN_SHUTDOWN }, out);
}

void
admin_sess_pause(char **argv, struct evbuffer *out)
{
	admin_sess_order_one(argv[0], &(struct admin_sess_order){ .order = ADMIN_PAUSE }, out);
}

void
admin_sess_resume(char **argv, struct evbuffer *out)
{
	admin_sess_order_one(argv[0], &(struct admin_sess_order){ .order = ADMIN_RESUME }, out);
}

void
admin_sess_shutdown_server(char **argv, struct evbuffer *out)
{
	struct admin_sess_order o = { .order = ADMIN_SHUTDOWN };
	struct conf_proxy *be;
	char name[256];

	if (strcmp(argv[0], "server") != 0) {
		admin_error(out, "'shutdown sessions %s': expected 'server BACKEND/SERVER'", argv[0]);
		return;
	}
	if (admin_split(argv[1], name, sizeof(name), &o.srv_name, out) == -1)
		return;
	o.be_name = name;
	admin_sess_order(&o, out);
	/* None found: a server the configuration does not know is an error
	 * (one that a reload removed still had its sessions found above). */
	if (o.nhits == 0)
		(void)admin_server(argv[1], &be, out);
}

unsigned int
admin_sess_kill_server(const char *backend, const char *server)
{
	struct admin_sess_order o = { .order = ADMIN_SHUTDOWN, .be_name = backend,
	    .srv_name = server, .backups = server == NULL };
	struct evbuffer *out = evbuffer_new();

	if (out == NULL)
		return 0;
	admin_sess_order(&o, out);
	evbuffer_free(out);
	return (unsigned int)o.nhits;
}

/* "upload" or "download", or -1 with an error answered. */
static int
admin_sess_direction(const char *w, struct evbuffer *out)
{
	if (strcmp(w, "upload") == 0)
		return SHAPER_UP;
	if (strcmp(w, "download") == 0)
		return SHAPER_DOWN;
	admin_error(out, "'%s' is not upload or download", w);
	return -1;
}

static int
admin_sess_rate(const char *w, uint64_t *rate, struct evbuffer *out)
{
	char why[256];

	if (units_parse_rate(w, rate, why, sizeof(why)) == -1) {
		admin_error(out, "%s", why);
		return -1;
	}
	return 0;
}

void
admin_sess_bw(char **argv, struct evbuffer *out)
{
	struct admin_sess_order o = { .order = ADMIN_SET_RATE };

	if ((o.dir = admin_sess_direction(argv[1], out)) == -1 || admin_sess_rate(argv[2], &o.rate, out) == -1)
		return;
	admin_sess_order_one(argv[0], &o, out);
}

/* fe's own bandwidth-limit lines of direction dir get the rate; how many. */
static int
admin_sess_bw_set(const struct conf_proxy *fe, int dir, uint64_t rate)
{
	int n = 0;

	for (struct shaper_group *g = fe->shapers; g != NULL; g = g->next) {
		if (g->dir == dir && g->name == NULL) {
			shaper_group_set(g, rate, 0);
			n++;
		}
	}
	return n;
}

/* A frontend of the same name in an older configuration, as sessions that
 * started before a reload hold it. */
struct admin_sess_bw_older {
	const struct conf_proxy *cur;
	int dir;
	uint64_t rate;
};

static void
admin_sess_bw_older_one(const struct session_info *i, void *arg)
{
	const struct admin_sess_bw_older *o = arg;

	if (i->fe != o->cur && strcmp(i->frontend, o->cur->name) == 0)
		(void)admin_sess_bw_set(i->fe, o->dir, o->rate);
}

/* A frontend's own bandwidth-limit lines of that direction get the rate,
 * for its running and future sessions (until a reload), those that
 * started with an older configuration included. */
void
admin_sess_bw_frontend(char **argv, struct evbuffer *out)
{
	struct admin_sess_bw_older o;
	struct conf_proxy *fe;
	uint64_t rate;
	int dir;

	if ((fe = admin_frontend(argv[0], out)) == NULL ||
	    (dir = admin_sess_direction(argv[1], out)) == -1 || admin_sess_rate(argv[2], &rate, out) == -1)
		return;
	if (admin_sess_bw_set(fe, dir, rate) == 0) {
		admin_error(out, "frontend '%s' has no 'bandwidth-limit %s' line to change "
		    "(add one to the configuration)", fe->name, argv[1]);
		return;
	}
	/* The workers parked: no older configuration is freed meanwhile. */
	o = (struct admin_sess_bw_older){ .cur = fe, .dir = dir, .rate = rate };
	worker_isolate();
	for (unsigned int w = 0; w < worker_count(); w++)
		session_foreach(worker_get(w), admin_sess_bw_older_one, &o);
	worker_release();
	log_notice("frontend %s: bandwidth-limit %s %" PRIu64 " bits/s (admin socket)",
	    fe->name, argv[1], rate);
}
