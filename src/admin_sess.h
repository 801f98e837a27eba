/*
 * admin_sess: the admin commands about sessions (show sess, shutdown,
 * pause, resume, bandwidth limits), apart from the socket and the other
 * commands (admin.c). Control thread only.
 */
#ifndef SPLICER_ADMIN_SESS_H
#define SPLICER_ADMIN_SESS_H

#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>

#include "conf.h"
#include "session.h"

/* Commands: argv holds their arguments; answers go to out. */
void admin_sess_show(char **argv, struct evbuffer *out);	/* the head only */
void admin_sess_shutdown(char **argv, struct evbuffer *out);
void admin_sess_pause(char **argv, struct evbuffer *out);
void admin_sess_resume(char **argv, struct evbuffer *out);
void admin_sess_shutdown_server(char **argv, struct evbuffer *out);
/* End every session of backend/server now (on-marked-down
 * shutdown-sessions), or with server NULL those of every backup server of
 * backend, in the same one walk (on-marked-up shutdown-backup-sessions);
 * returns how many were found. */
unsigned int admin_sess_kill_server(const char *backend, const char *server);
void admin_sess_bw(char **argv, struct evbuffer *out);
void admin_sess_bw_frontend(char **argv, struct evbuffer *out);

/* One "show sess" line for i, appended to the evbuffer arg (session_walk). */
void admin_sess_line(const struct session_info *i, void *arg);

/* What admin.c lends the command files. */
void admin_error(struct evbuffer *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "B/S" split: B into name (len bytes), a pointer to S; -1 with an error
 * answered. */
int admin_split(const char *spec, char *name, size_t len, const char **srv,
    struct evbuffer *out);
/* "B/S" of the current configuration, or NULL with an error answered. */
struct conf_server *admin_server(const char *spec, struct conf_proxy **be, struct evbuffer *out);
/* A frontend of the current configuration, or NULL with an error answered. */
struct conf_proxy *admin_frontend(const char *name, struct evbuffer *out);
/* A decimal number in [min, max], or -1 with an error answered. */
int admin_number(const char *s, const char *what, unsigned long long min,
    unsigned long long max, unsigned long long *v, struct evbuffer *out);

#endif
