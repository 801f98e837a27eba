/*
 * pidfile: the -p / "pidfile" file, locked (flock) for the process's
 * life so that a second splicer started with the same pidfile is refused
 * instead of overwriting it and sharing the ports.
 */
#ifndef SPLICER_PIDFILE_H
#define SPLICER_PIDFILE_H

#include <stddef.h>

/*
 * Open and lock path (NULL: nothing to do). Returns 0; 1 when it cannot
 * be opened (a warning, as an unwritable pidfile always was); -1 when
 * another process holds the lock, with its pid in err.
 */
int pidfile_lock(const char *path, char *err, size_t errlen);

/* Write this process's id into the locked file (after daemonizing). */
void pidfile_write(void);

#endif
