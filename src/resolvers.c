/*
 * resolvers: DNS resolution of servers at run time (see resolvers.h).
 *
 * One resolution per name per backend: its servers share its answers, so
 * that two servers of a backend never get the same address. A round asks
 * every nameserver; without a valid answer within "timeout retry" it asks
 * again, at most resolve_retries times. When every nameserver answered
 * with an error, an A query falls back to AAAA (and the reverse) once,
 * as HAProxy does; then the round ends with the last error.
 */
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#include "backend.h"
#include "clock.h"
#include "conf_resolvers.h"
#include "dns_msg.h"
#include "log.h"
#include "resolvers.h"
#include "sockaddr.h"

/* Datagrams read per wakeup of one nameserver's socket. */
#define RS_READ_BURST	32
/* The largest UDP payload. */
#define RS_DGRAM_MAX	65535

/* The outcome of a round, HAProxy's statuses. */
enum rs_status { RS_NONE = 0, RS_VALID, RS_NX, RS_REFUSED, RS_TIMEOUT, RS_OTHER };

struct rs_sec;

struct rs_ns {
	const struct conf_nameserver *c;
	struct rs_sec *sec;
	int fd;
	struct event ev;
	/* HAProxy's counters of show resolvers */
	uint64_t sent, valid, nx, refused, other, invalid, too_big, truncated, outdated;
};

/* A server of a resolution. */
struct rs_srv {
	struct conf_server *s;
	int has;		/* it holds an address its resolution gave (or init-addr) */
	uint64_t last_seen;	/* when an answer last held its address */
};

struct rs_res {
	struct rs_sec *sec;
	struct conf_proxy *be;
	const char *name;	/* the servers' host */
	int srv_rec;		/* an SRV name */
	int prefer;		/* AF_INET or AF_INET6 */
	unsigned int opts;	/* CONF_RSOPT_* of its first server */
	int qtype;		/* of the query in flight */
	int fallback;		/* the other family is being asked in this try */
	uint16_t id;
	int pending;		/* a query is in flight */
	unsigned int tries;	/* queries of this round */
	unsigned int errors;	/* error answers to this query */
	enum rs_status last_err;	/* of this query */
	enum rs_status logged;	/* the status last logged ... */
	char logged_why[300];	/* ... and its reason */
	char why[300];		/* the first bad answer of this round */
	uint64_t last_valid;	/* when the last valid answer came (the start, before) */
	struct rs_srv *srvs;
	unsigned int nsrvs;
	struct event timer;	/* the next round, or the query's retry */
};

struct rs_sec {
	const struct conf_resolvers *c;
	struct rs_ns *ns;
	unsigned int nns;
};

static struct rs_sec *rs_secs;
static unsigned int rs_nsecs;
static struct rs_res *rs_res;
static unsigned int rs_nres;
static uint8_t *rs_buf;		/* one datagram, RS_DGRAM_MAX */

static const char *
rs_status_name(enum rs_status st)
{
	switch (st) {
	case RS_VALID:		return "valid";
	case RS_NX:		return "NX";
	case RS_REFUSED:	return "refused";
	case RS_TIMEOUT:	return "timeout";
	case RS_OTHER:		return "other";
	default:		return "none";
	}
}

static int
rs_hold_of(enum rs_status st)
{
	switch (st) {
	case RS_NX:		return CONF_HOLD_NX;
	case RS_REFUSED:	return CONF_HOLD_REFUSED;
	case RS_TIMEOUT:	return CONF_HOLD_TIMEOUT;
	default:		return CONF_HOLD_OTHER;
	}
}

static void
rs_arm(struct rs_res *r, uint64_t us)
{
	struct timeval tv = { .tv_sec = (time_t)(us / 1000000),
	    .tv_usec = (suseconds_t)(us % 1000000) };

	evtimer_add(&r->timer, &tv);
}

/* ---- applying answers ---- */

/* An address of an answer, for the servers of a resolution. */
struct rs_item {
	struct sockaddr_storage addr;	/* port: SRV's, else 0 */
	socklen_t len;
	uint16_t port, weight;		/* SRV */
	int taken;
};

