/*
 * fuzz_inspect: the parsers content inspection runs on a client's first
 * bytes: the TLS ClientHello (tls_hello.c) and the HTTP, RDP and
 * length-value readers (payload.c). A session calls them again with
 * every byte that arrives, so their answer must not depend on where the
 * stream was cut: a prefix that decides decides as the whole input, and
 * a decided prefix stays decided. What they point at lies in the input.
 */
#include "config.h"

#include <string.h>

#include "fuzz.h"
#include "payload.h"
#include "tls_hello.h"

/* Inputs are bounded as a session's inspection buffer is. */
#define FUZZ_INSPECT_MAX 20000
/* Up to this size every prefix is tried; above it, a sample of them. */
#define FUZZ_INSPECT_ALL 1024

static const uint8_t *fuzz_base;
static size_t fuzz_size;

static void
fuzz_inside(const uint8_t *p, size_t len)
{
	FUZZ_ASSERT(p >= fuzz_base && p + len <= fuzz_base + fuzz_size);
}

/* Every parser's answer for the first n bytes, as one comparable record. */
struct fuzz_answer {
	int tls, http, rdp, rdp_named, lv;
	struct tls_hello h;
	const uint8_t *ver, *rdp_val, *lv_at;
	size_t rdp_len, lv_len;
};

static void
fuzz_answers(const uint8_t *buf, size_t n, struct fuzz_answer *a)
{
	memset(a, 0, sizeof(*a));
	a->tls = tls_hello_parse(buf, n, &a->h);
	FUZZ_ASSERT(a->tls >= TLS_HELLO_NOT && a->tls <= TLS_HELLO_OK);
	if (a->tls == TLS_HELLO_OK) {
		/* SSLv2's two-byte header counts up to 32767 bytes. */
		FUZZ_ASSERT(a->h.len <= (a->h.sslv2 ? 2 + 0x7fff : TLS_HELLO_RECORD_MAX));
		if (a->h.sni != NULL)
			fuzz_inside(a->h.sni, a->h.sni_len);
		if (a->h.alpn != NULL)
			fuzz_inside(a->h.alpn, a->h.alpn_len);
	}
	a->http = payload_http(buf, n, &a->ver);
	if (a->http == PAYLOAD_OK) {
		fuzz_inside(a->ver, 3);
		FUZZ_ASSERT(a->ver[0] == '1' && a->ver[1] == '.');
	}
	a->rdp = payload_rdp_cookie(buf, n, NULL, 0, &a->rdp_val, &a->rdp_len);
	if (a->rdp == PAYLOAD_OK)
		fuzz_inside(a->rdp_val, a->rdp_len);
	a->rdp_named = payload_rdp_cookie(buf, n, "mstshash", 8, &a->rdp_val, &a->rdp_len);
	/* A length at the first byte, in the second and third. */
	a->lv = n > 0 ? payload_lv(buf, n, 1, 2, buf[0] % 8, buf[0] & 0x80, &a->lv_at,
	    &a->lv_len) : PAYLOAD_MORE;
	if (a->lv == PAYLOAD_OK)
		fuzz_inside(a->lv_at, a->lv_len);
}

/* A prefix's answer, where decided, is the whole input's. */
static void
fuzz_same(int part, int whole)
{
	FUZZ_ASSERT(part == 0 || part == whole);
}

static void
fuzz_prefix(const uint8_t *data, size_t k, const struct fuzz_answer *whole)
{
	struct fuzz_answer a;

	fuzz_answers(data, k, &a);
	fuzz_same(a.tls, whole->tls);
	fuzz_same(a.http, whole->http);
	fuzz_same(a.rdp, whole->rdp);
	fuzz_same(a.rdp_named, whole->rdp_named);
	if (a.tls == TLS_HELLO_OK) {
		FUZZ_ASSERT(a.h.sni == whole->h.sni && a.h.sni_len == whole->h.sni_len);
		FUZZ_ASSERT(a.h.alpn == whole->h.alpn && a.h.hs_type == whole->h.hs_type);
	}
	if (a.h.version_known)
		FUZZ_ASSERT(whole->h.version_known && a.h.version == whole->h.version);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_answer whole;

	if (size > FUZZ_INSPECT_MAX)
		size = FUZZ_INSPECT_MAX;
	fuzz_base = data;
	fuzz_size = size;
	fuzz_answers(data, size, &whole);
	if (size <= FUZZ_INSPECT_ALL) {
		for (size_t k = 0; k < size; k++)
			fuzz_prefix(data, k, &whole);
	} else {
		for (size_t k = 0; k < size; k += 1 + size / 61)
			fuzz_prefix(data, k, &whole);
		fuzz_prefix(data, size - 1, &whole);
	}
	return 0;
}
