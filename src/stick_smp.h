/*
 * stick_smp: the track-sc0..2 actions and the stick-table fetches
 * (sc0_conn_cur, src_conn_rate ...), registered with acl_rule.c and
 * sample.c before any configuration is parsed.
 */
#ifndef SPLICER_STICK_SMP_H
#define SPLICER_STICK_SMP_H

#include <stddef.h>

#include "conf.h"

struct acl_rule;
struct sample;
struct sample_expr;
struct stick_key;
struct stick_table;

/* The key of a sample for t: 0, or -1 when it has none in t's type. */
int stick_smp_key(const struct stick_table *t, const struct sample *smp, struct stick_key *k);
/* Can e's samples key t? 0, or -1 with err. */
int stick_smp_fits(const struct sample_expr *e, const struct stick_table *t, char *err,
    size_t errlen);

/* A track-sc rule of px: resolve its table and key (other rules: nothing).
 * 0, or -1 with err. */
int stick_smp_resolve(struct acl_rule *r, const struct conf *c, struct conf_proxy *px,
    char *err, size_t errlen);

#endif
