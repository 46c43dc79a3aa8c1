/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The Set-Cookie audit (mirror/pcap mode; rules in docs/AUDIT.md): a
 * server->client segment that starts with a whole HTTP/1.x response head
 * is read, never written. Its Set-Cookie lines for the RUM cookies are
 * judged (HttpOnly, Secure, SameSite, the rxVisitor lifetime against rvcl)
 * and counted in bv_audit under the application the connection's last
 * request named. Segment-local by design: a head or line cut by the
 * segment's end is counted as incomplete, never judged on a part.
 *
 * Also the request side's one hook: bv_audit_note_host() keeps the Host of
 * a request seen in the segment, and bv_audit_note_flow() remembers the
 * application per connection (bv_auflow) for its responses.
 */
#ifndef BV_AUDIT_H
#define BV_AUDIT_H

#include "bv_parse.h"
#include "bv_lexer.h"
#include "bv_audit_abi.h"

_Static_assert(BV_AUC_MAX == 8, "bv_au_scan masks cookie ids with BV_AUC_MAX - 1");

/* ---- the request side ------------------------------------------------- */

/* A Host header ended: lx->tok holds it, lower case, without the port. */
BV_GLOBAL int bv_audit_note_host(struct bv_scratch *sc)
{
	struct bv_lexer *lx;
	__u32 n;

	if (!sc)
		return 0;
	lx = &sc->lx;
	if (!(sc->set.flags & BV_SETF_AUDIT) || lx->tok_len == 0 || (lx->flags & BV_LXF_TOKOVF))
		return 0;
	n = lx->tok_len > BV_AUDIT_ID_LEN ? BV_AUDIT_ID_LEN : lx->tok_len;
	for (__u32 i = 0; i < BV_AUDIT_ID_LEN; i++)
		sc->au_req.id[i] = i < n ? lx->tok[i] : 0;
	sc->au_req.by = BV_AUBY_HOST;
	sc->au_req.len = (__u8)n;
	return 0;
}

/* After a client segment was scanned: the connection's application is the
 * app= of the request under way, else the Host seen in this segment. */
BV_GLOBAL int bv_audit_note_flow(struct bv_scratch *sc)
{
	struct bv_audit_flow nf = {}, *f;
	struct bv_audit_app *a = &nf.app;

	if (!sc || !(sc->set.flags & BV_SETF_AUDIT))
		return 0;
	if (sc->lx.app_len) {
		__u32 n = sc->lx.app_len > BV_AUDIT_ID_LEN ? BV_AUDIT_ID_LEN : sc->lx.app_len;

		a->by = BV_AUBY_APP;
		a->len = (__u8)n;
		for (__u32 i = 0; i < BV_AUDIT_ID_LEN; i++)
			a->id[i] = i < n ? sc->lx.app[i] : 0;
	} else if (sc->au_req.by == BV_AUBY_HOST) {
		*a = sc->au_req;
	} else {
		return 0;
	}
	f = bpf_map_lookup_elem(&bv_auflow, &sc->fkey);
	if (f) {
		f->app = *a;
		return 0;
	}
	bpf_map_update_elem(&bv_auflow, &sc->fkey, &nf, BPF_ANY);
	return 0;
}

/* ---- counting ------------------------------------------------------------ */

/* A new row's value (a global, not 104 bytes of stack). */
static const struct bv_audit_row bv_au_zero;

/* bv_audit[app, cookie].n[k] += 1 for every bit k of mask. */
BV_GLOBAL int bv_audit_add(const struct bv_audit_app *app, __u32 cookie, __u32 mask)
{
	struct bv_audit_key *key, *other;
	struct bv_audit_row *v;
	struct bv_au_work *w;
	__u32 zero = 0;

	if (!app || !mask)
		return 0;
	w = bpf_map_lookup_elem(&bv_auwork, &zero);
	if (!w)
		return 0;
	key = &w->key;
	other = &w->other;
	__builtin_memset(key, 0, sizeof(*key));
	__builtin_memset(other, 0, sizeof(*other));
	key->app = *app;
	key->cookie = (__u8)cookie;
	v = bpf_map_lookup_elem(&bv_audit, key);
	if (!v) {
		/* the overflow rows (one per cookie) first, so that they
		 * always have room: made together, before any other row */
		if (!bpf_map_lookup_elem(&bv_audit, other)) {
#pragma unroll
			for (int c = 0; c < BV_AUC_MAX; c++) {
				other->cookie = (__u8)c;
				bpf_map_update_elem(&bv_audit, other, &bv_au_zero, BPF_NOEXIST);
			}
			other->cookie = 0;
		}
		bpf_map_update_elem(&bv_audit, key, &bv_au_zero, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&bv_audit, key);
		if (!v) {
			other->cookie = (__u8)cookie;
			bpf_map_update_elem(&bv_audit, other, &bv_au_zero, BPF_NOEXIST);
			v = bpf_map_lookup_elem(&bv_audit, other);
		}
		if (!v)
			return 0;
	}
#pragma unroll
	for (int k = 0; k < BV_AU_MAX; k++)
		if (mask & (1u << k))
			v->n[k] += 1;
	return 0;
}

