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
#include "conf_resolvers.h"
#include "conf_shape.h"
#include "conf_stats.h"
#include "units.h"

/*
 * HAProxy bind and server keywords splicer does not implement: how many
 * values each takes (so that the rest of the line is still read and every
 * unsupported option is reported, not only the first), and what it is.
 */
enum { OPT_LATER, OPT_TLS, OPT_TLS_PARAM, OPT_HTTP, OPT_UNIX };

struct other_opt {
	const char *name;
	int nargs;
	int kind;		/* OPT_* */
};

static const struct other_opt bind_other[] = {
	{ "accept-netscaler-cip", 1, OPT_LATER }, { "allow-0rtt", 0, OPT_TLS_PARAM },
	{ "alpn", 1, OPT_TLS_PARAM }, { "ca-file", 1, OPT_TLS_PARAM },
	{ "ca-ignore-err", 1, OPT_TLS_PARAM }, { "ca-sign-file", 1, OPT_TLS_PARAM },
	{ "ca-sign-pass", 1, OPT_TLS_PARAM }, { "ca-verify-file", 1, OPT_TLS_PARAM },
	{ "ciphers", 1, OPT_TLS_PARAM }, { "ciphersuites", 1, OPT_TLS_PARAM },
	{ "client-sigalgs", 1, OPT_TLS_PARAM }, { "crl-file", 1, OPT_TLS_PARAM },
	{ "crt", 1, OPT_TLS_PARAM }, { "crt-ignore-err", 1, OPT_TLS_PARAM },
	{ "crt-list", 1, OPT_TLS_PARAM }, { "curves", 1, OPT_TLS_PARAM },
	{ "defer-accept", 0, OPT_LATER }, { "ecdhe", 1, OPT_TLS_PARAM },
	{ "expose-fd", 1, OPT_UNIX }, { "force-sslv3", 0, OPT_TLS_PARAM },
	{ "force-tlsv10", 0, OPT_TLS_PARAM }, { "force-tlsv11", 0, OPT_TLS_PARAM },
	{ "force-tlsv12", 0, OPT_TLS_PARAM }, { "force-tlsv13", 0, OPT_TLS_PARAM },
	{ "generate-certificates", 0, OPT_TLS_PARAM }, { "gid", 1, OPT_UNIX },
	{ "group", 1, OPT_UNIX }, { "id", 1, OPT_LATER }, { "interface", 1, OPT_LATER },
	{ "level", 1, OPT_UNIX }, { "mode", 1, OPT_UNIX }, { "mss", 1, OPT_LATER },
	{ "namespace", 1, OPT_LATER }, { "nbconn", 1, OPT_LATER }, { "nice", 1, OPT_LATER },
	{ "no-ca-names", 0, OPT_TLS_PARAM }, { "no-sslv3", 0, OPT_TLS_PARAM },
	{ "no-tls-tickets", 0, OPT_TLS_PARAM }, { "no-tlsv10", 0, OPT_TLS_PARAM },
	{ "no-tlsv11", 0, OPT_TLS_PARAM }, { "no-tlsv12", 0, OPT_TLS_PARAM },
	{ "no-tlsv13", 0, OPT_TLS_PARAM }, { "npn", 1, OPT_TLS_PARAM },
	{ "prefer-client-ciphers", 0, OPT_TLS_PARAM }, { "process", 1, OPT_LATER },
	{ "proto", 1, OPT_LATER }, { "severity-output", 1, OPT_UNIX },
	{ "shards", 1, OPT_LATER }, { "sigalgs", 1, OPT_TLS_PARAM }, { "ssl", 0, OPT_TLS },
	{ "ssl-max-ver", 1, OPT_TLS_PARAM }, { "ssl-min-ver", 1, OPT_TLS_PARAM },
	{ "strict-sni", 0, OPT_TLS_PARAM }, { "tcp-ut", 1, OPT_LATER },
	{ "thread", 1, OPT_LATER }, { "tls-ticket-keys", 1, OPT_TLS_PARAM },
	{ "transparent", 0, OPT_LATER }, { "uid", 1, OPT_UNIX }, { "user", 1, OPT_UNIX },
	{ "verify", 1, OPT_TLS_PARAM },
};

