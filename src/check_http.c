/*
 * check_http: the HTTP/1.x side of health checks ("option httpchk",
 * "http-check"): the request a send rule carries, and a bounded parser of
 * the answer's status line and headers with the matchers of "http-check
 * expect". Pure: it looks at the bytes it is given and nothing else.
 */
#include "config.h"

#define _GNU_SOURCE 1
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "check_rule.h"

/* Where the parts of an answer are. */
struct check_http_resp {
	int status;
	char reason[64];
	size_t body_off;	/* first byte after the blank line */
	long clen;		/* Content-Length, or -1 */
	int chunked;
};

/* A header line "Name: value" among buf[from..to): its value in v, vlen. */
static int
check_http_header(const unsigned char *line, size_t n, const char *name, const unsigned char **v,
    size_t *vlen)
{
	size_t nl = strlen(name);

	if (n <= nl || line[nl] != ':' || strncasecmp((const char *)line, name, nl) != 0)
		return 0;
	line += nl + 1;
	n -= nl + 1;
	while (n > 0 && (*line == ' ' || *line == '\t'))
		line++, n--;
	*v = line;
	*vlen = n;
	return 1;
}

/* A Content-Length value, read within its vlen bytes (strtol would skip
 * the CRLFs after an empty value and read on past the buffer); -1 when it
 * is not a number. */
static long
check_http_clen(const unsigned char *v, size_t vlen)
{
	long n = 0;
	size_t i;

	for (i = 0; i < vlen && isdigit(v[i]); i++) {
		if (n > (long)CHECK_BUF)
			return (long)CHECK_BUF + 1;	/* more than will ever come */
		n = n * 10 + (v[i] - '0');
	}
	return i == 0 ? -1 : n;
}

/* Parse the status line and headers: 1 done, 0 more needed, -1 bad (info). */
static int
check_http_head(const unsigned char *buf, size_t len, int last, struct check_http_resp *r,
    char *info, size_t cap)
{
	const unsigned char *end = memmem(buf, len, "\r\n\r\n", 4), *p, *eol;
	size_t hlen;

	if (len < 12) {
		if (!last)
			return 0;
		snprintf(info, cap, "truncated HTTP answer (%zu bytes)", len);
		return -1;
	}
	if ( (memcmp(buf, "HTTP/1.", 7) != 0 || !isdigit(buf[7]) || buf[8] != ' ' ||
	    !isdigit(buf[9]) || !isdigit(buf[10]) || !isdigit(buf[11]))) {
		snprintf(info, cap, "not an HTTP/1.x status line");
		return -1;
	}
	if (end == NULL || (size_t)(end - buf) < 12) {
		if (!last && end == NULL)
			return 0;
		if (len == CHECK_BUF)
			snprintf(info, cap, "HTTP headers longer than %d bytes", CHECK_BUF);
		else
			snprintf(info, cap, "truncated HTTP answer (%zu bytes)", len);
		return -1;
	}
	hlen = (size_t)(end - buf);
	r->status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
	r->body_off = hlen + 4;
	r->clen = -1;
	r->chunked = 0;
	eol = memmem(buf, hlen + 2, "\r\n", 2);
	p = buf + 12;
	while (p < eol && *p == ' ')
		p++;
	snprintf(r->reason, sizeof(r->reason), "%.*s", (int)(eol - p < 63 ? eol - p : 63), p);
	for (p = eol + 2; p < end; p = eol + 2) {
		const unsigned char *v;
		size_t vlen;

		eol = memmem(p, (size_t)(end + 2 - p), "\r\n", 2);
		if (check_http_header(p, (size_t)(eol - p), "Content-Length", &v, &vlen))
			r->clen = check_http_clen(v, vlen);
		else if (check_http_header(p, (size_t)(eol - p), "Transfer-Encoding", &v, &vlen))
			r->chunked = vlen >= 7 && strncasecmp((const char *)v + vlen - 7, "chunked", 7) == 0;
	}
	return 1;
}

