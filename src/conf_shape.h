/*
 * conf_shape: the shaping lines of the grammar, words in,
 * shaper groups and rules out. Pure: no I/O, errors as sentences.
 *
 *   bandwidth-limit upload|download RATE [burst SIZE]
 *                   [per-connection|per-source|shared]
 *   bandwidth-limit total RATE [burst SIZE]                  (global)
 *   filter bwlim-in|bwlim-out NAME default-limit SIZE default-period TIME
 *                   [min-size SIZE]                          (per session)
 *   filter bwlim-in|bwlim-out NAME limit SIZE period TIME key src
 *                   [min-size SIZE]                          (per source)
 *   tcp-request content set-bandwidth-limit NAME [limit SIZE] [period TIME]
 *                   [if|unless COND]
 *
 * A bwlim filter (HAProxy 2.7+) is a group that applies only to the
 * sessions a set-bandwidth-limit rule picks; its rate is SIZE per TIME.
 * bwlim-in shapes what the client sends (upload), bwlim-out what it
 * receives (download).
 */
#ifndef SPLICER_CONF_SHAPE_H
#define SPLICER_CONF_SHAPE_H

#include <stddef.h>
#include <stdint.h>

#include "shaper.h"

/* "bandwidth-limit upload|download ..." words (argv[0] is the keyword). */
struct shaper_group *conf_shape_limit(int argc, char **argv, int line, char *err,
    size_t errlen);

/* Global "bandwidth-limit total RATE [burst SIZE]": one group per direction. */
int conf_shape_total(int argc, char **argv, int line, struct shaper_group **up,
    struct shaper_group **down, char *err, size_t errlen);

/* "filter bwlim-in|bwlim-out ..." words (argv[0] == "filter"). */
struct shaper_group *conf_shape_filter(int argc, char **argv, int line, char *err,
    size_t errlen);

/* "tcp-request content set-bandwidth-limit NAME [limit SIZE] [period
 * TIME]" from argv[0] == "tcp-request"; *used is set to the words taken
 * (the condition, if any, follows). */
struct shaper_rule *conf_shape_rule(int argc, char **argv, int line, int *used, char *err,
    size_t errlen);

void conf_shape_free_rules(struct shaper_rule *r);

#endif
