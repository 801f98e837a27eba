/*
 * metrics: the Prometheus endpoint (see metrics.h). Each scrape reads the
 * atomic counters of the current configuration's proxies and servers,
 * the workers' sums, the pipe pools and the sockmap engine; the sessions
 * by engine are counted with the workers parked (as "show sess").
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "backend.h"
#include "clock.h"
#include "engine.h"
#include "httpd.h"
#include "listener.h"
#include "log.h"
#include "metrics.h"
#include "metrics_more.h"
#include "pipe_pool.h"
#include "session.h"
#include "sockaddr.h"
#include "worker.h"

static int metrics_fd = -1;
static char metrics_addr[SOCKADDR_STRLEN];
static struct evhttp *metrics_http;
static const struct metrics_process *metrics_proc;


int
metrics_bind(const struct conf *c, char *err, size_t errlen)
{
	const struct sockaddr_spec *a = c->global.metrics;

	if (a == NULL)
		return 0;
	sockaddr_print((const struct sockaddr *)&a->ss, metrics_addr, sizeof(metrics_addr));
	if ((metrics_fd = sockaddr_listen(a, 64)) == -1) {
		snprintf(err, errlen, "stats metrics %s: %s", metrics_addr, strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- the exposition format ---- */

void
metrics_family(struct evbuffer *b, const char *name, const char *type, const char *help)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value with \, " and newline escaped. */
static void
metrics_label(struct evbuffer *b, const char *name, const char *v, int first)
{
	evbuffer_add_printf(b, "%s%s=\"", first ? "" : ",", name);
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			evbuffer_add_printf(b, "\\%c", *v);
		else if (*v == '\n')
			evbuffer_add(b, "\\n", 2);
		else
			evbuffer_add(b, v, 1);
	}
	evbuffer_add(b, "\"", 1);
}

/* name{k1="v1"[,k2="v2"[,k3="v3"]]} value */
void
metrics_sample(struct evbuffer *b, const char *name, const char *k1, const char *v1,
    const char *k2, const char *v2, const char *k3, const char *v3, uint64_t value)
{
	evbuffer_add_printf(b, "%s", name);
	if (k1 != NULL) {
		evbuffer_add(b, "{", 1);
		metrics_label(b, k1, v1, 1);
		if (k2 != NULL)
			metrics_label(b, k2, v2, 0);
		if (k3 != NULL)
			metrics_label(b, k3, v3, 0);
		evbuffer_add(b, "}", 1);
	}
	evbuffer_add_printf(b, " %" PRIu64 "\n", value);
}

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

static const char *const metrics_dirs[2] = { "upload", "download" };

static void
metrics_frontends(struct evbuffer *b, const struct conf *c)
{
	static const struct {
		const char *name, *type, *help;
	} fam[] = {
		{ "splicer_frontend_sessions_current", "gauge", "Sessions in progress." },
		{ "splicer_frontend_sessions_total", "counter", "Sessions accepted." },
		{ "splicer_frontend_limit_sessions", "gauge",
		  "Sessions allowed at once (0: no limit of its own)." },
		{ "splicer_frontend_up", "gauge", "1 while the frontend accepts clients." },
		{ "splicer_frontend_bytes_total", "counter",
		  "Bytes delivered: upload is client to server, download server to client." },
		{ "splicer_frontend_shaped_bytes_total", "counter",
		  "Of those, bytes of flows under a bandwidth limit." },
	};

	for (size_t f = 0; f < sizeof(fam) / sizeof(*fam); f++) {
		metrics_family(b, fam[f].name, fam[f].type, fam[f].help);
		for (const struct conf_proxy *px = c->proxies; px != NULL; px = px->next) {
			if (!(px->cap & CONF_PX_FE))
				continue;
			switch (f) {
			case 0: metrics_sample(b, fam[f].name, "frontend", px->name, NULL, NULL,
				    NULL, NULL, LOAD(px->cur_sess)); break;
			case 1: metrics_sample(b, fam[f].name, "frontend", px->name, NULL, NULL,
				    NULL, NULL, LOAD(px->total_sess)); break;
			case 2: metrics_sample(b, fam[f].name, "frontend", px->name, NULL, NULL,
				    NULL, NULL, LOAD(px->maxconn)); break;
			case 3: metrics_sample(b, fam[f].name, "frontend", px->name, NULL, NULL,
				    NULL, NULL, !LOAD(px->stopped)); break;
			default:
				for (int d = 0; d < 2; d++)
					metrics_sample(b, fam[f].name, "frontend", px->name,
					    "direction", metrics_dirs[d], NULL, NULL,
					    f == 4 ? LOAD(px->fe_bytes[d]) : LOAD(px->fe_shaped[d]));
			}
		}
	}
}

