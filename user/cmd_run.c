/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * beaconveil run -i IFACE[,IFACE...] [-c CONFIG] [--mode inline|mirror]
 *                [--xdp-mode native|skb] [--metrics ADDR:PORT] [--egress IFACE]
 *
 * The daemon (docs/DAEMON.md): attaches the XDP program through libxdp's
 * multiprog dispatcher (one instance per interface, sharing the maps pinned
 * under /sys/fs/bpf/beaconveil), or adopts the instance a previous daemon
 * left attached; writes the config into the maps; rotates the event hash
 * key; reads the event ring buffer into the analytics; serves metrics; on
 * SIGHUP rewrites the maps from the config file; on SIGTERM/SIGINT detaches
 * and exits 0, leaving the pinned maps (policy, counters, flows) in place.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bv_abi.h"
#include "analytics.h"
#include "attach.h"
#include "cmd.h"
#include "config.h"
#include "fleet.h"
#include "loader.h"
#include "metrics.h"
#include "pins.h"
#include "runlock.h"
#include "beaconveil.skel.h"

#define PFX "beaconveil run: "
#define MAX_IFACES 32
#define DEFAULT_METRICS "127.0.0.1:9477"

#ifndef CAP_BPF
#define CAP_BPF 39
#endif

struct iface {
	char name[IF_NAMESIZE];
	int ifindex;
	int lock_fd;
	struct beaconveil_bpf *skel; /* the instance we attached (NULL: adopted) */
	__u32 prog_id;
	int prog_fd;
	bool adopted;
	bool attached;               /* by this run: detach on failure */
	bool legacy;                 /* attached without libxdp's dispatcher */
	bool gone;                   /* the interface disappeared (logged once) */
};

struct daemon {
	const char *cfg_path;
	struct bv_config cfg;        /* as applied (anon key filled in) */
	bool cfg_loaded;
	enum bv_mode mode;
	enum xdp_attach_mode xmode;
	char metrics_cli[64];        /* --metrics, wins over the config */
	char metrics_addr[64];       /* in use */
	const char *egress_name;
	int egress_ifindex;
	struct iface ifs[MAX_IFACES];
	int nifs;
	int daemon_lock;
	struct bv_pins pins;
	struct bv_analytics *an;
	struct bv_metrics *mx;
	struct ring_buffer *rb;
	const char *ifnames[MAX_IFACES];
	__u64 next_rotation;         /* CLOCK_BOOTTIME ns */
	__u64 last_rotation;
	__u32 epoch;
	unsigned long long bad_events;
	bool pin_failed;             /* the last periodic re-pin failed (logged once) */
	struct bv_fleet *fleet;      /* [fleet] redis, else NULL */
	__s64 fleet_period;          /* the key period bv_keys was written for */
	bool fleet_shared;           /* bv_keys holds the fleet's key of that period */
	__u64 fleet_key[2];
};

static void run_usage(FILE *f)
{
	fprintf(f,
		"Usage: beaconveil run -i IFACE[,IFACE...] [-c CONFIG] [--mode inline|mirror]\n"
		"                      [--xdp-mode native|skb] [--metrics ADDR:PORT]\n"
		"                      [--egress IFACE]\n"
		"\n"
		"The daemon: attaches the XDP program to each IFACE through libxdp's\n"
		"multiprog dispatcher (other XDP programs keep running), pins its maps\n"
		"under /sys/fs/bpf/beaconveil (mounting bpffs if needed), writes the\n"
		"configured policy, rotates the event hash key, counts sessions and\n"
		"visitors from the kernel's events and serves Prometheus metrics, until\n"
		"SIGTERM or SIGINT, when it detaches and exits 0. The pinned maps stay:\n"
		"policy, counters and flow state survive a restart ('beaconveil unload'\n"
		"removes them). SIGHUP re-reads CONFIG and rewrites the maps from it.\n"
		"\n"
		"If a previous daemon died (even by SIGKILL) its program is still\n"
		"attached and enforcing; a new daemon adopts it (no second attach) and\n"
		"the counters continue.\n"
		"\n"
		"Options:\n"
		"  -i, --interface IFACE[,IFACE]  interfaces to serve (repeatable)\n"
		"  -c, --config FILE      config file (docs/CONFIG.md); default: built-in\n"
		"                         defaults\n"
		"  -m, --mode MODE        inline (default: collector NIC, payload rewrites\n"
		"                         only, kept packets go to the stack) or mirror\n"
		"                         (copy of traffic: L3 masked too, kept packets\n"
		"                         redirected out of --egress)\n"
		"  -x, --xdp-mode MODE    native (default; needs driver support) or skb\n"
		"                         (generic XDP, any interface, much slower). There\n"
		"                         is no silent fall back from native to skb.\n"
		"      --metrics ADDR:PORT  metrics endpoint (IPv4:PORT or [IPv6]:PORT);\n"
		"                         default: the config's [daemon] metrics, else\n"
		"                         127.0.0.1:9477\n"
		"  -e, --egress IFACE     mirror mode: where kept packets are sent\n"
		"                         (required with --mode mirror)\n"
		"  -h, --help             this help\n"
		"\n"
		"One daemon per host: lock files /run/beaconveil/IFACE.lock and\n"
		"/run/beaconveil/daemon.lock. Needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN,\n"
		"CAP_BPF). Details: docs/DAEMON.md.\n"
		"Exit status: 0 stopped cleanly, 1 runtime error, 2 usage error.\n");
}

/* ---- small helpers ------------------------------------------------------ */

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
{
	va_list ap;

	fputs(PFX, stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
}

static __u64 now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
}

/* "IPv4:PORT" or "[IPv6]:PORT", numeric, port 1..65535. */
static int addr_port_ok(const char *s)
{
	char host[64];
	const char *colon;
	unsigned char buf[16];
	char *end;
	long port;
	size_t n;

	if (s[0] == '[') {
		const char *rb = strchr(s, ']');
		if (!rb || rb[1] != ':')
			return 0;
		n = (size_t)(rb - s - 1);
		if (n == 0 || n >= sizeof(host))
			return 0;
		memcpy(host, s + 1, n);
		host[n] = '\0';
		if (inet_pton(AF_INET6, host, buf) != 1)
			return 0;
		colon = rb + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return 0;
		n = (size_t)(colon - s);
		if (n == 0 || n >= sizeof(host))
			return 0;
		memcpy(host, s, n);
		host[n] = '\0';
		if (inet_pton(AF_INET, host, buf) != 1)
			return 0;
	}
	if (colon[1] < '0' || colon[1] > '9')
		return 0;
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	return !errno && !*end && port >= 1 && port <= 65535;
}

