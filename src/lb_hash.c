/*
 * lb_hash: balance source. The client address is hashed onto the
 * servers' weights, so that a client keeps reaching the same server while
 * the set of servers that are up does not change. When that server is
 * full, the session waits in its queue rather than going elsewhere.
 */
#include "config.h"

#include <netinet/in.h>
#include <stdint.h>

#include "lb.h"

/* FNV-1a over the address bytes, then a final mix so that nearby
 * addresses spread over the weights. */
static uint32_t
lb_hash_addr(const struct sockaddr *sa)
{
	const unsigned char *p;
	size_t len;
	uint32_t h = 2166136261u;

	if (sa == NULL)
		return 0;
	if (sa->sa_family == AF_INET6) {
		p = (const unsigned char *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
		len = 16;
	} else {
		p = (const unsigned char *)&((const struct sockaddr_in *)sa)->sin_addr;
		len = 4;
	}
	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 16777619u;
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	return h;
}

static struct conf_server *
lb_source_pick(struct conf_proxy *be, struct conf_server **cand, unsigned int n,
    const struct sockaddr *cli)
{
	uint64_t total = 0, point;

	for (unsigned int i = 0; i < n; i++)
		total += cand[i]->cur_weight;
	if (total == 0)
		return NULL;
	point = lb_hash_addr(cli) % total;
	for (unsigned int i = 0; i < n; i++) {
		if (point < cand[i]->cur_weight)
			return cand[i];	/* full or not: the caller queues on it */
		point -= cand[i]->cur_weight;
	}
	return NULL;
}

const struct lb_ops lb_source_ops = { "source", lb_source_pick };
