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

/* A track-sc rule of px: resolve its table and key (other rules: nothing).
 * 0, or -1 with err. */
int stick_smp_resolve(struct acl_rule *r, const struct conf *c, struct conf_proxy *px,
    char *err, size_t errlen);

#endif
