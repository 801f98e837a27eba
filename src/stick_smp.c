/*
 * stick_smp: what stick tables add to the fetches and the tcp-request
 * actions: "track-sc0..2 KEY [table T]", which takes a reference on the
 * entry of KEY and counts the connection there, "sc-inc-gpc0(N)", and
 * the fetches that
 * read tracked entries (sc0_conn_cur ...) or look the client up
 * (src_conn_cur ...). Registered before any configuration is parsed.
 */
#include "config.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "clock.h"
#include "conf_stick.h"
#include "persist.h"
#include "sample.h"
#include "stick.h"
#include "stick_smp.h"

/* "track-scN KEY [table T]". */
struct stick_track {
	unsigned int sc;
	struct sample_expr key;
	char *table_name;		/* NULL: the section's own */
	struct stick_table *table;	/* resolved by conf_stick_check */
};

int
stick_smp_key(const struct stick_table *t, const struct sample *smp, struct stick_key *k)
{
	char buf[64], err[128];

	switch (smp->type) {
	case SMP_T_ADDR:
		if (t->type != STICK_STRING)
			return stick_key_addr(t, (const struct sockaddr *)&smp->addr, k);
		if (smp->addr.ss_family == AF_INET)
			inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)&smp->addr)->
			    sin_addr, buf, sizeof(buf));
		else
			inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)&smp->addr)->
			    sin6_addr, buf, sizeof(buf));
		return stick_key_parse(t, buf, k, err, sizeof(err));
	case SMP_T_BOOL:
	case SMP_T_SINT:
		if (smp->sint < 0 || (t->type != STICK_INTEGER && t->type != STICK_STRING))
			return -1;
		snprintf(buf, sizeof(buf), "%" PRId64, smp->sint);
		return stick_key_parse(t, buf, k, err, sizeof(err));
	case SMP_T_STR:
	case SMP_T_BIN:
		if (t->type != STICK_STRING)
			return -1;
		k->len = smp->len < t->key_len ? smp->len : t->key_len;
		memcpy(k->b, smp->ptr, k->len);
		return 0;
	}
	return -1;
}

