/*
 * fuzz_check_answer: a server's answer to a health check, judged by every
 * matcher: each CHECK_M_* kind (plain and negated, with and without
 * min-recv, on404 for HTTP; expect hdr|fhdr by every method), the expect rules of every protocol check
 * (redis, smtp, pgsql, mysql, ldap, ssl-hello), the HTTP status reader
 * and the agent's line parser. The answer sits in a buffer of exactly its
 * size, so that a read one byte past it is seen by ASan. Properties: a
 * verdict is one of the enum; a failure says why; the last bytes of an
 * answer always decide (no "more" once the server closed); an agent's
 * fields stay within what its words allow.
 */
#include "config.h"

#include <string.h>

#include "check_agent.h"
#include "check_rule.h"
#include "check_spec.h"
#include "conf.h"
#include "fuzz.h"

/* The matchers' patterns, one per kind that takes one. */
static const struct {
	enum check_match match;
	const char *pat;
	int regex;
} fuzz_kinds[] = {
	{ CHECK_M_STRING, "+PONG", 0 }, { CHECK_M_RSTRING, "^2[0-9]{2}[- \r]", 1 },
	{ CHECK_M_BINARY, "\x52\x00\x00\x00", 0 }, { CHECK_M_RBINARY, "^52000000(08|0A)", 1 },
	{ CHECK_M_MYSQL_HELLO, NULL, 0 }, { CHECK_M_MYSQL_OK, NULL, 0 },
	{ CHECK_M_LDAP_BIND, NULL, 0 }, { CHECK_M_LINE, NULL, 0 },
	{ CHECK_M_HTTP_DEFAULT, NULL, 0 }, { CHECK_M_HTTP_STATUS, "200,300-399", 0 },
	{ CHECK_M_HTTP_RSTATUS, "^[23]", 1 }, { CHECK_M_HTTP_STRING, "ok", 0 },
	{ CHECK_M_HTTP_RSTRING, "o+k$", 1 },
};

static struct check_spec *fuzz_rules;	/* every rule above, in each variant */
static struct check_spec *fuzz_protos;	/* every protocol check's rules */

static void
fuzz_add(enum check_match m, const char *pat, int regex, int negate, long min_recv)
{
	struct check_rule *r = check_spec_add(fuzz_rules, CHECK_RULE_EXPECT);
	char err[256];

	FUZZ_ASSERT(r != NULL);
	r->match = m;
	r->negate = negate;
	r->min_recv = min_recv;
	r->on404 = negate;
	if (pat != NULL) {
		size_t n = m == CHECK_M_BINARY ? 4 : strlen(pat);

		FUZZ_ASSERT(check_rule_set_data(r, pat, n) == 0);
		if (regex)
			FUZZ_ASSERT(check_rule_set_regex(r, err, sizeof(err)) == 0);
	}
}

