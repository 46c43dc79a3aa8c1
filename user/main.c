/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* beaconveil COMMAND [OPTIONS]: dispatch to the cmd_* functions. */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "metrics.h" /* cmd_stats */

struct bv_cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct bv_cmd cmds[] = {
	{ "run", cmd_run, "the daemon: run -i IFACE[,IFACE] [-c CONFIG] [--mode inline|mirror]" },
	{ "stats", cmd_stats, "counters and analytics from the daemon's metrics endpoint" },
	{ "status", cmd_status, "daemon, attached programs and pinned maps" },
	{ "policy", cmd_policy, "live policy: policy get [KEY] | set KEY VALUE | rotate-key" },
	{ "unload", cmd_unload, "detach and remove the pinned maps: unload [-i IFACE]" },
	{ "pcap", cmd_pcap, "anonymize a capture offline: pcap IN OUT [-c CONFIG]" },
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: beaconveil COMMAND [OPTIONS]\n"
		   "\n"
		   "XDP privacy enforcement for RUM beacon traffic.\n"
		   "\n"
		   "Commands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-8s %s\n", cmds[i].name, cmds[i].summary);
	fprintf(f, "\n"
		   "Run 'beaconveil COMMAND --help' for the options of a command.\n"
		   "Exit status: 0 ok, 1 runtime error, 2 usage error.\n");
}

int main(int argc, char **argv)
{
	const char *c;

	if (argc < 2) {
		usage(stderr);
		return BV_EXIT_USAGE;
	}
	c = argv[1];
	if (!strcmp(c, "-h") || !strcmp(c, "--help") || !strcmp(c, "help")) {
		usage(stdout);
		return BV_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(c, cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "beaconveil: unknown command '%s' (see 'beaconveil --help')\n", c);
	return BV_EXIT_USAGE;
}
