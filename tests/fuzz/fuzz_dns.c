/*
 * fuzz_dns: a nameserver's answer through dns_answer_parse(), in a buffer
 * of exactly its size, for each kind of question resolvers.c asks.
 * Properties: it never reads past the answer (ASan), a failure says why,
 * and what it keeps is bounded and well formed: at most DNS_MAX_RECORDS
 * records, each A, AAAA or SRV with an address of its family's length and
 * names that end within their buffers.
 */
#include "config.h"

#include <string.h>
#include <sys/socket.h>

#include "dns_msg.h"
#include "fuzz.h"

static struct dns_answer fuzz_a;	/* large: not on the stack */

static void
fuzz_one(const uint8_t *buf, size_t len, const char *name, int qtype)
{
	char err[256] = "";

	if (dns_answer_parse(buf, len, name, qtype, &fuzz_a, err, sizeof(err)) == -1) {
		FUZZ_ASSERT(err[0] != '\0');
		return;
	}
	FUZZ_ASSERT(fuzz_a.n <= DNS_MAX_RECORDS);
	for (unsigned int k = 0; k < fuzz_a.n; k++) {
		const struct dns_rr *r = &fuzz_a.rr[k];

		FUZZ_ASSERT(memchr(r->name, '\0', sizeof(r->name)) != NULL);
		if (r->type == DNS_T_A)
			FUZZ_ASSERT(r->addr.ss_family == AF_INET && r->addrlen > 0);
		else if (r->type == DNS_T_AAAA)
			FUZZ_ASSERT(r->addr.ss_family == AF_INET6 && r->addrlen > 0);
		else
			FUZZ_ASSERT(r->type == DNS_T_SRV &&
			    memchr(r->target, '\0', sizeof(r->target)) != NULL);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf = malloc(size > 0 ? size : 1);

	FUZZ_ASSERT(buf != NULL);
	memcpy(buf, data, size);
	fuzz_one(buf, size, "svc.test", DNS_T_A);
	fuzz_one(buf, size, "svc.test", DNS_T_AAAA);
	fuzz_one(buf, size, "_db._tcp.svc.test", DNS_T_SRV);
	free(buf);
	return 0;
}
