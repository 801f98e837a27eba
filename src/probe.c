/*
 * probe: /healthz and /ready (see probe.h). Both read state the control
 * thread owns (the current configuration, the heartbeats) or atomics the
 * workers and the health checks write (server states, "disable
 * frontend"): no worker is parked to answer a probe.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "acl.h"
#include "backend.h"
#include "heartbeat.h"
#include "httpd.h"
#include "log.h"
#include "probe.h"
#include "sockaddr.h"

static int probe_fd = -1;
static char probe_addr[SOCKADDR_STRLEN];
static struct evhttp *probe_http;
static char probe_stopping[64];		/* why, or "" while running */

int
probe_bind(const struct conf *c, char *err, size_t errlen)
{
	const struct sockaddr_spec *a = c->global.health;

	if (a == NULL)
		return 0;
	sockaddr_print((const struct sockaddr *)&a->ss, probe_addr, sizeof(probe_addr));
	if ((probe_fd = sockaddr_listen(a, 64)) == -1) {
		snprintf(err, errlen, "stats health %s: %s", probe_addr, strerror(errno));
		return -1;
	}
	return 0;
}

void
probe_set_stopping(const char *why)
{
	if (probe_stopping[0] == '\0')
		snprintf(probe_stopping, sizeof(probe_stopping), "%s", why);
}

/* A frontend can serve when its default backend has a server up, or,
 * without a default backend, when one of its use_backend targets has. */
static int
probe_frontend(const struct conf_proxy *fe, char *why, size_t len)
{
	if (__atomic_load_n(&fe->stopped, __ATOMIC_RELAXED)) {
		snprintf(why, len, "frontend %s is disabled", fe->name);
		return 0;
	}
	if (fe->backend != NULL) {
		if (backend_any_up(fe->backend))
			return 1;
		snprintf(why, len, "frontend %s: backend %s has no server up", fe->name,
		    fe->backend->name);
		return 0;
	}
	for (const struct acl_rule *r = fe->use_backends; r != NULL; r = r->next) {
		if (r->backend != NULL && backend_any_up(r->backend))
			return 1;
	}
	snprintf(why, len, "frontend %s: none of its backends has a server up", fe->name);
	return 0;
}

int
probe_ready(const struct conf *c, char *why, size_t len)
{
	if (probe_stopping[0] != '\0') {
		snprintf(why, len, "stopping (%s)", probe_stopping);
		return 0;
	}
	if (!heartbeat_ok(why, len))
		return 0;
	for (const struct conf_proxy *px = c->proxies; px != NULL; px = px->next) {
		if ((px->cap & CONF_PX_FE) && !probe_frontend(px, why, len))
			return 0;
	}
	return 1;
}

static void
probe_reply(struct evhttp_request *req, int ok, const char *text)
{
	struct evbuffer *b = evbuffer_new();

	if (b == NULL) {
		evhttp_send_error(req, HTTP_INTERNAL, "out of memory");
		return;
	}
	evbuffer_add_printf(b, "%s\n", text);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
	    "text/plain; charset=utf-8");
	evhttp_add_header(evhttp_request_get_output_headers(req), "Cache-Control", "no-store");
	evhttp_send_reply(req, ok ? HTTP_OK : HTTP_SERVUNAVAIL, ok ? "OK" : "Service Unavailable",
	    b);
	evbuffer_free(b);
}

static void
probe_on_request(struct evhttp_request *req, void *arg)
{
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	char why[256];

	(void)arg;
	if (path != NULL && strcmp(path, "/healthz") == 0) {
		if (!heartbeat_ok(why, sizeof(why)))
			probe_reply(req, 0, why);
		else
			probe_reply(req, 1, probe_stopping[0] != '\0' ? "alive, stopping" : "alive");
	} else if (path != NULL && strcmp(path, "/ready") == 0) {
		int ok = probe_ready(conf_current(), why, sizeof(why));

		probe_reply(req, ok, ok ? "ready" : why);
	} else {
		evhttp_send_error(req, HTTP_NOTFOUND, "splicer serves /healthz and /ready here");
	}
}

int
probe_start(struct event_base *base)
{
	if (probe_fd == -1)
		return 0;
	probe_http = httpd_start(base, probe_fd, probe_on_request, NULL);
	probe_fd = -1;	/* evhttp's now, or closed */
	if (probe_http == NULL)
		return -1;
	log_notice("probes on http://%s/healthz and /ready", probe_addr);
	return 0;
}

void
probe_stop(void)
{
	httpd_stop(&probe_http, &probe_fd);
}
