/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Prefix-preserving addresses in text (ip_anon = prefix_preserving).
 *
 * The streaming masker (bv_textmask.h) still runs on every character and
 * writes the truncated form as it reads, so nothing leaks whatever happens
 * next. Alongside, this file keeps the token's start and its original
 * characters in the CPU's scratch (bv_iptok, never in the per-flow state).
 * When the token ends inside the segment it started in, it is written again,
 * whole, as the text of its Crypto-PAn address, if that fits in the
 * original length; the rest is the field's padding (' ', ';' in Forwarded,
 * '&' in a form body). Otherwise the truncated form stays and
 * ip_anon_text_fallback counts it: a longer text form (1.2.3.4 ->
 * 203.113.200.100), a token cut by a segment boundary, an escaped or
 * embedded form (%3A, ::ffff:a.b.c.d), a bracketed IPv6 that cannot be
 * given its exact length.
 *
 * IPv6 text is the RFC 5952 form (lower case, longest zero run as "::"),
 * then widened with leading zeros in its groups (RFC 4291 2.2 allows up to
 * four digits) up to the original length, so that it needs no padding:
 * padding inside "[...]" (Forwarded) is not an address.
 */
#ifndef BV_IPTEXT_H
#define BV_IPTEXT_H

#include "bv_addr.h"
#include "bv_lexer.h"
#include "bv_textmask.h"

enum {
	BV_IPT_NONE = 0,    /* no token */
	BV_IPT_OPEN = 1,    /* whole so far, in this segment */
	BV_IPT_SPOILED = 2, /* cannot be rewritten: stays truncated */
	BV_IPT_DONE = 3,    /* ended (a closed Forwarded node): no more characters */
};

#define BV_IPTC_QUOTED  0x01 /* Forwarded: inside a quoted node */
#define BV_IPTC_BRACKET 0x02 /* Forwarded: inside "[...]" */
#define BV_IPTC_CLOSED  0x04 /* the masker closed the quotes inside it */
#define BV_IPTC_MASKED  0x08 /* the masker masked it: it is an address */
#define BV_IPTC_FAMILY  0x10 /* a '.' or ':' was seen */
#define BV_IPTC_PUBLIC  0x20 /* ip_mask = public: private ranges stay */
#define BV_IPTC_PRIOR   0x40 /* the rest of a token cut in the previous segment,
			      * counted there (it had a '.' or ':') */

#define BV_IPT_IDX(n) ((n) & (BV_IPT_MAX - 1))

/* Decimal octet v at out[w.n..]. */
static __always_inline void bv_ipt_dec(struct bv_iptok *t, __u32 v)
{
	if (v >= 100)
		t->out[BV_IPT_IDX(t->w.n++)] = '0' + v / 100;
	if (v >= 10)
		t->out[BV_IPT_IDX(t->w.n++)] = '0' + (v / 10) % 10;
	t->out[BV_IPT_IDX(t->w.n++)] = '0' + v % 10;
}

/* Parser step: character i of t->tok.raw (i == len: the end). Sets w.bad when
 * the token is not an address we rewrite: IPv4 dotted quad (no leading
 * zeros) with an optional ":port", or IPv6 without an embedded IPv4. */
