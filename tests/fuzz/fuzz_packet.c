/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * libFuzzer target: the real beaconveil XDP object, loaded once per mode
 * (inline, mirror, pcap; unpinned), runs every frame an input describes
 * through BPF_PROG_TEST_RUN, and every output is checked against the
 * invariants below. A violation aborts (libFuzzer saves the input).
 *
 * Inputs (fz_common.h): a raw frame, or a TCP flow built here from a
 * client byte stream cut into segments at positions the input encodes,
 * optionally after a SYN, with retransmissions, reordering, coalesced
 * retransmissions, server ACKs, FIN/RST, IPv4 options, VLAN tags, IPv6
 * extension headers, under one of FZ_NPOL global policies plus fixed
 * per-application overrides.
 *
 * Flow state: an input's own flows are forgotten before it runs unless its
 * "carry" bit is set; every FZ_RESET_EVERY inputs the whole flow table is
 * emptied. A violation writes, besides libFuzzer's crash file, the inputs
 * since the last reset as one "BVSEQ1" sequence input that replays the
 * state (bv-history-*.bvseq, in $BV_FUZZ_HISTORY_DIR or the cwd).
 *
 * BV_FUZZ_TRACE=1 prints every frame's verdict, payload in and out, and the
 * flow's scanner state (for analysing a crash input).
 *
 * Known bugs: BV_FUZZ_KNOWN (comma-separated) makes the target skip inputs
 * of a known, reported bug class so that a run explores past it; the
 * class's reproducer in tests/fuzz/crashes/ still fails when replayed.
 *   l4off  IPv6 frames whose L4 header starts 1024 bytes or more into the
 *          frame (extension headers of ~1 KB)
 *   srh    IPv6 frames with a routing header
 *   staletag  (not a skip: I6 then accepts class "dropped" on a kept
 *          segment that follows a dropped request)
 *   idtail (not a skip: I7 then checks only the first 64 characters of a
 *          visitor identifier)
 *   pipeline  (not a skip: I7 then ignores the identifiers of a request
 *          when a kept segment holding them also holds the next request's
 *          start)
 *   icmp4  IPv4 frames with protocol 58
 *   twin   (not a skip: I10 is not checked on flows whose stream holds a
 *          visitor identifier: rxVisitor, dtPC or vi=)
 *   line257  flows whose stream has a line of L bytes (up to its CR) with
 *          L % 257 == 0 or 256
 *   idgap  (not a skip: I7 then ignores identifiers holding a space, tab
 *          or '"' after their first character)
 *   reqseq flows with a data segment that starts at the space right after
 *          an upper-case word (a method cut from its request line)
 *
 * Invariants, for every frame:
 *  I1 the action is one the mode can return (inline PASS/DROP/TX, mirror
 *     REDIRECT/DROP, pcap PASS/DROP), never ABORTED or an error;
 *  I2 a kept frame has the input's length; XDP_TX only in inline mode and
 *     then is a well-formed RST|ACK back to the client (swapped MACs,
 *     addresses, ports; seq = the segment's ack; ack = its seq + payload;
 *     valid checksums; no payload);
 *  I3 a kept frame's IPv4 header checksum and TCP/UDP/ICMP checksums are
 *     valid if the input's were (checked by tests/pktbuild.c, which uses the
 *     routing header's final destination in the pseudo-header);
 *  I4 a kept frame differs from the input only where the mode allows:
 *     inline: the TCP checksum and payload of client->server beacon-port
 *     segments, nothing else (never L2/L3/L4 headers of a live flow);
 *     mirror/pcap: additionally the DSCP bits, the IPv4 header checksum,
 *     the L4 checksum, and the IP addresses: source of client->server
 *     beacon-port packets, destination of server->client ones, both for
 *     all other IP traffic, each exactly the input address with the bits
 *     beyond the policy's prefix zeroed (or unchanged when ip_mask=off,
 *     or public and the address is private);
 *  I5 no malformed IP frame (per the documented parse) and no TCP
 *     fragment is kept;
 *  I6 XDP metadata, when present, is a struct bv_meta with the magic, a
 *     class 1..3 consistent with its decision (a kept packet is never
 *     "dropped");
 *  I7 (text oracle, fz_oracle.h) for a client->server stream sent in
 *     order on a fresh flow: no known client address beyond the kept
 *     prefix in X-Forwarded-For/X-Real-IP/True-Client-IP/Forwarded for=
 *     of a beacon request, nor in the PROXY v1/v2 source; no visitor id of
 *     a request that cannot be "pass"; non-beacon requests and bodies are
 *     not modified;
 *  I8 every event in the ring buffers is well-formed and an anonymized
 *     decision never carries a visitor hash;
 *  I9 counters: every packet got exactly one counted verdict (pkts ==
 *     act_pass + act_drop + act_tx + act_redirect); decisions <= requests;
 *  I10 noninterference (mirror/pcap, ip_mask=all, client port not a
 *     beacon port): the same flow from a
 *     client address that differs only in bits beyond the kept prefix gives
 *     byte-identical outputs, actions and metadata: nothing kept may depend
 *     on the masked bits (a pseudonym, a checksum, a tag).
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "harness.h"
#include "pktbuild.h"
#include "beaconveil.skel.h"
#include "bv_flow.h"
#include "fz_common.h"
#include "fz_frame.h"
#include "fz_oracle.h"

#define FZ_RESET_EVERY 4096
#define FZ_COUNTERS_EVERY 1024
#define FZ_MAXENT 48
#define FZ_FRAME_CAP 4096
#define FZ_NCHK 512

static struct bv_harness H[3];
static struct ring_buffer *RB[3];
static struct bv_policy pol_now[3];
static int pol_known[3];
static size_t linmax;
static struct fz_app apps[FZ_NAPPS];
static struct bv_path_rule paths[FZ_NPATHS];
static unsigned long long execs;
static int in_seq;
static int trace; /* BV_FUZZ_TRACE=1: print every frame's verdict and output payload */
static int known_l4off, known_srh, known_staletag, known_idtail, known_pipeline, known_icmp4,
	   known_twin, known_line257, known_reqseq, known_idgap;

/* What the run exercised, printed at exit. */
static struct {
	unsigned long long inputs, streams, gens, raws, seqs, frames, kept, dropped, rst, skipped;
	unsigned long long oracle_streams, addr, ids, untouched, bin, l3, twins;
} st;

