/*
 * splicerctl: send one command to splicer's admin socket and print the
 * answer.
 *
 *   splicerctl [-s SOCKET] COMMAND...
 *   splicerctl top [-f STATSFILE] [-n FRAMES]
 *
 * The words are joined with blanks into one line; the blank line that ends
 * splicer's answer is not printed. Exit status: 0, 1 when
 * the answer reports an error ("error: ..."), 2 when splicer could not be
 * reached or the command line is wrong.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "splicerctl.h"

#define CTL_DEFAULT_SOCKET "/run/splicer/admin.sock"
#define CTL_DEFAULT_STATS "/run/splicer/stats"
#define CTL_LINE_MAX 4096

static void
usage(FILE *f)
{
	fprintf(f, "usage: splicerctl [-s SOCKET] COMMAND...\n"
	    "       splicerctl top [-f STATSFILE] [-n FRAMES]\n"
	    "  -s SOCKET     the admin socket (\"stats socket\" in the configuration);\n"
	    "                default $SPLICER_SOCKET, else " CTL_DEFAULT_SOCKET "\n"
	    "  -f STATSFILE  the stats file (\"stats file\"); default $SPLICER_STATS_FILE,\n"
	    "                else " CTL_DEFAULT_STATS "\n"
	    "  -n FRAMES     draw that many frames, then exit (default: until q)\n"
	    "  'splicerctl help' lists the commands.\n");
}

/* Write all of buf. */
static int
ctl_write(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* "top [-f STATSFILE] [-n FRAMES]" */
static int
ctl_main_top(int argc, char **argv)
{
	const char *path = getenv("SPLICER_STATS_FILE");
	long frames = 0;
	char *end;
	int opt;

	optind = 1;
	while ((opt = getopt(argc, argv, "f:n:")) != -1) {
		switch (opt) {
		case 'f':
			path = optarg;
			break;
		case 'n':
			frames = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || frames < 1 || frames > 1000000) {
				fprintf(stderr, "splicerctl: -n expects a count of frames\n");
				return 2;
			}
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	return ctl_top(path != NULL ? path : CTL_DEFAULT_STATS, (int)frames);
}

int
main(int argc, char **argv)
{
	const char *path = getenv("SPLICER_SOCKET");
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char line[CTL_LINE_MAX + 2], buf[65536];
	size_t len = 0;
	int opt, fd, error = 0, m = 0;	/* m: chars of "error: " matched on this line */
	int held = 0, last = '\n';	/* a newline not printed yet; the last one printed */
	ssize_t n;

	while ((opt = getopt(argc, argv, "+s:h")) != -1) {
		switch (opt) {
		case 's':
			path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[optind], "top") == 0)
		return ctl_main_top(argc - optind, argv + optind);
	if (path == NULL)
		path = CTL_DEFAULT_SOCKET;
	for (int i = optind; i < argc; i++) {
		size_t w = strlen(argv[i]);

		if (strchr(argv[i], '\n') != NULL || len + w + 1 > CTL_LINE_MAX) {
			fprintf(stderr, "splicerctl: the command is longer than %d bytes or has a "
			    "newline\n", CTL_LINE_MAX);
			return 2;
		}
		if (len > 0)
			line[len++] = ' ';
		memcpy(line + len, argv[i], w);
		len += w;
	}
	line[len++] = '\n';
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "splicerctl: socket path too long: %s\n", path);
		return 2;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		fprintf(stderr, "splicerctl: cannot reach splicer at %s: %s\n", path,
		    strerror(errno));
		return 2;
	}
	if (ctl_write(fd, line, len) == -1) {
		fprintf(stderr, "splicerctl: sending to %s: %s\n", path, strerror(errno));
		return 2;
	}
	/* The answer, to the end: note any line that reports an error. */
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			fprintf(stderr, "splicerctl: reading from %s: %s\n", path, strerror(errno));
			return 2;
		}
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\n')
				m = 0;
			else if (m >= 0 && m < 7)
				m = buf[i] == "error: "[m] ? m + 1 : -1;
			if (m == 7)
				error = 1;
		}
		/* The blank line that ends an answer is the protocol's, not
		 * the command's: the last newline waits to be known. */
		if ((held && fputc('\n', stdout) == EOF) ||
		    fwrite(buf, 1, (size_t)n - 1, stdout) != (size_t)n - 1)
			return 2;
		if (held || n > 1)
			last = n > 1 ? buf[n - 2] : '\n';
		held = buf[n - 1] == '\n';
		if (!held && fputc(buf[n - 1], stdout) == EOF)
			return 2;
		if (!held)
			last = buf[n - 1];
	}
	if (held && last != '\n')
		fputc('\n', stdout);
	close(fd);
	return error;
}
