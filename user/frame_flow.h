/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Which TCP connection an Ethernet frame belongs to, as a hash, so that
 * `beaconveil pcap` can share a capture's frames among CPUs while every
 * frame of one connection is still run in order, by one CPU at a time:
 * the program's per-connection state (bv_flows, bv_half, bv_auflow) is
 * all there is between frames.
 */
#ifndef BV_FRAME_FLOW_H
#define BV_FRAME_FLOW_H

#include <stddef.h>
#include <stdint.h>

struct bv_tunnel_ports {
	const uint16_t *vxlan, *geneve; /* UDP destination ports decapsulated */
	int nvxlan, ngeneve;
};

/*
 * The connection's hash: the same for both directions, from the inner
 * frame of a VXLAN or GENEVE packet to one of tp's ports (the program
 * keys its state by the inner connection there). 0 for a frame of no TCP
 * connection (ARP, UDP, ICMP, fragments, truncated or malformed frames):
 * the program keeps no state for those, any CPU may run them.
 */
uint64_t bv_frame_flow(const unsigned char *f, size_t len, const struct bv_tunnel_ports *tp);

#endif /* BV_FRAME_FLOW_H */
