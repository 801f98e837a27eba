/*
 * sample_conv: converters (HAProxy configuration.txt 7.3.1) and the
 * casts between sample types they need: the registry, the chain after a
 * fetch (",lower,field(2,:)"), and the scratch buffers converters write
 * into. The converters themselves are in sample_conv_builtin.c (text,
 * integers, addresses, hashes), sample_map.c (map files) and
 * stick_smp.c (table_*).
 */
#include "config.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sample.h"
#include "sample_map.h"

extern const struct sample_conv sample_conv_builtin[];
extern const size_t sample_conv_nbuiltin;
extern const struct sample_conv sample_map_convs[];
extern const size_t sample_map_nconvs;

/* Tables added by other modules (maps, stick tables). */
#define SAMPLE_CONV_TABLES_MAX 8

static struct {
	const struct sample_conv *table;
	size_t n;
} sample_conv_tables[SAMPLE_CONV_TABLES_MAX];
static size_t sample_conv_ntables;

int
sample_conv_register(const struct sample_conv *table, size_t n)
{
	if (sample_conv_ntables == SAMPLE_CONV_TABLES_MAX)
		return -1;
	sample_conv_tables[sample_conv_ntables].table = table;
	sample_conv_tables[sample_conv_ntables].n = n;
	sample_conv_ntables++;
	return 0;
}

static const struct sample_conv *
sample_conv_in(const struct sample_conv *t, size_t n, const char *name, size_t len)
{
	for (size_t i = 0; i < n; i++) {
		if (strlen(t[i].name) == len && strncmp(t[i].name, name, len) == 0)
			return &t[i];
	}
	return NULL;
}

static const struct sample_conv *
sample_conv_lookup(const char *name, size_t len)
{
	const struct sample_conv *c;

	if ((c = sample_conv_in(sample_conv_builtin, sample_conv_nbuiltin, name, len)) != NULL ||
	    (c = sample_conv_in(sample_map_convs, sample_map_nconvs, name, len)) != NULL)
		return c;
	for (size_t t = 0; t < sample_conv_ntables; t++) {
		c = sample_conv_in(sample_conv_tables[t].table, sample_conv_tables[t].n, name, len);
		if (c != NULL)
			return c;
	}
	return NULL;
}

size_t
sample_conv_names(const char **names, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < sample_conv_nbuiltin && n < max; i++)
		names[n++] = sample_conv_builtin[i].name;
	for (size_t i = 0; i < sample_map_nconvs && n < max; i++)
		names[n++] = sample_map_convs[i].name;
	for (size_t t = 0; t < sample_conv_ntables; t++) {
		for (size_t i = 0; i < sample_conv_tables[t].n && n < max; i++)
			names[n++] = sample_conv_tables[t].table[i].name;
	}
	return n;
}

/* HAProxy 2.6's converters splicer has not, and why. */
static const struct {
	const char *name;
	const char *why;
} sample_conv_refused[] = {
#define HTTP "it reads HTTP, which splicer relays without parsing"
#define VARS "it reads variables, and splicer has none (no set-var)"
#define CRYPTO "splicer links no cryptographic library"
	{ "51d.single", "splicer is built without 51Degrees" },
	{ "add_item", VARS }, { "aes_gcm_dec", CRYPTO },
	{ "be2dec", "not implemented yet" }, { "be2hex", "not implemented yet" },
	{ "capture-req", HTTP }, { "capture-res", HTTP }, { "concat", VARS },
	{ "da-csv-conv", "splicer is built without DeviceAtlas" },
	{ "debug", "splicer has no debug ring" }, { "digest", CRYPTO },
	{ "fix_is_valid", "not implemented yet" }, { "fix_tag_value", "not implemented yet" },
	{ "hmac", CRYPTO }, { "host_only", HTTP }, { "http_date", HTTP },
	{ "json", "not implemented yet" }, { "json_query", "not implemented yet" },
	{ "jwt_header_query", HTTP }, { "jwt_payload_query", HTTP }, { "jwt_verify", HTTP },
	{ "language", HTTP }, { "ltime", "not implemented yet" },
	{ "mqtt_field_value", "not implemented yet" }, { "mqtt_is_valid", "not implemented yet" },
	{ "nbsrv", "not implemented yet (use the nbsrv(BACKEND) fetch)" },
	{ "port_only", HTTP }, { "protobuf", "not implemented yet" },
	{ "secure_memcmp", VARS }, { "set-var", VARS }, { "sha1", CRYPTO }, { "sha2", CRYPTO },
	{ "srv_queue", "not implemented yet" }, { "strcmp", VARS },
	{ "ungrpc", HTTP }, { "unset-var", VARS }, { "url_dec", HTTP }, { "url_enc", HTTP },
	{ "utime", "not implemented yet" },
	{ "xxh3", "splicer carries no xxHash" }, { "xxh32", "splicer carries no xxHash" },
	{ "xxh64", "splicer carries no xxHash" },
#undef HTTP
#undef VARS
#undef CRYPTO
};