static const struct other_opt server_other[] = {
	{ "allow-0rtt", 0, OPT_TLS_PARAM }, { "alpn", 1, OPT_TLS_PARAM },
	{ "ca-file", 1, OPT_TLS_PARAM }, { "check-alpn", 1, OPT_TLS_PARAM },
	{ "check-proto", 1, OPT_LATER }, { "check-send-proxy", 0, OPT_LATER },
	{ "check-sni", 1, OPT_TLS_PARAM }, { "check-ssl", 0, OPT_TLS },
	{ "check-via-socks4", 0, OPT_LATER }, { "ciphers", 1, OPT_TLS_PARAM },
	{ "ciphersuites", 1, OPT_TLS_PARAM }, { "client-sigalgs", 1, OPT_TLS_PARAM },
	{ "cookie", 1, OPT_HTTP }, { "crl-file", 1, OPT_TLS_PARAM },
	{ "crt", 1, OPT_TLS_PARAM }, { "curves", 1, OPT_TLS_PARAM },
	{ "force-sslv3", 0, OPT_TLS_PARAM }, { "force-tlsv10", 0, OPT_TLS_PARAM },
	{ "force-tlsv11", 0, OPT_TLS_PARAM }, { "force-tlsv12", 0, OPT_TLS_PARAM },
	{ "force-tlsv13", 0, OPT_TLS_PARAM }, { "id", 1, OPT_LATER },
	{ "log-proto", 1, OPT_LATER },
	{ "max-reuse", 1, OPT_HTTP },
	{ "minconn", 1, OPT_LATER }, { "namespace", 1, OPT_LATER },
	{ "no-check-ssl", 0, OPT_TLS_PARAM }, { "no-send-proxy-v2-ssl", 0, OPT_TLS_PARAM },
	{ "no-send-proxy-v2-ssl-cn", 0, OPT_TLS_PARAM }, { "no-ssl", 0, OPT_TLS_PARAM },
	{ "no-ssl-reuse", 0, OPT_TLS_PARAM }, { "no-sslv3", 0, OPT_TLS_PARAM },
	{ "no-tls-tickets", 0, OPT_TLS_PARAM }, { "no-tlsv10", 0, OPT_TLS_PARAM },
	{ "no-tlsv11", 0, OPT_TLS_PARAM }, { "no-tlsv12", 0, OPT_TLS_PARAM },
	{ "no-tlsv13", 0, OPT_TLS_PARAM }, { "no-verifyhost", 0, OPT_TLS_PARAM },
	{ "non-stick", 0, OPT_LATER }, { "npn", 1, OPT_TLS_PARAM },
	{ "pool-low-conn", 1, OPT_HTTP }, { "pool-max-conn", 1, OPT_HTTP },
	{ "pool-purge-delay", 1, OPT_HTTP }, { "proto", 1, OPT_LATER },
	{ "proxy-v2-options", 1, OPT_LATER }, { "redir", 1, OPT_HTTP },
	{ "resolve-net", 1, OPT_LATER },
	{ "send-proxy-v2-ssl", 0, OPT_LATER }, { "send-proxy-v2-ssl-cn", 0, OPT_LATER },
	{ "set-proxy-v2-tlv-fmt", 1, OPT_LATER }, { "shard", 1, OPT_LATER },
	{ "sigalgs", 1, OPT_TLS_PARAM }, { "sni", 1, OPT_TLS_PARAM },
	{ "socks4", 1, OPT_LATER }, { "source", 1, OPT_LATER }, { "ssl", 0, OPT_TLS },
	{ "ssl-max-ver", 1, OPT_TLS_PARAM }, { "ssl-min-ver", 1, OPT_TLS_PARAM },
	{ "ssl-reuse", 0, OPT_TLS_PARAM }, { "stick", 0, OPT_LATER },
	{ "tcp-ut", 1, OPT_LATER }, { "tfo", 0, OPT_LATER }, { "track", 1, OPT_LATER },
	{ "verify", 1, OPT_TLS_PARAM }, { "verifyhost", 1, OPT_TLS_PARAM },
	{ "ws", 1, OPT_HTTP },
};

/* Is o an option name: one of known[] or of tab[]? */
static int
parse_is_opt(const char *o, const char *const *known, size_t n, const struct other_opt *tab,
    size_t ntab)
{
	for (size_t k = 0; k < n; k++) {
		if (strcmp(known[k], o) == 0)
			return 1;
	}
	for (size_t k = 0; k < ntab; k++) {
		if (strcmp(tab[k].name, o) == 0)
			return 1;
	}
	return 0;
}

/*
 * Option argv[*i] of a "bind" or "server" line (what: "bind" or "server")
 * that is not one of splicer's: report it by its kind, step over its
 * values, and return 1 if it is an error. An unknown word gets the nearest
 * of known[] (n of them).
 */
