/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Reading a per-CPU hash of counters (bv_ifdec, bv_audit): every entry,
 * its counters summed over the CPUs, into the caller's own row struct.
 */
#ifndef BV_PERCPU_ROWS_H
#define BV_PERCPU_ROWS_H

#include <stddef.h>

/*
 * Every entry of the per-CPU hash fd whose key is key_size bytes and whose
 * value is nvals __u64 counters. Each row (row_size bytes, malloc'ed array
 * in *rows, *n of them) is the key at offset 0 and the sums at sums_off,
 * sorted by cmp and one per key (a key deleted under the walk restarts it,
 * which repeats keys). 0 ok; -1 with errno (EINVAL: the map's key or value
 * size is not the one given, i.e. another version's layout).
 */
int bv_percpu_rows(int fd, size_t key_size, size_t nvals, size_t row_size, size_t sums_off,
		   int (*cmp)(const void *, const void *), void **rows, size_t *n);

#endif /* BV_PERCPU_ROWS_H */