static const char *
sample_conv_why(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(sample_conv_refused) / sizeof(*sample_conv_refused); i++) {
		if (strlen(sample_conv_refused[i].name) == len &&
		    strncmp(sample_conv_refused[i].name, name, len) == 0)
			return sample_conv_refused[i].why;
	}
	/* table_* of data types splicer's tables do not store (HTTP ones). */
	if (len > 6 && strncmp(name, "table_", 6) == 0)
		return "splicer's stick tables store no such data type";
	return NULL;
}

/* One converter from s (its name's first byte); *end past it. */
static int
sample_conv_one(struct sample_expr *e, const char *s, const char **end, char *err,
    size_t errlen)
{
	size_t len = strcspn(s, "(,");
	struct sample_conv_call *call = &e->conv[e->nconv];
	const char *why;

	if (len == 0) {
		snprintf(err, errlen, "an empty converter after '%s'", e->f->name);
		return -1;
	}
	if ((call->c = sample_conv_lookup(s, len)) == NULL) {
		if ((why = sample_conv_why(s, len)) != NULL)
			snprintf(err, errlen, "converter '%.*s' is not supported: %s", (int)len, s,
			    why);
		else
			snprintf(err, errlen, "unknown converter '%.*s'", (int)len, s);
		return -1;
	}
	if (!call->c->any_in && !sample_castable(e->type, call->c->in)) {
		snprintf(err, errlen, "converter '%s' takes %s %s and gets %s %s",
		    call->c->name, call->c->in == SMP_T_ADDR || call->c->in == SMP_T_SINT ? "an" : "a",
		    sample_type_name(call->c->in), e->type == SMP_T_ADDR ||
		    e->type == SMP_T_SINT ? "an" : "a", sample_type_name(e->type));
		return -1;
	}
	*end = s + len;
	if (**end == '(' ? sample_parse_args(call->c->name, call->c->args, *end, end,
	    call->args, err, errlen) == -1 : sample_parse_args(call->c->name, call->c->args,
	    "()", &why, call->args, err, errlen) == -1) {
		sample_free_args(call->c->args, call->args);
		return -1;
	}
	e->nconv++;
	if (call->c->check != NULL && call->c->check(call, err, errlen) == -1)
		return -1;
	e->type = call->c->out;
	return 0;
}

int
sample_conv_parse(struct sample_expr *e, const char *s, char *err, size_t errlen)
{
	while (*s == ',') {
		if (e->nconv == SMP_CONVS_MAX) {
			snprintf(err, errlen, "more than %d converters after '%s'", SMP_CONVS_MAX,
			    e->f->name);
			return -1;
		}
		if (sample_conv_one(e, s + 1, &s, err, errlen) == -1)
			return -1;
	}
	if (*s != '\0') {
		snprintf(err, errlen, "unexpected '%s' after converter '%s' (converters are "
		    "separated by commas)", s, e->conv[e->nconv - 1].c->name);
		return -1;
	}
	return 0;
}

int
sample_conv_apply(const struct sample_expr *e, struct sample *smp)
{
	for (unsigned int i = 0; i < e->nconv; i++) {
		const struct sample_conv_call *call = &e->conv[i];

		if ((!call->c->any_in && sample_cast(smp, call->c->in) == -1) ||
		    !call->c->conv(call, smp))
			return SMP_NONE;
		smp->type = call->c->out;
	}
	return SMP_FOUND;
}

void
sample_free_args(const char *kinds, struct sample_arg *args)
{
	for (size_t i = 0; i < SMP_ARGS_MAX; i++) {
		char k = i < strlen(kinds) ? (char)(kinds[i] | 0x20) : 0;

		if (args[i].obj != NULL && k == 'r') {
			regfree(args[i].obj);
			free(args[i].obj);
		} else if (args[i].obj != NULL && k == 'm') {
			sample_map_free(args[i].obj);
		} else {
			free(args[i].obj);	/* a converter's own (ipmask's masks) */
		}
		args[i].obj = NULL;
		free(args[i].s);
		args[i].s = NULL;
	}
}

/* ---- scratch buffers ---- */

static __thread uint8_t sample_chunks[2][SMP_CHUNK_MAX];
static __thread unsigned int sample_chunk_next;

uint8_t *
sample_chunk(void)
{
	sample_chunk_next ^= 1;
	return sample_chunks[sample_chunk_next];
}

const char *
sample_cstr(const struct sample *smp)
{
	static __thread char buf[SMP_CHUNK_MAX + 1];

	if (smp->len > SMP_CHUNK_MAX)
		return NULL;
	if (smp->len > 0)
		memcpy(buf, smp->ptr, smp->len);
	buf[smp->len] = '\0';
	return buf;
}

/* ---- casts ---- */

const char *
sample_type_name(enum sample_type t)
{
	static const char *const names[] = {
		[SMP_T_BOOL] = "boolean", [SMP_T_SINT] = "integer", [SMP_T_ADDR] = "address",
		[SMP_T_STR] = "string", [SMP_T_BIN] = "binary",
	};

	return t <= SMP_T_BIN ? names[t] : "?";
}

