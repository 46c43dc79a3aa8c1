/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Shared by the packet fuzzer (fuzz_packet.c), its oracle (fz_oracle.c) and
 * the seed generator (fz_seeds.c): the known client addresses, the policies
 * and path rules the fuzzer loads, and the input format.
 *
 * Input format (every byte string decodes to something; see fz_decode()):
 *
 *   "BVSEQ1\n" + { u16 BE length, bytes }*   a sequence of inputs run in order
 *                                            from an empty flow table (what a
 *                                            violation in a "carry" input writes
 *                                            so the history reproduces it)
 *   h0 h1 FRAME...                           kind 2/3: one raw Ethernet frame
 *   h0 h1 h2 .. h7 SPLITS PAYLOAD            kind 0/1: one TCP flow built here,
 *                                            PAYLOAD being the client's byte
 *                                            stream, cut into segments at SPLITS
 *
 *   h0  bits 0-1 mode (0 inline, 1 mirror, 2/3 pcap); bits 2-3 kind (0/1
 *       stream, 2 raw frame, 3 raw frame with checksums fixed first); bit 4
 *       carry (keep this flow's state from earlier inputs); bit 5 SYN first;
 *       bit 6 a server ACK after every client segment; bit 7 send the stream
 *       server->client instead. Kind 1 is kind 0 with PAYLOAD a program
 *       for fz_generate() instead of the stream itself
 *   h1  global policy index (mod FZ_NPOL)
 *   h2  bit 0 IPv6; bits 1-2 VLAN tags (mod 3); bits 3-7 L3 shape: IPv4
 *       0..10 options of 4*v bytes, 11 MF, 12 fragment offset 8, 13 both,
 *       else DF; IPv6 bit 3 hop-by-hop, 4 destination options, 5 routing
 *       header (SRH, one segment), 6 segments left 1 (pseudo-header uses the
 *       final destination), 7 fragment header
 *   h3  hop-by-hop "hdr ext len" (size (h3 + 1) * 8, up to 2048 bytes)
 *   h4  bits 0-1 client address; 2-3 server port (80, 8080, 443, 3128);
 *       4-5 client port (40000, 40001, 80, 8080); 6-7 TCP options (0, 4,
 *       12, 40 bytes)
 *   h5  bits 0-2 segments - 1; bit 3 FIN at the end; bit 4 RST at the end;
 *       bit 5 retransmit segment k later (exact copy); bit 6 move segment k
 *       to position j (reordering: the text oracle is off); bit 7 after
 *       segment k, send k and k+1 as one segment (retransmission with new
 *       data)
 *   h6  bits 0-2 k, bits 3-5 j
 *   h7  initial sequence number (h7 << 24 | 0xfff000: h7 = 0xff wraps)
 *   SPLITS (segments - 1) u16 BE, each taken mod (payload length + 1)
 */
#ifndef BV_FZ_COMMON_H
#define BV_FZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include "bv_abi.h"

#define FZ_SEQ_MAGIC "BVSEQ1\n"
#define FZ_SEQ_MAGIC_LEN 7

/* Client addresses: L3 sources and the addresses the seeds put in text
 * headers come from here; the oracle looks for these exact texts. Index 3
 * is private (10/8, fc00::/7). */
#define FZ_NCLIENT 4
extern const char *const fz_client4[FZ_NCLIENT];
extern const char *const fz_client6[FZ_NCLIENT];
extern const char *const fz_server4, *const fz_server6, *const fz_router6;

#define FZ_NPOL 12
void fz_policy(int idx, struct bv_policy *p);
void fz_policy_default(struct bv_policy *p);

struct fz_app {
	uint8_t kind; /* BV_APPKEY_APP / BV_APPKEY_HOST */
	const char *id;
	struct bv_policy pol;
};
#define FZ_NAPPS 4
void fz_apps(struct fz_app a[FZ_NAPPS]);

#define FZ_NPATHS 6
void fz_paths(struct bv_path_rule r[FZ_NPATHS]);

/* Beacon ports the fuzzer configures (the defaults). */
static inline int fz_beacon_port(uint16_t p)
{
	return p == 80 || p == 8080;
}

enum fz_kind { FZ_STREAM = 0, FZ_GEN = 1, FZ_RAW = 2, FZ_RAW_FIXED = 3 };

/*
 * Grammar-driven streams: prog is read as (element, parameter) byte pairs,
 * each appending a well-formed piece of a client stream to out: request
 * lines (every path rule, methods, queries with vi=/app=/sn=), address
 * headers with the known client addresses in many textual forms,
 * Forwarded, cookies, DNT/GPC, Host (incl. the override hosts), filler
 * headers of any length, the end of a head with a Content-Length or
 * chunked body, PROXY v1, and raw bytes taken from prog. Returns the
 * stream length (<= cap).
 */
size_t fz_generate(const uint8_t *prog, size_t n, uint8_t *out, size_t cap);

#define FZ_MAXSEG 8
struct fz_case {
	int mode;             /* enum bv_mode */
	int kind;             /* FZ_STREAM, FZ_RAW, FZ_RAW_FIXED */
	int carry, syn, acks, s2c;
	int pol;
	/* raw */
	const uint8_t *raw;
	size_t rawlen;
	/* stream */
	int family, nvlan;
	int ip4_opts;         /* bytes */
	uint16_t frag_off;    /* IPv4 raw field */
	int hbh, hbh_len, dst, rt, rt_segleft, frag6;
	int client;
	uint16_t sport, cport;
	int tcp_opts;
	int nseg;
	uint16_t split[FZ_MAXSEG];
	int fin, rst, dup, move, coalesce, op_k, op_j;
	uint32_t seq0;
	const uint8_t *pl;
	size_t plen;
};

/* 0 ok, -1 too short to mean anything (the input is ignored). */
int fz_decode(const uint8_t *d, size_t n, struct fz_case *c);

/* The inverse, for the seed generator: header, splits, payload. Fields
 * take the values fz_decode() can produce. Returns bytes written, 0 if cap
 * is too small. */
size_t fz_encode(const struct fz_case *c, uint8_t *out, size_t cap);

#endif /* BV_FZ_COMMON_H */
