/*
 * Unit tests for the configuration lexer, parser and checker.
 *
 * Besides the cases below, every tests/conf/bad/X.cfg must produce
 * exactly the errors listed in X.err, and every tests/conf/good/X.cfg
 * must load without error.
 */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "conf_check.h"
#include "conf_parse.h"

#include "check_main.h"

/* Parse text as file "t.cfg" and check it; returns the conf, fills msgs. */
static struct conf *
load(const char *text, struct conf_msgs *errs, struct conf_msgs *warns)
{
	struct conf *c = conf_new();

	if (conf_parse_buffer(c, "t.cfg", text, strlen(text), errs, warns) == 0)
		conf_check(c, 0, errs, warns);
	return c;
}

/* All messages joined by newlines, for comparisons. */
static char *
joined(const struct conf_msgs *m)
{
	size_t len = 1;
	char *s;

	for (int i = 0; i < m->n; i++)
		len += strlen(m->msg[i]) + 1;
	s = calloc(1, len);
	for (int i = 0; i < m->n; i++) {
		strcat(s, m->msg[i]);
		if (i + 1 < m->n)
			strcat(s, "\n");
	}
	return s;
}

#define MINIMAL \
	"defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 2s\n  timeout server 3s\n" \
	"frontend fe\n  bind 127.0.0.1:8000\n  default_backend be\n" \
	"backend be\n  server s1 127.0.0.1:9000\n"

START_TEST(test_minimal_config_loads)
{
	struct conf_msgs errs = { 0 }, warns = { 0 };
	struct conf *c = load(MINIMAL, &errs, &warns);
	struct conf_proxy *fe = conf_find_proxy(c, "fe", CONF_PX_FE);

	ck_assert_int_eq(errs.n, 0);
	ck_assert_int_eq(warns.n, 0);
	ck_assert_ptr_nonnull(fe);
	ck_assert_ptr_eq(fe->backend, conf_find_proxy(c, "be", CONF_PX_BE));
	ck_assert_uint_eq(fe->to.client, 2000000);
	ck_assert_uint_eq(fe->backend->to.server, 3000000);
	ck_assert_uint_eq(fe->backend->to.connect, 1000000);
	ck_assert_uint_eq(fe->backend->retries, 3);
	conf_free(c);
}
END_TEST

START_TEST(test_every_error_is_reported_not_only_the_first)
{
	struct conf_msgs errs = { 0 }, warns = { 0 };
	struct conf *c = load(
	    "global\n  maxconn -5\n  nbthred 2\n"
	    "frontend fe\n  bind 127.0.0.1:99999\n  timeout client 5x\n  default_backend be\n"
	    "backend be\n  balanse roundrobin\n  server s1 127.0.0.1:9000\n", &errs, &warns);
	char *all = joined(&errs);

	ck_assert_str_eq(all,
	    "t.cfg:2: 'maxconn': number '-5' must not be negative\n"
	    "t.cfg:3: unknown keyword 'nbthred' in section 'global' (did you mean 'nbthread'?)\n"
	    "t.cfg:5: bind: address '127.0.0.1:99999' has an invalid port '99999' (expected 1 to 65535)\n"
	    "t.cfg:6: 'timeout client': time '5x' has unknown unit 'x' (expected us, ms, s, m, h or d)\n"
	    "t.cfg:9: unknown keyword 'balanse' in backend 'be' (did you mean 'balance'?)");
	free(all);
	conf_msgs_free(&errs);
	conf_msgs_free(&warns);
	conf_free(c);
}
END_TEST

START_TEST(test_defaults_apply_to_following_proxies_only)
{
	struct conf_msgs errs = { 0 }, warns = { 0 };
	struct conf *c = load(
	    "defaults\n  timeout client 1s\n  retries 5\n"
	    "backend b1\n  server s 127.0.0.1:1\n"
	    "defaults\n  timeout client 9s\n"
	    "backend b2\n  server s 127.0.0.1:1\n"
	    "frontend fe\n  bind 127.0.0.1:8000\n  default_backend b1\n", &errs, &warns);

	ck_assert_int_eq(errs.n, 0);
	ck_assert_uint_eq(conf_find_proxy(c, "b1", 0)->retries, 5);
	/* A new defaults section starts from the built-in values. */
	ck_assert_uint_eq(conf_find_proxy(c, "b2", 0)->retries, 3);
	ck_assert_uint_eq(conf_find_proxy(c, "fe", 0)->to.client, 9000000);
	conf_msgs_free(&errs);
	conf_msgs_free(&warns);
	conf_free(c);
}
END_TEST

