/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * beaconveil XDP program: recognise RUM beacon requests, read their privacy
 * signals, mask client addresses and visitor identifiers in place, decide
 * per policy, tag, drop or reset, and count. One object for every mode;
 * `bv_mode` is fixed at load time.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <xdp/xdp_helpers.h>
#include "bv_parse.h"
#include "bv_addr.h"
#include "bv_http.h"
#include "bv_proxy.h"
#include "bv_encap.h"
#include "bv_audit.h"

const volatile __u8 bv_mode = BV_MODE_INLINE;

/* libxdp multiprog: run before other programs (they see masked data) and
 * hand on what we pass. */
struct {
	__uint(priority, 10);
	__uint(XDP_PASS, 1);
} XDP_RUN_CONFIG(beaconveil_xdp);

/* Packets of beacon flows that are kept are tagged by privacy class. */
static __always_inline __u8 bv_class_of(const struct bv_lexer *lx)
{
	if (!(lx->sig & BV_SIG_BEACON))
		return BV_CLASS_NONE;
	switch (lx->decision) {
	case BV_UNDECIDED:
		return BV_CLASS_UNDECIDED;
	case BV_DEC_PASS:
		return BV_CLASS_IDENTIFIED;
	case BV_DEC_ANONYMIZED:
		return BV_CLASS_ANONYMIZED;
	}
	return BV_CLASS_DROPPED;
}

static __always_inline struct bv_scratch *bv_scratch_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&bv_scratch, &zero);
}

static __always_inline int bv_verdict(int act)
{
	switch (act) {
	case XDP_PASS:
		bv_count(BV_ST_ACT_PASS);
		break;
	case XDP_DROP:
		bv_count(BV_ST_ACT_DROP);
		break;
	case XDP_TX:
		bv_count(BV_ST_ACT_TX);
		break;
	case XDP_REDIRECT:
		bv_count(BV_ST_ACT_REDIRECT);
		break;
	}
	return act;
}

/* bv_l3_rewrite's `how`: which addresses (1 source, 2 destination, 3
 * both) in the low byte, the DSCP to set plus one (0: none) above it */
#define BV_HOW(which, dscp) ((which) | (((dscp) + 1) << 8))
#define BV_HOW_WHICH(how)   ((how) & 0xff)
#define BV_HOW_DSCP(how)    ((((how) >> 8) & 0xff) - 1)

/*
 * Mirror/pcap: mask L3 addresses and set the DSCP class tag (`how`, see
 * BV_HOW); fixes the IPv4 header checksum and adds the
 * pseudo-header delta to *l4acc.
 */
BV_GLOBAL int bv_l3_rewrite(struct xdp_md *ctx, const struct bv_pkt *p,
			     const struct bv_policy *pol, int how, __u64 *l4acc)
{
	void *data, *data_end;
	__u64 acc = 0;
	int masked = 0, which = BV_HOW_WHICH(how), dscp = BV_HOW_DSCP(how);

	if (!ctx || !p || !pol || !l4acc)
		return -1;
	/* a routing header carries more addresses (the segment list) and
	 * moves the pseudo-header's destination: not rewritten, dropped */
	if (p->ip6_rh && pol->ip_mask != BV_IPMASK_OFF)
		return -1;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;

	if (p->family == 4) {
		struct iphdr *ip = data + (p->l3_off & BV_L3_OFF_MASK);

		if ((void *)(ip + 1) > data_end)
			return -1;
		if (which & 1)
			masked += bv_mask_addr(&ip->saddr, 4, pol, &acc);
		if (which & 2)
			masked += bv_mask_addr(&ip->daddr, 4, pol, &acc);
		*l4acc += acc;
		if (dscp >= 0) {
			__u16 *w0 = (__u16 *)ip, old = *w0;

			ip->tos = (__u8)(dscp << 2) | (ip->tos & 3);
			csum_acc16(&acc, old, *w0);
		}
		if (acc)
			ip->check = csum_apply(ip->check, acc);
	} else {
		struct ipv6hdr *ip6 = data + (p->l3_off & BV_L3_OFF_MASK);

		if ((void *)(ip6 + 1) > data_end)
			return -1;
		if (which & 1)
			masked += bv_mask_addr((__u32 *)&ip6->saddr, 6, pol, &acc);
		if (which & 2)
			masked += bv_mask_addr((__u32 *)&ip6->daddr, 6, pol, &acc);
		*l4acc += acc;
		if (dscp >= 0) {
			__u8 *b = (__u8 *)ip6;

			/* version(4) | traffic class(8) | flow label(20) */
			b[0] = (b[0] & 0xf0) | (__u8)(dscp >> 2);
			b[1] = (b[1] & 0x3f) | (__u8)((dscp & 3) << 6);
		}
	}
	if (masked)
		bv_count(BV_ST_L3_MASKED);
	return 0;
}

