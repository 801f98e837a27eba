/*
 * conf: the configuration tree built by conf_parse.c and checked by
 * conf_check.c. The tree is allocated at parse time and freed as a whole
 * with conf_free(). Run-time objects (listeners, sessions) point into it
 * and never outlive it.
 */
#ifndef SPLICER_CONF_H
#define SPLICER_CONF_H

#include <stdint.h>

#include "sockaddr.h"

struct backend_waiter;
struct check_spec;
struct conf_httpchk;
struct acl;
struct acl_cond;
struct acl_rule;
struct shaper_group;
struct shaper_rule;
struct stick_table;
struct persist_stick;
struct persist_use;
struct persist_if;

/* Data path of a proxy: how its sessions move bytes. */
enum conf_engine {
	CONF_ENGINE_UNSET = 0,	/* inherit: backend, then frontend, then auto */
	CONF_ENGINE_AUTO,	/* splice, promoted to sockmap when built in */
	CONF_ENGINE_SPLICE,	/* socket -> pipe -> socket */
	CONF_ENGINE_COPY,	/* recv/send through a per-session buffer */
	CONF_ENGINE_SOCKMAP,	/* the kernel redirects (BPF sockmap) from the start */
};

/* tune.sockmap.promote-bytes default: engine auto hands a session to the
 * kernel once it has moved this much. */
#define CONF_PROMOTE_BYTES_DEFAULT (1024 * 1024)
/* Largest maxconn accepted: well above any fd limit this kernel allows. */
#define CONF_MAXCONN_MAX 10000000
/* "stats timeout" and "stats maxconn" unless given (HAProxy's: 10s, 10). */
#define CONF_ADMIN_TIMEOUT_DEFAULT (10ULL * 1000000)
#define CONF_ADMIN_MAXCONN_DEFAULT 10
/* tune.sockmap.promote-max-rate default (bits/s): 0, engine auto keeps
 * every session spliced until an operator sets it (1gbps is where the
 * kernel's redirect wins here), while a segment doubled about once in
 * eight runs of a promoted 64 MB echo is not understood (README). */
#define CONF_PROMOTE_MAX_RATE_DEFAULT 0

/* Where a log line goes. */
enum conf_log_type {
	CONF_LOG_STDERR,
	CONF_LOG_STDOUT,
	CONF_LOG_FILE,		/* appended to a path */
	CONF_LOG_UNIX,		/* syslog datagram to a unix socket (/dev/log) */
	CONF_LOG_UDP,		/* syslog datagram over UDP */
};

/* How a log line is framed. */
enum conf_log_format {
	CONF_LOG_FMT_DEFAULT,	/* a file: date [level] message; a socket: local */
	CONF_LOG_FMT_RAW,	/* the message alone */
	CONF_LOG_FMT_RFC3164,	/* <PRI>date host tag[pid]: message */
	CONF_LOG_FMT_SHORT,	/* <LEVEL>message */
	CONF_LOG_FMT_LOCAL,	/* <PRI>date tag[pid]: message (rfc3164 without host) */
	CONF_LOG_FMT_RFC5424,	/* <PRI>1 isodate host tag pid - - message */
	CONF_LOG_FMT_PRIORITY,	/* <PRI>message */
	CONF_LOG_FMT_TIMED,	/* <LEVEL>isodate message */
	CONF_LOG_FMT_ISO,	/* isodate message */
};

struct conf_log {
	enum conf_log_type type;
	enum conf_log_format format;
	char *path;			/* file or unix socket path, else NULL */
	struct sockaddr_spec addr;	/* CONF_LOG_UDP destination */
	int facility;			/* syslog facility number 0..23 */
	int level;			/* highest severity number sent, LOG_EMERG..LOG_DEBUG */
	int fd;				/* run time: open descriptor, -1 when closed */
	int is_socket;			/* run time: fd is a datagram socket (syslog framing) */
	struct conf_log *next;
};

/* Timeouts in microseconds; 0 means not set (no limit). */
struct conf_timeouts {
	uint64_t connect;	/* upstream TCP handshake, per try */
	uint64_t client;	/* client-side inactivity */
	uint64_t server;	/* server-side inactivity */
	uint64_t client_fin;	/* client-side inactivity once half-closed */
	uint64_t server_fin;	/* server-side inactivity once half-closed */
	uint64_t tunnel;	/* inactivity once established, replaces client/server */
	uint64_t lifetime;	/* maximum age of a session (splicer extension) */
	uint64_t queue;		/* wait for a server slot; 0 = timeout connect */
	uint64_t check;		/* bound of a health check; 0 = min(connect, inter) */
};

