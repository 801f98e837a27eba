/*
 * conf_kw_proxy: the handlers of the keywords of proxy sections (defaults,
 * frontend, backend, listen) but bind and server lines (their table is
 * in conf_parse.c).
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
#include "sample.h"
#include "conf_lex.h"
#include "conf_kw.h"
#include "log_format.h"
#include "conf_parse.h"
#include "conf_health.h"
#include "conf_httpchk.h"
#include "conf_shape.h"
#include "conf_stats.h"
#include "conf_statspage.h"
#include "units.h"

/* ---- proxy sections ---- */

void
kw_px_mode(struct parser *p, int argc, char **argv)
{
	if (argc < 2) {
		parse_err(p, "'mode' expects 'tcp'");
		return;
	}
	if (strcmp(argv[1], "http") != 0 && strcmp(argv[1], "tcp") != 0) {
		parse_err(p, "'mode %s' is not supported: splicer only knows 'mode tcp'",
		    argv[1]);
		return;
	}
	if (parse_no_more_args(p, argc, argv, 2) == -1)
		return;
	/* A defaults section in mode http is common in files whose TCP proxies
	 * say "mode tcp": conf_check refuses only a proxy left in mode http. */
	p->px->mode_http = strcmp(argv[1], "http") == 0;
	p->px->mode_file = p->file;
	p->px->mode_line = p->line;
}

/* "stats ..." and "monitor-uri PATH": in a proxy in mode http, the stats
 * page (if the proxy turns out to hold nothing else, parse_end_proxy);
 * elsewhere inert, as in HAProxy's TCP proxies. */
void
kw_px_stats(struct parser *p, int argc, char **argv)
{
	char err[256], warn[256];

	if (!p->px->mode_http || (p->px->cap & CONF_PX_DEF)) {
		parse_warn(p, "'%s' has no effect %s: it is HTTP-only, and HAProxy ignores it in "
		    "a TCP proxy (splicer serves it in a listen or frontend in mode http)", argv[0],
		    parse_where(p, err, sizeof(err)));
		return;
	}
	if (conf_statspage_parse(p->px, argc, argv, err, sizeof(err), warn, sizeof(warn)) == -1)
		parse_err(p, "%s", err);
	else if (warn[0] != '\0')
		parse_warn(p, "%s", warn);
}

/* "monitor fail if|unless COND": while a condition holds, the monitor-uri of
 * a stats page answers 503 (HAProxy's semantics). Inert, with a warning,
 * where HAProxy has no monitor-uri to serve: a backend, a TCP proxy. */
void
kw_px_monitor(struct parser *p, int argc, char **argv)
{
	struct acl_cond *cond;
	char err[256];

	if (argc < 2 || strcmp(argv[1], "fail") != 0) {
		parse_err(p, "'monitor' only supports 'fail'");
		return;
	}
	if (argc < 4 || (strcmp(argv[2], "if") != 0 && strcmp(argv[2], "unless") != 0)) {
		parse_err(p, "'monitor fail' requires either 'if' or 'unless' followed by a "
		    "condition");
		return;
	}
	if (parse_cond(p, argc, argv, 2, &cond) == -1)
		return;
	if (!(p->px->cap & CONF_PX_FE) || !p->px->mode_http) {
		parse_warn(p, "'monitor fail' has no effect %s: %s", parse_where(p, err,
		    sizeof(err)), (p->px->cap & CONF_PX_FE) ? "it is HTTP-only, and HAProxy "
		    "ignores it in a TCP proxy" : "HAProxy ignores it without a frontend side");
		acl_free_cond(cond);
		return;
	}
	if (conf_statspage_monitor(p->px, cond, err, sizeof(err)) == -1) {
		acl_free_cond(cond);
		parse_err(p, "%s", err);
	}
}

void
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

