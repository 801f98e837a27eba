/*
 * stick: stick tables ("stick-table type ip|ipv6|integer|string ...").
 *
 * A table maps keys (client addresses, integers, strings) to entries
 * that hold the data types the table stores: the server a client sticks
 * to, connection counters and rates, a general-purpose counter, byte
 * rates. It is shared by every worker thread under one mutex per table:
 * it is taken a few times per session (lookup, track, release), never
 * per byte moved.
 *
 * Bounded: at most `size` entries; inserting into a full table evicts
 * the least recently used entry that no session holds. Entries expire
 * `expire` after they were last touched (lazily: whoever takes the lock
 * first purges them from the cold end of the LRU list). An entry a
 * session tracks (refs > 0) neither expires nor is evicted nor cleared.
 *
 * Rates are HAProxy's freq counters: events of the current period plus
 * those of the previous one in proportion to what is left of it.
 *
 * Every function takes the time (`now`, monotonic microseconds) from the
 * caller: tests drive a virtual clock.
 */
#ifndef SPLICER_STICK_H
#define SPLICER_STICK_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

enum stick_type {
	STICK_IP = 0,		/* IPv4 address, 4 bytes */
	STICK_IPV6,		/* IPv6 address (IPv4 clients as ::ffff:a.b.c.d) */
	STICK_INTEGER,		/* 32-bit unsigned integer */
	STICK_STRING,		/* up to `len` bytes */
};

/* Data types, in HAProxy's order (the order "show table" prints them). */
enum stick_data {
	STICK_SERVER_ID = 0,
	STICK_GPC0,
	STICK_GPC0_RATE,
	STICK_CONN_CNT,
	STICK_CONN_RATE,
	STICK_CONN_CUR,
	STICK_SESS_CNT,
	STICK_SESS_RATE,
	STICK_BYTES_IN_CNT,
	STICK_BYTES_IN_RATE,
	STICK_BYTES_OUT_CNT,
	STICK_BYTES_OUT_RATE,
	STICK_BWLIM_IN_RATE,
	STICK_BWLIM_OUT_RATE,
	STICK_NDATA,
};

/* Longest string key ("len"), and the default (HAProxy's 32). */
#define STICK_KEY_MAX 1024
#define STICK_STRING_LEN_DEFAULT 32
/* Room for a key as "show table" prints it (4 bytes a byte, as \xHH). */
#define STICK_KEY_ESC_MAX (4 * STICK_KEY_MAX + 1)
/* Largest "size": entries are allocated as they come, so this only bounds
 * what a typo can ask of memory. */
#define STICK_SIZE_MAX (64U * 1024 * 1024)
/* Filters of one "show table" / "clear table" (HAProxy's build default). */
#define STICK_FILTERS_MAX 4

struct stick_key {
	size_t len;
	uint8_t b[STICK_KEY_MAX];
};

/* A counter of events per period. */
struct stick_freq {
	uint64_t tick;		/* us: start of the current period */
	uint64_t curr;		/* events of the current period */
	uint64_t prev;		/* events of the previous period */
};

struct stick_entry {
	struct stick_entry *hnext;		/* hash chain */
	struct stick_entry *newer, *older;	/* LRU list */
	struct stick_table *table;		/* its table */
	uint64_t touched;			/* us, last use */
	unsigned int refs;			/* sessions that track it */
	uint64_t val[STICK_NDATA];		/* counters and server_id */
	struct stick_freq freq[STICK_NDATA];	/* the *_rate types */
	size_t klen;
	uint8_t key[];
};

struct stick_list {
	struct stick_entry *newest, *oldest;
};

struct stick_table {
	char *name;			/* the proxy that declares it */
	enum stick_type type;
	size_t key_len;			/* key bytes compared (string: "len") */
	unsigned int size;		/* most entries at once */
	uint64_t expire;		/* us after the last use; 0 = never */
	unsigned int store;		/* 1 << STICK_* of the stored types */
	uint64_t period[STICK_NDATA];	/* us, of the stored *_rate types */
	int nopurge;			/* "nopurge": a full table refuses new keys */
	int line;

	/* run time, under lock */
	pthread_mutex_t lock;
	struct stick_entry **chains;
	unsigned int nchains;		/* a power of two */
	struct stick_list lru;		/* entries no session holds, coldest last */
	struct stick_list held;		/* entries sessions track */
	unsigned int used;
	struct stick_table *next;	/* the configuration's list */
};

/* "show table" / "clear table" filters: a key, or data comparisons. */
enum stick_op { STICK_EQ, STICK_NE, STICK_LE, STICK_GE, STICK_LT, STICK_GT };

struct stick_filter {
	int has_key;
	struct stick_key key;
	unsigned int n;
	struct {
		enum stick_data data;
		enum stick_op op;
		uint64_t value;
	} d[STICK_FILTERS_MAX];
};

/* ---- configuration ---- */

