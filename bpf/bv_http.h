/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The HTTP/1.x request scanner. It runs over one TCP segment's payload,
 * copied into the CPU's scratch buffer, as a resumable state machine: every
 * token that may be cut by a segment boundary (header names, cookie names,
 * addresses, identifiers) is carried in struct bv_lexer, never as bytes of
 * an earlier packet. Rewrites happen in the scratch copy; the caller writes
 * the changed range back and fixes the TCP checksum.
 *
 * Driven by bpf_loop(): the callback consumes one byte, or a whole run of
 * bytes in states that only look for a delimiter (word-at-a-time search).
 */
#ifndef BV_HTTP_H
#define BV_HTTP_H

#include "bv_maps.h"
#include "bv_csum.h"
#include "bv_hash.h"
#include "bv_policy.h"
#include "bv_textmask.h"

#define BV_MASK (BV_SCRATCH_LEN - 1)

/*
 * Global (non-static, noinline) functions are verified once on their own,
 * with unknown arguments, instead of once per call site and path: that is
 * what keeps the scanner well under the verifier's 1M-instruction budget.
 * Their pointer arguments may be NULL as far as the verifier knows.
 */
#define BV_GLOBAL __attribute__((noinline))
#define BV_MAX_HEAD (64 * 1024)   /* a longer request head is malformed */
#define BV_MAX_BODY (1u << 30)

enum bv_lex_state {
	LX_IDLE = 0,  /* before a request line (or PROXY header, bv_proxy.h) */
	LX_METHOD,
	LX_PATH,
	LX_QNAME,
	LX_QVAL,
	LX_REQ_REST,  /* rest of the request line */
	LX_LINE,      /* start of a header line */
	LX_LINE_CR,
	LX_HNAME,
	LX_HVAL,
	LX_HSKIP,     /* rest of an uninteresting header line */
	LX_BODY,
	LX_OPAQUE,    /* not parseable (chunked body, not HTTP): pass until resync */
	LX_DROPALL,   /* a dropped or malformed request's rest: drop until resync */
	LX_CHUNK_SIZE,    /* chunked body: hex size (and extensions) to '\n' */
	LX_CHUNK_DATA,    /* chunked body: body_left bytes of one chunk */
	LX_CHUNK_CRLF,    /* chunked body: the line end after a chunk */
	LX_CHUNK_TRAILER, /* chunked body: trailer lines to the empty one */
	LX_MBODY,     /* a mobile beacon's form body (bv_mbody_char) */
};

enum bv_hdr_kind {
	H_OTHER = 0, H_DNT, H_GPC, H_HOST, H_COOKIE, H_IPLIST, H_FWD, H_CLEN, H_TE, H_CENC,
	/* parameters of a mobile beacon's body, in lx->hdr while it is read */
	H_MB_SKIP, H_MB_IP, H_MB_VI, H_MB_SN, H_MB_DL, H_MB_CL, H_MB_ET, H_MB_NA,
};

enum { Q_SKIP = 0, Q_ID, Q_APP, Q_SESS, Q_TYPE, Q_MSI };
enum { MB_KEY = 0, MB_VAL };       /* lx->sub in a mobile body */
enum { SPAN_WEB = 0, SPAN_MOBILE_ID, SPAN_USER_TAG }; /* bv_span.kind */
#define BV_ET_IDENTIFY  60 /* OpenKit event types (et=) */
#define BV_ET_CRASH     50
#define BV_ET_EXCEPTION 42
enum { C_OWS = 0, C_NAME, C_SKIP, C_RXV, C_DTPC, C_DIS, C_SESS };
enum { F_NAME = 0, F_FOR, F_SKIP };
/* lx->sub2 bits inside a Forwarded for= value (see bv_fwd_char) */
#define BV_FWD_QUOTED  0x01 /* inside the value's quoted-string */
#define BV_FWD_CLOSED  0x02 /* we closed it early: the rest becomes ';' */
#define BV_FWD_BRACKET 0x04 /* inside "[...]": an IPv6 address */
#define BV_FWD_MASKED  0x08 /* that address was masked */
#define BV_FWD_AFTER   0x10 /* after "]": ":port" */
enum { ID_NONE = 0, ID_OPEN, ID_REPLACE, ID_KEEP };

static __always_inline void bv_count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&bv_stats, &idx);

	if (v)
		*v += 1;
}

/* bv_ifdec[ifindex].dec[d] += 1. The overflow key is made before any
 * interface's, so it always has room when the map fills up. */
BV_GLOBAL int bv_count_ifdec(__u32 ifindex, __u32 d)
{
	struct bv_ifdec zero = {}, *v;
	__u32 other = BV_IFDEC_OVERFLOW;

	v = bpf_map_lookup_elem(&bv_ifdec, &ifindex);
	if (!v) {
		bpf_map_update_elem(&bv_ifdec, &other, &zero, BPF_NOEXIST);
		bpf_map_update_elem(&bv_ifdec, &ifindex, &zero, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&bv_ifdec, &ifindex);
		if (!v)
			v = bpf_map_lookup_elem(&bv_ifdec, &other);
		if (!v)
			return 0;
	}
	if (d < BV_DEC_MAX) /* checked here, at the access, for the verifier */
		v->dec[d] += 1;
	return 0;
}

static __always_inline char bv_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

/* Replace buf[pos] by c, keeping the checksum delta and the dirty range. */
static __always_inline void bv_put(struct bv_scratch *sc, __u32 pos, char c)
{
	__u32 i = pos & BV_MASK;
	char old = sc->buf[i];

	if (old == c)
		return;
	sc->buf[i] = c;
	csum_acc8(&sc->csum, i, (__u8)old, (__u8)c);
	if (i < sc->dirty_lo)
		sc->dirty_lo = i;
	if (i + 1 > sc->dirty_hi)
		sc->dirty_hi = i + 1;
}

static __always_inline void bv_tok_add(struct bv_lexer *lx, char c)
{
	if (lx->tok_len < BV_TOK_LEN - 1) {
		lx->tok[lx->tok_len & (BV_TOK_LEN - 1)] = c;
		lx->tok_len++;
	} else {
		lx->tok_len = BV_TOK_LEN - 1;
		lx->flags |= BV_LXF_TOKOVF; /* overflow: the token matches nothing */
	}
}

static __always_inline void bv_tok_reset(struct bv_lexer *lx)
{
	lx->tok_len = 0;
	lx->flags &= ~BV_LXF_TOKOVF;
}

/* tok == s (n bytes, literal). */
#define TOK_IS(lx, s) bv_tok_is(lx, s, sizeof(s) - 1)
static __always_inline int bv_tok_is(const struct bv_lexer *lx, const char *s, __u32 n)
{
	if (lx->tok_len != n || (lx->flags & BV_LXF_TOKOVF))
		return 0;
#pragma unroll
	for (__u32 i = 0; i < 20; i++) {
		if (i >= n)
			break;
		if (lx->tok[i] != s[i])
			return 0;
	}
	return 1;
}

/* tok == s followed by an optional environment suffix of [0-9_]. */
#define TOK_IS_SFX(lx, s) bv_tok_is_sfx(lx, s, sizeof(s) - 1)
static __always_inline int bv_tok_is_sfx(const struct bv_lexer *lx, const char *s, __u32 n)
{
	if (lx->tok_len < n || (lx->flags & BV_LXF_TOKOVF))
		return 0;
#pragma unroll
	for (__u32 i = 0; i < 12; i++) {
		if (i >= n)
			break;
		if (lx->tok[i] != s[i])
			return 0;
	}
#pragma unroll
	for (__u32 i = 0; i < 32; i++) {
		char c;

		if (i + n >= lx->tok_len)
			break;
		c = lx->tok[(i + n) & (BV_TOK_LEN - 1)];
		if (!((c >= '0' && c <= '9') || c == '_'))
			return 0;
	}
	return 1;
}

static __always_inline __u32 bv_method_bit(const struct bv_lexer *lx)
{
	if (TOK_IS(lx, "GET"))
		return BV_M_GET;
	if (TOK_IS(lx, "POST"))
		return BV_M_POST;
	if (TOK_IS(lx, "PUT"))
		return BV_M_PUT;
	if (TOK_IS(lx, "HEAD"))
		return BV_M_HEAD;
	if (TOK_IS(lx, "OPTIONS"))
		return BV_M_OPTIONS;
	if (TOK_IS(lx, "PATCH"))
		return BV_M_PATCH;
	if (TOK_IS(lx, "DELETE"))
		return BV_M_DELETE;
	return 0;
}

/* ---- policy lookups ---------------------------------------------------- */

BV_GLOBAL int bv_lookup_app(struct bv_lexer *lx, __u8 kind)
{
	struct bv_app_key key = {};
	struct bv_policy *p;

	if (!lx)
		return 0;
	if (lx->tok_len == 0 || (lx->flags & BV_LXF_TOKOVF) || (lx->sig & BV_SIG_APPPOL))
		return 0;
	key.kind = kind;
	key.len = lx->tok_len;
#pragma unroll
	for (int i = 0; i < BV_TOK_LEN; i++)
		if (i < lx->tok_len)
			key.id[i] = lx->tok[i];
	p = bpf_map_lookup_elem(&bv_apppol, &key);
	/* over the global policy the request started with */
	if (!p || !bv_policy_merge(&lx->pol, p, &lx->pol))
		return 0;
	lx->sig |= BV_SIG_APPPOL;
	return 0;
}