/* ---- dates (RFC 6265 5.1.1, which covers RFC 7231's IMF-fixdate) ---------- */

#define BV_AU_DATE_MAX 40

static __always_inline int bv_au_is_delim(char c)
{
	__u8 u = (__u8)c;

	return u == 0x09 || (u >= 0x20 && u <= 0x2f) || (u >= 0x3b && u <= 0x40) ||
	       (u >= 0x5b && u <= 0x60) || (u >= 0x7b && u <= 0x7e);
}

static __always_inline __u32 bv_au_month(const char *t)
{
	/* jan feb mar apr may jun jul aug sep oct nov dec */
	__u32 w = ((__u32)(__u8)t[0] << 16) | ((__u32)(__u8)t[1] << 8) | (__u8)t[2];

	switch (w) {
	case 0x6a616e: return 1;
	case 0x666562: return 2;
	case 0x6d6172: return 3;
	case 0x617072: return 4;
	case 0x6d6179: return 5;
	case 0x6a756e: return 6;
	case 0x6a756c: return 7;
	case 0x617567: return 8;
	case 0x736570: return 9;
	case 0x6f6374: return 10;
	case 0x6e6f76: return 11;
	case 0x646563: return 12;
	}
	return 0;
}

/* A token ended: what it is, in RFC 6265's order (time, day, month, year). */
static __always_inline void bv_au_date_token(struct bv_au_date *d)
{
	if (d->tbad || (!d->tdig && !d->tlet && !d->tcolons))
		goto reset;
	if (d->tlet) {
		if (!d->tdig && !d->tcolons && d->tlet >= 3 && !d->have_month) {
			__u32 m = bv_au_month(d->tl);

			if (m) {
				d->month = m;
				d->have_month = 1;
			}
		}
		goto reset;
	}
	if (d->tcolons == 2) {
		if (!d->have_time && d->tdig >= 1 && d->tdig <= 2) {
			d->hh = d->g[0];
			d->mm = d->g[1];
			d->ss = d->tv;
			d->have_time = 1;
		}
		goto reset;
	}
	if (d->tcolons)
		goto reset;
	if (!d->have_day && d->tdig >= 1 && d->tdig <= 2) {
		d->day = d->tv;
		d->have_day = 1;
	} else if (!d->have_year && d->tdig >= 2 && d->tdig <= 4) {
		d->year = d->tv;
		if (d->tdig == 2)
			d->year += d->tv >= 70 ? 1900 : 2000;
		d->have_year = 1;
	}
reset:
	d->tv = 0;
	d->tdig = 0;
	d->tcolons = 0;
	d->tbad = 0;
	d->tlet = 0;
}

struct bv_au_date_ctx {
	struct bv_au_date *d;
	const struct bv_scratch *sc;
	__u32 off;
};

static long bv_au_date_cb(__u64 i, void *vctx)
{
	struct bv_au_date_ctx *dc = vctx;
	struct bv_au_date *d = dc->d;
	char c;

	if (!d || !dc->sc)
		return 1;
	if (i >= d->len || i >= BV_AU_DATE_MAX) {
		bv_au_date_token(d);
		return 1;
	}
	c = dc->sc->buf[(dc->off + i) & BV_MASK];
	if (bv_au_is_delim(c)) {
		bv_au_date_token(d);
		return 0;
	}
	if (c >= '0' && c <= '9') {
		if (d->tlet || d->tdig >= 4)
			d->tbad = 1;
		d->tv = d->tv * 10 + (__u32)(c - '0');
		d->tdig++;
	} else if (c == ':') {
		if (d->tlet || d->tcolons >= 2 || d->tdig < 1 || d->tdig > 2)
			d->tbad = 1;
		else
			d->g[d->tcolons & 1] = d->tv;
		d->tcolons++;
		d->tv = 0;
		d->tdig = 0;
	} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
		if (d->tdig || d->tcolons)
			d->tbad = 1;
		if (d->tlet < 3)
			d->tl[d->tlet] = bv_lower(c);
		if (d->tlet < 255)
			d->tlet++;
	} else {
		d->tbad = 1;
	}
	return 0;
}