static void
metrics_servers(struct evbuffer *b, const struct conf *c)
{
	static const struct {
		const char *name, *type, *help;
	} fam[] = {
		{ "splicer_server_up", "gauge", "1 while the server takes new sessions." },
		{ "splicer_server_weight", "gauge", "Weight in force." },
		{ "splicer_server_sessions_current", "gauge", "Sessions connected or connecting." },
		{ "splicer_server_sessions_total", "counter", "Sessions sent to it." },
		{ "splicer_server_connect_errors_total", "counter", "Connect attempts that failed." },
		{ "splicer_server_check_up", "gauge",
		  "0 while its health checks hold the server down, else 1." },
		{ "splicer_server_admin_state", "gauge",
		  "What the admin set: 0 ready, 1 drain, 2 maintenance." },
		{ "splicer_server_bytes_total", "counter",
		  "Bytes delivered: upload is to the server, download from it." },
	};

	for (size_t f = 0; f < sizeof(fam) / sizeof(*fam); f++) {
		metrics_family(b, fam[f].name, fam[f].type, fam[f].help);
		for (const struct conf_proxy *px = c->proxies; px != NULL; px = px->next) {
			for (const struct conf_server *s = px->servers; s != NULL; s = s->next) {
				uint64_t v[] = { LOAD(s->state) == CONF_SRV_UP, LOAD(s->cur_weight),
				    LOAD(s->cur_sess), LOAD(s->total_sess), LOAD(s->connect_errors),
				    !LOAD(s->check_down), (uint64_t)LOAD(s->admin) };

				if (f < sizeof(v) / sizeof(*v)) {
					metrics_sample(b, fam[f].name, "backend", px->name, "server",
					    s->name, NULL, NULL, v[f]);
					continue;
				}
				for (int d = 0; d < 2; d++)
					metrics_sample(b, fam[f].name, "backend", px->name, "server",
					    s->name, "direction", metrics_dirs[d], LOAD(s->bytes[d]));
			}
		}
	}
	metrics_family(b, "splicer_backend_queue_current", "gauge",
	    "Sessions waiting for a server slot.");
	for (const struct conf_proxy *px = c->proxies; px != NULL; px = px->next) {
		if (px->cap & CONF_PX_BE)
			metrics_sample(b, "splicer_backend_queue_current", "backend", px->name,
			    NULL, NULL, NULL, NULL, LOAD(px->queue_len));
	}
	metrics_family(b, "splicer_backend_queue_max", "gauge",
	    "Most sessions ever waiting at once.");
	for (const struct conf_proxy *px = c->proxies; px != NULL; px = px->next) {
		if (px->cap & CONF_PX_BE)
			metrics_sample(b, "splicer_backend_queue_max", "backend", px->name,
			    NULL, NULL, NULL, NULL, LOAD(px->queue_max));
	}
}

/* Flows in progress by engine, counted with the workers parked. */
struct metrics_flows {
	uint64_t flows[ENGINE_COUNT];
};

static void
metrics_count_flow(const struct session_info *i, void *arg)
{
	struct metrics_flows *m = arg;

	for (int d = 0; d < 2; d++) {
		if (i->flow_engine[d] >= 0)
			m->flows[i->flow_engine[d]]++;
	}
}

