#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages beaconveil builds and tests with, only
# those missing, so `sudo make check` works on a fresh machine.
set -euo pipefail

PKGS=(
	clang llvm make gcc pkg-config      # BPF (clang -target bpf) and userspace
	libbpf-dev libxdp-dev bpftool       # skeletons, loading, multiprog attach
	xdp-tools                           # xdp-loader status in tests and docs
	libelf-dev zlib1g-dev               # libbpf's link dependencies
	libpcap-dev                         # pcap/pcapng reading and writing
	libinih-dev                         # the config file parser
	libcmocka-dev                       # the C test framework
	linux-libc-dev                      # uapi headers for the BPF program
	tshark                              # independent checksum validation in tests
	iproute2 ethtool                    # netns/veth test beds
)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: missing packages: ${missing[*]}; run as root (sudo make ...)" >&2
	exit 1
fi
echo "deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer no, non-interactively.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
