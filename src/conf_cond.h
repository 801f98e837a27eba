/*
 * conf_cond: HAProxy's conditional blocks (.if, .elif, .else, .endif) and
 * its .diag, .notice, .warning and .alert directives, for conf_parse.
 * Pure: the only outside state read is the environment (defined(NAME)).
 */
#ifndef SPLICER_CONF_COND_H
#define SPLICER_CONF_COND_H

#include <stddef.h>

/* Nesting depth allowed, as HAProxy's. */
#define CONF_COND_MAX_DEPTH 128

/* The version version_atleast() and version_before() compare with: splicer
 * reads HAProxy 2.6's grammar and answers as Debian's HAProxy 2.6.12, whose
 * conditions compare the full version (2.6.5 is older, 2.6.13 newer). */
#define CONF_COND_VERSION "2.6.12"

struct conf_cond {
	int depth;
	unsigned char state[CONF_COND_MAX_DEPTH];	/* COND_* of each level */
	unsigned char had_else[CONF_COND_MAX_DEPTH];
	int line[CONF_COND_MAX_DEPTH];			/* where each level's .if is */
};

/* What a line was, for conf_parse. */
enum conf_cond_result {
	CONF_COND_NONE = 0,	/* not a directive: parse it if conf_cond_active() */
	CONF_COND_DONE,		/* a directive, handled */
	CONF_COND_ERROR,	/* a directive in error: msg holds why */
	CONF_COND_WARNING,	/* .warning or .notice: msg holds the text */
};

/* Handle the line argv[0..argc) at lineno. */
enum conf_cond_result conf_cond_line(struct conf_cond *cc, int argc, char **argv, int lineno,
    char *msg, size_t msglen);

/* Are lines taken here (every level on a true branch)? */
int conf_cond_active(const struct conf_cond *cc);

/* At the end of a file: 0, or -1 with msg naming the unterminated .if
 * (*lineno its line). */
int conf_cond_end(const struct conf_cond *cc, int *lineno, char *msg, size_t msglen);

#endif
