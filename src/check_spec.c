/*
 * check_spec: rule lists, and the protocol checks HAProxy builds from
 * rules (redis-check, smtpchk, mysql-check, pgsql-check, ldap-check,
 * ssl-hello-chk), written here as the same exchanges.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_rule.h"
#include "check_spec.h"
#include "regexp.h"

/* Append r (made elsewhere) to c. */
static void
check_spec_append(struct check_spec *c, struct check_rule *r)
{
	struct check_rule **tail;

	for (tail = &c->rules; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = r;
}

struct check_rule *
check_spec_add(struct check_spec *c, enum check_rule_kind kind)
{
	struct check_rule *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->kind = kind;
	r->min_recv = -1;
	check_spec_append(c, r);
	return r;
}

static void
check_rule_free(struct check_rule *r)
{
	if (r->has_re)
		regfree(&r->re);
	if (r->has_hval_re)
		regfree(&r->hval_re);
	free(r->hval);
	free(r->addr);
	free(r->data);
	free(r->comment);
	free(r->on_success);
	free(r->on_error);
	free(r->meth);
	free(r->uri);
	free(r->ver);
	free(r->hdrs);
	free(r->body);
	free(r);
}

void
check_spec_free(struct check_spec *c)
{
	if (c == NULL)
		return;
	while (c->rules != NULL) {
		struct check_rule *r = c->rules;

		c->rules = r->next;
		check_rule_free(r);
	}
	free(c->name);
	free(c->next_comment);
	free(c);
}

int
check_rule_set_data(struct check_rule *r, const void *data, size_t len)
{
	free(r->data);
	if ((r->data = malloc(len + 1)) == NULL)
		return -1;
	memcpy(r->data, data, len);
	r->data[len] = '\0';	/* a regex is compiled from it as text */
	r->len = len;
	return 0;
}

int
check_rule_set_regex(struct check_rule *r, char *err, size_t errlen)
{
	if (regexp_compile(&r->re, (const char *)r->data, r->re_icase, err, errlen) == -1)
		return -1;
	r->has_re = 1;
	return 0;
}

int
check_rule_set_hval(struct check_rule *r, const char *v, char *err, size_t errlen)
{
	free(r->hval);
	if ((r->hval = strdup(v)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (r->hval_m != CHECK_HM_REG)
		return 0;
	if (regexp_compile(&r->hval_re, v, 0, err, errlen) == -1)
		return -1;
	r->has_hval_re = 1;
	return 0;
}

static char *
check_strdup(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

/* A copy of r's strings and address into d (a shallow copy of r): 0, or
 * -1 when one could not be had. */
static int
check_rule_copy_strings(struct check_rule *d, const struct check_rule *r)
{
	const char *const src[] = { r->comment, r->meth, r->uri, r->ver, r->hdrs, r->body,
	    r->on_success, r->on_error };
	char **const dst[] = { &d->comment, &d->meth, &d->uri, &d->ver, &d->hdrs, &d->body,
	    &d->on_success, &d->on_error };
	int rc = 0;

	for (size_t i = 0; i < sizeof(dst) / sizeof(*dst); i++) {
		*dst[i] = check_strdup(src[i]);
		if (src[i] != NULL && *dst[i] == NULL)
			rc = -1;
	}
	d->addr = NULL;
	if (r->addr != NULL && (d->addr = malloc(sizeof(*d->addr))) == NULL)
		rc = -1;
	else if (r->addr != NULL)
		*d->addr = *r->addr;
	return rc;
}

/* The copy owns all it points to, its regex compiled again: a copy that
 * kept the original's regex would run it after the original freed it.
 * NULL, and nothing appended, when any part could not be had. */
struct check_rule *
check_rule_clone(struct check_spec *c, const struct check_rule *r)
{
	struct check_rule *d = calloc(1, sizeof(*d));
	char err[256];

	if (d == NULL)
		return NULL;
	*d = *r;
	d->next = NULL;
	d->data = NULL;
	d->has_re = 0;
	d->hval = NULL;
	d->has_hval_re = 0;
	if (check_rule_copy_strings(d, r) == -1 ||
	    (r->data != NULL && check_rule_set_data(d, r->data, r->len) == -1) ||
	    (r->has_re && check_rule_set_regex(d, err, sizeof(err)) == -1) ||
	    (r->hval != NULL && check_rule_set_hval(d, r->hval, err, sizeof(err)) == -1)) {
		check_rule_free(d);
		return NULL;
	}
	check_spec_append(c, d);
	return d;
}

struct check_spec *
check_spec_clone(const struct check_spec *c)
{
	struct check_spec *n;

	if (c == NULL || (n = calloc(1, sizeof(*n))) == NULL)
		return NULL;
	if (c->name != NULL && (n->name = strdup(c->name)) == NULL)
		goto fail;
	for (const struct check_rule *r = c->rules; r != NULL; r = r->next) {
		if (check_rule_clone(n, r) == NULL)
			goto fail;
	}
	return n;
fail:
	check_spec_free(n);	/* never a list with rules missing */
	return NULL;
}

/* Append a send of len bytes, or an expect of pattern. */
static int
check_spec_send(struct check_spec *c, const void *data, size_t len)
{
	struct check_rule *r = check_spec_add(c, CHECK_RULE_SEND);

	return r == NULL ? -1 : check_rule_set_data(r, data, len);
}

static int
check_spec_expect(struct check_spec *c, enum check_match m, int negate, long min_recv,
    const char *pattern)
{
	struct check_rule *r = check_spec_add(c, CHECK_RULE_EXPECT);
	char err[256];

	if (r == NULL)
		return -1;
	r->match = m;
	r->negate = negate;
	r->min_recv = min_recv;
	if (pattern == NULL)
		return 0;
	if (check_rule_set_data(r, pattern, strlen(pattern)) == -1)
		return -1;
	return m == CHECK_M_RSTRING || m == CHECK_M_RBINARY ?
	    check_rule_set_regex(r, err, sizeof(err)) : 0;
}

static int
check_spec_send_hex(struct check_spec *c, const char *hex)
{
	unsigned char buf[256];
	long n = check_unhex(hex, buf, sizeof(buf));

	return n < 0 ? -1 : check_spec_send(c, buf, (size_t)n);
}

/* A TLS 1.2 ClientHello in a TLS 1.0 record, the form every TLS server
 * answers, offering the usual ECDHE and RSA AES-GCM/CBC suites. */
static const char check_client_hello[] =
    "16030100" "5f"			/* record: handshake, 95 bytes */
    "01" "00005b"			/* ClientHello, 91 bytes */
    "0303"				/* TLS 1.2 */
    "73706c6963657220636865636b2068656c6c6f2072616e646f6d206279746573"
    "00"				/* no session id */
    "000e" "c02fc030c02bc02c009c009d002f"
    "0100"				/* null compression */
    "0024"				/* extensions: */
    "000a0008" "0006001d00170018"	/* groups x25519, P-256, P-384 */
    "000b0002" "0100"			/* point formats: uncompressed */
    "000d000e" "000c040105010804080504030503";	/* signature algorithms */

/* pgsql-check: a StartupMessage (length, protocol 3.0, "user" NAME, end),
 * then no 'E'rror and an 'R' authentication request, as HAProxy. */
static int
check_spec_pgsql(struct check_spec *c, const char *user)
{
	char buf[256];
	size_t ulen = user != NULL ? strlen(user) : 0, n = 4 + 4 + 5 + ulen + 1 + 1, o = 0;

	if (user == NULL || ulen > 200)
		return -1;
	buf[o++] = 0; buf[o++] = 0; buf[o++] = (char)(n >> 8); buf[o++] = (char)n;
	memcpy(buf + o, "\0\3\0\0user", 9);	/* with the NUL after "user" */
	o += 9;
	memcpy(buf + o, user, ulen + 1);
	o += ulen + 1;
	buf[o++] = '\0';
	return check_spec_send(c, buf, o) ||
	    check_spec_expect(c, CHECK_M_RSTRING, 1, 5, "^E") ||
	    check_spec_expect(c, CHECK_M_RBINARY, 0, 9,
	    "^52000000(08|0A|0C)000000(00|02|03|04|05|06|07|09|0A)");
}

/* mysql-check: the server's handshake; with a user, HAProxy's login
 * packet (4.0 or 4.1 form, no password) and COM_QUIT, then an OK. */
static int
check_spec_mysql(struct check_spec *c, const char *user, int post41)
{
	char buf[256];
	size_t ulen = user != NULL ? strlen(user) : 0, plen = ulen + (post41 ? 34 : 7), o = 4;

	if (check_spec_expect(c, CHECK_M_MYSQL_HELLO, 0, -1, NULL))
		return -1;
	if (user == NULL)
		return 0;
	if (ulen > 200)
		return -1;
	buf[0] = (char)plen; buf[1] = (char)(plen >> 8); buf[2] = (char)(plen >> 16);
	buf[3] = 1;
	/* Client flags, max packet, (4.1: charset utf8 and 23 zeros). */
	if (post41) {
		memcpy(buf + o, "\x00\x82\x00\x00\x00\x80\x00\x01\x21", 9);
		memset(buf + o + 9, 0, 23);
		o += 32;
	} else {
		memcpy(buf + o, "\x00\x80\x00\x00\x01", 5);
		o += 5;
	}
	memcpy(buf + o, user, ulen + 1);	/* user, NUL */
	o += ulen + 1;
	buf[o++] = '\0';			/* no password */
	memcpy(buf + o, "\x01\x00\x00\x00\x01", 5);	/* COM_QUIT */
	o += 5;
	return check_spec_send(c, buf, o) ||
	    check_spec_expect(c, CHECK_M_MYSQL_OK, 0, -1, NULL);
}

int
check_spec_proto(struct check_spec *c, enum check_proto proto, const char *arg, int post41)
{
	char buf[300];

	switch (proto) {
	case CHECK_PROTO_REDIS:
		/* min-recv: an answer as long as "+PONG\r\n" is final, so that
		 * "-NOAUTH ..." fails at once rather than by a timeout. */
		return check_spec_send(c, "*1\r\n$4\r\nPING\r\n", 14) ||
		    check_spec_expect(c, CHECK_M_STRING, 0, 7, "+PONG");
	case CHECK_PROTO_SMTP:
		/* A 2xx banner, then HELO (or EHLO) answered by 2xx, then QUIT. */
		snprintf(buf, sizeof(buf), "%s\r\n", arg != NULL ? arg : "HELO localhost");
		return check_spec_expect(c, CHECK_M_RSTRING, 0, 4, "^2[0-9]{2}[- \r]") ||
		    check_spec_send(c, buf, strlen(buf)) ||
		    check_spec_expect(c, CHECK_M_RSTRING, 0, 4, "^2[0-9]{2}[- \r]") ||
		    check_spec_send(c, "QUIT\r\n", 6);
	case CHECK_PROTO_PGSQL:
		return check_spec_pgsql(c, arg);
	case CHECK_PROTO_MYSQL:
		return check_spec_mysql(c, arg, post41);
	case CHECK_PROTO_LDAP:
		/* A simple anonymous bind, LDAPv3, message id 1. */
		return check_spec_send_hex(c, "300c020101600702010304008000") ||
		    check_spec_expect(c, CHECK_M_RBINARY, 0, 14, "^30") ||
		    check_spec_expect(c, CHECK_M_LDAP_BIND, 0, -1, NULL);
	case CHECK_PROTO_SSL_HELLO:
		/* A handshake record (TLS 1.0..1.3 versions) holding a ServerHello. */
		return check_spec_send_hex(c, check_client_hello) ||
		    check_spec_expect(c, CHECK_M_RBINARY, 0, 6, "^16030[0-4][0-9A-F]{4}02");
	}
	return -1;
}

static const char *const check_status_reasons[] = {
	[CHECK_ST_L7OK] = "Layer7 check passed",
	[CHECK_ST_L7OKC] = "Layer7 check conditionally passed",
	[CHECK_ST_L6OK] = "Layer6 check passed",
	[CHECK_ST_L4OK] = "Layer4 check passed",
	[CHECK_ST_L7RSP] = "Layer7 invalid response",
	[CHECK_ST_L7STS] = "Layer7 wrong status",
	[CHECK_ST_L6RSP] = "Layer6 invalid response",
	[CHECK_ST_L4CON] = "Layer4 connection problem",
	[CHECK_ST_L7TOUT] = "Layer7 timeout",
	[CHECK_ST_L6TOUT] = "Layer6 timeout",
	[CHECK_ST_L4TOUT] = "Layer4 timeout",
};

const char *
check_status_reason(int st)
{
	return st > CHECK_ST_UNSET && st <= CHECK_ST_L4TOUT ? check_status_reasons[st] : NULL;
}

int
check_status_ok(int st)
{
	return st >= CHECK_ST_L7OK && st <= CHECK_ST_L4OK;
}
