/*
 * priv: dropping privileges, in the order that keeps each step possible:
 * chroot needs root, setgroups/setgid need root, setuid comes last.
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "priv.h"

int
priv_drop(const char *chroot_dir, uid_t uid, gid_t gid, char *err, size_t errlen)
{
	if ((chroot_dir != NULL || uid != (uid_t)-1 || gid != (gid_t)-1) && geteuid() != 0) {
		snprintf(err, errlen, "user, group and chroot need splicer to start as root "
		    "(running as uid %u)", (unsigned int)geteuid());
		return -1;
	}
	if (chroot_dir != NULL) {
		if (chdir(chroot_dir) == -1 || chroot(".") == -1 || chdir("/") == -1) {
			snprintf(err, errlen, "chroot %s: %s", chroot_dir, strerror(errno));
			return -1;
		}
	}
	if (gid != (gid_t)-1 || uid != (uid_t)-1) {
		/* No supplementary group of root's may survive the drop. */
		if (setgroups(0, NULL) == -1) {
			snprintf(err, errlen, "setgroups: %s", strerror(errno));
			return -1;
		}
	}
	if (gid != (gid_t)-1 && setresgid(gid, gid, gid) == -1) {
		snprintf(err, errlen, "cannot change to group id %u: %s", (unsigned int)gid,
		    strerror(errno));
		return -1;
	}
	if (uid != (uid_t)-1) {
		if (setresuid(uid, uid, uid) == -1) {
			snprintf(err, errlen, "cannot change to user id %u: %s", (unsigned int)uid,
			    strerror(errno));
			return -1;
		}
		/* Paranoia: the drop must not be undoable. */
		if (uid != 0 && setuid(0) == 0) {
			snprintf(err, errlen, "could regain root after dropping to user id %u",
			    (unsigned int)uid);
			return -1;
		}
	}
	/* Nothing exec'd from here may gain privileges (splicer execs nothing). */
	(void)prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	return 0;
}
