/*
 * priv: dropping privileges, in the order that keeps each step possible:
 * chroot needs root, setgroups/setgid need root, setuid comes last.
 *
 * With libcap-ng, the change of user keeps one capability,
 * CAP_NET_BIND_SERVICE (and nothing else, the bounding set included), so
 * that a reload can still open a port below 1024, as HAProxy and nginx
 * can; without it, the new user has none.
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#ifdef HAVE_LIBCAP_NG
#include <cap-ng.h>
#include <linux/capability.h>
#endif

#include "priv.h"

const char *
priv_build(void)
{
#ifdef HAVE_LIBCAP_NG
	return "libcap-ng (user keeps CAP_NET_BIND_SERVICE)";
#else
	return "built without libcap-ng (user drops every capability)";
#endif
}

#ifdef HAVE_LIBCAP_NG
/* setgroups, setgid and setuid in one, with CAP_NET_BIND_SERVICE kept. */
static int
priv_change_id(uid_t uid, gid_t gid, char *err, size_t errlen)
{
	int rc;

	capng_clear(CAPNG_SELECT_BOTH);
	if (capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED | CAPNG_BOUNDING_SET,
	    CAP_NET_BIND_SERVICE) == -1) {
		snprintf(err, errlen, "libcap-ng: cannot select CAP_NET_BIND_SERVICE");
		return -1;
	}
	if ((rc = capng_change_id((int)uid, gid == (gid_t)-1 ? -1 : (int)gid,
	    CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_BOUNDING)) != 0) {
		snprintf(err, errlen, "cannot change to user id %u keeping CAP_NET_BIND_SERVICE "
		    "(libcap-ng: step %d failed: %s)", (unsigned int)uid, rc, strerror(errno));
		return -1;
	}
	return 0;
}
#endif

int
priv_drop(const char *chroot_dir, uid_t uid, gid_t gid, char *err, size_t errlen)
{
	int changed = 0;	/* groups, group and user changed already */

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
#ifdef HAVE_LIBCAP_NG
	if (uid != (uid_t)-1) {
		if (priv_change_id(uid, gid, err, errlen) == -1)
			return -1;
		changed = 1;
	}
#endif
	if (!changed && (gid != (gid_t)-1 || uid != (uid_t)-1)) {
		/* No supplementary group of root's may survive the drop. */
		if (setgroups(0, NULL) == -1) {
			snprintf(err, errlen, "setgroups: %s", strerror(errno));
			return -1;
		}
	}
	if (!changed && gid != (gid_t)-1 && setresgid(gid, gid, gid) == -1) {
		snprintf(err, errlen, "cannot change to group id %u: %s", (unsigned int)gid,
		    strerror(errno));
		return -1;
	}
	if (uid != (uid_t)-1) {
		if (!changed && setresuid(uid, uid, uid) == -1) {
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
