/*
 * acl_pat: the patterns of an ACL declaration, parsed for its matching
 * method, and matching a sample against them (configuration.txt 7.1).
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "acl.h"
#include "regexp.h"
#include "units.h"

/* Parse "1.2.3.4", "10.0.0.0/8", "::1", "2001:db8::/32". */
int
acl_pat_parse_net(const char *s, struct acl_net *n, char *err, size_t errlen)
{
	char buf[INET6_ADDRSTRLEN + 8], perr[128];
	char *slash;
	uint64_t prefix;
	unsigned int maxp;

	if (strlen(s) >= sizeof(buf)) {
		snprintf(err, errlen, "'%s' is not an address or network", s);
		return -1;
	}
	strcpy(buf, s);
	if ((slash = strchr(buf, '/')) != NULL)
		*slash++ = '\0';
	memset(n, 0, sizeof(*n));
	if (inet_pton(AF_INET, buf, n->addr) == 1) {
		n->family = AF_INET;
		maxp = 32;
	} else if (inet_pton(AF_INET6, buf, n->addr) == 1) {
		n->family = AF_INET6;
		maxp = 128;
	} else {
		snprintf(err, errlen, "'%s' is not an IPv4 or IPv6 address or network", s);
		return -1;
	}
	n->prefix = maxp;
	if (slash != NULL) {
		if (units_parse_uint(slash, 0, maxp, &prefix, perr, sizeof(perr)) == -1) {
			snprintf(err, errlen, "'%s': prefix length must be 0 to %u", s, maxp);
			return -1;
		}
		n->prefix = (unsigned int)prefix;
	}
	/* Clear host bits so that matching is a plain prefix compare. */
	for (unsigned int bit = n->prefix; bit < maxp; bit++)
		n->addr[bit / 8] &= (uint8_t)~(0x80u >> (bit % 8));
	return 0;
}

/* An integer, or MAJOR.MINOR for a version fetch. */
static int
acl_pat_int(const struct acl_expr *e, const char *s, int64_t *v, char *err, size_t errlen)
{
	char *end;
	long long a, b = 0;

	errno = 0;
	a = strtoll(s, &end, 10);
	if ((e->smp.f->flags & SMP_F_VERSION) && *end == '.' && end != s) {
		const char *m = end + 1;

		b = strtoll(m, &end, 10);
		if (end == m || a < 0 || a > 0xffff || b < 0 || b > 0xffff)
			end = (char *)s;
		a = a << 16 | b;
	}
	if (end == s || *end != '\0' || errno != 0) {
		snprintf(err, errlen, "'%s' is not %s", s, (e->smp.f->flags & SMP_F_VERSION) ?
		    "a version (MAJOR.MINOR)" : "an integer");
		return -1;
	}
	*v = a;
	return 0;
}

/* "N", "N:M", "N:", ":M", or "OP N" with op eq|ge|gt|le|lt. */
static int
acl_pat_range(const struct acl_expr *e, const char *op, const char *w, struct acl_pat *p,
    char *err, size_t errlen)
{
	char buf[64], *colon;
	int64_t v;

	p->lo = INT64_MIN;
	p->hi = INT64_MAX;
	if (op != NULL) {
		if (acl_pat_int(e, w, &v, err, errlen) == -1)
			return -1;
		if (strcmp(op, "eq") == 0)
			p->lo = p->hi = v;
		else if (strcmp(op, "ge") == 0)
			p->lo = v;
		else if (strcmp(op, "gt") == 0)
			p->lo = v == INT64_MAX ? v : v + 1;
		else if (strcmp(op, "le") == 0)
			p->hi = v;
		else
			p->hi = v == INT64_MIN ? v : v - 1;	/* lt */
		return 0;
	}
	snprintf(buf, sizeof(buf), "%s", w);
	if ((colon = strchr(buf, ':')) == NULL) {
		if (acl_pat_int(e, buf, &v, err, errlen) == -1)
			return -1;
		p->lo = p->hi = v;
		return 0;
	}
	*colon = '\0';
	if (buf[0] != '\0' && acl_pat_int(e, buf, &p->lo, err, errlen) == -1)
		return -1;
	if (colon[1] != '\0' && acl_pat_int(e, colon + 1, &p->hi, err, errlen) == -1)
		return -1;
	return 0;
}

static int
acl_pat_hex(const char *w, struct acl_pat *p, char *err, size_t errlen)
{
	size_t n = strlen(w);

	if (n % 2 != 0 || (p->s = malloc(n / 2 + 1)) == NULL) {
		snprintf(err, errlen, "'%s' is not an even number of hex digits", w);
		return -1;
	}
	for (size_t i = 0; i < n; i += 2) {
		unsigned int byte;

		if (!isxdigit((unsigned char)w[i]) || !isxdigit((unsigned char)w[i + 1]) ||
		    sscanf(w + i, "%2x", &byte) != 1) {
			snprintf(err, errlen, "'%s' is not hex digits", w);
			return -1;
		}
		p->s[i / 2] = (uint8_t)byte;
	}
	p->len = n / 2;
	return 0;
}