void
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
	for (size_t i = 0; i < nitems(timeout_kws); i++) {
		if (strcmp(timeout_kws[i].name, argv[1]) == 0)
			t = &timeout_kws[i];
	}
	if (t == NULL) {
		for (size_t i = 0; i < nitems(http_only); i++) {
			if (strcmp(http_only[i], argv[1]) == 0) {
				char where[128];

				if (parse_time_arg(p, argv[1], argv[2], &v) == 0)
					parse_warn(p, "'timeout %s' has no effect %s: it is an HTTP "
					    "timeout, and HAProxy ignores it in a TCP proxy", argv[1],
					    parse_where(p, where, sizeof(where)));
				return;
			}
		}
		PARSE_UNKNOWN(p, "timeout", argv[1], timeout_kws);
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

void
kw_px_retries(struct parser *p, int argc, char **argv)
{
	uint64_t v;

	if (parse_no_more_args(p, argc, argv, 2) == 0 &&
	    parse_uint_arg(p, argv[0], argv[1], 0, 100, &v) == 0)
		p->px->retries = (unsigned int)v;
}

void
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

void
kw_px_bandwidth(struct parser *p, int argc, char **argv)
{
	struct shaper_group *g;
	char err[512];

	if ((g = conf_shape_limit(argc, argv, p->line, err, sizeof(err))) == NULL)
		parse_err(p, "%s", err);
	else
		parse_add_shaper(p, g);
}

void
kw_px_filter(struct parser *p, int argc, char **argv)
{
	struct shaper_group *g;
	char err[512];

	if ((g = conf_shape_filter(argc, argv, p->line, err, sizeof(err))) == NULL)
		parse_err(p, "%s", err);
	else
		parse_add_shaper(p, g);
}

void
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

void
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

void
kw_px_balance(struct parser *p, int argc, char **argv)
{
	static const struct { const char *name; enum conf_balance lb; } algos[] = {
		{ "first", CONF_LB_FIRST }, { "leastconn", CONF_LB_LEASTCONN },
		{ "random", CONF_LB_RANDOM }, { "roundrobin", CONF_LB_ROUNDROBIN },
		{ "source", CONF_LB_SOURCE }, { "static-rr", CONF_LB_STATIC_RR },
	};
	static const char *const http_only[] = { "uri", "url_param", "hdr" };
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
	for (size_t i = 0; i < nitems(algos); i++) {
		if (strcmp(name, algos[i].name) == 0) {
			p->px->balance = algos[i].lb;
			p->px->random_draws = draws;
			return;
		}
	}
	for (size_t i = 0; i < nitems(http_only); i++) {
		if (strncmp(name, http_only[i], strlen(http_only[i])) == 0) {
			/* HAProxy: "Layer 7 hash not possible ... Falling back to
			 * round robin." */
			parse_warn(p, "'balance %s' has no effect: it hashes HTTP data, and a TCP "
			    "proxy falls back to roundrobin as in HAProxy", name);
			p->px->balance = CONF_LB_ROUNDROBIN;
			return;
		}
	}
	if (strncmp(name, "rdp-cookie", 10) == 0 || strncmp(name, "hash", 4) == 0) {
		parse_err(p, "'balance %s' is not supported yet", name);
		return;
	}
	PARSE_UNKNOWN(p, "balance algorithm", name, algos);
}

void
kw_px_log(struct parser *p, int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "global") == 0) {
		p->px->log_global = 1;
		return;
	}
	parse_log_into(p, &p->px->logs, argc, argv);
}

/* "log-format FORMAT": the words are one format (as HAProxy joins them). */
void
kw_px_log_format(struct parser *p, int argc, char **argv)
{
	char fmt[4096], err[512];
	size_t len = 0;
	struct log_fmt *f;

	if (argc < 2) {
		parse_err(p, "'log-format' expects a format string (%%ci:%%cp [%%t] ...)");
		return;
	}
	for (int i = 1; i < argc; i++)
		len += (size_t)snprintf(fmt + len, len < sizeof(fmt) ? sizeof(fmt) - len : 0,
		    "%s%s", i > 1 ? " " : "", argv[i]);
	if (len >= sizeof(fmt)) {
		parse_err(p, "'log-format': longer than %zu bytes", sizeof(fmt) - 1);
		return;
	}
	if (log_fmt_compile(fmt, &f, err, sizeof(err)) == -1) {
		parse_err(p, "%s", err);
		return;
	}
	free(p->px->log_format);
	log_fmt_free(p->px->logfmt);
	p->px->log_format = strdup(fmt);
	p->px->logfmt = f;
	if (p->px->log_format == NULL)
		parse_err(p, "out of memory");
}

/* An ACL's error: an unknown fetch or converter is reported with the
 * nearest known one, as unknown keywords are. */
