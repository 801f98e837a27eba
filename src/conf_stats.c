/*
 * conf_stats: "stats socket" (see conf_stats.h). HAProxy's bind options
 * for the socket are kept to those that mean something for a UNIX path.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "conf_stats.h"
#include "sockaddr.h"
#include "units.h"

static const char *const conf_level_names[] = {
	[CONF_LEVEL_USER] = "user",
	[CONF_LEVEL_OPERATOR] = "operator",
	[CONF_LEVEL_ADMIN] = "admin",
};

const char *
conf_level_name(enum conf_level level)
{
	return conf_level_names[level];
}

void
conf_stats_free(struct conf_admin *a)
{
	while (a != NULL) {
		struct conf_admin *next = a->next;

		free(a->path);
		free(a->user);
		free(a->group);
		free(a);
		a = next;
	}
}

/* A number in base (8 or 10) within [0, max]. */
static int
conf_stats_num(const char *s, int base, unsigned long long max, unsigned long long *v)
{
	char *end;

	if (*s == '\0' || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	*v = strtoull(s, &end, base);
	return errno != 0 || *end != '\0' || *v > max ? -1 : 0;
}

static int
conf_stats_socket(struct conf_admin *a, int argc, char **argv, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	unsigned long long v;

	if (argc < 3) {
		snprintf(err, errlen, "'stats socket' expects a path");
		return -1;
	}
	if (argv[2][0] != '/' && strchr(argv[2], ':') != NULL) {
		snprintf(err, errlen, "'stats socket %s': the admin socket is a UNIX socket path "
		    "(an absolute path); splicer does not open it on TCP", argv[2]);
		return -1;
	}
	if (strlen(argv[2]) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "'stats socket': the path is longer than %zu bytes",
		    sizeof(sun.sun_path) - 1);
		return -1;
	}
	a->path = strdup(argv[2]);
	for (int i = 3; i < argc; i += 2) {
		const char *k = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(k, "mode") != 0 && strcmp(k, "uid") != 0 && strcmp(k, "gid") != 0 &&
		    strcmp(k, "user") != 0 && strcmp(k, "group") != 0 && strcmp(k, "level") != 0) {
			snprintf(err, errlen, "'stats socket': unknown option '%s' (expected mode, "
			    "uid, gid, user, group or level)", k);
			return -1;
		}
		if (val == NULL) {
			snprintf(err, errlen, "'stats socket': '%s' expects a value", k);
			return -1;
		}
		if (strcmp(k, "mode") == 0) {
			if (conf_stats_num(val, 8, 0777, &v) == -1) {
				snprintf(err, errlen, "'stats socket': mode '%s' is not an octal "
				    "permission such as 600", val);
				return -1;
			}
			a->mode = (unsigned int)v;
		} else if (strcmp(k, "uid") == 0 || strcmp(k, "gid") == 0) {
			if (conf_stats_num(val, 10, 4294967294ULL, &v) == -1) {
				snprintf(err, errlen, "'stats socket': %s '%s' is not a number", k, val);
				return -1;
			}
			*(k[0] == 'u' ? &a->uid : &a->gid) = (long long)v;
		} else if (strcmp(k, "user") == 0 || strcmp(k, "group") == 0) {
			char **dst = k[0] == 'u' ? &a->user : &a->group;

			free(*dst);
			*dst = strdup(val);
		} else {
			int found = 0;

			for (size_t l = 0; l < sizeof(conf_level_names) / sizeof(*conf_level_names); l++) {
				if (strcmp(val, conf_level_names[l]) == 0) {
					a->level = (enum conf_level)l;
					found = 1;
				}
			}
			if (!found) {
				snprintf(err, errlen, "'stats socket': level '%s' is not one of user, "
				    "operator, admin", val);
				return -1;
			}
		}
	}
	return 0;
}

/* "stats metrics ADDR:PORT" (the Prometheus endpoint) and "stats health
 * ADDR:PORT" (the probes): one HTTP address each. */
