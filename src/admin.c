/*
 * admin: the admin socket's listener, its clients and its commands (those
 * about sessions are in admin_sess.c). See admin.h for the protocol; the
 * command table below is the reference, printed by "help".
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <pthread.h>

#include "admin.h"
#include "admin_sess.h"
#include "admin_stat.h"
#include "admin_table.h"
#include "backend.h"
#include "conf_stats.h"
#include "listener.h"
#include "log.h"
#include "pipe_pool.h"
#include "session.h"
#include "units.h"
#include "worker.h"

/* Longest command line; longer ones are refused. */
#define ADMIN_LINE_MAX	4096
/* Words in one command. */
#define ADMIN_ARGS_MAX	16
/* Commands in one line: a line with more is refused whole. */
#define ADMIN_CMDS_MAX	64
/*
 * An answer waits for a slow reader in bounded memory: commands run, and
 * "show sess" batches are produced, only while the client's unsent output
 * is below ADMIN_OUT_HIGH; production resumes once it drained to
 * ADMIN_OUT_LOW. One batch of a walk is at most ADMIN_WALK_BATCH lines.
 */
#define ADMIN_OUT_HIGH	(64 * 1024)
#define ADMIN_OUT_LOW	(16 * 1024)
#define ADMIN_WALK_BATCH 256

struct admin_sock {
	int fd;
	char *path;
	enum conf_level level;
	struct evconnlistener *lev;
};

struct admin_walk;

struct admin_client {
	struct bufferevent *bev;
	enum conf_level level;
	char *line;			/* the commands still to run (strtok_r) */
	char *save;
	struct admin_walk *walk;	/* the "show sess" being streamed, or NULL */
	int prompt;			/* interactive ("prompt"): "> " after each answer */
	unsigned int ran;		/* commands of the current line run so far */
	int eof;			/* the client sent its FIN: what it sent is all */
	struct admin_client *prev, *next;
};

/*
 * A "show sess" streamed to one client: batches of one worker's sessions
 * (session_walk), each run as a job on that worker and handed back to the
 * control thread through the done list, worker after worker. Only the
 * control thread touches cl, w and in_flight; cur and out belong to
 * whichever thread holds the walk (the lock of the done list hands them
 * over).
 */
struct admin_walk {
	struct worker_job job;
	struct admin_client *cl;	/* NULL once the client left */
	unsigned int w;			/* the worker walked */
	int in_flight;			/* posted, running or in the done list */
	struct session_cursor cur;
	struct evbuffer *out;		/* the batch's lines */
	struct admin_walk *done_next;
};

static struct admin_sock *admin_socks;
static size_t admin_nsocks;
static struct admin_client *admin_clients;
static unsigned int admin_nclients;
static admin_info_fn admin_info;
static struct timeval admin_idle;	/* "stats timeout" */
static unsigned int admin_maxconn;	/* "stats maxconn": more are told to come back */
static unsigned int admin_maxconn_max;	/* "set maxconn global" up to this */

/* Batches done on the workers, for the control thread (admin_walk_on_done). */
static pthread_mutex_t admin_done_lock = PTHREAD_MUTEX_INITIALIZER;
static struct admin_walk *admin_done;
static int admin_done_fd = -1;		/* eventfd: a batch is in admin_done */
static struct event *admin_done_ev;

/* ---- commands ---- */

struct admin_cmd {
	const char *words;		/* the fixed words that name it */
	const char *args;		/* for help */
	enum conf_level level;		/* least level allowed */
	int nargs;			/* arguments after the words */
	int optargs;			/* and up to this many more */
	const char *sub;		/* the second argument, when it picks the line */
	void (*run)(char **argv, struct evbuffer *out);	/* argv: the arguments */
	const char *help;
};

void
admin_error(struct evbuffer *out, const char *fmt, ...)
{
	va_list ap;

	evbuffer_add_printf(out, "error: ");
	va_start(ap, fmt);
	evbuffer_add_vprintf(out, fmt, ap);
	va_end(ap);
	evbuffer_add(out, "\n", 1);
}

/* The helpers lent to admin_sess.c (admin_sess.h says what they do). */

int
admin_split(const char *spec, char *name, size_t len, const char **srv, struct evbuffer *out)
{
	const char *slash = strchr(spec, '/');

	if (slash == NULL || slash == spec || slash[1] == '\0' || (size_t)(slash - spec) >= len) {
		admin_error(out, "'%s' is not BACKEND/SERVER", spec);
		return -1;
	}
	memcpy(name, spec, (size_t)(slash - spec));
	name[slash - spec] = '\0';
	*srv = slash + 1;
	return 0;
}

