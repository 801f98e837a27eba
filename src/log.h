/*
 * log: process messages and per-session traffic lines, sent to the
 * targets of the configuration (stderr, stdout, a file, a syslog unix
 * socket, or syslog over UDP). Before targets are opened, and when the
 * global section names none, process messages go to stderr.
 *
 * Every byte a peer could influence is escaped: a line only ever holds
 * bytes 32..126.
 */
#ifndef SPLICER_LOG_H
#define SPLICER_LOG_H

#include <stdarg.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <syslog.h>

#include "conf.h"

/* Set up stderr logging; debug != 0 also prints LOG_DEBUG messages. */
void log_init(int debug);

/*
 * Open every target of the list (files appended, sockets connected).
 * Returns 0, or -1 with a sentence in err naming the target.
 */
int log_open(struct conf_log *targets, char *err, size_t errlen);
void log_close(struct conf_log *targets);

/* Send process messages to these targets from now on (NULL: stderr). */
void log_set_global(struct conf_log *targets);

/* A process message at a syslog level. */
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...)   log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)    log_msg(LOG_INFO, __VA_ARGS__)
#define log_notice(...)  log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_err(...)     log_msg(LOG_ERR, __VA_ARGS__)
#define log_alert(...)   log_msg(LOG_ALERT, __VA_ARGS__)

/* Is debug output on (splicer -d)? */
int log_is_debug(void);

/* Does a traffic line of px go anywhere? (Spares the work of building
 * one that would be dropped.) */
int log_traffic_wanted(const struct conf_proxy *px);

/* A traffic line for a proxy: to its own targets and, with "log global",
 * to the global ones. */
void log_traffic(const struct conf_proxy *px, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Longest reason a session gives for its end, in bytes with the NUL. */
#define LOG_REASON_MAX 160

/* What a tcplog line says of one session (HAProxy's "option tcplog"). */
struct log_tcp {
	const struct sockaddr *cli;	/* the client (from its PROXY header if any) */
	struct timeval accept_date;	/* wall clock at accept */
	const char *backend;		/* NULL before one was chosen */
	const char *server;		/* NULL before one was chosen */
	long long tw, tc, tt;		/* ms queued, connecting, in all; -1 = never */
	uint64_t bytes_down, bytes_up;	/* server -> client, client -> server */
	const char *term;		/* two letters, "--" when normal */
	unsigned int actconn, feconn, beconn, srv_conn;	/* sessions at the end */
	unsigned int retries;		/* connect tries after the first */
	unsigned int srv_queue;		/* its server's own queue then */
	unsigned int queue;		/* the backend's queue then */
	const char *engine;		/* "splice", "splice/sockmap", "-" */
	const char *reason;		/* why it ended, in words (escaped here) */
	/* for log-format only */
	unsigned int id;		/* splicer's session id (%ID) */
	int cfd, sfd;			/* the sockets, -1 when closed (%fi, %bi ...) */
	const struct sockaddr *srv_addr; /* the server's address, or NULL (%si %sp) */
};

/* Is a tcplog line of fe wanted for a session that moved bytes (both
 * ways) and was established or not? Without "option tcplog" the accept
 * line was the log; "option dontlognull" drops established sessions
 * that moved nothing. */
int log_tcplog_wanted(const struct conf_proxy *fe, uint64_t bytes, int established);

/* The tcplog line of a session of fe. */
void log_tcplog(const struct conf_proxy *fe, const struct log_tcp *t);

/* Copy src into dst escaping every byte outside 32..126 (and '"', '\\')
 * as \xHH. Returns dst. */
char *log_escape(const char *src, char *dst, size_t len);

#endif