static int
stick_track_parse(struct acl_rule *r, int argc, char **argv, int *used, char *err,
    size_t errlen)
{
	struct stick_track *a;
	int unknown;

	if (argc < 2 || strcmp(argv[1], "if") == 0 || strcmp(argv[1], "unless") == 0) {
		snprintf(err, errlen, "expects a key, e.g. 'src'");
		return -1;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	a->sc = (unsigned int)(argv[0][8] - '0');
	if (sample_parse(argv[1], &a->key, &unknown, err, errlen) == -1) {
		free(a);
		return -1;
	}
	*used = 2;
	if (argc > 2 && strcmp(argv[2], "table") == 0) {
		if (argc < 4 || (a->table_name = strdup(argv[3])) == NULL) {
			snprintf(err, errlen, "'table' expects a section name");
			sample_free(&a->key);
			free(a);
			return -1;
		}
		*used = 4;
	}
	r->arg = a;
	return 0;
}

static int
stick_track_run(const struct acl_rule *r, struct sample_ctx *ctx)
{
	const struct stick_track *a = r->arg;
	uint64_t now = clock_now_us();
	struct stick_entry *e;
	struct stick_key k;
	struct sample smp;

	/* The first rule for a counter wins, as HAProxy's. */
	if (ctx->track[a->sc] != NULL || sample_fetch(&a->key, ctx, &smp) != SMP_FOUND ||
	    stick_smp_key(a->table, &smp, &k) == -1)
		return ACL_ACTION_CONTINUE;
	if ((e = stick_ref(a->table, &k, now)) != NULL) {
		stick_conn_start(a->table, e, now);
		ctx->track[a->sc] = e;
	}
	return ACL_ACTION_CONTINUE;
}

static void
stick_track_free(void *arg)
{
	struct stick_track *a = arg;

	if (a == NULL)
		return;
	sample_free(&a->key);
	free(a->table_name);
	free(a);
}

/* "sc-inc-gpc0(N)": gpc0 and gpc0_rate of the entry counter N tracks. */
static int
stick_inc_gpc0_run(const struct acl_rule *r, struct sample_ctx *ctx)
{
	struct stick_entry *e = ctx->track[r->act->name[12] - '0'];
	uint64_t now = clock_now_us();

	if (e != NULL) {
		stick_add(e->table, e, STICK_GPC0, 1, now);
		stick_add(e->table, e, STICK_GPC0_RATE, 1, now);
	}
	return ACL_ACTION_CONTINUE;
}

static const struct acl_action stick_actions[] = {
	{ "track-sc0", ACL_RULE_CONNECTION | ACL_RULE_CONTENT, ACL_ACTION_CONTINUE,
	  stick_track_parse, stick_track_run, stick_track_free },
	{ "track-sc1", ACL_RULE_CONNECTION | ACL_RULE_CONTENT, ACL_ACTION_CONTINUE,
	  stick_track_parse, stick_track_run, stick_track_free },
	{ "track-sc2", ACL_RULE_CONNECTION | ACL_RULE_CONTENT, ACL_ACTION_CONTINUE,
	  stick_track_parse, stick_track_run, stick_track_free },
	{ "sc-inc-gpc0(0)", ACL_RULE_CONNECTION | ACL_RULE_CONTENT, ACL_ACTION_CONTINUE,
	  NULL, stick_inc_gpc0_run, NULL },
	{ "sc-inc-gpc0(1)", ACL_RULE_CONNECTION | ACL_RULE_CONTENT, ACL_ACTION_CONTINUE,
	  NULL, stick_inc_gpc0_run, NULL },
	{ "sc-inc-gpc0(2)", ACL_RULE_CONNECTION | ACL_RULE_CONTENT, ACL_ACTION_CONTINUE,
	  NULL, stick_inc_gpc0_run, NULL },
};

int
stick_smp_resolve(struct acl_rule *r, const struct conf *c, struct conf_proxy *px,
    char *err, size_t errlen)
{
	struct stick_track *a = r->arg;
	const struct conf_proxy *owner;

	if (r->act == NULL || r->act->parse != stick_track_parse)
		return 0;
	owner = a->table_name == NULL ? px : conf_find_proxy(c, a->table_name, 0);
	if (owner == NULL || (a->table = owner->table) == NULL) {
		if (a->table_name == NULL)
			snprintf(err, errlen, "%s '%s' declares no stick-table; add one or name "
			    "one with 'table NAME'", conf_proxy_kind(px), px->name);
		else
			snprintf(err, errlen, "no section named '%s' declares a stick-table",
			    a->table_name);
		return -1;
	}
	if (sample_resolve(&a->key, c, px, err, errlen) == -1)
		return -1;
	return stick_smp_fits(&a->key, a->table, err, errlen);
}

int
stick_smp_fits(const struct sample_expr *e, const struct stick_table *t, char *err,
    size_t errlen)
{
	enum sample_type st = e->type;

	if ((st == SMP_T_ADDR && t->type == STICK_INTEGER) ||
	    ((st == SMP_T_STR || st == SMP_T_BIN) && t->type != STICK_STRING) ||
	    ((st == SMP_T_SINT || st == SMP_T_BOOL) && t->type != STICK_INTEGER &&
	    t->type != STICK_STRING)) {
		snprintf(err, errlen, "the key '%s' does not fit table '%s' of type %s",
		    e->f->name, t->name, stick_type_name(t->type));
		return -1;
	}
	return 0;
}

/* ---- fetches ---- */

/* d of the entry counter sc tracks, or with a table (tab not NULL) of
 * that entry's key there (0 when absent); none when it tracks none or the
 * table does not store d. */
static int
stick_smp_sc(const struct sample_ctx *ctx, unsigned int sc, const struct sample_arg *tab,
    enum stick_data d, struct sample *out)
{
	struct stick_entry *e = sc < SMP_TRACK_MAX ? ctx->track[sc] : NULL;
	struct stick_table *t = tab != NULL && tab->px != NULL ? tab->px->table : NULL;
	struct stick_key k;

	if (e == NULL)
		return SMP_NONE;
	if (t == NULL || t == e->table) {
		if (!stick_stores(e->table, d))
			return SMP_NONE;
		out->type = SMP_T_SINT;
		out->sint = (int64_t)stick_get(e->table, e, d, clock_now_us());
		return SMP_FOUND;
	}
	if (!stick_stores(t, d) || t->type != e->table->type || e->klen > t->key_len)
		return SMP_NONE;
	k.len = e->klen;
	memset(k.b, 0, t->key_len);
	memcpy(k.b, e->key, e->klen);
	out->type = SMP_T_SINT;
	out->sint = (int64_t)stick_lookup_value(t, &k, d, clock_now_us());
	return SMP_FOUND;
}

/* d of the client's entry in the table of args[0] (0 when absent). */
static int
stick_smp_src(const struct sample_arg *args, const struct sample_ctx *ctx, enum stick_data d,
    struct sample *out)
{
	struct stick_table *t = args[0].px != NULL ? args[0].px->table : NULL;
	struct stick_key k;

	if (t == NULL || !stick_stores(t, d) || stick_key_addr(t, ctx->cli, &k) == -1)
		return SMP_NONE;
	out->type = SMP_T_SINT;
	out->sint = (int64_t)stick_lookup_value(t, &k, d, clock_now_us());
	return SMP_FOUND;
}

#define STICK_SC_FETCH(n, data, d)							\
	static int									\
	stick_smp_sc##n##_##data(const struct sample_arg *args,				\
	    const struct sample_ctx *ctx, struct sample *out)				\
	{										\
		return stick_smp_sc(ctx, n, &args[0], d, out);				\
	}