struct conf_server *
admin_server(const char *spec, struct conf_proxy **be, struct evbuffer *out)
{
	char name[256];
	const char *srv;

	if (admin_split(spec, name, sizeof(name), &srv, out) == -1)
		return NULL;
	if ((*be = conf_find_proxy(conf_current(), name, CONF_PX_BE)) == NULL) {
		admin_error(out, "no backend '%s'", name);
		return NULL;
	}
	for (struct conf_server *s = (*be)->servers; s != NULL; s = s->next) {
		if (strcmp(s->name, srv) == 0)
			return s;
	}
	admin_error(out, "backend '%s' has no server '%s'", name, srv);
	return NULL;
}

int
admin_number(const char *s, const char *what, unsigned long long min, unsigned long long max,
    unsigned long long *v, struct evbuffer *out)
{
	char why[256];
	uint64_t n;

	if (units_parse_uint(s, min, max, &n, why, sizeof(why)) == -1) {
		admin_error(out, "%s: %s", what, why);
		return -1;
	}
	*v = n;
	return 0;
}

static void admin_cmd_help(char **argv, struct evbuffer *out);

static void
admin_cmd_show_info(char **argv, struct evbuffer *out)
{
	enum admin_form form;
	struct admin_facts f;
	struct admin_info *i;

	if (admin_info == NULL || admin_form(argv, "show info", &form, out) == -1)
		return;
	if ((i = calloc(1, sizeof(*i))) == NULL) {
		admin_error(out, "out of memory");
		return;
	}
	admin_info(&f);
	admin_info_fill(i, &f);
	admin_info_write(out, form, i);
	free(i);
}

static void
admin_cmd_show_pools(char **argv, struct evbuffer *out)
{
	struct pipe_pool_stats sum = { 0 };

	(void)argv;
	evbuffer_add_printf(out, "# thread used free created failed fallbacks\n");
	for (unsigned int i = 0; i < worker_count(); i++) {
		struct pipe_pool_stats st = { 0 };

		pipe_pool_add_stats(worker_pool(worker_get(i)), &st);
		pipe_pool_add_stats(worker_pool(worker_get(i)), &sum);
		evbuffer_add_printf(out, "%u %u %u %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", i, st.used,
		    st.free, st.created, st.failed, st.fallbacks);
	}
	evbuffer_add_printf(out, "total %u %u %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", sum.used,
	    sum.free, sum.created, sum.failed, sum.fallbacks);
	evbuffer_add_printf(out, "allocated %u\n", pipe_pool_allocated());
}

static void
admin_set_state(const char *spec, enum conf_server_admin state, struct evbuffer *out)
{
	struct conf_proxy *be;
	struct conf_server *s;

	if ((s = admin_server(spec, &be, out)) != NULL)
		backend_set_admin(be, s, state);
}

static void
admin_cmd_disable_server(char **argv, struct evbuffer *out)
{
	admin_set_state(argv[0], CONF_ADM_MAINT, out);
}

static void
admin_cmd_enable_server(char **argv, struct evbuffer *out)
{
	admin_set_state(argv[0], CONF_ADM_READY, out);
}

static void
admin_cmd_set_server(char **argv, struct evbuffer *out)
{
	struct conf_proxy *be;
	struct conf_server *s;
	unsigned long long v;

	if ((s = admin_server(argv[0], &be, out)) == NULL)
		return;
	if (strcmp(argv[1], "state") == 0) {
		if (strcmp(argv[2], "ready") == 0)
			backend_set_admin(be, s, CONF_ADM_READY);
		else if (strcmp(argv[2], "drain") == 0)
			backend_set_admin(be, s, CONF_ADM_DRAIN);
		else if (strcmp(argv[2], "maint") == 0)
			backend_set_admin(be, s, CONF_ADM_MAINT);
		else
			admin_error(out, "state '%s' is not one of ready, drain, maint", argv[2]);
	} else if (strcmp(argv[1], "weight") == 0) {
		if (admin_number(argv[2], "weight", 0, 256, &v, out) == 0) {
			backend_set_weight(be, s, (unsigned int)v);
			log_notice("server %s/%s weight set to %llu", be->name, s->name, v);
		}
	} else {
		admin_error(out, "'set server %s %s': expected 'state' or 'weight'", argv[0], argv[1]);
	}
}

/* Lent to admin_sess.c too. */
struct conf_proxy *
admin_frontend(const char *name, struct evbuffer *out)
{
	struct conf_proxy *fe = conf_find_proxy(conf_current(), name, CONF_PX_FE);

	if (fe == NULL)
		admin_error(out, "no frontend '%s'", name);
	return fe;
}

static void
admin_cmd_disable_frontend(char **argv, struct evbuffer *out)
{
	struct conf_proxy *fe = admin_frontend(argv[0], out);

	if (fe != NULL && !__atomic_load_n(&fe->stopped, __ATOMIC_RELAXED)) {
		listener_set_stopped(fe, 1);
		log_notice("frontend %s stops accepting (admin socket)", fe->name);
	}
}

