/*
 * persist: which server a client is bound to before balancing, HAProxy's
 * order: "use-server" rules first (a down server's rule is skipped unless
 * a "force-persist" condition holds), then, unless an "ignore-persist"
 * condition holds, the "stick match" rules, whose table names the server
 * id a previous session of the same key stored ("stick store-request"
 * and "stick on"). And the entries a session tracks (track-sc0..2,
 * stick_smp.c), released when it ends.
 *
 * Server ids are the servers' places in their backend, from 1, as
 * HAProxy numbers them when no "id" is given.
 */
#ifndef SPLICER_PERSIST_H
#define SPLICER_PERSIST_H

#include <stdint.h>
#include <sys/socket.h>

#include "backend.h"
#include "conf.h"
#include "sample.h"

struct acl_cond;
struct stick_entry;
struct stick_table;

/* What a stick rule does. */
#define PERSIST_MATCH	0x1
#define PERSIST_STORE	0x2

/* "stick match|on|store-request KEY [table T] [if|unless COND]". */
struct persist_stick {
	unsigned int what;		/* PERSIST_* */
	struct sample_expr key;		/* a fetch: src, dst, dst_port ... */
	char *table_name;		/* as written, NULL: the backend's own */
	struct stick_table *table;	/* resolved by conf_check */
	struct acl_cond *cond;
	int line;
	struct persist_stick *next;
};

/* "use-server NAME if|unless COND". */
struct persist_use {
	char *name;
	struct conf_server *srv;	/* resolved by conf_check */
	struct acl_cond *cond;
	int line;
	struct persist_use *next;
};

/* "force-persist|ignore-persist if|unless COND". */
struct persist_if {
	int force;			/* 1 force-persist, 0 ignore-persist */
	struct acl_cond *cond;
	int line;
	struct persist_if *next;
};

/* Sticky counters a session tracks. */
#define PERSIST_SC_MAX SMP_TRACK_MAX

struct persist_sc {
	void *e[PERSIST_SC_MAX];	/* struct stick_entry, or NULL (sample_ctx.track) */
};

/*
 * The server be's rules bind the client of ctx to, or NULL (balance).
 * *force: the server may be taken though it is not up (force-persist).
 */
struct conf_server *persist_choose(struct conf_proxy *be, const struct sample_ctx *ctx,
    uint64_t now, int *force);
/* The session ctx tells of now runs on srv: the store rules record it. */
void persist_store(struct conf_proxy *be, const struct sample_ctx *ctx,
    const struct conf_server *srv, uint64_t now);

/* The session ends (or its connection was rejected: no byte): its
 * tracked counters are released, its bytes (up from the client, down to
 * it) counted. */
void persist_untrack(void *track[PERSIST_SC_MAX], uint64_t up, uint64_t down, uint64_t now);

/* Server of be with id (1-based place), or NULL. */
struct conf_server *persist_server_by_id(struct conf_proxy *be, unsigned int id);
/* The id of srv in be. */
unsigned int persist_server_id(const struct conf_proxy *be, const struct conf_server *srv);

/* backend_assign() for a new session of cli: persistence first. */
enum backend_outcome persist_assign(struct conf_proxy *be, const struct sample_ctx *ctx,
    struct conf_server **srv, struct backend_waiter *w, uint64_t now);

void persist_free(struct conf_proxy *px);

#endif