BV_GLOBAL int bv_ipt_pstep(struct bv_iptok *t, __u32 i)
{
	volatile struct bv_ipt_work *w;
	char c, prev;
	int h;

	if (!t)
		return 0;
	w = &t->w;
	c = i < t->tok.len ? t->tok.raw[BV_IPT_IDX(i)] : 0;
	prev = i ? t->tok.raw[BV_IPT_IDX(i - 1)] : 0;
	if (w->fam == 4) {
		if (w->port) {
			/* after "a.b.c.d:": up to 5 digits (an empty port: a
			 * Forwarded obfuscated port cut off, or none) */
			if (c == 0 || (c >= '0' && c <= '9' && ++w->port <= 6))
				return 0;
			w->bad = 1;
			return 0;
		}
		if (c >= '0' && c <= '9') {
			if (w->dots > 3 || (w->nd == 1 && w->v == 0))
				w->bad = 1; /* a leading zero: octal to some readers */
			w->v = w->v * 10 + (c - '0');
			if (++w->nd > 3 || w->v > 255)
				w->bad = 1;
			return 0;
		}
		if (w->nd == 0) {
			w->bad = 1;
			return 0;
		}
		w->a4 = w->a4 << 8 | w->v;
		w->v = 0;
		w->nd = 0;
		if (c == '.' && w->dots < 3) {
			w->dots++;
			return 0;
		}
		if (w->dots != 3 || (c != 0 && c != ':')) {
			w->bad = 1;
			return 0;
		}
		w->dots = 4;
		w->alen = i;
		if (c == ':')
			w->port = 1;
		return 0;
	}
	/* IPv6 */
	if (c == 0) {
		if (w->nd) {
			if (w->ng >= 8) {
				w->bad = 1;
				return 0;
			}
			w->g[w->ng & 7] = w->v;
			w->ng++;
		} else if (w->dc != w->ng || prev != ':') {
			w->bad = 1; /* ends in a single ':' */
		}
		w->alen = i;
		return 0;
	}
	h = bv_hexval(c);
	if (h >= 0) {
		if (++w->nd > 4)
			w->bad = 1;
		w->v = w->v << 4 | h;
		return 0;
	}
	if (c != ':') {
		w->bad = 1; /* '.': embedded IPv4, kept in its masked form */
		return 0;
	}
	if (w->nd) {
		if (w->ng >= 8) {
			w->bad = 1;
			return 0;
		}
		w->g[w->ng & 7] = w->v;
		w->ng++;
		w->v = 0;
		w->nd = 0;
	} else if (prev == ':') {
		if (w->dc != 8)
			w->bad = 1; /* a second "::" */
		w->dc = w->ng;
	} else if (i != 0) {
		w->bad = 1;
	}
	return 0;
}

/* t->tok.raw as an address into io (network order). Returns 4 or 6, 0 if it
 * is not one we rewrite; w.alen: characters of the address (an IPv4
 * ":port" after them becomes padding). */
BV_GLOBAL int bv_ipt_parse(struct bv_iptok *t, struct bv_cpan_io *io)
{
	volatile struct bv_ipt_work *w;
	__u32 L, i;

	if (!t || !io)
		return 0;
	w = &t->w;
	__builtin_memset(&t->w, 0, sizeof(t->w));
	w->dc = 8;
	L = t->tok.len;
	if (L == 0 || L >= BV_IPT_MAX)
		return 0;
	for (i = 0; i < BV_IPT_MAX; i++) {
		char c;

		if (i >= L)
			break;
		c = t->tok.raw[BV_IPT_IDX(i)];
		if (c == '.' || c == ':') {
			w->fam = c == '.' ? 4 : 6;
			break;
		}
	}
	if (!w->fam)
		return 0;
	if (w->fam == 6 && (L < 2 || L > 39 || (t->tok.raw[0] == ':' && t->tok.raw[1] != ':')))
		return 0;
	for (i = 0; i < BV_IPT_MAX; i++) {
		if (i > L)
			break;
		bv_ipt_pstep(t, i);
		if (w->bad)
			return 0;
	}
	if (w->fam == 4) {
		if (w->dots != 4)
			return 0;
		io->a[0] = bpf_htonl(w->a4);
		return 4;
	}
	if (w->dc == 8 ? w->ng != 8 : w->ng > 7)
		return 0;
	if (w->dc != 8) {
		/* the groups after "::" go to the end */
		__u32 shift = 8 - w->ng;

		for (int k = 7; k >= 0; k--) {
			if ((__u32)k >= w->dc + shift)
				w->g[k] = w->g[(k - shift) & 7];
			else if ((__u32)k >= w->dc)
				w->g[k] = 0;
		}
	}
	for (int k = 0; k < 4; k++)
		io->a[k] = bpf_htonl((__u32)w->g[2 * k] << 16 | w->g[2 * k + 1]);
	return 6;
}

/* Text of IPv6 a (network order) in t->out, widened towards L characters
 * with leading zeros; returns its length, 0 if even the shortest form is
 * longer than L. */
