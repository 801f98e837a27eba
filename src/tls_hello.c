/*
 * tls_hello: the ClientHello parser. Every length read is checked
 * against the bytes that contain it before it is used.
 */
#include "config.h"

#include <string.h>

#include "tls_hello.h"

#define TLS_CT_HANDSHAKE	22
#define TLS_HS_CLIENT_HELLO	1
#define TLS_EXT_SERVER_NAME	0
#define TLS_EXT_SUPPORTED_GROUPS 10	/* "elliptic_curves" in RFC 4492 */
#define TLS_EXT_ALPN		16
#define TLS_SNI_HOST_NAME	0

/* A bounded reader over part of the buffer. */
struct tls_rd {
	const uint8_t *p;
	size_t left;
};

static int
tls_rd_take(struct tls_rd *r, size_t n, const uint8_t **at)
{
	if (n > r->left)
		return -1;
	if (at != NULL)
		*at = r->p;
	r->p += n;
	r->left -= n;
	return 0;
}

/* An n-byte big-endian integer (n <= 3). */
static int
tls_rd_uint(struct tls_rd *r, size_t n, size_t *v)
{
	const uint8_t *at;

	if (tls_rd_take(r, n, &at) == -1)
		return -1;
	*v = 0;
	for (size_t i = 0; i < n; i++)
		*v = *v << 8 | at[i];
	return 0;
}

/* A vector with an n-byte length prefix, as a reader of its own. */
static int
tls_rd_vec(struct tls_rd *r, size_t n, struct tls_rd *v)
{
	size_t len;

	if (tls_rd_uint(r, n, &len) == -1 || tls_rd_take(r, len, &v->p) == -1)
		return -1;
	v->left = len;
	return 0;
}

/* server_name: the first host_name entry (RFC 6066 3). */
static int
tls_ext_sni(struct tls_rd e, struct tls_hello *h)
{
	struct tls_rd list, name;
	size_t type;

	if (tls_rd_vec(&e, 2, &list) == -1 || e.left != 0)
		return -1;
	while (list.left > 0) {
		if (tls_rd_uint(&list, 1, &type) == -1 || tls_rd_vec(&list, 2, &name) == -1)
			return -1;
		if (type == TLS_SNI_HOST_NAME && h->sni == NULL && name.left > 0) {
			h->sni = name.p;
			h->sni_len = name.left;
		}
	}
	return 0;
}

/* application_layer_protocol_negotiation: the first name (RFC 7301 3.1). */
static int
tls_ext_alpn(struct tls_rd e, struct tls_hello *h)
{
	struct tls_rd list, name;

	if (tls_rd_vec(&e, 2, &list) == -1 || e.left != 0)
		return -1;
	while (list.left > 0) {
		if (tls_rd_vec(&list, 1, &name) == -1 || name.left == 0)
			return -1;
		if (h->alpn == NULL) {
			h->alpn = name.p;
			h->alpn_len = name.left;
		}
	}
	return 0;
}

static int
tls_extensions(struct tls_rd exts, struct tls_hello *h)
{
	while (exts.left > 0) {
		struct tls_rd e;
		size_t type;

		if (tls_rd_uint(&exts, 2, &type) == -1 || tls_rd_vec(&exts, 2, &e) == -1)
			return -1;
		if (type == TLS_EXT_SERVER_NAME && tls_ext_sni(e, h) == -1)
			return -1;
		if (type == TLS_EXT_ALPN && tls_ext_alpn(e, h) == -1)
			return -1;
		if (type == TLS_EXT_SUPPORTED_GROUPS)
			h->ec_ext = 1;
	}
	return 0;
}

/* The body of a ClientHello after its version (RFC 8446 4.1.2). */
static int
tls_client_hello(struct tls_rd b, struct tls_hello *h)
{
	struct tls_rd v;

	if (tls_rd_take(&b, 32, NULL) == -1)		/* random */
		return -1;
	if (tls_rd_vec(&b, 1, &v) == -1 || v.left > 32)	/* legacy_session_id */
		return -1;
	if (tls_rd_vec(&b, 2, &v) == -1 || v.left < 2 || v.left % 2 != 0)
		return -1;				/* cipher_suites */
	if (tls_rd_vec(&b, 1, &v) == -1 || v.left < 1)	/* compression_methods */
		return -1;
	if (b.left == 0)				/* no extensions (SSLv3) */
		return 0;
	if (tls_rd_vec(&b, 2, &v) == -1 || b.left != 0)
		return -1;
	return tls_extensions(v, h);
}

/* SSLv2's CLIENT-HELLO, with a two-byte header: only its version. */
static int
tls_sslv2(const uint8_t *buf, size_t n, struct tls_hello *h)
{
	size_t len;

	if (n < 2)
		return TLS_HELLO_MORE;
	len = (size_t)(buf[0] & 0x7f) << 8 | buf[1];
	if (len < 3)
		return TLS_HELLO_NOT;
	if (n < 3)
		return TLS_HELLO_MORE;
	if (buf[2] != TLS_HS_CLIENT_HELLO)
		return TLS_HELLO_NOT;
	if (n < 5)
		return TLS_HELLO_MORE;
	h->version = (unsigned int)buf[3] << 16 | buf[4];
	h->version_known = 1;
	h->sslv2 = 1;
	h->hs_type = TLS_HS_CLIENT_HELLO;
	h->len = 2 + len;
	return TLS_HELLO_OK;
}

int
tls_hello_parse(const uint8_t *buf, size_t n, struct tls_hello *h)
{
	size_t rec_len, hs_len;
	struct tls_rd body;

	memset(h, 0, sizeof(*h));
	if (n == 0)
		return TLS_HELLO_MORE;
	if (buf[0] & 0x80)
		return tls_sslv2(buf, n, h);
	if (buf[0] != TLS_CT_HANDSHAKE || (n >= 2 && buf[1] != 3))
		return TLS_HELLO_NOT;
	if (n < 5)
		return TLS_HELLO_MORE;
	rec_len = (size_t)buf[3] << 8 | buf[4];
	if (rec_len < 4 || rec_len > TLS_HELLO_RECORD_MAX - 5)
		return TLS_HELLO_NOT;
	if (n < 9)
		return TLS_HELLO_MORE;
	h->hs_type = buf[5];
	hs_len = (size_t)buf[6] << 16 | (size_t)buf[7] << 8 | buf[8];
	/* A first message longer than its record is not read (see above). */
	if (hs_len > rec_len - 4)
		return TLS_HELLO_NOT;
	if (h->hs_type == TLS_HS_CLIENT_HELLO && n >= 11) {
		h->version = (unsigned int)buf[9] << 16 | buf[10];
		h->version_known = 1;
	}
	if (n < 9 + hs_len)
		return TLS_HELLO_MORE;
	h->len = 5 + rec_len;
	if (h->hs_type != TLS_HS_CLIENT_HELLO)
		return TLS_HELLO_OK;
	body.p = buf + 9;
	body.left = hs_len;
	if (tls_rd_take(&body, 2, NULL) == -1 || tls_client_hello(body, h) == -1) {
		h->sni = h->alpn = NULL;
		return TLS_HELLO_NOT;
	}
	return TLS_HELLO_OK;
}
