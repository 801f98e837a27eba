/*
 * shaper: bandwidth shaping with token buckets.
 *
 * A bucket makes tokens at `rate` bits per second, keeps at most `burst`
 * bytes of them, and hands them out in quanta. Its state is two running
 * totals, tokens made and tokens given, in bit-microseconds (a byte costs
 * 8,000,000), so refilling from the clock is one multiplication with no
 * rounding: over any span the bytes granted never exceed rate x time plus
 * the burst, exactly.
 *
 * A flow that wants to read reserves a quantum in every bucket that
 * applies to it, even past what the bucket holds (the bucket goes into
 * debt), and may read those bytes once every bucket has made tokens up
 * to its reservation (its mark). Reservations are served in the order
 * they were made, so sessions sharing a bucket take turns: fair shares
 * without a queue. A flow short of tokens reads nothing, watches nothing
 * and sleeps on a timer until its mark: no CPU while it waits.
 *
 * A group is one configuration line ("bandwidth-limit upload 10mbps
 * shared", a bwlim filter, the global total): its limit and, for shared
 * and per-source modes, the buckets its sessions share across threads,
 * under the group's lock. Per-connection buckets belong to one flow and
 * take no lock. Limits are read atomically at each refill, so a rate
 * changed at run time (shaper_group_set, shaper_flow_set) applies to
 * running sessions within SHAPER_WAIT_MAX.
 *
 * Every function takes the time (`now`, monotonic microseconds) from the
 * caller: tests drive a virtual clock.
 */
#ifndef SPLICER_SHAPER_H
#define SPLICER_SHAPER_H

#include <pthread.h>
#include <stdint.h>
#include <sys/socket.h>

/* Directions. */
#define SHAPER_UP	0	/* client -> server ("upload", bwlim-in) */
#define SHAPER_DOWN	1	/* server -> client ("download", bwlim-out) */

enum shaper_mode {
	SHAPER_PER_CONN,	/* one bucket per session and direction */
	SHAPER_PER_SOURCE,	/* one bucket per client address */
	SHAPER_SHARED,		/* one bucket for the proxy (or the process: total) */
};

/* Largest burst: a bucket's tokens must fit a signed 64-bit count of
 * bit-microseconds. */
#define SHAPER_BURST_MAX ((uint64_t)1 << 40)	/* 1 TiB */
/* Default burst: 1/10 s of the rate, at least this. */
#define SHAPER_BURST_MIN_DEFAULT (64 * 1024)
/* Quantum: the bytes reserved at a time, 1/SHAPER_QUANTA_PER_S s of the
 * strictest rate within these bounds. Each quantum costs a shaped flow one
 * timer wake-up; it is also the smallest burst a flow shows, whatever the
 * configured one. */
#define SHAPER_QUANTA_PER_S 50
#define SHAPER_QUANTUM_MIN 512
#define SHAPER_QUANTUM_MAX (256 * 1024)
/* Longest sleep before a waiting flow looks again (a lowered or raised
 * rate reaches it by then). */
#define SHAPER_WAIT_MAX 250000

/* What a limit asks: read and written atomically (changed at run time). */
struct shaper_limit {
	uint64_t rate;		/* bits per second, > 0 */
	uint64_t burst;		/* bytes, > 0 */
	uint64_t min_size;	/* smallest quantum (bwlim min-size), 0 = default */
};

struct shaper_bucket {
	const struct shaper_limit *lim;
	uint64_t made;		/* tokens made, bit-us (wraps; compared as differences) */
	uint64_t given;		/* tokens reserved by flows, bit-us */
	uint64_t last;		/* us: made is current as of this instant */
};

struct shaper_src;
struct stick_table;

struct shaper_group {
	struct shaper_limit lim;
	enum shaper_mode mode;
	int dir;			/* SHAPER_UP or SHAPER_DOWN */
	char *name;			/* bwlim filter name, NULL for bandwidth-limit */
	int line;			/* where it was configured */
	pthread_mutex_t lock;		/* shared bucket, source table */
	struct shaper_bucket shared;	/* SHAPER_SHARED */
	uint64_t fl_limit, fl_period;	/* bwlim filter: bytes per period (us) as written */
	struct shaper_src **table;	/* SHAPER_PER_SOURCE: hash chains, or NULL */
	int stick_form;			/* bwlim "key src" without "period": the period
					 * is a stick table's bwlim_in|out_rate(P) */
	char *stick_name;		/* "table NAME", NULL: the proxy's own */
	struct stick_table *stick;	/* resolved by conf_check: each source's bytes
					 * granted are counted in its entry there */
	unsigned int nsrc;		/* sources with a live session */
	struct shaper_group *next;	/* the proxy's list */
};