/* Balancing algorithms ("balance"). */
enum conf_balance {
	CONF_LB_ROUNDROBIN = 0,	/* smooth weighted round-robin, weights dynamic */
	CONF_LB_STATIC_RR,	/* weighted round-robin on the configured weights */
	CONF_LB_LEASTCONN,	/* fewest sessions per unit of weight */
	CONF_LB_FIRST,		/* first server (file order) with a free slot */
	CONF_LB_SOURCE,		/* hash of the client address over the weights */
	CONF_LB_RANDOM,		/* weighted random, best of `draws` draws */
};

/* The state a server is in, derived from those that hold it (backend.h):
 * the admin's, the health checks' and the agent's. */
enum conf_server_state {
	CONF_SRV_UP = 0,	/* takes new sessions */
	CONF_SRV_DOWN,		/* its checks hold it down: no new session */
	CONF_SRV_DRAIN,		/* no new session, current ones go on (admin, a 404) */
	CONF_SRV_MAINT,		/* maintenance ("disabled", admin): no new session */
};

/* What the admin set: "disabled", "disable server", "set server state". */
enum conf_server_admin {
	CONF_ADM_READY = 0,
	CONF_ADM_DRAIN,
	CONF_ADM_MAINT,
};

/* A server's name resolution (conf_resolvers.c): "resolvers",
 * "resolve-prefer", "resolve-opts", "init-addr", "server-template". */
enum { CONF_INIT_END = 0, CONF_INIT_LAST, CONF_INIT_LIBC, CONF_INIT_NONE, CONF_INIT_IP };
#define CONF_INIT_MAX		4
#define CONF_RSOPT_ALLOW_DUP_IP	0x1	/* "resolve-opts allow-dup-ip" */
#define CONF_RSOPT_IGNORE_WEIGHT 0x2	/* "resolve-opts ignore-weight" (SRV) */

struct conf_resolvers;

struct conf_srv_dns {
	char resolvers[64];		/* "resolvers NAME", "" when none */
	struct conf_resolvers *rs;	/* ... found by conf_check */
	int prefer;			/* AF_INET6 (HAProxy's default) or AF_INET */
	unsigned int opts;		/* CONF_RSOPT_* */
	unsigned char init[CONF_INIT_MAX]; /* init-addr methods in order, CONF_INIT_END ends;
					    * all END: "last,libc" */
	struct sockaddr_storage init_ip;	/* init-addr IP ... */
	socklen_t init_ip_len;
	unsigned int tmpl;		/* server-template: its number; 0: a server line */
	int no_addr;			/* started without an address (init-addr none) */
};

