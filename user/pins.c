/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The pinned maps under /sys/fs/bpf/beaconveil; see pins.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/bpf.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bv_abi.h"
#include "loader.h"
#include "pins.h"
#include "runlock.h"
#include "beaconveil.skel.h"

const char *const bv_pin_names[] = {
	"bv_policy", "bv_apppol", "bv_settings", "bv_ports", "bv_paths",
	"bv_stats", "bv_flows", "bv_keys", "bv_events", "bv_ifdec", "bv_names", "bv_namefilt", "bv_ipanon", "bv_audit", NULL,
};
_Static_assert(sizeof(bv_pin_names) / sizeof(bv_pin_names[0]) == BV_NPINS + 1,
	       "BV_NPINS out of step");
_Static_assert(sizeof(struct bv_pins) == BV_NPINS * sizeof(int), "struct bv_pins out of step");

void bv_pins_init(struct bv_pins *p)
{
	for (int i = 0; i < BV_NPINS; i++)
		*bv_pins_slot(p, i) = -1;
}

int *bv_pins_slot(struct bv_pins *p, int i)
{
	return (int *)p + i;
}

void bv_pins_close(struct bv_pins *p)
{
	for (int i = 0; i < BV_NPINS; i++) {
		int *fd = bv_pins_slot(p, i);
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
	}
}

void bv_pins_fds(const struct bv_pins *p, struct bv_map_fds *fds)
{
	fds->policy = p->policy;
	fds->apppol = p->apppol;
	fds->settings = p->settings;
	fds->ports = p->ports;
	fds->paths = p->paths;
	fds->names = p->names;
	fds->namefilt = p->namefilt;
	fds->ipanon = p->ipanon;
}

void bv_pin_path(const char *name, char *buf, size_t buflen)
{
	snprintf(buf, buflen, "%s/%s", BV_PIN_DIR, name);
}

bool bv_bpffs_mounted(void)
{
	struct statfs st;

	return statfs(BV_PIN_ROOT, &st) == 0 && st.f_type == BPF_FS_MAGIC;
}

__u32 bv_fd_id(int fd)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);

	/* map and prog info both start with type, id */
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return 0;
	return info.id;
}

static const char *map_type_name(unsigned t)
{
	const char *n = libbpf_bpf_map_type_str((enum bpf_map_type)t);
	return n ? n : "unknown";
}

int bv_map_layout_matches(int fd, const struct bpf_map *def, bool check_max, char *why,
			  size_t whylen)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		snprintf(why, whylen, "%s", strerror(errno));
		return -1;
	}
	if (info.type != (__u32)bpf_map__type(def)) {
		snprintf(why, whylen, "type %s, this version has %s", map_type_name(info.type),
			 map_type_name(bpf_map__type(def)));
		return 0;
	}
	if (info.key_size != bpf_map__key_size(def)) {
		snprintf(why, whylen, "key size %u, this version has %u", info.key_size,
			 bpf_map__key_size(def));
		return 0;
	}
	if (info.value_size != bpf_map__value_size(def)) {
		snprintf(why, whylen, "value size %u, this version has %u", info.value_size,
			 bpf_map__value_size(def));
		return 0;
	}
	if (check_max && info.max_entries != bpf_map__max_entries(def)) {
		snprintf(why, whylen, "%u entries, this configuration has %u", info.max_entries,
			 bpf_map__max_entries(def));
		return 0;
	}
	if (info.map_flags != bpf_map__map_flags(def)) {
		snprintf(why, whylen, "flags 0x%x, this version has 0x%x", info.map_flags,
			 bpf_map__map_flags(def));
		return 0;
	}
	return 1;
}

int bv_pin_missing_error(const char *path, char *err, size_t errlen)
{
	char why[160];
	pid_t pid = 0;
	bool daemon = bv_lock_probe("daemon", &pid, NULL, 0, why, sizeof(why)) == 1;

	if (daemon && !bv_bpffs_mounted())
		snprintf(err, errlen,
			 "no bpffs mounted at %s: the daemon (pid %d) still holds the maps and "
			 "pins them again once bpffs is mounted (mount -t bpf bpf %s; it looks "
			 "every second), or at once on SIGHUP (kill -HUP %d), which mounts it",
			 BV_PIN_ROOT, (int)pid, BV_PIN_ROOT, (int)pid);
	else if (daemon)
		snprintf(err, errlen,
			 "%s is not pinned: the daemon (pid %d) pins the maps again within a "
			 "second, or at once on SIGHUP (kill -HUP %d)", path, (int)pid, (int)pid);
	else if (!bv_bpffs_mounted())
		snprintf(err, errlen,
			 "no bpffs mounted at %s, so no beaconveil maps are pinned: start the "
			 "daemon first (beaconveil run -i IFACE; it mounts bpffs)", BV_PIN_ROOT);
	else
		snprintf(err, errlen,
			 "%s is not pinned: start the daemon first (beaconveil run -i IFACE), "
			 "which pins the maps under %s", path, BV_PIN_DIR);
	return -1;
}