/* Apply an L4 checksum delta for TCP/UDP/ICMPv6 (pseudo-header users). */
BV_GLOBAL int bv_l4_fix(struct xdp_md *ctx, const struct bv_pkt *p, __u64 acc)
{
	void *data, *data_end;
	__u32 off;

	if (!ctx || !p || !acc || p->frag_later)
		return 0;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	off = p->l4_off & BV_L4_OFF_MASK;
	if (p->proto == IPPROTO_TCP) {
		struct tcphdr *th = data + off;

		if ((void *)(th + 1) <= data_end)
			th->check = csum_apply(th->check, acc);
	} else if (p->proto == IPPROTO_UDP) {
		__u16 *ck = data + off + 6;

		if ((void *)(ck + 1) <= data_end)
			*ck = csum_apply_udp(*ck, acc);
	} else if (p->proto == IPPROTO_ICMPV6 && p->family == 6) {
		__u16 *ck = data + off + 2;

		if ((void *)(ck + 1) <= data_end)
			*ck = csum_apply(*ck, acc);
	}
	return 0;
}

/*
 * A kept tunnel packet (bv_encap.h), its inner frame done: the outer
 * addresses are masked as other traffic's are (both), the outer IPv4
 * header checksum follows, the outer UDP checksum as bv_outer_csum says.
 * The outer DSCP is left: the class tag is the inner header's.
 */
BV_GLOBAL int bv_outer_rewrite(struct xdp_md *ctx)
{
	struct bv_scratch *sc;
	struct bv_policy pol;
	__u32 zero = 0;
	__u64 acc = 0;

	if (!ctx)
		return -1;
	sc = bpf_map_lookup_elem(&bv_scratch, &zero);
	if (!sc)
		return -1;
	if (!sc->encap)
		return 0;
	bv_policy_sanitize(&pol, bpf_map_lookup_elem(&bv_policy, &zero));
	if (bv_l3_rewrite(ctx, &sc->outer, &pol, BV_HOW(3, -1), &acc) < 0)
		return -1;
	return bv_outer_csum(ctx, &sc->outer);
}

/* Where kept packets go: the stack inline and offline, egress in mirror. */
static __always_inline int bv_keep(struct xdp_md *ctx)
{
	if (bv_mode != BV_MODE_INLINE && bv_outer_rewrite(ctx) < 0)
		return bv_verdict(XDP_DROP);
	if (bv_mode == BV_MODE_MIRROR)
		return bv_verdict(bpf_redirect_map(&bv_egress, 0, XDP_DROP));
	return bv_verdict(XDP_PASS);
}

/* Traffic that is not a client->server beacon flow segment. */
static __always_inline int bv_other(struct xdp_md *ctx, const struct bv_pkt *p,
				    const struct bv_policy *gpol, int which)
{
	__u64 acc = 0;

	if (bv_mode != BV_MODE_INLINE && which) {
		if (bv_l3_rewrite(ctx, p, gpol, BV_HOW(which, -1), &acc) < 0)
			return bv_verdict(XDP_DROP);
		bv_l4_fix(ctx, p, acc);
	}
	return bv_keep(ctx);
}

/*
 * drop_action=reset in inline mode: turn the offending segment into a RST
 * back to the client (XDP_TX). Only for plain IPv4/IPv6 headers; with IP
 * options or extension headers we fall back to a silent drop.
 */
