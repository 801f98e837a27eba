/*
 * conf_resolvers: the "resolvers" section, the server options of name
 * resolution at run time ("resolvers", "resolve-prefer", "resolve-opts",
 * "init-addr") and "server-template", as HAProxy 2.6 reads them
 * (configuration.txt 5.3). resolvers.c does the resolving.
 */
#include "config.h"
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "conf_kw.h"
#include "conf_resolvers.h"

#define RESOLV_CONF	"/etc/resolv.conf"
/* Nameservers of one section: each is a socket of the control thread. */
#define CONF_NS_MAX	16
/* Servers one server-template line makes. */
#define CONF_TMPL_MAX	1024

static struct conf_resolvers *
rs_new(struct parser *p, const char *name)
{
	struct conf_resolvers *rs = calloc(1, sizeof(*rs)), **tail;

	if (rs == NULL || (rs->name = strdup(name)) == NULL) {
		free(rs);
		return NULL;
	}
	rs->file = p->file;
	rs->line = p->line;
	rs->resolve_retries = 3;		/* HAProxy 2.6's defaults */
	rs->timeout_resolve = 1000000;
	rs->timeout_retry = 1000000;
	rs->hold[CONF_HOLD_NX] = rs->hold[CONF_HOLD_OTHER] = 30000000;
	rs->hold[CONF_HOLD_REFUSED] = rs->hold[CONF_HOLD_TIMEOUT] = 30000000;
	rs->hold[CONF_HOLD_VALID] = 10000000;
	rs->hold[CONF_HOLD_OBSOLETE] = 0;
	rs->payload = 512;
	for (tail = &p->conf->resolvers; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = rs;
	return rs;
}

int
conf_resolvers_section(struct parser *p, int argc, char **argv)
{
	if (strcmp(argv[0], "resolvers") != 0)
		return 0;
	p->sec = SEC_IGNORED;
	p->rs = NULL;
	if (argc != 2 || !parse_valid_name(argv[1])) {
		parse_err(p, "'resolvers' expects one name of letters, digits, '-', '_', '.' "
		    "and ':'");
		return 1;
	}
	for (struct conf_resolvers *o = p->conf->resolvers; o != NULL; o = o->next) {
		if (strcmp(o->name, argv[1]) == 0) {
			parse_err(p, "resolvers '%s' is already defined at %s:%d", argv[1],
			    o->file, o->line);
			return 1;
		}
	}
	if ((p->rs = rs_new(p, argv[1])) == NULL) {
		parse_err(p, "resolvers: out of memory");
		return 1;
	}
	p->sec = SEC_RESOLVERS;
	return 1;
}

/* Add a nameserver at address text a ("IP[:PORT]", "[IPv6]:PORT",
 * "udp@..."); from is "" or where it was read (resolv.conf). */
static void
rs_add_ns(struct parser *p, const char *name, const char *a, const char *from)
{
	struct conf_resolvers *rs = p->rs;
	struct conf_nameserver *ns, **tail;
	struct sockaddr_spec spec;
	char err[512];

	if (strncmp(a, "udp@", 4) == 0 || strncmp(a, "udp4@", 5) == 0 ||
	    strncmp(a, "udp6@", 5) == 0)
		a = strchr(a, '@') + 1;
	else if (strchr(a, '@') != NULL) {
		parse_err(p, "nameserver '%s': '%s' is not supported: splicer asks nameservers "
		    "over UDP only", name, a);
		return;
	}
	if (sockaddr_parse(a, SOCKADDR_F_PORTREL, &spec, err, sizeof(err)) == -1) {
		parse_err(p, "nameserver '%s'%s: %s", name, from, err);
		return;
	}
	if (sockaddr_is_unresolved(&spec) || spec.port_rel) {
		/* HAProxy 2.6 wants the port too ("missing port specification") */
		parse_err(p, "nameserver '%s'%s: '%s' is not IP:PORT or [IPv6]:PORT", name,
		    from, a);
		return;
	}
	if (rs->nns >= CONF_NS_MAX) {
		parse_err(p, "resolvers '%s': too many nameservers (at most %d)", rs->name,
		    CONF_NS_MAX);
		return;
	}
	for (ns = rs->ns; ns != NULL; ns = ns->next) {
		if (strcmp(ns->name, name) == 0 && *from == '\0') {
			parse_err(p, "nameserver '%s' is already defined at line %d", name, ns->line);
			return;
		}
	}
	if ((ns = calloc(1, sizeof(*ns))) == NULL || (ns->name = strdup(name)) == NULL) {
		free(ns);
		parse_err(p, "nameserver: out of memory");
		return;
	}
	ns->ss = spec.ss;
	ns->len = spec.len;
	ns->line = p->line;
	for (tail = &rs->ns; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = ns;
	rs->nns++;
}

static void
rs_nameserver(struct parser *p, int argc, char **argv)
{
	if (argc < 3) {
		parse_err(p, "'nameserver' expects NAME ADDRESS[:PORT]");
		return;
	}
	if (argc > 3)
		parse_err(p, "nameserver '%s': '%s' is not supported (its parameters are for "
		    "TCP nameservers, and splicer asks over UDP only)", argv[1], argv[3]);
	rs_add_ns(p, argv[1], argv[2], "");
}

/* "parse-resolv-conf": each "nameserver IP" of /etc/resolv.conf in place,
 * named as HAProxy names them (the address). */
static void
rs_parse_resolv_conf(struct parser *p, int argc, char **argv)
{
	char line[512], name[300], addr[320], *save, *w, *a;
	FILE *f;

	if (parse_no_more_args(p, argc, argv, 1) == -1)
		return;
	if ((f = fopen(RESOLV_CONF, "re")) == NULL) {
		parse_warn(p, "parse-resolv-conf: cannot read %s: no nameserver added", RESOLV_CONF);
		return;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		save = NULL;
		if ((w = strtok_r(line, " \t\r\n", &save)) == NULL || strcmp(w, "nameserver") != 0 ||
		    (a = strtok_r(NULL, " \t\r\n", &save)) == NULL)
			continue;
		snprintf(name, sizeof(name), "%s", a);
		/* Port 53; an IPv6 address needs its brackets before it. */
		snprintf(addr, sizeof(addr), strchr(a, ':') != NULL ? "[%s]:53" : "%s:53", a);
		rs_add_ns(p, name, addr, " (from " RESOLV_CONF ")");
	}
	fclose(f);
}

static void
rs_hold(struct parser *p, int argc, char **argv)
{
	static const char *const names[CONF_HOLD_N] = {
		[CONF_HOLD_NX] = "nx", [CONF_HOLD_OTHER] = "other",
		[CONF_HOLD_REFUSED] = "refused", [CONF_HOLD_TIMEOUT] = "timeout",
		[CONF_HOLD_VALID] = "valid", [CONF_HOLD_OBSOLETE] = "obsolete",
	};
	char kw[64];

	if (argc != 3) {
		parse_err(p, "'hold' expects nx|other|refused|timeout|valid|obsolete TIME");
		return;
	}
	for (int i = 0; i < CONF_HOLD_N; i++) {
		if (strcmp(argv[1], names[i]) == 0) {
			snprintf(kw, sizeof(kw), "hold %s", argv[1]);
			parse_time_arg(p, kw, argv[2], &p->rs->hold[i]);
			return;
		}
	}
	parse_unknown(p, "hold status", argv[1], names, CONF_HOLD_N, sizeof(*names));
}

static void
rs_timeout(struct parser *p, int argc, char **argv)
{
	uint64_t *dst = NULL, v;

	if (argc == 3 && strcmp(argv[1], "resolve") == 0)
		dst = &p->rs->timeout_resolve;
	else if (argc == 3 && strcmp(argv[1], "retry") == 0)
		dst = &p->rs->timeout_retry;
	if (dst == NULL) {
		parse_err(p, "'timeout' in a resolvers section expects resolve|retry TIME");
		return;
	}
	if (parse_time_arg(p, dst == &p->rs->timeout_resolve ? "timeout resolve" :
	    "timeout retry", argv[2], &v) == -1)
		return;
	if (v < 1000) {
		parse_err(p, "'timeout %s %s': at least 1ms", argv[1], argv[2]);
		return;
	}
	*dst = v;
}

static void
rs_uint(struct parser *p, int argc, char **argv)
{
	int pl = strcmp(argv[0], "accepted_payload_size") == 0;
	uint64_t v;

	if (parse_no_more_args(p, argc, argv, 2) == -1 ||
	    parse_uint_arg(p, argv[0], argv[1], pl ? 512 : 1, pl ? 65535 : 1000, &v) == -1)
		return;
	if (pl)
		p->rs->payload = (unsigned int)v;
	else
		p->rs->resolve_retries = (unsigned int)v;
}

static void
rs_pool_size(struct parser *p, int argc, char **argv)
{
	(void)argc;
	parse_warn(p, "'%s' has no effect: HAProxy 2.6 ignores it too (deprecated, "
	    "resolutions are allocated as needed)", argv[0]);
}

/* The keywords of a resolvers section (doc/keywords.txt, "resolvers"). */
static const struct {
	const char *name;
	void (*parse)(struct parser *p, int argc, char **argv);
} resolvers_kws[] = {
	{ "accepted_payload_size", rs_uint },
	{ "hold", rs_hold },
	{ "nameserver", rs_nameserver },
	{ "parse-resolv-conf", rs_parse_resolv_conf },
	{ "resolution_pool_size", rs_pool_size },
	{ "resolve_retries", rs_uint },
	{ "timeout", rs_timeout },
};

void
conf_resolvers_line(struct parser *p, int argc, char **argv)
{
	for (size_t i = 0; i < nitems(resolvers_kws); i++) {
		if (strcmp(argv[0], resolvers_kws[i].name) == 0) {
			resolvers_kws[i].parse(p, argc, argv);
			return;
		}
	}
	PARSE_UNKNOWN(p, "keyword in a resolvers section", argv[0], resolvers_kws);
}

/* ---- server options ---- */

/* The address of "init-addr IP" (a valid IPv4 or IPv6 text). */
static void
rs_init_ip(const char *t, struct conf_srv_dns *d)
{
	memset(&d->init_ip, 0, sizeof(d->init_ip));
	if (strchr(t, ':') == NULL) {
		struct sockaddr_in *in = (struct sockaddr_in *)&d->init_ip;

		in->sin_family = AF_INET;
		inet_pton(AF_INET, t, &in->sin_addr);
		d->init_ip_len = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&d->init_ip;

		in6->sin6_family = AF_INET6;
		inet_pton(AF_INET6, t, &in6->sin6_addr);
		d->init_ip_len = sizeof(*in6);
	}
}

/* "init-addr METHOD[,METHOD...]": last, libc, none, or an IP address. */
static int
rs_init_addr(struct parser *p, const char *list, struct conf_srv_dns *d)
{
	char buf[256], *save = NULL;
	int n = 0;

	if (list == NULL || strlen(list) >= sizeof(buf)) {
		parse_err(p, "server option 'init-addr' expects last|libc|none|IP[,...]");
		return -1;
	}
	strcpy(buf, list);
	memset(d->init, CONF_INIT_END, sizeof(d->init));
	for (char *t = strtok_r(buf, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
		struct in6_addr a6;
		struct in_addr a4;
		unsigned char m;

		if (strcmp(t, "last") == 0)
			m = CONF_INIT_LAST;
		else if (strcmp(t, "libc") == 0)
			m = CONF_INIT_LIBC;
		else if (strcmp(t, "none") == 0)
			m = CONF_INIT_NONE;
		else if (inet_pton(AF_INET, t, &a4) == 1 || inet_pton(AF_INET6, t, &a6) == 1)
			m = CONF_INIT_IP;
		else {
			parse_err(p, "server option 'init-addr': '%s' is none of last, libc, none "
			    "or an IP address", t);
			return -1;
		}
		if (n == CONF_INIT_MAX) {
			parse_err(p, "server option 'init-addr': at most %d methods", CONF_INIT_MAX);
			return -1;
		}
		if (m == CONF_INIT_IP)
			rs_init_ip(t, d);
		d->init[n++] = m;
	}
	return 0;
}

/* "resolve-opts allow-dup-ip,ignore-weight,prevent-dup-ip". */
static int
rs_opts(struct parser *p, const char *list, struct conf_srv_dns *d)
{
	char buf[256], *save = NULL;

	if (list == NULL || strlen(list) >= sizeof(buf)) {
		parse_err(p, "server option 'resolve-opts' expects OPTION[,OPTION...]");
		return -1;
	}
	strcpy(buf, list);
	for (char *t = strtok_r(buf, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
		if (strcmp(t, "allow-dup-ip") == 0)
			d->opts |= CONF_RSOPT_ALLOW_DUP_IP;
		else if (strcmp(t, "prevent-dup-ip") == 0)
			d->opts &= ~CONF_RSOPT_ALLOW_DUP_IP;
		else if (strcmp(t, "ignore-weight") == 0)
			d->opts |= CONF_RSOPT_IGNORE_WEIGHT;
		else {
			parse_err(p, "server option 'resolve-opts': unknown option '%s' (expected "
			    "allow-dup-ip, ignore-weight or prevent-dup-ip)", t);
			return -1;
		}
	}
	return 0;
}

int
conf_resolvers_server_opt(struct parser *p, int argc, char **argv, int *ip,
    struct conf_server *s)
{
	const char *o = argv[*ip], *val = *ip + 1 < argc ? argv[*ip + 1] : NULL;
	struct conf_srv_dns *d = &s->dns;
	int rc = 0;

	if (strcmp(o, "resolvers") == 0) {
		if (val == NULL || strlen(val) >= sizeof(d->resolvers)) {
			parse_err(p, "server option 'resolvers' expects the name of a resolvers "
			    "section");
			rc = -1;
		} else {
			strcpy(d->resolvers, val);
		}
	} else if (strcmp(o, "resolve-prefer") == 0) {
		if (val != NULL && strcmp(val, "ipv4") == 0)
			d->prefer = AF_INET;
		else if (val != NULL && strcmp(val, "ipv6") == 0)
			d->prefer = AF_INET6;
		else {
			parse_err(p, "server option 'resolve-prefer' expects ipv4 or ipv6");
			rc = -1;
		}
	} else if (strcmp(o, "resolve-opts") == 0) {
		rc = rs_opts(p, val, d);
	} else if (strcmp(o, "init-addr") == 0) {
		rc = rs_init_addr(p, val, d);
	} else {
		return 0;
	}
	if (rc == 0)
		(*ip)++;
	return rc < 0 ? -1 : 1;
}

/* ---- server-template ---- */

/* "N" (1..N) or "A-B". */
static int
rs_tmpl_range(struct parser *p, const char *a, unsigned long *lo, unsigned long *hi)
{
	char *end;

	*lo = strtoul(a, &end, 10);
	if (end != a && *end == '-') {
		*hi = strtoul(end + 1, &end, 10);
	} else {
		*hi = *lo;
		*lo = 1;
	}
	if (*a < '0' || *a > '9' || *end != '\0' || *lo < 1 || *hi < *lo ||
	    *hi - *lo >= CONF_TMPL_MAX) {
		parse_err(p, "server-template: '%s' is not a number of servers or a range A-B "
		    "(1 <= A <= B, at most %d servers)", a, CONF_TMPL_MAX);
		return -1;
	}
	return 0;
}

void
kw_px_server_template(struct parser *p, int argc, char **argv)
{
	unsigned long lo, hi;
	char name[128];

	if (argc < 4) {
		parse_err(p, "'server-template' expects PREFIX NUM|A-B FQDN[:PORT] [options]");
		return;
	}
	if (!parse_valid_name(argv[1]) || strlen(argv[1]) > 64) {
		parse_err(p, "server-template prefix '%s' may only hold letters, digits, '-', "
		    "'_', '.' and ':' (at most 64)", argv[1]);
		return;
	}
	if (rs_tmpl_range(p, argv[2], &lo, &hi) == -1)
		return;
	for (unsigned long i = lo; i <= hi; i++) {
		snprintf(name, sizeof(name), "%s%lu", argv[1], i);
		/* The first server reports the line's errors; the others are
		 * the same line and are then not made. */
		if (parse_server_line(p, name, argv[3], argc, argv, 4, (unsigned int)i) == -1)
			return;
	}
}

/* ---- after the whole file ---- */

static struct conf_resolvers *
rs_find(const struct conf *c, const char *name)
{
	for (struct conf_resolvers *rs = c->resolvers; rs != NULL; rs = rs->next) {
		if (strcmp(rs->name, name) == 0)
			return rs;
	}
	return NULL;
}

int
conf_resolvers_check(struct conf *c, struct conf_msgs *errs, struct conf_msgs *warns)
{
	int nerr = 0;

	for (struct conf_resolvers *rs = c->resolvers; rs != NULL; rs = rs->next) {
		if (rs->nns == 0) {
			conf_msgs_add(errs, "%s:%d: resolvers '%s' has no nameserver", rs->file,
			    rs->line, rs->name);
			nerr++;
		}
	}
	for (struct conf_proxy *px = c->proxies; px != NULL; px = px->next) {
		for (struct conf_server *s = px->servers; s != NULL; s = s->next) {
			struct conf_srv_dns *d = &s->dns;

			if (d->resolvers[0] == '\0') {
				if (d->tmpl == 1)
					conf_msgs_add(warns, "%s:%d: server-template '%s' in %s '%s' has "
					    "no 'resolvers': its servers keep the address they start "
					    "with", px->file, s->line, s->name, conf_proxy_kind(px),
					    px->name);
				continue;
			}
			if ((d->rs = rs_find(c, d->resolvers)) == NULL) {
				conf_msgs_add(errs, "%s:%d: server '%s' in %s '%s': resolvers '%s' is "
				    "not a declared resolvers section", px->file, s->line, s->name,
				    conf_proxy_kind(px), px->name, d->resolvers);
				nerr++;
			} else if (s->addr.ss.ss_family == AF_UNIX) {
				conf_msgs_add(errs, "%s:%d: server '%s' in %s '%s': 'resolvers' needs a "
				    "host name, not a unix socket", px->file, s->line, s->name,
				    conf_proxy_kind(px), px->name);
				nerr++;
			}
		}
	}
	return nerr;
}

/* Is s's host an SRV name ("_service._proto.name")? */
int
conf_resolvers_is_srv(const struct conf_server *s)
{
	return s->addr.host[0] == '_' && strchr(s->addr.host, '.') != NULL;
}

int
conf_resolvers_init_addr(struct conf_server *s, char *err, size_t errlen)
{
	static const unsigned char deflt[] = { CONF_INIT_LAST, CONF_INIT_LIBC, CONF_INIT_END };
	const unsigned char *m = s->dns.init[0] != CONF_INIT_END ? s->dns.init : deflt;
	char why[512] = "";

	s->dns.no_addr = 0;
	if (!sockaddr_is_unresolved(&s->addr))
		return 0;
	for (int i = 0; i < CONF_INIT_MAX && m[i] != CONF_INIT_END; i++) {
		switch (m[i]) {
		case CONF_INIT_LAST:	/* no server-state file: the next method */
			break;
		case CONF_INIT_LIBC:
			if (!conf_resolvers_is_srv(s) &&
			    sockaddr_resolve(&s->addr, why, sizeof(why)) == 0)
				return 0;
			break;
		case CONF_INIT_NONE:
			s->dns.no_addr = 1;
			return 0;
		case CONF_INIT_IP:
			memcpy(&s->addr.ss, &s->dns.init_ip, s->dns.init_ip_len);
			s->addr.len = s->dns.init_ip_len;
			sockaddr_set_port(&s->addr.ss, s->addr.port);
			return 0;
		}
	}
	if (why[0] != '\0')
		snprintf(err, errlen, "%s (init-addr: no method gave an address)", why);
	else
		snprintf(err, errlen, "cannot resolve '%s' (init-addr: no method gave an "
		    "address)", s->addr.host);
	return -1;
}

void
conf_resolvers_free(struct conf_resolvers *rs)
{
	while (rs != NULL) {
		struct conf_resolvers *next = rs->next;

		for (struct conf_nameserver *ns = rs->ns, *nn; ns != NULL; ns = nn) {
			nn = ns->next;
			free(ns->name);
			free(ns);
		}
		free(rs->name);
		free(rs);
		rs = next;
	}
}
