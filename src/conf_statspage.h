/*
 * conf_statspage: the "stats" and "monitor-uri" lines of a proxy section,
 * words in, struct conf_statspage out (statspage.c serves them). Pure: no
 * I/O, errors and warnings as sentences.
 *
 *   stats enable | uri PREFIX | realm TEXT | auth USER:PASS | refresh TIME
 *   stats hide-version | show-legends | show-node | show-desc | admin ...
 *   monitor-uri PATH
 *   monitor fail if|unless COND       (the condition parsed by the caller)
 */
#ifndef SPLICER_CONF_STATSPAGE_H
#define SPLICER_CONF_STATSPAGE_H

#include <stddef.h>

#include "conf.h"

/* Parse one line (argv[0] "stats" or "monitor-uri") into px->page (made
 * on the first). Returns 0, or -1 with a sentence in err; warn gets a
 * sentence (or stays "") for a word that is accepted but does nothing. */
int conf_statspage_parse(struct conf_proxy *px, int argc, char **argv, char *err,
    size_t errlen, char *warn, size_t warnlen);

/* Add a "monitor fail" condition (owned from now on) to px's page. 0, or
 * -1 with a sentence in err (cond is then the caller's). */
int conf_statspage_monitor(struct conf_proxy *px, struct acl_cond *cond, char *err,
    size_t errlen);

/* Is px the stats page alone: mode http, a frontend side, stats or
 * monitor-uri lines, and no server, backend rule or other HTTP line? */
int conf_statspage_only(const struct conf_proxy *px);

void conf_statspage_free(struct conf_statspage *pg);

#endif
