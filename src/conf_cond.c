/*
 * conf_cond: conditional blocks, as HAProxy 2.6's (configuration.txt 2.4).
 *
 * A condition is the words after .if/.elif joined by spaces: empty is
 * false, 0 false, another integer true; predicates defined(NAME),
 * feature(NAME), streq(A,B), strneq(A,B), version_atleast(V) and
 * version_before(V); '!' negates, '&&' binds tighter than '||', and
 * parentheses group.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_cond.h"

/* A level's state. */
enum {
	COND_TAKING = 0,	/* on the branch being taken */
	COND_SEEKING,		/* no branch taken yet: a later .elif/.else may be */
	COND_DONE,		/* a branch was taken, or the parent is not: skip */
};

struct cond_parser {
	const char *p;
	char *err;
	size_t errlen;
	int failed;
};

/* HAProxy's features that splicer has, for feature(NAME). */
static const char *const cond_features[] = { "LINUX_SPLICE", "TFO" };

static void
cond_skip_blanks(struct cond_parser *cp)
{
	while (*cp->p == ' ' || *cp->p == '\t')
		cp->p++;
}

static void
cond_fail(struct cond_parser *cp, const char *why)
{
	if (!cp->failed)
		snprintf(cp->err, cp->errlen, "%s", why);
	cp->failed = 1;
}

/* Compare dotted versions ("2.4-dev19": 2.4, its suffix ignored). */
static int
cond_version_cmp(const char *a, const char *b)
{
	for (int i = 0; i < 4; i++) {
		long x = strtol(a, (char **)&a, 10), y = strtol(b, (char **)&b, 10);

		if (x != y)
			return x < y ? -1 : 1;
		a += *a == '.';
		b += *b == '.';
	}
	return 0;
}

/* name(arg[,arg]): the arguments into args (up to 2), their count. */
static int
cond_args(struct cond_parser *cp, char args[2][256])
{
	int n = 0;
	size_t l = 0;

	cp->p++;	/* '(' */
	args[0][0] = args[1][0] = '\0';
	for (; *cp->p != ')'; cp->p++) {
		if (*cp->p == '\0') {
			cond_fail(cp, "missing ')' after a predicate's arguments");
			return -1;
		}
		if (*cp->p == ',') {
			if (++n >= 2) {
				cond_fail(cp, "too many arguments to a predicate");
				return -1;
			}
			l = 0;
			continue;
		}
		if (l + 1 < sizeof(args[0])) {
			args[n][l++] = *cp->p;
			args[n][l] = '\0';
		}
	}
	cp->p++;
	return n + 1;
}

static int cond_or(struct cond_parser *cp);

/* A term: an integer, a predicate, (expr), or !term. */
static int
cond_term(struct cond_parser *cp)
{
	char name[32], args[2][256];
	size_t l = 0;
	int n;

	cond_skip_blanks(cp);
	if (*cp->p == '!') {
		cp->p++;
		return !cond_term(cp);
	}
	if (*cp->p == '(') {
		cp->p++;
		n = cond_or(cp);
		cond_skip_blanks(cp);
		if (*cp->p != ')')
			cond_fail(cp, "missing ')'");
		else
			cp->p++;
		return n;
	}
	if (isdigit((unsigned char)*cp->p) || (*cp->p == '-' && isdigit((unsigned char)cp->p[1])))
		return strtol(cp->p, (char **)&cp->p, 10) != 0;
	while ((isalnum((unsigned char)*cp->p) || *cp->p == '_') && l + 1 < sizeof(name))
		name[l++] = *cp->p++;
	name[l] = '\0';
	if (*cp->p != '(' || (n = cond_args(cp, args)) < 0) {
		cond_fail(cp, "unparsable condition (expected 0, 1, defined(NAME), feature(NAME), "
		    "streq(A,B), strneq(A,B), version_atleast(V) or version_before(V))");
		return 0;
	}
	if (strcmp(name, "defined") == 0 && n == 1)
		return getenv(args[0]) != NULL;
	if (strcmp(name, "feature") == 0 && n == 1) {
		for (size_t i = 0; i < sizeof(cond_features) / sizeof(*cond_features); i++) {
			if (strcmp(args[0], cond_features[i]) == 0)
				return 1;
		}
		return 0;
	}
	if ((strcmp(name, "streq") == 0 || strcmp(name, "strneq") == 0) && n == 2)
		return (strcmp(args[0], args[1]) == 0) == (name[3] == 'e');
	if (strcmp(name, "version_atleast") == 0 && n == 1)
		return cond_version_cmp(CONF_COND_VERSION, args[0]) >= 0;
	if (strcmp(name, "version_before") == 0 && n == 1)
		return cond_version_cmp(CONF_COND_VERSION, args[0]) < 0;
	cond_fail(cp, "unknown predicate or wrong number of arguments (expected defined(NAME), "
	    "feature(NAME), streq(A,B), strneq(A,B), version_atleast(V), version_before(V))");
	return 0;
}

static int
cond_and(struct cond_parser *cp)
{
	int v = cond_term(cp);

	for (cond_skip_blanks(cp); !cp->failed && strncmp(cp->p, "&&", 2) == 0;
	    cond_skip_blanks(cp)) {
		cp->p += 2;
		v = cond_term(cp) && v;
	}
	return v;
}

