/*
 * sample: the registry of fetches, and fetch expressions: parsed from
 * a word, resolved against the configuration, fetched in a context.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "sample.h"

/* The built-in fetches (sample_fetch.c). */
extern const struct sample_fetch sample_builtin[];
extern const size_t sample_nbuiltin;

/* Tables added by other modules: few (one per module with fetches). */
#define SAMPLE_TABLES_MAX 8

static struct {
	const struct sample_fetch *table;
	size_t n;
} sample_tables[SAMPLE_TABLES_MAX];
static size_t sample_ntables;

int
sample_register(const struct sample_fetch *table, size_t n)
{
	if (sample_ntables == SAMPLE_TABLES_MAX)
		return -1;
	sample_tables[sample_ntables].table = table;
	sample_tables[sample_ntables].n = n;
	sample_ntables++;
	return 0;
}

static const struct sample_fetch *
sample_lookup(const char *name, size_t len)
{
	for (size_t i = 0; i < sample_nbuiltin; i++) {
		if (strlen(sample_builtin[i].name) == len &&
		    strncmp(sample_builtin[i].name, name, len) == 0)
			return &sample_builtin[i];
	}
	for (size_t t = 0; t < sample_ntables; t++) {
		for (size_t i = 0; i < sample_tables[t].n; i++) {
			const struct sample_fetch *f = &sample_tables[t].table[i];

			if (strlen(f->name) == len && strncmp(f->name, name, len) == 0)
				return f;
		}
	}
	return NULL;
}

const struct sample_fetch *
sample_find(const char *name)
{
	return sample_lookup(name, strlen(name));
}

size_t
sample_names(const char **names, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < sample_nbuiltin && n < max; i++)
		names[n++] = sample_builtin[i].name;
	for (size_t t = 0; t < sample_ntables; t++) {
		for (size_t i = 0; i < sample_tables[t].n && n < max; i++)
			names[n++] = sample_tables[t].table[i].name;
	}
	return n;
}