static void
admin_cmd_enable_frontend(char **argv, struct evbuffer *out)
{
	struct conf_proxy *fe = admin_frontend(argv[0], out);

	if (fe != NULL && __atomic_load_n(&fe->stopped, __ATOMIC_RELAXED)) {
		listener_set_stopped(fe, 0);
		log_notice("frontend %s accepts again (admin socket)", fe->name);
	}
}

static void
admin_cmd_set_maxconn_frontend(char **argv, struct evbuffer *out)
{
	struct conf_proxy *fe;
	unsigned long long v;

	if ((fe = admin_frontend(argv[0], out)) == NULL ||
	    admin_number(argv[1], "maxconn", 0, CONF_MAXCONN_MAX, &v, out) == -1)
		return;
	listener_set_maxconn(fe, (unsigned int)v);
	log_notice("frontend %s: maxconn %llu (admin socket)", fe->name, v);
}

static void
admin_cmd_set_maxconn_global(char **argv, struct evbuffer *out)
{
	unsigned long long v;

	if (admin_number(argv[0], "maxconn", 1, admin_maxconn_max, &v, out) == -1)
		return;
	listener_set_maxconn(NULL, (unsigned int)v);
	log_notice("maxconn %llu (admin socket)", v);
}

/* Longest first where one command's words begin another's. */
static const struct admin_cmd admin_cmds[] = {
	{ "help", "", CONF_LEVEL_USER, 0, 0, NULL, admin_cmd_help, "this list" },
	{ "prompt", "", CONF_LEVEL_USER, 0, 0, NULL, NULL,
	  "interactive: commands line after line, each answer then '> '" },
	{ "quit", "", CONF_LEVEL_USER, 0, 0, NULL, NULL, "end an interactive session" },
	{ "show info", "[json|typed]", CONF_LEVEL_USER, 0, 1, NULL, admin_cmd_show_info,
	  "the process: version, uptime, sessions, reloads (HAProxy's names)" },
	{ "show stat", "[json|typed]", CONF_LEVEL_USER, 0, 1, NULL, admin_stat_show,
	  "frontends, backends and servers: HAProxy's CSV columns, then splicer's" },
	{ "show servers state", "[BACKEND]", CONF_LEVEL_USER, 0, 1, NULL,
	  admin_stat_servers_state, "the servers' states, in HAProxy's layout" },
	{ "show sess", "", CONF_LEVEL_USER, 0, 0, NULL, admin_sess_show,
	  "one line per session" },
	{ "show pools", "", CONF_LEVEL_USER, 0, 0, NULL, admin_cmd_show_pools,
	  "the pipe pools: per thread, pipes in use, kept, made, refused" },
	{ "show table", "[NAME [data.TYPE eq|ne|le|ge|lt|gt N ...|key KEY]]", CONF_LEVEL_USER, 0,
	  ADMIN_ARGS_MAX, NULL, admin_table_show, "stick tables, or the entries of one" },
	{ "clear table", "NAME [data.TYPE eq|ne|le|ge|lt|gt N ...|key KEY]", CONF_LEVEL_OPERATOR,
	  1, ADMIN_ARGS_MAX, NULL, admin_table_clear, "remove entries no session tracks" },
	{ "disable frontend", "NAME", CONF_LEVEL_OPERATOR, 1, 0, NULL, admin_cmd_disable_frontend,
	  "stop accepting (clients wait in the kernel's backlog)" },
	{ "enable frontend", "NAME", CONF_LEVEL_OPERATOR, 1, 0, NULL, admin_cmd_enable_frontend,
	  "accept again" },
	{ "set maxconn frontend", "NAME N", CONF_LEVEL_ADMIN, 2, 0, NULL,
	  admin_cmd_set_maxconn_frontend, "sessions at once for a frontend (0: no own limit)" },
	{ "set maxconn global", "N", CONF_LEVEL_ADMIN, 1, 0, NULL, admin_cmd_set_maxconn_global,
	  "sessions at once for the process (up to what the fd limit allows)" },
	{ "disable server", "BACKEND/SERVER", CONF_LEVEL_OPERATOR, 1, 0, NULL,
	  admin_cmd_disable_server, "maintenance: no new session" },
	{ "enable server", "BACKEND/SERVER", CONF_LEVEL_OPERATOR, 1, 0, NULL,
	  admin_cmd_enable_server, "out of maintenance" },
	{ "set server", "BACKEND/SERVER state ready|drain|maint", CONF_LEVEL_OPERATOR, 3, 0, "state",
	  admin_cmd_set_server, "drain: no new session, current ones go on" },
	{ "set server", "BACKEND/SERVER weight 0..256", CONF_LEVEL_ADMIN, 3, 0, "weight",
	  admin_cmd_set_server, "its share of new sessions" },
	{ "get weight", "BACKEND/SERVER", CONF_LEVEL_USER, 1, 0, NULL, admin_stat_get_weight,
	  "the weight in force and the configured one" },
	{ "set weight", "BACKEND/SERVER 0..256|0%..100%", CONF_LEVEL_ADMIN, 2, 0, NULL,
	  admin_stat_set_weight, "its share of new sessions (N% of the configured weight)" },
	{ "clear counters all", "", CONF_LEVEL_ADMIN, 0, 0, NULL, admin_stat_clear_all,
	  "every counter of every proxy and server back to 0" },
	{ "clear counters", "", CONF_LEVEL_OPERATOR, 0, 0, NULL, admin_stat_clear_max,
	  "the maxima (smax, qmax) back to 0" },
	{ "shutdown session", "ID", CONF_LEVEL_ADMIN, 1, 0, NULL, admin_sess_shutdown,
	  "end it now (termination state K)" },
	{ "shutdown sessions", "server BACKEND/SERVER", CONF_LEVEL_ADMIN, 2, 0, NULL,
	  admin_sess_shutdown_server, "end every session of a server" },
	{ "set bandwidth-limit session", "ID upload|download RATE", CONF_LEVEL_ADMIN, 3, 0, NULL,
	  admin_sess_bw, "shape a session from now on (e.g. 10mbps)" },
	{ "set bandwidth-limit frontend", "NAME upload|download RATE", CONF_LEVEL_ADMIN, 3, 0, NULL,
	  admin_sess_bw_frontend, "the rate of its bandwidth-limit lines, sessions running included" },
	{ "pause session", "ID", CONF_LEVEL_ADMIN, 1, 0, NULL, admin_sess_pause,
	  "no byte moves either way (in the kernel: from the next segment)" },
	{ "resume session", "ID", CONF_LEVEL_ADMIN, 1, 0, NULL, admin_sess_resume,
	  "after pause" },
};

