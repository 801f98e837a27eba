/*
 * admin_stat: the figures of the admin socket in HAProxy's forms, and the
 * runtime-API commands about them (see admin_stat.c).
 */
#ifndef SPLICER_ADMIN_STAT_H
#define SPLICER_ADMIN_STAT_H

#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>

/* "show stat", "show info": the plain form (CSV, "Name: value"), "typed"
 * or "json", as HAProxy writes them. */
enum admin_form {
	ADMIN_FORM_TEXT,
	ADMIN_FORM_TYPED,
	ADMIN_FORM_JSON,
};

/* One field of show info: HAProxy's position and name where the meaning
 * is the same, splicer's own after HAProxy's last (71). */
struct admin_info_field {
	unsigned int pos;
	const char *name;
	const char *tags;		/* origin, nature, scope letters */
	const char *type;		/* u32, u64 or str */
	uint64_t u;
	const char *s;			/* a string field's value, else NULL */
};

#define ADMIN_INFO_MAX	96
#define ADMIN_INFO_TEXTS 12

/* What main.c fills for show info. */
struct admin_info {
	struct admin_info_field f[ADMIN_INFO_MAX];
	size_t n;
	char text[ADMIN_INFO_TEXTS][128];	/* room for string values */
	size_t ntext;
};

struct admin_facts;

/* Every field of show info, from the process's facts and the workers'. */
void admin_info_fill(struct admin_info *i, const struct admin_facts *f);

void admin_info_u(struct admin_info *i, unsigned int pos, const char *name, const char *tags,
    const char *type, uint64_t v);
void admin_info_s(struct admin_info *i, unsigned int pos, const char *name, const char *tags,
    const char *v);
void admin_info_write(struct evbuffer *out, enum admin_form form, const struct admin_info *i);

/* A typed or json field (head: "F.iid.sid." for show stat, "" for info;
 * json_head the objType, proxyId and id members, or ""). */
void admin_field_out(struct evbuffer *out, enum admin_form form, const char *head,
    const char *json_head, unsigned int pos, const char *name, const char *tags,
    const char *type, uint64_t u, const char *s, int first);

/* The optional form argument (argv[0], or NULL); -1 with an error naming it. */
int admin_form(char **argv, const char *cmd, enum admin_form *form, struct evbuffer *out);

/* The whole of show stat in a form (the CSV with its head line). */
void admin_stat_write(struct evbuffer *out, enum admin_form form);

/* The commands (argv: their arguments, NULL-terminated). */
void admin_stat_show(char **argv, struct evbuffer *out);
void admin_stat_get_weight(char **argv, struct evbuffer *out);
void admin_stat_set_weight(char **argv, struct evbuffer *out);
void admin_stat_servers_state(char **argv, struct evbuffer *out);
void admin_stat_clear_max(char **argv, struct evbuffer *out);
void admin_stat_clear_all(char **argv, struct evbuffer *out);

#endif
