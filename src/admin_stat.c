/*
 * admin_stat: "show stat" and "show info" in HAProxy's three forms (CSV or
 * "Name: value", typed, json), and the commands about figures and weights
 * HAProxy's runtime API has: get/set weight, show servers state, clear
 * counters. The rows are made from the current configuration's atomic
 * counters; a field splicer has no figure for stays empty, as in HAProxy.
 */
#include "config.h"

#include <inttypes.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "admin.h"
#include "admin_sess.h"
#include "admin_stat.h"
#include "backend.h"
#include "clock.h"
#include "lb.h"
#include "listener.h"
#include "log.h"
#include "sockaddr.h"
#include "stat_cols.h"

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

/* One row of show stat: which fields are set, and their values. */
struct stat_row {
	char obj;			/* F, B or S */
	unsigned int iid, sid;
	unsigned char set[ST_NCOLS];
	uint64_t u[ST_NCOLS];
	const char *s[ST_NCOLS];	/* string fields; NULL for numbers */
	char text[4][128];		/* room for the strings made here */
};

static void
row_u(struct stat_row *r, enum stat_col_id c, uint64_t v)
{
	r->set[c] = 1;
	r->u[c] = v;
	r->s[c] = NULL;
}

static void
row_s(struct stat_row *r, enum stat_col_id c, const char *v)
{
	r->set[c] = 1;
	r->s[c] = v;
}

/* ---- output forms ---- */

/* A CSV field: quoted when it holds a comma, a quote or a newline. */
static void
csv_str(struct evbuffer *out, const char *v)
{
	if (strpbrk(v, ",\"\n") == NULL) {
		evbuffer_add(out, v, strlen(v));
		return;
	}
	evbuffer_add(out, "\"", 1);
	for (; *v != '\0'; v++) {
		if (*v == '"')
			evbuffer_add(out, "\"", 1);
		evbuffer_add(out, v, 1);
	}
	evbuffer_add(out, "\"", 1);
}

static void
json_str(struct evbuffer *out, const char *v)
{
	evbuffer_add(out, "\"", 1);
	for (; *v != '\0'; v++) {
		unsigned char ch = (unsigned char)*v;

		if (ch == '"' || ch == '\\')
			evbuffer_add_printf(out, "\\%c", ch);
		else if (ch < 0x20)
			evbuffer_add_printf(out, "\\u%04x", ch);
		else
			evbuffer_add(out, v, 1);
	}
	evbuffer_add(out, "\"", 1);
}

static const char *
tag_name(int which, char letter)
{
	static const char *const names[3][2][12] = {
		{ { "M", "S", "K", "C", "P" },
		  { "Metric", "Status", "Key", "Config", "Product" } },
		{ { "A", "a", "C", "D", "G", "L", "M", "m", "N", "O", "R", "T" },
		  { "Age", "Avg", "Counter", "Duration", "Gauge", "Limit", "Max", "Min", "Name",
		    "Output", "Rate", "Time" } },
		{ { "P", "S", "s", "C" }, { "Process", "Service", "System", "Cluster" } },
	};

	for (size_t i = 0; i < 12 && names[which][0][i] != NULL; i++) {
		if (names[which][0][i][0] == letter)
			return names[which][1][i];
	}
	return "Unknown";
}

/* A typed or json field; head is "F.2.0." for stats, "" for info. */
void
admin_field_out(struct evbuffer *out, enum admin_form form, const char *head, const char *json_head,
    unsigned int pos, const char *name, const char *tags, const char *type, uint64_t u,
    const char *s, int first)
{
	if (form == ADMIN_FORM_TYPED) {
		evbuffer_add_printf(out, "%s%u.%s.1:%s:%s:", head, pos, name, tags, type);
		if (s != NULL)
			evbuffer_add(out, s, strlen(s));
		else
			evbuffer_add_printf(out, "%" PRIu64, u);
		evbuffer_add(out, "\n", 1);
		return;
	}
	evbuffer_add_printf(out, "%s{%s\"field\":{\"pos\":%u,\"name\":", first ? "" : ",",
	    json_head, pos);
	json_str(out, name);
	evbuffer_add_printf(out, "},\"processNum\":1,\"tags\":{\"origin\":\"%s\",\"nature\":\"%s\","
	    "\"scope\":\"%s\"},\"value\":{\"type\":\"%s\",\"value\":", tag_name(0, tags[0]),
	    tag_name(1, tags[1]), tag_name(2, tags[2]), type);
	if (s != NULL)
		json_str(out, s);
	else
		evbuffer_add_printf(out, "%" PRIu64, u);
	evbuffer_add(out, "}}", 2);
}

