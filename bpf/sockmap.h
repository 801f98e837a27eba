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
 * sm_ctl, same key, is written only by splicer.
 *
 * Sequence guard. The kernel (tcp_read_skb(), net/ipv4/tcp.c) hands the
 * program whole skbs and does not skip the part of one that starts
 * before bytes already handled, as tcp_recvmsg() and tcp_read_sock() do;
 * TCP recovery queues such skbs (contrib/sockmap-overlap reproduces it).
 * So the program keeps the next sequence number it expects: an skb that
 * holds only old bytes is dropped (counted in dup); one that starts
 * before it is passed to the socket's own queue with a skip record (its
 * offset in the passed bytes, and how many old bytes it starts with),
 * which splicer discards before copying the rest.
 *
 * The queue bound. The kernel queues redirected skbs for the target
 * without limit and charges them to no socket, so before it redirects,
 * the program reads the target's snd_una and counts what this flow
 * handed it since its first skb (redirected, or passed and written by
 * splicer) that its peer has not acknowledged: the redirect queue and
 * the target's send queue together. When that and the skb would pass
 * sm_queue_limit, it passes the skb instead (counted in bound_skbs):
 * passed bytes are charged to the source socket, so TCP's window stops
 * its sender, and splicer writes them once the target drained (the rule
 * below). So per flow the kernel holds at most sm_queue_limit plus one
 * skb for the target.
 *
 * Passing and resuming. The program passes (to the socket's own queue,
 * charged to it, so TCP's window stops the sender) instead of
 * redirecting while splicer holds the flow (sm_ctl.hold) and until every
 * passed byte was written to the destination (sm_ctl.written ==
 * sm_flow.passed): a redirected skb then goes out behind them. A flow
 * held by a skip record so resumes once splicer copied it.
 */
#ifndef SPLICER_SOCKMAP_H
#define SPLICER_SOCKMAP_H

/* Capacity of each map: two sockets per session. */
#define SM_MAX_SOCKS	65536

/* Skip records a flow keeps until splicer reads past them: more, and
 * the stream cannot be mended (splicer resets the session). */
#define SM_SKIPS	4

struct sm_flow {
	__u64 peer;		/* cookie of the socket the bytes go to */
	__u64 bytes;		/* bytes redirected to it */
	__u64 dropped;		/* bytes the kernel could not redirect (peer gone) */
	__u64 passed;		/* bytes passed to the socket's own queue (old ones too) */
	__u64 dup;		/* old bytes in whole skbs the program dropped */
	__u64 dup_skbs;		/* skbs that started before next_seq (dropped or skipped) */
	__u64 skipped;		/* old bytes at the start of passed skbs (in skip records) */
	__u64 nskips;		/* skip records written: before the records (a reader
				 * that sees it sees them) */
	__u64 skip_at[SM_SKIPS];	/* record n % SM_SKIPS: offset in the passed bytes */
	__u32 skip_len[SM_SKIPS];	/* ... and its old bytes there */
	__u64 bound_skbs;	/* skbs passed because the target's queue was full */
	__u32 next_seq;		/* TCP sequence number of the next new byte */
	__u32 seq_known;	/* next_seq is set (from copied_seq, on the first skb) */
	__u32 una0;		/* the target's write_seq at the flow's first skb */
	__u32 una_known;	/* una0 is set */
};

struct sm_ctl {
	__u32 hold;		/* pass, do not redirect */
	__u32 pad;
	__u64 written;		/* passed bytes splicer wrote to the peer or skipped */
};

#endif
