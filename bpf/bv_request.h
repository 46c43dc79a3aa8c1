/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * One request: path rules and per-application policy, its start, the
 * decision and the event that reports it, the end of its head.
 */
#ifndef BV_REQUEST_H
#define BV_REQUEST_H

#include "bv_ids.h"
#include "bv_namematch.h"

/* ---- policy lookups ---------------------------------------------------- */

BV_GLOBAL int bv_lookup_app(struct bv_lexer *lx, __u8 kind)
{
	/* the key (kind, len, 2 pad bytes, then the id, zero padded) built as
	 * words: tok's words shifted by the 4 bytes in front */
	union {
		struct bv_app_key k;
		__u64 w[BV_TOK_LEN / 8 + 1];
	} key;
	struct bv_policy *p;
	__u64 prev = 0;

	if (!lx)
		return 0;
	if (lx->tok_len == 0 || (lx->flags & BV_LXF_TOKOVF) || (lx->sig & BV_SIG_APPPOL))
		return 0;
	_Static_assert(BV_APPKEY_LEN == BV_TOK_LEN, "an application key is a token");
	_Static_assert(__builtin_offsetof(struct bv_app_key, id) == 4, "4 bytes before the id");
#pragma unroll
	for (__u32 k = 0; k < BV_TOK_LEN / 8; k++) {
		__u64 t = bv_tok_word(lx, k, lx->tok_len);

		key.w[k] = (k ? prev >> 32 : (__u64)kind | (__u64)lx->tok_len << 8) | t << 32;
		prev = t;
	}
	key.w[BV_TOK_LEN / 8] = prev >> 32;
	p = bpf_map_lookup_elem(&bv_apppol, &key.k);
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
	_Static_assert(BV_EVENT_APP_LEN % 8 == 0, "app is whole words");
#pragma unroll
	for (__u32 k = 0; k < BV_EVENT_APP_LEN / 8; k++)
		*(__u64 *)((unsigned long)lx->app + 8 * k) = bv_tok_word(lx, k, lx->tok_len);
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

#endif /* BV_REQUEST_H */
