/*
 * priv: give up root after binding (and, later, loading BPF): chroot,
 * no supplementary groups, group, user, no new privileges.
 */
#ifndef SPLICER_PRIV_H
#define SPLICER_PRIV_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Apply what the configuration asks: chroot_dir may be NULL, uid/gid -1
 * to keep. Returns 0, or -1 with a sentence in err (nothing half-done is
 * left running: the caller exits).
 */
int priv_drop(const char *chroot_dir, uid_t uid, gid_t gid, char *err, size_t errlen);

/* How the user is changed, for splicer -V. */
const char *priv_build(void);

#endif