/* Seconds since 1970 of the date in sc->buf[off, off + len) into *out;
 * 0 ok, -1 not a date we can read. */
BV_GLOBAL int bv_au_date_parse(const struct bv_scratch *sc, __u32 off, __u32 len, __s64 *out)
{
	struct bv_au_date_ctx dc = { .sc = sc, .off = off };
	struct bv_au_work *w;
	struct bv_au_date *d;
	__u64 y, era, yoe, doy, doe, m;
	__u32 zero = 0;

	if (!sc || !out || len == 0 || len > BV_AU_DATE_MAX || off >= BV_SCRATCH_LEN)
		return -1;
	w = bpf_map_lookup_elem(&bv_auwork, &zero);
	if (!w)
		return -1;
	d = &w->d;
	__builtin_memset(d, 0, sizeof(*d));
	d->len = len;
	dc.d = d;
	bpf_loop(BV_AU_DATE_MAX + 1, bv_au_date_cb, &dc, 0);
	if (!d->have_time || !d->have_day || !d->have_month || !d->have_year)
		return -1;
	if (d->day < 1 || d->day > 31 || d->year < 1601 || d->year > 9999 || d->hh > 23 ||
	    d->mm > 59 || d->ss > 59 || d->month < 1 || d->month > 12)
		return -1;
	/* days from the civil date (proleptic Gregorian), March-based years */
	m = d->month;
	y = d->year - (m <= 2);
	era = y / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d->day - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	*out = ((__s64)(era * 146097 + doe) - 719468) * 86400 +
	       (__s64)(d->hh * 3600 + d->mm * 60 + d->ss);
	return 0;
}

/* ---- the response head ---------------------------------------------------- */

/* Up to 8 bytes of a literal as the little-endian word the scanner packs
 * (byte k at bits 8k): folded to a constant. */
#define BV_AU_PACK(lit) bv_au_pack(lit, sizeof(lit) - 1)
static __always_inline __u64 bv_au_pack(const char *lit, __u32 n)
{
	__u64 w = 0;

#pragma unroll
	for (__u32 i = 0; i < 8; i++)
		if (i < n)
			w |= (__u64)(__u8)lit[i] << (8 * i);
	return w;
}

/* the low n bytes of w (n <= 8) */
static __always_inline __u64 bv_au_low(__u64 w, __u32 n)
{
	return n >= 8 ? w : (w & ((1ull << (8 * n)) - 1));
}

/* a[0, n) == lit[0, n) (n <= 12, lit a literal: unrolled to constants) */
#define BV_AU_EQ(a, lit) bv_au_eq(a, lit, sizeof(lit) - 1)
static __always_inline int bv_au_eq(const char *a, const char *lit, __u32 n)
{
#pragma unroll
	for (__u32 i = 0; i < 12; i++)
		if (i < n && a[i] != lit[i])
			return 0;
	return 1;
}

static __always_inline __u8 bv_au_cookie_of(const struct bv_au_scan *x)
{
	__u64 w = x->cn0, w1 = x->cn1;

	if (x->cnamebad || x->cnl == 0)
		return BV_AUC_NONE;
	/* base name exact (clast: where it ends), then only [0-9_] */
	switch (x->clast) {
	case 4:
		w = bv_au_low(w, 4);
		if (w == BV_AU_PACK("rxvt"))
			return BV_AUC_RXVT;
		if (w == BV_AU_PACK("dtPC"))
			return BV_AUC_DTPC;
		if (w == BV_AU_PACK("dtSa"))
			return BV_AUC_DTSA;
		break;
	case 6:
		if (bv_au_low(w, 6) == BV_AU_PACK("dtLatC"))
			return BV_AUC_DTLATC;
		break;
	case 8:
		if (w == BV_AU_PACK("dtCookie"))
			return BV_AUC_DTCOOKIE;
		break;
	case 9:
		if (w == BV_AU_PACK("rxVisito") && bv_au_low(w1, 1) == BV_AU_PACK("r"))
			return BV_AUC_RXVISITOR;
		break;
	case 10:
		if (w == BV_AU_PACK("dtDisabl") && bv_au_low(w1, 2) == BV_AU_PACK("ed"))
			return BV_AUC_DTDISABLED;
		break;
	}
	return BV_AUC_NONE;
}

