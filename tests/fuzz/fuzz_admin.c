/*
 * fuzz_admin: admin socket command lines through admin_exec(), as a
 * client's line reaches it, on a small configuration made fresh for each
 * input (so that one input's "disable server" does not change the next
 * one's answers). Each line of the input is one client's line, at the
 * level its first byte picks. No worker thread runs and no socket is
 * made: commands that walk sessions find none (the walk itself, with the
 * workers parked, is the integration tests' part), and the others change
 * the configuration as they would in the daemon. Beyond not crashing: at
 * level user nothing changes (server states and weights, frontend
 * states, limits and rates), and every answer ends with a newline.
 */
#include "config.h"

#include <string.h>

#include <event2/buffer.h>

#include "admin.h"
#include "conf_check.h"
#include "conf_parse.h"
#include "fuzz.h"
#include "listener.h"
#include "log.h"
#include "shaper.h"

/* Longest line a client may send (admin.c refuses longer ones first). */
#define FUZZ_LINE_MAX 4096

static const char fuzz_conf_text[] =
	"global\n"
	"    maxconn 100\n"
	"frontend fe\n"
	"    bind 127.0.0.1:8000\n"
	"    bandwidth-limit download 100mbps\n"
	"    bandwidth-limit upload 10MB\n"
	"    default_backend be\n"
	"frontend other\n"
	"    bind 127.0.0.1:8001\n"
	"    default_backend be\n"
	"backend be\n"
	"    balance roundrobin\n"
	"    server s1 127.0.0.1:9000\n"
	"    server s2 127.0.0.1:9001 weight 10 check\n"
	"    server s3 [::1]:9002 backup\n";

static void
fuzz_info(struct admin_facts *f)
{
	*f = (struct admin_facts){ .last_reload = "none", .maxconn_max = 100000 };
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/* A target with no descriptor: log lines are formatted, then dropped. */
	static struct conf_log quiet = { .type = CONF_LOG_FILE, .fd = -1 };

	(void)argc;
	(void)argv;
	log_set_global(&quiet);
	/* No socket is bound, so this only sets "show info" and the maxconn bound. */
	if (admin_start(NULL, fuzz_info, 100000) != 0)
		abort();
	return 0;
}

static struct conf *
fuzz_conf(void)
{
	struct conf_msgs errs = { 0 }, warns = { 0 };
	struct conf *c = conf_new();

	FUZZ_ASSERT(c != NULL);
	FUZZ_ASSERT(conf_parse_buffer(c, "admin.cfg", fuzz_conf_text, sizeof(fuzz_conf_text) - 1,
	    &errs, &warns) == 0);
	FUZZ_ASSERT(conf_check(c, 0, &errs, &warns) == 0);
	conf_msgs_free(&errs);
	conf_msgs_free(&warns);
	return c;
}

/* What a user-level client must not change, summed into one number
 * (each field weighted, so that two changes do not cancel out). */
static uint64_t
fuzz_state(const struct conf *c)
{
	uint64_t sum = listener_maxconn(), k = 1;

	for (const struct conf_proxy *px = c->proxies; px != NULL; px = px->next) {
		sum += k++ * px->stopped;
		sum += k++ * px->maxconn;
		for (const struct conf_server *s = px->servers; s != NULL; s = s->next) {
			sum += k++ * s->state;
			sum += k++ * s->cur_weight;
		}
		for (const struct shaper_group *g = px->shapers; g != NULL; g = g->next)
			sum += k++ * g->lim.rate;
	}
	return sum;
}

/* Run one line at level; check the answer's shape. */
static void
fuzz_line(char *line, enum conf_level level)
{
	struct evbuffer *out = evbuffer_new();
	size_t n;
	char *text;

	FUZZ_ASSERT(out != NULL);
	admin_exec(line, level, out);
	n = evbuffer_get_length(out);
	text = (char *)evbuffer_pullup(out, -1);
	FUZZ_ASSERT(n == 0 || text[n - 1] == '\n');
	evbuffer_free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf *c;
	enum conf_level level;
	uint64_t before;
	char *text;

	/* The socket layer refuses a NUL byte before any command runs. */
	if (size < 1 || memchr(data, '\0', size) != NULL)
		return 0;
	level = (enum conf_level)(data[0] % 3);
	c = fuzz_conf();
	conf_set_current(c);
	before = fuzz_state(c);
	text = fuzz_strndup(data + 1, size - 1);
	for (char *line = text, *nl; line != NULL; line = nl) {
		if ((nl = strchr(line, '\n')) != NULL)
			*nl++ = '\0';
		if (strlen(line) <= FUZZ_LINE_MAX)
			fuzz_line(line, level);
	}
	free(text);
	if (level == CONF_LEVEL_USER)
		FUZZ_ASSERT(fuzz_state(c) == before);
	conf_retire(c);
	FUZZ_ASSERT(conf_current() == NULL);
	return 0;
}
