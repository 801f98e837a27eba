/*
 * conf_kw_global: the handlers of the global section's keywords (their
 * table is in conf_parse.c).
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>
#include "acl.h"
#include "conf_lex.h"
#include "conf_kw.h"
#include "conf_parse.h"
#include "conf_health.h"
#include "conf_httpchk.h"
#include "conf_shape.h"
#include "conf_stats.h"
#include "units.h"

/* ---- global section ---- */

void
kw_global_daemon(struct parser *p, int argc, char **argv)
{
	if (parse_no_more_args(p, argc, argv, 1) == 0)
		p->conf->global.daemon = 1;
}

/* "nosockmap": no flow enters the kernel; "nosplice" (HAProxy's): no
 * splice(2), flows copy through user space (sockmap stays allowed). */
void
kw_global_nosockmap(struct parser *p, int argc, char **argv)
{
	if (parse_no_more_args(p, argc, argv, 1) == -1)
		return;
	if (strcmp(argv[0], "nosplice") == 0)
		p->conf->global.nosplice = 1;
	else
		p->conf->global.nosockmap = 1;
}

/* "tune.sockmap.promote-bytes SIZE" (0 promotes at once) and
 * "tune.sockmap.promote-max-rate RATE": engine auto's policy. */
void
kw_global_promote(struct parser *p, int argc, char **argv)
{
	int bytes = strcmp(argv[0], "tune.sockmap.promote-bytes") == 0;
	char err[256];

	if (argc < 2) {
		parse_err(p, "'%s' expects %s", argv[0], bytes ? "a size (e.g. 1m)" :
		    "a rate (e.g. 1gbps)");
		return;
	}
	if (parse_no_more_args(p, argc, argv, 2) == 0 && (bytes ?
	    units_parse_size(argv[1], &p->conf->global.promote_bytes, err, sizeof(err)) :
	    units_parse_rate(argv[1], &p->conf->global.promote_max_rate, err, sizeof(err))) == -1)
		parse_err(p, "'%s': %s", argv[0], err);
}

void
kw_global_hard_stop_after(struct parser *p, int argc, char **argv)
{
	if (parse_no_more_args(p, argc, argv, 2) == 0)
		parse_time_arg(p, argv[0], argv[1], &p->conf->global.hard_stop_after);
}

/* "grace TIME": after SIGTERM or SIGUSR1, /ready says 503 and the
 * listeners stay open this long before the graceful stop. */
void
kw_global_grace(struct parser *p, int argc, char **argv)
{
	if (parse_no_more_args(p, argc, argv, 2) == 0)
		parse_time_arg(p, argv[0], argv[1], &p->conf->global.grace);
}

void
kw_global_log(struct parser *p, int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "global") == 0) {
		parse_err(p, "'log global' is only valid in a proxy section");
		return;
	}
	parse_log_into(p, &p->conf->global.logs, argc, argv);
}

void
kw_global_maxconn(struct parser *p, int argc, char **argv)
{
	uint64_t v;

	if (parse_no_more_args(p, argc, argv, 2) == 0 &&
	    parse_uint_arg(p, argv[0], argv[1], 1, CONF_MAXCONN_MAX, &v) == 0)
		p->conf->global.maxconn = (unsigned int)v;
}

void
kw_global_bandwidth(struct parser *p, int argc, char **argv)
{
	struct shaper_group *up, *down;
	char err[512];

	if (conf_shape_total(argc, argv, p->line, &up, &down, err, sizeof(err)) == -1) {
		parse_err(p, "%s", err);
		return;
	}
	if (p->conf->global.total[0] != NULL) {
		parse_warn(p, "'bandwidth-limit total' given again: this one replaces the one "
		    "at line %d", p->conf->global.total[0]->line);
		shaper_group_free_list(p->conf->global.total[0]);
		shaper_group_free_list(p->conf->global.total[1]);
	}
	p->conf->global.total[0] = up;
	p->conf->global.total[1] = down;
}

void
kw_global_nbthread(struct parser *p, int argc, char **argv)
{
	uint64_t v;

	if (parse_no_more_args(p, argc, argv, 2) == 0 &&
	    parse_uint_arg(p, argv[0], argv[1], 1, CONF_NBTHREAD_MAX, &v) == 0)
		p->conf->global.nbthread = (unsigned int)v;
}

/* "maxpipes N" (0: no pipe, every flow copies), "tune.pipe.prealloc N". */
void
kw_global_pipes(struct parser *p, int argc, char **argv)
{
	uint64_t v;

	if (parse_no_more_args(p, argc, argv, 2) == 0 &&
	    parse_uint_arg(p, argv[0], argv[1], 0, CONF_MAXPIPES_MAX, &v) == 0) {
		if (strcmp(argv[0], "maxpipes") == 0) {
			p->conf->global.maxpipes = (unsigned int)v;
			p->conf->global.maxpipes_set = 1;
		} else {
			p->conf->global.pipe_prealloc = (unsigned int)v;
		}
	}
}