/* One argument of kind k from s (NUL-terminated). */
static int
sample_parse_arg(char k, const char *s, struct sample_arg *a, char *err, size_t errlen)
{
	char *end;

	a->set = 1;
	if (k == 'i' || k == 'o') {
		a->rel = k == 'o' && (s[0] == '+' || s[0] == '-');
		errno = 0;
		a->i = strtoll(s, &end, 10);
		if (s[0] == '\0' || *end != '\0' || errno != 0 || (k == 'i' && a->i < 0) ||
		    a->i > 65535 || a->i < -65535) {
			snprintf(err, errlen, "'%s' is not %s from 0 to 65535", s,
			    k == 'o' ? "an offset (+N, -N or N)" : "an integer");
			return -1;
		}
		return 0;
	}
	if (s[0] == '\0') {
		snprintf(err, errlen, "an empty argument");
		return -1;
	}
	if ((a->s = strdup(s)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* The arguments between the parentheses, list[0..len). */
static int
sample_parse_args(struct sample_expr *e, const char *list, size_t len, char *err,
    size_t errlen)
{
	const char *kinds = e->f->args;
	size_t nk = strlen(kinds), na = 0;
	char buf[256], *save = NULL, *w;

	if (len >= sizeof(buf)) {
		snprintf(err, errlen, "the arguments of '%s' are too long", e->f->name);
		return -1;
	}
	memcpy(buf, list, len);
	buf[len] = '\0';
	/* strtok would merge empty arguments: count commas instead. */
	for (w = buf; len > 0; w = save) {
		if ((save = strchr(w, ',')) != NULL)
			*save++ = '\0';
		if (na == nk) {
			snprintf(err, errlen, "'%s' takes %s%zu argument%s", e->f->name,
			    nk == 0 ? "no" : "at most ", nk, nk == 1 ? "" : "s");
			return -1;
		}
		if (sample_parse_arg((char)(kinds[na] | 0x20), w, &e->args[na], err, errlen) == -1) {
			char inner[256];

			snprintf(inner, sizeof(inner), "%s", err);
			snprintf(err, errlen, "'%s' argument %zu: %s", e->f->name, na + 1, inner);
			return -1;
		}
		na++;
		if (save == NULL)
			break;
	}
	if (na < nk && kinds[na] >= 'a' && kinds[na] <= 'z') {
		snprintf(err, errlen, "'%s' expects %zu argument%s, as in its manual entry",
		    e->f->name, nk, nk == 1 ? "" : "s");
		return -1;
	}
	return 0;
}

int
sample_parse(const char *word, struct sample_expr *e, int *unknown, char *err, size_t errlen)
{
	const char *paren = strchr(word, '('), *comma = strchr(word, ',');
	size_t nlen;

	memset(e, 0, sizeof(*e));
	*unknown = 0;
	nlen = paren != NULL ? (size_t)(paren - word) :
	    comma != NULL ? (size_t)(comma - word) : strlen(word);
	if ((e->f = sample_lookup(word, nlen)) == NULL) {
		snprintf(err, errlen, "unknown fetch '%.*s'", (int)nlen, word);
		*unknown = 1;
		return -1;
	}
	if (paren != NULL) {
		const char *close = strchr(paren, ')');

		if (close == NULL) {
			snprintf(err, errlen, "'%s': '(' without a matching ')'", word);
			return -1;
		}
		if (sample_parse_args(e, paren + 1, (size_t)(close - paren - 1), err, errlen) == -1)
			goto fail;
		comma = close[1] != '\0' ? close + 1 : NULL;
	} else if (sample_parse_args(e, "", 0, err, errlen) == -1) {
		goto fail;
	}
	if (comma != NULL) {
		snprintf(err, errlen, "'%s': converters ('%s') are not supported", word, comma);
		goto fail;
	}
	return 0;
fail:
	sample_free(e);
	return -1;
}

/* A 'b' or 'f' argument: the named proxy, or the section itself. */
static int
sample_resolve_proxy(struct sample_arg *a, char k, const struct conf *c,
    const struct conf_proxy *px, char *err, size_t errlen)
{
	unsigned int cap = k == 'b' ? CONF_PX_BE : CONF_PX_FE;

	if (!a->set) {
		/* The current one; a frontend's backend is known at run time. */
		a->px = px != NULL && (px->cap & cap) ? px : NULL;
		if (k == 'f' && a->px == NULL) {
			snprintf(err, errlen, "without an argument, it needs a frontend section");
			return -1;
		}
		return 0;
	}
	if ((a->px = conf_find_proxy(c, a->s, cap)) == NULL) {
		snprintf(err, errlen, "no %s named '%s'", k == 'b' ? "backend" : "frontend", a->s);
		return -1;
	}
	return 0;
}

/* A 't' argument: the section whose stick-table is named, or the
 * section itself; a 'k' one, when absent, is none (the fetch knows). */
static int
sample_resolve_table(struct sample_arg *a, char k, const struct conf *c,
    const struct conf_proxy *px, char *err, size_t errlen)
{
	if (!a->set && k == 'k')
		return 0;
	if (!a->set) {
		if (px == NULL || px->table == NULL) {
			snprintf(err, errlen, "this section declares no stick-table; name one");
			return -1;
		}
		a->px = px;
		return 0;
	}
	if ((a->px = conf_find_proxy(c, a->s, 0)) == NULL || a->px->table == NULL) {
		snprintf(err, errlen, "no section named '%s' declares a stick-table", a->s);
		return -1;
	}
	return 0;
}

/* A 'v' argument: [backend/]server. */
static int
sample_resolve_server(struct sample_arg *a, const struct conf *c,
    const struct conf_proxy *px, char *err, size_t errlen)
{
	const char *slash = strchr(a->s, '/'), *name = slash != NULL ? slash + 1 : a->s;

	if (slash != NULL) {
		char be[256];

		snprintf(be, sizeof(be), "%.*s", (int)(slash - a->s), a->s);
		if ((px = conf_find_proxy(c, be, CONF_PX_BE)) == NULL) {
			snprintf(err, errlen, "no backend named '%.200s'", be);
			return -1;
		}
	} else if (px == NULL || !(px->cap & CONF_PX_BE)) {
		snprintf(err, errlen, "'%s' needs its backend, as BACKEND/%s", a->s, a->s);
		return -1;
	}
	a->px = px;
	for (const struct conf_server *s = px->servers; s != NULL; s = s->next) {
		if (strcmp(s->name, name) == 0) {
			a->srv = s;
			return 0;
		}
	}
	snprintf(err, errlen, "backend '%s' has no server named '%s'", px->name, name);
	return -1;
}

int
sample_resolve(struct sample_expr *e, const struct conf *c, const struct conf_proxy *px,
    char *err, size_t errlen)
{
	for (size_t i = 0; e->f->args[i] != '\0'; i++) {
		char k = (char)(e->f->args[i] | 0x20), inner[256];
		int r = 0;

		if (k == 'b' || k == 'f')
			r = sample_resolve_proxy(&e->args[i], k, c, px, inner, sizeof(inner));
		else if (k == 'v')
			r = sample_resolve_server(&e->args[i], c, px, inner, sizeof(inner));
		else if (k == 't' || k == 'k')
			r = sample_resolve_table(&e->args[i], k, c, px, inner, sizeof(inner));
		if (r == -1) {
			snprintf(err, errlen, "'%s': %s", e->f->name, inner);
			return -1;
		}
	}
	return 0;
}

int
sample_fetch(const struct sample_expr *e, const struct sample_ctx *ctx, struct sample *out)
{
	int r;

	out->type = e->f->type;
	out->ptr = NULL;
	out->len = 0;
	out->sint = 0;
	out->may_change = 0;
	r = e->f->fetch(e->args, ctx, out);
	/* Once final, nothing is worth waiting for. */
	return r == SMP_WAIT && ctx->final ? SMP_NONE : r;
}

void
sample_free(struct sample_expr *e)
{
	for (size_t i = 0; i < SMP_ARGS_MAX; i++) {
		free(e->args[i].s);
		e->args[i].s = NULL;
	}
}
