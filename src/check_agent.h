/*
 * check_agent: the answer of an agent ("agent-check"): one line of words
 * separated by spaces, tabs or commas, as HAProxy reads it (a pure
 * parser), and what it changes.
 */
#ifndef SPLICER_CHECK_AGENT_H
#define SPLICER_CHECK_AGENT_H

#include <stddef.h>

/* What an answer says; -1 for what it does not mention. */
struct check_agent_reply {
	int down;		/* "down", "fail", "stopped": 1; "up": 0 */
	int admin;		/* "ready", "drain", "maint": CONF_ADM_* */
	int weight_pct;		/* "75%" */
	long maxconn;		/* "maxconn:30" */
	char word[16];		/* the word that set down ("stopped"...) */
	char desc[96];		/* the text after '#' */
};

/* Parse buf[0..len) up to its first '\r' or '\n'. Returns the number of
 * words understood, or -1 when the line holds a word that is not one of
 * them (unknown words are skipped by HAProxy too, but reported here). */
int check_agent_parse(const char *buf, size_t len, struct check_agent_reply *r,
    char *bad, size_t badlen);

struct conf_proxy;
struct conf_server;
struct check_result;

/* A finished agent check: apply what the agent said to srv (its own
 * state holders, the weight, maxconn) and log the changes. A failed
 * connect changes nothing: connectivity is the health check's. */
void check_agent_apply(struct conf_proxy *be, struct conf_server *srv,
    const struct check_result *res);

#endif
