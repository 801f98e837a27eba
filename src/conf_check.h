/*
 * conf_check: what can only be judged once every file is read: backend
 * references, duplicate names and addresses, missing pieces, and (when
 * asked) host name resolution. Reports every problem, not the first.
 */
#ifndef SPLICER_CONF_CHECK_H
#define SPLICER_CONF_CHECK_H

#include "conf.h"

/* Flags of conf_check(). */
#define CONF_CHECK_F_RESOLVE 0x1	/* resolve host names (start-up, -c); not when fuzzing */

/* Returns the number of errors appended to errs. */
int conf_check(struct conf *c, int flags, struct conf_msgs *errs, struct conf_msgs *warns);

#endif
