/*
 * dns_msg: DNS queries and answers, bounded.
 */
#include "config.h"
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include "dns_msg.h"

#define DNS_HDR		12
/* Compression pointers followed in one name: more is a loop. */
#define DNS_MAX_JUMPS	32
/* CNAMEs of one answer that are followed. */
#define DNS_MAX_ALIASES	8

static void
put16(uint8_t *p, unsigned int v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static unsigned int
get16(const uint8_t *p)
{
	return (unsigned int)p[0] << 8 | p[1];
}

int
dns_msg_id(const uint8_t *buf, size_t len)
{
	return len < DNS_HDR ? -1 : (int)get16(buf);
}

int
dns_query_build(uint8_t *buf, size_t cap, uint16_t id, const char *name, int qtype,
    uint16_t payload)
{
	size_t n = DNS_HDR, nl = strlen(name);
	const char *l = name;

	/* header, name (nl + 2), type, class, then the 11 bytes of OPT */
	if (nl == 0 || nl > DNS_NAME_MAX - 1 || cap < DNS_HDR + nl + 2 + 4 + 11)
		return -1;
	memset(buf, 0, DNS_HDR);
	put16(buf, id);
	buf[2] = 0x01;			/* RD */
	put16(buf + 4, 1);		/* QDCOUNT */
	put16(buf + 10, 1);		/* ARCOUNT: the OPT record */
	while (*l != '\0') {
		const char *dot = strchr(l, '.');
		size_t ll = dot != NULL ? (size_t)(dot - l) : strlen(l);

		if (ll == 0 || ll > 63)
			return -1;
		buf[n++] = (uint8_t)ll;
		memcpy(buf + n, l, ll);
		n += ll;
		l += ll;
		if (*l == '.' && *++l == '\0')
			break;		/* a final dot */
	}
	buf[n++] = 0;
	put16(buf + n, (unsigned int)qtype);
	put16(buf + n + 2, 1);		/* IN */
	n += 4;
	buf[n++] = 0;			/* OPT: root name */
	put16(buf + n, DNS_T_OPT);
	put16(buf + n + 2, payload);	/* its class: the payload size */
	memset(buf + n + 4, 0, 6);	/* extended rcode, version, flags, rdlength */
	return (int)(n + 10);
}

/*
 * The name at *off of msg into out (lower case, dots, no final dot), *off
 * moved past it where it is written (a pointer ends it). -1 when it runs
 * out of the message, loops, or is longer than a name may be.
 */
static int
dns_name(const uint8_t *msg, size_t len, size_t *off, char *out)
{
	size_t pos = *off, o = 0;
	int jumps = 0, jumped = 0;

	for (;;) {
		unsigned int c;

		if (pos >= len)
			return -1;
		c = msg[pos];
		if (c == 0) {
			if (!jumped)
				*off = pos + 1;
			break;
		}
		if ((c & 0xc0) == 0xc0) {
			if (pos + 1 >= len || ++jumps > DNS_MAX_JUMPS)
				return -1;
			if (!jumped)
				*off = pos + 2;
			jumped = 1;
			pos = (c & 0x3f) << 8 | msg[pos + 1];
			continue;
		}
		if ((c & 0xc0) != 0 || pos + 1 + c > len || o + c + 1 > DNS_NAME_MAX)
			return -1;
		if (o > 0)
			out[o++] = '.';
		for (unsigned int i = 0; i < c; i++)
			out[o++] = (char)tolower(msg[pos + 1 + i]);
		pos += 1 + c;
	}
	out[o] = '\0';
	return 0;
}

struct dns_alias {
	char owner[DNS_NAME_MAX + 1], target[DNS_NAME_MAX + 1];
};

/* The rdata of one A, AAAA or SRV record into r: 1 kept, 0 not one of
 * those (a CNAME goes to al), -1 malformed. */
static int
dns_rdata(const uint8_t *msg, size_t len, size_t off, unsigned int type, unsigned int rdlen,
    struct dns_rr *r, struct dns_alias *al, unsigned int *nal)
{
	size_t o = off;

	switch (type) {
	case DNS_T_A: {
		struct sockaddr_in *in = (struct sockaddr_in *)&r->addr;

		if (rdlen != 4)
			return -1;
		memset(&r->addr, 0, sizeof(r->addr));
		in->sin_family = AF_INET;
		memcpy(&in->sin_addr, msg + off, 4);
		r->addrlen = sizeof(*in);
		return 1;
	}
	case DNS_T_AAAA: {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&r->addr;

		if (rdlen != 16)
			return -1;
		memset(&r->addr, 0, sizeof(r->addr));
		in6->sin6_family = AF_INET6;
		memcpy(&in6->sin6_addr, msg + off, 16);
		r->addrlen = sizeof(*in6);
		return 1;
	}
	case DNS_T_SRV:
		if (rdlen < 7)
			return -1;
		r->priority = (uint16_t)get16(msg + off);
		r->weight = (uint16_t)get16(msg + off + 2);
		r->port = (uint16_t)get16(msg + off + 4);
		o = off + 6;
		if (dns_name(msg, off + rdlen, &o, r->target) == -1 || o != off + rdlen)
			return -1;
		return 1;
	case DNS_T_CNAME:
		if (*nal < DNS_MAX_ALIASES) {
			if (dns_name(msg, len, &o, al[*nal].target) == -1 || o != off + rdlen)
				return -1;
			snprintf(al[*nal].owner, sizeof(al[*nal].owner), "%s", r->name);
			(*nal)++;
		}
		return 0;
	default:
		return 0;
	}
}

/* Is owner name itself or an alias a CNAME chain from name leads to? */
static int
dns_owner_ok(const char *owner, const char *name, const struct dns_alias *al, unsigned int nal)
{
	const char *cur = name;

	for (unsigned int step = 0; step <= nal; step++) {
		unsigned int k;

		if (strcmp(owner, cur) == 0)
			return 1;
		for (k = 0; k < nal && strcmp(al[k].owner, cur) != 0; k++)
			;
		if (k == nal)
			return 0;
		cur = al[k].target;
	}
	return 0;
}

/* The question: one, for name and qtype. */
static int
dns_question(const uint8_t *buf, size_t len, size_t *off, const char *name, int qtype,
    char *q, char *err, size_t errlen)
{
	char want[DNS_NAME_MAX + 1];
	size_t i;

	if (get16(buf + 4) != 1) {
		snprintf(err, errlen, "%u questions, not 1", get16(buf + 4));
		return -1;
	}
	if (dns_name(buf, len, off, q) == -1 || *off + 4 > len) {
		snprintf(err, errlen, "malformed question");
		return -1;
	}
	for (i = 0; name[i] != '\0' && i < DNS_NAME_MAX; i++)
		want[i] = (char)tolower((unsigned char)name[i]);
	want[i] = '\0';
	if (i > 0 && want[i - 1] == '.')
		want[i - 1] = '\0';
	if (strcmp(q, want) != 0 || get16(buf + *off) != (unsigned int)qtype) {
		snprintf(err, errlen, "the answer is for another question ('%.100s' type %u)", q,
		    get16(buf + *off));
		return -1;
	}
	*off += 4;
	return 0;
}

int
dns_answer_parse(const uint8_t *buf, size_t len, const char *name, int qtype,
    struct dns_answer *a, char *err, size_t errlen)
{
	struct dns_alias al[DNS_MAX_ALIASES];
	char qn[DNS_NAME_MAX + 1];
	unsigned int nal = 0, nrr, k, kept = 0;
	size_t off = DNS_HDR;

	memset(a, 0, offsetof(struct dns_answer, rr));
	if (len < DNS_HDR || !(buf[2] & 0x80) || (buf[2] & 0x78) != 0) {
		snprintf(err, errlen, "not a DNS answer (%zu bytes)", len);
		return -1;
	}
	a->id = (uint16_t)get16(buf);
	a->truncated = (buf[2] & 0x02) != 0;
	a->rcode = buf[3] & 0x0f;
	if (dns_question(buf, len, &off, name, qtype, qn, err, errlen) == -1)
		return -1;
	nrr = get16(buf + 6) + get16(buf + 8) + get16(buf + 10);
	for (k = 0; k < nrr; k++) {
		struct dns_rr spare;	/* past DNS_MAX_RECORDS: read, checked, dropped */
		struct dns_rr *r = a->n < DNS_MAX_RECORDS ? &a->rr[a->n] : &spare;
		unsigned int type, rdlen;
		int rc;

		if (dns_name(buf, len, &off, r->name) == -1 || off + 10 > len) {
			snprintf(err, errlen, "malformed record %u", k + 1);
			return -1;
		}
		type = get16(buf + off);
		r->ttl = (uint32_t)get16(buf + off + 4) << 16 | get16(buf + off + 6);
		rdlen = get16(buf + off + 8);
		off += 10;
		if (off + rdlen > len) {
			snprintf(err, errlen, "record %u runs past the message", k + 1);
			return -1;
		}
		/* The authority section (NS, SOA) only counts for the walk. */
		r->section = k < get16(buf + 6) ? 0 : k < get16(buf + 6) + get16(buf + 8) ? 2 : 1;
		rc = dns_rdata(buf, len, off, type, rdlen, r, al, &nal);
		if (rc == -1) {
			snprintf(err, errlen, "malformed rdata of record %u (type %u)", k + 1, type);
			return -1;
		}
		off += rdlen;
		if (rc == 1 && r->section != 2 && r != &spare) {
			r->type = (int)type;
			a->n++;
		}
	}
	/* The answers must be for the name asked (or its CNAMEs). */
	for (k = 0; k < a->n; k++) {
		if (a->rr[k].section == 0 && !dns_owner_ok(a->rr[k].name, qn, al, nal))
			continue;
		if (kept != k)
			a->rr[kept] = a->rr[k];
		kept++;
	}
	a->n = kept;
	return 0;
}
