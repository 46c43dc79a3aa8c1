/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * beaconveil status: the daemon (pid, interfaces), bpffs and the pinned
 * maps, and every interface with an XDP program: ours (id, mode, XDP mode)
 * and the others sharing the libxdp dispatcher.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "bv_abi.h"
#include "attach.h"
#include "cmd.h"
#include "loader.h"
#include "pins.h"
#include "runlock.h"
#include "beaconveil.skel.h"

#define PFX "beaconveil status: "

static void status_usage(FILE *f)
{
	fprintf(f,
		"Usage: beaconveil status\n"
		"\n"
		"Shows whether the daemon runs (pid, interfaces), whether bpffs is\n"
		"mounted and which beaconveil maps are pinned under /sys/fs/bpf/beaconveil,\n"
		"the event hash key epoch, and every interface with an XDP program: the\n"
		"beaconveil program (id, inline/mirror, native/skb) and the other\n"
		"programs on the same libxdp dispatcher. Works with or without a running\n"
		"daemon.\n"
		"\n"
		"Output lines:\n"
		"  daemon: running, pid PID, interfaces IFACE[,IFACE]   (or: not running)\n"
		"  bpffs: mounted at /sys/fs/bpf                        (or: not mounted)\n"
		"  maps: N of 9 pinned under /sys/fs/bpf/beaconveil [missing: ...]\n"
		"  hash key: epoch N\n"
		"  IFACE: beaconveil prog id ID, MODE mode, XDPMODE XDP, daemon pid PID\n"
		"         (or: no daemon), dispatcher with N programs: NAME (id ID, prio P), ...\n"
		"  IFACE: other XDP programs only: ...\n"
		"\n"
		"Needs root to query programs (CAP_SYS_ADMIN).\n"
		"Exit status: 0 ok, 1 runtime error, 2 usage error.\n");
}

static void print_iface(const char *name, int ifindex, const struct beaconveil_bpf *ref,
			int *nours)
{
	struct bv_xdp_state st;
	struct xdp_program *p;
	char err[512], extra[8];
	pid_t pid;
	int first = 1;

	if (bv_xdp_query(ifindex, &st, err, sizeof(err))) {
		printf("%s: cannot query: %s\n", name, err);
		return;
	}
	if (!st.mp) {
		bv_xdp_state_free(&st);
		return;
	}
	if (st.ours) {
		__u32 id = xdp_program__id(st.ours);
		int fd = bpf_prog_get_fd_by_id(id);
		int m = fd >= 0 && ref ? bv_prog_bv_mode(fd, ref) : -1;

		if (fd >= 0)
			close(fd);
		printf("%s: beaconveil prog id %u, %s mode, %s XDP", name, id,
		       m == BV_MODE_INLINE ? "inline" : m == BV_MODE_MIRROR ? "mirror" :
		       m == BV_MODE_PCAP ? "pcap" : "unknown", bv_xdp_mode_name(st.mode));
		if (bv_lock_probe(name, &pid, extra, sizeof(extra), err, sizeof(err)) == 1)
			printf(", daemon pid %d", (int)pid);
		else
			printf(", no daemon (still enforcing with the pinned policy)");
		if (st.nours > 1)
			printf(", WARNING: %d beaconveil programs attached", st.nours);
		(*nours)++;
	} else {
		printf("%s: other XDP programs only, %s XDP", name, bv_xdp_mode_name(st.mode));
	}
	if (st.legacy) {
		p = xdp_multiprog__main_prog(st.mp);
		printf(", attached without dispatcher: %s (id %u)\n",
		       p ? xdp_program__name(p) : "?", p ? xdp_program__id(p) : 0);
	} else {
		printf(", dispatcher with %d program%s:", xdp_multiprog__program_count(st.mp),
		       xdp_multiprog__program_count(st.mp) == 1 ? "" : "s");
		for (p = xdp_multiprog__next_prog(NULL, st.mp); p;
		     p = xdp_multiprog__next_prog(p, st.mp)) {
			printf("%s %s (id %u, prio %u)", first ? "" : ",", xdp_program__name(p),
			       xdp_program__id(p), xdp_program__run_prio(p));
			first = 0;
		}
		printf("\n");
	}
	bv_xdp_state_free(&st);
}

int cmd_status(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct bv_load_opts lo = { .mode = BV_MODE_INLINE, .pin = false };
	struct beaconveil_bpf *ref;
	struct if_nameindex *ifs, *it;
	char err[1024], extra[1100];
	unsigned present;
	pid_t pid;
	int opt, r, nours = 0, npinned = 0;

	argv[0] = "beaconveil status";
	optind = 0;
	while ((opt = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		if (opt == 'h') {
			status_usage(stdout);
			return BV_EXIT_OK;
		}
		fprintf(stderr, "See 'beaconveil status --help'.\n");
		return BV_EXIT_USAGE;
	}
	if (optind < argc) {
		fprintf(stderr, PFX "unexpected argument '%s' (see 'beaconveil status --help')\n",
			argv[optind]);
		return BV_EXIT_USAGE;
	}
	if (geteuid() != 0) {
		fprintf(stderr, PFX "permission denied: reading XDP programs and pinned maps "
			"needs root (sudo beaconveil status)\n");
		return BV_EXIT_RUNTIME;
	}

	r = bv_lock_probe("daemon", &pid, extra, sizeof(extra), err, sizeof(err));
	if (r == 1)
		printf("daemon: running, pid %d, interfaces %s\n", (int)pid, extra);
	else if (r == 0)
		printf("daemon: not running\n");
	else
		printf("daemon: unknown (%s)\n", err);

	if (!bv_bpffs_mounted()) {
		printf("bpffs: not mounted at %s\n", BV_PIN_ROOT);
		present = 0;
	} else {
		printf("bpffs: mounted at %s\n", BV_PIN_ROOT);
		present = bv_pins_present();
	}
	for (int i = 0; i < BV_NPINS; i++)
		npinned += !!(present & (1u << i));
	printf("maps: %d of %d pinned under %s", npinned, BV_NPINS, BV_PIN_DIR);
	if (npinned && npinned < BV_NPINS) {
		printf(" (missing:");
		for (int i = 0; i < BV_NPINS; i++)
			if (!(present & (1u << i)))
				printf(" %s", bv_pin_names[i]);
		printf(")");
	}
	printf("\n");
	if (present & (1u << 7)) { /* bv_keys */
		int fd = bv_pin_open("bv_keys", NULL, err, sizeof(err));
		struct bv_hash_key k;
		__u32 zero = 0;

		memset(&k, 0, sizeof(k));
		if (fd >= 0 && bpf_map_lookup_elem(fd, &zero, &k) == 0)
			printf("hash key: epoch %u%s\n", k.epoch, k.epoch ? "" : " (never set)");
		if (fd >= 0)
			close(fd);
	}

	ref = bv_open(&lo, err, sizeof(err));
	ifs = if_nameindex();
	if (!ifs) {
		fprintf(stderr, PFX "cannot list interfaces: %s\n", strerror(errno));
		beaconveil_bpf__destroy(ref);
		return BV_EXIT_RUNTIME;
	}
	for (it = ifs; it->if_index; it++)
		print_iface(it->if_name, (int)it->if_index, ref, &nours);
	if_freenameindex(ifs);
	if (!nours)
		printf("no interface has the beaconveil program attached\n");
	beaconveil_bpf__destroy(ref);
	return BV_EXIT_OK;
}
