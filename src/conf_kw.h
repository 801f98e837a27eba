/*
 * conf_kw: what the files of the configuration parser share (conf_parse.c,
 * conf_kw_global.c, conf_kw_proxy.c, conf_kw_server.c): the parser's
 * state, the section masks, the message and value helpers, and the
 * keyword handlers the tables of conf_parse.c point to. Not for other
 * modules: conf_parse.h is the parser's interface.
 */
#ifndef SPLICER_CONF_KW_H
#define SPLICER_CONF_KW_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"

/* Elements of an array. */
#define nitems(a) (sizeof(a) / sizeof(*(a)))

/* Sections; keyword entries hold a mask of these. */
#define SEC_GLOBAL	0x01
#define SEC_DEFAULTS	0x02
#define SEC_FRONTEND	0x04
#define SEC_BACKEND	0x08
#define SEC_LISTEN	0x10
#define SEC_IGNORED	0x20	/* an unsupported section: its lines are skipped */
#define SEC_RESOLVERS	0x40	/* a resolvers section (conf_resolvers.c) */
#define SEC_ANY_PROXY	(SEC_DEFAULTS | SEC_FRONTEND | SEC_BACKEND | SEC_LISTEN)
#define SEC_FE_SIDE	(SEC_DEFAULTS | SEC_FRONTEND | SEC_LISTEN)
#define SEC_BE_SIDE	(SEC_DEFAULTS | SEC_BACKEND | SEC_LISTEN)

/* Default retries, as HAProxy. */
#define CONF_DEFAULT_RETRIES 3
/* Longest pipe the kernel accepts without CAP_SYS_RESOURCE is
 * /proc/sys/fs/pipe-max-size (1 MiB by default); we bound the keyword at
 * 256 MiB and let F_SETPIPE_SZ report the rest at run time. */
#define CONF_PIPESIZE_MAX (256ULL << 20)
/* Worker threads: as many as worker.h allows. */
#define CONF_NBTHREAD_MAX 64
/* Pipes: each is two fds, so no fd limit reaches this. */
#define CONF_MAXPIPES_MAX 10000000

struct parser {
	struct conf *conf;
	struct conf_msgs *errs;
	struct conf_msgs *warns;
	const char *file;	/* owned by conf->files */
	int line;
	int sec;		/* SEC_* of the current section, 0 before any */
	struct conf_proxy *px;	/* current proxy or defaults section */
	struct conf_resolvers *rs; /* current resolvers section */
	int nerr;		/* errors added by this parse */
	unsigned int nbinds;	/* bind addresses of this file, ranges counted by port */
};

/* Messages at the current file:line; an error is counted, and parsing
 * goes on so that every error of a file is reported. */