static void
admin_cmd_help(char **argv, struct evbuffer *out)
{
	char cmd[80];

	(void)argv;
	for (size_t i = 0; i < sizeof(admin_cmds) / sizeof(*admin_cmds); i++) {
		snprintf(cmd, sizeof(cmd), "%s %s", admin_cmds[i].words, admin_cmds[i].args);
		evbuffer_add_printf(out, "  %-50s %s (level %s)\n", cmd, admin_cmds[i].help,
		    conf_level_name(admin_cmds[i].level));
	}
}

/* The table line whose words start argv and whose arguments fit, or
 * NULL; *nwords gets the count of its words. */
static const struct admin_cmd *
admin_find(int argc, char **argv, int *nwords)
{
	for (size_t i = 0; i < sizeof(admin_cmds) / sizeof(*admin_cmds); i++) {
		const struct admin_cmd *c = &admin_cmds[i];
		char words[64], *save;
		int n = 0, match = 1;

		snprintf(words, sizeof(words), "%s", c->words);
		for (char *w = strtok_r(words, " ", &save); w != NULL; w = strtok_r(NULL, " ", &save)) {
			if (n >= argc || strcmp(argv[n], w) != 0) {
				match = 0;
				break;
			}
			n++;
		}
		if (!match || argc - n < c->nargs || argc - n > c->nargs + c->optargs ||
		    (c->sub != NULL && strcmp(argv[n + 1], c->sub) != 0))
			continue;
		*nwords = n;
		return c;
	}
	return NULL;
}

/* How many of c's words start argv; *whole when all of them do. */
static int
admin_prefix(const struct admin_cmd *c, int argc, char **argv, int *whole)
{
	char words[64], *save;
	int n = 0;

	snprintf(words, sizeof(words), "%s", c->words);
	*whole = 1;
	for (char *w = strtok_r(words, " ", &save); w != NULL; w = strtok_r(NULL, " ", &save)) {
		if (n >= argc || strcmp(argv[n], w) != 0) {
			*whole = 0;
			break;
		}
		n++;
	}
	return n;
}

/* No line of the table fits argv: say which word is wrong. */
static void
admin_unknown(int argc, char **argv, struct evbuffer *out)
{
	const struct admin_cmd *best = NULL;
	int best_n = 0, best_whole = 0;

	for (size_t i = 0; i < sizeof(admin_cmds) / sizeof(*admin_cmds); i++) {
		int whole, n = admin_prefix(&admin_cmds[i], argc, argv, &whole);

		if (n > best_n || (n == best_n && whole && !best_whole)) {
			best = &admin_cmds[i];
			best_n = n;
			best_whole = whole;
		}
	}
	if (best == NULL)
		admin_error(out, "unknown command '%s'; 'help' lists them", argv[0]);
	else if (!best_whole && best_n < argc)
		admin_error(out, "unknown command: no command has '%s' after '%.*s'; 'help' lists them",
		    argv[best_n], (int)(argv[best_n - 1] + strlen(argv[best_n - 1]) - argv[0]),
		    argv[0]);
	else if (!best_whole)
		admin_error(out, "'%s' is not a whole command; 'help' lists those that begin so",
		    argv[0]);
	else if (argc - best_n > best->nargs + best->optargs)
		admin_error(out, "'%s': unexpected argument '%s' (expected: %s%s%s)", best->words,
		    argv[best_n + best->nargs + best->optargs], best->words,
		    best->args[0] != '\0' ? " " : "", best->args);
	else if (argc - best_n < best->nargs)
		admin_error(out, "'%s': missing argument (expected: %s %s)", best->words,
		    best->words, best->args);
	else
		admin_error(out, "'%s': unknown argument '%s'; 'help' lists them", best->words,
		    argv[best_n + 1]);
}