int bv_pins_restore(struct bv_pins *p, char *names, size_t nameslen, char *err,
		    size_t errlen)
{
	char path[256];
	size_t used = 0;

	names[0] = '\0';
	if (bv_bpffs_ensure(err, errlen))
		return -1;
	for (int i = 0; i < BV_NPINS; i++) {
		int fd = *bv_pins_slot(p, i);
		struct stat st;

		bv_pin_path(bv_pin_names[i], path, sizeof(path));
		if (fd < 0 || stat(path, &st) == 0)
			continue;
		if (bpf_obj_pin(fd, path)) {
			snprintf(err, errlen, "cannot pin %s: %s", path, strerror(errno));
			return -1;
		}
		if (used < nameslen)
			used += (size_t)snprintf(names + used, nameslen - used, "%s%s",
						 used ? " " : "", bv_pin_names[i]);
	}
	return 0;
}

int bv_pin_open(const char *name, const struct beaconveil_bpf *s, char *err, size_t errlen)
{
	char path[256], why[160];
	int fd, e;

	bv_pin_path(name, path, sizeof(path));
	fd = bpf_obj_get(path);
	if (fd < 0) {
		e = errno;
		if (e == ENOENT)
			return bv_pin_missing_error(path, err, errlen);
		if (e == EPERM || e == EACCES)
			snprintf(err, errlen, "cannot open %s: %s (needs root: CAP_BPF or "
				 "CAP_SYS_ADMIN)", path, strerror(e));
		else
			snprintf(err, errlen, "cannot open %s: %s", path, strerror(e));
		return -1;
	}
	if (s) {
		const struct bpf_map *def = bpf_object__find_map_by_name(s->obj, name);

		/* bv_flows is sized by the config: its size is not a layout */
		if (def && bv_map_layout_matches(fd, def, strcmp(name, "bv_flows") != 0, why,
						 sizeof(why)) == 0) {
			snprintf(err, errlen,
				 "pinned map %s was made by another version of beaconveil (%s): "
				 "remove it (rm %s; what it holds is lost) or remove every pin "
				 "with 'beaconveil unload'", path, why, path);
			close(fd);
			return -1;
		}
	}
	return fd;
}

int bv_pins_open_all(struct bv_pins *p, const struct beaconveil_bpf *s, char *err, size_t errlen)
{
	bv_pins_init(p);
	for (int i = 0; i < BV_NPINS; i++) {
		int fd = bv_pin_open(bv_pin_names[i], s, err, errlen);
		if (fd < 0) {
			bv_pins_close(p);
			return -1;
		}
		*bv_pins_slot(p, i) = fd;
	}
	return 0;
}

unsigned bv_pins_present(void)
{
	char path[256];
	struct stat st;
	unsigned m = 0;

	for (int i = 0; i < BV_NPINS; i++) {
		bv_pin_path(bv_pin_names[i], path, sizeof(path));
		if (stat(path, &st) == 0)
			m |= 1u << i;
	}
	return m;
}

int bv_pins_remove_all(int *removed, char *err, size_t errlen)
{
	DIR *d;
	struct dirent *de;
	char path[512];
	int n = 0;

	*removed = 0;
	if (!bv_bpffs_mounted())
		return 0;
	d = opendir(BV_PIN_DIR);
	if (!d) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "cannot open %s: %s", BV_PIN_DIR, strerror(errno));
		return -1;
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", BV_PIN_DIR, de->d_name);
		if (unlink(path)) {
			snprintf(err, errlen, "cannot remove %s: %s", path, strerror(errno));
			closedir(d);
			*removed = n;
			return -1;
		}
		n++;
	}
	closedir(d);
	*removed = n;
	if (rmdir(BV_PIN_DIR) && errno != ENOENT) {
		snprintf(err, errlen, "cannot remove %s: %s", BV_PIN_DIR, strerror(errno));
		return -1;
	}
	return 0;
}

int bv_random128(__u64 out[2])
{
	unsigned char *b = (unsigned char *)out;
	size_t got = 0;

	while (got < 2 * sizeof(__u64)) {
		ssize_t n = getrandom(b + got, 2 * sizeof(__u64) - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		got += (size_t)n;
	}
	return 0;
}

int bv_hash_key_set(int keys_fd, const __u64 key[2], __u32 *epoch, char *err, size_t errlen)
{
	struct bv_hash_key k;
	__u32 zero = 0;

	memset(&k, 0, sizeof(k));
	if (bpf_map_lookup_elem(keys_fd, &zero, &k)) {
		snprintf(err, errlen, "cannot read bv_keys: %s", strerror(errno));
		return -1;
	}
	k.epoch++;
	if (k.epoch == 0)
		k.epoch = 1;
	k._pad = 0;
	k.k[0] = key[0];
	k.k[1] = key[1];
	if (bpf_map_update_elem(keys_fd, &zero, &k, BPF_ANY)) {
		snprintf(err, errlen, "cannot write bv_keys: %s", strerror(errno));
		memset(&k, 0, sizeof(k));
		return -1;
	}
	*epoch = k.epoch;
	memset(&k, 0, sizeof(k));
	return 0;
}

int bv_hash_key_rotate(int keys_fd, __u32 *epoch, char *err, size_t errlen)
{
	__u64 k[2];
	int r;

	if (bv_random128(k)) {
		snprintf(err, errlen, "getrandom: %s", strerror(errno));
		return -1;
	}
	r = bv_hash_key_set(keys_fd, k, epoch, err, errlen);
	memset(k, 0, sizeof(k));
	return r;
}