START_TEST(test_named_defaults_and_from)
{
	struct conf_msgs errs = { 0 }, warns = { 0 };
	struct conf *c = load(
	    "defaults slow\n  timeout connect 30s\n"
	    "defaults fast\n  timeout connect 100ms\n"
	    "backend b1 from slow\n  server s 127.0.0.1:1\n"
	    "backend b2\n  server s 127.0.0.1:1\n"
	    "listen l1 from nope\n  bind 127.0.0.1:8001\n"
	    "frontend fe\n  bind 127.0.0.1:8000\n  default_backend b1\n", &errs, &warns);
	char *all = joined(&errs);

	ck_assert_str_eq(all, "t.cfg:9: listen 'l1' is from defaults 'nope', which is not "
	    "declared before it");
	ck_assert_uint_eq(conf_find_proxy(c, "b1", 0)->to.connect, 30000000);
	ck_assert_uint_eq(conf_find_proxy(c, "b2", 0)->to.connect, 100000);
	free(all);
	conf_msgs_free(&errs);
	conf_msgs_free(&warns);
	conf_free(c);
}
END_TEST

START_TEST(test_listen_is_its_own_backend_and_binds_lists)
{
	struct conf_msgs errs = { 0 }, warns = { 0 };
	struct conf *c = load(
	    "listen app\n  bind 127.0.0.1:8000,[::1]:8000 backlog 10\n  bind :8001 v6only\n"
	    "  server a 127.0.0.1:9000\n  server b 127.0.0.2:9000\n"
	    "  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\n", &errs, &warns);
	struct conf_proxy *px = conf_find_proxy(c, "app", CONF_PX_FE | CONF_PX_BE);
	struct conf_bind *b;
	int n = 0;

	ck_assert_int_eq(errs.n, 0);
	ck_assert_ptr_eq(px->backend, px);
	for (b = px->binds; b != NULL; b = b->next)
		n++;
	ck_assert_int_eq(n, 3);
	ck_assert_int_eq(px->binds->backlog, 10);
	ck_assert_int_eq(px->binds->next->backlog, 10);
	ck_assert_str_eq(px->binds->next->addr.host, "::1");
	ck_assert_int_eq(px->binds->next->next->v6only, 1);
	ck_assert_uint_eq(px->nservers, 2);
	conf_msgs_free(&errs);
	conf_msgs_free(&warns);
	conf_free(c);
}
END_TEST

START_TEST(test_lexer_quotes_comments_crlf_bom)
{
	struct conf_msgs errs = { 0 }, warns = { 0 };
	struct conf *c = load(
	    "\xef\xbb\xbfglobal # comment\r\n"
	    "  pidfile \"/tmp/a\\$HOME b.pid\"  # trailing\r\n"
	    "  log '/tmp/x#y.log' local0\r\n"
	    "listen \"app\"\r\n  bind 127.0.0.1:8000\r\n  server s 127.0.0.1:9000\r\n"
	    "  description a\\ very \"long\" one\n", &errs, &warns);

	ck_assert_int_eq(errs.n, 0);
	ck_assert_str_eq(c->global.pidfile, "/tmp/a$HOME b.pid");
	ck_assert_str_eq(c->global.logs->path, "/tmp/x#y.log");
	ck_assert_ptr_nonnull(conf_find_proxy(c, "app", 0));
	conf_msgs_free(&errs);
	conf_msgs_free(&warns);
	conf_free(c);
}
END_TEST

/* Environment variables as Debian's HAProxy 2.6 expands them. */
START_TEST(test_lexer_environment_variables)
{
	struct conf_msgs errs = { 0 }, warns = { 0 };
	struct conf *c;
	struct conf_proxy *px;
	char *all;

	setenv("SPL_PORT", "8001", 1);
	setenv("SPL_HOST", "127.0.0.2", 1);
	setenv("SPL_P3", "8003", 1);
	setenv("SPL_OPTS", "weight 7 backup", 1);
	unsetenv("SPL_UNSET");
	c = load("listen app\n  bind 127.0.0.1:$SPL_PORT\n  bind \"127.0.0.1:${SPL_UNSET-8002}\"\n"
	    "  bind '127.0.0.1:${SPL_P3}'\n"
	    "  server s ${SPL_HOST}:9000 \"${SPL_OPTS[*]}\" \"$SPL_UNSET\"\n"
	    "  server t $SPL_HOST:9001 price$ $\n", &errs, &warns);
	all = joined(&errs);
	ck_assert_msg(errs.n == 1 && strstr(all, ":6: unknown server option 'price$'") != NULL,
	    "%s", all);
	px = conf_find_proxy(c, "app", 0);
	ck_assert_uint_eq(px->binds->addr.port, 8001);
	ck_assert_uint_eq(px->binds->next->addr.port, 8002);
	ck_assert_uint_eq(px->binds->next->next->addr.port, 8003);
	ck_assert_str_eq(px->servers->addr.host, "127.0.0.2");
	ck_assert_uint_eq(px->servers->weight, 7);
	ck_assert_int_eq(px->servers->backup, 1);
	free(all);
	conf_msgs_free(&errs);
	conf_msgs_free(&warns);
	conf_free(c);
}
END_TEST