struct conf_server {
	char *name;			/* unique within its backend */
	struct sockaddr_spec addr;	/* upstream address, resolved by conf_check */
	int line;			/* where it was declared */
	unsigned int weight;		/* configured weight, 0..256 (0: no traffic) */
	unsigned int maxconn;		/* sessions at once; 0 = no limit */
	unsigned int maxqueue;		/* sessions waiting in its own queue; 0 = no limit */
	int backup;			/* only used when no primary server is up */
	int disabled;			/* starts in maintenance */
	int check;			/* active TCP health checks */
	int send_proxy;			/* PROXY header to the server: 0, 1 (v1) or 2 (v2) */
	uint64_t check_inter;		/* us between checks (default 2 s) */
	uint64_t check_fastinter;	/* us between checks while changing; 0 = inter */
	uint64_t check_downinter;	/* us between checks while down; 0 = inter */
	unsigned int check_rise;	/* successes to go up (default 2) */
	unsigned int check_fall;	/* failures to go down (default 3) */
	uint16_t check_port;		/* "port": checks go there; 0 = the server's */
	struct sockaddr_spec check_addr; /* "addr": checks go there ... */
	int check_addr_set;		/* ... when set */
	int agent_check;		/* "agent-check": ask an agent too */
	uint16_t agent_port;		/* "agent-port" */
	uint64_t agent_inter;		/* "agent-inter", us (default 2 s) */
	char agent_send[256];		/* "agent-send" ... */
	size_t agent_send_len;		/* ... its length, 0 when none */
	struct sockaddr_spec agent_addr; /* "agent-addr" ... */
	int agent_addr_set;		/* ... when set, else the server's address */
	int on_marked_down;		/* "on-marked-down shutdown-sessions" */
	int on_marked_up;		/* "on-marked-up shutdown-backup-sessions" */
	uint64_t slowstart;		/* "slowstart": us to reach full weight once up; 0 = none */
	int observe;			/* "observe layer4": connect errors of traffic count */
	unsigned int error_limit;	/* "error-limit" (default 10) */
	int on_error;			/* "on-error": CONF_ONERR_* */
	struct conf_srv_dns dns;	/* name resolution at run time, init-addr */
	struct conf_server *next;
	/* run time: admin, check_* and agent_* are set apart by whoever owns
	 * them; state is derived from them, under the backend lock */
	enum conf_server_state state;
	enum conf_server_admin admin;
	int check_down;			/* the health checks hold it down */
	int check_nolb;			/* an HTTP 404 with disable-on-404: no new session */
	int dns_maint;			/* its resolution left it without an address */
	int agent_down;			/* its agent said "down", "fail" or "stopped" */
	enum conf_server_admin agent_admin; /* its agent said "drain", "maint" or "ready" */
	unsigned int check_health;	/* the checks' counter, 0..rise+fall-1, atomic */
	unsigned int cur_weight;	/* weight in force (set weight) */
	unsigned int observed_errors;	/* observe layer4: connect errors in a row, atomic */
	int rr_current;			/* smooth round-robin accumulator */
	unsigned int cur_sess;		/* sessions connected or connecting to it */
	struct backend_waiter *queue_head; /* sessions waiting for a slot on it (balance
					    * source, leastconn with maxqueue), oldest first */
	struct backend_waiter *queue_tail;
	unsigned int queue_len;
	unsigned int queue_max;		/* most sessions ever queued at once */
	uint64_t total_sess;		/* sessions ever sent to it */
	uint64_t bytes[2];		/* bytes delivered up (to it) and down, atomic */
	uint64_t connect_errors;	/* connect attempts that failed, atomic */
	unsigned int max_sess;		/* most cur_sess ever (under the backend lock) */
	uint64_t last_change_us;	/* clock_now_us() of the last state change */
	uint64_t down_since_us;		/* when it went DOWN or MAINT; 0 while neither */
	uint64_t downtime_us;		/* time spent DOWN or MAINT before down_since_us */
	uint64_t chkdown;		/* transitions to DOWN or MAINT */
	uint64_t chkfail;		/* checks failed while it was up */
	/* sessions ended that had it, and what they spent (session_account);
	 * all atomic */
	uint64_t ended, qtime_ms, ctime_ms, ttime_ms;
	unsigned int qtime_max, ctime_max, ttime_max;
	uint64_t cli_abrt, srv_abrt;	/* ended by the client / the server during data */
	uint64_t retries;		/* connect tries after the first */
	uint64_t redispatches;		/* sessions that left it for another server */
};

/* A termination state's slot in conf_proxy.term: first letter x second. */
#define CONF_TERM_FIRST		"-CSPcsKRIDLUH"
#define CONF_TERM_SECOND	"-RQCDLTH"
#define CONF_TERM_SLOTS		(13 * 8)

struct conf_bind {
	struct sockaddr_spec addr;	/* numeric or resolved at check time */
	int backlog;			/* listen(2) backlog; 0 = the proxy's maxconn */
	int v6only;			/* IPV6_V6ONLY on an IPv6 bind */
	int tfo;			/* "tfo": TCP Fast Open on the listening socket */
	int accept_proxy;		/* clients start with a PROXY header (v1 or v2) */
	unsigned int maxconn;		/* sessions at once from this bind; 0 = no own limit */
	char *name;			/* "name" option, or NULL */
	int line;
	struct conf_bind *next;
};

/* Capabilities of a proxy section. */
#define CONF_PX_FE	0x1	/* accepts clients (frontend, listen) */
#define CONF_PX_BE	0x2	/* holds servers (backend, listen) */
#define CONF_PX_DEF	0x4	/* a defaults section */