static void print_summary(void)
{
	fprintf(stderr, "beaconveil-fuzz summary: %llu inputs (%llu flows, %llu of them generated, "
		"%llu raw frames, %llu sequences), %llu frames run: %llu kept, %llu dropped, %llu answered by RST; "
		"%llu L3 address checks; text oracle on %llu streams: %llu client-address ranges, "
		"%llu visitor-id ranges, %llu must-not-change ranges, %llu PROXY v2 sources; "
		"%llu flows replayed from a twin address; %llu inputs skipped as known bugs\n",
		st.inputs, st.streams, st.gens, st.raws, st.seqs, st.frames, st.kept, st.dropped, st.rst, st.l3,
		st.oracle_streams, st.addr, st.ids, st.untouched, st.bin, st.twins, st.skipped);
}

/* Is this frame of a known bug class the run was told to skip? */
static int known_skip(const uint8_t *f, size_t n)
{
	struct fz_view v;

	if (!known_l4off && !known_srh && !known_icmp4)
		return 0;
	fz_parse(f, n, &v);
	if ((known_srh && v.rt) || (known_l4off && v.family == 6 && v.l4_off >= 1024) ||
	    (known_icmp4 && v.family == 4 && v.proto == 58)) {
		st.skipped++;
		return 1;
	}
	return 0;
}

/* libFuzzer counts these like coverage: states the BPF side reached. */
#define NXC 8192
__attribute__((used, section("__libfuzzer_extra_counters"))) static uint8_t xc[NXC];

static void feat(uint32_t a, uint32_t b, uint32_t c)
{
	uint32_t h = a * 0x9e3779b1u ^ (b + 0x7f4a7c15u) * 0x85ebca6bu ^ (c + 0x165667b1u) * 0xc2b2ae35u;
	uint8_t *p = &xc[(h ^ (h >> 15)) % NXC];

	if (*p < 255)
		(*p)++;
}

/* ---- history of inputs since the last reset -------------------------- */

/* In one static arena: a malloc per input that lives on would make
 * libFuzzer's leak check scan the heap after every input. */
#define HIST_ARENA (24u << 20)
static uint8_t hist_arena[HIST_ARENA];
static size_t hist_off[FZ_RESET_EVERY + 2], hist_len[FZ_RESET_EVERY + 2], hist_used;
static int nhist, hist_lost;

static void hist_clear(void)
{
	nhist = 0;
	hist_used = 0;
	hist_lost = 0;
}

static void hist_add(const uint8_t *d, size_t n)
{
	if (nhist > FZ_RESET_EVERY || n > 0xffff || hist_used + n > HIST_ARENA) {
		hist_lost = 1;
		return;
	}
	memcpy(hist_arena + hist_used, d, n);
	hist_off[nhist] = hist_used;
	hist_len[nhist++] = n;
	hist_used += n;
}

static void hist_write(void)
{
	const char *dir = getenv("BV_FUZZ_HISTORY_DIR");
	char path[4096];
	FILE *f;

	if (nhist < 2 || hist_lost)
		return;
	snprintf(path, sizeof(path), "%s/bv-history-%d.bvseq", dir && *dir ? dir : ".", (int)getpid());
	f = fopen(path, "wb");
	if (!f)
		return;
	fwrite(FZ_SEQ_MAGIC, 1, FZ_SEQ_MAGIC_LEN, f);
	for (int i = 0; i < nhist; i++) {
		uint8_t l[2] = { (uint8_t)(hist_len[i] >> 8), (uint8_t)hist_len[i] };

		fwrite(l, 1, 2, f);
		fwrite(hist_arena + hist_off[i], 1, hist_len[i], f);
	}
	fclose(f);
	fprintf(stderr, "beaconveil-fuzz: the %d inputs since the last flow-table reset "
		"(flow state carries over) are in %s; replay it as one input\n", nhist, path);
}

/* ---- failure reporting --------------------------------------------------- */

static char where[512];

static void dump(const char *label, const uint8_t *b, size_t n, size_t from)
{
	size_t end = from + 256 < n ? from + 256 : n;

	fprintf(stderr, "%s (%zu bytes, from %zu):", label, n, from);
	for (size_t i = from; i < end; i++)
		fprintf(stderr, "%s%02x", (i - from) % 32 ? " " : "\n  ", b[i]);
	fprintf(stderr, "\n");
}

static void fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "\nbeaconveil-fuzz: INVARIANT VIOLATED: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n  at: %s\n", where);
	if (!in_seq)
		hist_write();
	abort();
}

/* ---- setup ------------------------------------------------------------------ */

static const char *mode_name(int m)
{
	return m == BV_MODE_INLINE ? "inline" : m == BV_MODE_MIRROR ? "mirror" : "pcap";
}

static int ev_cb(void *ctx, void *data, size_t size)
{
	const struct bv_event *e = data;
	int m = (int)(long)ctx;

	if (size < sizeof(*e))
		fail("%s: event of %zu bytes < %zu", mode_name(m), size, sizeof(*e));
	if (e->decision >= BV_DEC_MAX)
		fail("%s: event with decision %u", mode_name(m), e->decision);
	if (!(e->sig & BV_SIG_BEACON))
		fail("%s: event for a request without the beacon signal (sig %#x)", mode_name(m), e->sig);
	if (e->app_len > BV_EVENT_APP_LEN)
		fail("%s: event app_len %u", mode_name(m), e->app_len);
	for (int i = 0; i < 4; i++)
		if (e->_pad[i])
			fail("%s: event padding not zero (kernel bytes leak)", mode_name(m));
	if (e->decision == BV_DEC_ANONYMIZED && e->visitor)
		fail("%s: anonymized decision emitted a visitor hash %#llx", mode_name(m),
		     (unsigned long long)e->visitor);
	return 0;
}

