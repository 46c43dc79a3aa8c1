/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The lab's "peer" XDP program: passes every frame. It exists only because
 * of how veth delivers frames that XDP sends into it. A frame that
 * beaconveil returns with XDP_TX (drop_action=reset: the TCP RST) or
 * redirects (mirror mode: --egress) goes straight into the peer's receive
 * ring; the peer picks it up at once only when it runs NAPI, which a veth
 * does when it has an XDP program itself. Without one the frame waits for
 * the next unrelated packet (seconds at times), or the redirect fails. A
 * real NIC has no such quirk. tools/lab/lab.sh attaches this to the
 * HAProxy side of the collector link and to the capture interface.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int lab_xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
