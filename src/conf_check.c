/*
 * conf_check: cross-section checks on a parsed configuration.
 */
#include "config.h"

#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <sys/stat.h>

#include "acl.h"
#include "conf_check.h"
#include "conf_stick.h"
#include "conf_health.h"
#include "conf_resolvers.h"
#include "conf_httpchk.h"
#include "conf_shape.h"

static int
conf_check_names(struct conf *c, struct conf_msgs *errs)
{
	int nerr = 0;

	for (struct conf_proxy *a = c->proxies; a != NULL; a = a->next) {
		/* A frontend and a backend may share a name, as in HAProxy;
		 * two of the same side may not. */
		for (struct conf_proxy *b = c->proxies; b != a; b = b->next) {
			if (strcmp(a->name, b->name) == 0 && (a->cap & b->cap)) {
				conf_msgs_add(errs, "%s:%d: %s '%s' has the same name as %s '%s' "
				    "declared at %s:%d", a->file, a->line, conf_proxy_kind(a),
				    a->name, conf_proxy_kind(b), b->name, b->file, b->line);
				nerr++;
				break;
			}
		}
		for (struct conf_server *s = a->servers; s != NULL; s = s->next) {
			for (struct conf_server *t = a->servers; t != s; t = t->next) {
				if (strcmp(s->name, t->name) == 0) {
					conf_msgs_add(errs, "%s:%d: server '%s' is declared twice in "
					    "%s '%s' (first at line %d)", a->file, s->line, s->name,
					    conf_proxy_kind(a), a->name, t->line);
					nerr++;
					break;
				}
			}
		}
	}
	return nerr;
}

/* maxqueue bounds a server's own queue, which only balance source,
 * leastconn and persistence (stick, use-server) fill, and only when the
 * server has a maxconn. */
static void
conf_check_maxqueue(const struct conf_proxy *px, struct conf_msgs *warns)
{
	int fills = px->balance == CONF_LB_SOURCE || px->balance == CONF_LB_LEASTCONN ||
	    px->stick_rules != NULL || px->use_servers != NULL;

	for (const struct conf_server *s = px->servers; s != NULL; s = s->next) {
		if (s->maxqueue == 0 || (s->maxconn != 0 && fills))
			continue;
		conf_msgs_add(warns, "%s:%d: server '%s/%s' has 'maxqueue' %s, so it does nothing "
		    "(sessions wait in a server's own queue only under 'balance source', "
		    "'leastconn' or persistence)", px->file, s->line, px->name, s->name,
		    s->maxconn == 0 ? "without 'maxconn'" : "but its backend neither hashes, "
		    "counts nor persists");
	}
}

static int
conf_check_backends(struct conf *c, struct conf_msgs *errs, struct conf_msgs *warns)
{
	int nerr = 0;

	for (struct conf_proxy *px = c->proxies; px != NULL; px = px->next) {
		/* A backend that only holds a stick-table (HAProxy's idiom) needs none. */
		if ((px->cap & CONF_PX_BE) && px->servers == NULL &&
		    (px->table == NULL || (px->cap & CONF_PX_FE)))
			conf_msgs_add(warns, "%s:%d: %s '%s' has no server; its sessions will "
			    "be closed", px->file, px->line, conf_proxy_kind(px), px->name);
		if (px->cap & CONF_PX_BE) {
			char w[256];

			if (px->check_opt == CONF_HEALTH_HTTP &&
			    conf_httpchk_build(px, w, sizeof(w)) == -1) {
				conf_msgs_add(errs, "%s:%d: %s", px->file, px->line, w);
				nerr++;
			}

			conf_health_warn(px, warns);
			conf_check_maxqueue(px, warns);
		}
		if (!(px->cap & CONF_PX_FE))
			continue;
		if (px->binds == NULL) {
			conf_msgs_add(errs, "%s:%d: %s '%s' has no 'bind' line", px->file,
			    px->line, conf_proxy_kind(px), px->name);
			nerr++;
		}
		for (struct acl_rule *r = px->use_backends; r != NULL; r = r->next) {
			r->backend = conf_find_proxy(c, r->backend_name, CONF_PX_BE);
			if (r->backend == NULL) {
				conf_msgs_add(errs, "%s:%d: %s '%s': use_backend '%s' is not a "
				    "declared backend", px->file, r->line, conf_proxy_kind(px),
				    px->name, r->backend_name);
				nerr++;
			}
		}
		if (px->default_backend != NULL) {
			px->backend = conf_find_proxy(c, px->default_backend, CONF_PX_BE);
			if (px->backend == NULL) {
				conf_msgs_add(errs, "%s:%d: %s '%s': default_backend '%s' is not a "
				    "declared backend", px->file, px->default_backend_line,
				    conf_proxy_kind(px), px->name, px->default_backend);
				nerr++;
			}
		} else if (px->cap & CONF_PX_BE) {
			px->backend = px;
		} else if (px->use_backends == NULL) {
			conf_msgs_add(errs, "%s:%d: frontend '%s' has no default_backend",
			    px->file, px->line, px->name);
			nerr++;
		}
	}
	return nerr;
}

