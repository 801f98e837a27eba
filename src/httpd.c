/*
 * httpd: see httpd.h. A request is at most 8 KiB of headers and 1 KiB of
 * body, and a client that says nothing for 10 s is dropped: a probe or a
 * scraper needs no more, and nothing else should be talking here.
 */
#include "config.h"

#include <unistd.h>

#include "httpd.h"

struct evhttp *
httpd_start(struct event_base *base, int fd, void (*cb)(struct evhttp_request *, void *),
    void *arg)
{
	struct evhttp *http = evhttp_new(base);

	if (http == NULL) {
		close(fd);
		return NULL;
	}
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_timeout(http, 10);
	evhttp_set_max_headers_size(http, 8192);
	evhttp_set_max_body_size(http, 1024);
	evhttp_set_gencb(http, cb, arg);
	if (evhttp_accept_socket(http, fd) == -1) {
		evhttp_free(http);
		close(fd);
		return NULL;
	}
	return http;
}

void
httpd_stop(struct evhttp **http, int *fd)
{
	if (*http != NULL)
		evhttp_free(*http);
	*http = NULL;
	if (*fd != -1)
		close(*fd);
	*fd = -1;
}
