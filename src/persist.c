/*
 * persist: use-server, force/ignore-persist, stick match/store and the
 * tracked counters, evaluated for one session. See persist.h.
 */
#include "config.h"

#include <stdlib.h>

#include "acl.h"
#include "persist.h"
#include "stick.h"
#include "stick_smp.h"

struct conf_server *
persist_server_by_id(struct conf_proxy *be, unsigned int id)
{
	struct conf_server *s = be->servers;

	for (unsigned int i = 1; s != NULL && i < id; i++)
		s = s->next;
	return id == 0 ? NULL : s;
}

unsigned int
persist_server_id(const struct conf_proxy *be, const struct conf_server *srv)
{
	unsigned int id = 1;

	for (const struct conf_server *s = be->servers; s != NULL; s = s->next, id++)
		if (s == srv)
			return id;
	return 0;
}

/* Does a force-persist (force 1) or ignore-persist (0) condition hold? */
static int
persist_if_holds(const struct conf_proxy *be, int force, const struct sample_ctx *ctx)
{
	for (const struct persist_if *r = be->persist_ifs; r != NULL; r = r->next)
		if (r->force == force && acl_cond_eval(r->cond, ctx) == ACL_PASS)
			return 1;
	return 0;
}

/* A stick rule applies to ctx: its condition holds and its key is there. */
static int
persist_key(const struct persist_stick *r, const struct sample_ctx *ctx, struct stick_key *k)
{
	struct sample smp;

	return acl_cond_eval(r->cond, ctx) == ACL_PASS &&
	    sample_fetch(&r->key, ctx, &smp) == SMP_FOUND && stick_smp_key(r->table, &smp, k) == 0;
}

static int
persist_up(const struct conf_server *s)
{
	return s->state == CONF_SRV_UP;
}

struct conf_server *
persist_choose(struct conf_proxy *be, const struct sample_ctx *ctx, uint64_t now, int *force)
{
	int forced = -1;	/* force-persist, evaluated once when needed */

	*force = 0;
	for (struct persist_use *r = be->use_servers; r != NULL; r = r->next) {
		if (acl_cond_eval(r->cond, ctx) != ACL_PASS)
			continue;
		if (persist_up(r->srv))
			return r->srv;
		if (forced == -1)
			forced = persist_if_holds(be, 1, ctx);
		if (forced) {
			*force = 1;
			return r->srv;
		}
	}
	if (persist_if_holds(be, 0, ctx))
		return NULL;
	for (struct persist_stick *r = be->stick_rules; r != NULL; r = r->next) {
		struct conf_server *s;
		struct stick_key k;

		if (!(r->what & PERSIST_MATCH) || !persist_key(r, ctx, &k))
			continue;
		s = persist_server_by_id(be, stick_lookup_server(r->table, &k, now));
		if (s == NULL)
			continue;
		if (persist_up(s))
			return s;
		if (forced == -1)
			forced = persist_if_holds(be, 1, ctx);
		if (forced) {
			*force = 1;
			return s;
		}
	}
	return NULL;
}

enum backend_outcome
persist_assign(struct conf_proxy *be, const struct sample_ctx *ctx, struct conf_server **srv,
    struct backend_waiter *w, uint64_t now)
{
	struct conf_server *want = NULL;
	int force = 0;

	if (be->use_servers != NULL || be->stick_rules != NULL)
		want = persist_choose(be, ctx, now, &force);
	return backend_assign_to(be, want, force, ctx->cli, NULL, srv, w);
}

void
persist_store(struct conf_proxy *be, const struct sample_ctx *ctx,
    const struct conf_server *srv, uint64_t now)
{
	unsigned int id = persist_server_id(be, srv), n = 0;

	/* HAProxy keeps at most 8 stores per request. */
	for (struct persist_stick *r = be->stick_rules; r != NULL && n < 8; r = r->next) {
		struct stick_key k;

		if (!(r->what & PERSIST_STORE) || !persist_key(r, ctx, &k))
			continue;
		stick_store_server(r->table, &k, id, now);
		n++;
	}
}

void
persist_untrack(void *track[PERSIST_SC_MAX], uint64_t up, uint64_t down, uint64_t now)
{
	for (unsigned int i = 0; i < PERSIST_SC_MAX; i++) {
		struct stick_entry *e = track[i];

		if (e == NULL)
			continue;
		/* An entry tracked by two counters counts the connection twice,
		 * as HAProxy, and its bytes twice too. */
		stick_conn_end(e->table, e, now);
		stick_add_bytes(e->table, e, 0, up, now);
		stick_add_bytes(e->table, e, 1, down, now);
		stick_unref(e->table, e, now);
		track[i] = NULL;
	}
}

void
persist_free(struct conf_proxy *px)
{
	while (px->stick_rules != NULL) {
		struct persist_stick *r = px->stick_rules;

		px->stick_rules = r->next;
		acl_free_cond(r->cond);
		sample_free(&r->key);
		free(r->table_name);
		free(r);
	}
	while (px->use_servers != NULL) {
		struct persist_use *r = px->use_servers;

		px->use_servers = r->next;
		acl_free_cond(r->cond);
		free(r->name);
		free(r);
	}
	while (px->persist_ifs != NULL) {
		struct persist_if *r = px->persist_ifs;

		px->persist_ifs = r->next;
		acl_free_cond(r->cond);
		free(r);
	}
	stick_table_free_list(px->table);
	px->table = NULL;
}