/* Run one command (its words split on blanks; line is cut up) for a
 * client of `level`. Returns 1 when out holds only the head of an answer
 * whose lines are streamed afterwards ("show sess"), -1 when the command
 * was blank, else 0. */
static int
admin_run(char *line, enum conf_level level, struct evbuffer *out)
{
	char *argv[ADMIN_ARGS_MAX + 1], *save;
	const struct admin_cmd *c;
	int argc = 0, nwords;

	for (char *w = strtok_r(line, " \t\r", &save); w != NULL; w = strtok_r(NULL, " \t\r", &save)) {
		if (argc == ADMIN_ARGS_MAX) {
			admin_error(out, "too many words (at most %d)", ADMIN_ARGS_MAX);
			return 0;
		}
		argv[argc++] = w;
	}
	if (argc == 0)
		return -1;
	argv[argc] = NULL;
	if ((c = admin_find(argc, argv, &nwords)) == NULL) {
		admin_unknown(argc, argv, out);
		return 0;
	}
	if (level < c->level) {
		admin_error(out, "'%s' needs level %s; this socket is level %s", c->words,
		    conf_level_name(c->level), conf_level_name(level));
		return 0;
	}
	if (c->run != NULL)	/* prompt and quit are the client's (admin_produce) */
		c->run(argv + nwords, out);
	/* show sess answered its head; the lines follow from the workers. */
	return c->run == admin_sess_show;
}

/* ---- streaming "show sess" ---- */

static void admin_produce(struct admin_client *cl);

/* A command's answer ends with a blank line (as HAProxy's), then the
 * prompt in interactive mode. */
static void
admin_cmd_end(struct admin_client *cl)
{
	struct evbuffer *out = bufferevent_get_output(cl->bev);

	evbuffer_add(out, "\n", 1);
	if (cl->prompt)
		evbuffer_add(out, "> ", 2);
}

static void
admin_walk_free(struct admin_walk *wk)
{
	evbuffer_free(wk->out);
	free(wk);
}

/* On the walked worker: one batch, then back to the control thread. */
static void
admin_walk_batch(struct worker_job *j)
{
	struct admin_walk *wk = (struct admin_walk *)j;
	uint64_t one = 1;

	session_walk(&wk->cur, ADMIN_WALK_BATCH, admin_sess_line, wk->out);
	pthread_mutex_lock(&admin_done_lock);
	wk->done_next = admin_done;
	admin_done = wk;
	pthread_mutex_unlock(&admin_done_lock);
	(void)!write(admin_done_fd, &one, sizeof(one));
}

/* Control thread: the batches that came back go to their clients. */
static void
admin_walk_on_done(evutil_socket_t fd, short what, void *arg)
{
	struct admin_walk *wk, *next;
	uint64_t n;

	(void)what;
	(void)arg;
	(void)!read(fd, &n, sizeof(n));
	pthread_mutex_lock(&admin_done_lock);
	wk = admin_done;
	admin_done = NULL;
	pthread_mutex_unlock(&admin_done_lock);
	for (; wk != NULL; wk = next) {
		struct admin_client *cl = wk->cl;

		next = wk->done_next;
		wk->in_flight = 0;
		if (cl == NULL) {
			admin_walk_free(wk);
			continue;
		}
		evbuffer_add_buffer(bufferevent_get_output(cl->bev), wk->out);
		if (wk->cur.done) {
			memset(&wk->cur, 0, sizeof(wk->cur));
			wk->w++;
		}
		if (wk->w >= worker_count()) {
			cl->walk = NULL;
			admin_walk_free(wk);
			admin_cmd_end(cl);
		}
		admin_produce(cl);
	}
}

/* A "show sess" head was answered: its lines follow, batch by batch. */
static void
admin_walk_start(struct admin_client *cl)
{
	struct admin_walk *wk;

	if (worker_count() == 0 || admin_done_ev == NULL) {
		admin_cmd_end(cl);
		return;
	}
	if ((wk = calloc(1, sizeof(*wk))) == NULL || (wk->out = evbuffer_new()) == NULL) {
		free(wk);
		admin_error(bufferevent_get_output(cl->bev), "out of memory");
		admin_cmd_end(cl);
		return;
	}
	wk->job.run = admin_walk_batch;
	wk->cl = cl;
	cl->walk = wk;
}

