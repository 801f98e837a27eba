/*
 * acl: "acl NAME FETCH [FLAGS] [OPERATOR] [PATTERN...]" (HAProxy
 * configuration.txt section 7) and the conditions built from them
 * ("if|unless [!]acl [[!]acl...] [or ...]", anonymous "{ ... }" and the
 * predefined ACLs), with the rules that use them: "tcp-request
 * connection|content", "use_backend". Matching is pure: a sample context
 * in, a verdict out; a fetch that waits for bytes makes it "missing".
 */
#ifndef SPLICER_ACL_H
#define SPLICER_ACL_H

#include <regex.h>
#include <stdint.h>
#include <sys/socket.h>

#include "sample.h"

struct conf;
struct conf_proxy;

/* One network of an "ip" pattern. */
struct acl_net {
	int family;		/* AF_INET or AF_INET6 */
	uint8_t addr[16];	/* network address, host bits cleared */
	unsigned int prefix;	/* prefix length in bits */
};

/* Matching methods ("-m"). */
enum acl_match {
	ACL_M_FOUND, ACL_M_BOOL, ACL_M_INT, ACL_M_IP, ACL_M_BIN, ACL_M_LEN,
	ACL_M_STR, ACL_M_SUB, ACL_M_REG, ACL_M_BEG, ACL_M_END,
};

struct acl_pat {
	int64_t lo, hi;		/* int, len: the range (INT64_MIN/MAX when open) */
	struct acl_net net;	/* ip */
	uint8_t *s;		/* str, sub, beg, end, bin: the bytes (owned) */
	size_t len;
	regex_t *re;		/* reg: compiled (owned) */
};

/* One declaration: a fetch and what it must match (any pattern). */
struct acl_expr {
	struct sample_expr smp;
	enum acl_match match;
	int icase;		/* -i */
	struct acl_pat *pats;
	unsigned int npats;
	int line;		/* where it was written (set by the caller), 0 unset */
	struct acl_expr *next;	/* the next declaration of the same name (OR) */
};

struct acl {
	char *name;		/* NULL for an anonymous "{ ... }" */
	struct acl_expr *exprs;	/* its declarations, in order: any matches */
	int bad;		/* a declaration of it failed (its error is
				 * reported): conditions naming it add none */
	struct acl *next;
};

/* A condition: OR of groups, each an AND of terms. */
struct acl_term {
	const struct acl *acl;
	int neg;		/* "!name" */
	int or_before;		/* an "or" separates it from the previous term */
};

struct acl_cond {
	struct acl_term *terms;
	unsigned int nterms;
	int unless;		/* "unless": the verdict is inverted */
};

/* Three-valued results (HAProxy's ACL_TEST_*): AND is &, OR is |. */
#define ACL_FAIL	0
#define ACL_MISS	1	/* a fetch waits for more bytes */
#define ACL_PASS	3

/* Rule verdicts. */
#define ACL_ACTION_CONTINUE 0	/* the rule did its work; the next one runs */
#define ACL_ACTION_ACCEPT 1
#define ACL_ACTION_REJECT 2
#define ACL_ACTION_WAIT 3	/* content: a condition waits for more bytes */

/* Where a rule runs. */
#define ACL_RULE_CONNECTION 0x1	/* tcp-request connection: at accept */
#define ACL_RULE_CONTENT    0x2	/* tcp-request content: during inspection */

struct acl_rule;

/*
 * An action of "tcp-request connection|content ACTION [ARGS] [if|unless
 * COND]". A module with actions of its own (stick tables: track-sc0..2)
 * adds its table with acl_action_register() before any configuration is
 * parsed.
 */
struct acl_action {
	const char *name;		/* "accept" */
	unsigned int where;		/* ACL_RULE_* */
	int verdict;			/* ACL_ACTION_ACCEPT/REJECT, or CONTINUE */
	/* Its arguments from argv[0] (the action's word) on: sets *used to
	 * the words taken and r->arg; 0, or -1 with err. NULL: none. */
	int (*parse)(struct acl_rule *r, int argc, char **argv, int *used, char *err,
	    size_t errlen);
	/* Run when its condition holds (NULL: only the verdict): returns
	 * a verdict; ctx is the session's and may be written (track). */
	int (*run)(const struct acl_rule *r, struct sample_ctx *ctx);
	void (*free_arg)(void *arg);
};

