/*
 * log_format: HAProxy's "log-format" for a TCP session's line. A format
 * is compiled once (conf) and rendered at each session's end (log.c).
 *
 * Variables: %ci %cp client, %fi %fp frontend (the address it accepted
 * on), %bi %bp splicer's side toward the server, %si %sp server; %t %tr
 * accept date (local, ms), %T (GMT), %Tl (local, zone), %Ts (epoch s), %ms; %Tw %Tc %Tt
 * (%Ta = %Tt) ms queued, connecting, in all; %B bytes to the client, %U
 * to the server; %ts termination state; %ac %fc %bc %sc %rc connections
 * and retries; %sq %bq queues; %ft %f frontend, %b backend, %s server;
 * %ID splicer's session id; %pid; %H host name. splicer's own:
 * %[engine], %[reason]. Flags before a name: %{+Q} quotes (and escapes
 * '"' and '\'), %{+X} hexadecimal numbers, %{+E} escapes '"', '\', ']'.
 * %% is a '%'.
 */
#ifndef SPLICER_LOG_FORMAT_H
#define SPLICER_LOG_FORMAT_H

#include <stddef.h>

struct log_fmt;
struct log_tcp;

/* 0, or -1 with a sentence naming the wrong variable or flag in err. */
int log_fmt_compile(const char *s, struct log_fmt **out, char *err, size_t errlen);
void log_fmt_free(struct log_fmt *f);

/* The line for a session of frontend fe; its length (cut at len - 1). */
size_t log_fmt_render(const struct log_fmt *f, const char *fe, const struct log_tcp *t,
    char *buf, size_t len);

#endif
