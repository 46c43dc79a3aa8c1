/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* A per-CPU hash of counters, summed per key; see percpu_rows.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/types.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "percpu_rows.h"

int bv_percpu_rows(int fd, size_t key_size, size_t nvals, size_t row_size, size_t sums_off,
		   int (*cmp)(const void *, const void *), void **rows, size_t *n)
{
	struct bpf_map_info info;
	__u32 ilen = sizeof(info);
	int ncpu = libbpf_num_possible_cpus();
	unsigned char key[256], prev_key[256], *r = NULL;
	const void *prev = NULL;
	__u64 *v = NULL;
	size_t got = 0, uniq = 0;
	int e = 0;

	*rows = NULL;
	*n = 0;
	memset(&info, 0, sizeof(info));
	if (ncpu <= 0 || key_size > sizeof(key) || sums_off + nvals * sizeof(__u64) > row_size ||
	    bpf_obj_get_info_by_fd(fd, &info, &ilen))
		return -1;
	if (info.key_size != key_size || info.value_size != nvals * sizeof(__u64)) {
		errno = EINVAL; /* another version's layout */
		return -1;
	}
	r = calloc(info.max_entries ? info.max_entries : 1, row_size);
	v = calloc((size_t)ncpu * nvals, sizeof(*v));
	if (!r || !v) {
		e = ENOMEM;
		goto out;
	}
	/* Bounded: a key deleted under the walk restarts it. */
	for (size_t steps = 0; got < info.max_entries && steps <= 2 * (size_t)info.max_entries;
	     steps++) {
		unsigned char *row = r + got * row_size;
		__u64 *sums = (__u64 *)(void *)(row + sums_off);

		if (bpf_map_get_next_key(fd, prev, key))
			break;
		memcpy(prev_key, key, key_size);
		prev = prev_key;
		if (bpf_map_lookup_elem(fd, key, v)) {
			if (errno == ENOENT)
				continue;
			e = errno;
			goto out;
		}
		memset(row, 0, row_size);
		memcpy(row, key, key_size);
		for (int c = 0; c < ncpu; c++)
			for (size_t k = 0; k < nvals; k++)
				sums[k] += v[(size_t)c * nvals + k];
		got++;
	}
	qsort(r, got, row_size, cmp);
	for (size_t i = 0; i < got; i++) /* a restarted walk repeats keys */
		if (!uniq || memcmp(r + i * row_size, r + (uniq - 1) * row_size, key_size))
			memmove(r + uniq++ * row_size, r + i * row_size, row_size);
	*rows = r;
	*n = uniq;
	r = NULL;
out:
	free(r);
	free(v);
	if (e) {
		errno = e;
		return -1;
	}
	return 0;
}
