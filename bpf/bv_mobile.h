/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A mobile agent's form body (Dynatrace's mobile agent and OpenKit),
 * read and rewritten as it streams; docs/MASKING.md, "Mobile beacons".
 */
#ifndef BV_MOBILE_H
#define BV_MOBILE_H

#include "bv_request.h"
#include "bv_ipfield.h"

/* ---- a mobile agent's body -----------------------------------------------
 * OpenKit and the mobile agent POST a form body (text/plain, key=value&...):
 * the device's basic data (vi= device id, dl= data collection level, cl=
 * crash reporting level, sn= session number, ip= client address), then
 * events, each starting with et= (1 action, 40 error, 42 exception, 50
 * crash, 60 identify user with the user tag in na=). Read as it streams,
 * rewritten in place keeping the length (docs/MASKING.md, "Mobile beacons").
 */

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
	int roles;

	/* et=, dl=, cl= frame the body; the others are configured names */
	if (TOK_IS(lx, "et")) {
		k = H_MB_ET;
		lx->mb_et = 0;
		lx->mb &= ~BV_MB_ERASE; /* the next event begins */
	} else if (TOK_IS(lx, "dl")) {
		k = H_MB_DL;
	} else if (TOK_IS(lx, "cl")) {
		k = H_MB_CL;
	} else {
		roles = bv_name_roles(lx, BV_NAME_BODY);
		if (roles & BV_ROLE_CLIENT_IP)
			k = H_MB_IP;
		else if (roles & BV_ROLE_VISITOR)
			k = H_MB_VI;
		else if (roles & BV_ROLE_SESSION)
			k = H_MB_SN;
		else if ((roles & BV_ROLE_USER_TAG) && lx->mb_et == BV_ET_IDENTIFY)
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

#endif /* BV_MOBILE_H */
