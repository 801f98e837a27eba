/*
 * pidfile: see pidfile.h. The file is truncated only once the lock is
 * ours, so that a refused second instance leaves the first one's pid in
 * place. The descriptor stays open (and the lock held) until exit; a
 * fork keeps it, the lock being the open file's.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "log.h"
#include "pidfile.h"

static int pidfile_fd = -1;
static const char *pidfile_path;

int
pidfile_lock(const char *path, char *err, size_t errlen)
{
	char other[32] = "";
	ssize_t n;

	if (path == NULL)
		return 0;
	if ((pidfile_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) == -1) {
		log_warning("cannot write pidfile %s: %s", path, strerror(errno));
		return 1;
	}
	if (flock(pidfile_fd, LOCK_EX | LOCK_NB) == -1) {
		int e = errno;

		if ((n = pread(pidfile_fd, other, sizeof(other) - 1, 0)) > 0)
			other[strcspn(other, "\n")] = '\0';
		if (e == EWOULDBLOCK)
			snprintf(err, errlen, "pidfile %s is locked by pid %s: another splicer "
			    "runs with it (stop it, or give this one its own pidfile)", path,
			    other[0] != '\0' ? other : "(unknown)");
		else
			snprintf(err, errlen, "pidfile %s: cannot lock it: %s", path, strerror(e));
		close(pidfile_fd);
		pidfile_fd = -1;
		return -1;
	}
	pidfile_path = path;
	return 0;
}

void
pidfile_write(void)
{
	char buf[32];
	int n;

	if (pidfile_fd == -1)
		return;
	n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (ftruncate(pidfile_fd, 0) == -1 || pwrite(pidfile_fd, buf, (size_t)n, 0) != n)
		log_warning("cannot write pidfile %s: %s", pidfile_path, strerror(errno));
}
