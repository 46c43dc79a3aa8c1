/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The contract between the XDP program (bpf/) and userspace (user/, tests/).
 * Every struct that crosses a map lives here, once. Layouts are fixed, padded
 * explicitly and little-endian on the wire of `bpftool map update`, because
 * operators write these bytes by hand.
 */
#ifndef BV_ABI_H
#define BV_ABI_H

#include <linux/types.h>

#define BV_PIN_ROOT "/sys/fs/bpf"
#define BV_PIN_DIR  "/sys/fs/bpf/beaconveil"

/* Where the program runs; a read-only load-time constant (.rodata). */
enum bv_mode {
	BV_MODE_INLINE = 0, /* collector NIC: payload rewrites only, never L3 */
	BV_MODE_MIRROR = 1, /* copy of traffic: also L3, redirect to egress */
	BV_MODE_PCAP   = 2, /* offline: as mirror, but kept packets are XDP_PASS */
};

enum bv_ip_mask   { BV_IPMASK_ALL = 0, BV_IPMASK_PUBLIC = 1, BV_IPMASK_OFF = 2 };
enum bv_dnt_action { BV_DNT_ANONYMIZE = 0, BV_DNT_DROP = 1 };
enum bv_drop_action { BV_DROPACT_DROP = 0, BV_DROPACT_RESET = 1 };
enum bv_level {
	BV_LEVEL_USER_BEHAVIOR = 0,
	BV_LEVEL_PERFORMANCE   = 1,
	BV_LEVEL_OFF           = 2,
};

/*
 * One policy: the global default (bv_policy[0]) or a per-application
 * override (bv_apppol[key]). `valid` must be 1: an all-zero entry (never
 * written) makes the program fall back to the built-in defaults, so a map
 * nobody filled in never weakens privacy. Out-of-range values are replaced
 * by the default of that field (documented in README).
 */
struct bv_policy {
	__u8 valid;            /* 1 = entry written by someone */
	__u8 ip_mask;          /* enum bv_ip_mask */
	__u8 ipv4_prefix;      /* bits kept, 0..32 (default 24) */
	__u8 ipv6_prefix;      /* bits kept, 0..128 (default 48) */
	__u8 respect_dnt;      /* 0/1 (default 1) */
	__u8 dnt_action;       /* enum bv_dnt_action */
	__u8 respect_gpc;      /* 0/1 (default 1) */
	__u8 opt_in;           /* 0/1 (default 0) */
	__u8 user_tracking;    /* 0/1 (default 0) */
	__u8 honour_disabled;  /* 0/1 (default 1) */
	__u8 drop_action;      /* enum bv_drop_action */
	__u8 collection_level; /* enum bv_level */
	__u8 crash_reports;    /* 0/1 (default 1) */
	__u8 unreadable_body;  /* enum bv_unreadable: a mobile body we cannot read */
	__u8 _pad[2];
};

/* A mobile beacon's body that cannot be read (Content-Encoding, chunked):
 * drop it (the default: identity may be inside) or pass it with the rules
 * of its head only. */
enum bv_unreadable { BV_UNREADABLE_DROP = 0, BV_UNREADABLE_PASS = 1 };

/* The policy defaults (README.md): the one definition the kernel (for an entry nobody
 * wrote) and the config file (for keys it does not name) both use. */
static inline void bv_policy_defaults(struct bv_policy *p)
{
	*p = (struct bv_policy){
		.valid = 1,
		.ip_mask = BV_IPMASK_ALL,
		.ipv4_prefix = 24,
		.ipv6_prefix = 48,
		.respect_dnt = 1,
		.dnt_action = BV_DNT_ANONYMIZE,
		.respect_gpc = 1,
		.opt_in = 0,
		.user_tracking = 0,
		.honour_disabled = 1,
		.drop_action = BV_DROPACT_DROP,
		.collection_level = BV_LEVEL_USER_BEHAVIOR,
		.crash_reports = 1,
		.unreadable_body = BV_UNREADABLE_DROP,
	};
}

