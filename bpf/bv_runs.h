/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Whole runs of bytes in one call: delimiter search a word at a time, token
 * and identifier runs, uninteresting lines, cookies and parameters skipped.
 */
#ifndef BV_RUNS_H
#define BV_RUNS_H

#include "bv_lexbyte.h"

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
		w = bv_ld64(sc, p);
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

/* Index (0-7) of the lowest flagged byte of a nonzero mask of 0x80 bits. */
static __always_inline __u32 bv_first_byte(__u64 hit)
{
	__u32 i = 0;

	if (!(hit & 0xffffffffULL)) {
		i = 4;
		hit >>= 32;
	}
	if (!(hit & 0xffff)) {
		i += 2;
		hit >>= 16;
	}
	if (!(hit & 0xff))
		i += 1;
	return i;
}

/* 0x80 on the bytes of w that end a run: a, b or d (broadcast in pa, pb,
 * pd) or any byte <= 0x20. Borrows only run upwards from a true hit, so the
 * lowest flag is the first delimiter; bytes >= 0x80 never are one. */
static __always_inline __u64 bv_delim_hits(__u64 w, __u64 pa, __u64 pb, __u64 pd)
{
	const __u64 ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
	__u64 xa = w ^ pa, xb = w ^ pb, xd = w ^ pd;

	return (((xa - ones) & ~xa) | ((xb - ones) & ~xb) | ((xd - ones) & ~xd) |
		((w - 0x21 * ones) & ~w)) & highs;
}

/*
 * The run's length: bytes of buf[pos..] before the first BV_DELIM(a, b, d),
 * at most BV_RUN and never past the segment, a word at a time. Each test
 * flags a byte's 0x80 bit; borrows only run upwards from a true hit, so the
 * lowest flag of any of them is the first delimiter. Bytes >= 0x80 are never
 * delimiters, as in BV_DELIM. (The word loads may read the slack past len.)
 * A global function: its callers go on with one unknown length, not with
 * one verifier state per way out of the loop.
 */
static __always_inline __u32 bv_run_len(const struct bv_scratch *sc, __u32 pos, char a, char b, char d)
{
	const __u64 ones = 0x0101010101010101ULL;
	__u64 pa = ones * (__u8)a, pb = ones * (__u8)b, pd = ones * (__u8)d;
	__u32 max;

	if (!sc)
		return 0;
	max = sc->len > pos ? sc->len - pos : 0;

	if (max > BV_RUN)
		max = BV_RUN;
	for (__u32 k = 0; k < BV_RUN / 8; k++) {
		__u32 p = k * 8, r;
		__u64 w, hit;

		if (p >= max)
			return max;
		w = bv_ld64(sc, pos + p);
		hit = bv_delim_hits(w, pa, pb, pd);
		if (hit) {
			r = p + bv_first_byte(hit);
			return r < max ? r : max;
		}
	}
	return max;
}

/* Append a run to tok (lower-cased if asked), in one pass: each word is
 * tested for a delimiter (as bv_run_len does) and stored whole while it
 * fits in tok (its bytes past the run are garbage past tok_len, which no
 * reader looks at); bytes only near tok's end. */
BV_GLOBAL int bv_run_tok(struct bv_scratch *sc, char a, char b, char d, int lower)
{
	const __u64 ones = 0x0101010101010101ULL;
	__u64 pa = ones * (__u8)a, pb = ones * (__u8)b, pd = ones * (__u8)d;
	__u64 low = lower ? 0x2020202020202020ULL : 0;
	struct bv_lexer *lx;
	__u32 pos, tl, n, max, room, stored = 0;

	if (!sc)
		return 0;
	lx = &sc->lx;
	pos = sc->pos;
	max = sc->len > pos ? sc->len - pos : 0;
	if (max > BV_RUN)
		max = BV_RUN;
	n = max;
	tl = lx->tok_len;
	for (__u32 k = 0; k < BV_RUN / 8; k++) {
		__u32 p = k * 8;
		__u64 w, hit;

		if (p >= max)
			break;
		w = bv_ld64(sc, pos + p);
		hit = bv_delim_hits(w, pa, pb, pd);
		if (tl + p + 8 <= BV_TOK_LEN) {
			/* lower-case: 0x20 where a byte is in 'A'..'Z' */
			w |= (bv_in8(w, 'A', 26) >> 2) & low;
			*(__u64 *)((unsigned long)lx->tok + ((tl + p) & (BV_TOK_LEN - 1))) = w;
			stored = p + 8;
		}
		if (hit) {
			p += bv_first_byte(hit);
			n = p < max ? p : max;
			break;
		}
	}
	room = tl < BV_TOK_LEN - 1 ? BV_TOK_LEN - 1 - tl : 0;
	if (n > room)
		lx->flags |= BV_LXF_TOKOVF; /* overflow: the token matches nothing */
	else
		room = n;
	/* what the words could not take, near tok's end (< 8 bytes) */
	for (__u32 k = 0; k < 8; k++) {
		__u32 c, j = stored + k;

		if (j >= room)
			break;
		c = (__u8)sc->buf[(pos + j) & BV_MASK];
		/* lower-case without a branch: one verifier path per length */
		lx->tok[(tl + j) & (BV_TOK_LEN - 1)] = (char)(c | ((__u32)low & 0x20 & bv_in_mask(c, 'A', 26)));
	}
	lx->tok_len = tl + room;
	lx->hdr_bytes += n;
	sc->pos = pos + n;
	return n;
}

