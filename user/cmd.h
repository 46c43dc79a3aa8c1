/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Subcommands of `beaconveil`. main() dispatches `beaconveil CMD ARGS...`
 * to cmd_CMD(argc, argv) with argv[0] = "CMD". Each returns an exit code.
 */
#ifndef BV_CMD_H
#define BV_CMD_H

enum bv_exit {
	BV_EXIT_OK = 0,       /* done */
	BV_EXIT_RUNTIME = 1,  /* runtime error: the message names the cause */
	BV_EXIT_USAGE = 2,    /* bad command line */
};

int cmd_pcap(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_policy(int argc, char **argv);
int cmd_unload(int argc, char **argv);

#endif /* BV_CMD_H */
