/*
 * acl: source-address ACLs and conditions.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "units.h"

/* Parse "1.2.3.4", "10.0.0.0/8", "::1", "2001:db8::/32". */
static int
acl_parse_net(const char *s, struct acl_net *n, char *err, size_t errlen)
{
	char buf[INET6_ADDRSTRLEN + 8], perr[128];
	char *slash;
	uint64_t prefix;
	unsigned int maxp;

	if (strlen(s) >= sizeof(buf)) {
		snprintf(err, errlen, "'%s' is not an address or network", s);
		return -1;
	}
	strcpy(buf, s);
	if ((slash = strchr(buf, '/')) != NULL)
		*slash++ = '\0';
	memset(n, 0, sizeof(*n));
	if (inet_pton(AF_INET, buf, n->addr) == 1) {
		n->family = AF_INET;
		maxp = 32;
	} else if (inet_pton(AF_INET6, buf, n->addr) == 1) {
		n->family = AF_INET6;
		maxp = 128;
	} else {
		snprintf(err, errlen, "'%s' is not an IPv4 or IPv6 address or network", s);
		return -1;
	}
	n->prefix = maxp;
	if (slash != NULL) {
		if (units_parse_uint(slash, 0, maxp, &prefix, perr, sizeof(perr)) == -1) {
			snprintf(err, errlen, "'%s': prefix length must be 0 to %u", s, maxp);
			return -1;
		}
		n->prefix = (unsigned int)prefix;
	}
	/* Clear host bits so that matching is a plain prefix compare. */
	for (unsigned int bit = n->prefix; bit < maxp; bit++)
		n->addr[bit / 8] &= (uint8_t)~(0x80u >> (bit % 8));
	return 0;
}

static struct acl *
acl_find(struct acl *list, const char *name)
{
	for (; list != NULL; list = list->next) {
		if (list->name != NULL && strcmp(list->name, name) == 0)
			return list;
	}
	return NULL;
}

/* Add the networks in argv[0..argc) to a (criterion "src" already read). */
static int
acl_add_nets(struct acl *a, int argc, char **argv, char *err, size_t errlen)
{
	struct acl_net *nets;

	if (argc == 0) {
		snprintf(err, errlen, "'src' expects at least one address or network");
		return -1;
	}
	nets = realloc(a->nets, (a->nnets + (unsigned int)argc) * sizeof(*nets));
	if (nets == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	a->nets = nets;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "-f") == 0 || strcmp(argv[i], "-m") == 0 ||
		    strcmp(argv[i], "-i") == 0 || strcmp(argv[i], "-n") == 0) {
			snprintf(err, errlen, "ACL flag '%s' is not supported yet", argv[i]);
			return -1;
		}
		if (acl_parse_net(argv[i], &a->nets[a->nnets], err, errlen) == -1)
			return -1;
		a->nnets++;
	}
	return 0;
}

/* Check the criterion word; only "src" is known. */
static int
acl_criterion(const char *c, char *err, size_t errlen)
{
	if (strcmp(c, "src") == 0)
		return 0;
	snprintf(err, errlen, "ACL criterion '%s' is not supported (splicer matches 'src' "
	    "addresses only)", c);
	return -1;
}

int
acl_parse_decl(struct acl **list, int argc, char **argv, char *err, size_t errlen)
{
	struct acl *a, **tail;
	const char *p;

	if (argc < 3) {
		snprintf(err, errlen, "'acl' expects NAME src ADDRESS...");
		return -1;
	}
	for (p = argv[1]; *p != '\0'; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.')) {
			snprintf(err, errlen, "ACL name '%s' may only hold letters, digits, '-', "
			    "'_' and '.'", argv[1]);
			return -1;
		}
	}
	if (acl_criterion(argv[2], err, errlen) == -1)
		return -1;
	if ((a = acl_find(*list, argv[1])) == NULL) {
		if ((a = calloc(1, sizeof(*a))) == NULL || (a->name = strdup(argv[1])) == NULL) {
			free(a);
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		for (tail = list; *tail != NULL; tail = &(*tail)->next)
			;
		*tail = a;
	}
	return acl_add_nets(a, argc - 3, argv + 3, err, errlen);
}

/* HAProxy's predefined ACLs that make sense for source addresses. */
static struct acl *
acl_predefined(struct acl **list, const char *name)
{
	static char *const lo[] = { "127.0.0.0/8", "::1" };
	struct acl *a;
	char err[64];

	if (strcmp(name, "TRUE") != 0 && strcmp(name, "FALSE") != 0 &&
	    strcmp(name, "LOCALHOST") != 0)
		return NULL;
	if ((a = acl_find(*list, name)) != NULL)
		return a;
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	a->name = strdup(name);
	if (strcmp(name, "TRUE") == 0)
		a->always = 1;
	else if (strcmp(name, "FALSE") == 0)
		a->always = -1;
	else
		acl_add_nets(a, 2, (char **)lo, err, sizeof(err));
	a->next = *list;
	*list = a;
	return a;
}