static int
acl_pat_one(struct acl_expr *e, const char *op, const char *w, struct acl_pat *p,
    char *err, size_t errlen)
{
	memset(p, 0, sizeof(*p));
	switch (e->match) {
	case ACL_M_INT:
	case ACL_M_LEN:
		return acl_pat_range(e, op, w, p, err, errlen);
	case ACL_M_IP:
		return acl_pat_parse_net(w, &p->net, err, errlen);
	case ACL_M_BIN:
		return acl_pat_hex(w, p, err, errlen);
	case ACL_M_REG:
		if ((p->re = malloc(sizeof(*p->re))) == NULL)
			break;
		if (regexp_compile(p->re, w, e->icase, err, errlen) == -1) {
			free(p->re);
			p->re = NULL;
			return -1;
		}
		return 0;
	case ACL_M_FOUND:
	case ACL_M_BOOL:
		snprintf(err, errlen, "'-m %s' takes no pattern, but '%s' is given",
		    e->match == ACL_M_FOUND ? "found" : "bool", w);
		return -1;
	default:
		if ((p->s = (uint8_t *)strdup(w)) == NULL)
			break;
		p->len = strlen(w);
		return 0;
	}
	snprintf(err, errlen, "out of memory");
	return -1;
}

int
acl_pat_add(struct acl_expr *e, const char *op, const char *w, char *err, size_t errlen)
{
	struct acl_pat *pats;

	if ((pats = realloc(e->pats, (e->npats + 1) * sizeof(*pats))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	e->pats = pats;
	if (acl_pat_one(e, op, w, &pats[e->npats], err, errlen) == -1) {
		free(pats[e->npats].s);
		return -1;
	}
	e->npats++;
	return 0;
}

static int
acl_pat_line(char *line, void *arg, char *err, size_t errlen)
{
	return acl_pat_add(arg, NULL, line, err, errlen);
}

/* -f FILE: one pattern a line; blank lines and '#' comments skipped. */
int
acl_pat_load(struct acl_expr *e, const char *path, char *err, size_t errlen)
{
	return sample_read_file(path, "pattern", acl_pat_line, e, err, errlen);
}

static int
acl_pat_net_match(const struct acl_net *n, int family, const uint8_t *addr)
{
	unsigned int full = n->prefix / 8, rest = n->prefix % 8;

	if (n->family != family)
		return 0;
	if (memcmp(n->addr, addr, full) != 0)
		return 0;
	return rest == 0 || ((addr[full] ^ n->addr[full]) & (uint8_t)(0xff00u >> rest)) == 0;
}

/* An address sample against the networks. */
static int
acl_pat_ip(const struct acl_expr *e, const struct sockaddr_storage *ss)
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	const uint8_t *addr;
	int family = ss->ss_family;

	if (family == AF_INET) {
		addr = (const uint8_t *)&((const struct sockaddr_in *)ss)->sin_addr;
	} else if (family == AF_INET6) {
		addr = (const uint8_t *)&((const struct sockaddr_in6 *)ss)->sin6_addr;
		/* A v4 client on a dual-stack bind arrives as ::ffff:a.b.c.d:
		 * IPv4 networks must match it. */
		if (memcmp(addr, v4mapped, 12) == 0) {
			addr += 12;
			family = AF_INET;
		}
	} else {
		return 0;
	}
	for (unsigned int i = 0; i < e->npats; i++) {
		if (acl_pat_net_match(&e->pats[i].net, family, addr))
			return 1;
	}
	return 0;
}

/* Bytes equal, byte for byte or ignoring ASCII case (a NUL is a byte). */
static int
acl_pat_eq(const uint8_t *a, const uint8_t *b, size_t n, int icase)
{
	if (!icase)
		return memcmp(a, b, n) == 0;
	for (size_t i = 0; i < n; i++) {
		if (tolower(a[i]) != tolower(b[i]))
			return 0;
	}
	return 1;
}

/* A text sample (bytes v, n) against one pattern. */
static int
acl_pat_text(const struct acl_expr *e, const struct acl_pat *p, const uint8_t *v, size_t n)
{
	switch (e->match) {
	case ACL_M_STR:
		return n == p->len && acl_pat_eq(v, p->s, n, e->icase);
	case ACL_M_BIN:
		return n == p->len && memcmp(v, p->s, n) == 0;
	case ACL_M_BEG:
		return n >= p->len && acl_pat_eq(v, p->s, p->len, e->icase);
	case ACL_M_END:
		return n >= p->len && acl_pat_eq(v + n - p->len, p->s, p->len, e->icase);
	case ACL_M_SUB:
		for (size_t i = 0; i + p->len <= n; i++) {
			if (acl_pat_eq(v + i, p->s, p->len, e->icase))
				return 1;
		}
		return 0;
	default:
		return 0;
	}
}

/* A regular expression wants a C string: the sample up to its first NUL. */
static int
acl_pat_reg(const struct acl_expr *e, const uint8_t *v, size_t n)
{
	char small[256], *s = n < sizeof(small) ? small : malloc(n + 1);
	int hit = 0;

	if (s == NULL)
		return 0;
	memcpy(s, v, n);
	s[n] = '\0';
	for (unsigned int i = 0; i < e->npats && !hit; i++)
		hit = regexec(e->pats[i].re, s, 0, NULL, 0) == 0;
	if (s != small)
		free(s);
	return hit;
}

/* The sample as text: strings and bytes as they are, integers in
 * decimal, addresses printed (into smp's own room). */
static void
acl_pat_as_text(const struct sample *smp, const uint8_t **v, size_t *n, char *buf,
    size_t len)
{
	const struct sockaddr_storage *ss = &smp->addr;

	*v = (const uint8_t *)buf;
	if (smp->type == SMP_T_STR || smp->type == SMP_T_BIN) {
		*v = smp->ptr;
		*n = smp->len;
		return;
	}
	if (smp->type == SMP_T_ADDR) {
		const void *a = ss->ss_family == AF_INET ?
		    (const void *)&((const struct sockaddr_in *)ss)->sin_addr :
		    (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr;

		if (inet_ntop(ss->ss_family, a, buf, (socklen_t)len) == NULL)
			buf[0] = '\0';
	} else {
		snprintf(buf, len, "%" PRId64, smp->sint);
	}
	*n = strlen(buf);
}

/* The sample as an integer: -1 when it is not one. */
static int
acl_pat_as_int(const struct sample *smp, int64_t *v)
{
	char buf[32], *end;

	if (smp->type == SMP_T_SINT || smp->type == SMP_T_BOOL) {
		*v = smp->sint;
		return 0;
	}
	if (smp->type != SMP_T_STR || smp->len == 0 || smp->len >= sizeof(buf))
		return -1;
	memcpy(buf, smp->ptr, smp->len);
	buf[smp->len] = '\0';
	errno = 0;
	*v = strtoll(buf, &end, 10);
	return *end == '\0' && errno == 0 ? 0 : -1;
}

static int
acl_pat_in_ranges(const struct acl_expr *e, int64_t v)
{
	for (unsigned int i = 0; i < e->npats; i++) {
		if (v >= e->pats[i].lo && v <= e->pats[i].hi)
			return 1;
	}
	return 0;
}

int
acl_pat_match(const struct acl_expr *e, const struct sample *smp)
{
	char buf[INET6_ADDRSTRLEN + 32];
	struct sample conv;
	const uint8_t *v;
	int64_t i;
	size_t n;

	switch (e->match) {
	case ACL_M_FOUND:
		return 1;
	case ACL_M_BOOL:
		return acl_pat_as_int(smp, &i) == 0 && i != 0;
	case ACL_M_INT:
		return acl_pat_as_int(smp, &i) == 0 && acl_pat_in_ranges(e, i);
	case ACL_M_LEN:
		acl_pat_as_text(smp, &v, &n, buf, sizeof(buf));
		return acl_pat_in_ranges(e, (int64_t)n);
	case ACL_M_IP:
		if (smp->type == SMP_T_ADDR)
			return acl_pat_ip(e, &smp->addr);
		acl_pat_as_text(smp, &v, &n, buf, sizeof(buf));
		if (n >= INET6_ADDRSTRLEN)
			return 0;
		memcpy(buf, v, n);
		buf[n] = '\0';
		memset(&conv, 0, sizeof(conv));
		if (inet_pton(AF_INET, buf, &((struct sockaddr_in *)&conv.addr)->sin_addr) == 1)
			conv.addr.ss_family = AF_INET;
		else if (inet_pton(AF_INET6, buf,
		    &((struct sockaddr_in6 *)&conv.addr)->sin6_addr) == 1)
			conv.addr.ss_family = AF_INET6;
		return acl_pat_ip(e, &conv.addr);
	case ACL_M_REG:
		acl_pat_as_text(smp, &v, &n, buf, sizeof(buf));
		return acl_pat_reg(e, v, n);
	default:
		acl_pat_as_text(smp, &v, &n, buf, sizeof(buf));
		for (unsigned int k = 0; k < e->npats; k++) {
			if (acl_pat_text(e, &e->pats[k], v, n))
				return 1;
		}
		return 0;
	}
}

void
acl_pat_free(struct acl_expr *e)
{
	for (unsigned int i = 0; i < e->npats; i++) {
		free(e->pats[i].s);
		if (e->pats[i].re != NULL) {
			regfree(e->pats[i].re);
			free(e->pats[i].re);
		}
	}
	free(e->pats);
	e->pats = NULL;
	e->npats = 0;
}