/* Skip a run (values nobody needs). */
BV_GLOBAL int bv_run_skip(struct bv_scratch *sc, char a, char b, char d)
{
	__u32 pos, n;

	if (!sc)
		return 0;
	pos = sc->pos;
	n = bv_run_len(sc, pos, a, b, d);
	if (n > BV_RUN)
		n = BV_RUN;
	sc->lx.hdr_bytes += n;
	sc->pos = pos + n;
	return n;
}

/* buf[pos..pos+n) (n <= BV_RUN) into a streaming hash, a word at a time:
 * the pending word filled up first, then whole words compressed with the
 * state in registers, the rest left pending. The bytes land where
 * bv_shash_byte would put them, so the hash is the same. */
BV_GLOBAL int bv_shash_run(struct bv_scratch *sc, struct bv_shash *h, __u32 pos, __u32 n)
{
	struct bv_sip st;
	__u32 i = 0, have, t;
	__u64 w;

	if (!sc || !h || n > BV_RUN || n == 0)
		return 0;
	have = h->n & 7;
	if (have) {
		/* top up the pending word */
		t = 8 - have;
		if (t > n)
			t = n;
		w = bv_ld64(sc, pos) & (~0ULL >> ((8 * (8 - (t & 7))) & 63)); /* t < 8 */
		h->m |= w << (8 * have);
		h->n += t;
		i = t;
		if ((h->n & 7) == 0)
			bv_shash_block(h);
	}
	st.v0 = h->v[0];
	st.v1 = h->v[1];
	st.v2 = h->v[2];
	st.v3 = h->v[3];
	for (__u32 k = 0; k < BV_RUN / 8; k++) {
		if (i + 8 > n || (h->n & 7))
			break;
		bv_sip_word(&st, bv_ld64(sc, pos + i));
		h->n += 8;
		i += 8;
	}
	h->v[0] = st.v0;
	h->v[1] = st.v1;
	h->v[2] = st.v2;
	h->v[3] = st.v3;
	if (i < n) {
		/* the rest (< 8 bytes, the pending word empty) waits */
		t = n - i;
		h->m = bv_ld64(sc, pos + i) & (~0ULL >> ((8 * (8 - (t & 7))) & 63));
		h->n += t;
	}
	return 0;
}

/* Hash a run into the session hash. */
BV_GLOBAL int bv_run_sess(struct bv_scratch *sc, char a, char b, char d)
{
	__u32 pos, n;

	if (!sc)
		return 0;
	pos = sc->pos;
	n = (__u32)bv_run_skip(sc, a, b, d);
	bv_shash_run(sc, &sc->lx.sh, pos, n);
	return n;
}

/* A run of visitor identifier: one span for all of it (and the visitor
 * hash when `hash`). 0 when the spans are full: the per-byte path then
 * replaces at once. */
