/*
 * conf: allocation and release of the configuration tree, and the
 * message lists that parse and check fill.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acl.h"
#include "persist.h"
#include "conf.h"
#include "log_format.h"
#include "conf_health.h"
#include "conf_resolvers.h"
#include "conf_shape.h"
#include "conf_stats.h"
#include "conf_statspage.h"

void
conf_msgs_add(struct conf_msgs *m, const char *fmt, ...)
{
	va_list ap;
	char *s;

	if (m->n == m->cap) {
		int cap = m->cap ? m->cap * 2 : 16;
		char **n = realloc(m->msg, (size_t)cap * sizeof(*n));

		if (n == NULL)
			return;
		m->msg = n;
		m->cap = cap;
	}
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1)
		s = NULL;
	va_end(ap);
	if (s != NULL)
		m->msg[m->n++] = s;
}

void
conf_msgs_free(struct conf_msgs *m)
{
	for (int i = 0; i < m->n; i++)
		free(m->msg[i]);
	free(m->msg);
	memset(m, 0, sizeof(*m));
}

struct conf *
conf_new(void)
{
	struct conf *c = calloc(1, sizeof(struct conf));

	if (c != NULL) {
		c->global.uid = c->global.gid = -1;
		c->global.promote_bytes = CONF_PROMOTE_BYTES_DEFAULT;
		c->global.admin_timeout = CONF_ADMIN_TIMEOUT_DEFAULT;
		c->global.admin_maxconn = CONF_ADMIN_MAXCONN_DEFAULT;
		c->global.promote_max_rate = CONF_PROMOTE_MAX_RATE_DEFAULT;
	}
	return c;
}

static void
conf_free_logs(struct conf_log *l)
{
	while (l != NULL) {
		struct conf_log *next = l->next;

		if (l->fd > STDERR_FILENO)
			close(l->fd);
		free(l->path);
		free(l);
		l = next;
	}
}

static void
conf_free_proxy(struct conf_proxy *px)
{
	while (px->binds != NULL) {
		struct conf_bind *b = px->binds;

		px->binds = b->next;
		free(b->name);
		free(b);
	}
	while (px->servers != NULL) {
		struct conf_server *s = px->servers;

		px->servers = s->next;
		free(s->name);
		free(s);
	}
	conf_free_logs(px->logs);
	free(px->log_format);
	log_fmt_free(px->logfmt);
	conf_health_free(px);
	acl_free_rules(px->tcp_conn_rules);
	acl_free_rules(px->tcp_content_rules);
	acl_free_rules(px->use_backends);
	persist_free(px);
	conf_shape_free_rules(px->bw_rules);
	shaper_group_free_list(px->shapers);
	acl_free_list(px->acls);
	free(px->default_backend);
	conf_statspage_free(px->page);
	free(px->name);
	free(px);
}

void
conf_free(struct conf *c)
{
	if (c == NULL)
		return;
	while (c->proxies != NULL) {
		struct conf_proxy *px = c->proxies;

		c->proxies = px->next;
		conf_free_proxy(px);
	}
	while (c->stats_pages != NULL) {
		struct conf_proxy *px = c->stats_pages;

		c->stats_pages = px->next;
		conf_free_proxy(px);
	}
	while (c->defaults != NULL) {
		struct conf_proxy *px = c->defaults;

		c->defaults = px->next;
		conf_free_proxy(px);
	}
	conf_free_logs(c->global.logs);
	free(c->global.pidfile);
	free(c->global.user);
	free(c->global.group);
	free(c->global.chroot);
	conf_stats_free(c->global.admins);
	free(c->global.metrics);
	free(c->global.health);
	free(c->global.stats_file);
	shaper_group_free_list(c->global.total[0]);
	shaper_group_free_list(c->global.total[1]);
	conf_resolvers_free(c->resolvers);
	for (int i = 0; i < c->nfiles; i++)
		free(c->files[i]);
	free(c->files);
	free(c);
}

/*
 * Generations. Sessions hold the tree they started with; the current
 * tree holds one reference of its own, given up by conf_retire(), so
 * that the count reaches 0 exactly once, on whichever thread ends the
 * last session. conf_set_current() is called while no worker runs
 * (start-up, or a reload with the workers parked).
 */
static struct conf *conf_cur;

void
conf_set_current(struct conf *c)
{
	conf_hold(c);
	conf_cur = c;
}

struct conf *
conf_current(void)
{
	return conf_cur;
}

void
conf_hold(struct conf *c)
{
	__atomic_add_fetch(&c->refs, 1, __ATOMIC_RELAXED);
}

void
conf_release(struct conf *c)
{
	if (__atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) == 0)
		conf_free(c);
}

unsigned int
conf_sessions(const struct conf *c)
{
	unsigned int refs = __atomic_load_n(&c->refs, __ATOMIC_RELAXED);

	return c == conf_cur && refs > 0 ? refs - 1 : refs;
}

void
conf_retire(struct conf *c)
{
	if (conf_cur == c)
		conf_cur = NULL;
	conf_release(c);
}

struct conf_proxy *
conf_find_proxy(const struct conf *c, const char *name, unsigned int cap)
{
	for (struct conf_proxy *px = c->proxies; px != NULL; px = px->next) {
		if ((px->cap & cap) == cap && strcmp(px->name, name) == 0)
			return px;
	}
	return NULL;
}

unsigned int
conf_bind_id(const struct conf_proxy *fe, const struct conf_bind *b)
{
	unsigned int id = 1;

	for (const struct conf_bind *i = fe->binds; i != NULL && i != b; i = i->next)
		id++;
	return id;
}

const char *
conf_proxy_kind(const struct conf_proxy *px)
{
	if (px->cap & CONF_PX_DEF)
		return "defaults";
	if ((px->cap & (CONF_PX_FE | CONF_PX_BE)) == (CONF_PX_FE | CONF_PX_BE))
		return "listen";
	return (px->cap & CONF_PX_FE) ? "frontend" : "backend";
}
