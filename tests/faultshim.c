/*
 * faultshim: an LD_PRELOAD library that makes chosen system calls fail,
 * and shifts CLOCK_REALTIME, so the integration tests can watch splicer
 * meet faults a healthy machine never shows on demand.
 *
 * Rules are lines NAME=VALUE, taken from the environment at start, or,
 * when FAULT_FILE names a file, from that file, re-read whenever it
 * changes (at most every 10 ms), so a test can switch faults on and off
 * under a running process; a missing or empty file means no fault.
 *
 *   FAULT_<CALL>=ERRNO[:every=N][:count=K][:after=A]
 *	CALL is SPLICE, ACCEPT4, PIPE2, SOCKET, CONNECT, SEND, RECV or
 *	MALLOC (malloc, calloc and realloc answer NULL: use ENOMEM; only
 *	in the variant built with -DFAULTSHIM_MALLOC, which a sanitized
 *	build cannot load, its allocator owning every block).
 *	Calls are counted from the moment the rule was read; a call fails
 *	when it is past the first A, its number is a multiple of N (1 if
 *	not given), and fewer than K (unlimited if not given) have failed.
 *	FAULT_SPLICE may add :in (only socket to pipe) or :out (only pipe
 *	to socket), so a test can choose the half of a splice engine it hurts.
 *   FAULT_SHORT=BYTES
 *	recv() (but not MSG_PEEK), send() and splice() move at most BYTES
 *	bytes a call: short reads and writes, as a congested peer gives.
 *	Logged "SHORT n" for the first few calls it shortens.
 *   FAULT_REALTIME_OFFSET=SECONDS
 *	added to CLOCK_REALTIME, gettimeofday() and time(); never to
 *	CLOCK_MONOTONIC.
 *   FAULT_PROC_NET_DELAY_MS=MS
 *	fopen() of /proc/net/tcp or /proc/net/tcp6 first sleeps MS ms: a
 *	machine with many sockets, where reading them takes long (splicer
 *	reads them to find who else owns an address it binds).
 *
 * Each injected failure appends "CALL ERRNO" to the file FAULT_LOG, if
 * set, so a test knows that its fault did happen ("PROC_NET delay" when
 * a delay begins).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

enum { F_SPLICE, F_ACCEPT4, F_PIPE2, F_SOCKET, F_CONNECT, F_SEND, F_RECV, F_MALLOC,
	F_COUNT };

static const char *const fault_names[F_COUNT] = {
	"SPLICE", "ACCEPT4", "PIPE2", "SOCKET", "CONNECT", "SEND", "RECV", "MALLOC",
};

struct fault_rule {
	int err;		/* 0: no fault */
	long every, count, after;
	int dir;		/* splice only: 0 both, 1 in, 2 out */
	long calls, failed;	/* atomic */
};

static struct fault_rule rules[F_COUNT];
static long realtime_offset;
static long proc_net_delay_ms;
static long short_io;		/* FAULT_SHORT: 0, or the most a call moves */
static long short_noted;	/* atomic: "SHORT" lines logged so far */
/* Set while the shim itself runs: what it calls (fopen, dlsym, stdio)
 * may allocate, and those allocations must neither fail nor recurse. */
static __thread int in_shim __attribute__((tls_model("initial-exec")));
static pthread_mutex_t reload_lock = PTHREAD_MUTEX_INITIALIZER;
static int (*real_clock_gettime)(clockid_t, struct timespec *);

static const struct {
	const char *name;
	int value;
} fault_errnos[] = {
	{ "ENOMEM", ENOMEM }, { "ENOBUFS", ENOBUFS }, { "EMFILE", EMFILE },
	{ "ENFILE", ENFILE }, { "EAGAIN", EAGAIN }, { "EINTR", EINTR },
	{ "EPIPE", EPIPE }, { "ECONNRESET", ECONNRESET }, { "ECONNABORTED", ECONNABORTED },
	{ "EPERM", EPERM }, { "ENETUNREACH", ENETUNREACH }, { "EINVAL", EINVAL },
	{ "EIO", EIO }, { "ENOSR", ENOSR },
};

static void *
fault_real(const char *name)
{
	void *p = dlsym(RTLD_NEXT, name);

	if (p == NULL) {
		fprintf(stderr, "faultshim: no %s to wrap\n", name);
		abort();
	}
	return p;
}