static int
rs_same(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET)
		return memcmp(&((const struct sockaddr_in *)a)->sin_addr,
		    &((const struct sockaddr_in *)b)->sin_addr, 4) == 0;
	if (a->ss_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		    &((const struct sockaddr_in6 *)b)->sin6_addr, 16) == 0;
	return 0;
}

/* The address of SRV target t among the additional records, of the
 * preferred family if it has both. */
static const struct dns_rr *
rs_target_addr(const struct dns_answer *a, const char *t, int prefer)
{
	const struct dns_rr *any = NULL;

	for (unsigned int k = 0; k < a->n; k++) {
		const struct dns_rr *x = &a->rr[k];

		if (x->type == DNS_T_SRV || strcmp(x->name, t) != 0)
			continue;
		if (x->addr.ss_family == prefer)
			return x;
		if (any == NULL)
			any = x;
	}
	return any;
}

/* The addresses of answer a into it (at most DNS_MAX_RECORDS): how many. */
static unsigned int
rs_items(const struct rs_res *r, const struct dns_answer *a, struct rs_item *it)
{
	unsigned int n = 0;

	for (unsigned int k = 0; k < a->n; k++) {
		const struct dns_rr *x = &a->rr[k], *t = x;

		if (x->section != 0 || x->type != r->qtype)
			continue;
		if (r->srv_rec && (t = rs_target_addr(a, x->target, r->prefer)) == NULL) {
			log_warning("resolvers %s: SRV record of '%s' names '%s', whose address is "
			    "not among the additional records: not used", r->sec->c->name,
			    r->name, x->target);
			continue;
		}
		memset(&it[n], 0, sizeof(it[n]));
		memcpy(&it[n].addr, &t->addr, t->addrlen);
		it[n].len = t->addrlen;
		it[n].port = r->srv_rec ? x->port : 0;
		it[n].weight = x->weight;
		n++;
	}
	return n;
}

static int
rs_item_is(const struct rs_res *r, const struct rs_item *it, const struct conf_server *s)
{
	return s->addr.len != 0 && rs_same(&it->addr, &s->addr.ss) &&
	    (!r->srv_rec || it->port == s->addr.port);
}

/* HAProxy's weight of an SRV record: weight / 256 + 1 (1..256). */
static void
rs_srv_weight(struct rs_res *r, struct rs_srv *v, const struct rs_item *it)
{
	unsigned int w = it->weight / 256 + 1;

	if (!r->srv_rec || (v->s->dns.opts & CONF_RSOPT_IGNORE_WEIGHT) || v->s->cur_weight == w)
		return;
	backend_set_weight(r->be, v->s, w);
}

/* Give server v the address of item it. */
static void
rs_give(struct rs_res *r, struct rs_srv *v, struct rs_item *it, uint64_t now)
{
	char from[SOCKADDR_STRLEN] = "none", to[SOCKADDR_STRLEN];
	struct sockaddr_storage ss = it->addr;

	if (v->s->addr.len != 0)
		sockaddr_print((const struct sockaddr *)&v->s->addr.ss, from, sizeof(from));
	backend_set_addr(v->s, (const struct sockaddr *)&ss, it->len, it->port);
	sockaddr_print((const struct sockaddr *)&v->s->addr.ss, to, sizeof(to));
	log_notice("server %s/%s changed its address from %s to %s by resolvers %s ('%s')",
	    r->be->name, v->s->name, from, to, r->sec->c->name, r->name);
	v->has = 1;
	v->last_seen = now;
	it->taken = 1;
	rs_srv_weight(r, v, it);
}

/* The first item server v may take: not taken unless duplicates are allowed. */
static struct rs_item *
rs_free_item(struct rs_res *r, struct rs_item *it, unsigned int n)
{
	for (unsigned int k = 0; k < n; k++) {
		if (!it[k].taken || (r->opts & CONF_RSOPT_ALLOW_DUP_IP))
			return &it[k];
	}
	return NULL;
}

/* Servers whose address is still in the answer keep it; the others
 * lose theirs once it has been missing for hold obsolete. */
