/*
 * sample_fetch: the built-in fetches of TCP (HAProxy configuration.txt
 * 7.3.2 to 7.3.5): the connection's addresses and ports, the request's
 * first bytes, the state of proxies and servers. Deprecated spellings
 * HAProxy still accepts are aliases.
 */
#include "config.h"

#include <netinet/in.h>
#include <string.h>

#include "conf.h"
#include "payload.h"
#include "sample.h"
#include "tls_hello.h"

static int
smp_bool(struct sample *out, int v)
{
	out->sint = v != 0;
	return SMP_FOUND;
}

static int
smp_int(struct sample *out, int64_t v)
{
	out->sint = v;
	return SMP_FOUND;
}

/* A payload answer (PAYLOAD_* or TLS_HELLO_*, both MORE = 0, NOT < 0). */
static int
smp_pending(int r)
{
	return r == 0 ? SMP_WAIT : SMP_NONE;
}

/* ---- layer 4 ---- */

static int
smp_port(const struct sockaddr *sa)
{
	if (sa == NULL)
		return -1;
	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)sa)->sin_port);
	if (sa->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	return -1;
}

static int
smp_addr(const struct sockaddr *sa, struct sample *out)
{
	if (sa == NULL || (sa->sa_family != AF_INET && sa->sa_family != AF_INET6))
		return SMP_NONE;
	memcpy(&out->addr, sa, sa->sa_family == AF_INET ? sizeof(struct sockaddr_in) :
	    sizeof(struct sockaddr_in6));
	return SMP_FOUND;
}

static int
smp_src(const struct sample_arg *a, const struct sample_ctx *ctx, struct sample *out)
{
	return smp_addr(ctx->cli, out);
}

static int
smp_dst(const struct sample_arg *a, const struct sample_ctx *ctx, struct sample *out)
{
	return smp_addr(ctx->dst, out);
}

static int
smp_src_port(const struct sample_arg *a, const struct sample_ctx *ctx, struct sample *out)
{
	int p = smp_port(ctx->cli);

	return p < 0 ? SMP_NONE : smp_int(out, p);
}

static int
smp_dst_port(const struct sample_arg *a, const struct sample_ctx *ctx, struct sample *out)
{
	int p = smp_port(ctx->dst);

	return p < 0 ? SMP_NONE : smp_int(out, p);
}

static int
smp_so_id(const struct sample_arg *a, const struct sample_ctx *ctx, struct sample *out)
{
	return ctx->so_id == 0 ? SMP_NONE : smp_int(out, ctx->so_id);
}

/* ---- proxies and servers ---- */

/* The backend an optional 'b' argument names, else the session's. */
static const struct conf_proxy *
smp_backend(const struct sample_arg *a, const struct sample_ctx *ctx)
{
	return a->px != NULL ? a->px : ctx->be;
}

static int
smp_nbsrv(const struct sample_arg *a, const struct sample_ctx *ctx, struct sample *out)
{
	const struct conf_proxy *be = smp_backend(a, ctx);
	int64_t n = 0;

	if (be == NULL)
		return smp_int(out, 0);
	for (const struct conf_server *s = be->servers; s != NULL; s = s->next) {
		if (__atomic_load_n(&s->state, __ATOMIC_RELAXED) == CONF_SRV_UP)
			n++;
	}
	return smp_int(out, n);
}

static int
smp_srv_is_up(const struct sample_arg *a, const struct sample_ctx *ctx, struct sample *out)
{
	return smp_bool(out, __atomic_load_n(&a->srv->state, __ATOMIC_RELAXED) == CONF_SRV_UP);
}

static int
smp_be_conn(const struct sample_arg *a, const struct sample_ctx *ctx, struct sample *out)
{
	const struct conf_proxy *be = smp_backend(a, ctx);
	int64_t n = 0;

	if (be == NULL)
		return smp_int(out, 0);
	for (const struct conf_server *s = be->servers; s != NULL; s = s->next)
		n += __atomic_load_n(&s->cur_sess, __ATOMIC_RELAXED);
	return smp_int(out, n + __atomic_load_n(&be->queue_len, __ATOMIC_RELAXED));
}

static int
smp_fe_conn(const struct sample_arg *a, const struct sample_ctx *ctx, struct sample *out)
{
	const struct conf_proxy *fe = a->px != NULL ? a->px : ctx->fe;

	if (fe == NULL)
		return SMP_NONE;
	return smp_int(out, __atomic_load_n(&fe->cur_sess, __ATOMIC_RELAXED));
}

/* Free connection slots of the usable servers; -1 when one has no
 * maxconn (unbounded, as HAProxy answers). splicer has no per-server
 * queue limit, so queue slots do not count. */
