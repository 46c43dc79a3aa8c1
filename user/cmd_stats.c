/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * `beaconveil stats`: the kernel counters from the pinned maps (bv_stats,
 * the per-interface bv_ifdec, the positions of bv_events; no daemon
 * needed), plus the daemon's session and visitor figures read from its
 * /metrics endpoint when it answers.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>

#include "bv_abi.h"
#include "cmd.h"
#include "config.h"
#include "kcounts.h"
#include "loader.h"
#include "metrics.h"
#include "pins.h"

#define PFX "beaconveil stats: "
#define FETCH_TIMEOUT_MS 2000

static void stats_usage(FILE *f)
{
	fprintf(f,
		"Usage: beaconveil stats [--json] [-c CONFIG] [--metrics ADDR:PORT] [--pin-dir DIR]\n"
		"\n"
		"Prints the decision counts and the XDP program's counters from the\n"
		"pinned map " BV_PIN_DIR "/bv_stats (summed over CPUs), the decisions\n"
		"per interface (bv_ifdec) and the events read from and waiting in the\n"
		"ring buffer (bv_events). They survive the daemon: this works while\n"
		"enforcement goes on without one.\n"
		"\n"
		"If a daemon's metrics endpoint answers, its figures are added: active\n"
		"sessions, estimated unique visitors of the current key epoch,\n"
		"new/returning visitors (when user_tracking is on), decisions per\n"
		"application (applications with at least k distinct visitors only).\n"
		"Otherwise a note on stderr says why, and the kernel figures are still\n"
		"printed.\n"
		"\n"
		"Options:\n"
		"  --json                 one JSON object instead of text\n"
		"  -c, --config FILE      take the metrics address from [daemon] metrics\n"
		"      --metrics ADDR:PORT   the daemon's endpoint (default 127.0.0.1:9477)\n"
		"      --pin-dir DIR      where the maps are pinned (default " BV_PIN_DIR ")\n"
		"  -h, --help             this help\n"
		"\n"
		"Needs root (the pinned maps are readable by root only).\n"
		"Exit status: 0 ok, 1 runtime error (no pinned maps, permission denied,\n"
		"bad config), 2 usage error.\n");
}

