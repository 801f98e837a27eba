/*
 * sample: the registry of fetches, and fetch expressions: parsed from
 * a word, resolved against the configuration, fetched in a context.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
	if (k == 'i' || k == 'o' || k == 'n') {
		long long lim = k == 'n' ? LLONG_MAX : 65535;

		a->rel = k == 'o' && (s[0] == '+' || s[0] == '-');
		errno = 0;
		a->i = strtoll(s, &end, 10);
		if (s[0] == '\0' || *end != '\0' || errno != 0 || (k == 'i' && a->i < 0) ||
		    a->i > lim || a->i < -lim) {
			if (k == 'n')
				snprintf(err, errlen, "'%s' is not an integer", s);
			else
				snprintf(err, errlen, "'%s' is not %s from 0 to 65535", s,
				    k == 'o' ? "an offset (+N, -N or N)" : "an integer");
			return -1;
		}
		return 0;
	}
	if (s[0] == '\0' && k != 's') {
		snprintf(err, errlen, "an empty argument");
		return -1;
	}
	if ((a->s = strdup(s)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/*
 * The next argument of s (after '(' or ','), unquoted into buf: single
 * and double quotes group; a backslash takes the next byte as it is,
 * but inside single quotes, and inside double ones before a byte other
 * than '"' or '\\' ("\\1" stays for regsub), where it is itself.
 * Returns the ',' or ')' that ends it, or NULL with err.
 */
static const char *
sample_next_arg(const char *s, char *buf, size_t size, char *err, size_t errlen)
{
	size_t n = 0;
	char q = 0;

	for (; *s != '\0'; s++) {
		char c = *s;

		if (q == 0 && (c == ',' || c == ')'))
			break;
		if (c == '\\' && s[1] != '\0' && (q == 0 || (q == '"' && (s[1] == '"' ||
		    s[1] == '\\'))))
			c = *++s;
		else if (q == 0 && (c == '"' || c == '\'')) {
			q = c;
			continue;
		} else if (c == q) {
			q = 0;
			continue;
		}
		if (n + 1 == size) {
			snprintf(err, errlen, "an argument longer than %zu bytes", size - 1);
			return NULL;
		}
		buf[n++] = c;
	}
	buf[n] = '\0';
	if (*s == '\0') {
		snprintf(err, errlen, q != 0 ? "a quote without its closing %c" :
		    "'(' without a matching ')'", q);
		return NULL;
	}
	return s;
}

int
sample_parse_args(const char *name, const char *kinds, const char *s, const char **end,
    struct sample_arg *args, char *err, size_t errlen)
{
	size_t nk = strlen(kinds), na = 0;
	char buf[1024], inner[256];

	if (s[1] == ')') {
		s++;
	} else {
		do {
			if ((s = sample_next_arg(s + 1, buf, sizeof(buf), inner, sizeof(inner))) == NULL) {
				snprintf(err, errlen, "'%s': %s", name, inner);
				return -1;
			}
			if (na == nk) {
				snprintf(err, errlen, "'%s' takes %s%zu argument%s", name,
				    nk == 0 ? "no" : "at most ", nk, nk == 1 ? "" : "s");
				return -1;
			}
			if (sample_parse_arg((char)(kinds[na] | 0x20), buf, &args[na], inner,
			    sizeof(inner)) == -1) {
				snprintf(err, errlen, "'%s' argument %zu: %s", name, na + 1, inner);
				return -1;
			}
			na++;
		} while (*s == ',');
	}
	*end = s + 1;
	if (na < nk && kinds[na] >= 'a' && kinds[na] <= 'z') {
		snprintf(err, errlen, "'%s' expects %zu argument%s, as in its manual entry",
		    name, nk, nk == 1 ? "" : "s");
		return -1;
	}
	return 0;
}