/* A table with no stored data yet; NULL when out of memory. */
struct stick_table *stick_table_new(const char *name, enum stick_type type, size_t key_len,
    unsigned int size, uint64_t expire, int line);
void stick_table_free_list(struct stick_table *t);

/* "ip", "ipv6", "integer", "string" (and HAProxy's old "binary": -1). */
int stick_type_parse(const char *s, enum stick_type *type);
const char *stick_type_name(enum stick_type type);

/* One "store" word, "conn_cur" or "conn_rate(10s)": 0, or -1 with err. */
int stick_store_parse(struct stick_table *t, const char *word, char *err, size_t errlen);
/* STICK_* of a data type name ("conn_rate"), or -1. */
int stick_data_parse(const char *name);
const char *stick_data_name(enum stick_data d);
/* Is d a rate (stored with a period)? */
int stick_data_is_rate(enum stick_data d);

static inline int
stick_stores(const struct stick_table *t, enum stick_data d)
{
	return (t->store & (1U << d)) != 0;
}

/* ---- keys ---- */

/* The key of a client address for t: 0, or -1 when the address has none
 * in t's type (an IPv6 client of an ip table, a non-IP family). */
int stick_key_addr(const struct stick_table *t, const struct sockaddr *sa, struct stick_key *k);
/* A key as the admin writes it ("127.0.0.1", "42", "abc"): 0 or -1 with err. */
int stick_key_parse(const struct stick_table *t, const char *s, struct stick_key *k,
    char *err, size_t errlen);
/* Print an entry's key into buf; a string key escaped as HAProxy does
 * (\n, \xHH, "\ ", "\="), so buf needs STICK_KEY_ESC_MAX for it. */
void stick_key_format(const struct stick_table *t, const struct stick_entry *e, char *buf,
    size_t len);

/* ---- the data path (each takes and drops t's lock) ---- */

/* The entry of k, made if absent (evicting the least recently used
 * unreferenced entry of a full table), with a reference taken: NULL when
 * every entry is referenced or memory runs out. */
struct stick_entry *stick_ref(struct stick_table *t, const struct stick_key *k, uint64_t now);
/* Drop a reference; the entry's expiry counts from now. */
void stick_unref(struct stick_table *t, struct stick_entry *e, uint64_t now);

/* A tracked connection starts (conn_cnt, conn_rate, conn_cur, sess_*) or ends (conn_cur). */
void stick_conn_start(struct stick_table *t, struct stick_entry *e, uint64_t now);
void stick_conn_end(struct stick_table *t, struct stick_entry *e, uint64_t now);
/* Bytes moved: dir 0 from the client (bytes_in_*), 1 to it (bytes_out_*). */
void stick_add_bytes(struct stick_table *t, struct stick_entry *e, int dir, uint64_t n,
    uint64_t now);
/* Add n to a counter or rate (gpc0, bwlim_*_rate ...) if t stores it. */
void stick_add(struct stick_table *t, struct stick_entry *e, enum stick_data d, uint64_t n,
    uint64_t now);
/* The value of d now (a rate over its period); 0 when not stored. */
uint64_t stick_get(struct stick_table *t, struct stick_entry *e, enum stick_data d,
    uint64_t now);

/* The value of d in k's entry, without touching it: 0 when it has none
 * (as HAProxy's src_* fetches). */
uint64_t stick_lookup_value(struct stick_table *t, const struct stick_key *k,
    enum stick_data d, uint64_t now);

/* Is there an entry for k (not touching it)? */
int stick_lookup_has(struct stick_table *t, const struct stick_key *k, uint64_t now);

/* stick match: the server_id stored for k, or 0 (no entry, none stored). */
unsigned int stick_lookup_server(struct stick_table *t, const struct stick_key *k, uint64_t now);
/* stick store: k now sticks to server id (>= 1); 0, or -1 when the table
 * has no room. */
int stick_store_server(struct stick_table *t, const struct stick_key *k, unsigned int id,
    uint64_t now);

/* ---- the admin socket ---- */

/* "data.X OP V" words and "key K" (argv after the table name): 0, or -1
 * with err. */
int stick_filter_parse(const struct stick_table *t, int argc, char **argv,
    struct stick_filter *f, char *err, size_t errlen);
/* "# table: NAME, type: ip, size:N, used:N". */
void stick_header(struct stick_table *t, uint64_t now, char *buf, size_t len);
/* Call out(line, arg) for every live entry that passes f (NULL: all), in
 * HAProxy's format ("0x...: key=K use=N exp=MS data..."), under the lock. */
void stick_dump(struct stick_table *t, const struct stick_filter *f, uint64_t now,
    void (*out)(const char *line, void *arg), void *arg);
/* Remove the entries that pass f and no session holds; their count. */
unsigned int stick_clear(struct stick_table *t, const struct stick_filter *f, uint64_t now);
/* Live entries. */
unsigned int stick_used(struct stick_table *t, uint64_t now);

#endif
