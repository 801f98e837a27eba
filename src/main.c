/*
 * main: command line, configuration check, quick mode, start-up order,
 * signals and shutdown. Everything else lives in libsplicer.a.
 *
 * Start-up order matters: parse and check everything first (exit 1 on
 * any error), then bind (exit 2 naming the address), then daemonize,
 * drop privileges, and only then create the event loops and the worker
 * threads, which must not cross a fork nor a change of user.
 *
 * The main thread is the control thread (worker.h): it owns the signals,
 * the health checks and reloads, and carries no session.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "admin.h"
#include "backend.h"
#include "clock.h"
#include "conf_check.h"
#include "conf_parse.h"
#include "engine.h"
#include "health.h"
#include "heartbeat.h"
#include "listener.h"
#include "log.h"
#include "metrics.h"
#include "statspage.h"
#include "notify.h"
#include "pidfile.h"
#include "pipe_pool.h"
#include "priv.h"
#include "probe.h"
#include "resolvers.h"
#include "session.h"
#include "stats_file.h"
#include "worker.h"

#define EXIT_CONF  1	/* configuration error */
#define EXIT_START 2	/* start-up failure: bind, privileges */

/* fds kept aside from the session budget: stdio, logs, listeners,
 * eventfds; the pools' empty pipes are added to it. */
#define FD_RESERVE 64

static struct event_base *main_base;
static struct event *hard_stop_timer;
static struct event *grace_timer;
static int main_grace;			/* 0: not begun, 1: running, 2: over */
static int main_stopping;
static struct conf *main_conf;		/* the configuration new sessions use */
static const char **main_files;		/* -f files, re-read on SIGHUP */
static int main_nfiles;
static const char *main_quick[4];	/* quick mode: listen, upstream, engine, rate */
static struct metrics_process main_proc;	/* start time, reloads (show info, metrics) */
static unsigned int main_nthreads;	/* worker threads */
static unsigned int main_exited;	/* workers whose loop ended */
static unsigned long main_user_pages;	/* pipe-user-pages-soft, read before chroot */
static int main_last_reload_ok = -1;	/* -1: none yet */
static unsigned int main_maxconn_fds;	/* the most the fd limit allows */

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: splicer -f FILE [-f FILE ...] [-c] [-d] [-D] [-p PIDFILE]\n"
	    "       splicer --listen ADDR:PORT --upstream ADDR:PORT [--engine E]\n"
	    "               [--bandwidth-limit RATE] [-d]\n"
	    "       splicer -V | --version\n"
	    "\n"
	    "  -f FILE    read this configuration file (repeatable, read in order)\n"
	    "  -c         check the configuration and exit (0: valid, 1: errors)\n"
	    "  -d         stay in the foreground with debug logging on stderr\n"
	    "  -D         run in the background\n"
	    "  -p FILE    write the process id to FILE\n"
	    "  --listen ADDR:PORT --upstream ADDR:PORT\n"
	    "             quick mode: relay one address to another, no file needed\n"
	    "  --engine splice|copy|sockmap|auto  data path in quick mode (default auto)\n"
	    "  --bandwidth-limit RATE      quick mode: each session at most RATE each\n"
	    "             way (e.g. 10mbps, 5MB)\n");
}

/* Quick mode: the same parser reads a configuration made from flags. */
static int
main_quick_conf(struct conf *c, const char *listen, const char *upstream,
    const char *engine, const char *rate, struct conf_msgs *errs, struct conf_msgs *warns)
{
	char buf[1024];
	int n;

	n = snprintf(buf, sizeof(buf),
	    "global\n"
	    "    log stderr local0 info\n"
	    "listen quick\n"
	    "    bind \"%s\"\n"
	    "    server upstream \"%s\"\n"
	    "    engine \"%s\"\n"
	    "    option tcplog\n"
	    "    log global\n"
	    "    timeout connect 5s\n"
	    "%s%s%s%s%s",
	    listen, upstream, engine != NULL ? engine : "auto",
	    rate != NULL ? "    bandwidth-limit upload \"" : "", rate != NULL ? rate : "",
	    rate != NULL ? "\" per-connection\n    bandwidth-limit download \"" : "",
	    rate != NULL ? rate : "", rate != NULL ? "\" per-connection\n" : "");
	if (n < 0 || (size_t)n >= sizeof(buf)) {
		conf_msgs_add(errs, "quick mode: arguments too long");
		return 1;
	}
	return conf_parse_buffer(c, "(command line)", buf, (size_t)n, errs, warns);
}