/* The client leaves: a batch still out is freed when it comes back. */
static void
admin_walk_abandon(struct admin_client *cl)
{
	struct admin_walk *wk = cl->walk;

	if (wk == NULL)
		return;
	cl->walk = NULL;
	wk->cl = NULL;
	if (!wk->in_flight || worker_unpost(worker_get(wk->w), &wk->job))
		admin_walk_free(wk);
}

/* Commands in a line: what ';' separates, blanks aside. */
static unsigned int
admin_count_cmds(const char *line)
{
	unsigned int n = 0;
	int in_cmd = 0;

	for (const char *p = line; *p != '\0'; p++) {
		if (*p == ';')
			in_cmd = 0;
		else if (*p != ' ' && *p != '\t' && *p != '\r' && !in_cmd) {
			in_cmd = 1;
			n++;
		}
	}
	return n;
}

/* A line with more commands than a line may hold is refused whole. */
static int
admin_too_many(const char *line, struct evbuffer *out)
{
	unsigned int n = admin_count_cmds(line);

	if (n <= ADMIN_CMDS_MAX)
		return 0;
	admin_error(out, "%u commands in one line (at most %d): none was run", n, ADMIN_CMDS_MAX);
	return 1;
}

void
admin_exec(char *line, enum conf_level level, struct evbuffer *out)
{
	char *save;

	if (admin_too_many(line, out))
		return;
	for (char *cmd = strtok_r(line, ";", &save); cmd != NULL; cmd = strtok_r(NULL, ";", &save)) {
		if (admin_run(cmd, level, out) != -1)
			evbuffer_add(out, "\n", 1);
	}
}

/* ---- clients ---- */

static void
admin_client_free(struct admin_client *cl)
{
	if (cl->prev != NULL)
		cl->prev->next = cl->next;
	else
		admin_clients = cl->next;
	if (cl->next != NULL)
		cl->next->prev = cl->prev;
	admin_nclients--;
	admin_walk_abandon(cl);
	free(cl->line);
	bufferevent_free(cl->bev);
	free(cl);
}

/* After the answer: bytes still unread would make close() send a reset,
 * which can destroy the answer before the client reads it. So the
 * answer ends with a FIN, and whatever the client still sends is read and
 * dropped until it closes (or the idle timeout). */
static void
admin_on_discard(struct bufferevent *bev, void *arg)
{
	(void)arg;
	evbuffer_drain(bufferevent_get_input(bev), evbuffer_get_length(bufferevent_get_input(bev)));
}

static void
admin_on_closing(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what;
	admin_client_free(arg);
}

static void
admin_on_written(struct bufferevent *bev, void *arg)
{
	(void)shutdown(bufferevent_getfd(bev), SHUT_WR);
	admin_on_discard(bev, arg);
	bufferevent_setcb(bev, admin_on_discard, NULL, admin_on_closing, arg);
	bufferevent_enable(bev, EV_READ);
}

/* Every command ran: close once the answer is out. */
static void
admin_finish(struct admin_client *cl)
{
	free(cl->line);
	cl->line = NULL;
	bufferevent_setwatermark(cl->bev, EV_WRITE, 0, 0);
	bufferevent_setcb(cl->bev, NULL, admin_on_written, admin_on_closing, cl);
	if (evbuffer_get_length(bufferevent_get_output(cl->bev)) == 0)
		admin_on_written(cl->bev, cl);
}

/* Is cmd the one word w, blanks aside? */
static int
admin_is_word(const char *cmd, const char *w)
{
	size_t n = strlen(w);

	cmd += strspn(cmd, " \t\r");
	return strncmp(cmd, w, n) == 0 && cmd[n + strspn(cmd + n, " \t\r")] == '\0';
}

static void admin_on_read(struct bufferevent *bev, void *arg);
static void admin_on_event(struct bufferevent *bev, short what, void *arg);

/* Every command of the line ran: close once the answer is out, or in
 * interactive mode read the next line (one already there is taken from
 * the event loop, not from here). */
static void
admin_line_done(struct admin_client *cl)
{
	struct bufferevent *bev = cl->bev;
	size_t eol;

	if (!cl->prompt) {
		/* An error about the line itself ends as any answer. */
		if (cl->ran == 0 && evbuffer_get_length(bufferevent_get_output(bev)) > 0)
			admin_cmd_end(cl);
		admin_finish(cl);
		return;
	}
	if (cl->ran == 0)
		admin_cmd_end(cl);	/* a blank line: the prompt again */
	free(cl->line);
	cl->line = NULL;
	cl->save = NULL;
	cl->ran = 0;
	bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
	bufferevent_setcb(bev, admin_on_read, NULL, admin_on_event, cl);
	if (cl->eof && evbuffer_get_length(bufferevent_get_input(bev)) == 0) {
		admin_finish(cl);	/* the client said all it had to say */
		return;
	}
	if (!cl->eof)
		bufferevent_enable(bev, EV_READ);
	if (cl->eof ||
	    evbuffer_search_eol(bufferevent_get_input(bev), NULL, &eol, EVBUFFER_EOL_LF).pos != -1)
		bufferevent_trigger(bev, EV_READ, BEV_TRIG_DEFER_CALLBACKS);
}

