/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Every map of the program, declared in one place. The tunables are pinned
 * by name under /sys/fs/bpf/beaconveil so operators can change them live
 * with bpftool, and a restarted daemon adopts them. Names stay <= 15 chars.
 */
#ifndef BV_MAPS_H
#define BV_MAPS_H

#include "bv_flow.h"
#include "bv_parse.h"
#include "bv_names.h"
#include "bv_aes.h"
#include "bv_audit_state.h"

#ifndef BV_MAX_FLOWS
#define BV_MAX_FLOWS 65536 /* userspace may resize before load */
#endif

#define BV_SCRATCH_LEN 4096 /* bytes of one segment we scan (power of 2) */

/* bv_policy[0]: the global default policy. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bv_policy);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bv_policy SEC(".maps");

/* Per-application overrides, keyed by app id or Host. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct bv_app_key);
	__type(value, struct bv_policy);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bv_apppol SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bv_settings);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bv_settings SEC(".maps");

/* bv_ports[port] = 1 marks a beacon port (host byte order index). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u8);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bv_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BV_MAX_PATHS);
	__type(key, __u32);
	__type(value, struct bv_path_rule);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bv_paths SEC(".maps");

/* The names the scanner acts on and their roles (include/bv_names.h),
 * and the filter over their first bytes; written from [names]. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BV_MAX_NAMES);
	__type(key, struct bv_name_key);
	__type(value, struct bv_name_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bv_names SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bv_name_filter);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bv_namefilt SEC(".maps");

/* A per-CPU cache of bv_names lookups (bv_namematch.h), so that the names
 * every request carries cost an array slot instead of a hash of a 32-byte
 * key. Not pinned: a cache; an entry counts only under the filter's
 * generation it was filled in (bv_name_filter.gen). */
#define BV_NAMECACHE_SLOTS 256
struct bv_name_cent {
	__u64 k[4];   /* the struct bv_name_key, as words */
	__u32 gen;    /* bv_name_filter.gen when filled; 0: empty */
	__s32 roles;  /* the name's roles, -1: not in bv_names */
};
struct bv_name_cache {
	struct bv_name_cent e[BV_NAMECACHE_SLOTS];
};
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bv_name_cache);
} bv_namecache SEC(".maps");

/* Counters: enum bv_decision then enum bv_stat. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, BV_ST_MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bv_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, BV_MAX_FLOWS);
	__type(key, struct bv_flow_key);
	__type(value, struct bv_flow);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bv_flows SEC(".maps");

/*
 * Connections that sent a SYN and no data yet: the sequence number of their
 * first data byte. Kept apart from bv_flows because anyone can send SYNs
 * from spoofed addresses without a handshake: a SYN flood churns this table
 * only, and can never evict the state of a connection that carries requests.
 * The first data segment at that sequence number moves the connection to
 * bv_flows. Sized by userspace with bv_flows (a quarter of it); not pinned:
 * a restart forgets only handshakes in flight.
 */
#ifndef BV_MAX_HALF
#define BV_MAX_HALF (BV_MAX_FLOWS / 4)
#endif
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, BV_MAX_HALF);
	__type(key, struct bv_flow_key);
	__type(value, __u32);
} bv_half SEC(".maps");

/* Key of the event hashes, set and rotated by the daemon. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bv_hash_key);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bv_keys SEC(".maps");

/* Key of prefix-preserving address anonymization (Crypto-PAn), set by
 * userspace from the config; all zero: addresses are truncated. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bv_ipanon);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bv_ipanon SEC(".maps");

/* Crypto-PAn results: 32 AES blocks per IPv4 address, 128 per IPv6, so
 * each address is computed once per key generation. Not pinned: a restart
 * only computes again. */
#define BV_IPCACHE_MAX 16384
struct bv_ipcache_key {
	__u32 a[4];     /* the address as on the wire (IPv4: a[0], rest 0) */
	__u32 gen;      /* bv_ipanon.gen it was computed with */
	__u32 family;   /* 4 or 6 */
};
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, BV_IPCACHE_MAX);
	__type(key, struct bv_ipcache_key);
	__type(value, __u32[4]);
} bv_ipcache SEC(".maps");

/* Crypto-PAn of one address (bv_cpan.h), in and out with its work area. */
struct bv_cpan_io {
	__u32 a[4];     /* in: the address, network order (IPv4: a[0]);
			   out: its anonymized form (when 1 is returned) */
	__u32 family;   /* 4 or 6 */
	__u32 h[4];     /* work: the address, host-order words */
	__u32 cur[4];   /* work: the PRF input */
	__u32 otp[4];   /* work: the one-time pad */
	struct bv_aes_blk blk;
	struct bv_ipcache_key ck;
};

/* One struct bv_event per beacon decision, for the daemon. */
#define BV_EVENTS_SIZE (1 << 22)                  /* ~50k events */
#define BV_EVENTS_WAKE (BV_EVENTS_SIZE / 4)
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, BV_EVENTS_SIZE);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bv_events SEC(".maps");

/* Mirror mode: where kept packets go (bv_egress[0]). */
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} bv_egress SEC(".maps");

