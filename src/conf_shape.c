/*
 * conf_shape: parse the shaping lines into shaper groups and rules.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "conf_shape.h"
#include "units.h"

/* "burst SIZE" at argv[*i]: 0, or -1 with err set. */
static int
conf_shape_burst(int argc, char **argv, int *i, uint64_t *burst, char *err, size_t errlen)
{
	char uerr[256];

	if (*i + 1 >= argc) {
		snprintf(err, errlen, "'burst' expects a size");
		return -1;
	}
	if (units_parse_size(argv[*i + 1], burst, uerr, sizeof(uerr)) == -1) {
		snprintf(err, errlen, "burst: %s", uerr);
		return -1;
	}
	if (*burst == 0 || *burst > SHAPER_BURST_MAX) {
		snprintf(err, errlen, "burst '%s' must be between 1 byte and 1024g", argv[*i + 1]);
		return -1;
	}
	*i += 2;
	return 0;
}

static int
conf_shape_rate_arg(const char *what, const char *s, uint64_t *rate, char *err, size_t errlen)
{
	char uerr[256];

	if (units_parse_rate(s, rate, uerr, sizeof(uerr)) == -1) {
		snprintf(err, errlen, "'%s': %s", what, uerr);
		return -1;
	}
	return 0;
}

struct shaper_group *
conf_shape_limit(int argc, char **argv, int line, char *err, size_t errlen)
{
	enum shaper_mode mode = SHAPER_PER_CONN;
	uint64_t rate, burst = 0;
	int dir, mode_set = 0;
	struct shaper_group *g;

	if (argc < 3 || (strcmp(argv[1], "upload") != 0 && strcmp(argv[1], "download") != 0)) {
		snprintf(err, errlen, "'bandwidth-limit' expects 'upload|download RATE [burst SIZE] "
		    "[per-connection|per-source|shared]'%s", argc >= 2 &&
		    strcmp(argv[1], "total") == 0 ? " ('total' belongs in section 'global')" : "");
		return NULL;
	}
	dir = strcmp(argv[1], "upload") == 0 ? SHAPER_UP : SHAPER_DOWN;
	if (conf_shape_rate_arg("bandwidth-limit", argv[2], &rate, err, errlen) == -1)
		return NULL;
	for (int i = 3; i < argc;) {
		if (strcmp(argv[i], "burst") == 0) {
			if (conf_shape_burst(argc, argv, &i, &burst, err, errlen) == -1)
				return NULL;
			continue;
		}
		if (mode_set) {
			snprintf(err, errlen, "'bandwidth-limit': unexpected '%s'", argv[i]);
			return NULL;
		}
		if (strcmp(argv[i], "per-connection") == 0)
			mode = SHAPER_PER_CONN;
		else if (strcmp(argv[i], "per-source") == 0)
			mode = SHAPER_PER_SOURCE;
		else if (strcmp(argv[i], "shared") == 0)
			mode = SHAPER_SHARED;
		else {
			snprintf(err, errlen, "'bandwidth-limit': unknown option '%s' (expected burst "
			    "SIZE, per-connection, per-source or shared)", argv[i]);
			return NULL;
		}
		mode_set = 1;
		i++;
	}
	if ((g = shaper_group_new(dir, mode, rate, burst, 0, NULL, line)) == NULL)
		snprintf(err, errlen, "out of memory");
	return g;
}

int
conf_shape_total(int argc, char **argv, int line, struct shaper_group **up,
    struct shaper_group **down, char *err, size_t errlen)
{
	uint64_t rate, burst = 0;

