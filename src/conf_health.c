/*
 * conf_health: health-check grammar (see conf_health.h), as HAProxy 2.6
 * writes it for TCP proxies.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_rule.h"
#include "check_spec.h"
#include "conf_health.h"
#include "conf_httpchk.h"
#include "units.h"

/* A whole number within [lo, hi]. */
static int
conf_health_num(const char *s, long lo, long hi, long *v)
{
	char *end;

	if (s == NULL || *s == '\0')
		return -1;
	errno = 0;
	*v = strtol(s, &end, 10);
	return errno != 0 || *end != '\0' || *v < lo || *v > hi ? -1 : 0;
}

char *
conf_health_lf(const char *kw, const char *fmt, char *err, size_t errlen)
{
	size_t n = strlen(fmt), o = 0;
	char *out = malloc(n + 1);

	if (out == NULL) {
		snprintf(err, errlen, "'%s': out of memory", kw);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		size_t len;

		if (fmt[i] != '%') {
			out[o++] = fmt[i];
			continue;
		}
		if (fmt[i + 1] == '%') {
			out[o++] = '%';
			i++;
			continue;
		}
		/* The variable's extent, for the message: %[...], %{...}name, %name. */
		if (fmt[i + 1] == '[')
			len = strcspn(fmt + i, "]") + (fmt[i + strcspn(fmt + i, "]")] == ']');
		else
			len = 1 + strspn(fmt + i + 1, "{}+-,abcdefghijklmnopqrstuvwxyz"
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
		snprintf(err, errlen, "'%s': '%.*s' is not supported: splicer evaluates no "
		    "log-format variables or sample fetches in health checks (write the value "
		    "as text; '%%%%' is a '%%')", kw, (int)(len > 60 ? 60 : len), fmt + i);
		free(out);
		return NULL;
	}
	out[o] = '\0';
	return out;
}

static struct check_spec *
conf_health_new_spec(const char *name)
{
	struct check_spec *c = calloc(1, sizeof(*c));

	if (c != NULL && (c->name = strdup(name)) == NULL) {
		free(c);
		c = NULL;
	}
	return c;
}

/* "option redis-check" and its kind: build the rules. */
static int
conf_health_proto(struct conf_proxy *px, int argc, char **argv, char *err, size_t errlen)
{
	const char *name = argv[1], *arg = NULL;
	enum check_proto proto;
	int post41 = 0, max = 2;
	char helo[300];
	struct check_spec *c;

	if (strcmp(name, "redis-check") == 0) {
		proto = CHECK_PROTO_REDIS;
	} else if (strcmp(name, "ldap-check") == 0) {
		proto = CHECK_PROTO_LDAP;
	} else if (strcmp(name, "ssl-hello-chk") == 0) {
		proto = CHECK_PROTO_SSL_HELLO;
	} else if (strcmp(name, "smtpchk") == 0) {
		proto = CHECK_PROTO_SMTP;
		max = 4;
		/* HAProxy: anything but HELO or EHLO falls back to "HELO localhost". */
		if (argc >= 4 && (strcmp(argv[2], "HELO") == 0 || strcmp(argv[2], "EHLO") == 0)) {
			snprintf(helo, sizeof(helo), "%s %s", argv[2], argv[3]);
			arg = helo;
		}
	} else if (strcmp(name, "pgsql-check") == 0 || strcmp(name, "mysql-check") == 0) {
		proto = name[0] == 'p' ? CHECK_PROTO_PGSQL : CHECK_PROTO_MYSQL;
		max = proto == CHECK_PROTO_MYSQL ? 5 : 4;
		if (argc >= 3 && (strcmp(argv[2], "user") != 0 || argc < 4)) {
			snprintf(err, errlen, "'option %s' expects 'user NAME'%s", name,
			    proto == CHECK_PROTO_MYSQL ? " [post-41|pre-41]" : "");
			return -1;
		}
		arg = argc >= 4 ? argv[3] : NULL;
		if (argc >= 5 && strcmp(argv[4], "post-41") != 0 && strcmp(argv[4], "pre-41") != 0) {
			snprintf(err, errlen, "'option mysql-check user %s %s': expected 'post-41' "
			    "or 'pre-41'", argv[3], argv[4]);
			return -1;
		}
		post41 = argc >= 5 && strcmp(argv[4], "post-41") == 0;
		if (proto == CHECK_PROTO_PGSQL && arg == NULL) {
			snprintf(err, errlen, "'option pgsql-check' expects 'user NAME'");
			return -1;
		}
		if (arg != NULL && strlen(arg) > 200) {
			snprintf(err, errlen, "'option %s': user name longer than 200 bytes", name);
			return -1;
		}
	} else {
		return 0;
	}
	if (argc > max) {
		snprintf(err, errlen, "'option %s': unexpected '%s'", name, argv[max]);
		return -1;
	}
	if ((c = conf_health_new_spec(name)) == NULL || check_spec_proto(c, proto, arg, post41)) {
		check_spec_free(c);
		snprintf(err, errlen, "'option %s': out of memory", name);
		return -1;
	}
	check_spec_free(px->check_proto);
	px->check_proto = c;
	px->check_opt = CONF_HEALTH_PROTO;
	return 1;
}

int
conf_health_option(struct conf_proxy *px, int argc, char **argv, int negate, char *err,
    size_t errlen)
{
	static const char *const names[] = {
		"tcp-check", "redis-check", "ldap-check", "ssl-hello-chk", "smtpchk",
		"pgsql-check", "mysql-check", "httpchk",
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(*names); i++) {
		if (strcmp(argv[1], names[i]) == 0)
			break;
	}
	if (i == sizeof(names) / sizeof(*names))
		return 0;
	if (negate) {
		/* "no option X": back to a bare connect if X is in force. */
		if ((i == 0 && px->check_opt == CONF_HEALTH_TCP_CHECK) ||
		    (strcmp(argv[1], "httpchk") == 0 && px->check_opt == CONF_HEALTH_HTTP) ||
		    (px->check_opt == CONF_HEALTH_PROTO &&
		    strcmp(px->check_proto->name, argv[1]) == 0))
			px->check_opt = CONF_HEALTH_CONNECT;
		return 1;
	}
	if (strcmp(argv[1], "httpchk") == 0) {
		if (conf_httpchk_option(px, argc, argv, err, errlen) == -1)
			return -1;
		px->check_opt = CONF_HEALTH_HTTP;
		return 1;
	}
	if (i == 0) {
		if (argc > 2) {
			snprintf(err, errlen, "'option tcp-check': unexpected '%s'", argv[2]);
			return -1;
		}
		px->check_opt = CONF_HEALTH_TCP_CHECK;
		return 1;
	}
	return conf_health_proto(px, argc, argv, err, errlen) == -1 ? -1 : 1;
}

/* "tcp-check connect [port N] [addr A] [send-proxy] [default] [linger]". */
int
conf_health_connect(struct check_rule *r, int argc, char **argv, char *err, size_t errlen)
{
	for (int i = 2; i < argc; i++) {
		long v;

		if (strcmp(argv[i], "port") == 0) {
			if (conf_health_num(argv[i + 1], 1, 65535, &v) == -1) {
				snprintf(err, errlen, "'%s connect port' expects a port 1..65535", argv[0]);
				return -1;
			}
			r->port = (uint16_t)v;
			i++;
		} else if (strcmp(argv[i], "addr") == 0) {
			char tmp[300];

			if (argv[i + 1] == NULL || (r->addr = calloc(1, sizeof(*r->addr))) == NULL) {
				snprintf(err, errlen, "'%s connect addr' expects an address", argv[0]);
				return -1;
			}
			snprintf(tmp, sizeof(tmp), strchr(argv[i + 1], ':') ? "[%s]:1" : "%s:1",
			    argv[i + 1]);
			if (sockaddr_parse(tmp, 0, r->addr, err, errlen) == -1 ||
			    sockaddr_is_unresolved(r->addr)) {
				snprintf(err, errlen, "'%s connect addr %s': expected a numeric "
				    "IPv4 or IPv6 address", argv[0], argv[i + 1]);
				return -1;
			}
			i++;
		} else if (strcmp(argv[i], "send-proxy") == 0) {
			r->send_proxy = 1;
		} else if (strcmp(argv[i], "default") == 0 || strcmp(argv[i], "linger") == 0) {
			/* The server's own settings, and a close by reset: what
			 * every check does here. */
		} else if (strcmp(argv[i], "comment") == 0 && argv[i + 1] != NULL) {
			free(r->comment);
			r->comment = strdup(argv[++i]);
		} else {
			snprintf(err, errlen, "'%s connect %s' is not supported%s", argv[0], argv[i],
			    strcmp(argv[i], "ssl") == 0 || strcmp(argv[i], "sni") == 0 ||
			    strcmp(argv[i], "alpn") == 0 ? ": splicer does not originate TLS" : "");
			return -1;
		}
	}
	return 0;
}

/* ok-status, error-status, tout-status: the statuses each takes. */
static const struct conf_health_status {
	const char *opt, *name;
	int st;
} conf_health_statuses[] = {
	{ "ok-status", "L7OK", CHECK_ST_L7OK }, { "ok-status", "L7OKC", CHECK_ST_L7OKC },
	{ "ok-status", "L6OK", CHECK_ST_L6OK }, { "ok-status", "L4OK", CHECK_ST_L4OK },
	{ "error-status", "L7OKC", CHECK_ST_L7OKC }, { "error-status", "L7RSP", CHECK_ST_L7RSP },
	{ "error-status", "L7STS", CHECK_ST_L7STS }, { "error-status", "L6RSP", CHECK_ST_L6RSP },
	{ "error-status", "L4CON", CHECK_ST_L4CON }, { "tout-status", "L7TOUT", CHECK_ST_L7TOUT },
	{ "tout-status", "L6TOUT", CHECK_ST_L6TOUT }, { "tout-status", "L4TOUT", CHECK_ST_L4TOUT },
};

/* "ok-status ST" and the like: 1 when opt is one, 0 when not, -1 bad. */
static int
conf_health_status_opt(struct check_rule *r, const char *kw, const char *opt, const char *v,
    char *err, size_t errlen)
{
	char names[64] = "";
	int known = 0;

	for (size_t i = 0; i < sizeof(conf_health_statuses) / sizeof(*conf_health_statuses); i++) {
		const struct conf_health_status *t = &conf_health_statuses[i];

		if (strcmp(opt, t->opt) != 0)
			continue;
		known = 1;
		if (v != NULL && strcmp(v, t->name) == 0) {
			*(t->opt[0] == 'o' ? &r->ok_st : t->opt[0] == 'e' ? &r->err_st :
			    &r->tout_st) = t->st;
			return 1;
		}
		snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
		    names[0] ? ", " : "", t->name);
	}
	if (known)
		snprintf(err, errlen, "'%s expect %s' expects one of %s%s%s%s", kw, opt, names,
		    v ? " (got '" : "", v ? v : "", v ? "')" : "");
	return known ? -1 : 0;
}

