/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Per-flow HTTP scanner state, kept in the bv_flows LRU hash. Shared with
 * userspace only so tools can size, dump and clear it; nobody but the XDP
 * program writes it. No packet pointers, only offsets, counters and flags.
 */
#ifndef BV_FLOW_H
#define BV_FLOW_H

#include "bv_abi.h"

/* Client->server direction; addresses as on the wire (network order). */
struct bv_flow_key {
	__u32 client[4];
	__u32 server[4];
	__u16 cport;
	__u16 sport;
	__u8 family;   /* 4 or 6 */
	__u8 _pad[3];
};

/* Streaming masker of one textual IP address (see bpf/bv_textmask.h). */
struct bv_ipm {
	__u8 fam;      /* 0 unknown yet, 4, 6 */
	__u8 idx;      /* octet (v4) / group (v6) index */
	__u8 ndig;     /* digits so far in this octet/group */
	__u8 flags;    /* BV_IPM_* */
	__u8 tail;     /* v4: masked tail characters emitted */
	__u8 keep;     /* octets/groups kept (resolved once family known) */
	__u16 val;     /* value of the current octet/group */
	__u16 first;   /* value of octet/group 0 (private-range test) */
	__u16 second;  /* value of octet 1 (v4 private-range test) */
};

#define BV_TOK_LEN 64

/* SipHash-2-4 fed one byte at a time (identifiers stream across segments). */
struct bv_shash {
	__u64 v[4];
	__u64 m;      /* pending bytes of the current word */
	__u32 n;      /* bytes hashed so far */
	__u32 _pad;
};

/* Everything the scanner knows at a byte position of the stream. */
struct bv_lexer {
	__u8 st;          /* enum bv_lex_state (bpf/bv_http.h) */
	__u8 hdr;         /* kind of the current header line */
	__u8 sub;         /* sub-state inside a value */
	__u8 tok_len;     /* bytes in tok */
	__u8 decision;    /* enum bv_decision, or BV_UNDECIDED */
	__u8 id_mode;     /* identifier under way: 0 none, 1 replace, 2 keep */
	__u8 id_kind;
	__u8 flags;       /* BV_LXF_* */
	__u16 sig;        /* enum bv_sig */
	__u16 id_off;     /* characters of the identifier seen so far */
	__u8 sub2;        /* second-level sub-state (dtPC parts, PROXY fields) */
	__u8 _r[3];
	__u32 hdr_bytes;  /* bytes of this request's head so far */
	__u32 body_left;  /* body bytes still to skip */
	__u32 body_start; /* TCP seq of the body's first byte */
	__u32 req_seq;    /* TCP seq of this request's first byte */
	__u32 param_seq;  /* mobile body: TCP seq of the current parameter */
	__u32 _r3;
	__u64 id_seed;    /* pseudonym stream of this request */
	struct bv_policy pol; /* policy snapshot of this request */
	struct bv_ipm ipm;
	struct bv_shash vh;   /* visitor id hash (event) */
	struct bv_shash sh;   /* session id hash (event) */
	__u8 app_len;
	__u8 mb;          /* mobile body: BV_MB_* flags */
	__u8 mb_et;       /* mobile body: type of the current event (et=) */
	__u8 mb_dl;       /* mobile body: the agent's dl= (0-2), 3 not seen */
	__u8 mb_cl;       /* mobile body: the agent's cl= (0-2), 3 not seen */
	__u8 _r2[3];
	char app[BV_EVENT_APP_LEN];
	char tok[BV_TOK_LEN];
};
#define BV_UNDECIDED 0xff

enum bv_lexer_flags {
	BV_LXF_FIRST = 1 << 0, /* no request yet on this connection: PROXY allowed */
	BV_LXF_SEED  = 1 << 1, /* id_seed computed */
	BV_LXF_VH    = 1 << 2, /* vh holds a visitor id */
	BV_LXF_SH    = 1 << 3, /* sh holds a session id */
	BV_LXF_SH_Q  = 1 << 4, /* ... taken from sn= (a cookie replaces it) */
	BV_LXF_NOMETHOD = 1 << 6, /* the request's method is not a beacon method */
	BV_LXF_TOKOVF   = 1 << 7, /* tok overflowed: it matches nothing */
};

enum bv_mobile_body_flags {
	BV_MB_BODY  = 1 << 0, /* inside a mobile beacon's body */
	BV_MB_ERASE = 1 << 1, /* inside a crash event being erased */
};

struct bv_flow {
	__u32 next_seq;   /* seq of the next byte expected from the client */
	__u32 seg_seq;    /* seq of the last segment scanned (snapshot point) */
	__u32 seg_end;
	__u8 state;       /* BV_FLOW_* */
	__u8 _pad[3];
	struct bv_lexer lx;      /* state at next_seq */
	struct bv_lexer lx_seg;  /* state at seg_seq: replays a retransmission */
};

enum bv_flow_state {
	BV_FLOW_SYNCED = 1,   /* next_seq is trustworthy */
	BV_FLOW_DESYNC = 2,   /* lost track: only a request start resyncs */
};

#endif /* BV_FLOW_H */