	if (argc < 3 || strcmp(argv[1], "total") != 0) {
		snprintf(err, errlen, "'bandwidth-limit' in section 'global' expects 'total RATE "
		    "[burst SIZE]'");
		return -1;
	}
	if (conf_shape_rate_arg("bandwidth-limit total", argv[2], &rate, err, errlen) == -1)
		return -1;
	for (int i = 3; i < argc;) {
		if (strcmp(argv[i], "burst") != 0) {
			snprintf(err, errlen, "'bandwidth-limit total': unexpected '%s' (expected "
			    "burst SIZE)", argv[i]);
			return -1;
		}
		if (conf_shape_burst(argc, argv, &i, &burst, err, errlen) == -1)
			return -1;
	}
	*up = shaper_group_new(SHAPER_UP, SHAPER_SHARED, rate, burst, 0, NULL, line);
	*down = shaper_group_new(SHAPER_DOWN, SHAPER_SHARED, rate, burst, 0, NULL, line);
	if (*up == NULL || *down == NULL) {
		shaper_group_free_list(*up);
		shaper_group_free_list(*down);
		*up = *down = NULL;
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* A size or time option's value: 0, or -1 with err set. */
static int
conf_shape_value(int argc, char **argv, int i, int is_time, uint64_t *v, char *err,
    size_t errlen)
{
	char uerr[256];

	if (i + 1 >= argc) {
		snprintf(err, errlen, "'%s' expects a %s", argv[i], is_time ? "time" : "size");
		return -1;
	}
	if ((is_time ? units_parse_time(argv[i + 1], v, uerr, sizeof(uerr)) :
	    units_parse_size(argv[i + 1], v, uerr, sizeof(uerr))) == -1) {
		snprintf(err, errlen, "'%s': %s", argv[i], uerr);
		return -1;
	}
	if (*v == 0) {
		snprintf(err, errlen, "'%s %s' must be greater than zero", argv[i], argv[i + 1]);
		return -1;
	}
	return 0;
}

struct shaper_group *
conf_shape_filter(int argc, char **argv, int line, char *err, size_t errlen)
{
	uint64_t limit = 0, period = 0, min_size = 0, rate;
	int dir, per_stream = 0, shared = 0, keyed = 0;
	const char *table = NULL;
	struct shaper_group *g;

	if (argc < 2 || (strcmp(argv[1], "bwlim-in") != 0 && strcmp(argv[1], "bwlim-out") != 0)) {
		snprintf(err, errlen, "'filter %s' is not supported (supported: bwlim-in, "
		    "bwlim-out)", argc < 2 ? "" : argv[1]);
		return NULL;
	}
	dir = strcmp(argv[1], "bwlim-in") == 0 ? SHAPER_UP : SHAPER_DOWN;
	if (argc < 3) {
		snprintf(err, errlen, "'filter %s' expects a name", argv[1]);
		return NULL;
	}
	for (int i = 3; i < argc; i += 2) {
		const char *o = argv[i];
		int is_stream = strcmp(o, "default-limit") == 0 || strcmp(o, "default-period") == 0;
		int is_shared = strcmp(o, "limit") == 0 || strcmp(o, "key") == 0 ||
		    strcmp(o, "table") == 0;

		if ((is_stream && shared) || (is_shared && per_stream)) {
			snprintf(err, errlen, "'filter %s %s': '%s' cannot be mixed with %s", argv[1],
			    argv[2], o, shared ? "limit/key (shared)" : "default-limit/default-period "
			    "(per session)");
			return NULL;
		}
		per_stream |= is_stream;
		shared |= is_shared;
		if (strcmp(o, "default-limit") == 0 || strcmp(o, "limit") == 0) {
			if (conf_shape_value(argc, argv, i, 0, &limit, err, errlen) == -1)
				return NULL;
		} else if (strcmp(o, "default-period") == 0 || strcmp(o, "period") == 0) {
			if (conf_shape_value(argc, argv, i, 1, &period, err, errlen) == -1)
				return NULL;
		} else if (strcmp(o, "min-size") == 0) {
			if (conf_shape_value(argc, argv, i, 0, &min_size, err, errlen) == -1)
				return NULL;
		} else if (strcmp(o, "key") == 0) {
			if (i + 1 >= argc || strcmp(argv[i + 1], "src") != 0) {
				snprintf(err, errlen, "'filter %s %s': only 'key src' is supported", argv[1],
				    argv[2]);
				return NULL;
			}
			keyed = 1;
		} else if (strcmp(o, "table") == 0) {
			if (i + 1 >= argc) {
				snprintf(err, errlen, "'filter %s %s': 'table' expects a section name",
				    argv[1], argv[2]);
				return NULL;
			}
			table = argv[i + 1];
		} else {
			snprintf(err, errlen, "'filter %s %s': unknown option '%s'", argv[1], argv[2], o);
			return NULL;
		}
	}
	if (shared && !keyed) {
		snprintf(err, errlen, "'filter %s %s': a shared limit needs 'key src'", argv[1], argv[2]);
		return NULL;
	}
	if (shared && period != 0 && table != NULL) {
		snprintf(err, errlen, "'filter %s %s': give 'period' or 'table', not both: the "
		    "period of a table is that of its %s", argv[1], argv[2],
		    dir == SHAPER_UP ? "bwlim_in_rate(P)" : "bwlim_out_rate(P)");
		return NULL;
	}
	if (shared && limit != 0 && period == 0) {
		/* HAProxy's form: the period is the table's (conf_check). */
		if ((g = shaper_group_new(dir, SHAPER_PER_SOURCE, 1, 0, min_size, argv[2],
		    line)) == NULL || (table != NULL && (g->stick_name = strdup(table)) == NULL)) {
			shaper_group_free_list(g);
			snprintf(err, errlen, "out of memory");
			return NULL;
		}
		g->stick_form = 1;
		g->fl_limit = limit;
		return g;
	}
	if (limit == 0 || period == 0) {
		snprintf(err, errlen, "'filter %s %s' needs %s", argv[1], argv[2], shared ?
		    "'limit SIZE key src [period TIME | table NAME]'" : "'default-limit SIZE default-period TIME'");
		return NULL;
	}
	if ((rate = units_rate_bps(limit, period)) == 0) {
		snprintf(err, errlen, "'filter %s %s': the limit per period is below 1 bit per second",
		    argv[1], argv[2]);
		return NULL;
	}
	if ((g = shaper_group_new(dir, shared ? SHAPER_PER_SOURCE : SHAPER_PER_CONN, rate, 0,
	    min_size, argv[2], line)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	g->fl_limit = limit;
	g->fl_period = period;
	return g;
}

struct shaper_rule *
conf_shape_rule(int argc, char **argv, int line, int *used, char *err, size_t errlen)
{
	struct shaper_rule *r;
	int i = 3;

	/* argv: tcp-request content set-bandwidth-limit NAME ... */
	if (argc < 4) {
		snprintf(err, errlen, "'set-bandwidth-limit' expects a bwlim filter name");
		return NULL;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL || (r->name = strdup(argv[3])) == NULL) {
		free(r);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->line = line;
	for (i = 4; i < argc; i += 2) {
		if (strcmp(argv[i], "limit") == 0) {
			if (conf_shape_value(argc, argv, i, 0, &r->limit, err, errlen) == -1)
				goto fail;
		} else if (strcmp(argv[i], "period") == 0) {
			if (conf_shape_value(argc, argv, i, 1, &r->period, err, errlen) == -1)
				goto fail;
		} else {
			break;
		}
	}
	*used = i;
	return r;
fail:
	conf_shape_free_rules(r);
	return NULL;
}

void
conf_shape_free_rules(struct shaper_rule *r)
{
	while (r != NULL) {
		struct shaper_rule *next = r->next;

		acl_free_cond(r->cond);
		free(r->name);
		free(r);
		r = next;
	}
}