/* on-success, on-error (log-format, taken as text) and status-code
 * (a sample expression: int(N), the one without a fetch). */
static int
conf_health_info_opt(struct check_rule *r, const char *kw, const char *opt, const char *v,
    char *err, size_t errlen)
{
	char what[64], **dst = strcmp(opt, "on-success") == 0 ? &r->on_success :
	    strcmp(opt, "on-error") == 0 ? &r->on_error : NULL;
	long code;

	if (dst == NULL && strcmp(opt, "status-code") != 0)
		return 0;
	snprintf(what, sizeof(what), "%s expect %s", kw, opt);
	if (v == NULL) {
		snprintf(err, errlen, "'%s' expects a value", what);
		return -1;
	}
	if (dst != NULL) {
		free(*dst);
		return (*dst = conf_health_lf(what, v, err, errlen)) == NULL ? -1 : 1;
	}
	if (strncmp(v, "int(", 4) == 0 && v[strlen(v) - 1] == ')') {
		char num[16];

		snprintf(num, sizeof(num), "%.*s", (int)(strlen(v) - 5), v + 4);
		if (strlen(v) - 5 < sizeof(num) && conf_health_num(num, 0, 999, &code) == 0) {
			r->status_code = (int)code;
			r->has_code = 1;
			return 1;
		}
	}
	snprintf(err, errlen, "'%s %s' is not supported: splicer evaluates no sample fetches in "
	    "health checks; write the code as int(N), N from 0 to 999", what, v);
	return -1;
}