int
sample_parse(const char *word, struct sample_expr *e, int *unknown, char *err, size_t errlen)
{
	const char *rest;
	size_t nlen = strcspn(word, "(,");

	memset(e, 0, sizeof(*e));
	*unknown = 0;
	if ((e->f = sample_lookup(word, nlen)) == NULL) {
		snprintf(err, errlen, "unknown fetch '%.*s'", (int)nlen, word);
		*unknown = 1;
		return -1;
	}
	rest = word + nlen;
	if (*rest == '(') {
		if (sample_parse_args(e->f->name, e->f->args, rest, &rest, e->args, err,
		    errlen) == -1)
			goto fail;
	} else if (sample_parse_args(e->f->name, e->f->args, "()", &rest, e->args, err,
	    errlen) == -1) {
		goto fail;
	} else {
		rest = word + nlen;
	}
	e->type = e->f->type;
	if (*rest != '\0' && *rest != ',') {
		snprintf(err, errlen, "'%s': unexpected '%s' after the fetch (converters "
		    "follow a comma)", word, rest);
		goto fail;
	}
	if (*rest == ',' && sample_conv_parse(e, rest, err, errlen) == -1)
		goto fail;
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

/* The names in args of kinds, for name's messages. */
static int
sample_resolve_args(const char *name, const char *kinds, struct sample_arg *args,
    const struct conf *c, const struct conf_proxy *px, char *err, size_t errlen)
{
	for (size_t i = 0; kinds[i] != '\0'; i++) {
		char k = (char)(kinds[i] | 0x20), inner[256];
		int r = 0;

		if (k == 'b' || k == 'f')
			r = sample_resolve_proxy(&args[i], k, c, px, inner, sizeof(inner));
		else if (k == 'v')
			r = sample_resolve_server(&args[i], c, px, inner, sizeof(inner));
		else if (k == 't' || k == 'k')
			r = sample_resolve_table(&args[i], k, c, px, inner, sizeof(inner));
		if (r == -1) {
			snprintf(err, errlen, "'%s': %s", name, inner);
			return -1;
		}
	}
	return 0;
}

int
sample_resolve(struct sample_expr *e, const struct conf *c, const struct conf_proxy *px,
    char *err, size_t errlen)
{
	if (sample_resolve_args(e->f->name, e->f->args, e->args, c, px, err, errlen) == -1)
		return -1;
	for (unsigned int i = 0; i < e->nconv; i++) {
		if (sample_resolve_args(e->conv[i].c->name, e->conv[i].c->args, e->conv[i].args,
		    c, px, err, errlen) == -1)
			return -1;
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
	if (r == SMP_WAIT && ctx->final)
		return SMP_NONE;
	if (r != SMP_FOUND || e->nconv == 0)
		return r;
	return sample_conv_apply(e, out);
}

void
sample_free(struct sample_expr *e)
{
	sample_free_args(e->f != NULL ? e->f->args : "", e->args);
	for (unsigned int i = 0; i < e->nconv; i++)
		sample_free_args(e->conv[i].c->args, e->conv[i].args);
	e->nconv = 0;
}

int
sample_read_file(const char *path, const char *what,
    int (*one)(char *line, void *arg, char *err, size_t errlen), void *arg,
    char *err, size_t errlen)
{
	char line[SMP_FILE_LINE_MAX + 2], inner[256];
	/* O_NONBLOCK: opening a FIFO must not wait for a writer. */
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC), n = 0, rc = 0;
	struct stat st;
	FILE *f;

	if (fd == -1) {
		snprintf(err, errlen, "cannot open %s file '%s': %s", what, path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || (f = fdopen(fd, "r")) == NULL) {
		snprintf(err, errlen, "%s file '%s' is not a regular file", what, path);
		close(fd);
		return -1;
	}
	while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
		char *p = line, *end;

		if (++n > SMP_FILE_LINES_MAX || strlen(line) > SMP_FILE_LINE_MAX) {
			snprintf(err, errlen, "%s:%d: %s", path, n, n > SMP_FILE_LINES_MAX ?
			    "more lines than a file may have" : "a line longer than 4096 bytes");
			rc = -1;
			break;
		}
		while (isspace((unsigned char)*p))
			p++;
		end = p + strlen(p);
		while (end > p && isspace((unsigned char)end[-1]))
			*--end = '\0';
		if (*p == '\0' || *p == '#')
			continue;
		if ((rc = one(p, arg, inner, sizeof(inner))) == -1)
			snprintf(err, errlen, "%s:%d: %s", path, n, inner);
	}
	fclose(f);
	return rc;
}