/*
 * Go on with the answer while the client's unsent output is below the
 * high mark: the next batch of a walk, or the next command. Above it,
 * the write callback brings us back once it drained to the low mark.
 */
static void
admin_produce(struct admin_client *cl)
{
	struct evbuffer *out = bufferevent_get_output(cl->bev);
	char *cmd;

	while (evbuffer_get_length(out) < ADMIN_OUT_HIGH) {
		if (cl->walk != NULL) {
			if (!cl->walk->in_flight) {
				cl->walk->in_flight = 1;
				worker_post(worker_get(cl->walk->w), &cl->walk->job);
			}
			return;	/* admin_walk_on_done goes on */
		}
		if ((cmd = strtok_r(cl->save == NULL ? cl->line : NULL, ";", &cl->save)) == NULL) {
			admin_line_done(cl);
			return;
		}
		if (admin_is_word(cmd, "quit")) {
			admin_finish(cl);
			return;
		}
		if (admin_is_word(cmd, "prompt"))
			cl->prompt = !cl->prompt;
		switch (admin_run(cmd, cl->level, out)) {
		case 1:
			admin_walk_start(cl);
			break;
		case 0:
			admin_cmd_end(cl);
			break;
		default:
			continue;	/* blank */
		}
		cl->ran++;
	}
}

static void
admin_on_drained(struct bufferevent *bev, void *arg)
{
	(void)bev;
	admin_produce(arg);
}

/* Answer, then close once the answer is out. */
static void
admin_answer(struct admin_client *cl, const char *line)
{
	struct evbuffer *out = bufferevent_get_output(cl->bev);

	bufferevent_disable(cl->bev, EV_READ);
	bufferevent_setcb(cl->bev, NULL, admin_on_drained, admin_on_closing, cl);
	bufferevent_setwatermark(cl->bev, EV_WRITE, ADMIN_OUT_LOW, 0);
	if (!admin_too_many(line, out) && (cl->line = strdup(line)) == NULL)
		admin_error(out, "out of memory");
	cl->save = NULL;
	cl->ran = 0;
	if (cl->line == NULL)
		admin_line_done(cl);
	else
		admin_produce(cl);
}

static void
admin_on_read(struct bufferevent *bev, void *arg)
{
	struct admin_client *cl = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t n = evbuffer_get_length(in);
	char *line = evbuffer_readln(in, &n, EVBUFFER_EOL_LF);

	if (line == NULL && cl->eof && (n = evbuffer_get_length(in)) > 0 && n <= ADMIN_LINE_MAX &&
	    (line = malloc(n + 1)) != NULL) {
		/* A last line without its newline. */
		evbuffer_remove(in, line, n);
		line[n] = '\0';
	}
	if (line != NULL) {
		if (n > ADMIN_LINE_MAX) {
			admin_error(bufferevent_get_output(bev), "line too long (at most %d bytes)",
			    ADMIN_LINE_MAX);
			line[0] = '\0';
		} else if (memchr(line, '\0', n) != NULL) {
			admin_error(bufferevent_get_output(bev), "a NUL byte in the command");
			line[0] = '\0';
		}
		admin_answer(cl, line);
		free(line);
	} else if (evbuffer_get_length(in) > ADMIN_LINE_MAX) {
		admin_error(bufferevent_get_output(bev), "line too long (at most %d bytes)",
		    ADMIN_LINE_MAX);
		evbuffer_drain(in, evbuffer_get_length(in));	/* no line to find in it */
		admin_answer(cl, (char[]){ "" });
	}
}

static void
admin_on_event(struct bufferevent *bev, short what, void *arg)
{
	struct admin_client *cl = arg;

	if (what & BEV_EVENT_EOF) {
		cl->eof = 1;
		if (evbuffer_get_length(bufferevent_get_input(bev)) > 0) {
			admin_on_read(bev, cl);		/* the lines it sent before */
			return;
		}
		if (evbuffer_get_length(bufferevent_get_output(bev)) > 0) {
			admin_finish(cl);		/* answers still going out */
			return;
		}
	}
	admin_client_free(cl);
}

