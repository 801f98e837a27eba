// SPDX-License-Identifier: GPL-2.0
/*
 * overlap.bpf.c: a pure sk_skb stream verdict relay (redirect to the
 * peer's egress, never SK_PASS) that checks each skb's sequence number
 * against the end of what it already redirected on that socket. An skb
 * that starts earlier is the kernel's fault: tcp_read_skb()
 * (net/ipv4/tcp.c) hands whole skbs from sk_receive_queue to the verdict
 * program without skipping copied_seq - TCP_SKB_CB(skb)->seq, as
 * tcp_recvmsg() and tcp_read_sock() do. The skb is still redirected, so
 * the peer receives the old bytes twice (the checker in overlap.c sees
 * it).
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct sk_buff {
	char cb[48];
} __attribute__((preserve_access_index));

struct tcp_sock {
	__u32 copied_seq;
	__u32 rcv_nxt;
} __attribute__((preserve_access_index));

extern void *bpf_cast_to_kern_ctx(void *obj) __ksym;

struct flow {
	__u64 peer;		/* cookie of the target socket */
	__u32 next_seq;		/* end of what was redirected */
	__u32 known;
};

struct overlap {
	__u64 cookie;
	__u32 seq, len, next_seq, copied_seq, rcv_nxt, pad;
};

#define MAX_SOCKS 4096
#define MAX_EVENTS 64

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, MAX_SOCKS);
	__type(key, __u64);
	__type(value, __u64);
} socks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, MAX_SOCKS);
	__type(key, __u64);
	__type(value, __u64);
} targets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_SOCKS);
	__type(key, __u64);
	__type(value, struct flow);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_EVENTS);
	__type(key, __u32);
	__type(value, struct overlap);
} events SEC(".maps");

__u64 nevents;
__u64 redirected;

SEC("sk_skb/stream_verdict")
int verdict(struct __sk_buff *skb)
{
	__u64 cookie = bpf_get_socket_cookie(skb);
	struct flow *f = bpf_map_lookup_elem(&flows, &cookie);
	struct sk_buff *kskb = bpf_cast_to_kern_ctx(skb);
	struct bpf_sock *sk = skb->sk;
	struct tcp_sock *tp = sk ? bpf_skc_to_tcp_sock(sk) : NULL;
	__u32 seq = 0, len = skb->len;

	if (f == NULL || tp == NULL)
		return SK_PASS;
	if (len == 0)
		return SK_DROP;		/* a bare FIN */
	bpf_probe_read_kernel(&seq, sizeof(seq), &kskb->cb[0]);	/* TCP_SKB_CB(skb)->seq */
	if (!f->known) {
		f->next_seq = tp->copied_seq;
		f->known = 1;
	}
	if ((__s32)(f->next_seq - seq) > 0) {
		__u32 i = __sync_fetch_and_add(&nevents, 1) % MAX_EVENTS;
		struct overlap *o = bpf_map_lookup_elem(&events, &i);

		if (o != NULL) {
			o->cookie = cookie;
			o->seq = seq;
			o->len = len;
			o->next_seq = f->next_seq;
			o->copied_seq = tp->copied_seq;
			o->rcv_nxt = tp->rcv_nxt;
		}
	}
	if ((__s32)(seq + len - f->next_seq) > 0)
		f->next_seq = seq + len;
	__sync_fetch_and_add(&redirected, len);
	return bpf_sk_redirect_hash(skb, &targets, &f->peer, 0);
}

char LICENSE[] SEC("license") = "GPL";
