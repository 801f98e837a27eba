/*
 * replay: a main() for a fuzz target without libFuzzer. It feeds every
 * file of the directories (or files) named on the command line to
 * LLVMFuzzerTestOneInput(), or, with no argument, the target's seed
 * corpus and regressions in the source tree, so that "make check" in
 * every build (the sanitizer one included) runs each input that was
 * ever interesting. A crash or a failed property ends the program
 * without its result line, which the test summary counts as a failure.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

/* Provided by the targets that need it; libFuzzer calls it the same way. */
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Feed one file; returns 0, or -1 when it cannot be read. */
static int
replay_file(const char *path)
{
	struct stat st;
	uint8_t *buf;
	size_t got = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 || fstat(fd, &st) == -1) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	/* One byte more than needed, so that an empty file is no NULL. */
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL)
		abort();
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);

		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	LLVMFuzzerTestOneInput(buf, got);
	free(buf);
	return 0;
}

/* Feed a file, or every regular file of a directory; returns the count
 * fed, or -1 when something cannot be read. */
static long
replay_path(const char *path, int missing_ok)
{
	struct dirent **ents;
	struct stat st;
	long n = 0;
	int k;

	if (stat(path, &st) == -1) {
		if (missing_ok && errno == ENOENT)
			return 0;
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return replay_file(path) == 0 ? 1 : -1;
	if ((k = scandir(path, &ents, NULL, alphasort)) == -1) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	for (int i = 0; i < k; i++) {
		char sub[4096];

		snprintf(sub, sizeof(sub), "%s/%s", path, ents[i]->d_name);
		if (ents[i]->d_name[0] != '.' && stat(sub, &st) == 0 && S_ISREG(st.st_mode)) {
			if (replay_file(sub) == -1)
				n = -1;
			else if (n >= 0)
				n++;
		}
		free(ents[i]);
	}
	free(ents);
	return n;
}

int
main(int argc, char **argv)
{
	long n, total = 0;

	if (LLVMFuzzerInitialize != NULL)
		LLVMFuzzerInitialize(&argc, &argv);
	if (argc > 1) {
		for (int i = 1; i < argc; i++) {
			if ((n = replay_path(argv[i], 0)) < 0)
				return 1;
			total += n;
		}
	} else {
		/* The seed corpus must hold something; regressions may be empty. */
		if ((n = replay_path(FUZZ_CORPUS, 0)) <= 0) {
			fprintf(stderr, "%s: no seed input\n", FUZZ_CORPUS);
			printf("0 passed, 1 failed\n");
			return 1;
		}
		total = n;
		if ((n = replay_path(FUZZ_REGRESSIONS, 1)) < 0)
			return 1;
		total += n;
	}
	printf("%s: %ld inputs replayed, no crash, every property held\n", argv[0], total);
	printf("1 passed, 0 failed\n");
	return 0;
}
