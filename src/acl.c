/*
 * acl: declarations and conditions, and their three-valued evaluation
 * (HAProxy's acl_exec_cond: a fetch that waits makes its term MISS).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "conf.h"

static const struct {
	const char *name;
	enum acl_match m;
} acl_methods[] = {
	{ "found", ACL_M_FOUND }, { "bool", ACL_M_BOOL }, { "int", ACL_M_INT },
	{ "ip", ACL_M_IP }, { "bin", ACL_M_BIN }, { "len", ACL_M_LEN }, { "str", ACL_M_STR },
	{ "sub", ACL_M_SUB }, { "reg", ACL_M_REG }, { "beg", ACL_M_BEG }, { "end", ACL_M_END },
};

/* The method a fetch of this type matches with unless -m says. */
static enum acl_match
acl_default_method(enum sample_type t)
{
	switch (t) {
	case SMP_T_BOOL: return ACL_M_BOOL;
	case SMP_T_SINT: return ACL_M_INT;
	case SMP_T_ADDR: return ACL_M_IP;
	case SMP_T_BIN:  return ACL_M_BIN;
	default:         return ACL_M_STR;
	}
}

static int
acl_method(const char *w, enum acl_match *m, char *err, size_t errlen)
{
	for (size_t i = 0; i < sizeof(acl_methods) / sizeof(acl_methods[0]); i++) {
		if (strcmp(acl_methods[i].name, w) == 0) {
			*m = acl_methods[i].m;
			return 0;
		}
	}
	snprintf(err, errlen, "unknown matching method '-m %s' (supported: found, bool, int, "
	    "ip, bin, len, str, sub, reg, beg, end)", w);
	return -1;
}

static int
acl_is_op(const char *w)
{
	return strcmp(w, "eq") == 0 || strcmp(w, "ge") == 0 || strcmp(w, "gt") == 0 ||
	    strcmp(w, "le") == 0 || strcmp(w, "lt") == 0;
}

/*
 * The flags, then the patterns, of a declaration: argv[0..argc) follow
 * the fetch word. -f files are read after the flags before them took
 * effect; -i applies to every pattern, as HAProxy's flags must precede them.
 */
static int
acl_expr_words(struct acl_expr *e, int argc, char **argv, char *err, size_t errlen)
{
	int i = 0;
	const char *files[16];
	int nfiles = 0;

	e->match = acl_default_method(e->smp.type);
	for (; i < argc && argv[i][0] == '-' && argv[i][1] != '\0' && argv[i][2] == '\0'; i++) {
		char f = argv[i][1];

		if (f == '-') {
			i++;
			break;
		}
		if ((f == 'm' || f == 'f') && i + 1 == argc) {
			snprintf(err, errlen, "ACL flag '-%c' expects a value", f);
			return -1;
		}
		if (f == 'i') {
			e->icase = 1;
		} else if (f == 'n') {
			/* no DNS resolution: splicer never resolves patterns */
		} else if (f == 'm') {
			if (acl_method(argv[++i], &e->match, err, errlen) == -1)
				return -1;
		} else if (f == 'f') {
			if (nfiles == (int)(sizeof(files) / sizeof(files[0]))) {
				snprintf(err, errlen, "more than 16 '-f' files");
				return -1;
			}
			files[nfiles++] = argv[++i];
		} else {
			snprintf(err, errlen, "ACL flag '%s' is not supported (supported: -f FILE, "
			    "-i, -m METHOD, -n, --)", argv[i]);
			return -1;
		}
	}
	for (int k = 0; k < nfiles; k++) {
		if (acl_pat_load(e, files[k], err, errlen) == -1)
			return -1;
	}
	for (; i < argc; i++) {
		const char *op = NULL;

		if ((e->match == ACL_M_INT || e->match == ACL_M_LEN) && acl_is_op(argv[i])) {
			if (i + 1 == argc) {
				snprintf(err, errlen, "operator '%s' expects a value", argv[i]);
				return -1;
			}
			op = argv[i++];
		}
		if (acl_pat_add(e, op, argv[i], err, errlen) == -1)
			return -1;
	}
	if (e->npats == 0 && e->match != ACL_M_FOUND && e->match != ACL_M_BOOL) {
		snprintf(err, errlen, "'%s' matches with '-m %s' and needs at least one pattern",
		    e->smp.f->name, acl_methods[e->match].name);
		return -1;
	}
	return 0;
}

