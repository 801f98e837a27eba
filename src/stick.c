/*
 * stick: the table (hash chains + LRU list under one mutex), keys, the
 * data types and the admin's filters. See stick.h.
 */
#include "config.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stick.h"
#include "units.h"

static const char *const stick_data_names[STICK_NDATA] = {
	[STICK_SERVER_ID] = "server_id",
	[STICK_GPC0] = "gpc0",
	[STICK_GPC0_RATE] = "gpc0_rate",
	[STICK_CONN_CNT] = "conn_cnt",
	[STICK_CONN_RATE] = "conn_rate",
	[STICK_CONN_CUR] = "conn_cur",
	[STICK_SESS_CNT] = "sess_cnt",
	[STICK_SESS_RATE] = "sess_rate",
	[STICK_BYTES_IN_CNT] = "bytes_in_cnt",
	[STICK_BYTES_IN_RATE] = "bytes_in_rate",
	[STICK_BYTES_OUT_CNT] = "bytes_out_cnt",
	[STICK_BYTES_OUT_RATE] = "bytes_out_rate",
	[STICK_BWLIM_IN_RATE] = "bwlim_in_rate",
	[STICK_BWLIM_OUT_RATE] = "bwlim_out_rate",
};

static const char *const stick_type_names[] = {
	[STICK_IP] = "ip", [STICK_IPV6] = "ipv6", [STICK_INTEGER] = "integer",
	[STICK_STRING] = "string",
};

/* HAProxy data types that mean nothing to a TCP proxy. */
static const char *const stick_http_data[] = {
	"http_req_cnt", "http_req_rate", "http_err_cnt", "http_err_rate",
	"http_fail_cnt", "http_fail_rate",
};

int
stick_data_is_rate(enum stick_data d)
{
	return d == STICK_GPC0_RATE || d == STICK_CONN_RATE || d == STICK_SESS_RATE ||
	    d == STICK_BYTES_IN_RATE || d == STICK_BYTES_OUT_RATE ||
	    d == STICK_BWLIM_IN_RATE || d == STICK_BWLIM_OUT_RATE;
}

int
stick_data_parse(const char *name)
{
	for (int d = 0; d < STICK_NDATA; d++) {
		if (strcmp(name, stick_data_names[d]) == 0)
			return d;
	}
	return -1;
}

const char *
stick_data_name(enum stick_data d)
{
	return stick_data_names[d];
}

int
stick_type_parse(const char *s, enum stick_type *type)
{
	for (size_t i = 0; i < sizeof(stick_type_names) / sizeof(*stick_type_names); i++) {
		if (strcmp(s, stick_type_names[i]) == 0) {
			*type = (enum stick_type)i;
			return 0;
		}
	}
	return -1;
}

const char *
stick_type_name(enum stick_type type)
{
	return stick_type_names[type];
}

struct stick_table *
stick_table_new(const char *name, enum stick_type type, size_t key_len, unsigned int size,
    uint64_t expire, int line)
{
	struct stick_table *t = calloc(1, sizeof(*t));
	unsigned int n = 16;

	if (t == NULL || (t->name = strdup(name)) == NULL) {
		free(t);
		return NULL;
	}
	/* About one entry per chain when full, within 1M chains. */
	while (n < size && n < (1U << 20))
		n <<= 1;
	if ((t->chains = calloc(n, sizeof(*t->chains))) == NULL) {
		free(t->name);
		free(t);
		return NULL;
	}
	t->nchains = n;
	t->type = type;
	t->key_len = type == STICK_IP ? 4 : type == STICK_IPV6 ? 16 : type == STICK_INTEGER ? 4 :
	    key_len;
	t->size = size;
	t->expire = expire;
	t->line = line;
	pthread_mutex_init(&t->lock, NULL);
	return t;
}