/* Options of a proxy ("option X" / "no option X"). */
#define CONF_OPT_TCPLOG		0x01	/* tcplog line at session end */
#define CONF_OPT_DONTLOGNULL	0x02	/* no log for sessions that moved no byte */
#define CONF_OPT_SPLICE_REQ	0x04	/* splice client -> server */
#define CONF_OPT_SPLICE_RSP	0x08	/* splice server -> client */
#define CONF_OPT_SPLICE_AUTO	0x10	/* splice both ways (splicer: always sound) */
#define CONF_OPT_REDISPATCH	0x20	/* a retry may go to another server */
#define CONF_OPT_ALLBACKUPS	0x40	/* balance over every backup, not the first */
#define CONF_OPT_LOG_HEALTH	0x80	/* log every change of a check's result */
#define CONF_OPT_CLITCPKA	0x100	/* SO_KEEPALIVE on client sockets (frontend) */
#define CONF_OPT_SRVTCPKA	0x200	/* SO_KEEPALIVE on server sockets (backend) */

/* TCP keep-alive probes ("clitcpka-idle" ...): 0 leaves the kernel's value. */
struct conf_tcpka {
	unsigned int idle;	/* seconds idle before the first probe (TCP_KEEPIDLE) */
	unsigned int intvl;	/* seconds between probes (TCP_KEEPINTVL) */
	unsigned int cnt;	/* probes unanswered before the end (TCP_KEEPCNT) */
};

/* "on-error": what observe layer4 does after error-limit errors in a row. */
enum {
	CONF_ONERR_FASTINTER = 1,	/* check at fastinter now */
	CONF_ONERR_FAIL_CHECK,		/* count a failed check (the default) */
	CONF_ONERR_SUDDEN_DEATH,	/* one failure from down */
	CONF_ONERR_MARK_DOWN,		/* down at once */
};

struct log_fmt;

/* The "stats" and "monitor-uri" lines of a proxy: a "mode http" proxy that
 * has nothing else is the HTML stats page (statspage.c). */
#define CONF_STATS_AUTH_MAX 16
struct conf_statspage {
	int enabled;			/* "stats enable" or any stats line but admin */
	char *uri;			/* "stats uri", or NULL: /haproxy?stats */
	char *realm;			/* "stats realm", or NULL */
	char *auth[CONF_STATS_AUTH_MAX];	/* "stats auth USER:PASS" */
	int nauth;
	unsigned int refresh_s;		/* "stats refresh"; 0: none */
	int hide_version;		/* "stats hide-version" */
	char *monitor_uri;		/* "monitor-uri", or NULL */
	struct acl_cond **fail;		/* "monitor fail if|unless COND": the monitor-uri
					 * answers 503 while any holds */
	int nfail;
};

struct conf_proxy {
	char *name;
	unsigned int cap;		/* CONF_PX_* */
	const char *file;		/* file of its section header */
	int line;			/* line of its section header */

	struct conf_bind *binds;	/* frontend side */
	struct conf_server *servers;	/* backend side, in file order */
	unsigned int nservers;

	char *default_backend;		/* name as written, or NULL */
	int default_backend_line;
	struct conf_proxy *backend;	/* the resolved default backend (listen: itself) */

	struct conf_timeouts to;
	unsigned int retries;		/* connect attempts after the first */
	int redispatch_every;		/* option redispatch N: >0 every Nth retry, <0 the
					 * Nth retry before the last (default -1) */
	enum conf_balance balance;
	unsigned int random_draws;	/* balance random(N): draws, default 2 */
	struct conf_server defsrv;	/* default-server options for the next servers */
	unsigned int maxconn;		/* frontend: sessions at once; 0 = the global limit */
	unsigned int rate_limit;	/* frontend: new sessions per second; 0 = none */
	unsigned int opts;		/* CONF_OPT_* */
	struct conf_tcpka tcpka[2];	/* [0] client side, [1] server side */
	int mode_http;			/* "mode http" in force (refused by conf_check) */
	const char *mode_file;		/* where that "mode" line is */
	int mode_line;
	enum conf_engine engine;
	int log_global;			/* "log global": use the global targets */
	struct conf_log *logs;		/* own "log" targets */
	struct acl *acls;		/* "acl" declarations, and anonymous ones */
	struct acl_rule *tcp_conn_rules;	/* "tcp-request connection", in order */
	struct acl_rule *tcp_content_rules;	/* "tcp-request content" accept|reject...,
					 * in order */
	uint64_t inspect_delay;		/* "tcp-request inspect-delay", us; 0 = none */
	int inspect_delay_line;		/* where it was set */
	struct acl_rule *use_backends;	/* "use_backend", in order */
	struct shaper_group *shapers;	/* "bandwidth-limit" lines and bwlim filters */
	struct shaper_rule *bw_rules;	/* "tcp-request content set-bandwidth-limit" */
	int check_opt;			/* the check option in force: CONF_HEALTH_* */
	struct check_spec *check_rules;	/* "tcp-check" lines (option tcp-check) */
	int check_rules_inherited;	/* check_rules came from a defaults section */
	struct check_spec *check_proto;	/* the rules of a protocol check option */
	struct conf_httpchk *httpchk;	/* "option httpchk" and "http-check" lines, or NULL */
	struct stick_table *table;	/* "stick-table", or NULL */
	struct persist_stick *stick_rules;	/* "stick match|on|store-request", in order */
	struct persist_use *use_servers;	/* "use-server", in order */
	struct persist_if *persist_ifs;	/* "force-persist" and "ignore-persist" */
	struct conf_statspage *page;	/* its "stats" and "monitor-uri" lines, or NULL */
	int http_lines;			/* HTTP-only lines other than those */