static const char *
fault_errno_name(int e)
{
	for (size_t i = 0; i < sizeof(fault_errnos) / sizeof(fault_errnos[0]); i++)
		if (fault_errnos[i].value == e)
			return fault_errnos[i].name;
	return "E?";
}

/* One "FAULT_X=..." line into the rule table; unknown names are an error
 * on stderr, so a misspelt rule does not pass for a test without faults. */
static void
fault_parse_line(char *line)
{
	char *eq = strchr(line, '='), *tok, *save;
	struct fault_rule r = { 0 };
	int i;

	if (eq == NULL || strncmp(line, "FAULT_", 6) != 0)
		return;
	*eq = '\0';
	if (strcmp(line + 6, "REALTIME_OFFSET") == 0) {
		realtime_offset = strtol(eq + 1, NULL, 10);
		return;
	}
	if (strcmp(line + 6, "SHORT") == 0) {
		short_io = strtol(eq + 1, NULL, 10);
		return;
	}
	if (strcmp(line + 6, "PROC_NET_DELAY_MS") == 0) {
		proc_net_delay_ms = strtol(eq + 1, NULL, 10);
		return;
	}
	if (strcmp(line + 6, "FILE") == 0 || strcmp(line + 6, "LOG") == 0)
		return;
	for (i = 0; i < F_COUNT && strcmp(line + 6, fault_names[i]) != 0; i++)
		;
	r.every = 1;
	r.count = -1;
	for (tok = strtok_r(eq + 1, ":", &save); tok != NULL; tok = strtok_r(NULL, ":", &save)) {
		if (strncmp(tok, "every=", 6) == 0)
			r.every = strtol(tok + 6, NULL, 10);
		else if (strncmp(tok, "count=", 6) == 0)
			r.count = strtol(tok + 6, NULL, 10);
		else if (strncmp(tok, "after=", 6) == 0)
			r.after = strtol(tok + 6, NULL, 10);
		else if (strcmp(tok, "in") == 0)
			r.dir = 1;
		else if (strcmp(tok, "out") == 0)
			r.dir = 2;
		else
			for (size_t k = 0; k < sizeof(fault_errnos) / sizeof(fault_errnos[0]); k++)
				if (strcmp(tok, fault_errnos[k].name) == 0)
					r.err = fault_errnos[k].value;
	}
	if (i == F_COUNT || r.err == 0 || r.every < 1) {
		fprintf(stderr, "faultshim: bad rule %s\n", line);
		return;
	}
	rules[i] = r;
}

static void
fault_reset(void)
{
	memset(rules, 0, sizeof(rules));
	realtime_offset = 0;
	proc_net_delay_ms = 0;
	short_io = 0;
}

static void
fault_load_env(void)
{
	extern char **environ;

	for (char **e = environ; *e != NULL; e++) {
		char line[256];

		snprintf(line, sizeof(line), "%s", *e);
		fault_parse_line(line);
	}
}

static void
fault_load_file(const char *path)
{
	char line[256];
	FILE *f;

	fault_reset();
	if ((f = fopen(path, "re")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		fault_parse_line(line);
	}
	fclose(f);
}

/* Re-read FAULT_FILE when it changed; checked at most every 10 ms. */
static void
fault_refresh_rules(void)
{
	static const char *path;
	static int inited;
	static long long next_ns;
	static struct timespec mtime;
	static off_t size = -1;
	struct timespec now;
	struct stat st;

	if (real_clock_gettime == NULL)
		real_clock_gettime = fault_real("clock_gettime");
	if (!__atomic_load_n(&inited, __ATOMIC_ACQUIRE)) {
		pthread_mutex_lock(&reload_lock);
		if (!inited) {
			path = getenv("FAULT_FILE");
			if (path == NULL)
				fault_load_env();
			__atomic_store_n(&inited, 1, __ATOMIC_RELEASE);
		}
		pthread_mutex_unlock(&reload_lock);
	}
	if (path == NULL)
		return;
	real_clock_gettime(CLOCK_MONOTONIC, &now);
	if ((long long)now.tv_sec * 1000000000 + now.tv_nsec < __atomic_load_n(&next_ns,
	    __ATOMIC_RELAXED))
		return;
	pthread_mutex_lock(&reload_lock);
	next_ns = (long long)now.tv_sec * 1000000000 + now.tv_nsec + 10000000;
	if (stat(path, &st) == -1) {
		st.st_size = -1;
		st.st_mtim.tv_sec = 0;
		st.st_mtim.tv_nsec = 0;
	}
	if (st.st_size != size || st.st_mtim.tv_sec != mtime.tv_sec ||
	    st.st_mtim.tv_nsec != mtime.tv_nsec) {
		size = st.st_size;
		mtime = st.st_mtim;
		fault_load_file(path);
	}
	pthread_mutex_unlock(&reload_lock);
}

/* As the shim (in_shim): the fopen() of a re-read allocates, and that
 * allocation must not come back here under reload_lock. */
static void
fault_refresh(void)
{
	int was = in_shim;

	in_shim = 1;
	fault_refresh_rules();
	in_shim = was;
}

static void
fault_note(int which, int e)
{
	const char *path = getenv("FAULT_LOG");
	char line[64];
	int fd, n;

	if (path == NULL || (fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644)) == -1)
		return;
	n = snprintf(line, sizeof(line), "%s %s\n", fault_names[which], fault_errno_name(e));
	if (write(fd, line, (size_t)n) != n)
		(void)0;	/* best effort: the test then sees fewer faults */
	close(fd);
}

