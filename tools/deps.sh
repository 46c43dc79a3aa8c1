#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages beaconveil builds and tests with, only
# those missing, so `sudo make check` works on a fresh machine. The package
# lists live in tools/deps/*.list, one file per topic (why each is needed is
# said there and in the README).
set -euo pipefail
cd "$(dirname "$0")"

mapfile -t PKGS < <(cat deps/*.list | sed 's/#.*//' | tr -s ' \t' '\n' | grep -v '^$' | sort -u)

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
