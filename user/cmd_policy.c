/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * beaconveil policy get [KEY] [--app ID | --host NAME]
 * beaconveil policy set KEY VALUE [--app ID | --host NAME]
 * beaconveil policy delete --app ID | --host NAME
 * beaconveil policy list
 * beaconveil policy rotate-key
 *
 * Works on the pinned maps (bv_policy, bv_apppol, bv_keys), with or
 * without a running daemon: the program reads them on every packet. The
 * same change as the bpftool lines in docs/DAEMON.md, by name.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bv_abi.h"
#include "cmd.h"
#include "config.h"
#include "loader.h"
#include "pins.h"
#include "runlock.h"
#include "beaconveil.skel.h"

#define PFX "beaconveil policy: "

static void policy_usage(FILE *f)
{
	fprintf(f,
		"Usage: beaconveil policy get [KEY] [--app ID | --host NAME]\n"
		"       beaconveil policy set KEY VALUE [--app ID | --host NAME]\n"
		"       beaconveil policy delete --app ID | --host NAME\n"
		"       beaconveil policy list\n"
		"       beaconveil policy rotate-key\n"
		"\n"
		"Reads or changes the live policy in the maps pinned under\n"
		"/sys/fs/bpf/beaconveil, with or without a running daemon; the XDP\n"
		"program applies a change from the next packet on.\n"
		"\n"
		"  get          every key as 'KEY = VALUE' (config file syntax), or the\n"
		"               value of KEY; of the global policy, or of the override\n"
		"               of --app ID / --host NAME\n"
		"  set          one key; an override that does not exist yet starts as\n"
		"               a copy of the global policy\n"
		"  delete       remove an override (the global policy applies again)\n"
		"  list         the overrides, as app:ID and host:NAME\n"
		"  rotate-key   replace the event hash key with a random one (epoch + 1):\n"
		"               visitor and session hashes before and after cannot be\n"
		"               joined\n"
		"\n"
		"Keys and values (docs/CONFIG.md, [global]):\n"
		"  ip_mask all|public|off         ipv4_prefix 0..32     ipv6_prefix 0..128\n"
		"  respect_dnt on|off             dnt_action anonymize|drop\n"
		"  respect_gpc on|off             opt_in on|off         user_tracking on|off\n"
		"  honour_disabled on|off         drop_action drop|reset\n"
		"  collection_level user_behavior|performance|off    crash_reports on|off\n"
		"  unreadable_body drop|pass\n"
		"\n"
		"A running daemon rewrites the maps from its config file on SIGHUP and on\n"
		"restart, and never otherwise: a change made here lasts until then (put it\n"
		"in the config file to keep it).\n"
		"\n"
		"Options:\n"
		"  -a, --app ID      the override of application ID (app= / ai=)\n"
		"  -H, --host NAME   the override of Host NAME\n"
		"  -h, --help        this help\n"
		"Needs root. Exit status: 0 ok, 1 runtime error, 2 usage error.\n");
}

static bool key_known(const char *k)
{
	for (int i = 0; bv_policy_keys[i]; i++)
		if (!strcmp(bv_policy_keys[i], k))
			return true;
	return false;
}

static void key_list(FILE *f)
{
	fprintf(f, "known keys:");
	for (int i = 0; bv_policy_keys[i]; i++)
		fprintf(f, " %s", bv_policy_keys[i]);
	fprintf(f, "\n");
}

/* The value as the program uses it; *note set when it differs from the raw byte. */
static void effective(const struct bv_policy *raw, const struct bv_policy *defs,
		      const char *key, char *out, size_t outlen, char *note, size_t notelen)
{
	struct bv_policy tmp = *raw;
	char dflt[32], e[64];

	note[0] = '\0';
	bv_policy_get_field(raw, key, out, outlen);
	if (bv_policy_set_field(&tmp, key, out, e, sizeof(e)) == 0)
		return;
	bv_policy_get_field(defs, key, dflt, sizeof(dflt));
	snprintf(note, notelen, "out of range: the program uses the default, %s", dflt);
}

static void notice_daemon(void)
{
	char err[256], extra[512];
	pid_t pid;

	if (bv_lock_probe("daemon", &pid, extra, sizeof(extra), err, sizeof(err)) == 1)
		fprintf(stderr, PFX "note: the daemon (pid %d) rewrites the maps from its "
			"config file on SIGHUP or restart; put the change there to keep it\n",
			(int)pid);
}

