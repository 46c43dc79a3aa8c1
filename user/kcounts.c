/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Figures read from the kernel's pinned maps; see kcounts.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "percpu_rows.h"
#include "kcounts.h"

_Static_assert(BV_EVENT_RECORD == 80, "struct bv_event changed size: the pinned "
	       "bv_events positions count records of the old size");

static int cmp_row(const void *a, const void *b)
{
	__u32 x = ((const struct bv_ifdec_row *)a)->ifindex;
	__u32 y = ((const struct bv_ifdec_row *)b)->ifindex;

	return x < y ? -1 : x > y;
}

int bv_ifdec_read(int fd, struct bv_ifdec_row **rows, size_t *n)
{
	void *r = NULL;
	int ret = bv_percpu_rows(fd, sizeof(__u32), BV_DEC_MAX, sizeof(**rows),
				 offsetof(struct bv_ifdec_row, dec), cmp_row, &r, n);

	*rows = r;
	return ret;
}

int bv_ifdec_named(int fd, const char *const *names, int nnames, struct bv_ifdec_named **rows,
		   size_t *n)
{
	struct bv_ifdec_row *k;
	struct bv_ifdec_named *r;
	size_t nk, cap, got = 0;

	*rows = NULL;
	*n = 0;
	if (bv_ifdec_read(fd, &k, &nk))
		return -1;
	cap = nk + (names && nnames > 0 ? (size_t)nnames : 0);
	r = calloc(cap ? cap : 1, sizeof(*r));
	if (!r) {
		free(k);
		errno = ENOMEM;
		return -1;
	}
	for (size_t i = 0; i < cap; i++) {
		char lab[sizeof(r->name)], ifname[IF_NAMESIZE];
		const __u64 *dec = NULL;
		size_t j;

		if (i < nk) {
			__u64 any = 0;

			dec = k[i].dec;
			for (int d = 0; d < BV_DEC_MAX; d++)
				any |= dec[d];
			if (k[i].ifindex == BV_IFDEC_OVERFLOW && !any)
				continue;
			if (k[i].ifindex == BV_IFDEC_OVERFLOW)
				snprintf(lab, sizeof(lab), ":overflow");
			else if (if_indextoname(k[i].ifindex, ifname))
				snprintf(lab, sizeof(lab), "%s", ifname);
			else
				snprintf(lab, sizeof(lab), "ifindex_%u", k[i].ifindex);
		} else {
			const char *nm = names[i - nk];

			if (!nm || !*nm)
				continue;
			snprintf(lab, sizeof(lab), "%s", nm);
		}
		for (j = 0; j < got && strcmp(r[j].name, lab); j++)
			;
		if (j == got)
			memcpy(r[got++].name, lab, sizeof(lab));
		for (int d = 0; dec && d < BV_DEC_MAX; d++)
			r[j].dec[d] += dec[d];
	}
	free(k);
	*rows = r;
	*n = got;
	return 0;
}

/* The unsigned long at the start of page pgoff of the ring buffer map. */
static int ring_pos(int fd, long page, off_t pgoff, unsigned long *pos)
{
	void *p = mmap(NULL, (size_t)page, PROT_READ, MAP_SHARED, fd, pgoff * page);

	if (p == MAP_FAILED)
		return -1;
	*pos = __atomic_load_n((unsigned long *)p, __ATOMIC_ACQUIRE);
	munmap(p, (size_t)page);
	return 0;
}

int bv_events_counts(int fd, __u64 *received, __u64 *pending)
{
	long page = sysconf(_SC_PAGESIZE);
	unsigned long cons, prod;

	/* page 0: the consumer position, page 1: the producer's */
	if (page <= 0 || ring_pos(fd, page, 0, &cons) || ring_pos(fd, page, 1, &prod))
		return -1;
	*received = cons / BV_EVENT_RECORD;
	*pending = prod > cons ? (prod - cons) / BV_EVENT_RECORD : 0;
	return 0;
}