static void setup(void)
{

	fz_apps(apps);
	fz_paths(paths);
	for (int m = 0; m < 3; m++) {
		struct bv_config *c = &H[m].cfg;

		if (harness_open(&H[m], (enum bv_mode)m)) {
			fprintf(stderr, "beaconveil-fuzz: cannot load the BPF object (%s mode); "
				"this needs root\n", mode_name(m));
			exit(1);
		}
		memcpy(c->paths, paths, sizeof(paths));
		c->npaths = FZ_NPATHS;
		c->settings.anon_key[0] = 0x0123456789abcdefULL;
		c->settings.anon_key[1] = 0xfedcba9876543210ULL;
		/* the Set-Cookie audit reads what a copy carries: its paths run too,
		 * and must change nothing the invariants look at */
		if (m != BV_MODE_INLINE)
			c->settings.flags |= BV_SETF_AUDIT | BV_SETF_AUDIT_SECURE;
		c->apps = calloc(FZ_NAPPS, sizeof(*c->apps));
		if (!c->apps)
			exit(1);
		for (int i = 0; i < FZ_NAPPS; i++) {
			c->apps[i].key.kind = apps[i].kind;
			c->apps[i].key.len = (__u8)strlen(apps[i].id);
			memcpy(c->apps[i].key.id, apps[i].id, strlen(apps[i].id));
			c->apps[i].pol = apps[i].pol;
		}
		c->napps = FZ_NAPPS;
		/* the oracle (I4, I5) knows bare frames only: no tunnel ports, so
		 * UDP is never decapsulated (tests/test_encap.c checks that) */
		c->nvxlan = 0;
		c->ngeneve = 0;
		if (harness_apply(&H[m]))
			exit(1);
		if (m == BV_MODE_MIRROR) {
			__u32 zero = 0, lo = if_nametoindex("lo");

			if (!lo || bpf_map_update_elem(bpf_map__fd(H[m].skel->maps.bv_egress), &zero,
						       &lo, BPF_ANY)) {
				fprintf(stderr, "beaconveil-fuzz: cannot set the mirror egress: %s\n",
					strerror(errno));
				exit(1);
			}
		}
		RB[m] = ring_buffer__new(bpf_map__fd(H[m].skel->maps.bv_events), ev_cb,
					 (void *)(long)m, NULL);
		if (!RB[m]) {
			fprintf(stderr, "beaconveil-fuzz: ring buffer: %s\n", strerror(errno));
			exit(1);
		}
	}
	{
		const char *k = getenv("BV_FUZZ_KNOWN");

		known_l4off = k && strstr(k, "l4off");
		known_srh = k && strstr(k, "srh");
		known_staletag = k && strstr(k, "staletag");
		known_idtail = k && strstr(k, "idtail");
		known_pipeline = k && strstr(k, "pipeline");
		known_icmp4 = k && strstr(k, "icmp4");
		known_twin = k && strstr(k, "twin");
		known_line257 = k && strstr(k, "line257");
		known_reqseq = k && strstr(k, "reqseq");
		known_idgap = k && strstr(k, "idgap");
		if (known_l4off || known_srh)
			fprintf(stderr, "beaconveil-fuzz: skipping inputs of known bug classes: %s\n", k);
	}
	trace = getenv("BV_FUZZ_TRACE") && atoi(getenv("BV_FUZZ_TRACE"));
	atexit(print_summary);
	linmax = bv_xdp_linear_max();
	if (linmax > FZ_FRAME_CAP)
		linmax = FZ_FRAME_CAP;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	setup();
	return 0;
}

static void full_reset(void)
{
	for (int m = 0; m < 3; m++)
		harness_clear_flows(&H[m]);
	hist_clear();
}

static void use_policy(int m, const struct bv_policy *p)
{
	__u32 zero = 0;

	if (pol_known[m] && !memcmp(&pol_now[m], p, sizeof(*p)))
		return;
	if (bpf_map_update_elem(H[m].fds.policy, &zero, p, BPF_ANY))
		fail("bv_policy update: %s", strerror(errno));
	pol_now[m] = *p;
	pol_known[m] = 1;
}

static void check_counters(void)
{
	for (int m = 0; m < 3; m++) {
		__u64 pk = harness_stat(&H[m], BV_ST_PKTS);
		__u64 acts = harness_stat(&H[m], BV_ST_ACT_PASS) + harness_stat(&H[m], BV_ST_ACT_DROP) +
			     harness_stat(&H[m], BV_ST_ACT_TX) + harness_stat(&H[m], BV_ST_ACT_REDIRECT);
		__u64 req = harness_stat(&H[m], BV_ST_REQUESTS), dec = 0;

		for (int d = 0; d < BV_DEC_MAX; d++)
			dec += harness_stat(&H[m], d);
		snprintf(where, sizeof(where), "counters of the %s program", mode_name(m));
		if (pk != acts)
			fail("%s: %llu packets but %llu verdicts counted", mode_name(m),
			     (unsigned long long)pk, (unsigned long long)acts);
		if (dec > req)
			fail("%s: %llu decisions for %llu requests", mode_name(m),
			     (unsigned long long)dec, (unsigned long long)req);
	}
}

/* ---- one frame --------------------------------------------------------------- */

static uint8_t outbuf[FZ_FRAME_CAP * 2];
static size_t outlen;

static int run_frame(int m, const uint8_t *in, size_t len)
{
	int act;

	outlen = sizeof(outbuf);
	act = harness_run(&H[m], in, len, outbuf, &outlen);
	if (act < 0)
		fail("BPF_PROG_TEST_RUN failed (%zu-byte frame)", len);
	st.frames++;
	if (act == XDP_DROP)
		st.dropped++;
	else if (act == XDP_TX)
		st.rst++;
	else
		st.kept++;
	return act;
}

static void mask_addr(const uint8_t *in, uint8_t *out, int nbytes, int prefix)
{
	for (int i = 0; i < nbytes; i++) {
		int keep = prefix - 8 * i;

		out[i] = keep >= 8 ? in[i] : keep <= 0 ? 0 : (uint8_t)(in[i] & (0xff << (8 - keep)));
	}
}

/* The address the output must carry in place of `a` under policy p. */
static void expect_addr(const struct bv_policy *p, int fam, const uint8_t *a, uint8_t *want)
{
	int nb = fam == 4 ? 4 : 16;

	memcpy(want, a, nb);
	if (p->ip_mask == BV_IPMASK_OFF)
		return;
	if (p->ip_mask == BV_IPMASK_PUBLIC && (fam == 4 ? fz_private4(a) : fz_private6(a)))
		return;
	mask_addr(a, want, nb, fam == 4 ? p->ipv4_prefix : p->ipv6_prefix);
}