static int
conf_check_binds(struct conf *c, int flags, struct conf_msgs *errs)
{
	int nerr = 0;
	char err[512];

	for (struct conf_proxy *px = c->proxies; px != NULL; px = px->next) {
		for (struct conf_bind *b = px->binds; b != NULL; b = b->next) {
			if (sockaddr_is_unresolved(&b->addr) && (flags & CONF_CHECK_F_RESOLVE) &&
			    sockaddr_resolve(&b->addr, err, sizeof(err)) == -1) {
				conf_msgs_add(errs, "%s:%d: bind: %s", px->file, b->line, err);
				nerr++;
				continue;
			}
			if (sockaddr_is_unresolved(&b->addr))
				continue;
			/* The same address twice would fail at bind time with a less
			 * helpful message; say where both are. */
			for (struct conf_proxy *qx = c->proxies; qx != NULL; qx = qx->next) {
				for (struct conf_bind *d = qx->binds; d != NULL && d != b; d = d->next) {
					if (d->addr.len == b->addr.len &&
					    memcmp(&d->addr.ss, &b->addr.ss, b->addr.len) == 0) {
						conf_msgs_add(errs, "%s:%d: bind %s:%u is already used by "
						    "%s '%s' at line %d", px->file, b->line, b->addr.host,
						    b->addr.port, conf_proxy_kind(qx), qx->name, d->line);
						nerr++;
					}
				}
				if (qx == px)
					break;
			}
		}
	}
	return nerr;
}

static int
conf_check_servers(struct conf *c, int flags, struct conf_msgs *errs)
{
	int nerr = 0;
	char err[512];

	if (!(flags & CONF_CHECK_F_RESOLVE))
		return 0;
	for (struct conf_proxy *px = c->proxies; px != NULL; px = px->next) {
		for (struct conf_server *s = px->servers; s != NULL; s = s->next) {
			if (conf_resolvers_init_addr(s, err, sizeof(err)) == -1) {
				conf_msgs_add(errs, "%s:%d: server '%s' in %s '%s': %s", px->file,
				    s->line, s->name, conf_proxy_kind(px), px->name, err);
				nerr++;
			}
			if (s->agent_check && s->agent_port == 0) {
				conf_msgs_add(errs, "%s:%d: server '%s' in %s '%s': 'agent-check' "
				    "requires 'agent-port'", px->file, s->line, s->name,
				    conf_proxy_kind(px), px->name);
				nerr++;
			}
			if (s->agent_addr_set && sockaddr_is_unresolved(&s->agent_addr) &&
			    sockaddr_resolve(&s->agent_addr, err, sizeof(err)) == -1) {
				conf_msgs_add(errs, "%s:%d: server '%s' in %s '%s': agent-addr: %s",
				    px->file, s->line, s->name, conf_proxy_kind(px), px->name, err);
				nerr++;
			}
			if (s->check_addr_set && sockaddr_is_unresolved(&s->check_addr) &&
			    sockaddr_resolve(&s->check_addr, err, sizeof(err)) == -1) {
				conf_msgs_add(errs, "%s:%d: server '%s' in %s '%s': check addr: %s",
				    px->file, s->line, s->name, conf_proxy_kind(px), px->name, err);
				nerr++;
			}
		}
	}
	return nerr;
}

static void
conf_check_timeouts(struct conf *c, struct conf_msgs *warns)
{
	for (struct conf_proxy *px = c->proxies; px != NULL; px = px->next) {
		const struct conf_proxy *be = px->backend;

		if (!(px->cap & CONF_PX_FE) || be == NULL)
			continue;
		if (px->to.client == 0 || be->to.server == 0 || be->to.connect == 0)
			conf_msgs_add(warns, "%s:%d: %s '%s' lacks 'timeout %s': idle sessions "
			    "may then stay open forever", px->file, px->line, conf_proxy_kind(px),
			    px->name, px->to.client == 0 ? "client" :
			    be->to.server == 0 ? "server" : "connect");
	}
}

