/*
 * check_expect: the judgement of a server's answer by an expect rule.
 * Pure and bounded: every function looks at buf[0..len) and nothing else,
 * so that huge lines, binary garbage and truncated packets are unit tested
 * without a socket.
 */
#include "config.h"

#define _GNU_SOURCE 1
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_rule.h"

static int
check_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

long
check_unhex(const char *hex, unsigned char *out, size_t cap)
{
	size_t n = strlen(hex);

	if (n == 0 || n % 2 != 0 || n / 2 > cap)
		return -1;
	for (size_t i = 0; i < n; i += 2) {
		int hi = check_hexval((unsigned char)hex[i]), lo = check_hexval((unsigned char)hex[i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i / 2] = (unsigned char)(hi << 4 | lo);
	}
	return (long)(n / 2);
}

/* The pattern for a message: text as is (bounded), bytes in hex. */
static void
check_pattern_text(const struct check_rule *r, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < r->len && o + 3 < cap; i++) {
		if (r->match == CHECK_M_BINARY)
			o += (size_t)snprintf(out + o, cap - o, "%02X", r->data[i]);
		else
			out[o++] = r->data[i] >= 0x20 && r->data[i] < 0x7f ? (char)r->data[i] : '.';
	}
	out[o] = '\0';
}

/* The regex runs on a NUL-terminated copy: glibc honours REG_STARTEND,
 * but other readers of the string (ASan's regexec interceptor among them)
 * look for its NUL, which an answer of binary bytes need not have. */
int
check_regex(const regex_t *re, const char *buf, size_t len)
{
	char *s = malloc(len + 1);
	regmatch_t m[1];
	int ok;

	if (s == NULL)
		return 0;
	memcpy(s, buf, len);
	s[len] = '\0';
	m[0].rm_so = 0;
	m[0].rm_eo = (regoff_t)len;
	ok = regexec(re, s, 1, m, REG_STARTEND) == 0;
	free(s);
	return ok;
}

/* rbinary: the regex runs on the answer written in upper-case hex. */
static int
check_regex_hex(const regex_t *re, const unsigned char *buf, size_t len)
{
	static const char digits[] = "0123456789ABCDEF";
	char *hex = malloc(2 * len + 1);
	int ok;

	if (hex == NULL)
		return 0;
	for (size_t i = 0; i < len; i++) {
		hex[2 * i] = digits[buf[i] >> 4];
		hex[2 * i + 1] = digits[buf[i] & 15];
	}
	hex[2 * len] = '\0';
	ok = check_regex(re, hex, 2 * len);
	free(hex);
	return ok;
}

/* Text of a protocol's error message, printable and bounded. */
static void
check_printable(const unsigned char *p, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < n && o + 1 < cap && p[i] != '\0'; i++)
		out[o++] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '.';
	out[o] = '\0';
}

/* One MySQL packet at the start of buf: 3 bytes of length, a sequence
 * number, the payload. want is the first payload byte that passes
 * (0x0a: protocol 10 handshake; 0x00: OK). */
static enum check_verdict
check_mysql(const unsigned char *buf, size_t len, int last, int want, char *info, size_t cap)
{
	size_t plen;
	char msg[128];

	if (len < 5)
		goto more;
	plen = (size_t)buf[0] | (size_t)buf[1] << 8 | (size_t)buf[2] << 16;
	if (plen == 0 || plen > CHECK_BUF - 4) {
		snprintf(info, cap, "not a MySQL packet (length %zu)", plen);
		return CHECK_FAIL;
	}
	if (len < plen + 4)
		goto more;
	if (buf[4] == 0xff) {
		/* Error packet: code, then "#" and a 5-byte SQL state (4.1+), then text. */
		size_t off = 7 + (plen >= 9 && buf[7] == '#' ? 6 : 0);

		if (plen < 3) {
			snprintf(info, cap, "short MySQL error packet");
			return CHECK_FAIL;
		}
		check_printable(buf + off, plen + 4 > off ? plen + 4 - off : 0, msg, sizeof(msg));
		snprintf(info, cap, "MySQL error %u: %s", (unsigned int)(buf[5] | buf[6] << 8), msg);
		return CHECK_FAIL;
	}
	if (buf[4] != want) {
		snprintf(info, cap, "unexpected MySQL packet (type 0x%02x)", buf[4]);
		return CHECK_FAIL;
	}
	if (want == 0x0a) {
		check_printable(buf + 5, plen - 1, msg, sizeof(msg));
		snprintf(info, cap, "MySQL version %s", msg);
	}
	return CHECK_PASS;
more:
	if (!last)
		return CHECK_MORE;
	snprintf(info, cap, "truncated MySQL packet (%zu bytes)", len);
	return CHECK_FAIL;
}

/* A BER length at buf[*off]; advances *off. -1: more needed, -2: bad. */
static long
check_ber_len(const unsigned char *buf, size_t len, size_t *off)
{
	unsigned int n;
	long v = 0;

	if (*off >= len)
		return -1;
	if (!(buf[*off] & 0x80))
		return buf[(*off)++];
	n = buf[(*off)++] & 0x7f;
	if (n == 0 || n > 3)
		return -2;
	if (*off + n > len)
		return -1;
	while (n-- > 0)
		v = v << 8 | buf[(*off)++];
	return v;
}