static int
fault_hit_rule(int which)
{
	struct fault_rule *r = &rules[which];
	long n;

	fault_refresh();
	if (r->err == 0)
		return 0;
	n = __atomic_add_fetch(&r->calls, 1, __ATOMIC_RELAXED);
	if (n <= r->after || (n - r->after) % r->every != 0)
		return 0;
	if (r->count >= 0 && __atomic_add_fetch(&r->failed, 1, __ATOMIC_RELAXED) > r->count)
		return 0;
	fault_note(which, r->err);
	return r->err;
}

/* Should this call fail? Sets errno and returns 1 when so. Never from
 * inside the shim itself (its fopen() allocates, its dlsym() may). */
static int
fault_hit(int which)
{
	int e;

	if (in_shim)
		return 0;
	in_shim = 1;
	e = fault_hit_rule(which);
	in_shim = 0;
	if (e == 0)
		return 0;
	errno = e;
	return 1;
}

/* FAULT_SHORT: the length a call of len bytes may move. */
static size_t
fault_short(size_t len)
{
	long cap = __atomic_load_n(&short_io, __ATOMIC_RELAXED);

	if (cap <= 0 || len <= (size_t)cap)
		return len;
	if (__atomic_add_fetch(&short_noted, 1, __ATOMIC_RELAXED) <= 8) {
		const char *path = getenv("FAULT_LOG");
		int fd;

		if (path != NULL && (fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
		    0644)) != -1) {
			char line[32];
			int n = snprintf(line, sizeof(line), "SHORT %ld\n", cap);

			if (write(fd, line, (size_t)n) != n)
				(void)0;	/* best effort, as fault_note() */
			close(fd);
		}
	}
	return (size_t)cap;
}

static int
fault_is_pipe(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode);
}

ssize_t
splice(int fd_in, loff_t *off_in, int fd_out, loff_t *off_out, size_t len, unsigned int flags)
{
	static ssize_t (*real)(int, loff_t *, int, loff_t *, size_t, unsigned int);
	int dir = rules[F_SPLICE].dir;

	if (real == NULL)
		real = fault_real("splice");
	if ((dir == 0 || (dir == 1) == fault_is_pipe(fd_out)) && fault_hit(F_SPLICE))
		return -1;
	return real(fd_in, off_in, fd_out, off_out, fault_short(len), flags);
}

int
accept4(int fd, struct sockaddr *sa, socklen_t *len, int flags)
{
	static int (*real)(int, struct sockaddr *, socklen_t *, int);

	if (real == NULL)
		real = fault_real("accept4");
	if (fault_hit(F_ACCEPT4))
		return -1;
	return real(fd, sa, len, flags);
}

int
pipe2(int fd[2], int flags)
{
	static int (*real)(int[2], int);

	if (real == NULL)
		real = fault_real("pipe2");
	if (fault_hit(F_PIPE2))
		return -1;
	return real(fd, flags);
}

