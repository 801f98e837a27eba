/*
 * proxy_proto: the PROXY protocol, versions 1 and 2
 * (haproxy doc/proxy-protocol.txt), on byte buffers. Pure but for
 * pp_read(): no socket, no allocation, so it is table-tested and fuzzed
 * directly.
 */
#ifndef SPLICER_PROXY_PROTO_H
#define SPLICER_PROXY_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

/* Longest v1 line, CRLF included (spec §2.1). */
#define PP_V1_MAX 107
/* Longest v2 header splicer accepts (16-byte head + addresses + TLVs). */
#define PP_V2_MAX 2048
/* Room a reader needs for any header splicer accepts. */
#define PP_MAX PP_V2_MAX

struct pp_header {
	int version;			/* 1 or 2 */
	int has_addr;			/* src/dst hold the proxied addresses; 0 for LOCAL,
					 * UNKNOWN, UNSPEC or AF_UNIX: keep the connection's */
	struct sockaddr_storage src;	/* the original client */
	struct sockaddr_storage dst;	/* the address it connected to */
};

/*
 * Parse the first n bytes of a connection. Returns the header's length
 * once buf[0..n) holds a complete valid header (h filled), 0 while every
 * byte so far is a valid start of one, or -1 with a sentence in err.
 * The answer never depends on how the bytes were split across calls.
 */
ssize_t pp_parse(const uint8_t *buf, size_t n, struct pp_header *h, char *err, size_t errlen);

/*
 * accept-proxy: read a client's header from fd without taking one byte
 * past it. pp_read() peeks at what is there, lets pp_parse() say how much
 * of it is header, and consumes exactly that: every byte before the
 * header's end belongs to it, so nothing is peeked twice and no payload
 * enters user space.
 */
struct pp_reader {
	uint8_t *buf;			/* PP_MAX bytes, the caller's */
	size_t len;			/* header bytes read so far */
};

#define PP_READ_BAD	-1	/* not a valid header: err says why */
#define PP_READ_GONE	-2	/* the client closed, reset or went away: err says which */

/* Returns 1 once the whole header is read (h filled, r->len its length),
 * 0 while more is to come (or fd has nothing now), else PP_READ_BAD or
 * PP_READ_GONE with a sentence in err. */
int pp_read(int fd, struct pp_reader *r, struct pp_header *h, char *err, size_t errlen);

/* Write a v1 line for src -> dst (both AF_INET or both AF_INET6, else
 * "PROXY UNKNOWN"); returns its length. buf holds PP_V1_MAX + 1 bytes. */
size_t pp_build_v1(char *buf, size_t len, const struct sockaddr *src, const struct sockaddr *dst);

/* Write a v2 PROXY header (no TLV) for src -> dst; LOCAL when the
 * families are not both INET or both INET6. Returns its length (<= 52). */
size_t pp_build_v2(uint8_t *buf, size_t len, const struct sockaddr *src,
    const struct sockaddr *dst);

#endif
