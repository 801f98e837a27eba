/*
 * conf_lex: words, quotes, '#' comments and line numbers.
 *
 * Rules, as HAProxy's: words are separated by spaces or tabs; "..." keeps
 * spaces and understands \" \\ \t \n \r; '...' keeps everything literally;
 * a backslash outside quotes escapes the next byte; '#' outside quotes
 * starts a comment. CRLF line ends are accepted, a UTF-8 byte order mark
 * at the start of the text is skipped, and a NUL byte is an error.
 */
#include "config.h"

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
 * '#', or a quote is that character, and any other escape is kept as
 * written (a regex's "\." stays one). Returns the bytes written to out, or
 * -1 with err set.
 */
static int
conf_lex_escape(const char *line, size_t n, size_t *i, char *out, char *err, size_t errlen)
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
	} else if (e == ' ' || e == '\\' || e == '#' || e == '"' || e == '\'') {
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

/* Split line[0..n) into words; returns 0 or -1 with err set. */
static int
conf_lex_split(struct conf_lex *lx, const char *line, size_t n,
    struct conf_line *out, char *err, size_t errlen)
{
	size_t i = 0, o = 0;
	char quote = 0;
	int inword = 0;

	/* Each word is at most as long as the line, plus one NUL per word. */
	if (lx->storecap < 2 * n + 2) {
		char *s = realloc(lx->store, 2 * n + 2);

		if (s == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		lx->store = s;
		lx->storecap = 2 * n + 2;
	}
	out->argc = 0;
	for (i = 0; i < n; i++) {
		char ch = line[i];

		if (ch == '\0') {
			snprintf(err, errlen, "NUL byte in the line (offset %zu)", i);
			return -1;
		}
		if (quote == '\'') {
			if (ch == '\'')
				quote = 0;
			else
				lx->store[o++] = ch;
			continue;
		}
		if (quote == '"') {
			if (ch == '"') {
				quote = 0;
			} else if (ch == '\\' && i + 1 < n) {
				int k = conf_lex_escape(line, n, &i, lx->store + o, err, errlen);

				if (k < 0)
					return -1;
				o += (size_t)k;
			} else {
				lx->store[o++] = ch;
			}
			continue;
		}
		if (ch == ' ' || ch == '\t') {
			if (inword) {
				lx->store[o++] = '\0';
				inword = 0;
			}
			continue;
		}
		if (ch == '#')
			break;
		if (!inword) {
			if (out->argc == CONF_LEX_MAX_WORDS) {
				snprintf(err, errlen, "too many words on one line (at most %d)",
				    CONF_LEX_MAX_WORDS);
				return -1;
			}
			out->argv[out->argc++] = lx->store + o;
			inword = 1;
		}
		if (ch == '"' || ch == '\'') {
			quote = ch;
		} else if (ch == '\\' && i + 1 < n) {
			int k = conf_lex_escape(line, n, &i, lx->store + o, err, errlen);

			if (k < 0)
				return -1;
			o += (size_t)k;
		} else {
			lx->store[o++] = ch;
		}
	}
	if (quote) {
		snprintf(err, errlen, "unterminated %s quote",
		    quote == '"' ? "double" : "single");
		return -1;
	}
	if (inword)
		lx->store[o++] = '\0';
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
