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

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "acl.h"
#include "conf_cond.h"
#include "conf_lex.h"
#include "conf_kw.h"
#include "conf_parse.h"
#include "conf_resolvers.h"
#include "log_format.h"
#include "conf_health.h"
#include "conf_httpchk.h"
#include "conf_shape.h"
#include "conf_stats.h"
#include "conf_statspage.h"
#include "units.h"

void
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

void
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
const char *
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

/*
 * Write " (did you mean 'X'?)" for the name nearest word, or "". The
 * names are those of a table's n entries, which lie stride bytes apart
 * and each start with their name (a const char *), as a keyword table or
 * a list of names; keep, when not NULL, says which entries may be named.
 * The one did-you-mean of the parser: parse_unknown() and the keyword
 * dispatch both come here.
 */
static const char *
parse_suggest(const char *word, const void *table, size_t n, size_t stride,
    int (*keep)(const void *entry, const void *arg), const void *arg, char *buf, size_t len)
{
	const char *best = NULL;
	size_t wlen = strlen(word), bestd = 99, limit = wlen <= 4 ? 1 : 2;

	for (size_t i = 0; i < n; i++) {
		const void *entry = (const char *)table + i * stride;
		const char *name = *(const char *const *)entry;
		size_t nlen = strlen(name), d;

		if (keep != NULL && !keep(entry, arg))
			continue;
		/* The distance is at least the difference of the lengths: a name
		 * too long or too short to be suggested needs no table. */
		if (nlen > wlen + limit || wlen > nlen + limit)
			continue;
		d = parse_distance(word, name);

		if (d < bestd) {
			bestd = d;
			best = name;
		}
	}
	if (best != NULL && bestd <= limit)
		snprintf(buf, len, " (did you mean '%s'?)", best);
	else
		buf[0] = '\0';
	return buf;
}

void
parse_unknown(struct parser *p, const char *what, const char *word, const void *table,
    size_t n, size_t stride)
{
	char sugg[96];

	parse_err(p, "unknown %s '%s'%s", what, word,
	    parse_suggest(word, table, n, stride, NULL, NULL, sugg, sizeof(sugg)));
}

/* ---- shared value helpers ---- */

int
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

int
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

int
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
int
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

			static const struct { const char *name; enum conf_log_format f; } fmts[] = {
				{ "raw", CONF_LOG_FMT_RAW }, { "rfc3164", CONF_LOG_FMT_RFC3164 },
				{ "short", CONF_LOG_FMT_SHORT }, { "local", CONF_LOG_FMT_LOCAL },
				{ "rfc5424", CONF_LOG_FMT_RFC5424 },
				{ "priority", CONF_LOG_FMT_PRIORITY },
				{ "timed", CONF_LOG_FMT_TIMED }, { "iso", CONF_LOG_FMT_ISO },
			};
			size_t k = 0;

			while (k < sizeof(fmts) / sizeof(*fmts) && strcmp(f, fmts[k].name) != 0)
				k++;
			if (k == sizeof(fmts) / sizeof(*fmts)) {
				snprintf(err, errlen, "log format '%s' is not supported (supported: "
				    "local, rfc3164, rfc5424, priority, short, timed, iso, raw)", f);
				goto fail;
			}
			l->format = fmts[k].f;
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

void
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
	{ "no",              SEC_GLOBAL, kw_global_no },
	{ "nosockmap",       SEC_GLOBAL, kw_global_nosockmap },
	{ "nosplice",        SEC_GLOBAL, kw_global_nosockmap },
	{ "pidfile",         SEC_GLOBAL, kw_global_pidfile },
	{ "spread-checks",   SEC_GLOBAL, kw_global_spread_checks },
	{ "stats",           SEC_GLOBAL, kw_global_stats },
	{ "tune.pipe.prealloc", SEC_GLOBAL, kw_global_pipes },
	{ "tune.pipesize",   SEC_GLOBAL, kw_global_pipesize },
	{ "tune.sockmap.promote-bytes", SEC_GLOBAL, kw_global_promote },
	{ "tune.sockmap.promote-max-rate", SEC_GLOBAL, kw_global_promote },
	{ "uid",             SEC_GLOBAL, kw_global_id },
	{ "ulimit-n",        SEC_GLOBAL, kw_global_ulimit },
	{ "user",            SEC_GLOBAL, kw_global_string },
};

