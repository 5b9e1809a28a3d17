#!/usr/bin/env bash
# scripts/bench.sh: build hvabs-bench and hvabs-bench-gunyah (Release, -O2, build/bench), run every case, write bench/results/latest.json and docs/benchmarks.md.
#
# Usage: scripts/bench.sh [--smoke]
#   (no option)  full run (a few minutes on 2 cores): bench/results/latest.json,
#                docs/benchmarks.md and docs/img/*.png are regenerated.
#   --smoke      few iterations; writes build/bench/smoke/latest.json (and a
#                markdown next to it), checks that the JSON is well-formed and
#                that every case ran. Asserts no timing. Committed files are
#                left alone.
# Backends: sim (callback guests, Unicorn guests), kvm (skipped with a note in the
#   report when /dev/kvm is unusable), gunyah through the /dev/gunyah ABI emulator
#   (its own process: the emulator's seccomp filter cannot be removed; run twice, ABI
#   v14 and ABI v10 (cases gunyah_v10_*); skipped with a note when libfdt or seccomp
#   user notification is missing).
# HVABS_BENCH_RUNS: how many times a full run repeats the bench (default 3; each
#   case reports the run with the middle median).
# HVABS_BENCH_CMAKE_ARGS: extra configure arguments (e.g. -DHVABS_SIM_UNICORN=OFF).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=$root/build/bench
mode=full
case ${1:-} in
"") ;;
--smoke) mode=smoke ;;
*)
	echo "usage: scripts/bench.sh [--smoke]" >&2
	exit 2
	;;
esac

if [ "$mode" = smoke ]; then
	out=$build/smoke
	json=$out/latest.json
	md=$out/benchmarks.md
	img=""
	runs=1
	smoke=(--hvabs_smoke)
	command="scripts/bench.sh --smoke"
else
	out=$build/full
	json=$root/bench/results/latest.json
	md=$root/docs/benchmarks.md
	img=$root/docs/img
	runs=${HVABS_BENCH_RUNS:-3}
	smoke=()
	command="scripts/bench.sh"
fi
rm -rf "$out"
mkdir -p "$out"

echo "==== bench.sh: configure and build ($build)"
# The gunyah backend (and its emulator) needs libfdt; without it the gunyah cases are skipped.
gunyah=OFF
if echo '#include <libfdt.h>' | ${CC:-cc} -E -x c - >/dev/null 2>&1; then
	gunyah=ON
fi
# shellcheck disable=SC2086 # HVABS_BENCH_CMAKE_ARGS is a list of arguments
cmake -S "$root" -B "$build" -G Ninja \
	-DCMAKE_BUILD_TYPE=Release \
	-DCMAKE_C_FLAGS_RELEASE="-O2 -DNDEBUG" \
	-DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" \
	-DHVABS_BUILD_TESTS=ON -DHVABS_BUILD_BENCH=ON -DHVABS_BACKEND_GUNYAH=$gunyah \
	${HVABS_BENCH_CMAKE_ARGS:-} >"$out/configure.log" 2>&1 || {
	cat "$out/configure.log" >&2
	exit 1
}
targets=(hvabs-bench)
have_gunyah=0
build_targets=$(cmake --build "$build" --target help 2>/dev/null || true)
if grep -q '^hvabs-bench-gunyah:' <<<"$build_targets"; then
	targets+=(hvabs-bench-gunyah)
	have_gunyah=1
fi
cmake --build "$build" --target "${targets[@]}" -j 2

load() { cut -d' ' -f1 /proc/loadavg; }
load_before=$(load)
stat_before=$(head -n 1 /proc/stat)
bench=$build/bench/hvabs-bench
bench_gunyah=$build/bench/hvabs-bench-gunyah
export HVABS_BACKEND=sim
echo "==== bench.sh: run ($mode; load average $load_before)"
# CPU seconds the bench itself used ("user sys" per process), to tell other jobs' share of the machine.
TIMEFORMAT='%3U %3S'
# bench_run DIR NAME FILTER [EXE [ARG...]]: one bench process (extra ARGs to EXE); its "user sys" CPU
# seconds go to DIR/cpu-NAME.txt.
bench_run() {
	local dir=$1 name=$2 filter=$3 exe=${4:-$bench}
	shift $(($# < 4 ? $# : 4))
	if ! { time "$exe" "${smoke[@]}" "$@" --hvabs_raw_dir="$dir" --benchmark_filter="$filter" \
		--benchmark_out="$dir/gbench-$name.json" --benchmark_out_format=json 2>&3; } 3>&2 2>"$dir/cpu-$name.txt"; then
		cat "$dir/cpu-$name.txt" >&2
		echo "bench.sh: $(basename "$exe") ($name) failed" >&2
		exit 1
	fi
}
run_dirs=()
for i in $(seq 1 "$runs"); do
	raw=$out/run$i
	mkdir -p "$raw"
	run_dirs+=(--run "$raw")
	echo "==== bench.sh: run $i of $runs"
	bench_run "$raw" main '-^(vms_|kvm_|unicorn_)'
	# The VM-count cases run in a fresh process so that RSS growth is not hidden by heap reuse.
	bench_run "$raw" vms '^vms_'
	bench_run "$raw" unicorn '^unicorn_'
	# KVM cases register nothing (a context note) where /dev/kvm is unusable.
	bench_run "$raw" kvm '^kvm_'
	if [ "$have_gunyah" = 1 ]; then
		bench_run "$raw" gunyah '.' "$bench_gunyah"
		# The same cases on ABI v10 (emulator, backend and raw floor), named gunyah_v10_*.
		bench_run "$raw" gunyah-v10 '.' "$bench_gunyah" --hvabs_gunyah_abi=v10
	else
		for b in "gunyah (emulation)" "gunyah-v10 (emulation)"; do
			echo "$b: not built (the gunyah backend and its emulator need libfdt)" >>"$raw/skipped.txt"
		done
	fi
done
stat_after=$(head -n 1 /proc/stat)
load_after=$(load)
own_cpu=$(cat "$out"/run*/cpu-*.txt | awk '{ s += $1 + $2 } END { print s }')

echo "==== bench.sh: results"
rc=0
report=(python3 "$root/bench/report.py" build "${run_dirs[@]}"
	--json "$json" --md "$md" --command "$command"
	--load-before "$load_before" --load-after "$load_after"
	--stat-before "$stat_before" --stat-after "$stat_after" --own-cpu "$own_cpu")
[ -n "$img" ] && report+=(--img-dir "$img")
[ "$mode" = smoke ] && report+=(--smoke)
"${report[@]}" || rc=$?
python3 "$root/bench/report.py" check "$json" || rc=1
if [ "$rc" -ne 0 ]; then
	echo "bench.sh: FAILED (exit $rc): see the messages above" >&2
	exit "$rc"
fi
echo "bench.sh: wrote $json and $md"
