/*
 * conf_httpchk: "option httpchk" and the "http-check" lines (HTTP/1.x
 * health checks of a TCP service over a plain connection): what is
 * written, and the rule list (check_rule.h) built from it once the
 * section is read.
 */
#ifndef SPLICER_CONF_HTTPCHK_H
#define SPLICER_CONF_HTTPCHK_H

#include <stddef.h>

#include "check_rule.h"
#include "conf.h"

struct conf_httpchk {
	char *req[4];			/* option httpchk: method, uri, version, headers */
	struct check_spec *rules;	/* http-check lines as written */
	int rules_inherited;		/* rules came from a defaults section */
	int disable_404;		/* http-check disable-on-404 */
	struct check_spec *built;	/* the rules checks run (conf_httpchk_build) */
};

/* "option httpchk [METHOD] [URI] [VERSION]"; returns 0 or -1. */
int conf_httpchk_option(struct conf_proxy *px, int argc, char **argv, char *err, size_t errlen);

/* "http-check ..." at line; returns 0 or -1. */
int conf_httpchk_line(struct conf_proxy *px, int argc, char **argv, int line, char *err,
    size_t errlen);

/* Build px->httpchk->built: each send's request, a default send and a
 * default expect (2xx or 3xx) where none is written. Returns 0 or -1. */
int conf_httpchk_build(struct conf_proxy *px, char *err, size_t errlen);

struct conf_httpchk *conf_httpchk_clone(const struct conf_httpchk *h);
void conf_httpchk_free(struct conf_httpchk *h);

#endif