static const struct kw proxy_kws[] = {
	{ "acl",             SEC_FRONTEND | SEC_BACKEND | SEC_LISTEN, kw_px_acl },
	{ "balance",         SEC_BE_SIDE,                 kw_px_balance },
	{ "bandwidth-limit", SEC_ANY_PROXY,               kw_px_bandwidth },
	{ "bind",            SEC_FRONTEND | SEC_LISTEN,   kw_px_bind },
	{ "clitcpka-cnt",    SEC_FE_SIDE,                 kw_px_tcpka },
	{ "clitcpka-idle",   SEC_FE_SIDE,                 kw_px_tcpka },
	{ "clitcpka-intvl",  SEC_FE_SIDE,                 kw_px_tcpka },
	{ "default-server",  SEC_BE_SIDE,                 kw_px_default_server },
	{ "default_backend", SEC_DEFAULTS | SEC_FRONTEND, kw_px_default_backend },
	{ "description",     SEC_ANY_PROXY,               kw_px_description },
	{ "engine",          SEC_ANY_PROXY,               kw_px_engine },
	{ "filter",          SEC_FRONTEND | SEC_BACKEND | SEC_LISTEN, kw_px_filter },
	{ "force-persist",   SEC_BACKEND | SEC_LISTEN,    kw_px_persist },
	{ "http-check",      SEC_BE_SIDE,                 kw_px_http_check },
	{ "ignore-persist",  SEC_BACKEND | SEC_LISTEN,    kw_px_persist },
	{ "log",             SEC_ANY_PROXY,               kw_px_log },
	{ "log-format",      SEC_FE_SIDE,                 kw_px_log_format },
	{ "maxconn",         SEC_FE_SIDE,                 kw_px_maxconn },
	{ "mode",            SEC_ANY_PROXY,               kw_px_mode },
	{ "monitor",         SEC_FRONTEND | SEC_BACKEND | SEC_LISTEN, kw_px_monitor },
	{ "monitor-uri",     SEC_ANY_PROXY,               kw_px_stats },
	{ "no",              SEC_ANY_PROXY,               kw_px_no },
	{ "option",          SEC_ANY_PROXY,               kw_px_option },
	{ "rate-limit",      SEC_FE_SIDE,                 kw_px_rate_limit },
	{ "retries",         SEC_BE_SIDE,                 kw_px_retries },
	{ "server",          SEC_BACKEND | SEC_LISTEN,    kw_px_server },
	{ "server-template", SEC_BACKEND | SEC_LISTEN,    kw_px_server_template },
	{ "srvtcpka-cnt",    SEC_BE_SIDE,                 kw_px_tcpka },
	{ "srvtcpka-idle",   SEC_BE_SIDE,                 kw_px_tcpka },
	{ "srvtcpka-intvl",  SEC_BE_SIDE,                 kw_px_tcpka },
	{ "stats",           SEC_ANY_PROXY,               kw_px_stats },
	{ "stick",           SEC_BACKEND | SEC_LISTEN,    kw_px_stick },
	{ "stick-table",     SEC_FRONTEND | SEC_BACKEND | SEC_LISTEN, kw_px_stick_table },
	{ "tcp-check",       SEC_BE_SIDE,                 kw_px_tcp_check },
	{ "tcp-request",     SEC_FRONTEND | SEC_BACKEND | SEC_LISTEN, kw_px_tcp_request },
	{ "timeout",         SEC_ANY_PROXY,               kw_px_timeout },
	{ "use-server",      SEC_BACKEND | SEC_LISTEN,    kw_px_use_server },
	{ "use_backend",     SEC_FRONTEND | SEC_LISTEN,   kw_px_use_backend },
};

