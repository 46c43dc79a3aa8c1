/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * bv-attach: the tiny loader of the live benchmark (tools/bench/live.sh),
 * standing in for `beaconveil run` until that exists.
 *
 *   bv-attach [--empty] [--skb] [--no-libxdp] [--max-flows N] [--timeout S] IFACE
 *
 * Opens the beaconveil skeleton (inline mode, maps not pinned) or, with
 * --empty, the reference program of bpf/empty.bpf.c, hands the unloaded
 * object to libxdp, which loads it and attaches it in native mode through
 * the multiprog dispatcher (so libxdp needs a bpffs at /sys/fs/bpf in this
 * mount namespace), and writes the default configuration (beacon ports 80
 * and 8080, the default policy) into the maps. --no-libxdp attaches the
 * program directly with bpf_xdp_attach() instead.
 *
 * Prints "attach HOW" (libxdp-dispatcher-native, or
 * libxdp-single-program-native when the kernel refuses libxdp's dispatcher
 * and libxdp falls back to attaching the program alone) and "ready" when
 * attached. Then it drains the event ring as the
 * daemon will and samples the packet counter (bv_stats[BV_ST_PKTS], or
 * the empty program's counter, summed over CPUs) every millisecond,
 * remembering when it first and last moved. On SIGTERM/SIGINT, or after
 * --timeout seconds (default 120), it detaches and prints "name value"
 * lines: pkts, first_ns, last_ns (CLOCK_MONOTONIC of the first and last
 * sample that saw the counter move), then every counter of bv_stats.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "bv_abi.h"
#include "config.h"
#include "loader.h"
#include "beaconveil.skel.h"
#include "empty.skel.h"

static volatile sig_atomic_t stop;

static void on_sig(int s)
{
	(void)s;
	stop = 1;
}

static int rb_discard(void *ctx, void *data, size_t len)
{
	(void)ctx;
	(void)data;
	(void)len;
	return 0;
}

/* libbpf and libxdp: warnings only, on stderr (bench.sh keeps it in its log) */
static int print_libbpf(enum libbpf_print_level l, const char *fmt, va_list ap)
{
	return l == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

static int print_libxdp(enum libxdp_print_level l, const char *fmt, va_list ap)
{
	return l == LIBXDP_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
}

/* key 0..n of a per-CPU u64 array, summed over CPUs */
static __u64 percpu_sum(int fd, __u32 key)
{
	static __u64 *v;
	static int ncpu;
	__u64 s = 0;

	if (!v) {
		ncpu = libbpf_num_possible_cpus();
		v = calloc((size_t)(ncpu > 0 ? ncpu : 1), sizeof(*v));
		if (!v || ncpu <= 0)
			return 0;
	}
	if (bpf_map_lookup_elem(fd, &key, v))
		return 0;
	for (int c = 0; c < ncpu; c++)
		s += v[c];
	return s;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: bv-attach [--empty] [--skb] [--no-libxdp] [--max-flows N] [--timeout S] IFACE\n");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "empty", no_argument, NULL, 'e' },      { "skb", no_argument, NULL, 's' },
		{ "no-libxdp", no_argument, NULL, 'L' },  { "max-flows", required_argument, NULL, 'f' },
		{ "timeout", required_argument, NULL, 't' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool empty = false, skb = false, use_libxdp = true;
	unsigned max_flows = 0, timeout_s = 120;
	struct beaconveil_bpf *bv = NULL;
	struct empty_bpf *em = NULL;
	struct bpf_object *obj;
	struct bpf_program *bprog;
	struct xdp_program *xp = NULL;
	struct ring_buffer *rb = NULL;
	enum xdp_attach_mode mode;
	int c, ifindex, err, cnt_fd, prog_fd;
	__u32 cnt_key;
	__u64 first = 0, last = 0, prev, cur, t_end;
	char msg[1024];

	while ((c = getopt_long(argc, argv, "esLf:t:h", lo, NULL)) != -1) {
		switch (c) {
		case 'e': empty = true; break;
		case 's': skb = true; break;
		case 'L': use_libxdp = false; break;
		case 'f': max_flows = (unsigned)strtoul(optarg, NULL, 0); break;
		case 't': timeout_s = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind + 1 != argc) {
		usage(stderr);
		return 2;
	}
	ifindex = (int)if_nametoindex(argv[optind]);
	if (!ifindex) {
		fprintf(stderr, "bv-attach: unknown interface %s\n", argv[optind]);
		return 1;
	}
	mode = skb ? XDP_MODE_SKB : XDP_MODE_NATIVE;
	libbpf_set_print(print_libbpf);
	libxdp_set_print(print_libxdp);

	if (empty) {
		em = empty_bpf__open();
		if (!em) {
			fprintf(stderr, "bv-attach: opening the empty program: %s\n", strerror(errno));
			return 1;
		}
		obj = em->obj;
		bprog = em->progs.empty_xdp;
	} else {
		struct bpf_map *m;

		bv = beaconveil_bpf__open();
		if (!bv) {
			fprintf(stderr, "bv-attach: opening beaconveil: %s\n", strerror(errno));
			return 1;
		}
		bv->rodata->bv_mode = BV_MODE_INLINE;
		if (max_flows && bpf_map__set_max_entries(bv->maps.bv_flows, max_flows)) {
			fprintf(stderr, "bv-attach: cannot size bv_flows\n");
			return 1;
		}
		/* nothing of ours is pinned: the maps live as long as this process */
		bpf_object__for_each_map(m, bv->obj)
			bpf_map__set_pin_path(m, NULL);
		obj = bv->obj;
		bprog = bv->progs.beaconveil_xdp;
	}

	if (use_libxdp) {
		xp = xdp_program__from_bpf_obj(obj, NULL);
		err = libxdp_get_error(xp);
		if (err) {
			libxdp_strerror(err, msg, sizeof(msg));
			fprintf(stderr, "bv-attach: libxdp: %s\n", msg);
			return 1;
		}
		err = xdp_program__attach(xp, ifindex, mode, 0);
		if (err) {
			libxdp_strerror(err, msg, sizeof(msg));
			fprintf(stderr, "bv-attach: attaching to %s in %s mode: %s\n", argv[optind],
				skb ? "skb" : "native", msg);
			return 1;
		}
	} else {
		err = bpf_object__load(obj);
		if (!err)
			err = bpf_xdp_attach(ifindex, bpf_program__fd(bprog),
					     skb ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE, NULL);
		if (err) {
			fprintf(stderr, "bv-attach: loading/attaching: %s\n", strerror(-err));
			return 1;
		}
	}
	prog_fd = bpf_program__fd(bprog);
	(void)prog_fd;
	/* how it ended up attached: libxdp falls back to a lone program
	 * when the kernel refuses its dispatcher (freplace) */
	if (use_libxdp) {
		struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(ifindex);

		if (!libxdp_get_error(mp) && mp)
			snprintf(msg, sizeof(msg), "libxdp-%s-%s",
				 xdp_multiprog__is_legacy(mp) ? "single-program" : "dispatcher",
				 skb ? "skb" : "native");
		else
			snprintf(msg, sizeof(msg), "libxdp-%s", skb ? "skb" : "native");
	} else {
		snprintf(msg, sizeof(msg), "bpf_xdp_attach-%s", skb ? "skb" : "native");
	}

	if (empty) {
		cnt_fd = bpf_map__fd(em->maps.empty_cnt);
		cnt_key = 0;
	} else {
		struct bv_config cfg;
		struct bv_map_fds fds;

		bv_map_fds_get(bv, &fds);
		bv_config_defaults(&cfg);
		if (bv_config_apply(&cfg, &fds, msg, sizeof(msg))) {
			fprintf(stderr, "bv-attach: config: %s\n", msg);
			stop = 2;
		}
		cnt_fd = bpf_map__fd(bv->maps.bv_stats);
		cnt_key = BV_ST_PKTS;
		rb = ring_buffer__new(bpf_map__fd(bv->maps.bv_events), rb_discard, NULL, NULL);
	}

	signal(SIGTERM, on_sig);
	signal(SIGINT, on_sig);
	if (!stop) {
		printf("attach %s\nready\n", msg);
		fflush(stdout);
	}
	prev = percpu_sum(cnt_fd, cnt_key);
	t_end = now_ns() + (__u64)timeout_s * 1000000000ull;
	while (!stop && now_ns() < t_end) {
		if (rb)
			ring_buffer__poll(rb, 1);
		else
			usleep(1000);
		cur = percpu_sum(cnt_fd, cnt_key);
		if (cur != prev) {
			last = now_ns();
			if (!first)
				first = last;
			prev = cur;
		}
	}

	if (use_libxdp)
		err = xdp_program__detach(xp, ifindex, mode, 0);
	else
		err = bpf_xdp_detach(ifindex, skb ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE, NULL);
	if (err)
		fprintf(stderr, "bv-attach: detaching: %d\n", err);
	if (rb)
		ring_buffer__consume(rb);
	printf("pkts %llu\nfirst_ns %llu\nlast_ns %llu\n",
	       (unsigned long long)percpu_sum(cnt_fd, cnt_key), (unsigned long long)first,
	       (unsigned long long)last);
	if (!empty)
		for (int i = 0; i < BV_ST_MAX; i++)
			printf("%s %llu\n", bv_stat_name(i),
			       (unsigned long long)percpu_sum(cnt_fd, (__u32)i));
	fflush(stdout);
	/* the object belongs to both the skeleton and libxdp's program:
	 * leave it to the exit, which closes every fd */
	ring_buffer__free(rb);
	return stop == 2 ? 1 : 0;
}