static int
smp_connslots(const struct sample_arg *a, const struct sample_ctx *ctx, struct sample *out)
{
	const struct conf_proxy *be = smp_backend(a, ctx);
	int64_t n = 0;

	if (be == NULL)
		return smp_int(out, 0);
	for (const struct conf_server *s = be->servers; s != NULL; s = s->next) {
		unsigned int cur = __atomic_load_n(&s->cur_sess, __ATOMIC_RELAXED);

		if (__atomic_load_n(&s->state, __ATOMIC_RELAXED) != CONF_SRV_UP)
			continue;
		if (s->maxconn == 0)
			return smp_int(out, -1);
		n += cur < s->maxconn ? s->maxconn - cur : 0;
	}
	return smp_int(out, n);
}

/* ---- the request's bytes ---- */

static int
smp_req_len(const struct sample_arg *a, const struct sample_ctx *ctx, struct sample *out)
{
	/* It may still grow: a rule testing it waits, as HAProxy's does,
	 * unless it holds already (req.len gt 0 as soon as a byte came). */
	out->sint = (int64_t)ctx->len;
	out->may_change = !ctx->final;
	return SMP_FOUND;
}

static int
smp_wait_end(const struct sample_arg *a, const struct sample_ctx *ctx, struct sample *out)
{
	return ctx->final ? smp_bool(out, 1) : SMP_WAIT;
}

static int
smp_payload(const struct sample_arg *a, const struct sample_ctx *ctx, struct sample *out)
{
	size_t off = (size_t)a[0].i, len = (size_t)a[1].i;

	if (len == 0) {
		if (ctx->len < off)
			return SMP_WAIT;
		len = ctx->len - off;
		out->may_change = !ctx->final;
	} else if (ctx->len < off + len) {
		return SMP_WAIT;
	}
	out->ptr = ctx->data + off;
	out->len = len;
	return SMP_FOUND;
}

static int
smp_payload_lv(const struct sample_arg *a, const struct sample_ctx *ctx, struct sample *out)
{
	int r = payload_lv(ctx->data, ctx->len, (size_t)a[0].i, (unsigned int)a[1].i,
	    a[2].set ? a[2].i : 0, !a[2].set || a[2].rel, &out->ptr, &out->len);

	return r > 0 ? SMP_FOUND : smp_pending(r);
}

static int
smp_proto_http(const struct sample_arg *a, const struct sample_ctx *ctx, struct sample *out)
{
	const uint8_t *ver;
	int r = payload_http(ctx->data, ctx->len, &ver);

	/* Not HTTP is an answer: false, not "no sample". */
	return r == PAYLOAD_MORE ? SMP_WAIT : smp_bool(out, r == PAYLOAD_OK);
}

static int
smp_req_ver(const struct sample_arg *a, const struct sample_ctx *ctx, struct sample *out)
{
	int r = payload_http(ctx->data, ctx->len, &out->ptr);

	if (r != PAYLOAD_OK)
		return smp_pending(r);
	out->len = 3;
	return SMP_FOUND;
}

static int
smp_rdp_cookie(const struct sample_arg *a, const struct sample_ctx *ctx, struct sample *out)
{
	int r = payload_rdp_cookie(ctx->data, ctx->len, a[0].s, a[0].s ? strlen(a[0].s) : 0,
	    &out->ptr, &out->len);

	return r > 0 ? SMP_FOUND : smp_pending(r);
}

static int
smp_rdp_cookie_cnt(const struct sample_arg *a, const struct sample_ctx *ctx,
    struct sample *out)
{
	struct sample v;
	int r = smp_rdp_cookie(a, ctx, &v);

	return r == SMP_WAIT ? SMP_WAIT : smp_int(out, r == SMP_FOUND);
}

/* ---- TLS ---- */

static int
smp_hello(const struct sample_ctx *ctx, struct tls_hello *h)
{
	int r = tls_hello_parse(ctx->data, ctx->len, h);

	return r == TLS_HELLO_OK ? SMP_FOUND : smp_pending(r);
}

static int
smp_ssl_hello_type(const struct sample_arg *a, const struct sample_ctx *ctx,
    struct sample *out)
{
	struct tls_hello h;
	int r = smp_hello(ctx, &h);

	return r == SMP_FOUND ? smp_int(out, h.hs_type) : r;
}

static int
smp_ssl_ver(const struct sample_arg *a, const struct sample_ctx *ctx, struct sample *out)
{
	struct tls_hello h;
	int r = smp_hello(ctx, &h);

	return h.version_known ? smp_int(out, h.version) : r;
}

static int
smp_ssl_sni(const struct sample_arg *a, const struct sample_ctx *ctx, struct sample *out)
{
	struct tls_hello h;
	int r = smp_hello(ctx, &h);

	if (r != SMP_FOUND || h.sni == NULL)
		return r == SMP_FOUND ? SMP_NONE : r;
	out->ptr = h.sni;
	out->len = h.sni_len;
	return SMP_FOUND;
}

