/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Figures read from the kernel's pinned maps instead of being counted by the
 * daemon, so that a restart (clean or SIGKILL) loses none: decisions per
 * ingress interface (bv_ifdec) and events read from the ring buffer
 * (bv_events' own consumer position). The daemon's /metrics and
 * `beaconveil stats` both use them.
 */
#ifndef BV_KCOUNTS_H
#define BV_KCOUNTS_H

#include <stddef.h>
#include <net/if.h>
#include <linux/bpf.h>
#include <linux/types.h>
#include "bv_abi.h"

/* One row of bv_ifdec, summed over CPUs. */
struct bv_ifdec_row {
	__u32 ifindex;              /* BV_IFDEC_OVERFLOW: interfaces that found the map full */
	__u64 dec[BV_DEC_MAX];
};

/*
 * Every row of bv_ifdec (fd), sorted by ifindex, so the overflow row comes
 * first when it is there. *rows is malloc'ed (free it), *n rows.
 * 0 ok; -1 with errno.
 */
int bv_ifdec_read(int fd, struct bv_ifdec_row **rows, size_t *n);

/* A row of bv_ifdec under its interface's name. */
struct bv_ifdec_named {
	char name[IF_NAMESIZE + 16];
	__u64 dec[BV_DEC_MAX];
};

/*
 * bv_ifdec by interface name, as /metrics and `stats` show it: an index
 * without a name any more (gone) is "ifindex_N", the overflow row
 * ":overflow" (no interface name has a ':') and only once it counted
 * something. Rows of one name (an interface re-created, two indexes) are
 * summed. names[0..nnames) (may be NULL) are listed too, with zeros when
 * they have no row yet. *rows malloc'ed. 0 ok; -1 with errno.
 */
int bv_ifdec_named(int fd, const char *const *names, int nnames, struct bv_ifdec_named **rows,
		   size_t *n);

/*
 * Every record in bv_events is one struct bv_event: the kernel's header and
 * the event, 8-byte aligned. Its size must not change while a ring is
 * pinned (the counts below are positions divided by it).
 */
#define BV_EVENT_RECORD ((sizeof(struct bv_event) + BPF_RINGBUF_HDR_SZ + 7) & ~(size_t)7)

/*
 * Events in bv_events (fd) since the map was made: *received were read by a
 * daemon (the consumer position, which libbpf moves past a record only
 * after handling it), *pending wait to be read. 0 ok; -1 with errno.
 */
int bv_events_counts(int fd, __u64 *received, __u64 *pending);

#endif /* BV_KCOUNTS_H */
