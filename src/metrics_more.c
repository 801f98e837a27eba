/*
 * metrics_more: see metrics_more.h. Names follow HAProxy's exporter where
 * the figure is the same (max_sessions is the peak, limit_sessions the
 * limit; check_failures, downtime, aborts, retries, redispatches).
 */
#include "config.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "metrics_more.h"

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

/* A sample whose value is a fraction (seconds). */
static void
sample_f(struct evbuffer *b, const char *name, const char *be, const char *srv, double v)
{
	evbuffer_add_printf(b, "%s{backend=\"", name);
	for (const char *p = be; *p != '\0'; p++)
		evbuffer_add_printf(b, *p == '"' || *p == '\\' ? "\\%c" : "%c", *p);
	evbuffer_add(b, "\",server=\"", 10);
	for (const char *p = srv; *p != '\0'; p++)
		evbuffer_add_printf(b, *p == '"' || *p == '\\' ? "\\%c" : "%c", *p);
	evbuffer_add_printf(b, "\"} %.6f\n", v);
}

/* HAProxy's state names: UP, DOWN, MAINT, DRAIN (admin or agent), NOLB
 * (a 404 with disable-on-404). */
static const char *
server_state(const struct conf_server *s)
{
	switch (LOAD(s->state)) {
	case CONF_SRV_UP: return "UP";
	case CONF_SRV_DOWN: return "DOWN";
	case CONF_SRV_MAINT: return "MAINT";
	default: return LOAD(s->check_nolb) && LOAD(s->admin) != CONF_ADM_DRAIN &&
		    LOAD(s->agent_admin) != CONF_ADM_DRAIN ? "NOLB" : "DRAIN";
	}
}

static void
servers_state(struct evbuffer *b, const struct conf *c)
{
	static const char *const states[] = { "UP", "DOWN", "MAINT", "DRAIN", "NOLB" };

	metrics_family(b, "splicer_server_state", "gauge",
	    "1 for the state the server is in (UP, DOWN, MAINT, DRAIN, NOLB), else 0.");
	for (const struct conf_proxy *px = c->proxies; px != NULL; px = px->next) {
		for (const struct conf_server *s = px->servers; s != NULL; s = s->next) {
			const char *now = server_state(s);

			for (size_t i = 0; i < sizeof(states) / sizeof(*states); i++)
				metrics_sample(b, "splicer_server_state", "backend", px->name,
				    "server", s->name, "state", states[i],
				    strcmp(now, states[i]) == 0);
		}
	}
}

enum { SC_CHKFAIL, SC_CHKDOWN, SC_CLI, SC_SRV, SC_RETR, SC_REDISP, SC_ENDED, SC_MAXSESS, SC_N };

static uint64_t
server_counter(const struct conf_server *s, int k)
{
	switch (k) {
	case SC_CHKFAIL: return LOAD(s->chkfail);
	case SC_CHKDOWN: return LOAD(s->chkdown);
	case SC_CLI: return LOAD(s->cli_abrt);
	case SC_SRV: return LOAD(s->srv_abrt);
	case SC_RETR: return LOAD(s->retries);
	case SC_REDISP: return LOAD(s->redispatches);
	case SC_ENDED: return LOAD(s->ended);
	default: return LOAD(s->max_sess);
	}
}

