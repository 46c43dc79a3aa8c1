/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Independent packet builder and validator for the beaconveil tests.
 *
 * Nothing here shares code with bpf/ or user/: the point is to check the
 * program under test against a second, simple implementation. Frames are
 * Ethernet II (src 02:00:00:00:00:01, dst 02:00:00:00:00:02), optionally
 * with one 802.1Q tag or a QinQ pair, then IPv4 or IPv6, then TCP, UDP or
 * ICMP/ICMPv6 echo. Every checksum the builder writes is correct.
 *
 * Notes on semantics (beyond the one-line comments below):
 *  - Option fields that do not apply to the family are ignored
 *    (ip_opts_len and frag_off for IPv6, ipv6_ext for IPv4) and tcp_opts_len
 *    is ignored by the UDP/ICMP builders.
 *  - IPv4 identification is always 1, IPv6 flow label always 0.
 *  - ipv6_ext headers: 1 = hop-by-hop; 2 = + destination options;
 *    3 = + a second destination options header. Each is 8 bytes, its
 *    6 option bytes being one PadN option.
 *  - tcp_opts_len: NOP padding, and if >= 12 the last 12 bytes are
 *    NOP, NOP, timestamp (TSval 0x01020304, TSecr 0).
 *  - ICMP echo: identifier = sport, sequence = (uint16_t)seq, no data.
 *    pkt_parse reports identifier in sport and sequence in dport.
 *  - IPv4 fragments (MF set or offset != 0) and IPv6 packets with a
 *    fragment header: the L4 checksum cannot be verified from one
 *    fragment, so pkt_l4_csum_ok() returns true for them and
 *    pkt_fix_csums() only recomputes the L4 checksum of a first fragment
 *    (over the bytes present, which is what the builder writes). For a
 *    non-first fragment pkt_parse sets l4_off = payload_off = start of the
 *    fragment data (no L4 header), ports/seq 0.
 *  - UDP checksum 0 is accepted for IPv4 ("no checksum"); over IPv6 it is
 *    illegal (RFC 8200 8.1) and pkt_l4_csum_ok() returns false.
 *  - Lengths come from the IP header; bytes after it (Ethernet padding)
 *    are allowed and ignored.
 */
#ifndef BV_TESTS_PKTBUILD_H
#define BV_TESTS_PKTBUILD_H

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

struct pkt_opts {
	int family;               /* 4 or 6 */
	const char *src, *dst;    /* textual addresses, e.g. "203.0.113.7", "2001:db8::7" */
	uint16_t sport, dport;    /* host order */
	uint32_t seq, ack;        /* host order */
	uint8_t tcp_flags;        /* 0 means ACK|PSH (0x18) */
	int nvlan;                /* 0, 1 (802.1Q 0x8100), 2 (QinQ: outer 0x88a8, inner 0x8100) */
	uint16_t vlan_id[2];      /* outer first */
	int ip_opts_len;          /* IPv4 options length, multiple of 4, <=40: NOPs then one EOL */
	int ipv6_ext;             /* 0..3 extension headers before L4: hop-by-hop (0),
	                             destination options (60), destination options (60);
	                             each 8 bytes with PadN */
	uint8_t tos;              /* IPv4 TOS / IPv6 traffic class */
	uint8_t ttl;              /* 0 means 64 */
	uint16_t frag_off;        /* IPv4 raw frag field host order (flags|offset); 0 = DF not set */
	int tcp_opts_len;         /* TCP options length, multiple of 4 (NOPs + timestamp if >=12), <=40 */
	uint16_t window;          /* 0 means 64240 */
};

/* Ethernet + VLANs + IP + L4 + payload, all checksums correct.
 * Returns frame length or 0 if cap too small/bad opts. */
size_t pkt_build_tcp(uint8_t *buf, size_t cap, const struct pkt_opts *o,
		     const void *payload, size_t plen);
size_t pkt_build_udp(uint8_t *buf, size_t cap, const struct pkt_opts *o,
		     const void *payload, size_t plen);
/* ICMP echo request (v4) / ICMPv6 echo request (v6) */
size_t pkt_build_icmp_echo(uint8_t *buf, size_t cap, const struct pkt_opts *o);

