/*
 * splicerctl top: a live view of the stats file (stats_file.h), redrawn
 * every second in 80x24: the process, frontends, servers and the busiest
 * sessions. Reads the mapping only: no syscall per figure.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "splicerctl.h"
#include "stats_file.h"

#define TOP_ROWS	24
#define TOP_COLS	80
#define TOP_MAX_PX	256	/* rates are kept for this many proxies and servers */

struct top {
	const char *path;
	int fd;
	const char *map;
	size_t len;
	struct stats_header h;
	/* The previous frame's byte counts, for rates. */
	uint64_t prev_ms;
	uint64_t px_prev[TOP_MAX_PX][2], srv_prev[TOP_MAX_PX][2];
};

static struct termios top_saved;
static int top_raw;

static void
top_restore(void)
{
	if (top_raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &top_saved);
	top_raw = 0;
}

static void
top_on_signal(int sig)
{
	top_restore();
	signal(sig, SIG_DFL);
	raise(sig);
}

static int
top_map(struct top *t)
{
	struct stat st;
	const struct stats_header *h;

	if (t->map != NULL)
		munmap((void *)t->map, t->len);
	t->map = NULL;
	if (fstat(t->fd, &st) == -1)
		return -1;
	if ((size_t)st.st_size < sizeof(uint64_t) + sizeof(uint32_t)) {
		fprintf(stderr, "splicerctl: %s is not a splicer stats file (too short)\n", t->path);
		return -1;
	}
	t->len = (size_t)st.st_size;
	if ((t->map = mmap(NULL, t->len, PROT_READ, MAP_SHARED, t->fd, 0)) == MAP_FAILED) {
		t->map = NULL;
		fprintf(stderr, "splicerctl: mapping %s: %s\n", t->path, strerror(errno));
		return -1;
	}
	h = (const struct stats_header *)t->map;
	if (h->magic != STATS_FILE_MAGIC) {
		fprintf(stderr, "splicerctl: %s is not a splicer stats file\n", t->path);
		return -1;
	}
	if (h->version != STATS_FILE_VERSION) {
		fprintf(stderr, "splicerctl: %s has layout version %u; this splicerctl reads "
		    "version %d (use the splicerctl of the running splicer)\n", t->path,
		    h->version, STATS_FILE_VERSION);
		return -1;
	}
	if (t->len < sizeof(*h) || h->header_size != sizeof(*h) ||
	    h->proxy_size != sizeof(struct stats_proxy) ||
	    h->server_size != sizeof(struct stats_server) ||
	    h->thread_size != sizeof(struct stats_thread) ||
	    h->session_size != sizeof(struct stats_session)) {
		fprintf(stderr, "splicerctl: %s: record sizes differ from this splicerctl's "
		    "(another build of version %d)\n", t->path, STATS_FILE_VERSION);
		return -1;
	}
	return 0;
}

/* A whole header: layout and figures both unchanged while it was copied.
 * 1: the file grew, map again. */
static int
top_header(struct top *t)
{
	const struct stats_header *h = (const struct stats_header *)t->map;

	for (int tries = 0; tries < 1000; tries++) {
		uint32_t l1 = __atomic_load_n(&h->layout_seq, __ATOMIC_ACQUIRE);
		uint32_t s1 = __atomic_load_n(&h->seq, __ATOMIC_ACQUIRE);

		if ((l1 | s1) & 1)
			continue;
		memcpy(&t->h, h, sizeof(t->h));
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (l1 != __atomic_load_n(&h->layout_seq, __ATOMIC_RELAXED) ||
		    s1 != __atomic_load_n(&h->seq, __ATOMIC_RELAXED))
			continue;
		return t->h.file_size > t->len ? 1 : 0;
	}
	return -1;
}

/* "12.3M": a rate in bits per second, short. */
static const char *
top_si(double v, char *buf, size_t len)
{
	static const char units[] = " kMGTP";
	int u = 0;

	while (v >= 1000 && u < 5) {
		v /= 1000;
		u++;
	}
	snprintf(buf, len, u == 0 ? "%.0f" : "%.1f%c", v, units[u]);
	return buf;
}

/* The rate of a byte count since the last frame, in bits/s, written into
 * buf; prev (may be NULL: no rate) gets the new count. */
static const char *
top_rate(const uint64_t *cur, uint64_t *prev, uint64_t dt_ms, char *buf, size_t len)
{
	double bps = prev != NULL && dt_ms != 0 ? (*cur - *prev) * 8000.0 / dt_ms : 0;

	if (prev != NULL)
		*prev = *cur;
	return top_si(bps, buf, len);
}

static const char *
top_state(uint32_t s)
{
	static const char *const names[] = { "UP", "DOWN", "DRAIN", "MAINT" };

	return s < 4 ? names[s] : "?";
}

