/*
 * sample: the fetches ACLs and rules read (HAProxy configuration.txt
 * section 7.3): layer 4 facts of the connection, the first bytes of the
 * request, and the state of proxies and servers. A fetch is an entry of
 * a table; a module with fetches of its own (stick tables: sc0_*,
 * src_conn_*) adds its table with sample_register() before any
 * configuration is parsed.
 *
 * Fetching is pure but for what the context points at: a fetch reads
 * the context and the configuration's run-time counters, never a socket.
 */
#ifndef SPLICER_SAMPLE_H
#define SPLICER_SAMPLE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct conf;
struct conf_proxy;
struct conf_server;

enum sample_type {
	SMP_T_BOOL,		/* sint is 0 or 1 */
	SMP_T_SINT,		/* sint */
	SMP_T_ADDR,		/* addr */
	SMP_T_STR,		/* ptr, len: text */
	SMP_T_BIN,		/* ptr, len: bytes */
};

struct sample {
	enum sample_type type;
	int64_t sint;
	struct sockaddr_storage addr;
	const uint8_t *ptr;	/* in the context's buffer, or in buf */
	size_t len;
	int may_change;		/* more bytes may change it (req.len): a pattern it
				 * fails now may match later */
};

/* Room for tracked stick-table entries (track-sc0..2). */
#define SMP_TRACK_MAX 3

/* What a fetch sees of a session. */
struct sample_ctx {
	const struct sockaddr *cli;	/* the client (from its PROXY header if any) */
	const struct sockaddr *dst;	/* the address it reached, NULL when unknown */
	const uint8_t *data;		/* the request's first bytes (peeked), or NULL */
	size_t len;			/* of data */
	int final;			/* no more bytes will be looked at: the delay is
					 * over, the buffer is full or the client shut */
	const struct conf_proxy *fe;	/* its frontend */
	const struct conf_proxy *be;	/* its backend, NULL before one is chosen */
	unsigned int so_id;		/* its bind line's id in the frontend, from 1 */
	void *track[SMP_TRACK_MAX];	/* entries track-sc0..2 set (stick tables' own) */
};

/* A fetch's answer. */
#define SMP_FOUND	1	/* out holds the sample */
#define SMP_NONE	0	/* there is none, for good */
#define SMP_WAIT	(-1)	/* none yet: more bytes may give one (never when final) */

/* An argument as parsed, then resolved by sample_resolve(). */
struct sample_arg {
	int set;			/* given (optional ones may be absent) */
	long long i;			/* 'i' 'o' */
	int rel;			/* 'o': written with a leading + or - */
	char *s;			/* 's' 'b' 'f' 'v': as written */
	const struct conf_proxy *px;	/* 'b' 'f' 'v': resolved */
	const struct conf_server *srv;	/* 'v': resolved */
};

#define SMP_ARGS_MAX 3

struct sample_fetch {
	const char *name;
	/* Its arguments, one letter each, upper case when optional:
	 * i integer >= 0, o offset (+N/-N relative), s string, b backend,
	 * f frontend, v [backend/]server, t a section with a stick-table
	 * (absent: the section's own), k the same (absent: none). */
	const char *args;
	enum sample_type type;
	unsigned int flags;		/* SMP_F_* */
	int (*fetch)(const struct sample_arg *args, const struct sample_ctx *ctx,
	    struct sample *out);	/* SMP_FOUND, SMP_NONE or SMP_WAIT */
};

#define SMP_F_PAYLOAD	0x1	/* reads the request's bytes: wants inspect-delay */
#define SMP_F_VERSION	0x2	/* integer patterns are written MAJOR.MINOR */

/* Add a table of fetches (kept, not copied). 0, or -1 when the registry is full. */
int sample_register(const struct sample_fetch *table, size_t n);

/* The fetch of that name, or NULL. */
const struct sample_fetch *sample_find(const char *name);

/* Up to max fetch names into names (for "did you mean"); returns how many. */
size_t sample_names(const char **names, size_t max);

/* A fetch and its arguments, as written: "req.payload(0,3)". */
struct sample_expr {
	const struct sample_fetch *f;
	struct sample_arg args[SMP_ARGS_MAX];
};

/*
 * Parse a fetch word into e (zeroed first). Returns 0, or -1 with a
 * sentence in err: an unknown fetch (*unknown set then), arguments of the
 * wrong kind or number, a converter.
 */
int sample_parse(const char *word, struct sample_expr *e, int *unknown, char *err,
    size_t errlen);

/* Resolve the proxy and server names of e's arguments in c (px: the
 * section using it, for names that default to it). 0 or -1 with err. */
int sample_resolve(struct sample_expr *e, const struct conf *c, const struct conf_proxy *px,
    char *err, size_t errlen);

/* Fetch e in ctx: SMP_FOUND with out filled, SMP_NONE or SMP_WAIT. */
int sample_fetch(const struct sample_expr *e, const struct sample_ctx *ctx, struct sample *out);

void sample_free(struct sample_expr *e);

#endif
