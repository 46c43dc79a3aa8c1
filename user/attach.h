/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Our XDP program on interfaces, through libxdp's multiprog dispatcher:
 * finding it (a daemon restarted after a crash adopts what is attached),
 * attaching a new instance, detaching, and reading its per-program maps.
 *
 * Each interface gets its own instance of the program (own .rodata mode,
 * own bv_egress devmap); they all share the pinned maps.
 */
#ifndef BV_ATTACH_H
#define BV_ATTACH_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include <xdp/libxdp.h>

struct beaconveil_bpf;

#define BV_PROG_NAME "beaconveil_xdp"

/* What libxdp reports on one interface. */
struct bv_xdp_state {
	int ifindex;
	struct xdp_multiprog *mp;    /* NULL: no XDP program at all */
	struct xdp_program *ours;    /* our program (owned by mp); NULL if absent */
	int nours;                   /* programs named BV_PROG_NAME (normally 0 or 1) */
	enum xdp_attach_mode mode;   /* of the dispatcher / legacy program */
	bool legacy;                 /* attached without the dispatcher */
};

/* Routes libxdp's messages into the loader's capture (see loader.h). */
void bv_xdp_quiet(void);

/* Queries ifindex. 0 ok (st->mp may be NULL); -1 with the cause in err. */
int  bv_xdp_query(int ifindex, struct bv_xdp_state *st, char *err, size_t errlen);
void bv_xdp_state_free(struct bv_xdp_state *st);

/* "native", "skb", "hw", "unspecified" */
const char *bv_xdp_mode_name(enum xdp_attach_mode m);

/*
 * Loads the opened (not loaded) skeleton s through libxdp and attaches it
 * to ifname in mode. *prog_id gets the kernel id of the attached program.
 * On failure -1 with a message naming the cause in err: "native XDP is not
 * supported on IFACE ...: use --xdp-mode skb", the verifier log excerpt,
 * a pinned-map mismatch, missing privileges. Never falls back to another
 * mode.
 */
int  bv_xdp_attach(struct beaconveil_bpf *s, int ifindex, const char *ifname,
		   enum xdp_attach_mode mode, __u32 *prog_id, char *err, size_t errlen);

/*
 * Detaches the program with id prog_id from ifindex (and only it: other
 * programs on the dispatcher stay). 0 done, 1 it was not attached there,
 * -1 with the cause in err.
 */
int  bv_xdp_detach_id(int ifindex, __u32 prog_id, char *err, size_t errlen);

/*
 * fd of the map named name that program prog_fd uses (from its map ids);
 * a name starting with '.' matches the end of the kernel name (".rodata").
 * -1 (errno ENOENT) if it has none.
 */
int  bv_prog_map_fd(int prog_fd, const char *name);
/* The .rodata bv_mode of a loaded instance (ref: any skeleton for the
 * layout); -1 if it cannot be read. */
int  bv_prog_bv_mode(int prog_fd, const struct beaconveil_bpf *ref);

/* Whether the program with prog_id uses the map with map_id. */
bool bv_prog_uses_map(int prog_fd, __u32 map_id);

#endif /* BV_ATTACH_H */
