/*
 * shaper: token buckets, the groups that share them and the flows that
 * obey them. See shaper.h for the model.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "acl.h"
#include "conf.h"
#include "shaper.h"
#include "stick.h"
#include "units.h"

/* A byte in bit-microseconds: the unit of made and given. */
#define SHAPER_BYTE 8000000ULL

/* Chains of a per-source table. */
#define SHAPER_SRC_CHAINS 1024

struct shaper_src {
	uint8_t key[17];		/* family, then the address (v4 in the first 4) */
	unsigned int refs;		/* flows that hold it */
	struct shaper_bucket bucket;
	struct stick_entry *ste;	/* its entry in g->stick, held, or NULL */
	struct shaper_src *next;
};

uint64_t
shaper_default_burst(uint64_t rate)
{
	uint64_t b = rate / 80;		/* 1/10 s, in bytes */

	if (b < SHAPER_BURST_MIN_DEFAULT)
		b = SHAPER_BURST_MIN_DEFAULT;
	return b > SHAPER_BURST_MAX ? SHAPER_BURST_MAX : b;
}

/* ---- buckets ---- */

void
shaper_bucket_init(struct shaper_bucket *b, const struct shaper_limit *lim, uint64_t now)
{
	b->lim = lim;
	b->made = b->given = 0;
	b->last = now;
}

/* Bring made up to now. A bucket whose clock never started (last == 0:
 * a shared bucket before its first session) starts empty now. */
static void
shaper_bucket_refill(struct shaper_bucket *b, uint64_t now)
{
	uint64_t rate = __atomic_load_n(&b->lim->rate, __ATOMIC_RELAXED);
	uint64_t burst = __atomic_load_n(&b->lim->burst, __ATOMIC_RELAXED);
	int64_t cap = (int64_t)(burst * SHAPER_BYTE), have;
	uint64_t dt, room;

	if (b->last == 0) {
		b->last = now;
		b->made = b->given;
		return;
	}
	if (now <= b->last)
		return;
	dt = now - b->last;
	b->last = now;
	have = (int64_t)(b->made - b->given);
	if (have >= cap) {
		/* Full (or the burst was lowered): keep at most the burst. */
		b->made = b->given + (uint64_t)cap;
		return;
	}
	room = (uint64_t)(cap - have);
	if (dt > room / rate)
		b->made = b->given + (uint64_t)cap;
	else
		b->made += dt * rate;
}

uint64_t
shaper_bucket_take(struct shaper_bucket *b, uint64_t n, uint64_t now)
{
	shaper_bucket_refill(b, now);
	b->given += n * SHAPER_BYTE;
	return b->given;
}

uint64_t
shaper_bucket_wait(struct shaper_bucket *b, uint64_t mark, uint64_t now)
{
	uint64_t rate = __atomic_load_n(&b->lim->rate, __ATOMIC_RELAXED);
	int64_t short_by;

	shaper_bucket_refill(b, now);
	short_by = (int64_t)(mark - b->made);
	if (short_by <= 0)
		return 0;
	return ((uint64_t)short_by + rate - 1) / rate;
}

void
shaper_bucket_refund(struct shaper_bucket *b, uint64_t n, uint64_t now)
{
	uint64_t burst = __atomic_load_n(&b->lim->burst, __ATOMIC_RELAXED);

	shaper_bucket_refill(b, now);
	b->given -= n * SHAPER_BYTE;
	if ((int64_t)(b->made - b->given) > (int64_t)(burst * SHAPER_BYTE))
		b->made = b->given + burst * SHAPER_BYTE;
}

uint64_t
shaper_bucket_avail(struct shaper_bucket *b, uint64_t now)
{
	int64_t have;

	shaper_bucket_refill(b, now);
	have = (int64_t)(b->made - b->given);
	return have > 0 ? (uint64_t)have / SHAPER_BYTE : 0;
}

/* Bytes to reserve at a time under one limit. */
static uint64_t
shaper_quantum(const struct shaper_limit *lim)
{
	uint64_t q = __atomic_load_n(&lim->rate, __ATOMIC_RELAXED) / 8 / SHAPER_QUANTA_PER_S;
	uint64_t min = __atomic_load_n(&lim->min_size, __ATOMIC_RELAXED);

	if (q < SHAPER_QUANTUM_MIN)
		q = SHAPER_QUANTUM_MIN;
	if (q > SHAPER_QUANTUM_MAX)
		q = SHAPER_QUANTUM_MAX;
	/* Not capped by the burst: a quantum shorter than the timer's
	 * millisecond would lose time at every wake-up. */
	return q < min ? min : q;
}