static __always_inline __u8 bv_au_attr_of(const struct bv_au_scan *x)
{
	switch (x->anl) {
	case 6:
		return x->an == BV_AU_PACK("secure") ? AA_SECURE : AA_OTHER;
	case 7:
		if (x->an == BV_AU_PACK("max-age"))
			return AA_MAXAGE;
		return x->an == BV_AU_PACK("expires") ? AA_EXPIRES : AA_OTHER;
	case 8:
		if (x->an == BV_AU_PACK("httponly"))
			return AA_HTTPONLY;
		return x->an == BV_AU_PACK("samesite") ? AA_SAMESITE : AA_OTHER;
	}
	return AA_OTHER;
}

/* An attribute ended (';' or the line's end). */
static __always_inline void bv_au_attr_end(struct bv_au_scan *x)
{
	struct bv_au_rec *r = &x->r;

	if (x->cs == AC_ANAME || x->cs == AC_AVAL) {
		__u8 ak = x->cs == AC_ANAME ? bv_au_attr_of(x) : x->ak;

		switch (ak) {
		case AA_SECURE:
			r->f |= AUR_SECURE;
			break;
		case AA_HTTPONLY:
			r->f |= AUR_HTTPONLY;
			break;
		case AA_SAMESITE:
			r->ss = BV_AU_SS_OTHER;
			if (x->cs == AC_AVAL) {
				__u64 v = x->av;
				__u32 l = x->avend - x->avstart;

				if (l == 4 && v == BV_AU_PACK("none"))
					r->ss = BV_AU_SS_NONE;
				else if (l == 3 && v == BV_AU_PACK("lax"))
					r->ss = BV_AU_SS_LAX;
				else if (l == 6 && v == BV_AU_PACK("strict"))
					r->ss = BV_AU_SS_STRICT;
			}
			break;
		case AA_MAXAGE:
			/* RFC 6265 5.2.2: not "-"? DIGIT+ : the attribute is ignored */
			if (x->cs == AC_AVAL && !x->ma_bad && x->ma_dig) {
				r->f &= ~(AUR_MA_LONG | AUR_MA_DEL);
				r->f |= AUR_MA;
				if (x->ma_neg || x->ma == 0)
					r->f |= AUR_MA_DEL;
				else if (x->ma > x->limit)
					r->f |= AUR_MA_LONG;
			}
			break;
		case AA_EXPIRES:
			if (x->cs == AC_AVAL && x->avend > x->avstart) {
				r->f |= AUR_EXP;
				r->exp_off = x->avstart;
				r->exp_len = x->avend - x->avstart > 255 ? 255 :
					     (__u8)(x->avend - x->avstart);
			}
			break;
		}
	}
	x->cs = AC_AOWS;
	x->anl = 0;
	x->an = 0;
	x->av = 0;
	x->aws = 0;
	x->avl = 0;
	x->ak = AA_OTHER;
	x->ma = 0;
	x->ma_neg = 0;
	x->ma_bad = 0;
	x->ma_dig = 0;
}

