/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * beaconveil unload [-i IFACE[,IFACE...]]
 *
 * Detaches the beaconveil program (leaving other XDP programs on the
 * dispatcher alone) from every interface, or from the ones given, and
 * removes the maps pinned under /sys/fs/bpf/beaconveil once no interface
 * runs the program any more. Refuses while a daemon serves them: stop the
 * daemon first (it detaches on SIGTERM).
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <xdp/libxdp.h>

#include "bv_abi.h"
#include "attach.h"
#include "cmd.h"
#include "pins.h"
#include "runlock.h"

#define PFX "beaconveil unload: "
#define MAX_IFACES 64

static void unload_usage(FILE *f)
{
	fprintf(f,
		"Usage: beaconveil unload [-i IFACE[,IFACE...]]\n"
		"\n"
		"Detaches the beaconveil XDP program from every interface (or from the\n"
		"given ones; other XDP programs on the libxdp dispatcher keep running)\n"
		"and then, when no interface runs it any more, removes every map pinned\n"
		"under /sys/fs/bpf/beaconveil: policy, counters, flow state and the hash\n"
		"key are gone; the next 'beaconveil run' starts from the config and zero.\n"
		"\n"
		"Enforcement stops on those interfaces: beacons pass unmodified.\n"
		"Refuses while a daemon serves them; stop it first (kill -TERM PID, see\n"
		"'beaconveil status'): on SIGTERM it detaches and keeps the maps.\n"
		"\n"
		"Options:\n"
		"  -i, --interface IFACE[,IFACE]  only these interfaces (repeatable)\n"
		"  -h, --help                     this help\n"
		"Needs root. Exit status: 0 ok (also when there was nothing to unload),\n"
		"1 runtime error, 2 usage error.\n");
}

int cmd_unload(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "interface", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char names[MAX_IFACES][IF_NAMESIZE];
	int idx[MAX_IFACES];
	int n = 0, opt, ret = BV_EXIT_OK, detached = 0, still = 0, removed;
	char err[1024], extra[512], stillname[IF_NAMESIZE] = "";
	struct if_nameindex *all, *it;
	pid_t pid;

	argv[0] = "beaconveil unload";
	optind = 0;
	while ((opt = getopt_long(argc, argv, "i:h", lopts, NULL)) != -1) {
		switch (opt) {
		case 'i': {
			char buf[1024], *save = NULL, *tok;

			snprintf(buf, sizeof(buf), "%s", optarg);
			for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
				if (!*tok)
					continue;
				if (n >= MAX_IFACES || strlen(tok) >= IF_NAMESIZE) {
					fprintf(stderr, PFX "bad or too many interfaces\n");
					return BV_EXIT_USAGE;
				}
				snprintf(names[n++], IF_NAMESIZE, "%s", tok);
			}
			break;
		}
		case 'h':
			unload_usage(stdout);
			return BV_EXIT_OK;
		default:
			fprintf(stderr, "See 'beaconveil unload --help'.\n");
			return BV_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, PFX "unexpected argument '%s' (see 'beaconveil unload --help')\n",
			argv[optind]);
		return BV_EXIT_USAGE;
	}
	for (int i = 0; i < n; i++) {
		idx[i] = (int)if_nametoindex(names[i]);
		if (!idx[i]) {
			fprintf(stderr, PFX "unknown interface '%s' (see 'ip link show')\n", names[i]);
			return BV_EXIT_RUNTIME;
		}
	}
	if (geteuid() != 0) {
		fprintf(stderr, PFX "permission denied: detaching XDP programs and removing "
			"pins needs root (sudo beaconveil unload)\n");
		return BV_EXIT_RUNTIME;
	}

	/* a daemon in charge? */
	if (!n && bv_lock_probe("daemon", &pid, extra, sizeof(extra), err, sizeof(err)) == 1) {
		fprintf(stderr, PFX "the beaconveil daemon (pid %d) serves %s: stop it first "
			"(kill -TERM %d; it detaches on exit), then unload\n", (int)pid, extra,
			(int)pid);
		return BV_EXIT_RUNTIME;
	}
	for (int i = 0; i < n; i++) {
		if (bv_lock_probe(names[i], &pid, NULL, 0, err, sizeof(err)) == 1) {
			fprintf(stderr, PFX "the beaconveil daemon (pid %d) serves %s: stop it first "
				"(kill -TERM %d; it detaches on exit), then unload\n", (int)pid,
				names[i], (int)pid);
			return BV_EXIT_RUNTIME;
		}
	}

	all = if_nameindex();
	if (!all) {
		fprintf(stderr, PFX "cannot list interfaces: %s\n", strerror(errno));
		return BV_EXIT_RUNTIME;
	}
	for (it = all; it->if_index; it++) {
		struct bv_xdp_state st;
		bool wanted = !n;

		for (int i = 0; i < n && !wanted; i++)
			wanted = idx[i] == (int)it->if_index;
		if (bv_xdp_query((int)it->if_index, &st, err, sizeof(err))) {
			fprintf(stderr, PFX "%s: %s\n", it->if_name, err);
			ret = BV_EXIT_RUNTIME;
			continue;
		}
		if (!st.ours) {
			bv_xdp_state_free(&st);
			continue;
		}
		if (!wanted) {
			still++;
			snprintf(stillname, sizeof(stillname), "%s", it->if_name);
			bv_xdp_state_free(&st);
			continue;
		}
		/* every beaconveil program there (normally one) */
		while (st.ours) {
			__u32 id = xdp_program__id(st.ours);
			int r;

			bv_xdp_state_free(&st);
			r = bv_xdp_detach_id((int)it->if_index, id, err, sizeof(err));
			if (r < 0) {
				fprintf(stderr, PFX "%s: %s\n", it->if_name, err);
				ret = BV_EXIT_RUNTIME;
				still++;
				snprintf(stillname, sizeof(stillname), "%s", it->if_name);
				break;
			}
			if (r == 0) {
				printf("detached beaconveil (prog id %u) from %s\n", id, it->if_name);
				detached++;
			}
			if (bv_xdp_query((int)it->if_index, &st, err, sizeof(err)))
				break;
		}
		bv_xdp_state_free(&st);
	}
	if_freenameindex(all);
	if (still) {
		printf("pinned maps kept under %s: beaconveil still runs on %s%s\n", BV_PIN_DIR,
		       stillname, still > 1 ? " and others" : "");
		return ret;
	}
	if (bv_pins_remove_all(&removed, err, sizeof(err))) {
		fprintf(stderr, PFX "%s\n", err);
		return BV_EXIT_RUNTIME;
	}
	if (removed)
		printf("removed %d pinned map%s under %s\n", removed, removed == 1 ? "" : "s",
		       BV_PIN_DIR);
	if (!detached && !removed)
		printf("nothing to unload: no interface runs beaconveil and nothing is pinned\n");
	return ret;
}
