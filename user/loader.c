/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Loading the skeleton with a readable cause on failure. libbpf's messages
 * are captured into a tail buffer while we load; on failure the cause is
 * picked from it (verifier log, pinned-map mismatch) or from errno.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/bpf.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "loader.h"
#include "beaconveil.skel.h"

/* ---- libbpf output capture ------------------------------------------- */

#define BV_LOG_CAP (256 * 1024) /* tail of libbpf's output we keep */

static char *bv_log;
static size_t bv_log_len;
static bool bv_log_echo;

static void bv_log_append(const char *s, size_t n)
{
	if (!bv_log) {
		bv_log = malloc(BV_LOG_CAP + 1);
		if (!bv_log)
			return;
		bv_log_len = 0;
	}
	if (n > BV_LOG_CAP) { /* keep the end of a huge message */
		s += n - BV_LOG_CAP;
		n = BV_LOG_CAP;
	}
	if (bv_log_len + n > BV_LOG_CAP) {
		size_t drop = bv_log_len + n - BV_LOG_CAP;
		memmove(bv_log, bv_log + drop, bv_log_len - drop);
		bv_log_len -= drop;
	}
	memcpy(bv_log + bv_log_len, s, n);
	bv_log_len += n;
	bv_log[bv_log_len] = '\0';
}

static int bv_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char *msg = NULL;
	int n;

	if (bv_log_echo) {
		va_list cp;
		va_copy(cp, ap);
		vfprintf(stderr, fmt, cp);
		va_end(cp);
	}
	if (level == LIBBPF_DEBUG && !bv_log_echo)
		return 0;
	n = vasprintf(&msg, fmt, ap);
	if (n > 0)
		bv_log_append(msg, (size_t)n);
	free(msg);
	return 0;
}

static void bv_log_reset(void)
{
	bv_log_len = 0;
	if (bv_log)
		bv_log[0] = '\0';
}

static void bv_log_free(void)
{
	free(bv_log);
	bv_log = NULL;
	bv_log_len = 0;
}

/* Pointer to the start of the n-th line counted back from end (exclusive). */
static const char *last_lines(const char *begin, const char *end, int n)
{
	const char *p = end;

	while (p > begin && p[-1] == '\n')
		p--;
	while (p > begin) {
		if (p[-1] == '\n' && --n == 0)
			break;
		p--;
	}
	return p;
}

/* The last non-empty line of libbpf's output, without "libbpf: ". */
static void last_log_line(char *out, size_t outlen)
{
	const char *end, *start;
	size_t n;

	out[0] = '\0';
	if (!bv_log || !bv_log_len)
		return;
	end = bv_log + bv_log_len;
	while (end > bv_log && end[-1] == '\n')
		end--;
	start = last_lines(bv_log, end, 1);
	if (!strncmp(start, "libbpf: ", 8))
		start += 8;
	n = (size_t)(end - start);
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, start, n);
	out[n] = '\0';
}

#define VLOG_BEGIN "-- BEGIN PROG LOAD LOG --"
#define VLOG_END   "-- END PROG LOAD LOG --"
#define VLOG_LINES 15
#define VLOG_LINE_MAX 300 /* register-state dumps run to kilobytes a line */

/*
 * The tail of the last verifier log in the capture, each line clipped to
 * VLOG_LINE_MAX, whole lines dropped from the front until it fits in err.
 * false if the capture holds no verifier log.
 */
static bool verifier_excerpt(char *err, size_t errlen)
{
	const char *end = NULL, *p, *begin, *from;
	char *body, *b;
	size_t cap, used;
	int w;

	if (!bv_log)
		return false;
	for (p = bv_log; (p = strstr(p, VLOG_END)); p++)
		end = p;
	if (!end)
		return false;
	begin = bv_log;
	for (p = bv_log; (p = strstr(p, VLOG_BEGIN)) && p < end; p++)
		begin = p + strlen(VLOG_BEGIN);
	while (begin < end && *begin == '\n')
		begin++;
	from = last_lines(begin, end, VLOG_LINES);
	while (end > from && end[-1] == '\n')
		end--;

	/* Clip lines into body. */
	cap = (size_t)VLOG_LINES * (VLOG_LINE_MAX + 8) + 1;
	body = malloc(cap);
	if (!body)
		return false;
	used = 0;
	for (p = from; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);

		if (used + VLOG_LINE_MAX + 8 > cap)
			break;
		if (n > VLOG_LINE_MAX) {
			memcpy(body + used, p, VLOG_LINE_MAX);
			used += VLOG_LINE_MAX;
			memcpy(body + used, " ...", 4);
			used += 4;
		} else {
			memcpy(body + used, p, n);
			used += n;
		}
		body[used++] = '\n';
		p = nl ? nl + 1 : end;
	}
	if (used)
		used--; /* no final newline */
	body[used] = '\0';

	w = snprintf(err, errlen,
		     "BPF verifier rejected the program; end of the verifier log "
		     "(full log: BEACONVEIL_LIBBPF_DEBUG=1):\n");
	if (w < 0 || (size_t)w >= errlen) {
		free(body);
		return true;
	}
	b = body;
	while (strlen(b) > errlen - (size_t)w - 1) {
		char *nl = strchr(b, '\n');
		if (!nl) { /* one line longer than the room left: keep its end */
			b += strlen(b) - (errlen - (size_t)w - 1);
			break;
		}
		b = nl + 1;
	}
	memcpy(err + w, b, strlen(b) + 1);
	free(body);
	return true;
}

