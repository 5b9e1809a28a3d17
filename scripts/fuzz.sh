#!/usr/bin/env bash
# scripts/fuzz.sh: build the libFuzzer targets (fuzz preset) and run each on its seed corpus for a time or execution budget.
#
# Usage: scripts/fuzz.sh [--time S] [--runs N] [--parallel P] [--no-build] [TARGET...]
#   --time S      stop each target after S seconds (default 30: the CI run)
#   --runs N      ... or after N executions, whichever comes first (default: no limit)
#   --parallel P  targets run at once (default 2, one per core here)
#   --no-build    use build/fuzz as it is
# Without targets it runs every target fuzz/ builds. Each target first
# replays its committed corpus fuzz/corpus/<t>/ (which holds the regression
# input of every past finding), then mutates, growing a scratch corpus in
# build/fuzz/corpus/<t>/. A target directory may hold fuzz.env (KEY=VALUE
# lines exported for that target) and fuzz.args (extra libFuzzer flags).
# Output: build/fuzz/<t>.log, crash inputs in build/fuzz/artifacts/<t>/, and
# build/fuzz/summary.tsv (target, seconds, executions, exec/s, findings).
# Exit status: non-zero when a target found anything or did not run.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1
time_s=30
runs=""
parallel=2
build=1
targets=()
while [ $# -gt 0 ]; do
	case $1 in
	--time) time_s=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	--parallel) parallel=$2; shift 2 ;;
	--no-build) build=0; shift ;;
	-h | --help) sed -n '2,17p' "$0"; exit 0 ;;
	-*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
	*) targets+=("$1"); shift ;;
	esac
done

bdir=$root/build/fuzz
if [ $build -eq 1 ]; then
	cmake --preset fuzz >/dev/null || { echo "fuzz.sh: configure failed" >&2; exit 1; }
	cmake --build --preset fuzz || { echo "fuzz.sh: build failed" >&2; exit 1; }
fi
if [ ${#targets[@]} -eq 0 ]; then
	for exe in "$bdir"/fuzz/*/hvabs_fuzz_*; do
		[ -x "$exe" ] && targets+=("${exe##*/hvabs_fuzz_}")
	done
fi
if [ ${#targets[@]} -eq 0 ]; then
	echo "fuzz.sh: no fuzz targets built in $bdir" >&2
	exit 1
fi

# run_one T: one target's run; writes build/fuzz/T.result (the summary row).
run_one() {
	local t=$1 exe seeds work art log env_file args_file start rc execs findings secs
	exe=$(ls "$bdir"/fuzz/*/hvabs_fuzz_"$t" 2>/dev/null | head -n 1)
	seeds=$root/fuzz/corpus/$t
	work=$bdir/corpus/$t
	art=$bdir/artifacts/$t
	log=$bdir/$t.log
	mkdir -p "$work" "$art" "$seeds"
	if [ -z "$exe" ]; then
		printf '%s\t0\t0\t0\tnot-built\n' "$t" >"$bdir/$t.result"
		return
	fi
	local -a extra=()
	args_file=$(dirname "$exe")/fuzz.args
	[ -f "$root/fuzz/$(basename "$(dirname "$exe")")/fuzz.args" ] &&
		read -r -a extra <"$root/fuzz/$(basename "$(dirname "$exe")")/fuzz.args"
	env_file=$root/fuzz/$(basename "$(dirname "$exe")")/fuzz.env
	local -a envs=(ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}"
		UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")
	if [ -f "$env_file" ]; then
		while IFS= read -r line; do
			[[ -z $line || $line == \#* ]] || envs+=("$line")
		done <"$env_file"
	fi
	start=$SECONDS
	env "${envs[@]}" "$exe" -max_total_time="$time_s" ${runs:+-runs="$runs"} \
		-print_final_stats=1 -artifact_prefix="$art/" "${extra[@]}" \
		"$work" "$seeds" >"$log" 2>&1
	rc=$?
	secs=$((SECONDS - start))
	execs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' | tail -n 1)
	execs=${execs:-0}
	findings=$(find "$art" -type f | wc -l)
	if [ "$rc" -ne 0 ] && [ "$findings" -eq 0 ]; then
		findings=1 # died without an artifact (timeout, OOM, sanitizer abort)
	fi
	printf '%s\t%s\t%s\t%s\t%s\n' "$t" "$secs" "$execs" "$((execs / (secs > 0 ? secs : 1)))" \
		"$findings" >"$bdir/$t.result"
}

running=0
for t in "${targets[@]}"; do
	rm -f "$bdir/$t.result"
	run_one "$t" &
	running=$((running + 1))
	if [ "$running" -ge "$parallel" ]; then
		wait -n
		running=$((running - 1))
	fi
done
wait

status=0
nfail=0
printf 'target\tseconds\texecutions\texec_per_s\tfindings\n' >"$bdir/summary.tsv"
for t in "${targets[@]}"; do
	if [ ! -f "$bdir/$t.result" ]; then
		printf '%s\t0\t0\t0\tno-result\n' "$t" >"$bdir/$t.result"
	fi
	cat "$bdir/$t.result" >>"$bdir/summary.tsv"
	f=$(cut -f5 "$bdir/$t.result")
	if [ "$f" != 0 ]; then
		status=1
		nfail=$((nfail + 1))
		echo "fuzz.sh: $t: $f finding(s); see build/fuzz/$t.log and build/fuzz/artifacts/$t/" >&2
	fi
done
column -t -s $'\t' "$bdir/summary.tsv"
# The phrase ctest uses, so CI counts each target as one test.
echo "fuzz.sh: ${nfail} tests failed out of ${#targets[@]}"
exit $status