static void
kw_px_acl_err(struct parser *p, const char *prefix, const char *err)
{
	const char *names[128];
	char word[128];

	if (sscanf(err, "unknown fetch '%127[^']'", word) == 1)
		parse_unknown(p, "fetch", word, names, sample_names(names, nitems(names)),
		    sizeof(*names));
	else if (sscanf(err, "unknown converter '%127[^']'", word) == 1)
		parse_unknown(p, "converter", word, names, sample_conv_names(names,
		    nitems(names)), sizeof(*names));
	else if (err[0] != '\0')
		parse_err(p, "%s%s", prefix, err);
}

void
kw_px_acl(struct parser *p, int argc, char **argv)
{
	char err[512];

	if (acl_parse_decl(&p->px->acls, argc, argv, err, sizeof(err)) == -1)
		kw_px_acl_err(p, "", err);
	acl_set_line(p->px->acls, p->line);
}

int
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
		/* No message when it names an ACL whose own line failed and
		 * said why. */
		char prefix[64];

		snprintf(prefix, sizeof(prefix), "'%s': ", argv[0]);
		kw_px_acl_err(p, prefix, err);
		return -1;
	}
	acl_set_line(p->px->acls, p->line);
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

void
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

/* "tcp-request inspect-delay TIME". */
static void
kw_px_inspect_delay(struct parser *p, int argc, char **argv)
{
	if (argc != 3) {
		parse_err(p, "'tcp-request inspect-delay' expects a time (e.g. 5s)");
		return;
	}
	if (parse_time_arg(p, "tcp-request inspect-delay", argv[2], &p->px->inspect_delay) == 0)
		p->px->inspect_delay_line = p->line;
}

