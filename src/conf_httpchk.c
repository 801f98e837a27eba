/*
 * conf_httpchk: HTTP health-check grammar (see conf_httpchk.h).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "check_spec.h"
#include "conf_health.h"
#include "conf_httpchk.h"

static struct conf_httpchk *
conf_httpchk_get(struct conf_proxy *px)
{
	if (px->httpchk == NULL)
		px->httpchk = calloc(1, sizeof(*px->httpchk));
	return px->httpchk;
}

static void
conf_httpchk_set(char **dst, const char *v)
{
	free(*dst);
	*dst = v != NULL ? strdup(v) : NULL;
}

int
conf_httpchk_option(struct conf_proxy *px, int argc, char **argv, char *err, size_t errlen)
{
	struct conf_httpchk *h = conf_httpchk_get(px);
	const char *meth = NULL, *uri = NULL, *ver = NULL;
	const char *crlf;

	if (h == NULL)
		return -1;
	if (argc > 5) {
		snprintf(err, errlen, "'option httpchk' expects [METHOD] [URI] [VERSION]; "
		    "unexpected '%s'", argv[5]);
		return -1;
	}
	/* One word is the URI; two, the method and the URI, as HAProxy. */
	if (argc == 3) {
		uri = argv[2];
	} else if (argc >= 4) {
		meth = argv[2];
		uri = argv[3];
		ver = argc == 5 ? argv[4] : NULL;
	}
	conf_httpchk_set(&h->req[0], meth);
	conf_httpchk_set(&h->req[1], uri);
	conf_httpchk_set(&h->req[3], NULL);
	/* The old way to add headers: "HTTP/1.1\r\nHost:\ www". */
	if (ver != NULL && (crlf = strstr(ver, "\r\n")) != NULL) {
		char v[64];

		snprintf(v, sizeof(v), "%.*s", (int)(crlf - ver < 63 ? crlf - ver : 63), ver);
		conf_httpchk_set(&h->req[2], v);
		conf_httpchk_set(&h->req[3], crlf + 2);
	} else {
		conf_httpchk_set(&h->req[2], ver);
	}
	return 0;
}

/* "http-check send hdr NAME FMT": the header appended to r->hdrs (a
 * log-format value, as HAProxy's). */
static int
conf_httpchk_hdr(struct check_rule *r, const char *name, const char *fmt, char *err,
    size_t errlen)
{
	size_t hlen = r->hdrs != NULL ? strlen(r->hdrs) : 0, n;
	char *v = conf_health_lf("http-check send hdr", fmt, err, errlen), *h;

	if (v == NULL)
		return -1;
	n = strlen(name) + strlen(v) + 4;
	if ((h = realloc(r->hdrs, hlen + n + 1)) == NULL) {
		free(v);
		return -1;
	}
	snprintf(h + hlen, n + 1, "%s: %s\r\n", name, v);
	r->hdrs = h;
	free(v);
	return 0;
}

/* "http-check send [meth M] [uri U|uri-lf F] [ver V] [hdr NAME F]...
 * [body S|body-lf F] [comment C]". */
static int
conf_httpchk_send(struct check_rule *r, int argc, char **argv, char *err, size_t errlen)
{
	/* Each word and where its value goes; lf: a log-format value. */
	const struct { const char *k; char **dst; int lf; } words[] = {
		{ "meth", &r->meth, 0 }, { "uri", &r->uri, 0 }, { "uri-lf", &r->uri, 1 },
		{ "ver", &r->ver, 0 }, { "body", &r->body, 0 }, { "body-lf", &r->body, 1 },
		{ "comment", &r->comment, 0 },
	};

	for (int i = 2; i < argc; i += 2) {
		const char *k = argv[i];
		size_t w;

		for (w = 0; w < sizeof(words) / sizeof(*words) && strcmp(k, words[w].k) != 0; w++)
			;
		if (i + 1 >= argc || (strcmp(k, "hdr") == 0 && i + 2 >= argc)) {
			snprintf(err, errlen, "'http-check send %s' expects a value", k);
			return -1;
		}
		if (strcmp(k, "hdr") == 0) {
			if (conf_httpchk_hdr(r, argv[i + 1], argv[i + 2], err, errlen) == -1)
				return -1;
			i++;
		} else if (w < sizeof(words) / sizeof(*words) && words[w].lf) {
			char kw[32], *v;

			snprintf(kw, sizeof(kw), "http-check send %s", k);
			if ((v = conf_health_lf(kw, argv[i + 1], err, errlen)) == NULL)
				return -1;
			free(*words[w].dst);
			*words[w].dst = v;
		} else if (w < sizeof(words) / sizeof(*words)) {
			conf_httpchk_set(words[w].dst, argv[i + 1]);
		} else {
			snprintf(err, errlen, "'http-check send %s' is unknown: expected meth, uri, "
			    "uri-lf, ver, hdr, body, body-lf or comment", k);
			return -1;
		}
	}
	return 0;
}