struct acl_cond *
acl_parse_cond(struct acl **list, int argc, char **argv, char *err, size_t errlen)
{
	struct acl_cond *c = calloc(1, sizeof(*c));
	int or_next = 0;

	if (c == NULL || (c->terms = calloc((size_t)argc, sizeof(*c->terms))) == NULL) {
		free(c);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->unless = strcmp(argv[0], "unless") == 0;
	for (int i = 1; i < argc; i++) {
		struct acl_term *t = &c->terms[c->nterms];
		const char *w = argv[i];

		if (strcmp(w, "or") == 0 || strcmp(w, "||") == 0) {
			if (c->nterms == 0 || or_next || i + 1 == argc) {
				snprintf(err, errlen, "'%s' must stand between two ACLs", w);
				goto fail;
			}
			or_next = 1;
			continue;
		}
		t->or_before = or_next;
		or_next = 0;
		if (w[0] == '!') {
			t->neg = 1;
			w++;
		}
		if (strcmp(w, "{") == 0) {
			/* Anonymous ACL: { src ADDR... } */
			struct acl *a;
			int j = i + 1;

			while (j < argc && strcmp(argv[j], "}") != 0)
				j++;
			if (j == argc) {
				snprintf(err, errlen, "'{' without a matching '}'");
				goto fail;
			}
			if (j - i < 3) {
				snprintf(err, errlen, "'{ }' expects a criterion and values, as "
				    "'{ src 10.0.0.0/8 }'");
				goto fail;
			}
			if (acl_criterion(argv[i + 1], err, errlen) == -1)
				goto fail;
			if ((a = calloc(1, sizeof(*a))) == NULL) {
				snprintf(err, errlen, "out of memory");
				goto fail;
			}
			a->next = *list;
			*list = a;
			if (acl_add_nets(a, j - i - 2, argv + i + 2, err, errlen) == -1)
				goto fail;
			t->acl = a;
			i = j;
		} else if ((t->acl = acl_find(*list, w)) == NULL &&
		    (t->acl = acl_predefined(list, w)) == NULL) {
			snprintf(err, errlen, "no ACL named '%s' is declared before this line", w);
			goto fail;
		}
		c->nterms++;
	}
	if (c->nterms == 0) {
		snprintf(err, errlen, "'%s' expects at least one ACL", argv[0]);
		goto fail;
	}
	return c;
fail:
	free(c->terms);
	free(c);
	return NULL;
}

static int
acl_net_match(const struct acl_net *n, int family, const uint8_t *addr)
{
	unsigned int full = n->prefix / 8, rest = n->prefix % 8;

	if (n->family != family)
		return 0;
	if (memcmp(n->addr, addr, full) != 0)
		return 0;
	return rest == 0 || ((addr[full] ^ n->addr[full]) & (uint8_t)(0xff00u >> rest)) == 0;
}

static int
acl_match(const struct acl *a, const struct sockaddr *cli)
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	const uint8_t *addr;
	int family = cli->sa_family;

	if (a->always)
		return a->always > 0;
	if (family == AF_INET) {
		addr = (const uint8_t *)&((const struct sockaddr_in *)cli)->sin_addr;
	} else if (family == AF_INET6) {
		addr = (const uint8_t *)&((const struct sockaddr_in6 *)cli)->sin6_addr;
		/* A v4 client on a dual-stack bind arrives as ::ffff:a.b.c.d:
		 * IPv4 networks must match it. */
		if (memcmp(addr, v4mapped, 12) == 0) {
			addr += 12;
			family = AF_INET;
		}
	} else {
		return 0;
	}
	for (unsigned int i = 0; i < a->nnets; i++) {
		if (acl_net_match(&a->nets[i], family, addr))
			return 1;
	}
	return 0;
}

int
acl_cond_match(const struct acl_cond *c, const struct sockaddr *cli)
{
	int result = 0, group = 1;

	if (c == NULL)
		return 1;
	/* OR of AND-groups: "a b or c" is (a and b) or c. */
	for (unsigned int i = 0; i < c->nterms; i++) {
		const struct acl_term *t = &c->terms[i];

		if (t->or_before) {
			result |= group;
			group = 1;
		}
		if (group)
			group = acl_match(t->acl, cli) != t->neg;
	}
	result |= group;
	return c->unless ? !result : result;
}

int
acl_connection_verdict(const struct acl_rule *r, const struct sockaddr *cli)
{
	for (; r != NULL; r = r->next) {
		if (acl_cond_match(r->cond, cli))
			return r->action;
	}
	return ACL_ACTION_ACCEPT;
}

struct conf_proxy *
acl_use_backend(const struct acl_rule *r, const struct sockaddr *cli)
{
	for (; r != NULL; r = r->next) {
		if (acl_cond_match(r->cond, cli))
			return r->backend;
	}
	return NULL;
}

void
acl_free_list(struct acl *list)
{
	while (list != NULL) {
		struct acl *next = list->next;

		free(list->name);
		free(list->nets);
		free(list);
		list = next;
	}
}

void
acl_free_cond(struct acl_cond *cond)
{
	if (cond != NULL) {
		free(cond->terms);
		free(cond);
	}
}

void
acl_free_rules(struct acl_rule *r)
{
	while (r != NULL) {
		struct acl_rule *next = r->next;

		acl_free_cond(r->cond);
		free(r->backend_name);
		free(r);
		r = next;
	}
}