/* Malformed references inside double quotes are errors, as Debian's
 * HAProxy 2.6.12 says ("unmatched brace", "forbidden first char"); outside
 * quotes a lone '$' stays literal. */
START_TEST(test_lexer_malformed_variables)
{
	static const char *const bad[][2] = {
		{ "\"${SPL_PORT\"", "unmatched brace in environment variable name in '${SPL_PORT'" },
		{ "\"$\"", "forbidden first char in environment variable name in '$'" },
		{ "\"${}\"", "forbidden first char in environment variable name in '${}'" },
		{ "\"${X:-y}\"", "unmatched brace in environment variable name in '${X:-y}'" },
		{ "\"a$ b\"", "forbidden first char in environment variable name in '$'" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct conf_msgs errs = { 0 }, warns = { 0 };
		char text[256];
		struct conf *c;
		char *all;

		snprintf(text, sizeof(text), "listen app\n  bind 127.0.0.1:8000\n"
		    "  server s 127.0.0.1:9000\n  description %s\n", bad[i][0]);
		c = load(text, &errs, &warns);
		all = joined(&errs);
		ck_assert_msg(strstr(all, "t.cfg:4: ") != NULL && strstr(all, bad[i][1]) != NULL,
		    "%s: %s", bad[i][0], all);
		free(all);
		conf_msgs_free(&errs);
		conf_msgs_free(&warns);
		conf_free(c);
	}
}
END_TEST

/* .if/.elif/.else/.endif as HAProxy 2.6: only the taken branch is read. */
START_TEST(test_conditional_blocks)
{
	struct conf_msgs errs = { 0 }, warns = { 0 };
	struct conf *c;
	char *all;

	setenv("SPL_ON", "", 1);
	unsetenv("SPL_OFF");
	c = load(".if defined(SPL_ON) && !defined(SPL_OFF)\nlisten a\n  bind 127.0.0.1:8001\n"
	    "  server s 127.0.0.1:9000\n  .if 0\n  bogus line\n  .elif streq(x,x)\n"
	    "  maxconn 5\n  .else\n  maxconn 6\n  .endif\n.elif 1\nlisten b\n.else\n"
	    "listen c\n.endif\n.if version_atleast(2.4-dev19) && version_before(3)\n"
	    ".warning \"new enough\"\n.endif\n"
	    ".if !version_atleast(2.6.5) || version_before(2.6.3) || !version_before(2.6.13)\n"
	    "listen c\n.endif\n", &errs, &warns);
	ck_assert_int_eq(errs.n, 0);
	ck_assert_ptr_nonnull(conf_find_proxy(c, "a", 0));
	ck_assert_uint_eq(conf_find_proxy(c, "a", 0)->maxconn, 5);
	ck_assert_ptr_null(conf_find_proxy(c, "b", 0));
	ck_assert_ptr_null(conf_find_proxy(c, "c", 0));
	all = joined(&warns);
	ck_assert_msg(strncmp(all, "t.cfg:18: warning: new enough\n", 30) == 0, "%s", all);
	free(all);
	conf_msgs_free(&errs);
	conf_msgs_free(&warns);
	conf_free(c);

	memset(&errs, 0, sizeof(errs));
	memset(&warns, 0, sizeof(warns));
	c = load(".else\n.if nonsense(\n.endif\n.if 1\n.else\n.elif 1\n.alert \"no\"\n",
	    &errs, &warns);
	all = joined(&errs);
	ck_assert_msg(strstr(all, "t.cfg:1: '.else' without '.if'") != NULL &&
	    strstr(all, "t.cfg:2: ") != NULL && strstr(all, "t.cfg:6: '.elif' after '.else'") &&
	    strstr(all, "t.cfg:4: '.if' is not closed") != NULL, "%s", all);
	free(all);
	conf_msgs_free(&errs);
	conf_msgs_free(&warns);
	conf_free(c);
}
END_TEST

START_TEST(test_nul_byte_and_long_line_and_quote_errors)
{
	static const char text[] = "global\n  maxconn 1\0 0\n  pidfile \"/tmp/x\n";
	struct conf_msgs errs = { 0 }, warns = { 0 };
	struct conf *c = conf_new();
	char *big, *all;

	conf_parse_buffer(c, "t.cfg", text, sizeof(text) - 1, &errs, &warns);
	big = malloc(70000 + 32);
	strcpy(big, "global\n  description ");
	memset(big + strlen(big), 'a', 70000);
	big[70000 + 21] = '\0';
	conf_parse_buffer(c, "u.cfg", big, strlen(big), &errs, &warns);
	all = joined(&errs);
	ck_assert_str_eq(all,
	    "t.cfg:2: NUL byte in the line (offset 11)\n"
	    "t.cfg:3: unterminated double quote\n"
	    "u.cfg:2: line too long (70014 bytes, at most 65536)");
	free(all);
	free(big);
	conf_msgs_free(&errs);
	conf_msgs_free(&warns);
	conf_free(c);
}
END_TEST

START_TEST(test_options_and_engines)
{
	struct conf_msgs errs = { 0 }, warns = { 0 };
	struct conf *c = load(
	    "defaults\n  option tcplog\n  option dontlognull\n  option splice-request\n"
	    "  engine copy\n"
	    "frontend fe\n  bind 127.0.0.1:8000\n  no option dontlognull\n  default_backend be\n"
	    "  log global\n"
	    "backend be\n  engine splice\n  server s 127.0.0.1:1\n", &errs, &warns);
	struct conf_proxy *fe = conf_find_proxy(c, "fe", 0), *be = conf_find_proxy(c, "be", 0);

	ck_assert_int_eq(errs.n, 0);
	ck_assert_uint_eq(fe->opts, CONF_OPT_TCPLOG | CONF_OPT_SPLICE_REQ);
	ck_assert_int_eq(fe->engine, CONF_ENGINE_COPY);
	ck_assert_int_eq(be->engine, CONF_ENGINE_SPLICE);
	ck_assert_int_eq(fe->log_global, 1);
	conf_msgs_free(&errs);
	conf_msgs_free(&warns);
	conf_free(c);
}
END_TEST

START_TEST(test_sockmap_engine_and_tunes)
{
	struct conf_msgs errs = { 0 }, warns = { 0 };
	struct conf *c = load("global\n  nosockmap\n  tune.sockmap.promote-bytes 4m\n"
	    "  tune.sockmap.promote-max-rate 2gbps\n" MINIMAL
	    "listen l\n  bind 127.0.0.1:8001\n  engine sockmap\n  server s 127.0.0.1:1\n",
	    &errs, &warns);
	struct conf *d = load(MINIMAL, &errs, &warns);

	ck_assert_int_eq(errs.n, 0);
	ck_assert_int_eq(conf_find_proxy(c, "l", 0)->engine, CONF_ENGINE_SOCKMAP);
	ck_assert_int_eq(conf_find_proxy(c, "fe", 0)->engine, CONF_ENGINE_UNSET);
	ck_assert_int_eq(c->global.nosockmap, 1);
	ck_assert_uint_eq(c->global.promote_bytes, 4 << 20);
	ck_assert_uint_eq(c->global.promote_max_rate, 2000000000ULL);
	/* Defaults: sockmap allowed, promotion after 1 MB. */
	ck_assert_int_eq(d->global.nosockmap, 0);
	ck_assert_uint_eq(d->global.promote_bytes, 1 << 20);
	ck_assert_uint_eq(d->global.promote_max_rate, 0);	/* auto stays spliced */
	conf_msgs_free(&errs);
	conf_msgs_free(&warns);
	conf_free(c);
	conf_free(d);
}
END_TEST

START_TEST(test_log_targets)
{
	static const char *const lines[][2] = {
		{ "log stderr local0 info", NULL },
		{ "log stdout format raw daemon", NULL },
		{ "log /dev/log local2 notice", NULL },
		{ "log 127.0.0.1 local2", NULL },
		{ "log 127.0.0.1:514 local0", NULL },
		{ "log udp@[::1]:1514 user debug", NULL },
		{ "log stderr local9", "unknown log facility 'local9'" },
		{ "log stderr local0 loud", "unknown log level 'loud'" },
		{ "log stderr format json local0", "log format 'json' is not supported" },
		{ "log udp@host:99999 local0", "invalid port '99999'" },
	};

	for (size_t i = 0; i < sizeof(lines) / sizeof(*lines); i++) {
		char text[256], *all;
		struct conf_msgs errs = { 0 }, warns = { 0 };
		struct conf *c = conf_new();

		snprintf(text, sizeof(text), "global\n  %s\n", lines[i][0]);
		conf_parse_buffer(c, "t.cfg", text, strlen(text), &errs, &warns);
		all = joined(&errs);
		if (lines[i][1] == NULL)
			ck_assert_msg(errs.n == 0, "%s: %s", lines[i][0], all);
		else
			ck_assert_msg(strstr(all, lines[i][1]) != NULL, "%s: %s", lines[i][0], all);
		free(all);
		conf_msgs_free(&errs);
		conf_msgs_free(&warns);
		conf_free(c);
	}
}
END_TEST

START_TEST(test_missing_timeouts_warn_like_haproxy)
{
	struct conf_msgs errs = { 0 }, warns = { 0 };
	struct conf *c = load("listen l\n  bind 127.0.0.1:8000\n  server s 127.0.0.1:1\n",
	    &errs, &warns);
	char *all = joined(&warns);

	ck_assert_int_eq(errs.n, 0);
	ck_assert_str_eq(all, "t.cfg:1: listen 'l' lacks 'timeout client': idle sessions may "
	    "then stay open forever");
	free(all);
	conf_msgs_free(&errs);
	conf_msgs_free(&warns);
	conf_free(c);
}
END_TEST

/* Check lines and server options that do nothing are said to, as HAProxy
 * says of http-check rules without option httpchk. */
START_TEST(test_idle_check_settings_warn)
{
	struct conf_msgs errs = { 0 }, warns = { 0 };
	struct conf *c = load("defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 2s\n"
	    "  timeout server 3s\n"
	    "listen l\n  bind 127.0.0.1:8000\n  http-check expect status 200\n"
	    "  server s1 127.0.0.1:9000 observe layer4\n"
	    "  server s2 127.0.0.1:9001 on-error mark-down\n"
	    "  server s3 127.0.0.1:9002 error-limit 5\n"
	    "  server s4 127.0.0.1:9003 check observe layer4 error-limit 5 on-error mark-down\n"
	    "  server s5 127.0.0.1:9004 slowstart 10s\n"
	    "  server s6 127.0.0.1:9005 check observe layer4 observe layer7\n", &errs, &warns);
	char *all = joined(&warns);

	ck_assert_int_eq(errs.n, 0);
	ck_assert_str_eq(all, "t.cfg:14: server option 'observe layer7' can only be used in http "
	    "proxies, so it has no effect (observe stays as it was)\n"
	    "t.cfg:6: listen 'l' uses http-check rules without 'option httpchk', "
	    "so the rules are ignored\n"
	    "t.cfg:9: server 'l/s1' has 'observe layer4' without 'check', so it does nothing\n"
	    "t.cfg:10: server 'l/s2' has 'on-error' without 'check', so it does nothing\n"
	    "t.cfg:11: server 'l/s3' has 'error-limit' without 'check', so it does nothing");
	/* As HAProxy: layer7 leaves what was set before it. */
	ck_assert_int_eq(c->proxies->servers->next->next->next->next->next->observe, 1);
	free(all);
	conf_msgs_free(&errs);
	conf_msgs_free(&warns);
	conf_free(c);
}
END_TEST

/* maxqueue acts only where sessions wait in a server's own queue. */
START_TEST(test_idle_maxqueue_warns)
{
	struct conf_msgs errs = { 0 }, warns = { 0 };
	struct conf *c;
	char *all;

	c = load("defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 2s\n"
	    "  timeout server 3s\n"
	    "listen l\n  bind 127.0.0.1:8000\n  balance roundrobin\n"
	    "  server s1 127.0.0.1:9000 maxconn 2 maxqueue 3\n"
	    "listen m\n  bind 127.0.0.1:8001\n  balance source\n"
	    "  server s2 127.0.0.1:9000 maxqueue 3\n"
	    "  server s3 127.0.0.1:9001 maxconn 2 maxqueue 3\n", &errs, &warns);
	all = joined(&warns);
	ck_assert_int_eq(errs.n, 0);
	ck_assert_str_eq(all, "t.cfg:9: server 'l/s1' has 'maxqueue' but its backend neither "
	    "hashes, counts nor persists, so it does nothing (sessions wait in a server's own "
	    "queue only under 'balance source', 'leastconn' or persistence)\n"
	    "t.cfg:13: server 'm/s2' has 'maxqueue' without 'maxconn', so it does nothing "
	    "(sessions wait in a server's own queue only under 'balance source', 'leastconn' "
	    "or persistence)");
	ck_assert_uint_eq(c->proxies->next->servers->next->maxqueue, 3);
	free(all);
	conf_msgs_free(&errs);
	conf_msgs_free(&warns);
	conf_free(c);
}
END_TEST

/* Read a whole file into a NUL-terminated buffer (with its length). */
static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* Run every X.cfg of dir; bad ones must give exactly X.err. Returns the count. */
static int
corpus(const char *kind)
{
	char dir[1024];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(dir, sizeof(dir), "%s/tests/conf/%s", TOP_SRCDIR, kind);
	ck_assert_msg((d = opendir(dir)) != NULL, "cannot open %s", dir);
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name), len, elen;
		char path[2048], epath[2048], *text, *want, *got;
		struct conf_msgs errs = { 0 }, warns = { 0 };
		struct conf *c;

		if (l < 5 || strcmp(de->d_name + l - 4, ".cfg") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		text = slurp(path, &len);
		c = conf_new();
		if (conf_parse_buffer(c, de->d_name, text, len, &errs, &warns) == 0)
			conf_check(c, 0, &errs, &warns);
		got = joined(&errs);
		if (strcmp(kind, "good") == 0) {
			ck_assert_msg(errs.n == 0, "%s: %s", de->d_name, got);
		} else {
			/* warn/X.cfg loads, with exactly the warnings of X.warn. */
			int w = strcmp(kind, "warn") == 0;

			if (w) {
				ck_assert_msg(errs.n == 0, "%s: %s", de->d_name, got);
				free(got);
				got = joined(&warns);
			}
			snprintf(epath, sizeof(epath), "%.*s.%s", (int)(strlen(path) - 4), path,
			    w ? "warn" : "err");
			want = slurp(epath, &elen);
			while (elen > 0 && want[elen - 1] == '\n')
				want[--elen] = '\0';
			ck_assert_msg(strcmp(got, want) == 0, "%s:\n got: %s\nwant: %s",
			    de->d_name, got, want);
			free(want);
		}
		free(got);
		free(text);
		conf_msgs_free(&errs);
		conf_msgs_free(&warns);
		conf_free(c);
		n++;
	}
	closedir(d);
	return n;
}

