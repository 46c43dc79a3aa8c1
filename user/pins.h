/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The maps pinned under BV_PIN_DIR (/sys/fs/bpf/beaconveil), by name: what
 * `beaconveil run` adopts after a restart, what `policy`, `status` and
 * `unload` work on, with or without a running daemon.
 *
 * Pinned (LIBBPF_PIN_BY_NAME in bpf/bv_maps.h): bv_policy, bv_apppol,
 * bv_settings, bv_ports, bv_paths, bv_stats, bv_flows, bv_keys, bv_events,
 * bv_ifdec, bv_names, bv_namefilt, bv_ipanon, bv_audit.
 * Not pinned, one per loaded program: bv_egress, bv_scratch, bv_half,
 * bv_ipcache, bv_auflow, bv_auwork, .rodata.
 */
#ifndef BV_PINS_H
#define BV_PINS_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "config.h"

struct bpf_map;
struct beaconveil_bpf;

/* The pinned map names, NULL-terminated, in the order of struct bv_pins. */
extern const char *const bv_pin_names[];
#define BV_NPINS 14

/* File descriptors of the pinned maps; -1 where not open. */
struct bv_pins {
	int policy, apppol, settings, ports, paths, stats, flows, keys, events, ifdec, names,
	    namefilt, ipanon, audit;
};

/* Sets every fd to -1. */
void bv_pins_init(struct bv_pins *p);
/* fd of pin i (bv_pin_names order). */
int *bv_pins_slot(struct bv_pins *p, int i);
/* Closes what is open, sets every fd to -1. */
void bv_pins_close(struct bv_pins *p);
/* The fds bv_config_apply() writes to. */
void bv_pins_fds(const struct bv_pins *p, struct bv_map_fds *fds);

/* "/sys/fs/bpf/beaconveil/NAME" into buf. */
void bv_pin_path(const char *name, char *buf, size_t buflen);

/*
 * Opens the pinned map name (bpf_obj_get). fd >= 0; -1 with the cause in
 * err: no bpffs, nothing pinned (bv_pin_missing_error), not root, or a map
 * of another version (checked against the skeleton's definition when s is
 * not NULL).
 */
int bv_pin_open(const char *name, const struct beaconveil_bpf *s, char *err, size_t errlen);

/*
 * Why path (under BV_PIN_DIR) is not there, into err, and what to do: with
 * a daemon running (it holds the maps and pins them again once bpffs is
 * back, or on SIGHUP) or without one (start it). Returns -1.
 */
int bv_pin_missing_error(const char *path, char *err, size_t errlen);

/*
 * Pins again, from the fds in p, every map whose pin is missing (bpffs
 * unmounted and mounted again, empty; a pin removed by hand), mounting
 * bpffs first when nothing is mounted at BV_PIN_ROOT, as a start does. A
 * path that exists is left alone. The names pinned again go into names
 * (space-separated; "" when none was missing). 0 every map is pinned; -1
 * with the cause in err (some may be pinned: see bv_pins_present()).
 */
int bv_pins_restore(struct bv_pins *p, char *names, size_t nameslen, char *err,
		    size_t errlen);

/*
 * Opens every pinned map; with s, each is checked against this version's
 * layout. 0 ok; -1 with the first cause in err (p is then closed).
 */
int bv_pins_open_all(struct bv_pins *p, const struct beaconveil_bpf *s, char *err, size_t errlen);

/*
 * Does the map behind fd have the layout of def (type, key and value size,
 * max_entries, flags)? 1 yes; 0 no, with what differs in why ("value size
 * 16, this version has 24"); -1 cannot tell (why has errno's text).
 * check_max: compare max_entries too.
 */
int bv_map_layout_matches(int fd, const struct bpf_map *def, bool check_max, char *why,
			  size_t whylen);

/* Kernel id of the map or program behind fd; 0 on error. */
__u32 bv_fd_id(int fd);

/* Is bpffs mounted at BV_PIN_ROOT? */
bool bv_bpffs_mounted(void);

/* Pins present: bit i set when bv_pin_names[i] exists. */
unsigned bv_pins_present(void);

/*
 * Removes every file under BV_PIN_DIR (our pins and anything an older
 * version left there) and the directory. 0 ok (also when nothing was
 * there); -1 with the cause in err. *removed counts the files.
 */
int bv_pins_remove_all(int *removed, char *err, size_t errlen);

/*
 * Replaces the event hash key bv_keys[0] with 128 random bits (getrandom)
 * and epoch = previous epoch + 1 (never 0, which means "no key yet").
 * 0 ok with the new epoch in *epoch; -1 with the cause in err.
 */
int bv_hash_key_rotate(int keys_fd, __u32 *epoch, char *err, size_t errlen);
/* The same with a given key (the fleet's, user/fleet.h). */
int bv_hash_key_set(int keys_fd, const __u64 key[2], __u32 *epoch, char *err, size_t errlen);

/* 16 random bytes from getrandom(); 0 ok, -1 (errno). */
int bv_random128(__u64 out[2]);

#endif /* BV_PINS_H */