/* Key of bv_apppol: an application id (app=/ai=) or a lower-case Host. */
#define BV_APPKEY_LEN 64
enum bv_appkey_kind { BV_APPKEY_APP = 1, BV_APPKEY_HOST = 2 };
struct bv_app_key {
	__u8 kind;                 /* enum bv_appkey_kind */
	__u8 len;                  /* bytes used in id */
	__u8 _pad[2];
	char id[BV_APPKEY_LEN];    /* zero padded */
};

/* Methods that may start a beacon request (bv_settings.methods bits). */
enum bv_method_bit {
	BV_M_GET = 1 << 0, BV_M_POST = 1 << 1, BV_M_PUT = 1 << 2,
	BV_M_HEAD = 1 << 3, BV_M_OPTIONS = 1 << 4, BV_M_PATCH = 1 << 5,
	BV_M_DELETE = 1 << 6,
};

/* Global settings other than policy; bv_settings[0]. */
struct bv_settings {
	__u32 methods;      /* enum bv_method_bit mask (default GET|POST) */
	__u32 flags;        /* enum bv_settings_flags (default 0) */
	__u64 anon_key[2];  /* key for replacement identifiers (pseudonyms) */
};

/* bv_settings.flags; zero is the private default. */
enum bv_settings_flags {
	/* mirror/pcap: leave the client-address headers of requests that are
	 * not beacons as they are (by default they are masked too) */
	BV_SETF_KEEP_OTHER_REQUESTS = 1 << 0,
	/* pcap mode: pick up connections whose SYN is not in the capture,
	 * conservatively (bpf/bv_midstream.h); off: dropped until a SYN */
	BV_SETF_MIDSTREAM = 1 << 1,
	/* mirror/pcap: some UDP port decapsulates (VXLAN or GENEVE, bv_ports
	 * BV_PORT_VXLAN/BV_PORT_GENEVE): set by userspace with those ports.
	 * A later IP fragment may then be the rest of a tunnel datagram
	 * whose inner frame cannot be scanned: UDP fragments are dropped. */
	BV_SETF_DECAP = 1 << 2,
};

/* bv_ports[port] bits: a TCP port beacons arrive on, a UDP port whose
 * datagrams carry VXLAN (RFC 7348) or GENEVE (RFC 8926) in mirror and
 * pcap mode (docs/MASKING.md, "Tunnels"). */
enum bv_port_bits {
	BV_PORT_BEACON = 1 << 0,
	BV_PORT_VXLAN  = 1 << 1,
	BV_PORT_GENEVE = 1 << 2,
	BV_PORT_AUDIT  = 1 << 3, /* a server port whose responses the Set-Cookie audit reads (bv_audit.h) */
};

/* Path rules (bv_paths[0..BV_MAX_PATHS-1]); an entry with kind 0 is unused. */
#define BV_MAX_PATHS 16
#define BV_PATH_LEN  60
enum bv_path_kind {
	BV_PATH_NONE        = 0,
	BV_PATH_SEG_PREFIX  = 1, /* last path segment starts with pat ("rb_") */
	BV_PATH_EXACT_OR_ID = 2, /* path == pat or pat + "/" + one segment ("/bf") */
	BV_PATH_PREFIX      = 3, /* path starts with pat ("/collect") */
	BV_PATH_EXACT       = 4, /* path == pat */
};
struct bv_path_rule {
	__u8 kind;              /* enum bv_path_kind */
	__u8 len;               /* bytes of pat used */
	__u8 crash_report;      /* 1: this rule marks crash-report beacons */
	__u8 _pad;
	char pat[BV_PATH_LEN];
};

/* Decisions, one per beacon request; index into bv_stats too. */
enum bv_decision {
	BV_DEC_PASS = 0,
	BV_DEC_ANONYMIZED,
	BV_DEC_DROPPED_DNT,
	BV_DEC_DROPPED_GPC,
	BV_DEC_DROPPED_NO_CONSENT,
	BV_DEC_DROPPED_DISABLED,
	BV_DEC_DROPPED_LEVEL_OFF,
	BV_DEC_DROPPED_CRASH_REPORT,
	BV_DEC_MALFORMED,
	BV_DEC_DROPPED_UNREADABLE, /* mobile body unreadable, unreadable_body=drop */
	BV_DEC_MAX,
};