/* ---- groups ---- */

struct shaper_group *
shaper_group_new(int dir, enum shaper_mode mode, uint64_t rate, uint64_t burst,
    uint64_t min_size, const char *name, int line)
{
	struct shaper_group *g = calloc(1, sizeof(*g));

	if (g == NULL)
		return NULL;
	if (name != NULL && (g->name = strdup(name)) == NULL) {
		free(g);
		return NULL;
	}
	g->dir = dir;
	g->mode = mode;
	g->line = line;
	g->lim.rate = rate;
	g->lim.burst = burst ? burst : shaper_default_burst(rate);
	g->lim.min_size = min_size;
	pthread_mutex_init(&g->lock, NULL);
	/* A shared bucket starts empty at its first session (last = 0). */
	shaper_bucket_init(&g->shared, &g->lim, 0);
	return g;
}

struct shaper_group *
shaper_group_clone(const struct shaper_group *g)
{
	struct shaper_group *c = shaper_group_new(g->dir, g->mode, g->lim.rate, g->lim.burst,
	    g->lim.min_size, g->name, g->line);

	if (c != NULL) {
		c->fl_limit = g->fl_limit;
		c->fl_period = g->fl_period;
		c->stick_form = g->stick_form;
		if (g->stick_name != NULL && (c->stick_name = strdup(g->stick_name)) == NULL) {
			shaper_group_free_list(c);
			return NULL;
		}
	}
	return c;
}

void
shaper_group_free_list(struct shaper_group *g)
{
	while (g != NULL) {
		struct shaper_group *next = g->next;

		/* Sessions hold the configuration, so no source entry is left. */
		free(g->table);
		free(g->stick_name);
		pthread_mutex_destroy(&g->lock);
		free(g->name);
		free(g);
		g = next;
	}
}

void
shaper_group_set(struct shaper_group *g, uint64_t rate, uint64_t burst)
{
	__atomic_store_n(&g->lim.rate, rate, __ATOMIC_RELAXED);
	__atomic_store_n(&g->lim.burst, burst ? burst : shaper_default_burst(rate),
	    __ATOMIC_RELAXED);
}

unsigned int
shaper_group_sources(struct shaper_group *g)
{
	unsigned int n;

	pthread_mutex_lock(&g->lock);
	n = g->nsrc;
	pthread_mutex_unlock(&g->lock);
	return n;
}

static void
shaper_src_key(const struct sockaddr *sa, uint8_t key[17])
{
	memset(key, 0, 17);
	key[0] = (uint8_t)sa->sa_family;
	if (sa->sa_family == AF_INET)
		memcpy(key + 1, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	else if (sa->sa_family == AF_INET6)
		memcpy(key + 1, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
}

static unsigned int
shaper_src_hash(const uint8_t key[17])
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	for (int i = 0; i < 17; i++)
		h = (h ^ key[i]) * 16777619u;
	return h % SHAPER_SRC_CHAINS;
}

/* The entry of a source, made on first use; under g->lock. */
static struct shaper_src *
shaper_src_hold(struct shaper_group *g, const struct sockaddr *cli, uint64_t now)
{
	uint8_t key[17];
	unsigned int h;
	struct shaper_src *e;

	if (g->table == NULL &&
	    (g->table = calloc(SHAPER_SRC_CHAINS, sizeof(*g->table))) == NULL)
		return NULL;
	shaper_src_key(cli, key);
	h = shaper_src_hash(key);
	for (e = g->table[h]; e != NULL; e = e->next) {
		if (memcmp(e->key, key, sizeof(key)) == 0) {
			e->refs++;
			return e;
		}
	}
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	memcpy(e->key, key, sizeof(key));
	e->refs = 1;
	shaper_bucket_init(&e->bucket, &g->lim, now);
	if (g->stick != NULL) {
		struct stick_key k;

		/* Lock order: the group's, then the table's. */
		if (stick_key_addr(g->stick, cli, &k) == 0)
			e->ste = stick_ref(g->stick, &k, now);
	}
	e->next = g->table[h];
	g->table[h] = e;
	g->nsrc++;
	return e;
}

/* Under g->lock. */
static void
shaper_src_put(struct shaper_group *g, struct shaper_src *e, uint64_t now)
{
	struct shaper_src **pp;

	if (--e->refs > 0)
		return;
	for (pp = &g->table[shaper_src_hash(e->key)]; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == e) {
			*pp = e->next;
			break;
		}
	}
	g->nsrc--;
	if (e->ste != NULL)
		stick_unref(g->stick, e->ste, now);
	free(e);
}