/* One of an expect rule's (option) words and what it does to the rule. */
static int
conf_health_expect_opt(struct check_rule *r, const char *kw, char **argv, int *i, char *err,
    size_t errlen)
{
	long v;

	if (strcmp(argv[*i], "min-recv") == 0) {
		if (conf_health_num(argv[*i + 1], -1, CHECK_BUF, &v) == -1) {
			snprintf(err, errlen, "'%s expect min-recv%s%s' expects a number -1..%d", kw,
			    argv[*i + 1] ? " " : "", argv[*i + 1] ? argv[*i + 1] : "", CHECK_BUF);
			return -1;
		}
		r->min_recv = v;
		(*i)++;
	} else if (strcmp(argv[*i], "comment") == 0 && argv[*i + 1] != NULL) {
		free(r->comment);
		r->comment = strdup(argv[++*i]);
	} else if (strcmp(argv[*i], "!") == 0) {
		r->negate = 1;
	} else {
		int rc = conf_health_status_opt(r, kw, argv[*i], argv[*i + 1], err, errlen);

		if (rc == 0)
			rc = conf_health_info_opt(r, kw, argv[*i], argv[*i + 1], err, errlen);
		if (rc == 1)
			(*i)++;
		return rc;
	}
	return 1;
}

int
conf_health_expect_head(struct check_rule *r, int argc, char **argv,
    const struct conf_health_match *matches, size_t n, char *err, size_t errlen)
{
	char names[80] = "";
	int i = 2, rc;
	size_t m;

	while (i < argc && (rc = conf_health_expect_opt(r, argv[0], argv, &i, err, errlen)) != 0) {
		if (rc == -1)
			return -1;
		i++;
	}
	for (m = 0; i < argc && m < n; m++) {
		if (strcmp(argv[i], matches[m].name) == 0)
			break;
	}
	if (i < argc && m < n && matches[m].later) {
		snprintf(err, errlen, "'%s expect %s' is not supported yet", argv[0], argv[i]);
		return -1;
	}
	if (i >= argc || m == n) {
		for (m = 0; m < n; m++) {
			if (!matches[m].later)
				snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
				    names[0] ? "|" : "", matches[m].name);
		}
		snprintf(err, errlen, "'%s expect' expects [min-recv N] [comment TEXT] [!] "
		    "%s PATTERN%s%s%s", argv[0], names, i < argc ? " (got '" : "",
		    i < argc ? argv[i] : "", i < argc ? "')" : "");
		return -1;
	}
	r->match = matches[m].match;
	if (matches[m].own)
		return i;
	if (i + 1 >= argc || argv[i + 1][0] == '\0') {
		snprintf(err, errlen, "'%s expect %s' expects a pattern", argv[0], argv[i]);
		return -1;
	}
	if (i + 2 < argc) {
		snprintf(err, errlen, "'%s expect %s %s': unexpected '%s'", argv[0], argv[i],
		    argv[i + 1], argv[i + 2]);
		return -1;
	}
	return i;
}

