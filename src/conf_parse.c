/*
 * conf_parse: sections and keywords of the configuration grammar.
 *
 * Each section has a keyword table sorted by name; each entry names the
 * sections it is valid in and one handler. A word found in no table is
 * looked up in the table of HAProxy keywords that splicer does not
 * support, so that a real HAProxy file gets "not supported" rather than
 * "unknown", and otherwise reported with the nearest known keyword.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "acl.h"
#include "conf_lex.h"
#include "conf_parse.h"
#include "conf_health.h"
#include "conf_httpchk.h"
#include "conf_shape.h"
#include "conf_stats.h"
#include "units.h"

/* Sections; keyword entries hold a mask of these. */
#define SEC_GLOBAL	0x01
#define SEC_DEFAULTS	0x02
#define SEC_FRONTEND	0x04
#define SEC_BACKEND	0x08
#define SEC_LISTEN	0x10
#define SEC_IGNORED	0x20	/* an unsupported section: its lines are skipped */
#define SEC_ANY_PROXY	(SEC_DEFAULTS | SEC_FRONTEND | SEC_BACKEND | SEC_LISTEN)
#define SEC_FE_SIDE	(SEC_DEFAULTS | SEC_FRONTEND | SEC_LISTEN)
#define SEC_BE_SIDE	(SEC_DEFAULTS | SEC_BACKEND | SEC_LISTEN)

/* Default retries, as HAProxy. */
#define CONF_DEFAULT_RETRIES 3
/* Longest pipe the kernel accepts without CAP_SYS_RESOURCE is
 * /proc/sys/fs/pipe-max-size (1 MiB by default); we bound the keyword at
 * 256 MiB and let F_SETPIPE_SZ report the rest at run time. */
#define CONF_PIPESIZE_MAX (256ULL << 20)
/* Worker threads: as many as worker.h allows. */
#define CONF_NBTHREAD_MAX 64
/* Pipes: each is two fds, so no fd limit reaches this. */
#define CONF_MAXPIPES_MAX 10000000

struct parser {
	struct conf *conf;
	struct conf_msgs *errs;
	struct conf_msgs *warns;
	const char *file;	/* owned by conf->files */
	int line;
	int sec;		/* SEC_* of the current section, 0 before any */
	struct conf_proxy *px;	/* current proxy or defaults section */
	int nerr;		/* errors added by this parse */
};

static void parse_err(struct parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void parse_warn(struct parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
parse_err(struct parser *p, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	conf_msgs_add(p->errs, "%s:%d: %s", p->file, p->line, msg);
	p->nerr++;
}

static void
parse_warn(struct parser *p, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	conf_msgs_add(p->warns, "%s:%d: %s", p->file, p->line, msg);
}

/* "in backend 'app'" / "in section 'global'", for messages. */
static const char *
parse_where(struct parser *p, char *buf, size_t len)
{
	if (p->sec == SEC_GLOBAL)
		snprintf(buf, len, "in section 'global'");
	else if (p->px != NULL && p->px->name != NULL)
		snprintf(buf, len, "in %s '%s'", conf_proxy_kind(p->px), p->px->name);
	else if (p->px != NULL)
		snprintf(buf, len, "in %s section", conf_proxy_kind(p->px));
	else
		snprintf(buf, len, "outside any section");
	return buf;
}

/* Levenshtein distance, bounded: enough for "did you mean". */
static size_t
parse_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), prev[64], cur[64];

	if (la >= 63 || lb >= 63)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;

			cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
		memcpy(prev, cur, (lb + 1) * sizeof(size_t));
	}
	return prev[lb];
}

/* Write " (did you mean 'X'?)" for the nearest of names[], or "". */
static const char *
parse_suggest(const char *word, const char *const *names, size_t n, char *buf, size_t len)
{
	const char *best = NULL;
	size_t wlen = strlen(word), bestd = 99, limit = wlen <= 4 ? 1 : 2;

	for (size_t i = 0; i < n; i++) {
		size_t nlen = strlen(names[i]), d;

		/* The distance is at least the difference of the lengths: a name
		 * too long or too short to be suggested needs no table. */
		if (nlen > wlen + limit || wlen > nlen + limit)
			continue;
		d = parse_distance(word, names[i]);

		if (d < bestd) {
			bestd = d;
			best = names[i];
		}
	}
	if (best != NULL && bestd <= limit)
		snprintf(buf, len, " (did you mean '%s'?)", best);
	else
		buf[0] = '\0';
	return buf;
}

/* ---- shared value helpers ---- */

static int
parse_time_arg(struct parser *p, const char *kw, const char *arg, uint64_t *out)
{
	char err[256];

	if (arg == NULL) {
		parse_err(p, "'%s' expects a time (e.g. 5s)", kw);
		return -1;
	}
	if (units_parse_time(arg, out, err, sizeof(err)) == -1) {
		parse_err(p, "'%s': %s", kw, err);
		return -1;
	}
	return 0;
}

static int
parse_uint_arg(struct parser *p, const char *kw, const char *arg, uint64_t min,
    uint64_t max, uint64_t *out)
{
	char err[256];

	if (arg == NULL) {
		parse_err(p, "'%s' expects a number", kw);
		return -1;
	}
	if (units_parse_uint(arg, min, max, out, err, sizeof(err)) == -1) {
		parse_err(p, "'%s': %s", kw, err);
		return -1;
	}
	return 0;
}

static int
parse_no_more_args(struct parser *p, int argc, char **argv, int expected)
{
	if (argc > expected) {
		parse_err(p, "'%s' takes %d argument%s; unexpected '%s'", argv[0],
		    expected - 1, expected == 2 ? "" : "s", argv[expected]);
		return -1;
	}
	return 0;
}

/* Proxy and server names: as HAProxy, letters, digits, '-', '_', '.', ':'. */
static int
parse_valid_name(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' ||
		    *s == '.' || *s == ':'))
			return 0;
	}
	return 1;
}

/* ---- log targets ---- */

static const char *const log_facilities[] = {
	"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
	"uucp", "cron", "auth2", "ftp", "ntp", "audit", "alert", "cron2",
	"local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
};
static const char *const log_levels[] = {
	"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
};

static int
parse_log_lookup(const char *const *tab, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(tab[i], s) == 0)
			return (int)i;
	}
	return -1;
}

