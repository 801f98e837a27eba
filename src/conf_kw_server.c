/*
 * conf_kw_server: bind and server lines and their options.
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
#include "conf_kw.h"
#include "conf_parse.h"
#include "conf_health.h"
#include "conf_httpchk.h"
#include "conf_shape.h"
#include "conf_stats.h"
#include "units.h"

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

void
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

			PARSE_UNKNOWN(p, "bind option", o, known);
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
	char err[512];
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
		} else if (strcmp(o, "observe") == 0 && i + 1 < argc &&
		    strcmp(argv[i + 1], "layer7") == 0) {
			/* HAProxy alerts and goes on, observe left as it was:
			 * layer7 watches HTTP answers, and every proxy here is TCP. */
			parse_warn(p, "server option 'observe layer7' can only be used in http "
			    "proxies, so it has no effect (observe stays as it was)");
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
			for (size_t k = 0; k < nitems(later); k++) {
				if (strcmp(later[k], o) == 0) {
					parse_err(p, "server option '%s' is not supported yet", o);
					return -1;
				}
			}
			PARSE_UNKNOWN(p, "server option", o, known);
			return -1;
		}
	}
	return 0;
}

void
kw_px_default_server(struct parser *p, int argc, char **argv)
{
	struct conf_server tmpl = p->px->defsrv;

	if (parse_server_opts(p, argc, argv, 1, &tmpl) == 0)
		p->px->defsrv = tmpl;
}

/* A unix server's address has no port: "port" without "addr", and
 * "agent-port" without "agent-addr", would set one where there is none. */
static void
server_unix_warn(struct parser *p, const struct conf_server *s, const char *name)
{
	if (s->addr.ss.ss_family != AF_UNIX)
		return;
	if (s->check_port != 0 && !s->check_addr_set)
		parse_warn(p, "server '%s': 'port' has no effect on a unix server without "
		    "'addr' (checks connect to its socket)", name);
	if (s->agent_check && !s->agent_addr_set)
		parse_warn(p, "server '%s': 'agent-port' has no effect on a unix server without "
		    "'agent-addr' (the agent is asked on its socket)", name);
}

void
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
	if (sockaddr_parse(argv[2], SOCKADDR_F_UNIX, &s->addr, err, sizeof(err)) == -1) {
		parse_err(p, "server '%s': %s", argv[1], err);
		free(s);
		return;
	}
	server_unix_warn(p, s, argv[1]);
	s->name = strdup(argv[1]);
	s->next = NULL;
	s->line = p->line;
	for (tail = &p->px->servers; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = s;
	p->px->nservers++;
}