#define STICK_SC_ANY(data, d)								\
	static int									\
	stick_smp_sc_##data(const struct sample_arg *args,				\
	    const struct sample_ctx *ctx, struct sample *out)				\
	{										\
		return stick_smp_sc(ctx, (unsigned int)args[0].i, &args[1], d, out);	\
	}										\
	static int									\
	stick_smp_src_##data(const struct sample_arg *args,				\
	    const struct sample_ctx *ctx, struct sample *out)				\
	{										\
		return stick_smp_src(args, ctx, d, out);				\
	}
#define STICK_DATA(data, d)								\
	STICK_SC_FETCH(0, data, d) STICK_SC_FETCH(1, data, d)				\
	STICK_SC_FETCH(2, data, d) STICK_SC_ANY(data, d)

STICK_DATA(conn_cur, STICK_CONN_CUR)
STICK_DATA(conn_cnt, STICK_CONN_CNT)
STICK_DATA(conn_rate, STICK_CONN_RATE)
STICK_DATA(sess_cnt, STICK_SESS_CNT)
STICK_DATA(sess_rate, STICK_SESS_RATE)
STICK_DATA(get_gpc0, STICK_GPC0)
STICK_DATA(gpc0_rate, STICK_GPC0_RATE)
STICK_DATA(bytes_in_rate, STICK_BYTES_IN_RATE)
STICK_DATA(bytes_out_rate, STICK_BYTES_OUT_RATE)