static const struct conf_health_match conf_httpchk_matches[] = {
	{ "status", CHECK_M_HTTP_STATUS, 0, 0, 0 }, { "rstatus", CHECK_M_HTTP_RSTATUS, 0, 0, 0 },
	{ "string", CHECK_M_HTTP_STRING, 0, 0, 0 }, { "rstring", CHECK_M_HTTP_RSTRING, 0, 0, 0 },
	{ "string-lf", CHECK_M_HTTP_STRING, 0, 1, 0 },
	{ "hdr", CHECK_M_HTTP_HDR, 0, 0, 1 }, { "fhdr", CHECK_M_HTTP_HDR, 0, 0, 1 },
};

/* "-m str|beg|end|sub|reg" at argv[*i] if there, into *m. */
static int
conf_httpchk_meth(int argc, char **argv, int *i, enum check_hdr_meth *m, char *err,
    size_t errlen)
{
	static const char *const names[] = {
		[CHECK_HM_STR] = "str", [CHECK_HM_BEG] = "beg", [CHECK_HM_END] = "end",
		[CHECK_HM_SUB] = "sub", [CHECK_HM_REG] = "reg",
	};

	*m = CHECK_HM_STR;
	if (*i >= argc || strcmp(argv[*i], "-m") != 0)
		return 0;
	for (size_t k = 0; k < sizeof(names) / sizeof(*names); k++) {
		if (*i + 1 < argc && strcmp(argv[*i + 1], names[k]) == 0) {
			*m = (enum check_hdr_meth)k;
			*i += 2;
			return 0;
		}
	}
	snprintf(err, errlen, "'http-check expect hdr ... -m' expects str, beg, end, sub or reg");
	return -1;
}

/* One part of "hdr|fhdr name[-lf] [-m M] NAME [value[-lf] [-m M] VALUE]" at
 * argv[*i] (what: "name" or "value"): its pattern, malloc'd, and its method
 * in *m; NULL with err. */
static char *
conf_httpchk_hdr_part(int argc, char **argv, int *i, const char *what, enum check_hdr_meth *m,
    char *err, size_t errlen)
{
	size_t wl = strlen(what);
	int lf;
	char *v;

	if (*i >= argc || strncmp(argv[*i], what, wl) != 0 || (argv[*i][wl] != '\0' &&
	    strcmp(argv[*i] + wl, "-lf") != 0)) {
		snprintf(err, errlen, "'http-check expect hdr|fhdr' expects name [-m METH] NAME "
		    "[value [-m METH] VALUE]%s%s%s", *i < argc ? " (got '" : "", *i < argc ?
		    argv[*i] : "", *i < argc ? "')" : "");
		return NULL;
	}
	lf = argv[(*i)++][wl] != '\0';
	if (conf_httpchk_meth(argc, argv, i, m, err, errlen) == -1)
		return NULL;
	if (*i >= argc || argv[*i][0] == '\0') {
		snprintf(err, errlen, "'http-check expect hdr %s' expects a pattern", what);
		return NULL;
	}
	if (lf && *m == CHECK_HM_REG) {
		snprintf(err, errlen, "'http-check expect hdr %s-lf' cannot match by '-m reg' (as "
		    "HAProxy)", what);
		return NULL;
	}
	v = lf ? conf_health_lf("http-check expect hdr", argv[*i], err, errlen) : strdup(argv[*i]);
	(*i)++;
	return v;
}

/* The words of "hdr|fhdr" from argv[i] (the match word) on. */
static int
conf_httpchk_expect_hdr(struct check_rule *r, int argc, char **argv, int i, char *err,
    size_t errlen)
{
	char *name, *value = NULL;
	int rc;

	r->full = strcmp(argv[i++], "fhdr") == 0;
	if ((name = conf_httpchk_hdr_part(argc, argv, &i, "name", &r->hname_m, err, errlen)) == NULL)
		return -1;
	if (i < argc && (value = conf_httpchk_hdr_part(argc, argv, &i, "value", &r->hval_m, err,
	    errlen)) == NULL) {
		free(name);
		return -1;
	}
	rc = i < argc ? -1 : 0;
	if (rc == -1)
		snprintf(err, errlen, "'http-check expect hdr': unexpected '%s'", argv[i]);
	r->re_icase = 1;	/* header names are matched without case */
	if (rc == 0 && (check_rule_set_data(r, name, strlen(name)) == -1 ||
	    (r->hname_m == CHECK_HM_REG && check_rule_set_regex(r, err, errlen) == -1) ||
	    (value != NULL && check_rule_set_hval(r, value, err, errlen) == -1)))
		rc = -1;
	free(name);
	free(value);
	return rc;
}