static int
parse_other_opt(struct parser *p, const char *what, const struct other_opt *tab, size_t ntab,
    int argc, char **argv, int *i, const char *const *known, size_t n)
{
	const char *o = argv[*i];
	const struct other_opt *x = NULL;
	char names[64], where[128];

	for (size_t k = 0; k < ntab && x == NULL; k++) {
		if (strcmp(tab[k].name, o) == 0)
			x = &tab[k];
	}
	if (x == NULL) {
		snprintf(names, sizeof(names), "%s option", what);
		parse_unknown(p, names, o, known, n, sizeof(*known));
		/* A misspelt option's value is not another unknown option. */
		if (*i + 1 < argc && !parse_is_opt(argv[*i + 1], known, n, tab, ntab))
			(*i)++;
		return 1;
	}
	if (*i + x->nargs >= argc) {
		parse_err(p, "%s option '%s' expects a value", what, o);
		*i = argc;
		return 1;
	}
	*i += x->nargs;
	switch (x->kind) {
	case OPT_TLS:
		parse_err(p, "%s option '%s' is not supported %s: splicer does not %s TLS", what,
		    o, parse_where(p, where, sizeof(where)),
		    strcmp(what, "bind") == 0 ? "terminate" : "originate");
		return 1;
	case OPT_TLS_PARAM:
		parse_warn(p, "%s option '%s' has no effect: it is a TLS setting, and splicer "
		    "does not do TLS", what, o);
		return 0;
	case OPT_HTTP:
		parse_warn(p, "%s option '%s' has no effect: it is HTTP-only, and HAProxy "
		    "ignores it in a TCP proxy", what, o);
		return 0;
	case OPT_UNIX:
		parse_err(p, "%s option '%s' is not supported: it is for UNIX socket "
		    "listeners, which splicer does not have", what, o);
		return 1;
	default:
		if (strcmp(o, "resolve-net") == 0)
			parse_err(p, "%s option 'resolve-net' is not supported yet: the addresses "
			    "of an answer are taken in its order, the resolve-prefer family "
			    "first", what);
		else
			parse_err(p, "%s option '%s' is not supported yet", what, o);
		return 1;
	}
}

/* A file's bind addresses, a port range counting a bind per port: each is
 * a listening socket per worker thread. Kubernetes' NodePort range
 * (30000-32767) fits; a range of every port does not. */
#define CONF_MAX_BINDS	4096

/* Add one bind address (port already a single number) with opts at
 * *tail, which then points past it. -1 when it is refused. */
static int
parse_bind_one(struct parser *p, const char *a, const struct conf_bind *opts,
    struct conf_bind ***tail)
{
	struct conf_bind *b;
	char err[512];

	if (p->nbinds >= CONF_MAX_BINDS) {
		parse_err(p, "bind: too many addresses in one file (at most %d, a port range "
		    "counting one per port)", CONF_MAX_BINDS);
		return -1;
	}
	if ((b = calloc(1, sizeof(*b))) == NULL) {
		parse_err(p, "bind: out of memory");
		return -1;
	}
	if (sockaddr_parse(a, SOCKADDR_F_ANY, &b->addr, err, sizeof(err)) == -1) {
		parse_err(p, "bind: %s", err);
		free(b);
		return -1;
	}
	b->backlog = opts->backlog;
	b->v6only = opts->v6only;
	b->tfo = opts->tfo;
	b->accept_proxy = opts->accept_proxy;
	b->maxconn = opts->maxconn;
	b->name = opts->name != NULL ? strdup(opts->name) : NULL;
	b->line = p->line;
	**tail = b;
	*tail = &b->next;
	p->nbinds++;
	return 0;
}

/* One address of a bind line: "ADDR:A-B" is a bind per port of A..B. */
static void
parse_bind_addr(struct parser *p, const char *a, const struct conf_bind *opts,
    struct conf_bind ***tail)
{
	const char *colon = strrchr(a, ':'), *dash;
	unsigned long lo, hi;
	char *end, buf[300];

	if (colon == NULL || (dash = strchr(colon, '-')) == NULL) {
		parse_bind_one(p, a, opts, tail);
		return;
	}
	lo = strtoul(colon + 1, &end, 10);
	if (end != dash || dash == colon + 1) {
		parse_bind_one(p, a, opts, tail);	/* reports the malformed port */
		return;
	}
	hi = strtoul(dash + 1, &end, 10);
	if (*end != '\0' || end == dash + 1 || lo < 1 || hi > 65535 || hi < lo) {
		parse_err(p, "bind: address '%s' has an invalid port range (expected A-B, "
		    "1 <= A <= B <= 65535)", a);
		return;
	}
	if (hi - lo + 1 > CONF_MAX_BINDS - p->nbinds) {
		parse_err(p, "bind: address '%s' is a range of %lu ports: too many for one file "
		    "(at most %d bind addresses, a range counting one per port)", a, hi - lo + 1,
		    CONF_MAX_BINDS);
		return;
	}
	/* One error for the range, not one per port. */
	for (unsigned long port = lo; port <= hi; port++) {
		snprintf(buf, sizeof(buf), "%.*s:%lu", (int)(colon - a), a, port);
		if (parse_bind_one(p, buf, opts, tail) == -1)
			break;
	}
}