static void
servers_counters(struct evbuffer *b, const struct conf *c)
{
	static const struct { const char *name, *type, *help; } fam[SC_N] = {
		{ "splicer_server_check_failures_total", "counter",
		  "Health checks failed while the server was up." },
		{ "splicer_server_check_down_transitions_total", "counter",
		  "Changes to DOWN or MAINT." },
		{ "splicer_server_client_aborts_total", "counter",
		  "Sessions the client ended during data (termination state CD)." },
		{ "splicer_server_server_aborts_total", "counter",
		  "Sessions the server ended during data (termination state SD)." },
		{ "splicer_server_retries_total", "counter", "Connect tries after the first." },
		{ "splicer_server_redispatches_total", "counter",
		  "Sessions that left this server for another after failed connects." },
		{ "splicer_server_sessions_ended_total", "counter",
		  "Sessions that had this server and ended (the time averages' count)." },
		{ "splicer_server_max_sessions", "gauge", "Most sessions at once (the peak)." },
	};

	for (int k = 0; k < SC_N; k++) {
		metrics_family(b, fam[k].name, fam[k].type, fam[k].help);
		for (const struct conf_proxy *px = c->proxies; px != NULL; px = px->next) {
			for (const struct conf_server *s = px->servers; s != NULL; s = s->next)
				metrics_sample(b, fam[k].name, "backend", px->name, "server",
				    s->name, NULL, NULL, server_counter(s, k));
		}
	}
}

/* Seconds: since the last state change, down in all, and the time
 * sessions spent (sums, so rate() gives averages; and maxima). */
static void
servers_seconds(struct evbuffer *b, const struct conf *c, uint64_t now)
{
	static const struct { const char *name, *type, *help; } fam[] = {
		{ "splicer_server_last_state_change_seconds", "gauge",
		  "Seconds since the server's state last changed." },
		{ "splicer_server_downtime_seconds_total", "counter",
		  "Seconds spent DOWN or MAINT." },
		{ "splicer_server_queue_time_seconds_total", "counter",
		  "Seconds the ended sessions waited in the backend's queue." },
		{ "splicer_server_connect_time_seconds_total", "counter",
		  "Seconds the ended sessions spent connecting." },
		{ "splicer_server_total_time_seconds_total", "counter",
		  "Seconds the ended sessions lasted." },
		{ "splicer_server_max_queue_time_seconds", "gauge", "Longest wait in the queue." },
		{ "splicer_server_max_connect_time_seconds", "gauge", "Longest connect." },
		{ "splicer_server_max_total_time_seconds", "gauge", "Longest session." },
	};

	for (size_t k = 0; k < sizeof(fam) / sizeof(*fam); k++) {
		metrics_family(b, fam[k].name, fam[k].type, fam[k].help);
		for (const struct conf_proxy *px = c->proxies; px != NULL; px = px->next) {
			for (const struct conf_server *s = px->servers; s != NULL; s = s->next) {
				uint64_t since = LOAD(s->down_since_us);
				double v[] = {
					(double)(now - LOAD(s->last_change_us)) / 1e6,
					(double)(LOAD(s->downtime_us) + (since ? now - since : 0)) / 1e6,
					(double)LOAD(s->qtime_ms) / 1e3, (double)LOAD(s->ctime_ms) / 1e3,
					(double)LOAD(s->ttime_ms) / 1e3, (double)LOAD(s->qtime_max) / 1e3,
					(double)LOAD(s->ctime_max) / 1e3, (double)LOAD(s->ttime_max) / 1e3,
				};

				sample_f(b, fam[k].name, px->name, s->name, v[k]);
			}
		}
	}
}

static void
frontends_more(struct evbuffer *b, const struct conf *c)
{
	metrics_family(b, "splicer_frontend_max_sessions", "gauge", "Most sessions at once.");
	for (const struct conf_proxy *px = c->proxies; px != NULL; px = px->next) {
		if (px->cap & CONF_PX_FE)
			metrics_sample(b, "splicer_frontend_max_sessions", "frontend", px->name,
			    NULL, NULL, NULL, NULL, LOAD(px->max_sess));
	}
	metrics_family(b, "splicer_frontend_denied_connections_total", "counter",
	    "Connections refused by tcp-request connection rules.");
	for (const struct conf_proxy *px = c->proxies; px != NULL; px = px->next) {
		if (px->cap & CONF_PX_FE)
			metrics_sample(b, "splicer_frontend_denied_connections_total", "frontend",
			    px->name, NULL, NULL, NULL, NULL, LOAD(px->denied_conn));
	}
	metrics_family(b, "splicer_frontend_terminations_total", "counter",
	    "Sessions ended, by HAProxy's termination state (those seen so far, and --).");
	for (const struct conf_proxy *px = c->proxies; px != NULL; px = px->next) {
		if (!(px->cap & CONF_PX_FE))
			continue;
		for (int t = 0; t < CONF_TERM_SLOTS; t++) {
			uint64_t n = LOAD(px->term[t]);
			char st[3] = { CONF_TERM_FIRST[t / 8], CONF_TERM_SECOND[t % 8], '\0' };

			if (n != 0 || t == 0)
				metrics_sample(b, "splicer_frontend_terminations_total", "frontend",
				    px->name, "state", st, NULL, NULL, n);
		}
	}
}

