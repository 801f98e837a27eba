/*
 * log_format: "log-format" strings, compiled once at parse time and
 * rendered for each session's end. HAProxy's %-variables that make sense
 * for a TCP session, with its {+Q}/{+X}/{+E} flags, and splicer's own as
 * %[name]. See log_format.h and doc/keywords.txt for the list.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "log_format.h"
#include "sockaddr.h"

enum lf_var {
	LF_CI, LF_CP, LF_FI, LF_FP, LF_BI, LF_BP, LF_SI, LF_SP,
	LF_T_LOCAL, LF_TR, LF_T_GMT, LF_T_LOCALZ, LF_TS, LF_MS,
	LF_TW, LF_TC, LF_TT, LF_TA, LF_B, LF_U, LF_STATE,
	LF_AC, LF_FC, LF_BC, LF_SC, LF_RC, LF_SQ, LF_BQ,
	LF_FT, LF_F, LF_BNAME, LF_SNAME, LF_ID, LF_PID, LF_HOST,
	LF_ENGINE, LF_REASON,
};

static const struct {
	const char *name;
	enum lf_var var;
} lf_names[] = {
	/* names are read whole ([A-Za-z0-9_]*, as HAProxy) and matched exactly */
	{ "ci", LF_CI }, { "cp", LF_CP }, { "fi", LF_FI }, { "fp", LF_FP }, { "bi", LF_BI },
	{ "bp", LF_BP }, { "si", LF_SI }, { "sp", LF_SP }, { "tr", LF_TR }, { "ts", LF_STATE },
	{ "Ts", LF_TS }, { "ms", LF_MS }, { "Tw", LF_TW }, { "Tc", LF_TC }, { "Tt", LF_TT },
	{ "Ta", LF_TA }, { "ac", LF_AC }, { "fc", LF_FC }, { "bc", LF_BC }, { "sc", LF_SC },
	{ "rc", LF_RC }, { "sq", LF_SQ }, { "bq", LF_BQ }, { "ft", LF_FT }, { "ID", LF_ID },
	{ "pid", LF_PID }, { "t", LF_T_LOCAL }, { "T", LF_T_GMT }, { "Tl", LF_T_LOCALZ }, { "B", LF_B }, { "U", LF_U },
	{ "f", LF_F }, { "b", LF_BNAME }, { "s", LF_SNAME }, { "H", LF_HOST },
};

static const struct {
	const char *name;
	enum lf_var var;
} lf_own[] = {
	{ "engine", LF_ENGINE }, { "reason", LF_REASON },
};

#define LF_Q	0x1	/* +Q: in double quotes */
#define LF_X	0x2	/* +X: numbers in hexadecimal */
#define LF_E	0x4	/* +E: '"', '\' and ']' escaped */

struct log_fmt_node {
	int is_var;
	enum lf_var var;
	unsigned int flags;
	char *lit;			/* literal text (NUL-terminated) */
	struct log_fmt_node *next;
};

struct log_fmt {
	struct log_fmt_node *head;
};

void
log_fmt_free(struct log_fmt *f)
{
	if (f == NULL)
		return;
	while (f->head != NULL) {
		struct log_fmt_node *n = f->head;

		f->head = n->next;
		free(n->lit);
		free(n);
	}
	free(f);
}

/* {+Q-X...}: the flags, or -1 with the one that is wrong in err. */
static int
lf_flags(const char *s, size_t len, unsigned int *flags, char *err, size_t errlen)
{
	*flags = 0;
	for (size_t i = 0; i < len; i += 2) {
		unsigned int bit;

		if (i + 1 >= len || (s[i] != '+' && s[i] != '-') ||
		    (bit = s[i + 1] == 'Q' ? LF_Q : s[i + 1] == 'X' ? LF_X :
		    s[i + 1] == 'E' ? LF_E : 0) == 0) {
			snprintf(err, errlen, "log-format: unknown flag '%.*s' (expected +Q, +X "
			    "or +E)", (int)(len - i < 2 ? len - i : 2), s + i);
			return -1;
		}
		if (s[i] == '+')
			*flags |= bit;
		else
			*flags &= ~bit;
	}
	return 0;
}

static struct log_fmt_node *
lf_add(struct log_fmt_node ***tail)
{
	struct log_fmt_node *n = calloc(1, sizeof(*n));

	if (n != NULL) {
		**tail = n;
		*tail = &n->next;
	}
	return n;
}