static void
metrics_process(struct evbuffer *b)
{
	struct metrics_flows m = { { 0 } };
	struct engine_kernel_stats ks;
	struct pipe_pool_stats ps;
	struct session_stats st;

	session_sum_stats(&st);
	worker_sum_pools(&ps);
	engine_kernel_stats(&ks);
	worker_isolate();
	for (unsigned int w = 0; w < worker_count(); w++)
		session_foreach(worker_get(w), metrics_count_flow, &m);
	worker_release();

	metrics_family(b, "splicer_uptime_seconds", "gauge", "Seconds since start.");
	metrics_sample(b, "splicer_uptime_seconds", NULL, NULL, NULL, NULL, NULL, NULL,
	    (clock_now_us() - metrics_proc->started_us) / 1000000);
	metrics_family(b, "splicer_sessions_current", "gauge", "Sessions in progress.");
	metrics_sample(b, "splicer_sessions_current", NULL, NULL, NULL, NULL, NULL, NULL,
	    listener_actconn());
	metrics_family(b, "splicer_max_sessions", "gauge", "Sessions allowed at once.");
	metrics_sample(b, "splicer_max_sessions", NULL, NULL, NULL, NULL, NULL, NULL,
	    listener_maxconn());
	metrics_family(b, "splicer_sessions_total", "counter", "Sessions accepted.");
	metrics_sample(b, "splicer_sessions_total", NULL, NULL, NULL, NULL, NULL, NULL,
	    st.sessions);
	metrics_family(b, "splicer_flows_current", "gauge",
	    "Flows (one per direction of an established session) by the engine moving them.");
	for (int e = 0; e < ENGINE_COUNT; e++)
		metrics_sample(b, "splicer_flows_current", "engine", engine_name((enum engine_id)e), NULL,
		    NULL, NULL, NULL, m.flows[e]);
	metrics_family(b, "splicer_sessions_ended_total", "counter",
	    "Established sessions ended, by engine (sockmap if a flow was in the kernel).");
	for (int e = 0; e < ENGINE_COUNT; e++)
		metrics_sample(b, "splicer_sessions_ended_total", "engine", engine_name((enum engine_id)e),
		    NULL, NULL, NULL, NULL, st.by_engine[e]);
	metrics_family(b, "splicer_pipes_allocated", "gauge", "Pipes that exist (2 fds each).");
	metrics_sample(b, "splicer_pipes_allocated", NULL, NULL, NULL, NULL, NULL, NULL,
	    pipe_pool_allocated());
	metrics_family(b, "splicer_pipes_in_use", "gauge", "Pipes held by flows.");
	metrics_sample(b, "splicer_pipes_in_use", NULL, NULL, NULL, NULL, NULL, NULL, ps.used);
	metrics_family(b, "splicer_pipe_fallbacks_total", "counter",
	    "Flows copied through user space for want of a pipe.");
	metrics_sample(b, "splicer_pipe_fallbacks_total", NULL, NULL, NULL, NULL, NULL, NULL,
	    ps.fallbacks);
	metrics_family(b, "splicer_sockmap_flows_total", "counter", "Flows handed to the kernel.");
	metrics_sample(b, "splicer_sockmap_flows_total", NULL, NULL, NULL, NULL, NULL, NULL,
	    ks.promoted);
	metrics_family(b, "splicer_sockmap_refused_total", "counter",
	    "Hand-overs to the kernel refused.");
	metrics_sample(b, "splicer_sockmap_refused_total", NULL, NULL, NULL, NULL, NULL, NULL,
	    ks.failed);
	metrics_family(b, "splicer_sockmap_bytes_total", "counter",
	    "Bytes the kernel redirected, for flows that left it.");
	metrics_sample(b, "splicer_sockmap_bytes_total", NULL, NULL, NULL, NULL, NULL, NULL,
	    ks.bytes);
	metrics_family(b, "splicer_sockmap_doubled_total", "counter",
	    "Sessions reset because the kernel handed a segment over twice.");
	metrics_sample(b, "splicer_sockmap_doubled_total", NULL, NULL, NULL, NULL, NULL, NULL,
	    ks.doubled);
	metrics_family(b, "splicer_reloads_total", "counter", "Reloads attempted (SIGHUP).");
	metrics_sample(b, "splicer_reloads_total", NULL, NULL, NULL, NULL, NULL, NULL,
	    metrics_proc->reloads);
	metrics_family(b, "splicer_reload_failures_total", "counter",
	    "Reloads refused (the running configuration stayed).");
	metrics_sample(b, "splicer_reload_failures_total", NULL, NULL, NULL, NULL, NULL, NULL,
	    metrics_proc->reloads_failed);
}

static void
metrics_on_request(struct evhttp_request *req, void *arg)
{
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	struct evbuffer *b;

	(void)arg;
	if (path == NULL || strcmp(path, "/metrics") != 0) {
		evhttp_send_error(req, HTTP_NOTFOUND, "splicer serves /metrics only");
		return;
	}
	if ((b = evbuffer_new()) == NULL) {
		evhttp_send_error(req, HTTP_INTERNAL, "out of memory");
		return;
	}
	metrics_process(b);
	metrics_frontends(b, conf_current());
	metrics_servers(b, conf_current());
	metrics_more(b, conf_current(), metrics_proc->started_us);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
	    "text/plain; version=0.0.4; charset=utf-8");
	evhttp_send_reply(req, HTTP_OK, "OK", b);
	evbuffer_free(b);
}

int
metrics_start(struct event_base *base, const struct metrics_process *proc)
{
	if (metrics_fd == -1)
		return 0;
	metrics_proc = proc;
	metrics_http = httpd_start(base, metrics_fd, metrics_on_request, NULL);
	metrics_fd = -1;	/* evhttp's now, or closed */
	if (metrics_http == NULL)
		return -1;
	log_notice("metrics on http://%s/metrics", metrics_addr);
	return 0;
}

void
metrics_stop(void)
{
	httpd_stop(&metrics_http, &metrics_fd);
}
