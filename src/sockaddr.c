/*
 * sockaddr: "ADDR:PORT" parse and print.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <errno.h>

#include "sockaddr.h"
#include "units.h"

int
sockaddr_parse_unix(const char *s, struct sockaddr_spec *spec, char *err, size_t errlen)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)&spec->ss;
	const char *path;
	size_t n, at;

	if (strncmp(s, "unix@", 5) == 0)
		path = s + 5, at = 0;
	else if (strncmp(s, "abns@", 5) == 0)
		path = s + 5, at = 1;	/* sun_path[0] = '\0': the abstract namespace */
	else if (s[0] == '/')
		path = s, at = 0;
	else
		return 1;
	memset(spec, 0, sizeof(*spec));
	n = strlen(path);
	if (n == 0) {
		snprintf(err, errlen, "address '%s' has an empty %s", s, at ? "name" : "path");
		return -1;
	}
	if (at + n >= sizeof(sun->sun_path)) {
		snprintf(err, errlen, "address '%.40s...' is longer than the %zu bytes a unix "
		    "socket address holds", s, sizeof(sun->sun_path) - 1 - at);
		return -1;
	}
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path + at, path, n);
	/* The whole structure, as HAProxy: an abstract name is then padded
	 * with zeros, and a path ends at its NUL. */
	spec->len = sizeof(*sun);
	snprintf(spec->host, sizeof(spec->host), "%s", s);
	return 0;
}

static void
sockaddr_print_unix(const struct sockaddr_un *sun, char *buf, size_t len)
{
	if (sun->sun_path[0] == '\0')
		snprintf(buf, len, "abns@%.*s", (int)sizeof(sun->sun_path) - 1, sun->sun_path + 1);
	else
		snprintf(buf, len, "unix@%.*s", (int)sizeof(sun->sun_path), sun->sun_path);
}

/* Fill spec->ss from a numeric host; returns 1 when host is not numeric. */
static int
sockaddr_numeric(struct sockaddr_spec *spec)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&spec->ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&spec->ss;

	memset(&spec->ss, 0, sizeof(spec->ss));
	if (inet_pton(AF_INET, spec->host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(spec->port);
		spec->len = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, spec->host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(spec->port);
		spec->len = sizeof(*sin6);
		return 0;
	}
	spec->ss.ss_family = AF_UNSPEC;
	spec->len = 0;
	return 1;
}

/* Strip a "ipv4@"-style prefix from *s, returning the family it forces
 * (AF_UNSPEC for none or "tcp@"). */
static int
sockaddr_prefix(const char **s)
{
	static const struct { const char *p; int family; } pre[] = {
		{ "ipv4@", AF_INET }, { "ipv6@", AF_INET6 }, { "tcp4@", AF_INET },
		{ "tcp6@", AF_INET6 }, { "tcp@", AF_UNSPEC },
	};

	for (size_t i = 0; i < sizeof(pre) / sizeof(pre[0]); i++) {
		size_t l = strlen(pre[i].p);

		if (strncmp(*s, pre[i].p, l) == 0) {
			*s += l;
			return pre[i].family;
		}
	}
	return AF_UNSPEC;
}

/* The port text of s (after the host): a number, or with
 * SOCKADDR_F_PORTREL none, "+N" or "-N". */
static int
sockaddr_port_text(const char *s, const char *port, int flags, struct sockaddr_spec *spec,
    char *err, size_t errlen)
{
	char perr[128];
	uint64_t p;

	if ((flags & SOCKADDR_F_PORTREL) && (port == NULL || *port == '+' || *port == '-')) {
		spec->port_rel = 1;
		if (port == NULL)
			return 0;
		if (port[1] == '\0' ||
		    units_parse_uint(port + 1, 0, 65535, &p, perr, sizeof(perr)) == -1) {
			snprintf(err, errlen, "address '%s' has an invalid port offset '%s' "
			    "(expected +N or -N, N from 0 to 65535)", s, port);
			return -1;
		}
		spec->port_off = *port == '-' ? -(int)p : (int)p;
		return 0;
	}
	if (port == NULL) {
		snprintf(err, errlen, "address '%s' has no port (expected HOST:PORT)", s);
		return -1;
	}
	if (*port == '\0') {
		snprintf(err, errlen, "address '%s' has an empty port", s);
		return -1;
	}
	if (units_parse_uint(port, 1, 65535, &p, perr, sizeof(perr)) == -1) {
		snprintf(err, errlen, "address '%s' has an invalid port '%s' "
		    "(expected 1 to 65535)", s, port);
		return -1;
	}
	spec->port = (uint16_t)p;
	return 0;
}