/* One byte of a Set-Cookie value. */
static __always_inline void bv_au_cookie_char(struct bv_au_scan *x, __u32 i, char c)
{
	int ws = c == ' ' || c == '\t';

	switch (x->cs) {
	case AC_OWS:
		if (ws)
			return;
		x->cs = AC_NAME;
		/* fall through */
	case AC_NAME:
		if (c == '=') {
			x->ck = bv_au_cookie_of(x);
			x->cs = x->ck ? AC_VALUE : AC_IGNORE;
			x->r.cookie = x->ck;
			return;
		}
		if (c == ';') {
			x->bad = 1; /* a pair without '=': browsers drop it */
			x->cs = AC_IGNORE;
			return;
		}
		if (ws) {
			x->cws = 1;
			return;
		}
		if (x->cws)
			x->cnamebad = 1;
		if (x->cnl < 8)
			x->cn0 |= (__u64)(__u8)c << ((8 * x->cnl) & 63);
		else if (x->cnl < 12)
			x->cn1 |= (__u64)(__u8)c << ((8 * (x->cnl - 8)) & 63);
		if (x->cnl < 255)
			x->cnl++;
		if (!((c >= '0' && c <= '9') || c == '_'))
			x->clast = x->cnl;
		if (x->clast > 12)
			x->cnamebad = 1;
		return;
	case AC_VALUE:
		if (c == ';')
			x->cs = AC_AOWS;
		return;
	case AC_AOWS:
		if (ws || c == ';')
			return;
		x->cs = AC_ANAME;
		/* fall through */
	case AC_ANAME:
		if (c == ';') {
			bv_au_attr_end(x);
			return;
		}
		if (c == '=') {
			x->ak = bv_au_attr_of(x);
			x->cs = AC_AVAL;
			x->aws = 0;
			x->avstart = 0;
			x->avend = 0;
			return;
		}
		if (ws) {
			x->aws = 1;
			return;
		}
		if (x->aws || x->anl >= 8) {
			x->anl = 0xff; /* matches no attribute we judge */
			return;
		}
		x->an |= (__u64)(__u8)bv_lower(c) << ((8 * x->anl) & 63);
		x->anl++;
		return;
	case AC_AVAL:
		if (c == ';') {
			bv_au_attr_end(x);
			return;
		}
		if (ws) {
			if (x->avl)
				x->aws = 1; /* trailing, unless more follows */
			return;
		}
		if (x->avl == 0)
			x->avstart = (__u16)i;
		x->avend = (__u16)(i + 1);
		if (x->ak == AA_SAMESITE) {
			__u32 o = i - x->avstart;

			if (o < 8)
				x->av |= (__u64)(__u8)bv_lower(c) << ((8 * o) & 63);
		}
		if (x->ak == AA_MAXAGE) {
			if (c == '-' && x->avl == 0)
				x->ma_neg = 1;
			else if (c >= '0' && c <= '9' && !x->aws) {
				if (x->ma < (1ull << 40))
					x->ma = x->ma * 10 + (__u64)(c - '0');
				x->ma_dig = 1;
			} else {
				x->ma_bad = 1;
			}
		}
		if (x->avl < 255)
			x->avl++;
		return;
	}
}

/* A Set-Cookie line ended: keep its record for judging. */
static __always_inline void bv_au_cookie_end(struct bv_au_scan *x)
{
	if (x->cs == AC_OWS || x->cs == AC_NAME) {
		/* no '=' at all: not a cookie browsers keep */
		x->bad = 1;
	}
	if (x->cs == AC_ANAME || x->cs == AC_AVAL)
		bv_au_attr_end(x);
	x->prev_rec = 0;
	if (x->bad) {
		x->nincomplete_ck[x->ck & (BV_AUC_MAX - 1)]++;
		return;
	}
	if (!x->ck)
		return;
	if (x->nrec >= BV_AU_RECS) {
		x->nincomplete_ck[x->ck & (BV_AUC_MAX - 1)]++;
		return;
	}
	x->rec[x->nrec & (BV_AU_RECS - 1)] = x->r;
	x->nrec++;
	x->prev_rec = 1;
}

static __always_inline void bv_au_line_reset(struct bv_au_scan *x)
{
	x->ls = AL_NAME;
	x->hk = AH_OTHER;
	x->nlen = 0;
	x->m_date = 1;
	x->m_sc = 1;
	x->cr = 0;
	x->empty = 1;
	x->bad = 0;
	x->vstart = 0xffff;
	x->vend = 0;
	x->cs = AC_OWS;
	x->ck = 0;
	x->cnl = 0;
	x->cn0 = 0;
	x->cn1 = 0;
	x->an = 0;
	x->av = 0;
	x->clast = 0;
	x->cws = 0;
	x->cnamebad = 0;
	x->anl = 0;
	x->aws = 0;
	x->avl = 0;
	x->ak = AA_OTHER;
	x->ma = 0;
	x->ma_neg = 0;
	x->ma_bad = 0;
	x->ma_dig = 0;
	__builtin_memset(&x->r, 0, sizeof(x->r));
	x->r.ss = BV_AU_SS_ABSENT;
}

struct bv_au_scan_ctx {
	struct bv_au_scan *x;
	const struct bv_scratch *sc;
};