void
stick_table_free_list(struct stick_table *t)
{
	while (t != NULL) {
		struct stick_table *next = t->next;

		for (struct stick_list *l = &t->lru; l != NULL; l = l == &t->lru ? &t->held : NULL) {
			for (struct stick_entry *e = l->newest, *o; e != NULL; e = o) {
				o = e->older;
				free(e);
			}
		}
		pthread_mutex_destroy(&t->lock);
		free(t->chains);
		free(t->name);
		free(t);
		t = next;
	}
}

int
stick_store_parse(struct stick_table *t, const char *word, char *err, size_t errlen)
{
	char name[64], uerr[128];
	const char *paren = strchr(word, '(');
	size_t nlen = paren != NULL ? (size_t)(paren - word) : strlen(word);
	int d;

	if (nlen >= sizeof(name)) {
		snprintf(err, errlen, "unknown stick-table data type '%s'", word);
		return -1;
	}
	memcpy(name, word, nlen);
	name[nlen] = '\0';
	if ((d = stick_data_parse(name)) == -1) {
		for (size_t i = 0; i < sizeof(stick_http_data) / sizeof(*stick_http_data); i++) {
			if (strcmp(name, stick_http_data[i]) == 0) {
				snprintf(err, errlen, "stick-table data type '%s' is not supported: "
				    "it counts HTTP requests and splicer is a TCP proxy", name);
				return -1;
			}
		}
		snprintf(err, errlen, "unknown or unsupported stick-table data type '%s' "
		    "(supported: server_id, gpc0, gpc0_rate(P), conn_cnt, conn_cur, "
		    "conn_rate(P), sess_cnt, sess_rate(P), bytes_in_cnt, bytes_in_rate(P), "
		    "bytes_out_cnt, bytes_out_rate(P), bwlim_in_rate(P), bwlim_out_rate(P))", name);
		return -1;
	}
	if (stick_data_is_rate((enum stick_data)d)) {
		char per[64];
		size_t plen;

		if (paren == NULL || (plen = strlen(paren + 1)) < 2 || paren[plen] != ')' ||
		    plen - 1 >= sizeof(per)) {
			snprintf(err, errlen, "stick-table data type '%s' expects a period, "
			    "e.g. '%s(10s)'", name, name);
			return -1;
		}
		memcpy(per, paren + 1, plen - 1);
		per[plen - 1] = '\0';
		if (units_parse_time(per, &t->period[d], uerr, sizeof(uerr)) == -1 ||
		    t->period[d] < 1000) {
			snprintf(err, errlen, "stick-table data type '%s': period '%s': %s", name, per,
			    t->period[d] < 1000 && uerr[0] == '\0' ? "at least 1ms" : uerr);
			return -1;
		}
	} else if (paren != NULL) {
		snprintf(err, errlen, "stick-table data type '%s' takes no argument", name);
		return -1;
	}
	t->store |= 1U << d;
	return 0;
}

/* ---- keys ---- */

int
stick_key_addr(const struct stick_table *t, const struct sockaddr *sa, struct stick_key *k)
{
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)sa;
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)sa;

	memset(k->b, 0, t->key_len <= sizeof(k->b) ? t->key_len : sizeof(k->b));
	k->len = t->key_len;
	if (t->type == STICK_IP) {
		if (sa->sa_family == AF_INET) {
			memcpy(k->b, &s4->sin_addr, 4);
			return 0;
		}
		if (sa->sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			memcpy(k->b, &s6->sin6_addr.s6_addr[12], 4);
			return 0;
		}
		return -1;
	}
	if (t->type == STICK_IPV6) {
		if (sa->sa_family == AF_INET6) {
			memcpy(k->b, &s6->sin6_addr, 16);
			return 0;
		}
		if (sa->sa_family == AF_INET) {
			k->b[10] = k->b[11] = 0xff;
			memcpy(&k->b[12], &s4->sin_addr, 4);
			return 0;
		}
		return -1;
	}
	return -1;	/* integer and string tables have no address keys */
}

