/*
 * regexp: a cost bound in front of regcomp(). See regexp.h.
 *
 * The estimate walks the pattern once with a stack of groups. Each group
 * holds the cost of what it has so far and of its last atom; a quantifier
 * multiplies the last atom as glibc's expansion does: '*' and '?' add a
 * node, '+' doubles the atom (x+ is xx*), {m,n} copies it max(m,n) times
 * ({m,} m+1 times). Alternatives add up. Costs saturate, so no input can
 * overflow the arithmetic, and an unbalanced parenthesis still gets a cost
 * (glibc spends the memory before it reports the error).
 */
#include "regexp.h"

#include <stdio.h>
#include <string.h>

#define CAP (REGEXP_MAX_NODES + 1)
#define DEPTH 64

struct rx_group {
	size_t total;	/* the group so far, without its last atom */
	size_t last;	/* the last atom, which a quantifier applies to */
};

static size_t
sat_add(size_t a, size_t b)
{
	return a + b > CAP ? CAP : a + b;
}

static size_t
sat_mul(size_t a, size_t b)
{
	return b != 0 && a > CAP / b ? CAP : (a * b > CAP ? CAP : a * b);
}

/* The end of a bracket expression that starts at p ('['): ']' right after
 * '[' or "[^" is a member, and "[:...:]"-style classes hold a ']'. */
static const char *
bracket_end(const char *p)
{
	p++;
	if (*p == '^')
		p++;
	if (*p == ']')
		p++;
	while (*p != '\0' && *p != ']') {
		if (*p == '[' && (p[1] == ':' || p[1] == '.' || p[1] == '=')) {
			const char *close = strchr(p + 2, p[1]);

			if (close != NULL && close[1] == ']') {
				p = close + 2;
				continue;
			}
		}
		p++;
	}
	return *p == ']' ? p : p - 1;
}

/* The repetition count of "{m}", "{m,}" or "{m,n}" at p, and its end. A
 * brace that is not a bound counts as one literal atom (returns 0). */
static size_t
bound_count(const char *p, const char **end)
{
	size_t m = 0, n = 0;
	int comma = 0, digits = 0;

	for (p++; *p != '\0' && *p != '}'; p++) {
		if (*p == ',' && !comma) {
			comma = 1;
			digits = 0;
		} else if (*p >= '0' && *p <= '9') {
			size_t *v = comma ? &n : &m;

			*v = sat_add(sat_mul(*v, 10), (size_t)(*p - '0'));
			digits = 1;
		} else {
			return 0;
		}
	}
	if (*p != '}')
		return 0;
	*end = p;
	if (comma && !digits)
		return m + 1;	/* {m,}: m copies and a star */
	return (m > n ? m : n) == 0 ? 1 : (m > n ? m : n);
}

static void
rx_atom(struct rx_group *g, size_t cost)
{
	g->total = sat_add(g->total, g->last);
	g->last = cost;
}

size_t
regexp_cost(const char *p)
{
	struct rx_group stack[DEPTH];
	size_t depth = 0, count;
	const char *end;

	memset(&stack[0], 0, sizeof(stack[0]));
	for (; *p != '\0'; p++) {
		struct rx_group *g = &stack[depth];

		switch (*p) {
		case '(':
			if (depth + 1 == DEPTH)
				return CAP;
			rx_atom(g, 0);
			memset(&stack[++depth], 0, sizeof(stack[0]));
			break;
		case ')':
			if (depth == 0) {
				rx_atom(g, 1);
				break;
			}
			count = sat_add(sat_add(g->total, g->last), 1);
			rx_atom(&stack[--depth], count);
			break;
		case '|':
			rx_atom(g, 1);
			break;
		case '*':
		case '?':
			g->last = sat_add(g->last, 1);
			break;
		case '+':
			g->last = sat_add(sat_mul(g->last, 2), 1);
			break;
		case '{':
			count = bound_count(p, &end);
			if (count == 0) {
				rx_atom(g, 1);
				break;
			}
			g->last = sat_add(sat_mul(g->last, count), 1);
			p = end;
			break;
		case '[':
			p = bracket_end(p);
			rx_atom(g, 1);
			break;
		case '\\':
			if (p[1] != '\0')
				p++;
			rx_atom(g, 1);
			break;
		default:
			rx_atom(g, 1);
			break;
		}
	}
	/* Groups left open still cost what they hold. */
	count = 0;
	while (1) {
		count = sat_add(count, sat_add(stack[depth].total, stack[depth].last));
		if (depth == 0)
			break;
		depth--;
	}
	return count;
}

static int
regexp_compile_flags(regex_t *re, const char *pattern, int flags, char *err, size_t errlen)
{
	int rc;

	if (regexp_cost(pattern) > REGEXP_MAX_NODES) {
		snprintf(err, errlen, "regular expression '%.64s%s' is too costly "
		    "to compile (nested or stacked repetitions expand past %d nodes)",
		    pattern, strlen(pattern) > 64 ? "..." : "", REGEXP_MAX_NODES);
		return -1;
	}
	rc = regcomp(re, pattern, REG_EXTENDED | flags);
	if (rc != 0) {
		char why[128];

		regerror(rc, re, why, sizeof(why));
		snprintf(err, errlen, "bad regular expression '%s': %s", pattern, why);
		return -1;
	}
	return 0;
}

int
regexp_compile(regex_t *re, const char *pattern, int icase, char *err,
    size_t errlen)
{
	return regexp_compile_flags(re, pattern, REG_NOSUB | (icase ? REG_ICASE : 0), err,
	    errlen);
}

int
regexp_compile_groups(regex_t *re, const char *pattern, int icase, char *err,
    size_t errlen)
{
	return regexp_compile_flags(re, pattern, icase ? REG_ICASE : 0, err, errlen);
}