static void
rs_keep(struct rs_res *r, struct rs_item *it, unsigned int n, uint64_t now)
{
	uint64_t obsolete = r->sec->c->hold[CONF_HOLD_OBSOLETE];

	for (unsigned int i = 0; i < r->nsrvs; i++) {
		struct rs_srv *v = &r->srvs[i];
		unsigned int k;

		if (!v->has)
			continue;
		for (k = 0; k < n; k++) {
			if (rs_item_is(r, &it[k], v->s) &&
			    (!it[k].taken || (r->opts & CONF_RSOPT_ALLOW_DUP_IP)))
				break;
		}
		if (k < n) {
			it[k].taken = 1;
			v->last_seen = now;
			rs_srv_weight(r, v, &it[k]);
		} else if (now - v->last_seen >= obsolete) {
			v->has = 0;
		}
	}
}

/* A valid answer: servers keep, change or get addresses, or go into
 * maintenance when there is none left for them. */
static void
rs_apply(struct rs_res *r, const struct dns_answer *a, uint64_t now)
{
	struct rs_item it[DNS_MAX_RECORDS];
	unsigned int n = rs_items(r, a, it);

	rs_keep(r, it, n, now);
	for (unsigned int i = 0; i < r->nsrvs; i++) {
		struct rs_srv *v = &r->srvs[i];
		struct rs_item *f;

		if (!v->has && (f = rs_free_item(r, it, n)) != NULL)
			rs_give(r, v, f, now);
		if (v->has == __atomic_load_n(&v->s->dns_maint, __ATOMIC_RELAXED)) {
			if (!v->has)
				log_notice("server %s/%s is going into maintenance: no address left "
				    "for it in the answer for '%s' (resolvers %s)", r->be->name,
				    v->s->name, r->name, r->sec->c->name);
			backend_set_dns(r->be, v->s, !v->has);
		}
	}
}

/* A round ended in error st: once no valid answer came for its hold,
 * the servers go into maintenance. */
static void
rs_fail(struct rs_res *r, enum rs_status st, uint64_t now)
{
	uint64_t hold = r->sec->c->hold[rs_hold_of(st)];

	if (now - r->last_valid < hold)
		return;
	for (unsigned int i = 0; i < r->nsrvs; i++) {
		struct rs_srv *v = &r->srvs[i];

		if (__atomic_load_n(&v->s->dns_maint, __ATOMIC_RELAXED))
			continue;
		log_notice("server %s/%s is going into maintenance: resolution of '%s' (resolvers "
		    "%s) failed with status %s, and no valid answer came in the last %llu ms",
		    r->be->name, v->s->name, r->name, r->sec->c->name, rs_status_name(st),
		    (unsigned long long)(hold / 1000));
		backend_set_dns(r->be, v->s, 1);
	}
}

/* ---- queries ---- */

static void
rs_send(struct rs_res *r)
{
	uint8_t q[DNS_NAME_MAX + 64];
	uint16_t id;
	int len;

	if (getrandom(&id, sizeof(id), GRND_NONBLOCK) != sizeof(id))
		id = (uint16_t)(clock_now_us() ^ (uintptr_t)r);
	r->id = id;
	r->pending = 1;
	r->errors = 0;
	r->last_err = RS_NONE;
	r->tries++;
	if ((len = dns_query_build(q, sizeof(q), id, r->name, r->qtype,
	    (uint16_t)r->sec->c->payload)) == -1) {
		log_err("resolvers %s: '%s' is not a name that can be asked", r->sec->c->name,
		    r->name);
		r->pending = 0;
		rs_arm(r, r->sec->c->timeout_resolve);
		return;
	}
	for (unsigned int i = 0; i < r->sec->nns; i++) {
		struct rs_ns *ns = &r->sec->ns[i];

		if (send(ns->fd, q, (size_t)len, 0) == len)
			ns->sent++;
		else
			log_debug("resolvers %s: nameserver %s: send: %s", r->sec->c->name,
			    ns->c->name, strerror(errno));
	}
	rs_arm(r, r->sec->c->timeout_retry);
}