static __always_inline int bv_send_reset(struct xdp_md *ctx, const struct bv_pkt *p)
{
	void *data, *data_end;
	struct ethhdr *eth;
	struct tcphdr *th;
	__u32 seq, ack, l4;
	__u8 mac[ETH_ALEN];
	__u64 sum = 0;
	int trim;

	if (p->ip4_opts || p->ip6_ext)
		return -1;
	l4 = p->l4_off & BV_L4_PLAIN_OFF_MASK;
	trim = (int)(p->l3_end - l4 - sizeof(struct tcphdr));
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	trim += (int)((data_end - data) - p->l3_end); /* L2 padding */
	if (trim < 0 || bpf_xdp_adjust_tail(ctx, -trim))
		return -1;

	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	th = data + l4;
	if ((void *)(th + 1) > data_end || (void *)(eth + 1) > data_end)
		return -1;
	__builtin_memcpy(mac, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, mac, ETH_ALEN);

	seq = th->ack_seq;
	ack = bpf_htonl(bpf_ntohl(th->seq) + p->pl_len);
	{
		__u16 tmp = th->source;

		th->source = th->dest;
		th->dest = tmp;
	}
	th->seq = seq;
	th->ack_seq = ack;
	((__u8 *)th)[12] = 5 << 4;          /* doff 5, no options */
	((__u8 *)th)[BV_TCP_FLAGS_OFF] = BV_TCP_RST | BV_TCP_ACK;
	th->window = 0;
	th->urg_ptr = 0;
	th->check = 0;

	if (p->family == 4) {
		struct iphdr *ip = data + (p->l3_off & BV_L3_OFF_MASK);
		__u32 tmp;

		if ((void *)(ip + 1) > data_end)
			return -1;
		tmp = ip->saddr;
		ip->saddr = ip->daddr;
		ip->daddr = tmp;
		ip->tot_len = bpf_htons(sizeof(*ip) + sizeof(*th));
		ip->ttl = 64;
		ip->check = 0;
		ip->check = ~csum_fold64(bpf_csum_diff(0, 0, (__be32 *)ip, sizeof(*ip), 0));
		sum = bpf_csum_diff(0, 0, &ip->saddr, 8, 0);
		sum += bpf_htons(IPPROTO_TCP) + bpf_htons(sizeof(*th));
	} else {
		struct ipv6hdr *ip6 = data + (p->l3_off & BV_L3_OFF_MASK);
		struct in6_addr tmp;

		if ((void *)(ip6 + 1) > data_end)
			return -1;
		tmp = ip6->saddr;
		ip6->saddr = ip6->daddr;
		ip6->daddr = tmp;
		ip6->payload_len = bpf_htons(sizeof(*th));
		ip6->hop_limit = 64;
		sum = bpf_csum_diff(0, 0, (__be32 *)&ip6->saddr, 32, 0);
		sum += bpf_htonl(sizeof(*th)) + bpf_htonl(IPPROTO_TCP);
	}
	sum = bpf_csum_diff(0, 0, (__be32 *)th, sizeof(*th), sum);
	th->check = ~csum_fold64(sum);
	return 0;
}

/* Put the privacy class in front of the packet for an XDP-aware consumer. */
static __always_inline void bv_set_meta(struct xdp_md *ctx, __u8 class, const struct bv_lexer *lx)
{
	struct bv_meta *m;
	void *data;

	if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(*m)))
		return;
	m = (void *)(long)ctx->data_meta;
	data = (void *)(long)ctx->data;
	if ((void *)(m + 1) > data)
		return;
	m->magic = BV_META_MAGIC;
	m->class = class;
	m->decision = lx->decision;
	m->flags = lx->sig;
}

/* Reset the flow's lexer to "connection start". */
static __always_inline void bv_lexer_init(struct bv_lexer *lx, const struct bv_policy *gpol)
{
	__builtin_memset(lx, 0, sizeof(*lx));
	lx->st = LX_IDLE;
	lx->decision = BV_UNDECIDED;
	lx->flags = BV_LXF_FIRST;
	lx->pol = *gpol;
}

/* pcap --midstream: a connection is picked up where it is (bv_midstream.h)
 * rather than lost until its next SYN. Only offline: there it cannot make a
 * live connection stall, and the option is asked for. */
static __always_inline int bv_midstream_ok(const struct bv_scratch *sc)
{
	return bv_mode == BV_MODE_PCAP && (sc->set.flags & BV_SETF_MIDSTREAM);
}

static __always_inline void bv_midstream_lexer(struct bv_flow *f, const struct bv_policy *gpol,
					       __u32 seq)
{
	bv_lexer_init(&f->lx, gpol);
	f->lx.st = LX_MIDSTREAM;
	f->lx.flags = 0;
	f->lx.req_seq = seq; /* the pseudonyms' stream */
	f->lx_seg = f->lx;
	f->next_seq = seq;
	f->seg_seq = seq;
	f->state = BV_FLOW_SYNCED;
}