static const struct conf_health_match conf_health_matches[] = {
	{ "string", CHECK_M_STRING, 0, 0, 0 }, { "rstring", CHECK_M_RSTRING, 0, 0, 0 },
	{ "binary", CHECK_M_BINARY, 0, 0, 0 }, { "rbinary", CHECK_M_RBINARY, 0, 0, 0 },
	{ "string-lf", CHECK_M_STRING, 0, 1, 0 }, { "binary-lf", CHECK_M_BINARY, 0, 1, 0 },
};

char *
conf_health_pattern(char **argv, int i, char *err, size_t errlen)
{
	char kw[64];
	size_t n = strlen(argv[i]);

	if (n < 3 || strcmp(argv[i] + n - 3, "-lf") != 0) {
		char *p = strdup(argv[i + 1]);

		if (p == NULL)
			snprintf(err, errlen, "'%s expect': out of memory", argv[0]);
		return p;
	}
	snprintf(kw, sizeof(kw), "%s expect %s", argv[0], argv[i]);
	return conf_health_lf(kw, argv[i + 1], err, errlen);
}

/* "tcp-check expect [min-recv N] [comment C] [!] MATCH PATTERN". */
static int
conf_health_expect(struct check_rule *r, int argc, char **argv, char *err, size_t errlen)
{
	int i = conf_health_expect_head(r, argc, argv, conf_health_matches,
	    sizeof(conf_health_matches) / sizeof(*conf_health_matches), err, errlen), rc = -1;
	char *pat;

	if (i < 0 || (pat = conf_health_pattern(argv, i, err, errlen)) == NULL)
		return -1;
	if (r->match == CHECK_M_BINARY) {
		unsigned char buf[1024];
		long n = check_unhex(pat, buf, sizeof(buf));

		if (n < 0)
			snprintf(err, errlen, "'tcp-check expect %s %s': expected an even number "
			    "of hex digits (at most 2048)", argv[i], pat);
		else
			rc = check_rule_set_data(r, buf, (size_t)n);
	} else if (check_rule_set_data(r, pat, strlen(pat)) == 0) {
		rc = r->match == CHECK_M_RSTRING || r->match == CHECK_M_RBINARY ?
		    check_rule_set_regex(r, err, errlen) : 0;
	}
	free(pat);
	return rc;
}

