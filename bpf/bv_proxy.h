/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * PROXY protocol headers at the start of a connection (HAProxy's
 * send-proxy / send-proxy-v2): the source address is the client's and is
 * masked per policy; destination and ports are kept. Both must arrive whole
 * in the connection's first data segment, as HAProxy sends them; a cut
 * header drops the connection (bv_client_segment), since its source could
 * leave in a segment we cannot rewrite any more.
 */
#ifndef BV_PROXY_H
#define BV_PROXY_H

#include "bv_addr.h"
#include "bv_http.h"
#include "bv_iptext.h"

#define BV_PROXY1_MAX 107  /* longest v1 line, CRLF included (PROXY protocol) */
#define BV_PROXY1_SRC 11   /* "PROXY TCP4 " */
#define BV_PROXY1_ADDR 64  /* longest source we read (IPv6 text: 45) */

/* PROXY protocol v2 header: mask its source address (binary, exact bits).
 * Returns 0 not v2, 1 masked (sc->pos past it), -1 cut by the segment end. */
BV_GLOBAL int bv_proxy_v2(struct bv_scratch *sc)
{
	const char sig[12] = "\r\n\r\n\0\r\nQUIT\n";
	struct bv_lexer *lx;
	__u32 hlen, i, n;
	__u8 fam;

	if (!sc)
		return 0;
	lx = &sc->lx;
	if (sc->len < 16)
		return 0;
#pragma unroll
	for (i = 0; i < 12; i++)
		if (sc->buf[i] != sig[i])
			return 0;
	hlen = 16 + (((__u32)(__u8)sc->buf[14] << 8) | (__u8)sc->buf[15]);
	if (hlen > sc->len)
		return -1; /* header not whole in its segment: we do not follow it */
	fam = (__u8)sc->buf[13] >> 4;
	n = fam == 1 ? 4 : fam == 2 ? 16 : 0;
	if (n && hlen >= 16 + 2 * n) {
		__u32 a[4] = {};
		__u64 unused = 0;

		__builtin_memcpy(a, &sc->buf[16], 16);
		if (bv_mask_addr(a, n == 4 ? 4 : 6, &lx->pol, &unused)) {
			for (i = 0; i < 16; i++) {
				if (i >= n)
					break;
				bv_put(sc, 16 + i, ((char *)a)[i]);
			}
			if (sc->live_from == 0)
				bv_count(BV_ST_TEXT_MASKED);
		}
	}
	if (sc->live_from == 0)
		bv_count(BV_ST_PROXY_V2);
	sc->pos = hlen;
	return 1;
}

/* One byte of the v1 rewrite below: buf[from + i] takes the byte t further
 * on, or '0' once that would pass `to` (a bpf_loop callback: verified once,
 * where an unrolled loop over unknown bounds is not). */
struct bv_proxy1_shift {
	struct bv_scratch *sc;
	__u32 from, to, t;
};

static long bv_proxy1_shift_cb(__u64 i, void *vctx)
{
	struct bv_proxy1_shift *x = vctx;
	__u32 q = x->from + (__u32)i, src = q + x->t;

	if (!x->sc || q > x->to)
		return 1;
	bv_put(x->sc, q, src <= x->to ? x->sc->buf[src & BV_MASK] : '0');
	return 0;
}

/* " DST " moves left by t, then t zeros before SPORT: buf[from..to]. Its
 * own frame: the loop's context is not on the stack of the calls that
 * bv_proxy_v1 makes before (the text masker, ip_anon's AES). */
BV_GLOBAL int bv_proxy1_shift(struct bv_scratch *sc, __u32 from, __u32 to, __u32 t)
{
	struct bv_proxy1_shift sh = { .sc = sc, .from = from, .to = to, .t = t };

	if (!sc || from > to || to >= BV_SCRATCH_LEN)
		return 0;
	bpf_loop(to + 1 - from, bv_proxy1_shift_cb, &sh, 0);
	return 0;
}

