/*
 * conf_stick: the stickiness grammar ("stick-table", "stick on|match|
 * store-request", "use-server", "force-persist", "ignore-persist") and
 * its check: tables and servers named by rules (and by the track-sc
 * actions, stick_smp.c) are resolved once the whole file is read.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "conf_kw.h"
#include "conf_stick.h"
#include "persist.h"
#include "sample.h"
#include "shaper.h"
#include "stick.h"
#include "stick_smp.h"
#include "units.h"

/* "type T [len N]" of a stick-table line from argv[i]; returns the next
 * word's index or -1 reported. */
static int
conf_stick_type(struct parser *p, int argc, char **argv, int i, enum stick_type *type,
    uint64_t *len)
{
	if (i + 1 >= argc) {
		parse_err(p, "'stick-table type' expects ip, ipv6, integer or string");
		return -1;
	}
	if (strcmp(argv[i + 1], "binary") == 0) {
		parse_err(p, "'stick-table type binary' is not supported: splicer has no "
		    "binary sample to key it (supported: ip, ipv6, integer, string)");
		return -1;
	}
	if (stick_type_parse(argv[i + 1], type) == -1) {
		parse_err(p, "unknown stick-table type '%s' (expected ip, ipv6, integer or "
		    "string)", argv[i + 1]);
		return -1;
	}
	i += 2;
	if (i < argc && strcmp(argv[i], "len") == 0) {
		if (*type != STICK_STRING) {
			parse_err(p, "'stick-table': 'len' applies to type string only");
			return -1;
		}
		if (parse_uint_arg(p, "len", i + 1 < argc ? argv[i + 1] : NULL, 1, STICK_KEY_MAX,
		    len) == -1)
			return -1;
		i += 2;
	}
	return i;
}

/* The words after the type: size, expire, nopurge, peers, srvkey, store. */
static int
conf_stick_options(struct parser *p, int argc, char **argv, int i, struct stick_table *t)
{
	char err[512], buf[1024], *save = NULL;
	uint64_t v;

	for (; i < argc; i += 2) {
		const char *o = argv[i], *a = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(o, "nopurge") == 0) {
			t->nopurge = 1;
			i--;
		} else if (strcmp(o, "size") == 0) {
			if (a == NULL || units_parse_size(a, &v, err, sizeof(err)) == -1 || v == 0 ||
			    v > STICK_SIZE_MAX) {
				parse_err(p, "'stick-table size' expects a number of entries from 1 to "
				    "%u (k, m, g: 1024-based)", STICK_SIZE_MAX);
				return -1;
			}
			t->size = (unsigned int)v;
		} else if (strcmp(o, "expire") == 0) {
			if (parse_time_arg(p, "stick-table expire", a, &t->expire) == -1)
				return -1;
		} else if (strcmp(o, "peers") == 0) {
			parse_err(p, "'stick-table peers' is not supported: splicer keeps stick "
			    "tables in its process and synchronizes them with no peer");
			return -1;
		} else if (strcmp(o, "srvkey") == 0) {
			if (a == NULL || (strcmp(a, "name") != 0 && strcmp(a, "addr") != 0)) {
				parse_err(p, "'stick-table srvkey' expects 'name' or 'addr'");
				return -1;
			}
			parse_warn(p, "'stick-table srvkey' has no effect: it names servers to "
			    "peers, and splicer has none");
		} else if (strcmp(o, "store") == 0) {
			if (a == NULL) {
				parse_err(p, "'stick-table store' expects data types, e.g. conn_cur,"
				    "conn_rate(10s)");
				return -1;
			}
			snprintf(buf, sizeof(buf), "%s", a);
			for (char *w = strtok_r(buf, ",", &save); w != NULL;
			    w = strtok_r(NULL, ",", &save)) {
				if (stick_store_parse(t, w, err, sizeof(err)) == -1) {
					parse_err(p, "%s", err);
					return -1;
				}
			}
		} else {
			parse_err(p, "'stick-table': unknown option '%s' (expected size, expire, "
			    "nopurge, store)", o);
			return -1;
		}
	}
	return 0;
}

void
kw_px_stick_table(struct parser *p, int argc, char **argv)
{
	enum stick_type type = STICK_IP;
	uint64_t len = STICK_STRING_LEN_DEFAULT;
	struct stick_table *t;
	int i = 1;

	if (p->px->table != NULL) {
		parse_err(p, "%s '%s' already has a stick-table (line %d): one per section",
		    conf_proxy_kind(p->px), p->px->name, p->px->table->line);
		return;
	}
	if (argc < 2 || strcmp(argv[1], "type") != 0) {
		parse_err(p, "'stick-table' expects 'type ip|ipv6|integer|string [len N] size N "
		    "[expire TIME] [store TYPE,...]'");
		return;
	}
	if ((i = conf_stick_type(p, argc, argv, i, &type, &len)) == -1)
		return;
	if ((t = stick_table_new(p->px->name, type, (size_t)len, 0, 0, p->line)) == NULL) {
		parse_err(p, "out of memory");
		return;
	}
	if (conf_stick_options(p, argc, argv, i, t) == -1) {
		stick_table_free_list(t);
		return;
	}
	if (t->size == 0) {
		parse_err(p, "'stick-table' needs 'size N'");
		stick_table_free_list(t);
		return;
	}
	p->px->table = t;
}