/* The standard process_* families (Prometheus's client libraries). */
static void
process_families(struct evbuffer *b, uint64_t started_us)
{
	unsigned long utime = 0, stime = 0, vsize = 0;
	long rss = 0, tick = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	unsigned int fds = 0;
	struct rlimit rl = { 0 };
	struct timespec wall;
	FILE *f = fopen("/proc/self/stat", "re");
	DIR *d = opendir("/proc/self/fd");
	char line[1024], *p;

	if (f != NULL && fgets(line, sizeof(line), f) != NULL && (p = strrchr(line, ')')) != NULL)
		(void)sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %*d %*d "
		    "%*d %*d %*d %*d %*u %lu %ld", &utime, &stime, &vsize, &rss);
	if (f != NULL)
		fclose(f);
	for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL;)
		fds += e->d_name[0] != '.';
	if (d != NULL)
		closedir(d);
	(void)getrlimit(RLIMIT_NOFILE, &rl);
	clock_gettime(CLOCK_REALTIME, &wall);
	evbuffer_add_printf(b, "# HELP process_cpu_seconds_total Total user and system CPU time "
	    "spent in seconds.\n# TYPE process_cpu_seconds_total counter\n"
	    "process_cpu_seconds_total %.2f\n", tick > 0 ? (double)(utime + stime) / tick : 0.0);
	evbuffer_add_printf(b, "# HELP process_resident_memory_bytes Resident memory size in "
	    "bytes.\n# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes "
	    "%ld\n", rss * page);
	evbuffer_add_printf(b, "# HELP process_virtual_memory_bytes Virtual memory size in bytes."
	    "\n# TYPE process_virtual_memory_bytes gauge\nprocess_virtual_memory_bytes %lu\n", vsize);
	evbuffer_add_printf(b, "# HELP process_open_fds Number of open file descriptors.\n"
	    "# TYPE process_open_fds gauge\nprocess_open_fds %u\n", fds > 0 ? fds - 1 : 0);
	evbuffer_add_printf(b, "# HELP process_max_fds Maximum number of open file descriptors.\n"
	    "# TYPE process_max_fds gauge\nprocess_max_fds %llu\n", (unsigned long long)rl.rlim_cur);
	evbuffer_add_printf(b, "# HELP process_start_time_seconds Start time of the process since "
	    "unix epoch in seconds.\n# TYPE process_start_time_seconds gauge\n"
	    "process_start_time_seconds %.3f\n", (double)wall.tv_sec + wall.tv_nsec / 1e9 -
	    (double)(clock_now_us() - started_us) / 1e6);
}

void
metrics_more(struct evbuffer *b, const struct conf *c, uint64_t started_us)
{
	metrics_family(b, "splicer_build_info", "gauge", "splicer's version; always 1.");
	metrics_sample(b, "splicer_build_info", "version", PACKAGE_VERSION, NULL, NULL, NULL,
	    NULL, 1);
	frontends_more(b, c);
	servers_state(b, c);
	servers_counters(b, c);
	servers_seconds(b, c, clock_now_us());
	process_families(b, started_us);
}
