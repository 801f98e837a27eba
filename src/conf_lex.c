/*
 * conf_lex: words, quotes, '#' comments and line numbers.
 *
 * Rules, as HAProxy's: words are separated by spaces or tabs; "..." keeps
 * spaces and understands \" \\ \t \n \r \$; '...' keeps everything literally;
 * a backslash outside quotes escapes the next byte; '#' outside quotes
 * starts a comment. CRLF line ends are accepted, a UTF-8 byte order mark
 * at the start of the text is skipped, and a NUL byte is an error.
 *
 * Environment variables, as Debian's HAProxy 2.6 expands them (haproxy -c
 * is the judge): $NAME, ${NAME}, ${NAME-default} (the default when NAME
 * is unset) and ${NAME[*]} (inside double quotes, one word per
 * space-separated part of the value), outside quotes and inside either
 * kind; an unset NAME is empty, and a quoted word left empty by it is
 * dropped. NAME is letters, digits and '_', not starting with a digit.
 * Inside double quotes a '$' that starts no NAME ("$", "${}", "$1") or a
 * brace left open ("${NAME", "${NAME:-x}") is an error, as HAProxy's;
 * elsewhere such a '$' is literal.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_lex.h"

void
conf_lex_init(struct conf_lex *lx, const char *buf, size_t len)
{
	memset(lx, 0, sizeof(*lx));
	lx->buf = buf;
	lx->len = len;
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		lx->pos = 3;
}

void
conf_lex_free(struct conf_lex *lx)
{
	free(lx->store);
	lx->store = NULL;
}

/*
 * The escape at line[*i] == '\\' (outside single quotes), as HAProxy reads
 * it: \r \n \t and \xHH are control bytes, \ followed by a space, '\\',
 * '#', or a quote is that character, so is '$' inside double quotes (a
 * literal dollar there), and any other escape is kept as written (a regex's
 * "\." stays one). Returns the bytes written to out, or -1 with err set.
 */
static int
conf_lex_escape(const char *line, size_t n, size_t *i, int dquoted, char *out, char *err,
    size_t errlen)
{
	static const char hex[] = "0123456789abcdef";
	char e = line[*i + 1];
	const char *h, *l;

	if (e == 'r' || e == 'n' || e == 't') {
		*out = e == 'r' ? '\r' : e == 'n' ? '\n' : '\t';
	} else if (e == 'x') {
		if (*i + 3 >= n || (h = strchr(hex, line[*i + 2] | 0x20)) == NULL ||
		    (l = strchr(hex, line[*i + 3] | 0x20)) == NULL || line[*i + 2] == '\0' ||
		    line[*i + 3] == '\0') {
			snprintf(err, errlen, "'\\x' expects two hex digits (offset %zu)", *i);
			return -1;
		}
		if ((*out = (char)((h - hex) << 4 | (l - hex))) == '\0') {
			snprintf(err, errlen, "'\\x00' is a NUL byte (offset %zu)", *i);
			return -1;
		}
		*i += 3;
		return 1;
	} else if (e == ' ' || e == '\\' || e == '#' || e == '"' || e == '\'' ||
	    (dquoted && e == '$')) {
		*out = e;
	} else {
		out[0] = '\\';
		out[1] = e;
		*i += 1;
		return 2;
	}
	*i += 1;
	return 1;
}

/* A variable reference at line[i] == '$': its value (NULL when unset
 * and without a default), and how many bytes of line it takes; 0 when
 * line[i] does not start one (the '$' is then literal outside double
 * quotes, and an error inside them, as HAProxy's: why says which). */
struct lex_var {
	const char *val;
	size_t len;		/* bytes of val */
	int splat;		/* ${NAME[*]} */
	const char *why;	/* when 0 is returned */
};