/* expect hdr|fhdr by every method, with a value and without. */
static void
fuzz_add_hdrs(void)
{
	static const char *const names[] = { "content-length", "con", "length", "tent", "^x-.*e$" };
	static const char *const values[] = { "7", "ok", "a", "b,", "^[0-9]+$" };
	char err[256];

	for (int m = CHECK_HM_STR; m <= CHECK_HM_REG; m++) {
		for (int full = 0; full <= 1; full++) {
			for (int v = 0; v <= 1; v++) {
				struct check_rule *r = check_spec_add(fuzz_rules, CHECK_RULE_EXPECT);

				FUZZ_ASSERT(r != NULL);
				r->match = CHECK_M_HTTP_HDR;
				r->full = full;
				r->negate = v;
				r->hname_m = r->hval_m = (enum check_hdr_meth)m;
				r->re_icase = 1;
				FUZZ_ASSERT(check_rule_set_data(r, names[m], strlen(names[m])) == 0);
				if (m == CHECK_HM_REG)
					FUZZ_ASSERT(check_rule_set_regex(r, err, sizeof(err)) == 0);
				if (v)
					FUZZ_ASSERT(check_rule_set_hval(r, values[m], err, sizeof(err)) == 0);
			}
		}
	}
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const long min_recvs[] = { -1, 0, 7 };

	(void)argc;
	(void)argv;
	fuzz_rules = calloc(1, sizeof(*fuzz_rules));
	fuzz_protos = calloc(1, sizeof(*fuzz_protos));
	FUZZ_ASSERT(fuzz_rules != NULL && fuzz_protos != NULL);
	for (size_t k = 0; k < sizeof(fuzz_kinds) / sizeof(*fuzz_kinds); k++) {
		for (int neg = 0; neg <= 1; neg++) {
			for (size_t i = 0; i < sizeof(min_recvs) / sizeof(*min_recvs); i++)
				fuzz_add(fuzz_kinds[k].match, fuzz_kinds[k].pat, fuzz_kinds[k].regex,
				    neg, min_recvs[i]);
		}
	}
	fuzz_add_hdrs();
	FUZZ_ASSERT(check_spec_proto(fuzz_protos, CHECK_PROTO_REDIS, NULL, 0) == 0);
	FUZZ_ASSERT(check_spec_proto(fuzz_protos, CHECK_PROTO_SMTP, "helo", 0) == 0);
	FUZZ_ASSERT(check_spec_proto(fuzz_protos, CHECK_PROTO_PGSQL, "haproxy", 0) == 0);
	FUZZ_ASSERT(check_spec_proto(fuzz_protos, CHECK_PROTO_MYSQL, NULL, 0) == 0);
	FUZZ_ASSERT(check_spec_proto(fuzz_protos, CHECK_PROTO_MYSQL, "haproxy", 1) == 0);
	FUZZ_ASSERT(check_spec_proto(fuzz_protos, CHECK_PROTO_LDAP, NULL, 0) == 0);
	FUZZ_ASSERT(check_spec_proto(fuzz_protos, CHECK_PROTO_SSL_HELLO, NULL, 0) == 0);
	return 0;
}

static void
fuzz_judge(const struct check_rule *r, const unsigned char *buf, size_t size)
{
	for (int last = 0; last <= 1; last++) {
		char info[160];
		enum check_verdict v;

		info[0] = '\0';
		v = check_expect(r, buf, size, last, info, sizeof(info));
		FUZZ_ASSERT(v == CHECK_PASS || v == CHECK_FAIL || v == CHECK_MORE ||
		    v == CHECK_PASS_NOLB || v == CHECK_FAIL_STATUS);
		FUZZ_ASSERT(strlen(info) < sizeof(info));
		if (v == CHECK_FAIL)
			FUZZ_ASSERT(info[0] != '\0');
		if (last)
			FUZZ_ASSERT(v != CHECK_MORE);
	}
}

static void
fuzz_agent(const char *buf, size_t size)
{
	struct check_agent_reply r;
	char bad[48];
	int n = check_agent_parse(buf, size, &r, bad, sizeof(bad));

	FUZZ_ASSERT(n >= -1);
	FUZZ_ASSERT(n != -1 || bad[0] != '\0');
	FUZZ_ASSERT(r.down >= -1 && r.down <= 1);
	FUZZ_ASSERT(r.admin >= -1 && r.admin <= CONF_ADM_MAINT);
	FUZZ_ASSERT(r.weight_pct >= -1 && r.weight_pct <= 25600);
	FUZZ_ASSERT(r.maxconn >= -1);
	FUZZ_ASSERT(strlen(r.word) < sizeof(r.word) && strlen(r.desc) < sizeof(r.desc));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *buf;
	int status;

	/* A check reads at most CHECK_BUF bytes. */
	if (size > CHECK_BUF)
		size = CHECK_BUF;
	if ((buf = malloc(size)) == NULL)
		return 0;
	memcpy(buf, data, size);
	for (const struct check_rule *r = fuzz_rules->rules; r != NULL; r = r->next)
		fuzz_judge(r, buf, size);
	for (const struct check_rule *r = fuzz_protos->rules; r != NULL; r = r->next) {
		if (r->kind == CHECK_RULE_EXPECT)
			fuzz_judge(r, buf, size);
	}
	status = check_http_status(buf, size);
	FUZZ_ASSERT(status == 0 || (status >= 0 && status <= 999 && size >= 12));
	fuzz_agent((const char *)buf, size);
	free(buf);
	return 0;
}
