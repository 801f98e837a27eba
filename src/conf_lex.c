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
				char e = line[++i];

				lx->store[o++] = e == 't' ? '\t' : e == 'n' ? '\n' :
				    e == 'r' ? '\r' : e;
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
			lx->store[o++] = line[++i];
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