static size_t
conf_lex_var(const char *line, size_t n, size_t i, struct lex_var *v)
{
	size_t j = i + 1, name, namelen;
	char buf[256];
	int braced = j < n && line[j] == '{';

	j += braced;
	name = j;
	v->why = "forbidden first char in environment variable name";
	if (j >= n || !(isalpha((unsigned char)line[j]) || line[j] == '_'))
		return 0;
	v->why = "unmatched brace in environment variable name";
	while (j < n && (isalnum((unsigned char)line[j]) || line[j] == '_'))
		j++;
	namelen = j - name;
	if (namelen >= sizeof(buf))
		return 0;
	memcpy(buf, line + name, namelen);
	buf[namelen] = '\0';
	v->val = getenv(buf);
	v->len = v->val != NULL ? strlen(v->val) : 0;
	v->splat = 0;
	if (!braced)
		return j - i;
	if (j + 3 <= n && memcmp(line + j, "[*]", 3) == 0) {
		v->splat = 1;
		j += 3;
	} else if (j < n && line[j] == '-') {
		const char *end = memchr(line + j, '}', n - j);

		if (end == NULL)
			return 0;
		if (v->val == NULL) {
			v->val = line + j + 1;
			v->len = (size_t)(end - line) - j - 1;
		}
		j = (size_t)(end - line);
	}
	if (j >= n || line[j] != '}')
		return 0;
	return j + 1 - i;
}

/* Bytes the variables of line[0..n) may add, for the word storage. */
static size_t
conf_lex_var_room(const char *line, size_t n)
{
	struct lex_var v;
	size_t room = 0, k;

	for (size_t i = 0; i < n; i++) {
		if (line[i] == '$' && (k = conf_lex_var(line, n, i, &v)) > 0) {
			room += v.len;
			i += k - 1;
		}
	}
	return room;
}

/* The words being written: the line's storage and where it is. */
struct lex_out {
	struct conf_lex *lx;
	struct conf_line *line;
	size_t o;		/* next byte of lx->store */
	int inword;
	int quoted;		/* the word had quotes ... */
	int hadvar;		/* ... and a variable */
	char *err;
	size_t errlen;
};

static int
lex_word_start(struct lex_out *w)
{
	if (w->inword)
		return 0;
	if (w->line->argc == CONF_LEX_MAX_WORDS) {
		snprintf(w->err, w->errlen, "too many words on one line (at most %d)",
		    CONF_LEX_MAX_WORDS);
		return -1;
	}
	w->line->argv[w->line->argc++] = w->lx->store + w->o;
	w->inword = 1;
	w->quoted = w->hadvar = 0;
	return 0;
}

/* End the word; a quoted one that only an unset variable made is dropped. */
static void
lex_word_end(struct lex_out *w)
{
	if (!w->inword)
		return;
	if (w->quoted && w->hadvar && w->line->argv[w->line->argc - 1] == w->lx->store + w->o)
		w->line->argc--;
	else
		w->lx->store[w->o++] = '\0';
	w->inword = 0;
}

/* A variable's value; ${NAME[*]} inside double quotes is a word per part. */
static int
lex_put_var(struct lex_out *w, const struct lex_var *v, int dquoted)
{
	w->hadvar = 1;
	for (size_t k = 0; k < v->len; k++) {
		if (v->splat && dquoted && v->val[k] == ' ') {
			lex_word_end(w);
			if (lex_word_start(w) == -1)
				return -1;
			w->quoted = w->hadvar = 1;
			continue;
		}
		w->lx->store[w->o++] = v->val[k];
	}
	return 0;
}

/* Room in the word storage for line[0..n): the line and what its
 * variables add, twice (a kept escape writes two bytes for two, and each
 * word its NUL). */
