/*
 * log: targets and framing.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "log_format.h"
#include "sockaddr.h"

/* Longest line sent, in bytes; longer ones are cut. */
#define LOG_LINE_MAX 2048

static int log_debug_on;
static struct conf_log *log_global;
static const char *const log_level_names[] = {
	"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
};

void
log_init(int debug)
{
	log_debug_on = debug;
	log_global = NULL;
}

int
log_is_debug(void)
{
	return log_debug_on;
}

static int
log_open_one(struct conf_log *l, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	struct stat st;
	int fd;

	l->fd = -1;
	l->is_socket = 0;
	switch (l->type) {
	case CONF_LOG_STDERR:
		l->fd = STDERR_FILENO;
		return 0;
	case CONF_LOG_STDOUT:
		l->fd = STDOUT_FILENO;
		return 0;
	case CONF_LOG_UDP:
		fd = socket(l->addr.ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd == -1 || connect(fd, (struct sockaddr *)&l->addr.ss, l->addr.len) == -1) {
			snprintf(err, errlen, "log target udp@%s:%u: %s", l->addr.host,
			    l->addr.port, strerror(errno));
			if (fd != -1)
				close(fd);
			return -1;
		}
		l->fd = fd;
		l->is_socket = 1;
		return 0;
	case CONF_LOG_FILE:
	case CONF_LOG_UNIX:
		/* A path that is a socket (/dev/log) gets syslog datagrams;
		 * anything else is a file that lines are appended to. */
		if (l->type == CONF_LOG_UNIX ||
		    (stat(l->path, &st) == 0 && S_ISSOCK(st.st_mode))) {
			if (strlen(l->path) >= sizeof(sun.sun_path)) {
				snprintf(err, errlen, "log target '%s': path too long", l->path);
				return -1;
			}
			memset(&sun, 0, sizeof(sun));
			sun.sun_family = AF_UNIX;
			strcpy(sun.sun_path, l->path);
			fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
			if (fd == -1 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
				snprintf(err, errlen, "log target '%s': %s", l->path, strerror(errno));
				if (fd != -1)
					close(fd);
				return -1;
			}
			l->fd = fd;
			l->is_socket = 1;
			return 0;
		}
		fd = open(l->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
		if (fd == -1) {
			snprintf(err, errlen, "log file '%s': %s", l->path, strerror(errno));
			return -1;
		}
		l->fd = fd;
		return 0;
	}
	return 0;
}

int
log_open(struct conf_log *targets, char *err, size_t errlen)
{
	for (struct conf_log *l = targets; l != NULL; l = l->next) {
		if (log_open_one(l, err, errlen) == -1)
			return -1;
	}
	return 0;
}

void
log_close(struct conf_log *targets)
{
	for (struct conf_log *l = targets; l != NULL; l = l->next) {
		if (l->fd > STDERR_FILENO)
			close(l->fd);
		l->fd = -1;
	}
}

void
log_set_global(struct conf_log *targets)
{
	log_global = targets;
}

char *
log_escape(const char *src, char *dst, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (len == 0)
		return dst;
	for (; *src != '\0' && o + 5 < len; src++) {
		unsigned char c = (unsigned char)*src;

		if (c < 32 || c > 126 || c == '"' || c == '\\') {
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 15];
		} else {
			dst[o++] = (char)c;
		}
	}
	dst[o] = '\0';
	return dst;
}

/* HAProxy's ISO date: 2026-12-02T05:10:42.123456+01:00. */
static void
log_iso_date(char *buf, size_t len, const struct timeval *tv, const struct tm *tm)
{
	char zone[8];

	strftime(zone, sizeof(zone), "%z", tm);		/* +0100 */
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%06ld%.3s:%.2s", tm->tm_year + 1900,
	    tm->tm_mon + 1, tm->tm_mday, tm->tm_hour, tm->tm_min, tm->tm_sec,
	    (long)tv->tv_usec, zone, zone + 3);
}