/* Root-like enough to load, attach and pin? Missing capability names in out. */
static bool have_privileges(char *out, size_t outlen)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[2];
	static const struct { int cap; const char *name; } need[] = {
		{ CAP_SYS_ADMIN, "CAP_SYS_ADMIN" },
		{ CAP_NET_ADMIN, "CAP_NET_ADMIN" },
		{ CAP_BPF, "CAP_BPF" },
	};
	bool ok = true;

	out[0] = '\0';
	memset(d, 0, sizeof(d));
	if (syscall(SYS_capget, &h, d))
		return true; /* cannot tell: let the operations say */
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		int c = need[i].cap;
		bool has = d[c / 32].effective & (1u << (c % 32));

		/* CAP_SYS_ADMIN covers CAP_BPF on every kernel */
		if (!has && c == CAP_BPF && (d[CAP_SYS_ADMIN / 32].effective &
					     (1u << (CAP_SYS_ADMIN % 32))))
			has = true;
		if (!has) {
			size_t l = strlen(out);
			snprintf(out + l, outlen - l, "%s%s", l ? ", " : "", need[i].name);
			ok = false;
		}
	}
	return ok;
}

static const char *mode_name(enum bv_mode m)
{
	return m == BV_MODE_MIRROR ? "mirror" : m == BV_MODE_PCAP ? "pcap" : "inline";
}

/* ---- startup ------------------------------------------------------------ */

static int add_ifaces(struct daemon *d, const char *list)
{
	char buf[1024], *save = NULL, *tok;

	if (strlen(list) >= sizeof(buf)) {
		fprintf(stderr, PFX "interface list too long\n");
		return -1;
	}
	snprintf(buf, sizeof(buf), "%s", list);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!*tok)
			continue;
		if (strlen(tok) >= IF_NAMESIZE) {
			fprintf(stderr, PFX "interface name '%s' is too long (max %d bytes)\n",
				tok, IF_NAMESIZE - 1);
			return -1;
		}
		for (int i = 0; i < d->nifs; i++) {
			if (!strcmp(d->ifs[i].name, tok)) {
				fprintf(stderr, PFX "interface %s given twice\n", tok);
				return -1;
			}
		}
		if (d->nifs >= MAX_IFACES) {
			fprintf(stderr, PFX "too many interfaces (max %d)\n", MAX_IFACES);
			return -1;
		}
		snprintf(d->ifs[d->nifs].name, IF_NAMESIZE, "%s", tok);
		d->ifs[d->nifs].lock_fd = -1;
		d->ifs[d->nifs].prog_fd = -1;
		d->nifs++;
	}
	return 0;
}

static int take_locks(struct daemon *d, char *err, size_t errlen)
{
	char content[1100], why[300];
	size_t l;
	pid_t holder;

	snprintf(content, sizeof(content), "%d\n", (int)getpid());
	for (int i = 0; i < d->nifs; i++) {
		d->ifs[i].lock_fd = bv_lock_take(d->ifs[i].name, content, &holder, why, sizeof(why));
		if (d->ifs[i].lock_fd < 0) {
			if (holder)
				snprintf(err, errlen,
					 "%s is already served by a beaconveil daemon (pid %d; lock "
					 "%s/%s.lock): stop it first (kill -TERM %d), see "
					 "'beaconveil status'", d->ifs[i].name, (int)holder,
					 BV_RUN_DIR, d->ifs[i].name, (int)holder);
			else
				snprintf(err, errlen, "%s", why);
			return -1;
		}
	}
	l = (size_t)snprintf(content, sizeof(content), "%d\n", (int)getpid());
	for (int i = 0; i < d->nifs && l < sizeof(content); i++)
		l += (size_t)snprintf(content + l, sizeof(content) - l, "%s%s", i ? "," : "",
				      d->ifs[i].name);
	if (l < sizeof(content) - 1)
		strcat(content, "\n");
	d->daemon_lock = bv_lock_take("daemon", content, &holder, why, sizeof(why));
	if (d->daemon_lock < 0) {
		char extra[512] = "";
		pid_t p = 0;

		if (holder) {
			bv_lock_probe("daemon", &p, extra, sizeof(extra), why, sizeof(why));
			snprintf(err, errlen,
				 "another beaconveil daemon (pid %d) serves %s; the maps pinned "
				 "under %s (and their one event stream) belong to one daemon per "
				 "host: stop it (kill -TERM %d) and start one daemon for all "
				 "interfaces (beaconveil run -i %s,...)", (int)holder,
				 extra[0] ? extra : "other interfaces", BV_PIN_DIR, (int)holder,
				 extra[0] ? extra : "IFACE");
		} else {
			snprintf(err, errlen, "%s", why);
		}
		return -1;
	}
	return 0;
}

/*
 * Adoption: if our program is attached to f, check it fits this run and
 * record it. 0 adopted or nothing there (f->adopted says), -1 error.
 */