static int
cond_or(struct cond_parser *cp)
{
	int v = cond_and(cp);

	for (cond_skip_blanks(cp); !cp->failed && strncmp(cp->p, "||", 2) == 0;
	    cond_skip_blanks(cp)) {
		cp->p += 2;
		v = cond_and(cp) || v;
	}
	return v;
}

/* The condition of argv[1..argc): 1, 0, or -1 with err set. */
static int
cond_eval(int argc, char **argv, char *err, size_t errlen)
{
	char buf[4096];
	size_t l = 0;
	struct cond_parser cp = { buf, err, errlen, 0 };
	int v;

	buf[0] = '\0';
	for (int i = 1; i < argc; i++)
		l += (size_t)snprintf(buf + l, l < sizeof(buf) ? sizeof(buf) - l : 0, "%s%s",
		    i > 1 ? " " : "", argv[i]);
	if (l >= sizeof(buf)) {
		snprintf(err, errlen, "condition too long");
		return -1;
	}
	cond_skip_blanks(&cp);
	if (*cp.p == '\0')
		return 0;	/* an empty condition is false */
	v = cond_or(&cp);
	cond_skip_blanks(&cp);
	if (!cp.failed && *cp.p != '\0')
		cond_fail(&cp, "unexpected text after the condition");
	return cp.failed ? -1 : v;
}

int
conf_cond_active(const struct conf_cond *cc)
{
	return cc->depth == 0 || cc->state[cc->depth - 1] == COND_TAKING;
}

/* .if, .elif, .else, .endif; returns the result for conf_cond_line. */
static enum conf_cond_result
cond_block(struct conf_cond *cc, int argc, char **argv, int lineno, char *msg, size_t len)
{
	const char *d = argv[0] + 1;
	int top = cc->depth - 1, v;

	if (strcmp(d, "if") == 0) {
		if (cc->depth == CONF_COND_MAX_DEPTH) {
			snprintf(msg, len, "'.if' nested more than %d deep", CONF_COND_MAX_DEPTH);
			return CONF_COND_ERROR;
		}
		cc->line[cc->depth] = lineno;
		cc->had_else[cc->depth] = 0;
		if (!conf_cond_active(cc)) {
			cc->state[cc->depth++] = COND_DONE;
			return CONF_COND_DONE;
		}
		if ((v = cond_eval(argc, argv, msg, len)) < 0) {
			cc->state[cc->depth++] = COND_DONE;
			return CONF_COND_ERROR;
		}
		cc->state[cc->depth++] = v ? COND_TAKING : COND_SEEKING;
		return CONF_COND_DONE;
	}
	if (top < 0) {
		snprintf(msg, len, "'%s' without '.if'", argv[0]);
		return CONF_COND_ERROR;
	}
	if (strcmp(d, "endif") == 0) {
		cc->depth--;
		return CONF_COND_DONE;
	}
	if (cc->had_else[top]) {
		snprintf(msg, len, "'%s' after '.else' (of the '.if' at line %d)", argv[0],
		    cc->line[top]);
		return CONF_COND_ERROR;
	}
	if (strcmp(d, "else") == 0) {
		cc->had_else[top] = 1;
		cc->state[top] = cc->state[top] == COND_SEEKING ? COND_TAKING : COND_DONE;
		return CONF_COND_DONE;
	}
	/* .elif */
	if (cc->state[top] != COND_SEEKING) {
		cc->state[top] = COND_DONE;
		return CONF_COND_DONE;
	}
	if ((v = cond_eval(argc, argv, msg, len)) < 0)
		return CONF_COND_ERROR;
	if (v)
		cc->state[top] = COND_TAKING;
	return CONF_COND_DONE;
}

enum conf_cond_result
conf_cond_line(struct conf_cond *cc, int argc, char **argv, int lineno, char *msg, size_t len)
{
	static const char *const blocks[] = { ".if", ".elif", ".else", ".endif" };
	int report = strcmp(argv[0], ".warning") == 0 || strcmp(argv[0], ".notice") == 0;

	if (argv[0][0] != '.')
		return CONF_COND_NONE;
	for (size_t i = 0; i < sizeof(blocks) / sizeof(*blocks); i++) {
		if (strcmp(argv[0], blocks[i]) == 0)
			return cond_block(cc, argc, argv, lineno, msg, len);
	}
	if (!report && strcmp(argv[0], ".alert") != 0 && strcmp(argv[0], ".diag") != 0)
		return CONF_COND_NONE;	/* the keyword tables report it */
	if (!conf_cond_active(cc) || strcmp(argv[0], ".diag") == 0)
		return CONF_COND_DONE;	/* skipped, or for HAProxy's -dD mode only */
	snprintf(msg, len, "%s: %s", argv[0] + 1, argc > 1 ? argv[1] : "");
	return report ? CONF_COND_WARNING : CONF_COND_ERROR;
}

int
conf_cond_end(const struct conf_cond *cc, int *lineno, char *msg, size_t len)
{
	if (cc->depth == 0)
		return 0;
	*lineno = cc->line[cc->depth - 1];
	snprintf(msg, len, "'.if' is not closed by '.endif' at the end of the file");
	return -1;
}