int
stick_key_parse(const struct stick_table *t, const char *s, struct stick_key *k, char *err,
    size_t errlen)
{
	memset(k->b, 0, t->key_len);
	k->len = t->key_len;
	switch (t->type) {
	case STICK_IP:
		if (inet_pton(AF_INET, s, k->b) == 1)
			return 0;
		break;
	case STICK_IPV6:
		if (inet_pton(AF_INET6, s, k->b) == 1)
			return 0;
		if (inet_pton(AF_INET, s, &k->b[12]) == 1) {
			k->b[10] = k->b[11] = 0xff;
			return 0;
		}
		break;
	case STICK_INTEGER: {
		char *end;
		unsigned long long v = strtoull(s, &end, 10);
		uint32_t u;

		if (*s >= '0' && *s <= '9' && *end == '\0' && v <= UINT32_MAX) {
			u = (uint32_t)v;
			memcpy(k->b, &u, 4);
			return 0;
		}
		break;
	}
	case STICK_STRING:
		/* HAProxy truncates a longer string to the table's len. */
		k->len = strlen(s) < t->key_len ? strlen(s) : t->key_len;
		memcpy(k->b, s, k->len);
		return 0;
	}
	snprintf(err, errlen, "'%s' is not a key of table '%s' (type %s)", s, t->name,
	    stick_type_name(t->type));
	return -1;
}

/* The escaped form of one key byte c into o (room for 4): HAProxy's
 * dump_text(), so that a client's bytes can neither end an admin answer
 * nor forge a field. */
static size_t
stick_byte_escape(uint8_t c, char *o)
{
	static const char hex[] = "0123456789abcdef";

	switch (c) {
	case '\t': memcpy(o, "\\t", 2); return 2;
	case '\n': memcpy(o, "\\n", 2); return 2;
	case '\r': memcpy(o, "\\r", 2); return 2;
	case 0x1b: memcpy(o, "\\e", 2); return 2;
	case ' ': case '=': case '\\':
		o[0] = '\\';
		o[1] = (char)c;
		return 2;
	}
	if (c >= 0x20 && c < 0x7f) {
		o[0] = (char)c;
		return 1;
	}
	o[0] = '\\';
	o[1] = 'x';
	o[2] = hex[c >> 4];
	o[3] = hex[c & 0xf];
	return 4;
}

/* A string key up to its first NUL, as HAProxy shows it. */
static void
stick_key_escape(const uint8_t *k, size_t klen, char *buf, size_t len)
{
	size_t o = 0;

	if (len == 0)
		return;
	for (size_t i = 0; i < klen && k[i] != '\0' && o + 4 < len; i++)
		o += stick_byte_escape(k[i], buf + o);
	buf[o] = '\0';
}

void
stick_key_format(const struct stick_table *t, const struct stick_entry *e, char *buf,
    size_t len)
{
	uint32_t u;

	switch (t->type) {
	case STICK_IP:
		inet_ntop(AF_INET, e->key, buf, (socklen_t)len);
		break;
	case STICK_IPV6:
		inet_ntop(AF_INET6, e->key, buf, (socklen_t)len);
		break;
	case STICK_INTEGER:
		memcpy(&u, e->key, 4);
		snprintf(buf, len, "%" PRIu32, u);
		break;
	case STICK_STRING:
		stick_key_escape(e->key, e->klen, buf, len);
		break;
	}
}

/* ---- the table, under t->lock ---- */

static unsigned int
stick_hash(const struct stick_table *t, const uint8_t *b, size_t n)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 16777619u;
	return h & (t->nchains - 1);
}

/* Entries nobody holds are on t->lru, coldest last; held ones on t->held. */
static struct stick_list *
stick_list_of(struct stick_table *t, const struct stick_entry *e)
{
	return e->refs > 0 ? &t->held : &t->lru;
}

