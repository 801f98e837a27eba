/*
 * sockmap.h: what bpf/sockmap.bpf.c and src/engine_sockmap.c share.
 *
 * Two socket maps. A session's sockets both enter sm_peers, which only
 * serves as the table of redirect targets (no program is attached to
 * it); a socket enters sm_socks, whose stream verdict program redirects
 * what it receives, only once its peer is in sm_peers. So a segment is
 * never redirected to a socket that is not there yet, and never dropped
 * for that reason.
 *
 * sm_flows, keyed by the receiving socket's cookie, says where its bytes
 * go and counts them; only the program writes it after splicer made it.
 * sm_ctl, same key, is written only by splicer: once "hold" is set, the
 * program passes what arrives to the socket's own queue (charged to it,
 * so TCP's window stops the sender) instead of redirecting it, and
 * splicer copies it. A held flow is not redirected again.
 */
#ifndef SPLICER_SOCKMAP_H
#define SPLICER_SOCKMAP_H

/* Capacity of each map: two sockets per session. */
#define SM_MAX_SOCKS	65536

struct sm_flow {
	__u64 peer;		/* cookie of the socket the bytes go to */
	__u64 bytes;		/* bytes redirected to it */
	__u64 dropped;		/* bytes the kernel could not redirect (peer gone) */
	__u64 passed;		/* bytes passed to the socket's own queue (held) */
};

struct sm_ctl {
	__u32 hold;		/* pass, do not redirect */
	__u32 pad;
};

#endif
