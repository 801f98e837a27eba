/*
 * conf_resolvers: the "resolvers" section and the server options of name
 * resolution (resolvers, resolve-prefer, resolve-opts, init-addr,
 * server-template), for the parser (conf_kw.h) and conf_check.
 */
#ifndef SPLICER_CONF_RESOLVERS_H
#define SPLICER_CONF_RESOLVERS_H

#include <stddef.h>

#include "conf.h"

struct parser;

/* argv[0] "resolvers NAME" starts a section: 1 (handled), 0 if not it. */
int conf_resolvers_section(struct parser *p, int argc, char **argv);
/* A line of the current resolvers section. */
void conf_resolvers_line(struct parser *p, int argc, char **argv);
/* Server option argv[*ip] if it is one of these: 1 (values consumed), 0
 * if it is not, -1 after reporting a bad value. */
int conf_resolvers_server_opt(struct parser *p, int argc, char **argv, int *ip,
    struct conf_server *s);

/* Once every file is read: servers find their section; 0 or errors. */
int conf_resolvers_check(struct conf *c, struct conf_msgs *errs, struct conf_msgs *warns);
/* The address a server starts with, by its init-addr methods (default
 * "last,libc"; there is no server-state file, so "last" gives nothing):
 * 0, with s->dns.no_addr set for "none", or -1 with a sentence in err. */
int conf_resolvers_init_addr(struct conf_server *s, char *err, size_t errlen);
/* Is s's host an SRV name ("_service._proto.name")? */
int conf_resolvers_is_srv(const struct conf_server *s);

void conf_resolvers_free(struct conf_resolvers *rs);

#endif
