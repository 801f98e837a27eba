/*
 * admin_table: the admin commands about stick tables, "show table
 * [NAME [data.TYPE OP VALUE ...|key KEY]]" and "clear table NAME
 * [data.TYPE OP VALUE ...|key KEY]", in management.txt's format.
 * Control thread only; each table's lock is held while it is read.
 */
#ifndef SPLICER_ADMIN_TABLE_H
#define SPLICER_ADMIN_TABLE_H

#include <event2/buffer.h>

/* argv: the arguments, NULL-terminated. */
void admin_table_show(char **argv, struct evbuffer *out);
void admin_table_clear(char **argv, struct evbuffer *out);

#endif
