/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Pseudonym characters: the replacement of an identifier keeps its form
 * (digits stay digits, letters their case, separators stay), its bytes
 * drawn from a keyed seed (bv_hash.h, bv_seed). Pure arithmetic, no state:
 * tests/test_pseudo.c compiles it as plain C and checks the 8-byte path
 * against the one-byte one.
 */
#ifndef BV_PSEUDO_H
#define BV_PSEUDO_H

#include <linux/types.h>

/* splitmix64 finaliser: the k-th pseudonym character from a seed. */
static __always_inline __u64 bv_mix64(__u64 z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Pseudonym characters: character j takes byte j % 8 of the (j / 8)-th word
 * of the seed's stream, so one mixed word serves 8 characters. */
static __always_inline __u64 bv_pseudo_word(__u64 seed, __u32 j)
{
	return bv_mix64(seed + (__u64)(j / 8 + 1) * 0x9e3779b97f4a7c15ULL);
}

/* 0 - 1 when lo <= c < lo + n, else 0, for a byte c, without a branch. */
static __always_inline __u32 bv_in_mask(__u32 c, __u32 lo, __u32 n)
{
	__u32 t = c - lo, in = ((t >> 31) ^ 1) & ((t - n) >> 31);

	__asm__ __volatile__("" : "+r"(in)); /* stay arithmetic: no select, no branch */
	return 0 - in;
}

/* Class-preserving: digits stay digits, letters keep their case, anything
 * else (separators) is kept, so the replacement has the original's form;
 * (b * n) >> 8 maps the random byte b onto [0, n) without a division.
 * Branch-free, so that the verifier walks it once wherever it is used. */
static __always_inline __u32 bv_pseudo_byte(__u32 c, __u32 b)
{
	__u32 md = bv_in_mask(c, '0', 10), ml = bv_in_mask(c, 'a', 26), mu = bv_in_mask(c, 'A', 26);

	return ((c & ~(md | ml | mu)) | (('0' + ((b * 10) >> 8)) & md) |
		(('a' + ((b * 26) >> 8)) & ml) | (('A' + ((b * 26) >> 8)) & mu)) & 0xff;
}

/* Character j of an identifier: byte j % 8 of its pseudonym word. */
static __always_inline char bv_pseudo_map(__u64 word, __u32 j, char orig)
{
	return (char)bv_pseudo_byte((__u8)orig, (__u32)(word >> (8 * (j % 8))) & 0xff);
}

/* 0x80 in each byte of w that lies in [lo, lo + n), for ASCII ranges:
 * the high bit cleared, each byte plus (0x80 - bound) carries into its own
 * 0x80 bit only (at most 0x7f + 0x80), so no lane borrows from another. */
static __always_inline __u64 bv_in8(__u64 w, __u32 lo, __u32 n)
{
	const __u64 ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
	__u64 x = w & ~highs;
	__u64 ge_lo = x + (0x80 - lo) * ones, ge_hi = x + (0x80 - lo - n) * ones;

	return ge_lo & ~ge_hi & ~w & highs;
}

/* (b * n) >> 8 for each byte b of r: the even and the odd bytes in 16-bit
 * lanes, where b * n (n <= 26) never reaches the next lane. */
static __always_inline __u64 bv_scale8(__u64 r, __u64 n)
{
	const __u64 lanes = 0x00ff00ff00ff00ffULL;

	return (((r & lanes) * n) >> 8 & lanes) | ((((r >> 8) & lanes) * n) & ~lanes);
}

/* bv_pseudo_byte on the 8 bytes of orig with the 8 random bytes of word at
 * once, byte for byte the same result (tests/test_pseudo.c checks it). */
static __always_inline __u64 bv_pseudo_map8(__u64 word, __u64 orig)
{
	const __u64 ones = 0x0101010101010101ULL;
	__u64 md = (bv_in8(orig, '0', 10) >> 7) * 0xff, ml = (bv_in8(orig, 'a', 26) >> 7) * 0xff,
	      mu = (bv_in8(orig, 'A', 26) >> 7) * 0xff, d = bv_scale8(word, 10) + '0' * ones,
	      l = bv_scale8(word, 26);

	return (orig & ~(md | ml | mu)) | (d & md) | ((l + 'a' * ones) & ml) | ((l + 'A' * ones) & mu);
}

static __always_inline char bv_pseudo_char(__u64 seed, __u32 j, char orig)
{
	return bv_pseudo_map(bv_pseudo_word(seed, j), j, orig);
}

#endif /* BV_PSEUDO_H */