/* ---- flows ---- */

static int
shaper_use_locked(const struct shaper_use *u)
{
	return u->g != NULL && u->g->mode != SHAPER_PER_CONN;
}

static void
shaper_use_lock(struct shaper_use *u)
{
	if (shaper_use_locked(u))
		pthread_mutex_lock(&u->g->lock);
}

static void
shaper_use_unlock(struct shaper_use *u)
{
	if (shaper_use_locked(u))
		pthread_mutex_unlock(&u->g->lock);
}

struct shaper_flow *
shaper_flow_new(unsigned int cap)
{
	struct shaper_flow *f = calloc(1, sizeof(*f) + cap * sizeof(f->use[0]));

	if (f != NULL)
		f->cap = cap;
	return f;
}

int
shaper_flow_add(struct shaper_flow *f, struct shaper_group *g,
    const struct shaper_limit *lim, const struct sockaddr *cli, uint64_t now)
{
	struct shaper_use *u;

	for (unsigned int i = 0; i < f->n; i++) {
		u = &f->use[i];
		if (u->g != g)
			continue;
		if (g->mode == SHAPER_PER_CONN && lim != NULL) {
			u->lim = *lim;
			u->own.lim = &u->lim;
		}
		return 0;
	}
	if (f->n == f->cap)
		return -1;
	u = &f->use[f->n];
	memset(u, 0, sizeof(*u));
	u->g = g;
	switch (g->mode) {
	case SHAPER_PER_CONN:
		if (lim != NULL)
			u->lim = *lim;
		shaper_bucket_init(&u->own, lim != NULL ? &u->lim : &g->lim, now);
		u->b = &u->own;
		break;
	case SHAPER_SHARED:
		u->b = &g->shared;
		break;
	case SHAPER_PER_SOURCE:
		pthread_mutex_lock(&g->lock);
		u->src = shaper_src_hold(g, cli, now);
		pthread_mutex_unlock(&g->lock);
		if (u->src == NULL)
			return -1;
		u->b = &u->src->bucket;
		break;
	}
	f->n++;
	return 0;
}

int
shaper_flow_set(struct shaper_flow *f, uint64_t rate, uint64_t burst, uint64_t now)
{
	struct shaper_use *u;

	if (burst == 0)
		burst = shaper_default_burst(rate);
	for (unsigned int i = 0; i < f->n; i++) {
		u = &f->use[i];
		if (u->g == NULL) {
			__atomic_store_n(&u->lim.rate, rate, __ATOMIC_RELAXED);
			__atomic_store_n(&u->lim.burst, burst, __ATOMIC_RELAXED);
			return 0;
		}
	}
	if (f->n == f->cap)
		return -1;
	u = &f->use[f->n];
	memset(u, 0, sizeof(*u));
	u->lim.rate = rate;
	u->lim.burst = burst;
	shaper_bucket_init(&u->own, &u->lim, now);
	u->b = &u->own;
	if (f->pending != 0)	/* the quantum already reserved elsewhere counts here too */
		u->mark = shaper_bucket_take(u->b, f->pending, now);
	f->n++;
	return 0;
}