int acl_action_register(const struct acl_action *table, size_t n);
const struct acl_action *acl_action_find(const char *name, unsigned int where);

struct acl_rule {
	int action;			/* ACL_ACTION_* verdict of act (use_backend: 0) */
	const struct acl_action *act;	/* tcp-request: its action */
	void *arg;			/* the action's arguments (act->free_arg) */
	char *backend_name;		/* use_backend: as written */
	struct conf_proxy *backend;	/* use_backend: resolved by conf_check */
	struct acl_cond *cond;		/* NULL: always */
	int line;
	struct acl_rule *next;
};

/*
 * "acl NAME FETCH ..." words (argv[0] == "acl") into the proxy's list: a
 * repeated name adds a declaration (OR). Returns 0, or -1 with a
 * sentence in err (an unknown fetch is named). A failed declaration
 * leaves its name marked bad.
 */
int acl_parse_decl(struct acl **list, int argc, char **argv, char *err, size_t errlen);

/*
 * A condition from words that follow "if" or "unless" (argv[0] is that
 * keyword). Anonymous ACLs are added to *list. Returns NULL with err set,
 * or with err empty when it names an ACL whose declaration failed (that
 * error was reported already).
 */
struct acl_cond *acl_parse_cond(struct acl **list, int argc, char **argv,
    char *err, size_t errlen);

/* Give the declarations of list that have no line yet this one. */
void acl_set_line(struct acl *list, int line);

/* Resolve the proxy and server names of every fetch of list (px: the
 * section). 0, or -1 with err and *line the declaration's. */
int acl_resolve(struct acl *list, const struct conf *c, const struct conf_proxy *px,
    int *line, char *err, size_t errlen);

/* Does cond read the request's bytes? Writes the first fetch that does. */
int acl_cond_uses_payload(const struct acl_cond *cond, const char **fetch);

/* ACL_PASS, ACL_FAIL or ACL_MISS of cond in ctx (NULL cond: pass). */
int acl_cond_eval(const struct acl_cond *cond, const struct sample_ctx *ctx);

/* Does the client address match the condition (NULL cond: yes)? Nothing
 * but the address is known: fetches of anything else find none. */
int acl_cond_match(const struct acl_cond *cond, const struct sockaddr *cli);

/* tcp-request connection: the verdict of the first rule that decides,
 * ACL_ACTION_ACCEPT when none does. */
int acl_connection_verdict(const struct acl_rule *rules, const struct sockaddr *cli);
int acl_rules_verdict(const struct acl_rule *rules, struct sample_ctx *ctx);
/* The same, with *decided the rule that decided or waits (NULL: none). */
int acl_rules_decide(const struct acl_rule *rules, struct sample_ctx *ctx,
    const struct acl_rule **decided);

/* Backend of the first use_backend rule that matches, or NULL. */
struct conf_proxy *acl_use_backend(const struct acl_rule *rules, const struct sockaddr *cli);
struct conf_proxy *acl_use_backend_ctx(const struct acl_rule *rules,
    const struct sample_ctx *ctx);

/* Patterns (acl_pat.c): parse words into e's patterns for its method;
 * match a sample against them. */
int acl_pat_add(struct acl_expr *e, const char *op, const char *word, char *err,
    size_t errlen);
int acl_pat_load(struct acl_expr *e, const char *path, char *err, size_t errlen);
int acl_pat_match(const struct acl_expr *e, const struct sample *smp);
int acl_pat_parse_net(const char *s, struct acl_net *n, char *err, size_t errlen);
void acl_pat_free(struct acl_expr *e);

void acl_free_list(struct acl *list);
void acl_free_rules(struct acl_rule *rules);
void acl_free_cond(struct acl_cond *cond);

#endif