BV_GLOBAL int bv_ipt_fmt6(struct bv_iptok *t, const struct bv_cpan_io *io, __u32 L)
{
	volatile struct bv_ipt_work *w;

	if (!t || !io)
		return 0;
	w = &t->w;
	w->bs = 8;
	w->bl = 0;
	w->rs = 0;
	w->rl = 0;
	w->m = 0;
	w->n = 0;
	for (int k = 0; k < 4; k++) {
		__u32 h = bpf_ntohl(io->a[k]);

		w->g[2 * k] = h >> 16;
		w->g[2 * k + 1] = h & 0xffff;
	}
	/* RFC 5952: the longest run of two or more zero groups, the first */
	for (__u32 i = 0; i < 8; i++) {
		if (w->g[i] == 0) {
			if (w->rl == 0)
				w->rs = i;
			w->rl++;
			if (w->rl > w->bl) {
				w->bl = w->rl;
				w->bs = w->rs;
			}
		} else {
			w->rl = 0;
		}
	}
	if (w->bl < 2) {
		w->bl = 0;
		w->bs = 8;
	}
	for (__u32 i = 0; i < 8; i++) {
		__u32 v = w->g[i];

		w->wd[i] = v >= 0x1000 ? 4 : v >= 0x100 ? 3 : v >= 0x10 ? 2 : 1;
		if (i >= w->bs && i < w->bs + w->bl)
			continue;
		w->m += w->wd[i];
	}
	if (w->bl) {
		/* "::" and the colons between the groups on either side */
		w->m += 2 + (w->bs ? w->bs - 1 : 0);
		if (8 - w->bs - w->bl)
			w->m += 8 - w->bs - w->bl - 1;
	} else {
		w->m += 7;
	}
	if (w->m > L)
		return 0;
	w->extra = L - w->m;
	for (__u32 i = 0; i < 8; i++) {
		__u32 add;

		if (i >= w->bs && i < w->bs + w->bl)
			continue;
		add = 4 - w->wd[i];
		if (add > w->extra)
			add = w->extra;
		w->wd[i] += add;
		w->extra -= add;
	}
	for (__u32 i = 0; i < 8; i++) {
		if (i >= w->bs && i < w->bs + w->bl) {
			if (i == w->bs) {
				t->out[BV_IPT_IDX(w->n++)] = ':';
				t->out[BV_IPT_IDX(w->n++)] = ':';
			}
			continue;
		}
		if (i > 0 && i != w->bs + w->bl)
			t->out[BV_IPT_IDX(w->n++)] = ':';
		for (int d = 3; d >= 0; d--) {
			__u32 x = (w->g[i] >> (4 * d)) & 0xf;

			if ((__u32)d >= w->wd[i])
				continue;
			t->out[BV_IPT_IDX(w->n++)] = x < 10 ? '0' + x : 'a' + x - 10;
		}
	}
	return w->n;
}

/* Character i of the token's new text (a bpf_loop callback: one
 * verification, where a loop against unknown lengths splits on each);
 * what to write is in t->w (tl, put_raw, put_close) and t->tok.pad. */
struct bv_ipt_put {
	struct bv_scratch *sc;
};

static long bv_ipt_put_cb(__u64 i, void *vctx)
{
	struct bv_ipt_put *x = vctx;
	struct bv_scratch *sc = x->sc;
	__u32 k = (__u32)i & (BV_IPT_MAX - 1);
	char c;

	if (!sc)
		return 1;
	if (sc->ipt.w.put_raw)
		c = sc->ipt.tok.raw[k];
	else if (k < sc->ipt.w.tl)
		c = sc->ipt.out[k];
	else if (sc->ipt.w.put_close && k == sc->ipt.w.tl)
		c = '"';
	else
		c = (char)sc->ipt.tok.pad;
	bv_put(sc, sc->ipt.tok.pos + k, c);
	return 0;
}

/*
 * A token that ended (t->tok): write it again in its prefix-preserving
 * form, or leave the truncated form and count why.
 */
