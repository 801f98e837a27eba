/*
 * units: parse and print the time, size and rate values of the
 * configuration grammar. Pure functions: no I/O, no globals,
 * so they are table-tested and fuzzed directly.
 *
 * Every parser returns 0 on success and -1 on failure, in which case a
 * sentence naming the problem is written into err (errlen bytes).
 */
#ifndef SPLICER_UNITS_H
#define SPLICER_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* Largest time accepted, in microseconds: 2^31-1 ms (~24.8 days), the
 * same ceiling as HAProxy so that a file valid for one is valid for both. */
#define UNITS_TIME_MAX_US ((uint64_t)INT32_MAX * 1000)

/* Time: digits followed by us|ms|s|m|h|d; bare digits are milliseconds.
 * The result is in microseconds. */
int units_parse_time(const char *s, uint64_t *us, char *err, size_t errlen);

/* Size: digits followed by k|m|g (1024-based, either case); bare digits
 * are bytes. */
int units_parse_size(const char *s, uint64_t *bytes, char *err, size_t errlen);

/* Rate: digits followed by bps|kbps|mbps|gbps (bits per second, 1000-based,
 * either case) or B|kB|MB|GB (bytes per second, 1000-based, case as
 * written). The result is in bits per second, which holds both forms
 * exactly. A zero rate or a unit-less number is refused. */
int units_parse_rate(const char *s, uint64_t *bps, char *err, size_t errlen);

/* The rate of bytes per period_us (> 0), in bits per second (0 when it
 * rounds to nothing, UINT64_MAX when it does not fit). */
uint64_t units_rate_bps(uint64_t bytes, uint64_t period_us);

/* Plain unsigned integer in [min, max]. */
int units_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out,
    char *err, size_t errlen);

/* Print a time in the largest unit that divides it exactly ("1500ms",
 * "3s"). Returns buf. */
char *units_print_time(uint64_t us, char *buf, size_t len);

#endif