/*
 * bv_ifdec[ingress ifindex]: beacon decisions of one interface, per CPU,
 * counted where bv_stats counts them. Key 0 (no interface has it) is made
 * first and takes the decisions of interfaces that find the map full, so
 * the rows always add up to bv_stats' decisions.
 */
#define BV_IFDEC_MAX      256   /* entries, key 0 included */
#define BV_IFDEC_OVERFLOW 0
struct bv_ifdec {
	__u64 dec[BV_DEC_MAX];  /* enum bv_decision */
};

/* Per-packet and internal counters (bv_stats, per-CPU u64), after decisions. */
enum bv_stat {
	BV_ST_PKTS = BV_DEC_MAX,  /* every packet the program saw */
	BV_ST_NON_IP,             /* not IPv4/IPv6: passed untouched */
	BV_ST_NON_TCP,            /* IP but not TCP */
	BV_ST_OTHER_TCP,          /* TCP not on a beacon port */
	BV_ST_BEACON_PORT,        /* TCP on a beacon port (either direction) */
	BV_ST_MALFORMED_PKT,      /* bad L2/L3/L4 structure: dropped */
	BV_ST_FRAGMENT,           /* IP fragment carrying TCP (or UDP, decapsulating): dropped */
	BV_ST_ACT_PASS,           /* verdicts actually returned */
	BV_ST_ACT_DROP,
	BV_ST_ACT_TX,             /* TCP RST sent back (drop_action=reset) */
	BV_ST_ACT_REDIRECT,
	BV_ST_L3_MASKED,          /* addresses masked in IP headers */
	BV_ST_TEXT_MASKED,        /* addresses masked in text headers / PROXY */
	BV_ST_IDS_REPLACED,       /* visitor identifiers replaced */
	BV_ST_REQUESTS,           /* HTTP requests seen on beacon ports */
	BV_ST_FLOW_NEW,           /* flow state created (a connection's first data) */
	BV_ST_FLOW_UNKNOWN,       /* mid-request data without state: dropped */
	BV_ST_OUT_OF_ORDER,       /* segment after a gap: dropped */
	BV_ST_RETRANSMIT,         /* old data seen again */
	BV_ST_HELD_UNDECIDED,     /* ids replaced before the decision was known */
	BV_ST_PROXY_V1,
	BV_ST_PROXY_V2,
	BV_ST_EVENTS_LOST,        /* ring buffer full: event not sent */
	BV_ST_HALF_OPEN,          /* SYNs: connections tracked half-open (bv_half) */
	BV_ST_MOBILE,             /* mobile beacons (type=m) */
	BV_ST_MOBILE_IDS,         /* mobile ids replaced (vi=, sn=, si= device) */
	BV_ST_USER_TAG_REMOVED,   /* identify-user events' na= replaced */
	BV_ST_CRASH_REMOVED,      /* crash/exception events erased from a body */
	BV_ST_BODY_UNREADABLE,    /* mobile bodies compressed or chunked */
	BV_ST_BODY_CUT,           /* a crash event cut where it could not be erased: dropped */
	BV_ST_MIDSTREAM,          /* pcap --midstream: segments of connections picked up mid-way */
	BV_ST_ENCAP_VXLAN,        /* mirror/pcap: VXLAN packets decapsulated */
	BV_ST_ENCAP_GENEVE,       /* mirror/pcap: GENEVE packets decapsulated */
	BV_ST_ENCAP_MALFORMED,    /* tunnel packets cut or broken (outer or inner): dropped */
	BV_ST_ENCAP_UNSUPPORTED,  /* tunnel packets not carrying Ethernet, or nested: dropped */
	BV_ST_NO_NAMES,           /* beacon-port payload before [names] was written: dropped */
	BV_ST_IP_ANON_COMPUTED,   /* ip_anon=prefix_preserving: Crypto-PAn computed (cache miss) */
	BV_ST_IP_ANON_TEXT_FALLBACK, /* ... a text address left in its truncated form */
	BV_ST_MAX,
};