/* One line of description per counter of enum bv_stat (after decisions). */
static const char *const stat_desc[BV_ST_MAX - BV_DEC_MAX] = {
	[BV_ST_PKTS - BV_DEC_MAX] = "packets seen",
	[BV_ST_NON_IP - BV_DEC_MAX] = "not IPv4/IPv6: passed untouched",
	[BV_ST_NON_TCP - BV_DEC_MAX] = "IP, not TCP",
	[BV_ST_OTHER_TCP - BV_DEC_MAX] = "TCP not on a beacon port",
	[BV_ST_BEACON_PORT - BV_DEC_MAX] = "TCP on a beacon port",
	[BV_ST_MALFORMED_PKT - BV_DEC_MAX] = "bad L2/L3/L4 structure: dropped",
	[BV_ST_FRAGMENT - BV_DEC_MAX] = "IP fragments carrying TCP (or UDP, decapsulating): dropped",
	[BV_ST_ACT_PASS - BV_DEC_MAX] = "verdict XDP_PASS",
	[BV_ST_ACT_DROP - BV_DEC_MAX] = "verdict XDP_DROP",
	[BV_ST_ACT_TX - BV_DEC_MAX] = "verdict XDP_TX (TCP RST sent back)",
	[BV_ST_ACT_REDIRECT - BV_DEC_MAX] = "verdict XDP_REDIRECT (mirror egress)",
	[BV_ST_L3_MASKED - BV_DEC_MAX] = "addresses masked in IP headers",
	[BV_ST_TEXT_MASKED - BV_DEC_MAX] = "addresses masked in HTTP headers / PROXY",
	[BV_ST_IDS_REPLACED - BV_DEC_MAX] = "visitor identifiers replaced",
	[BV_ST_REQUESTS - BV_DEC_MAX] = "HTTP requests on beacon ports",
	[BV_ST_FLOW_NEW - BV_DEC_MAX] = "flow state entries created (first data of a connection)",
	[BV_ST_FLOW_UNKNOWN - BV_DEC_MAX] = "mid-request segments without state: dropped",
	[BV_ST_OUT_OF_ORDER - BV_DEC_MAX] = "segments after a gap: dropped",
	[BV_ST_RETRANSMIT - BV_DEC_MAX] = "retransmitted segments",
	[BV_ST_HELD_UNDECIDED - BV_DEC_MAX] = "ids replaced before the decision was known",
	[BV_ST_PROXY_V1 - BV_DEC_MAX] = "PROXY protocol v1 headers",
	[BV_ST_PROXY_V2 - BV_DEC_MAX] = "PROXY protocol v2 headers",
	[BV_ST_EVENTS_LOST - BV_DEC_MAX] = "events lost (ring buffer full)",
	[BV_ST_HALF_OPEN - BV_DEC_MAX] = "connections opened (SYN), tracked half-open",
	[BV_ST_MOBILE - BV_DEC_MAX] = "mobile beacons (type=m)",
	[BV_ST_MOBILE_IDS - BV_DEC_MAX] = "mobile ids replaced (vi=, sn=, si= device part)",
	[BV_ST_USER_TAG_REMOVED - BV_DEC_MAX] = "user tags replaced (identify-user events, na=)",
	[BV_ST_CRASH_REMOVED - BV_DEC_MAX] = "crash and exception events erased from bodies",
	[BV_ST_BODY_UNREADABLE - BV_DEC_MAX] = "mobile bodies not readable (compressed, chunked)",
	[BV_ST_BODY_CUT - BV_DEC_MAX] = "mobile bodies dropped: a crash event cut where it could not be erased",
	[BV_ST_MIDSTREAM - BV_DEC_MAX] = "pcap --midstream: segments of connections picked up mid-way",
	[BV_ST_ENCAP_VXLAN - BV_DEC_MAX] = "VXLAN packets decapsulated (mirror/pcap)",
	[BV_ST_ENCAP_GENEVE - BV_DEC_MAX] = "GENEVE packets decapsulated (mirror/pcap)",
	[BV_ST_ENCAP_MALFORMED - BV_DEC_MAX] = "tunnel packets cut or broken: dropped",
	[BV_ST_ENCAP_UNSUPPORTED - BV_DEC_MAX] = "tunnel packets not carrying Ethernet, or nested: dropped",
	[BV_ST_NO_NAMES - BV_DEC_MAX] = "beacon-port payload dropped: the [names] maps were never written",
	[BV_ST_IP_ANON_COMPUTED - BV_DEC_MAX] = "ip_anon: addresses run through Crypto-PAn (not in the cache)",
	[BV_ST_IP_ANON_TEXT_FALLBACK - BV_DEC_MAX] = "ip_anon: text addresses left truncated (longer form, cut, escaped)",
};

/* Opens DIR/bv_stats with a message naming the cause. */
static int open_stats(const char *dir, char *err, size_t errlen)
{
	char path[512];
	struct bpf_map_info info;
	__u32 ilen = sizeof(info);
	int fd, e;

	snprintf(path, sizeof(path), "%s/bv_stats", dir);
	fd = bpf_obj_get(path);
	if (fd < 0) {
		e = errno;
		if (e == ENOENT) {
			if (!strcmp(dir, BV_PIN_DIR))
				bv_pin_missing_error(path, err, errlen);
			else
				snprintf(err, errlen,
					 "no pinned maps (%s does not exist): is beaconveil run "
					 "running or was it ever started?", path);
		} else if (e == EACCES || e == EPERM) {
			snprintf(err, errlen,
				 "permission denied opening %s: reading the pinned maps needs root "
				 "(CAP_BPF and access to %s)", path, dir);
		} else {
			snprintf(err, errlen, "cannot open %s: %s", path, strerror(e));
		}
		return -1;
	}
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &ilen) == 0 &&
	    (info.type != BPF_MAP_TYPE_PERCPU_ARRAY || info.key_size != 4 ||
	     info.value_size != 8 || info.max_entries < BV_ST_MAX)) {
		snprintf(err, errlen,
			 "%s is not this version's counter map (type %u, %u entries of %u bytes; "
			 "expected a per-CPU array of %d u64): was it pinned by another version?",
			 path, info.type, info.max_entries, info.value_size, BV_ST_MAX);
		close(fd);
		return -1;
	}
	return fd;
}

