/*
 * tls_hello: the first TLS record of a connection, as the client sent it
 * (RFC 8446 4.1.2, RFC 5246 7.4.1.2; SSLv2's CLIENT-HELLO for its
 * version only). Pure: a byte buffer in, what it holds out, so it is
 * table-tested and fuzzed directly. Content inspection calls it again as
 * more bytes arrive: the answer never depends on how they were split.
 *
 * Like HAProxy, only the first record is read: a ClientHello longer than
 * one record (16 KB) is reported as not a ClientHello.
 */
#ifndef SPLICER_TLS_HELLO_H
#define SPLICER_TLS_HELLO_H

#include <stddef.h>
#include <stdint.h>

/* What tls_hello_parse() found. */
#define TLS_HELLO_MORE	0	/* every byte so far may start a hello: read more */
#define TLS_HELLO_OK	1	/* a complete first handshake message */
#define TLS_HELLO_NOT	(-1)	/* not a TLS hello (or a malformed one) */

/* Longest record splicer's parser reads, header included (2^14 + 2048
 * bytes of content, as HAProxy allows, plus 5). */
#define TLS_HELLO_RECORD_MAX (5 + 16384 + 2048)

struct tls_hello {
	unsigned int version;	/* client_version, major << 16 | minor (3.3 for
				 * TLS 1.2 and 1.3): set once its bytes are in
				 * (version_known), even if the rest is not */
	int version_known;
	int sslv2;		/* an SSLv2 CLIENT-HELLO (no extensions) */
	unsigned int hs_type;	/* handshake type of the first message (1: ClientHello) */
	int ec_ext;		/* ClientHello: the supported_groups (elliptic_curves)
				 * extension is present */
	const uint8_t *sni;	/* ClientHello: the first host_name of server_name,
				 * in the caller's buffer, NULL when none */
	size_t sni_len;
	const uint8_t *alpn;	/* ClientHello: the first ALPN protocol name, in the
				 * caller's buffer, NULL when none */
	size_t alpn_len;
	size_t len;		/* bytes the record (or SSLv2 message) takes */
};

/*
 * Parse buf[0..n): TLS_HELLO_OK once the first handshake message of the
 * first record is complete (h filled; sni and alpn point into buf),
 * TLS_HELLO_MORE while the bytes may still become one, TLS_HELLO_NOT
 * otherwise. h->version may be set with TLS_HELLO_MORE.
 */
int tls_hello_parse(const uint8_t *buf, size_t n, struct tls_hello *h);

#endif