static void load_error(int e, char *err, size_t errlen)
{
	char last[512];
	const char *pin;

	if (verifier_excerpt(err, errlen))
		return;
	last_log_line(last, sizeof(last));
	pin = bv_log ? strstr(bv_log, "reuse pinned map at '") : NULL;
	if (pin) {
		const char *q = strchr(pin, '\'');
		const char *q2 = strchr(q + 1, '\'');
		int n = q2 ? (int)(q2 - q - 1) : 0;

		snprintf(err, errlen,
			 "pinned map %.*s does not match this program's layout (left by "
			 "another version, or max_flows changed): remove it (rm %.*s) or "
			 "unpin everything under %s",
			 n, q + 1, n, q + 1, BV_PIN_DIR);
		return;
	}
	if (e == EPERM || e == EACCES) {
		snprintf(err, errlen,
			 "permission denied: loading BPF needs root (CAP_BPF, CAP_NET_ADMIN)");
		return;
	}
	snprintf(err, errlen, "loading the BPF object failed: %s%s%s", strerror(e),
		 last[0] ? "; libbpf: " : "", last);
}

/* ---- bpffs -------------------------------------------------------------- */

int bv_bpffs_ensure(char *err, size_t errlen)
{
	struct statfs st;

	if (statfs(BV_PIN_ROOT, &st) != 0 || st.f_type != BPF_FS_MAGIC) {
		if (mkdir(BV_PIN_ROOT, 0755) && errno != EEXIST) {
			snprintf(err, errlen, "no bpffs at %s and cannot create it: %s",
				 BV_PIN_ROOT, strerror(errno));
			return -1;
		}
		if (mount("bpf", BV_PIN_ROOT, "bpf", 0, NULL)) {
			int e = errno;
			snprintf(err, errlen,
				 "no bpffs at %s and mounting it failed: %s%s", BV_PIN_ROOT,
				 strerror(e),
				 e == EPERM ? " (needs root with CAP_SYS_ADMIN; or mount it "
					      "first: mount -t bpf bpf /sys/fs/bpf)" : "");
			return -1;
		}
	}
	if (mkdir(BV_PIN_DIR, 0700) && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", BV_PIN_DIR, strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- capture for loads done by someone else (libxdp) ------------------- */

static libbpf_print_fn_t bv_prev_print;
static bool bv_capturing;

void bv_capture_begin(void)
{
	const char *dbg = getenv("BEACONVEIL_LIBBPF_DEBUG");

	bv_log_echo = dbg && *dbg && strcmp(dbg, "0");
	bv_log_reset();
	if (!bv_capturing)
		bv_prev_print = libbpf_set_print(bv_libbpf_print);
	bv_capturing = true;
}

int bv_capture_vprintf(int level, const char *fmt, va_list ap)
{
	/* outside a capture: warnings to stderr, the rest dropped */
	if (!bv_capturing)
		return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
	return bv_libbpf_print((enum libbpf_print_level)level, fmt, ap);
}

void bv_capture_end(int e, char *err, size_t errlen)
{
	if (e && err && errlen)
		load_error(e, err, errlen);
	if (bv_capturing)
		libbpf_set_print(bv_prev_print);
	bv_capturing = false;
	bv_log_free();
}

/* ---- opening and loading ---------------------------------------------------- */

/* Opens the skeleton (not loaded) per o; libbpf's output is being captured. */
static struct beaconveil_bpf *open_skel(const struct bv_load_opts *o, char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo);
	struct beaconveil_bpf *s;
	struct bpf_map *m;
	int ret;

	if (o->mode != BV_MODE_INLINE && o->mode != BV_MODE_MIRROR && o->mode != BV_MODE_PCAP) {
		snprintf(err, errlen, "invalid mode %d", (int)o->mode);
		return NULL;
	}
	if (o->pin) {
		if (bv_bpffs_ensure(err, errlen))
			return NULL;
		oo.pin_root_path = BV_PIN_DIR;
	}
	s = beaconveil_bpf__open_opts(&oo);
	if (!s) {
		int e = errno;
		last_log_line(err, errlen);
		if (!err[0])
			snprintf(err, errlen, "opening the BPF object failed: %s", strerror(e));
		return NULL;
	}
	s->rodata->bv_mode = (__u8)o->mode;
	if (o->max_flows) {
		/* half-open connections (bv_half) get a quarter as many */
		__u32 half = o->max_flows / 4 < 1024 ? 1024 : o->max_flows / 4;

		ret = bpf_map__set_max_entries(s->maps.bv_flows, o->max_flows);
		if (ret) {
			snprintf(err, errlen, "cannot size bv_flows to %u: %s", o->max_flows,
				 strerror(-ret));
			goto fail;
		}
		ret = bpf_map__set_max_entries(s->maps.bv_half, half);
		if (ret) {
			snprintf(err, errlen, "cannot size bv_half to %u: %s", half, strerror(-ret));
			goto fail;
		}
	}
	if (!o->pin) {
		bpf_object__for_each_map(m, s->obj) {
			ret = bpf_map__set_pin_path(m, NULL);
			if (ret) {
				snprintf(err, errlen, "cannot unpin map %s: %s",
					 bpf_map__name(m), strerror(-ret));
				goto fail;
			}
		}
	}
	return s;
fail:
	beaconveil_bpf__destroy(s);
	return NULL;
}

struct beaconveil_bpf *bv_open(const struct bv_load_opts *o, char *err, size_t errlen)
{
	struct beaconveil_bpf *s;
	char dummy[1];

	if (!err || !errlen) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	err[0] = '\0';
	bv_capture_begin();
	s = open_skel(o, err, errlen);
	bv_capture_end(0, NULL, 0);
	return s;
}

struct beaconveil_bpf *bv_open_and_load(const struct bv_load_opts *o, char *err, size_t errlen)
{
	struct beaconveil_bpf *s;
	char dummy[1];
	int ret;

	if (!err || !errlen) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	err[0] = '\0';
	bv_capture_begin();
	s = open_skel(o, err, errlen);
	if (!s) {
		bv_capture_end(0, NULL, 0);
		return NULL;
	}
	ret = beaconveil_bpf__load(s);
	if (ret) {
		bv_capture_end(ret < 0 ? -ret : errno, err, errlen);
		beaconveil_bpf__destroy(s);
		return NULL;
	}
	bv_capture_end(0, NULL, 0);
	return s;
}

void bv_map_fds_get(struct beaconveil_bpf *s, struct bv_map_fds *fds)
{
	fds->policy = bpf_map__fd(s->maps.bv_policy);
	fds->apppol = bpf_map__fd(s->maps.bv_apppol);
	fds->settings = bpf_map__fd(s->maps.bv_settings);
	fds->ports = bpf_map__fd(s->maps.bv_ports);
	fds->paths = bpf_map__fd(s->maps.bv_paths);
	fds->names = bpf_map__fd(s->maps.bv_names);
	fds->namefilt = bpf_map__fd(s->maps.bv_namefilt);
	fds->ipanon = bpf_map__fd(s->maps.bv_ipanon);
}

int bv_stats_read(int stats_fd, __u64 out[BV_ST_MAX])
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 *v;

	if (ncpu <= 0) {
		errno = ncpu < 0 ? -ncpu : EINVAL;
		return -1;
	}
	v = calloc((size_t)ncpu, sizeof(*v));
	if (!v)
		return -1;
	for (__u32 k = 0; k < BV_ST_MAX; k++) {
		out[k] = 0;
		if (bpf_map_lookup_elem(stats_fd, &k, v)) {
			int e = errno;
			free(v);
			errno = e;
			return -1;
		}
		for (int c = 0; c < ncpu; c++)
			out[k] += v[c];
	}
	free(v);
	return 0;
}