/* The line of msg in l's format, as HAProxy frames it ("log ... format"). */
static int
log_frame(char *line, size_t len, const struct conf_log *l, int level, const char *msg)
{
	static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
	    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	char iso[80], host[256] = "-", stamp[48];
	const char *nl = l->is_socket ? "" : "\n";
	struct timeval tv;
	struct tm tm;
	int pri = l->facility * 8 + level, pid = (int)getpid();
	enum conf_log_format fmt = l->format;

	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	log_iso_date(iso, sizeof(iso), &tv, &tm);
	snprintf(stamp, sizeof(stamp), "%s %2d %02d:%02d:%02d", mon[tm.tm_mon], tm.tm_mday,
	    tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (fmt == CONF_LOG_FMT_RFC3164 || fmt == CONF_LOG_FMT_RFC5424)
		(void)gethostname(host, sizeof(host) - 1);
	if (fmt == CONF_LOG_FMT_DEFAULT)
		fmt = l->is_socket ? CONF_LOG_FMT_LOCAL : CONF_LOG_FMT_DEFAULT;
	switch (fmt) {
	case CONF_LOG_FMT_RAW:
		return snprintf(line, len, "%s\n", msg);
	case CONF_LOG_FMT_SHORT:	/* the level alone, as HAProxy's */
		return snprintf(line, len, "<%d>%s\n", level, msg);
	case CONF_LOG_FMT_PRIORITY:
		return snprintf(line, len, "<%d>%s\n", pri, msg);
	case CONF_LOG_FMT_TIMED:
		return snprintf(line, len, "<%d>%s %s\n", level, iso, msg);
	case CONF_LOG_FMT_ISO:
		return snprintf(line, len, "%s %s\n", iso, msg);
	case CONF_LOG_FMT_LOCAL:
		return snprintf(line, len, "<%d>%s splicer[%d]: %s%s", pri, stamp, pid, msg, nl);
	case CONF_LOG_FMT_RFC3164:
		return snprintf(line, len, "<%d>%s %s splicer[%d]: %s%s", pri, stamp, host, pid,
		    msg, nl);
	case CONF_LOG_FMT_RFC5424:
		return snprintf(line, len, "<%d>1 %s %s splicer %d - - %s%s", pri, iso, host, pid,
		    msg, nl);
	default:
		return snprintf(line, len, "%s.%03d splicer[%d]: [%s] %s\n", stamp,
		    (int)(tv.tv_usec / 1000), pid, log_level_names[level], msg);
	}
}

/* Frame msg for one target and write it; errors are dropped (a log
 * target that is full must not stall the relay). */
static void
log_emit(const struct conf_log *l, int level, const char *msg)
{
	char line[LOG_LINE_MAX + 512];
	int n;

	if (l->fd == -1 || level > l->level)
		return;
	if ((n = log_frame(line, sizeof(line), l, level, msg)) < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	if (l->is_socket)
		(void)send(l->fd, line, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
	else
		(void)!write(l->fd, line, (size_t)n);
}

/* Format, then escape anything a peer might have slipped in. */
static void
log_format(char *out, size_t len, const char *fmt, va_list ap)
{
	char raw[LOG_LINE_MAX];

	vsnprintf(raw, sizeof(raw), fmt, ap);
	for (char *p = raw; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (c < 32 || c > 126)
			*p = '?';
	}
	snprintf(out, len, "%s", raw);
}

void
log_msg(int level, const char *fmt, ...)
{
	static const struct conf_log errlog = {
		.type = CONF_LOG_STDERR, .fd = STDERR_FILENO, .level = LOG_DEBUG,
	};
	char msg[LOG_LINE_MAX];
	va_list ap;

	if (level == LOG_DEBUG && !log_debug_on)
		return;
	va_start(ap, fmt);
	log_format(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (log_global == NULL || log_debug_on) {
		log_emit(&errlog, level, msg);
		if (log_global == NULL)
			return;
	}
	for (const struct conf_log *l = log_global; l != NULL; l = l->next) {
		/* With -d, stderr already has it. */
		if (log_debug_on && l->type == CONF_LOG_STDERR)
			continue;
		log_emit(l, level, msg);
	}
}

int
log_traffic_wanted(const struct conf_proxy *px)
{
	return px->logs != NULL || (px->log_global && log_global != NULL);
}

void
log_traffic(const struct conf_proxy *px, int level, const char *fmt, ...)
{
	char msg[LOG_LINE_MAX];
	va_list ap;

	if (!log_traffic_wanted(px))
		return;
	va_start(ap, fmt);
	log_format(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	for (const struct conf_log *l = px->logs; l != NULL; l = l->next)
		log_emit(l, level, msg);
	if (px->log_global) {
		for (const struct conf_log *l = log_global; l != NULL; l = l->next)
			log_emit(l, level, msg);
	}
}

int
log_tcplog_wanted(const struct conf_proxy *fe, uint64_t bytes, int established)
{
	if (!log_traffic_wanted(fe))
		return 0;
	if ((fe->opts & CONF_OPT_DONTLOGNULL) && bytes == 0 && established)
		return 0;
	return (fe->opts & CONF_OPT_TCPLOG) != 0 || fe->logfmt != NULL;
}

void
log_tcplog(const struct conf_proxy *fe, const struct log_tcp *t)
{
	static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
	    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	char cli[SOCKADDR_STRLEN], reason[LOG_REASON_MAX * 4 + 1];
	struct tm tm;

	if (fe->logfmt != NULL) {
		char line[LOG_LINE_MAX];

		log_fmt_render(fe->logfmt, fe->name, t, line, sizeof(line));
		log_traffic(fe, LOG_INFO, "%s", line);
		return;
	}
	localtime_r(&t->accept_date.tv_sec, &tm);
	/* HAProxy's fields in its order up to %sq/%bq; then splicer's:
	 * bytes to the server (%U), the engine and the reason. */
	log_traffic(fe, LOG_INFO,
	    "%s [%02d/%s/%04d:%02d:%02d:%02d.%03d] %s %s/%s %lld/%lld/%lld %" PRIu64
	    " %s %u/%u/%u/%u/%u %u/%u %" PRIu64 " %s \"%s\"",
	    sockaddr_print(t->cli, cli, sizeof(cli)),
	    tm.tm_mday, mon[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, (int)(t->accept_date.tv_usec / 1000),
	    fe->name, t->backend != NULL ? t->backend : fe->name,
	    t->server != NULL ? t->server : "<NOSRV>", t->tw, t->tc, t->tt,
	    t->bytes_down, t->term,
	    t->actconn, t->feconn, t->beconn, t->srv_conn, t->retries, t->srv_queue, t->queue,
	    t->bytes_up, t->engine, log_escape(t->reason, reason, sizeof(reason)));
}