struct conf_log *
conf_parse_log(int argc, char **argv, char *err, size_t errlen)
{
	struct conf_log *l;
	const char *t;
	int i = 2;

	if (argc < 2) {
		snprintf(err, errlen, "'log' expects 'global' or a target "
		    "(stderr, stdout, a path, udp@HOST:PORT)");
		return NULL;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	l->fd = -1;
	l->facility = 16;	/* local0 */
	l->level = LOG_DEBUG;
	t = argv[1];
	if (strcmp(t, "stderr") == 0 || strcmp(t, "fd@2") == 0) {
		l->type = CONF_LOG_STDERR;
	} else if (strcmp(t, "stdout") == 0 || strcmp(t, "fd@1") == 0) {
		l->type = CONF_LOG_STDOUT;
	} else if (strncmp(t, "unix@", 5) == 0 || t[0] == '/') {
		/* A path: a unix socket (syslog) or a file, told apart when opened. */
		l->type = strncmp(t, "unix@", 5) == 0 ? CONF_LOG_UNIX : CONF_LOG_FILE;
		l->path = strdup(t[0] == '/' ? t : t + 5);
	} else {
		const char *a = t;
		char buf[300];

		if (strncmp(a, "udp@", 4) == 0)
			a += 4;
		else if (strncmp(a, "udp4@", 5) == 0 || strncmp(a, "udp6@", 5) == 0)
			a += 5;
		/* HAProxy's plain "127.0.0.1" means UDP port 514. */
		if (strchr(a, ':') == NULL || (a[0] == '[' && strstr(a, "]:") == NULL))
			snprintf(buf, sizeof(buf), "%s:514", a);
		else
			snprintf(buf, sizeof(buf), "%s", a);
		if (sockaddr_parse(buf, 0, &l->addr, err, errlen) == -1) {
			char inner[256];

			snprintf(inner, sizeof(inner), "%s", err);
			snprintf(err, errlen, "log target '%s': %s (expected stderr, stdout, "
			    "a path or udp@HOST:PORT)", t, inner);
			goto fail;
		}
		l->type = CONF_LOG_UDP;
	}
	/* [len N] [format F] FACILITY [LEVEL [MINLEVEL]] */
	while (i < argc) {
		if (strcmp(argv[i], "len") == 0) {
			snprintf(err, errlen, "log option 'len' is not supported: "
			    "splicer sends whole lines");
			goto fail;
		} else if (strcmp(argv[i], "format") == 0) {
			const char *f = i + 1 < argc ? argv[i + 1] : "";

			if (strcmp(f, "raw") == 0)
				l->format = CONF_LOG_FMT_RAW;
			else if (strcmp(f, "rfc3164") == 0)
				l->format = CONF_LOG_FMT_RFC3164;
			else if (strcmp(f, "short") == 0)
				l->format = CONF_LOG_FMT_SHORT;
			else {
				snprintf(err, errlen, "log format '%s' is not supported "
				    "(supported: raw, rfc3164, short)", f);
				goto fail;
			}
			i += 2;
		} else {
			break;
		}
	}
	if (i < argc) {
		int f = parse_log_lookup(log_facilities, 24, argv[i]);

		if (f == -1) {
			snprintf(err, errlen, "unknown log facility '%s' (expected kern, user, "
			    "daemon, local0..local7, ...)", argv[i]);
			goto fail;
		}
		l->facility = f;
		i++;
	}
	if (i < argc) {
		int lv = parse_log_lookup(log_levels, 8, argv[i]);

		if (lv == -1) {
			snprintf(err, errlen, "unknown log level '%s' (expected emerg, alert, "
			    "crit, err, warning, notice, info or debug)", argv[i]);
			goto fail;
		}
		l->level = lv;
		i++;
	}
	if (i < argc) {
		/* HAProxy's minimum level: messages above it are still sent by
		 * splicer, since we only filter by maximum severity number. */
		if (parse_log_lookup(log_levels, 8, argv[i]) == -1) {
			snprintf(err, errlen, "unknown log level '%s'", argv[i]);
			goto fail;
		}
		i++;
	}
	if (i < argc) {
		snprintf(err, errlen, "unexpected '%s' after the log level", argv[i]);
		goto fail;
	}
	return l;
fail:
	free(l->path);
	free(l);
	return NULL;
}

static void
parse_log_into(struct parser *p, struct conf_log **list, int argc, char **argv)
{
	struct conf_log *l, **tail;
	char err[512];

	if ((l = conf_parse_log(argc, argv, err, sizeof(err))) == NULL) {
		parse_err(p, "%s", err);
		return;
	}
	for (tail = list; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = l;
}

/* ---- global section ---- */

static void
kw_global_daemon(struct parser *p, int argc, char **argv)
{
	if (parse_no_more_args(p, argc, argv, 1) == 0)
		p->conf->global.daemon = 1;
}

/* "nosockmap": no flow enters the kernel (as HAProxy's "nosplice"). */
static void
kw_global_nosockmap(struct parser *p, int argc, char **argv)
{
	if (parse_no_more_args(p, argc, argv, 1) == 0)
		p->conf->global.nosockmap = 1;
}

/* "tune.sockmap.promote-bytes SIZE" (0 promotes at once) and
 * "tune.sockmap.promote-max-rate RATE": engine auto's policy. */
static void
kw_global_promote(struct parser *p, int argc, char **argv)
{
	int bytes = strcmp(argv[0], "tune.sockmap.promote-bytes") == 0;
	char err[256];

	if (argc < 2) {
		parse_err(p, "'%s' expects %s", argv[0], bytes ? "a size (e.g. 1m)" :
		    "a rate (e.g. 1gbps)");
		return;
	}
	if (parse_no_more_args(p, argc, argv, 2) == 0 && (bytes ?
	    units_parse_size(argv[1], &p->conf->global.promote_bytes, err, sizeof(err)) :
	    units_parse_rate(argv[1], &p->conf->global.promote_max_rate, err, sizeof(err))) == -1)
		parse_err(p, "'%s': %s", argv[0], err);
}

static void
kw_global_hard_stop_after(struct parser *p, int argc, char **argv)
{
	if (parse_no_more_args(p, argc, argv, 2) == 0)
		parse_time_arg(p, argv[0], argv[1], &p->conf->global.hard_stop_after);
}

/* "grace TIME": after SIGTERM or SIGUSR1, /ready says 503 and the
 * listeners stay open this long before the graceful stop. */
static void
kw_global_grace(struct parser *p, int argc, char **argv)
{
	if (parse_no_more_args(p, argc, argv, 2) == 0)
		parse_time_arg(p, argv[0], argv[1], &p->conf->global.grace);
}

static void
kw_global_log(struct parser *p, int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "global") == 0) {
		parse_err(p, "'log global' is only valid in a proxy section");
		return;
	}
	parse_log_into(p, &p->conf->global.logs, argc, argv);
}

static void
kw_global_maxconn(struct parser *p, int argc, char **argv)
{
	uint64_t v;

	if (parse_no_more_args(p, argc, argv, 2) == 0 &&
	    parse_uint_arg(p, argv[0], argv[1], 1, CONF_MAXCONN_MAX, &v) == 0)
		p->conf->global.maxconn = (unsigned int)v;
}

static void
kw_global_bandwidth(struct parser *p, int argc, char **argv)
{
	struct shaper_group *up, *down;
	char err[512];

	if (conf_shape_total(argc, argv, p->line, &up, &down, err, sizeof(err)) == -1) {
		parse_err(p, "%s", err);
		return;
	}
	if (p->conf->global.total[0] != NULL) {
		parse_warn(p, "'bandwidth-limit total' given again: this one replaces the one "
		    "at line %d", p->conf->global.total[0]->line);
		shaper_group_free_list(p->conf->global.total[0]);
		shaper_group_free_list(p->conf->global.total[1]);
	}
	p->conf->global.total[0] = up;
	p->conf->global.total[1] = down;
}

static void
kw_global_nbthread(struct parser *p, int argc, char **argv)
{
	uint64_t v;

	if (parse_no_more_args(p, argc, argv, 2) == 0 &&
	    parse_uint_arg(p, argv[0], argv[1], 1, CONF_NBTHREAD_MAX, &v) == 0)
		p->conf->global.nbthread = (unsigned int)v;
}

/* "maxpipes N" (0: no pipe, every flow copies), "tune.pipe.prealloc N". */
static void
kw_global_pipes(struct parser *p, int argc, char **argv)
{
	uint64_t v;

	if (parse_no_more_args(p, argc, argv, 2) == 0 &&
	    parse_uint_arg(p, argv[0], argv[1], 0, CONF_MAXPIPES_MAX, &v) == 0) {
		if (strcmp(argv[0], "maxpipes") == 0) {
			p->conf->global.maxpipes = (unsigned int)v;
			p->conf->global.maxpipes_set = 1;
		} else {
			p->conf->global.pipe_prealloc = (unsigned int)v;
		}
	}
}

static void
kw_global_pidfile(struct parser *p, int argc, char **argv)
{
	if (argc < 2) {
		parse_err(p, "'pidfile' expects a path");
		return;
	}
	if (parse_no_more_args(p, argc, argv, 2) == 0) {
		free(p->conf->global.pidfile);
		p->conf->global.pidfile = strdup(argv[1]);
	}
}