/* HAProxy keywords splicer does not implement, with the reason given. */
struct unsupported_kw {
	const char *name;
	const char *why;
};

static const struct unsupported_kw unsupported_kws[] = {
	{ "backlog",               "not supported yet (bind ... backlog N is)" },
	{ "bind-process",          "not supported: splicer runs one process (nbthread)" },
	{ "cpu-map",               "not supported yet" },
	{ "email-alert",           "not supported yet" },
	{ "external-check",        "not supported yet" },
	{ "fullconn",              "not supported yet" },
	{ "hash-type",             "not supported yet" },
	{ "httpclient.resolvers.prefer", "not supported: splicer has no HTTP client" },
	{ "load-server-state-from-file", "not supported yet" },
	{ "log-send-hostname",     "not supported yet" },
	{ "log-tag",               "not supported yet" },
	{ "lua-load",              "not supported: splicer has no Lua" },
	{ "lua-load-per-thread",   "not supported: splicer has no Lua" },
	{ "lua-prepend-path",      "not supported: splicer has no Lua" },
	{ "master-worker",         "not supported: splicer runs one process (nbthread)" },
	{ "nbproc",                "not supported: splicer uses threads (nbthread)" },
	{ "presetenv",             "not supported yet" },
	{ "resetenv",              "not supported yet" },
	{ "server-state-file",     "not supported yet" },
	{ "setenv",                "not supported yet" },
	{ "source",                "not supported yet" },
	{ "strict-limits",         "not supported yet" },
	{ "tcp-response",          "not supported yet" },
	{ "tune.bufsize",          "not supported yet: splicer's buffers are pipes (tune.pipesize)" },
	{ "tune.lua.bool-sample-conversion", "not supported: splicer has no Lua" },
	{ "tune.lua.maxmem",       "not supported: splicer has no Lua" },
	{ "tune.maxaccept",        "not supported yet" },
	{ "unsetenv",              "not supported yet" },
};


/* Lines HAProxy ignores in a TCP proxy (the HTTP ones) or that only serve
 * TLS, which splicer neither terminates nor originates: each is a warning
 * that it has no effect, and the file loads. */
struct inert_kw {
	const char *name;
	unsigned int where;	/* SEC_* where it is inert */
	const char *why;
};