/* ---- JSON ----------------------------------------------------------------- */

static void jstr(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void jnum(FILE *f, double v)
{
	if (v != v || v > 1.8e19 || v < -1.8e19)
		fputs("null", f);
	else
		fprintf(f, "%.0f", v);
}

/* ---- the daemon's figures ------------------------------------------------ */

/* Distinct values of label `lab` of metric `name`, in order of appearance. */
static size_t distinct_labels(const struct bv_prom_doc *d, const char *name, const char *lab,
			      const char ***out)
{
	const char **v = calloc(d->ns + 1, sizeof(*v));
	size_t n = 0;

	*out = v;
	if (!v)
		return 0;
	for (size_t i = 0; i < d->ns; i++) {
		const char *x;
		size_t j;

		if (strcmp(d->s[i].name, name) || !(x = bv_prom_label(&d->s[i], lab)))
			continue;
		for (j = 0; j < n && strcmp(v[j], x); j++)
			;
		if (j == n)
			v[n++] = x;
	}
	return n;
}

static double val(const struct bv_prom_doc *d, const char *name, const char *const *kv, bool *found)
{
	const struct bv_prom_sample *s = bv_prom_find(d, name, kv);

	if (found)
		*found = s != NULL;
	return s ? s->value : 0;
}

static const struct { const char *metric, *key, *text; } scalars[] = {
	{ "beaconveil_active_sessions", "active_sessions", "active sessions" },
	{ "beaconveil_sessions_started_total", "sessions_started", "sessions started" },
	{ "beaconveil_sessions_expired_total", "sessions_expired", "sessions expired" },
	{ "beaconveil_session_timeout_seconds", "session_timeout_seconds", "session timeout (s)" },
	{ "beaconveil_visitors_unique_estimate", "visitors_unique_estimate",
	  "unique visitors, this key epoch (estimate)" },
	{ "beaconveil_visitors_new_total", "visitors_new", "new visitors" },
	{ "beaconveil_visitors_returning_total", "visitors_returning", "returning visitors" },
	{ "beaconveil_hash_key_epoch", "hash_key_epoch", "hash key epoch" },
	{ "beaconveil_hash_key_rotations_total", "hash_key_rotations", "key rotations seen" },
	{ "beaconveil_k_anonymity_min_visitors", "k_anonymity", "k (min visitors per app)" },
	{ "beaconveil_apps_hidden", "apps_hidden", "apps below k (not shown)" },
};

/* A table of decisions by `lab` (interface, app): names[i], dec[i][reason]. */
static void dec_table_text(const char *title, const char *lab, size_t n, const char *const *names,
			   const double (*dec)[BV_DEC_MAX])
{
	if (n == 0)
		return;
	printf("\n%s\n  %-24s", title, lab);
	for (int r = 0; r < BV_DEC_MAX; r++)
		printf(" %s", bv_decision_name(r));
	printf("\n");
	for (size_t i = 0; i < n; i++) {
		printf("  %-24s", names[i]);
		for (int r = 0; r < BV_DEC_MAX; r++)
			printf(" %*.0f", (int)strlen(bv_decision_name(r)), dec[i][r]);
		printf("\n");
	}
}

/* The same as `"key": { "NAME": { "pass": N, ... }, ... }` at indent ind. */
static void dec_table_json(FILE *f, const char *ind, const char *key, size_t n,
			   const char *const *names, const double (*dec)[BV_DEC_MAX])
{
	fprintf(f, ",\n%s", ind);
	jstr(f, key);
	fprintf(f, ": {");
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "%s\n%s  ", i ? "," : "", ind);
		jstr(f, names[i]);
		fprintf(f, ": {");
		for (int r = 0; r < BV_DEC_MAX; r++) {
			fprintf(f, "%s\"%s\": ", r ? ", " : "", bv_decision_name(r));
			jnum(f, dec[i][r]);
		}
		fprintf(f, "}");
	}
	if (n)
		fprintf(f, "\n%s", ind);
	fputc('}', f);
}