/* One %-variable at *s (after the '%'); advances *s. */
static int
lf_var_at(const char **s, enum lf_var *var, char *err, size_t errlen)
{
	const char *p = *s;

	if (*p == '[') {
		const char *end = strchr(p, ']');

		for (size_t i = 0; end != NULL && i < sizeof(lf_own) / sizeof(*lf_own); i++) {
			if ((size_t)(end - p - 1) == strlen(lf_own[i].name) &&
			    strncmp(p + 1, lf_own[i].name, (size_t)(end - p - 1)) == 0) {
				*var = lf_own[i].var;
				*s = end + 1;
				return 0;
			}
		}
		snprintf(err, errlen, "log-format: unknown variable '%%%.*s' (splicer's own: "
		    "%%[engine], %%[reason]; sample fetches are not supported)",
		    end != NULL ? (int)(end - p + 1) : (int)strlen(p), p);
		return -1;
	}
	size_t n = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_");

	for (size_t i = 0; i < sizeof(lf_names) / sizeof(*lf_names); i++) {
		if (strlen(lf_names[i].name) == n && strncmp(p, lf_names[i].name, n) == 0) {
			*var = lf_names[i].var;
			*s = p + n;
			return 0;
		}
	}
	if (n == 0)
		snprintf(err, errlen, "log-format: '%%' without a variable name (write %%%% for "
		    "a percent sign)");
	else
		snprintf(err, errlen, "log-format: unknown, HTTP-only or unsupported variable "
		    "'%%%.*s'", (int)n, p);
	return -1;
}

int
log_fmt_compile(const char *s, struct log_fmt **out, char *err, size_t errlen)
{
	struct log_fmt *f = calloc(1, sizeof(*f));
	struct log_fmt_node **tail, *n;

	if (f == NULL)
		goto oom;
	tail = &f->head;
	while (*s != '\0') {
		size_t lit = strcspn(s, "%");

		if (lit > 0 || (s[0] == '%' && s[1] == '%')) {
			int pct = lit == 0;

			if ((n = lf_add(&tail)) == NULL || (n->lit = strndup(s, pct ? 1 : lit)) == NULL)
				goto oom;
			s += pct ? 2 : lit;
			continue;
		}
		if ((n = lf_add(&tail)) == NULL)
			goto oom;
		n->is_var = 1;
		s++;
		if (*s == '{') {
			const char *end = strchr(s, '}');

			if (end == NULL) {
				snprintf(err, errlen, "log-format: '{' without '}'");
				goto fail;
			}
			if (lf_flags(s + 1, (size_t)(end - s - 1), &n->flags, err, errlen) == -1)
				goto fail;
			s = end + 1;
		}
		if (lf_var_at(&s, &n->var, err, errlen) == -1)
			goto fail;
	}
	*out = f;
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
fail:
	log_fmt_free(f);
	return -1;
}

/* ---- rendering ---- */

struct lf_out {
	char *buf;
	size_t len, off;
};

static void
lf_put(struct lf_out *o, const char *s, size_t n)
{
	if (o->off + n >= o->len)
		n = o->off + 1 < o->len ? o->len - o->off - 1 : 0;
	memcpy(o->buf + o->off, s, n);
	o->off += n;
	o->buf[o->off] = '\0';
}

static void
lf_str(struct lf_out *o, const char *v, unsigned int flags)
{
	if (v == NULL || *v == '\0')
		v = "-";
	if (flags & LF_Q)
		lf_put(o, "\"", 1);
	for (; *v != '\0'; v++) {
		if ((flags & (LF_Q | LF_E)) && (*v == '"' || *v == '\\' ||
		    ((flags & LF_E) && *v == ']')))
			lf_put(o, "\\", 1);
		lf_put(o, v, 1);
	}
	if (flags & LF_Q)
		lf_put(o, "\"", 1);
}

static void
lf_num(struct lf_out *o, long long v, unsigned int flags)
{
	char b[32];

	if (flags & LF_X)
		snprintf(b, sizeof(b), "%llX", (unsigned long long)v);
	else
		snprintf(b, sizeof(b), "%lld", v);
	if (flags & LF_Q)
		lf_str(o, b, flags);
	else
		lf_put(o, b, strlen(b));
}

/* A socket's own address (local end), for %fi/%fp and %bi/%bp. */
static int
lf_sockname(int fd, struct sockaddr_storage *ss)
{
	socklen_t sl = sizeof(*ss);

	return fd >= 0 && getsockname(fd, (struct sockaddr *)ss, &sl) == 0 ? 0 : -1;
}