#define INERT_TLS "splicer does not terminate TLS"
#define INERT_HTTP "it is HTTP-only, and HAProxy ignores it in a TCP proxy"
static const struct inert_kw inert_kws[] = {
	{ "ca-base",                       SEC_GLOBAL,    INERT_TLS },
	{ "capture",                       SEC_ANY_PROXY, INERT_HTTP },
	{ "compression",                   SEC_ANY_PROXY, INERT_HTTP },
	{ "cookie",                        SEC_ANY_PROXY, INERT_HTTP },
	{ "crt-base",                      SEC_GLOBAL,    INERT_TLS },
	{ "errorfile",                     SEC_ANY_PROXY, INERT_HTTP },
	{ "errorfiles",                    SEC_ANY_PROXY, INERT_HTTP },
	{ "errorloc",                      SEC_ANY_PROXY, INERT_HTTP },
	{ "errorloc302",                   SEC_ANY_PROXY, INERT_HTTP },
	{ "errorloc303",                   SEC_ANY_PROXY, INERT_HTTP },
	{ "http-after-response",           SEC_ANY_PROXY, INERT_HTTP },
	{ "http-error",                    SEC_ANY_PROXY, INERT_HTTP },
	{ "http-request",                  SEC_ANY_PROXY, INERT_HTTP },
	{ "http-response",                 SEC_ANY_PROXY, INERT_HTTP },
	{ "http-reuse",                    SEC_ANY_PROXY, INERT_HTTP },
	{ "http-send-name-header",         SEC_ANY_PROXY, INERT_HTTP },
	{ "redirect",                      SEC_ANY_PROXY, INERT_HTTP },
	{ "ssl-default-bind-ciphers",      SEC_GLOBAL,    INERT_TLS },
	{ "ssl-default-bind-ciphersuites", SEC_GLOBAL,    INERT_TLS },
	{ "ssl-default-bind-curves",       SEC_GLOBAL,    INERT_TLS },
	{ "ssl-default-bind-options",      SEC_GLOBAL,    INERT_TLS },
	{ "ssl-default-bind-sigalgs",      SEC_GLOBAL,    INERT_TLS },
	{ "ssl-default-server-ciphers",    SEC_GLOBAL,    INERT_TLS },
	{ "ssl-default-server-ciphersuites", SEC_GLOBAL,  INERT_TLS },
	{ "ssl-default-server-curves",     SEC_GLOBAL,    INERT_TLS },
	{ "ssl-default-server-options",    SEC_GLOBAL,    INERT_TLS },
	{ "ssl-default-server-sigalgs",    SEC_GLOBAL,    INERT_TLS },
	{ "ssl-dh-param-file",             SEC_GLOBAL,    INERT_TLS },
	{ "ssl-engine",                    SEC_GLOBAL,    INERT_TLS },
	{ "ssl-mode-async",                SEC_GLOBAL,    INERT_TLS },
	{ "ssl-server-verify",             SEC_GLOBAL,    INERT_TLS },
	{ "tune.h2.",                      SEC_GLOBAL,    INERT_HTTP },
	{ "tune.http.",                    SEC_GLOBAL,    INERT_HTTP },
	{ "tune.maxrewrite",               SEC_GLOBAL,    INERT_HTTP },
	{ "tune.ssl.",                     SEC_GLOBAL,    INERT_TLS },
	{ "unique-id-format",              SEC_ANY_PROXY, INERT_HTTP },
	{ "unique-id-header",              SEC_ANY_PROXY, INERT_HTTP },
};
#undef INERT_TLS
#undef INERT_HTTP

/* The inert entry for word in section sec: a name ending in '.' is a
 * family ("tune.ssl." covers tune.ssl.default-dh-param). */
static const struct inert_kw *
parse_find_inert(const char *word, int sec)
{
	for (size_t i = 0; i < nitems(inert_kws); i++) {
		const char *n = inert_kws[i].name;
		size_t l = strlen(n);

		if (!(inert_kws[i].where & sec))
			continue;
		if (n[l - 1] == '.' ? strncmp(word, n, l) == 0 && word[l] != '\0' :
		    strcmp(word, n) == 0)
			return &inert_kws[i];
	}
	return NULL;
}

