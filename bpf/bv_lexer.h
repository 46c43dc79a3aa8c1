/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The request scanner's vocabulary: its states, the kinds of header lines
 * and values it tells apart, and the small helpers every part of it uses
 * (counting, rewriting one byte of the scratch copy, the token register).
 */
#ifndef BV_LEXER_H
#define BV_LEXER_H

#include "bv_maps.h"
#include "bv_csum.h"

#define BV_MASK (BV_SCRATCH_LEN - 1)

/*
 * Words of the scratch copy at any byte offset (masked; buf has slack past
 * BV_SCRATCH_LEN). The address is formed as an integer on purpose: from
 * `*(__u64 *)&sc->buf[i]` clang keeps buf's alignment of 1 and the BPF
 * backend splits the load into 8 byte loads and 14 shifts and ors. One
 * unaligned ldxdw is what x86 and the verifier (no strict alignment on this
 * arch) take as it is.
 */
static __always_inline __u64 bv_ld64(const struct bv_scratch *sc, __u32 off)
{
	return *(const __u64 *)((unsigned long)sc->buf + (off & BV_MASK));
}

static __always_inline __u32 bv_ld32(const struct bv_scratch *sc, __u32 off)
{
	return *(const __u32 *)((unsigned long)sc->buf + (off & BV_MASK));
}

static __always_inline void bv_st64(struct bv_scratch *sc, __u32 off, __u64 w)
{
	*(__u64 *)((unsigned long)sc->buf + (off & BV_MASK)) = w;
}

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
	LX_MIDSTREAM, /* a connection picked up mid-way (bv_midstream.h) */
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

#endif /* BV_LEXER_H */