/* Rows of metric by label `lab` from the daemon's page: *names and *dec
 * malloc'ed (the names point into d). */
static size_t prom_table(const struct bv_prom_doc *d, const char *metric, const char *lab,
			 const char ***names, double (**dec)[BV_DEC_MAX])
{
	size_t n = distinct_labels(d, metric, lab, names);

	*dec = calloc(n ? n : 1, sizeof(**dec));
	if (!*dec || !*names)
		return 0;
	for (size_t i = 0; i < n; i++)
		for (int r = 0; r < BV_DEC_MAX; r++) {
			const char *kv[] = { lab, (*names)[i], "reason", bv_decision_name(r), NULL };

			(*dec)[i][r] = val(d, metric, kv, NULL);
		}
	return n;
}

/* The kernel's per-interface rows as a table; NULL names on failure. */
static size_t ifdec_table(const struct bv_ifdec_named *rows, size_t n, const char ***names,
			  double (**dec)[BV_DEC_MAX])
{
	*names = calloc(n ? n : 1, sizeof(**names));
	*dec = calloc(n ? n : 1, sizeof(**dec));
	if (!*names || !*dec)
		return 0;
	for (size_t i = 0; i < n; i++) {
		(*names)[i] = rows[i].name;
		for (int r = 0; r < BV_DEC_MAX; r++)
			(*dec)[i][r] = (double)rows[i].dec[r];
	}
	return n;
}

/* Opens DIR/NAME, one of the maps only read here; -1 with a note in why. */
static int open_pin(const char *dir, const char *name, char *why, size_t whylen)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		snprintf(why, whylen, "%s: %s%s", path, strerror(errno),
			 errno == ENOENT ? " (pinned by an older version? a new start pins it)" : "");
	return fd;
}

/* ---- the command ------------------------------------------------------------ */