/* "tcp-request connection|content ACTION [ARGS] [if|unless COND]". */
static void
kw_px_tcp_rule(struct parser *p, int argc, char **argv, unsigned int where)
{
	const struct acl_action *act;
	struct acl_rule *r;
	int used = 1;
	char err[512];

	if (argc < 3 || (act = acl_action_find(argv[2], where)) == NULL) {
		parse_err(p, "'tcp-request %s %s' is not supported (supported: accept, reject%s)",
		    argv[1], argc < 3 ? "" : argv[2], where == ACL_RULE_CONTENT ?
		    ", set-bandwidth-limit" : "");
		return;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return;
	r->act = act;
	r->action = act->verdict;
	r->line = p->line;
	if (act->parse != NULL &&
	    act->parse(r, argc - 2, argv + 2, &used, err, sizeof(err)) == -1) {
		parse_err(p, "'tcp-request %s %s': %s", argv[1], argv[2], err);
		acl_free_rules(r);
		return;
	}
	if (parse_rule_cond(p, argc, argv, 2 + used, r) == -1) {
		acl_free_rules(r);
		return;
	}
	parse_append_rule(where == ACL_RULE_CONTENT ? &p->px->tcp_content_rules :
	    &p->px->tcp_conn_rules, r);
}

void
kw_px_tcp_request(struct parser *p, int argc, char **argv)
{
	const char *what = argc >= 2 ? argv[1] : "";

	if (argc >= 3 && strcmp(what, "content") == 0 &&
	    strcmp(argv[2], "set-bandwidth-limit") == 0) {
		kw_px_set_bandwidth(p, argc, argv);
		return;
	}
	if (strcmp(what, "connection") != 0 && strcmp(what, "content") != 0 &&
	    strcmp(what, "inspect-delay") != 0) {
		if (strcmp(what, "session") == 0)
			parse_err(p, "'tcp-request session' is not supported yet (supported: "
			    "tcp-request connection|content, tcp-request inspect-delay)");
		else
			parse_err(p, "'tcp-request' expects 'connection', 'content' or "
			    "'inspect-delay'");
		return;
	}
	if (!(p->px->cap & CONF_PX_FE)) {
		/* HAProxy also runs content rules of a backend once it is
		 * chosen; splicer inspects before choosing it, in the frontend. */
		parse_err(p, "'tcp-request %s' belongs in a frontend or listen section", what);
		return;
	}
	if (strcmp(what, "inspect-delay") == 0)
		kw_px_inspect_delay(p, argc, argv);
	else
		kw_px_tcp_rule(p, argc, argv, strcmp(what, "content") == 0 ? ACL_RULE_CONTENT :
		    ACL_RULE_CONNECTION);
}

/* "http-check ...": conf_httpchk.c. */
void
kw_px_http_check(struct parser *p, int argc, char **argv)
{
	char err[512];

	if (conf_httpchk_line(p->px, argc, argv, p->line, err, sizeof(err)) == -1)
		parse_err(p, "%s", err);
}

/* "tcp-check ...": conf_health.c. */
void
kw_px_tcp_check(struct parser *p, int argc, char **argv)
{
	char err[512];

	if (conf_health_tcp_check(p->px, argc, argv, p->line, err, sizeof(err)) == -1)
		parse_err(p, "%s", err);
}

void
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

void
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
	{ "clitcpka",        CONF_OPT_CLITCPKA,    SEC_FE_SIDE },
	{ "dontlognull",     CONF_OPT_DONTLOGNULL, SEC_FE_SIDE },
	{ "log-health-checks", CONF_OPT_LOG_HEALTH, SEC_BE_SIDE },
	{ "redispatch",      CONF_OPT_REDISPATCH,  SEC_BE_SIDE },
	{ "splice-auto",     CONF_OPT_SPLICE_AUTO, SEC_ANY_PROXY },
	{ "splice-request",  CONF_OPT_SPLICE_REQ,  SEC_ANY_PROXY },
	{ "splice-response", CONF_OPT_SPLICE_RSP,  SEC_ANY_PROXY },
	{ "srvtcpka",        CONF_OPT_SRVTCPKA,    SEC_BE_SIDE },
	{ "tcpka",           CONF_OPT_CLITCPKA | CONF_OPT_SRVTCPKA, SEC_ANY_PROXY },
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
	"checkcache", "contstats", "disable-h2-upgrade",
	"dontlog-normal", "external-check", "idle-close-on-response",
	"independent-streams",
	"log-separate-errors", "logasap", "nolinger",
	"persist", "prefer-last-server",
	"socket-stats", "spop-check",
	"tcp-smart-accept", "tcp-smart-connect",
	"transparent",
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
	for (size_t i = 0; i < nitems(option_kws); i++) {
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
			parse_warn(p, "'option %s' ignored %s: it applies to %s only",
			    name, parse_where(p, where, sizeof(where)),
			    (option_kws[i].where & SEC_FRONTEND) ? "frontends" : "backends");
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
	for (size_t i = 0; i < nitems(http_options); i++) {
		if (strcmp(http_options[i], name) != 0)
			continue;
		/* HAProxy ignores them in a TCP proxy; "option httplog" falls
		 * back to tcplog there. */
		if (strcmp(name, "httplog") == 0 && !negate) {
			p->px->opts |= CONF_OPT_TCPLOG;
			parse_warn(p, "'option httplog' is an HTTP log: a TCP proxy falls back to "
			    "'option tcplog' as in HAProxy");
		} else {
			parse_warn(p, "'%soption %s' has no effect %s: it is an HTTP option, and "
			    "HAProxy ignores it in a TCP proxy", negate ? "no " : "", name,
			    parse_where(p, where, sizeof(where)));
		}
		return;
	}
	for (size_t i = 0; i < nitems(later_options); i++) {
		if (strcmp(later_options[i], name) == 0) {
			parse_err(p, "'option %s' is not supported yet", name);
			return;
		}
	}
	PARSE_UNKNOWN(p, "option", name, option_kws);
}

void
kw_px_option(struct parser *p, int argc, char **argv)
{
	parse_option(p, argc, argv, 0);
}

void
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

/* "clitcpka-idle|-intvl TIME", "clitcpka-cnt N" and their srvtcpka-
 * twins: the keep-alive probes of option clitcpka / srvtcpka. */
void
kw_px_tcpka(struct parser *p, int argc, char **argv)
{
	struct conf_tcpka *ka = &p->px->tcpka[argv[0][0] == 's'];
	const char *what = argv[0] + 9;		/* after "clitcpka-" */
	uint64_t v;

	if (parse_no_more_args(p, argc, argv, 2) == -1)
		return;
	if (strcmp(what, "cnt") == 0) {
		if (parse_uint_arg(p, argv[0], argv[1], 1, 127, &v) == 0)
			ka->cnt = (unsigned int)v;
		return;
	}
	if (parse_time_arg(p, argv[0], argv[1], &v) == -1)
		return;
	/* The kernel counts in seconds, from 1 to 32767. */
	if (v < 1000000 || v > 32767000000ULL) {
		parse_err(p, "'%s %s': from 1s to 32767s (the kernel counts whole seconds)",
		    argv[0], argv[1]);
		return;
	}
	*(strcmp(what, "idle") == 0 ? &ka->idle : &ka->intvl) = (unsigned int)(v / 1000000);
}