/* "tcp-check send STR" / "send-binary HEX" / "send-lf FMT" /
 * "send-binary-lf HEXFMT" [comment C]. */
static int
conf_health_send(struct check_rule *r, int argc, char **argv, char *err, size_t errlen)
{
	int binary = strncmp(argv[1], "send-binary", 11) == 0, rc = -1;
	size_t vl = strlen(argv[1]);
	char kw[64], *data;

	if (argc < 3 || argv[2][0] == '\0' || (argc != 3 && (argc != 5 ||
	    strcmp(argv[3], "comment") != 0))) {
		snprintf(err, errlen, "'tcp-check %s' expects %s [comment TEXT]", argv[1],
		    binary ? "HEX" : "STRING");
		return -1;
	}
	if (argc == 5) {
		free(r->comment);	/* a "tcp-check comment" line before this one */
		r->comment = strdup(argv[4]);
	}
	snprintf(kw, sizeof(kw), "tcp-check %s", argv[1]);
	data = strcmp(argv[1] + vl - 3, "-lf") == 0 ? conf_health_lf(kw, argv[2], err, errlen) :
	    strdup(argv[2]);
	if (data == NULL)
		return -1;
	if (binary) {
		unsigned char buf[4096];
		long n = check_unhex(data, buf, sizeof(buf));

		if (n < 0)
			snprintf(err, errlen, "'%s %s': expected an even number of hex digits (at "
			    "most 8192)", kw, data);
		else
			rc = check_rule_set_data(r, buf, (size_t)n);
	} else {
		rc = check_rule_set_data(r, data, strlen(data));
	}
	free(data);
	return rc;
}