static void check_rst(const uint8_t *in, size_t inlen, const struct fz_view *vi)
{
	struct fz_view vo;
	size_t alen = vi->family == 4 ? 4 : 16;

	if (!(vi->kind == FZ_V_IP && vi->tcp && fz_beacon_port(vi->dport)))
		fail("XDP_TX for a frame that is not a client->server beacon-port TCP segment");
	if (vi->ip4_opts || vi->ip6_ext)
		fail("XDP_TX (RST) with IPv4 options / IPv6 extension headers (documented: silent drop)");
	fz_parse(outbuf, outlen, &vo);
	if (vo.kind != FZ_V_IP || !vo.tcp)
		fail("XDP_TX frame does not parse as TCP");
	if (outlen != vi->l4_off + 20 || vo.l3_end != outlen || vo.pl_len)
		fail("XDP_TX frame is %zu bytes (IP end %zu), want %zu with no payload", outlen,
		     vo.l3_end, vi->l4_off + 20);
	if (vo.flags != 0x14)
		fail("XDP_TX TCP flags %#x, want RST|ACK", vo.flags);
	if (vo.sport != vi->dport || vo.dport != vi->sport)
		fail("XDP_TX ports %u->%u, want %u->%u", vo.sport, vo.dport, vi->dport, vi->sport);
	if (vo.seq != vi->ack || vo.ack != vi->seq + (uint32_t)vi->pl_len)
		fail("XDP_TX seq %u ack %u, want seq %u ack %u", vo.seq, vo.ack, vi->ack,
		     vi->seq + (uint32_t)vi->pl_len);
	if (memcmp(vo.src, vi->dst, alen) || memcmp(vo.dst, vi->src, alen))
		fail("XDP_TX addresses not swapped");
	if (memcmp(outbuf, in + 6, 6) || memcmp(outbuf + 6, in, 6))
		fail("XDP_TX MAC addresses not swapped");
	if (!pkt_ipv4_csum_ok(outbuf, outlen) || !pkt_l4_csum_ok(outbuf, outlen))
		fail("XDP_TX frame has a bad checksum");
	(void)inlen;
}

/*
 * I1-I6 for one frame. Returns 1 when the frame was kept (output in
 * outbuf), 0 when dropped or answered with a RST.
 */
static int check_frame(int m, const struct bv_policy *gp, const uint8_t *in, size_t inlen, int act)
{
	struct fz_view vi;
	static uint8_t allow[FZ_FRAME_CAP * 2];
	const struct bv_meta *meta = (const struct bv_meta *)H[m].meta;

	if (act == XDP_ABORTED)
		fail("XDP_ABORTED");
	if ((m == BV_MODE_INLINE && act != XDP_PASS && act != XDP_DROP && act != XDP_TX) ||
	    (m == BV_MODE_MIRROR && act != XDP_REDIRECT && act != XDP_DROP) ||
	    (m == BV_MODE_PCAP && act != XDP_PASS && act != XDP_DROP))
		fail("action %d is not one the %s mode returns", act, mode_name(m));
	if (act == XDP_DROP)
		return 0;
	fz_parse(in, inlen, &vi);
	if (act == XDP_TX) {
		check_rst(in, inlen, &vi);
		return 0;
	}
	if (outlen != inlen) {
		dump("input", in, inlen, 0);
		dump("output", outbuf, outlen, 0);
		fail("kept frame is %zu bytes, the input %zu", outlen, inlen);
	}
	if (vi.kind == FZ_V_MALFORMED) {
		dump("input", in, inlen, 0);
		fail("a malformed IP frame was kept");
	}
	if (vi.kind == FZ_V_IP && vi.proto == 6 && vi.frag)
		fail("an IP fragment carrying TCP was kept");
	if (pkt_ipv4_csum_ok(in, inlen) && !pkt_ipv4_csum_ok(outbuf, outlen)) {
		dump("input", in, inlen, 0);
		dump("output", outbuf, outlen, 0);
		fail("IPv4 header checksum broken by the program");
	}
	if (pkt_l4_csum_ok(in, inlen) && !pkt_l4_csum_ok(outbuf, outlen)) {
		dump("input", in, inlen, vi.l3_off);
		dump("output", outbuf, outlen, vi.l3_off);
		fail("L4 checksum broken by the program (%s, proto %u, L4 at %zu)",
		     vi.family == 6 ? "IPv6" : "IPv4", vi.proto, vi.l4_off);
	}

	/* I4: where may the output differ from the input? */
	memset(allow, 0, inlen);
	if (vi.kind == FZ_V_IP) {
		int beacon_c2s = vi.tcp && fz_beacon_port(vi.dport);
		int which = !vi.tcp && vi.proto == 6 ? 0 : beacon_c2s ? 1 :
			    (vi.tcp && fz_beacon_port(vi.sport)) ? 2 : 3;
		size_t l3 = vi.l3_off, l4 = vi.l4_off;

		if (beacon_c2s && !vi.frag) {
			if (l4 + 18 <= inlen)
				allow[l4 + 16] = allow[l4 + 17] = 0xff;
			for (size_t i = vi.pl_off; i < vi.l3_end; i++)
				allow[i] = 0xff;
		}
		if (m != BV_MODE_INLINE) {
			size_t as = vi.family == 4 ? l3 + 12 : l3 + 8, ad = vi.family == 4 ? l3 + 16 : l3 + 24;
			int nb = vi.family == 4 ? 4 : 16;
			uint8_t want[16];

			if (vi.family == 4) {
				allow[l3 + 1] = 0xfc;
				allow[l3 + 10] = allow[l3 + 11] = 0xff;
			} else {
				allow[l3] = 0x0f;
				allow[l3 + 1] = 0xc0;
			}
			if (which & 1)
				memset(allow + as, 0xff, (size_t)nb);
			if (which & 2)
				memset(allow + ad, 0xff, (size_t)nb);
			if (!vi.frag_later) {
				size_t ck = vi.proto == 6 ? l4 + 16 : vi.proto == 17 ? l4 + 6 :
					    (vi.proto == 58 && vi.family == 6) ? l4 + 2 : 0;

				if (ck && ck + 2 <= inlen)
					allow[ck] = allow[ck + 1] = 0xff;
			}
			/* I4: the exact masked addresses */
			st.l3 += (which & 1) + !!(which & 2);
			if (which & 1) {
				expect_addr(gp, vi.family, in + as, want);
				if (memcmp(outbuf + as, want, (size_t)nb)) {
					dump("input", in, inlen, l3);
					dump("output", outbuf, outlen, l3);
					fail("%s: IP source not masked as policy says (ip_mask %u, /%u /%u)",
					     mode_name(m), gp->ip_mask, gp->ipv4_prefix, gp->ipv6_prefix);
				}
			}
			if (which & 2) {
				expect_addr(gp, vi.family, in + ad, want);
				if (memcmp(outbuf + ad, want, (size_t)nb)) {
					dump("input", in, inlen, l3);
					dump("output", outbuf, outlen, l3);
					fail("%s: IP destination not masked as policy says (ip_mask %u, /%u /%u)",
					     mode_name(m), gp->ip_mask, gp->ipv4_prefix, gp->ipv6_prefix);
				}
			}
		}
	}
	for (size_t i = 0; i < inlen; i++) {
		if ((in[i] ^ outbuf[i]) & ~allow[i]) {
			dump("input", in, inlen, i > 32 ? i - 32 : 0);
			dump("output", outbuf, outlen, i > 32 ? i - 32 : 0);
			fail("%s: byte %zu changed (%02x -> %02x) where nothing may change "
			     "(frame: %s, L3 at %zu, L4 at %zu, payload at %zu)", mode_name(m), i, in[i],
			     outbuf[i], vi.kind == FZ_V_IP ? (vi.family == 4 ? "IPv4" : "IPv6") : "not IP",
			     vi.l3_off, vi.l4_off, vi.pl_off);
		}
	}

	/* I6 */
	if (H[m].meta_len) {
		int want_class;

		if (H[m].meta_len != sizeof(*meta))
			fail("XDP metadata of %zu bytes", H[m].meta_len);
		if (meta->magic != BV_META_MAGIC)
			fail("XDP metadata magic %#x", meta->magic);
		want_class = meta->decision == BV_UNDECIDED ? BV_CLASS_UNDECIDED :
			     meta->decision == BV_DEC_PASS ? BV_CLASS_IDENTIFIED :
			     meta->decision == BV_DEC_ANONYMIZED ? BV_CLASS_ANONYMIZED : BV_CLASS_DROPPED;
		if (meta->class != want_class ||
		    (want_class == BV_CLASS_DROPPED && !known_staletag))
			fail("kept packet tagged class %u with decision %u", meta->class, meta->decision);
		if (!(meta->flags & BV_SIG_BEACON))
			fail("metadata on a packet of a request without the beacon signal");
		feat(0x100 + (uint32_t)m, meta->class, meta->flags);
	}
	return 1;
}

