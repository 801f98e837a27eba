/*
 * conf_lex: split configuration text into lines of words. Pure: it works
 * on a memory buffer and never opens a file.
 */
#ifndef SPLICER_CONF_LEX_H
#define SPLICER_CONF_LEX_H

#include <stddef.h>

/* Words a line may hold, as HAProxy's MAX_LINE_ARGS. */
#define CONF_LEX_MAX_WORDS 64
/* Longest line accepted, in bytes. */
#define CONF_LEX_MAX_LINE 65536

struct conf_lex {
	const char *buf;	/* whole text, not NUL-terminated */
	size_t len;
	size_t pos;		/* start of the next line */
	int lineno;		/* number of the line last returned, from 1 */
	char *store;		/* word storage for the current line */
	size_t storecap;
};

/* One line split into words; argv points into the lexer's storage and is
 * valid until the next call. */
struct conf_line {
	int lineno;
	int argc;
	char *argv[CONF_LEX_MAX_WORDS + 1];
};

void conf_lex_init(struct conf_lex *lx, const char *buf, size_t len);
void conf_lex_free(struct conf_lex *lx);

/*
 * Return the next line with at least one word: 1 and *line filled,
 * 0 at the end of the text, or -1 when that line is malformed (err holds
 * the reason, line->lineno its number; the caller may go on).
 */
int conf_lex_next(struct conf_lex *lx, struct conf_line *line, char *err, size_t errlen);

#endif
