/*
 * conf_parse: configuration text -> struct conf. Table-driven and pure:
 * it opens the files it is given and nothing else (no socket, no name
 * lookup), so "splicer -c" and the fuzzer run the same code as start-up.
 */
#ifndef SPLICER_CONF_PARSE_H
#define SPLICER_CONF_PARSE_H

#include <stddef.h>

#include "conf.h"

/*
 * Parse the text buf[0..len) as the contents of file `name`, adding its
 * sections to c. Every error is appended to errs and every warning to
 * warns, each as "name:line: message"; parsing goes on after an error so
 * that all of them are reported. Returns the number of errors added.
 */
int conf_parse_buffer(struct conf *c, const char *name, const char *buf, size_t len,
    struct conf_msgs *errs, struct conf_msgs *warns);

/* Read path and parse it as above; a file that cannot be read is one error.
 * A directory is read as HAProxy reads "-f DIR": its *.cfg files in byte order. */
int conf_parse_file(struct conf *c, const char *path,
    struct conf_msgs *errs, struct conf_msgs *warns);

/* Parse one "log" line's words (argv[0] == "log") into a new target.
 * Shared with quick mode. Returns NULL with err set. */
struct conf_log *conf_parse_log(int argc, char **argv, char *err, size_t errlen);

#endif
