#!/usr/bin/env bash
# scripts/demo.sh: from a fresh clone - install dependencies, build the release preset, run the demo VMM and example guests.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=$root/build/release

"$root/scripts/install-deps.sh"
cmake --preset release
cmake --build --preset release

run() {
	printf '\n==== %s\n' "$*"
	"$@"
}

# 1. A callback guest on the sim backend, served by a VMM written on the public API.
demo=$build/examples/demo/hvabs-demo
if [ ! -x "$demo" ]; then
	echo "demo.sh: $demo was not built" >&2
	exit 1
fi
run "$demo"

# 2. Real guest code through hvabs-run: KVM when /dev/kvm works (else sim), then arm64 on sim.
hvabs_run=$build/tools/hvabs-run
guests=$build/examples/guests
if [ -x "$hvabs_run" ] && [ -f "$guests/hello-x86.bin" ]; then
	run "$hvabs_run" "$guests/hello-x86.bin"
	if [ -f "$guests/hello-arm64.bin" ]; then
		run "$hvabs_run" --backend sim --arch arm64 "$guests/hello-arm64.bin"
	fi
else
	echo "demo.sh: hvabs-run or the example guests were not built; skipping real guests"
fi