/* HAProxy's fetches take the table as an optional last argument. */
#define STICK_FETCHES(data)								\
	{ "sc0_" #data, "K", SMP_T_SINT, 0, stick_smp_sc0_##data },			\
	{ "sc1_" #data, "K", SMP_T_SINT, 0, stick_smp_sc1_##data },			\
	{ "sc2_" #data, "K", SMP_T_SINT, 0, stick_smp_sc2_##data },			\
	{ "sc_" #data, "iK", SMP_T_SINT, 0, stick_smp_sc_##data },			\
	{ "src_" #data, "T", SMP_T_SINT, 0, stick_smp_src_##data }

static const struct sample_fetch stick_fetches[] = {
	STICK_FETCHES(conn_cur), STICK_FETCHES(conn_cnt), STICK_FETCHES(conn_rate),
	STICK_FETCHES(sess_cnt), STICK_FETCHES(sess_rate), STICK_FETCHES(get_gpc0),
	STICK_FETCHES(gpc0_rate), STICK_FETCHES(bytes_in_rate), STICK_FETCHES(bytes_out_rate),
};

/* ---- converters: table_*(TABLE), in_table(TABLE) ---- */

/* The input sample as a key of the table args[0] names: 0 or -1. */
static int
stick_smp_conv_key(const struct sample_conv_call *call, const struct sample *smp,
    struct stick_table **t, struct stick_key *k)
{
	*t = call->args[0].px != NULL ? call->args[0].px->table : NULL;
	return *t != NULL && stick_smp_key(*t, smp, k) == 0 ? 0 : -1;
}

static int
stick_smp_in_table(const struct sample_conv_call *call, struct sample *smp)
{
	struct stick_table *t;
	struct stick_key k;

	smp->sint = stick_smp_conv_key(call, smp, &t, &k) == 0 &&
	    stick_lookup_has(t, &k, clock_now_us());
	return 1;
}

/* d of the key's entry, 0 when absent; none when the table lacks d. */
static int
stick_smp_table(const struct sample_conv_call *call, struct sample *smp, enum stick_data d,
    unsigned int div)
{
	struct stick_table *t;
	struct stick_key k;

	if (stick_smp_conv_key(call, smp, &t, &k) == -1 || !stick_stores(t, d))
		return 0;
	smp->sint = (int64_t)(stick_lookup_value(t, &k, d, clock_now_us()) / div);
	return 1;
}

#define STICK_TABLE_CONV(data, d, div)							\
	static int									\
	stick_smp_table_##data(const struct sample_conv_call *call, struct sample *smp) \
	{										\
		return stick_smp_table(call, smp, d, div);				\
	}
STICK_TABLE_CONV(bytes_in_rate, STICK_BYTES_IN_RATE, 1)
STICK_TABLE_CONV(bytes_out_rate, STICK_BYTES_OUT_RATE, 1)
STICK_TABLE_CONV(conn_cnt, STICK_CONN_CNT, 1)
STICK_TABLE_CONV(conn_cur, STICK_CONN_CUR, 1)
STICK_TABLE_CONV(conn_rate, STICK_CONN_RATE, 1)
STICK_TABLE_CONV(gpc0, STICK_GPC0, 1)
STICK_TABLE_CONV(gpc0_rate, STICK_GPC0_RATE, 1)
STICK_TABLE_CONV(kbytes_in, STICK_BYTES_IN_CNT, 1024)
STICK_TABLE_CONV(kbytes_out, STICK_BYTES_OUT_CNT, 1024)
STICK_TABLE_CONV(server_id, STICK_SERVER_ID, 1)
STICK_TABLE_CONV(sess_cnt, STICK_SESS_CNT, 1)
STICK_TABLE_CONV(sess_rate, STICK_SESS_RATE, 1)

#define STICK_CONV(data)								\
	{ "table_" #data, "t", SMP_T_SINT, SMP_T_SINT, stick_smp_table_##data, NULL, 1 }
static const struct sample_conv stick_convs[] = {
	{ "in_table", "t", SMP_T_BOOL, SMP_T_BOOL, stick_smp_in_table, NULL, 1 },
	STICK_CONV(bytes_in_rate), STICK_CONV(bytes_out_rate), STICK_CONV(conn_cnt),
	STICK_CONV(conn_cur), STICK_CONV(conn_rate), STICK_CONV(gpc0), STICK_CONV(gpc0_rate),
	STICK_CONV(kbytes_in), STICK_CONV(kbytes_out), STICK_CONV(server_id),
	STICK_CONV(sess_cnt), STICK_CONV(sess_rate),
};

/* Before main() and before any test parses: libsplicer.a links this file
 * with conf_stick.o, which calls stick_smp_resolve(). */
__attribute__((constructor)) static void
stick_smp_register(void)
{
	sample_register(stick_fetches, sizeof(stick_fetches) / sizeof(*stick_fetches));
	acl_action_register(stick_actions, sizeof(stick_actions) / sizeof(*stick_actions));
	sample_conv_register(stick_convs, sizeof(stick_convs) / sizeof(*stick_convs));
}
