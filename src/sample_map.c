/*
 * sample_map: map_<match>[_<output>](FILE[,DEFAULT]) converters. A line
 * is a key, blanks, and the value (the rest of the line, trimmed); '#'
 * starts a comment line. Matching is HAProxy's: exact for str (the first
 * line of a key wins), the longest prefix for ip, the first line that
 * matches, in file order, for the others.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "regexp.h"
#include "sample.h"
#include "sample_map.h"

enum sample_map_match {
	MAP_M_STR, MAP_M_BEG, MAP_M_SUB, MAP_M_DIR, MAP_M_DOM, MAP_M_END, MAP_M_REG,
	MAP_M_REGM, MAP_M_INT, MAP_M_IP,
};

/* A value as the converter gives it. */
struct sample_map_val {
	char *s;			/* text (owned) */
	int64_t i;			/* _int */
	struct sockaddr_storage addr;	/* _ip */
};

struct sample_map_ent {
	char *key;			/* as written (owned) */
	size_t klen;
	regex_t *re;			/* reg, regm: compiled (owned) */
	int64_t lo, hi;			/* int: the range "lo[:hi]" */
	int family;			/* ip: AF_INET or AF_INET6 */
	uint8_t net[16];		/* ip: the network, host bits cleared */
	unsigned int prefix;		/* ip: its length in bits */
	struct sample_map_val val;
};

struct sample_map {
	enum sample_map_match match;
	enum sample_type out;
	struct sample_map_ent *ents;
	size_t n, cap;
	int has_def;
	struct sample_map_val def;	/* the converter's default, if given */
};

static const char *const sample_map_matches[] = {
	[MAP_M_STR] = "str", [MAP_M_BEG] = "beg", [MAP_M_SUB] = "sub", [MAP_M_DIR] = "dir",
	[MAP_M_DOM] = "dom", [MAP_M_END] = "end", [MAP_M_REG] = "reg", [MAP_M_REGM] = "regm",
	[MAP_M_INT] = "int", [MAP_M_IP] = "ip",
};

void
sample_map_free(struct sample_map *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->n; i++) {
		free(m->ents[i].key);
		free(m->ents[i].val.s);
		if (m->ents[i].re != NULL) {
			regfree(m->ents[i].re);
			free(m->ents[i].re);
		}
	}
	free(m->ents);
	free(m->def.s);
	free(m);
}

/* "a.b.c.d[/len]" or an IPv6 one into e. */
static int
sample_map_net(const char *s, struct sample_map_ent *e)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash, *end;
	unsigned long bits;

	snprintf(buf, sizeof(buf), "%s", s);
	if ((slash = strchr(buf, '/')) != NULL)
		*slash++ = '\0';
	memset(e->net, 0, sizeof(e->net));
	if (inet_pton(AF_INET, buf, e->net) == 1)
		e->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, e->net) == 1)
		e->family = AF_INET6;
	else
		return -1;
	e->prefix = e->family == AF_INET ? 32 : 128;
	if (slash != NULL) {
		bits = strtoul(slash, &end, 10);
		if (slash[0] < '0' || slash[0] > '9' || *end != '\0' || bits > e->prefix)
			return -1;
		e->prefix = (unsigned int)bits;
	}
	for (unsigned int b = e->prefix; b < 128; b++)
		e->net[b / 8] &= (uint8_t)~(0x80 >> (b % 8));
	return 0;
}

/* An integer "N" or range "lo:hi" (either side may be empty). */
static int
sample_map_range(const char *s, struct sample_map_ent *e)
{
	const char *colon = strchr(s, ':');
	char *end;

	e->lo = INT64_MIN;
	e->hi = INT64_MAX;
	if (colon != s) {
		errno = 0;
		e->lo = strtoll(s, &end, 10);
		if (errno != 0 || end != (colon != NULL ? colon : s + strlen(s)))
			return -1;
	}
	if (colon == NULL) {
		e->hi = e->lo;
		return 0;
	}
	if (colon[1] != '\0') {
		errno = 0;
		e->hi = strtoll(colon + 1, &end, 10);
		if (errno != 0 || *end != '\0')
			return -1;
	}
	return 0;
}