void
kw_px_bind(struct parser *p, int argc, char **argv)
{
	static const char *const known[] = {
		"accept-proxy", "backlog", "maxconn", "name", "tfo", "v4v6", "v6only",
	};
	struct conf_bind opts, **tail;
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
			if (parse_uint_arg(p, "bind backlog", argv[i + 1], 1, 65535, &v) == 0)
				opts.backlog = (int)v;
			i += argv[i + 1] != NULL;
		} else if (strcmp(o, "maxconn") == 0) {
			if (parse_uint_arg(p, "bind maxconn", argv[i + 1], 1, CONF_MAXCONN_MAX,
			    &v) == 0)
				opts.maxconn = (unsigned int)v;
			i += argv[i + 1] != NULL;
		} else if (strcmp(o, "v6only") == 0) {
			opts.v6only = 1;
		} else if (strcmp(o, "v4v6") == 0) {
			opts.v6only = 0;	/* IPv4 clients too, whatever bindv6only says */
		} else if (strcmp(o, "tfo") == 0) {
			opts.tfo = 1;
		} else if (strcmp(o, "accept-proxy") == 0) {
			opts.accept_proxy = 1;
		} else if (strcmp(o, "name") == 0) {
			if (argv[i + 1] == NULL)
				parse_err(p, "bind option 'name' expects a name");
			else
				opts.name = argv[++i];
		} else {
			parse_other_opt(p, "bind", bind_other, nitems(bind_other), argc, argv,
			    &i, known, nitems(known));
		}
	}
	/* The addresses are read even after a bad option, for their errors
	 * too: the file is refused anyway. */
	if ((list = strdup(argv[1])) == NULL) {
		parse_err(p, "bind: out of memory");
		return;
	}
	for (tail = &p->px->binds; *tail != NULL; tail = &(*tail)->next)
		;
	for (tok = strtok_r(list, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save))
		parse_bind_addr(p, tok, &opts, &tail);
	free(list);
}

/* Server option argv[*i] if it is one of splicer's: 1 (values consumed),
 * 0 if it is not, -1 after reporting a bad value. */
static int
parse_server_opt(struct parser *p, int argc, char **argv, int *ip, struct conf_server *s)
{
	const char *o = argv[*ip], *val = *ip + 1 < argc ? argv[*ip + 1] : NULL;
	char err[512], kw[32];
	uint64_t v;
	int rc;

	snprintf(kw, sizeof(kw), "server %s", o);
	if (strcmp(o, "weight") == 0 || strcmp(o, "maxconn") == 0 || strcmp(o, "maxqueue") == 0) {
		int w = o[0] == 'w';

		if (parse_uint_arg(p, kw, val, 0, w ? 256 : CONF_MAXCONN_MAX, &v) == -1)
			return -1;
		*(w ? &s->weight : strcmp(o, "maxqueue") == 0 ? &s->maxqueue : &s->maxconn) =
		    (unsigned int)v;
		(*ip)++;
	} else if (strcmp(o, "send-proxy") == 0 || strcmp(o, "send-proxy-v2") == 0) {
		s->send_proxy = o[10] == '\0' ? 1 : 2;
	} else if (strcmp(o, "no-send-proxy") == 0 || strcmp(o, "no-send-proxy-v2") == 0) {
		s->send_proxy = 0;
	} else if (strcmp(o, "check") == 0 || strcmp(o, "no-check") == 0) {
		s->check = o[0] == 'c';
	} else if (strcmp(o, "inter") == 0 || strcmp(o, "fastinter") == 0 ||
	    strcmp(o, "downinter") == 0) {
		uint64_t *dst = o[0] == 'i' ? &s->check_inter :
		    o[0] == 'f' ? &s->check_fastinter : &s->check_downinter;

		if (parse_time_arg(p, kw, val, dst) == -1)
			return -1;
		if (*dst < 1000) {
			parse_err(p, "'server %s %s': at least 1ms", o, val);
			return -1;
		}
		(*ip)++;
	} else if (strcmp(o, "rise") == 0 || strcmp(o, "fall") == 0) {
		if (parse_uint_arg(p, kw, val, 1, 1000, &v) == -1)
			return -1;
		*(o[0] == 'r' ? &s->check_rise : &s->check_fall) = (unsigned int)v;
		(*ip)++;
	} else if (strcmp(o, "observe") == 0 && val != NULL && strcmp(val, "layer7") == 0) {
		/* HAProxy alerts and goes on, observe left as it was:
		 * layer7 watches HTTP answers, and every proxy here is TCP. */
		parse_warn(p, "server option 'observe layer7' can only be used in http "
		    "proxies, so it has no effect (observe stays as it was)");
		(*ip)++;
	} else if ((rc = conf_health_server_opt(s, argc, argv, ip, err, sizeof(err))) != 0) {
		if (rc < 0) {
			parse_err(p, "%s", err);
			return -1;
		}
	} else if (strcmp(o, "backup") == 0 || strcmp(o, "no-backup") == 0) {
		s->backup = o[0] == 'b';
	} else if (strcmp(o, "disabled") == 0 || strcmp(o, "enabled") == 0) {
		s->disabled = o[0] == 'd';
	} else if ((rc = conf_resolvers_server_opt(p, argc, argv, ip, s)) != 0) {
		return rc;
	} else if (strcmp(o, "no-tfo") == 0) {
		/* splicer's connects never use TCP Fast Open: as asked. */
	} else {
		return 0;
	}
	return 1;
}