/* "http-check expect [min-recv N] [comment C] [!] status|rstatus|string|rstring P". */
static int
conf_httpchk_expect(struct check_rule *r, int argc, char **argv, char *err, size_t errlen)
{
	int i = conf_health_expect_head(r, argc, argv, conf_httpchk_matches,
	    sizeof(conf_httpchk_matches) / sizeof(*conf_httpchk_matches), err, errlen), rc;
	char *pat;

	if (i < 0)
		return -1;
	if (r->match == CHECK_M_HTTP_HDR)
		return conf_httpchk_expect_hdr(r, argc, argv, i, err, errlen);
	if (r->match == CHECK_M_HTTP_STATUS && !check_http_valid_list(argv[i + 1])) {
		snprintf(err, errlen, "'http-check expect status %s': expected codes or ranges "
		    "such as 200,300-399", argv[i + 1]);
		return -1;
	}
	if ((pat = conf_health_pattern(argv, i, err, errlen)) == NULL)
		return -1;
	rc = check_rule_set_data(r, pat, strlen(pat));
	free(pat);
	if (rc == 0 && (r->match == CHECK_M_HTTP_RSTATUS || r->match == CHECK_M_HTTP_RSTRING))
		rc = check_rule_set_regex(r, err, errlen);
	return rc;
}

int
conf_httpchk_line(struct conf_proxy *px, int argc, char **argv, int line, char *err,
    size_t errlen)
{
	struct conf_httpchk *h = conf_httpchk_get(px);
	const char *verb = argc >= 2 ? argv[1] : "";
	struct check_rule *r;
	enum check_rule_kind kind;

	if (h == NULL)
		return -1;
	if (strcmp(verb, "disable-on-404") == 0) {
		h->disable_404 = 1;
		return 0;
	}
	if (strcmp(verb, "connect") == 0) {
		kind = CHECK_RULE_CONNECT;
	} else if (strcmp(verb, "send") == 0) {
		kind = CHECK_RULE_SEND;
	} else if (strcmp(verb, "expect") == 0) {
		kind = CHECK_RULE_EXPECT;
	} else {
		snprintf(err, errlen, "'http-check %s' is %s", verb, strncmp(verb, "set-var", 7) == 0 ||
		    strcmp(verb, "unset-var") == 0 ? "not supported: splicer evaluates no sample "
		    "fetches in health checks, so a variable could only hold a constant" :
		    strcmp(verb, "comment") == 0 || strcmp(verb, "send-state") == 0 ?
		    "not supported yet" : "unknown: expected connect, send, expect or disable-on-404");
		return -1;
	}
	/* A proxy's own rules replace those of its defaults section. */
	if (h->rules_inherited || h->rules == NULL) {
		check_spec_free(h->rules);
		h->rules_inherited = 0;
		if ((h->rules = calloc(1, sizeof(*h->rules))) == NULL)
			return -1;
	}
	if ((r = check_spec_add(h->rules, kind)) == NULL)
		return -1;
	r->line = line;
	if (kind == CHECK_RULE_CONNECT)
		return conf_health_connect(r, argc, argv, err, errlen);
	return kind == CHECK_RULE_SEND ? conf_httpchk_send(r, argc, argv, err, errlen) :
	    conf_httpchk_expect(r, argc, argv, err, errlen);
}

/* Headers written in option httpchk's version word end without the CRLF
 * of their last line ("HTTP/1.1\r\nHost:\ www\r\nX-A:\ b"). */
static int
conf_httpchk_unended(const char *hdrs)
{
	size_t n = hdrs != NULL ? strlen(hdrs) : 0;

	return n > 0 && (n < 2 || strcmp(hdrs + n - 2, "\r\n") != 0);
}

/* Has the header block hdrs ("Name: v\r\n"...) a header called name? */
static int
conf_httpchk_has_hdr(const char *hdrs, const char *name)
{
	size_t n = strlen(name);
	const char *p = hdrs;

	while (p != NULL && *p != '\0') {
		if (strncasecmp(p, name, n) == 0 && p[n] == ':')
			return 1;
		if ((p = strstr(p, "\r\n")) != NULL)
			p += 2;
	}
	return 0;
}

/* The request of a send rule: its own parts, else option httpchk's, else
 * HAProxy's "OPTIONS / HTTP/1.0". The connection closes after the answer. */
