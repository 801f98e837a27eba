/*
 * resolvers: servers' names resolved again while running, as HAProxy 2.6
 * does it (configuration.txt 5.3). Every "timeout resolve", each name a
 * server of a resolvers section has is asked of all its nameservers over
 * UDP, on the control thread's event loop (no blocking resolver); the
 * first valid answer counts. A and AAAA answers give the servers of the
 * name (a server line, or every server of a server-template) their
 * addresses, one address a server unless "resolve-opts allow-dup-ip";
 * SRV answers ("_service._proto.name") give each server a target, its
 * port and weight, the target's address from the additional records.
 *
 * A server left without an address (fewer answers than servers, an
 * address gone for "hold obsolete", an error answer or no answer for
 * "hold nx|refused|timeout|other" since the last valid one) goes into
 * maintenance, "MAINT (resolution)" in show stat; a new answer brings it
 * back. Sessions already connected are never touched. Bad answers
 * (another id, another question, truncated, malformed, larger than
 * accepted_payload_size) are logged and counted as HAProxy counts them.
 */
#ifndef SPLICER_RESOLVERS_H
#define SPLICER_RESOLVERS_H

#include <event2/event.h>

#include "conf.h"

/* Start resolving the servers of c that have "resolvers" on base: 0, or
 * -1 when a nameserver's socket cannot be made. */
int resolvers_start(struct event_base *base, struct conf *c);

/* Stop (reload, exit): the servers keep the addresses they have. */
void resolvers_stop(void);

#endif
