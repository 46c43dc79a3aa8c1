/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * pcap mode with --midstream: a connection whose SYN is not in the capture
 * (or that lost a segment) is picked up where it is, without knowing where
 * its requests begin. Nothing in it can be parsed with confidence, so it is
 * rewritten conservatively instead: every address-shaped token goes through
 * the text masker, and every run of BV_MID_RUN or more letters and digits
 * (every identifier, and more) is replaced by a pseudonym of the same shape.
 * A run cut by a segment's end is replaced whatever its length: whether it
 * is long is known only in the next segment. Nothing is decided or counted
 * as a beacon. State: lx->tok_len counts the current run (up to 255),
 * lx->param_seq is the sequence number of its first byte.
 */
#ifndef BV_MIDSTREAM_H
#define BV_MIDSTREAM_H

#include "bv_ids.h"
#include "bv_ipfield.h"

#define BV_MID_RUN 8

static __always_inline int bv_alnum(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

struct bv_mid_ctx {
	struct bv_scratch *sc;
	__u64 seed;
	__u32 from, to, id0; /* buf[from, to); its first character is the run's id0-th */
};

static long bv_mid_cb(__u64 i, void *vctx)
{
	struct bv_mid_ctx *x = vctx;
	__u32 q = x->from + (__u32)i;

	if (!x->sc || q >= x->to)
		return 1;
	bv_put(x->sc, q, bv_pseudo_char(x->seed, x->id0 + (__u32)i, x->sc->buf[q & BV_MASK]));
	return 0;
}

/* The current run's characters in this segment, up to buf[end), replaced
 * if the run is long or began in an earlier segment, or always (cut). */
BV_GLOBAL int bv_mid_run(struct bv_scratch *sc, __u32 end, int always)
{
	struct bv_mid_ctx x = { .sc = sc };
	struct bv_lexer *lx;
	__s32 off;

	if (!sc)
		return 0;
	lx = &sc->lx;
	if (lx->tok_len == 0 || end > BV_SCRATCH_LEN)
		return 0;
	off = (__s32)(lx->param_seq - sc->seq0);
	if (!always && off >= 0 && lx->tok_len < BV_MID_RUN)
		return 0;
	x.from = off < 0 ? 0 : (__u32)off;
	x.to = end;
	x.id0 = off < 0 ? (__u32)-off : 0;
	x.seed = bv_seed(sc);
	if (x.from < x.to)
		bpf_loop(x.to - x.from, bv_mid_cb, &x, 0);
	return 0;
}

/* One byte of a connection picked up mid-way. */
BV_GLOBAL int bv_mid_char(struct bv_scratch *sc, __u32 pos)
{
	struct bv_lexer *lx;
	char c;

	if (!sc)
		return 0;
	lx = &sc->lx;
	c = sc->buf[pos & BV_MASK];
	bv_ip_char(sc, pos, c); /* resets itself on other characters */
	if (bv_alnum(c)) {
		if (lx->tok_len == 0)
			lx->param_seq = sc->seq0 + pos;
		if (lx->tok_len < 255)
			lx->tok_len++;
		return 0;
	}
	bv_mid_run(sc, pos, 0);
	lx->tok_len = 0;
	return 0;
}

#endif /* BV_MIDSTREAM_H */
