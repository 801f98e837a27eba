/*
 * check_rule: the rule lists of health checks beyond a bare connect, as
 * HAProxy writes them ("tcp-check connect|send|send-binary|expect",
 * and the protocol checks built on them: redis, smtp, mysql, pgsql, ldap,
 * ssl-hello), the pure matcher that judges a server's answer, and the
 * engine that runs one list on a non-blocking socket of the control
 * thread's event base.
 *
 * The engine never blocks and never grows: a check reads into a fixed
 * buffer of CHECK_BUF bytes; an answer that does not fit is judged on what
 * did (HAProxy's "buffer full" is a last read). Its deadline is the
 * caller's timer (health.c), which calls check_run_abort().
 */
#ifndef SPLICER_CHECK_RULE_H
#define SPLICER_CHECK_RULE_H

#include <regex.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#include "check_poll.h"
#include "sockaddr.h"

/* Bytes of a server's answer a check looks at, as HAProxy's check buffer. */
#define CHECK_BUF 16384

enum check_rule_kind {
	CHECK_RULE_CONNECT,	/* (re)connect, optionally elsewhere and with a PROXY header */
	CHECK_RULE_SEND,	/* bytes to the server */
	CHECK_RULE_EXPECT,	/* judge what the server sent since the last send */
};

/* What an expect rule matches. The last ones are the protocol checks'
 * own parsers, for answers that a pattern cannot judge. */
enum check_match {
	CHECK_M_STRING,		/* the text occurs in the answer */
	CHECK_M_RSTRING,	/* the regex matches the answer */
	CHECK_M_BINARY,		/* the bytes (written in hex) occur in the answer */
	CHECK_M_RBINARY,	/* the regex matches the answer written in hex */
	CHECK_M_MYSQL_HELLO,	/* a whole MySQL handshake packet, not an error */
	CHECK_M_MYSQL_OK,	/* a whole MySQL OK packet after a login */
	CHECK_M_LDAP_BIND,	/* an LDAPv3 bind response with resultCode 0 */
	CHECK_M_LINE,		/* an agent's line: up to '\r' or '\n', or the close */
	/* HTTP answers (check_http.c), judged once their headers are in */
	CHECK_M_HTTP_DEFAULT,	/* a 2xx or 3xx status */
	CHECK_M_HTTP_STATUS,	/* the status is in a list "200,300-399" */
	CHECK_M_HTTP_RSTATUS,	/* the regex matches the 3-digit status */
	CHECK_M_HTTP_STRING,	/* the text occurs in the body */
	CHECK_M_HTTP_RSTRING,	/* the regex matches the body */
	CHECK_M_HTTP_HDR,	/* a header's name (and a value) match: hdr, fhdr */
};

/* How "http-check expect hdr" matches a header's name or value ("-m"). */
enum check_hdr_meth {
	CHECK_HM_STR,		/* the whole of it (the default) */
	CHECK_HM_BEG,		/* its start */
	CHECK_HM_END,		/* its end */
	CHECK_HM_SUB,		/* somewhere in it */
	CHECK_HM_REG,		/* the regex matches it */
};

struct check_rule {
	enum check_rule_kind kind;
	int line;			/* where it was written, 0 when built in */
	char *comment;			/* "comment TEXT", shown in a failure's reason */
	/* connect */
	uint16_t port;			/* 0: the server's check port */
	struct sockaddr_spec *addr;	/* NULL: the server's check address */
	int send_proxy;			/* PROXY v1 header first */
	/* send: data[0..len); expect: the pattern (bytes for binary) */
	unsigned char *data;
	size_t len;
	/* expect */
	enum check_match match;
	int negate;			/* "!": the check fails when it matches */
	long min_recv;			/* "min-recv N": bytes needed before judging; -1 unset */
	regex_t re;			/* compiled for rstring and rbinary (hdr: the name's) */
	int has_re;
	int re_icase;			/* the regex ignores case (a header name's) */
	/* expect hdr|fhdr: data is the name's pattern; hval the value's, or
	 * NULL to match the name only; fhdr (full) takes the value whole,
	 * hdr each of its comma-separated elements */
	enum check_hdr_meth hname_m, hval_m;
	char *hval;
	regex_t hval_re;
	int has_hval_re;
	int full;
	int on404;			/* "disable-on-404": a 404 passes, server NOLB */
	/* expect: ok-status, error-status, tout-status (CHECK_ST_*, 0 unset),
	 * on-success and on-error (the info, NULL unset), status-code (if has_code) */
	int ok_st, err_st, tout_st;
	char *on_success, *on_error;
	int status_code, has_code;
	/* an http-check send before the request is built: NULL = option httpchk's */
	char *meth, *uri, *ver, *hdrs, *body;
	struct check_rule *next;
};

/* The check of a backend: rules, or NULL for a bare connect. */
struct check_spec {
	struct check_rule *rules;
	char *name;			/* "tcp-check", "redis-check"... for messages */
	char *next_comment;		/* parsing: a "tcp-check comment" for the next rule */
};