static int
top_frame(struct top *t, FILE *out)
{
	char a[16], b[16], c[16];
	int rows = 0, rc;
	uint64_t now_ms, dt;
	struct timespec ts;

	while ((rc = top_header(t)) == 1) {
		if (top_map(t) == -1)
			return -1;
	}
	if (rc == -1) {
		fprintf(stderr, "splicerctl: %s keeps changing\n", t->path);
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	dt = t->prev_ms != 0 ? now_ms - t->prev_ms : 0;
	t->prev_ms = now_ms;

	fprintf(out, "\033[H\033[2J");
	fprintf(out, "splicer %.16s pid %d  up %" PRIu64 "s  sessions %" PRIu64 "/%" PRIu64
	    "  total %" PRIu64 "  reloads %u  (q quits)\n", t->h.version_str, t->h.pid,
	    (uint64_t)time(NULL) - t->h.started_unix, t->h.sessions_now, t->h.max_sessions,
	    t->h.sessions_total, t->h.reloads);
	fprintf(out, "\n%-24s %-5s %6s %6s %10s %8s %8s\n", "FRONTEND", "STATE", "SESS", "MAX",
	    "TOTAL", "IN b/s", "OUT b/s");
	rows = 3;
	for (uint32_t i = 0; i < t->h.nproxies && rows < 9; i++) {
		struct stats_proxy p;

		if (stats_read_record(t->map + t->h.proxies_off + i * sizeof(p), &p, sizeof(p)) ||
		    !(p.flags & STATS_PX_FRONTEND))
			continue;
		fprintf(out, "%-24.24s %-5s %6" PRIu64 " %6" PRIu64 " %10" PRIu64 " %8s %8s\n",
		    p.name, p.flags & STATS_PX_STOPPED ? "STOP" : "OPEN", p.sessions_now,
		    p.max_sessions, p.sessions_total,
		    top_rate(&p.bytes[0], i < TOP_MAX_PX ? &t->px_prev[i][0] : NULL, dt, a, sizeof(a)),
		    top_rate(&p.bytes[1], i < TOP_MAX_PX ? &t->px_prev[i][1] : NULL, dt, b, sizeof(b)));
		rows++;
	}
	fprintf(out, "\n%-24s %-5s %4s %6s %10s %5s %8s %8s\n", "BACKEND/SERVER", "STATE", "W",
	    "SESS", "TOTAL", "ERR", "IN b/s", "OUT b/s");
	rows += 2;
	for (uint32_t i = 0; i < t->h.nservers && rows < 16; i++) {
		struct stats_server s;
		char name[2 * STATS_NAME_MAX + 1];

		if (stats_read_record(t->map + t->h.servers_off + i * sizeof(s), &s, sizeof(s)))
			continue;
		snprintf(name, sizeof(name), "%s/%s", s.backend, s.name);
		fprintf(out, "%-24.24s %-5s %4" PRIu64 " %6" PRIu64 " %10" PRIu64 " %5" PRIu64
		    " %8s %8s\n", name, top_state(s.state), s.weight, s.sessions_now,
		    s.sessions_total, s.connect_errors,
		    top_rate(&s.bytes[0], i < TOP_MAX_PX ? &t->srv_prev[i][0] : NULL, dt, a, sizeof(a)),
		    top_rate(&s.bytes[1], i < TOP_MAX_PX ? &t->srv_prev[i][1] : NULL, dt, b, sizeof(b)));
		rows++;
	}
	fprintf(out, "\n%-7s %-12s %-21s %-9s %6s %8s %8s\n", "SESSION", "FRONTEND", "CLIENT",
	    "ENGINE", "AGE", "UP b/s", "DOWN b/s");
	rows += 2;
	for (uint32_t i = 0; i < t->h.nsessions && rows < TOP_ROWS - 1; i++) {
		struct stats_session s;

		if (stats_read_record(t->map + t->h.sessions_off + i * sizeof(s), &s, sizeof(s)) ||
		    s.id == 0)
			continue;
		fprintf(out, "%-7u %-12.12s %-21.21s %-9.9s %5" PRIu64 "s %8s %8s\n", s.id,
		    s.frontend, s.client, s.engine, s.age_ms / 1000,
		    top_si((double)s.bps[0], a, sizeof(a)), top_si((double)s.bps[1], c, sizeof(c)));
		rows++;
	}
	fflush(out);
	return 0;
}

int
ctl_top(const char *path, int frames)
{
	static struct top t;
	struct pollfd in = { .fd = STDIN_FILENO, .events = POLLIN };
	int rc = 0;

	t.path = path;
	if ((t.fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		fprintf(stderr, "splicerctl: cannot open the stats file %s: %s\n", path,
		    strerror(errno));
		return 2;
	}
	if (top_map(&t) == -1)
		return 2;
	if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &top_saved) == 0) {
		struct termios raw = top_saved;

		raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		raw.c_cc[VMIN] = 0;
		raw.c_cc[VTIME] = 0;
		if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0) {
			top_raw = 1;
			atexit(top_restore);
			signal(SIGINT, top_on_signal);
			signal(SIGTERM, top_on_signal);
		}
	}
	for (int n = 0; frames == 0 || n < frames; n++) {
		char ch;

		if (top_frame(&t, stdout) == -1) {
			rc = 2;
			break;
		}
		if (frames != 0 && n + 1 == frames)
			break;
		if (poll(&in, 1, 1000) == 1) {
			ssize_t r = read(STDIN_FILENO, &ch, 1);

			if (r == 1 && (ch == 'q' || ch == 'Q'))
				break;
			if (r == 0)
				in.fd = -1;	/* no keyboard: run until killed or -n */
		}
	}
	top_restore();
	return rc;
}
