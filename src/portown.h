/*
 * portown: is a TCP address already listened on by another process?
 * Listeners set SO_REUSEPORT (one socket per worker), and so may another
 * splicer, or anything else run by the same user: the kernel then lets a
 * second process bind the same address and share its clients, silently.
 * Once bound (before listening), the kernel's table of listening sockets
 * (/proc/net/tcp, /proc/net/tcp6) is read: a socket on the same address
 * and port, or on the wildcard address of the same family and port, that
 * is not one of this process's own is somebody else's.
 */
#ifndef SPLICER_PORTOWN_H
#define SPLICER_PORTOWN_H

#include <stddef.h>
#include <sys/socket.h>

/*
 * 0: nobody else listens there (or the table cannot be read: inside a
 * chroot, or without /proc; the bind then goes on as before). -1: another
 * process does; err names the address and, when it can be found, the
 * process ("pid 1234 (splicer)").
 */
int portown_check(const struct sockaddr_storage *ss, char *err, size_t errlen);

#endif