/* An LDAPv3 bind response: SEQUENCE { messageID INTEGER, [APPLICATION 1]
 * { resultCode ENUMERATED, ... } }; passes when resultCode is 0. */
static enum check_verdict
check_ldap(const unsigned char *buf, size_t len, int last, char *info, size_t cap)
{
	size_t off = 1;
	long l;

	if (len < 2)
		goto more;
	if (buf[0] != 0x30)
		goto bad;
	if ((l = check_ber_len(buf, len, &off)) == -1)
		goto more;
	if (l < 0)
		goto bad;
	if (off + 2 > len)
		goto more;
	if (buf[off] != 0x02 || buf[off + 1] == 0 || buf[off + 1] > 4)
		goto bad;
	off += 2 + buf[off + 1];	/* the message id */
	if (off + 1 > len)
		goto more;
	if (buf[off++] != 0x61)
		goto bad;
	if ((l = check_ber_len(buf, len, &off)) == -1)
		goto more;
	if (l < 0)
		goto bad;
	if (off + 3 > len)
		goto more;
	if (buf[off] != 0x0a || buf[off + 1] != 1)
		goto bad;
	if (buf[off + 2] != 0) {
		snprintf(info, cap, "LDAP bind failed, resultCode %u", buf[off + 2]);
		return CHECK_FAIL;
	}
	return CHECK_PASS;
more:
	if (!last)
		return CHECK_MORE;
	snprintf(info, cap, "truncated LDAP bind response (%zu bytes)", len);
	return CHECK_FAIL;
bad:
	snprintf(info, cap, "not an LDAPv3 bind response");
	return CHECK_FAIL;
}

void
check_rule_describe(const struct check_rule *r, char *out, size_t cap)
{
	static const char *const kinds[] = {
		[CHECK_M_STRING] = "string", [CHECK_M_RSTRING] = "rstring",
		[CHECK_M_BINARY] = "binary", [CHECK_M_RBINARY] = "rbinary",
		[CHECK_M_MYSQL_HELLO] = "mysql handshake", [CHECK_M_MYSQL_OK] = "mysql OK",
		[CHECK_M_LDAP_BIND] = "ldap bind response", [CHECK_M_LINE] = "agent line",
		[CHECK_M_HTTP_DEFAULT] = "status 2xx/3xx", [CHECK_M_HTTP_STATUS] = "status",
		[CHECK_M_HTTP_RSTATUS] = "rstatus", [CHECK_M_HTTP_STRING] = "string",
		[CHECK_M_HTTP_RSTRING] = "rstring", [CHECK_M_HTTP_HDR] = "hdr",
	};
	char pat[80];

	if (r->kind != CHECK_RULE_EXPECT) {
		snprintf(out, cap, "%s", r->kind == CHECK_RULE_SEND ? "send" : "connect");
		return;
	}
	check_pattern_text(r, pat, sizeof(pat));
	snprintf(out, cap, "expect %s%s%s%s%s", r->negate ? "! " : "", kinds[r->match],
	    r->data != NULL ? " '" : "", r->data != NULL ? pat : "", r->data != NULL ? "'" : "");
}

enum check_verdict
check_expect(const struct check_rule *r, const unsigned char *buf, size_t len, int last,
    char *info, size_t cap)
{
	char pat[80];
	int match;

	if (r->min_recv > 0 && len < (size_t)r->min_recv) {
		if (!last)
			return CHECK_MORE;
		snprintf(info, cap, "answer of %zu bytes, %ld needed", len, r->min_recv);
		return CHECK_FAIL;
	}
	switch (r->match) {
	case CHECK_M_MYSQL_HELLO:
		return check_mysql(buf, len, last, 0x0a, info, cap);
	case CHECK_M_MYSQL_OK:
		return check_mysql(buf, len, last, 0x00, info, cap);
	case CHECK_M_LDAP_BIND:
		return check_ldap(buf, len, last, info, cap);
	case CHECK_M_LINE:
		if (memchr(buf, '\n', len) != NULL || memchr(buf, '\r', len) != NULL ||
		    (last && len > 0))
			return CHECK_PASS;
		if (!last)
			return CHECK_MORE;
		snprintf(info, cap, "the agent closed without an answer");
		return CHECK_FAIL;
	case CHECK_M_HTTP_DEFAULT:
	case CHECK_M_HTTP_STATUS:
	case CHECK_M_HTTP_RSTATUS:
	case CHECK_M_HTTP_STRING:
	case CHECK_M_HTTP_RSTRING:
	case CHECK_M_HTTP_HDR:
		return check_http_expect(r, buf, len, last, info, cap);
	case CHECK_M_STRING:
	case CHECK_M_BINARY:
		match = r->len <= len && memmem(buf, len, r->data, r->len) != NULL;
		break;
	case CHECK_M_RSTRING:
		match = check_regex(&r->re, (const char *)buf, len);
		break;
	case CHECK_M_RBINARY:
		match = check_regex_hex(&r->re, buf, len);
		break;
	default:
		match = 0;
	}
	/* Without min-recv, a mismatch may still become a match with more
	 * bytes: wait for them, as HAProxy does. */
	if (!match && !last && r->min_recv < 0)
		return CHECK_MORE;
	if (match != r->negate)
		return CHECK_PASS;
	check_pattern_text(r, pat, sizeof(pat));
	snprintf(info, cap, "%s content '%s'", match ? "matched unwanted" : "did not match", pat);
	return CHECK_FAIL;
}