int
socket(int domain, int type, int protocol)
{
	static int (*real)(int, int, int);

	if (real == NULL)
		real = fault_real("socket");
	/* Only TCP sockets: the log and admin sockets are not the data path. */
	if ((domain == AF_INET || domain == AF_INET6) && (type & 0xf) == SOCK_STREAM &&
	    fault_hit(F_SOCKET))
		return -1;
	return real(domain, type, protocol);
}

int
connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	static int (*real)(int, const struct sockaddr *, socklen_t);

	if (real == NULL)
		real = fault_real("connect");
	if ((sa->sa_family == AF_INET || sa->sa_family == AF_INET6) && fault_hit(F_CONNECT))
		return -1;
	return real(fd, sa, len);
}

ssize_t
send(int fd, const void *buf, size_t len, int flags)
{
	static ssize_t (*real)(int, const void *, size_t, int);

	if (real == NULL)
		real = fault_real("send");
	if (fault_hit(F_SEND))
		return -1;
	return real(fd, buf, fault_short(len), flags);
}

ssize_t
recv(int fd, void *buf, size_t len, int flags)
{
	static ssize_t (*real)(int, void *, size_t, int);

	if (real == NULL)
		real = fault_real("recv");
	if (fault_hit(F_RECV))
		return -1;
	/* A peek is never shortened: what was peeked is then read whole, as
	 * the kernel guarantees (the PROXY header reader relies on it). */
	return real(fd, buf, flags & MSG_PEEK ? len : fault_short(len), flags);
}

int
clock_gettime(clockid_t clk, struct timespec *ts)
{
	int rc;

	fault_refresh();
	rc = real_clock_gettime(clk, ts);
	if (rc == 0 && (clk == CLOCK_REALTIME || clk == CLOCK_REALTIME_COARSE))
		ts->tv_sec += realtime_offset;
	return rc;
}

int
gettimeofday(struct timeval *tv, void *tz)
{
	struct timespec ts;

	(void)tz;
	clock_gettime(CLOCK_REALTIME, &ts);
	tv->tv_sec = ts.tv_sec;
	tv->tv_usec = ts.tv_nsec / 1000;
	return 0;
}

time_t
time(time_t *t)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (t != NULL)
		*t = ts.tv_sec;
	return ts.tv_sec;
}

/* The rule file is never under /proc/net, so the refresh below cannot
 * come back here through its own fopen(). */
static void
fault_proc_net_delay(const char *path)
{
	long ms;

	if (strcmp(path, "/proc/net/tcp") != 0 && strcmp(path, "/proc/net/tcp6") != 0)
		return;
	fault_refresh();
	if ((ms = __atomic_load_n(&proc_net_delay_ms, __ATOMIC_RELAXED)) > 0) {
		struct timespec d = { ms / 1000, (ms % 1000) * 1000000L };
		const char *log = getenv("FAULT_LOG");
		int fd;

		/* Said before the sleep, so a test knows the delay is under way. */
		if (log != NULL && (fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
		    0644)) != -1) {
			if (write(fd, "PROC_NET delay\n", 15) != 15)
				(void)0;	/* best effort, as fault_note() */
			close(fd);
		}

		while (nanosleep(&d, &d) == -1 && errno == EINTR)
			;
	}
}

/* fopen() only: splicer is built for 64-bit, where glibc has no separate
 * fopen64() for a program to be redirected to. */
FILE *
fopen(const char *path, const char *mode)
{
	static FILE *(*real)(const char *, const char *);

	if (real == NULL)
		real = fault_real("fopen");
	fault_proc_net_delay(path);
	return real(path, mode);
}

#ifdef FAULTSHIM_MALLOC
/* malloc(), calloc() and realloc() answering NULL (FAULT_MALLOC), through
 * glibc's own allocator otherwise. free() is glibc's: nothing to wrap.
 * The shim's own allocations (in_shim) never fail. */
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);

void *
malloc(size_t size)
{
	return fault_hit(F_MALLOC) ? NULL : __libc_malloc(size);
}

void *
calloc(size_t n, size_t size)
{
	return fault_hit(F_MALLOC) ? NULL : __libc_calloc(n, size);
}

void *
realloc(void *p, size_t size)
{
	return fault_hit(F_MALLOC) ? NULL : __libc_realloc(p, size);
}
#endif /* FAULTSHIM_MALLOC */