static void
stick_unlink(struct stick_list *l, struct stick_entry *e)
{
	if (e->newer != NULL)
		e->newer->older = e->older;
	else
		l->newest = e->older;
	if (e->older != NULL)
		e->older->newer = e->newer;
	else
		l->oldest = e->newer;
	e->newer = e->older = NULL;
}

static void
stick_push(struct stick_list *l, struct stick_entry *e)
{
	e->older = l->newest;
	e->newer = NULL;
	if (l->newest != NULL)
		l->newest->newer = e;
	else
		l->oldest = e;
	l->newest = e;
}

static void
stick_touch(struct stick_table *t, struct stick_entry *e, uint64_t now)
{
	struct stick_list *l = stick_list_of(t, e);

	e->touched = now;
	if (l->newest != e) {
		stick_unlink(l, e);
		stick_push(l, e);
	}
}

static void
stick_remove(struct stick_table *t, struct stick_entry *e)
{
	struct stick_entry **pp = &t->chains[stick_hash(t, e->key, e->klen)];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	stick_unlink(stick_list_of(t, e), e);
	t->used--;
	free(e);
}

/* Time from then to now, 0 when then is not earlier: callers read their
 * clock before taking the lock, so another thread may have stamped an
 * entry later than this one's now. */
static uint64_t
stick_elapsed(uint64_t now, uint64_t then)
{
	return now > then ? now - then : 0;
}

/* Purge expired entries from the cold end of the list of unheld ones:
 * touch order is expiry order, so the first live one ends the walk. */
static void
stick_purge(struct stick_table *t, uint64_t now)
{
	while (t->expire != 0 && t->lru.oldest != NULL &&
	    stick_elapsed(now, t->lru.oldest->touched) >= t->expire)
		stick_remove(t, t->lru.oldest);
}

static struct stick_entry *
stick_find(struct stick_table *t, const struct stick_key *k)
{
	for (struct stick_entry *e = t->chains[stick_hash(t, k->b, k->len)]; e != NULL;
	    e = e->hnext) {
		if (e->klen == k->len && memcmp(e->key, k->b, k->len) == 0)
			return e;
	}
	return NULL;
}

/* The entry of k, made if absent; NULL when full of held entries. */
static struct stick_entry *
stick_entry_locked(struct stick_table *t, const struct stick_key *k, uint64_t now)
{
	struct stick_entry *e;
	unsigned int h;

	stick_purge(t, now);
	if ((e = stick_find(t, k)) != NULL) {
		stick_touch(t, e, now);
		return e;
	}
	if (t->used >= t->size) {
		if (t->lru.oldest == NULL || t->nopurge)
			return NULL;	/* every entry is held */
		stick_remove(t, t->lru.oldest);
	}
	if ((e = calloc(1, sizeof(*e) + t->key_len)) == NULL)
		return NULL;
	e->klen = k->len;
	e->table = t;
	memcpy(e->key, k->b, k->len);
	for (int d = 0; d < STICK_NDATA; d++)
		e->freq[d].tick = now;
	h = stick_hash(t, k->b, k->len);
	e->hnext = t->chains[h];
	t->chains[h] = e;
	e->touched = now;
	stick_push(&t->lru, e);
	t->used++;
	return e;
}

/* Bring a freq counter to the period that holds now. */
static void
stick_freq_roll(struct stick_freq *f, uint64_t period, uint64_t now)
{
	uint64_t el = stick_elapsed(now, f->tick);

	if (el < period)
		return;
	f->prev = el < 2 * period ? f->curr : 0;
	f->curr = 0;
	f->tick += el / period * period;
}

static void
stick_add_locked(struct stick_table *t, struct stick_entry *e, enum stick_data d, uint64_t n,
    uint64_t now)
{
	if (!stick_stores(t, d))
		return;
	if (stick_data_is_rate(d)) {
		stick_freq_roll(&e->freq[d], t->period[d], now);
		e->freq[d].curr += n;
	} else {
		e->val[d] += n;
	}
}