static int
conf_stats_http(struct sockaddr_spec **dst, int *dst_line, int argc, char **argv, int line,
    char *err, size_t errlen)
{
	struct sockaddr_spec *spec;
	char why[256];

	if (argc != 3) {
		snprintf(err, errlen, "'stats %s' expects one ADDRESS:PORT (e.g. 127.0.0.1:%s)",
		    argv[1], argv[1][0] == 'm' ? "9100" : "8086");
		return -1;
	}
	if (*dst != NULL) {
		snprintf(err, errlen, "'stats %s' is already declared at line %d", argv[1], *dst_line);
		return -1;
	}
	if ((spec = calloc(1, sizeof(*spec))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (sockaddr_parse(argv[2], SOCKADDR_F_ANY, spec, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "'stats %s': %s", argv[1], why);
		free(spec);
		return -1;
	}
	*dst = spec;
	*dst_line = line;
	return 0;
}

int
conf_stats_parse(struct conf *c, int argc, char **argv, int line, char *err, size_t errlen)
{
	struct conf_admin *a, **tail;

	if (argc >= 2 && (strcmp(argv[1], "timeout") == 0 || strcmp(argv[1], "maxconn") == 0)) {
		uint64_t v;
		char why[256];
		int timeout = argv[1][0] == 't';

		if (argc != 3) {
			snprintf(err, errlen, "'stats %s' expects one %s", argv[1],
			    timeout ? "time (e.g. 10s)" : "number");
			return -1;
		}
		if (timeout ? units_parse_time(argv[2], &v, why, sizeof(why)) :
		    units_parse_uint(argv[2], 1, 10000, &v, why, sizeof(why))) {
			snprintf(err, errlen, "'stats %s': %s", argv[1], why);
			return -1;
		}
		if (timeout && v < 1000) {
			snprintf(err, errlen, "'stats timeout' must be at least 1ms");
			return -1;
		}
		if (timeout)
			c->global.admin_timeout = v;
		else
			c->global.admin_maxconn = (unsigned int)v;
		return 0;
	}
	if (argc >= 2 && strcmp(argv[1], "metrics") == 0)
		return conf_stats_http(&c->global.metrics, &c->global.metrics_line, argc, argv,
		    line, err, errlen);
	if (argc >= 2 && strcmp(argv[1], "health") == 0)
		return conf_stats_http(&c->global.health, &c->global.health_line, argc, argv,
		    line, err, errlen);
	if (argc >= 2 && strcmp(argv[1], "file") == 0) {
		if (argc != 3 || argv[2][0] != '/') {
			snprintf(err, errlen, "'stats file' expects one absolute path");
			return -1;
		}
		if (c->global.stats_file != NULL) {
			snprintf(err, errlen, "'stats file' is already declared");
			return -1;
		}
		c->global.stats_file = strdup(argv[2]);
		return 0;
	}
	if (argc < 2 || strcmp(argv[1], "socket") != 0) {
		snprintf(err, errlen, "'stats %s' is not supported yet (splicer has 'stats socket', "
		    "'stats timeout', 'stats maxconn', 'stats metrics', 'stats health' and 'stats file')", argc < 2 ? "" : argv[1]);
		return -1;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	a->mode = 0600;
	a->uid = a->gid = -1;
	a->level = CONF_LEVEL_OPERATOR;
	a->line = line;
	if (conf_stats_socket(a, argc, argv, err, errlen) == -1) {
		conf_stats_free(a);
		return -1;
	}
	for (struct conf_admin *o = c->global.admins; o != NULL; o = o->next) {
		if (strcmp(o->path, a->path) == 0) {
			snprintf(err, errlen, "'stats socket %s' is already declared at line %d",
			    a->path, o->line);
			conf_stats_free(a);
			return -1;
		}
	}
	for (tail = &c->global.admins; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = a;
	return 0;
}
