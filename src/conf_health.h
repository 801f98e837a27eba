/*
 * conf_health: the grammar of health checks beyond "check": "tcp-check"
 * rules, the check options ("option tcp-check", "option redis-check"...),
 * the server options "port" and "addr", and the global "spread-checks".
 * Each function writes a sentence into err on a bad line.
 */
#ifndef SPLICER_CONF_HEALTH_H
#define SPLICER_CONF_HEALTH_H

#include <stddef.h>

#include "check_rule.h"
#include "conf.h"

/* The check option in force in a proxy (conf_proxy.check_opt). */
enum {
	CONF_HEALTH_CONNECT = 0,	/* a bare TCP connect */
	CONF_HEALTH_TCP_CHECK,		/* the "tcp-check" rules */
	CONF_HEALTH_PROTO,		/* check_proto: a protocol check */
	CONF_HEALTH_HTTP,		/* option httpchk and the http-check lines */
};


/* "option NAME ..." when NAME is a check option: 1 when it was one (err set
 * if it was bad: then -1), 0 when it is not a check option. */
/* A match word of an expect rule; later: parsed only to be refused as
 * not supported yet; lf: its pattern is a log-format string; own: the
 * words after it are the caller's to read (hdr's name and value). */
struct conf_health_match {
	const char *name;
	enum check_match match;
	int later;
	int lf;
	int own;
};

/*
 * A log-format string of a check (send-lf, send-binary-lf, string-lf,
 * binary-lf, uri-lf, body-lf, an http-check hdr value), as its text: "%%"
 * is a '%'. HAProxy would evaluate variables and sample fetches there
 * (%[var(check.x)], %[srv_name], %ci...); splicer has none to evaluate in a
 * check, so one is refused, named, rather than sent as text. Returns the
 * text (malloc'd), or NULL with err (kw names the line's keyword).
 */
char *conf_health_lf(const char *kw, const char *fmt, char *err, size_t errlen);

/* The words of "tcp-check expect" or "http-check expect" (argv[0]) up to
 * the pattern: [min-recv N] [comment C] [!] then a word of matches, which
 * sets r->match. Returns the index of that word in argv (its pattern
 * follows, the last word, unless the match reads its own), or -1 with err. */
int conf_health_expect_head(struct check_rule *r, int argc, char **argv,
    const struct conf_health_match *matches, size_t n, char *err, size_t errlen);

/* The pattern of an expect whose match word is argv[i] (after
 * conf_health_expect_head): its text, or for a "-lf" word the log-format
 * string's (conf_health_lf); malloc'd, or NULL with err. */
char *conf_health_pattern(char **argv, int i, char *err, size_t errlen);

int conf_health_option(struct conf_proxy *px, int argc, char **argv, int negate,
    char *err, size_t errlen);

/* "tcp-check ..." at line. Returns 0 or -1. */
int conf_health_tcp_check(struct conf_proxy *px, int argc, char **argv, int line,
    char *err, size_t errlen);

/* A server option at argv[*i] if it is a check one ("port", "addr"):
 * 1 (and *i past its value), 0 when it is not, -1 when bad. */
int conf_health_server_opt(struct conf_server *s, int argc, char **argv, int *i,
    char *err, size_t errlen);

/* "spread-checks N". Returns 0 or -1. */
int conf_health_spread(struct conf_global *g, int argc, char **argv, char *err, size_t errlen);

/* The options of a connect rule ("tcp-check connect", "http-check
 * connect"), argv[2] on. Returns 0 or -1. */
int conf_health_connect(struct check_rule *r, int argc, char **argv, char *err, size_t errlen);

/* A proxy starts from a defaults section: copy its checks. Returns 0, or
 * -1 when memory ran out (what was copied is px's, freed with it). */
int conf_health_inherit(struct conf_proxy *px, const struct conf_proxy *from);

/* The rules health checks run for px: NULL for a bare connect. A warning
 * (warn non-empty) when "tcp-check" rules are there without the option. */
const struct check_spec *conf_health_spec(const struct conf_proxy *px, char *warn,
    size_t warnlen);

/* The warnings of px's check lines and server options that do nothing
 * (conf_check, after conf_httpchk_build). */
void conf_health_warn(const struct conf_proxy *px, struct conf_msgs *warns);

void conf_health_free(struct conf_proxy *px);

#endif