/* ---- names ------------------------------------------------------------------ */

static const char *const dec_names[] = {
	[BV_DEC_PASS] = "pass",
	[BV_DEC_ANONYMIZED] = "anonymized",
	[BV_DEC_DROPPED_DNT] = "dropped_dnt",
	[BV_DEC_DROPPED_GPC] = "dropped_gpc",
	[BV_DEC_DROPPED_NO_CONSENT] = "dropped_no_consent",
	[BV_DEC_DROPPED_DISABLED] = "dropped_disabled",
	[BV_DEC_DROPPED_LEVEL_OFF] = "dropped_level_off",
	[BV_DEC_DROPPED_CRASH_REPORT] = "dropped_crash_report",
	[BV_DEC_MALFORMED] = "malformed",
	[BV_DEC_DROPPED_UNREADABLE] = "dropped_unreadable",
};
_Static_assert(sizeof(dec_names) / sizeof(dec_names[0]) == BV_DEC_MAX,
	       "a decision has no name");

#define ST(x) [BV_ST_##x - BV_DEC_MAX]
static const char *const stat_names[] = {
	ST(PKTS) = "pkts",
	ST(NON_IP) = "non_ip",
	ST(NON_TCP) = "non_tcp",
	ST(OTHER_TCP) = "other_tcp",
	ST(BEACON_PORT) = "beacon_port",
	ST(MALFORMED_PKT) = "malformed_pkt",
	ST(FRAGMENT) = "fragment",
	ST(ACT_PASS) = "act_pass",
	ST(ACT_DROP) = "act_drop",
	ST(ACT_TX) = "act_tx",
	ST(ACT_REDIRECT) = "act_redirect",
	ST(L3_MASKED) = "l3_masked",
	ST(TEXT_MASKED) = "text_masked",
	ST(IDS_REPLACED) = "ids_replaced",
	ST(REQUESTS) = "requests",
	ST(FLOW_NEW) = "flow_new",
	ST(FLOW_UNKNOWN) = "flow_unknown",
	ST(OUT_OF_ORDER) = "out_of_order",
	ST(RETRANSMIT) = "retransmit",
	ST(HELD_UNDECIDED) = "held_undecided",
	ST(PROXY_V1) = "proxy_v1",
	ST(PROXY_V2) = "proxy_v2",
	ST(EVENTS_LOST) = "events_lost",
	ST(HALF_OPEN) = "half_open",
	ST(MOBILE) = "mobile",
	ST(MOBILE_IDS) = "mobile_ids_replaced",
	ST(USER_TAG_REMOVED) = "user_tag_removed",
	ST(CRASH_REMOVED) = "crash_removed",
	ST(BODY_UNREADABLE) = "body_unreadable",
	ST(BODY_CUT) = "body_cut",
	ST(MIDSTREAM) = "midstream",
	ST(ENCAP_VXLAN) = "encap_vxlan",
	ST(ENCAP_GENEVE) = "encap_geneve",
	ST(ENCAP_MALFORMED) = "encap_malformed",
	ST(ENCAP_UNSUPPORTED) = "encap_unsupported",
	ST(NO_NAMES) = "no_names",
	ST(IP_ANON_COMPUTED) = "ip_anon_computed",
	ST(IP_ANON_TEXT_FALLBACK) = "ip_anon_text_fallback",
};
#undef ST
_Static_assert(sizeof(stat_names) / sizeof(stat_names[0]) == BV_ST_MAX - BV_DEC_MAX,
	       "a counter of enum bv_stat has no name");