static void
row_out(struct evbuffer *out, enum admin_form form, const struct stat_row *r, int first)
{
	static const char *const objtype[] = { ['F'] = "Frontend", ['B'] = "Backend",
	    ['S'] = "Server" };
	char head[64], json_head[96];
	int firstf = 1;

	if (form == ADMIN_FORM_TEXT) {
		for (int c = 0; c < ST_NCOLS; c++) {
			if (c == ST_HAPROXY_END)
				evbuffer_add(out, "-,", 2);
			if (r->set[c] && r->s[c] != NULL)
				csv_str(out, r->s[c]);
			else if (r->set[c])
				evbuffer_add_printf(out, "%" PRIu64, r->u[c]);
			evbuffer_add(out, ",", 1);
		}
		evbuffer_add(out, "\n", 1);
		return;
	}
	snprintf(head, sizeof(head), "%c.%u.%u.", r->obj, r->iid, r->sid);
	snprintf(json_head, sizeof(json_head), "\"objType\":\"%s\",\"proxyId\":%u,\"id\":%u,",
	    objtype[(unsigned char)r->obj], r->iid, r->sid);
	if (form == ADMIN_FORM_JSON)
		evbuffer_add(out, first ? "[" : ",[", first ? 1 : 2);
	for (int c = 0; c < ST_NCOLS; c++) {
		if (!r->set[c])
			continue;
		admin_field_out(out, form, head, json_head, (unsigned int)c, stat_cols[c].name,
		    stat_cols[c].tags, stat_cols[c].type, r->u[c], r->s[c], firstf);
		firstf = 0;
	}
	if (form == ADMIN_FORM_JSON)
		evbuffer_add(out, "]", 1);
}

/* ---- the rows ---- */

static const char *
engine_conf_name(enum conf_engine e)
{
	static const char *const names[] = { [CONF_ENGINE_UNSET] = "auto",
	    [CONF_ENGINE_AUTO] = "auto", [CONF_ENGINE_SPLICE] = "splice",
	    [CONF_ENGINE_COPY] = "copy", [CONF_ENGINE_SOCKMAP] = "sockmap" };

	return names[e];
}

static void
row_common(struct stat_row *r, const struct conf_proxy *px, char obj, unsigned int iid,
    unsigned int sid, const char *svname)
{
	memset(r->set, 0, sizeof(r->set));
	r->obj = obj;
	r->iid = iid;
	r->sid = sid;
	row_s(r, ST_PXNAME, px->name);
	row_s(r, ST_SVNAME, svname);
	row_u(r, ST_PID, 1);
	row_u(r, ST_IID, iid);
	row_u(r, ST_SID, sid);
	row_u(r, ST_TYPE, obj == 'F' ? 0 : obj == 'B' ? 1 : 2);
	row_s(r, ST_MODE, "tcp");
}

static void
row_frontend(struct stat_row *r, const struct conf_proxy *px, unsigned int iid)
{
	unsigned int lim = LOAD(px->maxconn);

	row_common(r, px, 'F', iid, 0, "FRONTEND");
	row_u(r, ST_SCUR, LOAD(px->cur_sess));
	row_u(r, ST_SMAX, LOAD(px->max_sess));
	row_u(r, ST_SLIM, lim != 0 ? lim : listener_maxconn());
	row_u(r, ST_STOT, LOAD(px->total_sess));
	row_u(r, ST_CONN_TOT, LOAD(px->total_sess));
	row_u(r, ST_BIN, LOAD(px->fe_bytes[0]));
	row_u(r, ST_BOUT, LOAD(px->fe_bytes[1]));
	row_s(r, ST_STATUS, LOAD(px->stopped) ? "STOP" : "OPEN");
	row_u(r, ST_RATE_LIM, px->rate_limit);
	row_u(r, ST_DCON, LOAD(px->denied_conn));
	row_s(r, ST_ENGINE, engine_conf_name(px->engine));
	row_u(r, ST_SHAPED_BIN, LOAD(px->fe_shaped[0]));
	row_u(r, ST_SHAPED_BOUT, LOAD(px->fe_shaped[1]));
}