/* ---- flows ----------------------------------------------------------------- */

static void flow_key(const struct fz_view *v, struct bv_flow_key *k)
{
	memset(k, 0, sizeof(*k));
	memcpy(k->client, v->src, v->family == 4 ? 4 : 16);
	memcpy(k->server, v->dst, v->family == 4 ? 4 : 16);
	k->cport = htons(v->sport);
	k->sport = htons(v->dport);
	k->family = (__u8)v->family;
}

static void flow_forget(int m, const struct fz_view *v)
{
	struct bv_flow_key k;

	if (v->kind != FZ_V_IP || !v->tcp)
		return;
	flow_key(v, &k);
	bpf_map_delete_elem(H[m].flows_fd, &k);
	bpf_map_delete_elem(H[m].half_fd, &k);
}

/* Feedback from the flow's scanner state after the input. */
static void flow_features(int m, const struct fz_view *v)
{
	static struct bv_flow f;
	struct bv_flow_key k;

	if (v->kind != FZ_V_IP || !v->tcp)
		return;
	flow_key(v, &k);
	if (bpf_map_lookup_elem(H[m].flows_fd, &k, &f))
		return;
	feat(1, f.lx.st, f.lx.hdr * 16u + f.lx.sub);
	feat(2, f.lx.st, f.lx.sub2 > 7 ? 7 : f.lx.sub2);
	feat(3, f.lx.ipm.flags, f.lx.ipm.fam * 16u + (f.lx.ipm.idx > 9 ? 9 : f.lx.ipm.idx));
	feat(4, f.lx.decision, f.lx.sig);
	feat(5, f.lx.id_mode, f.state * 256u + f.lx.flags);
}

/* ---- raw frames ---------------------------------------------------------- */

static void run_raw(const struct fz_case *c)
{
	static uint8_t f[FZ_FRAME_CAP];
	struct fz_view v;
	size_t len = c->rawlen > linmax ? linmax : c->rawlen;
	struct bv_policy gp;
	int act;

	memcpy(f, c->raw, len);
	if (c->kind == FZ_RAW_FIXED)
		pkt_fix_csums(f, len);
	fz_policy(c->pol, &gp);
	use_policy(c->mode, &gp);
	if (known_skip(f, len))
		return;
	fz_parse(f, len, &v);
	if (!c->carry)
		flow_forget(c->mode, &v);
	snprintf(where, sizeof(where), "raw frame of %zu bytes, %s mode, policy %d%s", len,
		 mode_name(c->mode), c->pol, c->carry ? ", flow state carried" : "");
	act = run_frame(c->mode, f, len);
	feat(0x200 + (uint32_t)c->mode, (uint32_t)act, (uint32_t)(v.kind + 1) * 256u + v.proto);
	check_frame(c->mode, &gp, f, len, act);
	flow_features(c->mode, &v);
}

/* ---- a TCP flow --------------------------------------------------------------- */

enum { E_SYN, E_DATA, E_FIN, E_RST, E_ACK };

struct ent {
	int type;
	uint32_t off, len;
};

struct kcopy {
	uint32_t off, len;
	size_t at;
};

static uint8_t frames[FZ_MAXENT][FZ_FRAME_CAP];
static size_t flen[FZ_MAXENT];
/* I10: what the first run gave, per frame */
static uint8_t outs[FZ_MAXENT][FZ_FRAME_CAP];
static size_t outs_len[FZ_MAXENT];
static int outs_act[FZ_MAXENT];
static uint8_t outs_meta[FZ_MAXENT][sizeof(struct bv_meta)];
static size_t outs_meta_len[FZ_MAXENT];
static uint8_t copybuf[FZ_MAXENT * FZ_FRAME_CAP];

static const char *ent_name(int t)
{
	static const char *const n[] = { "SYN", "data", "FIN", "RST", "server ACK" };

	return n[t];
}