/* "user NAME", "group NAME", "chroot DIR": one string each. */
static void
kw_global_string(struct parser *p, int argc, char **argv)
{
	char **dst = strcmp(argv[0], "user") == 0 ? &p->conf->global.user :
	    strcmp(argv[0], "group") == 0 ? &p->conf->global.group : &p->conf->global.chroot;

	if (argc < 2) {
		parse_err(p, "'%s' expects a %s", argv[0],
		    strcmp(argv[0], "chroot") == 0 ? "directory" : "name");
		return;
	}
	if (parse_no_more_args(p, argc, argv, 2) == -1)
		return;
	free(*dst);
	*dst = strdup(argv[1]);
	if (strcmp(argv[0], "user") == 0)
		p->conf->global.user_line = p->line;
	else if (strcmp(argv[0], "group") == 0)
		p->conf->global.group_line = p->line;
}

/* "spread-checks N": conf_health.c. */
static void
kw_global_spread_checks(struct parser *p, int argc, char **argv)
{
	char err[256];

	if (conf_health_spread(&p->conf->global, argc, argv, err, sizeof(err)) == -1)
		parse_err(p, "%s", err);
}

/* "stats socket ...": conf_stats.c. */
static void
kw_global_stats(struct parser *p, int argc, char **argv)
{
	char err[512];

	if (conf_stats_parse(p->conf, argc, argv, p->line, err, sizeof(err)) == -1)
		parse_err(p, "%s", err);
}

static void
kw_global_id(struct parser *p, int argc, char **argv)
{
	uint64_t v;

	if (parse_no_more_args(p, argc, argv, 2) == 0 &&
	    parse_uint_arg(p, argv[0], argv[1], 0, 4294967294ULL, &v) == 0) {
		if (strcmp(argv[0], "uid") == 0)
			p->conf->global.uid = (long long)v;
		else
			p->conf->global.gid = (long long)v;
	}
}

static void
kw_global_pipesize(struct parser *p, int argc, char **argv)
{
	char err[256];
	uint64_t v;

	if (argc < 2) {
		parse_err(p, "'%s' expects a size (e.g. 256k)", argv[0]);
		return;
	}
	if (parse_no_more_args(p, argc, argv, 2) == -1)
		return;
	if (units_parse_size(argv[1], &v, err, sizeof(err)) == -1) {
		parse_err(p, "'%s': %s", argv[0], err);
		return;
	}
	if (v < 4096 || v > CONF_PIPESIZE_MAX) {
		parse_err(p, "'%s': %s is out of range (4k to 256m)", argv[0], argv[1]);
		return;
	}
	p->conf->global.pipesize = v;
}

/* ---- proxy sections ---- */

static void
kw_px_mode(struct parser *p, int argc, char **argv)
{
	if (argc < 2) {
		parse_err(p, "'mode' expects 'tcp'");
		return;
	}
	if (strcmp(argv[1], "http") == 0) {
		parse_err(p, "'mode http' is not supported: splicer is a TCP proxy");
		return;
	}
	if (strcmp(argv[1], "tcp") != 0) {
		parse_err(p, "'mode %s' is not supported: splicer only knows 'mode tcp'",
		    argv[1]);
		return;
	}
	parse_no_more_args(p, argc, argv, 2);
}