/* A segment of a connection we lost track of: dropped; inline, the client
 * gets a RST (whatever drop_action says) since the connection cannot go on. */
static __always_inline int bv_lost(struct xdp_md *ctx, struct bv_pkt *p, struct bv_flow_key *key)
{
	if (bv_mode == BV_MODE_INLINE && bv_send_reset(ctx, p) == 0) {
		bpf_map_delete_elem(&bv_flows, key);
		return bv_verdict(XDP_TX);
	}
	return bv_verdict(XDP_DROP);
}

/* Policy, settings, hash key and flow key of this segment, into the CPU's
 * scratch: what its scan needs (mirror and pcap: before the flow lookup,
 * their fast paths rewrite L3 by the policy; inline: only once the payload
 * is to be scanned). */
static __always_inline void bv_load_conf(struct xdp_md *ctx, struct bv_scratch *sc,
					 const struct bv_flow_key *key)
{
	__u32 zero = 0;
	struct bv_settings *st = bpf_map_lookup_elem(&bv_settings, &zero);
	struct bv_hash_key *k = bpf_map_lookup_elem(&bv_keys, &zero);

	bv_policy_sanitize(&sc->gpol, bpf_map_lookup_elem(&bv_policy, &zero));
	if (st)
		sc->set = *st;
	else
		__builtin_memset(&sc->set, 0, sizeof(sc->set));
	if (!sc->set.methods)
		sc->set.methods = BV_M_GET | BV_M_POST;
	if (k)
		sc->hkey = *k;
	else
		__builtin_memset(&sc->hkey, 0, sizeof(sc->hkey));
	sc->ifindex = ctx->ingress_ifindex;
	{
		struct bv_ipanon *an = bpf_map_lookup_elem(&bv_ipanon, &zero);

		sc->ipt.on = an && an->on == 1; /* prefix-preserving text too */
	}
	/* a copy (mirror, pcap) goes to analysis tools: every request's
	 * client address is masked there, not only beacons' */
	sc->mask_other = bv_mode != BV_MODE_INLINE &&
			 !(sc->set.flags & BV_SETF_KEEP_OTHER_REQUESTS);
	sc->fkey = *key;
}

/*
 * A client->server segment of a beacon-port flow. Returns the XDP action.
 * Inline, sc is NULL: the scratch is taken only for a segment to scan.
 */