static int find_existing(struct daemon *d, struct iface *f, const struct beaconveil_bpf *ref,
			 char *err, size_t errlen)
{
	struct bv_xdp_state st;
	char why[200];
	int m;

	if (bv_xdp_query(f->ifindex, &st, err, errlen))
		return -1;
	if (!st.ours) {
		bv_xdp_state_free(&st);
		return 0;
	}
	if (st.nours > 1) {
		snprintf(err, errlen, "%s has %d beaconveil programs attached: remove them with "
			 "'beaconveil unload -i %s' and start again", f->name, st.nours, f->name);
		goto fail;
	}
	if (st.mode != d->xmode) {
		snprintf(err, errlen,
			 "%s already has beaconveil attached in %s mode (left by an earlier "
			 "daemon); this run asks for %s: start with --xdp-mode %s, or detach it "
			 "first with 'beaconveil unload -i %s'", f->name,
			 bv_xdp_mode_name(st.mode), bv_xdp_mode_name(d->xmode),
			 bv_xdp_mode_name(st.mode), f->name);
		goto fail;
	}
	f->prog_id = xdp_program__id(st.ours);
	f->prog_fd = bpf_prog_get_fd_by_id(f->prog_id);
	if (f->prog_fd < 0) {
		snprintf(err, errlen, "cannot open the program attached to %s (id %u): %s",
			 f->name, f->prog_id, strerror(errno));
		goto fail;
	}
	m = bv_prog_bv_mode(f->prog_fd, ref);
	if (m != (int)d->mode) {
		snprintf(err, errlen,
			 "%s already has beaconveil attached in %s mode (left by an earlier "
			 "daemon); this run asks for --mode %s: start with --mode %s, or detach "
			 "it first with 'beaconveil unload -i %s'", f->name,
			 m < 0 ? "an unknown" : mode_name((enum bv_mode)m), mode_name(d->mode),
			 m < 0 ? "?" : mode_name((enum bv_mode)m), f->name);
		goto fail;
	}
	/* its maps must be of this version */
	for (int i = 0; i < BV_NPINS; i++) {
		const char *name = bv_pin_names[i];
		const struct bpf_map *def = bpf_object__find_map_by_name(ref->obj, name);
		int fd = bv_prog_map_fd(f->prog_fd, name);

		if (fd < 0 || !def ||
		    bv_map_layout_matches(fd, def, false, why, sizeof(why)) != 1) {
			snprintf(err, errlen,
				 "%s runs a beaconveil program of another version (map %s: %s): "
				 "detach it with 'beaconveil unload -i %s' and start again",
				 f->name, name, fd < 0 || !def ? "missing" : why, f->name);
			if (fd >= 0)
				close(fd);
			goto fail;
		}
		close(fd);
	}
	f->adopted = true;
	f->legacy = st.legacy;
	bv_xdp_state_free(&st);
	return 0;
fail:
	if (f->prog_fd >= 0)
		close(f->prog_fd);
	f->prog_fd = -1;
	bv_xdp_state_free(&st);
	return -1;
}

/*
 * The pins against this version and the adopted programs. Sets *flows_max
 * to the size the new instances must give bv_flows (0: the config's).
 */
static int check_pins(struct daemon *d, const struct beaconveil_bpf *ref, __u32 *flows_max,
		      char *err, size_t errlen)
{
	const struct iface *adopt = NULL;
	char path[256], why[200];
	unsigned present = bv_pins_present();

	*flows_max = 0;
	for (int i = 0; i < d->nifs; i++)
		if (d->ifs[i].adopted && !adopt)
			adopt = &d->ifs[i];

	for (int i = 0; i < BV_NPINS; i++) {
		const char *name = bv_pin_names[i];
		const struct bpf_map *def = bpf_object__find_map_by_name(ref->obj, name);
		int fd;

		bv_pin_path(name, path, sizeof(path));
		fd = bpf_obj_get(path);
		if (fd < 0) {
			if (errno != ENOENT) {
				snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
				return -1;
			}
			if (adopt) {
				/* removed by hand while the program ran: pin its map again */
				int mfd = bv_prog_map_fd(adopt->prog_fd, name);

				if (mfd < 0 || bpf_obj_pin(mfd, path)) {
					snprintf(err, errlen, "%s is missing and cannot be pinned "
						 "again from the program on %s: %s", path,
						 adopt->name, strerror(errno));
					if (mfd >= 0)
						close(mfd);
					return -1;
				}
				logf_("%s was missing: pinned it again from the program on %s",
				      path, adopt->name);
				close(mfd);
			} else if (present) {
				/* e.g. bv_ifdec under the pins of an older version */
				logf_("%s was not pinned next to the other maps (new in this "
				      "version, or removed by hand): it starts empty", path);
			}
			continue;
		}
		if (bv_map_layout_matches(fd, def, false, why, sizeof(why)) != 1) {
			snprintf(err, errlen,
				 "pinned map %s was made by another version of beaconveil (%s): "
				 "remove it (rm %s; what it holds is lost) or remove every pin "
				 "with 'beaconveil unload'", path, why, path);
			close(fd);
			return -1;
		}
		for (int j = 0; j < d->nifs; j++) {
			if (d->ifs[j].adopted && !bv_prog_uses_map(d->ifs[j].prog_fd, bv_fd_id(fd))) {
				snprintf(err, errlen,
					 "%s is not the map the program attached to %s uses (the "
					 "pins were replaced while it ran): run 'beaconveil unload' "
					 "and start again", path, d->ifs[j].name);
				close(fd);
				return -1;
			}
		}
		if (!strcmp(name, "bv_flows")) {
			struct bpf_map_info mi;
			__u32 len = sizeof(mi);

			memset(&mi, 0, sizeof(mi));
			if (bpf_obj_get_info_by_fd(fd, &mi, &len) == 0 &&
			    mi.max_entries != d->cfg.max_flows) {
				if (adopt) {
					logf_("max_flows %u differs from the running program's bv_flows "
					      "(%u entries): keeping %u until 'beaconveil unload' and "
					      "a new start", d->cfg.max_flows, mi.max_entries,
					      mi.max_entries);
					*flows_max = mi.max_entries;
				} else {
					/* flow state only: recreate at the configured size */
					if (unlink(path)) {
						snprintf(err, errlen, "cannot remove %s to resize it: %s",
							 path, strerror(errno));
						close(fd);
						return -1;
					}
					logf_("max_flows changed (%u -> %u): %s recreated, tracked "
					      "connections forgotten", mi.max_entries,
					      d->cfg.max_flows, path);
				}
			}
		}
		close(fd);
	}
	return 0;
}

/*
 * libxdp attaches without its dispatcher when the kernel refuses the
 * dispatcher's freplace (BPF_PROG_TYPE_EXT) programs; it says so only in
 * its debug output. Say it plainly: no other XDP program can share f.
 */
static void warn_if_legacy(struct iface *f)
{
	struct bv_xdp_state st;
	char err[256];

	if (bv_xdp_query(f->ifindex, &st, err, sizeof(err)))
		return;
	f->legacy = st.legacy;
	if (st.legacy)
		logf_("WARNING: %s: libxdp attached beaconveil without its multiprog dispatcher "
		      "(this kernel refused the dispatcher's freplace programs; LIBXDP_DEBUG=1 "
		      "shows why): no other XDP program can run on %s next to it",
		      f->name, f->name);
	bv_xdp_state_free(&st);
}

