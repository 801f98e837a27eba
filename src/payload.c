/*
 * payload: HTTP/1 request heads, RDP cookies and length-value blocks
 * in the first bytes of a request.
 */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "payload.h"

/* RFC 9110 5.6.2 tchar: the characters of a method or header name. */
static int
payload_tchar(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* The end of the line starting at p (its '\n'), NULL when not in yet. */
static const uint8_t *
payload_eol(const uint8_t *p, const uint8_t *end)
{
	return memchr(p, '\n', (size_t)(end - p));
}

/* "METHOD SP TARGET SP HTTP/1.x" in [p, e) (CR stripped): 0 or -1. */
static int
payload_request_line(const uint8_t *p, const uint8_t *e, const uint8_t **ver)
{
	const uint8_t *m = p, *t;

	while (p < e && payload_tchar(*p))
		p++;
	if (p == m || p == e || *p != ' ')
		return -1;
	t = ++p;
	while (p < e && *p > ' ' && *p != 0x7f)
		p++;
	if (p == t || e - p != 9 || memcmp(p, " HTTP/1.", 8) != 0 ||
	    (p[8] != '0' && p[8] != '1'))
		return -1;
	*ver = p + 6;
	return 0;
}

/* A header line "name: value" in [p, e): 0 or -1 (no obs-fold). */
static int
payload_header(const uint8_t *p, const uint8_t *e)
{
	const uint8_t *n = p;

	while (p < e && payload_tchar(*p))
		p++;
	if (p == n || p == e || *p != ':')
		return -1;
	for (p++; p < e; p++) {
		if ((*p < ' ' && *p != '\t') || *p == 0x7f)
			return -1;
	}
	return 0;
}

int
payload_http(const uint8_t *buf, size_t n, const uint8_t **ver)
{
	const uint8_t *end = buf + (n < PAYLOAD_HTTP_MAX ? n : PAYLOAD_HTTP_MAX);
	const uint8_t *p = buf, *nl, *e;
	int first = 1;

	while ((nl = payload_eol(p, end)) != NULL) {
		e = nl > p && nl[-1] == '\r' ? nl - 1 : nl;
		if (first) {
			if (payload_request_line(p, e, ver) == -1)
				return PAYLOAD_NOT;
			first = 0;
		} else if (e == p) {
			return PAYLOAD_OK;
		} else if (payload_header(p, e) == -1) {
			return PAYLOAD_NOT;
		}
		p = nl + 1;
	}
	/* An incomplete line is judged by what it holds so far: a method
	 * must start with a token character. */
	if (first && p < end && !payload_tchar(*p))
		return PAYLOAD_NOT;
	return n >= PAYLOAD_HTTP_MAX ? PAYLOAD_NOT : PAYLOAD_MORE;
}

/* The TPKT + X.224 CR header ahead of the cookie (MS-RDPBCGR 2.2.1.1). */
#define PAYLOAD_RDP_HDR 11
#define PAYLOAD_RDP_COOKIE "Cookie: "

int
payload_rdp_cookie(const uint8_t *buf, size_t n, const char *name, size_t namelen,
    const uint8_t **val, size_t *vallen)
{
	const size_t clen = sizeof(PAYLOAD_RDP_COOKIE) - 1;
	const uint8_t *p, *end, *eq, *crlf;
	size_t tpkt;

	if (n < 4)
		return n >= 1 && buf[0] != 3 ? PAYLOAD_NOT : PAYLOAD_MORE;
	tpkt = (size_t)buf[2] << 8 | buf[3];
	if (buf[0] != 3 || buf[1] != 0 || tpkt < PAYLOAD_RDP_HDR + clen)
		return PAYLOAD_NOT;
	if (n < tpkt)
		return PAYLOAD_MORE;
	/* X.224: length indicator, then the Connection Request code. */
	if (buf[5] != 0xe0 || memcmp(buf + PAYLOAD_RDP_HDR, PAYLOAD_RDP_COOKIE, clen) != 0)
		return PAYLOAD_NOT;
	p = buf + PAYLOAD_RDP_HDR + clen;
	end = buf + tpkt;
	if ((eq = memchr(p, '=', (size_t)(end - p))) == NULL)
		return PAYLOAD_NOT;
	for (crlf = eq; crlf + 1 < end && !(crlf[0] == '\r' && crlf[1] == '\n'); crlf++)
		;
	if (crlf + 1 >= end)
		return PAYLOAD_NOT;
	if (namelen > 0 && ((size_t)(eq - p) != namelen ||
	    strncasecmp((const char *)p, name, namelen) != 0))
		return PAYLOAD_NOT;
	*val = eq + 1;
	*vallen = (size_t)(crlf - eq - 1);
	return PAYLOAD_OK;
}

int
payload_lv(const uint8_t *buf, size_t n, size_t off1, unsigned int len, long long off2,
    int rel2, const uint8_t **at, size_t *blen)
{
	unsigned long long start, bl = 0;

	if (len < 1 || len > 4 || off1 > PAYLOAD_HTTP_MAX * 4ULL)
		return PAYLOAD_NOT;
	if (n < off1 + len)
		return PAYLOAD_MORE;
	for (unsigned int i = 0; i < len; i++)
		bl = bl << 8 | buf[off1 + i];
	if (rel2) {
		if (off2 < 0 && (unsigned long long)-off2 > off1 + len)
			return PAYLOAD_NOT;
		start = (unsigned long long)((long long)(off1 + len) + off2);
	} else {
		if (off2 < 0)
			return PAYLOAD_NOT;
		start = (unsigned long long)off2;
	}
	if (start + bl > n)
		return PAYLOAD_MORE;
	*at = buf + start;
	*blen = (size_t)bl;
	return PAYLOAD_OK;
}