	struct conf_proxy *next;

	/* run time */
	unsigned int rr_next;		/* cursor for ties (leastconn) */
	struct backend_waiter *queue_head; /* sessions waiting for a server slot, oldest first */
	struct backend_waiter *queue_tail;
	unsigned int queue_len;
	unsigned int queue_max;		/* most sessions ever queued at once */
	unsigned int cur_sess;		/* sessions in progress (frontend) */
	unsigned int stopped;		/* frontend: not accepting ("disable frontend"), atomic */
	uint64_t total_sess;		/* sessions accepted (frontend) */
	uint64_t fe_bytes[2];		/* bytes its clients' sessions delivered up and
					 * down (frontend), atomic */
	uint64_t be_bytes[2];		/* the same for its sessions' servers (backend) */
	uint64_t fe_shaped[2];		/* of fe_bytes, those of shaped flows */
	char *log_format;		/* "log-format" as written, or NULL: the tcplog line */
	struct log_fmt *logfmt;		/* ... compiled (log_format.h) */
	unsigned int max_sess;		/* most cur_sess ever (frontend), atomic */
	uint64_t denied_conn;		/* refused by "tcp-request connection reject", atomic */
	uint64_t term[CONF_TERM_SLOTS];	/* frontend: sessions ended, by termination state */
};

/* Command levels of an admin socket ("level"): each allows the ones below. */
enum conf_level {
	CONF_LEVEL_USER = 0,	/* show only */
	CONF_LEVEL_OPERATOR,	/* plus enable/disable, server states (the default) */
	CONF_LEVEL_ADMIN,	/* everything */
};

/* "stats socket PATH [mode M] [uid N] [gid N] [user U] [group G] [level L]". */
struct conf_admin {
	char *path;			/* UNIX socket path */
	unsigned int mode;		/* permissions, 0600 unless "mode" */
	long long uid, gid;		/* owner; -1 = the process's */
	char *user, *group;		/* names, looked up by conf_check */
	enum conf_level level;
	int line;
	struct conf_admin *next;
};