/* Bytes nothing is learnt from, skipped in one step (up to 64): the status
 * line, the value of a header we do not read, the rest of a cookie that is
 * not a RUM one, and a RUM cookie's value. Stops before a byte that
 * matters: the line's end, and in a RUM cookie ';' and control bytes. */
static __always_inline int bv_au_skippable(const struct bv_au_scan *x)
{
	if (x->ls == AL_STATUS)
		return 1;
	if (x->ls != AL_VALUE)
		return 0;
	if (x->hk == AH_OTHER)
		return 1;
	return x->hk == AH_SETCOOKIE && (x->cs == AC_IGNORE || x->cs == AC_VALUE);
}

/* Word-at-a-time byte tests (exact as booleans): a byte < n (n <= 128), a
 * byte == n. */
#define BV_AU_ONES 0x0101010101010101ULL
#define BV_AU_HIGH 0x8080808080808080ULL
static __always_inline __u64 bv_au_hasless(__u64 w, __u64 n)
{
	return (w - BV_AU_ONES * n) & ~w & BV_AU_HIGH;
}

static __always_inline __u64 bv_au_hasbyte(__u64 w, __u64 n)
{
	return bv_au_hasless(w ^ (BV_AU_ONES * n), 1);
}

/* Whole 8-byte words without a byte that matters, up to 8 of them; the
 * rest goes byte by byte. buf has slack past BV_SCRATCH_LEN for the loads. */
static __always_inline __u32 bv_au_skip(const struct bv_au_scan *x, const struct bv_scratch *sc,
					__u32 pos)
{
	int cookie = x->ls == AL_VALUE && x->hk == AH_SETCOOKIE && x->cs == AC_VALUE;

	for (__u32 k = 0; k < 8; k++) {
		__u64 w, stop;

		if (pos + 8 > x->len)
			break;
		w = bv_ld64(sc, pos);
		if (cookie)
			stop = bv_au_hasless(w, 0x20) | bv_au_hasbyte(w, ';') | bv_au_hasbyte(w, 0x7f);
		else
			stop = bv_au_hasbyte(w, '\n') | bv_au_hasbyte(w, '\r');
		if (stop)
			break;
		pos += 8;
	}
	return pos;
}

static long bv_au_scan_cb(__u64 it, void *vctx)
{
	struct bv_au_scan_ctx *xc = vctx;
	struct bv_au_scan *x = xc->x;
	const struct bv_scratch *sc = xc->sc;
	__u32 i;
	char c;

	if (!sc || !x || x->pos >= x->len || x->pos >= BV_SCRATCH_LEN)
		return 1;
	i = x->pos;
	if (bv_au_skippable(x) && !x->cr) {
		__u32 n = bv_au_skip(x, sc, i);

		if (n > i) { /* (value bytes of no line whose bounds we keep) */
			x->pos = n;
			return 0;
		}
	}
	x->pos = i + 1;
	c = sc->buf[i & BV_MASK];

	if (c == '\n') {
		if (x->ls == AL_STATUS) {
			bv_au_line_reset(x);
			return 0;
		}
		if (x->empty) {
			x->head_end = i + 1;
			return 1;
		}
		if (x->hk == AH_SETCOOKIE) {
			bv_au_cookie_end(x);
			x->prev_sc = 1;
		} else {
			x->prev_sc = 0;
			x->prev_rec = 0;
		}
		if (x->hk == AH_DATE) {
			if (x->date_n++ == 0 && x->vend > x->vstart && x->vstart != 0xffff) {
				x->date_off = x->vstart;
				x->date_len = x->vend - x->vstart > 255 ? 255 :
					      (__u8)(x->vend - x->vstart);
			}
		}
		bv_au_line_reset(x);
		return 0;
	}
	if (x->ls == AL_STATUS)
		return 0;
	if (x->cr) {
		x->bad = 1; /* a bare CR */
		x->cr = 0;
	}
	if (c == '\r') {
		x->cr = 1;
		return 0;
	}
	if (x->empty) {
		x->empty = 0;
		/* obs-fold: this line continues the one before */
		if ((c == ' ' || c == '\t') && x->prev_sc && x->prev_rec && x->nrec > 0) {
			struct bv_au_rec *r = &x->rec[(x->nrec - 1) & (BV_AU_RECS - 1)];

			r->f |= AUR_BAD;
			x->prev_rec = 0;
		}
	}
	if (((__u8)c < 0x20 && c != '\t') || (__u8)c == 0x7f)
		x->bad = 1;

	switch (x->ls) {
	case AL_NAME:
		if (c == ':') {
			if (x->m_date && x->nlen == 4)
				x->hk = AH_DATE;
			else if (x->m_sc && x->nlen == 10)
				x->hk = AH_SETCOOKIE;
			x->ls = AL_VALUE;
			return 0;
		}
		{
			char l = bv_lower(c);
			__u8 n = x->nlen;

			if (n >= 4 || l != "date"[n & 3])
				x->m_date = 0;
			if (n >= 10 || l != "set-cookie"[n < 10 ? n : 0])
				x->m_sc = 0;
			if (x->nlen < 255)
				x->nlen++;
		}
		return 0;
	case AL_VALUE:
		if (x->hk == AH_SETCOOKIE)
			bv_au_cookie_char(x, i, c);
		if (c != ' ' && c != '\t') {
			if (x->vstart == 0xffff)
				x->vstart = (__u16)i;
			x->vend = (__u16)(i + 1);
		}
		return 0;
	}
	return 0;
}