/* A rule list under construction: "tcp-check" lines, or a protocol check. */
void check_spec_free(struct check_spec *c);
/* A copy of c with every rule, or NULL: never one with rules missing. */
struct check_spec *check_spec_clone(const struct check_spec *c);

/* Append one rule; returns it. */
struct check_rule *check_spec_add(struct check_spec *c, enum check_rule_kind kind);

/* The judgement of an expect rule on the answer buf[0..len). last is set
 * when no more bytes will come (the server closed, or the buffer is
 * full). */
enum check_verdict {
	CHECK_PASS,
	CHECK_FAIL,
	CHECK_MORE,		/* not decided yet: read more */
	CHECK_PASS_NOLB,	/* HTTP 404 with disable-on-404: up, no new sessions */
	CHECK_FAIL_STATUS,	/* HTTP: a wrong status ("Layer7 wrong status") */
};

/* HAProxy's check statuses an expect may set (ok-status...). */
enum check_status {
	CHECK_ST_UNSET, CHECK_ST_L7OK, CHECK_ST_L7OKC, CHECK_ST_L6OK, CHECK_ST_L4OK,
	CHECK_ST_L7RSP, CHECK_ST_L7STS, CHECK_ST_L6RSP, CHECK_ST_L4CON,
	CHECK_ST_L7TOUT, CHECK_ST_L6TOUT, CHECK_ST_L4TOUT,
};

/* A status's reason in HAProxy's words, and whether it passes (L7OKC also
 * takes the server out of balancing). */
const char *check_status_reason(int st);
int check_status_ok(int st);

/* Pure and bounded: looks at buf[0..len) only. On CHECK_FAIL, info says
 * why in a sentence. */
enum check_verdict check_expect(const struct check_rule *r, const unsigned char *buf,
    size_t len, int last, char *info, size_t infolen);

/* Does the regex match buf, taken as text ending at len (NULs included)? */
int check_regex(const regex_t *re, const char *buf, size_t len);

/* The HTTP expect rules (check_expect() hands them over): judged on the
 * answer's status line, headers and body, bounded by len. */
enum check_verdict check_http_expect(const struct check_rule *r, const unsigned char *buf,
    size_t len, int last, char *info, size_t infolen);

/* The status of an HTTP/1.x answer, 0 when buf does not start with one. */
int check_http_status(const unsigned char *buf, size_t len);

/* Is "200,300-399" a valid status list? */
int check_http_valid_list(const char *list);

/* "expect string 'role:master'": a rule in a sentence, for messages. */
void check_rule_describe(const struct check_rule *r, char *out, size_t cap);

/* Hex text -> bytes ("send-binary", "expect binary"); returns the length,
 * or -1 when the text is not an even run of hex digits. */
long check_unhex(const char *hex, unsigned char *out, size_t cap);

/* Where a check connects and what its rules are. */
struct check_target {
	const struct sockaddr_storage *addr;	/* the server's check address and port */
	socklen_t addrlen;
	const struct check_spec *spec;		/* NULL: connect only */
};

/* How a check ended, in HAProxy's words. */
struct check_result {
	int ok;
	const char *reason;	/* "Layer4 connection problem", "Layer7 invalid response"... */
	int code;		/* the HTTP status, 0 when none */
	int nolb;		/* passed, but the server takes no new session (404) */
	char answer[128];	/* the start of the last answer (an agent's line) */
	size_t answer_len;
	char info[192];		/* the detail: errno text, what did not match */
};

/* One check in progress; owned by its caller, embedded in it. */
struct check_run {
	struct event_base *base;
	struct check_target target;
	const struct check_rule *rule;	/* the rule being run */
	unsigned int step;		/* its rank, 1-based, for the reason */
	int active;			/* started and not ended */
	int fd;
	struct check_poll_watch watch;	/* the socket, watched edge-triggered both ways */
	int connecting;			/* waiting for the connect to end */
	int readable;			/* a readable edge came since the last EAGAIN */
	const unsigned char *out;	/* bytes being sent: a send rule's, or pp */
	int out_rule;			/* out is the current send rule's */
	size_t outlen, sent;
	char pp[128];			/* the PROXY header of a connect rule */
	int expects;			/* expect rules passed: the check is Layer7 */
	const struct check_rule *last_expect;	/* the last of them */
	int code;			/* HTTP status of the answer, 0 if none */
	int nolb;			/* an expect passed with a 404 (disable-on-404) */
	unsigned char *buf;		/* CHECK_BUF bytes while the check runs */
	size_t len;			/* answer read since the last send */
	int eof;
	void (*done)(struct check_run *run, const struct check_result *res, void *arg);
	void *arg;
};

/* Start a check; done is called once, from the event loop or at once on
 * an immediate failure. */
void check_run_start(struct check_run *run, struct event_base *base,
    const struct check_target *t,
    void (*done)(struct check_run *, const struct check_result *, void *), void *arg);

/* The deadline passed (or the process ends): end the check, if running,
 * as a timeout; done is called unless quiet. */
void check_run_abort(struct check_run *run, int quiet);

/* At exit: free the answer buffers kept for later checks. */
void check_run_free_buffers(void);

#endif