/*
 * Without "maxconn", take what the fd limit allows: an idle session holds
 * two fds; a busy spliced one two more per pipe, and when pipes run out
 * flows fall back to copy rather than fail. With a maxconn above the
 * budget, say so with the numbers, as HAProxy does.
 */
static unsigned int
main_maxconn(const struct conf *c)
{
	struct rlimit rl;
	unsigned long long budget, reserve = FD_RESERVE + 2ULL * PIPE_POOL_KEEP * main_nthreads;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		rl.rlim_cur = 1024;
	if (c->global.ulimit_n != 0) {
		/* "ulimit-n": that limit, as HAProxy; raising the hard one needs
		 * CAP_SYS_RESOURCE, and without it we go on with what we have. */
		struct rlimit want = { c->global.ulimit_n,
		    rl.rlim_max > c->global.ulimit_n ? rl.rlim_max : c->global.ulimit_n };

		if (setrlimit(RLIMIT_NOFILE, &want) == 0)
			rl = want;
		else
			log_warning("ulimit-n %u: cannot set the fd limit: %s; it stays at %llu",
			    c->global.ulimit_n, strerror(errno), (unsigned long long)rl.rlim_cur);
	} else if (rl.rlim_cur < rl.rlim_max) {
		/* Use the hard limit when we may: sessions are fds. */
		struct rlimit up = { rl.rlim_max, rl.rlim_max };

		if (setrlimit(RLIMIT_NOFILE, &up) == 0)
			rl.rlim_cur = rl.rlim_max;
	}
	budget = rl.rlim_cur > reserve * 2 ? (rl.rlim_cur - reserve) / 2 : 1;
	main_maxconn_fds = (unsigned int)budget;
	if (c->global.maxconn == 0) {
		log_debug("maxconn %llu (from the fd limit %llu)", budget,
		    (unsigned long long)rl.rlim_cur);
		return (unsigned int)budget;
	}
	if (c->global.maxconn > budget)
		log_warning("maxconn %u needs %u fds but the fd limit is %llu: at most %llu "
		    "sessions can be open at once (raise 'ulimit -n')", c->global.maxconn,
		    c->global.maxconn * 2 + (unsigned int)reserve, (unsigned long long)rl.rlim_cur,
		    budget);
	return c->global.maxconn;
}

/* What each worker carried, for the last lines of the log. */
static void
main_log_totals(void)
{
	struct session_stats st;
	struct pipe_pool_stats ps;
	struct engine_kernel_stats ks;

	for (unsigned int i = 0; i < worker_count(); i++) {
		struct pipe_pool_stats wp = { 0 };

		session_stats_of(i, &st);
		pipe_pool_add_stats(worker_pool(worker_get(i)), &wp);
		log_notice("thread %u: %" PRIu64 " sessions, %" PRIu64 " bytes up, %" PRIu64
		    " bytes down, %" PRIu64 " pipes created, %" PRIu64 " fallbacks to copy",
		    i, st.sessions, st.bytes_up, st.bytes_down, wp.created, wp.fallbacks);
	}
	session_sum_stats(&st);
	worker_sum_pools(&ps);
	log_notice("total: %" PRIu64 " sessions, %" PRIu64 " bytes up, %" PRIu64
	    " bytes down, %" PRIu64 " pipes created, %" PRIu64 " gets failed, %" PRIu64
	    " fallbacks to copy", st.sessions, st.bytes_up, st.bytes_down, ps.created,
	    ps.failed, ps.fallbacks);
	engine_kernel_stats(&ks);
	log_notice("engines: %" PRIu64 " sessions splice, %" PRIu64 " copy, %" PRIu64
	    " sockmap; %llu flows handed to the kernel (%llu refused, %llu reset for "
	    "a segment the kernel doubled), %llu bytes redirected by it, %llu overlapping "
	    "skbs trimmed (%llu old bytes)",
	    st.by_engine[ENGINE_SPLICE], st.by_engine[ENGINE_COPY],
	    st.by_engine[ENGINE_SOCKMAP], ks.promoted, ks.failed, ks.doubled, ks.bytes,
	    ks.overlaps, ks.old_bytes);
}

