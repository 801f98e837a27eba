/*
 * fuzz_proxy_proto: PROXY v1/v2 headers. A session calls pp_parse() again
 * with every byte that arrives, so the answer must not depend on where
 * the stream was split: fed prefix by prefix, the answers are "need more"
 * (0) until some length k, then the same answer as for the whole input
 * at k and every length after it; a header is complete exactly when its
 * last byte arrives, and PP_MAX bytes always decide (a session's buffer
 * holds that much). A header with addresses, built again with
 * pp_build_v1() and pp_build_v2(), parses to the same addresses.
 */
#include "config.h"

#include <netinet/in.h>
#include <string.h>

#include "fuzz.h"
#include "proxy_proto.h"

static ssize_t
fuzz_parse(const uint8_t *buf, size_t n, struct pp_header *h)
{
	char err[256];
	ssize_t r;

	memset(h, 0, sizeof(*h));
	err[0] = '\0';
	r = pp_parse(buf, n, h, err, sizeof(err));
	FUZZ_ASSERT(r >= -1 && r <= (ssize_t)n);
	if (r == -1)
		FUZZ_ASSERT(err[0] != '\0' && strlen(err) < sizeof(err));
	if (r > 0) {
		FUZZ_ASSERT(h->version == 1 || h->version == 2);
		FUZZ_ASSERT(r <= (h->version == 1 ? PP_V1_MAX : PP_V2_MAX));
	}
	return r;
}

/* The addresses of two parsed headers are the same. */
static void
fuzz_same_addr(const struct pp_header *a, const struct pp_header *b)
{
	size_t len = a->src.ss_family == AF_INET ? sizeof(struct sockaddr_in) :
	    sizeof(struct sockaddr_in6);

	FUZZ_ASSERT(b->has_addr && b->src.ss_family == a->src.ss_family &&
	    b->dst.ss_family == a->dst.ss_family);
	FUZZ_ASSERT(memcmp(&a->src, &b->src, len) == 0 && memcmp(&a->dst, &b->dst, len) == 0);
}

static void
fuzz_roundtrip(const struct pp_header *h)
{
	const struct sockaddr *src = (const struct sockaddr *)&h->src;
	const struct sockaddr *dst = (const struct sockaddr *)&h->dst;
	uint8_t buf[PP_V2_MAX];
	struct pp_header again;
	size_t n;

	FUZZ_ASSERT(h->src.ss_family == h->dst.ss_family &&
	    (h->src.ss_family == AF_INET || h->src.ss_family == AF_INET6));
	n = pp_build_v1((char *)buf, PP_V1_MAX + 1, src, dst);
	FUZZ_ASSERT(fuzz_parse(buf, n, &again) == (ssize_t)n && again.version == 1);
	fuzz_same_addr(h, &again);
	n = pp_build_v2(buf, sizeof(buf), src, dst);
	FUZZ_ASSERT(fuzz_parse(buf, n, &again) == (ssize_t)n && again.version == 2);
	fuzz_same_addr(h, &again);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pp_header whole, part;
	ssize_t r, rk = 0;
	size_t k;

	/* Past the longest header, more bytes change nothing. */
	if (size > PP_MAX + 64)
		size = PP_MAX + 64;
	r = fuzz_parse(data, size, &whole);
	for (k = 0; k <= size; k++) {
		if ((rk = fuzz_parse(data, k, &part)) != 0)
			break;
	}
	if (r == 0) {
		/* A reader with room for PP_MAX bytes always gets an answer. */
		FUZZ_ASSERT(k > size && size < PP_MAX);
		return 0;
	}
	/* The first decided prefix decides as the whole, and stays decided. */
	FUZZ_ASSERT(k <= size && rk == r);
	if (r > 0) {
		FUZZ_ASSERT((size_t)r == k);
		FUZZ_ASSERT(memcmp(&part, &whole, sizeof(whole)) == 0);
	}
	for (size_t j = k + 1; j <= size && j <= k + 3; j++)
		FUZZ_ASSERT(fuzz_parse(data, j, &part) == r);
	if (r > 0 && whole.has_addr)
		fuzz_roundtrip(&whole);
	return 0;
}