/* The findings of one record as a mask of enum bv_au_kind bits. */
static __always_inline __u32 bv_au_judge(const struct bv_au_rec *r, __u32 flags, __u64 limit,
					 int date_ok, __s64 date, const struct bv_scratch *sc)
{
	__u32 m = (1u << BV_AU_SET) | (1u << (r->ss < BV_AU_MAX ? r->ss : BV_AU_SS_OTHER));
	int del = 0;

	if (r->f & AUR_MA) {
		del = !!(r->f & AUR_MA_DEL);
		if ((r->f & AUR_MA_LONG) && r->cookie == BV_AUC_RXVISITOR)
			m |= 1u << BV_AU_LIFETIME_LONG;
	} else if (r->f & AUR_EXP) {
		__s64 exp;

		if (!date_ok || bv_au_date_parse(sc, r->exp_off, r->exp_len, &exp) < 0) {
			if (r->cookie == BV_AUC_RXVISITOR)
				m |= 1u << BV_AU_LIFETIME_UNKNOWN;
		} else if (exp <= date) {
			del = 1;
		} else if ((__u64)(exp - date) > limit && r->cookie == BV_AUC_RXVISITOR) {
			m |= 1u << BV_AU_LIFETIME_LONG;
		}
	}
	/* a deletion (Max-Age <= 0, Expires not after Date) sets nothing */
	if (del)
		return m & ~(1u << BV_AU_LIFETIME_LONG);
	if (r->f & AUR_HTTPONLY)
		m |= 1u << BV_AU_HTTPONLY;
	if (!(r->f & AUR_SECURE)) {
		if (flags & BV_SETF_AUDIT_SECURE)
			m |= 1u << BV_AU_NO_SECURE;
		if (r->ss == BV_AU_SS_NONE)
			m |= 1u << BV_AU_NONE_INSECURE;
	}
	return m;
}

/* The judged records of a whole head, counted. */
BV_GLOBAL int bv_au_count_head(const struct bv_scratch *sc, const struct bv_audit_app *app,
			       __u32 flags)
{
	struct bv_au_work *w;
	struct bv_au_scan *x;
	__s64 date = 0;
	__u32 zero = 0;
	int date_ok;

	if (!sc || !app)
		return 0;
	w = bpf_map_lookup_elem(&bv_auwork, &zero);
	if (!w)
		return 0;
	x = &w->x;
	date_ok = x->date_n == 1 && bv_au_date_parse(sc, x->date_off, x->date_len, &date) == 0;
	bv_audit_add(app, BV_AUC_NONE, 1u << BV_AU_RESPONSES);
	for (__u32 k = 0; k < BV_AU_RECS; k++) {
		struct bv_au_rec *r = &x->rec[k];

		if (k >= x->nrec)
			break;
		if (r->f & AUR_BAD) {
			x->nincomplete_ck[r->cookie & (BV_AUC_MAX - 1)]++;
			continue;
		}
		bv_audit_add(app, r->cookie, bv_au_judge(r, flags, x->limit, date_ok, date, sc));
	}
	/* incomplete counts responses: once per cookie with a line not judged */
	for (__u32 k = 0; k < BV_AUC_MAX; k++)
		if (x->nincomplete_ck[k])
			bv_audit_add(app, k, 1u << BV_AU_INCOMPLETE);
	return 0;
}