static void check_stream(const struct fz_case *c, int m, const struct bv_policy *gp,
			 const struct kcopy *cp, int ncp, size_t first_seg)
{
	static struct fz_chk chk[FZ_NCHK];
	struct fz_oracle_in oi = {
		.s = c->pl, .n = c->plen, .first_seg = first_seg, .gpol = gp,
		.apps = apps, .napps = FZ_NAPPS, .paths = paths, .npaths = FZ_NPATHS,
		.mask_other = m != BV_MODE_INLINE, /* the fuzzer's settings keep the default */
	};
	size_t stop;
	int n = fz_oracle(&oi, chk, FZ_NCHK, &stop);

	feat(0x300, (uint32_t)n > 15 ? 15 : (uint32_t)n, stop == c->plen);
	st.oracle_streams++;
	for (int i = 0; i < n; i++) {
		const struct fz_chk *k = &chk[i];

		if (k->kind == FZ_CHK_PROTECT)
			(*(k->min_run ? &st.ids : &st.addr))++;
		else if (k->kind == FZ_CHK_UNTOUCHED)
			st.untouched++;
		else
			st.bin++;

		feat(0x301, k->kind, (uint32_t)m);
		if (k->kind == FZ_CHK_PROTECT) {
			uint32_t run = 0, b = k->b, leak = 0;
			int all = 1;

			if (k->min_run && known_idtail && b > k->a + 64)
				b = k->a + 64; /* known: only 64 characters are replaced */
			if (k->min_run && known_idgap) {
				int gap = 0;

				for (uint32_t p = k->a + 1; p < k->b; p++)
					gap |= c->pl[p] == ' ' || c->pl[p] == '\t' || c->pl[p] == '"';
				if (gap)
					continue;
			}
			if (k->min_run && known_pipeline && k->next_req != UINT32_MAX) {
				int skip = 0;

				for (int j = 0; j < ncp; j++)
					if (cp[j].off < k->b && k->next_req < cp[j].off + cp[j].len)
						skip = 1;
				if (skip)
					continue;
			}
			for (uint32_t p = k->a; p < b && !leak; p++) {
				int rev = 0;

				for (int j = 0; j < ncp && !rev; j++)
					if (p >= cp[j].off && p < cp[j].off + cp[j].len &&
					    copybuf[cp[j].at + p - cp[j].off] == c->pl[p])
						rev = 1;
				all &= rev;
				if (k->min_run) {
					int an = (c->pl[p] >= '0' && c->pl[p] <= '9') ||
						 (c->pl[p] >= 'a' && c->pl[p] <= 'z') ||
						 (c->pl[p] >= 'A' && c->pl[p] <= 'Z');

					run = rev && an ? run + 1 : 0;
					if (run >= k->min_run)
						leak = p + 1;
				}
			}
			if (!k->min_run && all)
				leak = b;
			if (leak) {
				uint32_t from = k->min_run ? leak - k->min_run : k->a;

				snprintf(where + strlen(where), sizeof(where) - strlen(where),
					 "; stream bytes %u..%u of %u..%u", from, leak, k->a, k->b);
				fail("%s: '%.*s' reached the output unmasked (%s mode, policy %d)", k->what,
				     (int)(leak - from), (const char *)c->pl + from, mode_name(m), c->pol);
			}
		} else if (k->kind == FZ_CHK_UNTOUCHED) {
			for (int j = 0; j < ncp; j++) {
				uint32_t lo = k->a > cp[j].off ? k->a : cp[j].off;
				uint32_t hi = k->b < cp[j].off + cp[j].len ? k->b : cp[j].off + cp[j].len;

				for (uint32_t p = lo; p < hi; p++)
					if (copybuf[cp[j].at + p - cp[j].off] != c->pl[p])
						fail("%s modified at stream byte %u ('%c' -> '%c'; "
						     "range %u..%u)", k->what, p, c->pl[p],
						     copybuf[cp[j].at + p - cp[j].off], k->a, k->b);
			}
		} else if (k->kind == FZ_CHK_BIN) {
			int nb = k->family == 4 ? 4 : 16;
			uint8_t want[16];
			int priv = k->family == 4 ? fz_private4(c->pl + k->a) : fz_private6(c->pl + k->a);

			memcpy(want, c->pl + k->a, (size_t)nb);
			if (!(k->public_only && priv))
				mask_addr(c->pl + k->a, want, nb, k->prefix);
			for (int j = 0; j < ncp; j++)
				if (k->a >= cp[j].off && k->b <= cp[j].off + cp[j].len &&
				    memcmp(copybuf + cp[j].at + k->a - cp[j].off, want, (size_t)nb))
					fail("%s not masked to /%u", k->what, k->prefix);
		}
	}
}

/* Frames of the flow, client address cl; 0 ok. */
static int build_frames(const struct fz_case *c, struct fz_l3 *l3, const struct ent *ent, int nent,
			const uint8_t *cl, const uint8_t *sv, const uint8_t *rt)
{
	int fam = c->family;

	for (int i = 0; i < nent; i++) {
		const struct ent *e = &ent[i];
		int fwd = e->type != E_ACK;          /* in the stream's direction */
		int from_client = fwd != c->s2c;
		const uint8_t *src = from_client ? cl : sv, *fdst = from_client ? sv : cl;
		uint16_t sp = from_client ? c->cport : c->sport, dp = from_client ? c->sport : c->cport;
		uint32_t seq = fwd ? c->seq0 + e->off : 0x50000000u;
		uint32_t ack = fwd ? 0x50000000u : c->seq0 + e->off;
		uint8_t flags = e->type == E_SYN ? 0x02 : e->type == E_FIN ? 0x11 :
				e->type == E_RST ? 0x14 : e->type == E_ACK ? 0x10 : 0x18;

		if (e->type == E_SYN) {
			seq = c->seq0 - 1;
			ack = 0;
		}
		l3->rt_final = fdst;
		flen[i] = fz_build_tcp(frames[i], FZ_FRAME_CAP, l3, src,
				       fam == 6 && c->rt && c->rt_segleft ? rt : fdst, sp, dp, seq, ack,
				       flags, e->type == E_DATA ? c->pl + e->off : NULL,
				       e->type == E_DATA ? e->len : 0);
		if (!flen[i])
			return -1;
	}
	return 0;
}

static void forget_frames(int m, int nent)
{
	for (int i = 0; i < nent; i++) {
		struct fz_view v;

		fz_parse(frames[i], flen[i], &v);
		flow_forget(m, &v);
	}
}