static void
parse_bind_addr(struct parser *p, const char *a, struct conf_bind *opts)
{
	struct conf_bind *b, **tail;
	char err[512];

	if ((b = calloc(1, sizeof(*b))) == NULL)
		return;
	if (sockaddr_parse(a, SOCKADDR_F_ANY, &b->addr, err, sizeof(err)) == -1) {
		parse_err(p, "bind: %s", err);
		free(b);
		return;
	}
	b->backlog = opts->backlog;
	b->v6only = opts->v6only;
	b->accept_proxy = opts->accept_proxy;
	b->maxconn = opts->maxconn;
	b->name = opts->name != NULL ? strdup(opts->name) : NULL;
	b->line = p->line;
	for (tail = &p->px->binds; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = b;
}

static void
kw_px_bind(struct parser *p, int argc, char **argv)
{
	struct conf_bind opts;
	uint64_t v;
	char *list, *save = NULL, *tok;

	if (argc < 2) {
		parse_err(p, "'bind' expects ADDR:PORT[,ADDR:PORT...]");
		return;
	}
	memset(&opts, 0, sizeof(opts));
	for (int i = 2; i < argc; i++) {
		const char *o = argv[i];

		if (strcmp(o, "backlog") == 0) {
			if (parse_uint_arg(p, "bind backlog", argv[i + 1], 1, 65535, &v) == -1)
				return;
			opts.backlog = (int)v;
			i++;
		} else if (strcmp(o, "maxconn") == 0) {
			if (parse_uint_arg(p, "bind maxconn", argv[i + 1], 1, CONF_MAXCONN_MAX, &v) == -1)
				return;
			opts.maxconn = (unsigned int)v;
			i++;
		} else if (strcmp(o, "v6only") == 0) {
			opts.v6only = 1;
		} else if (strcmp(o, "accept-proxy") == 0) {
			opts.accept_proxy = 1;
		} else if (strcmp(o, "name") == 0) {
			if (argv[i + 1] == NULL) {
				parse_err(p, "bind option 'name' expects a name");
				return;
			}
			opts.name = argv[++i];
		} else if (strcmp(o, "ssl") == 0 || strcmp(o, "crt") == 0 ||
		    strcmp(o, "alpn") == 0 || strcmp(o, "ca-file") == 0) {
			parse_err(p, "bind option '%s' is not supported: splicer does not "
			    "terminate TLS", o);
			return;
		} else if (strcmp(o, "transparent") == 0 ||
		    strcmp(o, "interface") == 0 || strcmp(o, "defer-accept") == 0 ||
		    strcmp(o, "tfo") == 0 || strcmp(o, "mss") == 0 ||
		    strcmp(o, "namespace") == 0 || strcmp(o, "process") == 0 ||
		    strcmp(o, "thread") == 0) {
			parse_err(p, "bind option '%s' is not supported yet", o);
			return;
		} else {
			static const char *const known[] = {
				"accept-proxy", "backlog", "maxconn", "name", "v6only",
			};
			char sugg[64];

			parse_err(p, "unknown bind option '%s'%s", o,
			    parse_suggest(o, known, 5, sugg, sizeof(sugg)));
			return;
		}
	}
	if ((list = strdup(argv[1])) == NULL)
		return;
	for (tok = strtok_r(list, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save))
		parse_bind_addr(p, tok, &opts);
	free(list);
}

/*
 * Options after "server NAME ADDR" or "default-server", from argv[i] on,
 * into s. Returns 0, or -1 after reporting the first bad option.
 */
static int
parse_server_opts(struct parser *p, int argc, char **argv, int i, struct conf_server *s)
{
	static const char *const known[] = {
		"addr", "agent-addr", "agent-check", "agent-inter", "agent-port", "agent-send",
		"backup", "check", "error-limit", "observe", "on-error", "on-marked-down",
		"on-marked-up", "slowstart", "disabled", "downinter", "enabled", "fall", "fastinter",
		"inter", "maxconn", "no-check", "no-send-proxy", "port", "rise", "send-proxy",
		"send-proxy-v2", "weight",
	};
	static const char *const later[] = {
		"maxqueue", "resolvers", "init-addr",
		"track", "source", "id", "cookie", "redir", "check-send-proxy",
	};
	uint64_t v;
	char sugg[64], err[512];
	int rc;

	for (; i < argc; i++) {
		const char *o = argv[i];

		if (strcmp(o, "weight") == 0) {
			if (parse_uint_arg(p, "server weight", argv[i + 1], 0, 256, &v) == -1)
				return -1;
			s->weight = (unsigned int)v;
			i++;
		} else if (strcmp(o, "maxconn") == 0) {
			if (parse_uint_arg(p, "server maxconn", argv[i + 1], 0, CONF_MAXCONN_MAX, &v) == -1)
				return -1;
			s->maxconn = (unsigned int)v;
			i++;
		} else if (strcmp(o, "send-proxy") == 0) {
			s->send_proxy = 1;
		} else if (strcmp(o, "send-proxy-v2") == 0) {
			s->send_proxy = 2;
		} else if (strcmp(o, "no-send-proxy") == 0 || strcmp(o, "no-send-proxy-v2") == 0) {
			s->send_proxy = 0;
		} else if (strcmp(o, "check") == 0) {
			s->check = 1;
		} else if (strcmp(o, "no-check") == 0) {
			s->check = 0;
		} else if (strcmp(o, "inter") == 0 || strcmp(o, "fastinter") == 0 ||
		    strcmp(o, "downinter") == 0) {
			uint64_t *dst = strcmp(o, "inter") == 0 ? &s->check_inter :
			    strcmp(o, "fastinter") == 0 ? &s->check_fastinter : &s->check_downinter;
			char kw[32];

			snprintf(kw, sizeof(kw), "server %s", o);
			if (parse_time_arg(p, kw, argv[i + 1], dst) == -1)
				return -1;
			if (*dst < 1000) {
				parse_err(p, "'server %s %s': at least 1ms", o, argv[i + 1]);
				return -1;
			}
			i++;
		} else if (strcmp(o, "rise") == 0 || strcmp(o, "fall") == 0) {
			if (parse_uint_arg(p, strcmp(o, "rise") == 0 ? "server rise" : "server fall",
			    argv[i + 1], 1, 1000, &v) == -1)
				return -1;
			if (strcmp(o, "rise") == 0)
				s->check_rise = (unsigned int)v;
			else
				s->check_fall = (unsigned int)v;
			i++;
		} else if ((rc = conf_health_server_opt(s, argc, argv, &i, err, sizeof(err))) != 0) {
			if (rc < 0) {
				parse_err(p, "%s", err);
				return -1;
			}
		} else if (strcmp(o, "backup") == 0) {
			s->backup = 1;
		} else if (strcmp(o, "disabled") == 0) {
			s->disabled = 1;
		} else if (strcmp(o, "enabled") == 0) {
			s->disabled = 0;
		} else if (strcmp(o, "ssl") == 0 || strcmp(o, "verify") == 0 ||
		    strcmp(o, "sni") == 0 || strcmp(o, "ca-file") == 0 || strcmp(o, "crt") == 0) {
			parse_err(p, "server option '%s' is not supported: splicer does not "
			    "originate TLS", o);
			return -1;
		} else {
			for (size_t k = 0; k < sizeof(later) / sizeof(*later); k++) {
				if (strcmp(later[k], o) == 0) {
					parse_err(p, "server option '%s' is not supported yet", o);
					return -1;
				}
			}
			parse_err(p, "unknown server option '%s'%s", o,
			    parse_suggest(o, known, sizeof(known) / sizeof(*known), sugg, sizeof(sugg)));
			return -1;
		}
	}
	return 0;
}

static void
kw_px_default_server(struct parser *p, int argc, char **argv)
{
	struct conf_server tmpl = p->px->defsrv;

	if (parse_server_opts(p, argc, argv, 1, &tmpl) == 0)
		p->px->defsrv = tmpl;
}

static void
kw_px_server(struct parser *p, int argc, char **argv)
{
	struct conf_server *s, **tail;
	char err[512];

	if (argc < 3) {
		parse_err(p, "'server' expects NAME HOST:PORT");
		return;
	}
	if (!parse_valid_name(argv[1])) {
		parse_err(p, "server name '%s' may only hold letters, digits, '-', '_', '.' "
		    "and ':'", argv[1]);
		return;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return;
	*s = p->px->defsrv;
	if (parse_server_opts(p, argc, argv, 3, s) == -1) {
		free(s);
		return;
	}
	if (sockaddr_parse(argv[2], 0, &s->addr, err, sizeof(err)) == -1) {
		parse_err(p, "server '%s': %s", argv[1], err);
		free(s);
		return;
	}
	s->name = strdup(argv[1]);
	s->next = NULL;
	s->line = p->line;
	for (tail = &p->px->servers; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = s;
	p->px->nservers++;
}

static void
kw_px_default_backend(struct parser *p, int argc, char **argv)
{
	if (argc < 2) {
		parse_err(p, "'default_backend' expects a backend name");
		return;
	}
	if (parse_no_more_args(p, argc, argv, 2) == -1)
		return;
	free(p->px->default_backend);
	p->px->default_backend = strdup(argv[1]);
	p->px->default_backend_line = p->line;
}

/* Timeout names, where each is meaningful, and where it is stored. */
struct timeout_kw {
	const char *name;
	unsigned int where;	/* SEC_* where it takes effect */
	size_t off;		/* offset in struct conf_timeouts, or -1: unsupported */
};

#define TO(f) offsetof(struct conf_timeouts, f)
static const struct timeout_kw timeout_kws[] = {
	{ "check",       SEC_BE_SIDE,   TO(check) },
	{ "client",      SEC_FE_SIDE,   TO(client) },
	{ "client-fin",  SEC_FE_SIDE,   TO(client_fin) },
	{ "connect",     SEC_BE_SIDE,   TO(connect) },
	{ "lifetime",    SEC_ANY_PROXY, TO(lifetime) },
	{ "queue",       SEC_BE_SIDE,   TO(queue) },
	{ "server",      SEC_BE_SIDE,   TO(server) },
	{ "server-fin",  SEC_BE_SIDE,   TO(server_fin) },
	{ "tunnel",      SEC_BE_SIDE,   TO(tunnel) },
};
#undef TO

static void
kw_px_timeout(struct parser *p, int argc, char **argv)
{
	static const char *const http_only[] = {
		"http-request", "http-keep-alive", "tarpit",
	};
	const struct timeout_kw *t = NULL;
	char kw[64];
	uint64_t v;

	if (argc < 2) {
		parse_err(p, "'timeout' expects a name (connect, client, server, ...) and a time");
		return;
	}
	for (size_t i = 0; i < sizeof(timeout_kws) / sizeof(*timeout_kws); i++) {
		if (strcmp(timeout_kws[i].name, argv[1]) == 0)
			t = &timeout_kws[i];
	}
	if (t == NULL) {
		const char *names[sizeof(timeout_kws) / sizeof(*timeout_kws)];
		char sugg[64];

		for (size_t i = 0; i < sizeof(http_only) / sizeof(*http_only); i++) {
			if (strcmp(http_only[i], argv[1]) == 0) {
				parse_err(p, "'timeout %s' is not supported: it is an HTTP timeout "
				    "and splicer is a TCP proxy", argv[1]);
				return;
			}
		}
		for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
			names[i] = timeout_kws[i].name;
		parse_err(p, "unknown timeout '%s'%s", argv[1],
		    parse_suggest(argv[1], names, sizeof(names) / sizeof(*names), sugg, sizeof(sugg)));
		return;
	}
	if (t->off == (size_t)-1) {
		parse_err(p, "'timeout %s' is not supported yet", argv[1]);
		return;
	}
	snprintf(kw, sizeof(kw), "timeout %s", argv[1]);
	if (parse_no_more_args(p, argc, argv, 3) == -1 ||
	    parse_time_arg(p, kw, argv[2], &v) == -1)
		return;
	if (!(t->where & p->sec)) {
		char where[128];

		parse_warn(p, "'timeout %s' ignored %s: it applies to the %s side only",
		    argv[1], parse_where(p, where, sizeof(where)),
		    (t->where & SEC_FRONTEND) ? "frontend" : "backend");
		return;
	}
	*(uint64_t *)((char *)&p->px->to + t->off) = v;
}

static void
kw_px_retries(struct parser *p, int argc, char **argv)
{
	uint64_t v;

	if (parse_no_more_args(p, argc, argv, 2) == 0 &&
	    parse_uint_arg(p, argv[0], argv[1], 0, 100, &v) == 0)
		p->px->retries = (unsigned int)v;
}

static void
kw_px_maxconn(struct parser *p, int argc, char **argv)
{
	uint64_t v;

	if (parse_no_more_args(p, argc, argv, 2) == 0 &&
	    parse_uint_arg(p, argv[0], argv[1], 1, CONF_MAXCONN_MAX, &v) == 0)
		p->px->maxconn = (unsigned int)v;
}

/* Add a shaping group to the proxy. A "bandwidth-limit" line replaces
 * one of the same direction and mode (from defaults, or earlier). */
static void
parse_add_shaper(struct parser *p, struct shaper_group *g)
{
	struct shaper_group **pp = &p->px->shapers;

	while (*pp != NULL) {
		struct shaper_group *o = *pp;

		if (g->name == NULL && o->name == NULL && o->dir == g->dir && o->mode == g->mode) {
			*pp = o->next;
			o->next = NULL;
			shaper_group_free_list(o);
			continue;
		}
		if (g->name != NULL && o->name != NULL && strcmp(g->name, o->name) == 0) {
			parse_err(p, "bwlim filter '%s' is already declared at line %d", g->name,
			    o->line);
			shaper_group_free_list(g);
			return;
		}
		pp = &o->next;
	}
	*pp = g;
}

static void
kw_px_bandwidth(struct parser *p, int argc, char **argv)
{
	struct shaper_group *g;
	char err[512];

	if ((g = conf_shape_limit(argc, argv, p->line, err, sizeof(err))) == NULL)
		parse_err(p, "%s", err);
	else
		parse_add_shaper(p, g);
}

static void
kw_px_filter(struct parser *p, int argc, char **argv)
{
	struct shaper_group *g;
	char err[512];

	if ((g = conf_shape_filter(argc, argv, p->line, err, sizeof(err))) == NULL)
		parse_err(p, "%s", err);
	else
		parse_add_shaper(p, g);
}

static void
kw_px_rate_limit(struct parser *p, int argc, char **argv)
{
	uint64_t v;

	if (argc < 2 || strcmp(argv[1], "sessions") != 0) {
		parse_err(p, "'rate-limit' expects 'sessions N'");
		return;
	}
	if (parse_no_more_args(p, argc, argv, 3) == 0 &&
	    parse_uint_arg(p, "rate-limit sessions", argv[2], 1, 1000000, &v) == 0)
		p->px->rate_limit = (unsigned int)v;
}

static void
kw_px_engine(struct parser *p, int argc, char **argv)
{
	if (argc < 2) {
		parse_err(p, "'engine' expects splice, copy, sockmap or auto");
		return;
	}
	if (parse_no_more_args(p, argc, argv, 2) == -1)
		return;
	if (strcmp(argv[1], "splice") == 0)
		p->px->engine = CONF_ENGINE_SPLICE;
	else if (strcmp(argv[1], "copy") == 0)
		p->px->engine = CONF_ENGINE_COPY;
	else if (strcmp(argv[1], "auto") == 0)
		p->px->engine = CONF_ENGINE_AUTO;
	else if (strcmp(argv[1], "sockmap") == 0)
		p->px->engine = CONF_ENGINE_SOCKMAP;
	else
		parse_err(p, "unknown engine '%s' (expected splice, copy, sockmap or auto)",
		    argv[1]);
}

static void
kw_px_balance(struct parser *p, int argc, char **argv)
{
	static const struct { const char *name; enum conf_balance lb; } algos[] = {
		{ "first", CONF_LB_FIRST }, { "leastconn", CONF_LB_LEASTCONN },
		{ "random", CONF_LB_RANDOM }, { "roundrobin", CONF_LB_ROUNDROBIN },
		{ "source", CONF_LB_SOURCE }, { "static-rr", CONF_LB_STATIC_RR },
	};
	static const char *const http_only[] = { "uri", "url_param", "hdr", "rdp-cookie" };
	const char *a = argc > 1 ? argv[1] : NULL;
	unsigned int draws = 2;
	char name[32];

	if (a == NULL) {
		parse_err(p, "'balance' expects an algorithm (roundrobin, static-rr, leastconn, "
		    "first, source, random)");
		return;
	}
	if (parse_no_more_args(p, argc, argv, 2) == -1)
		return;
	/* random(N): N draws, the least loaded wins. */
	if (strncmp(a, "random(", 7) == 0) {
		char *end;
		unsigned long n = strtoul(a + 7, &end, 10);

		if (end == a + 7 || strcmp(end, ")") != 0 || n < 1 || n > 100) {
			parse_err(p, "'balance %s': expected random(N) with N from 1 to 100", a);
			return;
		}
		draws = (unsigned int)n;
		a = "random";
	}
	snprintf(name, sizeof(name), "%s", a);
	for (size_t i = 0; i < sizeof(algos) / sizeof(*algos); i++) {
		if (strcmp(name, algos[i].name) == 0) {
			p->px->balance = algos[i].lb;
			p->px->random_draws = draws;
			return;
		}
	}
	for (size_t i = 0; i < sizeof(http_only) / sizeof(*http_only); i++) {
		if (strncmp(name, http_only[i], strlen(http_only[i])) == 0) {
			parse_err(p, "'balance %s' is not supported: it is an HTTP algorithm and "
			    "splicer is a TCP proxy", name);
			return;
		}
	}
	{
		const char *names[sizeof(algos) / sizeof(*algos)];
		char sugg[64];

		for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
			names[i] = algos[i].name;
		parse_err(p, "unknown balance algorithm '%s'%s", name,
		    parse_suggest(name, names, sizeof(names) / sizeof(*names), sugg, sizeof(sugg)));
	}
}

static void
kw_px_log(struct parser *p, int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "global") == 0) {
		p->px->log_global = 1;
		return;
	}
	parse_log_into(p, &p->px->logs, argc, argv);
}

static void
kw_px_acl(struct parser *p, int argc, char **argv)
{
	char err[512];

	if (acl_parse_decl(&p->px->acls, argc, argv, err, sizeof(err)) == -1)
		parse_err(p, "%s", err);
}

/* A rule's optional "if|unless COND" from argv[i] on, into *cond (NULL
 * when there is none); 0 or -1 reported. */
static int
parse_cond(struct parser *p, int argc, char **argv, int i, struct acl_cond **cond)
{
	char err[512];

	*cond = NULL;
	if (i >= argc)
		return 0;
	if (strcmp(argv[i], "if") != 0 && strcmp(argv[i], "unless") != 0) {
		parse_err(p, "'%s' %s: expected 'if' or 'unless' before '%s'", argv[0],
		    argv[1], argv[i]);
		return -1;
	}
	if ((*cond = acl_parse_cond(&p->px->acls, argc - i, argv + i, err, sizeof(err))) == NULL) {
		parse_err(p, "'%s': %s", argv[0], err);
		return -1;
	}
	return 0;
}

static int
parse_rule_cond(struct parser *p, int argc, char **argv, int i, struct acl_rule *r)
{
	return parse_cond(p, argc, argv, i, &r->cond);
}

static void
parse_append_rule(struct acl_rule **list, struct acl_rule *r)
{
	while (*list != NULL)
		list = &(*list)->next;
	*list = r;
}

static void
kw_px_set_bandwidth(struct parser *p, int argc, char **argv)
{
	struct shaper_rule *r, **tail;
	char err[512];
	int used;

	if ((r = conf_shape_rule(argc, argv, p->line, &used, err, sizeof(err))) == NULL) {
		parse_err(p, "%s", err);
		return;
	}
	if (parse_cond(p, argc, argv, used, &r->cond) == -1) {
		conf_shape_free_rules(r);
		return;
	}
	for (tail = &p->px->bw_rules; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = r;
}

static void
kw_px_tcp_request(struct parser *p, int argc, char **argv)
{
	struct acl_rule *r;
	int action;

	if (argc >= 3 && strcmp(argv[1], "content") == 0 &&
	    strcmp(argv[2], "set-bandwidth-limit") == 0) {
		kw_px_set_bandwidth(p, argc, argv);
		return;
	}
	if (argc < 2 || strcmp(argv[1], "connection") != 0) {
		if (argc >= 2 && strcmp(argv[1], "content") == 0)
			parse_err(p, "'tcp-request content %s' is not supported (supported: "
			    "set-bandwidth-limit)", argc >= 3 ? argv[2] : "");
		else if (argc >= 2 && (strcmp(argv[1], "inspect-delay") == 0 ||
		    strcmp(argv[1], "session") == 0))
			parse_err(p, "'tcp-request %s' is not supported yet (supported: "
			    "tcp-request connection accept|reject, tcp-request content "
			    "set-bandwidth-limit)", argv[1]);
		else
			parse_err(p, "'tcp-request' expects 'connection accept|reject [if|unless "
			    "ACL]' or 'content set-bandwidth-limit NAME'");
		return;
	}
	if (!(p->px->cap & CONF_PX_FE)) {
		parse_err(p, "'tcp-request connection' belongs in a frontend or listen section");
		return;
	}
	if (argc < 3 || (strcmp(argv[2], "accept") != 0 && strcmp(argv[2], "reject") != 0)) {
		parse_err(p, "'tcp-request connection %s' is not supported (supported: accept, "
		    "reject)", argc < 3 ? "" : argv[2]);
		return;
	}
	action = strcmp(argv[2], "accept") == 0 ? ACL_ACTION_ACCEPT : ACL_ACTION_REJECT;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return;
	r->action = action;
	r->line = p->line;
	if (parse_rule_cond(p, argc, argv, 3, r) == -1) {
		free(r);
		return;
	}
	parse_append_rule(&p->px->tcp_conn_rules, r);
}

/* "http-check ...": conf_httpchk.c. */
static void
kw_px_http_check(struct parser *p, int argc, char **argv)
{
	char err[512];

	if (conf_httpchk_line(p->px, argc, argv, p->line, err, sizeof(err)) == -1)
		parse_err(p, "%s", err);
}

/* "tcp-check ...": conf_health.c. */
static void
kw_px_tcp_check(struct parser *p, int argc, char **argv)
{
	char err[512];

	if (conf_health_tcp_check(p->px, argc, argv, p->line, err, sizeof(err)) == -1)
		parse_err(p, "%s", err);
}

static void
kw_px_use_backend(struct parser *p, int argc, char **argv)
{
	struct acl_rule *r;

	if (argc < 2) {
		parse_err(p, "'use_backend' expects a backend name");
		return;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return;
	r->backend_name = strdup(argv[1]);
	r->line = p->line;
	if (parse_rule_cond(p, argc, argv, 2, r) == -1) {
		free(r->backend_name);
		free(r);
		return;
	}
	parse_append_rule(&p->px->use_backends, r);
}

static void
kw_px_description(struct parser *p, int argc, char **argv)
{
	/* Cosmetic: HAProxy shows it on its stats page; splicer has none. */
}

/* Options splicer implements, and their flags. */
struct option_kw {
	const char *name;
	unsigned int flag;
	unsigned int where;
};

static const struct option_kw option_kws[] = {
	{ "allbackups",      CONF_OPT_ALLBACKUPS,  SEC_BE_SIDE },
	{ "dontlognull",     CONF_OPT_DONTLOGNULL, SEC_FE_SIDE },
	{ "log-health-checks", CONF_OPT_LOG_HEALTH, SEC_BE_SIDE },
	{ "redispatch",      CONF_OPT_REDISPATCH,  SEC_BE_SIDE },
	{ "splice-auto",     CONF_OPT_SPLICE_AUTO, SEC_ANY_PROXY },
	{ "splice-request",  CONF_OPT_SPLICE_REQ,  SEC_ANY_PROXY },
	{ "splice-response", CONF_OPT_SPLICE_RSP,  SEC_ANY_PROXY },
	{ "tcplog",          CONF_OPT_TCPLOG,      SEC_FE_SIDE },
};

/* HAProxy options that only make sense for HTTP. */
static const char *const http_options[] = {
	"abortonclose", "accept-invalid-http-request", "accept-invalid-http-response",
	"forwardfor", "h1-case-adjust-bogus-client", "h1-case-adjust-bogus-server",
	"http-buffer-request", "http-ignore-probes", "http-keep-alive",
	"http-no-delay", "http-pretend-keepalive", "http-restrict-req-hdr-names",
	"http-server-close", "http-use-proxy-header", "httpclose",
	"httplog", "http_proxy", "originalto", "forceclose",
};

/* HAProxy TCP options splicer does not implement (yet). */
static const char *const later_options[] = {
	"checkcache", "clitcpka", "contstats", "disable-h2-upgrade",
	"dontlog-normal", "external-check", "idle-close-on-response",
	"independent-streams",
	"log-separate-errors", "logasap", "nolinger",
	"persist", "prefer-last-server",
	"socket-stats", "spop-check", "srvtcpka",
	"tcp-smart-accept", "tcp-smart-connect",
	"tcpka", "transparent",
};

static void
parse_option(struct parser *p, int argc, char **argv, int negate)
{
	const char *name = argv[1];
	char where[128];

	if (name == NULL) {
		parse_err(p, "'option' expects a name");
		return;
	}
	for (size_t i = 0; i < sizeof(option_kws) / sizeof(*option_kws); i++) {
		if (strcmp(option_kws[i].name, name) != 0)
			continue;
		/* "option redispatch [N]": how often a retry changes server. */
		if (option_kws[i].flag == CONF_OPT_REDISPATCH && argc == 3 && !negate) {
			char *end;
			long n = strtol(argv[2], &end, 10);

			if (*end != '\0' || end == argv[2] || n == 0 || n < -100 || n > 100) {
				parse_err(p, "'option redispatch %s': expected a non-zero number from "
				    "-100 to 100", argv[2]);
				return;
			}
			p->px->redispatch_every = (int)n;
			argc = 2;
		}
		if (parse_no_more_args(p, argc, argv, 2) == -1)
			return;
		if (!(option_kws[i].where & p->sec)) {
			parse_warn(p, "'option %s' ignored %s: it applies to frontends only",
			    name, parse_where(p, where, sizeof(where)));
			return;
		}
		if (negate)
			p->px->opts &= ~option_kws[i].flag;
		else
			p->px->opts |= option_kws[i].flag;
		return;
	}
	{
		char err[512];
		int rc = conf_health_option(p->px, argc, argv, negate, err, sizeof(err));

		if (rc < 0)
			parse_err(p, "%s", err);
		if (rc != 0)
			return;
	}
	for (size_t i = 0; i < sizeof(http_options) / sizeof(*http_options); i++) {
		if (strcmp(http_options[i], name) == 0) {
			parse_err(p, "'option %s' is not supported: it is an HTTP option and "
			    "splicer is a TCP proxy", name);
			return;
		}
	}
	for (size_t i = 0; i < sizeof(later_options) / sizeof(*later_options); i++) {
		if (strcmp(later_options[i], name) == 0) {
			parse_err(p, "'option %s' is not supported yet", name);
			return;
		}
	}
	{
		const char *names[sizeof(option_kws) / sizeof(*option_kws)];
		char sugg[64];

		for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
			names[i] = option_kws[i].name;
		parse_err(p, "unknown option '%s'%s", name,
		    parse_suggest(name, names, sizeof(names) / sizeof(*names), sugg, sizeof(sugg)));
	}
}

static void
kw_px_option(struct parser *p, int argc, char **argv)
{
	parse_option(p, argc, argv, 0);
}

static void
kw_px_no(struct parser *p, int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "option") == 0) {
		parse_option(p, argc - 1, argv + 1, 1);
		return;
	}
	if (argc == 2 && strcmp(argv[1], "log") == 0) {
		p->px->log_global = 0;
		return;
	}
	parse_err(p, "'no' expects 'option NAME' or 'log'");
}

/* ---- keyword tables, sorted by name ---- */

struct kw {
	const char *name;
	unsigned int where;	/* SEC_* where the keyword is valid */
	void (*parse)(struct parser *p, int argc, char **argv);
};

static const struct kw global_kws[] = {
	{ "bandwidth-limit", SEC_GLOBAL, kw_global_bandwidth },
	{ "chroot",          SEC_GLOBAL, kw_global_string },
	{ "daemon",          SEC_GLOBAL, kw_global_daemon },
	{ "gid",             SEC_GLOBAL, kw_global_id },
	{ "grace",           SEC_GLOBAL, kw_global_grace },
	{ "group",           SEC_GLOBAL, kw_global_string },
	{ "hard-stop-after", SEC_GLOBAL, kw_global_hard_stop_after },
	{ "log",             SEC_GLOBAL, kw_global_log },
	{ "maxconn",         SEC_GLOBAL, kw_global_maxconn },
	{ "maxpipes",        SEC_GLOBAL, kw_global_pipes },
	{ "nbthread",        SEC_GLOBAL, kw_global_nbthread },
	{ "nosockmap",       SEC_GLOBAL, kw_global_nosockmap },
	{ "pidfile",         SEC_GLOBAL, kw_global_pidfile },
	{ "spread-checks",   SEC_GLOBAL, kw_global_spread_checks },
	{ "stats",           SEC_GLOBAL, kw_global_stats },
	{ "tune.pipe.prealloc", SEC_GLOBAL, kw_global_pipes },
	{ "tune.pipesize",   SEC_GLOBAL, kw_global_pipesize },
	{ "tune.sockmap.promote-bytes", SEC_GLOBAL, kw_global_promote },
	{ "tune.sockmap.promote-max-rate", SEC_GLOBAL, kw_global_promote },
	{ "uid",             SEC_GLOBAL, kw_global_id },
	{ "user",            SEC_GLOBAL, kw_global_string },
};

static const struct kw proxy_kws[] = {
	{ "acl",             SEC_FRONTEND | SEC_BACKEND | SEC_LISTEN, kw_px_acl },
	{ "balance",         SEC_BE_SIDE,                 kw_px_balance },
	{ "bandwidth-limit", SEC_ANY_PROXY,               kw_px_bandwidth },
	{ "bind",            SEC_FRONTEND | SEC_LISTEN,   kw_px_bind },
	{ "default-server",  SEC_BE_SIDE,                 kw_px_default_server },
	{ "default_backend", SEC_DEFAULTS | SEC_FRONTEND, kw_px_default_backend },
	{ "description",     SEC_ANY_PROXY,               kw_px_description },
	{ "engine",          SEC_ANY_PROXY,               kw_px_engine },
	{ "filter",          SEC_FRONTEND | SEC_BACKEND | SEC_LISTEN, kw_px_filter },
	{ "http-check",      SEC_BE_SIDE,                 kw_px_http_check },
	{ "log",             SEC_ANY_PROXY,               kw_px_log },
	{ "maxconn",         SEC_FE_SIDE,                 kw_px_maxconn },
	{ "mode",            SEC_ANY_PROXY,               kw_px_mode },
	{ "no",              SEC_ANY_PROXY,               kw_px_no },
	{ "option",          SEC_ANY_PROXY,               kw_px_option },
	{ "rate-limit",      SEC_FE_SIDE,                 kw_px_rate_limit },
	{ "retries",         SEC_BE_SIDE,                 kw_px_retries },
	{ "server",          SEC_BACKEND | SEC_LISTEN,    kw_px_server },
	{ "tcp-check",       SEC_BE_SIDE,                 kw_px_tcp_check },
	{ "tcp-request",     SEC_FRONTEND | SEC_BACKEND | SEC_LISTEN, kw_px_tcp_request },
	{ "timeout",         SEC_ANY_PROXY,               kw_px_timeout },
	{ "use_backend",     SEC_FRONTEND | SEC_LISTEN,   kw_px_use_backend },
};

/* HAProxy keywords splicer does not implement, with the reason given. */
struct unsupported_kw {
	const char *name;
	const char *why;
};

static const struct unsupported_kw unsupported_kws[] = {
	{ "ca-base",               "not supported: splicer does not terminate TLS" },
	{ "capture",               "not supported: it is an HTTP feature and splicer is a TCP proxy" },
	{ "compression",           "not supported: it is an HTTP feature and splicer is a TCP proxy" },
	{ "cookie",                "not supported: it is an HTTP feature and splicer is a TCP proxy" },
	{ "crt-base",              "not supported: splicer does not terminate TLS" },
	{ "errorfile",             "not supported: it is an HTTP feature and splicer is a TCP proxy" },
	{ "fullconn",              "not supported yet" },
	{ "hash-type",             "not supported yet" },
	{ "http-after-response",   "not supported: it is an HTTP feature and splicer is a TCP proxy" },
	{ "http-request",          "not supported: it is an HTTP feature and splicer is a TCP proxy" },
	{ "http-response",         "not supported: it is an HTTP feature and splicer is a TCP proxy" },
	{ "http-reuse",            "not supported: it is an HTTP feature and splicer is a TCP proxy" },
	{ "monitor-uri",           "not supported: it is an HTTP feature and splicer is a TCP proxy" },
	{ "nbproc",                "not supported: splicer uses threads (nbthread)" },
	{ "redirect",              "not supported: it is an HTTP feature and splicer is a TCP proxy" },
	{ "source",                "not supported yet" },
	{ "ssl-default-bind-ciphers", "not supported: splicer does not terminate TLS" },
	{ "ssl-default-bind-ciphersuites", "not supported: splicer does not terminate TLS" },
	{ "ssl-default-bind-options", "not supported: splicer does not terminate TLS" },
	{ "stats",                 "not supported yet" },
	{ "stick",                 "not supported yet" },
	{ "stick-table",           "not supported yet" },
	{ "tcp-response",          "not supported yet" },
	{ "use-server",            "not supported yet" },
};

/* HAProxy sections splicer does not have; their lines are skipped. */
static const char *const unsupported_sections[] = {
	"cache", "crt-store", "fcgi-app", "http-errors", "mailers", "peers",
	"program", "resolvers", "ring", "userlist",
};

static const struct kw *
parse_find_kw(const struct kw *tab, size_t n, const char *name)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(name, tab[mid].name);

		if (c == 0)
			return &tab[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* ---- sections ---- */

/* Start a proxy section from the built-in values or from a defaults one. */
static struct conf_proxy *
parse_new_proxy(struct parser *p, const char *name, unsigned int cap,
    const struct conf_proxy *from)
{
	struct conf_proxy *px = calloc(1, sizeof(*px));

	if (px == NULL)
		return NULL;
	px->name = name != NULL ? strdup(name) : NULL;
	px->cap = cap;
	px->file = p->file;
	px->line = p->line;
	px->retries = CONF_DEFAULT_RETRIES;
	px->redispatch_every = -1;
	px->random_draws = 2;
	px->defsrv.weight = 1;
	px->defsrv.check_inter = 2000000;	/* HAProxy's defaults */
	px->defsrv.check_rise = 2;
	px->defsrv.check_fall = 3;
	px->defsrv.agent_inter = 2000000;	/* HAProxy's agent-inter */
	px->defsrv.error_limit = 10;		/* HAProxy's error-limit and on-error */
	px->defsrv.on_error = CONF_ONERR_FAIL_CHECK;
	if (from != NULL) {
		px->to = from->to;
		px->retries = from->retries;
		px->redispatch_every = from->redispatch_every;
		px->balance = from->balance;
		px->random_draws = from->random_draws;
		px->defsrv = from->defsrv;
		px->maxconn = from->maxconn;
		px->rate_limit = from->rate_limit;
		px->opts = from->opts;
		px->engine = from->engine;
		px->log_global = from->log_global;
		conf_health_inherit(px, from);
		for (struct shaper_group *g = from->shapers, **tail = &px->shapers; g != NULL;
		    g = g->next) {
			if ((*tail = shaper_group_clone(g)) != NULL)
				tail = &(*tail)->next;
		}
		if (from->default_backend != NULL && (cap & CONF_PX_FE)) {
			px->default_backend = strdup(from->default_backend);
			px->default_backend_line = from->default_backend_line;
		}
		/* Log targets of a defaults section are shared as copies. */
		for (struct conf_log *l = from->logs, **tail = &px->logs; l != NULL; l = l->next) {
			struct conf_log *c = malloc(sizeof(*c));

			if (c == NULL)
				break;
			*c = *l;
			c->path = l->path != NULL ? strdup(l->path) : NULL;
			c->next = NULL;
			*tail = c;
			tail = &c->next;
		}
	}
	return px;
}

static struct conf_proxy *
parse_find_defaults(struct parser *p, const char *name)
{
	for (struct conf_proxy *d = p->conf->defaults; d != NULL; d = d->next) {
		if (d->name != NULL && strcmp(d->name, name) == 0)
			return d;
	}
	return NULL;
}

/* Handle a section header; returns 1 if argv[0] named a section. */
static int
parse_section(struct parser *p, int argc, char **argv)
{
	static const struct { const char *name; int sec; unsigned int cap; } secs[] = {
		{ "backend",  SEC_BACKEND,  CONF_PX_BE },
		{ "defaults", SEC_DEFAULTS, CONF_PX_DEF },
		{ "frontend", SEC_FRONTEND, CONF_PX_FE },
		{ "global",   SEC_GLOBAL,   0 },
		{ "listen",   SEC_LISTEN,   CONF_PX_FE | CONF_PX_BE },
	};
	const struct conf_proxy *from;
	struct conf_proxy *px;
	const char *name = NULL;
	int i, sec = 0;
	unsigned int cap = 0;

	for (size_t k = 0; k < sizeof(secs) / sizeof(*secs); k++) {
		if (strcmp(argv[0], secs[k].name) == 0) {
			sec = secs[k].sec;
			cap = secs[k].cap;
		}
	}
	if (sec == 0) {
		for (size_t k = 0; k < sizeof(unsupported_sections) / sizeof(*unsupported_sections); k++) {
			if (strcmp(argv[0], unsupported_sections[k]) == 0) {
				parse_err(p, "section '%s' is not supported by splicer", argv[0]);
				p->sec = SEC_IGNORED;
				p->px = NULL;
				return 1;
			}
		}
		return 0;
	}
	p->px = NULL;
	p->sec = sec;
	if (sec == SEC_GLOBAL) {
		if (argc > 1)
			parse_err(p, "section 'global' takes no name; unexpected '%s'", argv[1]);
		return 1;
	}

	/* "defaults [NAME] [from DEF]", "frontend NAME [from DEF]" ... */
	i = 1;
	if (argc > i && strcmp(argv[i], "from") != 0)
		name = argv[i++];
	if (name == NULL && sec != SEC_DEFAULTS) {
		parse_err(p, "'%s' section needs a name", argv[0]);
		p->sec = SEC_IGNORED;
		return 1;
	}
	if (name != NULL && !parse_valid_name(name)) {
		parse_err(p, "%s name '%s' may only hold letters, digits, '-', '_', '.' and ':'",
		    argv[0], name);
		p->sec = SEC_IGNORED;
		return 1;
	}
	from = sec == SEC_DEFAULTS ? NULL : p->conf->defaults;
	if (argc > i && strcmp(argv[i], "from") == 0) {
		if (argc != i + 2) {
			parse_err(p, "'from' expects the name of a defaults section");
			p->sec = SEC_IGNORED;
			return 1;
		}
		if ((from = parse_find_defaults(p, argv[i + 1])) == NULL) {
			parse_err(p, "%s '%s' is from defaults '%s', which is not declared before it",
			    argv[0], name != NULL ? name : "", argv[i + 1]);
			p->sec = SEC_IGNORED;
			return 1;
		}
		i += 2;
	}
	if (argc > i) {
		parse_err(p, "unexpected '%s' after the %s section name", argv[i], argv[0]);
		p->sec = SEC_IGNORED;
		return 1;
	}
	if ((px = parse_new_proxy(p, name, cap, from)) == NULL)
		return 1;
	if (sec == SEC_DEFAULTS) {
		px->next = p->conf->defaults;
		p->conf->defaults = px;
	} else {
		struct conf_proxy **tail;

		for (tail = &p->conf->proxies; *tail != NULL; tail = &(*tail)->next)
			;
		*tail = px;
	}
	p->px = px;
	return 1;
}

static void
parse_keyword(struct parser *p, int argc, char **argv)
{
	const struct kw *tab = p->sec == SEC_GLOBAL ? global_kws : proxy_kws;
	size_t n = p->sec == SEC_GLOBAL ? sizeof(global_kws) / sizeof(*global_kws)
	    : sizeof(proxy_kws) / sizeof(*proxy_kws);
	const struct kw *k = parse_find_kw(tab, n, argv[0]);
	char where[128], sugg[96];

	if (k != NULL && (k->where & p->sec)) {
		k->parse(p, argc, argv);
		return;
	}
	if (k != NULL) {
		parse_err(p, "'%s' is not allowed %s", argv[0], parse_where(p, where, sizeof(where)));
		return;
	}
	/* A global keyword in a proxy, or the reverse. */
	if (parse_find_kw(p->sec == SEC_GLOBAL ? proxy_kws : global_kws,
	    p->sec == SEC_GLOBAL ? sizeof(proxy_kws) / sizeof(*proxy_kws)
	    : sizeof(global_kws) / sizeof(*global_kws), argv[0]) != NULL) {
		parse_err(p, "'%s' is not allowed %s", argv[0], parse_where(p, where, sizeof(where)));
		return;
	}
	for (size_t i = 0; i < sizeof(unsupported_kws) / sizeof(*unsupported_kws); i++) {
		if (strcmp(unsupported_kws[i].name, argv[0]) == 0) {
			parse_err(p, "'%s' is %s", argv[0], unsupported_kws[i].why);
			return;
		}
	}
	{
		const char *names[32];
		size_t m = 0;

		for (size_t i = 0; i < n && m < 32; i++) {
			if (tab[i].where & p->sec)
				names[m++] = tab[i].name;
		}
		parse_err(p, "unknown keyword '%s' %s%s", argv[0],
		    parse_where(p, where, sizeof(where)),
		    parse_suggest(argv[0], names, m, sugg, sizeof(sugg)));
	}
}

int
conf_parse_buffer(struct conf *c, const char *name, const char *buf, size_t len,
    struct conf_msgs *errs, struct conf_msgs *warns)
{
	struct parser p;
	struct conf_lex lx;
	struct conf_line line;
	char err[512];
	char **files;
	int rc;

	files = realloc(c->files, (size_t)(c->nfiles + 1) * sizeof(*files));
	if (files == NULL)
		return 1;
	c->files = files;
	c->files[c->nfiles++] = strdup(name);

	memset(&p, 0, sizeof(p));
	p.conf = c;
	p.errs = errs;
	p.warns = warns;
	p.file = c->files[c->nfiles - 1];
	conf_lex_init(&lx, buf, len);
	while ((rc = conf_lex_next(&lx, &line, err, sizeof(err))) != 0) {
		p.line = line.lineno;
		if (rc == -1) {
			parse_err(&p, "%s", err);
			continue;
		}
		if (parse_section(&p, line.argc, line.argv))
			continue;
		if (p.sec == SEC_IGNORED)
			continue;
		if (p.sec == 0) {
			parse_err(&p, "'%s' outside any section (expected global, defaults, "
			    "frontend, backend or listen)", line.argv[0]);
			continue;
		}
		parse_keyword(&p, line.argc, line.argv);
	}
	conf_lex_free(&lx);
	return p.nerr;
}

int
conf_parse_file(struct conf *c, const char *path, struct conf_msgs *errs,
    struct conf_msgs *warns)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int fd, n;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		conf_msgs_add(errs, "%s: cannot open: %s", path, strerror(errno));
		return 1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		conf_msgs_add(errs, "%s: not a regular file", path);
		close(fd);
		return 1;
	}
	if (st.st_mode & S_IWOTH)
		conf_msgs_add(warns, "%s: the file is writable by every user", path);
	/* Bounded: a configuration larger than 64 MiB is a mistake. */
	if (st.st_size > (64 << 20)) {
		conf_msgs_add(errs, "%s: file too large (%lld bytes, at most 64 MiB)", path,
		    (long long)st.st_size);
		close(fd);
		return 1;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		return 1;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);

		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	n = conf_parse_buffer(c, path, buf, got, errs, warns);
	free(buf);
	return n;
}
