/*
 * stats_file: "stats file PATH", a fixed-layout segment that
 * splicer maps and updates in place, and that other processes (splicerctl
 * top) map read-only.
 *
 * Layout, version 1 (all integers in the machine's byte order):
 *
 *   struct stats_header                       at 0
 *   struct stats_proxy   [nproxies]           at proxies_off
 *   struct stats_server  [nservers]           at servers_off
 *   struct stats_thread  [nthreads]           at threads_off
 *   struct stats_session [nsessions_max]      at sessions_off
 *
 * Every record starts with a sequence counter: odd while splicer writes
 * it, even when it is whole. A reader copies a record between two reads
 * of its counter and keeps the copy only if they are equal and even. The
 * header's layout_seq does the same for the layout: a reload that adds or
 * removes proxies rewrites the tables under it, and file_size tells a
 * reader to map again when the file grew.
 *
 * Counters are copied from the live ones every STATS_FILE_PERIOD_MS by the
 * control thread: the paths that move bytes take no lock and write no
 * extra memory for it. Sessions are the busiest ones (by rate) of the last
 * copy.
 */
#ifndef SPLICER_STATS_FILE_H
#define SPLICER_STATS_FILE_H

#include <stdint.h>

#define STATS_FILE_MAGIC	0x31544154534c5053ULL	/* "SPLSTAT1" read as bytes */
#define STATS_FILE_VERSION	1
#define STATS_FILE_PERIOD_MS	250
#define STATS_NAME_MAX		64
#define STATS_SESSIONS_MAX	32

struct stats_header {
	uint64_t magic;
	uint32_t version;
	uint32_t header_size;		/* sizeof(struct stats_header) */
	uint32_t proxy_size, server_size, thread_size, session_size;	/* record sizes */
	uint32_t layout_seq;		/* odd while the tables are being laid out */
	uint32_t seq;			/* for the fields below */
	uint64_t file_size;		/* map this much */
	uint32_t nproxies, nservers, nthreads, nsessions;
	uint64_t proxies_off, servers_off, threads_off, sessions_off;
	int32_t pid;
	uint32_t reloads;
	uint64_t started_unix;		/* seconds since the epoch */
	uint64_t updated_ms;		/* monotonic ms of the last copy */
	uint64_t sessions_now, sessions_total, max_sessions;
	char version_str[32];
};

#define STATS_PX_FRONTEND	0x1
#define STATS_PX_BACKEND	0x2
#define STATS_PX_STOPPED	0x4	/* frontend disabled */

struct stats_proxy {
	uint32_t seq;
	uint32_t flags;			/* STATS_PX_* */
	char name[STATS_NAME_MAX];
	uint64_t sessions_now, sessions_total, max_sessions;
	uint64_t bytes[2];		/* frontend: delivered up, down */
	uint64_t be_bytes[2];		/* backend: the same */
	uint64_t queue_now, queue_max;	/* backend */
};

struct stats_server {
	uint32_t seq;
	uint32_t state;			/* enum conf_server_state: 0 up, 1 down, 2 drain, 3 maint */
	char backend[STATS_NAME_MAX];
	char name[STATS_NAME_MAX];
	uint64_t weight;
	uint64_t sessions_now, sessions_total, connect_errors;
	uint64_t bytes[2];
};

struct stats_thread {
	uint32_t seq;
	uint32_t id;
	uint64_t sessions_now;		/* live */
	uint64_t sessions_total;	/* accepted */
	uint64_t bytes[2];		/* of ended sessions */
	uint64_t pipes_used, pipes_free;
};

struct stats_session {
	uint32_t seq;
	uint32_t id;			/* 0: an empty slot */
	char frontend[STATS_NAME_MAX];
	char server[2 * STATS_NAME_MAX];	/* backend/server */
	char client[64];
	char state[16];
	char engine[32];
	uint64_t age_ms, idle_ms;
	uint64_t bytes[2];
	uint64_t bps[2];
};

/* ---- reading (splicerctl) ---- */

/* Copy a record of `size` bytes whose first field is its seq into dst;
 * returns 0 on a whole copy, -1 if it kept changing. */
static inline int
stats_read_record(const void *src, void *dst, unsigned int size)
{
	const uint32_t *seq = (const uint32_t *)src;

	for (int tries = 0; tries < 1000; tries++) {
		uint32_t s1 = __atomic_load_n(seq, __ATOMIC_ACQUIRE), s2;

		if (s1 & 1)
			continue;
		__builtin_memcpy(dst, src, size);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		s2 = __atomic_load_n(seq, __ATOMIC_RELAXED);
		if (s1 == s2)
			return 0;
	}
	return -1;
}

/* ---- writing (splicer) ---- */

struct conf;
struct event_base;

/* Create the file of c's "stats file", if any (before privileges drop;
 * mode 0644: it holds no secret). Returns 0, or -1 with a sentence in
 * err. */
int stats_file_open(const struct conf *c, char *err, unsigned long errlen);
/* Lay it out and copy the counters into it on base from now on. The
 * layout follows reloads by itself. */
int stats_file_start(struct event_base *base);
void stats_file_set_reloads(unsigned int reloads);
void stats_file_stop(void);

#endif
