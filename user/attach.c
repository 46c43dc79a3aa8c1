/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Our program on interfaces through libxdp; see attach.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "attach.h"
#include "loader.h"
#include "beaconveil.skel.h"

static int xdp_print(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	return bv_capture_vprintf((int)level, fmt, ap);
}

void bv_xdp_quiet(void)
{
	libxdp_set_print(xdp_print);
}

const char *bv_xdp_mode_name(enum xdp_attach_mode m)
{
	switch (m) {
	case XDP_MODE_NATIVE:
		return "native";
	case XDP_MODE_SKB:
		return "skb";
	case XDP_MODE_HW:
		return "hw";
	default:
		return "unspecified";
	}
}

void bv_xdp_state_free(struct bv_xdp_state *st)
{
	if (st->mp)
		xdp_multiprog__close(st->mp);
	memset(st, 0, sizeof(*st));
}

int bv_xdp_query(int ifindex, struct bv_xdp_state *st, char *err, size_t errlen)
{
	struct xdp_multiprog *mp;
	struct xdp_program *p;
	long e;

	memset(st, 0, sizeof(*st));
	st->ifindex = ifindex;
	bv_xdp_quiet();
	bv_capture_begin();
	mp = xdp_multiprog__get_from_ifindex(ifindex);
	e = libxdp_get_error(mp);
	bv_capture_end(0, NULL, 0);
	if (e || !mp) {
		if (!e || e == -ENOENT || e == -ENODEV)
			return 0; /* nothing attached (or the interface is gone, and its program with it) */
		snprintf(err, errlen, "cannot query XDP programs on ifindex %d: %s%s", ifindex,
			 strerror((int)-e),
			 e == -EPERM || e == -EACCES ? " (needs root: CAP_BPF, CAP_NET_ADMIN)" : "");
		return -1;
	}
	st->mp = mp;
	st->mode = xdp_multiprog__attach_mode(mp);
	st->legacy = xdp_multiprog__is_legacy(mp);
	if (st->legacy) {
		p = xdp_multiprog__main_prog(mp);
		if (p && xdp_program__name(p) && !strcmp(xdp_program__name(p), BV_PROG_NAME)) {
			st->ours = p;
			st->nours = 1;
		}
		return 0;
	}
	for (p = xdp_multiprog__next_prog(NULL, mp); p; p = xdp_multiprog__next_prog(p, mp)) {
		if (xdp_program__name(p) && !strcmp(xdp_program__name(p), BV_PROG_NAME)) {
			if (!st->ours)
				st->ours = p;
			st->nours++;
		}
	}
	return 0;
}

int bv_xdp_attach(struct beaconveil_bpf *s, int ifindex, const char *ifname,
		  enum xdp_attach_mode mode, __u32 *prog_id, char *err, size_t errlen)
{
	struct xdp_program *xp;
	long e;
	int r;

	bv_xdp_quiet();
	bv_capture_begin();
	xp = xdp_program__from_bpf_obj(s->obj, NULL);
	e = libxdp_get_error(xp);
	if (e || !xp) {
		snprintf(err, errlen, "libxdp cannot use the BPF object: %s",
			 strerror(e ? (int)-e : EINVAL));
		bv_capture_end(0, NULL, 0);
		return -1;
	}
	r = xdp_program__attach(xp, ifindex, mode, 0);
	if (r) {
		int en = r < 0 ? -r : r;

		if (mode == XDP_MODE_NATIVE && en == EOPNOTSUPP) {
			snprintf(err, errlen,
				 "native XDP is not supported on %s (its driver has no XDP "
				 "support): run with --xdp-mode skb to use generic XDP (works "
				 "on any interface, much slower); beaconveil never falls back "
				 "on its own", ifname);
			bv_capture_end(0, NULL, 0);
		} else if (en == EEXIST || en == EBUSY) {
			snprintf(err, errlen,
				 "%s already has an XDP program that libxdp cannot add ours to "
				 "(attached in another mode, or without the libxdp dispatcher); "
				 "see 'xdp-loader status %s'%s", ifname, ifname,
				 mode == XDP_MODE_NATIVE ? " (or try --xdp-mode skb if the "
				 "other program runs in skb mode)" : "");
			bv_capture_end(0, NULL, 0);
		} else {
			char why[3000];

			bv_capture_end(en, why, sizeof(why));
			snprintf(err, errlen, "attaching to %s (%s mode) failed: %s", ifname,
				 bv_xdp_mode_name(mode), why);
		}
		xdp_program__close(xp);
		return -1;
	}
	bv_capture_end(0, NULL, 0);
	*prog_id = xdp_program__id(xp);
	xdp_program__close(xp);
	return 0;
}

