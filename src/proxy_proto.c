/*
 * proxy_proto: PROXY protocol v1 and v2.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "proxy_proto.h"

static const uint8_t pp_v2_sig[12] = {
	0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A
};

/* A decimal port without heading zeros, 0..65535. */
static int
pp_port(const char *s, uint16_t *port)
{
	unsigned long v = 0;

	if (*s == '\0' || (s[0] == '0' && s[1] != '\0') || strlen(s) > 5)
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (unsigned long)(*s - '0');
	}
	if (v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

static int
pp_addr(int family, const char *s, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		/* glibc's inet_pton refuses heading zeros, as the spec asks. */
		if (inet_pton(AF_INET, s, &sin->sin_addr) != 1)
			return -1;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		if (inet_pton(AF_INET6, s, &sin6->sin6_addr) != 1)
			return -1;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
	}
	return 0;
}

static ssize_t
pp_parse_v1(const uint8_t *buf, size_t n, struct pp_header *h, char *err, size_t errlen)
{
	char line[PP_V1_MAX + 1], *w[7], *save = NULL;
	size_t end, i;
	int nw = 0, family;
	uint16_t sport, dport;

	/* The line ends at the first CRLF, within 107 bytes. */
	for (end = 0; end < n && end < PP_V1_MAX; end++) {
		if (buf[end] == '\n') {
			if (end == 0 || buf[end - 1] != '\r') {
				snprintf(err, errlen, "PROXY v1 header has a line feed without "
				    "carriage return");
				return -1;
			}
			break;
		}
		if (buf[end] == '\0' || (buf[end] == '\r' && end + 1 < n && buf[end + 1] != '\n')) {
			snprintf(err, errlen, "PROXY v1 header has a stray %s byte",
			    buf[end] == '\0' ? "NUL" : "carriage return");
			return -1;
		}
	}
	if (end == n && n < PP_V1_MAX)
		return 0;
	if (end >= PP_V1_MAX) {
		snprintf(err, errlen, "PROXY v1 header has no CRLF within %d bytes", PP_V1_MAX);
		return -1;
	}
	memcpy(line, buf, end - 1);	/* without CRLF */
	line[end - 1] = '\0';
	/* Exactly one space between fields: no empty field. */
	for (i = 0; i + 1 < end; i++) {
		if (line[i] == ' ' && (i == 0 || line[i + 1] == ' ' || line[i + 1] == '\0')) {
			snprintf(err, errlen, "PROXY v1 header has extra spaces");
			return -1;
		}
	}
	for (char *t = strtok_r(line, " ", &save); t != NULL && nw < 7; t = strtok_r(NULL, " ", &save))
		w[nw++] = t;
	memset(h, 0, sizeof(*h));
	h->version = 1;
	if (nw >= 2 && strcmp(w[1], "UNKNOWN") == 0)
		return (ssize_t)(end + 1);	/* the rest is to be ignored */
	if (nw < 2 || (strcmp(w[1], "TCP4") != 0 && strcmp(w[1], "TCP6") != 0)) {
		snprintf(err, errlen, "PROXY v1 header has protocol '%s' (expected TCP4, TCP6 "
		    "or UNKNOWN)", nw >= 2 ? w[1] : "");
		return -1;
	}
	if (nw != 6) {
		snprintf(err, errlen, "PROXY v1 header has %d fields (expected 6)", nw);
		return -1;
	}
	family = strcmp(w[1], "TCP4") == 0 ? AF_INET : AF_INET6;
	for (int k = 4; k <= 5; k++) {
		if (pp_port(w[k], k == 4 ? &sport : &dport) == -1) {
			snprintf(err, errlen, "PROXY v1 header has an invalid port '%s'", w[k]);
			return -1;
		}
	}
	for (int k = 2; k <= 3; k++) {
		if (pp_addr(family, w[k], k == 2 ? sport : dport, k == 2 ? &h->src : &h->dst) == -1) {
			snprintf(err, errlen, "PROXY v1 header has an invalid %s address '%s'",
			    w[1], w[k]);
			return -1;
		}
	}
	h->has_addr = 1;
	return (ssize_t)(end + 1);
}