/* known class line257: a line whose length is 0 or 256 mod 257 */
static int line257(const uint8_t *p, size_t n)
{
	size_t ls = 0;

	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\n') {
			size_t l = i - ls;

			if (l && p[i - 1] == '\r')
				l--;
			if (l >= 256 && (l % 257 == 0 || l % 257 == 256))
				return 1;
			ls = i + 1;
		}
	}
	return 0;
}

static void run_stream(const struct fz_case *c)
{
	int m = c->mode, fam = c->family, nb = fam == 4 ? 4 : 16;
	uint8_t cl[16], sv[16], rt[16];
	struct fz_l3 l3 = {
		.family = fam, .nvlan = c->nvlan, .ip4_opts = c->ip4_opts, .frag_off = c->frag_off,
		.hbh = c->hbh, .hbh_len = c->hbh_len, .dst = c->dst, .rt = c->rt,
		.rt_segleft = c->rt_segleft, .frag6 = c->frag6, .tcp_opts = c->tcp_opts,
	};
	struct bv_policy gp;
	size_t over, maxpl, pos[FZ_MAXSEG + 1], first_seg = 0;
	struct ent seg[FZ_MAXENT], ent[FZ_MAXENT];
	int nseg = 0, nent = 0, reordered = 0, ncp = 0;
	struct kcopy cp[FZ_MAXENT];
	struct fz_view v0;
	size_t at = 0;

	if (fam == 4) {
		inet_pton(AF_INET, fz_client4[c->client], cl);
		inet_pton(AF_INET, fz_server4, sv);
	} else {
		inet_pton(AF_INET6, fz_client6[c->client], cl);
		inet_pton(AF_INET6, fz_server6, sv);
		inet_pton(AF_INET6, fz_router6, rt);
	}
	if (known_line257 && line257(c->pl, c->plen)) {
		st.skipped++;
		return;
	}
	fz_policy(c->pol, &gp);
	use_policy(m, &gp);
	over = fz_overhead(&l3);
	if (over + 1 > linmax)
		return;
	maxpl = linmax - over;

	/* segments: the input's cut points, then cut to what a frame holds */
	pos[0] = 0;
	for (int i = 0; i < c->nseg - 1; i++)
		pos[i + 1] = c->split[i] % (c->plen + 1);
	pos[c->nseg] = c->plen;
	for (int i = 1; i < c->nseg; i++) /* sort */
		for (int j = i; j > 0 && pos[j] < pos[j - 1]; j--) {
			size_t t = pos[j];

			pos[j] = pos[j - 1];
			pos[j - 1] = t;
		}
	for (int i = 0; i < c->nseg; i++) {
		size_t a = pos[i], b = pos[i + 1];

		do {
			size_t e = b - a > maxpl ? a + maxpl : b;

			if (nseg == 20) /* with a dup, SYN, ACKs, FIN, RST: < FZ_MAXENT */
				return;
			seg[nseg].type = E_DATA;
			seg[nseg].off = (uint32_t)a;
			seg[nseg].len = (uint32_t)(e - a);
			nseg++;
			a = e;
		} while (a < b);
	}
	for (int i = 0; i < nseg; i++)
		if (seg[i].len) {
			first_seg = seg[i].len;
			break;
		}
	if (known_reqseq) {
		for (int i = 0; i < nseg; i++) {
			uint32_t o = seg[i].off;

			if (seg[i].len && o && c->pl[o] == ' ' && c->pl[o - 1] >= 'A' && c->pl[o - 1] <= 'Z') {
				st.skipped++;
				return;
			}
		}
	}

	/* operations on the order of data segments */
	if (c->move && nseg > 1) {
		int k = c->op_k % nseg, j = c->op_j % nseg;
		struct ent t = seg[k];

		if (j != k) {
			reordered = 1;
			if (j < k)
				memmove(&seg[j + 1], &seg[j], (size_t)(k - j) * sizeof(seg[0]));
			else
				memmove(&seg[k], &seg[k + 1], (size_t)(j - k) * sizeof(seg[0]));
			seg[j] = t;
		}
	}
	if (c->coalesce && nseg > 1) {
		int k = c->op_k % (nseg - 1);

		if (seg[k].len + seg[k + 1].len <= maxpl && seg[k].off + seg[k].len == seg[k + 1].off) {
			seg[k + 1].off = seg[k].off;
			seg[k + 1].len += seg[k].len;
		}
	}
	if (c->dup && nseg >= 1) {
		int k = c->op_k % nseg, j = c->op_j % (nseg + 1);

		if (j <= k)
			j = k + 1;
		memmove(&seg[j + 1], &seg[j], (size_t)(nseg - j) * sizeof(seg[0]));
		seg[j] = seg[k];
		nseg++;
	}

	if (c->syn)
		ent[nent++] = (struct ent){ .type = E_SYN };
	for (int i = 0; i < nseg; i++) {
		ent[nent++] = seg[i];
		if (c->acks)
			ent[nent++] = (struct ent){ .type = E_ACK, .off = seg[i].off + seg[i].len };
	}
	if (c->fin)
		ent[nent++] = (struct ent){ .type = E_FIN, .off = (uint32_t)c->plen };
	if (c->rst)
		ent[nent++] = (struct ent){ .type = E_RST, .off = (uint32_t)c->plen };

	if (build_frames(c, &l3, ent, nent, cl, sv, rt))
		return;
	if (nent && known_skip(frames[0], flen[0]))
		return;
	if (!c->carry)
		forget_frames(m, nent);

	for (int i = 0; i < nent; i++) {
		const struct ent *e = &ent[i];
		int act, kept;

		snprintf(where, sizeof(where), "%s mode, policy %d, %s, IPv%d, step %d of %d: %s "
			 "(stream bytes %u..%u)%s%s", mode_name(m), c->pol,
			 c->s2c ? "server->client stream" : "client->server stream", fam, i + 1, nent,
			 ent_name(e->type), e->off, e->off + e->len, c->carry ? ", flow state carried" : "",
			 c->syn ? ", after a SYN" : "");
		act = run_frame(m, frames[i], flen[i]);
		if (trace) {
			struct fz_view v;

			fz_parse(frames[i], flen[i], &v);
			fprintf(stderr, "[trace] %s -> action %d, meta %zu bytes\n", where, act, H[m].meta_len);
			if (act != XDP_DROP && v.tcp && v.pl_len)
				fprintf(stderr, "[trace]   in:  %.*s\n[trace]   out: %.*s\n", (int)v.pl_len,
					(const char *)frames[i] + v.pl_off, (int)v.pl_len,
					(const char *)outbuf + v.pl_off);
			if (v.tcp) {
				static struct bv_flow f;
				struct bv_flow_key k;

				flow_key(&v, &k);
				if (!bpf_map_lookup_elem(H[m].flows_fd, &k, &f))
					fprintf(stderr, "[trace]   flow: state %u next_seq +%u seg_seq +%u lexer st %u "
						"hdr %u sig %#x decision %u req_seq +%u body_start +%u "
						"body_left %u\n", f.state, f.next_seq - c->seq0,
						f.seg_seq - c->seq0, f.lx.st, f.lx.hdr, f.lx.sig, f.lx.decision,
						f.lx.req_seq - c->seq0, f.lx.body_start - c->seq0, f.lx.body_left);
			}
		}
		feat(0x400 + (uint32_t)m, (uint32_t)act * 8u + (uint32_t)e->type,
		     (uint32_t)(H[m].meta_len ? H[m].meta[4] * 256u + H[m].meta[5] : 0xffff));
		outs_act[i] = act;
		outs_len[i] = act == XDP_DROP ? 0 : outlen;
		if (act != XDP_DROP)
			memcpy(outs[i], outbuf, outlen);
		outs_meta_len[i] = H[m].meta_len;
		memcpy(outs_meta[i], H[m].meta, sizeof(outs_meta[i]));
		kept = check_frame(m, &gp, frames[i], flen[i], act);
		if (kept && e->type == E_DATA && !c->s2c && e->len) {
			struct fz_view v;

			fz_parse(frames[i], flen[i], &v);
			cp[ncp].off = e->off;
			cp[ncp].len = e->len;
			cp[ncp].at = at;
			memcpy(copybuf + at, outbuf + v.pl_off, e->len);
			at += e->len;
			ncp++;
		}
	}
	fz_parse(frames[0], flen[0], &v0);
	flow_features(m, &v0);
	snprintf(where, sizeof(where), "%s mode, policy %d, IPv%d, %d frames, text oracle over "
		 "the client->server stream", mode_name(m), c->pol, fam, nent);
	if (!c->s2c && fz_beacon_port(c->sport) && !reordered && (!c->carry || c->syn))
		check_stream(c, m, &gp, cp, ncp, first_seg);

	/* I10: the same flow from a twin address (differs beyond the prefix) */
	/* (the program tells client from server by the beacon port: a client
	 * port that is one makes the roles ambiguous, by design) */
	if (m != BV_MODE_INLINE && !c->carry && gp.ip_mask == BV_IPMASK_ALL &&
	    !fz_beacon_port(c->cport) &&
	    !(known_twin && (memmem(c->pl, c->plen, "rxVisitor", 9) || memmem(c->pl, c->plen, "dtPC", 4) ||
			     memmem(c->pl, c->plen, "vi=", 3))) &&
	    (fam == 4 ? gp.ipv4_prefix < 32 : gp.ipv6_prefix < 128)) {
		uint8_t tw[16];

		memcpy(tw, cl, 16);
		tw[nb - 1] ^= 1;
		if (build_frames(c, &l3, ent, nent, tw, sv, rt))
			return;
		forget_frames(m, nent);
		st.twins++;
		for (int i = 0; i < nent; i++) {
			int act;

			snprintf(where, sizeof(where), "%s mode, policy %d, IPv%d, twin flow (client address "
				 "differs in its last bit), step %d of %d: %s (stream bytes %u..%u)",
				 mode_name(m), c->pol, fam, i + 1, nent, ent_name(ent[i].type), ent[i].off,
				 ent[i].off + ent[i].len);
			act = run_frame(m, frames[i], flen[i]);
			if (act != outs_act[i])
				fail("I10: action %d, from the original address %d", act, outs_act[i]);
			if (act == XDP_DROP)
				continue;
			if (outlen != outs_len[i] || memcmp(outbuf, outs[i], outlen)) {
				size_t k = 0;

				while (k < outlen && k < outs_len[i] && outbuf[k] == outs[i][k])
					k++;
				dump("output from the original address", outs[i], outs_len[i], k > 32 ? k - 32 : 0);
				dump("output from the twin address", outbuf, outlen, k > 32 ? k - 32 : 0);
				fail("I10: the output depends on client address bits beyond the kept prefix "
				     "(first difference at byte %zu)", k);
			}
			if (H[m].meta_len != outs_meta_len[i] ||
			    memcmp(H[m].meta, outs_meta[i], H[m].meta_len < sizeof(outs_meta[i]) ?
				   H[m].meta_len : sizeof(outs_meta[i])))
				fail("I10: the XDP metadata depends on masked address bits");
		}
	}
}