static int attach_new(struct daemon *d, struct iface *f, __u32 flows_max, char *err,
		      size_t errlen)
{
	struct bv_load_opts lo = { .mode = d->mode, .pin = true,
				   .max_flows = flows_max ? flows_max : d->cfg.max_flows };

	f->skel = bv_open(&lo, err, errlen);
	if (!f->skel)
		return -1;
	if (bv_xdp_attach(f->skel, f->ifindex, f->name, d->xmode, &f->prog_id, err, errlen)) {
		beaconveil_bpf__destroy(f->skel);
		f->skel = NULL;
		return -1;
	}
	f->attached = true;
	f->prog_fd = bpf_prog_get_fd_by_id(f->prog_id);
	if (f->prog_fd < 0) {
		snprintf(err, errlen, "cannot open the program just attached to %s: %s", f->name,
			 strerror(errno));
		return -1;
	}
	warn_if_legacy(f);
	return 0;
}

static int set_egress(struct daemon *d, char *err, size_t errlen)
{
	for (int i = 0; i < d->nifs; i++) {
		struct iface *f = &d->ifs[i];
		__u32 zero = 0, v = (__u32)d->egress_ifindex;
		int fd = bv_prog_map_fd(f->prog_fd, "bv_egress");

		if (fd < 0) {
			snprintf(err, errlen, "the program on %s has no bv_egress map", f->name);
			return -1;
		}
		if (bpf_map_update_elem(fd, &zero, &v, BPF_ANY)) {
			int e = errno;
			snprintf(err, errlen,
				 "cannot set --egress %s for %s: %s%s", d->egress_name, f->name,
				 strerror(e), e == EINVAL || e == EOPNOTSUPP ?
				 " (the egress interface must support XDP redirect)" : "");
			close(fd);
			return -1;
		}
		close(fd);
	}
	return 0;
}

