/*
 * admin_table: show table, clear table. See admin_table.h.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "admin_sess.h"
#include "admin_table.h"
#include "clock.h"
#include "conf.h"
#include "conf_stick.h"
#include "stick.h"

static void
admin_table_line(const char *line, void *arg)
{
	evbuffer_add_printf(arg, "%s\n", line);
}

/* The table argv[0] names and its filters from argv[1] on; NULL with an
 * error answered. */
static struct stick_table *
admin_table_args(char **argv, struct stick_filter *f, struct evbuffer *out)
{
	struct stick_table *t = conf_stick_find(conf_current(), argv[0]);
	char err[256];
	int argc = 0;

	if (t == NULL) {
		admin_error(out, "no stick-table named '%s'", argv[0]);
		return NULL;
	}
	while (argv[1 + argc] != NULL)
		argc++;
	if (stick_filter_parse(t, argc, argv + 1, f, err, sizeof(err)) == -1) {
		admin_error(out, "%s", err);
		return NULL;
	}
	return t;
}

void
admin_table_show(char **argv, struct evbuffer *out)
{
	uint64_t now = clock_now_us();
	struct stick_filter f;
	struct stick_table *t;
	char hdr[512];

	if (argv[0] == NULL) {
		for (struct conf_proxy *px = conf_current()->proxies; px != NULL; px = px->next) {
			if (px->table == NULL)
				continue;
			stick_header(px->table, now, hdr, sizeof(hdr));
			evbuffer_add_printf(out, "%s\n", hdr);
		}
		return;
	}
	if ((t = admin_table_args(argv, &f, out)) == NULL)
		return;
	stick_header(t, now, hdr, sizeof(hdr));
	evbuffer_add_printf(out, "%s\n", hdr);
	stick_dump(t, &f, now, admin_table_line, out);
}

void
admin_table_clear(char **argv, struct evbuffer *out)
{
	struct stick_filter f;
	struct stick_table *t;

	if (argv[0] == NULL) {
		admin_error(out, "'clear table' expects a table name");
		return;
	}
	if ((t = admin_table_args(argv, &f, out)) != NULL)
		stick_clear(t, &f, clock_now_us());
}