/* One bucket a flow obeys. */
struct shaper_use {
	struct shaper_group *g;		/* NULL: the flow's own limit (shaper_flow_set) */
	struct shaper_bucket *b;	/* the bucket: own, shared or the source's */
	struct shaper_src *src;		/* SHAPER_PER_SOURCE: held entry */
	struct shaper_bucket own;	/* per-connection bucket */
	struct shaper_limit lim;	/* per-connection limit when it differs from g's */
	uint64_t mark;			/* made must reach this before the quantum is ours */
};

struct shaper_flow {
	unsigned int n;			/* buckets in use[] */
	unsigned int cap;		/* room in use[] */
	uint64_t pending;		/* bytes reserved and not yet granted */
	struct shaper_use use[];
};

/* Default burst for a rate: 1/10 s of it, at least 64 KiB, at most
 * SHAPER_BURST_MAX. */
uint64_t shaper_default_burst(uint64_t rate);

/* ---- buckets (pure: no lock, no clock of their own) ---- */

/* A bucket starts empty at `now`: the first bytes wait for their tokens,
 * so a session's first second carries no burst above the rate. */
void shaper_bucket_init(struct shaper_bucket *b, const struct shaper_limit *lim, uint64_t now);
/* Reserve n bytes; returns the mark that made must reach. */
uint64_t shaper_bucket_take(struct shaper_bucket *b, uint64_t n, uint64_t now);
/* Microseconds until made reaches mark at the current rate, 0 if it did. */
uint64_t shaper_bucket_wait(struct shaper_bucket *b, uint64_t mark, uint64_t now);
/* Give back n bytes reserved and never used. */
void shaper_bucket_refund(struct shaper_bucket *b, uint64_t n, uint64_t now);
/* Bytes that can be taken without waiting. */
uint64_t shaper_bucket_avail(struct shaper_bucket *b, uint64_t now);

/* ---- groups ---- */

/* A group for one configured limit; burst 0 = the default. NULL on
 * allocation failure. */
struct shaper_group *shaper_group_new(int dir, enum shaper_mode mode, uint64_t rate,
    uint64_t burst, uint64_t min_size, const char *name, int line);
struct shaper_group *shaper_group_clone(const struct shaper_group *g);
void shaper_group_free_list(struct shaper_group *g);
/* Change a group's rate (and burst, 0 = the default for the rate) for
 * its running and future sessions. */
void shaper_group_set(struct shaper_group *g, uint64_t rate, uint64_t burst);
/* Sources with live sessions (per-source groups). */
unsigned int shaper_group_sources(struct shaper_group *g);

/* ---- flows ---- */

/* A flow with room for cap buckets, or NULL. */
struct shaper_flow *shaper_flow_new(unsigned int cap);
/*
 * Add a bucket of group g for a session from client address cli. For a
 * per-connection group, lim (may be NULL) replaces the group's limit for
 * this flow (set-bandwidth-limit NAME limit X period Y); a group already
 * added only gets its limit replaced. Returns 0, or -1 when the flow is
 * full or memory ran out.
 */
int shaper_flow_add(struct shaper_flow *f, struct shaper_group *g,
    const struct shaper_limit *lim, const struct sockaddr *cli, uint64_t now);
/* Give the flow a limit of its own (run time), or change it. Room for
 * it is kept by shaper_flow_for. */
int shaper_flow_set(struct shaper_flow *f, uint64_t rate, uint64_t burst, uint64_t now);
/*
 * Bytes the flow may read now (> 0), or 0 with *wait set to the
 * microseconds to sleep before asking again (at most SHAPER_WAIT_MAX).
 */
uint64_t shaper_flow_grant(struct shaper_flow *f, uint64_t now, uint64_t *wait);
/* The session ends; unused are bytes granted and never read: both go
 * back to shared buckets, per-source entries are let go, f is freed. */
void shaper_flow_free(struct shaper_flow *f, uint64_t unused, uint64_t now);

struct acl_cond;
struct conf;
struct conf_proxy;

/* "tcp-request content set-bandwidth-limit": enables group g for the
 * sessions cond matches (parsed by conf_shape.c). */
struct shaper_rule {
	char *name;			/* filter name as written */
	struct shaper_group *g;		/* resolved by conf_check */
	uint64_t limit;			/* bytes per period, 0 = the filter's */
	uint64_t period;		/* us, 0 = the filter's */
	struct acl_cond *cond;		/* NULL: always */
	int line;
	struct shaper_rule *next;
};


/*
 * The flow of one direction of a session from cli through frontend fe and
 * backend be: every bandwidth-limit of both proxies, the bwlim filters
 * their set-bandwidth-limit rules enable for cli, and the process total.
 * NULL when no limit applies (or memory ran out, reported in *oom).
 */
struct shaper_flow *shaper_flow_for(int dir, const struct conf *c, const struct conf_proxy *fe,
    const struct conf_proxy *be, const struct sockaddr *cli, uint64_t now, int *oom);

#endif