const char *bv_decision_name(int d)
{
	if (d < 0 || d >= BV_DEC_MAX || !dec_names[d])
		return "unknown";
	return dec_names[d];
}

const char *bv_stat_name(int s)
{
	if (s >= 0 && s < BV_DEC_MAX)
		return bv_decision_name(s);
	if (s < BV_DEC_MAX || s >= BV_ST_MAX || !stat_names[s - BV_DEC_MAX])
		return "unknown";
	return stat_names[s - BV_DEC_MAX];
}

/* ---- test_run frame limit ------------------------------------------------- */

size_t bv_xdp_linear_max(void)
{
	static size_t cached;
	/* r2 = ctx->data; r0 = ctx->data_end; r0 -= r2; exit */
	const struct bpf_insn insns[] = {
		{ .code = BPF_LDX | BPF_MEM | BPF_W, .dst_reg = BPF_REG_2, .src_reg = BPF_REG_1,
		  .off = 0 },
		{ .code = BPF_LDX | BPF_MEM | BPF_W, .dst_reg = BPF_REG_0, .src_reg = BPF_REG_1,
		  .off = 4 },
		{ .code = BPF_ALU64 | BPF_SUB | BPF_X, .dst_reg = BPF_REG_0, .src_reg = BPF_REG_2 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	long page = sysconf(_SC_PAGESIZE);
	size_t fallback, probe_len;
	unsigned char *buf;
	libbpf_print_fn_t prev;
	int fd;

	if (cached)
		return cached;
	if (page <= 0)
		page = 4096;
	/* XDP_PACKET_HEADROOM 256, SKB_DATA_ALIGN(sizeof(skb_shared_info)) 320 */
	fallback = (size_t)page - 256 - 320;
	probe_len = (size_t)page * 2;
	buf = calloc(1, probe_len);
	if (!buf)
		return fallback;
	prev = libbpf_set_print(NULL);
	fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "bv_linprobe", "GPL", insns,
			   sizeof(insns) / sizeof(insns[0]), NULL);
	libbpf_set_print(prev);
	if (fd >= 0) {
		LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = buf, .data_size_in = (__u32)probe_len,
			    .repeat = 1);
		if (!bpf_prog_test_run_opts(fd, &t) && t.retval > 14 && t.retval <= probe_len)
			cached = t.retval;
		close(fd);
	}
	free(buf);
	return cached ? cached : fallback;
}