static uint64_t
stick_get_locked(struct stick_table *t, struct stick_entry *e, enum stick_data d, uint64_t now)
{
	struct stick_freq *f = &e->freq[d];
	uint64_t p = t->period[d], el;

	if (!stick_stores(t, d))
		return 0;
	if (!stick_data_is_rate(d))
		return e->val[d];
	stick_freq_roll(f, p, now);
	el = stick_elapsed(now, f->tick);
	/* The previous period counts for the part of it still in the window. */
	return f->curr + (f->prev * (p - el) + p - 1) / p;
}

/* ---- the data path ---- */

struct stick_entry *
stick_ref(struct stick_table *t, const struct stick_key *k, uint64_t now)
{
	struct stick_entry *e;

	pthread_mutex_lock(&t->lock);
	if ((e = stick_entry_locked(t, k, now)) != NULL && e->refs++ == 0) {
		stick_unlink(&t->lru, e);
		stick_push(&t->held, e);
	}
	pthread_mutex_unlock(&t->lock);
	return e;
}

void
stick_unref(struct stick_table *t, struct stick_entry *e, uint64_t now)
{
	pthread_mutex_lock(&t->lock);
	if (--e->refs == 0) {
		stick_unlink(&t->held, e);
		stick_push(&t->lru, e);
	}
	e->touched = now;
	pthread_mutex_unlock(&t->lock);
}

void
stick_conn_start(struct stick_table *t, struct stick_entry *e, uint64_t now)
{
	pthread_mutex_lock(&t->lock);
	stick_add_locked(t, e, STICK_CONN_CNT, 1, now);
	stick_add_locked(t, e, STICK_CONN_RATE, 1, now);
	stick_add_locked(t, e, STICK_CONN_CUR, 1, now);
	stick_add_locked(t, e, STICK_SESS_CNT, 1, now);
	stick_add_locked(t, e, STICK_SESS_RATE, 1, now);
	pthread_mutex_unlock(&t->lock);
}

void
stick_conn_end(struct stick_table *t, struct stick_entry *e, uint64_t now)
{
	pthread_mutex_lock(&t->lock);
	if (stick_stores(t, STICK_CONN_CUR) && e->val[STICK_CONN_CUR] > 0)
		e->val[STICK_CONN_CUR]--;
	pthread_mutex_unlock(&t->lock);
}

void
stick_add_bytes(struct stick_table *t, struct stick_entry *e, int dir, uint64_t n,
    uint64_t now)
{
	pthread_mutex_lock(&t->lock);
	stick_add_locked(t, e, dir == 0 ? STICK_BYTES_IN_CNT : STICK_BYTES_OUT_CNT, n, now);
	stick_add_locked(t, e, dir == 0 ? STICK_BYTES_IN_RATE : STICK_BYTES_OUT_RATE, n, now);
	pthread_mutex_unlock(&t->lock);
}

void
stick_add(struct stick_table *t, struct stick_entry *e, enum stick_data d, uint64_t n,
    uint64_t now)
{
	pthread_mutex_lock(&t->lock);
	stick_add_locked(t, e, d, n, now);
	pthread_mutex_unlock(&t->lock);
}

uint64_t
stick_get(struct stick_table *t, struct stick_entry *e, enum stick_data d, uint64_t now)
{
	uint64_t v;

	pthread_mutex_lock(&t->lock);
	v = stick_get_locked(t, e, d, now);
	pthread_mutex_unlock(&t->lock);
	return v;
}

uint64_t
stick_lookup_value(struct stick_table *t, const struct stick_key *k, enum stick_data d,
    uint64_t now)
{
	struct stick_entry *e;
	uint64_t v = 0;

	pthread_mutex_lock(&t->lock);
	stick_purge(t, now);
	if ((e = stick_find(t, k)) != NULL)
		v = stick_get_locked(t, e, d, now);
	pthread_mutex_unlock(&t->lock);
	return v;
}