/* What the sessions that ended spent, and how they ended (sums over the
 * servers for a backend): averages over every session since the start
 * (or clear counters all), where HAProxy averages the last 1024. */
struct stat_times {
	uint64_t ended, q, c, t, cli_abrt, srv_abrt, retries, redisp;
	unsigned int qmax, cmax, tmax;
};

static void
times_add(struct stat_times *st, const struct conf_server *s)
{
	unsigned int m;

	st->ended += LOAD(s->ended);
	st->q += LOAD(s->qtime_ms);
	st->c += LOAD(s->ctime_ms);
	st->t += LOAD(s->ttime_ms);
	st->cli_abrt += LOAD(s->cli_abrt);
	st->srv_abrt += LOAD(s->srv_abrt);
	st->retries += LOAD(s->retries);
	st->redisp += LOAD(s->redispatches);
	if ((m = LOAD(s->qtime_max)) > st->qmax)
		st->qmax = m;
	if ((m = LOAD(s->ctime_max)) > st->cmax)
		st->cmax = m;
	if ((m = LOAD(s->ttime_max)) > st->tmax)
		st->tmax = m;
}

static void
row_times(struct stat_row *r, const struct stat_times *st)
{
	uint64_t n = st->ended != 0 ? st->ended : 1;

	row_u(r, ST_QTIME, st->q / n);
	row_u(r, ST_CTIME, st->c / n);
	row_u(r, ST_RTIME, 0);		/* no response time in TCP, as HAProxy */
	row_u(r, ST_TTIME, st->t / n);
	row_u(r, ST_QTIME_MAX, st->qmax);
	row_u(r, ST_CTIME_MAX, st->cmax);
	row_u(r, ST_RTIME_MAX, 0);
	row_u(r, ST_TTIME_MAX, st->tmax);
	row_u(r, ST_CLI_ABRT, st->cli_abrt);
	row_u(r, ST_SRV_ABRT, st->srv_abrt);
	row_u(r, ST_WRETR, st->retries);
	row_u(r, ST_WREDIS, st->redisp);
}

static void
row_server_checks(struct stat_row *r, const struct conf_server *s, uint64_t now)
{
	uint64_t down = LOAD(s->downtime_us), since = LOAD(s->down_since_us);

	row_u(r, ST_CHKDOWN, LOAD(s->chkdown));
	row_u(r, ST_LASTCHG, (now - LOAD(s->last_change_us)) / 1000000);
	row_u(r, ST_DOWNTIME, (down + (since != 0 ? now - since : 0)) / 1000000);
	if (!s->check)
		return;
	row_u(r, ST_CHKFAIL, LOAD(s->chkfail));
	row_u(r, ST_CHECK_RISE, s->check_rise);
	row_u(r, ST_CHECK_FALL, s->check_fall);
	row_u(r, ST_CHECK_HEALTH, LOAD(s->check_health));
}

