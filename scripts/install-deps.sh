#!/usr/bin/env bash
# scripts/install-deps.sh: install the Debian packages hvabs needs to build, test and run its examples (idempotent).
set -euo pipefail

packages=(
	build-essential cmake ninja-build pkg-config
	clang libclang-rt-14-dev
	googletest libgtest-dev libbenchmark-dev
	libunicorn-dev libfdt-dev device-tree-compiler
	binutils-aarch64-linux-gnu gcc-aarch64-linux-gnu g++-aarch64-linux-gnu qemu-user
	gnuplot-nox valgrind python3
)

log() { printf '[install-deps] %s\n' "$*"; }

# Outputs are captured before matching: grep -q closing a pipe early trips pipefail.
installed() {
	local status
	status=$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) || return 1
	[[ $status == *"install ok installed"* ]]
}

if ! command -v dpkg-query >/dev/null || ! command -v apt-get >/dev/null; then
	log "not a Debian-based system: install the equivalents of: ${packages[*]}"
	exit 0
fi

missing=()
for p in "${packages[@]}"; do
	installed "$p" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	log "all ${#packages[@]} packages are installed"
	exit 0
fi
log "missing: ${missing[*]}"

sudo=()
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null; then
		sudo=(sudo)
	else
		log "not root and no sudo: install them by hand" >&2
		exit 1
	fi
fi
export DEBIAN_FRONTEND=noninteractive

# Package lists younger than a day are fresh enough; refresh otherwise, at most once.
updated=0
apt_update() {
	[ $updated -eq 0 ] || return 0
	log "apt-get update"
	"${sudo[@]}" apt-get update -q
	updated=1
}
fresh=$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mmin -1440 2>/dev/null || true)
if [ -z "$fresh" ]; then
	apt_update
fi

has_candidate() {
	local policy
	policy=$(apt-cache policy "$1" 2>/dev/null) || return 1
	[[ $policy == *"Candidate: "[!\(]* ]]
}
unknown=()
for p in "${missing[@]}"; do
	has_candidate "$p" || unknown+=("$p")
done
if [ ${#unknown[@]} -ne 0 ]; then
	apt_update
	still=()
	for p in "${unknown[@]}"; do
		has_candidate "$p" || still+=("$p")
	done
	if [ ${#still[@]} -ne 0 ]; then
		log "no installable candidate for: ${still[*]} (this project targets Debian 12)" >&2
		exit 1
	fi
fi

log "apt-get install ${missing[*]}"
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
log "done"