/* "show info" (admin_stat.c): what only main knows of the process. */
static void
main_show_info(struct admin_facts *f)
{
	f->started_us = main_proc.started_us;
	f->reloads = main_proc.reloads;
	f->reloads_failed = main_proc.reloads_failed;
	f->stopping = main_stopping;
	f->last_reload = main_last_reload_ok < 0 ? "none" : main_last_reload_ok ? "succeeded" :
	    "failed";
	f->maxconn_max = main_maxconn_fds;
}

/* May a session of c use the sockmap engine (engine sockmap or auto,
 * the default, and no "nosockmap")? */
static int
main_wants_sockmap(const struct conf *c)
{
	if (c->global.nosockmap)
		return 0;
	for (const struct conf_proxy *px = c->proxies; px != NULL; px = px->next) {
		if (px->engine != CONF_ENGINE_SPLICE && px->engine != CONF_ENGINE_COPY)
			return 1;
	}
	return 0;
}

/*
 * Load the sockmap engine's BPF program when c may use it: at start,
 * before privileges go, and at a reload that asks for it the first time.
 * When it cannot be had, one line says why, and sessions use splice.
 */
static void
main_sockmap(const struct conf *c, const char *when)
{
	if (!main_wants_sockmap(c) || engine_sockmap_available())
		return;
	if (engine_sockmap_load() == 0)
		log_info("%ssockmap engine ready", when);
	else
		log_warning("%ssockmap engine unavailable, sessions use splice: %s", when,
		    engine_sockmap_why());
}

/* What the workers' wake-ups do: main.c is the one file that knows both
 * the worker and the layers above it. */
static const struct worker_hooks main_worker_hooks = {
	.sync = listener_sync,
	.stop_accepting = listener_close_own,
	.resume = listener_resume_own,
	.kill = session_kill_all,
	.live = session_count,
};

/* Every worker closes its listeners and sessions now and ends. */
static void
main_stop(const char *why)
{
	worker_set_kill_reason(why);
	heartbeat_stopping();
	worker_signal_all(WORKER_F_KILL);
}

/* A worker's loop ended; the control loop ends with the last one. */
static void
main_on_worker_exit(void)
{
	if (++main_exited == worker_count())
		event_base_loopexit(main_base, NULL);
}

static void
main_on_hard_stop(evutil_socket_t fd, short what, void *arg)
{
	log_notice("hard-stop-after expired with %u sessions; closing them",
	    session_live_all());
	main_stop("hard-stop-after expired");
}

/* Stop accepting; end once the sessions are gone, or at hard-stop-after. */
static void
main_graceful(const struct conf *c, const char *sig)
{
	struct timeval tv;

	if (main_stopping)
		return;
	main_stopping = 1;
	heartbeat_stopping();
	worker_signal_all(WORKER_F_DRAIN);
	/* Say "stopped accepting" once it is true: each worker closes its
	 * listeners in its wake handler, which has run to its end once the
	 * worker parks for a second isolation (or has exited). */
	for (int i = 0; i < 2; i++) {
		worker_isolate();
		worker_release();
	}
	log_notice("%s: stopped accepting; waiting for %u sessions", sig, session_live_all());
	if (c->global.hard_stop_after != 0) {
		tv.tv_sec = (time_t)(c->global.hard_stop_after / 1000000);
		tv.tv_usec = (suseconds_t)(c->global.hard_stop_after % 1000000);
		evtimer_add(hard_stop_timer, &tv);
	}
}

/* May this process size pipes past pipe-user-pages-soft? (CAP_SYS_RESOURCE
 * or CAP_SYS_ADMIN in the effective set, as the kernel checks.) */
static int
main_pipe_privileged(void)
{
	char line[256];
	uint64_t eff = 0;
	FILE *f = fopen("/proc/self/status", "r");

	if (f == NULL)
		return geteuid() == 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "CapEff: %" SCNx64, &eff) == 1)
			break;
	}
	fclose(f);
	return (eff & (1ULL << 24 | 1ULL << 21)) != 0;
}