int cmd_stats(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "config", required_argument, NULL, 'c' },
		{ "metrics", required_argument, NULL, 'M' },
		{ "pin-dir", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cfg_path = NULL, *metrics = NULL, *pin_dir = BV_PIN_DIR;
	char addr[sizeof(((struct bv_config *)0)->metrics_addr)];
	char err[1024], ferr[1200] = "";
	struct sockaddr_storage ss;
	socklen_t sslen;
	struct bv_prom_doc doc = { 0 };
	bool json = false, have_doc = false;
	__u64 st[BV_ST_MAX], total = 0, ev_received = 0, ev_pending = 0;
	char ifwhy[640] = "", evwhy[640] = "";
	struct bv_ifdec_named *ifrows = NULL;
	const char **ifnames = NULL, **appnames = NULL;
	double (*ifdec)[BV_DEC_MAX] = NULL, (*appdec)[BV_DEC_MAX] = NULL;
	size_t nif = 0, napps = 0;
	bool have_ev = false;
	char *body = NULL;
	size_t blen;
	int opt, fd;

	argv[0] = "beaconveil stats";
	optind = 0;
	while ((opt = getopt_long(argc, argv, "c:h", lopts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			json = true;
			break;
		case 'c':
			cfg_path = optarg;
			break;
		case 'M':
			metrics = optarg;
			break;
		case 'P':
			pin_dir = optarg;
			break;
		case 'h':
			stats_usage(stdout);
			return BV_EXIT_OK;
		default:
			fprintf(stderr, "See 'beaconveil stats --help'.\n");
			return BV_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, PFX "unexpected argument '%s' (see 'beaconveil stats --help')\n",
			argv[optind]);
		return BV_EXIT_USAGE;
	}
	if (metrics && bv_metrics_parse_addr(metrics, &ss, &sslen, err, sizeof(err))) {
		fprintf(stderr, PFX "--metrics: %s\n", err);
		return BV_EXIT_USAGE;
	}
	snprintf(addr, sizeof(addr), "127.0.0.1:9477");
	if (cfg_path) {
		struct bv_config cfg;

		if (bv_config_load(&cfg, cfg_path, err, sizeof(err))) {
			fprintf(stderr, PFX "%s\n", err);
			return BV_EXIT_RUNTIME;
		}
		snprintf(addr, sizeof(addr), "%s", cfg.metrics_addr);
		bv_config_free(&cfg);
	}
	if (metrics)
		snprintf(addr, sizeof(addr), "%s", metrics);

	fd = open_stats(pin_dir, err, sizeof(err));
	if (fd < 0) {
		fprintf(stderr, PFX "%s\n", err);
		return BV_EXIT_RUNTIME;
	}
	if (bv_stats_read(fd, st)) {
		fprintf(stderr, PFX "reading %s/bv_stats: %s\n", pin_dir, strerror(errno));
		close(fd);
		return BV_EXIT_RUNTIME;
	}
	close(fd);
	for (int d = 0; d < BV_DEC_MAX; d++)
		total += st[d];

	/* The figures the daemon once counted itself, now the kernel's. */
	fd = open_pin(pin_dir, "bv_ifdec", ifwhy, sizeof(ifwhy));
	if (fd >= 0) {
		if (bv_ifdec_named(fd, NULL, 0, &ifrows, &nif) == 0)
			nif = ifdec_table(ifrows, nif, &ifnames, &ifdec);
		else
			snprintf(ifwhy, sizeof(ifwhy), "reading %s/bv_ifdec: %s", pin_dir,
				 strerror(errno));
		close(fd);
	}
	fd = open_pin(pin_dir, "bv_events", evwhy, sizeof(evwhy));
	if (fd >= 0) {
		if (bv_events_counts(fd, &ev_received, &ev_pending) == 0)
			have_ev = true;
		else
			snprintf(evwhy, sizeof(evwhy), "reading %s/bv_events: %s", pin_dir,
				 strerror(errno));
		close(fd);
	}

	if (bv_metrics_fetch(addr, FETCH_TIMEOUT_MS, &body, &blen, ferr, sizeof(ferr)) == 0) {
		if (bv_prom_parse(body, blen, &doc, err, sizeof(err)) == 0)
			have_doc = true;
		else
			snprintf(ferr, sizeof(ferr), "%s/metrics: not Prometheus text (%s)", addr, err);
		free(body);
	}
	if (have_doc)
		napps = prom_table(&doc, "beaconveil_app_decisions_total", "app", &appnames, &appdec);

	if (json) {
		printf("{\n  \"pin_dir\": ");
		jstr(stdout, pin_dir);
		printf(",\n  \"decisions\": {");
		for (int d = 0; d < BV_DEC_MAX; d++)
			printf("%s\n    \"%s\": %llu", d ? "," : "", bv_decision_name(d),
			       (unsigned long long)st[d]);
		printf("\n  },\n  \"decisions_total\": %llu,\n  \"counters\": {", (unsigned long long)total);
		for (int s = BV_DEC_MAX; s < BV_ST_MAX; s++)
			printf("%s\n    \"%s\": %llu", s > BV_DEC_MAX ? "," : "", bv_stat_name(s),
			       (unsigned long long)st[s]);
		printf("\n  }");
		if (ifnames)
			dec_table_json(stdout, "  ", "interfaces", nif, ifnames, ifdec);
		if (have_ev)
			printf(",\n  \"events\": { \"received\": %llu, \"pending\": %llu }",
			       (unsigned long long)ev_received, (unsigned long long)ev_pending);
		printf(",\n  \"daemon\": {\n    \"metrics\": ");
		jstr(stdout, addr);
		printf(",\n    \"reachable\": %s", have_doc ? "true" : "false");
		if (!have_doc) {
			printf(",\n    \"error\": ");
			jstr(stdout, ferr);
		} else {
			const char *kvm[] = { NULL };
			const struct bv_prom_sample *info = bv_prom_find(&doc, "beaconveil_info", kvm);
			const char *mode = info ? bv_prom_label(info, "mode") : NULL;

			if (mode) {
				printf(",\n    \"mode\": ");
				jstr(stdout, mode);
			}
			for (size_t i = 0; i < sizeof(scalars) / sizeof(scalars[0]); i++) {
				bool found;
				double v = val(&doc, scalars[i].metric, NULL, &found);

				if (!found)
					continue;
				printf(",\n    \"%s\": ", scalars[i].key);
				jnum(stdout, v);
			}
			dec_table_json(stdout, "    ", "apps", napps, appnames, appdec);
		}
		printf("\n  }\n}\n");
	} else {
		printf("Kernel counters (%s/bv_stats, all CPUs)\n\nDecisions\n", pin_dir);
		for (int d = 0; d < BV_DEC_MAX; d++)
			printf("  %-22s %14llu\n", bv_decision_name(d), (unsigned long long)st[d]);
		printf("  %-22s %14llu\n\nCounters\n", "total", (unsigned long long)total);
		for (int s = BV_DEC_MAX; s < BV_ST_MAX; s++)
			printf("  %-22s %14llu  %s\n", bv_stat_name(s), (unsigned long long)st[s],
			       stat_desc[s - BV_DEC_MAX] ? stat_desc[s - BV_DEC_MAX] : "");
		dec_table_text("Decisions per interface (bv_ifdec, all CPUs)", "interface", nif,
			       ifnames, ifdec);
		if (have_ev)
			printf("\nEvents (bv_events)\n  %-22s %14llu  read by a daemon\n"
			       "  %-22s %14llu  waiting to be read\n", "received",
			       (unsigned long long)ev_received, "pending",
			       (unsigned long long)ev_pending);
		if (have_doc) {
			const struct bv_prom_sample *info = bv_prom_find(&doc, "beaconveil_info", NULL);
			const char *mode = info ? bv_prom_label(info, "mode") : NULL;

			printf("\nDaemon (%s%s%s)\n", addr, mode ? ", mode " : "", mode ? mode : "");
			for (size_t i = 0; i < sizeof(scalars) / sizeof(scalars[0]); i++) {
				bool found;
				double v = val(&doc, scalars[i].metric, NULL, &found);

				if (found)
					printf("  %-42s %14.0f\n", scalars[i].text, v);
			}
			dec_table_text("Decisions per application (at least k distinct visitors)", "app",
				       napps, appnames, appdec);
		}
	}
	if (ifwhy[0])
		fprintf(stderr, PFX "no per-interface figures: %s\n", ifwhy);
	if (evwhy[0])
		fprintf(stderr, PFX "no event figures: %s\n", evwhy);
	if (!have_doc)
		fprintf(stderr, PFX "no daemon figures: %s (kernel counters only)\n", ferr);
	free(ifrows);
	free(ifnames);
	free(ifdec);
	free(appnames);
	free(appdec);
	bv_prom_doc_free(&doc);
	return fflush(stdout) ? BV_EXIT_RUNTIME : BV_EXIT_OK;
}