/* "KEY [table T]" from argv[i]: the key's fetch into key, the table name
 * (NULL: the section's), the index after them, or -1 reported. */
static int
conf_stick_pattern(struct parser *p, int argc, char **argv, int i, const char *what,
    struct sample_expr *key, char **table)
{
	char err[512];
	int unknown;

	*table = NULL;
	if (i >= argc) {
		parse_err(p, "'%s' expects a pattern (a fetch such as src)", what);
		return -1;
	}
	if (sample_parse(argv[i], key, &unknown, err, sizeof(err)) == -1) {
		parse_err(p, "'%s': %s", what, err);
		return -1;
	}
	if (key->f->flags & SMP_F_PAYLOAD) {
		/* Persistence is decided before any byte is inspected. */
		parse_err(p, "'%s %s': a pattern of the request's bytes is not supported; "
		    "persistence is decided at connection time (src, dst, dst_port ...)", what,
		    argv[i]);
		sample_free(key);
		return -1;
	}
	i++;
	if (i < argc && strcmp(argv[i], "table") == 0) {
		if (i + 1 >= argc) {
			parse_err(p, "'%s': 'table' expects a section name", what);
			return -1;
		}
		if ((*table = strdup(argv[i + 1])) == NULL) {
			sample_free(key);
			return -1;
		}
		i += 2;
	}
	return i;
}