BV_GLOBAL int bv_run_id(struct bv_scratch *sc, char a, char b, char d, int hash)
{
	struct bv_lexer *lx;
	__u32 pos, n, k;

	if (!sc)
		return 0;
	lx = &sc->lx;
	pos = sc->pos;
	k = sc->nspans;
	if (!(sc->span_open && k > 0 && k <= BV_MAX_SPANS) && k >= BV_MAX_SPANS)
		return 0;
	n = bv_run_len(sc, pos, a, b, d);
	if (!n || n > BV_RUN)
		return 0;
	if (hash)
		bv_shash_run(sc, &lx->vh, pos, n);
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
 * its first 8 bytes: HTTP's framing headers, Cookie, and the configured
 * names' filter (bv_namematch.h). A "no" is certain; a "yes" goes to the
 * exact per-byte path. Needs 8 bytes in the segment.
 */
static __always_inline int bv_line_may_matter(const struct bv_scratch *sc,
					      const struct bv_name_filter *f, __u64 w)
{
	__u64 l = w | 0x2020202020202020ULL;
	__u64 l7 = l & 0xffffffffffffffULL;

	if (l == BV_W8('c', 'o', 'n', 't', 'e', 'n', 't', '-') ||
	    l == BV_W8('t', 'r', 'a', 'n', 's', 'f', 'e', 'r'))
		return 1;
	/* a request that is not a beacon: only its client addresses, in a
	 * copy, and its Host for the Set-Cookie audit (bv_audit.h) */
	if (!(sc->lx.sig & BV_SIG_BEACON) && !sc->mask_other && !(sc->set.flags & BV_SETF_AUDIT))
		return 0;
	return l7 == BV_W8('c', 'o', 'o', 'k', 'i', 'e', ':', 0) ||
	       bv_filter_has(f, BV_NAME_HEADER, bv_fkey_word(w, BV_NAME_HEADER));
}

/* Whole header lines that do not matter, skipped in one step (up to 16):
 * returns the bytes consumed (through the last '\n'), or 0. */
BV_GLOBAL int bv_skip_line(struct bv_scratch *sc)
{
	const struct bv_name_filter *f = bv_namefilt_get();
	__u32 pos, start, len, nl;
	__u64 w;

	if (!sc || !f)
		return 0;
	start = pos = sc->pos;
	len = sc->len;
	for (int k = 0; k < 16; k++) {
		if (pos + 8 > len)
			break;
		w = bv_ld64(sc, pos);
		if ((__u8)w <= 0x20 || bv_line_may_matter(sc, f, w))
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
 * A cookie pair whose name cannot be a configured one (the filter says so)
 * is skipped up to its ';' or the line end in one step. Leading spaces are
 * taken first.
 */
BV_GLOBAL int bv_skip_cookie(struct bv_scratch *sc)
{
	__u32 pos, len, i, nd;
	__u64 w;

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
	w = bv_ld64(sc, pos);
	if (bv_filter_has(bv_namefilt_get(), BV_NAME_COOKIE, bv_fkey_word(w, BV_NAME_COOKIE)))
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

/*
 * The same for query parameters that are neither type= nor a configured
 * key: up to 8 of them in a row, each name=value and its '&' (which the
 * per-byte machine would take as it is: no token, no identifier open).
 * 1: stopped before a delimiter; 2: stopped after an '&' (nothing left to
 * handle); 0: nothing skipped.
 */
/* bv_run_len as a call: a loop around it then has one exit to explore. */
BV_GLOBAL __u32 bv_run_len_call(const struct bv_scratch *sc, __u32 pos, char a, char b, char d)
{
	return bv_run_len(sc, pos, a, b, d);
}

BV_GLOBAL int bv_skip_param(struct bv_scratch *sc)
{
	const struct bv_name_filter *f = bv_namefilt_get();
	__u32 pos, len, n, w4;
	int r = 0;

	if (!sc || !f)
		return 0;
	pos = sc->pos;
	len = sc->len;
	for (int k = 0; k < 8; k++) {
		if (pos + 4 > len)
			break;
		w4 = bv_ld32(sc, pos);
		if (w4 == BV_W8('t', 'y', 'p', 'e', 0, 0, 0, 0) ||
		    bv_filter_has(f, BV_NAME_QUERY, bv_fkey_word(w4, BV_NAME_QUERY)))
			break;
		/* the whole name=value up to '&', '#' or a control byte/space */
		n = bv_run_len_call(sc, pos, '&', '#', '#');
		if (n > BV_RUN)
			n = BV_RUN;
		sc->lx.hdr_bytes += n;
		pos += n;
		r = 1;
		if (n >= BV_RUN || pos >= len || sc->buf[pos & BV_MASK] != '&')
			break;
		pos++;
		r = 2;
	}
	sc->pos = pos;
	return r;
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
		if (lx->tok_len == 0) {
			int r = bv_skip_param(sc);

			if (r)
				return r;
		}
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

#endif /* BV_RUNS_H */