static unsigned long
main_read_user_pages(void)
{
	unsigned long v = 0;
	FILE *f = fopen("/proc/sys/fs/pipe-user-pages-soft", "r");

	if (f != NULL) {
		if (fscanf(f, "%lu", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v;
}

/* tune.pipesize and maxpipes as they can be honoured by this process. */
static void
main_pipe_plan(const struct conf *c, unsigned int maxconn, struct pipe_pool_plan *plan)
{
	char note[512];

	pipe_pool_plan(plan, c->global.pipesize, c->global.maxpipes_set ?
	    c->global.maxpipes : 0, maxconn, main_user_pages, main_pipe_privileged(),
	    note, sizeof(note));
	if (c->global.maxpipes_set && c->global.maxpipes == 0) {
		plan->maxpipes = 0;
		plan->keep = 0;
		snprintf(note, sizeof(note), "pipes: none (maxpipes 0): every flow uses the "
		    "copy engine");
	}
	log_notice("%s", note);
}

/* Parse and check the configuration files (or quick mode flags) into a
 * new tree; returns it, or NULL with every message in errs. */
static struct conf *
main_load(struct conf_msgs *errs, struct conf_msgs *warns)
{
	struct conf *c = conf_new();
	int nerr = 0;

	if (c == NULL)
		return NULL;
	if (main_quick[0] != NULL)
		nerr += main_quick_conf(c, main_quick[0], main_quick[1], main_quick[2], main_quick[3],
		    errs, warns);
	for (int i = 0; i < main_nfiles; i++)
		nerr += conf_parse_file(c, main_files[i], errs, warns);
	if (nerr == 0)
		nerr += conf_check(c, CONF_CHECK_F_RESOLVE, errs, warns);
	if (nerr > 0) {
		conf_free(c);
		return NULL;
	}
	return c;
}

/* Do two configurations declare the same admin sockets, metrics address
 * and stats file (which a reload does not change)? */
static int
main_same_stats(const struct conf_global *x, const struct conf_global *y)
{
	const struct conf_admin *a = x->admins, *b = y->admins;

	for (; a != NULL && b != NULL; a = a->next, b = b->next) {
		if (strcmp(a->path, b->path) != 0 || a->mode != b->mode || a->uid != b->uid ||
		    a->gid != b->gid || a->level != b->level)
			return 0;
	}
	if (a != NULL || b != NULL || (x->metrics == NULL) != (y->metrics == NULL) ||
	    (x->stats_file == NULL) != (y->stats_file == NULL) ||
	    (x->health == NULL) != (y->health == NULL))
		return 0;
	if (x->health != NULL && (x->health->len != y->health->len ||
	    memcmp(&x->health->ss, &y->health->ss, x->health->len) != 0))
		return 0;
	if (x->metrics != NULL && (x->metrics->len != y->metrics->len ||
	    memcmp(&x->metrics->ss, &y->metrics->ss, x->metrics->len) != 0))
		return 0;
	return x->stats_file == NULL || strcmp(x->stats_file, y->stats_file) == 0;
}

/*
 * SIGHUP: a valid configuration takes effect for new sessions
 * at once, sessions in progress keep theirs, and listening sockets whose
 * address stays are kept so that no client is refused. An invalid one is
 * logged, every error of it, and the running one stays.
 */
static void
main_reload(void)
{
	struct conf_msgs errs = { 0 }, warns = { 0 };
	unsigned int kept, opened, closed, maxconn, continuing = 0;
	struct conf *n, *old = main_conf;
	struct pipe_pool_plan plan;
	char err[512];

	notify_reloading();
	if ((n = main_load(&errs, &warns)) == NULL)
		goto failed;
	for (int i = 0; i < warns.n; i++)
		log_warning("reload: %s", warns.msg[i]);
	if (!main_same_stats(&old->global, &n->global))
		log_warning("reload: the 'stats' lines changed; the admin sockets, metrics "
		    "address and stats file stay as they were started until splicer restarts");
	if (statspage_changed(n))
		log_warning("reload: the stats page proxies changed; the pages stay as they "
		    "were started until splicer restarts");
	maxconn = main_maxconn(n);
	if (log_open(n->global.logs, err, sizeof(err)) == -1)
		goto failed_msg;
	for (struct conf_proxy *px = n->proxies; px != NULL; px = px->next) {
		if (log_open(px->logs, err, sizeof(err)) == -1)
			goto failed_msg;
	}
	backend_init(n);	/* n is not visible to the workers yet */
	main_pipe_plan(n, maxconn, &plan);
	/* New addresses are bound (and their owners looked up in /proc)
	 * while the workers still serve; nothing changes if one fails. */
	if (listener_reload_prepare(n, &opened, err, sizeof(err)) == -1)
		goto failed_msg;
	/* The switch happens while no worker runs: listeners change
	 * frontend, the current tree changes, with nothing in between. */
	worker_isolate();
	main_sockmap(n, "reload: ");	/* no worker looks meanwhile */
	listener_reload_commit(maxconn, &kept, &closed);
	pipe_pool_configure(&plan);
	log_set_global(n->global.logs);
	/* Counted while old is still current: its sessions are its
	 * references less the one of being current. */
	continuing = conf_sessions(old);
	main_conf = n;
	conf_set_current(n);
	conf_retire(old);	/* freed with its last session */
	worker_signal_all(WORKER_F_SYNC);
	worker_release();
	health_stop();
	if (health_start(main_base, n) == -1)
		log_err("reload: cannot start the health checks");
	resolvers_stop();
	if (resolvers_start(main_base, n) == -1)
		log_err("reload: cannot start the resolvers");
	main_proc.reloads++;
	main_last_reload_ok = 1;
	stats_file_set_reloads(main_proc.reloads);
	log_notice("reload #%u succeeded: %u addresses kept, %u opened, %u closed; %u "
	    "sessions continue with the previous configuration", main_proc.reloads,
	    kept, opened, closed, continuing);
	snprintf(err, sizeof(err), "reload #%u succeeded", main_proc.reloads);
	notify_reloaded(err);
	conf_msgs_free(&errs);
	conf_msgs_free(&warns);
	return;
failed_msg:
	conf_msgs_add(&errs, "%s", err);
	conf_free(n);	/* closes the logs it opened */
failed:
	for (int i = 0; i < errs.n; i++)
		log_err("reload: %s", errs.msg[i]);
	main_proc.reloads++;
	main_proc.reloads_failed++;
	stats_file_set_reloads(main_proc.reloads);
	main_last_reload_ok = 0;
	log_err("reload #%u failed (%d error%s): the running configuration stays",
	    main_proc.reloads, errs.n, errs.n == 1 ? "" : "s");
	snprintf(err, sizeof(err), "reload #%u failed: %s", main_proc.reloads,
	    errs.n > 0 ? errs.msg[0] : "see the log");
	notify_reloaded(err);
	conf_msgs_free(&errs);
	conf_msgs_free(&warns);
}

static void main_on_signal(evutil_socket_t sig, short what, void *arg);

static void
main_on_grace(evutil_socket_t fd, short what, void *arg)
{
	main_grace = 2;
	main_on_signal((evutil_socket_t)(intptr_t)arg, 0, NULL);
}

/*
 * "grace": at SIGTERM or SIGUSR1, /ready turns 503 at once but the
 * listeners stay open for that long, so that clients still sent here (a
 * load balancer that has not yet seen the probe) are served; then the
 * stop proceeds. Returns 1 while the grace runs (the signal is held).
 */
static int
main_hold_for_grace(const struct conf *c, int sig)
{
	struct timeval tv;

	if (main_grace == 1 && sig != SIGHUP) {
		log_notice("%s during grace: stopping now", strsignal(sig));
		event_del(grace_timer);
		main_grace = 2;
		return 0;
	}
	if (main_grace == 1)
		return 1;	/* no reload while stopping */
	if (main_grace != 0 || c->global.grace == 0 || main_stopping ||
	    (sig != SIGTERM && sig != SIGUSR1))
		return 0;
	main_grace = 1;
	tv.tv_sec = (time_t)(c->global.grace / 1000000);
	tv.tv_usec = (suseconds_t)(c->global.grace % 1000000);
	grace_timer = evtimer_new(main_base, main_on_grace, (void *)(intptr_t)sig);
	if (grace_timer == NULL || evtimer_add(grace_timer, &tv) == -1) {
		log_err("%s: cannot arm the grace timer; stopping now", strsignal(sig));
		main_grace = 2;
		return 0;
	}
	log_notice("%s: not ready (/ready answers 503); listeners stay open for %.3f s of grace",
	    strsignal(sig), (double)c->global.grace / 1e6);
	return 1;
}

static void
main_on_signal(evutil_socket_t sig, short what, void *arg)
{
	const struct conf *c = main_conf;

	if (sig != SIGHUP) {
		const char *name = sig == SIGTERM ? "SIGTERM" : sig == SIGINT ? "SIGINT" : "SIGUSR1";

		notify_stopping(name);
		probe_set_stopping(name);
	}
	if (main_hold_for_grace(c, (int)sig))
		return;
	switch (sig) {
	case SIGTERM:
	case SIGINT:
		/* Close sessions after at most hard-stop-after (0: now). */
		if (c->global.hard_stop_after == 0 || main_stopping) {
			log_notice("%s: stopping", strsignal((int)sig));
			main_stopping = 1;
			main_stop("process stopping");
		} else {
			main_graceful(c, strsignal((int)sig));
		}
		break;
	case SIGUSR1:
		main_graceful(c, "SIGUSR1");
		break;
	case SIGHUP:
		if (!main_stopping)
			main_reload();
		break;
	}
}

static int
main_daemonize(void)
{
	pid_t pid;
	int fd;

	if ((pid = fork()) == -1)
		return -1;
	if (pid > 0)
		_exit(0);
	if (setsid() == -1)
		return -1;
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	return 0;
}

/* What the command line asks. */
struct main_args {
	const char *files[64];		/* -f, in order */
	int nfiles;
	const char *pidfile;		/* -p */
	const char *listen, *upstream, *engine, *rate;	/* quick mode */
	int check, debug, daemonize;	/* -c, -d, -D */
};

/* Do the options make one sensible request? 0, or the exit status with
 * the complaint printed. */
static int
main_check_args(const struct main_args *a)
{
	if ((a->listen != NULL) != (a->upstream != NULL)) {
		fprintf(stderr, "splicer: quick mode needs both --listen and --upstream\n");
		return EXIT_CONF;
	}
	if (a->nfiles == 0 && a->listen == NULL) {
		usage(stderr);
		return EXIT_CONF;
	}
	if ((a->engine != NULL || a->rate != NULL) && a->listen == NULL) {
		fprintf(stderr, "splicer: --engine and --bandwidth-limit belong to quick mode "
		    "(--listen/--upstream); with -f, set them in the file\n");
		return EXIT_CONF;
	}
	if (a->nfiles > 0 && a->listen != NULL) {
		fprintf(stderr, "splicer: use either -f or --listen/--upstream, not both\n");
		return EXIT_CONF;
	}
	return 0;
}

/* Read argv into a. Returns -1 to go on, or the exit status: -V and -h
 * are answered here, and a usage error is printed. */
static int
main_parse_args(int argc, char **argv, struct main_args *a)
{
	static const struct option longopts[] = {
		{ "listen",          required_argument, NULL, 'L' },
		{ "upstream",        required_argument, NULL, 'U' },
		{ "engine",          required_argument, NULL, 'E' },
		{ "bandwidth-limit", required_argument, NULL, 'B' },
		{ "version",         no_argument,       NULL, 'V' },
		{ "help",            no_argument,       NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "f:cdDp:Vh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'f':
			if (a->nfiles == (int)(sizeof(a->files) / sizeof(*a->files))) {
				fprintf(stderr, "splicer: too many -f options\n");
				return EXIT_CONF;
			}
			a->files[a->nfiles++] = optarg;
			break;
		case 'c': a->check = 1; break;
		case 'd': a->debug = 1; break;
		case 'D': a->daemonize = 1; break;
		case 'p': a->pidfile = optarg; break;
		case 'L': a->listen = optarg; break;
		case 'U': a->upstream = optarg; break;
		case 'E': a->engine = optarg; break;
		case 'B': a->rate = optarg; break;
		case 'V':
			printf("splicer %s\nengines: splice copy%s\nservice: %s\nuser: %s\n"
			    "sockmap: %s\n",
			    PACKAGE_VERSION,
#ifdef ENABLE_BPF
			    " sockmap",
#else
			    " (sockmap: built without BPF)",
#endif
			    notify_build(), priv_build(), engine_sockmap_build());
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_CONF;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "splicer: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return EXIT_CONF;
	}
	return main_check_args(a) != 0 ? EXIT_CONF : -1;
}

/* The services on the control loop's sockets, stopped once. */
static void
main_stop_services(void)
{
	probe_stop();
	admin_stop();
	metrics_stop();
	statspage_stop();
	stats_file_stop();
}

static void
main_close_logs(struct conf *c)
{
	log_set_global(NULL);
	log_close(c->global.logs);
	for (struct conf_proxy *px = c->proxies; px != NULL; px = px->next)
		log_close(px->logs);
}

/* Open every target of c's log lines; 0, or -1 with err set. */
static int
main_open_logs(struct conf *c, char *err, size_t errlen)
{
	for (struct conf_proxy *px = c->proxies; px != NULL; px = px->next) {
		if (log_open(px->logs, err, errlen) == -1)
			return -1;
	}
	log_set_global(c->global.logs);
	return 0;
}

/*
 * What needs root and, for its errors, the terminal: the pidfile lock,
 * the listening sockets, the daemon's fork, the logs, the sockets of the
 * admin, metrics, probe and stats file, the sockmap program; then the
 * privileges go. 0, or EXIT_START with what it opened closed again.
 */
static int
main_open(struct conf *c, const struct main_args *a, unsigned int maxconn)
{
	char err[512];

	if (pidfile_lock(a->pidfile != NULL ? a->pidfile : c->global.pidfile, err,
	    sizeof(err)) == -1 ||
	    listener_bind_all(c, maxconn, main_nthreads, session_accept, err, sizeof(err)) == -1) {
		fprintf(stderr, "[ALERT] %s\n", err);
		return EXIT_START;
	}
	if ((a->daemonize || c->global.daemon) && !a->debug && main_daemonize() == -1) {
		fprintf(stderr, "[ALERT] cannot daemonize: %s\n", strerror(errno));
		goto out_listeners;
	}
	pidfile_write();
	if (log_open(c->global.logs, err, sizeof(err)) == -1) {
		fprintf(stderr, "[ALERT] %s\n", err);
		goto out_listeners;
	}
	if (main_open_logs(c, err, sizeof(err)) == -1) {
		fprintf(stderr, "[ALERT] %s\n", err);
		goto out_logs;
	}
	main_sockmap(c, "");
	if (admin_bind(c, err, sizeof(err)) == -1 || metrics_bind(c, err, sizeof(err)) == -1 ||
	    statspage_bind(c, err, sizeof(err)) == -1 ||
	    probe_bind(c, err, sizeof(err)) == -1 || stats_file_open(c, err, sizeof(err)) == -1 ||
	    /* Give up root once the sockets and logs are open. */
	    notify_check_chroot(c->global.chroot, err, sizeof(err)) == -1 ||
	    priv_drop(c->global.chroot, (uid_t)c->global.uid, (gid_t)c->global.gid, err,
	    sizeof(err)) == -1) {
		log_alert("%s", err);
		goto out_logs;
	}
	if (c->global.uid != -1 || c->global.chroot != NULL)
		log_notice("running as uid %lld gid %lld%s%s", c->global.uid, c->global.gid,
		    c->global.chroot ? ", chroot " : "", c->global.chroot ? c->global.chroot : "");
	return 0;
out_logs:
	main_stop_services();
	main_close_logs(c);
out_listeners:
	listener_free_all();
	return EXIT_START;
}

/* The control loop's watchers and services, then the workers. 0, or -1
 * with the reason logged. */
static int
main_start(struct conf *c, unsigned int maxconn, struct event *sigs[4])
{
	static const int signums[4] = { SIGTERM, SIGINT, SIGUSR1, SIGHUP };
	struct pipe_pool_plan plan;

	if (worker_init(main_nthreads, main_base, &main_worker_hooks) == -1) {
		log_alert("cannot create the worker threads' event loops");
		return -1;
	}
	worker_on_exit(main_on_worker_exit);
	main_pipe_plan(c, maxconn, &plan);
	pipe_pool_configure(&plan);
	hard_stop_timer = evtimer_new(main_base, main_on_hard_stop, NULL);
	for (int i = 0; i < 4; i++) {
		sigs[i] = evsignal_new(main_base, signums[i], main_on_signal, c);
		if (sigs[i] == NULL || evsignal_add(sigs[i], NULL) == -1) {
			log_alert("cannot watch signal %d", signums[i]);
			return -1;
		}
	}
	main_proc.started_us = clock_now_us();
	if (admin_start(main_base, main_show_info, main_maxconn_fds) == -1 ||
	    metrics_start(main_base, &main_proc) == -1 || probe_start(main_base) == -1 ||
	    statspage_start(main_base) == -1 ||
	    stats_file_start(main_base) == -1) {
		log_alert("cannot watch the admin sockets or the metrics address");
		return -1;
	}
	if (health_start(main_base, c) == -1) {
		log_alert("cannot start the health checks");
		return -1;
	}
	if (resolvers_start(main_base, c) == -1) {
		log_alert("cannot start the resolvers");
		return -1;
	}
	if (worker_start(c->global.pipe_prealloc) == -1) {
		main_stop("cannot start every worker thread");
		worker_join_all();
		return -1;
	}
	return 0;
}

/* Run until stopped, then take everything of the run down. 0, or
 * EXIT_START when it could not start. */
static int
main_run(struct conf *c, unsigned int maxconn)
{
	struct event *sigs[4] = { NULL };
	int rc = EXIT_START;

	if ((main_base = event_base_new()) == NULL) {
		log_alert("cannot create the event loop");
		main_stop_services();
		listener_free_all();
		return EXIT_START;
	}
	if (main_start(c, maxconn, sigs) == -1)
		goto out;
	if (heartbeat_start(main_base) == -1)
		log_warning("cannot arm the workers' heartbeat: /healthz will not see a stuck worker");
	log_notice("splicer %s started (pid %d, maxconn %u, %u worker thread%s)",
	    PACKAGE_VERSION, (int)getpid(), maxconn, worker_count(),
	    worker_count() == 1 ? "" : "s");
	if (notify_ready(main_base, listener_actconn, heartbeat_alive) == -1)
		log_warning("cannot arm the systemd status and watchdog timers");

	event_base_dispatch(main_base);
	worker_join_all();
	main_log_totals();
	engine_sockmap_unload();
	log_notice("stopped");
	rc = 0;
out:
	for (int i = 0; i < 4; i++) {
		if (sigs[i] != NULL)
			event_free(sigs[i]);
	}
	if (hard_stop_timer != NULL)
		event_free(hard_stop_timer);
	if (grace_timer != NULL)
		event_free(grace_timer);
	notify_stop();
	heartbeat_stop();
	health_stop();
	resolvers_stop();
	main_stop_services();
	listener_free_all();
	worker_free_all();
	backend_cleanup();
	event_base_free(main_base);
	return rc;
}

/* Load the configuration and print its messages: NULL when it is not
 * valid (*nerr errors). */
static struct conf *
main_load_report(struct conf_msgs *errs, struct conf_msgs *warns, int *nerr)
{
	struct conf *c = main_load(errs, warns);

	for (int i = 0; i < warns->n; i++)
		fprintf(stderr, "[WARNING] %s\n", warns->msg[i]);
	for (int i = 0; i < errs->n; i++)
		fprintf(stderr, "[ALERT] %s\n", errs->msg[i]);
	if (c == NULL) {
		*nerr = errs->n > 0 ? errs->n : 1;
		fprintf(stderr, "[ALERT] %d error%s: the configuration is not valid\n", *nerr,
		    *nerr == 1 ? "" : "s");
	}
	return c;
}

int
main(int argc, char **argv)
{
	struct main_args a = { .nfiles = 0 };
	struct conf_msgs errs = { 0 }, warns = { 0 };
	struct conf *c;
	unsigned int maxconn;
	int nerr = 0, rc;

	if ((rc = main_parse_args(argc, argv, &a)) != -1)
		return rc;
	log_init(a.debug);
	main_files = a.files;
	main_nfiles = a.nfiles;
	main_quick[0] = a.listen;
	main_quick[1] = a.upstream;
	main_quick[2] = a.engine;
	main_quick[3] = a.rate;
	if ((c = main_load_report(&errs, &warns, &nerr)) == NULL) {
		c = conf_new();
		rc = EXIT_CONF;
		goto out;
	}
	if (a.check) {
		printf("Configuration file is valid\n");
		rc = 0;
		goto out;
	}

	backend_init(c);
	main_conf = c;
	conf_set_current(c);
	/* splice(2) has no MSG_NOSIGNAL: a write to a reset peer must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	main_nthreads = worker_wanted(c->global.nbthread);
	main_user_pages = main_read_user_pages();
	maxconn = main_maxconn(c);
	if ((rc = main_open(c, &a, maxconn)) != 0)
		goto out;
	rc = main_run(c, maxconn);
	/* Reloads may have replaced the tree: clean up with the current one
	 * (older ones were freed with their last session, or are below). */
	c = main_conf;
	main_close_logs(c);
out:
	conf_msgs_free(&errs);
	conf_msgs_free(&warns);
	if (c == main_conf)
		conf_retire(c);	/* every session is gone: frees it */
	else
		conf_free(c);
	return rc;
}