/* Privacy class: DSCP (mirror/pcap) and XDP metadata carry it. */
enum bv_class {
	BV_CLASS_NONE = 0,        /* not a beacon packet */
	BV_CLASS_UNDECIDED = 1,   /* beacon request, decision not yet known */
	BV_CLASS_IDENTIFIED = 2,  /* decision pass: identifiers kept */
	BV_CLASS_ANONYMIZED = 3,  /* decision anonymized */
	BV_CLASS_DROPPED = 4,     /* never leaves, but counted under this */
};
#define BV_DSCP_BASE 0x20     /* DSCP = BV_DSCP_BASE + class (CS4 block) */

/* XDP metadata in front of the packet for a consumer (AF_XDP, tc). */
#define BV_META_MAGIC 0xbeac0e11u
struct bv_meta {
	__u32 magic;
	__u8 class;     /* enum bv_class */
	__u8 decision;  /* enum bv_decision, or 0xff while undecided */
	__u16 flags;    /* enum bv_sig bits of the request */
};

/* Signals of one request (bv_flow.sig). */
enum bv_sig {
	BV_SIG_BEACON   = 1 << 0,
	BV_SIG_DNT      = 1 << 1,
	BV_SIG_GPC      = 1 << 2,
	BV_SIG_CONSENT  = 1 << 3,
	BV_SIG_DISABLED = 1 << 4,
	BV_SIG_CRASH    = 1 << 5,
	BV_SIG_VISITOR  = 1 << 6,  /* rxVisitor / dtPC / vi= seen */
	BV_SIG_APPPOL   = 1 << 7,  /* a per-application policy applies */
	BV_SIG_CHUNKED  = 1 << 8,
	BV_SIG_HAS_CLEN = 1 << 9,
	BV_SIG_MALFORMED = 1 << 10,
	BV_SIG_MOBILE   = 1 << 11, /* type=m: a mobile agent's beacon */
	BV_SIG_ENCODED  = 1 << 12, /* Content-Encoding other than identity */
};

/*
 * Key of the event hashes (bv_keys[0]): written by the daemon from
 * getrandom(), rotated at least daily so counts cannot be joined across
 * days; `epoch` tells which key hashed an event. All zero until set.
 */
struct bv_hash_key {
	__u64 k[2];
	__u32 epoch;
	__u32 _pad;
};

/*
 * bv_ipanon[0]: keyed prefix-preserving anonymization of addresses
 * (Crypto-PAn, docs/MASKING.md), written by userspace from the config.
 * `on` 0 (all zero, never written): addresses are truncated as before.
 * The 32-byte Crypto-PAn key is kept expanded: the AES-128 round keys of
 * its first 16 bytes and pad = AES(those, its last 16 bytes). Words are
 * numbers whose big-endian bytes are the block (rk[0] = key bytes 0..3).
 * `gen` changes with every key change: cached results of another
 * generation are never used.
 */
struct bv_ipanon {
	__u32 on;        /* 1: ip_anon = prefix_preserving */
	__u32 gen;
	__u32 pad[4];
	__u32 rk[44];
};

#define BV_EVENT_APP_LEN 32
/*
 * One per beacon decision, through the bv_events ring buffer. Only keyed
 * hashes of identifiers leave the kernel: never an address, a cookie or a
 * query value. The application id (app=/ai=) names an application, not a
 * person, and is carried as is for per-application counts.
 */
struct bv_event {
	__u64 ts_ns;      /* bpf_ktime_get_ns() at the decision */
	__u64 visitor;    /* SipHash-2-4(key, rxVisitor value); 0: none, or anonymized */
	__u64 session;    /* SipHash-2-4(key, dtCookie value, else sn=); 0: none */
	__u32 epoch;      /* bv_hash_key.epoch of the key used */
	__u32 ifindex;    /* ingress interface */
	__u16 sig;        /* enum bv_sig */
	__u8 decision;    /* enum bv_decision */
	__u8 app_len;     /* bytes used in app */
	__u8 _pad[4];
	char app[BV_EVENT_APP_LEN];
};

#endif /* BV_ABI_H */