static int
rs_first_qtype(const struct rs_res *r)
{
	return r->srv_rec ? DNS_T_SRV : r->prefer == AF_INET ? DNS_T_A : DNS_T_AAAA;
}

/* Log a change of the status of r's rounds. */
static void
rs_log_status(struct rs_res *r, enum rs_status st, const char *why)
{
	if (st == r->logged && strcmp(why, r->logged_why) == 0)
		return;
	snprintf(r->logged_why, sizeof(r->logged_why), "%s", why);
	if (st == RS_VALID)
		log_notice("resolvers %s: '%s' resolves again", r->sec->c->name, r->name);
	else
		log_warning("resolvers %s: resolution of '%s' failed: %s%s%s", r->sec->c->name,
		    r->name, rs_status_name(st), why[0] != '\0' ? ", " : "", why);
	r->logged = st;
}

/* The round is over: st, and a valid answer a (or NULL). */
static void
rs_end(struct rs_res *r, enum rs_status st, const struct dns_answer *a, const char *why)
{
	uint64_t now = clock_now_us();

	r->pending = 0;
	r->tries = 0;
	r->fallback = 0;
	rs_log_status(r, st, st == RS_VALID ? "" : r->why[0] != '\0' ? r->why : why);
	r->why[0] = '\0';
	if (st == RS_VALID) {
		r->last_valid = now;
		rs_apply(r, a, now);
	} else {
		rs_fail(r, st, now);
	}
	rs_arm(r, r->sec->c->timeout_resolve);
}

/* No valid answer to this query: the other family once (not SRV, not
 * after a timeout), then the preferred one again, resolve_retries queries
 * in all; then the round ends with st. */
static void
rs_retry(struct rs_res *r, enum rs_status st, const char *why)
{
	if (r->tries >= r->sec->c->resolve_retries) {
		rs_end(r, st, NULL, why);
		return;
	}
	if (!r->srv_rec && st != RS_TIMEOUT && !r->fallback) {
		r->fallback = 1;
		r->qtype = r->qtype == DNS_T_A ? DNS_T_AAAA : DNS_T_A;
	} else {
		r->fallback = 0;
		r->qtype = rs_first_qtype(r);
	}
	rs_send(r);
}

static void
rs_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct rs_res *r = arg;

	(void)fd;
	(void)what;
	if (r->pending) {	/* no valid answer within timeout retry */
		rs_retry(r, r->last_err != RS_NONE ? r->last_err : RS_TIMEOUT,
		    r->last_err != RS_NONE ? "" : "no answer");
		return;
	}
	r->tries = 0;
	r->fallback = 0;
	r->qtype = rs_first_qtype(r);
	rs_send(r);
}

/* ---- answers ---- */

/* Does a hold a record the query asked for? */
static int
rs_has_records(const struct rs_res *r, const struct dns_answer *a)
{
	for (unsigned int k = 0; k < a->n; k++) {
		if (a->rr[k].section == 0 && a->rr[k].type == r->qtype)
			return 1;
	}
	return 0;
}

/* The status of a parsed answer, and its counter on ns. */
static enum rs_status
rs_judge(struct rs_ns *ns, const struct rs_res *r, const struct dns_answer *a)
{
	if (a->truncated) {
		ns->truncated++;
		return RS_OTHER;
	}
	switch (a->rcode) {
	case DNS_RC_NOERROR:
		if (rs_has_records(r, a)) {
			ns->valid++;
			return RS_VALID;
		}
		ns->other++;
		return RS_OTHER;
	case DNS_RC_NXDOMAIN:
		ns->nx++;
		return RS_NX;
	case DNS_RC_REFUSED:
		ns->refused++;
		return RS_REFUSED;
	default:
		ns->other++;
		return RS_OTHER;
	}
}

static struct rs_res *
rs_pending_of(const struct rs_sec *sec, int id)
{
	for (unsigned int i = 0; i < rs_nres; i++) {
		if (rs_res[i].sec == sec && rs_res[i].pending && rs_res[i].id == id)
			return &rs_res[i];
	}
	return NULL;
}