void parse_err(struct parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void parse_warn(struct parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* "in backend 'app'" / "in section 'global'", for messages. */
const char *parse_where(struct parser *p, char *buf, size_t len);

/*
 * "unknown WHAT 'word'", with the nearest known name of a table if one is
 * near: the table's n entries lie stride bytes apart and each starts
 * with its name (a const char *), as a keyword table or a list of names.
 */
void parse_unknown(struct parser *p, const char *what, const char *word, const void *table,
    size_t n, size_t stride);
#define PARSE_UNKNOWN(p, what, word, tab) \
	parse_unknown((p), (what), (word), (tab), nitems(tab), sizeof(*(tab)))

/* The value of keyword kw (arg NULL: missing) as a time in us, or as an
 * unsigned integer in [min, max]: 0, or -1 with the error reported. */
int parse_time_arg(struct parser *p, const char *kw, const char *arg, uint64_t *out);
int parse_uint_arg(struct parser *p, const char *kw, const char *arg, uint64_t min,
    uint64_t max, uint64_t *out);

/* -1 with an error when more than `expected` words were given. */
int parse_no_more_args(struct parser *p, int argc, char **argv, int expected);

/* Proxy and server names: as HAProxy, letters, digits, '-', '_', '.', ':'. */
int parse_valid_name(const char *s);

/* A "log" line's target, appended to list (errors reported). */
void parse_log_into(struct parser *p, struct conf_log **list, int argc, char **argv);

struct acl_cond;
/* A rule's optional "if|unless COND" from argv[i] on, into *cond (NULL
 * when there is none); 0 or -1 reported. */
int parse_cond(struct parser *p, int argc, char **argv, int i, struct acl_cond **cond);

/* Keyword handlers: argv[0] is the keyword, argc >= 1. */
void kw_global_bandwidth(struct parser *p, int argc, char **argv);
void kw_global_daemon(struct parser *p, int argc, char **argv);
void kw_global_grace(struct parser *p, int argc, char **argv);
void kw_global_hard_stop_after(struct parser *p, int argc, char **argv);
void kw_global_id(struct parser *p, int argc, char **argv);
void kw_global_log(struct parser *p, int argc, char **argv);
void kw_global_maxconn(struct parser *p, int argc, char **argv);
void kw_global_nbthread(struct parser *p, int argc, char **argv);
void kw_global_no(struct parser *p, int argc, char **argv);
void kw_global_nosockmap(struct parser *p, int argc, char **argv);
void kw_global_pidfile(struct parser *p, int argc, char **argv);
void kw_global_pipes(struct parser *p, int argc, char **argv);
void kw_global_pipesize(struct parser *p, int argc, char **argv);
void kw_global_promote(struct parser *p, int argc, char **argv);
void kw_global_spread_checks(struct parser *p, int argc, char **argv);
void kw_global_stats(struct parser *p, int argc, char **argv);
void kw_global_string(struct parser *p, int argc, char **argv);
void kw_global_ulimit(struct parser *p, int argc, char **argv);
void kw_px_acl(struct parser *p, int argc, char **argv);
void kw_px_balance(struct parser *p, int argc, char **argv);
void kw_px_bandwidth(struct parser *p, int argc, char **argv);
void kw_px_bind(struct parser *p, int argc, char **argv);
void kw_px_default_backend(struct parser *p, int argc, char **argv);
void kw_px_default_server(struct parser *p, int argc, char **argv);
void kw_px_description(struct parser *p, int argc, char **argv);
void kw_px_engine(struct parser *p, int argc, char **argv);
void kw_px_filter(struct parser *p, int argc, char **argv);
void kw_px_http_check(struct parser *p, int argc, char **argv);
void kw_px_log(struct parser *p, int argc, char **argv);
void kw_px_log_format(struct parser *p, int argc, char **argv);
void kw_px_maxconn(struct parser *p, int argc, char **argv);
void kw_px_mode(struct parser *p, int argc, char **argv);
void kw_px_stats(struct parser *p, int argc, char **argv);
void kw_px_monitor(struct parser *p, int argc, char **argv);
void kw_px_no(struct parser *p, int argc, char **argv);
void kw_px_option(struct parser *p, int argc, char **argv);
void kw_px_rate_limit(struct parser *p, int argc, char **argv);
void kw_px_retries(struct parser *p, int argc, char **argv);
void kw_px_server(struct parser *p, int argc, char **argv);
void kw_px_server_template(struct parser *p, int argc, char **argv);
/* A server NAME at address text addr, its options from argv[optind] on;
 * tmpl: its number in a server-template, else 0. 0, or -1 when refused. */
int parse_server_line(struct parser *p, const char *name, const char *addr, int argc,
    char **argv, int optind, unsigned int tmpl);
void kw_px_set_bandwidth(struct parser *p, int argc, char **argv);
void kw_px_tcp_check(struct parser *p, int argc, char **argv);
void kw_px_tcp_request(struct parser *p, int argc, char **argv);
void kw_px_persist(struct parser *p, int argc, char **argv);
void kw_px_stick(struct parser *p, int argc, char **argv);
void kw_px_stick_table(struct parser *p, int argc, char **argv);
void kw_px_tcpka(struct parser *p, int argc, char **argv);
void kw_px_timeout(struct parser *p, int argc, char **argv);
void kw_px_use_server(struct parser *p, int argc, char **argv);
void kw_px_use_backend(struct parser *p, int argc, char **argv);

#endif
