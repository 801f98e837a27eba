/*
 * units: time, size and rate values of the configuration grammar.
 *
 * The grammar only has whole numbers: "1.5s" is written "1500ms". Every
 * multiplication is checked for overflow so that "18446744073709551616"
 * or "99999999999999g" is an error naming the value, never a wrap.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "units.h"

/* One suffix and what it multiplies by. */
struct unit {
	const char *suffix;	/* as written after the digits */
	uint64_t mult;		/* multiplier into the base unit */
};

static const struct unit time_units[] = {
	{ "us", 1 },
	{ "ms", 1000 },
	{ "s",  1000000 },
	{ "m",  60ULL * 1000000 },
	{ "h",  3600ULL * 1000000 },
	{ "d",  86400ULL * 1000000 },
	{ "",   1000 },		/* bare number: milliseconds */
	{ NULL, 0 }
};

static const struct unit size_units[] = {
	{ "k", 1024ULL },
	{ "m", 1024ULL * 1024 },
	{ "g", 1024ULL * 1024 * 1024 },
	{ "",  1 },
	{ NULL, 0 }
};

/* Bits-per-second forms are matched without regard to case ("Mbps" is
 * common); byte forms are matched exactly because "kb" would be
 * ambiguous. Multipliers are into bits per second. */
static const struct unit rate_bit_units[] = {
	{ "bps",  1ULL },
	{ "kbps", 1000ULL },
	{ "mbps", 1000ULL * 1000 },
	{ "gbps", 1000ULL * 1000 * 1000 },
	{ NULL, 0 }
};

static const struct unit rate_byte_units[] = {
	{ "B",  8ULL },
	{ "kB", 8ULL * 1000 },
	{ "MB", 8ULL * 1000 * 1000 },
	{ "GB", 8ULL * 1000 * 1000 * 1000 },
	{ NULL, 0 }
};

/*
 * Read the leading digits of s into *val. Returns a pointer to the first
 * byte after them, or NULL (with err set) when there are none or the
 * number does not fit in 64 bits. A sign is never accepted.
 */
static const char *
units_digits(const char *s, const char *what, uint64_t *val, char *err,
    size_t errlen)
{
	uint64_t v = 0;
	const char *p = s;

	if (!isdigit((unsigned char)*p)) {
		if (*p == '-')
			snprintf(err, errlen, "%s '%s' must not be negative", what, s);
		else
			snprintf(err, errlen, "%s '%s' must start with a number", what, s);
		return NULL;
	}
	for (; isdigit((unsigned char)*p); p++) {
		unsigned int d = (unsigned int)(*p - '0');

		if (v > (UINT64_MAX - d) / 10) {
			snprintf(err, errlen, "%s '%s' is too large", what, s);
			return NULL;
		}
		v = v * 10 + d;
	}
	*val = v;
	return p;
}

/* Multiply with an overflow check; returns -1 on overflow. */
static int
units_mul(uint64_t a, uint64_t b, uint64_t *out)
{
	if (b != 0 && a > UINT64_MAX / b)
		return -1;
	*out = a * b;
	return 0;
}

static const struct unit *
units_find(const struct unit *tab, const char *suffix, int nocase)
{
	for (; tab->suffix != NULL; tab++) {
		if (nocase ? strcasecmp(tab->suffix, suffix) == 0
		    : strcmp(tab->suffix, suffix) == 0)
			return tab;
	}
	return NULL;
}

int
units_parse_time(const char *s, uint64_t *us, char *err, size_t errlen)
{
	const struct unit *u;
	const char *p;
	uint64_t v;

	if ((p = units_digits(s, "time", &v, err, errlen)) == NULL)
		return -1;
	if ((u = units_find(time_units, p, 0)) == NULL) {
		snprintf(err, errlen, "time '%s' has unknown unit '%s' "
		    "(expected us, ms, s, m, h or d)", s, p);
		return -1;
	}
	if (units_mul(v, u->mult, &v) == -1 || v > UNITS_TIME_MAX_US) {
		snprintf(err, errlen, "time '%s' is too large (at most %" PRId32 "ms)",
		    s, INT32_MAX);
		return -1;
	}
	*us = v;
	return 0;
}

int
units_parse_size(const char *s, uint64_t *bytes, char *err, size_t errlen)
{
	const struct unit *u;
	const char *p;
	uint64_t v;

	if ((p = units_digits(s, "size", &v, err, errlen)) == NULL)
		return -1;
	if ((u = units_find(size_units, p, 1)) == NULL) {
		snprintf(err, errlen, "size '%s' has unknown unit '%s' "
		    "(expected k, m or g)", s, p);
		return -1;
	}
	if (units_mul(v, u->mult, &v) == -1) {
		snprintf(err, errlen, "size '%s' is too large", s);
		return -1;
	}
	*bytes = v;
	return 0;
}

int
units_parse_rate(const char *s, uint64_t *bps, char *err, size_t errlen)
{
	const struct unit *u;
	const char *p;
	uint64_t v;

	if ((p = units_digits(s, "rate", &v, err, errlen)) == NULL)
		return -1;
	if (*p == '\0') {
		snprintf(err, errlen, "rate '%s' needs a unit "
		    "(bps, kbps, mbps, gbps for bits/s; B, kB, MB, GB for bytes/s)", s);
		return -1;
	}
	if ((u = units_find(rate_byte_units, p, 0)) == NULL &&
	    (u = units_find(rate_bit_units, p, 1)) == NULL) {
		snprintf(err, errlen, "rate '%s' has unknown unit '%s' "
		    "(bps, kbps, mbps, gbps for bits/s; B, kB, MB, GB for bytes/s)", s, p);
		return -1;
	}
	if (v == 0) {
		snprintf(err, errlen, "rate '%s' must be greater than zero", s);
		return -1;
	}
	if (units_mul(v, u->mult, &v) == -1) {
		snprintf(err, errlen, "rate '%s' is too large", s);
		return -1;
	}
	*bps = v;
	return 0;
}

int
units_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out,
    char *err, size_t errlen)
{
	const char *p;
	uint64_t v;

	if ((p = units_digits(s, "number", &v, err, errlen)) == NULL)
		return -1;
	if (*p != '\0') {
		snprintf(err, errlen, "'%s' is not a whole number", s);
		return -1;
	}
	if (v < min || v > max) {
		snprintf(err, errlen, "%s is out of range [%" PRIu64 "..%" PRIu64 "]",
		    s, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

char *
units_print_time(uint64_t us, char *buf, size_t len)
{
	/* Largest first; "" (the bare-millisecond entry) is skipped. */
	static const struct unit order[] = {
		{ "d", 86400ULL * 1000000 }, { "h", 3600ULL * 1000000 },
		{ "m", 60ULL * 1000000 }, { "s", 1000000 }, { "ms", 1000 },
		{ "us", 1 }, { NULL, 0 }
	};
	const struct unit *u;

	for (u = order; u->suffix != NULL; u++) {
		if (us != 0 && us % u->mult == 0)
			break;
	}
	if (u->suffix == NULL)
		snprintf(buf, len, "0ms");
	else
		snprintf(buf, len, "%" PRIu64 "%s", us / u->mult, u->suffix);
	return buf;
}

uint64_t
units_rate_bps(uint64_t bytes, uint64_t period_us)
{
	unsigned __int128 r = (unsigned __int128)bytes * 8000000 / period_us;

	return r > UINT64_MAX ? UINT64_MAX : (uint64_t)r;
}
