/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Identifiers (visitor ids, mobile device ids, user tags): where their
 * characters are in this segment (spans), whether they are replaced, and
 * the replacement by pseudonyms of the same shape, once the segment's
 * decision is known.
 */
#ifndef BV_IDS_H
#define BV_IDS_H

#include "bv_lexer.h"
#include "bv_hash.h"
#include "bv_policy.h"

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

/* One step of bv_span_replace: the characters of the span up to the end
 * of their pseudonym word (j % 8 == 0: 8 at a time), as one word of the
 * scratch copy with the bytes past them blended back. A bpf_loop callback:
 * verified once, whatever the span's shape. */
struct bv_repl_ctx {
	struct bv_scratch *sc;
	__u64 seed;
	__u32 pos, off, n, k;
};

static long bv_repl_cb(__u64 unused, void *vctx)
{
	struct bv_repl_ctx *x = vctx;
	struct bv_scratch *sc = x->sc;
	__u32 k = x->k, j, i, a, t;
	__u64 r, old, new, keep;

	if (!sc || k >= x->n)
		return 1;
	j = x->off + k;
	i = (x->pos + k) & BV_MASK;
	a = j % 8;
	t = 8 - a; /* characters of this word: up to its end or the span's */
	if (t > x->n - k)
		t = x->n - k;
	r = bv_pseudo_word(x->seed, j) >> (8 * a);
	old = bv_ld64(sc, i);
	/* bytes [t, 8) of the word stay (t >= 1) */
	keep = t >= 8 ? 0 : ~0ULL << (8 * (t & 7));
	new = (bv_pseudo_map8(r, old) & ~keep) | (old & keep);
	if (new != old) {
		bv_st64(sc, i, new);
		csum_acc64(&sc->csum, i, old, new);
		if (i < sc->dirty_lo)
			sc->dirty_lo = i;
		if (i + t > sc->dirty_hi)
			sc->dirty_hi = i + t;
	}
	x->k = k + t;
	return 0;
}

/* Replace the characters of identifier span s by their pseudonym. */
BV_GLOBAL int bv_span_replace(struct bv_scratch *sc, __u32 s, __u64 seed, __u32 from)
{
	struct bv_repl_ctx x = { .sc = sc, .seed = seed };
	struct bv_span *sp;

	if (!sc || s >= BV_MAX_SPANS)
		return 0;
	sp = &sc->spans[s & (BV_MAX_SPANS - 1)];
	if (from >= sp->len)
		return 0;
	/* characters [from, from + 64) of the span: at most 9 words */
	x.pos = sp->pos + from;
	x.off = sp->id_off + from;
	x.n = sp->len - from;
	if (x.n > 64)
		x.n = 64;
	bpf_loop(9, bv_repl_cb, &x, 0);
	return 1;
}

/* Final pass over identifier spans once the segment's decision is known. */
BV_GLOBAL int bv_spans_apply(struct bv_scratch *sc)
{
	struct bv_lexer *lx;
	__u8 dec;
	int rep;

	if (!sc)
		return 0;
	lx = &sc->lx;
	dec = lx->decision;
	if (dec == BV_UNDECIDED && sc->known_dec != BV_UNDECIDED)
		dec = sc->known_dec;
	/* a mobile body's identifiers go by its effective level */
	rep = (lx->mb & BV_MB_BODY) ? bv_mobile_replace(lx) : bv_replace_now(lx, dec);
	/* an identifier cut by the segment end keeps this choice */
	if (lx->id_mode == ID_OPEN)
		lx->id_mode = rep ? ID_REPLACE : ID_KEEP;
	if (sc->span_open && sc->nspans > 0 && sc->nspans <= BV_MAX_SPANS &&
	    sc->spans[(sc->nspans - 1) & (BV_MAX_SPANS - 1)].forced == 0)
		sc->spans[(sc->nspans - 1) & (BV_MAX_SPANS - 1)].forced = lx->id_mode;
	if (rep && dec == BV_UNDECIDED && sc->nspans && sc->live_from < sc->len)
		bv_count(BV_ST_HELD_UNDECIDED);

	for (__u32 s = 0; s < BV_MAX_SPANS; s++) {
		__u8 forced;

		if (s >= sc->nspans)
			break;
		forced = sc->spans[s].forced;
		if (forced == ID_KEEP || (forced == 0 && !rep))
			continue;
		for (__u32 from = 0; from < BV_SCRATCH_LEN; from += 64) {
			if (!bv_span_replace(sc, s, bv_seed(sc), from))
				break;
		}
		if (sc->live_from < sc->len) {
			bv_count(BV_ST_IDS_REPLACED);
			/* once per identifier: its first span */
			if (sc->spans[s].id_off == 0 && sc->spans[s].kind == SPAN_MOBILE_ID)
				bv_count(BV_ST_MOBILE_IDS);
			else if (sc->spans[s].id_off == 0 && sc->spans[s].kind == SPAN_USER_TAG)
				bv_count(BV_ST_USER_TAG_REMOVED);
		}
	}
	return 0;
}

#endif /* BV_IDS_H */