/* Remember the application id for events (as much as fits). */
BV_GLOBAL int bv_note_app(struct bv_lexer *lx)
{
	if (!lx || (lx->flags & BV_LXF_TOKOVF))
		return 0;
	for (__u32 i = 0; i < BV_EVENT_APP_LEN; i++)
		lx->app[i] = i < lx->tok_len ? lx->tok[i] : 0;
	lx->app_len = lx->tok_len > BV_EVENT_APP_LEN ? BV_EVENT_APP_LEN : lx->tok_len;
	return 0;
}

/* Index after the last '/' of the path in tok. */
BV_GLOBAL int bv_last_seg(const struct bv_lexer *lx)
{
	int start = 0;

	if (!lx)
		return 0;
	for (__u32 i = 0; i < BV_TOK_LEN; i++) {
		if (i >= lx->tok_len)
			break;
		if (lx->tok[i] == '/')
			start = i + 1;
	}
	return start;
}

/* Path rules against the request path in tok. */
BV_GLOBAL int bv_rule_match(const struct bv_lexer *lx, const struct bv_path_rule *r, __u32 seg)
{
	__u32 n, plen, start = 0;

	if (!lx || !r)
		return 0;
	n = r->len;
	plen = lx->tok_len;
	if (n == 0 || n > BV_PATH_LEN || (lx->flags & BV_LXF_TOKOVF) || plen >= BV_TOK_LEN)
		return 0;
	if (r->kind == BV_PATH_SEG_PREFIX)
		start = seg & (BV_TOK_LEN - 1);
	if (start + n > plen)
		return 0;
	for (__u32 i = 0; i < BV_PATH_LEN; i++) {
		if (i >= n)
			break;
		if (lx->tok[(start + i) & (BV_TOK_LEN - 1)] != r->pat[i])
			return 0;
	}
	switch (r->kind) {
	case BV_PATH_SEG_PREFIX:
	case BV_PATH_PREFIX:
		return 1;
	case BV_PATH_EXACT:
		return plen == n;
	case BV_PATH_EXACT_OR_ID:
		if (plen == n)
			return 1;
		if (lx->tok[n & (BV_TOK_LEN - 1)] != '/' || plen == n + 1)
			return 0;
		for (__u32 i = 0; i < BV_TOK_LEN; i++) {
			__u32 j = n + 1 + i;
			if (j >= plen)
				break;
			if (lx->tok[j & (BV_TOK_LEN - 1)] == '/')
				return 0;
		}
		return 1;
	}
	return 0;
}

struct bv_rule_ctx {
	struct bv_lexer *lx;
	__u32 seg;     /* start of the last path segment */
	__u16 sig;
};

static long bv_rule_cb(__u64 i, void *vctx)
{
	struct bv_rule_ctx *rc = vctx;
	__u32 k = (__u32)i;
	struct bv_path_rule *r = bpf_map_lookup_elem(&bv_paths, &k);

	if (!r || !rc->lx || r->kind == BV_PATH_NONE)
		return 1; /* rules are packed: the first empty one ends the list */
	if (bv_rule_match(rc->lx, r, rc->seg)) {
		rc->sig |= r->crash_report ? (BV_SIG_BEACON | BV_SIG_CRASH) : BV_SIG_BEACON;
		if (!r->crash_report)
			return 0; /* a crash rule may still match */
	}
	return 0;
}

BV_GLOBAL int bv_match_path(struct bv_scratch *sc)
{
	struct bv_rule_ctx rc = { .sig = 0 };

	if (!sc)
		return 0;
	rc.lx = &sc->lx;
	rc.seg = bv_last_seg(&sc->lx);

	bpf_loop(BV_MAX_PATHS, bv_rule_cb, &rc, 0);
	sc->lx.sig |= rc.sig;
	return 0;
}

/* ---- requests and decisions ------------------------------------------- */

static __always_inline void bv_req_start(struct bv_scratch *sc, __u32 pos)
{
	struct bv_lexer *lx = &sc->lx;

	lx->sig = 0;
	lx->hdr = H_OTHER;
	lx->decision = BV_UNDECIDED;
	lx->pol = sc->gpol;
	lx->id_mode = ID_NONE;
	lx->hdr_bytes = 0;
	lx->body_left = 0;
	lx->flags &= ~(BV_LXF_FIRST | BV_LXF_SEED | BV_LXF_VH | BV_LXF_SH | BV_LXF_SH_Q);
	lx->req_seq = sc->seq0 + pos - lx->tok_len; /* the method's first byte */
	lx->app_len = 0;
	bv_shash_init(&lx->vh, sc->hkey.k);
	bv_shash_init(&lx->sh, sc->hkey.k);
	if (pos >= sc->live_from)
		bv_count(BV_ST_REQUESTS);
}