int
stick_lookup_has(struct stick_table *t, const struct stick_key *k, uint64_t now)
{
	int has;

	pthread_mutex_lock(&t->lock);
	stick_purge(t, now);
	has = stick_find(t, k) != NULL;
	pthread_mutex_unlock(&t->lock);
	return has;
}

unsigned int
stick_lookup_server(struct stick_table *t, const struct stick_key *k, uint64_t now)
{
	struct stick_entry *e;
	unsigned int id = 0;

	if (!stick_stores(t, STICK_SERVER_ID))
		return 0;
	pthread_mutex_lock(&t->lock);
	stick_purge(t, now);
	if ((e = stick_find(t, k)) != NULL) {
		id = (unsigned int)e->val[STICK_SERVER_ID];
		stick_touch(t, e, now);
	}
	pthread_mutex_unlock(&t->lock);
	return id;
}

int
stick_store_server(struct stick_table *t, const struct stick_key *k, unsigned int id,
    uint64_t now)
{
	struct stick_entry *e;

	pthread_mutex_lock(&t->lock);
	if ((e = stick_entry_locked(t, k, now)) != NULL && stick_stores(t, STICK_SERVER_ID))
		e->val[STICK_SERVER_ID] = id;
	pthread_mutex_unlock(&t->lock);
	return e != NULL ? 0 : -1;
}

/* ---- the admin socket ---- */

int
stick_filter_parse(const struct stick_table *t, int argc, char **argv, struct stick_filter *f,
    char *err, size_t errlen)
{
	static const char *const ops[] = { "eq", "ne", "le", "ge", "lt", "gt" };

	memset(f, 0, sizeof(*f));
	for (int i = 0; i < argc;) {
		if (strcmp(argv[i], "key") == 0) {
			if (i + 1 >= argc) {
				snprintf(err, errlen, "'key' expects a key");
				return -1;
			}
			if (f->n > 0 || f->has_key || i + 2 < argc) {
				snprintf(err, errlen, "'key' comes alone, without data filters");
				return -1;
			}
			if (stick_key_parse(t, argv[i + 1], &f->key, err, errlen) == -1)
				return -1;
			f->has_key = 1;
			i += 2;
		} else if (strncmp(argv[i], "data.", 5) == 0) {
			int d = stick_data_parse(argv[i] + 5), op = -1;
			char *end;

			if (d == -1 || !stick_stores(t, (enum stick_data)d)) {
				snprintf(err, errlen, "data type '%s' is not stored in table '%s'",
				    argv[i] + 5, t->name);
				return -1;
			}
			for (int o = 0; i + 1 < argc && o < 6; o++)
				if (strcmp(argv[i + 1], ops[o]) == 0)
					op = o;
			if (op == -1 || i + 2 >= argc) {
				snprintf(err, errlen, "'%s' expects an operator (eq, ne, le, ge, lt, gt) "
				    "and a value", argv[i]);
				return -1;
			}
			if (f->has_key || f->n >= STICK_FILTERS_MAX) {
				snprintf(err, errlen, "at most %d data filters, without 'key'",
				    STICK_FILTERS_MAX);
				return -1;
			}
			f->d[f->n].value = strtoull(argv[i + 2], &end, 10);
			if (argv[i + 2][0] < '0' || argv[i + 2][0] > '9' || *end != '\0') {
				snprintf(err, errlen, "'%s' is not a number", argv[i + 2]);
				return -1;
			}
			f->d[f->n].data = (enum stick_data)d;
			f->d[f->n++].op = (enum stick_op)op;
			i += 3;
		} else {
			snprintf(err, errlen, "unexpected '%s' (expected 'data.TYPE OP VALUE' or "
			    "'key KEY')", argv[i]);
			return -1;
		}
	}
	return 0;
}

