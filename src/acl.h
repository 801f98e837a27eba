/*
 * acl: "acl NAME src CIDR..." and the conditions built from them
 * ("if|unless [!]acl [[!]acl...] [or ...]"), with the rules that use
 * them: "tcp-request connection accept|reject" and "use_backend".
 * Matching is pure: an address in, a verdict out.
 */
#ifndef SPLICER_ACL_H
#define SPLICER_ACL_H

#include <stdint.h>
#include <sys/socket.h>

struct conf_proxy;

/* One network of an ACL. */
struct acl_net {
	int family;		/* AF_INET or AF_INET6 */
	uint8_t addr[16];	/* network address, host bits cleared */
	unsigned int prefix;	/* prefix length in bits */
};

struct acl {
	char *name;		/* NULL for an anonymous "{ src ... }" */
	struct acl_net *nets;
	unsigned int nnets;
	int always;		/* predefined TRUE (1) / FALSE (-1), 0 otherwise */
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

/* tcp-request connection actions. */
#define ACL_ACTION_ACCEPT 1
#define ACL_ACTION_REJECT 2

struct acl_rule {
	int action;			/* ACL_ACTION_* (tcp-request) or 0 (use_backend) */
	char *backend_name;		/* use_backend: as written */
	struct conf_proxy *backend;	/* use_backend: resolved by conf_check */
	struct acl_cond *cond;		/* NULL: always */
	int line;
	struct acl_rule *next;
};

/*
 * "acl NAME src CIDR..." words (argv[0] == "acl") into the proxy's list:
 * a repeated name adds its networks to the first one. Returns 0 or -1
 * with a sentence in err.
 */
int acl_parse_decl(struct acl **list, int argc, char **argv, char *err, size_t errlen);

/*
 * A condition from words that follow "if" or "unless" (argv[0] is that
 * keyword). Anonymous ACLs are added to *list. Returns NULL with err set.
 */
struct acl_cond *acl_parse_cond(struct acl **list, int argc, char **argv,
    char *err, size_t errlen);

/* Does the client address match the condition (NULL cond: yes)? */
int acl_cond_match(const struct acl_cond *cond, const struct sockaddr *cli);

/* First tcp-request connection rule that matches: its action, or
 * ACL_ACTION_ACCEPT when none does. */
int acl_connection_verdict(const struct acl_rule *rules, const struct sockaddr *cli);

/* Backend of the first use_backend rule that matches, or NULL. */
struct conf_proxy *acl_use_backend(const struct acl_rule *rules, const struct sockaddr *cli);

void acl_free_list(struct acl *list);
void acl_free_rules(struct acl_rule *rules);
void acl_free_cond(struct acl_cond *cond);

#endif
