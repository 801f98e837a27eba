/*
 * check_spec: building rule lists (check_rule.h) — the "tcp-check" lines of a
 * configuration, and HAProxy's protocol checks as the same rules.
 */
#ifndef SPLICER_CHECK_SPEC_H
#define SPLICER_CHECK_SPEC_H

#include <stddef.h>

#include "check_rule.h"

/* The protocol checks ("option redis-check", ...). */
enum check_proto {
	CHECK_PROTO_REDIS,	/* PING, expect +PONG */
	CHECK_PROTO_SMTP,	/* 2xx banner, HELO/EHLO, 2xx */
	CHECK_PROTO_PGSQL,	/* startup packet for a user, expect an 'R' auth request */
	CHECK_PROTO_MYSQL,	/* handshake; with a user, login and quit, expect OK */
	CHECK_PROTO_LDAP,	/* anonymous bind, expect resultCode 0 */
	CHECK_PROTO_SSL_HELLO,	/* ClientHello, expect a ServerHello record */
};

/* Append proto's rules to c. arg: the user (mysql, pgsql) or the HELO line
 * (smtp), or NULL; post41: mysql's 4.1 login packet. Returns 0 or -1. */
int check_spec_proto(struct check_spec *c, enum check_proto proto, const char *arg, int post41);

/* Append a copy of r to c; returns it, or NULL with c as it was. */
struct check_rule *check_rule_clone(struct check_spec *c, const struct check_rule *r);

/* A rule's bytes (a copy, NUL-terminated past len), and its regex compiled
 * from them. Return 0, or -1 (err set for the regex). */
int check_rule_set_data(struct check_rule *r, const void *data, size_t len);
int check_rule_set_regex(struct check_rule *r, char *err, size_t errlen);

/* The value pattern of an expect hdr rule (a copy), its regex compiled
 * when its method is CHECK_HM_REG. Returns 0, or -1 (err set). */
int check_rule_set_hval(struct check_rule *r, const char *v, char *err, size_t errlen);

#endif
