#!/usr/bin/env bash
# tests/consumer/run.sh: install BUILD_DIR into a temporary prefix, then build and run consumers through pkg-config and find_package(hvabs).
set -euo pipefail

if [ $# -ne 1 ]; then
	echo "usage: $0 BUILD_DIR" >&2
	exit 2
fi
build_dir=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hvabs-consumer.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
cc=${CC:-cc}
export HVABS_BACKEND=sim

step() { printf '[consumer] %s\n' "$*"; }
die() { printf '[consumer] FAILED: %s\n' "$*" >&2; exit 1; }

step "install $build_dir -> $prefix"
cmake --install "$build_dir" --prefix "$prefix" >"$tmp/install.log" 2>&1 ||
	{ cat "$tmp/install.log" >&2; die "cmake --install"; }
[ -f "$prefix/include/hvabs.h" ] || die "include/hvabs.h not installed"
[ -f "$prefix/include/hvabs/vm.h" ] || die "include/hvabs/vm.h not installed"

pc=$(find "$prefix" -name hvabs.pc -path '*/pkgconfig/*' | head -n 1)
[ -n "$pc" ] || die "hvabs.pc not installed"
export PKG_CONFIG_PATH=$(dirname "$pc")
libdir=$(pkg-config --variable=libdir hvabs)
incdir=$(pkg-config --variable=includedir hvabs)
step "pkg-config: $(pkg-config --modversion hvabs), libdir $libdir"
ls "$libdir"/libhvabs.* >/dev/null 2>&1 || die "pkg-config libdir $libdir holds no libhvabs"
[ -f "$incdir/hvabs.h" ] || die "pkg-config includedir $incdir holds no hvabs.h"
if pkg-config --cflags hvabs | grep -q HVABS_HAVE_; then
	die "Cflags leak internal HVABS_HAVE_* definitions"
fi
pkg-config --static --libs hvabs | grep -q -- -pthread || die "Libs.private lacks -pthread"

# A static-only install needs the private dependencies on the link line.
pc_static=()
[ -e "$libdir/libhvabs.so" ] || pc_static=(--static)
step "pkg-config consumer ${pc_static[*]}"
# shellcheck disable=SC2046 # word splitting of pkg-config output is intended
"$cc" -std=c11 -Wall -Wextra -Werror -o "$tmp/consumer-pc" "$here/consumer.c" \
	$(pkg-config "${pc_static[@]}" --cflags --libs hvabs) || die "compile with pkg-config"
LD_LIBRARY_PATH=$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} "$tmp/consumer-pc" ||
	die "pkg-config consumer run"

step "find_package(hvabs) consumer"
gen=()
command -v ninja >/dev/null && gen=(-G Ninja)
cmake -S "$here/cmake" -B "$tmp/cmake-build" "${gen[@]}" -DCMAKE_PREFIX_PATH="$prefix" \
	-DCMAKE_C_COMPILER="$cc" >"$tmp/cmake.log" 2>&1 ||
	{ cat "$tmp/cmake.log" >&2; die "configure find_package consumer"; }
cmake --build "$tmp/cmake-build" >"$tmp/build.log" 2>&1 ||
	{ cat "$tmp/build.log" >&2; die "build find_package consumer"; }
LD_LIBRARY_PATH=$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} "$tmp/cmake-build/consumer" ||
	die "find_package consumer run"

step "passed"