static int
stick_passes(struct stick_table *t, struct stick_entry *e, const struct stick_filter *f,
    uint64_t now)
{
	if (f == NULL)
		return 1;
	if (f->has_key && (e->klen != f->key.len || memcmp(e->key, f->key.b, e->klen) != 0))
		return 0;
	for (unsigned int i = 0; i < f->n; i++) {
		uint64_t v = stick_get_locked(t, e, f->d[i].data, now), w = f->d[i].value;
		int ok;

		switch (f->d[i].op) {
		case STICK_EQ: ok = v == w; break;
		case STICK_NE: ok = v != w; break;
		case STICK_LE: ok = v <= w; break;
		case STICK_GE: ok = v >= w; break;
		case STICK_LT: ok = v < w; break;
		default: ok = v > w; break;
		}
		if (!ok)
			return 0;
	}
	return 1;
}

void
stick_header(struct stick_table *t, uint64_t now, char *buf, size_t len)
{
	snprintf(buf, len, "# table: %s, type: %s, size:%u, used:%u", t->name,
	    stick_type_name(t->type), t->size, stick_used(t, now));
}

static void
stick_format(struct stick_table *t, struct stick_entry *e, uint64_t now, char *buf,
    size_t len)
{
	char key[STICK_KEY_ESC_MAX];
	uint64_t el = stick_elapsed(now, e->touched);
	uint64_t exp = t->expire == 0 ? 0 : e->refs > 0 ? t->expire :
	    el < t->expire ? t->expire - el : 0;
	size_t n;

	stick_key_format(t, e, key, sizeof(key));
	n = (size_t)snprintf(buf, len, "%p: key=%s use=%u exp=%" PRIu64, (void *)e, key, e->refs,
	    exp / 1000);
	for (int d = 0; d < STICK_NDATA && n < len; d++) {
		if (!stick_stores(t, (enum stick_data)d))
			continue;
		if (stick_data_is_rate((enum stick_data)d))
			n += (size_t)snprintf(buf + n, len - n, " %s(%" PRIu64 ")=%" PRIu64,
			    stick_data_names[d], t->period[d] / 1000,
			    stick_get_locked(t, e, (enum stick_data)d, now));
		else
			n += (size_t)snprintf(buf + n, len - n, " %s=%" PRIu64, stick_data_names[d],
			    e->val[d]);
	}
}

void
stick_dump(struct stick_table *t, const struct stick_filter *f, uint64_t now,
    void (*out)(const char *line, void *arg), void *arg)
{
	char line[STICK_KEY_ESC_MAX + 1024];

	pthread_mutex_lock(&t->lock);
	stick_purge(t, now);
	for (int i = 0; i < 2; i++) {
		for (struct stick_entry *e = (i == 0 ? &t->held : &t->lru)->oldest; e != NULL;
		    e = e->newer) {
			if (!stick_passes(t, e, f, now))
				continue;
			stick_format(t, e, now, line, sizeof(line));
			out(line, arg);
		}
	}
	pthread_mutex_unlock(&t->lock);
}

unsigned int
stick_clear(struct stick_table *t, const struct stick_filter *f, uint64_t now)
{
	unsigned int n = 0;

	pthread_mutex_lock(&t->lock);
	stick_purge(t, now);
	for (struct stick_entry *e = t->lru.oldest, *newer; e != NULL; e = newer) {
		newer = e->newer;
		if (stick_passes(t, e, f, now)) {
			stick_remove(t, e);
			n++;
		}
	}
	pthread_mutex_unlock(&t->lock);
	return n;
}

unsigned int
stick_used(struct stick_table *t, uint64_t now)
{
	unsigned int n;

	pthread_mutex_lock(&t->lock);
	stick_purge(t, now);
	n = t->used;
	pthread_mutex_unlock(&t->lock);
	return n;
}