/*
 * Options after "server NAME ADDR" or "default-server", from argv[i] on,
 * into s. Every bad option is reported; returns 0, or -1 if any was.
 */
static int
parse_server_opts(struct parser *p, int argc, char **argv, int i, struct conf_server *s)
{
	static const char *const known[] = {
		"addr", "agent-addr", "agent-check", "agent-inter", "agent-port", "agent-send",
		"backup", "check", "error-limit", "observe", "on-error", "on-marked-down",
		"on-marked-up", "slowstart", "disabled", "downinter", "enabled", "fall", "fastinter",
		"init-addr", "inter", "maxconn", "maxqueue", "no-backup", "no-check", "no-send-proxy",
		"no-tfo", "port", "resolve-opts", "resolve-prefer", "resolvers", "rise", "send-proxy",
		"send-proxy-v2", "weight",
	};
	int bad = 0;

	for (; i < argc; i++) {
		int rc = parse_server_opt(p, argc, argv, &i, s);

		if (rc == 0)
			bad += parse_other_opt(p, "server", server_other, nitems(server_other), argc,
			    argv, &i, known, nitems(known));
		if (rc < 0) {
			bad++;
			/* Step over the bad option's value, if it has one. */
			if (i + 1 < argc && !parse_is_opt(argv[i + 1], known, nitems(known),
			    server_other, nitems(server_other)))
				i++;
		}
	}
	return bad > 0 ? -1 : 0;
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

int
parse_server_line(struct parser *p, const char *name, const char *addr, int argc,
    char **argv, int optind, unsigned int tmpl)
{
	struct conf_server *s, **tail;
	char err[512];
	int bad;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return -1;
	*s = p->px->defsrv;
	bad = sockaddr_parse(addr, SOCKADDR_F_UNIX | SOCKADDR_F_PORTREL, &s->addr, err,
	    sizeof(err)) == -1;
	if (bad)
		parse_err(p, "server '%s': %s", name, err);
	if (parse_server_opts(p, argc, argv, optind, s) == -1)
		bad = 1;
	if (!bad && s->addr.port_rel && s->check && s->check_port == 0 &&
	    !(s->dns.resolvers[0] != '\0' && conf_resolvers_is_srv(s))) {
		/* As HAProxy: the checks would have no port to go to (an SRV
		 * record gives the port). */
		parse_err(p, "server '%s' has neither a port nor a check port: 'check' needs "
		    "'port N' when the address has no port or a '+N'/'-N' one", name);
		bad = 1;
	}
	if (bad) {
		free(s);
		return -1;
	}
	if (tmpl <= 1)
		server_unix_warn(p, s, name);
	s->name = strdup(name);
	s->dns.tmpl = tmpl;
	s->next = NULL;
	s->line = p->line;
	for (tail = &p->px->servers; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = s;
	p->px->nservers++;
	return 0;
}

void
kw_px_server(struct parser *p, int argc, char **argv)
{
	if (argc < 3) {
		parse_err(p, "'server' expects NAME HOST:PORT");
		return;
	}
	if (!parse_valid_name(argv[1])) {
		parse_err(p, "server name '%s' may only hold letters, digits, '-', '_', '.' "
		    "and ':'", argv[1]);
		return;
	}
	parse_server_line(p, argv[1], argv[2], argc, argv, 3, 0);
}