static int
smp_ssl_alpn(const struct sample_arg *a, const struct sample_ctx *ctx, struct sample *out)
{
	struct tls_hello h;
	int r = smp_hello(ctx, &h);

	if (r != SMP_FOUND || h.alpn == NULL)
		return r == SMP_FOUND ? SMP_NONE : r;
	out->ptr = h.alpn;
	out->len = h.alpn_len;
	return SMP_FOUND;
}

static int
smp_ssl_ec_ext(const struct sample_arg *a, const struct sample_ctx *ctx, struct sample *out)
{
	struct tls_hello h;
	int r = smp_hello(ctx, &h);

	return r == SMP_FOUND && h.hs_type == 1 ? smp_bool(out, h.ec_ext) :
	    r == SMP_FOUND ? SMP_NONE : r;
}

/* ---- constants ---- */

static int
smp_always_true(const struct sample_arg *a, const struct sample_ctx *ctx, struct sample *out)
{
	return smp_bool(out, 1);
}

static int
smp_always_false(const struct sample_arg *a, const struct sample_ctx *ctx, struct sample *out)
{
	return smp_bool(out, 0);
}

#define P SMP_F_PAYLOAD
const struct sample_fetch sample_builtin[] = {
	{ "always_false",	"",	SMP_T_BOOL, 0, smp_always_false },
	{ "always_true",	"",	SMP_T_BOOL, 0, smp_always_true },
	{ "be_conn",		"B",	SMP_T_SINT, 0, smp_be_conn },
	{ "connslots",		"B",	SMP_T_SINT, 0, smp_connslots },
	{ "dst",		"",	SMP_T_ADDR, 0, smp_dst },
	{ "dst_port",		"",	SMP_T_SINT, 0, smp_dst_port },
	{ "fe_conn",		"F",	SMP_T_SINT, 0, smp_fe_conn },
	{ "nbsrv",		"B",	SMP_T_SINT, 0, smp_nbsrv },
	{ "payload",		"ii",	SMP_T_BIN,  P, smp_payload },
	{ "payload_lv",		"iiO",	SMP_T_BIN,  P, smp_payload_lv },
	{ "rdp_cookie",		"S",	SMP_T_STR,  P, smp_rdp_cookie },
	{ "rdp_cookie_cnt",	"S",	SMP_T_SINT, P, smp_rdp_cookie_cnt },
	{ "req.len",		"",	SMP_T_SINT, P, smp_req_len },
	{ "req.payload",	"ii",	SMP_T_BIN,  P, smp_payload },
	{ "req.payload_lv",	"iiO",	SMP_T_BIN,  P, smp_payload_lv },
	{ "req.proto_http",	"",	SMP_T_BOOL, P, smp_proto_http },
	{ "req.rdp_cookie",	"S",	SMP_T_STR,  P, smp_rdp_cookie },
	{ "req.rdp_cookie_cnt",	"S",	SMP_T_SINT, P, smp_rdp_cookie_cnt },
	{ "req.ssl_alpn",	"",	SMP_T_STR,  P, smp_ssl_alpn },
	{ "req.ssl_ec_ext",	"",	SMP_T_BOOL, P, smp_ssl_ec_ext },
	{ "req.ssl_hello_type",	"",	SMP_T_SINT, P, smp_ssl_hello_type },
	{ "req.ssl_sni",	"",	SMP_T_STR,  P, smp_ssl_sni },
	{ "req.ssl_ver",	"",	SMP_T_SINT, P | SMP_F_VERSION, smp_ssl_ver },
	{ "req.ver",		"",	SMP_T_STR,  P, smp_req_ver },
	{ "req_len",		"",	SMP_T_SINT, P, smp_req_len },
	{ "req_proto_http",	"",	SMP_T_BOOL, P, smp_proto_http },
	{ "req_ssl_hello_type",	"",	SMP_T_SINT, P, smp_ssl_hello_type },
	{ "req_ssl_sni",	"",	SMP_T_STR,  P, smp_ssl_sni },
	{ "req_ssl_ver",	"",	SMP_T_SINT, P | SMP_F_VERSION, smp_ssl_ver },
	{ "req_ver",		"",	SMP_T_STR,  P, smp_req_ver },
	{ "so_id",		"",	SMP_T_SINT, 0, smp_so_id },
	{ "src",		"",	SMP_T_ADDR, 0, smp_src },
	{ "src_port",		"",	SMP_T_SINT, 0, smp_src_port },
	{ "srv_is_up",		"v",	SMP_T_BOOL, 0, smp_srv_is_up },
	{ "wait_end",		"",	SMP_T_BOOL, P, smp_wait_end },
};
#undef P
const size_t sample_nbuiltin = sizeof(sample_builtin) / sizeof(sample_builtin[0]);