static void
row_server(struct stat_row *r, const struct conf_proxy *px, const struct conf_server *s,
    unsigned int iid, unsigned int sid, uint64_t now)
{
	struct stat_times st = { 0 };

	row_common(r, px, 'S', iid, sid, s->name);
	row_u(r, ST_QCUR, LOAD(s->queue_len));
	row_u(r, ST_QMAX, LOAD(s->queue_max));
	if (s->maxqueue != 0)
		row_u(r, ST_QLIMIT, s->maxqueue);
	row_u(r, ST_SCUR, LOAD(s->cur_sess));
	row_u(r, ST_SMAX, LOAD(s->max_sess));
	if (s->maxconn != 0)
		row_u(r, ST_SLIM, s->maxconn);
	row_u(r, ST_STOT, LOAD(s->total_sess));
	row_u(r, ST_LBTOT, LOAD(s->total_sess));
	row_u(r, ST_BIN, LOAD(s->bytes[0]));
	row_u(r, ST_BOUT, LOAD(s->bytes[1]));
	row_u(r, ST_ECON, LOAD(s->connect_errors));
	/* As HAProxy: a server nothing checks is "no check" while up. */
	if (!s->check && !s->agent_check && LOAD(s->state) == CONF_SRV_UP)
		snprintf(r->text[0], sizeof(r->text[0]), "no check");
	else
		backend_status_text(s, r->text[0], sizeof(r->text[0]));
	row_s(r, ST_STATUS, r->text[0]);
	row_u(r, ST_WEIGHT, LOAD(s->cur_weight));
	row_u(r, ST_UWEIGHT, LOAD(s->cur_weight));
	row_u(r, ST_ACT, !s->backup);
	row_u(r, ST_BCK, s->backup != 0);
	row_server_checks(r, s, now);
	times_add(&st, s);
	row_times(r, &st);
	sockaddr_print((const struct sockaddr *)&s->addr.ss, r->text[1], sizeof(r->text[1]));
	row_s(r, ST_ADDR, r->text[1]);
	row_s(r, ST_ENGINE, engine_conf_name(px->engine));
}

static void
row_backend(struct stat_row *r, const struct conf_proxy *px, unsigned int iid)
{
	uint64_t cur = 0, tot = 0, econ = 0, weight = 0, act = 0, bck = 0;
	struct stat_times st = { 0 };

	for (const struct conf_server *s = px->servers; s != NULL; s = s->next) {
		int up = LOAD(s->state) == CONF_SRV_UP;

		times_add(&st, s);
		cur += LOAD(s->cur_sess);
		tot += LOAD(s->total_sess);
		econ += LOAD(s->connect_errors);
		if (up && !s->backup)
			act++;
		if (up && s->backup)
			bck++;
		if (up)
			weight += LOAD(s->cur_weight);
	}
	row_common(r, px, 'B', iid, 0, "BACKEND");
	row_u(r, ST_QCUR, LOAD(px->queue_len));
	row_u(r, ST_QMAX, LOAD(px->queue_max));
	row_u(r, ST_SCUR, cur);
	row_u(r, ST_STOT, tot);
	row_u(r, ST_LBTOT, tot);
	row_u(r, ST_BIN, LOAD(px->be_bytes[0]));
	row_u(r, ST_BOUT, LOAD(px->be_bytes[1]));
	row_u(r, ST_ECON, econ);
	/* A backend without servers (one that holds a stick table) is UP. */
	row_s(r, ST_STATUS, px->servers == NULL || backend_any_up(px) ? "UP" : "DOWN");
	row_u(r, ST_WEIGHT, weight);
	row_u(r, ST_UWEIGHT, weight);
	row_u(r, ST_ACT, act);
	row_u(r, ST_BCK, bck);
	row_s(r, ST_ALGO, lb_for(px->balance)->name);
	row_times(r, &st);
	row_s(r, ST_ENGINE, engine_conf_name(px->engine));
}

/* The rows of one proxy, in HAProxy's order: frontend, servers, backend. */
static void
stat_proxy(struct evbuffer *out, enum admin_form form, const struct conf_proxy *px,
    unsigned int iid, int *first, struct stat_row *r)
{
	uint64_t now = clock_now_us();
	unsigned int sid = 0;

	if (px->cap & CONF_PX_FE) {
		row_frontend(r, px, iid);
		row_out(out, form, r, *first);
		*first = 0;
	}
	if (!(px->cap & CONF_PX_BE))
		return;
	for (const struct conf_server *s = px->servers; s != NULL; s = s->next) {
		row_server(r, px, s, iid, ++sid, now);
		row_out(out, form, r, *first);
		*first = 0;
	}
	row_backend(r, px, iid);
	row_out(out, form, r, *first);
	*first = 0;
}

static void
admin_stat_csv_head(struct evbuffer *out)
{
	evbuffer_add(out, "# ", 2);
	for (int c = 0; c < ST_NCOLS; c++) {
		if (c == ST_HAPROXY_END)
			evbuffer_add(out, "-,", 2);
		evbuffer_add_printf(out, "%s,", stat_cols[c].name);
	}
	evbuffer_add(out, "\n", 1);
}

