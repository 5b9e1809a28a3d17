#!/usr/bin/env bash
# scripts/sweep.sh: the full fault-injection sweep - every conformance test x every injection point, per backend (tests/sweep/README.md).
#
# Usage: scripts/sweep.sh [--build DIR] [--stride N] [--jobs N] [--out DIR] [PART...]
#   PART: sim (alloc + simop over the sim tests: Backends/*sim and the callback, x86 and arm64 kits),
#         kvm (alloc; needs a usable /dev/kvm), gunyah (emu + alloc through the emulator, ABIs v10 and
#         v14; not in AddressSanitizer builds). Default: all three.
#   --build DIR  build directory (default build/dev; build/dev and build/asan are configured from their
#                presets when missing). The conformance binary and hvabs_sweep are (re)built first.
#   --stride N   every Nth point only (default 1: all).
#   --jobs N     concurrent test processes (default 2).
#   --out DIR    keep each part's results.tsv and failure logs under DIR/<part>.
# Prints each part's table and the totals; exits non-zero when any point failed.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build/dev
stride=1
jobs=2
out=""
parts=()
while [ $# -gt 0 ]; do
	case $1 in
	--build) build=$(realpath -m "$2"); shift 2 ;;
	--stride) stride=$2; shift 2 ;;
	--jobs) jobs=$2; shift 2 ;;
	--out) out=$(realpath -m "$2"); shift 2 ;;
	-h | --help) sed -n '2,14p' "$0"; exit 0 ;;
	sim | kvm | gunyah) parts+=("$1"); shift ;;
	*) echo "sweep.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
[ ${#parts[@]} -eq 0 ] && parts=(sim kvm gunyah)
[ -n "$out" ] && mkdir -p "$out"

if [ ! -f "$build/CMakeCache.txt" ]; then
	preset=$(basename "$build")
	if [ "$build" = "$root/build/$preset" ] && { [ "$preset" = dev ] || [ "$preset" = asan ]; }; then
		(cd "$root" && cmake --preset "$preset") || exit 1
	else
		echo "sweep.sh: $build is not configured" >&2
		exit 1
	fi
fi
cmake --build "$build" -j2 --target hvabs_conformance_tests hvabs_sweep || exit 1

bin=$build/tests/hvabs_conformance_tests
driver=$build/tests/sweep/hvabs_sweep
# Sanitizer builds: a sanitizer report ends the child with exit code 86 (the driver's "exit-86" and
# "lsan"/"sanitizer" classes); leak checking stays on.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:exitcode=86:strict_string_checks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:exitcode=86}"
asan=0
grep -q "sanitize=[a-z,]*address" "$build/CMakeCache.txt" && asan=1

total_points=0 total_swept=0 total_fails=0 rc=0
start=$SECONDS
summary=()

# run NAME ARGS...: one driver invocation; its totals line feeds the grand total.
run() {
	local name=$1 log status line
	shift
	log=$(mktemp)
	echo "==== $name"
	"$driver" --bin "$bin" --jobs "$jobs" --stride "$stride" ${out:+--out "$out/$name"} "$@" 2>&1 | tee "$log"
	status=${PIPESTATUS[0]}
	line=$(grep '^sweep: ' "$log" | tail -1)
	rm -f "$log"
	if [ "$status" -eq 77 ]; then
		summary+=("$name: skipped (no test ran)")
		return
	fi
	[ "$status" -ne 0 ] && rc=1
	if [[ $line =~ ^sweep:\ ([0-9]+)\ injection\ points\ found,\ ([0-9]+)\ swept.*\ ([0-9]+)\ failures ]]; then
		total_points=$((total_points + BASH_REMATCH[1]))
		total_swept=$((total_swept + BASH_REMATCH[2]))
		total_fails=$((total_fails + BASH_REMATCH[3]))
	fi
	summary+=("$name: ${line#sweep: }")
}

for part in "${parts[@]}"; do
	case $part in
	sim)
		run sim --kind alloc,simop --filter '*/sim:*/sim_*' --env HVABS_BACKEND=sim
		;;
	kvm)
		run kvm --kind alloc --filter '*/kvm:*/kvm_*'
		;;
	gunyah)
		if [ "$asan" -eq 1 ]; then
			summary+=("gunyah: not in AddressSanitizer builds (the emulator is not in the conformance binary)")
			continue
		fi
		for abi in v10 v14; do
			run "gunyah-$abi" --kind emu,alloc --filter '*/gunyah:*/gunyah_*' --label "gunyah-$abi" \
				--env "HVABS_GUNYAH_EMU_ABI=$abi" --env "HVABS_GUNYAH_ABI=$abi"
		done
		;;
	esac
done

echo
echo "==== sweep totals ($build, stride $stride)"
for s in "${summary[@]}"; do
	echo "  $s"
done
echo "total: $total_points injection points, $total_swept swept, $total_fails failures, $((SECONDS - start)) s"
exit $rc
