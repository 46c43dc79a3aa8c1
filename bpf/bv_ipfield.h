/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Client addresses in text fields: one character at a time through the
 * streaming masker (bv_textmask.h), with the padding each field's grammar
 * allows (spaces, ';' in Forwarded, '&' in a form body).
 */
#ifndef BV_IPFIELD_H
#define BV_IPFIELD_H

#include "bv_lexer.h"
#include "bv_textmask.h"
#include "bv_iptext.h"

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
	if (lx->hdr == H_FWD)
		cfg.pad = ';'; /* RFC 7239 allows no space in an element, but empty pairs */
	bv_iptok_char(sc, pos, c, cfg.pad,
		      lx->ipm.fam == 0 && lx->ipm.ndig == 0 && lx->ipm.flags == 0);
	if (lx->hdr == H_FWD) {
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
	bv_iptok_after(sc, c, out);
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

#endif /* BV_IPFIELD_H */
