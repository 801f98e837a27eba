/*
 * admin_info: the fields of "show info", with HAProxy 2.6's positions and
 * names where the meaning is the same (Name says splicer), then splicer's
 * own from position 72 on, after HAProxy's last (Tainted, 71).
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "admin.h"
#include "admin_stat.h"
#include "clock.h"
#include "engine.h"
#include "listener.h"
#include "pipe_pool.h"
#include "session.h"
#include "worker.h"

/* HAProxy's "Uptime": 0d 0h00m01s. */
static void
info_uptime(char *buf, size_t len, uint64_t s)
{
	snprintf(buf, len, "%" PRIu64 "d %" PRIu64 "h%02" PRIu64 "m%02" PRIu64 "s", s / 86400,
	    s / 3600 % 24, s / 60 % 60, s % 60);
}

/* The fields HAProxy has too, at its positions. */
static void
info_haproxy(struct admin_info *i, const struct admin_facts *f, uint64_t up)
{
	struct session_stats st;
	struct pipe_pool_stats ps;
	struct rlimit rl = { 0 };
	char buf[128];

	session_sum_stats(&st);
	worker_sum_pools(&ps);
	(void)getrlimit(RLIMIT_NOFILE, &rl);
	admin_info_s(i, 0, "Name", "POS", "splicer");
	admin_info_s(i, 1, "Version", "POS", PACKAGE_VERSION);
	admin_info_u(i, 3, "Nbthread", "CGS", "u32", worker_count());
	admin_info_u(i, 4, "Nbproc", "CGS", "u32", 1);
	admin_info_u(i, 5, "Process_num", "KGP", "u32", 1);
	admin_info_u(i, 6, "Pid", "SGP", "u32", (uint64_t)getpid());
	info_uptime(buf, sizeof(buf), up);
	admin_info_s(i, 7, "Uptime", "MDP", buf);
	admin_info_u(i, 8, "Uptime_sec", "MDP", "u32", up);
	admin_info_u(i, 13, "Ulimit-n", "CLP", "u32", (uint64_t)rl.rlim_cur);
	admin_info_u(i, 15, "Maxconn", "CLP", "u32", listener_maxconn());
	admin_info_u(i, 16, "Hard_maxconn", "CLP", "u32", f->maxconn_max);
	admin_info_u(i, 17, "CurrConns", "MGP", "u32", listener_actconn());
	admin_info_u(i, 18, "CumConns", "MCP", "u32", st.sessions);
	admin_info_u(i, 24, "PipesUsed", "MGP", "u32", ps.used);
	admin_info_u(i, 25, "PipesFree", "MGP", "u32", ps.free);
	if (gethostname(buf, sizeof(buf)) == 0) {
		buf[sizeof(buf) - 1] = '\0';
		admin_info_s(i, 50, "node", "COS", buf);
	}
	admin_info_u(i, 52, "Stopping", "MGP", "u32", (uint64_t)f->stopping);
	admin_info_u(i, 61, "TotalBytesOut", "MGP", "u64", st.bytes_up + st.bytes_down);
	admin_info_s(i, 66, "Build info", "POS", PACKAGE_VERSION);
	admin_info_u(i, 70, "Start_time_sec", "MDP", "u32", (uint64_t)time(NULL) - up);
}

void
admin_info_fill(struct admin_info *i, const struct admin_facts *f)
{
	struct pipe_pool_stats ps;
	struct engine_kernel_stats ks;
	uint64_t up = (clock_now_us() - f->started_us) / 1000000;

	i->n = i->ntext = 0;
	info_haproxy(i, f, up);
	worker_sum_pools(&ps);
	engine_kernel_stats(&ks);
	admin_info_u(i, 72, "Reloads", "MCP", "u32", f->reloads);
	admin_info_u(i, 73, "ReloadsFailed", "MCP", "u32", f->reloads_failed);
	admin_info_s(i, 74, "LastReload", "SGP", f->last_reload);
	admin_info_s(i, 75, "Sockmap", "SGP", engine_sockmap_available() ? "loaded" : "unavailable");
	admin_info_u(i, 76, "SockmapFlows", "MCP", "u64", ks.promoted);
	admin_info_u(i, 77, "SockmapRefused", "MCP", "u64", ks.failed);
	admin_info_u(i, 78, "SockmapBytes", "MCP", "u64", ks.bytes);
	admin_info_u(i, 79, "SockmapDoubled", "MCP", "u64", ks.doubled);
	admin_info_u(i, 80, "PipesCreated", "MCP", "u64", ps.created);
	admin_info_u(i, 81, "PipeFallbacks", "MCP", "u64", ps.fallbacks);
}



void
admin_info_u(struct admin_info *i, unsigned int pos, const char *name, const char *tags,
    const char *type, uint64_t v)
{
	if (i->n < ADMIN_INFO_MAX)
		i->f[i->n++] = (struct admin_info_field){ pos, name, tags, type, v, NULL };
}

void
admin_info_s(struct admin_info *i, unsigned int pos, const char *name, const char *tags,
    const char *v)
{
	if (i->n >= ADMIN_INFO_MAX || i->ntext >= ADMIN_INFO_TEXTS)
		return;
	snprintf(i->text[i->ntext], sizeof(i->text[0]), "%s", v);
	i->f[i->n++] = (struct admin_info_field){ pos, name, tags, "str", 0, i->text[i->ntext++] };
}

void
admin_info_write(struct evbuffer *out, enum admin_form form, const struct admin_info *i)
{
	const struct admin_info_field *f = i->f;

	if (form == ADMIN_FORM_JSON)
		evbuffer_add(out, "[", 1);
	for (size_t k = 0; k < i->n; k++) {
		if (form != ADMIN_FORM_TEXT) {
			admin_field_out(out, form, "", "", f[k].pos, f[k].name, f[k].tags, f[k].type,
			    f[k].u, f[k].s, k == 0);
			continue;
		}
		evbuffer_add_printf(out, "%s: ", f[k].name);
		if (f[k].s != NULL)
			evbuffer_add(out, f[k].s, strlen(f[k].s));
		else
			evbuffer_add_printf(out, "%" PRIu64, f[k].u);
		evbuffer_add(out, "\n", 1);
	}
	if (form == ADMIN_FORM_JSON)
		evbuffer_add(out, "]\n", 2);
}