struct conf_global {
	unsigned int maxconn;		/* process-wide client limit; 0 = from RLIMIT_NOFILE */
	unsigned int ulimit_n;		/* "ulimit-n": RLIMIT_NOFILE to set at start; 0 = keep */
	unsigned int nbthread;		/* worker threads; 0 = CPUs online */
	int daemon;			/* fork into the background */
	char *pidfile;
	struct conf_log *logs;
	uint64_t pipesize;		/* F_SETPIPE_SZ; 0 = splicer's default */
	unsigned int maxpipes;		/* pipes at once; see maxpipes_set */
	int maxpipes_set;		/* "maxpipes" given (0 is a valid value) */
	unsigned int pipe_prealloc;	/* pipes made at start (tune.pipe.prealloc) */
	uint64_t hard_stop_after;	/* us; 0 = none */
	uint64_t grace;			/* us the listeners stay open after SIGTERM or
					 * SIGUSR1, /ready answering 503; 0 = none */
	char *user;			/* "user NAME", looked up by conf_check */
	char *group;			/* "group NAME", looked up by conf_check */
	long long uid;			/* uid to run as after binding; -1 = keep */
	long long gid;			/* gid to run as after binding; -1 = keep */
	char *chroot;			/* directory to chroot into, or NULL */
	int user_line, group_line, chroot_line;	/* for messages */
	struct shaper_group *total[2];	/* "bandwidth-limit total": up, down; or NULL */
	uint64_t promote_bytes;		/* tune.sockmap.promote-bytes */
	uint64_t promote_max_rate;	/* tune.sockmap.promote-max-rate, bits/s */
	int nosplice;			/* "nosplice": no splice(2), flows copy (HAProxy's) */
	int nosockmap;			/* "nosockmap": the kill switch, everything stays in
					 * user space */
	struct conf_admin *admins;	/* "stats socket" lines, in order */
	uint64_t admin_timeout;		/* "stats timeout": an admin client's idle limit, us */
	unsigned int admin_maxconn;	/* "stats maxconn": admin clients at once */
	unsigned int spread_checks;	/* "spread-checks": +/- percent of inter, 0..50 */
	char *stats_file;		/* "stats file PATH", or NULL */
	struct sockaddr_spec *metrics;	/* "stats metrics ADDR:PORT", or NULL */
	int metrics_line;
	struct sockaddr_spec *health;	/* "stats health ADDR:PORT" (/healthz, /ready), or NULL */
	int health_line;
};

/* A "nameserver" of a resolvers section. */
struct conf_nameserver {
	char *name;
	struct sockaddr_storage ss;
	socklen_t len;
	int line;
	struct conf_nameserver *next;
};

/* Which "hold" of a resolvers section. */
enum { CONF_HOLD_NX, CONF_HOLD_OTHER, CONF_HOLD_REFUSED, CONF_HOLD_TIMEOUT, CONF_HOLD_VALID,
	CONF_HOLD_OBSOLETE, CONF_HOLD_N };

/* A "resolvers" section: where and how servers' names are resolved again
 * while running (resolvers.c). */
struct conf_resolvers {
	char *name;
	const char *file;
	int line;
	struct conf_nameserver *ns;	/* in order */
	unsigned int nns;
	unsigned int resolve_retries;	/* queries sent before a timeout (3) */
	uint64_t timeout_resolve;	/* us between resolutions without other rule (1 s) */
	uint64_t timeout_retry;		/* us before a query is sent again (1 s) */
	uint64_t hold[CONF_HOLD_N];	/* us, "hold STATUS" */
	unsigned int payload;		/* accepted_payload_size (EDNS0), 512 */
	struct conf_resolvers *next;
};

struct conf {
	unsigned int refs;		/* sessions using it, +1 while current; atomic */
	struct conf_global global;
	struct conf_proxy *proxies;	/* frontends, backends and listens, in file order */
	struct conf_proxy *defaults;	/* every defaults section, newest first */
	struct conf_proxy *stats_pages;	/* the stats page proxies, out of proxies */
	struct conf_resolvers *resolvers; /* "resolvers" sections, in order */
	char **files;			/* names of the files read, for error messages */
	int nfiles;
};

/* An error or warning list, each entry "file:line: message". */
struct conf_msgs {
	char **msg;
	int n;
	int cap;
};

void conf_msgs_add(struct conf_msgs *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void conf_msgs_free(struct conf_msgs *m);

struct conf *conf_new(void);
/* Free the tree, closing the log descriptors it opened. */
void conf_free(struct conf *c);

/* Generations: a session holds the configuration it started with; a
 * configuration replaced by a reload is freed when its last session ends. */
void conf_hold(struct conf *c);
void conf_release(struct conf *c);
/* c is replaced (or the process ends): free it now if no session holds
 * it, else with its last session. */
void conf_retire(struct conf *c);
/* Sessions that hold c. */
unsigned int conf_sessions(const struct conf *c);
/* The configuration new sessions start with (set by main and reload). */
void conf_set_current(struct conf *c);
struct conf *conf_current(void);

/* Find a proxy by name with at least the capabilities in cap. */
struct conf_proxy *conf_find_proxy(const struct conf *c, const char *name, unsigned int cap);

/* A bind line's id (so_id): its rank among its frontend's, from 1, as
 * HAProxy numbers them when no "id" is given. */
unsigned int conf_bind_id(const struct conf_proxy *fe, const struct conf_bind *b);

/* Name of a section kind for messages: "frontend", "backend", "listen", "defaults". */
const char *conf_proxy_kind(const struct conf_proxy *px);

#endif