/* Tell the daemon: keyed hashes only (struct bv_event). */
static __always_inline void bv_emit_event(struct bv_scratch *sc)
{
	struct bv_lexer *lx = &sc->lx;
	struct bv_event *e = bpf_ringbuf_reserve(&bv_events, sizeof(*e), 0);

	if (!e) {
		bv_count(BV_ST_EVENTS_LOST);
		return;
	}
	e->ts_ns = bpf_ktime_get_ns();
	e->visitor = (lx->flags & BV_LXF_VH) && lx->decision != BV_DEC_ANONYMIZED ?
		     bv_shash_final(&lx->vh) : 0;
	e->session = (lx->flags & BV_LXF_SH) ? bv_shash_final(&lx->sh) : 0;
	e->epoch = sc->hkey.epoch;
	e->ifindex = sc->ifindex;
	e->sig = lx->sig;
	e->decision = lx->decision;
	e->app_len = lx->app_len;
	__builtin_memcpy(e->_pad, "\0\0\0\0", 4);
	__builtin_memcpy(e->app, lx->app, BV_EVENT_APP_LEN);
	/* Waking the reader costs an interrupt (a VM exit on virtual machines)
	 * per event; the daemon reads at least every second anyway, so wake it
	 * only as the waiting data crosses a quarter of the ring: once per
	 * crossing, and never again while nobody reads (daemon gone). */
	{
		__u64 avail = bpf_ringbuf_query(&bv_events, BPF_RB_AVAIL_DATA);

		bpf_ringbuf_submit(e, avail >= BV_EVENTS_WAKE &&
				      avail < BV_EVENTS_WAKE + 4 * (sizeof(*e) + 8) ?
				      BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
	}
}

static __always_inline void bv_set_decision(struct bv_scratch *sc, __u32 pos, __u8 d)
{
	struct bv_lexer *lx = &sc->lx;

	lx->decision = d;
	if (pos >= sc->live_from) {
		bv_count(d);
		bv_count_ifdec(sc->ifindex, d);
		bv_emit_event(sc);
	}
	if (bv_decision_drops(d)) {
		sc->seg_drop = 1;
		if (lx->pol.drop_action == BV_DROPACT_RESET)
			sc->drop_reset = 1;
	}
}

BV_GLOBAL int bv_spans_apply(struct bv_scratch *sc); /* beaconveil.bpf.c */

BV_GLOBAL int bv_end_headers(struct bv_scratch *sc, __u32 pos)
{
	struct bv_lexer *lx;

	if (!sc)
		return 0;
	lx = &sc->lx;

	if (lx->sig & BV_SIG_BEACON)
		bv_set_decision(sc, pos, bv_decide(&lx->pol, lx->sig));
	/* this request's identifiers by this request's decision, before a
	 * pipelined next request in the same segment changes the lexer */
	bv_spans_apply(sc);
	sc->nspans = 0;
	sc->span_open = 0;
	if ((lx->sig & (BV_SIG_BEACON | BV_SIG_MOBILE)) == (BV_SIG_BEACON | BV_SIG_MOBILE) &&
	    pos >= sc->live_from) {
		bv_count(BV_ST_MOBILE);
		if (lx->sig & (BV_SIG_ENCODED | BV_SIG_CHUNKED))
			bv_count(BV_ST_BODY_UNREADABLE);
	}
	if ((lx->sig & (BV_SIG_BEACON | BV_SIG_MOBILE)) == (BV_SIG_BEACON | BV_SIG_MOBILE) &&
	    !(lx->sig & (BV_SIG_ENCODED | BV_SIG_CHUNKED)) && lx->body_left) {
		/* a mobile agent's form body: read and rewritten as it streams */
		lx->st = LX_MBODY;
		lx->sub = MB_KEY;
		lx->sub2 = 0;
		lx->hdr = H_MB_SKIP;
		lx->mb = BV_MB_BODY;
		lx->mb_et = 0;
		lx->mb_dl = 3;
		lx->mb_cl = 3;
		lx->id_mode = ID_NONE;
		bv_tok_reset(lx);
		__builtin_memset(&lx->ipm, 0, sizeof(lx->ipm));
	} else if (lx->sig & BV_SIG_CHUNKED) {
		lx->st = LX_CHUNK_SIZE;
		lx->body_left = 0;
		lx->sub = 0;
	} else if (lx->body_left) {
		lx->st = LX_BODY;
		lx->body_start = sc->seq0 + pos + 1;
	}
	else
		lx->st = LX_IDLE;
	return 0;
}

static __always_inline void bv_malformed(struct bv_scratch *sc, __u32 pos)
{
	struct bv_lexer *lx = &sc->lx;

	if ((lx->sig & BV_SIG_BEACON) && lx->decision == BV_UNDECIDED)
		bv_set_decision(sc, pos, BV_DEC_MALFORMED);
	if (lx->sig & BV_SIG_BEACON)
		sc->seg_drop = 1;
	lx->st = (lx->sig & BV_SIG_BEACON) ? LX_DROPALL : LX_OPAQUE;
}

/* ---- identifiers -------------------------------------------------------- */

BV_GLOBAL __u64 bv_seed(struct bv_scratch *sc)
{
	struct bv_lexer *lx;
	struct bv_sip s;
	const __u64 *w;

	if (!sc)
		return 0;
	lx = &sc->lx;
	w = (const __u64 *)&sc->fkey;

	if (lx->flags & BV_LXF_SEED)
		return lx->id_seed;
	bv_sip_init(&s, sc->set.anon_key);
	/* not the client address (w[0], w[1]): with a known key (pcap mode's
	 * default is all zero) it could be searched for from the output */
	bv_sip_word(&s, w[2]);
	bv_sip_word(&s, w[3]);
	bv_sip_word(&s, w[4]);
	bv_sip_word(&s, lx->req_seq);
	lx->id_seed = bv_sip_final(&s, 48);
	lx->flags |= BV_LXF_SEED;
	return lx->id_seed;
}

/* Will identifiers of this request be replaced, as far as we know now? */
static __always_inline int bv_replace_now(const struct bv_lexer *lx, __u8 final_dec)
{
	if (final_dec == BV_DEC_ANONYMIZED || bv_decision_drops(final_dec))
		return 1; /* a dropped request's identifiers never leave as they were */
	if (final_dec != BV_UNDECIDED)
		return 0;
	/* undecided at the moment the identifier leaves: replace unless the
	 * request is sure to pass with identity */
	return bv_may_not_pass(&lx->pol, lx->sig);
}

/* How a new span of an identifier is to be treated: as the part before it
 * was (an identifier cut by a segment end), replaced for sure when the
 * policy in force as it is seen already anonymizes (a Host override later
 * in the head may not bring it back), else by the request's decision. */
static __always_inline __u8 bv_span_mode(const struct bv_lexer *lx)
{
	if (lx->id_mode != ID_OPEN)
		return lx->id_mode;
	return bv_decide(&lx->pol, lx->sig) == BV_DEC_ANONYMIZED ? ID_REPLACE : 0;
}

/* What an identifier under way is, for the counters (SPAN_*). */
static __always_inline __u8 bv_span_kind(const struct bv_lexer *lx)
{
	if (lx->mb & BV_MB_BODY)
		return lx->hdr == H_MB_NA ? SPAN_USER_TAG : SPAN_MOBILE_ID;
	return lx->st == LX_QVAL && lx->sub == Q_MSI ? SPAN_MOBILE_ID : SPAN_WEB;
}

/* One character of a visitor identifier at buf[pos]. */
BV_GLOBAL int bv_id_char(struct bv_scratch *sc, __u32 pos)
{
	struct bv_lexer *lx;
	__u32 n;

	if (!sc)
		return 0;
	lx = &sc->lx;
	n = sc->nspans;

	if (lx->id_mode == ID_NONE) {
		lx->id_mode = ID_OPEN;
		lx->id_off = 0;
		lx->sig |= BV_SIG_VISITOR;
	}
	if (sc->span_open && n > 0 && n <= BV_MAX_SPANS) {
		sc->spans[(n - 1) & (BV_MAX_SPANS - 1)].len++;
	} else if (n < BV_MAX_SPANS) {
		struct bv_span *sp = &sc->spans[n & (BV_MAX_SPANS - 1)];

		sp->pos = pos;
		sp->len = 1;
		sp->id_off = lx->id_off;
		sp->forced = bv_span_mode(lx);
		sp->kind = bv_span_kind(lx);
		sc->nspans = n + 1;
		sc->span_open = 1;
	} else {
		/* more identifiers than we can defer: replace right away */
		char c = sc->buf[pos & BV_MASK];

		bv_put(sc, pos, bv_pseudo_char(bv_seed(sc), lx->id_off, c));
	}
	lx->id_off++;
	return 0;
}

static __always_inline void bv_id_end(struct bv_scratch *sc)
{
	sc->lx.id_mode = ID_NONE;
	sc->span_open = 0;
}

/* ---- addresses in text ------------------------------------------------- */

/* The masker's output for address character c (c itself when nothing is
 * masked); c == 0: not an address character, the address ends. */
BV_GLOBAL int bv_ip_out(struct bv_scratch *sc, __u32 pos, char c)
{
	struct bv_lexer *lx;
	struct bv_ipm_cfg cfg;
	char out;

	if (!sc)
		return 0;
	lx = &sc->lx;

	if (lx->pol.ip_mask == BV_IPMASK_OFF)
		return c;
	if (!bv_is_ipchar(c)) {
		__builtin_memset(&lx->ipm, 0, sizeof(lx->ipm));
		return c;
	}
	cfg.keep4 = lx->pol.ipv4_prefix / 8;
	cfg.keep6 = lx->pol.ipv6_prefix / 16;
	cfg.public_only = lx->pol.ip_mask == BV_IPMASK_PUBLIC;
	cfg.pad = lx->hdr == H_MB_IP ? '&' : ' '; /* a form body: empty parameters */
	if (lx->hdr == H_FWD) {
		/* RFC 7239 allows no space in an element, but empty pairs */
		cfg.pad = ';';
		if ((lx->sub2 & BV_FWD_BRACKET) && lx->ipm.fam == 0) {
			lx->ipm.fam = 6;
			lx->ipm.keep = cfg.keep6;
		}
	}
	out = bv_ipm_step(&lx->ipm, c, &cfg);
	if (out == ';' && lx->hdr == H_FWD && (lx->sub2 & BV_FWD_QUOTED) &&
	    !(lx->sub2 & BV_FWD_CLOSED)) {
		out = '"'; /* the padding goes outside the quoted node */
		lx->sub2 |= BV_FWD_CLOSED;
	}
	if ((lx->ipm.flags & (BV_IPM_MASKING | BV_IPM_COUNTED)) == BV_IPM_MASKING) {
		lx->ipm.flags |= BV_IPM_COUNTED;
		if (pos >= sc->live_from)
			bv_count(BV_ST_TEXT_MASKED);
	}
	return out;
}

/* One character of a client address in text at buf[pos], masked in place. */
static __always_inline void bv_ip_char(struct bv_scratch *sc, __u32 pos, char c)
{
	bv_put(sc, pos, (char)bv_ip_out(sc, pos, c));
}

static __always_inline void bv_ip_reset(struct bv_lexer *lx)
{
	__builtin_memset(&lx->ipm, 0, sizeof(lx->ipm));
}

/* ---- header lines -------------------------------------------------------- */

BV_GLOBAL int bv_hdr_kind(const struct bv_lexer *lx)
{
	if (!lx)
		return H_OTHER;
	switch (lx->tok_len) {
	case 3:
		return TOK_IS(lx, "dnt") ? H_DNT : H_OTHER;
	case 4:
		return TOK_IS(lx, "host") ? H_HOST : H_OTHER;
	case 6:
		return TOK_IS(lx, "cookie") ? H_COOKIE : H_OTHER;
	case 7:
		return TOK_IS(lx, "sec-gpc") ? H_GPC : H_OTHER;
	case 11:
		/* the mobile agents' and OpenKit's client address */
		return TOK_IS(lx, "x-client-ip") ? H_IPLIST : H_OTHER;
	case 9:
		if (TOK_IS(lx, "x-real-ip"))
			return H_IPLIST;
		return TOK_IS(lx, "forwarded") ? H_FWD : H_OTHER;
	case 14:
		if (TOK_IS(lx, "true-client-ip"))
			return H_IPLIST;
		return TOK_IS(lx, "content-length") ? H_CLEN : H_OTHER;
	case 15:
		return TOK_IS(lx, "x-forwarded-for") ? H_IPLIST : H_OTHER;
	case 16:
		return TOK_IS(lx, "content-encoding") ? H_CENC : H_OTHER;
	case 17:
		return TOK_IS(lx, "transfer-encoding") ? H_TE : H_OTHER;
	}
	return H_OTHER;
}

/* A header line ended ('\n'): act on what it said. */
BV_GLOBAL int bv_hdr_done(struct bv_scratch *sc)
{
	struct bv_lexer *lx;

	if (!sc)
		return 0;
	lx = &sc->lx;

	switch (lx->hdr) {
	case H_DNT:
		if (lx->sub == 1)
			lx->sig |= BV_SIG_DNT;
		break;
	case H_GPC:
		if (lx->sub == 1)
			lx->sig |= BV_SIG_GPC;
		break;
	case H_HOST:
		bv_lookup_app(lx, BV_APPKEY_HOST);
		break;
	case H_TE:
		/* "chunked" as the last coding frames the body; a request with
		 * any other coding has no length we can follow (RFC 9112 6.3:
		 * servers reject it): malformed */
		if (lx->tok_len >= 7 && !(lx->flags & BV_LXF_TOKOVF) &&
		    lx->tok[(lx->tok_len - 7) & 63] == 'c' && lx->tok[(lx->tok_len - 6) & 63] == 'h' &&
		    lx->tok[(lx->tok_len - 5) & 63] == 'u' && lx->tok[(lx->tok_len - 4) & 63] == 'n' &&
		    lx->tok[(lx->tok_len - 3) & 63] == 'k' && lx->tok[(lx->tok_len - 2) & 63] == 'e' &&
		    lx->tok[(lx->tok_len - 1) & 63] == 'd')
			lx->sig |= BV_SIG_CHUNKED;
		else if (lx->tok_len)
			lx->sig |= BV_SIG_MALFORMED;
		break;
	case H_COOKIE:
		if (lx->sub == C_DIS && TOK_IS(lx, "true"))
			lx->sig |= BV_SIG_DISABLED;
		bv_id_end(sc);
		break;
	case H_CENC:
		/* a body in a coding we do not decode cannot be read */
		if (lx->tok_len && !TOK_IS(lx, "identity"))
			lx->sig |= BV_SIG_ENCODED;
		break;
	}
	bv_ip_reset(lx);
	lx->st = LX_LINE;
	return 0;
}

/* Cookie header value, one character. */
BV_GLOBAL int bv_cookie_char(struct bv_scratch *sc, __u32 pos, char c)
{
	struct bv_lexer *lx;

	if (!sc)
		return 0;
	lx = &sc->lx;

	switch (lx->sub) {
	case C_OWS:
		if (c == ' ' || c == '\t' || c == ';')
			return 0;
		lx->sub = C_NAME;
		bv_tok_reset(lx);
		bv_tok_add(lx, c);
		return 0;
	case C_NAME:
		if (c == ';') {
			lx->sub = C_OWS;
			return 0;
		}
		if (c != '=') {
			bv_tok_add(lx, c);
			return 0;
		}
		lx->sub = C_SKIP;
		lx->sub2 = 0;
		if (TOK_IS_SFX(lx, "dtCookie")) {
			lx->sig |= BV_SIG_CONSENT;
			lx->sub = C_SESS;
			if (!(lx->flags & BV_LXF_SH) || (lx->flags & BV_LXF_SH_Q)) {
				bv_shash_init(&lx->sh, sc->hkey.k);
				lx->flags = (lx->flags | BV_LXF_SH) & ~BV_LXF_SH_Q;
				lx->sub2 = 1;
			}
		} else if (TOK_IS_SFX(lx, "rxVisitor")) {
			lx->sub = C_RXV;
			if (!(lx->flags & BV_LXF_VH)) {
				lx->flags |= BV_LXF_VH;
				lx->sub2 = 1;
			}
		} else if (TOK_IS_SFX(lx, "dtPC")) {
			lx->sub = C_DTPC;
			lx->sub2 = 0;
		} else if (TOK_IS_SFX(lx, "dtDisabled")) {
			lx->sub = C_DIS;
			bv_tok_reset(lx);
		}
		return 0;
	}
	if (c == ';') {
		if (lx->sub == C_DIS && TOK_IS(lx, "true"))
			lx->sig |= BV_SIG_DISABLED;
		bv_id_end(sc);
		lx->sub = C_OWS;
		return 0;
	}
	switch (lx->sub) {
	case C_RXV:
		if (c == ' ' || c == '\t' || c == '"')
			sc->span_open = 0; /* the span must stay contiguous */
		else {
			if (lx->sub2)
				bv_shash_byte(&lx->vh, (__u8)c);
			bv_id_char(sc, pos);
		}
		return 0;
	case C_SESS:
		if (lx->sub2 && c != ' ' && c != '\t' && c != '"')
			bv_shash_byte(&lx->sh, (__u8)c);
		return 0;
	case C_DTPC:
		/* <server>$<page>_<n>h<hits>v<VISITOR RANDOM>-<rest>: the part
		 * after the first 'v' following '$', up to '-' */
		if (lx->sub2 == 0 && c == '$')
			lx->sub2 = 1;
		else if (lx->sub2 == 1 && c == 'v')
			lx->sub2 = 2;
		else if (lx->sub2 == 2 && c == '-') {
			bv_id_end(sc);
			lx->sub2 = 3;
		} else if (lx->sub2 == 2)
			bv_id_char(sc, pos);
		return 0;
	case C_DIS:
		if (c != ' ' && c != '\t')
			bv_tok_add(lx, c);
		return 0;
	}
	return 0;
}

/*
 * Forwarded header value (RFC 7239), one character: mask for= nodes.
 * A masked IPv4 node is shorter than the original, and RFC 7239 allows no
 * padding space inside an element: the masker pads with ';' (empty pairs,
 * which the grammar allows), and inside a quoted node the first pad closes
 * the quotes early, the rest of the quoted string (the original closing
 * quote too) becoming ';':  for="203.0.113.43:8443" -> for="203.0.113.0";;;;;;
 * An IPv6 node keeps its length ("[v6]"); its port goes the same way when
 * the address was masked. docs/MASKING.md lists every form.
 */
BV_GLOBAL int bv_fwd_char(struct bv_scratch *sc, __u32 pos, char c)
{
	struct bv_lexer *lx;

	if (!sc)
		return 0;
	lx = &sc->lx;

	if (lx->sub == F_FOR && (lx->sub2 & BV_FWD_CLOSED)) {
		bv_put(sc, pos, ';');
		if (c == '"') { /* the original end of the quoted string */
			lx->sub = F_SKIP;
			lx->sub2 = 0;
		}
		return 0;
	}
	if (c == ';' || c == ',') {
		bv_ip_reset(lx);
		lx->sub = F_NAME;
		lx->sub2 = 0;
		bv_tok_reset(lx);
		return 0;
	}
	switch (lx->sub) {
	case F_NAME:
		if (c == ' ' || c == '\t')
			return 0;
		if (c == '=') {
			lx->sub = (lx->tok_len == 3 && lx->tok[0] == 'f' && lx->tok[1] == 'o' &&
				   lx->tok[2] == 'r') ? F_FOR : F_SKIP;
			lx->sub2 = 0;
			bv_ip_reset(lx);
			return 0;
		}
		bv_tok_add(lx, bv_lower(c));
		return 0;
	case F_FOR:
		if (c == '"') {
			if (lx->sub2 & BV_FWD_QUOTED)
				lx->sub = F_SKIP; /* the value ends */
			lx->sub2 = BV_FWD_QUOTED;
			bv_ip_reset(lx);
			return 0;
		}
		if (c == '[') {
			lx->sub2 |= BV_FWD_BRACKET;
			bv_ip_reset(lx);
			return 0;
		}
		if (c == ']') {
			if (lx->ipm.flags & BV_IPM_MASKING)
				lx->sub2 |= BV_FWD_MASKED;
			lx->sub2 = (lx->sub2 & ~BV_FWD_BRACKET) | BV_FWD_AFTER;
			bv_ip_reset(lx);
			return 0;
		}
		if (lx->sub2 & BV_FWD_AFTER) {
			/* ":port" of a masked "[v6]": with the time, a load
			 * balancer's log maps a source port to its client */
			if (!(lx->sub2 & BV_FWD_MASKED))
				return 0;
			if (lx->sub2 & BV_FWD_QUOTED) {
				bv_put(sc, pos, '"');
				lx->sub2 |= BV_FWD_CLOSED;
			} else if (c >= '0' && c <= '9') {
				bv_put(sc, pos, '0'); /* unquoted: not RFC 7239 anyway */
			}
			return 0;
		}
		bv_ip_char(sc, pos, c);
		return 0;
	}
	return 0;
}

/* ---- a mobile agent's body -----------------------------------------------
 * OpenKit and the mobile agent POST a form body (text/plain, key=value&...):
 * the device's basic data (vi= device id, dl= data collection level, cl=
 * crash reporting level, sn= session number, ip= client address), then
 * events, each starting with et= (1 action, 40 error, 42 exception, 50
 * crash, 60 identify user with the user tag in na=). Read as it streams,
 * rewritten in place keeping the length (docs/MASKING.md, "Mobile beacons").
 */

/* The effective level: the stricter of the operator's and the agent's dl=
 * (once seen; an agent's "off" reads as performance: the head has passed). */
static __always_inline __u8 bv_mobile_level(const struct bv_lexer *lx)
{
	__u8 op = lx->pol.collection_level, ag;

	if (lx->mb_dl > 2)
		return op;
	ag = lx->mb_dl == 2 ? BV_LEVEL_USER_BEHAVIOR : BV_LEVEL_PERFORMANCE;
	return ag > op ? ag : op;
}

/* Are a mobile body's identifiers (device id, session number, user tag)
 * replaced? Below user behavior, or when the request is anonymized anyway. */
static __always_inline int bv_mobile_replace(const struct bv_lexer *lx)
{
	return lx->decision == BV_DEC_ANONYMIZED || bv_mobile_level(lx) != BV_LEVEL_USER_BEHAVIOR;
}

/* Crashes may leave only if the operator allows them and the agent's cl=
 * (when seen) is opt-in. */
static __always_inline int bv_mobile_crash_ok(const struct bv_lexer *lx)
{
	return lx->pol.crash_reports && (lx->mb_cl > 2 || lx->mb_cl == 2);
}

struct bv_fill_ctx {
	struct bv_scratch *sc;
	__u32 from, to;
};

static long bv_fill_cb(__u64 i, void *vctx)
{
	struct bv_fill_ctx *x = vctx;
	__u32 q = x->from + (__u32)i;

	if (!x->sc || q >= x->to)
		return 1;
	bv_put(x->sc, q, '&');
	return 0;
}

/* buf[from, to) of this segment becomes '&': empty form parameters, which
 * form parsers skip (a bpf_loop: one verification for any length). */
BV_GLOBAL int bv_fill_amp(struct bv_scratch *sc, __u32 from, __u32 to)
{
	struct bv_fill_ctx x = { .sc = sc, .from = from, .to = to };

	if (!sc || from >= to || to > BV_SCRATCH_LEN)
		return 0;
	bpf_loop(to - from, bv_fill_cb, &x, 0);
	return 0;
}

/* Where the current parameter starts in this segment's buf, or -1 when it
 * started in an earlier segment (already gone). */
static __always_inline int bv_param_pos(const struct bv_scratch *sc)
{
	__s32 off = (__s32)(sc->lx.param_seq - sc->seq0);

	return off < 0 ? -1 : off;
}

/* The current parameter ends at buf[end] ('&', or past the body's last
 * byte). */
static __always_inline void bv_mbody_param_end(struct bv_scratch *sc, __u32 end)
{
	struct bv_lexer *lx = &sc->lx;

	if (lx->sub == MB_VAL) {
		if (lx->hdr == H_MB_VI || lx->hdr == H_MB_SN || lx->hdr == H_MB_NA)
			bv_id_end(sc);
		if (lx->hdr == H_MB_ET && (lx->mb_et == BV_ET_CRASH || lx->mb_et == BV_ET_EXCEPTION) &&
		    !bv_mobile_crash_ok(lx)) {
			int p0 = bv_param_pos(sc);

			if (p0 < 0) {
				/* "et=" left in an earlier segment: the event
				 * cannot be erased whole; nothing more of it
				 * leaves */
				if (end >= sc->live_from)
					bv_count(BV_ST_BODY_CUT);
				sc->seg_drop = 1;
				lx->st = LX_DROPALL;
				return;
			}
			bv_fill_amp(sc, (__u32)p0, end);
			lx->mb |= BV_MB_ERASE;
			if (end >= sc->live_from)
				bv_count(BV_ST_CRASH_REMOVED);
		}
	} else if ((lx->mb & BV_MB_ERASE) && lx->tok_len) {
		/* a bare key inside an erased event */
		int p0 = bv_param_pos(sc);

		bv_fill_amp(sc, p0 < 0 ? 0 : (__u32)p0, end);
	}
	__builtin_memset(&lx->ipm, 0, sizeof(lx->ipm));
	lx->sub = MB_KEY;
	lx->sub2 = 0;
	lx->hdr = H_MB_SKIP;
	bv_tok_reset(lx);
}

/* A key ends at buf[pos] ('='): what its value is. */
static __always_inline void bv_mbody_key(struct bv_scratch *sc, __u32 pos)
{
	struct bv_lexer *lx = &sc->lx;
	__u8 k = H_MB_SKIP;

	if (TOK_IS(lx, "et")) {
		k = H_MB_ET;
		lx->mb_et = 0;
		lx->mb &= ~BV_MB_ERASE; /* the next event begins */
	} else if (TOK_IS(lx, "ip")) {
		k = H_MB_IP;
	} else if (TOK_IS(lx, "vi")) {
		k = H_MB_VI;
	} else if (TOK_IS(lx, "sn")) {
		k = H_MB_SN;
	} else if (TOK_IS(lx, "dl")) {
		k = H_MB_DL;
	} else if (TOK_IS(lx, "cl")) {
		k = H_MB_CL;
	} else if (TOK_IS(lx, "na") && lx->mb_et == BV_ET_IDENTIFY) {
		k = H_MB_NA;
	}
	if (lx->mb & BV_MB_ERASE) {
		int p0 = bv_param_pos(sc);

		/* the key's bytes in this segment (a prefix of it in an
		 * earlier one names a parameter, holds no data) */
		bv_fill_amp(sc, p0 < 0 ? 0 : (__u32)p0, pos + 1);
		k = H_MB_SKIP;
	}
	lx->hdr = k;
	lx->sub = MB_VAL;
	lx->sub2 = 0;
}

/* One value character at buf[pos]. */
static __always_inline void bv_mbody_val(struct bv_scratch *sc, __u32 pos, char c)
{
	struct bv_lexer *lx = &sc->lx;

	if (lx->mb & BV_MB_ERASE) {
		bv_put(sc, pos, '&');
		return;
	}
	switch (lx->hdr) {
	case H_MB_IP:
		/* ':' travels as %3A: the escape is one ':' for the masker */
		if (c == '%') {
			lx->sub2 = 1;
		} else if (lx->sub2 == 1) {
			lx->sub2 = c == '3' ? 2 : 0;
		} else if (lx->sub2 == 2) {
			char out = (char)bv_ip_out(sc, pos, (c == 'A' || c == 'a') ? ':' : '%');

			bv_put(sc, pos, out == ':' ? c : out);
			lx->sub2 = 0;
		} else {
			bv_ip_char(sc, pos, c);
		}
		return;
	case H_MB_VI:
	case H_MB_SN:
		bv_id_char(sc, pos);
		return;
	case H_MB_NA:
		/* the user tag, %XX escapes kept (an escape of letters
		 * replaced by letters would not decode) */
		if (c == '%') {
			lx->sub2 = 2;
			sc->span_open = 0;
		} else if (lx->sub2) {
			lx->sub2--;
			sc->span_open = 0;
		} else {
			bv_id_char(sc, pos);
		}
		return;
	case H_MB_DL:
		lx->mb_dl = c >= '0' && c <= '2' ? c - '0' : 3;
		return;
	case H_MB_CL:
		lx->mb_cl = c >= '0' && c <= '2' ? c - '0' : 3;
		return;
	case H_MB_ET:
		if (c >= '0' && c <= '9' && lx->mb_et < 100)
			lx->mb_et = lx->mb_et * 10 + (c - '0');
		else
			lx->mb_et = 255; /* not a type we know */
		return;
	}
}

/* One byte of a mobile beacon's body. */
BV_GLOBAL int bv_mbody_char(struct bv_scratch *sc, __u32 pos)
{
	struct bv_lexer *lx;
	char c;

	if (!sc)
		return 0;
	lx = &sc->lx;
	c = sc->buf[pos & BV_MASK];
	if (lx->body_left)
		lx->body_left--;

	if (c == '&') {
		bv_mbody_param_end(sc, pos);
	} else if (lx->sub == MB_KEY) {
		if (lx->tok_len == 0)
			lx->param_seq = sc->seq0 + pos;
		if (c == '=')
			bv_mbody_key(sc, pos);
		else
			bv_tok_add(lx, c);
	} else {
		bv_mbody_val(sc, pos, c);
	}
	if (lx->body_left == 0 && lx->st == LX_MBODY) {
		/* the body's last byte: its parameter ends here */
		if (c != '&')
			bv_mbody_param_end(sc, pos + 1);
		if (lx->st == LX_DROPALL)
			return 0;
		bv_spans_apply(sc); /* by the body's level, before a next request */
		sc->nspans = 0;
		sc->span_open = 0;
		lx->mb = 0;
		lx->st = LX_IDLE;
	}
	return 0;
}

/* ---- the per-byte machine ---------------------------------------------- */

BV_GLOBAL int bv_lex_byte(struct bv_scratch *sc, __u32 pos)
{
	struct bv_lexer *lx;
	char c;

	if (!sc)
		return 0;
	lx = &sc->lx;
	c = sc->buf[pos & BV_MASK];

	if (lx->st >= LX_REQ_REST && lx->st <= LX_HSKIP) {
		if (++lx->hdr_bytes > BV_MAX_HEAD) {
			lx->sig |= BV_SIG_MALFORMED;
			bv_malformed(sc, pos);
			return 0;
		}
	}

	switch (lx->st) {
	case LX_IDLE:
		if (c == '\r' || c == '\n')
			return 0;
		bv_tok_reset(lx);
		bv_tok_add(lx, c);
		lx->st = LX_METHOD;
		return 0;

	case LX_METHOD:
		if (c != ' ') {
			if (lx->tok_len >= 8 || c < 'A' || c > 'Z') {
				lx->st = LX_OPAQUE; /* not HTTP/1.x */
				return 0;
			}
			bv_tok_add(lx, c);
			return 0;
		}
		if ((lx->flags & BV_LXF_FIRST) && TOK_IS(lx, "PROXY")) {
			/* a PROXY v1 line not whole in its segment (bv_proxy_v1
			 * takes whole ones): its source cannot be rewritten
			 * into a form servers parse, so nothing of it leaves */
			if (pos >= sc->live_from)
				bv_count(BV_ST_MALFORMED_PKT);
			sc->seg_drop = 1;
			lx->st = LX_DROPALL;
			return 0;
		}
		{
			__u32 m = bv_method_bit(lx);

			if (!m) {
				lx->st = LX_OPAQUE;
				return 0;
			}
			bv_req_start(sc, pos);
			if (!(sc->set.methods & m))
				lx->flags |= BV_LXF_NOMETHOD; /* method not a beacon method */
			else
				lx->flags &= ~BV_LXF_NOMETHOD;
		}
		bv_tok_reset(lx);
		lx->st = LX_PATH;
		return 0;

	case LX_CHUNK_SIZE: {
		/* sub bits: 1 a digit seen, 2 inside extensions */
		int h = bv_hexval(c);

		if (c == '\n') {
			if (!(lx->sub & 1)) {          /* no digit at all */
				lx->sig |= BV_SIG_MALFORMED;
				bv_malformed(sc, pos);
			} else if (lx->body_left == 0) {
				lx->st = LX_CHUNK_TRAILER;  /* last chunk */
				lx->sub = 0;
			} else {
				lx->st = LX_CHUNK_DATA;
			}
			return 0;
		}
		if ((lx->sub & 2) || c == '\r')     /* extensions, line end */
			return 0;
		if (c == ';' || c == ' ' || c == '\t') {
			lx->sub |= 2;
			return 0;
		}
		if (h < 0 || lx->body_left > BV_MAX_BODY / 16) {
			lx->sig |= BV_SIG_MALFORMED;
			bv_malformed(sc, pos);
			return 0;
		}
		lx->body_left = lx->body_left * 16 + h;
		lx->sub |= 1;
		return 0;
	}
	case LX_MBODY:
		bv_mbody_char(sc, pos);
		return 0;

	case LX_CHUNK_CRLF:
		if (c == '\n') {
			lx->st = LX_CHUNK_SIZE;
			lx->body_left = 0;
			lx->sub = 0;
		} else if (c != '\r') {
			lx->sig |= BV_SIG_MALFORMED;
			bv_malformed(sc, pos);
		}
		return 0;
	case LX_CHUNK_TRAILER:
		/* sub: 0 at a line start, 1 inside a trailer line */
		if (c == '\n') {
			if (lx->sub == 0)
				lx->st = LX_IDLE;   /* the empty line ends the message */
			lx->sub = 0;
		} else if (c != '\r') {
			lx->sub = 1;
		}
		return 0;

	case LX_PATH:
		if (c == '?' || c == ' ' || c == '\r' || c == '\n') {
			if (!(lx->flags & BV_LXF_NOMETHOD))
				bv_match_path(sc);
			if (c == '?' && (lx->sig & BV_SIG_BEACON)) {
				lx->st = LX_QNAME;
				bv_tok_reset(lx);
			} else {
				lx->st = c == '\n' ? LX_LINE : LX_REQ_REST;
			}
			return 0;
		}
		bv_tok_add(lx, c);
		return 0;

	case LX_QNAME:
	case LX_QVAL:
		if (c == ' ' || c == '\r' || c == '\n' || c == '#' || c == '&') {
			if (lx->st == LX_QVAL && lx->sub == Q_APP) {
				bv_note_app(lx);
				bv_lookup_app(lx, BV_APPKEY_APP);
			}
			if (lx->st == LX_QVAL && lx->sub == Q_TYPE && TOK_IS(lx, "m"))
				lx->sig |= BV_SIG_MOBILE;
			bv_id_end(sc);
			bv_tok_reset(lx);
			lx->st = c == '&' ? LX_QNAME : (c == '\n' ? LX_LINE : LX_REQ_REST);
			return 0;
		}
		if (lx->st == LX_QNAME) {
			if (c != '=') {
				bv_tok_add(lx, c);
				return 0;
			}
			lx->st = LX_QVAL;
			lx->sub = Q_SKIP;
			if (TOK_IS(lx, "vi"))
				lx->sub = Q_ID;
			else if (TOK_IS(lx, "app") || TOK_IS(lx, "ai"))
				lx->sub = Q_APP;
			else if (TOK_IS(lx, "type"))
				lx->sub = Q_TYPE;
			else if (TOK_IS(lx, "si") && (lx->sig & BV_SIG_MOBILE)) {
				/* a mobile agent's DEVICEID_SESSION: the device part is
				 * an identifier; the whole, the session hash */
				lx->sub = Q_MSI;
				lx->sub2 = 0;
				if (!(lx->flags & BV_LXF_SH)) {
					lx->flags |= BV_LXF_SH | BV_LXF_SH_Q;
					lx->sub2 = 2;
				}
			} else if ((TOK_IS(lx, "sn") || TOK_IS(lx, "si")) && !(lx->flags & BV_LXF_SH)) {
				lx->sub = Q_SESS;
				lx->flags |= BV_LXF_SH | BV_LXF_SH_Q;
			}
			bv_tok_reset(lx);
			return 0;
		}
		if (lx->sub == Q_ID)
			bv_id_char(sc, pos);
		else if (lx->sub == Q_APP || lx->sub == Q_TYPE)
			bv_tok_add(lx, c);
		else if (lx->sub == Q_MSI) {
			/* sub2 bits: 1 past the '_', 2 hashing */
			if (lx->sub2 & 2)
				bv_shash_byte(&lx->sh, (__u8)c);
			if (lx->sub2 & 1)
				return 0;
			if (c == '_') {
				bv_id_end(sc);
				lx->sub2 |= 1;
			} else {
				bv_id_char(sc, pos);
			}
		}
		else if (lx->sub == Q_SESS)
			bv_shash_byte(&lx->sh, (__u8)c);
		return 0;

	case LX_REQ_REST:
		if (c == '\n')
			lx->st = LX_LINE;
		return 0;

	case LX_LINE:
		if (c == '\r') {
			lx->st = LX_LINE_CR;
			return 0;
		}
		if (c == '\n') {
			bv_end_headers(sc, pos);
			return 0;
		}
		if ((c == ' ' || c == '\t') && lx->hdr != H_OTHER) {
			/* obs-fold: the previous header value goes on */
			bv_ip_reset(lx);
			lx->st = LX_HVAL;
			return 0;
		}
		bv_tok_reset(lx);
		bv_tok_add(lx, bv_lower(c));
		lx->st = LX_HNAME;
		return 0;

	case LX_LINE_CR:
		if (c == '\n') {
			bv_end_headers(sc, pos);
			return 0;
		}
		lx->sig |= BV_SIG_MALFORMED;
		bv_malformed(sc, pos);
		return 0;

	case LX_HNAME:
		if (c == '\n') {  /* a line without a colon: ignore it */
			lx->st = LX_LINE;
			return 0;
		}
		if (c != ':') {
			if (c == ' ' || c == '\t') /* no space before ':' (RFC 9112) */
				lx->flags |= BV_LXF_TOKOVF;
			bv_tok_add(lx, bv_lower(c));
			return 0;
		}
		lx->hdr = bv_hdr_kind(lx);
		lx->sub = 0;
		lx->sub2 = 0;
		bv_tok_reset(lx);
		bv_ip_reset(lx);
		if (!(lx->sig & BV_SIG_BEACON) && lx->hdr != H_CLEN && lx->hdr != H_TE)
			lx->hdr = H_OTHER;
		if (lx->hdr == H_CLEN)
			lx->body_left = 0;
		lx->st = lx->hdr == H_OTHER ? LX_HSKIP : LX_HVAL;
		return 0;

	case LX_HSKIP:
		if (c == '\n')
			lx->st = LX_LINE;
		return 0;

	case LX_HVAL:
		if (c == '\n') {
			bv_hdr_done(sc);
			return 0;
		}
		if (c == '\r')
			return 0;
		switch (lx->hdr) {
		case H_DNT:
		case H_GPC:
			if (c == ' ' || c == '\t')
				return 0;
			lx->sub = (lx->sub == 0 && c == '1') ? 1 : 2;
			return 0;
		case H_HOST:
			if ((c == ' ' || c == '\t') && lx->tok_len == 0)
				return 0; /* leading OWS */
			if (c == ':' || c == ' ' || c == '\t')
				lx->sub = 1;
			else if (lx->sub == 0)
				bv_tok_add(lx, bv_lower(c));
			return 0;
		case H_COOKIE:
			bv_cookie_char(sc, pos, c);
			return 0;
		case H_IPLIST:
			bv_ip_char(sc, pos, c);
			return 0;
		case H_FWD:
			bv_fwd_char(sc, pos, c);
			return 0;
		case H_CLEN:
			if (c == ' ' || c == '\t')
				return 0;
			if (c < '0' || c > '9' || lx->body_left > BV_MAX_BODY / 10) {
				lx->sig |= BV_SIG_MALFORMED;
				bv_malformed(sc, pos);
				return 0;
			}
			lx->body_left = lx->body_left * 10 + (c - '0');
			lx->sig |= BV_SIG_HAS_CLEN;
			return 0;
		case H_TE:
		case H_CENC:
			if (c != ' ' && c != '\t' && c != ',')
				bv_tok_add(lx, bv_lower(c));
			return 0;
		}
		return 0;
	}
	return 0;
}

/* Offset of the first `a` or `b` in buf[pos..len), or len; 128 bytes a call. */
BV_GLOBAL __u32 bv_find2(struct bv_scratch *sc, __u32 pos, char a, char b)
{
	const __u64 ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
	__u64 pa = ones * (__u8)a, pb = ones * (__u8)b;
	__u32 len;

	if (!sc)
		return 0;
	len = sc->len;
	for (__u32 k = 0; k < 32; k++) {
		__u32 p = pos + k * 8;
		__u64 w, xa, xb, hit;

		if (p >= len)
			return len;
		w = *(__u64 *)&sc->buf[p & BV_MASK];
		xa = w ^ pa;
		xb = w ^ pb;
		hit = ((xa - ones) & ~xa & highs) | ((xb - ones) & ~xb & highs);
		if (hit) {
			for (__u32 j = 0; j < 8; j++) {
				char c = sc->buf[(p + j) & BV_MASK];

				if (p + j >= len)
					return len;
				if (c == a || c == b)
					return p + j;
			}
		}
	}
	return pos + 256 < len ? pos + 256 : len;
}

/* ---- runs of bytes in one call ------------------------------------------
 * The per-byte machine costs a function call per byte; these take a whole
 * run of ordinary bytes of the current token at once and stop *before* the
 * first delimiter (any byte <= 0x20, or a, b, d), which the per-byte machine
 * then handles. They must do exactly what the per-byte machine would do with
 * the same bytes.
 */
#define BV_DELIM(ch, a, b, d) ((__u8)(ch) <= 0x20 || (ch) == (a) || (ch) == (b) || (ch) == (d))
#define BV_RUN 64

/* Append a run to tok (lower-cased if asked). */
BV_GLOBAL int bv_run_tok(struct bv_scratch *sc, char a, char b, char d, int lower)
{
	struct bv_lexer *lx;
	__u32 pos, len, tl, n = 0, room;

	if (!sc)
		return 0;
	lx = &sc->lx;
	pos = sc->pos;
	len = sc->len;
	/* first the run's length, then one copy: loops whose only branches
	 * are exits keep the verifier linear */
	for (__u32 i = 0; i < BV_RUN; i++) {
		char c;

		if (pos + i >= len)
			break;
		c = sc->buf[(pos + i) & BV_MASK];
		if (BV_DELIM(c, a, b, d))
			break;
		n++;
	}
	tl = lx->tok_len;
	room = tl < BV_TOK_LEN - 1 ? BV_TOK_LEN - 1 - tl : 0;
	if (n > room)
		lx->flags |= BV_LXF_TOKOVF; /* overflow: the token matches nothing */
	else
		room = n;
	for (__u32 j = 0; j < BV_RUN; j++) {
		char c;

		if (j >= room)
			break;
		c = sc->buf[(pos + j) & BV_MASK];
		lx->tok[(tl + j) & (BV_TOK_LEN - 1)] = lower ? bv_lower(c) : c;
	}
	lx->tok_len = tl + room;
	lx->hdr_bytes += n;
	sc->pos = pos + n;
	return n;
}

/* Skip a run (values nobody needs). */
BV_GLOBAL int bv_run_skip(struct bv_scratch *sc, char a, char b, char d)
{
	__u32 pos, len, n = 0;

	if (!sc)
		return 0;
	pos = sc->pos;
	len = sc->len;
	for (__u32 i = 0; i < BV_RUN; i++) {
		char c;

		if (pos + i >= len)
			break;
		c = sc->buf[(pos + i) & BV_MASK];
		if (BV_DELIM(c, a, b, d))
			break;
		n++;
	}
	sc->lx.hdr_bytes += n;
	sc->pos = pos + n;
	return n;
}

/* Hash a run into the session hash. */
BV_GLOBAL int bv_run_sess(struct bv_scratch *sc, char a, char b, char d)
{
	__u32 pos, n;

	if (!sc)
		return 0;
	pos = sc->pos;
	n = (__u32)bv_run_skip(sc, a, b, d);
	for (__u32 i = 0; i < BV_RUN; i++) {
		if (i >= n)
			break;
		bv_shash_byte(&sc->lx.sh, (__u8)sc->buf[(pos + i) & BV_MASK]);
	}
	return n;
}

/* A run of visitor identifier: one span for all of it (and the visitor
 * hash when `hash`). 0 when the spans are full: the per-byte path then
 * replaces at once. */
BV_GLOBAL int bv_run_id(struct bv_scratch *sc, char a, char b, char d, int hash)
{
	struct bv_lexer *lx;
	__u32 pos, n = 0, k;

	if (!sc)
		return 0;
	lx = &sc->lx;
	pos = sc->pos;
	k = sc->nspans;
	if (!(sc->span_open && k > 0 && k <= BV_MAX_SPANS) && k >= BV_MAX_SPANS)
		return 0;
	for (__u32 i = 0; i < BV_RUN; i++) {
		char c;

		if (pos + i >= sc->len)
			break;
		c = sc->buf[(pos + i) & BV_MASK];
		if (BV_DELIM(c, a, b, d))
			break;
		if (hash)
			bv_shash_byte(&lx->vh, (__u8)c);
		n++;
	}
	if (!n)
		return 0;
	if (lx->id_mode == ID_NONE) {
		lx->id_mode = ID_OPEN;
		lx->id_off = 0;
		lx->sig |= BV_SIG_VISITOR;
	}
	if (sc->span_open && k > 0 && k <= BV_MAX_SPANS) {
		sc->spans[(k - 1) & (BV_MAX_SPANS - 1)].len += n;
	} else {
		struct bv_span *sp = &sc->spans[k & (BV_MAX_SPANS - 1)];

		sp->pos = pos;
		sp->len = n;
		sp->id_off = lx->id_off;
		sp->forced = bv_span_mode(lx);
		sp->kind = bv_span_kind(lx);
		sc->nspans = k + 1;
		sc->span_open = 1;
	}
	lx->id_off += n;
	lx->hdr_bytes += n;
	sc->pos = pos + n;
	return n;
}

/* Little-endian word of up to 8 literal bytes, for name prefixes. */
#define BV_W8(a, b, c, d, e, f, g, h)                                              \
	((__u64)(a) | (__u64)(b) << 8 | (__u64)(c) << 16 | (__u64)(d) << 24 |    \
	 (__u64)(e) << 32 | (__u64)(f) << 40 | (__u64)(g) << 48 | (__u64)(h) << 56)

/*
 * Could the header line starting at buf[pos] be one we act on? Looks at
 * its first 8 bytes, lower-cased a word at a time ('-', ':' and digits are
 * unchanged by | 0x20). A "no" is certain; a "yes" goes to the exact
 * per-byte path. Needs 8 bytes in the segment.
 */
static __always_inline int bv_line_may_matter(const struct bv_lexer *lx, __u64 w)
{
	__u64 l = w | 0x2020202020202020ULL;
	__u64 l4 = l & 0xffffffffULL, l5 = l & 0xffffffffffULL, l7 = l & 0xffffffffffffffULL;

	if (l == BV_W8('c', 'o', 'n', 't', 'e', 'n', 't', '-') ||
	    l == BV_W8('t', 'r', 'a', 'n', 's', 'f', 'e', 'r'))
		return 1;
	if (!(lx->sig & BV_SIG_BEACON))
		return 0;
	return l4 == BV_W8('d', 'n', 't', ':', 0, 0, 0, 0) ||
	       l5 == BV_W8('h', 'o', 's', 't', ':', 0, 0, 0) ||
	       l7 == BV_W8('c', 'o', 'o', 'k', 'i', 'e', ':', 0) ||
	       l == BV_W8('s', 'e', 'c', '-', 'g', 'p', 'c', ':') ||
	       l == BV_W8('x', '-', 'f', 'o', 'r', 'w', 'a', 'r') ||
	       l == BV_W8('x', '-', 'r', 'e', 'a', 'l', '-', 'i') ||
	       l == BV_W8('x', '-', 'c', 'l', 'i', 'e', 'n', 't') ||
	       l == BV_W8('f', 'o', 'r', 'w', 'a', 'r', 'd', 'e') ||
	       l == BV_W8('t', 'r', 'u', 'e', '-', 'c', 'l', 'i');
}

/* Whole header lines that do not matter, skipped in one step (up to 16):
 * returns the bytes consumed (through the last '\n'), or 0. */
BV_GLOBAL int bv_skip_line(struct bv_scratch *sc)
{
	__u32 pos, start, len, nl;
	__u64 w;

	if (!sc)
		return 0;
	start = pos = sc->pos;
	len = sc->len;
	for (int k = 0; k < 16; k++) {
		if (pos + 8 > len)
			break;
		w = *(__u64 *)&sc->buf[pos & BV_MASK];
		if ((__u8)w <= 0x20 || bv_line_may_matter(&sc->lx, w))
			break;
		nl = bv_find2(sc, pos, '\n', '\n');
		if (nl >= len || sc->buf[nl & BV_MASK] != '\n')
			break; /* goes on past this segment or the search budget */
		pos = nl + 1;
	}
	if (pos == start)
		return 0;
	sc->lx.hdr_bytes += pos - start;
	sc->lx.hdr = H_OTHER;
	sc->pos = pos;
	return pos - start;
}

/*
 * A cookie pair whose name cannot be one we read (dtCookie, rxVisitor,
 * rxvt, dtDisabled, dtPC: exact, case-sensitive) is skipped up to its ';'
 * or the line end in one step. Leading spaces are taken first.
 */
BV_GLOBAL int bv_skip_cookie(struct bv_scratch *sc)
{
	__u32 pos, len, i, nd;
	__u64 w, w4;

	if (!sc)
		return 0;
	pos = sc->pos;
	len = sc->len;
	for (i = 0; i < 8; i++) {
		char c = sc->buf[(pos + i) & BV_MASK];

		if (pos + i >= len || (c != ' ' && c != '\t'))
			break;
	}
	pos += i;
	if (pos + 8 > len)
		goto partial;
	w = *(__u64 *)&sc->buf[pos & BV_MASK];
	w4 = w & 0xffffffffULL;
	if (w == BV_W8('d', 't', 'C', 'o', 'o', 'k', 'i', 'e') ||
	    w == BV_W8('r', 'x', 'V', 'i', 's', 'i', 't', 'o') ||
	    w == BV_W8('d', 't', 'D', 'i', 's', 'a', 'b', 'l') ||
	    w4 == BV_W8('r', 'x', 'v', 't', 0, 0, 0, 0) ||
	    w4 == BV_W8('d', 't', 'P', 'C', 0, 0, 0, 0))
		goto partial;
	nd = bv_find2(sc, pos, ';', '\n');
	if (nd >= len || (sc->buf[nd & BV_MASK] != ';' && sc->buf[nd & BV_MASK] != '\n'))
		goto partial; /* goes on past this segment or the search budget */
	sc->lx.hdr_bytes += nd - sc->pos;
	sc->pos = nd;
	return 1;
partial:
	sc->lx.hdr_bytes += pos - sc->pos;
	sc->pos = pos;
	return i ? 1 : 0;
}

/* The same for query parameters other than vi, app, ai, sn, si, type. */
BV_GLOBAL int bv_skip_param(struct bv_scratch *sc)
{
	__u32 pos, len;
	__u64 w3, w4;

	if (!sc)
		return 0;
	pos = sc->pos;
	len = sc->len;
	if (pos + 4 > len)
		return 0;
	w4 = *(__u32 *)&sc->buf[pos & BV_MASK];
	w3 = w4 & 0xffffff;
	if (w3 == BV_W8('v', 'i', '=', 0, 0, 0, 0, 0) || w3 == BV_W8('a', 'i', '=', 0, 0, 0, 0, 0) ||
	    w3 == BV_W8('s', 'n', '=', 0, 0, 0, 0, 0) || w3 == BV_W8('s', 'i', '=', 0, 0, 0, 0, 0) ||
	    w4 == BV_W8('a', 'p', 'p', '=', 0, 0, 0, 0) || w4 == BV_W8('t', 'y', 'p', 'e', 0, 0, 0, 0))
		return 0;
	/* the whole name=value up to '&', '#' or a control byte/space */
	return bv_run_skip(sc, '&', '#', '#');
}

/* A run of address characters through the streaming masker, one step. */
BV_GLOBAL int bv_run_ip(struct bv_scratch *sc)
{
	__u32 pos, len, n = 0;

	if (!sc)
		return 0;
	pos = sc->pos;
	len = sc->len;
	for (__u32 i = 0; i < BV_RUN; i++) {
		char c;

		if (pos + i >= len)
			break;
		c = sc->buf[(pos + i) & BV_MASK];
		if (!bv_is_ipchar(c))
			break;
		bv_ip_char(sc, pos + i, c);
		n++;
	}
	sc->lx.hdr_bytes += n;
	sc->pos = pos + n;
	return n;
}

/* Take a run in the current state if it has one; 0: use the per-byte path,
 * 1: a run was taken (its delimiter follows), 2: done for this step. */
static __always_inline int bv_run(struct bv_scratch *sc)
{
	struct bv_lexer *lx = &sc->lx;

	switch (lx->st) {
	case LX_PATH:
		return bv_run_tok(sc, '?', '?', '?', 0);
	case LX_QNAME:
		if (lx->tok_len == 0 && bv_skip_param(sc))
			return 1;
		return bv_run_tok(sc, '=', '&', '#', 0);
	case LX_QVAL:
		switch (lx->sub) {
		case Q_SKIP:
			return bv_run_skip(sc, '&', '#', '#');
		case Q_APP:
		case Q_TYPE:
			return bv_run_tok(sc, '&', '#', '#', 0);
		case Q_SESS:
			return bv_run_sess(sc, '&', '#', '#');
		case Q_ID:
			return bv_run_id(sc, '&', '#', '#', 0);
		}
		return 0;
	case LX_IDLE: {
		/* a method starts here: take it whole */
		char c = sc->buf[sc->pos & BV_MASK];

		if (c < 'A' || c > 'Z')
			return 0;
		bv_tok_reset(lx);
		lx->st = LX_METHOD;
		return bv_run_tok(sc, ' ', ' ', ' ', 0);
	}
	case LX_LINE: {
		/* a header name starts here: skip the line, or take the name */
		char c = sc->buf[sc->pos & BV_MASK];

		if ((__u8)c <= 0x20)
			return 0;
		if (bv_skip_line(sc))
			return 2; /* a whole line: no delimiter left to handle */
		bv_tok_reset(lx);
		lx->st = LX_HNAME;
		return bv_run_tok(sc, ':', ':', ':', 1);
	}
	case LX_HNAME:
		return bv_run_tok(sc, ':', ':', ':', 1);
	case LX_HVAL:
		if (lx->hdr == H_HOST && lx->sub == 0)
			return bv_run_tok(sc, ':', ':', ':', 1);
		if (lx->hdr == H_IPLIST ||
		    (lx->hdr == H_FWD && lx->sub == F_FOR &&
		     !(lx->sub2 & (BV_FWD_AFTER | BV_FWD_CLOSED))))
			return bv_run_ip(sc);
		if (lx->hdr != H_COOKIE)
			return 0;
		switch (lx->sub) {
		case C_OWS: {
			int r = bv_skip_cookie(sc);

			if (r && sc->pos < sc->len) {
				char c = sc->buf[sc->pos & BV_MASK];

				if (c != ';' && c != '\n' && c != ' ' && c != '\t') {
					/* a cookie we read: its name as a run */
					bv_tok_reset(lx);
					lx->sub = C_NAME;
					bv_run_tok(sc, '=', ';', ';', 0);
				}
			}
			return r;
		}
		case C_NAME:
			return bv_run_tok(sc, '=', ';', ';', 0);
		case C_RXV:
			return bv_run_id(sc, ';', '"', '"', lx->sub2);
		case C_SESS:
			return lx->sub2 ? bv_run_sess(sc, ';', '"', '"') : bv_run_skip(sc, ';', '"', '"');
		case C_DIS:
			return bv_run_tok(sc, ';', ';', ';', 0);
		case C_DTPC:
			switch (lx->sub2) {
			case 0:
				return bv_run_skip(sc, '$', ';', ';');
			case 1:
				return bv_run_skip(sc, 'v', ';', ';');
			case 2:
				return bv_run_id(sc, '-', ';', ';', 0);
			}
			return bv_run_skip(sc, ';', ';', ';');
		}
		return 0;
	}
	return 0;
}

struct bv_scan_ctx {
	struct bv_scratch *sc;
};

static long bv_scan_cb(__u64 i, void *vctx)
{
	struct bv_scan_ctx *x = vctx;
	struct bv_scratch *sc = x->sc;
	struct bv_lexer *lx;
	__u32 pos, len, next;
	int r;

	if (!sc)
		return 1;
	lx = &sc->lx;
	pos = sc->pos;
	len = sc->len;
	if (pos >= len || len > BV_SCRATCH_LEN)
		return 1;

	/* states that only wait for a delimiter skip ahead a word at a time */
	switch (lx->st) {
	case LX_BODY: {
		__u32 n = len - pos;

		if (n > lx->body_left)
			n = lx->body_left;
		lx->body_left -= n;
		sc->pos = pos + n;
		if (lx->body_left == 0)
			lx->st = LX_IDLE;
		return 0;
	}
	case LX_CHUNK_DATA: {
		__u32 n = len - pos;

		if (n > lx->body_left)
			n = lx->body_left;
		lx->body_left -= n;
		sc->pos = pos + n;
		if (lx->body_left == 0)
			lx->st = LX_CHUNK_CRLF;
		return 0;
	}
	case LX_OPAQUE:
	case LX_DROPALL:
		sc->pos = len;
		return 1;
	case LX_HSKIP:
		next = bv_find2(sc, pos, '\n', '\n');
		goto skipped;
	case LX_REQ_REST:
		next = bv_find2(sc, pos, '\n', '\n');
		goto skipped;
	case LX_HVAL:
		if (lx->hdr == H_COOKIE && lx->sub == C_SKIP) {
			next = bv_find2(sc, pos, ';', '\n');
			goto skipped;
		}
		break;
	}
	r = bv_run(sc);
	if (r == 2)
		return 0;
	if (r) {
		/* and the delimiter that ended the run */
		pos = sc->pos;
		if (pos >= len)
			return 0;
	}
	bv_lex_byte(sc, pos);
	sc->pos = pos + 1;
	return 0;

skipped:
	if (next > len)
		next = len;
	lx->hdr_bytes += next - pos;
	if (next < len) {
		bv_lex_byte(sc, next);
		next++;
	}
	sc->pos = next;
	return 0;
}

#endif /* BV_HTTP_H */