/* A value (or the default) for the map's output type. */
static int
sample_map_value(const struct sample_map *m, const char *s, struct sample_map_val *v,
    char *err, size_t errlen)
{
	struct sample smp = { .type = SMP_T_STR, .ptr = (const uint8_t *)s, .len = strlen(s) };
	char *end;

	if ((v->s = strdup(s)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (m->out == SMP_T_SINT) {
		errno = 0;
		v->i = strtoll(s, &end, 10);
		if (s[0] == '\0' || *end != '\0' || errno != 0) {
			snprintf(err, errlen, "'%s' is not an integer", s);
			return -1;
		}
	} else if (m->out == SMP_T_ADDR) {
		if (sample_cast(&smp, SMP_T_ADDR) == -1) {
			snprintf(err, errlen, "'%s' is not an IPv4 or IPv6 address", s);
			return -1;
		}
		v->addr = smp.addr;
	}
	return 0;
}

/* The key of one line, for the map's matching method. */
static int
sample_map_key(const struct sample_map *m, struct sample_map_ent *e, char *err,
    size_t errlen)
{
	if (m->match == MAP_M_IP && sample_map_net(e->key, e) == -1) {
		snprintf(err, errlen, "'%s' is not an address or a network", e->key);
		return -1;
	}
	if (m->match == MAP_M_INT && sample_map_range(e->key, e) == -1) {
		snprintf(err, errlen, "'%s' is not an integer or a range LO:HI", e->key);
		return -1;
	}
	if (m->match != MAP_M_REG && m->match != MAP_M_REGM)
		return 0;
	if ((e->re = malloc(sizeof(*e->re))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (regexp_compile_groups(e->re, e->key, 0, err, errlen) == -1) {
		free(e->re);
		e->re = NULL;
		return -1;
	}
	return 0;
}

/* One line of the file (trimmed, not a comment) into m. */
static int
sample_map_line(struct sample_map *m, char *line, char *err, size_t errlen)
{
	struct sample_map_ent *e;
	char *v = line + strcspn(line, " \t");

	if (m->n == m->cap) {
		size_t cap = m->cap == 0 ? 16 : m->cap * 2;
		void *p = realloc(m->ents, cap * sizeof(*m->ents));

		if (p == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		m->ents = p;
		m->cap = cap;
	}
	e = &m->ents[m->n];
	memset(e, 0, sizeof(*e));
	if (*v != '\0')
		*v++ = '\0';
	while (*v == ' ' || *v == '\t')
		v++;
	if ((e->key = strdup(line)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	e->klen = strlen(e->key);
	m->n++;	/* from here on, sample_map_free frees it */
	if (sample_map_key(m, e, err, errlen) == -1)
		return -1;
	return sample_map_value(m, v, &e->val, err, errlen);
}

static int
sample_map_one(char *line, void *arg, char *err, size_t errlen)
{
	return sample_map_line(arg, line, err, errlen);
}

/* The converter's name tells the match and output: map_beg_int. */
static int
sample_map_check(struct sample_conv_call *call, char *err, size_t errlen)
{
	const char *name = call->c->name, *rest = name + 3;
	struct sample_map *m = calloc(1, sizeof(*m));
	char inner[512];

	if (m == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	call->args[0].obj = m;
	m->out = call->c->out;
	if (*rest == '_')
		rest++;
	for (size_t i = 0; i < sizeof(sample_map_matches) / sizeof(*sample_map_matches); i++) {
		size_t l = strlen(sample_map_matches[i]);

		if (strncmp(rest, sample_map_matches[i], l) == 0 &&
		    (rest[l] == '\0' || rest[l] == '_'))
			m->match = (enum sample_map_match)i;
	}
	if (sample_read_file(call->args[0].s, "map", sample_map_one, m, inner,
	    sizeof(inner)) == -1) {
		snprintf(err, errlen, "'%s': %s", name, inner);
		return -1;
	}
	if (call->args[1].set) {
		if (sample_map_value(m, call->args[1].s, &m->def, inner, sizeof(inner)) == -1) {
			snprintf(err, errlen, "'%s': default value: %s", name, inner);
			return -1;
		}
		m->has_def = 1;
	}
	return 0;
}

/* pat appears in s between delimiters d (or the ends), as HAProxy's
 * match_word: delimiters at the pattern's own ends are ignored. */
static int
sample_map_word(const uint8_t *s, size_t len, const char *pat, size_t plen, char d)
{
	while (plen > 0 && pat[0] == d) {
		pat++;
		plen--;
	}
	while (plen > 0 && pat[plen - 1] == d)
		plen--;
	if (plen == 0)
		return 0;
	for (size_t i = 0; i + plen <= len; i++) {
		if ((i == 0 || s[i - 1] == d) && (i + plen == len || s[i + plen] == d) &&
		    memcmp(s + i, pat, plen) == 0)
			return 1;
	}
	return 0;
}

static int
sample_map_net_match(const struct sample_map_ent *e, const struct sample *smp)
{
	const uint8_t *a;
	unsigned int full = e->prefix / 8, rest = e->prefix % 8;

	if (smp->addr.ss_family != e->family)
		return 0;
	a = e->family == AF_INET ?
	    (const uint8_t *)&((const struct sockaddr_in *)&smp->addr)->sin_addr :
	    (const uint8_t *)&((const struct sockaddr_in6 *)&smp->addr)->sin6_addr;
	if (memcmp(e->net, a, full) != 0)
		return 0;
	return rest == 0 || (a[full] & (uint8_t)(0xff << (8 - rest))) == e->net[full];
}

static int
sample_map_match(const struct sample_map *m, const struct sample_map_ent *e,
    const struct sample *smp, const char *cstr, regmatch_t *rm)
{
	const uint8_t *s = smp->ptr;
	size_t len = smp->len;

	switch (m->match) {
	case MAP_M_STR:
		return len == e->klen && memcmp(s, e->key, len) == 0;
	case MAP_M_BEG:
		return len >= e->klen && memcmp(s, e->key, e->klen) == 0;
	case MAP_M_END:
		return len >= e->klen && memcmp(s + len - e->klen, e->key, e->klen) == 0;
	case MAP_M_SUB:
		return e->klen == 0 || memmem(s, len, e->key, e->klen) != NULL;
	case MAP_M_DIR:
		return sample_map_word(s, len, e->key, e->klen, '/');
	case MAP_M_DOM:
		return sample_map_word(s, len, e->key, e->klen, '.');
	case MAP_M_REG:
	case MAP_M_REGM:
		rm[0].rm_so = 0;
		rm[0].rm_eo = (regoff_t)len;
		return cstr != NULL && regexec(e->re, cstr, 10, rm, REG_STARTEND) == 0;
	case MAP_M_INT:
		return smp->sint >= e->lo && smp->sint <= e->hi;
	case MAP_M_IP:
		return sample_map_net_match(e, smp);
	}
	return 0;
}

/* regm: the value with \0..\9 replaced by what the key's groups matched. */
static int
sample_map_regm(const char *val, const struct sample *smp, const regmatch_t *rm,
    struct sample *out)
{
	uint8_t *c = sample_chunk();
	size_t o = 0;

	for (const char *v = val; *v != '\0'; v++) {
		const uint8_t *from = (const uint8_t *)v;
		size_t n = 1;

		if (v[0] == '\\' && v[1] >= '0' && v[1] <= '9') {
			const regmatch_t *g = &rm[*++v - '0'];

			if (g->rm_so < 0)
				continue;
			from = smp->ptr + g->rm_so;
			n = (size_t)(g->rm_eo - g->rm_so);
		}
		if (o + n > SMP_CHUNK_MAX)
			return 0;
		memcpy(c + o, from, n);
		o += n;
	}
	out->ptr = c;
	out->len = o;
	return 1;
}

static int
sample_map_give(const struct sample_map *m, const struct sample_map_val *v,
    struct sample *smp)
{
	smp->sint = v->i;
	smp->addr = v->addr;
	smp->ptr = (const uint8_t *)v->s;
	smp->len = strlen(v->s);
	return 1;
}

static int
sample_map_conv(const struct sample_conv_call *call, struct sample *smp)
{
	const struct sample_map *m = call->args[0].obj;
	const struct sample_map_ent *best = NULL;
	/* Regular expressions want a C string (copied once for all lines). */
	const char *cstr = m->match == MAP_M_REG || m->match == MAP_M_REGM ?
	    sample_cstr(smp) : NULL;
	regmatch_t rm[10];

	for (size_t i = 0; i < m->n; i++) {
		const struct sample_map_ent *e = &m->ents[i];

		if (!sample_map_match(m, e, smp, cstr, rm))
			continue;
		if (m->match != MAP_M_IP) {
			best = e;
			break;
		}
		if (best == NULL || e->prefix > best->prefix)
			best = e;	/* the most specific network */
	}
	if (best == NULL)
		return m->has_def ? sample_map_give(m, &m->def, smp) : 0;
	if (m->match == MAP_M_REGM && m->out == SMP_T_STR)
		return sample_map_regm(best->val.s, smp, rm, smp);
	return sample_map_give(m, &best->val, smp);
}

/* Every map_<match>[_<output>] HAProxy 2.6 has, and "map" (map_str). */
#define MAP_CONV(match, in)							\
	{ "map_" #match,	 "mS", in, SMP_T_STR,  sample_map_conv, sample_map_check, 0 }, \
	{ "map_" #match "_str",	 "mS", in, SMP_T_STR,  sample_map_conv, sample_map_check, 0 }, \
	{ "map_" #match "_int",	 "mS", in, SMP_T_SINT, sample_map_conv, sample_map_check, 0 }, \
	{ "map_" #match "_ip",	 "mS", in, SMP_T_ADDR, sample_map_conv, sample_map_check, 0 }
const struct sample_conv sample_map_convs[] = {
	{ "map", "mS", SMP_T_STR, SMP_T_STR, sample_map_conv, sample_map_check, 0 },
	MAP_CONV(str, SMP_T_STR), MAP_CONV(beg, SMP_T_STR), MAP_CONV(sub, SMP_T_STR),
	MAP_CONV(dir, SMP_T_STR), MAP_CONV(dom, SMP_T_STR), MAP_CONV(end, SMP_T_STR),
	MAP_CONV(reg, SMP_T_STR), MAP_CONV(regm, SMP_T_STR), MAP_CONV(int, SMP_T_SINT),
	MAP_CONV(ip, SMP_T_ADDR),
};
#undef MAP_CONV
const size_t sample_map_nconvs = sizeof(sample_map_convs) / sizeof(sample_map_convs[0]);
