/*
 * portown: see portown.h. The table gives each listening socket's inode;
 * this process's own sockets are those /proc/self/fd links to
 * ("socket:[INODE]"), and the owner of a foreign one is found the same
 * way in /proc/PID/fd (readable as root; otherwise the message says
 * "another process").
 */
#include "config.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "portown.h"
#include "sockaddr.h"

#define PORTOWN_LISTEN 0x0A	/* TCP_LISTEN in the table's "st" column */

/* Does the directory of fds at dir hold socket inode? */
static int
portown_fd_has(const char *dir, unsigned long inode)
{
	char want[64], path[512], link[64];
	struct dirent *e;
	DIR *d = opendir(dir);
	int found = 0;
	ssize_t n;

	if (d == NULL)
		return 0;
	snprintf(want, sizeof(want), "socket:[%lu]", inode);
	while (!found && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if ((n = readlink(path, link, sizeof(link) - 1)) > 0) {
			link[n] = '\0';
			found = strcmp(link, want) == 0;
		}
	}
	closedir(d);
	return found;
}

/* "pid N (comm)" of the process holding inode, or "another process". */
static void
portown_owner(unsigned long inode, char *buf, size_t len)
{
	char dir[300], comm[64] = "?";
	struct dirent *e;
	DIR *d = opendir("/proc");
	FILE *f;

	snprintf(buf, len, "another process");
	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(dir, sizeof(dir), "/proc/%s/fd", e->d_name);
		if (!portown_fd_has(dir, inode))
			continue;
		snprintf(dir, sizeof(dir), "/proc/%s/comm", e->d_name);
		if ((f = fopen(dir, "r")) != NULL) {
			if (fgets(comm, sizeof(comm), f) != NULL)
				comm[strcspn(comm, "\n")] = '\0';
			fclose(f);
		}
		snprintf(buf, len, "pid %.20s (%.40s)", e->d_name, comm);
		break;
	}
	closedir(d);
}

/* Parse a table address (hex words as the kernel prints them) into the
 * same bytes as a struct in_addr / in6_addr. */
static int
portown_parse_addr(const char *hex, unsigned char *out, size_t len)
{
	for (size_t w = 0; w < len / 4; w++) {
		char word[9];
		uint32_t v;

		memcpy(word, hex + w * 8, 8);
		word[8] = '\0';
		v = (uint32_t)strtoul(word, NULL, 16);
		memcpy(out + w * 4, &v, 4);	/* the kernel printed the raw word */
	}
	return strlen(hex) == len * 2 ? 0 : -1;
}

/* Is the table entry's address ours to worry about: the same, or either
 * one the family's wildcard? */
static int
portown_overlaps(const unsigned char *a, const unsigned char *b, size_t len)
{
	static const unsigned char any[16];

	return memcmp(a, b, len) == 0 || memcmp(a, any, len) == 0 || memcmp(b, any, len) == 0;
}

int
portown_check(const struct sockaddr_storage *ss, char *err, size_t errlen)
{
	const int v6 = ss->ss_family == AF_INET6;
	const size_t alen = v6 ? 16 : 4;
	const unsigned char *want = v6 ? (const unsigned char *)&((const struct sockaddr_in6 *)ss)->sin6_addr :
	    (const unsigned char *)&((const struct sockaddr_in *)ss)->sin_addr;
	unsigned int want_port = sockaddr_port((const struct sockaddr *)ss);
	char line[512], hex[40], addr[SOCKADDR_STRLEN], owner[128];
	unsigned char got[16];
	unsigned int port, st;
	unsigned long inode;
	FILE *f;
	int rc = 0;

	if ((ss->ss_family != AF_INET && !v6) ||
	    (f = fopen(v6 ? "/proc/net/tcp6" : "/proc/net/tcp", "r")) == NULL)
		return 0;
	while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, " %*u: %39[0-9A-Fa-f]:%x %*s %x %*s %*s %*s %*u %*d %lu",
		    hex, &port, &st, &inode) != 4 || st != PORTOWN_LISTEN || port != want_port ||
		    inode == 0 || portown_parse_addr(hex, got, alen) == -1 ||
		    !portown_overlaps(got, want, alen) || portown_fd_has("/proc/self/fd", inode))
			continue;
		portown_owner(inode, owner, sizeof(owner));
		sockaddr_print((const struct sockaddr *)ss, addr, sizeof(addr));
		snprintf(err, errlen, "cannot bind %s: %s listens on it already (with "
		    "SO_REUSEPORT the kernel would let both share its clients)", addr, owner);
		rc = -1;
	}
	fclose(f);
	return rc;
}
