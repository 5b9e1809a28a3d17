#!/usr/bin/env bash
# scripts/test.sh: build and run every hvabs test: dev (Debug, -Werror), ASan+UBSan, TSan (threads label), installed consumer, short libFuzzer runs, aarch64 cross build under qemu-user.
#
# Usage: scripts/test.sh [STAGE...]   stages: dev asan tsan consumer fuzz clang aarch64
# Without stages it runs "dev asan tsan consumer fuzz".
# fuzz: the libFuzzer targets (fuzz preset, clang) each replay their corpus and
# fuzz for 30 s (scripts/fuzz.sh; HVABS_FUZZ_SECONDS overrides). The dev stage's ctest runs
# every label, gunyah included (the backend through the /dev/gunyah emulator).
# aarch64: the library with its sim (callback guests), kvm and gunyah backends
# cross-compiled with gcc-aarch64-linux-gnu (GoogleTest built for aarch64 from
# /usr/src/googletest; gunyah with -DHVABS_GUNYAH_FDT=OFF, as Debian's arm64
# libfdt is not installed), and its core tests run under qemu-aarch64.
# Every stage runs even if an
# earlier one failed (except what depends on it); the exit status is non-zero
# when anything failed. Logs: build/logs/<step>.log.
# HVABS_SKIP_DEPS=1 skips scripts/install-deps.sh.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1
logdir=$root/build/logs
mkdir -p "$logdir"

results=()
failures=()
total_start=$SECONDS

# step NAME CMD...: run CMD, show and log its output, record PASS/FAIL and time.
step() {
	local name=$1 start=$SECONDS rc
	shift
	printf '\n==== [%s] %s\n' "$name" "$*"
	"$@" </dev/null 2>&1 | tee "$logdir/$name.log"
	rc=${PIPESTATUS[0]}
	if [ "$rc" -eq 0 ]; then
		results+=("PASS  $name ($((SECONDS - start))s)")
	else
		results+=("FAIL  $name ($((SECONDS - start))s, exit $rc, log build/logs/$name.log)")
		failures+=("$name")
	fi
	return "$rc"
}

skip() {
	rm -f "$logdir/$1.log" # a stale log must not be read as this run's result
	results+=("SKIP  $1 ($2)")
	failures+=("$1")
}

# TSan needs a compact address space; without ASLR its shadow mapping always fits.
no_aslr=()
if command -v setarch >/dev/null && setarch "$(uname -m)" -R true 2>/dev/null; then
	no_aslr=(setarch "$(uname -m)" -R)
fi

# stage_preset PRESET: configure, build and test one CMake preset.
stage_preset() {
	local p=$1 wrap=()
	[ "$p" = tsan ] && wrap=("${no_aslr[@]}")
	if ! step "$p-configure" cmake --preset "$p"; then
		skip "$p-build" "configure failed"
		skip "$p-test" "configure failed"
		return 1
	fi
	if ! step "$p-build" cmake --build --preset "$p"; then
		skip "$p-test" "build failed"
		return 1
	fi
	step "$p-test" "${wrap[@]}" ctest --preset "$p"
}

stage_consumer() {
	if [ ! -f build/dev/CMakeCache.txt ] || ! cmake --build --preset dev >/dev/null 2>&1; then
		skip consumer "build/dev is not built"
		return 1
	fi
	step consumer tests/consumer/run.sh build/dev
}

# aarch64: cross build in build/aarch64, GoogleTest for it installed in build/aarch64-gtest.
a64_toolchain=$root/backends/kvm/toolchain-aarch64.cmake
a64_gtest=$root/build/aarch64-gtest
a64_build=$root/build/aarch64
# What runs under qemu-user: not tools (its tests exec the aarch64 hvabs-run, which needs
# binfmt_misc), guests (Unicorn is not cross-built) or kvm (no arm64 KVM here).
a64_labels='unit|seed|conformance|fault|threads|module|gunyah|example'

