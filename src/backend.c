/*
 * backend: round-robin over the servers in file order.
 */
#include "config.h"

#include "backend.h"

struct conf_server *
backend_pick(struct conf_proxy *be)
{
	struct conf_server *s;
	unsigned int i;

	if (be == NULL || be->nservers == 0)
		return NULL;
	i = be->rr_next++ % be->nservers;
	for (s = be->servers; i > 0; i--)
		s = s->next;
	return s;
}
