/*
 * fuzz: what every fuzz target shares. A target defines
 * LLVMFuzzerTestOneInput(); libFuzzer drives it in a --enable-fuzzing
 * build, and replay.c feeds it the seed corpus and the regressions in
 * every build (make check). A property that does not hold aborts, so
 * both drivers report it as a crash with the input that broke it.
 */
#ifndef SPLICER_FUZZ_H
#define SPLICER_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Abort with the property that failed: libFuzzer saves the input. */
#define FUZZ_ASSERT(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: property failed: %s\n",		\
		    __FILE__, __LINE__, #cond);				\
		abort();						\
	}								\
} while (0)

/* The input as a NUL-terminated string (a NUL inside ends it); free() it. */
static inline char *
fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		abort();
	for (size_t i = 0; i < size; i++)
		s[i] = (char)data[i];
	s[size] = '\0';
	return s;
}

#endif
