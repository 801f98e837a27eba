// SPDX-License-Identifier: GPL-2.0
/*
 * sockmap.bpf.c: the sockmap engine's data path. Each segment a socket
 * of sm_socks receives is redirected to the egress of its peer, or passed
 * to its own queue while splicer holds the flow; the bytes are counted
 * per receiving socket. See sockmap.h for the maps.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "sockmap.h"

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

SEC("sk_skb/stream_verdict")
int sm_verdict(struct __sk_buff *skb)
{
	__u64 cookie = bpf_get_socket_cookie(skb);
	struct sm_flow *f = bpf_map_lookup_elem(&sm_flows, &cookie);
	struct sm_ctl *c = bpf_map_lookup_elem(&sm_ctl, &cookie);
	__u32 len = skb->len;

	/* Not a socket splicer put there: leave it to its owner. */
	if (f == NULL)
		return SK_PASS;
	/* A segment with no byte carries only a FIN, which TCP has already
	 * taken note of (splicer forwards it). Redirected, the kernel's
	 * sender would take "0 bytes sent" for a broken pipe and stop the
	 * peer's transmissions. */
	if (len == 0)
		return SK_DROP;
	if (c != NULL && c->hold) {
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
