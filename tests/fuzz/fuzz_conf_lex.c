/*
 * fuzz_conf_lex: the configuration lexer on any bytes. Beyond not
 * crashing: line numbers only grow, no line has more words than allowed
 * or more word bytes than it has bytes, and each good line written back
 * with every word double-quoted lexes to the same words. The environment
 * holds one variable, shorter than any reference to it, so that expanding
 * never grows a line.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "conf_lex.h"
#include "fuzz.h"

/* Write words as one line, each in "..." with \ " $ and control bytes
 * escaped; returns its length, or 0 when it does not fit. */
static size_t
fuzz_quote(const struct conf_line *line, char *out, size_t cap)
{
	size_t o = 0;

	for (int i = 0; i < line->argc; i++) {
		if (o + 3 > cap)
			return 0;
		out[o++] = i > 0 ? ' ' : '"';
		if (i > 0)
			out[o++] = '"';
		for (const char *p = line->argv[i]; *p != '\0'; p++) {
			const char *esc = *p == '\\' ? "\\\\" : *p == '"' ? "\\\"" :
			    *p == '$' ? "\\$" : *p == '\n' ? "\\n" : *p == '\r' ? "\\r" :
			    *p == '\t' ? "\\t" : NULL;

			if (o + 4 > cap)
				return 0;
			if (esc != NULL) {
				memcpy(out + o, esc, 2);
				o += 2;
			} else {
				out[o++] = *p;
			}
		}
		out[o++] = '"';
	}
	return o;
}

/* The quoted form of a good line lexes to the same words. */
static void
fuzz_requote(const struct conf_line *line)
{
	static char text[2 * CONF_LEX_MAX_LINE + 8];
	struct conf_lex lx;
	struct conf_line again;
	char err[256];
	size_t n = fuzz_quote(line, text, sizeof(text));

	if (n == 0 || n > CONF_LEX_MAX_LINE)
		return;
	conf_lex_init(&lx, text, n);
	FUZZ_ASSERT(conf_lex_next(&lx, &again, err, sizeof(err)) == 1);
	FUZZ_ASSERT(again.argc == line->argc);
	for (int i = 0; i < line->argc; i++)
		FUZZ_ASSERT(strcmp(again.argv[i], line->argv[i]) == 0);
	FUZZ_ASSERT(conf_lex_next(&lx, &again, err, sizeof(err)) == 0);
	conf_lex_free(&lx);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf_lex lx;
	struct conf_line line;
	char err[256];
	int rc, last = 0;
	size_t nl = 0;
	static int env_set;

	if (!env_set) {
		clearenv();
		setenv("V", "a", 1);
		env_set = 1;
	}
	for (size_t i = 0; i < size; i++)
		nl += data[i] == '\n';
	conf_lex_init(&lx, (const char *)data, size);
	while ((rc = conf_lex_next(&lx, &line, err, sizeof(err))) != 0) {
		FUZZ_ASSERT(line.lineno > last && (size_t)line.lineno <= nl + 1);
		last = line.lineno;
		if (rc == -1) {
			FUZZ_ASSERT(err[0] != '\0' && strlen(err) < sizeof(err));
			continue;
		}
		FUZZ_ASSERT(rc == 1 && line.argc >= 1 && line.argc <= CONF_LEX_MAX_WORDS);
		FUZZ_ASSERT(line.argv[line.argc] == NULL);
		size_t bytes = 0;

		for (int i = 0; i < line.argc; i++)
			bytes += strlen(line.argv[i]);
		FUZZ_ASSERT(bytes <= size);
		fuzz_requote(&line);
	}
	conf_lex_free(&lx);
	return 0;
}