void
kw_global_pidfile(struct parser *p, int argc, char **argv)
{
	if (argc < 2) {
		parse_err(p, "'pidfile' expects a path");
		return;
	}
	if (parse_no_more_args(p, argc, argv, 2) == 0) {
		free(p->conf->global.pidfile);
		p->conf->global.pidfile = strdup(argv[1]);
	}
}

/* "user NAME", "group NAME", "chroot DIR": one string each. */
void
kw_global_string(struct parser *p, int argc, char **argv)
{
	char **dst = strcmp(argv[0], "user") == 0 ? &p->conf->global.user :
	    strcmp(argv[0], "group") == 0 ? &p->conf->global.group : &p->conf->global.chroot;

	if (argc < 2) {
		parse_err(p, "'%s' expects a %s", argv[0],
		    strcmp(argv[0], "chroot") == 0 ? "directory" : "name");
		return;
	}
	if (parse_no_more_args(p, argc, argv, 2) == -1)
		return;
	free(*dst);
	*dst = strdup(argv[1]);
	if (strcmp(argv[0], "user") == 0)
		p->conf->global.user_line = p->line;
	else if (strcmp(argv[0], "group") == 0)
		p->conf->global.group_line = p->line;
	else
		p->conf->global.chroot_line = p->line;
}

/* "spread-checks N": conf_health.c. */
void
kw_global_spread_checks(struct parser *p, int argc, char **argv)
{
	char err[256];

	if (conf_health_spread(&p->conf->global, argc, argv, err, sizeof(err)) == -1)
		parse_err(p, "%s", err);
}

/* "stats socket ...": conf_stats.c. */
void
kw_global_stats(struct parser *p, int argc, char **argv)
{
	char err[512], *words[CONF_LEX_MAX_WORDS + 1];
	int n = 0;

	/* "expose-fd listeners" hands the listening sockets to a new HAProxy
	 * at a seamless reload; splicer's reload keeps its sockets itself. */
	for (int i = 0; i < argc; i++) {
		if (argc > 2 && strcmp(argv[1], "socket") == 0 && i + 1 < argc &&
		    strcmp(argv[i], "expose-fd") == 0 && strcmp(argv[i + 1], "listeners") == 0) {
			parse_warn(p, "'stats socket ... expose-fd listeners' has no effect: "
			    "splicer's reload keeps its listening sockets without it");
			i++;
			continue;
		}
		words[n++] = argv[i];
	}
	words[n] = NULL;
	if (conf_stats_parse(p->conf, n, words, p->line, err, sizeof(err)) == -1)
		parse_err(p, "%s", err);
}

void
kw_global_id(struct parser *p, int argc, char **argv)
{
	uint64_t v;

	if (parse_no_more_args(p, argc, argv, 2) == 0 &&
	    parse_uint_arg(p, argv[0], argv[1], 0, 4294967294ULL, &v) == 0) {
		if (strcmp(argv[0], "uid") == 0)
			p->conf->global.uid = (long long)v;
		else
			p->conf->global.gid = (long long)v;
	}
}

void
kw_global_pipesize(struct parser *p, int argc, char **argv)
{
	char err[256];
	uint64_t v;

	if (argc < 2) {
		parse_err(p, "'%s' expects a size (e.g. 256k)", argv[0]);
		return;
	}
	if (parse_no_more_args(p, argc, argv, 2) == -1)
		return;
	if (units_parse_size(argv[1], &v, err, sizeof(err)) == -1) {
		parse_err(p, "'%s': %s", argv[0], err);
		return;
	}
	if (v < 4096 || v > CONF_PIPESIZE_MAX) {
		parse_err(p, "'%s': %s is out of range (4k to 256m)", argv[0], argv[1]);
		return;
	}
	p->conf->global.pipesize = v;
}

/* "ulimit-n N": the fd limit to set at start (main_maxconn). */
void
kw_global_ulimit(struct parser *p, int argc, char **argv)
{
	uint64_t v;

	if (parse_no_more_args(p, argc, argv, 2) == 0 &&
	    parse_uint_arg(p, argv[0], argv[1], 64, 1U << 30, &v) == 0)
		p->conf->global.ulimit_n = (unsigned int)v;
}

/* "no strict-limits": a limit that cannot be set (ulimit-n) is a warning
 * and the process goes on, which is what splicer does. */
void
kw_global_no(struct parser *p, int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "strict-limits") == 0)
		return;
	parse_err(p, "'no %s' is not supported in section 'global' (supported: "
	    "no strict-limits)", argc > 1 ? argv[1] : "");
}