uint64_t
shaper_flow_grant(struct shaper_flow *f, uint64_t now, uint64_t *wait)
{
	uint64_t longest = 0, granted, q = SHAPER_QUANTUM_MAX;

	for (unsigned int i = 0; i < f->n; i++) {
		uint64_t uq = shaper_quantum(f->use[i].b->lim);

		if (uq < q)
			q = uq;
	}
	if (f->pending > q) {
		/* A limit was lowered while we waited: a quantum reserved at the
		 * old rate would take too long; keep what the new one gives. */
		uint64_t extra = f->pending - q;

		for (unsigned int i = 0; i < f->n; i++) {
			struct shaper_use *u = &f->use[i];

			shaper_use_lock(u);
			shaper_bucket_refund(u->b, extra, now);
			u->mark -= extra * SHAPER_BYTE;
			shaper_use_unlock(u);
		}
		f->pending = q;
	}
	if (f->pending == 0) {
		for (unsigned int i = 0; i < f->n; i++) {
			struct shaper_use *u = &f->use[i];

			shaper_use_lock(u);
			u->mark = shaper_bucket_take(u->b, q, now);
			shaper_use_unlock(u);
		}
		f->pending = q;
	}
	for (unsigned int i = 0; i < f->n; i++) {
		struct shaper_use *u = &f->use[i];
		uint64_t w;

		shaper_use_lock(u);
		w = shaper_bucket_wait(u->b, u->mark, now);
		shaper_use_unlock(u);
		if (w > longest)
			longest = w;
	}
	if (longest != 0) {
		*wait = longest < SHAPER_WAIT_MAX ? longest : SHAPER_WAIT_MAX;
		return 0;
	}
	granted = f->pending;
	f->pending = 0;
	for (unsigned int i = 0; i < f->n; i++) {
		struct shaper_use *u = &f->use[i];

		if (u->src != NULL && u->src->ste != NULL)	/* held by this flow */
			stick_add(u->g->stick, u->src->ste, u->g->dir == SHAPER_UP ?
			    STICK_BWLIM_IN_RATE : STICK_BWLIM_OUT_RATE, granted, now);
	}
	return granted;
}

void
shaper_flow_free(struct shaper_flow *f, uint64_t unused, uint64_t now)
{
	if (f == NULL)
		return;
	for (unsigned int i = 0; i < f->n; i++) {
		struct shaper_use *u = &f->use[i];

		if (!shaper_use_locked(u))
			continue;	/* its own bucket goes with it */
		pthread_mutex_lock(&u->g->lock);
		if (f->pending + unused != 0)
			shaper_bucket_refund(u->b, f->pending + unused, now);
		if (u->src != NULL)
			shaper_src_put(u->g, u->src, now);
		pthread_mutex_unlock(&u->g->lock);
	}
	free(f);
}

/* The groups of px for direction dir that apply to cli: add them to f
 * (with the rule's limit when it gives one), or count them when f is
 * NULL. Returns the count, or -1 when one could not be added. */
static int
shaper_flow_proxy(struct shaper_flow *f, int dir, const struct conf_proxy *px,
    const struct sockaddr *cli, uint64_t now)
{
	int n = 0;

	for (struct shaper_group *g = px->shapers; g != NULL; g = g->next) {
		if (g->dir != dir || g->name != NULL)
			continue;
		n++;
		if (f != NULL && shaper_flow_add(f, g, NULL, cli, now) == -1)
			return -1;
	}
	for (const struct shaper_rule *r = px->bw_rules; r != NULL; r = r->next) {
		struct shaper_limit lim, *limp = NULL;

		if (r->g == NULL || r->g->dir != dir || !acl_cond_match(r->cond, cli))
			continue;
		n++;
		if (f == NULL)
			continue;
		if (r->limit || r->period) {
			lim.rate = units_rate_bps(r->limit ? r->limit : r->g->fl_limit,
			    r->period ? r->period : r->g->fl_period);
			if (lim.rate == 0)
				lim.rate = 1;
			lim.burst = shaper_default_burst(lim.rate);
			lim.min_size = r->g->lim.min_size;
			limp = &lim;
		}
		if (shaper_flow_add(f, r->g, limp, cli, now) == -1)
			return -1;
	}
	return n;
}

struct shaper_flow *
shaper_flow_for(int dir, const struct conf *c, const struct conf_proxy *fe,
    const struct conf_proxy *be, const struct sockaddr *cli, uint64_t now, int *oom)
{
	struct shaper_group *total = c->global.total[dir];
	struct shaper_flow *f;
	int n;

	*oom = 0;
	if (be == fe)
		be = NULL;
	n = shaper_flow_proxy(NULL, dir, fe, cli, now) +
	    (be != NULL ? shaper_flow_proxy(NULL, dir, be, cli, now) : 0) + (total != NULL);
	if (n == 0)
		return NULL;
	/* One more for a limit of the session's own (shaper_flow_set). */
	if ((f = shaper_flow_new((unsigned int)n + 1)) == NULL ||
	    shaper_flow_proxy(f, dir, fe, cli, now) == -1 ||
	    (be != NULL && shaper_flow_proxy(f, dir, be, cli, now) == -1) ||
	    (total != NULL && shaper_flow_add(f, total, NULL, cli, now) == -1)) {
		shaper_flow_free(f, 0, now);
		*oom = 1;
		return NULL;
	}
	return f;
}