static int
lex_reserve(struct conf_lex *lx, const char *line, size_t n, char *err, size_t errlen)
{
	size_t room = conf_lex_var_room(line, n), need;
	char *s;

	if (room > CONF_LEX_MAX_LINE) {
		snprintf(err, errlen, "line too long once its variables are expanded (at most %d "
		    "bytes of values)", CONF_LEX_MAX_LINE);
		return -1;
	}
	need = 2 * (n + room) + 2;
	if (lx->storecap >= need)
		return 0;
	if ((s = realloc(lx->store, need)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	lx->store = s;
	lx->storecap = need;
	return 0;
}

/* Split line[0..n) into words; returns 0 or -1 with err set. */
static int
conf_lex_split(struct conf_lex *lx, const char *line, size_t n,
    struct conf_line *out, char *err, size_t errlen)
{
	struct lex_out w = { lx, out, 0, 0, 0, 0, err, errlen };
	struct lex_var v;
	char quote = 0;
	size_t k;

	if (lex_reserve(lx, line, n, err, errlen) == -1)
		return -1;
	out->argc = 0;
	for (size_t i = 0; i < n; i++) {
		char ch = line[i];

		if (ch == '\0') {
			snprintf(err, errlen, "NUL byte in the line (offset %zu)", i);
			return -1;
		}
		if (ch == '$' && (k = conf_lex_var(line, n, i, &v)) == 0 && quote == '"') {
			size_t e = i;

			/* The line is not a C string: the reference ends at n too. */
			while (e < n && line[e] != '"' && line[e] != ' ' && line[e] != '\t')
				e++;
			snprintf(err, errlen, "%s in '%.*s' (offset %zu)", v.why, (int)(e - i),
			    line + i, i);
			return -1;
		}
		if (ch == '$' && k > 0) {
			if (lex_word_start(&w) == -1 || lex_put_var(&w, &v, quote == '"') == -1)
				return -1;
			w.quoted |= quote != 0;
			i += k - 1;
			continue;
		}
		if (quote != 0) {
			if (ch == quote) {
				quote = 0;
			} else if (quote == '"' && ch == '\\' && i + 1 < n) {
				int e = conf_lex_escape(line, n, &i, 1, lx->store + w.o, err, errlen);

				if (e < 0)
					return -1;
				w.o += (size_t)e;
			} else {
				lx->store[w.o++] = ch;
			}
			continue;
		}
		if (ch == ' ' || ch == '\t') {
			lex_word_end(&w);
			continue;
		}
		if (ch == '#')
			break;
		if (lex_word_start(&w) == -1)
			return -1;
		if (ch == '"' || ch == '\'') {
			quote = ch;
			w.quoted = 1;
		} else if (ch == '\\' && i + 1 < n) {
			int e = conf_lex_escape(line, n, &i, 0, lx->store + w.o, err, errlen);

			if (e < 0)
				return -1;
			w.o += (size_t)e;
		} else {
			lx->store[w.o++] = ch;
		}
	}
	if (quote) {
		snprintf(err, errlen, "unterminated %s quote",
		    quote == '"' ? "double" : "single");
		return -1;
	}
	lex_word_end(&w);
	out->argv[out->argc] = NULL;
	return 0;
}

int
conf_lex_next(struct conf_lex *lx, struct conf_line *line, char *err, size_t errlen)
{
	while (lx->pos < lx->len) {
		const char *start = lx->buf + lx->pos;
		const char *nl = memchr(start, '\n', lx->len - lx->pos);
		size_t n = nl != NULL ? (size_t)(nl - start) : lx->len - lx->pos;

		lx->pos += n + (nl != NULL);
		lx->lineno++;
		line->lineno = lx->lineno;
		if (n > 0 && start[n - 1] == '\r')
			n--;
		if (n > CONF_LEX_MAX_LINE) {
			snprintf(err, errlen, "line too long (%zu bytes, at most %d)",
			    n, CONF_LEX_MAX_LINE);
			return -1;
		}
		if (conf_lex_split(lx, start, n, line, err, errlen) == -1)
			return -1;
		if (line->argc > 0)
			return 1;
	}
	return 0;
}