/* Work area of the CPU: the segment's bytes and the scanner's registers. */
#define BV_MAX_SPANS 8
struct bv_span {
	__u16 pos;      /* offset in buf */
	__u16 len;
	__u16 id_off;   /* identifier characters before this span */
	__u8 forced;    /* replace whatever the decision (undecided at cut) */
	__u8 kind;      /* SPAN_* (bv_lexer.h): what it is, for counting */
};

/* A text address being read (bpf/bv_iptext.h): where it started in this
 * segment and its original characters, so that at its end it can be
 * written again in its prefix-preserving form. */
#define BV_IPT_MAX 64
/* Working registers of its parser and printer, kept in memory so that the
 * verifier does not follow every value they can take. */
struct bv_ipt_work {
	__u32 v, nd, dots, ng, dc, fam, bad, port, a4, alen;
	__u32 bs, bl, rs, rl, m, n, extra;
	__u32 tl, put_raw, put_close; /* what bv_ipt_put_cb writes */
	__u16 g[8];
	__u32 wd[8];
};
struct bv_iptslot {
	__u16 pos;      /* buf offset of its first character */
	__u8 len;       /* characters so far */
	__u8 state;     /* BV_IPT_* (bv_iptext.h) */
	__u8 pad;       /* padding character of its field */
	__u8 ctx;       /* BV_IPTC_* */
	__u8 _r[2];
	char raw[BV_IPT_MAX];
};
#define BV_IPT_SLOTS 8  /* addresses of one segment rewritten at its end */
struct bv_iptok {
	__u8 on;        /* this packet: bv_ipanon on */
	__u8 n;         /* slot of the token under way */
	__u8 _r[6];
	struct bv_iptslot tok;  /* the one being rewritten */
	struct bv_iptslot slot[BV_IPT_SLOTS];
	char out[BV_IPT_MAX];
	struct bv_ipt_work w;
	struct bv_cpan_io io;
};

struct bv_scratch {
	struct bv_lexer lx;     /* the lexer being run */
	struct bv_policy gpol;  /* global policy, sanitised */
	struct bv_settings set;
	struct bv_hash_key hkey;
	__u32 ifindex;
	__u32 _pad2;
	struct bv_flow_key fkey;
	struct bv_flow nf;      /* a new flow being built (too big for the stack) */
	__u32 pos;              /* next byte of buf to scan */
	__u32 len;              /* payload bytes in buf */
	__u32 seq0;             /* TCP seq of buf[0] */
	__u32 live_from;        /* bytes before this were seen before: count nothing */
	__u32 dirty_lo, dirty_hi; /* rewritten byte range [lo, hi) */
	__u64 csum;             /* one's complement delta of the rewrites */
	__u32 nspans;
	__u8 seg_drop;          /* a request touching this segment is dropped */
	__u8 drop_reset;        /* ... and its policy says reset */
	__u8 span_open;         /* spans[nspans-1] still growing */
	__u8 known_dec;         /* final decision known from a later scan */
	__u8 mask_other;        /* mask client-address headers of non-beacons too */
	__u8 encap;             /* this packet is a tunnel's: outer is its outer headers */
	__u8 _pad3[6];
	struct bv_pkt outer;    /* bv_encap.h */
	struct bv_audit_app au_req; /* audit: the Host of a request in this segment (by 0: none) */
	struct bv_span spans[BV_MAX_SPANS];
	struct bv_iptok ipt;
	char buf[2 * BV_SCRATCH_LEN]; /* upper half: slack for word loads/stores */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bv_scratch);
} bv_scratch SEC(".maps");

/* Decisions per ingress interface, pinned so that per-interface figures
 * survive daemon restarts as bv_stats does (include/bv_abi.h). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, BV_IFDEC_MAX);
	__type(key, __u32);
	__type(value, struct bv_ifdec);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bv_ifdec SEC(".maps");

/* Set-Cookie audit (bpf/bv_audit.h, mirror/pcap): counts per application
 * and cookie, pinned so that they survive daemon restarts as bv_stats do;
 * the overflow rows (all-zero application) are made before any other. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, BV_AUDIT_MAX);
	__type(key, struct bv_audit_key);
	__type(value, struct bv_audit_row);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bv_audit SEC(".maps");

/* Audit: per connection (client->server key), the application its last
 * request named and the last response audited (a retransmission of it is
 * not counted twice). Made only while the audit is on; not pinned: a
 * restart forgets the attribution of connections in flight. */
struct bv_audit_flow {
	struct bv_audit_app app;
	__u32 resp_seq;     /* TCP seq of the last response head audited */
	__u32 resp_seen;    /* resp_seq is valid */
};
#define BV_AUFLOW_MAX 16384
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, BV_AUFLOW_MAX);
	__type(key, struct bv_flow_key);
	__type(value, struct bv_audit_flow);
} bv_auflow SEC(".maps");

/* Audit: the response scanner's working state (bpf/bv_audit_state.h). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bv_au_work);
} bv_auwork SEC(".maps");

#endif /* BV_MAPS_H */
