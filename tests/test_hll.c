/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * HyperLogLog (user/hll.c): estimates on known cardinalities from 1 k to
 * 1 M within three standard errors (1.04/sqrt(m)), no bias across seeds,
 * duplicates ignored, merge = union, the occupied-register lower bound.
 * Deterministic: inputs come from a fixed splitmix64 stream.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "hll.h"

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double rel_err(unsigned p, uint64_t n, uint64_t seed)
{
	struct bv_hll h;
	double e;

	assert_int_equal(bv_hll_init(&h, p), 0);
	for (uint64_t i = 0; i < n; i++)
		bv_hll_add(&h, splitmix64(&seed));
	e = bv_hll_estimate(&h);
	bv_hll_free(&h);
	return (e - (double)n) / (double)n;
}

/* The brief's check: p = 14, several cardinalities 1 k .. 1 M, each within
 * 3 standard errors. 40 k sits where classic HLL switches from linear
 * counting and is biased; the improved estimator must not be. */
static void test_error_within_3se(void **state)
{
	static const uint64_t ns[] = { 1000, 2000, 5000, 10000, 20000, 40000, 50000,
				       80000, 100000, 250000, 500000, 1000000 };
	double se = bv_hll_std_error(14);

	(void)state;
	assert_true(fabs(se - 1.04 / 128.0) < 1e-12);
	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		double e = rel_err(14, ns[i], 0x5eed0000 + i);

		printf("  n=%-8llu relative error %+.4f (3 SE = %.4f)\n",
		       (unsigned long long)ns[i], e, 3 * se);
		assert_true(fabs(e) <= 3 * se);
	}
}

/* Other precisions too, on the cardinalities where they matter. */
static void test_error_other_p(void **state)
{
	static const unsigned ps[] = { 10, 12, 16 };
	static const uint64_t ns[] = { 1000, 10000, 100000 };

	(void)state;
	for (size_t a = 0; a < 3; a++)
		for (size_t b = 0; b < 3; b++) {
			double e = rel_err(ps[a], ns[b], 0xabc000 + a * 7 + b);

			assert_true(fabs(e) <= 3 * bv_hll_std_error(ps[a]));
		}
}

/* Unbiased: the mean error over 32 seeds is within 3 standard errors of
 * the mean (SE / sqrt(32)), at small, transition and large n. */
static void test_no_bias(void **state)
{
	static const uint64_t ns[] = { 500, 2500, 5000, 10000, 50000 };
	const unsigned p = 10, runs = 32;
	double se = bv_hll_std_error(p);

	(void)state;
	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		double sum = 0;

		for (unsigned r = 0; r < runs; r++)
			sum += rel_err(p, ns[i], 0xb1a5000 + 1000 * i + r);
		assert_true(fabs(sum / runs) <= 3 * se / sqrt((double)runs));
	}
}

static void test_small_and_empty(void **state)
{
	struct bv_hll h;
	uint64_t seed = 42;

	(void)state;
	assert_int_equal(bv_hll_init(&h, 14), 0);
	assert_true(bv_hll_estimate(&h) == 0.0);
	assert_int_equal(bv_hll_occupied(&h), 0);
	for (int n = 1; n <= 100; n++) {
		bv_hll_add(&h, splitmix64(&seed));
		/* Small sets: essentially exact, and the lower bound holds. */
		assert_true(fabs(bv_hll_estimate(&h) - n) < 0.5 + 0.01 * n);
		assert_true(bv_hll_occupied(&h) <= (uint32_t)n);
	}
	bv_hll_clear(&h);
	assert_true(bv_hll_estimate(&h) == 0.0);
	bv_hll_free(&h);
	assert_null(h.reg);
	bv_hll_free(&h);   /* twice is harmless */
}

static void test_duplicates_and_merge(void **state)
{
	struct bv_hll a, b, u;
	uint64_t s;
	double e1;

	(void)state;
	assert_int_equal(bv_hll_init(&a, 12), 0);
	assert_int_equal(bv_hll_init(&b, 12), 0);
	assert_int_equal(bv_hll_init(&u, 12), 0);
	s = 1;
	for (int i = 0; i < 30000; i++)
		bv_hll_add(&a, splitmix64(&s));
	e1 = bv_hll_estimate(&a);
	s = 1;   /* the same 30000 again: nothing changes */
	for (int i = 0; i < 30000; i++)
		bv_hll_add(&a, splitmix64(&s));
	assert_true(bv_hll_estimate(&a) == e1);

	for (int i = 0; i < 20000; i++)   /* 20000 others */
		bv_hll_add(&b, splitmix64(&s));
	assert_int_equal(bv_hll_merge(&u, &a), 0);
	assert_int_equal(bv_hll_merge(&u, &b), 0);
	assert_true(fabs(bv_hll_estimate(&u) - 50000) <= 3 * bv_hll_std_error(12) * 50000);
	/* merging a sketch into itself, or a superset: no change */
	e1 = bv_hll_estimate(&u);
	assert_int_equal(bv_hll_merge(&u, &a), 0);
	assert_true(bv_hll_estimate(&u) == e1);
	bv_hll_free(&b);
	assert_int_equal(bv_hll_init(&b, 10), 0);
	assert_int_equal(bv_hll_merge(&u, &b), -1);   /* different p */
	assert_int_equal(errno, EINVAL);
	bv_hll_free(&a);
	bv_hll_free(&b);
	bv_hll_free(&u);
}

/* Sequential inputs (not hashes) are mixed first: still accurate. */
static void test_sequential_inputs(void **state)
{
	struct bv_hll h;

	(void)state;
	assert_int_equal(bv_hll_init(&h, 14), 0);
	for (uint64_t i = 1; i <= 200000; i++)
		bv_hll_add(&h, i);
	assert_true(fabs(bv_hll_estimate(&h) - 200000) <= 3 * bv_hll_std_error(14) * 200000);
	bv_hll_free(&h);
}

static void test_bad_precision(void **state)
{
	struct bv_hll h;

	(void)state;
	errno = 0;
	assert_int_equal(bv_hll_init(&h, 3), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(bv_hll_init(&h, 19), -1);
	assert_int_equal(bv_hll_init(&h, 4), 0);
	assert_int_equal(h.m, 16);
	bv_hll_free(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_error_within_3se),
		cmocka_unit_test(test_error_other_p),
		cmocka_unit_test(test_no_bias),
		cmocka_unit_test(test_small_and_empty),
		cmocka_unit_test(test_duplicates_and_merge),
		cmocka_unit_test(test_sequential_inputs),
		cmocka_unit_test(test_bad_precision),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