void
kw_px_stick(struct parser *p, int argc, char **argv)
{
	static const struct { const char *name; unsigned int what; } kinds[] = {
		{ "match", PERSIST_MATCH }, { "on", PERSIST_MATCH | PERSIST_STORE },
		{ "store-request", PERSIST_STORE },
	};
	struct persist_stick *r, **tail;
	unsigned int what = 0;
	char kw[64];
	int i;

	for (size_t k = 0; argc >= 2 && k < nitems(kinds); k++)
		if (strcmp(argv[1], kinds[k].name) == 0)
			what = kinds[k].what;
	if (argc >= 2 && strcmp(argv[1], "store-response") == 0) {
		parse_err(p, "'stick store-response' is not supported: splicer does not "
		    "inspect the server's bytes (use 'stick on' or 'stick store-request')");
		return;
	}
	if (what == 0) {
		parse_err(p, "'stick' expects 'on', 'match' or 'store-request'");
		return;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return;
	snprintf(kw, sizeof(kw), "stick %s", argv[1]);
	r->what = what;
	r->line = p->line;
	if ((i = conf_stick_pattern(p, argc, argv, 2, kw, &r->key, &r->table_name)) == -1) {
		free(r);
		return;
	}
	if (parse_cond(p, argc, argv, i, &r->cond) == -1) {
		sample_free(&r->key);
		free(r->table_name);
		free(r);
		return;
	}
	for (tail = &p->px->stick_rules; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = r;
}

void
kw_px_use_server(struct parser *p, int argc, char **argv)
{
	struct persist_use *r, **tail;

	if (argc < 4 || (strcmp(argv[2], "if") != 0 && strcmp(argv[2], "unless") != 0)) {
		parse_err(p, "'use-server' expects 'NAME if|unless CONDITION'");
		return;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL || (r->name = strdup(argv[1])) == NULL) {
		free(r);
		return;
	}
	r->line = p->line;
	if (parse_cond(p, argc, argv, 2, &r->cond) == -1) {
		free(r->name);
		free(r);
		return;
	}
	for (tail = &p->px->use_servers; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = r;
}

/* "force-persist|ignore-persist if|unless COND". */
void
kw_px_persist(struct parser *p, int argc, char **argv)
{
	struct persist_if *r, **tail;

	if (argc < 3 || (strcmp(argv[1], "if") != 0 && strcmp(argv[1], "unless") != 0)) {
		parse_err(p, "'%s' expects 'if|unless CONDITION'", argv[0]);
		return;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return;
	r->force = strcmp(argv[0], "force-persist") == 0;
	r->line = p->line;
	if (parse_cond(p, argc, argv, 1, &r->cond) == -1) {
		free(r);
		return;
	}
	for (tail = &p->px->persist_ifs; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = r;
}

/* ---- the check ---- */

/* The table a rule of px names (NULL: px's own): NULL reported. */
static struct stick_table *
conf_stick_resolve(struct conf *c, struct conf_proxy *px, const char *name, int line,
    const char *what, struct conf_msgs *errs)
{
	struct conf_proxy *owner = name == NULL ? px : conf_find_proxy(c, name, 0);
	struct stick_table *t = owner != NULL ? owner->table : NULL;

	if (t == NULL) {
		if (name == NULL)
			conf_msgs_add(errs, "%s:%d: %s: %s '%s' declares no stick-table; add one or "
			    "name one with 'table NAME'", px->file, line, what, conf_proxy_kind(px),
			    px->name);
		else
			conf_msgs_add(errs, "%s:%d: %s: no section named '%s' declares a "
			    "stick-table", px->file, line, what, name);
		return NULL;
	}
	if (t->type != STICK_IP && t->type != STICK_IPV6) {
		conf_msgs_add(errs, "%s:%d: %s: table '%s' is of type %s and the pattern 'src' "
		    "is an address (type ip or ipv6)", px->file, line, what, t->name,
		    stick_type_name(t->type));
		return NULL;
	}
	return t;
}

/* A bwlim filter of HAProxy's form takes its period from a table's
 * bwlim_in_rate(P) or bwlim_out_rate(P). */
static int
conf_stick_bwlim(struct conf *c, struct conf_proxy *px, struct shaper_group *g,
    struct conf_msgs *errs)
{
	enum stick_data d = g->dir == SHAPER_UP ? STICK_BWLIM_IN_RATE : STICK_BWLIM_OUT_RATE;
	char what[128];
	uint64_t rate;

	snprintf(what, sizeof(what), "filter %s %s", g->dir == SHAPER_UP ? "bwlim-in" :
	    "bwlim-out", g->name);
	if ((g->stick = conf_stick_resolve(c, px, g->stick_name, g->line, what, errs)) == NULL)
		return 1;
	if (!stick_stores(g->stick, d)) {
		conf_msgs_add(errs, "%s:%d: %s: table '%s' does not store %s(PERIOD), which "
		    "gives the limit its period", px->file, g->line, what, g->stick->name,
		    stick_data_name(d));
		return 1;
	}
	g->fl_period = g->stick->period[d];
	if ((rate = units_rate_bps(g->fl_limit, g->fl_period)) == 0) {
		conf_msgs_add(errs, "%s:%d: %s: the limit per period is below 1 bit per second",
		    px->file, g->line, what);
		return 1;
	}
	shaper_group_set(g, rate, 0);
	shaper_bucket_init(&g->shared, &g->lim, 0);
	return 0;
}

static int
conf_stick_check_px(struct conf *c, struct conf_proxy *px, struct conf_msgs *errs)
{
	char err[512];
	int nerr = 0;

	for (struct persist_stick *r = px->stick_rules; r != NULL; r = r->next) {
		struct conf_proxy *owner = r->table_name == NULL ? px :
		    conf_find_proxy(c, r->table_name, 0);

		if ((r->table = owner != NULL ? owner->table : NULL) == NULL && r->table_name == NULL)
			snprintf(err, sizeof(err), "%s '%s' declares no stick-table; add one or name "
			    "one with 'table NAME'", conf_proxy_kind(px), px->name);
		else if (r->table == NULL)
			snprintf(err, sizeof(err), "no section named '%s' declares a stick-table",
			    r->table_name);
		if (r->table == NULL || sample_resolve(&r->key, c, px, err, sizeof(err)) == -1 ||
		    stick_smp_fits(&r->key, r->table, err, sizeof(err)) == -1) {
			conf_msgs_add(errs, "%s:%d: stick: %s", px->file, r->line, err);
			nerr++;
			continue;
		}
		r->table->store |= 1U << STICK_SERVER_ID;	/* implied, as HAProxy */
	}
	for (int content = 0; content < 2; content++) {
		for (struct acl_rule *r = content ? px->tcp_content_rules : px->tcp_conn_rules;
		    r != NULL; r = r->next) {
			if (stick_smp_resolve(r, c, px, err, sizeof(err)) == -1) {
				conf_msgs_add(errs, "%s:%d: tcp-request %s %s: %s", px->file, r->line,
				    content ? "content" : "connection", r->act->name, err);
				nerr++;
			}
		}
	}
	for (struct shaper_group *g = px->shapers; g != NULL; g = g->next)
		if (g->stick_form)
			nerr += conf_stick_bwlim(c, px, g, errs);
	for (struct persist_use *r = px->use_servers; r != NULL; r = r->next) {
		for (r->srv = px->servers; r->srv != NULL; r->srv = r->srv->next)
			if (strcmp(r->srv->name, r->name) == 0)
				break;
		if (r->srv == NULL) {
			conf_msgs_add(errs, "%s:%d: use-server: %s '%s' has no server named '%s'",
			    px->file, r->line, conf_proxy_kind(px), px->name, r->name);
			nerr++;
		}
	}
	return nerr;
}

int
conf_stick_check(struct conf *c, struct conf_msgs *errs)
{
	int nerr = 0;

	for (struct conf_proxy *px = c->proxies; px != NULL; px = px->next)
		nerr += conf_stick_check_px(c, px, errs);
	return nerr;
}

struct stick_table *
conf_stick_find(const struct conf *c, const char *name)
{
	for (struct conf_proxy *px = c->proxies; px != NULL; px = px->next)
		if (px->table != NULL && strcmp(px->table->name, name) == 0)
			return px->table;
	return NULL;
}