void
admin_stat_write(struct evbuffer *out, enum admin_form form)
{
	struct stat_row *r = malloc(sizeof(*r));
	unsigned int iid = 0;
	int first = 1;

	if (r == NULL) {
		admin_error(out, "out of memory");
		return;
	}
	if (form == ADMIN_FORM_TEXT)
		admin_stat_csv_head(out);
	else if (form == ADMIN_FORM_JSON)
		evbuffer_add(out, "[", 1);
	for (const struct conf_proxy *px = conf_current()->proxies; px != NULL; px = px->next)
		stat_proxy(out, form, px, ++iid, &first, r);
	if (form == ADMIN_FORM_JSON)
		evbuffer_add(out, "]\n", 2);
	free(r);
}

/* The optional argument of show stat / show info. */
int
admin_form(char **argv, const char *cmd, enum admin_form *form, struct evbuffer *out)
{
	*form = ADMIN_FORM_TEXT;
	if (argv[0] == NULL)
		return 0;
	if (strcmp(argv[0], "json") == 0)
		*form = ADMIN_FORM_JSON;
	else if (strcmp(argv[0], "typed") == 0)
		*form = ADMIN_FORM_TYPED;
	else {
		admin_error(out, "'%s': unknown argument '%s' (expected json or typed)", cmd,
		    argv[0]);
		return -1;
	}
	return 0;
}

void
admin_stat_show(char **argv, struct evbuffer *out)
{
	enum admin_form form;

	if (admin_form(argv, "show stat", &form, out) == 0)
		admin_stat_write(out, form);
}

/* ---- weights ---- */

void
admin_stat_get_weight(char **argv, struct evbuffer *out)
{
	struct conf_proxy *be;
	struct conf_server *s;

	if ((s = admin_server(argv[0], &be, out)) != NULL)
		evbuffer_add_printf(out, "%u (initial %u)\n", LOAD(s->cur_weight), s->weight);
}

/* "N" (0..256) or "N%" of the configured weight. */
void
admin_stat_set_weight(char **argv, struct evbuffer *out)
{
	struct conf_proxy *be;
	struct conf_server *s;
	unsigned long long v;
	char num[32];
	size_t len = strlen(argv[1]);
	int pct = len > 1 && argv[1][len - 1] == '%';

	if ((s = admin_server(argv[0], &be, out)) == NULL)
		return;
	snprintf(num, sizeof(num), "%.*s", (int)(len - (size_t)pct), argv[1]);
	if (admin_number(num, "weight", 0, pct ? 100 : 256, &v, out) == -1)
		return;
	if (pct)
		v = v * s->weight / 100;
	backend_set_weight(be, s, (unsigned int)v);
	log_notice("server %s/%s weight set to %llu", be->name, s->name, v);
}

/* ---- show servers state ---- */

/* HAProxy's numbers: srv_op_state, srv_admin_state, srv_check_status,
 * srv_check_result. splicer keeps no last check's layer, so a finished
 * check reads HCHK_STATUS_CHECKED (3). */
static void
servers_state_codes(const struct conf_server *s, unsigned int c[4])
{
	enum conf_server_state st = LOAD(s->state);
	enum conf_server_admin adm = LOAD(s->admin), agent = LOAD(s->agent_admin);

	c[0] = st == CONF_SRV_UP ? 2 : st == CONF_SRV_DRAIN && LOAD(s->check_nolb) ? 3 :
	    st == CONF_SRV_DRAIN ? 2 : 0;
	c[1] = (adm == CONF_ADM_MAINT || agent == CONF_ADM_MAINT ? 0x01 : 0) |
	    (adm == CONF_ADM_DRAIN || agent == CONF_ADM_DRAIN ? 0x08 : 0);
	c[2] = s->check ? 3 : 1;
	c[3] = !s->check ? 0 : LOAD(s->check_down) ? 2 : LOAD(s->check_nolb) ? 4 : 3;
}