/* user/group names to ids, and the chroot directory, at start-up and -c. */
static int
conf_check_privileges(struct conf *c, int flags, struct conf_msgs *errs)
{
	struct conf_global *g = &c->global;
	const char *file = c->nfiles > 0 ? c->files[0] : "(config)";
	int nerr = 0;
	struct stat st;
	char err[256];

	if (!(flags & CONF_CHECK_F_RESOLVE))
		return 0;
	if (g->user != NULL) {
		struct passwd *pw = getpwnam(g->user);

		if (pw == NULL) {
			conf_msgs_add(errs, "%s:%d: user '%s' does not exist", file, g->user_line, g->user);
			nerr++;
		} else {
			if (g->uid != -1 && g->uid != (long long)pw->pw_uid)
				conf_msgs_add(errs, "%s:%d: user '%s' is uid %u, but uid %lld is also set",
				    file, g->user_line, g->user, (unsigned int)pw->pw_uid, g->uid), nerr++;
			g->uid = pw->pw_uid;
			/* As HAProxy: without "group", the user's primary group. */
			if (g->group == NULL && g->gid == -1)
				g->gid = pw->pw_gid;
		}
	}
	if (g->group != NULL) {
		struct group *gr = getgrnam(g->group);

		if (gr == NULL) {
			conf_msgs_add(errs, "%s:%d: group '%s' does not exist", file, g->group_line,
			    g->group);
			nerr++;
		} else {
			g->gid = gr->gr_gid;
		}
	}
	if (g->chroot != NULL && (stat(g->chroot, &st) == -1 || !S_ISDIR(st.st_mode))) {
		conf_msgs_add(errs, "%s:%d: chroot '%s' is not a directory", file, g->chroot_line,
		    g->chroot);
		nerr++;
	}
	if (g->metrics != NULL && sockaddr_is_unresolved(g->metrics) &&
	    sockaddr_resolve(g->metrics, err, sizeof(err)) == -1) {
		conf_msgs_add(errs, "%s:%d: stats metrics: %s", file, g->metrics_line, err);
		nerr++;
	}
	if (g->health != NULL && sockaddr_is_unresolved(g->health) &&
	    sockaddr_resolve(g->health, err, sizeof(err)) == -1) {
		conf_msgs_add(errs, "%s:%d: stats health: %s", file, g->health_line, err);
		nerr++;
	}
	/* The admin sockets' owners. */
	for (struct conf_admin *a = g->admins; a != NULL; a = a->next) {
		if (a->user != NULL) {
			struct passwd *pw = getpwnam(a->user);

			if (pw != NULL)
				a->uid = pw->pw_uid;
			else
				conf_msgs_add(errs, "%s:%d: stats socket: user '%s' does not exist",
				    file, a->line, a->user), nerr++;
		}
		if (a->group != NULL) {
			struct group *gr = getgrnam(a->group);

			if (gr != NULL)
				a->gid = gr->gr_gid;
			else
				conf_msgs_add(errs, "%s:%d: stats socket: group '%s' does not exist",
				    file, a->line, a->group), nerr++;
		}
	}
	return nerr;
}

/* set-bandwidth-limit rules name a bwlim filter of their own proxy. */
static int
conf_check_shaping(struct conf *c, struct conf_msgs *errs, struct conf_msgs *warns)
{
	int nerr = 0;

	for (struct conf_proxy *px = c->proxies; px != NULL; px = px->next) {
		for (struct shaper_rule *r = px->bw_rules; r != NULL; r = r->next) {
			for (r->g = px->shapers; r->g != NULL; r->g = r->g->next)
				if (r->g->name != NULL && strcmp(r->g->name, r->name) == 0)
					break;
			if (r->g == NULL) {
				conf_msgs_add(errs, "%s:%d: set-bandwidth-limit: %s '%s' has no bwlim "
				    "filter named '%s'", px->file, r->line, conf_proxy_kind(px),
				    px->name, r->name);
				nerr++;
			} else if ((r->limit || r->period) && r->g->mode != SHAPER_PER_CONN) {
				conf_msgs_add(errs, "%s:%d: set-bandwidth-limit %s: 'limit' and 'period' "
				    "apply to per-session filters only, and '%s' is shared by source",
				    px->file, r->line, r->name, r->name);
				nerr++;
			}
		}
		for (struct shaper_group *g = px->shapers; g != NULL; g = g->next) {
			struct shaper_rule *r = px->bw_rules;

			while (r != NULL && r->g != g)
				r = r->next;
			if (g->name != NULL && r == NULL)
				conf_msgs_add(warns, "%s:%d: bwlim filter '%s' of %s '%s' is enabled by "
				    "no 'tcp-request content set-bandwidth-limit %s' rule: it limits "
				    "nothing", px->file, g->line, g->name, conf_proxy_kind(px), px->name,
				    g->name);
		}
	}
	return nerr;
}