static void
admin_on_accept(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
    int len, void *arg)
{
	const struct admin_sock *as = arg;
	struct admin_client *cl;

	(void)sa;
	(void)len;
	if (admin_nclients >= admin_maxconn || (cl = calloc(1, sizeof(*cl))) == NULL) {
		static const char busy[] = "error: too many admin clients at once, try again\n";

		char drop[512];

		/* Read what the client sent first: closing on unread bytes
		 * would send a reset that may destroy the line. */
		(void)!write(fd, busy, sizeof(busy) - 1);
		(void)shutdown(fd, SHUT_WR);
		while (recv(fd, drop, sizeof(drop), MSG_DONTWAIT) > 0)
			;
		close(fd);
		return;
	}
	cl->level = as->level;
	if ((cl->bev = bufferevent_socket_new(evconnlistener_get_base(lev), fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		close(fd);
		free(cl);
		return;
	}
	cl->next = admin_clients;
	if (cl->next != NULL)
		cl->next->prev = cl;
	admin_clients = cl;
	admin_nclients++;
	bufferevent_setcb(cl->bev, admin_on_read, NULL, admin_on_event, cl);
	bufferevent_set_timeouts(cl->bev, &admin_idle, &admin_idle);
	bufferevent_enable(cl->bev, EV_READ);
}

/* ---- the sockets ---- */

static int
admin_bind_one(const struct conf_admin *a, struct admin_sock *as, char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	int fd;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", a->path);
	if (lstat(a->path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "stats socket %s: the path exists and is not a socket",
			    a->path);
			return -1;
		}
		(void)unlink(a->path);	/* left by an earlier run */
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1)
		goto out_errno;
	/* Created with no permission at all, then opened up as configured:
	 * nobody can connect in between. */
	if (fchmod(fd, 0) == -1 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		goto out_close;
	if (chmod(a->path, a->mode) == -1 ||
	    ((a->uid != -1 || a->gid != -1) &&
	    chown(a->path, (uid_t)a->uid, (gid_t)a->gid) == -1) ||
	    listen(fd, 16) == -1)
		goto out_unlink;
	as->fd = fd;
	as->path = strdup(a->path);
	as->level = a->level;
	return 0;

out_unlink:
	(void)unlink(a->path);
out_close:
	snprintf(err, errlen, "stats socket %s: %s", a->path, strerror(errno));
	close(fd);
	return -1;
out_errno:
	snprintf(err, errlen, "stats socket %s: %s", a->path, strerror(errno));
	return -1;
}

int
admin_bind(const struct conf *c, char *err, size_t errlen)
{
	size_t n = 0;

	for (const struct conf_admin *a = c->global.admins; a != NULL; a = a->next)
		n++;
	admin_idle.tv_sec = (time_t)(c->global.admin_timeout / 1000000);
	admin_idle.tv_usec = (suseconds_t)(c->global.admin_timeout % 1000000);
	admin_maxconn = c->global.admin_maxconn;
	if (n == 0)
		return 0;
	if ((admin_socks = calloc(n, sizeof(*admin_socks))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (const struct conf_admin *a = c->global.admins; a != NULL; a = a->next) {
		if (admin_bind_one(a, &admin_socks[admin_nsocks], err, errlen) == -1) {
			admin_stop();
			return -1;
		}
		admin_nsocks++;
	}
	return 0;
}

int
admin_start(struct event_base *base, admin_info_fn info, unsigned int maxconn_max)
{
	admin_info = info;
	admin_maxconn_max = maxconn_max;
	if (admin_nsocks > 0 &&
	    ((admin_done_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1 ||
	    (admin_done_ev = event_new(base, admin_done_fd, EV_READ | EV_PERSIST,
	    admin_walk_on_done, NULL)) == NULL || event_add(admin_done_ev, NULL) == -1))
		return -1;
	for (size_t i = 0; i < admin_nsocks; i++) {
		struct admin_sock *as = &admin_socks[i];

		if ((as->lev = evconnlistener_new(base, admin_on_accept, as,
		    LEV_OPT_CLOSE_ON_FREE, -1, as->fd)) == NULL)
			return -1;
		log_notice("admin socket %s ready (level %s)", as->path,
		    conf_level_name(as->level));
	}
	return 0;
}

void
admin_stop(void)
{
	while (admin_clients != NULL)
		admin_client_free(admin_clients);
	for (size_t i = 0; i < admin_nsocks; i++) {
		struct admin_sock *as = &admin_socks[i];

		if (as->lev != NULL)
			evconnlistener_free(as->lev);	/* closes fd */
		else
			close(as->fd);
		(void)unlink(as->path);
		free(as->path);
	}
	free(admin_socks);
	admin_socks = NULL;
	admin_nsocks = 0;
	/* The workers have ended: batches they handed back wait here. */
	while (admin_done != NULL) {
		struct admin_walk *wk = admin_done;

		admin_done = wk->done_next;
		admin_walk_free(wk);
	}
	if (admin_done_ev != NULL)
		event_free(admin_done_ev);
	admin_done_ev = NULL;
	if (admin_done_fd != -1)
		close(admin_done_fd);
	admin_done_fd = -1;
}