static void appkey_name(const struct bv_app_key *k, char *out, size_t outlen)
{
	int n = k->len < BV_APPKEY_LEN ? k->len : BV_APPKEY_LEN;

	snprintf(out, outlen, "%s:%.*s", k->kind == BV_APPKEY_APP ? "app" :
		 k->kind == BV_APPKEY_HOST ? "host" : "?", n, k->id);
}

int cmd_policy(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "app", required_argument, NULL, 'a' },
		{ "host", required_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct bv_load_opts lo = { .mode = BV_MODE_INLINE, .pin = false };
	struct beaconveil_bpf *ref = NULL;
	struct bv_config defcfg;
	struct bv_app_key akey;
	struct bv_policy pol;
	const char *app = NULL, *host = NULL, *sub, *kname = NULL;
	char err[1024], val[64], note[128], who[100];
	int opt, fd = -1, gfd = -1, ret = BV_EXIT_RUNTIME, nargs;
	char **args;
	__u32 zero = 0;
	bool override;

	argv[0] = "beaconveil policy";
	optind = 0;
	while ((opt = getopt_long(argc, argv, "a:H:h", lopts, NULL)) != -1) {
		switch (opt) {
		case 'a':
			app = optarg;
			break;
		case 'H':
			host = optarg;
			break;
		case 'h':
			policy_usage(stdout);
			return BV_EXIT_OK;
		default:
			fprintf(stderr, "See 'beaconveil policy --help'.\n");
			return BV_EXIT_USAGE;
		}
	}
	args = argv + optind;
	nargs = argc - optind;
	if (nargs < 1) {
		fprintf(stderr, PFX "expects get, set, delete, list or rotate-key (see "
			"'beaconveil policy --help')\n");
		return BV_EXIT_USAGE;
	}
	sub = args[0];
	if (app && host) {
		fprintf(stderr, PFX "give --app or --host, not both\n");
		return BV_EXIT_USAGE;
	}
	override = app || host;
	if (override) {
		if (bv_app_key_make(&akey, app ? BV_APPKEY_APP : BV_APPKEY_HOST, app ? app : host,
				    err, sizeof(err))) {
			fprintf(stderr, PFX "%s\n", err);
			return BV_EXIT_USAGE;
		}
		appkey_name(&akey, who, sizeof(who));
	} else {
		snprintf(who, sizeof(who), "global");
	}

	if (!strcmp(sub, "get")) {
		if (nargs > 2) {
			fprintf(stderr, PFX "get takes at most one KEY\n");
			return BV_EXIT_USAGE;
		}
		kname = nargs == 2 ? args[1] : NULL;
	} else if (!strcmp(sub, "set")) {
		if (nargs != 3) {
			fprintf(stderr, PFX "set expects KEY VALUE (see 'beaconveil policy --help')\n");
			return BV_EXIT_USAGE;
		}
		kname = args[1];
	} else if (!strcmp(sub, "delete")) {
		if (nargs != 1 || !override) {
			fprintf(stderr, PFX "delete expects --app ID or --host NAME\n");
			return BV_EXIT_USAGE;
		}
	} else if (!strcmp(sub, "list") || !strcmp(sub, "rotate-key")) {
		if (nargs != 1 || override) {
			fprintf(stderr, PFX "%s takes no arguments\n", sub);
			return BV_EXIT_USAGE;
		}
	} else {
		fprintf(stderr, PFX "unknown subcommand '%s' (get, set, delete, list, "
			"rotate-key)\n", sub);
		return BV_EXIT_USAGE;
	}
	if (kname && !key_known(kname)) {
		fprintf(stderr, PFX "unknown policy key '%s'; ", kname);
		key_list(stderr);
		return BV_EXIT_USAGE;
	}
	if (!strcmp(sub, "set")) {
		/* check the value before touching anything */
		struct bv_policy t;

		bv_config_defaults(&defcfg);
		t = defcfg.global;
		if (bv_policy_set_field(&t, kname, args[2], err, sizeof(err))) {
			fprintf(stderr, PFX "%s\n", err);
			return BV_EXIT_USAGE;
		}
	}
	bv_config_defaults(&defcfg);

	ref = bv_open(&lo, err, sizeof(err));
	if (!ref) {
		fprintf(stderr, PFX "%s\n", err);
		return BV_EXIT_RUNTIME;
	}

	if (!strcmp(sub, "rotate-key")) {
		__u32 epoch;

		fd = bv_pin_open("bv_keys", ref, err, sizeof(err));
		if (fd < 0 || bv_hash_key_rotate(fd, &epoch, err, sizeof(err)))
			goto fail;
		printf("hash key rotated: epoch %u\n", epoch);
		ret = BV_EXIT_OK;
		goto out;
	}

	gfd = bv_pin_open("bv_policy", ref, err, sizeof(err));
	if (gfd < 0)
		goto fail;
	memset(&pol, 0, sizeof(pol));
	if (bpf_map_lookup_elem(gfd, &zero, &pol)) {
		snprintf(err, sizeof(err), "cannot read bv_policy: %s", strerror(errno));
		goto fail;
	}
	if (pol.valid != 1) {
		if (!strcmp(sub, "get") && !override)
			fprintf(stderr, PFX "note: bv_policy[0] was never written (valid = %u): "
				"the program uses the built-in defaults shown here\n", pol.valid);
		pol = defcfg.global;
	}
	if (override || !strcmp(sub, "list")) {
		fd = bv_pin_open("bv_apppol", ref, err, sizeof(err));
		if (fd < 0)
			goto fail;
	}

	if (!strcmp(sub, "list")) {
		struct bv_app_key k, next;
		void *prev = NULL;
		int n = 0;

		while (bpf_map_get_next_key(fd, prev, &next) == 0) {
			appkey_name(&next, who, sizeof(who));
			printf("%s\n", who);
			k = next;
			prev = &k;
			n++;
		}
		if (!n)
			fprintf(stderr, PFX "no overrides: the global policy applies to every "
				"beacon\n");
		ret = BV_EXIT_OK;
		goto out;
	}

	if (!strcmp(sub, "delete")) {
		if (bpf_map_delete_elem(fd, &akey)) {
			if (errno == ENOENT)
				snprintf(err, sizeof(err), "there is no override for %s", who);
			else
				snprintf(err, sizeof(err), "cannot delete %s from bv_apppol: %s", who,
					 strerror(errno));
			goto fail;
		}
		printf("%s: override deleted; the global policy applies\n", who);
		notice_daemon();
		ret = BV_EXIT_OK;
		goto out;
	}

	if (override) {
		struct bv_policy ap;

		if (bpf_map_lookup_elem(fd, &akey, &ap)) {
			if (errno != ENOENT) {
				snprintf(err, sizeof(err), "cannot read bv_apppol: %s", strerror(errno));
				goto fail;
			}
			if (!strcmp(sub, "get")) {
				snprintf(err, sizeof(err), "there is no override for %s: the global "
					 "policy applies ('beaconveil policy get')", who);
				goto fail;
			}
			ap = pol; /* a new override starts from the global policy */
			ap.valid = 1;
		}
		pol = ap;
	}

	if (!strcmp(sub, "get")) {
		struct bv_policy defs = defcfg.global;

		if (override && pol.valid != 1) {
			fprintf(stderr, PFX "note: the override of %s is not valid (valid = %u): "
				"the program uses the built-in defaults shown here\n", who, pol.valid);
			pol = defs;
		}
		for (int i = 0; bv_policy_keys[i]; i++) {
			const char *k = bv_policy_keys[i];

			if (kname && strcmp(kname, k))
				continue;
			effective(&pol, &defs, k, val, sizeof(val), note, sizeof(note));
			if (kname)
				printf("%s\n", val);
			else
				printf("%s = %s\n", k, val);
			if (note[0])
				fprintf(stderr, PFX "%s: %s\n", k, note);
		}
		ret = BV_EXIT_OK;
		goto out;
	}

	/* set */
	if (bv_policy_set_field(&pol, kname, args[2], err, sizeof(err)))
		goto fail;
	pol.valid = 1;
	if (bpf_map_update_elem(override ? fd : gfd, override ? (void *)&akey : (void *)&zero,
				&pol, BPF_ANY)) {
		int e = errno;
		snprintf(err, sizeof(err), "cannot write %s: %s%s",
			 override ? "bv_apppol" : "bv_policy", strerror(e),
			 e == E2BIG ? " (bv_apppol is full: 1024 overrides)" : "");
		goto fail;
	}
	bv_policy_get_field(&pol, kname, val, sizeof(val));
	printf("%s: %s = %s\n", who, kname, val);
	notice_daemon();
	ret = BV_EXIT_OK;
	goto out;

fail:
	fprintf(stderr, PFX "%s\n", err);
	ret = BV_EXIT_RUNTIME;
out:
	if (fd >= 0)
		close(fd);
	if (gfd >= 0)
		close(gfd);
	beaconveil_bpf__destroy(ref);
	return ret;
}
