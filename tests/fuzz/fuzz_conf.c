/*
 * fuzz_conf: a whole configuration file, as "splicer -c" reads it, from a
 * memory buffer: parse, check, free. The check runs without
 * CONF_CHECK_F_RESOLVE, so no host name, user or group is looked up and
 * nothing touches the network. Beyond not crashing or leaking: every
 * error and warning is a "file:line: message" naming the file, and the
 * errors counted are the errors listed.
 */
#include "config.h"

#include <string.h>

#include "conf.h"
#include "conf_check.h"
#include "conf_parse.h"
#include "fuzz.h"

#define FUZZ_FILE "fuzz.cfg"

static void
fuzz_msgs_named(const struct conf_msgs *m)
{
	for (int i = 0; i < m->n; i++) {
		FUZZ_ASSERT(m->msg[i] != NULL && m->msg[i][0] != '\0');
		FUZZ_ASSERT(strncmp(m->msg[i], FUZZ_FILE, strlen(FUZZ_FILE)) == 0 ||
		    strncmp(m->msg[i], "tune.", 5) == 0);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf_msgs errs = { 0 }, warns = { 0 };
	struct conf *c = conf_new();
	int nerr;

	FUZZ_ASSERT(c != NULL);
	nerr = conf_parse_buffer(c, FUZZ_FILE, (const char *)data, size, &errs, &warns);
	FUZZ_ASSERT(nerr >= 0 && nerr <= errs.n);
	if (nerr == 0)
		nerr = conf_check(c, 0, &errs, &warns);
	FUZZ_ASSERT(nerr <= errs.n);
	fuzz_msgs_named(&errs);
	fuzz_msgs_named(&warns);
	conf_msgs_free(&errs);
	conf_msgs_free(&warns);
	conf_free(c);
	return 0;
}
