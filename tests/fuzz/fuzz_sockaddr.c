/*
 * fuzz_sockaddr: "HOST:PORT" as bind, server, log and metrics lines write
 * it, with SOCKADDR_F_ANY, SOCKADDR_F_UNIX (a server's unix@/abns@) or neither. No name is resolved here (the
 * parser only recognises numeric hosts). Beyond not crashing: a numeric
 * address printed with sockaddr_print() parses back to the same address,
 * the port is 1..65535, and a host kept for resolution fits its field.
 */
#include "config.h"

#include <netinet/in.h>
#include <string.h>

#include "fuzz.h"
#include "sockaddr.h"

static void
fuzz_one(const char *s, int flags)
{
	struct sockaddr_spec spec, again;
	char err[512], buf[SOCKADDR_STRLEN];

	err[0] = '\0';
	if (sockaddr_parse(s, flags, &spec, err, sizeof(err)) == -1) {
		FUZZ_ASSERT(err[0] != '\0');
		return;
	}
	if (spec.ss.ss_family == AF_UNIX) {
		/* A server's unix@, abns@ or /path: printed, it parses back. */
		FUZZ_ASSERT((flags & SOCKADDR_F_UNIX) && spec.port == 0 && spec.len != 0);
		sockaddr_print((const struct sockaddr *)&spec.ss, buf, sizeof(buf));
		FUZZ_ASSERT(sockaddr_parse(buf, flags, &again, err, sizeof(err)) == 0);
		FUZZ_ASSERT(again.len == spec.len && memcmp(&again.ss, &spec.ss, spec.len) == 0);
		return;
	}
	FUZZ_ASSERT(spec.port >= 1);
	FUZZ_ASSERT(memchr(spec.host, '\0', sizeof(spec.host)) != NULL);
	if (sockaddr_is_unresolved(&spec)) {
		FUZZ_ASSERT(spec.ss.ss_family == AF_UNSPEC && spec.host[0] != '\0');
		return;
	}
	FUZZ_ASSERT(spec.ss.ss_family == AF_INET || spec.ss.ss_family == AF_INET6);
	FUZZ_ASSERT(sockaddr_port((const struct sockaddr *)&spec.ss) == spec.port);
	sockaddr_print((const struct sockaddr *)&spec.ss, buf, sizeof(buf));
	FUZZ_ASSERT(sockaddr_parse(buf, 0, &again, err, sizeof(err)) == 0);
	FUZZ_ASSERT(again.len == spec.len && memcmp(&again.ss, &spec.ss, spec.len) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_strndup(data, size);

	fuzz_one(s, 0);
	fuzz_one(s, SOCKADDR_F_ANY);
	fuzz_one(s, SOCKADDR_F_UNIX);
	free(s);
	return 0;
}