static ssize_t
pp_parse_v2(const uint8_t *buf, size_t n, struct pp_header *h, char *err, size_t errlen)
{
	size_t total, alen, need, off;
	unsigned int cmd, fam, proto;

	if (n < 16)
		return 0;
	if ((buf[12] & 0xF0) != 0x20) {
		snprintf(err, errlen, "PROXY v2 header has version %u (expected 2)", buf[12] >> 4);
		return -1;
	}
	cmd = buf[12] & 0x0F;
	if (cmd > 1) {
		snprintf(err, errlen, "PROXY v2 header has command %u (expected LOCAL or PROXY)", cmd);
		return -1;
	}
	fam = buf[13] >> 4;
	proto = buf[13] & 0x0F;
	if (fam > 3 || proto > 2) {
		snprintf(err, errlen, "PROXY v2 header has an invalid family/protocol byte 0x%02x",
		    buf[13]);
		return -1;
	}
	alen = ((size_t)buf[14] << 8) | buf[15];
	total = 16 + alen;
	if (total > PP_V2_MAX) {
		snprintf(err, errlen, "PROXY v2 header of %zu bytes is longer than the %d "
		    "splicer accepts", total, PP_V2_MAX);
		return -1;
	}
	if (n < total)
		return 0;
	memset(h, 0, sizeof(*h));
	h->version = 2;
	need = fam == 1 ? 12 : fam == 2 ? 36 : fam == 3 ? 216 : 0;
	if (cmd == 1 && alen < need) {
		snprintf(err, errlen, "PROXY v2 header is too short for its addresses (%zu bytes, "
		    "%zu needed)", alen, need);
		return -1;
	}
	if (cmd == 1 && proto == 2) {
		snprintf(err, errlen, "PROXY v2 header announces a datagram (UDP) connection");
		return -1;
	}
	off = 16;
	if (cmd == 1 && (fam == 1 || fam == 2)) {
		int af = fam == 1 ? AF_INET : AF_INET6;
		size_t a = fam == 1 ? 4 : 16;
		struct sockaddr_storage *ss[2] = { &h->src, &h->dst };

		for (int k = 0; k < 2; k++) {
			uint16_t port = (uint16_t)((buf[16 + 2 * a + 2 * k] << 8) | buf[16 + 2 * a + 2 * k + 1]);

			if (af == AF_INET) {
				struct sockaddr_in *sin = (struct sockaddr_in *)ss[k];

				sin->sin_family = AF_INET;
				memcpy(&sin->sin_addr, buf + 16 + a * (size_t)k, 4);
				sin->sin_port = htons(port);
			} else {
				struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss[k];

				sin6->sin6_family = AF_INET6;
				memcpy(&sin6->sin6_addr, buf + 16 + a * (size_t)k, 16);
				sin6->sin6_port = htons(port);
			}
		}
		h->has_addr = 1;
	}
	if (cmd == 1)
		off += need;
	else
		off = total;	/* LOCAL: skip whatever is announced */
	/* TLVs: each type(1) length(2) value, all inside the header. */
	while (off < total) {
		size_t vlen;

		if (total - off < 3) {
			snprintf(err, errlen, "PROXY v2 header ends inside a TLV");
			return -1;
		}
		vlen = ((size_t)buf[off + 1] << 8) | buf[off + 2];
		if (vlen > total - off - 3) {
			snprintf(err, errlen, "PROXY v2 TLV 0x%02x of %zu bytes overruns the header",
			    buf[off], vlen);
			return -1;
		}
		off += 3 + vlen;
	}
	return (ssize_t)total;
}