/* A fetch, its flags and patterns into a new expression. */
static struct acl_expr *
acl_expr_parse(int argc, char **argv, char *err, size_t errlen)
{
	struct acl_expr *e = calloc(1, sizeof(*e));
	int unknown;

	if (e == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (sample_parse(argv[0], &e->smp, &unknown, err, errlen) == -1) {
		free(e);
		return NULL;
	}
	if (acl_expr_words(e, argc - 1, argv + 1, err, errlen) == -1) {
		acl_pat_free(e);
		sample_free(&e->smp);
		free(e);
		return NULL;
	}
	return e;
}

static void
acl_expr_free(struct acl_expr *e)
{
	while (e != NULL) {
		struct acl_expr *next = e->next;

		acl_pat_free(e);
		sample_free(&e->smp);
		free(e);
		e = next;
	}
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

/* The named ACL, made (empty) when it is new; NULL when out of memory. */
static struct acl *
acl_get(struct acl **list, const char *name)
{
	struct acl *a, **tail;

	if ((a = acl_find(*list, name)) != NULL)
		return a;
	if ((a = calloc(1, sizeof(*a))) == NULL || (a->name = strdup(name)) == NULL) {
		free(a);
		return NULL;
	}
	for (tail = list; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = a;
	return a;
}

static void
acl_add_expr(struct acl *a, struct acl_expr *e)
{
	struct acl_expr **tail;

	for (tail = &a->exprs; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = e;
}

int
acl_parse_decl(struct acl **list, int argc, char **argv, char *err, size_t errlen)
{
	struct acl_expr *e;
	struct acl *a;

	if (argc < 3) {
		snprintf(err, errlen, "'acl' expects NAME FETCH [FLAGS] [PATTERN...]");
		return -1;
	}
	for (const char *p = argv[1]; *p != '\0'; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.')) {
			snprintf(err, errlen, "ACL name '%s' may only hold letters, digits, '-', "
			    "'_' and '.'", argv[1]);
			return -1;
		}
	}
	if ((a = acl_get(list, argv[1])) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if ((e = acl_expr_parse(argc - 2, argv + 2, err, errlen)) == NULL) {
		a->bad = 1;
		return -1;
	}
	acl_add_expr(a, e);
	return 0;
}

/* HAProxy's predefined ACLs that apply to TCP (configuration.txt 7.4). */
static const struct {
	const char *name;
	const char *decl[5];
} acl_predefs[] = {
	{ "FALSE",	 { "always_false" } },
	{ "HTTP",	 { "req.proto_http" } },
	{ "HTTP_1.0",	 { "req.ver", "1.0" } },
	{ "HTTP_1.1",	 { "req.ver", "1.1" } },
	{ "LOCALHOST",	 { "src", "127.0.0.1/8", "::1" } },
	{ "RDP_COOKIE",	 { "req.rdp_cookie_cnt", "gt", "0" } },
	{ "REQ_CONTENT", { "req.len", "gt", "0" } },
	{ "TRUE",	 { "always_true" } },
	{ "WAIT_END",	 { "wait_end" } },
};

static struct acl *
acl_predefined(struct acl **list, const char *name)
{
	for (size_t i = 0; i < sizeof(acl_predefs) / sizeof(acl_predefs[0]); i++) {
		char *argv[7] = { "acl", (char *)name };
		char err[256];
		int argc = 2;

		if (strcmp(acl_predefs[i].name, name) != 0)
			continue;
		for (int k = 0; k < 5 && acl_predefs[i].decl[k] != NULL; k++)
			argv[argc++] = (char *)acl_predefs[i].decl[k];
		if (acl_parse_decl(list, argc, argv, err, sizeof(err)) == -1)
			return NULL;
		return acl_find(*list, name);
	}
	return NULL;
}

/* "{ FETCH ... }" from argv[i] ('{'): the anonymous ACL, *end at '}'. */
static const struct acl *
acl_anonymous(struct acl **list, int argc, char **argv, int i, int *end, char *err,
    size_t errlen)
{
	struct acl_expr *e;
	struct acl *a;
	int j = i + 1;

	while (j < argc && strcmp(argv[j], "}") != 0)
		j++;
	if (j == argc) {
		snprintf(err, errlen, "'{' without a matching '}'");
		return NULL;
	}
	if (j == i + 1) {
		snprintf(err, errlen, "'{ }' expects a fetch and patterns, as "
		    "'{ src 10.0.0.0/8 }'");
		return NULL;
	}
	if ((e = acl_expr_parse(j - i - 1, argv + i + 1, err, errlen)) == NULL)
		return NULL;
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		acl_expr_free(e);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	a->exprs = e;
	a->next = *list;
	*list = a;
	*end = j;
	return a;
}

struct acl_cond *
acl_parse_cond(struct acl **list, int argc, char **argv, char *err, size_t errlen)
{
	struct acl_cond *c = calloc(1, sizeof(*c));
	int or_next = 0;

	err[0] = '\0';
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
			if ((t->acl = acl_anonymous(list, argc, argv, i, &i, err, errlen)) == NULL)
				goto fail;
		} else if ((t->acl = acl_find(*list, w)) == NULL &&
		    (t->acl = acl_predefined(list, w)) == NULL) {
			snprintf(err, errlen, "no ACL named '%s' is declared before this line", w);
			goto fail;
		} else if (t->acl->bad) {
			err[0] = '\0';	/* its declaration's error says it all */
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

void
acl_set_line(struct acl *list, int line)
{
	for (; list != NULL; list = list->next) {
		for (struct acl_expr *e = list->exprs; e != NULL; e = e->next) {
			if (e->line == 0)
				e->line = line;
		}
	}
}

int
acl_resolve(struct acl *list, const struct conf *c, const struct conf_proxy *px, int *line,
    char *err, size_t errlen)
{
	for (; list != NULL; list = list->next) {
		for (struct acl_expr *e = list->exprs; e != NULL; e = e->next) {
			char inner[256];

			if (sample_resolve(&e->smp, c, px, inner, sizeof(inner)) == 0)
				continue;
			*line = e->line;
			if (list->name != NULL)
				snprintf(err, errlen, "ACL '%s': %s", list->name, inner);
			else
				snprintf(err, errlen, "%s", inner);
			return -1;
		}
	}
	return 0;
}

int
acl_cond_uses_payload(const struct acl_cond *c, const char **fetch)
{
	for (unsigned int i = 0; c != NULL && i < c->nterms; i++) {
		for (const struct acl_expr *e = c->terms[i].acl->exprs; e != NULL; e = e->next) {
			if (e->smp.f->flags & SMP_F_PAYLOAD) {
				*fetch = e->smp.f->name;
				return 1;
			}
		}
	}
	return 0;
}

/* One declaration: PASS when a pattern matches; a sample that may still
 * grow turns a FAIL into a MISS (HAProxy's SMP_F_MAY_CHANGE). */
static int
acl_expr_eval(const struct acl_expr *e, const struct sample_ctx *ctx)
{
	struct sample smp;

	switch (sample_fetch(&e->smp, ctx, &smp)) {
	case SMP_WAIT:
		return ACL_MISS;
	case SMP_NONE:
		return ACL_FAIL;
	}
	if (acl_pat_match(e, &smp))
		return ACL_PASS;
	return smp.may_change && !ctx->final ? ACL_MISS : ACL_FAIL;
}

static int
acl_eval(const struct acl *a, const struct sample_ctx *ctx)
{
	int res = ACL_FAIL;

	for (const struct acl_expr *e = a->exprs; e != NULL && res != ACL_PASS; e = e->next)
		res |= acl_expr_eval(e, ctx);
	return res;
}

int
acl_cond_eval(const struct acl_cond *c, const struct sample_ctx *ctx)
{
	int result = ACL_FAIL, group = ACL_PASS;

	if (c == NULL)
		return ACL_PASS;
	/* OR of AND-groups: "a b or c" is (a and b) or c. */
	for (unsigned int i = 0; i < c->nterms; i++) {
		const struct acl_term *t = &c->terms[i];
		int r;

		if (t->or_before) {
			result |= group;
			if (result == ACL_PASS)
				break;
			group = ACL_PASS;
		}
		if (group == ACL_FAIL)
			continue;
		r = acl_eval(t->acl, ctx);
		if (t->neg && r != ACL_MISS)
			r = r == ACL_PASS ? ACL_FAIL : ACL_PASS;
		group &= r;
	}
	result |= group;
	if (c->unless && result != ACL_MISS)
		result = result == ACL_PASS ? ACL_FAIL : ACL_PASS;
	return result;
}

int
acl_cond_match(const struct acl_cond *c, const struct sockaddr *cli)
{
	struct sample_ctx ctx = { .cli = cli, .final = 1 };

	return acl_cond_eval(c, &ctx) == ACL_PASS;
}

void
acl_free_list(struct acl *list)
{
	while (list != NULL) {
		struct acl *next = list->next;

		free(list->name);
		acl_expr_free(list->exprs);
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