int
conf_health_tcp_check(struct conf_proxy *px, int argc, char **argv, int line, char *err,
    size_t errlen)
{
	const char *verb = argc >= 2 ? argv[1] : "";
	enum check_rule_kind kind;
	struct check_rule *r;
	int rc;

	if (strcmp(verb, "connect") == 0)
		kind = CHECK_RULE_CONNECT;
	else if (strcmp(verb, "send") == 0 || strcmp(verb, "send-binary") == 0 ||
	    strcmp(verb, "send-lf") == 0 || strcmp(verb, "send-binary-lf") == 0)
		kind = CHECK_RULE_SEND;
	else if (strcmp(verb, "expect") == 0)
		kind = CHECK_RULE_EXPECT;
	else if (strcmp(verb, "comment") == 0)
		kind = (enum check_rule_kind)-1;
	else {
		snprintf(err, errlen, "'tcp-check %s' is %s", verb, strncmp(verb, "set-var", 7) == 0 ||
		    strcmp(verb, "unset-var") == 0 ? "not supported: splicer evaluates no sample "
		    "fetches in health checks, so a variable could only hold a constant" : "unknown: expected connect, send, send-binary, send-lf, "
		    "send-binary-lf, expect or comment");
		return -1;
	}
	/* A proxy's own rules replace those of its defaults section. */
	if (px->check_rules_inherited || px->check_rules == NULL) {
		check_spec_free(px->check_rules);
		px->check_rules_inherited = 0;
		if ((px->check_rules = conf_health_new_spec("tcp-check")) == NULL)
			return -1;
	}
	if ((int)kind == -1) {
		if (argc != 3) {
			snprintf(err, errlen, "'tcp-check comment' expects one TEXT");
			return -1;
		}
		free(px->check_rules->next_comment);
		px->check_rules->next_comment = strdup(argv[2]);
		return 0;
	}
	if ((r = check_spec_add(px->check_rules, kind)) == NULL)
		return -1;
	r->line = line;
	r->comment = px->check_rules->next_comment;
	px->check_rules->next_comment = NULL;
	rc = kind == CHECK_RULE_CONNECT ? conf_health_connect(r, argc, argv, err, errlen) :
	    kind == CHECK_RULE_SEND ? conf_health_send(r, argc, argv, err, errlen) :
	    conf_health_expect(r, argc, argv, err, errlen);
	return rc;
}

/* A server's check option: o its word, v the next word or NULL. Each
 * returns the words it took after o (0 or 1), or -1 with err. */
typedef int conf_health_srv_fn(struct conf_server *s, const char *o, const char *v, char *err,
    size_t errlen);

static int
conf_health_srv_port(struct conf_server *s, const char *o, const char *v, char *err,
    size_t errlen)
{
	long n;

	if (conf_health_num(v, 1, 65535, &n) == -1) {
		snprintf(err, errlen, "'server %s' expects a port 1..65535", o);
		return -1;
	}
	if (strcmp(o, "port") == 0)
		s->check_port = (uint16_t)n;
	else
		s->agent_port = (uint16_t)n;
	return 1;
}

/* addr, agent-addr: a numeric address; a name is resolved with the server's. */
static int
conf_health_srv_addr(struct conf_server *s, const char *o, const char *v, char *err,
    size_t errlen)
{
	int agent = strcmp(o, "agent-addr") == 0;
	char tmp[300];

	if (v == NULL) {
		snprintf(err, errlen, "'server %s' expects an address", o);
		return -1;
	}
	snprintf(tmp, sizeof(tmp), strchr(v, ':') ? "[%s]:1" : "%s:1", v);
	if (sockaddr_parse(tmp, 0, agent ? &s->agent_addr : &s->check_addr, err, errlen) == -1)
		return -1;
	if (agent)
		s->agent_addr_set = 1;
	else
		s->check_addr_set = 1;
	return 1;
}

static int
conf_health_srv_marked(struct conf_server *s, const char *o, const char *v, char *err,
    size_t errlen)
{
	int down = strcmp(o, "on-marked-down") == 0;
	const char *want = down ? "shutdown-sessions" : "shutdown-backup-sessions";

	if (v == NULL || strcmp(v, want) != 0) {
		snprintf(err, errlen, "'server %s' expects '%s'", o, want);
		return -1;
	}
	if (down)
		s->on_marked_down = 1;
	else
		s->on_marked_up = 1;
	return 1;
}

/* slowstart, agent-inter: times (agent-inter of at least 1ms). */
static int
conf_health_srv_time(struct conf_server *s, const char *o, const char *v, char *err,
    size_t errlen)
{
	int agent = strcmp(o, "agent-inter") == 0;
	uint64_t *dst = agent ? &s->agent_inter : &s->slowstart;
	char e[160];

	if (v == NULL || units_parse_time(v, dst, e, sizeof(e)) == -1 ||
	    (agent && *dst < 1000)) {
		snprintf(err, errlen, "'server %s' expects a time%s%s%s", o,
		    agent ? " of at least 1ms" : "", v != NULL ? ": " : "",
		    v == NULL ? "" : agent ? v : e);
		return -1;
	}
	return 1;
}