static void
servers_state_line(struct evbuffer *out, const struct conf_proxy *be, unsigned int iid,
    const struct conf_server *s, unsigned int sid, uint64_t now)
{
	char host[SOCKADDR_STRLEN];
	unsigned int c[4];
	const struct sockaddr *sa = (const struct sockaddr *)&s->addr.ss;

	servers_state_codes(s, c);
	if (getnameinfo(sa, sizeof(s->addr.ss), host, sizeof(host), NULL, 0, NI_NUMERICHOST) != 0)
		snprintf(host, sizeof(host), "-");
	evbuffer_add_printf(out, "%u %s %u %s %s %u %u %u %u %" PRIu64 " %u %u %u %u %u 0 0 - %u -"
	    " 0 %u - - %u\n", iid, be->name, sid, s->name, host, c[0], c[1], LOAD(s->cur_weight),
	    s->weight, (now - LOAD(s->last_change_us)) / 1000000, c[2], c[3],
	    LOAD(s->check_health), s->check ? 6 : 0, s->agent_check ? 6 : 0, sockaddr_port(sa),
	    s->check_port, s->agent_port);
}

/* "show servers state [BACKEND]": HAProxy's version 1 layout. */
void
admin_stat_servers_state(char **argv, struct evbuffer *out)
{
	const struct conf_proxy *only = NULL;
	uint64_t now = clock_now_us();
	unsigned int iid = 0;

	if (argv[0] != NULL &&
	    (only = conf_find_proxy(conf_current(), argv[0], CONF_PX_BE)) == NULL) {
		admin_error(out, "no backend '%s'", argv[0]);
		return;
	}
	evbuffer_add_printf(out, "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state "
	    "srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status "
	    "srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id "
	    "srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port "
	    "srv_check_addr srv_agent_addr srv_agent_port\n");
	for (const struct conf_proxy *px = conf_current()->proxies; px != NULL; px = px->next) {
		unsigned int sid = 0;

		iid++;
		if (!(px->cap & CONF_PX_BE) || (only != NULL && px != only))
			continue;
		for (const struct conf_server *s = px->servers; s != NULL; s = s->next)
			servers_state_line(out, px, iid, s, ++sid, now);
	}
}

/* ---- clear counters ---- */

#define ZERO(x) __atomic_store_n(&(x), 0, __ATOMIC_RELAXED)

/* "clear counters": the maxima; "clear counters all": every counter. */
static void
admin_stat_clear(int all)
{
	for (struct conf_proxy *px = conf_current()->proxies; px != NULL; px = px->next) {
		ZERO(px->max_sess);
		ZERO(px->queue_max);
		for (struct conf_server *s = px->servers; s != NULL; s = s->next) {
			ZERO(s->max_sess);
			ZERO(s->qtime_max);
			ZERO(s->ctime_max);
			ZERO(s->ttime_max);
			ZERO(s->queue_max);
			if (!all)
				continue;
			ZERO(s->ended);
			ZERO(s->qtime_ms);
			ZERO(s->ctime_ms);
			ZERO(s->ttime_ms);
			ZERO(s->cli_abrt);
			ZERO(s->srv_abrt);
			ZERO(s->retries);
			ZERO(s->redispatches);
			ZERO(s->chkfail);
			ZERO(s->total_sess);
			ZERO(s->bytes[0]);
			ZERO(s->bytes[1]);
			ZERO(s->connect_errors);
			ZERO(s->chkdown);
		}
		if (!all)
			continue;
		ZERO(px->total_sess);
		ZERO(px->denied_conn);
		for (int t = 0; t < CONF_TERM_SLOTS; t++)
			ZERO(px->term[t]);
		for (int d = 0; d < 2; d++) {
			ZERO(px->fe_bytes[d]);
			ZERO(px->be_bytes[d]);
			ZERO(px->fe_shaped[d]);
		}
	}
	log_notice("counters cleared%s (admin socket)", all ? " (all)" : "");
}

void
admin_stat_clear_max(char **argv, struct evbuffer *out)
{
	(void)argv;
	(void)out;
	admin_stat_clear(0);
}

void
admin_stat_clear_all(char **argv, struct evbuffer *out)
{
	(void)argv;
	(void)out;
	admin_stat_clear(1);
}