/* An address's host part or port, "-" when there is none. */
static void
lf_addr(struct lf_out *o, const struct sockaddr *sa, int port, unsigned int flags)
{
	char host[SOCKADDR_STRLEN];

	if (sa == NULL || (sa->sa_family != AF_INET && sa->sa_family != AF_INET6)) {
		lf_str(o, port ? "-" : sa != NULL && sa->sa_family == AF_UNIX ? "unix" : "-", flags);
		return;
	}
	if (port) {
		lf_num(o, sockaddr_port(sa), flags);
		return;
	}
	if (inet_ntop(sa->sa_family, sa->sa_family == AF_INET ?
	    (const void *)&((const struct sockaddr_in *)sa)->sin_addr :
	    (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr, host, sizeof(host)) == NULL)
		snprintf(host, sizeof(host), "-");
	lf_str(o, host, flags);
}

/* %t (local, with ms), %T (GMT, with the zone) or %Tl (local, with the
 * zone: gmt == 2) of the accept date. */
static void
lf_date(struct lf_out *o, const struct timeval *tv, int gmt, unsigned int flags)
{
	static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
	    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	char b[64];
	struct tm tm;

	if (gmt == 1)
		gmtime_r(&tv->tv_sec, &tm);
	else
		localtime_r(&tv->tv_sec, &tm);
	if (gmt) {
		char zone[8] = "+0000";

		if (gmt == 2)
			strftime(zone, sizeof(zone), "%z", &tm);
		snprintf(b, sizeof(b), "%02d/%s/%04d:%02d:%02d:%02d %s", tm.tm_mday,
		    mon[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec, zone);
	} else {
		snprintf(b, sizeof(b), "%02d/%s/%04d:%02d:%02d:%02d.%03d", tm.tm_mday,
		    mon[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
		    (int)(tv->tv_usec / 1000));
	}
	lf_str(o, b, flags);
}

/* The address variables. */
static void
lf_render_addr(struct lf_out *o, const struct log_fmt_node *n, const struct log_tcp *t)
{
	struct sockaddr_storage ss;
	int port = n->var == LF_CP || n->var == LF_FP || n->var == LF_BP || n->var == LF_SP;

	switch (n->var) {
	case LF_CI:
	case LF_CP:
		lf_addr(o, t->cli, port, n->flags);
		break;
	case LF_FI:
	case LF_FP:
		lf_addr(o, lf_sockname(t->cfd, &ss) == 0 ? (struct sockaddr *)&ss : NULL, port,
		    n->flags);
		break;
	case LF_BI:
	case LF_BP:
		lf_addr(o, lf_sockname(t->sfd, &ss) == 0 ? (struct sockaddr *)&ss : NULL, port,
		    n->flags);
		break;
	default:
		lf_addr(o, t->srv_addr, port, n->flags);
		break;
	}
}

static void
lf_render_var(struct lf_out *o, const struct log_fmt_node *n, const char *fe,
    const struct log_tcp *t)
{
	char host[256];
	unsigned int fl = n->flags;

	switch (n->var) {
	case LF_CI: case LF_CP: case LF_FI: case LF_FP:
	case LF_BI: case LF_BP: case LF_SI: case LF_SP:
		lf_render_addr(o, n, t);
		break;
	case LF_T_LOCAL: case LF_TR: lf_date(o, &t->accept_date, 0, fl); break;
	case LF_T_GMT: lf_date(o, &t->accept_date, 1, fl); break;
	case LF_T_LOCALZ: lf_date(o, &t->accept_date, 2, fl); break;
	case LF_TS: lf_num(o, (long long)t->accept_date.tv_sec, fl); break;
	case LF_MS: lf_num(o, (long long)(t->accept_date.tv_usec / 1000), fl); break;
	case LF_TW: lf_num(o, t->tw, fl); break;
	case LF_TC: lf_num(o, t->tc, fl); break;
	case LF_TT: case LF_TA: lf_num(o, t->tt, fl); break;
	case LF_B: lf_num(o, (long long)t->bytes_down, fl); break;
	case LF_U: lf_num(o, (long long)t->bytes_up, fl); break;
	case LF_STATE: lf_str(o, t->term, fl); break;
	case LF_AC: lf_num(o, t->actconn, fl); break;
	case LF_FC: lf_num(o, t->feconn, fl); break;
	case LF_BC: lf_num(o, t->beconn, fl); break;
	case LF_SC: lf_num(o, t->srv_conn, fl); break;
	case LF_RC: lf_num(o, t->retries, fl); break;
	case LF_SQ: lf_num(o, t->srv_queue, fl); break;
	case LF_BQ: lf_num(o, t->queue, fl); break;
	case LF_FT: case LF_F: lf_str(o, fe, fl); break;
	case LF_BNAME: lf_str(o, t->backend != NULL ? t->backend : fe, fl); break;
	case LF_SNAME: lf_str(o, t->server != NULL ? t->server : "<NOSRV>", fl); break;
	case LF_ID: lf_num(o, t->id, fl); break;
	case LF_PID: lf_num(o, (long long)getpid(), fl); break;
	case LF_HOST:
		if (gethostname(host, sizeof(host) - 1) != 0)
			snprintf(host, sizeof(host), "-");
		host[sizeof(host) - 1] = '\0';
		lf_str(o, host, fl);
		break;
	case LF_ENGINE: lf_str(o, t->engine, fl); break;
	case LF_REASON: lf_str(o, t->reason, fl); break;
	}
}

size_t
log_fmt_render(const struct log_fmt *f, const char *fe, const struct log_tcp *t, char *buf,
    size_t len)
{
	struct lf_out o = { buf, len, 0 };

	if (len == 0)
		return 0;
	buf[0] = '\0';
	for (const struct log_fmt_node *n = f->head; n != NULL; n = n->next) {
		if (n->is_var)
			lf_render_var(&o, n, fe, t);
		else
			lf_put(&o, n->lit, strlen(n->lit));
	}
	return o.off;
}
