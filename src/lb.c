/*
 * lb: the table from "balance" names to algorithms.
 */
#include "config.h"

#include "lb.h"

const struct lb_ops *
lb_for(enum conf_balance algo)
{
	switch (algo) {
	case CONF_LB_STATIC_RR:	return &lb_static_rr_ops;
	case CONF_LB_LEASTCONN:	return &lb_leastconn_ops;
	case CONF_LB_FIRST:	return &lb_first_ops;
	case CONF_LB_SOURCE:	return &lb_source_ops;
	case CONF_LB_RANDOM:	return &lb_random_ops;
	case CONF_LB_ROUNDROBIN:
	default:		return &lb_roundrobin_ops;
	}
}