BV_GLOBAL int bv_iptok_end(struct bv_scratch *sc)
{
	struct bv_cpan_io *io;
	struct bv_iptok *t;
	__u32 pos, L, alen = 0, tl = 0, close = 0;
	int fam, counted, st;
	char pad;

	if (!sc)
		return 0;
	t = &sc->ipt;
	io = &t->io;
	st = t->tok.state;
	t->tok.state = BV_IPT_NONE;
	if (st == BV_IPT_NONE)
		return 0;
	pos = t->tok.pos;
	L = t->tok.len;
	counted = pos >= sc->live_from;
	pad = (char)t->tok.pad;
	if ((st != BV_IPT_OPEN && st != BV_IPT_DONE) || pos + L >= sc->len || L >= BV_IPT_MAX - 1 || L == 0)
		goto fallback; /* not whole, or it may go on in the next segment */
	fam = bv_ipt_parse(t, io);
	if (!fam)
		goto fallback;
	alen = t->w.alen;
	if ((t->tok.ctx & BV_IPTC_PUBLIC) &&
	    (fam == 4 ? bv_v4_private(io->a[0]) : bv_v6_private(io->a))) {
		/* private after all (the masker could not tell): as it was */
		struct bv_ipt_put x = { .sc = sc };

		t->w.put_raw = 1;
		bpf_loop(L, bv_ipt_put_cb, &x, 0);
		return 0;
	}
	io->family = fam;
	if (bv_ipanon_addr(io) != 1)
		goto fallback;
	if (fam == 4) {
		__u32 h = bpf_ntohl(io->a[0]);

		t->w.n = 0;
		bv_ipt_dec(t, h >> 24);
		t->out[BV_IPT_IDX(t->w.n++)] = '.';
		bv_ipt_dec(t, (h >> 16) & 0xff);
		t->out[BV_IPT_IDX(t->w.n++)] = '.';
		bv_ipt_dec(t, (h >> 8) & 0xff);
		t->out[BV_IPT_IDX(t->w.n++)] = '.';
		bv_ipt_dec(t, h & 0xff);
		tl = t->w.n;
	} else {
		tl = bv_ipt_fmt6(t, io, alen);
		if (!tl)
			goto fallback;
	}
	if (tl > L)
		goto fallback;
	if (t->tok.ctx & BV_IPTC_BRACKET) {
		if (tl != L)
			goto fallback; /* no padding inside [...] */
	} else if (t->tok.ctx & BV_IPTC_QUOTED) {
		/* the padding goes after the quoted node (bv_ip_out) */
		if (t->tok.ctx & BV_IPTC_CLOSED) {
			/* everything from the masker's '"' to the original
			 * closing quote is ';' by now */
			if (tl < L)
				close = 1;
			else if (sc->buf[(pos + L) & BV_MASK] == ';')
				close = 3; /* the quote back right after the text */
			else
				goto fallback;
		} else if (tl < L) {
			if (sc->buf[(pos + L) & BV_MASK] != '"')
				goto fallback;
			close = 2; /* and the original closing quote becomes ';' */
		}
	}
	{
		struct bv_ipt_put x = { .sc = sc };

		t->w.put_raw = 0;
		t->w.tl = tl;
		t->w.put_close = close == 1 || close == 2;
		bpf_loop(L, bv_ipt_put_cb, &x, 0);
	}
	if (close == 2)
		bv_put(sc, pos + L, pad);
	else if (close == 3)
		bv_put(sc, pos + L, '"');
	if (!(t->tok.ctx & BV_IPTC_MASKED) && counted)
		bv_count(BV_ST_TEXT_MASKED);
	return 1;

fallback:
	if (counted && (t->tok.ctx & (BV_IPTC_MASKED | BV_IPTC_FAMILY)) &&
	    !(t->tok.ctx & BV_IPTC_PRIOR))
		bv_count(BV_ST_IP_ANON_TEXT_FALLBACK);
	return 0;
}

/* Rewrite the addresses recorded in this segment (at its end, or after a
 * PROXY v1 source): each in t->tok through bv_iptok_end. */
BV_GLOBAL int bv_iptok_flush(struct bv_scratch *sc)
{
	struct bv_iptok *t;

	if (!sc)
		return 0;
	t = &sc->ipt;
	for (__u32 i = 0; i < BV_IPT_SLOTS; i++) {
		if (t->slot[i].state == BV_IPT_NONE)
			continue;
		__builtin_memcpy(&t->tok, &t->slot[i], sizeof(t->tok));
		t->slot[i].state = BV_IPT_NONE;
		bv_iptok_end(sc);
	}
	t->n = 0;
	return 0;
}