static int
conf_httpchk_request(const struct conf_httpchk *h, struct check_rule *r)
{
	const char *meth = r->meth ? r->meth : h->req[0] ? h->req[0] : "OPTIONS";
	const char *uri = r->uri ? r->uri : h->req[1] ? h->req[1] : "/";
	const char *ver = r->ver ? r->ver : h->req[2] ? h->req[2] : "HTTP/1.0";
	size_t blen = r->body ? strlen(r->body) : 0;
	char *req = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&req, &len);
	int rc;

	if (f == NULL)
		return -1;
	fprintf(f, "%s %s %s\r\n%s%s", meth, uri, ver, h->req[3] ? h->req[3] : "",
	    r->hdrs ? r->hdrs : "");
	if (conf_httpchk_unended(h->req[3]))
		fputs("\r\n", f);	/* "HTTP/1.1\r\nHost:\ www": the last header's end */
	if (blen > 0)
		fprintf(f, "Content-Length: %zu\r\n", blen);
	/* HAProxy's "Connection: close", unless a hdr wrote a Connection. */
	if (!conf_httpchk_has_hdr(r->hdrs, "Connection"))
		fputs("Connection: close\r\n", f);
	fprintf(f, "\r\n%s", r->body ? r->body : "");
	fclose(f);
	rc = check_rule_set_data(r, req, len);
	free(req);
	return rc;
}

/* Append a copy of r to c, its request built if it is a send. */
static int
conf_httpchk_add(struct check_spec *c, const struct conf_httpchk *h, const struct check_rule *r)
{
	struct check_rule *d = check_rule_clone(c, r);

	if (d == NULL)
		return -1;
	if (d->kind == CHECK_RULE_EXPECT)
		d->on404 = h->disable_404;
	return d->kind == CHECK_RULE_SEND ? conf_httpchk_request(h, d) : 0;
}

int
conf_httpchk_build(struct conf_proxy *px, char *err, size_t errlen)
{
	static const struct check_rule send = { .kind = CHECK_RULE_SEND, .min_recv = -1 };
	static const struct check_rule expect = { .kind = CHECK_RULE_EXPECT, .min_recv = -1,
	    .match = CHECK_M_HTTP_DEFAULT };
	struct conf_httpchk *h = px->httpchk;
	const struct check_rule *r = h != NULL && h->rules != NULL ? h->rules->rules : NULL;
	struct check_spec *c = NULL;
	int expected = 0;

	if (h == NULL || (c = calloc(1, sizeof(*c))) == NULL || (c->name = strdup("httpchk")) == NULL)
		goto oom;
	if (r != NULL && r->kind == CHECK_RULE_CONNECT) {
		if (conf_httpchk_add(c, h, r) == -1)
			goto oom;
		r = r->next;
	}
	/* Rules that do not start with a send get option httpchk's request. */
	if ((r == NULL || r->kind != CHECK_RULE_SEND) && conf_httpchk_add(c, h, &send) == -1)
		goto oom;
	for (; r != NULL; r = r->next) {
		if (conf_httpchk_add(c, h, r) == -1)
			goto oom;
		expected = r->kind == CHECK_RULE_EXPECT ? 1 : r->kind == CHECK_RULE_SEND ? 0 : expected;
	}
	/* A request without an expect after it: a 2xx or 3xx status passes. */
	if (!expected && conf_httpchk_add(c, h, &expect) == -1)
		goto oom;
	check_spec_free(h->built);
	h->built = c;
	return 0;
oom:
	check_spec_free(c);
	snprintf(err, errlen, "%s '%s': out of memory for its HTTP check", conf_proxy_kind(px),
	    px->name);
	return -1;
}

struct conf_httpchk *
conf_httpchk_clone(const struct conf_httpchk *h)
{
	struct conf_httpchk *n;

	if (h == NULL || (n = calloc(1, sizeof(*n))) == NULL)
		return NULL;
	for (int i = 0; i < 4; i++) {
		n->req[i] = h->req[i] != NULL ? strdup(h->req[i]) : NULL;
		if (h->req[i] != NULL && n->req[i] == NULL)
			goto fail;
	}
	n->rules = check_spec_clone(h->rules);
	if (h->rules != NULL && n->rules == NULL)
		goto fail;
	n->rules_inherited = n->rules != NULL;
	n->disable_404 = h->disable_404;
	return n;
fail:
	conf_httpchk_free(n);	/* never a copy with parts missing */
	return NULL;
}

void
conf_httpchk_free(struct conf_httpchk *h)
{
	if (h == NULL)
		return;
	for (int i = 0; i < 4; i++)
		free(h->req[i]);
	check_spec_free(h->rules);
	check_spec_free(h->built);
	free(h);
}
