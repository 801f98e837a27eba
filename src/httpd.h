/*
 * httpd: the control thread's small HTTP endpoints (metrics.c, probe.c, statspage.c)
 * set up one way: GET and HEAD only, short timeouts, small requests.
 */
#ifndef SPLICER_HTTPD_H
#define SPLICER_HTTPD_H

#include <event2/event.h>
#include <event2/http.h>

/* Serve fd (a listening socket, owned by the evhttp from now on) on base,
 * every request to cb (with arg). Returns the evhttp, or NULL (fd is then closed). */
struct evhttp *httpd_start(struct event_base *base, int fd,
    void (*cb)(struct evhttp_request *, void *), void *arg);

/* Free what httpd_start made, and *fd if still open; both reset. */
void httpd_stop(struct evhttp **http, int *fd);

#endif