/* Fills the config's anonymization key when unset: the one in the map, else random. */
static int fill_anon_key(struct daemon *d, struct bv_config *c, char *err, size_t errlen)
{
	struct bv_settings cur;
	__u32 zero = 0;

	if (c->settings.anon_key[0] || c->settings.anon_key[1])
		return 0;
	memset(&cur, 0, sizeof(cur));
	if (bpf_map_lookup_elem(d->pins.settings, &zero, &cur) == 0 &&
	    (cur.anon_key[0] || cur.anon_key[1])) {
		c->settings.anon_key[0] = cur.anon_key[0];
		c->settings.anon_key[1] = cur.anon_key[1];
		return 0;
	}
	if (bv_random128(c->settings.anon_key)) {
		snprintf(err, errlen, "getrandom: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static int apply_config(struct daemon *d, struct bv_config *c, char *err, size_t errlen)
{
	struct bv_map_fds fds;

	if (fill_anon_key(d, c, err, errlen))
		return -1;
	bv_pins_fds(&d->pins, &fds);
	return bv_config_apply(c, &fds, err, errlen);
}

/*
 * Fleet mode: the kernel hashes with the fleet's key of the current period
 * (the same on every node), or, while Redis cannot be asked for it, a
 * node-local random key whose hashes the fleet never gets. Either way a new
 * epoch, as every rotation.
 */
static int rotate_fleet_key(struct daemon *d, char *err, size_t errlen)
{
	__s64 n = bv_fleet_period(d->fleet, now_ns(CLOCK_REALTIME) / 1000000);
	__u64 k[2];

	if (bv_fleet_key(d->fleet, n, 1, k) == 0) {
		if (bv_hash_key_set(d->pins.keys, k, &d->epoch, err, errlen))
			return -1;
		memcpy(d->fleet_key, k, sizeof(k));
		d->fleet_shared = true;
		bv_fleet_bind(d->fleet, d->epoch, n);
	} else {
		if (bv_hash_key_rotate(d->pins.keys, &d->epoch, err, errlen))
			return -1;
		d->fleet_shared = false;
		bv_fleet_bind(d->fleet, d->epoch, -1);
	}
	memset(k, 0, sizeof(k));
	d->fleet_period = n;
	return 0;
}

static int rotate_key(struct daemon *d, char *err, size_t errlen)
{
	__u64 now = now_ns(CLOCK_BOOTTIME);

	if (d->fleet ? rotate_fleet_key(d, err, errlen) :
	    bv_hash_key_rotate(d->pins.keys, &d->epoch, err, errlen))
		return -1;
	d->last_rotation = now;
	d->next_rotation = now + (__u64)d->cfg.key_rotation_s * 1000000000ull;
	return 0;
}

static void fleet_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fleet_log(const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	logf_("%s", line);
}

/*
 * Fleet mode: connects (once, within the timeout; a Redis that does not
 * answer is no reason not to enforce), and finds out whether the key the
 * last daemon left in bv_keys is the fleet's of this period or the one
 * before: then the events still waiting in the ring are shared with it.
 */
static int start_fleet(struct daemon *d, char *err, size_t errlen)
{
	struct bv_fleet_opts fo = {
		.url = d->cfg.fleet_redis, .period_s = d->cfg.key_rotation_s,
		.session_timeout_s = d->cfg.session_timeout_s,
		.visitor_lifetime_s = d->cfg.fleet_visitor_lifetime_s,
		.k = d->cfg.k_anonymity, .log = fleet_log,
	};
	struct bv_hash_key old;
	__u32 zero = 0;
	__u64 k[2];
	__s64 n;

	d->fleet = bv_fleet_new(&fo, err, errlen);
	if (!d->fleet)
		return -1;
	bv_fleet_tick(d->fleet, now_ns(CLOCK_REALTIME) / 1000000, now_ns(CLOCK_MONOTONIC));
	n = bv_fleet_period(d->fleet, now_ns(CLOCK_REALTIME) / 1000000);
	if (bpf_map_lookup_elem(d->pins.keys, &zero, &old) || !old.epoch)
		return 0;
	for (__s64 m = n; m >= n - 1; m--) {
		if (bv_fleet_key(d->fleet, m, m == n, k) == 0 && !memcmp(k, old.k, sizeof(k))) {
			bv_fleet_bind(d->fleet, old.epoch, m);
			logf_("fleet: the events waiting in the ring (epoch %u) were hashed with the "
			      "fleet's key: they are shared", old.epoch);
			break;
		}
	}
	memset(k, 0, sizeof(k));
	memset(&old, 0, sizeof(old));
	return 0;
}

static const char *metrics_addr_of(const struct daemon *d, const struct bv_config *c)
{
	if (d->metrics_cli[0])
		return d->metrics_cli;
	return c->metrics_addr[0] ? c->metrics_addr : DEFAULT_METRICS;
}

static struct bv_metrics *start_metrics(struct daemon *d, const char *addr, char *err,
					size_t errlen)
{
	struct bv_metrics_src src = {
		.stats_fd = d->pins.stats,
		.ifdec_fd = d->pins.ifdec,
		.audit_fd = d->pins.audit,
		.audit_k = d->cfg.k_anonymity,
		.events_fd = d->pins.events,
		.mode = mode_name(d->mode),
		.ifaces = d->ifnames,
		.nifaces = d->nifs,
		.an = d->an,
		.fleet = d->fleet,
	};
	char why[512] = "";
	struct bv_metrics *m = bv_metrics_start(addr, &src, why, sizeof(why));

	if (!m)
		snprintf(err, errlen, "cannot serve metrics on %s: %s", addr,
			 why[0] ? why : "failed");
	return m;
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct daemon *d = ctx;

	if (size < sizeof(struct bv_event)) {
		d->bad_events++;
		return 0;
	}
	bv_analytics_event(d->an, data);
	if (d->fleet)
		bv_fleet_event(d->fleet, data, bv_analytics_tracks(d->an, data));
	return 0;
}

/* Detaches what this run attached or adopted. 0 ok, -1 (messages printed). */
static int detach_all(struct daemon *d, bool only_new)
{
	char err[1024];
	int ret = 0;

	for (int i = 0; i < d->nifs; i++) {
		struct iface *f = &d->ifs[i];
		int r;

		if (!f->prog_id || (only_new && !f->attached))
			continue;
		r = bv_xdp_detach_id(f->ifindex, f->prog_id, err, sizeof(err));
		if (r < 0) {
			logf_("%s: %s", f->name, err);
			ret = -1;
		} else if (r == 1) {
			logf_("%s: program id %u was no longer attached", f->name, f->prog_id);
		} else if (!only_new) {
			logf_("detached from %s (program id %u)", f->name, f->prog_id);
		}
	}
	return ret;
}

/* ---- the running daemon ------------------------------------------------- */

static void reload(struct daemon *d)
{
	struct bv_config nc;
	char err[2048];
	const char *old_addr, *new_addr;

	if (d->cfg_path) {
		if (bv_config_load(&nc, d->cfg_path, err, sizeof(err))) {
			logf_("SIGHUP: %s; keeping the previous configuration", err);
			return;
		}
	} else {
		bv_config_defaults(&nc);
	}
	if (nc.max_flows != d->cfg.max_flows)
		logf_("SIGHUP: max_flows change (%u -> %u) takes effect only after "
		      "'beaconveil unload' and a new start", d->cfg.max_flows, nc.max_flows);
	nc.max_flows = d->cfg.max_flows;
	if (apply_config(d, &nc, err, sizeof(err))) {
		logf_("SIGHUP: %s; the maps may hold part of the new configuration", err);
		bv_config_free(&nc);
		return;
	}
	bv_analytics_reconfigure(d->an, &nc);
	if (strcmp(nc.fleet_redis, d->cfg.fleet_redis) || nc.key_rotation_s != d->cfg.key_rotation_s) {
		if (strcmp(nc.fleet_redis, d->cfg.fleet_redis))
			logf_("SIGHUP: a [fleet] redis change takes effect at the next start");
		else if (d->fleet)
			logf_("SIGHUP: a key_rotation change takes effect in a fleet at the next start");
		snprintf(nc.fleet_redis, sizeof(nc.fleet_redis), "%s", d->cfg.fleet_redis);
		if (d->fleet)
			nc.key_rotation_s = d->cfg.key_rotation_s;
	}
	if (d->fleet) {
		struct bv_fleet_opts fo = { .session_timeout_s = nc.session_timeout_s,
					    .visitor_lifetime_s = nc.fleet_visitor_lifetime_s,
					    .k = nc.k_anonymity };

		bv_fleet_reconfigure(d->fleet, &fo);
	}

	old_addr = metrics_addr_of(d, &d->cfg);
	new_addr = metrics_addr_of(d, &nc);
	if (strcmp(old_addr, new_addr)) {
		struct bv_metrics *m = start_metrics(d, new_addr, err, sizeof(err));

		if (m) {
			bv_metrics_stop(d->mx);
			d->mx = m;
			snprintf(d->metrics_addr, sizeof(d->metrics_addr), "%s", new_addr);
			logf_("SIGHUP: metrics now on http://%s/metrics", new_addr);
		} else {
			logf_("SIGHUP: %s; metrics stay on %s", err, old_addr);
			snprintf(nc.metrics_addr, sizeof(nc.metrics_addr), "%s", d->cfg.metrics_addr);
		}
	}
	if (nc.key_rotation_s != d->cfg.key_rotation_s && !d->fleet)
		d->next_rotation = d->last_rotation + (__u64)nc.key_rotation_s * 1000000000ull;
	bv_config_free(&d->cfg);
	d->cfg = nc;
	logf_("SIGHUP: configuration %s applied to the maps", d->cfg_path ? d->cfg_path :
	      "(built-in defaults)");
}

/* user_tracking is read by the daemon: follow a live change of bv_policy[0]. */
/*
 * Interfaces come and go (driver reload, VF reset, a veth re-created): one
 * that disappears is logged; one that comes back under the same name is a
 * new interface without our program, so it is attached again at once,
 * never left serving beacons unmasked while `status` names it.
 */
static void watch_ifaces(struct daemon *d)
{
	char err[1024];

	for (int i = 0; i < d->nifs; i++) {
		struct iface *f = &d->ifs[i];
		int idx = (int)if_nametoindex(f->name);

		if (idx == f->ifindex && !f->gone)
			continue;
		if (idx == 0) {
			if (!f->gone)
				logf_("%s: the interface is gone; beaconveil attaches again if it "
				      "comes back", f->name);
			f->gone = true;
			continue;
		}
		/* back (or re-created under the same name): a new interface */
		if (f->skel) {
			beaconveil_bpf__destroy(f->skel);
			f->skel = NULL;
		}
		if (f->prog_fd >= 0)
			close(f->prog_fd);
		f->prog_fd = -1;
		f->ifindex = idx;
		f->adopted = false;
		f->gone = false;
		if (attach_new(d, f, 0, err, sizeof(err))) {
			logf_("%s: came back but cannot attach: %s", f->name, err);
			f->gone = true;   /* try again at the next tick */
			f->ifindex = 0;
			continue;
		}
		if (d->mode == BV_MODE_MIRROR && set_egress(d, err, sizeof(err)))
			logf_("%s: %s", f->name, err);
		logf_("%s: came back (ifindex %d): attached again", f->name, idx);
	}
}

/*
 * The maps outlive this daemon, and `policy` and `stats` reach them, only
 * while pinned. Unmounting bpffs takes the pins but not the maps (we hold
 * their fds): pin them again once bpffs is back. mount: mount bpffs when
 * nothing is there (SIGHUP, stop); the periodic check does not, so an
 * operator who unmounted it on purpose is not overruled every second.
 * 0 every map pinned; -1 not, the cause in err.
 */
static int keep_pinned(struct daemon *d, const char *when, bool mount, char *err, size_t errlen)
{
	bool was = bv_bpffs_mounted();
	char names[256];

	if (!was && !mount) {
		snprintf(err, errlen, "no bpffs mounted at %s", BV_PIN_ROOT);
		return -1;
	}
	if (bv_pins_restore(&d->pins, names, sizeof(names), err, errlen))
		return -1;
	if (!was)
		logf_("%smounted bpffs at %s (it was gone)", when, BV_PIN_ROOT);
	if (names[0])
		logf_("%spinned again under %s (they were missing): %s", when, BV_PIN_DIR, names);
	return 0;
}

static void follow_live_policy(struct daemon *d)
{
	struct bv_policy p;
	__u32 zero = 0;
	__u8 ut;

	if (bpf_map_lookup_elem(d->pins.policy, &zero, &p))
		return;
	ut = p.valid == 1 && p.user_tracking <= 1 ? p.user_tracking : 0;
	if (ut != d->cfg.global.user_tracking) {
		d->cfg.global.user_tracking = ut;
		bv_analytics_reconfigure(d->an, &d->cfg);
		logf_("user_tracking is now %s (changed live in %s/bv_policy)", ut ? "on" : "off",
		      BV_PIN_DIR);
	}
}

/*
 * Fleet mode, every second: the fleet's tick, then a new key when the
 * period changed, when Redis answers again after a start with a node-local
 * key, or when the fleet's key is not ours (Redis lost it and another node
 * made one). A key rotated by hand (`policy rotate-key`) is node-local.
 */
static void follow_fleet(struct daemon *d)
{
	struct bv_hash_key cur;
	__u32 zero = 0;
	__u64 k[2];
	__s64 n;
	char err[256];
	bool due;

	bv_fleet_tick(d->fleet, now_ns(CLOCK_REALTIME) / 1000000, now_ns(CLOCK_MONOTONIC));
	if (bpf_map_lookup_elem(d->pins.keys, &zero, &cur) == 0 && cur.epoch != d->epoch) {
		logf_("the hash key was rotated by hand (epoch %u): node-local, not shared with "
		      "the fleet until the next period", cur.epoch);
		d->epoch = cur.epoch;
		d->fleet_shared = false;
		bv_fleet_bind(d->fleet, cur.epoch, -1);
	}
	memset(&cur, 0, sizeof(cur));
	n = bv_fleet_period(d->fleet, now_ns(CLOCK_REALTIME) / 1000000);
	due = n != d->fleet_period;
	if (!due && bv_fleet_key(d->fleet, n, 1, k) == 0)
		due = !d->fleet_shared || memcmp(k, d->fleet_key, sizeof(k));
	memset(k, 0, sizeof(k));
	if (!due)
		return;
	if (rotate_key(d, err, sizeof(err)))
		logf_("key rotation: %s", err);
	else
		logf_("hash key rotated (epoch %u): %s", d->epoch, d->fleet_shared ?
		      "the fleet's key of this period" :
		      "node-local: Redis cannot be asked for the fleet's key now");
}

static int serve(struct daemon *d, int sfd)
{
	struct itimerspec its = { .it_interval = { 1, 0 }, .it_value = { 1, 0 } };
	struct epoll_event ev, evs[8];
	int ep = -1, tfd = -1, rbfd, ret = BV_EXIT_RUNTIME;
	char err[1024];

	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (tfd < 0 || ep < 0 || timerfd_settime(tfd, 0, &its, NULL)) {
		logf_("timer: %s", strerror(errno));
		goto out;
	}
	rbfd = ring_buffer__epoll_fd(d->rb);
	ev.events = EPOLLIN;
	ev.data.fd = sfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);
	ev.data.fd = tfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
	ev.data.fd = rbfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, rbfd, &ev);

	for (;;) {
		int n = epoll_wait(ep, evs, 8, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			logf_("epoll: %s", strerror(errno));
			goto out;
		}
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == sfd) {
				struct signalfd_siginfo si;

				if (read(sfd, &si, sizeof(si)) != sizeof(si))
					continue;
				if (si.ssi_signo == SIGHUP) {
					if (keep_pinned(d, "SIGHUP: ", true, err, sizeof(err)))
						logf_("SIGHUP: the maps are not pinned: %s", err);
					reload(d);
				} else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
					logf_("%s: stopping", strsignal((int)si.ssi_signo));
					ring_buffer__consume(d->rb);
					if (d->fleet)
						bv_fleet_flush(d->fleet);
					ret = BV_EXIT_OK;
					goto out;
				}
			} else if (fd == tfd) {
				__u64 ticks;

				if (read(tfd, &ticks, sizeof(ticks)) < 0)
					continue;
				ring_buffer__consume(d->rb);
				follow_live_policy(d);
				watch_ifaces(d);
				if (bv_bpffs_mounted()) {
					bool failed = keep_pinned(d, "", false, err, sizeof(err)) != 0;

					if (failed && !d->pin_failed)
						logf_("the maps are not pinned: %s", err);
					d->pin_failed = failed;
				}
				bv_analytics_tick(d->an, now_ns(CLOCK_MONOTONIC));
				if (d->fleet) {
					bv_fleet_flush(d->fleet);
					follow_fleet(d);
				} else if (now_ns(CLOCK_BOOTTIME) >= d->next_rotation) {
					if (rotate_key(d, err, sizeof(err)))
						logf_("key rotation: %s", err);
					else
						logf_("hash key rotated (epoch %u)", d->epoch);
				}
			} else if (fd == rbfd) {
				ring_buffer__consume(d->rb);
				/* at once: what was read is in Redis before more is */
				if (d->fleet)
					bv_fleet_flush(d->fleet);
			}
		}
	}
