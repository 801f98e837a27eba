/*
 * sockaddr: parse and print the "ADDR:PORT" forms used by bind, server,
 * log targets and quick mode. Shared by conf, listener, dial and log.
 */
#ifndef SPLICER_SOCKADDR_H
#define SPLICER_SOCKADDR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Longest printed address: "unix@" + a 107-byte socket path + NUL (an
 * IPv6 one, "[" + INET6_ADDRSTRLEN + "]:" + 5 digits, is shorter). */
#define SOCKADDR_STRLEN 120

/* Flags of sockaddr_parse(). */
#define SOCKADDR_F_ANY  0x1	/* "*" or an empty host means every address */
#define SOCKADDR_F_UNIX 0x2	/* "unix@PATH", "abns@NAME" and "/PATH" are AF_UNIX
				 * stream addresses (a server's, as HAProxy) */
#define SOCKADDR_F_PORTREL 0x4	/* no port, "+N" or "-N": the client's destination
				 * port (plus N), as HAProxy's server addresses */

/* An address as written and, once known, as resolved. */
struct sockaddr_spec {
	struct sockaddr_storage ss;	/* resolved address; family AF_UNSPEC until resolved */
	socklen_t len;			/* length of ss in use, 0 until resolved */
	char host[256];			/* host part as written, without brackets */
	uint16_t port;			/* port, host order, 1..65535; 0 when port_rel */
	int family;			/* AF_INET or AF_INET6 when forced (ipv4@,
					 * ipv6@), else AF_UNSPEC */
	int port_rel;			/* the port is the client's destination port ... */
	int port_off;			/* ... plus this (SOCKADDR_F_PORTREL) */
};

/*
 * Parse "HOST:PORT", "[IPv6]:PORT", an IPv6 address without brackets (the
 * last ':' starts the port, as HAProxy reads "::1:80" and ":::80"), "*:PORT"
 * or ":PORT" (the last two with SOCKADDR_F_ANY), each optionally after
 * "ipv4@", "ipv6@", "tcp@", "tcp4@" or "tcp6@" (which force the family; an
 * empty host is then 0.0.0.0 or ::). With SOCKADDR_F_PORTREL the port may
 * be missing, "+N" or "-N". A numeric host is resolved at once; a name is
 * kept in spec->host for sockaddr_resolve(). Returns 0, or -1 with a
 * sentence in err.
 */
int sockaddr_parse(const char *s, int flags, struct sockaddr_spec *spec,
    char *err, size_t errlen);

/*
 * The AF_UNIX forms of SOCKADDR_F_UNIX: "unix@PATH" (any path, relative
 * too), "/PATH" and "abns@NAME" (Linux's abstract namespace; the name is
 * zero-padded to the whole sun_path, as HAProxy binds and connects it).
 * spec->host keeps the address as written, spec->port is 0. Returns 0,
 * 1 when s is none of these forms, or -1 with a sentence in err.
 */
int sockaddr_parse_unix(const char *s, struct sockaddr_spec *spec, char *err, size_t errlen);

/* Is the host part still a name to look up? */
int sockaddr_is_unresolved(const struct sockaddr_spec *spec);

/*
 * Resolve spec->host with getaddrinfo() (first answer, IPv4 preferred as
 * getaddrinfo orders it). Returns 0, or -1 with a sentence in err.
 */
int sockaddr_resolve(struct sockaddr_spec *spec, char *err, size_t errlen);

/* Print sa as "1.2.3.4:80", "[::1]:80", "unix@/path" or "abns@name" into
 * buf. Returns buf. */
char *sockaddr_print(const struct sockaddr *sa, char *buf, size_t len);

/* Port of sa in host order, 0 for other families. */
uint16_t sockaddr_port(const struct sockaddr *sa);

/* Set the port (host order) of an IPv4 or IPv6 address. */
void sockaddr_set_port(struct sockaddr_storage *ss, uint16_t port);

/* A non-blocking TCP socket listening on spec (SO_REUSEADDR), for the
 * control thread's HTTP endpoints: the fd, or -1 with errno set. */
int sockaddr_listen(const struct sockaddr_spec *spec, int backlog);

#endif
