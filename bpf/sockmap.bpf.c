// SPDX-License-Identifier: GPL-2.0
/*
 * sockmap.bpf.c: the sockmap engine's data path. Each skb a socket of
 * sm_socks receives is checked against the flow's next sequence number
 * (the sequence guard, sockmap.h), then redirected to the egress of its
 * peer, or passed to its own queue while splicer holds the flow or has
 * not written every passed byte yet; the bytes are counted per receiving
 * socket. See sockmap.h for the maps.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "sockmap.h"

/* The kernel's own structures, only the fields read here; CO-RE finds
 * them in the running kernel's BTF. TCP_SKB_CB(skb)->seq is the first
 * word of skb->cb (struct tcp_skb_cb, include/net/tcp.h). */
struct sk_buff {
	char cb[48];
} __attribute__((preserve_access_index));

struct tcp_sock {
	__u32 copied_seq;
	__u32 snd_una;
	__u32 write_seq;
} __attribute__((preserve_access_index));

/* What a flow may hold in the kernel for its target's peer (sockmap.h);
 * splicer sets it before loading. */
const volatile __u64 sm_queue_limit = 16 << 20;

extern void *bpf_cast_to_kern_ctx(void *obj) __ksym;

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, SM_MAX_SOCKS);
	__type(key, __u64);
	__type(value, __u64);
} sm_socks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, SM_MAX_SOCKS);
	__type(key, __u64);
	__type(value, __u64);
} sm_peers SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SM_MAX_SOCKS);
	__type(key, __u64);
	__type(value, struct sm_flow);
} sm_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SM_MAX_SOCKS);
	__type(key, __u64);
	__type(value, struct sm_ctl);
} sm_ctl SEC(".maps");

/* The skb's first sequence number; -1 if it cannot be read. */
static __always_inline int
sm_seq(struct __sk_buff *skb, __u32 *seq)
{
	struct sk_buff *kskb = bpf_cast_to_kern_ctx(skb);

	return bpf_probe_read_kernel(seq, sizeof(*seq), &kskb->cb[0]) == 0 ? 0 : -1;
}

/* On the flow's first skb: where the socket's reader stands (what
 * splicer read before the flow entered the map). */
static __always_inline int
sm_seq_start(struct __sk_buff *skb, struct sm_flow *f)
{
	struct bpf_sock *sk = skb->sk;
	struct tcp_sock *tp;

	if (sk == NULL || (tp = bpf_skc_to_tcp_sock(sk)) == NULL)
		return -1;
	f->next_seq = tp->copied_seq;
	f->seq_known = 1;
	return 0;
}

/*
 * The sequence guard. Returns the number of old bytes the skb starts
 * with (0: all new, len: all old), or -1 when its sequence is unknown
 * (the skb is then passed, never redirected unchecked). The program runs for one socket at a time (under its
 * lock), so next_seq needs no atomics.
 */
static __always_inline __s64
sm_guard(struct __sk_buff *skb, struct sm_flow *f, __u32 len)
{
	__u32 seq;
	__s32 old;

	if (sm_seq(skb, &seq) != 0 || (!f->seq_known && sm_seq_start(skb, f) != 0))
		return -1;
	old = (__s32)(f->next_seq - seq);
	if (old <= 0) {
		/* New bytes (a gap cannot be: TCP queues in order). */
		f->next_seq = seq + len;
		return 0;
	}
	if ((__u32)old >= len)
		return len;
	f->next_seq = seq + len;
	return old;
}

/*
 * The target's snd_una, and on the flow's first skb (before any byte of
 * it went out) its write_seq as the flow's start. -1 if the target
 * cannot be read (the redirect then fails and counts it).
 */
static __always_inline int
sm_target_una(struct sm_flow *f, __u32 *una)
{
	struct bpf_sock *t = bpf_map_lookup_elem(&sm_peers, &f->peer);
	struct tcp_sock *tp;
	__u32 wseq;

	if (t == NULL)
		return -1;
	if ((tp = bpf_skc_to_tcp_sock(t)) == NULL) {
		bpf_sk_release(t);
		return -1;
	}
	*una = tp->snd_una;
	wseq = tp->write_seq;
	bpf_sk_release(t);
	if (!f->una_known) {
		f->una0 = wseq;
		f->una_known = 1;
	}
	return 0;
}

/* Would len more bytes take what the flow handed its target and the
 * target's peer has not acknowledged past sm_queue_limit? Only exact
 * once every passed byte was written (the caller's condition). */
static __always_inline int
sm_over_bound(const struct sm_flow *f, __u32 una, __u32 len)
{
	__u32 handed = (__u32)(f->bytes + f->passed - f->skipped);
	__s32 queued = (__s32)(handed - (una - f->una0));

	return queued > 0 && (__u64)queued + len > sm_queue_limit;
}

/* Pass an skb that starts with old old bytes, recording them for
 * splicer to skip. */
static __always_inline int
sm_pass_skip(struct sm_flow *f, __u32 old, __u32 len)
{
	__u64 n = f->nskips;
	__u32 i = n % SM_SKIPS;

	if (i < SM_SKIPS) {	/* for the verifier */
		f->skip_at[i] = f->passed;
		f->skip_len[i] = old;
	}
	f->skipped += old;
	f->dup_skbs++;
	__sync_fetch_and_add(&f->nskips, 1);	/* after the record: see sockmap.h */
	__sync_fetch_and_add(&f->passed, len);
	return SK_PASS;
}

SEC("sk_skb/stream_verdict")
int sm_verdict(struct __sk_buff *skb)
{
	__u64 cookie = bpf_get_socket_cookie(skb);
	struct sm_flow *f = bpf_map_lookup_elem(&sm_flows, &cookie);
	struct sm_ctl *c = bpf_map_lookup_elem(&sm_ctl, &cookie);
	__u32 len = skb->len, una = 0;
	__s64 old;
	int known;

	/* Not a socket splicer put there: leave it to its owner. */
	if (f == NULL)
		return SK_PASS;
	/* A segment with no byte carries only a FIN, which TCP has already
	 * taken note of (splicer forwards it). Redirected, the kernel's
	 * sender would take "0 bytes sent" for a broken pipe and stop the
	 * peer's transmissions. */
	if (len == 0)
		return SK_DROP;
	known = sm_target_una(f, &una) == 0;
	if ((old = sm_guard(skb, f, len)) < 0) {
		/* Unchecked: splicer copies them, and its count check
		 * (sm_doubled) still catches a doubled skb. */
		__sync_fetch_and_add(&f->passed, len);
		return SK_PASS;
	}
	if (old == len) {
		f->dup += len;
		f->dup_skbs++;
		return SK_DROP;
	}
	if (old > 0)
		return sm_pass_skip(f, (__u32)old, len);
	if (c == NULL || c->hold || c->written != f->passed) {
		__sync_fetch_and_add(&f->passed, len);
		return SK_PASS;
	}
	if (known && sm_over_bound(f, una, len)) {
		f->bound_skbs++;
		__sync_fetch_and_add(&f->passed, len);
		return SK_PASS;
	}
	if (bpf_sk_redirect_hash(skb, &sm_peers, &f->peer, 0) == SK_PASS) {
		__sync_fetch_and_add(&f->bytes, len);
		return SK_PASS;
	}
	__sync_fetch_and_add(&f->dropped, len);
	return SK_DROP;
}

char LICENSE[] SEC("license") = "GPL";