ssize_t
pp_parse(const uint8_t *buf, size_t n, struct pp_header *h, char *err, size_t errlen)
{
	static const char v1[] = "PROXY ";
	size_t k;

	if (n == 0)
		return 0;
	if (buf[0] == 'P') {
		for (k = 0; k < n && k < 6; k++) {
			if (buf[k] != (uint8_t)v1[k])
				goto not_pp;
		}
		return pp_parse_v1(buf, n, h, err, errlen);
	}
	if (buf[0] == 0x0D) {
		for (k = 0; k < n && k < 12; k++) {
			if (buf[k] != pp_v2_sig[k])
				goto not_pp;
		}
		return pp_parse_v2(buf, n, h, err, errlen);
	}
not_pp:
	snprintf(err, errlen, "received something which is not a PROXY protocol header");
	return -1;
}

size_t
pp_build_v1(char *buf, size_t len, const struct sockaddr *src, const struct sockaddr *dst)
{
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
	int n;

	if (src->sa_family == AF_INET && dst->sa_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)src, *d = (const void *)dst;

		inet_ntop(AF_INET, &s->sin_addr, a, sizeof(a));
		inet_ntop(AF_INET, &d->sin_addr, b, sizeof(b));
		n = snprintf(buf, len, "PROXY TCP4 %s %s %u %u\r\n", a, b, ntohs(s->sin_port),
		    ntohs(d->sin_port));
	} else if (src->sa_family == AF_INET6 && dst->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)src, *d = (const void *)dst;

		inet_ntop(AF_INET6, &s->sin6_addr, a, sizeof(a));
		inet_ntop(AF_INET6, &d->sin6_addr, b, sizeof(b));
		n = snprintf(buf, len, "PROXY TCP6 %s %s %u %u\r\n", a, b, ntohs(s->sin6_port),
		    ntohs(d->sin6_port));
	} else {
		n = snprintf(buf, len, "PROXY UNKNOWN\r\n");
	}
	return n < 0 ? 0 : (size_t)n >= len ? len - 1 : (size_t)n;
}

size_t
pp_build_v2(uint8_t *buf, size_t len, const struct sockaddr *src, const struct sockaddr *dst)
{
	size_t n = 16;

	if (len < 52)
		return 0;
	memcpy(buf, pp_v2_sig, 12);
	if (src->sa_family == AF_INET && dst->sa_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)src, *d = (const void *)dst;

		buf[12] = 0x21;
		buf[13] = 0x11;
		memcpy(buf + 16, &s->sin_addr, 4);
		memcpy(buf + 20, &d->sin_addr, 4);
		memcpy(buf + 24, &s->sin_port, 2);
		memcpy(buf + 26, &d->sin_port, 2);
		n += 12;
	} else if (src->sa_family == AF_INET6 && dst->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)src, *d = (const void *)dst;

		buf[12] = 0x21;
		buf[13] = 0x21;
		memcpy(buf + 16, &s->sin6_addr, 16);
		memcpy(buf + 32, &d->sin6_addr, 16);
		memcpy(buf + 48, &s->sin6_port, 2);
		memcpy(buf + 50, &d->sin6_port, 2);
		n += 36;
	} else {
		buf[12] = 0x20;	/* LOCAL */
		buf[13] = 0x00;
	}
	buf[14] = (uint8_t)((n - 16) >> 8);
	buf[15] = (uint8_t)((n - 16) & 0xFF);
	return n;
}

int
pp_read(int fd, struct pp_reader *r, struct pp_header *h, char *err, size_t errlen)
{
	ssize_t n, len;

	n = recv(fd, r->buf + r->len, PP_MAX - r->len, MSG_PEEK);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		snprintf(err, errlen, "client %s before the end of its PROXY header (%zu bytes)",
		    n == 0 ? "closed" : "reset", r->len);
		return PP_READ_GONE;
	}
	if ((len = pp_parse(r->buf, r->len + (size_t)n, h, err, errlen)) < 0)
		return PP_READ_BAD;
	/* Consume what is header: all of it while incomplete, up to its end
	 * once complete. The bytes are those just peeked. */
	n = len == 0 ? n : len - (ssize_t)r->len;
	if (recv(fd, r->buf + r->len, (size_t)n, 0) != n) {
		snprintf(err, errlen, "client went away inside its PROXY header");
		return PP_READ_GONE;
	}
	r->len += (size_t)n;
	return len != 0;
}