/* Parse a frame the builder (or the program under test) produced. */
struct pkt_view {
	int family;          /* 4/6, 0 if not IP */
	size_t l3_off, l4_off, payload_off, len; /* len = frame length */
	uint8_t l4_proto;    /* final protocol after IPv6 ext headers */
	uint8_t src[16], dst[16]; /* raw address bytes (4 used for v4) */
	uint16_t sport, dport;    /* host order */
	uint32_t seq, ack;
	uint8_t tcp_flags;
	uint8_t tos;         /* v4 TOS or v6 traffic class */
	size_t payload_len;
};
int pkt_parse(const uint8_t *buf, size_t len, struct pkt_view *v);  /* 0 ok, -1 malformed */
bool pkt_ipv4_csum_ok(const uint8_t *buf, size_t len);  /* true for non-v4 */
bool pkt_l4_csum_ok(const uint8_t *buf, size_t len);    /* TCP/UDP/ICMP(v6), with pseudo-header; UDP 0 = ok (v4) */
void pkt_fix_csums(uint8_t *buf, size_t len);           /* recompute all (to build deliberately edited packets) */

/* Write frames to a pcap file (DLT_EN10MB). 0 ok, -1 error. */
int pkt_write_pcap(const char *path, uint8_t *const *frames, const size_t *lens, size_t n);

/* Run tshark on a pcap with IP/TCP/UDP checksum validation enabled:
 *   tshark -n -r FILE -o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE
 *          -o udp.check_checksum:TRUE -T fields -E separator=/t
 *          -e frame.number -e ip.checksum.status -e tcp.checksum.status
 *          -e udp.checksum.status -e icmp.checksum.status
 *          -e icmpv6.checksum.status
 * *frames = number of frames, *bad_csum = frames with any status Bad (0)
 * or Illegal (4). Returns 0 if tshark ran and exited 0, -1 otherwise. */
int pkt_tshark_check(const char *pcap_path, int *frames, int *bad_csum);

/* L4 payload of a frame (NULL if malformed); *plen = its length. */
const uint8_t *pkt_payload(const uint8_t *buf, size_t len, size_t *plen);
/* The same payload as a NUL-terminated string in a static buffer (the
 * next call overwrites it); NULL when the frame has none or it is over
 * 16 KiB. */
const char *pkt_payload_str(const uint8_t *buf, size_t len);

/*
 * Tunnels: an Ethernet frame (inner, e.g. from pkt_build_tcp) carried in
 * VXLAN (RFC 7348) or GENEVE (RFC 8926) over UDP. The outer frame is built
 * by pkt_build_udp from `outer` (addresses, family, ports: dport 4789 for
 * VXLAN, 6081 for GENEVE, or any other), so its checksums are correct;
 * zero_csum then sets the outer UDP checksum to 0 ("none", IPv4 only).
 * GENEVE options: opts_len bytes (multiple of 4, <= 252) of options of
 * class 0xff01 (experimental), type 1, at most 128 bytes each.
 */
enum pkt_tunnel_kind { PKT_VXLAN = 1, PKT_GENEVE = 2 };
struct pkt_tunnel {
	int kind;              /* enum pkt_tunnel_kind */
	uint32_t vni;          /* 24 bits */
	int vxlan_flags;       /* -1 means 0x08 (I); else the flags byte as is */
	int opts_len;          /* GENEVE options, bytes */
	uint16_t geneve_proto; /* 0 means 0x6558 (Ethernet) */
	uint8_t geneve_ver;    /* 0 */
	bool zero_csum;
};
size_t pkt_build_tunnel(uint8_t *buf, size_t cap, const struct pkt_opts *outer,
			const struct pkt_tunnel *t, const uint8_t *inner, size_t ilen);

/* The inner Ethernet frame of a tunnel frame of that kind (NULL if the
 * outer frame or the tunnel header is malformed); *ilen = its length, to the
 * end of the outer UDP datagram. */
const uint8_t *pkt_tunnel_inner(const uint8_t *buf, size_t len, int kind, size_t *ilen);

#endif /* BV_TESTS_PKTBUILD_H */
