/*
 * dns_msg: DNS messages (RFC 1035), as resolvers.c sends and reads them:
 * one question of type A, AAAA or SRV (RFC 2782) with an EDNS0 record
 * announcing the accepted payload (RFC 6891), and answers read into a
 * bounded list of records. Nothing here allocates; every length and every
 * compression pointer of an answer is checked before it is followed.
 */
#ifndef SPLICER_DNS_MSG_H
#define SPLICER_DNS_MSG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define DNS_T_A		1
#define DNS_T_CNAME	5
#define DNS_T_AAAA	28
#define DNS_T_SRV	33
#define DNS_T_OPT	41

#define DNS_RC_NOERROR	0
#define DNS_RC_SERVFAIL	2
#define DNS_RC_NXDOMAIN	3
#define DNS_RC_REFUSED	5

/* Records kept of one answer; the rest are ignored. */
#define DNS_MAX_RECORDS	64
#define DNS_NAME_MAX	255

/* One A, AAAA or SRV record of an answer. */
struct dns_rr {
	int type;			/* DNS_T_A, DNS_T_AAAA or DNS_T_SRV */
	int section;			/* 0: answer, 1: additional */
	char name[DNS_NAME_MAX + 1];	/* its owner, lower case, no final dot */
	uint32_t ttl;
	struct sockaddr_storage addr;	/* A, AAAA: port 0 */
	socklen_t addrlen;
	uint16_t priority, weight, port; /* SRV */
	char target[DNS_NAME_MAX + 1];	/* SRV, lower case */
};

struct dns_answer {
	uint16_t id;
	int rcode;			/* DNS_RC_* */
	int truncated;			/* TC set */
	unsigned int n;			/* records kept */
	struct dns_rr rr[DNS_MAX_RECORDS];
};

/* A query for name (no final dot) of type qtype into buf: its length,
 * or -1 when name is not a valid DNS name or buf is too small. */
int dns_query_build(uint8_t *buf, size_t cap, uint16_t id, const char *name, int qtype,
    uint16_t payload);

/*
 * Read an answer of len bytes: its header, its question (which must be
 * one, for name and qtype), then its answer and additional records of
 * type A, AAAA and SRV whose owner is name or one a CNAME of the answer
 * leads to (the additional ones: any owner). 0, or -1 with the reason in
 * err (malformed, not an answer, another question).
 */
int dns_answer_parse(const uint8_t *buf, size_t len, const char *name, int qtype,
    struct dns_answer *a, char *err, size_t errlen);

/* The id of a message of len bytes, -1 when it is shorter than a header. */
int dns_msg_id(const uint8_t *buf, size_t len);

#endif