/* HAProxy sections splicer does not have; their lines are skipped. */
static const char *const unsupported_sections[] = {
	"cache", "crt-store", "fcgi-app", "http-errors", "mailers", "peers",
	"program", "ring", "userlist",
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
	char err[256];

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
	px->defsrv.dns.prefer = AF_INET6;	/* HAProxy's resolve-prefer */
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
		memcpy(px->tcpka, from->tcpka, sizeof(px->tcpka));
		px->mode_http = from->mode_http;
		px->mode_file = from->mode_file;
		px->mode_line = from->mode_line;
		px->engine = from->engine;
		px->log_global = from->log_global;
		if (conf_health_inherit(px, from) == -1)
			parse_err(p, "out of memory copying the health checks of defaults '%s'",
			    from->name != NULL ? from->name : "");
		for (struct shaper_group *g = from->shapers, **tail = &px->shapers; g != NULL;
		    g = g->next) {
			if ((*tail = shaper_group_clone(g)) != NULL)
				tail = &(*tail)->next;
		}
		if (from->default_backend != NULL && (cap & CONF_PX_FE)) {
			px->default_backend = strdup(from->default_backend);
			px->default_backend_line = from->default_backend_line;
		}
		if (from->log_format != NULL && (cap & CONF_PX_FE) &&
		    ((px->log_format = strdup(from->log_format)) == NULL ||
		    log_fmt_compile(px->log_format, &px->logfmt, err, sizeof(err)) == -1))
			parse_err(p, "out of memory copying the log-format of defaults '%s'",
			    from->name != NULL ? from->name : "");
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

/* The proxy section p->px ends: one left in mode http (its own line or
 * one of its defaults) is refused with one error naming it. */
static void
parse_end_proxy(struct parser *p)
{
	struct conf_proxy *px = p->px;
	int line = p->line;

	if (px == NULL || (px->cap & CONF_PX_DEF) || !px->mode_http)
		return;
	if (conf_statspage_only(px)) {
		struct conf_proxy **at = &p->conf->proxies, **tail = &p->conf->stats_pages;

		while (*at != px)
			at = &(*at)->next;
		*at = px->next;
		while (*tail != NULL)
			tail = &(*tail)->next;
		*tail = px;
		px->next = NULL;
		return;
	}
	p->line = px->line;
	if (px->mode_file == p->file && px->mode_line > px->line)
		p->line = px->mode_line;
	parse_err(p, "%s '%s' is an HTTP proxy ('mode http' at %s:%d): splicer is a TCP "
	    "proxy; add 'mode tcp' if it relays TCP", conf_proxy_kind(px), px->name,
	    px->mode_file, px->mode_line);
	p->line = line;
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

	for (size_t k = 0; k < nitems(secs); k++) {
		if (strcmp(argv[0], secs[k].name) == 0) {
			sec = secs[k].sec;
			cap = secs[k].cap;
		}
	}
	if (sec == 0 && strcmp(argv[0], "resolvers") == 0) {
		parse_end_proxy(p);
		p->px = NULL;
		return conf_resolvers_section(p, argc, argv);
	}
	if (sec == 0) {
		for (size_t k = 0; k < nitems(unsupported_sections); k++) {
			if (strcmp(argv[0], unsupported_sections[k]) == 0) {
				parse_end_proxy(p);
				if (strcmp(argv[0], "peers") == 0)
					parse_err(p, "section 'peers' is not supported by splicer: its stick "
					    "tables live in one process, shared by its threads, and are "
					    "synchronized with no peer");
				else
					parse_err(p, "section '%s' is not supported by splicer", argv[0]);
				p->sec = SEC_IGNORED;
				p->px = NULL;
				return 1;
			}
		}
		return 0;
	}
	parse_end_proxy(p);
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
	if ((px = parse_new_proxy(p, name, cap, from)) == NULL) {
		parse_err(p, "out of memory for the %s section", argv[0]);
		p->sec = SEC_IGNORED;
		return 1;
	}
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

/* May keyword table entry kw be suggested in p's section? */
static int
parse_kw_here(const void *kw, const void *p)
{
	return (((const struct kw *)kw)->where & ((const struct parser *)p)->sec) != 0;
}

static void
parse_keyword(struct parser *p, int argc, char **argv)
{
	const struct kw *tab = p->sec == SEC_GLOBAL ? global_kws : proxy_kws;
	size_t n = p->sec == SEC_GLOBAL ? nitems(global_kws)
	    : nitems(proxy_kws);
	const struct kw *k = parse_find_kw(tab, n, argv[0]);
	const struct inert_kw *ik;
	char where[128], sugg[96];

	if (k != NULL && (k->where & p->sec)) {
		k->parse(p, argc, argv);
		return;
	}
	if (k != NULL) {
		parse_err(p, "'%s' is not allowed %s", argv[0], parse_where(p, where, sizeof(where)));
		return;
	}
	if ((ik = parse_find_inert(argv[0], p->sec)) != NULL) {
		parse_warn(p, "'%s' has no effect %s: %s", argv[0],
		    parse_where(p, where, sizeof(where)), ik->why);
		if (p->px != NULL)
			p->px->http_lines = 1;
		return;
	}
	/* A global keyword in a proxy, or the reverse. */
	if (parse_find_kw(p->sec == SEC_GLOBAL ? proxy_kws : global_kws,
	    p->sec == SEC_GLOBAL ? nitems(proxy_kws)
	    : nitems(global_kws), argv[0]) != NULL) {
		parse_err(p, "'%s' is not allowed %s", argv[0], parse_where(p, where, sizeof(where)));
		return;
	}
	for (size_t i = 0; i < nitems(unsupported_kws); i++) {
		if (strcmp(unsupported_kws[i].name, argv[0]) == 0) {
			parse_err(p, "'%s' is %s", argv[0], unsupported_kws[i].why);
			return;
		}
	}
	parse_err(p, "unknown keyword '%s' %s%s", argv[0], parse_where(p, where, sizeof(where)),
	    parse_suggest(argv[0], tab, n, sizeof(*tab), parse_kw_here, p, sugg, sizeof(sugg)));
}

int
conf_parse_buffer(struct conf *c, const char *name, const char *buf, size_t len,
    struct conf_msgs *errs, struct conf_msgs *warns)
{
	struct parser p;
	struct conf_lex lx;
	struct conf_line line;
	struct conf_cond cc = { 0 };
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
			if (conf_cond_active(&cc))
				parse_err(&p, "%s", err);
			continue;
		}
		switch (conf_cond_line(&cc, line.argc, line.argv, line.lineno, err, sizeof(err))) {
		case CONF_COND_ERROR:
			parse_err(&p, "%s", err);
			continue;
		case CONF_COND_WARNING:
			parse_warn(&p, "%s", err);
			continue;
		case CONF_COND_DONE:
			continue;
		case CONF_COND_NONE:
			break;
		}
		if (!conf_cond_active(&cc))
			continue;
		if (parse_section(&p, line.argc, line.argv))
			continue;
		if (p.sec == SEC_IGNORED)
			continue;
		if (p.sec == SEC_RESOLVERS) {
			conf_resolvers_line(&p, line.argc, line.argv);
			continue;
		}
		if (p.sec == 0) {
			parse_err(&p, "'%s' outside any section (expected global, defaults, "
			    "frontend, backend or listen)", line.argv[0]);
			continue;
		}
		parse_keyword(&p, line.argc, line.argv);
	}
	if (conf_cond_end(&cc, &p.line, err, sizeof(err)) == -1)
		parse_err(&p, "%s", err);
	parse_end_proxy(&p);
	conf_lex_free(&lx);
	return p.nerr;
}

