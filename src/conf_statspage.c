/*
 * conf_statspage: see conf_statspage.h. The words are HAProxy's
 * (configuration.txt, "stats" keywords of section 4.2).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "conf_statspage.h"
#include "units.h"

void
conf_statspage_free(struct conf_statspage *pg)
{
	if (pg == NULL)
		return;
	free(pg->uri);
	free(pg->realm);
	for (int i = 0; i < pg->nauth; i++)
		free(pg->auth[i]);
	free(pg->monitor_uri);
	for (int i = 0; i < pg->nfail; i++)
		acl_free_cond(pg->fail[i]);
	free(pg->fail);
	free(pg);
}

/* *slot = a copy of s; -1 with a sentence if memory is short. */
static int
statspage_set(char **slot, const char *s, char *err, size_t errlen)
{
	char *c = strdup(s);

	if (c == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	free(*slot);
	*slot = c;
	return 0;
}

/* The words after "stats" that take one argument. */
static int
statspage_arg(struct conf_statspage *pg, const char *k, const char *v, char *err,
    size_t errlen)
{
	uint64_t us;

	if (strcmp(k, "uri") == 0) {
		if (v[0] != '/') {
			snprintf(err, errlen, "'stats uri %s': the prefix must start with '/'", v);
			return -1;
		}
		return statspage_set(&pg->uri, v, err, errlen);
	}
	if (strcmp(k, "realm") == 0)
		return statspage_set(&pg->realm, v, err, errlen);
	if (strcmp(k, "refresh") == 0) {
		if (units_parse_time(v, &us, err, errlen) == -1)
			return -1;
		pg->refresh_s = (unsigned int)((us + 999999) / 1000000);
		return 0;
	}
	/* auth */
	if (strchr(v, ':') == NULL || v[0] == ':') {
		snprintf(err, errlen, "'stats auth %s': expected USER:PASSWORD", v);
		return -1;
	}
	if (pg->nauth == CONF_STATS_AUTH_MAX) {
		snprintf(err, errlen, "'stats auth': at most %d users", CONF_STATS_AUTH_MAX);
		return -1;
	}
	if ((pg->auth[pg->nauth] = strdup(v)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	pg->nauth++;
	return 0;
}

static int
statspage_stats(struct conf_statspage *pg, int argc, char **argv, char *err, size_t errlen,
    char *warn, size_t warnlen)
{
	static const char *const with_arg[] = { "uri", "realm", "auth", "refresh" };
	static const char *const show[] = { "show-legends", "show-node", "show-desc",
	    "show-modules" };
	const char *k = argc > 1 ? argv[1] : "";

	for (size_t i = 0; i < sizeof(with_arg) / sizeof(with_arg[0]); i++) {
		if (strcmp(k, with_arg[i]) != 0)
			continue;
		if (argc != 3) {
			snprintf(err, errlen, "'stats %s' takes one argument", k);
			return -1;
		}
		pg->enabled = 1;
		return statspage_arg(pg, k, argv[2], err, errlen);
	}
	if (strcmp(k, "enable") == 0 || strcmp(k, "hide-version") == 0) {
		pg->enabled = 1;
		pg->hide_version |= k[0] == 'h';
		return 0;
	}
	for (size_t i = 0; i < sizeof(show) / sizeof(show[0]); i++) {
		if (strcmp(k, show[i]) == 0) {
			pg->enabled = 1;
			snprintf(warn, warnlen, "'stats %s' has no effect: splicer's stats page "
			    "shows the figures of show stat, without legends, node or description", k);
			return 0;
		}
	}
	if (strcmp(k, "admin") == 0) {
		snprintf(warn, warnlen, "'stats admin' has no effect: splicer's stats page is "
		    "read-only; change servers with the admin socket (set server, set weight)");
		return 0;
	}
	snprintf(err, errlen, "'stats %s' is not supported in a proxy (expected enable, uri, "
	    "realm, auth, refresh, hide-version, show-legends, show-node, show-desc or admin)",
	    k);
	return -1;
}

int
conf_statspage_parse(struct conf_proxy *px, int argc, char **argv, char *err,
    size_t errlen, char *warn, size_t warnlen)
{
	warn[0] = '\0';
	if (px->page == NULL && (px->page = calloc(1, sizeof(*px->page))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (strcmp(argv[0], "monitor-uri") == 0) {
		if (argc != 2 || argv[1][0] != '/') {
			snprintf(err, errlen, "'monitor-uri' takes one path, starting with '/'");
			return -1;
		}
		return statspage_set(&px->page->monitor_uri, argv[1], err, errlen);
	}
	return statspage_stats(px->page, argc, argv, err, errlen, warn, warnlen);
}

int
conf_statspage_monitor(struct conf_proxy *px, struct acl_cond *cond, char *err,
    size_t errlen)
{
	struct acl_cond **f;

	if (px->page == NULL && (px->page = calloc(1, sizeof(*px->page))) == NULL)
		goto oom;
	f = realloc(px->page->fail, (size_t)(px->page->nfail + 1) * sizeof(*f));
	if (f == NULL)
		goto oom;
	px->page->fail = f;
	f[px->page->nfail++] = cond;
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
	return -1;
}

int
conf_statspage_only(const struct conf_proxy *px)
{
	return px->mode_http && px->page != NULL && (px->cap & CONF_PX_FE) &&
	    (px->page->enabled || px->page->monitor_uri != NULL) && px->servers == NULL &&
	    px->default_backend == NULL && px->use_backends == NULL && !px->http_lines;
}