START_TEST(test_bad_corpus_gives_exact_errors)
{
	ck_assert_int_ge(corpus("bad"), 30);
}
END_TEST

START_TEST(test_warn_corpus_loads_with_exact_warnings)
{
	ck_assert_int_ge(corpus("warn"), 5);
}
END_TEST

START_TEST(test_good_corpus_loads)
{
	ck_assert_int_ge(corpus("good"), 2);
}
END_TEST

static Suite *
conf_suite(void)
{
	Suite *s = suite_create("conf");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, test_minimal_config_loads);
	tcase_add_test(tc, test_every_error_is_reported_not_only_the_first);
	tcase_add_test(tc, test_defaults_apply_to_following_proxies_only);
	tcase_add_test(tc, test_named_defaults_and_from);
	tcase_add_test(tc, test_listen_is_its_own_backend_and_binds_lists);
	tcase_add_test(tc, test_lexer_quotes_comments_crlf_bom);
	tcase_add_test(tc, test_lexer_environment_variables);
	tcase_add_test(tc, test_lexer_malformed_variables);
	tcase_add_test(tc, test_conditional_blocks);
	tcase_add_test(tc, test_nul_byte_and_long_line_and_quote_errors);
	tcase_add_test(tc, test_options_and_engines);
	tcase_add_test(tc, test_sockmap_engine_and_tunes);
	tcase_add_test(tc, test_log_targets);
	tcase_add_test(tc, test_missing_timeouts_warn_like_haproxy);
	tcase_add_test(tc, test_idle_check_settings_warn);
	tcase_add_test(tc, test_idle_maxqueue_warns);
	tcase_add_test(tc, test_bad_corpus_gives_exact_errors);
	tcase_add_test(tc, test_good_corpus_loads);
	tcase_add_test(tc, test_warn_corpus_loads_with_exact_warnings);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(conf_suite)
