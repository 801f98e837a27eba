/*
 * check_agent: the agent's answer (see check_agent.h).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "backend.h"
#include "check_agent.h"
#include "check_rule.h"
#include "conf.h"
#include "log.h"

/* The decimal number that is all of w[0..n) (strtol would read on past a
 * word that ends the answer): 0, or -1 when it is not one. Past max, it is
 * max when clamp is set, else not a number. */
static int
check_agent_num(const char *w, size_t n, long max, int clamp, long *v)
{
	*v = 0;
	if (n == 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (w[i] < '0' || w[i] > '9')
			return -1;
		if (*v > (max - (w[i] - '0')) / 10) {
			if (!clamp)
				return -1;
			*v = max;
		} else {
			*v = *v * 10 + (w[i] - '0');
		}
	}
	return 0;
}

/* One word; 1 understood, 0 not. */
static int
check_agent_word(const char *w, size_t n, struct check_agent_reply *r)
{
	static const char *const downs[] = { "down", "fail", "stopped" };
	static const char *const admins[] = {
		[CONF_ADM_READY] = "ready", [CONF_ADM_DRAIN] = "drain", [CONF_ADM_MAINT] = "maint",
	};
	long v;

	if (n > 1 && w[n - 1] == '%') {
		if (check_agent_num(w, n - 1, 25600, 0, &v) == -1)
			return 0;
		r->weight_pct = (int)v;
		return 1;
	}
	if (n > 8 && strncasecmp(w, "maxconn:", 8) == 0) {
		if (check_agent_num(w + 8, n - 8, CONF_MAXCONN_MAX, 1, &v) == -1)
			return 0;
		r->maxconn = v;
		return 1;
	}
	if (n == 2 && strncasecmp(w, "up", 2) == 0) {
		r->down = 0;
		return 1;
	}
	for (size_t i = 0; i < sizeof(downs) / sizeof(*downs); i++) {
		if (n == strlen(downs[i]) && strncasecmp(w, downs[i], n) == 0) {
			r->down = 1;
			snprintf(r->word, sizeof(r->word), "%s", downs[i]);
			return 1;
		}
	}
	for (size_t i = 0; i < sizeof(admins) / sizeof(*admins); i++) {
		if (n == strlen(admins[i]) && strncasecmp(w, admins[i], n) == 0) {
			r->admin = (int)i;
			return 1;
		}
	}
	return 0;
}

int
check_agent_parse(const char *buf, size_t len, struct check_agent_reply *r, char *bad,
    size_t badlen)
{
	size_t i = 0, end = 0;
	int n = 0, unknown = 0;

	r->down = r->admin = r->weight_pct = -1;
	r->maxconn = -1;
	r->word[0] = r->desc[0] = '\0';
	bad[0] = '\0';
	while (end < len && buf[end] != '\r' && buf[end] != '\n' && buf[end] != '\0')
		end++;
	while (i < end) {
		size_t s;

		while (i < end && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == ','))
			i++;
		if (i < end && buf[i] == '#') {
			/* A description, for "down #reason" and the like. */
			size_t d = i + 1;

			while (d < end && buf[d] == ' ')
				d++;
			snprintf(r->desc, sizeof(r->desc), "%.*s", (int)(end - d), buf + d);
			break;
		}
		for (s = i; i < end && buf[i] != ' ' && buf[i] != '\t' && buf[i] != ',' &&
		    buf[i] != '#'; i++)
			;
		if (i == s)
			continue;
		if (check_agent_word(buf + s, i - s, r)) {
			n++;
		} else if (!unknown++) {
			snprintf(bad, badlen, "%.*s", (int)(i - s < 40 ? i - s : 40), buf + s);
		}
	}
	return unknown ? -1 : n;
}

void
check_agent_apply(struct conf_proxy *be, struct conf_server *srv, const struct check_result *res)
{
	struct check_agent_reply r;
	char bad[48];

	if (!res->ok) {
		log_debug("agent check of %s/%s: %s %s", be->name, srv->name, res->reason, res->info);
		return;
	}
	if (check_agent_parse(res->answer, res->answer_len, &r, bad, sizeof(bad)) < 0)
		log_warning("Agent check for server %s/%s: unknown word '%s' ignored", be->name,
		    srv->name, bad);
	if (r.down >= 0 && r.down != srv->agent_down)
		log_warning("Agent check for server %s/%s: %s%s%s%s", be->name, srv->name,
		    r.down ? "DOWN, the agent says " : "UP, the agent says up",
		    r.down ? r.word : "", r.desc[0] ? " # " : "", r.desc);
	if (r.admin >= 0 && r.admin != (int)srv->agent_admin)
		log_warning("Agent check for server %s/%s: the agent sets %s", be->name, srv->name,
		    r.admin == CONF_ADM_MAINT ? "maint" : r.admin == CONF_ADM_DRAIN ? "drain" :
		    "ready");
	backend_set_agent(be, srv, r.down, r.admin);
	if (r.weight_pct >= 0) {
		unsigned long w = (unsigned long)srv->weight * (unsigned long)r.weight_pct / 100;

		if (w > 256)
			w = 256;
		if (w != srv->cur_weight) {
			log_notice("Agent check for server %s/%s: weight %lu (%d%% of %u)", be->name,
			    srv->name, w, r.weight_pct, srv->weight);
			backend_set_weight(be, srv, (unsigned int)w);
		}
	}
	if (r.maxconn >= 0 && (unsigned long)r.maxconn != srv->maxconn) {
		log_notice("Agent check for server %s/%s: maxconn %ld", be->name, srv->name, r.maxconn);
		backend_set_maxconn(be, srv, r.maxconn > CONF_MAXCONN_MAX ? CONF_MAXCONN_MAX :
		    (unsigned int)r.maxconn);
	}
}
