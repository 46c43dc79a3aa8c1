#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages beaconveil builds and tests with, only
# those missing, so `sudo make check` works on a fresh machine. The package
# lists live in tools/deps/*.list, one file per topic (why each is needed is
# said there and in the README). Then the lab's npm packages (OpenKit, the
# mobile beacon client): tools/deps/npm.sh, pinned by
# tools/lab/openkit/package-lock.json, installed into $BUILD/lab/openkit.
set -euo pipefail
cd "$(dirname "$0")"

# The npm step runs after the Debian packages (it needs nodejs), whether or
# not any was missing. A failure there (no registry) does not stop the
# build: only tests/e2e_openkit.sh needs it, and it fails then.
npm_step() {
	deps/npm.sh || echo "deps.sh: the lab's npm packages are not installed (tools/deps/npm.sh): tests/e2e_openkit.sh will fail" >&2
}

mapfile -t PKGS < <(cat deps/*.list | sed 's/#.*//' | tr -s ' \t' '\n' | grep -v '^$' | sort -u)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	npm_step
	exit 0
fi

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
npm_step