int bv_xdp_detach_id(int ifindex, __u32 prog_id, char *err, size_t errlen)
{
	struct bv_xdp_state st;
	struct xdp_program *p = NULL;
	int r;

	if (bv_xdp_query(ifindex, &st, err, errlen))
		return -1;
	if (!st.mp) {
		bv_xdp_state_free(&st);
		return 1;
	}
	bv_capture_begin();
	if (st.legacy) {
		p = xdp_multiprog__main_prog(st.mp);
		if (!p || xdp_program__id(p) != prog_id) {
			bv_capture_end(0, NULL, 0);
			bv_xdp_state_free(&st);
			return 1;
		}
		r = xdp_multiprog__detach(st.mp);
	} else {
		for (p = xdp_multiprog__next_prog(NULL, st.mp); p;
		     p = xdp_multiprog__next_prog(p, st.mp))
			if (xdp_program__id(p) == prog_id)
				break;
		if (!p) {
			bv_capture_end(0, NULL, 0);
			bv_xdp_state_free(&st);
			return 1;
		}
		r = xdp_program__detach(p, ifindex, st.mode, 0);
	}
	if (r) {
		char why[512];

		bv_capture_end(r < 0 ? -r : r, why, sizeof(why));
		snprintf(err, errlen, "detaching program id %u from ifindex %d failed: %s",
			 prog_id, ifindex, why);
		bv_xdp_state_free(&st);
		return -1;
	}
	bv_capture_end(0, NULL, 0);
	bv_xdp_state_free(&st);
	return 0;
}

/* The map ids of prog_fd; malloc'ed, *n entries. NULL on error. */
static __u32 *prog_map_ids(int prog_fd, __u32 *n)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info), cnt;
	__u32 *ids;

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len))
		return NULL;
	cnt = info.nr_map_ids;
	ids = calloc(cnt ? cnt : 1, sizeof(*ids));
	if (!ids)
		return NULL;
	memset(&info, 0, sizeof(info));
	info.nr_map_ids = cnt;
	info.map_ids = (__u64)(unsigned long)ids;
	len = sizeof(info);
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len)) {
		free(ids);
		return NULL;
	}
	*n = info.nr_map_ids < cnt ? info.nr_map_ids : cnt;
	return ids;
}

int bv_prog_map_fd(int prog_fd, const char *name)
{
	__u32 n = 0, *ids = prog_map_ids(prog_fd, &n);
	size_t nl = strlen(name);

	if (!ids)
		return -1;
	for (__u32 i = 0; i < n; i++) {
		struct bpf_map_info mi;
		__u32 len = sizeof(mi);
		int fd = bpf_map_get_fd_by_id(ids[i]);
		bool match;

		if (fd < 0)
			continue;
		memset(&mi, 0, sizeof(mi));
		if (bpf_obj_get_info_by_fd(fd, &mi, &len)) {
			close(fd);
			continue;
		}
		if (name[0] == '.') {
			size_t ml = strlen(mi.name);
			match = ml >= nl && !strcmp(mi.name + ml - nl, name);
		} else {
			match = !strcmp(mi.name, name);
		}
		if (match) {
			free(ids);
			return fd;
		}
		close(fd);
	}
	free(ids);
	errno = ENOENT;
	return -1;
}

bool bv_prog_uses_map(int prog_fd, __u32 map_id)
{
	__u32 n = 0, *ids = prog_map_ids(prog_fd, &n);
	bool found = false;

	if (!ids)
		return false;
	for (__u32 i = 0; i < n && !found; i++)
		found = ids[i] == map_id;
	free(ids);
	return found;
}

/* The .rodata bv_mode of a loaded instance; -1 if it cannot be read. */
int bv_prog_bv_mode(int prog_fd, const struct beaconveil_bpf *ref)
{
	size_t off = (size_t)((const char *)&ref->rodata->bv_mode - (const char *)ref->rodata);
	size_t vsz = bpf_map__value_size(ref->maps.rodata);
	int fd = bv_prog_map_fd(prog_fd, ".rodata");
	unsigned char *v;
	__u32 zero = 0;
	int m = -1;

	if (fd < 0)
		return -1;
	v = calloc(1, vsz);
	if (v && bpf_map_lookup_elem(fd, &zero, v) == 0 && off < vsz)
		m = v[off];
	free(v);
	close(fd);
	return m;
}