/*
 * PROXY protocol v1 line, "PROXY TCP4 SRC DST SPORT DPORT\r\n": mask SRC.
 * The line keeps its length (TCP sequence numbers) and its single spaces
 * (nginx answers "broken header" to two, HAProxy refuses them): the text
 * masker shortens an IPv4 source ("203.0.113.57" -> "203.0.113.0"), so DST
 * moves left and SPORT gets as many leading zeros, which nginx and HAProxy
 * read as the same number:
 *   PROXY TCP4 203.0.113.57 198.18.0.10 56324 80
 *   PROXY TCP4 203.0.113.0 198.18.0.10 0056324 80
 * IPv6 keeps its length when masked (digits become 0). "PROXY UNKNOWN"
 * carries no address and passes as it is.
 * Returns 0 not v1, 1 handled (sc->pos past the line), -1 cut by the
 * segment end or not a line servers accept (dropped either way).
 */
BV_GLOBAL int bv_proxy_v1(struct bv_scratch *sc)
{
	struct bv_lexer *lx;
	__u32 nl, sp[3], L, t = 0;

	if (!sc)
		return 0;
	lx = &sc->lx;
	if (sc->len < 6 || sc->buf[0] != 'P' || sc->buf[1] != 'R' || sc->buf[2] != 'O' ||
	    sc->buf[3] != 'X' || sc->buf[4] != 'Y' || sc->buf[5] != ' ')
		return 0;
	nl = bv_find2(sc, 0, '\n', '\n');
	if (nl >= sc->len || nl >= BV_PROXY1_MAX || nl < 8)
		return -1;
	barrier_var(nl); /* keep the verifier's bound on nl below */
	if (sc->buf[(nl - 1) & BV_MASK] != '\r')
		return -1;
	if (sc->live_from == 0)
		bv_count(BV_ST_PROXY_V1);
	sc->pos = nl + 1;
	/* "PROXY UNKNOWN", whatever follows it (receivers ignore the rest) */
	if (nl >= 14 && sc->buf[6] == 'U' && sc->buf[7] == 'N' && sc->buf[8] == 'K' &&
	    sc->buf[9] == 'N' && sc->buf[10] == 'O' && sc->buf[11] == 'W' &&
	    sc->buf[12] == 'N' && (sc->buf[13] == ' ' || sc->buf[13] == '\r'))
		return 1;
	if (sc->buf[6] != 'T' || sc->buf[7] != 'C' || sc->buf[8] != 'P' ||
	    (sc->buf[9] != '4' && sc->buf[9] != '6') || sc->buf[10] != ' ')
		return -1;

	/* the three spaces after SRC, DST and SPORT, then only DPORT: single
	 * spaces, no field empty */
	sp[0] = bv_find2(sc, BV_PROXY1_SRC, ' ', '\r');
	sp[1] = bv_find2(sc, sp[0] + 1, ' ', '\r');
	sp[2] = bv_find2(sc, sp[1] + 1, ' ', '\r');
	if (sp[0] <= BV_PROXY1_SRC || sp[1] <= sp[0] + 1 || sp[2] <= sp[1] + 1 ||
	    sp[2] + 2 >= nl || sc->buf[sp[2] & BV_MASK] != ' ' ||
	    bv_find2(sc, sp[2] + 1, ' ', '\r') != nl - 1)
		return -1;
	L = sp[0] - BV_PROXY1_SRC;

	/* SRC in place through the text masker (it counts what it masks) */
	bv_ip_reset(lx);
	for (__u32 i = 0; i < BV_PROXY1_ADDR; i++) {
		char c = sc->buf[(BV_PROXY1_SRC + i) & BV_MASK];

		if (i >= L)
			break;
		if (!bv_is_ipchar(c))
			return -1;
		bv_ip_char(sc, BV_PROXY1_SRC + i, c);
	}
	bv_iptok_flush(sc); /* ip_anon: SRC whole, padded with spaces */
	bv_ip_reset(lx);
	/* the IPv4 tail's padding spaces, all at its end; none inside */
	for (__u32 i = 0; i < BV_PROXY1_ADDR; i++) {
		if (i >= L || sc->buf[(sp[0] - 1 - i) & BV_MASK] != ' ')
			break;
		t++;
	}
	if (t == 0)
		return 1;
	if (t >= L || bv_find2(sc, BV_PROXY1_SRC, ' ', ' ') != sp[0] - t)
		return -1;

	bv_proxy1_shift(sc, sp[0] - t, sp[1], t);
	return 1;
}

#endif /* BV_PROXY_H */