/* Rules whose conditions read the request's bytes where none are read
 * (tcp-request connection), or with no inspect-delay to wait for them:
 * HAProxy warns, and so does splicer. */
static void
conf_check_rule_payload(struct conf_proxy *px, const struct acl_rule *rules,
    const char *what, int connection, struct conf_msgs *warns)
{
	const char *fetch;

	for (const struct acl_rule *r = rules; r != NULL; r = r->next) {
		if (!acl_cond_uses_payload(r->cond, &fetch))
			continue;
		if (connection)
			conf_msgs_add(warns, "%s:%d: 'tcp-request connection' rule of %s '%s' "
			    "uses '%s', which reads the request's bytes: it runs before any is "
			    "read and never sees one (use 'tcp-request content')", px->file,
			    r->line, conf_proxy_kind(px), px->name, fetch);
		else if (px->inspect_delay == 0)
			conf_msgs_add(warns, "%s:%d: %s rule of %s '%s' uses '%s' without "
			    "'tcp-request inspect-delay': it sees only the bytes there at once",
			    px->file, r->line, what, conf_proxy_kind(px), px->name, fetch);
	}
}

/* The fetches' proxy and server names of px's ACLs; 1 if one is not known. */
static int
conf_check_acl_names(struct conf *c, struct conf_proxy *px, struct conf_msgs *errs)
{
	int line;
	char err[512];

	if (acl_resolve(px->acls, c, px, &line, err, sizeof(err)) == 0)
		return 0;
	conf_msgs_add(errs, "%s:%d: %s '%s': %s", px->file, line ? line : px->line,
	    conf_proxy_kind(px), px->name, err);
	return 1;
}

/* The fetches' proxy and server names are known once every section is. */
static int
conf_check_acls(struct conf *c, struct conf_msgs *errs, struct conf_msgs *warns)
{
	int nerr = 0;

	/* The stats pages' only rules are their "monitor fail" conditions. */
	for (struct conf_proxy *px = c->stats_pages; px != NULL; px = px->next)
		nerr += conf_check_acl_names(c, px, errs);
	for (struct conf_proxy *px = c->proxies; px != NULL; px = px->next) {
		nerr += conf_check_acl_names(c, px, errs);
		conf_check_rule_payload(px, px->tcp_conn_rules, "", 1, warns);
		conf_check_rule_payload(px, px->tcp_content_rules, "'tcp-request content'", 0,
		    warns);
		conf_check_rule_payload(px, px->use_backends, "'use_backend'", 0, warns);
		if (px->inspect_delay != 0 && px->tcp_content_rules == NULL)
			conf_msgs_add(warns, "%s:%d: 'tcp-request inspect-delay' of %s '%s' has "
			    "no effect: no 'tcp-request content' rule waits for anything",
			    px->file, px->inspect_delay_line, conf_proxy_kind(px), px->name);
	}
	return nerr;
}

int
conf_check(struct conf *c, int flags, struct conf_msgs *errs, struct conf_msgs *warns)
{
	int nerr = 0, nfe = 0;

	nerr += conf_check_names(c, errs);
	nerr += conf_check_backends(c, errs, warns);
	nerr += conf_check_binds(c, flags, errs);
	nerr += conf_resolvers_check(c, errs, warns);
	nerr += conf_check_servers(c, flags, errs);
	nerr += conf_check_privileges(c, flags, errs);
	nerr += conf_check_shaping(c, errs, warns);
	nerr += conf_check_acls(c, errs, warns);
	nerr += conf_stick_check(c, errs);
	conf_check_timeouts(c, warns);
	for (struct conf_proxy *px = c->proxies; px != NULL; px = px->next)
		nfe += (px->cap & CONF_PX_FE) != 0;
	if (nfe == 0 && c->stats_pages == NULL && c->nfiles > 0) {
		conf_msgs_add(errs, "%s: no frontend or listen section: nothing to do",
		    c->files[0]);
		nerr++;
	}
	if (c->global.maxpipes_set && c->global.pipe_prealloc > c->global.maxpipes)
		conf_msgs_add(warns, "tune.pipe.prealloc %u is above maxpipes %u: %u pipes are "
		    "made at start", c->global.pipe_prealloc, c->global.maxpipes,
		    c->global.maxpipes);
	return nerr;
}