static __always_inline int bv_client_segment(struct xdp_md *ctx, struct bv_pkt *p,
					     struct bv_scratch *sc, struct bv_flow_key *key)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct tcphdr *th = data + (p->l4_off & BV_L4_OFF_MASK);
	struct bv_flow *f;
	struct bv_scan_ctx x;
	__u32 seq, plen = p->pl_len, live = 0;
	__u32 *h = NULL;
	__u8 flags;
	__u64 l4acc = 0;

	if ((void *)(th + 1) > data_end)
		return bv_verdict(XDP_DROP);
	seq = bpf_ntohl(th->seq);
	flags = ((__u8 *)th)[BV_TCP_FLAGS_OFF];

	if ((flags & BV_TCP_SYN) && !(flags & BV_TCP_ACK)) {
		__u32 first = seq + 1;

		/* data in a SYN (TCP Fast Open): never scanned, so never passed;
		 * the client sends it again after the handshake */
		if (plen) {
			bv_count(BV_ST_MALFORMED_PKT);
			return bv_verdict(XDP_DROP);
		}
		/* a new connection: half-open until its first data, so that a
		 * flood of (spoofable) SYNs never evicts a live connection; an
		 * older connection's state under this key stays until then */
		bpf_map_update_elem(&bv_half, key, &first, BPF_ANY);
		bv_count(BV_ST_HALF_OPEN);
		goto keep_noscan;
	}
	f = bpf_map_lookup_elem(&bv_flows, key);
	/* the half-open table only for what the flow cannot explain: an
	 * in-order segment of a known flow (nearly every packet) skips it */
	if (!f || seq != f->next_seq || (flags & BV_TCP_RST))
		h = bpf_map_lookup_elem(&bv_half, key);
	if (flags & BV_TCP_RST) {
		/* forget only what the server forgets too: it takes a RST at
		 * exactly the next sequence number (RFC 5961), so a blind one
		 * cannot cut a connection's state */
		if (h && seq == *h)
			bpf_map_delete_elem(&bv_half, key);
		if (f && seq == f->next_seq)
			bpf_map_delete_elem(&bv_flows, key);
		goto keep_noscan;
	}
	if (plen == 0)
		goto keep_noscan;
	/* Body bytes need no scanning: an in-order segment wholly inside the
	 * current request's body, or a retransmission of body bytes, passes
	 * (or is dropped with its request) without copying anything, and inline
	 * without reading the configuration (the request's policy is in its
	 * lexer). Not the first data of a new connection under an old flow's key. */
	if (f && !(h && seq == *h) && f->lx.st == LX_BODY &&
	    ((seq == f->next_seq && plen <= f->lx.body_left) ||
	     ((__s32)(seq - f->lx.body_start) >= 0 && (__s32)(seq + plen - f->next_seq) <= 0))) {
		__u8 class = bv_class_of(&f->lx);

		if (seq == f->next_seq) {
			f->lx.body_left -= plen;
			f->next_seq = seq + plen;
			if (!f->lx.body_left)
				f->lx.st = LX_IDLE;
		} else {
			bv_count(BV_ST_RETRANSMIT);
		}
		if ((f->lx.sig & BV_SIG_BEACON) && bv_decision_drops(f->lx.decision))
			return bv_verdict(XDP_DROP);
		if (bv_mode != BV_MODE_INLINE) {
			if (bv_l3_rewrite(ctx, p, &sc->gpol,
					  BV_HOW(1, class != BV_CLASS_NONE ? BV_DSCP_BASE + class : -1),
					  &l4acc) < 0)
				return bv_verdict(XDP_DROP);
			bv_l4_fix(ctx, p, l4acc);
		}
		return bv_keep(ctx);
	}

	if (bv_mode == BV_MODE_INLINE) {
		/* inline, the scratch and the configuration from here on only */
		sc = bv_scratch_get();
		if (!sc)
			return bv_verdict(XDP_DROP);
		sc->encap = 0;
		bv_load_conf(ctx, sc, key);
	}
	if (h && seq == *h) {
		/* the connection's first data: its state moves to bv_flows */
		struct bv_flow *nf = &sc->nf;

		__builtin_memset(nf, 0, sizeof(*nf));
		nf->next_seq = seq;
		nf->state = BV_FLOW_SYNCED;
		bv_lexer_init(&nf->lx, &sc->gpol);
		nf->lx_seg = nf->lx;
		nf->seg_seq = seq;
		bpf_map_delete_elem(&bv_half, key);
		if (bpf_map_update_elem(&bv_flows, key, nf, BPF_ANY) == 0)
			bv_count(BV_ST_FLOW_NEW);
		f = bpf_map_lookup_elem(&bv_flows, key);
	} else if (h && !f) {
		/* data of a half-open connection after a gap (its first
		 * segment missing): inline the sender retransmits it; a copy
		 * never sees it, so the connection is lost until a new SYN */
		bv_count(BV_ST_OUT_OF_ORDER);
		if (bv_mode != BV_MODE_INLINE)
			bpf_map_delete_elem(&bv_half, key);
		return bv_verdict(XDP_DROP);
	}

	/* the names the scanner acts on are data: before userspace wrote
	 * them it could not tell a client address from any other header */
	if (!bv_names_ready()) {
		bv_count(BV_ST_NO_NAMES);
		return bv_verdict(XDP_DROP);
	}

	/* scratch: the payload, as far as we scan */
	{
		__u32 n = plen > BV_SCRATCH_LEN ? BV_SCRATCH_LEN : plen;

		if (n < 1)
			n = 1;
		sc->len = n;
		if (bpf_xdp_load_bytes(ctx, p->pl_off, sc->buf, n))
			return bv_verdict(XDP_DROP);
	}
	sc->pos = 0;
	sc->seq0 = seq;
	sc->csum = 0;
	sc->dirty_lo = BV_SCRATCH_LEN;
	sc->dirty_hi = 0;
	sc->nspans = 0;
	sc->span_open = 0;
	sc->seg_drop = 0;
	sc->drop_reset = 0;
	sc->known_dec = BV_UNDECIDED;
	bv_iptok_reset(sc); /* nothing left from another packet */
	sc->au_req.by = 0;

	if (!f) {
		/*
		 * Data of a connection whose start we did not see (attached
		 * mid-connection, or its state evicted): where a request
		 * begins cannot be known. Even a segment that starts with a
		 * method may be body bytes chosen by the sender to swallow the
		 * next request, another client's behind a proxy. Nothing of it
		 * passes until a new SYN; inline the client gets a RST so it
		 * reconnects at once. No state is made for it: a flood of such
		 * segments must not evict live connections either.
		 */
		bv_count(BV_ST_FLOW_UNKNOWN);
		if (!bv_midstream_ok(sc))
			return bv_lost(ctx, p, key);
		__builtin_memset(&sc->nf, 0, sizeof(sc->nf));
		bv_midstream_lexer(&sc->nf, &sc->gpol, seq);
		bpf_map_update_elem(&bv_flows, key, &sc->nf, BPF_ANY);
		f = bpf_map_lookup_elem(&bv_flows, key);
		if (!f)
			return bv_lost(ctx, p, key);
	}
	if (f->state == BV_FLOW_DESYNC) {
		bv_count(BV_ST_FLOW_UNKNOWN);
		if (!bv_midstream_ok(sc))
			return bv_lost(ctx, p, key);
		bv_midstream_lexer(f, &sc->gpol, seq);
	}

	if (seq == f->next_seq) {
		sc->lx = f->lx;
	} else if (seq == f->seg_seq && seq + plen >= f->next_seq) {
		/* the last segment again (maybe with more data): replay it */
		sc->lx = f->lx_seg;
		live = f->next_seq - seq;
		bv_count(BV_ST_RETRANSMIT);
	} else if ((__s32)(seq - f->next_seq) > 0) {
		/* a gap: something before this is missing. Inline the sender
		 * retransmits it; a copy (mirror, pcap) never sees it, so the
		 * connection is lost until a new SYN. */
		bv_count(BV_ST_OUT_OF_ORDER);
		if (bv_midstream_ok(sc)) {
			/* picked up again from here */
			bv_midstream_lexer(f, &sc->gpol, seq);
			sc->lx = f->lx;
		} else {
			if (bv_mode != BV_MODE_INLINE) {
				f->state = BV_FLOW_DESYNC;
				f->lx.st = LX_DROPALL;
			}
			return bv_verdict(XDP_DROP);
		}
	} else if ((__s32)(seq + plen - f->next_seq) <= 0 && seq == f->lx.req_seq &&
		   f->lx.req_seq != 0) {
		/* the current request's first segment again: rescan from scratch;
		 * if that request was dropped meanwhile, it is dropped now */
		if ((f->lx.sig & BV_SIG_BEACON) && bv_decision_drops(f->lx.decision)) {
			bv_count(BV_ST_RETRANSMIT);
			return bv_verdict(XDP_DROP);
		}
		sc->known_dec = f->lx.decision;
		bv_lexer_init(&sc->lx, &sc->gpol);
		sc->lx.flags = 0;
		live = plen;
		bv_count(BV_ST_RETRANSMIT);
	} else {
		/* old data whose context we no longer have */
		bv_count(BV_ST_RETRANSMIT);
		return bv_verdict(XDP_DROP);
	}
	if (live > plen)
		live = plen;
	sc->live_from = live;

	/* a dropped request's later segments are dropped too */
	if (sc->lx.st == LX_DROPALL || ((sc->lx.sig & BV_SIG_BEACON) &&
	    bv_decision_drops(sc->lx.decision) && sc->lx.st != LX_IDLE))
		sc->seg_drop = 1;
	if (sc->lx.st == LX_IDLE && (sc->lx.flags & BV_LXF_FIRST)) {
		int r = bv_proxy_v2(sc);

		if (r == 0)
			r = bv_proxy_v1(sc);
		if (r < 0) {
			if (live == 0)
				bv_count(BV_ST_MALFORMED_PKT);
			sc->seg_drop = 1;
			sc->lx.st = LX_DROPALL;
		}
	}
	if (plen > BV_SCRATCH_LEN) {
		/* only a body or opaque run may exceed what we scan; a
		 * connection picked up mid-way never passes unscanned */
		if (sc->lx.st == LX_MIDSTREAM) {
			sc->seg_drop = 1;
		} else if (!(sc->lx.st == LX_BODY && sc->lx.body_left >= plen) &&
			   sc->lx.st != LX_OPAQUE && sc->lx.st != LX_DROPALL) {
			sc->lx.sig |= BV_SIG_MALFORMED;
			bv_malformed(sc, 0);
		}
		if (sc->lx.st == LX_BODY) {
			sc->lx.body_left -= plen;
			if (!sc->lx.body_left)
				sc->lx.st = LX_IDLE;
		}
	} else {
		x.sc = sc;
		bpf_loop(BV_SCRATCH_LEN + 1, bv_scan_cb, &x, 0);
		bv_iptok_flush(sc); /* the addresses of this segment */
		bv_spans_apply(sc);
		if (sc->lx.st == LX_MIDSTREAM) {
			/* a run cut by the segment's end may be long */
			bv_mid_run(sc, sc->len, 1);
			if (live == 0)
				bv_count(BV_ST_MIDSTREAM);
		}
	}
	/* a beacon request still in its head whose drop is already certain:
	 * nothing more of it leaves, not even before the decision is made */
	if ((sc->lx.sig & BV_SIG_BEACON) && sc->lx.decision == BV_UNDECIDED &&
	    sc->lx.st >= LX_PATH && sc->lx.st <= LX_HSKIP &&
	    bv_drop_certain(&sc->lx.pol, sc->lx.sig)) {
		sc->seg_drop = 1;
		if (sc->lx.pol.drop_action == BV_DROPACT_RESET)
			sc->drop_reset = 1;
	}

	/* commit the new state if this segment brought new bytes */
	if (live < plen) {
		if (live == 0)  /* f->lx is still the state at seq */
			f->lx_seg = f->lx;
		f->seg_seq = seq;
		f->lx = sc->lx;
		f->next_seq = seq + plen;
		f->state = BV_FLOW_SYNCED;
	}
	if (bv_mode != BV_MODE_INLINE) /* the Set-Cookie audit's attribution */
		bv_audit_note_flow(sc);

	if (sc->seg_drop) {
		if (bv_mode == BV_MODE_INLINE && sc->drop_reset && bv_send_reset(ctx, p) == 0) {
			bpf_map_delete_elem(&bv_flows, key);
			return bv_verdict(XDP_TX);
		}
		return bv_verdict(XDP_DROP);
	}

	/* write the rewritten bytes back */
	if (sc->dirty_hi > sc->dirty_lo) {
		__u32 lo = sc->dirty_lo & (BV_SCRATCH_LEN - 1);
		__u32 n = sc->dirty_hi - sc->dirty_lo;

		/* n is in [1, 4096] by construction (hi > lo, hi <= 4096);
		 * the arithmetic form lets the verifier see that too */
		n = ((n - 1) & (BV_SCRATCH_LEN - 1)) + 1;
		if (bpf_xdp_store_bytes(ctx, p->pl_off + lo, &sc->buf[lo], n))
			return bv_verdict(XDP_DROP); /* never let the original out */
		l4acc += sc->csum;
	}

	if (bv_mode != BV_MODE_INLINE) {
		__u8 class = bv_class_of(&sc->lx);
		int dscp;

		if (class == BV_CLASS_DROPPED) /* kept: no byte of that request in it */
			class = BV_CLASS_NONE;
		dscp = class != BV_CLASS_NONE ? BV_DSCP_BASE + class : -1;

		if (bv_l3_rewrite(ctx, p, &sc->gpol, BV_HOW(1, dscp), &l4acc) < 0)
			return bv_verdict(XDP_DROP);
	}
	bv_l4_fix(ctx, p, l4acc);
	if ((sc->lx.sig & BV_SIG_BEACON) && bv_class_of(&sc->lx) != BV_CLASS_DROPPED)
		bv_set_meta(ctx, bv_class_of(&sc->lx), &sc->lx);
	return bv_keep(ctx);