out:
	if (tfd >= 0)
		close(tfd);
	if (ep >= 0)
		close(ep);
	return ret;
}

/* ---- main --------------------------------------------------------------- */

int cmd_run(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "interface", required_argument, NULL, 'i' },
		{ "config", required_argument, NULL, 'c' },
		{ "mode", required_argument, NULL, 'm' },
		{ "xdp-mode", required_argument, NULL, 'x' },
		{ "metrics", required_argument, NULL, 'M' },
		{ "egress", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct daemon *d;
	struct beaconveil_bpf *ref = NULL;
	char err[4096] = "", caps[128];
	sigset_t mask;
	int opt, sfd = -1, ret = BV_EXIT_RUNTIME;
	__u32 flows_max = 0;
	bool pinned;

	d = calloc(1, sizeof(*d));
	if (!d) {
		fprintf(stderr, PFX "out of memory\n");
		return BV_EXIT_RUNTIME;
	}
	d->mode = BV_MODE_INLINE;
	d->xmode = XDP_MODE_NATIVE;
	d->daemon_lock = -1;
	bv_pins_init(&d->pins);

	argv[0] = "beaconveil run";
	optind = 0;
	while ((opt = getopt_long(argc, argv, "i:c:m:x:e:h", lopts, NULL)) != -1) {
		switch (opt) {
		case 'i':
			if (add_ifaces(d, optarg)) {
				ret = BV_EXIT_USAGE;
				goto out;
			}
			break;
		case 'c':
			d->cfg_path = optarg;
			break;
		case 'm':
			if (!strcmp(optarg, "inline"))
				d->mode = BV_MODE_INLINE;
			else if (!strcmp(optarg, "mirror"))
				d->mode = BV_MODE_MIRROR;
			else {
				fprintf(stderr, PFX "invalid --mode '%s' (inline or mirror)\n", optarg);
				ret = BV_EXIT_USAGE;
				goto out;
			}
			break;
		case 'x':
			if (!strcmp(optarg, "native"))
				d->xmode = XDP_MODE_NATIVE;
			else if (!strcmp(optarg, "skb"))
				d->xmode = XDP_MODE_SKB;
			else {
				fprintf(stderr, PFX "invalid --xdp-mode '%s' (native or skb)\n",
					optarg);
				ret = BV_EXIT_USAGE;
				goto out;
			}
			break;
		case 'M':
			if (!addr_port_ok(optarg) || strlen(optarg) >= sizeof(d->metrics_cli)) {
				fprintf(stderr, PFX "invalid --metrics '%s' (IPv4:PORT or "
					"[IPv6]:PORT, e.g. 127.0.0.1:9477)\n", optarg);
				ret = BV_EXIT_USAGE;
				goto out;
			}
			snprintf(d->metrics_cli, sizeof(d->metrics_cli), "%s", optarg);
			break;
		case 'e':
			d->egress_name = optarg;
			break;
		case 'h':
			run_usage(stdout);
			ret = BV_EXIT_OK;
			goto out;
		default:
			fprintf(stderr, "See 'beaconveil run --help'.\n");
			ret = BV_EXIT_USAGE;
			goto out;
		}
	}
	ret = BV_EXIT_USAGE;
	if (optind < argc) {
		fprintf(stderr, PFX "unexpected argument '%s' (see 'beaconveil run --help')\n",
			argv[optind]);
		goto out;
	}
	if (!d->nifs) {
		fprintf(stderr, PFX "which interface? give -i IFACE[,IFACE] (see 'beaconveil "
			"run --help')\n");
		goto out;
	}
	if (d->mode == BV_MODE_MIRROR && !d->egress_name) {
		fprintf(stderr, PFX "--mode mirror needs --egress IFACE (where kept packets "
			"are sent)\n");
		goto out;
	}
	if (d->mode != BV_MODE_MIRROR && d->egress_name) {
		fprintf(stderr, PFX "--egress is for --mode mirror only (inline mode passes "
			"kept packets to the local stack)\n");
		goto out;
	}
	for (int i = 0; d->egress_name && i < d->nifs; i++) {
		if (!strcmp(d->ifs[i].name, d->egress_name)) {
			fprintf(stderr, PFX "--egress %s is also an input interface (-i); "
				"that would loop\n", d->egress_name);
			goto out;
		}
	}
	ret = BV_EXIT_RUNTIME;

	/* Config and interfaces first: their errors need no privileges. */
	if (d->cfg_path) {
		if (bv_config_load(&d->cfg, d->cfg_path, err, sizeof(err))) {
			fprintf(stderr, PFX "%s\n", err);
			goto out;
		}
	} else {
		bv_config_defaults(&d->cfg);
	}
	d->cfg_loaded = true;
	for (int i = 0; i < d->nifs; i++) {
		d->ifs[i].ifindex = (int)if_nametoindex(d->ifs[i].name);
		if (!d->ifs[i].ifindex) {
			fprintf(stderr, PFX "unknown interface '%s' (see 'ip link show')\n",
				d->ifs[i].name);
			goto out;
		}
		d->ifnames[i] = d->ifs[i].name;
	}
	if (d->egress_name) {
		d->egress_ifindex = (int)if_nametoindex(d->egress_name);
		if (!d->egress_ifindex) {
			fprintf(stderr, PFX "unknown --egress interface '%s' (see 'ip link show')\n",
				d->egress_name);
			goto out;
		}
	}
	if (!have_privileges(caps, sizeof(caps))) {
		fprintf(stderr, PFX "missing privileges (%s): the daemon loads and attaches "
			"BPF programs and mounts bpffs; run it as root (sudo)\n", caps);
		goto out;
	}

	/* Signals go to a signalfd, in every thread (metrics' included). */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0) {
		fprintf(stderr, PFX "signalfd: %s\n", strerror(errno));
		goto out;
	}

	if (take_locks(d, err, sizeof(err)))
		goto fail;
	if (bv_bpffs_ensure(err, sizeof(err)))
		goto fail;

	/* This version's layout, for every check below. */
	{
		struct bv_load_opts lo = { .mode = d->mode, .pin = true,
					   .max_flows = d->cfg.max_flows };
		ref = bv_open(&lo, err, sizeof(err));
		if (!ref)
			goto fail;
	}
	for (int i = 0; i < d->nifs; i++)
		if (find_existing(d, &d->ifs[i], ref, err, sizeof(err)))
			goto fail;
	if (check_pins(d, ref, &flows_max, err, sizeof(err)))
		goto fail;
	for (int i = 0; i < d->nifs; i++)
		if (!d->ifs[i].adopted && attach_new(d, &d->ifs[i], flows_max, err, sizeof(err)))
			goto fail_detach;
	if (bv_pins_open_all(&d->pins, ref, err, sizeof(err)))
		goto fail_detach;
	for (int i = 0; i < d->nifs; i++) {
		if (!bv_prog_uses_map(d->ifs[i].prog_fd, bv_fd_id(d->pins.stats)) ||
		    !bv_prog_uses_map(d->ifs[i].prog_fd, bv_fd_id(d->pins.policy))) {
			snprintf(err, sizeof(err), "the program on %s does not use the maps pinned "
				 "under %s: run 'beaconveil unload' and start again",
				 d->ifs[i].name, BV_PIN_DIR);
			goto fail_detach;
		}
	}
	if (d->mode == BV_MODE_MIRROR && set_egress(d, err, sizeof(err)))
		goto fail_detach;
	if (apply_config(d, &d->cfg, err, sizeof(err)))
		goto fail_detach;
	if (d->cfg.fleet_redis[0] && start_fleet(d, err, sizeof(err)))
		goto fail_detach;
	if (rotate_key(d, err, sizeof(err)))
		goto fail_detach;

	d->an = bv_analytics_new(&d->cfg);
	if (!d->an) {
		snprintf(err, sizeof(err), "cannot start the analytics: out of memory");
		goto fail_detach;
	}
	d->rb = ring_buffer__new(d->pins.events, on_event, d, NULL);
	if (!d->rb) {
		snprintf(err, sizeof(err), "cannot read the event ring buffer %s/bv_events: %s",
			 BV_PIN_DIR, strerror(errno));
		goto fail_detach;
	}
	snprintf(d->metrics_addr, sizeof(d->metrics_addr), "%s", metrics_addr_of(d, &d->cfg));
	d->mx = start_metrics(d, d->metrics_addr, err, sizeof(err));
	if (!d->mx)
		goto fail_detach;

	for (int i = 0; i < d->nifs; i++)
		logf_("%s %s: program id %u, %s mode, %s XDP, %s", d->ifs[i].adopted ?
		      "adopted the program already enforcing on" : "attached to", d->ifs[i].name,
		      d->ifs[i].prog_id, mode_name(d->mode), bv_xdp_mode_name(d->xmode),
		      d->ifs[i].legacy ? "alone (no libxdp dispatcher)" :
		      "through the libxdp dispatcher");
	if (d->mode == BV_MODE_MIRROR)
		logf_("mirror egress: %s", d->egress_name);
	if (d->mode == BV_MODE_INLINE && (d->cfg.settings.flags & BV_SETF_AUDIT))
		logf_("warning: [audit] enabled has no effect in inline mode: the collector's NIC "
		      "sees no responses (the Set-Cookie audit needs --mode mirror)");
	logf_("ready: pid %d, config %s, maps %s, hash key epoch %u, metrics "
	      "http://%s/metrics", (int)getpid(), d->cfg_path ? d->cfg_path : "(built-in defaults)",
	      BV_PIN_DIR, d->epoch, d->metrics_addr);

	ret = serve(d, sfd);
	bv_metrics_stop(d->mx);
	d->mx = NULL;
	pinned = keep_pinned(d, "stop: ", true, err, sizeof(err)) == 0;
	if (detach_all(d, false))
		ret = BV_EXIT_RUNTIME;
	if (ret == BV_EXIT_OK && pinned)
		logf_("stopped; maps stay pinned under %s ('beaconveil unload' removes them)",
		      BV_PIN_DIR);
	else if (ret == BV_EXIT_OK && !bv_pins_present())
		logf_("stopped; nothing is pinned (%s): the counters, flow state, live policy and "
		      "unread events are lost with this daemon; the next start begins with zero "
		      "counts and the config file's policy", err);
	else if (ret == BV_EXIT_OK)
		logf_("stopped; not every map is pinned (%s): what the others hold is lost with "
		      "this daemon", err);
	goto out;

fail_detach:
	detach_all(d, true);
fail:
	fprintf(stderr, PFX "%s\n", err[0] ? err : "failed");
	ret = BV_EXIT_RUNTIME;
out:
	if (d->mx)
		bv_metrics_stop(d->mx);
	ring_buffer__free(d->rb);
	if (d->an)
		bv_analytics_free(d->an);
	bv_fleet_free(d->fleet);
	bv_pins_close(&d->pins);
	for (int i = 0; i < d->nifs; i++) {
		if (d->ifs[i].prog_fd >= 0)
			close(d->ifs[i].prog_fd);
		beaconveil_bpf__destroy(d->ifs[i].skel);
		if (d->ifs[i].lock_fd >= 0)
			close(d->ifs[i].lock_fd);
	}
	beaconveil_bpf__destroy(ref);
	if (d->daemon_lock >= 0)
		close(d->daemon_lock);
	if (sfd >= 0)
		close(sfd);
	if (d->cfg_loaded)
		bv_config_free(&d->cfg);
	free(d);
	return ret;
}
