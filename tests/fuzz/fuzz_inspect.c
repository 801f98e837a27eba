/*
 * fuzz_inspect: the parsers content inspection runs on a client's first
 * bytes: the TLS ClientHello (tls_hello.c) and the HTTP, RDP and
 * length-value readers (payload.c). A session calls them again with
 * every byte that arrives, so their answer must not depend on where the
 * stream was cut: a prefix that decides decides as the whole input, and
 * a decided prefix stays decided. What they point at lies in the input.
 * The converters that read a client's bytes (sample_conv*.c) run over
 * the input too: what they give lies in it or in a scratch chunk.
 */
#include "config.h"

#include <string.h>

#include "fuzz.h"
#include "payload.h"
#include "sample.h"
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

/* Chains of converters over the whole input, parsed once. */
static const char *const fuzz_convs[] = {
	"req.payload(0,0),lower,upper,length",
	"req.payload(0,0),hex,hex2i",
	"req.payload(0,0),bytes(3,100),field(2,:.),word(-1,/ ,2)",
	"req.payload(0,0),field(-2,\r\n,0),word(2, ,0)",
	"req.payload(0,0),regsub(a*,XY,g),regsub('([^ ]+) ([^ ]+)','\\2\\1')",
	"req.payload(0,0),base64,b64dec,ub64enc,ub64dec",
	"req.payload(0,0),ub64dec,b64dec",
	"req.payload(0,0),ltrim(' \t'),rtrim(\r\n),cut_crlf",
	"req.payload(0,0),crc32,add(7),mul(-3),div(-1),mod(5)",
	"req.payload(0,0),wt6(1),xor(1),djb2,sdbm,crc32c(1)",
	"req.payload(0,0),lower,ipmask(24,64),lower",
	"req.ssl_sni,lower,field(1,.)",
	"req.rdp_cookie(mstshash),upper",
};
static struct sample_expr fuzz_exprs[sizeof(fuzz_convs) / sizeof(*fuzz_convs)];
static int fuzz_exprs_ready;
static volatile unsigned int fuzz_sink;

static void
fuzz_converters(const uint8_t *buf, size_t n)
{
	struct sample_ctx ctx = { .data = buf, .len = n, .final = 1 };
	char err[256];
	int unknown;

	if (!fuzz_exprs_ready) {
		for (size_t i = 0; i < sizeof(fuzz_convs) / sizeof(*fuzz_convs); i++)
			FUZZ_ASSERT(sample_parse(fuzz_convs[i], &fuzz_exprs[i], &unknown, err,
			    sizeof(err)) == 0);
		fuzz_exprs_ready = 1;
	}
	for (size_t i = 0; i < sizeof(fuzz_convs) / sizeof(*fuzz_convs); i++) {
		struct sample smp;

		if (sample_fetch(&fuzz_exprs[i], &ctx, &smp) != SMP_FOUND ||
		    (smp.type != SMP_T_STR && smp.type != SMP_T_BIN))
			continue;
		FUZZ_ASSERT(smp.len <= SMP_CHUNK_MAX);
		/* In the input or in a chunk: every byte is readable (ASan
		 * says so), and the chunk holds the whole of it. */
		for (size_t k = 0; k < smp.len; k++)
			fuzz_sink += smp.ptr[k];
	}
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
	fuzz_converters(data, size);
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