keep_noscan:
	if (bv_mode != BV_MODE_INLINE) {
		if (bv_l3_rewrite(ctx, p, &sc->gpol, BV_HOW(1, -1), &l4acc) < 0)
			return bv_verdict(XDP_DROP);
		bv_l4_fix(ctx, p, l4acc);
	}
	return bv_keep(ctx);
}

SEC("xdp")
int beaconveil_xdp(struct xdp_md *ctx)
{
	struct bv_pkt p = {};
	struct bv_scratch *sc;
	struct bv_flow_key key;
	__u32 zero = 0;
	__u16 sport, dport;
	__u8 *up, *dn;
	int r;

	bv_count(BV_ST_PKTS);
	/* inline, a packet that is not a beacon flow's needs no scratch */
	sc = NULL;
	if (bv_mode != BV_MODE_INLINE) {
		sc = bv_scratch_get();
		if (!sc)
			return bv_verdict(XDP_DROP);
		sc->encap = 0;
	}
	r = bv_parse_frame(ctx, &p, 0);
	if (r == BV_P_OK && bv_mode != BV_MODE_INLINE && p.proto == IPPROTO_UDP && sc) {
		/* a tunnel's packet: from here on p is its inner frame */
		if (bv_decap(ctx, &p, sc) == BV_DECAP_DROP)
			return bv_verdict(XDP_DROP);
	}
	if (r == BV_P_NON_IP) {
		bv_count(BV_ST_NON_IP);
		return bv_keep(ctx);
	}
	if (r != BV_P_OK) {
		bv_count(BV_ST_MALFORMED_PKT);
		return bv_verdict(XDP_DROP);
	}
	if (p.proto != IPPROTO_TCP) {
		bv_count(BV_ST_NON_TCP);
		if (bv_mode == BV_MODE_INLINE || !sc)
			return bv_keep(ctx);
		bv_policy_sanitize(&sc->gpol, bpf_map_lookup_elem(&bv_policy, &zero));
		return bv_other(ctx, &p, &sc->gpol, 3);
	}
	if (p.frag) {
		bv_count(BV_ST_FRAGMENT);
		return bv_verdict(XDP_DROP);
	}
	{
		void *data = (void *)(long)ctx->data;
		void *data_end = (void *)(long)ctx->data_end;
		struct tcphdr *th = data + (p.l4_off & BV_L4_OFF_MASK);
		__u32 d, s;

		if ((void *)(th + 1) > data_end)
			return bv_verdict(XDP_DROP);
		sport = bpf_ntohs(th->source);
		dport = bpf_ntohs(th->dest);
		d = dport;
		s = sport;
		dn = bpf_map_lookup_elem(&bv_ports, &d);
		/* the source port only matters off a beacon destination */
		up = (dn && (*dn & BV_PORT_BEACON)) ? NULL : bpf_map_lookup_elem(&bv_ports, &s);
		/* inline, everything off the beacon ports leaves here */
		if (bv_mode == BV_MODE_INLINE && !(dn && (*dn & BV_PORT_BEACON))) {
			bv_count(up && (*up & BV_PORT_BEACON) ? BV_ST_BEACON_PORT : BV_ST_OTHER_TCP);
			return bv_verdict(XDP_PASS);
		}
		/* the flow key only for what may have flow state */
		if ((dn && (*dn & BV_PORT_BEACON)) || (bv_mode != BV_MODE_INLINE && up &&
						       (*up & (BV_PORT_BEACON | BV_PORT_AUDIT)))) {
			__builtin_memset(&key, 0, sizeof(key));
			key.cport = th->source;
			key.sport = th->dest;
			if (p.family == 4) {
				struct iphdr *ip = data + (p.l3_off & BV_L3_OFF_MASK);

				if ((void *)(ip + 1) > data_end)
					return bv_verdict(XDP_DROP);
				key.client[0] = ip->saddr;
				key.server[0] = ip->daddr;
			} else {
				struct ipv6hdr *ip6 = data + (p.l3_off & BV_L3_OFF_MASK);

				if ((void *)(ip6 + 1) > data_end)
					return bv_verdict(XDP_DROP);
				__builtin_memcpy(key.client, &ip6->saddr, 16);
				__builtin_memcpy(key.server, &ip6->daddr, 16);
			}
			key.family = p.family;
		}
	}
	if (dn && (*dn & BV_PORT_BEACON)) {
		bv_count(BV_ST_BEACON_PORT);
		if (bv_mode != BV_MODE_INLINE && sc)
			bv_load_conf(ctx, sc, &key);
		return bv_client_segment(ctx, &p, sc, &key);
	}
	/* mirror and pcap (inline left above): not a client->server
	 * beacon-port packet, its L3 masked */
	if (up && (*up & BV_PORT_BEACON))
		bv_count(BV_ST_BEACON_PORT);
	else
		bv_count(BV_ST_OTHER_TCP);
	if (!sc)
		return bv_keep(ctx);
	if (up && (*up & (BV_PORT_BEACON | BV_PORT_AUDIT))) /* responses: the Set-Cookie audit reads them (bv_audit.h) */
		bv_audit_response(ctx, &p, sc, &key, *up);
	bv_policy_sanitize(&sc->gpol, bpf_map_lookup_elem(&bv_policy, &zero));
	return bv_other(ctx, &p, &sc->gpol, (up && (*up & BV_PORT_BEACON)) ? 2 : 3); /* 2: server->client */
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