/*
 * A server->client TCP segment of an audited port (mirror/pcap). pkey: the
 * packet's own key (its source in client[]); portbits: bv_ports of its
 * source port. Reads only; never changes the packet or its verdict.
 */
BV_GLOBAL int bv_audit_response(struct xdp_md *ctx, const struct bv_pkt *p,
				struct bv_scratch *sc, const struct bv_flow_key *pkey,
				__u32 portbits)
{
	struct bv_au_scan_ctx xc = { .sc = sc };
	struct bv_flow_key *ck;
	struct bv_au_work *w;
	struct bv_au_scan *x;
	struct bv_audit_flow *af;
	struct bv_audit_app *app;
	struct bv_settings *st;
	void *data, *data_end;
	struct tcphdr *th;
	__u32 zero = 0, n, seq, flags, rvcl;

	if (!ctx || !p || !sc || !pkey)
		return 0;
	st = bpf_map_lookup_elem(&bv_settings, &zero);
	if (!st || !(st->flags & BV_SETF_AUDIT))
		return 0;
	flags = st->flags;
	if (!(portbits & BV_PORT_BEACON) && !(portbits & BV_PORT_AUDIT))
		return 0;
	if (p->pl_len < 12)
		return 0; /* too short to say it is a response head */
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	th = data + (p->l4_off & BV_L4_OFF_MASK);
	if ((void *)(th + 1) > data_end)
		return 0;
	seq = bpf_ntohl(th->seq);
	w = bpf_map_lookup_elem(&bv_auwork, &zero);
	if (!w)
		return 0;
	/* the connection as bv_flows and bv_auflow know it: client->server */
	ck = &w->ck;
	__builtin_memset(ck, 0, sizeof(*ck));
	__builtin_memcpy(ck->client, pkey->server, sizeof(ck->client));
	__builtin_memcpy(ck->server, pkey->client, sizeof(ck->server));
	ck->cport = pkey->sport;
	ck->sport = pkey->cport;
	ck->family = pkey->family;

	n = p->pl_len > BV_SCRATCH_LEN ? BV_SCRATCH_LEN : p->pl_len;
	if (n < 1)
		n = 1;
	if (bpf_xdp_load_bytes(ctx, p->pl_off, sc->buf, n))
		return 0;
	/* "HTTP/1.x " starts a response head; anything else is not read */
	if (!BV_AU_EQ(sc->buf, "HTTP/1.") || sc->buf[7] < '0' || sc->buf[7] > '9' ||
	    sc->buf[8] != ' ')
		return 0;

	af = bpf_map_lookup_elem(&bv_auflow, ck);
	if (af && af->resp_seen && af->resp_seq == seq)
		return 0; /* this response was counted: a retransmission */
	app = &w->app;
	if (af && af->app.by != BV_AUBY_OVERFLOW) {
		*app = af->app;
	} else {
		__builtin_memset(app, 0, sizeof(*app));
		app->by = BV_AUBY_PORT;
		app->len = 2;
		__builtin_memcpy(app->id, &ck->sport, 2); /* network order */
	}

	rvcl = (flags & BV_SETF_RVCL_MASK) >> BV_SETF_RVCL_SHIFT;
	if (rvcl < 1 || rvcl > BV_RVCL_MAX)
		rvcl = BV_RVCL_DEFAULT;
	x = &w->x;
	__builtin_memset(x, 0, sizeof(*x));
	x->len = n;
	x->limit = (__u64)rvcl * BV_MONTH_SECONDS;
	x->ls = AL_STATUS;
	xc.x = x;
	bpf_loop(BV_SCRATCH_LEN, bv_au_scan_cb, &xc, 0);
	if (!x->head_end) /* cut by the segment's end (or longer than we read) */
		bv_audit_add(app, BV_AUC_NONE, 1u << BV_AU_INCOMPLETE);
	else
		bv_au_count_head(sc, app, flags);

	if (af) {
		af->resp_seq = seq;
		af->resp_seen = 1;
	} else {
		struct bv_audit_flow nf = { .resp_seq = seq, .resp_seen = 1 };

		nf.app = *app;
		bpf_map_update_elem(&bv_auflow, ck, &nf, BPF_ANY);
	}
	return 0;
}

#endif /* BV_AUDIT_H */
