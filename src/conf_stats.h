/*
 * conf_stats: the "stats" lines of the global section, words
 * in, structures out. Pure: no I/O, errors as sentences.
 *
 *   stats socket PATH [mode OCTAL] [uid N] [gid N] [user NAME] [group NAME]
 *                [level user|operator|admin]
 *   stats timeout TIME       an admin client's idle limit (10s)
 *   stats maxconn N          admin clients at once (10)
 *   stats metrics ADDR:PORT  Prometheus text over HTTP (metrics.c)
 *   stats file PATH          the shared-memory counters (stats_file.c)
 */
#ifndef SPLICER_CONF_STATS_H
#define SPLICER_CONF_STATS_H

#include <stddef.h>

#include "conf.h"

/* Parse one "stats ..." line (argv[0] == "stats") and append what it
 * declares to c. Returns 0, or -1 with a sentence in err. */
int conf_stats_parse(struct conf *c, int argc, char **argv, int line, char *err,
    size_t errlen);

/* Name of a level: "user", "operator", "admin". */
const char *conf_level_name(enum conf_level level);

void conf_stats_free(struct conf_admin *a);

#endif