/* A new segment: forget what another packet recorded. */
static __always_inline void bv_iptok_reset(struct bv_scratch *sc)
{
	for (__u32 i = 0; i < BV_IPT_SLOTS; i++)
		sc->ipt.slot[i].state = BV_IPT_NONE;
	sc->ipt.n = 0;
}

static __always_inline struct bv_iptslot *bv_iptok_cur(struct bv_scratch *sc)
{
	return &sc->ipt.slot[sc->ipt.n & (BV_IPT_SLOTS - 1)];
}

/* An address character at pos, before the masker sees it (fresh: the
 * masker's state is empty, a token starts here). */
static __always_inline void bv_iptok_char(struct bv_scratch *sc, __u32 pos, char c, char pad,
					  int fresh)
{
	struct bv_iptok *t = &sc->ipt;
	struct bv_lexer *lx = &sc->lx;
	struct bv_iptslot *s;

	if (!t->on)
		return;
	s = bv_iptok_cur(sc);
	if (!fresh && s->state == BV_IPT_NONE) {
		/* the rest of a token cut by the segment's start: it stays
		 * truncated; counted here unless its first part was */
		s->state = BV_IPT_SPOILED;
		s->pos = pos;
		s->len = 0;
		s->ctx = lx->ipm.fam ? BV_IPTC_PRIOR : 0;
		return;
	}
	if (fresh) {
		if (s->state != BV_IPT_NONE) {
			if (t->n + 1 < BV_IPT_SLOTS) {
				t->n++;
				s = bv_iptok_cur(sc);
			} else if ((s->ctx & (BV_IPTC_MASKED | BV_IPTC_FAMILY)) &&
				   s->pos >= sc->live_from) {
				/* more addresses than slots: the last one
				 * recorded keeps its truncated form */
				bv_count(BV_ST_IP_ANON_TEXT_FALLBACK);
			}
		}
		s->state = BV_IPT_OPEN;
		s->pos = pos;
		s->len = 0;
		s->pad = pad;
		s->ctx = lx->pol.ip_mask == BV_IPMASK_PUBLIC ? BV_IPTC_PUBLIC : 0;
		if (lx->hdr == H_FWD) {
			if (lx->sub2 & BV_FWD_QUOTED)
				s->ctx |= BV_IPTC_QUOTED;
			if (lx->sub2 & BV_FWD_BRACKET)
				s->ctx |= BV_IPTC_BRACKET;
		}
	}
	if (s->state != BV_IPT_OPEN)
		return;
	if (pos != (__u32)s->pos + s->len || s->len >= BV_IPT_MAX - 1) {
		s->state = BV_IPT_SPOILED; /* not contiguous (%3A), or too long */
		return;
	}
	s->raw[s->len & (BV_IPT_MAX - 1)] = c;
	s->len++;
}

/* A character of a Forwarded node after the masker closed its quotes
 * (bv_fwd_char turns it into ';' without the masker): still part of the
 * token, so that the whole node's length is known. */
static __always_inline void bv_iptok_more(struct bv_scratch *sc, __u32 pos, char c)
{
	struct bv_iptslot *s = bv_iptok_cur(sc);

	if (s->state != BV_IPT_OPEN)
		return;
	if (!bv_is_ipchar(c) || pos != (__u32)s->pos + s->len || s->len >= BV_IPT_MAX - 1) {
		s->state = BV_IPT_DONE;
		return;
	}
	s->raw[s->len & (BV_IPT_MAX - 1)] = c;
	s->len++;
}

/* After the masker's step: what it did to the token. */
static __always_inline void bv_iptok_after(struct bv_scratch *sc, char c, char out)
{
	struct bv_iptslot *s = bv_iptok_cur(sc);

	if (!sc->ipt.on || s->state == BV_IPT_NONE)
		return;
	if (out == '"')
		s->ctx |= BV_IPTC_CLOSED;
	if (sc->lx.ipm.flags & BV_IPM_MASKING)
		s->ctx |= BV_IPTC_MASKED;
	if (c == '.' || c == ':')
		s->ctx |= BV_IPTC_FAMILY; /* "cafe" alone is a word, not an address */
}

#endif /* BV_IPTEXT_H */
