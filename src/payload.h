/*
 * payload: what the first bytes of a request say, besides TLS
 * (tls_hello.h): an HTTP/1 request head, an RDP connection request's
 * cookie, length-value blocks. Pure functions over a byte buffer, so
 * they are table-tested and fuzzed directly; each answers PAYLOAD_MORE
 * while more bytes could change the answer, and never depends on how
 * the bytes were split.
 */
#ifndef SPLICER_PAYLOAD_H
#define SPLICER_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>

#define PAYLOAD_MORE	0	/* not decided yet: read more */
#define PAYLOAD_OK	1	/* found (out filled) */
#define PAYLOAD_NOT	(-1)	/* decided: not there */

/* Longest HTTP request line and head splicer reads (a request head that
 * does not end within this many bytes is not HTTP to it). */
#define PAYLOAD_HTTP_MAX 16384

/*
 * An HTTP/1.x request head (request line, headers, empty line), as
 * req.proto_http wants it: PAYLOAD_OK with *ver pointing at "1.0" or
 * "1.1" (3 bytes, in buf) once the head is complete.
 */
int payload_http(const uint8_t *buf, size_t n, const uint8_t **ver);

/*
 * The first cookie of an RDP X.224 Connection Request (TPKT header, then
 * "Cookie: NAME=VALUE\r\n", MS-RDPBCGR 2.2.1.1). With name (namelen > 0)
 * only a cookie of that name (case-insensitive) counts. PAYLOAD_OK with
 * *val, *vallen its value (in buf).
 */
int payload_rdp_cookie(const uint8_t *buf, size_t n, const char *name, size_t namelen,
    const uint8_t **val, size_t *vallen);

/*
 * req.payload_lv(off1,len[,off2]): a block whose length is the len-byte
 * big-endian integer at off1 (len 1 to 4), starting at off2 (relative to
 * the end of the length when rel2 is set, absolute otherwise; no off2:
 * rel2 with off2 0). PAYLOAD_OK with *at, *blen.
 */
int payload_lv(const uint8_t *buf, size_t n, size_t off1, unsigned int len, long long off2,
    int rel2, const uint8_t **at, size_t *blen);

#endif