static int
conf_health_srv_observe(struct conf_server *s, const char *o, const char *v, char *err,
    size_t errlen)
{
	(void)o;
	/* layer7 is the caller's (a warning, as HAProxy's alert). */
	if (v == NULL || (strcmp(v, "layer4") != 0 && strcmp(v, "none") != 0)) {
		snprintf(err, errlen, "'server observe' expects one of 'none', 'layer4', "
		    "'layer7'%s%s%s", v != NULL ? " but got '" : "", v != NULL ? v : "",
		    v != NULL ? "'" : "");
		return -1;
	}
	s->observe = strcmp(v, "layer4") == 0;
	return 1;
}

static int
conf_health_srv_error_limit(struct conf_server *s, const char *o, const char *v, char *err,
    size_t errlen)
{
	long n;

	(void)o;
	if (conf_health_num(v, 1, 1000000, &n) == -1) {
		snprintf(err, errlen, "'server error-limit' expects a number 1..1000000");
		return -1;
	}
	s->error_limit = (unsigned int)n;
	return 1;
}

static int
conf_health_srv_on_error(struct conf_server *s, const char *o, const char *v, char *err,
    size_t errlen)
{
	static const char *const acts[] = {
		[CONF_ONERR_FASTINTER] = "fastinter", [CONF_ONERR_FAIL_CHECK] = "fail-check",
		[CONF_ONERR_SUDDEN_DEATH] = "sudden-death", [CONF_ONERR_MARK_DOWN] = "mark-down",
	};
	int k;

	(void)o;
	for (k = 1; k < 5 && (v == NULL || strcmp(v, acts[k]) != 0); k++)
		;
	if (k == 5) {
		snprintf(err, errlen, "'server on-error' expects fastinter, fail-check, "
		    "sudden-death or mark-down");
		return -1;
	}
	s->on_error = k;
	return 1;
}

static int
conf_health_srv_agent(struct conf_server *s, const char *o, const char *v, char *err,
    size_t errlen)
{
	(void)v;
	(void)err;
	(void)errlen;
	s->agent_check = o[0] == 'a';
	return 0;
}

static int
conf_health_srv_agent_send(struct conf_server *s, const char *o, const char *v, char *err,
    size_t errlen)
{
	(void)o;
	if (v == NULL || strlen(v) >= sizeof(s->agent_send)) {
		snprintf(err, errlen, "'server agent-send' expects a string of at most %zu bytes",
		    sizeof(s->agent_send) - 1);
		return -1;
	}
	s->agent_send_len = strlen(v);
	memcpy(s->agent_send, v, s->agent_send_len + 1);
	return 1;
}

/* Sorted by name (bsearch). */
static const struct conf_health_srv_kw {
	const char *name;
	conf_health_srv_fn *fn;
} conf_health_srv_kws[] = {
	{ "addr", conf_health_srv_addr },
	{ "agent-addr", conf_health_srv_addr },
	{ "agent-check", conf_health_srv_agent },
	{ "agent-inter", conf_health_srv_time },
	{ "agent-port", conf_health_srv_port },
	{ "agent-send", conf_health_srv_agent_send },
	{ "error-limit", conf_health_srv_error_limit },
	{ "no-agent-check", conf_health_srv_agent },
	{ "observe", conf_health_srv_observe },
	{ "on-error", conf_health_srv_on_error },
	{ "on-marked-down", conf_health_srv_marked },
	{ "on-marked-up", conf_health_srv_marked },
	{ "port", conf_health_srv_port },
	{ "slowstart", conf_health_srv_time },
};

static int
conf_health_srv_cmp(const void *key, const void *kw)
{
	return strcmp(key, ((const struct conf_health_srv_kw *)kw)->name);
}

int
conf_health_server_opt(struct conf_server *s, int argc, char **argv, int *i, char *err,
    size_t errlen)
{
	const struct conf_health_srv_kw *kw = bsearch(argv[*i], conf_health_srv_kws,
	    sizeof(conf_health_srv_kws) / sizeof(*conf_health_srv_kws), sizeof(*kw),
	    conf_health_srv_cmp);
	int n;

	if (kw == NULL)
		return 0;	/* not a check option: the caller's, or unknown (it suggests) */
	if ((n = kw->fn(s, argv[*i], *i + 1 < argc ? argv[*i + 1] : NULL, err, errlen)) < 0)
		return -1;
	*i += n;
	return 1;
}