int
sockaddr_parse(const char *s, int flags, struct sockaddr_spec *spec,
    char *err, size_t errlen)
{
	const char *colon, *port = NULL, *h = s;
	char v6[sizeof(spec->host)];
	size_t hostlen;
	int rc;

	if ((flags & SOCKADDR_F_UNIX) && (rc = sockaddr_parse_unix(s, spec, err, errlen)) != 1)
		return rc;
	memset(spec, 0, sizeof(*spec));
	spec->family = sockaddr_prefix(&h);
	if (h[0] == '[') {
		const char *end = strchr(h, ']');

		if (end == NULL) {
			snprintf(err, errlen, "address '%s' has '[' without ']'", s);
			return -1;
		}
		if (end[1] != ':' && !(end[1] == '\0' && (flags & SOCKADDR_F_PORTREL))) {
			snprintf(err, errlen, "address '%s' needs ':PORT' after ']'", s);
			return -1;
		}
		hostlen = (size_t)(end - h - 1);
		h++;
		port = end[1] == ':' ? end + 2 : NULL;
	} else {
		colon = strrchr(h, ':');
		hostlen = colon != NULL ? (size_t)(colon - h) : strlen(h);
		port = colon != NULL ? colon + 1 : NULL;
		/* Colons before the last: an IPv6 address, which must be numeric. */
		if (colon != NULL && memchr(h, ':', hostlen) != NULL) {
			struct in6_addr a6;

			snprintf(v6, sizeof(v6), "%.*s", (int)hostlen, h);
			if (hostlen >= sizeof(v6) || inet_pton(AF_INET6, v6, &a6) != 1) {
				snprintf(err, errlen, "address '%s': '%.*s' is not an IPv6 address; "
				    "write IPv6 addresses in brackets, as [::1]:PORT", s,
				    (int)hostlen, h);
				return -1;
			}
		}
	}
	if (hostlen >= sizeof(spec->host)) {
		snprintf(err, errlen, "address '%.40s...' has a host name longer than %zu bytes",
		    s, sizeof(spec->host) - 1);
		return -1;
	}
	memcpy(spec->host, h, hostlen);
	spec->host[hostlen] = '\0';
	if (sockaddr_port_text(s, port, flags, spec, err, errlen) == -1)
		return -1;

	if (spec->host[0] == '\0' || strcmp(spec->host, "*") == 0) {
		if (!(flags & SOCKADDR_F_ANY)) {
			snprintf(err, errlen, "address '%s' needs a host", s);
			return -1;
		}
		strcpy(spec->host, spec->family == AF_INET6 ? "::" : "0.0.0.0");
	}
	sockaddr_numeric(spec);
	if (spec->family != AF_UNSPEC && spec->len != 0 && spec->ss.ss_family != spec->family) {
		snprintf(err, errlen, "address '%s': '%s' is not an %s address", s, spec->host,
		    spec->family == AF_INET ? "IPv4" : "IPv6");
		return -1;
	}
	return 0;
}

int
sockaddr_is_unresolved(const struct sockaddr_spec *spec)
{
	return spec->len == 0;
}

int
sockaddr_resolve(struct sockaddr_spec *spec, char *err, size_t errlen)
{
	struct addrinfo hints, *res = NULL;
	int rc;

	if (sockaddr_numeric(spec) == 0)
		return 0;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = spec->family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	if ((rc = getaddrinfo(spec->host, NULL, &hints, &res)) != 0) {
		snprintf(err, errlen, "cannot resolve '%s': %s", spec->host, gai_strerror(rc));
		return -1;
	}
	memcpy(&spec->ss, res->ai_addr, res->ai_addrlen);
	spec->len = res->ai_addrlen;
	if (spec->ss.ss_family == AF_INET)
		((struct sockaddr_in *)&spec->ss)->sin_port = htons(spec->port);
	else
		((struct sockaddr_in6 *)&spec->ss)->sin6_port = htons(spec->port);
	freeaddrinfo(res);
	return 0;
}

char *
sockaddr_print(const struct sockaddr *sa, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	switch (sa->sa_family) {
	case AF_INET:
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, ip, sizeof(ip));
		snprintf(buf, len, "%s:%u", ip, sockaddr_port(sa));
		break;
	case AF_INET6:
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, ip, sizeof(ip));
		snprintf(buf, len, "[%s]:%u", ip, sockaddr_port(sa));
		break;
	case AF_UNIX:
		sockaddr_print_unix((const struct sockaddr_un *)sa, buf, len);
		break;
	default:
		snprintf(buf, len, "-");
		break;
	}
	return buf;
}

uint16_t
sockaddr_port(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)sa)->sin_port);
	if (sa->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	return 0;
}

void
sockaddr_set_port(struct sockaddr_storage *ss, uint16_t port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	else if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

int
sockaddr_listen(const struct sockaddr_spec *spec, int backlog)
{
	int fd, one = 1, saved;

	if ((fd = socket(spec->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    bind(fd, (const struct sockaddr *)&spec->ss, spec->len) == -1 ||
	    listen(fd, backlog) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}
