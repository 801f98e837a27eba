/*
 * fuzz_units: the time, size, rate and integer parsers of the grammar on
 * any string. Beyond not crashing: a time is within UNITS_TIME_MAX_US and
 * prints (units_print_time) to a string that parses back to it; an
 * integer is within the bounds asked; a failure always says why.
 */
#include "config.h"

#include <string.h>

#include "fuzz.h"
#include "units.h"

static void
fuzz_failed(int rc, const char *err)
{
	if (rc == -1)
		FUZZ_ASSERT(err[0] != '\0');
	else
		FUZZ_ASSERT(rc == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_strndup(data, size), err[512], buf[64];
	uint64_t v, again, lo, hi;
	int rc;

	err[0] = '\0';
	rc = units_parse_time(s, &v, err, sizeof(err));
	fuzz_failed(rc, err);
	if (rc == 0) {
		FUZZ_ASSERT(v <= UNITS_TIME_MAX_US);
		units_print_time(v, buf, sizeof(buf));
		FUZZ_ASSERT(units_parse_time(buf, &again, err, sizeof(err)) == 0 && again == v);
	}
	err[0] = '\0';
	fuzz_failed(units_parse_size(s, &v, err, sizeof(err)), err);
	err[0] = '\0';
	rc = units_parse_rate(s, &v, err, sizeof(err));
	fuzz_failed(rc, err);
	if (rc == 0)
		FUZZ_ASSERT(v > 0);
	/* Bounds from the input's first bytes, the number from the rest. */
	lo = size > 0 ? data[0] : 0;
	hi = size > 1 ? lo + ((uint64_t)data[1] << 8) : UINT64_MAX;
	err[0] = '\0';
	rc = units_parse_uint(size > 2 ? s + 2 : s, lo, hi, &v, err, sizeof(err));
	fuzz_failed(rc, err);
	if (rc == 0)
		FUZZ_ASSERT(v >= lo && v <= hi);
	free(s);
	return 0;
}