/* ---- entry point ------------------------------------------------------------- */

static void run_one(const uint8_t *d, size_t n)
{
	struct fz_case c;

	if (fz_decode(d, n, &c))
		return;
	st.inputs++;
	if (c.kind == FZ_GEN) {
		static uint8_t gen[4096];

		c.plen = fz_generate(c.pl, c.plen, gen, sizeof(gen));
		c.pl = gen;
		c.kind = FZ_STREAM;
		st.gens++;
	}
	if (c.kind == FZ_STREAM) {
		st.streams++;
		run_stream(&c);
	} else {
		st.raws++;
		run_raw(&c);
	}
	for (int m = 0; m < 3; m++)
		ring_buffer__consume(RB[m]);
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	if (n >= FZ_SEQ_MAGIC_LEN && !memcmp(d, FZ_SEQ_MAGIC, FZ_SEQ_MAGIC_LEN)) {
		size_t p = FZ_SEQ_MAGIC_LEN;

		full_reset();
		st.seqs++;
		in_seq = 1;
		while (p + 2 <= n) {
			size_t l = ((size_t)d[p] << 8) | d[p + 1];

			p += 2;
			if (l > n - p)
				l = n - p;
			if (!(l >= FZ_SEQ_MAGIC_LEN && !memcmp(d + p, FZ_SEQ_MAGIC, FZ_SEQ_MAGIC_LEN))) {
				hist_add(d + p, l);
				run_one(d + p, l);
			}
			p += l;
		}
		in_seq = 0;
		check_counters();
		return 0;
	}
	if (++execs % FZ_RESET_EVERY == 0)
		full_reset();
	hist_add(d, n);
	run_one(d, n);
	if (execs % FZ_COUNTERS_EVERY == 0)
		check_counters();
	return 0;
}
