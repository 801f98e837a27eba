/*
 * regexp: compile a regular expression of the configuration (ACL -m reg,
 * check expect rstring/rstatus/rbinary, header matchers) with a bound on
 * what compiling it may cost.
 *
 * glibc's regcomp() expands bounded repetitions and stacked quantifiers
 * into its automaton, so a 40-byte pattern can take gigabytes:
 * "((a{1,50}){1,50}){1,50}" or "a" followed by 25 '+' signs, whether or
 * not the pattern is valid. Before regcomp() runs, regexp_compile()
 * estimates the automaton's size from the pattern's structure and refuses
 * one past REGEXP_MAX_NODES, naming the pattern.
 */
#ifndef SPLICER_REGEXP_H
#define SPLICER_REGEXP_H

#include <regex.h>
#include <stddef.h>

/* Largest estimated automaton accepted: real patterns are far below it
 * ("^[a-z0-9.-]{1,253}$" is 254), and regcomp() stays under ~20 MB. */
#define REGEXP_MAX_NODES 20000

/* The estimated number of automaton nodes of an extended regex, saturated
 * at REGEXP_MAX_NODES + 1. Pure; exposed for the unit tests. */
size_t regexp_cost(const char *pattern);

/* regcomp(re, pattern, REG_EXTENDED | REG_NOSUB [| REG_ICASE]) behind the
 * bound. 0, or -1 with a sentence in err naming the pattern; re is then
 * not to be freed. */
int regexp_compile(regex_t *re, const char *pattern, int icase, char *err,
    size_t errlen);
/* The same, keeping what groups match (regsub, map_regm: \1..\9). */
int regexp_compile_groups(regex_t *re, const char *pattern, int icase, char *err,
    size_t errlen);

#endif
