/*
 * acl_rule: the rules that act on conditions. "tcp-request connection"
 * and "tcp-request content" rules run in order until one decides
 * (HAProxy's tcp_exec_l4_rules and tcp_inspect_request); a content rule
 * whose condition waits for bytes stops the run until more come or the
 * inspection ends. The actions are a table that other modules extend.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "acl.h"

static const struct acl_action acl_builtin_actions[] = {
	{ "accept", ACL_RULE_CONNECTION | ACL_RULE_CONTENT, ACL_ACTION_ACCEPT, NULL, NULL, NULL },
	{ "reject", ACL_RULE_CONNECTION | ACL_RULE_CONTENT, ACL_ACTION_REJECT, NULL, NULL, NULL },
};

/* Tables added by other modules (stick tables' track-sc0..2). */
#define ACL_ACTION_TABLES_MAX 8

static struct {
	const struct acl_action *table;
	size_t n;
} acl_action_tables[ACL_ACTION_TABLES_MAX] = {
	{ acl_builtin_actions, sizeof(acl_builtin_actions) / sizeof(acl_builtin_actions[0]) },
};
static size_t acl_action_ntables = 1;

int
acl_action_register(const struct acl_action *table, size_t n)
{
	if (acl_action_ntables == ACL_ACTION_TABLES_MAX)
		return -1;
	acl_action_tables[acl_action_ntables].table = table;
	acl_action_tables[acl_action_ntables].n = n;
	acl_action_ntables++;
	return 0;
}

const struct acl_action *
acl_action_find(const char *name, unsigned int where)
{
	for (size_t t = 0; t < acl_action_ntables; t++) {
		for (size_t i = 0; i < acl_action_tables[t].n; i++) {
			const struct acl_action *a = &acl_action_tables[t].table[i];

			if ((a->where & where) && strcmp(a->name, name) == 0)
				return a;
		}
	}
	return NULL;
}

/* A rule whose condition holds: its action's verdict. */
static int
acl_rule_run(const struct acl_rule *r, struct sample_ctx *ctx)
{
	if (r->act != NULL && r->act->run != NULL)
		return r->act->run(r, ctx);
	return r->act != NULL ? r->act->verdict : r->action;
}

int
acl_rules_decide(const struct acl_rule *r, struct sample_ctx *ctx,
    const struct acl_rule **decided)
{
	*decided = NULL;
	for (; r != NULL; r = r->next) {
		int v = acl_cond_eval(r->cond, ctx);

		if (v == ACL_MISS) {
			*decided = r;
			return ACL_ACTION_WAIT;
		}
		if (v == ACL_FAIL)
			continue;
		if ((v = acl_rule_run(r, ctx)) != ACL_ACTION_CONTINUE) {
			*decided = r;
			return v;
		}
	}
	return ACL_ACTION_ACCEPT;
}

int
acl_rules_verdict(const struct acl_rule *r, struct sample_ctx *ctx)
{
	const struct acl_rule *decided;

	return acl_rules_decide(r, ctx, &decided);
}

int
acl_connection_verdict(const struct acl_rule *r, const struct sockaddr *cli)
{
	struct sample_ctx ctx = { .cli = cli, .final = 1 };

	return acl_rules_verdict(r, &ctx);
}

struct conf_proxy *
acl_use_backend_ctx(const struct acl_rule *r, const struct sample_ctx *ctx)
{
	for (; r != NULL; r = r->next) {
		if (acl_cond_eval(r->cond, ctx) == ACL_PASS)
			return r->backend;
	}
	return NULL;
}

struct conf_proxy *
acl_use_backend(const struct acl_rule *r, const struct sockaddr *cli)
{
	struct sample_ctx ctx = { .cli = cli, .final = 1 };

	return acl_use_backend_ctx(r, &ctx);
}

void
acl_free_rules(struct acl_rule *r)
{
	while (r != NULL) {
		struct acl_rule *next = r->next;

		if (r->act != NULL && r->act->free_arg != NULL)
			r->act->free_arg(r->arg);
		acl_free_cond(r->cond);
		free(r->backend_name);
		free(r);
		r = next;
	}
}
