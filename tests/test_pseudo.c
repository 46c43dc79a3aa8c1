/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Pseudonym characters (bpf/bv_pseudo.h) compiled as plain C: the 8-byte
 * path the span replacement takes (bv_pseudo_map8) gives, byte for byte,
 * what the one-character path (bv_pseudo_byte) gives, for every pair of
 * original and random byte in every lane; and the one-character mapping
 * keeps the form of what it replaces.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif
#include "../bpf/bv_pseudo.h"

static uint64_t rng = 0x243f6a8885a308d3ULL;

static uint64_t next64(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Every (original, random) byte pair in every lane, the other lanes random. */
static void test_map8_equals_bytes(void **state)
{
	(void)state;
	for (unsigned lane = 0; lane < 8; lane++) {
		for (unsigned c = 0; c < 256; c++) {
			for (unsigned b = 0; b < 256; b++) {
				uint64_t orig = next64(), word = next64(), out;

				orig = (orig & ~(0xffULL << (8 * lane))) | ((uint64_t)c << (8 * lane));
				word = (word & ~(0xffULL << (8 * lane))) | ((uint64_t)b << (8 * lane));
				out = bv_pseudo_map8(word, orig);
				for (unsigned k = 0; k < 8; k++) {
					unsigned o = (unsigned)(orig >> (8 * k)) & 0xff;
					unsigned r = (unsigned)(word >> (8 * k)) & 0xff;
					unsigned got = (unsigned)(out >> (8 * k)) & 0xff;

					if (got != bv_pseudo_byte(o, r))
						fail_msg("lane %u: orig 0x%02x random 0x%02x: 8-byte path 0x%02x, "
							 "one-byte path 0x%02x", k, o, r, got, bv_pseudo_byte(o, r));
				}
			}
		}
	}
}

/* Digits stay digits, letters keep their case, anything else is kept; every
 * digit and letter of the class is reachable. */
static void test_byte_keeps_form(void **state)
{
	(void)state;
	for (unsigned c = 0; c < 256; c++) {
		unsigned seen = 0, want;

		for (unsigned b = 0; b < 256; b++) {
			unsigned o = bv_pseudo_byte(c, b);

			if (c >= '0' && c <= '9') {
				assert_true(o >= '0' && o <= '9');
				seen |= 1u << (o - '0');
			} else if (c >= 'a' && c <= 'z') {
				assert_true(o >= 'a' && o <= 'z');
				seen |= 1u << (o - 'a');
			} else if (c >= 'A' && c <= 'Z') {
				assert_true(o >= 'A' && o <= 'Z');
				seen |= 1u << (o - 'A');
			} else {
				assert_int_equal(o, c);
			}
		}
		want = (c >= '0' && c <= '9') ? 0x3ffu :
		       ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) ? 0x3ffffffu : 0;
		assert_int_equal(seen, want);
	}
}

/* The character path over a word (bv_pseudo_map) is the same byte mapping. */
static void test_map_is_byte_of_word(void **state)
{
	(void)state;
	for (int n = 0; n < 100000; n++) {
		uint64_t w = next64();
		uint32_t j = (uint32_t)next64();
		unsigned c = (unsigned)next64() & 0xff;

		assert_int_equal((unsigned char)bv_pseudo_map(w, j, (char)c),
				 bv_pseudo_byte(c, (unsigned)(w >> (8 * (j % 8))) & 0xff));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_map8_equals_bytes),
		cmocka_unit_test(test_byte_keeps_form),
		cmocka_unit_test(test_map_is_byte_of_word),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