a64_gtest_build() {
	cmake -S /usr/src/googletest -B "$a64_gtest/build" -G Ninja \
		-DCMAKE_TOOLCHAIN_FILE="$a64_toolchain" -DCMAKE_BUILD_TYPE=Release \
		-DBUILD_GMOCK=OFF -DCMAKE_INSTALL_PREFIX="$a64_gtest/install" &&
		cmake --build "$a64_gtest/build" -j2 --target install
}

stage_aarch64() {
	local t
	for t in aarch64-linux-gnu-gcc aarch64-linux-gnu-g++ qemu-aarch64; do
		if ! command -v "$t" >/dev/null; then
			skip aarch64-build "$t not found (scripts/install-deps.sh)"
			skip aarch64-test "$t not found"
			return 1
		fi
	done
	if [ ! -f /usr/src/googletest/CMakeLists.txt ] || ! step aarch64-gtest a64_gtest_build; then
		skip aarch64-build "no GoogleTest for aarch64 (googletest package)"
		skip aarch64-test "no GoogleTest for aarch64"
		return 1
	fi
	if ! step aarch64-configure cmake -S "$root" -B "$a64_build" -G Ninja \
		-DCMAKE_TOOLCHAIN_FILE="$a64_toolchain" -DCMAKE_BUILD_TYPE=Debug \
		-DCMAKE_COMPILE_WARNING_AS_ERROR=ON \
		-DHVABS_BACKEND_SIM=ON -DHVABS_SIM_UNICORN=OFF -DHVABS_BACKEND_KVM=ON \
		-DHVABS_BACKEND_GUNYAH=ON -DHVABS_GUNYAH_FDT=OFF -DHVABS_BUILD_BENCH=OFF \
		-DGTest_DIR="$a64_gtest/install/lib/cmake/GTest" \
		"-DCMAKE_CROSSCOMPILING_EMULATOR=qemu-aarch64;-L;/usr/aarch64-linux-gnu"; then
		skip aarch64-build "configure failed"
		skip aarch64-test "configure failed"
		return 1
	fi
	if ! step aarch64-build cmake --build "$a64_build" -j2; then
		skip aarch64-test "build failed"
		return 1
	fi
	step aarch64-test env HVABS_BACKEND=sim ctest --test-dir "$a64_build" -L "$a64_labels" \
		-j2 --timeout 300 --output-on-failure --no-tests=error
}

stage_fuzz() {
	if ! step fuzz-build bash -c 'cmake --preset fuzz >/dev/null && cmake --build --preset fuzz'; then
		skip fuzz-test "build failed"
		return 1
	fi
	step fuzz-test "$root/scripts/fuzz.sh" --no-build --time "${HVABS_FUZZ_SECONDS:-30}"
}

stages=("$@")
[ ${#stages[@]} -eq 0 ] && stages=(dev asan tsan consumer fuzz)
for s in "${stages[@]}"; do
	case $s in
	dev | asan | tsan | clang) ;;
	consumer | aarch64 | fuzz) ;;
	*)
		echo "test.sh: unknown stage '$s' (dev asan tsan consumer fuzz clang aarch64)" >&2
		exit 2
		;;
	esac
done

if [ "${HVABS_SKIP_DEPS:-0}" != 1 ]; then
	step deps "$root/scripts/install-deps.sh" || true
fi
for s in "${stages[@]}"; do
	case $s in
	consumer) stage_consumer ;;
	aarch64) stage_aarch64 ;;
	fuzz) stage_fuzz ;;
	*) stage_preset "$s" ;;
	esac
done

printf '\n==== test.sh summary (%ss total)\n' "$((SECONDS - total_start))"
printf '  %s\n' "${results[@]}"
if [ ${#failures[@]} -ne 0 ]; then
	printf 'test.sh: FAILED: %s\n' "${failures[*]}"
	exit 1
fi
echo "test.sh: all stages passed"