/* One datagram of len bytes from ns. */
static void
rs_datagram(struct rs_ns *ns, size_t len)
{
	static struct dns_answer a;	/* control thread only; large */
	struct rs_res *r = rs_pending_of(ns->sec, dns_msg_id(rs_buf, len));
	char err[256], why[300];
	enum rs_status st;

	if (r == NULL) {	/* another id: late, or not ours */
		ns->outdated++;
		return;
	}
	if (len > ns->sec->c->payload) {
		ns->too_big++;
		log_warning("resolvers %s: nameserver %s sent %zu bytes for '%s', more than "
		    "accepted_payload_size %u: ignored", ns->sec->c->name, ns->c->name, len,
		    r->name, ns->sec->c->payload);
		return;
	}
	if (dns_answer_parse(rs_buf, len, r->name, r->qtype, &a, err, sizeof(err)) == -1) {
		ns->invalid++;
		st = RS_OTHER;
		snprintf(why, sizeof(why), "invalid answer from %s: %s", ns->c->name, err);
	} else {
		st = rs_judge(ns, r, &a);
		snprintf(why, sizeof(why), "%s from %s", a.truncated ? "truncated answer" :
		    a.rcode != 0 ? "error answer" : "answer without a record", ns->c->name);
	}
	if (st == RS_VALID) {
		rs_end(r, st, &a, "");
		return;
	}
	r->last_err = st;
	if (r->why[0] == '\0')
		snprintf(r->why, sizeof(r->why), "%s", why);
	if (++r->errors >= ns->sec->nns) {	/* every nameserver said no */
		evtimer_del(&r->timer);
		rs_retry(r, st, why);
	}
}

static void
rs_on_read(evutil_socket_t fd, short what, void *arg)
{
	struct rs_ns *ns = arg;

	(void)what;
	for (int i = 0; i < RS_READ_BURST; i++) {
		ssize_t n = recv(fd, rs_buf, RS_DGRAM_MAX, MSG_TRUNC);

		if (n == -1) {
			if (errno != EAGAIN && errno != EINTR)
				log_debug("resolvers %s: nameserver %s: %s", ns->sec->c->name,
				    ns->c->name, strerror(errno));	/* ICMP unreachable */
			if (errno != EINTR)
				return;
			continue;
		}
		rs_datagram(ns, (size_t)n > RS_DGRAM_MAX ? RS_DGRAM_MAX + 1 : (size_t)n);
	}
}

/* ---- start and stop ---- */

static int
rs_open_ns(struct event_base *base, struct rs_ns *ns)
{
	ns->fd = socket(ns->c->ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ns->fd == -1 || connect(ns->fd, (const struct sockaddr *)&ns->c->ss, ns->c->len) == -1) {
		log_err("resolvers %s: nameserver %s: %s", ns->sec->c->name, ns->c->name,
		    strerror(errno));
		return -1;
	}
	event_assign(&ns->ev, base, ns->fd, EV_READ | EV_PERSIST, rs_on_read, ns);
	return event_add(&ns->ev, NULL);
}

static int
rs_open_secs(struct event_base *base, const struct conf *c)
{
	unsigned int n = 0;

	for (const struct conf_resolvers *rs = c->resolvers; rs != NULL; rs = rs->next)
		n++;
	if (n == 0 || (rs_secs = calloc(n, sizeof(*rs_secs))) == NULL)
		return n == 0 ? 0 : -1;
	for (const struct conf_resolvers *rs = c->resolvers; rs != NULL; rs = rs->next) {
		struct rs_sec *sec = &rs_secs[rs_nsecs++];
		const struct conf_nameserver *cn = rs->ns;

		sec->c = rs;
		if ((sec->ns = calloc(rs->nns, sizeof(*sec->ns))) == NULL)
			return -1;
		for (; cn != NULL; cn = cn->next) {
			struct rs_ns *ns = &sec->ns[sec->nns++];

			ns->c = cn;
			ns->sec = sec;
			if (rs_open_ns(base, ns) == -1)
				return -1;
		}
	}
	return 0;
}

