/*
 * conf_stick: the stickiness grammar and its check (see conf_stick.c).
 */
#ifndef SPLICER_CONF_STICK_H
#define SPLICER_CONF_STICK_H

#include "conf.h"

struct parser;

/* Resolve the tables and servers rules name; the errors' count. */
int conf_stick_check(struct conf *c, struct conf_msgs *errs);

/* The stick table named name (its section's name), or NULL. */
struct stick_table *conf_stick_find(const struct conf *c, const char *name);

#endif