int
conf_health_spread(struct conf_global *g, int argc, char **argv, char *err, size_t errlen)
{
	long v;

	if (argc != 2 || conf_health_num(argv[1], 0, 50, &v) == -1) {
		snprintf(err, errlen, "'spread-checks' expects a percentage 0..50");
		return -1;
	}
	g->spread_checks = (unsigned int)v;
	return 0;
}

int
conf_health_inherit(struct conf_proxy *px, const struct conf_proxy *from)
{
	px->check_opt = from->check_opt;
	px->check_rules = check_spec_clone(from->check_rules);
	px->check_rules_inherited = px->check_rules != NULL;
	px->check_proto = check_spec_clone(from->check_proto);
	px->httpchk = conf_httpchk_clone(from->httpchk);
	/* A copy that could not be had would leave the proxy checking with
	 * fewer rules (or none) than its defaults say: an error, not that. */
	if ((from->check_rules != NULL && px->check_rules == NULL) ||
	    (from->check_proto != NULL && px->check_proto == NULL) ||
	    (from->httpchk != NULL && px->httpchk == NULL))
		return -1;
	return 0;
}

const struct check_spec *
conf_health_spec(const struct conf_proxy *px, char *warn, size_t warnlen)
{
	warn[0] = '\0';
	if (px->check_opt == CONF_HEALTH_PROTO)
		return px->check_proto;
	if (px->check_opt == CONF_HEALTH_HTTP)
		return px->httpchk != NULL ? px->httpchk->built : NULL;
	if (px->check_opt == CONF_HEALTH_TCP_CHECK)
		return px->check_rules;
	if (px->check_rules != NULL && !px->check_rules_inherited)
		snprintf(warn, warnlen, "%s '%s' uses tcp-check rules without 'option tcp-check', "
		    "so the rules are ignored", conf_proxy_kind(px), px->name);
	return NULL;
}

/* What a server says that cannot act without "check": observe layer4
 * counts traffic errors for the health check, error-limit and on-error
 * say when and how it acts (slowstart acts out of maintenance too). NULL
 * when nothing is wrong. */
static const char *
conf_health_idle_opt(const struct conf_server *s)
{
	if (s->check)
		return NULL;
	if (s->observe)
		return "observe layer4";
	if (s->error_limit != 10)	/* HAProxy's defaults (conf_parse's defsrv) */
		return "error-limit";
	if (s->on_error != CONF_ONERR_FAIL_CHECK)
		return "on-error";
	return NULL;
}

void
conf_health_warn(const struct conf_proxy *px, struct conf_msgs *warns)
{
	char w[256];

	if (conf_health_spec(px, w, sizeof(w)) == NULL && w[0] != '\0')
		conf_msgs_add(warns, "%s:%d: %s", px->file, px->line, w);
	/* HAProxy gives this warning in these words. */
	if (px->check_opt != CONF_HEALTH_HTTP && px->httpchk != NULL &&
	    px->httpchk->rules != NULL && !px->httpchk->rules_inherited)
		conf_msgs_add(warns, "%s:%d: %s '%s' uses http-check rules without 'option "
		    "httpchk', so the rules are ignored", px->file, px->line, conf_proxy_kind(px),
		    px->name);
	for (const struct conf_server *s = px->servers; s != NULL; s = s->next) {
		const char *o = conf_health_idle_opt(s);

		if (o != NULL)
			conf_msgs_add(warns, "%s:%d: server '%s/%s' has '%s' without 'check', "
			    "so it does nothing", px->file, s->line, px->name, s->name, o);
	}
}

void
conf_health_free(struct conf_proxy *px)
{
	check_spec_free(px->check_rules);
	check_spec_free(px->check_proto);
	px->check_rules = px->check_proto = NULL;
	conf_httpchk_free(px->httpchk);
	px->httpchk = NULL;
}
