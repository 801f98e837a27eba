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
 * sm_ctl, same key, is written only by splicer: while "hold" is set, the
 * program passes what arrives to the socket's own queue (charged to it,
 * so TCP's window stops the sender) instead of redirecting it. Going back
 * to redirecting happens in the program, at the first segment that finds
 * hold clear and every passed byte read by splicer ("drained" equal to
 * "passed"): no redirected byte can overtake a passed one.
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
	__u32 held;		/* the program is passing, not redirecting */
	__u32 pad;
};

struct sm_ctl {
	__u64 drained;		/* passed bytes splicer has read */
	__u32 hold;		/* pass, do not redirect */
	__u32 pad;
};

#endif