/* Files of a directory that "-f DIR" reads: its *.cfg, as HAProxy. */
static int
conf_parse_is_cfg(const struct dirent *de)
{
	size_t l = strlen(de->d_name);

	return de->d_name[0] != '.' && l > 4 && strcmp(de->d_name + l - 4, ".cfg") == 0;
}

static int
conf_parse_name_cmp(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* "-f DIR": each *.cfg file of DIR in lexical (byte) order, as HAProxy. */
static int
conf_parse_dir(struct conf *c, const char *dir, struct conf_msgs *errs,
    struct conf_msgs *warns)
{
	struct dirent **list;
	int n, nerr = 0;

	if ((n = scandir(dir, &list, conf_parse_is_cfg, conf_parse_name_cmp)) == -1) {
		conf_msgs_add(errs, "%s: cannot read the directory: %s", dir, strerror(errno));
		return 1;
	}
	if (n == 0)
		conf_msgs_add(warns, "%s: the directory has no *.cfg file", dir);
	for (int i = 0; i < n; i++) {
		char path[PATH_MAX];
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s", dir, list[i]->d_name);
		/* A subdirectory or a socket named *.cfg is not read, as HAProxy. */
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
			nerr += conf_parse_file(c, path, errs, warns);
		free(list[i]);
	}
	free(list);
	return nerr;
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
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		close(fd);
		return conf_parse_dir(c, path, errs, warns);
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
