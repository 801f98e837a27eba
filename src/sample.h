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
	long long i;			/* 'i' 'o' 'n' */
	int rel;			/* 'o': written with a leading + or - */
	char *s;			/* 's' 'b' 'f' 'v': as written */
	const struct conf_proxy *px;	/* 'b' 'f' 'v': resolved */
	const struct conf_server *srv;	/* 'v': resolved */
	void *obj;			/* 'r': a regex_t, 'm': a map (owned) */
};

#define SMP_ARGS_MAX 3

struct sample_conv_call;

struct sample_fetch {
	const char *name;
	/* Its arguments, one letter each, upper case when optional:
	 * i integer >= 0, n any integer, o offset (+N/-N relative),
	 * s string, b backend,
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

/*
 * A converter (HAProxy configuration.txt 7.3.1): a sample in, a sample
 * of its output type out, written after the fetch as ",name(args)".
 * Its input is cast to in first (sample_cast). A module with converters
 * of its own (stick tables: table_*) adds its table with
 * sample_conv_register() before any configuration is parsed.
 */
struct sample_conv {
	const char *name;
	/* As a fetch's, plus: r a regular expression, m a map file
	 * (compiled or loaded at parse time). */
	const char *args;
	enum sample_type in, out;
	/* smp (of type in) into its output: 1, or 0 when there is none. */
	int (*conv)(const struct sample_conv_call *call, struct sample *smp);
	/* Checks (compiles, loads) its arguments once parsed (NULL: none):
	 * 0, or -1 with err. */
	int (*check)(struct sample_conv_call *call, char *err, size_t errlen);
	int any_in;		/* takes a sample of any type, uncast (table_*) */
};

/* One converter of an expression and its arguments. */
struct sample_conv_call {
	const struct sample_conv *c;
	struct sample_arg args[SMP_ARGS_MAX];
};

int sample_conv_register(const struct sample_conv *table, size_t n);
/* Up to max converter names into names (for "did you mean"). */
size_t sample_conv_names(const char **names, size_t max);

#define SMP_CONVS_MAX 8

/* A fetch, its arguments and converters, as written: "req.payload(0,3),hex". */
struct sample_expr {
	const struct sample_fetch *f;
	struct sample_arg args[SMP_ARGS_MAX];
	struct sample_conv_call conv[SMP_CONVS_MAX];
	unsigned int nconv;
	enum sample_type type;	/* what it gives: the last converter's, or f's */
};

/* Cast smp to type t in place (HAProxy's sample_casts): 0, or -1 when
 * that cast does not exist or this value has none (a bad address). */
int sample_cast(struct sample *smp, enum sample_type t);
/* Can a sample of type from be cast to type to? */
int sample_castable(enum sample_type from, enum sample_type to);

/* A scratch buffer converters write into: two per thread, used in turn,
 * so that a converter's input (the previous one's) is never its output.
 * A sample pointing there is valid until two more converters ran. */
#define SMP_CHUNK_MAX 32768
uint8_t *sample_chunk(void);
/* smp's bytes NUL-terminated, for regexec() with REG_STARTEND (which
 * reads up to smp->len, past any NUL in it), in a third per-thread
 * buffer; NULL when longer than a chunk. Valid until the next call. */
const char *sample_cstr(const struct sample *smp);

/* Parse ",conv(args)..." (from its first comma) into e; 0 or -1 with err. */
int sample_conv_parse(struct sample_expr *e, const char *s, char *err, size_t errlen);
/* Apply e's converters to smp: SMP_FOUND or SMP_NONE. */
int sample_conv_apply(const struct sample_expr *e, struct sample *smp);
/* The name of a sample type, for messages. */
const char *sample_type_name(enum sample_type t);

/* The arguments "(a,b)" of name at s[0] == '(' : split with quotes and
 * backslashes as HAProxy's make_arg_list, parsed for kinds. *end is past
 * the ')'. 0, or -1 with err. */
int sample_parse_args(const char *name, const char *kinds, const char *s, const char **end,
    struct sample_arg *args, char *err, size_t errlen);
void sample_free_args(const char *kinds, struct sample_arg *args);

/*
 * Parse a fetch word into e (zeroed first). Returns 0, or -1 with a
 * sentence in err: an unknown fetch (*unknown set then), arguments of the
 * wrong kind or number, an unknown or unsupported converter (named).
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

/*
 * Read a pattern or map file (what: "pattern", "map"): each line,
 * trimmed, that is neither blank nor a '#' comment goes to one(line,
 * arg, err, errlen). Only a regular file is read (a FIFO or a device
 * could hang the parse), lines of at most SMP_FILE_LINE_MAX bytes and
 * SMP_FILE_LINES_MAX of them. 0, or -1 with err (naming path:line).
 */
#define SMP_FILE_LINE_MAX 4096
#define SMP_FILE_LINES_MAX (1 << 20)
int sample_read_file(const char *path, const char *what,
    int (*one)(char *line, void *arg, char *err, size_t errlen), void *arg,
    char *err, size_t errlen);

#endif