/* HAProxy's sample_casts table, for the types splicer has. */
int
sample_castable(enum sample_type from, enum sample_type to)
{
	if (from == to || to == SMP_T_STR || to == SMP_T_BIN)
		return 1;
	switch (from) {
	case SMP_T_BOOL:
		return to == SMP_T_SINT;
	case SMP_T_SINT:
		return to == SMP_T_BOOL || to == SMP_T_ADDR;
	case SMP_T_ADDR:
		return to == SMP_T_SINT;	/* IPv4 only, at run time */
	case SMP_T_STR:
		return to == SMP_T_BOOL || to == SMP_T_SINT || to == SMP_T_ADDR;
	case SMP_T_BIN:
		return 0;
	}
	return 0;
}

/* HAProxy's read_int64: an optional sign and the digits that follow. */
static int64_t
sample_str2int(const uint8_t *p, size_t len)
{
	uint64_t v = 0;
	size_t i = 0;
	int neg = len > 0 && p[0] == '-';

	for (i = neg; i < len && p[i] >= '0' && p[i] <= '9'; i++)
		v = v * 10 + (uint64_t)(p[i] - '0');
	return neg ? -(int64_t)v : (int64_t)v;
}

static int
sample_str2addr(struct sample *smp)
{
	char buf[INET6_ADDRSTRLEN];
	struct sockaddr_in *in = (struct sockaddr_in *)&smp->addr;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&smp->addr;

	if (smp->len >= sizeof(buf))
		return -1;
	memcpy(buf, smp->ptr, smp->len);
	buf[smp->len] = '\0';
	memset(&smp->addr, 0, sizeof(smp->addr));
	if (inet_pton(AF_INET, buf, &in->sin_addr) == 1)
		in->sin_family = AF_INET;
	else if (inet_pton(AF_INET6, buf, &in6->sin6_addr) == 1)
		in6->sin6_family = AF_INET6;
	else
		return -1;
	return 0;
}

/* An address's bytes (network order): 4 or 16, into p. */
static size_t
sample_addr_bytes(const struct sample *smp, uint8_t *p)
{
	if (smp->addr.ss_family == AF_INET) {
		memcpy(p, &((const struct sockaddr_in *)&smp->addr)->sin_addr, 4);
		return 4;
	}
	memcpy(p, &((const struct sockaddr_in6 *)&smp->addr)->sin6_addr, 16);
	return 16;
}

static int
sample_to_text(struct sample *smp, enum sample_type t)
{
	uint8_t *c;

	if (smp->type == SMP_T_STR || smp->type == SMP_T_BIN)
		return 0;	/* the same bytes */
	c = sample_chunk();
	if (smp->type == SMP_T_ADDR && t == SMP_T_STR) {
		if (inet_ntop(smp->addr.ss_family, smp->addr.ss_family == AF_INET ?
		    (const void *)&((const struct sockaddr_in *)&smp->addr)->sin_addr :
		    (const void *)&((const struct sockaddr_in6 *)&smp->addr)->sin6_addr,
		    (char *)c, SMP_CHUNK_MAX) == NULL)
			return -1;
		smp->len = strlen((char *)c);
	} else if (smp->type == SMP_T_ADDR) {
		smp->len = sample_addr_bytes(smp, c);
	} else if (t == SMP_T_STR) {
		smp->len = (size_t)snprintf((char *)c, SMP_CHUNK_MAX, "%" PRId64, smp->sint);
	} else {
		for (int i = 0; i < 8; i++)	/* 8 bytes, big-endian */
			c[i] = (uint8_t)((uint64_t)smp->sint >> (56 - 8 * i));
		smp->len = 8;
	}
	smp->ptr = c;
	return 0;
}

int
sample_cast(struct sample *smp, enum sample_type t)
{
	if (smp->type == t)
		return 0;
	if (!sample_castable(smp->type, t))
		return -1;
	if (t == SMP_T_STR || t == SMP_T_BIN) {
		if (sample_to_text(smp, t) == -1)
			return -1;
	} else if (t == SMP_T_ADDR && smp->type == SMP_T_SINT) {
		struct sockaddr_in *in = (struct sockaddr_in *)&smp->addr;

		memset(&smp->addr, 0, sizeof(smp->addr));
		in->sin_family = AF_INET;
		in->sin_addr.s_addr = htonl((uint32_t)smp->sint);
	} else if (t == SMP_T_ADDR) {
		if (sample_str2addr(smp) == -1)
			return -1;
	} else if (smp->type == SMP_T_ADDR) {
		if (smp->addr.ss_family != AF_INET)
			return -1;
		smp->sint = ntohl(((const struct sockaddr_in *)&smp->addr)->sin_addr.s_addr);
	} else if (smp->type == SMP_T_STR) {
		smp->sint = sample_str2int(smp->ptr, smp->len);
	}
	if (t == SMP_T_BOOL)
		smp->sint = smp->sint != 0;
	smp->type = t;
	return 0;
}