int
check_http_status(const unsigned char *buf, size_t len)
{
	if (len < 12 || memcmp(buf, "HTTP/1.", 7) != 0 || !isdigit(buf[9]) || !isdigit(buf[10]) ||
	    !isdigit(buf[11]))
		return 0;
	return (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
}

/* Is the whole body there (or all there will be)? */
static int
check_http_complete(const unsigned char *buf, size_t len, int last, const struct check_http_resp *r)
{
	size_t blen = len - r->body_off;

	if (last)
		return 1;
	if (r->clen >= 0)
		return blen >= (size_t)r->clen;
	if (r->chunked)
		return blen >= 5 && memcmp(buf + len - 5, "0\r\n\r\n", 5) == 0;
	return 0;	/* until the server closes ("Connection: close") */
}

/* "200,301-399": is status in the list? */
static int
check_http_in_list(const char *list, int status)
{
	const char *p = list;

	while (*p != '\0') {
		char *end;
		long lo = strtol(p, &end, 10), hi = lo;

		if (*end == '-')
			hi = strtol(end + 1, &end, 10);
		if (status >= lo && status <= hi)
			return 1;
		if (*end != ',')
			break;
		p = end + 1;
	}
	return 0;
}

int
check_http_valid_list(const char *list)
{
	const char *p = list;

	for (;;) {
		char *end;
		long lo = strtol(p, &end, 10), hi = lo;

		if (end == p || lo < 100 || lo > 999)
			return 0;
		if (*end == '-') {
			p = end + 1;
			hi = strtol(p, &end, 10);
			if (end == p || hi < lo || hi > 999)
				return 0;
		}
		if (*end == '\0')
			return 1;
		if (*end != ',')
			return 0;
		p = end + 1;
	}
}

/* Does s[0..n) match pat by m (re when CHECK_HM_REG)? icase: a name's. */
static int
check_http_meth(enum check_hdr_meth m, const char *pat, const regex_t *re, const char *s,
    size_t n, int icase)
{
	size_t pl = strlen(pat);
	int (*cmp)(const char *, const char *, size_t) = icase ? strncasecmp : strncmp;

	switch (m) {
	case CHECK_HM_STR:
		return n == pl && cmp(s, pat, n) == 0;
	case CHECK_HM_BEG:
		return n >= pl && cmp(s, pat, pl) == 0;
	case CHECK_HM_END:
		return n >= pl && cmp(s + n - pl, pat, pl) == 0;
	case CHECK_HM_SUB:
		for (size_t i = 0; i + pl <= n; i++) {
			if (cmp(s + i, pat, pl) == 0)
				return 1;
		}
		return 0;
	case CHECK_HM_REG:
		return check_regex(re, s, n);
	}
	return 0;
}

/* Does the value v[0..n) match r's value pattern: whole (fhdr), or one of
 * its comma-separated elements, spaces around them trimmed (hdr)? */
static int
check_http_value(const struct check_rule *r, const char *v, size_t n)
{
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	if (r->full)
		return check_http_meth(r->hval_m, r->hval, &r->hval_re, v, n, 0);
	for (size_t i = 0; i <= n;) {
		size_t e = i, k;

		while (e < n && v[e] != ',')
			e++;
		for (k = e; k > i && (v[k - 1] == ' ' || v[k - 1] == '\t'); k--)
			;
		while (i < k && (v[i] == ' ' || v[i] == '\t'))
			i++;
		if (check_http_meth(r->hval_m, r->hval, &r->hval_re, v + i, k - i, 0))
			return 1;
		i = e + 1;
	}
	return 0;
}

/* expect hdr|fhdr: is there a header whose name (and value) match, among
 * the header lines of buf[0..body_off)? */
static int
check_http_hdr(const struct check_rule *r, const unsigned char *buf,
    const struct check_http_resp *resp)
{
	const char *p = memmem(buf, resp->body_off, "\r\n", 2), *end =
	    (const char *)buf + resp->body_off - 2;

	for (p += 2; p < end;) {
		const char *eol = memmem(p, (size_t)(end + 2 - p), "\r\n", 2), *colon;

		colon = memchr(p, ':', (size_t)(eol - p));
		if (colon != NULL && check_http_meth(r->hname_m, (const char *)r->data, &r->re, p,
		    (size_t)(colon - p), 1)) {
			const char *v = colon + 1;

			while (v < eol && (*v == ' ' || *v == '\t'))
				v++;
			if (r->hval == NULL || check_http_value(r, v, (size_t)(eol - v)))
				return 1;
		}
		p = eol + 2;
	}
	return 0;
}

enum check_verdict
check_http_expect(const struct check_rule *r, const unsigned char *buf, size_t len, int last,
    char *info, size_t cap)
{
	struct check_http_resp resp;
	char code[4];
	int rc = check_http_head(buf, len, last, &resp, info, cap), match;

	if (rc <= 0)
		return rc == 0 ? CHECK_MORE : CHECK_FAIL;
	if (r->on404 && resp.status == 404)
		return CHECK_PASS_NOLB;
	snprintf(code, sizeof(code), "%03d", resp.status);
	switch (r->match) {
	case CHECK_M_HTTP_DEFAULT:
		if (resp.status >= 200 && resp.status < 400)
			return CHECK_PASS;
		snprintf(info, cap, "%s", resp.reason);
		return CHECK_FAIL_STATUS;
	case CHECK_M_HTTP_STATUS:
	case CHECK_M_HTTP_RSTATUS:
		match = r->match == CHECK_M_HTTP_STATUS ? check_http_in_list((const char *)r->data,
		    resp.status) : check_regex(&r->re, code, 3);
		if (match != r->negate)
			return CHECK_PASS;
		snprintf(info, cap, "HTTP status check returned code <%s>", code);
		return CHECK_FAIL_STATUS;
	case CHECK_M_HTTP_HDR:
		match = check_http_hdr(r, buf, &resp);
		if (match != r->negate)
			return CHECK_PASS;
		snprintf(info, cap, "HTTP header (name '%.40s'%s%.40s%s) %s", (const char *)r->data,
		    r->hval ? ", value '" : "", r->hval ? r->hval : "", r->hval ? "'" : "",
		    match ? "found, unwanted" : "not found");
		return CHECK_FAIL;
	default:
		break;
	}
	/* string, rstring: on the body, once it is all there. */
	if (!check_http_complete(buf, len, last, &resp))
		return CHECK_MORE;
	if (r->match == CHECK_M_HTTP_STRING)
		match = r->len <= len - resp.body_off &&
		    memmem(buf + resp.body_off, len - resp.body_off, r->data, r->len) != NULL;
	else
		match = check_regex(&r->re, (const char *)buf + resp.body_off,
		    len - resp.body_off);
	if (match != r->negate)
		return CHECK_PASS;
	snprintf(info, cap, "HTTP check %s content '%.60s' in the body", match ?
	    "matched unwanted" : "did not match", (const char *)r->data);
	return CHECK_FAIL;
}