static struct rs_sec *
rs_sec_of(const struct conf_resolvers *c)
{
	for (unsigned int i = 0; i < rs_nsecs; i++) {
		if (rs_secs[i].c == c)
			return &rs_secs[i];
	}
	return NULL;
}

/* The resolution of s in be, made when it is the first of its name. */
static struct rs_res *
rs_res_of(struct conf_proxy *be, struct conf_server *s, unsigned int cap)
{
	struct rs_sec *sec = rs_sec_of(s->dns.rs);
	struct rs_res *r;

	for (unsigned int i = 0; i < rs_nres; i++) {
		r = &rs_res[i];
		if (r->be == be && r->sec == sec && strcmp(r->name, s->addr.host) == 0)
			return r;
	}
	if (sec == NULL || rs_nres == cap)
		return NULL;
	r = &rs_res[rs_nres++];
	r->sec = sec;
	r->be = be;
	r->name = s->addr.host;
	r->srv_rec = conf_resolvers_is_srv(s);
	r->prefer = s->dns.prefer == AF_INET ? AF_INET : AF_INET6;
	r->opts = s->dns.opts;
	return r;
}

static int
rs_add_server(struct rs_res *r, struct conf_server *s, uint64_t now)
{
	struct rs_srv *v = realloc(r->srvs, (r->nsrvs + 1) * sizeof(*v));

	if (v == NULL)
		return -1;
	r->srvs = v;
	v = &r->srvs[r->nsrvs++];
	v->s = s;
	v->has = !s->dns.no_addr && s->addr.len != 0;
	v->last_seen = now;
	return 0;
}

/* The resolutions of c's servers, each with its servers. */
static int
rs_make_res(struct event_base *base, struct conf *c)
{
	unsigned int cap = 0;
	uint64_t now = clock_now_us();

	for (struct conf_proxy *px = c->proxies; px != NULL; px = px->next) {
		for (struct conf_server *s = px->servers; s != NULL; s = s->next)
			cap += s->dns.rs != NULL;
	}
	if (cap == 0 || (rs_res = calloc(cap, sizeof(*rs_res))) == NULL)
		return cap == 0 ? 0 : -1;
	for (struct conf_proxy *px = c->proxies; px != NULL; px = px->next) {
		for (struct conf_server *s = px->servers; s != NULL; s = s->next) {
			struct rs_res *r;

			if (s->dns.rs == NULL)
				continue;
			if ((r = rs_res_of(px, s, cap)) == NULL || rs_add_server(r, s, now) == -1)
				return -1;
		}
	}
	for (unsigned int i = 0; i < rs_nres; i++) {
		rs_res[i].last_valid = now;	/* hold counts from the start */
		evtimer_assign(&rs_res[i].timer, base, rs_on_timer, &rs_res[i]);
		rs_arm(&rs_res[i], 0);
	}
	return 0;
}

int
resolvers_start(struct event_base *base, struct conf *c)
{
	if (rs_buf == NULL && c->resolvers != NULL &&
	    (rs_buf = malloc(RS_DGRAM_MAX + 1)) == NULL)
		return -1;
	if (rs_open_secs(base, c) == -1 || rs_make_res(base, c) == -1) {
		resolvers_stop();
		return -1;
	}
	return 0;
}

void
resolvers_stop(void)
{
	for (unsigned int i = 0; i < rs_nres; i++) {
		evtimer_del(&rs_res[i].timer);
		free(rs_res[i].srvs);
	}
	free(rs_res);
	rs_res = NULL;
	rs_nres = 0;
	for (unsigned int i = 0; i < rs_nsecs; i++) {
		for (unsigned int k = 0; k < rs_secs[i].nns; k++) {
			struct rs_ns *ns = &rs_secs[i].ns[k];

			if (ns->fd >= 0 && event_initialized(&ns->ev))
				event_del(&ns->ev);
			if (ns->fd >= 0)
				close(ns->fd);
		}
		free(rs_secs[i].ns);
	}
	free(rs_secs);
	rs_secs = NULL;
	rs_nsecs = 0;
	free(rs_buf);
	rs_buf = NULL;
}
